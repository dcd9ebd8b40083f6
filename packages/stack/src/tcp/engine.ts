import {
  decodeTcpPseudo,
  ICMP_DEST_UNREACHABLE,
  rd16,
  rd32,
  TCP_ACK,
  TCP_RST,
  TCP_SYN,
  TcpHeader,
  UNREACH_FRAG_NEEDED,
} from '@nexthop/wire';
import { EADDRINUSE, EADDRNOTAVAIL, EINVAL, ENETUNREACH } from '../sockapi/errno.ts';
import { icmpErrno, icmpIsHard } from '../sockapi/icmp-errors.ts';
import { EPHEMERAL_SPAN, PortSelector } from '../sockapi/ports.ts';
import { below, type RandomSource } from '../sockapi/random.ts';
import { EV_READABLE } from '../sockapi/types.ts';
import { DEFAULT_TCP_CONFIG, type TcpConfig } from './config.ts';
import { TcpConnection } from './connection.ts';
import type { TcpAddressFamily } from './family.ts';
import { type TcpHost, TcpStats } from './host.ts';
import type { TcpMd5Keys } from './md5sig.ts';
import { parseOptions, TcpOptions } from './options.ts';
import { SegmentWriter } from './segment.ts';
import { S_CLOSED, S_TIME_WAIT } from './states.ts';

export interface TcpEnv<A = number> {
  /**
   * The family of the addresses this env hands the engine and takes from it (TCP_IPV4: numbers,
   * TCP_IPV6: 16-byte arrays). One engine serves one family; a dual-stack host runs two.
   */
  readonly family: TcpAddressFamily<A>;
  /**
   * The headers the env writes in front of each segment, fixed for the env: the link header's room
   * (Ethernet: 14) and the network header (IPv4 without options: 20; IPv6: 40). The engine
   * builds its segments after them (SegmentWriter) and derives MSS from the MTU with them.
   */
  readonly linkHeaderLength: number;
  readonly netHeaderLength: number;
  /**
   * Sends one segment: TCP header + payload at buf[ipOff + netHeaderLength, ... + tcpLen), checksum
   * filled; the env writes the network header at ipOff and the link header in the bytes before it.
   * With `segmentSize` > 0 it is an aggregate (only when segmentOffloadFor allowed one): the payload
   * stands for segments of that size, the checksum is not filled, and the env or its link cuts it
   * (Link.send). For IPv6, `tos` is the traffic class and `ttl` the hop limit. `src` and `dst` are
   * the connection's own (never to be modified). Returns 0 or -errno.
   */
  sendSegment(
    buf: Uint8Array,
    ipOff: number,
    tcpLen: number,
    src: A,
    dst: A,
    tos: number,
    ttl: number,
    now: number,
    segmentSize?: number,
  ): number;
  /** MTU of the route towards dst, 0 when there is no route. */
  mtuFor(dst: A): number;
  /**
   * Largest TCP aggregate (IP bytes) the egress link towards dst segments itself, 0 when it cannot
   * (or there is no route). Absent: 0.
   */
  segmentOffloadFor?(dst: A): number;
  /** Source address towards dst, `family.any` when there is no route. */
  sourceFor(dst: A): A;
  /**
   * The stack's random source (a CSPRNG in the VR, seeded in simulations): the engine's keys are
   * drawn from it when it is built (the SYN-cookie keys of each period when it begins), and it
   * perturbs port choices and draws the challenge-ACK budget of each second.
   */
  random32(): number;
  /** TCP armed a timer at this deadline (ms); poll(now) must run by then. */
  wake(deadline: number): void;
  /** Readiness of a connection or listener may have changed. */
  notify(endpoint: TcpConnection<A> | TcpListener<A>): void;
}

/**
 * SYN cookie time counter period (ms), and the MSS values a cookie can encode (3 bits). The cookie
 * keys are also replaced every period (see rekeyCookies): a cookie is valid in the period it was
 * minted and the next one (Linux's MAX_SYNCOOKIE_AGE of two 60 s periods, rounded to a power of 2).
 */
export const COOKIE_PERIOD = 64_000;
const COOKIE_MSS = [536, 1220, 1440, 1460, 4312, 8960];

