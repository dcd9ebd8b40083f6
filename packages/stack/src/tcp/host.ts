// What a connection sees of its engine (TcpHost), and the engine's counters.
import type { TcpConnection } from './connection.ts';
import type { TcpAddressFamily } from './family.ts';
import type { SegmentWriter } from './segment.ts';

/** What a connection needs from its engine: transmission, routes, keys, timers and its queues. */
export interface TcpHost<A = number> {
  /** The engine's transmit buffer, with the offsets of the headers the env writes in front. */
  readonly writer: SegmentWriter;
  /** The addresses' family: pseudo-header sums, the smallest path MTU. */
  readonly family: TcpAddressFamily<A>;
  readonly stats: TcpStats;
  /** `segmentSize` > 0: an aggregate of segments of that payload size, checksum not filled (TcpEnv). */
  sendSegment(
    tcpLen: number,
    src: A,
    dst: A,
    tos: number,
    ttl: number,
    now: number,
    segmentSize?: number,
  ): number;
  mtuFor(dst: A): number;
  /** Largest aggregate (IP bytes) the route to dst takes for segmentation offload, 0 for none. */
  segmentOffloadFor(dst: A): number;
  isn(localAddr: A, localPort: number, remoteAddr: A, remotePort: number, now: number): number;
  /** RFC 7323 §5.4 TSval offset of a connection (a keyed hash of its 4-tuple). */
  tsOffset(localAddr: A, localPort: number, remoteAddr: A, remotePort: number): number;
  arm(deadline: number): void;
  notify(c: TcpConnection<A>): void;
  unlink(c: TcpConnection<A>): void;
  /** RFC 5961 §7: the engine-wide challenge-ACK budget of this second allows one more. */
  allowChallengeAck(now: number): boolean;
  /** A passive connection completed its handshake; false when the accept queue is full. */
  established(c: TcpConnection<A>): boolean;
  /** A passive connection died before being accepted. */
  embryoGone(c: TcpConnection<A>): void;
}

export class TcpStats {
  segmentsIn = 0;
  segmentsOut = 0;
  retransmits = 0;
  timeouts = 0;
  fastRetransmits = 0;
  challengeAcks = 0;
  /** Challenge ACKs not sent: the connection's own limit, or the engine's budget of the second. */
  challengeAcksSuppressed = 0;
  pawsRejected = 0;
  badSegments = 0;
  resetsSent = 0;
  resetsReceived = 0;
  synCookiesSent = 0;
  synCookiesAccepted = 0;
  synCookiesRejected = 0;
  /** SYN-cookie key replacements (one per COOKIE_PERIOD in which cookies were used). */
  synCookieRekeys = 0;
  listenOverflows = 0;
  outOfOrderDropped = 0;
  sackRecoveries = 0;
}
