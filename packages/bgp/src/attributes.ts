// Path attributes as plain, immutable objects (RFC 4271 §5), their encoding, and their interning:
// a full table of a million routes shares some 90 thousand attribute sets, so routes point at one
// shared object per set, found by a canonical encoding of the set.

import { wr16, wr32 } from '@nexthop/wire';
import { ByteMap, hashBytes } from './bytemap.ts';
import {
  AS_CONFED_SEQUENCE,
  AS_CONFED_SET,
  AS_SEQUENCE,
  AS_SET,
  AS_TRANS,
  ATTR_AGGREGATOR,
  ATTR_AS_PATH,
  ATTR_AS4_AGGREGATOR,
  ATTR_AS4_PATH,
  ATTR_ATOMIC_AGGREGATE,
  ATTR_CLUSTER_LIST,
  ATTR_COMMUNITIES,
  ATTR_LARGE_COMMUNITIES,
  ATTR_LOCAL_PREF,
  ATTR_MED,
  ATTR_NEXT_HOP,
  ATTR_ORIGIN,
  ATTR_ORIGINATOR_ID,
  FLAG_EXTENDED_LENGTH,
  FLAG_OPTIONAL,
  FLAG_PARTIAL,
  FLAG_TRANSITIVE,
} from './constants.ts';

export interface AsPathSegment {
  /** AS_SET, AS_SEQUENCE, AS_CONFED_SEQUENCE or AS_CONFED_SET. */
  readonly type: number;
  /** Four-octet AS numbers, whatever the session's encoding (RFC 6793 reconstruction done). */
  readonly asns: readonly number[];
}

export interface Aggregator {
  readonly asn: number;
  readonly address: number;
}

/** An attribute this codec does not interpret, kept as received (optional transitive only). */
export interface RawAttribute {
  readonly flags: number;
  readonly type: number;
  readonly value: Uint8Array;
}

/**
 * One attribute set. Absent attributes are `undefined` (every field is always present, so all
 * sets have one shape). IPv4 addresses are unsigned 32-bit numbers.
 */
export interface PathAttributes {
  readonly origin: number | undefined;
  readonly asPath: readonly AsPathSegment[] | undefined;
  /** NEXT_HOP (IPv4 NLRI field). */
  readonly nextHop: number | undefined;
  readonly med: number | undefined;
  readonly localPref: number | undefined;
  readonly atomicAggregate: boolean;
  readonly aggregator: Aggregator | undefined;
  /** RFC 1997 communities, each as a 32-bit number (ASN << 16 | value). */
  readonly communities: readonly number[] | undefined;
  readonly originatorId: number | undefined;
  readonly clusterList: readonly number[] | undefined;
  /** RFC 8092 large communities, flattened: global admin, local 1, local 2, … */
  readonly largeCommunities: readonly number[] | undefined;
  /**
   * The MP_REACH_NLRI next hop as received (RFC 4760 §3): 16 octets (IPv6 global) or 32
   * (global then link-local, RFC 2545 §3); 4 for IPv4 (or 16/32 IPv6 for IPv4 NLRI, RFC 8950).
   */
  readonly mpNextHop: Uint8Array | undefined;
  /** Unrecognised optional transitive attributes, by type code. */
  readonly unknown: readonly RawAttribute[];
}

export const EMPTY_ATTRIBUTES: PathAttributes = {
  origin: undefined,
  asPath: undefined,
  nextHop: undefined,
  med: undefined,
  localPref: undefined,
  atomicAggregate: false,
  aggregator: undefined,
  communities: undefined,
  originatorId: undefined,
  clusterList: undefined,
  largeCommunities: undefined,
  mpNextHop: undefined,
  unknown: [],
};

/** An attribute set with every field present, from the ones given. */
export function makeAttributes(a: Partial<PathAttributes>): PathAttributes {
  return {
    origin: a.origin,
    asPath: a.asPath,
    nextHop: a.nextHop,
    med: a.med,
    localPref: a.localPref,
    atomicAggregate: a.atomicAggregate ?? false,
    aggregator: a.aggregator,
    communities: a.communities,
    originatorId: a.originatorId,
    clusterList: a.clusterList,
    largeCommunities: a.largeCommunities,
    mpNextHop: a.mpNextHop,
    unknown: a.unknown ?? [],
  };
}

/**
 * AS path length for route selection and for RFC 6793 §4.2.3: a set counts one, a sequence its
 * members, confederation segments nothing (RFC 4271 §9.1.2.2, RFC 5065 §5.3).
 */
