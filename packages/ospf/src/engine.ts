// The OSPFv2 engine (RFC 2328): one protocol instance on the VR's raw IP sockets (protocol 89),
// sans-IO. Interfaces (broadcast and point-to-point) with the interface state machine and DR/BDR
// election (§9), neighbours with their state machine, database exchange and loading (§10), reliable
// flooding with retransmission and acknowledgements (§13), origination of this router's Router-LSA,
// Network-LSAs as DR and AS-external-LSAs (§12.4), aging and refresh (§14), and SPF (§16, spf.ts)
// throttled, its routes handed to a sink.
import { formatIpv4, ipv4Mask } from '@nexthop/addr';
import { EAGAIN, EV_READABLE, type ProtocolInstance, type ProtocolState } from '@nexthop/protocol';
import {
  ALL_D_ROUTERS,
  ALL_SPF_ROUTERS,
  DD_I,
  DD_M,
  DD_MS,
  HEADER_LENGTH,
  INITIAL_SEQUENCE_NUMBER,
  IPPROTO_OSPF,
  LINK_P2P,
  LINK_STUB,
  LINK_TRANSIT,
  LS_REFRESH_TIME,
  LSA_EXTERNAL,
  LSA_HEADER_LENGTH,
  LSA_NETWORK,
  LSA_ROUTER,
  LSA_TYPE_NAMES,
  MAX_AGE,
  MAX_SEQUENCE_NUMBER,
  MD5_DIGEST_LENGTH,
  MIN_LS_ARRIVAL_MS,
  MIN_LS_INTERVAL_MS,
  OPT_E,
  PACKET_TYPE_NAMES,
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
  type Dd,
  type DropReason,
  decodeDd,
  decodeHeader,
  decodeHello,
  decodeLsAck,
  decodeLsr,
  decodeLsu,
  encodeDdFixed,
  encodeHello,
  encodeLsrEntry,
  finishPacket,
  type Md5,
  type PacketHeader,
} from './packet.ts';
import { computeRoutes, prefixKey, type SpfArea, type SpfInterface } from './spf.ts';
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

/** The socket calls the engine makes: a subset of the stack's SocketLayer (raw sockets). */
export interface OspfSockets {
  socket(type: 'raw', protocol: number, family?: 4 | 6): number;
  close(fd: number, now: number): number;
  setOption(
    fd: number,
    name:
      | 'IP_ADD_MEMBERSHIP'
      | 'IP_DROP_MEMBERSHIP'
      | 'IP_MULTICAST_LOOP'
      | 'IP_TTL'
      | 'IP_TOS'
      | 'SO_RCVBUF',
    value: number | { group: number; interface: string | number },
  ): number;
  sendTo(
    fd: number,
    buf: Uint8Array,
    off: number,
    len: number,
    addr: number,
    port: number,
    now: number,
    src?: number,
    oif?: number,
  ): number;
  recvFrom(fd: number, buf: Uint8Array, off: number, len: number, meta: OspfRecvMeta): number;
}

/** What recvFrom fills (the stack's RecvMeta has this shape). */
export interface OspfRecvMeta {
  family: 4 | 6;
  addr: number;
  readonly addr6: Uint8Array;
  port: number;
  ifIndex: number;
  dst: number;
  readonly dst6: Uint8Array;
  length: number;
  truncated: boolean;
}

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

class Neighbor {
  readonly routerId: number;
  addr: number;
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

  constructor(routerId: number, addr: number) {
    this.routerId = routerId;
    this.addr = addr;
  }
}

class Iface {
  cfg: OspfInterfaceConfig;
  readonly area: Area;
  state: InterfaceState = 'Down';
  /** DR and BDR as interface addresses (0: none). */
  dr = 0;
  bdr = 0;
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
}

class Area {
  readonly id: number;
  readonly ifaces: Iface[] = [];
  readonly lsdb = new Map<string, Lsa>();
  spfRuns = 0;

  constructor(id: number) {
    this.id = id;
  }
}

