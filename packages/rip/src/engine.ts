// One distance-vector engine for RIPv2 (RFC 2453) and RIPng (RFC 2080): the family (RipFamily) is
// the only difference. Sans-IO: every call takes `now` (ms), `poll` returns the next deadline, the
// network is reached through `RipSockets` (the stack's SocketLayer satisfies it) and the routes it
// learns go to a `RipRouteSink`.
//
// - One UDP socket on port 520 (521), joined to 224.0.0.9 (ff02::9) on each RIP interface; what it
//   receives says on which interface (RecvMeta.ifIndex) and, for IPv6, with which hop limit.
// - Responses: the whole table on every non-passive interface every `update` seconds, offset by a
//   random ±1/6 of it (RFC 2453 §3.8: 30 s ± 5 s), and triggered updates of the changed routes only
//   (§3.10.1), the next one held for a random 1–5 s after each, suppressed when the regular update
//   comes first. Split horizon with poisoned reverse by default (§3.4.3).
// - Routes: a learned route lives `timeout` seconds after its last refresh, then is deleted
//   (metric 16, out of the RIB, advertised as unreachable) and forgotten `garbage` seconds later
//   (§3.8); a better metric from another router replaces it, its own router's news always does.
// - Requests: the whole table (answered with split horizon, as an update for that neighbour) or
//   specific entries (their metrics, no split horizon: §3.9.1); a request goes out on every
//   interface at start and when an interface comes up.
// - Own routes (`setLocalRoutes`: the connected networks of the RIP interfaces, redistributed ones)
//   are advertised with their metric and always win over learned ones.
import type {
  DatagramMeta,
  DatagramSockets,
  Membership,
  ProtocolInstance,
  ProtocolState,
} from '@nexthop/protocol';
import { EV_READABLE } from '@nexthop/protocol';
import {
  RIP_DROP_REASONS,
  RIP_INFINITY,
  RIP_REQUEST,
  RIP_RESPONSE,
  type RipDropReason,
  type RipEntry,
  type RipKey,
  type RipMessage,
} from './codec.ts';
import { IPV4_FAMILY, IPV6_FAMILY, isLinkLocalIpv6, type RipFamily } from './family.ts';

/** A group membership, as the stack takes it. */
export type RipMembership = Membership;

export type RipSocketOption =
  | 'SO_REUSEADDR'
  | 'IP_ADD_MEMBERSHIP'
  | 'IP_DROP_MEMBERSHIP'
  | 'IP_MULTICAST_IF'
  | 'IP_MULTICAST_TTL'
  | 'IP_MULTICAST_LOOP'
  | 'IPV6_V6ONLY'
  | 'IPV6_JOIN_GROUP'
  | 'IPV6_LEAVE_GROUP'
  | 'IPV6_MULTICAST_IF'
  | 'IPV6_MULTICAST_HOPS'
  | 'IPV6_MULTICAST_LOOP'
  | 'IPV6_UNICAST_HOPS';

export type RipRecvMeta = DatagramMeta;

/** The socket calls RIP makes (UDP 520 and 521). */
export type RipSockets = DatagramSockets<RipSocketOption>;

/** Where learned routes go (the VR's RIB); null withdraws. */
export interface RipRouteSink<A> {
  update(
    network: A,
    length: number,
    route: { nextHop: A; ifIndex: number; metric: number } | null,
    now: number,
  ): void;
}

export type SplitHorizon = 'poisoned-reverse' | 'simple' | 'none';

export interface RipInterfaceConfig {
  /** The stack's interface name (group joins, IP_MULTICAST_IF). */
  name: string;
  ifIndex: number;
  /** Added to the metric of every route received on it (1..15; RFC 2453 §3.6). */
  cost: number;
  /** Receives but sends nothing (nor answers requests). */
  passive: boolean;
  splitHorizon: SplitHorizon;
  /** RIPv2 authentication keys (RFC 4822): the first signs what we send; any of them may verify. */
  keys: readonly RipKey[];
  mtu: number;
}

export interface RipTimers {
  /** Seconds between regular updates (30). */
  update: number;
  /** Seconds a learned route lives without a refresh (180). */
  timeout: number;
  /** Seconds a deleted route is still advertised as unreachable (120). */
  garbage: number;
}

export const DEFAULT_TIMERS: RipTimers = { update: 30, timeout: 180, garbage: 120 };

export interface RipConfig {
  interfaces: readonly RipInterfaceConfig[];
  timers: RipTimers;
}

