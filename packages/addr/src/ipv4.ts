/** IPv4 addresses are unsigned 32-bit numbers (0..2^32-1) in host order throughout nexthop. */

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function tryParseIpv4(text: string): number | undefined {
  const m = DOTTED_QUAD.exec(text);
  if (m === null) return undefined;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!;
    // Leading zeros are rejected: inet_aton would read them as octal, which nobody means.
    if (part.length > 1 && part[0] === '0') return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function parseIpv4(text: string): number {
  const value = tryParseIpv4(text);
  if (value === undefined) throw new RangeError(`not an IPv4 address: '${text}'`);
  return value;
}

export function formatIpv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

/** Netmask of a prefix length as an unsigned 32-bit number. */
export function ipv4Mask(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}
