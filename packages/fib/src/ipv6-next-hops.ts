import { NH_FORWARD, NH_REJECT } from './next-hops.ts';

const INITIAL_CAPACITY = 64;
const GATEWAY_BYTES = 16;

/**
 * Interned IPv6 next hops (kind, ifIndex, gateway) with reference counts: `NextHopTable`'s
 * semantics (same kinds, dense reused ids, one reference per acquire) with a 16-byte gateway.
 * An all-zero gateway (`::`, or `null` to `acquire`) means directly connected: the destination
 * itself is the neighbour. Reading a gateway on the forwarding path allocates nothing
 * (`gatewayWord`, `gatewayInto`).
 */
export class Ipv6NextHopTable {
  #kinds = new Uint8Array(INITIAL_CAPACITY);
  #ifIndexes = new Int32Array(INITIAL_CAPACITY);
  /** Four host-order words per id, most significant first. */
  #gateways = new Int32Array(INITIAL_CAPACITY * 4);
  #refs = new Uint32Array(INITIAL_CAPACITY);
  #idByKey = new Map<string, number>();
  #freeIds: number[] = [];
  #highWater = 0;
  #live = 0;

  /**
   * Returns the id of the next hop (kind, ifIndex, gateway), creating it or taking another
   * reference. gateway: 16 bytes in network order, or null for directly connected.
   */
  acquire(kind: number, ifIndex: number, gateway: Uint8Array | null): number {
    if (!Number.isInteger(kind) || kind < NH_FORWARD || kind > NH_REJECT) {
      throw new RangeError(`unknown next-hop kind ${kind}`);
    }
    if (!Number.isInteger(ifIndex) || ifIndex < 0 || ifIndex > 0x7fffffff) {
      throw new RangeError(`bad ifIndex ${ifIndex}`);
    }
    if (gateway !== null && (!(gateway instanceof Uint8Array) || gateway.length !== GATEWAY_BYTES)) {
      throw new RangeError('an IPv6 gateway is 16 bytes');
    }
    let w0 = 0;
    let w1 = 0;
    let w2 = 0;
    let w3 = 0;
    if (gateway !== null) {
      w0 = wordAt(gateway, 0);
      w1 = wordAt(gateway, 4);
      w2 = wordAt(gateway, 8);
      w3 = wordAt(gateway, 12);
    }
    const key = `${kind}/${ifIndex}/${w0}/${w1}/${w2}/${w3}`;
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
    this.#gateways[4 * id] = w0;
    this.#gateways[4 * id + 1] = w1;
    this.#gateways[4 * id + 2] = w2;
    this.#gateways[4 * id + 3] = w3;
    this.#refs[id] = 1;
    this.#idByKey.set(key, id);
    this.#live++;
    return id;
  }

  /** Takes one more reference on a live id. */
  retain(id: number): void {
    this.#checkLive(id);
    this.#refs[id]!++;
  }

  /** Drops one reference; the id is freed (and later reused) when the last one goes. */
  release(id: number): void {
    this.#checkLive(id);
    if (--this.#refs[id]! > 0) return;
    const g = this.#gateways;
    this.#idByKey.delete(
      `${this.#kinds[id]}/${this.#ifIndexes[id]}/${g[4 * id]}/${g[4 * id + 1]}/${g[4 * id + 2]}/${g[4 * id + 3]}`,
    );
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

  /** Word `i` (0..3, most significant first) of the gateway, as an int32 (`>>> 0` for unsigned). */
  gatewayWord(id: number, i: number): number {
    return this.#gateways[4 * id + (i & 3)]!;
  }

  /** Writes the gateway (16 bytes, network order) to out[off..off+16). */
  gatewayInto(id: number, out: Uint8Array, off: number): void {
    for (let i = 0; i < 4; i++) {
      const w = this.#gateways[4 * id + i]!;
      out[off + 4 * i] = w >>> 24;
      out[off + 4 * i + 1] = w >>> 16;
      out[off + 4 * i + 2] = w >>> 8;
      out[off + 4 * i + 3] = w;
    }
  }

  /** The gateway as a new 16-byte array (control plane; all zero when directly connected). */
  gateway(id: number): Uint8Array {
    const out = new Uint8Array(GATEWAY_BYTES);
    this.gatewayInto(id, out, 0);
    return out;
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
    const gateways = new Int32Array(capacity * 4);
    gateways.set(this.#gateways);
    this.#gateways = gateways;
    const refs = new Uint32Array(capacity);
    refs.set(this.#refs);
    this.#refs = refs;
  }
}

/** Big-endian word at buf[off..off+4), as an int32. */
function wordAt(buf: Uint8Array, off: number): number {
  return (buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!;
}
