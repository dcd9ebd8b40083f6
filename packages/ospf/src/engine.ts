// The OSPFv2 engine (RFC 2328): one protocol instance on the VR's raw IP sockets (protocol 89),
// sans-IO. Interfaces (broadcast and point-to-point) with the interface state machine and DR/BDR
// election (§9), neighbours with their state machine, database exchange and loading (§10), reliable
// flooding with retransmission and acknowledgements (§13), origination of this router's Router-LSA,
// Network-LSAs as DR and AS-external-LSAs (§12.4), aging and refresh (§14), and SPF (§16, spf.ts)
// throttled, its routes handed to a sink.
import { formatIpv4, formatIpv6, ipv4Mask } from '@nexthop/addr';
import {
  type DatagramMeta,
  type DatagramSockets,
  EAGAIN,
  EV_READABLE,
  type ProtocolInstance,
  type ProtocolState,
} from '@nexthop/protocol';
import {
  ALL_D_ROUTERS,
  ALL_D_ROUTERS6,
  ALL_SPF_ROUTERS,
  ALL_SPF_ROUTERS6,
  DD_I,
  DD_M,
  DD_MS,
  HEADER_LENGTH,
  HEADER6_LENGTH,
  INITIAL_SEQUENCE_NUMBER,
  IPPROTO_OSPF,
  LINK_P2P,
  LINK_STUB,
  LINK_TRANSIT,
  LS_INFINITY,
  LS_REFRESH_TIME,
  LSA_EXTERNAL,
  LSA_HEADER_LENGTH,
  LSA_NETWORK,
  LSA_ROUTER,
  LSA_SUMMARY_ASBR,
  LSA_SUMMARY_NET,
  LSA_TYPE_NAMES,
  LSA6_EXTERNAL,
  LSA6_INTER_PREFIX,
  LSA6_INTER_ROUTER,
  LSA6_INTRA_PREFIX,
  LSA6_LINK,
  LSA6_NETWORK,
  LSA6_ROUTER,
  LSA6_TYPE_NAMES,
  MAX_AGE,
  MAX_SEQUENCE_NUMBER,
  MD5_DIGEST_LENGTH,
  MIN_LS_ARRIVAL_MS,
  MIN_LS_INTERVAL_MS,
  OPT_E,
  OPT6_E,
  OPT6_R,
  OPT6_V6,
  OSPF6_CHECKSUM_OFFSET,
  PACKET_TYPE_NAMES,
  PREFIX_LA,
  PREFIX_NU,
  PT_DD,
  PT_HELLO,
  PT_LSACK,
  PT_LSR,
  PT_LSU,
  RLSA_B,
  RLSA_E,
} from './constants.ts';
import {
  buildLsa,
  compareInstances,
  encodeExternalBody,
  encodeNetworkBody,
  encodeRouterBody,
  encodeSummaryBody,
  knownLsaType,
  Lsa,
  type LsaHeader,
  lsaKey,
  type RouterLink,
  rd16,
  rd32,
  wr32,
} from './lsa.ts';
import {
  encodeExternal6Body,
  encodeInterPrefixBody,
  encodeInterRouterBody,
  encodeIntraPrefixBody,
  encodeLinkBody,
  encodeNetwork6Body,
  encodeRouter6Body,
  type Prefix6,
  type Router6Link,
} from './lsa6.ts';
import {
  type Dd,
  type DropReason,
  decodeDd,
  decodeDd6,
  decodeHeader,
  decodeHeader6,
  decodeHello,
  decodeHello6,
  decodeLsAck,
  decodeLsr,
  decodeLsu,
  encodeDdFixed,
  encodeDdFixed6,
  encodeHello,
  encodeHello6,
  encodeLsrEntry,
  finishPacket,
  finishPacket6,
  type Hello,
  type Md5,
  type PacketHeader,
} from './packet.ts';
import { type BorderRouter, computeRoutes, prefixKey, type SpfArea, type SpfInterface } from './spf.ts';
import { type Border, computeRoutes6, prefix6Key, type Spf6Area, type Spf6Interface } from './spf6.ts';
import type {
  OspfAreaConfig,
  OspfConfig,
  OspfExternalConfig,
  OspfInterfaceConfig,
  OspfInterfaceShow,
  OspfLsaShow,
  OspfNeighborShow,
  OspfRoute,
  OspfRouteShow,
  OspfRouteSink,
  OspfShow,
} from './types.ts';

/** The socket options the engine sets on its raw sockets (protocol 89). */
export type OspfSocketOption =
  | 'IP_ADD_MEMBERSHIP'
  | 'IP_DROP_MEMBERSHIP'
  | 'IP_MULTICAST_LOOP'
  | 'IP_TTL'
  | 'IP_TOS'
  | 'SO_RCVBUF'
  | 'IPV6_CHECKSUM'
  | 'IPV6_JOIN_GROUP'
  | 'IPV6_LEAVE_GROUP'
  | 'IPV6_MULTICAST_LOOP'
  | 'IPV6_MULTICAST_HOPS'
  | 'IPV6_UNICAST_HOPS'
  | 'IPV6_TCLASS';

/** The socket calls the engine makes (raw IP, protocol 89). */
export type OspfSockets = DatagramSockets<OspfSocketOption>;

export type OspfRecvMeta = DatagramMeta;

export interface OspfEngineOptions {
  name: string;
  sockets: OspfSockets;
  sink: OspfRouteSink;
  config: OspfConfig;
  /** MD5 for cryptographic authentication (RFC 2328 §D.3). */
  md5?: Md5;
  /** Wall-clock seconds at `now` = 0: the base of cryptographic sequence numbers (as FRR's). */
  cryptoSeqBase?: number;
  /** [0, 1): the initial DD sequence numbers. */
  random?: () => number;
  onNeighborState?: (iface: string, routerId: number, from: string, to: string, now: number) => void;
  onInterfaceState?: (iface: string, from: string, to: string, now: number) => void;
  /**
   * A monotonic clock in ms (the VR: performance.now), read only around SPF runs to report how long
   * they took (`show`: lastSpfDurationMs, spfTotalMs). Without it those read 0.
   */
  cpuClock?: () => number;
}

/** Neighbour states (§10.1), in order. */
export const NEIGHBOR_STATES = [
  'Down',
  'Attempt',
  'Init',
  '2-Way',
  'ExStart',
  'Exchange',
  'Loading',
  'Full',
] as const;
const N_DOWN = 0;
const N_INIT = 2;
const N_2WAY = 3;
const N_EXSTART = 4;
const N_EXCHANGE = 5;
const N_LOADING = 6;
const N_FULL = 7;

export type InterfaceState = 'Down' | 'Waiting' | 'Point-to-point' | 'DROther' | 'Backup' | 'DR';

const RX_BUF = 65536;
const TX_BUF = 65536 + 64;
/** Sweep interval of LSA aging. */
const AGE_TICK_MS = 1000;
/** Delayed acknowledgements leave within this (§13.5: less than RxmtInterval). */
const ACK_DELAY_MS = 500;
/** An IP header with no options, before the OSPF packet. */
const IP_HEADER = 20;
const IP6_HEADER = 40;
/** OSPFv3's options in Hellos, DDs and our LSAs: V6, E, R (RFC 5340 §A.2). */
const OPTIONS6 = OPT6_V6 | OPT6_E | OPT6_R;
/** Where a packet goes: an IPv4 address (OSPFv2) or an IPv6 one (OSPFv3). */
type Dest = number | Uint8Array;

class Neighbor {
  readonly routerId: number;
  addr: number;
  /** OSPFv3: its link-local address and interface id (from its Hellos). */
  addr6: Uint8Array = new Uint8Array(16);
  ifaceId = 0;
  /** What DR and BDR fields name it by: its address (OSPFv2), its router id (OSPFv3). */
  ident: number;
  state = N_DOWN;
  priority = 0;
  /** What it declares in its Hellos (interface addresses). */
  dr = 0;
  bdr = 0;
  options = 0;
  deadAt = 0;
  master = false;
  ddSeq = 0;
  /** The last DD received: flags, options, seq; null before one. */
  lastRecv: { flags: number; options: number; seq: number } | null = null;
  /** The last DD sent (bytes to send again), its destination, and the headers it carried. */
  lastSent: Uint8Array | null = null;
  lastSentCount = 0;
  ddRxmtAt = Number.POSITIVE_INFINITY;
  /** A slave keeps its last DD for a RouterDeadInterval after ExchangeDone (§10.8). */
  summary: Lsa[] = [];
  readonly requests = new Map<string, LsaHeader>();
  /** Keys requested by the last LSR still unanswered. */
  readonly outstanding = new Set<string>();
  lsrAt = Number.POSITIVE_INFINITY;
  readonly rxmt = new Map<string, Lsa>();
  rxmtAt = Number.POSITIVE_INFINITY;
  cryptoSeq = 0;
  stateChanges = 0;
  fullSince: number | null = null;

  constructor(routerId: number, addr: number, ident: number) {
    this.routerId = routerId;
    this.addr = addr;
    this.ident = ident;
  }
}

class Iface {
  cfg: OspfInterfaceConfig;
  readonly area: Area;
  state: InterfaceState = 'Down';
  /** DR and BDR as interface addresses (OSPFv2) or router ids (OSPFv3); 0: none. */
  dr = 0;
  bdr = 0;
  /** OSPFv3: the link-scoped LSAs (Link-LSAs) of this link. */
  readonly lsdb = new Map<string, Lsa>();
  readonly neighbors = new Map<number, Neighbor>();
  helloAt = Number.POSITIVE_INFINITY;
  waitAt = Number.POSITIVE_INFINITY;
  readonly delayedAcks: Lsa[] = [];
  ackAt = Number.POSITIVE_INFINITY;
  /** Carrier as the host reports it. */
  linkUp = true;

  constructor(cfg: OspfInterfaceConfig, area: Area) {
    this.cfg = cfg;
    this.area = area;
  }

  get mask(): number {
    return ipv4Mask(this.cfg.prefixLength);
  }

  /** OSPFv3's interface id (RFC 5340 §4.1.2): the configured one, else the index plus one. */
  get ifaceId(): number {
    return this.cfg.interfaceId ?? this.cfg.ifIndex + 1;
  }
}

/** Where an LSA floods and is stored (RFC 5340 §3.5): a link, an area, or the AS (null). */
type Scope = Iface | Area | null;

class Area {
  readonly id: number;
  readonly ifaces: Iface[] = [];
  readonly lsdb = new Map<string, Lsa>();
  spfRuns = 0;
  /** A stub area (§3.6): no AS-external LSAs; its Hellos, DDs and LSAs carry no E-bit. */
  stub = false;
  /** As its ABR: the cost of the default summary (0.0.0.0/0) originated into it (§12.4.3.1). */
  defaultCost = 1;

  constructor(id: number) {
    this.id = id;
  }
}

/** A self-originated LSA waiting for MinLSInterval. */
interface Pending {
  scope: Scope;
  type: number;
  id: number;
}

export class OspfEngine implements ProtocolInstance<OspfConfig, OspfShow> {
  readonly kind = 'ospf';
  readonly name: string;
  private _state: ProtocolState = 'down';
  private config: OspfConfig;
  private readonly sockets: OspfSockets;
  private readonly sink: OspfRouteSink;
  private readonly md5: Md5 | null;
  private readonly random: () => number;
  private readonly cryptoSeqBase: number;
  private lastCryptoSeq = 0;
  private readonly onNeighborState: OspfEngineOptions['onNeighborState'];
  private readonly onInterfaceState: OspfEngineOptions['onInterfaceState'];
  /** OSPFv3 (RFC 5340) rather than OSPFv2. */
  readonly v3: boolean;
  /** The packet header's length: 24 (v2) or 16 (v3). */
  private readonly hl: number;
  /** OSPFv3 AS-external LSAs' Link State IDs by prefix (stable while the prefix is redistributed). */
  private readonly ext6Ids = new Map<string, number>();
  private nextExt6Id = 1;
  /** As an ABR: the Summary-LSAs (type 3) wanted in each area, by Link State ID (§12.4.3). */
  private summaries = new Map<number, Map<number, { mask: number; metric: number }>>();
  /** As an ABR: the ASBR-summary-LSAs (type 4) wanted in each area: ASBR router id → metric. */
  private asbrSummaries = new Map<number, Map<number, number>>();
  /** OSPFv3 as an ABR: the Inter-Area-Prefix LSAs wanted in each area, by Link State ID. */
  private summaries6 = new Map<number, Map<number, Prefix6>>();
  /** Their Link State IDs by prefix (prefix6Key), stable while some area wants the prefix. */
  private readonly inter6Ids = new Map<string, number>();
  private nextInter6Id = 1;
  private fd = -1;
  private readonly areas = new Map<number, Area>();
  private readonly ifaceByIndex = new Map<number, Iface>();
  private readonly externalDb = new Map<string, Lsa>();
  /** Self-originated LSAs due later (MinLSInterval), by key. */
  private readonly pending = new Map<string, Pending & { at: number }>();
  /** When each self-originated LSA was last originated. */
  private readonly originatedAt = new Map<string, number>();
  private spfAt = Number.POSITIVE_INFINITY;
  /** When the change that asked for the pending run came. */
  private spfFirstChange = 0;
  private lastSpf = Number.NEGATIVE_INFINITY;
  private spfRuns = 0;
  /** How long the last SPF run took, and all of them, by `cpuClock` (ms). */
  private lastSpfDuration = 0;
  private spfTotal = 0;
  private readonly cpuClock: (() => number) | undefined;
  private ageAt = Number.POSITIVE_INFINITY;
  private readonly installed = new Map<string, OspfRoute>();
  private readonly rx = new Uint8Array(RX_BUF);
  private readonly tx = new Uint8Array(TX_BUF);
  private readonly meta: OspfRecvMeta = {
    family: 4,
    addr: 0,
    addr6: new Uint8Array(16),
    port: 0,
    ifIndex: -1,
    dst: 0,
    dst6: new Uint8Array(16),
    hopLimit: 0,
    length: 0,
    truncated: false,
  };
  readonly drops: Record<string, number> = {};
  readonly rxCount: Record<string, number> = {};
  readonly txCount: Record<string, number> = {};
  /** Neighbour events worth counting (sequence mismatches, bad requests, inactivity). */
  readonly events: Record<string, number> = {};

