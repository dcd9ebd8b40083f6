import { ipv4Mask } from '@nexthop/addr';
import { Ipv4Fib, Ipv6Fib, type Ipv6FibOptions } from '@nexthop/fib';
import type { FrameNode, FrameOutput } from '@nexthop/interface';
import { Rib } from '@nexthop/rib';
import {
  Drop,
  ETH_HEADER_LEN,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_QINQ,
  ETHERTYPE_VLAN,
  FRAME_L4_CHECKSUM_GOOD,
  FRAME_SEGMENT_MASK,
  ICMP_DEST_UNREACHABLE,
  ICMP_TIME_EXCEEDED,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_TIME_EXCEEDED,
  IPPROTO_TCP,
  IPV4_MIN_HEADER,
  IPV6_HEADER_LEN,
  Ipv6Header,
  rd16,
  TIME_EXCEEDED_REASSEMBLY,
  TIME_EXCEEDED6_REASSEMBLY,
  UNREACH_HOST,
  UNREACH6_ADDRESS,
} from '@nexthop/wire';
import { Counters } from './counters.ts';
import { Egress } from './egress.ts';
import { type EchoOptions, IcmpEcho } from './icmp/echo.ts';
import { IcmpErrors } from './icmp/errors.ts';
import { type IcmpEvent, IcmpInput } from './icmp/input.ts';
import {
  IF_RX_BYTES,
  IF_RX_FRAMES,
  type Interface,
  type InterfaceSpec,
  InterfaceTable,
} from './interfaces.ts';
import { Delivery } from './ipv4/deliver.ts';
import { Forwarder } from './ipv4/forward.ts';
import { Ipv4Input } from './ipv4/input.ts';
import { LocalOutput } from './ipv4/output.ts';
import { DEFAULT_REASSEMBLY_LIMITS, Reassembler, type ReassemblyLimits } from './ipv4/reassembly.ts';
import { DEFAULT_IPV6_SETTINGS, Ipv6Control, type NeighborInfo } from './ipv6/control.ts';
import { Delivery6 } from './ipv6/deliver.ts';
import { Forwarder6 } from './ipv6/forward.ts';
import { Icmpv6Errors } from './ipv6/icmpv6-errors.ts';
import { type Icmpv6Event, Icmpv6Input } from './ipv6/icmpv6-input.ts';
import { Ipv6Input } from './ipv6/input.ts';
import type { Ipv6Interface } from './ipv6/interface6.ts';
import { Output6 } from './ipv6/output.ts';
import { DEFAULT_REASSEMBLY6_LIMITS, Reassembler6, type Reassembly6Limits } from './ipv6/reassembly.ts';
import type { RaConfig } from './ipv6/router-advertiser.ts';
import { RouteTable6, sameGateway } from './ipv6/routes.ts';
import type { Prf } from './ipv6/stable-iid.ts';
import { Transport6 } from './ipv6/transport.ts';
import { LinkOutput, TX_HEADROOM } from './link.ts';
import { Arp, type ArpTimers, DEFAULT_ARP_TIMERS } from './neighbour/arp.ts';
import { DEFAULT_NDP_TIMERS, Ndp, type NdpTimers } from './neighbour/ndp.ts';
import { StackFibWriter } from './rib-writer.ts';
import { DISTANCE, type RouteInfo, type RouteSpec, StackRoutes, StackSources } from './routes.ts';
import { RxState } from './rx.ts';
import {
  type ArpInfo,
  type CountersInfo,
  type InterfaceInfo,
  showArp,
  showCounters,
  showInterfaces,
} from './show.ts';
import { type RandomSource, SeededRandom } from './sockapi/random.ts';
import type { IpEnv } from './socket/ip-env.ts';
import { SocketLayer } from './socket/layer.ts';
import { TCP_IPV4, TCP_IPV6, type TcpConfig, TcpEngine } from './tcp/index.ts';
import { TokenBucket } from './token-bucket.ts';
import { Wake } from './wake.ts';

export { Stat } from './counters.ts';
export type { IcmpEvent } from './icmp/input.ts';
export type { InterfaceAddress, InterfaceSpec } from './interfaces.ts';
export type { Address6Info, NeighborInfo } from './ipv6/control.ts';
export type { Icmpv6Event } from './ipv6/icmpv6-input.ts';
export type { ArpInfo, CountersInfo, InterfaceInfo } from './show.ts';

