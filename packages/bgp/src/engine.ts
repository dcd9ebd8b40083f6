// The BGP protocol instance: listeners on port 179 (both families), the peers and their sessions,
// the Loc-RIB (the best of the peers' routes and ours, handed to the RouteSink and advertised to
// the peers), and the lifecycle of the protocol framework (protocol.ts). Sans-IO.

import { AttributeTable, makeAttributes, type PathAttributes } from './attributes.ts';
import { type Candidate, LOCAL_SOURCE } from './decision.ts';
import { LocRib, type RibEntry } from './loc-rib.ts';
import type { ImportedRoute, RouteSink } from './policy.ts';
import {
  EAGAIN,
  type Endpoint,
  type ProtocolInstance,
  type ProtocolSockets,
  type ProtocolState,
} from './protocol.ts';
import { type BgpRouteShow, listRoutes, type RouteFilter } from './route-show.ts';
import {
  addressText,
  BgpPeer,
  type BgpPeerConfig,
  type BgpState,
  CEASE_ADMIN_SHUTDOWN,
  CEASE_MAX_PREFIXES,
  CEASE_OTHER_CONFIG_CHANGE,
  CEASE_PEER_DECONFIGURED,
  type Connection,
  type EngineContext,
  type Export4,
  type Export6,
  type GracefulRestartConfig,
  isMapped,
  key4,
  key6,
  type LearnedRoute,
  mappedV4,
  md5Key,
  md5Peer,
  type PeerShow,
} from './session.ts';

export interface BgpConfig {
  readonly localAs: number;
  /** BGP Identifier (RFC 6286), non-zero. */
  readonly routerId: number;
  /** Port to listen on (179); tests may pick another. */
  readonly port?: number;
  /** Listen for connections (default true); a config of only active peers may turn it off. */
  readonly listen?: boolean;
  /** RFC 4456 §7 CLUSTER_ID of our route reflection (default: the router id). */
  readonly clusterId?: number;
  /** RFC 4724 graceful restart; absent: no capability, and a peer's routes go with its session. */
  readonly gracefulRestart?: GracefulRestartConfig;
  readonly peers: readonly BgpPeerConfig[];
}

export interface BgpEngineOptions {
  readonly name?: string;
  readonly sockets: ProtocolSockets;
  readonly sink: RouteSink;
  readonly config: BgpConfig;
  /** Random source for timer jitter (RFC 4271 §10); none: no jitter (deterministic tests). */
  readonly random?: { next32(): number };
  /** Every state change of a peer (logging, golden tests). */
  readonly onStateChange?: (peer: string, from: BgpState, to: BgpState, now: number) => void;
  /**
   * This instance replaces one that ended without closing its sessions (a crashed or restarted
   * process, within our Restart Time): with `gracefulRestart.restart`, the Restarting Speaker of
   * RFC 4724 §4.1 — the R bit in our OPENs, route selection deferred until the peers' End-of-RIB.
   */
  readonly restarted?: boolean;
  /** Selection deferral ended (after a restart): why, for the log. */
  readonly onDeferralEnd?: (reason: 'end-of-rib' | 'timer', now: number) => void;
}

export interface BgpShow {
  name: string;
  state: ProtocolState;
  localAs: number;
  routerId: string;
  clusterId: string;
  /** Routes we originate (announce4/6). */
  exported: { ipv4: number; ipv6: number };
  /** Prefixes in the Loc-RIB (ours and the peers'). */
  prefixes: { ipv4: number; ipv6: number };
  /** RFC 4724: our settings, and whether we are deferring selection after a restart (§4.1). */
  gracefulRestart: {
    enabled: boolean;
    restart: boolean;
    restartTime: number | null;
    staleTime: number | null;
    restarted: boolean;
    deferring: boolean;
    /** Seconds left on the selection deferral timer. */
    deferralTimer: number | null;
  };
  peers: PeerShow[];
}

/** Peer settings that need a new session when they change (the others apply in place). */
const SESSION_KEYS = [
  'remoteAs',
  'passive',
  'port',
  'holdTime',
  'keepalive',
  'gtsm',
  'password',
] as const satisfies readonly (keyof BgpPeerConfig)[];

