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
  /** RFC 2385: unsigned segments for a keyed endpoint (`md5-missing`, Linux's TCPMD5NotFound). */
  md5Missing = 0;
  /** RFC 2385: segments whose signature is wrong (`md5-bad`, TCPMD5Failure). */
  md5Bad = 0;
  /** RFC 2385: signed segments for an endpoint without a key (`md5-unexpected`, TCPMD5Unexpected). */
  md5Unexpected = 0;
  /** RFC 5082: segments below IP_MINTTL / IPV6_MINHOPCOUNT (`min-ttl`, Linux's TCPMinTTLDrop). */
  minTtlDropped = 0;
}

/** The segments an engine dropped in the RFC 2385 and RFC 5082 checks, by reason. */
export function tcpDrops(s: TcpStats): Record<TcpDropReason, number> {
  return {
    'md5-missing': s.md5Missing,
    'md5-bad': s.md5Bad,
    'md5-unexpected': s.md5Unexpected,
    'min-ttl': s.minTtlDropped,
  };
}

/** Why a segment was dropped before it reached its connection or listener (TcpStats.drops). */
export type TcpDropReason = 'md5-missing' | 'md5-bad' | 'md5-unexpected' | 'min-ttl';
