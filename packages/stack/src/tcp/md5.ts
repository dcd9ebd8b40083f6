// MD5 (RFC 1321), for the TCP MD5 signature option (RFC 2385) only: the stack is sans-IO and cannot
// use node:crypto. Incremental over (buffer, offset, length) pieces, so that a segment is hashed
// where it lies (pseudo-header, header, data, key) without being copied together, and allocation-free
// after construction: one Md5 per engine, reset per segment. MD5 is broken as a general hash; RFC
// 2385 keyed with a shared secret is what BGP peers (FRR, BIRD, Linux's TCP_MD5SIG) still speak.

/** RFC 1321 §3.4: T[i] = floor(2^32 · |sin(i + 1)|), as int32. */
const T = new Int32Array(64);
for (let i = 0; i < 64; i++) T[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 4294967296) | 0;

/** The rotations of RFC 1321 §3.4: four per round, repeated over its 16 steps (S[4 · round + i % 4]). */
const S = Uint8Array.of(7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21);

/** An MD5 computation: reset(), update() with the pieces in order, digest(). */
export class Md5 {
  /** The state A, B, C, D (RFC 1321 §3.3). */
  private readonly h = new Int32Array(4);
  /** The 16 little-endian words of the block being processed. */
  private readonly x = new Int32Array(16);
  /** Bytes of an incomplete block, waiting for the next update. */
  private readonly pending = new Uint8Array(64);
  private pendingLength = 0;
  /** Bytes hashed so far (a double: exact far beyond any segment). */
  private total = 0;

  constructor() {
    this.reset();
  }

  reset(): void {
    const h = this.h;
    h[0] = 0x67452301;
    h[1] = 0xefcdab89 | 0;
    h[2] = 0x98badcfe | 0;
    h[3] = 0x10325476;
    this.pendingLength = 0;
    this.total = 0;
  }

  /** Hashes buf[off, off + len). */
  update(buf: Uint8Array, off: number, len: number): void {
    this.total += len;
    let i = off;
    const end = off + len;
    const p = this.pending;
    if (this.pendingLength > 0) {
      while (this.pendingLength < 64 && i < end) p[this.pendingLength++] = buf[i++]!;
      if (this.pendingLength < 64) return;
      this.block(p, 0);
      this.pendingLength = 0;
    }
    while (end - i >= 64) {
      this.block(buf, i);
      i += 64;
    }
    while (i < end) p[this.pendingLength++] = buf[i++]!;
  }

  /** Hashes `n` zero bytes (the checksum field RFC 2385 §2.0 takes as zero). */
  updateZeros(n: number): void {
    const p = this.pending;
    for (let k = 0; k < n; k++) {
      p[this.pendingLength++] = 0;
      if (this.pendingLength === 64) {
        this.block(p, 0);
        this.pendingLength = 0;
      }
    }
    this.total += n;
  }

  /** Ends the computation (RFC 1321 §3.1-3.2 padding and length) and writes the 16 bytes at out[at]. */
  digest(out: Uint8Array, at: number): void {
    const bits = this.total * 8;
    const p = this.pending;
    let n = this.pendingLength;
    p[n++] = 0x80;
    if (n > 56) {
      while (n < 64) p[n++] = 0;
      this.block(p, 0);
      n = 0;
    }
    while (n < 56) p[n++] = 0;
    // The length in bits, 64-bit little-endian.
    const lo = bits >>> 0;
    const hi = Math.floor(bits / 4294967296) >>> 0;
    for (let k = 0; k < 4; k++) {
      p[56 + k] = (lo >>> (8 * k)) & 0xff;
      p[60 + k] = (hi >>> (8 * k)) & 0xff;
    }
    this.block(p, 0);
    const h = this.h;
    for (let w = 0; w < 4; w++) {
      const v = h[w]!;
      out[at + 4 * w] = v & 0xff;
      out[at + 4 * w + 1] = (v >>> 8) & 0xff;
      out[at + 4 * w + 2] = (v >>> 16) & 0xff;
      out[at + 4 * w + 3] = (v >>> 24) & 0xff;
    }
    this.reset();
  }

  /** RFC 1321 §3.4: one 64-byte block at buf[off]. */
  private block(buf: Uint8Array, off: number): void {
    const x = this.x;
    for (let w = 0; w < 16; w++) {
      const o = off + 4 * w;
      x[w] = buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24);
    }
    const h = this.h;
    let a = h[0]!;
    let b = h[1]!;
    let c = h[2]!;
    let d = h[3]!;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const t = (a + f + T[i]! + x[g]!) | 0;
      const s = S[((i >>> 4) << 2) | (i & 3)]!;
      a = d;
      d = c;
      c = b;
      b = (b + ((t << s) | (t >>> (32 - s)))) | 0;
    }
    h[0] = (h[0]! + a) | 0;
    h[1] = (h[1]! + b) | 0;
    h[2] = (h[2]! + c) | 0;
    h[3] = (h[3]! + d) | 0;
  }
}
