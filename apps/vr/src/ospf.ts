import { createHash } from 'node:crypto';
import { ipv4Mask, parseIpv4, parseIpv6 } from '@nexthop/addr';
import type { OspfConfigSection, OspfInterfaceSection, RouterConfig } from '@nexthop/config';
import {
  type OspfAuth,
  type OspfConfig,
  OspfEngine,
  type OspfExternalConfig,
  type OspfInterfaceConfig,
  type OspfInterfaceShow,
  type OspfLsaShow,
  type OspfNeighborShow,
  type OspfRoute,
  type OspfRouteShow,
  type OspfRouteSink,
  type OspfShow,
  padKey,
} from '@nexthop/ospf';
import { DEFAULT_DISTANCE, type NextHop, type Rib, type RouteInput } from '@nexthop/rib';
import type { Stack } from '@nexthop/stack';
import type { Logger } from 'pino';
import { CryptoRandom } from './random.ts';
import { ProtocolRoutes } from './rib-routes.ts';

// OSPFv2 and OSPFv3 inside a VR: the engine of @nexthop/ospf on the VR's own raw IP sockets
// (protocol 89 in the VR's stack; 224.0.0.5/6 or ff02::5/6 joined per interface), its routes in the
// VR's RIB (kind 'ospf', distance 110, metric the OSPF cost), its configuration from the router's
// `ospf` (version 2) or `ospf6` (version 3) section. The VR drives it: socket events, `poll` at its
// deadline, `apply`, and carrier and address changes (`sync`).

const md5 = (data: Uint8Array): Uint8Array => new Uint8Array(createHash('md5').update(data).digest());

/** The engine's routes into the RIB: one source, distance 110, metric the cost (type 2: the external metric). */
export class RibOspfSink implements OspfRouteSink {
  private readonly routes: ProtocolRoutes;
  private readonly name: string;

  constructor(rib: Rib, name: string) {
    this.routes = new ProtocolRoutes(rib, 'ospf');
    this.name = name;
  }

  update(network: number, length: number, route: OspfRoute | null, now: number): void {
    const input =
      route === null
        ? null
        : routeInput<number>(
            route,
            route.nextHops.map((h) =>
              h.gateway === 0 ? { ifIndex: h.ifIndex } : { gateway: h.gateway, ifIndex: h.ifIndex },
            ),
          );
    this.routes.update4(this.name, network, length, input, now);
  }

  /** OSPFv3's routes: next hops a neighbour's link-local address on an interface. */
  update6(network: Uint8Array, length: number, route: OspfRoute | null, now: number): void {
    const input =
      route === null
        ? null
        : routeInput<Uint8Array>(
            route,
            route.nextHops.map((h) =>
              h.gateway6 === undefined ? { ifIndex: h.ifIndex } : { gateway: h.gateway6, ifIndex: h.ifIndex },
            ),
          );
    this.routes.update6(this.name, network, length, input, now);
  }

  removeAll(): void {
    this.routes.removeAll();
  }

  takeDirty(): boolean {
    return this.routes.takeDirty();
  }
}

/** An OSPF route as the RIB takes it: distance 110, the cost as metric (E2: its external metric). */
function routeInput<A>(route: OspfRoute, nextHops: NextHop<A>[]): RouteInput<A> {
  return {
    nextHops,
    distance: DEFAULT_DISTANCE.ospf,
    metric: route.type === 'external-2' ? (route.type2Cost ?? route.cost) : route.cost,
    attrs: { type: route.type, area: route.area },
  };
}

function auth(i: OspfInterfaceSection): OspfAuth {
  const enc = new TextEncoder();
  switch (i.auth.type) {
    case 'none':
      return { type: 'none' };
    case 'simple':
      return { type: 'simple', key: padKey(enc.encode(i.auth.key), 8) };
    case 'md5':
      return { type: 'md5', keyId: i.auth.keyId, key: padKey(enc.encode(i.auth.key), 16) };
  }
}

