// TCP inside a VR for Node programs: connect() gives a net.Socket, createServer() something shaped like
// net.Server. Every connection is the application end of a stream pair (§7.1) wrapped by node:net, so
// its data never passes through this library. The address's text decides the socket's family: an
// IPv6 one asks the VR for an AF_INET6 socket (protocol version 2, §13).
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { loadUnix } from '@nexthop/native';
import { ACCEPT_NONBLOCK, type Endpoint, SOCK_STREAM } from '@nexthop/rsock-proto';
import { addressOf, anyEndpoint, type FamilyName, openSocket, parseEndpoint } from './address.ts';
import { adoptDescriptor, setAddresses } from './adopt.ts';
import { errnoError } from './errors.ts';
import { replyError, type Session, sessionFor, type VrAddress } from './session.ts';

const EAGAIN = 11;
const ECONNRESET = 104;

export interface ConnectOptions extends VrAddress {
  /**
   * IPv4 address in dotted-quad form, or IPv6 text (names are not resolved: whose resolver would it
   * be?). IPv6 is refused with EAFNOSUPPORT while the VR has no IPv6 sockets.
   */
  host: string;
  port: number;
  localAddress?: string;
  localPort?: number;
  allowHalfOpen?: boolean;
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`${what}: bad port ${port}`);
}

/** The VR's answer to GETSOCKNAME, or null when it has none to give. */
async function sockName(
  session: Session,
  socket: number,
): Promise<{ address: string; family: FamilyName; port: number } | null> {
  const r = await session.request({ kind: 'getsockname', socket }).catch(() => null);
  if (r === null || r.message.kind !== 'addr-ok') return null;
  return addressOf(r.message.ep);
}

/**
 * A TCP connection from inside the VR, returned at once like net.connect(): 'connect' when the VR's
 * handshake completes, 'error' with the errno code (ECONNREFUSED, ETIMEDOUT, EACCES for a refused
 * process, ENOENT when the VR is not running…) otherwise. Writes before 'connect' are queued.
 */
export function connect(options: ConnectOptions, onConnect?: () => void): net.Socket {
  checkPort(options.port, 'connect');
  const remote = parseEndpoint(options.host, options.port, 'connect');
  const localPort = options.localPort ?? 0;
  checkPort(localPort, 'connect');
  const local: Endpoint | null =
    options.localAddress !== undefined
      ? parseEndpoint(options.localAddress, localPort, 'connect')
      : localPort !== 0
        ? anyEndpoint(remote.family, localPort)
        : null;
  const where = { address: options.host, port: options.port };
  const socket = new net.Socket({ allowHalfOpen: options.allowHalfOpen ?? false });
  // node:net queues writes while `connecting` and sends them on 'connect'.
  (socket as { connecting: boolean }).connecting = true;
  if (onConnect !== undefined) socket.once('connect', onConnect);
  const u = loadUnix();
  let fd = -1;
  let closed = false;
  socket.once('close', () => {
    closed = true;
    if (fd >= 0) u.unixClose(fd);
    fd = -1;
  });
  const fail = (e: Error) => {
    if (fd >= 0) u.unixClose(fd);
    fd = -1;
    if (!closed) socket.destroy(e);
  };
  const run = async () => {
    const session = sessionFor(options);
    const s = await openSocket(session, remote.family, SOCK_STREAM);
    if (s.message.kind !== 'socket-ok') return fail(replyError(s, 'socket', where));
    fd = s.fd;
    if (closed) {
      u.unixClose(fd);
      fd = -1;
      return;
    }
    const id = s.message.socket;
    if (local !== null) {
      const b = await session.request({ kind: 'bind', socket: id, ep: local });
      if (b.message.kind !== 'ok') return fail(replyError(b, 'bind'));
    }
    const c = await session.request({ kind: 'connect', socket: id, ep: remote, flags: 0 });
    if (closed) return;
    if (c.message.kind !== 'ok') return fail(replyError(c, 'connect', where));
    const name = await sockName(session, id);
    if (closed) return;
    setAddresses(socket, name, addressOf(remote));
    const mine = fd;
    // From here node:net owns the descriptor and closes it.
    fd = -1;
    adoptDescriptor(socket, mine);
  };
  run().catch(fail);
  return socket;
}

export interface ServerOptions extends VrAddress {
  allowHalfOpen?: boolean;
  pauseOnConnect?: boolean;
}

/**
 * A TCP server in the VR, shaped like net.Server: listen(), 'listening', 'connection' with a
 * net.Socket per accepted connection, 'error', close() and 'close', address(), ref()/unref().
 * Accepting follows §7.2: each byte read from the listener's descriptor is a token for one ACCEPT.
 */
export class Server extends EventEmitter {
  private readonly options: ServerOptions;
  private tokens: net.Socket | null = null;
  private socketId = 0;
  private session: Session | null = null;
  private bound: { address: string; family: FamilyName; port: number } | null = null;
  private closing = false;
  /** listen() failed (reported by 'error'); the server can listen again. */
  private failed = false;
  private closed = false;
  private refed = true;
  listening = false;

