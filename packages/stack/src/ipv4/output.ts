import {
  Drop,
  IPPROTO_TCP,
  IPV4_FLAG_DF,
  IPV4_MIN_HEADER,
  isMulticastIpv4,
  rd16,
  rd32,
  writeIpv4Header,
} from '@nexthop/wire';
import type { Counters } from '../counters.ts';
import {
  type Egress,
  ROUTE_BLACKHOLE,
  ROUTE_DOWN,
  ROUTE_LOCAL,
  ROUTE_NONE,
  ROUTE_OK,
  ROUTE_OTHER_INTERFACE,
  ROUTE_REJECT,
} from '../egress.ts';
import type { InterfaceTable } from '../interfaces.ts';
import { type LinkOutput, MAX_IP_PACKET, packetBuffer } from '../link.ts';
import { EADDRNOTAVAIL, EHOSTUNREACH, EINVAL, EMSGSIZE, ENETDOWN, ENETUNREACH } from '../sockapi/errno.ts';

/** The errno a local sender gets for each ROUTE_* outcome, as Linux reports it for the route type. */
const ROUTE_ERRNO: number[] = [];
ROUTE_ERRNO[ROUTE_OK] = 0;
ROUTE_ERRNO[ROUTE_NONE] = -ENETUNREACH;
ROUTE_ERRNO[ROUTE_BLACKHOLE] = -EINVAL;
ROUTE_ERRNO[ROUTE_REJECT] = -EHOSTUNREACH;
ROUTE_ERRNO[ROUTE_LOCAL] = -EADDRNOTAVAIL;
ROUTE_ERRNO[ROUTE_OTHER_INTERFACE] = -ENETUNREACH;
ROUTE_ERRNO[ROUTE_DOWN] = -ENETDOWN;

const LIMITED_BROADCAST = 0xffffffff;

/**
 * IPv4 output of the VR's own packets: those the sockets and TCP built (IP header written here),
 * and those the stack built whole (ICMP, resets) in `buf`. Both leave through Egress; multicast and
 * broadcast go straight onto the chosen link with the group or broadcast MAC.
 */
export class LocalOutput {
  /** Where the stack builds its own packets (ICMP, resets, echo), TX_HEADROOM free in front. */
  readonly buf = packetBuffer();
  readonly defaultTtl: number;
  private readonly ifaces: InterfaceTable;
  private readonly egress: Egress;
  private readonly link: LinkOutput;
  private readonly counters: Counters;
  private readonly groupMac = new Uint8Array(6);
  private ipId = 1;

  constructor(
    ifaces: InterfaceTable,
    egress: Egress,
    link: LinkOutput,
    counters: Counters,
    defaultTtl: number,
  ) {
    this.ifaces = ifaces;
    this.egress = egress;
    this.link = link;
    this.counters = counters;
    this.defaultTtl = defaultTtl;
  }

  /** The next IP identification of the VR's own packets. */
  nextId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  /**
   * The egress interface towards dst for a local sender, restricted to `oif` when >= 0 (a bound
   * device), or -errno (IpEnv.route). A down interface is still the route: sending says ENETDOWN.
   */
  route(dst: number, oif: number): number {
    if (isMulticastIpv4(dst) || dst === LIMITED_BROADCAST) {
      if (oif >= 0) return this.ifaces.list[oif] === undefined ? -ENETUNREACH : oif;
      const out = this.egress.interfaceTowards(dst);
      return out === null ? -ENETUNREACH : out.index;
    }
    if (this.ifaces.broadcasts.has(dst)) {
      const i = this.ifaces.broadcastInterface(dst, oif);
      return i < 0 ? -ENETUNREACH : i;
    }
    const r = this.egress.route(dst, 0, oif);
    return r === ROUTE_OK || r === ROUTE_DOWN ? this.egress.out!.index : ROUTE_ERRNO[r]!;
  }

