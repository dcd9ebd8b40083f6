// A hand-driven socket layer for the engine's golden tests: connects pend until the test says how
// they ended, accepted connections come from a queue the test fills, sent bytes are kept per fd
// and received bytes are what the test pushes. Every call the engine makes that the peer would see
// (connect, close) is logged.
import type { Endpoint, Md5Peer, ProtocolSocketOption, ProtocolSockets } from '../src/protocol.ts';

export const ECONNREFUSED = 111;

export interface FakeSocket {
  fd: number;
  family: 4 | 6;
  listening: boolean;
  /** The test's name for a connection (c1, c2, … in order of appearance). */
  name: string;
  remote: number | Uint8Array | undefined;
  remotePort: number;
  rx: Uint8Array[];
  eof: boolean;
  /** Bytes the engine sent and the test has not read yet. */
  tx: number[];
  closed: boolean;
  soError: number;
  options: Record<string, number | string>;
  pendingAccept: FakeSocket[];
}

export class FakeSockets implements ProtocolSockets {
  readonly sockets = new Map<number, FakeSocket>();
  readonly log: string[];

  constructor(log: string[] = []) {
    this.log = log;
  }
  private nextFd = 3;
  private names = 0;
  local4 = 0x0a000001;
  local6: Uint8Array = new Uint8Array(16);
  /** Most bytes one send() takes (to test partial writes). */
  sendLimit = Infinity;
  /** Describes the complete messages of what a connection sent, to log them as they go out. */
  describe: ((bytes: Uint8Array) => string[]) | undefined = undefined;

  /** Logs the complete messages sent on s so far (when `describe` is set). */
  private logSent(s: FakeSocket): void {
    if (this.describe === undefined) return;
    let end = 0;
    while (end + 19 <= s.tx.length) {
      const len = (s.tx[end + 16]! << 8) | s.tx[end + 17]!;
      if (len < 19 || end + len > s.tx.length) break;
      end += len;
    }
    if (end === 0) return;
    for (const m of this.describe(Uint8Array.from(s.tx.slice(0, end)))) this.log.push(`${s.name} > ${m}`);
    s.tx.splice(0, end);
  }

  private make(family: 4 | 6): FakeSocket {
    const s: FakeSocket = {
      fd: this.nextFd++,
      family,
      listening: false,
      name: '',
      remote: undefined,
      remotePort: 0,
      rx: [],
      eof: false,
      tx: [],
      closed: false,
      soError: 0,
      options: {},
      pendingAccept: [],
    };
    this.sockets.set(s.fd, s);
    return s;
  }

  byName(name: string): FakeSocket {
    for (const s of this.sockets.values()) if (s.name === name) return s;
    throw new Error(`no connection ${name}`);
  }

  listener(family: 4 | 6): FakeSocket {
    for (const s of this.sockets.values()) if (s.listening && s.family === family && !s.closed) return s;
    throw new Error(`no IPv${family} listener`);
  }

  /** A connection from `remote` waiting on the listener of its family; returns it. */
  incoming(remote: number | Uint8Array): FakeSocket {
    const family = typeof remote === 'number' ? 4 : 6;
    const s = this.make(family);
    s.name = `c${++this.names}`;
    s.remote = remote;
    s.remotePort = 40000 + this.names;
    this.listener(family).pendingAccept.push(s);
    return s;
  }

  socket(_type: 'stream' | 'dgram' | 'raw', _protocol?: number, family: 4 | 6 = 4): number {
    return this.make(family).fd;
  }
  bind(): number {
    return 0;
  }
  bind6(): number {
    return 0;
  }
  connect(fd: number, addr: number, port: number): number {
    return this.connectAny(fd, addr, port);
  }
  connect6(fd: number, addr: Uint8Array, port: number): number {
    return this.connectAny(fd, addr, port);
  }
  private connectAny(fd: number, addr: number | Uint8Array, port: number): number {
    const s = this.sockets.get(fd)!;
    s.name = `c${++this.names}`;
    s.remote = addr;
    s.remotePort = port;
    this.log.push(`connect ${port} -> ${s.name}`);
    return -115;
  }
  listen(fd: number): number {
    this.sockets.get(fd)!.listening = true;
    return 0;
  }
  accept(fd: number, _now: number, peer?: Endpoint): number {
    const s = this.sockets.get(fd)!.pendingAccept.shift();
    if (s === undefined) return -11;
    if (peer !== undefined) {
      peer.family = s.family;
      if (typeof s.remote === 'number') peer.addr = s.remote;
      else peer.addr6.set(s.remote!);
      peer.port = s.remotePort;
    }
    return s.fd;
  }
  send(fd: number, buf: Uint8Array, off: number, len: number): number {
    const s = this.sockets.get(fd)!;
    if (s.closed) return -9;
    const n = Math.min(len, this.sendLimit);
    if (n === 0) return -11;
    for (let i = 0; i < n; i++) s.tx.push(buf[off + i]!);
    this.logSent(s);
    return n;
  }
  recv(fd: number, buf: Uint8Array, off: number, len: number): number {
    const s = this.sockets.get(fd)!;
    const head = s.rx[0];
    if (head === undefined) return s.eof ? 0 : -11;
    const n = Math.min(len, head.length);
    buf.set(head.subarray(0, n), off);
    if (n === head.length) s.rx.shift();
    else s.rx[0] = head.subarray(n);
    return n;
  }
  close(fd: number): number {
    const s = this.sockets.get(fd)!;
    if (!s.closed && s.name !== '') this.log.push(`${s.name} closed`);
    s.closed = true;
    return 0;
  }
  setOption(fd: number, name: ProtocolSocketOption, value: number | string): number {
    this.sockets.get(fd)!.options[name] = value;
    return 0;
  }
  setTcpMd5Key(fd: number, peer: Md5Peer, key: Uint8Array | null): number {
    const s = this.sockets.get(fd)!;
    const who = peer.family === 4 ? String(peer.addr >>> 0) : [...peer.addr6].join('.');
    if (key === null) delete s.options[`md5 ${who}`];
    else s.options[`md5 ${who}`] = new TextDecoder().decode(key);
    return 0;
  }
  getOption(fd: number, name: ProtocolSocketOption): number {
    const s = this.sockets.get(fd)!;
    return name === 'SO_ERROR' ? s.soError : Number(s.options[name] ?? 0);
  }
  localAddress(fd: number, out: Endpoint): number {
    const s = this.sockets.get(fd)!;
    out.family = s.family;
    out.addr = this.local4;
    out.addr6.set(this.local6);
    out.port = 179;
    return 0;
  }
  peerAddress(fd: number, out: Endpoint): number {
    const s = this.sockets.get(fd)!;
    out.family = s.family;
    if (typeof s.remote === 'number') out.addr = s.remote;
    else if (s.remote !== undefined) out.addr6.set(s.remote);
    out.port = s.remotePort;
    return 0;
  }
}
