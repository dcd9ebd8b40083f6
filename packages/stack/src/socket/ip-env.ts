/**
 * What the socket layer needs from the IP layer below it. Stack implements it; tests may fake it.
 * Addresses are unsigned 32-bit numbers; results are >= 0 or -errno.
 */
export interface IpEnv {
  /** Egress interface towards dst, restricted to `oif` when >= 0; -ENETUNREACH etc. when none. */
  route(dst: number, oif: number): number;
  /** The address to speak from on ifIndex towards dst, 0 if the interface has none. */
  sourceAddress(ifIndex: number, dst: number): number;
  isLocalAddress(addr: number): boolean;
  /** The interface that has this address, -1 if none does. */
  interfaceOfAddress(addr: number): number;
  /** A directed (subnet) broadcast address of a connected subnet. */
  isSubnetBroadcast(addr: number): boolean;
  interfaceIndex(name: string): number;
  interfaceName(ifIndex: number): string | null;
  /**
   * Sends a transport payload at buf[ipOff+20, ipOff+20+l4Len): the IP header is written at ipOff
   * and the Ethernet header in the 14 bytes before it. `ifIndex` >= 0 forces the egress interface
   * (multicast, bound device). Fragments unless `df`. Returns 0 or -errno.
   */
  output(
    buf: Uint8Array,
    ipOff: number,
    l4Len: number,
    protocol: number,
    src: number,
    dst: number,
    tos: number,
    ttl: number,
    df: boolean,
    ifIndex: number,
    now: number,
  ): number;
  defaultTtl: number;
}

/** What AF_INET6 sockets need from the IPv6 layer (Transport6 implements it). */
export interface Ip6Env {
  isLocalAddress(addr: Uint8Array): boolean;
  /** The source towards dst (RFC 6724), the unspecified address when there is no route. */
  sourceFor(dst: Uint8Array): Uint8Array;
  /**
   * Sends the upper-layer bytes at buf[ipOff+40, +l4Len) from src to dst, the IPv6 header written at
   * ipOff; `ifIndex` >= 0 forces the egress of a link-scoped destination. Returns 0 or -errno.
   */
  send(
    buf: Uint8Array,
    ipOff: number,
    l4Len: number,
    protocol: number,
    src: Uint8Array,
    dst: Uint8Array,
    trafficClass: number,
    hopLimit: number,
    ifIndex: number,
    now: number,
  ): number;
  readonly defaultHopLimit: number;
  /** The interface holding the usable address addr, -1 when none does. */
  interfaceOf(addr: Uint8Array): number;
  /** The usable link-local address of ifIndex, null when it has none (yet). */
  linkLocalOf(ifIndex: number): Uint8Array | null;
  /** A socket joined `group` on ifIndex (the interface accepts it, MLD reports it); 0 or -errno. */
  joinGroup(ifIndex: number, group: Uint8Array): number;
  leaveGroup(ifIndex: number, group: Uint8Array): void;
}