/** An interface's state as the host sees it: up or not, and our addresses on it with their lengths. */
export interface RipInterfaceState<A> {
  up: boolean;
  addresses: readonly { address: A; length: number }[];
}

/** A route we originate (connected or redistributed). */
export interface RipLocalRoute<A> {
  network: A;
  length: number;
  metric: number;
  tag: number;
  /** What it came from, for show: 'connected', 'static', … */
  origin: string;
}

export interface RandomSource {
  next32(): number;
}

export interface RipEngineOptions<A> {
  name: string;
  family: 4 | 6;
  sockets: RipSockets;
  sink: RipRouteSink<A>;
  config: RipConfig;
  random: RandomSource;
  /** The first authentication sequence number (the VR passes wall-clock seconds, so that it grows across restarts). */
  sequenceBase?: number;
}

interface Route<A> {
  readonly key: string;
  readonly network: A;
  readonly length: number;
  metric: number;
  nextHop: A;
  /** The interface it was learned on; -1 for our own. */
  ifIndex: number;
  /** The neighbour it came from; null for our own. */
  from: A | null;
  tag: number;
  origin: string;
  /** When it was learned or last refreshed. */
  updatedAt: number;
  /** Timeout deadline (learned, reachable); Infinity otherwise. */
  expiresAt: number;
  /** Garbage collection deadline (deleted); Infinity otherwise. */
  gcAt: number;
  /** The route change flag (§3.10.1). */
  changed: boolean;
  /** Whether the sink holds it. */
  inSink: boolean;
}

export interface RipCounters {
  inResponses: number;
  inRequests: number;
  outResponses: number;
  outRequests: number;
  triggeredUpdates: number;
  sendErrors: number;
  drops: Record<RipDropReason, number>;
}

function newCounters(): RipCounters {
  const drops = {} as Record<RipDropReason, number>;
  for (const r of RIP_DROP_REASONS) drops[r] = 0;
  return {
    inResponses: 0,
    inRequests: 0,
    outResponses: 0,
    outRequests: 0,
    triggeredUpdates: 0,
    sendErrors: 0,
    drops,
  };
}

interface Iface<A> {
  config: RipInterfaceConfig;
  state: RipInterfaceState<A>;
  joined: boolean;
  counters: RipCounters;
}

interface Neighbor<A> {
  address: A;
  ifIndex: number;
  lastSeen: number;
  responses: number;
  badPackets: number;
  badRoutes: number;
  /** The last authentication sequence number it sent (RFC 4822 §3.2.2: never lower). */
  sequence: number;
}

export interface RipRouteShow {
  prefix: string;
  metric: number;
  /** Next hop address ('' for our own routes). */
  nextHop: string;
  interface: string;
  /** 'rip' for learned routes, else what we originate it from ('connected', 'static', …). */
  origin: string;
  from: string;
  tag: number;
  /** Seconds since it was learned or refreshed. */
  age: number;
  /** Seconds until it times out (learned, reachable). */
  expiresIn: number | null;
  /** Seconds until it is forgotten (deleted, in garbage collection). */
  garbageIn: number | null;
}

export interface RipNeighborShow {
  address: string;
  interface: string;
  /** Seconds since its last response. */
  lastSeen: number;
  responses: number;
  badPackets: number;
  badRoutes: number;
  sequence: number | null;
}

export interface RipInterfaceShow extends RipCounters {
  name: string;
  up: boolean;
  passive: boolean;
  cost: number;
  splitHorizon: SplitHorizon;
  authentication: string;
}

export interface RipShow {
  name: string;
  protocol: 'ripv2' | 'ripng';
  state: ProtocolState;
  timers: RipTimers;
  /** Seconds until the next regular update; null when stopped. */
  nextUpdateIn: number | null;
  routes: RipRouteShow[];
  neighbors: RipNeighborShow[];
  interfaces: RipInterfaceShow[];
  /** Drops not tied to a RIP interface, and the totals. */
  counters: RipCounters;
}

const RX_BUF = 65536;

