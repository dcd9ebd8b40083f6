// LSAs (RFC 2328 §12, §A.4): the 20-byte header, the bodies of types 1 to 5, the Fletcher checksum
// (§12.1.7, RFC 905 Annex B) and which of two instances is more recent (§13.1). An LSA is kept as
// the bytes it came in (or was built) as, with its header fields decoded; its body is decoded when
// SPF first needs it.

import { rd16, rd32, wr16, wr32 } from './bytes.ts';
import {
  LINK_P2P,
  LINK_VIRTUAL,
  LSA_EXTERNAL,
  LSA_HEADER_LENGTH,
  LSA_NETWORK,
  LSA_ROUTER,
  LSA_SUMMARY_ASBR,
  LSA_SUMMARY_NET,
  MAX_AGE,
  MAX_AGE_DIFF,
} from './constants.ts';
import { checkBody6, decodeBody6, type LsaBody6 } from './lsa6.ts';

export { rd16, rd32, wr16, wr32 };

/**
 * The Fletcher checksum of an LSA at buf[off, off+len) (RFC 2328 §12.1.7): over everything but the
 * age (the first two bytes), the checksum field at LSA offset 16. Returns the 16-bit value to store
 * there (the field is zeroed while computing); RFC 905 Annex B.
 */
export function lsaChecksum(buf: Uint8Array, off: number, len: number): number {
  const save0 = buf[off + 16]!;
  const save1 = buf[off + 17]!;
  buf[off + 16] = 0;
  buf[off + 17] = 0;
  let c0 = 0;
  let c1 = 0;
  const start = off + 2;
  const end = off + len;
  for (let i = start; i < end; i++) {
    c0 += buf[i]!;
    if (c0 >= 255) c0 -= 255;
    c1 += c0;
    if (c1 >= 255) c1 -= 255;
  }
  buf[off + 16] = save0;
  buf[off + 17] = save1;
  // The checksum's position in the checksummed data (which starts after the age) is 14.
  const n = len - 2;
  let x = ((((n - 14 - 1) * c0 - c1) % 255) + 255) % 255;
  if (x === 0) x = 255;
  let y = 510 - c0 - x;
  if (y > 255) y -= 255;
  return (x << 8) | y;
}

/** Whether the LSA's stored Fletcher checksum is right (both sums come to zero, RFC 905). */
export function lsaChecksumOk(buf: Uint8Array, off: number, len: number): boolean {
  let c0 = 0;
  let c1 = 0;
  for (let i = off + 2; i < off + len; i++) {
    c0 = (c0 + buf[i]!) % 255;
    c1 = (c1 + c0) % 255;
  }
  return c0 === 0 && c1 === 0 && (buf[off + 16] !== 0 || buf[off + 17] !== 0);
}

export interface RouterLink {
  readonly id: number;
  readonly data: number;
  readonly type: number;
  readonly metric: number;
}
export interface RouterBody {
  readonly kind: 'router';
  readonly flags: number;
  readonly links: readonly RouterLink[];
}
export interface NetworkBody {
  readonly kind: 'network';
  readonly mask: number;
  readonly routers: readonly number[];
}
export interface SummaryBody {
  readonly kind: 'summary';
  readonly mask: number;
  readonly metric: number;
}
export interface ExternalBody {
  readonly kind: 'external';
  readonly mask: number;
  /** Type 2 metric (the E bit). */
  readonly e2: boolean;
  readonly metric: number;
  readonly forward: number;
  readonly tag: number;
}
export type LsaBody = RouterBody | NetworkBody | SummaryBody | ExternalBody | LsaBody6;

/** The key of an LSA in its database: (type, Link State ID, Advertising Router). */
export function lsaKey(type: number, id: number, adv: number): string {
  return `${type}:${id >>> 0}:${adv >>> 0}`;
}

/** One LSA instance. */
export class Lsa {
  readonly type: number;
  readonly id: number;
  readonly adv: number;
  readonly options: number;
  /** Signed 32-bit (RFC 2328 §12.1.6). */
  readonly seq: number;
  readonly checksum: number;
  readonly length: number;
  /** The whole LSA; its age field is rewritten on the way out. */
  readonly bytes: Uint8Array;
  /** Age (s) at `at` (ms, the engine's clock). */
  age0: number;
  at: number;
  private parsed: LsaBody | null | undefined = undefined;

