/** What an ECMP group store needs of its next-hop table. */
export interface NextHopRefs {
  isLive(id: number): boolean;
  release(id: number): void;
}

/**
 * ECMP groups of next-hop ids, interned by member list and reference counted, in typed arrays so
 * the forwarding path can pick a member without allocating: members of group g are
 * `members[start[g] .. start[g] + size[g])`. The same semantics as `Ipv4Fib`'s groups:
 * `acquire` takes over one reference per member it is given; the same member list (in the same
 * order) yields the same group with one more reference; the last `release` releases the members.
 */
export class EcmpGroups {
  start = new Int32Array(16);
  size = new Int32Array(16);
  members = new Int32Array(64);
  private refs = new Uint32Array(16);
  private membersUsed = 0;
  private readonly freeMemberSpans = new Map<number, number[]>();
  private readonly keys: string[] = [];
  private readonly idByKey = new Map<string, number>();
  private readonly freeIds: number[] = [];
  private highWater = 0;
  private live = 0;
  private multipath = 0;
  private readonly nextHops: NextHopRefs;

  constructor(nextHops: NextHopRefs) {
    this.nextHops = nextHops;
  }

  /** Member `flowHash mod size` of a live group (flowHash as `flowHash6` returns it). */
  member(group: number, flowHash: number): number {
    return this.members[this.start[group]! + ((flowHash >>> 0) % this.size[group]!)]!;
  }

  acquire(nextHopIds: readonly number[]): number {
    this.checkMembers(nextHopIds);
    const key = nextHopIds.join(',');
    const existing = this.idByKey.get(key);
    if (existing !== undefined) {
      this.refs[existing]!++;
      // The existing group already holds its member references; the ones handed in are surplus.
      for (const id of nextHopIds) this.nextHops.release(id);
      return existing;
    }
    const group = this.newGroup(nextHopIds, key);
    this.idByKey.set(key, group);
    return group;
  }

  /** A group of its own, never shared by `acquire` (see `Ipv4Fib.createGroup`). */
  create(nextHopIds: readonly number[]): number {
    this.checkMembers(nextHopIds);
    return this.newGroup(nextHopIds, '');
  }

  retain(group: number): void {
    if (!this.isLive(group)) throw new RangeError(`ECMP group ${group} is not live`);
    this.refs[group]!++;
  }

  /** Replaces a live group's members in place (see `Ipv4Fib.setGroupMembers`). */
  setMembers(group: number, nextHopIds: readonly number[]): void {
    if (!this.isLive(group)) throw new RangeError(`ECMP group ${group} is not live`);
    this.checkMembers(nextHopIds);
    const oldStart = this.start[group]!;
    const oldSize = this.size[group]!;
    const old = Array.from(this.members.subarray(oldStart, oldStart + oldSize));
    const size = nextHopIds.length;
    if (size === oldSize) {
      for (let i = 0; i < size; i++) this.members[oldStart + i] = nextHopIds[i]!;
    } else {
      const start = this.allocMemberSpan(size);
      for (let i = 0; i < size; i++) this.members[start + i] = nextHopIds[i]!;
      this.start[group] = start;
      this.size[group] = size;
      this.freeMemberSpan(oldStart, oldSize);
      this.multipath += (size > 1 ? 1 : 0) - (oldSize > 1 ? 1 : 0);
    }
    const key = this.keys[group]!;
    if (key !== '') {
      this.idByKey.delete(key);
      this.keys[group] = '';
    }
    for (const id of old) this.nextHops.release(id);
  }

  release(group: number): void {
    if (!this.isLive(group)) throw new RangeError(`ECMP group ${group} is not live`);
    if (--this.refs[group]! > 0) return;
    const start = this.start[group]!;
    const size = this.size[group]!;
    for (let i = 0; i < size; i++) this.nextHops.release(this.members[start + i]!);
    this.freeMemberSpan(start, size);
    const key = this.keys[group]!;
    if (key !== '') this.idByKey.delete(key);
    this.freeIds.push(group);
    this.live--;
    if (size > 1) this.multipath--;
  }

  memberList(group: number): number[] {
    if (!this.isLive(group)) throw new RangeError(`ECMP group ${group} is not live`);
    const start = this.start[group]!;
    return Array.from(this.members.subarray(start, start + this.size[group]!));
  }

  isLive(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.highWater && this.refs[id]! > 0;
  }

  /** Live groups. */
  get count(): number {
    return this.live;
  }

  /** Live groups of two or more members. */
  get multipathCount(): number {
    return this.multipath;
  }

  memoryBytes(): number {
    return this.start.byteLength + this.size.byteLength + this.refs.byteLength + this.members.byteLength;
  }

  private growIds(): void {
    const capacity = this.start.length * 2;
    const start = new Int32Array(capacity);
    start.set(this.start);
    this.start = start;
    const size = new Int32Array(capacity);
    size.set(this.size);
    this.size = size;
    const refs = new Uint32Array(capacity);
    refs.set(this.refs);
    this.refs = refs;
  }

  private checkMembers(nextHopIds: readonly number[]): void {
    if (nextHopIds.length === 0) throw new RangeError('an ECMP group needs at least one member');
    for (const id of nextHopIds) {
      if (!this.nextHops.isLive(id)) throw new RangeError(`next hop ${id} is not live`);
    }
  }

  /** A new group with one reference (key '' for a group of its own, not interned). */
  private newGroup(nextHopIds: readonly number[], key: string): number {
    let group = this.freeIds.pop();
    if (group === undefined) {
      group = this.highWater++;
      if (group >= this.start.length) this.growIds();
    }
    const size = nextHopIds.length;
    const start = this.allocMemberSpan(size);
    for (let i = 0; i < size; i++) this.members[start + i] = nextHopIds[i]!;
    this.start[group] = start;
    this.size[group] = size;
    this.refs[group] = 1;
    this.keys[group] = key;
    this.live++;
    if (size > 1) this.multipath++;
    return group;
  }

  private freeMemberSpan(start: number, size: number): void {
    let spans = this.freeMemberSpans.get(size);
    if (spans === undefined) {
      spans = [];
      this.freeMemberSpans.set(size, spans);
    }
    spans.push(start);
  }

  private allocMemberSpan(size: number): number {
    const reused = this.freeMemberSpans.get(size)?.pop();
    if (reused !== undefined) return reused;
    const start = this.membersUsed;
    if (start + size > this.members.length) {
      const members = new Int32Array(Math.max(this.members.length * 2, start + size));
      members.set(this.members);
      this.members = members;
    }
    this.membersUsed = start + size;
    return start;
  }
}