export class RipEngine<A extends number | Uint8Array> implements ProtocolInstance<RipConfig, RipShow> {
  readonly kind: 'rip' | 'ripng';
  readonly name: string;
  private readonly fam: RipFamily<A>;
  private readonly sockets: RipSockets;
  private readonly sink: RipRouteSink<A>;
  private readonly random: RandomSource;
  private config: RipConfig;
  private status: ProtocolState = 'down';
  private fd = -1;
  private readonly ifaces = new Map<number, Iface<A>>();
  /** States reported before the interface was configured (or started). */
  private readonly states = new Map<number, RipInterfaceState<A>>();
  private readonly routes = new Map<string, Route<A>>();
  private readonly neighbors = new Map<string, Neighbor<A>>();
  private local: readonly RipLocalRoute<A>[] = [];
  private nextUpdate = Number.POSITIVE_INFINITY;
  private triggerAt = Number.POSITIVE_INFINITY;
  /** A triggered update may not go before this (RFC 2453 §3.10.1: 1–5 s after the last). */
  private triggerHold = 0;
  private sequence: number;
  private readonly rx = new Uint8Array(RX_BUF);
  private readonly meta: RipRecvMeta = {
    family: 4,
    addr: 0,
    addr6: new Uint8Array(16),
    port: 0,
    ifIndex: -1,
    dst: 0,
    dst6: new Uint8Array(16),
    hopLimit: -1,
    length: 0,
    truncated: false,
  };
  private readonly counters = newCounters();

  constructor(options: RipEngineOptions<A>) {
    this.name = options.name;
    this.fam = (options.family === 4 ? IPV4_FAMILY : IPV6_FAMILY) as unknown as RipFamily<A>;
    this.kind = options.family === 4 ? 'rip' : 'ripng';
    this.sockets = options.sockets;
    this.sink = options.sink;
    this.random = options.random;
    this.config = options.config;
    this.sequence = (options.sequenceBase ?? 0) >>> 0;
    for (const c of options.config.interfaces) this.addIface(c);
  }

  get state(): ProtocolState {
    return this.status;
  }

  get family(): 4 | 6 {
    return this.fam.family;
  }

  // --- lifecycle ---------------------------------------------------------------------------------

  start(now: number): void {
    if (this.status !== 'down') return;
    const s = this.sockets;
    const fam = this.fam;
    const fd = s.socket('dgram', 0, fam.family);
    if (fd < 0) throw new Error(`${this.name}: no socket (${fd})`);
    this.fd = fd;
    s.setOption(fd, 'SO_REUSEADDR', 1);
    if (fam.family === 4) {
      s.setOption(fd, 'IP_MULTICAST_LOOP', 0);
      s.setOption(fd, 'IP_MULTICAST_TTL', 1);
      const r = s.bind(fd, 0, fam.port);
      if (r < 0) throw new Error(`${this.name}: cannot bind port ${fam.port} (${r})`);
    } else {
      s.setOption(fd, 'IPV6_V6ONLY', 1);
      // RFC 2080 §2.5: sent with hop limit 255, so that a receiver can tell it came from the link.
      s.setOption(fd, 'IPV6_MULTICAST_HOPS', 255);
      s.setOption(fd, 'IPV6_UNICAST_HOPS', 255);
      s.setOption(fd, 'IPV6_MULTICAST_LOOP', 0);
      const r = s.bind6(fd, new Uint8Array(16), fam.port);
      if (r < 0) throw new Error(`${this.name}: cannot bind port ${fam.port} (${r})`);
    }
    this.status = 'up';
    for (const i of this.ifaces.values()) this.activate(i, now);
    this.nextUpdate = now + this.jitteredUpdate();
  }

  stop(now: number, _reason?: string): void {
    if (this.status === 'down') return;
    // RFC 2453 §3.10.1 suggests nothing here; like FRR and BIRD, tell the neighbours our routes are
    // gone (metric 16) so that they need not wait for the timeout.
    for (const r of this.routes.values()) {
      if (r.from === null) {
        r.metric = RIP_INFINITY;
        r.changed = true;
      }
    }
    this.sendUpdates(now, true);
    for (const r of this.routes.values()) this.toSink(r, false, now);
    this.routes.clear();
    for (const i of this.ifaces.values()) this.leave(i);
    this.sockets.close(this.fd, now);
    this.fd = -1;
    this.status = 'down';
    this.nextUpdate = Number.POSITIVE_INFINITY;
    this.triggerAt = Number.POSITIVE_INFINITY;
  }

