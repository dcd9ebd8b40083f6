import { formatIpv4, formatMac, ipv4Mask } from '@nexthop/addr';
import { flowHash, Ipv4Fib, NH_BLACKHOLE, NH_FORWARD, NH_LOCAL, NH_REJECT } from '@nexthop/fib';
import type { FrameNode, FrameOutput } from '@nexthop/interface';
import {
  ARP_LEN,
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  ArpPacket,
  checksumAdjust,
  copyBytes,
  DROP_REASON_COUNT,
  Drop,
  decodeArp,
  decodeIcmp,
  decodeIpv4,
  decodeTcp,
  decodeUdp,
  dropReasonName,
  ETH_HEADER_LEN,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_QINQ,
  ETHERTYPE_VLAN,
  FRAME_L4_CHECKSUM_GOOD,
  FRAME_SEGMENT_MASK,
  foldSum,
  fragNeededRestOfHeader,
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_ERROR_MAX_QUOTE,
  ICMP_HEADER_LEN,
  ICMP_TIME_EXCEEDED,
  IcmpMessage,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_FLAG_DF,
  IPV4_FLAG_MF,
  IPV4_MIN_HEADER,
  IPV4_OFFSET_MASK,
  Ipv4Header,
  icmpIsError,
  isMartianDestination,
  isMartianSource,
  isMulticastIpv4,
  pseudoHeaderSum,
  rd16,
  rd32,
  refreshIpv4Checksum,
  sumWords,
  TCP_ACK,
  TCP_CWR,
  TCP_FIN,
  TCP_MIN_HEADER,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TcpHeader,
  TIME_EXCEEDED_REASSEMBLY,
  TIME_EXCEEDED_TTL,
  UDP_HEADER_LEN,
  UdpHeader,
  UNREACH_FRAG_NEEDED,
  UNREACH_HOST,
  UNREACH_NET,
  UNREACH_PORT,
  UNREACH_PROTOCOL,
  wr16,
  wr32,
  writeArp,
  writeEthernet,
  writeIcmp,
  writeIpv4Header,
  writeTcp,
} from '@nexthop/wire';
import {
  ARP_INCOMPLETE,
  ARP_REACHABLE,
  ARP_STALE,
  ARP_STATE_NAMES,
  ARP_STATIC,
  ArpCache,
  type ArpEntry,
  type ArpTimers,
  DEFAULT_ARP_TIMERS,
} from './arp-cache.ts';
import { DEFAULT_REASSEMBLY_LIMITS, Reassembler, type ReassemblyLimits } from './reassembly.ts';
import { DISTANCE, type RouteInfo, type RouteSpec, RouteTable } from './routes.ts';
import { EADDRNOTAVAIL, EHOSTUNREACH, EINVAL, EMSGSIZE, ENETDOWN, ENETUNREACH } from './sockapi/errno.ts';
import { type RandomSource, SeededRandom } from './sockapi/random.ts';
import type { IpEnv } from './socket/ip-env.ts';
import { SocketLayer } from './socket/layer.ts';
import { type TcpConfig, TcpEngine } from './tcp/index.ts';
import { TokenBucket } from './token-bucket.ts';

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

export interface InterfaceSpec {
  name: string;
  mac: Uint8Array;
  mtu: number;
  up?: boolean;
  /**
   * Largest TCP aggregate (IP bytes) the link takes whole, to cut into segments itself
   * (Link.maxSegmentOffload); 0 or absent when it cannot. Forwarded aggregates then pass through,
   * and TCP builds aggregates of several MSS towards it.
   */
  maxSegmentOffload?: number;
}

export interface InterfaceAddress {
  address: number;
  length: number;
}

/** Per-interface counter slots. */
const IF_RX_FRAMES = 0;
const IF_RX_BYTES = 1;
const IF_TX_FRAMES = 2;
const IF_TX_BYTES = 3;
const IF_RX_DROPS = 4;
const IF_COUNTERS = 5;

/** Stack-wide counter slots, named in STAT_NAMES. */
export const Stat = {
  FORWARDED: 0,
  DELIVERED: 1,
  ECHO_REPLIES_SENT: 2,
  ICMP_ERRORS_SENT: 3,
  ARP_REQUESTS_SENT: 4,
  ARP_REPLIES_SENT: 5,
  FRAGMENTS_CREATED: 6,
  PACKETS_FRAGMENTED: 7,
  DATAGRAMS_REASSEMBLED: 8,
  FRAGMENTS_RECEIVED: 9,
  ARP_QUEUED: 10,
  TCP_RESETS_SENT: 11,
  ECHO_REQUESTS_SENT: 12,
  ICMP_RECEIVED: 13,
  ARP_IGNORED: 14,
  SEGMENTS_CREATED: 15,
  /** TCP aggregates handed to a link whole (forwarded or the VR's own), for it to segment. */
  AGGREGATES_OFFLOADED: 16,
} as const;
const STAT_NAMES = Object.keys(Stat).map((k) => k.toLowerCase());

class Interface {
  readonly index: number;
  readonly name: string;
  readonly mac: Uint8Array;
  mtu: number;
  up: boolean;
  readonly maxSegmentOffload: number;
  addresses: InterfaceAddress[] = [];
  /** A removed interface stays as a tombstone (down, no addresses) so that indexes never move. */
  removed = false;
  readonly counters = new Float64Array(IF_COUNTERS);

  constructor(index: number, spec: InterfaceSpec) {
    this.index = index;
    this.name = spec.name;
    this.mac = Uint8Array.from(spec.mac);
    this.mtu = spec.mtu;
    this.up = spec.up ?? true;
    this.maxSegmentOffload = spec.maxSegmentOffload ?? 0;
  }

  /** The address to speak from towards `peer`: one on the same subnet if any, else the first. */
  sourceFor(peer: number): number {
    for (const a of this.addresses) {
      const mask = ipv4Mask(a.length);
      if (((a.address ^ peer) & mask) === 0) return a.address;
    }
    return this.addresses.length > 0 ? this.addresses[0]!.address : 0;
  }
}

export interface IcmpEvent {
  /** Interface the message arrived on. */
  ifIndex: number;
  src: number;
  dst: number;
  ttl: number;
  type: number;
  code: number;
  restOfHeader: number;
  /** Echo data, or the quoted datagram of an error (a copy). */
  body: Uint8Array;
}

export interface InterfaceInfo {
  index: number;
  name: string;
  mac: string;
  mtu: number;
  up: boolean;
  addresses: string[];
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  rxDrops: number;
}

export interface ArpInfo {
  address: string;
  interface: string;
  mac: string | null;
  state: string;
  queued: number;
  ageMs: number;
}

export interface CountersInfo {
  stats: Record<string, number>;
  drops: Record<string, number>;
}

const TX_HEADROOM = ETH_HEADER_LEN;
const MAX_IP_PACKET = 65535;
const BROADCAST_MAC = new Uint8Array([255, 255, 255, 255, 255, 255]);

/**
 * The sans-IO IPv4 stack of one VR: interfaces, ARP, IPv4 input validation, forwarding, local
 * delivery, ICMP, fragmentation and reassembly. Frames and time come in through receive() and
 * poll(); frames leave through the FrameOutput. No I/O, no clock, no timers of its own.
 */
export class Stack implements FrameNode {
  readonly fib = new Ipv4Fib();
  /** Receives ICMP messages addressed to the VR (for tools and tests); null when nobody listens. */
  onIcmp: ((event: IcmpEvent) => void) | null = null;
  /** The VR's sockets (UDP, raw IP, TCP through the engine). */
  readonly sockets: SocketLayer;
  readonly tcp: TcpEngine;

