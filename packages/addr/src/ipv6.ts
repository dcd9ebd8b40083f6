import { formatIpv4 } from './ipv4.ts';

/**
 * IPv6 addresses are 16-byte Uint8Arrays in network order throughout nexthop. Functions that look
 * at an address take (buf, off), so they work on a packet's bytes in place as well as on a
 * control-plane copy.
 */
export const IPV6_ADDR_LEN = 16;

function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  return -1;
}

/** One group of 1 to 4 hex digits (RFC 4291 §2.2, form 1), or -1. */
function parseGroup(text: string, start: number, end: number): number {
  const n = end - start;
  if (n < 1 || n > 4) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const d = hexDigit(text.charCodeAt(i));
    if (d < 0) return -1;
    value = value * 16 + d;
  }
  return value;
}

/** Dotted quad of the form of tryParseIpv4 (no leading zeros, each 0..255), or -1. */
function parseDottedQuad(text: string, start: number, end: number): number {
  let value = 0;
  let parts = 0;
  let i = start;
  while (parts < 4) {
    const from = i;
    let octet = 0;
    while (i < end && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) {
      octet = octet * 10 + (text.charCodeAt(i) - 48);
      i++;
    }
    const digits = i - from;
    if (digits < 1 || digits > 3 || octet > 255) return -1;
    if (digits > 1 && text.charCodeAt(from) === 48) return -1;
    value = value * 256 + octet;
    parts++;
    if (parts < 4) {
      if (i >= end || text.charCodeAt(i) !== 46) return -1; // '.'
      i++;
    }
  }
  return i === end ? value : -1;
}

/**
 * Parses the groups of text[start, end) (no '::' inside) into 16-bit words at words[at..].
 * The last piece may be a dotted quad when `v4Allowed` (RFC 4291 §2.2, form 3): it fills two words.
 * Returns the number of words written, or -1.
 */
function parsePieces(
  text: string,
  start: number,
  end: number,
  words: number[],
  at: number,
  v4Allowed: boolean,
): number {
  if (start === end) return 0;
  let n = 0;
  let i = start;
  for (;;) {
    let j = i;
    while (j < end && text.charCodeAt(j) !== 58) j++; // ':'
    if (at + n >= 8) return -1;
    const last = j === end;
    if (last && v4Allowed && text.indexOf('.', i) >= 0 && text.indexOf('.', i) < end) {
      const v4 = parseDottedQuad(text, i, end);
      if (v4 < 0 || at + n + 2 > 8) return -1;
      words[at + n] = Math.floor(v4 / 65536);
      words[at + n + 1] = v4 & 0xffff;
      return n + 2;
    }
    const g = parseGroup(text, i, j);
    if (g < 0) return -1;
    words[at + n++] = g;
    if (last) return n;
    i = j + 1; // an empty group after this ':' fails parseGroup: no single leading or trailing ':'
  }
}

/**
 * Writes the address of `text` to out[outOff, outOff+16) and returns true, or returns false (out
 * may then be partly written). Accepts the three text forms of RFC 4291 §2.2: eight groups of
 * one to four hex digits, one '::' for one or more zero groups, and a dotted-quad IPv4 address in
 * the last 32 bits. Refuses zone ids (RFC 4007 §11: `%zone` is not part of an address), brackets,
 * whitespace and prefix lengths.
 */
export function parseIpv6Into(text: string, out: Uint8Array, outOff = 0): boolean {
  if (text.length < 2 || text.length > 45) return false;
  const words = [0, 0, 0, 0, 0, 0, 0, 0];
  const gap = text.indexOf('::');
  if (gap < 0) {
    if (parsePieces(text, 0, text.length, words, 0, true) !== 8) return false;
  } else {
    // ':::' and a second '::' are both refused here.
    if (text.indexOf('::', gap + 1) >= 0) return false;
    const head = parsePieces(text, 0, gap, words, 0, false);
    if (head < 0) return false;
    const tail: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
    const tailCount = parsePieces(text, gap + 2, text.length, tail, 0, true);
    // RFC 4291 §2.2: '::' stands for *one or more* groups of zeros, so at most 7 are written.
    if (tailCount < 0 || head + tailCount > 7) return false;
    for (let i = 0; i < tailCount; i++) words[8 - tailCount + i] = tail[i]!;
  }
  for (let i = 0; i < 8; i++) {
    out[outOff + 2 * i] = words[i]! >>> 8;
    out[outOff + 2 * i + 1] = words[i]! & 0xff;
  }
  return true;
}

