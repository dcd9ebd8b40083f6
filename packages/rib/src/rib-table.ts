import type { Family } from './family.ts';
import {
  type Candidate,
  Dest,
  FibGroup,
  NextHopSet,
  type ResolvedKind,
  type SetItem,
  Tracked,
  TYPE_RANK,
  UNRESOLVED,
  VACANT_SOURCE,
} from './nodes.ts';
import { checkDistance, type RouteSource } from './source.ts';
import { TrackedIndex } from './tracked-index.ts';
import {
  type FibTableWriter,
  type GroupState,
  type NextHop,
  type NextHopInfo,
  type ResolvedHop,
  type RouteInfo,
  type RouteInput,
  UNUSABLE_DISTANCE,
} from './types.ts';

export interface RibTableOptions {
  /** Most forwarding hops in one FIB group (FRR's `maximum-paths`/MULTIPATH_NUM). */
  maxPaths: number;
  /** Most levels of recursion: a next hop resolves through routes of tier < maxDepth. */
  maxDepth: number;
  /** FRR's `ip nht resolve-via-default`: may a next hop resolve through the default route. */
  resolveViaDefault: boolean;
}

const EMPTY: readonly Candidate<never>[] = [];
/** Settling passes before the RIB calls it a bug (resolution is stratified, so it always ends). */
const MAX_PASSES = 100_000;

/**
 * One family's RIB. Routes are candidates per prefix; the selected ones (lowest distance, then
 * metric, then deliver/forward/discard, then source kind; ties of one kind are ECMP) map to a FIB
 * group, and the FIB is told at `flush` what changed since the last one.
 *
 * Recursive next hops are resolved in tiers, so that resolution is a function of the routes alone
 * (never of the order they came in) and can never loop: a route whose next hops need no lookup
 * (an interface, an on-link gateway, blackhole…) is tier 0; a tracked next hop resolves through the
 * longest-matching prefix in the lowest view that has one, where view k holds the routes of tier
 * ≤ k; a route is one tier above the next hops it resolved through, and usable up to `maxDepth`.
 * With `maxDepth` 1 this is BIRD's rule (a recursive route never resolves through another
 * recursive route, rt_update_hostentry); deeper, static routes through an IGP and BGP through
 * those work as in FRR. The prefix a route is for is skipped when resolving its own next hops
 * (FRR's "matched against ourself"), but for host routes.
 */
export class RibTable<A> {
  readonly family: Family<A>;
  /** 0 for IPv4, 1 for IPv6: the slot of RouteSource.heads this table uses. */
  private readonly slot: number;
  private readonly options: RibTableOptions;
  /** One map per prefix length, key → prefix. */
  private readonly maps: Map<number | string, Dest<A>>[] = [];
  private readonly lengthCounts: number[] = [];
  /** Lengths that hold prefixes, longest first (the longest-match walk). */
  private populated: number[] = [];
  private readonly sets = new Map<string, NextHopSet<A>>();
  /** The set of a vacant candidate slot (see `Dest`): never interned, never on a list. */
  private readonly vacantSet = new NextHopSet<A>(-1, '(vacant)', [], [], null, -1);
  private readonly setCache = new WeakMap<readonly NextHop<A>[], NextHopSet<A>>();
  private readonly freeSetIds: number[] = [];
  private setHighWater = 0;
  private readonly tracked = new Map<string, Tracked<A>>();
  private readonly index: TrackedIndex<A>;
  private readonly multiGroups = new Map<string, FibGroup<A>>();
  private readonly freeGroupIds: number[] = [];
  private groupHighWater = 0;
  private liveGroups = 0;
  private dirtyDests: Dest<A>[] = [];
  private dirtyGroups: FibGroup<A>[] = [];
  private releaseQueue: FibGroup<A>[] = [];
  private readonly pendingDests = new Set<Dest<A>>();
  private readonly pendingTracked = new Set<Tracked<A>>();
  private readonly pendingSets = new Set<NextHopSet<A>>();
  private routeCount = 0;
  private selectedCount = 0;
  /** The prefix `touchCovered` is visiting for (a field, so the visitor allocates no closure). */
  private touchLength = 0;
  private readonly touchVisitor = (t: Tracked<A>): void => {
    if (t.matchLength <= this.touchLength || t.level > 0) this.pendingTracked.add(t);
  };

  constructor(family: Family<A>, slot: number, options: RibTableOptions) {
    this.family = family;
    this.slot = slot;
    this.options = options;
    this.index = new TrackedIndex(family);
    for (let l = 0; l <= family.bits; l++) {
      this.maps.push(new Map());
      this.lengthCounts.push(0);
    }
  }

  // ---- updates --------------------------------------------------------------------------------

