// OSPFv3 LSA bodies (RFC 5340 §A.4): Router, Network, Inter-Area-Prefix, Inter-Area-Router,
// AS-External, Link and Intra-Area-Prefix, and the prefixes they carry (§A.4.1). The header is
// OSPFv2's with a 16-bit type (lsa.ts, `v3`); the Fletcher checksum is the same. Types this router
// does not know are kept and flooded by their scope bits, their bodies opaque.
import { rd16, rd32, wr16, wr32 } from './bytes.ts';
import {
  LSA_HEADER_LENGTH,
  LSA6_EXTERNAL,
  LSA6_INTER_PREFIX,
  LSA6_INTER_ROUTER,
  LSA6_INTRA_PREFIX,
  LSA6_LINK,
  LSA6_NETWORK,
  LSA6_ROUTER,
} from './constants.ts';

/** One prefix of an OSPFv3 LSA: the address (16 bytes, bits past the length zero). */
export interface Prefix6 {
  readonly length: number;
  readonly options: number;
  /** Intra-Area-Prefix: the metric; Link and others: 0 (or what the 16 bits carried). */
  readonly metric: number;
  readonly address: Uint8Array;
}

export interface Router6Link {
  readonly type: number;
  readonly metric: number;
  readonly ifaceId: number;
  readonly nbrIfaceId: number;
  readonly nbrRouterId: number;
}
export interface Router6Body {
  readonly kind: 'router6';
  readonly flags: number;
  readonly options: number;
  readonly links: readonly Router6Link[];
}
export interface Network6Body {
  readonly kind: 'network6';
  readonly options: number;
  readonly routers: readonly number[];
}
export interface InterPrefixBody {
  readonly kind: 'inter-prefix';
  readonly metric: number;
  readonly prefix: Prefix6;
}
export interface InterRouterBody {
  readonly kind: 'inter-router';
  readonly options: number;
  readonly metric: number;
  readonly router: number;
}
export interface External6Body {
  readonly kind: 'external6';
  readonly e2: boolean;
  readonly metric: number;
  readonly prefix: Prefix6;
  readonly forward: Uint8Array | null;
  readonly tag: number;
}
export interface LinkBody {
  readonly kind: 'link';
  readonly priority: number;
  readonly options: number;
  readonly linkLocal: Uint8Array;
  readonly prefixes: readonly Prefix6[];
}
export interface IntraPrefixBody {
  readonly kind: 'intra-prefix';
  readonly refType: number;
  readonly refId: number;
  readonly refAdv: number;
  readonly prefixes: readonly Prefix6[];
}
export interface Unknown6Body {
  readonly kind: 'unknown6';
}
export type LsaBody6 =
  | Router6Body
  | Network6Body
  | InterPrefixBody
  | InterRouterBody
  | External6Body
  | LinkBody
  | IntraPrefixBody
  | Unknown6Body;

/** The bytes a prefix of `length` bits takes (whole 32-bit words, §A.4.1). */
export function prefixBytes(length: number): number {
  return ((length + 31) >>> 5) * 4;
}

function rd24(b: Uint8Array, o: number): number {
  return (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
}
function wr24(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 16) & 255;
  b[o + 1] = (v >>> 8) & 255;
  b[o + 2] = v & 255;
}

export { rd24, wr24 };

/** A prefix at b[o, end): [the prefix, its end] or null. */
function readPrefix(b: Uint8Array, o: number, end: number): [Prefix6, number] | null {
  if (end - o < 4) return null;
  const length = b[o]!;
  if (length > 128) return null;
  const n = prefixBytes(length);
  if (end - o - 4 < n) return null;
  const address = new Uint8Array(16);
  address.set(b.subarray(o + 4, o + 4 + n));
  maskInPlace(address, length);
  return [{ length, options: b[o + 1]!, metric: rd16(b, o + 2), address }, o + 4 + n];
}

