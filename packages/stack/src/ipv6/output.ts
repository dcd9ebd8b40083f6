import { ipv6MulticastMac } from '@nexthop/addr';
import { type Ipv6Fib, NH_FORWARD, NH_LOCAL, NH_REJECT } from '@nexthop/fib';
import {
  copyBytes,
  Drop,
  ETH_HEADER_LEN,
  ETHERTYPE_IPV6,
  IPPROTO_FRAGMENT,
  IPV6_HEADER_LEN,
  IPV6_MIN_MTU,
  wr16,
  wr32,
  writeEthernet,
} from '@nexthop/wire';
import { type Counters, Stat } from '../counters.ts';
import {
  ROUTE_BLACKHOLE,
  ROUTE_DOWN,
  ROUTE_LOCAL,
  ROUTE_NONE,
  ROUTE_OK,
  ROUTE_OTHER_INTERFACE,
  ROUTE_REJECT,
} from '../egress.ts';
import type { Interface, InterfaceTable } from '../interfaces.ts';
import { type LinkOutput, packetBuffer, TX_HEADROOM } from '../link.ts';
import { NUD_INCOMPLETE } from '../neighbour/cache.ts';
import type { Ndp } from '../neighbour/ndp.ts';
import type { RandomSource } from '../sockapi/random.ts';
import type { Ipv6Interface } from './interface6.ts';
import { PathMtuCache } from './pmtu.ts';

export {
  ROUTE_BLACKHOLE,
  ROUTE_DOWN,
  ROUTE_LOCAL,
  ROUTE_NONE,
  ROUTE_OK,
  ROUTE_OTHER_INTERFACE,
  ROUTE_REJECT,
};

/**
 * The one way out of the stack for IPv6, whoever sends (forwarding, echo replies, ICMPv6 errors,
 * redirects): route (one Ipv6Fib lookup) → next hop → neighbour (NDP) → link; and the link-scoped
 * ways (a link-local destination on a named interface, a multicast group). IPv6 is never fragmented
 * on the way (RFC 8200 §5): callers check the MTU and answer Packet Too Big.
 */
export class Output6 {
  /** Filled by route() for ROUTE_OK and ROUTE_DOWN: the egress interface and the next hop. */
  out: Interface | null = null;
  readonly nextHop = new Uint8Array(16);
  /** Where the stack builds its own IPv6 packets, TX_HEADROOM free in front. */
  readonly buf = packetBuffer();
  readonly defaultHopLimit: number;
  /** Set by send() when it refused a packet larger than the egress MTU that it was not to fragment. */
  tooBig = false;

  private readonly fib: Ipv6Fib;
  private readonly ifaces: InterfaceTable;
  private readonly v6: readonly (Ipv6Interface | undefined)[];
  private readonly ndp: Ndp;
  private readonly link: LinkOutput;
  private readonly counters: Counters;
  private readonly groupMac = new Uint8Array(6);
  private readonly random: RandomSource;
  /** Path MTUs that Packet Too Big taught about the VR's own destinations (RFC 8201). */
  readonly pathMtu = new PathMtuCache();
  /** Where fragments of the VR's own packets are built. */
  private readonly fragmentBuf = packetBuffer();

  constructor(
    fib: Ipv6Fib,
    ifaces: InterfaceTable,
    v6: readonly (Ipv6Interface | undefined)[],
    ndp: Ndp,
    link: LinkOutput,
    counters: Counters,
    defaultHopLimit: number,
    random: RandomSource,
  ) {
    this.random = random;
    this.fib = fib;
    this.ifaces = ifaces;
    this.v6 = v6;
    this.ndp = ndp;
    this.link = link;
    this.counters = counters;
    this.defaultHopLimit = defaultHopLimit;
  }

  /**
   * Looks up the destination at buf[dstOff..] (`hash` picks among ECMP members; `oif` >= 0
   * restricts the egress) and returns a ROUTE_* outcome; for ROUTE_OK and ROUTE_DOWN, `out` and
   * `nextHop` (the gateway, or the destination itself on a connected route).
   */
  route(buf: Uint8Array, dstOff: number, hash: number, oif: number): number {
    const fib = this.fib;
    const nh = fib.lookup(buf, dstOff, hash);
    if (nh < 0) return ROUTE_NONE;
    const hops = fib.nextHops;
    const kind = hops.kind(nh);
    if (kind !== NH_FORWARD)
      return kind === NH_LOCAL ? ROUTE_LOCAL : kind === NH_REJECT ? ROUTE_REJECT : ROUTE_BLACKHOLE;
    const out = this.ifaces.list[hops.ifIndex(nh)]!;
    if (oif >= 0 && out.index !== oif) return ROUTE_OTHER_INTERFACE;
    const nextHop = this.nextHop;
    if (
      (hops.gatewayWord(nh, 0) |
        hops.gatewayWord(nh, 1) |
        hops.gatewayWord(nh, 2) |
        hops.gatewayWord(nh, 3)) ===
      0
    )
      for (let i = 0; i < 16; i++) nextHop[i] = buf[dstOff + i]!;
    else hops.gatewayInto(nh, nextHop, 0);
    this.out = out;
    return out.up ? ROUTE_OK : ROUTE_DOWN;
  }

