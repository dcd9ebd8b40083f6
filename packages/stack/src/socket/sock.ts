// One open socket (an fd of the socket layer): its addresses, options, pending error and, by type,
// its datagram queue (UDP, raw) or its TCP connection or listener.
import { EV_ERROR, EV_HANGUP, EV_READABLE, EV_WRITABLE, type SocketType } from '../sockapi/types.ts';
import type { TcpConnection, TcpListener } from '../tcp/index.ts';
import { DatagramQueue } from './dgram-queue.ts';
import { SockOptions } from './options.ts';

/** Datagrams a socket may hold however small they are. */
const QUEUE_SLOTS = 1024;

/** An (address, port) pair filled by localAddress / peerAddress / accept. */
export class SockAddr {
  addr = 0;
  port = 0;
}

export class Sock {
  readonly fd: number;
  readonly type: SocketType;
  readonly protocol: number;
  open = true;
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
  conn: TcpConnection | null = null;
  listener: TcpListener | null = null;
  /** Queued for a readiness event. */
  dirty = false;

  constructor(fd: number, type: SocketType, protocol: number) {
    this.fd = fd;
    this.type = type;
    this.protocol = protocol;
    if (type !== 'stream') this.queue = new DatagramQueue(this.opt.rcvBuf, QUEUE_SLOTS);
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
      let ev = c !== null ? c.events() : l !== null ? l.events() : EV_HANGUP;
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
