// `show bgp routes [PREFIX]`: the Loc-RIB's candidates as JSON-friendly rows, the best of each
// prefix first, in the words FRR and BIRD print them with.

import { formatIpv4, formatIpv6, ipv4Mask, maskIpv6, tryParseIpv4, tryParseIpv6 } from '@nexthop/addr';
import { formatAsPath } from './attributes.ts';
import { type Candidate, compareRoutes, DEFAULT_LOCAL_PREF } from './decision.ts';
import type { LocRib, RibEntry } from './loc-rib.ts';
import { BgpPeer, key4, key6 } from './session.ts';

export interface RouteFilter {
  /** "10.1.0.0/16" (that prefix) or "10.1.2.3" (the longest prefix holding it); IPv6 alike. */
  readonly prefix?: string;
}

export interface BgpRouteShow {
  prefix: string;
  best: boolean;
  /** The peer's name, or 'local' for a route we originate. */
  from: string;
  nextHop: string | null;
  asPath: string;
  origin: 'igp' | 'egp' | 'incomplete';
  /** As the decision process uses it (100 when the route has none). */
  localPref: number;
  med: number | null;
  /** RFC 1997, "65000:100". */
  communities: string[];
  /** RFC 8092, "65000:1:2". */
  largeCommunities: string[];
  originatorId: string | null;
  clusterList: string[];
  ageSeconds: number;
  /** Kept from a peer's session that went down, not refreshed since (RFC 4724 §4.2). */
  stale: boolean;
}

const ORIGINS = ['igp', 'egp', 'incomplete'] as const;

type Entry4 = RibEntry<number, number>;
type Entry6 = RibEntry<Uint8Array, Uint8Array>;

export function listRoutes(
  rib4: LocRib<number, number, number>,
  rib6: LocRib<string, Uint8Array, Uint8Array>,
  filter: RouteFilter,
  limit: number,
  now: number,
): BgpRouteShow[] {
  const out: BgpRouteShow[] = [];
  const add = (prefix: string, e: Entry4 | Entry6): boolean => {
    const k = typeof e.network === 'number' ? key4(e.network, e.length) : key6(e.network, 0, e.length);
    for (const c of ordered(e)) {
      if (out.length >= limit) return false;
      const s = c.source;
      const stale =
        s instanceof BgpPeer && (typeof k === 'number' ? s.stale4.has(k) : s.stale6.has(k as string));
      out.push(row(prefix, c, c === e.best, now, stale));
    }
    return true;
  };
  if (filter.prefix !== undefined) {
    const found = lookup(rib4, rib6, filter.prefix);
    if (found !== undefined) add(found[0], found[1]);
    return out;
  }
  for (const e of rib4.values()) if (!add(`${formatIpv4(e.network)}/${e.length}`, e)) return out;
  for (const e of rib6.values()) if (!add(`${formatIpv6(e.network)}/${e.length}`, e)) return out;
  return out;
}

/** The best first, then the others by the decision process's pairwise order. */
function ordered(e: RibEntry<unknown, unknown>): Candidate<unknown>[] {
  const rest = e.candidates.filter((c) => c !== e.best).sort(compareRoutes);
  return e.best === undefined ? rest : [e.best, ...rest];
}

/** The entry a filter names: that prefix, or the longest holding an address. */
function lookup(
  rib4: LocRib<number, number, number>,
  rib6: LocRib<string, Uint8Array, Uint8Array>,
  text: string,
): [string, Entry4 | Entry6] | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const given = slash < 0 ? undefined : Number(text.slice(slash + 1));
  const v4 = tryParseIpv4(addr);
  if (v4 !== undefined) {
    for (let len = given ?? 32; len >= (given ?? 0); len--) {
      const net = (v4 & ipv4Mask(len)) >>> 0;
      const e = rib4.get(key4(net, len));
      if (e !== undefined) return [`${formatIpv4(net)}/${len}`, e];
    }
    return undefined;
  }
  const v6 = tryParseIpv6(addr);
  if (v6 === undefined) return undefined;
  for (let len = given ?? 128; len >= (given ?? 0); len--) {
    const net = v6.slice();
    maskIpv6(net, 0, len);
    const e = rib6.get(key6(net, 0, len));
    if (e !== undefined) return [`${formatIpv6(net)}/${len}`, e];
  }
  return undefined;
}

function addressText(a: unknown): string | null {
  if (typeof a === 'number') return formatIpv4(a);
  if (a instanceof Uint8Array) return formatIpv6(a);
  return null;
}

function row(
  prefix: string,
  c: Candidate<unknown>,
  best: boolean,
  now: number,
  stale: boolean,
): BgpRouteShow {
  const a = c.attrs;
  const large: string[] = [];
  const lc = a.largeCommunities ?? [];
  for (let i = 0; i + 2 < lc.length; i += 3)
    large.push(`${lc[i]! >>> 0}:${lc[i + 1]! >>> 0}:${lc[i + 2]! >>> 0}`);
  const ownNextHop = a.nextHop ?? (a.mpNextHop !== undefined ? a.mpNextHop.subarray(0, 16) : undefined);
  return {
    prefix,
    best,
    from: c.source.name,
    nextHop: addressText(c.nextHop ?? ownNextHop),
    asPath: formatAsPath(a.asPath),
    origin: ORIGINS[a.origin ?? 0] ?? 'incomplete',
    localPref: a.localPref ?? DEFAULT_LOCAL_PREF,
    med: a.med ?? null,
    communities: (a.communities ?? []).map((x) => `${x >>> 16}:${x & 0xffff}`),
    largeCommunities: large,
    originatorId: a.originatorId === undefined ? null : formatIpv4(a.originatorId >>> 0),
    clusterList: (a.clusterList ?? []).map((x) => formatIpv4(x >>> 0)),
    ageSeconds: Math.max(0, Math.floor((now - c.since) / 1000)),
    stale,
  };
}
