// Stream sockets over the two TCP engines: listeners (a dual-stack socket listens in both), accept
// (alternating between them), connect over IPv4 and IPv6, the map from the engines' connections and
// listeners back to their sockets (readiness, `show sockets`), and the rows of connections no fd
// owns any more.
import { IPPROTO_TCP, isMulticastIpv4 } from '@nexthop/wire';
import {
  EADDRNOTAVAIL,
  EAGAIN,
  EALREADY,
  EINPROGRESS,
  EINVAL,
  EISCONN,
  EMFILE,
  ENETUNREACH,
  ENOENT,
  EOPNOTSUPP,
} from '../sockapi/errno.ts';
import type { SocketInfo } from '../sockapi/types.ts';
import {
  TCP_IPV4,
  TCP_IPV6,
  type TcpConnection,
  type TcpEngine,
  type TcpListener,
  TcpMd5Keys,
} from '../tcp/index.ts';
import type { Binding } from './binding.ts';
import type { FdTable } from './fd-table.ts';
import { coversIpv4, coversIpv6, foldIpv6, isLinkScoped, isUnspecifiedIpv6 } from './inet6.ts';
import { orphanRow } from './info.ts';
import type { Ip6Env, IpEnv } from './ip-env.ts';
import { type AnyTcpConnection, fillSockAddr, type Sock, type SockAddr } from './sock.ts';
import type { SocketSink } from './udp.ts';

/** A connection or listener of either engine. */
export type TcpEndpoint = AnyTcpConnection | TcpListener<number> | TcpListener<Uint8Array>;

export class StreamSockets {
  /** The engines, once the stack has them (AF_INET6 stream sockets need tcp6 and env6). */
  tcp: TcpEngine | null = null;
  tcp6: TcpEngine<Uint8Array> | null = null;
  env6: Ip6Env | null = null;
  private readonly env: IpEnv;
  private readonly fds: FdTable;
  private readonly binding: Binding;
  private readonly sink: SocketSink;
  /** The socket of each connection and listener an fd owns. */
  private readonly endpointSock = new Map<TcpEndpoint, Sock>();

  constructor(env: IpEnv, fds: FdTable, binding: Binding, sink: SocketSink) {
    this.env = env;
    this.fds = fds;
    this.binding = binding;
    this.sink = sink;
  }

  /** listen(2): a dual-stack socket listens in both engines (IPv6 first; both or neither). */
  listen(s: Sock, backlog: number): number {
    if (s.type !== 'stream' || this.tcp === null) return -EOPNOTSUPP;
    if (s.conn !== null) return -EINVAL;
    if (s.listener !== null || s.listener6 !== null) return 0;
    if (!s.bound) {
      const p = this.binding.ephemeralPort(s, 0);
      if (p < 0) return p;
      this.binding.setBound(s, 0, p);
    }
    const n = Math.max(1, Math.min(backlog, 4096));
    if (coversIpv6(s)) {
      const l6 = this.tcp6!.listen(s.localAddr6.slice(), s.localPort, n);
      if (typeof l6 === 'number') return l6;
      s.listener6 = l6;
      l6.minTtl = s.opt.minHops;
      l6.md5Keys = s.md5Keys6;
      this.endpointSock.set(l6, s);
    }
    if (coversIpv4(s)) {
      const l = this.tcp.listen(s.localAddr, s.localPort, n);
      if (typeof l === 'number') {
        if (s.listener6 !== null) this.closeListeners(s, 0);
        return l;
      }
      s.listener = l;
      l.minTtl = s.opt.minTtl;
      l.md5Keys = s.md5Keys4;
      this.endpointSock.set(l, s);
    }
    return 0;
  }

