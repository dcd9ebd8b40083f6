// The header in front of every datagram on a UDP socket's seqpacket pair (§7.3). Per-packet code:
// decoding fills a caller-owned header object and allocates nothing.
import { DGRAM_HEADER_LENGTH, DGRAM_PKTINFO } from './constants.ts';

export interface DgramHeader {
  /** DGRAM_PKTINFO when ifindex and local are meaningful. */
  flags: number;
  /** Source of a received datagram, destination of a sent one (0 with port 0: the connected peer). */
  peerAddr: number;
  peerPort: number;
  ifindex: number;
  /** Destination address of a received datagram, source address asked for on a sent one. */
  localAddr: number;
}

export function newDgramHeader(): DgramHeader {
  return { flags: 0, peerAddr: 0, peerPort: 0, ifindex: 0, localAddr: 0 };
}

/** Why a datagram header did not decode. */
export const DGRAM_SHORT = -1;
export const DGRAM_HEADER_LENGTH_WRONG = -2;
export const DGRAM_RESERVED = -3;

/**
 * Reads the header of the datagram in `buf[off, off + len)` into `out`. Returns the payload's offset
 * (off + 20) or a negative DGRAM_* reason. Never throws on any bytes, never reads outside the range.
 */
export function decodeDgramHeader(buf: Uint8Array, off: number, len: number, out: DgramHeader): number {
  if (off < 0 || len < 0 || off + len > buf.length)
    throw new RangeError('decodeDgramHeader: range outside the buffer');
  if (len < DGRAM_HEADER_LENGTH) return DGRAM_SHORT;
  if ((buf[off]! | (buf[off + 1]! << 8)) !== DGRAM_HEADER_LENGTH) return DGRAM_HEADER_LENGTH_WRONG;
  const flags = buf[off + 2]! | (buf[off + 3]! << 8);
  if ((flags & ~DGRAM_PKTINFO) !== 0 || buf[off + 10] !== 0 || buf[off + 11] !== 0) return DGRAM_RESERVED;
  out.flags = flags;
  out.peerAddr = ((buf[off + 4]! << 24) | (buf[off + 5]! << 16) | (buf[off + 6]! << 8) | buf[off + 7]!) >>> 0;
  out.peerPort = buf[off + 8]! | (buf[off + 9]! << 8);
  out.ifindex =
    (buf[off + 12]! | (buf[off + 13]! << 8) | (buf[off + 14]! << 16) | (buf[off + 15]! << 24)) >>> 0;
  out.localAddr =
    ((buf[off + 16]! << 24) | (buf[off + 17]! << 16) | (buf[off + 18]! << 8) | buf[off + 19]!) >>> 0;
  return off + DGRAM_HEADER_LENGTH;
}

/** Writes the 20-byte header at `buf[off]`; the payload goes right after it. Returns 20. */
export function encodeDgramHeader(h: DgramHeader, buf: Uint8Array, off: number): number {
  if (off < 0 || off + DGRAM_HEADER_LENGTH > buf.length)
    throw new RangeError('encodeDgramHeader: buffer too small');
  if ((h.flags & ~DGRAM_PKTINFO) !== 0) throw new RangeError(`encodeDgramHeader: unknown flags ${h.flags}`);
  buf[off] = DGRAM_HEADER_LENGTH;
  buf[off + 1] = 0;
  buf[off + 2] = h.flags;
  buf[off + 3] = 0;
  buf[off + 4] = h.peerAddr >>> 24;
  buf[off + 5] = (h.peerAddr >>> 16) & 0xff;
  buf[off + 6] = (h.peerAddr >>> 8) & 0xff;
  buf[off + 7] = h.peerAddr & 0xff;
  buf[off + 8] = h.peerPort & 0xff;
  buf[off + 9] = (h.peerPort >>> 8) & 0xff;
  buf[off + 10] = 0;
  buf[off + 11] = 0;
  buf[off + 12] = h.ifindex & 0xff;
  buf[off + 13] = (h.ifindex >>> 8) & 0xff;
  buf[off + 14] = (h.ifindex >>> 16) & 0xff;
  buf[off + 15] = h.ifindex >>> 24;
  buf[off + 16] = h.localAddr >>> 24;
  buf[off + 17] = (h.localAddr >>> 16) & 0xff;
  buf[off + 18] = (h.localAddr >>> 8) & 0xff;
  buf[off + 19] = h.localAddr & 0xff;
  return DGRAM_HEADER_LENGTH;
}
