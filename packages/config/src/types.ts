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
