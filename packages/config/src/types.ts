import type { Ipv4Prefix, Ipv6Prefix } from '@nexthop/addr';
import type { RawRouter } from './schema.ts';

export type DriverKind = 'afpacket' | 'tap' | 'pipe';

export interface ConfigError {
  /** Dotted path of the offending field, e.g. `routers.edge.interfaces.eth0.mtu`; '' for the whole file. */
  readonly path: string;
  /** 1-based line in the YAML text, when the position is known. */
  readonly line?: number;
  readonly message: string;
}

export interface InterfaceAddress {
  /** The interface's own address (host bits kept). */
  readonly address: number;
  readonly length: number;
  /** The connected subnet. */
  readonly prefix: Ipv4Prefix;
  /** As written in the file, for display. */
  readonly text: string;
}

export interface InterfaceAddress6 {
  /** The interface's own address, 16 bytes (host bits kept). */
  readonly address: Uint8Array;
  readonly length: number;
  /** The connected subnet. */
  readonly prefix: Ipv6Prefix;
  /** As written in the file, for display. */
  readonly text: string;
}

export interface RaPrefixConfig {
  readonly prefix: Ipv6Prefix;
  readonly onLink: boolean;
  readonly autonomous: boolean;
  readonly validLifetime: number;
  readonly preferredLifetime: number;
}

/** Router Advertisement settings of one interface (RFC 4861 §6.2.1; times as the RFC gives them). */
export interface RaSettings {
  readonly interval: number;
  readonly minInterval: number;
  readonly lifetime: number;
  readonly managed: boolean;
  readonly otherConfig: boolean;
  /** 0: no MTU option. */
  readonly mtu: number;
  readonly hopLimit: number;
  readonly reachableTime: number;
  readonly retransTimer: number;
  /** Explicit, or the interface's global subnets (RFC 4861 §6.2.1 AdvPrefixList default). */
  readonly prefixes: readonly RaPrefixConfig[];
  readonly dns: readonly Uint8Array[];
  readonly dnsLifetime: number;
}

export interface InterfaceConfig {
  readonly name: string;
  readonly driver: DriverKind;
  /** Kernel interface (afpacket, tap) or pipe link name (pipe, optional). */
  readonly device?: string;
  readonly addresses: readonly InterfaceAddress[];
  /** IPv6 addresses written in the file (the link-local one the VR forms itself is not among them). */
  readonly addresses6: readonly InterfaceAddress6[];
  /** Present when the interface sends Router Advertisements. */
  readonly ra?: RaSettings;
  readonly mtu?: number;
  readonly mac?: Uint8Array;
  /** Lower-case colon form of `mac`. */
  readonly macText?: string;
  readonly promiscuous: boolean;
  /** afpacket receive ring slots; undefined for the driver's default. */
  readonly ringSlots?: number;
}

export type RouteKind = 'gateway' | 'interface' | 'blackhole' | 'reject';

export interface RouteConfig {
  readonly prefix: Ipv4Prefix;
  readonly prefixText: string;
  /** gateway: `via` (maybe with `interface`); interface: directly attached; blackhole/reject: discard. */
  readonly kind: RouteKind;
  readonly via?: number;
  readonly viaText?: string;
  readonly interface?: string;
  /** Administrative distance; static routes default to 1. */
  readonly distance: number;
}

export interface Route6Config {
  readonly prefix: Ipv6Prefix;
  readonly prefixText: string;
  readonly kind: RouteKind;
  readonly via?: Uint8Array;
  readonly viaText?: string;
  /** Required with a link-local gateway (RFC 4007 §6: its scope is one link). */
  readonly interface?: string;
  readonly distance: number;
}

export interface ServicesConfig {
  readonly echo: boolean;
  readonly discard: boolean;
  readonly chargen: boolean;
}

/** Who may use the VR's remote socket API (docs/remote-socket-protocol.md §4). */
export interface AccessConfig {
  /** Peer uids (SO_PEERCRED) allowed in; default [0]. */
  readonly uids: readonly number[];
  /** Peer primary gids allowed in; default none. */
  readonly gids: readonly number[];
  /** Who may bind ports below 1024 besides uid 0. */
  readonly privilegedPorts: { readonly uids: readonly number[]; readonly gids: readonly number[] };
}

