import {
  Drop,
  decodeIcmpv6,
  decodeMld,
  decodeNdp,
  ICMPV6_ECHO_REPLY,
  ICMPV6_ECHO_REQUEST,
  ICMPV6_MLD_QUERY,
  ICMPV6_MLDV1_DONE,
  ICMPV6_MLDV1_REPORT,
  ICMPV6_MLDV2_REPORT,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_REDIRECT,
  ICMPV6_ROUTER_SOLICITATION,
  Icmpv6Message,
  IPPROTO_ICMPV6,
  IPV6_HEADER_LEN,
  type Ipv6Header,
  isIcmpv6Error,
  MldMessage,
  NdpMessage,
  pseudoHeaderSumIpv6,
  writeIcmpv6,
  writeIpv6Header,
} from '@nexthop/wire';
import { type Counters, Stat } from '../counters.ts';
import type { Interface } from '../interfaces.ts';
import { TX_HEADROOM } from '../link.ts';
import type { Ndp } from '../neighbour/ndp.ts';
import type { Ipv6Interface } from './interface6.ts';
import type { Output6 } from './output.ts';

/** An ICMPv6 message addressed to the VR, as `Stack.onIcmp6` shows it (tools and tests). */
export interface Icmpv6Event {
  /** Interface the message arrived on. */
  ifIndex: number;
  /** Source and destination addresses (copies). */
  src: Uint8Array;
  dst: Uint8Array;
  hopLimit: number;
  type: number;
  code: number;
  restOfHeader: number;
  /** Echo data, or the quoted packet of an error (a copy). */
  body: Uint8Array;
}

/** What the MLD listener part needs (control.ts): a query of `version` arrived, answer within its delay. */
export interface MldListener {
  onQuery(ifc6: Ipv6Interface, maxResponseDelayMs: number, version: number, now: number): void;
}

/**
 * ICMPv6 messages addressed to the VR (RFC 4443): echo requests answered (§4.2), Neighbor Discovery
 * handed to NDP after the checks of RFC 4861 §6.1 and §7.1 (wire.decodeNdp: hop limit 255, code 0,
 * option lengths), MLD queries to the listener (RFC 3810 §6), and the rest shown to `onIcmp6`.
 */
export class Icmpv6Input {
  onIcmp6: ((event: Icmpv6Event) => void) | null = null;
  /**
   * Errors (RFC 4443 §2.4 (a): "MUST notify the upper-layer process") go to the transports: the
   * quoted packet at quote[qOff, qOff+qLen) names the connection or socket (the socket layer).
   */
  onTransportError:
    | ((
        type: number,
        code: number,
        restOfHeader: number,
        quote: Uint8Array,
        qOff: number,
        qLen: number,
        now: number,
      ) => void)
    | null = null;
  private readonly ndp: Ndp;
  private readonly output: Output6;
  private readonly mld: MldListener;
  private readonly counters: Counters;
  private readonly message = new Icmpv6Message();
  private readonly nd = new NdpMessage();
  private readonly mldMessage = new MldMessage();
  private readonly peer = new Uint8Array(16);

  constructor(ndp: Ndp, output: Output6, mld: MldListener, counters: Counters) {
    this.ndp = ndp;
    this.output = output;
    this.mld = mld;
    this.counters = counters;
  }

