// Two in-process stacks on one wire (frames delivered on the next turn of the event loop), each with
// a remote socket server: enough to open TCP and UDP sockets in one and reach the other.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from '@nexthop/stack';
import { type RsockQuotas, RsockServer } from '../src/index.ts';

export const ADDR_A = 0x0a000001; // 10.0.0.1
export const ADDR_B = 0x0a000002; // 10.0.0.2

export interface Node {
  stack: Stack;
  server: RsockServer;
  path: string;
}

export interface World {
  a: Node;
  b: Node;
  dir: string;
  close(): void;
}

export interface WorldOptions {
  uids?: number[];
  gids?: number[];
  quotas?: Partial<RsockQuotas>;
  helloTimeoutMs?: number;
  /** The servers' highest protocol version (RsockServerOptions.maxVersion). */
  maxVersion?: number;
}

const QUOTAS: RsockQuotas = {
  clientSockets: 64,
  clientBufferedBytes: 64 * 1024 * 1024,
  sockets: 1024,
  bufferedBytes: 1 << 30,
  clientConnections: 64,
  connections: 1024,
};

export function makeWorld(options: WorldOptions = {}): World {
  const dir = mkdtempSync(join(tmpdir(), 'rsock-test-'));
  const queue: { to: Stack; frame: Uint8Array }[] = [];
  let scheduled = false;
  const deliver = () => {
    scheduled = false;
    const now = Math.floor(performance.now());
    // Only the frames already sent: what they cause goes out on the next turn, as on a wire.
    const batch = queue.splice(0);
    for (const { to, frame } of batch) to.receive(0, frame, 0, frame.length, now);
  };
  const kick = () => {
    if (!scheduled && queue.length > 0) {
      scheduled = true;
      setImmediate(() => {
        deliver();
        kick();
      });
    }
  };
  const stacks: Stack[] = [];
  const make = (self: number, peer: () => Stack | undefined, name: string): Node => {
    const stack = new Stack({
      output: {
        transmit: (_i, buf, off, len) => {
          const to = peer();
          if (to !== undefined) queue.push({ to, frame: buf.slice(off, off + len) });
        },
      },
      seed: self,
      // The IPv6 addresses are usable at once (no DAD wait): 2001:db8::1 and ::2.
      dadTransmits: 0,
    });
    stacks.push(stack);
    stack.addInterface({ name: 'eth0', mac: Uint8Array.of(2, 0, 0, 0, 0, self & 0xff), mtu: 1500 });
    stack.addAddress(0, self, 24, Math.floor(performance.now()));
    const self6 = new Uint8Array(16);
    self6.set([0x20, 0x01, 0x0d, 0xb8]);
    self6[15] = self & 0xff;
    stack.addAddress6(0, self6, 64, Math.floor(performance.now()));
    const path = join(dir, `${name}.sock`);
    const server = RsockServer.listen(path, {
      vrName: name,
      sockets: stack.sockets,
      access: {
        uids: options.uids ?? [process.getuid!()],
        gids: options.gids ?? [],
        privilegedPorts: { uids: [], gids: [] },
      },
      quotas: { ...QUOTAS, ...options.quotas },
      clock: () => Math.floor(performance.now()),
      afterStackCall: kick,
      ...(options.helloTimeoutMs !== undefined ? { helloTimeoutMs: options.helloTimeoutMs } : {}),
      ...(options.maxVersion !== undefined ? { maxVersion: options.maxVersion } : {}),
    });
    stack.sockets.onSocketEvent = (fd, ev) => {
      server.onSocketEvent(fd, ev);
    };
    return { stack, server, path };
  };
  let b: Node | null = null;
  const a = make(ADDR_A, () => b?.stack, 'a');
  b = make(ADDR_B, () => a.stack, 'b');
  const timer = setInterval(() => {
    const now = Math.floor(performance.now());
    for (const s of stacks) s.poll(now);
    kick();
  }, 2);
  return {
    a,
    b,
    dir,
    close() {
      clearInterval(timer);
      a.server.close();
      b!.server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
