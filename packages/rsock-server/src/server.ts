// The remote socket server of a VR (docs/remote-socket-protocol.md): a SOCK_SEQPACKET control socket
// whose clients open TCP and UDP sockets in the VR's stack, each relayed to a socketpair whose other
// end the client holds as an ordinary descriptor.
import { lstatSync, unlinkSync } from 'node:fs';
import {
  loadUnix,
  RECV_TRUNC,
  UNIX_SOCK_SEQPACKET,
  UNIX_SOCK_STREAM,
  type UnixNative,
  type UnixWatch,
  WATCH_HANGUP_ONLY,
  WATCH_READABLE,
  WATCH_WRITABLE,
} from '@nexthop/native';
import {
  ACCEPT_NONBLOCK,
  AF_INET,
  CONNECT_UNSPEC,
  DGRAM_HEADER_LENGTH,
  DGRAM_PKTINFO,
  decode,
  decodeDgramHeader,
  EOPNOTSUPP,
  EPROTO,
  encode,
  encodeDgramHeader,
  IPPROTO_TCP,
  IPPROTO_UDP,
  MAX_DGRAM_PAYLOAD,
  MAX_MESSAGE,
  type Message,
  newDgramHeader,
  RSOCK_VERSION,
  SOCK_DGRAM,
  SOCK_STREAM,
  STATE_BOUND,
  STATE_CONNECTED,
  STATE_CONNECTING,
  STATE_LISTENING,
  STATE_PKTINFO,
  STATE_SHUT_RD,
  STATE_SHUT_WR,
} from '@nexthop/rsock-proto';
import {
  EV_ERROR,
  EV_HANGUP,
  EV_READABLE,
  EV_WRITABLE,
  errno,
  RecvMeta,
  SockAddr,
  type SocketLayer,
} from '@nexthop/stack';
import { decodeOption, encodeOption, isSoError, optionName } from './options.ts';

const {
  EACCES,
  EAFNOSUPPORT,
  EAGAIN,
  EALREADY,
  EBADF,
  ECONNRESET,
  EDESTADDRREQ,
  EINVAL,
  EISCONN,
  EMFILE,
  EMSGSIZE,
  ENFILE,
  ENOBUFS,
  ENOTCONN,
  EPROTONOSUPPORT,
  ESOCKTNOSUPPORT,
} = errno;

/** Bytes relayed per direction per wakeup and held per direction per socket at most. */
const CHUNK = 64 * 1024;
/** What a socket reserves of its client's and the VR's buffer budget. */
const RESERVE = 2 * CHUNK;
const CHUNKS_PER_WAKEUP = 8;
const DGRAM_SLOT = 65536;
const DGRAM_BATCH = 64;
/** Requests read from one control connection per wakeup (the others get their turn). */
const REQUESTS_PER_WAKEUP = 64;
/** Replies a client may leave unread before it is disconnected. */
const MAX_OUTBOX = 256;
const MAX_BACKLOG = 4096;
const ZERO = new Uint8Array(1);

export interface RsockAccess {
  readonly uids: readonly number[];
  readonly gids: readonly number[];
  /** Who may bind ports below 1024 besides uid 0. */
  readonly privilegedPorts: { readonly uids: readonly number[]; readonly gids: readonly number[] };
}

export interface RsockQuotas {
  readonly clientSockets: number;
  readonly clientBufferedBytes: number;
  readonly sockets: number;
  readonly bufferedBytes: number;
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
  log?: (message: string, fields: Record<string, unknown>) => void;
}

/** Who holds a VR socket, for `show sockets`. */
export interface RsockOwner {
  socket: number;
  pid: number;
  uid: number;
  client: string;
}

interface Client {
  uid: number;
  sockets: number;
  reserved: number;
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
  watch: UnixWatch | null = null;
  name = '';
  ready = false;
  closed = false;
  closeAfterFlush = false;
  readonly outbox: Outgoing[] = [];
  readonly attached = new Set<RSock>();
  constructor(fd: number, pid: number, uid: number, gid: number) {
    this.fd = fd;
    this.pid = pid;
    this.uid = uid;
    this.gid = gid;
  }
}

