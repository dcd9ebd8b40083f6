// The control connection of this process to one VR (docs/remote-socket-protocol.md §1, §3, §4): opened
// lazily, HELLO'd once, shared by every socket of the process in that VR, replies matched by id. When
// it breaks (the VR died or sent garbage) every request in flight fails and the next call opens a new
// one, so a restarted VR is picked up without the program doing anything. It offers protocol
// versions 1…2 and speaks the one the VR chooses (§13.1): 2, or 1 with an older VR (IPv4 only).
import { join } from 'node:path';
import { DEFAULT_RUN_DIR } from '@nexthop/control';
import {
  loadUnix,
  RECV_CTRUNC,
  type UnixNative,
  type UnixWatch,
  WATCH_READABLE,
  WATCH_WRITABLE,
} from '@nexthop/native';
import {
  type ControlMessage,
  decodeControl,
  encodeControl,
  MAX_MESSAGE,
  RSOCK_MAX_VERSION,
  RSOCK_MIN_VERSION,
  RSOCK_VERSION,
} from '@nexthop/rsock-proto';
import { errnoError, type SocketError } from './errors.ts';

const ENOENT = 2;
const EIO = 5;
const EAGAIN = 11;
const EMFILE = 24;
const ECONNREFUSED = 111;
const ECONNRESET = 104;
const EPIPE = 32;

export interface VrAddress {
  /** The VR's name: its control socket is `<runDir>/<vr>.sock`. */
  vr: string;
  /** Default /run/nexthop, as `nexthop vr`. */
  runDir?: string;
}

export interface Reply {
  /** Endpoints as Endpoints, whatever the version (an AF_INET one in version 1). */
  message: ControlMessage;
  /** The descriptor that came with a SOCKET_OK or ACCEPT_OK, or -1. */
  fd: number;
}

type Body<M> = M extends ControlMessage ? Omit<M, 'id'> : never;
export type Request = Body<ControlMessage>;

interface Waiting {
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
}

const sessions = new Map<string, Session>();

/** The control connection of this process to a VR, opened (and HELLO'd) on first use. */
export function sessionFor(where: VrAddress): Session {
  const runDir = where.runDir ?? DEFAULT_RUN_DIR;
  const path = join(runDir, `${where.vr}.sock`);
  let s = sessions.get(path);
  if (s === undefined || s.broken) {
    s = new Session(where.vr, runDir, path);
    sessions.set(path, s);
  }
  return s;
}

/** Why an operation failed, with the errno the VR (or the control connection) gave. */
export function replyError(
  r: Reply,
  syscall: string,
  where?: { address: string; port?: number },
): SocketError {
  if (r.message.kind === 'error') return errnoError(r.message.errno, syscall, r.message.message, where);
  return errnoError(EIO, syscall, `unexpected reply ${r.message.kind}`, where);
}

export class Session {
  readonly vr: string;
  readonly runDir: string;
  readonly path: string;
  broken = false;
  /** Sockets per client (the uid) the VR allows, from HELLO_OK. */
  maxSockets = 0;
  /**
   * The protocol version: 1 until HELLO_OK, then the one the VR chose. It decides what the
   * session's new UDP sockets put in front of their datagrams (§13.5) and whether AF_INET6 can be
   * asked for at all.
   */
  version = RSOCK_VERSION;
  /** HELLO_OK came: an ERROR with id 0 is no longer the answer to HELLO. */
  private admitted = false;
  private readonly u: UnixNative = loadUnix();
  private fd = -1;
  private watch: UnixWatch | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private readonly outbox: { bytes: Uint8Array; fds: Int32Array | null }[] = [];
  private nextId = 1;
  private readonly rbuf = new Uint8Array(MAX_MESSAGE);
  private readonly meta = new Int32Array(2 + 16);
  private hello: Promise<void> | null = null;
  private brokenBy: SocketError | null = null;

  constructor(vr: string, runDir: string, path: string) {
    this.vr = vr;
    this.runDir = runDir;
    this.path = path;
  }

  /** Sends a request once the session is up and resolves with its reply (ERROR replies included). */
  async request(body: Request, fds: Int32Array | null = null): Promise<Reply> {
    await this.ready();
    return this.send(body, fds);
  }

  /** Opens the session (HELLO) if it is not yet, and resolves with the version it speaks. */
  async ready(): Promise<number> {
    if (this.hello === null) this.hello = this.open();
    await this.hello;
    return this.version;
  }

  private async open(): Promise<void> {
    const fd = this.u.unixConnect(this.path);
    if (fd < 0) {
      this.broken = true;
      throw this.connectError(-fd);
    }
    this.fd = fd;
    this.watch = this.u.unixWatch(fd, (ready) => this.onReady(ready));
    const r = await this.send(
      {
        kind: 'hello',
        minVersion: RSOCK_MIN_VERSION,
        maxVersion: RSOCK_MAX_VERSION,
        flags: 0,
        clientName: `node ${process.pid}`,
      },
      null,
    );
    if (r.message.kind === 'hello-ok') {
      const v = r.message.version;
      if (v < RSOCK_MIN_VERSION || v > RSOCK_MAX_VERSION) {
        const e = errnoError(EIO, 'connect', `VR ${this.vr} chose protocol version ${v}, not one offered`);
        this.break(e);
        throw e;
      }
      this.admitted = true;
      this.maxSockets = r.message.maxSockets;
      this.version = v;
      return;
    }
    const e =
      r.message.kind === 'error'
        ? errnoError(r.message.errno, 'connect', `VR ${this.vr} refused this process: ${r.message.message}`)
        : errnoError(EIO, 'connect', `VR ${this.vr} answered HELLO with ${r.message.kind}`);
    this.break(e);
    throw e;
  }

