// A deterministic world of OSPF routers: each a Stack (packages/stack) whose raw sockets carry
// protocol 89, with an OspfEngine on top; segments (broadcast: every frame reaches every other
// member; two members make a point-to-point link) with a fixed delay and a switch to cut them. A
// virtual clock jumps to the next deadline of the stacks, the engines and the frames in flight.
import { createHash } from 'node:crypto';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '@nexthop/addr';
import type { FrameOutput } from '@nexthop/interface';
import { Stack } from '@nexthop/stack';
import {
  type NetworkType,
  OspfEngine,
  type OspfExternalConfig,
  type OspfInterfaceConfig,
  type OspfRoute,
  type OspfRouteSink,
} from '../src/index.ts';

export const md5 = (d: Uint8Array): Uint8Array => new Uint8Array(createHash('md5').update(d).digest());

/** The routes an engine handed over: "prefix" → "cost type via gw@if,…". */
export class MapSink implements OspfRouteSink {
  readonly routes = new Map<string, OspfRoute>();
  updates = 0;
  update(network: number, length: number, route: OspfRoute | null): void {
    this.updates++;
    const k = `${formatIpv4(network)}/${length}`;
    if (route === null) this.routes.delete(k);
    else this.routes.set(k, route);
  }
  update6(network: Uint8Array, length: number, route: OspfRoute | null): void {
    this.updates++;
    const k = `${formatIpv6(network)}/${length}`;
    if (route === null) this.routes.delete(k);
    else this.routes.set(k, route);
  }
  text(prefix: string): string | undefined {
    const r = this.routes.get(prefix);
    if (r === undefined) return undefined;
    const hops = r.nextHops
      .map(
        (h) =>
          `${h.gateway6 !== undefined ? formatIpv6(h.gateway6) : h.gateway === 0 ? 'direct' : formatIpv4(h.gateway)}@${h.ifIndex}`,
      )
      .sort()
      .join(',');
    return `${r.cost} ${r.type} ${hops}`;
  }
}

export interface IfSpec {
  /** '10.0.1.1/24' */
  readonly addr: string;
  /** OSPFv3: a global address, '2001:db8:1::1/64'. */
  readonly addr6?: string;
  readonly type?: NetworkType;
  readonly cost?: number;
  readonly priority?: number;
  readonly passive?: boolean;
  readonly area?: number;
  readonly md5Key?: string;
}

export interface RouterSpec {
  readonly name: string;
  readonly routerId: string;
  readonly interfaces: readonly IfSpec[];
  readonly externals?: readonly OspfExternalConfig[];
  /** Stub areas by id → their default summary's cost. */
  readonly stubAreas?: Readonly<Record<number, number>>;
}

/** Members of one segment: [router index, interface index]. */
export type SegmentSpec = readonly (readonly [number, number])[];

export interface SimRouter {
  readonly name: string;
  readonly stack: Stack;
  engine: OspfEngine;
  readonly sink: MapSink;
  readonly spec: RouterSpec;
}

const DELAY_MS = 1;

export function ifConfig(spec: IfSpec, ifIndex: number): OspfInterfaceConfig {
  const [a, len] = spec.addr.split('/') as [string, string];
  return {
    name: `eth${ifIndex}`,
    ifIndex,
    address: parseIpv4(a),
    prefixLength: Number(len),
    type: spec.type ?? 'broadcast',
    cost: spec.cost ?? 10,
    priority: spec.priority ?? 1,
    helloInterval: 1,
    deadInterval: 4,
    retransmitInterval: 2,
    transmitDelay: 1,
    passive: spec.passive ?? false,
    auth:
      spec.md5Key === undefined
        ? { type: 'none' }
        : { type: 'md5', keyId: 1, key: padTo16(new TextEncoder().encode(spec.md5Key)) },
    mtu: 1500,
  };
}

function padTo16(k: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out.set(k.subarray(0, 16));
  return out;
}

/** An OSPFv3 interface: the stack's link-local address, the spec's global prefix. */
function ifConfig6(spec: IfSpec, ifIndex: number, stack: Stack): OspfInterfaceConfig {
  const info = stack.interfaces()[ifIndex]!;
  const ll = info.addresses6.find((a) => a.address.startsWith('fe80'));
  const prefixes: { address: Uint8Array; length: number }[] = [];
  if (spec.addr6 !== undefined) {
    const [a, len] = spec.addr6.split('/') as [string, string];
    prefixes.push({ address: parseIpv6(a), length: Number(len) });
  }
  return {
    ...ifConfig({ ...spec, md5Key: undefined }, ifIndex),
    address: 0,
    prefixLength: 0,
    linkLocal: ll === undefined ? new Uint8Array(16) : parseIpv6(ll.address),
    prefixes,
  };
}