/** A self-originated LSA waiting for MinLSInterval. */
interface Pending {
  area: Area | null;
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
  private fd = -1;
  private readonly areas = new Map<number, Area>();
  private readonly ifaceByIndex = new Map<number, Iface>();
  private readonly externalDb = new Map<string, Lsa>();
  /** Self-originated LSAs due later (MinLSInterval), by key. */
  private readonly pending = new Map<string, Pending & { at: number }>();
  /** When each self-originated LSA was last originated. */
  private readonly originatedAt = new Map<string, number>();
  private spfAt = Number.POSITIVE_INFINITY;
  private lastSpf = Number.NEGATIVE_INFINITY;
  private spfRuns = 0;
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
    const fd = this.sockets.socket('raw', IPPROTO_OSPF, 4);
    if (fd < 0) throw new Error(`OSPF: cannot open a raw socket (${fd})`);
    this.fd = fd;
    this.sockets.setOption(fd, 'IP_MULTICAST_LOOP', 0);
    this.sockets.setOption(fd, 'IP_TOS', 0xc0);
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
        if (this.isSelf(l) && l.age(now) < MAX_AGE) this.flush(db.area, l, now);
    for (const ifc of this.ifaceByIndex.values()) {
      if (ifc.state !== 'Down' && !ifc.cfg.passive) {
        for (const n of ifc.neighbors.values()) n.state = N_DOWN;
        ifc.neighbors.clear();
        this.sendHello(ifc, now);
      }
      this.ifaceDown(ifc, now, false);
    }
    for (const [k, r] of this.installed) {
      this.sink.update(r.network, r.length, null, now);
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
      if (w !== undefined && w.area.id === ifc.area.id && !resets(ifc.cfg, w.cfg)) continue;
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
    this.originateRouterLsas(now);
    this.syncExternals(now);
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
    this.scheduleOriginate(ifc.area, LSA_ROUTER, this.config.routerId, now);
    if (from === 'DR' || to === 'DR') this.scheduleOriginate(ifc.area, LSA_NETWORK, ifc.cfg.address, now);
  }

  private ifaceUp(ifc: Iface, now: number): void {
    if (ifc.state !== 'Down') return;
    const c = ifc.cfg;
    if (c.passive) {
      // Advertised as a stub network; no Hellos.
      this.setIfState(ifc, c.type === 'point-to-point' ? 'Point-to-point' : 'DROther', now);
      return;
    }
    this.sockets.setOption(this.fd, 'IP_ADD_MEMBERSHIP', { group: ALL_SPF_ROUTERS, interface: c.ifIndex });
    this.sockets.setOption(this.fd, 'IP_ADD_MEMBERSHIP', { group: ALL_D_ROUTERS, interface: c.ifIndex });
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
    if (!ifc.cfg.passive && this.fd >= 0) {
      this.sockets.setOption(this.fd, 'IP_DROP_MEMBERSHIP', {
        group: ALL_SPF_ROUTERS,
        interface: ifc.cfg.ifIndex,
      });
      this.sockets.setOption(this.fd, 'IP_DROP_MEMBERSHIP', {
        group: ALL_D_ROUTERS,
        interface: ifc.cfg.ifIndex,
      });
    }
    ifc.helloAt = ifc.waitAt = ifc.ackAt = Number.POSITIVE_INFINITY;
    ifc.delayedAcks.length = 0;
    ifc.dr = ifc.bdr = 0;
    if (reoriginate) this.setIfState(ifc, 'Down', now);
    else ifc.state = 'Down';
  }