export interface StackOptions {
  output: FrameOutput;
  arp?: Partial<ArpTimers>;
  reassembly?: Partial<ReassemblyLimits>;
  /** ICMP errors per second and burst (RFC 1812 §4.3.2.8). */
  icmpErrorRate?: number;
  icmpErrorBurst?: number;
  /** TTL of packets the VR originates (RFC 1700 recommends 64). */
  defaultTtl?: number;
  /**
   * Where the stack's secrets (RFC 6528 ISN key, SYN-cookie keys, port-selection and timestamp
   * keys) and random choices come from: the VR passes a CSPRNG-backed source. Exactly one of
   * `random` and `seed` must be given; there is no default, so that no VR runs on a constant key.
   */
  random?: RandomSource;
  /**
   * Simulations and tests only: a `SeededRandom(seed)` instead of `random`, so that a run replays
   * exactly. Predictable by design (anyone who knows the seed knows every ISN and port).
   */
  seed?: number;
  tcp?: Partial<TcpConfig>;
  /**
   * RFC 7217's F(): a keyed pseudo-random function (the VR passes HMAC-SHA-256 with its secret) from
   * which each interface's link-local identifier is drawn (`stableInterfaceId`), stable across
   * restarts and saying nothing of the MAC. Absent: the modified EUI-64 of the MAC (RFC 4291 App. A).
   */
  prf?: (data: Uint8Array) => Uint8Array;
  /** Neighbor Discovery's timers and bounds (RFC 4861 §10, RFC 6583 §6). */
  ndp?: Partial<NdpTimers>;
  /** RFC 4862 DupAddrDetectTransmits (default 1; 0: addresses are preferred at once, no DAD). */
  dadTransmits?: number;
  /** IPv6 reassembly bounds (RFC 8200 §4.5: 60 s). */
  reassembly6?: Partial<Reassembly6Limits>;
  /** Hop limit of IPv6 packets the VR originates (default: defaultTtl, else 64). */
  defaultHopLimit?: number;
  /** Sizes of the IPv6 FIB's group pools (the defaults hold a full Internet table). */
  fib6?: Ipv6FibOptions;
  /**
   * IPv6 on every interface from the start. Absent, IPv6 comes on with the first IPv6
   * configuration (addAddress6, addStaticRoute6, setRouterAdvertisements): a stack configured for
   * IPv4 alone sends no IPv6 (no DAD, no MLD) and counts IPv6 frames as an unknown EtherType.
   */
  ipv6?: boolean;
}

/**
 * The sans-IO IPv4 stack of one VR. Frames and time come in through receive() and poll(); frames
 * leave through the FrameOutput. No I/O, no clock, no timers of its own. This class is the façade:
 * configuration, the Ethernet demultiplexer, timers, and the wiring of the modules that do the work
 * (docs/ARCHITECTURE.md has the map).
 */
export class Stack implements FrameNode {
  readonly fib = new Ipv4Fib();
  readonly fib6: Ipv6Fib;
  /**
   * The VR's RIB, both families: the stack's connected, local and static routes are its sources
   * (routes.ts), and it programs the two FIBs through rib-writer.ts. Flushed at the end of every
   * call that changes routes and in `poll`, so the FIBs are current whenever a call returns.
   */
  readonly rib: Rib;
  /** The VR's sockets (UDP, raw IP, TCP through the engine). */
  readonly sockets: SocketLayer;
  readonly tcp: TcpEngine;
  /** TCP over IPv6: the same engine code, with 16-byte addresses (tcp/family.ts). */
  readonly tcp6: TcpEngine<Uint8Array>;

  private readonly count = new Counters();
  private readonly wake = new Wake();
  private readonly rx = new RxState();
  private readonly ifaces = new InterfaceTable();
  private readonly routes: StackRoutes<number>;
  /** The latest time a call brought: the RIB's clock for route ages (addStaticRoute has no `now`). */
  private routeClock = 0;
  private readonly arp: Arp;
  private readonly reassembler: Reassembler;
  private readonly egress: Egress;
  private readonly output: LocalOutput;
  private readonly icmpErrors: IcmpErrors;
  private readonly icmpEcho: IcmpEcho;
  private readonly icmp: IcmpInput;
  private readonly ipv4: Ipv4Input;
  private readonly routes6: RouteTable6;
  private readonly ndp: Ndp;
  private readonly v6: Ipv6Control;
  private readonly output6: Output6;
  private readonly reassembler6: Reassembler6;
  private readonly icmpv6Errors: Icmpv6Errors;
  private readonly icmpv6: Icmpv6Input;
  private readonly ipv6: Ipv6Input;
  /** IPv6 is on: every live interface has its IPv6 side (link-local address, groups, DAD). */
  private ipv6On = false;

