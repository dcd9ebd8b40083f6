import { formatIpv4 } from '@nexthop/addr';
import {
  copyBytes,
  ETH_HEADER_LEN,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_MIN_HEADER,
  isMulticastIpv4,
  rd16,
  rd32,
  UDP_HEADER_LEN,
  writeUdp,
} from '@nexthop/wire';
import {
  EACCES,
  EADDRINUSE,
  EADDRNOTAVAIL,
  EAFNOSUPPORT,
  EAGAIN,
  EALREADY,
  EBADF,
  ECONNREFUSED,
  EDESTADDRREQ,
  EINPROGRESS,
  EINVAL,
  EISCONN,
  EMFILE,
  EMSGSIZE,
  ENETUNREACH,
  ENODEV,
  ENOPROTOOPT,
  ENOTCONN,
  EOPNOTSUPP,
  EPIPE,
  EPROTONOSUPPORT,
} from '../sockapi/errno.ts';
import { icmpErrno } from '../sockapi/icmp-errors.ts';
import { EPHEMERAL_FIRST, EPHEMERAL_LAST, EPHEMERAL_SPAN, PortSelector } from '../sockapi/ports.ts';
import type { RandomSource } from '../sockapi/random.ts';
import {
  EV_ERROR,
  EV_HANGUP,
  EV_READABLE,
  EV_WRITABLE,
  RecvMeta,
  type ShutdownHow,
  type SocketInfo,
  type SocketOption,
  type SocketType,
} from '../sockapi/types.ts';
import { type TcpConnection, type TcpEngine, TcpListener } from '../tcp/index.ts';
import { DatagramQueue } from './dgram-queue.ts';
import type { IpEnv } from './ip-env.ts';

export { EPHEMERAL_FIRST, EPHEMERAL_LAST };

/** Largest UDP payload: 65535 - 20 (IP) - 8 (UDP). */
export const UDP_MAX_PAYLOAD = 65507;
const RAW_MAX_PAYLOAD = 65535 - IPV4_MIN_HEADER;

/** Linux's defaults (net.core.rmem_default / wmem_default). */
const DEFAULT_BUF = 212992;
const MIN_BUF = 2304;
const MAX_BUF = 8 << 20;
/** Datagrams a socket may hold however small they are. */
const QUEUE_SLOTS = 1024;
const MAX_SOCKETS = 65536;
const ALL_HOSTS = 0xe0000001;

const TX_HEADROOM = ETH_HEADER_LEN;

export interface SocketLayerOptions {
  /** The stack's random source (StackOptions.random or a SeededRandom of StackOptions.seed). */
  random: RandomSource;
  /** Most open fds (EMFILE beyond). */
  maxSockets?: number;
}

/** An (address, port) pair filled by localAddress / peerAddress / accept. */
export class SockAddr {
  addr = 0;
  port = 0;
}

/** A group joined on an interface (IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP). */
export interface Membership {
  group: number;
  /** Interface name or index. */
  interface: string | number;
}

export type OptionValue = number | string | Membership;

class Sock {
  readonly fd: number;
  readonly type: SocketType;
  readonly protocol: number;
  open = true;
  localAddr = 0;
  localPort = 0;
  remoteAddr = 0;
  remotePort = 0;
  bound = false;
  /** bind() chose the address (connect may not replace it). */
  addrLocked = false;
  connected = false;
  boundIf = -1;
  reuseAddr = false;
  keepAlive = 0;
  broadcast = false;
  pktinfo = false;
  noDelay = 0;
  keepIdle = 7200;
  keepIntvl = 75;
  keepCnt = 9;
  rcvBuf = DEFAULT_BUF;
  sndBuf = DEFAULT_BUF;
  ttl = -1;
  tos = 0;
  mcastIf = -1;
  mcastTtl = 1;
  mcastLoop = true;
  /** Pairs (group, ifIndex). */
  readonly memberships: number[] = [];
  /** Pending error, a positive errno (SO_ERROR). */
  error = 0;
  shutRd = false;
  shutWr = false;
  queue: DatagramQueue | null = null;
  drops = 0;
  conn: TcpConnection | null = null;
  listener: TcpListener | null = null;
  dirty = false;

  constructor(fd: number, type: SocketType, protocol: number) {
    this.fd = fd;
    this.type = type;
    this.protocol = protocol;
    if (type !== 'stream') this.queue = new DatagramQueue(this.rcvBuf, QUEUE_SLOTS);
  }

  isMember(group: number, ifIndex: number): boolean {
    const m = this.memberships;
    for (let i = 0; i < m.length; i += 2) if (m[i] === group && m[i + 1] === ifIndex) return true;
    return false;
  }
}

/**
 * The VR's sockets: a BSD-shaped, non-blocking API over UDP, raw IP and the TCP engine. Calls return
 * >= 0 on success and -errno on failure; readiness is pushed to `onSocketEvent`. Sans-IO: it is
 * driven by the Stack (input, ICMP errors, poll) and by its users' calls, with `now` passed in.
 */
export class SocketLayer {
  /** Readiness may have changed on fd; `events` is its current EV_* mask. */
  onSocketEvent: ((fd: number, events: number) => void) | null = null;