  /** OSPFv3 (RFC 5340 §A.4.2): the type is 16 bits and the options live in the body. */
  readonly v3: boolean;

  constructor(bytes: Uint8Array, age: number, at: number, v3 = false) {
    this.bytes = bytes;
    this.v3 = v3;
    this.options = v3 ? 0 : bytes[2]!;
    this.type = v3 ? rd16(bytes, 2) : bytes[3]!;
    this.id = rd32(bytes, 4);
    this.adv = rd32(bytes, 8);
    this.seq = rd32(bytes, 12) | 0;
    this.checksum = rd16(bytes, 16);
    this.length = rd16(bytes, 18);
    this.age0 = Math.min(age, MAX_AGE);
    this.at = at;
  }

  get key(): string {
    return lsaKey(this.type, this.id, this.adv);
  }

  /** The age now, in seconds, at most MaxAge. */
  age(now: number): number {
    if (this.age0 >= MAX_AGE) return MAX_AGE;
    return Math.min(MAX_AGE, this.age0 + Math.floor((now - this.at) / 1000));
  }

  /** The body, decoded once; null when it is malformed (checked at receipt, so never for a stored one). */
  body(): LsaBody | null {
    if (this.parsed === undefined)
      this.parsed = this.v3
        ? decodeBody6(this.bytes, 0, this.length)
        : decodeBody(this.bytes, 0, this.length);
    return this.parsed;
  }

  /** Writes the header (age as of now plus `delay` seconds, RFC 2328 §13.3 InfTransDelay) at buf[off]. */
  writeHeader(buf: Uint8Array, off: number, now: number, delay = 0): void {
    buf.set(this.bytes.subarray(0, LSA_HEADER_LENGTH), off);
    wr16(buf, off, Math.min(MAX_AGE, this.age(now) + delay));
  }

  /** Writes the whole LSA with its age as of now plus `delay`. */
  write(buf: Uint8Array, off: number, now: number, delay = 0): void {
    buf.set(this.bytes, off);
    wr16(buf, off, Math.min(MAX_AGE, this.age(now) + delay));
  }
}

/** An LSA header as a DD, LSAck or the front of an LSU carries it. */
export interface LsaHeader {
  age: number;
  options: number;
  type: number;
  id: number;
  adv: number;
  seq: number;
  checksum: number;
  length: number;
}

export function decodeLsaHeader(b: Uint8Array, o: number, v3 = false): LsaHeader {
  return {
    age: rd16(b, o),
    options: v3 ? 0 : b[o + 2]!,
    type: v3 ? rd16(b, o + 2) : b[o + 3]!,
    id: rd32(b, o + 4),
    adv: rd32(b, o + 8),
    seq: rd32(b, o + 12) | 0,
    checksum: rd16(b, o + 16),
    length: rd16(b, o + 18),
  };
}

/** Whether the LSA type is one this router knows (1 to 5). */
export function knownLsaType(type: number): boolean {
  return type >= LSA_ROUTER && type <= LSA_EXTERNAL;
}

/** A type's body at b[off+20, off+len), or null when it is malformed. */
export function decodeBody(b: Uint8Array, off: number, len: number): LsaBody | null {
  const type = b[off + 3]!;
  let o = off + LSA_HEADER_LENGTH;
  const end = off + len;
  switch (type) {
    case LSA_ROUTER: {
      if (end - o < 4) return null;
      const flags = b[o]!;
      const count = rd16(b, o + 2);
      o += 4;
      const links: RouterLink[] = [];
      for (let i = 0; i < count; i++) {
        if (end - o < 12) return null;
        const tos = b[o + 9]!;
        const linkType = b[o + 8]!;
        if (linkType < LINK_P2P || linkType > LINK_VIRTUAL) return null;
        links.push({ id: rd32(b, o), data: rd32(b, o + 4), type: linkType, metric: rd16(b, o + 10) });
        o += 12 + 4 * tos;
      }
      if (o !== end) return null;
      return { kind: 'router', flags, links };
    }
    case LSA_NETWORK: {
      if (end - o < 8 || (end - o) % 4 !== 0) return null;
      const mask = rd32(b, o);
      const routers: number[] = [];
      for (o += 4; o < end; o += 4) routers.push(rd32(b, o));
      return { kind: 'network', mask, routers };
    }
    case LSA_SUMMARY_NET:
    case LSA_SUMMARY_ASBR: {
      if (end - o < 8 || (end - o) % 4 !== 0) return null;
      return { kind: 'summary', mask: rd32(b, o), metric: rd32(b, o + 4) & 0xffffff };
    }
    case LSA_EXTERNAL: {
      if (end - o < 16 || (end - o - 4) % 12 !== 0) return null;
      return {
        kind: 'external',
        mask: rd32(b, o),
        e2: (b[o + 4]! & 0x80) !== 0,
        metric: rd32(b, o + 4) & 0xffffff,
        forward: rd32(b, o + 8),
        tag: rd32(b, o + 12),
      };
    }
    default:
      return null;
  }
}