/** The VR's OSPF instance: OSPFv2 (the `ospf` section) or OSPFv3 (`ospf6`). */
export class VrOspf {
  /** 'ospf' or 'ospf6': the instance's name in the ProtocolHost and the RIB. */
  readonly name: 'ospf' | 'ospf6';
  readonly version: 2 | 3;
  /** OSPFv3 joins an interface once its link-local address has left DAD: the VR's carrier poll tells it. */
  readonly syncsOnEveryPoll: boolean;
  private engine: OspfEngine;
  /** The engine configuration last handed over, as text (OSPFv3 follows link-local addresses). */
  private configKey = '';
  private readonly stack: Stack;
  private readonly logger: Logger;
  private sink: RibOspfSink;
  private section: OspfConfigSection;
  private config: RouterConfig;
  /** Wall-clock seconds at the VR clock's zero: cryptographic sequence numbers follow the wall clock (as FRR's). */
  private readonly cryptoSeqBase: number;

  constructor(stack: Stack, config: RouterConfig, logger: Logger, now: number, version: 2 | 3 = 2) {
    this.stack = stack;
    this.logger = logger;
    this.version = version;
    this.name = version === 3 ? 'ospf6' : 'ospf';
    this.syncsOnEveryPoll = version === 3;
    this.section = this.sectionOf(config);
    this.config = config;
    this.cryptoSeqBase = Math.floor(Date.now() / 1000 - now / 1000);
    this.sink = new RibOspfSink(stack.rib, this.name);
    this.engine = this.makeEngine(config);
  }

  private sectionOf(config: RouterConfig): OspfConfigSection {
    return (this.version === 3 ? config.ospf6 : config.ospf)!;
  }

  private makeEngine(config: RouterConfig): OspfEngine {
    const random = new CryptoRandom();
    const protocol = this.name;
    return new OspfEngine({
      name: this.name,
      sockets: this.stack.sockets,
      sink: this.sink,
      config: this.engineConfig(config),
      md5,
      cryptoSeqBase: this.cryptoSeqBase,
      random: () => random.next32() / 4294967296,
      cpuClock: () => performance.now(),
      onNeighborState: (iface, rid, from, to) => {
        const important = to === 'Full' || from === 'Full' || to === 'Down';
        this.logger[important ? 'info' : 'debug'](
          { protocol, interface: iface, neighbor: formatId(rid), from, to },
          'OSPF neighbour state',
        );
      },
      onInterfaceState: (iface, from, to) =>
        this.logger.debug({ protocol, interface: iface, from, to }, 'OSPF interface state'),
    });
  }

  private engineConfig(config: RouterConfig): OspfConfig {
    if (this.version === 3) return this.engineConfig6(config);
    const s = config.ospf!;
    const info = new Map(this.stack.interfaces().map((i) => [i.name, i]));
    const areas = s.areas.map((a) => ({
      id: a.id,
      stub: a.stub,
      defaultCost: a.defaultCost,
      interfaces: a.interfaces.flatMap((i): OspfInterfaceConfig[] => {
        const ifc = config.interfaces.find((x) => x.name === i.name);
        const index = this.stack.interfaceIndex(i.name);
        const addr = ifc?.addresses[0];
        if (ifc === undefined || index < 0 || addr === undefined) return [];
        return [
          {
            name: i.name,
            ifIndex: index,
            address: addr.address,
            prefixLength: addr.length,
            type: i.network,
            cost: i.cost,
            priority: i.priority,
            helloInterval: i.helloInterval,
            deadInterval: i.deadInterval,
            retransmitInterval: i.retransmitInterval,
            transmitDelay: i.transmitDelay,
            passive: i.passive,
            auth: auth(i),
            mtu: ifc.mtu ?? info.get(i.name)?.mtu ?? 1500,
          },
        ];
      }),
    }));
    return {
      routerId: s.routerId,
      areas,
      externals: this.externals(s, areas),
      spfDelay: s.spfDelay,
      spfHold: s.spfHold,
      minLsInterval: s.lsaInterval,
    };
  }

