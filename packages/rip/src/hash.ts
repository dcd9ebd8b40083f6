// The digests RIPv2 authentication needs (RFC 2082 keyed MD5, RFC 4822 HMAC-SHA-1 and HMAC-SHA-256),
// in TypeScript because the engine is sans-IO (layer 3: no node:crypto). RIP messages are small and
// few, so these take a whole message and return a new array; the tests compare them with
// node:crypto. MD5 and SHA-1 are broken as general hashes; keyed as these RFCs do, they are what
// FRR and BIRD speak.

import { Md5 } from '@nexthop/stack';

export type HashName = 'md5' | 'sha1' | 'sha256';

/** Digest length of each hash (the RFC 4822 `L`). */
export const HASH_LENGTH: Readonly<Record<HashName, number>> = { md5: 16, sha1: 20, sha256: 32 };

/** The message padded to whole 64-byte blocks with its big-endian bit length (SHA-1, SHA-2). */
function pad(data: Uint8Array): Uint8Array {
  const n = data.length;
  const total = (((n + 8) >>> 6) + 1) << 6;
  const out = new Uint8Array(total);
  out.set(data);
  out[n] = 0x80;
  const bits = n * 8;
  const lo = bits >>> 0;
  const hi = Math.floor(bits / 4294967296) >>> 0;
  for (let k = 0; k < 4; k++) {
    out[total - 1 - k] = (lo >>> (8 * k)) & 0xff;
    out[total - 5 - k] = (hi >>> (8 * k)) & 0xff;
  }
  return out;
}

/** MD5 (RFC 1321): the stack's incremental implementation (TCP MD5 signatures), on one message. */
const md5State = new Md5();
export function md5(data: Uint8Array): Uint8Array {
  md5State.reset();
  md5State.update(data, 0, data.length);
  const out = new Uint8Array(16);
  md5State.digest(out, 0);
  return out;
}

function bigEndianWords(h: Int32Array, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let w = 0; w < bytes / 4; w++)
    for (let k = 0; k < 4; k++) out[4 * w + k] = (h[w]! >>> (24 - 8 * k)) & 0xff;
  return out;
}

/** SHA-1 (FIPS 180-4 §6.1). */
export function sha1(data: Uint8Array): Uint8Array {
  const m = pad(data);
  const h = Int32Array.of(0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0);
  const w = new Int32Array(80);
  for (let off = 0; off < m.length; off += 64) {
    for (let t = 0; t < 16; t++) {
      const o = off + 4 * t;
      w[t] = (m[o]! << 24) | (m[o + 1]! << 16) | (m[o + 2]! << 8) | m[o + 3]!;
    }
    for (let t = 16; t < 80; t++) {
      const v = w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!;
      w[t] = (v << 1) | (v >>> 31);
    }
    let a = h[0]!;
    let b = h[1]!;
    let c = h[2]!;
    let d = h[3]!;
    let e = h[4]!;
    for (let t = 0; t < 80; t++) {
      let f: number;
      let k: number;
      if (t < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (t < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (t < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc | 0;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6 | 0;
      }
      const tmp = (((a << 5) | (a >>> 27)) + f + e + k + w[t]!) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = tmp;
    }
    h[0] = (h[0]! + a) | 0;
    h[1] = (h[1]! + b) | 0;
    h[2] = (h[2]! + c) | 0;
    h[3] = (h[3]! + d) | 0;
    h[4] = (h[4]! + e) | 0;
  }
  return bigEndianWords(h, 20);
}

/** FIPS 180-4 §4.2.2. */
const SHA256_K = Int32Array.of(
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
);

function rotr(x: number, n: number): number {
  return (x >>> n) | (x << (32 - n));
}

/** SHA-256 (FIPS 180-4 §6.2). */
export function sha256(data: Uint8Array): Uint8Array {
  const m = pad(data);
  const h = Int32Array.of(
    0x6a09e667,
    0xbb67ae85,
    0x3c6ef372,
    0xa54ff53a,
    0x510e527f,
    0x9b05688c,
    0x1f83d9ab,
    0x5be0cd19,
  );
  const w = new Int32Array(64);
  for (let off = 0; off < m.length; off += 64) {
    for (let t = 0; t < 16; t++) {
      const o = off + 4 * t;
      w[t] = (m[o]! << 24) | (m[o + 1]! << 16) | (m[o + 2]! << 8) | m[o + 3]!;
    }
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15]!;
      const y = w[t - 2]!;
      const s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3);
      const s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10);
      w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) | 0;
    }
    let a = h[0]!;
    let b = h[1]!;
    let c = h[2]!;
    let d = h[3]!;
    let e = h[4]!;
    let f = h[5]!;
    let g = h[6]!;
    let hh = h[7]!;
    for (let t = 0; t < 64; t++) {
      const t1 =
        (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + SHA256_K[t]! + w[t]!) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] = (h[0]! + a) | 0;
    h[1] = (h[1]! + b) | 0;
    h[2] = (h[2]! + c) | 0;
    h[3] = (h[3]! + d) | 0;
    h[4] = (h[4]! + e) | 0;
    h[5] = (h[5]! + f) | 0;
    h[6] = (h[6]! + g) | 0;
    h[7] = (h[7]! + hh) | 0;
  }
  return bigEndianWords(h, 32);
}

export function hash(name: HashName, data: Uint8Array): Uint8Array {
  return name === 'md5' ? md5(data) : name === 'sha1' ? sha1(data) : sha256(data);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** HMAC (RFC 2104) over a 64-byte-block hash: H(K ^ opad, H(K ^ ipad, data)). */
export function hmac(name: HashName, key: Uint8Array, data: Uint8Array): Uint8Array {
  const k = new Uint8Array(64);
  k.set(key.length > 64 ? hash(name, key) : key);
  const ipad = new Uint8Array(64);
  const opad = new Uint8Array(64);
  for (let i = 0; i < 64; i++) {
    ipad[i] = k[i]! ^ 0x36;
    opad[i] = k[i]! ^ 0x5c;
  }
  return hash(name, concat(opad, hash(name, concat(ipad, data))));
}
