// One open socket (an fd of the socket layer): its addresses, options, pending error and, by type,
// its datagram queue (UDP, raw) or its TCP connection or listener.
import { EV_ERROR, EV_HANGUP, EV_READABLE, EV_WRITABLE, type SocketType } from '../sockapi/types.ts';
import type { TcpConnection, TcpListener, TcpMd5Keys } from '../tcp/index.ts';
import { DatagramQueue } from './dgram-queue.ts';
import { isLinkScoped, mapIpv4 } from './inet6.ts';
import { SockOptions } from './options.ts';

/** Datagrams a socket may hold however small they are. */
const QUEUE_SLOTS = 1024;

/**
 * An endpoint filled by localAddress / peerAddress / accept: `addr` for an AF_INET socket, `addr6`
 * for an AF_INET6 one (a v4-mapped address when that socket talks IPv4, RFC 4291 §2.5.5.2).
 */
export class SockAddr {
  family: 4 | 6 = 4;
  addr = 0;
  readonly addr6 = new Uint8Array(16);
  port = 0;
  /** A link-scoped `addr6`'s zone: the VR's interface index + 1 (sin6_scope_id), 0 for none. */
  scopeId = 0;
}

/**
 * Fills `out` with an endpoint of s (a4/a6 and port: its local or remote ones) in its family's form:
 * AF_INET6 sockets that talk IPv4 give v4-mapped addresses, link-scoped ones their zone.
 */
export function fillSockAddr(s: Sock, a4: number, a6: Uint8Array, port: number, out: SockAddr): void {
  out.family = s.family;
  out.port = port;
  out.addr = a4;
  out.scopeId = 0;
  if (s.family === 4) return;
  if (s.mapped) mapIpv4(a4, out.addr6);
  else out.addr6.set(a6);
  if (s.scope6 >= 0 && isLinkScoped(out.addr6)) out.scopeId = s.scope6 + 1;
}

/** A connection of either engine (IPv4: numbers; IPv6: 16-byte addresses). */
export type AnyTcpConnection = TcpConnection<number> | TcpConnection<Uint8Array>;

export class Sock {
  readonly fd: number;
  readonly type: SocketType;
  readonly protocol: number;
  /** 4: AF_INET; 6: AF_INET6. */
  readonly family: 4 | 6;
  open = true;
  /** AF_INET6, IPV6_V6ONLY (RFC 3493 §5.3): no IPv4 traffic through this socket. */
  v6only = false;
  /**
   * AF_INET6 only: the socket talks IPv4 (RFC 4291 §2.5.5.2 v4-mapped addresses: bound or
   * connected to one, or accepted from an IPv4 peer). Its addresses are then in the IPv4 fields and
   * it uses the IPv4 engine, as Linux's AF_INET6 sockets do.
   */
  mapped = false;
  /** AF_INET6 sockets that talk IPv6: the local and remote addresses (:: while unset). */
  readonly localAddr6 = new Uint8Array(16);
  readonly remoteAddr6 = new Uint8Array(16);
  /**
   * AF_INET6: the interface (RFC 4007 scope zone) of a link-local address the socket is bound or
   * connected to, -1 when it has none.
   */
  scope6 = -1;
  /** AF_INET6: the groups joined with IPV6_JOIN_GROUP, each on one interface. */
  readonly memberships6: { group: Uint8Array; ifIndex: number }[] = [];
  /**
   * AF_INET6 raw sockets: IPV6_CHECKSUM, where the checksum over the IPv6 pseudo-header sits in what
   * the socket sends (computed) and receives (verified), -1 for none (RFC 3542 §3.1; ICMPv6: 2).
   */
  checksumOffset = -1;
  localAddr = 0;
  localPort = 0;
  remoteAddr = 0;
  remotePort = 0;
  bound = false;
  /** bind() chose the address (connect may not replace it). */
  addrLocked = false;
  connected = false;
  readonly opt = new SockOptions();
  /** Pairs (group, ifIndex). */
  readonly memberships: number[] = [];
  /** Pending error, a positive errno (SO_ERROR). */
  error = 0;
  shutRd = false;
  shutWr = false;
  queue: DatagramQueue | null = null;
  conn: AnyTcpConnection | null = null;
  /** The IPv4 engine's listener (an AF_INET socket, or the IPv4 half of a dual-stack one). */
  listener: TcpListener<number> | null = null;
  /** The IPv6 engine's listener of an AF_INET6 socket. */
  listener6: TcpListener<Uint8Array> | null = null;
  /**
   * TCP_MD5SIG (RFC 2385): the keys of IPv4 peers (v4-mapped ones on AF_INET6) and of IPv6 peers,
   * null while none was set. The socket's listeners use these very tables.
   */
  md5Keys4: TcpMd5Keys<number> | null = null;
  md5Keys6: TcpMd5Keys<Uint8Array> | null = null;
  /** accept() alternates between the two listeners of a dual-stack socket. */
  acceptFromV6First = true;
  /** Queued for a readiness event. */
  dirty = false;

  constructor(fd: number, type: SocketType, protocol: number, family: 4 | 6 = 4) {
    this.fd = fd;
    this.type = type;
    this.protocol = protocol;
    this.family = family;
    if (type !== 'stream') this.queue = new DatagramQueue(this.opt.rcvBuf, QUEUE_SLOTS, family === 6);
  }

  isMember(group: number, ifIndex: number): boolean {
    const m = this.memberships;
    for (let i = 0; i < m.length; i += 2) if (m[i] === group && m[i + 1] === ifIndex) return true;
    return false;
  }

  /** Takes the pending error (positive errno, 0 when none): the socket's own, else its connection's. */
  takeError(): number {
    let e = this.error;
    this.error = 0;
    if (e === 0 && this.conn !== null) {
      const t = this.conn.takeError();
      e = t < 0 ? -t : t;
    }
    return e;
  }

  /** The current EV_* mask. */
  events(): number {
    if (this.type === 'stream') {
      const c = this.conn;
      const l = this.listener;
      const l6 = this.listener6;
      let ev: number;
      if (c !== null) ev = c.events();
      else if (l !== null || l6 !== null) ev = (l?.events() ?? 0) | (l6?.events() ?? 0);
      else ev = EV_HANGUP;
      if (this.error !== 0) ev |= EV_ERROR;
      return ev;
    }
    let ev = 0;
    if (this.queue!.count > 0 || this.shutRd || this.error !== 0) ev |= EV_READABLE;
    if (!this.shutWr) ev |= EV_WRITABLE;
    if (this.error !== 0) ev |= EV_ERROR;
    if (this.shutRd && this.shutWr) ev |= EV_HANGUP;
    return ev;
  }
}

/** Sockets by key (port, protocol number): a list each, as few sockets share one. */
export class SockLists {
  private readonly map = new Map<number, Sock[]>();

  get(key: number): Sock[] | undefined {
    return this.map.get(key);
  }

  has(key: number): boolean {
    return this.map.has(key);
  }

  add(key: number, s: Sock): void {
    const list = this.map.get(key);
    if (list === undefined) this.map.set(key, [s]);
    else list.push(s);
  }

  remove(key: number, s: Sock): void {
    const list = this.map.get(key);
    if (list === undefined) return;
    const i = list.indexOf(s);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.map.delete(key);
  }
}
