import { ipv6MulticastMac, solicitedNodeMulticast } from '@nexthop/addr';
import {
  Drop,
  ETH_HEADER_LEN,
  ETHERTYPE_IPV6,
  ICMPV6_NEIGHBOR_ADVERTISEMENT,
  ICMPV6_NEIGHBOR_SOLICITATION,
  ICMPV6_ROUTER_ADVERTISEMENT,
  ICMPV6_ROUTER_SOLICITATION,
  IPPROTO_ICMPV6,
  IPV6_HEADER_LEN,
  type Ipv6Header,
  NA_FLAG_OVERRIDE,
  NA_FLAG_ROUTER,
  NA_FLAG_SOLICITED,
  NDP_HOP_LIMIT,
  NDP_OPT_NONCE,
  NDP_OPT_SOURCE_LINK_ADDRESS,
  NDP_OPT_TARGET_LINK_ADDRESS,
  type NdpMessage,
  pseudoHeaderSumIpv6,
  setIcmpv6Checksum,
  writeEthernet,
  writeIpv6Header,
  writeLinkAddressOption,
  writeNeighborAdvertisement,
  writeNeighborSolicitation,
} from '@nexthop/wire';
import { type Counters, Stat } from '../counters.ts';
import type { Interface, InterfaceTable } from '../interfaces.ts';
import { ALL_NODES, type Ipv6Interface, UNSPECIFIED } from '../ipv6/interface6.ts';
import { raInconsistencies } from '../ipv6/ra-consistency.ts';
import type { LinkOutput } from '../link.ts';
import type { Wake } from '../wake.ts';
import { Ipv6AddressIndex } from './address-index.ts';
import {
  type Neighbour,
  NeighbourCache,
  type NeighbourTimers,
  NUD_INCOMPLETE,
  NUD_REACHABLE,
  NUD_STALE,
  type Solicitor,
} from './cache.ts';

/**
 * Neighbor Discovery (RFC 4861) as the IPv6 user of the neighbour state machine (cache.ts): address
 * resolution and reachability (§7.2, §7.3) with Neighbor Solicitations and Advertisements, the
 * answers for our own addresses, and the dispatch of Router Solicitations to the interface's
 * advertiser. The cache is keyed by ids from an Ipv6AddressIndex (address-index.ts: an
 * open-addressing table over the 16 bytes and the interface), so the forwarding path finds a
 * neighbour without building a key.
 */

/** RFC 4861 §10's host and node constants, and the bounds of RFC 6583 §6. */
export interface NdpTimers extends NeighbourTimers {
  /** Neighbour entries of all interfaces together; a new one past it is refused (RFC 6583 §6). */
  maxNeighbours: number;
}

export const DEFAULT_NDP_TIMERS: NdpTimers = {
  // REACHABLE_TIME (the base; §6.3.2's randomisation is left out: the VR is a router, not a host
  // learning it from RAs), RETRANS_TIMER, DELAY_FIRST_PROBE_TIME, MAX_*_SOLICIT.
  reachableMs: 30_000,
  retransmitMs: 1_000,
  delayFirstProbeMs: 5_000,
  maxMulticastSolicit: 3,
  maxUnicastSolicit: 3,
  queuePerNeighbour: 64,
  queueTotal: 1024,
  maxNeighbours: 8192,
};

/** The option of RFC 3971 §5.3.2 as RFC 7527 uses it: one 8-byte unit, 6 bytes of nonce. */
const NONCE_OPTION_LEN = 8;
/** Ethernet's minimum frame (without FCS). */
const MIN_FRAME = 60;