  constructor(options: StackOptions) {
    if ((options.random === undefined) === (options.seed === undefined))
      throw new Error('Stack: pass either `random` (a CSPRNG source) or `seed` (simulation, tests)');
    const random: RandomSource = options.random ?? new SeededRandom(options.seed!);
    const { count: counters, wake, rx, ifaces } = this;
    const link = new LinkOutput(options.output);
    this.arp = new Arp({ ...DEFAULT_ARP_TIMERS, ...options.arp }, ifaces, link, counters, wake);
    this.reassembler = new Reassembler({ ...DEFAULT_REASSEMBLY_LIMITS, ...options.reassembly });
    this.egress = new Egress(this.fib, ifaces, this.arp.neighbours, link, counters);
    this.output = new LocalOutput(ifaces, this.egress, link, counters, options.defaultTtl ?? 64);
    this.icmpErrors = new IcmpErrors(
      ifaces,
      this.egress,
      this.output,
      counters,
      new TokenBucket(options.icmpErrorRate ?? 200, options.icmpErrorBurst ?? 100),
    );
    this.sockets = new SocketLayer(this.ipEnv(), { random });
    this.tcp = this.tcpEngine(random, options.tcp);
    this.sockets.attachTcp(this.tcp);
    this.icmpEcho = new IcmpEcho(this.egress, this.output, counters);
    this.icmp = new IcmpInput(this.sockets, this.icmpEcho, counters);
    const delivery = new Delivery(
      rx,
      this.reassembler,
      this.sockets,
      this.tcp,
      this.icmp,
      this.icmpErrors,
      this.output,
      counters,
      wake,
    );
    const forwarder = new Forwarder(rx, this.egress, this.icmpErrors, counters);
    this.ipv4 = new Ipv4Input(rx, ifaces, this.egress, delivery, forwarder, this.icmpErrors, counters);

    // IPv6 (docs/ARCHITECTURE.md: the IPv6 path mirrors the IPv4 one, module for module).
    this.fib6 = new Ipv6Fib(options.fib6);
    this.rib = new Rib(new StackFibWriter(this.fib, this.fib6));
    const sources = new StackSources(this.rib);
    const routeEnv = {
      interfaceName: (i: number) => ifaces.name(i) ?? `if${i}`,
      interfaceUp: (i: number) => ifaces.list[i]?.up === true,
      now: () => this.routeClock,
    };
    this.routes = new StackRoutes(this.rib.v4, sources, routeEnv);
    this.routes6 = new RouteTable6(this.rib.v6, sources, routeEnv);
    const v6list: (Ipv6Interface | undefined)[] = [];
    this.ndp = new Ndp({ ...DEFAULT_NDP_TIMERS, ...options.ndp }, ifaces, v6list, link, counters, wake);
    this.v6 = new Ipv6Control(
      ifaces,
      this.routes6,
      this.ndp,
      link,
      counters,
      wake,
      random,
      (options.prf as Prf | undefined) ?? null,
      {
        ...DEFAULT_IPV6_SETTINGS,
        ...(options.dadTransmits === undefined ? {} : { dadTransmits: options.dadTransmits }),
      },
      v6list,
    );
    this.output6 = new Output6(
      this.fib6,
      ifaces,
      v6list,
      this.ndp,
      link,
      counters,
      options.defaultHopLimit ?? options.defaultTtl ?? 64,
      random,
    );
    this.icmpv6Errors = new Icmpv6Errors(
      this.output6,
      counters,
      new TokenBucket(options.icmpErrorRate ?? 200, options.icmpErrorBurst ?? 100),
    );
    this.reassembler6 = new Reassembler6({ ...DEFAULT_REASSEMBLY6_LIMITS, ...options.reassembly6 });
    const h6 = new Ipv6Header();
    this.icmpv6 = new Icmpv6Input(this.ndp, this.output6, this.v6, counters);
    const transport6 = new Transport6(this.output6, v6list, counters);
    this.tcp6 = this.tcpEngine6(random, options.tcp, transport6);
    const v6 = this.v6;
    this.sockets.attachTcp6(this.tcp6, {
      isLocalAddress: (a) => transport6.isLocalAddress(a),
      sourceFor: (dst) => transport6.sourceFor(dst),
      send: (buf, ipOff, l4Len, protocol, src, dst, tc, hops, ifIndex, now) =>
        transport6.send(buf, ipOff, l4Len, protocol, src, dst, tc, hops, ifIndex, now),
      get defaultHopLimit() {
        return transport6.defaultHopLimit;
      },
      interfaceOf: (a) => transport6.interfaceOf(a),
      linkLocalOf: (i) => v6.linkLocalOf(i),
      joinGroup: (i, g) => v6.joinGroup(i, g),
      leaveGroup: (i, g) => v6.leaveGroup(i, g),
    });
    this.icmpv6.onTransportError = (type, code, rest, quote, qOff, qLen, now) =>
      this.sockets.icmpv6Error(type, code, rest, quote, qOff, qLen, now);
    const delivery6 = new Delivery6(
      rx,
      h6,
      this.reassembler6,
      this.icmpv6,
      this.icmpv6Errors,
      counters,
      wake,
      this.tcp6,
      transport6,
      this.sockets,
    );
    const forwarder6 = new Forwarder6(rx, h6, this.output6, this.ndp, this.icmpv6Errors, counters);
    this.ipv6 = new Ipv6Input(h6, v6list, this.output6, delivery6, forwarder6, counters);
    if (options.ipv6 === true) this.enableIpv6();
  }

  /** Turns IPv6 on: each live interface gets its link-local address (DAD at the next poll). */
  private enableIpv6(): void {
    if (this.ipv6On) return;
    this.ipv6On = true;
    for (const ifc of this.ifaces.list) if (!ifc.removed) this.v6.addInterface(ifc);
  }