export class TcpListener<A = number> {
  readonly localAddr: A;
  readonly localPort: number;
  backlog: number;
  readonly embryos = new Set<TcpConnection<A>>();
  readonly acceptQueue: TcpConnection<A>[] = [];
  synCookiesSent = 0;
  lastCookieAt = Number.NEGATIVE_INFINITY;
  closed = false;
  /**
   * RFC 5082 (GTSM): segments with a lower TTL / hop limit are dropped, and the connections of
   * this listener inherit it (IP_MINTTL, IPV6_MINHOPCOUNT); 0: none.
   */
  minTtl = 0;
  /**
   * RFC 2385 keys by peer address (TCP_MD5SIG on the listening socket): a SYN from a peer with a
   * key must be signed with it, and its connection signs with it; null: none.
   */
  md5Keys: TcpMd5Keys<A> | null = null;
  private readonly engine: TcpEngine<A>;

  constructor(engine: TcpEngine<A>, localAddr: A, localPort: number, backlog: number) {
    this.engine = engine;
    this.localAddr = localAddr;
    this.localPort = localPort;
    this.backlog = Math.max(backlog, 1);
  }

  get state(): string {
    return this.closed ? 'CLOSED' : 'LISTEN';
  }

  accept(_now: number): TcpConnection<A> | null {
    const c = this.acceptQueue.shift();
    if (c === undefined) return null;
    c.listener = null;
    return c;
  }

  events(): number {
    return this.acceptQueue.length > 0 ? EV_READABLE : 0;
  }

  close(now: number): void {
    this.engine.closeListener(this, now);
  }

  info(): { pending: number; synQueue: number; synCookiesSent: number } {
    return {
      pending: this.acceptQueue.length,
      synQueue: this.embryos.size,
      synCookiesSent: this.synCookiesSent,
    };
  }
}

export class TcpEngine<A = number> implements TcpHost<A> {
  readonly writer: SegmentWriter;
  readonly stats = new TcpStats();
  readonly config: TcpConfig;
  readonly family: TcpAddressFamily<A>;
  private readonly env: TcpEnv<A>;
  private readonly random: RandomSource;
  /**
   * localPort → family.tableKey(remoteAddr, remotePort) → chain of connections. IPv4's key is exact
   * (remoteAddr × 65536 + remotePort: the chain differs in local address only); IPv6's is a keyed
   * hash, so its chain may also hold other remotes. Either way a chain is searched on all of the
   * 4-tuple.
   */
  private readonly table = new Map<number, Map<number, TcpConnection<A>>>();
  private readonly all = new Set<TcpConnection<A>>();
  private readonly listeners = new Map<number, TcpListener<A>[]>();
  private readonly seg = new TcpHeader();
  private readonly opts = new TcpOptions();
  /** The RFC 2385 pseudo-header of the segments the engine signs itself (IPv4: 12 bytes, IPv6: 40). */
  private readonly md5Pseudo: Uint8Array;
  /** Ephemeral ports of active opens (RFC 6056 Algorithm 4); the socket layer uses it too. */
  readonly portSelector: PortSelector;
  /** RFC 6528 F() key, for the life of the engine (as Linux's net_secret). */
  private readonly isnKey0: number;
  private readonly isnKey1: number;
  /** RFC 7323 §5.4 timestamp offset key. */
  private readonly tsKey0: number;
  private readonly tsKey1: number;
  /**
   * The key of the demultiplexing table's hash (family.keyedTable: IPv6), and of the digest of an
   * address for RFC 6056's port choice. 0 for IPv4, whose keys are exact.
   */
  private readonly tableKey0: number = 0;
  private readonly tableKey1: number = 0;
  /** SYN-cookie keys of the current and the previous period (COOKIE_PERIOD), NaN: none yet. */
  private cookieGen = Number.NaN;
  private cookieKey0 = 0;
  private cookieKey1 = 0;
  private prevCookieGen = Number.NaN;
  private prevCookieKey0 = 0;
  private prevCookieKey1 = 0;
  private nextWake = Number.POSITIVE_INFINITY;
  /** RFC 5961 §7 global budget: the second it was drawn for and what is left of it. */
  private challengeSecond = Number.NaN;
  private challengeBudget = 0;

