// The part of the TCP engine (../tcp, issue 3 design note) the socket layer uses, written as
// structural types so that the layer compiles and is tested before the engine exists. The real
// TcpEngine / TcpConnection / TcpListener satisfy these.

export interface TcpConnectionLike {
  readonly localAddr: number;
  readonly localPort: number;
  readonly remoteAddr: number;
  readonly remotePort: number;
  readonly state: string;
  send(buf: Uint8Array, off: number, len: number, now: number): number;
  recv(buf: Uint8Array, off: number, len: number, now: number): number;
  shutdown(read: boolean, write: boolean, now: number): number;
  close(now: number): void;
  abort(now: number): void;
  takeError(): number;
  events(): number;
  setOption(name: string, value: number): number;
  getOption(name: string): number;
  info(): { sendQueue: number; recvQueue: number };
}

export interface TcpListenerLike {
  readonly localAddr: number;
  readonly localPort: number;
  readonly backlog: number;
  accept(now: number): TcpConnectionLike | null;
  events(): number;
  close(now: number): void;
  info(): { pending: number; synQueue: number };
}

export interface TcpEngineLike {
  input(
    buf: Uint8Array,
    tcpOff: number,
    tcpLen: number,
    src: number,
    dst: number,
    tos: number,
    now: number,
  ): void;
  icmpError(
    type: number,
    code: number,
    restOfHeader: number,
    quote: Uint8Array,
    qOff: number,
    qLen: number,
    now: number,
  ): void;
  connect(
    localAddr: number,
    localPort: number,
    remoteAddr: number,
    remotePort: number,
    now: number,
  ): TcpConnectionLike | number;
  listen(localAddr: number, localPort: number, backlog: number): TcpListenerLike | number;
  portInUse(localAddr: number, localPort: number, reuseAddr: boolean): boolean;
  poll(now: number): number;
  endpoints(): Iterable<TcpConnectionLike | TcpListenerLike>;
}

export function isListener(e: TcpConnectionLike | TcpListenerLike): e is TcpListenerLike {
  return 'accept' in e;
}
