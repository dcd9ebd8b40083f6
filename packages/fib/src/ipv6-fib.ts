import { EcmpGroups } from './ecmp-groups.ts';
import { Ipv6NextHopTable } from './ipv6-next-hops.ts';

// All levels live in one Int32Array, `table`: tbl20 (2^20 slots, one per /20) at 0, then the tbl12
// pool (4096-slot groups), then the tbl8 pool (256-slot groups). Entry encoding:
//   entry < 0    the slot is split: its child group starts at slot ~entry << 8 (groups are
//                aligned to their size, so a lookup indexes the child as (~entry << 8) | index)
//   0            no route of length 1..128 covers the slot: the default route (::/0, kept in
//                `defaultEntry`, never painted) decides
//   entry > 0    a route: bits 23..30 its prefix length (1..128), bit 22 set for an ECMP group,
//                bits 0..21 target + 1
// The prefix length of the owner lives in the entry (DIR-24-8 keeps it in a byte array beside
// the table): one word per slot instead of five bytes, 20 % less memory on the RIS table. The low
// 23 bits minus one are the next-hop id for a plain route and fall outside 0..2^22-2 for an ECMP
// route or an empty slot, so the common lookup still ends in one unsigned compare.
const ECMP_FLAG = 1 << 22;
const TARGET_MASK = ECMP_FLAG - 1;
const PAYLOAD_MASK = (1 << 23) - 1;
const LENGTH_SHIFT = 23;
const MAX_TARGET = TARGET_MASK - 1;

const TBL20_SIZE = 1 << 20;
const TBL12_SHIFT = 12;
const TBL8_SHIFT = 8;
/** First slot of the tbl12 pool (a multiple of its group size). */
const TBL12_BASE = TBL20_SIZE;
/** The address bit (exclusive) each level resolves to: tbl20, tbl12, then a tbl8 level per byte. */
const LEVEL_END = [20, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128];
const LEVELS = LEVEL_END.length;
/** Slot offsets (below 2^20 + 2^28 + 2^30) must stay positive int32s. */
const MAX_TBL12_GROUPS = 1 << 16;
const MAX_TBL8_GROUPS = 1 << 22;
const DEFAULT_MAX_TBL12_GROUPS = 1 << 12;
const DEFAULT_MAX_TBL8_GROUPS = 1 << 18;
/** Groups `seedLookupFeedback` uses, whatever the limits: one tbl12, one tbl8 per tbl8 level. */
const SEED_TBL12_GROUPS = 1;
const SEED_TBL8_GROUPS = LEVELS - 2;
const ADDRESS_BYTES = 16;

export interface Ipv6FibOptions {
  /** Upper bound on tbl12 groups (each covers one /20 holding prefixes longer than /20). */
  maxTbl12Groups?: number;
  /** Upper bound on tbl8 groups (each covers one /32, /40, ... /120 holding longer prefixes). */
  maxTbl8Groups?: number;
}

export interface Ipv6Route {
  /** 16 bytes, network order, host bits zero. */
  network: Uint8Array;
  length: number;
  target: number;
  isGroup: boolean;
}

/** An int32 with the top `bits` bits set (0..32 after clamping). */
function maskWord(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? -1 : -1 << (32 - bits);
}

/** Set once the first table has run every lookup path (see `seedLookupFeedback`). */
let lookupFeedbackSeeded = false;