/** Zeroes the bits of a past `length`. */
export function maskInPlace(a: Uint8Array, length: number): Uint8Array {
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, length - 8 * i));
    a[i] = a[i]! & ((0xff00 >> keep) & 0xff);
  }
  return a;
}

function writePrefix(b: Uint8Array, o: number, p: Prefix6): number {
  b[o] = p.length;
  b[o + 1] = p.options;
  wr16(b, o + 2, p.metric);
  const n = prefixBytes(p.length);
  b.set(maskInPlace(p.address.slice(0, 16), p.length).subarray(0, n), o + 4);
  return o + 4 + n;
}

function prefixesLength(list: readonly Prefix6[]): number {
  let n = 0;
  for (const p of list) n += 4 + prefixBytes(p.length);
  return n;
}

/** The body of an OSPFv3 LSA at b[off+20, off+len), or null when it is malformed. */
export function decodeBody6(b: Uint8Array, off: number, len: number): LsaBody6 | null {
  const type = rd16(b, off + 2);
  let o = off + LSA_HEADER_LENGTH;
  const end = off + len;
  switch (type) {
    case LSA6_ROUTER: {
      if (end - o < 4 || (end - o - 4) % 16 !== 0) return null;
      const flags = b[o]!;
      const options = rd24(b, o + 1);
      const links: Router6Link[] = [];
      for (o += 4; o < end; o += 16)
        links.push({
          type: b[o]!,
          metric: rd16(b, o + 2),
          ifaceId: rd32(b, o + 4),
          nbrIfaceId: rd32(b, o + 8),
          nbrRouterId: rd32(b, o + 12),
        });
      return { kind: 'router6', flags, options, links };
    }
    case LSA6_NETWORK: {
      if (end - o < 8 || (end - o) % 4 !== 0) return null;
      const options = rd24(b, o + 1);
      const routers: number[] = [];
      for (o += 4; o < end; o += 4) routers.push(rd32(b, o));
      return { kind: 'network6', options, routers };
    }
    case LSA6_INTER_PREFIX: {
      if (end - o < 8) return null;
      const metric = rd24(b, o + 1);
      const p = readPrefix(b, o + 4, end);
      if (p === null) return null;
      return { kind: 'inter-prefix', metric, prefix: p[0] };
    }
    case LSA6_INTER_ROUTER: {
      if (end - o < 12) return null;
      return {
        kind: 'inter-router',
        options: rd24(b, o + 1),
        metric: rd24(b, o + 5),
        router: rd32(b, o + 8),
      };
    }
    case LSA6_EXTERNAL:
    case 0x2007: {
      if (end - o < 8) return null;
      const flags = b[o]!;
      const metric = rd24(b, o + 1);
      const refType = rd16(b, o + 6);
      const p = readPrefix(b, o + 4, end);
      if (p === null) return null;
      o = p[1];
      let forward: Uint8Array | null = null;
      if (flags & 0x02) {
        if (end - o < 16) return null;
        forward = b.slice(o, o + 16);
        o += 16;
      }
      let tag = 0;
      if (flags & 0x01) {
        if (end - o < 4) return null;
        tag = rd32(b, o);
        o += 4;
      }
      if (refType !== 0) {
        if (end - o < 4) return null;
        o += 4;
      }
      return {
        kind: 'external6',
        e2: (flags & 0x04) !== 0,
        metric,
        prefix: { ...p[0], metric: 0 },
        forward,
        tag,
      };
    }
    case LSA6_LINK: {
      if (end - o < 24) return null;
      const priority = b[o]!;
      const options = rd24(b, o + 1);
      const linkLocal = b.slice(o + 4, o + 20);
      const count = rd32(b, o + 20);
      o += 24;
      const prefixes: Prefix6[] = [];
      for (let i = 0; i < count; i++) {
        const p = readPrefix(b, o, end);
        if (p === null) return null;
        prefixes.push({ ...p[0], metric: 0 });
        o = p[1];
      }
      return { kind: 'link', priority, options, linkLocal, prefixes };
    }
    case LSA6_INTRA_PREFIX: {
      if (end - o < 12) return null;
      const count = rd16(b, o);
      const refType = rd16(b, o + 2);
      const refId = rd32(b, o + 4);
      const refAdv = rd32(b, o + 8);
      o += 12;
      const prefixes: Prefix6[] = [];
      for (let i = 0; i < count; i++) {
        const p = readPrefix(b, o, end);
        if (p === null) return null;
        prefixes.push(p[0]);
        o = p[1];
      }
      return { kind: 'intra-prefix', refType, refId, refAdv, prefixes };
    }
    default:
      return { kind: 'unknown6' };
  }
}

