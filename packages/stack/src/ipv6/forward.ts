import {
  copyBytes,
  Drop,
  foldSum,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_TIME_EXCEEDED,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV6_HEADER_LEN,
  IPV6_MIN_MTU,
  type Ipv6Header,
  NDP_HOP_LIMIT,
  NDP_OPT_TARGET_LINK_ADDRESS,
  pseudoHeaderSumIpv6,
  rd32,
  setIcmpv6Checksum,
  sumWords,
  TCP_CWR,
  TCP_FIN,
  TCP_MIN_HEADER,
  TCP_PSH,
  TIME_EXCEEDED6_HOP_LIMIT,
  UDP_HEADER_LEN,
  UNREACH6_BEYOND_SCOPE,
  UNREACH6_NO_ROUTE,
  UNREACH6_REJECT_ROUTE,
  wr16,
  wr32,
  writeIpv6Header,
  writeLinkAddressOption,
  writeRedirect,
  writeRedirectedHeaderOption,
} from '@nexthop/wire';
import { type Counters, Stat } from '../counters.ts';
import type { Interface } from '../interfaces.ts';
import { packetBuffer, TX_HEADROOM } from '../link.ts';
import { NUD_INCOMPLETE } from '../neighbour/cache.ts';
import type { Ndp } from '../neighbour/ndp.ts';
import type { RxState } from '../rx.ts';
import type { Icmpv6Errors } from './icmpv6-errors.ts';
import type { Ipv6Interface } from './interface6.ts';
import { type Output6, ROUTE_BLACKHOLE, ROUTE_DOWN, ROUTE_NONE, ROUTE_REJECT } from './output.ts';

/**
 * IPv6 forwarding (RFC 8200, RFC 4443, RFC 4861 §8.2) of a packet Ipv6Input found is not for the
 * VR, after its one route lookup. The extension headers are not looked at: Hop-by-Hop Options need
 * not be processed by a router (RFC 8200 §4.3's note), and headers it does not know must pass (RFC
 * 7045 §2.2). The packet is changed in place, in the receive ring: only its hop limit (IPv6 has
 * no header checksum).
 */
export class Forwarder6 {
  private readonly rx: RxState;
  private readonly h: Ipv6Header;
  private readonly output: Output6;
  private readonly ndp: Ndp;
  private readonly errors: Icmpv6Errors;
  private readonly counters: Counters;
  /** Where Redirects and software-cut segments are built. */
  private readonly buf = packetBuffer();
  private readonly target = new Uint8Array(16);

  constructor(
    rx: RxState,
    h: Ipv6Header,
    output: Output6,
    ndp: Ndp,
    errors: Icmpv6Errors,
    counters: Counters,
  ) {
    this.rx = rx;
    this.h = h;
    this.output = output;
    this.ndp = ndp;
    this.errors = errors;
    this.counters = counters;
  }