  /**
   * OSPFv3's: each interface's link-local address (once it passed DAD: until then the interface is
   * left out) and its global prefixes from the file.
   */
  private engineConfig6(config: RouterConfig): OspfConfig {
    const s = config.ospf6!;
    const info = new Map(this.stack.interfaces().map((i) => [i.name, i]));
    const areas = s.areas.map((a) => ({
      id: a.id,
      stub: a.stub,
      defaultCost: a.defaultCost,
      interfaces: a.interfaces.flatMap((i): OspfInterfaceConfig[] => {
        const ifc = config.interfaces.find((x) => x.name === i.name);
        const index = this.stack.interfaceIndex(i.name);
        const ll = info
          .get(i.name)
          ?.addresses6.find((x) => x.state === 'preferred' && /^fe[89ab]/i.test(x.address));
        if (ifc === undefined || index < 0 || ll === undefined) return [];
        return [
          {
            name: i.name,
            ifIndex: index,
            address: 0,
            prefixLength: 0,
            linkLocal: parseIpv6(ll.address),
            prefixes: ifc.addresses6.map((x) => ({ address: x.address, length: x.length })),
            instanceId: i.instanceId ?? 0,
            type: i.network,
            cost: i.cost,
            priority: i.priority,
            helloInterval: i.helloInterval,
            deadInterval: i.deadInterval,
            retransmitInterval: i.retransmitInterval,
            transmitDelay: i.transmitDelay,
            passive: i.passive,
            auth: { type: 'none' },
            mtu: ifc.mtu ?? info.get(i.name)?.mtu ?? 1500,
          },
        ];
      }),
    }));
    return {
      version: 3,
      routerId: s.routerId,
      areas,
      externals: this.externals6(s, areas),
      spfDelay: s.spfDelay,
      spfHold: s.spfHold,
      minLsInterval: s.lsaInterval,
    };
  }

  /** OSPFv3's `redistribute`: the selected connected/static IPv6 routes, not link-local nor OSPF's own. */
  private externals6(
    s: OspfConfigSection,
    areas: { interfaces: OspfInterfaceConfig[] }[],
  ): OspfExternalConfig[] {
    if (s.redistribute.length === 0) return [];
    const kinds = new Set<string>(s.redistribute);
    const own = new Set<string>();
    for (const a of areas)
      for (const i of a.interfaces)
        for (const p of i.prefixes ?? []) own.add(`${[...p.address]}/${p.length}`);
    const out: OspfExternalConfig[] = [];
    for (const r of this.stack.routeList()) {
      if (!kinds.has(r.protocol) || r.type === 'local') continue;
      if (!r.active || !r.selected || !r.prefix.includes(':')) continue;
      const [text, len] = r.prefix.split('/') as [string, string];
      const network6 = parseIpv6(text);
      if (network6[0] === 0xfe && (network6[1]! & 0xc0) === 0x80) continue;
      const key = `${[...network6]}/${len}`;
      if (own.has(key)) continue;
      own.add(key);
      out.push({
        network: 0,
        network6,
        length: Number(len),
        metric: s.externalMetric,
        metricType: s.externalMetricType,
        tag: 0,
      });
    }
    return out;
  }

  /** What `redistribute` brings in: the selected connected/static routes not of OSPF's own networks. */
  private externals(
    s: OspfConfigSection,
    areas: { interfaces: OspfInterfaceConfig[] }[],
  ): OspfExternalConfig[] {
    if (s.redistribute.length === 0) return [];
    const kinds = new Set<string>(s.redistribute);
    const own = new Set<string>();
    for (const a of areas)
      for (const i of a.interfaces)
        own.add(`${(i.address & ipv4Mask(i.prefixLength)) >>> 0}/${i.prefixLength}`);
    const out: OspfExternalConfig[] = [];
    for (const r of this.stack.routeList()) {
      if (!kinds.has(r.protocol) || r.type === 'local' || r.type === 'broadcast') continue;
      if (!r.active || !r.selected || r.prefix.includes(':')) continue;
      const [text, len] = r.prefix.split('/') as [string, string];
      const network = parseIpv4(text);
      const key = `${network >>> 0}/${len}`;
      if (own.has(key)) continue;
      own.add(key);
      out.push({
        network,
        length: Number(len),
        metric: s.externalMetric,
        metricType: s.externalMetricType,
        tag: 0,
      });
    }
    return out;
  }