/**
 * IPv6 longest-prefix match: a multibit trie with strides 20, 12, 8, 8, ... ("DIR-20-12-8"), the
 * DIR-24-8 scheme of Gupta, Lin and McKeown ("Routing Lookups in Hardware at Memory Access
 * Speeds", 1998) carried down to /128: a tbl20 entry per /20, a 4096-entry tbl12 group for each
 * /20 that holds longer prefixes, and a 256-entry tbl8 group for each /32, /40, ... /120 that
 * does. Every slot holds the answer for its addresses (prefixes are expanded into the slots they
 * cover and pushed down into groups below them), so a lookup reads one entry per level and stops
 * at the first that is not a group: tbl20 → tbl12 → tbl8 (/40) → tbl8 (/48) for the /41../48
 * prefixes that are 66 % of the RIS table, three reads for /33../40, two for /21../32.
 *
 * Why these strides, on the RIS IPv6 table (246,175 prefixes, nothing longer than /48; /48 45 %,
 * /32 11 %, /44 10 %, /40 9 %): a random lookup inside the table's prefixes is bound by its chain
 * of dependent cache (and TLB) misses, so the number of reads to /48 decides, as long as memory
 * stays sane. Throwaway C prototypes, 4 M keys inside table prefixes, CPU time, median of 12
 * warm runs on this shared 2-core EPYC (range in brackets), memory at 4 bytes a slot:
 *   strides 20-12-8-8 (4 reads to /48)   24.3 M/s (21-27)   61 MB
 *   strides 16-16-8-8 (4 reads)          25.5 M/s (15-28)   63 MB
 *   strides 24-8-8-8 (4 reads)           25.1 M/s (23-27)  121 MB, and uniform keys 98 M/s
 *                                        instead of ~470: 64 MB of tbl24 misses the cache
 *   strides 16-8-8-8-8 (5 reads)         16.6 M/s (12-19)   55 MB
 *   strides 16-8-8-4-4-4-4 (6 reads)     15.0 M/s (12-22)   15 MB
 *   strides 16-4-4-... (8 reads)         13.8 M/s (7-18)     9 MB
 *   poptrie (Asai and Ohara, SIGCOMM 2015: 16-bit direct pointing, 6-bit strides, popcount
 *   over 64-bit vectors, leaf compression)  8.3 M/s (6-15) with cc -O2, 17.2 M/s (12-29) with
 *   -mpopcnt; 5 MB. JavaScript has no popcount instruction (a dozen operations instead).
 * Four reads it is; 20-12 over 16-16 for the smaller unit of growth (a tbl12 group is 16 KB, a
 * second-level /16 group 256 KB). Strides 16-16-16 or 20-12-16 would reach /48 in three reads but
 * expand each of the 16,201 /32s that hold a longer prefix into 65,536 slots: 4 GB. The table
 * takes about 250 bytes per prefix (see docs/PERFORMANCE.md, "IPv6 FIB").
 *
 * Updates are incremental, as in `Ipv4Fib`: every slot records the length of the prefix that
 * owns it, the control plane keeps the prefix set, and each group counts the routes inside it.
 * Inserting paints the prefix's slots (and the groups below them) where no longer prefix owns
 * them; deleting hands the slots it owned to the next covering prefix, and a group whose count
 * drops to 0 folds back into its parent slot. No update rebuilds more than the prefix's own range.
 *
 * Reference ownership: `insert` takes over the caller's reference to its target (next hop or
 * group); deleting or replacing the route releases it. `acquireGroup` likewise takes over one
 * reference per member it is given.
 */
export class Ipv6Fib {
  readonly nextHops = new Ipv6NextHopTable();

  /**
   * tbl20, the tbl12 pool and the tbl8 pool, in one array so that the lookup loop's typed-array
   * checks (map, detached buffer, length) are made once per loop rather than once per level: V8
   * hoists them out of a peeled loop only for an array the first read already touched (RIS keys
   * inside table prefixes: 17-30 % more lookups/s than with three arrays). The pools are
   * allocated at their limit and never grow: a zeroed typed array that large is address space the
   * kernel backs page by page as groups are first written, where growing by copying cost more
   * than the rest of a full-table build on this machine (page faults on every copy).
   * `memoryBytes` counts the part in use.
   */
  private readonly table: Int32Array;
  /** First slot of the tbl8 pool. */
  private readonly tbl8Base: number;
  /** Routes inside each group (prefixes in its range longer than its parent slot), by group id. */
  private readonly tbl12Routes: Int32Array;
  private readonly tbl8Routes: Int32Array;
  private readonly maxTbl12Groups: number;
  private readonly maxTbl8Groups: number;
  private tbl12HighWater = 0;
  private tbl8HighWater = 0;
  private readonly freeTbl12: number[] = [];
  private readonly freeTbl8: number[] = [];
  private tbl12Live = 0;
  private tbl8Live = 0;
  /** Entry of the default route ::/0 (target + 1, ECMP flag), or 0 without one. */
  private defaultEntry = 0;
  private readonly ecmp = new EcmpGroups(this.nextHops);

