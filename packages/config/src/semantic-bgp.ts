import {
  formatIpv4,
  formatIpv6,
  isLinkLocalIpv6,
  tryParseIpv4,
  tryParseIpv6,
  tryParseIpv6Prefix,
  tryParsePrefix,
} from '@nexthop/addr';
import type { RawBgp, RawBgpNeighbor, RawPolicies, RawPolicyTerm } from './schema-bgp.ts';
import { notUnicast } from './semantic.ts';
import { notUnicast6, sameBytes } from './semantic6.ts';
import type {
  AsPathPattern,
  BgpConfigSection,
  BgpFamily,
  BgpNeighborConfig,
  BgpNetwork4,
  BgpNetwork6,
  InterfaceConfig,
  LargeCommunity,
  PoliciesConfig,
  PolicyMatch,
  PolicySet,
  PolicyTerm,
  PrefixListEntry,
  RedistributeSource,
  RouterConfig,
} from './types.ts';

// The `bgp` and `policies` sections of a router: checks that need arithmetic, cross-references or
// a regular expression compiler, and the conversion to the normalized form.

type Issue = (segments: string[], message: string, atKey?: boolean) => void;

/** RFC 1997 §"Well-known Communities". */
export const COMMUNITY_NO_EXPORT = 0xffffff01;
export const COMMUNITY_NO_ADVERTISE = 0xffffff02;
export const COMMUNITY_NO_EXPORT_SUBCONFED = 0xffffff03;
/** RFC 7999 §5. */
export const COMMUNITY_BLACKHOLE = 0xffff029a;
/** RFC 8326 §5. */
export const COMMUNITY_GRACEFUL_SHUTDOWN = 0xffff0000;

export const WELL_KNOWN_COMMUNITIES: ReadonlyMap<string, number> = new Map([
  ['no-export', COMMUNITY_NO_EXPORT],
  ['no-advertise', COMMUNITY_NO_ADVERTISE],
  ['no-export-subconfed', COMMUNITY_NO_EXPORT_SUBCONFED],
  ['blackhole', COMMUNITY_BLACKHOLE],
  ['graceful-shutdown', COMMUNITY_GRACEFUL_SHUTDOWN],
]);

/** Words that name the built-in policies; no policy may be called so. */
const BUILTIN_POLICIES = new Set(['accept', 'reject']);

/**
 * FRR's `_` in an AS path expression: the start or end of the path, or a character between two
 * ASes (a space, or the punctuation of sets and confederation segments as formatAsPath writes them).
 */
const AS_PATH_BOUNDARY = '(?:^|[ ,{}()[\\]]|$)';
const AS_PATH_SEPARATORS = ' ,{}()[\\]';

/**
 * The JavaScript RegExp source of an FRR AS path expression: each `_` outside a character class
 * becomes the boundary, inside one the separator characters; escapes are kept as they are.
 */
export function asPathRegexSource(text: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      out += c + (text[i + 1] ?? '');
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
      out += c === '_' ? AS_PATH_SEPARATORS : c;
    } else if (c === '[') {
      inClass = true;
      out += c;
    } else {
      out += c === '_' ? AS_PATH_BOUNDARY : c;
    }
  }
  return out;
}

/** An RFC 1997 community as a 32-bit number, or what is wrong with it. */
export function parseCommunity(text: string): number | string {
  const known = WELL_KNOWN_COMMUNITIES.get(text);
  if (known !== undefined) return known;
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(text);
  if (m === null) return `'${text}' is not a community (ASN:VALUE or a well-known name)`;
  const high = Number(m[1]);
  const low = Number(m[2]);
  if (high > 0xffff || low > 0xffff) return `'${text}': both halves of a community are 0..65535`;
  return ((high << 16) | low) >>> 0;
}

/** An RFC 8092 large community, or what is wrong with it. */
export function parseLargeCommunity(text: string): LargeCommunity | string {
  const m = /^(\d{1,10}):(\d{1,10}):(\d{1,10})$/.exec(text);
  if (m === null) return `'${text}' is not a large community (GLOBAL:LOCAL1:LOCAL2)`;
  const parts = [Number(m[1]), Number(m[2]), Number(m[3])] as const;
  if (parts.some((n) => n > 0xffffffff)) return `'${text}': each part of a large community is 0..4294967295`;
  return parts;
}

