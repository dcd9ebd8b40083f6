import { ipv6PrefixContains, parseIpv4, parseIpv6, prefixContains } from '@nexthop/addr';
import {
  ACCEPT_ALL,
  type BgpConfig,
  BgpEngine,
  type BgpPeerConfig,
  type BgpRouteShow,
  type BgpShow,
  type BgpState,
  compilePolicies,
  type ImportedRoute,
  type Policy,
  REJECT_ALL,
  type RouteSink,
} from '@nexthop/bgp';
import {
  type BgpConfigSection,
  type BgpNeighborConfig,
  bgpNotes,
  type InterfaceConfig,
  type PoliciesConfig,
  type RouterConfig,
} from '@nexthop/config';
import { DEFAULT_DISTANCE, type Rib, type RouteSource } from '@nexthop/rib';
import type { Stack } from '@nexthop/stack';
import type { Logger } from 'pino';
import { CryptoRandom } from './random.ts';

// BGP inside a VR: the engine of @nexthop/bgp on the VR's own socket layer (TCP port 179 in the
// VR's stack, not the kernel's), its routes in the VR's RIB, its configuration from the router's
// `bgp` and `policies` sections. The VR drives it: socket events, `poll` at its deadline, `apply`.

/** ORIGIN (RFC 4271 §5.1.1): `networks` are IGP, redistributed routes INCOMPLETE, as FRR marks them. */
const ORIGIN_IGP = 0;
const ORIGIN_INCOMPLETE = 2;

/**
 * The engine's best routes into the RIB: one RIB source per engine source name, eBGP routes at
 * distance 20 and iBGP ones at 200 (FRR's defaults), the next hop resolved by the RIB (directly on
 * a connected network, or recursively through another route: RFC 4271 §5.1.3).
 */
export class RibRouteSink implements RouteSink {
  private readonly rib: Rib;
  private readonly sources = new Map<string, RouteSource>();
  /** Whether anything changed since the last `takeDirty`. */
  private dirty = false;

  constructor(rib: Rib) {
    this.rib = rib;
  }

  private source(name: string): RouteSource {
    let s = this.sources.get(name);
    if (s === undefined) {
      s = this.rib.addSource('bgp', name);
      this.sources.set(name, s);
    }
    return s;
  }

  update4(
    source: string,
    network: number,
    length: number,
    route: ImportedRoute<number> | null,
    now: number,
  ): void {
    this.dirty = true;
    this.rib.update(
      this.source(source),
      { network, length },
      route === null
        ? null
        : {
            nextHops: [{ gateway: route.nextHop }],
            distance: route.ibgp ? DEFAULT_DISTANCE.ibgp : DEFAULT_DISTANCE.ebgp,
            attrs: route.attrs,
          },
      now,
    );
  }

  update6(
    source: string,
    network: Uint8Array,
    length: number,
    route: ImportedRoute<Uint8Array> | null,
    now: number,
  ): void {
    this.dirty = true;
    this.rib.update(
      this.source(source),
      { network, length },
      route === null
        ? null
        : {
            nextHops: [{ gateway: route.nextHop }],
            distance: route.ibgp ? DEFAULT_DISTANCE.ibgp : DEFAULT_DISTANCE.ebgp,
            attrs: route.attrs,
          },
      now,
    );
  }

  withdrawAll(source: string): void {
    const s = this.sources.get(source);
    if (s === undefined) return;
    this.dirty = true;
    this.rib.withdrawAll(s);
  }

  /** Takes every source out of the RIB (the instance stops). */
  removeAll(): void {
    for (const s of this.sources.values()) this.rib.removeSource(s);
    this.sources.clear();
    this.dirty = true;
  }

  /** Whether routes changed since the last call (the caller then flushes the RIB). */
  takeDirty(): boolean {
    const d = this.dirty;
    this.dirty = false;
    return d;
  }
}

/** A prefix BGP originates, with the ORIGIN it is announced with. */
interface Originated {
  readonly network: number | Uint8Array;
  readonly length: number;
  readonly origin: number;
}

/**
 * Compiled policies, cached by their definition: an apply that leaves a policy as it was hands the
 * engine the same function, so that the engine re-evaluates only the peers whose policies changed.
 */
class PolicyCache {
  private readonly compiled = new Map<string, Policy>();

