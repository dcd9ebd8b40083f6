// The BGP decision process (RFC 4271 §9.1): which of a prefix's candidate routes is the best, in
// the order BIRD and FRR apply the rules. A comparator per phase, so that each rule is tested on its
// own, and `selectBest`, which runs them as the RFC's elimination so that the non-transitive MED
// rule cannot make the result depend on the order the candidates came in.

import { asPathLength, type PathAttributes } from './attributes.ts';
import { AS_SEQUENCE, AS_SET } from './constants.ts';

/** Where a candidate route comes from: a peer, or this router (a locally originated route). */
export interface RouteSource {
  /** The peer's name, or 'local'. */
  readonly name: string;
  readonly local: boolean;
  /** Learned over an internal session (RFC 4271 §9.1.2.2 (d) prefers external). */
  readonly ibgp: boolean;
  /** The peer is one of our route-reflector clients (RFC 4456 §6). */
  readonly rrClient: boolean;
  /** The peer's BGP Identifier (RFC 4271 §9.1.2.2 (f)); 0 for local routes. */
  readonly remoteId: number;
  /** The peer's address (RFC 4271 §9.1.2.2 (g)); 0 for local routes. */
  readonly address: number | Uint8Array;
}

export const LOCAL_SOURCE: RouteSource = {
  name: 'local',
  local: true,
  ibgp: false,
  rrClient: false,
  remoteId: 0,
  address: 0,
};

/** One route to a prefix: a peer's after import policy, or a locally originated one. */
export interface Candidate<A> {
  readonly source: RouteSource;
  readonly attrs: PathAttributes;
  /** Where to forward (the peer's NEXT_HOP); undefined for a locally originated route. */
  readonly nextHop: A | undefined;
  /** When it was learned (ms), for its age in `show`. */
  readonly since: number;
}

type AnyCandidate = Candidate<unknown>;

/** RFC 4271 §5.1.5 leaves an absent LOCAL_PREF to the implementation; BIRD and FRR take 100. */
export const DEFAULT_LOCAL_PREF = 100;

/**
 * The rules before MED; negative when a is better. They form a total preorder, so the most
 * preferred routes are well defined whatever their order.
 */
export function comparePreference(a: AnyCandidate, b: AnyCandidate): number {
  // RFC 4271 §9.1.1 / §9.1.2.1: the highest degree of preference, which is LOCAL_PREF.
  const lp = (b.attrs.localPref ?? DEFAULT_LOCAL_PREF) - (a.attrs.localPref ?? DEFAULT_LOCAL_PREF);
  if (lp !== 0) return lp;
  // Our own routes before learned ones (FRR's "local route" rule; RFC 4271 leaves it to policy).
  if (a.source.local !== b.source.local) return a.source.local ? -1 : 1;
  // RFC 4271 §9.1.2.2 (a): the shortest AS_PATH; an AS_SET counts 1, confederation segments 0
  // (RFC 5065 §5.3).
  const len = asPathLength(a.attrs.asPath ?? []) - asPathLength(b.attrs.asPath ?? []);
  if (len !== 0) return len;
  // RFC 4271 §9.1.2.2 (b): the lowest ORIGIN (IGP < EGP < INCOMPLETE); ours have none: IGP.
  return (a.attrs.origin ?? 0) - (b.attrs.origin ?? 0);
}

/**
 * RFC 4271 §9.1.2.2 (c): the AS a route was learned from — the first AS of its path (confederation
 * segments skipped: RFC 5065 compares the AS outside the confederation). 0 stands for our own AS:
 * an empty path, or one that starts with an AS_SET.
 */
export function neighbourAs(attrs: PathAttributes): number {
  for (const s of attrs.asPath ?? []) {
    if (s.type === AS_SEQUENCE) return s.asns[0] ?? 0;
    if (s.type === AS_SET) return 0;
  }
  return 0;
}

/**
 * RFC 4271 §9.1.2.2 (c): the lowest MULTI_EXIT_DISC, only between routes from the same neighbour
 * AS (0 otherwise: the rule does not apply); a missing MED counts as 0, the lowest.
 */
export function compareMed(a: AnyCandidate, b: AnyCandidate): number {
  if (neighbourAs(a.attrs) !== neighbourAs(b.attrs)) return 0;
  return (a.attrs.med ?? 0) - (b.attrs.med ?? 0);
}

/** The rules after MED, a total order between routes of different peers; negative when a is better. */
export function compareTieBreak(a: AnyCandidate, b: AnyCandidate): number {
  // RFC 4271 §9.1.2.2 (d): routes from external peers before internal ones.
  if (a.source.ibgp !== b.source.ibgp) return a.source.ibgp ? 1 : -1;
  // (e), the IGP cost to the next hop, is skipped: next hops are resolved by the RIB, not here.
  // (f): the lowest BGP Identifier; RFC 4456 §9: a route's ORIGINATOR_ID stands in for it.
  const id =
    ((a.attrs.originatorId ?? a.source.remoteId) >>> 0) - ((b.attrs.originatorId ?? b.source.remoteId) >>> 0);
  if (id !== 0) return id;
  // RFC 4456 §9, between (f) and (g): the shortest CLUSTER_LIST.
  const cl = (a.attrs.clusterList?.length ?? 0) - (b.attrs.clusterList?.length ?? 0);
  if (cl !== 0) return cl;
  // (g): the lowest peer address.
  return compareAddress(a.source.address, b.source.address);
}

/** Addresses in order: IPv4 (as unsigned numbers) before IPv6 (octet by octet). */
export function compareAddress(a: number | Uint8Array, b: number | Uint8Array): number {
  if (typeof a === 'number') return typeof b === 'number' ? (a >>> 0) - (b >>> 0) : -1;
  if (typeof b === 'number') return 1;
  for (let i = 0; i < 16; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Every rule in order, pairwise; negative when a is better (sorting for display; tests). */
export function compareRoutes(a: AnyCandidate, b: AnyCandidate): number {
  return comparePreference(a, b) || compareMed(a, b) || compareTieBreak(a, b);
}

/**
 * The best of a prefix's candidates, as RFC 4271 §9.1.2.2 eliminates: the most preferred by the
 * rules before MED, less those that a route from the same neighbour AS beats on MED, then the
 * first by the tie-breaks. Order-independent, though MED alone is not transitive.
 */
export function selectBest<C extends AnyCandidate>(candidates: readonly C[]): C | undefined {
  if (candidates.length <= 1) return candidates[0];
  let top: C[] = [];
  for (const c of candidates) {
    const d = top.length === 0 ? -1 : comparePreference(c, top[0]!);
    if (d < 0) top = [c];
    else if (d === 0) top.push(c);
  }
  let best: C | undefined;
  for (const c of top) {
    if (top.some((o) => compareMed(o, c) < 0)) continue;
    if (best === undefined || compareTieBreak(c, best) < 0) best = c;
  }
  return best;
}
