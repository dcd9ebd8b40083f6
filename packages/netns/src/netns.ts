// Network namespaces for the integration tests, benchmarks and the demo (run as root). Every namespace and process it
// creates is registered, and removed by destroyAll() from a test's after() hook, or on process exit
// or SIGINT/SIGTERM, so a failing test leaves nothing behind. Processes are only ever killed by the
// PID the kit itself got from spawn.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';

export interface ExecResult {
  /** Exit code; -1 when the process could not start, was killed, or timed out. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export interface ExecOptions {
  /** Upper bound; the process is killed with SIGKILL after it. Default 10 s. */
  readonly timeoutMs?: number;
  /** Written to stdin, which is then closed. */
  readonly input?: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Runs a command in the current (host) namespace. Resolves on any exit; never rejects. */
export function run(cmd: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const finish = (code: number, extra = '') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code, stdout, stderr: stderr + extra, timedOut });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', (e) => finish(-1, `${e.message}\n`));
    child.on('close', (code) =>
      finish(timedOut ? -1 : (code ?? -1), timedOut ? `(timed out after ${timeoutMs} ms)\n` : ''),
    );
    child.stdin.on('error', () => {}); // the command may exit without reading its input
    child.stdin.end(options.input ?? '');
  });
}

/** Like run(), but rejects with the command and its stderr when the exit code is not 0. */
export async function runOk(
  cmd: string,
  args: readonly string[],
  options: ExecOptions = {},
): Promise<string> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (code ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

let counter = 0;
/** A short token unique to this process and call, for namespace and interface names. */
export function uniqueToken(): string {
  counter += 1;
  return `${(process.pid % 46656).toString(36)}${counter.toString(36)}`;
}

/** An interface name `<base>-<token>`, checked against Linux's 15-character limit. */
export function uniqueIfName(base: string): string {
  const name = `${base}-${uniqueToken()}`;
  if (name.length > 15) throw new Error(`interface name '${name}' is longer than 15 characters`);
  return name;
}

const liveNamespaces = new Set<Netns>();

export class Netns {
  readonly name: string;
  readonly #children = new Set<ChildProcess>();
  #destroyed = false;

  private constructor(name: string) {
    this.name = name;
  }

  /** Creates `nh-<tag>-<pid>-<n>` with loopback up, and registers it for cleanup. */
  static async create(tag: string): Promise<Netns> {
    counter += 1;
    const ns = new Netns(`nh-${tag}-${process.pid}-${counter}`);
    installExitHandlers();
    await runOk('ip', ['netns', 'add', ns.name]);
    liveNamespaces.add(ns);
    await ns.execOk('ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  exec(cmd: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], options);
  }

  /** exec() that rejects on a non-zero exit code; resolves to stdout. */
  execOk(cmd: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<string> {
    return runOk('ip', ['netns', 'exec', this.name, cmd, ...args], options);
  }

  /**
   * Starts a long-running process in the namespace. `ip netns exec` execs the command in place, so
   * the child's PID is the command's own; destroy() kills it by that PID. With `stdin`, the child's
   * standard input is a pipe the caller writes to.
   */
  spawn(cmd: string, args: readonly string[] = [], options: { stdin?: boolean } = {}): ChildProcess {
    if (this.#destroyed) throw new Error(`namespace ${this.name} is destroyed`);
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], {
      stdio: [options.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    this.#children.add(child);
    child.on('exit', () => this.#children.delete(child));
    child.on('error', () => this.#children.delete(child));
    return child;
  }

  /** Sets sysctls inside the namespace, e.g. { 'net.ipv4.ip_forward': '1' }. */
  async sysctl(settings: Record<string, string>): Promise<void> {
    for (const [key, value] of Object.entries(settings))
      await this.execOk('sysctl', ['-qw', `${key}=${value}`]);
  }

  /** Kills this kit's processes in the namespace (SIGTERM, then SIGKILL), then deletes it. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const waits: Promise<void>[] = [];
    for (const child of this.#children) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
      waits.push(
        new Promise<void>((resolve) => {
          const hard = setTimeout(() => child.kill('SIGKILL'), 2000);
          child.once('exit', () => {
            clearTimeout(hard);
            resolve();
          });
          child.kill('SIGTERM');
        }),
      );
    }
    await Promise.all(waits);
    this.#children.clear();
    await run('ip', ['netns', 'del', this.name]);
    liveNamespaces.delete(this);
  }

  /** Synchronous last-resort cleanup for 'exit' and signal handlers. */
  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const child of this.#children) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {}
      }
    }
    try {
      execFileSync('ip', ['netns', 'del', this.name], { timeout: 5000, stdio: 'ignore' });
    } catch {}
    liveNamespaces.delete(this);
  }
}

/** Names of the namespaces this process has created and not yet removed. */
export function liveNamespaceNames(): string[] {
  return [...liveNamespaces].map((ns) => ns.name);
}

/** Removes every namespace (and kit process) this process created. */
export async function destroyAll(): Promise<void> {
  await Promise.all([...liveNamespaces].map((ns) => ns.destroy()));
}

/**
 * Removes everything this process created when it exits or is interrupted, even when a test or the
 * demo fails halfway. Tests also call destroyAll() from their after() hook.
 */
export function cleanupOnExit(): void {
  installExitHandlers();
}

let handlersInstalled = false;
function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const syncCleanup = () => {
    for (const ns of [...liveNamespaces]) ns.destroySync();
  };
  process.on('exit', syncCleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      syncCleanup();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/** Namespaces present on the system (`ip netns list`). */
export async function listNamespaces(): Promise<string[]> {
  const out = await runOk('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

export interface VethOptions {
  readonly mtu?: number;
  /** Also set disable_ipv6 on both ends so the kernel sends no router solicitations or MLD. */
  readonly disableIpv6?: boolean;
}

/** Creates a veth pair with one end in each namespace, both up. */
export async function vethPair(
  nsA: Netns,
  nameA: string,
  nsB: Netns,
  nameB: string,
  options: VethOptions = {},
): Promise<void> {
  for (const n of [nameA, nameB]) if (n.length > 15) throw new Error(`interface name '${n}' is too long`);
  const mtu = options.mtu !== undefined ? ['mtu', String(options.mtu)] : [];
  await runOk('ip', [
    'link',
    'add',
    nameA,
    'netns',
    nsA.name,
    ...mtu,
    'type',
    'veth',
    'peer',
    'name',
    nameB,
    'netns',
    nsB.name,
    ...mtu,
  ]);
  for (const [ns, name] of [
    [nsA, nameA],
    [nsB, nameB],
  ] as const) {
    if (options.disableIpv6) await ns.sysctl({ [`net.ipv6.conf.${name}.disable_ipv6`]: '1' });
    await ns.execOk('ip', ['link', 'set', name, 'up']);
  }
}

export interface RoutedTopology {
  readonly h1: Netns;
  readonly h2: Netns;
  readonly r: Netns;
  /** Host-side veth ends. */
  readonly h1If: string;
  readonly h2If: string;
  /** Router-side veth ends (in r). */
  readonly r1If: string;
  readonly r2If: string;
  readonly h1Addr: '10.1.0.2';
  readonly h2Addr: '10.2.0.2';
  /** The gateways the hosts use; on the kernel only when kernelForwarding. */
  readonly r1Addr: '10.1.0.1';
  readonly r2Addr: '10.2.0.1';
  readonly kernelForwarding: boolean;
  destroy(): Promise<void>;
}

export interface TopologyOptions {
  /**
   * false (default): the router namespace's kernel has no IPv4 addresses and does not forward, so
   * a virtual router attached to r1If/r2Ifs does all the work. true: the kernel routes (for
   * comparisons with Linux).
   */
  readonly kernelForwarding?: boolean;
  readonly mtu?: number;
}

/**
 * h1 (10.1.0.2/24, default via 10.1.0.1) — r — h2 (10.2.0.2/24, default via 10.2.0.1).
 */
export async function routedTopology(options: TopologyOptions = {}): Promise<RoutedTopology> {
  const kernelForwarding = options.kernelForwarding ?? false;
  const created: Netns[] = [];
  try {
    const h1 = await Netns.create('h1');
    created.push(h1);
    const h2 = await Netns.create('h2');
    created.push(h2);
    const r = await Netns.create('r');
    created.push(r);
    const token = uniqueToken();
    const h1If = `h1-${token}`;
    const h2If = `h2-${token}`;
    const r1If = `r1-${token}`;
    const r2If = `r2-${token}`;
    const veth = options.mtu !== undefined ? { mtu: options.mtu } : {};
    await vethPair(h1, h1If, r, r1If, veth);
    await vethPair(h2, h2If, r, r2If, veth);
    await r.sysctl({
      'net.ipv4.ip_forward': kernelForwarding ? '1' : '0',
      [`net.ipv6.conf.${r1If}.disable_ipv6`]: '1',
      [`net.ipv6.conf.${r2If}.disable_ipv6`]: '1',
    });
    if (kernelForwarding) {
      await r.execOk('ip', ['addr', 'add', '10.1.0.1/24', 'dev', r1If]);
      await r.execOk('ip', ['addr', 'add', '10.2.0.1/24', 'dev', r2If]);
    }
    await h1.execOk('ip', ['addr', 'add', '10.1.0.2/24', 'dev', h1If]);
    await h1.execOk('ip', ['route', 'add', 'default', 'via', '10.1.0.1']);
    await h2.execOk('ip', ['addr', 'add', '10.2.0.2/24', 'dev', h2If]);
    await h2.execOk('ip', ['route', 'add', 'default', 'via', '10.2.0.1']);
    return {
      h1,
      h2,
      r,
      h1If,
      h2If,
      r1If,
      r2If,
      h1Addr: '10.1.0.2',
      h2Addr: '10.2.0.2',
      r1Addr: '10.1.0.1',
      r2Addr: '10.2.0.1',
      kernelForwarding,
      destroy: async () => {
        await Promise.all([h1.destroy(), h2.destroy(), r.destroy()]);
      },
    };
  } catch (e) {
    await Promise.all(created.map((ns) => ns.destroy()));
    throw e;
  }
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** Named in the error when the bound is reached. */
  readonly what?: string;
}

/** Polls `condition` until it returns true; rejects after `timeoutMs` (default 5 s). */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  options: WaitOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'a condition'}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface BackgroundProcess {
  readonly child: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or -1 for a signal) once the process has exited. */
  readonly exited: Promise<number>;
}

/**
 * Starts `cmd` in `ns` in the background and waits until `ready` holds (given the output so far),
 * e.g. until tcpdump says "listening on". Rejects (and kills the process) if it exits first or the
 * bound is reached.
 */
export async function startInBackground(
  ns: Netns,
  cmd: string,
  args: readonly string[],
  ready: (p: BackgroundProcess) => boolean | Promise<boolean>,
  options: WaitOptions = {},
): Promise<BackgroundProcess> {
  const child = ns.spawn(cmd, args);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  let hasExited = false;
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code) => {
      hasExited = true;
      resolve(code ?? -1);
    });
    child.on('error', () => {
      hasExited = true;
      resolve(-1);
    });
  });
  const proc: BackgroundProcess = { child, stdout: () => out, stderr: () => err, exited };
  try {
    await waitFor(
      async () => {
        if (await ready(proc)) return true;
        if (hasExited) throw new Error(`${cmd} exited before it was ready: ${err.trim()}`);
        return false;
      },
      { ...options, what: options.what ?? `${cmd} to be ready` },
    );
  } catch (e) {
    if (!hasExited) child.kill('SIGKILL');
    throw e;
  }
  return proc;
}

export interface PingSummary {
  readonly transmitted: number;
  readonly received: number;
  readonly lossPercent: number;
}

/** Reads iputils ping's summary line ("3 packets transmitted, 3 received, 0% packet loss"). */
export function parsePing(stdout: string): PingSummary {
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received.*?([\d.]+)% packet loss/.exec(stdout);
  if (m === null) throw new Error(`no ping summary in: ${stdout.slice(-200)}`);
  return { transmitted: Number(m[1]), received: Number(m[2]), lossPercent: Number(m[3]) };
}

/**
 * Hop addresses from `traceroute -n` output, one per hop line; a hop with no answer ("* * *") is
 * null. The first address on each line is taken.
 */
export function parseTraceroute(stdout: string): (string | null)[] {
  const hops: (string | null)[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const addr = /(\d{1,3}(?:\.\d{1,3}){3})/.exec(m[2]!);
    hops[Number(m[1]) - 1] = addr !== null ? addr[1]! : null;
  }
  for (let i = 0; i < hops.length; i++) if (hops[i] === undefined) hops[i] = null;
  return hops;
}
