// Socket options in one place: each socket's values with Linux's defaults, setsockopt(2) and
// getsockopt(2) with their checks, what an accepted connection inherits from its listener, and how
// the values reach a TCP connection (the engine's connections only take checked values).
import { EADDRNOTAVAIL, EINVAL, ENODEV, ENOPROTOOPT, EOPNOTSUPP } from '../sockapi/errno.ts';
import type { SocketOption } from '../sockapi/types.ts';
import type { IpEnv } from './ip-env.ts';
import type { Multicast } from './multicast.ts';
import type { Membership6, Multicast6 } from './multicast6.ts';
import type { AnyTcpConnection, Sock } from './sock.ts';

/** Linux's defaults (net.core.rmem_default / wmem_default), and the bounds SO_*BUF are kept in. */
const DEFAULT_BUF = 212992;
const MIN_BUF = 2304;
const MAX_BUF = 8 << 20;

/** A group joined on an interface (IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP). */
export interface Membership {
  group: number;
  /** Interface name or index. */
  interface: string | number;
}

export type OptionValue = number | string | Membership | Membership6;

/** One socket's option values. */
export class SockOptions {
  reuseAddr = false;
  broadcast = false;
  pktinfo = false;
  keepAlive = 0;
  noDelay = 0;
  keepIdle = 7200;
  keepIntvl = 75;
  keepCnt = 9;
  rcvBuf = DEFAULT_BUF;
  sndBuf = DEFAULT_BUF;
  /** IP_TTL; -1: the stack's default. */
  ttl = -1;
  tos = 0;
  /** SO_BINDTODEVICE; -1: none. */
  boundIf = -1;
  /** IP_MULTICAST_IF; -1: by route. */
  mcastIf = -1;
  mcastTtl = 1;
  mcastLoop = true;
  /** IP_MINTTL (RFC 5082): TCP drops segments with a lower TTL; 0: no check. */
  minTtl = 0;
  /** IPV6_MINHOPCOUNT (RFC 5082): the same for IPv6's hop limit. */
  minHops = 0;

  /** What accept() hands from the listening socket to the new one, as Linux's sk_clone_lock. */
  inherit(l: SockOptions): void {
    this.noDelay = l.noDelay;
    this.keepAlive = l.keepAlive;
    this.keepIdle = l.keepIdle;
    this.keepIntvl = l.keepIntvl;
    this.keepCnt = l.keepCnt;
    this.rcvBuf = l.rcvBuf;
    this.sndBuf = l.sndBuf;
    this.ttl = l.ttl;
    this.tos = l.tos;
    this.boundIf = l.boundIf;
    this.minTtl = l.minTtl;
    this.minHops = l.minHops;
  }

  /** The values a TCP connection takes when it is attached to the socket (connect, accept). */
  applyTo(c: AnyTcpConnection): void {
    if (this.noDelay !== 0) c.nodelay = true;
    if (this.keepAlive !== 0) c.setKeepalive(true);
    c.setKeepIdle(this.keepIdle);
    c.keepInterval = this.keepIntvl;
    c.keepCount = this.keepCnt;
    if (this.rcvBuf !== DEFAULT_BUF) c.setRecvBuffer(this.rcvBuf);
    if (this.sndBuf !== DEFAULT_BUF) c.setSendBuffer(this.sndBuf);
    if (this.ttl >= 0) c.ttl = this.ttl;
    if (this.tos !== 0) c.tos = this.tos;
    c.minTtl = typeof c.localAddr === 'number' ? this.minTtl : this.minHops;
  }
}