export function asPathLength(path: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of path) {
    if (s.type === AS_SEQUENCE) n += s.asns.length;
    else if (s.type === AS_SET) n += 1;
  }
  return n;
}

/**
 * RFC 6793 §4.2.3: the AS path of a route from an OLD speaker is rebuilt from AS_PATH (2-octet,
 * AS_TRANS in place of large ASes) and AS4_PATH (the true tail). If AS4_PATH is longer than
 * AS_PATH it is ignored; otherwise the leading (len(AS_PATH) − len(AS4_PATH)) ASes of AS_PATH,
 * with the confederation segments among them, go in front of AS4_PATH.
 */
export function mergeAs4Path(
  asPath: readonly AsPathSegment[],
  as4Path: readonly AsPathSegment[],
): AsPathSegment[] {
  const n = asPathLength(asPath);
  const m = asPathLength(as4Path);
  if (n < m) return asPath.slice();
  let need = n - m;
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    if (need === 0 && s.type !== AS_CONFED_SEQUENCE && s.type !== AS_CONFED_SET) break;
    if (s.type === AS_CONFED_SEQUENCE || s.type === AS_CONFED_SET) {
      out.push(s);
    } else if (s.type === AS_SET) {
      out.push(s);
      need -= 1;
    } else if (s.asns.length <= need) {
      out.push(s);
      need -= s.asns.length;
    } else {
      out.push({ type: AS_SEQUENCE, asns: s.asns.slice(0, need) });
      need = 0;
    }
  }
  for (const s of as4Path) {
    const last = out[out.length - 1];
    // Join the two halves of a sequence that AS4_PATH continues.
    if (
      last &&
      last.type === AS_SEQUENCE &&
      s.type === AS_SEQUENCE &&
      last.asns.length + s.asns.length <= 255
    ) {
      out[out.length - 1] = { type: AS_SEQUENCE, asns: [...last.asns, ...s.asns] };
    } else {
      out.push(s);
    }
  }
  return out;
}

/** Text form: "65001 65002 {65003,65004} (65010)", as FRR and BIRD print paths. */
export function formatAsPath(path: readonly AsPathSegment[] | undefined): string {
  if (!path) return '';
  return path
    .map((s) => {
      const list = s.asns.join(s.type === AS_SET || s.type === AS_CONFED_SET ? ',' : ' ');
      if (s.type === AS_SET) return `{${list}}`;
      if (s.type === AS_CONFED_SEQUENCE) return `(${list})`;
      if (s.type === AS_CONFED_SET) return `[${list}]`;
      return list;
    })
    .join(' ');
}

/** How attributes are written for one peer. */
export interface EncodeOptions {
  /** The peer negotiated four-octet AS (RFC 6793): else 2-octet AS_PATH with AS4_PATH. */
  readonly as4: boolean;
  /** Write NEXT_HOP (IPv4 NLRI in the NLRI field); false for MP-only updates. */
  readonly nextHop?: boolean;
}

function needsAs4(path: readonly AsPathSegment[]): boolean {
  for (const s of path) for (const a of s.asns) if (a > 0xffff) return true;
  return false;
}

/** Writes an attribute header; the value follows at the returned offset. */
function attrHeader(buf: Uint8Array, p: number, flags: number, type: number, len: number): number {
  if (len > 255) {
    buf[p] = (flags | FLAG_EXTENDED_LENGTH) & 0xf0;
    buf[p + 1] = type;
    wr16(buf, p + 2, len);
    return p + 4;
  }
  buf[p] = flags & 0xe0;
  buf[p + 1] = type;
  buf[p + 2] = len;
  return p + 3;
}

/** Segments split at 255 members (the count is one octet). */
function segmentsBytes(path: readonly AsPathSegment[], asSize: number, confed: boolean): number {
  let n = 0;
  for (const s of path) {
    if (!confed && (s.type === AS_CONFED_SEQUENCE || s.type === AS_CONFED_SET)) continue;
    const chunks = Math.max(1, Math.ceil(s.asns.length / 255));
    n += chunks * 2 + s.asns.length * asSize;
  }
  return n;
}