  /** The IP layer as the socket layer sees it. */
  private ipEnv(): IpEnv {
    const { ifaces, output } = this;
    return {
      route: (dst, oif) => output.route(dst, oif),
      sourceAddress: (ifIndex, dst) => ifaces.list[ifIndex]?.sourceFor(dst) ?? 0,
      isLocalAddress: (addr) => ifaces.isLocalAddress(addr),
      interfaceOfAddress: (addr) => ifaces.interfaceOfAddress(addr),
      isSubnetBroadcast: (addr) => ifaces.broadcasts.has(addr),
      interfaceIndex: (name) => ifaces.indexOf(name),
      interfaceName: (i) => ifaces.name(i),
      output: (buf, ipOff, l4Len, protocol, src, dst, tos, ttl, df, ifIndex, now) =>
        output.transport(buf, ipOff, l4Len, protocol, src, dst, tos, ttl, df, ifIndex, now),
      get defaultTtl() {
        return output.defaultTtl;
      },
    };
  }

  /** TCP sees the IP layer through its TcpEnv: output, and the path towards a destination. */
  private tcpEngine(random: RandomSource, config: Partial<TcpConfig> | undefined): TcpEngine {
    const { ifaces, output, wake, sockets } = this;
    const egressTowards = (dst: number): Interface | null => {
      const i = output.route(dst, -1);
      return i < 0 ? null : ifaces.list[i]!;
    };
    return new TcpEngine(
      {
        family: TCP_IPV4,
        linkHeaderLength: TX_HEADROOM,
        netHeaderLength: IPV4_MIN_HEADER,
        sendSegment: (buf, ipOff, tcpLen, src, dst, tos, ttl, now, segmentSize) =>
          output.transport(buf, ipOff, tcpLen, IPPROTO_TCP, src, dst, tos, ttl, true, -1, now, segmentSize),
        mtuFor: (dst) => egressTowards(dst)?.mtu ?? 0,
        segmentOffloadFor: (dst) => egressTowards(dst)?.maxSegmentOffload ?? 0,
        sourceFor: (dst) => egressTowards(dst)?.sourceFor(dst) ?? 0,
        random32: () => random.next32(),
        wake: (deadline) => wake.arm(deadline),
        notify: (endpoint) => sockets.tcpNotify(endpoint),
      },
      config,
    );
  }

  /**
   * TCP over IPv6 sees Transport6: the IPv6 header in front of each segment, the route's MTU and
   * source. No segmentation offload: the IPv6 engine sends segments within the MTU.
   */
  private tcpEngine6(
    random: RandomSource,
    config: Partial<TcpConfig> | undefined,
    transport: Transport6,
  ): TcpEngine<Uint8Array> {
    const { wake, sockets } = this;
    return new TcpEngine<Uint8Array>(
      {
        family: TCP_IPV6,
        linkHeaderLength: TX_HEADROOM,
        netHeaderLength: IPV6_HEADER_LEN,
        sendSegment: (buf, ipOff, tcpLen, src, dst, trafficClass, hopLimit, now) =>
          transport.send(buf, ipOff, tcpLen, IPPROTO_TCP, src, dst, trafficClass, hopLimit, -1, now),
        mtuFor: (dst) => transport.mtuFor(dst),
        segmentOffloadFor: () => 0,
        sourceFor: (dst) => transport.sourceFor(dst),
        random32: () => random.next32(),
        wake: (deadline) => wake.arm(deadline),
        notify: (endpoint) => sockets.tcpNotify(endpoint),
      },
      config,
    );
  }

  /** Receives ICMP messages addressed to the VR (for tools and tests); null when nobody listens. */
  get onIcmp(): ((event: IcmpEvent) => void) | null {
    return this.icmp.onIcmp;
  }

  set onIcmp(listener: ((event: IcmpEvent) => void) | null) {
    this.icmp.onIcmp = listener;
  }

  /** Receives ICMPv6 messages addressed to the VR other than echo, NDP and MLD (tools, tests). */
  get onIcmp6(): ((event: Icmpv6Event) => void) | null {
    return this.icmpv6.onIcmp6;
  }

  set onIcmp6(listener: ((event: Icmpv6Event) => void) | null) {
    this.icmpv6.onIcmp6 = listener;
  }

  /**
   * Told when another router's Router Advertisement on an interface where the VR advertises
   * disagrees with the VR's (RFC 4861 §6.2.7), with what differs; counted as `ra_inconsistent`.
   */
  set onRaInconsistent(listener:
    | ((ifIndex: number, router: Uint8Array, problems: readonly string[]) => void)
    | null,) {
    this.ndp.onRaInconsistent = listener;
  }

  // ---- configuration -------------------------------------------------------------------------

