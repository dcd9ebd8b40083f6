// The TCP listener's defences (docs/management-api.md, "TCP listener"): TLS off loopback, private
// and strong token and key files, and the lockout of addresses that fail to authenticate.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { AuthLimiter } from '../src/auth-limiter.ts';
import { ConfigStore } from '../src/config-store.ts';
import { DaemonStartError } from '../src/daemon.ts';
import { checkApiFiles, readTokenFile, tokenProblem } from '../src/secrets.ts';
import { http, makeCertificate, startTestDaemon, type TestDaemon } from './helpers.ts';

const ROUTERS = `
routers:
  red:
    interfaces:
      eth0: { driver: afpacket, device: dev1, addresses: [10.1.0.1/24] }
`;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'nexthopd-security-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function secretFile(name: string, text: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
  return path;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as { port: number }).port;
      probe.close(() => resolve(p));
    });
  });
}

/** The errors a config text gets from nexthopd's check (the host's files included). */
function errorsOf(text: string): { path: string; line?: number; message: string }[] {
  const store = new ConfigStore({
    configPath: join(dir, 'unused.yaml'),
    stateDir: dir,
    deviceExists: () => true,
  });
  const parsed = store.parse(text);
  return parsed.ok ? [] : parsed.errors;
}

describe('the token and its file', () => {
  test('a token under 128 bits, outside the bearer alphabet or of few characters is refused', () => {
    const weak = [
      '',
      'secret',
      'a'.repeat(64),
      '0123456789abcdef0123456789abcde', // 31 hex digits: 124 bits
      randomBytes(15).toString('base64url').slice(0, 21), // 21 base64 characters: 126 bits
      'changemechangemechangemechangeme',
      `${randomBytes(16).toString('hex')} x`,
      `${randomBytes(16).toString('hex')}"`,
    ];
    for (const token of weak) assert.notEqual(tokenProblem(token), undefined, token);
    assert.match(tokenProblem('0123456789abcdef0123456789abcde')!, /31 hex digits, at most 124 bits/);
    const strong = [
      randomBytes(16).toString('hex'), // 32 hex digits
      randomBytes(32).toString('hex'),
      randomBytes(16).toString('base64url').slice(0, 22),
      randomBytes(32).toString('base64'), // with '=' padding
      `${randomBytes(12).toString('hex')}-${randomBytes(12).toString('hex')}`,
    ];
    for (const token of strong) assert.equal(tokenProblem(token), undefined, token);
  });

  test('a token file open to group or others, or owned by another user, is refused', () => {
    const token = randomBytes(16).toString('hex');
    assert.equal(readTokenFile(secretFile('t600', `${token}\n`)), token);
    assert.equal(readTokenFile(secretFile('t400', token, 0o400)), token);
    for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602]) {
      const file = secretFile(`t${mode.toString(8)}`, token, mode);
      assert.throws(
        () => readTokenFile(file),
        new RegExp(`has mode 0${mode.toString(8)}: group and others must have no access .*chmod 600`),
      );
    }
    if (process.getuid?.() === 0) {
      const foreign = secretFile('foreign', token);
      chownSync(foreign, 4242, 4242);
      assert.throws(() => readTokenFile(foreign), /owned by uid 4242: it must belong to .* or to root/);
    }
    assert.throws(() => readTokenFile(secretFile('weak', 'hunter2')), /at least 128 are needed/);
    assert.throws(() => readTokenFile(join(dir, 'missing')), /cannot read the token file .*ENOENT/);
    assert.throws(() => readTokenFile(dir), /not a regular file/);
    // A FIFO is refused at once, not waited on.
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    assert.throws(() => readTokenFile(fifo), /not a regular file/);
    // A symbolic link leads to the file that is checked.
    const link = join(dir, 'link');
    symlinkSync(join(dir, 't600'), link);
    assert.equal(readTokenFile(link), token);
  });
});

