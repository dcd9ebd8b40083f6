// The routing policy language of the config file (`policies`, issue 11) compiled to Policy
// functions. Each policy is compiled once; evaluating it allocates nothing until a term changes a
// route, and then one new attribute set (the input is interned and shared: never mutated).

import type { PoliciesConfig, PolicyMatch, PolicySet, PolicyTerm, PrefixListEntry } from '@nexthop/config';
import { type AsPathSegment, formatAsPath, makeAttributes, type PathAttributes } from './attributes.ts';
import { AS_SEQUENCE } from './constants.ts';
import { ACCEPT_ALL, type Policy, type PolicyRoute, REJECT_ALL } from './policy.ts';

/** A prefix list, precomputed for matching without allocation. */
export interface CompiledPrefixList {
  /** Whether the IPv4 prefix `network/length` (host bits zero) matches an entry. */
  match4(network: number, length: number): boolean;
  /** Whether the IPv6 prefix (16 octets, host bits zero) matches an entry. */
  match6(network: Uint8Array, length: number): boolean;
}

/** ipv4Mask without the import: the top `length` bits set, unsigned. */
function mask4(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

/**
 * FRR's prefix-list semantics: a prefix matches an entry when its first `entry.length` bits are the
 * entry's and its length is within ge..le. IPv4 entries become parallel arrays of network, mask
 * and bounds; IPv6 entries keep their octets, compared whole octets first and then the last bits.
 */
export function compilePrefixList(entries: readonly PrefixListEntry[]): CompiledPrefixList {
  const v4 = entries.filter((e) => e.family === 4);
  const v6 = entries.filter((e) => e.family === 6);
  const net4 = Uint32Array.from(v4, (e) => e.network);
  const msk4 = Uint32Array.from(v4, (e) => mask4(e.length));
  const ge4 = Uint8Array.from(v4, (e) => e.ge);
  const le4 = Uint8Array.from(v4, (e) => e.le);
  const net6 = v6.map((e) => e.network);
  const len6 = Uint8Array.from(v6, (e) => e.length);
  const ge6 = Uint8Array.from(v6, (e) => e.ge);
  const le6 = Uint8Array.from(v6, (e) => e.le);
  return {
    match4(network, length) {
      for (let i = 0; i < net4.length; i++) {
        if (length < ge4[i]! || length > le4[i]!) continue;
        if ((network & msk4[i]!) >>> 0 === net4[i]) return true;
      }
      return false;
    },
    match6(network, length) {
      for (let i = 0; i < net6.length; i++) {
        if (length < ge6[i]! || length > le6[i]!) continue;
        if (sameBits(network, net6[i]!, len6[i]!)) return true;
      }
      return false;
    },
  };
}

/** Whether the first `bits` bits of two 16-octet addresses are equal. */
function sameBits(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const whole = bits >>> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const m = (0xff << (8 - rest)) & 0xff;
  return ((a[whole]! ^ b[whole]!) & m) === 0;
}

/** The AS path as AS path expressions see it (formatAsPath's text), once per shared path. */
const asPathTexts = new WeakMap<readonly AsPathSegment[], string>();

function asPathText(path: readonly AsPathSegment[] | undefined): string {
  // A route of our own has no AS path: '' (so FRR's `^$` picks local routes).
  if (path === undefined) return '';
  let text = asPathTexts.get(path);
  if (text === undefined) {
    text = formatAsPath(path);
    asPathTexts.set(path, text);
  }
  return text;
}

type Condition = (route: PolicyRoute, attrs: PathAttributes) => boolean;

/** All the kinds of condition must hold; inside a kind, any of the values. */
function compileMatch(match: PolicyMatch, prefixList: (name: string) => CompiledPrefixList): Condition {
  const conditions: Condition[] = [];
  if (match.family !== undefined) {
    const afi = match.family === 'ipv4' ? 1 : 2;
    conditions.push((r) => r.afi === afi);
  }
  if (match.prefixLists.length > 0) {
    const lists = match.prefixLists.map(prefixList);
    conditions.push((r) => {
      for (const l of lists) {
        if (typeof r.network === 'number' ? l.match4(r.network, r.length) : l.match6(r.network, r.length))
          return true;
      }
      return false;
    });
  }
  if (match.asPaths.length > 0) {
    // No flags: `test` keeps no state between calls.
    const regexes = match.asPaths.map((p) => new RegExp(p.source));
    conditions.push((_r, a) => {
      const text = asPathText(a.asPath);
      for (const re of regexes) if (re.test(text)) return true;
      return false;
    });
  }
  if (match.communities.length > 0) {
    const wanted = match.communities;
    conditions.push((_r, a) => {
      const have = a.communities;
      if (have === undefined) return false;
      for (const c of wanted) if (have.includes(c)) return true;
      return false;
    });
  }
  if (match.largeCommunities.length > 0) {
    const wanted = match.largeCommunities;
    conditions.push((_r, a) => {
      const have = a.largeCommunities;
      if (have === undefined) return false;
      for (const w of wanted) if (indexOfLarge(have, w) >= 0) return true;
      return false;
    });
  }
  if (conditions.length === 0) return () => true;
  if (conditions.length === 1) return conditions[0]!;
  return (r, a) => {
    for (const c of conditions) if (!c(r, a)) return false;
    return true;
  };
}

/** The index of a large community in a flattened list, or -1. */
function indexOfLarge(flat: readonly number[], c: readonly [number, number, number]): number {
  for (let i = 0; i + 2 < flat.length; i += 3)
    if (flat[i] === c[0] && flat[i + 1] === c[1] && flat[i + 2] === c[2]) return i;
  return -1;
}

type Change = (attrs: PathAttributes) => PathAttributes;

/** Communities after removing and adding (each once, in the order given); undefined when none are left. */
function editCommunities(
  have: readonly number[] | undefined,
  remove: readonly number[],
  add: readonly number[],
): readonly number[] | undefined {
  const out = (have ?? []).filter((c) => !remove.includes(c));
  for (const c of add) if (!out.includes(c)) out.push(c);
  return out.length === 0 ? undefined : out;
}

function editLargeCommunities(
  have: readonly number[] | undefined,
  remove: readonly (readonly [number, number, number])[],
  add: readonly (readonly [number, number, number])[],
): readonly number[] | undefined {
  const out: number[] = [];
  const flat = have ?? [];
  for (let i = 0; i + 2 < flat.length; i += 3) {
    const c = [flat[i]!, flat[i + 1]!, flat[i + 2]!] as const;
    if (remove.some((r) => r[0] === c[0] && r[1] === c[1] && r[2] === c[2])) continue;
    out.push(...c);
  }
  for (const c of add) if (indexOfLarge(out, c) < 0) out.push(...c);
  return out.length === 0 ? undefined : out;
}

/** An AS_SEQUENCE holds at most 255 ASes (RFC 4271 §4.3: a one-octet count). */
const MAX_SEGMENT = 255;

/** The path with `asn` in front `times` times: into the leading AS_SEQUENCE while it has room. */
export function prependAs(
  path: readonly AsPathSegment[] | undefined,
  asn: number,
  times: number,
): AsPathSegment[] {
  const out = (path ?? []).slice();
  const first = out[0];
  const added = new Array<number>(times).fill(asn);
  if (first !== undefined && first.type === AS_SEQUENCE && first.asns.length + times <= MAX_SEGMENT)
    out[0] = { type: AS_SEQUENCE, asns: [...added, ...first.asns] };
  else out.unshift({ type: AS_SEQUENCE, asns: added });
  return out;
}

function compileSet(set: PolicySet, localAs: number): Change | undefined {
  const changes: ((a: PathAttributes, out: Partial<Mutable<PathAttributes>>) => void)[] = [];
  const { localPref, med, prependAs: times, nextHop } = set;
  if (localPref !== undefined) changes.push((_a, out) => (out.localPref = localPref));
  if (med !== undefined) changes.push((_a, out) => (out.med = med));
  if (set.addCommunities.length > 0 || set.removeCommunities.length > 0)
    changes.push((a, out) => {
      out.communities = editCommunities(a.communities, set.removeCommunities, set.addCommunities);
    });
  if (set.addLargeCommunities.length > 0 || set.removeLargeCommunities.length > 0)
    changes.push((a, out) => {
      out.largeCommunities = editLargeCommunities(
        a.largeCommunities,
        set.removeLargeCommunities,
        set.addLargeCommunities,
      );
    });
  if (times !== undefined) changes.push((a, out) => (out.asPath = prependAs(a.asPath, localAs, times)));
  if (typeof nextHop === 'number') changes.push((_a, out) => (out.nextHop = nextHop));
  // An IPv6 next hop alone: the global address, with no link-local one after it (RFC 2545 §3).
  else if (nextHop !== undefined) {
    const mp = nextHop.slice();
    changes.push((_a, out) => (out.mpNextHop = mp));
  }
  if (changes.length === 0) return undefined;
  return (a) => {
    const out: Partial<Mutable<PathAttributes>> = {};
    for (const c of changes) c(a, out);
    return makeAttributes({ ...a, ...out });
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const ACCEPT = 0;
const REJECT = 1;
const NEXT = 2;

interface CompiledTerm {
  readonly matches: Condition;
  readonly change: Change | undefined;
  readonly action: typeof ACCEPT | typeof REJECT | typeof NEXT;
}

function compileTerms(
  terms: readonly PolicyTerm[],
  localAs: number,
  prefixList: (name: string) => CompiledPrefixList,
): Policy {
  const compiled: CompiledTerm[] = terms.map((t) => ({
    matches: compileMatch(t.match, prefixList),
    change: compileSet(t.set, localAs),
    action: t.then === 'accept' ? ACCEPT : t.then === 'reject' ? REJECT : NEXT,
  }));
  return (route) => {
    // Later terms see the changes of earlier `next` terms.
    let attrs = route.attrs;
    for (const t of compiled) {
      if (!t.matches(route, attrs)) continue;
      if (t.action === REJECT) return null;
      if (t.change !== undefined) attrs = t.change(attrs);
      if (t.action === ACCEPT) return attrs;
    }
    // Falling off the end rejects, as BIRD's filters and FRR's route-maps (implicit deny) do.
    return null;
  };
}

const NO_ENTRIES: readonly PrefixListEntry[] = [];

/**
 * Compiles a router's policies. The function returned gives the Policy for a name: `accept` is
 * ACCEPT_ALL, `reject` REJECT_ALL, a name in `policies.policies` its compiled policy (compiled on
 * first use, then the same function every time), and an unknown name REJECT_ALL (the config check
 * refuses those; a typo must never let everything in). `localAs` is what `prependAs` prepends.
 */
export function compilePolicies(policies: PoliciesConfig, localAs: number): (name: string) => Policy {
  const lists = new Map<string, CompiledPrefixList>();
  const prefixList = (name: string): CompiledPrefixList => {
    let l = lists.get(name);
    if (l === undefined) {
      // An unknown list (refused by the config check) matches nothing.
      l = compilePrefixList(policies.prefixLists.get(name) ?? NO_ENTRIES);
      lists.set(name, l);
    }
    return l;
  };
  const compiled = new Map<string, Policy>();
  return (name) => {
    if (name === 'accept') return ACCEPT_ALL;
    if (name === 'reject') return REJECT_ALL;
    let p = compiled.get(name);
    if (p === undefined) {
      const terms = policies.policies.get(name);
      p = terms === undefined ? REJECT_ALL : compileTerms(terms, localAs, prefixList);
      compiled.set(name, p);
    }
    return p;
  };
}
