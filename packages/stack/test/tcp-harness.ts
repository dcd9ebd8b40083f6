// Test harness for the TCP engine: a virtual clock, an in-memory link between engines with seeded
// loss, reordering and duplication, and helpers to build and read segments by hand. Generic in the
// address family as the engine is (A: number for IPv4, the default; Uint8Array for IPv6); the
// checksums of what the engines send are checked here with the wire's pseudo-header sums, not with
// the family object under test.
import assert from 'node:assert/strict';
import {
  decodeTcpPseudo,
  IPPROTO_TCP,
  pseudoHeaderSum,
  pseudoHeaderSumIpv6,
  rd16,
  rd32,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TcpHeader,
  wr16,
  wr32,
  writeTcpPseudo,
} from '@nexthop/wire';
import {
  TCP_IPV4,
  type TcpAddressFamily,
  type TcpConfig,
  TcpConnection,
  TcpEngine,
  type TcpEnv,
  type TcpListener,
  TcpMd5Keys,
} from '../src/tcp/index.ts';
import { parseOptions, TcpOptions } from '../src/tcp/options.ts';

export const A = 0x0a000001;
export const B = 0x0a000002;

/** IPv4 as the default family of the generic helpers (A = number). */
function ipv4<A>(): TcpAddressFamily<A> {
  return TCP_IPV4 as unknown as TcpAddressFamily<A>;
}

/** The pseudo-header sum without length, from the wire's functions (independent of the family object). */
export function pseudoOf<A>(family: TcpAddressFamily<A>, src: A, dst: A): number {
  if (family.name === 'ipv4') return pseudoHeaderSum(src as number, dst as number, IPPROTO_TCP, 0);
  return pseudoHeaderSumIpv6(src as Uint8Array, 0, dst as Uint8Array, 0, IPPROTO_TCP, 0);
}

