// The datagram sockets' (UDP, raw) way out: connect's association and the send path of both
// families — source and egress choice (IPv6 zones included), the headers built in one transmit
// buffer, datagrams to the VR's own addresses looped back up, and the multicast loopback copy.
// Success returns the length sent; the socket layer then delivers the readiness events queued.
import {
  copyBytes,
  ETH_HEADER_LEN,
  foldSum,
  IPPROTO_UDP,
  IPV4_MIN_HEADER,
  IPV6_HEADER_LEN,
  isMulticastIpv4,
  pseudoHeaderSumIpv6,
  sumWords,
  UDP_HEADER_LEN,
  wr16,
  writeIpv6Header,
  writeUdp,
  writeUdpPseudo,
} from '@nexthop/wire';
import {
  EACCES,
  EADDRNOTAVAIL,
  EAFNOSUPPORT,
  ECONNREFUSED,
  EDESTADDRREQ,
  EINVAL,
  EMSGSIZE,
  ENETUNREACH,
  EPIPE,
} from '../sockapi/errno.ts';
import type { Binding } from './binding.ts';
import {
  coversIpv4,
  foldIpv6,
  isLinkScoped,
  isMulticastIpv6,
  isUnspecifiedIpv6,
  isV4MappedIpv6,
  unmapIpv4,
} from './inet6.ts';
import type { Ip6Env, IpEnv } from './ip-env.ts';
import { type RawSockets, writeLoopHeader } from './raw.ts';
import type { RawSockets6 } from './raw6.ts';
import type { Sock } from './sock.ts';
import type { SocketSink, UdpSockets } from './udp.ts';

/** Largest UDP payload: 65535 - 20 (IP) - 8 (UDP). */
export const UDP_MAX_PAYLOAD = 65507;
/** Over IPv6 the payload length excludes the IPv6 header (RFC 8200 §3): 65535 - 8 (UDP). */
const UDP6_MAX_PAYLOAD = 65527;
const RAW6_MAX_PAYLOAD = 65535;
const RAW_MAX_PAYLOAD = 65535 - IPV4_MIN_HEADER;

const TX_HEADROOM = ETH_HEADER_LEN;

export class DatagramPath {
  /** The IPv6 layer, once the stack has IPv6. */
  env6: Ip6Env | null = null;
  private readonly env: IpEnv;
  private readonly binding: Binding;
  private readonly sink: SocketSink;
  private readonly udp: UdpSockets;
  private readonly raw: RawSockets;
  private readonly raw6: RawSockets6;
  private readonly txBuf = new Uint8Array(TX_HEADROOM + 65535 + 64);

  constructor(
    env: IpEnv,
    binding: Binding,
    sink: SocketSink,
    udp: UdpSockets,
    raw: RawSockets,
    raw6: RawSockets6,
  ) {
    this.env = env;
    this.binding = binding;
    this.sink = sink;
    this.udp = udp;
    this.raw = raw;
    this.raw6 = raw6;
  }

  /** connect(2) of a datagram socket to an IPv4 peer; (0, 0) is AF_UNSPEC. */
  connect(s: Sock, addr: number, port: number): number {
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
      const p = this.binding.ephemeralPort(s, 0, src !== 0 ? src : s.localAddr, addr, port);
      if (p < 0) return p;
      this.binding.setBound(s, 0, p);
    }
    if (src !== 0) s.localAddr = src;
    s.remoteAddr = addr;
    s.remotePort = s.type === 'raw' ? 0 : port;
    s.connected = true;
    s.error = 0;
    return 0;
  }

  /** connect(2) of an AF_INET6 datagram socket to an IPv6 peer (a link-local one with its zone). */
  connect6(s: Sock, addr: Uint8Array, port: number, scopeId: number): number {
    if (isUnspecifiedIpv6(addr) || (s.type === 'dgram' && (port <= 0 || port > 65535))) return -EINVAL;
    const zone = isLinkScoped(addr) ? this.binding.zoneOf(s, scopeId, addr) : -1;
    if (isLinkScoped(addr) && zone < 0) return -EINVAL;
    const src = this.source6(s, addr, zone);
    if (src === null) return -ENETUNREACH;
    if (s.type === 'dgram' && !s.bound) {
      const p = this.binding.ephemeralPort(s, 0, foldIpv6(src), foldIpv6(addr), port);
      if (p < 0) return p;
      this.binding.setBound(s, 0, p);
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
  dissolve(s: Sock): void {
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

  /** One datagram from s over IPv4 (SocketLayer.sendTo says how); the length sent or -errno. */
  send(
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
      const p = this.binding.ephemeralPort(s, 0);
      if (p < 0) return p;
      this.binding.setBound(s, 0, p);
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
      return len;
    }
    const o = s.opt;
    const ttl = multicast ? o.mcastTtl : o.ttl >= 0 ? o.ttl : this.env.defaultTtl;
    const forcedIf = multicast || broadcast ? ifIndex : oif >= 0 ? oif : o.boundIf;
    const r = this.env.output(t, ipOff, l4Len, s.protocol, from, addr, o.tos, ttl, false, forcedIf, now);
    if (r < 0) return r;
    if (multicast && o.mcastLoop) this.loopbackMulticast(t, ipOff, l4Len, s.protocol, from, addr, ifIndex);
    return len;
  }

  /** One datagram from AF_INET6 s (SocketLayer.sendTo6 says how); the length sent or -errno. */
  send6(
    s: Sock,
    buf: Uint8Array,
    off: number,
    len: number,
    addr: Uint8Array,
    port: number,
    now: number,
    src: Uint8Array | null,
    scopeId: number,
  ): number {
    if (isV4MappedIpv6(addr)) {
      if (s.v6only || s.type === 'raw') return -ENETUNREACH;
      if (!coversIpv4(s)) return -EAFNOSUPPORT;
      return this.send(s, buf, off, len, unmapIpv4(addr), port, now, 0, -1);
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
      zone = this.binding.zoneOf(s, scopeId, addr);
      if (zone < 0) return multicast ? -ENETUNREACH : -EINVAL;
    }
    let from: Uint8Array | null;
    if (src !== null && !isUnspecifiedIpv6(src)) {
      if (!env6.isLocalAddress(src)) return -EADDRNOTAVAIL;
      from = src;
    } else from = this.source6(s, addr, zone);
    if (from === null) return -ENETUNREACH;
    if (isUdp && !s.bound) {
      const p = this.binding.ephemeralPort(s, 0);
      if (p < 0) return p;
      this.binding.setBound(s, 0, p);
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
        this.sink.markDirty(s);
      }
      return len;
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
    return len;
  }

  /**
   * The source of an AF_INET6 socket's packet to dst: its bound address, else for a link-scoped
   * destination the link-local address of its zone (RFC 6724 §5 rule 2: the same scope), else
   * RFC 6724's choice by route (to one of the VR's own addresses: that address, as the loopback
   * interface would give); null when there is none.
   */
  private source6(s: Sock, dst: Uint8Array, zone: number): Uint8Array | null {
    if (!isUnspecifiedIpv6(s.localAddr6) && !isMulticastIpv6(s.localAddr6, 0)) return s.localAddr6;
    const env6 = this.env6!;
    if (zone >= 0) return env6.linkLocalOf(zone);
    if (isMulticastIpv6(dst, 0)) return null;
    if (env6.isLocalAddress(dst)) return dst;
    const src = env6.sourceFor(dst);
    return isUnspecifiedIpv6(src) ? null : src;
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
      this.sink.markDirty(s);
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
}
