// Random and mutated request sequences for the remote socket server (property tests): what one
// client process does on one control connection, with and without descriptors, at protocol version
// 1 or 2 (§13), and the datagrams it writes to the descriptors it got.
import { closeSync, openSync } from 'node:fs';
import {
  loadUnix,
  RECV_CTRUNC,
  UNIX_SOCK_SEQPACKET,
  UNIX_SOCK_STREAM,
  WATCH_READABLE,
} from '@nexthop/native';
import {
  AF_INET,
  type ControlMessage,
  DGRAM_PKTINFO,
  decodeControl,
  type Endpoint,
  encodeControl,
  encodeDgramHeader,
  encodeDgramHeader2,
  endpoint4,
  endpoint6,
  MAX_MESSAGE,
  newDgramHeader,
  newDgramHeader2,
  newEndpoint,
} from '@nexthop/rsock-proto';
import fc from 'fast-check';

const u = loadUnix();

/**
 * A request without its id; `socket` fields are references (see Ref). Endpoints of any family: on a
 * version-1 connection one that is not AF_INET goes as 0.0.0.0 with its port.
 */
type Body = ControlMessage extends infer M ? (M extends ControlMessage ? Omit<M, 'id'> : never) : never;

/** Which descriptors go with a message. */
export type FdKind = 'pair' | 'app' | 'devnull' | 'control';

export type Step =
  /** A well-formed request; socket ids below 8 name the ids this sequence was given, in order. */
  | { t: 'msg'; m: Body; fds: FdKind[]; otherVersion: boolean }
  /** A request with one byte changed, cut short, or with bytes after it. */
  | { t: 'mutated'; m: Body; at: number; xor: number; cut: number; tail: Uint8Array; fds: FdKind[] }
  | { t: 'bytes'; b: Uint8Array; fds: FdKind[] }
  /** Closes one of the application descriptors received so far (the VR sees the hang-up). */
  | { t: 'closeApp'; which: number }
  /**
   * Writes a datagram (a header of either layout, one byte changed) to one of the application
   * descriptors received so far: what a UDP socket's relay reads, or bytes on a TCP stream.
   */
  | {
      t: 'dgram';
      which: number;
      /** The header of the connection's version (its new UDP sockets' layout), or of the other. */
      ownLayout: boolean;
      peer: Endpoint;
      local: Endpoint | null;
      ifindex: number;
      payload: Uint8Array;
      at: number;
      xor: number;
    };

export interface Sequence {
  hello: boolean;
  /** The highest version its HELLO offers (from 1): the server chooses it. */
  version: 1 | 2;
  steps: Step[];
}

const ADDRS = [0, 0x0a000001, 0x0a000002, 0x7f000001, 0xffffffff, 0x0a0000ff];

const socketRef = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 7 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
);
const port = fc.oneof(fc.constantFrom(0, 80, 7000, 7001, 65535), fc.integer({ min: 0, max: 65535 }));
const addr = fc.oneof(fc.constantFrom(...ADDRS), fc.integer({ min: 0, max: 0xffffffff }));
const addr6 = fc.oneof(
  fc.constant(new Uint8Array(16)),
  fc.constant(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2)),
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
);
const ep: fc.Arbitrary<Endpoint> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(addr, port).map(([a, p]) => endpoint4(a, p)) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(addr6, port, fc.integer({ min: 0, max: 0x0fffffff }), fc.integer({ min: 0, max: 0xffffffff }))
      .map(([a, p, f, sc]) => endpoint6(a, p, f, sc)),
  },
  { weight: 2, arbitrary: fc.constant(0).map(() => newEndpoint()) },
);
const smallFlags = fc.oneof(fc.constantFrom(0, 1, 2, 3), fc.integer({ min: 0, max: 0xffffffff }));
const optLevel = fc.oneof(fc.constantFrom(0, 1, 6), fc.integer({ min: 0, max: 300 }));
const optName = fc.oneof(
  fc.constantFrom(1, 2, 4, 7, 8, 9, 13, 15, 25, 32, 33, 35, 36),
  fc.integer({ min: 0, max: 100 }),
);
const optValue = fc.oneof(
  fc.uint8Array({ minLength: 4, maxLength: 4 }),
  fc.constant(Uint8Array.of(0, 0, 0x80, 0)), // 8 MiB: SO_RCVBUF/SO_SNDBUF beyond any cap
  fc.uint8Array({ maxLength: 20 }),
);

