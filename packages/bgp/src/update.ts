// UPDATE decoding (RFC 4271 §4.3, RFC 4760) with the revised error handling of RFC 7606: every
// malformation is classified as session reset, treat-as-withdraw or attribute discard, as the
// RFC says for that attribute, and counted. Nothing here throws on wire input.

import { rd16, rd32 } from '@nexthop/wire';
import {
  type AsPathSegment,
  type AttributeTable,
  mergeAs4Path,
  type PathAttributes,
  type RawAttribute,
} from './attributes.ts';
import { ByteMap, hashBytes } from './bytemap.ts';
import {
  AFI_IPV4,
  AFI_IPV6,
  AS_CONFED_SEQUENCE,
  AS_CONFED_SET,
  AS_SEQUENCE,
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
  ATTR_MP_REACH_NLRI,
  ATTR_MP_UNREACH_NLRI,
  ATTR_NEXT_HOP,
  ATTR_ORIGIN,
  ATTR_ORIGINATOR_ID,
  BGP_HEADER_LEN,
  ERR_UPDATE,
  FLAG_EXTENDED_LENGTH,
  FLAG_OPTIONAL,
  FLAG_PARTIAL,
  FLAG_TRANSITIVE,
  ORIGIN_INCOMPLETE,
  SAFI_UNICAST,
  SUB_ATTRIBUTE_FLAGS,
  SUB_INVALID_NETWORK_FIELD,
  SUB_MALFORMED_ATTRIBUTE_LIST,
  SUB_OPTIONAL_ATTRIBUTE,
  SUB_UNRECOGNIZED_WELL_KNOWN,
} from './constants.ts';
import { Action, type BgpCounters, BgpError, NO_DATA, type Notification } from './errors.ts';
import { decodeNlri4, decodeNlri6, Ipv4PrefixList, Ipv6PrefixList } from './prefixes.ts';

/** What the decoder must know of the session (from the OPEN exchange and the configuration). */
export interface SessionOptions {
  /** Four-octet AS negotiated (RFC 6793): AS_PATH carries 4-octet numbers, AS4_* are ignored. */
  readonly as4: boolean;
  /** Extended messages negotiated (RFC 8654): up to 65535 octets. */
  readonly extendedMessage?: boolean;
  /** The peer is external: LOCAL_PREF is ignored (RFC 4271 §5.1.5), the first AS is checked. */
  readonly ebgp: boolean;
  /** The peer's AS, for the first-AS check of eBGP (RFC 4271 §6.3); 0 turns the check off. */
  readonly peerAs?: number;
  /** Check that an eBGP path starts with the peer's AS (default true; off for route servers). */
  readonly enforceFirstAs?: boolean;
}

/** The decoded content of one UPDATE, in scratch storage reused for the next message. */
export class UpdateMessage {
  /** Withdrawn Routes field (IPv4 unicast). */
  readonly withdrawn = new Ipv4PrefixList();
  /** NLRI field (IPv4 unicast). */
  readonly nlri = new Ipv4PrefixList();
  /** MP_REACH_NLRI present, its family and prefixes (by family: IPv4 or IPv6 lists). */
  mpReach = false;
  mpReachAfi = 0;
  mpReachSafi = 0;
  readonly mpReach4 = new Ipv4PrefixList();
  readonly mpReach6 = new Ipv6PrefixList();
  mpUnreach = false;
  mpUnreachAfi = 0;
  mpUnreachSafi = 0;
  readonly mpUnreach4 = new Ipv4PrefixList();
  readonly mpUnreach6 = new Ipv6PrefixList();
  /** An MP attribute of a family this codec does not decode was skipped (counted). */
  unsupportedFamily = false;
  /**
   * The path attributes (interned when the decoder has an AttributeTable), or undefined when the
   * UPDATE has none. Present also on treat-as-withdraw, for logging only.
   */
  attrs: PathAttributes | undefined = undefined;

  clear(): void {
    this.withdrawn.clear();
    this.nlri.clear();
    this.mpReach = false;
    this.mpReachAfi = this.mpReachSafi = 0;
    this.mpReach4.clear();
    this.mpReach6.clear();
    this.mpUnreach = false;
    this.mpUnreachAfi = this.mpUnreachSafi = 0;
    this.mpUnreach4.clear();
    this.mpUnreach6.clear();
    this.unsupportedFamily = false;
    this.attrs = undefined;
  }

