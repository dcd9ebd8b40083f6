import {
  Drop,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_PARAMETER_PROBLEM,
  ICMPV6_REDIRECT,
  IPPROTO_AH,
  IPPROTO_DSTOPTS,
  IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS,
  IPPROTO_ICMPV6,
  IPPROTO_ROUTING,
  IPV6_EXT_MAX_HEADERS,
  IPV6_HEADER_LEN,
  PARAM_PROBLEM_OPTION,
  pseudoHeaderSumIpv6,
  rd16,
  writeIcmpv6Error,
  writeIpv6Header,
} from '@nexthop/wire';
import { type Counters, Stat } from '../counters.ts';
import { TX_HEADROOM } from '../link.ts';
import type { TokenBucket } from '../token-bucket.ts';
import type { Output6 } from './output.ts';

/**
 * The one place ICMPv6 errors are made (RFC 4443 §2.4): for forwarding, delivery, neighbour
 * resolution failure and reassembly. §2.4 (e) decides whether one may be sent at all, (f) limits
 * their rate with a token bucket, §2.2 chooses the source.
 */
export class Icmpv6Errors {
  private readonly output: Output6;
  private readonly counters: Counters;
  private readonly limiter: TokenBucket;
  private readonly peer = new Uint8Array(16);

  constructor(output: Output6, counters: Counters, limiter: TokenBucket) {
    this.output = output;
    this.counters = counters;
    this.limiter = limiter;
  }

  /**
   * Sends an ICMPv6 error (type < 128) about the packet at buf[ipOff, ipOff+ipLen), quoting as much
   * of it as fits in 1280 bytes (§2.4 (c)), unless §2.4 (e) forbids it: never about an ICMPv6 error
   * or a Redirect (e.1), a packet sent to a multicast address (e.2) or a link-layer group address
   * (e.3, `linkMulticast`: false when the packet did not just arrive) — except Packet Too Big and a
   * code 2 Parameter Problem, which tell the source what only it can fix — nor to a source that
   * does not name one node (e.4: unspecified or multicast). `inIf` is the interface the packet came
   * in by (where a link-local source is), `source` the address it was sent to when that is ours
   * (§2.2 (a): the reply comes from it); otherwise RFC 6724 picks one for the way back. Rate limited
   * (§2.4 (f)); counted when limited.
   */
  send(
    buf: Uint8Array,
    ipOff: number,
    ipLen: number,
    type: number,
    code: number,
    restOfHeader: number,
    linkMulticast: boolean,
    inIf: number,
    now: number,
    source: Uint8Array | null = null,
  ): void {
    const src = ipOff + 8;
    if (buf[src] === 0xff || isUnspecified(buf, src)) return;
    const mayAnswerGroup =
      type === ICMPV6_PACKET_TOO_BIG || (type === ICMPV6_PARAMETER_PROBLEM && code === PARAM_PROBLEM_OPTION);
    if ((buf[ipOff + 24] === 0xff || linkMulticast) && !mayAnswerGroup) return;
    if (isErrorOrRedirect(buf, ipOff, ipLen)) return;
    const output = this.output;
    const peer = this.peer;
    for (let i = 0; i < 16; i++) peer[i] = buf[src + i]!;
    let back = inIf;
    if (!(peer[0] === 0xfe && (peer[1]! & 0xc0) === 0x80)) {
      const towards = output.interfaceTowards(peer, 0);
      if (towards === null) {
        this.counters.drops[Drop.IPV6_NO_ROUTE]! += 1;
        return;
      }
      back = towards.index;
    }
    const from = source ?? output.sourceFor(back, peer, 0);
    if (from === null) {
      this.counters.drops[Drop.IPV6_NO_SOURCE_ADDRESS]! += 1;
      return;
    }
    if (!this.limiter.take(now)) {
      this.counters.drops[Drop.ICMPV6_RATE_LIMITED]! += 1;
      return;
    }
    const t = output.buf;
    const o = TX_HEADROOM;
    const icmpLen = writeIcmpv6Error(
      t,
      o + IPV6_HEADER_LEN,
      type,
      code,
      restOfHeader,
      buf,
      ipOff,
      ipLen,
      pseudoHeaderSumIpv6(from, 0, peer, 0, IPPROTO_ICMPV6, 0),
    );
    writeIpv6Header(t, o, 0, 0, icmpLen, IPPROTO_ICMPV6, output.defaultHopLimit, from, 0, peer, 0);
    this.counters.stats[Stat.ICMPV6_ERRORS_SENT]! += 1;
    output.send(t, o, IPV6_HEADER_LEN + icmpLen, back, now);
  }

  /** Whether the rate limit lets one more message out now (Redirects share it, RFC 4861 §8.2). */
  take(now: number): boolean {
    if (this.limiter.take(now)) return true;
    this.counters.drops[Drop.ICMPV6_RATE_LIMITED]! += 1;
    return false;
  }
}

function isUnspecified(buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (buf[off + i] !== 0) return false;
  return true;
}

/**
 * RFC 4443 §2.4 (e.1), and RFC 4861 §8.2's Redirect: whether the packet carries an ICMPv6 error or a
 * Redirect, past its extension headers (as far as they can be walked: a chain that cannot is no
 * proof of one, as Linux's is_ineligible judges; an ICMPv6 header cut off is taken as one).
 */
function isErrorOrRedirect(buf: Uint8Array, ipOff: number, ipLen: number): boolean {
  let nh = buf[ipOff + 6]!;
  let p = ipOff + IPV6_HEADER_LEN;
  const end = ipOff + ipLen;
  for (let i = 0; i <= IPV6_EXT_MAX_HEADERS; i++) {
    if (nh === IPPROTO_ICMPV6) {
      if (p >= end) return true;
      const type = buf[p]!;
      return type < 128 || type === ICMPV6_REDIRECT;
    }
    if (p + 8 > end) return false;
    if (nh === IPPROTO_HOPOPTS || nh === IPPROTO_ROUTING || nh === IPPROTO_DSTOPTS) {
      nh = buf[p]!;
      p += (buf[p + 1]! + 1) * 8;
    } else if (nh === IPPROTO_FRAGMENT) {
      // A later fragment holds no upper-layer header.
      if ((rd16(buf, p + 2) & 0xfff8) !== 0) return false;
      nh = buf[p]!;
      p += 8;
    } else if (nh === IPPROTO_AH) {
      nh = buf[p]!;
      p += (buf[p + 1]! + 2) * 4;
    } else return false;
  }
  return false;
}
