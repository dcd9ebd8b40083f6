// The RIPv2 (RFC 2453 §4) and RIPng (RFC 2080 §2.1) messages: parsing with every drop named, and
// encoding. RIPv2 authentication is RFC 4822's cryptographic trailer: keyed MD5 as RFC 2082 (what
// FRR's `ip rip authentication mode md5` speaks) and HMAC-SHA-1/-256 as RFC 4822 §2.5 (BIRD's
// `auth cryptographic` with those algorithms). The parsers never throw on any input; they return
// a reason, which the engine counts.
import { isLinkLocalIpv6, isMulticastIpv6, maskIpv6 } from '@nexthop/addr';
import { rd16, rd32, wr16, wr32 } from '@nexthop/wire';
import { HASH_LENGTH, type HashName, hash, hmac } from './hash.ts';

export const RIP_REQUEST = 1;
export const RIP_RESPONSE = 2;
export const RIP_INFINITY = 16;
export const RIP_PORT = 520;
export const RIPNG_PORT = 521;
/** 224.0.0.9 (RFC 2453 §4.5). */
export const RIP_GROUP = 0xe0000009;
/** ff02::9 (RFC 2080 §2.5.1). */
export const RIPNG_GROUP: Uint8Array = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9);

const HEADER = 4;
const ENTRY = 20;
/** RFC 2453 §4: at most 25 route entries in a message (the authentication entry counts). */
export const RIP2_MAX_ENTRIES = 25;
const AFI_INET = 2;
const AFI_AUTH = 0xffff;
/** RFC 2082 §3.1 / RFC 4822 §3.2: Authentication Type 3, cryptographic authentication. */
const AUTH_CRYPTO = 3;
/** RFC 4822 §2.5: Apad, 0x878FE1F3 repeated, fills the authentication data while HMAC runs. */
const APAD = 0x878fe1f3;

/** Why a message or an entry was dropped (the engine counts each). */
export type RipDropReason =
  | 'version'
  | 'command'
  | 'length'
  | 'afi'
  | 'metric'
  | 'prefix'
  | 'port'
  | 'source'
  | 'hopLimit'
  | 'auth'
  | 'own'
  | 'interface';

export const RIP_DROP_REASONS: readonly RipDropReason[] = [
  'version',
  'command',
  'length',
  'afi',
  'metric',
  'prefix',
  'port',
  'source',
  'hopLimit',
  'auth',
  'own',
  'interface',
];

/** One route entry; A is the address type (number for IPv4, 16 bytes for IPv6). */
export interface RipEntry<A> {
  network: A;
  length: number;
  metric: number;
  /** RIPv2's Next Hop, or the address of RIPng's last next hop RTE; 0 / :: for "via the sender". */
  nextHop: A;
  tag: number;
}

export interface RipMessage<A> {
  command: number;
  version: number;
  /** A request for the whole table (one entry, AFI 0 / prefix ::/0, metric 16). */
  wholeTable: boolean;
  entries: RipEntry<A>[];
  /** Entries dropped, by reason (the message itself was good). */
  entryDrops: RipDropReason[];
  /** The authentication it carried (RIPv2), when it passed. */
  auth: { keyId: number; sequence: number } | null;
}

export type RipParse<A> = { ok: true; message: RipMessage<A> } | { ok: false; reason: RipDropReason };

/** A RIPv2 authentication key (RFC 4822 §3: a key identifier, an algorithm and a secret). */
export interface RipKey {
  id: number;
  algorithm: 'md5' | 'hmac-sha1' | 'hmac-sha256';
  secret: Uint8Array;
}

function hashOf(k: RipKey): HashName {
  return k.algorithm === 'md5' ? 'md5' : k.algorithm === 'hmac-sha1' ? 'sha1' : 'sha256';
}

/** Length of a key's authentication data (RFC 4822 §3.2's Auth Data Len). */
export function authDataLength(k: RipKey): number {
  return HASH_LENGTH[hashOf(k)];
}

