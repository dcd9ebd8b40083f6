// Lists of prefixes in typed arrays, reused from message to message: an UPDATE of 4096 bytes can
// carry over a thousand prefixes, and a full table a million, so no object per prefix. IPv4
// prefixes are (u32 network, length) and IPv6 ones (16 bytes, length), as in @nexthop/addr.

import { formatIpv4, formatIpv6 } from '@nexthop/addr';

const INITIAL = 256;

export class Ipv4PrefixList {
  count = 0;
  networks = new Uint32Array(INITIAL);
  lengths = new Uint8Array(INITIAL);

  clear(): void {
    this.count = 0;
  }

  push(network: number, length: number): void {
    if (this.count === this.networks.length) this.grow();
    this.networks[this.count] = network;
    this.lengths[this.count] = length;
    this.count++;
  }

  private grow(): void {
    const networks = new Uint32Array(this.networks.length * 2);
    networks.set(this.networks);
    const lengths = new Uint8Array(this.lengths.length * 2);
    lengths.set(this.lengths);
    this.networks = networks;
    this.lengths = lengths;
  }

  /** Text form, for tests and `show` (allocates). */
  toStrings(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.count; i++) out.push(`${formatIpv4(this.networks[i]!)}/${this.lengths[i]}`);
    return out;
  }
}

export class Ipv6PrefixList {
  count = 0;
  /** Network i is bytes[16i, 16i+16), host bits zero. */
  bytes = new Uint8Array(INITIAL * 16);
  lengths = new Uint8Array(INITIAL);

  clear(): void {
    this.count = 0;
  }

  /** Appends a prefix whose first ceil(length/8) bytes are src[off, …); the rest is zeroed and masked. */
  pushBytes(src: Uint8Array, off: number, length: number): void {
    if (this.count === this.lengths.length) this.grow();
    const base = this.count * 16;
    const whole = (length + 7) >>> 3;
    const b = this.bytes;
    for (let i = 0; i < 16; i++) b[base + i] = i < whole ? src[off + i]! : 0;
    const rest = length & 7;
    if (rest !== 0) b[base + whole - 1]! &= (0xff << (8 - rest)) & 0xff;
    this.lengths[this.count] = length;
    this.count++;
  }

  private grow(): void {
    const bytes = new Uint8Array(this.bytes.length * 2);
    bytes.set(this.bytes);
    const lengths = new Uint8Array(this.lengths.length * 2);
    lengths.set(this.lengths);
    this.bytes = bytes;
    this.lengths = lengths;
  }

  toStrings(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.count; i++) {
      out.push(`${formatIpv6(this.bytes.subarray(i * 16, i * 16 + 16))}/${this.lengths[i]}`);
    }
    return out;
  }
}

/**
 * Decodes IPv4 NLRI (RFC 4271 §4.3: a length octet and ceil(length/8) octets of prefix) from
 * buf[off, end) into `out`. Trailing bits beyond the length are ignored (masked), as §4.3 allows.
 * Returns false on a length over 32 or a prefix running past `end` (RFC 7606 §5.3).
 */
export function decodeNlri4(buf: Uint8Array, off: number, end: number, out: Ipv4PrefixList): boolean {
  let p = off;
  while (p < end) {
    const length = buf[p++]!;
    if (length > 32) return false;
    const n = (length + 7) >>> 3;
    if (p + n > end) return false;
    let network = 0;
    if (n > 0) network = buf[p]! << 24;
    if (n > 1) network |= buf[p + 1]! << 16;
    if (n > 2) network |= buf[p + 2]! << 8;
    if (n > 3) network |= buf[p + 3]!;
    // length 0 has no mask bits; `>>> 0` keeps the network unsigned.
    network = length === 0 ? 0 : (network & (0xffffffff << (32 - length))) >>> 0;
    out.push(network, length);
    p += n;
  }
  return true;
}

/** IPv6 NLRI (RFC 4760 §5, RFC 2545 §2): as decodeNlri4 with lengths up to 128. */
export function decodeNlri6(buf: Uint8Array, off: number, end: number, out: Ipv6PrefixList): boolean {
  let p = off;
  while (p < end) {
    const length = buf[p++]!;
    if (length > 128) return false;
    const n = (length + 7) >>> 3;
    if (p + n > end) return false;
    out.pushBytes(buf, p, length);
    p += n;
  }
  return true;
}

/** Bytes one IPv4 or IPv6 prefix takes in NLRI. */
export function nlriSize(length: number): number {
  return 1 + ((length + 7) >>> 3);
}

export function writeNlri4(buf: Uint8Array, off: number, network: number, length: number): number {
  buf[off] = length;
  const n = (length + 7) >>> 3;
  for (let i = 0; i < n; i++) buf[off + 1 + i] = network >>> (24 - 8 * i);
  return 1 + n;
}

export function writeNlri6(
  buf: Uint8Array,
  off: number,
  src: Uint8Array,
  srcOff: number,
  length: number,
): number {
  buf[off] = length;
  const n = (length + 7) >>> 3;
  for (let i = 0; i < n; i++) buf[off + 1 + i] = src[srcOff + i]!;
  return 1 + n;
}