function writeSegments(
  buf: Uint8Array,
  p: number,
  path: readonly AsPathSegment[],
  asSize: number,
  confed: boolean,
): number {
  for (const s of path) {
    if (!confed && (s.type === AS_CONFED_SEQUENCE || s.type === AS_CONFED_SET)) continue;
    let i = 0;
    do {
      const n = Math.min(255, s.asns.length - i);
      buf[p++] = s.type;
      buf[p++] = n;
      for (let k = 0; k < n; k++) {
        const a = s.asns[i + k]!;
        if (asSize === 4) {
          wr32(buf, p, a);
          p += 4;
        } else {
          wr16(buf, p, a > 0xffff ? AS_TRANS : a);
          p += 2;
        }
      }
      i += n;
    } while (i < s.asns.length);
  }
  return p;
}

/** Upper bound of the octets encodeAttributes writes for `a`. */
export function attributesMaxSize(a: PathAttributes): number {
  let n = 4 + 4 + 7 + 7 + 7 + 3 + 12 + 12; // ORIGIN … AGGREGATOR + AS4_AGGREGATOR, headers included
  if (a.asPath) n += 2 * (4 + segmentsBytes(a.asPath, 4, true));
  if (a.communities) n += 4 + a.communities.length * 4;
  n += 7;
  if (a.clusterList) n += 4 + a.clusterList.length * 4;
  if (a.largeCommunities) n += 4 + a.largeCommunities.length * 4;
  for (const u of a.unknown) n += 4 + u.value.length;
  return n;
}

/**
 * Writes the path attributes of `a` (not MP_REACH_NLRI/MP_UNREACH_NLRI: the UPDATE packer adds
 * those) at buf[off], in type-code order, and returns the new offset. For a 2-octet peer, AS
 * numbers over 65535 become AS_TRANS and the true path goes in AS4_PATH (RFC 6793 §4.2.2);
 * unrecognised transitive attributes are passed on with the Partial bit set (RFC 4271 §5).
 */
export function encodeAttributes(
  buf: Uint8Array,
  off: number,
  a: PathAttributes,
  opt: EncodeOptions,
): number {
  let p = off;
  const unknown = a.unknown;
  let u = 0;
  const flushUnknown = (below: number) => {
    while (u < unknown.length && unknown[u]!.type < below) {
      const x = unknown[u++]!;
      p = attrHeader(buf, p, (x.flags & 0xe0) | FLAG_PARTIAL, x.type, x.value.length);
      buf.set(x.value, p);
      p += x.value.length;
    }
  };
  if (a.origin !== undefined) {
    p = attrHeader(buf, p, FLAG_TRANSITIVE, ATTR_ORIGIN, 1);
    buf[p++] = a.origin;
  }
  const path = a.asPath ?? [];
  const asSize = opt.as4 ? 4 : 2;
  if (a.asPath !== undefined) {
    p = attrHeader(buf, p, FLAG_TRANSITIVE, ATTR_AS_PATH, segmentsBytes(path, asSize, true));
    p = writeSegments(buf, p, path, asSize, true);
  }
  if (a.nextHop !== undefined && opt.nextHop !== false) {
    p = attrHeader(buf, p, FLAG_TRANSITIVE, ATTR_NEXT_HOP, 4);
    wr32(buf, p, a.nextHop);
    p += 4;
  }
  flushUnknown(ATTR_MED);
  if (a.med !== undefined) {
    p = attrHeader(buf, p, FLAG_OPTIONAL, ATTR_MED, 4);
    wr32(buf, p, a.med);
    p += 4;
  }
  flushUnknown(ATTR_LOCAL_PREF);
  if (a.localPref !== undefined) {
    p = attrHeader(buf, p, FLAG_TRANSITIVE, ATTR_LOCAL_PREF, 4);
    wr32(buf, p, a.localPref);
    p += 4;
  }
  flushUnknown(ATTR_ATOMIC_AGGREGATE);
  if (a.atomicAggregate) p = attrHeader(buf, p, FLAG_TRANSITIVE, ATTR_ATOMIC_AGGREGATE, 0);
  flushUnknown(ATTR_AGGREGATOR);
  const agg = a.aggregator;
  if (agg !== undefined) {
    p = attrHeader(buf, p, FLAG_OPTIONAL | FLAG_TRANSITIVE, ATTR_AGGREGATOR, asSize + 4);
    if (opt.as4) wr32(buf, p, agg.asn);
    else wr16(buf, p, agg.asn > 0xffff ? AS_TRANS : agg.asn);
    p += asSize;
    wr32(buf, p, agg.address);
    p += 4;
  }
  flushUnknown(ATTR_COMMUNITIES);
  if (a.communities !== undefined && a.communities.length > 0) {
    p = attrHeader(buf, p, FLAG_OPTIONAL | FLAG_TRANSITIVE, ATTR_COMMUNITIES, a.communities.length * 4);
    for (const c of a.communities) {
      wr32(buf, p, c);
      p += 4;
    }
  }
  flushUnknown(ATTR_ORIGINATOR_ID);
  if (a.originatorId !== undefined) {
    p = attrHeader(buf, p, FLAG_OPTIONAL, ATTR_ORIGINATOR_ID, 4);
    wr32(buf, p, a.originatorId);
    p += 4;
  }
  flushUnknown(ATTR_CLUSTER_LIST);
  if (a.clusterList !== undefined && a.clusterList.length > 0) {
    p = attrHeader(buf, p, FLAG_OPTIONAL, ATTR_CLUSTER_LIST, a.clusterList.length * 4);
    for (const c of a.clusterList) {
      wr32(buf, p, c);
      p += 4;
    }
  }
  flushUnknown(ATTR_AS4_PATH);
  // RFC 6793 §4.2.2: AS4_PATH only when some AS does not fit two octets; never confederation
  // segments in it.
  if (!opt.as4 && a.asPath !== undefined && needsAs4(path)) {
    p = attrHeader(buf, p, FLAG_OPTIONAL | FLAG_TRANSITIVE, ATTR_AS4_PATH, segmentsBytes(path, 4, false));
    p = writeSegments(buf, p, path, 4, false);
  }
  flushUnknown(ATTR_AS4_AGGREGATOR);
  if (!opt.as4 && agg !== undefined && agg.asn > 0xffff) {
    p = attrHeader(buf, p, FLAG_OPTIONAL | FLAG_TRANSITIVE, ATTR_AS4_AGGREGATOR, 8);
    wr32(buf, p, agg.asn);
    wr32(buf, p + 4, agg.address);
    p += 8;
  }
  flushUnknown(ATTR_LARGE_COMMUNITIES);
  if (a.largeCommunities !== undefined && a.largeCommunities.length > 0) {
    p = attrHeader(
      buf,
      p,
      FLAG_OPTIONAL | FLAG_TRANSITIVE,
      ATTR_LARGE_COMMUNITIES,
      a.largeCommunities.length * 4,
    );
    for (const c of a.largeCommunities) {
      wr32(buf, p, c);
      p += 4;
    }
  }
  flushUnknown(256);
  return p;
}

