// Issue 9, security item 9: nexthopd's TCP management listener over TLS, as an operator runs it —
// the nexthopd program with a certificate made by openssl, reached by Node's https client with the
// certificate pinned and by curl. No VR and no namespace is needed: the listener is on 127.0.0.1
// (a free port), and other loopback addresses (127.0.0.2, …) are other clients, for the lockout.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run, waitFor } from '@nexthop/netns';
import { apiRequest } from '../lib/nexthopd.ts';

const DAEMON_MAIN = join(import.meta.dirname, '../../apps/nexthopd/src/main.ts');
/** The daemon's default: this many failures in a minute lock an address out. */
const FAILURE_LIMIT = 10;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as { port: number }).port;
      probe.close(() => resolve(p));
    });
  });
}

function collect(res: import('node:http').IncomingMessage, resolve: (r: Reply) => void): void {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (c: string) => {
    body += c;
  });
  res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
}

/** GET over HTTPS trusting only `ca`, from `localAddress` (default 127.0.0.1). */
function httpsGet(
  port: number,
  path: string,
  ca: Buffer,
  token: string | undefined,
  localAddress = '127.0.0.1',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        ca,
        agent: false,
        localAddress,
        timeout: 10_000,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      },
      (res) => collect(res, resolve),
    );
    req.on('timeout', () => req.destroy(new Error('no answer in time')));
    req.on('error', reject);
    req.end();
  });
}

function httpGet(port: number, path: string, token: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, agent: false, headers: { authorization: `Bearer ${token}` } },
      (res) => collect(res, resolve),
    );
    req.on('error', reject);
    req.end();
  });
}

interface Nexthopd {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function spawnNexthopd(base: string): Nexthopd {
  const child = spawn(
    process.execPath,
    [
      DAEMON_MAIN,
      '--config',
      join(base, 'nexthop.yaml'),
      '--run-dir',
      join(base, 'run'),
      '--state-dir',
      join(base, 'state'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'api.crt');
  const key = join(dir, 'api.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=nexthopd integration test',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  chmodSync(key, 0o600);
  return { cert, key };
}

describe('nexthopd: the TCP listener over TLS', () => {
  let scratch: string;
  let port: number;
  let token: string;
  let tokenFile: string;
  let tls: { cert: string; key: string };
  let ca: Buffer;
  let daemon: Nexthopd | undefined;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'nexthopd-tls-'));
    port = await freePort();
    token = randomBytes(32).toString('hex');
    tokenFile = join(scratch, 'api-token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    tls = makeCertificate(scratch);
    ca = readFileSync(tls.cert);
  });

  after(async () => {
    if (daemon !== undefined && daemon.child.exitCode === null) {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  test('nexthopd refuses to start with a token file of mode 0644, or off loopback without TLS', async () => {
    const cases: [string, string, RegExp][] = [
      [
        'open',
        `  api:\n    tcp: 127.0.0.1:${port}\n    tokenFile: OPEN\n`,
        /:4: manager\.api\.tokenFile: .* mode 0644/,
      ],
      [
        'weak',
        `  api:\n    tcp: 127.0.0.1:${port}\n    tokenFile: WEAK\n`,
        /:4: manager\.api\.tokenFile: .*at least 128/,
      ],
      [
        'clear',
        `  api:\n    tcp: 0.0.0.0:${port}\n    tokenFile: ${tokenFile}\n`,
        /:3: manager\.api\.tcp: .*needs 'tls'/,
      ],
    ];
    const open = join(scratch, 'open-token');
    writeFileSync(open, `${token}\n`, { mode: 0o644 });
    chmodSync(open, 0o644);
    const weak = join(scratch, 'weak-token');
    writeFileSync(weak, 'letmein\n', { mode: 0o600 });
    for (const [name, api, expected] of cases) {
      const base = join(scratch, name);
      mkdirSync(base);
      writeFileSync(
        join(base, 'nexthop.yaml'),
        `manager:\n${api.replace('OPEN', open).replace('WEAK', weak)}routers: {}\n`,
      );
      const refused = spawnNexthopd(base);
      assert.equal(await refused.exited, 1, refused.output());
      assert.match(refused.output(), expected);
      assert.doesNotMatch(refused.output(), new RegExp(token), 'the token is never printed');
    }
  });

  test('HTTPS with the pinned certificate and the token; plain HTTP and a wrong token fail', async () => {
    const base = join(scratch, 'daemon');
    mkdirSync(base);
    writeFileSync(
      join(base, 'nexthop.yaml'),
      `manager:\n  api:\n    tcp: 127.0.0.1:${port}\n    tokenFile: ${tokenFile}\n    tls: { cert: ${tls.cert}, key: ${tls.key} }\nrouters: {}\n`,
    );
    daemon = spawnNexthopd(base);
    const d = daemon;
    await waitFor(
      async () => {
        if (d.child.exitCode !== null) throw new Error(`nexthopd exited:\n${d.output()}`);
        const reply = await httpsGet(port, '/health', ca, token).catch(() => null);
        return reply?.status === 200;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'nexthopd to answer over HTTPS' },
    );
    const health = await httpsGet(port, '/health', ca, token);
    assert.deepEqual(JSON.parse(health.body), { ok: true, vrs: 0 });
    // curl, trusting the same certificate only.
    const curl = await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--cacert',
      tls.cert,
      '-H',
      `Authorization: Bearer ${token}`,
      `https://127.0.0.1:${port}/vrs`,
    ]);
    assert.equal(curl.stdout, '200', curl.stderr);
    // Plain HTTP to the TLS port: no answer, the connection is dropped.
    await assert.rejects(httpGet(port, '/health', token), /socket hang up|ECONNRESET/);
    const wrong = await httpsGet(port, '/health', ca, randomBytes(32).toString('hex'));
    assert.equal(wrong.status, 401);
    assert.equal(JSON.parse(wrong.body).error.code, 'unauthorized');
    const none = await httpsGet(port, '/health', ca, undefined);
    assert.equal(none.status, 401);
    // The Unix socket is unchanged: no token, no TLS.
    const unix = await apiRequest({ socketPath: join(base, 'run', 'nexthopd.sock') }, 'GET', '/health');
    assert.equal(unix.status, 200);
  });

  test('an address that keeps failing is answered 429 with Retry-After, even with the right token', async () => {
    assert.ok(daemon !== undefined, 'the previous test started nexthopd');
    const attacker = '127.0.0.2';
    for (let i = 0; i < FAILURE_LIMIT; i++) {
      const r = await httpsGet(port, '/vrs', ca, `guess${i}`, attacker);
      assert.equal(r.status, 401, `failure ${i + 1}`);
    }
    const locked = await httpsGet(port, '/vrs', ca, token, attacker);
    assert.equal(locked.status, 429);
    assert.equal(JSON.parse(locked.body).error.code, 'too_many_failures');
    const retryAfter = Number(locked.headers['retry-after']);
    assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    // The right token from another address goes through: only the failing source is slowed.
    assert.equal((await httpsGet(port, '/vrs', ca, token, '127.0.0.3')).status, 200);
    assert.equal((await httpsGet(port, '/vrs', ca, token)).status, 200);
    assert.match(daemon.output(), /too many failed authentications/);
    assert.doesNotMatch(daemon.output(), new RegExp(token), 'the token is never logged');
  });
});
