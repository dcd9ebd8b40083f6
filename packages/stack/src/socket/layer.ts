// The socket layer's API (SocketLayer): a BSD-shaped, non-blocking façade whose calls check the
// descriptor and its family and hand the work to the parts core.ts wires together — port binding
// (binding.ts), stream sockets over the TCP engines (stream.ts), the datagram path (datagram.ts),
// receive queues (dgram-queue.ts), options (options.ts) — delivering the readiness events a call
// queued before it returns. The side the Stack drives (input, ICMP errors, timers) is SocketCore's.
import { IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '@nexthop/wire';
import {
  EAFNOSUPPORT,
  EAGAIN,
  EBADF,
  EDESTADDRREQ,
  EINVAL,
  EMFILE,
  ENETUNREACH,
  ENOPROTOOPT,
  ENOTCONN,
  EOPNOTSUPP,
  EPROTONOSUPPORT,
} from '../sockapi/errno.ts';
import { EPHEMERAL_FIRST, EPHEMERAL_LAST } from '../sockapi/ports.ts';
import type {
  RecvMeta,
  ShutdownHow,
  SocketInfo,
  SocketOption,
  SocketType,
  TcpMd5Peer,
} from '../sockapi/types.ts';
import { TCP_MD5_MAX_KEY, type TcpEngine } from '../tcp/index.ts';
import { SocketCore } from './core.ts';
import { isV4MappedIpv6, mapIpv4, unmapIpv4 } from './inet6.ts';
import { socketRow } from './info.ts';
import { getOption, type OptionValue, setOption } from './options.ts';
import { fillSockAddr, type Sock, type SockAddr } from './sock.ts';

export type { TcpMd5Peer } from '../sockapi/types.ts';
export type { SocketLayerOptions } from './core.ts';
export { UDP_MAX_PAYLOAD } from './datagram.ts';
export type { Membership, OptionValue } from './options.ts';
export { SockAddr } from './sock.ts';
export { EPHEMERAL_FIRST, EPHEMERAL_LAST };

/**
 * The VR's sockets: a BSD-shaped, non-blocking API over UDP, raw IP and the TCP engine. Calls return
 * >= 0 on success and -errno on failure; readiness is pushed to `onSocketEvent`. Sans-IO: it is
 * driven by the Stack (input, ICMP errors, poll: SocketCore's entry points) and by its users'
 * calls, with `now` passed in.
 */
export class SocketLayer extends SocketCore {
  /**
   * A new socket of `family` (4: AF_INET, 6: AF_INET6). An AF_INET6 raw socket of ICMPv6 has its
   * checksum at offset 2, always (RFC 3542 §3.1).
   */
  socket(type: SocketType, protocol = 0, family: 4 | 6 = 4): number {
    let proto = protocol;
    if (family === 6 && this.stream.tcp6 === null) return -EAFNOSUPPORT;
    if (type === 'stream') {
      if (proto !== 0 && proto !== IPPROTO_TCP) return -EPROTONOSUPPORT;
      if (this.stream.tcp === null) return -EPROTONOSUPPORT;
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
    return this.binding.bindInet(s, addr, port);
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
    return this.binding.bind6(s, addr, port, scopeId);
  }

  /** connect(2); (0, 0) on a datagram socket of either family is AF_UNSPEC: the association goes. */
  connect(fd: number, addr: number, port: number, now: number): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (s.family !== 4) {
      if (s.type === 'stream' || addr !== 0 || port !== 0) return -EAFNOSUPPORT;
      this.dgram.dissolve(s);
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
    if (s.type === 'stream') return this.flushed(this.stream.connect6(s, addr, port, now, scopeId));
    return this.dgram.connect6(s, addr, port, scopeId);
  }

  private connectInet(s: Sock, addr: number, port: number, now: number): number {
    addr >>>= 0;
    if (s.type === 'stream') return this.flushed(this.stream.connect(s, addr, port, now));
    return this.dgram.connect(s, addr, port);
  }

  listen(fd: number, backlog: number): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    return this.stream.listen(s, backlog);
  }

  /** A connection ready on a listener as a new fd, -EAGAIN when none; its peer goes in `peer`. */
  accept(fd: number, now: number, peer?: SockAddr): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (s.listener === null && s.listener6 === null) return -EINVAL;
    if (s.error !== 0) return -s.takeError();
    return this.flushed(this.stream.accept(s, now, peer));
  }

  send(fd: number, buf: Uint8Array, off: number, len: number, now: number): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (s.type === 'stream') {
      if (s.conn === null) return -ENOTCONN;
      return this.flushed(s.conn.send(buf, off, len, now));
    }
    if (!s.connected) return -EDESTADDRREQ;
    const r =
      s.family === 6 && !s.mapped
        ? this.dgram.send6(s, buf, off, len, s.remoteAddr6, s.remotePort, now, null, 0)
        : this.dgram.send(s, buf, off, len, s.remoteAddr, s.remotePort, now, 0, -1);
    return r < 0 ? r : this.flushed(r);
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
    const r = this.dgram.send(s, buf, off, len, addr, port, now, src, oif);
    return r < 0 ? r : this.flushed(r);
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
    const r = this.dgram.send6(s, buf, off, len, addr, port, now, src, scopeId);
    return r < 0 ? r : this.flushed(r);
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
    this.readiness.markDirty(s);
    return this.flushed(0);
  }

  close(fd: number, now: number): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    s.open = false;
    this.fds.free(fd);
    this.stream.close(s, now);
    this.binding.release(s);
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

  /**
   * TCP_MD5SIG (RFC 2385), as Linux's setsockopt(IPPROTO_TCP, TCP_MD5SIG, struct tcp_md5sig): sets
   * the key (1 to 80 bytes, copied) for one peer, or deletes it with null (-ENOENT when there is
   * none). On a listening socket, keys for many peers: a SYN from a peer with a key must carry its
   * signature, and the connection, and the socket accept() makes of it, sign with that key. On an
   * unconnected or connecting socket, the key of the peer connect() is (or was) given. Every
   * segment of a keyed connection is signed, and any it receives unsigned or wrongly signed is
   * dropped (counted: tcp_md5_missing, tcp_md5_bad; a signed one where no key is set:
   * tcp_md5_unexpected). Returns 0, or -EISCONN once connected, -EINVAL for a bad key length or a
   * peer the socket's family cannot reach, -ENOPROTOOPT for a datagram or raw socket. A v4-mapped
   * IPv6 peer is the IPv4 peer of a dual-stack socket.
   */
  setTcpMd5Key(fd: number, peer: TcpMd5Peer, key: Uint8Array | null): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (s.type !== 'stream') return -ENOPROTOOPT;
    if (key !== null && (key.length < 1 || key.length > TCP_MD5_MAX_KEY)) return -EINVAL;
    let v4 = peer.family === 4;
    let addr = peer.addr >>> 0;
    if (!v4) {
      if (peer.addr6.length !== 16) return -EINVAL;
      if (isV4MappedIpv6(peer.addr6)) {
        v4 = true;
        addr = unmapIpv4(peer.addr6);
      }
    }
    if (s.family === 4 && peer.family !== 4) return -EINVAL;
    if (s.family === 6 && (v4 ? s.v6only : this.stream.tcp6 === null)) return -EINVAL;
    return this.stream.setMd5Key(s, v4, addr, peer.addr6, key);
  }

  /** Option value; SO_ERROR takes the pending error (positive errno, 0 when none). */
  getOption(fd: number, name: SocketOption): number {
    const s = this.sock(fd);
    return s === null ? -EBADF : getOption(s, name, this.env);
  }

  localAddress(fd: number, out: SockAddr): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    fillSockAddr(s, s.localAddr, s.localAddr6, s.type === 'raw' ? 0 : s.localPort, out);
    return 0;
  }

  peerAddress(fd: number, out: SockAddr): number {
    const s = this.sock(fd);
    if (s === null) return -EBADF;
    if (!s.connected) return -ENOTCONN;
    fillSockAddr(s, s.remoteAddr, s.remoteAddr6, s.remotePort, out);
    return 0;
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
    for (const s of this.fds) rows.push(socketRow(s, this.env));
    this.stream.orphanRows(rows);
    return rows;
  }

  /** Counters for `show counters`. */
  counters(): Record<string, number> {
    return {
      sockets_open: this.size,
      udp_rx_queue_full: this.rxQueueDrops,
      udp_no_port: this.udp.noPortDrops,
      // RFC 2385 and RFC 5082 drops of both TCP engines.
      tcp_md5_missing: tcpStat(this.stream.tcp, this.stream.tcp6, 'md5Missing'),
      tcp_md5_bad: tcpStat(this.stream.tcp, this.stream.tcp6, 'md5Bad'),
      tcp_md5_unexpected: tcpStat(this.stream.tcp, this.stream.tcp6, 'md5Unexpected'),
      tcp_min_ttl: tcpStat(this.stream.tcp, this.stream.tcp6, 'minTtlDropped'),
    };
  }
}

/** One TCP counter summed over the IPv4 and IPv6 engines. */
function tcpStat(
  tcp: TcpEngine | null,
  tcp6: TcpEngine<Uint8Array> | null,
  name: 'md5Missing' | 'md5Bad' | 'md5Unexpected' | 'minTtlDropped',
): number {
  return (tcp?.stats[name] ?? 0) + (tcp6?.stats[name] ?? 0);
}
