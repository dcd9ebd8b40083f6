import { formatIpv4, formatIpv6 } from '@nexthop/addr';

/**
 * What the RIB needs of an address family, so one implementation serves IPv4 (addresses as
 * unsigned 32-bit numbers) and IPv6 (16-byte arrays), as the TCP engine's `TcpAddressFamily` does.
 * Prefix keys are what the per-length maps are keyed by: small integers where possible, since V8
 * keeps those unboxed.
 */
export interface Family<A> {
  readonly version: 4 | 6;
  readonly bits: number;
  /** Map key of `addr` masked to `length` (host bits need not be zero). */
  key(addr: A, length: number): number | string;
  /** A private copy of addr masked to length, in the form the RIB stores. */
  masked(addr: A, length: number): A;
  /**
   * addr masked to length in the form a prefix's record keeps it: IPv4 as int32 (a small integer to
   * V8, where an unsigned address of 128.0.0.0 or more is a heap number), IPv6 as `masked`.
   * Everything here takes either form; `fromRecord` gives back the usual one.
   */
  toRecord(addr: A, length: number): A;
  fromRecord(network: A): A;
  /** Whether addr has no bits set past length. */
  isMasked(addr: A, length: number): boolean;
  /** Bit i (0 = most significant) of addr. */
  bit(addr: A, i: number): number;
  contains(network: A, length: number, addr: A): boolean;
  equal(a: A, b: A): boolean;
  /** Total order, for deterministic tie-breaks and listings. */
  compare(a: A, b: A): number;
  format(addr: A): string;
  /** Link-local (IPv6 fe80::/10): meaningful on one link only, so it needs its interface. */
  isLinkLocal(addr: A): boolean;
  isValid(addr: unknown): addr is A;
}

function mask4(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

export const IPV4: Family<number> = {
  version: 4,
  bits: 32,
  key: (addr, length) => (addr & mask4(length)) | 0,
  masked: (addr, length) => (addr & mask4(length)) >>> 0,
  toRecord: (addr, length) => addr & mask4(length),
  fromRecord: (network) => network >>> 0,
  isMasked: (addr, length) => (addr & ~mask4(length)) === 0,
  bit: (addr, i) => (addr >>> (31 - i)) & 1,
  contains: (network, length, addr) => ((addr ^ network) & mask4(length)) === 0,
  equal: (a, b) => a >>> 0 === b >>> 0,
  compare: (a, b) => (a >>> 0) - (b >>> 0),
  format: (addr) => formatIpv4(addr >>> 0),
  isLinkLocal: () => false,
  isValid: (addr): addr is number =>
    typeof addr === 'number' && Number.isInteger(addr) && addr >= 0 && addr <= 0xffffffff,
};

function word6(a: Uint8Array, i: number): number {
  return ((a[4 * i]! << 24) | (a[4 * i + 1]! << 16) | (a[4 * i + 2]! << 8) | a[4 * i + 3]!) >>> 0;
}

/** Word i of a masked to length, unsigned. */
function maskedWord6(a: Uint8Array, i: number, length: number): number {
  const keep = Math.max(0, Math.min(32, length - 32 * i));
  return (word6(a, i) & mask4(keep)) >>> 0;
}

export const IPV6: Family<Uint8Array> = {
  version: 6,
  bits: 128,
  key(addr, length) {
    // Up to /53 the masked prefix fits a double exactly (53 bits of mantissa), which covers the whole
    // RIS table (nothing longer than /48): a number key, no string per prefix.
    if (length <= 32) return maskedWord6(addr, 0, length) | 0;
    if (length <= 53) return maskedWord6(addr, 0, length) * 2097152 + (maskedWord6(addr, 1, length) >>> 11);
    return `${maskedWord6(addr, 0, length)}:${maskedWord6(addr, 1, length)}:${maskedWord6(addr, 2, length)}:${maskedWord6(addr, 3, length)}`;
  },
  masked(addr, length) {
    const out = new Uint8Array(16);
    for (let i = 0; i < 16; i++) {
      const keep = Math.max(0, Math.min(8, length - 8 * i));
      out[i] = addr[i]! & ((0xff00 >> keep) & 0xff);
    }
    return out;
  },
  toRecord(addr, length) {
    return this.masked(addr, length);
  },
  fromRecord: (network) => network,
  isMasked(addr, length) {
    for (let i = 0; i < 16; i++) {
      const keep = Math.max(0, Math.min(8, length - 8 * i));
      if ((addr[i]! & ~(0xff00 >> keep) & 0xff) !== 0) return false;
    }
    return true;
  },
  bit: (addr, i) => (addr[i >> 3]! >> (7 - (i & 7))) & 1,
  contains(network, length, addr) {
    for (let i = 0; i < 4 && 32 * i < length; i++) {
      if (maskedWord6(network, i, length) !== maskedWord6(addr, i, length)) return false;
    }
    return true;
  },
  equal(a, b) {
    for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
    return true;
  },
  compare(a, b) {
    for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return 0;
  },
  format: (addr) => formatIpv6(addr),
  isLinkLocal: (addr) => addr[0] === 0xfe && (addr[1]! & 0xc0) === 0x80,
  isValid: (addr): addr is Uint8Array => addr instanceof Uint8Array && addr.length === 16,
};
