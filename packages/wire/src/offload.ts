import { rd16, wr16 } from './bytes.ts';

/** The low bits of a received frame's info word (Link batch descriptors): its GSO segment size. */
export const FRAME_SEGMENT_MASK = 0xffff;
/** Flag in a frame's info word: its TCP/UDP checksum is known to be right. */
export const FRAME_L4_CHECKSUM_GOOD = 0x10000;

import { foldSum, sumWords } from './checksum.ts';
import { ETH_HEADER_LEN, ETHERTYPE_IPV4 } from './ethernet.ts';
import { IPPROTO_TCP, IPPROTO_UDP, IPV4_FLAG_MF, IPV4_OFFSET_MASK } from './ipv4.ts';

/**
 * Finishes the TCP or UDP checksum of a frame whose sender left it to "hardware" (Linux
 * CHECKSUM_PARTIAL, as on veth and TAP: AF_PACKET marks such frames TP_STATUS_CSUMNOTREADY). The
 * checksum field then holds the folded pseudo-header sum, and the device is expected to add the
 * one's complement sum of the transport header and data. A router that forwards the frame to
 * another device must do that itself. Returns false when the frame is not an unfragmented
 * IPv4 TCP/UDP packet it can finish.
 */
export function completePartialChecksum(buf: Uint8Array, off: number, len: number): boolean {
  if (len < ETH_HEADER_LEN + 20 || rd16(buf, off + 12) !== ETHERTYPE_IPV4) return false;
  const ip = off + ETH_HEADER_LEN;
  const hl = (buf[ip]! & 15) * 4;
  const total = rd16(buf, ip + 2);
  if (hl < 20 || total < hl || ETH_HEADER_LEN + total > len) return false;
  if ((rd16(buf, ip + 6) & (IPV4_FLAG_MF | IPV4_OFFSET_MASK)) !== 0) return false;
  const protocol = buf[ip + 9];
  const l4 = ip + hl;
  const l4Len = total - hl;
  let field: number;
  if (protocol === IPPROTO_TCP && l4Len >= 20) field = l4 + 16;
  else if (protocol === IPPROTO_UDP && l4Len >= 8) field = l4 + 6;
  else return false;
  let sum = ~foldSum(sumWords(buf, l4, l4Len, 0)) & 0xffff;
  // RFC 768: a computed zero is sent as all ones for UDP.
  if (sum === 0 && protocol === IPPROTO_UDP) sum = 0xffff;
  wr16(buf, field, sum);
  return true;
}
