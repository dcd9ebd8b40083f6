// Addresses as Node programs write them (text) and as the protocol carries them (Endpoint, §13.2),
// and the SOCKET request whose family follows from the address. IPv6 needs protocol version 2: on a
// session that speaks version 1 an AF_INET6 socket is EAFNOSUPPORT here, as Linux answers with IPv6
// disabled; on version 2 the VR decides (it answers EAFNOSUPPORT while its stack has no IPv6 sockets).
import { formatIpv4, formatIpv6, tryParseIpv4, tryParseIpv6 } from '@nexthop/addr';
import { AF_INET, AF_INET6, type Endpoint, endpoint4, endpoint6 } from '@nexthop/rsock-proto';
import { errnoError } from './errors.ts';
import type { Reply, Session } from './session.ts';

const EAFNOSUPPORT = 97;

export type FamilyName = 'IPv4' | 'IPv6';

/**
 * The endpoint of an IPv4 (dotted quad) or IPv6 (RFC 4291 text, with an optional numeric `%scope`,
 * the VR's interface index) address and a port. Names are not resolved: TypeError.
 */
export function parseEndpoint(text: string, port: number, what: string): Endpoint {
  const a4 = tryParseIpv4(text);
  if (a4 !== undefined) return endpoint4(a4, port);
  const pct = text.indexOf('%');
  const scope = pct < 0 ? '' : text.slice(pct + 1);
  const a6 = tryParseIpv6(pct < 0 ? text : text.slice(0, pct));
  if (a6 !== undefined && (pct < 0 || /^\d{1,10}$/.test(scope)) && Number(scope) <= 0xffffffff)
    return endpoint6(a6, port, 0, pct < 0 ? 0 : Number(scope));
  throw new TypeError(`${what}: '${text}' is not an IPv4 or IPv6 address`);
}

/** The any address of `family`, with `port`. */
export function anyEndpoint(family: number, port: number): Endpoint {
  return family === AF_INET6 ? endpoint6(new Uint8Array(16), port) : endpoint4(0, port);
}

export function familyName(family: number): FamilyName {
  return family === AF_INET6 ? 'IPv6' : 'IPv4';
}

/** An endpoint as node:net and node:dgram report addresses. */
export function addressOf(ep: Endpoint): { address: string; family: FamilyName; port: number } {
  if (ep.family === AF_INET6) {
    const scope = ep.scopeId !== 0 ? `%${ep.scopeId}` : '';
    return { address: `${formatIpv6(ep.addr6)}${scope}`, family: 'IPv6', port: ep.port };
  }
  return { address: formatIpv4(ep.addr), family: 'IPv4', port: ep.port };
}

/**
 * SOCKET of `family` and `type` on the session: its reply (SOCKET_OK with the descriptor, or the
 * ERROR). AF_INET6 on a version-1 session is EAFNOSUPPORT without asking (§13.10).
 */
export async function openSocket(session: Session, family: number, type: number): Promise<Reply> {
  const version = await session.ready();
  if (family === AF_INET6 && version < 2)
    throw errnoError(
      EAFNOSUPPORT,
      'socket',
      `VR ${session.vr} speaks remote socket protocol version ${version}: IPv4 only`,
    );
  return session.request({
    kind: 'socket',
    family: family === AF_INET6 ? AF_INET6 : AF_INET,
    type,
    protocol: 0,
  });
}
