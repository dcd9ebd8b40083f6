// A deterministic world of BGP routers for the simulation tests: each router a Stack
// (packages/stack) whose socket layer carries TCP port 179, with a BgpEngine on top; point-to-point
// links between their interfaces, each with a fixed delay and a switch to cut it. A virtual clock
// jumps to the next deadline of the stacks, the engines and the frames in flight; everything is a
// function of the seed.
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '@nexthop/addr';
import type { FrameOutput } from '@nexthop/interface';
import { Stack } from '@nexthop/stack';
import {
  BgpEngine,
  type BgpPeerConfig,
  type GracefulRestartConfig,
  type ImportedRoute,
  type RouteSink,
} from '../src/index.ts';

/** The routes a router handed to its RIB: "source prefix" → "via next hop[ ibgp]". */
export class MapSink implements RouteSink {
  readonly routes = new Map<string, string>();
  /** Calls received, to check that a change costs what it touches. */
  calls = 0;
  /** Routes taken out, by key ("source prefix"). */
  readonly removed: string[] = [];
  update4(source: string, network: number, length: number, route: ImportedRoute<number> | null): void {
    this.calls++;
    const k = `${source} ${formatIpv4(network)}/${length}`;
    if (route === null) {
      if (this.routes.delete(k)) this.removed.push(k);
    } else this.routes.set(k, `via ${formatIpv4(route.nextHop)}${route.ibgp ? ' ibgp' : ''}`);
  }
  update6(
    source: string,
    network: Uint8Array,
    length: number,
    route: ImportedRoute<Uint8Array> | null,
  ): void {
    this.calls++;
    const k = `${source} ${formatIpv6(network)}/${length}`;
    if (route === null) {
      if (this.routes.delete(k)) this.removed.push(k);
    } else this.routes.set(k, `via ${formatIpv6(route.nextHop)}${route.ibgp ? ' ibgp' : ''}`);
  }
  withdrawAll(source: string): void {
    this.calls++;
    for (const k of [...this.routes.keys()]) if (k.startsWith(`${source} `)) this.routes.delete(k);
  }
  sorted(): string[] {
    return [...this.routes].map(([k, v]) => `${k} ${v}`).sort();
  }
}

export interface InterfaceSpec {
  /** IPv4 address, /24. */
  readonly v4: string;
  /** IPv6 address, /64. */
  readonly v6?: string;
}

export interface RouterSpec {
  readonly name: string;
  readonly as: number;
  /** Default: the first interface's IPv4 address. */
  readonly routerId?: string;
  readonly clusterId?: string;
  readonly interfaces: readonly InterfaceSpec[];
  readonly peers: readonly BgpPeerConfig[];
  readonly gracefulRestart?: GracefulRestartConfig;
}

/** A link between two routers' interfaces: [router index, interface index] each. */
export type LinkSpec = readonly [readonly [number, number], readonly [number, number]];

export interface Router {
  readonly name: string;
  readonly stack: Stack;
  readonly engine: BgpEngine;
  readonly sink: MapSink;
}

interface Frame {
  at: number;
  seq: number;
  to: number;
  ifIndex: number;
  bytes: Uint8Array;
}

const DELAY_MS = 2;