  start(now: number): void {
    this.engine.start(now);
    this.logger.info(
      {
        protocol: this.name,
        routerId: this.section.routerIdText,
        areas: this.section.areas.map((a) => `${a.idText}:${a.interfaces.map((i) => i.name).join(',')}`),
      },
      'OSPF started',
    );
  }

  /**
   * Applies a changed section in place where the engine can (an interface's cost re-originates the
   * Router-LSA; other adjacencies untouched); a new router id restarts the instance.
   */
  apply(config: RouterConfig, now: number): string[] {
    const next = this.sectionOf(config);
    const changes: string[] = [];
    const p = this.name;
    if (this.engine.reconfigure(this.engineConfig(config), now)) {
      const before = new Map(
        this.section.areas.flatMap((a) => a.interfaces.map((i) => [i.name, { a: a.id, i }])),
      );
      for (const a of next.areas)
        for (const i of a.interfaces) {
          const was = before.get(i.name);
          if (was === undefined) changes.push(`${p} interface ${i.name} added (area ${a.idText})`);
          else if (was.a !== a.id || JSON.stringify(was.i) !== JSON.stringify(i))
            changes.push(`${p} interface ${i.name} changed`);
          before.delete(i.name);
        }
      for (const name of before.keys()) changes.push(`${p} interface ${name} removed`);
      if (JSON.stringify(this.section.redistribute) !== JSON.stringify(next.redistribute))
        changes.push(`${p} redistribute changed`);
    } else {
      this.engine.stop(now, 'configuration changed');
      this.sink.removeAll();
      this.sink = new RibOspfSink(this.stack.rib, this.name);
      this.engine = this.makeEngine(config);
      this.engine.start(now);
      changes.push(`${p} restarted (router id ${next.routerIdText})`);
    }
    this.section = next;
    this.config = config;
    return changes;
  }

  /**
   * Interfaces, carriers or the stack's routes may have changed: each OSPF interface follows its
   * carrier (InterfaceUp / InterfaceDown, RFC 2328 §9.3) and what is redistributed follows the routes.
   */
  sync(now: number): void {
    for (const a of this.section.areas)
      for (const i of a.interfaces) {
        const index = this.stack.interfaceIndex(i.name);
        if (index >= 0) this.engine.setLinkUp(index, this.stack.interfaceUp(index), now);
      }
    const cfg = this.engineConfig(this.config);
    const key = JSON.stringify(cfg, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v));
    if (key === this.configKey) return;
    this.configKey = key;
    this.engine.reconfigure(cfg, now);
  }

  stop(now: number): void {
    this.engine.stop(now, 'router stopping');
    this.sink.removeAll();
  }

  socketEvent(fd: number, events: number, now: number): boolean {
    return this.engine.socketEvent(fd, events, now);
  }

  poll(now: number): number {
    return this.engine.poll(now);
  }

  takeRibChanges(): boolean {
    return this.sink.takeDirty();
  }

  show(now: number): OspfShow {
    return this.engine.show(now);
  }

  interfaces(): OspfInterfaceShow[] {
    return this.engine.interfaces();
  }

  neighbors(now: number): OspfNeighborShow[] {
    return this.engine.neighbors(now);
  }

  database(now: number): OspfLsaShow[] {
    return this.engine.database(now);
  }

  routes(): OspfRouteShow[] {
    return this.engine.routes();
  }

  get instance(): OspfEngine {
    return this.engine;
  }
}

function formatId(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
