// Socket options as the protocol carries them (docs/remote-socket-protocol.md §5, "Option numbers
// and values"): Linux (level, name) numbers and little-endian values, mapped to the socket layer's.
import {
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_PKTINFO,
  IP_TOS,
  IP_TTL,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPV6_JOIN_GROUP,
  IPV6_LEAVE_GROUP,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_TCLASS,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  SO_BINDTODEVICE,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_SNDBUF,
  SOL_SOCKET,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_NODELAY,
} from '@nexthop/rsock-proto';
import type { OptionValue, SocketOption } from '@nexthop/stack';

/** The layer's options plus the two the server records without effect (the stack has no linger or port reuse groups). */
export type RsockOption = SocketOption | 'SO_LINGER' | 'SO_REUSEPORT';

const SOL: Record<number, RsockOption> = {
  [SO_REUSEADDR]: 'SO_REUSEADDR',
  [SO_SNDBUF]: 'SO_SNDBUF',
  [SO_RCVBUF]: 'SO_RCVBUF',
  [SO_KEEPALIVE]: 'SO_KEEPALIVE',
  [SO_REUSEPORT]: 'SO_REUSEPORT',
  [SO_LINGER]: 'SO_LINGER',
  [SO_BINDTODEVICE]: 'SO_BINDTODEVICE',
};
const TCP: Record<number, RsockOption> = {
  [TCP_NODELAY]: 'TCP_NODELAY',
  [TCP_KEEPIDLE]: 'TCP_KEEPIDLE',
  [TCP_KEEPINTVL]: 'TCP_KEEPINTVL',
  [TCP_KEEPCNT]: 'TCP_KEEPCNT',
};
const IP: Record<number, RsockOption> = {
  [IP_TOS]: 'IP_TOS',
  [IP_TTL]: 'IP_TTL',
  [IP_PKTINFO]: 'IP_PKTINFO',
  [IP_MULTICAST_IF]: 'IP_MULTICAST_IF',
  [IP_MULTICAST_TTL]: 'IP_MULTICAST_TTL',
  [IP_MULTICAST_LOOP]: 'IP_MULTICAST_LOOP',
  [IP_ADD_MEMBERSHIP]: 'IP_ADD_MEMBERSHIP',
  [IP_DROP_MEMBERSHIP]: 'IP_DROP_MEMBERSHIP',
};

const IPV6: Record<number, RsockOption> = {
  [IPV6_V6ONLY]: 'IPV6_V6ONLY',
  [IPV6_UNICAST_HOPS]: 'IPV6_UNICAST_HOPS',
  [IPV6_TCLASS]: 'IPV6_TCLASS',
  [IPV6_JOIN_GROUP]: 'IPV6_JOIN_GROUP',
  [IPV6_LEAVE_GROUP]: 'IPV6_LEAVE_GROUP',
  [IPV6_MULTICAST_IF]: 'IPV6_MULTICAST_IF',
  [IPV6_MULTICAST_HOPS]: 'IPV6_MULTICAST_HOPS',
  [IPV6_MULTICAST_LOOP]: 'IPV6_MULTICAST_LOOP',
};

export function isSoError(level: number, name: number): boolean {
  return level === SOL_SOCKET && name === SO_ERROR;
}

/** The option (level, name) names, or null (ENOPROTOOPT). SO_ERROR is read-only: null here. */
export function optionName(level: number, name: number): RsockOption | null {
  const table =
    level === SOL_SOCKET
      ? SOL
      : level === IPPROTO_TCP
        ? TCP
        : level === IPPROTO_IP
          ? IP
          : level === IPPROTO_IPV6
            ? IPV6
            : null;
  return table?.[name] ?? null;
}

const ONE_BYTE_OK = new Set<RsockOption>(['IP_TTL', 'IP_TOS', 'IP_MULTICAST_TTL', 'IP_MULTICAST_LOOP']);

function i32(v: Uint8Array, o: number): number {
  return v[o]! | (v[o + 1]! << 8) | (v[o + 2]! << 16) | (v[o + 3]! << 24);
}
function addr(v: Uint8Array, o: number): number {
  return ((v[o]! << 24) | (v[o + 1]! << 16) | (v[o + 2]! << 8) | v[o + 3]!) >>> 0;
}

/**
 * The layer's value for an option's bytes, or null when the length is wrong (EINVAL). Interface
 * indexes in ip_mreqn are the VR's, 1-based as in the datagram header (0 = by address).
 */
export function decodeOption(name: RsockOption, v: Uint8Array): OptionValue | null {
  switch (name) {
    case 'SO_BINDTODEVICE': {
      let n = v.length;
      while (n > 0 && v[n - 1] === 0) n--;
      return new TextDecoder().decode(v.subarray(0, n));
    }
    case 'SO_LINGER':
      return v.length >= 8 ? i32(v, 0) : null;
    case 'IP_MULTICAST_IF':
      // struct ip_mreqn names the interface by its address here (imr_ifindex is not mapped yet).
      if (v.length >= 12) return addr(v, 4);
      return v.length >= 4 ? addr(v, 0) : null;
    case 'IPV6_JOIN_GROUP':
    case 'IPV6_LEAVE_GROUP':
      // struct ipv6_mreq (RFC 3493 §5.2): the group, then the VR's 1-based interface index (0: none).
      return v.length >= 20 ? { group6: v.slice(0, 16), interface: i32(v, 16) - 1 } : null;
    case 'IPV6_MULTICAST_IF':
      // The VR's 1-based interface index, 0 for the default (RFC 3493 §5.2), as the layer's -1.
      return v.length >= 4 ? i32(v, 0) - 1 : null;
    case 'IP_ADD_MEMBERSHIP':
    case 'IP_DROP_MEMBERSHIP':
      if (v.length >= 12) return { group: addr(v, 0), interface: i32(v, 8) - 1 };
      // struct ip_mreq names the interface by address, which the layer cannot look up: ENODEV.
      if (v.length >= 8) return { group: addr(v, 0), interface: -1 };
      return null;
    default:
      if (v.length >= 4) return i32(v, 0);
      if (v.length >= 1 && ONE_BYTE_OK.has(name)) return v[0]!;
      return null;
  }
}

/** An int option's value as 4 little-endian bytes, truncated to the caller's optlen as Linux does. */
export function encodeOption(value: number, maxLength: number): Uint8Array {
  const out = new Uint8Array(Math.min(4, maxLength));
  for (let i = 0; i < out.length; i++) out[i] = (value >>> (8 * i)) & 0xff;
  return out;
}
