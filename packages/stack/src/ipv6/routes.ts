import { formatIpv6, maskIpv6 } from '@nexthop/addr';
import { type Ipv6Fib, NH_BLACKHOLE, NH_FORWARD, NH_LOCAL, NH_REJECT } from '@nexthop/fib';
import type { RouteInfo, RouteProtocol, RouteType } from '../routes.ts';

/**
 * The VR's IPv6 routes before there is a RIB, as routes.ts keeps the IPv4 ones: connected routes
 * (the prefix of each global address), local /128s (the addresses themselves) and static routes;
 * per prefix the candidate with the lowest distance that resolves is programmed into the Ipv6Fib.
 * A global gateway resolves to the interface with a connected prefix holding it; a link-local one
 * (RFC 4291 §2.5.6: meaningful on one link only) names its interface, and that is where it is.
 * fe80::/64 is on-link on every interface but is no route: link-local destinations are never
 * forwarded, and the VR's own link-local traffic names its interface.
 */

export interface Route6Spec {
  /** 16 bytes, host bits zero. */
  network: Uint8Array;
  length: number;
  protocol: RouteProtocol;
  type: RouteType;
  /** Gateway, null for directly connected. */
  via: Uint8Array | null;
  /** Egress interface, -1 to resolve through the gateway. */
  ifIndex: number;
  distance: number;
}

export interface Connected6Lookup {
  /** The up interface with a connected prefix holding addr, or -1. */
  connectedInterface(addr: Uint8Array): number;
  interfaceName(ifIndex: number): string;
  interfaceUsable(ifIndex: number): boolean;
}

const TIE_RANK: Record<RouteType, number> = { local: 0, broadcast: 0, unicast: 1, blackhole: 2, reject: 3 };

interface Candidate {
  spec: Route6Spec;
  resolvedIf: number;
}

interface Installed {
  candidate: Candidate;
  ifIndex: number;
}

function keyOf(network: Uint8Array, length: number): string {
  return `${formatIpv6(network)}/${length}`;
}

function isLinkLocal(a: Uint8Array): boolean {
  return a[0] === 0xfe && (a[1]! & 0xc0) === 0x80;
}