/** setsockopt(2) on s (and its TCP connection, if it has one). Returns 0 or -errno. */
export function setOption(
  s: Sock,
  name: SocketOption,
  value: OptionValue,
  env: IpEnv,
  multicast: Multicast,
  multicast6: Multicast6,
): number {
  const o = s.opt;
  const c = s.conn;
  const n = typeof value === 'number' ? value : 0;
  switch (name) {
    case 'SO_REUSEADDR':
      o.reuseAddr = n !== 0;
      return 0;
    case 'SO_BROADCAST':
      o.broadcast = n !== 0;
      return 0;
    case 'SO_KEEPALIVE':
      o.keepAlive = n !== 0 ? 1 : 0;
      c?.setKeepalive(o.keepAlive !== 0);
      return 0;
    case 'SO_RCVBUF':
    case 'SO_SNDBUF': {
      if (typeof value !== 'number' || n < 0) return -EINVAL;
      // Linux doubles the value (room for bookkeeping) and reports the doubled size.
      const size = Math.max(MIN_BUF, Math.min(MAX_BUF, n * 2));
      if (name === 'SO_RCVBUF') {
        o.rcvBuf = size;
        s.queue?.resize(size);
        c?.setRecvBuffer(size);
      } else {
        o.sndBuf = size;
        c?.setSendBuffer(size);
      }
      return 0;
    }
    case 'SO_BINDTODEVICE': {
      if (value === '' || value === -1) {
        o.boundIf = -1;
        return 0;
      }
      const i = interfaceOf(env, value);
      if (i < 0) return -ENODEV;
      o.boundIf = i;
      return 0;
    }
    case 'SO_ERROR':
    case 'SO_TYPE':
      return -ENOPROTOOPT;
    case 'TCP_NODELAY':
    case 'TCP_KEEPIDLE':
    case 'TCP_KEEPINTVL':
    case 'TCP_KEEPCNT': {
      if (s.type !== 'stream') return -EOPNOTSUPP;
      if (typeof value !== 'number') return -EINVAL;
      if (name === 'TCP_NODELAY') {
        o.noDelay = n !== 0 ? 1 : 0;
        if (c !== null) c.nodelay = o.noDelay !== 0;
        return 0;
      }
      if (n < 1 || n > (name === 'TCP_KEEPCNT' ? 127 : 32767)) return -EINVAL;
      if (name === 'TCP_KEEPIDLE') {
        o.keepIdle = n;
        c?.setKeepIdle(n);
      } else if (name === 'TCP_KEEPINTVL') {
        o.keepIntvl = n;
        if (c !== null) c.keepInterval = n;
      } else {
        o.keepCnt = n;
        if (c !== null) c.keepCount = n;
      }
      return 0;
    }
    case 'IP_TTL':
      if (typeof value !== 'number' || n < -1 || n === 0 || n > 255) return -EINVAL;
      o.ttl = n;
      if (c !== null) c.ttl = n < 0 ? env.defaultTtl : n;
      return 0;
    case 'IP_TOS':
      if (typeof value !== 'number' || n < 0 || n > 255) return -EINVAL;
      o.tos = n;
      if (c !== null) c.tos = n;
      return 0;
    case 'IP_MULTICAST_IF': {
      if (value === 0 || value === '') {
        o.mcastIf = -1;
        return 0;
      }
      const i = interfaceOf(env, value);
      if (i < 0) return typeof value === 'number' ? -EADDRNOTAVAIL : -ENODEV;
      o.mcastIf = i;
      return 0;
    }
    case 'IP_MULTICAST_TTL':
      if (typeof value !== 'number' || n < 0 || n > 255) return -EINVAL;
      o.mcastTtl = n;
      return 0;
    case 'IP_MULTICAST_LOOP':
      o.mcastLoop = n !== 0;
      return 0;
    case 'IP_ADD_MEMBERSHIP':
    case 'IP_DROP_MEMBERSHIP':
      if (s.type === 'stream') return -EOPNOTSUPP;
      if (typeof value !== 'object' || !('group' in value)) return -EINVAL;
      return multicast.membership(s, name === 'IP_ADD_MEMBERSHIP', value);
    case 'IPV6_JOIN_GROUP':
    case 'IPV6_LEAVE_GROUP':
      if (s.family !== 6) return -ENOPROTOOPT;
      if (s.type === 'stream') return -EOPNOTSUPP;
      if (typeof value !== 'object' || !('group6' in value)) return -EINVAL;
      return multicast6.membership(s, name === 'IPV6_JOIN_GROUP', value);
    case 'IPV6_MULTICAST_IF': {
      // RFC 3493 §5.2's interface, here the VR's index (-1: the default; the remote socket server
      // turns the wire's 1-based index, 0 for the default, into this).
      if (s.family !== 6) return -ENOPROTOOPT;
      if (typeof value !== 'number' || n < -1) return -EINVAL;
      if (n >= 0 && env.interfaceName(n) === null) return -ENODEV;
      o.mcastIf = n;
      return 0;
    }
    case 'IPV6_MULTICAST_HOPS':
      // RFC 3493 §5.2: -1 is the default, 1.
      if (s.family !== 6) return -ENOPROTOOPT;
      if (typeof value !== 'number' || n < -1 || n > 255) return -EINVAL;
      o.mcastTtl = n < 0 ? 1 : n;
      return 0;
    case 'IPV6_MULTICAST_LOOP':
      if (s.family !== 6) return -ENOPROTOOPT;
      if (typeof value !== 'number' || (n !== 0 && n !== 1)) return -EINVAL;
      o.mcastLoop = n === 1;
      return 0;
    case 'IPV6_CHECKSUM':
      // RFC 3542 §3.1: raw sockets only; an even offset or -1; ICMPv6's is fixed (EINVAL).
      if (s.family !== 6) return -ENOPROTOOPT;
      if (s.type !== 'raw' || s.protocol === 58) return -EINVAL;
      if (typeof value !== 'number' || n < -1 || (n >= 0 && (n & 1) !== 0)) return -EINVAL;
      s.checksumOffset = n;
      return 0;
    case 'IP_PKTINFO':
      o.pktinfo = n !== 0;
      return 0;
    case 'IP_MINTTL':
    case 'IPV6_MINHOPCOUNT': {
      // RFC 5082 §3: TCP only (a datagram socket takes the value to no effect, as Linux); 0 to 255.
      const v6 = name === 'IPV6_MINHOPCOUNT';
      if (v6 && s.family !== 6) return -ENOPROTOOPT;
      if (typeof value !== 'number' || n < 0 || n > 255) return -EINVAL;
      if (v6) {
        o.minHops = n;
        if (s.listener6 !== null) s.listener6.minTtl = n;
      } else {
        o.minTtl = n;
        if (s.listener !== null) s.listener.minTtl = n;
      }
      // An AF_INET6 socket talking IPv4 (v4-mapped) is checked against IP_MINTTL, as Linux.
      if (c !== null && (typeof c.localAddr === 'number') !== v6) c.minTtl = n;
      return 0;
    }
    case 'IPV6_V6ONLY':
      // RFC 3493 §5.3; Linux refuses a change once the socket has a port (EINVAL).
      if (s.family !== 6) return -ENOPROTOOPT;
      if (s.bound) return -EINVAL;
      s.v6only = n !== 0;
      return 0;
    case 'IPV6_UNICAST_HOPS':
      // RFC 3493 §5.1: -1 is the default; the hop limit is the connection's TTL field.
      if (s.family !== 6) return -ENOPROTOOPT;
      if (typeof value !== 'number' || n < -1 || n > 255) return -EINVAL;
      o.ttl = n;
      if (c !== null) c.ttl = n < 0 ? env.defaultTtl : n;
      return 0;
    case 'IPV6_TCLASS':
      // RFC 3542 §6.5: -1 is the default (0).
      if (s.family !== 6) return -ENOPROTOOPT;
      if (typeof value !== 'number' || n < -1 || n > 255) return -EINVAL;
      o.tos = Math.max(n, 0);
      if (c !== null) c.tos = o.tos;
      return 0;
    default:
      return -ENOPROTOOPT;
  }
}

