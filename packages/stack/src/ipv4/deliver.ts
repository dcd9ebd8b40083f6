import {
  Drop,
  decodeIpv4,
  decodeTcp,
  decodeUdp,
  ICMP_DEST_UNREACHABLE,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_FLAG_DF,
  IPV4_MIN_HEADER,
  isMulticastIpv4,
  pseudoHeaderSum,
  refreshIpv4Checksum,
  TcpHeader,
  UdpHeader,
  UNREACH_PORT,
  UNREACH_PROTOCOL,
  writeIpv4Header,
} from '@nexthop/wire';
import { type Counters, Stat } from '../counters.ts';
import type { IcmpErrors } from '../icmp/errors.ts';
import type { IcmpInput } from '../icmp/input.ts';
import type { Interface } from '../interfaces.ts';
import { TX_HEADROOM } from '../link.ts';
import type { RxState } from '../rx.ts';
import type { SocketLayer } from '../socket/layer.ts';
import { writeClosedPortReset } from '../tcp/closed-port.ts';
import type { TcpEngine } from '../tcp/index.ts';
import type { Wake } from '../wake.ts';
import type { LocalOutput } from './output.ts';
import type { Reassembler } from './reassembly.ts';

/**
 * Delivery of datagrams addressed to the VR: reassembly, then raw sockets, ICMP, UDP and TCP, and
 * the answers for a datagram nobody takes (port or protocol unreachable, a TCP reset).
 */
export class Delivery {
  private readonly rx: RxState;
  private readonly reassembler: Reassembler;
  private readonly sockets: SocketLayer;
  private readonly tcp: TcpEngine;
  private readonly icmp: IcmpInput;
  private readonly icmpErrors: IcmpErrors;
  private readonly output: LocalOutput;
  private readonly counters: Counters;
  private readonly wake: Wake;
  private readonly udpIn = new UdpHeader();
  private readonly tcpIn = new TcpHeader();

  constructor(
    rx: RxState,
    reassembler: Reassembler,
    sockets: SocketLayer,
    tcp: TcpEngine,
    icmp: IcmpInput,
    icmpErrors: IcmpErrors,
    output: LocalOutput,
    counters: Counters,
    wake: Wake,
  ) {
    this.rx = rx;
    this.reassembler = reassembler;
    this.sockets = sockets;
    this.tcp = tcp;
    this.icmp = icmp;
    this.icmpErrors = icmpErrors;
    this.output = output;
    this.counters = counters;
    this.wake = wake;
  }

  /** The packet rx.ip describes, at buf[ipOff..], is for the VR; `broadcast` when sent to a broadcast. */
  input(ifc: Interface, buf: Uint8Array, ipOff: number, broadcast: boolean, now: number): void {
    const h = this.rx.ip;
    if (!h.isFragment) return this.deliver(ifc, buf, ipOff, broadcast, now);
    this.counters.stats[Stat.FRAGMENTS_RECEIVED]! += 1;
    const r = this.reassembler.add(
      buf,
      ipOff,
      h.headerLength,
      h.totalLength,
      h.src,
      h.dst,
      h.id,
      h.protocol,
      h.fragmentOffset,
      h.moreFragments,
      now,
    );
    if (r.kind === 'incomplete') {
      this.wake.arm(this.reassembler.nextDeadline());
      return;
    }
    if (r.kind === 'drop') {
      const reason =
        r.reason === 'overlap'
          ? Drop.IPV4_REASSEMBLY_OVERLAP
          : r.reason === 'memory'
            ? Drop.IPV4_REASSEMBLY_MEMORY
            : Drop.IPV4_REASSEMBLY_TOO_BIG;
      return this.counters.rxDrop(ifc, reason);
    }
    this.counters.stats[Stat.DATAGRAMS_REASSEMBLED]! += 1;
    // What the driver said of the last fragment says nothing of the whole datagram.
    this.rx.l4ChecksumGood = false;
    refreshIpv4Checksum(r.packet, 0);
    decodeIpv4(r.packet, 0, r.length, h);
    this.deliver(ifc, r.packet, 0, broadcast, now);
  }

