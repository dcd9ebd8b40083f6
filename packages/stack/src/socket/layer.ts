// The socket layer's API (SocketLayer): a BSD-shaped, non-blocking façade over the descriptors
// (fd-table.ts), UDP sockets (udp.ts), raw sockets (raw.ts), multicast membership (multicast.ts),
// socket options (options.ts) and the TCP engine's connections and listeners; here live the calls
// themselves, port binding, the datagram send path with its loopback, and readiness events.
import {
  copyBytes,
  ETH_HEADER_LEN,
  foldSum,
  ICMPV6_PACKET_TOO_BIG,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_MIN_HEADER,
  IPV6_HEADER_LEN,
  isMulticastIpv4,
  pseudoHeaderSumIpv6,
  rd16,
  rd32,
  sumWords,
  UDP_HEADER_LEN,
  wr16,
  writeIpv6Header,
  writeUdp,
  writeUdpPseudo,
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
  ENOTCONN,
  EOPNOTSUPP,
  EPIPE,
  EPROTONOSUPPORT,
} from '../sockapi/errno.ts';
import { icmpErrno, icmpv6Errno, icmpv6IsHard } from '../sockapi/icmp-errors.ts';
import { EPHEMERAL_FIRST, EPHEMERAL_LAST, EPHEMERAL_SPAN, PortSelector } from '../sockapi/ports.ts';
import type { RandomSource } from '../sockapi/random.ts';
import {
  RecvMeta,
  type ShutdownHow,
  type SocketInfo,
  type SocketOption,
  type SocketType,
} from '../sockapi/types.ts';
import { type TcpEngine, TcpListener } from '../tcp/index.ts';
import { FdTable } from './fd-table.ts';
import {
  addressesMeet,
  coversIpv4,
  coversIpv6,
  foldIpv6,
  formatEndpoint,
  isLinkScoped,
  isMulticastIpv6,
  isUnspecifiedIpv6,
  isV4MappedIpv6,
  mapIpv4,
  unmapIpv4,
} from './inet6.ts';
import type { Ip6Env, IpEnv } from './ip-env.ts';
import { Multicast } from './multicast.ts';
import { Multicast6 } from './multicast6.ts';
import { getOption, type OptionValue, setOption } from './options.ts';
import { RawSockets, writeLoopHeader } from './raw.ts';
import { RawSockets6 } from './raw6.ts';
import { type AnyTcpConnection, type Sock, type SockAddr, SockLists } from './sock.ts';
import { type SocketSink, UdpSockets } from './udp.ts';

export type { Membership, OptionValue } from './options.ts';
export { SockAddr } from './sock.ts';
export { EPHEMERAL_FIRST, EPHEMERAL_LAST };

/** Largest UDP payload: 65535 - 20 (IP) - 8 (UDP). */
export const UDP_MAX_PAYLOAD = 65507;
/** Over IPv6 the payload length excludes the IPv6 header (RFC 8200 §3): 65535 - 8 (UDP). */
const UDP6_MAX_PAYLOAD = 65527;
const RAW6_MAX_PAYLOAD = 65535;
const RAW_MAX_PAYLOAD = 65535 - IPV4_MIN_HEADER;

const MAX_SOCKETS = 65536;

const TX_HEADROOM = ETH_HEADER_LEN;

export interface SocketLayerOptions {
  /** The stack's random source (StackOptions.random or a SeededRandom of StackOptions.seed). */
  random: RandomSource;
  /** Most open fds (EMFILE beyond). */
  maxSockets?: number;
}

/**
 * The VR's sockets: a BSD-shaped, non-blocking API over UDP, raw IP and the TCP engine. Calls return
 * >= 0 on success and -errno on failure; readiness is pushed to `onSocketEvent`. Sans-IO: it is
 * driven by the Stack (input, ICMP errors, poll) and by its users' calls, with `now` passed in.
 */
export class SocketLayer implements SocketSink {
  /** Readiness may have changed on fd; `events` is its current EV_* mask. */
  onSocketEvent: ((fd: number, events: number) => void) | null = null;

  private readonly env: IpEnv;
  private tcp: TcpEngine | null = null;
  /** The IPv6 engine and network layer, once the stack has IPv6 (AF_INET6 sockets need both). */
  private tcp6: TcpEngine<Uint8Array> | null = null;
  private env6: Ip6Env | null = null;
  /** Ephemeral UDP ports (TCP's come from the engine's selector). */
  private readonly udpPortSelector: PortSelector;
  private readonly fds: FdTable;
  private readonly udp: UdpSockets;
  private readonly raw: RawSockets;
  private readonly raw6: RawSockets6;
  private readonly multicast6: Multicast6;
  private readonly multicast: Multicast;
  /** Bound stream sockets by local port (the engine keeps the connections themselves). */
  private readonly streamPorts = new SockLists();
  private readonly endpointSock = new Map<
    AnyTcpConnection | TcpListener<number> | TcpListener<Uint8Array>,
    Sock
  >();
  /** The addresses of the ICMPv6 error being handled (the engine copies what it keeps). */
  private readonly quoteSrc6 = new Uint8Array(16);
  private readonly quoteDst6 = new Uint8Array(16);
  private readonly dirty: Sock[] = [];
  private flushing = false;
  private readonly txBuf = new Uint8Array(TX_HEADROOM + 65535 + 64);
  private readonly scratchMeta = new RecvMeta();
  /** Datagrams refused because a socket's receive queue was full. */
  rxQueueDrops = 0;