function compareBytes(a: Uint8Array | null, b: Uint8Array | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

export function sameGateway(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return compareBytes(a, b) === 0;
}

export class RouteTable6 {
  private readonly fib: Ipv6Fib;
  private readonly links: Connected6Lookup;
  private readonly candidates = new Map<string, Candidate[]>();
  private readonly installed = new Map<string, Installed>();

  constructor(fib: Ipv6Fib, links: Connected6Lookup) {
    this.fib = fib;
    this.links = links;
  }

  add(spec: Route6Spec): void {
    const masked = spec.network.slice();
    maskIpv6(masked, 0, spec.length);
    if (spec.network.length !== 16 || compareBytes(masked, spec.network) !== 0)
      throw new RangeError(`route ${formatIpv6(spec.network)}/${spec.length} has host bits set`);
    if (spec.via !== null && isLinkLocal(spec.via) && spec.ifIndex < 0)
      throw new RangeError(`a link-local gateway (${formatIpv6(spec.via)}) needs its interface`);
    const k = keyOf(spec.network, spec.length);
    const list = this.candidates.get(k) ?? [];
    const same = list.findIndex((c) => sameRoute(c.spec, spec));
    const candidate = {
      spec: { ...spec, network: spec.network.slice(), via: spec.via?.slice() ?? null },
      resolvedIf: -1,
    };
    if (same >= 0) list[same] = candidate;
    else list.push(candidate);
    this.candidates.set(k, list);
    this.select(k);
  }

  /** Removes the routes of a prefix matching the predicate; returns how many went. */
  remove(network: Uint8Array, length: number, match: (spec: Route6Spec) => boolean): number {
    const k = keyOf(network, length);
    const list = this.candidates.get(k);
    if (list === undefined) return 0;
    const kept = list.filter((c) => !match(c.spec));
    const removed = list.length - kept.length;
    if (kept.length === 0) this.candidates.delete(k);
    else this.candidates.set(k, kept);
    if (removed > 0) this.select(k);
    return removed;
  }

  /** Re-resolves every route: after an address or link change. */
  refresh(): void {
    for (const k of [...this.candidates.keys()]) this.select(k);
    for (const k of [...this.installed.keys()]) if (!this.candidates.has(k)) this.select(k);
  }

  private resolve(c: Candidate): number {
    const s = c.spec;
    if (s.type === 'blackhole' || s.type === 'reject') return 0;
    let ifIndex = s.ifIndex;
    if (s.via !== null && !isLinkLocal(s.via)) {
      const on = this.links.connectedInterface(s.via);
      // A global gateway must be on-link, and on the interface named with it.
      if (on < 0 || (ifIndex >= 0 && on !== ifIndex)) return -1;
      ifIndex = on;
    }
    if (ifIndex < 0 || !this.links.interfaceUsable(ifIndex)) return -1;
    return ifIndex;
  }

  private select(k: string): void {
    const list = this.candidates.get(k) ?? [];
    let best: Candidate | undefined;
    for (const c of list) {
      c.resolvedIf = this.resolve(c);
      if (c.resolvedIf < 0) continue;
      if (best === undefined || this.better(c, best)) best = c;
    }
    const current = this.installed.get(k);
    if (
      current !== undefined &&
      best !== undefined &&
      current.candidate === best &&
      current.ifIndex === best.resolvedIf
    )
      return;
    if (best !== undefined) {
      const s = best.spec;
      const kind =
        s.type === 'local' || s.type === 'broadcast'
          ? NH_LOCAL
          : s.type === 'blackhole'
            ? NH_BLACKHOLE
            : s.type === 'reject'
              ? NH_REJECT
              : NH_FORWARD;
      // The FIB takes over this reference and releases the one of the route it replaces.
      const nextHopId = this.fib.nextHops.acquire(kind, best.resolvedIf, s.via);
      this.fib.insert(s.network, s.length, nextHopId);
      this.installed.set(k, { candidate: best, ifIndex: best.resolvedIf });
    } else if (current !== undefined) {
      this.fib.delete(current.candidate.spec.network, current.candidate.spec.length);
      this.installed.delete(k);
    }
  }

  /** As routes.ts: distance, then forward before discard, the lower gateway, the interface name. */
  private better(a: Candidate, b: Candidate): boolean {
    if (a.spec.distance !== b.spec.distance) return a.spec.distance < b.spec.distance;
    const ra = TIE_RANK[a.spec.type];
    const rb = TIE_RANK[b.spec.type];
    if (ra !== rb) return ra < rb;
    const v = compareBytes(a.spec.via, b.spec.via);
    if (v !== 0) return v < 0;
    return this.links.interfaceName(a.resolvedIf) < this.links.interfaceName(b.resolvedIf);
  }

  list(): RouteInfo[] {
    const all = [...this.candidates.values()];
    all.sort(
      (x, y) => compareBytes(x[0]!.spec.network, y[0]!.spec.network) || x[0]!.spec.length - y[0]!.spec.length,
    );
    const out: RouteInfo[] = [];
    for (const list of all) {
      const s0 = list[0]!.spec;
      const inst = this.installed.get(keyOf(s0.network, s0.length));
      for (const c of list) {
        const s = c.spec;
        out.push({
          prefix: keyOf(s.network, s.length),
          protocol: s.protocol,
          type: s.type,
          via: s.via === null ? null : formatIpv6(s.via),
          interface:
            c.resolvedIf >= 0 && (s.type === 'unicast' || s.type === 'local')
              ? this.links.interfaceName(c.resolvedIf)
              : null,
          distance: s.distance,
          selected: inst?.candidate === c,
          active: c.resolvedIf >= 0,
        });
      }
    }
    return out;
  }

  get size(): number {
    return this.candidates.size;
  }
}

function sameRoute(a: Route6Spec, b: Route6Spec): boolean {
  return (
    a.protocol === b.protocol && a.type === b.type && sameGateway(a.via, b.via) && a.ifIndex === b.ifIndex
  );
}