  private readonly output: FrameOutput;
  private readonly ifaces: Interface[] = [];
  private readonly routes: RouteTable;
  private readonly arp: ArpCache;
  private readonly reassembler: Reassembler;
  private readonly icmpErrorLimiter: TokenBucket;
  private readonly defaultTtl: number;
  /** Directed broadcast addresses of the connected subnets: delivered locally, never forwarded. */
  private readonly broadcasts = new Set<number>();
  private readonly drops = new Float64Array(DROP_REASON_COUNT);
  private readonly stats = new Float64Array(STAT_NAMES.length);

  // Scratch objects, reused for every packet.
  private readonly ip = new Ipv4Header();
  private readonly arpIn = new ArpPacket();
  private readonly icmpIn = new IcmpMessage();
  private readonly udpIn = new UdpHeader();
  private readonly tcpIn = new TcpHeader();
  /** Packets the stack builds itself, with room for the Ethernet header in front. */
  private readonly txBuf = new Uint8Array(TX_HEADROOM + MAX_IP_PACKET + 64);
  private readonly fragBuf = new Uint8Array(TX_HEADROOM + MAX_IP_PACKET + 64);
  private readonly arpBuf = new Uint8Array(64);
  private readonly groupMac = new Uint8Array(6);
  private ipId = 1;
  /** Whether the frame being processed was sent to a link-layer group address. */
  private rxLinkBroadcast = false;
  /** The GSO segment size of the frame being processed, 0 for an ordinary frame. */
  private rxSegmentSize = 0;
  /** The driver vouches for the TCP/UDP checksum of the frame being processed. */
  private rxL4ChecksumGood = false;
  private wake = Number.POSITIVE_INFINITY;

  constructor(options: StackOptions) {
    this.output = options.output;
    this.arp = new ArpCache({ ...DEFAULT_ARP_TIMERS, ...options.arp });
    this.reassembler = new Reassembler({ ...DEFAULT_REASSEMBLY_LIMITS, ...options.reassembly });
    this.icmpErrorLimiter = new TokenBucket(options.icmpErrorRate ?? 200, options.icmpErrorBurst ?? 100);
    this.defaultTtl = options.defaultTtl ?? 64;
    this.routes = new RouteTable(this.fib, {
      connectedInterface: (addr) => this.connectedInterface(addr),
      interfaceName: (i) => this.ifaces[i]?.name ?? `if${i}`,
      interfaceUsable: (i) => this.ifaces[i]?.up === true,
    });
    if ((options.random === undefined) === (options.seed === undefined))
      throw new Error('Stack: pass either `random` (a CSPRNG source) or `seed` (simulation, tests)');
    const random: RandomSource = options.random ?? new SeededRandom(options.seed!);
    this.sockets = new SocketLayer(this.ipEnv(), { random });
    this.tcp = new TcpEngine(
      {
        sendSegment: (buf, ipOff, tcpLen, src, dst, tos, ttl, now, segmentSize) =>
          this.transportOutput(
            buf,
            ipOff,
            tcpLen,
            IPPROTO_TCP,
            src,
            dst,
            tos,
            ttl,
            true,
            -1,
            now,
            segmentSize,
          ),
        mtuFor: (dst) => {
          const i = this.routeTo(dst, -1);
          return i < 0 ? 0 : this.ifaces[i]!.mtu;
        },
        segmentOffloadFor: (dst) => {
          const i = this.routeTo(dst, -1);
          return i < 0 ? 0 : this.ifaces[i]!.maxSegmentOffload;
        },
        sourceFor: (dst) => {
          const i = this.routeTo(dst, -1);
          return i < 0 ? 0 : this.ifaces[i]!.sourceFor(dst);
        },
        isLocalAddress: (addr) => this.isLocalAddress(addr),
        random32: () => random.next32(),
        wake: (deadline) => this.arm(deadline),
        notify: (endpoint) => this.sockets.tcpNotify(endpoint),
      },
      options.tcp,
    );
    this.sockets.attachTcp(this.tcp);
  }

  /** The IP layer as the socket layer (and TCP) see it. */
  private ipEnv(): IpEnv {
    const stack = this;
    return {
      route: (dst, oif) => this.routeTo(dst, oif),
      sourceAddress: (ifIndex, dst) => this.ifaces[ifIndex]?.sourceFor(dst) ?? 0,
      isLocalAddress: (addr) => this.isLocalAddress(addr),
      interfaceOfAddress: (addr) => {
        for (const ifc of this.ifaces) if (this.isOwnAddress(ifc, addr)) return ifc.index;
        return -1;
      },
      isSubnetBroadcast: (addr) => this.broadcasts.has(addr),
      interfaceIndex: (name) => this.interfaceIndex(name),
      interfaceName: (i) => this.ifaces[i]?.name ?? null,
      output: (buf, ipOff, l4Len, protocol, src, dst, tos, ttl, df, ifIndex, now) =>
        this.transportOutput(buf, ipOff, l4Len, protocol, src, dst, tos, ttl, df, ifIndex, now),
      get defaultTtl() {
        return stack.defaultTtl;
      },
    };
  }

  // ---- configuration -------------------------------------------------------------------------

  addInterface(spec: InterfaceSpec): number {
    if (this.interfaceIndex(spec.name) >= 0) throw new Error(`interface ${spec.name} exists`);
    const index = this.ifaces.length;
    this.ifaces.push(new Interface(index, spec));
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
    const ifc = this.iface(ifIndex);
    if (ifc.removed) return;
    this.setUp(ifIndex, false, now);
    for (const a of [...ifc.addresses]) this.removeAddress(ifIndex, a.address);
    ifc.removed = true;
    this.routes.refresh();
    this.arm(now);
  }

  /** Index of the live interface with this name, or -1. */
  interfaceIndex(name: string): number {
    return this.ifaces.findIndex((i) => i.name === name && !i.removed);
  }

  /** Whether the interface is up (false for a removed one). */
  interfaceUp(ifIndex: number): boolean {
    return this.iface(ifIndex).up;
  }

  setMtu(ifIndex: number, mtu: number): void {
    this.iface(ifIndex).mtu = mtu;
  }

  /** Brings an interface up or down; coming up announces its addresses (RFC 5227 §3). */
  setUp(ifIndex: number, up: boolean, now: number): void {
    const ifc = this.iface(ifIndex);
    if (ifc.up === up || (up && ifc.removed)) return;
    ifc.up = up;
    if (!up) this.drops[Drop.INTERFACE_DOWN]! += this.arp.flushInterface(ifIndex);
    this.routes.refresh();
    if (up) for (const a of ifc.addresses) this.sendGratuitousArp(ifc, a.address);
    this.arm(now);
  }

  addAddress(ifIndex: number, address: number, length: number, now: number): void {
    const ifc = this.iface(ifIndex);
    if (ifc.addresses.some((a) => a.address === address)) return;
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
      this.broadcasts.add(broadcast);
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
    if (ifc.up) this.sendGratuitousArp(ifc, address);
    this.arm(now);
  }

