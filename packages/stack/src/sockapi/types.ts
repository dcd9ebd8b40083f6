// The socket API's shapes, shared by the socket layer, the TCP engine below it, its users and the
// stack that hosts them.

/** Readiness bits (level: the current state, not a change). */
export const EV_READABLE = 1;
export const EV_WRITABLE = 2;
export const EV_ERROR = 4;
export const EV_HANGUP = 8;

export type SocketType = 'stream' | 'dgram' | 'raw';
export type ShutdownHow = 'read' | 'write' | 'both';

/** Option names, as strings so that the remote socket server can map them from the C constants. */
export const SOCKET_OPTIONS = [
  'SO_REUSEADDR',
  'SO_KEEPALIVE',
  'SO_RCVBUF',
  'SO_SNDBUF',
  'SO_BROADCAST',
  'SO_BINDTODEVICE',
  'SO_ERROR',
  'SO_TYPE',
  'TCP_NODELAY',
  'TCP_KEEPIDLE',
  'TCP_KEEPINTVL',
  'TCP_KEEPCNT',
  'IP_TTL',
  'IP_TOS',
  'IP_MULTICAST_IF',
  'IP_MULTICAST_TTL',
  'IP_MULTICAST_LOOP',
  'IP_ADD_MEMBERSHIP',
  'IP_DROP_MEMBERSHIP',
  'IP_PKTINFO',
  'IPV6_V6ONLY',
  'IPV6_UNICAST_HOPS',
  'IPV6_TCLASS',
  'IPV6_JOIN_GROUP',
  'IPV6_LEAVE_GROUP',
  'IPV6_MULTICAST_IF',
  'IPV6_MULTICAST_HOPS',
  'IPV6_MULTICAST_LOOP',
  'IPV6_CHECKSUM',
  // RFC 5082 (GTSM) on stream sockets: least TTL / hop limit a received segment may arrive with.
  'IP_MINTTL',
  'IPV6_MINHOPCOUNT',
] as const;
export type SocketOption = (typeof SOCKET_OPTIONS)[number];

/**
 * The peer a TCP_MD5SIG key is for (SocketLayer.setTcpMd5Key): `addr` when `family` is 4, else
 * `addr6` (a v4-mapped one stands for an IPv4 peer). A SockAddr is one.
 */
export interface TcpMd5Peer {
  family: 4 | 6;
  addr: number;
  addr6: Uint8Array;
}

/**
 * Filled by recvFrom (caller-owned, reused: no allocation per datagram). `ifIndex` and `dst` are what
 * IP_PKTINFO reports (receiving interface, local destination address), filled whatever the option.
 */
export class RecvMeta {
  /**
   * 4: `addr`/`dst` hold the addresses; 6: `addr6`/`dst6` do (an AF_INET6 socket's datagrams, IPv4
   * ones v4-mapped).
   */
  family: 4 | 6 = 4;
  addr = 0;
  readonly addr6 = new Uint8Array(16);
  port = 0;
  ifIndex = -1;
  dst = 0;
  readonly dst6 = new Uint8Array(16);
  /**
   * The IPv6 hop limit the datagram arrived with (what IPV6_RECVHOPLIMIT reports, RFC 3542 §6.3;
   * RIPng and GTSM-style checks need it); for an IPv4 UDP datagram its TTL (IP_RECVTTL; BFD's
   * check, RFC 5881 §5); -1 when unknown (raw IPv4 sockets: the header is in the data).
   */
  hopLimit = -1;
  /** Length of the whole datagram; more than the return value when it was truncated. */
  length = 0;
  truncated = false;
}

/** One row of `show sockets`. */
export interface SocketInfo {
  /** -1 for a TCP connection no fd owns any more (closing, TIME-WAIT). */
  fd: number;
  type: SocketType;
  protocol: number;
  state: string;
  local: string;
  peer: string;
  recvQ: number;
  sendQ: number;
  /** SO_BINDTODEVICE, or null. */
  interface: string | null;
  /** Listeners only: half-open connections held now (bounded by the engine's synQueue). */
  synQueue?: number;
  /** Listeners only: SYN-ACKs sent as SYN cookies (no state kept) because the SYN queue was full. */
  synCookiesSent?: number;
}