  private deliver(ifc: Interface, buf: Uint8Array, ipOff: number, broadcast: boolean, now: number): void {
    const rx = this.rx;
    const h = rx.ip;
    const hl = h.headerLength;
    const payloadLen = h.totalLength - hl;
    this.counters.stats[Stat.DELIVERED]! += 1;
    const sockets = this.sockets;
    // Multicast for a group nobody here joined is not for us (RFC 1112 §6.2).
    if (isMulticastIpv4(h.dst) && !sockets.joined(h.dst, ifc.index)) return;
    // Raw sockets get a copy of every datagram of their protocol (as on Linux, before the transport).
    const rawTaken =
      sockets.hasRaw(h.protocol) &&
      sockets.rawInput(ifc.index, buf, ipOff, h.totalLength, h.protocol, h.src, h.dst);
    switch (h.protocol) {
      case IPPROTO_ICMP:
        return this.icmp.input(ifc, h, buf, ipOff, payloadLen, broadcast, now);
      case IPPROTO_UDP: {
        const u = this.udpIn;
        const r = decodeUdp(buf, ipOff + hl, payloadLen, h.src, h.dst, u, !rx.l4ChecksumGood);
        if (r !== 0) return this.counters.rxDrop(ifc, r);
        if (sockets.udpInput(ifc.index, buf, ipOff + hl, u.length, h.src, h.dst, broadcast, h.ttl)) return;
        // A closed port (RFC 1122 §4.1.3.1), answered only for unicast.
        if (!broadcast) this.unreachable(buf, ipOff, UNREACH_PORT, now);
        return;
      }
      case IPPROTO_TCP: {
        // Decoded here, so that malformed segments are counted with the stack's drop reasons; the
        // engine is told the checksum is already verified.
        const r = decodeTcp(buf, ipOff + hl, payloadLen, h.src, h.dst, this.tcpIn, !rx.l4ChecksumGood);
        if (r !== 0) return this.counters.rxDrop(ifc, r);
        // RFC 1122 §4.2.3.10: TCP never answers a broadcast or multicast.
        if (broadcast || rx.linkBroadcast) return this.counters.rxDrop(ifc, Drop.TCP_NOT_UNICAST);
        if (this.tcp.input(buf, ipOff + hl, payloadLen, h.src, h.dst, h.tos, now, true, h.ttl)) return;
        // No connection or listener (RFC 9293 §3.10.7.1).
        this.reset(now);
        return;
      }
      default:
        if (rawTaken) return;
        this.counters.rxDrop(ifc, Drop.IPV4_UNKNOWN_PROTOCOL);
        if (!broadcast) this.unreachable(buf, ipOff, UNREACH_PROTOCOL, now);
    }
  }

  /** Destination unreachable from the address the datagram was sent to (RFC 1122 §3.2.2). */
  private unreachable(buf: Uint8Array, ipOff: number, code: number, now: number): void {
    const h = this.rx.ip;
    this.icmpErrors.send(
      buf,
      ipOff,
      h.totalLength,
      ICMP_DEST_UNREACHABLE,
      code,
      0,
      this.rx.linkBroadcast,
      now,
      h.dst,
    );
  }

  /** RFC 9293 §3.10.7.1: a segment (this.tcpIn) for a closed port is answered with a reset. */
  private reset(now: number): void {
    const h = this.rx.ip;
    const out = this.output;
    const t = out.buf;
    const o = TX_HEADROOM;
    const len = writeClosedPortReset(
      t,
      o + IPV4_MIN_HEADER,
      this.tcpIn,
      pseudoHeaderSum(h.dst, h.src, IPPROTO_TCP, 0),
    );
    if (len === 0) return;
    writeIpv4Header(
      t,
      o,
      0,
      IPV4_MIN_HEADER + len,
      out.nextId(),
      IPV4_FLAG_DF,
      out.defaultTtl,
      IPPROTO_TCP,
      h.dst,
      h.src,
    );
    this.counters.stats[Stat.TCP_RESETS_SENT]! += 1;
    out.send(t, o, IPV4_MIN_HEADER + len, now);
  }
}