  constructor(env: TcpEnv<A>, config: Partial<TcpConfig> = {}) {
    this.env = env;
    this.family = env.family;
    this.writer = new SegmentWriter(env.linkHeaderLength, env.netHeaderLength);
    this.config = { ...DEFAULT_TCP_CONFIG, ...config };
    this.md5Pseudo = new Uint8Array(env.family.name === 'ipv4' ? 12 : 40);
    this.isnKey0 = env.random32() | 0;
    this.isnKey1 = env.random32() | 0;
    this.tsKey0 = env.random32() | 0;
    this.tsKey1 = env.random32() | 0;
    this.random = { next32: () => env.random32() >>> 0 };
    this.portSelector = new PortSelector(this.random);
    // Drawn last, and only when used, so that an IPv4 engine draws the very words it drew before.
    if (env.family.keyedTable) {
      this.tableKey0 = env.random32() | 0;
      this.tableKey1 = env.random32() | 0;
    }
  }

  // ---------------------------------------------------------------- TcpHost

  sendSegment(
    tcpLen: number,
    src: A,
    dst: A,
    tos: number,
    ttl: number,
    now: number,
    segmentSize = 0,
  ): number {
    const w = this.writer;
    return this.env.sendSegment(w.buf, w.ipOff, tcpLen, src, dst, tos, ttl, now, segmentSize);
  }

  mtuFor(dst: A): number {
    return this.env.mtuFor(dst);
  }

  segmentOffloadFor(dst: A): number {
    return this.env.segmentOffloadFor?.(dst) ?? 0;
  }

  /** RFC 6528: ISN = M + F(4-tuple, secret), M a 4 µs clock; F over the full addresses. */
  isn(localAddr: A, localPort: number, remoteAddr: A, remotePort: number, now: number): number {
    const f = this.family.hashTuple(
      this.isnKey0,
      this.isnKey1,
      localAddr,
      remoteAddr,
      (localPort << 16) | remotePort,
      0,
    );
    return (f + Math.floor(now * 250)) >>> 0;
  }

  /**
   * RFC 7323 §5.4: a per-connection offset to TSval, so that timestamps reveal neither the
   * uptime nor a clock shared by the connections (which would link them, and count a NAT's hosts).
   * A keyed hash of the 4-tuple, as Linux (secure_tcp_ts_off): the same connection always gets
   * the same offset, unrelated connections unrelated ones.
   */
  tsOffset(localAddr: A, localPort: number, remoteAddr: A, remotePort: number): number {
    return this.family.hashTuple(
      this.tsKey0,
      this.tsKey1,
      localAddr,
      remoteAddr,
      (localPort << 16) | remotePort,
      1,
    );
  }

  arm(deadline: number): void {
    if (deadline < this.nextWake) {
      this.nextWake = deadline;
      this.env.wake(deadline);
    }
  }

  notify(c: TcpConnection<A>): void {
    this.env.notify(c);
  }

  /**
   * RFC 5961 §7: the engine-wide challenge-ACK budget, checked after the connection's own
   * limit (TcpConnection.challengeAck). A fixed global count is a side channel shared by all
   * connections: an off-path attacker who exhausts it and counts the challenge ACKs left for him
   * learns whether his guessed 4-tuple and sequence number hit (CVE-2016-5696). So the budget is
   * drawn afresh each second, as Linux since 4.7: limit/2 + a random value in [0, limit).
   */
  allowChallengeAck(now: number): boolean {
    const second = Math.floor(now / 1000);
    if (second !== this.challengeSecond) {
      this.challengeSecond = second;
      const limit = this.config.challengeAckLimit;
      this.challengeBudget = limit > 0 ? ((limit + 1) >>> 1) + below(this.random, limit) : 0;
    }
    if (this.challengeBudget <= 0) return false;
    this.challengeBudget--;
    return true;
  }

  established(c: TcpConnection<A>): boolean {
    const l = c.listener as TcpListener<A> | null;
    if (l === null) return true;
    if (l.acceptQueue.length >= l.backlog) {
      this.stats.listenOverflows++;
      return false;
    }
    l.embryos.delete(c);
    l.acceptQueue.push(c);
    this.env.notify(l);
    return true;
  }

