// Multicast membership (IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP): each socket's (group, interface)
// pairs, and their count over all sockets, which is what the VR as a host has joined and what the
// stack and raw sockets filter received multicast by. Link-local groups only: the VR speaks no IGMP.
import { isMulticastIpv4 } from '@nexthop/wire';
import { EADDRINUSE, EADDRNOTAVAIL, EINVAL, ENODEV, EOPNOTSUPP } from '../sockapi/errno.ts';
import type { IpEnv } from './ip-env.ts';
import type { Membership } from './options.ts';
import type { Sock } from './sock.ts';

/** 224.0.0.1, which every host has joined on every interface (RFC 1112 §4). */
const ALL_HOSTS = 0xe0000001;

function groupKey(group: number, ifIndex: number): number {
  return (group & 0xfffffff) * 4096 + ifIndex;
}

export class Multicast {
  private readonly env: IpEnv;
  /** (group, ifIndex) → how many sockets joined it. */
  private readonly refs = new Map<number, number>();

  constructor(env: IpEnv) {
    this.env = env;
  }

  /** Joins (add) or leaves a group for s; 0 or -errno. */
  membership(s: Sock, add: boolean, value: Membership): number {
    const group = value.group >>> 0;
    if (!isMulticastIpv4(group)) return -EINVAL;
    // Only link-local groups (RFC 5771 §4): the VR speaks no IGMP, so routed groups cannot be joined.
    if (group >>> 8 !== 0xe00000) return -EOPNOTSUPP;
    const ifIndex =
      typeof value.interface === 'number'
        ? this.env.interfaceName(value.interface) === null
          ? -1
          : value.interface
        : this.env.interfaceIndex(value.interface);
    if (ifIndex < 0) return -ENODEV;
    const m = s.memberships;
    let at = -1;
    for (let i = 0; i < m.length; i += 2) if (m[i] === group && m[i + 1] === ifIndex) at = i;
    if (add) {
      if (at >= 0) return -EADDRINUSE;
      m.push(group, ifIndex);
      const k = groupKey(group, ifIndex);
      this.refs.set(k, (this.refs.get(k) ?? 0) + 1);
    } else {
      if (at < 0) return -EADDRNOTAVAIL;
      m.splice(at, 2);
      this.unref(group, ifIndex);
    }
    return 0;
  }

  /** s is closed: it leaves every group it joined. */
  leaveAll(s: Sock): void {
    const m = s.memberships;
    for (let i = 0; i < m.length; i += 2) this.unref(m[i]!, m[i + 1]!);
    m.length = 0;
  }

  /** Whether the VR has joined group on ifIndex (some socket holds a membership). */
  joined(group: number, ifIndex: number): boolean {
    return group === ALL_HOSTS || this.refs.has(groupKey(group, ifIndex));
  }

  private unref(group: number, ifIndex: number): void {
    const k = groupKey(group, ifIndex);
    const n = (this.refs.get(k) ?? 1) - 1;
    if (n <= 0) this.refs.delete(k);
    else this.refs.set(k, n);
  }
}
