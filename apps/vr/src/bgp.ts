import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
import { DEFAULT_DISTANCE, type NextHop, type Rib } from '@nexthop/rib';
import type { Stack } from '@nexthop/stack';
import type { Logger } from 'pino';
import { CryptoRandom } from './random.ts';
import { ProtocolRoutes } from './rib-routes.ts';

// BGP inside a VR: the engine of @nexthop/bgp on the VR's own socket layer (TCP port 179 in the
// VR's stack, not the kernel's), its routes in the VR's RIB, its configuration from the router's
// `bgp` and `policies` sections. The VR drives it: socket events, `poll` at its deadline, `apply`.

/** Distinct next hops whose arrays the sink keeps (a handful in practice; forgotten past this). */
const NEXT_HOPS_KEPT = 4096;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** ORIGIN (RFC 4271 §5.1.1): `networks` are IGP, redistributed routes INCOMPLETE, as FRR marks them. */
const ORIGIN_IGP = 0;
const ORIGIN_INCOMPLETE = 2;

/**
 * The engine's best routes into the RIB: one RIB source per engine source name, eBGP routes at
 * distance 20 and iBGP ones at 200 (FRR's defaults), the next hop resolved by the RIB (directly on
 * a connected network, or recursively through another route: RFC 4271 §5.1.3).
 */
export class RibRouteSink implements RouteSink {
  private readonly routes: ProtocolRoutes;
  /** Next-hop arrays by next hop, see `nextHops4`. */
  private readonly hops4 = new Map<number, readonly NextHop<number>[]>();
  private readonly hops6 = new Map<string, readonly NextHop<Uint8Array>[]>();
  private readonly hops6ByAttrs = new WeakMap<object, readonly NextHop<Uint8Array>[]>();

  constructor(rib: Rib) {
    this.routes = new ProtocolRoutes(rib, 'bgp');
  }

  update4(
    source: string,
    network: number,
    length: number,
    route: ImportedRoute<number> | null,
    now: number,
  ): void {
    const input =
      route === null
        ? null
        : {
            nextHops: this.nextHops4(route),
            distance: route.ibgp ? DEFAULT_DISTANCE.ibgp : DEFAULT_DISTANCE.ebgp,
            attrs: route.attrs,
          };
    this.routes.update4(source, network, length, input, now);
  }

  update6(
    source: string,
    network: Uint8Array,
    length: number,
    route: ImportedRoute<Uint8Array> | null,
    now: number,
  ): void {
    const input =
      route === null
        ? null
        : {
            nextHops: this.nextHops6(route),
            distance: route.ibgp ? DEFAULT_DISTANCE.ibgp : DEFAULT_DISTANCE.ebgp,
            attrs: route.attrs,
          };
    this.routes.update6(source, network, length, input, now);
  }

  withdrawAll(source: string): void {
    this.routes.withdrawAll(source);
  }

  /** Takes every source out of the RIB (the instance stops). */
  removeAll(): void {
    this.routes.removeAll();
  }

  /** Whether routes changed since the last call (the caller then flushes the RIB). */
  takeDirty(): boolean {
    return this.routes.takeDirty();
  }

  /**
   * The next-hop array of a route, the same array for every route through that next hop: the RIB
   * keeps what it derived from an array (its next-hop set) by the array, so a new one per prefix
   * would make it rebuild the set's key, address text included, for every prefix of a full table
   * and every update of a day's churn (where most attribute sets are new ones).
   */
  private nextHops4(route: ImportedRoute<number>): readonly NextHop<number>[] {
    const nh = route.nextHop;
    let hops = this.hops4.get(nh);
    if (hops === undefined) {
      if (this.hops4.size >= NEXT_HOPS_KEPT) this.hops4.clear();
      hops = [{ gateway: nh }];
      this.hops4.set(nh, hops);
    }
    return hops;
  }

