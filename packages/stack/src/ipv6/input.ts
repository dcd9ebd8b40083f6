import { flowHash6 } from '@nexthop/fib';
import {
  Drop,
  decodeIpv6,
  ETH_HEADER_LEN,
  IPPROTO_TCP,
  IPPROTO_UDP,
  type Ipv6Header,
  rd16,
} from '@nexthop/wire';
import { type Counters, Stat } from '../counters.ts';
import type { Interface } from '../interfaces.ts';
import type { Delivery6 } from './deliver.ts';
import type { Forwarder6 } from './forward.ts';
import type { Address6, Ipv6Interface } from './interface6.ts';
import { type Output6, ROUTE_LOCAL } from './output.ts';

/**
 * IPv6 input (EtherType 0x86DD): the fixed header (RFC 8200 §3, wire.decodeIpv6), the addresses
 * that never appear on a link (RFC 4291), then the choice between delivery and forwarding: a group
 * the VR joined on the receiving interface, the interface's link-local address, or (one FIB lookup,
 * the VR's addresses being /128 routes with a LOCAL next hop) one of its other addresses — each only
 * once DAD made it preferred (RFC 4862 §5.4) — is delivered; a link-local destination is never
 * forwarded; anything else is.
 */
export class Ipv6Input {
  private readonly h: Ipv6Header;
  private readonly v6: readonly (Ipv6Interface | undefined)[];
  private readonly output: Output6;
  private readonly delivery: Delivery6;
  private readonly forwarder: Forwarder6;
  private readonly counters: Counters;

  constructor(
    h: Ipv6Header,
    v6: readonly (Ipv6Interface | undefined)[],
    output: Output6,
    delivery: Delivery6,
    forwarder: Forwarder6,
    counters: Counters,
  ) {
    this.h = h;
    this.v6 = v6;
    this.output = output;
    this.delivery = delivery;
    this.forwarder = forwarder;
    this.counters = counters;
  }

  input(ifc: Interface, buf: Uint8Array, frameOff: number, frameLen: number, now: number): void {
    const ipOff = frameOff + ETH_HEADER_LEN;
    const h = this.h;
    const counters = this.counters;
    const r = decodeIpv6(buf, ipOff, frameLen - ETH_HEADER_LEN, h);
    if (r !== 0) return counters.rxDrop(ifc, r);
    const ifc6 = this.v6[ifc.index]!;
    const src = h.srcOffset;
    const dst = h.dstOffset;
    // RFC 4291 §2.7: a group is never a source; §2.5.3: loopback never crosses a link.
    if (buf[src] === 0xff || (buf[src] === 0 && isLoopback(buf, src)))
      return counters.rxDrop(ifc, Drop.IPV6_BAD_SOURCE);
    const d0 = buf[dst]!;
    if (d0 === 0xff) {
      const scope = buf[dst + 1]! & 0x0f;
      // Scopes 0 (reserved) and 1 (interface-local, RFC 4291 §2.7) never arrive from a link.
      if (scope <= 1) return counters.rxDrop(ifc, Drop.IPV6_BAD_DESTINATION);
      if (ifc6.joined(buf, dst)) return this.delivery.input(ifc, ifc6, buf, ipOff, true, false, now);
      // Another node's group on a shared link, as ARP's chatter for others: seen, not ours.
      if (scope === 2) {
        counters.stats[Stat.IPV6_MULTICAST_IGNORED]! += 1;
        return;
      }
      // No multicast routing: wider groups are not forwarded.
      return counters.rxDrop(ifc, Drop.IPV6_MULTICAST_NOT_FORWARDED);
    }
    if (d0 === 0xfe && (buf[dst + 1]! & 0xc0) === 0x80) {
      const a = ifc6.find(buf, dst);
      if (a === null) return counters.rxDrop(ifc, Drop.IPV6_LINK_LOCAL_SCOPE);
      if (!a.usable) return counters.rxDrop(ifc, Drop.IPV6_TENTATIVE_ADDRESS);
      return this.delivery.input(ifc, ifc6, buf, ipOff, false, false, now);
    }
    if (d0 === 0 && (isLoopback(buf, dst) || isUnspecified(buf, dst)))
      return counters.rxDrop(ifc, Drop.IPV6_BAD_DESTINATION);
    const route = this.output.route(buf, dst, this.flowHashOf(buf, ipOff), -1);
    if (route === ROUTE_LOCAL) {
      const a = this.unusable(buf, dst);
      if (a !== null) return counters.rxDrop(ifc, Drop.IPV6_TENTATIVE_ADDRESS);
      return this.delivery.input(ifc, ifc6, buf, ipOff, false, false, now);
    }
    this.forwarder.forward(ifc, ifc6, buf, ipOff, route, now);
  }

  /** Our address at buf[off..] if it is not preferred yet (or duplicate); null when it is usable. */
  private unusable(buf: Uint8Array, off: number): Address6 | null {
    for (const ifc6 of this.v6) {
      if (ifc6 === undefined || ifc6.unusable === 0) continue;
      const a = ifc6.find(buf, off);
      if (a !== null && !a.usable) return a;
    }
    return null;
  }

  /** The ECMP hash: addresses, the first Next Header and its ports when it is TCP or UDP (RFC 6438 §3 allows the 5-tuple). */
  private flowHashOf(buf: Uint8Array, ipOff: number): number {
    const h = this.h;
    const p = h.nextHeader;
    const ports = (p === IPPROTO_TCP || p === IPPROTO_UDP) && h.payloadLength >= 4 ? ipOff + 40 : -1;
    return flowHash6(
      buf,
      h.srcOffset,
      h.dstOffset,
      p,
      ports < 0 ? 0 : rd16(buf, ports),
      ports < 0 ? 0 : rd16(buf, ports + 2),
    );
  }
}

function isLoopback(buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 15; i++) if (buf[off + i] !== 0) return false;
  return buf[off + 15] === 1;
}

function isUnspecified(buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (buf[off + i] !== 0) return false;
  return true;
}