  /**
   * Adds an interface. With IPv6 on (StackOptions.ipv6), it gets its link-local address at once
   * (fe80::/64 with an RFC 7217 identifier from `StackOptions.prf`, else the modified EUI-64 of its
   * MAC, RFC 4291 App. A), tentative: DAD and the MLD report of its groups start at the next poll
   * (the stack has no `now` here); on a duplicate, RFC 7217 §6's next identifier, up to
   * IDGEN_RETRIES times.
   */
  addInterface(spec: InterfaceSpec): number {
    const index = this.ifaces.add(spec);
    if (this.ipv6On) this.v6.addInterface(this.ifaces.get(index));
    return index;
  }

  /**
   * Removes an interface: it goes down, loses its addresses (and their connected and local routes)
   * and its neighbours, and its name is free for a new interface, which gets a new index. The slot
   * stays as a tombstone so that every other index, and the receive path, are unchanged; frames
   * still handed in for it are dropped as for a down interface. Static routes through it become
   * inactive; the caller removes them.
   */
  removeInterface(ifIndex: number, now: number): void {
    const ifc = this.ifaces.get(ifIndex);
    if (ifc.removed) return;
    this.tick(now);
    this.setUp(ifIndex, false, now);
    for (const a of [...ifc.addresses]) this.removeAddress(ifIndex, a.address);
    this.v6.removeInterface(ifIndex, now);
    ifc.removed = true;
    this.routes.interfaceChanged(ifIndex);
    this.routes6.interfaceChanged(ifIndex);
    this.rib.flush();
    this.wake.arm(now);
  }

  /** Index of the live interface with this name, or -1. */
  interfaceIndex(name: string): number {
    return this.ifaces.indexOf(name);
  }

  /** Whether the interface is up (false for a removed one). */
  interfaceUp(ifIndex: number): boolean {
    return this.ifaces.get(ifIndex).up;
  }

  setMtu(ifIndex: number, mtu: number): void {
    this.ifaces.get(ifIndex).mtu = mtu;
  }

  /** Brings an interface up or down; coming up announces its addresses (RFC 5227 §3). */
  setUp(ifIndex: number, up: boolean, now: number): void {
    const ifc = this.ifaces.get(ifIndex);
    if (ifc.up === up || (up && ifc.removed)) return;
    ifc.up = up;
    this.tick(now);
    // The RIB has no interface state: the interface's routes are withdrawn while it is down.
    this.routes.interfaceChanged(ifIndex);
    this.routes6.interfaceChanged(ifIndex);
    this.rib.flush();
    if (!up) this.count.drops[Drop.INTERFACE_DOWN]! += this.arp.neighbours.flushInterface(ifIndex);
    this.count.drops[Drop.INTERFACE_DOWN]! += this.v6.setUp(ifIndex, up, now);
    this.rib.flush();
    if (up) for (const a of ifc.addresses) this.arp.announce(ifc, a.address);
    this.wake.arm(now);
  }

  addAddress(ifIndex: number, address: number, length: number, now: number): void {
    const ifc = this.ifaces.get(ifIndex);
    if (ifc.owns(address)) return;
    this.tick(now);
    ifc.addresses.push({ address, length });
    const network = (address & ipv4Mask(length)) >>> 0;
    const route = { via: null, ifIndex, distance: DISTANCE.connected } as const;
    this.routes.add({ ...route, network, length, protocol: 'connected', type: 'unicast' });
    this.routes.add({ ...route, network: address, length: 32, protocol: 'local', type: 'local' });
    if (length <= 30) {
      const broadcast = (network | ~ipv4Mask(length)) >>> 0;
      this.ifaces.broadcasts.add(broadcast);
      this.routes.add({ ...route, network: broadcast, length: 32, protocol: 'local', type: 'broadcast' });
    }
    this.rib.flush();
    if (ifc.up) this.arp.announce(ifc, address);
    this.wake.arm(now);
  }

  removeAddress(ifIndex: number, address: number): boolean {
    const ifc = this.ifaces.get(ifIndex);
    const i = ifc.addresses.findIndex((a) => a.address === address);
    if (i < 0) return false;
    const { length } = ifc.addresses[i]!;
    ifc.addresses.splice(i, 1);
    const network = (address & ipv4Mask(length)) >>> 0;
    const onIf = (s: RouteSpec<number>) => s.ifIndex === ifIndex && s.protocol !== 'static';
    if (!ifc.addresses.some((a) => a.length === length && (a.address & ipv4Mask(length)) >>> 0 === network)) {
      this.routes.remove(network, length, onIf);
      if (length <= 30) {
        const broadcast = (network | ~ipv4Mask(length)) >>> 0;
        this.ifaces.broadcasts.delete(broadcast);
        this.routes.remove(broadcast, 32, onIf);
      }
    }
    this.routes.remove(address, 32, onIf);
    this.rib.flush();
    // Neighbours on a subnet the interface no longer has are unreachable through it.
    this.count.drops[Drop.INTERFACE_DOWN]! += this.arp.neighbours.flushInterface(
      ifIndex,
      (ip) => !ifc.onSubnet(ip),
    );
    return true;
  }