  constructor(options: OspfEngineOptions) {
    this.name = options.name;
    this.sockets = options.sockets;
    this.sink = options.sink;
    this.config = options.config;
    this.md5 = options.md5 ?? null;
    this.cryptoSeqBase = options.cryptoSeqBase ?? 0;
    let seed = (options.config.routerId ^ 0x5deece66) >>> 0 || 1;
    this.random =
      options.random ??
      (() => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed / 4294967296;
      });
    this.onNeighborState = options.onNeighborState;
    this.onInterfaceState = options.onInterfaceState;
    this.cpuClock = options.cpuClock;
    this.v3 = options.config.version === 3;
    this.hl = this.v3 ? HEADER6_LENGTH : HEADER_LENGTH;
  }

  get state(): ProtocolState {
    return this._state;
  }

  get routerId(): number {
    return this.config.routerId;
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  start(now: number): void {
    if (this._state !== 'down') return;
    const fd = this.sockets.socket('raw', IPPROTO_OSPF, this.v3 ? 6 : 4);
    if (fd < 0) throw new Error(`OSPF: cannot open a raw socket (${fd})`);
    this.fd = fd;
    if (this.v3) {
      // The IPv6 checksum over the pseudo-header, filled on send and checked on receipt (§A.3.1).
      this.sockets.setOption(fd, 'IPV6_CHECKSUM', OSPF6_CHECKSUM_OFFSET);
      this.sockets.setOption(fd, 'IPV6_MULTICAST_LOOP', 0);
      this.sockets.setOption(fd, 'IPV6_MULTICAST_HOPS', 1);
      this.sockets.setOption(fd, 'IPV6_UNICAST_HOPS', 1);
      this.sockets.setOption(fd, 'IPV6_TCLASS', 0xc0);
    } else {
      this.sockets.setOption(fd, 'IP_MULTICAST_LOOP', 0);
      this.sockets.setOption(fd, 'IP_TOS', 0xc0);
    }
    this._state = 'up';
    for (const a of this.config.areas) this.addArea(a, now);
    this.originateRouterLsas(now);
    this.syncExternals(now);
    this.ageAt = now + AGE_TICK_MS;
  }

  stop(now: number, _reason?: string): void {
    if (this._state === 'down') return;
    this._state = 'stopping';
    // Our LSAs leave with us (premature aging, §14.1), then the neighbours are told by Hellos
    // without us in them (they go to Init at once rather than waiting for the dead interval).
    for (const db of this.allDbs())
      for (const l of [...db.lsdb.values()])
        if (this.isSelf(l) && l.age(now) < MAX_AGE) this.flush(db.scope, l, now);
    for (const ifc of this.ifaceByIndex.values()) {
      if (ifc.state !== 'Down' && !ifc.cfg.passive) {
        for (const n of ifc.neighbors.values()) n.state = N_DOWN;
        ifc.neighbors.clear();
        this.sendHello(ifc, now);
      }
      this.ifaceDown(ifc, now, false);
    }
    for (const [k, r] of this.installed) {
      this.toSink(r, null, now);
      this.installed.delete(k);
    }
    if (this.fd >= 0) this.sockets.close(this.fd, now);
    this.fd = -1;
    this._state = 'down';
  }

  reconfigure(config: OspfConfig, now: number): boolean {
    if (config.routerId !== this.config.routerId) return false;
    const old = this.config;
    this.config = config;
    if (this._state !== 'up') return true;
    const wanted = new Map<number, { area: OspfAreaConfig; cfg: OspfInterfaceConfig }>();
    for (const a of config.areas) for (const i of a.interfaces) wanted.set(i.ifIndex, { area: a, cfg: i });
    // Interfaces that went, or changed in what their adjacencies stand on: down (and back up).
    for (const ifc of [...this.ifaceByIndex.values()]) {
      const w = wanted.get(ifc.cfg.ifIndex);
      if (
        w !== undefined &&
        w.area.id === ifc.area.id &&
        (w.area.stub === true) === ifc.area.stub &&
        !resets(ifc.cfg, w.cfg)
      )
        continue;
      this.ifaceDown(ifc, now, true);
      this.ifaceByIndex.delete(ifc.cfg.ifIndex);
      ifc.area.ifaces.splice(ifc.area.ifaces.indexOf(ifc), 1);
    }
    for (const a of config.areas) {
      let area = this.areas.get(a.id);
      if (area === undefined) {
        area = new Area(a.id);
        this.areas.set(a.id, area);
      }
      area.stub = a.stub === true;
      area.defaultCost = a.defaultCost ?? 1;
      for (const cfg of a.interfaces) {
        const ifc = this.ifaceByIndex.get(cfg.ifIndex);
        if (ifc === undefined) {
          this.addIface(area, cfg, now);
          continue;
        }
        const prev = ifc.cfg;
        ifc.cfg = cfg;
        if (prev.priority !== cfg.priority && ifc.cfg.type === 'broadcast' && ifc.state !== 'Down') {
          if (ifc.state !== 'Waiting') this.electDr(ifc, now);
        }
      }
    }
    for (const [id, area] of this.areas) {
      if (config.areas.some((a) => a.id === id)) continue;
      for (const l of [...area.lsdb.values()]) if (this.isSelf(l)) this.flush(area, l, now);
      this.areas.delete(id);
    }
    if (old.spfDelay !== config.spfDelay || old.spfHold !== config.spfHold) this.scheduleSpf(now);
    // The summaries (a stub area's default among them) follow the next run.
    if (config.areas.some((a) => a.defaultCost !== old.areas.find((o) => o.id === a.id)?.defaultCost))
      this.scheduleSpf(now);
    this.originateRouterLsas(now);
    // OSPFv3: an interface's prefixes live in its Link-LSA and the Intra-Area-Prefix LSAs.
    if (this.v3) for (const ifc of this.ifaceByIndex.values()) this.scheduleIfaceLsas(ifc, now, true);
    this.syncExternals(now);
    // In stub areas only (§3.6) the AS-external LSAs learned before mean nothing: dropped, and SPF
    // runs without them (ours were flushed above).
    if (!this.canBeAsbr() && [...this.externalDb.values()].some((l) => !this.isSelf(l))) {
      for (const [k, l] of this.externalDb) if (!this.isSelf(l)) this.externalDb.delete(k);
      this.scheduleSpf(now);
    }
    return true;
  }

  /** The host reports an interface's carrier (InterfaceUp / InterfaceDown, §9.3). */
  setLinkUp(ifIndex: number, up: boolean, now: number): void {
    const ifc = this.ifaceByIndex.get(ifIndex);
    if (ifc === undefined || ifc.linkUp === up) return;
    ifc.linkUp = up;
    if (this._state !== 'up') return;
    if (up) this.ifaceUp(ifc, now);
    else this.ifaceDown(ifc, now, true);
  }

  /**
   * A client's word that the neighbour at `addr` on an interface is gone (BFD saw its forwarding
   * path fail, RFC 5882 §4.2): the KillNbr event (§10.3), so the LSAs that listed it are
   * re-originated and SPF runs, as at an inactivity timer expiry. False when there is no such one.
   */
  killNeighborAt(ifIndex: number, addr: number, now: number): boolean {
    const ifc = this.ifaceByIndex.get(ifIndex);
    if (ifc === undefined || this._state !== 'up') return false;
    for (const n of ifc.neighbors.values()) {
      if (n.addr !== addr) continue;
      this.count(this.events, 'kill_nbr');
      this.killNeighbor(ifc, n, now);
      return true;
    }
    return false;
  }

  private addArea(a: OspfAreaConfig, now: number): void {
    let area = this.areas.get(a.id);
    if (area === undefined) {
      area = new Area(a.id);
      this.areas.set(a.id, area);
    }
    area.stub = a.stub === true;
    area.defaultCost = a.defaultCost ?? 1;
    for (const cfg of a.interfaces) this.addIface(area, cfg, now);
  }

  private addIface(area: Area, cfg: OspfInterfaceConfig, now: number): void {
    const ifc = new Iface(cfg, area);
    area.ifaces.push(ifc);
    this.ifaceByIndex.set(cfg.ifIndex, ifc);
    if (ifc.linkUp) this.ifaceUp(ifc, now);
  }

  // ---- interface state machine (§9.3) ----------------------------------------------------------

  private setIfState(ifc: Iface, to: InterfaceState, now: number): void {
    if (ifc.state === to) return;
    const from = ifc.state;
    ifc.state = to;
    this.onInterfaceState?.(ifc.cfg.name, from, to, now);
    // The Router-LSA describes the interface's state; the Network-LSA exists while we are DR.
    this.scheduleIfaceLsas(ifc, now, from === 'DR' || to === 'DR');
  }

  /**
   * The LSAs an interface's state goes into: the area's Router-LSA, with `network` the link's
   * Network-LSA; OSPFv3 also the area's Intra-Area-Prefix LSAs (ours, and the link's as DR) and the
   * interface's Link-LSA.
   */
  private scheduleIfaceLsas(ifc: Iface, now: number, network: boolean): void {
    this.scheduleOriginate(ifc.area, this.v3 ? LSA6_ROUTER : LSA_ROUTER, this.routerLsaId(), now);
    if (network)
      this.scheduleOriginate(ifc.area, this.v3 ? LSA6_NETWORK : LSA_NETWORK, this.netLsaId(ifc), now);
    if (!this.v3) return;
    this.scheduleOriginate(ifc.area, LSA6_INTRA_PREFIX, 0, now);
    if (network) this.scheduleOriginate(ifc.area, LSA6_INTRA_PREFIX, ifc.ifaceId, now);
    this.scheduleOriginate(ifc, LSA6_LINK, ifc.ifaceId, now);
  }

  /** The Router-LSA's Link State ID: the router id (v2), 0 (v3: one Router-LSA, §4.4.3.2). */
  private routerLsaId(): number {
    return this.v3 ? 0 : this.config.routerId;
  }

  /** The link's Network-LSA's Link State ID as DR: our address (v2), our interface id (v3). */
  private netLsaId(ifc: Iface): number {
    return this.v3 ? ifc.ifaceId : ifc.cfg.address;
  }

  /** What DR and BDR fields call this router on the interface: its address (v2), its router id (v3). */
  private me(ifc: Iface): number {
    return this.v3 ? this.config.routerId : ifc.cfg.address;
  }

  private ifaceUp(ifc: Iface, now: number): void {
    if (ifc.state !== 'Down') return;
    const c = ifc.cfg;
    if (c.passive) {
      // Advertised as a stub network; no Hellos.
      this.setIfState(ifc, c.type === 'point-to-point' ? 'Point-to-point' : 'DROther', now);
      return;
    }
    this.membership(c.ifIndex, true);
    if (c.type === 'point-to-point') this.setIfState(ifc, 'Point-to-point', now);
    else if (c.priority === 0) this.setIfState(ifc, 'DROther', now);
    else {
      this.setIfState(ifc, 'Waiting', now);
      ifc.waitAt = now + c.deadInterval * 1000;
    }
    this.sendHello(ifc, now);
  }

  private ifaceDown(ifc: Iface, now: number, reoriginate: boolean): void {
    if (ifc.state === 'Down') return;
    for (const n of [...ifc.neighbors.values()]) this.killNeighbor(ifc, n, now, false);
    if (!ifc.cfg.passive && this.fd >= 0) this.membership(ifc.cfg.ifIndex, false);
    ifc.helloAt = ifc.waitAt = ifc.ackAt = Number.POSITIVE_INFINITY;
    ifc.delayedAcks.length = 0;
    ifc.dr = ifc.bdr = 0;
    // Link-scoped LSAs mean nothing on a link we are not on (OSPFv3).
    ifc.lsdb.clear();
    if (reoriginate) this.setIfState(ifc, 'Down', now);
    else ifc.state = 'Down';
  }

  /** AllSPFRouters and AllDRouters joined (or left) on an interface. */
  private membership(ifIndex: number, join: boolean): void {
    if (this.v3) {
      const name = join ? 'IPV6_JOIN_GROUP' : 'IPV6_LEAVE_GROUP';
      this.sockets.setOption(this.fd, name, { group6: ALL_SPF_ROUTERS6, interface: ifIndex });
      this.sockets.setOption(this.fd, name, { group6: ALL_D_ROUTERS6, interface: ifIndex });
      return;
    }
    const name = join ? 'IP_ADD_MEMBERSHIP' : 'IP_DROP_MEMBERSHIP';
    this.sockets.setOption(this.fd, name, { group: ALL_SPF_ROUTERS, interface: ifIndex });
    this.sockets.setOption(this.fd, name, { group: ALL_D_ROUTERS, interface: ifIndex });
  }

  /** §9.4: the DR and BDR of a broadcast network, from this router and its 2-Way neighbours. */
  private electDr(ifc: Iface, now: number): void {
    const me = this.config.routerId;
    const self = { id: me, addr: this.me(ifc), pri: ifc.cfg.priority, dr: ifc.dr, bdr: ifc.bdr };
    const others = [...ifc.neighbors.values()]
      .filter((n) => n.state >= N_2WAY && n.priority > 0)
      .map((n) => ({ id: n.routerId, addr: n.ident, pri: n.priority, dr: n.dr, bdr: n.bdr }));
    const oldDr = ifc.dr;
    const oldBdr = ifc.bdr;
    const pick = (list: typeof others) => {
      let b: (typeof others)[number] | undefined;
      for (const c of list) if (b === undefined || c.pri > b.pri || (c.pri === b.pri && c.id > b.id)) b = c;
      return b;
    };
    const round = () => {
      const cands = self.pri > 0 ? [self, ...others] : others;
      const notDr = cands.filter((c) => c.dr !== c.addr);
      const declBdr = notDr.filter((c) => c.bdr === c.addr);
      const bdr = pick(declBdr.length > 0 ? declBdr : notDr);
      const declDr = cands.filter((c) => c.dr === c.addr);
      const dr = declDr.length > 0 ? pick(declDr) : bdr;
      return { dr: dr?.addr ?? 0, bdr: bdr?.addr ?? 0 };
    };
    let r = round();
    const wasRole = self.dr === self.addr || self.bdr === self.addr;
    const isRole = r.dr === self.addr || r.bdr === self.addr;
    if (wasRole !== isRole || (r.dr === self.addr) !== (self.dr === self.addr)) {
      self.dr = r.dr;
      self.bdr = r.bdr;
      r = round();
    }
    ifc.dr = r.dr;
    ifc.bdr = r.bdr;
    const to: InterfaceState = r.dr === self.addr ? 'DR' : r.bdr === self.addr ? 'Backup' : 'DROther';
    this.setIfState(ifc, to, now);
    if (oldDr !== ifc.dr || oldBdr !== ifc.bdr) {
      // AdjOK? for every neighbour in 2-Way or beyond.
      for (const n of ifc.neighbors.values()) this.adjOk(ifc, n, now);
      this.scheduleIfaceLsas(ifc, now, true);
    }
  }

  private neighborChange(ifc: Iface, now: number): void {
    if (ifc.cfg.type !== 'broadcast') return;
    if (ifc.state === 'DR' || ifc.state === 'Backup' || ifc.state === 'DROther') this.electDr(ifc, now);
  }

  // ---- neighbour state machine (§10.3) ---------------------------------------------------------

  private setNbrState(ifc: Iface, n: Neighbor, to: number, now: number): void {
    const from = n.state;
    if (from === to) return;
    n.state = to;
    n.stateChanges++;
    this.onNeighborState?.(ifc.cfg.name, n.routerId, NEIGHBOR_STATES[from]!, NEIGHBOR_STATES[to]!, now);
    if (to === N_FULL) n.fullSince = now;
    else if (from === N_FULL) n.fullSince = null;
    if (from === N_FULL || to === N_FULL) this.scheduleIfaceLsas(ifc, now, ifc.state === 'DR');
    if (from < N_2WAY !== to < N_2WAY) this.neighborChange(ifc, now);
    if (to < N_EXSTART) this.clearLists(n);
  }

  private clearLists(n: Neighbor): void {
    n.summary = [];
    n.requests.clear();
    n.outstanding.clear();
    n.rxmt.clear();
    n.lastSent = null;
    n.lastRecv = null;
    n.ddRxmtAt = n.lsrAt = n.rxmtAt = Number.POSITIVE_INFINITY;
  }

  private shouldAdj(ifc: Iface, n: Neighbor): boolean {
    if (ifc.cfg.type === 'point-to-point') return true;
    const me = this.me(ifc);
    return ifc.dr === me || ifc.bdr === me || ifc.dr === n.ident || ifc.bdr === n.ident;
  }

  private adjOk(ifc: Iface, n: Neighbor, now: number): void {
    if (n.state === N_2WAY && this.shouldAdj(ifc, n)) this.startExStart(ifc, n, now);
    else if (n.state >= N_EXSTART && !this.shouldAdj(ifc, n)) this.setNbrState(ifc, n, N_2WAY, now);
  }

  private startExStart(ifc: Iface, n: Neighbor, now: number): void {
    this.clearLists(n);
    this.setNbrState(ifc, n, N_EXSTART, now);
    n.ddSeq = n.ddSeq === 0 ? Math.floor(this.random() * 0x7fffffff) + 1 : (n.ddSeq + 1) >>> 0;
    n.master = true;
    this.sendDd(ifc, n, DD_I | DD_M | DD_MS, now);
  }

  private killNeighbor(ifc: Iface, n: Neighbor, now: number, change = true): void {
    this.setNbrState(ifc, n, N_DOWN, now);
    ifc.neighbors.delete(n.routerId);
    if (change) this.neighborChange(ifc, now);
  }

  private seqMismatch(ifc: Iface, n: Neighbor, now: number): void {
    if (n.state < N_EXCHANGE) return;
    this.count(this.events, 'seq_mismatch');
    this.startExStart(ifc, n, now);
  }

  // ---- receiving -------------------------------------------------------------------------------

  socketEvent(fd: number, events: number, now: number): boolean {
    if (fd !== this.fd || this.fd < 0) return false;
    if ((events & EV_READABLE) === 0) return true;
    for (let i = 0; i < 1000; i++) {
      const n = this.sockets.recvFrom(fd, this.rx, 0, RX_BUF, this.meta);
      if (n < 0) {
        if (n !== -EAGAIN) this.count(this.drops, 'socket_error');
        break;
      }
      if (this.meta.truncated) {
        this.count(this.drops, 'truncated');
        continue;
      }
      if (this.v3) this.receive6(this.rx, n, this.meta.ifIndex, this.meta.addr6, this.meta.dst6, now);
      else this.receive(this.rx, n, this.meta.ifIndex, now);
    }
    return true;
  }

  /**
   * One OSPFv3 packet (the IPv6 header removed by the raw socket, its checksum checked there) from
   * src to dst, received on ifIndex. Tests call it directly.
   */
  receive6(b: Uint8Array, n: number, ifIndex: number, src: Uint8Array, dst: Uint8Array, now: number): void {
    if (this._state !== 'up') return;
    const drop = (r: DropReason) => this.count(this.drops, r);
    const ifc = this.ifaceByIndex.get(ifIndex);
    if (ifc === undefined || ifc.state === 'Down') return drop('unknown_interface');
    if (ifc.cfg.passive) return drop('passive');
    // §A.1: from a link-local address; to AllSPFRouters, AllDRouters or one of ours.
    if (src[0] !== 0xfe || (src[1]! & 0xc0) !== 0x80) return drop('bad_source');
    const allD = sameAddr(dst, ALL_D_ROUTERS6);
    if (allD && ifc.state !== 'DR' && ifc.state !== 'Backup') return drop('not_dr_or_backup');
    if (dst[0] === 0xff && !allD && !sameAddr(dst, ALL_SPF_ROUTERS6)) return drop('not_on_link');
    const h = decodeHeader6(b, 0, n, ifc.cfg.instanceId ?? 0);
    if (typeof h === 'string') return drop(h);
    if (h.areaId !== ifc.area.id) return drop('bad_area');
    if (h.routerId === this.config.routerId) return drop('own_router_id');
    this.dispatch(ifc, b, 0, h, 0, src, now);
  }

  /** One IPv4 datagram of protocol 89 (header included) received on ifIndex. Tests call it directly. */
  receive(b: Uint8Array, n: number, ifIndex: number, now: number): void {
    if (this._state !== 'up') return;
    const drop = (r: DropReason) => this.count(this.drops, r);
    if (n < IP_HEADER || b[0]! >> 4 !== 4) return drop('bad_length');
    const ihl = (b[0]! & 15) * 4;
    if (ihl < IP_HEADER || n < ihl) return drop('bad_length');
    const ttl = b[8]!;
    const src = rd32(b, 12);
    const dst = rd32(b, 16);
    if (ttl === 0) return drop('bad_ttl');
    const ifc = this.ifaceByIndex.get(ifIndex);
    if (ifc === undefined || ifc.state === 'Down') return drop('unknown_interface');
    if (ifc.cfg.passive) return drop('passive');
    if (dst === ALL_D_ROUTERS && ifc.state !== 'DR' && ifc.state !== 'Backup')
      return drop('not_dr_or_backup');
    if (dst !== ALL_SPF_ROUTERS && dst !== ALL_D_ROUTERS && dst !== ifc.cfg.address)
      return drop('not_on_link');
    const off = ihl;
    const h = decodeHeader(b, off, n - ihl, ifc.cfg.auth, this.md5);
    if (typeof h === 'string') return drop(h);
    if (h.areaId !== ifc.area.id) return drop('bad_area');
    if (h.routerId === this.config.routerId) return drop('own_router_id');
    if (ifc.cfg.type === 'broadcast' && ((src ^ ifc.cfg.address) & ifc.mask) !== 0)
      return drop('not_on_link');
    const nbr = ifc.neighbors.get(h.routerId);
    if (h.autype === 2 && nbr !== undefined) {
      // §D.3: the sequence number never decreases.
      if (h.cryptoSeq < nbr.cryptoSeq) return drop('bad_crypto_seq');
      nbr.cryptoSeq = h.cryptoSeq;
    }
    this.dispatch(ifc, b, off, h, src, null, now);
  }

  private dispatch(
    ifc: Iface,
    b: Uint8Array,
    off: number,
    h: PacketHeader,
    src: number,
    src6: Uint8Array | null,
    now: number,
  ): void {
    const nbr = ifc.neighbors.get(h.routerId);
    this.count(this.rxCount, PACKET_TYPE_NAMES[h.type]!);
    switch (h.type) {
      case PT_HELLO:
        return this.rxHello(ifc, b, off, h, src, src6, now);
      case PT_DD:
        return this.rxDd(ifc, nbr, b, off, h, now);
      case PT_LSR:
        return this.rxLsr(ifc, nbr, b, off, h, now);
      case PT_LSU:
        return this.rxLsu(ifc, nbr, b, off, h, now);
      case PT_LSACK:
        return this.rxAck(nbr, b, off, h);
    }
  }

  private rxHello(
    ifc: Iface,
    b: Uint8Array,
    off: number,
    h: PacketHeader,
    src: number,
    src6: Uint8Array | null,
    now: number,
  ): void {
    const hello: Hello | DropReason = this.v3
      ? decodeHello6(b, off, h.length)
      : decodeHello(b, off, h.length);
    if (typeof hello === 'string') return this.count(this.drops, hello);
    const c = ifc.cfg;
    if (
      (!this.v3 && c.type === 'broadcast' && hello.mask !== ifc.mask) ||
      hello.helloInterval !== c.helloInterval ||
      hello.deadInterval !== c.deadInterval
    )
      return this.count(this.drops, 'hello_mismatch');
    // §10.5: the E-bit must match the area's ExternalRoutingCapability (clear in a stub area).
    if ((hello.options & OPT_E) !== (ifc.area.stub ? 0 : OPT_E))
      return this.count(this.drops, 'stub_mismatch');
    // The DR and BDR fields name routers by address (v2) or router id (v3).
    const ident = this.v3 ? h.routerId : src;
    let n = ifc.neighbors.get(h.routerId);
    if (n === undefined) {
      if (c.type === 'point-to-point')
        for (const other of [...ifc.neighbors.values()]) this.killNeighbor(ifc, other, now, false);
      n = new Neighbor(h.routerId, src, ident);
      if (h.autype === 2) n.cryptoSeq = h.cryptoSeq;
      ifc.neighbors.set(h.routerId, n);
    }
    n.addr = src;
    if (src6 !== null) n.addr6 = src6.slice();
    n.ifaceId = hello.ifaceId ?? 0;
    const oldPri = n.priority;
    const oldDr = n.dr;
    const oldBdr = n.bdr;
    n.priority = hello.priority;
    n.dr = hello.dr;
    n.bdr = hello.bdr;
    n.options = hello.options;
    // HelloReceived.
    n.deadAt = now + c.deadInterval * 1000;
    if (n.state < N_INIT) this.setNbrState(ifc, n, N_INIT, now);
    if (hello.neighbors.includes(this.config.routerId)) {
      // 2-WayReceived.
      if (n.state === N_INIT) {
        if (this.shouldAdj(ifc, n) && ifc.state !== 'Waiting') this.startExStart(ifc, n, now);
        else this.setNbrState(ifc, n, N_2WAY, now);
        // An answer to a neighbour that has just seen us speeds its side up.
        if (c.type === 'point-to-point' || (n.state as number) === N_2WAY) this.sendHello(ifc, now);
      }
    } else if (n.state >= N_2WAY) {
      // 1-WayReceived.
      this.setNbrState(ifc, n, N_INIT, now);
    }
    if (c.type !== 'broadcast') return;
    if (ifc.state === 'Waiting') {
      if ((hello.dr === ident && hello.bdr === 0) || hello.bdr === ident) {
        // BackupSeen.
        ifc.waitAt = Number.POSITIVE_INFINITY;
        this.electDr(ifc, now);
      }
      return;
    }
    if (
      oldPri !== hello.priority ||
      (oldDr === ident) !== (hello.dr === ident) ||
      (oldBdr === ident) !== (hello.bdr === ident)
    )
      this.neighborChange(ifc, now);
    // A neighbour now reaching 2-Way while we are DR/BDR (or it is) forms an adjacency.
    if (n.state === N_2WAY) this.adjOk(ifc, n, now);
  }

  private rxDd(
    ifc: Iface,
    n: Neighbor | undefined,
    b: Uint8Array,
    off: number,
    h: PacketHeader,
    now: number,
  ): void {
    if (n === undefined) return this.count(this.drops, 'no_neighbor');
    const dd = this.v3 ? decodeDd6(b, off, h.length) : decodeDd(b, off, h.length);
    if (typeof dd === 'string') return this.count(this.drops, dd);
    if (dd.mtu > ifc.cfg.mtu) return this.count(this.drops, 'mtu_mismatch');
    if (n.state === N_INIT) {
      // 2-WayReceived, then as in the state that leads to.
      if (this.shouldAdj(ifc, n) && ifc.state !== 'Waiting') this.startExStart(ifc, n, now);
      else this.setNbrState(ifc, n, N_2WAY, now);
    }
    if (n.state < N_EXSTART) return this.count(this.drops, 'neighbor_state');
    const me = this.config.routerId;
    const dup =
      n.lastRecv !== null &&
      n.lastRecv.flags === dd.flags &&
      n.lastRecv.options === dd.options &&
      n.lastRecv.seq === dd.seq;
    if (n.state === N_EXSTART) {
      const init = DD_I | DD_M | DD_MS;
      if ((dd.flags & init) === init && dd.headers.length === 0 && h.routerId > me) {
        n.master = false;
        n.ddSeq = dd.seq;
      } else if ((dd.flags & (DD_I | DD_MS)) === 0 && dd.seq === n.ddSeq && h.routerId < me) {
        n.master = true;
      } else return;
      n.options = dd.options;
      this.negotiationDone(ifc, n, now);
      this.acceptDd(ifc, n, dd, now);
      return;
    }
    if (dup) {
      if (!n.master) this.resendDd(ifc, n, now);
      return;
    }
    if (n.state === N_EXCHANGE) {
      const msSet = (dd.flags & DD_MS) !== 0;
      if (
        msSet === n.master ||
        (dd.flags & DD_I) !== 0 ||
        (n.lastRecv !== null && dd.options !== n.lastRecv.options)
      )
        return this.seqMismatch(ifc, n, now);
      if (n.master ? dd.seq !== n.ddSeq : dd.seq !== (n.ddSeq + 1) >>> 0)
        return this.seqMismatch(ifc, n, now);
      this.acceptDd(ifc, n, dd, now);
      return;
    }
    // Loading or Full: only duplicates are expected.
    this.seqMismatch(ifc, n, now);
  }

  private negotiationDone(ifc: Iface, n: Neighbor, now: number): void {
    this.setNbrState(ifc, n, N_EXCHANGE, now);
    n.summary = [];
    for (const l of ifc.lsdb.values()) if (l.age(now) < MAX_AGE) n.summary.push(l);
    for (const l of ifc.area.lsdb.values()) if (l.age(now) < MAX_AGE) n.summary.push(l);
    // §10.8: no AS-external LSAs in the summary of a stub area's neighbour.
    if (!ifc.area.stub) for (const l of this.externalDb.values()) if (l.age(now) < MAX_AGE) n.summary.push(l);
    n.lastSentCount = 0;
  }

  private acceptDd(ifc: Iface, n: Neighbor, dd: Dd, now: number): void {
    n.lastRecv = { flags: dd.flags, options: dd.options, seq: dd.seq };
    for (const hd of dd.headers) {
      if (!this.v3 && !knownLsaType(hd.type)) return this.seqMismatch(ifc, n, now);
      const key = lsaKey(hd.type, hd.id, hd.adv);
      const have = this.dbFor(ifc, hd.type).get(key);
      if (
        have === undefined ||
        compareInstances(hd.seq, hd.checksum, hd.age, have.seq, have.checksum, have.age(now)) > 0
      )
        n.requests.set(key, hd);
    }
    n.summary.splice(0, n.lastSentCount);
    n.lastSentCount = 0;
    const theyHaveMore = (dd.flags & DD_M) !== 0;
    if (n.master) {
      n.ddSeq = (n.ddSeq + 1) >>> 0;
      if (n.summary.length === 0 && !theyHaveMore) {
        n.ddRxmtAt = Number.POSITIVE_INFINITY;
        this.exchangeDone(ifc, n, now);
      } else this.sendDd(ifc, n, DD_MS, now);
    } else {
      n.ddSeq = dd.seq;
      const more = this.sendDd(ifc, n, 0, now);
      if (!theyHaveMore && !more) this.exchangeDone(ifc, n, now);
    }
    // One LSR in flight at a time (§10.9): the next goes when its LSAs have all arrived (rxLsu) or
    // at the retransmission; sending one per DD asked again for LSAs already on their way.
    if (n.outstanding.size === 0) this.sendLsr(ifc, n, now);
  }

  private exchangeDone(ifc: Iface, n: Neighbor, now: number): void {
    if (n.requests.size === 0) this.setNbrState(ifc, n, N_FULL, now);
    else this.setNbrState(ifc, n, N_LOADING, now);
  }

  private rxLsr(
    ifc: Iface,
    n: Neighbor | undefined,
    b: Uint8Array,
    off: number,
    h: PacketHeader,
    now: number,
  ): void {
    if (n === undefined) return this.count(this.drops, 'no_neighbor');
    if (n.state < N_EXCHANGE) return this.count(this.drops, 'neighbor_state');
    const entries = decodeLsr(b, off, h.length, this.hl);
    if (typeof entries === 'string') return this.count(this.drops, entries);
    const out: Lsa[] = [];
    for (const e of entries) {
      const l = this.dbFor(ifc, e.type).get(lsaKey(e.type, e.id, e.adv));
      if (l === undefined) {
        // BadLSReq.
        this.count(this.events, 'bad_ls_request');
        return this.startExStart(ifc, n, now);
      }
      out.push(l);
    }
    this.sendLsu(ifc, out, this.unicastDest(ifc, n), now);
  }

  private rxLsu(
    ifc: Iface,
    n: Neighbor | undefined,
    b: Uint8Array,
    off: number,
    h: PacketHeader,
    now: number,
  ): void {
    if (n === undefined) return this.count(this.drops, 'no_neighbor');
    if (n.state < N_EXCHANGE) return this.count(this.drops, 'neighbor_state');
    const lsu = decodeLsu(b, off, h.length, this.v3);
    if (typeof lsu === 'string') return this.count(this.drops, lsu);
    const direct: Lsa[] = [];
    for (const [o, len] of lsu.lsas) {
      const bytes = b.slice(o, o + len);
      const lsa = new Lsa(bytes, rd16(bytes, 0), now, this.v3);
      this.receiveLsa(ifc, n, lsa, direct, now);
      if (n.state < N_EXCHANGE) return; // BadLSReq reset the exchange
    }
    if (direct.length > 0) this.sendAck(ifc, direct, this.unicastDest(ifc, n), now);
    if (n.state === N_LOADING && n.requests.size === 0) this.setNbrState(ifc, n, N_FULL, now);
    else if (n.outstanding.size === 0) this.sendLsr(ifc, n, now);
  }

  /** §13 steps 1 to 8 for one LSA from neighbour n. */
  private receiveLsa(ifc: Iface, n: Neighbor, lsa: Lsa, direct: Lsa[], now: number): void {
    const scope = this.scopeOf(ifc, lsa.type);
    // §13 (3): an AS-external LSA received in a stub area is discarded.
    if (scope === null && ifc.area.stub) return this.count(this.drops, 'stub_external');
    const db = this.lsdbOf(scope);
    const key = lsa.key;
    const have = db.get(key);
    const age = lsa.age(now);
    n.outstanding.delete(key);
    // (4) A MaxAge LSA we do not have, with no exchange in progress: acknowledge and drop.
    if (have === undefined && age >= MAX_AGE && !this.exchanging()) {
      direct.push(lsa);
      return;
    }
    const cmp =
      have === undefined
        ? 1
        : compareInstances(lsa.seq, lsa.checksum, age, have.seq, have.checksum, have.age(now));
    if (cmp > 0) {
      // (5a) MinLSArrival.
      if (
        have !== undefined &&
        !this.isSelf(have) &&
        now - have.at < MIN_LS_ARRIVAL_MS &&
        have.age0 !== MAX_AGE
      ) {
        this.count(this.drops, 'min_ls_arrival');
        return;
      }
      n.requests.delete(key);
      const floodedBack = this.flood(scope, lsa, ifc, n, now);
      this.install(scope, lsa, now);
      if (!floodedBack) {
        if (ifc.state !== 'Backup' || n.ident === ifc.dr) this.delayAck(ifc, lsa, now);
      }
      if (this.isSelf(lsa)) this.selfReceived(scope, lsa, now);
      return;
    }
    // (6) On the request list: BadLSReq.
    if (n.requests.has(key)) {
      this.count(this.events, 'bad_ls_request');
      this.startExStart(ifc, n, now);
      return;
    }
    if (cmp === 0) {
      // (7) A duplicate: an implied acknowledgement, or one sent directly.
      if (n.rxmt.get(key) !== undefined) {
        n.rxmt.delete(key);
        if (ifc.state === 'Backup' && n.ident === ifc.dr) this.delayAck(ifc, lsa, now);
      } else direct.push(lsa);
      return;
    }
    // (8) Ours is newer: send it back, unless it is MaxAge with the greatest sequence number.
    if (have === undefined) return;
    if (have.age(now) >= MAX_AGE && have.seq === MAX_SEQUENCE_NUMBER) return;
    this.sendLsu(ifc, [have], this.unicastDest(ifc, n), now);
  }

  private rxAck(n: Neighbor | undefined, b: Uint8Array, off: number, h: PacketHeader): void {
    if (n === undefined) return this.count(this.drops, 'no_neighbor');
    if (n.state < N_EXCHANGE) return this.count(this.drops, 'neighbor_state');
    const headers = decodeLsAck(b, off, h.length, this.v3);
    if (typeof headers === 'string') return this.count(this.drops, headers);
    for (const hd of headers) {
      const key = lsaKey(hd.type, hd.id, hd.adv);
      const l = n.rxmt.get(key);
      if (l !== undefined && l.seq === hd.seq && l.checksum === hd.checksum) n.rxmt.delete(key);
    }
  }

  // ---- the database ----------------------------------------------------------------------------

  /**
   * Where an LSA of `type` received on ifc belongs: OSPFv2's type 5 to the AS, the others to the
   * area; OSPFv3 by the type's S1/S2 bits (RFC 5340 §A.4.2.1; the reserved 11 kept to the link).
   */
  private scopeOf(ifc: Iface, type: number): Scope {
    if (!this.v3) return type === LSA_EXTERNAL ? null : ifc.area;
    const s = (type >>> 13) & 3;
    return s === 2 ? null : s === 1 ? ifc.area : ifc;
  }

  /** The interfaces an LSA of the scope floods over. */
  private scopeIfaces(scope: Scope): Iface[] {
    if (scope === null) return [...this.ifaceByIndex.values()].filter((i) => !i.area.stub);
    return scope instanceof Area ? scope.ifaces : [scope];
  }

  /** The options of our Hellos and DDs in an area: E unless it is a stub area (§10.5, §A.2). */
  private areaOptions(area: Area): number {
    if (this.v3) return area.stub ? OPTIONS6 & ~OPT6_E : OPTIONS6;
    return area.stub ? 0 : OPT_E;
  }

  /** Whether this router may be an AS boundary router: one of its areas is not a stub (§3.6). */
  private canBeAsbr(): boolean {
    return [...this.areas.values()].some((a) => !a.stub && a.ifaces.length > 0);
  }

  private lsdbOf(scope: Scope): Map<string, Lsa> {
    return scope === null ? this.externalDb : scope.lsdb;
  }

  private dbFor(ifc: Iface, type: number): Map<string, Lsa> {
    return this.lsdbOf(this.scopeOf(ifc, type));
  }

  /** Whether a scope is still this instance's (an area or interface may have gone). */
  private live(scope: Scope): boolean {
    if (scope === null) return true;
    if (scope instanceof Area) return this.areas.get(scope.id) === scope;
    return this.ifaceByIndex.get(scope.cfg.ifIndex) === scope;
  }

  private *allDbs(): Iterable<{ scope: Scope; lsdb: Map<string, Lsa> }> {
    for (const a of this.areas.values()) yield { scope: a, lsdb: a.lsdb };
    if (this.v3) for (const i of this.ifaceByIndex.values()) yield { scope: i, lsdb: i.lsdb };
    yield { scope: null, lsdb: this.externalDb };
  }

  private isSelf(l: Lsa): boolean {
    if (l.adv === this.config.routerId) return true;
    if (this.v3) return false;
    if (l.type === LSA_NETWORK)
      for (const i of this.ifaceByIndex.values()) if (i.cfg.address === l.id) return true;
    return false;
  }

  /** Whether any neighbour is in Exchange or Loading (§13 step 4, §14). */
  private exchanging(): boolean {
    for (const i of this.ifaceByIndex.values())
      for (const n of i.neighbors.values()) if (n.state === N_EXCHANGE || n.state === N_LOADING) return true;
    return false;
  }

  /** §13.2: installs an instance; SPF runs when the contents changed. */
  private install(scope: Scope, lsa: Lsa, now: number): void {
    const db = this.lsdbOf(scope);
    const old = db.get(lsa.key);
    // The old instance leaves the retransmission lists of its scope (another area's Router-LSA has
    // the same key and stays on its own neighbours' lists).
    for (const i of this.scopeIfaces(scope))
      for (const n of i.neighbors.values()) {
        const r = n.rxmt.get(lsa.key);
        if (r !== undefined && r !== lsa) n.rxmt.delete(lsa.key);
      }
    db.set(lsa.key, lsa);
    // OSPFv3: a neighbour's Link-LSA carries the link's prefixes, which the DR advertises (§4.4.3.9).
    if (this.v3 && lsa.type === LSA6_LINK && scope instanceof Iface && scope.state === 'DR')
      this.scheduleOriginate(scope.area, LSA6_INTRA_PREFIX, scope.ifaceId, now);
    if (
      old === undefined ||
      old.age(now) >= MAX_AGE !== lsa.age(now) >= MAX_AGE ||
      old.length !== lsa.length ||
      !sameBody(old.bytes, lsa.bytes)
    )
      this.scheduleSpf(now);
  }

  /**
   * §13.3: floods lsa (received on `from` from `fromNbr`, or originated: null) out of the
   * interfaces of its scope. Returns whether it went back out of the receiving interface.
   */
  private flood(scope: Scope, lsa: Lsa, from: Iface | null, fromNbr: Neighbor | null, now: number): boolean {
    let back = false;
    const ifaces = this.scopeIfaces(scope);
    for (const ifc of ifaces) {
      if (ifc.state === 'Down' || ifc.cfg.passive) continue;
      let added = false;
      for (const n of ifc.neighbors.values()) {
        if (n.state < N_EXCHANGE) continue;
        if (n.state !== N_FULL) {
          const req = n.requests.get(lsa.key);
          if (req !== undefined) {
            const c = compareInstances(lsa.seq, lsa.checksum, lsa.age(now), req.seq, req.checksum, req.age);
            if (c < 0) continue;
            n.requests.delete(lsa.key);
            n.outstanding.delete(lsa.key);
            if (c === 0) continue;
          }
        }
        if (n === fromNbr) continue;
        n.rxmt.set(lsa.key, lsa);
        if (n.rxmtAt === Number.POSITIVE_INFINITY) n.rxmtAt = now + ifc.cfg.retransmitInterval * 1000;
        added = true;
      }
      if (!added) continue;
      if (ifc === from && fromNbr !== null && (fromNbr.ident === ifc.dr || fromNbr.ident === ifc.bdr))
        continue;
      if (ifc === from && ifc.state === 'Backup') continue;
      if (ifc === from) back = true;
      this.sendLsu(ifc, [lsa], this.floodDest(ifc), now);
    }
    return back;
  }

  private floodDest(ifc: Iface): Dest {
    const all = this.v3 ? ALL_SPF_ROUTERS6 : ALL_SPF_ROUTERS;
    if (ifc.cfg.type === 'point-to-point') return all;
    return ifc.state === 'DR' || ifc.state === 'Backup' ? all : this.v3 ? ALL_D_ROUTERS6 : ALL_D_ROUTERS;
  }

  private unicastDest(ifc: Iface, n: Neighbor): Dest {
    if (ifc.cfg.type === 'point-to-point') return this.v3 ? ALL_SPF_ROUTERS6 : ALL_SPF_ROUTERS;
    return this.v3 ? n.addr6 : n.addr;
  }

  // ---- origination (§12.4) ---------------------------------------------------------------------

  /** The key of a self-originated LSA in its scope (one Router-LSA per area shares its LSA key). */
  private originKey(scope: Scope, type: number, id: number): string {
    const where = scope === null ? 'as' : scope instanceof Area ? `a${scope.id}` : `i${scope.cfg.ifIndex}`;
    return `${where}|${lsaKey(type, id, this.config.routerId)}`;
  }

  private scheduleOriginate(scope: Scope, type: number, id: number, now: number): void {
    const key = this.originKey(scope, type, id);
    const last = this.originatedAt.get(key);
    const min = this.config.minLsInterval ?? MIN_LS_INTERVAL_MS;
    const at = last === undefined ? now : Math.max(now, last + min);
    const p = this.pending.get(key);
    if (p === undefined || p.at > at) this.pending.set(key, { scope, type, id, at });
  }

  private originateRouterLsas(now: number): void {
    for (const a of this.areas.values()) {
      this.scheduleOriginate(a, this.v3 ? LSA6_ROUTER : LSA_ROUTER, this.routerLsaId(), now);
      if (this.v3) this.scheduleOriginate(a, LSA6_INTRA_PREFIX, 0, now);
    }
  }

  /** The body this router wants for one of its LSAs now, or null (it should not exist). */
  private wantedBody(scope: Scope, type: number, id: number, now: number): Uint8Array | null {
    if (this.v3) return this.wantedBody6(scope, type, id, now);
    const area = scope instanceof Area ? scope : null;
    if (type === LSA_ROUTER && area !== null) return this.routerBody(area);
    if (type === LSA_NETWORK && area !== null) {
      const ifc = area.ifaces.find((i) => i.cfg.address === id);
      if (ifc === undefined || ifc.state !== 'DR') return null;
      const full = this.fullNeighbors(ifc);
      if (full.length === 0) return null;
      return encodeNetworkBody(ifc.mask, [this.config.routerId, ...full]);
    }
    if (type === LSA_SUMMARY_NET && area !== null) {
      const sum = this.summaries.get(area.id)?.get(id);
      return sum === undefined ? null : encodeSummaryBody(sum.mask, sum.metric);
    }
    if (type === LSA_SUMMARY_ASBR && area !== null) {
      const sum = this.asbrSummaries.get(area.id)?.get(id);
      return sum === undefined ? null : encodeSummaryBody(0, sum);
    }
    if (type === LSA_EXTERNAL) {
      const e = this.config.externals.find((x) => x.network === id);
      if (e === undefined || !this.canBeAsbr()) return null;
      return encodeExternalBody(ipv4Mask(e.length), e.metricType === 2, e.metric, 0, e.tag);
    }
    void now;
    return null;
  }

  private fullNeighbors(ifc: Iface): number[] {
    return [...ifc.neighbors.values()].filter((n) => n.state === N_FULL).map((n) => n.routerId);
  }

  /** Whether a broadcast interface is a transit link: we are DR with a Full neighbour, or Full with the DR. */
  private isTransit(ifc: Iface): boolean {
    if (ifc.cfg.type !== 'broadcast' || ifc.state === 'Down' || ifc.state === 'Waiting' || ifc.dr === 0)
      return false;
    if (ifc.state === 'DR') return [...ifc.neighbors.values()].some((n) => n.state === N_FULL);
    const drNbr = [...ifc.neighbors.values()].find((n) => n.ident === ifc.dr);
    return drNbr !== undefined && drNbr.state === N_FULL;
  }

  /** The Router-LSA's flags: B in several areas, E when redistributing. */
  private routerFlags(area: Area): number {
    let flags = 0;
    if ([...this.areas.values()].filter((a) => a.ifaces.length > 0).length > 1) flags |= RLSA_B;
    if (this.config.externals.length > 0 && !area.stub && this.canBeAsbr()) flags |= RLSA_E;
    return flags;
  }

  private routerBody(area: Area): Uint8Array {
    const links: RouterLink[] = [];
    for (const ifc of area.ifaces) {
      if (ifc.state === 'Down') continue;
      const c = ifc.cfg;
      const net = (c.address & ifc.mask) >>> 0;
      if (c.type === 'point-to-point') {
        for (const n of ifc.neighbors.values())
          if (n.state === N_FULL)
            links.push({ id: n.routerId, data: c.address, type: LINK_P2P, metric: c.cost });
        links.push({ id: net, data: ifc.mask, type: LINK_STUB, metric: c.cost });
        continue;
      }
      if (this.isTransit(ifc))
        links.push({ id: ifc.dr, data: c.address, type: LINK_TRANSIT, metric: c.cost });
      else links.push({ id: net, data: ifc.mask, type: LINK_STUB, metric: c.cost });
    }
    return encodeRouterBody(this.routerFlags(area), links);
  }

  /** OSPFv3's LSAs (RFC 5340 §4.4.3): Router, Network, Link, Intra-Area-Prefix, AS-External. */
  private wantedBody6(scope: Scope, type: number, id: number, now: number): Uint8Array | null {
    const me = this.config.routerId;
    if (scope instanceof Iface) {
      if (type !== LSA6_LINK || scope.state === 'Down' || scope.cfg.passive) return null;
      const c = scope.cfg;
      return encodeLinkBody(
        c.priority,
        this.areaOptions(scope.area),
        c.linkLocal ?? new Uint8Array(16),
        this.ifacePrefixes(scope, 0),
      );
    }
    if (scope === null) {
      if (type !== LSA6_EXTERNAL) return null;
      const e = this.config.externals.find(
        (x) => x.network6 !== undefined && this.ext6Ids.get(ext6Key(x)) === id,
      );
      if (e === undefined || e.network6 === undefined) return null;
      const prefix: Prefix6 = { length: e.length, options: 0, metric: 0, address: e.network6 };
      return encodeExternal6Body(e.metricType === 2, e.metric, prefix, e.tag);
    }
    const area = scope;
    if (type === LSA6_INTER_PREFIX) {
      const p = this.summaries6.get(area.id)?.get(id);
      return p === undefined ? null : encodeInterPrefixBody(p.metric, p);
    }
    if (type === LSA6_INTER_ROUTER) {
      const metric = this.asbrSummaries.get(area.id)?.get(id);
      return metric === undefined ? null : encodeInterRouterBody(OPTIONS6, metric, id);
    }
    if (type === LSA6_ROUTER) {
      if (id !== 0) return null;
      const links: Router6Link[] = [];
      for (const ifc of area.ifaces) {
        if (ifc.state === 'Down') continue;
        const metric = ifc.cfg.cost;
        if (ifc.cfg.type === 'point-to-point') {
          for (const n of ifc.neighbors.values())
            if (n.state === N_FULL)
              links.push({
                type: LINK_P2P,
                metric,
                ifaceId: ifc.ifaceId,
                nbrIfaceId: n.ifaceId,
                nbrRouterId: n.routerId,
              });
          continue;
        }
        if (!this.isTransit(ifc)) continue;
        const drIfaceId =
          ifc.state === 'DR'
            ? ifc.ifaceId
            : ([...ifc.neighbors.values()].find((n) => n.ident === ifc.dr)?.ifaceId ?? 0);
        links.push({
          type: LINK_TRANSIT,
          metric,
          ifaceId: ifc.ifaceId,
          nbrIfaceId: drIfaceId,
          nbrRouterId: ifc.dr,
        });
      }
      return encodeRouter6Body(this.routerFlags(area), this.areaOptions(area), links);
    }
    if (type === LSA6_NETWORK) {
      const ifc = area.ifaces.find((i) => i.ifaceId === id);
      if (ifc === undefined || ifc.state !== 'DR') return null;
      const full = this.fullNeighbors(ifc);
      if (full.length === 0) return null;
      return encodeNetwork6Body(this.areaOptions(area), [me, ...full]);
    }
    if (type === LSA6_INTRA_PREFIX) {
      if (id === 0) {
        // Ours: every interface's prefixes but a transit link's (the DR advertises those).
        const prefixes: Prefix6[] = [];
        for (const ifc of area.ifaces)
          if (ifc.state !== 'Down' && !this.isTransit(ifc))
            prefixes.push(...this.ifacePrefixes(ifc, ifc.cfg.cost));
        if (prefixes.length === 0) return null;
        return encodeIntraPrefixBody(LSA6_ROUTER, 0, me, prefixes);
      }
      // The transit link's, as its DR: its prefixes and those of its Full routers' Link-LSAs (metric 0).
      const ifc = area.ifaces.find((i) => i.ifaceId === id);
      if (ifc === undefined || ifc.state !== 'DR' || !this.isTransit(ifc)) return null;
      const full = new Set(this.fullNeighbors(ifc));
      const seen = new Set<string>();
      const prefixes: Prefix6[] = [];
      const add = (p: Prefix6) => {
        // §4.4.3.9: not NU or LA prefixes, nor link-local ones.
        if ((p.options & (PREFIX_NU | PREFIX_LA)) !== 0 || isLinkLocal(p.address)) return;
        const k = `${[...p.address].join('.')}/${p.length}`;
        if (seen.has(k)) return;
        seen.add(k);
        prefixes.push({ length: p.length, options: p.options, metric: 0, address: p.address });
      };
      for (const p of this.ifacePrefixes(ifc, 0)) add(p);
      for (const l of ifc.lsdb.values()) {
        if (l.type !== LSA6_LINK || !full.has(l.adv) || l.age(now) >= MAX_AGE) continue;
        const body = l.body();
        if (body?.kind === 'link') for (const p of body.prefixes) add(p);
      }
      if (prefixes.length === 0) return null;
      return encodeIntraPrefixBody(LSA6_NETWORK, ifc.ifaceId, me, prefixes);
    }
    return null;
  }

  /** An interface's global prefixes (OSPFv3), with `metric`. */
  private ifacePrefixes(ifc: Iface, metric: number): Prefix6[] {
    return (ifc.cfg.prefixes ?? []).map((p) => ({
      length: p.length,
      options: 0,
      metric,
      address: maskTo(p.address, p.length),
    }));
  }

  /** Originates (or flushes) one of this router's LSAs now, if it differs from what is installed. */
  private originate(scope: Scope, type: number, id: number, now: number, force = false): void {
    const adv = this.config.routerId;
    const key = lsaKey(type, id, adv);
    const db = this.lsdbOf(scope);
    const have = db.get(key);
    const body = this.wantedBody(scope, type, id, now);
    if (body === null) {
      if (have !== undefined && have.age(now) < MAX_AGE) this.flush(scope, have, now);
      return;
    }
    const options = this.v3 || (scope instanceof Area && scope.stub) ? 0 : OPT_E;
    if (
      !force &&
      have !== undefined &&
      have.age(now) < MAX_AGE &&
      have.options === options &&
      have.length === LSA_HEADER_LENGTH + body.length &&
      sameBody(have.bytes.subarray(LSA_HEADER_LENGTH), body, 0)
    )
      return;
    const seq = have === undefined ? INITIAL_SEQUENCE_NUMBER : have.seq + 1;
    if (seq > MAX_SEQUENCE_NUMBER) {
      // §12.1.6: flush first; originated anew once the flushed one is gone.
      this.flush(scope, have!, now);
      return;
    }
    const lsa = new Lsa(buildLsa(type, id, adv, seq, options, body, this.v3), 0, now, this.v3);
    this.originatedAt.set(this.originKey(scope, type, id), now);
    this.install(scope, lsa, now);
    this.flood(scope, lsa, null, null, now);
  }

  /** §14.1: premature aging: the LSA at MaxAge, flooded, and removed once acknowledged. */
  private flush(scope: Scope, l: Lsa, now: number): void {
    const bytes = l.bytes.slice();
    const lsa = new Lsa(bytes, MAX_AGE, now, this.v3);
    this.install(scope, lsa, now);
    this.flood(scope, lsa, null, null, now);
  }

  /** §13.4: a newer instance of one of our own LSAs came in (from before a restart, say). */
  private selfReceived(scope: Scope, lsa: Lsa, now: number): void {
    if (lsa.age(now) >= MAX_AGE) return;
    const body = this.wantedBody(scope, lsa.type, lsa.id, now);
    if (body === null || lsa.adv !== this.config.routerId) this.flush(scope, lsa, now);
    else this.originate(scope, lsa.type, lsa.id, now, true);
  }

  private syncExternals(now: number): void {
    if (this.v3) {
      const want = new Set<number>();
      for (const e of this.config.externals) {
        if (e.network6 === undefined) continue;
        const k = ext6Key(e);
        let id = this.ext6Ids.get(k);
        if (id === undefined) {
          id = this.nextExt6Id++;
          this.ext6Ids.set(k, id);
        }
        want.add(id);
      }
      for (const [k, id] of this.ext6Ids) if (!want.has(id)) this.ext6Ids.delete(k);
      for (const l of this.externalDb.values())
        if (l.adv === this.config.routerId && !want.has(l.id) && l.age(now) < MAX_AGE)
          this.flush(null, l, now);
      for (const id of want) this.scheduleOriginate(null, LSA6_EXTERNAL, id, now);
      return;
    }
    const want = new Set(this.config.externals.map((e) => e.network >>> 0));
    for (const l of this.externalDb.values())
      if (l.adv === this.config.routerId && !want.has(l.id) && l.age(now) < MAX_AGE) this.flush(null, l, now);
    for (const e of this.config.externals) this.scheduleOriginate(null, LSA_EXTERNAL, e.network >>> 0, now);
  }

  // ---- sending ---------------------------------------------------------------------------------

  private nextCryptoSeq(now: number): number {
    const s = (this.cryptoSeqBase + Math.floor(now / 1000)) >>> 0;
    this.lastCryptoSeq = s > this.lastCryptoSeq ? s : (this.lastCryptoSeq + 1) >>> 0;
    return this.lastCryptoSeq;
  }

  /** Room for an OSPF packet on the interface (IP header and digest taken off). */
  private room(ifc: Iface): number {
    if (this.v3) return ifc.cfg.mtu - IP6_HEADER;
    return ifc.cfg.mtu - IP_HEADER - (ifc.cfg.auth.type === 'md5' ? MD5_DIGEST_LENGTH : 0);
  }

  private send(ifc: Iface, type: number, length: number, dst: Dest, now: number): void {
    const c = ifc.cfg;
    if (typeof dst !== 'number') {
      // OSPFv3: from the interface's link-local address, out of its zone (§A.1).
      finishPacket6(this.tx, 0, type, length, this.config.routerId, ifc.area.id, c.instanceId ?? 0);
      const r =
        this.sockets.sendTo6(this.fd, this.tx, 0, length, dst, 0, now, c.linkLocal ?? null, c.ifIndex + 1) ??
        -1;
      if (r < 0) this.count(this.drops, 'send_error');
      else this.count(this.txCount, PACKET_TYPE_NAMES[type]!);
      return;
    }
    const n = finishPacket(
      this.tx,
      0,
      type,
      length,
      this.config.routerId,
      ifc.area.id,
      c.auth,
      this.md5,
      c.auth.type === 'md5' ? this.nextCryptoSeq(now) : 0,
    );
    const r = this.sockets.sendTo(this.fd, this.tx, 0, n, dst, 0, now, c.address, c.ifIndex);
    if (r < 0) this.count(this.drops, 'send_error');
    else this.count(this.txCount, PACKET_TYPE_NAMES[type]!);
  }

  private sendHello(ifc: Iface, now: number): void {
    const c = ifc.cfg;
    if (c.passive || ifc.state === 'Down') return;
    const neighbors = [...ifc.neighbors.values()].filter((n) => n.state >= N_INIT).map((n) => n.routerId);
    const hello: Hello = {
      mask: ifc.mask,
      ifaceId: ifc.ifaceId,
      helloInterval: c.helloInterval,
      options: this.areaOptions(ifc.area),
      priority: c.priority,
      deadInterval: c.deadInterval,
      dr: ifc.dr,
      bdr: ifc.bdr,
      neighbors,
    };
    const len = this.v3 ? encodeHello6(this.tx, 0, hello) : encodeHello(this.tx, 0, hello);
    this.send(ifc, PT_HELLO, len, this.v3 ? ALL_SPF_ROUTERS6 : ALL_SPF_ROUTERS, now);
    ifc.helloAt = now + c.helloInterval * 1000;
  }

  /** Sends the next DD to n with `flags` (and M when summaries remain). Returns whether M was set. */
  private sendDd(ifc: Iface, n: Neighbor, flags: number, now: number): boolean {
    let len = this.v3
      ? encodeDdFixed6(this.tx, 0, ifc.cfg.mtu, this.areaOptions(ifc.area), 0, n.ddSeq)
      : encodeDdFixed(this.tx, 0, ifc.cfg.mtu, this.areaOptions(ifc.area), 0, n.ddSeq);
    let count = 0;
    if ((flags & DD_I) === 0) {
      const room = this.room(ifc);
      while (count < n.summary.length && len + LSA_HEADER_LENGTH <= room) {
        n.summary[count]!.writeHeader(this.tx, len, now);
        len += LSA_HEADER_LENGTH;
        count++;
      }
    }
    const more = (flags & DD_I) !== 0 || count < n.summary.length;
    const f = (flags & (DD_I | DD_MS)) | (more ? DD_M : 0);
    this.tx[this.hl + (this.v3 ? 7 : 3)] = f;
    n.lastSentCount = count;
    this.send(ifc, PT_DD, len, this.unicastDest(ifc, n), now);
    n.lastSent = this.tx.slice(this.hl, len);
    // The master retransmits until answered; the slave only answers.
    n.ddRxmtAt =
      n.master || n.state === N_EXSTART ? now + ifc.cfg.retransmitInterval * 1000 : Number.POSITIVE_INFINITY;
    return more;
  }

  private resendDd(ifc: Iface, n: Neighbor, now: number): void {
    if (n.lastSent === null) return;
    this.tx.set(n.lastSent, this.hl);
    this.send(ifc, PT_DD, this.hl + n.lastSent.length, this.unicastDest(ifc, n), now);
  }

  private sendLsr(ifc: Iface, n: Neighbor, now: number): void {
    if (n.requests.size === 0 || n.state < N_EXCHANGE) {
      n.lsrAt = Number.POSITIVE_INFINITY;
      return;
    }
    let len = this.hl;
    const room = this.room(ifc);
    n.outstanding.clear();
    for (const [key, hd] of n.requests) {
      if (len + 12 > room) break;
      encodeLsrEntry(this.tx, len, { type: hd.type, id: hd.id, adv: hd.adv });
      len += 12;
      n.outstanding.add(key);
    }
    this.send(ifc, PT_LSR, len, this.unicastDest(ifc, n), now);
    n.lsrAt = now + ifc.cfg.retransmitInterval * 1000;
  }

  /** LSUs carrying `lsas` (as many per packet as fit) to dst. */
  private sendLsu(ifc: Iface, lsas: readonly Lsa[], dst: Dest, now: number): void {
    const room = this.room(ifc);
    const delay = ifc.cfg.transmitDelay;
    let i = 0;
    while (i < lsas.length) {
      let len = this.hl + 4;
      let count = 0;
      while (i < lsas.length) {
        const l = lsas[i]!;
        if (count > 0 && len + l.length > room) break;
        if (len + l.length > this.tx.length - MD5_DIGEST_LENGTH) break;
        l.write(this.tx, len, now, delay);
        len += l.length;
        count++;
        i++;
      }
      if (count === 0) {
        i++;
        continue;
      }
      wr32(this.tx, this.hl, count);
      this.send(ifc, PT_LSU, len, dst, now);
    }
  }

  private sendAck(ifc: Iface, lsas: readonly Lsa[], dst: Dest, now: number): void {
    const room = this.room(ifc);
    let i = 0;
    while (i < lsas.length) {
      let len = this.hl;
      while (i < lsas.length && len + LSA_HEADER_LENGTH <= room) {
        lsas[i]!.writeHeader(this.tx, len, now);
        len += LSA_HEADER_LENGTH;
        i++;
      }
      this.send(ifc, PT_LSACK, len, dst, now);
    }
  }

  private delayAck(ifc: Iface, lsa: Lsa, now: number): void {
    ifc.delayedAcks.push(lsa);
    if (ifc.ackAt === Number.POSITIVE_INFINITY) ifc.ackAt = now + ACK_DELAY_MS;
  }

  // ---- timers ----------------------------------------------------------------------------------

  poll(now: number): number {
    if (this._state !== 'up') return Number.POSITIVE_INFINITY;
    let next = Number.POSITIVE_INFINITY;
    for (const ifc of [...this.ifaceByIndex.values()]) {
      if (ifc.state === 'Down') continue;
      if (ifc.waitAt <= now) {
        ifc.waitAt = Number.POSITIVE_INFINITY;
        if (ifc.state === 'Waiting') this.electDr(ifc, now);
      }
      for (const n of [...ifc.neighbors.values()]) {
        if (n.deadAt <= now) {
          this.count(this.events, 'inactivity_timer');
          this.killNeighbor(ifc, n, now);
          continue;
        }
        if (n.ddRxmtAt <= now) {
          if (n.state === N_EXSTART || (n.state === N_EXCHANGE && n.master)) this.resendDd(ifc, n, now);
          n.ddRxmtAt =
            n.state === N_EXSTART || (n.state === N_EXCHANGE && n.master)
              ? now + ifc.cfg.retransmitInterval * 1000
              : Number.POSITIVE_INFINITY;
        }
        if (n.lsrAt <= now) this.sendLsr(ifc, n, now);
        if (n.rxmtAt <= now) {
          if (n.rxmt.size > 0 && n.state >= N_EXCHANGE) {
            this.sendLsu(ifc, [...n.rxmt.values()], this.unicastDest(ifc, n), now);
            n.rxmtAt = now + ifc.cfg.retransmitInterval * 1000;
          } else n.rxmtAt = Number.POSITIVE_INFINITY;
        }
        next = Math.min(next, n.deadAt, n.ddRxmtAt, n.lsrAt, n.rxmtAt);
      }
      if (ifc.helloAt <= now) this.sendHello(ifc, now);
      if (ifc.ackAt <= now) {
        const acks = ifc.delayedAcks.splice(0);
        ifc.ackAt = Number.POSITIVE_INFINITY;
        if (acks.length > 0) this.sendAck(ifc, acks, this.floodDest(ifc), now);
      }
      next = Math.min(next, ifc.helloAt, ifc.waitAt, ifc.ackAt);
    }
    for (const [key, p] of [...this.pending]) {
      if (p.at > now) {
        next = Math.min(next, p.at);
        continue;
      }
      this.pending.delete(key);
      if (!this.live(p.scope)) continue;
      this.originate(p.scope, p.type, p.id, now);
    }
    if (this.ageAt <= now) {
      this.ageSweep(now);
      this.ageAt = now + AGE_TICK_MS;
    }
    if (this.spfAt <= now) {
      if (this.databaseLoading() && now < this.spfFirstChange + this.config.spfHold)
        this.spfAt = Math.min(
          this.spfFirstChange + this.config.spfHold,
          now + Math.max(this.config.spfDelay, 10),
        );
      else this.runSpf(now);
    }
    // Origination above may have asked for more.
    for (const p of this.pending.values()) next = Math.min(next, p.at);
    return Math.max(now, Math.min(next, this.ageAt, this.spfAt));
  }

  /** §14: MaxAge LSAs flooded and removed once no one needs them; our own refreshed. */
  private ageSweep(now: number): void {
    const busy = this.exchanging();
    for (const { scope, lsdb } of this.allDbs()) {
      for (const l of [...lsdb.values()]) {
        const age = l.age(now);
        if (age >= MAX_AGE) {
          if (l.age0 < MAX_AGE) {
            // It aged out on its own: flooded at MaxAge (§14).
            l.age0 = MAX_AGE;
            this.flood(scope, l, null, null, now);
            this.scheduleSpf(now);
          }
          if (busy) continue;
          let held = false;
          for (const i of this.ifaceByIndex.values())
            for (const n of i.neighbors.values()) if (n.rxmt.get(l.key) === l) held = true;
          if (held) continue;
          lsdb.delete(l.key);
          // A flushed LSA of ours that we want again (its sequence number wrapped, or it came back).
          if (l.adv === this.config.routerId && this.wantedBody(scope, l.type, l.id, now) !== null)
            this.scheduleOriginate(scope, l.type, l.id, now);
        } else if (this.isSelf(l) && l.adv === this.config.routerId && age >= LS_REFRESH_TIME) {
          this.originate(scope, l.type, l.id, now, true);
        }
      }
    }
  }

  private scheduleSpf(now: number): void {
    if (this.spfAt === Number.POSITIVE_INFINITY) this.spfFirstChange = now;
    const at = Math.max(now + this.config.spfDelay, this.lastSpf + this.config.spfHold);
    if (at < this.spfAt) this.spfAt = at;
  }

  /**
   * Whether a neighbour is exchanging or loading the database. A run due then waits for it (checked
   * every spfDelay, at most spfHold after the change that asked for the run): routes through that
   * neighbour need our Router-LSA with the link, which comes at Full, and a run over half a database
   * would push the complete one back by a whole hold.
   */
  private databaseLoading(): boolean {
    for (const i of this.ifaceByIndex.values())
      for (const n of i.neighbors.values()) if (n.state === N_EXCHANGE || n.state === N_LOADING) return true;
    return false;
  }

  private runSpf(now: number): void {
    this.spfAt = Number.POSITIVE_INFINITY;
    this.lastSpf = now;
    this.spfRuns++;
    const t0 = this.cpuClock?.() ?? 0;
    if (this.v3) this.runSpf6(now);
    else this.runSpf4(now);
    if (this.cpuClock !== undefined) {
      this.lastSpfDuration = this.cpuClock() - t0;
      this.spfTotal += this.lastSpfDuration;
    }
  }

  private runSpf4(now: number): void {
    const areas: SpfArea[] = [];
    for (const a of this.areas.values()) {
      a.spfRuns++;
      const interfaces: SpfInterface[] = a.ifaces
        .filter((i) => i.state !== 'Down')
        .map((i) => {
          const p2p = new Map<number, number>();
          if (i.cfg.type === 'point-to-point')
            for (const n of i.neighbors.values()) if (n.state === N_FULL) p2p.set(n.routerId, n.addr);
          return { ifIndex: i.cfg.ifIndex, address: i.cfg.address, mask: i.mask, p2pNeighbors: p2p };
        });
      areas.push({ id: a.id, lsdb: a.lsdb, interfaces });
    }
    const { routes, routers } = computeRoutes(this.config.routerId, areas, this.externalDb, now);
    this.installRoutes(routes, now);
    this.originateSummaries(routes, routers, now);
  }

  /**
   * §12.4.3 as an area border router (interfaces in two areas or more): into each area, a Summary-LSA
   * for every intra-area route of the other areas (this router's attached networks included) and,
   * into areas other than the backbone, for the inter-area routes (learned over the backbone); never
   * into the area a route belongs to. The cost is the route's; ours no longer wanted are flushed.
   * ASBR-summary-LSAs (type 4) likewise for the AS boundary routers reached in an area (or, into
   * non-backbone areas, over the backbone), so that their AS-external routes are usable elsewhere;
   * none into stub areas, which get a default summary (0.0.0.0/0) at their defaultCost instead
   * (§12.4.3.1).
   */
  private originateSummaries(
    routes: ReadonlyMap<string, OspfRoute>,
    routers: ReadonlyMap<number, readonly BorderRouter[]>,
    now: number,
  ): void {
    const active = this.activeAreas();
    const want = new Map<number, Map<number, { mask: number; metric: number }>>();
    for (const a of this.areas.values()) want.set(a.id, new Map());
    if (active.length > 1) {
      const offer = (network: number, length: number, metric: number, from: number, interArea: boolean) => {
        for (const a of active) {
          if (a.id === from || (interArea && a.id === 0)) continue;
          const m = want.get(a.id)!;
          const id = network >>> 0;
          const cur = m.get(id);
          if (cur === undefined || metric < cur.metric) m.set(id, { mask: ipv4Mask(length), metric });
        }
      };
      for (const r of routes.values()) {
        if (r.type === 'intra-area') offer(r.network, r.length, r.cost, r.area, false);
        else if (r.type === 'inter-area') offer(r.network, r.length, r.cost, r.area, true);
      }
      for (const a of active)
        for (const i of a.ifaces) {
          if (i.state === 'Down') continue;
          offer((i.cfg.address & i.mask) >>> 0, i.cfg.prefixLength, i.cfg.cost, a.id, false);
        }
      for (const a of active) if (a.stub) want.get(a.id)!.set(0, { mask: 0, metric: a.defaultCost });
    }
    const before = this.summaries;
    const beforeAsbr = this.asbrSummaries;
    this.summaries = want;
    this.asbrSummaries = this.wantAsbrSummaries(active, routers);
    this.syncAreaLsas(LSA_SUMMARY_NET, before, want, now);
    this.syncAreaLsas(LSA_SUMMARY_ASBR, beforeAsbr, this.asbrSummaries, now);
  }

  private runSpf6(now: number): void {
    const areas: Spf6Area[] = [];
    for (const a of this.areas.values()) {
      a.spfRuns++;
      const interfaces: Spf6Interface[] = a.ifaces
        .filter((i) => i.state !== 'Down')
        .map((i) => {
          const neighbors = new Map<number, Uint8Array>();
          for (const n of i.neighbors.values()) if (n.state >= N_2WAY) neighbors.set(n.routerId, n.addr6);
          return {
            ifIndex: i.cfg.ifIndex,
            ifaceId: i.ifaceId,
            neighbors,
            prefixes: this.ifacePrefixes(i, 0),
          };
        });
      areas.push({ id: a.id, lsdb: a.lsdb, interfaces });
    }
    const { routes, routers } = computeRoutes6(this.config.routerId, areas, this.externalDb, now);
    this.installRoutes(routes, now);
    this.originateSummaries6(routes, routers, now);
  }

  /** The areas with an interface up: two or more make this router an area border router. */
  private activeAreas(): Area[] {
    return [...this.areas.values()].filter((a) => a.ifaces.some((i) => i.state !== 'Down'));
  }

  /**
   * §12.4.3 (RFC 5340 §4.4.3.5 for OSPFv3's Inter-Area-Router LSAs): the ASBR summaries wanted in
   * each area — every AS boundary router reached in another area, or over the backbone into a
   * non-backbone area, at its distance; none into stub areas.
   */
  private wantAsbrSummaries(
    active: readonly Area[],
    routers: ReadonlyMap<number, readonly { area: number; dist: number; flags: number; inter?: boolean }[]>,
  ): Map<number, Map<number, number>> {
    const want = new Map<number, Map<number, number>>();
    for (const a of this.areas.values()) want.set(a.id, new Map());
    if (active.length < 2) return want;
    for (const [id, list] of routers)
      for (const r of list) {
        if ((r.flags & RLSA_E) === 0 || id === this.config.routerId) continue;
        for (const a of active) {
          if (a.id === r.area || a.stub || (r.inter === true && a.id === 0)) continue;
          const m = want.get(a.id)!;
          const cur = m.get(id);
          if (cur === undefined || r.dist < cur) m.set(id, r.dist);
        }
      }
    return want;
  }

  /** Schedules origination of what is wanted now and a flush of what no longer is. */
  private syncAreaLsas<T>(
    type: number,
    before: Map<number, Map<number, T>>,
    want: Map<number, Map<number, T>>,
    now: number,
  ): void {
    for (const a of this.areas.values()) {
      const m = want.get(a.id)!;
      for (const id of m.keys()) this.scheduleOriginate(a, type, id, now);
      for (const id of before.get(a.id)?.keys() ?? [])
        if (!m.has(id)) this.scheduleOriginate(a, type, id, now);
    }
  }

  /**
   * OSPFv3 as an area border router (RFC 5340 §4.4.3.4, §4.4.3.5, after RFC 2328 §12.4.3): into
   * each area an Inter-Area-Prefix LSA for every intra-area route of the other areas (our attached
   * prefixes included) and, into non-backbone areas, for the inter-area routes; Inter-Area-Router
   * LSAs for the ASBRs; into a stub area ::/0 at its defaultCost. Link State IDs are ours to choose:
   * one per prefix, kept while some area wants it.
   */
  private originateSummaries6(
    routes: ReadonlyMap<string, OspfRoute>,
    routers: ReadonlyMap<number, readonly Border[]>,
    now: number,
  ): void {
    const active = this.activeAreas();
    const want = new Map<number, Map<number, Prefix6>>();
    for (const a of this.areas.values()) want.set(a.id, new Map());
    const idOf = (address: Uint8Array, length: number): number => {
      const k = prefix6Key(address, length);
      let id = this.inter6Ids.get(k);
      if (id === undefined) {
        id = this.nextInter6Id++;
        this.inter6Ids.set(k, id);
      }
      return id;
    };
    const used = new Set<number>();
    if (active.length > 1) {
      const offer = (
        address: Uint8Array,
        length: number,
        metric: number,
        from: number,
        interArea: boolean,
      ) => {
        if (metric >= LS_INFINITY) return;
        for (const a of active) {
          if (a.id === from || (interArea && a.id === 0)) continue;
          const m = want.get(a.id)!;
          const id = idOf(address, length);
          used.add(id);
          const cur = m.get(id);
          if (cur === undefined || metric < cur.metric) m.set(id, { length, options: 0, metric, address });
        }
      };
      for (const r of routes.values()) {
        if (r.network6 === undefined) continue;
        if (r.type === 'intra-area') offer(r.network6, r.length, r.cost, r.area, false);
        else if (r.type === 'inter-area') offer(r.network6, r.length, r.cost, r.area, true);
      }
      for (const a of active)
        for (const i of a.ifaces) {
          if (i.state === 'Down') continue;
          for (const p of this.ifacePrefixes(i, i.cfg.cost))
            offer(p.address, p.length, p.metric, a.id, false);
        }
      for (const a of active)
        if (a.stub) {
          const id = idOf(new Uint8Array(16), 0);
          used.add(id);
          want
            .get(a.id)!
            .set(id, { length: 0, options: 0, metric: a.defaultCost, address: new Uint8Array(16) });
        }
    }
    for (const [k, id] of this.inter6Ids) if (!used.has(id)) this.inter6Ids.delete(k);
    const before = this.summaries6;
    const beforeAsbr = this.asbrSummaries;
    this.summaries6 = want;
    this.asbrSummaries = this.wantAsbrSummaries(active, routers);
    this.syncAreaLsas(LSA6_INTER_PREFIX, before, want, now);
    this.syncAreaLsas(LSA6_INTER_ROUTER, beforeAsbr, this.asbrSummaries, now);
  }

  /** The new table against the last: only changed routes reach the sink. */
  private installRoutes(routes: ReadonlyMap<string, OspfRoute>, now: number): void {
    for (const [k, r] of this.installed) {
      if (routes.has(k)) continue;
      this.installed.delete(k);
      this.toSink(r, null, now);
    }
    for (const [k, r] of routes) {
      const old = this.installed.get(k);
      if (old !== undefined && sameRoute(old, r)) continue;
      this.installed.set(k, r);
      this.toSink(r, r, now);
    }
  }

  private toSink(r: OspfRoute, route: OspfRoute | null, now: number): void {
    if (r.network6 !== undefined) this.sink.update6?.(r.network6, r.length, route, now);
    else this.sink.update(r.network, r.length, route, now);
  }

  private count(map: Record<string, number>, key: string): void {
    map[key] = (map[key] ?? 0) + 1;
  }

  // ---- show ------------------------------------------------------------------------------------

  show(now: number): OspfShow {
    return {
      version: this.v3 ? 3 : 2,
      routerId: formatIpv4(this.config.routerId),
      state: this._state,
      areas: [...this.areas.values()].map((a) => {
        return {
          id: formatIpv4(a.id),
          interfaces: a.ifaces.length,
          lsas: a.lsdb.size,
          spfRuns: a.spfRuns,
          stub: a.stub,
        };
      }),
      externalLsas: this.externalDb.size,
      spfRuns: this.spfRuns,
      lastSpfMs: this.lastSpf === Number.NEGATIVE_INFINITY ? null : Math.round(now - this.lastSpf),
      lastSpfDurationMs: this.spfRuns === 0 ? null : Math.round(this.lastSpfDuration * 1000) / 1000,
      spfTotalMs: Math.round(this.spfTotal * 1000) / 1000,
      routes: this.installed.size,
      counters: {
        rx: { ...this.rxCount },
        tx: { ...this.txCount },
        drops: { ...this.drops },
        events: { ...this.events },
      },
    };
  }

  interfaces(): OspfInterfaceShow[] {
    const out: OspfInterfaceShow[] = [];
    for (const a of this.areas.values())
      for (const i of a.ifaces) {
        const c = i.cfg;
        out.push({
          name: c.name,
          area: formatIpv4(a.id),
          address: this.v3
            ? formatIpv6(c.linkLocal ?? new Uint8Array(16))
            : `${formatIpv4(c.address)}/${c.prefixLength}`,
          type: c.type,
          state: i.state,
          cost: c.cost,
          priority: c.priority,
          passive: c.passive,
          dr: this.routerIdOf(i, i.dr),
          bdr: this.routerIdOf(i, i.bdr),
          helloInterval: c.helloInterval,
          deadInterval: c.deadInterval,
          neighbors: i.neighbors.size,
          adjacencies: [...i.neighbors.values()].filter((n) => n.state === N_FULL).length,
        });
      }
    return out;
  }

  /** The router id behind a DR/BDR interface address ("" for none). */
  private routerIdOf(i: Iface, addr: number): string {
    if (addr === 0) return '';
    if (this.v3) return formatIpv4(addr);
    if (addr === i.cfg.address) return formatIpv4(this.config.routerId);
    for (const n of i.neighbors.values()) if (n.addr === addr) return formatIpv4(n.routerId);
    return formatIpv4(addr);
  }

  neighbors(now: number): OspfNeighborShow[] {
    const out: OspfNeighborShow[] = [];
    for (const a of this.areas.values())
      for (const i of a.ifaces)
        for (const n of i.neighbors.values())
          out.push({
            routerId: formatIpv4(n.routerId),
            address: this.v3 ? formatIpv6(n.addr6) : formatIpv4(n.addr),
            interface: i.cfg.name,
            area: formatIpv4(a.id),
            state: NEIGHBOR_STATES[n.state]!,
            priority: n.priority,
            role:
              i.cfg.type !== 'broadcast'
                ? ''
                : n.ident === i.dr
                  ? 'DR'
                  : n.ident === i.bdr
                    ? 'BDR'
                    : 'DROther',
            deadInMs: Math.max(0, Math.round(n.deadAt - now)),
            retransmitQueue: n.rxmt.size,
            requestQueue: n.requests.size,
            stateChanges: n.stateChanges,
            fullSince: n.fullSince,
          });
    return out;
  }

  database(now: number): OspfLsaShow[] {
    const out: OspfLsaShow[] = [];
    for (const { scope, lsdb } of this.allDbs())
      for (const l of lsdb.values())
        out.push({
          area: scope === null ? null : formatIpv4(scope instanceof Area ? scope.id : scope.area.id),
          ...(scope instanceof Iface ? { interface: scope.cfg.name } : {}),
          type: this.v3
            ? (LSA6_TYPE_NAMES[l.type] ?? `0x${l.type.toString(16).padStart(4, '0')}`)
            : (LSA_TYPE_NAMES[l.type] ?? String(l.type)),
          id: formatIpv4(l.id),
          advRouter: formatIpv4(l.adv),
          seq: `0x${(l.seq >>> 0).toString(16).padStart(8, '0')}`,
          age: l.age(now),
          checksum: `0x${l.checksum.toString(16).padStart(4, '0')}`,
          length: l.length,
          self: this.isSelf(l),
        });
    out.sort(
      (x, y) =>
        (x.area ?? '~').localeCompare(y.area ?? '~') ||
        x.type.localeCompare(y.type) ||
        x.id.localeCompare(y.id),
    );
    return out;
  }

  /** The routes SPF found (what went to the sink). */
  routes(): OspfRouteShow[] {
    const name = (ifIndex: number) => this.ifaceByIndex.get(ifIndex)?.cfg.name ?? String(ifIndex);
    const text = (r: OspfRoute) =>
      r.network6 !== undefined
        ? `${formatIpv6(r.network6)}/${r.length}`
        : `${formatIpv4(r.network)}/${r.length}`;
    const order = (r: OspfRoute) => (r.network6 !== undefined ? [...r.network6] : [r.network]);
    return [...this.installed.values()]
      .sort((a, b) => {
        const x = order(a);
        const y = order(b);
        for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
        return a.length - b.length;
      })
      .map((r) => ({
        prefix: text(r),
        type: r.type,
        cost: r.cost,
        ...(r.type2Cost !== undefined ? { type2Cost: r.type2Cost } : {}),
        area: formatIpv4(r.area),
        nextHops: r.nextHops.map((h) => ({
          gateway:
            h.gateway6 !== undefined
              ? formatIpv6(h.gateway6)
              : h.gateway === 0
                ? null
                : formatIpv4(h.gateway),
          interface: name(h.ifIndex),
        })),
      }));
  }

  /** The route table as installed (tests). */
  routeTable(): ReadonlyMap<string, OspfRoute> {
    return this.installed;
  }

  /** An LSA by key (tests). */
  lsa(area: number, type: number, id: number, adv: number): Lsa | undefined {
    const external = this.v3 ? ((type >>> 13) & 3) === 2 : type === LSA_EXTERNAL;
    const db = external ? this.externalDb : this.areas.get(area)?.lsdb;
    return db?.get(lsaKey(type, id, adv));
  }
}