/** An IPv4 number or 16 IPv6 octets, or what is wrong with the text. */
function parseAddress(text: string): number | Uint8Array | string {
  if (text.includes(':')) return tryParseIpv6(text) ?? `'${text}' is not an IPv6 address`;
  return tryParseIpv4(text) ?? `'${text}' is not an IPv4 address`;
}

function notUnicastAny(a: number | Uint8Array): string | undefined {
  return typeof a === 'number' ? notUnicast(a) : notUnicast6(a);
}

function sameAddress(a: number | Uint8Array, b: number | Uint8Array): boolean {
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  return sameBytes(a, b);
}

function formatAddress(a: number | Uint8Array): string {
  return typeof a === 'number' ? formatIpv4(a) : formatIpv6(a);
}

/** Whether the router has this address on one of its interfaces (an IPv6 link-local one it forms itself is not known). */
function ownAddress(interfaces: readonly InterfaceConfig[], a: number | Uint8Array): string | undefined {
  for (const i of interfaces) {
    if (typeof a === 'number') {
      if (i.addresses.some((x) => x.address === a)) return i.name;
    } else if (i.addresses6.some((x) => sameBytes(x.address, a))) return i.name;
  }
  return undefined;
}

/**
 * One prefix-list entry, or what is wrong with it. FRR's semantics: without ge and le the prefix
 * itself; `ge N` alone N..max; `le N` alone the prefix length..N; length ≤ ge ≤ le ≤ 32 or 128.
 */
export function parsePrefixListEntry(
  raw: string | { prefix: string; ge?: number | undefined; le?: number | undefined },
): PrefixListEntry | string {
  let prefixText: string;
  let ge: number | undefined;
  let le: number | undefined;
  let text: string;
  if (typeof raw === 'string') {
    text = raw.trim().replace(/\s+/g, ' ');
    const m = /^(\S+)(?: ge (\d{1,3}))?(?: le (\d{1,3}))?$/.exec(text);
    if (m === null)
      return `'${raw}' is not a prefix with optional 'ge N' and 'le N' (in that order), like '10.0.0.0/8 le 24'`;
    prefixText = m[1]!;
    ge = m[2] === undefined ? undefined : Number(m[2]);
    le = m[3] === undefined ? undefined : Number(m[3]);
  } else {
    prefixText = raw.prefix;
    ge = raw.ge;
    le = raw.le;
    text = `${raw.prefix}${ge === undefined ? '' : ` ge ${ge}`}${le === undefined ? '' : ` le ${le}`}`;
  }
  const family = prefixText.includes(':') ? 6 : 4;
  const max = family === 4 ? 32 : 128;
  const parsed = family === 4 ? tryParsePrefix(prefixText) : tryParseIpv6Prefix(prefixText);
  if (typeof parsed === 'string') return parsed;
  const length = parsed.prefix.length;
  const geOut = ge ?? length;
  const leOut = le ?? (ge !== undefined ? max : length);
  if (geOut < length) return `ge ${geOut} is shorter than the prefix length ${length} (length ≤ ge ≤ le)`;
  if (leOut > max) return `le ${leOut} is beyond ${max}, the longest IPv${family} prefix`;
  if (geOut > max) return `ge ${geOut} is beyond ${max}, the longest IPv${family} prefix`;
  if (leOut < geOut) return `le ${leOut} is shorter than ge ${geOut} (length ≤ ge ≤ le)`;
  return parsed.prefix.network instanceof Uint8Array
    ? { family: 6, network: parsed.prefix.network, length, ge: geOut, le: leOut, text }
    : { family: 4, network: parsed.prefix.network as number, length, ge: geOut, le: leOut, text };
}

const list = <T>(v: T | readonly T[] | undefined): readonly T[] =>
  v === undefined ? [] : Array.isArray(v) ? (v as readonly T[]) : [v as T];