let keyBuf = new Uint8Array(4096);

/**
 * Writes the canonical key of an attribute set into a shared scratch buffer and returns its
 * length: the four-octet encoding in type order, then the received flags of unknown attributes
 * and the MP next hop. Two sets are equal exactly when their keys are.
 */
function writeKey(a: PathAttributes): number {
  const need = attributesMaxSize(a) + 40 + (a.mpNextHop?.length ?? 0);
  if (need > keyBuf.length) keyBuf = new Uint8Array(need * 2);
  let p = encodeAttributes(keyBuf, 0, a, { as4: true });
  // encodeAttributes sets Partial on unknown attributes; their received flags are part of the set.
  for (const u of a.unknown) keyBuf[p++] = u.flags;
  const nh = a.mpNextHop;
  if (nh !== undefined) {
    keyBuf[p++] = 0xfe;
    keyBuf[p++] = nh.length;
    keyBuf.set(nh, p);
    p += nh.length;
  }
  return p;
}

/** The canonical key as a string (one char per octet), for tests and debugging. */
export function attributesKey(a: PathAttributes): string {
  const n = writeKey(a);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(keyBuf[i]!);
  return s;
}

/**
 * Interns attribute sets: equal sets (by their canonical key) become one object. One table per VR
 * can be shared by every session and the RIB; removal is left to the RIB's reference counting.
 */
export class AttributeTable {
  private readonly byKey = new ByteMap<PathAttributes>();

  intern(a: PathAttributes): PathAttributes {
    const n = writeKey(a);
    const hash = hashBytes(keyBuf, 0, n);
    const found = this.byKey.get(keyBuf, 0, n, hash);
    if (found !== undefined) return found;
    this.byKey.add(keyBuf, 0, n, a, hash);
    return a;
  }

  get size(): number {
    return this.byKey.size;
  }

  delete(a: PathAttributes): boolean {
    const n = writeKey(a);
    return this.byKey.delete(keyBuf, 0, n);
  }
}
