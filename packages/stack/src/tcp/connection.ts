// One TCP connection (RFC 9293): the state machine of §3.3.2 and the segment arrival rules of
// §3.10.7, the send and receive sequence spaces, and the decisions of what to send when (windows,
// Nagle, congestion control, loss recovery). It composes the parts that keep their own state:
//   states.ts      the state numbers and which states send or receive
//   segment.ts     SegmentWriter: where segments are built (shared transmit buffer, header offsets),
//                  and the SYN and reset segments (data segments: emit, for speed)
//   ooo.ts         OutOfOrderQueue: received ranges above RCV.NXT, and the SACK blocks for them
//   scoreboard.ts  SackScoreboard: what the peer SACKed; RFC 6675 IsLost, SetPipe, NextSeg
//   rtt.ts         RttEstimator: RFC 6298 SRTT/RTTVAR/RTO, Karn's rule, backoff
//   timers.ts      TcpTimers: the retransmission, delayed-ACK, keepalive and close deadlines
//   cc.ts          NewReno (RFC 6582) and CUBIC (RFC 9438) congestion control
// The hot path (input, output, emit) allocates nothing, creates no closures and throws nothing.
import {
  TCP_ACK,
  TCP_FIN,
  TCP_MIN_HEADER,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  type TcpHeader,
  writeTcpPseudo,
} from '@nexthop/wire';
import { EAGAIN, ECONNREFUSED, ECONNRESET, EMSGSIZE, ENOTCONN, EPIPE, ETIMEDOUT } from '../sockapi/errno.ts';
import { EV_ERROR, EV_HANGUP, EV_READABLE, EV_WRITABLE } from '../sockapi/types.ts';
import { type CongestionControl, type CongestionState, makeCongestionControl } from './cc.ts';
import type { TcpConfig } from './config.ts';
import type { TcpHost } from './host.ts';
import { TCP_MD5_OPTION_SPACE } from './md5sig.ts';
import { OutOfOrderQueue } from './ooo.ts';
import { type TcpOptions, writeMd5Option, writeNopNopTimestamp } from './options.ts';
import { ByteRing } from './ring.ts';
import { RttEstimator } from './rtt.ts';
import { DUP_THRESH, SackScoreboard } from './scoreboard.ts';
import type { SegmentWriter } from './segment.ts';
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin } from './seq.ts';
import {
  canSendData,
  receivesText,
  S_CLOSE_WAIT,
  S_CLOSED,
  S_CLOSING,
  S_ESTABLISHED,
  S_FIN_WAIT_1,
  S_FIN_WAIT_2,
  S_LAST_ACK,
  S_SYN_RECEIVED,
  S_SYN_SENT,
  S_TIME_WAIT,
  STATE_NAMES,
  sendsSegments,
} from './states.ts';
import { TcpTimers } from './timers.ts';

/** RFC 7323 §5.5: TS.Recent older than 24 days no longer rejects segments. */
const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;
const DEFAULT_MSS = 536;
const PERSIST_MAX_MS = 60_000;
/**
 * TSO aggregate bounds: at most this many IP bytes (Linux's GSO_LEGACY_MAX_SIZE less headroom), and
 * at most a quarter of cwnd (at least 2 MSS, as tcp_min_tso_segs) so that a window still leaves in
 * several bursts that ACKs can clock: a stand-in for tcp_tso_autosize's 1 ms of pacing rate.
 */
const TSO_MAX_BYTES = 65535 - 14;
const TSO_CWND_SHARE = 4;
const TSO_MIN_SEGMENTS = 2;

export interface TcpInfo {
  state: string;
  sendQueue: number;
  recvQueue: number;
  rttMs: number;
  rtoMs: number;
  cwnd: number;
  ssthresh: number;
  mss: number;
  retransmits: number;
  sndWnd: number;
  rcvWnd: number;
  congestion: string;
}

export class TcpConnection<A = number> implements CongestionState {
  readonly localAddr: A;
  readonly localPort: number;
  readonly remoteAddr: A;
  readonly remotePort: number;
  /**
   * The pseudo-header sum of every segment this connection sends (RFC 9293 §3.1, RFC 8200 §8.1),
   * without the length: computed once, since an IPv6 one costs 16 additions.
   */
  readonly pseudo: number;
  /** Bucket chain in the engine's demultiplexing table, and this connection's key there. */
  nextInBucket: TcpConnection<A> | null = null;
  bucketKey = 0;
  linked = false;
  /** Set while a passive connection is in its listener's SYN or accept queue. */
  listener: object | null = null;

  st = S_CLOSED;
  private readonly host: TcpHost<A>;
  private readonly cfg: TcpConfig;

  // Send sequence space (RFC 9293 §3.3.1).
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  /** Highest sequence number sent plus one (sndNxt goes back on a retransmission timeout). */
  sndMax = 0;
  sndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  private maxSndWnd = 0;
  /** Sequence number of the first byte in sendRing. */
  private ringBase = 0;
  private finQueued = false;
  private finSeq = 0;
  private finAcked = false;

  // Receive sequence space.
  irs = 0;
  rcvNxt = 0;
  /** Right edge of the window last advertised; never moves left (RFC 9293 §3.8.6.2.2). */
  private rcvAdvEdge = 0;
  private rcvFin = false;
  private rcvFinPending = false;
  private rcvFinSeq = 0;
  private rcvShutdown = false;

  // Options negotiated on the handshake.
  private sndScale = 0;
  private rcvScale = 0;
  private wantScale = 0;
  private peerOfferedScale = false;
  tsOk = false;
  sackOk = false;
  private tsRecent = 0;
  private tsRecentAt = 0;
  private tsOffset = 0;
  /** When this connection last passed its challenge-ACK limit (RFC 5961 §7). */
  private lastChallengeAt = Number.NEGATIVE_INFINITY;
  private lastAckSent = 0;
  /** Peer's MSS and ours (from the route MTU); mss is what we send, before options. */
  private peerMss = DEFAULT_MSS;
  private pathMss = DEFAULT_MSS;
  /** A segment was refused with EMSGSIZE by the local interface; output() re-reads its MTU. */
  private localMtuExceeded = false;
  mss = DEFAULT_MSS;
  private advMss = DEFAULT_MSS;

  private readonly sendRing: ByteRing;
  private readonly recvRing: ByteRing;
  /** Where this connection's segments are built (the engine's transmit buffer and its offsets). */
  private readonly out: SegmentWriter;
  /** Received data above RCV.NXT (RFC 9293 §3.10.7.4 seventh; RFC 2018 §4). */
  private readonly ooo = new OutOfOrderQueue();
  /** What the peer SACKed above SND.UNA (RFC 6675 §4). */
  private readonly sb = new SackScoreboard();
  private readonly timers: TcpTimers;
  /** Zero-window probing (RFC 9293 §3.8.6.1) runs on the retransmission timer. */
  private persist = false;
  private probes = 0;
  private readonly rtt: RttEstimator;
  /** Retransmissions of the oldest segment without an acknowledgment of new data. */
  private retries = 0;
  private synSentAt = 0;

  // Congestion control and loss recovery.
  cwnd = 0;
  ssthresh = 0x7fffffff;
  private cc: CongestionControl;
  private dupAcks = 0;
  private inRecovery = false;
  private recover = 0;
  private highRxt = 0;

  // Delayed ACKs.
  private ackNow = false;
  private unackedSegs = 0;

