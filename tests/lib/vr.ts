import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlSocketPath, request } from '@nexthop/control';
import { type Netns, type RoutedTopology, waitFor } from '@nexthop/netns';

const CLI_MAIN = join(import.meta.dirname, '../../apps/cli/src/main.ts');

export interface RunningVr {
  readonly name: string;
  readonly pid: number;
  readonly runDir: string;
  readonly control: string;
  call(method: string): Promise<unknown>;
  counters(): Promise<{ stats: Record<string, number>; drops: Record<string, number> }>;
  /** Everything the VR printed (pino JSON lines), for failure messages. */
  log(): string;
  stop(): Promise<number | null>;
  /** Resolves with the exit code once the process has exited (whoever stopped it). */
  stopped(): Promise<number | null>;
}

/**
 * Starts `nexthop vr` inside a namespace with the given YAML and waits for its control socket. With
 * `runDir`, in that directory (a restart where a killed VR left its sockets).
 */
export async function startVr(
  ns: Netns,
  name: string,
  yaml: string,
  options: { runDir?: string } = {},
): Promise<RunningVr> {
  const runDir = options.runDir ?? mkdtempSync(join(tmpdir(), 'nexthop-vr-'));
  const configPath = join(runDir, `${name}.yaml`);
  writeFileSync(configPath, yaml);
  const child = ns.spawn(process.execPath, [
    CLI_MAIN,
    'vr',
    '--config',
    configPath,
    '--name',
    name,
    '--run-dir',
    runDir,
  ]);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const control = controlSocketPath(runDir, name);
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`VR exited with ${child.exitCode}:\n${output}`);
        return request(control, 'status').then(
          () => true,
          () => false,
        );
      },
      { timeoutMs: 15_000, intervalMs: 100, what: `VR ${name} control socket` },
    );
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(runDir, { recursive: true, force: true });
    throw err;
  }
  return {
    name,
    pid: child.pid!,
    runDir,
    control,
    call: (method) => request(control, method),
    counters: async () => (await request(control, 'show.counters')) as never,
    log: () => output,
    stopped: () => exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      rmSync(runDir, { recursive: true, force: true });
      return code;
    },
  };
}

/**
 * The VR `edge` of the h1 — VR — h2 topology: eth0 10.1.0.1/24 towards h1, eth1 10.2.0.1/24 towards
 * h2 (with `eth1Mtu` when given), and `extra` YAML lines for the router (routes:, services:, …),
 * indented as keys of the router.
 */
export function edgeConfig(topo: RoutedTopology, options: { eth1Mtu?: number; extra?: string } = {}): string {
  const mtu = options.eth1Mtu === undefined ? '' : `, mtu: ${options.eth1Mtu}`;
  const extra = (options.extra ?? '')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => `    ${l.trim()}\n`)
    .join('');
  return `routers:
  edge:
    interfaces:
      eth0: { driver: afpacket, device: ${topo.r1If}, addresses: [10.1.0.1/24] }
      eth1: { driver: afpacket, device: ${topo.r2If}, addresses: [10.2.0.1/24]${mtu} }
${extra}`;
}
