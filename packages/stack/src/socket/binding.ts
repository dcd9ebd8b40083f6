// Binding sockets to addresses and ports: the port tables of both transports (UDP's is the demux
// table of udp.ts), the port-sharing rule across the two families, ephemeral ports, and the address
// and zone checks of bind(2) for AF_INET and AF_INET6 sockets.
import { isMulticastIpv4 } from '@nexthop/wire';
import { EADDRINUSE, EADDRNOTAVAIL, EINVAL } from '../sockapi/errno.ts';
import { EPHEMERAL_SPAN, PortSelector } from '../sockapi/ports.ts';
import type { RandomSource } from '../sockapi/random.ts';
import type { TcpEngine } from '../tcp/index.ts';
import {
  addressesMeet,
  coversIpv4,
  coversIpv6,
  isLinkScoped,
  isMulticastIpv6,
  isUnspecifiedIpv6,
  isV4MappedIpv6,
  unmapIpv4,
} from './inet6.ts';
import type { Ip6Env, IpEnv } from './ip-env.ts';
import { type Sock, SockLists } from './sock.ts';

export class Binding {
  /** The engines whose connections hold ports too (attached by the socket layer once they exist). */
  tcp: TcpEngine | null = null;
  tcp6: TcpEngine<Uint8Array> | null = null;
  env6: Ip6Env | null = null;
  private readonly env: IpEnv;
  /** Bound UDP sockets by local port: UdpSockets' demux table. */
  private readonly udpPorts: SockLists;
  /** Bound stream sockets by local port (the engine keeps the connections themselves). */
  private readonly streamPorts = new SockLists();
  /** Ephemeral UDP ports (TCP's come from the engine's selector). */
  private readonly udpPortSelector: PortSelector;

  constructor(env: IpEnv, udpPorts: SockLists, random: RandomSource) {
    this.env = env;
    this.udpPorts = udpPorts;
    this.udpPortSelector = new PortSelector(random);
  }

  /** bind(2) of s to an IPv4 address (an AF_INET socket, or an AF_INET6 one taking a v4-mapped address). */
  bindInet(s: Sock, addr: number, port: number): number {
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

  /** bind(2) of an AF_INET6 socket s (SocketLayer.bind6 says how). */
  bind6(s: Sock, addr: Uint8Array, port: number, scopeId: number): number {
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
  zoneOf(s: Sock, scopeId: number, addr: Uint8Array): number {
    if (scopeId > 0) return this.env.interfaceName(scopeId - 1) === null ? -1 : scopeId - 1;
    if (s.scope6 >= 0) return s.scope6;
    if (isMulticastIpv6(addr, 0) && s.opt.mcastIf >= 0) return s.opt.mcastIf;
    return s.opt.boundIf;
  }

  /** s takes addr:port (its port table entry; the caller checked the port is free). */
  setBound(s: Sock, addr: number, port: number): void {
    s.localAddr = addr;
    s.localPort = port;
    s.bound = true;
    this.portsOf(s).add(port, s);
  }

  /** A closed socket gives its port back. */
  release(s: Sock): void {
    if (s.bound && s.type !== 'raw') this.portsOf(s).remove(s.localPort, s);
  }

  private portsOf(s: Sock): SockLists {
    return s.type === 'dgram' ? this.udpPorts : this.streamPorts;
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
  ephemeralPort(s: Sock, addr: number, fromAddr = 0, remoteAddr = 0, remotePort = 0): number {
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
}