  constructor(options: ServerOptions, onConnection?: (socket: net.Socket) => void) {
    super();
    this.options = options;
    if (onConnection !== undefined) this.on('connection', onConnection);
  }

  listen(port: number, host?: string | (() => void), backlog?: number | (() => void), cb?: () => void): this {
    let h = '0.0.0.0';
    let b = 511;
    let done = cb;
    if (typeof host === 'function') done = host;
    else if (typeof host === 'string') h = host;
    if (typeof backlog === 'function') done = backlog;
    else if (typeof backlog === 'number') b = backlog;
    checkPort(port, 'listen');
    const ep = parseEndpoint(h, port, 'listen');
    if (done !== undefined) this.once('listening', done);
    this.start(ep, b).catch((e: Error) => this.emit('error', e));
    return this;
  }

  private async start(ep: Endpoint, backlog: number): Promise<void> {
    const session = sessionFor(this.options);
    this.session = session;
    const where = addressOf(ep);
    const s = await openSocket(session, ep.family, SOCK_STREAM);
    if (s.message.kind !== 'socket-ok') throw replyError(s, 'socket', where);
    const tokens = new net.Socket({ fd: s.fd, readable: true, writable: true, allowHalfOpen: true });
    this.tokens = tokens;
    tokens.on('error', () => {});
    // The VR closed its end: no more connections will come.
    tokens.on('end', () => tokens.destroy());
    tokens.on('close', () => this.listenerGone(tokens));
    if (!this.refed) tokens.unref();
    this.socketId = s.message.socket;
    if (this.closing) {
      tokens.destroy();
      return;
    }
    const b = await session.request({ kind: 'bind', socket: this.socketId, ep });
    if (b.message.kind !== 'ok') throw this.abort(replyError(b, 'listen', where));
    const l = await session.request({ kind: 'listen', socket: this.socketId, backlog });
    if (l.message.kind !== 'ok') throw this.abort(replyError(l, 'listen', where));
    this.bound = (await sockName(session, this.socketId)) ?? where;
    tokens.on('data', (d: Buffer) => {
      for (let i = 0; i < d.length; i++) this.acceptOne();
    });
    if (this.closing) return;
    this.listening = true;
    this.emit('listening');
  }

  private abort(e: Error): Error {
    this.failed = true;
    this.tokens?.destroy();
    return e;
  }

  private acceptOne(): void {
    const session = this.session;
    if (session === null) return;
    session.request({ kind: 'accept', socket: this.socketId, flags: ACCEPT_NONBLOCK }).then(
      (r) => {
        if (r.message.kind !== 'accept-ok') {
          if (r.message.kind === 'error' && r.message.errno === EAGAIN) return;
          if (!this.closing) this.emit('error', replyError(r, 'accept'));
          return;
        }
        const socket = new net.Socket({
          fd: r.fd,
          readable: true,
          writable: true,
          allowHalfOpen: this.options.allowHalfOpen ?? false,
          pauseOnCreate: this.options.pauseOnConnect ?? false,
        } as net.SocketConstructorOpts);
        if (this.closing) {
          socket.destroy();
          return;
        }
        setAddresses(socket, this.bound, addressOf(r.message.ep));
        this.emit('connection', socket);
      },
      (e: Error) => {
        if (!this.closing) this.emit('error', e);
      },
    );
  }

  /** The listener's descriptor closed: close() did it, or the VR went away. */
  private listenerGone(tokens: net.Socket): void {
    if (this.tokens === tokens) this.tokens = null;
    this.listening = false;
    if (this.failed) return;
    if (!this.closing) {
      this.closing = true;
      this.emit(
        'error',
        errnoError(
          ECONNRESET,
          'accept',
          `VR ${this.options.vr} closed the listening socket (did the VR stop?)`,
        ),
      );
    }
    this.finishClose();
  }

  private finishClose(): void {
    if (this.closed) return;
    this.closed = true;
    process.nextTick(() => this.emit('close'));
  }

  /** Stops listening: the listener's descriptor is closed, which closes the VR socket (§10). */
  close(cb?: (err?: Error) => void): this {
    if (cb !== undefined) this.once('close', () => cb());
    if (this.closing) {
      if (this.tokens === null) this.finishClose();
      return this;
    }
    this.closing = true;
    this.listening = false;
    if (this.tokens !== null) this.tokens.destroy();
    else this.finishClose();
    return this;
  }

  address(): { address: string; family: string; port: number } | null {
    return this.listening ? this.bound : null;
  }

  ref(): this {
    this.refed = true;
    this.tokens?.ref();
    return this;
  }

  unref(): this {
    this.refed = false;
    this.tokens?.unref();
    return this;
  }
}

export function createServer(options: ServerOptions, onConnection?: (socket: net.Socket) => void): Server {
  return new Server(options, onConnection);
}