  // Options.
  nodelay = false;
  keepAlive = false;
  keepIdle: number;
  keepInterval: number;
  keepCount: number;
  private keepProbes = 0;
  private lastRecvAt = 0;
  ttl: number;
  tos = 0;
  /**
   * RFC 5082 (GTSM): segments arriving with a lower TTL (IPv4) or hop limit (IPv6) are dropped
   * (IP_MINTTL, IPV6_MINHOPCOUNT); 0: none. Checked by the engine.
   */
  minTtl = 0;
  /** RFC 2385: the key every segment is signed and checked with (setMd5Key); null: unsigned. */
  md5Key: Uint8Array | null = null;
  /** The signature's pseudo-header of what this connection sends (its length set per segment). */
  private md5Pseudo: Uint8Array | null = null;
  /** Option bytes every non-SYN segment carries: timestamps (12), the signature (20). */
  private fixedOptions = 0;
  /** SACK blocks that fit in the 40 option bytes beside them (4; 3 with timestamps; 2 with a signature). */
  private maxSackBlocks = 4;

  private error = 0;
  private softError = 0;
  private wasConnected = false;
  userClosed = false;
  retransmits = 0;

  constructor(
    host: TcpHost<A>,
    cfg: TcpConfig,
    localAddr: A,
    localPort: number,
    remoteAddr: A,
    remotePort: number,
  ) {
    this.host = host;
    this.cfg = cfg;
    this.localAddr = localAddr;
    this.localPort = localPort;
    this.remoteAddr = remoteAddr;
    this.remotePort = remotePort;
    this.pseudo = host.family.pseudoSum(localAddr, remoteAddr);
    this.sendRing = new ByteRing(cfg.sendBuffer);
    this.recvRing = new ByteRing(cfg.recvBuffer);
    this.out = host.writer;
    this.timers = new TcpTimers(host);
    this.rtt = new RttEstimator(cfg.rtoInitial, cfg.rtoMin, cfg.rtoMax);
    this.keepIdle = cfg.keepIdle;
    this.keepInterval = cfg.keepInterval;
    this.keepCount = cfg.keepCount;
    this.ttl = cfg.ttl;
    this.cc = makeCongestionControl(cfg.congestion) ?? makeCongestionControl('cubic')!;
  }

  get state(): string {
    return STATE_NAMES[this.st]!;
  }

  /** Smoothed RTT (ms), as congestion control reads it. */
  get srtt(): number {
    return this.rtt.srtt;
  }

  // ---------------------------------------------------------------- opening

  private initSend(now: number): void {
    this.iss = this.host.isn(this.localAddr, this.localPort, this.remoteAddr, this.remotePort, now);
    this.sndUna = this.iss;
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndMax = this.sndNxt;
    this.ringBase = this.sndNxt;
    this.recover = this.iss;
    this.highRxt = this.iss;
    this.tsOffset = this.host.tsOffset(this.localAddr, this.localPort, this.remoteAddr, this.remotePort);
    const mtu = this.host.mtuFor(this.remoteAddr);
    const headers = this.out.headers;
    this.pathMss = Math.min(mtu > headers ? mtu - headers : DEFAULT_MSS, this.cfg.mssClamp);
    this.advMss = this.pathMss;
    this.mss = Math.min(this.pathMss, DEFAULT_MSS);
    let scale = 0;
    while (scale < 14 && this.recvRing.limit >>> scale > 0xffff) scale++;
    this.wantScale = this.cfg.windowScaling ? scale : 0;
    this.synSentAt = now;
  }

  /** Active open (RFC 9293 §3.10.1). */
  openActive(now: number): void {
    this.initSend(now);
    this.st = S_SYN_SENT;
    this.emitSyn(false, now);
    this.armRto(now);
  }

  /** Passive open from a SYN a listener accepted (RFC 9293 §3.10.7.2). */
  openPassive(seg: TcpHeader, o: TcpOptions, now: number): void {
    this.initSend(now);
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.rcvAdvEdge = this.rcvNxt;
    this.negotiate(o, now, true);
    this.sndWnd = seg.window;
    this.maxSndWnd = seg.window;
    this.sndWl1 = seg.seq;
    this.st = S_SYN_RECEIVED;
    this.lastRecvAt = now;
    this.emitSyn(true, now);
    this.armRto(now);
  }

  /** A connection rebuilt from a valid SYN cookie: no window scaling, timestamps or SACK. */
  openFromCookie(seg: TcpHeader, peerMss: number, now: number): void {
    this.initSend(now);
    this.iss = seqAdd(seg.ack, -1);
    this.sndUna = seg.ack;
    this.sndNxt = seg.ack;
    this.sndMax = seg.ack;
    this.ringBase = seg.ack;
    this.recover = this.iss;
    this.highRxt = seg.ack;
    this.irs = seqAdd(seg.seq, -1);
    this.rcvNxt = seg.seq;
    this.rcvAdvEdge = seqAdd(seg.seq, Math.min(this.recvRing.limit, 0xffff));
    this.wantScale = 0;
    this.peerMss = peerMss;
    this.mss = Math.min(this.peerMss, this.pathMss);
    this.sndWnd = seg.window;
    this.maxSndWnd = seg.window;
    this.sndWl1 = seg.seq;
    this.sndWl2 = seg.ack;
    this.updateOptionSpace();
    this.initWindow();
    this.st = S_ESTABLISHED;
    this.wasConnected = true;
    this.lastRecvAt = now;
  }

  /** `passive`: the options of a SYN we answer with a SYN-ACK; else of the SYN-ACK (or SYN) answering ours. */
  private negotiate(o: TcpOptions, now: number, passive: boolean): void {
    this.peerMss = o.mss > 0 ? o.mss : DEFAULT_MSS;
    this.mss = Math.max(Math.min(this.peerMss, this.pathMss), 64);
    this.peerOfferedScale = this.cfg.windowScaling && o.wscale >= 0;
    if (this.peerOfferedScale) {
      this.sndScale = o.wscale;
      this.rcvScale = this.wantScale;
    } else {
      this.sndScale = 0;
      this.rcvScale = 0;
      this.wantScale = 0;
    }
    this.sackOk = this.cfg.sack && o.sackPermitted;
    // A signature takes 20 of the 40 option bytes. As Linux: our SYN offers no timestamps then
    // (tcp_syn_options), and a SYN-ACK drops them rather than SACK (tcp_synack_options).
    const md5 = this.md5Key !== null;
    this.tsOk = this.cfg.timestamps && o.hasTimestamp && !(md5 && (!passive || this.sackOk));
    if (this.tsOk) {
      this.tsRecent = o.tsVal;
      this.tsRecentAt = now;
    }
    this.updateOptionSpace();
    this.initWindow();
  }

  private initWindow(): void {
    // RFC 5681 §3.1 / RFC 6928: initial window of 10 segments (Linux's IW10).
    this.cwnd = 10 * this.effMss();
    this.ssthresh = 0x7fffffff;
  }

  /** Payload bytes per full segment: MSS less the options every segment carries. */
  effMss(): number {
    return this.mss - this.fixedOptions;
  }

  private updateOptionSpace(): void {
    this.fixedOptions = (this.tsOk ? 12 : 0) + (this.md5Key !== null ? TCP_MD5_OPTION_SPACE : 0);
    // RFC 2018 §3: a SACK option of n blocks takes 2 + 8n bytes (4 + 8n aligned); Linux's rule.
    const room = 40 - this.fixedOptions;
    this.maxSackBlocks = room >= 12 ? Math.min(4, (room - 4) >>> 3) : 0;
  }

  /**
   * RFC 2385: signs and checks every segment with `key` from now on (null: none). Set before the
   * first segment (connect, or a listener's key for the peer), or while the SYN is unanswered.
   */
  setMd5Key(key: Uint8Array | null): void {
    this.md5Key = key;
    if (key === null) this.md5Pseudo = null;
    else if (this.md5Pseudo === null) {
      const fam = this.host.family;
      this.md5Pseudo = new Uint8Array(fam.name === 'ipv4' ? 12 : 40);
      fam.md5Pseudo(this.md5Pseudo, this.localAddr, this.remoteAddr, 0);
    }
    this.updateOptionSpace();
  }

  // ---------------------------------------------------------------- segment output

