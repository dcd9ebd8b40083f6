import {
  EV_ERROR,
  EV_HANGUP,
  EV_READABLE,
  errno,
  errnoName,
  RecvMeta,
  type SocketLayer,
} from '@nexthop/stack';

export const ECHO_PORT = 7;
export const DISCARD_PORT = 9;
export const CHARGEN_PORT = 19;

/** RFC 864: 72 printable characters a line, each line starting one character further on. */
export const CHARGEN_LINE = 72;
const PRINTABLE = 95;
const LINE_BYTES = CHARGEN_LINE + 2;
const UDP_CHARGEN_MAX = 512;
const BUF = 64 * 1024;

/** The part of the socket layer the services use (the stack's socket API, nothing else). */
export type ServiceSockets = Pick<
  SocketLayer,
  | 'socket'
  | 'bind'
  | 'listen'
  | 'accept'
  | 'send'
  | 'sendTo'
  | 'recv'
  | 'recvFrom'
  | 'shutdown'
  | 'close'
  | 'setOption'
  | 'events'
>;

export interface SmallServicesConfig {
  echo: boolean;
  discard: boolean;
  chargen: boolean;
}

type Kind = 'echo' | 'discard' | 'chargen';
const PORTS: Record<Kind, number> = { echo: ECHO_PORT, discard: DISCARD_PORT, chargen: CHARGEN_PORT };

/** One full cycle of the chargen stream: 95 lines of 72 characters and CR LF. */
export function chargenPattern(): Uint8Array {
  const p = new Uint8Array(PRINTABLE * LINE_BYTES);
  for (let line = 0; line < PRINTABLE; line++) {
    const o = line * LINE_BYTES;
    for (let j = 0; j < CHARGEN_LINE; j++) p[o + j] = 32 + ((line + j) % PRINTABLE);
    p[o + CHARGEN_LINE] = 13;
    p[o + CHARGEN_LINE + 1] = 10;
  }
  return p;
}

interface Handler {
  kind: Kind;
  role: 'udp' | 'listener' | 'conn';
  /** Echo: bytes received but not yet sent back (the connection stops reading meanwhile). */
  pending: Uint8Array | null;
  pendingOff: number;
  pendingLen: number;
  /** Chargen: position in the pattern. */
  pos: number;
  /** The peer finished sending. */
  eof: boolean;
}

/**
 * The small servers, driven by socket events: the owner forwards every event with onEvent() (it
 * returns false for fds that are not the services'). Sans-IO like the stack: time comes in as `now`.
 */
export class SmallServices {
  private readonly so: ServiceSockets;
  private readonly config: SmallServicesConfig;
  private readonly handlers = new Map<number, Handler>();
  private readonly buf = new Uint8Array(BUF);
  private readonly meta = new RecvMeta();
  private readonly pattern = chargenPattern();
  /** The pattern twice over, so that any window of up to one cycle is contiguous. */
  private readonly pattern2: Uint8Array;
  private rng: number;
  /** Counters for observation and tests. */
  readonly stats = {
    udpEchoed: 0,
    udpDiscarded: 0,
    udpChargen: 0,
    tcpAccepted: 0,
    tcpBytesIn: 0,
    tcpBytesOut: 0,
  };

  constructor(sockets: ServiceSockets, config: SmallServicesConfig, seed = 0x5eed) {
    this.so = sockets;
    this.config = config;
    this.rng = seed | 0;
    this.pattern2 = new Uint8Array(this.pattern.length * 2);
    this.pattern2.set(this.pattern, 0);
    this.pattern2.set(this.pattern, this.pattern.length);
  }

  /**
   * Opens the configured services' sockets. Returns a note per socket that could not be opened
   * (e.g. 'tcp echo: EPROTONOSUPPORT' while the stack has no TCP); the others run regardless.
   */
  start(now: number): string[] {
    const problems: string[] = [];
    for (const kind of ['echo', 'discard', 'chargen'] as const) {
      if (!this.config[kind]) continue;
      const port = PORTS[kind];
      const u = this.open('dgram', port, now);
      if (u < 0) problems.push(`udp ${kind}: ${errnoLabel(u)}`);
      else this.handlers.set(u, newHandler(kind, 'udp'));
      const t = this.open('stream', port, now);
      if (t < 0) problems.push(`tcp ${kind}: ${errnoLabel(t)}`);
      else this.handlers.set(t, newHandler(kind, 'listener'));
    }
    return problems;
  }

  /** Closes every socket the services hold. */
  stop(now: number): void {
    for (const fd of this.handlers.keys()) this.so.close(fd, now);
    this.handlers.clear();
  }

  /** The fds in use (listeners, UDP sockets, connections). */
  fds(): number[] {
    return [...this.handlers.keys()];
  }

  onEvent(fd: number, events: number, now: number): boolean {
    const h = this.handlers.get(fd);
    if (h === undefined) return false;
    if (h.role === 'udp') {
      if ((events & (EV_READABLE | EV_ERROR)) !== 0) this.udpReadable(fd, h, now);
    } else if (h.role === 'listener') {
      if ((events & EV_READABLE) !== 0) this.acceptAll(fd, h, now);
    } else this.connEvent(fd, h, events, now);
    return true;
  }

  private open(type: 'dgram' | 'stream', port: number, now: number): number {
    const so = this.so;
    const fd = so.socket(type);
    if (fd < 0) return fd;
    so.setOption(fd, 'SO_REUSEADDR', 1, now);
    let r = so.bind(fd, 0, port);
    if (r === 0 && type === 'stream') r = so.listen(fd, 128);
    if (r < 0) {
      so.close(fd, now);
      return r;
    }
    return fd;
  }

