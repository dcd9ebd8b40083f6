// BFD, asynchronous mode (RFC 5880), single hop over IPv4 and IPv6 (RFC 5881), as a sans-IO
// protocol instance with clients (RFC 5882). The VR's socket layer carries it:
//
// - Receiving: one UDP socket per family bound to port 3784; a packet must arrive with TTL / hop
//   limit 255 (RFC 5881 §5, the GTSM check) and pass §6.8.6, else it is dropped and counted by
//   reason. It is matched to its session by Your Discriminator, or (zero) by source and interface.
// - Sending: one UDP socket per session, bound to our address on the link and a random source port
//   in 49152-65535 (RFC 5881 §4), TTL / hop limit 255, out of the session's interface.
// - Sessions are keyed by (peer address, interface). They exist while a client wants them
//   (`subscribe`): BGP for a neighbour, OSPF for an adjacency, a static route for its gateway.
// - The state machine of §6.8.6 (AdminDown, Down, Init, Up), discriminators drawn from the random
//   source handed in (non-zero, unique), timers negotiated (§6.8.2-3: the transmit interval is the
//   larger of our Desired Min TX and the peer's Required Min RX; the detection time the peer's
//   Detect Mult times the larger of our Required Min RX and its Desired Min TX), at least 1 s
//   between packets while a session is not Up, jitter of §6.8.7 (0-25 %, 10-25 % for a Detect
//   Mult of 1), and a Poll Sequence (§6.5) for every change of our intervals while Up — going Up
//   included, since that is when the 1 s rate gives way to the configured one. Until the Final
//   comes back, the larger of old and new interval is used both ways (§6.8.3).
// - Clients hear of Up and of Down (with the diagnostic); a peer that signals AdminDown is reported
//   as such, and RFC 5882 §3.2 clients do not take their sessions down for it.
// - No Demand mode, no Echo function (Required Min Echo RX 0): never asked for, never used.
import { formatIpv4, formatIpv6 } from '@nexthop/addr';
import {
  type DatagramMeta,
  type DatagramSockets,
  EV_READABLE,
  type ProtocolInstance,
  type ProtocolState,
} from '@nexthop/protocol';
import {
  type AuthRxState,
  BFD_MAX_LEN,
  BFD_PORT,
  BFD_SOURCE_PORT_MAX,
  BFD_SOURCE_PORT_MIN,
  type BfdAuth,
  type BfdDropReason,
  type BfdHashes,
  BfdPacket,
  type BfdStateName,
  DIAG_ADMIN_DOWN,
  DIAG_DETECT_EXPIRED,
  DIAG_NEIGHBOR_DOWN,
  DIAG_NONE,
  DROP_REASONS,
  decodeControl,
  diagName,
  encodeControl,
  FLAG_A,
  FLAG_F,
  FLAG_P,
  STATE_ADMIN_DOWN,
  STATE_DOWN,
  STATE_INIT,
  STATE_NAMES,
  STATE_UP,
  signControl,
  verifyControl,
} from './codec.ts';

export type BfdAddr = number | Uint8Array;

/** A session's timers (milliseconds) and key. */
export interface BfdParams {
  /** bfd.DesiredMinTxInterval once Up (ms). */
  desiredMinTx: number;
  /** bfd.RequiredMinRxInterval (ms). */
  requiredMinRx: number;
  /** bfd.DetectMult. */
  detectMult: number;
  auth?: BfdAuth | undefined;
}

/** Parameters for some sessions: by peer, by interface, or both (the most specific wins). */
export interface BfdOverride {
  peer?: BfdAddr;
  interface?: string;
  params: Partial<BfdParams>;
}

export interface BfdConfig {
  defaults: BfdParams;
  overrides: readonly BfdOverride[];
}

export type BfdSocketOption = 'IP_TTL' | 'IPV6_UNICAST_HOPS' | 'IPV6_V6ONLY' | 'SO_BINDTODEVICE';

export type BfdRecvMeta = DatagramMeta;

/** The socket calls BFD makes (UDP 3784). */
export type BfdSockets = DatagramSockets<BfdSocketOption>;

export interface RandomSource {
  next32(): number;
}

/** A session a client wants: the peer, our address towards it, and the interface. */
export interface BfdSessionRequest {
  peer: BfdAddr;
  local: BfdAddr;
  ifIndex: number;
  ifName: string;
}

