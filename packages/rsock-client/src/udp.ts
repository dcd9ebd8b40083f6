// UDP inside a VR for Node programs, shaped like a node:dgram socket. Datagrams travel over the socket's
// seqpacket pair behind the datagram header, sent and received in batches (sendmmsg/recvmmsg): the
// 20-byte header of §7.3 on a socket created while the session speaks version 1, the 64-byte one of
// §13.5 on version 2 (the layout is the socket's for its life).
import { EventEmitter } from 'node:events';
import { loadUnix, type UnixNative, type UnixWatch, WATCH_READABLE, WATCH_WRITABLE } from '@nexthop/native';
import {
  AF_INET,
  AF_INET6,
  clearEndpoint,
  copyEndpoint,
  DGRAM_HEADER_LENGTH_V2,
  decodeDgramHeader,
  decodeDgramHeader2,
  type Endpoint,
  encodeDgramHeader,
  encodeDgramHeader2,
  endpoint4,
  MAX_DGRAM_PAYLOAD,
  MAX_DGRAM_PAYLOAD_V6,
  newDgramHeader,
  newDgramHeader2,
  SOCK_DGRAM,
} from '@nexthop/rsock-proto';
import { addressOf, anyEndpoint, type FamilyName, openSocket, parseEndpoint } from './address.ts';
import { errnoError } from './errors.ts';
import { replyError, sessionFor, type VrAddress } from './session.ts';

const EAGAIN = 11;
const EMSGSIZE = 90;
const EAFNOSUPPORT = 97;
const ECONNRESET = 104;

/** Room for the largest datagram behind the larger (version-2) header. */
const SLOT = (DGRAM_HEADER_LENGTH_V2 + MAX_DGRAM_PAYLOAD_V6 + 7) & ~7;
const BATCH = 16;
/** Shared by every UDP socket of the process: datagrams are copied out before the next read. */
let recvArena: { buf: Uint8Array; descs: Uint32Array; state: Int32Array } | null = null;
const SEND_ARENA = 256 * 1024;

export interface SocketOptions extends VrAddress {
  /** 'udp6' asks the VR for an AF_INET6 socket (EAFNOSUPPORT while the VR has no IPv6 sockets). */
  type: 'udp4' | 'udp6';
}

export interface RemoteInfo {
  address: string;
  family: FamilyName;
  port: number;
  size: number;
}

type SendCallback = (error: Error | null, bytes?: number) => void;

interface Queued {
  payload: Uint8Array;
  peer: Endpoint;
  cb: SendCallback | undefined;
}

export class Socket extends EventEmitter {
  private readonly options: SocketOptions;
  private readonly u: UnixNative = loadUnix();
  private fd = -1;
  private socketId = 0;
  private watch: UnixWatch | null = null;
  private starting: Promise<void> | null = null;
  private readonly queue: Queued[] = [];
  private sendBuf: Uint8Array | null = null;
  private sendDescs: Uint32Array | null = null;
  private flushScheduled = false;
  private bound: { address: string; family: FamilyName; port: number } | null = null;
  private closed = false;
  private readonly family: number;
  /** The pair carries the 64-byte header (the session spoke version 2 at SOCKET). */
  private v2 = false;
  private readonly header = newDgramHeader();
  private readonly header2 = newDgramHeader2();

  constructor(options: SocketOptions, onMessage?: (msg: Buffer, rinfo: RemoteInfo) => void) {
    super();
    if (options.type !== 'udp4' && options.type !== 'udp6')
      throw new TypeError(`createSocket: type must be 'udp4' or 'udp6'`);
    this.options = options;
    this.family = options.type === 'udp6' ? AF_INET6 : AF_INET;
    if (onMessage !== undefined) this.on('message', onMessage);
  }

  bind(port?: number | (() => void), address?: string | (() => void), cb?: () => void): this {
    let p = 0;
    let a = this.family === AF_INET6 ? '::' : '0.0.0.0';
    let done = cb;
    if (typeof port === 'function') done = port;
    else if (typeof port === 'number') p = port;
    if (typeof address === 'function') done = address;
    else if (typeof address === 'string') a = address;
    if (done !== undefined) this.once('listening', done);
    if (this.starting !== null) throw new Error('bind: the socket is already bound');
    this.start(a, p);
    return this;
  }

