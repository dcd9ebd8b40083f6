// What AF_INET6 sockets add to the socket layer: v4-mapped addresses (RFC 4291 §2.5.5.2), which
// addresses a socket covers when ports are shared (RFC 3493 §5.3: an AF_INET6 socket bound to ::
// without IPV6_V6ONLY also takes IPv4), and how an endpoint is written in `show sockets`.
import {
  formatIpv4,
  formatIpv6,
  isLinkScopedIpv6,
  isMulticastIpv6,
  isUnspecifiedIpv6,
  isV4MappedIpv6,
  mapIpv4ToIpv6,
} from '@nexthop/addr';
import { rd32 } from '@nexthop/wire';
import type { Sock } from './sock.ts';

export { isMulticastIpv6, isUnspecifiedIpv6, isV4MappedIpv6 };

/** See @nexthop/addr's isLinkScopedIpv6: an address whose zone is an interface (RFC 4007 §6). */
export function isLinkScoped(a: Uint8Array): boolean {
  return isLinkScopedIpv6(a, 0);
}

/** The IPv4 address inside a v4-mapped address (::ffff:a.b.c.d). */
export function unmapIpv4(a: Uint8Array): number {
  return rd32(a, 12);
}

/** Writes ::ffff:addr into out. */
export function mapIpv4(addr: number, out: Uint8Array): void {
  mapIpv4ToIpv6(addr, out, 0);
}

/** 32 bits of an IPv6 address for the port selector's keyed hash (RFC 6056 Algorithm 4 input). */
export function foldIpv6(a: Uint8Array): number {
  return (rd32(a, 0) ^ rd32(a, 4) ^ rd32(a, 8) ^ rd32(a, 12)) >>> 0;
}

/** Whether s takes IPv4 traffic at its address: an AF_INET socket, a mapped one, or a dual-stack :: one. */
export function coversIpv4(s: Sock): boolean {
  return s.family === 4 || s.mapped || (!s.v6only && isUnspecifiedIpv6(s.localAddr6));
}

/** Whether s takes IPv6 traffic: an AF_INET6 socket that is not talking IPv4. */
export function coversIpv6(s: Sock): boolean {
  return s.family === 6 && !s.mapped;
}

/**
 * Whether two sockets' local addresses meet, for the port-sharing rule: on IPv4, a wildcard meets
 * everything and two specific addresses meet when equal; the same on IPv6; and not across the two
 * (a dual-stack :: socket is on both sides). `a4`/`a6` are the addresses `s` is about to take.
 */
export function addressesMeet(s: Sock, a4: number, a6: Uint8Array, t: Sock): boolean {
  if (coversIpv4(s) && coversIpv4(t) && (a4 === 0 || t.localAddr === 0 || a4 === t.localAddr)) return true;
  if (!coversIpv6(s) || !coversIpv6(t)) return false;
  if (isUnspecifiedIpv6(a6) || isUnspecifiedIpv6(t.localAddr6)) return true;
  for (let i = 0; i < 16; i++) if (a6[i] !== t.localAddr6[i]) return false;
  return true;
}

/** `address:port` as ss(8) writes it: IPv6 in brackets, v4-mapped as ::ffff:a.b.c.d. */
export function formatEndpoint(
  family: 4 | 6,
  a4: number,
  a6: Uint8Array,
  mapped: boolean,
  port: string,
): string {
  if (family === 4) return `${formatIpv4(a4)}:${port}`;
  return mapped ? `[::ffff:${formatIpv4(a4)}]:${port}` : `[${formatIpv6(a6)}]:${port}`;
}
