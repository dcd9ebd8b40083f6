import { formatIpv6, IPV6_ADDR_LEN, tryParseIpv6 } from './ipv6.ts';

export interface Ipv6Prefix {
  /** Network address (16 bytes) with host bits zero. */
  readonly network: Uint8Array;
  readonly length: number;
}

/** Clears the bits of addr[off, off+16) beyond the first `length` (in place). */
export function maskIpv6(addr: Uint8Array, off: number, length: number): void {
  for (let i = 0; i < IPV6_ADDR_LEN; i++) {
    const keep = length - 8 * i;
    if (keep >= 8) continue;
    addr[off + i] = keep <= 0 ? 0 : addr[off + i]! & ((0xff << (8 - keep)) & 0xff);
  }
}

/**
 * Parses `addr/len` (RFC 4291 §2.3). With `allowHostBits` (interface addresses such as
 * 2001:db8::1/64) the address part is returned unmasked in `address`; otherwise host bits must
 * be zero, as for IPv4 prefixes.
 */
export function tryParseIpv6Prefix(
  text: string,
  allowHostBits = false,
): { prefix: Ipv6Prefix; address: Uint8Array } | string {
  const slash = text.indexOf('/');
  if (slash < 0) return `'${text}' has no prefix length (expected ipv6-address/len)`;
  const address = tryParseIpv6(text.slice(0, slash));
  if (address === undefined) return `'${text.slice(0, slash)}' is not an IPv6 address`;
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > 128)
    return `'${lenText}' is not a prefix length 0..128`;
  const length = Number(lenText);
  const network = address.slice();
  maskIpv6(network, 0, length);
  if (!allowHostBits) {
    for (let i = 0; i < IPV6_ADDR_LEN; i++) {
      if (network[i] !== address[i]) {
        return `'${text}' has host bits set (did you mean ${formatIpv6(network)}/${length}?)`;
      }
    }
  }
  return { prefix: { network, length }, address };
}

export function parseIpv6Prefix(text: string): Ipv6Prefix {
  const r = tryParseIpv6Prefix(text);
  if (typeof r === 'string') throw new RangeError(r);
  return r.prefix;
}

export function formatIpv6Prefix(p: Ipv6Prefix): string {
  return `${formatIpv6(p.network)}/${p.length}`;
}

/** True when the address at buf[off, off+16) lies in the prefix. */
export function ipv6PrefixContains(p: Ipv6Prefix, buf: Uint8Array, off = 0): boolean {
  const whole = p.length >>> 3;
  for (let i = 0; i < whole; i++) if (buf[off + i] !== p.network[i]) return false;
  const rest = p.length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (buf[off + whole]! & mask) === p.network[whole];
}