  /** Number of prefixes the UPDATE announces. */
  get announced(): number {
    return this.nlri.count + this.mpReach4.count + this.mpReach6.count;
  }

  /** Number of prefixes the UPDATE withdraws. */
  get withdrawnCount(): number {
    return this.withdrawn.count + this.mpUnreach4.count + this.mpUnreach6.count;
  }

  /**
   * End-of-RIB marker (RFC 4724 §2): an empty UPDATE for IPv4 unicast; an UPDATE holding only an
   * empty MP_UNREACH_NLRI for other families. Returns [afi, safi] packed as afi << 8 | safi, or 0.
   */
  endOfRib(): number {
    if (this.announced > 0 || this.withdrawnCount > 0 || this.mpReach || this.unsupportedFamily) return 0;
    if (this.mpUnreach) return this.attrs === undefined ? (this.mpUnreachAfi << 8) | this.mpUnreachSafi : 0;
    return this.attrs === undefined ? (AFI_IPV4 << 8) | SAFI_UNICAST : 0;
  }
}

/** Which O and T flag bits each known attribute must have (RFC 4271 §5, RFC 4760, RFC 6793, …). */
const EXPECTED_FLAGS = new Int16Array(256).fill(-1);
/** What a malformation of each known attribute leads to (RFC 7606 §7; §3 (c) for flag errors). */
const ON_MALFORMED = new Uint8Array(256);
const DISCARD = 4; // not an Action: the attribute alone is dropped
function spec(type: number, flags: number, onMalformed: number): void {
  EXPECTED_FLAGS[type] = flags;
  ON_MALFORMED[type] = onMalformed;
}
const WK = FLAG_TRANSITIVE;
const OT = FLAG_OPTIONAL | FLAG_TRANSITIVE;
const ON = FLAG_OPTIONAL;
spec(ATTR_ORIGIN, WK, Action.TREAT_AS_WITHDRAW);
spec(ATTR_AS_PATH, WK, Action.TREAT_AS_WITHDRAW);
spec(ATTR_NEXT_HOP, WK, Action.TREAT_AS_WITHDRAW);
spec(ATTR_MED, ON, Action.TREAT_AS_WITHDRAW);
spec(ATTR_LOCAL_PREF, WK, Action.TREAT_AS_WITHDRAW);
spec(ATTR_ATOMIC_AGGREGATE, WK, DISCARD);
spec(ATTR_AGGREGATOR, OT, DISCARD);
spec(ATTR_COMMUNITIES, OT, Action.TREAT_AS_WITHDRAW);
spec(ATTR_ORIGINATOR_ID, ON, Action.TREAT_AS_WITHDRAW);
spec(ATTR_CLUSTER_LIST, ON, Action.TREAT_AS_WITHDRAW);
spec(ATTR_MP_REACH_NLRI, ON, Action.SESSION_RESET);
spec(ATTR_MP_UNREACH_NLRI, ON, Action.SESSION_RESET);
spec(ATTR_AS4_PATH, OT, DISCARD);
spec(ATTR_AS4_AGGREGATOR, OT, DISCARD);
spec(ATTR_LARGE_COMMUNITIES, OT, Action.TREAT_AS_WITHDRAW);

/** The effect a malformation of attribute `type` has, per RFC 7606 §7 (exported for the table test). */
export function malformedAction(type: number): number {
  return ON_MALFORMED[type]!;
}
export const ATTRIBUTE_DISCARD = DISCARD;

/** The outcome of decoding one message; owned by the decoder and reused. */
export class Outcome {
  action: number = Action.OK;
  /** The reason of the most severe problem (BgpError.NONE when clean). */
  reason: number = BgpError.NONE;
  /** The NOTIFICATION to send, with action SESSION_RESET. */
  notification: Notification | undefined = undefined;
  /** Reasons of the attributes discarded from this message (RFC 7606 §2 "attribute discard"). */
  readonly discarded: number[] = [];

  clear(): void {
    this.action = Action.OK;
    this.reason = BgpError.NONE;
    this.notification = undefined;
    this.discarded.length = 0;
  }
}