  constructor(env: IpEnv, options: SocketLayerOptions) {
    this.env = env;
    this.udpPortSelector = new PortSelector(options.random);
    this.fds = new FdTable(options.maxSockets ?? MAX_SOCKETS);
    this.multicast = new Multicast(env);
    this.udp = new UdpSockets(this);
    this.raw = new RawSockets(this, this.multicast);
    this.raw6 = new RawSockets6(this);
    this.multicast6 = new Multicast6(env);
  }

  /** UDP datagrams no socket wanted. */
  get noPortDrops(): number {
    return this.udp.noPortDrops;
  }

  /** Stream sockets need the TCP engine; the Stack attaches it once it exists. */
  attachTcp(engine: TcpEngine): void {
    this.tcp = engine;
  }

  /** AF_INET6 stream sockets need the IPv6 engine and the IPv6 layer; the Stack attaches both. */
  attachTcp6(engine: TcpEngine<Uint8Array>, env6: Ip6Env): void {
    this.tcp6 = engine;
    this.env6 = env6;
    this.multicast6.env6 = env6;
  }

  // ---- the API -------------------------------------------------------------------------------

  /**
   * A new socket of `family` (4: AF_INET, 6: AF_INET6). An AF_INET6 raw socket of ICMPv6 has its
   * checksum at offset 2, always (RFC 3542 §3.1).
   */
  socket(type: SocketType, protocol = 0, family: 4 | 6 = 4): number {
    let proto = protocol;
    if (family === 6 && this.tcp6 === null) return -EAFNOSUPPORT;
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
    const s = this.fds.open(type, proto, family);
    if (s === null) return -EMFILE;
    if (type === 'raw' && family === 6) {
      this.raw6.protocols.add(proto, s);
      if (proto === IPPROTO_ICMPV6) s.checksumOffset = 2;
    } else if (type === 'raw') this.raw.protocols.add(proto, s);
    return s.fd;
  }