  reconfigure(config: RipConfig, now: number): boolean {
    const old = new Map(this.ifaces);
    for (const c of config.interfaces) {
      const i = old.get(c.ifIndex);
      old.delete(c.ifIndex);
      if (i === undefined) {
        const added = this.addIface(c);
        if (this.status === 'up') this.activate(added, now);
        continue;
      }
      if (i.config.name !== c.name && i.joined) this.leave(i);
      const wasPassive = i.config.passive;
      i.config = c;
      if (this.status === 'up' && !i.joined) this.activate(i, now);
      else if (wasPassive && !c.passive && this.status === 'up') this.sendTable(i, now, null, 0);
    }
    for (const i of old.values()) this.removeIface(i, now);
    const t = this.config.timers;
    this.config = config;
    if (this.status === 'up' && t.update !== config.timers.update)
      this.nextUpdate = Math.min(this.nextUpdate, now + this.jitteredUpdate());
    return true;
  }

  // --- the host's news ---------------------------------------------------------------------------

  /** An interface's state (up, addresses); routes learned on it go when it goes down. */
  setInterfaceState(ifIndex: number, state: RipInterfaceState<A>, now: number): void {
    this.states.set(ifIndex, state);
    const i = this.ifaces.get(ifIndex);
    if (i === undefined) return;
    const wasUp = this.usable(i);
    i.state = state;
    if (this.status !== 'up') return;
    if (!wasUp && this.usable(i)) this.activate(i, now);
    else if (wasUp && !this.usable(i)) this.dropLearnedOn(ifIndex, now);
  }

  /** The routes we originate; differences become triggered updates. */
  setLocalRoutes(routes: readonly RipLocalRoute<A>[], now: number): void {
    this.local = routes;
    const want = new Map<string, RipLocalRoute<A>>();
    for (const r of routes) want.set(this.fam.key(r.network, r.length), r);
    for (const r of this.routes.values()) {
      if (r.from !== null || r.metric >= RIP_INFINITY) continue;
      if (want.has(r.key)) continue;
      // No longer ours: advertised as unreachable until garbage collection.
      r.metric = RIP_INFINITY;
      r.gcAt = now + this.config.timers.garbage * 1000;
      this.markChanged(r, now);
    }
    for (const [key, l] of want) {
      const r = this.routes.get(key);
      if (
        r !== undefined &&
        r.from === null &&
        r.metric === l.metric &&
        r.tag === l.tag &&
        r.origin === l.origin
      )
        continue;
      if (r !== undefined) this.toSink(r, false, now);
      const mine: Route<A> = {
        key,
        network: this.fam.copy(l.network),
        length: l.length,
        metric: l.metric,
        nextHop: this.fam.zero,
        ifIndex: -1,
        from: null,
        tag: l.tag,
        origin: l.origin,
        updatedAt: now,
        expiresAt: Number.POSITIVE_INFINITY,
        gcAt: Number.POSITIVE_INFINITY,
        changed: false,
        inSink: false,
      };
      this.routes.set(key, mine);
      this.markChanged(mine, now);
    }
  }

  // --- events and timers -------------------------------------------------------------------------

  socketEvent(fd: number, events: number, now: number): boolean {
    if (fd !== this.fd || fd < 0) return false;
    if ((events & EV_READABLE) === 0) return true;
    const meta = this.meta;
    for (let k = 0; k < 1024; k++) {
      const n = this.sockets.recvFrom(fd, this.rx, 0, RX_BUF, meta);
      if (n < 0) break;
      this.receive(n, now);
    }
    return true;
  }

  poll(now: number): number {
    if (this.status !== 'up') return Number.POSITIVE_INFINITY;
    const garbageMs = this.config.timers.garbage * 1000;
    for (const r of this.routes.values()) {
      if (r.gcAt <= now) {
        this.routes.delete(r.key);
        continue;
      }
      if (r.expiresAt <= now) this.deleteRoute(r, now, garbageMs);
    }
    for (const [k, n] of this.neighbors) {
      if (n.lastSeen + this.config.timers.timeout * 1000 <= now) this.neighbors.delete(k);
    }
    if (now >= this.nextUpdate) {
      this.sendUpdates(now, false);
      this.nextUpdate = now + this.jitteredUpdate();
    } else if (now >= this.triggerAt) {
      if (this.triggerAt !== Number.POSITIVE_INFINITY) this.sendUpdates(now, true);
    }
    let next = Math.min(this.nextUpdate, this.triggerAt);
    for (const r of this.routes.values()) next = Math.min(next, r.expiresAt, r.gcAt);
    for (const n of this.neighbors.values())
      next = Math.min(next, n.lastSeen + this.config.timers.timeout * 1000);
    return Math.max(next, now);
  }

  // --- receiving ---------------------------------------------------------------------------------