/** Mutable attribute set under construction. */
class Builder {
  origin: number | undefined = undefined;
  asPath: AsPathSegment[] | undefined = undefined;
  nextHop: number | undefined = undefined;
  med: number | undefined = undefined;
  localPref: number | undefined = undefined;
  atomicAggregate = false;
  aggregatorAs = -1;
  aggregatorAddress = 0;
  communities: number[] | undefined = undefined;
  originatorId: number | undefined = undefined;
  clusterList: number[] | undefined = undefined;
  largeCommunities: number[] | undefined = undefined;
  as4Path: AsPathSegment[] | undefined = undefined;
  as4AggregatorAs = -1;
  as4AggregatorAddress = 0;
  unknown: RawAttribute[] | undefined = undefined;
}

const NO_UNKNOWN: readonly RawAttribute[] = [];
const MAX_CACHE = 1 << 17;

interface CacheEntry {
  readonly attrs: PathAttributes;
  /** Attribute discards to count again on every hit (the decision depends on the bytes only). */
  readonly discarded: readonly number[];
}

/**
 * Decodes UPDATE messages of one session. Attribute sets are cached by their raw bytes: a feed
 * repeats a few thousand sets over a million prefixes, and a repeated set then costs a hash lookup
 * instead of a decode (the cache holds only sets that decoded without treat-as-withdraw, and is
 * bounded, since its contents are the peer's choice).
 */
export class UpdateDecoder {
  session: SessionOptions;
  private readonly counters: BgpCounters;
  private readonly table: AttributeTable | undefined;
  // Attributes seen in the current message: by type, the generation that saw it (RFC 7606 §3 (g)).
  private readonly seen = new Uint32Array(256);
  private generation = 0;
  // Recorded non-MP attributes of the current message: start (header), value offset, value length.
  private readonly recStart = new Int32Array(256);
  private readonly recValue = new Int32Array(256);
  private readonly recLen = new Int32Array(256);
  private recCount = 0;
  private mpNextHopOff = 0;
  private mpNextHopLen = 0;
  private keyBuf = new Uint8Array(4096);
  private readonly cache = new ByteMap<CacheEntry>();
  private out!: Outcome;
  private msg!: UpdateMessage;
  /** Cache hits and misses, for the benchmark and `show`. */
  hits = 0;
  misses = 0;

  constructor(session: SessionOptions, counters: BgpCounters, table?: AttributeTable) {
    this.session = session;
    this.counters = counters;
    this.table = table;
  }

  /** Forget cached attribute sets (after the session options change). */
  clearCache(): void {
    this.cache.clear();
  }

  private reset(reason: number, subcode: number, data: Uint8Array = NO_DATA): void {
    this.counters.count(reason);
    const out = this.out;
    if (out.action !== Action.SESSION_RESET) {
      out.action = Action.SESSION_RESET;
      out.reason = reason;
      out.notification = { code: ERR_UPDATE, subcode, data };
    }
  }

  private withdraw(reason: number): void {
    this.counters.count(reason);
    const out = this.out;
    if (out.action === Action.OK || out.action === Action.IGNORE) {
      out.action = Action.TREAT_AS_WITHDRAW;
      out.reason = reason;
    }
  }

  private discard(reason: number): void {
    this.counters.count(reason);
    this.out.discarded.push(reason);
  }

  /** Applies the RFC 7606 handling of a malformed attribute of `type`. */
  private malformed(
    type: number,
    reason: number,
    subcode: number,
    buf: Uint8Array,
    start: number,
    end: number,
  ): void {
    const a = ON_MALFORMED[type]!;
    if (a === DISCARD) this.discard(reason);
    else if (a === Action.SESSION_RESET) this.reset(reason, subcode, buf.slice(start, end));
    else this.withdraw(reason);
  }