/**
 * Checks one LSA in a received LSU at b[off, off+avail): the length field, the type, the checksum
 * and the body. Returns the LSA length or a drop reason.
 */
export function checkLsa(
  b: Uint8Array,
  off: number,
  avail: number,
  v3 = false,
): number | 'lsa_length' | 'lsa_type' | 'lsa_checksum' | 'lsa_body' {
  if (avail < LSA_HEADER_LENGTH) return 'lsa_length';
  const len = rd16(b, off + 18);
  if (len < LSA_HEADER_LENGTH || len > avail || len % 4 !== 0) return 'lsa_length';
  if (!v3 && !knownLsaType(b[off + 3]!)) return 'lsa_type';
  if (!lsaChecksumOk(b, off, len)) return 'lsa_checksum';
  if (v3 ? !checkBody6(b, off, len) : decodeBody(b, off, len) === null) return 'lsa_body';
  return len;
}

/**
 * Which instance is more recent (RFC 2328 §13.1): > 0 when a is, < 0 when b is, 0 when they are the
 * same instance.
 */
export function compareInstances(
  aSeq: number,
  aChecksum: number,
  aAge: number,
  bSeq: number,
  bChecksum: number,
  bAge: number,
): number {
  if (aSeq !== bSeq) return aSeq > bSeq ? 1 : -1;
  if (aChecksum !== bChecksum) return aChecksum > bChecksum ? 1 : -1;
  const aMax = aAge >= MAX_AGE;
  const bMax = bAge >= MAX_AGE;
  if (aMax !== bMax) return aMax ? 1 : -1;
  if (Math.abs(aAge - bAge) > MAX_AGE_DIFF) return aAge < bAge ? 1 : -1;
  return 0;
}

/** Builds an LSA (age 0) with its checksum from a body; options, type and keys given. */
export function buildLsa(
  type: number,
  id: number,
  adv: number,
  seq: number,
  options: number,
  body: Uint8Array,
  v3 = false,
): Uint8Array {
  const len = LSA_HEADER_LENGTH + body.length;
  const b = new Uint8Array(len);
  if (v3) wr16(b, 2, type);
  else {
    b[2] = options;
    b[3] = type;
  }
  wr32(b, 4, id);
  wr32(b, 8, adv);
  wr32(b, 12, seq);
  wr16(b, 18, len);
  b.set(body, LSA_HEADER_LENGTH);
  wr16(b, 16, lsaChecksum(b, 0, len));
  return b;
}

export function encodeRouterBody(flags: number, links: readonly RouterLink[]): Uint8Array {
  const b = new Uint8Array(4 + 12 * links.length);
  b[0] = flags;
  wr16(b, 2, links.length);
  links.forEach((l, i) => {
    const o = 4 + 12 * i;
    wr32(b, o, l.id);
    wr32(b, o + 4, l.data);
    b[o + 8] = l.type;
    wr16(b, o + 10, l.metric);
  });
  return b;
}

export function encodeNetworkBody(mask: number, routers: readonly number[]): Uint8Array {
  const b = new Uint8Array(4 + 4 * routers.length);
  wr32(b, 0, mask);
  for (const [i, r] of routers.entries()) wr32(b, 4 + 4 * i, r);
  return b;
}

export function encodeSummaryBody(mask: number, metric: number): Uint8Array {
  const b = new Uint8Array(8);
  wr32(b, 0, mask);
  wr32(b, 4, metric & 0xffffff);
  return b;
}

export function encodeExternalBody(
  mask: number,
  e2: boolean,
  metric: number,
  forward: number,
  tag: number,
): Uint8Array {
  const b = new Uint8Array(16);
  wr32(b, 0, mask);
  wr32(b, 4, (metric & 0xffffff) | (e2 ? 0x80000000 : 0));
  wr32(b, 8, forward);
  wr32(b, 12, tag);
  return b;
}
