// Version-2 endpoints (docs/remote-socket-protocol.md §13.2): the fields of a sockaddr_in or a
// sockaddr_in6 (RFC 3493 §3.3), in one fixed 28-byte form. Decoding fills a caller-owned Endpoint
// and allocates nothing, so the datagram path can use it per packet.
import { AF_INET, AF_INET6, AF_UNSPEC, ENDPOINT_LENGTH, FLOWINFO_MASK } from './constants.ts';

/**
 * One shape for every family (monomorphic on the hot path). The fields a family does not use are 0
 * (`addr6` all zero bytes): decode produces that, encode requires it, so equal endpoints are equal
 * objects field by field.
 */
export interface Endpoint {
  /** AF_UNSPEC (0: no endpoint, every field 0), AF_INET (2) or AF_INET6 (10). */
  family: number;
  /** Host value (sin_port / sin6_port after ntohs). */
  port: number;
  /** AF_INET: the address as a u32 of a.b.c.d read big-endian (10.2.0.1 is 0x0a020001). */
  addr: number;
  /** AF_INET6: the 16 address bytes in network order. Always a 16-byte array of its own. */
  addr6: Uint8Array;
  /** AF_INET6: ntohl(sin6_flowinfo): traffic class (bits 20–27) and flow label (bits 0–19). */
  flowinfo: number;
  /** AF_INET6: sin6_scope_id, an interface index of the VR (link-local and multicast scopes). */
  scopeId: number;
}

/** An AF_UNSPEC endpoint, to be filled by decodeEndpoint or the set* functions. */
export function newEndpoint(): Endpoint {
  return { family: AF_UNSPEC, port: 0, addr: 0, addr6: new Uint8Array(16), flowinfo: 0, scopeId: 0 };
}

export function endpoint4(addr: number, port: number): Endpoint {
  const ep = newEndpoint();
  setEndpoint4(ep, addr, port);
  return ep;
}

/** Copies the 16 bytes of `addr6` at `off`. */
export function endpoint6(addr6: Uint8Array, port: number, flowinfo = 0, scopeId = 0, off = 0): Endpoint {
  const ep = newEndpoint();
  setEndpoint6(ep, addr6, off, port, flowinfo, scopeId);
  return ep;
}

export function clearEndpoint(ep: Endpoint): void {
  ep.family = AF_UNSPEC;
  ep.port = 0;
  ep.addr = 0;
  ep.addr6.fill(0);
  ep.flowinfo = 0;
  ep.scopeId = 0;
}

export function setEndpoint4(ep: Endpoint, addr: number, port: number): void {
  clearEndpoint(ep);
  ep.family = AF_INET;
  ep.addr = addr;
  ep.port = port;
}

export function setEndpoint6(
  ep: Endpoint,
  addr6: Uint8Array,
  off: number,
  port: number,
  flowinfo: number,
  scopeId: number,
): void {
  ep.family = AF_INET6;
  ep.port = port;
  ep.addr = 0;
  for (let i = 0; i < 16; i++) ep.addr6[i] = addr6[off + i]!;
  ep.flowinfo = flowinfo;
  ep.scopeId = scopeId;
}

export function copyEndpoint(to: Endpoint, from: Endpoint): void {
  to.family = from.family;
  to.port = from.port;
  to.addr = from.addr;
  to.addr6.set(from.addr6);
  to.flowinfo = from.flowinfo;
  to.scopeId = from.scopeId;
}

/** Why 28 bytes are not an endpoint. */
export const ENDPOINT_FAMILY = -1;
export const ENDPOINT_RESERVED = -2;

function zero(b: Uint8Array, o: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (b[o + i] !== 0) return false;
  return true;
}

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/**
 * Reads the endpoint at `buf[at, at + 28)` into `out`: 0, or ENDPOINT_FAMILY (a family other than
 * 0, 2, 10) or ENDPOINT_RESERVED (a field the family does not use is not zero, or flowinfo has bits
 * 28–31). `out` is written only on success.
 */
export function decodeEndpoint(buf: Uint8Array, at: number, out: Endpoint): number {
  if (at < 0 || at + ENDPOINT_LENGTH > buf.length) throw new RangeError('decodeEndpoint: outside the buffer');
  const family = buf[at]! | (buf[at + 1]! << 8);
  const port = buf[at + 2]! | (buf[at + 3]! << 8);
  const flowinfo = u32(buf, at + 4);
  const scopeId = u32(buf, at + 24);
  switch (family) {
    case AF_UNSPEC:
      if (!zero(buf, at + 2, ENDPOINT_LENGTH - 2)) return ENDPOINT_RESERVED;
      clearEndpoint(out);
      return 0;
    case AF_INET:
      if (flowinfo !== 0 || scopeId !== 0 || !zero(buf, at + 12, 12)) return ENDPOINT_RESERVED;
      out.family = AF_INET;
      out.port = port;
      out.addr = ((buf[at + 8]! << 24) | (buf[at + 9]! << 16) | (buf[at + 10]! << 8) | buf[at + 11]!) >>> 0;
      out.addr6.fill(0);
      out.flowinfo = 0;
      out.scopeId = 0;
      return 0;
    case AF_INET6:
      if ((flowinfo & ~FLOWINFO_MASK) !== 0) return ENDPOINT_RESERVED;
      setEndpoint6(out, buf, at + 8, port, flowinfo, scopeId);
      return 0;
    default:
      return ENDPOINT_FAMILY;
  }
}