  /**
   * Adds a static route. `via` 0 with an interface is a directly connected route; `type`
   * blackhole drops silently, reject answers ICMP unreachable.
   */
  addStaticRoute(route: {
    network: number;
    length: number;
    via?: number;
    ifIndex?: number;
    type?: 'unicast' | 'blackhole' | 'reject';
    distance?: number;
  }): void {
    this.routes.add({
      network: route.network,
      length: route.length,
      protocol: 'static',
      type: route.type ?? 'unicast',
      via: route.via === undefined || route.via === 0 ? null : route.via,
      ifIndex: route.ifIndex ?? -1,
      distance: route.distance ?? DISTANCE.static,
    });
    this.rib.flush();
  }

  /**
   * Removes the static routes of a prefix; with `match`, only those whose given fields all equal it
   * (`via` 0 and `ifIndex` -1 mean none, as in addStaticRoute), so that one route of several for
   * the same prefix can go. Returns whether any went.
   */
  removeStaticRoute(
    network: number,
    length: number,
    match?: {
      via?: number;
      ifIndex?: number;
      type?: 'unicast' | 'blackhole' | 'reject';
      distance?: number;
    },
  ): boolean {
    const m = match ?? {};
    const via = m.via === undefined || m.via === 0 ? null : m.via;
    const removed =
      this.routes.remove(
        network,
        length,
        (s) =>
          s.protocol === 'static' &&
          (m.via === undefined || s.via === via) &&
          (m.ifIndex === undefined || s.ifIndex === m.ifIndex) &&
          (m.type === undefined || s.type === m.type) &&
          (m.distance === undefined || s.distance === m.distance),
      ) > 0;
    this.rib.flush();
    return removed;
  }

  // ---- IPv6 configuration ----------------------------------------------------------------------

  /**
   * Adds an IPv6 address (16 bytes) with its prefix length to an interface. It starts tentative and
   * runs Duplicate Address Detection (RFC 4862 §5.4; joined to its solicited-node group first, with
   * an MLDv2 report): until DAD makes it preferred it is neither a source nor answered for, and
   * packets to it are dropped. Its connected route (the /length, for a global address) and its
   * local /128 are installed at once, as Linux does: the link is on-link whether or not our address
   * on it proves unique. A link-local address (fe80::/10) adds no route. Adding an address the
   * interface has is a no-op; a multicast, unspecified or loopback address is a RangeError.
   */
  addAddress6(ifIndex: number, address: Uint8Array, length: number, now: number): void {
    this.ifaces.get(ifIndex);
    this.enableIpv6();
    this.tick(now);
    this.v6.addAddress(ifIndex, address, length, now);
    this.rib.flush();
  }

  /**
   * Removes an IPv6 address (with the length it was added with): its routes (the connected one when
   * no other address of the interface is on the prefix), its group and its neighbours that are no
   * longer on-link. Returns whether it was there.
   */
  removeAddress6(ifIndex: number, address: Uint8Array, length: number, now: number): boolean {
    this.ifaces.get(ifIndex);
    this.tick(now);
    const removed = this.ipv6On && this.v6.removeAddress(ifIndex, address, length, now);
    this.rib.flush();
    return removed;
  }

  /**
   * Adds a static IPv6 route. `via` absent with an interface is a directly connected route; a
   * global `via` must be on a connected prefix (of `ifIndex` when given); a link-local `via`
   * requires `ifIndex` (RFC 4291 §2.5.6: it means something on one link only; a RangeError without
   * it). `type` blackhole drops silently, reject answers Destination Unreachable code 6 (RFC 4443
   * §3.1, "reject route to destination").
   */
  addStaticRoute6(route: {
    network: Uint8Array;
    length: number;
    via?: Uint8Array;
    ifIndex?: number;
    type?: 'unicast' | 'blackhole' | 'reject';
    distance?: number;
  }): void {
    this.enableIpv6();
    this.routes6.add({
      network: route.network,
      length: route.length,
      protocol: 'static',
      type: route.type ?? 'unicast',
      via: route.via === undefined || isUnspecified(route.via) ? null : route.via,
      ifIndex: route.ifIndex ?? -1,
      distance: route.distance ?? DISTANCE.static,
    });
    this.rib.flush();
  }

  /**
   * Removes the static IPv6 routes of a prefix; with `match`, only those whose given fields all equal
   * it (as removeStaticRoute). Returns whether any went.
   */
  removeStaticRoute6(
    network: Uint8Array,
    length: number,
    match?: {
      via?: Uint8Array;
      ifIndex?: number;
      type?: 'unicast' | 'blackhole' | 'reject';
      distance?: number;
    },
  ): boolean {
    const m = match ?? {};
    const via = m.via === undefined || isUnspecified(m.via) ? null : m.via;
    const removed =
      this.routes6.remove(
        network,
        length,
        (s) =>
          s.protocol === 'static' &&
          (m.via === undefined || sameGateway(s.via, via)) &&
          (m.ifIndex === undefined || s.ifIndex === m.ifIndex) &&
          (m.type === undefined || s.type === m.type) &&
          (m.distance === undefined || s.distance === m.distance),
      ) > 0;
    this.rib.flush();
    return removed;
  }

