// The data relay between a VR socket and the VR's end of its socketpair (docs/remote-socket-protocol.md
// §7). One relay object per remote socket holds what is in flight; the shared RelayContext holds the
// scratch buffers, the counters and the two sides' calls.
//
// Wakeups. The two sides signal readiness differently, and a relay that stops with work left must
// know who will wake it:
// - the pair end is watched level-triggered (the server's epoll set, unixPollSet): interest in
//   READABLE or WRITABLE keeps firing while it holds, so waiting on the pair is safe whenever the
//   interest says so;
// - the stack signals a socket only when its readiness *may have changed* (data arrived, space was
//   freed): a relay that leaves readable stack data behind, or stops before its send buffer is full,
//   gets no second event.
// So each pump stops for one of three reasons: the pair blocks (interest set, the watch wakes us), the
// stack blocks (its next change wakes us), or the pump's fairness budget ran out with both sides still
// able to move — then pump() answers true and the owner runs it again from the event loop
// (RsockServer.schedule). Losing that third case stalled downloads under `exec` (issue 9): the pump
// yielded after 8 chunks with ~500 KB readable in the VR socket and nothing left to wake it.
import type { UnixNative } from '@nexthop/native';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  clearEndpoint,
  DGRAM_HEADER_LENGTH,
  DGRAM_HEADER_LENGTH_V2,
  DGRAM_PKTINFO,
  decodeDgramHeader,
  decodeDgramHeader2,
  encodeDgramHeader,
  encodeDgramHeader2,
  MAX_DGRAM_PAYLOAD,
  MAX_DGRAM_PAYLOAD_V6,
  newDgramHeader,
  newDgramHeader2,
} from '@nexthop/rsock-proto';
import {
  EV_ERROR,
  EV_READABLE,
  EV_WRITABLE,
  errno,
  RecvMeta,
  SockAddr,
  type SocketLayer,
} from '@nexthop/stack';
import { receivedEndpoints, stackAddressOf } from './address.ts';

const { EAGAIN, EDESTADDRREQ, EMSGSIZE } = errno;

/** Bytes relayed per direction per call, and held per direction per socket at most. */
export const RELAY_CHUNK = 64 * 1024;
/** Chunks per direction per pump before the socket yields to the others. */
const CHUNKS_PER_PUMP = 8;
/** The IPV6_PKTINFO source of the datagram being sent (one at a time, on the event loop). */
const SOURCE6 = new Uint8Array(16);
/** Re-entrant wakeups folded into one pump before it yields (see pump). */
const ROUNDS_PER_PUMP = 4;
/** Room for the largest datagram with the larger (version-2) header, rounded to 8 bytes. */
const DGRAM_SLOT = (DGRAM_HEADER_LENGTH_V2 + MAX_DGRAM_PAYLOAD_V6 + 7) & ~7;
/** Datagrams moved per batch each way, and held at most for a full pair. */
export const DGRAM_BATCH = 64;

/** Interest in the pair end, as the owner's watch takes it. */
export const PAIR_READABLE = 1;
export const PAIR_WRITABLE = 2;

/** The pair-end calls the relay makes (the C addon in the VR, a model in tests). */
export type RelayPair = Pick<
  UnixNative,
  'unixRead' | 'unixWrite' | 'unixShutdown' | 'unixHungUp' | 'unixSendDgrams' | 'unixRecvDgrams'
>;
/** The socket-layer calls the relay makes. */
export type RelaySockets = Pick<
  SocketLayer,
  'events' | 'recv' | 'send' | 'recvFrom' | 'sendTo' | 'sendTo6' | 'shutdown' | 'localAddress' | 'peerAddress'
>;

export interface RelayCounters {
  rsock_bytes_to_apps: number;
  rsock_bytes_from_apps: number;
  rsock_dgrams_to_apps: number;
  rsock_dgrams_from_apps: number;
  rsock_dgrams_bad_from_apps: number;
  rsock_dgrams_dropped_to_apps: number;
}

/** What a relay knows of the remote socket it serves; the server's RSock is one. */
export interface RelayedSocket {
  /** The VR socket (socket-layer fd). */
  readonly fd: number;
  /** The VR's end of the pair. */
  readonly pairFd: number;
  readonly closed: boolean;
  /** UDP: connected, so a datagram without an address goes to the peer. */
  readonly connected: boolean;
  /** UDP: the app shut its read side; nothing more is handed to it. */
  readonly shutRd: boolean;
  readonly pktinfo: boolean;
  /** SO_ERROR as the protocol reports it (positive errno, 0 none). */
  soError: number;
}

