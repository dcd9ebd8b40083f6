// The remote socket server of a VR (docs/remote-socket-protocol.md): a SOCK_SEQPACKET control socket
// whose clients open TCP and UDP sockets in the VR's stack, each relayed to a socketpair whose other
// end the client holds as an ordinary descriptor.
import { lstatSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  foreignCloser,
  loadUnix,
  POLL_ADD,
  POLL_MOD,
  RECV_TRUNC,
  UNIX_SOCK_SEQPACKET,
  UNIX_SOCK_STREAM,
  type UnixNative,
  type UnixPollSet,
  type UnixWatch,
  WATCH_HANGUP_ONLY,
  WATCH_HUNG_UP,
  WATCH_READABLE,
  WATCH_WRITABLE,
} from '@nexthop/native';
import {
  ACCEPT_NONBLOCK,
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  CONNECT_FILLER,
  CONNECT_FILLER_BYTES,
  CONNECT_UNSPEC,
  type ControlMessage,
  decodeControl,
  type Endpoint,
  EOPNOTSUPP,
  EPROTO,
  encode,
  encodeControl,
  IPPROTO_TCP,
  IPPROTO_UDP,
  MAX_MESSAGE,
  negotiateVersion,
  newEndpoint,
  RSOCK_MAX_VERSION,
  RSOCK_MIN_VERSION,
  RSOCK_VERSION,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOCKET_CONNECT_FILLER,
  SOCKET_CONNECT_WAIT,
  type SocketConnect,
  STATE_BOUND,
  STATE_CONNECTED,
  STATE_CONNECTING,
  STATE_DGRAM_V2,
  STATE_LISTENING,
  STATE_PKTINFO,
  STATE_SHUT_RD,
  STATE_SHUT_WR,
} from '@nexthop/rsock-proto';
import { EV_ERROR, EV_HANGUP, EV_WRITABLE, errno, SockAddr, type SocketLayer } from '@nexthop/stack';
import {
  bindTo,
  connectTo,
  copySockAddr,
  endpointOf,
  socketFamilyRefusal,
  stackAddressOf,
  stackFamily,
} from './address.ts';
import { decodeOption, encodeOption, isSoError, optionName } from './options.ts';
import { type Account, QuotaLedger, type RsockQuotas } from './quota.ts';
import { DgramRelay, PAIR_READABLE, PAIR_WRITABLE, RelayContext, StreamRelay } from './relay.ts';

const {
  EACCES,
  EAGAIN,
  EALREADY,
  EBADF,
  ECONNRESET,
  EINVAL,
  EISCONN,
  EMFILE,
  ENFILE,
  ENOBUFS,
  ENOTCONN,
  EPROTONOSUPPORT,
  ESOCKTNOSUPPORT,
} = errno;

/** Datagrams the UDP relay holds for a full pair at most (relay.ts): their headers are charged too. */
/**
 * SO_RCVBUF/SO_SNDBUF a client other than root may ask for, before the stack doubles it: Linux's
 * default net.core.rmem_max and wmem_max (socket(7)), which bound unprivileged sockets in the kernel.
 */
const UNPRIVILEGED_BUF_MAX = 212992;
/** Root's bound: the stack's own (8 MiB once doubled). */
const ROOT_BUF_MAX = 4 << 20;
/** Time a new connection has to complete HELLO. */
const HELLO_TIMEOUT_MS = 2000;
/** Descriptors a client handed over that may wait for the closer threads before its requests wait. */
const FOREIGN_FDS_PER_CLIENT = 64;
/** Waiting ACCEPTs per listening socket, and requests waiting (ACCEPT, CONNECT) per connection. */
const ACCEPT_WAITS_PER_SOCKET = 64;
const WAITS_PER_CONN = 256;
/** SO_PEERGROUPS room: NGROUPS_MAX. */
const MAX_GROUPS = 65536;
/**
 * Requests read from one control connection per wakeup: one. The watch is level-triggered, so a
 * request still queued wakes the loop again at once; reading on until EAGAIN cost one more recvmsg
 * per request for the usual client, which sends one and waits for its reply.
 */
const REQUESTS_PER_WAKEUP = 1;
/** Replies a client may leave unread before it is disconnected. */
const MAX_OUTBOX = 256;
const MAX_BACKLOG = 4096;
const USER_BACKLOG = 128;
const ZERO = new Uint8Array(1);

export interface RsockAccess {
  readonly uids: readonly number[];
  readonly gids: readonly number[];
  /** Who may bind ports below 1024 besides uid 0. */
  readonly privilegedPorts: { readonly uids: readonly number[]; readonly gids: readonly number[] };
}

export interface RsockServerOptions {
  vrName: string;
  sockets: SocketLayer;
  access: RsockAccess;
  quotas: RsockQuotas;
  /** Monotonic milliseconds, the stack's clock. */
  clock: () => number;
  /**
   * Called after the server drove the stack from outside a received batch (a request, relayed
   * bytes): the owner flushes its links and re-arms the stack's timers.
   */
  afterStackCall?: () => void;
  /** Mode of the control socket file; 0666 (access is decided by credentials, §1). */
  mode?: number;
  /** Time a new connection has to complete HELLO before it is closed (default 2000 ms). */
  helloTimeoutMs?: number;
  /**
   * The highest protocol version offered to clients (§9, §13.1): 2 (the default) or 1, which makes
   * the server answer as a version-1 server would (for clients that misbehave on version 2, and to
   * test clients against an older server).
   */
  maxVersion?: number;
  log?: (message: string, fields: Record<string, unknown>) => void;
}

/** What the clients of a server hold (RsockServer.usage). */
export interface RsockUsage {
  sockets: number;
  bufferedBytes: number;
  connections: number;
  /** Descriptors clients handed over that the closer threads have not closed yet. */
  foreignFds: number;
  clients: { uid: number; sockets: number; bufferedBytes: number; connections: number; foreignFds: number }[];
}

/** Who holds a VR socket, for `show sockets`. */
export interface RsockOwner {
  socket: number;
  pid: number;
  uid: number;
  client: string;
}

interface Client extends Account {
  /** Its control connections (authenticated or not). */
  readonly conns: Set<Conn>;
  /** Descriptors it handed over that the closer threads have not closed yet. */
  foreign: number;
}

interface Pending {
  conn: Conn;
  id: number;
}

interface Outgoing {
  bytes: Uint8Array;
  fd: number;
}

class Conn {
  readonly fd: number;
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups (SO_PEERGROUPS at connect time). */
  readonly groups: readonly number[];
  readonly client: Client;
  watch: UnixWatch | null = null;
  name = '';
  ready = false;
  /** The protocol version: 1 until HELLO_OK, then the one it chose (§4, §13.1). */
  version = RSOCK_VERSION;
  closed = false;
  closeAfterFlush = false;
  /** Not read while its client has too many descriptors waiting for the closer threads. */
  paused = false;
  helloTimer: ReturnType<typeof setTimeout> | null = null;
  /** Its requests waiting for an event (ACCEPT, CONNECT). */
  waits = 0;
  readonly outbox: Outgoing[] = [];
  readonly attached = new Set<RSock>();
  constructor(fd: number, pid: number, uid: number, gid: number, groups: readonly number[], client: Client) {
    this.fd = fd;
    this.pid = pid;
    this.uid = uid;
    this.gid = gid;
    this.groups = groups;
    this.client = client;
  }
}