class RSock {
  readonly id: number;
  readonly fd: number;
  readonly tcp: boolean;
  client: Client | null = null;
  pid = 0;
  creator = '';
  pairFd = -1;
  watch: UnixWatch | null = null;
  fileKey = '';
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
  /** The connection failed or was reset: the app reads EOF, its writes are discarded. */
  dead = false;
  connectWait: Pending | null = null;
  readonly acceptWaits: Pending[] = [];
  /** Listener: connections taken from the stack, not yet ACCEPTed. */
  readonly ready: RSock[] = [];
  backlog = 0;
  peerAddr = 0;
  peerPort = 0;
  // TCP relay state.
  toApp: Uint8Array | null = null;
  toAppOff = 0;
  toAppLen = 0;
  toStack: Uint8Array | null = null;
  toStackOff = 0;
  toStackLen = 0;
  /** The stack's FIN has been passed on (our end shut for writing). */
  stackEof = false;
  /** The app's end of stream has been read. */
  appEof = false;
  appHungUp = false;
  finSent = false;
  // UDP: datagrams for the app that did not fit in the pair yet (header included).
  held: Uint8Array | null = null;
  heldDescs: Uint32Array | null = null;
  heldFirst = 0;
  heldCount = 0;
  busy = false;
  again = false;
  watchEvents = -1;
  constructor(id: number, fd: number, tcp: boolean) {
    this.id = id;
    this.fd = fd;
    this.tcp = tcp;
  }
}

export interface RsockCounters {
  rsock_connections: number;
  rsock_sockets: number;
  rsock_access_refused: number;
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
  private readonly byFile = new Map<string, RSock>();
  private nextId = 1;
  private remoteSockets = 0;
  private reserved = 0;
  private stopped = false;
  private readonly c: RsockCounters = {
    rsock_connections: 0,
    rsock_sockets: 0,
    rsock_access_refused: 0,
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
  private readonly meta = new Int32Array(2 + 16);
  private readonly creds = new Float64Array(4);
  private readonly pairOut = new Int32Array(2);
  private readonly fileId = new Float64Array(2);
  private readonly oneFd = new Int32Array(1);
  private readonly chunk = new Uint8Array(CHUNK);
  private readonly dgramBuf = new Uint8Array(DGRAM_SLOT * DGRAM_BATCH);
  private readonly dgramDescs = new Uint32Array(3 * DGRAM_BATCH);
  private readonly sendDescs = new Uint32Array(2 * DGRAM_BATCH);
  private readonly dgramState = new Int32Array(1);
  private readonly dh = newDgramHeader();
  private readonly recvMeta = new RecvMeta();
  private readonly addr = new SockAddr();

  /** Listens on path (a stale socket file there is replaced); throws when it cannot. */
  static listen(path: string, options: RsockServerOptions): RsockServer {
    return new RsockServer(path, options);
  }

  private constructor(path: string, options: RsockServerOptions) {
    this.path = path;
    this.o = options;
    this.so = options.sockets;
    this.u = loadUnix();
    const fd = this.u.unixListen(path, options.mode ?? 0o666, 128);
    if (fd < 0) throw new Error(`remote socket server: cannot listen on ${path}: ${errnoText(-fd)}`);
    this.listenFd = fd;
    this.fileIno = lstatSync(path).ino;
    this.listenWatch = this.u.unixWatch(fd, () => this.onAcceptable());
    this.u.unixWatchEvents(this.listenWatch, WATCH_READABLE);
  }

  counters(): RsockCounters {
    this.c.rsock_connections = this.conns.size;
    this.c.rsock_sockets = this.remoteSockets;
    return { ...this.c };
  }

  /**
   * New access list and quotas (a configuration change): they decide the requests that come from
   * now on; connections already admitted and sockets already held stay.
   */
  setPolicy(access: RsockAccess, quotas: RsockQuotas): void {
    this.o.access = access;
    this.o.quotas = quotas;
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
  }

  /** The socket layer's event for fd; false when fd is not one of ours. */
  onSocketEvent(fd: number, events: number): boolean {
    const s = this.byFd.get(fd);
    if (s === undefined) return false;
    if (s.closed) return true;
    if (s.listening) this.pumpListener(s);
    else if (s.connectWait !== null || s.connecting) this.connectProgress(s, events);
    else if (s.pairFd >= 0) this.pump(s);
    return true;
  }

  // ---- control connections --------------------------------------------------------------------

  private onAcceptable(): void {
    for (let i = 0; i < 64; i++) {
      const r = this.u.unixAccept(this.listenFd, this.creds);
      if (r < 0) break;
      const conn = new Conn(this.creds[0]!, this.creds[1]!, this.creds[2]!, this.creds[3]!);
      this.conns.add(conn);
      conn.watch = this.u.unixWatch(conn.fd, (ready) => this.onConnReady(conn, ready));
      this.u.unixWatchEvents(conn.watch, WATCH_READABLE);
    }
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
      const n = u.unixRecvMsg(conn.fd, this.rbuf, 0, this.rbuf.length, meta);
      if (n === -EAGAIN) return;
      if (n <= 0) {
        this.closeConn(conn);
        return;
      }
      const nfds = meta[1]!;
      let fd = -1;
      for (let k = 0; k < nfds; k++) {
        if (k === 0 && nfds === 1) fd = meta[2]!;
        else u.unixClose(meta[2 + k]!);
      }
      try {
        this.handle(conn, n, (meta[0]! & RECV_TRUNC) !== 0, fd, nfds);
      } finally {
        if (fd >= 0) u.unixClose(fd);
      }
    }
  }

