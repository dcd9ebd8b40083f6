import {
  DEFAULT_DISTANCE,
  type Family,
  type NextHop,
  type Rib,
  type RouteInfo as RibRouteInfo,
  type RibTable,
  type RouteInput,
  type RouteSource,
} from '@nexthop/rib';

/**
 * The routes the stack itself configures — connected, local and broadcast routes from the
 * interfaces' addresses, static routes from its callers — handed to the VR's RIB (`@nexthop/rib`),
 * which selects, resolves and programs the FIB. One class for both families (`Family` from the
 * RIB), like the RIB itself.
 *
 * The RIB keeps one route per (source, prefix) and knows nothing of interfaces, so this layer:
 * - keeps every configured route per prefix (so that one static route of several can be removed,
 *   and so that `show routes` lists each as configured), and sends the RIB their union per source;
 * - sends only what an up interface can carry: a connected, local or broadcast route, or a static
 *   next hop naming an interface, is withdrawn while the interface is down (`interfaceChanged`),
 *   and a gateway resolved through a connected route stops resolving with it.
 *
 * Sources: `connected:subnets` (the interface's prefix, `{ifIndex}`), `connected:local` (the
 * address and broadcast host routes, `{type: 'local', ifIndex}`, preferred to a subnet route of
 * the same prefix by the RIB's type order), and one `static` source per distance and type (routes
 * of one distance and type to one prefix are one RIB route whose next hops are their union: ECMP;
 * routes of other distances stay behind as floating routes, used when the better ones do not
 * resolve). When two interfaces offer the same connected or local prefix, the one with the lower
 * name is sent, as the table before the RIB chose.
 */

export type RouteProtocol = 'local' | 'connected' | 'static';
export type RouteType = 'unicast' | 'local' | 'broadcast' | 'blackhole' | 'reject';

/** A route as configured. */
export interface RouteSpec<A> {
  /** Host bits zero. */
  network: A;
  length: number;
  protocol: RouteProtocol;
  type: RouteType;
  /** Gateway, null for directly connected. */
  via: A | null;
  /** Egress interface, -1 to resolve through the gateway. */
  ifIndex: number;
  distance: number;
}

/** One row of `show routes`: a configured route and what the RIB made of it. */
export interface RouteInfo {
  prefix: string;
  protocol: RouteProtocol;
  type: RouteType;
  via: string | null;
  /** The interface it leaves by (the first, for a gateway resolved over several), when active. */
  interface: string | null;
  distance: number;
  /** In the FIB (one of the selected routes' next hops). */
  selected: boolean;
  /** Usable: its interface is up, its gateway resolves (discard routes always are). */
  active: boolean;
  // Added with the RIB; optional in the type so that rows made elsewhere (fixtures, older VRs) fit,
  // always present in the stack's own rows but `age`.
  /** The RIB route's metric (0 for the stack's own routes). */
  metric?: number;
  /** The prefix its gateway resolved through (a connected one, or recursively another route). */
  resolvedVia?: string | null;
  /** What it forwards to when active: neighbours (gateway null: the destination itself). */
  hops?: { gateway: string | null; interface: string }[];
  /** Time since the RIB route last changed, in `now`'s unit; only when `routeList` is given `now`. */
  age?: number;
}

export const DISTANCE = { local: 0, connected: 0, static: DEFAULT_DISTANCE.static } as const;

/** What the routes need of the interfaces and the clock. */
export interface RouteEnv {
  interfaceName(ifIndex: number): string;
  /** Up (a removed interface never is). */
  interfaceUp(ifIndex: number): boolean;
  /** The stack's latest time, for the RIB's route ages. */
  now(): number;
}

/** The stack's RIB sources, shared by both families. */
export class StackSources {
  readonly subnets: RouteSource;
  readonly local: RouteSource;
  private readonly rib: Rib;
  private readonly statics = new Map<string, RouteSource>();

  constructor(rib: Rib) {
    this.rib = rib;
    this.subnets = rib.addSource('connected', 'subnets');
    this.local = rib.addSource('connected', 'local');
  }

  /** The static source of a distance and type (made on first use). */
  staticFor(distance: number, type: RouteType): RouteSource {
    const name = type === 'unicast' ? `distance-${distance}` : `distance-${distance}-${type}`;
    let s = this.statics.get(name);
    if (s === undefined) {
      s = this.rib.addSource('static', name, { distance });
      this.statics.set(name, s);
    }
    return s;
  }

  sourceOf(spec: RouteSpec<unknown>): RouteSource {
    if (spec.protocol === 'static') return this.staticFor(spec.distance, spec.type);
    return spec.type === 'local' || spec.type === 'broadcast' ? this.local : this.subnets;
  }
}

interface PrefixRoutes<A> {
  readonly network: A;
  readonly length: number;
  readonly text: string;
  /** As configured, in the order they came (a replaced route keeps its place). */
  specs: RouteSpec<A>[];
  /** What each source was last sent for this prefix (a canonical key). */
  readonly sent: Map<RouteSource, string>;
}