export class RelayContext {
  readonly pair: RelayPair;
  readonly so: RelaySockets;
  readonly clock: () => number;
  readonly c: RelayCounters;
  /** The app closed its last copy of the pair: close the socket as close(2) would. */
  readonly hangUp: (s: RelayedSocket) => void;
  // Scratch space, never kept across calls: the VR runs on one thread.
  readonly chunk = new Uint8Array(RELAY_CHUNK);
  readonly dgramBuf = new Uint8Array(DGRAM_SLOT * DGRAM_BATCH);
  readonly recvDescs = new Uint32Array(3 * DGRAM_BATCH);
  readonly sendDescs = new Uint32Array(2 * DGRAM_BATCH);
  readonly recvState = new Int32Array(1);
  readonly dh = newDgramHeader();
  readonly dh2 = newDgramHeader2();
  readonly meta = new RecvMeta();
  readonly sa = new SockAddr();

  constructor(
    pair: RelayPair,
    so: RelaySockets,
    clock: () => number,
    counters: RelayCounters,
    hangUp: (s: RelayedSocket) => void,
  ) {
    this.pair = pair;
    this.so = so;
    this.clock = clock;
    this.c = counters;
    this.hangUp = hangUp;
  }
}

/** Shared by both relays: folds re-entrant wakeups into the running pump. */
abstract class Relay {
  protected readonly x: RelayContext;
  protected readonly s: RelayedSocket;
  private busy = false;
  private again = false;
  /** The pair's watch reported POLLHUP: the app is gone (or both directions are shut), for good. */
  protected pairHungUp = false;

  constructor(x: RelayContext, s: RelayedSocket) {
    this.x = x;
    this.s = s;
  }

  /**
   * Moves what can move both ways. true: the budget ran out with work left that no watch or stack
   * event will announce, so the owner must call pump again soon (after other sockets had a turn).
   *
   * A pump re-enters itself when the stack delivers this socket's event from inside a send or recv;
   * the inner call only marks `again` and the outer one loops, at most ROUNDS_PER_PUMP times.
   *
   * `pairReady` false: a stack event, not the pair's watch, woke us. Then the pair is not read on
   * speculation (a read that nearly always finds nothing is a syscall per request): its watch is
   * level-triggered and says when the app has written something.
   *
   * `hungUp`: the watch saw POLLHUP on the pair (it never clears), so end of file from it is the app's
   * last close, not a half-close, without asking the kernel again (unixHungUp).
   */
  pump(pairReady = true, hungUp = false): boolean {
    if (this.s.closed || this.s.pairFd < 0) return false;
    if (hungUp) this.pairHungUp = true;
    if (this.busy) {
      this.again = true;
      return false;
    }
    this.busy = true;
    let more = false;
    try {
      let rounds = 0;
      do {
        this.again = false;
        more = this.step(pairReady);
      } while (this.again && !this.s.closed && ++rounds < ROUNDS_PER_PUMP);
    } finally {
      this.busy = false;
    }
    return !this.s.closed && (more || this.again);
  }

  /** One pass both ways; true when it stopped on its budget rather than on a blocked side. */
  protected abstract step(pairReady: boolean): boolean;
  /** PAIR_READABLE | PAIR_WRITABLE: what the pair end must be watched for. */
  abstract interest(): number;
  /** Drops everything held for the app (its read side is shut). */
  abstract shutRead(): void;
  /** The connection failed or was reset. */
  abstract fail(): void;
}

/**
 * TCP: bytes both ways over a SOCK_STREAM pair, at most RELAY_CHUNK held per direction (the rest
 * stays in the stack's and the pair's buffers: back-pressure both ways).
 */
export class StreamRelay extends Relay {
  private toApp: Uint8Array | null = null;
  private toAppOff = 0;
  private toAppLen = 0;
  private toStack: Uint8Array | null = null;
  private toStackOff = 0;
  private toStackLen = 0;
  /** The stack's FIN (or a failure) has been passed on: our end is shut for writing. */
  private stackEof = false;
  /** The app's end of stream has been read. */
  private appEof = false;
  private appHungUp = false;
  private finSent = false;
  /** The connection failed or was reset: the app reads EOF, its writes are discarded. */
  dead = false;

