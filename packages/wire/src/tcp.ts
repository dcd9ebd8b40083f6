import { rd16, rd32, wr16, wr32 } from './bytes.ts';
import { foldSum, pseudoHeaderSum, sumWords } from './checksum.ts';
import { Drop } from './drop.ts';
import { IPPROTO_TCP } from './ipv4.ts';

/** TCP header (RFC 9293 §3.1). Options are left to the stack; this gives their span. */
export const TCP_MIN_HEADER = 20;
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

export class TcpHeader {
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  /** Header length in bytes (data offset × 4). */
  headerLength = 0;
  flags = 0;
  window = 0;
  checksum = 0;
  urgent = 0;
  /** Absolute offset and length of the options. */
  optionsOffset = 0;
  optionsLength = 0;
  /** Absolute offset and length of the payload. */
  dataOffset = 0;
  dataLength = 0;
}

/**
 * Decodes a TCP segment of `len` bytes (the IPv4 payload) from src to dst, verifying the checksum
 * unless `verifyChecksum` is false. Returns 0, or a Drop reason.
 */
export function decodeTcp(
  buf: Uint8Array,
  off: number,
  len: number,
  src: number,
  dst: number,
  out: TcpHeader,
  verifyChecksum = true,
): number {
  return decodeTcpPseudo(buf, off, len, pseudoHeaderSum(src, dst, IPPROTO_TCP, 0), out, verifyChecksum);
}

/**
 * The family-neutral decodeTcp: `pseudo` is the pseudo-header sum without its length
 * (`pseudoHeaderSum(src, dst, IPPROTO_TCP, 0)`, or `pseudoHeaderSumIpv6(..., IPPROTO_TCP, 0)` with
 * the final destination, RFC 8200 §8.1); the segment length `len` is added here.
 */
export function decodeTcpPseudo(
  buf: Uint8Array,
  off: number,
  len: number,
  pseudo: number,
  out: TcpHeader,
  verifyChecksum = true,
): number {
  if (len < TCP_MIN_HEADER) return Drop.TCP_TRUNCATED;
  const headerLength = (buf[off + 12]! >>> 4) * 4;
  if (headerLength < TCP_MIN_HEADER || headerLength > len) return Drop.TCP_TRUNCATED;
  if (verifyChecksum && foldSum(sumWords(buf, off, len, pseudo + len)) !== 0xffff) {
    return Drop.TCP_BAD_CHECKSUM;
  }
  out.srcPort = rd16(buf, off);
  out.dstPort = rd16(buf, off + 2);
  out.seq = rd32(buf, off + 4);
  out.ack = rd32(buf, off + 8);
  out.headerLength = headerLength;
  out.flags = buf[off + 13]!;
  out.window = rd16(buf, off + 14);
  out.checksum = rd16(buf, off + 16);
  out.urgent = rd16(buf, off + 18);
  out.optionsOffset = off + TCP_MIN_HEADER;
  out.optionsLength = headerLength - TCP_MIN_HEADER;
  out.dataOffset = off + headerLength;
  out.dataLength = len - headerLength;
  return 0;
}

/**
 * Writes a TCP header of `headerLength` bytes (options, if any, must already be at
 * buf[off+20, off+headerLength)) in front of `dataLen` payload bytes and computes the checksum
 * (unless `checksum` is false: an aggregate whose segments get theirs where it is cut, leaving 0).
 * Returns the segment length.
 */
export function writeTcp(
  buf: Uint8Array,
  off: number,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  headerLength: number,
  dataLen: number,
  src: number,
  dst: number,
  checksum = true,
): number {
  return writeTcpPseudo(
    buf,
    off,
    srcPort,
    dstPort,
    seq,
    ack,
    flags,
    window,
    headerLength,
    dataLen,
    pseudoHeaderSum(src, dst, IPPROTO_TCP, 0),
    checksum,
  );
}

/** The family-neutral writeTcp: `pseudo` is the pseudo-header sum without its length, as for decodeTcpPseudo. */
export function writeTcpPseudo(
  buf: Uint8Array,
  off: number,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  headerLength: number,
  dataLen: number,
  pseudo: number,
  checksum = true,
): number {
  const len = headerLength + dataLen;
  wr16(buf, off, srcPort);
  wr16(buf, off + 2, dstPort);
  wr32(buf, off + 4, seq);
  wr32(buf, off + 8, ack);
  buf[off + 12] = (headerLength / 4) << 4;
  buf[off + 13] = flags;
  wr16(buf, off + 14, window);
  wr16(buf, off + 16, 0);
  wr16(buf, off + 18, 0);
  if (checksum) wr16(buf, off + 16, ~foldSum(sumWords(buf, off, len, pseudo + len)) & 0xffff);
  return len;
}