  resolve(name: string | undefined, policies: PoliciesConfig, localAs: number): Policy | undefined {
    if (name === undefined) return undefined;
    if (name === 'accept') return ACCEPT_ALL;
    if (name === 'reject') return REJECT_ALL;
    const terms = policies.policies.get(name);
    if (terms === undefined) return REJECT_ALL; // the config check refuses this; never accept by mistake
    const lists: Record<string, unknown> = {};
    for (const t of terms) for (const l of t.match.prefixLists) lists[l] = policies.prefixLists.get(l);
    const key = `${name}\n${localAs}\n${JSON.stringify({ terms, lists }, bytesAsArrays)}`;
    let p = this.compiled.get(key);
    if (p === undefined) {
      p = compilePolicies(policies, localAs)(name) ?? REJECT_ALL;
      this.compiled.set(key, p);
    }
    return p;
  }

  /** Forgets compiled policies no peer uses any more. */
  retain(used: ReadonlySet<Policy>): void {
    for (const [k, p] of this.compiled) if (!used.has(p)) this.compiled.delete(k);
  }
}

function bytesAsArrays(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? [...value] : value instanceof Map ? [...value] : value;
}

/** The VR's BGP instance. */
export class VrBgp {
  private engine: BgpEngine;
  private readonly stack: Stack;
  private readonly logger: Logger;
  private readonly sink: RibRouteSink;
  private readonly policyCache = new PolicyCache();
  private section: BgpConfigSection;
  private config: RouterConfig;
  /** What the engine announces now, by prefix text. */
  private readonly originated = new Map<string, Originated>();

  constructor(stack: Stack, config: RouterConfig, logger: Logger) {
    this.stack = stack;
    this.logger = logger;
    this.section = config.bgp!;
    this.config = config;
    this.sink = new RibRouteSink(stack.rib);
    this.engine = this.makeEngine(config);
  }

  private makeEngine(config: RouterConfig): BgpEngine {
    return new BgpEngine({
      name: 'bgp',
      sockets: this.stack.sockets,
      sink: this.sink,
      config: this.engineConfig(config),
      random: new CryptoRandom(),
      onStateChange: (peer, from, to) => this.stateChanged(peer, from, to),
    });
  }

  private stateChanged(peer: string, from: BgpState, to: BgpState): void {
    const established = to === 'Established' || from === 'Established';
    this.logger[established ? 'info' : 'debug']({ protocol: 'bgp', neighbor: peer, from, to }, 'BGP state');
  }

  private engineConfig(config: RouterConfig): BgpConfig {
    const s = config.bgp!;
    return {
      localAs: s.asn,
      routerId: s.routerId,
      listen: s.listen,
      ...(s.clusterId !== undefined ? { clusterId: s.clusterId } : {}),
      peers: s.neighbors.map((n) => this.peerConfig(n, config)),
    };
  }

  private peerConfig(n: BgpNeighborConfig, config: RouterConfig): BgpPeerConfig {
    const asn = config.bgp!.asn;
    const imp = this.policyCache.resolve(n.import, config.policies, asn);
    const exp = this.policyCache.resolve(n.export, config.policies, asn);
    const other = otherFamilyAddress(config.interfaces, n.address);
    return {
      name: n.name,
      address: n.address,
      remoteAs: n.remoteAs,
      passive: n.passive,
      families: n.families,
      gtsm: n.ttlSecurity,
      routeReflectorClient: n.routeReflectorClient,
      nextHopSelf: n.nextHopSelf,
      ...(n.port !== undefined ? { port: n.port } : {}),
      ...(n.localAddress !== undefined ? { localAddress: n.localAddress } : {}),
      ...(n.holdTime !== undefined ? { holdTime: n.holdTime } : {}),
      ...(n.keepalive !== undefined ? { keepalive: n.keepalive } : {}),
      ...(n.connectRetry !== undefined ? { connectRetry: n.connectRetry } : {}),
      ...(n.maxPrefixes !== undefined ? { maxPrefixes: n.maxPrefixes } : {}),
      ...(n.password !== undefined ? { password: n.password } : {}),
      ...(imp !== undefined ? { import: imp } : {}),
      ...(exp !== undefined ? { export: exp } : {}),
      ...(typeof other === 'number' ? { nextHop4: other } : {}),
      ...(other instanceof Uint8Array ? { nextHop6: other } : {}),
    };
  }

  start(now: number): void {
    for (const note of bgpNotes(this.config)) this.logger.warn({ protocol: 'bgp' }, note);
    this.engine.start(now);
    this.syncOriginated(now);
    this.logger.info(
      { protocol: 'bgp', asn: this.section.asn, routerId: this.section.routerIdText },
      'BGP started',
    );
  }