  protected step(pairReady: boolean): boolean {
    const more = this.toTheApp();
    if (this.s.closed) return false;
    const more2 = this.fromTheApp(pairReady);
    if (this.s.closed) return false;
    this.finish();
    return more || more2;
  }

  interest(): number {
    let ev = 0;
    if (!this.appEof && this.toStackLen === 0) ev |= PAIR_READABLE;
    if (this.toAppLen > 0) ev |= PAIR_WRITABLE;
    return ev;
  }

  shutRead(): void {
    this.toAppLen = 0;
    this.endToApp();
  }

  fail(): void {
    if (this.dead) return;
    this.dead = true;
    this.toAppLen = 0;
    this.toStackLen = 0;
    this.endToApp();
  }

  /** Bytes held for the app and the stack (for `show` and tests). */
  held(): number {
    return this.toAppLen + this.toStackLen;
  }

  private endToApp(): void {
    if (this.stackEof) return;
    this.stackEof = true;
    this.x.pair.unixShutdown(this.s.pairFd, 1);
  }

  /** Stack → app; true when the budget ran out with more to move. */
  private toTheApp(): boolean {
    const { pair, so, c } = this.x;
    const s = this.s;
    const buf = this.x.chunk;
    const now = this.x.clock();
    for (let i = 0; i < CHUNKS_PER_PUMP; i++) {
      if (this.toAppLen > 0) {
        const n = pair.unixWrite(s.pairFd, this.toApp!, this.toAppOff, this.toAppLen);
        if (n === -EAGAIN) return false;
        if (n < 0) {
          // The app's end is gone for reading; what it would have read is lost, as with close(2).
          this.toAppLen = 0;
          this.stackEof = true;
          return false;
        }
        c.rsock_bytes_to_apps += n;
        this.toAppOff += n;
        this.toAppLen -= n;
        if (this.toAppLen > 0) return false;
        continue;
      }
      if (this.stackEof || this.dead) return false;
      // Only when readable: a recv that finds nothing re-queues the socket's event (a livelock).
      if ((so.events(s.fd) & EV_READABLE) === 0) return false;
      const r = so.recv(s.fd, buf, 0, RELAY_CHUNK, now);
      if (s.closed) return false;
      if (r === -EAGAIN) return false;
      if (r === 0) {
        this.endToApp();
        return false;
      }
      if (r < 0) {
        s.soError = -r;
        this.fail();
        return false;
      }
      const n = pair.unixWrite(s.pairFd, buf, 0, r);
      const sent = Math.max(n, 0);
      c.rsock_bytes_to_apps += sent;
      if (sent < r) {
        if (n < 0 && n !== -EAGAIN) {
          this.stackEof = true;
          return false;
        }
        if (this.toApp === null) this.toApp = new Uint8Array(RELAY_CHUNK);
        this.toApp.set(buf.subarray(sent, r), 0);
        this.toAppOff = 0;
        this.toAppLen = r - sent;
        return false;
      }
    }
    // Out of budget: more may be readable, and the stack will not say so again.
    return this.toAppLen > 0 || (!this.stackEof && !this.dead && (so.events(s.fd) & EV_READABLE) !== 0);
  }

  /**
   * App → stack; true when the budget ran out with more to move. Reads the pair only when its watch
   * fired or bytes held for the stack just went (the pair was full enough to hold some back), and
   * stops after a short read: a stream socket hands over all it has, so the next read would find
   * nothing (the level-triggered watch reports whatever arrives after).
   */
  private fromTheApp(pairReady: boolean): boolean {
    const { pair, so, c } = this.x;
    const s = this.s;
    const buf = this.x.chunk;
    const now = this.x.clock();
    let readPair = pairReady;
    for (let i = 0; i < CHUNKS_PER_PUMP; i++) {
      if (this.toStackLen > 0) {
        if ((so.events(s.fd) & (EV_WRITABLE | EV_ERROR)) === 0) return false;
        const n = so.send(s.fd, this.toStack!, this.toStackOff, this.toStackLen, now);
        if (s.closed) return false;
        if (n === -EAGAIN) return false;
        if (n < 0) {
          this.toStackLen = 0;
          s.soError = -n;
          this.fail();
          return false;
        }
        c.rsock_bytes_from_apps += n;
        this.toStackOff += n;
        this.toStackLen -= n;
        if (this.toStackLen > 0) return false;
        readPair = true;
        continue;
      }
      if (this.appEof || !readPair) return false;
      const r = pair.unixRead(s.pairFd, buf, 0, RELAY_CHUNK);
      if (r === -EAGAIN) return false;
      if (r <= 0) {
        this.appEof = true;
        this.appHungUp = r < 0 || this.pairHungUp || pair.unixHungUp(s.pairFd) === 1;
        return false;
      }
      if (this.dead) continue;
      const n = so.send(s.fd, buf, 0, r, now);
      if (s.closed) return false;
      if (n < 0 && n !== -EAGAIN) {
        s.soError = -n;
        this.fail();
        return false;
      }
      const sent = Math.max(n, 0);
      c.rsock_bytes_from_apps += sent;
      if (sent < r) {
        if (this.toStack === null) this.toStack = new Uint8Array(RELAY_CHUNK);
        this.toStack.set(buf.subarray(sent, r), 0);
        this.toStackOff = 0;
        this.toStackLen = r - sent;
        return false;
      }
      if (r < RELAY_CHUNK) return false;
    }
    // The pair's readability is level-triggered, but a pass later is fairer than a spin now.
    return true;
  }