  private handle(conn: Conn, len: number, truncated: boolean, fd: number, nfds: number): void {
    const b = this.rbuf;
    if (truncated) {
      this.c.rsock_malformed_requests++;
      const id = len >= 12 ? (b[8]! | (b[9]! << 8) | (b[10]! << 16) | (b[11]! << 24)) >>> 0 : 0;
      this.fatal(conn, id, 'message longer than 4096 bytes');
      return;
    }
    const d = decode(b, 0, len);
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
      case 'attach':
        this.attach(conn, m.id, fd, nfds);
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
    const a = this.o.access;
    if (!a.uids.includes(conn.uid) && !a.gids.includes(conn.gid)) {
      this.c.rsock_access_refused++;
      this.o.log?.('remote socket client refused', { pid: conn.pid, uid: conn.uid, gid: conn.gid });
      this.fatal(conn, id, `uid ${conn.uid} is not on the access list of VR ${this.o.vrName}`, EACCES);
      return;
    }
    if (min > RSOCK_VERSION || max < RSOCK_VERSION || min > max) {
      this.fatal(
        conn,
        id,
        `VR ${this.o.vrName} speaks protocol versions ${RSOCK_VERSION} to ${RSOCK_VERSION}; the client offered ${min} to ${max}`,
        EPROTONOSUPPORT,
      );
      return;
    }
    conn.ready = true;
    conn.name = name;
    this.clientOf(conn.uid);
    this.reply(conn, {
      kind: 'hello-ok',
      id,
      version: RSOCK_VERSION,
      maxSockets: this.o.quotas.clientSockets,
      flags: 0,
      vrName: this.o.vrName,
    });
  }

  private clientOf(uid: number): Client {
    let c = this.clients.get(uid);
    if (c === undefined) {
      c = { uid, sockets: 0, reserved: 0 };
      this.clients.set(uid, c);
    }
    return c;
  }

  /** -errno with a message when conn's client may not have one more socket, else 0. */
  private quotaCheck(conn: Conn, id: number): boolean {
    const q = this.o.quotas;
    const client = this.clientOf(conn.uid);
    let e = 0;
    let why = '';
    if (this.remoteSockets >= q.sockets) {
      e = ENFILE;
      why = `VR ${this.o.vrName} holds its maximum of ${q.sockets} remote sockets`;
    } else if (client.sockets >= q.clientSockets) {
      e = EMFILE;
      why = `uid ${conn.uid} holds its quota of ${q.clientSockets} sockets in VR ${this.o.vrName}`;
    } else if (client.reserved + RESERVE > q.clientBufferedBytes) {
      e = ENOBUFS;
      why = `uid ${conn.uid} has its quota of ${q.clientBufferedBytes} buffered bytes in VR ${this.o.vrName}`;
    } else if (this.reserved + RESERVE > q.bufferedBytes) {
      e = ENOBUFS;
      why = `VR ${this.o.vrName} is out of relay buffer budget (${q.bufferedBytes} bytes)`;
    }
    if (e === 0) return true;
    this.c.rsock_quota_refused++;
    this.error(conn, id, e, why);
    return false;
  }