  /** Adds or replaces source's route for network/length, or withdraws it (route null). */
  update(source: RouteSource, network: A, length: number, route: RouteInput<A> | null, now: number): void {
    this.checkPrefix(network, length);
    if (route === null) {
      this.withdraw(source, network, length);
      return;
    }
    const distance = route.distance ?? source.distance;
    checkDistance(distance);
    const metric = route.metric ?? 0;
    if (!Number.isInteger(metric) || metric < 0 || metric > 0xffffffff) {
      throw new RangeError(`metric ${metric} is not 0..2^32-1`);
    }
    const dest = this.destFor(network, length);
    const nhs = this.setFor(route.nextHops, dest);
    let c = dest.head;
    while (c !== null && c.source !== source) c = c.nextInDest;
    if (c !== null) {
      if (c.nhs === nhs && c.distance === distance && c.metric === metric && c.attrs === route.attrs) {
        this.maybeFreeSet(nhs);
        return;
      }
      if (c.nhs !== nhs) {
        const old = c.nhs;
        this.unlinkFromSet(c);
        c.nhs = nhs;
        this.linkToSet(c);
        this.maybeFreeSet(old);
      }
      c.distance = distance;
      c.metric = metric;
      c.attrs = route.attrs;
      c.since = now;
    } else {
      c = dest.source === VACANT_SOURCE ? dest : new Dest(dest.network, dest.length, dest.key, dest, nhs);
      c.fill(source, nhs, distance, metric, route.attrs, now);
      c.nextInDest = dest.head;
      dest.head = c;
      const head = source.heads[this.slot] as Candidate<A> | null;
      c.nextInSource = head;
      if (head !== null) head.prevInSource = c;
      source.heads[this.slot] = c;
      source.counts[this.slot]!++;
      this.linkToSet(c);
      this.routeCount++;
    }
    this.reselect(dest);
    this.settle();
  }

  withdraw(source: RouteSource, network: A, length: number): void {
    this.checkPrefix(network, length);
    const dest = this.maps[length]!.get(this.family.key(network, length));
    if (dest === undefined) return;
    let prev: Candidate<A> | null = null;
    let c = dest.head;
    while (c !== null && c.source !== source) {
      prev = c;
      c = c.nextInDest;
    }
    if (c === null) return;
    if (prev === null) dest.head = c.nextInDest;
    else prev.nextInDest = c.nextInDest;
    this.unlinkRoute(c);
    if (c === dest) this.vacate(c);
    this.reselect(dest);
    this.settle();
  }

  /** Withdraws every route of source in this family: cost proportional to the source's routes. */
  withdrawAll(source: RouteSource): number {
    let c = source.heads[this.slot] as Candidate<A> | null;
    let removed = 0;
    while (c !== null) {
      const next = c.nextInSource;
      const dest = c.dest;
      let prev: Candidate<A> | null = null;
      let d = dest.head;
      while (d !== c) {
        prev = d;
        d = d!.nextInDest;
      }
      if (prev === null) dest.head = c.nextInDest;
      else prev.nextInDest = c.nextInDest;
      this.unlinkRoute(c);
      if (c === dest) this.vacate(c);
      // Each prefix once (a source has one route per prefix), so no pending set: reselect now.
      this.reselect(dest);
      removed++;
      c = next;
    }
    this.settle();
    return removed;
  }

  /** Re-resolves every tracked next hop (after a change of resolveViaDefault): cost ∝ tracked. */
  reresolveAll(): void {
    for (const t of this.tracked.values()) this.pendingTracked.add(t);
    this.settle();
  }

  // ---- the FIB --------------------------------------------------------------------------------

  /** Whether a flush has anything to write. */
  get pending(): boolean {
    return this.dirtyDests.length > 0 || this.dirtyGroups.length > 0 || this.releaseQueue.length > 0;
  }

  /** Groups whose state is new or changed (first in a batch, so prefixes never point at nothing). */
  emitGroups(w: FibTableWriter<A>): void {
    for (const g of this.dirtyGroups) {
      g.dirty = false;
      if (g.desired === 0) continue;
      const state = this.groupState(g);
      const key = stateKeyOf(state, this.family);
      if (key === g.emittedKey) continue;
      w.setGroup(g.id, state);
      g.emittedKey = key;
    }
    this.dirtyGroups = [];
  }

  /** Prefixes whose group changed: one call each, whatever happened to them since the last flush. */
  emitRoutes(w: FibTableWriter<A>): void {
    for (const d of this.dirtyDests) {
      d.dirty = false;
      const group = d.group;
      const installed = d.installed;
      if (group === installed) continue;
      if (group !== null) {
        w.setRoute(this.family.fromRecord(d.network), d.length, group.id);
        group.installed++;
      } else {
        w.deleteRoute(this.family.fromRecord(d.network), d.length);
      }
      if (installed !== null && --installed.installed === 0) this.releaseQueue.push(installed);
      d.installed = group;
      this.pruneDest(d);
    }
    this.dirtyDests = [];
  }