function sameAddr(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isLinkLocal(a: Uint8Array): boolean {
  return a[0] === 0xfe && (a[1]! & 0xc0) === 0x80;
}

/** A copy of a with the bits past `length` zero. */
function maskTo(a: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(16);
  out.set(a.subarray(0, 16));
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, length - 8 * i));
    out[i] = out[i]! & ((0xff00 >> keep) & 0xff);
  }
  return out;
}

function ext6Key(e: OspfExternalConfig): string {
  return `${[...(e.network6 ?? [])].join('.')}/${e.length}`;
}

/** Whether a changed interface config needs its adjacencies brought down. */
function resets(a: OspfInterfaceConfig, b: OspfInterfaceConfig): boolean {
  return (
    a.address !== b.address ||
    a.prefixLength !== b.prefixLength ||
    a.type !== b.type ||
    a.helloInterval !== b.helloInterval ||
    a.deadInterval !== b.deadInterval ||
    a.passive !== b.passive ||
    a.mtu !== b.mtu ||
    a.instanceId !== b.instanceId ||
    a.interfaceId !== b.interfaceId ||
    !sameAddr(a.linkLocal ?? new Uint8Array(16), b.linkLocal ?? new Uint8Array(16)) ||
    JSON.stringify(authKey(a)) !== JSON.stringify(authKey(b))
  );
}