  /**
   * The neighbour step (RFC 4861 §7.2.2, §7.3.3): a resolved neighbour gets the packet at once (a
   * stale one is also checked); an unresolved one gets it queued while NDP asks.
   */
  toNeighbour(
    out: Interface,
    neighbour: Uint8Array,
    neighbourOff: number,
    buf: Uint8Array,
    ipOff: number,
    ipLen: number,
    now: number,
  ): void {
    const ndp = this.ndp;
    const e = ndp.get(out.index, neighbour, neighbourOff);
    if (e !== undefined && e.state !== NUD_INCOMPLETE) {
      ndp.neighbours.use(e, now);
      writeEthernet(buf, ipOff - ETH_HEADER_LEN, e.linkAddress, 0, out.mac, 0, ETHERTYPE_IPV6);
      this.link.send(out, buf, ipOff - ETH_HEADER_LEN, ipLen + ETH_HEADER_LEN);
      return;
    }
    const entry = e ?? ndp.resolve(out.index, neighbour, neighbourOff, now);
    if (entry === null) return;
    const copy = new Uint8Array(TX_HEADROOM + ipLen);
    copyBytes(buf, ipOff, copy, TX_HEADROOM, ipLen);
    if (ndp.neighbours.enqueue(entry, copy)) this.counters.stats[Stat.NDP_QUEUED]! += 1;
    else this.counters.drops[Drop.NDP_QUEUE_FULL]! += 1;
  }

  /** Onto `out` for the multicast group at buf[ipOff+24..] (RFC 2464 §7: 33:33 and its low 32 bits). */
  toGroup(out: Interface, buf: Uint8Array, ipOff: number, ipLen: number): void {
    const mac = ipv6MulticastMac(buf, ipOff + 24, this.groupMac, 0);
    writeEthernet(buf, ipOff - ETH_HEADER_LEN, mac, 0, out.mac, 0, ETHERTYPE_IPV6);
    this.link.send(out, buf, ipOff - ETH_HEADER_LEN, ipLen + ETH_HEADER_LEN);
  }

  /**
   * Sends a packet the VR built whole at buf[ipOff..] (TX_HEADROOM free before it). A link-scoped
   * destination (link-local, or a multicast group) leaves by `ifIndex`; any other is routed. A drop
   * is counted by reason. Larger than the egress MTU (or the path MTU a Packet Too Big taught, RFC
   * 8201), it leaves in fragments, unless `mayFragment`
   * is false: then it is refused, with `tooBig` set, as TCP wants (its segments must fit the path,
   * so it can shrink them; Linux's ip6_xmit gives EMSGSIZE). Returns whether it left (or waits for
   * NDP).
   */
  send(
    buf: Uint8Array,
    ipOff: number,
    ipLen: number,
    ifIndex: number,
    now: number,
    mayFragment = true,
  ): boolean {
    const dst = ipOff + 24;
    const drops = this.counters.drops;
    this.tooBig = false;
    const multicast = buf[dst] === 0xff;
    if (multicast || (buf[dst] === 0xfe && (buf[dst + 1]! & 0xc0) === 0x80)) {
      const out = this.ifaces.list[ifIndex];
      if (out === undefined || !out.up) {
        drops[Drop.INTERFACE_DOWN]! += 1;
        return false;
      }
      if (ipLen > out.mtu) {
        if (!mayFragment) return this.refuseTooBig();
        return this.fragment(out, multicast ? null : buf, dst, buf, ipOff, ipLen, now, out.mtu);
      }
      if (multicast) this.toGroup(out, buf, ipOff, ipLen);
      else this.toNeighbour(out, buf, dst, buf, ipOff, ipLen, now);
      return true;
    }
    const r = this.route(buf, dst, 0, -1);
    if (r !== ROUTE_OK) {
      if (r === ROUTE_NONE) drops[Drop.IPV6_NO_ROUTE]! += 1;
      else if (r === ROUTE_LOCAL) drops[Drop.IPV6_NOT_FOR_US]! += 1;
      else if (r === ROUTE_DOWN) drops[Drop.INTERFACE_DOWN]! += 1;
      else if (r === ROUTE_REJECT) drops[Drop.IPV6_REJECT]! += 1;
      else drops[Drop.IPV6_BLACKHOLE]! += 1;
      return false;
    }
    const out = this.out!;
    const mtu = this.pathMtu.size === 0 ? out.mtu : Math.min(out.mtu, this.pathMtu.lookup(buf, dst, now));
    if (ipLen > mtu) {
      if (!mayFragment) return this.refuseTooBig();
      return this.fragment(out, this.nextHop, 0, buf, ipOff, ipLen, now, mtu);
    }
    this.toNeighbour(out, this.nextHop, 0, buf, ipOff, ipLen, now);
    return true;
  }