  /**
   * Decodes the UPDATE buf[off, off+len) (header checked by the caller) into `msg`, classifying
   * it in `out`.
   */
  decode(buf: Uint8Array, off: number, len: number, msg: UpdateMessage, out: Outcome): void {
    this.out = out;
    this.msg = msg;
    msg.clear();
    const end = off + len;
    let p = off + BGP_HEADER_LEN;
    const withdrawnLen = rd16(buf, p);
    p += 2;
    // RFC 4271 §6.3: lengths that do not fit the message are a Malformed Attribute List.
    if (p + withdrawnLen + 2 > end)
      return this.reset(BgpError.UPDATE_BAD_LENGTHS, SUB_MALFORMED_ATTRIBUTE_LIST);
    // RFC 7606 §5.3: an NLRI (or withdrawn) field that cannot be parsed resets the session.
    if (!decodeNlri4(buf, p, p + withdrawnLen, msg.withdrawn)) {
      return this.reset(BgpError.UPDATE_BAD_WITHDRAWN, SUB_INVALID_NETWORK_FIELD);
    }
    p += withdrawnLen;
    const attrLen = rd16(buf, p);
    p += 2;
    const attrEnd = p + attrLen;
    if (attrEnd > end) return this.reset(BgpError.UPDATE_BAD_LENGTHS, SUB_MALFORMED_ATTRIBUTE_LIST);
    if (!decodeNlri4(buf, attrEnd, end, msg.nlri)) {
      return this.reset(BgpError.UPDATE_BAD_NLRI, SUB_INVALID_NETWORK_FIELD);
    }
    if (attrLen === 0) {
      // RFC 7606 §3 (d): announcements without the well-known mandatory attributes.
      if (msg.nlri.count > 0) this.withdraw(BgpError.UPDATE_MISSING_WELL_KNOWN);
      return;
    }
    if (!this.walk(buf, p, attrEnd)) return;
    if (out.action === Action.SESSION_RESET) return;
    // An UPDATE holding only MP_UNREACH_NLRI has no attribute set (End-of-RIB, RFC 4724 §2).
    const attrs = this.recCount === 0 && !msg.mpReach ? undefined : this.attributes(buf);
    msg.attrs = attrs;
    if (out.action === Action.SESSION_RESET) return;
    // RFC 7606 §3 (d), RFC 4760 §3: ORIGIN and AS_PATH with any announcement, NEXT_HOP with
    // prefixes in the NLRI field. An UPDATE that only withdraws needs none.
    if (msg.announced > 0) {
      if (
        attrs === undefined ||
        attrs.origin === undefined ||
        attrs.asPath === undefined ||
        (msg.nlri.count > 0 && attrs.nextHop === undefined)
      ) {
        // One reason per message: an attribute already found malformed explains its absence.
        if (this.out.action === Action.OK) this.withdraw(BgpError.UPDATE_MISSING_WELL_KNOWN);
      }
    }
  }

  /**
   * First pass over the attributes: framing, flags of the MP attributes, duplicates, and the MP
   * attributes themselves (their NLRI is needed whatever else is wrong). Records the others.
   * Returns false when the session is to be reset.
   */
  private walk(buf: Uint8Array, start: number, end: number): boolean {
    const gen = ++this.generation;
    if (gen === 0xffffffff) {
      this.seen.fill(0);
      this.generation = 1;
    }
    this.recCount = 0;
    this.mpNextHopLen = 0;
    let p = start;
    let sawMp = false;
    while (p < end) {
      // RFC 7606 §4: too few octets left for an attribute header, or a length running past the
      // Total Path Attribute Length: treat-as-withdraw, the NLRI field still found by that length.
      const flags = buf[p]!;
      const hdr = flags & FLAG_EXTENDED_LENGTH ? 4 : 3;
      const type = p + 1 < end ? buf[p + 1]! : -1;
      let vlen = -1;
      if (p + hdr <= end) vlen = hdr === 4 ? rd16(buf, p + 2) : buf[p + 2]!;
      if (vlen < 0 || p + hdr + vlen > end) {
        // RFC 7606 §5: treat-as-withdraw needs every NLRI located; if the broken attribute may be
        // MP_REACH/MP_UNREACH (and none was found before it), the NLRI cannot be, so reset.
        // An attribute that is not first cannot be an MP one from a conforming sender (§5.1).
        if (
          !sawMp &&
          (type === ATTR_MP_REACH_NLRI || type === ATTR_MP_UNREACH_NLRI || type < 0) &&
          p === start
        ) {
          this.reset(BgpError.UPDATE_ATTRIBUTE_OVERRUN, SUB_MALFORMED_ATTRIBUTE_LIST);
          return false;
        }
        this.withdraw(BgpError.UPDATE_ATTRIBUTE_OVERRUN);
        return true;
      }
      const value = p + hdr;
      const next = value + vlen;
      if (this.seen[type] === gen) {
        // RFC 7606 §3 (g): a repeated MP attribute is a Malformed Attribute List; any other
        // repeated attribute is discarded, keeping the first.
        if (type === ATTR_MP_REACH_NLRI || type === ATTR_MP_UNREACH_NLRI) {
          this.reset(BgpError.UPDATE_DUPLICATE_MP, SUB_MALFORMED_ATTRIBUTE_LIST);
          return false;
        }
        this.discard(BgpError.UPDATE_DUPLICATE_ATTRIBUTE);
        p = next;
        continue;
      }
      this.seen[type] = gen;
      if (type === ATTR_MP_REACH_NLRI || type === ATTR_MP_UNREACH_NLRI) {
        sawMp = true;
        if ((flags & (FLAG_OPTIONAL | FLAG_TRANSITIVE | FLAG_PARTIAL)) !== FLAG_OPTIONAL) {
          this.reset(
            type === ATTR_MP_REACH_NLRI ? BgpError.MP_REACH_MALFORMED : BgpError.MP_UNREACH_MALFORMED,
            SUB_ATTRIBUTE_FLAGS,
            buf.slice(p, next),
          );
          return false;
        }
        const ok =
          type === ATTR_MP_REACH_NLRI ? this.mpReach(buf, value, next) : this.mpUnreach(buf, value, next);
        if (!ok) {
          this.reset(
            type === ATTR_MP_REACH_NLRI ? BgpError.MP_REACH_MALFORMED : BgpError.MP_UNREACH_MALFORMED,
            SUB_OPTIONAL_ATTRIBUTE,
            buf.slice(p, next),
          );
          return false;
        }
      } else {
        const i = this.recCount++;
        this.recStart[i] = p;
        this.recValue[i] = value;
        this.recLen[i] = vlen;
      }
      p = next;
    }
    return true;
  }

