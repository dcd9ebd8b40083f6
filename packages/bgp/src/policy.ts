// What the BGP engine hands out (received routes, to a RouteSink such as the RIB) and the policy
// hooks it consults. The policy language of issue 11 will compile to these functions.

import type { PathAttributes } from './attributes.ts';

/** A route as a policy sees it. `network` is a number (IPv4) or 16 octets (IPv6). */
export interface PolicyRoute {
  readonly afi: 1 | 2;
  readonly network: number | Uint8Array;
  readonly length: number;
  readonly attrs: PathAttributes;
  /** The peer the route comes from (import) or goes to (export). */
  readonly peer: string;
}

/**
 * A policy: the attributes to use (the same object, or a changed copy), or null to reject.
 * RFC 8212: an eBGP session without an import (export) policy imports (exports) nothing; accepting
 * everything must be said, with ACCEPT_ALL.
 */
export type Policy = (route: PolicyRoute) => PathAttributes | null;

export const ACCEPT_ALL: Policy = (r) => r.attrs;
export const REJECT_ALL: Policy = () => null;

/** A route the engine imports: the next hop to forward to and the attributes it was accepted with. */
export interface ImportedRoute<A> {
  readonly nextHop: A;
  readonly attrs: PathAttributes;
  /** The peer is internal (the RIB gives iBGP its own distance). */
  readonly ibgp: boolean;
}

/**
 * Where imported routes go: the RIB through a small adapter (`source` is the peer's name; one RIB
 * source per peer). `route` null withdraws. `withdrawAll` is a session going down.
 */
export interface RouteSink {
  update4(
    source: string,
    network: number,
    length: number,
    route: ImportedRoute<number> | null,
    now: number,
  ): void;
  update6(
    source: string,
    network: Uint8Array,
    length: number,
    route: ImportedRoute<Uint8Array> | null,
    now: number,
  ): void;
  withdrawAll(source: string, now: number): void;
}
