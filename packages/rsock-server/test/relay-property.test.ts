// Flow control of the stream relay under random schedules: a model of the pair (two bounded byte
// queues, watched level-triggered as uv_poll does) and of the VR's TCP socket (bounded receive and
// send queues that signal only when their state changes, as the socket layer does). Whatever the
// order of reads, writes, wakeups and deferred pumps, once both programs keep reading and the
// network keeps draining, every byte arrives once, in order, and end of stream gets through.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AF_INET,
  DGRAM_HEADER_LENGTH,
  DGRAM_HEADER_LENGTH_V2,
  decodeDgramHeader,
  decodeDgramHeader2,
  newDgramHeader,
  newDgramHeader2,
} from '@nexthop/rsock-proto';
import { EV_READABLE, EV_WRITABLE, errno, type RecvMeta, type SockAddr } from '@nexthop/stack';
import fc from 'fast-check';
import {
  DgramRelay,
  PAIR_READABLE,
  PAIR_WRITABLE,
  RelayContext,
  type RelayCounters,
  type RelayedSocket,
  type RelayPair,
  type RelaySockets,
  StreamRelay,
} from '../src/relay.ts';

const { EAGAIN } = errno;

/** A bounded FIFO of bytes whose content is position mod 251, so order and loss show. */
class ByteQueue {
  private buf: Uint8Array;
  private head = 0;
  private tail = 0;
  readonly capacity: number;
  constructor(capacity: number) {
    this.capacity = capacity;
    this.buf = new Uint8Array(capacity);
  }
  get length(): number {
    return this.tail - this.head;
  }
  get room(): number {
    return this.capacity - this.length;
  }
  push(src: Uint8Array, off: number, len: number): number {
    const n = Math.min(len, this.room);
    if (this.tail + n > this.buf.length) {
      this.buf.copyWithin(0, this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
    }
    this.buf.set(src.subarray(off, off + n), this.tail);
    this.tail += n;
    return n;
  }
  take(dst: Uint8Array, off: number, len: number): number {
    const n = Math.min(len, this.length);
    dst.set(this.buf.subarray(this.head, this.head + n), off);
    this.head += n;
    return n;
  }
}

/** Produces and checks the byte sequence of one direction. */
class Stream {
  sent = 0;
  received = 0;
  readonly total: number;
  constructor(total: number) {
    this.total = total;
  }
  fill(dst: Uint8Array, len: number): number {
    const n = Math.min(len, this.total - this.sent);
    for (let i = 0; i < n; i++) dst[i] = (this.sent + i) % 251;
    return n;
  }
  check(src: Uint8Array, len: number): void {
    for (let i = 0; i < len; i++) {
      if (src[i] !== (this.received + i) % 251)
        assert.fail(`byte ${this.received + i} is ${src[i]}: lost, duplicated or reordered`);
    }
    this.received += len;
  }
}

const PAIR_FD = 7;
const STACK_FD = 3;

class Model implements RelayPair, RelaySockets {
  // Pair: toVr is what the app wrote, toApp what the VR wrote.
  readonly toVr: ByteQueue;
  readonly toApp: ByteQueue;
  appShutWr = false;
  vrShutWr = false;
  // The VR's TCP socket.
  readonly rq: ByteQueue;
  readonly sq: ByteQueue;
  peerFin = false;
  finSent = false;
  /** Whether the socket layer delivers events from inside recv/send (as its flush on return does). */
  readonly reentrant: boolean;
  onStackEvent: () => void = () => {};
  /** A program on another core reading while the VR writes (it drains the pair mid-pump). */
  concurrentReader: (() => void) | null = null;

  constructor(pairCap: number, rqCap: number, sqCap: number, reentrant: boolean) {
    this.toVr = new ByteQueue(pairCap);
    this.toApp = new ByteQueue(pairCap);
    this.rq = new ByteQueue(rqCap);
    this.sq = new ByteQueue(sqCap);
    this.reentrant = reentrant;
  }

