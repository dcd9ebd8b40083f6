// Where the protocol's endpoints (docs/remote-socket-protocol.md §13.2) meet the stack's addresses
// (SockAddr: a u32 for AF_INET, 16 bytes for AF_INET6). Everything that knows how the two are
// written lives here: which families SOCKET may create, the conversions, and which of the socket
// layer's calls (bind/bind6, connect/connect6) an address goes to.
import { isLinkScopedIpv6, mapIpv4ToIpv6 } from '@nexthop/addr';
import { AF_INET, AF_INET6, type Endpoint, setEndpoint4, setEndpoint6 } from '@nexthop/rsock-proto';
import { errno, type RecvMeta, type SockAddr, type SocketLayer } from '@nexthop/stack';

const { EAFNOSUPPORT } = errno;

/**
 * 0 when a SOCKET of `family` can be created on a connection of protocol `version`, else the errno
 * (EAFNOSUPPORT, with why). AF_INET6 needs version 2 (§13.4).
 */
export function socketFamilyRefusal(family: number, version: number): { errno: number; why: string } | null {
  if (family === AF_INET) return null;
  if (family === AF_INET6) {
    if (version < 2) return { errno: EAFNOSUPPORT, why: 'AF_INET6 needs protocol version 2' };
    return null;
  }
  return { errno: EAFNOSUPPORT, why: 'only AF_INET and AF_INET6' };
}

/** The socket layer's family number of a protocol family (AF_INET6: 6, else 4). */
export function stackFamily(family: number): 4 | 6 {
  return family === AF_INET6 ? 6 : 4;
}

/**
 * The stack's address of `ep` for a socket of `family`: fills `out` and returns 0, or returns the
 * positive errno of a call given an endpoint the socket cannot use (EAFNOSUPPORT, §13.3). As Linux,
 * an AF_INET6 socket takes AF_INET6 endpoints (IPv4 ones v4-mapped) and, for a datagram destination
 * (`datagram`: UDP CONNECT and sends), an AF_INET endpoint as its v4-mapped form. AF_UNSPEC is the
 * caller's business (its meaning depends on the call). Allocates nothing (datagram path).
 */
export function stackAddressOf(ep: Endpoint, family: number, out: SockAddr, datagram = false): number {
  out.scopeId = 0;
  if (datagram && family === AF_INET6 && ep.family === AF_INET) {
    out.family = 6;
    out.port = ep.port;
    mapIpv4ToIpv6(ep.addr, out.addr6);
    return 0;
  }
  if (ep.family !== family || (family !== AF_INET && family !== AF_INET6)) return EAFNOSUPPORT;
  out.family = stackFamily(family);
  out.port = ep.port;
  // sin6_scope_id is the VR's interface index + 1 (§13.2), as the socket layer takes it.
  out.scopeId = family === AF_INET6 ? ep.scopeId : 0;
  if (family === AF_INET) out.addr = ep.addr;
  else out.addr6.set(ep.addr6);
  return 0;
}

/**
 * The endpoint of the stack's address `sa` on a socket of `family`, into `out`: what GETSOCKNAME,
 * GETPEERNAME, ACCEPT_OK and received datagrams carry. Allocates nothing (datagram path).
 */
export function endpointOf(sa: SockAddr, family: number, out: Endpoint): void {
  if (family === AF_INET6) setEndpoint6(out, sa.addr6, 0, sa.port, 0, sa.scopeId);
  else setEndpoint4(out, sa.addr, sa.port);
}

/**
 * The endpoints of the datagram recvFrom just described in `meta`: its source into `peer` and, when
 * `local` is given (PKTINFO), its destination with `localPort`. Allocates nothing (datagram path).
 */
export function receivedEndpoints(
  meta: RecvMeta,
  localPort: number,
  family: number,
  peer: Endpoint,
  local: Endpoint | null,
): void {
  if (family === AF_INET6) {
    // A link-scoped address names its zone: the receiving interface (RFC 4007 §11).
    const zone = meta.ifIndex >= 0 ? meta.ifIndex + 1 : 0;
    setEndpoint6(peer, meta.addr6, 0, meta.port, 0, isLinkScopedIpv6(meta.addr6) ? zone : 0);
    if (local !== null)
      setEndpoint6(local, meta.dst6, 0, localPort, 0, isLinkScopedIpv6(meta.dst6) ? zone : 0);
    return;
  }
  setEndpoint4(peer, meta.addr, meta.port);
  if (local !== null) setEndpoint4(local, meta.dst, localPort);
}

/** bind(2) of the socket layer's fd to `sa`, by its family. */
export function bindTo(so: SocketLayer, fd: number, sa: SockAddr): number {
  return sa.family === 6 ? so.bind6(fd, sa.addr6, sa.port, sa.scopeId) : so.bind(fd, sa.addr, sa.port);
}

/** connect(2) of the socket layer's fd to `sa`, by its family. */
export function connectTo(so: SocketLayer, fd: number, sa: SockAddr, now: number): number {
  return sa.family === 6
    ? so.connect6(fd, sa.addr6, sa.port, now, sa.scopeId)
    : so.connect(fd, sa.addr, sa.port, now);
}

/** Copies a SockAddr (the server's scratch one) into one a socket keeps. */
export function copySockAddr(to: SockAddr, from: SockAddr): void {
  to.family = from.family;
  to.addr = from.addr;
  to.addr6.set(from.addr6);
  to.port = from.port;
  to.scopeId = from.scopeId;
}
