import { rd16, wr16 } from './bytes.ts';
import { Drop } from './drop.ts';

/** IPv6 (RFC 8200). */
export const IPV6_HEADER_LEN = 40;
/** RFC 8200 §5: every link carries packets of 1280 bytes; ICMPv6 errors are cut to fit (RFC 4443 §2.4 (c)). */
export const IPV6_MIN_MTU = 1280;

/** Next Header values (IANA "Assigned Internet Protocol Numbers"; RFC 8200 §4, RFC 7045 §2). */
export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;
export const IPPROTO_MOBILITY = 135;
export const IPPROTO_HIP = 139;
export const IPPROTO_SHIM6 = 140;

/** Offsets within the fixed header, for Parameter Problem pointers (RFC 4443 §3.4). */
export const IPV6_PAYLOAD_LENGTH_FIELD = 4;
export const IPV6_NEXT_HEADER_FIELD = 6;

export class Ipv6Header {
  /** Traffic class (DSCP << 2 | ECN). */
  trafficClass = 0;
  flowLabel = 0;
  payloadLength = 0;
  nextHeader = 0;
  hopLimit = 0;
  /** Absolute offsets of the 16-byte source and destination addresses in the buffer. */
  srcOffset = 0;
  dstOffset = 0;
  /** Absolute offset of what follows the fixed header (extension headers or the upper layer). */
  payloadOffset = 0;
  /** 40 + payloadLength: the packet's length; the caller should trust it over len (Ethernet padding). */
  totalLength = 0;
}

/**
 * Decodes the fixed IPv6 header at buf[off, off+len) (RFC 8200 §3): length, version and payload
 * length. There is no header checksum. A payload length of 0 is taken as it stands (a packet with
 * No Next Header); Jumbograms (RFC 2675) are not supported, and their Jumbo option is an unknown
 * option to decodeIpv6Extensions. Returns 0, or a Drop reason.
 */
export function decodeIpv6(buf: Uint8Array, off: number, len: number, out: Ipv6Header): number {
  if (len < IPV6_HEADER_LEN) return Drop.IPV6_TRUNCATED;
  const b0 = buf[off]!;
  if (b0 >>> 4 !== 6) return Drop.IPV6_BAD_VERSION;
  const payloadLength = rd16(buf, off + 4);
  if (payloadLength > len - IPV6_HEADER_LEN) return Drop.IPV6_BAD_PAYLOAD_LENGTH;
  const b1 = buf[off + 1]!;
  out.trafficClass = ((b0 & 0x0f) << 4) | (b1 >>> 4);
  out.flowLabel = ((b1 & 0x0f) << 16) | rd16(buf, off + 2);
  out.payloadLength = payloadLength;
  out.nextHeader = buf[off + 6]!;
  out.hopLimit = buf[off + 7]!;
  out.srcOffset = off + 8;
  out.dstOffset = off + 24;
  out.payloadOffset = off + IPV6_HEADER_LEN;
  out.totalLength = IPV6_HEADER_LEN + payloadLength;
  return 0;
}

/**
 * Writes the 40-byte fixed header (RFC 8200 §3), copying the addresses from src[srcOff..] and
 * dst[dstOff..]. They may lie in buf, but not in the 40 bytes being written (to answer in place,
 * leave the addresses where they are and use swapIpv6Addresses). Returns 40.
 */
export function writeIpv6Header(
  buf: Uint8Array,
  off: number,
  trafficClass: number,
  flowLabel: number,
  payloadLength: number,
  nextHeader: number,
  hopLimit: number,
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
): number {
  buf[off] = 0x60 | ((trafficClass >>> 4) & 0x0f);
  buf[off + 1] = ((trafficClass & 0x0f) << 4) | ((flowLabel >>> 16) & 0x0f);
  wr16(buf, off + 2, flowLabel & 0xffff);
  wr16(buf, off + 4, payloadLength);
  buf[off + 6] = nextHeader;
  buf[off + 7] = hopLimit;
  for (let i = 0; i < 16; i++) buf[off + 8 + i] = src[srcOff + i]!;
  for (let i = 0; i < 16; i++) buf[off + 24 + i] = dst[dstOff + i]!;
  return IPV6_HEADER_LEN;
}

/** Swaps the source and destination addresses of the IPv6 header at buf[off] in place (an answer's header). */
export function swapIpv6Addresses(buf: Uint8Array, off: number): void {
  for (let i = 8; i < 24; i++) {
    const t = buf[off + i]!;
    buf[off + i] = buf[off + i + 16]!;
    buf[off + i + 16] = t;
  }
}
