import { ipv4Mask } from '@nexthop/addr';
import { Ipv4Fib } from '@nexthop/fib';
import type { FrameNode, FrameOutput } from '@nexthop/interface';
import {
  Drop,
  ETH_HEADER_LEN,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_QINQ,
  ETHERTYPE_VLAN,
  FRAME_L4_CHECKSUM_GOOD,
  FRAME_SEGMENT_MASK,
  ICMP_DEST_UNREACHABLE,
  ICMP_TIME_EXCEEDED,
  IPPROTO_TCP,
  rd16,
  TIME_EXCEEDED_REASSEMBLY,
  UNREACH_HOST,
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
import { LinkOutput, TX_HEADROOM } from './link.ts';
import { Arp, type ArpTimers, DEFAULT_ARP_TIMERS } from './neighbour/arp.ts';
import { DISTANCE, type RouteInfo, type RouteSpec, RouteTable } from './routes.ts';
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
import { type TcpConfig, TcpEngine } from './tcp/index.ts';
import { TokenBucket } from './token-bucket.ts';
import { Wake } from './wake.ts';

export { Stat } from './counters.ts';
export type { IcmpEvent } from './icmp/input.ts';
export type { InterfaceAddress, InterfaceSpec } from './interfaces.ts';
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
}

/**
 * The sans-IO IPv4 stack of one VR. Frames and time come in through receive() and poll(); frames
 * leave through the FrameOutput. No I/O, no clock, no timers of its own. This class is the façade:
 * configuration, the Ethernet demultiplexer, timers, and the wiring of the modules that do the work
 * (docs/ARCHITECTURE.md has the map).
 */
export class Stack implements FrameNode {
  readonly fib = new Ipv4Fib();
  /** The VR's sockets (UDP, raw IP, TCP through the engine). */
  readonly sockets: SocketLayer;
  readonly tcp: TcpEngine;

  private readonly count = new Counters();
  private readonly wake = new Wake();
  private readonly rx = new RxState();
  private readonly ifaces = new InterfaceTable();
  private readonly routes: RouteTable;
  private readonly arp: Arp;
  private readonly reassembler: Reassembler;
  private readonly egress: Egress;
  private readonly output: LocalOutput;
  private readonly icmpErrors: IcmpErrors;
  private readonly icmpEcho: IcmpEcho;
  private readonly icmp: IcmpInput;
  private readonly ipv4: Ipv4Input;

  constructor(options: StackOptions) {
    if ((options.random === undefined) === (options.seed === undefined))
      throw new Error('Stack: pass either `random` (a CSPRNG source) or `seed` (simulation, tests)');
    const random: RandomSource = options.random ?? new SeededRandom(options.seed!);
    const { count: counters, wake, rx, ifaces } = this;
    const link = new LinkOutput(options.output);
    this.routes = new RouteTable(this.fib, {
      connectedInterface: (addr) => ifaces.connectedInterface(addr),
      interfaceName: (i) => ifaces.name(i) ?? `if${i}`,
      interfaceUsable: (i) => ifaces.list[i]?.up === true,
    });
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
        sendSegment: (buf, ipOff, tcpLen, src, dst, tos, ttl, now, segmentSize) =>
          output.transport(buf, ipOff, tcpLen, IPPROTO_TCP, src, dst, tos, ttl, true, -1, now, segmentSize),
        mtuFor: (dst) => egressTowards(dst)?.mtu ?? 0,
        segmentOffloadFor: (dst) => egressTowards(dst)?.maxSegmentOffload ?? 0,
        sourceFor: (dst) => egressTowards(dst)?.sourceFor(dst) ?? 0,
        isLocalAddress: (addr) => ifaces.isLocalAddress(addr),
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

  // ---- configuration -------------------------------------------------------------------------

  addInterface(spec: InterfaceSpec): number {
    return this.ifaces.add(spec);
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
    this.setUp(ifIndex, false, now);
    for (const a of [...ifc.addresses]) this.removeAddress(ifIndex, a.address);
    ifc.removed = true;
    this.routes.refresh();
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
    if (!up) this.count.drops[Drop.INTERFACE_DOWN]! += this.arp.neighbours.flushInterface(ifIndex);
    this.routes.refresh();
    if (up) for (const a of ifc.addresses) this.arp.announce(ifc, a.address);
    this.wake.arm(now);
  }

  addAddress(ifIndex: number, address: number, length: number, now: number): void {
    const ifc = this.ifaces.get(ifIndex);
    if (ifc.owns(address)) return;
    ifc.addresses.push({ address, length });
    const network = (address & ipv4Mask(length)) >>> 0;
    this.routes.add({
      network,
      length,
      protocol: 'connected',
      type: 'unicast',
      via: 0,
      ifIndex,
      distance: DISTANCE.connected,
    });
    this.routes.add({
      network: address,
      length: 32,
      protocol: 'local',
      type: 'local',
      via: 0,
      ifIndex,
      distance: DISTANCE.local,
    });
    if (length <= 30) {
      const broadcast = (network | ~ipv4Mask(length)) >>> 0;
      this.ifaces.broadcasts.add(broadcast);
      this.routes.add({
        network: broadcast,
        length: 32,
        protocol: 'local',
        type: 'broadcast',
        via: 0,
        ifIndex,
        distance: DISTANCE.local,
      });
    }
    this.routes.refresh();
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
    const onIf = (s: RouteSpec) => s.ifIndex === ifIndex && s.protocol !== 'static';
    if (!ifc.addresses.some((a) => a.length === length && (a.address & ipv4Mask(length)) >>> 0 === network)) {
      this.routes.remove(network, length, onIf);
      if (length <= 30) {
        const broadcast = (network | ~ipv4Mask(length)) >>> 0;
        this.ifaces.broadcasts.delete(broadcast);
        this.routes.remove(broadcast, 32, onIf);
      }
    }
    this.routes.remove(address, 32, onIf);
    this.routes.refresh();
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
      via: route.via ?? 0,
      ifIndex: route.ifIndex ?? -1,
      distance: route.distance ?? DISTANCE.static,
    });
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
    return (
      this.routes.remove(
        network,
        length,
        (s) =>
          s.protocol === 'static' &&
          (m.via === undefined || s.via === m.via) &&
          (m.ifIndex === undefined || s.ifIndex === m.ifIndex) &&
          (m.type === undefined || s.type === m.type) &&
          (m.distance === undefined || s.distance === m.distance),
      ) > 0
    );
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
    else if (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ) counters.rxDrop(ifc, Drop.ETH_VLAN_TAGGED);
    else counters.rxDrop(ifc, Drop.ETH_UNKNOWN_TYPE);
  }

  poll(now: number): number {
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
    return wake.at;
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

  /** The live interfaces (removed ones are left out), in index order. */
  interfaces(): InterfaceInfo[] {
    return showInterfaces(this.ifaces.list);
  }

  routeList(): RouteInfo[] {
    return this.routes.list();
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
