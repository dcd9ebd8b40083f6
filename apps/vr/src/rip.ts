import { parseIpv4, parseIpv6 } from '@nexthop/addr';
import type { RipConfigSection, RouterConfig } from '@nexthop/config';
import type { Rib } from '@nexthop/rib';
import {
  type RipConfig,
  RipEngine,
  type RipInterfaceState,
  type RipLocalRoute,
  type RipRouteSink,
  type RipShow,
} from '@nexthop/rip';
import type { Stack } from '@nexthop/stack';
import type { Logger } from 'pino';
import type { HostedProtocol } from './protocols.ts';
import { CryptoRandom } from './random.ts';
import { ProtocolRoutes } from './rib-routes.ts';

// RIPv2 and RIPng inside a VR: one engine of @nexthop/rip per family on the VR's own socket layer
// (UDP 520 / 521 in the VR's stack), its routes in the VR's RIB as source kind 'rip' (distance
// 120), its configuration from the router's `rip` or `ripng` section. The VR drives it: socket
// events, `poll` at its deadline, `apply`, and `sync` when interfaces or routes change.

type Addr = number | Uint8Array;

/** RIP's routes into the RIB: one source per engine, next hop on the interface it was learned on. */
class RipRibSink implements RipRouteSink<Addr> {
  readonly routes: ProtocolRoutes;
  private readonly name: string;

  constructor(rib: Rib, name: string) {
    this.routes = new ProtocolRoutes(rib, 'rip');
    this.name = name;
  }

  update(
    network: Addr,
    length: number,
    route: { nextHop: Addr; ifIndex: number; metric: number } | null,
    now: number,
  ): void {
    const input =
      route === null
        ? null
        : { nextHops: [{ gateway: route.nextHop, ifIndex: route.ifIndex }], metric: route.metric };
    if (typeof network === 'number') this.routes.update4(this.name, network, length, input as never, now);
    else this.routes.update6(this.name, network, length, input as never, now);
  }
}

/** The VR's RIPv2 (family 4) or RIPng (family 6) instance. */
export class VrRip implements HostedProtocol {
  readonly name: 'rip' | 'ripng';
  /** Link-local addresses leaving DAD and redistributed routes reach it through the VR's carrier poll. */
  readonly syncsOnEveryPoll = true;
  readonly family: 4 | 6;
  private engine: RipEngine<Addr>;
  private readonly stack: Stack;
  private readonly logger: Logger;
  private readonly sink: RipRibSink;
  private section: RipConfigSection;
  /** The interface states last handed to the engine, as text (to hand only changes). */
  private readonly states = new Map<number, string>();
  private localKey = '';

  constructor(stack: Stack, config: RouterConfig, family: 4 | 6, logger: Logger) {
    this.stack = stack;
    this.family = family;
    this.name = family === 4 ? 'rip' : 'ripng';
    this.logger = logger;
    this.section = (family === 4 ? config.rip : config.ripng)!;
    this.sink = new RipRibSink(stack.rib, this.name);
    this.engine = new RipEngine<Addr>({
      name: this.name,
      family,
      sockets: stack.sockets,
      sink: this.sink,
      config: this.engineConfig(this.section),
      random: new CryptoRandom(),
      // RFC 4822 §3.2.2: sequence numbers never go down, across restarts of the VR too.
      sequenceBase: Math.floor(Date.now() / 1000),
    });
  }

  private engineConfig(section: RipConfigSection): RipConfig {
    const interfaces = [];
    for (const i of section.interfaces) {
      const ifIndex = this.stack.interfaceIndex(i.name);
      if (ifIndex < 0) continue;
      const info = this.stack.interfaces().find((x) => x.index === ifIndex);
      interfaces.push({
        name: i.name,
        ifIndex,
        cost: i.cost,
        passive: i.passive,
        splitHorizon: i.splitHorizon,
        keys: i.keys,
        mtu: info?.mtu ?? 1500,
      });
    }
    return { interfaces, timers: section.timers };
  }

  start(now: number): void {
    this.sync(now);
    this.engine.start(now);
    this.logger.info(
      { protocol: this.name, interfaces: this.section.interfaces.map((i) => i.name) },
      `${this.name === 'rip' ? 'RIPv2' : 'RIPng'} started`,
    );
  }

