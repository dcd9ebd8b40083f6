import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExecResult, Netns, run, uniqueToken, vethPair, waitFor } from '@nexthop/netns';

const ROOT = join(import.meta.dirname, '../..');
const CLI_MAIN = join(ROOT, 'apps/cli/src/main.ts');
const DAEMON_MAIN = join(ROOT, 'apps/nexthopd/src/main.ts');

/** One VR's two host namespaces: h1 (10.1.0.2/24) — VR — h2 (10.2.0.2/24), as in routedTopology. */
export interface HostPair {
  readonly h1: Netns;
  readonly h2: Netns;
  /** The VR's veth ends, in the shared router namespace. */
  readonly r1If: string;
  readonly r2If: string;
}

/**
 * Two VRs, red and blue, in one router namespace (where nexthopd runs), each routing between its
 * own pair of hosts. Both pairs use the same addresses: the VRs are separate routers, like VRFs.
 */
export interface TwoVrTopology {
  readonly r: Netns;
  readonly red: HostPair;
  readonly blue: HostPair;
  destroy(): Promise<void>;
}

/** Any number of VRs' host pairs around one router namespace. */
export interface VrTopology {
  readonly r: Netns;
  readonly pairs: readonly HostPair[];
  destroy(): Promise<void>;
}

export async function vrTopology(count: number): Promise<VrTopology> {
  const created: Netns[] = [];
  const make = async (tag: string) => {
    const ns = await Netns.create(tag);
    created.push(ns);
    return ns;
  };
  try {
    const r = await make('r');
    const pairs: HostPair[] = [];
    for (let i = 0; i < count; i++) {
      const h1 = await make(`v${i}h1`);
      const h2 = await make(`v${i}h2`);
      const token = uniqueToken();
      const c = i.toString(36);
      const r1If = `${c}r1-${token}`;
      const r2If = `${c}r2-${token}`;
      await vethPair(h1, `${c}h1-${token}`, r, r1If, { disableIpv6: true });
      await vethPair(h2, `${c}h2-${token}`, r, r2If, { disableIpv6: true });
      await h1.execOk('ip', ['addr', 'add', '10.1.0.2/24', 'dev', `${c}h1-${token}`]);
      await h1.execOk('ip', ['route', 'add', 'default', 'via', '10.1.0.1']);
      await h2.execOk('ip', ['addr', 'add', '10.2.0.2/24', 'dev', `${c}h2-${token}`]);
      await h2.execOk('ip', ['route', 'add', 'default', 'via', '10.2.0.1']);
      pairs.push({ h1, h2, r1If, r2If });
    }
    await r.sysctl({ 'net.ipv4.ip_forward': '0' });
    return { r, pairs, destroy: () => Promise.all(created.map((ns) => ns.destroy())).then(() => {}) };
  } catch (err) {
    await Promise.all(created.map((ns) => ns.destroy()));
    throw err;
  }
}

export async function twoVrTopology(): Promise<TwoVrTopology> {
  const t = await vrTopology(2);
  return { r: t.r, red: t.pairs[0]!, blue: t.pairs[1]!, destroy: t.destroy };
}

/** A router section (YAML, two-space indented under `routers:`) for one VR of a topology. */
export function routerYaml(name: string, pair: HostPair, extra: string): string {
  const lines = [
    `  ${name}:`,
    '    interfaces:',
    `      eth0: { driver: afpacket, device: ${pair.r1If}, addresses: [10.1.0.1/24] }`,
    `      eth1: { driver: afpacket, device: ${pair.r2If}, addresses: [10.2.0.1/24] }`,
  ];
  if (extra !== '') lines.push(...extra.split('\n').map((l) => `    ${l}`));
  return lines.join('\n');
}

/** The red-and-blue config; `extra` adds lines (YAML at router level) to a router. */
export function twoVrConfig(
  t: TwoVrTopology,
  extra: { red?: string; blue?: string; head?: string } = {},
): string {
  return [
    ...(extra.head !== undefined ? [extra.head] : []),
    'routers:',
    routerYaml('red', t.red, extra.red ?? ''),
    routerYaml('blue', t.blue, extra.blue ?? ''),
    '',
  ].join('\n');
}

export interface ApiReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  json(): unknown;
}

