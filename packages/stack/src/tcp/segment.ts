// Where TCP segments are built: one transmit buffer per engine with room for the link and network
// headers the host writes in front of the TCP header. The offsets are parameters of the writer, not
// constants of TCP: IPv4 leaves 20 bytes for its header, IPv6 would leave 40, and the same engine
// builds the segments (RFC 9293 §3.1 header, RFC 7323 §2-3 window scale and timestamps, RFC 2018
// §2-4 SACK-permitted and SACK, RFC 9293 §3.7.1 MSS) after them. No allocation: every segment is
// written into the same buffer and handed to the host before the next one is built. SYNs and bare
// resets are built here; the data and ACK segments of the hot path are built by
// TcpConnection.emit in the same buffer, after the same offsets (a call here cost 2-3% of a round
// trip), with the SACK blocks from OutOfOrderQueue.writeSackOption. Addresses do not reach the
// writer: the checksum takes the pseudo-header sum of the family (TcpAddressFamily.pseudoSum),
// which a connection computes once.
import { TCP_ACK, TCP_MIN_HEADER, TCP_RST, TCP_SYN, wr32, writeTcpPseudo } from '@nexthop/wire';
import { TcpMd5 } from './md5sig.ts';
import {
  OPT_NOP,
  OPT_SACK_PERMITTED,
  OPT_TIMESTAMP,
  OPT_WSCALE,
  writeMd5Option,
  writeMss,
  writeNopNopTimestamp,
} from './options.ts';

/** The largest TCP header (RFC 9293 §3.1: data offset 15 words). */
const TCP_MAX_HEADER = 60;
/** Room for the payload of the largest aggregate (TSO) a link may take. */
const MAX_PAYLOAD = 65536;

export class SegmentWriter {
  readonly buf: Uint8Array;
  /** Offset of the network header; the link header goes in the bytes before it. */
  readonly ipOff: number;
  /** Offset of the TCP header: ipOff + the network header's length. */
  readonly tcpOff: number;
  /** Network and TCP header bytes every segment carries before options: MTU - headers = MSS. */
  readonly headers: number;
  /** RFC 2385 signatures of what is built here, and checks of what is received (MD5 state, scratch). */
  readonly md5 = new TcpMd5();

  constructor(linkHeaderLength: number, netHeaderLength: number) {
    this.ipOff = linkHeaderLength;
    this.tcpOff = linkHeaderLength + netHeaderLength;
    this.headers = netHeaderLength + TCP_MIN_HEADER;
    this.buf = new Uint8Array(this.tcpOff + TCP_MAX_HEADER + MAX_PAYLOAD);
  }

  /**
   * A SYN (or SYN-ACK with `withAck`): MSS, then SACK-permitted and timestamps as asked, then the
   * window scale when `wscale` >= 0. `pseudo`: the pseudo-header sum without the length. With
   * `md5`, room for an RFC 2385 signature comes first (as Linux), its digest still to be written
   * (TcpMd5.sign). Returns the TCP length.
   */
  syn(
    localPort: number,
    remotePort: number,
    iss: number,
    ack: number,
    withAck: boolean,
    window: number,
    mss: number,
    sackPermitted: boolean,
    timestamps: boolean,
    tsVal: number,
    tsEcr: number,
    wscale: number,
    pseudo: number,
    md5 = false,
  ): number {
    const b = this.buf;
    let p = this.tcpOff + TCP_MIN_HEADER;
    if (md5) p += writeMd5Option(b, p);
    p += writeMss(b, p, mss);
    if (sackPermitted && timestamps) {
      b[p] = OPT_SACK_PERMITTED;
      b[p + 1] = 2;
      b[p + 2] = OPT_TIMESTAMP;
      b[p + 3] = 10;
      wr32(b, p + 4, tsVal);
      wr32(b, p + 8, tsEcr);
      p += 12;
    } else if (timestamps) {
      p += writeNopNopTimestamp(b, p, tsVal, tsEcr);
    } else if (sackPermitted) {
      b[p] = OPT_NOP;
      b[p + 1] = OPT_NOP;
      b[p + 2] = OPT_SACK_PERMITTED;
      b[p + 3] = 2;
      p += 4;
    }
    if (wscale >= 0) {
      b[p] = OPT_NOP;
      b[p + 1] = OPT_WSCALE;
      b[p + 2] = 3;
      b[p + 3] = wscale;
      p += 4;
    }
    const flags = withAck ? TCP_SYN | TCP_ACK : TCP_SYN;
    return writeTcpPseudo(
      b,
      this.tcpOff,
      localPort,
      remotePort,
      iss,
      withAck ? ack : 0,
      flags,
      window,
      p - this.tcpOff,
      0,
      pseudo,
    );
  }

  /**
   * A bare reset (no ACK, no options but room for a signature with `md5`): the answer to a segment
   * that had no ACK of ours.
   */
  reset(localPort: number, remotePort: number, seq: number, pseudo: number, md5 = false): number {
    const hl = md5 ? TCP_MIN_HEADER + writeMd5Option(this.buf, this.tcpOff + TCP_MIN_HEADER) : TCP_MIN_HEADER;
    return writeTcpPseudo(this.buf, this.tcpOff, localPort, remotePort, seq, 0, TCP_RST, 0, hl, 0, pseudo);
  }
}