  private readonly env: IpEnv;
  private tcp: TcpEngine | null = null;
  /** Ephemeral UDP ports (TCP's come from the engine's selector). */
  private readonly udpPortSelector: PortSelector;
  private readonly maxSockets: number;
  private readonly socks: (Sock | undefined)[] = [];
  private readonly udpPorts = new Map<number, Sock[]>();
  private readonly streamPorts = new Map<number, Sock[]>();
  private readonly rawProtocols = new Map<number, Sock[]>();
  private readonly endpointSock = new Map<TcpConnection | TcpListener, Sock>();
  /** (group, ifIndex) memberships of all sockets, counted: what the VR as a host has joined. */
  private readonly groupRefs = new Map<number, number>();
  private readonly dirty: Sock[] = [];
  private flushing = false;
  private readonly txBuf = new Uint8Array(TX_HEADROOM + 65535 + 64);
  private readonly scratchMeta = new RecvMeta();
  /** Datagrams refused because a socket's receive queue was full. */
  rxQueueDrops = 0;
  /** UDP datagrams no socket wanted. */
  noPortDrops = 0;

  constructor(env: IpEnv, options: SocketLayerOptions) {
    this.env = env;
    this.udpPortSelector = new PortSelector(options.random);
    this.maxSockets = options.maxSockets ?? MAX_SOCKETS;
  }

  /** Stream sockets need the TCP engine; the Stack attaches it once it exists. */
  attachTcp(engine: TcpEngine): void {
    this.tcp = engine;
  }

  // ---- the API -------------------------------------------------------------------------------

  socket(type: SocketType, protocol = 0): number {
    let proto = protocol;
    if (type === 'stream') {
      if (proto !== 0 && proto !== IPPROTO_TCP) return -EPROTONOSUPPORT;
      if (this.tcp === null) return -EPROTONOSUPPORT;
      proto = IPPROTO_TCP;
    } else if (type === 'dgram') {
      if (proto !== 0 && proto !== IPPROTO_UDP) return -EPROTONOSUPPORT;
      proto = IPPROTO_UDP;
    } else if (type === 'raw') {
      if (proto <= 0 || proto > 255) return -EPROTONOSUPPORT;
    } else return -EAFNOSUPPORT;
    let fd = 0;
    while (fd < this.socks.length && this.socks[fd] !== undefined) fd++;
    if (fd >= this.maxSockets) return -EMFILE;
    const s = new Sock(fd, type, proto);
    this.socks[fd] = s;
    if (type === 'raw') listAdd(this.rawProtocols, proto, s);
    return fd;
  }

