// OSPFv2 packets (RFC 2328 §A.3): the 24-byte header with its checksum and authentication (null,
// simple password, cryptographic MD5: §D), and the five bodies. Decoders take (buffer, offset,
// length) and return a decoded object or the reason it was dropped; they never throw.
import { foldSum, sumWords } from '@nexthop/wire';
import {
  AUTH_CRYPTO,
  AUTH_NULL,
  AUTH_SIMPLE,
  HEADER_LENGTH,
  HEADER6_LENGTH,
  LSA_HEADER_LENGTH,
  MD5_DIGEST_LENGTH,
  OSPF_VERSION,
  OSPF6_VERSION,
  PT_DD,
  PT_HELLO,
  PT_LSACK,
  PT_LSR,
  PT_LSU,
} from './constants.ts';
import { checkLsa, decodeLsaHeader, type LsaHeader, rd16, rd32, wr16, wr32 } from './lsa.ts';

/** Why a packet was dropped; each counted. */
export type DropReason =
  | 'bad_length'
  | 'bad_version'
  | 'bad_type'
  | 'bad_checksum'
  | 'bad_area'
  | 'bad_auth'
  | 'bad_auth_type'
  | 'bad_crypto_seq'
  | 'not_on_link'
  | 'bad_ttl'
  | 'own_router_id'
  | 'unknown_interface'
  | 'not_dr_or_backup'
  | 'hello_mismatch'
  | 'mtu_mismatch'
  | 'no_neighbor'
  | 'neighbor_state'
  | 'lsa_length'
  | 'lsa_type'
  | 'lsa_checksum'
  | 'lsa_body'
  | 'truncated'
  | 'passive'
  | 'bad_instance'
  | 'bad_source'
  /** A Hello whose E-bit disagrees with the area's stub setting (§10.5). */
  | 'stub_mismatch'
  /** An AS-external LSA received in a stub area (§13 step 3). */
  | 'stub_external';

/** An interface's authentication (RFC 2328 §D): keys as bytes, zero-padded to 8 or 16. */
export type OspfAuth =
  | { readonly type: 'none' }
  | { readonly type: 'simple'; readonly key: Uint8Array }
  | { readonly type: 'md5'; readonly keyId: number; readonly key: Uint8Array };

/** MD5 of a byte string (supplied by the host: the engine is sans-IO and has no crypto of its own). */
export type Md5 = (data: Uint8Array) => Uint8Array;

export interface PacketHeader {
  type: number;
  /** The packet's length field (the digest, when there is one, follows it). */
  length: number;
  routerId: number;
  areaId: number;
  autype: number;
  /** The cryptographic sequence number (autype 2), else 0. */
  cryptoSeq: number;
}

/** Pads a key to `n` bytes (RFC 2328 §D.2, §D.3). */
export function padKey(key: Uint8Array, n: number): Uint8Array {
  const k = new Uint8Array(n);
  k.set(key.subarray(0, n));
  return k;
}

/** The OSPF checksum: the Internet checksum of the packet without its 64-bit authentication field. */
export function packetChecksum(b: Uint8Array, off: number, len: number): number {
  let s = sumWords(b, off, 16, 0);
  s = sumWords(b, off + HEADER_LENGTH, len - HEADER_LENGTH, s);
  return ~foldSum(s) & 0xffff;
}

/**
 * Checks the header of the packet at b[off, off+len) (len: what arrived, IP header removed): version,
 * length, type, then authentication with `auth` (checksum for null and simple; key id and MD5 digest
 * for cryptographic). The area and the router id are the caller's to check.
 */
