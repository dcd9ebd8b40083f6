import {
  checksumAdjust,
  Drop,
  fragNeededRestOfHeader,
  ICMP_DEST_UNREACHABLE,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_FLAG_DF,
  rd16,
  TCP_MIN_HEADER,
  UDP_HEADER_LEN,
  UNREACH_FRAG_NEEDED,
  wr16,
} from '@nexthop/wire';
import { type Counters, Stat } from '../counters.ts';
import type { Egress } from '../egress.ts';
import type { IcmpErrors } from '../icmp/errors.ts';
import type { Interface } from '../interfaces.ts';
import type { RxState } from '../rx.ts';

/**
 * Forwarding proper (RFC 1812 §5.3), for a packet Ipv4Input found may go: the path MTU check
 * (RFC 1191), the TTL decrement, and the hand-over to Egress, aggregates (GSO/GRO) kept whole where
 * the link takes them. The packet is changed in place, in the receive ring.
 */
export class Forwarder {
  private readonly rx: RxState;
  private readonly egress: Egress;
  private readonly icmpErrors: IcmpErrors;
  private readonly counters: Counters;

  constructor(rx: RxState, egress: Egress, icmpErrors: IcmpErrors, counters: Counters) {
    this.rx = rx;
    this.egress = egress;
    this.icmpErrors = icmpErrors;
    this.counters = counters;
  }

  /**
   * Forwards the packet rx.ip describes (IP header at buf[ipOff]) that arrived on `ifc`, once
   * Ipv4Input found it may go: Egress.route has just filled the egress interface and next hop.
   */
  forward(ifc: Interface, buf: Uint8Array, ipOff: number, now: number): void {
    const rx = this.rx;
    const h = rx.ip;
    const counters = this.counters;
    const egress = this.egress;
    const out = egress.out!;
    const segmentSize = rx.segmentSize > 0 ? this.segmentable(buf, ipOff) : 0;
    // An aggregated frame stands for segments of segmentSize: those are what must fit.
    const wireLength = segmentSize > 0 ? this.segmentHeaders(buf, ipOff) + segmentSize : h.totalLength;
    if (wireLength > out.mtu && (h.flagsOffset & IPV4_FLAG_DF) !== 0) {
      // RFC 1191 §4: tell the sender the MTU of the next hop.
      this.icmpErrors.send(
        buf,
        ipOff,
        h.totalLength,
        ICMP_DEST_UNREACHABLE,
        UNREACH_FRAG_NEEDED,
        fragNeededRestOfHeader(out.mtu),
        rx.linkBroadcast,
        now,
      );
      return counters.rxDrop(ifc, Drop.IPV4_FRAG_NEEDED);
    }
    // RFC 1812 §5.3.1 TTL decrement with the RFC 1624 incremental checksum update.
    const ttlWordOld = (h.ttl << 8) | h.protocol;
    buf[ipOff + 8] = h.ttl - 1;
    wr16(buf, ipOff + 10, checksumAdjust(rd16(buf, ipOff + 10), ttlWordOld, ttlWordOld - 256));
    counters.stats[Stat.FORWARDED]! += 1;
    // An aggregate that fits goes as one packet, except UDP: its datagram boundaries matter even
    // then, TCP's segment boundaries do not.
    const aggregate = segmentSize > 0 && (h.totalLength > out.mtu || h.protocol === IPPROTO_UDP);
    egress.send(out, egress.nextHop, buf, ipOff, h.totalLength, aggregate ? segmentSize : 0, now);
  }

  /** The frame's segment size if it is an unfragmented TCP or UDP packet that can be cut, else 0. */
  private segmentable(buf: Uint8Array, ipOff: number): number {
    const h = this.rx.ip;
    if (h.isFragment) return 0;
    const l4Len = h.totalLength - h.headerLength;
    if (h.protocol === IPPROTO_TCP) {
      if (l4Len < TCP_MIN_HEADER) return 0;
      const thl = (buf[ipOff + h.headerLength + 12]! >>> 4) * 4;
      return thl >= TCP_MIN_HEADER && thl <= l4Len ? this.rx.segmentSize : 0;
    }
    return h.protocol === IPPROTO_UDP && l4Len >= UDP_HEADER_LEN ? this.rx.segmentSize : 0;
  }

  /** IP and TCP or UDP header bytes of the segmentable packet just decoded: what each segment repeats. */
  private segmentHeaders(buf: Uint8Array, ipOff: number): number {
    const h = this.rx.ip;
    if (h.protocol === IPPROTO_UDP) return h.headerLength + UDP_HEADER_LEN;
    return h.headerLength + (buf[ipOff + h.headerLength + 12]! >>> 4) * 4;
  }
}
