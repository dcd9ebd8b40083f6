// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).

/**
 * Adds the 16-bit big-endian words of buf[off, off+len) to `acc` without folding. An odd trailing
 * byte is padded with zero. Stays exact in a double for any realistic packet size.
 */
export function sumWords(buf: Uint8Array, off: number, len: number, acc: number): number {
  const end = off + (len & ~1);
  let sum = acc;
  for (let i = off; i < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if ((len & 1) === 1) sum += buf[off + len - 1]! << 8;
  return sum;
}

/** Folds a word sum to 16 bits with end-around carry. */
export function foldSum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

/** The checksum field value for the bytes (with the field itself zeroed or included for verification). */
export function internetChecksum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  return ~foldSum(sumWords(buf, off, len, initial)) & 0xffff;
}

/** Word sum of the IPv4 pseudo header for UDP and TCP (RFC 768, RFC 9293 §3.1). */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/**
 * Word sum of the IPv6 pseudo header for upper-layer checksums (RFC 8200 §8.1): source address,
 * destination address (the final one when a Routing header is present), the 32-bit upper-layer
 * packet length and the next header value in a zero-padded 32-bit word. Not folded.
 *
 * Family-neutral use: with `length` 0 this and `pseudoHeaderSum(src, dst, protocol, 0)` are the
 * partial sums the *Pseudo codecs (decodeUdpPseudo, decodeTcpPseudo, decodeIcmpv6, ...) take; they
 * add the length they know themselves (a one's complement sum is linear).
 */
export function pseudoHeaderSumIpv6(
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  nextHeader: number,
  length: number,
): number {
  let sum = nextHeader + (length >>> 16) + (length & 0xffff);
  for (let i = 0; i < 16; i += 2) {
    sum += (src[srcOff + i]! << 8) | src[srcOff + i + 1]!;
    sum += (dst[dstOff + i]! << 8) | dst[dstOff + i + 1]!;
  }
  return sum;
}

/**
 * RFC 1624 eqn. 3: the new checksum after one 16-bit word of the covered data changes from
 * oldWord to newWord: HC' = ~(~HC + ~m + m').
 */
export function checksumAdjust(checksum: number, oldWord: number, newWord: number): number {
  const sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + newWord;
  return ~foldSum(sum) & 0xffff;
}