function normalizeTerm(
  raw: RawPolicyTerm,
  at: string[],
  prefixLists: RawPolicies['prefixLists'],
  issue: Issue,
): PolicyTerm | undefined {
  let bad = false;
  const fail = (segments: string[], message: string): void => {
    issue(segments, message);
    bad = true;
  };
  const m = raw.match ?? {};
  const matchAt = [...at, 'match'];
  const names = list(m.prefixList);
  names.forEach((name, i) => {
    if (prefixLists?.[name] === undefined) {
      const where = Array.isArray(m.prefixList)
        ? [...matchAt, 'prefixList', String(i)]
        : [...matchAt, 'prefixList'];
      fail(where, `no prefix list '${name}' in policies.prefixLists`);
    }
  });
  const asPaths: AsPathPattern[] = [];
  list(m.asPath).forEach((text, i) => {
    const where = Array.isArray(m.asPath) ? [...matchAt, 'asPath', String(i)] : [...matchAt, 'asPath'];
    const source = asPathRegexSource(text);
    try {
      new RegExp(source);
      asPaths.push({ text, source });
    } catch (e) {
      fail(where, `'${text}' is not a regular expression JavaScript can compile: ${(e as Error).message}`);
    }
  });
  const communities = parseAll(
    list(m.community),
    Array.isArray(m.community),
    [...matchAt, 'community'],
    parseCommunity,
    fail,
  );
  const largeCommunities = parseAll(
    list(m.largeCommunity),
    Array.isArray(m.largeCommunity),
    [...matchAt, 'largeCommunity'],
    parseLargeCommunity,
    fail,
  );
  const match: PolicyMatch = {
    prefixLists: names,
    asPaths,
    communities,
    largeCommunities,
    ...(m.family !== undefined ? { family: m.family as BgpFamily } : {}),
  };

  const s = raw.set ?? {};
  const setAt = [...at, 'set'];
  let nextHop: number | Uint8Array | undefined;
  if (s.nextHop !== undefined) {
    const a = parseAddress(s.nextHop);
    const why = typeof a === 'string' ? a : notUnicastAny(a);
    if (why !== undefined)
      fail([...setAt, 'nextHop'], typeof a === 'string' ? why : `next hop ${s.nextHop} ${why}`);
    else if (a instanceof Uint8Array && isLinkLocalIpv6(a))
      fail(
        [...setAt, 'nextHop'],
        `a link-local next hop (${s.nextHop}) cannot stand alone: the MP_REACH_NLRI next hop carries a global address first (RFC 2545 §3)`,
      );
    else nextHop = a as number | Uint8Array;
  }
  const set: PolicySet = {
    ...(s.localPref !== undefined ? { localPref: s.localPref } : {}),
    ...(s.med !== undefined ? { med: s.med } : {}),
    addCommunities: parseAll(
      s.addCommunities ?? [],
      true,
      [...setAt, 'addCommunities'],
      parseCommunity,
      fail,
    ),
    removeCommunities: parseAll(
      s.removeCommunities ?? [],
      true,
      [...setAt, 'removeCommunities'],
      parseCommunity,
      fail,
    ),
    addLargeCommunities: parseAll(
      s.addLargeCommunities ?? [],
      true,
      [...setAt, 'addLargeCommunities'],
      parseLargeCommunity,
      fail,
    ),
    removeLargeCommunities: parseAll(
      s.removeLargeCommunities ?? [],
      true,
      [...setAt, 'removeLargeCommunities'],
      parseLargeCommunity,
      fail,
    ),
    ...(s.prependAs !== undefined ? { prependAs: s.prependAs } : {}),
    ...(nextHop !== undefined ? { nextHop, nextHopText: s.nextHop } : {}),
  };
  if (bad) return undefined;
  // biome-ignore lint/suspicious/noThenProperty: the config word (FRR's and BIRD's); plain data, never awaited
  return { match, set, then: (raw.then ?? 'accept') as PolicyTerm['then'] };
}

function parseAll<T>(
  texts: readonly string[],
  indexed: boolean,
  at: string[],
  parse: (text: string) => T | string,
  fail: (segments: string[], message: string) => void,
): T[] {
  const out: T[] = [];
  texts.forEach((text, i) => {
    const v = parse(text);
    if (typeof v === 'string') fail(indexed ? [...at, String(i)] : at, v);
    else out.push(v);
  });
  return out;
}