/** Whether an OSPFv3 LSA's body is well formed (any type: unknown ones are opaque). */
export function checkBody6(b: Uint8Array, off: number, len: number): boolean {
  return decodeBody6(b, off, len) !== null;
}

export function encodeRouter6Body(flags: number, options: number, links: readonly Router6Link[]): Uint8Array {
  const b = new Uint8Array(4 + 16 * links.length);
  b[0] = flags;
  wr24(b, 1, options);
  for (const [i, l] of links.entries()) {
    const o = 4 + 16 * i;
    b[o] = l.type;
    wr16(b, o + 2, l.metric);
    wr32(b, o + 4, l.ifaceId);
    wr32(b, o + 8, l.nbrIfaceId);
    wr32(b, o + 12, l.nbrRouterId);
  }
  return b;
}

export function encodeNetwork6Body(options: number, routers: readonly number[]): Uint8Array {
  const b = new Uint8Array(4 + 4 * routers.length);
  wr24(b, 1, options);
  for (const [i, r] of routers.entries()) wr32(b, 4 + 4 * i, r);
  return b;
}

export function encodeLinkBody(
  priority: number,
  options: number,
  linkLocal: Uint8Array,
  prefixes: readonly Prefix6[],
): Uint8Array {
  const b = new Uint8Array(24 + prefixesLength(prefixes));
  b[0] = priority;
  wr24(b, 1, options);
  b.set(linkLocal.subarray(0, 16), 4);
  wr32(b, 20, prefixes.length);
  let o = 24;
  for (const p of prefixes) o = writePrefix(b, o, { ...p, metric: 0 });
  return b;
}

export function encodeIntraPrefixBody(
  refType: number,
  refId: number,
  refAdv: number,
  prefixes: readonly Prefix6[],
): Uint8Array {
  const b = new Uint8Array(12 + prefixesLength(prefixes));
  wr16(b, 0, prefixes.length);
  wr16(b, 2, refType);
  wr32(b, 4, refId);
  wr32(b, 8, refAdv);
  let o = 12;
  for (const p of prefixes) o = writePrefix(b, o, p);
  return b;
}

export function encodeInterPrefixBody(metric: number, prefix: Prefix6): Uint8Array {
  const b = new Uint8Array(4 + 4 + prefixBytes(prefix.length));
  wr24(b, 1, metric);
  writePrefix(b, 4, { ...prefix, metric: 0 });
  return b;
}

export function encodeInterRouterBody(options: number, metric: number, router: number): Uint8Array {
  const b = new Uint8Array(12);
  wr24(b, 1, options);
  wr24(b, 5, metric);
  wr32(b, 8, router);
  return b;
}

export function encodeExternal6Body(e2: boolean, metric: number, prefix: Prefix6, tag: number): Uint8Array {
  const b = new Uint8Array(4 + 4 + prefixBytes(prefix.length) + (tag !== 0 ? 4 : 0));
  b[0] = (e2 ? 0x04 : 0) | (tag !== 0 ? 0x01 : 0);
  wr24(b, 1, metric);
  const o = writePrefix(b, 4, { ...prefix, metric: 0 });
  if (tag !== 0) wr32(b, o, tag);
  return b;
}