/** What a client hears. */
export interface BfdStateChange {
  up: boolean;
  /** The diagnostic of a Down (ours: why we went down). */
  diag: number;
  /** The peer took the session down administratively: not a path failure (RFC 5882 §3.2). */
  adminDown: boolean;
}

export interface BfdClient {
  /** Shown in `show bfd` (e.g. "bgp", "ospf"). */
  readonly name: string;
  onState(change: BfdStateChange, now: number): void;
}

export interface BfdSubscription {
  readonly up: boolean;
  unsubscribe(now: number): void;
}

export interface BfdEngineOptions {
  name: string;
  sockets: BfdSockets;
  config: BfdConfig;
  random: RandomSource;
  hashes?: BfdHashes;
  /** Every session state change (logging). */
  onSessionState?: (peer: string, ifName: string, from: BfdStateName, to: BfdStateName, diag: string) => void;
}

export interface BfdSessionCounters {
  rx: number;
  tx: number;
  txErrors: number;
  up: number;
  down: number;
  pollSequences: number;
}

export interface BfdSessionShow {
  peer: string;
  local: string;
  interface: string;
  state: BfdStateName;
  remoteState: BfdStateName;
  localDiscriminator: number;
  remoteDiscriminator: number;
  diagnostic: string;
  remoteDiagnostic: string;
  sourcePort: number;
  detectMultiplier: number;
  /** What we send now (ms): Desired Min TX (1000 or more while not Up) and Required Min RX. */
  desiredMinTxMs: number;
  requiredMinRxMs: number;
  remoteDetectMultiplier: number;
  remoteDesiredMinTxMs: number;
  remoteRequiredMinRxMs: number;
  /** Negotiated: our transmit interval before jitter, and the detection time (0: none yet). */
  txIntervalMs: number;
  detectionTimeMs: number;
  pollActive: boolean;
  /** ms Up, or null. */
  upForMs: number | null;
  /** When it last went down from Up (engine clock, ms), and why. */
  lastDown: { atMs: number; diagnostic: string } | null;
  auth: string | null;
  clients: string[];
  counters: BfdSessionCounters;
}

export interface BfdShow {
  name: string;
  state: ProtocolState;
  sessions: BfdSessionShow[];
  counters: { rx: number; tx: number; txErrors: number };
  drops: Record<BfdDropReason, number>;
  /** Problems opening sockets. */
  errors: string[];
}

const SLOW_TX_MS = 1000;
const RX_BUF = 128;
const PORT_TRIES = 32;

function addrText(a: BfdAddr): string {
  return typeof a === 'number' ? formatIpv4(a) : formatIpv6(a);
}

function sessionKey(peer: BfdAddr, ifIndex: number): string {
  return `${ifIndex}|${addrText(peer)}`;
}