  /** A changed section, in place: an interface's new cost or keys touch nothing else. */
  apply(config: RouterConfig, now: number): string[] {
    const next = (this.family === 4 ? config.rip : config.ripng)!;
    const changes: string[] = [];
    const before = new Map(this.section.interfaces.map((i) => [i.name, JSON.stringify(i, bytes)]));
    for (const i of next.interfaces) {
      const was = before.get(i.name);
      if (was === undefined) changes.push(`${this.name} interface ${i.name} added`);
      else if (was !== JSON.stringify(i, bytes)) changes.push(`${this.name} interface ${i.name} changed`);
      before.delete(i.name);
    }
    for (const name of before.keys()) changes.push(`${this.name} interface ${name} removed`);
    if (JSON.stringify(this.section.timers) !== JSON.stringify(next.timers))
      changes.push(`${this.name} timers changed`);
    this.section = next;
    this.engine.reconfigure(this.engineConfig(next), now);
    this.states.clear();
    this.localKey = '';
    this.sync(now);
    return changes;
  }

  /**
   * Brings the engine's view up to date: interface states (carrier, addresses, a link-local address
   * that passed DAD) and the routes it originates (the RIP interfaces' networks, and what
   * `redistribute` names). Cheap when nothing changed; the VR calls it often.
   */
  sync(now: number): void {
    const ripIfs = new Set(this.section.interfaces.map((i) => i.name));
    for (const i of this.stack.interfaces()) {
      if (!ripIfs.has(i.name)) continue;
      const state: RipInterfaceState<Addr> =
        this.family === 4
          ? {
              up: i.up,
              addresses: i.addresses.map((a) => {
                const [t, l] = a.split('/') as [string, string];
                return { address: parseIpv4(t), length: Number(l) };
              }),
            }
          : {
              up: i.up,
              addresses: i.addresses6
                .filter((a) => a.state === 'preferred')
                .map((a) => ({ address: parseIpv6(a.address), length: a.length })),
            };
      const key = JSON.stringify(state, bytes);
      if (this.states.get(i.index) === key) continue;
      this.states.set(i.index, key);
      this.engine.setInterfaceState(i.index, state, now);
    }
    const local = this.localRoutes(ripIfs, now);
    const key = JSON.stringify(local, bytes);
    if (key !== this.localKey) {
      this.localKey = key;
      this.engine.setLocalRoutes(local, now);
    }
  }

  private localRoutes(ripIfs: ReadonlySet<string>, now: number): RipLocalRoute<Addr>[] {
    const kinds = new Set<string>(this.section.redistribute);
    const metric = this.section.defaultMetric;
    const want = new Map<string, RipLocalRoute<Addr>>();
    for (const r of this.stack.routeList()) {
      if (r.prefix.includes(':') !== (this.family === 6)) continue;
      if (!r.active || r.type === 'local' || r.type === 'broadcast') continue;
      const own = r.protocol === 'connected' && r.interface !== null && ripIfs.has(r.interface);
      if (!own && !kinds.has(r.protocol)) continue;
      if (r.protocol === 'static' && !r.selected) continue;
      if (want.has(r.prefix)) continue;
      const [text, len] = r.prefix.split('/') as [string, string];
      const network = this.family === 6 ? parseIpv6(text) : parseIpv4(text);
      if (network instanceof Uint8Array && network[0] === 0xfe && (network[1]! & 0xc0) === 0x80) continue;
      want.set(r.prefix, { network, length: Number(len), metric, tag: 0, origin: r.protocol });
    }
    if (kinds.has('bgp')) {
      const table = this.family === 4 ? this.stack.rib.v4 : this.stack.rib.v6;
      for (const r of table.routes(now)) {
        if (r.source.kind !== 'bgp' || !r.selected || want.has(r.prefix)) continue;
        const [text, len] = r.prefix.split('/') as [string, string];
        const network = this.family === 6 ? parseIpv6(text) : parseIpv4(text);
        want.set(r.prefix, { network, length: Number(len), metric, tag: 0, origin: 'bgp' });
      }
    }
    return [...want.values()];
  }

  stop(now: number): void {
    this.engine.stop(now, 'router stopping');
    this.sink.routes.removeAll();
  }

  socketEvent(fd: number, events: number, now: number): boolean {
    return this.engine.socketEvent(fd, events, now);
  }

  poll(now: number): number {
    return this.engine.poll(now);
  }

  takeRibChanges(): boolean {
    return this.sink.routes.takeDirty();
  }

  show(now: number): RipShow {
    return this.engine.show(now);
  }
}

function bytes(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? [...value] : value;
}
