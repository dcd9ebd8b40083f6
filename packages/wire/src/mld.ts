import { copyBytes, rd16, wr16 } from './bytes.ts';
import { pseudoHeaderSumIpv6 } from './checksum.ts';
import { Drop } from './drop.ts';
import {
  ICMPV6_MLD_QUERY,
  ICMPV6_MLDV1_DONE,
  ICMPV6_MLDV1_REPORT,
  ICMPV6_MLDV2_REPORT,
  setIcmpv6Checksum,
} from './icmpv6.ts';
import {
  IPPROTO_HOPOPTS,
  IPPROTO_ICMPV6,
  IPV6_HEADER_LEN,
  type Ipv6Header,
  writeIpv6Header,
} from './ipv6.ts';
import { IPV6_OPT_PADN, IPV6_OPT_ROUTER_ALERT, ROUTER_ALERT_MLD } from './ipv6-ext.ts';

/** Multicast Listener Discovery: MLDv1 (RFC 2710) and MLDv2 (RFC 3810, kept as is by RFC 9777). */
export const MLD_HOP_LIMIT = 1;
export const MLDV1_LEN = 24;
export const MLDV2_QUERY_MIN_LEN = 28;
export const MLDV2_REPORT_HEADER_LEN = 8;
export const MLDV2_RECORD_MIN_LEN = 20;
/** The Hop-by-Hop header every MLD message carries: Router Alert (RFC 2711) and PadN. */
export const MLD_HOP_BY_HOP_LEN = 8;

/** Multicast address record types (RFC 3810 §5.2.12). */
export const MLD_MODE_IS_INCLUDE = 1;
export const MLD_MODE_IS_EXCLUDE = 2;
export const MLD_CHANGE_TO_INCLUDE = 3;
export const MLD_CHANGE_TO_EXCLUDE = 4;
export const MLD_ALLOW_NEW_SOURCES = 5;
export const MLD_BLOCK_OLD_SOURCES = 6;

/** ff02::16, where MLDv2 reports go (RFC 3810 §5.2.14). */
export const ALL_MLDV2_ROUTERS = new Uint8Array([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16]);

/** Maximum Response Delay in ms from a Maximum Response Code (RFC 3810 §5.1.3: exact below 32768, else floating point). */
export function mldMaxResponseDelay(code: number): number {
  if (code < 32768) return code;
  return ((code & 0x0fff) | 0x1000) * 2 ** (((code >>> 12) & 7) + 3);
}

/** Querier's Query Interval in seconds from a QQIC (RFC 3810 §5.1.9: exact below 128, else floating point). */
export function mldQueryInterval(qqic: number): number {
  if (qqic < 128) return qqic;
  return ((qqic & 0x0f) | 0x10) << (((qqic >>> 4) & 7) + 3);
}

/** Caller-owned scratch, filled by decodeMld. Offsets are absolute; -1 when absent. */
export class MldMessage {
  type = 0;
  /** 1 or 2. A query's version follows from its length (RFC 3810 §8.1). */
  version = 0;
  /** Queries: the Maximum Response Delay in ms (from the code, RFC 3810 §5.1.3). */
  maxResponseDelay = 0;
  /** The multicast address of a query (:: for a general query), an MLDv1 report or a done. */
  groupOffset = -1;
  /** MLDv2 query: S flag, QRV, QQI in seconds, and the sources. */
  suppressRouterProcessing = false;
  robustness = 0;
  queryInterval = 0;
  sourceCount = 0;
  sourcesOffset = -1;
  /** MLDv2 report: the records, walked with MldRecordCursor. */
  recordCount = 0;
  recordsOffset = -1;
  recordsLength = 0;
  /** A report sent from :: during duplicate address detection (RFC 3590 §4, RFC 3810 §5.2.13). */
  unspecifiedSource = false;
}

function isLinkLocal(buf: Uint8Array, off: number): boolean {
  return buf[off] === 0xfe && (buf[off + 1]! & 0xc0) === 0x80;
}

function isUnspecified(buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (buf[off + i] !== 0) return false;
  return true;
}