  /**
   * Applies a changed section in place where the engine can (other sessions untouched, a changed
   * policy re-applied without a reset); otherwise the instance restarts. Returns the change lines.
   */
  apply(config: RouterConfig, now: number): string[] {
    const next = config.bgp!;
    const changes: string[] = [];
    const before = new Map(this.section.neighbors.map((n) => [n.name, n]));
    if (this.engine.reconfigure(this.engineConfig(config), now)) {
      for (const n of next.neighbors) {
        const was = before.get(n.name);
        if (was === undefined) changes.push(`bgp neighbor ${n.name} added`);
        else if (JSON.stringify(was, bytesAsArrays) !== JSON.stringify(n, bytesAsArrays))
          changes.push(`bgp neighbor ${n.name} changed`);
        before.delete(n.name);
      }
      for (const name of before.keys()) changes.push(`bgp neighbor ${name} removed`);
    } else {
      this.engine.stop(now, 'configuration changed');
      this.sink.removeAll();
      this.originated.clear();
      this.engine = this.makeEngine(config);
      this.engine.start(now);
      changes.push(`bgp restarted (asn ${next.asn}, router id ${next.routerIdText})`);
    }
    this.section = next;
    this.config = config;
    this.syncOriginated(now);
    return changes;
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

  /** Whether the RIB needs a flush (routes came or went since the last call). */
  takeRibChanges(): boolean {
    return this.sink.takeDirty();
  }

  /**
   * Brings what BGP announces in line with `networks` and `redistribute`: called at start, after
   * an apply and when an interface comes or goes (connected and static routes change only then).
   */
  syncOriginated(_now: number): void {
    const want = new Map<string, Originated>();
    for (const n of this.section.networks4)
      want.set(n.text, { network: n.prefix.network, length: n.prefix.length, origin: ORIGIN_IGP });
    for (const n of this.section.networks6)
      want.set(n.text, { network: n.prefix.network, length: n.prefix.length, origin: ORIGIN_IGP });
    const kinds = new Set<string>(this.section.redistribute);
    if (kinds.size > 0) {
      for (const r of this.stack.routeList()) {
        // Discard routes too (FRR's `redistribute static` takes Null0 routes): they are the usual aggregates.
        if (!kinds.has(r.protocol) || r.type === 'local' || r.type === 'broadcast') continue;
        if (!r.active || !r.selected) continue;
        if (want.has(r.prefix)) continue;
        const [text, len] = r.prefix.split('/') as [string, string];
        const network = r.prefix.includes(':') ? parseIpv6(text) : parseIpv4(text);
        want.set(r.prefix, { network, length: Number(len), origin: ORIGIN_INCOMPLETE });
      }
    }
    for (const [text, o] of this.originated) {
      const w = want.get(text);
      if (w !== undefined && w.origin === o.origin) continue;
      if (typeof o.network === 'number') this.engine.withdraw4(o.network, o.length);
      else this.engine.withdraw6(o.network, o.length);
      this.originated.delete(text);
    }
    for (const [text, w] of want) {
      if (this.originated.has(text)) continue;
      if (typeof w.network === 'number') this.engine.announce4(w.network, w.length, { origin: w.origin });
      else this.engine.announce6(w.network, w.length, { origin: w.origin });
      this.originated.set(text, w);
    }
  }

  show(now: number): BgpShow {
    return this.engine.show(now);
  }

  /**
   * The Loc-RIB's candidates, each prefix's best first (`show bgp routes`); with `prefix`, that
   * prefix ("10.1.0.0/16") or the longest one holding an address ("10.1.2.3"). At most `limit` rows.
   */
  routes(now: number, prefix: string | undefined, limit: number): BgpRouteShow[] {
    return this.engine.routes(prefix === undefined ? {} : { prefix }, limit, now);
  }

  /** The running engine (tests, `show bgp routes`). */
  get instance(): BgpEngine {
    return this.engine;
  }
}

/**
 * Our address of the other family on the interface that reaches `peer` (its connected prefix holds
 * the peer): the next hop of IPv6 routes on an IPv4 session and of IPv4 routes on an IPv6 one
 * (RFC 4760 §3, RFC 2545 §3). Undefined when that interface has none.
 */
export function otherFamilyAddress(
  interfaces: readonly InterfaceConfig[],
  peer: number | Uint8Array,
): number | Uint8Array | undefined {
  for (const iface of interfaces) {
    const reaches =
      typeof peer === 'number'
        ? iface.addresses.some((a) => prefixContains(a.prefix, peer))
        : iface.addresses6.some((a) => ipv6PrefixContains(a.prefix, peer));
    if (!reaches) continue;
    if (typeof peer === 'number') return iface.addresses6[0]?.address;
    return iface.addresses[0]?.address;
  }
  return undefined;
}
