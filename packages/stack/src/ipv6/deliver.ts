import {
  copyBytes,
  Drop,
  decodeIpv6,
  decodeIpv6Extensions,
  decodeTcpPseudo,
  decodeUdpPseudo,
  ETH_HEADER_LEN,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_PARAMETER_PROBLEM,
  IPPROTO_ICMPV6,
  IPPROTO_NONE,
  IPPROTO_TCP,
  IPPROTO_UDP,
  Ipv6Extensions,
  type Ipv6Header,
  PARAM_PROBLEM_HEADER_FIELD,
  PARAM_PROBLEM_NEXT_HEADER,
  pseudoHeaderSumIpv6,
  TcpHeader,
  UdpHeader,
  UNREACH6_PORT,
} from '@nexthop/wire';
import { type Counters, Stat } from '../counters.ts';
import type { Interface } from '../interfaces.ts';
import type { RxState } from '../rx.ts';
import type { SocketLayer } from '../socket/layer.ts';
import type { TcpEngine } from '../tcp/index.ts';
import type { Wake } from '../wake.ts';
import type { Icmpv6Errors } from './icmpv6-errors.ts';
import type { Icmpv6Input } from './icmpv6-input.ts';
import type { Ipv6Interface } from './interface6.ts';
import { REASM_COMPLETE, REASM_INCOMPLETE, REASM_MEMORY, type Reassembler6 } from './reassembly.ts';
import type { Transport6 } from './transport.ts';

/**
 * Delivery of IPv6 packets addressed to the VR (RFC 8200 §4): the extension header chain walked and
 * checked (wire.decodeIpv6Extensions, bounded), Routing headers refused while segments are left,
 * fragments reassembled, then the upper layer: ICMPv6 (echo, Neighbor Discovery, MLD), UDP and TCP
 * (the AF_INET6 sockets, or port unreachable), TCP (the IPv6 engine, or a reset), and
 * a Parameter Problem for a Next Header nobody here knows.
 */
export class Delivery6 {
  private readonly rx: RxState;
  private readonly h: Ipv6Header;
  private readonly reassembler: Reassembler6;
  private readonly icmp: Icmpv6Input;
  private readonly errors: Icmpv6Errors;
  private readonly counters: Counters;
  private readonly wake: Wake;
  private readonly ext = new Ipv6Extensions();
  private readonly udp = new UdpHeader();
  private readonly tcpIn = new TcpHeader();
  private readonly tcp: TcpEngine<Uint8Array>;
  private readonly transport: Transport6;
  private readonly sockets: SocketLayer;
  /** The unicast address the packet was sent to (ours): where answers come from (RFC 4443 §2.2). */
  private readonly local = new Uint8Array(16);
  /** The source of the packet: the engine's input addresses are copies, reused per segment. */
  private readonly peer = new Uint8Array(16);

  constructor(
    rx: RxState,
    h: Ipv6Header,
    reassembler: Reassembler6,
    icmp: Icmpv6Input,
    errors: Icmpv6Errors,
    counters: Counters,
    wake: Wake,
    tcp: TcpEngine<Uint8Array>,
    transport: Transport6,
    sockets: SocketLayer,
  ) {
    this.sockets = sockets;
    this.tcp = tcp;
    this.transport = transport;
    this.rx = rx;
    this.h = h;
    this.reassembler = reassembler;
    this.icmp = icmp;
    this.errors = errors;
    this.counters = counters;
    this.wake = wake;
  }

