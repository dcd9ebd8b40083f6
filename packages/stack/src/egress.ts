import { type Ipv4Fib, NH_FORWARD, NH_LOCAL, NH_REJECT } from '@nexthop/fib';
import { copyBytes, Drop, IPPROTO_TCP } from '@nexthop/wire';
import { type Counters, Stat } from './counters.ts';
import { Segmenter } from './gso.ts';
import type { Interface, InterfaceTable } from './interfaces.ts';
import { Fragmenter } from './ipv4/fragment.ts';
import { type LinkOutput, type NextHopOutput, TX_HEADROOM } from './link.ts';
import { type Neighbour, type NeighbourCache, NUD_INCOMPLETE } from './neighbour/cache.ts';

/** What Egress.route found, in the order its checks run. Callers map it to drops, ICMP or errno. */
export const ROUTE_OK = 0;
export const ROUTE_NONE = 1;
export const ROUTE_BLACKHOLE = 2;
export const ROUTE_REJECT = 3;
/** The destination is one of the VR's own addresses or subnet broadcasts. */
export const ROUTE_LOCAL = 4;
/** The route leaves by another interface than the one the sender is bound to. */
export const ROUTE_OTHER_INTERFACE = 5;
/** The route's interface is down (out and nextHop are filled). */
export const ROUTE_DOWN = 6;

/**
 * The one way out of the stack for unicast IPv4, whoever sends (forwarding, the VR's own packets,
 * ICMP errors, sockets, TCP): route (one FIB lookup) → next hop → fit to the link (whole, cut, or
 * fragmented) → neighbour (ARP) → link. Each caller keeps only its own policy: which drop or error
 * a route outcome means, and whether DF allows fragmenting.
 */
export class Egress implements NextHopOutput {
  /** Filled by route() for ROUTE_OK and ROUTE_DOWN: the egress interface and the next hop. */
  out: Interface | null = null;
  nextHop = 0;

  private readonly fib: Ipv4Fib;
  private readonly ifaces: InterfaceTable;
  private readonly neighbours: NeighbourCache<number>;
  private readonly link: LinkOutput;
  private readonly counters: Counters;
  private readonly segmenter: Segmenter;
  private readonly fragmenter: Fragmenter;

  constructor(
    fib: Ipv4Fib,
    ifaces: InterfaceTable,
    neighbours: NeighbourCache<number>,
    link: LinkOutput,
    counters: Counters,
  ) {
    this.fib = fib;
    this.ifaces = ifaces;
    this.neighbours = neighbours;
    this.link = link;
    this.counters = counters;
    this.segmenter = new Segmenter(this, counters);
    this.fragmenter = new Fragmenter(this, counters);
  }

  /**
   * Looks `dst` up (`hash` picks among ECMP members; `oif` >= 0 restricts the egress to that
   * interface) and returns a ROUTE_* outcome; for ROUTE_OK and ROUTE_DOWN, `out` and `nextHop`.
   */
  route(dst: number, hash: number, oif: number): number {
    const nh = this.fib.lookup(dst, hash);
    if (nh < 0) return ROUTE_NONE;
    const hops = this.fib.nextHops;
    const kind = hops.kind(nh);
    if (kind !== NH_FORWARD)
      return kind === NH_LOCAL ? ROUTE_LOCAL : kind === NH_REJECT ? ROUTE_REJECT : ROUTE_BLACKHOLE;
    const out = this.ifaces.list[hops.ifIndex(nh)]!;
    if (oif >= 0 && out.index !== oif) return ROUTE_OTHER_INTERFACE;
    const gateway = hops.gateway(nh);
    this.out = out;
    this.nextHop = gateway !== 0 ? gateway : dst;
    return out.up ? ROUTE_OK : ROUTE_DOWN;
  }

  /** Whether route()'s flow hash can matter: only a FIB with ECMP groups spreads flows. */
  get spreadsFlows(): boolean {
    return this.fib.multipathGroupsInUse > 0;
  }