  /** Groups no prefix points at any more, last. */
  emitReleases(w: FibTableWriter<A>): void {
    for (const g of this.releaseQueue) {
      if (g.desired !== 0 || g.installed !== 0 || !this.isInterned(g)) continue;
      if (g.emittedKey !== null) w.releaseGroup(g.id);
      this.freeGroup(g);
    }
    this.releaseQueue = [];
  }

  // ---- show -----------------------------------------------------------------------------------

  /** Every candidate for network/length (selected first), or [] when the RIB has none. */
  show(network: A, length: number, now: number): RouteInfo[] {
    this.checkPrefix(network, length);
    const dest = this.maps[length]!.get(this.family.key(network, length));
    return dest === undefined ? [] : this.describe(dest, now);
  }

  /** Every route of the family, ordered by prefix; `selectedOnly` for the FIB's view. */
  routes(now: number, selectedOnly = false): RouteInfo[] {
    const dests: Dest<A>[] = [];
    for (const m of this.maps) for (const d of m.values()) if (d.head !== null) dests.push(d);
    dests.sort((a, b) => this.family.compare(a.network, b.network) || a.length - b.length);
    const out: RouteInfo[] = [];
    for (const d of dests) {
      for (const r of this.describe(d, now)) if (!selectedOnly || r.selected) out.push(r);
    }
    return out;
  }

  /** The resolved state a prefix maps to (what the FIB should hold), for tests and `show`. */
  selectedState(network: A, length: number): GroupState<A> | null {
    const dest = this.maps[length]!.get(this.family.key(network, length));
    return dest?.group == null ? null : this.groupState(dest.group);
  }

  counters(): { prefixes: number; selected: number; tracked: number; sets: number; groups: number } {
    return {
      prefixes: this.routeCount === 0 ? 0 : this.countPrefixes(),
      selected: this.selectedCount,
      tracked: this.tracked.size,
      sets: this.sets.size,
      groups: this.liveGroups,
    };
  }

  get routesHeld(): number {
    return this.routeCount;
  }

  // ---- selection ------------------------------------------------------------------------------

  /**
   * The routes selected for dest among those of tier ≤ limit: the best by distance, metric, type
   * (deliver, forward, discard), source kind, then source name, and every route of the best's kind
   * equal to it in distance, metric and type (ECMP, at most maxPaths routes).
   */
  private bestSet(dest: Dest<A>, limit: number): readonly Candidate<A>[] {
    let best: Candidate<A> | null = null;
    let ties = 0;
    for (let c = dest.head; c !== null; c = c.nextInDest) {
      if (c.nhs.tier > limit || c.distance >= UNUSABLE_DISTANCE) continue;
      if (best === null || better(c, best)) {
        ties = best !== null && sameRank(c, best) ? ties + 1 : 0;
        best = c;
      } else if (sameRank(c, best)) {
        ties++;
      }
    }
    if (best === null) return EMPTY;
    if (ties === 0) return [best];
    const set: Candidate<A>[] = [];
    for (let c = dest.head; c !== null; c = c.nextInDest) {
      if (c.nhs.tier <= limit && c.distance < UNUSABLE_DISTANCE && sameRank(c, best)) set.push(c);
    }
    set.sort(bySource);
    if (set.length > this.options.maxPaths) set.length = this.options.maxPaths;
    return set;
  }

  private reselect(dest: Dest<A>): void {
    const c = dest.head;
    let group: FibGroup<A> | null;
    if (c === null) group = null;
    else if (c.nextInDest === null) {
      group =
        c.nhs.tier <= this.options.maxDepth && c.distance < UNUSABLE_DISTANCE ? this.soloGroup(c.nhs) : null;
    } else {
      const set = this.bestSet(dest, this.options.maxDepth);
      group = set.length === 0 ? null : set.length === 1 ? this.soloGroup(set[0]!.nhs) : this.multiGroup(set);
    }
    const old = dest.group;
    if (group !== old) {
      if (group !== null) group.desired++;
      if (old !== null && --old.desired === 0) this.releaseQueue.push(old);
      if (old === null) this.selectedCount++;
      else if (group === null) this.selectedCount--;
      dest.group = group;
      if (!dest.dirty) {
        dest.dirty = true;
        this.dirtyDests.push(dest);
      }
    }
    if (this.index.size > 0) {
      this.touchLength = dest.length;
      this.index.covered(dest.network, dest.length, this.touchVisitor);
    }
    if (!dest.dirty) this.pruneDest(dest);
  }