/** RFC 4822 §2.5's K: the secret, hashed first when it is longer than the digest. */
function hmacKey(k: RipKey): Uint8Array {
  const name = hashOf(k);
  return k.secret.length > HASH_LENGTH[name] ? hash(name, k.secret) : k.secret;
}

/**
 * The authentication data of a message whose trailer starts at `trailer` (its 0xFFFF 0x0001 written)
 * in msg[0, trailer + 4 + L). Keyed MD5 (RFC 2082 §3.2.1): MD5 over the message through the trailer
 * header, then the key padded (or cut) to 16 octets. HMAC (RFC 4822 §2.5): over the whole message
 * with Apad where the data goes.
 */
function authData(k: RipKey, msg: Uint8Array, trailer: number): Uint8Array {
  const L = authDataLength(k);
  const data = msg.slice(0, trailer + 4 + L);
  if (k.algorithm === 'md5') {
    data.fill(0, trailer + 4);
    data.set(k.secret.subarray(0, 16), trailer + 4);
    return hash('md5', data);
  }
  for (let o = trailer + 4; o < trailer + 4 + L; o += 4) wr32(data, o, APAD);
  return hmac(hashOf(k), hmacKey(k), data);
}

/** The length of a contiguous mask (ones, then zeros), else -1. */
function maskLength(mask: number): number {
  const inv = ~mask >>> 0;
  if ((inv & (inv + 1)) !== 0) return -1;
  return inv === 0 ? 32 : Math.clz32(inv);
}

/** RFC 2453 §3.9.2: not class D or E, not net 0 (but the default route), not loopback. */
function badIpv4Destination(network: number, length: number): boolean {
  const first = network >>> 24;
  if (first >= 224 || first === 127) return true;
  return first === 0 && !(network === 0 && length === 0);
}

/**
 * Parses a RIPv2 message. `keys` are the interface's authentication keys: with none, a message
 * carrying authentication is dropped (RFC 2453 §4.1); with some, one without it is, and one whose
 * key id is not among them or whose digest is wrong.
 */