  /** §9.4: the DR and BDR of a broadcast network, from this router and its 2-Way neighbours. */
  private electDr(ifc: Iface, now: number): void {
    const me = this.config.routerId;
    const self = { id: me, addr: ifc.cfg.address, pri: ifc.cfg.priority, dr: ifc.dr, bdr: ifc.bdr };
    const others = [...ifc.neighbors.values()]
      .filter((n) => n.state >= N_2WAY && n.priority > 0)
      .map((n) => ({ id: n.routerId, addr: n.addr, pri: n.priority, dr: n.dr, bdr: n.bdr }));
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
      this.scheduleOriginate(ifc.area, LSA_ROUTER, me, now);
      this.scheduleOriginate(ifc.area, LSA_NETWORK, ifc.cfg.address, now);
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
    if (from === N_FULL || to === N_FULL) {
      this.scheduleOriginate(ifc.area, LSA_ROUTER, this.config.routerId, now);
      if (ifc.state === 'DR') this.scheduleOriginate(ifc.area, LSA_NETWORK, ifc.cfg.address, now);
    }
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
    const me = ifc.cfg.address;
    return ifc.dr === me || ifc.bdr === me || ifc.dr === n.addr || ifc.bdr === n.addr;
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
      this.receive(this.rx, n, this.meta.ifIndex, now);
    }
    return true;
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
    this.count(this.rxCount, PACKET_TYPE_NAMES[h.type]!);
    switch (h.type) {
      case PT_HELLO:
        return this.rxHello(ifc, b, off, h, src, now);
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

  private rxHello(ifc: Iface, b: Uint8Array, off: number, h: PacketHeader, src: number, now: number): void {
    const hello = decodeHello(b, off, h.length);
    if (typeof hello === 'string') return this.count(this.drops, hello);
    const c = ifc.cfg;
    if (
      (c.type === 'broadcast' && hello.mask !== ifc.mask) ||
      hello.helloInterval !== c.helloInterval ||
      hello.deadInterval !== c.deadInterval ||
      (hello.options & OPT_E) !== OPT_E
    )
      return this.count(this.drops, 'hello_mismatch');
    let n = ifc.neighbors.get(h.routerId);
    if (n === undefined) {
      if (c.type === 'point-to-point')
        for (const other of [...ifc.neighbors.values()]) this.killNeighbor(ifc, other, now, false);
      n = new Neighbor(h.routerId, src);
      if (h.autype === 2) n.cryptoSeq = h.cryptoSeq;
      ifc.neighbors.set(h.routerId, n);
    }
    n.addr = src;
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
      if ((hello.dr === src && hello.bdr === 0) || hello.bdr === src) {
        // BackupSeen.
        ifc.waitAt = Number.POSITIVE_INFINITY;
        this.electDr(ifc, now);
      }
      return;
    }
    if (
      oldPri !== hello.priority ||
      (oldDr === src) !== (hello.dr === src) ||
      (oldBdr === src) !== (hello.bdr === src)
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
    const dd = decodeDd(b, off, h.length);
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
    for (const l of ifc.area.lsdb.values()) if (l.age(now) < MAX_AGE) n.summary.push(l);
    for (const l of this.externalDb.values()) if (l.age(now) < MAX_AGE) n.summary.push(l);
    n.lastSentCount = 0;
  }

  private acceptDd(ifc: Iface, n: Neighbor, dd: Dd, now: number): void {
    n.lastRecv = { flags: dd.flags, options: dd.options, seq: dd.seq };
    for (const hd of dd.headers) {
      if (!knownLsaType(hd.type)) return this.seqMismatch(ifc, n, now);
      const key = lsaKey(hd.type, hd.id, hd.adv);
      const have = this.dbFor(ifc.area, hd.type).get(key);
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
    this.sendLsr(ifc, n, now);
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
    const entries = decodeLsr(b, off, h.length);
    if (typeof entries === 'string') return this.count(this.drops, entries);
    const out: Lsa[] = [];
    for (const e of entries) {
      const l = this.dbFor(ifc.area, e.type).get(lsaKey(e.type, e.id, e.adv));
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
    const lsu = decodeLsu(b, off, h.length);
    if (typeof lsu === 'string') return this.count(this.drops, lsu);
    const direct: Lsa[] = [];
    for (const [o, len] of lsu.lsas) {
      const bytes = b.slice(o, o + len);
      const lsa = new Lsa(bytes, rd16(bytes, 0), now);
      this.receiveLsa(ifc, n, lsa, direct, now);
      if (n.state < N_EXCHANGE) return; // BadLSReq reset the exchange
    }
    if (direct.length > 0) this.sendAck(ifc, direct, this.unicastDest(ifc, n), now);
    if (n.state === N_LOADING && n.requests.size === 0) this.setNbrState(ifc, n, N_FULL, now);
    else if (n.outstanding.size === 0) this.sendLsr(ifc, n, now);
  }

  /** §13 steps 1 to 8 for one LSA from neighbour n. */
  private receiveLsa(ifc: Iface, n: Neighbor, lsa: Lsa, direct: Lsa[], now: number): void {
    const area = ifc.area;
    const db = this.dbFor(area, lsa.type);
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
      const floodedBack = this.flood(area, lsa, ifc, n, now);
      this.install(area, lsa, now);
      if (!floodedBack) {
        if (ifc.state !== 'Backup' || n.addr === ifc.dr) this.delayAck(ifc, lsa, now);
      }
      if (this.isSelf(lsa)) this.selfReceived(area, lsa, now);
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
        if (ifc.state === 'Backup' && n.addr === ifc.dr) this.delayAck(ifc, lsa, now);
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
    const headers = decodeLsAck(b, off, h.length);
    if (typeof headers === 'string') return this.count(this.drops, headers);
    for (const hd of headers) {
      const key = lsaKey(hd.type, hd.id, hd.adv);
      const l = n.rxmt.get(key);
      if (l !== undefined && l.seq === hd.seq && l.checksum === hd.checksum) n.rxmt.delete(key);
    }
  }

  // ---- the database ----------------------------------------------------------------------------

  private dbFor(area: Area, type: number): Map<string, Lsa> {
    return type === LSA_EXTERNAL ? this.externalDb : area.lsdb;
  }

  private *allDbs(): Iterable<{ area: Area | null; lsdb: Map<string, Lsa> }> {
    for (const a of this.areas.values()) yield { area: a, lsdb: a.lsdb };
    yield { area: null, lsdb: this.externalDb };
  }

  private isSelf(l: Lsa): boolean {
    if (l.adv === this.config.routerId) return true;
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
  private install(area: Area | null, lsa: Lsa, now: number): void {
    const db = lsa.type === LSA_EXTERNAL ? this.externalDb : area!.lsdb;
    const old = db.get(lsa.key);
    // The old instance leaves every retransmission list.
    for (const i of this.ifaceByIndex.values())
      for (const n of i.neighbors.values()) {
        const r = n.rxmt.get(lsa.key);
        if (r !== undefined && r !== lsa) n.rxmt.delete(lsa.key);
      }
    db.set(lsa.key, lsa);
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
  private flood(
    area: Area | null,
    lsa: Lsa,
    from: Iface | null,
    fromNbr: Neighbor | null,
    now: number,
  ): boolean {
    let back = false;
    const ifaces =
      lsa.type === LSA_EXTERNAL ? [...this.ifaceByIndex.values()] : area === null ? [] : area.ifaces;
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
            if (c === 0) continue;
          }
        }
        if (n === fromNbr) continue;
        n.rxmt.set(lsa.key, lsa);
        if (n.rxmtAt === Number.POSITIVE_INFINITY) n.rxmtAt = now + ifc.cfg.retransmitInterval * 1000;
        added = true;
      }
      if (!added) continue;
      if (ifc === from && fromNbr !== null && (fromNbr.addr === ifc.dr || fromNbr.addr === ifc.bdr)) continue;
      if (ifc === from && ifc.state === 'Backup') continue;
      if (ifc === from) back = true;
      this.sendLsu(ifc, [lsa], this.floodDest(ifc), now);
    }
    return back;
  }

  private floodDest(ifc: Iface): number {
    if (ifc.cfg.type === 'point-to-point') return ALL_SPF_ROUTERS;
    return ifc.state === 'DR' || ifc.state === 'Backup' ? ALL_SPF_ROUTERS : ALL_D_ROUTERS;
  }

  private unicastDest(ifc: Iface, n: Neighbor): number {
    return ifc.cfg.type === 'point-to-point' ? ALL_SPF_ROUTERS : n.addr;
  }

  // ---- origination (§12.4) ---------------------------------------------------------------------

  private scheduleOriginate(area: Area | null, type: number, id: number, now: number): void {
    const adv = this.config.routerId;
    const key = lsaKey(type, id, adv);
    const last = this.originatedAt.get(key);
    const min = this.config.minLsInterval ?? MIN_LS_INTERVAL_MS;
    const at = last === undefined ? now : Math.max(now, last + min);
    const p = this.pending.get(key);
    if (p === undefined || p.at > at) this.pending.set(key, { area, type, id, at });
  }

  private originateRouterLsas(now: number): void {
    for (const a of this.areas.values()) this.scheduleOriginate(a, LSA_ROUTER, this.config.routerId, now);
  }

  /** The body this router wants for one of its LSAs now, or null (it should not exist). */
  private wantedBody(area: Area | null, type: number, id: number, now: number): Uint8Array | null {
    if (type === LSA_ROUTER && area !== null) return this.routerBody(area);
    if (type === LSA_NETWORK && area !== null) {
      const ifc = area.ifaces.find((i) => i.cfg.address === id);
      if (ifc === undefined || ifc.state !== 'DR') return null;
      const full = [...ifc.neighbors.values()].filter((n) => n.state === N_FULL).map((n) => n.routerId);
      if (full.length === 0) return null;
      return encodeNetworkBody(ifc.mask, [this.config.routerId, ...full]);
    }
    if (type === LSA_EXTERNAL) {
      const e = this.config.externals.find((x) => x.network === id);
      if (e === undefined) return null;
      return encodeExternalBody(ipv4Mask(e.length), e.metricType === 2, e.metric, 0, e.tag);
    }
    void now;
    return null;
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
      const drNbr = [...ifc.neighbors.values()].find((n) => n.addr === ifc.dr);
      const transit =
        ifc.state !== 'Waiting' &&
        ifc.dr !== 0 &&
        ((ifc.state === 'DR' && [...ifc.neighbors.values()].some((n) => n.state === N_FULL)) ||
          (drNbr !== undefined && drNbr.state === N_FULL));
      if (transit) links.push({ id: ifc.dr, data: c.address, type: LINK_TRANSIT, metric: c.cost });
      else links.push({ id: net, data: ifc.mask, type: LINK_STUB, metric: c.cost });
    }
    let flags = 0;
    if ([...this.areas.values()].filter((a) => a.ifaces.length > 0).length > 1) flags |= RLSA_B;
    if (this.config.externals.length > 0) flags |= RLSA_E;
    return encodeRouterBody(flags, links);
  }