export function tryParseIpv6(text: string): Uint8Array | undefined {
  const out = new Uint8Array(IPV6_ADDR_LEN);
  return parseIpv6Into(text, out, 0) ? out : undefined;
}

export function parseIpv6(text: string): Uint8Array {
  const value = tryParseIpv6(text);
  if (value === undefined) {
    if (text.includes('%')) {
      throw new RangeError(
        `not an IPv6 address: '${text}' (zone ids are not accepted; give the interface apart)`,
      );
    }
    throw new RangeError(`not an IPv6 address: '${text}'`);
  }
  return value;
}

/**
 * The canonical text of RFC 5952 §4: lowercase hex (§4.3), no leading zeros (§4.1), the longest
 * run of two or more zero groups as '::' (§4.2.1–4.2.2), the first such run on a tie (§4.2.3).
 * IPv4-mapped addresses (::ffff:0:0/96) end in a dotted quad (RFC 5952 §5).
 */
export function formatIpv6(buf: Uint8Array, off = 0): string {
  if (isV4MappedIpv6(buf, off)) {
    const v4 =
      ((buf[off + 12]! << 24) | (buf[off + 13]! << 16) | (buf[off + 14]! << 8) | buf[off + 15]!) >>> 0;
    return `::ffff:${formatIpv4(v4)}`;
  }
  let bestStart = -1;
  let bestLen = 1; // a single zero group is never compressed (§4.2.2)
  let runStart = -1;
  for (let i = 0; i <= 8; i++) {
    const zero = i < 8 && buf[off + 2 * i] === 0 && buf[off + 2 * i + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      // Strictly longer only: the first of equal runs wins (§4.2.3).
      if (i - runStart > bestLen) {
        bestStart = runStart;
        bestLen = i - runStart;
      }
      runStart = -1;
    }
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s.length > 0 && !s.endsWith(':')) s += ':';
    s += ((buf[off + 2 * i]! << 8) | buf[off + 2 * i + 1]!).toString(16);
  }
  return s;
}

function allZero(buf: Uint8Array, off: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (buf[off + i] !== 0) return false;
  return true;
}

/** :: (RFC 4291 §2.5.2). */
export function isUnspecifiedIpv6(buf: Uint8Array, off = 0): boolean {
  return allZero(buf, off, 16);
}

/** ::1 (RFC 4291 §2.5.3). */
export function isLoopbackIpv6(buf: Uint8Array, off = 0): boolean {
  return allZero(buf, off, 15) && buf[off + 15] === 1;
}

/** ff00::/8 (RFC 4291 §2.7). */
export function isMulticastIpv6(buf: Uint8Array, off = 0): boolean {
  return buf[off] === 0xff;
}

/** Link-local unicast fe80::/10 (RFC 4291 §2.5.6). */
export function isLinkLocalIpv6(buf: Uint8Array, off = 0): boolean {
  return buf[off] === 0xfe && (buf[off + 1]! & 0xc0) === 0x80;
}

/** IPv4-mapped ::ffff:0:0/96 (RFC 4291 §2.5.5.2). */
export function isV4MappedIpv6(buf: Uint8Array, off = 0): boolean {
  return allZero(buf, off, 10) && buf[off + 10] === 0xff && buf[off + 11] === 0xff;
}

/**
 * Whether an address only means something on one link (RFC 4007 §6: its zone is an interface):
 * link-local unicast, and interface- or link-local multicast (scopes 1 and 2, RFC 4291 §2.7).
 */
export function isLinkScopedIpv6(buf: Uint8Array, off = 0): boolean {
  return isLinkLocalIpv6(buf, off) || (isMulticastIpv6(buf, off) && multicastScopeIpv6(buf, off) <= 2);
}

