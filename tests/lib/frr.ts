import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Netns, waitFor } from '@nexthop/netns';

// FRR (zebra and the protocol daemons) inside a test's namespace, with its own configuration,
// sockets and pid files in a directory of its own, so that it never touches a system FRR. The
// daemons run in the foreground as children of the namespace (killed by PID when it goes) and drop
// to the `frr` user, so their directory belongs to it; vtysh runs as root and may use their sockets.

export interface RunningFrr {
  readonly dir: string;
  /** One vtysh command; its output. */
  vtysh(command: string): Promise<string>;
  /** One vtysh command ending in `json`, parsed. */
  json<T>(command: string): Promise<T>;
  /** Everything the daemons printed. */
  log(): string;
  /**
   * Kills one daemon with SIGKILL (a crash: no NOTIFICATION, the kernel closes its sockets) and
   * waits for it to be gone.
   */
  kill(daemon: string): Promise<void>;
  /** Starts a daemon again with the same configuration (after `kill`), and waits for its vty. */
  start(daemon: string): Promise<void>;
  stop(): Promise<void>;
}

const FRR_LIB = '/usr/lib/frr';

/** Starts zebra and the daemons named (bgpd, ospfd…) with `config` as their integrated frr.conf. */
export async function startFrr(
  ns: Netns,
  config: string,
  daemons: readonly string[] = ['bgpd'],
): Promise<RunningFrr> {
  const dir = mkdtempSync(join(tmpdir(), 'nexthop-frr-'));
  const frrUid = Number(execFileSync('id', ['-u', 'frr']).toString().trim());
  const frrGid = Number(execFileSync('id', ['-g', 'frr']).toString().trim());
  const conf = join(dir, 'frr.conf');
  writeFileSync(conf, `frr defaults traditional\nlog stdout informational\n${config}\n`);
  writeFileSync(join(dir, 'vtysh.conf'), '');
  for (const f of [dir, conf]) chownSync(f, frrUid, frrGid);
  let output = '';
  const children: ChildProcess[] = [];
  const byName = new Map<string, ChildProcess>();
  const spawnDaemon = async (d: string) => {
    const args = ['-f', conf, '-i', join(dir, `${d}.pid`), '-z', join(dir, 'zserv.api'), '--vty_socket', dir];
    const child = ns.spawn(join(FRR_LIB, d), args);
    byName.set(d, child);
    child.stdout?.on('data', (b: Buffer) => {
      output += b.toString();
    });
    child.stderr?.on('data', (b: Buffer) => {
      output += b.toString();
    });
    children.push(child);
    // zebra's API socket must exist before the protocol daemons connect to it.
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${d} exited with ${child.exitCode}:\n${output}`);
        const r = await ns.exec('vtysh', ['--vty_socket', dir, '-d', d, '-c', 'show version']);
        return r.code === 0;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: `FRR ${d} vty` },
    );
  };
  for (const d of ['zebra', ...daemons]) await spawnDaemon(d);
  const vtysh = async (command: string) => ns.execOk('vtysh', ['--vty_socket', dir, '-c', command]);
  return {
    dir,
    vtysh,
    json: async <T>(command: string) => JSON.parse(await vtysh(command)) as T,
    log: () => output,
    kill: async (d) => {
      const c = byName.get(d);
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGKILL');
      await gone;
    },
    start: spawnDaemon,
    stop: async () => {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              const hard = setTimeout(() => c.kill('SIGKILL'), 3000);
              c.once('exit', () => {
                clearTimeout(hard);
                resolve();
              });
              c.kill('SIGTERM');
            }),
        ),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
