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
  if (len < UDP_HEADER_LEN) return Drop.UDP_TRUNCATED;
  const length = rd16(buf, off + 4);
  if (length < UDP_HEADER_LEN || length > len) return Drop.UDP_TRUNCATED;
  out.srcPort = rd16(buf, off);
  out.dstPort = rd16(buf, off + 2);
  out.length = length;
  out.checksum = rd16(buf, off + 6);
  if (verifyChecksum && out.checksum !== 0) {
    const sum = sumWords(buf, off, length, pseudoHeaderSum(src, dst, IPPROTO_UDP, length));
    if (foldSum(sum) !== 0xffff) return Drop.UDP_BAD_CHECKSUM;
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
  const length = UDP_HEADER_LEN + dataLen;
  wr16(buf, off, srcPort);
  wr16(buf, off + 2, dstPort);
  wr16(buf, off + 4, length);
  wr16(buf, off + 6, 0);
  const sum = ~foldSum(sumWords(buf, off, length, pseudoHeaderSum(src, dst, IPPROTO_UDP, length))) & 0xffff;
  wr16(buf, off + 6, sum === 0 ? 0xffff : sum);
  return length;
}