/** The `policies` section, checked and normalized (empty maps when absent). */
export function normalizePolicies(
  raw: RawPolicies | undefined,
  base: string[],
  issue: Issue,
): PoliciesConfig {
  const prefixLists = new Map<string, PrefixListEntry[]>();
  const policies = new Map<string, PolicyTerm[]>();
  for (const [name, entries] of Object.entries(raw?.prefixLists ?? {})) {
    const at = [...base, 'prefixLists', name];
    const out: PrefixListEntry[] = [];
    entries.forEach((entry, i) => {
      const e = parsePrefixListEntry(entry);
      if (typeof e === 'string')
        issue(typeof entry === 'string' ? [...at, String(i)] : [...at, String(i), 'prefix'], e);
      else out.push(e);
    });
    prefixLists.set(name, out);
  }
  for (const [name, terms] of Object.entries(raw?.policies ?? {})) {
    const at = [...base, 'policies', name];
    if (BUILTIN_POLICIES.has(name)) {
      issue(at, `'${name}' names a built-in policy; call this one something else`, true);
      continue;
    }
    const out: PolicyTerm[] = [];
    terms.forEach((term, i) => {
      const t = normalizeTerm(term, [...at, String(i)], raw?.prefixLists, issue);
      if (t !== undefined) out.push(t);
    });
    policies.set(name, out);
  }
  return { prefixLists, policies };
}

/** The highest IPv4 interface address, FRR's choice of router id without a loopback. */
function highestIpv4(interfaces: readonly InterfaceConfig[]): number | undefined {
  let best: number | undefined;
  for (const i of interfaces)
    for (const a of i.addresses) if (best === undefined || a.address > best) best = a.address;
  return best;
}

/** The `bgp` section, checked and normalized, or undefined when absent or wrong. */
export function normalizeBgp(
  raw: RawBgp | undefined,
  base: string[],
  interfaces: readonly InterfaceConfig[],
  policies: RawPolicies | undefined,
  issue: Issue,
): BgpConfigSection | undefined {
  if (raw === undefined) return undefined;
  let bad = false;
  const fail = (segments: string[], message: string): void => {
    issue(segments, message);
    bad = true;
  };

  let routerId: number | undefined;
  let routerIdText = '';
  let routerIdSource: BgpConfigSection['routerIdSource'] = 'config';
  if (raw.routerId !== undefined) {
    routerId = tryParseIpv4(raw.routerId);
    if (routerId === undefined)
      fail([...base, 'routerId'], `'${raw.routerId}' is not a dotted IPv4-style identifier`);
    else if (routerId === 0)
      fail([...base, 'routerId'], 'the BGP Identifier must not be 0.0.0.0 (RFC 6286 §2.1)');
    routerIdText = raw.routerId;
  } else {
    routerId = highestIpv4(interfaces);
    routerIdSource = 'interface';
    if (routerId === undefined)
      fail(
        [...base, 'routerId'],
        "missing required field 'routerId': the router has no IPv4 interface address to take it from",
      );
    else routerIdText = formatIpv4(routerId);
  }

  let clusterId: number | undefined;
  if (raw.clusterId !== undefined) {
    clusterId = tryParseIpv4(raw.clusterId);
    if (clusterId === undefined)
      fail([...base, 'clusterId'], `'${raw.clusterId}' is not a dotted IPv4-style identifier`);
  }

  const networks4: BgpNetwork4[] = [];
  const networks6: BgpNetwork6[] = [];
  const seenNetworks = new Map<string, number>();
  for (const [i, text] of (raw.networks ?? []).entries()) {
    const at = [...base, 'networks', String(i)];
    const parsed = text.includes(':') ? tryParseIpv6Prefix(text) : tryParsePrefix(text);
    if (typeof parsed === 'string') {
      fail(at, parsed);
      continue;
    }
    const key = `${formatAddress(parsed.prefix.network)}/${parsed.prefix.length}`;
    const first = seenNetworks.get(key);
    if (first !== undefined) {
      fail(at, `repeats networks.${first} (${key})`);
      continue;
    }
    seenNetworks.set(key, i);
    if (parsed.prefix.network instanceof Uint8Array)
      networks6.push({ prefix: { network: parsed.prefix.network, length: parsed.prefix.length }, text });
    else
      networks4.push({
        prefix: { network: parsed.prefix.network as number, length: parsed.prefix.length },
        text,
      });
  }

  const neighbors: BgpNeighborConfig[] = [];
  const seenNeighbors: { name: string; address: number | Uint8Array; interface: string | undefined }[] = [];
  for (const [name, n] of Object.entries(raw.neighbors ?? {})) {
    const at = [...base, 'neighbors', name];
    const neighbor = normalizeNeighbor(name, n, at, raw.asn, interfaces, policies, fail);
    if (neighbor === undefined) continue;
    const scoped = typeof neighbor.address !== 'number' && isLinkLocalIpv6(neighbor.address);
    const twin = seenNeighbors.find(
      (o) => sameAddress(o.address, neighbor.address) && (!scoped || o.interface === neighbor.interface),
    );
    if (twin !== undefined) {
      fail([...at, 'address'], `neighbour ${twin.name} has the same address ${neighbor.addressText}`);
      continue;
    }
    seenNeighbors.push({ name, address: neighbor.address, interface: neighbor.interface });
    neighbors.push(neighbor);
  }

  if (bad || routerId === undefined) return undefined;
  return {
    asn: raw.asn,
    routerId,
    routerIdText,
    routerIdSource,
    ...(clusterId !== undefined ? { clusterId } : {}),
    listen: raw.listen ?? true,
    gracefulRestart: {
      enabled: raw.gracefulRestart?.enabled ?? true,
      restart: raw.gracefulRestart?.restart ?? false,
      restartTime: raw.gracefulRestart?.restartTime ?? 120,
      staleTime: raw.gracefulRestart?.staleTime ?? 360,
      selectionDeferralTime: raw.gracefulRestart?.selectionDeferralTime ?? 360,
    },
    networks4,
    networks6,
    redistribute: (raw.redistribute ?? []) as RedistributeSource[],
    neighbors,
  };
}