  private connectError(e: number): SocketError {
    if (e === ENOENT || e === ECONNREFUSED) {
      return errnoError(
        e,
        'connect',
        `VR ${this.vr} is not running: nothing listens at ${this.path} (run-dir ${this.runDir})`,
      );
    }
    return errnoError(e, 'connect', `cannot open the control socket of VR ${this.vr} at ${this.path}`);
  }

  private send(body: Request, fds: Int32Array | null): Promise<Reply> {
    if (this.broken) return Promise.reject(this.brokenBy ?? this.connectError(ECONNRESET));
    let id = this.nextId;
    while (this.waiting.has(id) || id === 0) id = (id + 1) >>> 0;
    this.nextId = (id + 1) >>> 0;
    const bytes = new Uint8Array(MAX_MESSAGE);
    const n = encodeControl({ ...body, id } as ControlMessage, this.version, bytes);
    const p = new Promise<Reply>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.outbox.push({ bytes: bytes.subarray(0, n), fds });
    this.flush();
    this.updateWatch();
    return p;
  }

  private flush(): void {
    while (this.outbox.length > 0 && !this.broken) {
      const m = this.outbox[0]!;
      const r = this.u.unixSendMsg(this.fd, m.bytes, 0, m.bytes.length, m.fds);
      if (r === -EAGAIN) return;
      this.outbox.shift();
      if (r < 0) {
        // Before HELLO_OK, EPIPE means the VR refused us at accept and shut the connection: its
        // ERROR (id 0, §4) is still there to be read, and is the answer.
        if (!this.admitted && (r === -EPIPE || r === -ECONNRESET)) this.readReplies();
        if (this.broken) return;
        this.break(errnoError(-r, 'send', `control connection to VR ${this.vr} failed`));
        return;
      }
    }
  }

  /** Reads only while replies are awaited, so that an idle session does not keep the process alive. */
  private updateWatch(): void {
    if (this.watch === null) return;
    const events =
      (this.waiting.size > 0 ? WATCH_READABLE : 0) | (this.outbox.length > 0 ? WATCH_WRITABLE : 0);
    this.u.unixWatchEvents(this.watch, events);
  }

  private onReady(ready: number): void {
    if ((ready & WATCH_WRITABLE) !== 0) this.flush();
    if ((ready & WATCH_READABLE) !== 0) this.readReplies();
    if (!this.broken) this.updateWatch();
  }

  private readReplies(): void {
    while (!this.broken) {
      const n = this.u.unixRecvMsg(this.fd, this.rbuf, 0, this.rbuf.length, this.meta);
      if (n === -EAGAIN) return;
      if (n <= 0) {
        this.break(
          errnoError(
            n === 0 ? ECONNRESET : -n,
            'recv',
            `the control connection to VR ${this.vr} closed (did the VR stop?)`,
          ),
        );
        return;
      }
      const nfds = this.meta[1]!;
      const fd = nfds > 0 ? this.meta[2]! : -1;
      // §6: a receiver closes every descriptor it did not expect.
      for (let i = 1; i < nfds; i++) this.u.unixClose(this.meta[2 + i]!);
      // Replies carry the session's version; HELLO_OK comes while it is still 1 (§13.1).
      const d = decodeControl(this.rbuf, 0, n, this.version);
      if (!d.ok) {
        if (fd >= 0) this.u.unixClose(fd);
        this.break(errnoError(EIO, 'recv', `malformed reply from VR ${this.vr}: ${d.reason}`));
        return;
      }
      const m = d.message;
      // An ERROR with id 0 before HELLO_OK is the VR refusing the connection at accept (§4): the
      // answer to the HELLO, the one request in flight then.
      const id = m.id === 0 && m.kind === 'error' && !this.admitted ? Math.min(...this.waiting.keys()) : m.id;
      const w = this.waiting.get(id);
      if (w === undefined) {
        if (fd >= 0) this.u.unixClose(fd);
        continue;
      }
      this.waiting.delete(id);
      const wantsFd = m.kind === 'socket-ok' || m.kind === 'accept-ok';
      if (!wantsFd && fd >= 0) {
        this.u.unixClose(fd);
        w.resolve({ message: m, fd: -1 });
      } else if (wantsFd && (fd < 0 || (this.meta[0]! & RECV_CTRUNC) !== 0)) {
        // §6: the descriptor did not make it (RLIMIT_NOFILE): the call fails and the socket goes.
        if (fd >= 0) this.u.unixClose(fd);
        this.send({ kind: 'close', socket: m.socket }, null).catch(() => {});
        w.resolve({
          message: { kind: 'error', id: m.id, errno: EMFILE, message: 'the descriptor did not arrive' },
          fd: -1,
        });
      } else {
        w.resolve({ message: m, fd });
      }
    }
  }

  /** Closes the control connection; the sockets stay open (§12), requests in flight fail. */
  close(): void {
    this.break(errnoError(ECONNRESET, 'close', `control connection to VR ${this.vr} closed by the client`));
  }

  private break(e: SocketError): void {
    if (this.broken && this.fd < 0) return;
    this.broken = true;
    this.brokenBy = e;
    if (this.watch !== null) this.u.unixWatchClose(this.watch);
    this.watch = null;
    if (this.fd >= 0) this.u.unixClose(this.fd);
    this.fd = -1;
    this.outbox.length = 0;
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(e);
    if (sessions.get(this.path) === this) sessions.delete(this.path);
  }
}

/** Closes every control connection of this process (tests; sockets stay open, §12). */
export function closeSessions(): void {
  for (const s of [...sessions.values()]) s.close();
}