  /**
   * The packet `h` describes (at buf[ipOff..]) arrived on `ifc` for someone else; `route` is the
   * ROUTE_* outcome of its lookup (Output6 holds the egress and next hop for ROUTE_OK).
   */
  forward(
    ifc: Interface,
    ifc6: Ipv6Interface,
    buf: Uint8Array,
    ipOff: number,
    route: number,
    now: number,
  ): void {
    const h = this.h;
    const counters = this.counters;
    if (this.rx.linkBroadcast) return counters.rxDrop(ifc, Drop.IPV6_NOT_FOR_US);
    // RFC 4291 §2.5.2: a packet from :: is never forwarded.
    if (isUnspecified(buf, h.srcOffset)) return counters.rxDrop(ifc, Drop.IPV6_BAD_SOURCE);
    if (route === ROUTE_NONE || route === ROUTE_DOWN) {
      this.error(ifc, buf, ipOff, ICMPV6_DEST_UNREACHABLE, UNREACH6_NO_ROUTE, 0, now);
      return counters.rxDrop(ifc, route === ROUTE_NONE ? Drop.IPV6_NO_ROUTE : Drop.INTERFACE_DOWN);
    }
    if (route === ROUTE_BLACKHOLE) return counters.rxDrop(ifc, Drop.IPV6_BLACKHOLE);
    if (route === ROUTE_REJECT) {
      // RFC 4443 §3.1 code 6, "reject route to destination": what a reject route is (a subset of
      // code 1, administratively prohibited, for senders that do not know it). Linux answers its
      // `unreachable` routes with code 0 instead, which cannot be told from having no route.
      this.error(ifc, buf, ipOff, ICMPV6_DEST_UNREACHABLE, UNREACH6_REJECT_ROUTE, 0, now);
      return counters.rxDrop(ifc, Drop.IPV6_REJECT);
    }
    // RFC 8200 §3: decremented by each node that forwards; 0 (or 1 before it) is discarded.
    if (h.hopLimit <= 1) {
      this.error(ifc, buf, ipOff, ICMPV6_TIME_EXCEEDED, TIME_EXCEEDED6_HOP_LIMIT, 0, now);
      return counters.rxDrop(ifc, Drop.IPV6_HOP_LIMIT_EXCEEDED);
    }
    const output = this.output;
    const out = output.out!;
    const sameLink = out.index === ifc.index;
    // RFC 4291 §2.5.6: a link-local source stays on its link (RFC 4443 §3.1 code 2); back out of
    // the interface it came by, it has not left the link (the Redirect case, as Linux has it).
    if (!sameLink && buf[h.srcOffset] === 0xfe && (buf[h.srcOffset + 1]! & 0xc0) === 0x80) {
      this.error(ifc, buf, ipOff, ICMPV6_DEST_UNREACHABLE, UNREACH6_BEYOND_SCOPE, 0, now);
      return counters.rxDrop(ifc, Drop.IPV6_LINK_LOCAL_SCOPE);
    }
    const segmentSize = this.rx.segmentSize > 0 ? this.segmentable(buf, ipOff) : 0;
    const wireLength = segmentSize > 0 ? this.segmentHeaders(buf, ipOff) + segmentSize : h.totalLength;
    if (wireLength > out.mtu) {
      // RFC 8200 §5: routers do not fragment; RFC 4443 §3.2 tells the source the link's MTU.
      this.error(ifc, buf, ipOff, ICMPV6_PACKET_TOO_BIG, 0, out.mtu, now);
      return counters.rxDrop(ifc, Drop.IPV6_PACKET_TOO_BIG);
    }
    if (sameLink) this.redirect(ifc, ifc6, buf, ipOff, now);
    buf[ipOff + 7] = h.hopLimit - 1;
    counters.stats[Stat.IPV6_FORWARDED]! += 1;
    // An aggregate that fits goes as one packet, except UDP: its datagram boundaries matter.
    if (segmentSize > 0 && (h.totalLength > out.mtu || h.nextHeader === IPPROTO_UDP))
      this.cut(out, buf, ipOff, segmentSize, now);
    else output.toNeighbour(out, output.nextHop, 0, buf, ipOff, h.totalLength, now);
  }

  private error(
    ifc: Interface,
    buf: Uint8Array,
    ipOff: number,
    type: number,
    code: number,
    rest: number,
    now: number,
  ): void {
    this.errors.send(buf, ipOff, this.h.totalLength, type, code, rest, this.rx.linkBroadcast, ifc.index, now);
  }

  /**
   * RFC 4861 §8.2: the packet leaves by the interface it came in on, and its source is a neighbour
   * there: tell the source of the better first hop — the next hop's link-local address, or the
   * destination itself when it is on-link. Rate limited with the ICMPv6 errors; the packet is
   * forwarded all the same.
   */
  private redirect(ifc: Interface, ifc6: Ipv6Interface, buf: Uint8Array, ipOff: number, now: number): void {
    const h = this.h;
    if (!ifc6.onLink(buf, h.srcOffset)) return;
    const output = this.output;
    const nextHop = output.nextHop;
    const onLink = sameBytes(nextHop, buf, h.dstOffset);
    // §8.2: a router target is named by its link-local address, the only one we can vouch for.
    if (!onLink && !(nextHop[0] === 0xfe && (nextHop[1]! & 0xc0) === 0x80)) return;
    const ll = ifc6.linkLocal();
    if (ll === null) return;
    if (!this.errors.take(now)) return;
    const target = this.target;
    for (let i = 0; i < 16; i++) target[i] = nextHop[i]!;
    const t = this.buf;
    const o = TX_HEADROOM;
    const icmp = o + IPV6_HEADER_LEN;
    let len = writeRedirect(t, icmp, target, 0, buf, h.dstOffset);
    const e = this.ndp.get(ifc.index, target, 0);
    if (e !== undefined && e.state !== NUD_INCOMPLETE)
      len += writeLinkAddressOption(t, icmp + len, NDP_OPT_TARGET_LINK_ADDRESS, e.linkAddress, 0);
    // §4.5: as much of the packet as fits the minimum MTU.
    len += writeRedirectedHeaderOption(
      t,
      icmp + len,
      buf,
      ipOff,
      h.totalLength,
      IPV6_MIN_MTU - IPV6_HEADER_LEN - len,
    );
    writeIpv6Header(t, o, 0, 0, len, IPPROTO_ICMPV6, NDP_HOP_LIMIT, ll.address, 0, buf, h.srcOffset);
    setIcmpv6Checksum(t, icmp, len, pseudoHeaderSumIpv6(ll.address, 0, t, o + 24, IPPROTO_ICMPV6, 0));
    this.counters.stats[Stat.REDIRECTS_SENT]! += 1;
    output.toNeighbour(ifc, t, o + 24, t, o, IPV6_HEADER_LEN + len, now);
  }

