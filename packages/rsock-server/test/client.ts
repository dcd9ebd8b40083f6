// A minimal client of the remote socket protocol for tests: the TS codec plus the native Unix calls.
import { loadUnix, RECV_CTRUNC, type UnixWatch, WATCH_READABLE } from '@nexthop/native';
import { decode, encode, MAX_MESSAGE, type Message, RSOCK_VERSION } from '@nexthop/rsock-proto';

export interface Reply {
  message: Message;
  /** The descriptor that came with it, or -1. */
  fd: number;
}

type Body<M> = M extends Message ? Omit<M, 'id'> : never;

export class TestClient {
  readonly fd: number;
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

  static async open(path: string, name = 'test'): Promise<{ client: TestClient; hello: Message }> {
    const client = new TestClient(path);
    const r = await client.request({
      kind: 'hello',
      minVersion: RSOCK_VERSION,
      maxVersion: RSOCK_VERSION,
      flags: 0,
      clientName: name,
    });
    return { client, hello: r.message };
  }

  /** Sends raw bytes (malformed-message tests). */
  sendRaw(bytes: Uint8Array, fds: Int32Array | null = null): number {
    return this.u.unixSendMsg(this.fd, bytes, 0, bytes.length, fds);
  }

  send(m: Message, fds: Int32Array | null = null): void {
    const out = new Uint8Array(MAX_MESSAGE);
    const n = encode(m, out);
    const r = this.u.unixSendMsg(this.fd, out, 0, n, fds);
    // EPIPE: the server refused the connection at accept and shut it; its ERROR (id 0) is still to read.
    if (r !== n && r !== -32) throw new Error(`send: ${r}`);
  }

  request(body: Body<Message>, fds: Int32Array | null = null): Promise<Reply> {
    const id = this.nextId++;
    const p = new Promise<Reply>((resolve, reject) => {
      if (this.closed) reject(new Error('control connection closed'));
      this.waiting.set(id, resolve);
    });
    this.send({ ...body, id } as Message, fds);
    return p;
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
      const d = decode(this.buf, 0, n);
      if (!d.ok) throw new Error(`malformed reply: ${d.reason}`);
      // An ERROR with id 0 is the refusal at accept (§4): the answer to the HELLO waiting.
      const id =
        d.message.id === 0 && d.message.kind === 'error' ? Math.min(...this.waiting.keys()) : d.message.id;
      const w = this.waiting.get(id);
      this.waiting.delete(id);
      if (w === undefined) throw new Error(`unexpected reply ${JSON.stringify(d.message)}`);
      w({ message: d.message, fd });
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
export function errnoOf(r: Reply): number {
  return r.message.kind === 'error' ? r.message.errno : 0;
}

export function expectKind<K extends Message['kind']>(r: Reply, kind: K): Extract<Message, { kind: K }> {
  if (r.message.kind !== kind) throw new Error(`expected ${kind}, got ${JSON.stringify(r.message)}`);
  return r.message as Extract<Message, { kind: K }>;
}