  private socket(conn: Conn, id: number, family: number, type: number, protocol: number): void {
    if (family !== AF_INET) return this.error(conn, id, EAFNOSUPPORT, 'only AF_INET');
    if (type !== SOCK_STREAM && type !== SOCK_DGRAM)
      return this.error(conn, id, ESOCKTNOSUPPORT, 'only SOCK_STREAM and SOCK_DGRAM');
    const tcp = type === SOCK_STREAM;
    if (protocol !== 0 && protocol !== (tcp ? IPPROTO_TCP : IPPROTO_UDP))
      return this.error(conn, id, EPROTONOSUPPORT, `protocol ${protocol} with type ${type}`);
    if (!this.quotaCheck(conn, id)) return;
    const fd = this.so.socket(tcp ? 'stream' : 'dgram');
    if (fd < 0) return this.error(conn, id, fd === -EMFILE ? ENFILE : -fd, 'the VR cannot open a socket');
    const s = new RSock(this.nextId++, fd, tcp);
    this.byFd.set(fd, s);
    const appFd = this.openPair(s, conn, id);
    if (appFd < 0) return;
    this.byId.set(s.id, s);
    s.conns.add(conn);
    conn.attached.add(s);
    this.updateWatch(s);
    this.reply(conn, { kind: 'socket-ok', id, socket: s.id }, appFd);
  }

  /** Gives s its pair and its owner; returns the app's end, or -1 after an ERROR reply (s gone). */
  private openPair(s: RSock, conn: Conn, id: number): number {
    const u = this.u;
    const r = u.unixSocketPair(s.tcp ? UNIX_SOCK_STREAM : UNIX_SOCK_SEQPACKET, this.pairOut);
    if (r < 0) {
      this.so.close(s.fd, this.o.clock());
      this.byFd.delete(s.fd);
      s.closed = true;
      this.error(conn, id, r === -EMFILE ? ENFILE : -r, 'the VR is out of descriptors');
      return -1;
    }
    s.pairFd = this.pairOut[0]!;
    const appFd = this.pairOut[1]!;
    u.unixFileId(appFd, this.fileId);
    s.fileKey = `${this.fileId[0]}:${this.fileId[1]}`;
    this.byFile.set(s.fileKey, s);
    const client = this.clientOf(conn.uid);
    s.client = client;
    s.pid = conn.pid;
    s.creator = conn.name;
    client.sockets++;
    client.reserved += RESERVE;
    this.remoteSockets++;
    this.reserved += RESERVE;
    s.watch = u.unixWatch(s.pairFd, () => this.onPairReady(s));
    return appFd;
  }

  private attach(conn: Conn, id: number, fd: number, nfds: number): void {
    if (nfds !== 1 || fd < 0) return this.error(conn, id, EBADF, 'ATTACH carries exactly one descriptor');
    const r = this.u.unixFileId(fd, this.fileId);
    const s = r < 0 ? undefined : this.byFile.get(`${this.fileId[0]}:${this.fileId[1]}`);
    if (s === undefined || s.closed)
      return this.error(conn, id, EBADF, `the descriptor is not a socket of VR ${this.o.vrName}`);
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
    this.reply(conn, {
      kind: 'attach-ok',
      id,
      socket: s.id,
      family: AF_INET,
      type: s.tcp ? SOCK_STREAM : SOCK_DGRAM,
      protocol: s.tcp ? IPPROTO_TCP : IPPROTO_UDP,
      state,
    });
  }

