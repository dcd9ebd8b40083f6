import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Netns, waitFor } from '@nexthop/netns';

// GoBGP inside a test's namespace: gobgpd in the foreground with a TOML configuration of its own,
// its gRPC API on the namespace's loopback (each namespace has its own), driven with the gobgp CLI.

export interface RunningGobgp {
  /** One gobgp CLI command (words); its output. */
  gobgp(args: readonly string[]): Promise<string>;
  log(): string;
  stop(): Promise<void>;
}

export async function startGobgp(ns: Netns, toml: string): Promise<RunningGobgp> {
  const dir = mkdtempSync(join(tmpdir(), 'nexthop-gobgp-'));
  const conf = join(dir, 'gobgpd.toml');
  writeFileSync(conf, toml);
  const child = ns.spawn('gobgpd', ['-f', conf, '-p', '--pprof-disable', '--api-hosts', '127.0.0.1:50051']);
  let output = '';
  child.stdout?.on('data', (b: Buffer) => {
    output += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    output += b.toString();
  });
  const gobgp = (args: readonly string[]) => ns.execOk('gobgp', ['-u', '127.0.0.1', '-p', '50051', ...args]);
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`gobgpd exited with ${child.exitCode}:\n${output}`);
      return (await ns.exec('gobgp', ['-u', '127.0.0.1', '-p', '50051', 'global'])).code === 0;
    },
    { timeoutMs: 15_000, intervalMs: 100, what: 'the gobgpd API' },
  );
  return {
    gobgp,
    log: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => {
          const hard = setTimeout(() => child.kill('SIGKILL'), 3000);
          child.once('exit', () => {
            clearTimeout(hard);
            resolve();
          });
          child.kill('SIGTERM');
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