/**
 * Validates and decodes the MLD message at buf[off, off+len) (an ICMPv6 message of type 130, 131,
 * 132 or 143 whose checksum decodeIcmpv6 verified). RFC 3810 §5 and RFC 2710 §3: hop limit 1, a
 * Router Alert with value 0 in the Hop-by-Hop header (`routerAlert`, from decodeIpv6Extensions),
 * a link-local source (§5.1.14; reports may come from :: as well, §5.2.13). Query versions by
 * length as §8.1 says (24: MLDv1, 28 or more: MLDv2, else ignored); every source and record must
 * fit. `ip` is the decoded header of the same packet. Returns 0, or a Drop reason.
 */
export function decodeMld(
  buf: Uint8Array,
  off: number,
  len: number,
  ip: Ipv6Header,
  routerAlert: number,
  out: MldMessage,
): number {
  if (len < MLDV2_REPORT_HEADER_LEN) return Drop.MLD_TRUNCATED;
  const type = buf[off]!;
  const report = type === ICMPV6_MLDV2_REPORT || type === ICMPV6_MLDV1_REPORT;
  if (!report && type !== ICMPV6_MLD_QUERY && type !== ICMPV6_MLDV1_DONE) return Drop.MLD_UNKNOWN_TYPE;
  if (ip.hopLimit !== MLD_HOP_LIMIT) return Drop.MLD_BAD_HOP_LIMIT;
  if (routerAlert !== ROUTER_ALERT_MLD) return Drop.MLD_NO_ROUTER_ALERT;
  const unspecifiedSource = report && isUnspecified(buf, ip.srcOffset);
  if (!unspecifiedSource && !isLinkLocal(buf, ip.srcOffset)) return Drop.MLD_BAD_SOURCE;

  out.type = type;
  out.unspecifiedSource = unspecifiedSource;
  out.maxResponseDelay = 0;
  out.groupOffset = -1;
  out.suppressRouterProcessing = false;
  out.robustness = 0;
  out.queryInterval = 0;
  out.sourceCount = 0;
  out.sourcesOffset = -1;
  out.recordCount = 0;
  out.recordsOffset = -1;
  out.recordsLength = 0;

  if (type === ICMPV6_MLDV2_REPORT) {
    out.version = 2;
    const count = rd16(buf, off + 6);
    const end = off + len;
    let p = off + MLDV2_REPORT_HEADER_LEN;
    // At most (len - 8) / 20 iterations: each record takes 20 bytes or more.
    for (let i = 0; i < count; i++) {
      if (p + MLDV2_RECORD_MIN_LEN > end) return Drop.MLD_TRUNCATED;
      p += MLDV2_RECORD_MIN_LEN + 16 * rd16(buf, p + 2) + 4 * buf[p + 1]!;
      if (p > end) return Drop.MLD_TRUNCATED;
    }
    out.recordCount = count;
    out.recordsOffset = off + MLDV2_REPORT_HEADER_LEN;
    out.recordsLength = p - out.recordsOffset;
    return 0;
  }
  if (type === ICMPV6_MLD_QUERY && len >= MLDV2_QUERY_MIN_LEN) {
    const sources = rd16(buf, off + 26);
    if (MLDV2_QUERY_MIN_LEN + 16 * sources > len) return Drop.MLD_TRUNCATED;
    out.version = 2;
    out.maxResponseDelay = mldMaxResponseDelay(rd16(buf, off + 4));
    out.groupOffset = off + 8;
    out.suppressRouterProcessing = (buf[off + 24]! & 0x08) !== 0;
    out.robustness = buf[off + 24]! & 0x07;
    out.queryInterval = mldQueryInterval(buf[off + 25]!);
    out.sourceCount = sources;
    out.sourcesOffset = off + MLDV2_QUERY_MIN_LEN;
    return 0;
  }
  // MLDv1 (RFC 2710 §3): query, report and done are 24 bytes; a query of 25 to 27 is neither version.
  if (len < MLDV1_LEN || (type === ICMPV6_MLD_QUERY && len !== MLDV1_LEN)) return Drop.MLD_TRUNCATED;
  out.version = 1;
  if (type === ICMPV6_MLD_QUERY) out.maxResponseDelay = rd16(buf, off + 4);
  out.groupOffset = off + 8;
  return 0;
}

