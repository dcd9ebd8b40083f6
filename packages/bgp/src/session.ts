// One BGP peer: the RFC 4271 §8 finite state machine over up to two TCP connections at a time (ours
// and the peer's, until collision detection (§6.8) keeps one), its timers, its Adj-RIB-In (what the
// peer sent, before policy) and Adj-RIB-Out (what we advertised), and its counters. Sans-IO: bytes
// through ProtocolSockets, time as `now` (ms).

import {
  type AsPathSegment,
  type AttributeTable,
  makeAttributes,
  type PathAttributes,
} from './attributes.ts';
import {
  AFI_IPV4,
  AFI_IPV6,
  AS_SEQUENCE,
  AS_TRANS,
  BGP_HEADER_LEN,
  CEASE_BFD_DOWN,
  ERR_CEASE,
  ERR_FSM,
  ERR_HOLD_TIMER,
  ERR_OPEN,
  MSG_KEEPALIVE,
  MSG_NOTIFICATION,
  MSG_OPEN,
  MSG_ROUTE_REFRESH,
  MSG_UPDATE,
  SAFI_UNICAST,
  SUB_BAD_BGP_IDENTIFIER,
  SUB_BAD_PEER_AS,
} from './constants.ts';
import type { Candidate, RouteSource } from './decision.ts';
import { BEFORE_OPEN, BgpDecoder, type BgpMessage } from './decoder.ts';
import { ENCODE_TOO_LARGE, UpdateEncoder } from './encoder.ts';
import { Action, BgpCounters, type Notification } from './errors.ts';
import {
  checkHeader,
  encodeKeepalive,
  encodeNotification,
  encodeRouteRefresh,
  HEADER_OK,
  messageLength,
} from './header.ts';
import type { LocRib } from './loc-rib.ts';
import {
  encodeOpen,
  type GracefulRestart,
  type Negotiated,
  NO_CAPABILITIES,
  negotiate,
  type OpenMessage,
  peerAsOf,
} from './open.ts';
import type { Policy } from './policy.ts';
import {
  EAGAIN,
  EINPROGRESS,
  type Endpoint,
  EV_ERROR,
  EV_HANGUP,
  EV_READABLE,
  EV_WRITABLE,
  type Md5Peer,
  type ProtocolSockets,
} from './protocol.ts';
import type { UpdateMessage } from './update.ts';

/** RFC 4486 Cease subcodes. */
export const CEASE_MAX_PREFIXES = 1;
export const CEASE_ADMIN_SHUTDOWN = 2;
export const CEASE_PEER_DECONFIGURED = 3;
export const CEASE_ADMIN_RESET = 4;
export const CEASE_OTHER_CONFIG_CHANGE = 6;
export const CEASE_COLLISION = 7;
/** RFC 6608 FSM Error subcodes: unexpected message in OpenSent, OpenConfirm, Established. */
export const FSM_IN_OPENSENT = 1;
export const FSM_IN_OPENCONFIRM = 2;
export const FSM_IN_ESTABLISHED = 3;

/** The peer's state (RFC 4271 §8.2.2). */
export type BgpState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

/** One configured neighbour. Times in seconds, as in the RFC and the config. */
export interface BgpPeerConfig {
  readonly name: string;
  /** The neighbour's address: an IPv4 number or 16 IPv6 octets. */
  readonly address: number | Uint8Array;
  readonly remoteAs: number;
  /** Only accept connections, never open one (RFC 4271 §8.1.1 PassiveTcpEstablishment). */
  readonly passive?: boolean;
  /** The neighbour's TCP port (179). */
  readonly port?: number;
  /** Our local address for the session (bound before connect), same family as `address`. */
  readonly localAddress?: number | Uint8Array;
  /** Proposed Hold Time (90); 0 turns hold and keepalive timers off; 1 and 2 are refused. */
  readonly holdTime?: number;
  /** KEEPALIVE interval; default a third of the negotiated Hold Time. */
  readonly keepalive?: number;
  readonly connectRetry?: number;
  /** Time in Idle after an error before starting again (automatic restart). */
  readonly idleHold?: number;
  /** Families offered (multiprotocol capability): default both. */
  readonly families?: readonly ('ipv4' | 'ipv6')[];
  /** RFC 8212: eBGP needs these to be set (ACCEPT_ALL to take everything); iBGP accepts all by default. */
  readonly import?: Policy;
  readonly export?: Policy;
  /** Prefixes the peer may hold in our Adj-RIB-In (RFC 4486 Cease/1 beyond). */
  readonly maxPrefixes?: number;
  /** RFC 5082: send with TTL/hop limit 255 (the received TTL check needs IP_MINTTL in the stack). */
  readonly gtsm?: boolean;
  /** RFC 2385 TCP MD5 signature key (the password as UTF-8, 1..80 octets). */
  readonly password?: string;
  /** Next hop self for IPv4 routes on an IPv6 session, and for IPv6 routes on an IPv4 session. */
  readonly nextHop4?: number;
  readonly nextHop6?: Uint8Array;
  /** An iBGP peer that is our route-reflector client (RFC 4456 §6). */
  readonly routeReflectorClient?: boolean;
  /** iBGP: our session address as the next hop of the routes we send it (eBGP always does). */
  readonly nextHopSelf?: boolean;
}

/** A route a peer sent, after import policy, for the Loc-RIB. */
export interface LearnedRoute<A> {
  readonly attrs: PathAttributes;
  readonly nextHop: A;
}

/**
 * RFC 4724 graceful restart as the engine runs it (absent from BgpConfig: no capability at all).
 * Times in seconds.
 */
export interface GracefulRestartConfig {
  /** The Restart Time we advertise (0..4095, RFC 4724 §3): how long peers keep our routes. */
  readonly restartTime: number;
  /**
   * How long a restarted peer's stale routes are kept once its session is back, waiting for its
   * End-of-RIB (FRR's stalepath-time).
   */
  readonly staleTime: number;
  /**
   * Also the Restarting Speaker (§4.1): our families are listed in the capability (so that peers
   * keep our routes), with the F bit as `forwardingState` says. false: the Receiving Speaker only,
   * the capability with no family (FRR's default helper mode).
   */
  readonly restart: boolean;
  /** The F bit of each family we list (§3), when `restart`. */
  readonly forwardingState: boolean;
  /** After a restart, how long route selection waits for the peers' End-of-RIB (§4.1). */
  readonly selectionDeferralTime: number;
}

/** What a peer needs of its engine. */
export interface EngineContext {
  readonly sockets: ProtocolSockets;
  readonly table: AttributeTable;
  readonly localAs: number;
  readonly routerId: number;
  /** RFC 4456 §7: our CLUSTER_ID (the router id unless configured). */
  readonly clusterId: number;
  /** The Loc-RIB: what the peers' Adj-RIBs-Out are made of (its best routes). */
  readonly rib4: LocRib<number, number, number>;
  readonly rib6: LocRib<string, Uint8Array, Uint8Array>;
  /** A peer's route to a prefix (null: it has none any more) into the Loc-RIB. */
  learn4(
    peer: BgpPeer,
    k: number,
    network: number,
    length: number,
    r: LearnedRoute<number> | null,
    now: number,
  ): void;
  learn6(
    peer: BgpPeer,
    k: string,
    network: Uint8Array,
    length: number,
    r: LearnedRoute<Uint8Array> | null,
    now: number,
  ): void;
  /** Registers/forgets the owner of an fd (socket events are routed by fd). */
  own(fd: number, conn: Connection | null): void;
  stateChanged(peer: BgpPeer, from: BgpState, to: BgpState, now: number): void;
  /** Jitter in [0.75, 1] for ConnectRetry (RFC 4271 §10), or 1 without a random source. */
  jitter(): number;
  /** Graceful restart (RFC 4724), when on. */
  readonly gracefulRestart: GracefulRestartConfig | undefined;
  /**
   * We restarted and defer route selection (RFC 4724 §4.1): nothing goes to the RouteSink or to the
   * peers, and our OPENs carry the Restart State bit, until `initialRibDone` of every peer.
   */
  readonly deferring: boolean;
  /** A peer's session came up or sent End-of-RIB: selection deferral may end. */
  initialRibChanged(now: number): void;
}

export interface Export4 {
  readonly network: number;
  readonly length: number;
  readonly attrs: PathAttributes;
}
export interface Export6 {
  readonly network: Uint8Array;
  readonly length: number;
  readonly attrs: PathAttributes;
}