export function world(seed: number, specs: readonly RouterSpec[], links: readonly LinkSpec[]) {
  let now = 0;
  let seq = 0;
  let dropped = 0;
  const up = links.map(() => true);
  const inFlight: Frame[] = [];
  const trace: string[] = [];
  /** Where a frame sent on (router, interface) goes: the link and its other end. */
  const far = (r: number, i: number): { link: number; to: readonly [number, number] } | undefined => {
    for (const [n, [x, y]] of links.entries()) {
      if (x[0] === r && x[1] === i) return { link: n, to: y };
      if (y[0] === r && y[1] === i) return { link: n, to: x };
    }
    return undefined;
  };
  const output = (r: number): FrameOutput => ({
    transmit: (ifIndex, buf, off, len) => {
      const f = far(r, ifIndex);
      if (f === undefined) return;
      if (!up[f.link]) {
        dropped++;
        return;
      }
      const bytes = buf.slice(off, off + len);
      inFlight.push({ at: now + DELAY_MS, seq: seq++, to: f.to[0], ifIndex: f.to[1], bytes });
    },
  });
  /** Routers whose process is down (`crash`): frames to them are lost, nothing of them runs. */
  const dead = new Set<number>();
  let restarts = 0;
  const make = (spec: RouterSpec, index: number, restarted = false, generation = 0): Router => {
    // A new process has new ports and sequence numbers: another seed.
    const stack = new Stack({
      output: output(index),
      seed: seed * 16 + index + 1000 * generation,
      dadTransmits: 0,
    });
    spec.interfaces.forEach((ifc, i) => {
      stack.addInterface({ name: `eth${i}`, mac: Uint8Array.of(2, 0, 0, 0, index + 1, i + 1), mtu: 1500 });
      stack.addAddress(i, parseIpv4(ifc.v4), 24, 0);
      if (ifc.v6 !== undefined) stack.addAddress6(i, parseIpv6(ifc.v6), 64, 0);
    });
    const sink = new MapSink();
    const engine = new BgpEngine({
      name: `bgp-${spec.name}`,
      sockets: stack.sockets,
      sink,
      config: {
        localAs: spec.as,
        routerId: parseIpv4(spec.routerId ?? spec.interfaces[0]!.v4),
        clusterId: spec.clusterId !== undefined ? parseIpv4(spec.clusterId) : undefined,
        ...(spec.gracefulRestart !== undefined ? { gracefulRestart: spec.gracefulRestart } : {}),
        peers: spec.peers,
      },
      restarted,
      onDeferralEnd: (why, t) => trace.push(`${t} ${spec.name} deferral end ${why}`),
      onStateChange: (p, from, to, t) => trace.push(`${t} ${spec.name}.${p} ${from}>${to}`),
    });
    stack.sockets.onSocketEvent = (fd, ev) => {
      engine.socketEvent(fd, ev, now);
    };
    return { name: spec.name, stack, engine, sink };
  };
  const routers: Router[] = specs.map((spec, index) => make(spec, index));

  const start = () => {
    for (const r of routers) r.engine.start(now);
  };

  /** Runs until `done` holds or `untilMs` of virtual time pass. */
  const run = (untilMs: number, done: () => boolean = () => false): boolean => {
    const end = now + untilMs;
    for (let steps = 0; steps < 2_000_000; steps++) {
      let next = Infinity;
      for (const [i, r] of routers.entries())
        if (!dead.has(i)) next = Math.min(next, r.stack.poll(now), r.engine.poll(now));
      if (done()) return true;
      inFlight.sort((x, y) => x.at - y.at || x.seq - y.seq);
      const f = inFlight[0];
      if (f !== undefined && f.at <= now) {
        inFlight.shift();
        if (!dead.has(f.to)) routers[f.to]!.stack.receive(f.ifIndex, f.bytes, 0, f.bytes.length, now);
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

  /** Every session of every router is Established. */
  const allEstablished = () =>
    routers.every((r) => r.engine.show(now).peers.every((p) => p.state === 'Established'));

  /** A router's Loc-RIB candidates for one prefix. */
  const routes = (r: Router, prefix: string) => r.engine.routes({ prefix }, Infinity, now);

  return {
    routers,
    routes,
    start,
    run,
    trace,
    allEstablished,
    now: () => now,
    setLink: (link: number, isUp: boolean) => {
      up[link] = isUp;
    },
    dropped: () => dropped,
    /** Router i's process dies: its stack and engine vanish without a word (no FIN, no RST). */
    crash: (i: number) => {
      dead.add(i);
    },
    /**
     * A new process for router i: a fresh stack and engine (same addresses), told it restarted
     * (RFC 4724 §4.1), and started. Its MapSink is new too (the FIB did not survive).
     */
    restart: (i: number, restarted = true): Router => {
      dead.delete(i);
      const r = make(specs[i]!, i, restarted, ++restarts);
      routers[i] = r;
      r.engine.start(now);
      return r;
    },
  };
}