  /**
   * Control plane: one map per prefix length, network → target + 1 and ECMP flag. Keys are the
   * network's top bits as a number where they fit one exactly (an int32 for /1../32, which V8
   * keeps as a small integer; a double for /33../52, most of the table), else a string of its
   * eight 16-bit words.
   */
  private readonly routes: Map<number | string, number>[] = [];
  private routeCount = 0;
  /** The prefix being worked on, as four int32 words, most significant first. */
  private readonly words = new Int32Array(4);
  /** First slot of the group on the prefix's path at each level, for `delete`. */
  private readonly path = new Int32Array(LEVELS);

  constructor(options: Ipv6FibOptions = {}) {
    const max12 = options.maxTbl12Groups ?? DEFAULT_MAX_TBL12_GROUPS;
    const max8 = options.maxTbl8Groups ?? DEFAULT_MAX_TBL8_GROUPS;
    if (!Number.isInteger(max12) || max12 < 0 || max12 > MAX_TBL12_GROUPS) {
      throw new RangeError(`maxTbl12Groups must be 0..${MAX_TBL12_GROUPS}`);
    }
    if (!Number.isInteger(max8) || max8 < 0 || max8 > MAX_TBL8_GROUPS) {
      throw new RangeError(`maxTbl8Groups must be 0..${MAX_TBL8_GROUPS}`);
    }
    this.maxTbl12Groups = max12;
    this.maxTbl8Groups = max8;
    this.tbl8Base = TBL12_BASE + (Math.max(max12, SEED_TBL12_GROUPS) << TBL12_SHIFT);
    this.table = new Int32Array(this.tbl8Base + (Math.max(max8, SEED_TBL8_GROUPS) << TBL8_SHIFT));
    this.tbl12Routes = new Int32Array(max12);
    this.tbl8Routes = new Int32Array(max8);
    for (let length = 0; length <= 128; length++) this.routes.push(new Map());
    if (!lookupFeedbackSeeded) {
      lookupFeedbackSeeded = true;
      this.seedLookupFeedback();
    }
  }

  /**
   * Hot path, no allocation: the next-hop id for the destination at buf[off..off+16) (network
   * order, as in a packet), or -1 when no route matches. flowHash picks an ECMP member.
   */
  lookup(buf: Uint8Array, off: number, flowHash: number): number {
    const table = this.table;
    const b2 = buf[off + 2]!;
    let entry = table[(buf[off]! << 12) | (buf[off + 1]! << 4) | (b2 >>> 4)]!;
    if (entry < 0) {
      entry = table[(~entry << 8) | ((b2 & 0xf) << 8) | buf[off + 3]!]!;
      if (entry < 0) {
        entry = table[(~entry << 8) | buf[off + 4]!]!;
        if (entry < 0) {
          entry = table[(~entry << 8) | buf[off + 5]!]!;
          if (entry < 0) entry = this.lookupDeepBytes(entry, buf, off);
        }
      }
    }
    // One unsigned compare for the common case, a route to a next hop (see the encoding above).
    const id = ((entry & PAYLOAD_MASK) - 1) | 0;
    if (id >>> 0 < TARGET_MASK) return id;
    return this.lookupRest(entry, flowHash);
  }

  /**
   * `lookup` for a destination held as four host-order 32-bit words, most significant first
   * (unsigned or int32: only their bits are read).
   */
  lookupWords(w0: number, w1: number, w2: number, w3: number, flowHash: number): number {
    const table = this.table;
    let entry = table[w0 >>> 12]!;
    if (entry < 0) {
      entry = table[(~entry << 8) | (w0 & 0xfff)]!;
      if (entry < 0) {
        entry = table[(~entry << 8) | (w1 >>> 24)]!;
        if (entry < 0) {
          entry = table[(~entry << 8) | ((w1 >>> 16) & 0xff)]!;
          if (entry < 0) entry = this.lookupDeepWords(entry, w1, w2, w3);
        }
      }
    }
    const id = ((entry & PAYLOAD_MASK) - 1) | 0;
    if (id >>> 0 < TARGET_MASK) return id;
    return this.lookupRest(entry, flowHash);
  }