export class Ndp implements Solicitor<number> {
  readonly neighbours: NeighbourCache<number>;
  readonly index = new Ipv6AddressIndex();
  /** Another router's RA on ifIndex disagrees with ours (RFC 4861 §6.2.7: "log"); the VR logs it. */
  onRaInconsistent: ((ifIndex: number, router: Uint8Array, problems: readonly string[]) => void) | null =
    null;
  private readonly timers: NdpTimers;
  private readonly ifaces: InterfaceTable;
  private readonly v6: readonly (Ipv6Interface | undefined)[];
  private readonly link: LinkOutput;
  private readonly counters: Counters;
  private readonly wake: Wake;
  /** Where NS and NA are built: Ethernet, IPv6, the message and its options. */
  private readonly frame = new Uint8Array(ETH_HEADER_LEN + IPV6_HEADER_LEN + 64);
  private readonly target = new Uint8Array(16);
  private readonly group = new Uint8Array(16);
  private readonly groupMac = new Uint8Array(6);

  constructor(
    timers: NdpTimers,
    ifaces: InterfaceTable,
    v6: readonly (Ipv6Interface | undefined)[],
    link: LinkOutput,
    counters: Counters,
    wake: Wake,
  ) {
    this.timers = timers;
    this.neighbours = new NeighbourCache(timers, this, wake);
    this.ifaces = ifaces;
    this.v6 = v6;
    this.link = link;
    this.counters = counters;
    this.wake = wake;
  }

  /** The entry for (ifIndex, buf[off..off+16)), or undefined. Allocates nothing. */
  get(ifIndex: number, buf: Uint8Array, off: number): Neighbour<number> | undefined {
    const id = this.index.find(ifIndex, buf, off);
    return id < 0 ? undefined : this.neighbours.get(ifIndex, id);
  }

  /**
   * Starts resolving a neighbour with no entry (RFC 4861 §7.2.2), or returns null when the table is
   * full (RFC 6583 §6: an attacker scanning a /64 must not fill memory) or there is nothing to
   * solicit from; the caller counts the drop.
   */
  resolve(ifIndex: number, buf: Uint8Array, off: number, now: number): Neighbour<number> | null {
    if (this.neighbours.size >= this.timers.maxNeighbours) {
      this.counters.drops[Drop.NDP_TABLE_FULL]! += 1;
      return null;
    }
    const ifc6 = this.v6[ifIndex];
    if (ifc6 === undefined || (ifc6.linkLocal() === null && ifc6.global() === null)) {
      this.counters.drops[Drop.IPV6_NO_SOURCE_ADDRESS]! += 1;
      return null;
    }
    return this.neighbours.resolve(ifIndex, this.index.add(ifIndex, buf, off), now);
  }

  /**
   * The machine's solicitation (§7.2.2): to the target's solicited-node group while INCOMPLETE, to
   * the neighbour itself while PROBE, from an address of the interface of the target's scope, with
   * our link-layer address.
   */
  solicit(ifIndex: number, id: number, unicastTo: Uint8Array | null): void {
    const target = this.target;
    this.index.addressInto(id, target, 0);
    const ifc6 = this.v6[ifIndex];
    const src = ifc6 === undefined ? null : (ifc6.sourceFor(target, 0) ?? ifc6.linkLocal()?.address ?? null);
    if (src === null) {
      this.counters.drops[Drop.IPV6_NO_SOURCE_ADDRESS]! += 1;
      return;
    }
    this.sendSolicitation(this.ifaces.get(ifIndex), target, src, unicastTo, null);
  }

