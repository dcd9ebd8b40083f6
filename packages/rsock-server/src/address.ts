// Where the protocol's endpoints (docs/remote-socket-protocol.md §13.2) meet the stack's addresses.
// The stack's sockets are IPv4 only for now: an address there is a u32 and a port. Everything that
// knows that lives in this file, so that the day the stack takes family-neutral addresses (IPv6
// sockets) only these functions change: which families SOCKET may create, and the two conversions.
import { AF_INET, AF_INET6, type Endpoint, setEndpoint4 } from '@nexthop/rsock-proto';
import { errno, type SockAddr } from '@nexthop/stack';

const { EAFNOSUPPORT } = errno;

/**
 * 0 when a SOCKET of `family` can be created on a connection of protocol `version`, else the errno
 * (EAFNOSUPPORT, with why). AF_INET6 needs version 2 (§13.4) and a stack with IPv6 sockets; the
 * stack has none yet, so it is refused as Linux refuses it with IPv6 disabled.
 */
export function socketFamilyRefusal(family: number, version: number): { errno: number; why: string } | null {
  if (family === AF_INET) return null;
  if (family === AF_INET6)
    return {
      errno: EAFNOSUPPORT,
      why:
        version < 2
          ? 'AF_INET6 needs protocol version 2'
          : 'the VR has no IPv6 sockets yet (AF_INET6 is not supported)',
    };
  return { errno: EAFNOSUPPORT, why: 'only AF_INET and AF_INET6' };
}

/**
 * The stack's address of `ep` for a socket of `family`: fills `out` and returns 0, or returns the
 * positive errno of a call given an endpoint the socket cannot use (EAFNOSUPPORT, §13.3). AF_UNSPEC
 * is the caller's business (its meaning depends on the call). Allocates nothing (datagram path).
 */
export function stackAddressOf(ep: Endpoint, family: number, out: SockAddr): number {
  if (family !== AF_INET || ep.family !== AF_INET) return EAFNOSUPPORT;
  out.addr = ep.addr;
  out.port = ep.port;
  return 0;
}

/**
 * The endpoint of the stack's (addr, port) on a socket of `family`, into `out`: what GETSOCKNAME,
 * GETPEERNAME, ACCEPT_OK and received datagrams carry. Allocates nothing (datagram path).
 */
export function endpointOf(addr: number, port: number, _family: number, out: Endpoint): void {
  setEndpoint4(out, addr, port);
}