  /**
   * Levels past /48 (no RIS prefix is longer): bytes 6..15, unrolled. A loop here, once inlined,
   * makes the caller's lookup loop an outer loop, which V8 does not peel (it peels innermost loops
   * only), so the lookup's checks stay inside it. Measured with the single table, keys inside RIS
   * prefixes, 6 alternating runs on the loaded machine: 20.5 M/s median (12-23) unrolled, 17.2
   * (9-19) with loops.
   */
  private lookupDeepBytes(entry: number, buf: Uint8Array, off: number): number {
    const table = this.table;
    entry = table[(~entry << 8) | buf[off + 6]!]!;
    if (entry < 0) entry = table[(~entry << 8) | buf[off + 7]!]!;
    if (entry < 0) entry = table[(~entry << 8) | buf[off + 8]!]!;
    if (entry < 0) entry = table[(~entry << 8) | buf[off + 9]!]!;
    if (entry < 0) entry = table[(~entry << 8) | buf[off + 10]!]!;
    if (entry < 0) entry = table[(~entry << 8) | buf[off + 11]!]!;
    if (entry < 0) entry = table[(~entry << 8) | buf[off + 12]!]!;
    if (entry < 0) entry = table[(~entry << 8) | buf[off + 13]!]!;
    if (entry < 0) entry = table[(~entry << 8) | buf[off + 14]!]!;
    if (entry < 0) entry = table[(~entry << 8) | buf[off + 15]!]!;
    return entry;
  }

  private lookupDeepWords(entry: number, w1: number, w2: number, w3: number): number {
    const table = this.table;
    entry = table[(~entry << 8) | ((w1 >>> 8) & 0xff)]!;
    if (entry < 0) entry = table[(~entry << 8) | (w1 & 0xff)]!;
    if (entry < 0) entry = table[(~entry << 8) | (w2 >>> 24)]!;
    if (entry < 0) entry = table[(~entry << 8) | ((w2 >>> 16) & 0xff)]!;
    if (entry < 0) entry = table[(~entry << 8) | ((w2 >>> 8) & 0xff)]!;
    if (entry < 0) entry = table[(~entry << 8) | (w2 & 0xff)]!;
    if (entry < 0) entry = table[(~entry << 8) | (w3 >>> 24)]!;
    if (entry < 0) entry = table[(~entry << 8) | ((w3 >>> 16) & 0xff)]!;
    if (entry < 0) entry = table[(~entry << 8) | ((w3 >>> 8) & 0xff)]!;
    if (entry < 0) entry = table[(~entry << 8) | (w3 & 0xff)]!;
    return entry;
  }

  /** An empty slot (the default route decides) or an ECMP route. */
  private lookupRest(entry: number, flowHash: number): number {
    if (entry === 0) entry = this.defaultEntry;
    if ((entry & ECMP_FLAG) === 0) return (entry & TARGET_MASK) - 1;
    return this.ecmp.member((entry & TARGET_MASK) - 1, flowHash);
  }

