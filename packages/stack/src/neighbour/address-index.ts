/**
 * Small integer ids for (interface, IPv6 address) pairs, so that the neighbour cache (cache.ts, a
 * Map keyed by a value V8 holds unboxed) can be keyed by IPv6 neighbours without building a key
 * per packet. `find` reads the 16 bytes in place from the packet or the FIB's scratch and probes
 * an open-addressing table of typed arrays: no allocation, no string. Ids are handed out on a
 * miss (`add`, the slow path that creates a neighbour entry) and given back when the entry is gone.
 *
 * Why not a string of the 16 bytes: the key would be built for every forwarded packet. Why not the
 * FIB's next-hop id: a connected route has one next hop for every destination on the link.
 */
export class Ipv6AddressIndex {
  /** Per id: the address as four int32 words, most significant first, and the interface (-1: free). */
  private words = new Int32Array(64 * 4);
  private ifIndexes = new Int32Array(64).fill(-1);
  private readonly freeIds: number[] = [];
  private highWater = 0;
  private live = 0;
  /** Linear probing: slot → id, -1 empty. A power of two, at most half full. */
  private slots = new Int32Array(128).fill(-1);

  get size(): number {
    return this.live;
  }

  /** The id of (ifIndex, buf[off..off+16)), or -1. */
  find(ifIndex: number, buf: Uint8Array, off: number): number {
    const w0 = word(buf, off);
    const w1 = word(buf, off + 4);
    const w2 = word(buf, off + 8);
    const w3 = word(buf, off + 12);
    const slots = this.slots;
    const mask = slots.length - 1;
    const words = this.words;
    for (let s = hash(ifIndex, w0, w1, w2, w3) & mask; ; s = (s + 1) & mask) {
      const id = slots[s]!;
      if (id < 0) return -1;
      const w = id * 4;
      if (
        words[w + 3] === w3 &&
        words[w + 2] === w2 &&
        words[w + 1] === w1 &&
        words[w] === w0 &&
        this.ifIndexes[id] === ifIndex
      )
        return id;
    }
  }

  /** The id of (ifIndex, buf[off..off+16)), made if missing. */
  add(ifIndex: number, buf: Uint8Array, off: number): number {
    const found = this.find(ifIndex, buf, off);
    if (found >= 0) return found;
    if (2 * (this.live + 1) > this.slots.length) this.rehash(this.slots.length * 2);
    let id = this.freeIds.pop();
    if (id === undefined) {
      id = this.highWater++;
      if (id >= this.ifIndexes.length) this.grow();
    }
    const w = id * 4;
    this.words[w] = word(buf, off);
    this.words[w + 1] = word(buf, off + 4);
    this.words[w + 2] = word(buf, off + 8);
    this.words[w + 3] = word(buf, off + 12);
    this.ifIndexes[id] = ifIndex;
    this.place(id);
    this.live++;
    return id;
  }

  /** Gives an id back (backward-shift deletion keeps every probe chain whole). */
  remove(id: number): void {
    if (this.ifIndexes[id]! < 0) return;
    const slots = this.slots;
    const mask = slots.length - 1;
    let s = this.slotOf(id);
    slots[s] = -1;
    for (let j = (s + 1) & mask; slots[j]! >= 0; j = (j + 1) & mask) {
      const other = slots[j]!;
      const home = this.home(other) & mask;
      // Move `other` into the hole if its home is not within (s, j] cyclically.
      if ((j > s && (home <= s || home > j)) || (j < s && home <= s && home > j)) {
        slots[s] = other;
        slots[j] = -1;
        s = j;
      }
    }
    this.ifIndexes[id] = -1;
    this.freeIds.push(id);
    this.live--;
  }

  ifIndex(id: number): number {
    return this.ifIndexes[id]!;
  }

  /** Writes the address of `id` to out[off..off+16). */
  addressInto(id: number, out: Uint8Array, off: number): void {
    for (let i = 0; i < 4; i++) {
      const w = this.words[id * 4 + i]!;
      out[off + 4 * i] = w >>> 24;
      out[off + 4 * i + 1] = w >>> 16;
      out[off + 4 * i + 2] = w >>> 8;
      out[off + 4 * i + 3] = w;
    }
  }

  address(id: number): Uint8Array {
    const out = new Uint8Array(16);
    this.addressInto(id, out, 0);
    return out;
  }

  /** Every live id (control plane). */
  *ids(): IterableIterator<number> {
    for (let id = 0; id < this.highWater; id++) if (this.ifIndexes[id]! >= 0) yield id;
  }

  private home(id: number): number {
    const w = id * 4;
    const words = this.words;
    return hash(this.ifIndexes[id]!, words[w]!, words[w + 1]!, words[w + 2]!, words[w + 3]!);
  }

  private slotOf(id: number): number {
    const mask = this.slots.length - 1;
    for (let s = this.home(id) & mask; ; s = (s + 1) & mask) if (this.slots[s] === id) return s;
  }

  private place(id: number): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let s = this.home(id) & mask;
    while (slots[s]! >= 0) s = (s + 1) & mask;
    slots[s] = id;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size).fill(-1);
    for (let id = 0; id < this.highWater; id++) if (this.ifIndexes[id]! >= 0) this.place(id);
  }

  private grow(): void {
    const n = this.ifIndexes.length * 2;
    const words = new Int32Array(n * 4);
    words.set(this.words);
    this.words = words;
    const ifIndexes = new Int32Array(n).fill(-1);
    ifIndexes.set(this.ifIndexes);
    this.ifIndexes = ifIndexes;
  }
}

function word(buf: Uint8Array, off: number): number {
  return (buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!;
}

/** Murmur3-style mixing of the five words (the low bits index the table). */
function hash(ifIndex: number, w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(ifIndex ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ w0, 0xcc9e2d51);
  h = Math.imul((h << 13) | (h >>> 19), 5) ^ w1;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) ^ w2;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) ^ w3;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  return (h ^ (h >>> 15)) >>> 0;
}