  private udpReadable(fd: number, h: Handler, now: number): void {
    const so = this.so;
    const m = this.meta;
    for (;;) {
      const n = so.recvFrom(fd, this.buf, 0, BUF, m);
      if (n === -errno.EAGAIN) return;
      if (n < 0) continue; // a pending error was taken; keep draining
      // No answers to broadcast or multicast, nor to another small server's port: the classic
      // echo <-> chargen ping-pong between two hosts (CERT CA-1996-01).
      const unicast = m.dst !== 0xffffffff && m.dst >>> 28 !== 14 && m.port !== 0;
      const fromService = m.port === ECHO_PORT || m.port === CHARGEN_PORT || m.port === DISCARD_PORT;
      if (h.kind === 'discard') {
        this.stats.udpDiscarded++;
      } else if (unicast && !fromService && h.kind === 'echo') {
        // The reply leaves from the address the request was sent to (what IP_PKTINFO gives).
        so.sendTo(fd, this.buf, 0, n, m.addr, m.port, now, m.dst);
        this.stats.udpEchoed++;
      } else if (unicast && !fromService) {
        // RFC 864: a datagram of a random length between 0 and 512 characters per datagram received.
        const len = this.nextRandom() % (UDP_CHARGEN_MAX + 1);
        so.sendTo(fd, this.pattern2, 0, len, m.addr, m.port, now, m.dst);
        this.stats.udpChargen++;
      }
    }
  }

  private acceptAll(fd: number, h: Handler, now: number): void {
    for (;;) {
      const c = this.so.accept(fd, now);
      if (c < 0) return;
      this.stats.tcpAccepted++;
      const ch = newHandler(h.kind, 'conn');
      this.handlers.set(c, ch);
      // The connection may already hold data or be writable: act on its current state.
      this.connEvent(c, ch, this.so.events(c), now);
    }
  }

  private connEvent(fd: number, h: Handler, events: number, now: number): void {
    const so = this.so;
    if ((events & EV_ERROR) !== 0 && (events & EV_READABLE) === 0) return this.finish(fd, now);
    if (h.kind === 'echo') {
      if (!this.flushEcho(fd, h, now)) return;
      while (h.pendingLen === 0 && !h.eof) {
        const n = so.recv(fd, this.buf, 0, BUF, now);
        if (n === -errno.EAGAIN) break;
        if (n <= 0) {
          if (n < 0) return this.finish(fd, now);
          h.eof = true;
          break;
        }
        this.stats.tcpBytesIn += n;
        const w = so.send(fd, this.buf, 0, n, now);
        if (w < 0 && w !== -errno.EAGAIN) return this.finish(fd, now);
        const sent = Math.max(0, w);
        this.stats.tcpBytesOut += sent;
        if (sent < n) {
          if (h.pending === null) h.pending = new Uint8Array(BUF);
          h.pending.set(this.buf.subarray(sent, n), 0);
          h.pendingOff = 0;
          h.pendingLen = n - sent;
        }
      }
      if (h.eof && h.pendingLen === 0) return this.finish(fd, now);
      return;
    }
    // discard and chargen both read and drop whatever arrives.
    while (!h.eof) {
      const n = so.recv(fd, this.buf, 0, BUF, now);
      if (n === -errno.EAGAIN) break;
      if (n <= 0) {
        if (n < 0) return this.finish(fd, now);
        h.eof = true;
        break;
      }
      this.stats.tcpBytesIn += n;
    }
    if (h.eof || (events & EV_HANGUP) !== 0) return this.finish(fd, now);
    if (h.kind === 'chargen') {
      // As fast as the peer reads: fill the send buffer, wait for the next writable event.
      const cycle = this.pattern.length;
      for (;;) {
        const w = so.send(fd, this.pattern2, h.pos, cycle, now);
        if (w === -errno.EAGAIN || w === 0) break;
        if (w < 0) return this.finish(fd, now);
        this.stats.tcpBytesOut += w;
        h.pos = (h.pos + w) % cycle;
        if (w < cycle) break;
      }
    }
  }

  /** Sends what echo still owes; false when the connection was finished. */
  private flushEcho(fd: number, h: Handler, now: number): boolean {
    while (h.pendingLen > 0) {
      const w = this.so.send(fd, h.pending!, h.pendingOff, h.pendingLen, now);
      if (w === -errno.EAGAIN || w === 0) return true;
      if (w < 0) {
        this.finish(fd, now);
        return false;
      }
      this.stats.tcpBytesOut += w;
      h.pendingOff += w;
      h.pendingLen -= w;
    }
    return true;
  }

  private finish(fd: number, now: number): void {
    this.handlers.delete(fd);
    this.so.close(fd, now);
  }

  private nextRandom(): number {
    // xorshift32: the lengths only need to vary, reproducibly.
    let x = this.rng || 1;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x;
    return x >>> 0;
  }
}

function newHandler(kind: Kind, role: Handler['role']): Handler {
  return { kind, role, pending: null, pendingOff: 0, pendingLen: 0, pos: 0, eof: false };
}

function errnoLabel(r: number): string {
  return r === -errno.EPROTONOSUPPORT ? 'EPROTONOSUPPORT (no TCP in this stack yet)' : errnoName(r);
}