  private onSocket(conn: Conn, s: RSock, m: Message): void {
    const so = this.so;
    const now = this.o.clock();
    switch (m.kind) {
      case 'bind': {
        if (m.port !== 0 && m.port < 1024 && !this.mayBindPrivileged(conn))
          return this.error(conn, m.id, EACCES, `uid ${conn.uid} may not bind port ${m.port} (below 1024)`);
        const r = so.bind(s.fd, m.addr, m.port);
        if (r < 0) return this.error(conn, m.id, -r, '');
        s.bound = true;
        return this.ok(conn, m.id);
      }
      case 'connect':
        return this.connect(conn, s, m.id, m.addr, m.port, m.flags, now);
      case 'listen': {
        if (!s.tcp) return this.error(conn, m.id, EOPNOTSUPP, 'listen on a datagram socket');
        if (s.connected || s.connecting) return this.error(conn, m.id, EINVAL, '');
        const backlog = Math.max(1, Math.min(m.backlog, MAX_BACKLOG));
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
        if (s.ready.length > 0) return this.handOver(s, { conn, id: m.id });
        if ((m.flags & ACCEPT_NONBLOCK) !== 0) return this.error(conn, m.id, EAGAIN, '');
        s.acceptWaits.push({ conn, id: m.id });
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
        return this.reply(conn, { kind: 'addr-ok', id: m.id, addr: this.addr.addr, port: this.addr.port });
      }
      case 'setsockopt': {
        const name = optionName(m.level, m.name);
        if (name === null) return this.error(conn, m.id, errno.ENOPROTOOPT, '');
        const v = decodeOption(name, m.value);
        if (v === null) return this.error(conn, m.id, EINVAL, 'option value of the wrong size');
        if (name === 'SO_LINGER' || name === 'SO_REUSEPORT') return this.ok(conn, m.id);
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
        if (name === null || name === 'IP_ADD_MEMBERSHIP' || name === 'IP_DROP_MEMBERSHIP')
          return this.error(conn, m.id, errno.ENOPROTOOPT, '');
        let v: number;
        if (name === 'SO_LINGER' || name === 'SO_REUSEPORT') v = 0;
        else if (name === 'IP_MULTICAST_IF' || name === 'SO_BINDTODEVICE') v = 0;
        else v = so.getOption(s.fd, name);
        if (v < 0) return this.error(conn, m.id, -v, '');
        const value =
          name === 'SO_LINGER' ? new Uint8Array(Math.min(8, m.maxLength)) : encodeOption(v, m.maxLength);
        return this.reply(conn, { kind: 'opt-ok', id: m.id, value });
      }
    }
  }

  private mayBindPrivileged(conn: Conn): boolean {
    const p = this.o.access.privilegedPorts;
    return conn.uid === 0 || p.uids.includes(conn.uid) || p.gids.includes(conn.gid);
  }

