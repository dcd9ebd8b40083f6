// A minimal client of the remote socket protocol for tests: the TS codec plus the native Unix calls.
// It speaks version 1 unless opened with a higher maximum (§13.1); requests may be given in the
// version-1 shape (addr/port) or with Endpoints, and replies come in both shapes.
import { loadUnix, RECV_CTRUNC, type UnixWatch, WATCH_READABLE } from '@nexthop/native';
import {
  type ControlMessage,
  decodeControl,
  encodeControl,
  fromMessage,
  MAX_MESSAGE,
  type Message,
  RSOCK_VERSION,
  toMessage,
} from '@nexthop/rsock-proto';

export interface Reply {
  /** The reply in the version-1 shape (an endpoint as addr/port: 0 for one that is not AF_INET). */
  message: Message;
  /** The reply as decoded, endpoints as Endpoints. */
  control: ControlMessage;
  /** The descriptor that came with it, or -1. */
  fd: number;
  /** Its bytes. */
  raw: Uint8Array;
}

type Body<M> = M extends unknown ? Omit<M, 'id'> : never;
export type RequestBody = Body<Message> | Body<ControlMessage>;

export class TestClient {
  readonly fd: number;
  /** The connection's protocol version: 1 until HELLO_OK chose another. */
  version = RSOCK_VERSION;
  private readonly u = loadUnix();
  private readonly watch: UnixWatch;
  private readonly waiting = new Map<number, (r: Reply) => void>();
  private nextId = 1;
  private readonly buf = new Uint8Array(MAX_MESSAGE);
  private readonly meta = new Int32Array(4);
  closed = false;
  private readonly closedWaiters: (() => void)[] = [];

  constructor(path: string) {
    const fd = this.u.unixConnect(path);
    if (fd < 0) throw new Error(`connect ${path}: errno ${-fd}`);
    this.fd = fd;
    this.watch = this.u.unixWatch(fd, () => this.onReadable());
    this.u.unixWatchEvents(this.watch, WATCH_READABLE);
  }

  /** Connects and says HELLO offering minVersion…maxVersion (1…1 by default). */
  static async open(
    path: string,
    name = 'test',
    maxVersion = RSOCK_VERSION,
    minVersion = RSOCK_VERSION,
  ): Promise<{ client: TestClient; hello: Message }> {
    const client = new TestClient(path);
    const r = await client.request({ kind: 'hello', minVersion, maxVersion, flags: 0, clientName: name });
    return { client, hello: r.message };
  }

  /** Sends raw bytes (malformed-message tests). */
  sendRaw(bytes: Uint8Array, fds: Int32Array | null = null): number {
    return this.u.unixSendMsg(this.fd, bytes, 0, bytes.length, fds);
  }

  /** Encodes m in the connection's version (or `version`). */
  encode(m: Message | ControlMessage, version = this.version): Uint8Array {
    const out = new Uint8Array(MAX_MESSAGE);
    const c = 'addr' in m && !('ep' in m) ? fromMessage(m as Message) : (m as ControlMessage);
    return out.subarray(0, encodeControl(c, version, out, 0));
  }

  send(m: Message | ControlMessage, fds: Int32Array | null = null): void {
    const out = this.encode(m);
    const r = this.u.unixSendMsg(this.fd, out, 0, out.length, fds);
    // EPIPE: the server refused the connection at accept and shut it; its ERROR (id 0) is still to read.
    if (r !== out.length && r !== -32) throw new Error(`send: ${r}`);
  }

  request(body: RequestBody, fds: Int32Array | null = null): Promise<Reply> {
    const id = this.nextId++;
    const p = new Promise<Reply>((resolve, reject) => {
      if (this.closed) reject(new Error('control connection closed'));
      this.waiting.set(id, resolve);
    });
    this.send({ ...body, id } as Message | ControlMessage, fds);
    return p;
  }

  /**
   * A request answered twice (SOCKET_CONNECT, §13.11: SOCKET_OK, then the connect's outcome): the
   * first reply, and the second one (when the first is an ERROR there is none: `second` is that ERROR).
   */
  requestTwice(body: RequestBody): { first: Promise<Reply>; second: Promise<Reply> } {
    const id = this.nextId++;
    let second!: Promise<Reply>;
    const first = new Promise<Reply>((resolve, reject) => {
      if (this.closed) reject(new Error('control connection closed'));
      this.waiting.set(id, (r) => {
        if (r.control.kind !== 'error') second = this.replyTo(id);
        resolve(r);
      });
    });
    this.send({ ...body, id } as Message | ControlMessage);
    return {
      first,
      second: first.then((r) => second ?? r),
    };
  }

  /** A fresh request id (for raw requests). */
  newId(): number {
    return this.nextId++;
  }

  /** Stops taking replies off the socket (a client that hangs or floods). */
  stopReading(): void {
    this.u.unixWatchEvents(this.watch, 0);
  }

  /** Resolves the reply with id (for replies to raw requests). */
  replyTo(id: number): Promise<Reply> {
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }

  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  private onReadable(): void {
    for (;;) {
      const n = this.u.unixRecvMsg(this.fd, this.buf, 0, this.buf.length, this.meta);
      if (n === -11) return;
      if (n <= 0) {
        this.close();
        return;
      }
      const fd = this.meta[1]! > 0 ? this.meta[2]! : -1;
      if ((this.meta[0]! & RECV_CTRUNC) !== 0) throw new Error('descriptor truncated');
      // Every reply carries the connection's version, HELLO_OK included (it is sent while it is 1).
      const d = decodeControl(this.buf, 0, n, this.version);
      if (!d.ok) throw new Error(`malformed reply: ${d.reason}`);
      const c = d.message;
      if (c.kind === 'hello-ok') this.version = c.version;
      // An ERROR with id 0 is the refusal at accept (§4): the answer to the HELLO waiting.
      const id = c.id === 0 && c.kind === 'error' ? Math.min(...this.waiting.keys()) : c.id;
      const w = this.waiting.get(id);
      this.waiting.delete(id);
      if (w === undefined) throw new Error(`unexpected reply ${JSON.stringify(c)}`);
      w({ message: toMessage(c), control: c, fd, raw: this.buf.slice(0, n) });
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.u.unixWatchClose(this.watch);
    this.u.unixClose(this.fd);
    for (const w of this.closedWaiters.splice(0)) w();
  }
}

/** The errno of an ERROR reply, 0 for anything else. */
export function errnoOf(r: { message: Message; fd?: number }): number {
  return r.message.kind === 'error' ? r.message.errno : 0;
}

export function expectKind<K extends Message['kind']>(
  r: { message: Message; fd?: number },
  kind: K,
): Extract<Message, { kind: K }> {
  if (r.message.kind !== kind) throw new Error(`expected ${kind}, got ${JSON.stringify(r.message)}`);
  return r.message as Extract<Message, { kind: K }>;
}

/** The reply as decoded (endpoints as Endpoints), of the kind expected. */
export function expectControl<K extends ControlMessage['kind']>(
  r: Reply,
  kind: K,
): Extract<ControlMessage, { kind: K }> {
  if (r.control.kind !== kind) throw new Error(`expected ${kind}, got ${JSON.stringify(r.control)}`);
  return r.control as Extract<ControlMessage, { kind: K }>;
}