  /**
   * The packet `h` describes, at buf[ipOff..], is for the VR: to one of its usable addresses, or to
   * a group it joined on `ifc` (`multicast`).
   */
  input(
    ifc: Interface,
    ifc6: Ipv6Interface,
    buf: Uint8Array,
    ipOff: number,
    multicast: boolean,
    reassembled: boolean,
    now: number,
  ): void {
    const h = this.h;
    const ext = this.ext;
    const counters = this.counters;
    const r = decodeIpv6Extensions(buf, ipOff, h.totalLength, ext);
    if (r !== 0) {
      if (ext.problemCode >= 0) this.problem(ifc, buf, ipOff, ext.problemCode, ext.pointer, now);
      return counters.rxDrop(ifc, r);
    }
    if (ext.routingOffset >= 0 && ext.segmentsLeft !== 0) {
      // RFC 8200 §4.4: a Routing header type this node does not process, with segments left, is a
      // code 0 Parameter Problem at its type field. No type is processed here: type 0 is
      // deprecated (RFC 5095 §3), type 2 is Mobile IPv6's, 3 RPL's, 4 the SRH of RFC 8754.
      this.problem(ifc, buf, ipOff, PARAM_PROBLEM_HEADER_FIELD, ext.routingOffset + 2 - ipOff, now);
      return counters.rxDrop(ifc, Drop.IPV6_ROUTING_HEADER);
    }
    if (ext.isFragment) {
      if (reassembled) return counters.rxDrop(ifc, Drop.IPV6_NESTED_FRAGMENT);
      return this.fragment(ifc, ifc6, buf, ipOff, multicast, now);
    }
    // An atomic fragment (offset 0, M clear) was walked through as a whole packet (RFC 8021 §4.4,
    // RFC 6946 §4): no reassembly state.
    this.upper(ifc, ifc6, buf, ipOff, multicast, reassembled, now);
  }

  /** RFC 8200 §4.5: a fragment joins its packet; the whole packet is delivered when complete. */
  private fragment(
    ifc: Interface,
    ifc6: Ipv6Interface,
    buf: Uint8Array,
    ipOff: number,
    multicast: boolean,
    now: number,
  ): void {
    const ext = this.ext;
    const counters = this.counters;
    counters.stats[Stat.IPV6_FRAGMENTS_RECEIVED]! += 1;
    const reassembler = this.reassembler;
    const r = reassembler.add(
      buf,
      ipOff,
      this.h.totalLength,
      ext.fragmentHeaderOffset,
      ext.fragmentFieldOffset,
      ext.fragmentOffset,
      ext.moreFragments,
      ext.fragmentId,
      ifc.index,
      now,
    );
    if (r === REASM_INCOMPLETE) {
      this.wake.arm(reassembler.nextDeadline());
      return;
    }
    if (r !== REASM_COMPLETE)
      return counters.rxDrop(
        ifc,
        r === REASM_MEMORY ? Drop.IPV6_REASSEMBLY_MEMORY : Drop.IPV6_REASSEMBLY_OVERLAP,
      );
    counters.stats[Stat.IPV6_REASSEMBLED]! += 1;
    // What the driver said of the last fragment says nothing of the whole packet.
    this.rx.l4ChecksumGood = false;
    const packet = reassembler.packet;
    decodeIpv6(packet, 0, reassembler.length, this.h);
    this.input(ifc, ifc6, packet, 0, multicast, true, now);
  }