  /** MP_REACH_NLRI (RFC 4760 §3): AFI(2) SAFI(1) NH length(1) NH, reserved(1), NLRI. */
  private mpReach(buf: Uint8Array, p: number, end: number): boolean {
    if (end - p < 5) return false;
    const msg = this.msg;
    const afi = rd16(buf, p);
    const safi = buf[p + 2]!;
    const nhLen = buf[p + 3]!;
    msg.mpReach = true;
    msg.mpReachAfi = afi;
    msg.mpReachSafi = safi;
    const nh = p + 4;
    // The reserved octet follows the next hop; the NLRI start depends on the next-hop length, so
    // an inconsistent one cannot be got round (RFC 7606 §7, MP_REACH_NLRI).
    if (nh + nhLen + 1 > end) return false;
    const nlri = nh + nhLen + 1;
    if (safi !== SAFI_UNICAST || (afi !== AFI_IPV4 && afi !== AFI_IPV6)) {
      msg.unsupportedFamily = true;
      this.counters.count(BgpError.MP_UNSUPPORTED_FAMILY);
      return true;
    }
    // IPv6: global (16) or global + link-local (32) (RFC 2545 §3). IPv4: 4, or an IPv6 next hop
    // of 16 or 32 (RFC 8950 §3).
    if (afi === AFI_IPV6 ? nhLen !== 16 && nhLen !== 32 : nhLen !== 4 && nhLen !== 16 && nhLen !== 32)
      return false;
    this.mpNextHopOff = nh;
    this.mpNextHopLen = nhLen;
    return afi === AFI_IPV4
      ? decodeNlri4(buf, nlri, end, msg.mpReach4)
      : decodeNlri6(buf, nlri, end, msg.mpReach6);
  }

  /** MP_UNREACH_NLRI (RFC 4760 §4): AFI(2) SAFI(1) withdrawn NLRI. */
  private mpUnreach(buf: Uint8Array, p: number, end: number): boolean {
    if (end - p < 3) return false;
    const msg = this.msg;
    const afi = rd16(buf, p);
    const safi = buf[p + 2]!;
    msg.mpUnreach = true;
    msg.mpUnreachAfi = afi;
    msg.mpUnreachSafi = safi;
    if (safi !== SAFI_UNICAST || (afi !== AFI_IPV4 && afi !== AFI_IPV6)) {
      msg.unsupportedFamily = true;
      this.counters.count(BgpError.MP_UNSUPPORTED_FAMILY);
      return true;
    }
    return afi === AFI_IPV4
      ? decodeNlri4(buf, p + 3, end, msg.mpUnreach4)
      : decodeNlri6(buf, p + 3, end, msg.mpUnreach6);
  }