function sameAddr(a: BfdAddr, b: BfdAddr): boolean {
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

const us = (ms: number): number => Math.min(0xffffffff, Math.round(ms * 1000));

class Session {
  readonly key: string;
  readonly req: BfdSessionRequest;
  readonly family: 4 | 6;
  fd = -1;
  srcPort = 0;
  state = STATE_DOWN;
  remoteState = STATE_DOWN;
  localDisc: number;
  remoteDisc = 0;
  localDiag = DIAG_NONE;
  remoteDiag = DIAG_NONE;
  params: BfdParams;
  /** What we advertise (ms). */
  advTx: number;
  advRx: number;
  /** What our timers use (the larger of old and new during a Poll Sequence). */
  txActive: number;
  rxActive: number;
  /** bfd.RemoteMinRxInterval (ms): 1 µs until the peer tells us. */
  remoteMinRx = 0.001;
  remoteDesiredTx = 0;
  remoteDetectMult = 0;
  pollActive = false;
  nextTx = 0;
  detectAt = Number.POSITIVE_INFINITY;
  upSince: number | null = null;
  lastDown: { at: number; diag: number } | null = null;
  readonly clients = new Set<Sub>();
  readonly counters: BfdSessionCounters = { rx: 0, tx: 0, txErrors: 0, up: 0, down: 0, pollSequences: 0 };
  readonly authRx: AuthRxState = { rcvSeq: 0, seqKnown: false };
  xmitSeq: number;

  constructor(req: BfdSessionRequest, disc: number, params: BfdParams, seq: number) {
    this.req = req;
    this.key = sessionKey(req.peer, req.ifIndex);
    this.family = typeof req.peer === 'number' ? 4 : 6;
    this.localDisc = disc;
    this.params = params;
    this.advTx = Math.max(SLOW_TX_MS, params.desiredMinTx);
    this.advRx = params.requiredMinRx;
    this.txActive = this.advTx;
    this.rxActive = this.advRx;
    this.xmitSeq = seq;
  }

  /** The transmit interval before jitter (§6.8.7); 0: no periodic packets (the peer asked for none). */
  txInterval(): number {
    if (this.remoteMinRx === 0) return 0;
    return Math.max(this.txActive, this.remoteMinRx);
  }

  /** The detection time (§6.8.4, asynchronous mode); 0 before the peer was heard. */
  detectionTime(): number {
    if (this.remoteDetectMult === 0) return 0;
    return this.remoteDetectMult * Math.max(this.rxActive, this.remoteDesiredTx);
  }
}

class Sub implements BfdSubscription {
  readonly client: BfdClient;
  session: Session | null;
  private readonly engine: BfdEngine;

  constructor(engine: BfdEngine, session: Session, client: BfdClient) {
    this.engine = engine;
    this.session = session;
    this.client = client;
  }

  get up(): boolean {
    return this.session !== null && this.session.state === STATE_UP;
  }

  unsubscribe(now: number): void {
    const s = this.session;
    if (s === null) return;
    this.session = null;
    this.engine.release(s, this, now);
  }
}

/** The BFD protocol instance. */
export class BfdEngine implements ProtocolInstance<BfdConfig, BfdShow> {
  readonly kind = 'bfd';
  readonly name: string;
  private _state: ProtocolState = 'down';
  private readonly sockets: BfdSockets;
  private readonly random: RandomSource;
  private readonly hashes: BfdHashes | undefined;
  private readonly onSessionState: BfdEngineOptions['onSessionState'];
  private config: BfdConfig;
  private fd4 = -1;
  private fd6 = -1;
  private readonly sessions = new Map<string, Session>();
  private readonly byDisc = new Map<number, Session>();
  private readonly byFd = new Map<number, Session>();
  private readonly rx = new Uint8Array(RX_BUF);
  private readonly tx = new Uint8Array(BFD_MAX_LEN + 8);
  private readonly pkt = new BfdPacket();
  private readonly meta: BfdRecvMeta = {
    family: 4,
    addr: 0,
    addr6: new Uint8Array(16),
    port: 0,
    ifIndex: -1,
    dst: 0,
    dst6: new Uint8Array(16),
    hopLimit: -1,
    length: 0,
    truncated: false,
  };
  private readonly counters = { rx: 0, tx: 0, txErrors: 0 };
  private readonly drops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<
    BfdDropReason,
    number
  >;
  private readonly errors: string[] = [];

  constructor(options: BfdEngineOptions) {
    this.name = options.name;
    this.sockets = options.sockets;
    this.random = options.random;
    this.hashes = options.hashes;
    this.onSessionState = options.onSessionState;
    this.config = options.config;
  }

  get state(): ProtocolState {
    return this._state;
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  start(now: number): void {
    if (this._state !== 'down') return;
    this._state = 'up';
    this.fd4 = this.openRx(4);
    this.fd6 = this.openRx(6);
    for (const s of this.sessions.values()) this.openSession(s, now);
  }

  private openRx(family: 4 | 6): number {
    const so = this.sockets;
    const fd = so.socket('dgram', 0, family);
    if (fd < 0) {
      this.errors.push(`IPv${family} socket: ${fd}`);
      return -1;
    }
    if (family === 6) so.setOption(fd, 'IPV6_V6ONLY', 1);
    const r = family === 4 ? so.bind(fd, 0, BFD_PORT) : so.bind6(fd, new Uint8Array(16), BFD_PORT);
    if (r < 0) {
      this.errors.push(`IPv${family} bind to port ${BFD_PORT}: ${r}`);
      so.close(fd, 0);
      return -1;
    }
    return fd;
  }

  /** The session's own socket: our address, a random source port of 49152-65535, TTL 255. */
  private openSession(s: Session, now: number): void {
    if (this._state !== 'up' || s.fd >= 0) return;
    const so = this.sockets;
    const fd = so.socket('dgram', 0, s.family);
    if (fd < 0) {
      this.errors.push(`session ${s.key}: socket ${fd}`);
      return;
    }
    if (s.family === 4) so.setOption(fd, 'IP_TTL', 255);
    else {
      so.setOption(fd, 'IPV6_V6ONLY', 1);
      so.setOption(fd, 'IPV6_UNICAST_HOPS', 255);
    }
    so.setOption(fd, 'SO_BINDTODEVICE', s.req.ifName);
    const span = BFD_SOURCE_PORT_MAX - BFD_SOURCE_PORT_MIN + 1;
    for (let i = 0; i < PORT_TRIES; i++) {
      const port = BFD_SOURCE_PORT_MIN + (this.random.next32() % span);
      const r =
        s.family === 4
          ? so.bind(fd, s.req.local as number, port)
          : so.bind6(fd, s.req.local as Uint8Array, port, s.req.ifIndex);
      if (r >= 0) {
        s.fd = fd;
        s.srcPort = port;
        this.byFd.set(fd, s);
        s.nextTx = now;
        return;
      }
    }
    this.errors.push(`session ${s.key}: no free source port`);
    so.close(fd, now);
  }

  stop(now: number, _reason?: string): void {
    if (this._state === 'down') return;
    // The peers hear AdminDown (§6.8.16): not a failure of the path to their clients.
    for (const s of this.sessions.values()) {
      this.adminDown(s, now);
      this.closeSession(s, now);
    }
    if (this.fd4 >= 0) this.sockets.close(this.fd4, now);
    if (this.fd6 >= 0) this.sockets.close(this.fd6, now);
    this.fd4 = this.fd6 = -1;
    this._state = 'down';
  }

  private adminDown(s: Session, now: number): void {
    if (s.state === STATE_ADMIN_DOWN) return;
    this.setState(s, STATE_ADMIN_DOWN, DIAG_ADMIN_DOWN, now, false);
  }

  private closeSession(s: Session, now: number): void {
    if (s.fd >= 0) {
      this.byFd.delete(s.fd);
      this.sockets.close(s.fd, now);
      s.fd = -1;
    }
  }

  /** New timers and keys; sessions Up change theirs with a Poll Sequence. Always in place. */
  reconfigure(config: BfdConfig, now: number): boolean {
    this.config = config;
    for (const s of this.sessions.values()) this.applyParams(s, this.paramsFor(s.req), now);
    return true;
  }

  private paramsFor(req: BfdSessionRequest): BfdParams {
    const p: BfdParams = { ...this.config.defaults };
    const rank = (o: BfdOverride) => (o.peer !== undefined ? 2 : 0) + (o.interface !== undefined ? 1 : 0);
    const matching = this.config.overrides
      .filter(
        (o) =>
          (o.peer === undefined || sameAddr(o.peer, req.peer)) &&
          (o.interface === undefined || o.interface === req.ifName),
      )
      .sort((a, b) => rank(a) - rank(b));
    for (const o of matching) Object.assign(p, o.params);
    return p;
  }

  private applyParams(s: Session, p: BfdParams, now: number): void {
    const authChanged =
      JSON.stringify(s.params.auth ?? null, bytes) !== JSON.stringify(p.auth ?? null, bytes);
    s.params = p;
    if (authChanged) s.authRx.seqKnown = false;
    const tx = s.state === STATE_UP ? p.desiredMinTx : Math.max(SLOW_TX_MS, p.desiredMinTx);
    // A Poll Sequence begins with a packet now (the next periodic one would do; sooner is better).
    if (this.advertise(s, tx, p.requiredMinRx)) this.send(s, 0, now);
  }

  /**
   * Changes what we advertise. While Up, a Poll Sequence (§6.5): the packets carry the new values
   * with P set, the timers use the larger of old and new until the Final (§6.8.3). Else at once.
   * Returns whether a Poll Sequence began.
   */
  private advertise(s: Session, tx: number, rx: number): boolean {
    if (tx === s.advTx && rx === s.advRx) return false;
    s.advTx = tx;
    s.advRx = rx;
    if (s.state === STATE_UP) {
      if (!s.pollActive) s.counters.pollSequences++;
      s.pollActive = true;
      s.txActive = Math.max(s.txActive, tx);
      s.rxActive = Math.max(s.rxActive, rx);
      return true;
    }
    s.pollActive = false;
    s.txActive = tx;
    s.rxActive = rx;
    return false;
  }

  // ---- clients ---------------------------------------------------------------------------------

  /** A client wants a session to `req.peer` on `req.ifIndex` (one session per peer and interface). */
  subscribe(req: BfdSessionRequest, client: BfdClient, now: number): BfdSubscription {
    const key = sessionKey(req.peer, req.ifIndex);
    let s = this.sessions.get(key);
    if (s === undefined) {
      s = new Session(req, this.newDiscriminator(), this.paramsFor(req), this.random.next32());
      this.sessions.set(key, s);
      this.byDisc.set(s.localDisc, s);
      this.openSession(s, now);
    }
    const sub = new Sub(this, s, client);
    s.clients.add(sub);
    return sub;
  }

  /** A client let go; the last one takes the session away (the peer hears AdminDown). */
  release(s: Session, sub: Sub, now: number): void {
    s.clients.delete(sub);
    if (s.clients.size > 0) return;
    if (this._state === 'up') this.adminDown(s, now);
    this.closeSession(s, now);
    this.sessions.delete(s.key);
    this.byDisc.delete(s.localDisc);
  }

  private newDiscriminator(): number {
    for (;;) {
      const d = this.random.next32() >>> 0;
      if (d !== 0 && !this.byDisc.has(d)) return d;
    }
  }

  // ---- state machine (§6.8.6) ------------------------------------------------------------------

  private setState(s: Session, to: number, diag: number, now: number, notify = true): void {
    const from = s.state;
    if (from === to) return;
    s.state = to;
    s.localDiag = to === STATE_UP ? DIAG_NONE : diag;
    this.onSessionState?.(
      addrText(s.req.peer),
      s.req.ifName,
      STATE_NAMES[from]!,
      STATE_NAMES[to]!,
      diagName(diag),
    );
    if (to === STATE_UP) {
      s.counters.up++;
      s.upSince = now;
      // The 1 s rate gives way to the configured one: a Poll Sequence (§6.8.3).
      this.advertise(s, s.params.desiredMinTx, s.params.requiredMinRx);
    } else {
      if (from === STATE_UP) {
        s.counters.down++;
        s.upSince = null;
        s.lastDown = { at: now, diag };
      }
      // Not Up: at least 1 s between packets, no Poll Sequence pending.
      s.pollActive = false;
      s.advTx = s.txActive = Math.max(SLOW_TX_MS, s.params.desiredMinTx);
      s.advRx = s.rxActive = s.params.requiredMinRx;
    }
    // A state change is sent at once, not at the next periodic packet.
    this.send(s, 0, now);
    if (!notify) return;
    const change: BfdStateChange | null =
      to === STATE_UP
        ? { up: true, diag: DIAG_NONE, adminDown: false }
        : from === STATE_UP
          ? { up: false, diag, adminDown: s.remoteState === STATE_ADMIN_DOWN }
          : null;
    if (change === null) return;
    for (const sub of [...s.clients]) sub.client.onState(change, now);
  }

  socketEvent(fd: number, events: number, now: number): boolean {
    const own = fd === this.fd4 || fd === this.fd6;
    const session = this.byFd.get(fd);
    if (!own && session === undefined) return false;
    if ((events & EV_READABLE) === 0) return true;
    const so = this.sockets;
    for (let i = 0; i < 1000; i++) {
      const n = so.recvFrom(fd, this.rx, 0, RX_BUF, this.meta);
      if (n < 0) break;
      // Session sockets only send; what comes to them is not BFD's.
      if (own) this.receive(this.rx, 0, n, this.meta, now);
    }
    return true;
  }

  /** One received datagram (a UDP payload) with what recvFrom said of it. */
  receive(buf: Uint8Array, off: number, len: number, meta: BfdRecvMeta, now: number): void {
    this.counters.rx++;
    const p = this.pkt;
    const bad = decodeControl(buf, off, len, p);
    if (bad !== null) return this.drop(bad);
    // RFC 5881 §5: single hop, sent with TTL / hop limit 255 and received with it.
    if (meta.hopLimit !== 255) return this.drop('ttl');
    const src: BfdAddr = meta.family === 4 ? meta.addr : meta.addr6;
    let s: Session | undefined;
    if (p.yourDisc !== 0) {
      s = this.byDisc.get(p.yourDisc);
      if (s === undefined) return this.drop('yourDiscriminator');
      if (!sameAddr(s.req.peer, src) || s.req.ifIndex !== meta.ifIndex) return this.drop('session');
    } else {
      s = this.sessions.get(sessionKey(meta.family === 4 ? meta.addr : meta.addr6, meta.ifIndex));
      if (s === undefined) return this.drop('session');
    }
    // §6.8.6: the A bit and our key agree, and the key checks out.
    const auth = s.params.auth;
    if (((p.flags & FLAG_A) !== 0) !== (auth !== undefined)) return this.drop('auth');
    if (auth !== undefined && !verifyControl(buf, off, p, auth, s.authRx, p.detectMult, this.hashes))
      return this.drop('auth');
    s.counters.rx++;
    s.remoteDisc = p.myDisc;
    s.remoteState = p.state;
    s.remoteDiag = p.diag;
    const remoteMinRx = p.requiredMinRx / 1000;
    const fasterPeer = remoteMinRx < s.remoteMinRx;
    s.remoteMinRx = remoteMinRx;
    s.remoteDesiredTx = p.desiredMinTx / 1000;
    s.remoteDetectMult = p.detectMult;
    if (p.final && s.pollActive) {
      s.pollActive = false;
      s.txActive = s.advTx;
      s.rxActive = s.advRx;
    }
    if (s.state === STATE_ADMIN_DOWN) return;
    if (p.state === STATE_ADMIN_DOWN) {
      if (s.state !== STATE_DOWN) this.setState(s, STATE_DOWN, DIAG_NEIGHBOR_DOWN, now);
    } else if (s.state === STATE_DOWN) {
      if (p.state === STATE_DOWN) this.setState(s, STATE_INIT, DIAG_NONE, now);
      else if (p.state === STATE_INIT) this.setState(s, STATE_UP, DIAG_NONE, now);
    } else if (s.state === STATE_INIT) {
      if (p.state === STATE_INIT || p.state === STATE_UP) this.setState(s, STATE_UP, DIAG_NONE, now);
    } else if (p.state === STATE_DOWN) this.setState(s, STATE_DOWN, DIAG_NEIGHBOR_DOWN, now);
    // The detection timer restarts with every packet (§6.8.4).
    const dt = s.detectionTime();
    s.detectAt = dt > 0 ? now + dt : Number.POSITIVE_INFINITY;
    // A Poll is answered at once with a Final (§6.8.7), whatever the transmit timer says.
    if (p.poll) this.send(s, FLAG_F, now);
    // The peer now wants packets sooner than the next one is due: bring it forward.
    const iv = s.txInterval();
    if (fasterPeer && iv > 0 && s.nextTx > now + iv) s.nextTx = now + this.jitter(s, iv);
  }

  private drop(reason: BfdDropReason): void {
    this.drops[reason]++;
  }

  // ---- transmission (§6.8.7) -------------------------------------------------------------------

  private jitter(s: Session, interval: number): number {
    const r = this.random.next32() / 4294967296;
    // 0-25 % less; with a Detect Mult of 1, 10-25 % less (the interval at most 90 %).
    return s.params.detectMult === 1 ? interval * (0.75 + 0.15 * r) : interval * (1 - 0.25 * r);
  }

  private send(s: Session, flags: number, now: number): void {
    if (s.fd < 0) return;
    const b = this.tx;
    let len = encodeControl(
      {
        diag: s.localDiag,
        state: s.state,
        // P and F never together (§6.5): a Final answers, our own Poll waits for the next packet.
        flags: flags & FLAG_F ? FLAG_F : flags | (s.pollActive ? FLAG_P : 0),
        detectMult: s.params.detectMult,
        myDisc: s.localDisc,
        yourDisc: s.remoteDisc,
        desiredMinTx: us(s.advTx),
        requiredMinRx: us(s.advRx),
        requiredMinEchoRx: 0,
      },
      b,
      0,
    );
    const auth = s.params.auth;
    if (auth !== undefined) {
      // Meticulous: a new sequence number in every packet; keyed: we do the same (§6.7.3 allows it).
      s.xmitSeq = (s.xmitSeq + 1) >>> 0;
      len = signControl(b, 0, auth, s.xmitSeq, this.hashes);
    }
    const r =
      s.family === 4
        ? this.sockets.sendTo(
            s.fd,
            b,
            0,
            len,
            s.req.peer as number,
            BFD_PORT,
            now,
            s.req.local as number,
            s.req.ifIndex,
          )
        : this.sockets.sendTo6(
            s.fd,
            b,
            0,
            len,
            s.req.peer as Uint8Array,
            BFD_PORT,
            now,
            s.req.local as Uint8Array,
            s.req.ifIndex,
          );
    if (r < 0) {
      s.counters.txErrors++;
      this.counters.txErrors++;
    } else {
      s.counters.tx++;
      this.counters.tx++;
    }
  }

  poll(now: number): number {
    if (this._state !== 'up') return Number.POSITIVE_INFINITY;
    let next = Number.POSITIVE_INFINITY;
    for (const s of this.sessions.values()) {
      if (s.state === STATE_ADMIN_DOWN) continue;
      if ((s.state === STATE_INIT || s.state === STATE_UP) && s.detectAt <= now) {
        // §6.8.4: nothing within the detection time. bfd.RemoteDiscr goes back to zero (§6.8.1).
        s.detectAt = Number.POSITIVE_INFINITY;
        s.remoteDisc = 0;
        s.remoteState = STATE_DOWN;
        s.authRx.seqKnown = false;
        this.setState(s, STATE_DOWN, DIAG_DETECT_EXPIRED, now);
      }
      if (s.fd < 0) continue;
      const iv = s.txInterval();
      if (iv > 0 && s.nextTx <= now) {
        this.send(s, 0, now);
        s.nextTx = now + this.jitter(s, iv);
      }
      if (iv > 0) next = Math.min(next, s.nextTx);
      if (s.state === STATE_INIT || s.state === STATE_UP) next = Math.min(next, s.detectAt);
    }
    return Math.max(next, now);
  }

  // ---- show ------------------------------------------------------------------------------------

  show(now: number): BfdShow {
    return {
      name: this.name,
      state: this._state,
      sessions: [...this.sessions.values()]
        .sort((a, b) => a.key.localeCompare(b.key))
        .map((s) => this.showSession(s, now)),
      counters: { ...this.counters },
      drops: { ...this.drops },
      errors: [...this.errors],
    };
  }

  private showSession(s: Session, now: number): BfdSessionShow {
    const r3 = (x: number) => Math.round(x * 1000) / 1000;
    return {
      peer: addrText(s.req.peer),
      local: addrText(s.req.local),
      interface: s.req.ifName,
      state: STATE_NAMES[s.state]!,
      remoteState: STATE_NAMES[s.remoteState]!,
      localDiscriminator: s.localDisc,
      remoteDiscriminator: s.remoteDisc,
      diagnostic: diagName(s.localDiag),
      remoteDiagnostic: diagName(s.remoteDiag),
      sourcePort: s.srcPort,
      detectMultiplier: s.params.detectMult,
      desiredMinTxMs: r3(s.advTx),
      requiredMinRxMs: r3(s.advRx),
      remoteDetectMultiplier: s.remoteDetectMult,
      remoteDesiredMinTxMs: r3(s.remoteDesiredTx),
      remoteRequiredMinRxMs: r3(s.remoteMinRx),
      txIntervalMs: r3(s.txInterval()),
      detectionTimeMs: r3(s.detectionTime()),
      pollActive: s.pollActive,
      upForMs: s.upSince === null ? null : Math.round(now - s.upSince),
      lastDown:
        s.lastDown === null
          ? null
          : { atMs: Math.round(s.lastDown.at), diagnostic: diagName(s.lastDown.diag) },
      auth: s.params.auth === undefined ? null : `${s.params.auth.type} key ${s.params.auth.keyId}`,
      clients: [...s.clients].map((c) => c.client.name).sort(),
      counters: { ...s.counters },
    };
  }

  /** The session for a peer on an interface, shown (tests). */
  session(peer: BfdAddr, ifIndex: number, now: number): BfdSessionShow | undefined {
    const s = this.sessions.get(sessionKey(peer, ifIndex));
    return s === undefined ? undefined : this.showSession(s, now);
  }
}

function bytes(_k: string, v: unknown): unknown {
  return v instanceof Uint8Array ? [...v] : v;
}