/** Limits of the remote socket API; a client is a uid. */
export interface QuotasConfig {
  /** Sockets one client may hold (EMFILE beyond). */
  readonly clientSockets: number;
  /** Bytes of socket buffers (the stack's and the relay's) one client's sockets may hold (ENOBUFS beyond). */
  readonly clientBufferedBytes: number;
  /** Remote sockets in the whole VR (ENFILE beyond). */
  readonly sockets: number;
  /** Bytes of socket buffers of all remote sockets in the whole VR (ENOBUFS beyond). */
  readonly bufferedBytes: number;
  /** Control connections one client may have open (refused at accept beyond). */
  readonly clientConnections: number;
  /** Control connections in the whole VR. */
  readonly connections: number;
}

export type BgpFamily = 'ipv4' | 'ipv6';
export type RedistributeSource = 'connected' | 'static';

/** A prefix BGP originates (`bgp.networks`). */
export interface BgpNetwork4 {
  readonly prefix: Ipv4Prefix;
  readonly text: string;
}

export interface BgpNetwork6 {
  readonly prefix: Ipv6Prefix;
  readonly text: string;
}

/** One `bgp.neighbors` entry. Times in seconds; absent ones take the engine's defaults. */
export interface BgpNeighborConfig {
  /** The key in `bgp.neighbors`. */
  readonly name: string;
  /** An IPv4 number or 16 IPv6 octets. */
  readonly address: number | Uint8Array;
  readonly addressText: string;
  /** The interface a link-local neighbour is reached on (RFC 4007 §6). */
  readonly interface?: string;
  readonly remoteAs: number;
  /** Same family as `address`. */
  readonly localAddress?: number | Uint8Array;
  readonly localAddressText?: string;
  /** Only accept connections (RFC 4271 §8.1.1 PassiveTcpEstablishment). */
  readonly passive: boolean;
  readonly port?: number;
  /** 0, or 3..65535 (RFC 4271 §4.2). */
  readonly holdTime?: number;
  readonly keepalive?: number;
  readonly connectRetry?: number;
  /** Families offered (RFC 4760); default both. */
  readonly families: readonly BgpFamily[];
  /**
   * A policy name in `policies.policies`, or `accept` / `reject`. Absent: RFC 8212 — an eBGP
   * neighbour imports (exports) nothing, an iBGP one everything.
   */
  readonly import?: string;
  readonly export?: string;
  readonly maxPrefixes?: number;
  /** TCP MD5 signature key (RFC 2385), 1..80 octets. */
  readonly password?: string;
  /** RFC 5082 GTSM. */
  readonly ttlSecurity: boolean;
  readonly routeReflectorClient: boolean;
  readonly nextHopSelf: boolean;
  /** A BFD session to the neighbour; its Down takes the BGP session down (RFC 5882). */
  readonly bfd: boolean;
}

/** `bgp.gracefulRestart`. Times in seconds. */
export interface BgpGracefulRestartConfig {
  readonly enabled: boolean;
  readonly restart: boolean;
  readonly restartTime: number;
  readonly staleTime: number;
  readonly selectionDeferralTime: number;
}

/** A router's `bgp` section. */
export interface BgpConfigSection {
  /** 1..4294967295 (RFC 6793 four-octet AS numbers). */
  readonly asn: number;
  /** BGP Identifier (RFC 6286), never 0. */
  readonly routerId: number;
  readonly routerIdText: string;
  /** 'config': written in the file; 'interface': the highest IPv4 interface address (as FRR picks). */
  readonly routerIdSource: 'config' | 'interface';
  /** Route reflection CLUSTER_ID (RFC 4456 §7); absent: the router id. */
  readonly clusterId?: number;
  readonly listen: boolean;
  /** RFC 4724, defaults filled in (FRR's: helper on, restart off, 120 s, 360 s, 360 s). */
  readonly gracefulRestart: BgpGracefulRestartConfig;
  /** Originated prefixes, by family, in file order. */
  readonly networks4: readonly BgpNetwork4[];
  readonly networks6: readonly BgpNetwork6[];
  readonly redistribute: readonly RedistributeSource[];
  /** In file order. */
  readonly neighbors: readonly BgpNeighborConfig[];
}

/**
 * One prefix-list entry in FRR's sense: a prefix matches when it lies inside `network/length` and
 * its own length is in ge..le (length ≤ ge ≤ le ≤ 32 or 128). Without ge and le: exactly the prefix.
 */
export type PrefixListEntry =
  | {
      readonly family: 4;
      readonly network: number;
      readonly length: number;
      readonly ge: number;
      readonly le: number;
      readonly text: string;
    }
  | {
      readonly family: 6;
      /** 16 octets, host bits zero. */
      readonly network: Uint8Array;
      readonly length: number;
      readonly ge: number;
      readonly le: number;
      readonly text: string;
    };

/** RFC 8092 large community: global administrator, local data 1, local data 2. */
export type LargeCommunity = readonly [number, number, number];