  private windowField(syn: boolean): number {
    const free = this.recvRing.free;
    if (syn) return Math.min(free, 0xffff);
    let edge = seqAdd(this.rcvNxt, free);
    // Receiver side silly-window avoidance (RFC 9293 §3.8.6.2.2): move the edge only by a useful step.
    const step = Math.min(this.recvRing.limit >>> 1, this.advMss);
    if (seqGt(edge, this.rcvAdvEdge) && seqDiff(edge, this.rcvAdvEdge) < step) edge = this.rcvAdvEdge;
    let wnd = seqDiff(edge, this.rcvNxt);
    if (wnd < 0) wnd = 0;
    let field = wnd >>> this.rcvScale;
    if (field > 0xffff) field = 0xffff;
    const adv = seqAdd(this.rcvNxt, field << this.rcvScale);
    if (seqGt(adv, this.rcvAdvEdge)) this.rcvAdvEdge = adv;
    return field;
  }

  private sackBlockCount(): number {
    if (!this.sackOk || this.ooo.count === 0) return 0;
    return Math.min(this.ooo.count, this.maxSackBlocks);
  }

  /** Bytes of options a non-SYN segment carries now. */
  private optionBytes(): number {
    return this.fixedOptions + this.sackOptionBytes();
  }

  /** Bytes of the SACK option a non-SYN segment carries now. */
  private sackOptionBytes(): number {
    const n = this.sackBlockCount();
    return n > 0 ? 4 + 8 * n : 0;
  }

  private emitSyn(withAck: boolean, now: number): void {
    // Options on a SYN-ACK only when the SYN offered them (RFC 7323 §1.3, RFC 2018 §2). With a
    // signature, no timestamps on our SYN (negotiate).
    const ws = withAck ? this.peerOfferedScale : this.cfg.windowScaling;
    const md5 = this.md5Key !== null;
    const len = this.out.syn(
      this.localPort,
      this.remotePort,
      this.iss,
      this.rcvNxt,
      withAck,
      this.windowField(true),
      this.advMss,
      withAck ? this.sackOk : this.cfg.sack,
      withAck ? this.tsOk : this.cfg.timestamps && !md5,
      (now + this.tsOffset) >>> 0,
      withAck ? this.tsRecent : 0,
      ws ? this.wantScale : -1,
      this.pseudo,
      md5,
    );
    if (withAck) {
      this.lastAckSent = this.rcvNxt;
      this.rcvAdvEdge = seqAdd(this.rcvNxt, Math.min(this.recvRing.free, 0xffff));
    }
    this.transmit(len, now);
  }

  /** `segments`: how many segments leave on the wire (an aggregate is cut into several). */
  private transmit(tcpLen: number, now: number, segmentSize = 0, segments = 1): void {
    // RFC 2385: every segment of a keyed connection is built with room for the digest, first.
    const key = this.md5Key;
    if (key !== null) this.out.md5.sign(this.md5Pseudo!, this.out.buf, this.out.tcpOff, tcpLen, key);
    this.host.stats.segmentsOut += segments;
    const r = this.host.sendSegment(
      tcpLen,
      this.localAddr,
      this.remoteAddr,
      this.tos,
      this.ttl,
      now,
      segmentSize,
    );
    if (r < 0) {
      this.softError = -r;
      // The egress interface's MTU is now below our segments (it shrank after the handshake).
      if (r === -EMSGSIZE) this.localMtuExceeded = true;
    }
  }

  /**
   * Sends one segment; data comes from the send ring at `seq`. With `segmentSize` > 0 it is an
   * aggregate of dataLen / segmentSize segments (rounded up) that the link cuts (TSO). Built here,
   * in the writer's buffer after its headers, rather than by a SegmentWriter method: this is the
   * data path, and the extra 17-argument call measured 2-3% of a round trip.
   */
  private emit(seq: number, flags: number, dataLen: number, now: number, segmentSize = 0): void {
    const rst = (flags & TCP_RST) !== 0;
    const w = this.out;
    const b = w.buf;
    const tcpOff = w.tcpOff;
    let p = tcpOff + TCP_MIN_HEADER;
    if (this.md5Key !== null) p += writeMd5Option(b, p);
    if (this.tsOk && !rst) p += writeNopNopTimestamp(b, p, (now + this.tsOffset) >>> 0, this.tsRecent);
    if (!rst) {
      const n = this.sackBlockCount();
      if (n > 0) p += this.ooo.writeSackOption(b, p, n);
    }
    const hl = p - tcpOff;
    if (dataLen > 0) this.sendRing.peek(seqDiff(seq, this.ringBase), b, p, dataLen);
    const wnd = rst ? 0 : this.windowField(false);
    const len = writeTcpPseudo(
      b,
      tcpOff,
      this.localPort,
      this.remotePort,
      seq,
      (flags & TCP_ACK) !== 0 ? this.rcvNxt : 0,
      flags,
      wnd,
      hl,
      dataLen,
      this.pseudo,
      segmentSize === 0,
    );
    if ((flags & TCP_ACK) !== 0) {
      this.lastAckSent = this.rcvNxt;
      this.ackNow = false;
      this.unackedSegs = 0;
      this.timers.delackAt = Number.POSITIVE_INFINITY;
    }
    this.transmit(len, now, segmentSize, segmentSize > 0 ? Math.ceil(dataLen / segmentSize) : 1);
  }

  private sendAck(now: number): void {
    this.emit(this.sndNxt, TCP_ACK, 0, now);
  }

  private sendReset(seq: number, now: number): void {
    this.host.stats.resetsSent++;
    this.emit(seq, TCP_RST, 0, now);
  }

  /**
   * RFC 5961 §7: challenge ACKs are rate limited, first per connection (at most one per
   * `challengeAckInterval`, as Linux's per-socket tcp_invalid_ratelimit), so that a flood of
   * forged RSTs/SYNs/ACKs aimed at one connection neither turns it into a reflector nor drains the
   * budget of the others; then by the engine's randomised budget per second (allowChallengeAck,
   * against the CVE-2016-5696 side channel).
   */
  private challengeAck(now: number): void {
    if (now - this.lastChallengeAt < this.cfg.challengeAckInterval) {
      this.host.stats.challengeAcksSuppressed++;
      return;
    }
    this.lastChallengeAt = now;
    if (this.host.allowChallengeAck(now)) {
      this.host.stats.challengeAcks++;
      this.sendAck(now);
    } else this.host.stats.challengeAcksSuppressed++;
  }

  // ---------------------------------------------------------------- timers

  private armRto(now: number): void {
    this.timers.armRto(now + this.rtt.current());
  }

  private armKeepalive(now: number): void {
    if (!this.keepAlive) {
      this.timers.keepAt = Number.POSITIVE_INFINITY;
      return;
    }
    this.timers.armKeepalive(
      this.keepProbes === 0 ? this.lastRecvAt + this.keepIdle * 1000 : now + this.keepInterval * 1000,
    );
  }

  deadline(): number {
    return this.timers.deadline();
  }

  onTimer(now: number): void {
    const t = this.timers;
    if (t.closeAt <= now) {
      // TIME-WAIT or an orphan's FIN-WAIT-2 ran out.
      t.closeAt = Number.POSITIVE_INFINITY;
      this.toClosed(now);
      return;
    }
    if (t.rtoAt <= now) {
      t.rtoAt = Number.POSITIVE_INFINITY;
      this.onRetransmitTimer(now);
      if (this.st === S_CLOSED) return;
    }
    if (t.delackAt <= now) {
      t.delackAt = Number.POSITIVE_INFINITY;
      if (this.st >= S_ESTABLISHED) this.sendAck(now);
    }
    if (t.keepAt <= now) {
      t.keepAt = Number.POSITIVE_INFINITY;
      this.onKeepalive(now);
    }
  }

