import { RouteSource } from './source.ts';
import type { NextHop, ResolvedHop } from './types.ts';

/** Tier of something that does not resolve (tiers of resolved things are 0..maxDepth). */
export const UNRESOLVED = 255;

/** What a next-hop set or a tracked next hop comes to. */
export type ResolvedKind = 'forward' | 'local' | 'blackhole' | 'reject' | 'unresolved';

/** Order among routes of equal distance and metric: deliver, forward, then discard (as before the RIB). */
export const TYPE_RANK: Record<ResolvedKind, number> = {
  local: 0,
  forward: 1,
  blackhole: 2,
  reject: 3,
  unresolved: 4,
};

/**
 * One prefix: its candidate routes (one per source, on a singly linked list: a prefix rarely has
 * more than two), the group its selection maps to, and the group the FIB has for it. The two differ
 * between a change and the flush that writes it.
 *
 * A prefix is also the record of its first candidate (the common case, one source per prefix):
 * one object per route instead of a prefix and a route, about 30 bytes and an allocation less on a
 * full table. Further candidates are records of the same class (so every access stays
 * monomorphic) whose prefix fields are unused. A candidate sits on three lists: its prefix's
 * candidates, its source's routes (for withdrawAll) and its next-hop set's routes (re-selected when
 * the set starts or stops resolving). The prefix's own slot is vacant (`source` is `VACANT_SOURCE`,
 * off every list) when its route was withdrawn while another source's route stays.
 */
export class Dest<A> {
  /** In the family's record form (`Family.toRecord`: IPv4 as int32). */
  readonly network: A;
  readonly length: number;
  readonly key: number | string;
  head: Candidate<A> | null = null;
  /** The group the selected routes map to (null: nothing selected). */
  group: FibGroup<A> | null = null;
  /** The group the FIB was last given for this prefix. */
  installed: FibGroup<A> | null = null;
  /** On the table's dirty list (written at the next flush). */
  dirty = false;
  // ---- as a candidate route ----
  /** The prefix this route is for (itself for a prefix's own slot). */
  readonly dest: Dest<A>;
  source: RouteSource = VACANT_SOURCE;
  nhs: NextHopSet<A>;
  distance = 0;
  metric = 0;
  attrs: unknown = undefined;
  since = 0;
  nextInDest: Candidate<A> | null = null;
  prevInSource: Candidate<A> | null = null;
  nextInSource: Candidate<A> | null = null;
  prevInSet: Candidate<A> | null = null;
  nextInSet: Candidate<A> | null = null;

  /** A prefix (owner omitted), or a further candidate route for owner. */
  constructor(network: A, length: number, key: number | string, owner: Dest<A> | null, nhs: NextHopSet<A>) {
    this.network = network;
    this.length = length;
    this.key = key;
    this.dest = owner ?? this;
    this.nhs = nhs;
  }

  /** Fills the candidate fields (a new route in this record). */
  fill(
    source: RouteSource,
    nhs: NextHopSet<A>,
    distance: number,
    metric: number,
    attrs: unknown,
    since: number,
  ): void {
    this.source = source;
    this.nhs = nhs;
    this.distance = distance;
    this.metric = metric;
    this.attrs = attrs;
    this.since = since;
  }
}

/** A route of one source for one prefix: see `Dest`. */
export type Candidate<A> = Dest<A>;

/** One next hop of a set, as given, and the tracked next hop resolving it (null when direct). */
export interface SetItem<A> {
  readonly hop: NextHop<A>;
  readonly tracked: Tracked<A> | null;
}

/**
 * The unresolved next hops of a route, interned: every route with the same next hops (and the same
 * self-exclusion, see `Tracked.exclude`) shares one set, as FRR's zebra shares next-hop groups. A
 * full BGP table from a few peers is a few sets. The set's resolution is the union of its next
 * hops' resolutions; when it changes, the FIB groups built from the set change in place.
 */
