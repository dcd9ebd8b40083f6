// RFC 9293 §3.10.7.1: a segment that reaches no connection or listener (the CLOSED state) is
// answered with a reset — unless it is one — whichever network layer carried it. If it had an ACK,
// the reset takes its sequence number from that ACK; otherwise it acknowledges everything the
// segment occupied (its data, SYN and FIN). Each family's delivery writes the network header.
import {
  TCP_ACK,
  TCP_FIN,
  TCP_MIN_HEADER,
  TCP_RST,
  TCP_SYN,
  type TcpHeader,
  writeTcpPseudo,
} from '@nexthop/wire';

/**
 * Writes the reset answering `seg` at buf[off..] (ports swapped), its checksum from `pseudo` (the
 * answer's pseudo-header sum without the length). Returns its length, 0 when `seg` is itself a reset.
 */
export function writeClosedPortReset(buf: Uint8Array, off: number, seg: TcpHeader, pseudo: number): number {
  if ((seg.flags & TCP_RST) !== 0) return 0;
  let seq = 0;
  let ack = 0;
  let flags = TCP_RST;
  if ((seg.flags & TCP_ACK) !== 0) seq = seg.ack;
  else {
    const segLen =
      seg.dataLength + ((seg.flags & TCP_SYN) !== 0 ? 1 : 0) + ((seg.flags & TCP_FIN) !== 0 ? 1 : 0);
    ack = (seg.seq + segLen) >>> 0;
    flags |= TCP_ACK;
  }
  return writeTcpPseudo(buf, off, seg.dstPort, seg.srcPort, seq, ack, flags, 0, TCP_MIN_HEADER, 0, pseudo);
}