/** Writes ::ffff:a.b.c.d, the IPv4-mapped form of `addr` (a u32), at out[off..]. */
export function mapIpv4ToIpv6(addr: number, out: Uint8Array, off = 0): void {
  out.fill(0, off, off + 10);
  out[off + 10] = 0xff;
  out[off + 11] = 0xff;
  out[off + 12] = addr >>> 24;
  out[off + 13] = (addr >>> 16) & 0xff;
  out[off + 14] = (addr >>> 8) & 0xff;
  out[off + 15] = addr & 0xff;
}

/** Scope field of a multicast address (RFC 4291 §2.7): 1 interface-local, 2 link-local, … */
export function multicastScopeIpv6(buf: Uint8Array, off = 0): number {
  return buf[off + 1]! & 0x0f;
}

/**
 * The solicited-node multicast address of `addr` (RFC 4291 §2.7.1): ff02::1:ff00:0/104 with the
 * low 24 bits of the address. Written to out[outOff, outOff+16), which is returned.
 */
export function solicitedNodeMulticast(
  addr: Uint8Array,
  addrOff = 0,
  out: Uint8Array = new Uint8Array(IPV6_ADDR_LEN),
  outOff = 0,
): Uint8Array {
  const b13 = addr[addrOff + 13]!;
  const b14 = addr[addrOff + 14]!;
  const b15 = addr[addrOff + 15]!;
  out[outOff] = 0xff;
  out[outOff + 1] = 0x02;
  for (let i = 2; i < 11; i++) out[outOff + i] = 0;
  out[outOff + 11] = 0x01;
  out[outOff + 12] = 0xff;
  out[outOff + 13] = b13;
  out[outOff + 14] = b14;
  out[outOff + 15] = b15;
  return out;
}

/**
 * The Ethernet destination of an IPv6 multicast group (RFC 2464 §7): 33:33 followed by the last
 * four bytes of the group. Written to out[outOff, outOff+6), which is returned.
 */
export function ipv6MulticastMac(
  group: Uint8Array,
  groupOff = 0,
  out: Uint8Array = new Uint8Array(6),
  outOff = 0,
): Uint8Array {
  out[outOff] = 0x33;
  out[outOff + 1] = 0x33;
  for (let i = 0; i < 4; i++) out[outOff + 2 + i] = group[groupOff + 12 + i]!;
  return out;
}

/**
 * The modified EUI-64 interface identifier of a 48-bit MAC (RFC 4291 §2.5.1 and Appendix A):
 * 0xfffe inserted in the middle and the universal/local bit inverted. Written to
 * out[outOff, outOff+8), which is returned; pass a 16-byte address and outOff 8 to fill its
 * interface id.
 */
export function eui64InterfaceId(
  mac: Uint8Array,
  macOff = 0,
  out: Uint8Array = new Uint8Array(8),
  outOff = 0,
): Uint8Array {
  out[outOff] = mac[macOff]! ^ 0x02;
  out[outOff + 1] = mac[macOff + 1]!;
  out[outOff + 2] = mac[macOff + 2]!;
  out[outOff + 3] = 0xff;
  out[outOff + 4] = 0xfe;
  out[outOff + 5] = mac[macOff + 3]!;
  out[outOff + 6] = mac[macOff + 4]!;
  out[outOff + 7] = mac[macOff + 5]!;
  return out;
}

/** fe80::/64 with the modified EUI-64 interface id of `mac` (RFC 4862 §5.3, RFC 2464 §5). */
export function linkLocalFromMac(mac: Uint8Array, macOff = 0): Uint8Array {
  const out = new Uint8Array(IPV6_ADDR_LEN);
  out[0] = 0xfe;
  out[1] = 0x80;
  eui64InterfaceId(mac, macOff, out, 8);
  return out;
}

/** True when a[aOff, aOff+16) and b[bOff, bOff+16) hold the same address. */
export function ipv6Equal(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  for (let i = 0; i < 16; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}