  /** The app's end of stream becomes the FIN; the app's last close closes the socket. */
  private finish(): void {
    const s = this.s;
    if (this.appEof && this.toStackLen === 0 && !this.finSent) {
      this.finSent = true;
      if (this.appHungUp) {
        this.x.hangUp(s);
        return;
      }
      if (!this.dead) this.x.so.shutdown(s.fd, 'write', this.x.clock());
    } else if (
      this.finSent &&
      !this.appHungUp &&
      this.toAppLen === 0 &&
      (this.pairHungUp || this.x.pair.unixHungUp(s.pairFd) === 1)
    ) {
      this.x.hangUp(s);
    }
  }
}

/**
 * UDP: datagrams both ways over a SOCK_SEQPACKET pair, each behind the datagram header of the
 * socket's layout, fixed when it was created (§7.3: 20 bytes, version 1; §13.5: 64 bytes, version
 * 2). Datagrams the pair cannot take yet are held (copied out of the shared batch), the rest wait in
 * the stack's receive queue. Nothing is allocated per datagram: headers are decoded into and encoded
 * from the context's scratch objects.
 */
export class DgramRelay extends Relay {
  /** The header layout is version 2 (64 bytes, endpoints of `family`). */
  readonly v2: boolean;
  /** The socket's address family (AF_INET; AF_INET6 once the stack has IPv6 sockets). */
  readonly family: number;
  private readonly headerLength: number;
  private readonly maxPayload: number;
  private held: Uint8Array | null = null;
  private heldDescs: Uint32Array | null = null;
  private heldFirst = 0;
  private heldCount = 0;

  constructor(x: RelayContext, s: RelayedSocket, version = 1, family = AF_INET) {
    super(x, s);
    this.v2 = version === 2;
    this.family = family;
    this.headerLength = this.v2 ? DGRAM_HEADER_LENGTH_V2 : DGRAM_HEADER_LENGTH;
    this.maxPayload = family === AF_INET ? MAX_DGRAM_PAYLOAD : MAX_DGRAM_PAYLOAD_V6;
  }

  protected step(pairReady: boolean): boolean {
    const more = this.toTheApp();
    if (this.s.closed) return false;
    // Datagrams from the app wait in the pair, whose level-triggered watch reports them.
    return (pairReady && this.fromTheApp()) || more;
  }

  interest(): number {
    return this.heldCount > 0 ? PAIR_READABLE | PAIR_WRITABLE : PAIR_READABLE;
  }

  shutRead(): void {
    this.heldCount = 0;
    this.held = null;
    this.x.pair.unixShutdown(this.s.pairFd, 1);
  }

  fail(): void {}

