import { type RouteSpec, StackRoutes } from '../routes.ts';

/**
 * The stack's IPv6 routes: `StackRoutes` over the RIB's IPv6 table (../routes.ts has the rules).
 * Connected routes are the prefixes of global addresses and local /128s the addresses themselves
 * (ipv6/control.ts adds them); a link-local gateway (RFC 4291 §2.5.6: meaningful on one link only)
 * needs its interface, and is on that link. fe80::/64 is on-link on every interface but is no
 * route: link-local destinations are never forwarded, and the VR's own link-local traffic names
 * its interface.
 */
export type Route6Spec = RouteSpec<Uint8Array>;

export class RouteTable6 extends StackRoutes<Uint8Array> {}

export function sameGateway(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}
