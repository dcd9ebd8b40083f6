import { NextHopTable } from './next-hops.ts';

// Table entry encoding, shared by tbl24 and tbl8 (Int32Array):
//   entry < 0                   (tbl24 only) the /24 is split into tbl8 group ~entry
//   0                           no route of length 1..32 covers the slot: the default route
//                               (0.0.0.0/0, kept in `defaultEntry`, never painted) decides
//   (target + 1)                route to next hop `target`
//   ECMP_FLAG | (target + 1)    route to ECMP group `target`
// A plain route is 1 <= entry < ECMP_FLAG, so the common lookup is one unsigned compare; a route
// entry minus one is the next-hop id, and "no route at all" falls out as 0 - 1 = -1.
const ECMP_FLAG = 0x4000_0000;
const TARGET_MASK = ECMP_FLAG - 1;
const MAX_TARGET = TARGET_MASK - 1;
/** ~group << 8 must stay a positive int32. */
const MAX_TBL8_GROUPS = 1 << 22;
const DEFAULT_MAX_TBL8_GROUPS = 1 << 17;
const INITIAL_TBL8_GROUPS = 64;
const TBL24_SIZE = 1 << 24;

export interface Ipv4FibOptions {
  /** Upper bound on tbl8 groups (each covers one /24 holding prefixes longer than /24). */
  maxTbl8Groups?: number;
}

export interface Ipv4Route {
  network: number;
  length: number;
  target: number;
  isGroup: boolean;
}

