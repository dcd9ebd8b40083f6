import { eui64InterfaceId, formatIpv6, formatMac, ipv6MulticastMac, maskIpv6 } from '@nexthop/addr';
import {
  ALL_MLDV2_ROUTERS,
  Drop,
  ETH_HEADER_LEN,
  ETHERTYPE_IPV6,
  ICMPV6_MLDV1_DONE,
  ICMPV6_MLDV1_REPORT,
  ICMPV6_ROUTER_ADVERTISEMENT,
  IPPROTO_ICMPV6,
  IPV6_HEADER_LEN,
  MLD_CHANGE_TO_EXCLUDE,
  MLD_CHANGE_TO_INCLUDE,
  MLD_MODE_IS_EXCLUDE,
  NDP_HOP_LIMIT,
  NDP_OPT_SOURCE_LINK_ADDRESS,
  PREFIX_FLAG_AUTONOMOUS,
  PREFIX_FLAG_ON_LINK,
  pseudoHeaderSumIpv6,
  RA_FLAG_MANAGED,
  RA_FLAG_OTHER,
  RA_LEN,
  setIcmpv6Checksum,
  wr16,
  wr32,
  writeEthernet,
  writeIpv6Header,
  writeLinkAddressOption,
  writeMldv1Packet,
  writeMldv2Report,
  writeMtuOption,
  writePrefixInformationOption,
  writeRdnssOption,
} from '@nexthop/wire';
import { type Counters, Stat } from '../counters.ts';
import type { Interface, InterfaceTable } from '../interfaces.ts';
import type { LinkOutput } from '../link.ts';
import { NEIGHBOUR_STATE_NAMES, NUD_INCOMPLETE } from '../neighbour/cache.ts';
import type { Ndp } from '../neighbour/ndp.ts';
import { ENODEV } from '../sockapi/errno.ts';
import type { RandomSource } from '../sockapi/random.ts';
import type { Wake } from '../wake.ts';
import {
  ADDR_DUPLICATE,
  ADDR_PREFERRED,
  ADDR_STATE_NAMES,
  ADDR_TENTATIVE,
  type AddrState,
  DEFAULT_RETRANS_TIMER_MS,
  DuplicateAddressDetector,
} from './dad.ts';
import type { MldListener } from './icmpv6-input.ts';
import {
  Address6,
  ALL_NODES,
  ALL_ROUTERS,
  Ipv6Interface,
  inPrefix,
  solicitedNode,
  UNSPECIFIED,
} from './interface6.ts';
import { type RaConfig, RouterAdvertiser } from './router-advertiser.ts';
import type { RouteTable6 } from './routes.ts';
import { IDGEN_RETRIES, type Prf, stableInterfaceId } from './stable-iid.ts';

/** What `Stack.interfaces()` shows of an interface's IPv6 addresses. */
export interface Address6Info {
  address: string;
  length: number;
  state: 'tentative' | 'preferred' | 'duplicate';
}

/** A neighbour as `Stack.neighbors()` shows it (the IPv6 ones; the stack adds ARP's). */
export interface NeighborInfo {
  family: 4 | 6;
  address: string;
  mac: string | null;
  interface: string;
  state: string;
  ageMs: number;
}

export interface Ipv6Settings {
  /** RFC 4862 §5.1 DupAddrDetectTransmits: probes per address; 0 turns DAD off. Default 1. */
  dadTransmits: number;
  /** RFC 4861 RetransTimer between DAD probes, ms. */
  retransTimerMs: number;
}