export class StackRoutes<A> {
  private readonly family: Family<A>;
  private readonly table: RibTable<A>;
  private readonly sources: StackSources;
  private readonly env: RouteEnv;
  private readonly prefixes = new Map<string, PrefixRoutes<A>>();

  constructor(table: RibTable<A>, sources: StackSources, env: RouteEnv) {
    this.family = table.family;
    this.table = table;
    this.sources = sources;
    this.env = env;
  }

  /** Adds a route, or replaces the one of the same protocol, type, gateway and interface. */
  add(spec: RouteSpec<A>): void {
    const family = this.family;
    if (
      !family.isValid(spec.network) ||
      !Number.isInteger(spec.length) ||
      spec.length < 0 ||
      spec.length > family.bits
    )
      throw new RangeError(`bad IPv${family.version} route`);
    if (!family.isMasked(spec.network, spec.length))
      throw new RangeError(`route ${family.format(spec.network)}/${spec.length} has host bits set`);
    if (spec.via !== null && !family.isValid(spec.via))
      throw new RangeError(`bad IPv${family.version} gateway`);
    if (spec.via !== null && family.isLinkLocal(spec.via) && spec.ifIndex < 0)
      throw new RangeError(`a link-local gateway (${family.format(spec.via)}) needs its interface`);
    const own: RouteSpec<A> = {
      ...spec,
      network: family.masked(spec.network, spec.length),
      via: spec.via === null ? null : family.masked(spec.via, family.bits),
    };
    const text = `${family.format(own.network)}/${own.length}`;
    let p = this.prefixes.get(text);
    if (p === undefined) {
      p = { network: own.network, length: own.length, text, specs: [], sent: new Map() };
      this.prefixes.set(text, p);
    }
    const same = p.specs.findIndex((s) => this.sameRoute(s, own));
    if (same >= 0) p.specs[same] = own;
    else p.specs.push(own);
    this.sync(p);
  }

  /** Removes the routes of a prefix matching the predicate; returns how many went. */
  remove(network: A, length: number, match: (spec: RouteSpec<A>) => boolean): number {
    const p = this.prefixes.get(`${this.family.format(network)}/${length}`);
    if (p === undefined) return 0;
    const kept = p.specs.filter((s) => !match(s));
    const removed = p.specs.length - kept.length;
    if (removed === 0) return 0;
    p.specs = kept;
    this.sync(p);
    return removed;
  }

  /** An interface came up or went down: its routes, and static next hops naming it, follow. */
  interfaceChanged(ifIndex: number): void {
    for (const p of [...this.prefixes.values()]) if (p.specs.some((s) => s.ifIndex === ifIndex)) this.sync(p);
  }

  /** Configured prefixes. */
  get size(): number {
    return this.prefixes.size;
  }

  /** Brings the RIB's routes for p in line with p's configured routes. */
  private sync(p: PrefixRoutes<A>): void {
    const desired = new Map<RouteSource, { key: string; route: RouteInput<A> }>();
    const local = this.chosen(p, this.sources.local);
    if (local !== undefined) {
      desired.set(this.sources.local, {
        key: `local ${local.ifIndex}`,
        route: { nextHops: [{ type: 'local', ifIndex: local.ifIndex }] },
      });
    }
    const subnet = this.chosen(p, this.sources.subnets);
    if (subnet !== undefined) {
      desired.set(this.sources.subnets, {
        key: `if ${subnet.ifIndex}`,
        route: { nextHops: [{ ifIndex: subnet.ifIndex }] },
      });
    }
    const statics = new Map<RouteSource, RouteSpec<A>[]>();
    for (const s of p.specs) {
      if (s.protocol !== 'static') continue;
      const source = this.sources.sourceOf(s);
      const list = statics.get(source);
      if (list === undefined) statics.set(source, [s]);
      else list.push(s);
    }
    for (const [source, specs] of statics) {
      const type = specs[0]!.type;
      if (type === 'blackhole' || type === 'reject') {
        desired.set(source, { key: type, route: { nextHops: [{ type }] } });
        continue;
      }
      const usable = specs.filter((s) => this.usable(s)).sort((a, b) => this.compareHops(a, b));
      const hops: NextHop<A>[] = [];
      const keys: string[] = [];
      for (const s of usable) {
        const key = this.hopKey(s);
        if (keys[keys.length - 1] === key) continue;
        keys.push(key);
        hops.push(
          s.via === null
            ? { ifIndex: s.ifIndex }
            : s.ifIndex >= 0
              ? { gateway: s.via, ifIndex: s.ifIndex }
              : { gateway: s.via },
        );
      }
      if (hops.length > 0) desired.set(source, { key: keys.join(' '), route: { nextHops: hops } });
    }
    const now = this.env.now();
    for (const [source, { key, route }] of desired) {
      if (p.sent.get(source) === key) continue;
      this.table.update(source, p.network, p.length, route, now);
      p.sent.set(source, key);
    }
    for (const source of [...p.sent.keys()]) {
      if (desired.has(source)) continue;
      this.table.update(source, p.network, p.length, null, now);
      p.sent.delete(source);
    }
    if (p.specs.length === 0 && p.sent.size === 0) this.prefixes.delete(p.text);
  }

