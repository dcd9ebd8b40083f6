// The message header (RFC 4271 §4.1) and the three small messages: KEEPALIVE (§4.4),
// NOTIFICATION (§4.5) and ROUTE-REFRESH (RFC 2918 §3, RFC 7313 §3).

import { rd16, wr16 } from '@nexthop/wire';
import {
  BGP_HEADER_LEN,
  BGP_MARKER_LEN,
  KEEPALIVE_LEN,
  MSG_KEEPALIVE,
  MSG_NOTIFICATION,
  MSG_OPEN,
  MSG_ROUTE_REFRESH,
  MSG_UPDATE,
  NOTIFICATION_MIN_LEN,
  OPEN_MIN_LEN,
  ROUTE_REFRESH_LEN,
  UPDATE_MIN_LEN,
} from './constants.ts';

export function writeHeader(buf: Uint8Array, off: number, len: number, type: number): void {
  buf.fill(0xff, off, off + BGP_MARKER_LEN);
  wr16(buf, off + 16, len);
  buf[off + 18] = type;
}

/**
 * How many octets the message starting at buf[off] has, once its header is in (avail ≥ 19);
 * 0 when fewer than 19 octets are available. The length is not checked here: see checkHeader.
 */
export function messageLength(buf: Uint8Array, off: number, avail: number): number {
  return avail < BGP_HEADER_LEN ? 0 : rd16(buf, off + 16);
}

export const HEADER_OK = 0;
export const HEADER_BAD_MARKER = 1;
export const HEADER_BAD_LENGTH = 2;
export const HEADER_BAD_TYPE = 3;

/**
 * Checks a header (RFC 4271 §6.1): the marker is all ones, the length lies in 19..maxLength and
 * fits the type, the type is known. Returns HEADER_OK or the Message Header Error subcode, which is
 * numerically the same (1 Connection Not Synchronized, 2 Bad Message Length, 3 Bad Message Type).
 * RFC 8654 §4: OPEN and KEEPALIVE never exceed 4096 octets, even when extended messages are on.
 */
export function checkHeader(buf: Uint8Array, off: number, maxLength: number): number {
  for (let i = 0; i < BGP_MARKER_LEN; i++) if (buf[off + i] !== 0xff) return HEADER_BAD_MARKER;
  const len = rd16(buf, off + 16);
  const type = buf[off + 18]!;
  if (len < BGP_HEADER_LEN || len > maxLength) return HEADER_BAD_LENGTH;
  switch (type) {
    case MSG_OPEN:
      return len < OPEN_MIN_LEN || len > 4096 ? HEADER_BAD_LENGTH : HEADER_OK;
    case MSG_UPDATE:
      return len < UPDATE_MIN_LEN ? HEADER_BAD_LENGTH : HEADER_OK;
    case MSG_NOTIFICATION:
      return len < NOTIFICATION_MIN_LEN ? HEADER_BAD_LENGTH : HEADER_OK;
    case MSG_KEEPALIVE:
      return len !== KEEPALIVE_LEN ? HEADER_BAD_LENGTH : HEADER_OK;
    case MSG_ROUTE_REFRESH:
      // RFC 7313 §5: a wrong ROUTE-REFRESH length is its own error, reported by the body decoder.
      return len < BGP_HEADER_LEN + 4 ? HEADER_BAD_LENGTH : HEADER_OK;
    default:
      return HEADER_BAD_TYPE;
  }
}

export function encodeKeepalive(): Uint8Array {
  const buf = new Uint8Array(KEEPALIVE_LEN);
  writeHeader(buf, 0, KEEPALIVE_LEN, MSG_KEEPALIVE);
  return buf;
}

export function encodeNotification(
  code: number,
  subcode: number,
  data: Uint8Array = new Uint8Array(0),
): Uint8Array {
  // A NOTIFICATION cannot exceed the 4096 octets a peer without extended messages accepts (and an
  // error may come before Extended Message is negotiated): its data is cut rather than the
  // message lost.
  const dataLen = Math.min(data.length, 4096 - NOTIFICATION_MIN_LEN);
  const len = NOTIFICATION_MIN_LEN + dataLen;
  const buf = new Uint8Array(len);
  writeHeader(buf, 0, len, MSG_NOTIFICATION);
  buf[19] = code;
  buf[20] = subcode;
  buf.set(data.subarray(0, dataLen), 21);
  return buf;
}

export function encodeRouteRefresh(afi: number, safi: number, subtype = 0): Uint8Array {
  const buf = new Uint8Array(ROUTE_REFRESH_LEN);
  writeHeader(buf, 0, ROUTE_REFRESH_LEN, MSG_ROUTE_REFRESH);
  wr16(buf, 19, afi);
  buf[21] = subtype;
  buf[22] = safi;
  return buf;
}

/**
 * RFC 8203 / RFC 9003 shutdown communication in a Cease NOTIFICATION (subcodes 2 and 4): a length
 * octet and UTF-8 text. Returns undefined when the data does not hold one.
 */
export function shutdownCommunication(data: Uint8Array): string | undefined {
  if (data.length < 1 || data[0]! + 1 > data.length) return undefined;
  const r = new TextDecoder('utf-8', { fatal: false }).decode(data.subarray(1, 1 + data[0]!));
  return r;
}
