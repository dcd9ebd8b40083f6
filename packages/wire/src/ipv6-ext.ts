import { rd16, rd32 } from './bytes.ts';
import { Drop } from './drop.ts';
import {
  IPPROTO_AH,
  IPPROTO_DSTOPTS,
  IPPROTO_FRAGMENT,
  IPPROTO_HIP,
  IPPROTO_HOPOPTS,
  IPPROTO_MOBILITY,
  IPPROTO_ROUTING,
  IPPROTO_SHIM6,
  IPV6_HEADER_LEN,
  IPV6_NEXT_HEADER_FIELD,
  IPV6_PAYLOAD_LENGTH_FIELD,
} from './ipv6.ts';

/**
 * Local limits on what a packet may carry before its upper-layer header (RFC 8504 §5.3, RFC 8883
 * §3): how many extension headers, how many bytes of them, and how many options other than padding
 * in one Hop-by-Hop or Destination Options header (Linux's max_hbh_opts_number and
 * max_dst_opts_number default to 8 too). Padding runs are limited to 7 bytes (RFC 8504 §5.3,
 * RFC 4942 §2.1.9.5).
 */
export const IPV6_EXT_MAX_HEADERS = 8;
export const IPV6_EXT_MAX_CHAIN = 512;
export const IPV6_EXT_MAX_OPTIONS = 8;
const MAX_PADDING = 7;

/** Options of Hop-by-Hop and Destination Options headers (RFC 8200 §4.2, RFC 2711). */
export const IPV6_OPT_PAD1 = 0;
export const IPV6_OPT_PADN = 1;
export const IPV6_OPT_ROUTER_ALERT = 5;
/** Router Alert values (RFC 2711 §2.1): the datagram holds an MLD message. */
export const ROUTER_ALERT_MLD = 0;

/** The two high bits of an option type: what to do when the option is not recognised (RFC 8200 §4.2). */
export const OPTION_ACTION_SKIP = 0;
export const OPTION_ACTION_DISCARD = 1;
export const OPTION_ACTION_DISCARD_ICMP = 2;
export const OPTION_ACTION_DISCARD_ICMP_UNICAST = 3;

/** Routing header types (IANA): 0 is deprecated (RFC 5095), 2 is Mobile IPv6, 4 is the SRH (RFC 8754). */
export const ROUTING_TYPE_0 = 0;

/** ICMPv6 Parameter Problem codes (RFC 4443 §3.4, RFC 7112 §5, RFC 8883 §4). */
export const PARAM_PROBLEM_HEADER_FIELD = 0;
export const PARAM_PROBLEM_NEXT_HEADER = 1;
export const PARAM_PROBLEM_OPTION = 2;
export const PARAM_PROBLEM_INCOMPLETE_CHAIN = 3;
export const PARAM_PROBLEM_CHAIN_TOO_LONG = 7;
export const PARAM_PROBLEM_TOO_MANY_HEADERS = 8;
export const PARAM_PROBLEM_TOO_MANY_OPTIONS = 9;

/** Caller-owned scratch, filled by decodeIpv6Extensions. */
export class Ipv6Extensions {
  /**
   * What follows the chain: the upper-layer protocol, or IPPROTO_NONE, IPPROTO_ESP (opaque), or,
   * for a fragment other than the first, the Next Header of its Fragment header.
   */
  protocol = 0;
  /** Absolute offset of the Next Header field that holds `protocol` (for a code 1 Parameter Problem). */
  protocolFieldOffset = 0;
  /** Absolute offset of the upper-layer header (or fragment data), and the bytes from there to the packet's end. */
  payloadOffset = 0;
  payloadLength = 0;
  /** Extension headers walked, and their bytes. */
  headerCount = 0;
  chainLength = 0;
  /** A Hop-by-Hop Options header came first. */
  hopByHop = false;
  /** Value of the Router Alert option of the Hop-by-Hop header (RFC 2711), or -1. */
  routerAlert = -1;
  /**
   * The first Routing header: absolute offset (or -1), type and Segments Left. The walk goes on past
   * it: the caller refuses what it does not implement (RFC 8200 §4.4: a type it does not know with
   * Segments Left ≠ 0 is a code 0 Parameter Problem at the type field, offset + 2; RFC 5095 §3
   * makes type 0 such a type).
   */
  routingOffset = -1;
  routingType = -1;
  segmentsLeft = 0;
  /** The Fragment header (RFC 8200 §4.5): absolute offset, or -1. */
  fragmentHeaderOffset = -1;
  /** Absolute offset of the Next Header field naming the Fragment header: what reassembly rewrites. */
  fragmentFieldOffset = -1;
  /** Fragment offset in bytes, the M flag, and the identification. */
  fragmentOffset = 0;
  moreFragments = false;
  fragmentId = 0;
  /**
   * On a drop, the ICMPv6 Parameter Problem the RFCs ask for: its code (-1: send none) and pointer
   * (offset from the start of the IPv6 header, RFC 4443 §3.4). The caller still applies RFC 4443
   * §2.4 (e) and its rate limit.
   */
  problemCode = -1;
  pointer = 0;
  /** The action bits of an unrecognised option (OPTION_ACTION_*), on IPV6_UNKNOWN_OPTION. */
  optionAction = 0;