  /** The attribute set: from the cache when these bytes were seen before, else decoded. */
  private attributes(buf: Uint8Array): PathAttributes {
    // Key: the recorded attributes' octets, then the MP next hop.
    let size = 2 + this.mpNextHopLen;
    for (let i = 0; i < this.recCount; i++) size += this.recValue[i]! + this.recLen[i]! - this.recStart[i]!;
    if (size > this.keyBuf.length) this.keyBuf = new Uint8Array(size * 2);
    const k = this.keyBuf;
    let q = 0;
    for (let i = 0; i < this.recCount; i++) {
      const s = this.recStart[i]!;
      const e = this.recValue[i]! + this.recLen[i]!;
      if (e - s > 32) {
        k.set(buf.subarray(s, e), q);
        q += e - s;
      } else {
        for (let j = s; j < e; j++) k[q++] = buf[j]!;
      }
    }
    k[q++] = 0xfe;
    k[q++] = this.mpNextHopLen;
    for (let j = 0; j < this.mpNextHopLen; j++) k[q++] = buf[this.mpNextHopOff + j]!;
    const hash = hashBytes(k, 0, q);
    const hit = this.cache.get(k, 0, q, hash);
    if (hit !== undefined) {
      this.hits++;
      for (const r of hit.discarded) this.discard(r);
      return hit.attrs;
    }
    this.misses++;
    const before = this.out.action;
    const discardedBefore = this.out.discarded.length;
    let attrs = this.decodeAll(buf);
    if (this.out.action === before && before === Action.OK) {
      if (this.table !== undefined) attrs = this.table.intern(attrs);
      if (this.cache.size >= MAX_CACHE) this.cache.clear();
      // decodeAll left the key in keyBuf untouched (it only reads the message).
      this.cache.add(k, 0, q, { attrs, discarded: this.out.discarded.slice(discardedBefore) }, hash);
    }
    return attrs;
  }

  private decodeAll(buf: Uint8Array): PathAttributes {
    const b = new Builder();
    for (let i = 0; i < this.recCount; i++) {
      this.one(b, buf, this.recStart[i]!, this.recValue[i]!, this.recLen[i]!);
      if (this.out.action === Action.SESSION_RESET) break;
    }
    const s = this.session;
    // RFC 6793 §4.2.3: rebuild the path of an OLD speaker's route.
    let asPath = b.asPath;
    let aggregatorAs = b.aggregatorAs;
    let aggregatorAddress = b.aggregatorAddress;
    if (!s.as4) {
      let as4Path = b.as4Path;
      if (b.as4AggregatorAs >= 0) {
        if (aggregatorAs >= 0 && aggregatorAs !== AS_TRANS) {
          // The AGGREGATOR came from a NEW-unaware aggregation: AS4_AGGREGATOR and AS4_PATH are stale.
          as4Path = undefined;
        } else if (aggregatorAs >= 0) {
          aggregatorAs = b.as4AggregatorAs;
          aggregatorAddress = b.as4AggregatorAddress;
        }
      }
      if (asPath !== undefined && as4Path !== undefined) asPath = mergeAs4Path(asPath, as4Path);
    }
    // RFC 4271 §6.3, RFC 7606 §7 (AS_PATH): an external peer's path starts with its own AS
    // (in a 2-octet session, as the peer wrote it: AS_TRANS when we posed as an OLD speaker).
    if (asPath !== undefined && s.ebgp && s.enforceFirstAs !== false && (s.peerAs ?? 0) !== 0) {
      if (!firstAsIs(asPath, s.peerAs!) && (b.asPath === undefined || !firstAsIs(b.asPath, s.peerAs!))) {
        this.withdraw(BgpError.AS_PATH_FIRST_AS);
      }
    }
    const nhLen = this.mpNextHopLen;
    return {
      origin: b.origin,
      asPath,
      nextHop: b.nextHop,
      med: b.med,
      localPref: b.localPref,
      atomicAggregate: b.atomicAggregate,
      aggregator: aggregatorAs >= 0 ? { asn: aggregatorAs, address: aggregatorAddress } : undefined,
      communities: b.communities,
      originatorId: b.originatorId,
      clusterList: b.clusterList,
      largeCommunities: b.largeCommunities,
      mpNextHop: nhLen > 0 ? buf.slice(this.mpNextHopOff, this.mpNextHopOff + nhLen) : undefined,
      unknown: b.unknown ?? NO_UNKNOWN,
    };
  }