/** IPv4 prefix key: network × 64 + length (exact in a double). */
export function key4(network: number, length: number): number {
  return network * 64 + length;
}
const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));
/** IPv6 prefix key: the significant octets in hex, then the length. */
export function key6(bytes: Uint8Array, off: number, length: number): string {
  let s = '';
  const n = (length + 7) >>> 3;
  for (let i = 0; i < n; i++) s += HEX[bytes[off + i]!];
  return `${s}/${length}`;
}

const enum_ = {
  CONNECTING: 0,
  OPEN_SENT: 1,
  OPEN_CONFIRM: 2,
  ESTABLISHED: 3,
  CLOSED: 4,
} as const;
export const ConnState = enum_;
const CONN_STATE_NAMES: BgpState[] = ['Connect', 'OpenSent', 'OpenConfirm', 'Established', 'Idle'];

/** RFC 4271 §8.2.2: a large hold time in OpenSent (4 minutes suggested). */
const OPEN_SENT_HOLD_MS = 240_000;
/** Input buffer: two messages of the largest negotiated size (the stream buffer's bound). */
const MIN_INPUT = 2 * 4096;

/** One TCP connection of a peer and the session on it. */
export class Connection {
  readonly fd: number;
  /** We opened it (collision detection closes by who initiated). */
  readonly outgoing: boolean;
  readonly peer: BgpPeer;
  state: number = ConnState.CONNECTING;
  in = new Uint8Array(MIN_INPUT);
  inLen = 0;
  private readonly outQ: Uint8Array[] = [];
  private outOff = 0;
  outBytes = 0;
  holdDeadline = Infinity;
  keepaliveDeadline = Infinity;
  remoteOpen: OpenMessage | undefined = undefined;
  negotiated: Negotiated | undefined = undefined;
  decoder: BgpDecoder;
  encoder: UpdateEncoder | undefined = undefined;
  /** The session's own addresses (next hop self). */
  local4: number | undefined = undefined;
  local6: Uint8Array | undefined = undefined;

  constructor(peer: BgpPeer, fd: number, outgoing: boolean) {
    this.peer = peer;
    this.fd = fd;
    this.outgoing = outgoing;
    this.decoder = new BgpDecoder(BEFORE_OPEN, peer.errors, peer.ctx.table);
  }

  get closed(): boolean {
    return this.state === ConnState.CLOSED;
  }

  /** Queues bytes and sends what the socket takes. Returns false when the connection failed. */
  write(bytes: Uint8Array, now: number): boolean {
    if (this.closed) return false;
    this.outQ.push(bytes);
    this.outBytes += bytes.length;
    return this.drain(now);
  }

  drain(now: number): boolean {
    const so = this.peer.ctx.sockets;
    while (this.outQ.length > 0) {
      const b = this.outQ[0]!;
      const n = so.send(this.fd, b, this.outOff, b.length - this.outOff, now);
      if (n === -EAGAIN) return true;
      if (n < 0) return false;
      this.outOff += n;
      this.outBytes -= n;
      if (this.outOff === b.length) {
        this.outQ.shift();
        this.outOff = 0;
      } else return true;
    }
    return true;
  }
}

interface Entry6 {
  readonly network: Uint8Array;
  readonly length: number;
  attrs: PathAttributes;
}