  /** A fragment in the sense of RFC 6946: an atomic fragment (offset 0, M clear) is not one. */
  get isFragment(): boolean {
    return this.fragmentOffset !== 0 || this.moreFragments;
  }
}

function reset(out: Ipv6Extensions): void {
  out.protocol = 0;
  out.protocolFieldOffset = 0;
  out.payloadOffset = 0;
  out.payloadLength = 0;
  out.headerCount = 0;
  out.chainLength = 0;
  out.hopByHop = false;
  out.routerAlert = -1;
  out.routingOffset = -1;
  out.routingType = -1;
  out.segmentsLeft = 0;
  out.fragmentHeaderOffset = -1;
  out.fragmentFieldOffset = -1;
  out.fragmentOffset = 0;
  out.moreFragments = false;
  out.fragmentId = 0;
  out.problemCode = -1;
  out.pointer = 0;
  out.optionAction = 0;
}

function problem(out: Ipv6Extensions, reason: number, code: number, at: number, ipOff: number): number {
  out.problemCode = code;
  out.pointer = at - ipOff;
  return reason;
}

/**
 * Extension headers of RFC 7045 §2 and the IANA registry that this walker does not process:
 * Mobility (RFC 6275), HIP (RFC 7401), Shim6 (RFC 5533) and the experimental 253, 254 (RFC 4727).
 */
function isUnprocessedExtension(nh: number): boolean {
  return nh === IPPROTO_MOBILITY || nh === IPPROTO_HIP || nh === IPPROTO_SHIM6 || nh === 253 || nh === 254;
}

/**
 * The TLV options of a Hop-by-Hop or Destination Options header at buf[start, end) (RFC 8200 §4.2).
 * Returns 0, or a Drop reason with the Parameter Problem filled in.
 */
function walkOptions(
  buf: Uint8Array,
  start: number,
  end: number,
  ipOff: number,
  hopByHop: boolean,
  maxOptions: number,
  out: Ipv6Extensions,
): number {
  let p = start + 2;
  let padding = 0;
  let options = 0;
  while (p < end) {
    const type = buf[p]!;
    if (type === IPV6_OPT_PAD1) {
      // Pad1 is one byte without length or data.
      if (++padding > MAX_PADDING) return Drop.IPV6_OPTION_BAD_PADDING;
      p++;
      continue;
    }
    if (p + 2 > end) return Drop.IPV6_OPTION_BAD_LENGTH;
    const dataLen = buf[p + 1]!;
    if (p + 2 + dataLen > end) return Drop.IPV6_OPTION_BAD_LENGTH;
    if (type === IPV6_OPT_PADN) {
      padding += 2 + dataLen;
      if (padding > MAX_PADDING) return Drop.IPV6_OPTION_BAD_PADDING;
      // RFC 4942 §2.1.9.5: PadN carries zeros; anything else is a covert channel.
      for (let i = p + 2; i < p + 2 + dataLen; i++) if (buf[i] !== 0) return Drop.IPV6_OPTION_BAD_PADDING;
    } else {
      padding = 0;
      if (++options > maxOptions) {
        return problem(out, Drop.IPV6_OPTION_TOO_MANY, PARAM_PROBLEM_TOO_MANY_OPTIONS, p, ipOff);
      }
      if (type === IPV6_OPT_ROUTER_ALERT && hopByHop) {
        // RFC 2711 §2.1: two bytes of value, nothing else.
        if (dataLen !== 2) return Drop.IPV6_OPTION_BAD_LENGTH;
        out.routerAlert = rd16(buf, p + 2);
      } else {
        const action = type >>> 6;
        if (action !== OPTION_ACTION_SKIP) {
          out.optionAction = action;
          // RFC 8200 §4.2: 10 always answers; 11 only when the destination is not multicast.
          const answer =
            action === OPTION_ACTION_DISCARD_ICMP ||
            (action === OPTION_ACTION_DISCARD_ICMP_UNICAST && buf[ipOff + 24] !== 0xff);
          return problem(out, Drop.IPV6_UNKNOWN_OPTION, answer ? PARAM_PROBLEM_OPTION : -1, p, ipOff);
        }
      }
    }
    p += 2 + dataLen;
  }
  return 0;
}

