// Two stacks on one lossless link with a virtual clock that jumps to the next deadline: the socket
// tests' world. A is 192.168.5.1 (and 2001:db8:5::1 with `ipv6`), B is .2 (::2).
import { parseIpv4, parseIpv6 } from '@nexthop/addr';
import type { FrameOutput } from '@nexthop/interface';
import { Stack } from '@nexthop/stack';
import type { TcpConfig } from '../src/tcp/index.ts';
import { mac } from './harness.ts';

export const A4 = parseIpv4('192.168.5.1');
export const B4 = parseIpv4('192.168.5.2');
export const A6 = parseIpv6('2001:db8:5::1');
export const B6 = parseIpv6('2001:db8:5::2');

export interface TwoStacksOptions {
  /** Both stacks also get their IPv6 address (usable at once: no DAD wait). */
  ipv6?: boolean;
  /** B's TCP settings. */
  bTcp?: Partial<TcpConfig>;
  seeds?: [number, number];
}

export function twoStacks(options: TwoStacksOptions = {}) {
  const queue: { to: Stack; bytes: Uint8Array }[] = [];
  const link = (peer: () => Stack): FrameOutput => ({
    transmit: (_i, buf, off, len) => queue.push({ to: peer(), bytes: buf.slice(off, off + len) }),
  });
  const [seedA, seedB] = options.seeds ?? [11, 12];
  const v6 = options.ipv6 === true;
  const a: Stack = new Stack({ output: link(() => b), seed: seedA, ...(v6 ? { dadTransmits: 0 } : {}) });
  const b: Stack = new Stack({
    output: link(() => a),
    seed: seedB,
    tcp: options.bTcp ?? {},
    ...(v6 ? { dadTransmits: 0 } : {}),
  });
  for (const [s, m, v4, a6] of [
    [a, '02:00:00:00:00:0a', A4, A6],
    [b, '02:00:00:00:00:0b', B4, B6],
  ] as const) {
    s.addInterface({ name: 'eth0', mac: mac(m), mtu: 1500 });
    s.addAddress(0, v4, 24, 0);
    if (v6) s.addAddress6(0, a6, 64, 0);
  }
  let now = 0;
  /** Runs until nothing is in flight and no timer is due within `horizonMs`. */
  const run = (horizonMs = 1000) => {
    const end = now + horizonMs;
    for (let steps = 0; steps < 1_000_000; steps++) {
      const f = queue.shift();
      if (f !== undefined) {
        f.to.receive(0, f.bytes, 0, f.bytes.length, now);
        continue;
      }
      const next = Math.min(a.poll(now), b.poll(now));
      if (queue.length > 0) continue;
      if (next > end) return;
      now = Math.max(now, next);
    }
    throw new Error('simulation did not settle');
  };
  run();
  /** Moves the clock on (timers due meanwhile run at the next `run`). */
  const advance = (ms: number) => {
    now += ms;
  };
  return { a, b, run, queue, advance, now: () => now };
}