class RSock {
  readonly id: number;
  readonly fd: number;
  readonly tcp: boolean;
  /** AF_INET (AF_INET6 once the stack has IPv6 sockets): its endpoints' family (§13.2). */
  readonly family: number;
  /**
   * UDP: the datagram header layout of its pair, fixed at SOCKET by the connection's version
   * (§13.5): 1 (20 bytes) or 2 (64 bytes). 1 for TCP, which has none.
   */
  readonly dgramVersion: number;
  client: Client | null = null;
  pid = 0;
  creator = '';
  pairFd = -1;
  /** SOCKET_CONNECT with WAIT (§13.11): the app's end, sent with SOCKET_OK once connected. */
  heldAppFd = -1;
  /** SO_COOKIE of the application end, the proof ATTACH checks (§4). */
  cookie = '';
  /** Buffer bytes charged to its client (bufferCost). */
  charge = 0;
  readonly conns = new Set<Conn>();
  closed = false;
  bound = false;
  listening = false;
  connecting = false;
  connected = false;
  shutRd = false;
  shutWr = false;
  pktinfo = false;
  /** SO_ERROR as the protocol reports it (positive errno, 0 none). */
  soError = 0;
  connectWait: Pending | null = null;
  readonly acceptWaits: Pending[] = [];
  /** Listener: connections taken from the stack, not yet ACCEPTed. */
  readonly ready: RSock[] = [];
  backlog = 0;
  /** An accepted socket's peer, for ACCEPT_OK. */
  readonly peer = new SockAddr();
  /** Moves the data between the stack socket and the pair (set with the pair). */
  relay: StreamRelay | DgramRelay | null = null;
  /** What the pair end is watched for in the server's set (WATCH_* bits); -1 while not in it. */
  watchEvents = -1;
  constructor(id: number, fd: number, tcp: boolean, family = AF_INET, dgramVersion = 1) {
    this.id = id;
    this.fd = fd;
    this.tcp = tcp;
    this.family = family;
    this.dgramVersion = tcp ? 1 : dgramVersion;
  }
}

export interface RsockCounters {
  rsock_connections: number;
  rsock_sockets: number;
  rsock_access_refused: number;
  /** Connections closed because a configuration change took their uid off the access list. */
  rsock_access_revoked: number;
  /** Connections refused at accept: the uid's or the VR's connection cap. */
  rsock_connections_refused: number;
  /** Connections closed because HELLO did not come in time. */
  rsock_hello_timeouts: number;
  /** Connections accepted and closed at once for want of a descriptor (EMFILE/ENFILE). */
  rsock_accept_shed: number;
  /** Descriptors clients handed over that are not theirs to hand (closed off the event loop). */
  rsock_foreign_fds: number;
  /** Of those, kept open because the closer's queue was full. */
  rsock_foreign_fds_kept: number;
  rsock_quota_refused: number;
  rsock_malformed_requests: number;
  rsock_slow_clients_dropped: number;
  rsock_bytes_to_apps: number;
  rsock_bytes_from_apps: number;
  rsock_dgrams_to_apps: number;
  rsock_dgrams_from_apps: number;
  rsock_dgrams_bad_from_apps: number;
  rsock_dgrams_dropped_to_apps: number;
}

/**
 * The remote socket server of one VR. The owner forwards the socket layer's events with
 * onSocketEvent (it answers false for fds that are not remote sockets).
 */
export class RsockServer {
  readonly path: string;
  private readonly u: UnixNative;
  private readonly o: RsockServerOptions;
  private readonly so: SocketLayer;
  private readonly listenFd: number;
  private readonly fileIno: number;
  private readonly listenWatch: UnixWatch;
  private readonly conns = new Set<Conn>();
  private readonly clients = new Map<number, Client>();
  private readonly byId = new Map<number, RSock>();
  private readonly byFd = new Map<number, RSock>();
  private readonly byCookie = new Map<string, RSock>();
  private nextId = 1;
  private readonly ledger: QuotaLedger;
  private stopped = false;
  private readonly c: RsockCounters = {
    rsock_connections: 0,
    rsock_sockets: 0,
    rsock_access_refused: 0,
    rsock_access_revoked: 0,
    rsock_connections_refused: 0,
    rsock_hello_timeouts: 0,
    rsock_accept_shed: 0,
    rsock_foreign_fds: 0,
    rsock_foreign_fds_kept: 0,
    rsock_quota_refused: 0,
    rsock_malformed_requests: 0,
    rsock_slow_clients_dropped: 0,
    rsock_bytes_to_apps: 0,
    rsock_bytes_from_apps: 0,
    rsock_dgrams_to_apps: 0,
    rsock_dgrams_from_apps: 0,
    rsock_dgrams_bad_from_apps: 0,
    rsock_dgrams_dropped_to_apps: 0,
  };
  // Shared scratch space: the server runs on one thread and never keeps these across calls.
  private readonly rbuf = new Uint8Array(MAX_MESSAGE);
  private readonly wbuf = new Uint8Array(MAX_MESSAGE);
  /** Room for every descriptor a message can carry (SCM_MAX_FD): none is closed on this thread. */
  private readonly meta = new Int32Array(2 + 253);
  private readonly creds = new Float64Array(6);
  private readonly groups = new Uint32Array(MAX_GROUPS);
  private readonly pairOut = new Int32Array(2);
  private readonly cookieOut = new Uint32Array(2);
  private readonly closer = foreignCloser();
  /** The listener is not watched: out of descriptors with no reserve left (resumed when one closes). */
  private acceptPaused = false;
  /** Listeners whose client could not afford their next connection (taken again when quota frees). */
  private readonly starved = new Set<RSock>();
  private repumpQueued = false;
  private readonly oneFd = new Int32Array(1);
  private readonly addr = new SockAddr();
  /** The highest version HELLO may choose (options.maxVersion). */
  private readonly maxVersion: number;
  private readonly relays: RelayContext;
  /** Relays that yielded with work left (pump answered true), run again from the event loop. */
  private readonly runnable = new Set<RSock>();
  /**
   * The pairs' ends, watched in one epoll set of the addon's (unixPollSet), each under its socket's
   * id: one ADD per pair, a MOD per change of interest, nothing at close; woken in batches.
   */
  private readonly pairSet: UnixPollSet;
  private readonly pairReady = new Float64Array(2 * 64);
  /** Sockets whose pair end is in pairSet, by id (the set's events name ids, never reused). */
  private readonly watched = new Map<number, RSock>();

  /** Listens on path (a stale socket file there is replaced); throws when it cannot. */
  static listen(path: string, options: RsockServerOptions): RsockServer {
    return new RsockServer(path, options);
  }

  private constructor(path: string, options: RsockServerOptions) {
    this.path = path;
    this.o = options;
    this.so = options.sockets;
    const maxVersion = options.maxVersion ?? RSOCK_MAX_VERSION;
    if (!Number.isInteger(maxVersion) || maxVersion < RSOCK_MIN_VERSION || maxVersion > RSOCK_MAX_VERSION)
      throw new RangeError(
        `remote socket server: maxVersion ${maxVersion} is not ${RSOCK_MIN_VERSION}…${RSOCK_MAX_VERSION}`,
      );
    this.maxVersion = maxVersion;
    this.u = loadUnix();
    this.ledger = new QuotaLedger(options.quotas, options.vrName);
    this.relays = new RelayContext(this.u, this.so, options.clock, this.c, (s) => this.destroy(s as RSock));
    const fd = this.u.unixListen(path, options.mode ?? 0o666, 128);
    if (fd < 0) throw new Error(`remote socket server: cannot listen on ${path}: ${errnoText(-fd, path)}`);
    this.listenFd = fd;
    this.fileIno = lstatSync(path).ino;
    this.listenWatch = this.u.unixWatch(fd, () => this.onAcceptable());
    this.u.unixWatchEvents(this.listenWatch, WATCH_READABLE);
    this.pairSet = this.u.unixPollSet(this.pairReady, (n) => this.onPairsReady(n));
  }

  counters(): RsockCounters {
    this.c.rsock_connections = this.conns.size;
    this.c.rsock_sockets = this.ledger.sockets;
    return { ...this.c };
  }

  /** What clients hold now, against the quotas (§4): every count is 0 once they are all gone. */
  usage(): RsockUsage {
    let foreign = 0;
    const clients: RsockUsage['clients'] = [];
    for (const c of this.clients.values()) {
      foreign += c.foreign;
      if (c.sockets === 0 && c.reserved === 0 && c.conns.size === 0 && c.foreign === 0) continue;
      clients.push({
        uid: c.uid,
        sockets: c.sockets,
        bufferedBytes: c.reserved,
        connections: c.conns.size,
        foreignFds: c.foreign,
      });
    }
    return {
      sockets: this.ledger.sockets,
      bufferedBytes: this.ledger.reserved,
      connections: this.conns.size,
      foreignFds: foreign,
      clients,
    };
  }

