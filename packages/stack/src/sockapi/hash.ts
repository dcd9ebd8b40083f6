// HalfSipHash-2-4 over 32-bit words: the keyed hash behind ISNs (RFC 6528 §3) and SYN cookies.
// Module-level state keeps it free of allocation.

let v0 = 0;
let v1 = 0;
let v2 = 0;
let v3 = 0;

function rotl(x: number, b: number): number {
  return (x << b) | (x >>> (32 - b));
}

function round(): void {
  v0 = (v0 + v1) | 0;
  v1 = rotl(v1, 5) ^ v0;
  v0 = rotl(v0, 16);
  v2 = (v2 + v3) | 0;
  v3 = rotl(v3, 8) ^ v2;
  v0 = (v0 + v3) | 0;
  v3 = rotl(v3, 7) ^ v0;
  v2 = (v2 + v1) | 0;
  v1 = rotl(v1, 13) ^ v2;
  v2 = rotl(v2, 16);
}

function word(m: number): void {
  v3 ^= m;
  round();
  round();
  v0 ^= m;
}

/** Keyed hash of four 32-bit words; returns an unsigned 32-bit value. */
export function hash4(k0: number, k1: number, a: number, b: number, c: number, d: number): number {
  v0 = k0 | 0;
  v1 = k1 | 0;
  v2 = 0x6c796765 ^ k0;
  v3 = 0x74656462 ^ k1;
  word(a | 0);
  word(b | 0);
  word(c | 0);
  word(d | 0);
  const fin = 16 << 24;
  v3 ^= fin;
  round();
  round();
  v0 ^= fin;
  v2 ^= 0xff;
  round();
  round();
  round();
  round();
  return (v1 ^ v3) >>> 0;
}