function checkInt(v: number, max: number, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`endpoint: ${field} ${v} out of range`);
}

/**
 * Throws RangeError unless the wire can carry `ep` canonically: a known family, fields in range, and
 * the fields the family does not use zero.
 */
export function checkEndpoint(ep: Endpoint): void {
  if (ep.addr6.length !== 16) throw new RangeError('endpoint: addr6 is not 16 bytes');
  checkInt(ep.port, 0xffff, 'port');
  checkInt(ep.addr, 0xffffffff, 'addr');
  checkInt(ep.flowinfo, FLOWINFO_MASK, 'flowinfo');
  checkInt(ep.scopeId, 0xffffffff, 'scopeId');
  const f = ep.family;
  if (f !== AF_UNSPEC && f !== AF_INET && f !== AF_INET6)
    throw new RangeError(`endpoint: family ${f} is not AF_UNSPEC, AF_INET or AF_INET6`);
  if (f !== AF_INET6 && (ep.flowinfo !== 0 || ep.scopeId !== 0 || !zero(ep.addr6, 0, 16)))
    throw new RangeError(`endpoint: family ${f} with IPv6 fields set`);
  if (f !== AF_INET && ep.addr !== 0) throw new RangeError(`endpoint: family ${f} with an IPv4 addr`);
  if (f === AF_UNSPEC && ep.port !== 0) throw new RangeError('endpoint: AF_UNSPEC with a port');
}

/** Writes `ep` at `buf[at, at + 28)`; what checkEndpoint refuses is a RangeError. */
export function encodeEndpoint(ep: Endpoint, buf: Uint8Array, at: number): void {
  if (at < 0 || at + ENDPOINT_LENGTH > buf.length) throw new RangeError('encodeEndpoint: buffer too small');
  checkEndpoint(ep);
  const f = ep.family;
  buf[at] = f;
  buf[at + 1] = 0;
  buf[at + 2] = ep.port & 0xff;
  buf[at + 3] = ep.port >>> 8;
  buf[at + 4] = ep.flowinfo & 0xff;
  buf[at + 5] = (ep.flowinfo >>> 8) & 0xff;
  buf[at + 6] = (ep.flowinfo >>> 16) & 0xff;
  buf[at + 7] = ep.flowinfo >>> 24;
  if (f === AF_INET) {
    buf[at + 8] = ep.addr >>> 24;
    buf[at + 9] = (ep.addr >>> 16) & 0xff;
    buf[at + 10] = (ep.addr >>> 8) & 0xff;
    buf[at + 11] = ep.addr & 0xff;
    buf.fill(0, at + 12, at + 24);
  } else buf.set(ep.addr6, at + 8);
  buf[at + 24] = ep.scopeId & 0xff;
  buf[at + 25] = (ep.scopeId >>> 8) & 0xff;
  buf[at + 26] = (ep.scopeId >>> 16) & 0xff;
  buf[at + 27] = ep.scopeId >>> 24;
}

function ip4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/**
 * RFC 5952 §4 text of 16 address bytes (lowercase, no leading zeros, the first longest run of two
 * or more zero groups as `::`), IPv4-mapped addresses with a dotted quad (§5). The C codec prints
 * the same; the tests hold it to @nexthop/addr's formatIpv6.
 */
export function formatAddr6(b: Uint8Array, off = 0): string {
  if (zero(b, off, 10) && b[off + 10] === 0xff && b[off + 11] === 0xff) {
    return `::ffff:${b[off + 12]}.${b[off + 13]}.${b[off + 14]}.${b[off + 15]}`;
  }
  let best = -1;
  let bestLen = 1;
  let run = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && b[off + 2 * i] === 0 && b[off + 2 * i + 1] === 0) {
      if (run < 0) run = i;
    } else if (run >= 0) {
      if (i - run > bestLen) {
        best = run;
        bestLen = i - run;
      }
      run = -1;
    }
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s.length > 0 && !s.endsWith(':')) s += ':';
    s += ((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!).toString(16);
  }
  return s;
}

/**
 * The endpoint as the description lines print it (§11, §13.9): `a.b.c.d:port`,
 * `[addr6%scope]:port,flowinfo=n` (`%scope` and `,flowinfo=n` only when not 0), `unspec`.
 */
export function describeEndpoint(ep: Endpoint): string {
  if (ep.family === AF_INET) return `${ip4(ep.addr)}:${ep.port}`;
  if (ep.family === AF_INET6) {
    const scope = ep.scopeId !== 0 ? `%${ep.scopeId}` : '';
    const flow = ep.flowinfo !== 0 ? `,flowinfo=${ep.flowinfo}` : '';
    return `[${formatAddr6(ep.addr6)}${scope}]:${ep.port}${flow}`;
  }
  if (ep.family === AF_UNSPEC) return 'unspec';
  return `family${ep.family}`;
}
