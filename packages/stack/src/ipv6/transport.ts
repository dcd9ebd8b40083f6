// The IPv6 network layer as the VR's own transports see it (TCP's TcpEnv, the socket layer): the
// header in front of a segment or datagram, the path towards a destination (source address, MTU),
// and the reset that answers a segment for a closed port.
import {
  IPPROTO_TCP,
  IPV6_HEADER_LEN,
  IPV6_MIN_MTU,
  pseudoHeaderSumIpv6,
  type TcpHeader,
  writeIpv6Header,
} from '@nexthop/wire';
import { type Counters, Stat } from '../counters.ts';
import type { Interface } from '../interfaces.ts';
import { TX_HEADROOM } from '../link.ts';
import { EMSGSIZE, ENETUNREACH } from '../sockapi/errno.ts';
import { writeClosedPortReset } from '../tcp/closed-port.ts';
import type { Ipv6Interface } from './interface6.ts';
import { type Output6, ROUTE_DOWN, ROUTE_OK } from './output.ts';

/** The largest IPv6 payload without a Jumbo Payload option (RFC 8200 §3: a 16-bit length). */
const MAX_PAYLOAD = 65535;

function isLinkLocal(a: Uint8Array): boolean {
  return a[0] === 0xfe && (a[1]! & 0xc0) === 0x80;
}

export class Transport6 {
  private readonly output: Output6;
  private readonly v6: readonly (Ipv6Interface | undefined)[];
  private readonly counters: Counters;
  /** The time of the last packet sent: path MTU entries are aged by it (mtuFor has no clock). */
  private now = 0;
  /** What sourceFor returns when there is none: the unspecified address (never written to). */
  private readonly none = new Uint8Array(16);

  constructor(output: Output6, v6: readonly (Ipv6Interface | undefined)[], counters: Counters) {
    this.output = output;
    this.v6 = v6;
    this.counters = counters;
  }

  get defaultHopLimit(): number {
    return this.output.defaultHopLimit;
  }

  /**
   * Sends the upper-layer bytes at buf[ipOff + 40, + l4Len) from src to dst (RFC 8200 §3), the
   * IPv6 header written at ipOff. A link-local destination leaves by the interface that owns the
   * link-local source (RFC 4007 §6: the scope zone of the pair), unless `ifIndex` names one.
   * Larger than the egress MTU, a TCP segment is refused with -EMSGSIZE; anything else leaves in
   * fragments. Returns 0 or -errno; drops are counted by Output6.
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
  ): number {
    if (l4Len > MAX_PAYLOAD) return -EMSGSIZE;
    this.now = now;
    writeIpv6Header(buf, ipOff, trafficClass, 0, l4Len, protocol, hopLimit, src, 0, dst, 0);
    let oif = ifIndex;
    if (oif < 0 && (isLinkLocal(dst) || dst[0] === 0xff)) {
      oif = this.interfaceOf(src);
      if (oif < 0) return -ENETUNREACH;
    }
    // TCP segments are never fragmented here: one larger than the link is refused with EMSGSIZE, on
    // which the connection re-reads the route's MTU and shrinks its MSS, as over IPv4 with DF.
    const output = this.output;
    if (output.send(buf, ipOff, IPV6_HEADER_LEN + l4Len, oif, now, protocol !== IPPROTO_TCP)) return 0;
    return output.tooBig ? -EMSGSIZE : -ENETUNREACH;
  }

  /** The interface a packet to dst leaves by (up or not), null without a route or for a link-scoped dst. */
  egressTowards(dst: Uint8Array): Interface | null {
    if (isLinkLocal(dst) || dst[0] === 0xff) return null;
    return this.output.interfaceTowards(dst, 0);
  }

  /**
   * MTU towards dst, 0 without a route. A link-local destination has no route (its zone is the
   * socket's): IPv6's minimum MTU is safe on every link (RFC 8200 §5).
   */
  mtuFor(dst: Uint8Array): number {
    if (isLinkLocal(dst)) return IPV6_MIN_MTU;
    const link = this.egressTowards(dst)?.mtu ?? 0;
    // What a Packet Too Big taught about the path (RFC 8201), as of the last packet sent.
    return link === 0 ? 0 : Math.min(link, this.output.pathMtu.lookup(dst, 0, this.now));
  }

  /** The source address towards dst (RFC 6724 §5, Output6.sourceFor), the unspecified address for none. */
  sourceFor(dst: Uint8Array): Uint8Array {
    const r = this.output.route(dst, 0, 0, -1);
    if (r !== ROUTE_OK && r !== ROUTE_DOWN) return this.none;
    return this.output.sourceFor(this.output.out!.index, dst, 0) ?? this.none;
  }

  /** Whether addr is one of the VR's usable IPv6 addresses. */
  isLocalAddress(addr: Uint8Array): boolean {
    return this.interfaceOf(addr) >= 0;
  }

  /** The interface holding the usable address addr, -1 when none does. */
  interfaceOf(addr: Uint8Array): number {
    const v6 = this.v6;
    for (let i = 0; i < v6.length; i++) {
      const a = v6[i]?.find(addr, 0) ?? null;
      if (a?.usable) return i;
    }
    return -1;
  }

  /**
   * RFC 9293 §3.10.7.1: the answer to `seg` (decoded from a packet from src to dst) when no
   * connection or listener takes it: a reset, from the address the segment was sent to, back by
   * the interface it came in on when that address is link-local.
   */
  reset(seg: TcpHeader, src: Uint8Array, dst: Uint8Array, ifIndex: number, now: number): void {
    const t = this.output.buf;
    const o = TX_HEADROOM;
    const pseudo = pseudoHeaderSumIpv6(dst, 0, src, 0, IPPROTO_TCP, 0);
    const len = writeClosedPortReset(t, o + IPV6_HEADER_LEN, seg, pseudo);
    if (len === 0) return;
    this.counters.stats[Stat.TCP_RESETS_SENT]! += 1;
    this.send(t, o, len, IPPROTO_TCP, dst, src, 0, this.output.defaultHopLimit, ifIndex, now);
  }
}