const body: fc.Arbitrary<Body> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('socket' as const),
      family: fc.oneof(fc.constantFrom(2, 2, 10), fc.integer({ min: 0, max: 65535 })),
      type: fc.oneof(fc.constantFrom(1, 2), fc.integer({ min: 0, max: 65535 })),
      protocol: fc.oneof(fc.constantFrom(0, 6, 17), fc.integer({ min: 0, max: 0xffffffff })),
    }),
  },
  // A UDP socket as it should be asked for: the datagram steps need some to write to.
  { weight: 2, arbitrary: fc.constant({ kind: 'socket' as const, family: 2, type: 2, protocol: 0 }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('bind' as const), socket: socketRef, ep }) },
  // SOCKET_CONNECT (§13.11, version 2; on version 1 it goes as a plain SOCKET): WAIT, FILLER, both,
  // none, reserved bits.
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('socket-connect' as const),
      family: fc.oneof(fc.constantFrom(2, 2, 10), fc.integer({ min: 0, max: 65535 })),
      type: fc.oneof(fc.constantFrom(1, 1, 2), fc.integer({ min: 0, max: 65535 })),
      protocol: fc.oneof(fc.constantFrom(0, 6, 17), fc.integer({ min: 0, max: 0xffffffff })),
      ep,
      flags: fc.oneof(fc.constantFrom(0, 2, 4, 6, 1), fc.integer({ min: 0, max: 0xffffffff })),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('connect' as const),
      socket: socketRef,
      ep,
      flags: fc.oneof(fc.constantFrom(0, 1, 2, 3), fc.integer({ min: 0, max: 0xffffffff })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('listen' as const),
      socket: socketRef,
      backlog: fc.integer({ min: 0, max: 0xffffffff }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('accept' as const), socket: socketRef, flags: smallFlags }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('shutdown' as const),
      socket: socketRef,
      how: fc.integer({ min: 0, max: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('close' as const, 'getsockname' as const, 'getpeername' as const),
      socket: socketRef,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('setsockopt' as const),
      socket: socketRef,
      level: optLevel,
      name: optName,
      value: optValue,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('getsockopt' as const),
      socket: socketRef,
      level: optLevel,
      name: optName,
      maxLength: fc.integer({ min: 0, max: 64 }),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'attach' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('hello' as const),
      minVersion: fc.integer({ min: 0, max: 3 }),
      maxVersion: fc.integer({ min: 0, max: 3 }),
      flags: fc.integer({ min: 0, max: 0xffffffff }),
      clientName: fc.string({ maxLength: 20 }),
    }),
  },
  // Replies sent as requests.
  { weight: 1, arbitrary: fc.constant({ kind: 'ok' as const }) },
);

const fds = fc.oneof(
  { weight: 6, arbitrary: fc.constant([] as FdKind[]) },
  {
    weight: 3,
    arbitrary: fc.array(fc.constantFrom<FdKind>('pair', 'app', 'devnull', 'control'), {
      minLength: 1,
      maxLength: 3,
    }),
  },
);

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      t: fc.constant('msg' as const),
      m: body,
      fds,
      otherVersion: fc.oneof(
        { weight: 30, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('mutated' as const),
      m: body,
      at: fc.nat(),
      xor: fc.integer({ min: 0, max: 255 }),
      cut: fc.nat(),
      tail: fc.uint8Array({ maxLength: 8 }),
      fds,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('bytes' as const), b: fc.uint8Array({ maxLength: 64 }), fds }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('closeApp' as const), which: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('dgram' as const),
      which: fc.nat(),
      ownLayout: fc.oneof(
        { weight: 3, arbitrary: fc.constant(true) },
        { weight: 1, arbitrary: fc.constant(false) },
      ),
      peer: ep,
      local: fc.option(ep),
      ifindex: fc.oneof(fc.constantFrom(0, 1, 2), fc.integer({ min: 0, max: 0xffffffff })),
      payload: fc.uint8Array({ maxLength: 32 }),
      at: fc.nat(),
      xor: fc.oneof(
        { weight: 2, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
      ),
    }),
  },
);

export const sequenceArb: fc.Arbitrary<Sequence> = fc.record({
  hello: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  version: fc.constantFrom(1 as const, 2 as const),
  steps: fc.array(step, { maxLength: 12 }),
});

/** One control connection of a sequence: replies by id, the descriptors they brought. */
class Conn {
  readonly fd: number;
  private readonly watch;
  private readonly buf = new Uint8Array(MAX_MESSAGE);
  private readonly meta = new Int32Array(2 + 8);
  private readonly waiting = new Map<number, (m: ControlMessage | null) => void>();
  closed = false;
  /** 1 until HELLO_OK chose another (its replies carry the chosen one from then on). */
  version = 1;
  /** Application descriptors received (SOCKET_OK, ACCEPT_OK). */
  readonly apps: number[] = [];
  readonly ids: number[] = [];
  private nextId = 1;

