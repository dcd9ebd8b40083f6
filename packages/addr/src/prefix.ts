import { formatIpv4, ipv4Mask, tryParseIpv4 } from './ipv4.ts';

export interface Ipv4Prefix {
  /** Network address with host bits zero. */
  readonly network: number;
  readonly length: number;
}

/**
 * Parses `a.b.c.d/len`. With `allowHostBits` (interface addresses such as 10.1.0.1/24) the
 * address part is returned unmasked in `address`; otherwise host bits must be zero.
 */
export function tryParsePrefix(
  text: string,
  allowHostBits = false,
): { prefix: Ipv4Prefix; address: number } | string {
  const slash = text.indexOf('/');
  if (slash < 0) return `'${text}' has no prefix length (expected a.b.c.d/len)`;
  const address = tryParseIpv4(text.slice(0, slash));
  if (address === undefined) return `'${text.slice(0, slash)}' is not an IPv4 address`;
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,2}$/.test(lenText) || Number(lenText) > 32) return `'${lenText}' is not a prefix length 0..32`;
  const length = Number(lenText);
  const network = (address & ipv4Mask(length)) >>> 0;
  if (!allowHostBits && network !== address) {
    return `'${text}' has host bits set (did you mean ${formatIpv4(network)}/${length}?)`;
  }
  return { prefix: { network, length }, address };
}

export function parsePrefix(text: string): Ipv4Prefix {
  const r = tryParsePrefix(text);
  if (typeof r === 'string') throw new RangeError(r);
  return r.prefix;
}

export function formatPrefix(p: Ipv4Prefix): string {
  return `${formatIpv4(p.network)}/${p.length}`;
}

export function prefixContains(p: Ipv4Prefix, addr: number): boolean {
  return (addr & ipv4Mask(p.length)) >>> 0 === p.network;
}
