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
