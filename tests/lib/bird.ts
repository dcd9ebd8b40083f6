import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Netns, waitFor } from '@nexthop/netns';

// BIRD 2 inside a test's namespace, in the foreground, with its configuration and control socket in
// a directory of its own.

export interface RunningBird {
  readonly dir: string;
  /** One birdc command; its output. */
  birdc(command: string): Promise<string>;
  /** Replaces the configuration and has BIRD take it (`birdc configure`). */
  reconfigure(config: string): Promise<void>;
  log(): string;
  stop(): Promise<void>;
}

export async function startBird(ns: Netns, config: string): Promise<RunningBird> {
  const dir = mkdtempSync(join(tmpdir(), 'nexthop-bird-'));
  const conf = join(dir, 'bird.conf');
  const sock = join(dir, 'bird.ctl');
  writeFileSync(conf, config);
  const child = ns.spawn('bird', ['-f', '-c', conf, '-s', sock, '-P', join(dir, 'bird.pid')]);
  let output = '';
  child.stdout?.on('data', (b: Buffer) => {
    output += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    output += b.toString();
  });
  const birdc = (command: string) => ns.execOk('birdc', ['-s', sock, ...command.split(' ')]);
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`bird exited with ${child.exitCode}:\n${output}`);
      return (await ns.exec('birdc', ['-s', sock, 'show', 'status'])).code === 0;
    },
    { timeoutMs: 15_000, intervalMs: 100, what: 'BIRD control socket' },
  );
  return {
    dir,
    birdc,
    reconfigure: async (text: string) => {
      writeFileSync(conf, text);
      const out = await birdc('configure');
      if (!/Reconfigur/.test(out)) throw new Error(`birdc configure: ${out}`);
    },
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