  /**
   * V8 compiles a branch that has never run into a deoptimization exit, and a loop holding one is
   * not peeled (see `Ipv4Fib`): the first table built runs every path of `lookup` and
   * `lookupWords` once on its own empty arrays (tbl20, tbl12, each tbl8 level down to /128, the
   * default route, ECMP) and puts them back.
   */
  private seedLookupFeedback(): void {
    const table = this.table;
    const tbl8Unit = this.tbl8Base >> TBL8_SHIFT;
    const leaf = 1; // next hop 0, owner length 0: never read by a lookup
    table[0] = ~(TBL12_BASE >> 8); // 0::/20 split into tbl12 group 0
    table[1] = leaf;
    // 0::/32 split into tbl8 group 0, and so on down: tbl8 group j holds address byte 4 + j.
    table[TBL12_BASE] = ~tbl8Unit;
    table[TBL12_BASE + 1] = leaf;
    const deepest = SEED_TBL8_GROUPS - 1;
    for (let group = 0; group <= deepest; group++) {
      const first = this.tbl8Base + (group << TBL8_SHIFT);
      table[first] = group < deepest ? ~(tbl8Unit + group + 1) : leaf;
      table[first + 1] = leaf;
    }
    table[this.tbl8Base + 3] = ECMP_FLAG | 1; // byte 4 = 3: ECMP group 0, member next hop 0
    this.ecmp.start[0] = 0;
    this.ecmp.size[0] = 1;
    this.ecmp.members[0] = 0;
    this.defaultEntry = leaf; // byte 4 = 2 (an empty tbl8 slot), and tbl20 slot 2
    const addrs: number[][] = [
      [0x1000, 0, 0, 0],
      [1, 0, 0, 0],
      [0x2000, 0, 0, 0],
      [0, 0, 0, 0],
    ];
    for (const byte of [1, 2, 3]) addrs.push([0, byte << 24, 0, 0]);
    for (let i = 5; i < ADDRESS_BYTES; i++) {
      const words = [0, 0, 0, 0];
      words[i >> 2] = 1 << (24 - 8 * (i & 3));
      addrs.push(words);
    }
    const buf = new Uint8Array(addrs.length * ADDRESS_BYTES);
    for (let a = 0; a < addrs.length; a++) {
      for (let i = 0; i < ADDRESS_BYTES; i++)
        buf[a * ADDRESS_BYTES + i] = addrs[a]![i >> 2]! >>> (24 - 8 * (i & 3));
    }
    let sum = 0;
    for (let round = 0; round < 64; round++) {
      for (let a = 0; a < addrs.length; a++) {
        const w = addrs[a]!;
        sum += this.lookupWords(w[0]!, w[1]!, w[2]!, w[3]!, round);
        sum += this.lookup(buf, a * ADDRESS_BYTES, round);
      }
    }
    if (sum !== 0) throw new Error('lookup feedback seeding went wrong');
    table.fill(0, 0, 2);
    table.fill(0, TBL12_BASE, TBL12_BASE + 2);
    table.fill(0, this.tbl8Base, this.tbl8Base + (SEED_TBL8_GROUPS << TBL8_SHIFT));
    this.ecmp.size[0] = 0;
    this.defaultEntry = 0;
  }

  /** Install or replace the route for network/length (see the class comment on references). */
  insert(network: Uint8Array, length: number, target: number, isGroup = false): void {
    this.loadPrefix(network, length);
    if (isGroup ? !this.ecmp.isLive(target) : !this.nextHops.isLive(target)) {
      throw new RangeError(`${isGroup ? 'ECMP group' : 'next hop'} ${target} is not live`);
    }
    if (target > MAX_TARGET) throw new RangeError(`target ${target} too large`);
    const payload = (target + 1) | (isGroup ? ECMP_FLAG : 0);
    const routes = this.routes[length]!;
    const key = this.keyOf(length);
    const old = routes.get(key);
    if (length === 0) {
      this.defaultEntry = payload;
    } else {
      // A new prefix may need a group per level below its first unsplit slot: check they fit
      // before touching anything, so a full table is left as it was. (A replaced prefix's groups
      // exist already.)
      const isNew = old === undefined;
      if (isNew) this.reserveGroups(length);
      let level = 0;
      let group = 0; // first slot of the group at `level`
      while (length > LEVEL_END[level]!) {
        group = this.childFor(level, group, isNew);
        level++;
      }
      const span = 1 << (LEVEL_END[level]! - length);
      this.paint(level, group + this.indexAt(level), span, payload | (length << LENGTH_SHIFT), length);
    }
    routes.set(key, payload);
    if (old === undefined) this.routeCount++;
    else this.releaseEntry(old);
  }

  delete(network: Uint8Array, length: number): boolean {
    this.loadPrefix(network, length);
    const routes = this.routes[length]!;
    const key = this.keyOf(length);
    const old = routes.get(key);
    if (old === undefined) return false;
    routes.delete(key);
    this.routeCount--;
    if (length === 0) {
      this.defaultEntry = 0;
    } else {
      // The slots this prefix owned go back to the longest shorter prefix covering it; with none of
      // length 1 or more they go back to 0, where the default route (if any) takes over.
      const cover = this.findCover(length);
      const path = this.path;
      let level = 0;
      let group = 0; // first slot of the group at `level`
      while (length > LEVEL_END[level]!) {
        group = ~this.table[group + this.indexAt(level)]! << 8;
        level++;
        path[level] = group;
      }
      const span = 1 << (LEVEL_END[level]! - length);
      this.revert(level, group + this.indexAt(level), span, length, cover);
      // The groups on the path each held this route; one left with none folds into its parent.
      for (let k = level; k >= 1; k--) {
        const counts = k === 1 ? this.tbl12Routes : this.tbl8Routes;
        const id = this.groupId(k, path[k]!);
        if (--counts[id]! === 0) this.fold(k, path[k]!, path[k - 1]!);
      }
    }
    this.releaseEntry(old);
    return true;
  }