  /** A static next hop that an interface it names can carry (one with no interface always can). */
  private usable(s: RouteSpec<A>): boolean {
    if (s.ifIndex >= 0) return this.env.interfaceUp(s.ifIndex);
    return s.via !== null;
  }

  /** The connected or local route of p sent for source: on an up interface, the lowest name. */
  private chosen(p: PrefixRoutes<A>, source: RouteSource): RouteSpec<A> | undefined {
    let best: RouteSpec<A> | undefined;
    for (const s of p.specs) {
      if (s.protocol === 'static' || this.sources.sourceOf(s) !== source || !this.env.interfaceUp(s.ifIndex))
        continue;
      if (best === undefined || this.env.interfaceName(s.ifIndex) < this.env.interfaceName(best.ifIndex))
        best = s;
    }
    return best;
  }

  private hopKey(s: RouteSpec<A>): string {
    return `${s.via === null ? '-' : this.family.format(s.via)}%${s.ifIndex}`;
  }

  private compareHops(a: RouteSpec<A>, b: RouteSpec<A>): number {
    if (a.via === null || b.via === null) {
      if (a.via !== b.via) return a.via === null ? -1 : 1;
    } else {
      const c = this.family.compare(a.via, b.via);
      if (c !== 0) return c;
    }
    return a.ifIndex - b.ifIndex;
  }

  private sameRoute(a: RouteSpec<A>, b: RouteSpec<A>): boolean {
    return (
      a.protocol === b.protocol &&
      a.type === b.type &&
      a.ifIndex === b.ifIndex &&
      (a.via === null || b.via === null ? a.via === b.via : this.family.equal(a.via, b.via))
    );
  }

  /** Every configured route, ordered by prefix (then as configured), with the RIB's view of it. */
  list(now?: number): RouteInfo[] {
    const family = this.family;
    const all = [...this.prefixes.values()].filter((p) => p.specs.length > 0);
    all.sort((a, b) => family.compare(a.network, b.network) || a.length - b.length);
    const out: RouteInfo[] = [];
    for (const p of all) {
      const infos = this.table.show(p.network, p.length, now ?? 0);
      const local = this.chosen(p, this.sources.local);
      const subnet = this.chosen(p, this.sources.subnets);
      for (const s of p.specs) out.push(this.row(p, s, infos, s === local || s === subnet, now));
    }
    return out;
  }

  private row(
    p: PrefixRoutes<A>,
    s: RouteSpec<A>,
    infos: readonly RibRouteInfo[],
    chosen: boolean,
    now: number | undefined,
  ): RouteInfo {
    const family = this.family;
    const env = this.env;
    const source = this.sources.sourceOf(s);
    const info = infos.find((i) => i.source.kind === source.kind && i.source.name === source.name);
    let active: boolean;
    let selected: boolean;
    let resolvedVia: string | null = null;
    let hops: { gateway: string | null; interface: string }[] = [];
    if (s.protocol !== 'static') {
      active = env.interfaceUp(s.ifIndex);
      selected = active && chosen && info?.selected === true;
      if (active && s.type === 'unicast') hops = [{ gateway: null, interface: env.interfaceName(s.ifIndex) }];
    } else if (s.type === 'blackhole' || s.type === 'reject') {
      active = true;
      selected = info?.selected === true;
    } else {
      const gateway = s.via === null ? null : family.format(s.via);
      const ifIndex = s.ifIndex >= 0 ? s.ifIndex : null;
      const hop = this.usable(s)
        ? info?.nextHops.find((h) => h.gateway === gateway && h.ifIndex === ifIndex)
        : undefined;
      active = hop?.resolved === true && hop.hops.length > 0;
      selected = active && info?.selected === true;
      if (active) {
        resolvedVia = hop!.via;
        hops = hop!.hops.map((h) => ({ gateway: h.gateway, interface: env.interfaceName(h.ifIndex) }));
      }
    }
    const row: RouteInfo = {
      prefix: p.text,
      protocol: s.protocol,
      type: s.type,
      via: s.via === null ? null : family.format(s.via),
      interface:
        !active || s.type === 'blackhole' || s.type === 'reject'
          ? null
          : s.protocol === 'static'
            ? hops[0]!.interface
            : env.interfaceName(s.ifIndex),
      distance: s.distance,
      selected,
      active,
      metric: info?.metric ?? 0,
      resolvedVia,
      hops,
    };
    if (now !== undefined && info !== undefined) row.age = info.age;
    return row;
  }
}