/** getsockopt(2): the value (SO_ERROR takes the pending error: a positive errno, 0 when none). */
export function getOption(s: Sock, name: SocketOption, env: IpEnv): number {
  const o = s.opt;
  switch (name) {
    case 'SO_REUSEADDR':
      return o.reuseAddr ? 1 : 0;
    case 'SO_BROADCAST':
      return o.broadcast ? 1 : 0;
    case 'SO_KEEPALIVE':
      return o.keepAlive;
    case 'SO_RCVBUF':
      return o.rcvBuf;
    case 'SO_SNDBUF':
      return o.sndBuf;
    case 'SO_BINDTODEVICE':
      return o.boundIf;
    case 'SO_ERROR':
      return s.takeError();
    case 'SO_TYPE':
      return s.type === 'stream' ? 1 : s.type === 'dgram' ? 2 : 3;
    case 'TCP_NODELAY':
      return s.type === 'stream' ? o.noDelay : -EOPNOTSUPP;
    case 'TCP_KEEPIDLE':
      return s.type === 'stream' ? o.keepIdle : -EOPNOTSUPP;
    case 'TCP_KEEPINTVL':
      return s.type === 'stream' ? o.keepIntvl : -EOPNOTSUPP;
    case 'TCP_KEEPCNT':
      return s.type === 'stream' ? o.keepCnt : -EOPNOTSUPP;
    case 'IP_TTL':
      return o.ttl >= 0 ? o.ttl : env.defaultTtl;
    case 'IP_TOS':
      return o.tos;
    case 'IP_MULTICAST_IF':
      return o.mcastIf;
    case 'IP_MULTICAST_TTL':
      return o.mcastTtl;
    case 'IP_MULTICAST_LOOP':
      return o.mcastLoop ? 1 : 0;
    case 'IP_PKTINFO':
      return o.pktinfo ? 1 : 0;
    case 'IP_MINTTL':
      return o.minTtl;
    case 'IPV6_MINHOPCOUNT':
      return s.family === 6 ? o.minHops : -ENOPROTOOPT;
    case 'IPV6_V6ONLY':
      return s.family === 6 ? (s.v6only ? 1 : 0) : -ENOPROTOOPT;
    case 'IPV6_UNICAST_HOPS':
      return s.family === 6 ? (o.ttl >= 0 ? o.ttl : env.defaultTtl) : -ENOPROTOOPT;
    case 'IPV6_TCLASS':
      return s.family === 6 ? o.tos : -ENOPROTOOPT;
    case 'IPV6_MULTICAST_IF':
      return s.family === 6 ? o.mcastIf : -ENOPROTOOPT;
    case 'IPV6_MULTICAST_HOPS':
      return s.family === 6 ? o.mcastTtl : -ENOPROTOOPT;
    case 'IPV6_MULTICAST_LOOP':
      return s.family === 6 ? (o.mcastLoop ? 1 : 0) : -ENOPROTOOPT;
    case 'IPV6_CHECKSUM':
      return s.family === 6 ? s.checksumOffset : -ENOPROTOOPT;
    default:
      return -ENOPROTOOPT;
  }
}

/** The interface an option names: by name, or by one of its addresses (struct in_addr). */
function interfaceOf(env: IpEnv, value: OptionValue): number {
  if (typeof value === 'string') return env.interfaceIndex(value);
  if (typeof value === 'number') return value === 0 ? -1 : env.interfaceOfAddress(value >>> 0);
  return -1;
}