/** One HTTP request to the management API on its Unix socket (or a TCP address). */
export function apiRequest(
  target: { socketPath: string } | { host: string; port: number },
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ApiReply> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = httpRequest(
      {
        ...target,
        method,
        path,
        headers: {
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: () => JSON.parse(body.toString('utf8')),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in time`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export interface RunningDaemon {
  readonly pid: number;
  /** Holds run/, state/ and nexthop.yaml. */
  readonly base: string;
  readonly runDir: string;
  readonly stateDir: string;
  readonly configPath: string;
  readonly apiSocket: string;
  /** Runs the nexthop CLI against this daemon's run directory. */
  cli(args: readonly string[], options?: { timeoutMs?: number }): Promise<ExecResult>;
  /** `cli` that fails on a non-zero exit and parses the JSON it printed. */
  cliJson(args: readonly string[]): Promise<unknown>;
  api(method: string, path: string, body?: unknown): Promise<ApiReply>;
  /** Everything nexthopd (and its VRs) printed. */
  log(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after 10 s). Keeps the directories. */
  stop(): Promise<number | null>;
  /** Removes the run and state directories. */
  removeDirs(): void;
}

export interface DaemonOptions {
  /** Reuse the directory of a previous daemon (a restart): its run and state dirs and config file. */
  readonly base?: string;
}

/** Starts nexthopd in `ns` with the config text and waits until every VR in it is running. */
export async function startNexthopd(
  ns: Netns,
  configText: string | null,
  options: DaemonOptions = {},
): Promise<RunningDaemon> {
  const base = options.base ?? mkdtempSync(join(tmpdir(), 'nexthopd-'));
  const runDir = join(base, 'run');
  const stateDir = join(base, 'state');
  const configPath = join(base, 'nexthop.yaml');
  if (configText !== null) writeFileSync(configPath, configText);
  const child = ns.spawn(process.execPath, [
    DAEMON_MAIN,
    '--config',
    configPath,
    '--run-dir',
    runDir,
    '--state-dir',
    stateDir,
  ]);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const apiSocket = join(runDir, 'nexthopd.sock');
  const cli = (args: readonly string[], o: { timeoutMs?: number } = {}) =>
    run(process.execPath, [CLI_MAIN, ...args, '--run-dir', runDir], { timeoutMs: o.timeoutMs ?? 30_000 });
  const runningVrPids = async (): Promise<number[]> => {
    const reply = await apiRequest({ socketPath: apiSocket }, 'GET', '/vrs', { timeoutMs: 2000 }).catch(
      () => null,
    );
    if (reply === null || reply.status !== 200) return [];
    return (reply.json() as { pid: number | null }[]).flatMap((v) => (v.pid === null ? [] : [v.pid]));
  };
  const daemon: RunningDaemon = {
    pid: child.pid!,
    base,
    runDir,
    stateDir,
    configPath,
    apiSocket,
    cli,
    cliJson: async (args) => {
      const r = await cli(args);
      if (r.code !== 0) throw new Error(`nexthop ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout);
    },
    api: (method, path, body) => apiRequest({ socketPath: apiSocket }, method, path, { body }),
    log: () => output,
    stop: async () => {
      // VRs outlive a nexthopd that dies (the next one adopts them): the ones it ran are ended here
      // too if SIGTERM did not take them along.
      const vrPids = await runningVrPids();
      let code: number | null;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        code = await exited;
        clearTimeout(timer);
      } else {
        code = await exited;
      }
      killLeftovers(vrPids);
      return code;
    },
    removeDirs: () => rmSync(base, { recursive: true, force: true }),
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`nexthopd exited with ${child.exitCode}:\n${output}`);
        const reply = await daemon.api('GET', '/vrs').catch(() => null);
        if (reply === null || reply.status !== 200) return false;
        const vrs = reply.json() as { state: string }[];
        return vrs.every((v) => v.state === 'running' || v.state === 'stopped');
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'nexthopd and its VRs to run' },
    );
  } catch (err) {
    killLeftovers(await runningVrPids());
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${output.slice(-4000)}`);
  }
  return daemon;
}

/** SIGKILLs the processes of the list that are still alive (VRs a test's nexthopd left). */
export function killLeftovers(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already, as it should be.
    }
  }
}

/** A VR's status row from the API. */
export interface VrRow {
  name: string;
  state: string;
  pid: number | null;
  restarts: number;
  uptimeMs: number | null;
}

export async function vrStatus(daemon: RunningDaemon, name: string): Promise<VrRow> {
  const reply = await daemon.api('GET', `/vrs/${name}`);
  if (reply.status !== 200) throw new Error(`GET /vrs/${name}: ${reply.status} ${reply.body.toString()}`);
  return reply.json() as VrRow;
}

/** Resolves once a one-packet ping from h1 to h2 gets through the pair's VR. */
export async function pingOnce(pair: HostPair, target = '10.2.0.2', waitSeconds = '0.3'): Promise<boolean> {
  const r = await pair.h1.exec('ping', ['-n', '-c', '1', '-W', waitSeconds, target], { timeoutMs: 5000 });
  return r.code === 0;
}

/** A temporary file with the text, removed with its directory by the caller's cleanup. */
export function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'nexthop-cfg-'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