  /** Decodes one attribute into the builder, applying RFC 7606 §7 to what is wrong with it. */
  private one(b: Builder, buf: Uint8Array, start: number, v: number, len: number): void {
    const flags = buf[start]!;
    const type = buf[start + 1]!;
    const end = v + len;
    const expected = EXPECTED_FLAGS[type]!;
    if (expected < 0) return this.unknownAttribute(b, buf, flags, type, start, v, end);
    // RFC 4271 §4.3: the Partial bit is 0 on well-known and optional non-transitive attributes.
    // RFC 7606 §3 (c): a flag conflict makes the attribute malformed.
    const ot = flags & (FLAG_OPTIONAL | FLAG_TRANSITIVE);
    if (ot !== expected || (flags & FLAG_PARTIAL && expected !== OT)) {
      return this.malformed(type, BgpError.UPDATE_ATTRIBUTE_FLAGS, SUB_ATTRIBUTE_FLAGS, buf, start, end);
    }
    const s = this.session;
    switch (type) {
      case ATTR_ORIGIN: // RFC 7606 §7.1
        if (len !== 1 || buf[v]! > ORIGIN_INCOMPLETE) return this.bad(type, BgpError.ORIGIN_MALFORMED);
        b.origin = buf[v]!;
        return;
      case ATTR_AS_PATH: {
        // RFC 7606 §7.2 (malformed segments), RFC 7607 §2 (AS 0): treat-as-withdraw.
        const path = parseSegments(buf, v, end, s.as4 ? 4 : 2);
        if (path === undefined) return this.bad(type, BgpError.AS_PATH_MALFORMED);
        if (path === AS_ZERO) return this.bad(type, BgpError.AS_PATH_AS_ZERO);
        b.asPath = path;
        return;
      }
      case ATTR_NEXT_HOP: {
        if (len !== 4) return this.bad(type, BgpError.NEXT_HOP_MALFORMED);
        const nh = rd32(buf, v);
        // RFC 4271 §6.3: a semantically incorrect NEXT_HOP makes the route ignored (withdrawn):
        // 0.0.0.0/8, loopback, multicast and class E, the limited broadcast.
        const top = nh >>> 24;
        if (top === 0 || top === 127 || top >= 224) return this.bad(type, BgpError.NEXT_HOP_INVALID);
        b.nextHop = nh;
        return;
      }
      case ATTR_MED:
        if (len !== 4) return this.bad(type, BgpError.MED_MALFORMED);
        b.med = rd32(buf, v);
        return;
      case ATTR_LOCAL_PREF:
        // RFC 4271 §5.1.5, RFC 7606 §7 (LOCAL_PREF): from an external peer it is discarded.
        if (s.ebgp) return this.discard(BgpError.LOCAL_PREF_FROM_EBGP);
        if (len !== 4) return this.bad(type, BgpError.LOCAL_PREF_MALFORMED);
        b.localPref = rd32(buf, v);
        return;
      case ATTR_ATOMIC_AGGREGATE: // attribute discard
        if (len !== 0) return this.bad(type, BgpError.ATOMIC_AGGREGATE_MALFORMED);
        b.atomicAggregate = true;
        return;
      case ATTR_AGGREGATOR: {
        // Attribute discard: length 6 with 2-octet AS, 8 with 4-octet; AS 0 (RFC 7607 §2).
        const asSize = s.as4 ? 4 : 2;
        if (len !== asSize + 4) return this.bad(type, BgpError.AGGREGATOR_MALFORMED);
        const asn = asSize === 4 ? rd32(buf, v) : rd16(buf, v);
        if (asn === 0) return this.bad(type, BgpError.AGGREGATOR_MALFORMED);
        b.aggregatorAs = asn;
        b.aggregatorAddress = rd32(buf, v + asSize);
        return;
      }
      case ATTR_COMMUNITIES: // RFC 7606 §7 (Community): length 0 or not a multiple of 4
        if (len === 0 || len % 4 !== 0) return this.bad(type, BgpError.COMMUNITIES_MALFORMED);
        b.communities = readWords(buf, v, end);
        return;
      case ATTR_ORIGINATOR_ID:
        if (len !== 4) return this.bad(type, BgpError.ORIGINATOR_ID_MALFORMED);
        b.originatorId = rd32(buf, v);
        return;
      case ATTR_CLUSTER_LIST:
        if (len === 0 || len % 4 !== 0) return this.bad(type, BgpError.CLUSTER_LIST_MALFORMED);
        b.clusterList = readWords(buf, v, end);
        return;
      case ATTR_LARGE_COMMUNITIES: // RFC 8092 §6
        if (len === 0 || len % 12 !== 0) return this.bad(type, BgpError.LARGE_COMMUNITIES_MALFORMED);
        b.largeCommunities = readWords(buf, v, end);
        return;
      case ATTR_AS4_PATH: {
        // RFC 6793 §4.1: a NEW speaker ignores AS4_PATH from a NEW speaker; §6: malformed ones
        // are discarded. Confederation segments have no place in it and are dropped.
        if (s.as4) return this.discard(BgpError.AS4_FROM_NEW_SPEAKER);
        const path = parseSegments(buf, v, end, 4);
        if (path === undefined || path === AS_ZERO) return this.bad(type, BgpError.AS4_PATH_MALFORMED);
        b.as4Path = path.filter((seg) => seg.type !== AS_CONFED_SEQUENCE && seg.type !== AS_CONFED_SET);
        return;
      }
      case ATTR_AS4_AGGREGATOR: {
        if (s.as4) return this.discard(BgpError.AS4_FROM_NEW_SPEAKER);
        if (len !== 8) return this.bad(type, BgpError.AS4_AGGREGATOR_MALFORMED);
        const asn = rd32(buf, v);
        if (asn === 0) return this.bad(type, BgpError.AS4_AGGREGATOR_MALFORMED);
        b.as4AggregatorAs = asn;
        b.as4AggregatorAddress = rd32(buf, v + 4);
        return;
      }
      default:
        return;
    }
  }