export function decodeHeader(
  b: Uint8Array,
  off: number,
  len: number,
  auth: OspfAuth,
  md5: Md5 | null,
): PacketHeader | DropReason {
  if (len < HEADER_LENGTH) return 'bad_length';
  if (b[off] !== OSPF_VERSION) return 'bad_version';
  const type = b[off + 1]!;
  if (type < PT_HELLO || type > PT_LSACK) return 'bad_type';
  const length = rd16(b, off + 2);
  if (length < HEADER_LENGTH || length > len) return 'bad_length';
  const autype = rd16(b, off + 14);
  const h: PacketHeader = {
    type,
    length,
    routerId: rd32(b, off + 4),
    areaId: rd32(b, off + 8),
    autype,
    cryptoSeq: 0,
  };
  const want = auth.type === 'none' ? AUTH_NULL : auth.type === 'simple' ? AUTH_SIMPLE : AUTH_CRYPTO;
  if (autype !== want) return 'bad_auth_type';
  if (autype !== AUTH_CRYPTO) {
    if (packetChecksum(b, off, length) !== 0) return 'bad_checksum';
    if (auth.type === 'simple') {
      for (let i = 0; i < 8; i++) if (b[off + 16 + i] !== auth.key[i]) return 'bad_auth';
    }
    return h;
  }
  if (auth.type !== 'md5' || md5 === null) return 'bad_auth';
  // §D.4.3: key id, digest length, then the digest over the packet and the key.
  if (b[off + 18] !== auth.keyId || b[off + 19] !== MD5_DIGEST_LENGTH) return 'bad_auth';
  if (len < length + MD5_DIGEST_LENGTH) return 'bad_auth';
  h.cryptoSeq = rd32(b, off + 20);
  const data = new Uint8Array(length + MD5_DIGEST_LENGTH);
  data.set(b.subarray(off, off + length));
  data.set(auth.key, length);
  const d = md5(data);
  for (let i = 0; i < MD5_DIGEST_LENGTH; i++) if (d[i] !== b[off + length + i]) return 'bad_auth';
  return h;
}

/**
 * Writes the header of a packet whose body is already at b[off+24, off+length), then its checksum
 * or digest. Returns the bytes to send (length, plus the digest for MD5).
 */
export function finishPacket(
  b: Uint8Array,
  off: number,
  type: number,
  length: number,
  routerId: number,
  areaId: number,
  auth: OspfAuth,
  md5: Md5 | null,
  cryptoSeq: number,
): number {
  b[off] = OSPF_VERSION;
  b[off + 1] = type;
  wr16(b, off + 2, length);
  wr32(b, off + 4, routerId);
  wr32(b, off + 8, areaId);
  wr16(b, off + 12, 0);
  b.fill(0, off + 16, off + 24);
  if (auth.type !== 'md5') {
    wr16(b, off + 14, auth.type === 'none' ? AUTH_NULL : AUTH_SIMPLE);
    wr16(b, off + 12, packetChecksum(b, off, length));
    if (auth.type === 'simple') b.set(auth.key.subarray(0, 8), off + 16);
    return length;
  }
  if (md5 === null) throw new Error('MD5 authentication needs an md5 function');
  wr16(b, off + 14, AUTH_CRYPTO);
  b[off + 18] = auth.keyId;
  b[off + 19] = MD5_DIGEST_LENGTH;
  wr32(b, off + 20, cryptoSeq);
  b.set(auth.key, off + length);
  const d = md5(b.subarray(off, off + length + MD5_DIGEST_LENGTH));
  b.set(d.subarray(0, MD5_DIGEST_LENGTH), off + length);
  return length + MD5_DIGEST_LENGTH;
}

export interface Hello {
  /** OSPFv2: the network mask. */
  mask: number;
  /** OSPFv3: the sender's interface id (RFC 5340 §A.3.2). */
  ifaceId?: number;
  helloInterval: number;
  options: number;
  priority: number;
  deadInterval: number;
  dr: number;
  bdr: number;
  neighbors: number[];
}

/** The body at b[off+24, off+length). */
export function decodeHello(b: Uint8Array, off: number, length: number): Hello | DropReason {
  const o = off + HEADER_LENGTH;
  const n = length - HEADER_LENGTH;
  if (n < 20 || (n - 20) % 4 !== 0) return 'bad_length';
  const neighbors: number[] = [];
  for (let i = o + 20; i < off + length; i += 4) neighbors.push(rd32(b, i));
  return {
    mask: rd32(b, o),
    helloInterval: rd16(b, o + 4),
    options: b[o + 6]!,
    priority: b[o + 7]!,
    deadInterval: rd32(b, o + 8),
    dr: rd32(b, o + 12),
    bdr: rd32(b, o + 16),
    neighbors,
  };
}