  /**
   * A connection ready on listening s as a new fd, -EAGAIN when none; its peer goes in `peer`. A
   * dual-stack socket takes from its two queues in turn, so that neither family starves.
   */
  accept(s: Sock, now: number, peer: SockAddr | undefined): number {
    let c: AnyTcpConnection | null = null;
    const v6First = s.acceptFromV6First;
    if (v6First) c = s.listener6?.accept(now) ?? s.listener?.accept(now) ?? null;
    else c = s.listener?.accept(now) ?? s.listener6?.accept(now) ?? null;
    if (c === null) return -EAGAIN;
    s.acceptFromV6First = !v6First;
    // s listens, so the engines its family needs are there: the new socket cannot fail but for EMFILE.
    const a = this.fds.open('stream', IPPROTO_TCP, s.family);
    if (a === null) {
      c.abort(now);
      return -EMFILE;
    }
    a.bound = true;
    if (typeof c.localAddr === 'number') {
      a.localAddr = c.localAddr;
      a.remoteAddr = c.remoteAddr as number;
      a.mapped = s.family === 6;
    } else {
      a.localAddr6.set(c.localAddr);
      a.remoteAddr6.set(c.remoteAddr as Uint8Array);
    }
    a.localPort = c.localPort;
    a.remotePort = c.remotePort;
    a.connected = true;
    a.opt.inherit(s.opt);
    a.v6only = s.v6only;
    // The key the connection was opened with, for its peer only (as Linux's tcp_v4_syn_recv_sock).
    const key = c.md5Key;
    if (key !== null) {
      if (typeof c.remoteAddr === 'number') {
        a.md5Keys4 = new TcpMd5Keys();
        a.md5Keys4.set(TCP_IPV4, c.remoteAddr, key);
      } else {
        a.md5Keys6 = new TcpMd5Keys();
        a.md5Keys6.set(TCP_IPV6, c.remoteAddr, key);
      }
    }
    this.attachConnection(a, c);
    if (peer !== undefined) fillSockAddr(a, a.remoteAddr, a.remoteAddr6, a.remotePort, peer);
    return a.fd;
  }

  /** connect(2) of s to an IPv4 peer: the SYN goes out, -EINPROGRESS. */
  connect(s: Sock, addr: number, port: number, now: number): number {
    const tcp = this.tcp;
    if (tcp === null) return -EOPNOTSUPP;
    if (s.listener !== null) return -EINVAL;
    if (s.conn !== null) {
      const st = s.conn.state;
      return st === 'SYN-SENT' || st === 'SYN_SENT' ? -EALREADY : -EISCONN;
    }
    if (addr === 0 || port <= 0 || port > 65535) return -EINVAL;
    if (isMulticastIpv4(addr) || addr === 0xffffffff) return -ENETUNREACH;
    const local = this.env.isLocalAddress(addr);
    const ifIndex = local ? -1 : this.env.route(addr, s.opt.boundIf);
    if (!local && ifIndex < 0) return ifIndex;
    let src = s.localAddr;
    if (src === 0) {
      src = local ? addr : this.env.sourceAddress(ifIndex, addr);
      if (src === 0) return -EADDRNOTAVAIL;
    }
    if (!s.bound) {
      const p = this.binding.ephemeralPort(s, src, src, addr, port);
      if (p < 0) return p;
      this.binding.setBound(s, 0, p);
    }
    const c = tcp.connect(src, s.localPort, addr, port, now, s.md5Keys4?.find(TCP_IPV4, addr) ?? null);
    if (typeof c === 'number') return c;
    s.localAddr = src;
    s.remoteAddr = addr;
    s.remotePort = port;
    s.connected = true;
    this.attachConnection(s, c);
    return -EINPROGRESS;
  }

  /** connect(2) of AF_INET6 s to an IPv6 peer (a link-local one with its zone): -EINPROGRESS. */
  connect6(s: Sock, addr: Uint8Array, port: number, now: number, scopeId: number): number {
    const tcp6 = this.tcp6!;
    const env6 = this.env6!;
    if (s.listener !== null || s.listener6 !== null) return -EINVAL;
    if (s.conn !== null) {
      const st = s.conn.state;
      return st === 'SYN-SENT' || st === 'SYN_SENT' ? -EALREADY : -EISCONN;
    }
    if (isUnspecifiedIpv6(addr) || port <= 0 || port > 65535) return -EINVAL;
    if (addr[0] === 0xff) return -ENETUNREACH;
    // A link-local peer needs its zone (RFC 4007 §11); the connection then speaks from that
    // interface's link-local address, by which Transport6 finds the interface again.
    const zone = isLinkScoped(addr) ? this.binding.zoneOf(s, scopeId, addr) : -1;
    if (isLinkScoped(addr) && zone < 0) return -EINVAL;
    const src = isUnspecifiedIpv6(s.localAddr6)
      ? zone >= 0
        ? env6.linkLocalOf(zone)
        : env6.sourceFor(addr)
      : s.localAddr6;
    if (src === null || isUnspecifiedIpv6(src)) return zone >= 0 ? -EADDRNOTAVAIL : -ENETUNREACH;
    if (zone >= 0) s.scope6 = zone;
    if (!s.bound) {
      const p = this.binding.ephemeralPort(s, 0, foldIpv6(src), foldIpv6(addr), port);
      if (p < 0) return p;
      this.binding.setBound(s, 0, p);
    }
    const key = s.md5Keys6?.find(TCP_IPV6, addr) ?? null;
    const c = tcp6.connect(src.slice(), s.localPort, addr.slice(), port, now, key);
    if (typeof c === 'number') return c;
    s.localAddr6.set(src);
    s.remoteAddr6.set(addr);
    s.remotePort = port;
    s.connected = true;
    this.attachConnection(s, c);
    return -EINPROGRESS;
  }