  /**
   * A Packet Too Big quoting quote[qOff, qOff+qLen) (the start of a packet the VR sent, RFC 4443
   * §3.2): its destination's path MTU becomes `mtu` (RFC 8201 §4). A quote whose source is not one
   * of the VR's addresses is no packet of ours and teaches nothing. Returns whether it lowered one.
   */
  learnPathMtu(quote: Uint8Array, qOff: number, qLen: number, mtu: number, now: number): boolean {
    if (qLen < IPV6_HEADER_LEN) return false;
    let ours = false;
    for (const ifc6 of this.v6) if ((ifc6?.find(quote, qOff + 8) ?? null) !== null) ours = true;
    return ours && this.pathMtu.learn(quote, qOff + 24, mtu, now);
  }

  private refuseTooBig(): false {
    this.tooBig = true;
    return false;
  }

  /**
   * The VR's own packet (a bare IPv6 header, no extension headers: what the stack builds) larger
   * than the link: fragments as a source makes them (RFC 8200 §4.5), each within the MTU, the
   * Identification drawn at random (RFC 7739 §5). Routers never fragment what they forward; this is
   * only for what the VR originates (echo replies to large requests). `neighbour` null: to the group.
   */
  private fragment(
    out: Interface,
    neighbour: Uint8Array | null,
    neighbourOff: number,
    buf: Uint8Array,
    ipOff: number,
    ipLen: number,
    now: number,
    mtu: number,
  ): boolean {
    if (mtu < IPV6_MIN_MTU) {
      this.counters.drops[Drop.IPV6_PACKET_TOO_BIG]! += 1;
      return false;
    }
    const nextHeader = buf[ipOff + 6]!;
    const payload = ipLen - IPV6_HEADER_LEN;
    const chunkMax = (mtu - IPV6_HEADER_LEN - 8) & ~7;
    const id = this.random.next32();
    const f = this.fragmentBuf;
    const o = TX_HEADROOM;
    for (let done = 0; done < payload; ) {
      const chunk = Math.min(chunkMax, payload - done);
      const more = done + chunk < payload;
      copyBytes(buf, ipOff, f, o, IPV6_HEADER_LEN);
      f[o + 6] = IPPROTO_FRAGMENT;
      wr16(f, o + 4, 8 + chunk);
      f[o + 40] = nextHeader;
      f[o + 41] = 0;
      wr16(f, o + 42, done | (more ? 1 : 0));
      wr32(f, o + 44, id);
      copyBytes(buf, ipOff + IPV6_HEADER_LEN + done, f, o + 48, chunk);
      this.counters.stats[Stat.IPV6_FRAGMENTS_CREATED]! += 1;
      if (neighbour === null) this.toGroup(out, f, o, 48 + chunk);
      else this.toNeighbour(out, neighbour, neighbourOff, f, o, 48 + chunk, now);
      done += chunk;
    }
    return true;
  }

  /**
   * The source for a packet the router originates to dst[off..] leaving by `ifIndex` (RFC 6724 §5,
   * simply): same scope as the destination, a global address of that interface, else any global
   * address of the VR, else (last resort, RFC 6724 rule 2 allows it) that interface's link-local
   * address. Null when the VR has no usable address at all.
   */
  sourceFor(ifIndex: number, dst: Uint8Array, off: number): Uint8Array | null {
    const v6 = this.v6;
    const ifc6 = v6[ifIndex];
    const own = ifc6?.sourceFor(dst, off) ?? null;
    if (own !== null) return own;
    if ((dst[off] === 0xfe && (dst[off + 1]! & 0xc0) === 0x80) || dst[off] === 0xff) return null;
    for (const other of v6) {
      const g = other?.global() ?? null;
      if (g !== null) return g;
    }
    return ifc6?.linkLocal()?.address ?? null;
  }

  /** The interface a packet to dst[off..] would leave by (up or not), or null. */
  interfaceTowards(dst: Uint8Array, off: number): Interface | null {
    const r = this.route(dst, off, 0, -1);
    return r === ROUTE_OK || r === ROUTE_DOWN ? this.out : null;
  }
}