  /** Runs the consequences of a change until nothing is left to re-evaluate. */
  private settle(): void {
    for (let pass = 0; ; pass++) {
      if (pass > MAX_PASSES) throw new Error('RIB: resolution did not settle');
      if (this.pendingDests.size > 0) {
        const dests = [...this.pendingDests];
        this.pendingDests.clear();
        for (const d of dests) this.reselect(d);
      } else if (this.pendingTracked.size > 0) {
        const tracked = [...this.pendingTracked];
        this.pendingTracked.clear();
        for (const t of tracked) if (this.resolveTracked(t)) for (const s of t.users) this.pendingSets.add(s);
      } else if (this.pendingSets.size > 0) {
        const sets = [...this.pendingSets];
        this.pendingSets.clear();
        for (const s of sets) if (!s.freed) this.recomputeSet(s);
      } else {
        return;
      }
    }
  }

  // ---- next-hop sets --------------------------------------------------------------------------

  private setFor(nextHops: readonly NextHop<A>[], dest: Dest<A>): NextHopSet<A> {
    const cached = this.setCache.get(nextHops);
    if (cached !== undefined && !cached.freed && !this.needsExclusion(cached, dest)) return cached;
    if (!Array.isArray(nextHops) || nextHops.length === 0) throw new RangeError('a route needs next hops');
    const family = this.family;
    const parts: string[] = [];
    let special: 'local' | 'blackhole' | 'reject' | null = null;
    let localIf = -1;
    let excludes = false;
    for (const hop of nextHops) {
      if (hop.type !== undefined) {
        if (nextHops.length !== 1) throw new RangeError(`a ${hop.type} route has no other next hops`);
        if (hop.type === 'local') {
          checkIfIndex(hop.ifIndex);
          localIf = hop.ifIndex;
        } else if (hop.type !== 'blackhole' && hop.type !== 'reject') {
          throw new RangeError(`unknown next-hop type ${String(hop.type)}`);
        }
        special = hop.type;
        parts.push(`${hop.type}${localIf}`);
      } else if (hop.gateway === undefined) {
        checkIfIndex(hop.ifIndex);
        parts.push(`i${hop.ifIndex}`);
      } else {
        if (!family.isValid(hop.gateway)) throw new RangeError('bad gateway address');
        const ifIndex = hop.ifIndex ?? -1;
        if (ifIndex !== -1) checkIfIndex(ifIndex);
        if (ifIndex >= 0 && (hop.onlink === true || family.isLinkLocal(hop.gateway))) {
          parts.push(`o${family.format(hop.gateway)}%${ifIndex}`);
        } else if (family.isLinkLocal(hop.gateway)) {
          parts.push(`l${family.format(hop.gateway)}`); // no interface: it cannot be used
        } else {
          const exclude = this.excludeFor(hop.gateway, dest);
          if (exclude >= 0) excludes = true;
          parts.push(`g${family.format(hop.gateway)}%${ifIndex}/${exclude}`);
        }
      }
    }
    const key = parts.join(',');
    let set = this.sets.get(key);
    if (set === undefined) set = this.createSet(key, nextHops, dest, special, localIf);
    if (!excludes) this.setCache.set(nextHops, set);
    return set;
  }

  private createSet(
    key: string,
    nextHops: readonly NextHop<A>[],
    dest: Dest<A>,
    special: 'local' | 'blackhole' | 'reject' | null,
    localIf: number,
  ): NextHopSet<A> {
    const family = this.family;
    const items: SetItem<A>[] = [];
    const direct: ResolvedHop<A>[] = [];
    for (const hop of nextHops) {
      let tracked: Tracked<A> | null = null;
      if (hop.type === undefined) {
        if (hop.gateway === undefined) direct.push({ gateway: null, ifIndex: hop.ifIndex! });
        else {
          const gateway = family.masked(hop.gateway, family.bits);
          const ifIndex = hop.ifIndex ?? -1;
          if (ifIndex >= 0 && (hop.onlink === true || family.isLinkLocal(gateway))) {
            direct.push({ gateway, ifIndex });
          } else if (!family.isLinkLocal(gateway)) {
            tracked = this.trackedFor(gateway, ifIndex, this.excludeFor(gateway, dest));
          }
        }
      }
      items.push({ hop, tracked });
    }
    const id = this.freeSetIds.pop() ?? this.setHighWater++;
    const set = new NextHopSet<A>(id, key, items, dedupeHops(direct, family), special, localIf);
    for (const item of items) item.tracked?.users.add(set);
    this.sets.set(key, set);
    this.computeSet(set);
    return set;
  }

