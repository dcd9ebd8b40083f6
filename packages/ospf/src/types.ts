import type { OspfAuth } from './packet.ts';

// The engine's configuration, what it hands the RIB, and what `show` returns.

export type NetworkType = 'broadcast' | 'point-to-point';

/** One interface OSPF runs on; times in seconds. */
export interface OspfInterfaceConfig {
  /** The VR's interface name. */
  readonly name: string;
  /** The stack's interface index. */
  readonly ifIndex: number;
  /** The interface's (primary) IPv4 address and prefix length. */
  readonly address: number;
  readonly prefixLength: number;
  readonly type: NetworkType;
  readonly cost: number;
  readonly priority: number;
  readonly helloInterval: number;
  readonly deadInterval: number;
  readonly retransmitInterval: number;
  readonly transmitDelay: number;
  /** Advertised (as a stub network) but no Hellos sent or accepted. */
  readonly passive: boolean;
  readonly auth: OspfAuth;
  /** The IP MTU, as DD packets carry it. */
  readonly mtu: number;
  /** OSPFv3: the interface's link-local address (the source of its packets, §A.1). */
  readonly linkLocal?: Uint8Array;
  /** OSPFv3: its global prefixes (Link-LSA, Intra-Area-Prefix LSA). */
  readonly prefixes?: readonly { readonly address: Uint8Array; readonly length: number }[];
  /** OSPFv3: the instance id (RFC 5340 §2.4; 0). */
  readonly instanceId?: number;
  /** OSPFv3: the interface id (default the index plus one). */
  readonly interfaceId?: number;
}

export interface OspfAreaConfig {
  /** The area id as a 32-bit number (0: the backbone). */
  readonly id: number;
  readonly interfaces: readonly OspfInterfaceConfig[];
  /** A stub area (RFC 2328 §3.6): no AS-external LSAs; its ABR originates a default summary. */
  readonly stub?: boolean;
  /** The cost of that default summary (StubDefaultCost, §C.2; 1). */
  readonly defaultCost?: number;
}

/** A route this router brings into OSPF as an AS-external-LSA (RFC 2328 §12.4.4). */
export interface OspfExternalConfig {
  readonly network: number;
  /** OSPFv3: the IPv6 prefix (network is then 0). */
  readonly network6?: Uint8Array;
  readonly length: number;
  readonly metric: number;
  readonly metricType: 1 | 2;
  readonly tag: number;
}

export interface OspfConfig {
  /** 2 (RFC 2328, the default) or 3 (RFC 5340: IPv6). */
  readonly version?: 2 | 3;
  readonly routerId: number;
  readonly areas: readonly OspfAreaConfig[];
  readonly externals: readonly OspfExternalConfig[];
  /** SPF throttling, ms: the delay after the first change, and the least time between two runs. */
  readonly spfDelay: number;
  readonly spfHold: number;
  /** MinLSInterval, ms (RFC 2328 Appendix B: 5 s). */
  readonly minLsInterval?: number;
}

/** One next hop: a neighbour's address (0: the destination is on the link) out of an interface. */
export interface OspfNextHop {
  readonly gateway: number;
  /** OSPFv3: the neighbour's link-local address (absent: on the link). */
  readonly gateway6?: Uint8Array;
  readonly ifIndex: number;
}

export type OspfRouteType = 'intra-area' | 'inter-area' | 'external-1' | 'external-2';

export interface OspfRoute {
  readonly network: number;
  /** OSPFv3: the IPv6 prefix (network is then 0). */
  readonly network6?: Uint8Array;
  readonly length: number;
  readonly type: OspfRouteType;
  /** The cost (the type 1 part for type 2 externals). */
  readonly cost: number;
  /** Type 2 externals: the external metric, which ranks them first. */
  readonly type2Cost?: number;
  /** The area it was found in (externals: the area of the ASBR route). */
  readonly area: number;
  readonly nextHops: readonly OspfNextHop[];
}

/** Where the engine's routes go (the VR's RIB, a map in tests). */
export interface OspfRouteSink {
  update(network: number, length: number, route: OspfRoute | null, now: number): void;
  /** OSPFv3's routes. */
  update6?(network: Uint8Array, length: number, route: OspfRoute | null, now: number): void;
}

export interface OspfInterfaceShow {
  name: string;
  area: string;
  address: string;
  type: NetworkType;
  state: string;
  cost: number;
  priority: number;
  passive: boolean;
  dr: string;
  bdr: string;
  helloInterval: number;
  deadInterval: number;
  neighbors: number;
  adjacencies: number;
}

export interface OspfNeighborShow {
  routerId: string;
  address: string;
  interface: string;
  area: string;
  state: string;
  priority: number;
  /** DR, BDR or DROther (on broadcast networks), as the neighbour declares itself. */
  role: string;
  deadInMs: number;
  retransmitQueue: number;
  requestQueue: number;
  stateChanges: number;
  /** When it last reached Full (ms, the engine's clock), or null. */
  fullSince: number | null;
}

export interface OspfLsaShow {
  area: string | null;
  /** Link-scoped (OSPFv3 Link-LSAs): the interface. */
  interface?: string;
  type: string;
  id: string;
  advRouter: string;
  seq: string;
  age: number;
  checksum: string;
  length: number;
  self: boolean;
}

export interface OspfRouteShow {
  prefix: string;
  type: OspfRouteType;
  cost: number;
  type2Cost?: number;
  area: string;
  nextHops: { gateway: string | null; interface: string }[];
}

export interface OspfShow {
  version: 2 | 3;
  routerId: string;
  state: string;
  areas: { id: string; interfaces: number; lsas: number; spfRuns: number; stub: boolean }[];
  externalLsas: number;
  spfRuns: number;
  lastSpfMs: number | null;
  /** How long the last run took (the SPF itself, the table's diff and the routes to the sink), ms. */
  lastSpfDurationMs: number | null;
  /** The time of every run so far, ms. */
  spfTotalMs: number;
  routes: number;
  counters: {
    rx: Record<string, number>;
    tx: Record<string, number>;
    drops: Record<string, number>;
    events: Record<string, number>;
  };
}