  /**
   * TCP_MD5SIG on stream socket s: sets (or with null deletes, -ENOENT when there is none) the key
   * of IPv4 peer `addr` (`v4`) or IPv6 peer `addr6`. A listener's table is shared with its engine
   * listener; a connection still in SYN-SENT takes its peer's key at once (the next SYN is signed).
   */
  setMd5Key(s: Sock, v4: boolean, addr: number, addr6: Uint8Array, key: Uint8Array | null): number {
    const c = s.conn;
    if (c !== null && c.state !== 'SYN-SENT') return -EISCONN;
    if (v4) {
      const keys = s.md5Keys4 ?? new TcpMd5Keys<number>();
      if (!keys.set(TCP_IPV4, addr, key)) return -ENOENT;
      s.md5Keys4 = keys;
      if (s.listener !== null) s.listener.md5Keys = keys;
      if (c !== null && c.remoteAddr === addr)
        (c as TcpConnection<number>).setMd5Key(keys.find(TCP_IPV4, addr));
    } else {
      const keys = s.md5Keys6 ?? new TcpMd5Keys<Uint8Array>();
      if (!keys.set(TCP_IPV6, addr6, key)) return -ENOENT;
      s.md5Keys6 = keys;
      if (s.listener6 !== null) s.listener6.md5Keys = keys;
      if (c !== null && typeof c.remoteAddr !== 'number' && TCP_IPV6.equals(c.remoteAddr, addr6))
        (c as TcpConnection<Uint8Array>).setMd5Key(keys.find(TCP_IPV6, addr6));
    }
    return 0;
  }

  /** A closed fd lets go of its connection (which closes in the engine) and its listeners. */
  close(s: Sock, now: number): void {
    if (s.conn !== null) {
      this.endpointSock.delete(s.conn);
      s.conn.close(now);
    }
    this.closeListeners(s, now);
  }

  /** The engine's word that an endpoint's readiness may have changed: its socket's event is queued. */
  notify(endpoint: TcpEndpoint): void {
    const s = this.endpointSock.get(endpoint);
    if (s !== undefined) this.sink.markDirty(s);
  }

  /** Runs due timers of both engines; returns the next deadline. */
  poll(now: number): number {
    let next = this.tcp === null ? Number.POSITIVE_INFINITY : this.tcp.poll(now);
    if (this.tcp6 !== null) next = Math.min(next, this.tcp6.poll(now));
    return next;
  }

  /** Rows for the connections and listeners no fd owns (closing, TIME-WAIT). */
  orphanRows(rows: SocketInfo[]): void {
    if (this.tcp !== null)
      for (const e of this.tcp.endpoints()) if (!this.endpointSock.has(e)) rows.push(orphanRow(e));
    if (this.tcp6 !== null)
      for (const e of this.tcp6.endpoints()) if (!this.endpointSock.has(e)) rows.push(orphanRow(e));
  }

  private closeListeners(s: Sock, now: number): void {
    if (s.listener !== null) {
      this.endpointSock.delete(s.listener);
      s.listener.close(now);
      s.listener = null;
    }
    if (s.listener6 !== null) {
      this.endpointSock.delete(s.listener6);
      s.listener6.close(now);
      s.listener6 = null;
    }
  }

  private attachConnection(s: Sock, c: AnyTcpConnection): void {
    s.conn = c;
    this.endpointSock.set(c, s);
    s.opt.applyTo(c);
  }
}