export function parseRip2(
  buf: Uint8Array,
  off: number,
  len: number,
  keys: readonly RipKey[],
): RipParse<number> {
  if (len < HEADER) return { ok: false, reason: 'length' };
  const command = buf[off]!;
  const version = buf[off + 1]!;
  if (command !== RIP_REQUEST && command !== RIP_RESPONSE) return { ok: false, reason: 'command' };
  if (version !== 2) return { ok: false, reason: 'version' };
  let end = len;
  let first = HEADER;
  let auth: RipMessage<number>['auth'] = null;
  const authenticated = len >= HEADER + ENTRY && rd16(buf, off + HEADER) === AFI_AUTH;
  if (authenticated) {
    if (keys.length === 0) return { ok: false, reason: 'auth' };
    if (rd16(buf, off + HEADER + 2) !== AUTH_CRYPTO) return { ok: false, reason: 'auth' };
    const a = off + HEADER + 4;
    const trailer = rd16(buf, a);
    const keyId = buf[a + 2]!;
    const declared = buf[a + 3]!;
    const sequence = rd32(buf, a + 4);
    const key = keys.find((k) => k.id === keyId);
    if (key === undefined) return { ok: false, reason: 'auth' };
    const L = authDataLength(key);
    // FRR's ripd writes 20 for MD5 unless told `auth-length rfc` (an old ripd's reading of RFC 2082).
    if (declared !== L && !(key.algorithm === 'md5' && declared === 20)) return { ok: false, reason: 'auth' };
    if (trailer < HEADER + ENTRY || (trailer - HEADER) % ENTRY !== 0 || trailer + 4 + L !== len)
      return { ok: false, reason: 'length' };
    if (rd16(buf, off + trailer) !== AFI_AUTH || rd16(buf, off + trailer + 2) !== 1)
      return { ok: false, reason: 'auth' };
    const msg = buf.subarray(off, off + len);
    const want = authData(key, msg, trailer);
    let diff = 0;
    for (let i = 0; i < L; i++) diff |= want[i]! ^ msg[trailer + 4 + i]!;
    if (diff !== 0) return { ok: false, reason: 'auth' };
    auth = { keyId, sequence };
    end = trailer;
    first = HEADER + ENTRY;
  } else if (keys.length > 0) return { ok: false, reason: 'auth' };
  if ((end - HEADER) % ENTRY !== 0) return { ok: false, reason: 'length' };
  const entries: RipEntry<number>[] = [];
  const entryDrops: RipDropReason[] = [];
  const count = (end - first) / ENTRY;
  const wholeTable =
    command === RIP_REQUEST &&
    count === 1 &&
    rd16(buf, off + first) === 0 &&
    rd32(buf, off + first + 16) === RIP_INFINITY;
  if (!wholeTable) {
    for (let o = off + first; o < off + end; o += ENTRY) {
      const afi = rd16(buf, o);
      if (afi !== AFI_INET) {
        entryDrops.push('afi');
        continue;
      }
      const metric = rd32(buf, o + 16);
      if (metric < 1 || metric > RIP_INFINITY) {
        entryDrops.push('metric');
        continue;
      }
      const address = rd32(buf, o + 4);
      const length = maskLength(rd32(buf, o + 8));
      if (length < 0) {
        entryDrops.push('prefix');
        continue;
      }
      const network = length === 0 ? 0 : (address & (0xffffffff << (32 - length))) >>> 0;
      if (command === RIP_RESPONSE && badIpv4Destination(network, length)) {
        entryDrops.push('prefix');
        continue;
      }
      entries.push({ network, length, metric, nextHop: rd32(buf, o + 12), tag: rd16(buf, o + 2) });
    }
  }
  return { ok: true, message: { command, version, wholeTable, entries, entryDrops, auth } };
}

/** Route entries that fit in one RIPv2 message with (or without) authentication. */
export function rip2EntriesPerMessage(authenticated: boolean): number {
  return authenticated ? RIP2_MAX_ENTRIES - 1 : RIP2_MAX_ENTRIES;
}

/**
 * A RIPv2 message. A whole-table request is one entry of AFI 0 and metric 16 (`wholeTable`); with
 * `auth`, the authentication entry first and the trailer last (RFC 4822 §3.2), signed with its key
 * and sequence number.
 */
export function encodeRip2(
  command: number,
  entries: readonly RipEntry<number>[],
  auth: { key: RipKey; sequence: number } | null,
  wholeTable = false,
): Uint8Array {
  const n = wholeTable ? 1 : entries.length;
  const body = HEADER + (auth !== null ? ENTRY : 0) + n * ENTRY;
  const L = auth !== null ? authDataLength(auth.key) : 0;
  const msg = new Uint8Array(body + (auth !== null ? 4 + L : 0));
  msg[0] = command;
  msg[1] = 2;
  let o = HEADER;
  if (auth !== null) {
    wr16(msg, o, AFI_AUTH);
    wr16(msg, o + 2, AUTH_CRYPTO);
    wr16(msg, o + 4, body);
    msg[o + 6] = auth.key.id;
    msg[o + 7] = L;
    wr32(msg, o + 8, auth.sequence);
    o += ENTRY;
  }
  if (wholeTable) {
    wr32(msg, o + 16, RIP_INFINITY);
    o += ENTRY;
  } else {
    for (const e of entries) {
      wr16(msg, o, AFI_INET);
      wr16(msg, o + 2, e.tag);
      wr32(msg, o + 4, e.network);
      wr32(msg, o + 8, e.length === 0 ? 0 : 0xffffffff << (32 - e.length));
      wr32(msg, o + 12, e.nextHop);
      wr32(msg, o + 16, e.metric);
      o += ENTRY;
    }
  }
  if (auth !== null) {
    wr16(msg, o, AFI_AUTH);
    wr16(msg, o + 2, 1);
    msg.set(authData(auth.key, msg, o), o + 4);
  }
  return msg;
}