  // ---- RelayPair
  unixRead(fd: number, buf: Uint8Array, off: number, len: number): number {
    assert.equal(fd, PAIR_FD);
    if (this.toVr.length === 0) return this.appShutWr ? 0 : -EAGAIN;
    return this.toVr.take(buf, off, len);
  }
  unixWrite(fd: number, buf: Uint8Array, off: number, len: number): number {
    assert.equal(fd, PAIR_FD);
    assert.ok(!this.vrShutWr, 'write after shutdown');
    this.concurrentReader?.();
    const n = this.toApp.push(buf, off, len);
    return n === 0 ? -EAGAIN : n;
  }
  unixShutdown(_fd: number, how: number): number {
    if (how === 1) this.vrShutWr = true;
    return 0;
  }
  unixHungUp(): number {
    return 0;
  }
  unixSendDgrams(): number {
    throw new Error('not a datagram pair');
  }
  unixRecvDgrams(): number {
    throw new Error('not a datagram pair');
  }

  // ---- RelaySockets
  events(fd: number): number {
    assert.equal(fd, STACK_FD);
    let ev = 0;
    if (this.rq.length > 0 || this.peerFin) ev |= EV_READABLE;
    if (this.sq.room > 0) ev |= EV_WRITABLE;
    return ev;
  }
  recv(_fd: number, buf: Uint8Array, off: number, len: number): number {
    if (this.rq.length === 0) return this.peerFin ? 0 : -EAGAIN;
    const n = this.rq.take(buf, off, len);
    if (this.reentrant) this.onStackEvent();
    return n;
  }
  send(_fd: number, buf: Uint8Array, off: number, len: number): number {
    assert.ok(!this.finSent, 'send after FIN');
    const n = this.sq.push(buf, off, len);
    if (n === 0) return -EAGAIN;
    if (this.reentrant) this.onStackEvent();
    return n;
  }
  shutdown(_fd: number, how: string): number {
    assert.equal(how, 'write');
    this.finSent = true;
    return 0;
  }
  recvFrom(): number {
    throw new Error('not a datagram socket');
  }
  sendTo(): number {
    throw new Error('not a datagram socket');
  }
  sendTo6(): number {
    throw new Error('not a datagram socket');
  }
  localAddress(): number {
    throw new Error('not a datagram socket');
  }
  peerAddress(): number {
    throw new Error('not a datagram socket');
  }
}

type Action =
  | { a: 'net-deliver'; n: number }
  | { a: 'net-drain'; n: number }
  | { a: 'app-write'; n: number }
  | { a: 'app-read'; n: number }
  | { a: 'watch' }
  | { a: 'deferred' };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ a: fc.constant('net-deliver' as const), n: fc.integer({ min: 1, max: 1_000_000 }) }),
  fc.record({ a: fc.constant('net-drain' as const), n: fc.integer({ min: 1, max: 1_000_000 }) }),
  fc.record({ a: fc.constant('app-write' as const), n: fc.integer({ min: 1, max: 1_000_000 }) }),
  fc.record({ a: fc.constant('app-read' as const), n: fc.integer({ min: 1, max: 1_000_000 }) }),
  fc.constant({ a: 'watch' as const }),
  fc.constant({ a: 'deferred' as const }),
);