  /** The length of dest when it covers gateway (and is not a host route), else -1. */
  private excludeFor(gateway: A, dest: Dest<A>): number {
    const length = dest.length;
    return length < this.family.bits && this.family.contains(dest.network, length, gateway) ? length : -1;
  }

  private needsExclusion(set: NextHopSet<A>, dest: Dest<A>): boolean {
    for (const item of set.items) {
      if (item.tracked !== null && this.excludeFor(item.tracked.addr, dest) !== item.tracked.exclude)
        return true;
    }
    return false;
  }

  /** Recomputes a set from its next hops; propagates what changed. */
  private recomputeSet(s: NextHopSet<A>): void {
    const oldTier = s.tier;
    const oldKind = s.kind;
    const oldKey = s.stateKey;
    this.computeSet(s);
    if (s.kind !== oldKind) {
      // Starting or stopping to resolve, or changing type, changes selection: every route with it.
      for (let c = s.routeHead; c !== null; c = c.nextInSet) this.pendingDests.add(c.dest);
    }
    if (s.tier !== oldTier) {
      // The views below maxDepth changed at every prefix using the set; rather than visit those
      // (a BGP set may have a million), re-resolve the tracked next hops that could see it: few.
      const from = Math.min(s.tier, oldTier);
      for (const t of this.tracked.values()) if (t.level >= from) this.pendingTracked.add(t);
    }
    if (s.stateKey !== oldKey) {
      for (const g of s.groups) this.markGroupDirty(g);
      for (const t of s.dependents) this.pendingTracked.add(t);
    }
  }

  /**
   * A set is in view k (usable to resolve next hops of level k) when it has a direct hop or one of
   * its tracked next hops resolved below level k, and view k sees only those hops: so each level
   * depends on the levels below it alone, and resolution has one answer whatever the order of
   * events (a route's tier is the lowest view it is in).
   */
  private computeSet(s: NextHopSet<A>): void {
    if (s.special !== null) {
      s.tier = 0;
      s.kind = s.special;
      s.hops = [];
      s.stateKey = `${s.special}${s.localIf}`;
      return;
    }
    let tier = s.direct.length > 0 ? 0 : UNRESOLVED;
    let hops: ResolvedHop<A>[] | null = null;
    let key = '';
    for (const item of s.items) {
      const t = item.tracked;
      if (t === null) continue;
      key += `;${t.stateKey}`;
      if (t.kind !== 'forward') continue;
      tier = Math.min(tier, t.level + 1);
      if (hops === null) hops = [...s.direct];
      hops.push(...t.hops);
    }
    if (hops === null && s.direct.length > 0) hops = s.direct as ResolvedHop<A>[];
    s.kind = hops === null ? 'unresolved' : 'forward';
    s.hops = hops === null ? [] : hops === s.direct ? hops : dedupeHops(hops, this.family);
    s.tier = tier;
    s.stateKey = `${s.kind}|${tier}|${hopsKey(s.direct, this.family)}${key}`;
  }

  /** The forwarding hops set s offers in view `level`: direct ones and those resolved below it. */
  private hopsInView(s: NextHopSet<A>, level: number): ResolvedHop<A>[] {
    const hops = [...s.direct];
    for (const item of s.items) {
      const t = item.tracked;
      if (t !== null && t.kind === 'forward' && t.level < level) hops.push(...t.hops);
    }
    return hops;
  }

  private linkToSet(c: Candidate<A>): void {
    const s = c.nhs;
    c.prevInSet = null;
    c.nextInSet = s.routeHead;
    if (s.routeHead !== null) s.routeHead.prevInSet = c;
    s.routeHead = c;
    s.routeCount++;
  }

  private unlinkFromSet(c: Candidate<A>): void {
    const s = c.nhs;
    if (c.prevInSet !== null) c.prevInSet.nextInSet = c.nextInSet;
    else s.routeHead = c.nextInSet;
    if (c.nextInSet !== null) c.nextInSet.prevInSet = c.prevInSet;
    c.prevInSet = c.nextInSet = null;
    s.routeCount--;
  }

  /** Takes a route (already off its prefix's list) off its source's and set's lists. */
  private unlinkRoute(c: Candidate<A>): void {
    const source = c.source;
    if (c.prevInSource !== null) c.prevInSource.nextInSource = c.nextInSource;
    else source.heads[this.slot] = c.nextInSource;
    if (c.nextInSource !== null) c.nextInSource.prevInSource = c.prevInSource;
    c.prevInSource = c.nextInSource = null;
    source.counts[this.slot]!--;
    this.unlinkFromSet(c);
    this.maybeFreeSet(c.nhs);
    this.routeCount--;
  }