  private nextHops6(route: ImportedRoute<Uint8Array>): readonly NextHop<Uint8Array>[] {
    // By attribute set first (the next hop is a view into its bytes), then by the address's text.
    const nh = route.nextHop;
    const last = this.hops6ByAttrs.get(route.attrs);
    if (last !== undefined && sameBytes(last[0]!.gateway!, nh)) return last;
    const key = Buffer.from(nh.buffer, nh.byteOffset, nh.length).toString('latin1');
    let hops = this.hops6.get(key);
    if (hops === undefined) {
      if (this.hops6.size >= NEXT_HOPS_KEPT) this.hops6.clear();
      hops = [{ gateway: nh.slice() }];
      this.hops6.set(key, hops);
    }
    this.hops6ByAttrs.set(route.attrs, hops);
    return hops;
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

/** How often a VR doing graceful restart marks itself alive in its run directory. */
const GR_MARK_MS = 5_000;

/**
 * RFC 4724 §4.1 needs a new process to know that it replaces one that died or was stopped for a
 * restart: a small file in the VR's run directory, `<name>.bgp-restart.json`, rewritten every few
 * seconds while BGP runs (and at a graceful stop) with the wall-clock time. A process that finds
 * one younger than our Restart Time restarted within it: the peers still hold our routes as
 * stale, so it sets the R bit and defers selection. Older (or none): an ordinary start.
 */
export function grMarkPath(runDir: string, vr: string): string {
  return join(runDir, `${vr}.bgp-restart.json`);
}

/** The age (ms) of a previous process's mark, or undefined when there is none (or unreadable). */
export function grMarkAge(path: string, nowWall: number): number | undefined {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as { aliveAt?: unknown };
    return typeof m.aliveAt === 'number' ? nowWall - m.aliveAt : undefined;
  } catch {
    return undefined;
  }
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
  /** The graceful restart mark (none without a run directory). */
  private readonly markPath: string | undefined;
  private nextMark = 0;

  constructor(stack: Stack, config: RouterConfig, logger: Logger, runDir?: string) {
    this.stack = stack;
    this.logger = logger;
    this.section = config.bgp!;
    this.config = config;
    this.sink = new RibRouteSink(stack.rib);
    this.markPath = runDir === undefined ? undefined : grMarkPath(runDir, config.name);
    this.engine = this.makeEngine(config, this.findRestart(config));
  }

  /** Whether this process restarted within our Restart Time (a previous process's mark). */
  private findRestart(config: RouterConfig): boolean {
    const gr = config.bgp!.gracefulRestart;
    if (this.markPath === undefined || !gr.enabled || !gr.restart) return false;
    const age = grMarkAge(this.markPath, Date.now());
    if (age === undefined) return false;
    const restarted = age >= 0 && age < gr.restartTime * 1000;
    this.logger.info(
      { protocol: 'bgp', markAgeMs: age, restartTime: gr.restartTime, restarted },
      restarted
        ? 'BGP graceful restart: restarted within the Restart Time (R bit set, selection deferred)'
        : 'BGP graceful restart: the previous process ended too long ago; an ordinary start',
    );
    return restarted;
  }

  /** Rewrites the mark (graceful restart as the Restarting Speaker), or removes it (not). */
  private mark(now: number): void {
    if (this.markPath === undefined) return;
    const gr = this.section.gracefulRestart;
    this.nextMark = now + GR_MARK_MS;
    try {
      if (gr.enabled && gr.restart)
        writeFileSync(this.markPath, `${JSON.stringify({ pid: process.pid, aliveAt: Date.now() })}\n`);
      else rmSync(this.markPath, { force: true });
    } catch (err) {
      this.logger.warn(
        { protocol: 'bgp', err: (err as Error).message },
        'cannot write the graceful restart mark',
      );
    }
  }

  private makeEngine(config: RouterConfig, restarted = false): BgpEngine {
    return new BgpEngine({
      name: 'bgp',
      sockets: this.stack.sockets,
      sink: this.sink,
      config: this.engineConfig(config),
      random: new CryptoRandom(),
      restarted,
      onStateChange: (peer, from, to) => this.stateChanged(peer, from, to),
      onDeferralEnd: (reason) =>
        this.logger.info({ protocol: 'bgp', reason }, 'BGP graceful restart: route selection runs'),
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
      ...(s.gracefulRestart.enabled
        ? {
            gracefulRestart: {
              restartTime: s.gracefulRestart.restartTime,
              staleTime: s.gracefulRestart.staleTime,
              restart: s.gracefulRestart.restart,
              // The F bit (RFC 4724 §3) says forwarding was preserved across the restart. The VR's
              // FIB dies with its process, but a new process has its interfaces, connected and
              // static routes back before BGP starts: what it originates is forwarded again by
              // the time a peer reads this OPEN. Routes it passes on from other peers are not,
              // until they are learned again (the selection deferral, bounded by the peers'
              // End-of-RIB). We set it, as FRR does with preserve-fw-state: without it every
              // peer drops all our routes at reconnection, a certain outage of our own prefixes
              // against a short one of the transit ones. While the process is down, nothing
              // forwards either way.
              forwardingState: true,
              selectionDeferralTime: s.gracefulRestart.selectionDeferralTime,
            },
          }
        : {}),
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
    this.mark(now);
    this.engine.start(now);
    this.sync(now);
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
    this.mark(now);
    this.sync(now);
    return changes;
  }

  /**
   * The VR stops. As a Restarting Speaker (gracefulRestart.restart) the sessions are closed without
   * a NOTIFICATION and the mark is left: peers keep our routes for our Restart Time, and a process
   * started within it (nexthopd's restart) restarts gracefully. Otherwise a Cease to each peer.
   */
  stop(now: number): void {
    const gr = this.section.gracefulRestart;
    const graceful = gr.enabled && gr.restart;
    if (graceful) this.mark(now);
    this.engine.stop(now, 'router stopping', graceful);
    this.sink.removeAll();
  }

  /** BGP is removed from the config: a Cease to each peer, and no mark left. */
  remove(now: number): void {
    this.engine.stop(now, 'router stopping');
    this.sink.removeAll();
    if (this.markPath !== undefined) rmSync(this.markPath, { force: true });
  }

  socketEvent(fd: number, events: number, now: number): boolean {
    return this.engine.socketEvent(fd, events, now);
  }

  poll(now: number): number {
    if (now >= this.nextMark && this.section.gracefulRestart.restart) this.mark(now);
    const next = this.engine.poll(now);
    return this.section.gracefulRestart.restart && this.markPath !== undefined
      ? Math.min(next, this.nextMark)
      : next;
  }

  /** Whether the RIB needs a flush (routes came or went since the last call). */
  takeRibChanges(): boolean {
    return this.sink.takeDirty();
  }

  /**
   * Brings what BGP announces in line with `networks` and `redistribute`: called at start, after
   * an apply and when an interface comes or goes (connected and static routes change only then).
   */
  sync(_now: number): void {
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