function run(
  pairCap: number,
  rqCap: number,
  sqCap: number,
  reentrant: boolean,
  concurrent: boolean,
  /** Both ends finish with end of stream (else the connection stays open, as HTTP keep-alive). */
  closes: boolean,
  down: number,
  up: number,
  schedule: Action[],
): void {
  const m = new Model(pairCap, rqCap, sqCap, reentrant);
  const counters: RelayCounters = {
    rsock_bytes_to_apps: 0,
    rsock_bytes_from_apps: 0,
    rsock_dgrams_to_apps: 0,
    rsock_dgrams_from_apps: 0,
    rsock_dgrams_bad_from_apps: 0,
    rsock_dgrams_dropped_to_apps: 0,
  };
  const s: RelayedSocket = {
    fd: STACK_FD,
    pairFd: PAIR_FD,
    closed: false,
    connected: true,
    shutRd: false,
    pktinfo: false,
    soError: 0,
  };
  const ctx = new RelayContext(
    m,
    m,
    () => 0,
    counters,
    () => assert.fail('the app never hangs up here'),
  );
  const relay = new StreamRelay(ctx, s);
  // The owner's side of the contract: pump answering true means "run me again"; a pump the stack
  // woke (pairReady false) leaves the pair to its watch.
  let deferred = false;
  const pump = (pairReady = true) => {
    if (relay.pump(pairReady)) deferred = true;
  };
  const stackEvent = () => pump(false);
  m.onStackEvent = stackEvent;
  const downstream = new Stream(down); // network → app
  const upstream = new Stream(up); // app → network
  const scratch = new Uint8Array(1_000_000);
  const readerScratch = new Uint8Array(1 << 20);
  if (concurrent)
    m.concurrentReader = () => downstream.check(readerScratch, m.toApp.take(readerScratch, 0, 1 << 20));

  const step = (x: Action): boolean => {
    switch (x.a) {
      case 'net-deliver': {
        const n = downstream.fill(scratch, Math.min(x.n, m.rq.room));
        if (n === 0) {
          if (downstream.sent === down && closes && !m.peerFin) {
            m.peerFin = true;
            stackEvent();
            return true;
          }
          return false;
        }
        m.rq.push(scratch, 0, n);
        downstream.sent += n;
        stackEvent();
        return true;
      }
      case 'net-drain': {
        const n = m.sq.take(scratch, 0, x.n);
        if (n === 0) return false;
        upstream.check(scratch, n);
        stackEvent();
        return true;
      }
      case 'app-write': {
        if (m.appShutWr) return false;
        const n = upstream.fill(scratch, Math.min(x.n, m.toVr.room));
        if (n === 0) {
          if (upstream.sent === up && closes) {
            m.appShutWr = true;
            return true;
          }
          return false;
        }
        m.toVr.push(scratch, 0, n);
        upstream.sent += n;
        return true;
      }
      case 'app-read': {
        const n = m.toApp.take(scratch, 0, x.n);
        if (n === 0) return false;
        downstream.check(scratch, n);
        return true;
      }
      case 'watch': {
        // uv_poll, level-triggered, on what the relay asked for.
        const want = relay.interest();
        const readable = (want & PAIR_READABLE) !== 0 && (m.toVr.length > 0 || m.appShutWr);
        const writable = (want & PAIR_WRITABLE) !== 0 && m.toApp.room > 0;
        if (!readable && !writable) return false;
        pump();
        return true;
      }
      case 'deferred':
        if (!deferred) return false;
        deferred = false;
        pump();
        return true;
    }
  };

  for (const x of schedule) step(x);
  // Quiescence: both programs read everything, the network drains and delivers the rest. Nothing
  // may be stuck: progress must continue until both streams and both FINs are through.
  const drain: Action[] = [
    { a: 'net-deliver', n: 1_000_000 },
    { a: 'net-drain', n: 1_000_000 },
    { a: 'app-write', n: 1_000_000 },
    { a: 'app-read', n: 1_000_000 },
    { a: 'watch' },
    { a: 'deferred' },
  ];
  for (let round = 0; round < 100_000; round++) {
    let progress = false;
    for (const x of drain) progress = step(x) || progress;
    if (!progress) break;
  }
  assert.equal(downstream.received, down, `network → app: ${downstream.received} of ${down} bytes arrived`);
  assert.equal(upstream.received, up, `app → network: ${upstream.received} of ${up} bytes arrived`);
  assert.equal(m.vrShutWr, closes, "the peer's FIN reached the app");
  assert.equal(m.finSent, closes, "the app's end of stream became a FIN");
  assert.equal(counters.rsock_bytes_to_apps, down);
  assert.equal(counters.rsock_bytes_from_apps, up);
  assert.ok(relay.held() === 0);
}