  bind(fd: number, addr: number, port: number): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (s.bound || s.conn !== null || s.listener !== null) return -EINVAL;
    addr >>>= 0;
    if (port < 0 || port > 65535) return -EINVAL;
    if (addr !== 0 && !this.env.isLocalAddress(addr)) {
      const groupish = addr === 0xffffffff || isMulticastIpv4(addr) || this.env.isSubnetBroadcast(addr);
      if (s.type === 'stream' || !groupish) return -EADDRNOTAVAIL;
    }
    if (s.type === 'raw') {
      s.localAddr = addr;
      s.bound = true;
      s.addrLocked = addr !== 0;
      return 0;
    }
    let p = port;
    if (p === 0) {
      p = this.ephemeralPort(s, addr);
      if (p < 0) return p;
    } else if (this.portTaken(s, addr, p, s.reuseAddr)) return -EADDRINUSE;
    this.setBound(s, addr, p);
    s.addrLocked = addr !== 0;
    return 0;
  }

  connect(fd: number, addr: number, port: number, now: number): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    addr >>>= 0;
    if (s.type === 'stream') return this.flushed(this.streamConnect(s, addr, port, now));
    if (addr === 0 && port === 0) {
      // AF_UNSPEC: dissolve the association (connect(2)).
      s.connected = false;
      s.remoteAddr = 0;
      s.remotePort = 0;
      if (!s.addrLocked) s.localAddr = 0;
      return 0;
    }
    if (port < 0 || port > 65535) return -EINVAL;
    const local = this.env.isLocalAddress(addr);
    const ifIndex = local ? -1 : this.egressFor(s, addr, -1);
    if (ifIndex < 0 && !local) return ifIndex;
    let src = 0;
    if (!s.addrLocked && !isMulticastIpv4(addr) && addr !== 0xffffffff) {
      src = local ? addr : this.env.sourceAddress(ifIndex, addr);
      if (src === 0) return -EADDRNOTAVAIL;
    }
    if (s.type === 'dgram' && !s.bound) {
      // The destination is known: the port is a keyed hash of it (RFC 6056 Algorithm 4).
      const p = this.ephemeralPort(s, 0, src !== 0 ? src : s.localAddr, addr, port);
      if (p < 0) return p;
      this.setBound(s, 0, p);
    }
    if (src !== 0) s.localAddr = src;
    s.remoteAddr = addr;
    s.remotePort = s.type === 'raw' ? 0 : port;
    s.connected = true;
    s.error = 0;
    return 0;
  }

  listen(fd: number, backlog: number): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (s.type !== 'stream' || this.tcp === null) return -EOPNOTSUPP;
    if (s.conn !== null) return -EINVAL;
    if (s.listener !== null) return 0;
    if (!s.bound) {
      const p = this.ephemeralPort(s, 0);
      if (p < 0) return p;
      this.setBound(s, 0, p);
    }
    const l = this.tcp.listen(s.localAddr, s.localPort, Math.max(1, Math.min(backlog, 4096)));
    if (typeof l === 'number') return l;
    s.listener = l;
    this.endpointSock.set(l, s);
    return 0;
  }

  /** A connection ready on a listener as a new fd, -EAGAIN when none; its peer goes in `peer`. */
  accept(fd: number, now: number, peer?: SockAddr): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (s.listener === null) return -EINVAL;
    if (s.error !== 0) return -this.takeError(s);
    const c = s.listener.accept(now);
    if (c === null) return this.flushed(-EAGAIN);
    const nfd = this.socket('stream');
    if (nfd < 0) {
      c.abort(now);
      return this.flushed(nfd);
    }
    const a = this.socks[nfd]!;
    a.bound = true;
    a.localAddr = c.localAddr;
    a.localPort = c.localPort;
    a.remoteAddr = c.remoteAddr;
    a.remotePort = c.remotePort;
    a.connected = true;
    // Accepted sockets inherit the listener's options, as on Linux.
    a.noDelay = s.noDelay;
    a.keepAlive = s.keepAlive;
    a.keepIdle = s.keepIdle;
    a.keepIntvl = s.keepIntvl;
    a.keepCnt = s.keepCnt;
    a.rcvBuf = s.rcvBuf;
    a.sndBuf = s.sndBuf;
    a.ttl = s.ttl;
    a.tos = s.tos;
    a.boundIf = s.boundIf;
    this.attachConnection(a, c);
    if (peer !== undefined) {
      peer.addr = c.remoteAddr;
      peer.port = c.remotePort;
    }
    return this.flushed(nfd);
  }

  send(fd: number, buf: Uint8Array, off: number, len: number, now: number): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (s.type === 'stream') {
      if (s.conn === null) return -ENOTCONN;
      return this.flushed(s.conn.send(buf, off, len, now));
    }
    if (!s.connected) return -EDESTADDRREQ;
    return this.sendTo(fd, buf, off, len, s.remoteAddr, s.remotePort, now);
  }

  /**
   * Sends one datagram. `src` and `oif` are what IP_PKTINFO on sendmsg carries (ipi_spec_dst,
   * ipi_ifindex): the source address and egress interface for this datagram only (0 / -1: chosen).
   */
  sendTo(
    fd: number,
    buf: Uint8Array,
    off: number,
    len: number,
    addr: number,
    port: number,
    now: number,
    src = 0,
    oif = -1,
  ): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (s.type === 'stream') return this.send(fd, buf, off, len, now);
    if (s.error !== 0) return -this.takeError(s);
    if (s.shutWr) return -EPIPE;
    addr >>>= 0;
    src >>>= 0;
    const isUdp = s.type === 'dgram';
    if (len > (isUdp ? UDP_MAX_PAYLOAD : RAW_MAX_PAYLOAD)) return -EMSGSIZE;
    if (addr === 0) return -EDESTADDRREQ;
    if (isUdp && (port <= 0 || port > 65535)) return -EINVAL;
    const multicast = isMulticastIpv4(addr);
    const broadcast = addr === 0xffffffff || this.env.isSubnetBroadcast(addr);
    if (broadcast && !s.broadcast) return -EACCES;
    if (isUdp && !s.bound) {
      const p = this.ephemeralPort(s, 0);
      if (p < 0) return p;
      this.setBound(s, 0, p);
    }
    const local = !multicast && !broadcast && this.env.isLocalAddress(addr);
    const ifIndex = local ? -1 : this.egressFor(s, addr, oif);
    if (ifIndex < 0 && !local) return ifIndex;
    let from = src;
    if (from !== 0) {
      if (!this.env.isLocalAddress(from)) return -EADDRNOTAVAIL;
    } else if (s.localAddr !== 0 && !isMulticastIpv4(s.localAddr) && this.env.isLocalAddress(s.localAddr)) {
      from = s.localAddr;
    } else {
      from = local ? addr : this.env.sourceAddress(ifIndex, addr);
      if (from === 0) return -EADDRNOTAVAIL;
    }
    const t = this.txBuf;
    const ipOff = TX_HEADROOM;
    const l4Off = ipOff + IPV4_MIN_HEADER;
    const dataOff = isUdp ? l4Off + UDP_HEADER_LEN : l4Off;
    copyBytes(buf, off, t, dataOff, len);
    const l4Len = isUdp ? writeUdp(t, l4Off, s.localPort, port, len, from, addr) : len;
    if (local) {
      // To one of the VR's own addresses: straight back up, as the loopback device would.
      this.loopback(s, t, ipOff, l4Len, from, addr, now);
      return this.flushed(len);
    }
    const ttl = multicast ? s.mcastTtl : s.ttl >= 0 ? s.ttl : this.env.defaultTtl;
    const forcedIf = multicast || broadcast ? ifIndex : oif >= 0 ? oif : s.boundIf;
    const r = this.env.output(t, ipOff, l4Len, s.protocol, from, addr, s.tos, ttl, false, forcedIf, now);
    if (r < 0) return r;
    if (multicast && s.mcastLoop) this.loopbackMulticast(t, ipOff, l4Len, s.protocol, from, addr, ifIndex);
    return this.flushed(len);
  }

  /** Receives into buf; a datagram longer than len is truncated (the rest is lost). */
  recv(fd: number, buf: Uint8Array, off: number, len: number, now: number): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (s.type === 'stream') {
      if (s.conn === null) return -ENOTCONN;
      return this.flushed(s.conn.recv(buf, off, len, now));
    }
    return this.recvFrom(fd, buf, off, len, this.scratchMeta);
  }

  recvFrom(fd: number, buf: Uint8Array, off: number, len: number, meta: RecvMeta): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (s.type === 'stream') return -EOPNOTSUPP;
    if (s.error !== 0) return -this.takeError(s);
    const n = s.queue!.shift(buf, off, len, meta);
    if (n < 0) return s.shutRd ? 0 : -EAGAIN;
    return n;
  }

  shutdown(fd: number, how: ShutdownHow, now: number): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    const rd = how !== 'write';
    const wr = how !== 'read';
    if (s.type === 'stream') {
      if (s.conn === null) return -ENOTCONN;
      return this.flushed(s.conn.shutdown(rd, wr, now));
    }
    if (!s.connected) return -ENOTCONN;
    if (rd) s.shutRd = true;
    if (wr) s.shutWr = true;
    this.markDirty(s);
    return this.flushed(0);
  }

  close(fd: number, now: number): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    s.open = false;
    this.socks[fd] = undefined;
    while (this.socks.length > 0 && this.socks[this.socks.length - 1] === undefined) this.socks.pop();
    if (s.conn !== null) {
      this.endpointSock.delete(s.conn);
      s.conn.close(now);
    }
    if (s.listener !== null) {
      this.endpointSock.delete(s.listener);
      s.listener.close(now);
    }
    if (s.bound && s.type !== 'raw')
      listRemove(s.type === 'dgram' ? this.udpPorts : this.streamPorts, s.localPort, s);
    if (s.type === 'raw') listRemove(this.rawProtocols, s.protocol, s);
    const m = s.memberships;
    for (let i = 0; i < m.length; i += 2) this.groupUnref(m[i]!, m[i + 1]!);
    m.length = 0;
    s.queue?.clear();
    return this.flushed(0);
  }

  setOption(fd: number, name: SocketOption, value: OptionValue, now = 0): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    const n = typeof value === 'number' ? value : 0;
    switch (name) {
      case 'SO_REUSEADDR':
        s.reuseAddr = n !== 0;
        return 0;
      case 'SO_BROADCAST':
        s.broadcast = n !== 0;
        return 0;
      case 'SO_KEEPALIVE':
        s.keepAlive = n !== 0 ? 1 : 0;
        return this.tcpOption(s, name, s.keepAlive, now);
      case 'SO_RCVBUF':
      case 'SO_SNDBUF': {
        if (typeof value !== 'number' || n < 0) return -EINVAL;
        // Linux doubles the value (room for bookkeeping) and reports the doubled size.
        const size = Math.max(MIN_BUF, Math.min(MAX_BUF, n * 2));
        if (name === 'SO_RCVBUF') {
          s.rcvBuf = size;
          s.queue?.resize(size);
        } else s.sndBuf = size;
        return this.tcpOption(s, name, size, now);
      }
      case 'SO_BINDTODEVICE': {
        if (value === '' || value === -1) {
          s.boundIf = -1;
          return 0;
        }
        const i = this.interfaceOf(value);
        if (i < 0) return -ENODEV;
        s.boundIf = i;
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
        if (name === 'TCP_NODELAY') s.noDelay = n !== 0 ? 1 : 0;
        else if (n < 1 || n > (name === 'TCP_KEEPCNT' ? 127 : 32767)) return -EINVAL;
        else if (name === 'TCP_KEEPIDLE') s.keepIdle = n;
        else if (name === 'TCP_KEEPINTVL') s.keepIntvl = n;
        else s.keepCnt = n;
        return this.tcpOption(s, name, name === 'TCP_NODELAY' ? s.noDelay : n, now);
      }
      case 'IP_TTL':
        if (typeof value !== 'number' || n < -1 || n === 0 || n > 255) return -EINVAL;
        s.ttl = n;
        return this.tcpOption(s, name, n < 0 ? this.env.defaultTtl : n, now);
      case 'IP_TOS':
        if (typeof value !== 'number' || n < 0 || n > 255) return -EINVAL;
        s.tos = n;
        return this.tcpOption(s, name, n, now);
      case 'IP_MULTICAST_IF': {
        if (value === 0 || value === '') {
          s.mcastIf = -1;
          return 0;
        }
        const i = this.interfaceOf(value);
        if (i < 0) return typeof value === 'number' ? -EADDRNOTAVAIL : -ENODEV;
        s.mcastIf = i;
        return 0;
      }
      case 'IP_MULTICAST_TTL':
        if (typeof value !== 'number' || n < 0 || n > 255) return -EINVAL;
        s.mcastTtl = n;
        return 0;
      case 'IP_MULTICAST_LOOP':
        s.mcastLoop = n !== 0;
        return 0;
      case 'IP_ADD_MEMBERSHIP':
      case 'IP_DROP_MEMBERSHIP':
        return this.membership(s, name === 'IP_ADD_MEMBERSHIP', value);
      case 'IP_PKTINFO':
        s.pktinfo = n !== 0;
        return 0;
      default:
        return -ENOPROTOOPT;
    }
  }

  /** Option value; SO_ERROR takes the pending error (positive errno, 0 when none). */
  getOption(fd: number, name: SocketOption): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    switch (name) {
      case 'SO_REUSEADDR':
        return s.reuseAddr ? 1 : 0;
      case 'SO_BROADCAST':
        return s.broadcast ? 1 : 0;
      case 'SO_KEEPALIVE':
        return s.keepAlive;
      case 'SO_RCVBUF':
        return s.rcvBuf;
      case 'SO_SNDBUF':
        return s.sndBuf;
      case 'SO_BINDTODEVICE':
        return s.boundIf;
      case 'SO_ERROR':
        return this.takeError(s);
      case 'SO_TYPE':
        return s.type === 'stream' ? 1 : s.type === 'dgram' ? 2 : 3;
      case 'TCP_NODELAY':
        return s.type === 'stream' ? s.noDelay : -EOPNOTSUPP;
      case 'TCP_KEEPIDLE':
        return s.type === 'stream' ? s.keepIdle : -EOPNOTSUPP;
      case 'TCP_KEEPINTVL':
        return s.type === 'stream' ? s.keepIntvl : -EOPNOTSUPP;
      case 'TCP_KEEPCNT':
        return s.type === 'stream' ? s.keepCnt : -EOPNOTSUPP;
      case 'IP_TTL':
        return s.ttl >= 0 ? s.ttl : this.env.defaultTtl;
      case 'IP_TOS':
        return s.tos;
      case 'IP_MULTICAST_IF':
        return s.mcastIf;
      case 'IP_MULTICAST_TTL':
        return s.mcastTtl;
      case 'IP_MULTICAST_LOOP':
        return s.mcastLoop ? 1 : 0;
      case 'IP_PKTINFO':
        return s.pktinfo ? 1 : 0;
      default:
        return -ENOPROTOOPT;
    }
  }

  localAddress(fd: number, out: SockAddr): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    out.addr = s.localAddr;
    out.port = s.type === 'raw' ? 0 : s.localPort;
    return 0;
  }

  peerAddress(fd: number, out: SockAddr): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (!s.connected) return -ENOTCONN;
    out.addr = s.remoteAddr;
    out.port = s.remotePort;
    return 0;
  }

  /** Current EV_* mask of fd, 0 for an fd that is not open. */
  events(fd: number): number {
    const s = this.sock(fd);
    return s === null ? 0 : this.eventsOf(s);
  }

  /** Open fds. */
  get size(): number {
    let n = 0;
    for (const s of this.socks) if (s !== undefined) n++;
    return n;
  }

  /** Every socket, and TCP connections no fd owns any more (closing, TIME-WAIT), like `ss -a`. */
  list(): SocketInfo[] {
    const rows: SocketInfo[] = [];
    for (const s of this.socks) if (s !== undefined) rows.push(this.infoOf(s));
    if (this.tcp !== null) {
      for (const e of this.tcp.endpoints()) {
        if (this.endpointSock.has(e)) continue;
        const l = e instanceof TcpListener;
        const row: SocketInfo = {
          fd: -1,
          type: 'stream',
          protocol: IPPROTO_TCP,
          state: l ? 'LISTEN' : e.state,
          local: `${formatIpv4(e.localAddr)}:${e.localPort}`,
          peer: l ? '0.0.0.0:*' : `${formatIpv4(e.remoteAddr)}:${e.remotePort}`,
          recvQ: l ? e.info().pending : e.info().recvQueue,
          sendQ: l ? e.backlog : e.info().sendQueue,
          interface: null,
        };
        if (l) {
          const i = e.info();
          row.synQueue = i.synQueue;
          row.synCookiesSent = i.synCookiesSent;
        }
        rows.push(row);
      }
    }
    return rows;
  }

  /** Counters for `show counters`. */
  counters(): Record<string, number> {
    return {
      sockets_open: this.size,
      udp_rx_queue_full: this.rxQueueDrops,
      udp_no_port: this.noPortDrops,
    };
  }

  // ---- driven by the stack -------------------------------------------------------------------

  /**
   * A UDP datagram (checksum verified) for a local, broadcast or multicast destination. `udpLen` is
   * the UDP length field. Returns whether any socket matched it (false: the port is closed, and the
   * stack answers with ICMP port unreachable, RFC 1122 §4.1.3.1).
   */
  udpInput(
    ifIndex: number,
    buf: Uint8Array,
    udpOff: number,
    udpLen: number,
    src: number,
    dst: number,
    broadcast: boolean,
  ): boolean {
    const srcPort = rd16(buf, udpOff);
    const dstPort = rd16(buf, udpOff + 2);
    const list = this.udpPorts.get(dstPort);
    const dataOff = udpOff + UDP_HEADER_LEN;
    const dataLen = udpLen - UDP_HEADER_LEN;
    if (list === undefined) {
      this.noPortDrops++;
      return false;
    }
    if (!broadcast) {
      // Unicast: the most specific socket wins (connected 4-tuple, then bound address, then wildcard).
      let best: Sock | null = null;
      let bestScore = -1;
      for (let i = 0; i < list.length; i++) {
        const s = list[i]!;
        if (s.boundIf >= 0 && s.boundIf !== ifIndex) continue;
        let score = 0;
        if (s.localAddr !== 0) {
          if (s.localAddr !== dst) continue;
          score += 2;
        }
        if (s.connected) {
          if (s.remoteAddr !== src || s.remotePort !== srcPort) continue;
          score += 4;
        }
        if (s.boundIf >= 0) score += 1;
        if (score > bestScore) {
          best = s;
          bestScore = score;
        }
      }
      if (best === null) {
        this.noPortDrops++;
        return false;
      }
      this.enqueue(best, buf, dataOff, dataLen, src, srcPort, dst, ifIndex);
      return true;
    }
    // Broadcast and multicast: every socket that wants it gets a copy.
    const multicast = isMulticastIpv4(dst);
    let taken = false;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (s.boundIf >= 0 && s.boundIf !== ifIndex) continue;
      if (s.connected && (s.remoteAddr !== src || s.remotePort !== srcPort)) continue;
      if (multicast) {
        if (s.localAddr !== dst && !(s.localAddr === 0 && s.isMember(dst, ifIndex))) continue;
      } else if (s.localAddr !== 0 && s.localAddr !== dst) continue;
      this.enqueue(s, buf, dataOff, dataLen, src, srcPort, dst, ifIndex);
      taken = true;
    }
    if (!taken) this.noPortDrops++;
    return taken;
  }

  /**
   * A copy of an IP datagram of `protocol` for raw sockets (the whole packet, header included, as
   * Linux raw sockets receive it). Returns whether any socket took it.
   */
  rawInput(
    ifIndex: number,
    buf: Uint8Array,
    ipOff: number,
    ipLen: number,
    protocol: number,
    src: number,
    dst: number,
  ): boolean {
    const list = this.rawProtocols.get(protocol);
    if (list === undefined) return false;
    const multicast = isMulticastIpv4(dst);
    if (multicast && dst !== ALL_HOSTS && ifIndex >= 0 && !this.groupRefs.has(groupKey(dst, ifIndex)))
      return false;
    let taken = false;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (s.boundIf >= 0 && s.boundIf !== ifIndex) continue;
      if (s.localAddr !== 0 && s.localAddr !== dst) continue;
      if (s.connected && s.remoteAddr !== src) continue;
      this.enqueue(s, buf, ipOff, ipLen, src, 0, dst, ifIndex);
      taken = true;
    }
    return taken;
  }

  /** Whether any raw socket listens for `protocol` (the stack then skips protocol unreachable). */
  hasRaw(protocol: number): boolean {
    return this.rawProtocols.has(protocol);
  }

  /**
   * An ICMP error quoting one of our datagrams (quote: original IP header + at least 8 bytes).
   * Every error of the table in sockapi/icmp-errors.ts, soft or hard, reaches the connected UDP
   * sockets it concerns as their pending error (RFC 1122 §4.1.3.3); TCP gets every error.
   */
  icmpError(
    type: number,
    code: number,
    restOfHeader: number,
    quote: Uint8Array,
    qOff: number,
    qLen: number,
    now: number,
  ): void {
    if (qLen < IPV4_MIN_HEADER) return;
    const hl = (quote[qOff]! & 15) * 4;
    if (hl < IPV4_MIN_HEADER || qLen < hl + 8) return;
    const protocol = quote[qOff + 9]!;
    if (protocol === IPPROTO_TCP) {
      this.tcp?.icmpError(type, code, restOfHeader, quote, qOff, qLen, now);
      this.flushEvents();
      return;
    }
    if (protocol !== IPPROTO_UDP) return;
    const errno = icmpErrno(type, code);
    if (errno === 0) return;
    const qsrc = rd32(quote, qOff + 12);
    const qdst = rd32(quote, qOff + 16);
    const sport = rd16(quote, qOff + hl);
    const dport = rd16(quote, qOff + hl + 2);
    const list = this.udpPorts.get(sport);
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (!s.connected || s.remoteAddr !== qdst || s.remotePort !== dport) continue;
      if (s.localAddr !== 0 && s.localAddr !== qsrc) continue;
      s.error = errno;
      this.markDirty(s);
    }
  }

  /** Called by the TCP engine's env when a connection's or listener's readiness may have changed. */
  tcpNotify(endpoint: TcpConnection | TcpListener): void {
    const s = this.endpointSock.get(endpoint);
    if (s !== undefined) this.markDirty(s);
  }

  /** Runs due TCP timers; returns the next deadline. */
  poll(now: number): number {
    const next = this.tcp === null ? Number.POSITIVE_INFINITY : this.tcp.poll(now);
    this.flushEvents();
    return next;
  }

  /** Delivers the readiness events queued since the last flush (after each packet, poll or call). */
  flushEvents(): void {
    if (this.flushing || this.dirty.length === 0) return;
    this.flushing = true;
    try {
      const d = this.dirty;
      for (let i = 0; i < d.length; i++) {
        const s = d[i]!;
        s.dirty = false;
        if (s.open && this.onSocketEvent !== null) this.onSocketEvent(s.fd, this.eventsOf(s));
      }
      d.length = 0;
    } finally {
      this.flushing = false;
    }
  }

  // ---- internals -----------------------------------------------------------------------------

  private sock(fd: number): Sock | null {
    return this.socks[fd] ?? null;
  }

  private flushed(result: number): number {
    if (this.dirty.length > 0) this.flushEvents();
    return result;
  }

  private markDirty(s: Sock): void {
    if (s.dirty) return;
    s.dirty = true;
    this.dirty.push(s);
  }

  private takeError(s: Sock): number {
    let e = s.error;
    s.error = 0;
    if (e === 0 && s.conn !== null) {
      const t = s.conn.takeError();
      e = t < 0 ? -t : t;
    }
    return e;
  }

  private eventsOf(s: Sock): number {
    if (s.type === 'stream') {
      let ev = s.conn !== null ? s.conn.events() : s.listener !== null ? s.listener.events() : EV_HANGUP;
      if (s.error !== 0) ev |= EV_ERROR;
      return ev;
    }
    let ev = 0;
    if (s.queue!.count > 0 || s.shutRd || s.error !== 0) ev |= EV_READABLE;
    if (!s.shutWr) ev |= EV_WRITABLE;
    if (s.error !== 0) ev |= EV_ERROR;
    if (s.shutRd && s.shutWr) ev |= EV_HANGUP;
    return ev;
  }

  private enqueue(
    s: Sock,
    buf: Uint8Array,
    off: number,
    len: number,
    src: number,
    port: number,
    dst: number,
    ifIndex: number,
  ): void {
    if (!s.queue!.push(buf, off, len, src, port, dst, ifIndex)) {
      s.drops++;
      this.rxQueueDrops++;
      return;
    }
    this.markDirty(s);
  }

  private infoOf(s: Sock): SocketInfo {
    let state: string;
    let recvQ = 0;
    let sendQ = 0;
    let listenInfo: { synQueue: number; synCookiesSent: number } | null = null;
    if (s.conn !== null) {
      state = s.conn.state;
      const i = s.conn.info();
      recvQ = i.recvQueue;
      sendQ = i.sendQueue;
    } else if (s.listener !== null) {
      state = 'LISTEN';
      const i = s.listener.info();
      recvQ = i.pending;
      sendQ = s.listener.backlog;
      listenInfo = { synQueue: i.synQueue, synCookiesSent: i.synCookiesSent };
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
      local: `${formatIpv4(s.localAddr)}:${localPort}`,
      peer: s.connected
        ? `${formatIpv4(s.remoteAddr)}:${s.type === 'raw' ? '*' : s.remotePort}`
        : '0.0.0.0:*',
      recvQ,
      sendQ,
      interface: s.boundIf >= 0 ? this.env.interfaceName(s.boundIf) : null,
    };
    if (listenInfo !== null) {
      row.synQueue = listenInfo.synQueue;
      row.synCookiesSent = listenInfo.synCookiesSent;
    }
    return row;
  }

  private setBound(s: Sock, addr: number, port: number): void {
    s.localAddr = addr;
    s.localPort = port;
    s.bound = true;
    listAdd(s.type === 'dgram' ? this.udpPorts : this.streamPorts, port, s);
  }

  /**
   * Whether binding s to addr:port collides. Two sockets may share a port when their addresses
   * differ (neither a wildcard), when they are bound to different devices, or with SO_REUSEADDR on
   * both (UDP; TCP unless one listens).
   */
  private portTaken(s: Sock, addr: number, port: number, reuse: boolean): boolean {
    const list = (s.type === 'dgram' ? this.udpPorts : this.streamPorts).get(port);
    if (list !== undefined) {
      for (const t of list) {
        if (t === s) continue;
        if (t.localAddr !== 0 && addr !== 0 && t.localAddr !== addr) continue;
        if (s.boundIf >= 0 && t.boundIf >= 0 && s.boundIf !== t.boundIf) continue;
        if (reuse && t.reuseAddr && (s.type === 'dgram' || t.listener === null)) continue;
        return true;
      }
    }
    return s.type === 'stream' && this.tcp !== null && this.tcp.portInUse(addr, port, reuse);
  }

  /**
   * A free ephemeral port for s bound to addr. With a destination (connect) it is chosen by
   * RFC 6056 Algorithm 4 over (fromAddr, remoteAddr, remotePort), else from a random start
   * (ports.ts). TCP and UDP have a selector each, as they have a port space each.
   */
  private ephemeralPort(s: Sock, addr: number, fromAddr = 0, remoteAddr = 0, remotePort = 0): number {
    const sel = s.type === 'stream' && this.tcp !== null ? this.tcp.portSelector : this.udpPortSelector;
    if (remoteAddr !== 0) sel.begin(fromAddr, remoteAddr, remotePort);
    else sel.beginAny();
    for (let i = 0; i < EPHEMERAL_SPAN; i++) {
      const port = sel.candidate(i);
      if (!this.portTaken(s, addr, port, false)) {
        sel.commit(i);
        return port;
      }
    }
    return -EADDRINUSE;
  }

  /** Egress interface for a datagram from s to dst (multicast: IP_MULTICAST_IF first), or -errno. */
  private egressFor(s: Sock, dst: number, oif: number): number {
    if (oif >= 0) return this.env.route(dst, oif);
    if (isMulticastIpv4(dst) || dst === 0xffffffff) {
      if (isMulticastIpv4(dst) && s.mcastIf >= 0) return s.mcastIf;
      if (s.boundIf >= 0) return s.boundIf;
      return this.env.route(dst, -1);
    }
    return this.env.route(dst, s.boundIf);
  }

  private interfaceOf(value: OptionValue): number {
    if (typeof value === 'string') return this.env.interfaceIndex(value);
    if (typeof value === 'number') {
      // An address (struct in_addr, as IP_MULTICAST_IF takes) names the interface that has it.
      return value === 0 ? -1 : this.env.interfaceOfAddress(value >>> 0);
    }
    return -1;
  }

  private membership(s: Sock, add: boolean, value: OptionValue): number {
    if (s.type === 'stream') return -EOPNOTSUPP;
    if (typeof value !== 'object') return -EINVAL;
    const group = value.group >>> 0;
    if (!isMulticastIpv4(group)) return -EINVAL;
    // Only link-local groups (RFC 5771 §4): the VR speaks no IGMP, so routed groups cannot be joined.
    if (group >>> 8 !== 0xe00000) return -EOPNOTSUPP;
    const ifIndex =
      typeof value.interface === 'number'
        ? this.env.interfaceName(value.interface) === null
          ? -1
          : value.interface
        : this.env.interfaceIndex(value.interface);
    if (ifIndex < 0) return -ENODEV;
    const m = s.memberships;
    let at = -1;
    for (let i = 0; i < m.length; i += 2) if (m[i] === group && m[i + 1] === ifIndex) at = i;
    if (add) {
      if (at >= 0) return -EADDRINUSE;
      m.push(group, ifIndex);
      const k = groupKey(group, ifIndex);
      this.groupRefs.set(k, (this.groupRefs.get(k) ?? 0) + 1);
    } else {
      if (at < 0) return -EADDRNOTAVAIL;
      m.splice(at, 2);
      this.groupUnref(group, ifIndex);
    }
    return 0;
  }

  private groupUnref(group: number, ifIndex: number): void {
    const k = groupKey(group, ifIndex);
    const n = (this.groupRefs.get(k) ?? 1) - 1;
    if (n <= 0) this.groupRefs.delete(k);
    else this.groupRefs.set(k, n);
  }

  /** Whether the VR has joined group on ifIndex (some socket holds a membership). */
  joined(group: number, ifIndex: number): boolean {
    return group === ALL_HOSTS || this.groupRefs.has(groupKey(group, ifIndex));
  }

  private loopback(
    s: Sock,
    t: Uint8Array,
    ipOff: number,
    l4Len: number,
    src: number,
    dst: number,
    now: number,
  ): void {
    const l4Off = ipOff + IPV4_MIN_HEADER;
    let taken: boolean;
    if (s.type === 'dgram') taken = this.udpInput(-1, t, l4Off, l4Len, src, dst, false);
    else {
      writeLoopHeader(t, ipOff, l4Len, s.protocol, src, dst, s.ttl >= 0 ? s.ttl : this.env.defaultTtl);
      taken = this.rawInput(-1, t, ipOff, IPV4_MIN_HEADER + l4Len, s.protocol, src, dst);
    }
    // What the port unreachable would have told a connected socket.
    if (!taken && s.type === 'dgram' && s.connected) {
      s.error = ECONNREFUSED;
      this.markDirty(s);
    }
    void now;
  }

  /** IP_MULTICAST_LOOP: local members of the group on that interface get a copy (IP header in t). */
  private loopbackMulticast(
    t: Uint8Array,
    ipOff: number,
    l4Len: number,
    protocol: number,
    src: number,
    dst: number,
    ifIndex: number,
  ): void {
    if (protocol === IPPROTO_UDP) this.udpInput(ifIndex, t, ipOff + IPV4_MIN_HEADER, l4Len, src, dst, true);
    else this.rawInput(ifIndex, t, ipOff, IPV4_MIN_HEADER + l4Len, protocol, src, dst);
  }

  private streamConnect(s: Sock, addr: number, port: number, now: number): number {
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
    const ifIndex = local ? -1 : this.env.route(addr, s.boundIf);
    if (!local && ifIndex < 0) return ifIndex;
    let src = s.localAddr;
    if (src === 0) {
      src = local ? addr : this.env.sourceAddress(ifIndex, addr);
      if (src === 0) return -EADDRNOTAVAIL;
    }
    if (!s.bound) {
      const p = this.ephemeralPort(s, src, src, addr, port);
      if (p < 0) return p;
      this.setBound(s, 0, p);
    }
    const c = tcp.connect(src, s.localPort, addr, port, now);
    if (typeof c === 'number') return c;
    s.localAddr = src;
    s.remoteAddr = addr;
    s.remotePort = port;
    s.connected = true;
    this.attachConnection(s, c);
    return -EINPROGRESS;
  }

  private attachConnection(s: Sock, c: TcpConnection): void {
    s.conn = c;
    this.endpointSock.set(c, s);
    if (s.noDelay !== 0) c.setOption('TCP_NODELAY', 1);
    if (s.keepAlive !== 0) c.setOption('SO_KEEPALIVE', 1);
    c.setOption('TCP_KEEPIDLE', s.keepIdle);
    c.setOption('TCP_KEEPINTVL', s.keepIntvl);
    c.setOption('TCP_KEEPCNT', s.keepCnt);
    if (s.rcvBuf !== DEFAULT_BUF) c.setOption('SO_RCVBUF', s.rcvBuf);
    if (s.sndBuf !== DEFAULT_BUF) c.setOption('SO_SNDBUF', s.sndBuf);
    if (s.ttl >= 0) c.setOption('IP_TTL', s.ttl);
    if (s.tos !== 0) c.setOption('IP_TOS', s.tos);
  }

  private tcpOption(s: Sock, name: SocketOption, value: number, now: number): number {
    void now;
    if (s.conn === null) return 0;
    const r = s.conn.setOption(name, value);
    return r < 0 && r !== -ENOPROTOOPT ? r : 0;
  }
}

