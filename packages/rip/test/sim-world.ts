// A deterministic world of RIP routers for the simulation tests: each router a Stack (its socket
// layer carries UDP 520 and 521) with a RIPv2 and a RIPng engine on top; point-to-point links with
// a fixed delay and a switch to cut them; a virtual clock that jumps to the next deadline. Every
// RIP datagram that crosses a link is decoded into the trace. Everything follows from the seed.
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '@nexthop/addr';
import type { FrameOutput } from '@nexthop/interface';
import { Stack } from '@nexthop/stack';
import { rd16 } from '@nexthop/wire';
import { parseRip2, parseRipng } from '../src/codec.ts';
import {
  RipEngine,
  type RipInterfaceConfig,
  type RipInterfaceState,
  type RipLocalRoute,
  type RipRouteSink,
  type SplitHorizon,
} from '../src/engine.ts';
import { SeqRandom } from './fake-sockets.ts';

export class MapSink<A extends number | Uint8Array> implements RipRouteSink<A> {
  readonly routes = new Map<string, string>();
  /** Every change, in order: "+ prefix metric" / "- prefix", with the time. */
  readonly log: string[] = [];
  update(
    network: A,
    length: number,
    route: { nextHop: A; ifIndex: number; metric: number } | null,
    now: number,
  ) {
    const f = (a: A) => (typeof a === 'number' ? formatIpv4(a) : formatIpv6(a as Uint8Array));
    const k = `${f(network)}/${length}`;
    if (route === null) {
      this.routes.delete(k);
      this.log.push(`${(now / 1000).toFixed(3)} - ${k}`);
    } else {
      this.routes.set(k, `via ${f(route.nextHop)} metric ${route.metric}`);
      this.log.push(`${(now / 1000).toFixed(3)} + ${k} ${route.metric}`);
    }
  }
}

export interface SimRouterSpec {
  readonly name: string;
  /** Per interface: an IPv4 address /24 and an IPv6 one /64. */
  readonly interfaces: readonly { v4: string; v6: string }[];
  readonly splitHorizon?: SplitHorizon;
}

export type SimLink = readonly [readonly [number, number], readonly [number, number]];

export interface SimRouter {
  readonly name: string;
  readonly stack: Stack;
  readonly rip: RipEngine<number>;
  readonly ripng: RipEngine<Uint8Array>;
  readonly sink4: MapSink<number>;
  readonly sink6: MapSink<Uint8Array>;
}

const DELAY_MS = 2;

/** What an engine is told about an interface: up, and its usable addresses (link-local first). */
export function interfaceStates(stack: Stack) {
  const v4 = new Map<number, RipInterfaceState<number>>();
  const v6 = new Map<number, RipInterfaceState<Uint8Array>>();
  for (const i of stack.interfaces()) {
    v4.set(i.index, {
      up: i.up,
      addresses: i.addresses.map((a) => {
        const [t, l] = a.split('/') as [string, string];
        return { address: parseIpv4(t), length: Number(l) };
      }),
    });
    v6.set(i.index, {
      up: i.up,
      addresses: i.addresses6
        .filter((a) => a.state === 'preferred')
        .map((a) => ({ address: parseIpv6(a.address), length: a.length })),
    });
  }
  return { v4, v6 };
}

