/**
 * 5-tuple flow hash for ECMP member selection. Every packet of one flow must take the same path
 * (RFC 2992 §2: hash-threshold and modulo-N both rely on a per-flow hash), so this is a pure
 * function of the tuple. Mixing is the murmur3 32-bit finalizer over a multiply-rotate chain, which
 * spreads small differences (adjacent ports, adjacent addresses) over all output bits.
 * Returns a signed 32-bit integer: V8 passes that around unboxed, where an unsigned value above
 * 2^31 would be a heap number allocated on every call. Consumers take it `>>> 0` before a modulo.
 */
export function flowHash(
  src: number,
  dst: number,
  protocol: number,
  srcPort: number,
  dstPort: number,
): number {
  let h = 0x9747b28c;
  h = mixIn(h, src);
  h = mixIn(h, dst);
  h = mixIn(h, ((srcPort & 0xffff) << 16) | (dstPort & 0xffff));
  h = mixIn(h, protocol & 0xff);
  h ^= 16;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

function mixIn(h: number, word: number): number {
  let k = Math.imul(word | 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * `flowHash` for IPv6: the same mixing over the two 16-byte addresses, read in place from buf
 * (in an IPv6 header the source is at offset 8 and the destination at 24), the protocol (the
 * upper-layer next header) and the ports. The flow label is left out: RFC 6438 §3 lets a router
 * use it, but a source that sets none leaves it zero, and the 5-tuple spreads flows either way.
 * Returns a signed 32-bit integer, as `flowHash` does.
 */
export function flowHash6(
  buf: Uint8Array,
  srcOff: number,
  dstOff: number,
  protocol: number,
  srcPort: number,
  dstPort: number,
): number {
  let h = 0x9747b28c;
  for (let i = 0; i < 16; i += 4) h = mixIn(h, wordAt(buf, srcOff + i));
  for (let i = 0; i < 16; i += 4) h = mixIn(h, wordAt(buf, dstOff + i));
  h = mixIn(h, ((srcPort & 0xffff) << 16) | (dstPort & 0xffff));
  h = mixIn(h, protocol & 0xff);
  h ^= 40;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

function wordAt(buf: Uint8Array, off: number): number {
  return (buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!;
}