  /** Exact match, for the control plane. */
  get(network: Uint8Array, length: number): { target: number; isGroup: boolean } | undefined {
    this.loadPrefix(network, length);
    const value = this.routes[length]!.get(this.keyOf(length));
    if (value === undefined) return undefined;
    return { target: (value & TARGET_MASK) - 1, isGroup: (value & ECMP_FLAG) !== 0 };
  }

  /** Number of prefixes. */
  get size(): number {
    return this.routeCount;
  }

  /** tbl12 groups in use (each is a /20 split by longer prefixes). */
  get tbl12GroupsInUse(): number {
    return this.tbl12Live;
  }

  /** tbl8 groups in use (each is a /32, /40, ... /120 split by longer prefixes). */
  get tbl8GroupsInUse(): number {
    return this.tbl8Live;
  }

  /** Live ECMP groups. */
  get groupsInUse(): number {
    return this.ecmp.count;
  }

  /** Live groups of two or more members (see `Ipv4Fib.multipathGroupsInUse`). */
  get multipathGroupsInUse(): number {
    return this.ecmp.multipathCount;
  }

  /** All routes in (network, length) order. */
  *entries(): IterableIterator<Ipv6Route> {
    const all: { network: Uint8Array; length: number; value: number }[] = [];
    for (let length = 0; length <= 128; length++) {
      for (const [key, value] of this.routes[length]!) {
        all.push({ network: decodeKey(key, length), length, value });
      }
    }
    all.sort((a, b) => {
      for (let i = 0; i < ADDRESS_BYTES; i++) {
        const d = a.network[i]! - b.network[i]!;
        if (d !== 0) return d;
      }
      return a.length - b.length;
    });
    for (const { network, length, value } of all) {
      yield { network, length, target: (value & TARGET_MASK) - 1, isGroup: (value & ECMP_FLAG) !== 0 };
    }
  }

  /**
   * Bytes of forwarding state in use: tbl20, the group pools up to their high-water mark, the
   * groups' route counts, ECMP groups and next hops (the control-plane maps are not counted, nor
   * the pools' reserved address space past the high-water mark, which no page backs).
   */
  memoryBytes(): number {
    return (
      TBL20_SIZE * 4 +
      this.tbl12HighWater * ((4 << TBL12_SHIFT) + 4) +
      this.tbl8HighWater * ((4 << TBL8_SHIFT) + 4) +
      this.ecmp.memoryBytes() +
      this.nextHops.memoryBytes()
    );
  }

  /**
   * ECMP: a group of next-hop ids, returned as a group id. Takes over one reference per member.
   * The same member list (in the same order) yields the same group with one more reference.
   */
  acquireGroup(nextHopIds: readonly number[]): number {
    return this.ecmp.acquire(nextHopIds);
  }

  /** A group of its own, changeable in place (see `Ipv4Fib.createGroup`). */
  createGroup(nextHopIds: readonly number[]): number {
    return this.ecmp.create(nextHopIds);
  }

  /** One more reference to a live group (each route inserted with it takes one). */
  retainGroup(groupId: number): void {
    this.ecmp.retain(groupId);
  }

  /** Replaces a live group's members in place (see `Ipv4Fib.setGroupMembers`). */
  setGroupMembers(groupId: number, nextHopIds: readonly number[]): void {
    this.ecmp.setMembers(groupId, nextHopIds);
  }

  releaseGroup(groupId: number): void {
    this.ecmp.release(groupId);
  }

  /** Members of a live ECMP group, for the control plane. */
  groupMembers(groupId: number): number[] {
    return this.ecmp.memberList(groupId);
  }