  /**
   * A Neighbor Solicitation for `target` (RFC 4861 §4.3): from `src` with our source link-layer
   * address option, or from :: (a DAD probe, RFC 4862 §5.4.2) with none and the RFC 7527 nonce.
   */
  sendSolicitation(
    ifc: Interface,
    target: Uint8Array,
    src: Uint8Array | null,
    unicastTo: Uint8Array | null,
    nonce: Uint8Array | null,
  ): void {
    const f = this.frame;
    const icmp = ETH_HEADER_LEN + IPV6_HEADER_LEN;
    let len = writeNeighborSolicitation(f, icmp, target, 0);
    if (src !== null) len += writeLinkAddressOption(f, icmp + len, NDP_OPT_SOURCE_LINK_ADDRESS, ifc.mac, 0);
    if (nonce !== null) {
      f[icmp + len] = NDP_OPT_NONCE;
      f[icmp + len + 1] = NONCE_OPTION_LEN / 8;
      for (let i = 0; i < 6; i++) f[icmp + len + 2 + i] = nonce[i]!;
      len += NONCE_OPTION_LEN;
    }
    const dst = unicastTo !== null ? target : solicitedNodeMulticast(target, 0, this.group, 0);
    const dstMac = unicastTo ?? ipv6MulticastMac(dst, 0, this.groupMac, 0);
    this.emit(ifc, dstMac, src ?? UNSPECIFIED, dst, len);
    this.counters.stats[Stat.NS_SENT]! += 1;
  }

  /**
   * A Neighbor Advertisement for `target` (RFC 4861 §4.4), always with our target link-layer
   * address, from the target itself to `dst` (ff02::1 for an answer to DAD, §7.2.4).
   */
  private sendAdvertisement(
    ifc: Interface,
    target: Uint8Array,
    flags: number,
    dst: Uint8Array,
    dstOff: number,
    dstMac: Uint8Array,
    dstMacOff: number,
  ): void {
    const f = this.frame;
    const icmp = ETH_HEADER_LEN + IPV6_HEADER_LEN;
    let len = writeNeighborAdvertisement(f, icmp, flags, target, 0);
    len += writeLinkAddressOption(f, icmp + len, NDP_OPT_TARGET_LINK_ADDRESS, ifc.mac, 0);
    // The destination is copied before the header is written: it may lie in the frame being built.
    for (let i = 0; i < 16; i++) this.group[i] = dst[dstOff + i]!;
    for (let i = 0; i < 6; i++) this.groupMac[i] = dstMac[dstMacOff + i]!;
    this.emit(ifc, this.groupMac, target, this.group, len);
    this.counters.stats[Stat.NA_SENT]! += 1;
  }

  /** Frames the ICMPv6 message of `len` bytes already in this.frame, with hop limit 255 (§7.1). */
  private emit(ifc: Interface, dstMac: Uint8Array, src: Uint8Array, dst: Uint8Array, len: number): void {
    const f = this.frame;
    const icmp = ETH_HEADER_LEN + IPV6_HEADER_LEN;
    writeIpv6Header(f, ETH_HEADER_LEN, 0, 0, len, IPPROTO_ICMPV6, NDP_HOP_LIMIT, src, 0, dst, 0);
    setIcmpv6Checksum(f, icmp, len, pseudoHeaderSumIpv6(src, 0, dst, 0, IPPROTO_ICMPV6, 0));
    writeEthernet(f, 0, dstMac, 0, ifc.mac, 0, ETHERTYPE_IPV6);
    const n = icmp + len;
    this.link.send(ifc, f, 0, Math.max(n, MIN_FRAME));
  }

