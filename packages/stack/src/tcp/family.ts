// The address family of a TCP engine: the one place where TCP looks inside an address. The engine,
// its connections and listeners are generic in the address type A and reach addresses only through
// this object, so the same code serves IPv4 (addresses as numbers, as the IPv4 layer hands them) and
// IPv6 (16-byte Uint8Arrays in network order). What differs between the two:
//   - the pseudo-header of the checksum (RFC 9293 §3.1; RFC 8200 §8.1),
//   - the smallest path MTU a Packet Too Big may bring us down to (RFC 791 §3.2; RFC 8201 §4),
//   - how an address enters the keyed hashes (ISN RFC 6528, TSval offset RFC 7323 §5.4, SYN cookies,
//     RFC 6056 port choice): always all of its bits,
//   - the demultiplexing key. IPv4's (remote address, remote port) fits in one exact number. An IPv6
//     remote address does not; its key is a keyed hash, so that a peer, which chooses its own
//     addresses freely within its /64 and beyond, cannot aim many connections at one chain (the
//     reason Linux keys inet6_ehashfn with a boot secret). Chains compare full addresses.
import { formatIpv4, formatIpv6 } from '@nexthop/addr';
import { IPPROTO_TCP, pseudoHeaderSum, pseudoHeaderSumIpv6, wr16, wr32 } from '@nexthop/wire';
import { hash4 } from '../sockapi/hash.ts';

/** How the TCP engine handles the addresses of one family. IPv4: numbers. IPv6: 16-byte Uint8Arrays (network order). */
export interface TcpAddressFamily<A> {
  readonly name: 'ipv4' | 'ipv6';
  /** The wildcard address (0 / ::). */
  readonly any: A;
  /**
   * The smallest MTU a path can have: a Packet Too Big (fragmentation needed) reporting less is
   * taken as this. IPv4: 68 (RFC 791 §3.2; the MSS floor of TcpConnection.pathMtu is above it
   * anyway). IPv6: 1280 (RFC 8200 §5; RFC 8201 §4: never reduce the PMTU estimate below it).
   */
  readonly minMtu: number;
  /**
   * Whether the demultiplexing key is a keyed hash (then the engine draws a table key at
   * construction) or exact (IPv4: no key, so an IPv4 engine draws the same random words as before).
   */
  readonly keyedTable: boolean;
  isAny(a: A): boolean;
  equals(a: A, b: A): boolean;
  /** A copy the caller may keep: the addresses the engine is handed on input may be reused per segment. IPv4: a itself. */
  keep(a: A): A;
  /** RFC 9293 §3.1 / RFC 8200 §8.1: the pseudo-header's addresses and protocol 6, as an unfolded ones'-complement partial sum, without the length. */
  pseudoSum(src: A, dst: A): number;
  format(a: A): string;
  /**
   * HalfSipHash-2-4 under (k0, k1) of both full addresses and two words (ports, and a word that
   * separates the uses of one key): ISN (RFC 6528 §3), TSval offset (RFC 7323 §5.4), SYN cookies.
   * IPv4: exactly hash4(k0, k1, local, remote, ports, extra), as before there was a family.
   */
  hashTuple(k0: number, k1: number, local: A, remote: A, ports: number, extra: number): number;
  /**
   * The key of (remote, remotePort) in the table of one local port, a non-negative integer. IPv4:
   * remote × 65536 + remotePort, exact (the key is unused). IPv6: HalfSipHash-1-3 under the engine's
   * table key (k0, k1), 30 bits (a small integer for the Map), so collisions happen and chains
   * compare full addresses.
   */
  tableKey(k0: number, k1: number, remote: A, remotePort: number): number;
  /**
   * A 32-bit word standing for the address in hashes that take one word per address (RFC 6056's
   * port choice, socket/ports.ts). IPv4: the address. IPv6: a keyed hash of all 128 bits.
   */
  digest(k0: number, k1: number, a: A): number;
  /**
   * RFC 2385 §2.0 (1): the pseudo-header the MD5 signature covers, written at out[0]: IPv4's 12
   * bytes (source, destination, zero, protocol, 16-bit segment length); IPv6's 40 (RFC 2460 §8.1:
   * source, destination, 32-bit length, three zero bytes and the next header, as Linux's
   * tcp_v6_md5_hash_headers). Returns the number of bytes (12 or 40).
   */
  md5Pseudo(out: Uint8Array, src: A, dst: A, tcpLen: number): number;
}

// ---------------------------------------------------------------- HalfSipHash over addresses
// The same function as sockapi/hash.ts's hash4 (HalfSipHash, 32-bit words in, a 32-bit value out),
// for messages longer than four words: an IPv6 4-tuple is ten. The state lives in locals, not in
// module variables: a module variable holding an int32 outside the small-integer range is a boxed
// number, and tableKey runs once per segment, where nothing may be allocated. The message goes
// through a module-level Int32Array (unboxed). Address words are big-endian reads; any fixed order
// would do, the output only has to be a keyed function of every bit.

const msg = new Int32Array(10);

function addressWords(a: Uint8Array, at: number): void {
  for (let i = 0; i < 4; i++) {
    const o = 4 * i;
    msg[at + i] = (a[o]! << 24) | (a[o + 1]! << 16) | (a[o + 2]! << 8) | a[o + 3]!;
  }
}

