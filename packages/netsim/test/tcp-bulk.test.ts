// TCP acceptance: bulk transfers each way between two VR stacks through a router, on the simulator,
// over IPv4, over IPv6, or both at once.
//
//   A 10.1.0.2      ─── 10.1.0.1      R 10.2.0.1      ─── 10.2.0.2      B
//     2001:db8:1::2 ─── 2001:db8:1::1   2001:db8:2::1 ─── 2001:db8:2::2
//        link 'a-r' (impaired)          link 'r-b' (its MTU may drop)
//
// A opens one connection per family the scenario uses (B's listener takes them all); on each, A's
// client and B's end send `total` bytes of seeded pseudo-random bytes at the same time; each side
// hashes what it handed to send() and what recv() gave back, and the SHA-256 digests must match.
// Over IPv6 the hosts reach R's addresses with Neighbor Discovery and R forwards by its IPv6 FIB.
// Every run is a function of the seed: the same seed gives the same counters.
import assert from 'node:assert/strict';
import { createHash, type Hash } from 'node:crypto';
import { test } from 'node:test';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '@nexthop/addr';
import type { FrameNode, FrameOutput } from '@nexthop/interface';
import { type Impairments, type LinkCounters, Sim, type SimLink, withPcapsOnFailure } from '@nexthop/netsim';
import { readPcap } from '@nexthop/pcap';
import { EV_ERROR, EV_READABLE, errno, SockAddr, Stack, Stat } from '@nexthop/stack';
import {
  decodeIcmpv6,
  decodeIpv6,
  decodeTcpPseudo,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ICMP_DEST_UNREACHABLE,
  ICMPV6_MLDV2_REPORT,
  ICMPV6_NEIGHBOR_ADVERTISEMENT,
  ICMPV6_NEIGHBOR_SOLICITATION,
  ICMPV6_PACKET_TOO_BIG,
  Icmpv6Message,
  IPPROTO_HOPOPTS,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  Ipv6Header,
  pseudoHeaderSumIpv6,
  rd16,
  TcpHeader,
  UNREACH_FRAG_NEEDED,
} from '@nexthop/wire';

const ip = parseIpv4;
const ip6 = parseIpv6;
/** Addresses of the topology, by family. */
const NET = {
  4: { a: ip('10.1.0.2'), ra: ip('10.1.0.1'), rb: ip('10.2.0.1'), b: ip('10.2.0.2') },
  6: { a: ip6('2001:db8:1::2'), ra: ip6('2001:db8:1::1'), rb: ip6('2001:db8:2::1'), b: ip6('2001:db8:2::2') },
} as const;
const ANY6 = new Uint8Array(16);
const PORT = 5001;
const MB = 1_000_000;
const TRANSFER = 50 * MB;
const CHUNK = 64 * 1024;
/**
 * Frames kept per link endpoint for the pcaps of a failing run: enough to see the last few
 * windows, while 4 endpoints × 2,000 frames × ~1.5 kB stay near 12 MB however long the run.
 */
const CAPTURE_LIMIT = 2_000;
/** Virtual time and events one 50 MB-each-way run may take before it counts as stuck. */
const TIMEOUT_MS = 600_000;
const MAX_EVENTS = 3_000_000;

type Family = 4 | 6;
/** Which families a scenario configures; 'dual' also means A connects once over each. */
type Families = Family | 'dual';

function mac(node: number, ifIndex: number): Uint8Array {
  return new Uint8Array([2, 0, 0, 0, node, ifIndex]);
}

/** The bytes one side sends: `total` bytes from a seeded xorshift32, produced a chunk at a time. */
class Source {
  readonly total: number;
  readonly #chunk = new Uint8Array(CHUNK);
  readonly #words = new Uint32Array(this.#chunk.buffer);
  #state: number;
  /** Offset of the chunk's first byte in the stream. */
  #chunkStart = 0;
  #chunkLength = 0;
  /** Bytes send() accepted so far. */
  sent = 0;
  readonly hash: Hash = createHash('sha256');

  constructor(seed: number, total: number) {
    this.#state = seed >>> 0 || 1;
    this.total = total;
  }