function maskOf(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

function checkPrefix(network: number, length: number): void {
  if (!Number.isInteger(length) || length < 0 || length > 32) {
    throw new RangeError(`prefix length ${length} is not 0..32`);
  }
  if (!Number.isInteger(network) || network < 0 || network > 0xffffffff) {
    throw new RangeError(`network ${network} is not an unsigned 32-bit address`);
  }
  if ((network & ~maskOf(length)) !== 0) {
    throw new RangeError(`network ${network >>> 0} has host bits set for /${length}`);
  }
}

/** Set once the first table has run every lookup path (see `seedLookupFeedback`). */
let lookupFeedbackSeeded = false;

/**
 * IPv4 longest-prefix match, DIR-24-8 (Gupta, Lin, McKeown, "Routing Lookups in Hardware at
 * Memory Access Speeds", 1998): one tbl24 entry per /24, and a 256-entry tbl8 group for each /24
 * that holds longer prefixes. Every slot also records the length of the prefix that owns it, and
 * the control plane keeps the prefix set, so deleting a prefix hands its slots back to the next
 * covering prefix without a rebuild. The default route is not painted into the 2^24 tbl24 slots
 * (which would write 80 MB per table): lookups fall through to it from an empty slot.
 *
 * Reference ownership: `insert` takes over the caller's reference to its target (next hop or
 * group); deleting or replacing the route releases it. `acquireGroup` likewise takes over one
 * reference per member it is given.
 */
export class Ipv4Fib {
  readonly nextHops = new NextHopTable();

  private tbl24 = new Int32Array(TBL24_SIZE);
  private depth24 = new Uint8Array(TBL24_SIZE);
  private tbl8 = new Int32Array(INITIAL_TBL8_GROUPS * 256);
  private depth8 = new Uint8Array(INITIAL_TBL8_GROUPS * 256);
  private readonly maxTbl8Groups: number;
  private tbl8HighWater = 0;
  private readonly freeTbl8: number[] = [];
  private tbl8Live = 0;
  /** Entry of the default route 0.0.0.0/0, or 0 without one (see the encoding above). */
  private defaultEntry = 0;

  // ECMP groups: members of group g are ecmpMembers[ecmpStart[g] .. + ecmpSize[g]].
  private ecmpStart = new Int32Array(16);
  private ecmpSize = new Int32Array(16);
  private ecmpRefs = new Uint32Array(16);
  private ecmpMembers = new Int32Array(64);
  private ecmpMembersUsed = 0;
  private readonly freeMemberSpans = new Map<number, number[]>();
  private readonly ecmpKeys: string[] = [];
  private readonly ecmpIdByKey = new Map<string, number>();
  private readonly freeEcmpIds: number[] = [];
  private ecmpHighWater = 0;
  private ecmpLive = 0;
  /** Live groups of two or more members: the ones a flow hash chooses in. */
  private ecmpMultipath = 0;

  /**
   * Control plane: one map per prefix length, network → encoded route entry. Networks are keyed as
   * int32 (`network | 0`): V8 keeps those as small integers, where half the unsigned addresses
   * would be heap numbers, allocated and hashed as doubles.
   */
  private readonly routes: Map<number, number>[] = [];
  private routeCount = 0;

  constructor(options: Ipv4FibOptions = {}) {
    const max = options.maxTbl8Groups ?? DEFAULT_MAX_TBL8_GROUPS;
    if (!Number.isInteger(max) || max < 0 || max > MAX_TBL8_GROUPS) {
      throw new RangeError(`maxTbl8Groups must be 0..${MAX_TBL8_GROUPS}`);
    }
    this.maxTbl8Groups = max;
    for (let length = 0; length <= 32; length++) this.routes.push(new Map());
    if (!lookupFeedbackSeeded) {
      lookupFeedbackSeeded = true;
      this.seedLookupFeedback();
    }
  }

  /**
   * Hot path, no allocation: the next-hop id for addr, or -1 when no route matches. addr may be
   * unsigned or int32 (`| 0`, which V8 never boxes); flowHash as `flowHash` returns it.
   */
  lookup(addr: number, flowHash: number): number {
    const entry = this.tbl24[addr >>> 8]!;
    // One unsigned compare for the common case, 1 <= entry < ECMP_FLAG: a route to a next hop.
    // (`| 0` tells V8 the subtraction cannot overflow, so it needs no check.)
    const id = (entry - 1) | 0;
    if (id >>> 0 < ECMP_FLAG - 1) return id;
    return this.lookupRest(entry, addr, flowHash);
  }

  /** `lookup` for a tbl24 entry that is a tbl8 group, empty, or an ECMP route. */
  private lookupRest(entry: number, addr: number, flowHash: number): number {
    if (entry < 0) entry = this.tbl8[(~entry << 8) | (addr & 0xff)]!;
    if (entry === 0) entry = this.defaultEntry;
    if (entry < ECMP_FLAG) return entry - 1;
    return this.ecmpMember(entry, flowHash);
  }

  private ecmpMember(entry: number, flowHash: number): number {
    const group = (entry & TARGET_MASK) - 1;
    return this.ecmpMembers[this.ecmpStart[group]! + ((flowHash >>> 0) % this.ecmpSize[group]!)]!;
  }

  /**
   * V8 compiles a branch that has never run into a deoptimization exit, and a loop holding one is
   * not peeled, so the typed-array checks of every lookup in it stay inside the loop (measured:
   * half the lookup rate on a table with no tbl8 group and no ECMP route, the usual case). Running
   * every path of `lookup` once, on the first table built and before it holds anything, gives the
   * optimizer feedback for all of them. Touches slot 0 of each array and puts it back.
   */
  private seedLookupFeedback(): void {
    const tbl24 = this.tbl24;
    const tbl8 = this.tbl8;
    tbl24[0] = ~0; // 0.0.0.0/24 split into tbl8 group 0
    tbl24[1] = 1; // 0.0.1.0/24 → next hop 0
    tbl8[0] = 1;
    tbl8[1] = ECMP_FLAG | 1; // 0.0.0.1 → ECMP group 0: member 0 only
    this.ecmpStart[0] = 0;
    this.ecmpSize[0] = 1;
    this.ecmpMembers[0] = 0;
    this.defaultEntry = 1;
    // Every one of these resolves to next hop 0: via tbl8, ECMP, tbl8 → default, tbl24, default.
    const addrs = new Uint32Array([0x0, 0x1, 0x2, 0x100, 0x200]);
    let sum = 0;
    for (let round = 0; round < 64; round++) {
      for (const addr of addrs) sum += this.lookup(addr, round);
    }
    if (sum !== 0) throw new Error('lookup feedback seeding went wrong');
    tbl24[0] = 0;
    tbl24[1] = 0;
    tbl8[0] = 0;
    tbl8[1] = 0;
    this.ecmpSize[0] = 0;
    this.defaultEntry = 0;
  }

  /** Install or replace the route for network/length (see the class comment on references). */
  insert(network: number, length: number, target: number, isGroup = false): void {
    checkPrefix(network, length);
    if (isGroup ? !this.isLiveGroup(target) : !this.nextHops.isLive(target)) {
      throw new RangeError(`${isGroup ? 'ECMP group' : 'next hop'} ${target} is not live`);
    }
    if (target > MAX_TARGET) throw new RangeError(`target ${target} too large`);
    const value = (target + 1) | (isGroup ? ECMP_FLAG : 0);
    // Allocate before touching anything, so running out of tbl8 groups leaves the table intact.
    const tbl8Group = length > 24 ? this.tbl8GroupFor(network >>> 8) : -1;
    const routes = this.routes[length]!;
    const old = routes.get(network | 0);
    routes.set(network | 0, value);
    if (old === undefined) this.routeCount++;
    if (length === 0) this.defaultEntry = value;
    else if (length <= 24) this.paint24(network >>> 8, 1 << (24 - length), value, length);
    else this.paint8(tbl8Group, network & 0xff, 1 << (32 - length), value, length);
    if (old !== undefined) this.releaseEntry(old);
  }

  delete(network: number, length: number): boolean {
    checkPrefix(network, length);
    const routes = this.routes[length]!;
    const old = routes.get(network | 0);
    if (old === undefined) return false;
    routes.delete(network | 0);
    this.routeCount--;
    // The slots this prefix owned go back to the longest shorter prefix covering it; with none of
    // length 1 or more they go back to 0, where the default route (if any) takes over.
    let coverValue = 0;
    let coverLength = 0;
    for (let l = length - 1; l >= 1; l--) {
      const m = this.routes[l]!;
      if (m.size === 0) continue;
      const v = m.get(network & maskOf(l));
      if (v !== undefined) {
        coverValue = v;
        coverLength = l;
        break;
      }
    }
    if (length === 0) {
      this.defaultEntry = 0;
    } else if (length <= 24) {
      this.revert24(network >>> 8, 1 << (24 - length), length, coverValue, coverLength);
    } else {
      const index24 = network >>> 8;
      const group = ~this.tbl24[index24]!;
      this.revert8(group, network & 0xff, 1 << (32 - length), length, coverValue, coverLength);
      this.foldIfUnsplit(index24, group);
    }
    this.releaseEntry(old);
    return true;
  }

  /** Exact match, for the control plane. */
  get(network: number, length: number): { target: number; isGroup: boolean } | undefined {
    checkPrefix(network, length);
    const value = this.routes[length]!.get(network | 0);
    if (value === undefined) return undefined;
    return { target: (value & TARGET_MASK) - 1, isGroup: (value & ECMP_FLAG) !== 0 };
  }

  /** Number of prefixes. */
  get size(): number {
    return this.routeCount;
  }

  /** tbl8 groups in use (each is a /24 split by longer prefixes). */
  get tbl8GroupsInUse(): number {
    return this.tbl8Live;
  }

  /** Live ECMP groups. */
  get groupsInUse(): number {
    return this.ecmpLive;
  }

  /**
   * Live groups of two or more members: with none, no lookup's result depends on its flow hash
   * (a one-member group is a level of indirection that can be changed in place, nothing more).
   */
  get multipathGroupsInUse(): number {
    return this.ecmpMultipath;
  }

  /** All routes in (network, length) order. */
  *entries(): IterableIterator<Ipv4Route> {
    const all: [number, number, number][] = [];
    for (let length = 0; length <= 32; length++) {
      for (const [network, value] of this.routes[length]!) all.push([network >>> 0, length, value]);
    }
    all.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (const [network, length, value] of all) {
      yield { network, length, target: (value & TARGET_MASK) - 1, isGroup: (value & ECMP_FLAG) !== 0 };
    }
  }

  /** Bytes held by the typed arrays (the forwarding state; the control-plane maps are not counted). */
  memoryBytes(): number {
    return (
      this.tbl24.byteLength +
      this.depth24.byteLength +
      this.tbl8.byteLength +
      this.depth8.byteLength +
      this.ecmpStart.byteLength +
      this.ecmpSize.byteLength +
      this.ecmpRefs.byteLength +
      this.ecmpMembers.byteLength +
      this.nextHops.memoryBytes()
    );
  }

  /**
   * ECMP: a group of next-hop ids, returned as a group id. Takes over one reference per member.
   * The same member list (in the same order) yields the same group with one more reference.
   */
  acquireGroup(nextHopIds: readonly number[]): number {
    this.checkMembers(nextHopIds);
    const key = nextHopIds.join(',');
    const existing = this.ecmpIdByKey.get(key);
    if (existing !== undefined) {
      this.ecmpRefs[existing]!++;
      // The existing group already holds its member references; the ones handed in are surplus.
      for (const id of nextHopIds) this.nextHops.release(id);
      return existing;
    }
    const group = this.newGroup(nextHopIds, key);
    this.ecmpIdByKey.set(key, group);
    return group;
  }

  /**
   * A group of its own: never returned by `acquireGroup` for the same members, so that its owner
   * can change it in place (`setGroupMembers`) without touching anyone else's routes. Takes over
   * one reference per member; the caller holds the group's one reference.
   */
  createGroup(nextHopIds: readonly number[]): number {
    this.checkMembers(nextHopIds);
    return this.newGroup(nextHopIds, '');
  }

  /** One more reference to a live group (each route inserted with it takes one). */
  retainGroup(groupId: number): void {
    if (!this.isLiveGroup(groupId)) throw new RangeError(`ECMP group ${groupId} is not live`);
    this.ecmpRefs[groupId]!++;
  }

  /**
   * Replaces the members of a live group in place: every route pointing at it follows at once,
   * none is rewritten. Takes over one reference per new member and releases the old ones. (Control
   * plane only: the lookup reads the group's span, start and size as before.) An interned group
   * changed this way is no longer found by `acquireGroup`, its members no longer being its key.
   */
  setGroupMembers(groupId: number, nextHopIds: readonly number[]): void {
    if (!this.isLiveGroup(groupId)) throw new RangeError(`ECMP group ${groupId} is not live`);
    this.checkMembers(nextHopIds);
    const oldStart = this.ecmpStart[groupId]!;
    const oldSize = this.ecmpSize[groupId]!;
    const old = Array.from(this.ecmpMembers.subarray(oldStart, oldStart + oldSize));
    const size = nextHopIds.length;
    if (size === oldSize) {
      for (let i = 0; i < size; i++) this.ecmpMembers[oldStart + i] = nextHopIds[i]!;
    } else {
      const start = this.allocMemberSpan(size);
      for (let i = 0; i < size; i++) this.ecmpMembers[start + i] = nextHopIds[i]!;
      this.ecmpStart[groupId] = start;
      this.ecmpSize[groupId] = size;
      this.freeMemberSpan(oldStart, oldSize);
      this.ecmpMultipath += (size > 1 ? 1 : 0) - (oldSize > 1 ? 1 : 0);
    }
    const key = this.ecmpKeys[groupId]!;
    if (key !== '') {
      this.ecmpIdByKey.delete(key);
      this.ecmpKeys[groupId] = '';
    }
    for (const id of old) this.nextHops.release(id);
  }

  releaseGroup(groupId: number): void {
    if (!this.isLiveGroup(groupId)) throw new RangeError(`ECMP group ${groupId} is not live`);
    if (--this.ecmpRefs[groupId]! > 0) return;
    const start = this.ecmpStart[groupId]!;
    const size = this.ecmpSize[groupId]!;
    for (let i = 0; i < size; i++) this.nextHops.release(this.ecmpMembers[start + i]!);
    this.freeMemberSpan(start, size);
    const key = this.ecmpKeys[groupId]!;
    if (key !== '') this.ecmpIdByKey.delete(key);
    this.freeEcmpIds.push(groupId);
    this.ecmpLive--;
    if (size > 1) this.ecmpMultipath--;
  }

  private checkMembers(nextHopIds: readonly number[]): void {
    if (nextHopIds.length === 0) throw new RangeError('an ECMP group needs at least one member');
    for (const id of nextHopIds) {
      if (!this.nextHops.isLive(id)) throw new RangeError(`next hop ${id} is not live`);
    }
  }

  /** A new group with refs 1 (key '' for a group of its own, not interned). */
  private newGroup(nextHopIds: readonly number[], key: string): number {
    let group = this.freeEcmpIds.pop();
    if (group === undefined) {
      group = this.ecmpHighWater++;
      if (group >= this.ecmpStart.length) this.growEcmpIds();
    }
    const size = nextHopIds.length;
    const start = this.allocMemberSpan(size);
    for (let i = 0; i < size; i++) this.ecmpMembers[start + i] = nextHopIds[i]!;
    this.ecmpStart[group] = start;
    this.ecmpSize[group] = size;
    this.ecmpRefs[group] = 1;
    this.ecmpKeys[group] = key;
    this.ecmpLive++;
    if (size > 1) this.ecmpMultipath++;
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

  /** Members of a live ECMP group, for the control plane. */
  groupMembers(groupId: number): number[] {
    if (!this.isLiveGroup(groupId)) throw new RangeError(`ECMP group ${groupId} is not live`);
    const start = this.ecmpStart[groupId]!;
    return Array.from(this.ecmpMembers.subarray(start, start + this.ecmpSize[groupId]!));
  }

  private isLiveGroup(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.ecmpHighWater && this.ecmpRefs[id]! > 0;
  }

  private releaseEntry(value: number): void {
    const target = (value & TARGET_MASK) - 1;
    if ((value & ECMP_FLAG) !== 0) this.releaseGroup(target);
    else this.nextHops.release(target);
  }

  /** Claim slots in [first, first+count) of tbl24 whose owner is not longer than `length`. */
  private paint24(first: number, count: number, value: number, length: number): void {
    const tbl24 = this.tbl24;
    const depth24 = this.depth24;
    const end = first + count;
    for (let i = first; i < end; i++) {
      const entry = tbl24[i]!;
      if (entry < 0) this.paint8(~entry, 0, 256, value, length);
      else if (depth24[i]! <= length) {
        tbl24[i] = value;
        depth24[i] = length;
      }
    }
  }

  private paint8(group: number, first: number, count: number, value: number, length: number): void {
    const tbl8 = this.tbl8;
    const depth8 = this.depth8;
    const base = group << 8;
    const end = base + first + count;
    for (let i = base + first; i < end; i++) {
      if (depth8[i]! <= length) {
        tbl8[i] = value;
        depth8[i] = length;
      }
    }
  }

  /** Hand slots owned by a deleted /`length` back to its cover. */
  private revert24(
    first: number,
    count: number,
    length: number,
    coverValue: number,
    coverLength: number,
  ): void {
    const tbl24 = this.tbl24;
    const depth24 = this.depth24;
    const end = first + count;
    for (let i = first; i < end; i++) {
      const entry = tbl24[i]!;
      if (entry < 0) {
        this.revert8(~entry, 0, 256, length, coverValue, coverLength);
      } else if (depth24[i] === length) {
        tbl24[i] = coverValue;
        depth24[i] = coverLength;
      }
    }
  }

  private revert8(
    group: number,
    first: number,
    count: number,
    length: number,
    coverValue: number,
    coverLength: number,
  ): void {
    const tbl8 = this.tbl8;
    const depth8 = this.depth8;
    const base = group << 8;
    const end = base + first + count;
    for (let i = base + first; i < end; i++) {
      if (depth8[i] === length) {
        tbl8[i] = coverValue;
        depth8[i] = coverLength;
      }
    }
  }

  /** The tbl8 group of a /24, splitting the tbl24 entry into one if needed. */
  private tbl8GroupFor(index24: number): number {
    const entry = this.tbl24[index24]!;
    if (entry < 0) return ~entry;
    let group = this.freeTbl8.pop();
    if (group === undefined) {
      if (this.tbl8HighWater >= this.maxTbl8Groups) {
        throw new RangeError(`FIB full: all ${this.maxTbl8Groups} tbl8 groups are in use`);
      }
      group = this.tbl8HighWater++;
      if (group >= this.tbl8.length >>> 8) this.growTbl8();
    }
    const base = group << 8;
    this.tbl8.fill(entry, base, base + 256);
    this.depth8.fill(this.depth24[index24]!, base, base + 256);
    this.tbl24[index24] = ~group;
    this.tbl8Live++;
    return group;
  }

  /**
   * A group exists only while some prefix longer than /24 lies in its /24. Once none does, every
   * slot is owned by the same covering prefix, so the group folds back into one tbl24 entry.
   */
  private foldIfUnsplit(index24: number, group: number): void {
    const depth8 = this.depth8;
    const base = group << 8;
    for (let i = base; i < base + 256; i++) if (depth8[i]! > 24) return;
    this.tbl24[index24] = this.tbl8[base]!;
    this.depth24[index24] = depth8[base]!;
    this.freeTbl8.push(group);
    this.tbl8Live--;
  }

  private growTbl8(): void {
    const groups = Math.min(Math.max(INITIAL_TBL8_GROUPS, (this.tbl8.length >>> 8) * 2), this.maxTbl8Groups);
    const tbl8 = new Int32Array(groups * 256);
    tbl8.set(this.tbl8);
    this.tbl8 = tbl8;
    const depth8 = new Uint8Array(groups * 256);
    depth8.set(this.depth8);
    this.depth8 = depth8;
  }

  private growEcmpIds(): void {
    const capacity = this.ecmpStart.length * 2;
    const start = new Int32Array(capacity);
    start.set(this.ecmpStart);
    this.ecmpStart = start;
    const size = new Int32Array(capacity);
    size.set(this.ecmpSize);
    this.ecmpSize = size;
    const refs = new Uint32Array(capacity);
    refs.set(this.ecmpRefs);
    this.ecmpRefs = refs;
  }

  private allocMemberSpan(size: number): number {
    const reused = this.freeMemberSpans.get(size)?.pop();
    if (reused !== undefined) return reused;
    const start = this.ecmpMembersUsed;
    if (start + size > this.ecmpMembers.length) {
      const members = new Int32Array(Math.max(this.ecmpMembers.length * 2, start + size));
      members.set(this.ecmpMembers);
      this.ecmpMembers = members;
    }
    this.ecmpMembersUsed = start + size;
    return start;
  }
}