/** Writes a Hello body at b[off+24]; returns the packet length. */
export function encodeHello(b: Uint8Array, off: number, h: Hello): number {
  const o = off + HEADER_LENGTH;
  wr32(b, o, h.mask);
  wr16(b, o + 4, h.helloInterval);
  b[o + 6] = h.options;
  b[o + 7] = h.priority;
  wr32(b, o + 8, h.deadInterval);
  wr32(b, o + 12, h.dr);
  wr32(b, o + 16, h.bdr);
  for (const [i, n] of h.neighbors.entries()) wr32(b, o + 20 + 4 * i, n);
  return HEADER_LENGTH + 20 + 4 * h.neighbors.length;
}

export interface Dd {
  mtu: number;
  options: number;
  flags: number;
  seq: number;
  headers: LsaHeader[];
}

export function decodeDd(b: Uint8Array, off: number, length: number): Dd | DropReason {
  const o = off + HEADER_LENGTH;
  const n = length - HEADER_LENGTH;
  if (n < 8 || (n - 8) % LSA_HEADER_LENGTH !== 0) return 'bad_length';
  const headers: LsaHeader[] = [];
  for (let i = o + 8; i < off + length; i += LSA_HEADER_LENGTH) headers.push(decodeLsaHeader(b, i));
  return { mtu: rd16(b, o), options: b[o + 2]!, flags: b[o + 3]!, seq: rd32(b, o + 4), headers };
}

/** Writes a DD body's fixed part; the headers follow at off+32. Returns the fixed length (32). */
export function encodeDdFixed(
  b: Uint8Array,
  off: number,
  mtu: number,
  options: number,
  flags: number,
  seq: number,
): number {
  const o = off + HEADER_LENGTH;
  wr16(b, o, mtu);
  b[o + 2] = options;
  b[o + 3] = flags;
  wr32(b, o + 4, seq);
  return HEADER_LENGTH + 8;
}

export interface LsrEntry {
  type: number;
  id: number;
  adv: number;
}

/** An LSR's entries; OSPFv3's (`hl` 16) have 16 reserved bits before a 16-bit type. */
export function decodeLsr(
  b: Uint8Array,
  off: number,
  length: number,
  hl = HEADER_LENGTH,
): LsrEntry[] | DropReason {
  const n = length - hl;
  if (n % 12 !== 0) return 'bad_length';
  const out: LsrEntry[] = [];
  const typeMask = hl === HEADER_LENGTH ? 0xffffffff : 0xffff;
  for (let i = off + hl; i < off + length; i += 12)
    out.push({ type: (rd32(b, i) & typeMask) >>> 0, id: rd32(b, i + 4), adv: rd32(b, i + 8) });
  return out;
}

export function encodeLsrEntry(b: Uint8Array, o: number, e: LsrEntry): void {
  wr32(b, o, e.type);
  wr32(b, o + 4, e.id);
  wr32(b, o + 8, e.adv);
}

/** The LSAs of an LSU as [offset, length] pairs into b, each checked (checkLsa), or a drop reason. */
export function decodeLsu(
  b: Uint8Array,
  off: number,
  length: number,
  v3 = false,
): { lsas: [number, number][] } | DropReason {
  const hl = v3 ? HEADER6_LENGTH : HEADER_LENGTH;
  if (length - hl < 4) return 'bad_length';
  const count = rd32(b, off + hl);
  const end = off + length;
  let o = off + hl + 4;
  const lsas: [number, number][] = [];
  for (let i = 0; i < count; i++) {
    const r = checkLsa(b, o, end - o, v3);
    if (typeof r === 'string') return r;
    lsas.push([o, r]);
    o += r;
  }
  if (o !== end) return 'bad_length';
  return { lsas };
}

export function decodeLsAck(
  b: Uint8Array,
  off: number,
  length: number,
  v3 = false,
): LsaHeader[] | DropReason {
  const hl = v3 ? HEADER6_LENGTH : HEADER_LENGTH;
  const n = length - hl;
  if (n % LSA_HEADER_LENGTH !== 0) return 'bad_length';
  const out: LsaHeader[] = [];
  for (let i = off + hl; i < off + length; i += LSA_HEADER_LENGTH) out.push(decodeLsaHeader(b, i, v3));
  return out;
}

// ---- OSPFv3 (RFC 5340 §A.3) --------------------------------------------------------------------
// The 16-byte header has no authentication and its checksum is IPv6's, over the pseudo-header: the
// raw socket fills and checks it (IPV6_CHECKSUM at offset 12), so the codec leaves it at zero.