function count(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

const MESSAGE_NAMES = ['', 'open', 'update', 'notification', 'keepalive', 'routeRefresh'];

/** Counters of one peer (`show bgp neighbors`, metrics). */
export class PeerCounters {
  readonly messagesIn = [0, 0, 0, 0, 0, 0];
  readonly messagesOut = [0, 0, 0, 0, 0, 0];
  /** Prefixes announced and withdrawn in received UPDATEs. */
  prefixesAnnouncedIn = 0;
  prefixesWithdrawnIn = 0;
  prefixesAnnouncedOut = 0;
  prefixesWithdrawnOut = 0;
  /** Received prefixes not imported, by why. */
  readonly rejected: Record<string, number> = {};
  readonly notificationsSent: Record<string, number> = {};
  readonly notificationsReceived: Record<string, number> = {};
  transitions = 0;
  /** Established sessions that went down. */
  flaps = 0;
  established = 0;
  connectionsRefused = 0;

  toJSON(): Record<string, unknown> {
    const byType = (a: number[]) => Object.fromEntries(MESSAGE_NAMES.slice(1).map((n, i) => [n, a[i + 1]!]));
    return {
      messagesIn: byType(this.messagesIn),
      messagesOut: byType(this.messagesOut),
      prefixesAnnouncedIn: this.prefixesAnnouncedIn,
      prefixesWithdrawnIn: this.prefixesWithdrawnIn,
      prefixesAnnouncedOut: this.prefixesAnnouncedOut,
      prefixesWithdrawnOut: this.prefixesWithdrawnOut,
      rejected: this.rejected,
      notificationsSent: this.notificationsSent,
      notificationsReceived: this.notificationsReceived,
      transitions: this.transitions,
      flaps: this.flaps,
      established: this.established,
      connectionsRefused: this.connectionsRefused,
    };
  }
}

export interface PeerShow {
  name: string;
  address: string;
  remoteAs: number;
  type: 'ebgp' | 'ibgp';
  state: BgpState;
  /** Seconds in Established (0 otherwise). */
  uptime: number;
  remoteId: string | null;
  holdTime: number | null;
  keepalive: number | null;
  capabilities: {
    families: string[];
    as4: boolean;
    routeRefresh: boolean;
    extendedMessage: boolean;
  } | null;
  /** RFC 4724. */
  gracefulRestart: GracefulRestartShow;
  prefixes: { received: number; accepted: number; advertised: number };
  lastError: string | null;
  gtsm: string;
  /** Whether the session is signed with TCP MD5 (RFC 2385). */
  md5: boolean;
  counters: Record<string, unknown>;
  errors: Record<string, number>;
}

export interface GracefulRestartShow {
  /** We send the capability. */
  advertised: boolean;
  /** The peer sent it in its last OPEN. */
  received: boolean;
  /** What that capability said: Restart Time (s), R bit, the families with their F bit. */
  peerRestartTime: number | null;
  peerRestartState: boolean;
  peerFamilies: { family: string; forwardingState: boolean }[];
  /** The peer's session went down and we keep its routes until it is back (Restart timer, §4.2). */
  restarting: boolean;
  /** Routes of the peer kept from before its restart, not refreshed yet. */
  staleRoutes: number;
  /** Seconds left on the Restart timer (while `restarting`) or on our stale timer (once it is back). */
  restartTimer: number | null;
  staleTimer: number | null;
  /** Helper episodes: sessions lost with the routes kept, and how they ended. */
  helped: number;
  staleDeleted: number;
}

function ipv4Text(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}
function ipv6Text(b: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return parts.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}
export function addressText(a: number | Uint8Array): string {
  return typeof a === 'number' ? ipv4Text(a) : ipv6Text(a);
}

function familyName(afi: number, safi: number): string {
  return afi === AFI_IPV4 && safi === SAFI_UNICAST
    ? 'ipv4-unicast'
    : afi === AFI_IPV6 && safi === SAFI_UNICAST
      ? 'ipv6-unicast'
      : `${afi}/${safi}`;
}

const DEFAULT_HOLD = 90;
const DEFAULT_CONNECT_RETRY = 120;
const DEFAULT_IDLE_HOLD = 5;

export class BgpPeer implements RouteSource {
  readonly ctx: EngineContext;
  readonly local = false;
  /** The BGP Identifier of the session's peer (the decision process's rule (f)). */
  remoteId = 0;
  cfg: BgpPeerConfig;
  readonly counters = new PeerCounters();
  /** Decoder outcomes by reason (RFC 7606 and the header/OPEN errors). */
  readonly errors = new BgpCounters();
  readonly conns: Connection[] = [];
  state: BgpState = 'Idle';
  /** Administratively up (started and not stopped). */
  enabled = false;
  connectRetryDeadline = Infinity;
  idleDeadline = Infinity;
  establishedAt = 0;
  lastError: string | null = null;
  /** Adj-RIB-In: what the peer announced (after RFC 7606, before policy). */
  readonly in4 = new Map<number, PathAttributes>();
  readonly in6 = new Map<string, Entry6>();
  /** Accepted into the Loc-RIB (passed import policy). */
  readonly accepted4 = new Set<number>();
  readonly accepted6 = new Set<string>();
  /** Adj-RIB-Out: what we advertised, after policy and the eBGP/iBGP changes. */
  readonly out4 = new Map<number, PathAttributes>();
  readonly out6 = new Map<string, PathAttributes>();
  /** Exports to re-evaluate for this peer at the next flush. */
  readonly dirty4 = new Set<number>();
  readonly dirty6 = new Set<string>();
  /** End-of-RIB still to send after the first flush. */
  private eorPending = false;
  // RFC 4724 §4.2, the Receiving Speaker: the peer's capability from its last OPEN, the routes of
  // its previous session kept (Adj-RIB-In keys), the Restart timer (the session is down) and our
  // stale timer (it is back, End-of-RIB awaited).
  grReceived: GracefulRestart | undefined = undefined;
  readonly stale4 = new Set<number>();
  readonly stale6 = new Set<string>();
  restartDeadline = Infinity;
  staleDeadline = Infinity;
  /** Families (AFI) whose End-of-RIB came on this session. */
  private readonly eorReceived = new Set<number>();
  private grHelped = 0;
  private grStaleDeleted = 0;

  constructor(ctx: EngineContext, cfg: BgpPeerConfig) {
    this.ctx = ctx;
    this.cfg = cfg;
  }

  get ebgp(): boolean {
    return this.cfg.remoteAs !== this.ctx.localAs;
  }
  get ibgp(): boolean {
    return this.cfg.remoteAs === this.ctx.localAs;
  }
  get name(): string {
    return this.cfg.name;
  }
  get address(): number | Uint8Array {
    return this.cfg.address;
  }
  get rrClient(): boolean {
    return this.ibgp && this.cfg.routeReflectorClient === true;
  }
  get family(): 4 | 6 {
    return typeof this.cfg.address === 'number' ? 4 : 6;
  }
  private get holdTime(): number {
    return this.cfg.holdTime ?? DEFAULT_HOLD;
  }
  private get families(): readonly ('ipv4' | 'ipv6')[] {
    return this.cfg.families ?? ['ipv4', 'ipv6'];
  }
  get session(): Connection | undefined {
    for (const c of this.conns) if (c.state === ConnState.ESTABLISHED) return c;
    return undefined;
  }

  matches(addr: number | Uint8Array): boolean {
    const a = this.cfg.address;
    if (typeof a === 'number' || typeof addr === 'number') return a === addr;
    for (let i = 0; i < 16; i++) if (a[i] !== addr[i]) return false;
    return true;
  }

  // ---- state ----

  private updateState(now: number): void {
    let best = -1;
    let connecting = false;
    for (const c of this.conns) {
      if (c.state === ConnState.CONNECTING) connecting = true;
      else if (c.state < ConnState.CLOSED && c.state > best) best = c.state;
    }
    const next: BgpState =
      best >= 0
        ? CONN_STATE_NAMES[best]!
        : connecting
          ? 'Connect'
          : this.enabled && this.idleDeadline === Infinity
            ? 'Active'
            : 'Idle';
    if (next === this.state) return;
    const from = this.state;
    this.state = next;
    this.counters.transitions++;
    if (next === 'Established') {
      this.counters.established++;
      this.establishedAt = now;
    }
    this.ctx.stateChanged(this, from, next, now);
  }

  // ---- lifecycle ----

  /** ManualStart / AutomaticStart (RFC 4271 §8.1.2). */
  start(now: number): void {
    this.enabled = true;
    this.idleDeadline = Infinity;
    if (this.cfg.passive) this.connectRetryDeadline = Infinity;
    else this.connect(now);
    this.updateState(now);
  }

  /** Closes every connection with a Cease (subcode) and leaves the peer Idle, disabled. */
  stop(now: number, subcode: number, text?: string): void {
    this.enabled = false;
    const data = text !== undefined ? shutdownData(text) : undefined;
    for (const c of [...this.conns]) {
      if (c.state >= ConnState.OPEN_SENT) this.notify(c, ERR_CEASE, subcode, data, now);
      this.drop(c, now);
    }
    // Routes kept for a restarting peer go too: we no longer wait for it.
    this.endGracefulRestart(now);
    this.connectRetryDeadline = Infinity;
    this.idleDeadline = Infinity;
    this.updateState(now);
  }

  /**
   * A client's word that the forwarding path to the peer failed (BFD Down, RFC 5882 §4.3): each
   * connection past OpenSent gets a Cease with subcode 10, "BFD Down" (RFC 9384, as FRR sends), and
   * closes. A NOTIFICATION ends graceful restart too: the peer's routes are withdrawn now, and the
   * peer starts again after idleHold. Returns whether a connection was closed.
   */
  forwardingFailed(now: number): boolean {
    let closed = false;
    for (const c of [...this.conns]) {
      if (c.closed || c.state < ConnState.OPEN_SENT) continue;
      this.errorCode(c, ERR_CEASE, CEASE_BFD_DOWN, now, undefined, 'BFD down');
      closed = true;
    }
    return closed;
  }

  /**
   * Closes every connection without a NOTIFICATION (our own graceful restart, RFC 4724 §4.1: the
   * peers keep our routes for our Restart Time) and leaves the peer Idle, disabled.
   */
  abandon(now: number): void {
    this.enabled = false;
    for (const c of [...this.conns]) this.drop(c, now, false);
    this.endGracefulRestart(now);
    this.connectRetryDeadline = Infinity;
    this.idleDeadline = Infinity;
    this.updateState(now);
  }

  /** Opens our connection (RFC 4271 §8.2.2 Idle/Active: initiate a TCP connection). */
  private connect(now: number): void {
    const so = this.ctx.sockets;
    const cfg = this.cfg;
    this.connectRetryDeadline = now + (cfg.connectRetry ?? DEFAULT_CONNECT_RETRY) * 1000 * this.ctx.jitter();
    const fd = so.socket('stream', 0, this.family);
    if (fd < 0) return;
    this.setSocketOptions(fd);
    if (cfg.password !== undefined && so.setTcpMd5Key(fd, md5Peer(cfg.address), md5Key(cfg.password)) !== 0) {
      this.lastError = 'cannot set the TCP MD5 key';
      so.close(fd, now);
      return;
    }
    const port = cfg.port ?? 179;
    let r: number;
    if (typeof cfg.address === 'number') {
      if (typeof cfg.localAddress === 'number') so.bind(fd, cfg.localAddress, 0);
      r = so.connect(fd, cfg.address, port, now);
    } else {
      if (cfg.localAddress instanceof Uint8Array) so.bind6(fd, cfg.localAddress, 0);
      r = so.connect6(fd, cfg.address, port, now);
    }
    if (r !== 0 && r !== -EINPROGRESS) {
      so.close(fd, now);
      return;
    }
    const c = new Connection(this, fd, true);
    this.conns.push(c);
    this.ctx.own(fd, c);
    if (r === 0) this.connected(c, now);
  }

  private setSocketOptions(fd: number): void {
    const so = this.ctx.sockets;
    so.setOption(fd, 'TCP_NODELAY', 1);
    if (!this.cfg.gtsm) return;
    // RFC 5082 §3: send with 255, accept only 255 - 0 hops (a directly connected peer).
    so.setOption(fd, this.family === 4 ? 'IP_TTL' : 'IPV6_UNICAST_HOPS', 255);
    so.setOption(fd, this.family === 4 ? 'IP_MINTTL' : 'IPV6_MINHOPCOUNT', 255);
  }

  /** A connection the peer opened to us (accepted by the engine). */
  incoming(fd: number, now: number): void {
    if (!this.enabled) {
      this.counters.connectionsRefused++;
      this.ctx.sockets.close(fd, now);
      return;
    }
    this.setSocketOptions(fd);
    const c = new Connection(this, fd, false);
    this.conns.push(c);
    this.ctx.own(fd, c);
    this.connected(c, now);
  }

  /** TCP is up: send OPEN (DelayOpen off), OpenSent. */
  private connected(c: Connection, now: number): void {
    const so = this.ctx.sockets;
    const ep: Endpoint = { family: 4, addr: 0, addr6: new Uint8Array(16), port: 0 };
    if (so.localAddress(c.fd, ep) === 0) {
      if (ep.family === 4) c.local4 = ep.addr >>> 0;
      else if (isMapped(ep.addr6)) c.local4 = mappedV4(ep.addr6);
      else c.local6 = ep.addr6.slice();
    }
    c.state = ConnState.OPEN_SENT;
    this.connectRetryDeadline = Infinity;
    c.holdDeadline = now + OPEN_SENT_HOLD_MS;
    this.send(c, encodeOpen(this.openSpec()), MSG_OPEN, now);
    this.updateState(now);
  }

  private openSpec() {
    const multiprotocol = this.families.map((f) => ({
      afi: f === 'ipv4' ? AFI_IPV4 : AFI_IPV6,
      safi: SAFI_UNICAST,
    }));
    const gr = this.ctx.gracefulRestart;
    // RFC 4724 §3: our Restart Time; the families only as a Restarting Speaker (a helper lists
    // none, as FRR's helper mode: peers then keep none of our routes); R while we defer selection
    // after a restart; no N bit (RFC 8538 is not implemented: a NOTIFICATION ends GR).
    const gracefulRestart: GracefulRestart | undefined =
      gr === undefined
        ? undefined
        : {
            restartState: this.ctx.deferring,
            notification: false,
            time: Math.min(gr.restartTime, 0xfff),
            families: gr.restart
              ? multiprotocol.map((f) => ({ ...f, forwardingState: gr.forwardingState }))
              : [],
          };
    return {
      as: this.ctx.localAs,
      holdTime: this.holdTime,
      bgpId: this.ctx.routerId,
      capabilities: {
        multiprotocol,
        routeRefresh: true,
        extendedMessage: true,
        ...(gracefulRestart !== undefined ? { gracefulRestart } : {}),
      },
    };
  }

  private localOpen(): OpenMessage {
    const s = this.openSpec();
    return {
      version: 4,
      myAs: s.as > 0xffff ? AS_TRANS : s.as,
      holdTime: s.holdTime,
      bgpId: s.bgpId,
      capabilities: { ...NO_CAPABILITIES, ...s.capabilities, fourOctetAs: s.as },
    };
  }

  // ---- I/O ----

  private send(c: Connection, bytes: Uint8Array, type: number, now: number): boolean {
    this.counters.messagesOut[type]!++;
    if (!c.write(bytes, now)) {
      this.fail(c, now, 'tcp', 'send failed');
      return false;
    }
    return true;
  }

  private notify(
    c: Connection,
    code: number,
    subcode: number,
    data: Uint8Array | undefined,
    now: number,
  ): void {
    count(this.counters.notificationsSent, `${code}/${subcode}`);
    this.lastError = `sent NOTIFICATION ${code}/${subcode}`;
    this.counters.messagesOut[MSG_NOTIFICATION]!++;
    c.write(encodeNotification(code, subcode, data), now);
  }

  /**
   * Closes c without a message: forgets it, and takes the session down if it was established.
   * `graceful`: the session ended without a NOTIFICATION, so graceful restart applies (§4.2).
   */
  private drop(c: Connection, now: number, graceful = false): boolean {
    if (c.closed) return false;
    const wasEstablished = c.state === ConnState.ESTABLISHED;
    c.state = ConnState.CLOSED;
    this.ctx.own(c.fd, null);
    this.ctx.sockets.close(c.fd, now);
    const i = this.conns.indexOf(c);
    if (i >= 0) this.conns.splice(i, 1);
    if (wasEstablished) this.sessionDown(now, graceful);
    return wasEstablished;
  }

  /**
   * c failed. 'error': a NOTIFICATION was sent or received, or the hold timer expired → Idle for
   * idleHold, then start again. 'tcp': the connection failed (before the session was up → Active,
   * ConnectRetry running). Other connections of the peer go on. Graceful restart (RFC 4724 §4.2)
   * applies to a TCP failure and, as `graceful` says, to the hold timer's expiry.
   */
  fail(c: Connection, now: number, how: 'error' | 'tcp', why: string, graceful = how === 'tcp'): void {
    if (c.closed) return;
    if (how === 'tcp') this.lastError = why;
    const wasEstablished = this.drop(c, now, graceful);
    if (this.conns.length === 0 && this.enabled) {
      if (how === 'error' || wasEstablished) {
        this.idleDeadline = now + (this.cfg.idleHold ?? DEFAULT_IDLE_HOLD) * 1000;
        this.connectRetryDeadline = Infinity;
      } else if (!this.cfg.passive) {
        this.connectRetryDeadline =
          now + (this.cfg.connectRetry ?? DEFAULT_CONNECT_RETRY) * 1000 * this.ctx.jitter();
      }
    }
    this.updateState(now);
  }

  private error(c: Connection, n: Notification, now: number): void {
    this.notify(c, n.code, n.subcode, n.data, now);
    this.fail(c, now, 'error', `sent NOTIFICATION ${n.code}/${n.subcode}`);
  }

  private errorCode(
    c: Connection,
    code: number,
    subcode: number,
    now: number,
    data?: Uint8Array,
    why?: string,
    graceful = false,
  ): void {
    this.notify(c, code, subcode, data, now);
    if (why !== undefined) this.lastError = `${why} (sent NOTIFICATION ${code}/${subcode})`;
    this.fail(c, now, 'error', this.lastError!, graceful);
  }

  /** Readiness of one of our sockets. */
  socketEvent(c: Connection, events: number, now: number): void {
    const so = this.ctx.sockets;
    if (c.state === ConnState.CONNECTING) {
      if ((events & (EV_WRITABLE | EV_ERROR | EV_HANGUP)) === 0) return;
      const err = so.getOption(c.fd, 'SO_ERROR');
      if (err !== 0 || events & EV_ERROR) {
        this.fail(c, now, 'tcp', `connect failed (errno ${err})`);
        return;
      }
      this.connected(c, now);
      if (c.closed) return;
    }
    if (events & EV_WRITABLE && !c.drain(now)) {
      this.fail(c, now, 'tcp', 'send failed');
      return;
    }
    if (events & (EV_READABLE | EV_HANGUP | EV_ERROR)) this.read(c, now);
  }

  private read(c: Connection, now: number): void {
    const so = this.ctx.sockets;
    while (!c.closed) {
      const room = c.in.length - c.inLen;
      const n = so.recv(c.fd, c.in, c.inLen, room, now);
      if (n === -EAGAIN) return;
      if (n <= 0) {
        this.fail(c, now, 'tcp', n === 0 ? 'connection closed by peer' : `recv failed (errno ${-n})`);
        return;
      }
      c.inLen += n;
      this.parse(c, now);
    }
  }

  /** Takes every complete message from c's stream buffer. */
  private parse(c: Connection, now: number): void {
    let off = 0;
    const buf = c.in;
    while (!c.closed && c.inLen - off >= BGP_HEADER_LEN) {
      const avail = c.inLen - off;
      const maxLength = c.decoder.maxLength;
      // A bad header is answered at once; a good one waits for its whole message, which fits the
      // buffer (twice the largest message) — the stream buffer never grows beyond that.
      const header = checkHeader(buf, off, maxLength);
      const len = messageLength(buf, off, avail);
      if (header === HEADER_OK && len > avail) break;
      const m = c.decoder.decode(buf, off, header === HEADER_OK ? len : avail);
      off += m.length;
      this.message(c, m, now);
      if (m.length === 0) break; // a header error: the connection is closed
    }
    if (c.closed) return;
    if (off > 0) {
      buf.copyWithin(0, off, c.inLen);
      c.inLen -= off;
    }
  }

  private message(c: Connection, m: BgpMessage, now: number): void {
    if (m.type > 0) this.counters.messagesIn[m.type]!++;
    if (m.action === Action.SESSION_RESET) {
      this.error(c, m.notification!, now);
      return;
    }
    if (m.type === MSG_NOTIFICATION) {
      const r = m.received!;
      count(this.counters.notificationsReceived, `${r.code}/${r.subcode}`);
      this.lastError = `received NOTIFICATION ${r.code}/${r.subcode}`;
      this.fail(c, now, 'error', this.lastError);
      return;
    }
    switch (c.state) {
      case ConnState.OPEN_SENT:
        if (m.type === MSG_OPEN) this.receiveOpen(c, m.open!, now);
        else this.errorCode(c, ERR_FSM, FSM_IN_OPENSENT, now);
        return;
      case ConnState.OPEN_CONFIRM:
        if (m.type === MSG_KEEPALIVE) this.establish(c, now);
        else this.errorCode(c, ERR_FSM, FSM_IN_OPENCONFIRM, now);
        return;
      case ConnState.ESTABLISHED:
        this.restartHold(c, now);
        if (m.type === MSG_UPDATE) this.receiveUpdate(c, m, now);
        else if (m.type === MSG_ROUTE_REFRESH) this.receiveRefresh(c, m, now);
        else if (m.type === MSG_OPEN) this.errorCode(c, ERR_FSM, FSM_IN_ESTABLISHED, now);
        return;
    }
  }

  private restartHold(c: Connection, now: number): void {
    const hold = c.negotiated!.holdTime;
    c.holdDeadline = hold === 0 ? Infinity : now + hold * 1000;
  }

  // ---- OPEN ----

  private receiveOpen(c: Connection, open: OpenMessage, now: number): void {
    const peerAs = peerAsOf(open);
    if (peerAs !== this.cfg.remoteAs) {
      this.errorCode(c, ERR_OPEN, SUB_BAD_PEER_AS, now);
      return;
    }
    // RFC 6286 §2.2: zero is refused by the decoder; our own identifier only from an internal peer.
    if (!this.ebgp && open.bgpId === this.ctx.routerId) {
      const d = Uint8Array.of(open.bgpId >>> 24, open.bgpId >>> 16, open.bgpId >>> 8, open.bgpId);
      this.errorCode(c, ERR_OPEN, SUB_BAD_BGP_IDENTIFIER, now, d);
      return;
    }
    c.remoteOpen = open;
    const n = negotiate(this.localOpen(), open);
    c.negotiated = n;
    c.decoder.setSession({
      as4: n.as4,
      extendedMessage: n.extendedMessage,
      ebgp: this.ebgp,
      peerAs: this.cfg.remoteAs,
    });
    if (n.extendedMessage && c.in.length < 2 * n.maxLength) {
      const bigger = new Uint8Array(2 * n.maxLength);
      bigger.set(c.in.subarray(0, c.inLen));
      c.in = bigger;
    }
    c.encoder = new UpdateEncoder({ as4: n.as4, extendedMessage: n.extendedMessage });
    c.state = ConnState.OPEN_CONFIRM;
    // Collision detection (RFC 4271 §6.8) against the peer's other connection.
    if (!this.resolveCollision(c, open, now)) return;
    if (!this.send(c, encodeKeepalive(), MSG_KEEPALIVE, now)) return;
    this.restartHold(c, now);
    this.scheduleKeepalive(c, now);
    this.updateState(now);
  }

  /** Returns false when c itself was closed. */
  private resolveCollision(c: Connection, open: OpenMessage, now: number): boolean {
    for (const o of this.conns) {
      if (o === c || o.closed) continue;
      if (o.state === ConnState.ESTABLISHED) {
        // RFC 4724 §4.2: a new connection from a peer that advertised graceful restart means it
        // restarted; the old session is treated as terminated (its routes kept as stale).
        if (this.ctx.gracefulRestart !== undefined && o.remoteOpen?.capabilities.gracefulRestart) {
          this.drop(o, now, true);
          continue;
        }
        this.collide(c, now);
        return false;
      }
      if (o.state !== ConnState.OPEN_CONFIRM) continue;
      // The connection opened by the speaker with the higher BGP Identifier survives; with equal
      // identifiers (eBGP, RFC 6286 §2.3), the one opened by the speaker with the larger AS.
      const local = this.ctx.routerId >>> 0;
      const remote = open.bgpId >>> 0;
      const keepOurs = local !== remote ? local > remote : this.ctx.localAs > this.cfg.remoteAs;
      const victim = c.outgoing === keepOurs ? o : c;
      this.collide(victim, now);
      return victim !== c;
    }
    return true;
  }

  private collide(victim: Connection, now: number): void {
    this.notify(victim, ERR_CEASE, CEASE_COLLISION, undefined, now);
    this.drop(victim, now);
    this.updateState(now);
  }

  private scheduleKeepalive(c: Connection, now: number): void {
    const hold = c.negotiated!.holdTime;
    if (hold === 0) {
      c.keepaliveDeadline = Infinity;
      return;
    }
    const ka = this.cfg.keepalive !== undefined ? Math.min(this.cfg.keepalive, hold / 3) : hold / 3;
    c.keepaliveDeadline = now + Math.max(1, Math.floor(ka)) * 1000;
  }

  private establish(c: Connection, now: number): void {
    c.state = ConnState.ESTABLISHED;
    this.remoteId = c.remoteOpen!.bgpId >>> 0;
    this.restartHold(c, now);
    // Our own connection attempt still under way is no longer needed.
    for (const o of [...this.conns]) if (o !== c && o.state === ConnState.CONNECTING) this.drop(o, now);
    this.updateState(now);
    // The first flush sends every export, then End-of-RIB (RFC 4724 §2) per family.
    this.markAllDirty(0);
    this.eorPending = true;
    this.eorReceived.clear();
    this.grReceived = c.remoteOpen!.capabilities.gracefulRestart;
    this.restartDeadline = Infinity;
    // RFC 4724 §4.2: the peer is back. Stale routes of a family it no longer lists with the F bit
    // (or not negotiated now) go at once; the others wait for its End-of-RIB or our stale timer.
    if (this.stale4.size > 0 || this.stale6.size > 0) {
      const gr = this.ctx.gracefulRestart === undefined ? undefined : this.grReceived;
      for (const afi of [AFI_IPV4, AFI_IPV6]) {
        const kept =
          gr?.families.some((f) => f.afi === afi && f.safi === SAFI_UNICAST && f.forwardingState) === true &&
          this.negotiatedFamily(c, afi);
        if (!kept) this.deleteStale(afi, now);
      }
      if (this.stale4.size > 0 || this.stale6.size > 0)
        this.staleDeadline = now + this.ctx.gracefulRestart!.staleTime * 1000;
    }
    this.ctx.initialRibChanged(now);
  }

  /**
   * Whether the peer's session has delivered its initial routes, for our selection deferral after
   * a restart (RFC 4724 §4.1): End-of-RIB for every family, or the peer does not take part (no
   * capability, or it restarted too: its R bit).
   */
  get initialRibDone(): boolean {
    const c = this.session;
    if (c === undefined) return false;
    const gr = c.remoteOpen!.capabilities.gracefulRestart;
    if (gr === undefined || gr.restartState) return true;
    return c.negotiated!.families.every((f) => this.eorReceived.has(f.afi));
  }

  /** End-of-RIB for a family (RFC 4724 §2): stale routes of it not refreshed meanwhile go. */
  private endOfRib(afi: number, now: number): void {
    this.eorReceived.add(afi);
    this.deleteStale(afi, now);
    if (this.stale4.size === 0 && this.stale6.size === 0) this.staleDeadline = Infinity;
    this.ctx.initialRibChanged(now);
  }

  /** Deletes the stale routes of one family (AFI), or of both (0). */
  private deleteStale(afi: number, now: number): void {
    if (afi !== AFI_IPV6) {
      this.grStaleDeleted += this.stale4.size;
      for (const k of this.stale4) {
        this.in4.delete(k);
        if (this.accepted4.delete(k)) this.ctx.learn4(this, k, Math.floor(k / 64), k % 64, null, now);
      }
      this.stale4.clear();
    }
    if (afi !== AFI_IPV4) {
      this.grStaleDeleted += this.stale6.size;
      for (const k of this.stale6) {
        const e = this.in6.get(k);
        this.in6.delete(k);
        if (this.accepted6.delete(k) && e !== undefined)
          this.ctx.learn6(this, k, e.network, e.length, null, now);
      }
      this.stale6.clear();
    }
  }

  /** Graceful restart is over for this peer: what is still stale goes, the timers stop. */
  private endGracefulRestart(now: number): void {
    this.deleteStale(0, now);
    this.restartDeadline = this.staleDeadline = Infinity;
  }

  private sessionDown(now: number, graceful: boolean): void {
    this.counters.flaps++;
    // RFC 4724 §4.2: a peer that advertised graceful restart lost its session without a
    // NOTIFICATION: its routes of the families it listed (and we negotiated) stay, marked stale,
    // for its Restart Time. A Restart Time of 0 keeps nothing.
    const gr = this.grReceived;
    let keep4 = false;
    let keep6 = false;
    if (graceful && gr !== undefined && this.ctx.gracefulRestart !== undefined && gr.time > 0) {
      const listed = (afi: number) => gr.families.some((f) => f.afi === afi && f.safi === SAFI_UNICAST);
      keep4 = listed(AFI_IPV4);
      keep6 = listed(AFI_IPV6);
    }
    if (keep4) for (const k of this.in4.keys()) this.stale4.add(k);
    else {
      // The Loc-RIB selects again each prefix this peer had a route to (and only those).
      for (const k of this.accepted4) this.ctx.learn4(this, k, Math.floor(k / 64), k % 64, null, now);
      this.in4.clear();
      this.accepted4.clear();
      this.stale4.clear();
    }
    if (keep6) for (const k of this.in6.keys()) this.stale6.add(k);
    else {
      for (const k of this.accepted6) {
        const e = this.in6.get(k);
        if (e !== undefined) this.ctx.learn6(this, k, e.network, e.length, null, now);
      }
      this.in6.clear();
      this.accepted6.clear();
      this.stale6.clear();
    }
    if (keep4 || keep6) {
      this.grHelped++;
      this.restartDeadline = now + gr!.time * 1000;
      this.staleDeadline = Infinity;
    } else this.restartDeadline = this.staleDeadline = Infinity;
    this.eorReceived.clear();
    this.out4.clear();
    this.out6.clear();
    this.dirty4.clear();
    this.dirty6.clear();
    this.eorPending = false;
  }

  // ---- timers ----

  /** Runs the peer's expired timers; returns its next deadline. */
  poll(now: number): number {
    // RFC 4724 §4.2: the peer did not come back within its Restart Time, or did not finish
    // (End-of-RIB) within our stale time: its stale routes go.
    if (this.restartDeadline <= now || this.staleDeadline <= now) this.endGracefulRestart(now);
    if (this.idleDeadline <= now) {
      this.idleDeadline = Infinity;
      if (this.enabled) this.start(now);
    }
    if (this.connectRetryDeadline <= now) {
      this.connectRetryDeadline = Infinity;
      for (const c of [...this.conns]) if (c.state === ConnState.CONNECTING) this.drop(c, now);
      if (this.enabled && !this.cfg.passive && this.conns.length === 0) this.connect(now);
      this.updateState(now);
    }
    for (const c of [...this.conns]) {
      if (c.closed) continue;
      if (c.holdDeadline <= now) {
        // A peer that went silent has most likely lost its process (a crash or a hang, and a
        // user-space stack such as ours leaves no RST behind): graceful restart applies, the
        // NOTIFICATION cannot reach it anyway. Other NOTIFICATIONs end it (no N bit, RFC 8538).
        this.errorCode(c, ERR_HOLD_TIMER, 0, now, undefined, 'hold timer expired', true);
        continue;
      }
      if (c.keepaliveDeadline <= now) {
        if (!this.send(c, encodeKeepalive(), MSG_KEEPALIVE, now)) continue;
        this.scheduleKeepalive(c, now);
      }
    }
    const s = this.session;
    if (s !== undefined && (this.dirty4.size > 0 || this.dirty6.size > 0 || this.eorPending))
      this.flush(s, now);
    return this.deadline();
  }

  /** The earliest of the peer's timers. */
  deadline(): number {
    let next = Math.min(
      this.idleDeadline,
      this.connectRetryDeadline,
      this.restartDeadline,
      this.staleDeadline,
    );
    for (const c of this.conns) next = Math.min(next, c.holdDeadline, c.keepaliveDeadline);
    return next;
  }

  /** Something to flush: the engine asks for an immediate poll. */
  get pending(): boolean {
    return (
      !this.ctx.deferring &&
      this.session !== undefined &&
      (this.dirty4.size > 0 || this.dirty6.size > 0 || this.eorPending)
    );
  }

  // ---- import ----

  private negotiatedFamily(c: Connection, afi: number): boolean {
    for (const f of c.negotiated!.families) if (f.afi === afi && f.safi === SAFI_UNICAST) return true;
    return false;
  }

  private receiveUpdate(c: Connection, m: BgpMessage, now: number): void {
    if (m.action === Action.IGNORE) return;
    const u = m.update;
    const eor = u.endOfRib();
    if (eor !== 0) {
      if ((eor & 0xff) === SAFI_UNICAST) this.endOfRib(eor >> 8, now);
      return;
    }
    const withdrawAnnounced = m.action === Action.TREAT_AS_WITHDRAW;
    const attrs = withdrawAnnounced ? null : (u.attrs ?? null);
    this.counters.prefixesAnnouncedIn += u.announced;
    this.counters.prefixesWithdrawnIn += u.withdrawnCount;
    if (withdrawAnnounced) count(this.counters.rejected, 'treat-as-withdraw');
    const v4 = this.negotiatedFamily(c, AFI_IPV4);
    const v6 = this.negotiatedFamily(c, AFI_IPV6);
    this.lists4(u, v4, attrs, now);
    if (v6) {
      const l = u.mpUnreach6;
      for (let i = 0; i < l.count; i++) this.import6(l.bytes, i * 16, l.lengths[i]!, null, now);
      const r = u.mpReach6;
      for (let i = 0; i < r.count; i++) this.import6(r.bytes, i * 16, r.lengths[i]!, attrs, now);
    } else if (u.mpReach6.count + u.mpUnreach6.count > 0) {
      count(this.counters.rejected, 'family-not-negotiated');
    }
    const max = this.cfg.maxPrefixes;
    if (max !== undefined && this.in4.size + this.in6.size > max) {
      const afi = u.mpReach6.count > 0 ? AFI_IPV6 : AFI_IPV4;
      const d = Uint8Array.of(0, afi, SAFI_UNICAST, max >>> 24, max >>> 16, max >>> 8, max);
      this.errorCode(c, ERR_CEASE, CEASE_MAX_PREFIXES, now, d, `maximum prefixes (${max}) exceeded`);
    }
  }

  private lists4(u: UpdateMessage, v4: boolean, attrs: PathAttributes | null, now: number): void {
    if (!v4) {
      if (u.withdrawn.count + u.nlri.count + u.mpReach4.count + u.mpUnreach4.count > 0)
        count(this.counters.rejected, 'family-not-negotiated');
      return;
    }
    for (const l of [u.withdrawn, u.mpUnreach4])
      for (let i = 0; i < l.count; i++) this.import4(l.networks[i]! >>> 0, l.lengths[i]!, null, now);
    for (const l of [u.nlri, u.mpReach4])
      for (let i = 0; i < l.count; i++) this.import4(l.networks[i]! >>> 0, l.lengths[i]!, attrs, now);
  }

  private import4(network: number, length: number, attrs: PathAttributes | null, now: number): void {
    const k = key4(network, length);
    // Only graceful restart leaves stale routes: no hash lookup per prefix otherwise.
    if (this.stale4.size > 0) this.stale4.delete(k);
    if (attrs === null) {
      if (!this.in4.delete(k)) return;
    } else this.in4.set(k, attrs);
    this.evaluate4(k, network, length, attrs, now);
  }

  private import6(
    bytes: Uint8Array,
    off: number,
    length: number,
    attrs: PathAttributes | null,
    now: number,
  ): void {
    const k = key6(bytes, off, length);
    if (this.stale6.size > 0) this.stale6.delete(k);
    if (attrs === null) {
      if (!this.in6.delete(k)) return;
    } else {
      const e = this.in6.get(k);
      if (e !== undefined) e.attrs = attrs;
      else this.in6.set(k, { network: bytes.slice(off, off + 16), length, attrs });
    }
    const e = this.in6.get(k);
    this.evaluate6(k, e?.network ?? bytes.slice(off, off + 16), length, attrs, now);
  }

  /** Import policy (RFC 8212 for eBGP) and sanity: the attributes to import, or null. */
  private importAttrs(
    afi: 1 | 2,
    network: number | Uint8Array,
    length: number,
    attrs: PathAttributes,
  ): PathAttributes | null {
    if (this.ebgp && attrs.asPath !== undefined) {
      for (const seg of attrs.asPath)
        if (seg.asns.includes(this.ctx.localAs)) {
          count(this.counters.rejected, 'as-loop');
          return null;
        }
    }
    // RFC 4456 §8: a route we reflected ourselves, come back.
    if (attrs.originatorId !== undefined && attrs.originatorId >>> 0 === this.ctx.routerId >>> 0) {
      count(this.counters.rejected, 'originator-id-loop');
      return null;
    }
    if (attrs.clusterList?.includes(this.ctx.clusterId) === true) {
      count(this.counters.rejected, 'cluster-list-loop');
      return null;
    }
    let a = attrs;
    // ORIGINATOR_ID and CLUSTER_LIST belong inside an AS (RFC 4456 §8): from an external peer they
    // would only sway the decision process (rules (f) and after); BIRD discards them too.
    if (this.ebgp && (a.originatorId !== undefined || a.clusterList !== undefined))
      a = this.ctx.table.intern(makeAttributes({ ...a, originatorId: undefined, clusterList: undefined }));
    const policy = this.cfg.import;
    if (policy === undefined) {
      if (!this.ebgp) return a;
      count(this.counters.rejected, 'no-policy-rfc8212');
      return null;
    }
    const r = policy({ afi, network, length, attrs: a, peer: this.cfg.name });
    if (r === null) count(this.counters.rejected, 'policy');
    // Interned, so that the Loc-RIB sees an unchanged route as the same object.
    return r === null || r === a ? r : this.ctx.table.intern(r);
  }

  private evaluate4(
    k: number,
    network: number,
    length: number,
    attrs: PathAttributes | null,
    now: number,
  ): void {
    let use = attrs === null ? null : this.importAttrs(1, network, length, attrs);
    let nh: number | undefined;
    if (use !== null) {
      nh = use.nextHop ?? (use.mpNextHop?.length === 4 ? readV4(use.mpNextHop, 0) : undefined);
      if (nh === undefined) {
        count(this.counters.rejected, 'no-next-hop');
        use = null;
      }
    }
    if (use !== null) {
      this.accepted4.add(k);
      this.ctx.learn4(this, k, network, length, { nextHop: nh!, attrs: use }, now);
    } else if (this.accepted4.delete(k)) this.ctx.learn4(this, k, network, length, null, now);
  }

  private evaluate6(
    k: string,
    network: Uint8Array,
    length: number,
    attrs: PathAttributes | null,
    now: number,
  ): void {
    let use = attrs === null ? null : this.importAttrs(2, network, length, attrs);
    let nh: Uint8Array | undefined;
    if (use !== null) {
      const m = use.mpNextHop;
      // RFC 2545 §3: the global address first (a link-local one may follow).
      nh = m !== undefined && m.length >= 16 ? m.subarray(0, 16) : undefined;
      if (nh === undefined) {
        count(this.counters.rejected, 'no-next-hop');
        use = null;
      }
    }
    if (use !== null) {
      this.accepted6.add(k);
      this.ctx.learn6(this, k, network, length, { nextHop: nh!, attrs: use }, now);
    } else if (this.accepted6.delete(k)) this.ctx.learn6(this, k, network, length, null, now);
  }

  /** The import policy changed: re-evaluate the Adj-RIB-In (no route refresh needed). */
  reimport(now: number): void {
    for (const [k, attrs] of this.in4) this.evaluate4(k, Math.floor(k / 64), k % 64, attrs, now);
    for (const [k, e] of this.in6) this.evaluate6(k, e.network, e.length, e.attrs, now);
  }

  private receiveRefresh(c: Connection, m: BgpMessage, now: number): void {
    const rr = m.routeRefresh;
    if (m.action === Action.IGNORE || rr.safi !== SAFI_UNICAST || !this.negotiatedFamily(c, rr.afi)) return;
    // RFC 2918 §4: re-advertise the Adj-RIB-Out of that family.
    if (rr.afi === AFI_IPV4) {
      this.out4.clear();
      for (const k of this.ctx.rib4.keys()) this.dirty4.add(k);
    } else {
      this.out6.clear();
      for (const k of this.ctx.rib6.keys()) this.dirty6.add(k);
    }
    this.flush(c, now);
  }

  /** Asks the peer to send its routes again (RFC 2918), when it said it can. */
  requestRefresh(now: number): boolean {
    const c = this.session;
    if (c === undefined || !c.negotiated!.routeRefresh) return false;
    for (const f of c.negotiated!.families)
      this.send(c, encodeRouteRefresh(f.afi, f.safi), MSG_ROUTE_REFRESH, now);
    return true;
  }

  // ---- export ----

  /** Marks exports for re-evaluation: 0 both families, else one AFI. */
  markAllDirty(afi: number): void {
    if (afi !== AFI_IPV6) {
      for (const k of this.ctx.rib4.keys()) this.dirty4.add(k);
      for (const k of this.out4.keys()) this.dirty4.add(k);
    }
    if (afi !== AFI_IPV4) {
      for (const k of this.ctx.rib6.keys()) this.dirty6.add(k);
      for (const k of this.out6.keys()) this.dirty6.add(k);
    }
  }

  /**
   * What we advertise to this peer of a Loc-RIB best route, or null: the propagation rules, the
   * export policy (RFC 8212), then the changes eBGP and iBGP make (RFC 4271 §5.1, RFC 4456 §8).
   */
  private exportAttrs(
    c: Connection,
    afi: 1 | 2,
    network: number | Uint8Array,
    length: number,
    best: Candidate<unknown>,
  ): PathAttributes | null {
    if (!this.negotiatedFamily(c, afi)) return null;
    const from = best.source;
    // Never back to the peer it came from: it has it, and it is its own best path.
    if (from === this) return null;
    // RFC 4271 §9.2: a route learned from an internal peer goes to no other internal peer, but
    // for RFC 4456 §6 reflection: from a client to every peer, from a non-client to the clients.
    const reflected = from.ibgp && this.ibgp;
    if (reflected && !from.rrClient && !this.rrClient) return null;
    // Nor to the router that originated it in the AS: it would drop it (RFC 4456 §8), as FRR skips.
    if (this.ibgp && best.attrs.originatorId !== undefined && best.attrs.originatorId >>> 0 === this.remoteId)
      return null;
    let given = best.attrs;
    // RFC 4271 §5.1.4: a MED received from a neighbouring AS is not propagated to other
    // neighbouring ASes (before the policy, which may set one; ours keep theirs).
    if (this.ebgp && !from.local && given.med !== undefined)
      given = makeAttributes({ ...given, med: undefined });
    const policy = this.cfg.export;
    let a: PathAttributes | null = given;
    if (policy !== undefined) a = policy({ afi, network, length, attrs: given, peer: this.cfg.name });
    else if (this.ebgp) {
      count(this.counters.rejected, 'export-no-policy-rfc8212');
      return null;
    }
    if (a === null) return null;
    const ebgp = this.ebgp;
    let asPath = a.asPath ?? [];
    if (ebgp) asPath = prepend(asPath, this.ctx.localAs);
    let nextHop: number | undefined;
    let mpNextHop: Uint8Array | undefined;
    // Next hop self: always to eBGP; to iBGP when asked, but not on reflected routes (RFC 4456
    // §10: a reflector does not change the path, as FRR's next-hop-self without "force").
    const self = ebgp || (this.cfg.nextHopSelf === true && !reflected);
    if (afi === 1) {
      nextHop = self || a.nextHop === undefined ? (c.local4 ?? this.cfg.nextHop4) : a.nextHop;
      if (nextHop === undefined) return null;
    } else {
      const given6 =
        a.mpNextHop !== undefined && a.mpNextHop.length >= 16 ? a.mpNextHop.subarray(0, 16) : undefined;
      mpNextHop = self || given6 === undefined ? (c.local6 ?? this.cfg.nextHop6) : given6;
      if (mpNextHop === undefined) return null;
    }
    // RFC 4456 §8: reflecting, the originator's identifier (unless there is one) and our
    // CLUSTER_ID first on the CLUSTER_LIST; both are optional non-transitive: never to eBGP.
    let originatorId = a.originatorId;
    let clusterList = a.clusterList;
    if (ebgp) originatorId = clusterList = undefined;
    else if (reflected) {
      originatorId ??= from.remoteId;
      clusterList = [this.ctx.clusterId, ...(clusterList ?? [])];
    }
    return this.ctx.table.intern(
      makeAttributes({
        ...a,
        origin: a.origin ?? 0,
        asPath,
        nextHop,
        mpNextHop,
        localPref: ebgp ? undefined : (a.localPref ?? 100),
        originatorId,
        clusterList,
      }),
    );
  }

  /** Sends the changes of the dirty exports to the established session c. */
  flush(c: Connection, now: number): void {
    // After our restart, nothing is advertised until selection has run (RFC 4724 §4.1).
    if (this.ctx.deferring) return;
    const enc = c.encoder!;
    const withdraw4: number[] = [];
    const announce4 = new Map<PathAttributes, number[]>();
    for (const k of this.dirty4) {
      const e = this.ctx.rib4.get(k);
      const best = e?.best;
      const want = best === undefined ? null : this.exportAttrs(c, 1, e!.network, e!.length, best);
      const had = this.out4.get(k);
      if ((want ?? undefined) === had) continue;
      if (want === null) {
        this.out4.delete(k);
        withdraw4.push(k);
      } else {
        this.out4.set(k, want);
        let g = announce4.get(want);
        if (g === undefined) {
          g = [];
          announce4.set(want, g);
        }
        g.push(k);
      }
    }
    this.dirty4.clear();
    const withdraw6: Uint8Array[] = [];
    const wlen6: number[] = [];
    const announce6 = new Map<PathAttributes, { network: Uint8Array; length: number }[]>();
    for (const k of this.dirty6) {
      const e = this.ctx.rib6.get(k);
      const best = e?.best;
      const want = best === undefined ? null : this.exportAttrs(c, 2, e!.network, e!.length, best);
      const had = this.out6.get(k);
      if ((want ?? undefined) === had) continue;
      if (want === null) {
        this.out6.delete(k);
        const [hex, len] = k.split('/') as [string, string];
        const b = new Uint8Array(16);
        for (let i = 0; i < hex.length / 2; i++) b[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
        withdraw6.push(b);
        wlen6.push(Number(len));
      } else {
        this.out6.set(k, want);
        let g = announce6.get(want);
        if (g === undefined) {
          g = [];
          announce6.set(want, g);
        }
        g.push(e!);
      }
    }
    this.dirty6.clear();
    let messages = 0;
    if (withdraw4.length > 0) {
      const nets = new Uint32Array(withdraw4.length);
      const lens = new Uint8Array(withdraw4.length);
      withdraw4.forEach((k, i) => {
        nets[i] = Math.floor(k / 64);
        lens[i] = k % 64;
      });
      messages += enc.withdraw4(nets, lens, 0, nets.length);
      this.counters.prefixesWithdrawnOut += nets.length;
    }
    if (withdraw6.length > 0) {
      const bytes = new Uint8Array(16 * withdraw6.length);
      for (let i = 0; i < withdraw6.length; i++) bytes.set(withdraw6[i]!, 16 * i);
      messages += enc.withdraw6(bytes, Uint8Array.from(wlen6), 0, wlen6.length);
      this.counters.prefixesWithdrawnOut += wlen6.length;
    }
    for (const [attrs, keys] of announce4) {
      const nets = new Uint32Array(keys.length);
      const lens = new Uint8Array(keys.length);
      keys.forEach((k, i) => {
        nets[i] = Math.floor(k / 64);
        lens[i] = k % 64;
      });
      const n = enc.announce4(attrs, nets, lens, 0, nets.length);
      if (n === ENCODE_TOO_LARGE) count(this.counters.rejected, 'export-too-large');
      else {
        messages += n;
        this.counters.prefixesAnnouncedOut += nets.length;
      }
    }
    for (const [attrs, list] of announce6) {
      const bytes = new Uint8Array(16 * list.length);
      const lens = new Uint8Array(list.length);
      list.forEach((e, i) => {
        bytes.set(e.network.subarray(0, 16), 16 * i);
        lens[i] = e.length;
      });
      const n = enc.announce6(attrs, bytes, lens, 0, list.length);
      if (n === ENCODE_TOO_LARGE) count(this.counters.rejected, 'export-too-large');
      else {
        messages += n;
        this.counters.prefixesAnnouncedOut += list.length;
      }
    }
    if (this.eorPending) {
      this.eorPending = false;
      for (const f of c.negotiated!.families) {
        enc.endOfRib(f.afi, f.safi);
        messages++;
      }
    }
    if (messages === 0) return;
    this.counters.messagesOut[MSG_UPDATE]! += messages;
    const bytes = enc.take();
    if (!c.write(bytes, now)) this.fail(c, now, 'tcp', 'send failed');
  }

  // ---- show ----

  private grShow(now: number): GracefulRestartShow {
    const gr = this.grReceived;
    const left = (t: number) => (t === Infinity ? null : Math.max(0, Math.ceil((t - now) / 1000)));
    return {
      advertised: this.ctx.gracefulRestart !== undefined,
      received: gr !== undefined,
      peerRestartTime: gr?.time ?? null,
      peerRestartState: gr?.restartState ?? false,
      peerFamilies: (gr?.families ?? []).map((f) => ({
        family: familyName(f.afi, f.safi),
        forwardingState: f.forwardingState,
      })),
      restarting: this.restartDeadline !== Infinity,
      staleRoutes: this.stale4.size + this.stale6.size,
      restartTimer: left(this.restartDeadline),
      staleTimer: left(this.staleDeadline),
      helped: this.grHelped,
      staleDeleted: this.grStaleDeleted,
    };
  }

  show(now: number): PeerShow {
    const c = this.session ?? this.conns.find((x) => x.negotiated !== undefined);
    const n = c?.negotiated;
    const ka =
      n === undefined || n.holdTime === 0
        ? null
        : Math.max(
            1,
            Math.floor(
              this.cfg.keepalive !== undefined
                ? Math.min(this.cfg.keepalive, n.holdTime / 3)
                : n.holdTime / 3,
            ),
          );
    return {
      name: this.cfg.name,
      address: addressText(this.cfg.address),
      remoteAs: this.cfg.remoteAs,
      type: this.ebgp ? 'ebgp' : 'ibgp',
      state: this.state,
      uptime: this.state === 'Established' ? Math.floor((now - this.establishedAt) / 1000) : 0,
      remoteId: c?.remoteOpen !== undefined ? addressText(c.remoteOpen.bgpId >>> 0) : null,
      holdTime: n?.holdTime ?? null,
      keepalive: ka,
      capabilities:
        n === undefined
          ? null
          : {
              families: n.families.map((f) => familyName(f.afi, f.safi)),
              as4: n.as4,
              routeRefresh: n.routeRefresh,
              extendedMessage: n.extendedMessage,
            },
      gracefulRestart: this.grShow(now),
      prefixes: {
        received: this.in4.size + this.in6.size,
        accepted: this.accepted4.size + this.accepted6.size,
        advertised: this.out4.size + this.out6.size,
      },
      lastError: this.lastError,
      gtsm: this.cfg.gtsm ? 'ttl 255 sent, 255 required' : 'off',
      md5: this.cfg.password !== undefined,
      counters: this.counters.toJSON(),
      errors: this.errors.toJSON(),
    };
  }
}

/** The peer a TCP MD5 key is for, as the socket layer takes it. */
export function md5Peer(address: number | Uint8Array): Md5Peer {
  return typeof address === 'number'
    ? { family: 4, addr: address >>> 0, addr6: new Uint8Array(16) }
    : { family: 6, addr: 0, addr6: address };
}

export function md5Key(password: string): Uint8Array {
  return new TextEncoder().encode(password);
}

function prepend(path: readonly AsPathSegment[], as: number): AsPathSegment[] {
  const first = path[0];
  if (first !== undefined && first.type === AS_SEQUENCE && first.asns.length < 255)
    return [{ type: AS_SEQUENCE, asns: [as, ...first.asns] }, ...path.slice(1)];
  return [{ type: AS_SEQUENCE, asns: [as] }, ...path];
}

function readV4(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

function isMapped(a: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  return a[10] === 0xff && a[11] === 0xff;
}
function mappedV4(a: Uint8Array): number {
  return readV4(a, 12);
}

export { isMapped, mappedV4 };

/** RFC 8203/9003 shutdown communication: a length octet and at most 255 octets of UTF-8. */
function shutdownData(text: string): Uint8Array {
  const t = new TextEncoder().encode(text).subarray(0, 255);
  const d = new Uint8Array(1 + t.length);
  d[0] = t.length;
  d.set(t, 1);
  return d;
}