  removeAddress(ifIndex: number, address: number): boolean {
    const ifc = this.iface(ifIndex);
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
        this.broadcasts.delete(broadcast);
        this.routes.remove(broadcast, 32, onIf);
      }
    }
    this.routes.remove(address, 32, onIf);
    this.routes.refresh();
    // Neighbours on a subnet the interface no longer has are unreachable through it.
    this.drops[Drop.INTERFACE_DOWN]! += this.arp.flushInterface(ifIndex, (ip) => !this.onSubnetOf(ifc, ip));
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

  private receiveFrame(
    ifIndex: number,
    buf: Uint8Array,
    off: number,
    len: number,
    now: number,
    info: number,
  ): void {
    this.rxSegmentSize = info & FRAME_SEGMENT_MASK;
    this.rxL4ChecksumGood = (info & FRAME_L4_CHECKSUM_GOOD) !== 0;
    const ifc = this.ifaces[ifIndex];
    if (ifc === undefined) throw new RangeError(`no interface ${ifIndex}`);
    ifc.counters[IF_RX_FRAMES]! += 1;
    ifc.counters[IF_RX_BYTES]! += len;
    if (!ifc.up) return this.drop(ifc, Drop.INTERFACE_DOWN);
    if (len < ETH_HEADER_LEN) return this.drop(ifc, Drop.ETH_TRUNCATED);
    // IEEE 802 §8.2: a group address is never a source.
    if ((buf[off + 6]! & 1) !== 0) return this.drop(ifc, Drop.ETH_SRC_MULTICAST);
    if ((buf[off]! & 1) === 0 && !macIs(buf, off, ifc.mac)) return this.drop(ifc, Drop.ETH_NOT_FOR_US);
    this.rxLinkBroadcast = (buf[off]! & 1) !== 0;
    const type = rd16(buf, off + 12);
    if (type === ETHERTYPE_IPV4) this.ipv4Input(ifc, buf, off, len, now);
    else if (type === ETHERTYPE_ARP) this.arpInput(ifc, buf, off, len, now);
    else if (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ) this.drop(ifc, Drop.ETH_VLAN_TAGGED);
    else this.drop(ifc, Drop.ETH_UNKNOWN_TYPE);
  }

  poll(now: number): number {
    if (now < this.wake) return this.wake;
    this.wake = Number.POSITIVE_INFINITY;
    this.arm(this.sockets.poll(now));
    this.runArpTimers(now);
    for (const expired of this.reassembler.expire(now)) {
      this.drops[Drop.IPV4_REASSEMBLY_TIMEOUT]! += 1;
      const first = expired.firstFragment;
      // RFC 792: time exceeded, code 1, only when fragment zero has arrived.
      if (first !== null)
        this.icmpErrorFor(null, first, 0, first.length, ICMP_TIME_EXCEEDED, TIME_EXCEEDED_REASSEMBLY, 0, now);
    }
    this.arm(this.reassembler.nextDeadline());
    return this.wake;
  }

  /** Earliest deadline without running anything. */
  nextDeadline(): number {
    return this.wake;
  }

  // ---- Ethernet and ARP ----------------------------------------------------------------------

  private arpInput(ifc: Interface, buf: Uint8Array, off: number, len: number, now: number): void {
    const a = this.arpIn;
    const r = decodeArp(buf, off + ETH_HEADER_LEN, len - ETH_HEADER_LEN, a);
    if (r !== 0) return this.drop(ifc, r);
    if ((buf[a.senderMacOffset]! & 1) !== 0 || isMartianSourceForArp(a.senderIp)) {
      // An ARP probe (RFC 5227 §2.1.1) has sender 0.0.0.0: legitimate, but teaches nothing.
      if (a.senderIp !== 0 || (buf[a.senderMacOffset]! & 1) !== 0) return this.drop(ifc, Drop.ARP_BAD_SENDER);
    }
    const targetIsUs = ifc.addresses.some((x) => x.address === a.targetIp);
    if (a.senderIp !== 0 && !this.isOwnAddress(ifc, a.senderIp)) {
      // RFC 826 "merge": update an existing entry; create one only if the packet is for us and the
      // sender is on one of our subnets. An existing entry may be off-subnet: the next hop of an
      // interface route, which we asked for ourselves.
      let e = this.arp.get(ifc.index, a.senderIp);
      if (e === undefined && targetIsUs && this.onSubnetOf(ifc, a.senderIp))
        e = this.arp.getOrCreate(ifc.index, a.senderIp);
      if (e !== undefined) {
        const queued = this.arp.confirm(e, buf, a.senderMacOffset, now);
        for (const p of queued) this.transmitIp(ifc, e.mac, p, TX_HEADROOM, p.length - TX_HEADROOM);
        this.arm(e.deadline);
        return this.answerArp(ifc, buf, targetIsUs);
      }
    }
    if (!targetIsUs) {
      // Another host's conversation, seen because the link is shared or promiscuous.
      this.stats[Stat.ARP_IGNORED]! += 1;
      return;
    }
    this.answerArp(ifc, buf, targetIsUs);
  }

  private answerArp(ifc: Interface, buf: Uint8Array, targetIsUs: boolean): void {
    const a = this.arpIn;
    if (targetIsUs && a.op === ARP_OP_REQUEST) {
      const n = this.writeArpFrame(ifc, ARP_OP_REPLY, a.targetIp, buf, a.senderMacOffset, a.senderIp);
      this.transmit(ifc, this.arpBuf, 0, n);
      this.stats[Stat.ARP_REPLIES_SENT]! += 1;
    }
  }

  private writeArpFrame(
    ifc: Interface,
    op: number,
    spa: number,
    tha: Uint8Array | null,
    thaOff: number,
    tpa: number,
  ): number {
    const b = this.arpBuf;
    writeEthernet(b, 0, tha ?? BROADCAST_MAC, tha === null ? 0 : thaOff, ifc.mac, 0, ETHERTYPE_ARP);
    writeArp(b, ETH_HEADER_LEN, op, ifc.mac, 0, spa, op === ARP_OP_REPLY ? tha : null, thaOff, tpa);
    // Pad to the Ethernet minimum so that no link has to.
    b.fill(0, ETH_HEADER_LEN + ARP_LEN, 60);
    return 60;
  }

  private sendArpRequest(ifc: Interface, target: number, unicastTo: Uint8Array | null): void {
    const src = ifc.sourceFor(target);
    if (src === 0) return;
    const n = this.writeArpFrame(ifc, ARP_OP_REQUEST, src, unicastTo, 0, target);
    this.transmit(ifc, this.arpBuf, 0, n);
    this.stats[Stat.ARP_REQUESTS_SENT]! += 1;
  }

  private sendGratuitousArp(ifc: Interface, address: number): void {
    const n = this.writeArpFrame(ifc, ARP_OP_REQUEST, address, null, 0, address);
    this.transmit(ifc, this.arpBuf, 0, n);
    this.stats[Stat.ARP_REQUESTS_SENT]! += 1;
  }

  private runArpTimers(now: number): void {
    const timers = this.arp.timers;
    for (const e of this.arp.values()) {
      if (e.state === ARP_STATIC || e.deadline > now) {
        if (e.state !== ARP_STATIC) this.arm(e.deadline);
        continue;
      }
      const ifc = this.ifaces[e.ifIndex]!;
      if (e.state === ARP_REACHABLE) {
        // Unconfirmed for reachableMs: keep using it, but only until an idle period passes.
        e.state = ARP_STALE;
        e.requestsSent = 0;
        e.deadline = now + timers.reachableMs;
      } else if (e.requestsSent < timers.maxRequests && (e.state === ARP_INCOMPLETE || e.requestsSent > 0)) {
        this.sendArpRequest(ifc, e.ip, e.state === ARP_STALE ? e.mac : null);
        e.requestsSent++;
        e.deadline = now + timers.retransmitMs;
      } else {
        const failed = e.state === ARP_INCOMPLETE;
        const queued = this.arp.remove(e);
        if (failed) {
          // RFC 1812 §4.3.3.1 / RFC 1122 §2.3.2.2: the waiting packets' senders learn of it.
          for (const p of queued) {
            this.drops[Drop.ARP_RESOLUTION_FAILED]! += 1;
            this.icmpErrorFor(
              null,
              p,
              TX_HEADROOM,
              p.length - TX_HEADROOM,
              ICMP_DEST_UNREACHABLE,
              UNREACH_HOST,
              0,
              now,
            );
          }
        }
        continue;
      }
      this.arm(e.deadline);
    }
  }

  // ---- IPv4 ----------------------------------------------------------------------------------

  private ipv4Input(ifc: Interface, buf: Uint8Array, frameOff: number, frameLen: number, now: number): void {
    const ipOff = frameOff + ETH_HEADER_LEN;
    const h = this.ip;
    const r = decodeIpv4(buf, ipOff, frameLen - ETH_HEADER_LEN, h);
    if (r !== 0) return this.drop(ifc, r);
    if (isMartianSource(h.src)) return this.drop(ifc, Drop.IPV4_MARTIAN_SOURCE);
    const dst = h.dst;
    if (dst === 0xffffffff || isMulticastIpv4(dst)) return this.localInput(ifc, buf, ipOff, true, now);
    const nh = this.fib.lookup(dst, this.hashOf(buf, ipOff, h.headerLength));
    const hops = this.fib.nextHops;
    if (nh >= 0 && hops.kind(nh) === NH_LOCAL)
      return this.localInput(ifc, buf, ipOff, this.broadcasts.has(dst), now);
    // From here on the packet is in transit (RFC 1812 §5.2).
    if ((buf[frameOff]! & 1) !== 0) return this.drop(ifc, Drop.IPV4_NOT_FOR_US);
    if (h.ttl === 0) return this.drop(ifc, Drop.IPV4_TTL_ZERO);
    if (isMartianDestination(dst)) return this.drop(ifc, Drop.IPV4_MARTIAN_DESTINATION);
    if (nh < 0) {
      this.icmpErrorFor(ifc, buf, ipOff, h.totalLength, ICMP_DEST_UNREACHABLE, UNREACH_NET, 0, now);
      return this.drop(ifc, Drop.IPV4_NO_ROUTE);
    }
    const kind = hops.kind(nh);
    if (kind === NH_BLACKHOLE) return this.drop(ifc, Drop.IPV4_BLACKHOLE);
    if (kind === NH_REJECT) {
      this.icmpErrorFor(ifc, buf, ipOff, h.totalLength, ICMP_DEST_UNREACHABLE, UNREACH_HOST, 0, now);
      return this.drop(ifc, Drop.IPV4_REJECT);
    }
    if (h.ttl === 1) {
      this.icmpErrorFor(ifc, buf, ipOff, h.totalLength, ICMP_TIME_EXCEEDED, TIME_EXCEEDED_TTL, 0, now);
      return this.drop(ifc, Drop.IPV4_TTL_EXCEEDED);
    }
    const out = this.ifaces[hops.ifIndex(nh)]!;
    if (!out.up) {
      this.icmpErrorFor(ifc, buf, ipOff, h.totalLength, ICMP_DEST_UNREACHABLE, UNREACH_NET, 0, now);
      return this.drop(ifc, Drop.INTERFACE_DOWN);
    }
    const segmentSize = this.rxSegmentSize > 0 ? this.segmentableSize(buf, ipOff) : 0;
    // An aggregated frame stands for segments of segmentSize: those are what must fit.
    const wireLength =
      segmentSize > 0 ? h.totalLength - this.segmentPayload(buf, ipOff) + segmentSize : h.totalLength;
    if (wireLength > out.mtu && (h.flagsOffset & IPV4_FLAG_DF) !== 0) {
      // RFC 1191 §4: tell the sender the MTU of the next hop.
      this.icmpErrorFor(
        ifc,
        buf,
        ipOff,
        h.totalLength,
        ICMP_DEST_UNREACHABLE,
        UNREACH_FRAG_NEEDED,
        fragNeededRestOfHeader(out.mtu),
        now,
      );
      return this.drop(ifc, Drop.IPV4_FRAG_NEEDED);
    }
    // RFC 1812 §5.3.1 TTL decrement with the RFC 1624 incremental checksum update.
    const ttlWordOld = (h.ttl << 8) | h.protocol;
    buf[ipOff + 8] = h.ttl - 1;
    wr16(buf, ipOff + 10, checksumAdjust(rd16(buf, ipOff + 10), ttlWordOld, ttlWordOld - 256));
    this.stats[Stat.FORWARDED]! += 1;
    const gateway = hops.gateway(nh);
    const nextHop = gateway !== 0 ? gateway : dst;
    // UDP datagram boundaries matter even when the aggregate would fit; TCP's do not.
    if (segmentSize > 0 && (h.totalLength > out.mtu || h.protocol === IPPROTO_UDP)) {
      // A link that segments TCP itself gets the aggregate whole, as Linux forwards GRO packets.
      if (h.protocol === IPPROTO_TCP && wireLength <= out.mtu && h.totalLength <= out.maxSegmentOffload)
        this.l2Output(out, nextHop, buf, ipOff, h.totalLength, now, segmentSize);
      else this.segmentAndSend(out, nextHop, buf, ipOff, segmentSize, now);
    } else if (h.totalLength <= out.mtu) this.l2Output(out, nextHop, buf, ipOff, h.totalLength, now);
    else this.fragmentAndSend(out, nextHop, buf, ipOff, now);
  }

  /** The frame's segment size if it is an unfragmented TCP or UDP packet that can be cut, else 0. */
  private segmentableSize(buf: Uint8Array, ipOff: number): number {
    const h = this.ip;
    if (h.isFragment) return 0;
    const l4Len = h.totalLength - h.headerLength;
    if (h.protocol === IPPROTO_TCP) {
      if (l4Len < TCP_MIN_HEADER) return 0;
      const thl = (buf[ipOff + h.headerLength + 12]! >>> 4) * 4;
      return thl >= TCP_MIN_HEADER && thl <= l4Len ? this.rxSegmentSize : 0;
    }
    return h.protocol === IPPROTO_UDP && l4Len >= UDP_HEADER_LEN ? this.rxSegmentSize : 0;
  }

  /** Payload bytes after the TCP or UDP header of the packet just decoded. */
  private segmentPayload(buf: Uint8Array, ipOff: number): number {
    const h = this.ip;
    const l4Len = h.totalLength - h.headerLength;
    if (h.protocol === IPPROTO_UDP) return l4Len - UDP_HEADER_LEN;
    return l4Len - (buf[ipOff + h.headerLength + 12]! >>> 4) * 4;
  }

  /**
   * Cuts an aggregated TCP or UDP packet back into the segments it stands for, as the sender's
   * NIC would have (TSO / UDP segmentation offload), each no larger than the egress MTU: TCP
   * sequence numbers advance, FIN and PSH stay on the last segment and CWR on the first; UDP
   * datagrams each get their own header; IP ids count up as Linux's GSO does. The packet's header
   * is read from `buf` (it may be the VR's own, not the one just decoded); the checksums of the
   * aggregate are not used.
   */
  private segmentAndSend(
    out: Interface,
    nextHop: number,
    buf: Uint8Array,
    ipOff: number,
    size: number,
    now: number,
  ): void {
    const hl = (buf[ipOff]! & 15) * 4;
    const l4 = ipOff + hl;
    const protocol = buf[ipOff + 9]!;
    const src = rd32(buf, ipOff + 12);
    const dst = rd32(buf, ipOff + 16);
    const isTcp = protocol === IPPROTO_TCP;
    const l4hl = isTcp ? (buf[l4 + 12]! >>> 4) * 4 : UDP_HEADER_LEN;
    const payload = rd16(buf, ipOff + 2) - hl - l4hl;
    const chunkMax = Math.min(size, out.mtu - hl - l4hl);
    if (chunkMax <= 0) {
      this.drops[Drop.IPV4_FRAG_NEEDED]! += 1;
      return;
    }
    const seq0 = isTcp ? rd32(buf, l4 + 4) : 0;
    const flags = isTcp ? buf[l4 + 13]! : 0;
    const id0 = rd16(buf, ipOff + 4);
    const f = this.fragBuf;
    const o = TX_HEADROOM;
    let done = 0;
    for (let i = 0; done < payload; i++) {
      const chunk = Math.min(chunkMax, payload - done);
      const last = done + chunk >= payload;
      copyBytes(buf, ipOff, f, o, hl + l4hl);
      copyBytes(buf, l4 + l4hl + done, f, o + hl + l4hl, chunk);
      const segLen = hl + l4hl + chunk;
      wr16(f, o + 2, segLen);
      wr16(f, o + 4, (id0 + i) & 0xffff);
      refreshIpv4Checksum(f, o);
      const fl4 = o + hl;
      const l4Len = l4hl + chunk;
      if (isTcp) {
        wr32(f, fl4 + 4, (seq0 + done) >>> 0);
        let segFlags = flags;
        if (!last) segFlags &= ~(TCP_FIN | TCP_PSH);
        if (i > 0) segFlags &= ~TCP_CWR;
        f[fl4 + 13] = segFlags;
        wr16(f, fl4 + 16, 0);
        wr16(
          f,
          fl4 + 16,
          ~foldSum(sumWords(f, fl4, l4Len, pseudoHeaderSum(src, dst, IPPROTO_TCP, l4Len))) & 0xffff,
        );
      } else {
        wr16(f, fl4 + 4, l4Len);
        wr16(f, fl4 + 6, 0);
        const sum = ~foldSum(sumWords(f, fl4, l4Len, pseudoHeaderSum(src, dst, IPPROTO_UDP, l4Len))) & 0xffff;
        wr16(f, fl4 + 6, sum === 0 ? 0xffff : sum);
      }
      this.stats[Stat.SEGMENTS_CREATED]! += 1;
      this.l2Output(out, nextHop, f, o, segLen, now);
      done += chunk;
    }
  }

  private hashOf(buf: Uint8Array, ipOff: number, hl: number): number {
    const h = this.ip;
    const p = h.protocol;
    if ((p === IPPROTO_TCP || p === IPPROTO_UDP) && !h.isFragment && h.totalLength >= hl + 4) {
      return flowHash(h.src, h.dst, p, rd16(buf, ipOff + hl), rd16(buf, ipOff + hl + 2));
    }
    return flowHash(h.src, h.dst, p, 0, 0);
  }

  /**
   * Sends an IP packet (with TX_HEADROOM bytes free before ipOff) to nextHop on `out`;
   * `segmentSize` > 0 for a TCP aggregate `out` segments itself (within its maxSegmentOffload).
   */
  private l2Output(
    out: Interface,
    nextHop: number,
    buf: Uint8Array,
    ipOff: number,
    ipLen: number,
    now: number,
    segmentSize = 0,
  ): void {
    const e = this.arp.get(out.index, nextHop);
    if (e !== undefined && e.state !== ARP_INCOMPLETE) {
      if (e.state === ARP_STALE && e.requestsSent === 0) {
        // In use while stale: confirm with a unicast probe (RFC 1122 §2.3.2.1).
        this.sendArpRequest(out, nextHop, e.mac);
        e.requestsSent = 1;
        e.deadline = now + this.arp.timers.retransmitMs;
        this.arm(e.deadline);
      }
      if (segmentSize > 0) this.stats[Stat.AGGREGATES_OFFLOADED]! += 1;
      this.transmitIp(out, e.mac, buf, ipOff, ipLen, segmentSize);
      return;
    }
    // The ARP queue holds plain packets: an aggregate waits there as its segments.
    if (segmentSize > 0) return this.segmentAndSend(out, nextHop, buf, ipOff, segmentSize, now);
    if (out.addresses.length === 0) {
      // Nothing to ARP from. A next hop off the interface's subnets is fine (an interface route):
      // the request goes out from the interface's first address, as Linux does.
      this.drops[Drop.ARP_RESOLUTION_FAILED]! += 1;
      return;
    }
    const entry = e ?? this.startResolution(out, nextHop, now);
    const copy = new Uint8Array(TX_HEADROOM + ipLen);
    copyBytes(buf, ipOff, copy, TX_HEADROOM, ipLen);
    if (this.arp.enqueue(entry, copy)) this.stats[Stat.ARP_QUEUED]! += 1;
    else this.drops[Drop.ARP_QUEUE_FULL]! += 1;
  }

  private startResolution(out: Interface, nextHop: number, now: number): ArpEntry {
    const e = this.arp.getOrCreate(out.index, nextHop);
    e.state = ARP_INCOMPLETE;
    this.sendArpRequest(out, nextHop, null);
    e.requestsSent = 1;
    e.deadline = now + this.arp.timers.retransmitMs;
    this.arm(e.deadline);
    return e;
  }

  private transmitIp(
    out: Interface,
    dstMac: Uint8Array,
    buf: Uint8Array,
    ipOff: number,
    ipLen: number,
    segmentSize = 0,
  ): void {
    const frameOff = ipOff - ETH_HEADER_LEN;
    writeEthernet(buf, frameOff, dstMac, 0, out.mac, 0, ETHERTYPE_IPV4);
    this.transmit(out, buf, frameOff, ipLen + ETH_HEADER_LEN, segmentSize);
  }

  private transmit(out: Interface, buf: Uint8Array, off: number, len: number, segmentSize = 0): void {
    out.counters[IF_TX_FRAMES]! += 1;
    out.counters[IF_TX_BYTES]! += len;
    this.output.transmit(out.index, buf, off, len, segmentSize);
  }

  /**
   * Fragments the packet at buf[ipOff..] for `out` (RFC 791 §3.2, "fragmentation"): the first
   * fragment keeps every option, later ones only those with the copied flag.
   */
  private fragmentAndSend(
    out: Interface,
    nextHop: number,
    buf: Uint8Array,
    ipOff: number,
    now: number,
  ): void {
    const hl = (buf[ipOff]! & 15) * 4;
    const totalLength = rd16(buf, ipOff + 2);
    const flagsOffset = rd16(buf, ipOff + 6);
    const baseOffset = (flagsOffset & IPV4_OFFSET_MASK) * 8;
    const lastHasMf = (flagsOffset & IPV4_FLAG_MF) !== 0;
    const payload = totalLength - hl;
    const f = this.fragBuf;
    const fragIpOff = TX_HEADROOM;
    // The header of later fragments: the fixed part plus the copied options.
    const laterHl = this.copiedHeader(buf, ipOff, hl, null, 0);
    let done = 0;
    let first = true;
    this.stats[Stat.PACKETS_FRAGMENTED]! += 1;
    while (done < payload) {
      const fhl = first ? hl : laterHl;
      const room = (out.mtu - fhl) & ~7;
      if (room <= 0) {
        this.drops[Drop.IPV4_FRAG_NEEDED]! += 1;
        return;
      }
      const chunk = Math.min(room, payload - done);
      const last = done + chunk >= payload;
      if (first) copyBytes(buf, ipOff, f, fragIpOff, hl);
      else this.copiedHeader(buf, ipOff, hl, f, fragIpOff);
      copyBytes(buf, ipOff + hl + done, f, fragIpOff + fhl, chunk);
      const fragLen = fhl + chunk;
      wr16(f, fragIpOff + 2, fragLen);
      const mf = !last || lastHasMf ? IPV4_FLAG_MF : 0;
      wr16(f, fragIpOff + 6, (flagsOffset & IPV4_FLAG_DF) | mf | ((baseOffset + done) >>> 3));
      refreshIpv4Checksum(f, fragIpOff);
      this.stats[Stat.FRAGMENTS_CREATED]! += 1;
      this.l2Output(out, nextHop, f, fragIpOff, fragLen, now);
      done += chunk;
      first = false;
    }
  }

  /**
   * The header later fragments carry: the fixed part plus the options whose copied flag is set
   * (RFC 791 §3.1). With `f` it is written at f[fOff..]; either way its padded length is returned.
   */
  private copiedHeader(
    buf: Uint8Array,
    ipOff: number,
    hl: number,
    f: Uint8Array | null,
    fOff: number,
  ): number {
    if (f !== null) copyBytes(buf, ipOff, f, fOff, IPV4_MIN_HEADER);
    let n = IPV4_MIN_HEADER;
    for (let p = ipOff + IPV4_MIN_HEADER; p < ipOff + hl; ) {
      const type = buf[p]!;
      if (type === 0) break;
      if (type === 1) {
        p++;
        continue;
      }
      const optLen = buf[p + 1]!;
      if (optLen < 2 || p + optLen > ipOff + hl) break;
      if ((type & 0x80) !== 0) {
        if (f !== null) copyBytes(buf, p, f, fOff + n, optLen);
        n += optLen;
      }
      p += optLen;
    }
    const padded = (n + 3) & ~3;
    if (f !== null) {
      f.fill(0, fOff + n, fOff + padded);
      f[fOff] = 0x40 | (padded >>> 2);
    }
    return padded;
  }

  // ---- local delivery ------------------------------------------------------------------------

  private localInput(ifc: Interface, buf: Uint8Array, ipOff: number, broadcast: boolean, now: number): void {
    const h = this.ip;
    if (h.isFragment) {
      this.stats[Stat.FRAGMENTS_RECEIVED]! += 1;
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
        this.arm(this.reassembler.nextDeadline());
        return;
      }
      if (r.kind === 'drop') {
        const reason =
          r.reason === 'overlap'
            ? Drop.IPV4_REASSEMBLY_OVERLAP
            : r.reason === 'memory'
              ? Drop.IPV4_REASSEMBLY_MEMORY
              : Drop.IPV4_REASSEMBLY_TOO_BIG;
        return this.drop(ifc, reason);
      }
      this.stats[Stat.DATAGRAMS_REASSEMBLED]! += 1;
      // What the driver said of the last fragment says nothing of the whole datagram.
      this.rxL4ChecksumGood = false;
      refreshIpv4Checksum(r.packet, 0);
      decodeIpv4(r.packet, 0, r.length, h);
      return this.deliver(ifc, r.packet, 0, broadcast, now);
    }
    this.deliver(ifc, buf, ipOff, broadcast, now);
  }

  private deliver(ifc: Interface, buf: Uint8Array, ipOff: number, broadcast: boolean, now: number): void {
    const h = this.ip;
    const hl = h.headerLength;
    const payloadLen = h.totalLength - hl;
    this.stats[Stat.DELIVERED]! += 1;
    const sockets = this.sockets;
    // Multicast for a group nobody here joined is not for us (RFC 1112 §6.2).
    if (isMulticastIpv4(h.dst) && !sockets.joined(h.dst, ifc.index)) return;
    // Raw sockets get a copy of every datagram of their protocol (as on Linux, before the transport).
    const rawTaken =
      sockets.hasRaw(h.protocol) &&
      sockets.rawInput(ifc.index, buf, ipOff, h.totalLength, h.protocol, h.src, h.dst);
    switch (h.protocol) {
      case IPPROTO_ICMP:
        return this.icmpInput(ifc, buf, ipOff, hl, payloadLen, broadcast, now);
      case IPPROTO_UDP: {
        const u = this.udpIn;
        const r = decodeUdp(buf, ipOff + hl, payloadLen, h.src, h.dst, u, !this.rxL4ChecksumGood);
        if (r !== 0) return this.drop(ifc, r);
        if (sockets.udpInput(ifc.index, buf, ipOff + hl, u.length, h.src, h.dst, broadcast)) return;
        // A closed port (RFC 1122 §4.1.3.1), answered only for unicast.
        if (!broadcast)
          this.icmpErrorFor(
            ifc,
            buf,
            ipOff,
            h.totalLength,
            ICMP_DEST_UNREACHABLE,
            UNREACH_PORT,
            0,
            now,
            h.dst,
          );
        return;
      }
      case IPPROTO_TCP: {
        // Decoded here, so that malformed segments are counted with the stack's drop reasons; the
        // engine is told the checksum is already verified.
        const r = decodeTcp(buf, ipOff + hl, payloadLen, h.src, h.dst, this.tcpIn, !this.rxL4ChecksumGood);
        if (r !== 0) return this.drop(ifc, r);
        // RFC 1122 §4.2.3.10: TCP never answers a broadcast or multicast.
        if (broadcast || this.rxLinkBroadcast) return;
        if (this.tcp.input(buf, ipOff + hl, payloadLen, h.src, h.dst, h.tos, now, true)) return;
        // No connection or listener (RFC 9293 §3.10.7.1).
        this.sendTcpReset(now);
        return;
      }
      default:
        if (rawTaken) return;
        this.drop(ifc, Drop.IPV4_UNKNOWN_PROTOCOL);
        if (!broadcast)
          this.icmpErrorFor(
            ifc,
            buf,
            ipOff,
            h.totalLength,
            ICMP_DEST_UNREACHABLE,
            UNREACH_PROTOCOL,
            0,
            now,
            h.dst,
          );
    }
  }

  private icmpInput(
    ifc: Interface,
    buf: Uint8Array,
    ipOff: number,
    hl: number,
    len: number,
    broadcast: boolean,
    now: number,
  ): void {
    const m = this.icmpIn;
    const r = decodeIcmp(buf, ipOff + hl, len, m);
    if (r !== 0) return this.drop(ifc, r);
    this.stats[Stat.ICMP_RECEIVED]! += 1;
    const h = this.ip;
    if (m.type === ICMP_ECHO_REQUEST) {
      // RFC 1122 §3.2.2.6: broadcast echo requests may be ignored, as Linux does by default.
      if (broadcast) return;
      const t = this.txBuf;
      const o = TX_HEADROOM;
      const icmpLen = writeIcmp(
        t,
        o + IPV4_MIN_HEADER,
        ICMP_ECHO_REPLY,
        0,
        m.restOfHeader,
        buf,
        m.bodyOffset,
        m.bodyLength,
      );
      writeIpv4Header(
        t,
        o,
        h.tos,
        IPV4_MIN_HEADER + icmpLen,
        this.nextId(),
        0,
        this.defaultTtl,
        IPPROTO_ICMP,
        h.dst,
        h.src,
      );
      this.stats[Stat.ECHO_REPLIES_SENT]! += 1;
      this.localOutput(t, o, IPV4_MIN_HEADER + icmpLen, now);
      return;
    }
    if (icmpIsError(m.type))
      this.sockets.icmpError(m.type, m.code, m.restOfHeader, buf, m.bodyOffset, m.bodyLength, now);
    if (this.onIcmp !== null) {
      this.onIcmp({
        ifIndex: ifc.index,
        src: h.src,
        dst: h.dst,
        ttl: h.ttl,
        type: m.type,
        code: m.code,
        restOfHeader: m.restOfHeader,
        body: buf.slice(m.bodyOffset, m.bodyOffset + m.bodyLength),
      });
      return;
    }
    if (m.type !== ICMP_ECHO_REPLY && !icmpIsError(m.type)) this.drop(ifc, Drop.ICMP_UNHANDLED_TYPE);
  }

  /** RFC 9293 §3.10.7.1: a segment for a closed port is answered with a reset. */
  private sendTcpReset(now: number): void {
    const h = this.ip;
    const seg = this.tcpIn;
    if ((seg.flags & TCP_RST) !== 0) return;
    let seq = 0;
    let ack = 0;
    let flags = TCP_RST;
    if ((seg.flags & TCP_ACK) !== 0) seq = seg.ack;
    else {
      const segLen =
        seg.dataLength + ((seg.flags & TCP_SYN) !== 0 ? 1 : 0) + ((seg.flags & TCP_FIN) !== 0 ? 1 : 0);
      ack = (seg.seq + segLen) >>> 0;
      flags |= TCP_ACK;
    }
    const t = this.txBuf;
    const o = TX_HEADROOM;
    const len = writeTcp(
      t,
      o + IPV4_MIN_HEADER,
      seg.dstPort,
      seg.srcPort,
      seq,
      ack,
      flags,
      0,
      TCP_MIN_HEADER,
      0,
      h.dst,
      h.src,
    );
    writeIpv4Header(
      t,
      o,
      0,
      IPV4_MIN_HEADER + len,
      this.nextId(),
      IPV4_FLAG_DF,
      this.defaultTtl,
      IPPROTO_TCP,
      h.dst,
      h.src,
    );
    this.stats[Stat.TCP_RESETS_SENT]! += 1;
    this.localOutput(t, o, IPV4_MIN_HEADER + len, now);
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
    options: { ttl?: number; dontFragment?: boolean; src?: number } = {},
  ): boolean {
    const t = this.txBuf;
    const o = TX_HEADROOM;
    const data = o + IPV4_MIN_HEADER + ICMP_HEADER_LEN;
    for (let i = 0; i < dataLength; i++) t[data + i] = i & 255;
    const icmpLen = writeIcmp(
      t,
      o + IPV4_MIN_HEADER,
      ICMP_ECHO_REQUEST,
      0,
      ((id & 0xffff) << 16) | (seq & 0xffff),
      t,
      data,
      dataLength,
    );
    let src = options.src ?? 0;
    if (src === 0) {
      const out = this.egressFor(dst);
      if (out === null) return false;
      src = out.sourceFor(dst);
    }
    writeIpv4Header(
      t,
      o,
      0,
      IPV4_MIN_HEADER + icmpLen,
      this.nextId(),
      options.dontFragment === true ? IPV4_FLAG_DF : 0,
      options.ttl ?? this.defaultTtl,
      IPPROTO_ICMP,
      src,
      dst,
    );
    this.stats[Stat.ECHO_REQUESTS_SENT]! += 1;
    return this.localOutput(t, o, IPV4_MIN_HEADER + icmpLen, now);
  }

  /**
   * The egress interface towards dst for a local sender, restricted to `oif` when >= 0 (a bound
   * device), or -errno as Linux reports it for the route type.
   */
  private routeTo(dst: number, oif: number): number {
    if (isMulticastIpv4(dst) || dst === 0xffffffff) {
      if (oif >= 0) return this.ifaces[oif] === undefined ? -ENETUNREACH : oif;
      const out = this.egressFor(dst);
      return out === null ? -ENETUNREACH : out.index;
    }
    if (this.broadcasts.has(dst)) {
      for (const ifc of this.ifaces) {
        if (oif >= 0 && ifc.index !== oif) continue;
        for (const a of ifc.addresses) {
          if (a.length <= 30 && ((a.address & ipv4Mask(a.length)) | ~ipv4Mask(a.length)) >>> 0 === dst)
            return ifc.index;
        }
      }
      return -ENETUNREACH;
    }
    const nh = this.fib.lookup(dst, 0);
    if (nh < 0) return -ENETUNREACH;
    const hops = this.fib.nextHops;
    const kind = hops.kind(nh);
    if (kind === NH_REJECT) return -EHOSTUNREACH;
    if (kind === NH_BLACKHOLE) return -EINVAL;
    if (kind !== NH_FORWARD) return -EADDRNOTAVAIL;
    const ifIndex = hops.ifIndex(nh);
    if (oif >= 0 && ifIndex !== oif) return -ENETUNREACH;
    return ifIndex;
  }

  private isLocalAddress(addr: number): boolean {
    for (const ifc of this.ifaces) if (this.isOwnAddress(ifc, addr)) return true;
    return false;
  }

  /**
   * Sends a transport payload the socket layer or TCP built at buf[ipOff+20..] (Ethernet room in
   * front): writes the IP header, routes (multicast and broadcast straight onto `ifIndex` with the
   * group or broadcast MAC), fragments unless `df`. Returns 0 or -errno. `segmentSize` > 0 marks
   * a TCP aggregate (checksum not filled): the egress link segments it if it can, else the stack
   * does; each segment must fit the MTU.
   */
  private transportOutput(
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
    if (multicast || dst === 0xffffffff || this.broadcasts.has(dst)) {
      const out = ifIndex >= 0 ? this.ifaces[ifIndex] : undefined;
      if (out === undefined) return -ENETUNREACH;
      if (!out.up) return -ENETDOWN;
      // Link-scoped traffic is not fragmented here: a group MAC has no ARP entry to send fragments to.
      if (ipLen > out.mtu) return -EMSGSIZE;
      const mac = this.groupMac;
      if (multicast) {
        // RFC 1112 §6.4: 01-00-5E and the low 23 bits of the group.
        mac[0] = 0x01;
        mac[1] = 0x00;
        mac[2] = 0x5e;
        mac[3] = (dst >>> 16) & 0x7f;
        mac[4] = (dst >>> 8) & 255;
        mac[5] = dst & 255;
      } else mac.fill(255);
      this.transmitIp(out, mac, buf, ipOff, ipLen);
      return 0;
    }
    const nh = this.fib.lookup(dst, 0);
    if (nh < 0) {
      this.drops[Drop.IPV4_NO_ROUTE]! += 1;
      return -ENETUNREACH;
    }
    const hops = this.fib.nextHops;
    const kind = hops.kind(nh);
    if (kind !== NH_FORWARD)
      return kind === NH_REJECT ? -EHOSTUNREACH : kind === NH_BLACKHOLE ? -EINVAL : -EADDRNOTAVAIL;
    const out = this.ifaces[hops.ifIndex(nh)]!;
    if (ifIndex >= 0 && out.index !== ifIndex) return -ENETUNREACH;
    if (!out.up) return -ENETDOWN;
    const gateway = hops.gateway(nh);
    const nextHop = gateway !== 0 ? gateway : dst;
    if (segmentSize > 0) {
      const headers = IPV4_MIN_HEADER + (buf[ipOff + IPV4_MIN_HEADER + 12]! >>> 4) * 4;
      if (protocol !== IPPROTO_TCP || headers + segmentSize > out.mtu) return -EMSGSIZE;
      if (ipLen <= out.maxSegmentOffload) this.l2Output(out, nextHop, buf, ipOff, ipLen, now, segmentSize);
      else this.segmentAndSend(out, nextHop, buf, ipOff, segmentSize, now);
    } else if (ipLen > out.mtu) {
      if (df) return -EMSGSIZE;
      this.fragmentAndSend(out, nextHop, buf, ipOff, now);
    } else this.l2Output(out, nextHop, buf, ipOff, ipLen, now);
    return 0;
  }

  private egressFor(dst: number): Interface | null {
    const nh = this.fib.lookup(dst, 0);
    if (nh < 0 || this.fib.nextHops.kind(nh) !== NH_FORWARD) return null;
    return this.ifaces[this.fib.nextHops.ifIndex(nh)] ?? null;
  }

  /** Routes a packet the VR originates (with TX_HEADROOM free in front of it). */
  private localOutput(buf: Uint8Array, ipOff: number, ipLen: number, now: number): boolean {
    const dst = rd32(buf, ipOff + 16);
    const nh = this.fib.lookup(dst, 0);
    if (nh < 0) {
      this.drops[Drop.IPV4_NO_ROUTE]! += 1;
      return false;
    }
    const hops = this.fib.nextHops;
    const kind = hops.kind(nh);
    if (kind === NH_BLACKHOLE || kind === NH_REJECT || kind === NH_LOCAL) {
      this.drops[kind === NH_LOCAL ? Drop.IPV4_NOT_FOR_US : Drop.IPV4_BLACKHOLE]! += 1;
      return false;
    }
    const out = this.ifaces[hops.ifIndex(nh)]!;
    if (!out.up) {
      this.drops[Drop.INTERFACE_DOWN]! += 1;
      return false;
    }
    const gateway = hops.gateway(nh);
    const nextHop = gateway !== 0 ? gateway : dst;
    if (ipLen > out.mtu) {
      if ((rd16(buf, ipOff + 6) & IPV4_FLAG_DF) !== 0) {
        this.drops[Drop.IPV4_FRAG_NEEDED]! += 1;
        return false;
      }
      this.fragmentAndSend(out, nextHop, buf, ipOff, now);
    } else {
      this.l2Output(out, nextHop, buf, ipOff, ipLen, now);
    }
    return true;
  }

  /**
   * Sends an ICMP error about the packet at buf[ipOff, ipOff+ipLen), unless RFC 1812 §4.3.2.7
   * forbids it: never about an ICMP error, a non-initial fragment, a broadcast or multicast, or a
   * packet from an address that does not name one host. Rate limited (§4.3.2.8).
   * `arrivedOn` is null when the packet did not just arrive (ARP failure, reassembly timeout).
   */
  private icmpErrorFor(
    arrivedOn: Interface | null,
    buf: Uint8Array,
    ipOff: number,
    ipLen: number,
    type: number,
    code: number,
    restOfHeader: number,
    now: number,
    source = 0,
  ): void {
    const hl = (buf[ipOff]! & 15) * 4;
    const src = rd32(buf, ipOff + 12);
    const dst = rd32(buf, ipOff + 16);
    const flagsOffset = rd16(buf, ipOff + 6);
    if ((flagsOffset & IPV4_OFFSET_MASK) !== 0) return;
    if (isMartianSource(src) || src === 0 || this.broadcasts.has(src)) return;
    if (dst === 0xffffffff || isMulticastIpv4(dst) || this.broadcasts.has(dst)) return;
    if (arrivedOn !== null && this.rxLinkBroadcast) return;
    if (buf[ipOff + 9] === IPPROTO_ICMP && ipLen > hl) {
      const icmpType = buf[ipOff + hl]!;
      if (
        icmpIsError(icmpType) ||
        (icmpType !== ICMP_ECHO_REQUEST && icmpType !== ICMP_ECHO_REPLY && icmpType > 18)
      )
        return;
    }
    // RFC 1812 §4.3.2.4: the source is an address of the interface the error leaves by, or for a
    // packet addressed to the VR itself, the address it was sent to (as hosts do, RFC 1122 §3.2.2).
    const back = this.egressFor(src);
    if (back === null) return;
    const from = source !== 0 ? source : back.sourceFor(src);
    if (from === 0) return;
    if (!this.icmpErrorLimiter.take(now)) {
      this.drops[Drop.ICMP_RATE_LIMITED]! += 1;
      return;
    }
    const quote = Math.min(ipLen, ICMP_ERROR_MAX_QUOTE);
    const t = this.txBuf;
    const o = TX_HEADROOM;
    const icmpLen = writeIcmp(t, o + IPV4_MIN_HEADER, type, code, restOfHeader, buf, ipOff, quote);
    // Internetwork control precedence, as routers mark their own control traffic (RFC 791 §3.1).
    writeIpv4Header(
      t,
      o,
      0xc0,
      IPV4_MIN_HEADER + icmpLen,
      this.nextId(),
      0,
      this.defaultTtl,
      IPPROTO_ICMP,
      from,
      src,
    );
    this.stats[Stat.ICMP_ERRORS_SENT]! += 1;
    this.localOutput(t, o, IPV4_MIN_HEADER + icmpLen, now);
  }

  // ---- helpers -------------------------------------------------------------------------------

  private nextId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  private arm(deadline: number): void {
    if (deadline < this.wake) this.wake = deadline;
  }

  private drop(ifc: Interface, reason: number): void {
    this.drops[reason]! += 1;
    ifc.counters[IF_RX_DROPS]! += 1;
  }

  private iface(ifIndex: number): Interface {
    const ifc = this.ifaces[ifIndex];
    if (ifc === undefined) throw new RangeError(`no interface ${ifIndex}`);
    return ifc;
  }

  private connectedInterface(addr: number): number {
    for (const ifc of this.ifaces) if (ifc.up && this.onSubnetOf(ifc, addr)) return ifc.index;
    return -1;
  }

  private onSubnetOf(ifc: Interface, addr: number): boolean {
    for (const a of ifc.addresses) if (((a.address ^ addr) & ipv4Mask(a.length)) === 0) return true;
    return false;
  }

  private isOwnAddress(ifc: Interface, addr: number): boolean {
    return ifc.addresses.some((a) => a.address === addr);
  }

  // ---- observation ---------------------------------------------------------------------------

  /** The live interfaces (removed ones are left out), in index order. */
  interfaces(): InterfaceInfo[] {
    return this.ifaces
      .filter((i) => !i.removed)
      .map((i) => ({
        index: i.index,
        name: i.name,
        mac: formatMac(i.mac),
        mtu: i.mtu,
        up: i.up,
        addresses: i.addresses.map((a) => `${formatIpv4(a.address)}/${a.length}`),
        rxFrames: i.counters[IF_RX_FRAMES]!,
        rxBytes: i.counters[IF_RX_BYTES]!,
        txFrames: i.counters[IF_TX_FRAMES]!,
        txBytes: i.counters[IF_TX_BYTES]!,
        rxDrops: i.counters[IF_RX_DROPS]!,
      }));
  }

  routeList(): RouteInfo[] {
    return this.routes.list();
  }

  arpEntries(now: number): ArpInfo[] {
    const out: ArpInfo[] = [];
    for (const e of this.arp.values()) {
      out.push({
        address: formatIpv4(e.ip),
        interface: this.ifaces[e.ifIndex]!.name,
        mac: e.state === ARP_INCOMPLETE ? null : formatMac(e.mac),
        state: ARP_STATE_NAMES[e.state]!,
        queued: e.queue.length,
        ageMs: e.state === ARP_INCOMPLETE ? 0 : now - e.updatedAt,
      });
    }
    out.sort((a, b) =>
      a.interface === b.interface ? compareIp(a.address, b.address) : a.interface < b.interface ? -1 : 1,
    );
    return out;
  }

  counters(): CountersInfo {
    const stats: Record<string, number> = {};
    STAT_NAMES.forEach((name, i) => {
      stats[name] = this.stats[i]!;
    });
    stats['fib_routes'] = this.fib.size;
    stats['arp_entries'] = this.arp.size;
    stats['reassembly_pending'] = this.reassembler.pending;
    const drops: Record<string, number> = {};
    for (let r = 1; r < DROP_REASON_COUNT; r++) drops[dropReasonName(r)] = this.drops[r]!;
    return { stats, drops };
  }

  /** Count of one drop reason (tests and benchmarks). */
  dropCount(reason: number): number {
    return this.drops[reason]!;
  }

  statCount(stat: number): number {
    return this.stats[stat]!;
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

function isMartianSourceForArp(addr: number): boolean {
  return addr === 0 || isMartianSource(addr);
}

function compareIp(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return 0;
}