function authKey(c: OspfInterfaceConfig): unknown {
  const a = c.auth;
  return a.type === 'none'
    ? 'none'
    : a.type === 'simple'
      ? ['simple', [...a.key]]
      : ['md5', a.keyId, [...a.key]];
}

/** Whether two LSAs' bodies (after the header) and options are the same. */
function sameBody(a: Uint8Array, b: Uint8Array, bOff = LSA_HEADER_LENGTH): boolean {
  const aOff = a.length - (b.length - bOff);
  if (aOff < 0) return false;
  if (bOff === LSA_HEADER_LENGTH && a[2] !== b[2]) return false;
  for (let i = 0; i < b.length - bOff; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

function sameRoute(a: OspfRoute, b: OspfRoute): boolean {
  if (a.type !== b.type || a.cost !== b.cost || a.type2Cost !== b.type2Cost || a.area !== b.area)
    return false;
  if (a.nextHops.length !== b.nextHops.length) return false;
  return a.nextHops.every((h) =>
    b.nextHops.some(
      (x) =>
        x.gateway === h.gateway &&
        x.ifIndex === h.ifIndex &&
        (x.gateway6 === undefined) === (h.gateway6 === undefined) &&
        (x.gateway6 === undefined || sameAddr(x.gateway6, h.gateway6!)),
    ),
  );
}

export type { OspfExternalConfig };
export { prefixKey };
