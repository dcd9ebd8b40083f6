// IPv6 multicast membership of sockets (IPV6_JOIN_GROUP / IPV6_LEAVE_GROUP, RFC 3493 §5.2): each
// socket's (group, interface) pairs. The interface's own count of members (Ipv6Interface.join) is
// what makes the stack accept the group and report it in MLD (RFC 3810 §6.1); this table is what
// decides which sockets get a copy of a datagram to the group.
import { isMulticastIpv6 } from '@nexthop/addr';
import { EADDRINUSE, EADDRNOTAVAIL, EINVAL, ENODEV } from '../sockapi/errno.ts';
import type { Ip6Env, IpEnv } from './ip-env.ts';
import type { Sock } from './sock.ts';

/** IPV6_JOIN_GROUP's struct ipv6_mreq: the group, and the interface (name or index; -1 none). */
export interface Membership6 {
  group6: Uint8Array;
  interface: string | number;
}

/** ff02::1, which every node has joined on every interface (RFC 4291 §2.7.1). */
function isAllNodes(a: Uint8Array, off: number): boolean {
  if (a[off] !== 0xff || a[off + 1] !== 0x02 || a[off + 15] !== 1) return false;
  for (let i = 2; i < 15; i++) if (a[off + i] !== 0) return false;
  return true;
}

export class Multicast6 {
  private readonly env: IpEnv;
  env6: Ip6Env | null = null;

  constructor(env: IpEnv) {
    this.env = env;
  }

  /** Joins (add) or leaves a group for s; 0 or -errno (Linux's: EADDRINUSE twice, EADDRNOTAVAIL not joined). */
  membership(s: Sock, add: boolean, value: Membership6): number {
    const env6 = this.env6;
    if (env6 === null) return -ENODEV;
    const group = value.group6;
    if (group.length !== 16 || !isMulticastIpv6(group, 0)) return -EINVAL;
    const ifIndex =
      typeof value.interface === 'number'
        ? this.env.interfaceName(value.interface) === null
          ? -1
          : value.interface
        : this.env.interfaceIndex(value.interface);
    if (ifIndex < 0) return -ENODEV;
    const m = s.memberships6;
    const at = m.findIndex((x) => x.ifIndex === ifIndex && sameGroup(x.group, group, 0));
    if (add) {
      if (at >= 0) return -EADDRINUSE;
      const r = env6.joinGroup(ifIndex, group);
      if (r < 0) return r;
      m.push({ group: group.slice(), ifIndex });
    } else {
      if (at < 0) return -EADDRNOTAVAIL;
      m.splice(at, 1);
      env6.leaveGroup(ifIndex, group);
    }
    return 0;
  }

  /** s is closed: it leaves every group it joined. */
  leaveAll(s: Sock): void {
    const m = s.memberships6;
    for (const x of m) this.env6?.leaveGroup(x.ifIndex, x.group);
    m.length = 0;
  }

  /** Whether s should get a datagram to the group at buf[off..] that came in on ifIndex. */
  static wants(s: Sock, buf: Uint8Array, off: number, ifIndex: number): boolean {
    if (isAllNodes(buf, off)) return true;
    for (const x of s.memberships6) if (x.ifIndex === ifIndex && sameGroup(x.group, buf, off)) return true;
    return false;
  }
}

function sameGroup(g: Uint8Array, buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (g[i] !== buf[off + i]) return false;
  return true;
}