  embryoGone(c: TcpConnection<A>): void {
    const l = c.listener as TcpListener<A> | null;
    if (l !== null) l.embryos.delete(c);
    c.listener = null;
  }

  // ---------------------------------------------------------------- demultiplexing

  /** The connection of a 4-tuple (addresses possibly the caller's scratch: only compared). */
  private find(localAddr: A, localPort: number, remoteAddr: A, remotePort: number): TcpConnection<A> | null {
    const m = this.table.get(localPort);
    if (m === undefined) return null;
    const fam = this.family;
    let c = m.get(fam.tableKey(this.tableKey0, this.tableKey1, remoteAddr, remotePort)) ?? null;
    while (
      c !== null &&
      !(
        fam.equals(c.localAddr, localAddr) &&
        c.remotePort === remotePort &&
        fam.equals(c.remoteAddr, remoteAddr)
      )
    ) {
      c = c.nextInBucket;
    }
    return c;
  }

  private link(c: TcpConnection<A>): void {
    let m = this.table.get(c.localPort);
    if (m === undefined) {
      m = new Map();
      this.table.set(c.localPort, m);
    }
    const key = this.family.tableKey(this.tableKey0, this.tableKey1, c.remoteAddr, c.remotePort);
    c.bucketKey = key;
    c.nextInBucket = m.get(key) ?? null;
    m.set(key, c);
    this.all.add(c);
    c.linked = true;
  }

  unlink(c: TcpConnection<A>): void {
    if (!c.linked) return;
    c.linked = false;
    this.all.delete(c);
    const m = this.table.get(c.localPort);
    if (m === undefined) return;
    const key = c.bucketKey;
    let p = m.get(key) ?? null;
    if (p === c) {
      if (c.nextInBucket === null) m.delete(key);
      else m.set(key, c.nextInBucket);
    } else {
      while (p !== null && p.nextInBucket !== c) p = p.nextInBucket;
      if (p !== null) p.nextInBucket = c.nextInBucket;
    }
    c.nextInBucket = null;
    if (m.size === 0) this.table.delete(c.localPort);
  }

  private findListener(addr: A, port: number): TcpListener<A> | null {
    const ls = this.listeners.get(port);
    if (ls === undefined) return null;
    const fam = this.family;
    let any: TcpListener<A> | null = null;
    for (let i = 0; i < ls.length; i++) {
      const l = ls[i]!;
      if (fam.equals(l.localAddr, addr)) return l;
      if (fam.isAny(l.localAddr)) any = l;
    }
    return any;
  }

  // ---------------------------------------------------------------- input