  /**
   * A validated NS, NA, RS or RA (wire.decodeNdp: hop limit 255, code 0, option lengths, §6.1 and
   * §7.1) that arrived on `ifc`; `h` is its IPv6 header, buf[frameOff..] its frame.
   */
  input(
    ifc: Interface,
    ifc6: Ipv6Interface,
    h: Ipv6Header,
    m: NdpMessage,
    buf: Uint8Array,
    frameOff: number,
    now: number,
  ): void {
    switch (m.type) {
      case ICMPV6_NEIGHBOR_SOLICITATION:
        return this.solicitation(ifc, ifc6, h, m, buf, frameOff, now);
      case ICMPV6_NEIGHBOR_ADVERTISEMENT:
        return this.advertisement(ifc, ifc6, m, buf, now);
      case ICMPV6_ROUTER_SOLICITATION: {
        this.counters.stats[Stat.RS_RECEIVED]! += 1;
        // §6.2.6: a solicitation with a source link-layer address updates the cache (§7.2.3's rule).
        if (m.sourceLinkAddressOffset >= 0 && !isUnspecified(buf, h.srcOffset))
          this.heard(ifc, buf, h.srcOffset, m.sourceLinkAddressOffset, now);
        const ra = ifc6.ra;
        if (ra !== null) {
          ra.onSolicitation(now);
          this.wake.arm(ra.poll(now));
        }
        return;
      }
      case ICMPV6_ROUTER_ADVERTISEMENT: {
        // Another router on the link: where we advertise too, what it says is checked against
        // what we say (§6.2.7), counted and reported.
        this.counters.stats[Stat.RA_RECEIVED]! += 1;
        const ra = ifc6.ra;
        if (ra === null) return;
        const problems = raInconsistencies(ra.settings, m, buf);
        if (problems.length === 0) return;
        this.counters.stats[Stat.RA_INCONSISTENT]! += 1;
        this.onRaInconsistent?.(ifc.index, buf.slice(h.srcOffset, h.srcOffset + 16), problems);
        return;
      }
      default:
        // A Redirect: only hosts act on them (§8.1).
        this.counters.stats[Stat.NDP_IGNORED]! += 1;
    }
  }

  /** RFC 4861 §7.2.3 (receipt of an NS) and §7.2.4 (sending the answer); RFC 4862 §5.4.3 (DAD). */
  private solicitation(
    ifc: Interface,
    ifc6: Ipv6Interface,
    h: Ipv6Header,
    m: NdpMessage,
    buf: Uint8Array,
    frameOff: number,
    now: number,
  ): void {
    const fromDad = isUnspecified(buf, h.srcOffset);
    const mine = ifc6.find(buf, m.targetOffset);
    if (mine === null) {
      // Not an address of the receiving interface: silently discarded (§7.2.3).
      this.counters.stats[Stat.NDP_IGNORED]! += 1;
      return;
    }
    if (!mine.usable) {
      // A tentative (or duplicate) target is neither answered nor defended; a probe from :: for it
      // is another node's DAD racing ours (RFC 4862 §5.4.3), unless it is our own looped back.
      const nonce = m.nonceOffset >= 0 ? buf.slice(m.nonceOffset, m.nonceOffset + m.nonceLength) : null;
      ifc6.dad.onSolicitation(mine.address, fromDad, nonce);
      this.counters.stats[Stat.NDP_IGNORED]! += 1;
      return;
    }
    let flags = NA_FLAG_ROUTER | NA_FLAG_OVERRIDE;
    if (fromDad) {
      // §7.2.4: to all nodes, not solicited: the prober has no address yet. This defends ours.
      const mac = ipv6MulticastMac(ALL_NODES, 0, this.groupMac, 0);
      this.sendAdvertisement(ifc, mine.address, flags, ALL_NODES, 0, mac, 0);
      return;
    }
    flags |= NA_FLAG_SOLICITED;
    let macBuf = buf;
    let macOff = frameOff + 6;
    if (m.sourceLinkAddressOffset >= 0) {
      const e = this.heard(ifc, buf, h.srcOffset, m.sourceLinkAddressOffset, now);
      macOff = m.sourceLinkAddressOffset;
      if (e !== null) {
        macBuf = e.linkAddress;
        macOff = 0;
      }
    } else {
      // A unicast NS may leave out its address (§7.2.3): the cache's, else the frame's source.
      const e = this.get(ifc.index, buf, h.srcOffset);
      if (e !== undefined && e.state !== NUD_INCOMPLETE) {
        macBuf = e.linkAddress;
        macOff = 0;
      }
    }
    this.sendAdvertisement(ifc, mine.address, flags, buf, h.srcOffset, macBuf, macOff);
  }

