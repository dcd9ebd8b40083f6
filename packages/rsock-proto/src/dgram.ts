// The header in front of every datagram on a UDP socket's seqpacket pair (§7.3, §13.5). Per-packet code:
// decoding fills a caller-owned header object and allocates nothing.
import {
  AF_UNSPEC,
  DGRAM_HEADER_LENGTH,
  DGRAM_HEADER_LENGTH_V2,
  DGRAM_PKTINFO,
  ENDPOINT_LENGTH,
} from './constants.ts';
import { decodeEndpoint, ENDPOINT_FAMILY, type Endpoint, encodeEndpoint, newEndpoint } from './endpoint.ts';

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

// Version 2 (§13.5): the 64-byte header of a UDP socket created on a version-2 connection, with
// sockaddr-shaped endpoints. Same rules: caller-owned header, no allocation, never throws on bytes.

export interface DgramHeader2 {
  /** DGRAM_PKTINFO when ifindex and local are meaningful; without it both are zero. */
  flags: number;
  ifindex: number;
  /** Source of a received datagram, destination of a sent one (AF_UNSPEC: the connected peer). */
  peer: Endpoint;
  /**
   * With PKTINFO: the destination address and port of a received datagram; the source address
   * asked for on a sent one (port 0; AF_UNSPEC = any address, only the interface asked for).
   */
  local: Endpoint;
}

export function newDgramHeader2(): DgramHeader2 {
  return { flags: 0, ifindex: 0, peer: newEndpoint(), local: newEndpoint() };
}

/** An endpoint's family is not AF_UNSPEC, AF_INET or AF_INET6. */
export const DGRAM_FAMILY = -4;

/**
 * Reads the 64-byte header of the datagram in `buf[off, off + len)` into `out`. Returns the
 * payload's offset (off + 64) or a negative DGRAM_* reason; on failure `out` holds partial values.
 * Never throws on any bytes, never reads outside the range, allocates nothing.
 */
export function decodeDgramHeader2(buf: Uint8Array, off: number, len: number, out: DgramHeader2): number {
  if (off < 0 || len < 0 || off + len > buf.length)
    throw new RangeError('decodeDgramHeader2: range outside the buffer');
  if (len < DGRAM_HEADER_LENGTH_V2) return DGRAM_SHORT;
  if ((buf[off]! | (buf[off + 1]! << 8)) !== DGRAM_HEADER_LENGTH_V2) return DGRAM_HEADER_LENGTH_WRONG;
  const flags = buf[off + 2]! | (buf[off + 3]! << 8);
  if ((flags & ~DGRAM_PKTINFO) !== 0) return DGRAM_RESERVED;
  const ifindex =
    (buf[off + 4]! | (buf[off + 5]! << 8) | (buf[off + 6]! << 16) | (buf[off + 7]! << 24)) >>> 0;
  let r = decodeEndpoint(buf, off + 8, out.peer);
  if (r === 0) r = decodeEndpoint(buf, off + 8 + ENDPOINT_LENGTH, out.local);
  if (r !== 0) return r === ENDPOINT_FAMILY ? DGRAM_FAMILY : DGRAM_RESERVED;
  // Without PKTINFO, ifindex and local are reserved: zero (local then decodes as AF_UNSPEC).
  if (flags === 0 && (ifindex !== 0 || out.local.family !== AF_UNSPEC)) return DGRAM_RESERVED;
  out.flags = flags;
  out.ifindex = ifindex;
  return off + DGRAM_HEADER_LENGTH_V2;
}

/**
 * Writes the 64-byte header at `buf[off]`; the payload goes right after it. Returns 64. Unknown
 * flags, an endpoint the wire cannot carry, or ifindex/local set without PKTINFO: RangeError.
 */
export function encodeDgramHeader2(h: DgramHeader2, buf: Uint8Array, off: number): number {
  if (off < 0 || off + DGRAM_HEADER_LENGTH_V2 > buf.length)
    throw new RangeError('encodeDgramHeader2: buffer too small');
  if ((h.flags & ~DGRAM_PKTINFO) !== 0) throw new RangeError(`encodeDgramHeader2: unknown flags ${h.flags}`);
  if (!Number.isInteger(h.ifindex) || h.ifindex < 0 || h.ifindex > 0xffffffff)
    throw new RangeError(`encodeDgramHeader2: ifindex ${h.ifindex} is not a u32`);
  if (h.flags === 0 && (h.ifindex !== 0 || h.local.family !== AF_UNSPEC))
    throw new RangeError('encodeDgramHeader2: ifindex or local without PKTINFO');
  encodeEndpoint(h.peer, buf, off + 8);
  encodeEndpoint(h.local, buf, off + 8 + ENDPOINT_LENGTH);
  buf[off] = DGRAM_HEADER_LENGTH_V2;
  buf[off + 1] = 0;
  buf[off + 2] = h.flags;
  buf[off + 3] = 0;
  buf[off + 4] = h.ifindex & 0xff;
  buf[off + 5] = (h.ifindex >>> 8) & 0xff;
  buf[off + 6] = (h.ifindex >>> 16) & 0xff;
  buf[off + 7] = h.ifindex >>> 24;
  return DGRAM_HEADER_LENGTH_V2;
}

/** The length of a datagram header in the layout of `version` (20 or 64). */
export function dgramHeaderLength(version: number): number {
  if (version === 1) return DGRAM_HEADER_LENGTH;
  if (version === 2) return DGRAM_HEADER_LENGTH_V2;
  throw new RangeError(`dgramHeaderLength: version ${version} is not 1 or 2`);
}

/** The name of a negative DGRAM_* reason, as the golden vectors spell it (§13.9). */
export function dgramFaultName(reason: number): string {
  switch (reason) {
    case DGRAM_SHORT:
      return 'short';
    case DGRAM_HEADER_LENGTH_WRONG:
      return 'header-length';
    case DGRAM_RESERVED:
      return 'reserved';
    case DGRAM_FAMILY:
      return 'family';
    default:
      return '?';
  }
}
