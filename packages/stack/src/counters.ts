import { DROP_REASON_COUNT } from '@nexthop/wire';
import { IF_RX_DROPS, type Interface } from './interfaces.ts';

/** Stack-wide counter slots, named in STAT_NAMES. */
export const Stat = {
  FORWARDED: 0,
  DELIVERED: 1,
  ECHO_REPLIES_SENT: 2,
  ICMP_ERRORS_SENT: 3,
  ARP_REQUESTS_SENT: 4,
  ARP_REPLIES_SENT: 5,
  FRAGMENTS_CREATED: 6,
  PACKETS_FRAGMENTED: 7,
  DATAGRAMS_REASSEMBLED: 8,
  FRAGMENTS_RECEIVED: 9,
  ARP_QUEUED: 10,
  TCP_RESETS_SENT: 11,
  ECHO_REQUESTS_SENT: 12,
  ICMP_RECEIVED: 13,
  ARP_IGNORED: 14,
  SEGMENTS_CREATED: 15,
  /** TCP aggregates handed to a link whole (forwarded or the VR's own), for it to segment. */
  AGGREGATES_OFFLOADED: 16,
  // IPv6: the counterparts of the IPv4 stats above, and Neighbor Discovery, DAD, RAs and MLD.
  IPV6_FORWARDED: 17,
  IPV6_DELIVERED: 18,
  ICMPV6_RECEIVED: 19,
  ICMPV6_ERRORS_SENT: 20,
  ECHO6_REPLIES_SENT: 21,
  ECHO6_REQUESTS_SENT: 22,
  IPV6_FRAGMENTS_RECEIVED: 23,
  IPV6_REASSEMBLED: 24,
  /** Link-scoped multicast for a group the VR did not join (another node's, on a shared link). */
  IPV6_MULTICAST_IGNORED: 25,
  NS_SENT: 26,
  NA_SENT: 27,
  NA_RECEIVED: 28,
  /** NDP messages not for us or with nothing to act on (§7.2.3, §7.2.5), as ARP_IGNORED. */
  NDP_IGNORED: 29,
  NDP_QUEUED: 30,
  RS_RECEIVED: 31,
  RA_RECEIVED: 32,
  RA_SENT: 33,
  REDIRECTS_SENT: 34,
  DAD_PREFERRED: 35,
  DAD_DUPLICATES: 36,
  MLD_REPORTS_SENT: 37,
  MLD_IGNORED: 38,
  IPV6_FRAGMENTS_CREATED: 39,
  /** Router Advertisements from another router that disagree with ours (RFC 4861 §6.2.7). */
  RA_INCONSISTENT: 40,
  /** Packet Too Big messages that lowered the path MTU to one of the VR's destinations (RFC 8201). */
  IPV6_PMTU_LOWERED: 41,
} as const;
export const STAT_NAMES = Object.keys(Stat).map((k) => k.toLowerCase());

/**
 * What the stack counts: events by `Stat`, and drops by reason (`wire.Drop`). Malformed or refused
 * input is counted and dropped, never thrown (DESIGN §5). One instance, shared by every module.
 */
export class Counters {
  readonly stats = new Float64Array(STAT_NAMES.length);
  readonly drops = new Float64Array(DROP_REASON_COUNT);

  /** A frame that arrived on `ifc` is dropped: counted by reason and against the interface. */
  rxDrop(ifc: Interface, reason: number): void {
    this.drops[reason]! += 1;
    ifc.counters[IF_RX_DROPS]! += 1;
  }
}