function groupKey(group: number, ifIndex: number): number {
  return (group & 0xfffffff) * 4096 + ifIndex;
}

function listAdd(map: Map<number, Sock[]>, key: number, s: Sock): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [s]);
  else list.push(s);
}

function listRemove(map: Map<number, Sock[]>, key: number, s: Sock): void {
  const list = map.get(key);
  if (list === undefined) return;
  const i = list.indexOf(s);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) map.delete(key);
}

/** The IP header a looped-back raw datagram is seen with (checksum left 0: it never hits a wire). */
function writeLoopHeader(
  t: Uint8Array,
  off: number,
  l4Len: number,
  protocol: number,
  src: number,
  dst: number,
  ttl: number,
): void {
  t[off] = 0x45;
  t[off + 1] = 0;
  t[off + 2] = ((IPV4_MIN_HEADER + l4Len) >>> 8) & 255;
  t[off + 3] = (IPV4_MIN_HEADER + l4Len) & 255;
  t[off + 4] = 0;
  t[off + 5] = 0;
  t[off + 6] = 0x40;
  t[off + 7] = 0;
  t[off + 8] = ttl;
  t[off + 9] = protocol;
  t[off + 10] = 0;
  t[off + 11] = 0;
  t[off + 12] = src >>> 24;
  t[off + 13] = (src >>> 16) & 255;
  t[off + 14] = (src >>> 8) & 255;
  t[off + 15] = src & 255;
  t[off + 16] = dst >>> 24;
  t[off + 17] = (dst >>> 16) & 255;
  t[off + 18] = (dst >>> 8) & 255;
  t[off + 19] = dst & 255;
}