  /** Originates (or flushes) one of this router's LSAs now, if it differs from what is installed. */
  private originate(area: Area | null, type: number, id: number, now: number, force = false): void {
    const adv = this.config.routerId;
    const key = lsaKey(type, id, adv);
    const db = type === LSA_EXTERNAL ? this.externalDb : area?.lsdb;
    if (db === undefined) return;
    const have = db.get(key);
    const body = this.wantedBody(area, type, id, now);
    if (body === null) {
      if (have !== undefined && have.age(now) < MAX_AGE) this.flush(area, have, now);
      return;
    }
    const options = OPT_E;
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
      this.flush(area, have!, now);
      return;
    }
    const lsa = new Lsa(buildLsa(type, id, adv, seq, options, body), 0, now);
    this.originatedAt.set(key, now);
    this.install(area, lsa, now);
    this.flood(area, lsa, null, null, now);
  }

  /** §14.1: premature aging: the LSA at MaxAge, flooded, and removed once acknowledged. */
  private flush(area: Area | null, l: Lsa, now: number): void {
    const bytes = l.bytes.slice();
    const lsa = new Lsa(bytes, MAX_AGE, now);
    this.install(area, lsa, now);
    this.flood(area, lsa, null, null, now);
  }

  /** §13.4: a newer instance of one of our own LSAs came in (from before a restart, say). */
  private selfReceived(area: Area | null, lsa: Lsa, now: number): void {
    if (lsa.age(now) >= MAX_AGE) return;
    const body = this.wantedBody(area, lsa.type, lsa.id, now);
    if (body === null || lsa.adv !== this.config.routerId) this.flush(area, lsa, now);
    else this.originate(area, lsa.type, lsa.id, now, true);
  }

  private syncExternals(now: number): void {
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
    return ifc.cfg.mtu - IP_HEADER - (ifc.cfg.auth.type === 'md5' ? MD5_DIGEST_LENGTH : 0);
  }

  private send(ifc: Iface, type: number, length: number, dst: number, now: number): void {
    const c = ifc.cfg;
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
    const len = encodeHello(this.tx, 0, {
      mask: c.type === 'broadcast' ? ifc.mask : ifc.mask,
      helloInterval: c.helloInterval,
      options: OPT_E,
      priority: c.priority,
      deadInterval: c.deadInterval,
      dr: ifc.dr,
      bdr: ifc.bdr,
      neighbors,
    });
    this.send(ifc, PT_HELLO, len, ALL_SPF_ROUTERS, now);
    ifc.helloAt = now + c.helloInterval * 1000;
  }

  /** Sends the next DD to n with `flags` (and M when summaries remain). Returns whether M was set. */
  private sendDd(ifc: Iface, n: Neighbor, flags: number, now: number): boolean {
    let len = encodeDdFixed(this.tx, 0, ifc.cfg.mtu, OPT_E, 0, n.ddSeq);
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
    this.tx[HEADER_LENGTH + 3] = f;
    n.lastSentCount = count;
    this.send(ifc, PT_DD, len, this.unicastDest(ifc, n), now);
    n.lastSent = this.tx.slice(HEADER_LENGTH, len);
    // The master retransmits until answered; the slave only answers.
    n.ddRxmtAt =
      n.master || n.state === N_EXSTART ? now + ifc.cfg.retransmitInterval * 1000 : Number.POSITIVE_INFINITY;
    return more;
  }

  private resendDd(ifc: Iface, n: Neighbor, now: number): void {
    if (n.lastSent === null) return;
    this.tx.set(n.lastSent, HEADER_LENGTH);
    this.send(ifc, PT_DD, HEADER_LENGTH + n.lastSent.length, this.unicastDest(ifc, n), now);
  }

  private sendLsr(ifc: Iface, n: Neighbor, now: number): void {
    if (n.requests.size === 0 || n.state < N_EXCHANGE) {
      n.lsrAt = Number.POSITIVE_INFINITY;
      return;
    }
    let len = HEADER_LENGTH;
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
  private sendLsu(ifc: Iface, lsas: readonly Lsa[], dst: number, now: number): void {
    const room = this.room(ifc);
    const delay = ifc.cfg.transmitDelay;
    let i = 0;
    while (i < lsas.length) {
      let len = HEADER_LENGTH + 4;
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
      wr32(this.tx, HEADER_LENGTH, count);
      this.send(ifc, PT_LSU, len, dst, now);
    }
  }

  private sendAck(ifc: Iface, lsas: readonly Lsa[], dst: number, now: number): void {
    const room = this.room(ifc);
    let i = 0;
    while (i < lsas.length) {
      let len = HEADER_LENGTH;
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
      if (p.area !== null && !this.areas.has(p.area.id)) continue;
      this.originate(p.area, p.type, p.id, now);
    }
    if (this.ageAt <= now) {
      this.ageSweep(now);
      this.ageAt = now + AGE_TICK_MS;
    }
    if (this.spfAt <= now) this.runSpf(now);
    // Origination above may have asked for more.
    for (const p of this.pending.values()) next = Math.min(next, p.at);
    return Math.max(now, Math.min(next, this.ageAt, this.spfAt));
  }

  /** §14: MaxAge LSAs flooded and removed once no one needs them; our own refreshed. */
  private ageSweep(now: number): void {
    const busy = this.exchanging();
    for (const { area, lsdb } of this.allDbs()) {
      for (const l of [...lsdb.values()]) {
        const age = l.age(now);
        if (age >= MAX_AGE) {
          if (l.age0 < MAX_AGE) {
            // It aged out on its own: flooded at MaxAge (§14).
            l.age0 = MAX_AGE;
            this.flood(area, l, null, null, now);
            this.scheduleSpf(now);
          }
          if (busy) continue;
          let held = false;
          for (const i of this.ifaceByIndex.values())
            for (const n of i.neighbors.values()) if (n.rxmt.get(l.key) === l) held = true;
          if (held) continue;
          lsdb.delete(l.key);
          // A flushed LSA of ours that we want again (its sequence number wrapped, or it came back).
          if (l.adv === this.config.routerId && this.wantedBody(area, l.type, l.id, now) !== null)
            this.scheduleOriginate(area, l.type, l.id, now);
        } else if (this.isSelf(l) && l.adv === this.config.routerId && age >= LS_REFRESH_TIME) {
          this.originate(area, l.type, l.id, now, true);
        }
      }
    }
  }

  private scheduleSpf(now: number): void {
    const at = Math.max(now + this.config.spfDelay, this.lastSpf + this.config.spfHold);
    if (at < this.spfAt) this.spfAt = at;
  }

  private runSpf(now: number): void {
    this.spfAt = Number.POSITIVE_INFINITY;
    this.lastSpf = now;
    this.spfRuns++;
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
    const { routes } = computeRoutes(this.config.routerId, areas, this.externalDb, now);
    for (const [k, r] of this.installed) {
      if (routes.has(k)) continue;
      this.installed.delete(k);
      this.sink.update(r.network, r.length, null, now);
    }
    for (const [k, r] of routes) {
      const old = this.installed.get(k);
      if (old !== undefined && sameRoute(old, r)) continue;
      this.installed.set(k, r);
      this.sink.update(r.network, r.length, r, now);
    }
  }

  private count(map: Record<string, number>, key: string): void {
    map[key] = (map[key] ?? 0) + 1;
  }

  // ---- show ------------------------------------------------------------------------------------

  show(now: number): OspfShow {
    return {
      routerId: formatIpv4(this.config.routerId),
      state: this._state,
      areas: [...this.areas.values()].map((a) => {
        return { id: formatIpv4(a.id), interfaces: a.ifaces.length, lsas: a.lsdb.size, spfRuns: a.spfRuns };
      }),
      externalLsas: this.externalDb.size,
      spfRuns: this.spfRuns,
      lastSpfMs: this.lastSpf === Number.NEGATIVE_INFINITY ? null : Math.round(now - this.lastSpf),
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
          address: `${formatIpv4(c.address)}/${c.prefixLength}`,
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
            address: formatIpv4(n.addr),
            interface: i.cfg.name,
            area: formatIpv4(a.id),
            state: NEIGHBOR_STATES[n.state]!,
            priority: n.priority,
            role:
              i.cfg.type !== 'broadcast' ? '' : n.addr === i.dr ? 'DR' : n.addr === i.bdr ? 'BDR' : 'DROther',
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
    for (const { area, lsdb } of this.allDbs())
      for (const l of lsdb.values())
        out.push({
          area: area === null ? null : formatIpv4(area.id),
          type: LSA_TYPE_NAMES[l.type] ?? String(l.type),
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
    return [...this.installed.values()]
      .sort((a, b) => a.network - b.network || a.length - b.length)
      .map((r) => ({
        prefix: `${formatIpv4(r.network)}/${r.length}`,
        type: r.type,
        cost: r.cost,
        ...(r.type2Cost !== undefined ? { type2Cost: r.type2Cost } : {}),
        area: formatIpv4(r.area),
        nextHops: r.nextHops.map((h) => ({
          gateway: h.gateway === 0 ? null : formatIpv4(h.gateway),
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
    const db = type === LSA_EXTERNAL ? this.externalDb : this.areas.get(area)?.lsdb;
    return db?.get(lsaKey(type, id, adv));
  }
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
  return a.nextHops.every((h) => b.nextHops.some((x) => x.gateway === h.gateway && x.ifIndex === h.ifIndex));
}

export type { OspfExternalConfig };
export { prefixKey };
