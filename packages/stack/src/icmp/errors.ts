import {
  Drop,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_ERROR_MAX_QUOTE,
  IPPROTO_ICMP,
  IPV4_MIN_HEADER,
  IPV4_OFFSET_MASK,
  icmpIsError,
  isMartianSource,
  isMulticastIpv4,
  rd16,
  rd32,
  writeIcmp,
  writeIpv4Header,
} from '@nexthop/wire';
import { type Counters, Stat } from '../counters.ts';
import type { Egress } from '../egress.ts';
import type { InterfaceTable } from '../interfaces.ts';
import type { LocalOutput } from '../ipv4/output.ts';
import { TX_HEADROOM } from '../link.ts';
import type { TokenBucket } from '../token-bucket.ts';

/** Highest ICMP type RFC 792 and RFC 950 define: an unknown type above it is not answered. */
const ICMP_TYPE_MAX_KNOWN = 18;
/** Internetwork control precedence, as routers mark their own control traffic (RFC 791 §3.1). */
const TOS_INTERNETWORK_CONTROL = 0xc0;

/** The one place ICMP errors are made: for forwarding, delivery, ARP failure and reassembly. */
export class IcmpErrors {
  private readonly ifaces: InterfaceTable;
  private readonly egress: Egress;
  private readonly output: LocalOutput;
  private readonly counters: Counters;
  private readonly limiter: TokenBucket;

  constructor(
    ifaces: InterfaceTable,
    egress: Egress,
    output: LocalOutput,
    counters: Counters,
    limiter: TokenBucket,
  ) {
    this.ifaces = ifaces;
    this.egress = egress;
    this.output = output;
    this.counters = counters;
    this.limiter = limiter;
  }

  /**
   * Sends an ICMP error about the packet at buf[ipOff, ipOff+ipLen), unless RFC 1812 §4.3.2.7
   * forbids it: never about an ICMP error, a non-initial fragment, a packet sent to a link-layer
   * group (`linkBroadcast`: false when the packet did not just arrive), an IP broadcast or multicast,
   * or from an address that does not name one host. Rate limited (§4.3.2.8). `source`, when not 0,
   * is the address to answer from.
   */
  send(
    buf: Uint8Array,
    ipOff: number,
    ipLen: number,
    type: number,
    code: number,
    restOfHeader: number,
    linkBroadcast: boolean,
    now: number,
    source = 0,
  ): void {
    const hl = (buf[ipOff]! & 15) * 4;
    const src = rd32(buf, ipOff + 12);
    const dst = rd32(buf, ipOff + 16);
    const broadcasts = this.ifaces.broadcasts;
    if ((rd16(buf, ipOff + 6) & IPV4_OFFSET_MASK) !== 0) return;
    if (isMartianSource(src) || src === 0 || broadcasts.has(src)) return;
    if (dst === 0xffffffff || isMulticastIpv4(dst) || broadcasts.has(dst)) return;
    if (linkBroadcast) return;
    if (buf[ipOff + 9] === IPPROTO_ICMP && ipLen > hl) {
      const icmpType = buf[ipOff + hl]!;
      if (
        icmpIsError(icmpType) ||
        (icmpType !== ICMP_ECHO_REQUEST && icmpType !== ICMP_ECHO_REPLY && icmpType > ICMP_TYPE_MAX_KNOWN)
      )
        return;
    }
    // RFC 1812 §4.3.2.4: the source is an address of the interface the error leaves by, or for a
    // packet addressed to the VR itself, the address it was sent to (as hosts do, RFC 1122 §3.2.2).
    const back = this.egress.interfaceTowards(src);
    if (back === null) return;
    const from = source !== 0 ? source : back.sourceFor(src);
    if (from === 0) return;
    if (!this.limiter.take(now)) {
      this.counters.drops[Drop.ICMP_RATE_LIMITED]! += 1;
      return;
    }
    const out = this.output;
    const t = out.buf;
    const o = TX_HEADROOM;
    const quote = Math.min(ipLen, ICMP_ERROR_MAX_QUOTE);
    const icmpLen = writeIcmp(t, o + IPV4_MIN_HEADER, type, code, restOfHeader, buf, ipOff, quote);
    writeIpv4Header(
      t,
      o,
      TOS_INTERNETWORK_CONTROL,
      IPV4_MIN_HEADER + icmpLen,
      out.nextId(),
      0,
      out.defaultTtl,
      IPPROTO_ICMP,
      from,
      src,
    );
    this.counters.stats[Stat.ICMP_ERRORS_SENT]! += 1;
    out.send(t, o, IPV4_MIN_HEADER + icmpLen, now);
  }
}
