import { copyBytes, rd32, wr16, wr32 } from './bytes.ts';
import { foldSum, sumWords } from './checksum.ts';
import { Drop } from './drop.ts';
import { IPV6_HEADER_LEN, IPV6_MIN_MTU } from './ipv6.ts';

/** ICMPv6 (RFC 4443) and the types other RFCs give it. */
export const ICMPV6_HEADER_LEN = 8;
export const ICMPV6_DEST_UNREACHABLE = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAMETER_PROBLEM = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
/** MLD (RFC 2710 §3, RFC 3810 §5). */
export const ICMPV6_MLD_QUERY = 130;
export const ICMPV6_MLDV1_REPORT = 131;
export const ICMPV6_MLDV1_DONE = 132;
export const ICMPV6_MLDV2_REPORT = 143;
/** Neighbor Discovery (RFC 4861 §4). */
export const ICMPV6_ROUTER_SOLICITATION = 133;
export const ICMPV6_ROUTER_ADVERTISEMENT = 134;
export const ICMPV6_NEIGHBOR_SOLICITATION = 135;
export const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;
export const ICMPV6_REDIRECT = 137;

/** Destination Unreachable codes (RFC 4443 §3.1). */
export const UNREACH6_NO_ROUTE = 0;
export const UNREACH6_ADMIN_PROHIBITED = 1;
export const UNREACH6_BEYOND_SCOPE = 2;
export const UNREACH6_ADDRESS = 3;
export const UNREACH6_PORT = 4;
export const UNREACH6_SOURCE_POLICY = 5;
export const UNREACH6_REJECT_ROUTE = 6;

/** Time Exceeded codes (RFC 4443 §3.3). */
export const TIME_EXCEEDED6_HOP_LIMIT = 0;
export const TIME_EXCEEDED6_REASSEMBLY = 1;

/**
 * RFC 4443 §2.4 (c): an error quotes as much of the invoking packet as fits without the error
 * exceeding the minimum IPv6 MTU: 1280 − 40 (IPv6) − 8 (ICMPv6).
 */
export const ICMPV6_ERROR_MAX_QUOTE = IPV6_MIN_MTU - IPV6_HEADER_LEN - ICMPV6_HEADER_LEN;

export class Icmpv6Message {
  type = 0;
  code = 0;
  checksum = 0;
  /** The 32 bits after the checksum: identifier and sequence (echo), MTU, pointer, or unused. */
  restOfHeader = 0;
  /** Absolute offset and length of what follows the 8-byte header (echo data, or the quoted packet). */
  bodyOffset = 0;
  bodyLength = 0;

  get echoId(): number {
    return this.restOfHeader >>> 16;
  }
  get echoSequence(): number {
    return this.restOfHeader & 0xffff;
  }
  /** The MTU of a Packet Too Big message (RFC 4443 §3.2), all 32 bits. */
  get mtu(): number {
    return this.restOfHeader;
  }
  /** The pointer of a Parameter Problem message (RFC 4443 §3.4): an offset into the quoted packet. */
  get pointer(): number {
    return this.restOfHeader;
  }
}

/**
 * Decodes an ICMPv6 message at buf[off, off+len) and verifies its checksum over the pseudo header
 * (RFC 4443 §2.3, RFC 8200 §8.1). `pseudo` is the pseudo-header sum without its length,
 * `pseudoHeaderSumIpv6(src, srcOff, dst, dstOff, IPPROTO_ICMPV6, 0)`; len is added here. Returns 0,
 * or a Drop reason.
 */
export function decodeIcmpv6(
  buf: Uint8Array,
  off: number,
  len: number,
  pseudo: number,
  out: Icmpv6Message,
  verifyChecksum = true,
): number {
  if (len < ICMPV6_HEADER_LEN) return Drop.ICMPV6_TRUNCATED;
  if (verifyChecksum && foldSum(sumWords(buf, off, len, pseudo + len)) !== 0xffff) {
    return Drop.ICMPV6_BAD_CHECKSUM;
  }
  out.type = buf[off]!;
  out.code = buf[off + 1]!;
  out.checksum = (buf[off + 2]! << 8) | buf[off + 3]!;
  out.restOfHeader = rd32(buf, off + 4);
  out.bodyOffset = off + ICMPV6_HEADER_LEN;
  out.bodyLength = len - ICMPV6_HEADER_LEN;
  return 0;
}

/**
 * Fills in the checksum of the ICMPv6 message at buf[off, off+len) over the pseudo header (`pseudo`
 * without its length, as for decodeIcmpv6). For messages built piece by piece (NDP options, MLD
 * records): write them, then call this once.
 */
export function setIcmpv6Checksum(buf: Uint8Array, off: number, len: number, pseudo: number): void {
  wr16(buf, off + 2, 0);
  wr16(buf, off + 2, ~foldSum(sumWords(buf, off, len, pseudo + len)) & 0xffff);
}

/**
 * Writes an ICMPv6 message: type, code, the rest-of-header word, then `bodyLen` bytes copied from
 * body[bodyOff..] (which may overlap buf, as for writeIcmp), and the checksum. Returns its length.
 */
export function writeIcmpv6(
  buf: Uint8Array,
  off: number,
  type: number,
  code: number,
  restOfHeader: number,
  body: Uint8Array,
  bodyOff: number,
  bodyLen: number,
  pseudo: number,
): number {
  copyBytes(body, bodyOff, buf, off + ICMPV6_HEADER_LEN, bodyLen);
  buf[off] = type;
  buf[off + 1] = code;
  wr32(buf, off + 4, restOfHeader);
  const len = ICMPV6_HEADER_LEN + bodyLen;
  setIcmpv6Checksum(buf, off, len, pseudo);
  return len;
}

/**
 * Writes an ICMPv6 error (type < 128) quoting the invoking packet at packet[packetOff,
 * packetOff+packetLen) cut to what fits in the minimum MTU (RFC 4443 §2.4 (c)): `maxQuote` bytes,
 * ICMPV6_ERROR_MAX_QUOTE unless the error carries extension headers of its own. restOfHeader is 0
 * (unused), the MTU (Packet Too Big, §3.2) or the pointer (Parameter Problem, §3.4). Whether an
 * error may be sent at all (§2.4 (e), the rate limit of §2.4 (f)) is the caller's question.
 * Returns the ICMPv6 length.
 */
export function writeIcmpv6Error(
  buf: Uint8Array,
  off: number,
  type: number,
  code: number,
  restOfHeader: number,
  packet: Uint8Array,
  packetOff: number,
  packetLen: number,
  pseudo: number,
  maxQuote = ICMPV6_ERROR_MAX_QUOTE,
): number {
  const quote = Math.min(packetLen, maxQuote);
  return writeIcmpv6(buf, off, type, code, restOfHeader, packet, packetOff, quote, pseudo);
}

/** RFC 4443 §2.1: types 0–127 are errors, 128–255 informational messages. */
export function isIcmpv6Error(type: number): boolean {
  return type < 128;
}