  private upper(
    ifc: Interface,
    ifc6: Ipv6Interface,
    buf: Uint8Array,
    ipOff: number,
    multicast: boolean,
    reassembled: boolean,
    now: number,
  ): void {
    const h = this.h;
    const ext = this.ext;
    const counters = this.counters;
    counters.stats[Stat.IPV6_DELIVERED]! += 1;
    // Raw AF_INET6 sockets get their copy first (RFC 3542 §3; ICMPv6 ones also see what the stack
    // answers itself, as on Linux).
    const sockets = this.sockets;
    const rawTaken =
      sockets.hasRaw6(ext.protocol) &&
      sockets.rawInput6(
        ifc.index,
        buf,
        ext.payloadOffset,
        ext.payloadLength,
        ext.protocol,
        h.srcOffset,
        h.dstOffset,
        multicast,
      );
    switch (ext.protocol) {
      case IPPROTO_ICMPV6:
        return this.icmp.input(
          ifc,
          ifc6,
          h,
          buf,
          reassembled ? -1 : ipOff - ETH_HEADER_LEN,
          ext.payloadOffset,
          ext.payloadLength,
          multicast,
          ext.routerAlert,
          now,
        );
      case IPPROTO_NONE:
        // RFC 8200 §4.7: nothing follows; delivered, and that is all.
        return;
      case IPPROTO_UDP: {
        const pseudo = pseudoHeaderSumIpv6(buf, h.srcOffset, buf, h.dstOffset, IPPROTO_UDP, 0);
        const u = this.udp;
        const r = decodeUdpPseudo(
          buf,
          ext.payloadOffset,
          ext.payloadLength,
          pseudo,
          u,
          !this.rx.l4ChecksumGood,
          false,
        );
        if (r !== 0) return counters.rxDrop(ifc, r);
        const udpLen = u.length;
        if (
          this.sockets.udpInput6(
            ifc.index,
            buf,
            ext.payloadOffset,
            udpLen,
            h.srcOffset,
            h.dstOffset,
            multicast,
          )
        )
          return;
        // A closed port (RFC 4443 §3.1 code 4), answered for unicast only (§2.4 (e)).
        if (!multicast) this.error(ifc, buf, ipOff, ICMPV6_DEST_UNREACHABLE, UNREACH6_PORT, 0, now);
        else counters.stats[Stat.IPV6_MULTICAST_IGNORED]! += 1;
        return;
      }
      case IPPROTO_TCP: {
        const pseudo = pseudoHeaderSumIpv6(buf, h.srcOffset, buf, h.dstOffset, IPPROTO_TCP, 0);
        const seg = this.tcpIn;
        const r = decodeTcpPseudo(
          buf,
          ext.payloadOffset,
          ext.payloadLength,
          pseudo,
          seg,
          !this.rx.l4ChecksumGood,
        );
        if (r !== 0) return counters.rxDrop(ifc, r);
        // RFC 9293 §3.9.1 (and RFC 1122 §4.2.3.10): TCP is unicast.
        if (multicast) return counters.rxDrop(ifc, Drop.TCP_NOT_UNICAST);
        const src = this.peer;
        const dst = this.local;
        copyBytes(buf, h.srcOffset, src, 0, 16);
        copyBytes(buf, h.dstOffset, dst, 0, 16);
        if (
          this.tcp.input(
            buf,
            ext.payloadOffset,
            ext.payloadLength,
            src,
            dst,
            h.trafficClass,
            now,
            true,
            h.hopLimit,
          )
        )
          return;
        this.transport.reset(seg, src, dst, ifc.index, now);
        return;
      }
      default:
        if (rawTaken) return;
        // RFC 8200 §4: an unrecognised Next Header is a code 1 Parameter Problem at that field.
        this.problem(ifc, buf, ipOff, PARAM_PROBLEM_NEXT_HEADER, ext.protocolFieldOffset - ipOff, now);
        counters.rxDrop(ifc, Drop.IPV6_UNKNOWN_NEXT_HEADER);
    }
  }

  /** RFC 4443 §3.4; to a group only code 2 is answered (§2.4 (e.2), applied by Icmpv6Errors). */
  private problem(
    ifc: Interface,
    buf: Uint8Array,
    ipOff: number,
    code: number,
    pointer: number,
    now: number,
  ): void {
    this.error(ifc, buf, ipOff, ICMPV6_PARAMETER_PROBLEM, code, pointer, now);
  }

  private error(
    ifc: Interface,
    buf: Uint8Array,
    ipOff: number,
    type: number,
    code: number,
    rest: number,
    now: number,
  ): void {
    const h = this.h;
    let source: Uint8Array | null = null;
    if (buf[h.dstOffset] !== 0xff) {
      const local = this.local;
      for (let i = 0; i < 16; i++) local[i] = buf[h.dstOffset + i]!;
      source = local;
    }
    this.errors.send(
      buf,
      ipOff,
      h.totalLength,
      type,
      code,
      rest >>> 0,
      this.rx.linkBroadcast,
      ifc.index,
      now,
      source,
    );
  }
}