  /** Offers the unsent rest of the current chunk (making the next one when it is used up). */
  pump(send: (buf: Uint8Array, off: number, len: number) => number): void {
    while (this.sent < this.total) {
      if (this.sent === this.#chunkStart + this.#chunkLength) this.#nextChunk();
      const off = this.sent - this.#chunkStart;
      const n = send(this.#chunk, off, this.#chunkLength - off);
      if (n === -errno.EAGAIN) return;
      assert.ok(n > 0, `send returned ${n}`);
      this.hash.update(this.#chunk.subarray(off, off + n));
      this.sent += n;
    }
  }

  #nextChunk(): void {
    let x = this.#state;
    const words = this.#words;
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
    this.#state = x;
    this.#chunkStart += this.#chunkLength;
    this.#chunkLength = Math.min(CHUNK, this.total - this.#chunkStart);
  }
}

function endpointName(sa: SockAddr): string {
  const addr = sa.family === 4 ? `::ffff:${formatIpv4(sa.addr)}` : formatIpv6(sa.addr6);
  return `[${addr}]:${sa.port}`;
}

/** One connection's traffic: the Source it sends and the hash of what it receives. */
class Stream {
  readonly fd: number;
  /** The connection's ends as `[address]:port`, IPv4 as v4-mapped, so that both families compare. */
  readonly local: string;
  readonly remote: string;
  /** Whether the connection is IPv4's (an AF_INET socket, or an AF_INET6 one talking to a v4-mapped peer). */
  readonly ipv4: boolean;
  readonly localPort: number;
  readonly remotePort: number;
  readonly source: Source;
  readonly received = createHash('sha256');
  receivedBytes = 0;
  eof = false;
  #shutDown = false;

  constructor(fd: number, local: SockAddr, remote: SockAddr, source: Source) {
    this.fd = fd;
    this.local = endpointName(local);
    this.remote = endpointName(remote);
    this.ipv4 = this.remote.startsWith('[::ffff:');
    this.localPort = local.port;
    this.remotePort = remote.port;
    this.source = source;
  }

  get done(): boolean {
    return this.eof && this.source.sent === this.source.total;
  }

  /** Sends what the socket takes, shuts down writing after the last byte, and reads what is there. */
  pump(stack: Stack, buf: Uint8Array, now: number): void {
    const so = stack.sockets;
    const fd = this.fd;
    this.source.pump((b, off, len) => so.send(fd, b, off, len, now));
    if (this.source.sent === this.source.total && !this.#shutDown) {
      this.#shutDown = true;
      assert.equal(so.shutdown(fd, 'write', now), 0);
    }
    while (!this.eof) {
      const n = so.recv(fd, buf, 0, buf.length, now);
      if (n === -errno.EAGAIN) break;
      assert.ok(n >= 0, `recv returned ${n}`);
      if (n === 0) {
        this.eof = true;
        break;
      }
      this.received.update(buf.subarray(0, n));
      this.receivedBytes += n;
    }
  }
}

/** Whether a frame is an ICMP fragmentation-needed (RFC 1191) or an ICMPv6 Packet Too Big (RFC 4443 §3.2). */
function isTooBig(buf: Uint8Array, off: number, len: number): boolean {
  if (len < 14 + 48) return false;
  const type = rd16(buf, off + 12);
  if (type === ETHERTYPE_IPV6)
    return buf[off + 20] === IPPROTO_ICMPV6 && buf[off + 54] === ICMPV6_PACKET_TOO_BIG;
  if (type !== ETHERTYPE_IPV4 || buf[off + 23] !== IPPROTO_ICMP) return false;
  const icmp = off + 14 + (buf[off + 14]! & 15) * 4;
  return buf[icmp] === ICMP_DEST_UNREACHABLE && buf[icmp + 1] === UNREACH_FRAG_NEEDED;
}

/** Sizes of the frames a peer sent before and after the first too-big error it received. */
interface FrameSizes {
  /** Virtual time of the first too-big error received; -1 while there was none. */
  tooBigAt: number;
  maxBefore: number;
  maxAfter: number;
  framesAfter: number;
}

/**
 * One end of the transfers: a VR stack whose client connections (A) or accepted ones (B) each
 * carry a Stream. `expected` is how many connections the scenario opens.
 */
class Peer implements FrameNode {
  readonly stack: Stack;
  readonly streams: Stream[] = [];
  /** Peers of the connections accepted, in order. */
  readonly accepted: SockAddr[] = [];
  readonly frames: FrameSizes = { tooBigAt: -1, maxBefore: 0, maxAfter: 0, framesAfter: 0 };
  expected = 0;
  listenFd = -1;
  /** Called with the byte count of every stream together after every read; scenarios hook mid-transfer changes here. */
  onProgress: (receivedBytes: number) => void = () => {};
  readonly #sourceSeed: number;
  readonly #total: number;
  readonly #buf = new Uint8Array(CHUNK);
  #now = 0;

  constructor(output: FrameOutput, stackSeed: number, sourceSeed: number, total: number) {
    const observed: FrameOutput = {
      transmit: (ifIndex, buf, off, len, segmentSize) => {
        const f = this.frames;
        if (f.tooBigAt < 0) f.maxBefore = Math.max(f.maxBefore, len);
        else {
          f.maxAfter = Math.max(f.maxAfter, len);
          f.framesAfter++;
        }
        output.transmit(ifIndex, buf, off, len, segmentSize);
      },
    };
    this.stack = new Stack({ output: observed, seed: stackSeed, dadTransmits: 0 });
    this.#sourceSeed = sourceSeed;
    this.#total = total;
    this.stack.sockets.onSocketEvent = (fd, events) => {
      if (events & EV_ERROR) {
        const err = this.stack.sockets.getOption(fd, 'SO_ERROR');
        assert.fail(`socket ${fd} reported error ${err}`);
      }
      if (fd === this.listenFd && events & EV_READABLE) {
        for (;;) {
          const peer = new SockAddr();
          const conn = this.stack.sockets.accept(this.listenFd, this.#now, peer);
          if (conn < 0) break;
          assert.ok(this.streams.length < this.expected, `${this.streams.length + 1} connections accepted`);
          this.accepted.push(peer);
          this.#addStream(conn);
        }
      }
    };
  }

  /** Listens on PORT: AF_INET on 0.0.0.0, AF_INET6 on [::] (IPV6_V6ONLY), or dual-stack on [::]. */
  listen(families: Families): void {
    const so = this.stack.sockets;
    if (families === 4) {
      this.listenFd = so.socket('stream');
      assert.equal(so.bind(this.listenFd, 0, PORT), 0);
    } else {
      this.listenFd = so.socket('stream', 0, 6);
      if (families === 6) assert.equal(so.setOption(this.listenFd, 'IPV6_V6ONLY', 1), 0);
      assert.equal(so.bind6(this.listenFd, ANY6, PORT), 0);
    }
    assert.equal(so.listen(this.listenFd, 4), 0);
  }

  /** Opens a client connection to `dst` (its family is the socket's) on PORT. */
  connect(dst: number | Uint8Array): void {
    const so = this.stack.sockets;
    if (typeof dst === 'number') {
      const fd = so.socket('stream');
      assert.equal(so.connect(fd, dst, PORT, 0), -errno.EINPROGRESS);
      this.#addStream(fd);
    } else {
      const fd = so.socket('stream', 0, 6);
      assert.equal(so.connect6(fd, dst, PORT, 0), -errno.EINPROGRESS);
      this.#addStream(fd);
    }
  }

  #addStream(fd: number): void {
    // The first stream's seed is the one the IPv4-only runs always had.
    const seed = this.#sourceSeed + 0x100 * this.streams.length;
    const local = new SockAddr();
    const remote = new SockAddr();
    assert.equal(this.stack.sockets.localAddress(fd, local), 0);
    assert.equal(this.stack.sockets.peerAddress(fd, remote), 0);
    this.streams.push(new Stream(fd, local, remote, new Source(seed, this.#total)));
  }

  get receivedBytes(): number {
    return this.streams.reduce((n, s) => n + s.receivedBytes, 0);
  }

  get done(): boolean {
    return this.streams.length === this.expected && this.streams.every((s) => s.done);
  }

  receive(ifIndex: number, buf: Uint8Array, off: number, len: number, now: number): void {
    this.#now = now;
    if (this.frames.tooBigAt < 0 && isTooBig(buf, off, len)) this.frames.tooBigAt = now;
    this.stack.receive(ifIndex, buf, off, len, now);
  }

  poll(now: number): number {
    this.#now = now;
    if (this.streams.length > 0) {
      const before = this.receivedBytes;
      for (const s of this.streams) s.pump(this.stack, this.#buf, now);
      const after = this.receivedBytes;
      if (after !== before) this.onProgress(after);
    }
    return this.stack.poll(now);
  }

  /** A stream's TCP connection's info (MSS, retransmissions, ...), the first stream's unless told. */
  connectionInfo(
    s = this.streams[0],
  ): { mss: number; retransmits: number; cwnd: number; state: string } | undefined {
    if (s === undefined) return undefined;
    for (const e of s.ipv4 ? this.stack.tcp.endpoints() : this.stack.tcp6.endpoints()) {
      if (!('remotePort' in e) || e.localPort !== s.localPort || e.remotePort !== s.remotePort) continue;
      return e.info() as { mss: number; retransmits: number; cwnd: number; state: string };
    }
    return undefined;
  }
}

interface ScenarioOptions {
  seed: number;
  /** IPv4 (the default), IPv6, or both: one connection over each. */
  families?: Families;
  /** Both directions of the A–R link. */
  impairments?: Impairments;
  /** Called once the transfer is under way (B has 40 % of it), with the topology. */
  midTransfer?: (t: Topology) => void;
  /** Bytes each way on each connection. */
  total?: number;
  /** Frames kept per link endpoint (CAPTURE_LIMIT unless told). */
  captureLimit?: number;
}

interface Topology {
  sim: Sim;
  a: Peer;
  r: Stack;
  b: Peer;
  aR: SimLink;
  rB: SimLink;
}

/** A copy of a TCP engine's counters. */
type TcpCounts = Stack['tcp']['stats'];

/** Everything countable about a run, to compare two runs of one seed. */
interface Outcome {
  virtualMs: number;
  events: number;
  /** TCP counters of the IPv4 and the IPv6 engine of A and B. */
  tcp: { a: TcpCounts; b: TcpCounts };
  tcp6: { a: TcpCounts; b: TcpCounts };
  links: { 'a-r': LinkCounters; 'r-b': LinkCounters };
  routerStats: Record<string, number>;
}

function configureIpv4(a: Stack, r: Stack, b: Stack): void {
  const n = NET[4];
  a.addAddress(0, n.a, 24, 0);
  // A /8 rather than a default route: a /0 costs the DIR-24-8 FIB 2^24 writes.
  a.addStaticRoute({ network: ip('10.0.0.0'), length: 8, via: n.ra });
  r.addAddress(0, n.ra, 24, 0);
  r.addAddress(1, n.rb, 24, 0);
  b.addAddress(0, n.b, 24, 0);
  b.addStaticRoute({ network: ip('10.0.0.0'), length: 8, via: n.rb });
}

/** Global /64s, each host's route to 2001:db8::/32 via R: its link-layer address comes from NDP. */
function configureIpv6(a: Stack, r: Stack, b: Stack): void {
  const n = NET[6];
  const site = { network: ip6('2001:db8::'), length: 32 };
  a.addAddress6(0, n.a, 64, 0);
  a.addStaticRoute6({ ...site, via: n.ra });
  r.addAddress6(0, n.ra, 64, 0);
  r.addAddress6(1, n.rb, 64, 0);
  b.addAddress6(0, n.b, 64, 0);
  b.addStaticRoute6({ ...site, via: n.rb });
}

function topology(options: ScenarioOptions): Topology {
  const { seed, total = TRANSFER, families = 4 } = options;
  const sim = new Sim({ seed, captureLimit: options.captureLimit ?? CAPTURE_LIMIT });
  const a = sim.addNode('a', (out) => new Peer(out, seed ^ 0xa, seed * 2 + 1, total));
  const r = sim.addNode('r', (output) => new Stack({ output, seed: seed ^ 0x5, dadTransmits: 0 }));
  const b = sim.addNode('b', (out) => new Peer(out, seed ^ 0xb, seed * 2 + 2, total));
  const impaired = { delayMs: 5, ...options.impairments };
  const aR = sim.connect('a', 0, 'r', 0, { name: 'a-r', impairments: impaired });
  const rB = sim.connect('r', 1, 'b', 0, { name: 'r-b', impairments: { delayMs: 5 } });

  a.stack.addInterface({ name: 'eth0', mac: mac(1, 0), mtu: 1500 });
  r.addInterface({ name: 'to-a', mac: mac(10, 0), mtu: 1500 });
  r.addInterface({ name: 'to-b', mac: mac(10, 1), mtu: 1500 });
  b.stack.addInterface({ name: 'eth0', mac: mac(2, 0), mtu: 1500 });
  if (families !== 6) configureIpv4(a.stack, r, b.stack);
  if (families !== 4) configureIpv6(a.stack, r, b.stack);

  b.listen(families);
  const destinations = families === 'dual' ? [NET[4].b, NET[6].b] : [NET[families].b];
  a.expected = b.expected = destinations.length;
  for (const dst of destinations) a.connect(dst);

  const t = { sim, a, r, b, aR, rB };
  if (options.midTransfer !== undefined) {
    const hook = options.midTransfer;
    let fired = false;
    b.onProgress = (bytes) => {
      if (fired || bytes < total * destinations.length * 0.4) return;
      fired = true;
      // From a scheduled call, not from inside B's poll: the hook changes other nodes too.
      sim.at(sim.now, () => hook(t));
    };
  }
  return t;
}

function progress(t: Topology): string {
  const streams = (p: Peer) =>
    p.streams
      .map(
        (s) =>
          `sent ${s.source.sent} got ${s.receivedBytes}${s.eof ? ' +EOF' : ''} ${JSON.stringify(p.connectionInfo(s))}`,
      )
      .join('; ');
  return `A: ${streams(t.a)}; B: ${streams(t.b)}; virtual ${t.sim.now} ms, ${t.sim.eventCount} events`;
}

/** Runs the transfers to the end and checks the bytes; then both close and TIME-WAIT runs out. */
function transfer(t: Topology): Outcome {
  const { sim, a, b } = t;
  const ok = sim.runUntil(() => a.done && b.done, { timeoutMs: TIMEOUT_MS, maxEvents: MAX_EVENTS });
  assert.ok(ok, `transfer did not finish within ${TIMEOUT_MS} ms or ${MAX_EVENTS} events: ${progress(t)}`);
  // Each of A's connections against the one B accepted from its port.
  for (const sa of a.streams) {
    const sb = b.streams.find((s) => s.remote === sa.local);
    assert.ok(sb !== undefined, `B accepted A's connection from ${sa.local}`);
    const total = sa.source.total;
    assert.equal(sb.receivedBytes, total, 'A → B byte count');
    assert.equal(sa.receivedBytes, total, 'B → A byte count');
    assert.equal(sb.received.digest('hex'), sa.source.hash.digest('hex'), 'A → B SHA-256');
    assert.equal(sa.received.digest('hex'), sb.source.hash.digest('hex'), 'B → A SHA-256');
  }
  const outcome: Outcome = {
    virtualMs: sim.now,
    events: sim.eventCount,
    tcp: { a: { ...a.stack.tcp.stats }, b: { ...b.stack.tcp.stats } },
    tcp6: { a: { ...a.stack.tcp6.stats }, b: { ...b.stack.tcp6.stats } },
    links: { 'a-r': t.aR.totals(), 'r-b': t.rB.totals() },
    routerStats: t.r.counters().stats,
  };

  const now = sim.now;
  for (const p of [a, b]) for (const s of p.streams) p.stack.sockets.close(s.fd, now);
  b.stack.sockets.close(b.listenFd, now);
  const connections = (p: Peer) => p.stack.tcp.connectionCount + p.stack.tcp6.connectionCount;
  const closed = sim.runUntil(() => connections(a) === 0 && connections(b) === 0, {
    timeoutMs: 300_000,
    maxEvents: 100_000,
  });
  assert.ok(closed, `connections left after close: ${progress(t)}`);
  assert.equal(a.stack.sockets.size + b.stack.sockets.size, 0, 'no sockets left');
  return outcome;
}

const lossy = (loss: number): Impairments => ({
  loss,
  reorder: loss,
  reorderDelayMs: 3,
  duplicate: loss / 2,
});

test('TCP 50 MB each way through a router, no loss: intact, nothing retransmitted', (ctx) => {
  const t = topology({ seed: 1 });
  withPcapsOnFailure(t.sim, ctx);
  const o = transfer(t);
  assert.equal(o.tcp.a.retransmits, 0);
  assert.equal(o.tcp.b.retransmits, 0);
  assert.equal(o.links['a-r'].lost + o.links['r-b'].lost, 0);
});

for (const [loss, seed] of [
  [0.01, 2],
  [0.05, 3],
] as const) {
  test(`TCP 50 MB each way with ${loss * 100} % loss, reordering and duplication on A–R: intact`, (ctx) => {
    const t = topology({ seed, impairments: lossy(loss) });
    withPcapsOnFailure(t.sim, ctx);
    const o = transfer(t);
    const link = o.links['a-r'];
    assert.ok(link.lost > 0 && link.reordered > 0 && link.duplicated > 0, JSON.stringify(link));
    assert.ok(o.tcp.a.retransmits > 0 && o.tcp.b.retransmits > 0, 'both senders recovered losses');
  });
}

/** Virtual time a 50 MB-each-way IPv6 run at 5 % loss may take (they take about ? s). */
const LOSSY6_BOUND_MS = 300_000;

for (const seed of [3, 21, 42]) {
  test(`TCP over IPv6, 50 MB each way with 5 % loss, reordering and duplication on A–R (seed ${seed}): intact`, (ctx) => {
    const t = topology({ seed, families: 6, impairments: lossy(0.05) });
    withPcapsOnFailure(t.sim, ctx);
    const o = transfer(t);
    assert.ok(o.virtualMs < LOSSY6_BOUND_MS, `took ${o.virtualMs} ms of virtual time`);
    const link = o.links['a-r'];
    assert.ok(link.lost > 0 && link.reordered > 0 && link.duplicated > 0, JSON.stringify(link));
    // The loss was real: both IPv6 senders retransmitted, and nothing went over IPv4.
    assert.ok(o.tcp6.a.retransmits > 0 && o.tcp6.b.retransmits > 0, JSON.stringify(o.tcp6));
    assert.equal(o.tcp.a.segmentsOut + o.tcp.b.segmentsOut, 0);
    // R forwarded every segment by its IPv6 FIB, after resolving both hosts with NDP.
    const rs = o.routerStats;
    assert.ok(rs['ipv6_forwarded']! > 2 * (TRANSFER / 1428), `R forwarded ${rs['ipv6_forwarded']}`);
    assert.equal(rs['forwarded'], 0);
    assert.ok(rs['na_sent']! > 0 && rs['ns_sent']! > 0, JSON.stringify(rs));
  });
}

test('dual-stack: a listener on [::] takes an IPv4 and an IPv6 client through the router, 20 MB each way on each at 5 % loss', (ctx) => {
  const t = topology({ seed: 7, families: 'dual', impairments: lossy(0.05), total: 20 * MB });
  withPcapsOnFailure(t.sim, ctx);
  const o = transfer(t);
  // The IPv4 client arrives v4-mapped (RFC 4291 §2.5.5.2) on the AF_INET6 listener.
  assert.deepEqual(
    t.b.accepted.map((p) => p.family),
    [6, 6],
  );
  assert.deepEqual(t.b.accepted.map((p) => formatIpv6(p.addr6)).sort(), ['2001:db8:1::2', '::ffff:10.1.0.2']);
  // Each family's engine carried one connection and recovered its losses.
  for (const stats of [o.tcp, o.tcp6]) {
    assert.ok(stats.a.retransmits > 0 && stats.b.retransmits > 0, JSON.stringify(stats));
  }
  assert.ok(o.routerStats['forwarded']! > 0 && o.routerStats['ipv6_forwarded']! > 0);
});

/** Per family: the MTU R–B drops to, the MSS (with timestamps) before and after, and the counters involved. */
const MTU_DROP = {
  4: {
    mtu: 1000,
    mssBefore: 1448,
    mssAfter: 948,
    error: 'fragmentation needed',
    errorsSent: Stat.ICMP_ERRORS_SENT,
    received: Stat.ICMP_RECEIVED,
    fragmentsCreated: Stat.FRAGMENTS_CREATED,
  },
  6: {
    mtu: 1280,
    mssBefore: 1428,
    mssAfter: 1208,
    error: 'Packet Too Big',
    errorsSent: Stat.ICMPV6_ERRORS_SENT,
    received: Stat.ICMPV6_RECEIVED,
    fragmentsCreated: Stat.IPV6_FRAGMENTS_CREATED,
  },
} as const;

for (const family of [4, 6] as const) {
  const m = MTU_DROP[family];
  test(`TCP over IPv${family} 50 MB each way while the R–B MTU drops from 1500 to ${m.mtu}: intact, both senders use a smaller MSS`, (ctx) => {
    let mtuDroppedAt = -1;
    let mssBefore: number[] = [];
    let progressAtDrop = '';
    const t = topology({
      seed: 4,
      families: family,
      midTransfer: (t) => {
        mtuDroppedAt = t.sim.now;
        progressAtDrop = progress(t);
        assert.ok(t.a.receivedBytes < TRANSFER && t.b.receivedBytes < TRANSFER, progressAtDrop);
        mssBefore = [t.a.connectionInfo()!.mss, t.b.connectionInfo()!.mss];
        t.rB.setMtu(m.mtu);
        t.r.setMtu(1, m.mtu);
        t.b.stack.setMtu(0, m.mtu);
      },
    });
    withPcapsOnFailure(t.sim, ctx);
    const { sim, a, b } = t;
    const ok = sim.runUntil(() => a.done && b.done, { timeoutMs: TIMEOUT_MS, maxEvents: MAX_EVENTS });
    assert.ok(ok, `transfer did not finish: ${progress(t)}`);
    assert.ok(mtuDroppedAt > 0, 'the MTU dropped mid-transfer');
    // MTU - IP header - 20 (TCP) - 12 (timestamps).
    assert.deepEqual(mssBefore, [m.mssBefore, m.mssBefore]);
    assert.equal(a.connectionInfo()!.mss, m.mssAfter, `A learned the path MTU from R’s ${m.error}`);
    assert.equal(b.connectionInfo()!.mss, m.mssAfter, 'B follows its own interface MTU');
    assert.ok(t.r.statCount(m.errorsSent) > 0, `R sent ${m.error}`);
    assert.ok(a.stack.statCount(m.received) > 0, 'A received it');
    // Neither sender fragmented its segments to fit: both made them smaller.
    assert.equal(a.stack.statCount(m.fragmentsCreated) + b.stack.statCount(m.fragmentsCreated), 0);
    // A sent full-sized frames before the error, and from its arrival on none that would not fit.
    const f = a.frames;
    assert.ok(f.tooBigAt >= mtuDroppedAt, JSON.stringify(f));
    assert.equal(f.maxBefore, 1514);
    assert.ok(f.framesAfter > 1000 && f.maxAfter <= m.mtu + 14, JSON.stringify(f));
    const o = transfer(t);
    // R and B switched with the link, so nothing too big reached it: R answered with ICMP instead.
    assert.equal(o.links['r-b'].droppedTooBig, 0);
  });
}

test('TCP bulk transfers replay by seed: same seed, same counters; another seed also completes', (ctx) => {
  const run = (seed: number) => {
    const t = topology({ seed, impairments: lossy(0.01) });
    withPcapsOnFailure(t.sim, ctx);
    return transfer(t);
  };
  const first = run(11);
  const again = run(11);
  assert.deepEqual(again, first, 'seed 11 twice');
  const other = run(12);
  assert.notDeepEqual(other.tcp, first.tcp, 'another seed, another run');
});

test('TCP over IPv6 replays by seed too: 10 MB each way at 5 % loss, same seed, same counters', (ctx) => {
  const run = (seed: number) => {
    const t = topology({ seed, families: 6, impairments: lossy(0.05), total: 10 * MB });
    withPcapsOnFailure(t.sim, ctx);
    return transfer(t);
  };
  const first = run(13);
  assert.deepEqual(run(13), first, 'seed 13 twice');
  assert.notDeepEqual(run(14).tcp6, first.tcp6, 'another seed, another run');
});

// ---- captures ---------------------------------------------------------------------------------------

/** What one captured IPv6 frame is, once every layer has decoded and every checksum held. */
interface DecodedFrame {
  srcMac: number;
  kind: 'tcp' | 'ns' | 'na' | 'mld' | 'ptb' | 'icmpv6';
  src: string;
  dst: string;
  hopLimit: number;
  /** ptb: the MTU it reports, and the source and destination of the packet it quotes. */
  mtu?: number;
  quoted?: [string, string];
}

/**
 * Decodes an Ethernet frame carrying IPv6 (TCP, or ICMPv6 perhaps after a Hop-by-Hop Options
 * header): asserts every layer is sound.
 */
function decodeFrame6(data: Uint8Array): DecodedFrame {
  assert.equal(rd16(data, 12), ETHERTYPE_IPV6, 'an IPv6 frame');
  const h = new Ipv6Header();
  assert.equal(decodeIpv6(data, 14, data.length - 14, h), 0, 'IPv6 header');
  // No Ethernet padding: the smallest of these frames (an NS, 86 bytes) is over 60.
  assert.equal(14 + h.totalLength, data.length, 'payload length');
  const src = formatIpv6(data.subarray(h.srcOffset, h.srcOffset + 16));
  const dst = formatIpv6(data.subarray(h.dstOffset, h.dstOffset + 16));
  const srcMac = data[10]! * 256 + data[11]!;
  const base = { srcMac, src, dst, hopLimit: h.hopLimit };
  let next = h.nextHeader;
  let off = h.payloadOffset;
  if (next === IPPROTO_HOPOPTS) {
    // MLD reports carry a Router Alert (RFC 2711) in a Hop-by-Hop Options header.
    next = data[off]!;
    off += (data[off + 1]! + 1) * 8;
  }
  const len = h.totalLength - (off - 14);
  const pseudo = pseudoHeaderSumIpv6(data, h.srcOffset, data, h.dstOffset, next, 0);
  if (next === IPPROTO_TCP) {
    assert.equal(h.nextHeader, IPPROTO_TCP, 'no extension headers before TCP');
    const seg = new TcpHeader();
    assert.equal(decodeTcpPseudo(data, off, len, pseudo, seg), 0, 'TCP checksum');
    return { ...base, kind: 'tcp' };
  }
  assert.equal(next, IPPROTO_ICMPV6, `next header ${next}`);
  const m = new Icmpv6Message();
  assert.equal(decodeIcmpv6(data, off, len, pseudo, m), 0, 'ICMPv6 checksum');
  if (m.type === ICMPV6_MLDV2_REPORT) return { ...base, kind: 'mld' };
  if (m.type === ICMPV6_NEIGHBOR_SOLICITATION) return { ...base, kind: 'ns' };
  if (m.type === ICMPV6_NEIGHBOR_ADVERTISEMENT) return { ...base, kind: 'na' };
  if (m.type !== ICMPV6_PACKET_TOO_BIG) return { ...base, kind: 'icmpv6' };
  const q = m.bodyOffset;
  const quoted: [string, string] = [
    formatIpv6(data.subarray(q + 8, q + 24)),
    formatIpv6(data.subarray(q + 24, q + 40)),
  ];
  return { ...base, kind: 'ptb', mtu: m.mtu, quoted };
}

test('captures: every IPv6 frame of a run decodes from the pcaps (NDP, TCP checksums, R’s Packet Too Big, hop limits)', (ctx) => {
  const t = topology({
    seed: 5,
    families: 6,
    total: 2 * MB,
    captureLimit: 100_000,
    midTransfer: (t) => {
      t.rB.setMtu(1280);
      t.r.setMtu(1, 1280);
      t.b.stack.setMtu(0, 1280);
    },
  });
  withPcapsOnFailure(t.sim, ctx);
  transfer(t);
  /** Every frame seen at one end of a link, read back from its pcap. */
  const decoded = (link: SimLink, end: 'a' | 'b') => {
    const ring = link[end].capture;
    assert.equal(ring.evicted, 0, 'the ring kept the whole run');
    const file = readPcap(ring.toPcap());
    assert.ok(file.ok, file.ok ? '' : file.error);
    assert.ok(file.records.length > 2_000, `${file.records.length} frames`);
    return file.records.map((r) => decodeFrame6(r.data));
  };
  const A_MAC = 0x0100;
  const R_TO_A_MAC = 0x0a00;
  const R_TO_B_MAC = 0x0a01;
  const hosts = { a: '2001:db8:1::2', b: '2001:db8:2::2' };
  const onAR = decoded(t.aR, 'a');
  const onRB = decoded(t.rB, 'b');
  // Both links resolved their neighbours with NDP before any TCP went over them.
  for (const frames of [onAR, onRB]) {
    const firstTcp = frames.findIndex((f) => f.kind === 'tcp');
    assert.ok(
      frames.slice(0, firstTcp).some((f) => f.kind === 'ns'),
      'an NS before the first segment',
    );
    assert.ok(
      frames.slice(0, firstTcp).some((f) => f.kind === 'na'),
      'an NA before the first segment',
    );
  }
  // A's segments leave it with hop limit 64 and reach B with 63, one router on the way; the same back.
  const tcp = (frames: DecodedFrame[], mac: number) =>
    frames.filter((f) => f.kind === 'tcp' && f.srcMac === mac);
  assert.ok(tcp(onAR, A_MAC).every((f) => f.src === hosts.a && f.dst === hosts.b && f.hopLimit === 64));
  assert.ok(tcp(onRB, R_TO_B_MAC).every((f) => f.src === hosts.a && f.dst === hosts.b && f.hopLimit === 63));
  assert.ok(tcp(onAR, R_TO_A_MAC).every((f) => f.src === hosts.b && f.dst === hosts.a && f.hopLimit === 63));
  for (const n of [tcp(onAR, A_MAC), tcp(onRB, R_TO_B_MAC), tcp(onAR, R_TO_A_MAC)].map((l) => l.length))
    assert.ok(n > 1_000, `${n} segments`);
  // R told A about the 1280-byte link, quoting one of A's segments to B, from its address facing A.
  const ptbs = onAR.filter((f) => f.kind === 'ptb');
  assert.ok(ptbs.length > 0, 'a Packet Too Big on A–R');
  for (const p of ptbs) {
    assert.deepEqual(
      { src: p.src, dst: p.dst, mtu: p.mtu, quoted: p.quoted, mac: p.srcMac },
      { src: '2001:db8:1::1', dst: hosts.a, mtu: 1280, quoted: [hosts.a, hosts.b], mac: R_TO_A_MAC },
    );
  }
});
