import { flowHash } from '@nexthop/fib';
import {
  Drop,
  decodeIpv4,
  ETH_HEADER_LEN,
  ICMP_DEST_UNREACHABLE,
  ICMP_TIME_EXCEEDED,
  IPPROTO_TCP,
  IPPROTO_UDP,
  isMartianDestination,
  isMartianSource,
  isMulticastIpv4,
  rd16,
  TIME_EXCEEDED_TTL,
  UNREACH_HOST,
  UNREACH_NET,
} from '@nexthop/wire';
import type { Counters } from '../counters.ts';
import {
  type Egress,
  ROUTE_BLACKHOLE,
  ROUTE_DOWN,
  ROUTE_LOCAL,
  ROUTE_NONE,
  ROUTE_REJECT,
} from '../egress.ts';
import type { IcmpErrors } from '../icmp/errors.ts';
import type { Interface, InterfaceTable } from '../interfaces.ts';
import type { RxState } from '../rx.ts';
import type { Delivery } from './deliver.ts';
import type { Forwarder } from './forward.ts';

/**
 * IPv4 input: validation (RFC 1812 §5.2.2, in wire.decodeIpv4), then one route lookup that decides
 * between delivery, refusal and forwarding: the VR's addresses and subnet broadcasts are /32 routes
 * with a LOCAL next hop, so delivery and forwarding share it. A packet in transit that may not or
 * cannot be forwarded (RFC 1812 §5.2–5.3) is dropped here, with an ICMP error where one is due.
 */
export class Ipv4Input {
  private readonly rx: RxState;
  private readonly ifaces: InterfaceTable;
  private readonly egress: Egress;
  private readonly delivery: Delivery;
  private readonly forwarder: Forwarder;
  private readonly icmpErrors: IcmpErrors;
  private readonly counters: Counters;

  constructor(
    rx: RxState,
    ifaces: InterfaceTable,
    egress: Egress,
    delivery: Delivery,
    forwarder: Forwarder,
    icmpErrors: IcmpErrors,
    counters: Counters,
  ) {
    this.rx = rx;
    this.ifaces = ifaces;
    this.egress = egress;
    this.delivery = delivery;
    this.forwarder = forwarder;
    this.icmpErrors = icmpErrors;
    this.counters = counters;
  }

  input(ifc: Interface, buf: Uint8Array, frameOff: number, frameLen: number, now: number): void {
    const ipOff = frameOff + ETH_HEADER_LEN;
    const h = this.rx.ip;
    const r = decodeIpv4(buf, ipOff, frameLen - ETH_HEADER_LEN, h);
    if (r !== 0) return this.counters.rxDrop(ifc, r);
    if (isMartianSource(h.src)) return this.counters.rxDrop(ifc, Drop.IPV4_MARTIAN_SOURCE);
    const dst = h.dst;
    if (dst === 0xffffffff || isMulticastIpv4(dst)) return this.delivery.input(ifc, buf, ipOff, true, now);
    // The flow hash only picks a member of an ECMP group (RFC 2992): without one it is not made.
    const egress = this.egress;
    const route = egress.route(dst, egress.spreadsFlows ? this.flowHashOf(buf, ipOff) : 0, -1);
    if (route === ROUTE_LOCAL)
      return this.delivery.input(ifc, buf, ipOff, this.ifaces.broadcasts.has(dst), now);
    // From here on the packet is in transit (RFC 1812 §5.2).
    const counters = this.counters;
    if ((buf[frameOff]! & 1) !== 0) return counters.rxDrop(ifc, Drop.IPV4_NOT_FOR_US);
    if (h.ttl === 0) return counters.rxDrop(ifc, Drop.IPV4_TTL_ZERO);
    if (isMartianDestination(dst)) return counters.rxDrop(ifc, Drop.IPV4_MARTIAN_DESTINATION);
    if (route === ROUTE_NONE) {
      this.error(buf, ipOff, ICMP_DEST_UNREACHABLE, UNREACH_NET, now);
      return counters.rxDrop(ifc, Drop.IPV4_NO_ROUTE);
    }
    if (route === ROUTE_BLACKHOLE) return counters.rxDrop(ifc, Drop.IPV4_BLACKHOLE);
    if (route === ROUTE_REJECT) {
      this.error(buf, ipOff, ICMP_DEST_UNREACHABLE, UNREACH_HOST, now);
      return counters.rxDrop(ifc, Drop.IPV4_REJECT);
    }
    if (h.ttl === 1) {
      this.error(buf, ipOff, ICMP_TIME_EXCEEDED, TIME_EXCEEDED_TTL, now);
      return counters.rxDrop(ifc, Drop.IPV4_TTL_EXCEEDED);
    }
    if (route === ROUTE_DOWN) {
      this.error(buf, ipOff, ICMP_DEST_UNREACHABLE, UNREACH_NET, now);
      return counters.rxDrop(ifc, Drop.INTERFACE_DOWN);
    }
    this.forwarder.forward(ifc, buf, ipOff, now);
  }

  private error(buf: Uint8Array, ipOff: number, type: number, code: number, now: number): void {
    const rx = this.rx;
    this.icmpErrors.send(buf, ipOff, rx.ip.totalLength, type, code, 0, rx.linkBroadcast, now);
  }

  /**
   * The ECMP hash of the packet just decoded: its 5-tuple, or addresses and protocol (RFC 2992).
   * One call of flowHash, so that the compiler inlines it once.
   */
  private flowHashOf(buf: Uint8Array, ipOff: number): number {
    const h = this.rx.ip;
    const p = h.protocol;
    const hl = h.headerLength;
    const ports =
      (p === IPPROTO_TCP || p === IPPROTO_UDP) && !h.isFragment && h.totalLength >= hl + 4 ? ipOff + hl : -1;
    return flowHash(h.src, h.dst, p, ports < 0 ? 0 : rd16(buf, ports), ports < 0 ? 0 : rd16(buf, ports + 2));
  }
}