  private receive(len: number, now: number): void {
    const meta = this.meta;
    const fam = this.fam;
    const i = this.ifaces.get(meta.ifIndex);
    if (i === undefined || !this.usable(i)) return this.drop(null, 'interface');
    const src = (fam.family === 4 ? meta.addr : meta.addr6.slice()) as A;
    if (this.isOwn(src)) return this.drop(i, 'own');
    if (meta.truncated) return this.drop(i, 'length');
    const parsed = fam.parse(this.rx, 0, len, i.config.keys);
    if (!parsed.ok) {
      this.drop(i, parsed.reason);
      const n = this.neighbors.get(fam.format(src));
      if (n !== undefined) n.badPackets++;
      return;
    }
    const m = parsed.message;
    if (m.command === RIP_REQUEST) {
      i.counters.inRequests++;
      this.counters.inRequests++;
      this.answerRequest(i, m, src, meta.port, now);
      return;
    }
    if (m.command !== RIP_RESPONSE) return;
    // RFC 2453 §3.9.2 / RFC 2080 §2.4.2: from the RIP port, from a neighbour on the link.
    if (meta.port !== fam.port) return this.drop(i, 'port');
    if (fam.family === 6) {
      if (!isLinkLocalIpv6(src as Uint8Array)) return this.drop(i, 'source');
      if (meta.hopLimit !== 255) return this.drop(i, 'hopLimit');
    } else if (!this.onLink(i, src)) return this.drop(i, 'source');
    const key = fam.format(src);
    let n = this.neighbors.get(key);
    if (m.auth !== null && n !== undefined && n.sequence >= 0 && m.auth.sequence < n.sequence)
      return this.drop(i, 'auth');
    if (n === undefined) {
      n = {
        address: src,
        ifIndex: i.config.ifIndex,
        lastSeen: now,
        responses: 0,
        badPackets: 0,
        badRoutes: 0,
        sequence: -1,
      };
      this.neighbors.set(key, n);
    }
    n.lastSeen = now;
    n.ifIndex = i.config.ifIndex;
    n.responses++;
    if (m.auth !== null) n.sequence = m.auth.sequence;
    i.counters.inResponses++;
    this.counters.inResponses++;
    for (const reason of m.entryDrops) {
      n.badRoutes++;
      this.drop(i, reason);
    }
    for (const e of m.entries) this.consider(i, src, e, now);
  }

  /** RFC 2453 §3.9.2: one received route entry. */
  private consider(i: Iface<A>, src: A, e: RipEntry<A>, now: number): void {
    const fam = this.fam;
    const metric = Math.min(e.metric + i.config.cost, RIP_INFINITY);
    const key = fam.key(e.network, e.length);
    const r = this.routes.get(key);
    let nextHop = src;
    if (!fam.isZero(e.nextHop) && !this.isOwn(e.nextHop)) {
      if (fam.family === 6 || this.onLink(i, e.nextHop)) nextHop = fam.copy(e.nextHop);
    }
    const timeoutMs = this.config.timers.timeout * 1000;
    if (r === undefined) {
      if (metric >= RIP_INFINITY) return;
      const fresh: Route<A> = {
        key,
        network: fam.copy(e.network),
        length: e.length,
        metric,
        nextHop,
        ifIndex: i.config.ifIndex,
        from: src,
        tag: e.tag,
        origin: 'rip',
        updatedAt: now,
        expiresAt: now + timeoutMs,
        gcAt: Number.POSITIVE_INFINITY,
        changed: false,
        inSink: false,
      };
      this.routes.set(key, fresh);
      this.toSink(fresh, true, now);
      this.markChanged(fresh, now);
      return;
    }
    if (r.from === null && r.metric < RIP_INFINITY) return; // our own route wins
    const sameRouter = r.from !== null && fam.equal(r.from, src) && r.ifIndex === i.config.ifIndex;
    if (sameRouter) {
      if (metric < RIP_INFINITY) {
        r.expiresAt = now + timeoutMs;
        r.updatedAt = now;
      }
      if (metric === r.metric && fam.equal(r.nextHop, nextHop)) return;
      if (metric >= RIP_INFINITY) {
        if (r.metric < RIP_INFINITY) this.deleteRoute(r, now, this.config.timers.garbage * 1000);
        return;
      }
      this.adopt(r, metric, nextHop, i, src, e.tag, now);
      return;
    }
    if (metric < r.metric) this.adopt(r, metric, nextHop, i, src, e.tag, now);
  }