  /**
   * New access list and quotas (a configuration change). Connections whose peer the new list refuses
   * are closed at once, so they create nothing more; the sockets such a peer holds stay open, as an
   * open file stays open after its mode changes. Quotas decide the requests from now on.
   */
  setPolicy(access: RsockAccess, quotas: RsockQuotas): void {
    this.o.access = access;
    this.o.quotas = quotas;
    this.ledger.quotas = quotas;
    for (const conn of [...this.conns]) {
      if (this.allowed(conn.uid, conn.gid, conn.groups)) continue;
      this.c.rsock_access_revoked++;
      this.o.log?.('remote socket client disconnected: no longer on the access list', {
        pid: conn.pid,
        uid: conn.uid,
      });
      this.closeConn(conn);
    }
  }

  /** Whether a peer may use this VR: its uid, primary gid or a supplementary group is listed (§4). */
  private allowed(uid: number, gid: number, groups: readonly number[]): boolean {
    const a = this.o.access;
    if (a.uids.includes(uid) || a.gids.includes(gid)) return true;
    for (const g of groups) if (a.gids.includes(g)) return true;
    return false;
  }

  /** The client holding stack fd, or null when it is not a remote socket (or not yet handed out). */
  ownerOf(fd: number): RsockOwner | null {
    const s = this.byFd.get(fd);
    if (s === undefined || s.client === null) return null;
    return { socket: s.id, pid: s.pid, uid: s.client.uid, client: s.creator };
  }