  /**
   * Starts, changes or (null) stops Router Advertisements on an interface (RFC 4861 §6.2: timing by
   * RouterAdvertiser, answers to Router Solicitations, final advertisements with router lifetime 0
   * on stop, §6.2.5). They go to ff02::1 from the interface's link-local address with hop limit 255
   * and carry its link-layer address, the MTU, the prefixes and the DNS servers (RFC 8106) of the
   * config. A config that breaks RFC 4861 §6.2.1's bounds is a RangeError (checkRaConfig).
   */
  setRouterAdvertisements(ifIndex: number, config: RaConfig | null, now: number): void {
    this.ifaces.get(ifIndex);
    if (config === null && !this.ipv6On) return;
    this.enableIpv6();
    this.v6.setRouterAdvertisements(ifIndex, config, now);
  }

  // ---- the FrameNode contract ----------------------------------------------------------------

  /**
   * `info` is the driver's word about the frame (Link batch descriptors): in its low bits
   * (FRAME_SEGMENT_MASK) the payload size of the TCP or UDP segments the frame aggregates (GSO from a
   * local sender, GRO on a NIC), 0 for an ordinary frame — such a frame is cut back into segments if
   * it has to leave by a link it does not fit; and FRAME_L4_CHECKSUM_GOOD when its TCP/UDP checksum
   * is already known to be right, so delivery does not sum the payload again.
   */
  receive(ifIndex: number, buf: Uint8Array, off: number, len: number, now: number, info = 0): void {
    this.receiveFrame(ifIndex, buf, off, len, now, info);
    // Socket readiness is reported once the packet is fully processed, so that a user reacting to
    // it (sending, closing) never runs inside the stack's input path.
    this.sockets.flushEvents();
  }

  /** Ethernet input: checks in order, then demultiplexing by EtherType. */
  private receiveFrame(
    ifIndex: number,
    buf: Uint8Array,
    off: number,
    len: number,
    now: number,
    info: number,
  ): void {
    const rx = this.rx;
    rx.segmentSize = info & FRAME_SEGMENT_MASK;
    rx.l4ChecksumGood = (info & FRAME_L4_CHECKSUM_GOOD) !== 0;
    const ifc = this.ifaces.list[ifIndex];
    if (ifc === undefined) throw new RangeError(`no interface ${ifIndex}`);
    ifc.counters[IF_RX_FRAMES]! += 1;
    ifc.counters[IF_RX_BYTES]! += len;
    const counters = this.count;
    if (!ifc.up) return counters.rxDrop(ifc, Drop.INTERFACE_DOWN);
    if (len < ETH_HEADER_LEN) return counters.rxDrop(ifc, Drop.ETH_TRUNCATED);
    // IEEE 802 §8.2: a group address is never a source.
    if ((buf[off + 6]! & 1) !== 0) return counters.rxDrop(ifc, Drop.ETH_SRC_MULTICAST);
    if ((buf[off]! & 1) === 0 && !macIs(buf, off, ifc.mac)) return counters.rxDrop(ifc, Drop.ETH_NOT_FOR_US);
    rx.linkBroadcast = (buf[off]! & 1) !== 0;
    const type = rd16(buf, off + 12);
    if (type === ETHERTYPE_IPV4) this.ipv4.input(ifc, buf, off, len, now);
    else if (type === ETHERTYPE_ARP) this.arp.input(ifc, buf, off, len, now);
    else if (type === ETHERTYPE_IPV6 && this.ipv6On) this.ipv6.input(ifc, buf, off, len, now);
    else if (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ) counters.rxDrop(ifc, Drop.ETH_VLAN_TAGGED);
    else counters.rxDrop(ifc, Drop.ETH_UNKNOWN_TYPE);
  }

  poll(now: number): number {
    this.tick(now);
    this.rib.flush();
    const wake = this.wake;
    if (now < wake.at) return wake.at;
    wake.at = Number.POSITIVE_INFINITY;
    wake.arm(this.sockets.poll(now));
    // RFC 1812 §4.3.3.1 / RFC 1122 §2.3.2.2: the senders of packets that waited for a neighbour
    // that never answered learn of it.
    for (const p of this.arp.neighbours.expire(now)) {
      this.count.drops[Drop.ARP_RESOLUTION_FAILED]! += 1;
      this.icmpErrors.send(
        p,
        TX_HEADROOM,
        p.length - TX_HEADROOM,
        ICMP_DEST_UNREACHABLE,
        UNREACH_HOST,
        0,
        false,
        now,
      );
    }
    for (const expired of this.reassembler.expire(now)) {
      this.count.drops[Drop.IPV4_REASSEMBLY_TIMEOUT]! += 1;
      const first = expired.firstFragment;
      // RFC 792: time exceeded, code 1, only when fragment zero has arrived.
      if (first !== null)
        this.icmpErrors.send(
          first,
          0,
          first.length,
          ICMP_TIME_EXCEEDED,
          TIME_EXCEEDED_REASSEMBLY,
          0,
          false,
          now,
        );
    }
    wake.arm(this.reassembler.nextDeadline());
    this.poll6(now);
    return wake.at;
  }