/**
 * Walks the extension headers of the IPv6 packet at buf[off, off+len) (len: the packet's
 * totalLength, from decodeIpv6) up to the upper-layer header, as its destination does (RFC 8200
 * §4): Hop-by-Hop Options (only first, §4.1), Routing (§4.4; exposed, not acted on), Fragment
 * (§4.5), Destination Options (§4.6) and AH (RFC 4302 §2.2, skipped); it stops at ESP, No Next
 * Header (§4.7) and after the Fragment header of a fragment other than the first. Options are
 * checked as §4.2 says, unrecognised ones by their two action bits. Bounded by the limits above
 * (RFC 8883). Returns 0, or a Drop reason; `out.problemCode` then says which Parameter Problem, if
 * any, to send. Reads only buf[off, off+len); a forwarding router, which must pass headers it does
 * not know (RFC 7045 §2.2), does not call this.
 */
export function decodeIpv6Extensions(
  buf: Uint8Array,
  off: number,
  len: number,
  out: Ipv6Extensions,
  maxHeaders = IPV6_EXT_MAX_HEADERS,
  maxChainLength = IPV6_EXT_MAX_CHAIN,
  maxOptions = IPV6_EXT_MAX_OPTIONS,
): number {
  reset(out);
  if (len < IPV6_HEADER_LEN) return Drop.IPV6_TRUNCATED;
  const end = off + len;
  let nh = buf[off + IPV6_NEXT_HEADER_FIELD]!;
  let field = off + IPV6_NEXT_HEADER_FIELD;
  let p = off + IPV6_HEADER_LEN;
  let firstFragment = false;
  for (;;) {
    if (
      nh !== IPPROTO_HOPOPTS &&
      nh !== IPPROTO_ROUTING &&
      nh !== IPPROTO_FRAGMENT &&
      nh !== IPPROTO_DSTOPTS &&
      nh !== IPPROTO_AH
    ) {
      break;
    }
    if (nh === IPPROTO_HOPOPTS && p !== off + IPV6_HEADER_LEN) {
      // RFC 8200 §4.1: only right after the fixed header; anywhere else the value 0 is unrecognised.
      return problem(out, Drop.IPV6_HBH_NOT_FIRST, PARAM_PROBLEM_NEXT_HEADER, field, off);
    }
    if (out.headerCount === maxHeaders) {
      return problem(out, Drop.IPV6_EXT_TOO_MANY, PARAM_PROBLEM_TOO_MANY_HEADERS, p, off);
    }
    // Every header here starts with Next Header; all but Fragment give their length next.
    if (p + 8 > end) return truncated(out, firstFragment);
    let hdrLen: number;
    if (nh === IPPROTO_FRAGMENT) hdrLen = 8;
    else if (nh === IPPROTO_AH) hdrLen = (buf[p + 1]! + 2) * 4;
    else hdrLen = (buf[p + 1]! + 1) * 8;
    if (p + hdrLen > end) return truncated(out, firstFragment);
    if (p + hdrLen - (off + IPV6_HEADER_LEN) > maxChainLength) {
      return problem(out, Drop.IPV6_EXT_CHAIN_TOO_LONG, PARAM_PROBLEM_CHAIN_TOO_LONG, p, off);
    }
    out.headerCount++;
    if (nh === IPPROTO_HOPOPTS || nh === IPPROTO_DSTOPTS) {
      const hopByHop = nh === IPPROTO_HOPOPTS;
      if (hopByHop) out.hopByHop = true;
      const r = walkOptions(buf, p, p + hdrLen, off, hopByHop, maxOptions, out);
      if (r !== 0) return r;
    } else if (nh === IPPROTO_ROUTING) {
      if (out.routingOffset < 0) {
        out.routingOffset = p;
        out.routingType = buf[p + 2]!;
        out.segmentsLeft = buf[p + 3]!;
      }
    } else if (nh === IPPROTO_FRAGMENT) {
      const word = rd16(buf, p + 2);
      const fragmentOffset = word & 0xfff8;
      const more = (word & 1) === 1;
      const fragmentLength = end - (p + 8);
      if (out.fragmentHeaderOffset < 0) {
        out.fragmentHeaderOffset = p;
        out.fragmentFieldOffset = field;
        out.fragmentOffset = fragmentOffset;
        out.moreFragments = more;
        out.fragmentId = rd32(buf, p + 4);
      }
      // RFC 8200 §4.5: all but the last fragment carry a multiple of 8 bytes, and no fragment may
      // reach beyond 65535 bytes of the original packet's fragmentable part.
      if (more && (fragmentLength & 7) !== 0) {
        return problem(
          out,
          Drop.IPV6_FRAG_BAD_LENGTH,
          PARAM_PROBLEM_HEADER_FIELD,
          off + IPV6_PAYLOAD_LENGTH_FIELD,
          off,
        );
      }
      if (fragmentOffset + fragmentLength > 65535) {
        return problem(out, Drop.IPV6_FRAG_TOO_BIG, PARAM_PROBLEM_HEADER_FIELD, p + 2, off);
      }
      if (fragmentOffset !== 0) {
        // What follows is the middle of the original packet: no headers to walk.
        return done(out, buf[p]!, p, p + 8, end, off);
      }
      if (more) firstFragment = true;
    }
    nh = buf[p]!;
    field = p;
    p += hdrLen;
  }
  if (isUnprocessedExtension(nh)) {
    out.protocol = nh;
    out.protocolFieldOffset = field;
    return problem(out, Drop.IPV6_UNKNOWN_NEXT_HEADER, PARAM_PROBLEM_NEXT_HEADER, field, off);
  }
  // RFC 7112 §5: the chain a first fragment must hold ends with the upper-layer header itself.
  if (firstFragment && end - p < upperHeaderLength(nh)) return truncated(out, true);
  // ESP (RFC 4303 §2: all after its header is encrypted) and No Next Header (RFC 8200 §4.7) end
  // the walk like an upper-layer protocol would: the caller sees them in `protocol`.
  return done(out, nh, field, p, end, off);
}

/** Bytes of the upper-layer headers whose fields a router or firewall reads (ports, type/code). */
function upperHeaderLength(protocol: number): number {
  switch (protocol) {
    case 6:
      return 20; // TCP (RFC 9293 §3.1), without options
    case 17:
      return 8; // UDP (RFC 768)
    case 58:
      return 4; // ICMPv6 type, code, checksum (RFC 4443 §2.1)
    default:
      return 0;
  }
}

function truncated(out: Ipv6Extensions, firstFragment: boolean): number {
  // RFC 7112 §5: a first fragment must hold the whole header chain; code 3 with pointer 0.
  if (firstFragment) {
    out.problemCode = PARAM_PROBLEM_INCOMPLETE_CHAIN;
    out.pointer = 0;
    return Drop.IPV6_FIRST_FRAGMENT_INCOMPLETE;
  }
  return Drop.IPV6_EXT_TRUNCATED;
}

function done(
  out: Ipv6Extensions,
  protocol: number,
  field: number,
  at: number,
  end: number,
  off: number,
): number {
  out.protocol = protocol;
  out.protocolFieldOffset = field;
  out.payloadOffset = at;
  out.payloadLength = end - at;
  out.chainLength = at - (off + IPV6_HEADER_LEN);
  return 0;
}