  /** Empties a prefix's own candidate slot (its route is off every list already). */
  private vacate(d: Dest<A>): void {
    d.source = VACANT_SOURCE;
    d.nhs = this.vacantSet;
    d.attrs = undefined;
    d.nextInDest = null;
  }

  private maybeFreeSet(s: NextHopSet<A>): void {
    if (s.routeCount > 0 || s.groups.size > 0 || s.freed) return;
    s.freed = true;
    this.sets.delete(s.key);
    this.freeSetIds.push(s.id);
    this.pendingSets.delete(s);
    for (const item of s.items) {
      const t = item.tracked;
      if (t === null) continue;
      // A gateway given twice is one tracked next hop: free it once.
      if (t.users.delete(s) && t.users.size === 0) this.freeTracked(t);
    }
  }

  // ---- tracked next hops ----------------------------------------------------------------------

  private trackedFor(addr: A, ifIndex: number, exclude: number): Tracked<A> {
    const key = `${this.family.format(addr)}%${ifIndex}/${exclude}`;
    let t = this.tracked.get(key);
    if (t === undefined) {
      t = new Tracked(key, addr, ifIndex, exclude);
      this.tracked.set(key, t);
      this.index.add(t);
      this.resolveTracked(t);
    }
    return t;
  }

  private freeTracked(t: Tracked<A>): void {
    this.tracked.delete(t.key);
    this.index.remove(t);
    this.pendingTracked.delete(t);
    for (const s of t.viaSets) s.dependents.delete(t);
  }

  /** Resolves t afresh; returns whether its resolution changed. */
  private resolveTracked(t: Tracked<A>): boolean {
    let level = UNRESOLVED;
    let via: Dest<A> | null = null;
    let kind: ResolvedKind = 'unresolved';
    let hops: ResolvedHop<A>[] = [];
    let viaSets: NextHopSet<A>[] = [];
    const levels = t.ifIndex >= 0 ? 1 : this.options.maxDepth;
    for (let k = 0; k < levels; k++) {
      const d = this.longestMatch(t.addr, k, t.exclude);
      if (d === null) continue;
      const set = this.bestSet(d, k);
      via = d;
      level = k;
      viaSets = set.map((c) => c.nhs);
      const matchKind = viaSets[0]!.kind;
      if (t.ifIndex >= 0) {
        // A gateway named with its interface must be on a connected network of that interface.
        const onLink = viaSets.some((s) =>
          s.direct.some((h) => h.gateway === null && h.ifIndex === t.ifIndex),
        );
        if (matchKind === 'forward' && onLink) {
          kind = 'forward';
          hops = [{ gateway: t.addr, ifIndex: t.ifIndex }];
        }
      } else if (matchKind === 'forward') {
        kind = 'forward';
        for (const s of viaSets) {
          for (const h of this.hopsInView(s, k)) {
            hops.push(h.gateway === null ? { gateway: t.addr, ifIndex: h.ifIndex } : h);
          }
        }
        hops = dedupeHops(hops, this.family);
      }
      // Through a local route (the gateway is one of our own addresses), a blackhole or a reject
      // route: unresolved. (BIRD would make the route a blackhole too; keeping every view
      // forward-only keeps the selection in each view independent of the levels above it.)
      break;
    }
    if (kind === 'unresolved') level = UNRESOLVED;
    const stateKey = kind === 'unresolved' ? 'u' : `${kind}|${level}|${hopsKey(hops, this.family)}`;
    const matchLength = via === null ? -1 : via.length;
    const sameSets = viaSets.length === t.viaSets.length && viaSets.every((s, i) => s === t.viaSets[i]);
    if (!sameSets) {
      for (const s of t.viaSets) s.dependents.delete(t);
      for (const s of viaSets) s.dependents.add(t);
      t.viaSets = viaSets;
    }
    t.via = via;
    t.matchLength = matchLength;
    if (stateKey === t.stateKey) return false;
    t.level = level;
    t.kind = kind;
    t.hops = hops;
    t.stateKey = stateKey;
    return true;
  }

  /** The longest prefix holding addr with a route of tier ≤ level, skipping `exclude`. */
  private longestMatch(addr: A, level: number, exclude: number): Dest<A> | null {
    for (const length of this.populated) {
      if (length === exclude || (length === 0 && !this.options.resolveViaDefault)) continue;
      const d = this.maps[length]!.get(this.family.key(addr, length));
      if (d === undefined) continue;
      for (let c = d.head; c !== null; c = c.nextInDest) {
        if (c.nhs.tier <= level && c.distance < UNUSABLE_DISTANCE) return d;
      }
    }
    return null;
  }

  // ---- groups ---------------------------------------------------------------------------------