  private connect(
    conn: Conn,
    s: RSock,
    id: number,
    addr: number,
    port: number,
    flags: number,
    now: number,
  ): void {
    if ((flags & ~CONNECT_UNSPEC) !== 0) return this.error(conn, id, EINVAL, 'reserved CONNECT flags');
    if ((flags & CONNECT_UNSPEC) !== 0) {
      if (s.tcp || addr !== 0 || port !== 0) return this.error(conn, id, EINVAL, '');
      this.so.connect(s.fd, 0, 0, now);
      s.connected = false;
      return this.ok(conn, id);
    }
    if (s.listening) return this.error(conn, id, EINVAL, '');
    if (!s.tcp) {
      const r = this.so.connect(s.fd, addr, port, now);
      if (r < 0) return this.error(conn, id, -r, '');
      s.connected = true;
      s.bound = true;
      return this.ok(conn, id);
    }
    if (s.connecting) return this.error(conn, id, EALREADY, '');
    if (s.connected) return this.error(conn, id, EISCONN, '');
    s.connectWait = { conn, id };
    s.connecting = true;
    const r = this.so.connect(s.fd, addr, port, now);
    if (r === -errno.EINPROGRESS || r === 0) {
      s.bound = true;
      // The handshake may already be done (a local address): look at the events now.
      this.connectProgress(s, this.so.events(s.fd));
      return;
    }
    s.connecting = false;
    s.connectWait = null;
    this.error(conn, id, -r, '');
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
    if (e === 0) {
      s.connected = true;
      if (w !== null) this.ok(w.conn, w.id);
      this.pump(s);
      return;
    }
    s.soError = e;
    if (w !== null) this.error(w.conn, w.id, e, '');
    this.fail(s);
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
      s.toAppLen = 0;
      s.stackEof = true;
      this.u.unixShutdown(s.pairFd, 1);
    }
    if (wr) {
      s.shutWr = true;
      this.u.unixShutdown(s.pairFd, 0);
    }
    this.ok(conn, id);
    this.pump(s);
  }

  // ---- listeners ------------------------------------------------------------------------------

  /** Takes ready connections from the stack (up to the backlog), hands them to waiters or tokens. */
  private pumpListener(s: RSock): void {
    const now = this.o.clock();
    while (!s.closed && s.ready.length < s.backlog) {
      const fd = this.so.accept(s.fd, now, this.addr);
      if (fd < 0) break;
      const a = new RSock(this.nextId++, fd, true);
      a.connected = true;
      a.bound = true;
      a.peerAddr = this.addr.addr;
      a.peerPort = this.addr.port;
      this.byFd.set(fd, a);
      const w = s.acceptWaits.shift();
      s.ready.push(a);
      if (w !== undefined) this.handOver(s, w);
      else this.u.unixWrite(s.pairFd, ZERO, 0, 1);
    }
  }

  private handOver(s: RSock, w: Pending): void {
    if (w.conn.closed) return;
    if (!this.quotaCheck(w.conn, w.id)) return;
    const a = s.ready.shift()!;
    const appFd = this.openPair(a, w.conn, w.id);
    if (appFd < 0) return;
    this.byId.set(a.id, a);
    a.conns.add(w.conn);
    w.conn.attached.add(a);
    this.reply(
      w.conn,
      { kind: 'accept-ok', id: w.id, socket: a.id, addr: a.peerAddr, port: a.peerPort },
      appFd,
    );
    this.pump(a);
  }

  // ---- the data relay -------------------------------------------------------------------------

  private onPairReady(s: RSock): void {
    if (s.closed) return;
    if (s.listening || (s.tcp && !s.connected) || s.connecting) {
      // Nothing is read from these ends: a wakeup here means the app closed its last copy.
      if (this.u.unixHungUp(s.pairFd) === 1) this.destroy(s);
    } else this.pump(s);
    this.o.afterStackCall?.();
  }

  private pump(s: RSock): void {
    if (s.closed || s.pairFd < 0) return;
    if (s.busy) {
      s.again = true;
      return;
    }
    s.busy = true;
    try {
      let rounds = 0;
      do {
        s.again = false;
        if (s.tcp) this.pumpStream(s);
        else this.pumpDgram(s);
      } while (s.again && !s.closed && ++rounds < 4);
    } finally {
      s.busy = false;
    }
    if (!s.closed) this.updateWatch(s);
  }

  private pumpStream(s: RSock): void {
    const u = this.u;
    const so = this.so;
    const now = this.o.clock();
    const buf = this.chunk;
    // Stack → app.
    for (let i = 0; i < CHUNKS_PER_WAKEUP && !s.closed; i++) {
      if (s.toAppLen > 0) {
        const n = u.unixWrite(s.pairFd, s.toApp!, s.toAppOff, s.toAppLen);
        if (n === -EAGAIN) break;
        if (n < 0) {
          // The app's end is gone for reading; what it would have read is lost, as with close(2).
          s.toAppLen = 0;
          s.stackEof = true;
          break;
        }
        this.c.rsock_bytes_to_apps += n;
        s.toAppOff += n;
        s.toAppLen -= n;
        if (s.toAppLen > 0) break;
        continue;
      }
      if (s.stackEof || s.dead) break;
      // Only when readable: a recv that finds nothing re-queues the socket's event (a livelock).
      if ((so.events(s.fd) & EV_READABLE) === 0) break;
      const r = so.recv(s.fd, buf, 0, CHUNK, now);
      if (r === -EAGAIN) break;
      if (r === 0) {
        s.stackEof = true;
        u.unixShutdown(s.pairFd, 1);
        break;
      }
      if (r < 0) {
        s.soError = -r;
        this.fail(s);
        return;
      }
      const n = u.unixWrite(s.pairFd, buf, 0, r);
      const sent = Math.max(n, 0);
      this.c.rsock_bytes_to_apps += sent;
      if (sent < r) {
        if (n < 0 && n !== -EAGAIN) {
          s.stackEof = true;
          break;
        }
        if (s.toApp === null) s.toApp = new Uint8Array(CHUNK);
        s.toApp.set(buf.subarray(sent, r), 0);
        s.toAppOff = 0;
        s.toAppLen = r - sent;
        break;
      }
    }
    // App → stack.
    for (let i = 0; i < CHUNKS_PER_WAKEUP && !s.closed; i++) {
      if (s.toStackLen > 0) {
        if ((so.events(s.fd) & (EV_WRITABLE | EV_ERROR)) === 0) break;
        const n = so.send(s.fd, s.toStack!, s.toStackOff, s.toStackLen, now);
        if (n === -EAGAIN) break;
        if (n < 0) {
          s.toStackLen = 0;
          s.soError = -n;
          this.fail(s);
          return;
        }
        this.c.rsock_bytes_from_apps += n;
        s.toStackOff += n;
        s.toStackLen -= n;
        if (s.toStackLen > 0) break;
        continue;
      }
      if (s.appEof) break;
      const r = u.unixRead(s.pairFd, buf, 0, CHUNK);
      if (r === -EAGAIN) break;
      if (r <= 0) {
        s.appEof = true;
        s.appHungUp = r < 0 || u.unixHungUp(s.pairFd) === 1;
        break;
      }
      if (s.dead) continue;
      const n = so.send(s.fd, buf, 0, r, now);
      if (n < 0 && n !== -EAGAIN) {
        s.soError = -n;
        this.fail(s);
        return;
      }
      const sent = Math.max(n, 0);
      this.c.rsock_bytes_from_apps += sent;
      if (sent < r) {
        if (s.toStack === null) s.toStack = new Uint8Array(CHUNK);
        s.toStack.set(buf.subarray(sent, r), 0);
        s.toStackOff = 0;
        s.toStackLen = r - sent;
        break;
      }
    }
    if (s.appEof && s.toStackLen === 0 && !s.finSent) {
      s.finSent = true;
      if (s.appHungUp) {
        this.destroy(s);
        return;
      }
      if (!s.dead) so.shutdown(s.fd, 'write', now);
    } else if (s.finSent && !s.appHungUp && u.unixHungUp(s.pairFd) === 1 && s.toAppLen === 0) {
      this.destroy(s);
    }
  }

  private pumpDgram(s: RSock): void {
    const u = this.u;
    const so = this.so;
    const now = this.o.clock();
    // Stack → app: datagrams waiting from last time first.
    if (s.heldCount > 0) {
      const n = u.unixSendDgrams(s.pairFd, s.held!, s.heldDescs!, s.heldFirst, s.heldCount);
      if (n === -EAGAIN) return this.pumpDgramFromApp(s, now);
      if (n < 0) {
        this.c.rsock_dgrams_dropped_to_apps += s.heldCount - s.heldFirst;
        s.heldCount = 0;
      } else {
        this.c.rsock_dgrams_to_apps += n;
        s.heldFirst += n;
        if (s.heldFirst >= s.heldCount) s.heldCount = 0;
        else return this.pumpDgramFromApp(s, now);
      }
    }
    const buf = this.dgramBuf;
    const descs = this.sendDescs;
    const meta = this.recvMeta;
    const h = this.dh;
    let count = 0;
    while (count < DGRAM_BATCH && (so.events(s.fd) & EV_READABLE) !== 0) {
      const off = count * DGRAM_SLOT;
      const r = so.recvFrom(s.fd, buf, off + DGRAM_HEADER_LENGTH, MAX_DGRAM_PAYLOAD, meta);
      if (r === -EAGAIN || (r === 0 && s.shutRd)) break;
      if (r < 0) {
        // An ICMP error on a connected socket: it waits in SO_ERROR (§7.3).
        s.soError = -r;
        continue;
      }
      h.flags = s.pktinfo ? DGRAM_PKTINFO : 0;
      h.peerAddr = meta.addr;
      h.peerPort = meta.port;
      h.ifindex = s.pktinfo && meta.ifIndex >= 0 ? meta.ifIndex + 1 : 0;
      h.localAddr = s.pktinfo ? meta.dst : 0;
      encodeDgramHeader(h, buf, off);
      descs[2 * count] = off;
      descs[2 * count + 1] = DGRAM_HEADER_LENGTH + r;
      count++;
    }
    let first = 0;
    while (first < count) {
      const n = u.unixSendDgrams(s.pairFd, buf, descs, first, count);
      if (n === -EMSGSIZE) {
        this.c.rsock_dgrams_dropped_to_apps++;
        first++;
        continue;
      }
      if (n === -EAGAIN) break;
      if (n < 0) {
        this.c.rsock_dgrams_dropped_to_apps += count - first;
        first = count;
        break;
      }
      this.c.rsock_dgrams_to_apps += n;
      first += n;
      if (n === 0) break;
    }
    if (first < count) this.hold(s, first, count);
    this.pumpDgramFromApp(s, now);
  }

  /** Keeps datagrams first..count-1 of the shared buffer until the pair has room (rare: a full pair). */
  private hold(s: RSock, first: number, count: number): void {
    let total = 0;
    for (let i = first; i < count; i++) total += this.sendDescs[2 * i + 1]!;
    const held = new Uint8Array(total);
    const descs = new Uint32Array(2 * (count - first));
    let at = 0;
    for (let i = first; i < count; i++) {
      const off = this.sendDescs[2 * i]!;
      const len = this.sendDescs[2 * i + 1]!;
      held.set(this.dgramBuf.subarray(off, off + len), at);
      descs[2 * (i - first)] = at;
      descs[2 * (i - first) + 1] = len;
      at += len;
    }
    s.held = held;
    s.heldDescs = descs;
    s.heldFirst = 0;
    s.heldCount = count - first;
  }

  private pumpDgramFromApp(s: RSock, now: number): void {
    const u = this.u;
    const so = this.so;
    const buf = this.dgramBuf;
    const descs = this.dgramDescs;
    const h = this.dh;
    for (let round = 0; round < 4 && !s.closed; round++) {
      const n = u.unixRecvDgrams(s.pairFd, buf, DGRAM_SLOT, DGRAM_BATCH, descs, this.dgramState);
      if (n < 0) {
        if (n !== -EAGAIN) this.destroy(s);
        return;
      }
      for (let i = 0; i < n; i++) {
        const off = descs[3 * i]!;
        const len = descs[3 * i + 1]!;
        const at = descs[3 * i + 2] === 0 ? decodeDgramHeader(buf, off, len, h) : -1;
        if (at < 0) {
          this.c.rsock_dgrams_bad_from_apps++;
          continue;
        }
        const payload = len - DGRAM_HEADER_LENGTH;
        let r: number;
        const pk = (h.flags & DGRAM_PKTINFO) !== 0;
        if (h.peerAddr === 0 && h.peerPort === 0) {
          if (!s.connected) {
            s.soError = EDESTADDRREQ;
            continue;
          }
          r = pk
            ? so.sendTo(s.fd, buf, at, payload, 0, 0, now, h.localAddr, h.ifindex - 1)
            : so.send(s.fd, buf, at, payload, now);
        } else {
          r = so.sendTo(
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
        if (r < 0) s.soError = -r;
        else {
          this.c.rsock_dgrams_from_apps++;
          this.c.rsock_bytes_from_apps += payload;
        }
      }
      if (this.dgramState[0] === 1) {
        this.destroy(s);
        return;
      }
      if (n < DGRAM_BATCH) return;
    }
  }

  /** The connection failed or was reset: the app reads EOF, its writes are discarded, SO_ERROR is set. */
  private fail(s: RSock): void {
    if (s.dead) return;
    s.dead = true;
    s.toAppLen = 0;
    s.toStackLen = 0;
    if (!s.stackEof) {
      s.stackEof = true;
      this.u.unixShutdown(s.pairFd, 1);
    }
    s.again = true;
    if (!s.busy) this.pump(s);
  }

  private updateWatch(s: RSock): void {
    if (s.watch === null) return;
    let ev = WATCH_HANGUP_ONLY;
    if (s.listening || s.connecting || (s.tcp && !s.connected)) ev = WATCH_HANGUP_ONLY;
    else if (s.tcp) {
      if (!s.appEof && s.toStackLen === 0) ev |= WATCH_READABLE;
      if (s.toAppLen > 0) ev |= WATCH_WRITABLE;
    } else {
      ev |= WATCH_READABLE;
      if (s.heldCount > 0) ev |= WATCH_WRITABLE;
    }
    if (ev !== s.watchEvents) {
      s.watchEvents = ev;
      this.u.unixWatchEvents(s.watch, ev);
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
    if (s.fileKey !== '') this.byFile.delete(s.fileKey);
    for (const c of s.conns) c.attached.delete(s);
    s.conns.clear();
    if (s.watch !== null) this.u.unixWatchClose(s.watch);
    s.watch = null;
    if (s.pairFd >= 0) this.u.unixClose(s.pairFd);
    s.pairFd = -1;
    if (s.client !== null) {
      s.client.sockets--;
      s.client.reserved -= RESERVE;
      this.remoteSockets--;
      this.reserved -= RESERVE;
    }
    s.toApp = null;
    s.toStack = null;
    s.held = null;
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

  /** Sends m (with the app's end of a pair, which is then closed here), or queues it. */
  private reply(conn: Conn, m: Message, fd = -1): void {
    if (conn.closed) {
      if (fd >= 0) this.u.unixClose(fd);
      return;
    }
    const len = encode(m, this.wbuf, 0);
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
    if (conn.watch !== null) this.u.unixWatchClose(conn.watch);
    conn.watch = null;
    this.u.unixClose(conn.fd);
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

function errnoText(e: number): string {
  return e === errno.EADDRINUSE
    ? 'another server is listening there (EADDRINUSE)'
    : e === 17
      ? 'a file that is not a socket is in the way (EEXIST)'
      : `errno ${e}`;
}