function normalizeNeighbor(
  name: string,
  n: RawBgpNeighbor,
  at: string[],
  localAs: number,
  interfaces: readonly InterfaceConfig[],
  policies: RawPolicies | undefined,
  fail: (segments: string[], message: string) => void,
): BgpNeighborConfig | undefined {
  let bad = false;
  const report = (segments: string[], message: string): void => {
    fail(segments, message);
    bad = true;
  };
  const address = parseAddress(n.address);
  if (typeof address === 'string') {
    report([...at, 'address'], address);
  } else {
    const why = notUnicastAny(address);
    const own = ownAddress(interfaces, address);
    if (why !== undefined) report([...at, 'address'], `neighbour address ${n.address} ${why}`);
    else if (own !== undefined)
      report([...at, 'address'], `${n.address} is this router's own address (interface ${own})`);
    else if (typeof address !== 'number' && isLinkLocalIpv6(address) && n.interface === undefined)
      report(
        [...at, 'interface'],
        `a link-local neighbour (${n.address}) needs 'interface': its address means something on one link only (RFC 4007 §6)`,
      );
  }
  if (n.interface !== undefined && !interfaces.some((i) => i.name === n.interface))
    report([...at, 'interface'], `the router has no interface '${n.interface}'`);

  let localAddress: number | Uint8Array | undefined;
  if (n.localAddress !== undefined) {
    const a = parseAddress(n.localAddress);
    if (typeof a === 'string') report([...at, 'localAddress'], a);
    else if (typeof address !== 'string' && typeof a !== typeof address)
      report(
        [...at, 'localAddress'],
        `${n.localAddress} is IPv${typeof a === 'number' ? 4 : 6} but the neighbour address ${n.address} is IPv${typeof address === 'number' ? 4 : 6}`,
      );
    // The VR forms its IPv6 link-local addresses itself, so only the others can be looked up.
    else if (!(a instanceof Uint8Array && isLinkLocalIpv6(a)) && ownAddress(interfaces, a) === undefined)
      report([...at, 'localAddress'], `${n.localAddress} is not an address of this router's interfaces`);
    else localAddress = a;
  }

  // RFC 4271 §4.2: the Hold Time MUST be either zero or at least three seconds.
  if (n.holdTime === 1 || n.holdTime === 2)
    report([...at, 'holdTime'], `hold time ${n.holdTime} s: it must be 0 or at least 3 (RFC 4271 §4.2)`);
  else if (
    n.keepalive !== undefined &&
    n.holdTime !== undefined &&
    n.holdTime > 0 &&
    n.keepalive >= n.holdTime
  )
    report(
      [...at, 'keepalive'],
      `keepalive ${n.keepalive} s is not shorter than the hold time ${n.holdTime} s: the session would expire between keepalives (RFC 4271 §4.4 suggests a third)`,
    );

  for (const field of ['import', 'export'] as const) {
    const policy = n[field];
    if (policy !== undefined && !BUILTIN_POLICIES.has(policy) && policies?.policies?.[policy] === undefined)
      report([...at, field], `no policy '${policy}' in policies.policies (or the words accept, reject)`);
  }

  // Linux keeps at most TCP_MD5SIG_MAXKEYLEN (80) octets of key; the schema counted characters.
  if (n.password !== undefined && new TextEncoder().encode(n.password).length > 80)
    report([...at, 'password'], 'the TCP MD5 key is longer than 80 octets (in UTF-8)');

  // RFC 4456 §6: reflection is between iBGP peers; an eBGP neighbour cannot be a client.
  if (n.routeReflectorClient === true && n.remoteAs !== localAs)
    report(
      [...at, 'routeReflectorClient'],
      `a route reflector client must be iBGP (remoteAs ${n.remoteAs} is not ${localAs})`,
    );

  if (bad || typeof address === 'string') return undefined;
  return {
    name,
    address,
    addressText: n.address,
    ...(n.interface !== undefined ? { interface: n.interface } : {}),
    remoteAs: n.remoteAs,
    ...(localAddress !== undefined ? { localAddress, localAddressText: n.localAddress } : {}),
    passive: n.passive ?? false,
    ...(n.port !== undefined ? { port: n.port } : {}),
    ...(n.holdTime !== undefined ? { holdTime: n.holdTime } : {}),
    ...(n.keepalive !== undefined ? { keepalive: n.keepalive } : {}),
    ...(n.connectRetry !== undefined ? { connectRetry: n.connectRetry } : {}),
    families: (n.families ?? ['ipv4', 'ipv6']) as BgpFamily[],
    ...(n.import !== undefined ? { import: n.import } : {}),
    ...(n.export !== undefined ? { export: n.export } : {}),
    ...(n.maxPrefixes !== undefined ? { maxPrefixes: n.maxPrefixes } : {}),
    ...(n.password !== undefined ? { password: n.password } : {}),
    ttlSecurity: n.ttlSecurity ?? false,
    routeReflectorClient: n.routeReflectorClient ?? false,
    nextHopSelf: n.nextHopSelf ?? false,
    bfd: n.bfd ?? false,
  };
}

/**
 * Valid settings worth a word in `nexthop config check`: RFC 8212 §2 — an eBGP neighbour without
 * an import (export) policy imports (exports) nothing. The config package has no warnings channel
 * of its own, so the caller prints these.
 */
export function bgpNotes(router: RouterConfig): string[] {
  const bgp = router.bgp;
  if (bgp === undefined) return [];
  const notes: string[] = [];
  for (const n of bgp.neighbors) {
    if (n.remoteAs === bgp.asn) continue;
    const missing = [n.import === undefined ? 'import' : '', n.export === undefined ? 'export' : ''].filter(
      (w) => w !== '',
    );
    if (missing.length === 0) continue;
    const what = missing.length === 2 ? 'imports and exports' : `${missing[0]}s`;
    notes.push(
      `routers.${router.name}.bgp.neighbors.${n.name}: eBGP without ${missing.join(' or ')} policy ${what} nothing (RFC 8212); say 'accept' to take everything`,
    );
  }
  return notes;
}
