// What differs between RIPv2 over IPv4 and RIPng over IPv6, behind one shape, so that one engine
// runs both: the address type, the port and group, the codec, and how the socket is opened.
import { formatIpv4, formatIpv6, isLinkLocalIpv6, isUnspecifiedIpv6 } from '@nexthop/addr';
import {
  encodeRip2,
  encodeRipng,
  parseRip2,
  parseRipng,
  RIP_GROUP,
  RIP_PORT,
  RIPNG_GROUP,
  RIPNG_PORT,
  type RipEntry,
  type RipKey,
  type RipParse,
  rip2EntriesPerMessage,
  ripngEntriesPerMessage,
} from './codec.ts';

export interface RipFamily<A> {
  readonly family: 4 | 6;
  readonly protocol: 'ripv2' | 'ripng';
  readonly port: number;
  readonly group: A;
  readonly zero: A;
  key(network: A, length: number): string;
  format(a: A): string;
  equal(a: A, b: A): boolean;
  isZero(a: A): boolean;
  copy(a: A): A;
  parse(buf: Uint8Array, off: number, len: number, keys: readonly RipKey[]): RipParse<A>;
  encode(
    command: number,
    entries: readonly RipEntry<A>[],
    auth: { key: RipKey; sequence: number } | null,
    wholeTable?: boolean,
  ): Uint8Array;
  entriesPerMessage(authenticated: boolean, mtu: number): number;
  /** Whether `a` lies in `network/length`. */
  contains(network: A, length: number, a: A): boolean;
}

export const IPV4_FAMILY: RipFamily<number> = {
  family: 4,
  protocol: 'ripv2',
  port: RIP_PORT,
  group: RIP_GROUP,
  zero: 0,
  key: (n, l) => `${formatIpv4(n)}/${l}`,
  format: formatIpv4,
  equal: (a, b) => a === b,
  isZero: (a) => a === 0,
  copy: (a) => a,
  parse: parseRip2,
  encode: encodeRip2,
  entriesPerMessage: (authenticated) => rip2EntriesPerMessage(authenticated),
  contains: (n, l, a) => l === 0 || ((a ^ n) & (0xffffffff << (32 - l))) === 0,
};

function equal16(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

export const IPV6_FAMILY: RipFamily<Uint8Array> = {
  family: 6,
  protocol: 'ripng',
  port: RIPNG_PORT,
  group: RIPNG_GROUP,
  zero: new Uint8Array(16),
  key: (n, l) => `${formatIpv6(n)}/${l}`,
  format: (a) => formatIpv6(a),
  equal: equal16,
  isZero: (a) => isUnspecifiedIpv6(a),
  copy: (a) => a.slice(),
  parse: (buf, off, len) => parseRipng(buf, off, len),
  encode: (command, entries, _auth, wholeTable) => encodeRipng(command, entries, wholeTable),
  entriesPerMessage: (_authenticated, mtu) => ripngEntriesPerMessage(mtu),
  contains: (n, l, a) => {
    for (let i = 0; i < 16; i++) {
      const bits = Math.min(8, Math.max(0, l - 8 * i));
      if (bits === 0) return true;
      const mask = (0xff << (8 - bits)) & 0xff;
      if (((n[i]! ^ a[i]!) & mask) !== 0) return false;
    }
    return true;
  },
};

export { isLinkLocalIpv6 };
