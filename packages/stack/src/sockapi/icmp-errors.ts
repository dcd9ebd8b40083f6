// What an ICMP error quoting one of our datagrams means to the transport that sent it: the errno
// (Linux's icmp_err_convert numbers, which applications compare against) and whether the error is
// hard or soft in the sense of RFC 1122. One table for TCP and the socket layer's UDP.
//
// RFC 1122 §3.2.2.1: Destination Unreachable codes 0 (net), 1 (host) and 5 (source route failed)
// "may result from a routing transient and MUST therefore be interpreted as only a hint": soft.
// Codes 11 and 12 (net/host unreachable for the type of service) are the same hint for one TOS:
// soft. Protocol and port unreachable (2, 3) are hard (RFC 1122 §4.2.3.9: "hard error conditions").
// The other codes state a lasting condition, not a transient: unknown network or host (6, 7), an
// isolated source (8), communication administratively prohibited (9, 10, 13; RFC 1812 §5.2.7.1),
// precedence violation or cut-off (14, 15): hard, as Linux has them. Time Exceeded and Parameter
// Problem are soft (RFC 1122 §4.2.3.9: "handled the same way as Destination Unreachable codes 0, 1,
// 5"). Fragmentation needed (code 4) is no error: it is path MTU information (RFC 1191) for the
// sender that set DF, which TCP handles itself; Source Quench is ignored (RFC 6633).
//
// How each transport uses the answer: TCP (RFC 1122 §4.2.3.9, TcpConnection.softOrHardError) fails
// a connection that is still opening on a hard error and otherwise keeps the error to report if the
// connection times out; UDP (RFC 1122 §4.1.3.3: "MUST pass to the application layer all ICMP error
// messages") makes any of them the pending error of a connected socket.
import {
  ICMP_DEST_UNREACHABLE,
  ICMP_PARAMETER_PROBLEM,
  ICMP_TIME_EXCEEDED,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_PARAMETER_PROBLEM,
  ICMPV6_TIME_EXCEEDED,
} from '@nexthop/wire';
import {
  EACCES,
  ECONNREFUSED,
  EHOSTDOWN,
  EHOSTUNREACH,
  ENETUNREACH,
  ENONET,
  ENOPROTOOPT,
  EOPNOTSUPP,
  EPROTO,
} from './errno.ts';

/** Destination Unreachable codes 0..15 (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1): errno. */
const UNREACH_ERRNO = [
  ENETUNREACH, // 0 net unreachable
  EHOSTUNREACH, // 1 host unreachable
  ENOPROTOOPT, // 2 protocol unreachable
  ECONNREFUSED, // 3 port unreachable
  0, // 4 fragmentation needed and DF set: path MTU information, not an error
  EOPNOTSUPP, // 5 source route failed
  ENETUNREACH, // 6 destination network unknown
  EHOSTDOWN, // 7 destination host unknown
  ENONET, // 8 source host isolated
  ENETUNREACH, // 9 network administratively prohibited
  EHOSTUNREACH, // 10 host administratively prohibited
  ENETUNREACH, // 11 network unreachable for TOS
  EHOSTUNREACH, // 12 host unreachable for TOS
  EHOSTUNREACH, // 13 communication administratively prohibited
  EHOSTUNREACH, // 14 host precedence violation
  EHOSTUNREACH, // 15 precedence cut-off in effect
];

/** Bit `code` set: Destination Unreachable `code` is a hard error (2, 3, 6-10, 13-15). */
const UNREACH_HARD = 0b1110_0111_1100_1100;

/** The errno an ICMP error (type, code) reports, 0 when it is none a transport reports. */
export function icmpErrno(type: number, code: number): number {
  if (type === ICMP_DEST_UNREACHABLE) return code >= 0 && code < 16 ? UNREACH_ERRNO[code]! : 0;
  if (type === ICMP_TIME_EXCEEDED) return EHOSTUNREACH;
  if (type === ICMP_PARAMETER_PROBLEM) return EPROTO;
  return 0;
}

/** Whether an ICMP error (type, code) with a non-zero icmpErrno is hard (RFC 1122 §4.2.3.9). */
export function icmpIsHard(type: number, code: number): boolean {
  return type === ICMP_DEST_UNREACHABLE && code >= 0 && code < 16 && ((UNREACH_HARD >>> code) & 1) === 1;
}

/**
 * ICMPv6 Destination Unreachable codes 0..6 (RFC 4443 §3.1, RFC 4443 codes 5-6): errno, as Linux's
 * icmpv6_err_convert. No route (0) and the address/neighbour failures (2, 3) are the routing hints
 * of RFC 1122's codes 0 and 1: soft. Prohibited by policy (1, 5, 6) and port unreachable (4) state a
 * lasting condition: hard.
 */
const UNREACH6_ERRNO = [ENETUNREACH, EACCES, EHOSTUNREACH, EHOSTUNREACH, ECONNREFUSED, EACCES, EACCES];
const UNREACH6_HARD = 0b111_0010;

/**
 * The errno an ICMPv6 error (type, code) reports, 0 when it is none a transport reports. Packet Too
 * Big (type 2) is path MTU information (RFC 8201), which TCP handles itself, as ICMP's code 4.
 */
export function icmpv6Errno(type: number, code: number): number {
  if (type === ICMPV6_DEST_UNREACHABLE) return code >= 0 && code < 7 ? UNREACH6_ERRNO[code]! : 0;
  if (type === ICMPV6_TIME_EXCEEDED) return EHOSTUNREACH;
  if (type === ICMPV6_PARAMETER_PROBLEM) return EPROTO;
  return 0;
}

/** Whether an ICMPv6 error with a non-zero icmpv6Errno is hard (Parameter Problem is, as in Linux). */
export function icmpv6IsHard(type: number, code: number): boolean {
  if (type === ICMPV6_PARAMETER_PROBLEM) return true;
  return type === ICMPV6_DEST_UNREACHABLE && code >= 0 && code < 7 && ((UNREACH6_HARD >>> code) & 1) === 1;
}
