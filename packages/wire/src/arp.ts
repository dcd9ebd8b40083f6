import { rd16, rd32, wr16, wr32 } from './bytes.ts';
import { Drop } from './drop.ts';
import { ETHERTYPE_IPV4 } from './ethernet.ts';

/** ARP for IPv4 over Ethernet (RFC 826). */
export const ARP_LEN = 28;
export const ARP_HTYPE_ETHERNET = 1;
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;

export class ArpPacket {
  op = 0;
  /** Absolute offset of the sender hardware address in the buffer. */
  senderMacOffset = 0;
  senderIp = 0;
  targetMacOffset = 0;
  targetIp = 0;
}

/** Decodes an Ethernet/IPv4 ARP packet at buf[off, off+len). Returns 0, or a Drop reason. */
export function decodeArp(buf: Uint8Array, off: number, len: number, out: ArpPacket): number {
  if (len < ARP_LEN) return Drop.ARP_TRUNCATED;
  if (rd16(buf, off) !== ARP_HTYPE_ETHERNET || buf[off + 4] !== 6) return Drop.ARP_BAD_HARDWARE;
  if (rd16(buf, off + 2) !== ETHERTYPE_IPV4 || buf[off + 5] !== 4) return Drop.ARP_BAD_PROTOCOL;
  const op = rd16(buf, off + 6);
  if (op !== ARP_OP_REQUEST && op !== ARP_OP_REPLY) return Drop.ARP_BAD_OPCODE;
  out.op = op;
  out.senderMacOffset = off + 8;
  out.senderIp = rd32(buf, off + 14);
  out.targetMacOffset = off + 18;
  out.targetIp = rd32(buf, off + 24);
  return 0;
}

/** Writes an ARP packet; tha may be null for an all-zero target hardware address. Returns ARP_LEN. */
export function writeArp(
  buf: Uint8Array,
  off: number,
  op: number,
  sha: Uint8Array,
  shaOff: number,
  spa: number,
  tha: Uint8Array | null,
  thaOff: number,
  tpa: number,
): number {
  wr16(buf, off, ARP_HTYPE_ETHERNET);
  wr16(buf, off + 2, ETHERTYPE_IPV4);
  buf[off + 4] = 6;
  buf[off + 5] = 4;
  wr16(buf, off + 6, op);
  for (let i = 0; i < 6; i++) {
    buf[off + 8 + i] = sha[shaOff + i]!;
    buf[off + 18 + i] = tha === null ? 0 : tha[thaOff + i]!;
  }
  wr32(buf, off + 14, spa);
  wr32(buf, off + 24, tpa);
  return ARP_LEN;
}