/** An AS path regular expression: as written (FRR syntax) and as a JavaScript RegExp source. */
export interface AsPathPattern {
  readonly text: string;
  /** `_` rewritten to FRR's boundary; compiles with `new RegExp(source)`. */
  readonly source: string;
}

/**
 * What one term matches. All the given kinds must hold (AND); inside one kind, any of the listed
 * values (OR). An empty term matches every route.
 */
export interface PolicyMatch {
  /** Names in `policies.prefixLists`. */
  readonly prefixLists: readonly string[];
  readonly asPaths: readonly AsPathPattern[];
  /** RFC 1997 communities as 32-bit numbers. */
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
  readonly family?: BgpFamily;
}

/** What one term changes when it matches. */
export interface PolicySet {
  readonly localPref?: number;
  readonly med?: number;
  readonly addCommunities: readonly number[];
  readonly removeCommunities: readonly number[];
  readonly addLargeCommunities: readonly LargeCommunity[];
  readonly removeLargeCommunities: readonly LargeCommunity[];
  /** Prepend the local AS this many times. */
  readonly prependAs?: number;
  /** IPv4: NEXT_HOP; IPv6 (16 octets): the MP_REACH_NLRI next hop. */
  readonly nextHop?: number | Uint8Array;
  readonly nextHopText?: string;
}

export type PolicyAction = 'accept' | 'reject' | 'next';

export interface PolicyTerm {
  readonly match: PolicyMatch;
  readonly set: PolicySet;
  /** Default 'accept'; 'next' goes on to the next term with the changes made. */
  readonly then: PolicyAction;
}

/** A router's `policies` section; empty maps when absent. A policy that falls off its end rejects. */
export interface PoliciesConfig {
  readonly prefixLists: ReadonlyMap<string, readonly PrefixListEntry[]>;
  readonly policies: ReadonlyMap<string, readonly PolicyTerm[]>;
}

/** A RIPv2 authentication key (RFC 4822 §3; md5 is RFC 2082's keyed MD5). */
export interface RipKeyConfig {
  readonly id: number;
  readonly algorithm: 'md5' | 'hmac-sha1' | 'hmac-sha256';
  readonly secret: Uint8Array;
}

/** One interface of a `rip` or `ripng` section. */
export interface RipInterfaceSection {
  readonly name: string;
  /** Added to received metrics (1..15). */
  readonly cost: number;
  readonly passive: boolean;
  readonly splitHorizon: 'poisoned-reverse' | 'simple' | 'none';
  /** RIPv2 only; empty: no authentication. */
  readonly keys: readonly RipKeyConfig[];
}

/** A router's `rip` (RIPv2) or `ripng` section. Times in seconds. */
export interface RipConfigSection {
  readonly interfaces: readonly RipInterfaceSection[];
  readonly timers: { readonly update: number; readonly timeout: number; readonly garbage: number };
  readonly redistribute: readonly ('connected' | 'static' | 'bgp')[];
  /** Metric of the routes we advertise ourselves. */
  readonly defaultMetric: number;
}

/** One interface of the `ospf` section; times in seconds. */
export interface OspfInterfaceSection {
  readonly name: string;
  readonly cost: number;
  readonly priority: number;
  readonly helloInterval: number;
  readonly deadInterval: number;
  readonly retransmitInterval: number;
  readonly transmitDelay: number;
  readonly network: 'broadcast' | 'point-to-point';
  readonly passive: boolean;
  /** A BFD session to each neighbour; its Down kills the neighbour (RFC 5882). */
  readonly bfd: boolean;
  /** OSPFv3 (the `ospf6` section): the instance id (RFC 5340 §2.4), 0 by default. */
  readonly instanceId?: number;
  readonly auth:
    | { readonly type: 'none' }
    | { readonly type: 'simple'; readonly key: string }
    | { readonly type: 'md5'; readonly keyId: number; readonly key: string };
}

export interface OspfAreaSection {
  /** The area id as a 32-bit number; 0 is the backbone. */
  readonly id: number;
  /** Dotted. */
  readonly idText: string;
  readonly interfaces: readonly OspfInterfaceSection[];
  /** A stub area (RFC 2328 §3.6; OSPFv3 the same, its default an Inter-Area-Prefix LSA of length 0, RFC 5340 §A.4.5). */
  readonly stub: boolean;
  /** The cost of the default summary originated into it as its ABR (§12.4.3.1). */
  readonly defaultCost: number;
}