  private soloGroup(s: NextHopSet<A>): FibGroup<A> {
    if (s.solo !== null) return s.solo;
    const g = this.newGroup(String(s.id), [s]);
    s.solo = g;
    return g;
  }

  private multiGroup(set: readonly Candidate<A>[]): FibGroup<A> {
    const members = [...new Set(set.map((c) => c.nhs))].sort((a, b) => a.id - b.id);
    if (members.length === 1) return this.soloGroup(members[0]!);
    const key = members.map((s) => s.id).join(',');
    let g = this.multiGroups.get(key);
    if (g === undefined) {
      g = this.newGroup(key, members);
      this.multiGroups.set(key, g);
    }
    return g;
  }

  private newGroup(key: string, members: readonly NextHopSet<A>[]): FibGroup<A> {
    const id = this.freeGroupIds.pop() ?? this.groupHighWater++;
    const g = new FibGroup<A>(id, key, members);
    for (const s of members) s.groups.add(g);
    this.liveGroups++;
    this.markGroupDirty(g);
    return g;
  }

  private isInterned(g: FibGroup<A>): boolean {
    return g.members.length === 1 ? g.members[0]!.solo === g : this.multiGroups.get(g.key) === g;
  }

  private freeGroup(g: FibGroup<A>): void {
    if (g.members.length === 1) g.members[0]!.solo = null;
    else this.multiGroups.delete(g.key);
    this.freeGroupIds.push(g.id);
    this.liveGroups--;
    for (const s of g.members) {
      s.groups.delete(g);
      this.maybeFreeSet(s);
    }
  }

  private markGroupDirty(g: FibGroup<A>): void {
    if (g.dirty) return;
    g.dirty = true;
    this.dirtyGroups.push(g);
  }

  /** The members' union: they are selected together, so they share a type (see `bestSet`). */
  private groupState(g: FibGroup<A>): GroupState<A> {
    const first = g.members[0]!;
    if (first.kind === 'local') return { kind: 'local', ifIndex: first.localIf };
    if (first.kind === 'blackhole' || first.kind === 'reject') return { kind: first.kind };
    let hops: ResolvedHop<A>[] = [];
    for (const s of g.members) if (s.kind === 'forward') hops.push(...s.hops);
    if (g.members.length > 1) hops = dedupeHops(hops, this.family);
    if (hops.length > this.options.maxPaths) hops = hops.slice(0, this.options.maxPaths);
    return { kind: 'forward', hops };
  }

  // ---- prefixes -------------------------------------------------------------------------------

  private destFor(network: A, length: number): Dest<A> {
    const key = this.family.key(network, length);
    const map = this.maps[length]!;
    let dest = map.get(key);
    if (dest === undefined) {
      dest = new Dest(this.family.toRecord(network, length), length, key, null, this.vacantSet);
      map.set(key, dest);
      if (this.lengthCounts[length]!++ === 0) this.updatePopulated();
    }
    return dest;
  }

  /** Forgets a prefix with no routes that the FIB does not hold and no flush is due for. */
  private pruneDest(d: Dest<A>): void {
    if (d.head !== null || d.group !== null || d.installed !== null || d.dirty) return;
    const map = this.maps[d.length]!;
    if (map.get(d.key) !== d) return;
    map.delete(d.key);
    if (--this.lengthCounts[d.length]! === 0) this.updatePopulated();
  }

  private updatePopulated(): void {
    const lengths: number[] = [];
    for (let l = this.family.bits; l >= 0; l--) if (this.lengthCounts[l]! > 0) lengths.push(l);
    this.populated = lengths;
  }

  private countPrefixes(): number {
    let n = 0;
    for (const m of this.maps) for (const d of m.values()) if (d.head !== null) n++;
    return n;
  }

