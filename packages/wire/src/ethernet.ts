import { rd16, wr16 } from './bytes.ts';
import { Drop } from './drop.ts';

export const ETH_HEADER_LEN = 14;
export const ETH_ADDR_LEN = 6;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_IPV6 = 0x86dd;
/** Ethernet II frames carry at least 46 payload bytes; shorter payloads are padded (IEEE 802.3 §3.2.7). */
export const ETH_MIN_FRAME = 60;

/** Caller-owned scratch, filled by decodeEthernet. */
export class EthernetHeader {
  /** EtherType after any 802.1Q / 802.1ad tags. */
  etherType = 0;
  /** Offset of the payload (after the tags), absolute in the buffer. */
  payloadOffset = 0;
  /** VLAN id of the outermost tag, or -1 when untagged. */
  vlanId = -1;
  /** Number of VLAN tags seen (0, 1 or 2). */
  tagCount = 0;
}

/**
 * Decodes an Ethernet II header, recognising up to two 802.1Q / 802.1ad tags (IEEE 802.1Q §9).
 * Returns 0, or a Drop reason.
 */
export function decodeEthernet(buf: Uint8Array, off: number, len: number, out: EthernetHeader): number {
  if (len < ETH_HEADER_LEN) return Drop.ETH_TRUNCATED;
  let type = rd16(buf, off + 12);
  let p = off + ETH_HEADER_LEN;
  let tags = 0;
  out.vlanId = -1;
  while ((type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ) && tags < 2) {
    if (p + 4 > off + len) return Drop.ETH_TRUNCATED;
    if (tags === 0) out.vlanId = rd16(buf, p) & 0x0fff;
    type = rd16(buf, p + 2);
    p += 4;
    tags++;
  }
  out.etherType = type;
  out.payloadOffset = p;
  out.tagCount = tags;
  return 0;
}

/** Writes dst, src and EtherType; returns the header length. */
export function writeEthernet(
  buf: Uint8Array,
  off: number,
  dst: Uint8Array,
  dstOff: number,
  src: Uint8Array,
  srcOff: number,
  etherType: number,
): number {
  for (let i = 0; i < 6; i++) {
    buf[off + i] = dst[dstOff + i]!;
    buf[off + 6 + i] = src[srcOff + i]!;
  }
  wr16(buf, off + 12, etherType);
  return ETH_HEADER_LEN;
}