function sameAddress(a: number | Uint8Array | undefined, b: number | Uint8Array | undefined): boolean {
  if (typeof a !== 'object' || typeof b !== 'object') return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameSession(a: BgpPeerConfig, b: BgpPeerConfig): boolean {
  if (!sameAddress(a.address, b.address) || !sameAddress(a.localAddress, b.localAddress)) return false;
  for (const k of SESSION_KEYS) if (a[k] !== b[k]) return false;
  return (a.families ?? ['ipv4', 'ipv6']).join() === (b.families ?? ['ipv4', 'ipv6']).join();
}

export class BgpEngine implements ProtocolInstance<BgpConfig, BgpShow>, EngineContext {
  readonly kind = 'bgp';
  readonly name: string;
  readonly sockets: ProtocolSockets;
  readonly sink: RouteSink;
  readonly table = new AttributeTable();
  /** The routes we originate (also candidates in the Loc-RIB). */
  readonly exports4 = new Map<number, Export4>();
  readonly exports6 = new Map<string, Export6>();
  readonly rib4 = new LocRib<number, number, number>();
  readonly rib6 = new LocRib<string, Uint8Array, Uint8Array>();
  /** The latest time an entry point was given: announce/withdraw take none. */
  private lastNow = 0;
  private config: BgpConfig;
  private readonly peers = new Map<string, BgpPeer>();
  private readonly byFd = new Map<number, Connection>();
  private listen4 = -1;
  private listen6 = -1;
  private _state: ProtocolState = 'down';
  private readonly random: { next32(): number } | undefined;
  private readonly onStateChange: BgpEngineOptions['onStateChange'];
  /** Re-entrancy: socket events delivered while the engine is inside a call wait for its end. */
  private depth = 0;
  private readonly deferred: [number, number][] = [];
  /** Connections accepted from addresses of no peer. */
  unknownPeerConnections = 0;
  /** RFC 4724 §4.1: we restarted and defer route selection until this deadline or End-of-RIB. */
  private _deferring: boolean;
  private readonly restarted: boolean;
  private deferralDeadline = Infinity;
  private readonly onDeferralEnd: BgpEngineOptions['onDeferralEnd'];

  constructor(options: BgpEngineOptions) {
    this.name = options.name ?? 'bgp';
    this.sockets = options.sockets;
    this.sink = options.sink;
    this.config = options.config;
    this.random = options.random;
    this.onStateChange = options.onStateChange;
    this.onDeferralEnd = options.onDeferralEnd;
    this.restarted = options.restarted === true && options.config.gracefulRestart?.restart === true;
    this._deferring = this.restarted;
    if (options.config.routerId === 0) throw new RangeError('the BGP identifier must be non-zero');
    for (const p of options.config.peers) this.addPeer(p);
  }

  get state(): ProtocolState {
    return this._state;
  }
  get localAs(): number {
    return this.config.localAs;
  }
  get routerId(): number {
    return this.config.routerId;
  }
  get clusterId(): number {
    return (this.config.clusterId ?? this.config.routerId) >>> 0;
  }
  get gracefulRestart(): GracefulRestartConfig | undefined {
    return this.config.gracefulRestart;
  }
  get deferring(): boolean {
    return this._deferring;
  }

  peer(name: string): BgpPeer | undefined {
    return this.peers.get(name);
  }

  private addPeer(cfg: BgpPeerConfig): BgpPeer {
    if (this.peers.has(cfg.name)) throw new RangeError(`peer ${cfg.name} is configured twice`);
    if (cfg.holdTime === 1 || cfg.holdTime === 2)
      throw new RangeError('a hold time of 1 or 2 s is not allowed');
    const p = new BgpPeer(this, cfg);
    this.peers.set(cfg.name, p);
    return p;
  }

  // ---- EngineContext ----

  own(fd: number, conn: Connection | null): void {
    if (conn === null) this.byFd.delete(fd);
    else this.byFd.set(fd, conn);
  }

  stateChanged(peer: BgpPeer, from: BgpState, to: BgpState, now: number): void {
    this.onStateChange?.(peer.cfg.name, from, to, now);
  }

  jitter(): number {
    return this.random === undefined ? 1 : 0.75 + (this.random.next32() >>> 0) / 2 ** 34;
  }

  /**
   * RFC 4724 §4.1: selection deferral ends once every established peer has sent End-of-RIB for
   * each family (peers without the capability, or restarting themselves, are not waited for). Only
   * established sessions count, as in FRR: a peer that stays down would otherwise hold every route
   * for the whole deferral time. At least one session must be up.
   */
  initialRibChanged(now: number): void {
    if (!this._deferring) return;
    let any = false;
    for (const p of this.peers.values()) {
      if (p.session === undefined) continue;
      if (!p.initialRibDone) return;
      any = true;
    }
    if (any) this.endDeferral('end-of-rib', now);
  }

  /** Selection runs: the best routes go to the sink, and to the peers with their End-of-RIB. */
  private endDeferral(reason: 'end-of-rib' | 'timer', now: number): void {
    this._deferring = false;
    this.deferralDeadline = Infinity;
    for (const e of this.rib4.values()) this.install(e, now, this.sink.update4.bind(this.sink));
    for (const e of this.rib6.values()) this.install(e, now, this.sink.update6.bind(this.sink));
    for (const p of this.peers.values()) if (p.session !== undefined) p.markAllDirty(0);
    this.onDeferralEnd?.(reason, now);
  }

  private install<N, A>(
    e: RibEntry<N, A>,
    now: number,
    update: (source: string, network: N, length: number, r: ImportedRoute<A> | null, now: number) => void,
  ): void {
    const best = e.best;
    if (best !== undefined && !best.source.local) {
      update(this.name, e.network, e.length, installed(best), now);
      e.installed = true;
    } else if (e.installed) {
      update(this.name, e.network, e.length, null, now);
      e.installed = false;
    }
  }

  learn4(
    peer: BgpPeer,
    k: number,
    network: number,
    length: number,
    r: LearnedRoute<number> | null,
    now: number,
  ): void {
    const e =
      r === null
        ? this.rib4.remove(k, peer)
        : this.rib4.set(k, network, length, { source: peer, attrs: r.attrs, nextHop: r.nextHop, since: now });
    if (e !== undefined) this.bestChanged4(k, e, now);
  }

  learn6(
    peer: BgpPeer,
    k: string,
    network: Uint8Array,
    length: number,
    r: LearnedRoute<Uint8Array> | null,
    now: number,
  ): void {
    const e =
      r === null
        ? this.rib6.remove(k, peer)
        : this.rib6.set(k, network, length, { source: peer, attrs: r.attrs, nextHop: r.nextHop, since: now });
    if (e !== undefined) this.bestChanged6(k, e, now);
  }

  /**
   * A prefix's best route changed: the sink gets the new best (one source, the engine's name; our
   * own routes are not handed back), and the peers re-evaluate what they advertise of it.
   */
  private bestChanged4(k: number, e: RibEntry<number, number>, now: number): void {
    // Deferring after a restart (RFC 4724 §4.1): the RIB keeps what it has, endDeferral installs.
    if (!this._deferring) this.install(e, now, this.sink.update4.bind(this.sink));
    for (const p of this.peers.values()) if (p.session !== undefined) p.dirty4.add(k);
  }

  private bestChanged6(k: string, e: RibEntry<Uint8Array, Uint8Array>, now: number): void {
    if (!this._deferring) this.install(e, now, this.sink.update6.bind(this.sink));
    for (const p of this.peers.values()) if (p.session !== undefined) p.dirty6.add(k);
  }

  // ---- lifecycle ----

  start(now: number): void {
    this.lastNow = now;
    if (this._state !== 'down') return;
    this._state = 'up';
    if (this._deferring)
      this.deferralDeadline = now + (this.config.gracefulRestart?.selectionDeferralTime ?? 360) * 1000;
    this.enter();
    try {
      if (this.config.listen !== false) this.openListeners(now);
      for (const p of this.peers.values()) p.start(now);
    } finally {
      this.leave(now);
    }
  }

  private openListeners(now: number): void {
    const so = this.sockets;
    const port = this.config.port ?? 179;
    const fd4 = so.socket('stream', 0, 4);
    if (fd4 >= 0 && so.bind(fd4, 0, port) === 0 && so.listen(fd4, 16) === 0) this.listen4 = fd4;
    else if (fd4 >= 0) so.close(fd4, now);
    const fd6 = so.socket('stream', 0, 6);
    if (fd6 < 0) return;
    so.setOption(fd6, 'IPV6_V6ONLY', 1);
    if (so.bind6(fd6, new Uint8Array(16), port) === 0 && so.listen(fd6, 16) === 0) this.listen6 = fd6;
    else so.close(fd6, now);
    this.syncListenerKeys(null);
  }

  /**
   * RFC 2385 keys on the listeners: one per peer with a password, so that its SYN is checked and
   * the connection accepted from it signed. `old` is the configuration the keys were set for.
   */
  private syncListenerKeys(old: BgpConfig | null): void {
    const keyed = (c: BgpConfig | null) =>
      new Map(
        (c?.peers ?? [])
          .filter((p) => p.password !== undefined)
          .map((p) => [addressText(p.address), p] as const),
      );
    const before = keyed(old);
    const after = keyed(this.config);
    const listener = (p: BgpPeerConfig) => (typeof p.address === 'number' ? this.listen4 : this.listen6);
    for (const [addr, p] of before) {
      const fd = listener(p);
      if (fd >= 0 && !after.has(addr)) this.sockets.setTcpMd5Key(fd, md5Peer(p.address), null);
    }
    for (const [addr, p] of after) {
      const fd = listener(p);
      if (fd < 0 || before.get(addr)?.password === p.password) continue;
      this.sockets.setTcpMd5Key(fd, md5Peer(p.address), md5Key(p.password!));
    }
  }

  /**
   * `graceful`: the sessions are closed without a NOTIFICATION, as a process that dies would leave
   * them, so that the peers that took our graceful restart capability keep our routes while we
   * restart (RFC 4724 §4.1; FRR's bgpd does the same on shutdown with graceful restart on).
   */
  stop(now: number, reason?: string, graceful = false): void {
    this.lastNow = now;
    if (this._state === 'down') return;
    this._state = 'stopping';
    this.enter();
    try {
      for (const p of this.peers.values())
        if (graceful) p.abandon(now);
        else p.stop(now, CEASE_ADMIN_SHUTDOWN, reason);
      for (const fd of [this.listen4, this.listen6]) if (fd >= 0) this.sockets.close(fd, now);
      this.listen4 = this.listen6 = -1;
    } finally {
      this.leave(now);
    }
    this._state = 'down';
  }

  /**
   * Applies a configuration in place: peers added start, peers removed stop (Cease/3), peers whose
   * session settings changed restart (Cease/6); policies and limits change without a reset (the
   * Adj-RIB-In is filtered again, exports re-sent as differences). Returns false when the
   * instance itself must restart (local AS, router id or port changed).
   */
  reconfigure(config: BgpConfig, now: number): boolean {
    const old = this.config;
    if (config.localAs !== old.localAs || config.routerId !== old.routerId || config.port !== old.port)
      return false;
    if ((config.listen ?? true) !== (old.listen ?? true)) return false;
    const names = new Set(config.peers.map((p) => p.name));
    if (names.size !== config.peers.length) return false;
    this.lastNow = now;
    const clusterChanged = (config.clusterId ?? config.routerId) !== (old.clusterId ?? old.routerId);
    // Who is a client changes what every iBGP peer is sent (RFC 4456 §6), not only that peer.
    let reflectionChanged = clusterChanged;
    this.config = config;
    this.syncListenerKeys(old);
    this.enter();
    try {
      for (const [name, p] of this.peers) {
        if (names.has(name)) continue;
        p.stop(now, CEASE_PEER_DECONFIGURED);
        this.peers.delete(name);
      }
      for (const cfg of config.peers) {
        const p = this.peers.get(cfg.name);
        if (p === undefined) {
          const np = this.addPeer(cfg);
          if (this._state === 'up') np.start(now);
          continue;
        }
        const before = p.cfg;
        if (!sameSession(before, cfg)) {
          p.stop(now, CEASE_OTHER_CONFIG_CHANGE);
          p.cfg = cfg;
          if (this._state === 'up') p.start(now);
          continue;
        }
        p.cfg = cfg;
        if (before.import !== cfg.import) p.reimport(now);
        if ((before.routeReflectorClient ?? false) !== (cfg.routeReflectorClient ?? false))
          reflectionChanged = true;
        if (
          before.export !== cfg.export ||
          before.nextHopSelf !== cfg.nextHopSelf ||
          !sameAddress(before.nextHop4, cfg.nextHop4) ||
          !sameAddress(before.nextHop6, cfg.nextHop6)
        )
          p.markAllDirty(0);
        const max = cfg.maxPrefixes;
        if (max !== undefined && p.in4.size + p.in6.size > max && p.session !== undefined) {
          p.stop(now, CEASE_MAX_PREFIXES);
          p.start(now);
        }
      }
      // RFC 4456 §8: routes refused for carrying our old CLUSTER_ID may be taken now, and the
      // other way round; the Adj-RIB-In has them all.
      if (clusterChanged) for (const p of this.peers.values()) p.reimport(now);
      if (reflectionChanged) for (const p of this.peers.values()) p.markAllDirty(0);
    } finally {
      this.leave(now);
    }
    return true;
  }

  // ---- events ----

  private enter(): void {
    this.depth++;
  }

  /** Ends an entry point: socket events that came meanwhile, then exports waiting to go out. */
  private leave(now: number): void {
    if (this.depth > 1) {
      this.depth--;
      return;
    }
    try {
      while (this.deferred.length > 0) {
        const [fd, ev] = this.deferred.shift()!;
        this.dispatch(fd, ev, now);
      }
      for (const p of this.peers.values()) if (p.pending) p.flush(p.session!, now);
    } finally {
      this.depth--;
    }
  }

  socketEvent(fd: number, events: number, now: number): boolean {
    this.lastNow = now;
    const mine = fd === this.listen4 || fd === this.listen6 || this.byFd.has(fd);
    if (!mine) return false;
    if (this.depth > 0) {
      this.deferred.push([fd, events]);
      return true;
    }
    this.enter();
    try {
      this.dispatch(fd, events, now);
    } finally {
      this.leave(now);
    }
    return true;
  }

  private dispatch(fd: number, events: number, now: number): void {
    if (fd === this.listen4 || fd === this.listen6) {
      this.acceptAll(fd, now);
      return;
    }
    const c = this.byFd.get(fd);
    if (c !== undefined) c.peer.socketEvent(c, events, now);
  }

  private acceptAll(fd: number, now: number): void {
    const so = this.sockets;
    for (;;) {
      const ep: Endpoint = { family: 4, addr: 0, addr6: new Uint8Array(16), port: 0 };
      const conn = so.accept(fd, now, ep);
      if (conn === -EAGAIN || conn < 0) return;
      const addr: number | Uint8Array =
        ep.family === 4 ? ep.addr >>> 0 : isMapped(ep.addr6) ? mappedV4(ep.addr6) : ep.addr6.slice();
      let peer: BgpPeer | undefined;
      for (const p of this.peers.values()) if (p.matches(addr)) peer = p;
      if (peer === undefined) {
        this.unknownPeerConnections++;
        so.close(conn, now);
        continue;
      }
      peer.incoming(conn, now);
    }
  }

  poll(now: number): number {
    this.lastNow = now;
    this.enter();
    try {
      if (this.deferralDeadline <= now && this._deferring) this.endDeferral('timer', now);
      for (const p of this.peers.values()) p.poll(now);
    } finally {
      this.leave(now);
    }
    let next = this.deferralDeadline;
    for (const p of this.peers.values()) {
      if (p.pending) return now;
      next = Math.min(next, p.deadline());
    }
    return Math.max(next, now);
  }

  // ---- exports ----

  /** Announces (or replaces) an IPv4 route to the peers; sent at the next poll. */
  announce4(network: number, length: number, attrs: Partial<PathAttributes> = {}): void {
    const x: Export4 = { network: network >>> 0, length, attrs: this.table.intern(makeAttributes(attrs)) };
    const k = key4(x.network, length);
    this.exports4.set(k, x);
    const c: Candidate<number> = {
      source: LOCAL_SOURCE,
      attrs: x.attrs,
      nextHop: undefined,
      since: this.lastNow,
    };
    const e = this.rib4.set(k, x.network, length, c);
    if (e !== undefined) this.bestChanged4(k, e, this.lastNow);
  }

  withdraw4(network: number, length: number): void {
    const k = key4(network >>> 0, length);
    if (!this.exports4.delete(k)) return;
    const e = this.rib4.remove(k, LOCAL_SOURCE);
    if (e !== undefined) this.bestChanged4(k, e, this.lastNow);
  }

  announce6(network: Uint8Array, length: number, attrs: Partial<PathAttributes> = {}): void {
    const k = key6(network, 0, length);
    const x: Export6 = {
      network: network.slice(0, 16),
      length,
      attrs: this.table.intern(makeAttributes(attrs)),
    };
    this.exports6.set(k, x);
    const c: Candidate<Uint8Array> = {
      source: LOCAL_SOURCE,
      attrs: x.attrs,
      nextHop: undefined,
      since: this.lastNow,
    };
    const e = this.rib6.set(k, x.network, length, c);
    if (e !== undefined) this.bestChanged6(k, e, this.lastNow);
  }

  withdraw6(network: Uint8Array, length: number): void {
    const k = key6(network, 0, length);
    if (!this.exports6.delete(k)) return;
    const e = this.rib6.remove(k, LOCAL_SOURCE);
    if (e !== undefined) this.bestChanged6(k, e, this.lastNow);
  }

  /** Asks a peer to send its routes again (RFC 2918). */
  refresh(name: string, now: number): boolean {
    this.lastNow = now;
    const p = this.peers.get(name);
    if (p === undefined) return false;
    this.enter();
    try {
      return p.requestRefresh(now);
    } finally {
      this.leave(now);
    }
  }

  /** Resets one peer's session (Cease/4, Administrative Reset) and starts it again. */
  reset(name: string, now: number): boolean {
    this.lastNow = now;
    const p = this.peers.get(name);
    if (p === undefined) return false;
    this.enter();
    try {
      p.stop(now, 4);
      if (this._state === 'up') p.start(now);
    } finally {
      this.leave(now);
    }
    return true;
  }

  show(now: number): BgpShow {
    const gr = this.config.gracefulRestart;
    return {
      name: this.name,
      state: this._state,
      localAs: this.config.localAs,
      routerId: addressText(this.config.routerId >>> 0),
      clusterId: addressText(this.clusterId),
      exported: { ipv4: this.exports4.size, ipv6: this.exports6.size },
      prefixes: { ipv4: this.rib4.size, ipv6: this.rib6.size },
      gracefulRestart: {
        enabled: gr !== undefined,
        restart: gr?.restart ?? false,
        restartTime: gr?.restartTime ?? null,
        staleTime: gr?.staleTime ?? null,
        restarted: this.restarted,
        deferring: this._deferring,
        deferralTimer:
          this.deferralDeadline === Infinity
            ? null
            : Math.max(0, Math.ceil((this.deferralDeadline - now) / 1000)),
      },
      peers: [...this.peers.values()].map((p) => p.show(now)),
    };
  }

  /**
   * The Loc-RIB for `show bgp routes [PREFIX]`: every candidate of each prefix, the best first; a
   * prefix filter without a length finds the longest prefix holding that address. At most
   * `limit` routes; ages as of `now` (default: the latest time the engine was given).
   */
  routes(filter: RouteFilter = {}, limit = Infinity, now: number = this.lastNow): BgpRouteShow[] {
    return listRoutes(this.rib4, this.rib6, filter, limit, now);
  }
}

/** The RouteSink's view of a best route. */
function installed<A>(best: Candidate<A>): ImportedRoute<A> {
  return { nextHop: best.nextHop!, attrs: best.attrs, ibgp: best.source.ibgp };
}