  private checkPrefix(network: A, length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.family.bits) {
      throw new RangeError(`prefix length ${length} is not 0..${this.family.bits}`);
    }
    if (!this.family.isValid(network)) throw new RangeError(`bad IPv${this.family.version} network`);
    if (!this.family.isMasked(network, length)) {
      throw new RangeError(`${this.family.format(network)}/${length} has host bits set`);
    }
  }

  private describe(dest: Dest<A>, now: number): RouteInfo[] {
    const family = this.family;
    const selected = new Set(this.bestSet(dest, this.options.maxDepth));
    const prefix = `${family.format(dest.network)}/${dest.length}`;
    const out: RouteInfo[] = [];
    for (let c = dest.head; c !== null; c = c.nextInDest) {
      out.push({
        prefix,
        source: { kind: c.source.kind, name: c.source.name },
        distance: c.distance,
        metric: c.metric,
        nextHops: c.nhs.items.map((item) => this.describeHop(item)),
        age: now - c.since,
        selected: selected.has(c),
        active: c.nhs.tier <= this.options.maxDepth && c.distance < UNUSABLE_DISTANCE,
        attrs: c.attrs,
      });
    }
    out.sort((a, b) => Number(b.selected) - Number(a.selected) || a.distance - b.distance);
    return out;
  }

  private describeHop(item: SetItem<A>): NextHopInfo {
    const family = this.family;
    const hop = item.hop;
    const fmt = (hops: readonly ResolvedHop<A>[]) =>
      hops.map((h) => ({
        gateway: h.gateway === null ? null : family.format(h.gateway),
        ifIndex: h.ifIndex,
      }));
    if (hop.type !== undefined) {
      return {
        type: hop.type,
        gateway: null,
        ifIndex: hop.type === 'local' ? hop.ifIndex : null,
        via: null,
        resolved: true,
        hops: [],
      };
    }
    if (hop.gateway === undefined) {
      return {
        type: 'interface',
        gateway: null,
        ifIndex: hop.ifIndex!,
        via: null,
        resolved: true,
        hops: [{ gateway: null, ifIndex: hop.ifIndex! }],
      };
    }
    const t = item.tracked;
    const direct = t === null && hop.ifIndex !== undefined && hop.ifIndex >= 0;
    return {
      type: 'gateway',
      gateway: family.format(hop.gateway),
      ifIndex: hop.ifIndex ?? null,
      via: t?.via == null ? null : `${family.format(t.via.network)}/${t.via.length}`,
      resolved: direct || (t !== null && t.kind !== 'unresolved'),
      hops: direct ? [{ gateway: family.format(hop.gateway), ifIndex: hop.ifIndex! }] : fmt(t?.hops ?? []),
    };
  }
}

function better<A>(a: Candidate<A>, b: Candidate<A>): boolean {
  if (a.distance !== b.distance) return a.distance < b.distance;
  if (a.metric !== b.metric) return a.metric < b.metric;
  const ta = TYPE_RANK[a.nhs.kind];
  const tb = TYPE_RANK[b.nhs.kind];
  if (ta !== tb) return ta < tb;
  if (a.source.rank !== b.source.rank) return a.source.rank < b.source.rank;
  return bySource(a, b) < 0;
}

/** Equal for ECMP: distance, metric, type and source kind. */
function sameRank<A>(a: Candidate<A>, b: Candidate<A>): boolean {
  return (
    a.distance === b.distance &&
    a.metric === b.metric &&
    a.source.rank === b.source.rank &&
    TYPE_RANK[a.nhs.kind] === TYPE_RANK[b.nhs.kind]
  );
}

function bySource<A>(a: Candidate<A>, b: Candidate<A>): number {
  if (a.source.name !== b.source.name) return a.source.name < b.source.name ? -1 : 1;
  return a.source.id - b.source.id;
}

function checkIfIndex(ifIndex: number): void {
  if (!Number.isInteger(ifIndex) || ifIndex < 0 || ifIndex > 0x7fffffff)
    throw new RangeError(`bad ifIndex ${ifIndex}`);
}

function hopKeyOf<A>(h: ResolvedHop<A>, family: Family<A>): string {
  return h.gateway === null ? `${h.ifIndex}` : `${h.ifIndex}/${family.format(h.gateway)}`;
}

function hopsKey<A>(hops: readonly ResolvedHop<A>[], family: Family<A>): string {
  return hops.map((h) => hopKeyOf(h, family)).join(',');
}

/** Sorted by interface then gateway (directly connected first), duplicates dropped: a canonical form. */
function dedupeHops<A>(hops: readonly ResolvedHop<A>[], family: Family<A>): ResolvedHop<A>[] {
  const sorted = [...hops].sort(
    (a, b) =>
      a.ifIndex - b.ifIndex ||
      (a.gateway === null
        ? b.gateway === null
          ? 0
          : -1
        : b.gateway === null
          ? 1
          : family.compare(a.gateway, b.gateway)),
  );
  const out: ResolvedHop<A>[] = [];
  for (const h of sorted) {
    const last = out[out.length - 1];
    if (
      last !== undefined &&
      last.ifIndex === h.ifIndex &&
      (last.gateway === null
        ? h.gateway === null
        : h.gateway !== null && family.equal(last.gateway, h.gateway))
    ) {
      continue;
    }
    out.push(h);
  }
  return out;
}

export function stateKeyOf<A>(state: GroupState<A>, family: Family<A>): string {
  switch (state.kind) {
    case 'forward':
      return `f:${hopsKey(state.hops, family)}`;
    case 'local':
      return `l:${state.ifIndex}`;
    default:
      return state.kind;
  }
}