const UNSPECIFIED6 = new Uint8Array(16);
const NEXT_HOP_METRIC = 0xff;

/**
 * Parses a RIPng message. A next hop RTE (metric 0xFF) sets the next hop of the RTEs after it; one
 * that is not link-local counts as :: (RFC 2080 §2.1.1). Multicast and link-local prefixes are
 * dropped (§2.4.2).
 */
export function parseRipng(buf: Uint8Array, off: number, len: number): RipParse<Uint8Array> {
  if (len < HEADER) return { ok: false, reason: 'length' };
  const command = buf[off]!;
  const version = buf[off + 1]!;
  if (command !== RIP_REQUEST && command !== RIP_RESPONSE) return { ok: false, reason: 'command' };
  if (version !== 1) return { ok: false, reason: 'version' };
  if ((len - HEADER) % ENTRY !== 0) return { ok: false, reason: 'length' };
  const count = (len - HEADER) / ENTRY;
  let wholeTable = false;
  if (command === RIP_REQUEST && count === 1 && buf[off + HEADER + 19] === RIP_INFINITY) {
    wholeTable = buf[off + HEADER + 18] === 0;
    for (let i = 0; i < 16 && wholeTable; i++) if (buf[off + HEADER + i] !== 0) wholeTable = false;
  }
  const entries: RipEntry<Uint8Array>[] = [];
  const entryDrops: RipDropReason[] = [];
  let nextHop = UNSPECIFIED6;
  if (!wholeTable) {
    for (let o = off + HEADER; o < off + len; o += ENTRY) {
      const metric = buf[o + 19]!;
      if (metric === NEXT_HOP_METRIC) {
        nextHop = isLinkLocalIpv6(buf, o) ? buf.slice(o, o + 16) : UNSPECIFIED6;
        continue;
      }
      if (metric < 1 || metric > RIP_INFINITY) {
        entryDrops.push('metric');
        continue;
      }
      const length = buf[o + 18]!;
      if (length > 128) {
        entryDrops.push('prefix');
        continue;
      }
      const network = buf.slice(o, o + 16);
      maskIpv6(network, 0, length);
      if (command === RIP_RESPONSE && (isMulticastIpv6(network, 0) || isLinkLocalIpv6(network, 0))) {
        entryDrops.push('prefix');
        continue;
      }
      entries.push({ network, length, metric, nextHop, tag: rd16(buf, o + 16) });
    }
  }
  return { ok: true, message: { command, version, wholeTable, entries, entryDrops, auth: null } };
}

/** RTEs that fit in one RIPng message on a link of this MTU (RFC 2080 §2.1). */
export function ripngEntriesPerMessage(mtu: number): number {
  return Math.max(1, Math.floor((mtu - 40 - 8 - HEADER) / ENTRY));
}

/** A RIPng message; next hops are not sent (the receiver uses our link-local source). */
export function encodeRipng(
  command: number,
  entries: readonly RipEntry<Uint8Array>[],
  wholeTable = false,
): Uint8Array {
  const n = wholeTable ? 1 : entries.length;
  const msg = new Uint8Array(HEADER + n * ENTRY);
  msg[0] = command;
  msg[1] = 1;
  let o = HEADER;
  if (wholeTable) {
    msg[o + 19] = RIP_INFINITY;
    return msg;
  }
  for (const e of entries) {
    msg.set(e.network.subarray(0, 16), o);
    wr16(msg, o + 16, e.tag);
    msg[o + 18] = e.length;
    msg[o + 19] = e.metric;
    o += ENTRY;
  }
  return msg;
}
