import { rd16, wr16 } from './bytes.ts';
import { foldSum, pseudoHeaderSum, sumWords } from './checksum.ts';
import { Drop } from './drop.ts';
import { IPPROTO_UDP } from './ipv4.ts';

/** UDP (RFC 768). */
export const UDP_HEADER_LEN = 8;

export class UdpHeader {
  srcPort = 0;
  dstPort = 0;
  /** Length field: header + data. */
  length = 0;
  checksum = 0;
}

/**
 * Decodes a UDP header within an IPv4 payload of `len` bytes from src to dst and, unless the
 * checksum field is zero (RFC 768: not computed), verifies it. Returns 0, or a Drop reason.
 */
export function decodeUdp(
  buf: Uint8Array,
  off: number,
  len: number,
  src: number,
  dst: number,
  out: UdpHeader,
  verifyChecksum = true,
): number {
  return decodeUdpPseudo(buf, off, len, pseudoHeaderSum(src, dst, IPPROTO_UDP, 0), out, verifyChecksum, true);
}

/**
 * The family-neutral decodeUdp: `pseudo` is the pseudo-header sum without its length
 * (`pseudoHeaderSum(src, dst, IPPROTO_UDP, 0)`, or `pseudoHeaderSumIpv6(..., IPPROTO_UDP, 0)`); the
 * UDP length is added here (RFC 8200 §8.1: protocols that carry their own length use it). A zero
 * checksum field means "not computed" over IPv4 (RFC 768); over IPv6 pass `zeroChecksumOk` false:
 * such datagrams are dropped as UDP_ZERO_CHECKSUM (RFC 8200 §8.1). Returns 0, or a Drop reason.
 */
export function decodeUdpPseudo(
  buf: Uint8Array,
  off: number,
  len: number,
  pseudo: number,
  out: UdpHeader,
  verifyChecksum = true,
  zeroChecksumOk = true,
): number {
  if (len < UDP_HEADER_LEN) return Drop.UDP_TRUNCATED;
  const length = rd16(buf, off + 4);
  if (length < UDP_HEADER_LEN || length > len) return Drop.UDP_TRUNCATED;
  out.srcPort = rd16(buf, off);
  out.dstPort = rd16(buf, off + 2);
  out.length = length;
  out.checksum = rd16(buf, off + 6);
  if (out.checksum === 0) return zeroChecksumOk ? 0 : Drop.UDP_ZERO_CHECKSUM;
  if (verifyChecksum && foldSum(sumWords(buf, off, length, pseudo + length)) !== 0xffff) {
    return Drop.UDP_BAD_CHECKSUM;
  }
  return 0;
}

/**
 * Writes a UDP header in front of `dataLen` bytes already at buf[off+8..] and computes the checksum
 * (0 is sent as 0xffff, RFC 768). Returns the UDP length.
 */
export function writeUdp(
  buf: Uint8Array,
  off: number,
  srcPort: number,
  dstPort: number,
  dataLen: number,
  src: number,
  dst: number,
): number {
  return writeUdpPseudo(buf, off, srcPort, dstPort, dataLen, pseudoHeaderSum(src, dst, IPPROTO_UDP, 0));
}

/**
 * The family-neutral writeUdp: `pseudo` is the pseudo-header sum without its length, as for
 * decodeUdpPseudo. A computed 0 is sent as 0xffff over both families (RFC 768, RFC 8200 §8.1).
 */
export function writeUdpPseudo(
  buf: Uint8Array,
  off: number,
  srcPort: number,
  dstPort: number,
  dataLen: number,
  pseudo: number,
): number {
  const length = UDP_HEADER_LEN + dataLen;
  wr16(buf, off, srcPort);
  wr16(buf, off + 2, dstPort);
  wr16(buf, off + 4, length);
  wr16(buf, off + 6, 0);
  const sum = ~foldSum(sumWords(buf, off, length, pseudo + length)) & 0xffff;
  wr16(buf, off + 6, sum === 0 ? 0xffff : sum);
  return length;
}
