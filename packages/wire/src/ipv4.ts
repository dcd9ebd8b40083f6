import { rd16, rd32, wr16, wr32 } from './bytes.ts';
import { internetChecksum } from './checksum.ts';
import { Drop } from './drop.ts';

/** IPv4 (RFC 791). */
export const IPV4_MIN_HEADER = 20;
export const IPV4_FLAG_DF = 0x4000;
export const IPV4_FLAG_MF = 0x2000;
export const IPV4_OFFSET_MASK = 0x1fff;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
/** RFC 791: every host must accept 576-byte datagrams; RFC 1812 §4.3.2.3 quotes up to that size. */
export const IPV4_MIN_REASSEMBLY = 576;
export const IPV4_MIN_MTU = 68;

export class Ipv4Header {
  /** Header length in bytes (IHL × 4). */
  headerLength = 0;
  tos = 0;
  totalLength = 0;
  id = 0;
  /** The whole flags + fragment offset word. */
  flagsOffset = 0;
  ttl = 0;
  protocol = 0;
  src = 0;
  dst = 0;

  get dontFragment(): boolean {
    return (this.flagsOffset & IPV4_FLAG_DF) !== 0;
  }
  get moreFragments(): boolean {
    return (this.flagsOffset & IPV4_FLAG_MF) !== 0;
  }
  /** Fragment offset in bytes. */
  get fragmentOffset(): number {
    return (this.flagsOffset & IPV4_OFFSET_MASK) * 8;
  }
  get isFragment(): boolean {
    return (this.flagsOffset & (IPV4_FLAG_MF | IPV4_OFFSET_MASK)) !== 0;
  }
}

/**
 * Validates and decodes an IPv4 header at buf[off, off+len) as RFC 1812 §5.2.2 asks of a router:
 * length, version, IHL, checksum and total length. Options are skipped (headerLength covers them).
 * Returns 0, or a Drop reason. The caller should trust totalLength, not len (Ethernet padding).
 */
export function decodeIpv4(buf: Uint8Array, off: number, len: number, out: Ipv4Header): number {
  if (len < IPV4_MIN_HEADER) return Drop.IPV4_TRUNCATED;
  const vihl = buf[off]!;
  if (vihl >>> 4 !== 4) return Drop.IPV4_BAD_VERSION;
  const headerLength = (vihl & 15) * 4;
  if (headerLength < IPV4_MIN_HEADER || headerLength > len) return Drop.IPV4_BAD_IHL;
  if (internetChecksum(buf, off, headerLength) !== 0) return Drop.IPV4_BAD_CHECKSUM;
  const totalLength = rd16(buf, off + 2);
  if (totalLength < headerLength || totalLength > len) return Drop.IPV4_BAD_TOTAL_LENGTH;
  out.headerLength = headerLength;
  out.tos = buf[off + 1]!;
  out.totalLength = totalLength;
  out.id = rd16(buf, off + 4);
  out.flagsOffset = rd16(buf, off + 6);
  out.ttl = buf[off + 8]!;
  out.protocol = buf[off + 9]!;
  out.src = rd32(buf, off + 12);
  out.dst = rd32(buf, off + 16);
  return 0;
}

/**
 * Writes a 20-byte IPv4 header (no options) with its checksum. Returns 20.
 * `flagsOffset` is the raw flags + offset word (offset in 8-byte units).
 */
export function writeIpv4Header(
  buf: Uint8Array,
  off: number,
  tos: number,
  totalLength: number,
  id: number,
  flagsOffset: number,
  ttl: number,
  protocol: number,
  src: number,
  dst: number,
): number {
  buf[off] = 0x45;
  buf[off + 1] = tos;
  wr16(buf, off + 2, totalLength);
  wr16(buf, off + 4, id);
  wr16(buf, off + 6, flagsOffset);
  buf[off + 8] = ttl;
  buf[off + 9] = protocol;
  wr16(buf, off + 10, 0);
  wr32(buf, off + 12, src);
  wr32(buf, off + 16, dst);
  wr16(buf, off + 10, internetChecksum(buf, off, IPV4_MIN_HEADER));
  return IPV4_MIN_HEADER;
}

/** Recomputes the header checksum in place (after rewriting fields other than TTL). */
export function refreshIpv4Checksum(buf: Uint8Array, off: number): void {
  const headerLength = (buf[off]! & 15) * 4;
  wr16(buf, off + 10, 0);
  wr16(buf, off + 10, internetChecksum(buf, off, headerLength));
}

/**
 * Addresses that must never appear as a source on the wire (RFC 1812 §5.3.7, RFC 6890):
 * 0/8, 127/8, multicast 224/4, class E 240/4 and limited broadcast.
 */
export function isMartianSource(addr: number): boolean {
  const first = addr >>> 24;
  return first === 0 || first === 127 || first >= 224;
}

/** Destinations a router never forwards: 0/8, 127/8 and class E (RFC 1812 §5.3.7). Multicast is handled apart. */
export function isMartianDestination(addr: number): boolean {
  const first = addr >>> 24;
  return first === 0 || first === 127 || (first >= 240 && addr !== 0xffffffff);
}

export function isMulticastIpv4(addr: number): boolean {
  return addr >>> 28 === 14;
}