test('stream relay: random read/write schedules lose no byte and leave none stuck', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 4096, max: 1 << 20 }),
      fc.integer({ min: 4096, max: 2 << 20 }),
      fc.integer({ min: 4096, max: 1 << 20 }),
      fc.boolean(),
      fc.boolean(),
      fc.boolean(),
      fc.integer({ min: 0, max: 3 << 20 }),
      fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 << 20 })),
      fc.array(action, { maxLength: 60 }),
      run,
    ),
    { seed: 0x5eed9, numRuns: 150 },
  );
});

test('stream relay: a large receive queue behind a pair that fills and drains is relayed whole', () => {
  // The shape of the exec download stall: more readable in the VR socket than one pump moves,
  // no further segment from the peer (its data is all acknowledged), and the app reading slowly.
  const slowReads: Action[] = [];
  slowReads.push({ a: 'net-deliver', n: 1_000_000 });
  for (let i = 0; i < 40; i++) slowReads.push({ a: 'app-read', n: 16_384 }, { a: 'watch' });
  run(212_992, 2 << 20, 65_536, false, true, false, 1_000_000, 0, slowReads);
});

test("stream relay: the watch's POLLHUP makes end of file a hang-up without asking the kernel", () => {
  // The app wrote 3 bytes and closed its end: the server's watch reported readable and hung up.
  for (const hinted of [true, false]) {
    const m = new Model(4096, 4096, 4096, false);
    let polls = 0;
    m.unixHungUp = () => {
      polls++;
      return 1;
    };
    m.toVr.push(new Uint8Array([1, 2, 3]), 0, 3);
    m.appShutWr = true;
    const counters: RelayCounters = {
      rsock_bytes_to_apps: 0,
      rsock_bytes_from_apps: 0,
      rsock_dgrams_to_apps: 0,
      rsock_dgrams_from_apps: 0,
      rsock_dgrams_bad_from_apps: 0,
      rsock_dgrams_dropped_to_apps: 0,
    };
    const s: RelayedSocket = {
      fd: STACK_FD,
      pairFd: PAIR_FD,
      closed: false,
      connected: true,
      shutRd: false,
      pktinfo: false,
      soError: 0,
    };
    let hangUps = 0;
    const relay = new StreamRelay(
      new RelayContext(
        m,
        m,
        () => 0,
        counters,
        () => hangUps++,
      ),
      s,
    );
    // A short read ends the pass; the level-triggered watch fires again for the end of file.
    relay.pump(true, hinted);
    relay.pump(true, hinted);
    assert.equal(m.sq.length, 3, 'the bytes went to the stack');
    assert.equal(hangUps, 1, 'the last close closes the socket');
    assert.equal(m.finSent, false, 'no FIN of its own: the socket is closed');
    assert.equal(polls, hinted ? 0 : 1);
  }
});

/**
 * A seqpacket pair that takes `room` datagrams, and a UDP socket with a queue, for DgramRelay. The
 * pair checks each datagram's header (of the socket's layout) as a client would.
 */