  private adopt(
    r: Route<A>,
    metric: number,
    nextHop: A,
    i: Iface<A>,
    src: A,
    tag: number,
    now: number,
  ): void {
    r.metric = metric;
    r.nextHop = nextHop;
    r.ifIndex = i.config.ifIndex;
    r.from = src;
    r.tag = tag;
    r.origin = 'rip';
    r.updatedAt = now;
    r.expiresAt = now + this.config.timers.timeout * 1000;
    r.gcAt = Number.POSITIVE_INFINITY;
    this.toSink(r, true, now);
    this.markChanged(r, now);
  }

  /** RFC 2453 §3.8: the deletion process (metric 16, out of the RIB, garbage collection timer). */
  private deleteRoute(r: Route<A>, now: number, garbageMs: number): void {
    r.metric = RIP_INFINITY;
    r.expiresAt = Number.POSITIVE_INFINITY;
    r.gcAt = now + garbageMs;
    this.toSink(r, false, now);
    this.markChanged(r, now);
  }

  private answerRequest(i: Iface<A>, m: RipMessage<A>, src: A, port: number, now: number): void {
    if (i.config.passive) return;
    if (m.wholeTable) {
      // §3.9.1: the whole table, with split horizon when it is a router asking (from our port).
      this.sendTable(i, now, src, port, port === this.fam.port);
      return;
    }
    if (m.entries.length === 0) return;
    const answer: RipEntry<A>[] = m.entries.map((e) => {
      const r = this.routes.get(this.fam.key(e.network, e.length));
      return { ...e, metric: r === undefined ? RIP_INFINITY : r.metric, nextHop: this.fam.zero };
    });
    this.sendEntries(i, answer, now, src, port);
  }

  // --- sending -----------------------------------------------------------------------------------

  /** A regular update (`triggered` false: every route) or a triggered one (the changed routes). */
  private sendUpdates(now: number, triggered: boolean): void {
    for (const i of this.ifaces.values()) {
      if (!this.usable(i) || i.config.passive) continue;
      const entries = this.tableFor(i, triggered, true);
      if (entries.length === 0) continue;
      if (triggered) {
        i.counters.triggeredUpdates++;
        this.counters.triggeredUpdates++;
      }
      this.sendEntries(i, entries, now, null, 0);
    }
    for (const r of this.routes.values()) r.changed = false;
    this.triggerAt = Number.POSITIVE_INFINITY;
    if (triggered) this.triggerHold = now + 1000 + (this.random.next32() % 4001);
  }

  /** The whole table on one interface (to the group, or to one neighbour). */
  private sendTable(i: Iface<A>, now: number, to: A | null, port: number, splitHorizon = true): void {
    const entries = this.tableFor(i, false, splitHorizon);
    if (entries.length > 0) this.sendEntries(i, entries, now, to, port);
  }

  /** The entries for interface i, split horizon applied (§3.4.3). */
  private tableFor(i: Iface<A>, changedOnly: boolean, splitHorizon: boolean): RipEntry<A>[] {
    const out: RipEntry<A>[] = [];
    const mode = splitHorizon ? i.config.splitHorizon : 'none';
    for (const r of this.routes.values()) {
      if (changedOnly && !r.changed) continue;
      let metric = r.metric;
      if (r.from !== null && r.ifIndex === i.config.ifIndex) {
        if (mode === 'simple') continue;
        if (mode === 'poisoned-reverse') metric = RIP_INFINITY;
      }
      out.push({ network: r.network, length: r.length, metric, nextHop: this.fam.zero, tag: r.tag });
    }
    return out;
  }

  private sendEntries(
    i: Iface<A>,
    entries: readonly RipEntry<A>[],
    now: number,
    to: A | null,
    port: number,
  ): void {
    const fam = this.fam;
    const key = i.config.keys[0] ?? null;
    const per = fam.entriesPerMessage(key !== null, i.config.mtu);
    for (let k = 0; k < entries.length; k += per) {
      const chunk = entries.slice(k, k + per);
      const auth = key === null ? null : { key, sequence: this.nextSequence() };
      this.transmit(i, fam.encode(RIP_RESPONSE, chunk, auth), now, to, port);
      i.counters.outResponses++;
      this.counters.outResponses++;
    }
  }

