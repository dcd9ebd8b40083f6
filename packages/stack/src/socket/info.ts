// The rows of `show sockets` (SocketLayer.list, like `ss -a`): one per socket, and one per TCP
// connection or listener that no fd owns any more (closing, TIME-WAIT).
import { IPPROTO_TCP } from '@nexthop/wire';
import type { SocketInfo } from '../sockapi/types.ts';
import { TcpListener } from '../tcp/index.ts';
import { formatEndpoint } from './inet6.ts';
import type { IpEnv } from './ip-env.ts';
import type { AnyTcpConnection, Sock } from './sock.ts';

/** Stands in for the IPv6 address of an IPv4 endpoint (formatEndpoint does not read it). */
const NO_ADDR6 = new Uint8Array(16);

/** The row of an open socket. */
export function socketRow(s: Sock, env: IpEnv): SocketInfo {
  let state: string;
  let recvQ = 0;
  let sendQ = 0;
  let listenInfo: { synQueue: number; synCookiesSent: number } | null = null;
  if (s.conn !== null) {
    state = s.conn.state;
    const i = s.conn.info();
    recvQ = i.recvQueue;
    sendQ = i.sendQueue;
  } else if (s.listener !== null || s.listener6 !== null) {
    state = 'LISTEN';
    const sum = { synQueue: 0, synCookiesSent: 0 };
    for (const l of [s.listener, s.listener6]) {
      if (l === null) continue;
      const i = l.info();
      recvQ += i.pending;
      sendQ = l.backlog;
      sum.synQueue += i.synQueue;
      sum.synCookiesSent += i.synCookiesSent;
    }
    listenInfo = sum;
  } else if (s.type === 'stream') state = 'CLOSED';
  else {
    state = s.connected ? 'ESTAB' : 'UNCONN';
    recvQ = s.queue!.bytes;
  }
  const localPort = s.type === 'raw' ? '*' : String(s.localPort);
  const row: SocketInfo = {
    fd: s.fd,
    type: s.type,
    protocol: s.protocol,
    state,
    local: formatEndpoint(s.family, s.localAddr, s.localAddr6, s.mapped, localPort),
    peer: s.connected
      ? formatEndpoint(
          s.family,
          s.remoteAddr,
          s.remoteAddr6,
          s.mapped,
          s.type === 'raw' ? '*' : String(s.remotePort),
        )
      : s.family === 6
        ? '[::]:*'
        : '0.0.0.0:*',
    recvQ,
    sendQ,
    interface: s.opt.boundIf >= 0 ? env.interfaceName(s.opt.boundIf) : null,
  };
  if (listenInfo !== null) {
    row.synQueue = listenInfo.synQueue;
    row.synCookiesSent = listenInfo.synCookiesSent;
  }
  return row;
}

function endpoint(a: number | Uint8Array, port: string): string {
  return typeof a === 'number'
    ? formatEndpoint(4, a, NO_ADDR6, false, port)
    : formatEndpoint(6, 0, a, false, port);
}

/** The row of a connection or listener no fd owns. */
export function orphanRow(e: AnyTcpConnection | TcpListener<number> | TcpListener<Uint8Array>): SocketInfo {
  const l = e instanceof TcpListener;
  const v6 = typeof e.localAddr !== 'number';
  const row: SocketInfo = {
    fd: -1,
    type: 'stream',
    protocol: IPPROTO_TCP,
    state: l ? 'LISTEN' : e.state,
    local: endpoint(e.localAddr, String(e.localPort)),
    peer: l ? (v6 ? '[::]:*' : '0.0.0.0:*') : endpoint(e.remoteAddr, String(e.remotePort)),
    recvQ: l ? e.info().pending : e.info().recvQueue,
    sendQ: l ? e.backlog : e.info().sendQueue,
    interface: null,
  };
  if (l) {
    const i = e.info();
    row.synQueue = i.synQueue;
    row.synCookiesSent = i.synCookiesSent;
  }
  return row;
}