/** The network header's length an env of the family writes (IPv4 without options, IPv6 fixed). */
export function netHeaderOf<A>(family: TcpAddressFamily<A>): number {
  return family.name === 'ipv4' ? 20 : 40;
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Seg<A = number> {
  src: A;
  dst: A;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: string;
  window: number;
  data: Uint8Array;
  mss: number;
  wscale: number;
  sackOk: boolean;
  ts: [number, number] | null;
  sack: Array<[number, number]>;
  at: number;
}

export function flagString(f: number): string {
  let s = '';
  if (f & TCP_SYN) s += 'S';
  if (f & TCP_FIN) s += 'F';
  if (f & TCP_RST) s += 'R';
  if (f & TCP_PSH) s += 'P';
  if (f & TCP_ACK) s += '.';
  return s;
}

export function readSeg<A = number>(
  bytes: Uint8Array,
  src: A,
  dst: A,
  at: number,
  family: TcpAddressFamily<A> = ipv4(),
): Seg<A> {
  const h = new TcpHeader();
  const r = decodeTcpPseudo(bytes, 0, bytes.length, pseudoOf(family, src, dst), h, true);
  if (r !== 0) throw new Error(`bad segment out: ${r}`);
  const o = new TcpOptions();
  if (!parseOptions(bytes, h.optionsOffset, h.optionsLength, o)) throw new Error('bad options out');
  const sack: Array<[number, number]> = [];
  for (let i = 0; i < o.sackCount; i++) sack.push([o.sackStart[i]!, o.sackEnd[i]!]);
  return {
    src,
    dst,
    srcPort: h.srcPort,
    dstPort: h.dstPort,
    seq: h.seq,
    ack: h.ack,
    flags: flagString(h.flags),
    window: h.window,
    data: bytes.slice(h.dataOffset, h.dataOffset + h.dataLength),
    mss: o.mss,
    wscale: o.wscale,
    sackOk: o.sackPermitted,
    ts: o.hasTimestamp ? [o.tsVal, o.tsEcr] : null,
    sack,
    at,
  };
}

export interface BuildSeg {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  data?: Uint8Array;
  mss?: number;
  wscale?: number;
  sackOk?: boolean;
  ts?: [number, number];
  sack?: Array<[number, number]>;
}

/** Builds a segment with the options asked for; returns its bytes. */
export function buildSeg<A = number>(
  s: BuildSeg,
  src: A,
  dst: A,
  family: TcpAddressFamily<A> = ipv4(),
): Uint8Array {
  const opts: number[] = [];
  if (s.mss !== undefined) opts.push(2, 4, s.mss >>> 8, s.mss & 0xff);
  if (s.sackOk) opts.push(1, 1, 4, 2);
  if (s.ts !== undefined) {
    const b = new Uint8Array(8);
    wr32(b, 0, s.ts[0]);
    wr32(b, 4, s.ts[1]);
    opts.push(1, 1, 8, 10, ...b);
  }
  if (s.wscale !== undefined) opts.push(1, 3, 3, s.wscale);
  if (s.sack !== undefined && s.sack.length > 0) {
    opts.push(1, 1, 5, 2 + 8 * s.sack.length);
    for (const [a, e] of s.sack) {
      const b = new Uint8Array(8);
      wr32(b, 0, a);
      wr32(b, 4, e);
      opts.push(...b);
    }
  }
  while (opts.length % 4 !== 0) opts.push(0);
  const data = s.data ?? new Uint8Array(0);
  const hl = 20 + opts.length;
  const buf = new Uint8Array(hl + data.length);
  buf.set(opts, 20);
  buf.set(data, hl);
  writeTcpPseudo(
    buf,
    0,
    s.srcPort,
    s.dstPort,
    s.seq >>> 0,
    (s.ack ?? 0) >>> 0,
    s.flags,
    s.window ?? 65535,
    hl,
    data.length,
    pseudoOf(family, src, dst),
  );
  return buf;
}

export { wr16 };

/**
 * Cuts a TCP aggregate into segments of `size` payload bytes as Linux's tcp_gso_segment does:
 * the header repeated, sequence numbers advancing, FIN and PSH on the last segment only, CWR on the
 * first only, every checksum computed afresh (the aggregate's own is not filled).
 */
export function cutAggregate(tcp: Uint8Array, size: number, pseudo: number): Uint8Array[] {
  const hl = (tcp[12]! >>> 4) * 4;
  const payload = tcp.length - hl;
  const seq0 = ((tcp[4]! << 24) | (tcp[5]! << 16) | (tcp[6]! << 8) | tcp[7]!) >>> 0;
  const out: Uint8Array[] = [];
  for (let done = 0; done < payload; done += size) {
    const n = Math.min(size, payload - done);
    const seg = new Uint8Array(hl + n);
    seg.set(tcp.subarray(0, hl));
    seg.set(tcp.subarray(hl + done, hl + done + n), hl);
    let flags = tcp[13]!;
    if (done + n < payload) flags &= ~(TCP_FIN | TCP_PSH);
    if (done > 0) flags &= ~0x80;
    const window = (tcp[14]! << 8) | tcp[15]!;
    const ack = ((tcp[8]! << 24) | (tcp[9]! << 16) | (tcp[10]! << 8) | tcp[11]!) >>> 0;
    const srcPort = (tcp[0]! << 8) | tcp[1]!;
    const dstPort = (tcp[2]! << 8) | tcp[3]!;
    writeTcpPseudo(seg, 0, srcPort, dstPort, (seq0 + done) >>> 0, ack, flags, window, hl, n, pseudo);
    out.push(seg);
  }
  return out;
}

/** One engine with an env that records every segment it sends. */
export class Host<A = number> {
  readonly addr: A;
  readonly family: TcpAddressFamily<A>;
  readonly engine: TcpEngine<A>;
  readonly sent: Seg<A>[] = [];
  readonly notified: Array<TcpConnection<A> | TcpListener<A>> = [];
  mtu = 1500;
  /** What the env reports as the link's maxSegmentOffload (0: TCP sends MSS-sized segments only). */
  segmentOffload = 0;
  /** Aggregates TCP handed over (each cut into segments before it reaches `sent` and the link). */
  aggregates = 0;
  wakeAt = Number.POSITIVE_INFINITY;
  now = 0;
  deliver: ((bytes: Uint8Array, src: A, dst: A, now: number) => void) | null = null;
  /** What the env saw of each segment: traffic class / TOS and hop limit / TTL (last one sent). */
  lastTos = -1;
  lastTtl = -1;

  constructor(addr: A, seed: number, config: Partial<TcpConfig> = {}, family: TcpAddressFamily<A> = ipv4()) {
    this.addr = addr;
    this.family = family;
    const rnd = mulberry32(seed);
    const net = netHeaderOf(family);
    const env: TcpEnv<A> = {
      family,
      linkHeaderLength: 14,
      netHeaderLength: net,
      sendSegment: (buf, ipOff, tcpLen, src, dst, tos, ttl, now, segmentSize = 0) => {
        this.lastTos = tos;
        this.lastTtl = ttl;
        const whole = buf.slice(ipOff + net, ipOff + net + tcpLen);
        if (segmentSize > 0) {
          assert.ok(this.segmentOffload > 0, 'aggregate sent towards a link that cannot take it');
          assert.ok(net + tcpLen <= this.segmentOffload, 'aggregate larger than the link takes');
          this.aggregates++;
        }
        const pseudo = pseudoOf(family, src, dst);
        for (const bytes of segmentSize > 0 ? cutAggregate(whole, segmentSize, pseudo) : [whole]) {
          this.sent.push(readSeg(bytes, src, dst, now, family));
          if (this.deliver !== null) this.deliver(bytes, src, dst, now);
        }
        return 0;
      },
      mtuFor: () => this.mtu,
      segmentOffloadFor: () => this.segmentOffload,
      sourceFor: () => this.addr,
      random32: () => Math.floor(rnd() * 4294967296) >>> 0,
      wake: (d) => {
        if (d < this.wakeAt) this.wakeAt = d;
      },
      notify: (e) => {
        this.notified.push(e);
      },
    };
    this.engine = new TcpEngine(env, config);
  }

  /** Feeds a hand-built segment from `src` (IPv4 default: B); returns what input() returned. */
  input(s: BuildSeg, src: A = B as A, now = this.now): boolean {
    this.now = now;
    const bytes = buildSeg(s, src, this.addr, this.family);
    return this.engine.input(bytes, 0, bytes.length, src, this.addr, 0, now);
  }

  /** Advances the clock to t, running every timer due on the way. */
  advance(t: number): void {
    for (let guard = 0; guard < 1_000_000; guard++) {
      const next = this.engine.poll(this.now);
      if (next > t) break;
      this.now = Math.max(this.now, next);
      this.engine.poll(this.now);
    }
    this.now = t;
    this.engine.poll(t);
  }

  take(): Seg<A>[] {
    return this.sent.splice(0, this.sent.length);
  }
}

export interface LinkOptions {
  seed: number;
  delay?: number;
  loss?: number;
  duplicate?: number;
  reorder?: number;
  /** Bytes per ms the link carries each way (0 = unlimited). */
  rate?: number;
}

interface InFlight<A> {
  at: number;
  order: number;
  bytes: Uint8Array;
  src: A;
  dst: A;
  /** Set for an ICMP fragmentation-needed going back to src with this next-hop MTU. */
  icmpMtu?: number;
}

/** The family and the two hosts' addresses of a Pair (default: IPv4, A and B). */
export interface PairAddresses<A> {
  family: TcpAddressFamily<A>;
  a: A;
  b: A;
}

/** Two hosts joined by a lossy link with a virtual clock. */
export class Pair<A = number> {
  readonly a: Host<A>;
  readonly b: Host<A>;
  now = 0;
  private queue: InFlight<A>[] = [];
  private order = 0;
  private readonly rnd: () => number;
  private readonly link: LinkOptions;
  private readonly family: TcpAddressFamily<A>;
  private busyUntil = new Map<Host<A>, number>();
  dropped = 0;
  delivered = 0;
  unmatched = 0;
  keepLog = false;
  /** MTU of a router in the middle of the path (0: none); bigger packets draw ICMP frag-needed. */
  pathMtu = 0;
  icmpSent = 0;

  constructor(
    link: LinkOptions,
    ca: Partial<TcpConfig> = {},
    cb: Partial<TcpConfig> = {},
    addrs: PairAddresses<A> = { family: ipv4(), a: A as A, b: B as A },
  ) {
    this.link = link;
    this.family = addrs.family;
    this.rnd = mulberry32(link.seed);
    this.a = new Host(addrs.a, link.seed * 7 + 1, ca, addrs.family);
    this.b = new Host(addrs.b, link.seed * 13 + 5, cb, addrs.family);
    this.a.deliver = (bytes, src, dst, now) => this.send(this.a, bytes, src, dst, now);
    this.b.deliver = (bytes, src, dst, now) => this.send(this.b, bytes, src, dst, now);
  }

  /** The host that has `addr`, if any (a segment to another address goes nowhere). */
  private hostOf(addr: A): Host<A> | null {
    if (this.family.equals(addr, this.a.addr)) return this.a;
    if (this.family.equals(addr, this.b.addr)) return this.b;
    return null;
  }

  private send(h: Host<A>, bytes: Uint8Array, src: A, dst: A, now: number): void {
    if (!this.keepLog) h.sent.length = 0;
    const l = this.link;
    if (this.pathMtu > 0 && bytes.length + netHeaderOf(this.family) > this.pathMtu) {
      this.icmpSent++;
      this.push({
        at: now + (l.delay ?? 5) / 2,
        order: this.order++,
        bytes,
        src,
        dst,
        icmpMtu: this.pathMtu,
      });
      return;
    }
    if (l.loss !== undefined && this.rnd() < l.loss) {
      this.dropped++;
      return;
    }
    let start = now;
    if (l.rate !== undefined && l.rate > 0) {
      start = Math.max(now, this.busyUntil.get(h) ?? 0);
      this.busyUntil.set(h, start + (bytes.length + 40) / l.rate);
    }
    let at = start + (l.delay ?? 5);
    if (l.reorder !== undefined && this.rnd() < l.reorder) at += 1 + this.rnd() * 10;
    this.push({ at, order: this.order++, bytes, src, dst });
    if (l.duplicate !== undefined && this.rnd() < l.duplicate)
      this.push({ at: at + this.rnd() * 3, order: this.order++, bytes, src, dst });
  }

  private push(f: InFlight<A>): void {
    const q = this.queue;
    let i = q.length;
    while (i > 0 && (q[i - 1]!.at > f.at || (q[i - 1]!.at === f.at && q[i - 1]!.order > f.order))) i--;
    q.splice(i, 0, f);
  }

  /** Runs until `done` holds or the clock passes `limit`; returns whether done held. */
  run(done: () => boolean, limit: number, step?: (now: number) => void): boolean {
    for (let guard = 0; guard < 50_000_000; guard++) {
      if (done()) return true;
      const next = Math.min(
        this.queue.length > 0 ? this.queue[0]!.at : Number.POSITIVE_INFINITY,
        this.a.wakeAt,
        this.b.wakeAt,
      );
      if (next > limit || next === Number.POSITIVE_INFINITY) {
        this.now = limit;
        return done();
      }
      this.now = Math.max(this.now, next);
      this.a.now = this.now;
      this.b.now = this.now;
      while (this.queue.length > 0 && this.queue[0]!.at <= this.now) {
        const f = this.queue.shift()!;
        if (f.icmpMtu !== undefined) {
          const from = this.hostOf(f.src)!;
          if (this.family.name === 'ipv4') {
            // RFC 792: the quote is the IP header and the first 8 bytes of the TCP segment.
            const q = new Uint8Array(28);
            q[0] = 0x45;
            q[9] = 6;
            wr32(q, 12, f.src as number);
            wr32(q, 16, f.dst as number);
            q.set(f.bytes.subarray(0, 8), 20);
            (from.engine as unknown as TcpEngine).icmpError(3, 4, f.icmpMtu, q, 0, 28, this.now);
          } else {
            // RFC 4443 §3.2: what the IPv6 layer hands TCP after parsing a Packet Too Big's quote.
            const b = f.bytes;
            from.engine.packetTooBig(f.src, rd16(b, 0), f.dst, rd16(b, 2), rd32(b, 4), f.icmpMtu, this.now);
          }
          continue;
        }
        const h = this.hostOf(f.dst);
        this.delivered++;
        if (h === null || !h.engine.input(f.bytes, 0, f.bytes.length, f.src, f.dst, 0, this.now))
          this.unmatched++;
      }
      for (const h of [this.a, this.b]) {
        if (h.wakeAt <= this.now) {
          h.wakeAt = Number.POSITIVE_INFINITY;
          const n = h.engine.poll(this.now);
          if (n < h.wakeAt) h.wakeAt = n;
        }
      }
      if (step !== undefined) step(this.now);
    }
    throw new Error('simulation did not settle');
  }
}

export function isConnection(x: unknown): x is TcpConnection {
  return x instanceof TcpConnection;
}

/** Deterministic bytes for a transfer. */
export function pattern(len: number, seed: number): Uint8Array {
  const r = mulberry32(seed);
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (r() * 256) | 0;
  return b;
}

/** One direction of a bulk transfer: what is sent, and what arrived. */
export interface Flow {
  data: Uint8Array;
  sent: number;
  got: Uint8Array;
  gotLen: number;
  eof: boolean;
}

function flow(size: number, seed: number): Flow {
  return { data: pattern(size, seed), sent: 0, got: new Uint8Array(size), gotLen: 0, eof: false };
}

/**
 * On a Pair of any family: b listens on (wildcard, port), a connects from (aAddr, 40000), `size`
 * bytes go each way, then both sides half-close. Returns when both saw EOF or at `limit` (ms), with
 * the two flows and the connections; the caller checks what arrived. With `md5Key`, both ends sign
 * with it (RFC 2385: the listener's key for a, a's for b).
 */
export function bulkTransfer<A>(
  p: Pair<A>,
  size: number,
  seed: number,
  limit = 600_000,
  step?: (now: number) => void,
  md5Key: Uint8Array | null = null,
): { ok: boolean; c: TcpConnection<A>; s: TcpConnection<A> | null; up: Flow; down: Flow } {
  const l = p.b.engine.listen(p.b.family.any, 80, 16) as TcpListener<A>;
  if (md5Key !== null) {
    l.md5Keys = new TcpMd5Keys<A>();
    l.md5Keys.set(p.b.family, p.a.addr, md5Key);
  }
  const c = p.a.engine.connect(p.a.addr, 40000, p.b.addr, 80, 0, md5Key) as TcpConnection<A>;
  assert.ok(c instanceof TcpConnection);
  let s: TcpConnection<A> | null = null;
  const up = flow(size, seed);
  const down = flow(size, seed + 1);
  const buf = new Uint8Array(65536);
  const pump = (from: TcpConnection<A>, to: TcpConnection<A>, f: Flow, now: number) => {
    while (f.sent < f.data.length) {
      const n = from.send(f.data, f.sent, Math.min(f.data.length - f.sent, 30000), now);
      if (n <= 0) break;
      f.sent += n;
    }
    if (f.sent === f.data.length) from.shutdown(false, true, now);
    for (;;) {
      const n = to.recv(buf, 0, buf.length, now);
      if (n > 0) {
        assert.ok(f.gotLen + n <= f.got.length, 'received more than sent');
        f.got.set(buf.subarray(0, n), f.gotLen);
        f.gotLen += n;
        continue;
      }
      if (n === 0) f.eof = true;
      break;
    }
  };
  const ok = p.run(
    () => up.eof && down.eof,
    limit,
    (now) => {
      if (step !== undefined) step(now);
      if (s === null) s = l.accept(now);
      if (s === null) return;
      pump(c, s, up, now);
      pump(s, c, down, now);
    },
  );
  return { ok, c, s, up, down };
}
