/** Engine-wide TCP settings; connections copy what they may change per socket. */
export interface TcpConfig {
  /** Largest MSS we advertise or use, whatever the MTU says. */
  mssClamp: number;
  sendBuffer: number;
  recvBuffer: number;
  /** SYN-RECEIVED entries per listener before SYN cookies take over. */
  synQueue: number;
  synCookies: boolean;
  /** Maximum segment lifetime in ms; TIME-WAIT lasts 2 × MSL (RFC 9293 §3.4.2). */
  msl: number;
  /** RFC 6298: initial RTO, and the floor (200 ms as Linux, not the RFC's 1 s) and ceiling. */
  rtoInitial: number;
  rtoMin: number;
  rtoMax: number;
  synRetries: number;
  synAckRetries: number;
  /** Retransmissions of one segment (and unanswered window probes) before ETIMEDOUT. */
  maxRetries: number;
  /** Delayed-ACK timeout in ms (RFC 9293 §3.8.6.3: at most 500, RFC 5681: every second segment). */
  delayedAck: number;
  /** How long an orphaned (closed) connection may sit in FIN-WAIT-2. */
  finWait2Timeout: number;
  keepIdle: number;
  keepInterval: number;
  keepCount: number;
  /** 'cubic' or 'newreno'. */
  congestion: string;
  windowScaling: boolean;
  timestamps: boolean;
  sack: boolean;
  /**
   * RFC 5961 §7: challenge ACKs per second for the whole engine, on average. Each second's budget
   * is drawn at random in [limit/2, 3·limit/2) (Linux since 4.7, against CVE-2016-5696).
   */
  challengeAckLimit: number;
  /** RFC 5961 §7: least time (ms) between two challenge ACKs of one connection (Linux: 500). */
  challengeAckInterval: number;
  ttl: number;
}

export const DEFAULT_TCP_CONFIG: TcpConfig = {
  mssClamp: 65495,
  sendBuffer: 1024 * 1024,
  recvBuffer: 1024 * 1024,
  synQueue: 128,
  synCookies: true,
  msl: 30_000,
  rtoInitial: 1000,
  rtoMin: 200,
  rtoMax: 120_000,
  synRetries: 6,
  synAckRetries: 5,
  maxRetries: 15,
  delayedAck: 40,
  finWait2Timeout: 60_000,
  keepIdle: 7200,
  keepInterval: 75,
  keepCount: 9,
  congestion: 'cubic',
  windowScaling: true,
  timestamps: true,
  sack: true,
  challengeAckLimit: 1000,
  challengeAckInterval: 500,
  ttl: 64,
};
