// ICMP and ICMPv6 errors that quote one of the VR's own packets, parsed down to the transport's
// ports and handed to the engine (TCP) or to the connected UDP sockets they concern. Errno and
// hard/soft come from one table (sockapi/icmp-errors.ts).
import {
  copyBytes,
  ICMPV6_PACKET_TOO_BIG,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_MIN_HEADER,
  rd16,
  rd32,
} from '@nexthop/wire';
import { icmpErrno, icmpv6Errno, icmpv6IsHard } from '../sockapi/icmp-errors.ts';
import type { TcpEngine } from '../tcp/index.ts';
import type { UdpSockets } from './udp.ts';

export class IcmpDispatch {
  /** The engines, once the stack has them. */
  tcp: TcpEngine | null = null;
  tcp6: TcpEngine<Uint8Array> | null = null;
  private readonly udp: UdpSockets;
  /** The addresses of the ICMPv6 error being handled (the engine copies what it keeps). */
  private readonly quoteSrc6 = new Uint8Array(16);
  private readonly quoteDst6 = new Uint8Array(16);

  constructor(udp: UdpSockets) {
    this.udp = udp;
  }

  /**
   * An ICMP error (SocketLayer.icmpError). Returns whether the engine or a socket was told, and the
   * caller delivers the readiness events now (true for TCP; UDP's wait for the next flush).
   */
  icmpError(
    type: number,
    code: number,
    restOfHeader: number,
    quote: Uint8Array,
    qOff: number,
    qLen: number,
    now: number,
  ): boolean {
    if (qLen < IPV4_MIN_HEADER) return false;
    const hl = (quote[qOff]! & 15) * 4;
    if (hl < IPV4_MIN_HEADER || qLen < hl + 8) return false;
    const protocol = quote[qOff + 9]!;
    if (protocol === IPPROTO_TCP) {
      this.tcp?.icmpError(type, code, restOfHeader, quote, qOff, qLen, now);
      return true;
    }
    if (protocol !== IPPROTO_UDP) return false;
    const errno = icmpErrno(type, code);
    if (errno === 0) return false;
    const qsrc = rd32(quote, qOff + 12);
    const qdst = rd32(quote, qOff + 16);
    this.udp.icmpError(errno, qsrc, rd16(quote, qOff + hl), qdst, rd16(quote, qOff + hl + 2));
    return false;
  }

  /**
   * An ICMPv6 error (SocketLayer.icmpv6Error). Returns whether the caller delivers the readiness
   * events now (a quote of UDP or TCP).
   */
  icmpv6Error(
    type: number,
    code: number,
    restOfHeader: number,
    quote: Uint8Array,
    qOff: number,
    qLen: number,
    now: number,
  ): boolean {
    const tcp6 = this.tcp6;
    if (tcp6 === null || qLen < 40 + 8) return false;
    if (quote[qOff + 6] === IPPROTO_UDP) {
      const errno = type === ICMPV6_PACKET_TOO_BIG ? 0 : icmpv6Errno(type, code);
      const sport = rd16(quote, qOff + 40);
      if (errno !== 0) this.udp.icmpError6(errno, quote, qOff + 8, sport, qOff + 24, rd16(quote, qOff + 42));
      return true;
    }
    if (quote[qOff + 6] !== IPPROTO_TCP) return false;
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
    return true;
  }
}