  private onRetransmitTimer(now: number): void {
    const stats = this.host.stats;
    if (this.st === S_SYN_SENT || this.st === S_SYN_RECEIVED) {
      this.retries++;
      const limit = this.st === S_SYN_SENT ? this.cfg.synRetries : this.cfg.synAckRetries;
      if (this.retries > limit) {
        if (this.st === S_SYN_RECEIVED && this.listener !== null) this.dropEmbryo();
        else this.fail(this.softError !== 0 ? this.softError : ETIMEDOUT, now);
        return;
      }
      this.rtt.backoff++;
      this.rtt.timing = false;
      stats.retransmits++;
      this.retransmits++;
      this.emitSyn(this.st === S_SYN_RECEIVED, now);
      this.armRto(now);
      return;
    }
    if (this.persist) {
      this.sendWindowProbe(now);
      return;
    }
    if (this.sndUna === this.sndMax) return;
    this.retries++;
    if (this.retries > this.cfg.maxRetries) {
      this.fail(this.softError !== 0 ? this.softError : ETIMEDOUT, now);
      return;
    }
    stats.timeouts++;
    // RFC 5681 §3.1 eq. 4 and RFC 6298 §5.5-5.7: shrink to one segment, back off, go back to SND.UNA.
    this.ssthresh = this.cc.onTimeout(this, this.flight(), now);
    this.cwnd = this.effMss();
    this.inRecovery = false;
    this.dupAcks = 0;
    this.recover = this.sndMax;
    this.highRxt = this.sndUna;
    this.sndNxt = this.sndUna;
    this.rtt.timing = false;
    this.rtt.backoff++;
    // A receiver may renege on SACKed data (RFC 2018 §8); after repeated timeouts forget the scoreboard.
    if (this.rtt.backoff >= 2) this.sb.clear();
    this.output(now);
    if (this.timers.rtoAt === Number.POSITIVE_INFINITY) this.armRto(now);
  }

  /** RFC 9293 §3.8.6.1: probe a zero window with one byte beyond it, backing off. */
  private sendWindowProbe(now: number): void {
    const avail = seqDiff(seqAdd(this.ringBase, this.sendRing.length), this.sndUna);
    if (this.sndWnd !== 0 || (avail <= 0 && !this.finQueued)) {
      this.persist = false;
      this.output(now);
      return;
    }
    this.probes++;
    if (this.probes > this.cfg.maxRetries) {
      this.fail(ETIMEDOUT, now);
      return;
    }
    if (avail > 0) {
      this.emit(this.sndUna, TCP_ACK, 1, now);
      if (seqLt(this.sndMax, seqAdd(this.sndUna, 1))) this.sndMax = seqAdd(this.sndUna, 1);
    } else this.emit(this.sndUna, TCP_ACK | TCP_FIN, 0, now);
    this.timers.armRto(now + Math.min(this.rtt.current() * 2 ** Math.min(this.probes, 10), PERSIST_MAX_MS));
  }

  private onKeepalive(now: number): void {
    if (!this.keepAlive || (this.st !== S_ESTABLISHED && this.st !== S_CLOSE_WAIT)) return;
    const idle = now - this.lastRecvAt;
    if (this.keepProbes === 0 && idle < this.keepIdle * 1000) {
      this.armKeepalive(now);
      return;
    }
    if (this.sndUna !== this.sndMax) {
      // Data outstanding: the retransmission timer watches the peer.
      this.keepProbes = 0;
      this.timers.armKeepalive(now + this.keepIdle * 1000);
      return;
    }
    if (this.keepProbes >= this.keepCount) {
      this.fail(ETIMEDOUT, now);
      return;
    }
    // RFC 9293 §3.8.4: a segment with SEG.SEQ = SND.NXT - 1 draws an ACK.
    this.keepProbes++;
    this.emit(seqAdd(this.sndUna, -1), TCP_ACK, 0, now);
    this.armKeepalive(now);
  }

  // ---------------------------------------------------------------- teardown

  /** Ends the connection with an error the user will see. */
  private fail(errno: number, now: number): void {
    this.error = errno;
    this.toClosed(now);
  }

  private dropEmbryo(): void {
    this.st = S_CLOSED;
    this.timers.clear();
    this.host.embryoGone(this);
    this.host.unlink(this);
  }

  private toClosed(_now: number): void {
    if (this.st === S_SYN_RECEIVED && this.listener !== null) {
      this.dropEmbryo();
      return;
    }
    this.st = S_CLOSED;
    this.timers.clear();
    this.sendRing.release();
    if (this.userClosed) this.recvRing.release();
    this.host.unlink(this);
    this.host.notify(this);
  }

  private enterTimeWait(now: number): void {
    this.st = S_TIME_WAIT;
    this.timers.rtoAt = Number.POSITIVE_INFINITY;
    this.timers.keepAt = Number.POSITIVE_INFINITY;
    this.sendRing.release();
    this.timers.armClose(now + 2 * this.cfg.msl);
    this.host.notify(this);
  }

  /**
   * RFC 9293 §3.6.1 / RFC 6191: a SYN may reopen a TIME-WAIT 4-tuple when its sequence number
   * (or timestamp) is newer than anything of the old incarnation.
   */
  timeWaitAcceptsSyn(seg: TcpHeader, o: TcpOptions): boolean {
    if (this.tsOk && o.hasTimestamp) return seqGt(o.tsVal, this.tsRecent);
    return seqGt(seg.seq, this.rcvNxt);
  }

  /** Removes a TIME-WAIT entry for reuse of its 4-tuple. */
  reap(): void {
    this.st = S_CLOSED;
    this.timers.clear();
    this.host.unlink(this);
  }

  // ---------------------------------------------------------------- segment arrival

  input(seg: TcpHeader, o: TcpOptions, buf: Uint8Array, now: number): void {
    this.host.stats.segmentsIn++;
    if (this.st === S_SYN_SENT) this.inputSynSent(seg, o, now);
    else if (this.st !== S_CLOSED) this.inputSynchronized(seg, o, buf, now);
    if (this.st !== S_CLOSED) {
      this.output(now);
      if (this.ackNow) this.sendAck(now);
    }
    this.host.notify(this);
  }