  /** Stack → app; true when a full batch went and more may be queued. */
  private toTheApp(): boolean {
    const { pair, so, c } = this.x;
    const s = this.s;
    // Datagrams waiting from last time first.
    if (this.heldCount > 0) {
      const n = pair.unixSendDgrams(s.pairFd, this.held!, this.heldDescs!, this.heldFirst, this.heldCount);
      if (n === -EAGAIN) return false;
      if (n < 0) {
        c.rsock_dgrams_dropped_to_apps += this.heldCount - this.heldFirst;
        this.heldCount = 0;
      } else {
        c.rsock_dgrams_to_apps += n;
        this.heldFirst += n;
        if (this.heldFirst < this.heldCount) return false;
        this.heldCount = 0;
      }
    }
    const buf = this.x.dgramBuf;
    const descs = this.x.sendDescs;
    const meta = this.x.meta;
    const hl = this.headerLength;
    /** The local port PKTINFO reports in version 2, read once per batch (-1: not yet). */
    let localPort = -1;
    let count = 0;
    while (count < DGRAM_BATCH && (so.events(s.fd) & EV_READABLE) !== 0) {
      const off = count * DGRAM_SLOT;
      const r = so.recvFrom(s.fd, buf, off + hl, this.maxPayload, meta);
      if (r === -EAGAIN || (r === 0 && s.shutRd)) break;
      if (r < 0) {
        // An ICMP error on a connected socket: it waits in SO_ERROR (§7.3).
        s.soError = -r;
        continue;
      }
      if (this.v2) {
        if (s.pktinfo && localPort < 0) localPort = this.localPort();
        this.header2(buf, off, localPort);
      } else {
        const h = this.x.dh;
        h.flags = s.pktinfo ? DGRAM_PKTINFO : 0;
        h.peerAddr = meta.addr;
        h.peerPort = meta.port;
        h.ifindex = s.pktinfo && meta.ifIndex >= 0 ? meta.ifIndex + 1 : 0;
        h.localAddr = s.pktinfo ? meta.dst : 0;
        encodeDgramHeader(h, buf, off);
      }
      descs[2 * count] = off;
      descs[2 * count + 1] = hl + r;
      count++;
    }
    let first = 0;
    while (first < count) {
      const n = pair.unixSendDgrams(s.pairFd, buf, descs, first, count);
      if (n === -EMSGSIZE) {
        c.rsock_dgrams_dropped_to_apps++;
        first++;
        continue;
      }
      if (n === -EAGAIN) break;
      if (n < 0) {
        c.rsock_dgrams_dropped_to_apps += count - first;
        first = count;
        break;
      }
      c.rsock_dgrams_to_apps += n;
      first += n;
      if (n === 0) break;
    }
    if (first < count) {
      this.hold(first, count);
      return false;
    }
    return count === DGRAM_BATCH && (so.events(s.fd) & EV_READABLE) !== 0;
  }

  /** The socket's own port: a received datagram's destination port (§13.5 local endpoint). */
  private localPort(): number {
    return this.x.so.localAddress(this.s.fd, this.x.sa) === 0 ? this.x.sa.port : 0;
  }

  /** The 64-byte header of the datagram just received (meta), at buf[off]. */
  private header2(buf: Uint8Array, off: number, localPort: number): void {
    const h = this.x.dh2;
    const meta = this.x.meta;
    const pk = this.s.pktinfo;
    h.flags = pk ? DGRAM_PKTINFO : 0;
    h.ifindex = pk && meta.ifIndex >= 0 ? meta.ifIndex + 1 : 0;
    receivedEndpoints(meta, localPort, this.family, h.peer, pk ? h.local : null);
    if (!pk) clearEndpoint(h.local);
    encodeDgramHeader2(h, buf, off);
  }

  /** Keeps datagrams first..count-1 of the shared batch until the pair has room (rare: a full pair). */
  private hold(first: number, count: number): void {
    const all = this.x.sendDescs;
    let total = 0;
    for (let i = first; i < count; i++) total += all[2 * i + 1]!;
    const held = new Uint8Array(total);
    const descs = new Uint32Array(2 * (count - first));
    let at = 0;
    for (let i = first; i < count; i++) {
      const off = all[2 * i]!;
      const len = all[2 * i + 1]!;
      held.set(this.x.dgramBuf.subarray(off, off + len), at);
      descs[2 * (i - first)] = at;
      descs[2 * (i - first) + 1] = len;
      at += len;
    }
    this.held = held;
    this.heldDescs = descs;
    this.heldFirst = 0;
    this.heldCount = count - first;
  }