class DgramModel {
  readonly queue: number[] = [];
  readonly delivered: number[] = [];
  room = 0;
  readonly headerLength: number;
  private readonly h1 = newDgramHeader();
  private readonly h2 = newDgramHeader2();
  constructor(version: number) {
    this.headerLength = version === 2 ? DGRAM_HEADER_LENGTH_V2 : DGRAM_HEADER_LENGTH;
  }
  localAddress(_fd: number, out: SockAddr): number {
    out.addr = 0x0a020001;
    out.port = 5353;
    return 0;
  }
  events(): number {
    return this.queue.length > 0 ? EV_READABLE | EV_WRITABLE : EV_WRITABLE;
  }
  recvFrom(_fd: number, buf: Uint8Array, off: number, _len: number, meta: RecvMeta): number {
    const seq = this.queue.shift();
    if (seq === undefined) return -EAGAIN;
    new DataView(buf.buffer, buf.byteOffset).setUint32(off, seq);
    meta.addr = 0x0a020002;
    meta.port = 53;
    meta.ifIndex = 2;
    meta.dst = 0x0a020001;
    return 4;
  }
  unixSendDgrams(_fd: number, buf: Uint8Array, descs: Uint32Array, first: number, count: number): number {
    const n = Math.min(this.room, count - first);
    if (n === 0) return -EAGAIN;
    const view = new DataView(buf.buffer, buf.byteOffset);
    for (let i = first; i < first + n; i++) {
      const off = descs[2 * i]!;
      const len = descs[2 * i + 1]!;
      const at =
        this.headerLength === DGRAM_HEADER_LENGTH_V2
          ? decodeDgramHeader2(buf, off, len, this.h2)
          : decodeDgramHeader(buf, off, len, this.h1);
      assert.equal(at, off + this.headerLength, 'a datagram header the client cannot read');
      if (this.headerLength === DGRAM_HEADER_LENGTH_V2) {
        assert.equal(this.h2.peer.family, AF_INET);
        assert.equal(this.h2.peer.addr, 0x0a020002);
        assert.equal(this.h2.peer.port, 53);
        // With PKTINFO: the interface (1-based) and the destination, the socket's own port.
        if (this.h2.flags !== 0) assert.deepEqual([this.h2.ifindex, this.h2.local.port], [3, 5353]);
      } else assert.equal(this.h1.peerAddr, 0x0a020002);
      this.delivered.push(view.getUint32(at));
    }
    this.room -= n;
    return n;
  }
  unixRecvDgrams(): number {
    return -EAGAIN;
  }
}

test('datagram relay: a receive queue longer than one batch reaches the app without another event', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 600 }),
      fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 30 }),
      fc.constantFrom(1, 2),
      fc.boolean(),
      (queued, rooms, version, pktinfo) => {
        const m = new DgramModel(version);
        for (let i = 0; i < queued; i++) m.queue.push(i);
        const s: RelayedSocket = {
          fd: STACK_FD,
          pairFd: PAIR_FD,
          closed: false,
          connected: false,
          shutRd: false,
          pktinfo,
          soError: 0,
        };
        const counters: RelayCounters = {
          rsock_bytes_to_apps: 0,
          rsock_bytes_from_apps: 0,
          rsock_dgrams_to_apps: 0,
          rsock_dgrams_from_apps: 0,
          rsock_dgrams_bad_from_apps: 0,
          rsock_dgrams_dropped_to_apps: 0,
        };
        const pair = m as unknown as RelayPair;
        const so = m as unknown as RelaySockets;
        const relay = new DgramRelay(
          new RelayContext(
            pair,
            so,
            () => 0,
            counters,
            () => {},
          ),
          s,
          version,
        );
        // The datagrams arrived in one burst (one event, the first pump); from then on the relay runs
        // only when it asked to (pump answered true) or its watch fires (room in the pair).
        let more = true;
        for (const room of [...rooms, 1_000]) {
          m.room += room;
          const writable = (relay.interest() & PAIR_WRITABLE) !== 0 && m.room > 0;
          for (let k = 0; k < 50 && (more || writable); k++) more = relay.pump();
        }
        for (let k = 0; k < 50 && (more || (relay.interest() & PAIR_WRITABLE) !== 0); k++) {
          m.room += 1_000;
          more = relay.pump();
        }
        assert.deepEqual(
          m.delivered,
          Array.from({ length: queued }, (_, i) => i),
        );
        assert.equal(counters.rsock_dgrams_to_apps, queued);
      },
    ),
    { seed: 0xd6a, numRuns: 200 },
  );
});
