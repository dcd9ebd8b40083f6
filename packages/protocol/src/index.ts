// The protocol framework: the small contract every routing protocol instance implements (DESIGN §7,
// after BIRD's protocol lifecycle), and the part of the VR's socket layer an engine may use.
//
// Engines are sans-IO: they never read the clock (every call takes `now`, in milliseconds), never arm
// a timer (poll returns the next deadline) and reach the network only through `ProtocolSockets`,
// which the stack's `SocketLayer` satisfies structurally and tests fake. Layer 1, so that every
// engine (BGP, OSPF, RIP, BFD: layer 3) may import it.

/** Readiness bits, as the stack's socket layer reports them (sockapi/types.ts; a test checks they agree). */
export const EV_READABLE = 1;
export const EV_WRITABLE = 2;
export const EV_ERROR = 4;
export const EV_HANGUP = 8;

/** Errno numbers an engine looks at (Linux values, as the socket layer returns them negated). */
export const EAGAIN = 11;
export const EINPROGRESS = 115;

/** An endpoint filled by accept/localAddress/peerAddress (the stack's SockAddr has this shape). */
export interface Endpoint {
  family: 4 | 6;
  addr: number;
  readonly addr6: Uint8Array;
  port: number;
}

/** The socket options an engine sets or reads. */
export type ProtocolSocketOption =
  | 'SO_ERROR'
  | 'SO_RCVBUF'
  | 'SO_SNDBUF'
  | 'TCP_NODELAY'
  | 'IP_TTL'
  | 'IPV6_UNICAST_HOPS'
  | 'IPV6_V6ONLY'
  | 'IP_MINTTL'
  | 'IPV6_MINHOPCOUNT'
  | 'SO_BINDTODEVICE';

/** The peer a TCP MD5 key (RFC 2385) is for; a v4-mapped IPv6 address means the IPv4 one. */
export interface Md5Peer {
  family: 4 | 6;
  addr: number;
  addr6: Uint8Array;
}

/**
 * The socket calls a protocol engine needs: a subset of the stack's `SocketLayer` (BSD-shaped,
 * non-blocking, `>= 0` or `-errno`). Readiness comes back through the instance's `socketEvent`.
 */
export interface ProtocolSockets {
  socket(type: 'stream' | 'dgram' | 'raw', protocol?: number, family?: 4 | 6): number;
  bind(fd: number, addr: number, port: number): number;
  bind6(fd: number, addr: Uint8Array, port: number, scopeId?: number): number;
  connect(fd: number, addr: number, port: number, now: number): number;
  connect6(fd: number, addr: Uint8Array, port: number, now: number, scopeId?: number): number;
  listen(fd: number, backlog: number): number;
  accept(fd: number, now: number, peer?: Endpoint): number;
  send(fd: number, buf: Uint8Array, off: number, len: number, now: number): number;
  recv(fd: number, buf: Uint8Array, off: number, len: number, now: number): number;
  close(fd: number, now: number): number;
  setOption(fd: number, name: ProtocolSocketOption, value: number | string): number;
  getOption(fd: number, name: ProtocolSocketOption): number;
  localAddress(fd: number, out: Endpoint): number;
  /**
   * RFC 2385: signs and checks every segment with `peer` under `key` (null deletes the key). On a
   * listener, keys by peer, inherited by the connections it accepts; on a socket before connect,
   * the key of the peer it will connect to. 0 or -errno (as Linux's TCP_MD5SIG).
   */
  setTcpMd5Key(fd: number, peer: Md5Peer, key: Uint8Array | null): number;
  peerAddress(fd: number, out: Endpoint): number;
}

/** A protocol instance's lifecycle state (BIRD's PS_DOWN, PS_START, PS_UP, PS_STOP). */
export type ProtocolState = 'down' | 'starting' | 'up' | 'stopping';

/**
 * What every protocol instance implements. The VR (or the simulator) owns the sockets and the
 * clock: it routes socket events to the instance that owns the fd, calls `poll` at the deadline
 * the last call returned (or earlier), and reads `show` for the CLI and metrics.
 */
export interface ProtocolInstance<Config, Show> {
  readonly kind: string;
  readonly name: string;
  readonly state: ProtocolState;
  /** Opens its sockets and starts its sessions. */
  start(now: number): void;
  /**
   * Readiness of a socket. Returns false when the fd is not this instance's (the caller may try
   * another one).
   */
  socketEvent(fd: number, events: number, now: number): boolean;
  /** Runs what is due at `now`; returns the next deadline (Infinity: none), never in the past. */
  poll(now: number): number;
  /**
   * Applies a new configuration in place where it can (other sessions untouched). Returns false
   * when it cannot: the caller then stops this instance and starts a new one.
   */
  reconfigure(config: Config, now: number): boolean;
  /** Closes its sessions (telling the peers why) and its sockets; its routes are withdrawn. */
  stop(now: number, reason?: string): void;
  /** A JSON-friendly description of its state and counters. */
  show(now: number): Show;
}

/** What `recvFrom` fills for a datagram (the stack's RecvMeta has this shape). */
export interface DatagramMeta {
  family: 4 | 6;
  /** The source address and port. */
  addr: number;
  readonly addr6: Uint8Array;
  port: number;
  /** The interface it arrived on. */
  ifIndex: number;
  /** The destination it was sent to (a multicast group, or one of ours). */
  dst: number;
  readonly dst6: Uint8Array;
  /** The TTL or hop limit it arrived with (RFC 5082, RFC 2080 §2.4.2, RFC 5881 §5). */
  hopLimit: number;
  /** Its whole length, and whether the buffer given was too short for it. */
  length: number;
  truncated: boolean;
}

/** A multicast group to join or leave on an interface (name or index), as IP_ADD_MEMBERSHIP and IPV6_JOIN_GROUP take it. */
export type Membership =
  | { group: number; interface: string | number }
  | { group6: Uint8Array; interface: string | number };

/**
 * The datagram calls (UDP or raw IP) an engine may make: a subset of the stack's `SocketLayer`,
 * satisfied structurally and faked by tests. `Option` names the socket options the engine sets.
 */
export interface DatagramSockets<Option extends string = string> {
  socket(type: 'dgram' | 'raw', protocol?: number, family?: 4 | 6): number;
  bind(fd: number, addr: number, port: number): number;
  bind6(fd: number, addr: Uint8Array, port: number, scopeId?: number): number;
  setOption(fd: number, name: Option, value: number | string | Membership): number;
  /** One datagram, from `src` out of `oif` when given. */
  sendTo(
    fd: number,
    buf: Uint8Array,
    off: number,
    len: number,
    addr: number,
    port: number,
    now: number,
    src?: number,
    oif?: number,
  ): number;
  /** One datagram; a link-local destination needs `scopeId` (the interface's index + 1). */
  sendTo6(
    fd: number,
    buf: Uint8Array,
    off: number,
    len: number,
    addr: Uint8Array,
    port: number,
    now: number,
    src?: Uint8Array | null,
    scopeId?: number,
  ): number;
  recvFrom(fd: number, buf: Uint8Array, off: number, len: number, meta: DatagramMeta): number;
  close(fd: number, now: number): number;
}