  /** IPv6's timers: DAD, RAs, MLD reports, neighbours (RFC 4861 §7.3) and reassembly (RFC 8200 §4.5). */
  private poll6(now: number): void {
    const wake = this.wake;
    this.v6.poll(now);
    const ndp = this.ndp;
    const failed = ndp.neighbours.expire(now);
    for (let i = 0; i < failed.length; i++) {
      const p = failed[i]!;
      this.count.drops[Drop.NDP_RESOLUTION_FAILED]! += 1;
      // RFC 4443 §3.1 code 3: the neighbour did not answer (RFC 4861 §7.2.2).
      // The packet's source, when link-local, is on the interface the neighbour was sought on.
      this.icmpv6Errors.send(
        p,
        TX_HEADROOM,
        p.length - TX_HEADROOM,
        ICMPV6_DEST_UNREACHABLE,
        UNREACH6_ADDRESS,
        0,
        false,
        ndp.neighbours.unreachableIf[i]!,
        now,
      );
    }
    ndp.sweep();
    for (const expired of this.reassembler6.expire(now)) {
      this.count.drops[Drop.IPV6_REASSEMBLY_TIMEOUT]! += 1;
      const first = expired.first;
      // RFC 8200 §4.5: Time Exceeded code 1, only when the first fragment had arrived.
      if (first !== null)
        this.icmpv6Errors.send(
          first,
          0,
          first.length,
          ICMPV6_TIME_EXCEEDED,
          TIME_EXCEEDED6_REASSEMBLY,
          0,
          false,
          expired.ifIndex,
          now,
        );
    }
    wake.arm(this.reassembler6.nextDeadline());
  }

  /** Earliest deadline without running anything. */
  nextDeadline(): number {
    return this.wake.at;
  }

  /**
   * Sends an ICMP echo request from the VR (for tools and simulation tests). Returns false when
   * there is no route.
   */
  sendEcho(
    dst: number,
    id: number,
    seq: number,
    dataLength: number,
    now: number,
    options: EchoOptions = {},
  ): boolean {
    return this.icmpEcho.request(dst, id, seq, dataLength, now, options);
  }

  // ---- observation ---------------------------------------------------------------------------

  /**
   * The live interfaces (removed ones are left out), in index order; `addresses6` lists the IPv6
   * addresses with their DAD state, link-local first.
   */
  interfaces(): InterfaceInfo[] {
    return showInterfaces(this.ifaces.list, (i) => this.v6.addresses(i));
  }

  /**
   * IPv4 routes, then IPv6 routes (prefix in RFC 5952 text, `2001:db8::/32`), each by prefix: every
   * configured route with what the RIB made of it (selected, resolution, metric); with `now`, the
   * age of each too.
   */
  routeList(now?: number): RouteInfo[] {
    return [...this.routes.list(now), ...this.routes6.list(now)];
  }

  /** Advances the RIB's clock (route ages) to a time a call brought. */
  private tick(now: number): void {
    if (now > this.routeClock) this.routeClock = now;
  }

  /** ARP and NDP entries together (as `ip neigh` shows them): IPv4 first, by interface and address. */
  neighbors(now: number): NeighborInfo[] {
    const v4: NeighborInfo[] = this.arpEntries(now).map((e) => ({
      family: 4,
      address: e.address,
      mac: e.mac,
      interface: e.interface,
      state: e.state,
      ageMs: e.ageMs,
    }));
    const v6 = this.v6.neighbors(now);
    v6.sort((a, b) =>
      a.interface === b.interface ? (a.address < b.address ? -1 : 1) : a.interface < b.interface ? -1 : 1,
    );
    return [...v4, ...v6];
  }

  arpEntries(now: number): ArpInfo[] {
    return showArp(this.arp.neighbours, this.ifaces.list, now);
  }

  counters(): CountersInfo {
    return showCounters(this.count, {
      fib_routes: this.fib.size,
      arp_entries: this.arp.neighbours.size,
      reassembly_pending: this.reassembler.pending,
    });
  }

  /** Count of one drop reason (tests and benchmarks). */
  dropCount(reason: number): number {
    return this.count.drops[reason]!;
  }

  statCount(stat: number): number {
    return this.count.stats[stat]!;
  }
}

function isUnspecified(a: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== 0) return false;
  return true;
}

function macIs(buf: Uint8Array, off: number, mac: Uint8Array): boolean {
  return (
    buf[off] === mac[0] &&
    buf[off + 1] === mac[1] &&
    buf[off + 2] === mac[2] &&
    buf[off + 3] === mac[3] &&
    buf[off + 4] === mac[4] &&
    buf[off + 5] === mac[5]
  );
}