  constructor(path: string) {
    this.fd = u.unixConnect(path);
    if (this.fd < 0) throw new Error(`connect: ${this.fd}`);
    this.watch = u.unixWatch(this.fd, () => this.onReadable());
    u.unixWatchEvents(this.watch, WATCH_READABLE);
  }

  /** Sends bytes with descriptors; false when they did not go (EPERM: descriptors refused). */
  sendRaw(bytes: Uint8Array, fds: Int32Array | null): boolean {
    return !this.closed && u.unixSendMsg(this.fd, bytes, 0, bytes.length, fds) >= 0;
  }

  newId(): number {
    return this.nextId++;
  }

  /** The reply to id, or null when the connection closed first. */
  reply(id: number): Promise<ControlMessage | null> {
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }

  private onReadable(): void {
    for (;;) {
      const n = u.unixRecvMsg(this.fd, this.buf, 0, this.buf.length, this.meta);
      if (n === -11) return;
      if (n <= 0) {
        this.close();
        return;
      }
      const nfds = this.meta[1]!;
      const d = decodeControl(this.buf, 0, n, this.version);
      if (!d.ok) throw new Error(`the server sent a malformed reply (${d.reason}, version ${this.version})`);
      if ((this.meta[0]! & RECV_CTRUNC) !== 0) throw new Error('descriptors lost');
      const m = d.message;
      if (m.kind === 'hello-ok') {
        if (m.version !== 1 && m.version !== 2) throw new Error(`HELLO_OK chose version ${m.version}`);
        this.version = m.version;
      }
      for (let i = 0; i < nfds; i++) {
        const fd = this.meta[2 + i]!;
        if (i === 0 && (m.kind === 'socket-ok' || m.kind === 'accept-ok')) this.apps.push(fd);
        else throw new Error(`a descriptor came with ${m.kind}`);
      }
      if (m.kind === 'socket-ok' || m.kind === 'accept-ok' || m.kind === 'attach-ok') this.ids.push(m.socket);
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      w?.(m);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    u.unixWatchClose(this.watch);
    u.unixClose(this.fd);
    for (const w of this.waiting.values()) w(null);
    this.waiting.clear();
  }
}

function resolveRefs(m: Body, ids: number[]): Body {
  if (!('socket' in m) || m.kind === 'socket-ok' || m.kind === 'accept-ok' || m.kind === 'attach-ok')
    return m;
  const ref = m.socket;
  const socket = ref < 8 ? (ids.length > 0 ? ids[ref % ids.length]! : ref) : ref;
  return { ...m, socket } as Body;
}

const out = new Uint8Array(MAX_MESSAGE + 64);
const dgramOut = new Uint8Array(64 + 64);

/** m as conn's `version` carries it: version 1 has AF_INET endpoints and u16 CONNECT flags only. */
function forVersion(m: Body, version: number): Body {
  if (version === 1 && m.kind === 'socket-connect')
    return { kind: 'socket', family: m.family, type: m.type, protocol: m.protocol };
  if (version !== 1 || !('ep' in m)) return m;
  const e = m.ep.family === AF_INET ? m.ep : endpoint4(0, m.ep.port);
  return m.kind === 'connect' ? { ...m, ep: e, flags: m.flags & 0xffff } : ({ ...m, ep: e } as Body);
}

/** The datagram of a `dgram` step: a header of its layout, then the payload, one byte xor'ed. */
function datagram(st: Extract<Step, { t: 'dgram' }>, version: number): Uint8Array {
  let hl: number;
  if ((version === 2) === st.ownLayout) {
    const h = newDgramHeader2();
    h.peer = st.peer;
    if (st.local !== null) {
      h.flags = DGRAM_PKTINFO;
      h.local = st.local;
      h.ifindex = st.ifindex;
    }
    hl = encodeDgramHeader2(h, dgramOut, 0);
  } else {
    const h = newDgramHeader();
    h.peerAddr = st.peer.family === AF_INET ? st.peer.addr : 0;
    h.peerPort = st.peer.port;
    if (st.local !== null) {
      h.flags = DGRAM_PKTINFO;
      h.localAddr = st.local.family === AF_INET ? st.local.addr : 0;
      h.ifindex = st.ifindex;
    }
    hl = encodeDgramHeader(h, dgramOut, 0);
  }
  dgramOut.set(st.payload, hl);
  const len = hl + st.payload.length;
  dgramOut[st.at % len]! ^= st.xor;
  return dgramOut.subarray(0, len);
}

/**
 * Runs one sequence against the server at path and closes everything it opened. Throws only when
 * the server broke the protocol (a malformed reply, a descriptor where none belongs).
 */
export async function runSequence(path: string, seq: Sequence): Promise<void> {
  const conn = new Conn(path);
  const mine: number[] = [];
  const extra: Conn[] = [];
  // One more control connection at most: connecting blocks when the listener's backlog is full, and
  // in-process nothing would accept until this turn ends.
  try {
    if (seq.hello) {
      const id = conn.newId();
      const n = encodeControl(
        { kind: 'hello', id, minVersion: 1, maxVersion: seq.version, flags: 0, clientName: 'fuzz' },
        1,
        out,
      );
      conn.sendRaw(out.subarray(0, n), null);
      await conn.reply(id);
    }
    for (const st of seq.steps) {
      if (conn.closed) break;
      if (st.t === 'closeApp') {
        if (conn.apps.length > 0) u.unixClose(conn.apps.splice(st.which % conn.apps.length, 1)[0]!);
        continue;
      }
      if (st.t === 'dgram') {
        // Non-blocking: a full pair (or a stream end that is not read) refuses it.
        const d = datagram(st, conn.version);
        if (conn.apps.length > 0)
          u.unixSendMsg(conn.apps[st.which % conn.apps.length]!, d, 0, d.length, null);
        continue;
      }
      const fdList: number[] = [];
      for (const k of st.fds) {
        if (k === 'pair') {
          const p = new Int32Array(2);
          if (u.unixSocketPair(st.fds.length % 2 === 0 ? UNIX_SOCK_STREAM : UNIX_SOCK_SEQPACKET, p) === 0) {
            mine.push(p[0]!, p[1]!);
            fdList.push(p[1]!);
          }
        } else if (k === 'app') {
          if (conn.apps.length > 0) fdList.push(conn.apps[conn.apps.length - 1]!);
        } else if (k === 'devnull') {
          const fd = openSync('/dev/null', 'r');
          mine.push(fd);
          fdList.push(fd);
        } else if (extra.length === 0) {
          const c = new Conn(path);
          extra.push(c);
          fdList.push(c.fd);
        }
      }
      const fdArr = fdList.length > 0 ? Int32Array.from(fdList) : null;
      const id = conn.newId();
      let bytes: Uint8Array;
      if (st.t === 'bytes') bytes = st.b;
      else {
        // A message in the other version's header is the fatal `version` fault (§8, §13.1).
        const version = st.t === 'msg' && st.otherVersion ? 3 - conn.version : conn.version;
        const m = forVersion(resolveRefs(st.m, conn.ids), version);
        const n = encodeControl({ ...m, id } as ControlMessage, version, out);
        bytes = out.subarray(0, n);
        if (st.t === 'mutated') {
          const b = new Uint8Array(n + st.tail.length);
          b.set(bytes);
          b.set(st.tail, n);
          if (b.length > 0) b[st.at % b.length]! ^= st.xor;
          bytes = b.subarray(0, Math.max(0, b.length - (st.cut % 3 === 0 ? st.cut % (b.length + 1) : 0)));
        }
      }
      const wait = st.t === 'msg' && st.m.kind === 'socket' ? conn.reply(id) : null;
      if (conn.sendRaw(bytes, fdArr) && wait !== null) await wait;
    }
    // Requests are started in order: once this one is answered (EBADF), the ones before it have been
    // taken (those that wait for an event, ACCEPT and CONNECT, may still wait: closing ends them).
    if (!conn.closed) {
      const id = conn.newId();
      const n = encodeControl({ kind: 'getsockname', id, socket: 0xfffffffe }, conn.version, out);
      conn.sendRaw(out.subarray(0, n), null);
      await Promise.race([conn.reply(id), new Promise((r) => setTimeout(r, 2000))]);
    }
  } finally {
    conn.close();
    for (const c of extra) c.close();
    for (const fd of conn.apps) u.unixClose(fd);
    for (const fd of mine) {
      try {
        closeSync(fd);
      } catch {}
    }
  }
}

/** A HELLO on a fresh connection is answered (HELLO_OK, or a refusal at accept) within timeoutMs. */
export async function answersHello(
  path: string,
  timeoutMs = 5000,
): Promise<ControlMessage['kind'] | 'timeout' | 'closed'> {
  const c = new Conn(path);
  try {
    const id = c.newId();
    const n = encodeControl(
      { kind: 'hello', id, minVersion: 1, maxVersion: 2, flags: 0, clientName: 'probe' },
      1,
      out,
    );
    c.sendRaw(out.subarray(0, n), null);
    const r = await Promise.race([
      c.reply(id),
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs)),
    ]);
    return r === null ? 'closed' : r === 'timeout' ? r : r.kind;
  } finally {
    c.close();
  }
}