  /**
   * The ICMPv6 message at buf[off, off+len) of the packet `h` that came in on `ifc` in the frame at
   * buf[frameOff..] (-1: the packet was reassembled from fragments).
   */
  input(
    ifc: Interface,
    ifc6: Ipv6Interface,
    h: Ipv6Header,
    buf: Uint8Array,
    frameOff: number,
    off: number,
    len: number,
    multicast: boolean,
    routerAlert: number,
    now: number,
  ): void {
    const m = this.message;
    const counters = this.counters;
    const pseudo = pseudoHeaderSumIpv6(buf, h.srcOffset, buf, h.dstOffset, IPPROTO_ICMPV6, 0);
    const r = decodeIcmpv6(buf, off, len, pseudo, m);
    if (r !== 0) return counters.rxDrop(ifc, r);
    counters.stats[Stat.ICMPV6_RECEIVED]! += 1;
    const type = m.type;
    if (type === ICMPV6_ECHO_REQUEST) return this.echo(ifc, ifc6, h, buf, multicast, now);
    if (type >= ICMPV6_ROUTER_SOLICITATION && type <= ICMPV6_REDIRECT) {
      // RFC 6980 §5: Neighbor Discovery never comes in fragments.
      if (frameOff < 0) return counters.rxDrop(ifc, Drop.NDP_FRAGMENTED);
      const nd = this.nd;
      const rn = decodeNdp(buf, off, len, h, nd);
      if (rn !== 0) return counters.rxDrop(ifc, rn);
      return this.ndp.input(ifc, ifc6, h, nd, buf, frameOff, now);
    }
    if (
      type === ICMPV6_MLD_QUERY ||
      type === ICMPV6_MLDV1_REPORT ||
      type === ICMPV6_MLDV1_DONE ||
      type === ICMPV6_MLDV2_REPORT
    ) {
      const q = this.mldMessage;
      const rm = decodeMld(buf, off, len, h, routerAlert, q);
      if (rm !== 0) return counters.rxDrop(ifc, rm);
      if (type === ICMPV6_MLD_QUERY) this.mld.onQuery(ifc6, q.maxResponseDelay, q.version, now);
      // Other listeners' reports: the VR is no multicast router (no querier, RFC 3810 §7).
      else counters.stats[Stat.MLD_IGNORED]! += 1;
      return;
    }
    const error = isIcmpv6Error(type);
    if (
      type === ICMPV6_PACKET_TOO_BIG &&
      this.output.learnPathMtu(buf, m.bodyOffset, m.bodyLength, m.restOfHeader, now)
    )
      counters.stats[Stat.IPV6_PMTU_LOWERED]! += 1;
    if (error && this.onTransportError !== null)
      this.onTransportError(type, m.code, m.restOfHeader, buf, m.bodyOffset, m.bodyLength, now);
    if (this.onIcmp6 !== null) {
      this.onIcmp6({
        ifIndex: ifc.index,
        src: buf.slice(h.srcOffset, h.srcOffset + 16),
        dst: buf.slice(h.dstOffset, h.dstOffset + 16),
        hopLimit: h.hopLimit,
        type,
        code: m.code,
        restOfHeader: m.restOfHeader,
        body: buf.slice(m.bodyOffset, m.bodyOffset + m.bodyLength),
      });
      return;
    }
    // RFC 4443 §2.4 (b): unknown informational messages are dropped; errors (given to the
    // transports above) and echo replies nobody waits for are counted as received.
    if (type !== ICMPV6_ECHO_REPLY && !error) counters.rxDrop(ifc, Drop.ICMPV6_UNHANDLED_TYPE);
  }

  /**
   * RFC 4443 §4.2: the reply carries the request's identifier, sequence and data, from the address
   * the request was sent to; to a group (§2.2 (b)), from an address of the receiving interface
   * chosen by RFC 6724 for the requester.
   */
  private echo(
    ifc: Interface,
    ifc6: Ipv6Interface,
    h: Ipv6Header,
    buf: Uint8Array,
    multicast: boolean,
    now: number,
  ): void {
    const m = this.message;
    const out = this.output;
    const peer = this.peer;
    for (let i = 0; i < 16; i++) peer[i] = buf[h.srcOffset + i]!;
    if (peer[0] === 0xff || (peer[0] === 0 && isUnspecified(peer)))
      return this.counters.rxDrop(ifc, Drop.IPV6_BAD_SOURCE);
    let src: Uint8Array | null;
    let srcOff = 0;
    if (multicast) {
      src = ifc6.sourceFor(peer, 0) ?? out.sourceFor(ifc.index, peer, 0);
    } else {
      src = buf;
      srcOff = h.dstOffset;
    }
    if (src === null) return this.counters.rxDrop(ifc, Drop.IPV6_NO_SOURCE_ADDRESS);
    const t = out.buf;
    const o = TX_HEADROOM;
    const icmpLen = writeIcmpv6(
      t,
      o + IPV6_HEADER_LEN,
      ICMPV6_ECHO_REPLY,
      0,
      m.restOfHeader,
      buf,
      m.bodyOffset,
      m.bodyLength,
      pseudoHeaderSumIpv6(src, srcOff, peer, 0, IPPROTO_ICMPV6, 0),
    );
    writeIpv6Header(t, o, 0, 0, icmpLen, IPPROTO_ICMPV6, out.defaultHopLimit, src, srcOff, peer, 0);
    this.counters.stats[Stat.ECHO6_REPLIES_SENT]! += 1;
    out.send(t, o, IPV6_HEADER_LEN + icmpLen, ifc.index, now);
  }
}

function isUnspecified(a: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== 0) return false;
  return true;
}
