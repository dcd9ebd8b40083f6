import { type Ipv4Fib, type Ipv6Fib, NH_BLACKHOLE, NH_FORWARD, NH_LOCAL, NH_REJECT } from '@nexthop/fib';
import type { FibTableWriter, FibWriter, GroupState } from '@nexthop/rib';

/** What the adapter needs of one family's FIB (Ipv4Fib and Ipv6Fib have it, gateways aside). */
interface FibTable<A> {
  /** An interned next hop; `gateway` null for directly connected. */
  acquireNextHop(kind: number, ifIndex: number, gateway: A | null): number;
  retainNextHop(id: number): void;
  releaseNextHop(id: number): void;
  createGroup(nextHopIds: readonly number[]): number;
  retainGroup(id: number): void;
  setGroupMembers(id: number, nextHopIds: readonly number[]): void;
  releaseGroup(id: number): void;
  insert(network: A, length: number, target: number, isGroup: boolean): void;
  delete(network: A, length: number): boolean;
}

const NONE = -1;
const SPECIAL_KIND = { local: NH_LOCAL, blackhole: NH_BLACKHOLE, reject: NH_REJECT } as const;

/**
 * One family's half of the RIB's FibWriter. Each RIB group gets a FIB target of its own:
 * - a forwarding group, a FIB group of its own (`createGroup`, never shared with another RIB group
 *   even when the hops are the same), so that a re-resolution the RIB sends in place
 *   (`setGroup` on a live id) is one `setGroupMembers`: every prefix through it follows, no other
 *   RIB group's prefixes move, no prefix is rewritten;
 * - a local, blackhole or reject group, an interned next hop (the lookup's fast path). These never
 *   change in place: a RIB group's kind is that of its next-hop sets, fixed when they are made.
 * Each prefix inserted takes one reference to its target (the FIB's rule); the adapter holds one
 * more per live group, dropped at `releaseGroup`.
 */
export class FibTableAdapter<A> implements FibTableWriter<A> {
  private readonly fib: FibTable<A>;
  /** By RIB group id: the FIB group or next-hop id, NONE when the RIB group is not live. */
  private readonly targets: number[] = [];
  /** By RIB group id: whether the target is a FIB group. */
  private readonly grouped: boolean[] = [];

  constructor(fib: FibTable<A>) {
    this.fib = fib;
  }

  setGroup(id: number, state: GroupState<A>): void {
    const fib = this.fib;
    const target = this.targets[id] ?? NONE;
    if (state.kind === 'forward') {
      if (state.hops.length === 0) throw new Error(`RIB group ${id}: forwarding with no hops`);
      const members = state.hops.map((h) => fib.acquireNextHop(NH_FORWARD, h.ifIndex, h.gateway));
      if (target === NONE) {
        this.targets[id] = fib.createGroup(members);
        this.grouped[id] = true;
      } else if (this.grouped[id] === true) {
        fib.setGroupMembers(target, members);
      } else {
        for (const m of members) fib.releaseNextHop(m);
        throw new Error(`RIB group ${id} changed from a ${state.kind} next hop to forwarding in place`);
      }
      return;
    }
    const nh = fib.acquireNextHop(SPECIAL_KIND[state.kind], state.kind === 'local' ? state.ifIndex : 0, null);
    if (target === NONE) {
      this.targets[id] = nh;
      this.grouped[id] = false;
    } else {
      fib.releaseNextHop(nh);
      if (this.grouped[id] === true || target !== nh) {
        throw new Error(`RIB group ${id} changed its kind (${state.kind}) in place`);
      }
    }
  }

  releaseGroup(id: number): void {
    const target = this.targets[id] ?? NONE;
    if (target === NONE) throw new Error(`RIB group ${id} released but never set`);
    if (this.grouped[id] === true) this.fib.releaseGroup(target);
    else this.fib.releaseNextHop(target);
    this.targets[id] = NONE;
  }

  setRoute(network: A, length: number, group: number): void {
    const target = this.targets[group] ?? NONE;
    if (target === NONE) throw new Error(`route to RIB group ${group}, which the FIB does not have`);
    const isGroup = this.grouped[group] === true;
    if (isGroup) this.fib.retainGroup(target);
    else this.fib.retainNextHop(target);
    // The FIB takes over that reference and releases the one of the route it replaces.
    this.fib.insert(network, length, target, isGroup);
  }

  deleteRoute(network: A, length: number): void {
    this.fib.delete(network, length);
  }
}

/**
 * The RIB's FibWriter over the stack's two FIBs. The FIBs apply each call at once and nothing else
 * runs during a batch (the stack is single-threaded and flushes inside its own calls), so `begin`
 * and `commit` have nothing to do; the RIB's order (groups, prefixes, releases) is what keeps every
 * prefix pointing at a live target.
 */
export class StackFibWriter implements FibWriter {
  readonly v4: FibTableAdapter<number>;
  readonly v6: FibTableAdapter<Uint8Array>;

  constructor(fib4: Ipv4Fib, fib6: Ipv6Fib) {
    this.v4 = new FibTableAdapter<number>({
      acquireNextHop: (kind, ifIndex, gateway) => fib4.nextHops.acquire(kind, ifIndex, gateway ?? 0),
      retainNextHop: (id) => fib4.nextHops.retain(id),
      releaseNextHop: (id) => fib4.nextHops.release(id),
      createGroup: (ids) => fib4.createGroup(ids),
      retainGroup: (id) => fib4.retainGroup(id),
      setGroupMembers: (id, ids) => fib4.setGroupMembers(id, ids),
      releaseGroup: (id) => fib4.releaseGroup(id),
      insert: (network, length, target, isGroup) => fib4.insert(network, length, target, isGroup),
      delete: (network, length) => fib4.delete(network, length),
    });
    this.v6 = new FibTableAdapter<Uint8Array>({
      acquireNextHop: (kind, ifIndex, gateway) => fib6.nextHops.acquire(kind, ifIndex, gateway),
      retainNextHop: (id) => fib6.nextHops.retain(id),
      releaseNextHop: (id) => fib6.nextHops.release(id),
      createGroup: (ids) => fib6.createGroup(ids),
      retainGroup: (id) => fib6.retainGroup(id),
      setGroupMembers: (id, ids) => fib6.setGroupMembers(id, ids),
      releaseGroup: (id) => fib6.releaseGroup(id),
      insert: (network, length, target, isGroup) => fib6.insert(network, length, target, isGroup),
      delete: (network, length) => fib6.delete(network, length),
    });
  }

  begin(): void {}

  commit(): void {}
}