  /** Stops listening, removes the socket file, closes every connection and remote socket. */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.u.unixWatchClose(this.listenWatch);
    this.u.unixClose(this.listenFd);
    try {
      // Only our own socket file: a newer server may have replaced it.
      if (lstatSync(this.path).ino === this.fileIno) unlinkSync(this.path);
    } catch {}
    for (const c of [...this.conns]) this.closeConn(c);
    for (const s of [...this.byId.values()]) this.destroy(s);
    for (const s of [...this.byFd.values()]) this.destroy(s);
    this.u.unixPollSetClose(this.pairSet);
  }

  /** The socket layer's event for fd; false when fd is not one of ours. */
  onSocketEvent(fd: number, events: number): boolean {
    const s = this.byFd.get(fd);
    if (s === undefined) return false;
    if (s.closed) return true;
    if (s.listening) this.pumpListener(s);
    else if (s.connectWait !== null || s.connecting) this.connectProgress(s, events);
    else if (s.pairFd >= 0) this.pump(s, false);
    return true;
  }

  // ---- control connections --------------------------------------------------------------------

  /**
   * Accepts connections and decides on each before reading anything (§4): a peer off the access list
   * or over the connection caps gets one ERROR with id 0 and is closed. An admitted one has until the
   * HELLO deadline; its socket refuses descriptors until HELLO_OK.
   */
  private onAcceptable(): void {
    const cr = this.creds;
    for (let i = 0; i < 64 && !this.stopped; i++) {
      const r = this.u.unixAccept(this.listenFd, cr, this.groups);
      if (r === -EMFILE || r === -ENFILE) {
        if (cr[0] === 1) {
          // One connection shed with the reserve descriptor: answered, not spun on.
          this.c.rsock_accept_shed++;
          continue;
        }
        // No reserve to shed with: stop watching until a descriptor of ours closes.
        this.acceptPaused = true;
        this.u.unixWatchEvents(this.listenWatch, 0);
        return;
      }
      if (r < 0) return;
      const fd = cr[0]!;
      const pid = cr[1]!;
      const uid = cr[2]!;
      const gid = cr[3]!;
      // Groups that did not fit (more than NGROUPS_MAX) count for nothing: refused rather than guessed.
      const groups = Array.from(this.groups.subarray(0, cr[4]!));
      const q = this.o.quotas;
      let refusal = 0;
      let why = '';
      if (!this.allowed(uid, gid, groups)) {
        this.c.rsock_access_refused++;
        refusal = EACCES;
        why = `uid ${uid} is not on the access list of VR ${this.o.vrName}`;
        this.o.log?.('remote socket client refused', { pid, uid, gid });
      } else if (this.conns.size >= q.connections) {
        this.c.rsock_connections_refused++;
        refusal = EAGAIN;
        why = `VR ${this.o.vrName} has its maximum of ${q.connections} control connections`;
      } else if ((this.clients.get(uid)?.conns.size ?? 0) >= q.clientConnections) {
        this.c.rsock_connections_refused++;
        refusal = EAGAIN;
        why = `uid ${uid} has its maximum of ${q.clientConnections} control connections to VR ${this.o.vrName}`;
      }
      if (refusal !== 0) {
        const n = encode({ kind: 'error', id: 0, errno: refusal, message: why }, this.wbuf, 0);
        this.u.unixSendMsg(fd, this.wbuf, 0, n, null);
        // Drained, not merely closed: what it sent is discarded (no descriptor can be among it), so
        // its end reads the ERROR, then end of file, rather than ECONNRESET.
        this.u.unixCloseDrained(fd);
        continue;
      }
      const client = this.clientOf(uid);
      const conn = new Conn(fd, pid, uid, gid, groups, client);
      this.conns.add(conn);
      client.conns.add(conn);
      conn.helloTimer = setTimeout(() => {
        if (conn.closed || conn.ready) return;
        this.c.rsock_hello_timeouts++;
        this.closeConn(conn);
      }, this.o.helloTimeoutMs ?? HELLO_TIMEOUT_MS);
      conn.helloTimer.unref?.();
      conn.watch = this.u.unixWatch(conn.fd, (ready) => this.onConnReady(conn, ready));
      this.u.unixWatchEvents(conn.watch, WATCH_READABLE);
    }
  }

  /** A descriptor of ours closed: a listener paused at EMFILE may accept again. */
  private resumeAccept(): void {
    if (!this.acceptPaused || this.stopped) return;
    this.acceptPaused = false;
    this.u.unixWatchEvents(this.listenWatch, WATCH_READABLE);
  }

  private onConnReady(conn: Conn, ready: number): void {
    if (conn.closed) return;
    if ((ready & WATCH_WRITABLE) !== 0) this.flushOutbox(conn);
    if (!conn.closed && (ready & WATCH_READABLE) !== 0) this.readRequests(conn);
    this.o.afterStackCall?.();
  }

  private readRequests(conn: Conn): void {
    const u = this.u;
    const meta = this.meta;
    for (let i = 0; i < REQUESTS_PER_WAKEUP && !conn.closed && !conn.closeAfterFlush; i++) {
      if (conn.client.foreign >= FOREIGN_FDS_PER_CLIENT) {
        // Its descriptors wait for the closer threads: nothing more is read until they are closed.
        this.pauseConn(conn);
        return;
      }
      const n = u.unixRecvMsg(conn.fd, this.rbuf, 0, this.rbuf.length, meta);
      if (n === -EAGAIN) return;
      if (n <= 0) {
        // End of file, or an empty message (malformed, §8): closed either way, with what came along.
        for (let k = 0; n === 0 && k < meta[1]!; k++) this.closeForeign(conn.client, meta[2 + k]!);
        this.closeConn(conn);
        return;
      }
      const nfds = meta[1]!;
      let fd = -1;
      for (let k = 0; k < nfds; k++) {
        if (k === 0 && nfds === 1) fd = meta[2]!;
        else this.closeForeign(conn.client, meta[2 + k]!);
      }
      const kept = { fd };
      try {
        this.handle(conn, n, (meta[0]! & RECV_TRUNC) !== 0, kept, nfds);
      } finally {
        // Whatever came with the request and was not proven ours is the client's: never closed here.
        if (kept.fd >= 0) this.closeForeign(conn.client, kept.fd);
      }
    }
  }

  /**
   * Closes a descriptor a client handed over on a closer thread (its close may block, §4); the
   * client's requests are not read while FOREIGN_FDS_PER_CLIENT of them wait.
   */
  private closeForeign(client: Client, fd: number): void {
    this.c.rsock_foreign_fds++;
    client.foreign++;
    const queued = this.closer.close(fd, () => {
      client.foreign--;
      if (client.foreign < FOREIGN_FDS_PER_CLIENT) for (const c of client.conns) this.resumeConn(c);
    });
    if (!queued) {
      // The queue is full (closers stuck): the descriptor stays open for good rather than block.
      this.c.rsock_foreign_fds_kept++;
      client.foreign--;
    }
  }

  private pauseConn(conn: Conn): void {
    if (conn.paused || conn.closed || conn.watch === null) return;
    conn.paused = true;
    this.u.unixWatchEvents(conn.watch, conn.outbox.length > 0 ? WATCH_WRITABLE : 0);
  }

  private resumeConn(conn: Conn): void {
    if (!conn.paused || conn.closed || conn.watch === null) return;
    conn.paused = false;
    this.u.unixWatchEvents(conn.watch, WATCH_READABLE | (conn.outbox.length > 0 ? WATCH_WRITABLE : 0));
  }

  /** kept.fd: the descriptor that came with the message; attach sets it to -1 once it closed it. */
  private handle(conn: Conn, len: number, truncated: boolean, kept: { fd: number }, nfds: number): void {
    const b = this.rbuf;
    if (truncated) {
      this.c.rsock_malformed_requests++;
      const id = len >= 12 ? (b[8]! | (b[9]! << 8) | (b[10]! << 16) | (b[11]! << 24)) >>> 0 : 0;
      this.fatal(conn, id, 'message longer than 4096 bytes');
      return;
    }
    const d = decodeControl(b, 0, len, conn.version);
    if (!d.ok) {
      this.c.rsock_malformed_requests++;
      if (d.fatal) this.fatal(conn, d.id, `malformed message (${d.reason})`);
      else this.error(conn, d.id, d.errno, `malformed message (${d.reason})`);
      return;
    }
    const m = d.message;
    if (!conn.ready) {
      if (m.kind !== 'hello') {
        this.fatal(conn, m.id, 'the first message must be HELLO');
        return;
      }
      this.hello(conn, m.id, m.minVersion, m.maxVersion, m.clientName);
      return;
    }
    switch (m.kind) {
      case 'hello':
        this.fatal(conn, m.id, 'HELLO was already answered');
        return;
      case 'socket':
        this.socket(conn, m.id, m.family, m.type, m.protocol);
        return;
      case 'socket-connect':
        this.socketConnect(conn, m);
        return;
      case 'attach':
        this.attach(conn, m.id, kept, nfds);
        return;
      case 'bind':
      case 'connect':
      case 'listen':
      case 'accept':
      case 'shutdown':
      case 'close':
      case 'getsockname':
      case 'getpeername':
      case 'setsockopt':
      case 'getsockopt': {
        const s = this.byId.get(m.socket);
        if (s === undefined || s.closed || !s.conns.has(conn)) {
          this.error(conn, m.id, EBADF, `socket ${m.socket} is not attached to this connection`);
          return;
        }
        this.onSocket(conn, s, m);
        return;
      }
      default:
        this.error(conn, m.id, EOPNOTSUPP, `${m.kind} is not a request`);
    }
  }

  private hello(conn: Conn, id: number, min: number, max: number, name: string): void {
    // Checked at accept (and at every policy change since): this is the same rule, once more.
    if (!this.allowed(conn.uid, conn.gid, conn.groups)) {
      this.c.rsock_access_refused++;
      this.fatal(conn, id, `uid ${conn.uid} is not on the access list of VR ${this.o.vrName}`, EACCES);
      return;
    }
    const version = negotiateVersion(min, max, RSOCK_MIN_VERSION, this.maxVersion);
    if (version === 0) {
      this.fatal(
        conn,
        id,
        `VR ${this.o.vrName} speaks protocol versions ${RSOCK_MIN_VERSION} to ${this.maxVersion}; the client offered ${min} to ${max}`,
        EPROTONOSUPPORT,
      );
      return;
    }
    conn.ready = true;
    conn.name = name;
    if (conn.helloTimer !== null) clearTimeout(conn.helloTimer);
    conn.helloTimer = null;
    // Authenticated: its requests may carry descriptors now (ATTACH). -ENOPROTOOPT: a kernel that
    // cannot refuse them (before 6.16) took them all along; they are handled the same way.
    this.u.unixSetPassRights(conn.fd, 1);
    // HELLO_OK has header version 1 whatever it chooses (§13.1); what follows has the chosen one.
    this.reply(conn, {
      kind: 'hello-ok',
      id,
      version,
      maxSockets: this.o.quotas.clientSockets,
      flags: 0,
      vrName: this.o.vrName,
    });
    conn.version = version;
  }

  private clientOf(uid: number): Client {
    let c = this.clients.get(uid);
    if (c === undefined) {
      c = { uid, sockets: 0, reserved: 0, conns: new Set(), foreign: 0 };
      this.clients.set(uid, c);
    }
    return c;
  }

  /**
   * Whether conn's client may have one more socket holding `bytes` of buffers (sockets = 1) or grow
   * one by `bytes` (sockets = 0); if not, the ERROR is sent and false returned.
   */
  private quotaCheck(conn: Conn, id: number, bytes: number, sockets = 1, client = conn.client): boolean {
    const no = this.ledger.refusal(client, bytes, sockets);
    if (no === null) return true;
    this.c.rsock_quota_refused++;
    this.error(conn, id, no.errno, no.why);
    return false;
  }

  private socket(conn: Conn, id: number, family: number, type: number, protocol: number): void {
    const made = this.newSocket(conn, id, family, type, protocol);
    if (made === null) return;
    this.reply(conn, { kind: 'socket-ok', id, socket: made.s.id }, made.appFd);
  }

  /**
   * SOCKET's checks and work: a socket with its pair, attached to conn, and the app's end of the pair
   * (not yet sent); or null after an ERROR reply (nothing made).
   */
  private newSocket(
    conn: Conn,
    id: number,
    family: number,
    type: number,
    protocol: number,
    watch = true,
  ): { s: RSock; appFd: number } | null {
    const refused = this.socketRefusal(conn, id, family, type, protocol);
    if (refused) return null;
    const tcp = type === SOCK_STREAM;
    const fd = this.so.socket(tcp ? 'stream' : 'dgram', 0, stackFamily(family));
    if (fd < 0) {
      this.error(conn, id, fd === -EMFILE ? ENFILE : -fd, 'the VR cannot open a socket');
      return null;
    }
    const cost = QuotaLedger.bufferCost(this.so, fd, tcp);
    if (!this.quotaCheck(conn, id, cost)) {
      this.so.close(fd, this.o.clock());
      return null;
    }
    // A UDP socket's datagram header is the creating connection's for its life (§13.5).
    const s = new RSock(this.nextId++, fd, tcp, family, conn.version);
    this.byFd.set(fd, s);
    const appFd = this.openPair(s, conn, id, cost);
    if (appFd < 0) return null;
    this.byId.set(s.id, s);
    s.conns.add(conn);
    conn.attached.add(s);
    if (watch) this.updateWatch(s);
    return { s, appFd };
  }

  /** SOCKET's refusals of a type, family or protocol (true after the ERROR reply). */
  private socketRefusal(conn: Conn, id: number, family: number, type: number, protocol: number): boolean {
    if (type !== SOCK_STREAM && type !== SOCK_DGRAM) {
      this.error(conn, id, ESOCKTNOSUPPORT, 'only SOCK_STREAM and SOCK_DGRAM');
      return true;
    }
    const refusal = socketFamilyRefusal(family, conn.version);
    if (refusal !== null) {
      this.error(conn, id, refusal.errno, refusal.why);
      return true;
    }
    if (protocol !== 0 && protocol !== (type === SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP)) {
      this.error(conn, id, EPROTONOSUPPORT, `protocol ${protocol} with type ${type}`);
      return true;
    }
    return false;
  }

  /**
   * SOCKET_CONNECT (§13.11): SOCKET and CONNECT in one request. Everything that would refuse the
   * socket or the endpoint is checked first and answered with one ERROR, nothing made. Otherwise:
   * without WAIT, SOCKET_OK goes at once with the descriptor (with FILLER, the filler already written
   * to it) and the connect's outcome follows as a second reply with the same id, exactly as CONNECT's;
   * with WAIT, the descriptor is held until the outcome, and the one reply is SOCKET_OK with it after
   * success, or the ERROR after failure (the socket closed).
   */
  private socketConnect(conn: Conn, m: SocketConnect): void {
    const { id, family, type, protocol, ep, flags } = m;
    if (this.socketRefusal(conn, id, family, type, protocol)) return;
    if ((flags & ~(SOCKET_CONNECT_FILLER | SOCKET_CONNECT_WAIT)) !== 0)
      return this.error(conn, id, EINVAL, 'reserved SOCKET_CONNECT flags');
    const tcp = type === SOCK_STREAM;
    const filler = (flags & SOCKET_CONNECT_FILLER) !== 0;
    const wait = (flags & SOCKET_CONNECT_WAIT) !== 0;
    if (filler && (!tcp || wait)) return this.error(conn, id, EINVAL, 'FILLER is for non-waiting TCP');
    if (ep.family === AF_UNSPEC) return this.error(conn, id, EINVAL, 'SOCKET_CONNECT needs an endpoint');
    const e = stackAddressOf(ep, family, this.addr, !tcp);
    if (e !== 0) return this.error(conn, id, e, familyMismatch(ep, family));
    // A WAIT connect's end stays here until the outcome, so nothing can hang up: the pair is not
    // watched until then (one start of the watch per socket, not two: fewer epoll_ctl calls).
    const made = this.newSocket(conn, id, family, type, protocol, !(wait && tcp));
    if (made === null) return;
    const { s, appFd } = made;
    if (filler) {
      // Written from the app's end before anyone else holds it: 8191 bytes, then the last one in a
      // buffer of its own (§7.1). The client shrinks the end's SO_SNDBUF when it receives it.
      const u = this.u;
      const fill = this.fillerBytes;
      const ok =
        u.unixWrite(appFd, fill, 0, CONNECT_FILLER_BYTES - 1) === CONNECT_FILLER_BYTES - 1 &&
        u.unixWrite(appFd, fill, 0, 1) === 1;
      if (!ok) {
        u.unixClose(appFd);
        this.destroy(s);
        return this.error(conn, id, ENOBUFS, 'the VR could not write the filler');
      }
    }
    if (wait) s.heldAppFd = appFd;
    else this.reply(conn, { kind: 'socket-ok', id, socket: s.id }, appFd);
    this.connect(conn, s, id, ep, filler ? CONNECT_FILLER : 0, this.o.clock());
    // A WAIT connect refused at once: its ERROR is sent; the socket goes with its held end.
    if (s.heldAppFd >= 0 && !s.connecting && !s.connected) this.destroy(s);
    else if (!s.connecting) this.updateWatch(s); // done at once (UDP): watched from now
  }

  /** A connect succeeded: OK, or, for a SOCKET_CONNECT with WAIT, SOCKET_OK with the held end. */
  private connectOk(conn: Conn, s: RSock, id: number): void {
    const fd = s.heldAppFd;
    if (fd < 0) return this.ok(conn, id);
    s.heldAppFd = -1;
    this.reply(conn, { kind: 'socket-ok', id, socket: s.id }, fd);
  }

  private readonly fillerBytes = new Uint8Array(CONNECT_FILLER_BYTES);

  /**
   * Gives s its pair and its owner, charging `cost` buffer bytes to conn's client; returns the app's
   * end, or -1 after an ERROR reply (s gone).
   */
  private openPair(s: RSock, conn: Conn, id: number, cost: number): number {
    const u = this.u;
    const r = u.unixSocketPair(s.tcp ? UNIX_SOCK_STREAM : UNIX_SOCK_SEQPACKET, this.pairOut);
    if (r < 0) {
      this.so.close(s.fd, this.o.clock());
      this.byFd.delete(s.fd);
      s.closed = true;
      this.uncharge(s);
      this.error(conn, id, r === -EMFILE ? ENFILE : -r, 'the VR is out of descriptors');
      return -1;
    }
    s.pairFd = this.pairOut[0]!;
    const appFd = this.pairOut[1]!;
    // The proof of possession ATTACH checks: a cookie is never given to another socket (socket(7)),
    // unlike (st_dev, st_ino), which anyone reads in /proc/net/unix and which are reused.
    u.unixCookie(appFd, this.cookieOut);
    s.cookie = `${this.cookieOut[1]}:${this.cookieOut[0]}`;
    this.byCookie.set(s.cookie, s);
    s.pid = conn.pid;
    s.creator = conn.name;
    // A connection taken by its listener is charged already (pumpListener, handOver).
    if (s.client === null) this.chargeTo(s, conn.client, cost);
    s.relay = s.tcp
      ? new StreamRelay(this.relays, s)
      : new DgramRelay(this.relays, s, s.dgramVersion, s.family);
    return appFd;
  }

  private attach(conn: Conn, id: number, kept: { fd: number }, nfds: number): void {
    const fd = kept.fd;
    if (nfds !== 1 || fd < 0) return this.error(conn, id, EBADF, 'ATTACH carries exactly one descriptor');
    const r = this.u.unixCookie(fd, this.cookieOut);
    const s = r < 0 ? undefined : this.byCookie.get(`${this.cookieOut[1]}:${this.cookieOut[0]}`);
    if (s === undefined || s.closed)
      return this.error(conn, id, EBADF, `the descriptor is not a socket of VR ${this.o.vrName}`);
    // The application end of one of our pairs: only our end sends to it, never a descriptor, so its
    // close releases no client file and may happen here.
    this.u.unixClose(fd);
    kept.fd = -1;
    // A version-1 connection can speak neither an AF_INET6 socket's endpoints nor the 64-byte
    // datagram header (§13.6).
    if (conn.version < 2 && (s.family !== AF_INET || s.dgramVersion !== 1))
      return this.error(
        conn,
        id,
        EPROTONOSUPPORT,
        `socket ${s.id} was created with protocol version 2; this connection speaks version ${conn.version}`,
      );
    s.conns.add(conn);
    conn.attached.add(s);
    let state = 0;
    if (s.bound) state |= STATE_BOUND;
    if (s.listening) state |= STATE_LISTENING;
    if (s.connecting) state |= STATE_CONNECTING;
    if (s.connected) state |= STATE_CONNECTED;
    if (s.shutRd) state |= STATE_SHUT_RD;
    if (s.shutWr) state |= STATE_SHUT_WR;
    if (s.pktinfo) state |= STATE_PKTINFO;
    if (s.dgramVersion === 2) state |= STATE_DGRAM_V2;
    this.reply(conn, {
      kind: 'attach-ok',
      id,
      socket: s.id,
      family: s.family,
      type: s.tcp ? SOCK_STREAM : SOCK_DGRAM,
      protocol: s.tcp ? IPPROTO_TCP : IPPROTO_UDP,
      state,
    });
  }

  private onSocket(conn: Conn, s: RSock, m: ControlMessage): void {
    const so = this.so;
    const now = this.o.clock();
    switch (m.kind) {
      case 'bind': {
        const sa = this.addr;
        // Linux's compatibility rule (inet_bind): AF_UNSPEC with the any address binds an AF_INET
        // socket to any address (the wire's AF_UNSPEC endpoint is all zero, port included).
        if (m.ep.family === AF_UNSPEC && s.family === AF_INET) {
          sa.family = 4;
          sa.addr = 0;
          sa.port = 0;
        } else {
          const e = stackAddressOf(m.ep, s.family, sa);
          if (e !== 0) return this.error(conn, m.id, e, familyMismatch(m.ep, s.family));
        }
        const port = sa.port;
        if (port !== 0 && port < 1024 && !this.mayBindPrivileged(conn))
          return this.error(conn, m.id, EACCES, `uid ${conn.uid} may not bind port ${port} (below 1024)`);
        const r = bindTo(so, s.fd, sa);
        if (r < 0) return this.error(conn, m.id, -r, '');
        s.bound = true;
        return this.ok(conn, m.id);
      }
      case 'connect':
        return this.connect(conn, s, m.id, m.ep, m.flags, now);
      case 'listen': {
        if (!s.tcp) return this.error(conn, m.id, EOPNOTSUPP, 'listen on a datagram socket');
        if (s.connected || s.connecting) return this.error(conn, m.id, EINVAL, '');
        // Connections the stack holds for a listener are not charged until taken (pumpListener): a
        // client other than root gets the backlog Linux's SOMAXCONN long had, 128.
        const backlog = Math.max(1, Math.min(m.backlog, conn.uid === 0 ? MAX_BACKLOG : USER_BACKLOG));
        const r = so.listen(s.fd, backlog);
        if (r < 0) return this.error(conn, m.id, -r, '');
        s.listening = true;
        s.bound = true;
        s.backlog = backlog;
        this.updateWatch(s);
        this.ok(conn, m.id);
        this.pumpListener(s);
        return;
      }
      case 'accept':
        if (!s.listening || s.shutRd) return this.error(conn, m.id, EINVAL, 'the socket is not listening');
        if ((m.flags & ~ACCEPT_NONBLOCK) !== 0)
          return this.error(conn, m.id, EINVAL, 'reserved ACCEPT flags');
        // Connections the client's quota kept in the stack may be taken now.
        if (s.ready.length === 0) this.pumpListener(s);
        if (s.ready.length > 0) return this.handOver(s, { conn, id: m.id });
        if ((m.flags & ACCEPT_NONBLOCK) !== 0) return this.error(conn, m.id, EAGAIN, '');
        if (s.acceptWaits.length >= ACCEPT_WAITS_PER_SOCKET || this.acceptWaitsOf(conn) >= WAITS_PER_CONN)
          return this.error(conn, m.id, ENOBUFS, 'too many ACCEPTs are waiting');
        s.acceptWaits.push({ conn, id: m.id });
        conn.waits++;
        return;
      case 'shutdown':
        return this.shutdown(conn, s, m.id, m.how, now);
      case 'close':
        this.destroy(s);
        return this.ok(conn, m.id);
      case 'getsockname':
      case 'getpeername': {
        const r =
          m.kind === 'getsockname' ? so.localAddress(s.fd, this.addr) : so.peerAddress(s.fd, this.addr);
        if (r < 0) return this.error(conn, m.id, -r, '');
        if (m.kind === 'getpeername' && s.tcp && !s.connected) return this.error(conn, m.id, ENOTCONN, '');
        const ep = newEndpoint();
        endpointOf(this.addr, s.family, ep);
        return this.reply(conn, { kind: 'addr-ok', id: m.id, ep });
      }
      case 'setsockopt': {
        const name = optionName(m.level, m.name);
        if (name === null) return this.error(conn, m.id, errno.ENOPROTOOPT, '');
        const v = decodeOption(name, m.value);
        if (v === null) return this.error(conn, m.id, EINVAL, 'option value of the wrong size');
        if (name === 'SO_LINGER' || name === 'SO_REUSEPORT') return this.ok(conn, m.id);
        if (name === 'SO_RCVBUF' || name === 'SO_SNDBUF')
          return this.setBuffer(conn, s, m.id, name, v as number, now);
        const r = so.setOption(s.fd, name, v, now);
        if (r < 0) return this.error(conn, m.id, -r, '');
        if (name === 'IP_PKTINFO') s.pktinfo = v !== 0;
        return this.ok(conn, m.id);
      }
      case 'getsockopt': {
        if (isSoError(m.level, m.name)) {
          let e = s.soError;
          s.soError = 0;
          if (e === 0 && !s.connecting) {
            const r = so.getOption(s.fd, 'SO_ERROR');
            e = Math.max(r, 0);
          }
          return this.reply(conn, { kind: 'opt-ok', id: m.id, value: encodeOption(e, m.maxLength) });
        }
        const name = optionName(m.level, m.name);
        if (
          name === null ||
          name === 'IP_ADD_MEMBERSHIP' ||
          name === 'IP_DROP_MEMBERSHIP' ||
          name === 'IPV6_JOIN_GROUP' ||
          name === 'IPV6_LEAVE_GROUP'
        )
          return this.error(conn, m.id, errno.ENOPROTOOPT, '');
        let v: number;
        if (name === 'SO_LINGER' || name === 'SO_REUSEPORT') v = 0;
        else if (name === 'IP_MULTICAST_IF' || name === 'SO_BINDTODEVICE') v = 0;
        else v = so.getOption(s.fd, name);
        // The layer's interface index (-1: none) as the wire's 1-based one (0: none).
        if (name === 'IPV6_MULTICAST_IF' && v >= -1) v += 1;
        if (v < 0) return this.error(conn, m.id, -v, '');
        const value =
          name === 'SO_LINGER' ? new Uint8Array(Math.min(8, m.maxLength)) : encodeOption(v, m.maxLength);
        return this.reply(conn, { kind: 'opt-ok', id: m.id, value });
      }
    }
  }

  /**
   * SO_RCVBUF/SO_SNDBUF: bounded as the kernel bounds them (root 4 MiB, others 212992 bytes, before
   * the doubling), and what the new size can hold is charged to the socket's client: ENOBUFS, and the
   * old size back, when that is over its quota.
   */
  private setBuffer(
    conn: Conn,
    s: RSock,
    id: number,
    name: 'SO_RCVBUF' | 'SO_SNDBUF',
    value: number,
    now: number,
  ): void {
    const so = this.so;
    const asked = Math.min(value, conn.uid === 0 ? ROOT_BUF_MAX : UNPRIVILEGED_BUF_MAX);
    const before = so.getOption(s.fd, name);
    const r = so.setOption(s.fd, name, asked, now);
    if (r < 0) return this.error(conn, id, -r, '');
    const client = s.client;
    if (client === null) return this.ok(conn, id);
    const cost = QuotaLedger.bufferCost(this.so, s.fd, s.tcp);
    const delta = cost - s.charge;
    if (delta > 0 && !this.quotaCheck(conn, id, delta, 0, client)) {
      so.setOption(s.fd, name, Math.floor(before / 2), now);
      return;
    }
    s.charge = cost;
    this.ledger.charge(client, delta, 0);
    this.ok(conn, id);
  }

  /** ACCEPTs of conn waiting on its sockets (counted when conn.waits says the cap may be near). */
  private acceptWaitsOf(conn: Conn): number {
    if (conn.waits < WAITS_PER_CONN) return conn.waits;
    let n = 0;
    for (const s of conn.attached) for (const w of s.acceptWaits) if (w.conn === conn) n++;
    conn.waits = n;
    return n;
  }

  private mayBindPrivileged(conn: Conn): boolean {
    const p = this.o.access.privilegedPorts;
    if (conn.uid === 0 || p.uids.includes(conn.uid) || p.gids.includes(conn.gid)) return true;
    for (const g of conn.groups) if (p.gids.includes(g)) return true;
    return false;
  }

  /**
   * TCP sockets whose CONNECT came with FILLER (§7.1): the client wrote CONNECT_FILLER_BYTES bytes to
   * its end of the pair, which keep that end unwritable until the outcome is known.
   */
  private readonly filled = new WeakSet<RSock>();

  private connect(conn: Conn, s: RSock, id: number, ep: Endpoint, flags: number, now: number): void {
    if ((flags & ~(CONNECT_UNSPEC | CONNECT_FILLER)) !== 0)
      return this.error(conn, id, EINVAL, 'reserved CONNECT flags');
    // UNSPEC's endpoint: AF_UNSPEC in version 2, 0.0.0.0:0 in version 1 (which has no other); in
    // version 2 an AF_UNSPEC endpoint without UNSPEC is EINVAL (§13.3).
    const unspec = conn.version === 1 ? ep.addr === 0 && ep.port === 0 : ep.family === AF_UNSPEC;
    if (conn.version >= 2 && unspec && (flags & CONNECT_UNSPEC) === 0)
      return this.error(conn, id, EINVAL, 'an AF_UNSPEC endpoint without UNSPEC');
    if ((flags & CONNECT_FILLER) !== 0) {
      // FILLER with UNSPEC is the client's probe for the flag: nothing happens (§7.1).
      if ((flags & CONNECT_UNSPEC) !== 0)
        return unspec ? this.ok(conn, id) : this.error(conn, id, EINVAL, '');
      if (!s.tcp) return this.error(conn, id, EINVAL, 'FILLER is for TCP sockets');
    }
    if ((flags & CONNECT_UNSPEC) !== 0) {
      if (s.tcp || !unspec) return this.error(conn, id, EINVAL, '');
      this.so.connect(s.fd, 0, 0, now);
      s.connected = false;
      return this.ok(conn, id);
    }
    if (s.listening) return this.error(conn, id, EINVAL, '');
    // As Linux, a TCP socket's state is checked before the address's family (inet_stream_connect).
    if (s.tcp && s.connecting) return this.error(conn, id, EALREADY, '');
    if (s.tcp && s.connected) return this.error(conn, id, EISCONN, '');
    const sa = this.addr;
    const e = stackAddressOf(ep, s.family, sa, !s.tcp);
    if (e !== 0) return this.error(conn, id, e, familyMismatch(ep, s.family));
    if (!s.tcp) {
      const r = connectTo(this.so, s.fd, sa, now);
      if (r < 0) return this.error(conn, id, -r, '');
      s.connected = true;
      s.bound = true;
      return this.connectOk(conn, s, id);
    }
    s.connectWait = { conn, id };
    s.connecting = true;
    if ((flags & CONNECT_FILLER) !== 0) this.filled.add(s);
    const r = connectTo(this.so, s.fd, sa, now);
    if (r === -errno.EINPROGRESS || r === 0) {
      s.bound = true;
      // The handshake may already be done (a local address): look at the events now.
      this.connectProgress(s, this.so.events(s.fd));
      return;
    }
    s.connecting = false;
    s.connectWait = null;
    this.error(conn, id, -r, '');
    if (this.filled.delete(s)) this.failFilled(s);
  }

  private connectProgress(s: RSock, events: number): void {
    if (!s.connecting) return;
    let e = 0;
    if ((events & EV_ERROR) !== 0 || (events & EV_HANGUP) !== 0) {
      const r = this.so.getOption(s.fd, 'SO_ERROR');
      e = r > 0 ? r : ECONNRESET;
    } else if ((events & EV_WRITABLE) === 0) return;
    s.connecting = false;
    const w = s.connectWait;
    s.connectWait = null;
    // The reply goes first, then the app's end changes (writable, or failed): a client that sees
    // the change finds the reply already there (§7.1).
    if (e === 0) {
      s.connected = true;
      if (w !== null) this.connectOk(w.conn, s, w.id);
      if (this.filled.delete(s)) this.discardFiller(s);
      this.pump(s);
      return;
    }
    s.soError = e;
    if (w !== null) this.error(w.conn, w.id, e, '');
    if (this.filled.delete(s)) this.failFilled(s);
    else if (s.heldAppFd >= 0)
      this.destroy(s); // SOCKET_CONNECT WAIT: the client never had it
    else this.fail(s);
  }

  /**
   * Reads `count` FILLER bytes off the pair: all of them once the connection is up, and the app's
   * end becomes writable (§7.1).
   */
  private discardFiller(s: RSock, count = CONNECT_FILLER_BYTES): void {
    const scratch = new Uint8Array(count);
    let left = count;
    while (left > 0) {
      const n = this.u.unixRead(s.pairFd, scratch, 0, left);
      if (n <= 0) break; // the client wrote them before its CONNECT: never short, short only if it lied
      left -= n;
    }
  }

  /**
   * A FILLER connect failed: all but the filler's last byte (a buffer of its own) are read, then the
   * socket is closed with that byte unread. The app's end then polls as a failed kernel connect
   * (POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDHUP), and the client answers for the socket (§7.1).
   */
  private failFilled(s: RSock): void {
    this.discardFiller(s, CONNECT_FILLER_BYTES - 1);
    this.destroy(s);
  }

  private shutdown(conn: Conn, s: RSock, id: number, how: number, now: number): void {
    if (how > 2) return this.error(conn, id, EINVAL, '');
    const rd = how !== 1;
    const wr = how !== 0;
    if (s.listening) {
      if (rd) {
        s.shutRd = true;
        for (const w of s.acceptWaits.splice(0))
          this.error(w.conn, w.id, EINVAL, 'the listener was shut down');
      }
      return this.ok(conn, id);
    }
    if (!s.connected) return this.error(conn, id, ENOTCONN, '');
    if (!s.tcp) {
      const r = this.so.shutdown(s.fd, how === 0 ? 'read' : how === 1 ? 'write' : 'both', now);
      if (r < 0) return this.error(conn, id, -r, '');
    } else if (rd) {
      this.so.shutdown(s.fd, 'read', now);
    }
    // Through the pair: the app reads EOF after SHUT_RD; after SHUT_WR its bytes already written are
    // still relayed, then our read of EOF becomes the FIN (§7.1).
    if (rd) {
      s.shutRd = true;
      s.relay?.shutRead();
    }
    if (wr) {
      s.shutWr = true;
      this.u.unixShutdown(s.pairFd, 0);
    }
    this.ok(conn, id);
    this.pump(s);
  }

  // ---- listeners ------------------------------------------------------------------------------

  /**
   * Takes ready connections from the stack (up to the backlog), hands them to waiters or tokens. Each
   * is charged to the listener's client when taken; while that client cannot afford one more, the
   * rest wait in the stack (at most its backlog) and are taken when its quota frees.
   */
  private pumpListener(s: RSock): void {
    const now = this.o.clock();
    while (!s.closed && s.ready.length < s.backlog) {
      const client = s.client;
      if (client !== null && !this.affords(client, QuotaLedger.bufferCost(this.so, s.fd, true))) {
        this.starved.add(s);
        break;
      }
      const fd = this.so.accept(s.fd, now, this.addr);
      if (fd < 0) break;
      const a = new RSock(this.nextId++, fd, true, s.family);
      a.connected = true;
      a.bound = true;
      copySockAddr(a.peer, this.addr);
      this.byFd.set(fd, a);
      if (client !== null) {
        a.pid = s.pid;
        a.creator = s.creator;
        this.chargeTo(a, client, QuotaLedger.bufferCost(this.so, fd, true));
      }
      const w = s.acceptWaits.shift();
      s.ready.push(a);
      if (w !== undefined) this.handOver(s, w);
      else this.u.unixWrite(s.pairFd, ZERO, 0, 1);
    }
  }

  private handOver(s: RSock, w: Pending): void {
    if (w.conn.closed) return;
    const first = s.ready[0]!;
    if (first.client !== w.conn.client) {
      // Accepted by another uid than the listener's (a passed listener): the charge moves to it.
      if (!this.quotaCheck(w.conn, w.id, first.charge)) return;
      this.uncharge(first);
    }
    const a = s.ready.shift()!;
    const appFd = this.openPair(a, w.conn, w.id, a.charge || QuotaLedger.bufferCost(this.so, a.fd, true));
    if (appFd < 0) return;
    this.byId.set(a.id, a);
    a.conns.add(w.conn);
    w.conn.attached.add(a);
    const ep = newEndpoint();
    endpointOf(a.peer, a.family, ep);
    this.reply(w.conn, { kind: 'accept-ok', id: w.id, socket: a.id, ep }, appFd);
    this.pump(a);
  }

  /** Whether client can have one more socket holding `bytes` (no reply: pumpListener's test). */
  private affords(client: Client, bytes: number): boolean {
    return this.ledger.refusal(client, bytes, 1) === null;
  }

  private chargeTo(s: RSock, client: Client, bytes: number): void {
    s.client = client;
    s.charge = bytes;
    this.ledger.charge(client, bytes, 1);
  }

  /** Gives back what s holds of its client's quota (keeps s.charge: the bytes s would cost). */
  private uncharge(s: RSock): void {
    const client = s.client;
    if (client === null) return;
    s.client = null;
    this.ledger.charge(client, -s.charge, -1);
    if (this.starved.size > 0 && !this.repumpQueued) {
      // Not from here (destroy may run inside a relay's pump): once the current work is done.
      this.repumpQueued = true;
      queueMicrotask(() => {
        this.repumpQueued = false;
        if (this.stopped) return;
        const listeners = [...this.starved];
        this.starved.clear();
        for (const l of listeners) if (!l.closed) this.pumpListener(l);
        this.o.afterStackCall?.();
      });
    }
  }

  // ---- the data relay (relay.ts) -------------------------------------------------------------

  /** A batch of the pair set's events: n [id, ready] pairs in pairReady. */
  private onPairsReady(n: number): void {
    const ev = this.pairReady;
    for (let i = 0; i < n; i++) {
      const s = this.watched.get(ev[2 * i]!);
      // A socket closed earlier in the batch, or an end closed while a forked child shared it.
      if (s !== undefined) this.onPairReady(s, ev[2 * i + 1]!);
    }
    this.o.afterStackCall?.();
  }

  private onPairReady(s: RSock, ready: number): void {
    if (s.closed) return;
    const hungUp = (ready & WATCH_HUNG_UP) !== 0;
    if (s.listening || (s.tcp && !s.connected) || s.connecting) {
      // Nothing is read from these ends: a wakeup here means the app closed its last copy.
      if (hungUp || this.u.unixHungUp(s.pairFd) === 1) this.destroy(s);
    } else this.pump(s, true, hungUp);
  }

  /**
   * pairReady false: woken by the stack, so the relay leaves the pair to its watch (relay.ts).
   * hungUp: the watch saw the pair's POLLHUP (the relay then needs no poll to tell it from a half-close).
   */
  private pump(s: RSock, pairReady = true, hungUp = false): void {
    if (s.closed || s.relay === null) return;
    const more = s.relay.pump(pairReady, hungUp);
    if (s.closed) return;
    if (more) this.schedule(s);
    this.updateWatch(s);
  }

  /** Runs s's relay again from the event loop: it yielded with work no wakeup will announce. */
  private schedule(s: RSock): void {
    this.runnable.add(s);
    if (this.runnable.size === 1) setImmediate(this.runRunnable);
  }

  private readonly runRunnable = (): void => {
    if (this.stopped) return;
    const batch = [...this.runnable];
    this.runnable.clear();
    for (const s of batch) this.pump(s);
    this.o.afterStackCall?.();
  };

  /** The connection failed or was reset: the app reads EOF, its writes are discarded, SO_ERROR is set. */
  private fail(s: RSock): void {
    s.relay?.fail();
    this.pump(s);
  }

  private updateWatch(s: RSock): void {
    if (s.pairFd < 0 || s.closed) return;
    let ev = WATCH_HANGUP_ONLY;
    if (!s.listening && !s.connecting && (!s.tcp || s.connected) && s.relay !== null) {
      const want = s.relay.interest();
      if ((want & PAIR_READABLE) !== 0) ev |= WATCH_READABLE;
      if ((want & PAIR_WRITABLE) !== 0) ev |= WATCH_WRITABLE;
    }
    if (ev !== s.watchEvents) {
      const r = this.u.unixPollCtl(this.pairSet, s.watchEvents < 0 ? POLL_ADD : POLL_MOD, s.pairFd, s.id, ev);
      if (r < 0) throw new Error(`remote socket server: cannot watch a pair: errno ${-r}`);
      if (s.watchEvents < 0) this.watched.set(s.id, s);
      s.watchEvents = ev;
    }
  }

  /** Closes s as close(2) would, answers its waiting requests EBADF, frees its quota. */
  private destroy(s: RSock): void {
    if (s.closed) return;
    s.closed = true;
    const now = this.o.clock();
    const w = s.connectWait;
    s.connectWait = null;
    if (w !== null) this.error(w.conn, w.id, EBADF, 'the socket was closed');
    for (const a of s.acceptWaits.splice(0)) this.error(a.conn, a.id, EBADF, 'the socket was closed');
    for (const a of s.ready.splice(0)) this.destroy(a);
    this.so.close(s.fd, now);
    this.byFd.delete(s.fd);
    this.byId.delete(s.id);
    if (s.cookie !== '') this.byCookie.delete(s.cookie);
    for (const c of s.conns) c.attached.delete(s);
    s.conns.clear();
    // Closing the end takes it out of the pair set.
    if (s.watchEvents >= 0) this.watched.delete(s.id);
    s.watchEvents = -1;
    if (s.pairFd >= 0) this.u.unixPollClose(this.pairSet, s.pairFd);
    s.pairFd = -1;
    if (s.heldAppFd >= 0) this.u.unixClose(s.heldAppFd);
    s.heldAppFd = -1;
    this.uncharge(s);
    this.starved.delete(s);
    this.resumeAccept();
    s.relay = null;
    this.runnable.delete(s);
  }

  // ---- replies --------------------------------------------------------------------------------

  private ok(conn: Conn, id: number): void {
    this.reply(conn, { kind: 'ok', id });
  }

  private error(conn: Conn, id: number, e: number, message: string): void {
    this.reply(conn, { kind: 'error', id, errno: e, message });
  }

  /** ERROR (EPROTO unless told), then the connection is closed (§8). */
  private fatal(conn: Conn, id: number, message: string, e = EPROTO): void {
    this.error(conn, id, e, message);
    conn.closeAfterFlush = true;
    if (conn.outbox.length === 0) this.closeConn(conn);
  }

  /** Sends m in conn's version (with the app's end of a pair, which is then closed here), or queues it. */
  private reply(conn: Conn, m: ControlMessage, fd = -1): void {
    if (conn.closed) {
      if (fd >= 0) this.u.unixClose(fd);
      return;
    }
    const len = encodeControl(m, conn.version, this.wbuf, 0);
    if (conn.outbox.length === 0 && this.send(conn, this.wbuf.subarray(0, len), fd)) return;
    if (conn.closed) return;
    if (conn.outbox.length >= MAX_OUTBOX) {
      this.c.rsock_slow_clients_dropped++;
      this.o.log?.('remote socket client dropped: it does not read its replies', {
        pid: conn.pid,
        uid: conn.uid,
      });
      if (fd >= 0) this.u.unixClose(fd);
      this.closeConn(conn);
      return;
    }
    conn.outbox.push({ bytes: this.wbuf.slice(0, len), fd });
    if (conn.watch !== null) this.u.unixWatchEvents(conn.watch, WATCH_READABLE | WATCH_WRITABLE);
  }

  /** true when sent (or the connection broke and was closed); false when it must wait for room. */
  private send(conn: Conn, bytes: Uint8Array, fd: number): boolean {
    let fds: Int32Array | null = null;
    if (fd >= 0) {
      fds = this.oneFd;
      fds[0] = fd;
    }
    const r = this.u.unixSendMsg(conn.fd, bytes, 0, bytes.length, fds);
    if (r === -EAGAIN || r === -ENOBUFS) return false;
    if (fd >= 0) this.u.unixClose(fd);
    if (r < 0) this.closeConn(conn);
    return true;
  }

  private flushOutbox(conn: Conn): void {
    while (conn.outbox.length > 0 && !conn.closed) {
      const o = conn.outbox[0]!;
      if (!this.send(conn, o.bytes, o.fd)) return;
      conn.outbox.shift();
    }
    if (conn.closed) return;
    if (conn.closeAfterFlush) {
      this.closeConn(conn);
      return;
    }
    if (conn.watch !== null) this.u.unixWatchEvents(conn.watch, WATCH_READABLE);
  }

  /** Closes a control connection; its sockets live on (they belong to their descriptors, §4). */
  private closeConn(conn: Conn): void {
    if (conn.closed) return;
    conn.closed = true;
    this.conns.delete(conn);
    conn.client.conns.delete(conn);
    if (conn.helloTimer !== null) clearTimeout(conn.helloTimer);
    conn.helloTimer = null;
    if (conn.watch !== null) this.u.unixWatchClose(conn.watch);
    conn.watch = null;
    // Its queue may hold descriptors the client passed: drained to the closer threads, then closed.
    this.u.unixCloseDrained(conn.fd);
    this.resumeAccept();
    for (const o of conn.outbox) if (o.fd >= 0) this.u.unixClose(o.fd);
    conn.outbox.length = 0;
    for (const s of conn.attached) {
      s.conns.delete(conn);
      if (s.connectWait?.conn === conn) s.connectWait = null;
      for (let i = s.acceptWaits.length - 1; i >= 0; i--)
        if (s.acceptWaits[i]!.conn === conn) s.acceptWaits.splice(i, 1);
    }
    conn.attached.clear();
  }
}

/** The message of an EAFNOSUPPORT for an endpoint a socket of `family` cannot use (§13.3). */
function familyMismatch(ep: Endpoint, family: number): string {
  const name = (f: number) => (f === AF_INET ? 'AF_INET' : f === AF_INET6 ? 'AF_INET6' : `AF_UNSPEC`);
  return `an ${name(ep.family)} endpoint on an ${name(family)} socket`;
}

function errnoText(e: number, path: string): string {
  const dir = dirname(path);
  switch (e) {
    case errno.EADDRINUSE:
      return 'another server is listening there (EADDRINUSE)';
    case errno.EEXIST:
      return 'a file that is not a socket is in the way (EEXIST)';
    case errno.EPERM:
      return `the directory ${dir} must be owned by root or by this user and writable by nobody else, unless sticky (EPERM)`;
    case 40: // ELOOP
      return `the directory ${dir} is a symbolic link (ELOOP)`;
    default:
      return `errno ${e}`;
  }
}