  /**
   * A segment for a local address (IP validated, checksum not yet). Returns false when no
   * connection or listener takes it, so that the stack answers with a reset (RFC 9293 §3.10.7.1).
   * `src` and `dst` may be the caller's scratch, reused for the next segment: what is kept of them
   * (a new connection's addresses) is family.keep()'s copy. `ttl`: the TTL or hop limit it arrived
   * with, for the RFC 5082 check of IP_MINTTL / IPV6_MINHOPCOUNT (255 when the caller does not
   * tell).
   */
  input(
    buf: Uint8Array,
    tcpOff: number,
    tcpLen: number,
    src: A,
    dst: A,
    _tos: number,
    now: number,
    checksumVerified = false,
    ttl = 255,
  ): boolean {
    const seg = this.seg;
    const pseudo = checksumVerified ? 0 : this.family.pseudoSum(src, dst);
    if (decodeTcpPseudo(buf, tcpOff, tcpLen, pseudo, seg, !checksumVerified) !== 0) {
      this.stats.badSegments++;
      return true;
    }
    const o = this.opts;
    if (!parseOptions(buf, seg.optionsOffset, seg.optionsLength, o)) {
      this.stats.badSegments++;
      return true;
    }
    const c = this.find(dst, seg.dstPort, src, seg.srcPort);
    if (c !== null) {
      // RFC 5082 §3 then RFC 2385 §3.0, before anything of the segment is looked at (Linux's order).
      if (ttl < c.minTtl) {
        this.stats.minTtlDropped++;
        return true;
      }
      if ((c.md5Key !== null || o.md5At >= 0) && !this.md5Accepts(c.md5Key, o, buf, tcpOff, tcpLen, src, dst))
        return true;
      if (
        c.st === S_TIME_WAIT &&
        (seg.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN &&
        c.timeWaitAcceptsSyn(seg, o) &&
        this.findListener(dst, seg.dstPort) !== null
      ) {
        c.reap();
      } else {
        c.input(seg, o, buf, now);
        return true;
      }
    }
    const l = this.findListener(dst, seg.dstPort);
    if (l === null) return false;
    if (ttl < l.minTtl) {
      this.stats.minTtlDropped++;
      return true;
    }
    const key = l.md5Keys === null ? null : l.md5Keys.find(this.family, src);
    if ((key !== null || o.md5At >= 0) && !this.md5Accepts(key, o, buf, tcpOff, tcpLen, src, dst))
      return true;
    return this.listenInput(l, seg, o, buf, src, dst, now, key);
  }

  /**
   * RFC 2385 §3.0: whether a segment passes the signature check of an endpoint with `key` (null:
   * none, then a signed segment is refused too, as Linux). Refusals are counted by reason.
   */
  private md5Accepts(
    key: Uint8Array | null,
    o: TcpOptions,
    buf: Uint8Array,
    tcpOff: number,
    tcpLen: number,
    src: A,
    dst: A,
  ): boolean {
    const stats = this.stats;
    if (key === null) {
      stats.md5Unexpected++;
      return false;
    }
    if (o.md5At < 0) {
      stats.md5Missing++;
      return false;
    }
    if (!this.writer.md5.verify(this.family, src, dst, buf, tcpOff, tcpLen, o.md5At, key)) {
      stats.md5Bad++;
      return false;
    }
    return true;
  }

  /**
   * RFC 9293 §3.10.7.2, with a bounded SYN queue and SYN cookies. `key`: the listener's RFC 2385
   * key for the peer (the segment passed its check), which its connection takes.
   */
  private listenInput(
    l: TcpListener<A>,
    seg: TcpHeader,
    o: TcpOptions,
    buf: Uint8Array,
    src: A,
    dst: A,
    now: number,
    key: Uint8Array | null,
  ): boolean {
    const f = seg.flags;
    this.stats.segmentsIn++;
    if ((f & TCP_RST) !== 0) return true;
    if ((f & TCP_ACK) !== 0) {
      if ((f & TCP_SYN) === 0 && this.config.synCookies && now - l.lastCookieAt <= 2 * COOKIE_PERIOD) {
        const mss = this.checkCookie(dst, seg.dstPort, src, seg.srcPort, seg.seq, seg.ack, now);
        if (mss > 0) {
          this.stats.synCookiesAccepted++;
          const fam = this.family;
          const c = new TcpConnection(
            this,
            this.config,
            fam.keep(dst),
            seg.dstPort,
            fam.keep(src),
            seg.srcPort,
          );
          c.minTtl = l.minTtl;
          if (key !== null) c.setMd5Key(key);
          c.openFromCookie(seg, mss, now);
          c.listener = l;
          this.link(c);
          if (!this.established(c)) {
            this.unlink(c);
            return true;
          }
          c.input(seg, o, buf, now);
          return true;
        }
        this.stats.synCookiesRejected++;
      }
      return false;
    }
    if ((f & TCP_SYN) === 0) return true;
    if (l.acceptQueue.length >= l.backlog) {
      this.stats.listenOverflows++;
      return true;
    }
    if (l.embryos.size >= this.config.synQueue) {
      if (this.config.synCookies) this.sendCookie(l, seg, o, src, dst, now, key);
      else this.stats.listenOverflows++;
      return true;
    }
    const fam = this.family;
    const c = new TcpConnection(this, this.config, fam.keep(dst), seg.dstPort, fam.keep(src), seg.srcPort);
    c.listener = l;
    c.minTtl = l.minTtl;
    if (key !== null) c.setMd5Key(key);
    l.embryos.add(c);
    this.link(c);
    c.openPassive(seg, o, now);
    return true;
  }

  /**
   * Replaces the SYN-cookie keys when the period of `now` is a new one: the current key becomes the
   * previous one and a fresh one is drawn, so that cookies minted just before the change still
   * validate during the next period and none after that (Linux keeps its cookies for two periods
   * the same way). Driven by the `now` of the segments that mint or check cookies: a period in which
   * no cookie was involved simply never had a key. A jump of more than one period, or back in time,
   * drops both keys.
   */
  private rekeyCookies(now: number): void {
    const gen = Math.floor(now / COOKIE_PERIOD);
    if (gen === this.cookieGen) return;
    if (gen === this.cookieGen + 1) {
      this.prevCookieGen = this.cookieGen;
      this.prevCookieKey0 = this.cookieKey0;
      this.prevCookieKey1 = this.cookieKey1;
    } else this.prevCookieGen = Number.NaN;
    this.cookieGen = gen;
    this.cookieKey0 = this.env.random32() | 0;
    this.cookieKey1 = this.env.random32() | 0;
    this.stats.synCookieRekeys++;
  }

  /** The cookie's 24-bit keyed hash under the key of period `gen`, -1 when that key is gone. */
  private cookieHash(la: A, lp: number, ra: A, rp: number, peerIsn: number, gen: number): number {
    let k0: number;
    let k1: number;
    if (gen === this.cookieGen) {
      k0 = this.cookieKey0;
      k1 = this.cookieKey1;
    } else if (gen === this.prevCookieGen) {
      k0 = this.prevCookieKey0;
      k1 = this.prevCookieKey1;
    } else return -1;
    return this.family.hashTuple(k0, k1 ^ gen, la, ra, (lp << 16) | rp, peerIsn) & 0xffffff;
  }

  /**
   * Our ISN for a SYN cookie: 5 bits of time counter, 3 bits of MSS index, 24 bits of keyed hash.
   * With an RFC 2385 key for the peer the SYN-ACK is signed (Linux answers with signed cookies
   * too: TCP_SYNACK_COOKIE in tcp_synack_options), and so is the connection the ACK rebuilds.
   */
  private sendCookie(
    l: TcpListener<A>,
    seg: TcpHeader,
    o: TcpOptions,
    src: A,
    dst: A,
    now: number,
    key: Uint8Array | null,
  ): void {
    const peerMss = o.mss > 0 ? o.mss : 536;
    const mtu = this.env.mtuFor(src);
    const headers = this.writer.headers;
    const ours = Math.min(mtu > headers ? mtu - headers : 536, this.config.mssClamp);
    const limit = Math.min(peerMss, ours);
    let idx = 0;
    for (let i = 0; i < COOKIE_MSS.length; i++) if (COOKIE_MSS[i]! <= limit) idx = i;
    this.rekeyCookies(now);
    const counter = this.cookieGen;
    const isn =
      (((counter & 0x1f) << 27) |
        (idx << 24) |
        this.cookieHash(dst, seg.dstPort, src, seg.srcPort, seg.seq, counter)) >>>
      0;
    // No state is kept, so no options but the MSS (the cookie encodes it).
    const len = this.writer.syn(
      seg.dstPort,
      seg.srcPort,
      isn,
      (seg.seq + 1) >>> 0,
      true,
      Math.min(this.config.recvBuffer, 0xffff),
      ours,
      false,
      false,
      0,
      0,
      -1,
      this.family.pseudoSum(dst, src),
      key !== null,
    );
    if (key !== null) this.signReply(len, dst, src, key);
    l.synCookiesSent++;
    l.lastCookieAt = now;
    this.stats.synCookiesSent++;
    this.stats.segmentsOut++;
    this.sendSegment(len, dst, src, 0, this.config.ttl, now);
  }

  /** Signs a segment the engine built itself (a cookie SYN-ACK) from `src` to `dst`. */
  private signReply(len: number, src: A, dst: A, key: Uint8Array): void {
    this.family.md5Pseudo(this.md5Pseudo, src, dst, 0);
    this.writer.md5.sign(this.md5Pseudo, this.writer.buf, this.writer.tcpOff, len, key);
  }

  /** The MSS a valid cookie encodes, or 0. */
  private checkCookie(la: A, lp: number, ra: A, rp: number, seq: number, ack: number, now: number): number {
    const cookie = (ack - 1) >>> 0;
    const idx = (cookie >>> 24) & 7;
    if (idx >= COOKIE_MSS.length) return 0;
    this.rekeyCookies(now);
    const counter = this.cookieGen;
    const peerIsn = (seq - 1) >>> 0;
    for (let age = 0; age <= 1; age++) {
      const c = counter - age;
      if ((c & 0x1f) !== cookie >>> 27) continue;
      if (this.cookieHash(la, lp, ra, rp, peerIsn, c) === (cookie & 0xffffff)) return COOKIE_MSS[idx]!;
    }
    return 0;
  }

  /**
   * An ICMP (IPv4) error quoting one of our segments (quote = its IP header and at least 8 bytes):
   * parses the quote and hands the error on to packetTooBig or transportError. Only an IPv4
   * engine takes these; the IPv6 layer parses ICMPv6 errors itself and calls those two.
   */
  icmpError(
    type: number,
    code: number,
    restOfHeader: number,
    quote: Uint8Array,
    qOff: number,
    qLen: number,
    now: number,
  ): void {
    if (this.family.name !== 'ipv4' || qLen < 20) return;
    const ihl = (quote[qOff]! & 0x0f) * 4;
    if (ihl < 20 || qLen < ihl + 8 || quote[qOff + 9] !== 6) return;
    // The family is IPv4, so A is number.
    const src = rd32(quote, qOff + 12) as A;
    const dst = rd32(quote, qOff + 16) as A;
    const sport = rd16(quote, qOff + ihl);
    const dport = rd16(quote, qOff + ihl + 2);
    const seq = rd32(quote, qOff + ihl + 4);
    if (type === ICMP_DEST_UNREACHABLE && code === UNREACH_FRAG_NEEDED) {
      this.packetTooBig(src, sport, dst, dport, seq, restOfHeader & 0xffff, now);
      return;
    }
    const errno = icmpErrno(type, code);
    if (errno !== 0) this.transportError(src, sport, dst, dport, seq, errno, icmpIsHard(type, code), now);
  }

  /**
   * An error about one of our segments, from ICMP or ICMPv6 (RFC 4443 §3.1 destination
   * unreachable, §3.3 time exceeded, §3.4 parameter problem), already turned into an errno and
   * hard or soft (RFC 1122 §4.2.3.9; the socket layer's tables): `local`/`remote` and the ports
   * are those of the quoted segment (its source is us), `seq` its sequence number, which must be
   * in flight (RFC 5927 §4.1) or the error is ignored. A hard error ends a connection in SYN-SENT,
   * any other is kept as the soft error a timeout reports.
   */
  transportError(
    local: A,
    localPort: number,
    remote: A,
    remotePort: number,
    seq: number,
    errno: number,
    hard: boolean,
    now: number,
  ): void {
    const c = this.find(local, localPort, remote, remotePort);
    if (c !== null) c.softOrHardError(errno, hard, seq, now);
  }

  /**
   * A fragmentation-needed (RFC 1191) or Packet Too Big (RFC 4443 §3.2, RFC 8201) about one of
   * our segments, as for transportError, with the next-hop MTU it reports. The MSS shrinks to fit,
   * never below what the family's minimum MTU allows (IPv6: 1280).
   */
  packetTooBig(
    local: A,
    localPort: number,
    remote: A,
    remotePort: number,
    seq: number,
    mtu: number,
    now: number,
  ): void {
    const c = this.find(local, localPort, remote, remotePort);
    if (c !== null) c.pathMtu(mtu, seq, now);
  }

  // ---------------------------------------------------------------- user calls

  /** Active open; `md5Key`: the RFC 2385 key for the peer, from the first SYN on (null: none). */
  connect(
    localAddr: A,
    localPort: number,
    remoteAddr: A,
    remotePort: number,
    now: number,
    md5Key: Uint8Array | null = null,
  ): TcpConnection<A> | number {
    const fam = this.family;
    if (fam.isAny(remoteAddr) || remotePort === 0) return -EINVAL;
    if (this.env.mtuFor(remoteAddr) === 0) return -ENETUNREACH;
    let la = localAddr;
    if (fam.isAny(la)) {
      la = this.env.sourceFor(remoteAddr);
      if (fam.isAny(la)) return -ENETUNREACH;
    }
    let lp = localPort;
    if (lp === 0) {
      lp = this.ephemeralPort(la, remoteAddr, remotePort);
      if (lp < 0) return -EADDRNOTAVAIL;
    }
    const old = this.find(la, lp, remoteAddr, remotePort);
    if (old !== null) {
      // A TIME-WAIT 4-tuple may be reused: the clock-driven ISN starts above the old sequence space.
      if (old.st !== S_TIME_WAIT) return -EADDRNOTAVAIL;
      old.reap();
    }
    // The caller's arrays may be reused after the call (IPv6); the connection keeps copies.
    const c = new TcpConnection(this, this.config, fam.keep(la), lp, fam.keep(remoteAddr), remotePort);
    this.link(c);
    if (md5Key !== null) c.setMd5Key(md5Key);
    c.openActive(now);
    return c;
  }

  /** RFC 6056 Algorithm 4 (socket/ports.ts); a port is free when no listener or same 4-tuple has it. */
  private ephemeralPort(la: A, ra: A, rp: number): number {
    const sel = this.portSelector;
    const fam = this.family;
    // IPv6 addresses enter RFC 6056's F and G as keyed digests of all their bits.
    const k0 = this.tableKey0;
    const k1 = this.tableKey1;
    sel.begin(fam.digest(k0, k1, la), fam.digest(k0, k1, ra), rp);
    for (let i = 0; i < EPHEMERAL_SPAN; i++) {
      const p = sel.candidate(i);
      if (this.listeners.has(p)) continue;
      if (this.find(la, p, ra, rp) === null) {
        sel.commit(i);
        return p;
      }
    }
    return -1;
  }

  listen(localAddr: A, localPort: number, backlog: number): TcpListener<A> | number {
    if (localPort === 0) return -EINVAL;
    const fam = this.family;
    const ls = this.listeners.get(localPort) ?? [];
    for (const l of ls) {
      if (fam.isAny(l.localAddr) || fam.isAny(localAddr) || fam.equals(l.localAddr, localAddr))
        return -EADDRINUSE;
    }
    const l = new TcpListener(this, fam.keep(localAddr), localPort, backlog);
    ls.push(l);
    this.listeners.set(localPort, ls);
    return l;
  }

  closeListener(l: TcpListener<A>, now: number): void {
    if (l.closed) return;
    l.closed = true;
    const ls = this.listeners.get(l.localPort);
    if (ls !== undefined) {
      const i = ls.indexOf(l);
      if (i >= 0) ls.splice(i, 1);
      if (ls.length === 0) this.listeners.delete(l.localPort);
    }
    for (const c of [...l.embryos]) c.abort(now);
    l.embryos.clear();
    for (const c of l.acceptQueue) {
      c.listener = null;
      c.abort(now);
    }
    l.acceptQueue.length = 0;
    this.env.notify(l);
  }

  /** Whether (addr, port) is taken, for bind(); reuseAddr lets TIME-WAIT connections be ignored. */
  portInUse(localAddr: A, localPort: number, reuseAddr: boolean): boolean {
    const fam = this.family;
    const anyLocal = fam.isAny(localAddr);
    const ls = this.listeners.get(localPort);
    if (ls !== undefined) {
      for (const l of ls)
        if (fam.isAny(l.localAddr) || anyLocal || fam.equals(l.localAddr, localAddr)) return true;
    }
    const m = this.table.get(localPort);
    if (m === undefined) return false;
    for (const head of m.values()) {
      for (let c: TcpConnection<A> | null = head; c !== null; c = c.nextInBucket) {
        if (!anyLocal && !fam.equals(c.localAddr, localAddr)) continue;
        if (reuseAddr && c.st === S_TIME_WAIT) continue;
        return true;
      }
    }
    return false;
  }

  /** Runs due timers; returns the next deadline (ms) or Infinity. */
  poll(now: number): number {
    let next = Number.POSITIVE_INFINITY;
    for (const c of this.all) {
      if (c.deadline() <= now) c.onTimer(now);
      if (c.st === S_CLOSED) continue;
      const d = c.deadline();
      if (d < next) next = d;
    }
    this.nextWake = next;
    return next;
  }

  *endpoints(): Iterable<TcpConnection<A> | TcpListener<A>> {
    for (const ls of this.listeners.values()) yield* ls;
    yield* this.all;
  }

  get connectionCount(): number {
    return this.all.size;
  }
}
