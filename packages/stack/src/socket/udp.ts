// UDP sockets: the table of bound ports, the demultiplexing of received datagrams to them and the
// ICMP errors that concern connected ones. Sending is the socket layer's datagram path (sendTo).
import { isMulticastIpv4, rd16, UDP_HEADER_LEN } from '@nexthop/wire';
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
  ): void;
  markDirty(s: Sock): void;
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
      this.sink.enqueue(best, buf, dataOff, dataLen, src, srcPort, dst, ifIndex);
      return true;
    }
    // Broadcast and multicast: every socket that wants it gets a copy.
    const multicast = isMulticastIpv4(dst);
    let taken = false;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (s.opt.boundIf >= 0 && s.opt.boundIf !== ifIndex) continue;
      if (s.connected && (s.remoteAddr !== src || s.remotePort !== srcPort)) continue;
      if (multicast) {
        if (s.localAddr !== dst && !(s.localAddr === 0 && s.isMember(dst, ifIndex))) continue;
      } else if (s.localAddr !== 0 && s.localAddr !== dst) continue;
      this.sink.enqueue(s, buf, dataOff, dataLen, src, srcPort, dst, ifIndex);
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
      if (!s.connected || s.remoteAddr !== qdst || s.remotePort !== dport) continue;
      if (s.localAddr !== 0 && s.localAddr !== qsrc) continue;
      s.error = errno;
      this.sink.markDirty(s);
    }
  }
}