describe('the configuration check refuses what the listener cannot safely use', () => {
  let good: string;
  let tls: { cert: string; key: string };
  before(() => {
    good = secretFile('good-token', `${randomBytes(16).toString('hex')}\n`);
    tls = makeCertificate(dir, 'check');
  });

  test('a TCP listener off loopback without TLS', () => {
    const text = `manager:\n  api:\n    tcp: 192.0.2.1:9180\n    tokenFile: ${good}\n${ROUTERS}`;
    const errors = errorsOf(text);
    assert.deepEqual(
      errors.map((e) => [e.path, e.line]),
      [['manager.api.tcp', 3]],
    );
    assert.match(errors[0]!.message, /off loopback .* needs 'tls'/);
    const withTls = `manager:\n  api:\n    tcp: 192.0.2.1:9180\n    tokenFile: ${good}\n    tls: { cert: ${tls.cert}, key: ${tls.key} }\n${ROUTERS}`;
    assert.deepEqual(errorsOf(withTls), []);
    assert.deepEqual(
      errorsOf(`manager:\n  api: { tcp: 127.0.0.1:9180, tokenFile: ${good} }\n${ROUTERS}`),
      [],
    );
  });

  test('a weak token, a token file of mode 0644, a key others can read, a key not the certificate’s', () => {
    const weak = secretFile('weak-token', 'password123\n');
    const open = secretFile('open-token', randomBytes(16).toString('hex'), 0o644);
    const api = (lines: string) => `manager:\n  api:\n    tcp: 127.0.0.1:9180\n${lines}${ROUTERS}`;
    const weakErrors = errorsOf(api(`    tokenFile: ${weak}\n`));
    assert.deepEqual(
      weakErrors.map((e) => [e.path, e.line]),
      [['manager.api.tokenFile', 4]],
    );
    assert.match(weakErrors[0]!.message, /11 characters, at most 66 bits: at least 128 are needed/);
    assert.doesNotMatch(weakErrors[0]!.message, /password123/, 'the token is never shown');
    const openErrors = errorsOf(api(`    tokenFile: ${open}\n`));
    assert.deepEqual(
      openErrors.map((e) => [e.path, e.line]),
      [['manager.api.tokenFile', 4]],
    );
    assert.match(openErrors[0]!.message, /mode 0644/);

    const openKey = join(dir, 'open.key');
    copyFileSync(tls.key, openKey);
    chmodSync(openKey, 0o644);
    const keyErrors = errorsOf(
      api(`    tokenFile: ${good}\n    tls: { cert: ${tls.cert}, key: ${openKey} }\n`),
    );
    assert.deepEqual(
      keyErrors.map((e) => [e.path, e.line]),
      [['manager.api.tls.key', 5]],
    );
    assert.match(keyErrors[0]!.message, /TLS key .* mode 0644/);

    const other = makeCertificate(dir, 'other');
    const mismatch = errorsOf(
      api(`    tokenFile: ${good}\n    tls: { cert: ${tls.cert}, key: ${other.key} }\n`),
    );
    assert.deepEqual(
      mismatch.map((e) => e.path),
      ['manager.api.tls'],
    );
    assert.match(mismatch[0]!.message, /cannot serve/);
    const notPem = secretFile('not-pem', 'hello');
    assert.match(
      checkApiFiles({ tokenFile: good, tls: { cert: notPem, key: tls.key } })[0]!.message,
      /cannot serve/,
    );
  });

  test('nexthopd does not start on such a file, and an apply of one is refused with 422', async () => {
    const weak = secretFile('weak2', 'short\n');
    await assert.rejects(
      startTestDaemon(`manager:\n  api: { tcp: 127.0.0.1:9180, tokenFile: ${weak} }\n${ROUTERS}`),
      (err: unknown) =>
        err instanceof DaemonStartError && err.errors.some((e) => e.path === 'manager.api.tokenFile'),
    );
    const t = await startTestDaemon(ROUTERS);
    try {
      const sock = { socketPath: t.daemon.apiSocketPath };
      const port = await freePort();
      const refused = await http(sock, 'POST', '/config/apply', {
        text: `manager:\n  api: { tcp: 10.0.0.1:${port}, tokenFile: ${good} }\n${ROUTERS}`,
      });
      assert.equal(refused.status, 422);
      assert.equal(refused.json().error.errors[0].path, 'manager.api.tcp');
      assert.equal(t.daemon.tcpAddress, null);
    } finally {
      await t.close();
    }
  });
});

describe('AuthLimiter', () => {
  test('locks an address out after `limit` failures in the window, doubling each time', () => {
    let now = 1_000_000;
    const limiter = new AuthLimiter(
      { limit: 3, windowMs: 1000, lockMs: 5000, maxLockMs: 12_000, forgetMs: 60_000 },
      () => now,
    );
    assert.equal(limiter.fail('a'), 0);
    assert.equal(limiter.fail('a'), 0);
    assert.equal(limiter.retryAfterMs('a'), 0);
    // Failures spread over more than the window do not add up.
    now += 1000;
    assert.equal(limiter.fail('a'), 0);
    assert.equal(limiter.fail('a'), 0);
    assert.equal(limiter.fail('a'), 5000);
    assert.equal(limiter.retryAfterMs('a'), 5000);
    assert.equal(limiter.retryAfterMs('b'), 0, 'other addresses are not affected');
    now += 4999;
    assert.equal(limiter.retryAfterMs('a'), 1);
    now += 1;
    assert.equal(limiter.retryAfterMs('a'), 0);
    for (let i = 0; i < 2; i++) limiter.fail('a');
    assert.equal(limiter.fail('a'), 10_000);
    now += 10_000;
    for (let i = 0; i < 2; i++) limiter.fail('a');
    assert.equal(limiter.fail('a'), 12_000, 'capped at maxLockMs');
    // Forgotten a while after the last lockout: the next one is the first again.
    now += 12_000 + 60_000;
    assert.equal(limiter.retryAfterMs('a'), 0);
    assert.equal(limiter.size, 0);
    for (let i = 0; i < 2; i++) limiter.fail('a');
    assert.equal(limiter.fail('a'), 5000);
  });

  test('the table of addresses is bounded: the one whose last failure is oldest goes', () => {
    const limiter = new AuthLimiter({ limit: 2, maxAddresses: 100 }, () => 0);
    limiter.fail('keep');
    limiter.fail('keep');
    for (let i = 0; i < 99; i++) limiter.fail(`10.0.0.${i}`);
    assert.equal(limiter.size, 100);
    assert.ok(limiter.retryAfterMs('keep') > 0);
    for (let i = 0; i < 10_000; i++) limiter.fail(`10.1.${i >> 8}.${i & 255}`);
    assert.equal(limiter.size, 100);
    assert.equal(limiter.retryAfterMs('keep'), 0);
  });
});