/** A router's `ospf` section (OSPFv2, RFC 2328), defaults filled in. */
export interface OspfConfigSection {
  readonly routerId: number;
  readonly routerIdText: string;
  /** 'config': written in the file; 'interface': the highest IPv4 interface address. */
  readonly routerIdSource: 'config' | 'interface';
  readonly areas: readonly OspfAreaSection[];
  readonly redistribute: readonly RedistributeSource[];
  readonly externalMetric: number;
  readonly externalMetricType: 1 | 2;
  /** SPF throttling, ms. */
  readonly spfDelay: number;
  readonly spfHold: number;
  /** MinLSInterval (RFC 2328 Appendix B), ms: the least time between two originations of one LSA. */
  readonly lsaInterval: number;
}

/** A BFD key (RFC 5880 §6.7). */
export interface BfdAuthSection {
  readonly type: 'simple' | 'keyed-md5' | 'meticulous-md5' | 'keyed-sha1' | 'meticulous-sha1';
  readonly keyId: number;
  readonly key: string;
}

/** BFD session timers, ms. */
export interface BfdParamsSection {
  readonly transmitInterval: number;
  readonly receiveInterval: number;
  readonly multiplier: number;
  readonly auth?: BfdAuthSection;
}

/** A router's `bfd` section: defaults filled in, overrides by interface and by peer. */
export interface BfdConfigSection {
  readonly defaults: BfdParamsSection;
  readonly interfaces: readonly { readonly name: string; readonly params: Partial<BfdParamsSection> }[];
  readonly peers: readonly {
    readonly address: number | Uint8Array;
    readonly addressText: string;
    readonly interface?: string;
    readonly params: Partial<BfdParamsSection>;
  }[];
}

export interface RouterConfig {
  readonly name: string;
  /** In file order. */
  readonly interfaces: readonly InterfaceConfig[];
  readonly routes: readonly RouteConfig[];
  readonly routes6: readonly Route6Config[];
  readonly services: ServicesConfig;
  readonly access: AccessConfig;
  readonly quotas: QuotasConfig;
  /** Niceness of the VR process (setpriority(2)); 0 leaves it as started. */
  readonly nice: number;
  readonly bgp?: BgpConfigSection;
  readonly policies: PoliciesConfig;
  /** OSPFv2 (RFC 2328), when configured. */
  readonly ospf?: OspfConfigSection;
  /** BFD timers, when the section is there (sessions come from `bfd: true` of BGP and OSPF). */
  readonly bfd?: BfdConfigSection;
  /** OSPFv3 (RFC 5340), when configured: the same shape, authentication none. */
  readonly ospf6?: OspfConfigSection;
  /** RIPv2 (RFC 2453), when configured. */
  readonly rip?: RipConfigSection;
  /** RIPng (RFC 2080), when configured. */
  readonly ripng?: RipConfigSection;
  /**
   * This router's section as written (plain JSON data): what the manager compares to tell an
   * untouched router from a changed one, and hands to the VR process.
   */
  readonly raw: RawRouter;
}

export interface ManagerConfig {
  /** The management API's optional TCP listener; the Unix socket is always there. */
  readonly api: {
    readonly tcp?: { readonly host: string; readonly port: number };
    readonly tokenFile?: string;
    /** PEM files: the listener speaks HTTPS. Required off loopback. */
    readonly tls?: { readonly cert: string; readonly key: string };
  };
}

/** A problem a host check found in a file that `manager.api` names. */
export interface ApiFileProblem {
  /** The field under `manager.api`: ['tokenFile'], ['tls', 'cert'] or ['tls', 'key']. */
  readonly field: readonly string[];
  readonly message: string;
}

export interface NexthopConfig {
  readonly manager: ManagerConfig;
  /** In file order. */
  readonly routers: readonly RouterConfig[];
}

export interface ParseOptions {
  /**
   * Whether a kernel interface exists on this host. With it, an afpacket interface naming a device
   * that does not exist is an error (a TAP device is created when missing, so it is not checked).
   */
  readonly deviceExists?: (device: string) => boolean;
  /**
   * The config is for VR processes (nexthopd, `nexthop config check`): the pipe driver, which links
   * VRs inside one process only (tests, simulation), is refused.
   */
  readonly vrProcesses?: boolean;
  /**
   * Host check of the files a TCP listener needs (token file, TLS certificate and key): it reads
   * them and returns what is wrong. Only called for a section that is otherwise valid and has a
   * TCP listener. Without it the files are not looked at.
   */
  readonly checkApiFiles?: (api: ManagerConfig['api']) => readonly ApiFileProblem[];
}

export type ParseResult = { ok: true; config: NexthopConfig } | { ok: false; errors: ConfigError[] };