  /** RFC 9293 §3.10.7.3 with RFC 5961 §3 for the reset. */
  private inputSynSent(seg: TcpHeader, o: TcpOptions, now: number): void {
    const f = seg.flags;
    if ((f & TCP_ACK) !== 0 && (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndMax))) {
      if ((f & TCP_RST) === 0) {
        this.host.stats.resetsSent++;
        this.emitBareReset(seg.ack, now);
      }
      return;
    }
    if ((f & TCP_RST) !== 0) {
      if ((f & TCP_ACK) !== 0) {
        this.host.stats.resetsReceived++;
        this.fail(ECONNREFUSED, now);
      }
      return;
    }
    if ((f & TCP_SYN) === 0) return;
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.rcvAdvEdge = this.rcvNxt;
    this.negotiate(o, now, false);
    this.lastRecvAt = now;
    if ((f & TCP_ACK) !== 0) {
      this.sndUna = seg.ack;
      this.sndWnd = seg.window;
      this.maxSndWnd = seg.window;
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      this.timers.rtoAt = Number.POSITIVE_INFINITY;
      if (this.rtt.backoff === 0) this.rtt.sample(now - this.synSentAt);
      this.rtt.backoff = 0;
      this.retries = 0;
      this.st = S_ESTABLISHED;
      this.wasConnected = true;
      this.ackNow = true;
      this.armKeepalive(now);
    } else {
      // Simultaneous open (RFC 9293 §3.5, figure 8).
      this.st = S_SYN_RECEIVED;
      this.sndWnd = seg.window;
      this.maxSndWnd = seg.window;
      this.sndWl1 = seg.seq;
      this.emitSyn(true, now);
      this.armRto(now);
    }
  }

  /** A reset for a segment that had no ACK of ours (SEQ = SEG.ACK, no options). */
  private emitBareReset(seq: number, now: number): void {
    this.transmit(
      this.out.reset(this.localPort, this.remotePort, seq, this.pseudo, this.md5Key !== null),
      now,
    );
  }

  private rcvWindow(): number {
    const w = seqDiff(this.rcvAdvEdge, this.rcvNxt);
    return Math.max(w, 0);
  }

  private inWindow(seq: number, wnd: number): boolean {
    return seqLe(this.rcvNxt, seq) && seqLt(seq, seqAdd(this.rcvNxt, wnd));
  }

  /** RFC 9293 §3.10.7.4, with RFC 7323 (PAWS) and RFC 5961 (blind attacks). */
  private inputSynchronized(seg: TcpHeader, o: TcpOptions, buf: Uint8Array, now: number): void {
    const f = seg.flags;
    const stats = this.host.stats;
    const isRst = (f & TCP_RST) !== 0;
    let syn = (f & TCP_SYN) !== 0;
    let fin = (f & TCP_FIN) !== 0;
    let seq = seg.seq;
    let dataOff = seg.dataOffset;
    let dataLen = seg.dataLength;

    // RFC 7323 §5.3: PAWS.
    if (this.tsOk && o.hasTimestamp && !isRst && seqLt(o.tsVal, this.tsRecent)) {
      if (now - this.tsRecentAt <= PAWS_IDLE_MS) {
        stats.pawsRejected++;
        this.ackNow = true;
        return;
      }
    }

    // Simultaneous open: the peer's SYN-ACK repeats its SYN (already counted) and ACKs ours; take it as
    // the ACK that completes the handshake, as Linux does, rather than wait for a bare ACK.
    if (
      this.st === S_SYN_RECEIVED &&
      syn &&
      (f & TCP_ACK) !== 0 &&
      seq === this.irs &&
      this.listener === null &&
      seqLt(this.sndUna, seg.ack) &&
      seqLe(seg.ack, this.sndMax)
    ) {
      syn = false;
      seq = seqAdd(seq, 1);
      this.ackNow = true;
    }

    // First: is the segment acceptable?
    const segLen = dataLen + (syn ? 1 : 0) + (fin ? 1 : 0);
    const wnd = this.rcvWindow();
    let ok: boolean;
    if (segLen === 0) ok = wnd === 0 ? seq === this.rcvNxt : this.inWindow(seq, wnd);
    else ok = wnd !== 0 && (this.inWindow(seq, wnd) || this.inWindow(seqAdd(seq, segLen - 1), wnd));
    if (!ok && wnd === 0 && seq === this.rcvNxt && !syn) {
      // RFC 9293 §3.10.7.4: a zero window still takes ACKs; the text is dropped and ACKed.
      ok = true;
      dataLen = 0;
      fin = false;
      this.ackNow = true;
    }
    if (!ok) {
      if (isRst) return;
      if (this.st === S_SYN_RECEIVED && syn && (f & TCP_ACK) === 0 && seq === this.irs) {
        // The peer did not get our SYN-ACK: send it again.
        this.emitSyn(true, now);
        return;
      }
      if (syn) this.challengeAck(now);
      else this.ackNow = true;
      if (this.st === S_TIME_WAIT && fin) this.timers.armClose(now + 2 * this.cfg.msl);
      return;
    }
    this.lastRecvAt = now;
    this.keepProbes = 0;

    // RFC 7323 §4.3: remember the timestamp to echo.
    if (this.tsOk && o.hasTimestamp && seqGe(o.tsVal, this.tsRecent) && seqLe(seq, this.lastAckSent)) {
      this.tsRecent = o.tsVal;
      this.tsRecentAt = now;
    }

    // Trim to the window.
    if (seqLt(seq, this.rcvNxt)) {
      if (syn) {
        syn = false;
        seq = seqAdd(seq, 1);
      }
      const d = seqDiff(this.rcvNxt, seq);
      if (d >= dataLen) {
        if (d > dataLen) fin = false;
        dataOff += dataLen;
        dataLen = 0;
      } else {
        dataOff += d;
        dataLen -= d;
      }
      seq = this.rcvNxt;
    }
    const edge = seqMin(seqAdd(this.rcvNxt, wnd), seqAdd(this.rcvNxt, this.recvRing.free));
    if (seqGt(seqAdd(seq, dataLen), edge)) {
      dataLen = Math.max(seqDiff(edge, seq), 0);
      fin = false;
    }

    // Second: RST (RFC 5961 §3.2: only an exact match resets, others draw a challenge ACK).
    if (isRst) {
      if (seg.seq === this.rcvNxt) {
        stats.resetsReceived++;
        this.onReset(now);
      } else this.challengeAck(now);
      return;
    }

    // Fourth: SYN (RFC 5961 §4: challenge ACK whatever the sequence number).
    if (syn) {
      this.challengeAck(now);
      return;
    }

    // Fifth: ACK.
    if ((f & TCP_ACK) === 0) return;
    if (this.st === S_SYN_RECEIVED) {
      if (seqLt(this.sndUna, seg.ack) && seqLe(seg.ack, this.sndMax)) {
        if (this.listener !== null && !this.host.established(this)) {
          // Accept queue full: stay in SYN-RECEIVED, the SYN-ACK retransmission will try again.
          return;
        }
        this.st = S_ESTABLISHED;
        this.wasConnected = true;
        this.sndWnd = seg.window << this.sndScale;
        this.maxSndWnd = this.sndWnd;
        this.sndWl1 = seg.seq;
        this.sndWl2 = seg.ack;
        if (this.rtt.backoff === 0 && !this.tsOk) this.rtt.sample(now - this.synSentAt);
        this.armKeepalive(now);
      } else {
        stats.resetsSent++;
        this.emitBareReset(seg.ack, now);
        return;
      }
    }
    // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT].
    if (seqGt(seg.ack, this.sndMax) || seqLt(seg.ack, seqAdd(this.sndUna, -this.maxSndWnd))) {
      this.challengeAck(now);
      return;
    }
    this.processAck(seg, o, dataLen, fin, now);
    if (this.st === S_CLOSED || this.st === S_TIME_WAIT) {
      if (this.st === S_TIME_WAIT && fin) this.ackNow = true;
      return;
    }

    // Seventh: segment text.
    if (dataLen > 0 && receivesText(this.st)) {
      if (this.userClosed) {
        // Data for a socket nobody will read again (Linux, RFC 2525 §2.17): reset.
        this.sendReset(this.sndNxt, now);
        this.toClosed(now);
        return;
      }
      this.receiveData(seq, buf, dataOff, dataLen, now);
    }

    // Eighth: FIN.
    if (fin && this.st !== S_CLOSE_WAIT && this.st !== S_CLOSING && this.st !== S_LAST_ACK) {
      const finAt = seqAdd(seq, dataLen);
      if (finAt === this.rcvNxt) this.onFin(now);
      else {
        this.rcvFinPending = true;
        this.rcvFinSeq = finAt;
        this.ackNow = true;
      }
    }
  }

  private onReset(now: number): void {
    switch (this.st) {
      case S_SYN_RECEIVED:
        if (this.listener !== null) this.dropEmbryo();
        else this.fail(ECONNREFUSED, now);
        return;
      case S_ESTABLISHED:
      case S_FIN_WAIT_1:
      case S_FIN_WAIT_2:
      case S_CLOSE_WAIT:
        this.fail(ECONNRESET, now);
        return;
      default:
        this.toClosed(now);
    }
  }

  private processAck(seg: TcpHeader, o: TcpOptions, dataLen: number, fin: boolean, now: number): void {
    const ack = seg.ack;
    const newWnd = seg.window << this.sndScale;
    const wndChanged = newWnd !== this.sndWnd;
    let sackNew = false;
    if (this.sackOk && o.sackCount > 0) sackNew = this.sb.update(o, this.sndUna, this.sndMax);

    // Window update (RFC 9293 §3.10.7.4, fifth, ESTABLISHED).
    if (
      seqLe(this.sndUna, ack) &&
      (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLe(this.sndWl2, ack)))
    ) {
      const wasZero = this.sndWnd === 0;
      this.sndWnd = newWnd;
      this.sndWl1 = seg.seq;
      this.sndWl2 = ack;
      if (newWnd > this.maxSndWnd) this.maxSndWnd = newWnd;
      if (wasZero && newWnd > 0 && this.persist) {
        this.persist = false;
        this.timers.rtoAt = Number.POSITIVE_INFINITY;
        this.probes = 0;
        this.sndNxt = this.sndUna;
      }
    }
    if (this.persist && this.sndWnd === 0) this.probes = 0;

    if (seqGt(ack, this.sndUna)) this.ackNewData(ack, o, now);
    else if (
      ack === this.sndUna &&
      this.sndMax !== this.sndUna &&
      dataLen === 0 &&
      !fin &&
      (!wndChanged || sackNew)
    ) {
      this.onDupAck(now, sackNew);
    }

    if (this.finQueued && this.finAcked) {
      if (this.st === S_FIN_WAIT_1) {
        this.st = S_FIN_WAIT_2;
        if (this.userClosed) this.timers.armClose(now + this.cfg.finWait2Timeout);
      } else if (this.st === S_CLOSING) this.enterTimeWait(now);
      else if (this.st === S_LAST_ACK) this.toClosed(now);
    }
  }

  private ackNewData(ack: number, o: TcpOptions, now: number): void {
    const acked = seqDiff(ack, this.sndUna);
    const ringEnd = seqAdd(this.ringBase, this.sendRing.length);
    const dataAcked = seqDiff(seqMin(ack, ringEnd), this.ringBase);
    if (dataAcked > 0) {
      this.sendRing.consume(dataAcked);
      this.ringBase = seqAdd(this.ringBase, dataAcked);
    }
    if (this.finQueued && seqGt(ack, this.finSeq)) this.finAcked = true;
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    if (seqLt(this.highRxt, ack)) this.highRxt = ack;
    this.sb.prune(this.sndUna);

    // RTT sample: timestamps (RFC 7323 §4.1) or one timed segment at a time (Karn's rule).
    if (this.tsOk && o.hasTimestamp && o.tsEcr !== 0) {
      const sample = seqDiff((now + this.tsOffset) >>> 0, o.tsEcr);
      if (sample >= 0 && sample < 600_000) this.rtt.sample(sample);
    } else if (this.rtt.timing && seqGt(ack, this.rtt.timedSeq)) {
      this.rtt.timing = false;
      this.rtt.sample(now - this.rtt.timedAt);
    }
    this.rtt.backoff = 0;
    this.retries = 0;

    if (this.inRecovery) {
      if (seqGe(ack, this.recover)) {
        // Full acknowledgment (RFC 6582 §3.2 step 3; RFC 6675 §5).
        this.inRecovery = false;
        const flight = seqDiff(this.sndMax, this.sndUna);
        this.cwnd = this.sackOk
          ? this.ssthresh
          : Math.min(this.ssthresh, Math.max(flight, this.effMss()) + this.effMss());
      } else if (!this.sackOk) {
        // Partial acknowledgment: retransmit the next hole, deflate (RFC 6582 §3.2 step 5).
        this.retransmitAt(this.sndUna, now);
        this.cwnd = Math.max(this.cwnd - acked + (acked >= this.effMss() ? this.effMss() : 0), this.effMss());
      }
    } else if (this.wasCwndLimited(acked)) this.cc.onAck(this, acked, now);
    this.dupAcks = 0;

    if (this.sndUna === this.sndMax) {
      this.timers.rtoAt = Number.POSITIVE_INFINITY;
      this.persist = false;
    } else if (!this.persist) this.armRto(now);
  }

  private onDupAck(now: number, sackNew: boolean): void {
    this.dupAcks++;
    const mss = this.effMss();
    if (this.sackOk) {
      if (
        !this.inRecovery &&
        (this.dupAcks >= DUP_THRESH || (sackNew && seqLt(this.sndUna, this.sb.lostEdge(this.sndUna, mss))))
      ) {
        if (!seqGt(this.sndUna, this.recover) && this.recover !== this.iss) return;
        // RFC 6675 §5 steps (1)-(4).
        this.host.stats.sackRecoveries++;
        this.host.stats.fastRetransmits++;
        this.inRecovery = true;
        this.recover = this.sndMax;
        this.ssthresh = this.cc.onCongestion(
          this,
          this.sb.pipe(this.sndUna, this.sndMax, this.highRxt, mss),
          now,
        );
        this.cwnd = this.ssthresh;
        this.highRxt = this.sndUna;
        // The first lost segment goes out regardless of pipe (§5 step 4.1).
        const end = this.retransmitAt(this.sndUna, now);
        this.highRxt = end;
        this.armRto(now);
      }
      return;
    }
    if (!this.inRecovery && this.dupAcks === DUP_THRESH) {
      // RFC 6582 §3.2 step 2: only when the ACK covers more than recover.
      if (!seqGt(this.sndUna, this.recover) && this.recover !== this.iss) return;
      this.host.stats.fastRetransmits++;
      this.inRecovery = true;
      this.recover = this.sndMax;
      this.ssthresh = this.cc.onCongestion(this, this.flight(), now);
      this.retransmitAt(this.sndUna, now);
      this.cwnd = this.ssthresh + DUP_THRESH * mss;
      this.armRto(now);
    } else if (this.inRecovery) this.cwnd += mss;
  }

  /**
   * RFC 7661 §4: the window grows only while the sender is using it. An application or receive
   * window that holds the sender back would otherwise let cwnd climb without bound and release one
   * huge burst later. Slow start may still double a window half used, as Linux allows.
   */
  private wasCwndLimited(acked: number): boolean {
    const inFlightBefore = this.flight() + acked;
    if (this.cwnd < this.ssthresh) return 2 * inFlightBefore >= this.cwnd;
    return inFlightBefore + this.effMss() >= this.cwnd;
  }

  private flight(): number {
    return seqDiff(this.sndNxt, this.sndUna);
  }

  /** Retransmits one segment at seq (no further than the next SACKed block); returns its end. */
  private retransmitAt(seq: number, now: number): number {
    let max = this.effMss() - this.sackOptionBytes();
    const nextSacked = this.sb.nextSackedStart(seq);
    if (nextSacked !== -1) max = Math.min(max, seqDiff(nextSacked, seq));
    const ringEnd = seqAdd(this.ringBase, this.sendRing.length);
    let len = Math.min(max, seqDiff(ringEnd, seq));
    if (len < 0) len = 0;
    const fin = this.finQueued && seqAdd(seq, len) === this.finSeq && seqGt(this.sndMax, this.finSeq);
    if (len === 0 && !fin) return seq;
    this.emit(seq, TCP_ACK | (fin ? TCP_FIN : 0), len, now);
    this.host.stats.retransmits++;
    this.retransmits++;
    return seqAdd(seq, len + (fin ? 1 : 0));
  }

  // ---------------------------------------------------------------- receive path

  private receiveData(seq: number, buf: Uint8Array, off: number, len: number, now: number): void {
    const ring = this.recvRing;
    const at = seqDiff(seq, this.rcvNxt);
    if (at === 0) {
      ring.writeAt(ring.length, buf, off, len);
      ring.commit(len);
      this.rcvNxt = seqAdd(this.rcvNxt, len);
      const hadHoles = this.ooo.count > 0;
      if (hadHoles) this.rcvNxt = this.ooo.merge(this.rcvNxt, ring);
      if (this.rcvFinPending && this.rcvFinSeq === this.rcvNxt) this.onFin(now);
      // RFC 5681 §4.2: ACK at once when filling a hole, else every second segment or on a timer.
      this.unackedSegs++;
      if (hadHoles || this.unackedSegs >= 2) this.ackNow = true;
      else this.timers.armDelack(now + this.cfg.delayedAck);
      return;
    }
    // Out of order: store in place, remember the range, and send a duplicate ACK with SACK now.
    const end = seqAdd(seq, len);
    if (!this.ooo.add(seq, end)) {
      this.host.stats.outOfOrderDropped++;
      this.ackNow = true;
      return;
    }
    ring.writeAt(ring.length + at, buf, off, len);
    this.ooo.latest = seq;
    this.ackNow = true;
  }

  private onFin(now: number): void {
    this.rcvFinPending = false;
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.rcvFin = true;
    this.ackNow = true;
    switch (this.st) {
      case S_SYN_RECEIVED:
      case S_ESTABLISHED:
        this.st = S_CLOSE_WAIT;
        break;
      case S_FIN_WAIT_1:
        if (this.finAcked) this.enterTimeWait(now);
        else this.st = S_CLOSING;
        break;
      case S_FIN_WAIT_2:
        this.enterTimeWait(now);
        break;
    }
  }

  // ---------------------------------------------------------------- sending

  /** Sends what the windows, Nagle and the state allow, then a pending ACK. */
  output(now: number): void {
    const st = this.st;
    if (!sendsSegments(st)) {
      if (this.ackNow && st >= S_ESTABLISHED) this.sendAck(now);
      return;
    }
    if (this.inRecovery && this.sackOk) this.sackRecoverySend(now);
    else this.sendNew(now);
    if (this.ackNow) this.sendAck(now);
    if (this.localMtuExceeded) {
      // RFC 1122 §3.3.3 / RFC 1191 §3: the first hop's MTU bounds the path MTU. Learn it as a
      // fragmentation-needed from ourselves would tell it: shrink the MSS and resend what failed.
      this.localMtuExceeded = false;
      const mtu = this.host.mtuFor(this.remoteAddr);
      if (mtu > 0) this.pathMtu(mtu, this.sndUna, now);
    }
  }

  private sendNew(now: number): void {
    const mssFull = this.effMss();
    // Each signed segment needs its own digest: no aggregates for the link to cut.
    const offload = this.md5Key === null ? this.host.segmentOffloadFor(this.remoteAddr) : 0;
    for (let guard = 0; guard < 1_000_000; guard++) {
      if (this.sb.count > 0) this.sndNxt = this.sb.skipSacked(this.sndNxt);
      const ringEnd = seqAdd(this.ringBase, this.sendRing.length);
      let avail = seqDiff(ringEnd, this.sndNxt);
      if (avail < 0) avail = 0;
      const wndEdge = seqAdd(this.sndUna, Math.min(this.sndWnd, this.cwnd));
      const usable = seqDiff(wndEdge, this.sndNxt);
      const maxSeg = mssFull - this.sackOptionBytes();
      const aggregateMax = offload > 0 ? this.aggregateLimit(offload, maxSeg) : maxSeg;
      let len = Math.min(avail, aggregateMax, Math.max(usable, 0));
      // An aggregate carries whole segments; a short tail goes on its own, under Nagle's rule.
      if (len > maxSeg) len -= len % maxSeg;
      const nextSacked = this.sb.count > 0 ? this.sb.nextSackedStart(this.sndNxt) : -1;
      if (nextSacked !== -1 && seqDiff(nextSacked, this.sndNxt) < len) len = seqDiff(nextSacked, this.sndNxt);
      const finHere =
        this.finQueued && !this.finAcked && len === avail && seqAdd(this.sndNxt, len) === this.finSeq;
      if (len <= 0 && !finHere) {
        if (avail > 0 && this.sndWnd === 0 && this.sndNxt === this.sndUna && !this.persist) {
          // RFC 9293 §3.8.6.1: zero window with data waiting: start the persist timer.
          this.persist = true;
          this.probes = 0;
          this.timers.armRto(now + Math.min(this.rtt.current(), PERSIST_MAX_MS));
        }
        return;
      }
      if (len < maxSeg && !finHere) {
        const flight = seqDiff(this.sndNxt, this.sndUna);
        if (len === avail) {
          // Nagle (RFC 9293 §3.7.4): one small segment outstanding at a time.
          if (!this.nodelay && flight > 0) return;
        } else if (flight > 0 && len < this.maxSndWnd >>> 1) return;
      }
      let flags = TCP_ACK;
      if (finHere) flags |= TCP_FIN;
      if (len > 0 && len === avail) flags |= TCP_PSH;
      const retransmission = seqLt(this.sndNxt, this.sndMax);
      this.emit(this.sndNxt, flags, len, now, len > maxSeg ? maxSeg : 0);
      if (retransmission) {
        this.host.stats.retransmits++;
        this.retransmits++;
      } else if (!this.rtt.timing && !this.tsOk && len > 0) {
        this.rtt.timing = true;
        this.rtt.timedSeq = this.sndNxt;
        this.rtt.timedAt = now;
      }
      this.sndNxt = seqAdd(this.sndNxt, len + (finHere ? 1 : 0));
      if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
      if (this.timers.rtoAt === Number.POSITIVE_INFINITY || this.persist) {
        this.persist = false;
        this.armRto(now);
      }
      if (finHere) return;
    }
  }

  /**
   * Payload of the largest aggregate sendNew may build now (a multiple of maxSeg): only for new
   * data in order, outside recovery and with no SACKed data ahead, so that every retransmission and
   * every recovery decision stays in MSS-sized segments (RFC 6675 counts pipe in bytes; these are
   * unchanged by how segments were grouped on the way out).
   */
  private aggregateLimit(offload: number, maxSeg: number): number {
    if (this.inRecovery || this.sb.count > 0 || this.sndNxt !== this.sndMax) return maxSeg;
    const headers = this.out.headers + this.optionBytes();
    const room = Math.min(offload, TSO_MAX_BYTES) - headers;
    const budget = Math.max(TSO_MIN_SEGMENTS * maxSeg, Math.floor(this.cwnd / TSO_CWND_SHARE));
    const segments = Math.floor(Math.min(room, budget) / maxSeg);
    return segments > 1 ? segments * maxSeg : maxSeg;
  }

  /** RFC 6675 §5 step (C): send while cwnd - pipe >= 1 SMSS, choosing segments by NextSeg. */
  private sackRecoverySend(now: number): void {
    const mss = this.effMss();
    const sb = this.sb;
    for (let guard = 0; guard < 100_000; guard++) {
      if (this.cwnd - sb.pipe(this.sndUna, this.sndMax, this.highRxt, mss) < mss) return;
      // NextSeg rule 1: the first lost, unSACKed, not yet retransmitted segment.
      const lostEdge = sb.lostEdge(this.sndUna, mss);
      const s = sb.skipSacked(seqMax(this.highRxt, this.sndUna));
      if (seqLt(s, lostEdge)) {
        const end = this.retransmitAt(s, now);
        if (end === s) return;
        this.highRxt = seqMin(end, this.sndMax);
        continue;
      }
      // Rule 2: new data the receiver's window allows.
      const ringEnd = seqAdd(this.ringBase, this.sendRing.length);
      const avail = seqDiff(ringEnd, this.sndMax);
      const usable = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndMax);
      const len = Math.min(avail, mss - this.sackOptionBytes(), usable);
      const finHere =
        this.finQueued &&
        !this.finAcked &&
        avail >= 0 &&
        len === avail &&
        seqAdd(this.sndMax, len) === this.finSeq;
      if (len <= 0 && !finHere) return;
      this.emit(this.sndMax, TCP_ACK | (finHere ? TCP_FIN : 0), Math.max(len, 0), now);
      this.sndMax = seqAdd(this.sndMax, Math.max(len, 0) + (finHere ? 1 : 0));
      this.sndNxt = this.sndMax;
      if (finHere) return;
    }
  }

  // ---------------------------------------------------------------- ICMP

  /**
   * RFC 1191 / RFC 5927, RFC 8201 for IPv6: a smaller path MTU; shrink the MSS and resend what is
   * in flight. The MTU is taken as at least the family's minimum (IPv6: 1280, RFC 8201 §4: a node
   * MUST NOT reduce its estimate below it; IPv4's 68 is under the MSS floor of 88 and changes
   * nothing), so a forged or broken Packet Too Big cannot make us send tiny segments.
   */
  pathMtu(nextHopMtu: number, seq: number, now: number): void {
    if (!seqLe(this.sndUna, seq) || !seqLt(seq, this.sndMax)) return;
    const mtu = Math.max(nextHopMtu, this.host.family.minMtu);
    const mss = Math.max(Math.min(mtu - this.out.headers, this.peerMss), 88);
    if (mss >= this.mss) return;
    this.mss = mss;
    this.pathMss = mss;
    if (this.cwnd < this.effMss()) this.cwnd = this.effMss();
    if (this.st >= S_ESTABLISHED) {
      this.sndNxt = this.sndUna;
      this.inRecovery = false;
      this.output(now);
    }
  }

  /**
   * An ICMP or ICMPv6 error for this connection (RFC 1122 §4.2.3.9, RFC 4443 §3.1/§3.3, RFC 5927):
   * a hard one ends a connection still in SYN-SENT, a soft one is kept for a timeout to report.
   */
  softOrHardError(errno: number, hard: boolean, seq: number, now: number): void {
    if (!seqLe(this.sndUna, seq) || !seqLt(seq, this.sndMax)) return;
    if (hard && this.st === S_SYN_SENT) {
      this.fail(errno, now);
      this.host.notify(this);
      return;
    }
    this.softError = errno;
  }

  // ---------------------------------------------------------------- user calls

  send(buf: Uint8Array, off: number, len: number, now: number): number {
    if (this.error !== 0) return -this.takeErrorRaw();
    if (this.finQueued || (this.st === S_CLOSED && this.wasConnected)) return -EPIPE;
    if (this.st === S_SYN_SENT || this.st === S_SYN_RECEIVED) return -EAGAIN;
    if (!canSendData(this.st)) return -ENOTCONN;
    if (len === 0) return 0;
    const n = this.sendRing.write(buf, off, len);
    if (n === 0) return -EAGAIN;
    this.output(now);
    return n;
  }

  recv(buf: Uint8Array, off: number, len: number, now: number): number {
    if (this.rcvShutdown) return 0;
    const n = this.recvRing.read(buf, off, len);
    if (n > 0) {
      this.maybeWindowUpdate(now);
      return n;
    }
    if (this.error !== 0) return -this.takeErrorRaw();
    if (this.rcvFin || this.st === S_CLOSED) return this.wasConnected || this.rcvFin ? 0 : -ENOTCONN;
    return -EAGAIN;
  }

  private maybeWindowUpdate(now: number): void {
    if (!receivesText(this.st)) return;
    const edge = seqAdd(this.rcvNxt, this.recvRing.free);
    const step = Math.min(this.recvRing.limit >>> 1, this.advMss);
    if (seqDiff(edge, this.rcvAdvEdge) >= step) {
      this.sendAck(now);
      this.host.arm(this.timers.deadline());
    }
  }

  shutdown(read: boolean, write: boolean, now: number): number {
    if (this.st === S_CLOSED) return this.wasConnected ? 0 : -ENOTCONN;
    if (read) {
      this.rcvShutdown = true;
      this.recvRing.release();
    }
    if (write && !this.finQueued) {
      switch (this.st) {
        case S_SYN_SENT:
          this.toClosed(now);
          return 0;
        case S_SYN_RECEIVED:
        case S_ESTABLISHED:
          this.st = S_FIN_WAIT_1;
          break;
        case S_CLOSE_WAIT:
          this.st = S_LAST_ACK;
          break;
        default:
          return 0;
      }
      this.finQueued = true;
      this.finSeq = seqAdd(this.ringBase, this.sendRing.length);
      this.output(now);
    }
    this.host.notify(this);
    return 0;
  }

  /** Graceful close; a reset instead when received data was never read (RFC 2525 §2.17). */
  close(now: number): void {
    if (this.userClosed) return;
    this.userClosed = true;
    if (this.st === S_CLOSED) {
      this.recvRing.release();
      return;
    }
    if (this.st === S_SYN_SENT) {
      this.toClosed(now);
      return;
    }
    if (this.st === S_TIME_WAIT) return;
    if (this.recvRing.length > 0 && !this.rcvShutdown) {
      this.abort(now);
      return;
    }
    this.shutdown(true, true, now);
    if (this.st === S_FIN_WAIT_2) this.timers.armClose(now + this.cfg.finWait2Timeout);
  }

  /** Reset (RFC 9293 §3.10.5). */
  abort(now: number): void {
    this.userClosed = true;
    if (
      this.st === S_SYN_RECEIVED ||
      this.st === S_ESTABLISHED ||
      this.st === S_FIN_WAIT_1 ||
      this.st === S_FIN_WAIT_2 ||
      this.st === S_CLOSE_WAIT
    ) {
      this.sendReset(this.sndNxt, now);
    }
    if (this.st !== S_CLOSED) this.toClosed(now);
    this.recvRing.release();
  }

  private takeErrorRaw(): number {
    const e = this.error;
    this.error = 0;
    return e;
  }

  takeError(): number {
    const e = this.takeErrorRaw();
    if (e !== 0) return -e;
    return 0;
  }

  events(): number {
    let ev = 0;
    if (this.error !== 0) ev |= EV_ERROR | EV_READABLE | EV_WRITABLE;
    if (this.recvRing.length > 0 || this.rcvFin || this.rcvShutdown) ev |= EV_READABLE;
    if (canSendData(this.st) && !this.finQueued && this.sendRing.free > 0) ev |= EV_WRITABLE;
    if (this.st === S_CLOSED && this.wasConnected) ev |= EV_HANGUP | EV_READABLE | EV_WRITABLE;
    if (this.st === S_CLOSED && !this.wasConnected && this.error !== 0) ev |= EV_HANGUP;
    if ((this.rcvFin || this.rcvShutdown) && this.finQueued) ev |= EV_HANGUP;
    return ev;
  }

  // ---------------------------------------------------------------- socket options
  // Validated and applied by the socket layer (socket/options.ts); nodelay, keepInterval,
  // keepCount, ttl and tos are plain fields.

  /** SO_KEEPALIVE: starts (or stops) probing an idle connection (RFC 9293 §3.8.4). */
  setKeepalive(on: boolean): void {
    this.keepAlive = on;
    this.keepProbes = 0;
    if (canSendData(this.st)) this.armKeepalive(this.lastRecvAt);
  }

  /** TCP_KEEPIDLE (s): the idle time before the first probe. */
  setKeepIdle(seconds: number): void {
    this.keepIdle = seconds;
    if (this.keepAlive && canSendData(this.st)) this.armKeepalive(this.lastRecvAt);
  }

  /** SO_SNDBUF: never below what the send ring holds. */
  setSendBuffer(bytes: number): void {
    this.sendRing.limit = Math.max(bytes, this.sendRing.length, 2048);
  }

  /** SO_RCVBUF: the window already offered stays honoured, so the limit never drops below it. */
  setRecvBuffer(bytes: number): void {
    this.recvRing.limit = Math.max(bytes, 2048, this.recvRing.length + this.rcvWindow());
  }

  info(): TcpInfo {
    return {
      state: this.state,
      sendQueue: this.sendRing.length,
      recvQueue: this.recvRing.length,
      rttMs: this.rtt.srtt,
      rtoMs: this.rtt.current(),
      cwnd: this.cwnd,
      ssthresh: this.ssthresh,
      mss: this.effMss(),
      retransmits: this.retransmits,
      sndWnd: this.sndWnd,
      rcvWnd: this.rcvWindow(),
      congestion: this.cc.name,
    };
  }
}
