// UDP inside a VR for Node programs, shaped like a node:dgram socket. Datagrams travel over the socket's
// seqpacket pair behind the 20-byte header of §7.3, sent and received in batches (sendmmsg/recvmmsg).
import { EventEmitter } from 'node:events';
import { formatIpv4, tryParseIpv4 } from '@nexthop/addr';
import { loadUnix, type UnixNative, type UnixWatch, WATCH_READABLE, WATCH_WRITABLE } from '@nexthop/native';
import {
  AF_INET,
  DGRAM_HEADER_LENGTH,
  decodeDgramHeader,
  encodeDgramHeader,
  MAX_DGRAM_PAYLOAD,
  newDgramHeader,
  SOCK_DGRAM,
} from '@nexthop/rsock-proto';
import { errnoError } from './errors.ts';
import { replyError, sessionFor, type VrAddress } from './session.ts';

const EAGAIN = 11;
const EMSGSIZE = 90;
const ECONNRESET = 104;

const SLOT = 65536;
const BATCH = 16;
/** Shared by every UDP socket of the process: datagrams are copied out before the next read. */
let recvArena: { buf: Uint8Array; descs: Uint32Array; state: Int32Array } | null = null;
const SEND_ARENA = 256 * 1024;

export interface SocketOptions extends VrAddress {
  type: 'udp4';
}

export interface RemoteInfo {
  address: string;
  family: 'IPv4';
  port: number;
  size: number;
}

type SendCallback = (error: Error | null, bytes?: number) => void;

interface Queued {
  bytes: Uint8Array;
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
  private bound: { address: string; family: 'IPv4'; port: number } | null = null;
  private closed = false;
  private readonly header = newDgramHeader();

  constructor(options: SocketOptions, onMessage?: (msg: Buffer, rinfo: RemoteInfo) => void) {
    super();
    if (options.type !== 'udp4') throw new TypeError(`createSocket: only 'udp4' is supported`);
    this.options = options;
    if (onMessage !== undefined) this.on('message', onMessage);
  }

  bind(port?: number | (() => void), address?: string | (() => void), cb?: () => void): this {
    let p = 0;
    let a = '0.0.0.0';
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

  private start(address: string, port: number): Promise<void> {
    const addr = tryParseIpv4(address);
    if (addr === undefined) throw new TypeError(`bind: '${address}' is not an IPv4 address`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`bind: bad port ${port}`);
    this.starting = this.open(addr, port).catch((e: Error) => {
      this.failQueue(e);
      if (!this.closed) this.emit('error', e);
    });
    return this.starting;
  }

  private async open(addr: number, port: number): Promise<void> {
    const session = sessionFor(this.options);
    const s = await session.request({ kind: 'socket', family: AF_INET, type: SOCK_DGRAM, protocol: 0 });
    if (s.message.kind !== 'socket-ok') throw replyError(s, 'socket');
    if (this.closed) {
      this.u.unixClose(s.fd);
      return;
    }
    this.fd = s.fd;
    this.socketId = s.message.socket;
    this.watch = this.u.unixWatch(this.fd, (ready) => this.onReady(ready));
    this.u.unixWatchEvents(this.watch, WATCH_READABLE);
    const where = { address: formatIpv4(addr), port };
    const b = await session.request({ kind: 'bind', socket: this.socketId, addr, port });
    if (this.closed) return;
    if (b.message.kind !== 'ok') throw replyError(b, 'bind', where);
    const n = await session.request({ kind: 'getsockname', socket: this.socketId });
    if (this.closed) return;
    this.bound =
      n.message.kind === 'addr-ok'
        ? { address: formatIpv4(n.message.addr), family: 'IPv4', port: n.message.port }
        : { ...where, family: 'IPv4' };
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
    const peer = tryParseIpv4(address);
    if (peer === undefined) throw new TypeError(`send: '${address}' is not an IPv4 address`);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new RangeError(`send: bad port ${port}`);
    if (data.length > MAX_DGRAM_PAYLOAD) {
      const err = errnoError(EMSGSIZE, 'send', '', { address, port });
      if (cb !== undefined) process.nextTick(cb, err);
      else process.nextTick(() => this.emit('error', err));
      return;
    }
    const bytes = new Uint8Array(DGRAM_HEADER_LENGTH + data.length);
    const h = this.header;
    h.flags = 0;
    h.peerAddr = peer;
    h.peerPort = port;
    h.ifindex = 0;
    h.localAddr = 0;
    encodeDgramHeader(h, bytes, 0);
    bytes.set(data, DGRAM_HEADER_LENGTH);
    this.queue.push({ bytes, cb });
    // Like node:dgram, sending binds to an ephemeral port first.
    if (this.starting === null) this.start('0.0.0.0', 0);
    else this.scheduleFlush();
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
        if (used + q.bytes.length > buf.length) break;
        buf.set(q.bytes, used);
        descs[2 * count] = used;
        descs[2 * count + 1] = q.bytes.length;
        used += q.bytes.length;
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
      for (const q of this.queue.splice(0, n)) q.cb?.(null, q.bytes.length - DGRAM_HEADER_LENGTH);
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
    const h = this.header;
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
        const at = decodeDgramHeader(buf, off, len, h);
        if (at < 0) continue;
        const msg = Buffer.from(buf.subarray(at, off + len));
        this.emit('message', msg, {
          address: formatIpv4(h.peerAddr),
          family: 'IPv4',
          port: h.peerPort,
          size: msg.length,
        } satisfies RemoteInfo);
      }
      if (state[0] === 1 || n === 0) {
        this.gone(
          errnoError(ECONNRESET, 'recv', `VR ${this.options.vr} closed the socket (did the VR stop?)`),
        );
        return;
      }
    }
  }

  /** The VR's end of the pair is gone: 'error', then 'close'. */
  private gone(e: Error): void {
    if (this.closed) return;
    this.failQueue(e);
    this.emit('error', e);
    this.close();
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

  address(): { address: string; family: 'IPv4'; port: number } {
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