  /**
   * A neighbour told us its link-layer address without confirming reachability (§7.2.3, §6.2.6): a
   * new entry or a changed address is STALE; packets that waited for it leave. Null when the table
   * is full.
   */
  private heard(
    ifc: Interface,
    buf: Uint8Array,
    addrOff: number,
    macOff: number,
    now: number,
  ): Neighbour<number> | null {
    let e = this.get(ifc.index, buf, addrOff);
    if (e === undefined) {
      if (this.neighbours.size >= this.timers.maxNeighbours) {
        this.counters.drops[Drop.NDP_TABLE_FULL]! += 1;
        return null;
      }
      e = this.neighbours.getOrCreate(ifc.index, this.index.add(ifc.index, buf, addrOff));
    }
    this.flush(ifc, e, this.neighbours.learn(e, buf, macOff, now));
    return e;
  }

  /** RFC 4861 §7.2.5 (receipt of an NA); RFC 4862 §5.4.4 for our own addresses. */
  private advertisement(
    ifc: Interface,
    ifc6: Ipv6Interface,
    m: NdpMessage,
    buf: Uint8Array,
    now: number,
  ): void {
    const mine = ifc6.find(buf, m.targetOffset);
    if (mine !== null) {
      // Someone else claims our address: a duplicate while tentative, a conflict (kept) after.
      ifc6.dad.onAdvertisement(mine.address);
      this.counters.stats[Stat.NDP_IGNORED]! += 1;
      return;
    }
    const e = this.get(ifc.index, buf, m.targetOffset);
    if (e === undefined) {
      // No entry: an unsolicited advertisement creates none (§7.2.5).
      this.counters.stats[Stat.NDP_IGNORED]! += 1;
      return;
    }
    this.counters.stats[Stat.NA_RECEIVED]! += 1;
    const cache = this.neighbours;
    const tlla = m.targetLinkAddressOffset;
    if (e.state === NUD_INCOMPLETE) {
      if (tlla < 0) return;
      const queued = m.solicited ? cache.confirm(e, buf, tlla, now) : cache.learn(e, buf, tlla, now);
      return this.flush(ifc, e, queued);
    }
    const differs = tlla >= 0 && !sameMac(e.linkAddress, buf, tlla);
    if (!m.override && differs) {
      // §7.2.5: a different address without Override only casts doubt on a REACHABLE entry.
      if (e.state === NUD_REACHABLE) {
        e.state = NUD_STALE;
        e.deadline = now + this.timers.reachableMs;
        this.wake.arm(e.deadline);
      }
      return;
    }
    if (m.solicited)
      this.flush(ifc, e, cache.confirm(e, differs ? buf : e.linkAddress, differs ? tlla : 0, now));
    else if (differs) this.flush(ifc, e, cache.learn(e, buf, tlla, now));
  }

  /** Sends the packets that waited for `e` (copies with Ethernet room in front). */
  flush(ifc: Interface, e: Neighbour<number>, queued: readonly Uint8Array[]): void {
    for (const p of queued) {
      writeEthernet(p, 0, e.linkAddress, 0, ifc.mac, 0, ETHERTYPE_IPV6);
      this.link.send(ifc, p, 0, p.length);
    }
  }

  /** Gives back the index ids of entries the cache let go (their count drifts apart only then). */
  sweep(): void {
    const index = this.index;
    if (index.size === this.neighbours.size) return;
    for (const id of [...index.ids()])
      if (this.neighbours.get(index.ifIndex(id), id) === undefined) index.remove(id);
  }

  /** Removes an interface's entries (all, or those whose address `which` selects). */
  flushInterface(ifIndex: number, which: (address: Uint8Array) => boolean = () => true): number {
    const dropped = this.neighbours.flushInterface(ifIndex, (id) => which(this.index.address(id)));
    this.sweep();
    return dropped;
  }
}

function isUnspecified(buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (buf[off + i] !== 0) return false;
  return true;
}

function sameMac(a: Uint8Array, b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[off + i]) return false;
  return true;
}