  private start(address: string | null, port: number): Promise<void> {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`bind: bad port ${port}`);
    const ep = address === null ? anyEndpoint(this.family, port) : parseEndpoint(address, port, 'bind');
    this.starting = this.open(ep).catch((e: Error) => {
      this.failQueue(e);
      if (!this.closed) this.emit('error', e);
    });
    return this.starting;
  }

  private async open(ep: Endpoint): Promise<void> {
    const session = sessionFor(this.options);
    const s = await openSocket(session, this.family, SOCK_DGRAM);
    if (s.message.kind !== 'socket-ok') throw replyError(s, 'socket');
    if (this.closed) {
      this.u.unixClose(s.fd);
      return;
    }
    this.fd = s.fd;
    this.socketId = s.message.socket;
    // The session's version when the VR created the socket: its datagrams' header for good (§13.5).
    this.v2 = session.version >= 2;
    this.watch = this.u.unixWatch(this.fd, (ready) => this.onReady(ready));
    this.u.unixWatchEvents(this.watch, WATCH_READABLE);
    const where = addressOf(ep);
    const b = await session.request({ kind: 'bind', socket: this.socketId, ep });
    if (this.closed) return;
    if (b.message.kind !== 'ok') throw replyError(b, 'bind', where);
    const n = await session.request({ kind: 'getsockname', socket: this.socketId });
    if (this.closed) return;
    this.bound = n.message.kind === 'addr-ok' ? addressOf(n.message.ep) : where;
    this.emit('listening');
    this.flush();
  }

  send(msg: Uint8Array | string, port: number, address: string, cb?: SendCallback): void;
  send(
    msg: Uint8Array | string,
    offset: number,
    length: number,
    port: number,
    address: string,
    cb?: SendCallback,
  ): void;
  send(msg: Uint8Array | string, a: number, b: number | string, c?: unknown, d?: unknown, e?: unknown): void {
    let data = typeof msg === 'string' ? Buffer.from(msg) : msg;
    let port: number;
    let address: string;
    let cb: SendCallback | undefined;
    if (typeof b === 'string') {
      port = a;
      address = b;
      cb = c as SendCallback | undefined;
    } else {
      data = data.subarray(a, a + b);
      port = c as number;
      address = d as string;
      cb = e as SendCallback | undefined;
    }
    if (this.closed) throw new Error('send: the socket is closed');
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new RangeError(`send: bad port ${port}`);
    const peer = parseEndpoint(address, port, 'send');
    // An address the socket's family cannot take is the kernel's EAFNOSUPPORT (an IPv6 one on a
    // udp4 socket); node:dgram would not send it either.
    const refusal =
      peer.family !== this.family
        ? errnoError(
            EAFNOSUPPORT,
            'send',
            `an ${addressOf(peer).family} address on a ${this.options.type} socket`,
            {
              address,
              port,
            },
          )
        : data.length > (this.family === AF_INET ? MAX_DGRAM_PAYLOAD : MAX_DGRAM_PAYLOAD_V6)
          ? errnoError(EMSGSIZE, 'send', '', { address, port })
          : null;
    if (refusal !== null) {
      if (cb !== undefined) process.nextTick(cb, refusal);
      else process.nextTick(() => this.emit('error', refusal));
      return;
    }
    // Copied now, as node:dgram does: the caller may reuse its buffer once send() returns.
    this.queue.push({ payload: new Uint8Array(data), peer, cb });
    // Like node:dgram, sending binds to an ephemeral port first.
    if (this.starting === null) this.start(null, 0);
    else this.scheduleFlush();
  }

  /** Writes q's header (the socket's layout) and payload at buf[at]; returns the length. */
  private encode(q: Queued, buf: Uint8Array, at: number): number {
    let hl: number;
    if (this.v2) {
      const h = this.header2;
      copyEndpoint(h.peer, q.peer);
      h.flags = 0;
      h.ifindex = 0;
      clearEndpoint(h.local);
      hl = encodeDgramHeader2(h, buf, at);
    } else {
      const h = this.header;
      h.flags = 0;
      h.peerAddr = q.peer.addr;
      h.peerPort = q.peer.port;
      h.ifindex = 0;
      h.localAddr = 0;
      hl = encodeDgramHeader(h, buf, at);
    }
    buf.set(q.payload, at + hl);
    return hl + q.payload.length;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Everything sent in this turn goes to the VR in one sendmmsg.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.fd < 0 || this.bound === null || this.closed) return;
    if (this.sendBuf === null) {
      this.sendBuf = new Uint8Array(SEND_ARENA);
      this.sendDescs = new Uint32Array(2 * BATCH);
    }
    const buf = this.sendBuf;
    const descs = this.sendDescs!;
    while (this.queue.length > 0) {
      let count = 0;
      let used = 0;
      while (count < BATCH && count < this.queue.length) {
        const q = this.queue[count]!;
        if (used + DGRAM_HEADER_LENGTH_V2 + q.payload.length > buf.length) break;
        const len = this.encode(q, buf, used);
        descs[2 * count] = used;
        descs[2 * count + 1] = len;
        used += len;
        count++;
      }
      const n = this.u.unixSendDgrams(this.fd, buf, descs, 0, count);
      if (n === -EAGAIN) {
        if (this.watch !== null) this.u.unixWatchEvents(this.watch, WATCH_READABLE | WATCH_WRITABLE);
        return;
      }
      if (n < 0) {
        const q = this.queue.shift()!;
        const err = errnoError(-n, 'send', n === -EMSGSIZE ? 'larger than the pair takes' : 'to the VR');
        if (q.cb !== undefined) q.cb(err);
        else this.emit('error', err);
        if (this.closed) return;
        continue;
      }
      for (const q of this.queue.splice(0, n)) q.cb?.(null, q.payload.length);
      if (this.closed) return;
    }
    if (this.watch !== null) this.u.unixWatchEvents(this.watch, WATCH_READABLE);
  }

  private onReady(ready: number): void {
    if ((ready & WATCH_WRITABLE) !== 0) this.flush();
    if ((ready & WATCH_READABLE) !== 0) this.receive();
  }

  private receive(): void {
    if (recvArena === null) {
      recvArena = {
        buf: new Uint8Array(SLOT * BATCH),
        descs: new Uint32Array(3 * BATCH),
        state: new Int32Array(1),
      };
    }
    const { buf, descs, state } = recvArena;
    while (!this.closed) {
      state[0] = 0;
      const n = this.u.unixRecvDgrams(this.fd, buf, SLOT, BATCH, descs, state);
      if (n === -EAGAIN) return;
      if (n < 0) {
        this.gone(errnoError(-n, 'recv', `the datagram pair of VR ${this.options.vr} failed`));
        return;
      }
      for (let i = 0; i < n && !this.closed; i++) {
        const off = descs[3 * i]!;
        const len = descs[3 * i + 1]!;
        // A truncated datagram cannot be one the VR sent (its slot holds the largest): skip it.
        if (descs[3 * i + 2] !== 0) continue;
        const at = this.v2
          ? decodeDgramHeader2(buf, off, len, this.header2)
          : decodeDgramHeader(buf, off, len, this.header);
        if (at < 0) continue;
        const msg = Buffer.from(buf.subarray(at, off + len));
        const from = this.v2
          ? addressOf(this.header2.peer)
          : addressOf(endpoint4(this.header.peerAddr, this.header.peerPort));
        this.emit('message', msg, { ...from, size: msg.length } satisfies RemoteInfo);
      }
      if (state[0] === 1 || n === 0) {
        this.gone(
          errnoError(ECONNRESET, 'recv', `VR ${this.options.vr} closed the socket (did the VR stop?)`),
        );
        return;
      }
    }
  }

  /**
   * The VR's end of the pair is gone: 'error', then 'close'. Closed before 'error' is emitted, so
   * that an 'error' nobody listens for (which throws) cannot leave the watch firing on the dead pair.
   */
  private gone(e: Error): void {
    if (this.closed) return;
    this.failQueue(e);
    this.close();
    this.emit('error', e);
  }

  private failQueue(e: Error): void {
    for (const q of this.queue.splice(0)) q.cb?.(e);
  }

  close(cb?: () => void): this {
    if (cb !== undefined) this.once('close', cb);
    if (this.closed) return this;
    // Datagrams sent before close() go out if the pair takes them now, as node:dgram's would.
    this.flush();
    this.closed = true;
    if (this.watch !== null) this.u.unixWatchClose(this.watch);
    this.watch = null;
    // The last copy of the application end: the VR closes its socket (§10).
    if (this.fd >= 0) this.u.unixClose(this.fd);
    this.fd = -1;
    this.failQueue(errnoError(ECONNRESET, 'send', 'the socket was closed'));
    process.nextTick(() => this.emit('close'));
    return this;
  }

  address(): { address: string; family: FamilyName; port: number } {
    if (this.bound === null) throw new Error('address: the socket is not bound');
    return this.bound;
  }

  /** The VR socket's id (for `nexthop show sockets`), 0 before it exists. */
  get vrSocketId(): number {
    return this.socketId;
  }
}

export function createSocket(
  options: SocketOptions,
  onMessage?: (msg: Buffer, rinfo: RemoteInfo) => void,
): Socket {
  return new Socket(options, onMessage);
}