  private releaseEntry(value: number): void {
    const target = (value & TARGET_MASK) - 1;
    if ((value & ECMP_FLAG) !== 0) this.ecmp.release(target);
    else this.nextHops.release(target);
  }

  /** Checks network/length and loads the network into `words`. */
  private loadPrefix(network: Uint8Array, length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > 128) {
      throw new RangeError(`prefix length ${length} is not 0..128`);
    }
    if (!(network instanceof Uint8Array) || network.length !== ADDRESS_BYTES) {
      throw new RangeError('an IPv6 network is 16 bytes');
    }
    const words = this.words;
    for (let i = 0; i < 4; i++) {
      const w =
        (network[4 * i]! << 24) |
        (network[4 * i + 1]! << 16) |
        (network[4 * i + 2]! << 8) |
        network[4 * i + 3]!;
      if ((w & ~maskWord(length - 32 * i)) !== 0) {
        throw new RangeError(`network has host bits set for /${length}`);
      }
      words[i] = w;
    }
  }

  /** Control-plane key of `words` cut to `length` bits (see `routes`). */
  private keyOf(length: number): number | string {
    const words = this.words;
    const w0 = words[0]! & maskWord(length);
    if (length <= 32) return w0;
    const w1 = words[1]! & maskWord(length - 32);
    if (length <= 52) return (w0 >>> 0) * 0x100000 + (w1 >>> 12);
    const w2 = words[2]! & maskWord(length - 64);
    const w3 = words[3]! & maskWord(length - 96);
    return String.fromCharCode(
      w0 >>> 16,
      w0 & 0xffff,
      w1 >>> 16,
      w1 & 0xffff,
      w2 >>> 16,
      w2 & 0xffff,
      w3 >>> 16,
      w3 & 0xffff,
    );
  }

  /** The route entry (with its length) of the longest prefix shorter than `length` covering `words`, or 0. */
  private findCover(length: number): number {
    for (let l = length - 1; l >= 1; l--) {
      const m = this.routes[l]!;
      if (m.size === 0) continue;
      const value = m.get(this.keyOf(l));
      if (value !== undefined) return value | (l << LENGTH_SHIFT);
    }
    return 0;
  }

  /** Slot index of `words` in a group of `level`. */
  private indexAt(level: number): number {
    const words = this.words;
    if (level === 0) return words[0]! >>> 12;
    if (level === 1) return words[0]! & 0xfff;
    const byte = level + 2; // tbl8 level 2 reads address byte 4, and so on
    return (words[byte >> 2]! >>> (24 - 8 * (byte & 3))) & 0xff;
  }

  /** Group id (index into its pool) of the group at `level` that starts at slot `first`. */
  private groupId(level: number, first: number): number {
    return level === 1 ? (first - TBL12_BASE) >> TBL12_SHIFT : (first - this.tbl8Base) >> TBL8_SHIFT;
  }

  /** Throws when the pools cannot hold the groups a new prefix of `length` at `words` needs. */
  private reserveGroups(length: number): void {
    let need12 = 0;
    let need8 = 0;
    let group = 0;
    let split = true;
    for (let level = 0; length > LEVEL_END[level]!; level++) {
      if (split) {
        const entry = this.table[group + this.indexAt(level)]!;
        if (entry < 0) group = ~entry << 8;
        else split = false;
      }
      if (!split) {
        if (level === 0) need12++;
        else need8++;
      }
    }
    if (need12 > this.freeTbl12.length + this.maxTbl12Groups - this.tbl12HighWater) {
      throw new RangeError(`FIB full: all ${this.maxTbl12Groups} tbl12 groups are in use`);
    }
    if (need8 > this.freeTbl8.length + this.maxTbl8Groups - this.tbl8HighWater) {
      throw new RangeError(`FIB full: all ${this.maxTbl8Groups} tbl8 groups are in use`);
    }
  }

  /**
   * The first slot of the child group under `words`' slot in the group at `level` starting at
   * `group`, splitting the slot if it holds a route.
   */
  private childFor(level: number, group: number, countRoute: boolean): number {
    const slot = group + this.indexAt(level);
    const entry = this.table[slot]!;
    let child: number;
    if (entry < 0) {
      child = ~entry << 8;
    } else {
      child = level === 0 ? this.allocTbl12(entry) : this.allocTbl8(entry);
      this.table[slot] = ~(child >> 8);
    }
    if (countRoute) {
      if (level === 0) this.tbl12Routes[this.groupId(1, child)]!++;
      else this.tbl8Routes[this.groupId(2, child)]!++;
    }
    return child;
  }

  /**
   * Claim slots [first, first+count) (of one group at `level`) whose owner is not longer than
   * `length`, and the slots of the groups below them.
   */
  private paint(level: number, first: number, count: number, entry: number, length: number): void {
    const table = this.table;
    const end = first + count;
    const childSize = level === 0 ? 1 << TBL12_SHIFT : 1 << TBL8_SHIFT;
    for (let i = first; i < end; i++) {
      const e = table[i]!;
      if (e < 0) this.paint(level + 1, ~e << 8, childSize, entry, length);
      else if (e >>> LENGTH_SHIFT <= length) table[i] = entry;
    }
  }

  /** Hand the slots a deleted /`length` owned in [first, first+count) (and below) to its cover. */
  private revert(level: number, first: number, count: number, length: number, cover: number): void {
    const table = this.table;
    const end = first + count;
    const childSize = level === 0 ? 1 << TBL12_SHIFT : 1 << TBL8_SHIFT;
    for (let i = first; i < end; i++) {
      const e = table[i]!;
      if (e < 0) this.revert(level + 1, ~e << 8, childSize, length, cover);
      else if (e >>> LENGTH_SHIFT === length) table[i] = cover;
    }
  }

  /**
   * A group with no route inside it holds one entry in every slot (the longest prefix covering its
   * whole range, or 0): that entry goes back into the parent slot and the group is freed.
   */
  private fold(level: number, group: number, parent: number): void {
    this.table[parent + this.indexAt(level - 1)] = this.table[group]!;
    if (level === 1) {
      this.freeTbl12.push(this.groupId(1, group));
      this.tbl12Live--;
    } else {
      this.freeTbl8.push(this.groupId(2, group));
      this.tbl8Live--;
    }
  }

  /** A tbl12 group with every slot `fill`: its first slot. */
  private allocTbl12(fill: number): number {
    let id = this.freeTbl12.pop();
    if (id === undefined) {
      if (this.tbl12HighWater >= this.maxTbl12Groups) {
        throw new RangeError(`FIB full: all ${this.maxTbl12Groups} tbl12 groups are in use`);
      }
      id = this.tbl12HighWater++;
    }
    const first = TBL12_BASE + (id << TBL12_SHIFT);
    this.table.fill(fill, first, first + (1 << TBL12_SHIFT));
    this.tbl12Routes[id] = 0;
    this.tbl12Live++;
    return first;
  }

  /** A tbl8 group with every slot `fill`: its first slot. */
  private allocTbl8(fill: number): number {
    let id = this.freeTbl8.pop();
    if (id === undefined) {
      if (this.tbl8HighWater >= this.maxTbl8Groups) {
        throw new RangeError(`FIB full: all ${this.maxTbl8Groups} tbl8 groups are in use`);
      }
      id = this.tbl8HighWater++;
    }
    const first = this.tbl8Base + (id << TBL8_SHIFT);
    this.table.fill(fill, first, first + (1 << TBL8_SHIFT));
    this.tbl8Routes[id] = 0;
    this.tbl8Live++;
    return first;
  }
}

/** The 16-byte network of a control-plane key (see `Ipv6Fib.routes`). */
function decodeKey(key: number | string, length: number): Uint8Array {
  const words = new Int32Array(4);
  if (typeof key === 'string') {
    for (let i = 0; i < 4; i++) words[i] = (key.charCodeAt(2 * i) << 16) | key.charCodeAt(2 * i + 1);
  } else if (length <= 32) {
    words[0] = key;
  } else {
    words[0] = Math.floor(key / 0x100000);
    words[1] = (key % 0x100000) << 12;
  }
  const out = new Uint8Array(ADDRESS_BYTES);
  for (let i = 0; i < ADDRESS_BYTES; i++) out[i] = words[i >> 2]! >>> (24 - 8 * (i & 3));
  return out;
}