export function engineConfig(spec: RouterSpec, stack?: Stack) {
  const areas = new Map<number, OspfInterfaceConfig[]>();
  spec.interfaces.forEach((ifc, i) => {
    const list = areas.get(ifc.area ?? 0) ?? [];
    list.push(stack === undefined ? ifConfig(ifc, i) : ifConfig6(ifc, i, stack));
    areas.set(ifc.area ?? 0, list);
  });
  return {
    ...(stack !== undefined ? { version: 3 as const } : {}),
    routerId: parseIpv4(spec.routerId),
    areas: [...areas].map(([id, interfaces]) => {
      const cost = spec.stubAreas?.[id];
      return cost === undefined ? { id, interfaces } : { id, interfaces, stub: true, defaultCost: cost };
    }),
    externals: spec.externals ?? [],
    spfDelay: 50,
    spfHold: 200,
    minLsInterval: 1000,
  };
}

export function world(
  seed: number,
  specs: readonly RouterSpec[],
  segments: readonly SegmentSpec[],
  version: 2 | 3 = 2,
) {
  let now = 0;
  let seq = 0;
  const up = segments.map(() => true);
  const inFlight: { at: number; seq: number; to: number; ifIndex: number; bytes: Uint8Array }[] = [];
  const trace: string[] = [];
  const output = (r: number): FrameOutput => ({
    transmit: (ifIndex, buf, off, len) => {
      const s = segments.findIndex((m) => m.some(([x, y]) => x === r && y === ifIndex));
      if (s < 0 || !up[s]) return;
      for (const [x, y] of segments[s]!) {
        if (x === r && y === ifIndex) continue;
        inFlight.push({
          at: now + DELAY_MS,
          seq: seq++,
          to: x,
          ifIndex: y,
          bytes: buf.slice(off, off + len),
        });
      }
    },
  });
  const routers: SimRouter[] = specs.map((spec, index) => {
    const stack = new Stack({ output: output(index), seed: seed * 16 + index, dadTransmits: 0 });
    spec.interfaces.forEach((ifc, i) => {
      stack.addInterface({ name: `eth${i}`, mac: Uint8Array.of(2, 0, 0, 0, index + 1, i + 1), mtu: 1500 });
      const [a, len] = ifc.addr.split('/') as [string, string];
      stack.addAddress(i, parseIpv4(a), Number(len), 0);
      if (ifc.addr6 !== undefined) {
        const [a6, len6] = ifc.addr6.split('/') as [string, string];
        stack.addAddress6(i, parseIpv6(a6), Number(len6), 0);
      }
    });
    stack.poll(0);
    const sink = new MapSink();
    let rnd = seed * 7919 + index;
    const engine = new OspfEngine({
      name: `ospf-${spec.name}`,
      sockets: stack.sockets,
      sink,
      config: engineConfig(spec, version === 3 ? stack : undefined),
      md5,
      random: () => {
        rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
        return rnd / 4294967296;
      },
      onNeighborState: (ifn, rid, from, to, t) =>
        trace.push(`${t} ${spec.name}.${ifn} ${formatIpv4(rid)} ${from}>${to}`),
      onInterfaceState: (ifn, from, to, t) => trace.push(`${t} ${spec.name}.${ifn} if ${from}>${to}`),
    });
    const r: SimRouter = { name: spec.name, stack, engine, sink, spec };
    stack.sockets.onSocketEvent = (fd, ev) => {
      r.engine.socketEvent(fd, ev, now);
    };
    return r;
  });
  const start = () => {
    for (const r of routers) r.engine.start(now);
  };
  const run = (untilMs: number, done: () => boolean = () => false): boolean => {
    const end = now + untilMs;
    for (let steps = 0; steps < 3_000_000; steps++) {
      let next = Infinity;
      for (const r of routers) next = Math.min(next, r.stack.poll(now), r.engine.poll(now));
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
    start,
    run,
    trace,
    now: () => now,
    setSegment: (s: number, isUp: boolean) => {
      up[s] = isUp;
    },
    /** Every neighbour of every router is Full or 2-Way (DROthers between themselves). */
    converged: () =>
      routers.every((r) => r.engine.neighbors(now).every((n) => n.state === 'Full' || n.state === '2-Way')),
  };
}