const FE80 = new Uint8Array([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
/**
 * RFC 3810 §9.12: Robustness × Query Interval + Query Response Interval, with the defaults of §9.1,
 * §9.2 and §9.3 (2 × 125 s + 10 s).
 */
const OLDER_VERSION_QUERIER_PRESENT_MS = 260_000;
const DISTANCE_CONNECTED = 0;
const DISTANCE_LOCAL = 0;

/**
 * The IPv6 configuration of the VR's interfaces and the engines behind it: link-local addresses
 * (RFC 4862 §5.3, with RFC 7217 identifiers when a PRF is given), DAD for every address (dad.ts),
 * the groups joined and their MLDv2 reports (RFC 3810, as a listener: the VR is no querier),
 * connected and local routes, and Router Advertisements (router-advertiser.ts) with their options.
 */
export class Ipv6Control implements MldListener {
  /** By interface index, like InterfaceTable.list (shared with NDP, output and input). */
  readonly list: (Ipv6Interface | undefined)[];
  private readonly ifaces: InterfaceTable;
  private readonly routes: RouteTable6;
  private readonly ndp: Ndp;
  private readonly link: LinkOutput;
  private readonly counters: Counters;
  private readonly wake: Wake;
  private readonly random: () => number;
  private readonly prf: Prf | null;
  private readonly settings: Ipv6Settings;
  /** Addresses whose DAD waits for the interface to be up and a `now` (the next poll). */
  private readonly pending: Address6[] = [];
  /** Automatic link-local addresses that met a duplicate and get their next identifier (RFC 7217 §6). */
  private readonly regenerate: Address6[] = [];
  private readonly frame = new Uint8Array(ETH_HEADER_LEN + 1500);
  /** The latest time poll or a query brought (joins and leaves come without a clock). */
  private now = 0;
  private readonly mac = new Uint8Array(6);

  constructor(
    ifaces: InterfaceTable,
    routes: RouteTable6,
    ndp: Ndp,
    link: LinkOutput,
    counters: Counters,
    wake: Wake,
    random: RandomSource,
    prf: Prf | null,
    settings: Ipv6Settings,
    list: (Ipv6Interface | undefined)[],
  ) {
    this.list = list;
    this.ifaces = ifaces;
    this.routes = routes;
    this.ndp = ndp;
    this.link = link;
    this.counters = counters;
    this.wake = wake;
    this.random = () => random.next32() / 4294967296;
    this.prf = prf;
    this.settings = settings;
  }

  /**
   * A new interface: all-nodes and all-routers joined (RFC 4291 §2.8) and its link-local address
   * made (fe80::/64 and an RFC 7217 identifier, or the modified EUI-64 of its MAC without a PRF,
   * RFC 4291 App. A). DAD and the first MLD report wait for the next poll: adding an interface
   * takes no time and sends nothing.
   */
  addInterface(ifc: Interface): void {
    const index = ifc.index;
    const dad = new DuplicateAddressDetector({
      transmits: this.settings.dadTransmits,
      retransTimerMs: this.settings.retransTimerMs,
      random: this.random,
      sink: {
        sendProbe: (target, nonce) => {
          const i = this.ifaces.get(index);
          if (i.up) this.ndp.sendSolicitation(i, target, null, null, nonce);
        },
        stateChanged: (target, state) => this.dadResult(index, target, state),
      },
    });
    const ifc6 = new Ipv6Interface(index, dad);
    this.list[index] = ifc6;
    ifc6.join(ALL_NODES);
    ifc6.join(ALL_ROUTERS);
    this.addLinkLocal(ifc6, 0);
  }

  private addLinkLocal(ifc6: Ipv6Interface, dadCounter: number): void {
    const ifc = this.ifaces.get(ifc6.index);
    const address = FE80.slice();
    if (this.prf !== null) address.set(stableInterfaceId(this.prf, FE80, ifc.name, dadCounter), 8);
    else eui64InterfaceId(ifc.mac, 0, address, 8);
    const a = new Address6(address, 64, true, dadCounter);
    this.attach(ifc6, a);
    this.pending.push(a);
    this.wake.arm(0);
  }

  /** Puts an address on an interface: its solicited-node group joined first (RFC 4862 §5.4.2). */
  private attach(ifc6: Ipv6Interface, a: Address6): void {
    if (this.settings.dadTransmits === 0) a.state = ADDR_PREFERRED;
    ifc6.insert(a);
    ifc6.join(solicitedNode(a.address));
  }

  /**
   * A socket joins `group` on ifIndex (IPV6_JOIN_GROUP): the interface then accepts it, and a new
   * membership is reported at once (RFC 3810 §6.1: a state change, TO_EX({})). 0, or -errno.
   */
  joinGroup(ifIndex: number, group: Uint8Array): number {
    const ifc = this.ifaces.list[ifIndex];
    const ifc6 = this.list[ifIndex];
    if (ifc === undefined || ifc6 === undefined || ifc.removed) return -ENODEV;
    if (ifc6.join(group) && ifc.up) this.reportGroups(ifc, ifc6, MLD_CHANGE_TO_EXCLUDE, group, 1);
    return 0;
  }

  /** The socket's membership ends; the last one out reports TO_IN({}) (RFC 3810 §6.1). */
  leaveGroup(ifIndex: number, group: Uint8Array): void {
    const ifc = this.ifaces.list[ifIndex];
    const ifc6 = this.list[ifIndex];
    if (ifc === undefined || ifc6 === undefined) return;
    if (ifc6.leave(group) && ifc.up && !ifc.removed)
      this.reportGroups(ifc, ifc6, MLD_CHANGE_TO_INCLUDE, group, 1);
  }

  /** The usable link-local address of ifIndex, or null. */
  linkLocalOf(ifIndex: number): Uint8Array | null {
    const a = this.list[ifIndex]?.linkLocal() ?? null;
    return a?.usable === true ? a.address : null;
  }

  /** See Stack.addAddress6. */
  addAddress(ifIndex: number, address: Uint8Array, length: number, now: number): void {
    const ifc = this.ifaces.get(ifIndex);
    const ifc6 = this.list[ifIndex]!;
    if (!(address instanceof Uint8Array) || address.length !== 16)
      throw new RangeError('an IPv6 address is 16 bytes');
    if (!Number.isInteger(length) || length < 1 || length > 128)
      throw new RangeError(`bad prefix length ${length}`);
    if (address[0] === 0xff || isZeroOrLoopback(address))
      throw new RangeError(`${formatIpv6(address)} cannot be an interface address (RFC 4291)`);
    if (ifc6.find(address, 0) !== null) return;
    const a = new Address6(address, length, false, 0);
    const isNewGroup = !ifc6.joined(solicitedNode(a.address), 0);
    this.attach(ifc6, a);
    if (!a.linkLocal) {
      // The prefix is on-link at once (as Linux does): the link is there whether or not our address
      // on it turns out unique. The /128 is there at once too, so that packets to a tentative
      // address are dropped rather than forwarded back onto the link; input refuses them (§5.4).
      if (length < 128) {
        const network = a.address.slice();
        maskIpv6(network, 0, length);
        this.routes.add({
          network,
          length,
          protocol: 'connected',
          type: 'unicast',
          via: null,
          ifIndex,
          distance: DISTANCE_CONNECTED,
        });
      }
      this.routes.add({
        network: a.address,
        length: 128,
        protocol: 'local',
        type: 'local',
        via: null,
        ifIndex,
        distance: DISTANCE_LOCAL,
      });
    }
    if (ifc.up) {
      if (isNewGroup) this.report(ifc, ifc6, MLD_CHANGE_TO_EXCLUDE);
      this.startDad(ifc6, a, now);
    } else this.pending.push(a);
  }

  /** See Stack.removeAddress6. */
  removeAddress(ifIndex: number, address: Uint8Array, length: number, _now: number): boolean {
    const ifc = this.ifaces.get(ifIndex);
    const ifc6 = this.list[ifIndex]!;
    const a = ifc6.find(address, 0);
    if (a === null || a.length !== length) return false;
    this.detach(ifc, ifc6, a);
    if (!a.linkLocal) {
      const onIf = (s: { ifIndex: number; protocol: string }) =>
        s.ifIndex === ifIndex && s.protocol !== 'static';
      const network = a.address.slice();
      maskIpv6(network, 0, length);
      const shared = ifc6.addresses.some(
        (b) => !b.linkLocal && b.length === length && inPrefix(network, length, b.address, 0),
      );
      if (!shared && length < 128) this.routes.remove(network, length, onIf);
      this.routes.remove(a.address, 128, onIf);
    }
    // Neighbours no longer on a prefix of the interface are unreachable through it.
    this.counters.drops[Drop.INTERFACE_DOWN]! += this.ndp.flushInterface(
      ifIndex,
      (addr) => !ifc6.onLink(addr, 0),
    );
    return true;
  }

  private detach(ifc: Interface, ifc6: Ipv6Interface, a: Address6): void {
    ifc6.remove(a);
    ifc6.dad.remove(a.address);
    const p = this.pending.indexOf(a);
    if (p >= 0) this.pending.splice(p, 1);
    const group = solicitedNode(a.address);
    if (ifc6.leave(group) && ifc.up) this.reportGroups(ifc, ifc6, MLD_CHANGE_TO_INCLUDE, group, 1);
  }

  private startDad(ifc6: Ipv6Interface, a: Address6, now: number): void {
    if (a.state === ADDR_PREFERRED && this.settings.dadTransmits === 0) return;
    ifc6.dad.add(a.address, now);
    this.wake.arm(ifc6.dad.poll(now));
  }

  /** DAD settled an address (RFC 4862 §5.4.5; RFC 7217 §6 for the automatic link-local one). */
  private dadResult(ifIndex: number, target: Uint8Array, state: AddrState): void {
    const ifc6 = this.list[ifIndex]!;
    const a = ifc6.find(target, 0);
    if (a === null) return;
    ifc6.setState(a, state);
    if (state === ADDR_PREFERRED) {
      this.counters.stats[Stat.DAD_PREFERRED]! += 1;
      // The reports sent so far came from :: (RFC 3810 §5.2.13); now there is a link-local source,
      // say it again, once (Linux's ipv6_mc_dad_complete).
      if (a.linkLocal && ifc6.linkLocal() === a) {
        const ifc = this.ifaces.get(ifIndex);
        if (ifc.up) this.report(ifc, ifc6, MLD_CHANGE_TO_EXCLUDE);
      }
    } else if (state === ADDR_DUPLICATE) {
      this.counters.stats[Stat.DAD_DUPLICATES]! += 1;
      if (a.auto && this.prf !== null && a.dadCounter < IDGEN_RETRIES) {
        this.regenerate.push(a);
        this.wake.arm(0);
      }
    }
  }

  /**
   * An interface came up (again) or went down. Up, every address runs DAD anew (RFC 4862 §5.4: on
   * (re)initialisation) and the groups are reported; down, its neighbours go.
   */
  setUp(ifIndex: number, up: boolean, now: number): number {
    const ifc6 = this.list[ifIndex];
    if (ifc6 === undefined) return 0;
    if (!up) return this.ndp.flushInterface(ifIndex);
    const ifc = this.ifaces.get(ifIndex);
    this.report(ifc, ifc6, MLD_CHANGE_TO_EXCLUDE);
    for (const a of ifc6.addresses) {
      if (this.settings.dadTransmits === 0) continue;
      ifc6.dad.remove(a.address);
      ifc6.setState(a, ADDR_TENTATIVE);
      this.startDad(ifc6, a, now);
    }
    return 0;
  }

  /** Takes every address off a removed interface and stops its advertisements without a word. */
  removeInterface(ifIndex: number, now: number): void {
    const ifc6 = this.list[ifIndex];
    if (ifc6 === undefined) return;
    for (const a of [...ifc6.addresses]) this.removeAddress(ifIndex, a.address, a.length, now);
    ifc6.ra = null;
  }

  /** See Stack.setRouterAdvertisements. */
  setRouterAdvertisements(ifIndex: number, config: RaConfig | null, now: number): void {
    const ifc = this.ifaces.get(ifIndex);
    const ifc6 = this.list[ifIndex]!;
    if (config === null) {
      ifc6.ra?.stop(now);
    } else if (ifc6.ra === null) {
      ifc6.ra = new RouterAdvertiser(config, this.random, {
        sendRa: (c, lifetime) => this.sendRa(ifc, ifc6, c, lifetime),
      });
      ifc6.ra.start(now);
    } else {
      ifc6.ra.reconfigure(config, now);
      if (!ifc6.ra.advertising) ifc6.ra.start(now);
    }
    if (ifc6.ra !== null) this.wake.arm(ifc6.ra.poll(now));
  }

  /**
   * A Router Advertisement (RFC 4861 §4.2, §6.2.3) to all nodes from the interface's link-local
   * address with hop limit 255: the configured hop limit, M and O flags, lifetimes and timers, then
   * our link-layer address, the MTU, the prefixes and the DNS servers (RFC 8106 §5.1).
   */
  private sendRa(ifc: Interface, ifc6: Ipv6Interface, c: RaConfig, lifetimeS: number): void {
    const ll = ifc6.linkLocal();
    if (!ifc.up) return;
    if (ll === null) {
      this.counters.drops[Drop.IPV6_NO_SOURCE_ADDRESS]! += 1;
      return;
    }
    const f = this.frame;
    const icmp = ETH_HEADER_LEN + IPV6_HEADER_LEN;
    f[icmp] = ICMPV6_ROUTER_ADVERTISEMENT;
    f[icmp + 1] = 0;
    wr16(f, icmp + 2, 0);
    f[icmp + 4] = c.curHopLimit;
    f[icmp + 5] = (c.managed ? RA_FLAG_MANAGED : 0) | (c.otherConfig ? RA_FLAG_OTHER : 0);
    wr16(f, icmp + 6, lifetimeS);
    wr32(f, icmp + 8, c.reachableTimeMs);
    wr32(f, icmp + 12, c.retransTimerMs);
    let len = RA_LEN;
    len += writeLinkAddressOption(f, icmp + len, NDP_OPT_SOURCE_LINK_ADDRESS, ifc.mac, 0);
    if (c.linkMtu !== 0) len += writeMtuOption(f, icmp + len, c.linkMtu);
    const room = Math.min(ifc.mtu, this.frame.length - ETH_HEADER_LEN) - IPV6_HEADER_LEN;
    for (const p of c.prefixes) {
      if (len + 32 > room) break;
      const flags = (p.onLink ? PREFIX_FLAG_ON_LINK : 0) | (p.autonomous ? PREFIX_FLAG_AUTONOMOUS : 0);
      len += writePrefixInformationOption(
        f,
        icmp + len,
        p.length,
        flags,
        p.validLifetimeS,
        p.preferredLifetimeS,
        p.prefix,
        0,
      );
    }
    const dns = c.dnsServers.length;
    if (dns > 0 && len + 8 + 16 * dns <= room) {
      const packed = new Uint8Array(16 * dns);
      for (let i = 0; i < dns; i++) packed.set(c.dnsServers[i]!, 16 * i);
      len += writeRdnssOption(f, icmp + len, c.dnsLifetimeS, packed, 0, dns);
    }
    writeIpv6Header(f, ETH_HEADER_LEN, 0, 0, len, IPPROTO_ICMPV6, NDP_HOP_LIMIT, ll.address, 0, ALL_NODES, 0);
    setIcmpv6Checksum(f, icmp, len, pseudoHeaderSumIpv6(ll.address, 0, ALL_NODES, 0, IPPROTO_ICMPV6, 0));
    writeEthernet(f, 0, ipv6MulticastMac(ALL_NODES, 0, this.mac, 0), 0, ifc.mac, 0, ETHERTYPE_IPV6);
    this.link.send(ifc, f, 0, icmp + len);
    this.counters.stats[Stat.RA_SENT]! += 1;
  }

  /**
   * RFC 3810 §6.2: a query asks for our groups within its Maximum Response Delay (random part of
   * it). An MLDv1 query (RFC 2710) puts the interface in MLDv1 mode for the Older Version Querier
   * Present timeout (§8.2.1, §9.12), so that an MLDv1 router hears reports it understands.
   */
  onQuery(ifc6: Ipv6Interface, maxResponseDelayMs: number, version: number, now: number): void {
    this.now = now;
    if (version === 1) {
      ifc6.v1QuerierUntil = now + OLDER_VERSION_QUERIER_PRESENT_MS;
      // A poll when it runs out, so the clock this module keeps moves past it.
      this.wake.arm(ifc6.v1QuerierUntil);
    }
    const due = now + this.random() * maxResponseDelayMs;
    if (due < ifc6.reportDue) ifc6.reportDue = due;
    this.wake.arm(ifc6.reportDue);
  }

  /** An MLDv2 report of every group joined on the interface but all-nodes (RFC 3810 §6). */
  private report(ifc: Interface, ifc6: Ipv6Interface, recordType: number): void {
    const groups = ifc6.groups.filter((g) => !sameBytes(g, ALL_NODES));
    if (groups.length === 0) return;
    const packed = new Uint8Array(16 * groups.length);
    for (let i = 0; i < groups.length; i++) packed.set(groups[i]!, 16 * i);
    this.reportGroups(ifc, ifc6, recordType, packed, groups.length);
  }

  /**
   * RFC 3810 §5.2: from the link-local address, or :: while there is none yet (§5.2.13). With an
   * MLDv1 querier present (§8.2.1) the same news goes as MLDv1 messages: a Report per group for a
   * join or an answer, a Done per group for a leave (RFC 2710 §4) — never for all-nodes, and not
   * from :: (RFC 2710 has no unspecified source; the report follows when DAD is over).
   */
  private reportGroups(
    ifc: Interface,
    ifc6: Ipv6Interface,
    recordType: number,
    groups: Uint8Array,
    count: number,
  ): void {
    const src = ifc6.linkLocal()?.address ?? UNSPECIFIED;
    const f = this.frame;
    if (this.now < ifc6.v1QuerierUntil) {
      if (src === UNSPECIFIED) return;
      const type = recordType === MLD_CHANGE_TO_INCLUDE ? ICMPV6_MLDV1_DONE : ICMPV6_MLDV1_REPORT;
      for (let i = 0; i < count; i++) {
        if (sameAt(groups, 16 * i, ALL_NODES)) continue;
        const len = writeMldv1Packet(f, ETH_HEADER_LEN, src, 0, type, groups, 16 * i);
        writeEthernet(
          f,
          0,
          ipv6MulticastMac(f, ETH_HEADER_LEN + 24, this.mac, 0),
          0,
          ifc.mac,
          0,
          ETHERTYPE_IPV6,
        );
        this.link.send(ifc, f, 0, ETH_HEADER_LEN + len);
        this.counters.stats[Stat.MLD_REPORTS_SENT]! += 1;
      }
      return;
    }
    const max = Math.floor((ifc.mtu - IPV6_HEADER_LEN - 8 - 8) / 20);
    for (let first = 0; first < count; first += max) {
      const n = Math.min(max, count - first);
      const len = writeMldv2Report(f, ETH_HEADER_LEN, src, 0, recordType, groups, 16 * first, n);
      writeEthernet(f, 0, ipv6MulticastMac(ALL_MLDV2_ROUTERS, 0, this.mac, 0), 0, ifc.mac, 0, ETHERTYPE_IPV6);
      this.link.send(ifc, f, 0, ETH_HEADER_LEN + len);
      this.counters.stats[Stat.MLD_REPORTS_SENT]! += 1;
    }
  }

  /** Runs DAD, advertisements and reports that are due; arms the next deadline. */
  poll(now: number): void {
    this.now = now;
    const wake = this.wake;
    if (this.regenerate.length > 0) {
      for (const a of this.regenerate.splice(0)) {
        const ifc6 = this.list.find((i) => i?.addresses.includes(a));
        if (ifc6 === undefined) continue;
        const ifc = this.ifaces.get(ifc6.index);
        this.detach(ifc, ifc6, a);
        this.addLinkLocal(ifc6, a.dadCounter + 1);
      }
    }
    if (this.pending.length > 0) {
      const waiting = this.pending.splice(0);
      const reported = new Set<Ipv6Interface>();
      for (const a of waiting) {
        const ifc6 = this.list.find((i) => i?.addresses.includes(a));
        if (ifc6 === undefined) continue;
        const ifc = this.ifaces.get(ifc6.index);
        if (!ifc.up || ifc.removed) {
          this.pending.push(a);
          continue;
        }
        if (!reported.has(ifc6)) {
          reported.add(ifc6);
          this.report(ifc, ifc6, MLD_CHANGE_TO_EXCLUDE);
        }
        this.startDad(ifc6, a, now);
      }
    }
    for (const ifc6 of this.list) {
      if (ifc6 === undefined) continue;
      wake.arm(ifc6.dad.poll(now));
      if (ifc6.ra !== null) wake.arm(ifc6.ra.poll(now));
      if (now >= ifc6.reportDue) {
        ifc6.reportDue = Number.POSITIVE_INFINITY;
        const ifc = this.ifaces.get(ifc6.index);
        if (ifc.up) this.report(ifc, ifc6, MLD_MODE_IS_EXCLUDE);
      }
      wake.arm(ifc6.reportDue);
      if (ifc6.v1QuerierUntil > now) wake.arm(ifc6.v1QuerierUntil);
    }
  }

  // ---- observation -------------------------------------------------------------------------------

  addresses(ifIndex: number): Address6Info[] {
    return (this.list[ifIndex]?.addresses ?? []).map((a) => ({
      address: formatIpv6(a.address),
      length: a.length,
      state: ADDR_STATE_NAMES[a.state],
    }));
  }

  neighbors(now: number): NeighborInfo[] {
    const out: NeighborInfo[] = [];
    const index = this.ndp.index;
    for (const e of this.ndp.neighbours.entries()) {
      const incomplete = e.state === NUD_INCOMPLETE;
      out.push({
        family: 6,
        address: formatIpv6(index.address(e.address)),
        mac: incomplete ? null : formatMac(e.linkAddress),
        interface: this.ifaces.list[e.ifIndex]!.name,
        state: NEIGHBOUR_STATE_NAMES[e.state]!,
        ageMs: incomplete ? 0 : now - e.updatedAt,
      });
    }
    return out;
  }

  /** The up interface with a connected prefix holding addr[..16), or -1 (resolves static gateways). */
  connectedInterface(addr: Uint8Array): number {
    for (const ifc6 of this.list) {
      if (ifc6 === undefined || !this.ifaces.list[ifc6.index]!.up) continue;
      for (const a of ifc6.addresses)
        if (!a.linkLocal && a.length < 128 && inPrefix(a.address, a.length, addr, 0)) return ifc6.index;
    }
    return -1;
  }
}

export const DEFAULT_IPV6_SETTINGS: Ipv6Settings = {
  dadTransmits: 1,
  retransTimerMs: DEFAULT_RETRANS_TIMER_MS,
};

function isZeroOrLoopback(a: Uint8Array): boolean {
  for (let i = 0; i < 15; i++) if (a[i] !== 0) return false;
  return a[15] === 0 || a[15] === 1;
}

function sameAt(buf: Uint8Array, off: number, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (buf[off + i] !== b[i]) return false;
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

export { ADDR_DUPLICATE, ADDR_PREFERRED, ADDR_TENTATIVE };