  private sendRequest(i: Iface<A>, now: number): void {
    if (i.config.passive) return;
    const key = i.config.keys[0] ?? null;
    const auth = key === null ? null : { key, sequence: this.nextSequence() };
    this.transmit(i, this.fam.encode(RIP_REQUEST, [], auth, true), now, null, 0);
    i.counters.outRequests++;
    this.counters.outRequests++;
  }

  private nextSequence(): number {
    this.sequence = (this.sequence + 1) >>> 0;
    return this.sequence;
  }

  private transmit(i: Iface<A>, msg: Uint8Array, now: number, to: A | null, port: number): void {
    const s = this.sockets;
    const fam = this.fam;
    const dst = to ?? fam.group;
    const dport = to === null ? fam.port : port;
    const src = this.sourceOf(i);
    if (src === null) return;
    let r: number;
    if (fam.family === 4) {
      if (to === null) s.setOption(this.fd, 'IP_MULTICAST_IF', i.config.name);
      r = s.sendTo(
        this.fd,
        msg,
        0,
        msg.length,
        dst as number,
        dport,
        now,
        src as number,
        to === null ? -1 : i.config.ifIndex,
      );
    } else {
      r = s.sendTo6(
        this.fd,
        msg,
        0,
        msg.length,
        dst as Uint8Array,
        dport,
        now,
        src as Uint8Array,
        i.config.ifIndex + 1,
      );
    }
    if (r < 0) {
      i.counters.sendErrors++;
      this.counters.sendErrors++;
    }
  }

  // --- helpers -----------------------------------------------------------------------------------

  private addIface(c: RipInterfaceConfig): Iface<A> {
    const i: Iface<A> = {
      config: c,
      state: this.states.get(c.ifIndex) ?? { up: false, addresses: [] },
      joined: false,
      counters: newCounters(),
    };
    this.ifaces.set(c.ifIndex, i);
    return i;
  }

  private removeIface(i: Iface<A>, now: number): void {
    this.leave(i);
    this.ifaces.delete(i.config.ifIndex);
    this.dropLearnedOn(i.config.ifIndex, now);
  }

  /** Joins the group on a usable interface and asks its neighbours for their tables. */
  private activate(i: Iface<A>, now: number): void {
    if (!this.usable(i)) return;
    if (!i.joined) {
      const membership: RipMembership =
        this.fam.family === 4
          ? { group: this.fam.group as number, interface: i.config.name }
          : { group6: this.fam.group as Uint8Array, interface: i.config.name };
      const r = this.sockets.setOption(
        this.fd,
        this.fam.family === 4 ? 'IP_ADD_MEMBERSHIP' : 'IPV6_JOIN_GROUP',
        membership,
      );
      i.joined = r === 0 || r === -98; // EADDRINUSE: already a member
    }
    this.sendRequest(i, now);
    this.sendTable(i, now, null, 0);
  }

  private leave(i: Iface<A>): void {
    if (!i.joined || this.fd < 0) return;
    const membership: RipMembership =
      this.fam.family === 4
        ? { group: this.fam.group as number, interface: i.config.name }
        : { group6: this.fam.group as Uint8Array, interface: i.config.name };
    this.sockets.setOption(
      this.fd,
      this.fam.family === 4 ? 'IP_DROP_MEMBERSHIP' : 'IPV6_LEAVE_GROUP',
      membership,
    );
    i.joined = false;
  }

  private dropLearnedOn(ifIndex: number, now: number): void {
    const garbageMs = this.config.timers.garbage * 1000;
    for (const r of this.routes.values())
      if (r.from !== null && r.ifIndex === ifIndex && r.metric < RIP_INFINITY)
        this.deleteRoute(r, now, garbageMs);
    for (const [k, n] of this.neighbors) if (n.ifIndex === ifIndex) this.neighbors.delete(k);
  }

  private usable(i: Iface<A>): boolean {
    if (!i.state.up) return false;
    if (this.fam.family === 4) return i.state.addresses.length > 0;
    return i.state.addresses.some((a) => isLinkLocalIpv6(a.address as Uint8Array));
  }

  /** Our source address on i: its first IPv4 address, or its link-local one (RFC 2080 §2.5). */
  private sourceOf(i: Iface<A>): A | null {
    if (this.fam.family === 4) return i.state.addresses[0]?.address ?? null;
    return i.state.addresses.find((a) => isLinkLocalIpv6(a.address as Uint8Array))?.address ?? null;
  }

  private isOwn(a: A): boolean {
    for (const i of this.ifaces.values())
      for (const x of i.state.addresses) if (this.fam.equal(x.address, a)) return true;
    return false;
  }