/**
 * Walks the records of a decoded MLDv2 report without allocating: `begin`, then `next()` until it
 * returns false. Each step fills the record's type, group offset, sources and aux data (§5.2.4).
 */
export class MldRecordCursor {
  type = 0;
  offset = 0;
  length = 0;
  groupOffset = 0;
  sourceCount = 0;
  sourcesOffset = 0;
  auxDataLength = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private at = 0;
  private end = 0;
  private left = 0;

  begin(buf: Uint8Array, msg: MldMessage): void {
    this.buf = buf;
    this.at = msg.recordsOffset;
    this.end = msg.recordsOffset + msg.recordsLength;
    this.left = msg.recordCount;
  }

  next(): boolean {
    const p = this.at;
    if (this.left === 0 || p + MLDV2_RECORD_MIN_LEN > this.end) return false;
    const sources = rd16(this.buf, p + 2);
    const aux = 4 * this.buf[p + 1]!;
    const len = MLDV2_RECORD_MIN_LEN + 16 * sources + aux;
    if (p + len > this.end) return false;
    this.type = this.buf[p]!;
    this.offset = p;
    this.length = len;
    this.groupOffset = p + 4;
    this.sourceCount = sources;
    this.sourcesOffset = p + MLDV2_RECORD_MIN_LEN;
    this.auxDataLength = aux;
    this.at = p + len;
    this.left--;
    return true;
  }
}

/**
 * The Hop-by-Hop Options header of an MLD message (RFC 3810 §5, RFC 2711): Router Alert with value
 * 0, then PadN to 8 bytes, as Linux sends it. Returns 8.
 */
export function writeMldHopByHop(buf: Uint8Array, off: number, nextHeader = IPPROTO_ICMPV6): number {
  buf[off] = nextHeader;
  buf[off + 1] = 0;
  buf[off + 2] = IPV6_OPT_ROUTER_ALERT;
  buf[off + 3] = 2;
  wr16(buf, off + 4, ROUTER_ALERT_MLD);
  buf[off + 6] = IPV6_OPT_PADN;
  buf[off + 7] = 0;
  return MLD_HOP_BY_HOP_LEN;
}

/**
 * The ICMPv6 part of an MLDv2 report (RFC 3810 §5.2): one record of `recordType` without sources
 * per group, for the `count` groups at groups[groupsOff..] (16 bytes each). The checksum is left
 * zero (setIcmpv6Checksum). Returns 8 + 20 × count.
 */
export function writeMldv2ReportMessage(
  buf: Uint8Array,
  off: number,
  recordType: number,
  groups: Uint8Array,
  groupsOff: number,
  count: number,
): number {
  buf[off] = ICMPV6_MLDV2_REPORT;
  buf[off + 1] = 0;
  wr16(buf, off + 2, 0);
  wr16(buf, off + 4, 0);
  wr16(buf, off + 6, count);
  let p = off + MLDV2_REPORT_HEADER_LEN;
  for (let i = 0; i < count; i++) {
    buf[p] = recordType;
    buf[p + 1] = 0;
    wr16(buf, p + 2, 0);
    copyBytes(groups, groupsOff + 16 * i, buf, p + 4, 16);
    p += MLDV2_RECORD_MIN_LEN;
  }
  return p - off;
}

/**
 * A whole MLDv2 report packet as a node sends it for the groups it listens to (RFC 3810 §5.2,
 * §5.2.13–14): IPv6 header from `src` (its link-local address, or :: before it has one) to ff02::16
 * with hop limit 1, the Router Alert Hop-by-Hop header, and the report with its checksum. Use
 * MLD_CHANGE_TO_EXCLUDE to join, MLD_CHANGE_TO_INCLUDE to leave, MLD_MODE_IS_EXCLUDE to answer a
 * query (§6.1). Returns the packet's length (the frame goes to 33:33:00:00:00:16).
 */
