// UDP sockets: the table of bound ports, the demultiplexing of received datagrams to them and the
// ICMP errors that concern connected ones. Sending is the socket layer's datagram path (datagram.ts).
import { isMulticastIpv4, rd16, UDP_HEADER_LEN } from '@nexthop/wire';
import { coversIpv4, coversIpv6, isUnspecifiedIpv6 } from './inet6.ts';
import { Multicast6 } from './multicast6.ts';
import { type Sock, SockLists } from './sock.ts';

/** Where matched datagrams and errors go: the socket layer's receive queues and readiness events. */
export interface SocketSink {
  enqueue(
    s: Sock,
    buf: Uint8Array,
    off: number,
    len: number,
    src: number,
    port: number,
    dst: number,
    ifIndex: number,
    ttl?: number,
  ): void;
  /**
   * An IPv6 datagram for s: source and destination are 16 bytes at srcOff / dstOff of `addrs`;
   * `hopLimit` the hop limit it arrived with.
   */
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
    hopLimit: number,
  ): void;
  markDirty(s: Sock): void;
}

function equal16(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  for (let i = 0; i < 16; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

export class UdpSockets {
  /** Bound sockets by local port. */
  readonly ports = new SockLists();
  /** Datagrams no socket wanted. */
  noPortDrops = 0;
  private readonly sink: SocketSink;

  constructor(sink: SocketSink) {
    this.sink = sink;
  }

  /**
   * A datagram (checksum verified) for a local, broadcast or multicast destination. `udpLen` is the
   * UDP length field. Returns whether any socket took it (false: the port is closed, and the stack
   * answers with ICMP port unreachable, RFC 1122 §4.1.3.1).
   */
  input(
    ifIndex: number,
    buf: Uint8Array,
    udpOff: number,
    udpLen: number,
    src: number,
    dst: number,
    broadcast: boolean,
    ttl = -1,
  ): boolean {
    const srcPort = rd16(buf, udpOff);
    const dstPort = rd16(buf, udpOff + 2);
    const list = this.ports.get(dstPort);
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
        if (!coversIpv4(s)) continue;
        const boundIf = s.opt.boundIf;
        if (boundIf >= 0 && boundIf !== ifIndex) continue;
        let score = 0;
        if (s.localAddr !== 0) {
          if (s.localAddr !== dst) continue;
          score += 2;
        }
        if (s.connected) {
          if (s.remoteAddr !== src || s.remotePort !== srcPort) continue;
          score += 4;
        }
        if (boundIf >= 0) score += 1;
        if (score > bestScore) {
          best = s;
          bestScore = score;
        }
      }
      if (best === null) {
        this.noPortDrops++;
        return false;
      }
      this.sink.enqueue(best, buf, dataOff, dataLen, src, srcPort, dst, ifIndex, ttl);
      return true;
    }
    // Broadcast and multicast: every socket that wants it gets a copy.
    const multicast = isMulticastIpv4(dst);
    let taken = false;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (!coversIpv4(s)) continue;
      if (s.opt.boundIf >= 0 && s.opt.boundIf !== ifIndex) continue;
      if (s.connected && (s.remoteAddr !== src || s.remotePort !== srcPort)) continue;
      if (multicast) {
        if (s.localAddr !== dst && !(s.localAddr === 0 && s.isMember(dst, ifIndex))) continue;
      } else if (s.localAddr !== 0 && s.localAddr !== dst) continue;
      this.sink.enqueue(s, buf, dataOff, dataLen, src, srcPort, dst, ifIndex, ttl);
      taken = true;
    }
    if (!taken) this.noPortDrops++;
    return taken;
  }

  /**
   * An ICMP error (errno from sockapi/icmp-errors.ts) about a datagram from qsrc:sport to
   * qdst:dport: the pending error of every socket connected to that destination (RFC 1122 §4.1.3.3).
   */
  icmpError(errno: number, qsrc: number, sport: number, qdst: number, dport: number): void {
    const list = this.ports.get(sport);
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (!coversIpv4(s) || !s.connected || s.remoteAddr !== qdst || s.remotePort !== dport) continue;
      if (s.localAddr !== 0 && s.localAddr !== qsrc) continue;
      s.error = errno;
      this.sink.markDirty(s);
    }
  }

  /**
   * An IPv6 datagram (checksum verified) for one of the VR's addresses or a group, from the address
   * at buf[srcOff..] to the one at buf[dstOff..]: the most specific AF_INET6 socket takes a unicast
   * one (as input does for IPv4); a multicast one goes to every socket on the port that joined the
   * group on that interface (IPV6_JOIN_GROUP; all-nodes is joined by all). `srcOff` and `dstOff`
   * are those of an IPv6 header in `buf` (its hop limit, at srcOff - 1, goes with the datagram).
   * Returns whether any socket took it (false: port unreachable, RFC 4443 §3.1 code 4).
   */
  input6(
    ifIndex: number,
    buf: Uint8Array,
    udpOff: number,
    udpLen: number,
    srcOff: number,
    dstOff: number,
    multicast: boolean,
  ): boolean {
    const srcPort = rd16(buf, udpOff);
    const list = this.ports.get(rd16(buf, udpOff + 2));
    const dataOff = udpOff + UDP_HEADER_LEN;
    const dataLen = udpLen - UDP_HEADER_LEN;
    // srcOff is inside the IPv6 header (offset 8), so its hop limit (offset 7) is the octet before.
    const hops = buf[srcOff - 1]!;
    let best: Sock | null = null;
    let bestScore = -1;
    let taken = false;
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        const s = list[i]!;
        if (!coversIpv6(s)) continue;
        const boundIf = s.opt.boundIf;
        if (boundIf >= 0 && boundIf !== ifIndex) continue;
        let score = 0;
        if (multicast) {
          // Every member gets its copy, as with IPv4 groups (below the unicast choice).
          if (!isUnspecifiedIpv6(s.localAddr6) && !equal16(s.localAddr6, 0, buf, dstOff)) continue;
          if (!Multicast6.wants(s, buf, dstOff, ifIndex)) continue;
          if (s.connected && (s.remotePort !== srcPort || !equal16(s.remoteAddr6, 0, buf, srcOff))) continue;
          this.sink.enqueue6(s, buf, dataOff, dataLen, buf, srcOff, srcPort, dstOff, ifIndex, hops);
          taken = true;
          continue;
        }
        if (!isUnspecifiedIpv6(s.localAddr6)) {
          if (!equal16(s.localAddr6, 0, buf, dstOff)) continue;
          score += 2;
        }
        if (s.connected) {
          if (s.remotePort !== srcPort || !equal16(s.remoteAddr6, 0, buf, srcOff)) continue;
          score += 4;
        }
        if (boundIf >= 0) score += 1;
        if (score > bestScore) {
          best = s;
          bestScore = score;
        }
      }
    }
    if (taken) return true;
    if (best === null) {
      this.noPortDrops++;
      return false;
    }
    this.sink.enqueue6(best, buf, dataOff, dataLen, buf, srcOff, srcPort, dstOff, ifIndex, hops);
    return true;
  }

  /** An ICMPv6 error about a datagram of ours from qsrc:sport to qdst:dport (RFC 4443 §2.4 (a)). */
  icmpError6(
    errno: number,
    q: Uint8Array,
    srcOff: number,
    sport: number,
    dstOff: number,
    dport: number,
  ): void {
    const list = this.ports.get(sport);
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (!coversIpv6(s) || !s.connected || s.remotePort !== dport) continue;
      if (!equal16(s.remoteAddr6, 0, q, dstOff)) continue;
      if (!isUnspecifiedIpv6(s.localAddr6) && !equal16(s.localAddr6, 0, q, srcOff)) continue;
      s.error = errno;
      this.sink.markDirty(s);
    }
  }
}
