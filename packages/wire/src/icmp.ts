import { copyBytes, rd32, wr16, wr32 } from './bytes.ts';
import { internetChecksum } from './checksum.ts';
import { Drop } from './drop.ts';

/** ICMP for IPv4 (RFC 792, RFC 1191, RFC 1812 §4.3). */
export const ICMP_HEADER_LEN = 8;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACHABLE = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROBLEM = 12;

/** Destination unreachable codes (RFC 792, RFC 1812 §5.2.7.1). */
export const UNREACH_NET = 0;
export const UNREACH_HOST = 1;
export const UNREACH_PROTOCOL = 2;
export const UNREACH_PORT = 3;
export const UNREACH_FRAG_NEEDED = 4;
export const UNREACH_NET_PROHIBITED = 9;
export const UNREACH_HOST_PROHIBITED = 10;
export const UNREACH_ADMIN_PROHIBITED = 13;

/** Time exceeded codes. */
export const TIME_EXCEEDED_TTL = 0;
export const TIME_EXCEEDED_REASSEMBLY = 1;

/**
 * RFC 1812 §4.3.2.3: an ICMP error quotes as much of the offending datagram as fits in 576 bytes
 * total: 576 − 20 (IP) − 8 (ICMP).
 */
export const ICMP_ERROR_MAX_QUOTE = 548;

export class IcmpMessage {
  type = 0;
  code = 0;
  /** Identifier and sequence (echo), or the "rest of header" word for errors. */
  restOfHeader = 0;
  /** Offset and length of what follows the 8-byte header (echo data, or the quoted datagram). */
  bodyOffset = 0;
  bodyLength = 0;

  get echoId(): number {
    return this.restOfHeader >>> 16;
  }
  get echoSequence(): number {
    return this.restOfHeader & 0xffff;
  }
  /** Next-hop MTU of a fragmentation-needed message (RFC 1191 §4), 0 when the router is old. */
  get nextHopMtu(): number {
    return this.restOfHeader & 0xffff;
  }
}

/** Decodes and checksums an ICMP message at buf[off, off+len). Returns 0, or a Drop reason. */
export function decodeIcmp(buf: Uint8Array, off: number, len: number, out: IcmpMessage): number {
  if (len < ICMP_HEADER_LEN) return Drop.ICMP_TRUNCATED;
  if (internetChecksum(buf, off, len) !== 0) return Drop.ICMP_BAD_CHECKSUM;
  out.type = buf[off]!;
  out.code = buf[off + 1]!;
  out.restOfHeader = rd32(buf, off + 4);
  out.bodyOffset = off + ICMP_HEADER_LEN;
  out.bodyLength = len - ICMP_HEADER_LEN;
  return 0;
}

/**
 * Writes an ICMP message: type, code, the rest-of-header word, then `bodyLen` bytes copied from
 * body[bodyOff..]. Computes the checksum. Returns the ICMP length.
 */
export function writeIcmp(
  buf: Uint8Array,
  off: number,
  type: number,
  code: number,
  restOfHeader: number,
  body: Uint8Array,
  bodyOff: number,
  bodyLen: number,
): number {
  // Body first: an error built in place quotes a datagram whose first bytes lie where the
  // ICMP header is about to go.
  copyBytes(body, bodyOff, buf, off + ICMP_HEADER_LEN, bodyLen);
  buf[off] = type;
  buf[off + 1] = code;
  wr16(buf, off + 2, 0);
  wr32(buf, off + 4, restOfHeader);
  const len = ICMP_HEADER_LEN + bodyLen;
  wr16(buf, off + 2, internetChecksum(buf, off, len));
  return len;
}

/** Rest-of-header word for fragmentation needed: unused 16 bits, then the next-hop MTU (RFC 1191 §4). */
export function fragNeededRestOfHeader(nextHopMtu: number): number {
  return nextHopMtu & 0xffff;
}

export function icmpIsError(type: number): boolean {
  return (
    type === ICMP_DEST_UNREACHABLE ||
    type === ICMP_TIME_EXCEEDED ||
    type === ICMP_PARAMETER_PROBLEM ||
    type === 4 ||
    type === 5
  );
}