export class NextHopSet<A> {
  readonly id: number;
  readonly key: string;
  readonly items: readonly SetItem<A>[];
  /** Directly usable hops (interfaces, on-link gateways), fixed. */
  readonly direct: readonly ResolvedHop<A>[];
  /** 'local', 'blackhole' or 'reject' for such routes, else null. */
  readonly special: 'local' | 'blackhole' | 'reject' | null;
  readonly localIf: number;
  tier = UNRESOLVED;
  kind: ResolvedKind = 'unresolved';
  hops: readonly ResolvedHop<A>[] = [];
  stateKey = '';
  routeHead: Candidate<A> | null = null;
  routeCount = 0;
  /** FIB groups holding this set as a member (a set is not freed while one does). */
  readonly groups = new Set<FibGroup<A>>();
  /** The group of routes selected alone with this set (the common case: no map lookup). */
  solo: FibGroup<A> | null = null;
  /** Tracked next hops resolved through routes using this set. */
  readonly dependents = new Set<Tracked<A>>();
  freed = false;

  constructor(
    id: number,
    key: string,
    items: readonly SetItem<A>[],
    direct: readonly ResolvedHop<A>[],
    special: 'local' | 'blackhole' | 'reject' | null,
    localIf: number,
  ) {
    this.id = id;
    this.key = key;
    this.items = items;
    this.direct = direct;
    this.special = special;
    this.localIf = localIf;
  }
}

/**
 * A tracked next hop (FRR's NHT "rnh"): one gateway address (with, for a gateway given with its
 * interface, that interface), resolved once for every route using it, and re-resolved only when a
 * route covering it changes (see `TrackedIndex`).
 */
export class Tracked<A> {
  readonly key: string;
  readonly addr: A;
  /** Interface the gateway must be on (a connected network of it), or -1. */
  readonly ifIndex: number;
  /**
   * Length of the prefix the routes using this next hop are for, when that prefix covers the
   * gateway (and is not a host route): resolution skips it, as FRR's `nexthop_active` skips the
   * route's own node ("matched against ourself"). -1 when nothing is excluded.
   */
  readonly exclude: number;
  /** View level it resolved at (0 = through routes that need no resolution), or UNRESOLVED. */
  level = UNRESOLVED;
  /** Length of the prefix it resolved through, -1 when unresolved. */
  matchLength = -1;
  via: Dest<A> | null = null;
  kind: ResolvedKind = 'unresolved';
  hops: readonly ResolvedHop<A>[] = [];
  stateKey = 'u';
  /** The sets of the routes it resolved through (it depends on their resolution). */
  viaSets: readonly NextHopSet<A>[] = [];
  /** Sets using this tracked next hop. */
  readonly users = new Set<NextHopSet<A>>();

  constructor(key: string, addr: A, ifIndex: number, exclude: number) {
    this.key = key;
    this.addr = addr;
    this.ifIndex = ifIndex;
    this.exclude = exclude;
  }
}

/**
 * What a prefix points at in the FIB: the union of the selected routes' sets (one set in the common
 * case). Reference counted twice: prefixes whose selection maps to it (`desired`) and prefixes the
 * FIB was told point at it (`installed`); its id is handed back only when both are zero and the FIB
 * has been told, so the FIB never sees a prefix point at a released group.
 */
export class FibGroup<A> {
  readonly id: number;
  readonly key: string;
  readonly members: readonly NextHopSet<A>[];
  desired = 0;
  installed = 0;
  /** State key last written to the FIB, null before the first `setGroup`. */
  emittedKey: string | null = null;
  dirty = false;

  constructor(id: number, key: string, members: readonly NextHopSet<A>[]) {
    this.id = id;
    this.key = key;
    this.members = members;
  }
}

/** The source of a prefix's own candidate slot while it holds no route (never on any list). */
export const VACANT_SOURCE = new RouteSource(-1, 'static', '(vacant)');
