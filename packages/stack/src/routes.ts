import { formatIpv4, ipv4Mask } from '@nexthop/addr';
import { type Ipv4Fib, NH_BLACKHOLE, NH_FORWARD, NH_LOCAL, NH_REJECT } from '@nexthop/fib';

/**
 * The VR's routes before there is a RIB: connected, local and static routes, one selected per
 * prefix by administrative distance, programmed into the FIB. Static routes through a gateway are
 * resolved to the interface whose connected subnet holds the gateway; one that cannot be resolved
 * stays inactive until an address change makes it resolvable.
 */

export type RouteProtocol = 'local' | 'connected' | 'static';
export type RouteType = 'unicast' | 'local' | 'broadcast' | 'blackhole' | 'reject';

export interface RouteSpec {
  network: number;
  length: number;
  protocol: RouteProtocol;
  type: RouteType;
  /** Gateway, 0 for directly connected. */
  via: number;
  /** Egress interface, -1 to resolve through the gateway. */
  ifIndex: number;
  distance: number;
}

export interface RouteInfo {
  prefix: string;
  protocol: RouteProtocol;
  type: RouteType;
  via: string | null;
  interface: string | null;
  distance: number;
  selected: boolean;
  active: boolean;
}

export const DISTANCE = { local: 0, connected: 0, static: 1 } as const;

/** Order among routes of equal distance to one prefix: deliver, forward, then discard. */
const TIE_RANK: Record<RouteType, number> = { local: 0, broadcast: 0, unicast: 1, blackhole: 2, reject: 3 };

interface Candidate {
  spec: RouteSpec;
  /** Interface the route resolves to, or -1 when it does not resolve. */
  resolvedIf: number;
}

interface Installed {
  candidate: Candidate;
  /** The interface the next hop was acquired for (the candidate's resolution may change later). */
  ifIndex: number;
  nextHopId: number;
}

export interface ConnectedLookup {
  /** Interface whose connected subnet contains addr, or -1. */
  connectedInterface(addr: number): number;
  interfaceName(ifIndex: number): string;
  interfaceUsable(ifIndex: number): boolean;
}

function key(network: number, length: number): number {
  return length * 4294967296 + network;
}

export class RouteTable {
  private readonly fib: Ipv4Fib;
  private readonly links: ConnectedLookup;
  private readonly candidates = new Map<number, Candidate[]>();
  private readonly installed = new Map<number, Installed>();

  constructor(fib: Ipv4Fib, links: ConnectedLookup) {
    this.fib = fib;
    this.links = links;
  }

  add(spec: RouteSpec): void {
    if ((spec.network & ipv4Mask(spec.length)) >>> 0 !== spec.network) {
      throw new RangeError(`route ${formatIpv4(spec.network)}/${spec.length} has host bits set`);
    }
    const k = key(spec.network, spec.length);
    const list = this.candidates.get(k) ?? [];
    const same = list.findIndex((c) => sameRoute(c.spec, spec));
    const candidate = { spec, resolvedIf: -1 };
    if (same >= 0) list[same] = candidate;
    else list.push(candidate);
    this.candidates.set(k, list);
    this.select(k);
  }

  /** Removes the routes of a prefix matching the predicate; returns how many went. */
  remove(network: number, length: number, match: (spec: RouteSpec) => boolean): number {
    const k = key(network, length);
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
    if (ifIndex < 0) ifIndex = s.via === 0 ? -1 : this.links.connectedInterface(s.via);
    else if (s.via !== 0 && s.protocol === 'static' && this.links.connectedInterface(s.via) !== ifIndex) {
      // A gateway must be on-link for the interface named with it.
      return -1;
    }
    if (ifIndex < 0 || !this.links.interfaceUsable(ifIndex)) return -1;
    return ifIndex;
  }

  private select(k: number): void {
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
    ) {
      return;
    }
    const network = k % 4294967296;
    const length = Math.floor(k / 4294967296);
    let nextHopId = -1;
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
      nextHopId = this.fib.nextHops.acquire(kind, best.resolvedIf, s.via);
      this.fib.insert(network, length, nextHopId);
      this.installed.set(k, { candidate: best, ifIndex: best.resolvedIf, nextHopId });
    } else if (current !== undefined) {
      this.fib.delete(network, length);
      this.installed.delete(k);
    }
  }

  /**
   * The lower distance wins. A tie is broken by the routes themselves, never by the order they came
   * in (a VR reconfigured in place must route as one started from the same config): a forwarding
   * route before a discard route, then the lower gateway, then the interface name.
   */
  private better(a: Candidate, b: Candidate): boolean {
    if (a.spec.distance !== b.spec.distance) return a.spec.distance < b.spec.distance;
    const rank = (c: Candidate) => TIE_RANK[c.spec.type];
    if (rank(a) !== rank(b)) return rank(a) < rank(b);
    if (a.spec.via !== b.spec.via) return a.spec.via >>> 0 < b.spec.via >>> 0;
    return this.links.interfaceName(a.resolvedIf) < this.links.interfaceName(b.resolvedIf);
  }

  list(): RouteInfo[] {
    const out: RouteInfo[] = [];
    const keys = [...this.candidates.keys()].sort((a, b) => {
      const na = a % 4294967296;
      const nb = b % 4294967296;
      return na !== nb ? na - nb : a - b;
    });
    for (const k of keys) {
      const inst = this.installed.get(k);
      for (const c of this.candidates.get(k)!) {
        const s = c.spec;
        out.push({
          prefix: `${formatIpv4(s.network)}/${s.length}`,
          protocol: s.protocol,
          type: s.type,
          via: s.via === 0 ? null : formatIpv4(s.via),
          interface:
            c.resolvedIf >= 0 && (s.type === 'unicast' || s.type === 'local' || s.type === 'broadcast')
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
}

function sameRoute(a: RouteSpec, b: RouteSpec): boolean {
  return a.protocol === b.protocol && a.type === b.type && a.via === b.via && a.ifIndex === b.ifIndex;
}
