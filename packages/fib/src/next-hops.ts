/** Next-hop kinds. Plain numbers so they can live in a typed array and be compared cheaply. */
export const NH_FORWARD = 0;
export const NH_LOCAL = 1;
export const NH_BLACKHOLE = 2;
export const NH_REJECT = 3;

const INITIAL_CAPACITY = 64;

/**
 * Interned next hops (kind, ifIndex, gateway) with reference counts. Ids are small dense integers
 * so the forwarding path can index typed arrays with them; freed ids are reused.
 */
export class NextHopTable {
  #kinds = new Uint8Array(INITIAL_CAPACITY);
  #ifIndexes = new Int32Array(INITIAL_CAPACITY);
  #gateways = new Uint32Array(INITIAL_CAPACITY);
  #refs = new Uint32Array(INITIAL_CAPACITY);
  #idByKey = new Map<string, number>();
  #freeIds: number[] = [];
  #highWater = 0;
  #live = 0;

  /**
   * Returns the id of the next hop (kind, ifIndex, gateway), creating it or taking another
   * reference. gateway 0 = directly connected (the destination itself is the neighbour).
   */
  acquire(kind: number, ifIndex: number, gateway: number): number {
    if (!Number.isInteger(kind) || kind < NH_FORWARD || kind > NH_REJECT) {
      throw new RangeError(`unknown next-hop kind ${kind}`);
    }
    if (!Number.isInteger(ifIndex) || ifIndex < 0 || ifIndex > 0x7fffffff) {
      throw new RangeError(`bad ifIndex ${ifIndex}`);
    }
    if (!Number.isInteger(gateway) || gateway < 0 || gateway > 0xffffffff) {
      throw new RangeError(`bad gateway ${gateway}`);
    }
    const key = `${kind}/${ifIndex}/${gateway}`;
    const existing = this.#idByKey.get(key);
    if (existing !== undefined) {
      this.#refs[existing]!++;
      return existing;
    }
    let id = this.#freeIds.pop();
    if (id === undefined) {
      id = this.#highWater++;
      if (id >= this.#kinds.length) this.#grow();
    }
    this.#kinds[id] = kind;
    this.#ifIndexes[id] = ifIndex;
    this.#gateways[id] = gateway;
    this.#refs[id] = 1;
    this.#idByKey.set(key, id);
    this.#live++;
    return id;
  }

  /** Takes one more reference on a live id (used by ECMP groups that share members). */
  retain(id: number): void {
    this.#checkLive(id);
    this.#refs[id]!++;
  }

  /** Drops one reference; the id is freed (and later reused) when the last one goes. */
  release(id: number): void {
    this.#checkLive(id);
    if (--this.#refs[id]! > 0) return;
    this.#idByKey.delete(`${this.#kinds[id]}/${this.#ifIndexes[id]}/${this.#gateways[id]}`);
    this.#freeIds.push(id);
    this.#live--;
  }

  isLive(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.#highWater && this.#refs[id]! > 0;
  }

  refCount(id: number): number {
    return id >= 0 && id < this.#highWater ? this.#refs[id]! : 0;
  }

  kind(id: number): number {
    return this.#kinds[id]!;
  }

  ifIndex(id: number): number {
    return this.#ifIndexes[id]!;
  }

  gateway(id: number): number {
    return this.#gateways[id]!;
  }

  /** Live next hops. */
  get size(): number {
    return this.#live;
  }

  memoryBytes(): number {
    return (
      this.#kinds.byteLength + this.#ifIndexes.byteLength + this.#gateways.byteLength + this.#refs.byteLength
    );
  }

  #checkLive(id: number): void {
    if (!this.isLive(id)) throw new RangeError(`next hop ${id} is not live`);
  }

  #grow(): void {
    const capacity = this.#kinds.length * 2;
    const kinds = new Uint8Array(capacity);
    kinds.set(this.#kinds);
    this.#kinds = kinds;
    const ifIndexes = new Int32Array(capacity);
    ifIndexes.set(this.#ifIndexes);
    this.#ifIndexes = ifIndexes;
    const gateways = new Uint32Array(capacity);
    gateways.set(this.#gateways);
    this.#gateways = gateways;
    const refs = new Uint32Array(capacity);
    refs.set(this.#refs);
    this.#refs = refs;
  }
}
