import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Netns } from '@nexthop/netns';

// Drives tests/lib/bgp-speaker-child.ts in a namespace: a hand-made BGP peer for the VR, whose
// messages a test writes byte by byte (malformed ones included) and whose received messages it reads.

export interface SpeakerEvent {
  ev: 'connected' | 'msg' | 'closed' | 'error';
  type?: number;
  hex?: string;
  message?: string;
}

export interface BgpSpeaker {
  connect(host: string, port?: number): void;
  send(bytes: Uint8Array): void;
  close(): void;
  /** The next event matching `want` (those before it are dropped); rejects after `timeoutMs`. */
  next(want: (e: SpeakerEvent) => boolean, timeoutMs: number, what: string): Promise<SpeakerEvent>;
}

export function startSpeaker(ns: Netns): BgpSpeaker {
  const child = ns.spawn(process.execPath, [join(import.meta.dirname, 'bgp-speaker-child.ts')], {
    stdin: true,
  });
  const queue: SpeakerEvent[] = [];
  let wake: (() => void) | null = null;
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    queue.push(JSON.parse(line) as SpeakerEvent);
    wake?.();
  });
  const command = (o: object) => child.stdin!.write(`${JSON.stringify(o)}\n`);
  return {
    connect: (host, port = 179) => command({ op: 'connect', host, port }),
    send: (bytes) => command({ op: 'send', hex: Buffer.from(bytes).toString('hex') }),
    close: () => command({ op: 'close' }),
    next: async (want, timeoutMs, what) => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        while (queue.length > 0) {
          const e = queue.shift()!;
          if (want(e)) return e;
        }
        const left = until - Date.now();
        if (left <= 0 || child.exitCode !== null)
          throw new Error(`timed out waiting for ${what}${stderr === '' ? '' : `\n${stderr}`}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(t);
            wake = null;
            resolve();
          };
        });
      }
    },
  };
}