interface HttpsReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  fingerprint: string;
}

function httpsGet(
  port: number,
  path: string,
  options: { ca: Buffer; token?: string; localAddress?: string },
): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        ca: options.ca,
        agent: false,
        ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
        headers: options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {},
      },
      (res) => {
        const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, fingerprint }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the TCP listener over TLS', () => {
  let t: TestDaemon;
  let port: number;
  let token: string;
  let tokenFile: string;
  let tls: { cert: string; key: string };
  let ca: Buffer;
  before(async () => {
    port = await freePort();
    token = randomBytes(16).toString('hex');
    tokenFile = secretFile('tls-token', `${token}\n`);
    tls = makeCertificate(dir, 'listener');
    ca = readFileSync(tls.cert);
    t = await startTestDaemon(
      `manager:\n  api:\n    tcp: 127.0.0.1:${port}\n    tokenFile: ${tokenFile}\n    tls: { cert: ${tls.cert}, key: ${tls.key} }\n${ROUTERS}`,
      undefined,
      { authLimits: { limit: 5, windowMs: 60_000, lockMs: 60_000 } },
    );
  });
  after(() => t.close());

  test('HTTPS with the certificate pinned and the token; plain HTTP fails; a wrong token gets 401', async () => {
    const ok = await httpsGet(port, '/vrs', { ca, token });
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).length, 1);
    const wrong = await httpsGet(port, '/vrs', { ca, token: randomBytes(16).toString('hex') });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers['www-authenticate'], 'Bearer');
    assert.equal(JSON.parse(wrong.body).error.code, 'unauthorized');
    // Nothing in clear: a plain HTTP request gets no answer.
    await assert.rejects(
      http({ host: '127.0.0.1', port }, 'GET', '/vrs', undefined, { authorization: `Bearer ${token}` }),
      /socket hang up|ECONNRESET/,
    );
    // A client that does not trust the certificate does not talk to it.
    const stranger = readFileSync(makeCertificate(dir, 'stranger').cert);
    await assert.rejects(httpsGet(port, '/vrs', { ca: stranger, token }), /self-signed|unable to verify/);
  });

  test('an address that keeps failing gets 429 with Retry-After, even with the right token; others do not', async () => {
    const from = '127.0.0.3';
    const before = t.daemon.authLimiter.retryAfterMs(from);
    assert.equal(before, 0);
    for (let i = 0; i < 5; i++) {
      const r = await httpsGet(port, '/vrs', { ca, token: 'x', localAddress: from });
      assert.equal(r.status, 401);
    }
    const locked = await httpsGet(port, '/vrs', { ca, token, localAddress: from });
    assert.equal(locked.status, 429);
    assert.equal(JSON.parse(locked.body).error.code, 'too_many_failures');
    const retry = Number(locked.headers['retry-after']);
    assert.ok(retry > 0 && retry <= 60, `Retry-After ${retry}`);
    // Another address with the token, and the Unix socket, are not slowed.
    assert.equal((await httpsGet(port, '/vrs', { ca, token, localAddress: '127.0.0.4' })).status, 200);
    assert.equal((await http({ socketPath: t.daemon.apiSocketPath }, 'GET', '/health')).status, 200);
  });

  test('reload reads the certificate and token again: new connections see both', async () => {
    const first = await httpsGet(port, '/health', { ca, token });
    const renewed = makeCertificate(dir, 'renewed');
    copyFileSync(renewed.cert, tls.cert);
    copyFileSync(renewed.key, tls.key);
    const newToken = randomBytes(16).toString('hex');
    writeFileSync(tokenFile, `${newToken}\n`);
    assert.equal(await t.daemon.reload(), null, 'the config text itself is unchanged');
    const newCa = readFileSync(tls.cert);
    const second = await httpsGet(port, '/health', { ca: newCa, token: newToken });
    assert.equal(second.status, 200);
    assert.notEqual(second.fingerprint, first.fingerprint);
    assert.equal((await httpsGet(port, '/health', { ca: newCa, token })).status, 401);
    // A key file made readable by others is not taken, nor the token read with it: the listener
    // keeps what it had.
    chmodSync(tls.key, 0o644);
    writeFileSync(tokenFile, `${randomBytes(16).toString('hex')}\n`);
    await t.daemon.reload();
    assert.equal((await httpsGet(port, '/health', { ca: newCa, token: newToken })).status, 200);
    chmodSync(tls.key, 0o600);
    writeFileSync(tokenFile, `${newToken}\n`);
  });
});