  /** A malformed known attribute (not MP: those were handled in walk). */
  private bad(type: number, reason: number): void {
    const a = ON_MALFORMED[type]!;
    if (a === DISCARD) this.discard(reason);
    else this.withdraw(reason);
  }

  private unknownAttribute(
    b: Builder,
    buf: Uint8Array,
    flags: number,
    type: number,
    start: number,
    v: number,
    end: number,
  ): void {
    // RFC 4271 §6.3: an unrecognised well-known attribute resets the session; RFC 7606 keeps that.
    if ((flags & FLAG_OPTIONAL) === 0) {
      return this.reset(
        BgpError.UPDATE_UNRECOGNIZED_WELL_KNOWN,
        SUB_UNRECOGNIZED_WELL_KNOWN,
        buf.slice(start, end),
      );
    }
    // RFC 4271 §5: an unrecognised optional non-transitive attribute is quietly ignored (counted
    // here); a transitive one is kept and passed on with Partial set.
    if ((flags & FLAG_TRANSITIVE) === 0) return this.discard(BgpError.UPDATE_UNKNOWN_NON_TRANSITIVE);
    if (b.unknown === undefined) b.unknown = [];
    b.unknown.push({ flags: flags & 0xe0, type, value: buf.slice(v, end) });
  }
}

const AS_ZERO: AsPathSegment[] = [];

/** The path starts with `asn`, or with a confederation segment (a confederation peer, RFC 5065). */
function firstAsIs(path: readonly AsPathSegment[], asn: number): boolean {
  const first = path[0];
  if (first === undefined) return false;
  if (first.type === AS_CONFED_SEQUENCE || first.type === AS_CONFED_SET) return true;
  return first.type === AS_SEQUENCE && first.asns[0] === asn;
}

/**
 * AS_PATH / AS4_PATH segments (RFC 4271 §4.3): type(1) count(1) count × AS. Malformed (undefined)
 * per RFC 7606 §7.2: an unknown segment type, a zero count, a segment overrunning the attribute,
 * or a single octet left over. AS_ZERO when an AS is 0 (RFC 7607 §2).
 */
function parseSegments(buf: Uint8Array, p: number, end: number, asSize: number): AsPathSegment[] | undefined {
  const path: AsPathSegment[] = [];
  let zero = false;
  while (p < end) {
    if (p + 2 > end) return undefined;
    const type = buf[p]!;
    const count = buf[p + 1]!;
    if (type < 1 || type > 4 || count === 0) return undefined;
    p += 2;
    if (p + count * asSize > end) return undefined;
    const asns: number[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const a = asSize === 4 ? rd32(buf, p) : rd16(buf, p);
      if (a === 0) zero = true;
      asns[i] = a;
      p += asSize;
    }
    path.push({ type, asns });
  }
  return zero ? AS_ZERO : path;
}

function readWords(buf: Uint8Array, p: number, end: number): number[] {
  const out: number[] = new Array((end - p) >>> 2);
  for (let i = 0; p < end; p += 4) out[i++] = rd32(buf, p);
  return out;
}