  /** Whether a is on one of i's subnets (RFC 2453 §3.9.2: the sender must be a neighbour). */
  private onLink(i: Iface<A>, a: A): boolean {
    for (const x of i.state.addresses)
      if (x.length < 32 && this.fam.contains(x.address, x.length, a)) return true;
    return false;
  }

  private markChanged(r: Route<A>, now: number): void {
    r.changed = true;
    if (this.status !== 'up' || this.triggerAt !== Number.POSITIVE_INFINITY) return;
    this.triggerAt = Math.max(now, this.triggerHold);
  }

  private toSink(r: Route<A>, present: boolean, now: number): void {
    if (r.from === null) return;
    if (present) {
      r.inSink = true;
      this.sink.update(
        r.network,
        r.length,
        { nextHop: r.nextHop, ifIndex: r.ifIndex, metric: r.metric },
        now,
      );
    } else if (r.inSink) {
      r.inSink = false;
      this.sink.update(r.network, r.length, null, now);
    }
  }

  private drop(i: Iface<A> | null, reason: RipDropReason): void {
    this.counters.drops[reason]++;
    if (i !== null) i.counters.drops[reason]++;
  }

  private jitteredUpdate(): number {
    const base = this.config.timers.update * 1000;
    const spread = Math.floor(base / 6);
    return base - spread + (this.random.next32() % (2 * spread + 1));
  }

  // --- show --------------------------------------------------------------------------------------

  /** The local routes last handed in. */
  get localRoutes(): readonly RipLocalRoute<A>[] {
    return this.local;
  }

  show(now: number): RipShow {
    const fam = this.fam;
    const ifName = (ifIndex: number) =>
      this.ifaces.get(ifIndex)?.config.name ?? (ifIndex < 0 ? '' : `#${ifIndex}`);
    const secs = (ms: number) => Math.max(0, Math.round(ms / 100) / 10);
    const routes: RipRouteShow[] = [...this.routes.values()]
      .sort((a, b) => compareKeys(a, b))
      .map((r) => ({
        prefix: r.key,
        metric: r.metric,
        nextHop: r.from === null ? '' : fam.format(r.nextHop),
        interface: ifName(r.ifIndex),
        origin: r.origin,
        from: r.from === null ? 'self' : fam.format(r.from),
        tag: r.tag,
        age: secs(now - r.updatedAt),
        expiresIn: r.expiresAt === Number.POSITIVE_INFINITY ? null : secs(r.expiresAt - now),
        garbageIn: r.gcAt === Number.POSITIVE_INFINITY ? null : secs(r.gcAt - now),
      }));
    const neighbors: RipNeighborShow[] = [...this.neighbors.values()].map((n) => ({
      address: fam.format(n.address),
      interface: ifName(n.ifIndex),
      lastSeen: secs(now - n.lastSeen),
      responses: n.responses,
      badPackets: n.badPackets,
      badRoutes: n.badRoutes,
      sequence: n.sequence < 0 ? null : n.sequence,
    }));
    const interfaces: RipInterfaceShow[] = [...this.ifaces.values()].map((i) => ({
      name: i.config.name,
      up: this.usable(i),
      passive: i.config.passive,
      cost: i.config.cost,
      splitHorizon: i.config.splitHorizon,
      authentication:
        i.config.keys.length === 0 ? 'none' : i.config.keys.map((k) => `${k.algorithm}:${k.id}`).join(','),
      ...structuredCounters(i.counters),
    }));
    return {
      name: this.name,
      protocol: fam.protocol,
      state: this.status,
      timers: { ...this.config.timers },
      nextUpdateIn: this.nextUpdate === Number.POSITIVE_INFINITY ? null : secs(this.nextUpdate - now),
      routes,
      neighbors,
      interfaces,
      counters: structuredCounters(this.counters),
    };
  }
}

function structuredCounters(c: RipCounters): RipCounters {
  return { ...c, drops: { ...c.drops } };
}

function compareKeys<A extends number | Uint8Array>(a: Route<A>, b: Route<A>): number {
  const x = a.network;
  const y = b.network;
  if (typeof x === 'number' && typeof y === 'number') return x - y || a.length - b.length;
  const u = x as Uint8Array;
  const v = y as Uint8Array;
  for (let i = 0; i < 16; i++) if (u[i] !== v[i]) return u[i]! - v[i]!;
  return a.length - b.length;
}