/** Checks an OSPFv3 header: version, type, length, instance id. */
export function decodeHeader6(
  b: Uint8Array,
  off: number,
  len: number,
  instanceId: number,
): PacketHeader | DropReason {
  if (len < HEADER6_LENGTH) return 'bad_length';
  if (b[off] !== OSPF6_VERSION) return 'bad_version';
  const type = b[off + 1]!;
  if (type < PT_HELLO || type > PT_LSACK) return 'bad_type';
  const length = rd16(b, off + 2);
  if (length < HEADER6_LENGTH || length > len) return 'bad_length';
  if (b[off + 14] !== instanceId) return 'bad_instance';
  return { type, length, routerId: rd32(b, off + 4), areaId: rd32(b, off + 8), autype: 0, cryptoSeq: 0 };
}

/** Writes an OSPFv3 header before a body at b[off+16, off+length); the checksum is the socket's. */
export function finishPacket6(
  b: Uint8Array,
  off: number,
  type: number,
  length: number,
  routerId: number,
  areaId: number,
  instanceId: number,
): number {
  b[off] = OSPF6_VERSION;
  b[off + 1] = type;
  wr16(b, off + 2, length);
  wr32(b, off + 4, routerId);
  wr32(b, off + 8, areaId);
  wr16(b, off + 12, 0);
  b[off + 14] = instanceId;
  b[off + 15] = 0;
  return length;
}

export function decodeHello6(b: Uint8Array, off: number, length: number): Hello | DropReason {
  const o = off + HEADER6_LENGTH;
  const n = length - HEADER6_LENGTH;
  if (n < 20 || (n - 20) % 4 !== 0) return 'bad_length';
  const neighbors: number[] = [];
  for (let i = o + 20; i < off + length; i += 4) neighbors.push(rd32(b, i));
  return {
    mask: 0,
    ifaceId: rd32(b, o),
    priority: b[o + 4]!,
    options: (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!,
    helloInterval: rd16(b, o + 8),
    deadInterval: rd16(b, o + 10),
    dr: rd32(b, o + 12),
    bdr: rd32(b, o + 16),
    neighbors,
  };
}

export function encodeHello6(b: Uint8Array, off: number, h: Hello): number {
  const o = off + HEADER6_LENGTH;
  wr32(b, o, h.ifaceId ?? 0);
  b[o + 4] = h.priority;
  b[o + 5] = (h.options >>> 16) & 255;
  b[o + 6] = (h.options >>> 8) & 255;
  b[o + 7] = h.options & 255;
  wr16(b, o + 8, h.helloInterval);
  wr16(b, o + 10, h.deadInterval);
  wr32(b, o + 12, h.dr);
  wr32(b, o + 16, h.bdr);
  for (const [i, n] of h.neighbors.entries()) wr32(b, o + 20 + 4 * i, n);
  return HEADER6_LENGTH + 20 + 4 * h.neighbors.length;
}

export function decodeDd6(b: Uint8Array, off: number, length: number): Dd | DropReason {
  const o = off + HEADER6_LENGTH;
  const n = length - HEADER6_LENGTH;
  if (n < 12 || (n - 12) % LSA_HEADER_LENGTH !== 0) return 'bad_length';
  const headers: LsaHeader[] = [];
  for (let i = o + 12; i < off + length; i += LSA_HEADER_LENGTH) headers.push(decodeLsaHeader(b, i, true));
  return {
    mtu: rd16(b, o + 4),
    options: (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!,
    flags: b[o + 7]!,
    seq: rd32(b, o + 8),
    headers,
  };
}

/** Writes an OSPFv3 DD body's fixed part; the headers follow at off+28, the flags are at off+23. */
export function encodeDdFixed6(
  b: Uint8Array,
  off: number,
  mtu: number,
  options: number,
  flags: number,
  seq: number,
): number {
  const o = off + HEADER6_LENGTH;
  b[o] = 0;
  b[o + 1] = (options >>> 16) & 255;
  b[o + 2] = (options >>> 8) & 255;
  b[o + 3] = options & 255;
  wr16(b, o + 4, mtu);
  b[o + 6] = 0;
  b[o + 7] = flags;
  wr32(b, o + 8, seq);
  return HEADER6_LENGTH + 12;
}

export { PT_DD, PT_HELLO, PT_LSACK, PT_LSR, PT_LSU };