  /** The interface a packet to `dst` would leave by, up or not (to choose a source address). */
  interfaceTowards(dst: number): Interface | null {
    const r = this.route(dst, 0, -1);
    return r === ROUTE_OK || r === ROUTE_DOWN ? this.out : null;
  }

  /**
   * Sends the packet at buf[ipOff, ipOff+ipLen) (TX_HEADROOM free before it) to `nextHop` on `out`,
   * fitted to the link. `segmentSize` > 0 marks a TCP or UDP aggregate: a TCP one goes whole to a
   * link that segments it (within its maxSegmentOffload, each segment within the MTU), anything
   * else is cut here. Other packets above the MTU are fragmented: the caller has checked DF.
   */
  send(
    out: Interface,
    nextHop: number,
    buf: Uint8Array,
    ipOff: number,
    ipLen: number,
    segmentSize: number,
    now: number,
  ): void {
    if (segmentSize > 0) {
      if (
        buf[ipOff + 9] === IPPROTO_TCP &&
        ipLen <= out.maxSegmentOffload &&
        aggregateHeaders(buf, ipOff) + segmentSize <= out.mtu
      )
        this.toNextHop(out, nextHop, buf, ipOff, ipLen, segmentSize, now);
      else this.segmenter.cut(out, nextHop, buf, ipOff, segmentSize, now);
    } else if (ipLen <= out.mtu) this.toNextHop(out, nextHop, buf, ipOff, ipLen, 0, now);
    else this.fragmenter.fragment(out, nextHop, buf, ipOff, now);
  }

  /**
   * The neighbour step (RFC 1122 §2.3.2): a resolved next hop gets the packet at once (a stale one
   * is also probed); an unresolved one gets it queued while ARP asks.
   */
  toNextHop(
    out: Interface,
    nextHop: number,
    buf: Uint8Array,
    ipOff: number,
    ipLen: number,
    segmentSize: number,
    now: number,
  ): void {
    const neighbours = this.neighbours;
    const e = neighbours.get(out.index, nextHop | 0);
    if (e === undefined || e.state === NUD_INCOMPLETE)
      return this.unresolved(out, nextHop, e, buf, ipOff, ipLen, segmentSize, now);
    neighbours.use(e, now);
    if (segmentSize > 0) this.counters.stats[Stat.AGGREGATES_OFFLOADED]! += 1;
    this.link.sendIpv4(out, e.linkAddress, buf, ipOff, ipLen, segmentSize);
  }

  /** A packet for a next hop being resolved (`e`) or not yet asked for (undefined) waits for ARP. */
  private unresolved(
    out: Interface,
    nextHop: number,
    e: Neighbour<number> | undefined,
    buf: Uint8Array,
    ipOff: number,
    ipLen: number,
    segmentSize: number,
    now: number,
  ): void {
    // The queue holds plain packets: an aggregate waits there as its segments.
    if (segmentSize > 0) return this.segmenter.cut(out, nextHop, buf, ipOff, segmentSize, now);
    if (out.addresses.length === 0) {
      // Nothing to ARP from. A next hop off the interface's subnets is fine (an interface route):
      // the request goes out from the interface's first address, as Linux does.
      this.counters.drops[Drop.ARP_RESOLUTION_FAILED]! += 1;
      return;
    }
    const neighbours = this.neighbours;
    const entry = e ?? neighbours.resolve(out.index, nextHop | 0, now);
    const copy = new Uint8Array(TX_HEADROOM + ipLen);
    copyBytes(buf, ipOff, copy, TX_HEADROOM, ipLen);
    if (neighbours.enqueue(entry, copy)) this.counters.stats[Stat.ARP_QUEUED]! += 1;
    else this.counters.drops[Drop.ARP_QUEUE_FULL]! += 1;
  }
}

/** IP and TCP header bytes of the TCP aggregate at buf[ipOff..]: what every segment repeats. */
function aggregateHeaders(buf: Uint8Array, ipOff: number): number {
  const hl = (buf[ipOff]! & 15) * 4;
  return hl + (buf[ipOff + hl + 12]! >>> 4) * 4;
}