  bind(fd: number, addr: number, port: number): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (s.family !== 4) return -EAFNOSUPPORT;
    return this.bindInet(s, addr, port);
  }

  /**
   * bind(2) of an AF_INET6 socket. A v4-mapped address makes it an IPv4 socket (refused with
   * IPV6_V6ONLY, EINVAL as Linux); :: without IPV6_V6ONLY takes both families (RFC 3493 §5.3). A
   * link-local address needs its zone: `scopeId` (the VR's interface index + 1, as sin6_scope_id)
   * or SO_BINDTODEVICE, and must be that interface's (RFC 4007 §11).
   */
  bind6(fd: number, addr: Uint8Array, port: number, scopeId = 0): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (s.family !== 6) return -EAFNOSUPPORT;
    if (isV4MappedIpv6(addr)) {
      if (s.v6only || s.type === 'raw') return -EINVAL;
      if (s.bound || s.conn !== null) return -EINVAL;
      s.mapped = true;
      const r = this.bindInet(s, unmapIpv4(addr), port);
      if (r < 0) s.mapped = false;
      return r;
    }
    if (s.bound || s.conn !== null || s.listener !== null || s.listener6 !== null) return -EINVAL;
    if (port < 0 || port > 65535) return -EINVAL;
    const env6 = this.env6!;
    let scope = -1;
    if (isLinkScoped(addr)) {
      scope = this.zoneOf(s, scopeId, addr);
      if (scope < 0) return -EINVAL;
    }
    if (!isUnspecifiedIpv6(addr) && !isMulticastIpv6(addr, 0)) {
      const at = env6.interfaceOf(addr);
      if (at < 0 || (scope >= 0 && at !== scope)) return -EADDRNOTAVAIL;
    } else if (isMulticastIpv6(addr, 0) && s.type === 'stream') return -EADDRNOTAVAIL;
    // The port check looks at the address the socket is about to take.
    s.localAddr6.set(addr);
    if (s.type === 'raw') {
      s.bound = true;
      s.scope6 = scope;
      s.addrLocked = !isUnspecifiedIpv6(addr);
      return 0;
    }
    let p = port;
    if (p === 0) p = this.ephemeralPort(s, 0);
    else if (this.portTaken(s, 0, p, s.opt.reuseAddr)) p = -EADDRINUSE;
    if (p < 0) {
      s.localAddr6.fill(0);
      return p;
    }
    this.setBound(s, 0, p);
    s.scope6 = scope;
    s.addrLocked = !isUnspecifiedIpv6(addr);
    return 0;
  }

  /**
   * The interface a link-scoped address of s lives on (RFC 4007 §6): the call's scope id, else the
   * socket's zone, its multicast interface (for a group), its bound device; -1 when none names one.
   */
  private zoneOf(s: Sock, scopeId: number, addr: Uint8Array): number {
    if (scopeId > 0) return this.env.interfaceName(scopeId - 1) === null ? -1 : scopeId - 1;
    if (s.scope6 >= 0) return s.scope6;
    if (isMulticastIpv6(addr, 0) && s.opt.mcastIf >= 0) return s.opt.mcastIf;
    return s.opt.boundIf;
  }

  private bindInet(s: Sock, addr: number, port: number): number {
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
    } else if (this.portTaken(s, addr, p, s.opt.reuseAddr)) return -EADDRINUSE;
    this.setBound(s, addr, p);
    s.addrLocked = addr !== 0;
    return 0;
  }

  /** connect(2); (0, 0) on a datagram socket of either family is AF_UNSPEC: the association goes. */
  connect(fd: number, addr: number, port: number, now: number): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (s.family !== 4) {
      if (s.type === 'stream' || addr !== 0 || port !== 0) return -EAFNOSUPPORT;
      this.dissolve(s);
      return 0;
    }
    return this.connectInet(s, addr, port, now);
  }

  /**
   * connect(2) of an AF_INET6 socket: to a v4-mapped address it connects over IPv4 (ENETUNREACH
   * with IPV6_V6ONLY, as Linux), else over IPv6; a link-local peer with its zone (`scopeId`, or the
   * socket's, as bind6).
   */
  connect6(fd: number, addr: Uint8Array, port: number, now: number, scopeId = 0): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (s.family !== 6) return -EAFNOSUPPORT;
    if (isV4MappedIpv6(addr)) {
      if (s.v6only || s.type === 'raw') return -ENETUNREACH;
      // A socket bound to a specific IPv6 address cannot speak IPv4.
      if (!s.mapped && s.addrLocked) return -EAFNOSUPPORT;
      s.mapped = true;
      return this.connectInet(s, unmapIpv4(addr), port, now);
    }
    if (s.mapped) return -EAFNOSUPPORT;
    if (s.type === 'stream') return this.flushed(this.streamConnect6(s, addr, port, now, scopeId));
    if (isUnspecifiedIpv6(addr) || (s.type === 'dgram' && (port <= 0 || port > 65535))) return -EINVAL;
    const zone = isLinkScoped(addr) ? this.zoneOf(s, scopeId, addr) : -1;
    if (isLinkScoped(addr) && zone < 0) return -EINVAL;
    const src = this.source6(s, addr, zone);
    if (src === null) return -ENETUNREACH;
    if (s.type === 'dgram' && !s.bound) {
      const p = this.ephemeralPort(s, 0, foldIpv6(src), foldIpv6(addr), port);
      if (p < 0) return p;
      this.setBound(s, 0, p);
    }
    if (!s.addrLocked) s.localAddr6.set(src);
    if (zone >= 0) s.scope6 = zone;
    s.remoteAddr6.set(addr);
    s.remotePort = s.type === 'raw' ? 0 : port;
    s.connected = true;
    s.error = 0;
    return 0;
  }

  /** AF_UNSPEC connect of a datagram socket: back to unconnected (and to both families if it can). */
  private dissolve(s: Sock): void {
    s.connected = false;
    s.remoteAddr = 0;
    s.remotePort = 0;
    s.remoteAddr6.fill(0);
    if (!s.addrLocked) {
      s.localAddr = 0;
      s.localAddr6.fill(0);
      if (s.family === 6) s.mapped = false;
    }
  }

  /**
   * The source of an AF_INET6 socket's packet to dst: its bound address, else for a link-scoped
   * destination the link-local address of its zone (RFC 6724 §5 rule 2: the same scope), else
   * RFC 6724's choice by route; null when there is none.
   */
  private source6(s: Sock, dst: Uint8Array, zone: number): Uint8Array | null {
    if (!isUnspecifiedIpv6(s.localAddr6) && !isMulticastIpv6(s.localAddr6, 0)) return s.localAddr6;
    const env6 = this.env6!;
    if (zone >= 0) return env6.linkLocalOf(zone);
    if (isMulticastIpv6(dst, 0)) return null;
    const src = env6.sourceFor(dst);
    return isUnspecifiedIpv6(src) ? null : src;
  }

  private connectInet(s: Sock, addr: number, port: number, now: number): number {
    addr >>>= 0;
    if (s.type === 'stream') return this.flushed(this.streamConnect(s, addr, port, now));
    if (addr === 0 && port === 0) {
      // AF_UNSPEC: dissolve the association (connect(2)).
      this.dissolve(s);
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
    if (s.listener !== null || s.listener6 !== null) return 0;
    if (!s.bound) {
      const p = this.ephemeralPort(s, 0);
      if (p < 0) return p;
      this.setBound(s, 0, p);
    }
    const n = Math.max(1, Math.min(backlog, 4096));
    if (coversIpv6(s)) {
      const l6 = this.tcp6!.listen(s.localAddr6.slice(), s.localPort, n);
      if (typeof l6 === 'number') return l6;
      s.listener6 = l6;
      this.endpointSock.set(l6, s);
    }
    if (coversIpv4(s)) {
      const l = this.tcp.listen(s.localAddr, s.localPort, n);
      if (typeof l === 'number') {
        if (s.listener6 !== null) this.closeListeners(s, 0);
        return l;
      }
      s.listener = l;
      this.endpointSock.set(l, s);
    }
    return 0;
  }

  /** A connection ready on a listener as a new fd, -EAGAIN when none; its peer goes in `peer`. */
  accept(fd: number, now: number, peer?: SockAddr): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (s.listener === null && s.listener6 === null) return -EINVAL;
    if (s.error !== 0) return -s.takeError();
    // A dual-stack socket takes from its two queues in turn, so that neither family starves.
    let c: AnyTcpConnection | null = null;
    const v6First = s.acceptFromV6First;
    if (v6First) c = s.listener6?.accept(now) ?? s.listener?.accept(now) ?? null;
    else c = s.listener?.accept(now) ?? s.listener6?.accept(now) ?? null;
    if (c === null) return this.flushed(-EAGAIN);
    s.acceptFromV6First = !v6First;
    const nfd = this.socket('stream', 0, s.family);
    if (nfd < 0) {
      c.abort(now);
      return this.flushed(nfd);
    }
    const a = this.fds.get(nfd)!;
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
    this.attachConnection(a, c);
    if (peer !== undefined) this.fillAddress(a, a.remoteAddr, a.remoteAddr6, a.remotePort, peer);
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
    if (s.family === 6 && !s.mapped) return this.sendTo6(fd, buf, off, len, s.remoteAddr6, s.remotePort, now);
    return this.sendInet(s, buf, off, len, s.remoteAddr, s.remotePort, now, 0, -1);
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
    if (s.family !== 4) return -EAFNOSUPPORT;
    return this.sendInet(s, buf, off, len, addr, port, now, src, oif);
  }

  /**
   * Sends one datagram from an AF_INET6 socket: to a v4-mapped address over IPv4 (not with
   * IPV6_V6ONLY, nor from a socket bound to an IPv6 address), else over IPv6 (RFC 8200; UDP's
   * checksum over the IPv6 pseudo-header, RFC 8200 §8.1, never zero). A raw socket's data is the
   * upper-layer message, its checksum filled at the socket's offset (RFC 3542 §3.1). `src`, when
   * given, is the source of this datagram alone (IPV6_PKTINFO on sendmsg, RFC 3542 §6.1): one of the
   * VR's addresses. A link-scoped destination leaves by its zone (`scopeId`, as bind6); a group's
   * copy comes back to the VR's own members unless IPV6_MULTICAST_LOOP is 0.
   */
  sendTo6(
    fd: number,
    buf: Uint8Array,
    off: number,
    len: number,
    addr: Uint8Array,
    port: number,
    now: number,
    src: Uint8Array | null = null,
    scopeId = 0,
  ): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (s.type === 'stream') return this.send(fd, buf, off, len, now);
    if (s.family !== 6) return -EAFNOSUPPORT;
    if (isV4MappedIpv6(addr)) {
      if (s.v6only || s.type === 'raw') return -ENETUNREACH;
      if (!coversIpv4(s)) return -EAFNOSUPPORT;
      return this.sendInet(s, buf, off, len, unmapIpv4(addr), port, now, 0, -1);
    }
    if (s.mapped) return -EAFNOSUPPORT;
    if (s.error !== 0) return -s.takeError();
    if (s.shutWr) return -EPIPE;
    const isUdp = s.type === 'dgram';
    if (len > (isUdp ? UDP6_MAX_PAYLOAD : RAW6_MAX_PAYLOAD)) return -EMSGSIZE;
    if (isUnspecifiedIpv6(addr)) return -EDESTADDRREQ;
    if (isUdp && (port <= 0 || port > 65535)) return -EINVAL;
    const env6 = this.env6!;
    const multicast = isMulticastIpv6(addr, 0);
    let zone = -1;
    if (isLinkScoped(addr) || multicast) {
      zone = this.zoneOf(s, scopeId, addr);
      if (zone < 0) return multicast ? -ENETUNREACH : -EINVAL;
    }
    let from: Uint8Array | null;
    if (src !== null && !isUnspecifiedIpv6(src)) {
      if (!env6.isLocalAddress(src)) return -EADDRNOTAVAIL;
      from = src;
    } else from = this.source6(s, addr, zone);
    if (from === null) return -ENETUNREACH;
    if (isUdp && !s.bound) {
      const p = this.ephemeralPort(s, 0);
      if (p < 0) return p;
      this.setBound(s, 0, p);
    }
    const t = this.txBuf;
    const ipOff = TX_HEADROOM;
    const l4Off = ipOff + IPV6_HEADER_LEN;
    const protocol = s.protocol;
    const pseudo = pseudoHeaderSumIpv6(from, 0, addr, 0, protocol, 0);
    let l4Len: number;
    if (isUdp) {
      copyBytes(buf, off, t, l4Off + UDP_HEADER_LEN, len);
      l4Len = writeUdpPseudo(t, l4Off, s.localPort, port, len, pseudo);
    } else {
      copyBytes(buf, off, t, l4Off, len);
      l4Len = len;
      const c = s.checksumOffset;
      if (c >= 0) {
        if (c + 2 > len) return -EINVAL;
        wr16(t, l4Off + c, 0);
        wr16(t, l4Off + c, ~foldSum(sumWords(t, l4Off, len, pseudo + len)) & 0xffff);
      }
    }
    const o = s.opt;
    const hops = multicast ? o.mcastTtl : o.ttl >= 0 ? o.ttl : env6.defaultHopLimit;
    writeIpv6Header(t, ipOff, o.tos, 0, l4Len, protocol, hops, from, 0, addr, 0);
    if (!multicast && env6.isLocalAddress(addr)) {
      // To one of the VR's own addresses: straight back up, as the loopback device would.
      const taken = isUdp
        ? this.udp.input6(-1, t, l4Off, l4Len, ipOff + 8, ipOff + 24, false)
        : this.raw6.input(-1, t, l4Off, l4Len, protocol, ipOff + 8, ipOff + 24, false, pseudo);
      if (!taken && isUdp && s.connected) {
        s.error = ECONNREFUSED;
        this.markDirty(s);
      }
      return this.flushed(len);
    }
    const r = env6.send(
      t,
      ipOff,
      l4Len,
      protocol,
      from,
      addr,
      o.tos,
      hops,
      zone >= 0 ? zone : o.boundIf,
      now,
    );
    if (r < 0) return r;
    if (multicast && o.mcastLoop) {
      // IPV6_MULTICAST_LOOP (RFC 3493 §5.2): the VR's own members on that interface get a copy.
      // The frame was sent from t, whose IPv6 header is intact.
      if (isUdp) this.udp.input6(zone, t, l4Off, l4Len, ipOff + 8, ipOff + 24, true);
      else this.raw6.input(zone, t, l4Off, l4Len, protocol, ipOff + 8, ipOff + 24, true, pseudo);
    }
    return this.flushed(len);
  }

  private sendInet(
    s: Sock,
    buf: Uint8Array,
    off: number,
    len: number,
    addr: number,
    port: number,
    now: number,
    src: number,
    oif: number,
  ): number {
    if (s.error !== 0) return -s.takeError();
    if (s.shutWr) return -EPIPE;
    addr >>>= 0;
    src >>>= 0;
    const isUdp = s.type === 'dgram';
    if (len > (isUdp ? UDP_MAX_PAYLOAD : RAW_MAX_PAYLOAD)) return -EMSGSIZE;
    if (addr === 0) return -EDESTADDRREQ;
    if (isUdp && (port <= 0 || port > 65535)) return -EINVAL;
    const multicast = isMulticastIpv4(addr);
    const broadcast = addr === 0xffffffff || this.env.isSubnetBroadcast(addr);
    if (broadcast && !s.opt.broadcast) return -EACCES;
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
      this.loopback(s, t, ipOff, l4Len, from, addr);
      return this.flushed(len);
    }
    const o = s.opt;
    const ttl = multicast ? o.mcastTtl : o.ttl >= 0 ? o.ttl : this.env.defaultTtl;
    const forcedIf = multicast || broadcast ? ifIndex : oif >= 0 ? oif : o.boundIf;
    const r = this.env.output(t, ipOff, l4Len, s.protocol, from, addr, o.tos, ttl, false, forcedIf, now);
    if (r < 0) return r;
    if (multicast && o.mcastLoop) this.loopbackMulticast(t, ipOff, l4Len, s.protocol, from, addr, ifIndex);
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
    if (s.error !== 0) return -s.takeError();
    const n = s.queue!.shift(buf, off, len, meta);
    if (n < 0) return s.shutRd ? 0 : -EAGAIN;
    if (s.family === 6 && meta.family === 4) {
      // An IPv4 datagram on a dual-stack socket: its addresses as v4-mapped ones.
      mapIpv4(meta.addr, meta.addr6);
      mapIpv4(meta.dst, meta.dst6);
      meta.family = 6;
    }
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
    this.fds.free(fd);
    if (s.conn !== null) {
      this.endpointSock.delete(s.conn);
      s.conn.close(now);
    }
    this.closeListeners(s, now);
    if (s.bound && s.type !== 'raw') this.portsOf(s).remove(s.localPort, s);
    if (s.type === 'raw') (s.family === 6 ? this.raw6 : this.raw).protocols.remove(s.protocol, s);
    this.multicast.leaveAll(s);
    this.multicast6.leaveAll(s);
    s.queue?.clear();
    return this.flushed(0);
  }

  /** setsockopt(2); `now` is unused (options take effect on the next segment or timer). */
  setOption(fd: number, name: SocketOption, value: OptionValue, _now = 0): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    return setOption(s, name, value, this.env, this.multicast, this.multicast6);
  }

  /** Option value; SO_ERROR takes the pending error (positive errno, 0 when none). */
  getOption(fd: number, name: SocketOption): number {
    const s = this.sock(fd);
    return s === null ? -EBADF : getOption(s, name, this.env);
  }

  localAddress(fd: number, out: SockAddr): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    this.fillAddress(s, s.localAddr, s.localAddr6, s.type === 'raw' ? 0 : s.localPort, out);
    return 0;
  }

  peerAddress(fd: number, out: SockAddr): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (!s.connected) return -ENOTCONN;
    this.fillAddress(s, s.remoteAddr, s.remoteAddr6, s.remotePort, out);
    return 0;
  }

  /** An endpoint of s in its family's form: AF_INET6 sockets that talk IPv4 give v4-mapped addresses. */
  private fillAddress(s: Sock, a4: number, a6: Uint8Array, port: number, out: SockAddr): void {
    out.family = s.family;
    out.port = port;
    out.addr = a4;
    out.scopeId = 0;
    if (s.family === 4) return;
    if (s.mapped) mapIpv4(a4, out.addr6);
    else out.addr6.set(a6);
    if (s.scope6 >= 0 && isLinkScoped(out.addr6)) out.scopeId = s.scope6 + 1;
  }

  /** Current EV_* mask of fd, 0 for an fd that is not open. */
  events(fd: number): number {
    const s = this.sock(fd);
    return s === null ? 0 : s.events();
  }

  /** Open fds. */
  get size(): number {
    return this.fds.size;
  }

  /** Every socket, and TCP connections no fd owns any more (closing, TIME-WAIT), like `ss -a`. */
  list(): SocketInfo[] {
    const rows: SocketInfo[] = [];
    for (const s of this.fds) rows.push(this.infoOf(s));
    if (this.tcp !== null) for (const e of this.tcp.endpoints()) this.orphanRow(e, rows);
    if (this.tcp6 !== null) for (const e of this.tcp6.endpoints()) this.orphanRow(e, rows);
    return rows;
  }

  /** A row for a connection or listener no fd owns (closing, TIME-WAIT). */
  private orphanRow(
    e: AnyTcpConnection | TcpListener<number> | TcpListener<Uint8Array>,
    rows: SocketInfo[],
  ): void {
    if (this.endpointSock.has(e)) return;
    const l = e instanceof TcpListener;
    const v6 = typeof e.localAddr !== 'number';
    const at = (a: number | Uint8Array, port: string): string =>
      typeof a === 'number'
        ? formatEndpoint(4, a, this.quoteSrc6, false, port)
        : formatEndpoint(6, 0, a, false, port);
    const row: SocketInfo = {
      fd: -1,
      type: 'stream',
      protocol: IPPROTO_TCP,
      state: l ? 'LISTEN' : e.state,
      local: at(e.localAddr, String(e.localPort)),
      peer: l ? (v6 ? '[::]:*' : '0.0.0.0:*') : at(e.remoteAddr, String(e.remotePort)),
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

  /** Counters for `show counters`. */
  counters(): Record<string, number> {
    return {
      sockets_open: this.size,
      udp_rx_queue_full: this.rxQueueDrops,
      udp_no_port: this.udp.noPortDrops,
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
    return this.udp.input(ifIndex, buf, udpOff, udpLen, src, dst, broadcast);
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
    return this.raw.input(ifIndex, buf, ipOff, ipLen, protocol, src, dst);
  }

  /** Whether any raw AF_INET6 socket takes Next Header `protocol`. */
  hasRaw6(protocol: number): boolean {
    return this.raw6.has(protocol);
  }

  /**
   * A copy of an IPv6 packet's upper-layer message (RFC 3542 §3: without the IPv6 header) for the
   * raw AF_INET6 sockets of `protocol`, from the address at buf[srcOff..] to the one at
   * buf[dstOff..]. Returns whether any socket took it.
   */
  rawInput6(
    ifIndex: number,
    buf: Uint8Array,
    off: number,
    len: number,
    protocol: number,
    srcOff: number,
    dstOff: number,
    multicast: boolean,
  ): boolean {
    const pseudo = pseudoHeaderSumIpv6(buf, srcOff, buf, dstOff, protocol, 0);
    const taken = this.raw6.input(ifIndex, buf, off, len, protocol, srcOff, dstOff, multicast, pseudo);
    this.flushEvents();
    return taken;
  }

  /** Whether any raw socket listens for `protocol` (the stack then skips protocol unreachable). */
  hasRaw(protocol: number): boolean {
    return this.raw.has(protocol);
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
    this.udp.icmpError(errno, qsrc, rd16(quote, qOff + hl), qdst, rd16(quote, qOff + hl + 2));
  }

  /**
   * An ICMPv6 error quoting one of our packets (RFC 4443 §2.4 (a)): the quote is the IPv6 header
   * and what followed it. Our segments carry no extension headers, so a quote whose Next Header is
   * not TCP is none of TCP's. Packet Too Big is path MTU information (RFC 8201 §4).
   */
  icmpv6Error(
    type: number,
    code: number,
    restOfHeader: number,
    quote: Uint8Array,
    qOff: number,
    qLen: number,
    now: number,
  ): void {
    const tcp6 = this.tcp6;
    if (tcp6 === null || qLen < 40 + 8) return;
    if (quote[qOff + 6] === IPPROTO_UDP) {
      const errno = type === ICMPV6_PACKET_TOO_BIG ? 0 : icmpv6Errno(type, code);
      const sport = rd16(quote, qOff + 40);
      if (errno !== 0) this.udp.icmpError6(errno, quote, qOff + 8, sport, qOff + 24, rd16(quote, qOff + 42));
      this.flushEvents();
      return;
    }
    if (quote[qOff + 6] !== IPPROTO_TCP) return;
    const src = this.quoteSrc6;
    const dst = this.quoteDst6;
    copyBytes(quote, qOff + 8, src, 0, 16);
    copyBytes(quote, qOff + 24, dst, 0, 16);
    const sport = rd16(quote, qOff + 40);
    const dport = rd16(quote, qOff + 42);
    const seq = rd32(quote, qOff + 44);
    if (type === ICMPV6_PACKET_TOO_BIG)
      tcp6.packetTooBig(src, sport, dst, dport, seq, restOfHeader >>> 0, now);
    else {
      const errno = icmpv6Errno(type, code);
      if (errno !== 0) tcp6.transportError(src, sport, dst, dport, seq, errno, icmpv6IsHard(type, code), now);
    }
    this.flushEvents();
  }

  /** Called by the TCP engine's env when a connection's or listener's readiness may have changed. */
  tcpNotify(endpoint: AnyTcpConnection | TcpListener<number> | TcpListener<Uint8Array>): void {
    const s = this.endpointSock.get(endpoint);
    if (s !== undefined) this.markDirty(s);
  }

  /** Runs due TCP timers; returns the next deadline. */
  poll(now: number): number {
    let next = this.tcp === null ? Number.POSITIVE_INFINITY : this.tcp.poll(now);
    if (this.tcp6 !== null) next = Math.min(next, this.tcp6.poll(now));
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
        if (s.open && this.onSocketEvent !== null) this.onSocketEvent(s.fd, s.events());
      }
      d.length = 0;
    } finally {
      this.flushing = false;
    }
  }

  // ---- internals -----------------------------------------------------------------------------

  private sock(fd: number): Sock | null {
    return this.fds.get(fd);
  }

  private flushed(result: number): number {
    if (this.dirty.length > 0) this.flushEvents();
    return result;
  }

  /** SocketSink: readiness of s may have changed; its event goes out at the next flush. */
  markDirty(s: Sock): void {
    if (s.dirty) return;
    s.dirty = true;
    this.dirty.push(s);
  }

  /** SocketSink: an IPv6 datagram for s's receive queue (dropped and counted when it is full). */
  enqueue6(
    s: Sock,
    buf: Uint8Array,
    off: number,
    len: number,
    addrs: Uint8Array,
    srcOff: number,
    port: number,
    dstOff: number,
    ifIndex: number,
  ): void {
    if (!s.queue!.push6(buf, off, len, addrs, srcOff, port, dstOff, ifIndex)) {
      this.rxQueueDrops++;
      return;
    }
    this.markDirty(s);
  }

  /**
   * An IPv6 UDP datagram (checksum verified) for the VR, from the address at buf[srcOff..] to the
   * one at buf[dstOff..]. Returns whether any socket took it (false: port unreachable).
   */
  udpInput6(
    ifIndex: number,
    buf: Uint8Array,
    udpOff: number,
    udpLen: number,
    srcOff: number,
    dstOff: number,
    multicast: boolean,
  ): boolean {
    const taken = this.udp.input6(ifIndex, buf, udpOff, udpLen, srcOff, dstOff, multicast);
    this.flushEvents();
    return taken;
  }

  /** SocketSink: a datagram for s's receive queue (dropped and counted when it is full). */
  enqueue(
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
      interface: s.opt.boundIf >= 0 ? this.env.interfaceName(s.opt.boundIf) : null,
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
    this.portsOf(s).add(port, s);
  }

  private portsOf(s: Sock): SockLists {
    return s.type === 'dgram' ? this.udp.ports : this.streamPorts;
  }

  /**
   * Whether binding s to addr:port collides. Two sockets may share a port when their addresses
   * differ (neither a wildcard), when they are bound to different devices, or with SO_REUSEADDR on
   * both (UDP; TCP unless one listens).
   */
  private portTaken(s: Sock, addr: number, port: number, reuse: boolean): boolean {
    const list = this.portsOf(s).get(port);
    if (list !== undefined) {
      const boundIf = s.opt.boundIf;
      for (const t of list) {
        if (t === s) continue;
        if (!addressesMeet(s, addr, s.localAddr6, t)) continue;
        if (boundIf >= 0 && t.opt.boundIf >= 0 && boundIf !== t.opt.boundIf) continue;
        const listening = t.listener !== null || t.listener6 !== null;
        if (reuse && t.opt.reuseAddr && (s.type === 'dgram' || !listening)) continue;
        return true;
      }
    }
    if (s.type !== 'stream') return false;
    if (coversIpv4(s) && this.tcp?.portInUse(addr, port, reuse)) return true;
    return coversIpv6(s) && this.tcp6?.portInUse(s.localAddr6, port, reuse) === true;
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
    const o = s.opt;
    if (oif >= 0) return this.env.route(dst, oif);
    if (isMulticastIpv4(dst) || dst === 0xffffffff) {
      if (isMulticastIpv4(dst) && o.mcastIf >= 0) return o.mcastIf;
      if (o.boundIf >= 0) return o.boundIf;
      return this.env.route(dst, -1);
    }
    return this.env.route(dst, o.boundIf);
  }

  /** Whether the VR has joined group on ifIndex (some socket holds a membership). */
  joined(group: number, ifIndex: number): boolean {
    return this.multicast.joined(group, ifIndex);
  }

  private loopback(s: Sock, t: Uint8Array, ipOff: number, l4Len: number, src: number, dst: number): void {
    const l4Off = ipOff + IPV4_MIN_HEADER;
    let taken: boolean;
    if (s.type === 'dgram') taken = this.udp.input(-1, t, l4Off, l4Len, src, dst, false);
    else {
      const ttl = s.opt.ttl >= 0 ? s.opt.ttl : this.env.defaultTtl;
      writeLoopHeader(t, ipOff, l4Len, s.protocol, src, dst, ttl);
      taken = this.raw.input(-1, t, ipOff, IPV4_MIN_HEADER + l4Len, s.protocol, src, dst);
    }
    // What the port unreachable would have told a connected socket.
    if (!taken && s.type === 'dgram' && s.connected) {
      s.error = ECONNREFUSED;
      this.markDirty(s);
    }
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
    if (protocol === IPPROTO_UDP) this.udp.input(ifIndex, t, ipOff + IPV4_MIN_HEADER, l4Len, src, dst, true);
    else this.raw.input(ifIndex, t, ipOff, IPV4_MIN_HEADER + l4Len, protocol, src, dst);
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
    const ifIndex = local ? -1 : this.env.route(addr, s.opt.boundIf);
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

  private streamConnect6(s: Sock, addr: Uint8Array, port: number, now: number, scopeId: number): number {
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
    const zone = isLinkScoped(addr) ? this.zoneOf(s, scopeId, addr) : -1;
    if (isLinkScoped(addr) && zone < 0) return -EINVAL;
    const src = isUnspecifiedIpv6(s.localAddr6)
      ? zone >= 0
        ? env6.linkLocalOf(zone)
        : env6.sourceFor(addr)
      : s.localAddr6;
    if (src === null || isUnspecifiedIpv6(src)) return zone >= 0 ? -EADDRNOTAVAIL : -ENETUNREACH;
    if (zone >= 0) s.scope6 = zone;
    if (!s.bound) {
      const p = this.ephemeralPort(s, 0, foldIpv6(src), foldIpv6(addr), port);
      if (p < 0) return p;
      this.setBound(s, 0, p);
    }
    const c = tcp6.connect(src.slice(), s.localPort, addr.slice(), port, now);
    if (typeof c === 'number') return c;
    s.localAddr6.set(src);
    s.remoteAddr6.set(addr);
    s.remotePort = port;
    s.connected = true;
    this.attachConnection(s, c);
    return -EINPROGRESS;
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