  /** App → stack; true when the budget ran out (the pair's readability is level-triggered anyway). */
  private fromTheApp(): boolean {
    const { pair, c } = this.x;
    const s = this.s;
    const now = this.x.clock();
    const buf = this.x.dgramBuf;
    const descs = this.x.recvDescs;
    const hl = this.headerLength;
    for (let round = 0; round < 4; round++) {
      const n = pair.unixRecvDgrams(s.pairFd, buf, DGRAM_SLOT, DGRAM_BATCH, descs, this.x.recvState);
      if (n < 0) {
        if (n !== -EAGAIN) this.x.hangUp(s);
        return false;
      }
      for (let i = 0; i < n && !s.closed; i++) {
        const off = descs[3 * i]!;
        const len = descs[3 * i + 1]!;
        let at = -1;
        if (descs[3 * i + 2] === 0)
          at = this.v2
            ? decodeDgramHeader2(buf, off, len, this.x.dh2)
            : decodeDgramHeader(buf, off, len, this.x.dh);
        if (at < 0) {
          c.rsock_dgrams_bad_from_apps++;
          continue;
        }
        const payload = len - hl;
        const r = this.v2 ? this.send2(buf, at, payload, now) : this.send1(buf, at, payload, now);
        if (r < 0) s.soError = -r;
        else {
          c.rsock_dgrams_from_apps++;
          c.rsock_bytes_from_apps += payload;
        }
      }
      if (s.closed) return false;
      if (this.x.recvState[0] === 1) {
        this.x.hangUp(s);
        return false;
      }
      if (n < DGRAM_BATCH) return false;
    }
    return true;
  }

  /** Sends the payload at buf[at] as the 20-byte header in the context's dh says (§7.3). */
  private send1(buf: Uint8Array, at: number, payload: number, now: number): number {
    const { so } = this.x;
    const s = this.s;
    const h = this.x.dh;
    const pk = (h.flags & DGRAM_PKTINFO) !== 0;
    if (h.peerAddr === 0 && h.peerPort === 0) {
      if (!s.connected) return -EDESTADDRREQ;
      return pk
        ? so.sendTo(s.fd, buf, at, payload, 0, 0, now, h.localAddr, h.ifindex - 1)
        : so.send(s.fd, buf, at, payload, now);
    }
    return so.sendTo(
      s.fd,
      buf,
      at,
      payload,
      h.peerAddr,
      h.peerPort,
      now,
      pk ? h.localAddr : 0,
      pk ? h.ifindex - 1 : -1,
    );
  }

  /**
   * Sends the payload at buf[at] as the 64-byte header in the context's dh2 says (§13.5): peer
   * AF_UNSPEC is the connected peer; an endpoint the socket's family cannot use is EAFNOSUPPORT.
   */
  private send2(buf: Uint8Array, at: number, payload: number, now: number): number {
    const { so, sa } = this.x;
    const s = this.s;
    const h = this.x.dh2;
    const pk = (h.flags & DGRAM_PKTINFO) !== 0;
    const ifIndex = pk ? h.ifindex - 1 : -1;
    if (this.family === AF_INET6) return this.send6(buf, at, payload, now, pk);
    let src = 0;
    if (pk && h.local.family !== AF_UNSPEC) {
      const e = stackAddressOf(h.local, this.family, sa);
      if (e !== 0) return -e;
      src = sa.addr;
    }
    if (h.peer.family === AF_UNSPEC) {
      if (!s.connected) return -EDESTADDRREQ;
      return pk
        ? so.sendTo(s.fd, buf, at, payload, 0, 0, now, src, ifIndex)
        : so.send(s.fd, buf, at, payload, now);
    }
    const e = stackAddressOf(h.peer, this.family, sa);
    if (e !== 0) return -e;
    return so.sendTo(s.fd, buf, at, payload, sa.addr, sa.port, now, src, ifIndex);
  }

  /**
   * send2 for an AF_INET6 socket: PKTINFO's local address (IPV6_PKTINFO's ipi6_addr) is the source
   * of this datagram; its interface is not applied (the VR routes global destinations itself).
   */
  private send6(buf: Uint8Array, at: number, payload: number, now: number, pk: boolean): number {
    const { so, sa } = this.x;
    const s = this.s;
    const h = this.x.dh2;
    let src: Uint8Array | null = null;
    if (pk && h.local.family !== AF_UNSPEC) {
      const e = stackAddressOf(h.local, this.family, sa);
      if (e !== 0) return -e;
      SOURCE6.set(sa.addr6);
      src = SOURCE6;
    }
    if (h.peer.family === AF_UNSPEC) {
      if (!s.connected) return -EDESTADDRREQ;
      if (src === null) return so.send(s.fd, buf, at, payload, now);
    }
    const e =
      h.peer.family === AF_UNSPEC ? so.peerAddress(s.fd, sa) : stackAddressOf(h.peer, this.family, sa, true);
    if (e !== 0) return e < 0 ? e : -e;
    return so.sendTo6(s.fd, buf, at, payload, sa.addr6, sa.port, now, src, sa.scopeId);
  }
}