/**
 * HalfSipHash-c-d under (k0, k1) of msg[0, n) (whole words: the final block carries the length in
 * bytes and no tail). c = 2, d = 4 is the function of hash4; c = 1, d = 3 is hsiphash's.
 */
function halfSipHash(k0: number, k1: number, n: number, c: number, d: number): number {
  let v0 = k0 | 0;
  let v1 = k1 | 0;
  let v2 = 0x6c796765 ^ k0;
  let v3 = 0x74656462 ^ k1;
  for (let w = 0; w <= n; w++) {
    const m = w < n ? msg[w]! : (4 * n) << 24;
    v3 ^= m;
    for (let r = 0; r < c; r++) {
      v0 = (v0 + v1) | 0;
      v1 = ((v1 << 5) | (v1 >>> 27)) ^ v0;
      v0 = (v0 << 16) | (v0 >>> 16);
      v2 = (v2 + v3) | 0;
      v3 = ((v3 << 8) | (v3 >>> 24)) ^ v2;
      v0 = (v0 + v3) | 0;
      v3 = ((v3 << 7) | (v3 >>> 25)) ^ v0;
      v2 = (v2 + v1) | 0;
      v1 = ((v1 << 13) | (v1 >>> 19)) ^ v2;
      v2 = (v2 << 16) | (v2 >>> 16);
    }
    v0 ^= m;
  }
  v2 ^= 0xff;
  for (let r = 0; r < d; r++) {
    v0 = (v0 + v1) | 0;
    v1 = ((v1 << 5) | (v1 >>> 27)) ^ v0;
    v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0;
    v3 = ((v3 << 8) | (v3 >>> 24)) ^ v2;
    v0 = (v0 + v3) | 0;
    v3 = ((v3 << 7) | (v3 >>> 25)) ^ v0;
    v2 = (v2 + v1) | 0;
    v1 = ((v1 << 13) | (v1 >>> 19)) ^ v2;
    v2 = (v2 << 16) | (v2 >>> 16);
  }
  return (v1 ^ v3) >>> 0;
}

/** HalfSipHash-2-4 of the IPv6 4-tuple (ten words), as hash4 is of the IPv4 one. */
export function hashTuple6(
  k0: number,
  k1: number,
  local: Uint8Array,
  remote: Uint8Array,
  ports: number,
  extra: number,
): number {
  addressWords(local, 0);
  addressWords(remote, 4);
  msg[8] = ports;
  msg[9] = extra;
  return halfSipHash(k0, k1, 10, 2, 4);
}

// ---------------------------------------------------------------- the two families

export const TCP_IPV4: TcpAddressFamily<number> = {
  name: 'ipv4',
  any: 0,
  minMtu: 68,
  keyedTable: false,
  isAny: (a) => a === 0,
  equals: (a, b) => a === b,
  keep: (a) => a,
  pseudoSum: (src, dst) => pseudoHeaderSum(src, dst, IPPROTO_TCP, 0),
  format: (a) => formatIpv4(a),
  hashTuple: (k0, k1, local, remote, ports, extra) => hash4(k0, k1, local, remote, ports, extra),
  tableKey: (_k0, _k1, remote, remotePort) => remote * 65536 + remotePort,
  digest: (_k0, _k1, a) => a,
  md5Pseudo: (out, src, dst, tcpLen) => {
    wr32(out, 0, src);
    wr32(out, 4, dst);
    out[8] = 0;
    out[9] = IPPROTO_TCP;
    wr16(out, 10, tcpLen);
    return 12;
  },
};

/** ::, shared by every user of TCP_IPV6.any: compared and copied, never written. */
const ANY6 = new Uint8Array(16);

export const TCP_IPV6: TcpAddressFamily<Uint8Array> = {
  name: 'ipv6',
  any: ANY6,
  minMtu: 1280,
  keyedTable: true,
  isAny: (a) => {
    for (let i = 0; i < 16; i++) if (a[i] !== 0) return false;
    return true;
  },
  equals: (a, b) => {
    if (a === b) return true;
    // From the end: the interface identifier is where two addresses of one peer usually differ.
    for (let i = 15; i >= 0; i--) if (a[i] !== b[i]) return false;
    return true;
  },
  keep: (a) => a.slice(0, 16),
  pseudoSum: (src, dst) => pseudoHeaderSumIpv6(src, 0, dst, 0, IPPROTO_TCP, 0),
  format: (a) => formatIpv6(a, 0),
  hashTuple: hashTuple6,
  tableKey: (k0, k1, remote, remotePort) => {
    // HalfSipHash-1-3, as Linux's hsiphash for hash-table keys: this runs once per segment.
    addressWords(remote, 0);
    msg[4] = remotePort;
    return halfSipHash(k0, k1, 5, 1, 3) & 0x3fffffff;
  },
  digest: (k0, k1, a) => {
    addressWords(a, 0);
    return halfSipHash(k0, k1, 4, 2, 4);
  },
  md5Pseudo: (out, src, dst, tcpLen) => {
    for (let i = 0; i < 16; i++) {
      out[i] = src[i]!;
      out[16 + i] = dst[i]!;
    }
    wr32(out, 32, tcpLen);
    out[36] = 0;
    out[37] = 0;
    out[38] = 0;
    out[39] = IPPROTO_TCP;
    return 40;
  },
};
