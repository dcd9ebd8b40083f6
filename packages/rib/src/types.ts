/**
 * The RIB's public shapes: what protocols hand in (sources, routes, next hops), what goes out to
 * the FIB (next-hop groups and prefix → group mappings, in batches) and what `show` returns.
 */

export type SourceKind = 'connected' | 'static' | 'bgp' | 'ospf' | 'rip';

/**
 * FRR's default administrative distances (zebra `route_info[]`, `show ip route` "[distance/metric]"):
 * connected 0, static 1, eBGP 20, OSPF 110, RIP 120, iBGP 200. 255 means "never use" (FRR and
 * Cisco: a route of distance 255 is not installed).
 */
export const DEFAULT_DISTANCE = {
  connected: 0,
  static: 1,
  ebgp: 20,
  ospf: 110,
  rip: 120,
  ibgp: 200,
} as const;

export const UNUSABLE_DISTANCE = 255;

/**
 * A next hop as a protocol gives it.
 * - `{ gateway }`: resolved by the RIB; on a connected network directly, otherwise recursively.
 * - `{ gateway, ifIndex }`: the gateway must be on a connected network of that interface (as FRR
 *   checks a NEXTHOP_TYPE_IPV4_IFINDEX next hop), unless `onlink` says to trust it, or it is an IPv6
 *   link-local address (RFC 4291 §2.5.6: it means something on its link only, and names it).
 * - `{ ifIndex }`: directly connected (the destination itself is the neighbour).
 * - `{ type: 'local', ifIndex }`: delivered to the VR (its own addresses, broadcast addresses).
 * - `{ type: 'blackhole' }` drops silently; `{ type: 'reject' }` drops with ICMP unreachable.
 *
 * The RIB treats next-hop arrays handed to it as immutable (it caches what it derived from them).
 */
export type NextHop<A> =
  | { readonly gateway: A; readonly ifIndex?: number; readonly onlink?: boolean; readonly type?: undefined }
  | {
      readonly ifIndex: number;
      readonly gateway?: undefined;
      readonly onlink?: undefined;
      readonly type?: undefined;
    }
  | {
      readonly type: 'local';
      readonly ifIndex: number;
      readonly gateway?: undefined;
      readonly onlink?: undefined;
    }
  | {
      readonly type: 'blackhole' | 'reject';
      readonly gateway?: undefined;
      readonly ifIndex?: undefined;
      readonly onlink?: undefined;
    };

export interface RouteInput<A> {
  readonly nextHops: readonly NextHop<A>[];
  /** Lower is better among routes of equal distance; default 0. */
  readonly metric?: number;
  /** Overrides the source's distance (iBGP routes from a BGP source, `distance` on a static route). */
  readonly distance?: number;
  /** Opaque to the RIB (BGP path attributes, OSPF LSA reference…), handed back by `show`. */
  readonly attrs?: unknown;
}

/** A resolved forwarding next hop: a neighbour (gateway null: the destination itself) on an interface. */
export interface ResolvedHop<A> {
  readonly gateway: A | null;
  readonly ifIndex: number;
}

/** What a FIB group does with a packet. */
export type GroupState<A> =
  | { readonly kind: 'forward'; readonly hops: readonly ResolvedHop<A>[] }
  | { readonly kind: 'local'; readonly ifIndex: number }
  | { readonly kind: 'blackhole' }
  | { readonly kind: 'reject' };

/**
 * One family's half of the FIB, as the RIB drives it. Group ids are allocated by the RIB, dense and
 * reused only after `releaseGroup`. Within a batch the RIB calls, in this order: `setGroup` for new
 * groups and groups whose state changed (in place: every prefix pointing at the group follows),
 * then `setRoute`/`deleteRoute`, then `releaseGroup` for groups no prefix points at any more.
 */
export interface FibTableWriter<A> {
  setGroup(id: number, state: GroupState<A>): void;
  releaseGroup(id: number): void;
  setRoute(network: A, length: number, group: number): void;
  deleteRoute(network: A, length: number): void;
}

export interface FibWriter {
  /** Starts a batch: the FIB may defer making its changes visible until `commit`. */
  begin(): void;
  readonly v4: FibTableWriter<number>;
  readonly v6: FibTableWriter<Uint8Array>;
  commit(): void;
}

/** A next hop in `show`: as given, and what it resolved to. */
export interface NextHopInfo {
  /** `gateway`, `interface`, `local`, `blackhole` or `reject`. */
  type: string;
  gateway: string | null;
  ifIndex: number | null;
  /** Resolved through this prefix (recursive next hops; null when direct or unresolved). */
  via: string | null;
  resolved: boolean;
  /** What the next hop resolved to (forwarding hops), empty when unresolved or not forwarding. */
  hops: { gateway: string | null; ifIndex: number }[];
}

export interface RouteInfo {
  prefix: string;
  source: { kind: SourceKind; name: string };
  distance: number;
  metric: number;
  nextHops: NextHopInfo[];
  /** now − the time the route last changed, in the unit `now` is given in. */
  age: number;
  selected: boolean;
  /** Resolved (usable); only active routes can be selected. */
  active: boolean;
  attrs: unknown;
}

export interface RibCounters {
  routesBySource: Record<string, number>;
  prefixes: { v4: number; v6: number };
  selected: { v4: number; v6: number };
  trackedNextHops: { v4: number; v6: number };
  nextHopSets: { v4: number; v6: number };
  groups: { v4: number; v6: number };
}
