import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { type Daemon, type DaemonOptions, startDaemon } from '../src/daemon.ts';
import type { SupervisorTiming } from '../src/supervisor.ts';

export const FAKE_VR = join(import.meta.dirname, 'fixtures', 'fake-vr.ts');

export const FAST_TIMING: Partial<SupervisorTiming> = {
  healthIntervalMs: 100,
  healthTimeoutMs: 200,
  backoffInitialMs: 20,
  backoffMaxMs: 200,
  stopGraceMs: 1000,
  callTimeoutMs: 1000,
};

export const discard = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

export interface TestDaemon {
  daemon: Daemon;
  dir: string;
  configPath: string;
  close(): Promise<void>;
}

/** nexthopd in this process, running fake VRs from `text`, in a fresh temporary directory. */
export async function startTestDaemon(
  text: string,
  timing = FAST_TIMING,
  extra: Partial<DaemonOptions> = {},
): Promise<TestDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'nexthopd-test-'));
  const configPath = join(dir, 'nexthop.yaml');
  writeFileSync(configPath, text);
  let daemon: Daemon;
  try {
    daemon = await startDaemon({
      configPath,
      runDir: join(dir, 'run'),
      stateDir: join(dir, 'state'),
      logger: pino({ level: 'silent' }),
      vrCommand: { execPath: process.execPath, args: [FAKE_VR] },
      timing,
      // No real devices: every name exists except 'gone0'.
      deviceExists: (device) => device !== 'gone0',
      vrStdout: discard(),
      ...extra,
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  await daemon.ready;
  return {
    daemon,
    dir,
    configPath,
    close: async () => {
      await daemon.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  trailers: Record<string, string | undefined>;
  body: Buffer;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever shape the route documents
  json(): any;
}

/** One HTTP request over the Unix socket, or TCP when `port` is given. */
export function http(
  target: { socketPath: string } | { host: string; port: number },
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      {
        ...target,
        method,
        path,
        headers: { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            trailers: res.trailers,
            body: buf,
            json: () => JSON.parse(buf.toString('utf8')),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Polls until `check` holds (tests wait for conditions, never for fixed times). */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  limitMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A self-signed certificate for 127.0.0.1 (and localhost) made by openssl: `<name>.crt` and
 * `<name>.key` (mode 0600) in `dir`. The certificate is its own CA: a client pins it with `ca`.
 */
export function makeCertificate(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=nexthopd test ${name}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
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