  /** The frame's segment size if it is a TCP or UDP packet (no extension headers) that can be cut, else 0. */
  private segmentable(buf: Uint8Array, ipOff: number): number {
    const h = this.h;
    const l4Len = h.payloadLength;
    if (h.nextHeader === IPPROTO_TCP) {
      if (l4Len < TCP_MIN_HEADER) return 0;
      const thl = (buf[ipOff + IPV6_HEADER_LEN + 12]! >>> 4) * 4;
      return thl >= TCP_MIN_HEADER && thl <= l4Len ? this.rx.segmentSize : 0;
    }
    return h.nextHeader === IPPROTO_UDP && l4Len >= UDP_HEADER_LEN ? this.rx.segmentSize : 0;
  }

  private segmentHeaders(buf: Uint8Array, ipOff: number): number {
    if (this.h.nextHeader === IPPROTO_UDP) return IPV6_HEADER_LEN + UDP_HEADER_LEN;
    return IPV6_HEADER_LEN + (buf[ipOff + IPV6_HEADER_LEN + 12]! >>> 4) * 4;
  }

  /**
   * Software segmentation of a GSO/GRO aggregate that does not fit the egress link (gso.ts for
   * IPv6): segments of `size` bytes, TCP sequence numbers advancing, FIN and PSH on the last, CWR on
   * the first; each UDP datagram its own header; checksums over the IPv6 pseudo-header.
   */
  private cut(out: Interface, buf: Uint8Array, ipOff: number, size: number, now: number): void {
    const h = this.h;
    const isTcp = h.nextHeader === IPPROTO_TCP;
    const l4 = ipOff + IPV6_HEADER_LEN;
    const l4hl = isTcp ? (buf[l4 + 12]! >>> 4) * 4 : UDP_HEADER_LEN;
    const payload = h.payloadLength - l4hl;
    const seq0 = isTcp ? rd32(buf, l4 + 4) : 0;
    const flags = isTcp ? buf[l4 + 13]! : 0;
    const f = this.buf;
    const o = TX_HEADROOM;
    const fl4 = o + IPV6_HEADER_LEN;
    const output = this.output;
    let done = 0;
    for (let i = 0; done < payload; i++) {
      const chunk = Math.min(size, payload - done);
      const last = done + chunk >= payload;
      copyBytes(buf, ipOff, f, o, IPV6_HEADER_LEN + l4hl);
      copyBytes(buf, l4 + l4hl + done, f, fl4 + l4hl, chunk);
      const l4Len = l4hl + chunk;
      wr16(f, o + 4, l4Len);
      const pseudo = pseudoHeaderSumIpv6(f, o + 8, f, o + 24, h.nextHeader, l4Len);
      if (isTcp) {
        wr32(f, fl4 + 4, (seq0 + done) >>> 0);
        let segFlags = flags;
        if (!last) segFlags &= ~(TCP_FIN | TCP_PSH);
        if (i > 0) segFlags &= ~TCP_CWR;
        f[fl4 + 13] = segFlags;
        wr16(f, fl4 + 16, 0);
        wr16(f, fl4 + 16, ~foldSum(sumWords(f, fl4, l4Len, pseudo)) & 0xffff);
      } else {
        wr16(f, fl4 + 4, l4Len);
        wr16(f, fl4 + 6, 0);
        const sum = ~foldSum(sumWords(f, fl4, l4Len, pseudo)) & 0xffff;
        wr16(f, fl4 + 6, sum === 0 ? 0xffff : sum);
      }
      this.counters.stats[Stat.SEGMENTS_CREATED]! += 1;
      output.toNeighbour(out, output.nextHop, 0, f, o, IPV6_HEADER_LEN + l4Len, now);
      done += chunk;
    }
  }
}

function isUnspecified(buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (buf[off + i] !== 0) return false;
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[off + i]) return false;
  return true;
}
