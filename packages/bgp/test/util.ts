// Helpers to build messages by hand, field by field, as the RFC layouts draw them.

export function hex(s: string): Uint8Array {
  const clean = s.replace(/[^0-9a-fA-F]/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export const MARKER = 'ffffffffffffffffffffffffffffffff';

/** A whole message: marker, length, type, then the body given as hex. */
export function msg(type: number, body: string): Uint8Array {
  const b = hex(body);
  const len = 19 + b.length;
  return hex(MARKER + len.toString(16).padStart(4, '0') + type.toString(16).padStart(2, '0') + toHex(b));
}

/** One path attribute: flags, type, length (1 or 2 octets by the Extended Length flag), value. */
export function attr(flags: number, type: number, value: string): string {
  const v = hex(value);
  const len = flags & 0x10 ? v.length.toString(16).padStart(4, '0') : v.length.toString(16).padStart(2, '0');
  return flags.toString(16).padStart(2, '0') + type.toString(16).padStart(2, '0') + len + toHex(v);
}

/** An UPDATE body: withdrawn routes, path attributes, NLRI (each hex). */
export function update(withdrawn: string, attrs: string, nlri: string): Uint8Array {
  const w = hex(withdrawn);
  const a = hex(attrs);
  return msg(
    2,
    w.length.toString(16).padStart(4, '0') +
      withdrawn +
      a.length.toString(16).padStart(4, '0') +
      attrs +
      nlri,
  );
}

// Common attributes of a valid eBGP UPDATE from AS 65001 (four-octet session).
export const ORIGIN_IGP = attr(0x40, 1, '00');
export const AS_PATH_65001 = attr(0x40, 2, '0201 0000fde9');
export const NEXT_HOP_10_0_0_1 = attr(0x40, 3, '0a000001');
export const BASE = ORIGIN_IGP + AS_PATH_65001 + NEXT_HOP_10_0_0_1;
/** 192.0.2.0/24 */
export const NLRI_192_0_2 = '18c00002';