export function writeMldv2Report(
  buf: Uint8Array,
  off: number,
  src: Uint8Array,
  srcOff: number,
  recordType: number,
  groups: Uint8Array,
  groupsOff: number,
  count: number,
  flowLabel = 0,
): number {
  const icmp = off + IPV6_HEADER_LEN + MLD_HOP_BY_HOP_LEN;
  const icmpLen = writeMldv2ReportMessage(buf, icmp, recordType, groups, groupsOff, count);
  writeMldHopByHop(buf, off + IPV6_HEADER_LEN);
  writeIpv6Header(
    buf,
    off,
    0,
    flowLabel,
    MLD_HOP_BY_HOP_LEN + icmpLen,
    IPPROTO_HOPOPTS,
    MLD_HOP_LIMIT,
    src,
    srcOff,
    ALL_MLDV2_ROUTERS,
    0,
  );
  setIcmpv6Checksum(
    buf,
    icmp,
    icmpLen,
    pseudoHeaderSumIpv6(src, srcOff, ALL_MLDV2_ROUTERS, 0, IPPROTO_ICMPV6, 0),
  );
  return IPV6_HEADER_LEN + MLD_HOP_BY_HOP_LEN + icmpLen;
}

/** ff02::2, where an MLDv1 Done goes (RFC 2710 §3.7). */
const ALL_ROUTERS = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);

/**
 * A whole MLDv1 Report or Done packet (RFC 2710 §3, §4), what a node sends while an MLDv1 querier
 * is present on the link (RFC 3810 §8.2.1): from `src` (its link-local address) with hop limit 1
 * and Router Alert, a Report to the group itself, a Done to all-routers (ff02::2). `type` is
 * ICMPV6_MLDV1_REPORT or ICMPV6_MLDV1_DONE. Returns the packet's length; the destination address is
 * at off + 24 (the frame goes to its multicast MAC).
 */
export function writeMldv1Packet(
  buf: Uint8Array,
  off: number,
  src: Uint8Array,
  srcOff: number,
  type: number,
  group: Uint8Array,
  groupOff: number,
): number {
  const icmp = off + IPV6_HEADER_LEN + MLD_HOP_BY_HOP_LEN;
  buf[icmp] = type;
  buf[icmp + 1] = 0;
  wr16(buf, icmp + 2, 0);
  wr16(buf, icmp + 4, 0);
  wr16(buf, icmp + 6, 0);
  copyBytes(group, groupOff, buf, icmp + 8, 16);
  writeMldHopByHop(buf, off + IPV6_HEADER_LEN);
  const dst = type === ICMPV6_MLDV1_DONE ? ALL_ROUTERS : group;
  const dstOff = type === ICMPV6_MLDV1_DONE ? 0 : groupOff;
  writeIpv6Header(
    buf,
    off,
    0,
    0,
    MLD_HOP_BY_HOP_LEN + MLDV1_LEN,
    IPPROTO_HOPOPTS,
    MLD_HOP_LIMIT,
    src,
    srcOff,
    dst,
    dstOff,
  );
  setIcmpv6Checksum(buf, icmp, MLDV1_LEN, pseudoHeaderSumIpv6(src, srcOff, dst, dstOff, IPPROTO_ICMPV6, 0));
  return IPV6_HEADER_LEN + MLD_HOP_BY_HOP_LEN + MLDV1_LEN;
}

/**
 * The ICMPv6 part of an MLDv2 query without sources (RFC 3810 §5.1): Maximum Response Code, group
 * (:: for a general query), S flag, QRV and QQIC. The checksum is left zero. Returns 28.
 */
export function writeMldv2Query(
  buf: Uint8Array,
  off: number,
  maxResponseCode: number,
  group: Uint8Array,
  groupOff: number,
  suppressRouterProcessing: boolean,
  robustness: number,
  qqic: number,
): number {
  buf[off] = ICMPV6_MLD_QUERY;
  buf[off + 1] = 0;
  wr16(buf, off + 2, 0);
  wr16(buf, off + 4, maxResponseCode);
  wr16(buf, off + 6, 0);
  copyBytes(group, groupOff, buf, off + 8, 16);
  buf[off + 24] = (suppressRouterProcessing ? 0x08 : 0) | (robustness & 7);
  buf[off + 25] = qqic;
  wr16(buf, off + 26, 0);
  return MLDV2_QUERY_MIN_LEN;
}