  /**
   * Sends a transport payload the socket layer or TCP built at buf[ipOff+20..] (Ethernet room in
   * front): writes the IP header, routes (multicast and broadcast straight onto `ifIndex`), and
   * fragments unless `df`. Returns 0 or -errno. `segmentSize` > 0 marks a TCP aggregate (checksum
   * not filled): the egress link segments it if it can, else the stack does; each segment must fit
   * the MTU.
   */
  transport(
    buf: Uint8Array,
    ipOff: number,
    l4Len: number,
    protocol: number,
    src: number,
    dst: number,
    tos: number,
    ttl: number,
    df: boolean,
    ifIndex: number,
    now: number,
    segmentSize = 0,
  ): number {
    const ipLen = IPV4_MIN_HEADER + l4Len;
    if (ipLen > MAX_IP_PACKET) return -EMSGSIZE;
    writeIpv4Header(buf, ipOff, tos, ipLen, this.nextId(), df ? IPV4_FLAG_DF : 0, ttl, protocol, src, dst);
    const multicast = isMulticastIpv4(dst);
    if (multicast || dst === LIMITED_BROADCAST || this.ifaces.broadcasts.has(dst))
      return this.toGroup(buf, ipOff, ipLen, dst, multicast, ifIndex);
    const egress = this.egress;
    const r = egress.route(dst, 0, ifIndex);
    if (r !== ROUTE_OK) {
      if (r === ROUTE_NONE) this.counters.drops[Drop.IPV4_NO_ROUTE]! += 1;
      return ROUTE_ERRNO[r]!;
    }
    const out = egress.out!;
    if (segmentSize > 0) {
      const headers = IPV4_MIN_HEADER + (buf[ipOff + IPV4_MIN_HEADER + 12]! >>> 4) * 4;
      if (protocol !== IPPROTO_TCP || headers + segmentSize > out.mtu) return -EMSGSIZE;
    } else if (ipLen > out.mtu && df) return -EMSGSIZE;
    egress.send(out, egress.nextHop, buf, ipOff, ipLen, segmentSize, now);
    return 0;
  }

  /**
   * Routes a packet the VR built whole at buf[ipOff..] (TX_HEADROOM free before it); a drop is
   * counted by reason. Returns whether it left (or waits for ARP).
   */
  send(buf: Uint8Array, ipOff: number, ipLen: number, now: number): boolean {
    const egress = this.egress;
    const r = egress.route(rd32(buf, ipOff + 16), 0, -1);
    if (r !== ROUTE_OK) {
      const drops = this.counters.drops;
      if (r === ROUTE_NONE) drops[Drop.IPV4_NO_ROUTE]! += 1;
      else if (r === ROUTE_LOCAL) drops[Drop.IPV4_NOT_FOR_US]! += 1;
      else if (r === ROUTE_DOWN) drops[Drop.INTERFACE_DOWN]! += 1;
      else drops[Drop.IPV4_BLACKHOLE]! += 1;
      return false;
    }
    const out = egress.out!;
    if (ipLen > out.mtu && (rd16(buf, ipOff + 6) & IPV4_FLAG_DF) !== 0) {
      this.counters.drops[Drop.IPV4_FRAG_NEEDED]! += 1;
      return false;
    }
    egress.send(out, egress.nextHop, buf, ipOff, ipLen, 0, now);
    return true;
  }

  /**
   * Link-scoped traffic onto `ifIndex`: the group MAC of RFC 1112 §6.4 (01-00-5E and the group's
   * low 23 bits) or broadcast. Never fragmented here: a group has no neighbour entry to send
   * fragments to.
   */
  private toGroup(
    buf: Uint8Array,
    ipOff: number,
    ipLen: number,
    dst: number,
    multicast: boolean,
    ifIndex: number,
  ): number {
    const out = ifIndex >= 0 ? this.ifaces.list[ifIndex] : undefined;
    if (out === undefined) return -ENETUNREACH;
    if (!out.up) return -ENETDOWN;
    if (ipLen > out.mtu) return -EMSGSIZE;
    const mac = this.groupMac;
    if (multicast) {
      mac[0] = 0x01;
      mac[1] = 0x00;
      mac[2] = 0x5e;
      mac[3] = (dst >>> 16) & 0x7f;
      mac[4] = (dst >>> 8) & 255;
      mac[5] = dst & 255;
    } else mac.fill(255);
    this.link.sendIpv4(out, mac, buf, ipOff, ipLen);
    return 0;
  }
}
