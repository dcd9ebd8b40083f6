import {
  ARP_LEN,
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  ArpPacket,
  Drop,
  decodeArp,
  ETH_HEADER_LEN,
  ETHERTYPE_ARP,
  isMartianSource,
  writeArp,
  writeEthernet,
} from '@nexthop/wire';
import { type Counters, Stat } from '../counters.ts';
import type { Interface, InterfaceTable } from '../interfaces.ts';
import { type LinkOutput, TX_HEADROOM } from '../link.ts';
import type { Wake } from '../wake.ts';
import { NeighbourCache, type NeighbourTimers, type Solicitor } from './cache.ts';

/**
 * ARP (RFC 826) as the IPv4 user of the neighbour state machine (cache.ts): it parses requests and
 * replies, answers those for our addresses, announces addresses, and sends the requests the machine
 * asks for. The cache is keyed by the IPv4 address as a signed 32-bit integer (`ip | 0`).
 */

export interface ArpTimers {
  /** How long an answer is trusted before it is confirmed again. */
  reachableMs: number;
  /** Interval between requests while resolving or probing. */
  retransmitMs: number;
  /** Requests sent before giving up (RFC 1122 §2.3.2.1: about one per second, a few times). */
  maxRequests: number;
  /** Packets held per unresolved neighbour (RFC 1122 §2.3.2.2 asks for at least one). */
  queuePerNeighbour: number;
  /** Packets held for all unresolved neighbours together. */
  queueTotal: number;
}

export const DEFAULT_ARP_TIMERS: ArpTimers = {
  reachableMs: 60_000,
  retransmitMs: 1_000,
  maxRequests: 3,
  queuePerNeighbour: 64,
  queueTotal: 1024,
};

/**
 * RFC 1122 §2.3.2.1 on the states of RFC 4861 §7.3: one retry count for resolving and for
 * probing, and a stale entry put to use is polled with a unicast request at once (no DELAY).
 */
function neighbourTimers(t: ArpTimers): NeighbourTimers {
  return {
    reachableMs: t.reachableMs,
    retransmitMs: t.retransmitMs,
    delayFirstProbeMs: 0,
    maxMulticastSolicit: t.maxRequests,
    maxUnicastSolicit: t.maxRequests,
    queuePerNeighbour: t.queuePerNeighbour,
    queueTotal: t.queueTotal,
  };
}

const BROADCAST_MAC = new Uint8Array([255, 255, 255, 255, 255, 255]);
/** Ethernet's minimum frame (without FCS): ARP frames are padded to it so that no link has to. */
const MIN_FRAME = 60;

export class Arp implements Solicitor<number> {
  readonly neighbours: NeighbourCache<number>;
  private readonly ifaces: InterfaceTable;
  private readonly link: LinkOutput;
  private readonly counters: Counters;
  private readonly packet = new ArpPacket();
  private readonly frame = new Uint8Array(64);

  constructor(timers: ArpTimers, ifaces: InterfaceTable, link: LinkOutput, counters: Counters, wake: Wake) {
    this.neighbours = new NeighbourCache(neighbourTimers(timers), this, wake);
    this.ifaces = ifaces;
    this.link = link;
    this.counters = counters;
  }

  input(ifc: Interface, buf: Uint8Array, off: number, len: number, now: number): void {
    const a = this.packet;
    const r = decodeArp(buf, off + ETH_HEADER_LEN, len - ETH_HEADER_LEN, a);
    if (r !== 0) return this.counters.rxDrop(ifc, r);
    const senderMulticast = (buf[a.senderMacOffset]! & 1) !== 0;
    // An ARP probe (RFC 5227 §2.1.1) has sender 0.0.0.0: legitimate, but teaches nothing.
    if (senderMulticast || (a.senderIp !== 0 && isMartianSource(a.senderIp)))
      return this.counters.rxDrop(ifc, Drop.ARP_BAD_SENDER);
    const targetIsUs = ifc.owns(a.targetIp);
    if (a.senderIp !== 0 && !ifc.owns(a.senderIp)) {
      // RFC 826 "merge": update an existing entry; create one only if the packet is for us and the
      // sender is on one of our subnets. An existing entry may be off-subnet: the next hop of an
      // interface route, which we asked for ourselves. Every packet confirms the neighbour.
      const cache = this.neighbours;
      let e = cache.get(ifc.index, a.senderIp | 0);
      if (e === undefined && targetIsUs && ifc.onSubnet(a.senderIp))
        e = cache.getOrCreate(ifc.index, a.senderIp | 0);
      if (e !== undefined) {
        for (const p of cache.confirm(e, buf, a.senderMacOffset, now))
          this.link.sendIpv4(ifc, e.linkAddress, p, TX_HEADROOM, p.length - TX_HEADROOM);
        return this.answer(ifc, buf, targetIsUs);
      }
    }
    if (!targetIsUs) {
      // Another host's conversation, seen because the link is shared or promiscuous.
      this.counters.stats[Stat.ARP_IGNORED]! += 1;
      return;
    }
    this.answer(ifc, buf, targetIsUs);
  }

  /** The machine's solicitation: a request from the interface's address towards `address`. */
  solicit(ifIndex: number, address: number, unicastTo: Uint8Array | null): void {
    const ifc = this.ifaces.get(ifIndex);
    const target = address >>> 0;
    const src = ifc.sourceFor(target);
    if (src === 0) return;
    this.request(ifc, src, unicastTo, target);
  }

  /** A gratuitous ARP (RFC 5227 §3): a request for our own new or returning address. */
  announce(ifc: Interface, address: number): void {
    this.request(ifc, address, null, address);
  }

  private request(ifc: Interface, src: number, unicastTo: Uint8Array | null, target: number): void {
    const n = this.write(ifc, ARP_OP_REQUEST, src, unicastTo, 0, target);
    this.link.send(ifc, this.frame, 0, n);
    this.counters.stats[Stat.ARP_REQUESTS_SENT]! += 1;
  }

  private answer(ifc: Interface, buf: Uint8Array, targetIsUs: boolean): void {
    const a = this.packet;
    if (!targetIsUs || a.op !== ARP_OP_REQUEST) return;
    const n = this.write(ifc, ARP_OP_REPLY, a.targetIp, buf, a.senderMacOffset, a.senderIp);
    this.link.send(ifc, this.frame, 0, n);
    this.counters.stats[Stat.ARP_REPLIES_SENT]! += 1;
  }

  /** A request or reply from `ifc`, to tha (or broadcast when null), in this.frame. */
  private write(
    ifc: Interface,
    op: number,
    spa: number,
    tha: Uint8Array | null,
    thaOff: number,
    tpa: number,
  ): number {
    const b = this.frame;
    writeEthernet(b, 0, tha ?? BROADCAST_MAC, tha === null ? 0 : thaOff, ifc.mac, 0, ETHERTYPE_ARP);
    writeArp(b, ETH_HEADER_LEN, op, ifc.mac, 0, spa, op === ARP_OP_REPLY ? tha : null, thaOff, tpa);
    b.fill(0, ETH_HEADER_LEN + ARP_LEN, MIN_FRAME);
    return MIN_FRAME;
  }
}