export function ripWorld(seed: number, specs: readonly SimRouterSpec[], links: readonly SimLink[]) {
  let now = 0;
  let seq = 0;
  const up = links.map(() => true);
  const inFlight: { at: number; seq: number; to: number; ifIndex: number; bytes: Uint8Array }[] = [];
  /** RIP datagrams put on a link: "t from>to response prefix=metric …". */
  const wire: string[] = [];
  const far = (r: number, i: number) => {
    for (const [n, [x, y]] of links.entries()) {
      if (x[0] === r && x[1] === i) return { link: n, to: y };
      if (y[0] === r && y[1] === i) return { link: n, to: x };
    }
    return undefined;
  };
  const output = (r: number): FrameOutput => ({
    transmit: (ifIndex, buf, off, len) => {
      const f = far(r, ifIndex);
      if (f === undefined || !up[f.link]) return;
      const bytes = buf.slice(off, off + len);
      wire.push(`${(now / 1000).toFixed(3)} ${specs[r]!.name}>${specs[f.to[0]]!.name} ${decode(bytes)}`);
      inFlight.push({ at: now + DELAY_MS, seq: seq++, to: f.to[0], ifIndex: f.to[1], bytes });
    },
  });
  const routers: SimRouter[] = specs.map((spec, index) => {
    const stack = new Stack({ output: output(index), seed: seed * 16 + index, dadTransmits: 0 });
    spec.interfaces.forEach((ifc, i) => {
      stack.addInterface({ name: `eth${i}`, mac: Uint8Array.of(2, 0, 0, 0, index + 1, i + 1), mtu: 1500 });
      stack.addAddress(i, parseIpv4(ifc.v4), 24, 0);
      stack.addAddress6(i, parseIpv6(ifc.v6), 64, 0);
    });
    const ifaces: RipInterfaceConfig[] = spec.interfaces.map((_, i) => ({
      name: `eth${i}`,
      ifIndex: i,
      cost: 1,
      passive: false,
      splitHorizon: spec.splitHorizon ?? 'poisoned-reverse',
      keys: [],
      mtu: 1500,
    }));
    const timers = { update: 30, timeout: 180, garbage: 120 };
    const sink4 = new MapSink<number>();
    const sink6 = new MapSink<Uint8Array>();
    const rip = new RipEngine<number>({
      name: `rip-${spec.name}`,
      family: 4,
      sockets: stack.sockets,
      sink: sink4,
      config: { interfaces: ifaces, timers },
      random: new SeqRandom(seed * 31 + index),
    });
    const ripng = new RipEngine<Uint8Array>({
      name: `ripng-${spec.name}`,
      family: 6,
      sockets: stack.sockets,
      sink: sink6,
      config: { interfaces: ifaces, timers },
      random: new SeqRandom(seed * 37 + index),
    });
    stack.sockets.onSocketEvent = (fd, ev) => {
      if (!rip.socketEvent(fd, ev, now)) ripng.socketEvent(fd, ev, now);
    };
    return { name: spec.name, stack, rip, ripng, sink4, sink6 };
  });

  const connected = (r: SimRouter) => {
    const v4: RipLocalRoute<number>[] = [];
    const v6: RipLocalRoute<Uint8Array>[] = [];
    specs[routers.indexOf(r)]!.interfaces.forEach((ifc) => {
      v4.push({
        network: parseIpv4(ifc.v4) & 0xffffff00,
        length: 24,
        metric: 1,
        tag: 0,
        origin: 'connected',
      });
      const n = parseIpv6(ifc.v6);
      n.fill(0, 8);
      v6.push({ network: n, length: 64, metric: 1, tag: 0, origin: 'connected' });
    });
    return { v4, v6 };
  };

  const syncStates = () => {
    for (const r of routers) {
      const s = interfaceStates(r.stack);
      for (const [i, st] of s.v4) r.rip.setInterfaceState(i, st, now);
      for (const [i, st] of s.v6) r.ripng.setInterfaceState(i, st, now);
    }
  };

  const start = () => {
    for (const r of routers) r.stack.poll(now);
    syncStates();
    for (const r of routers) {
      const c = connected(r);
      r.rip.setLocalRoutes(c.v4, now);
      r.ripng.setLocalRoutes(c.v6, now);
      r.rip.start(now);
      r.ripng.start(now);
    }
  };

  const run = (untilMs: number, done: () => boolean = () => false): boolean => {
    const end = now + untilMs;
    for (let steps = 0; steps < 1_000_000; steps++) {
      let next = Number.POSITIVE_INFINITY;
      for (const r of routers) next = Math.min(next, r.stack.poll(now), r.rip.poll(now), r.ripng.poll(now));
      if (done()) return true;
      inFlight.sort((x, y) => x.at - y.at || x.seq - y.seq);
      const f = inFlight[0];
      if (f !== undefined && f.at <= now) {
        inFlight.shift();
        routers[f.to]!.stack.receive(f.ifIndex, f.bytes, 0, f.bytes.length, now);
        continue;
      }
      if (f !== undefined) next = Math.min(next, f.at);
      if (next > end) {
        now = end;
        return done();
      }
      now = Math.max(now, next);
    }
    throw new Error('simulation did not settle');
  };

  return {
    routers,
    wire,
    start,
    run,
    now: () => now,
    setLink: (link: number, isUp: boolean) => {
      up[link] = isUp;
    },
  };
}

/** A frame's RIP content, or its kind. */
function decode(b: Uint8Array): string {
  const type = rd16(b, 12);
  if (type === 0x0800 && b[23] === 17) {
    const ihl = (b[14]! & 15) * 4;
    const udp = 14 + ihl;
    if (rd16(b, udp + 2) !== 520) return 'udp';
    const p = parseRip2(b, udp + 8, rd16(b, udp + 4) - 8, []);
    if (!p.ok) return `rip bad ${p.reason}`;
    return `rip ${p.message.command === 1 ? 'request' : 'response'}${p.message.entries.map((e) => ` ${formatIpv4(e.network)}/${e.length}=${e.metric}`).join('')}`;
  }
  if (type === 0x86dd && b[20] === 17) {
    const udp = 54;
    if (rd16(b, udp + 2) !== 521) return 'udp6';
    const p = parseRipng(b, udp + 8, rd16(b, udp + 4) - 8);
    if (!p.ok) return `ripng bad ${p.reason}`;
    return `ripng ${p.message.command === 1 ? 'request' : 'response'}${p.message.entries.map((e) => ` ${formatIpv6(e.network)}/${e.length}=${e.metric}`).join('')}`;
  }
  return type === 0x0806 ? 'arp' : type === 0x86dd ? 'ipv6' : 'other';
}
