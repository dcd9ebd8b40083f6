// A map keyed by byte strings, for interning: a 32-bit FNV-1a hash picks a bucket, the bytes
// decide. Building a JS string per key (and hashing it again inside Map) cost more than decoding
// the attributes themselves on a full-table feed.

import { bytesEqual } from '@nexthop/wire';

interface Entry<V> {
  /** The key is arena[off, off+len). */
  readonly off: number;
  readonly len: number;
  value: V;
  next: Entry<V> | undefined;
}

export function hashBytes(b: Uint8Array, off: number, len: number): number {
  let h = 0x811c9dc5;
  for (let i = off, end = off + len; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

/**
 * Keys live in one growing arena rather than a Uint8Array each: a typed array per key cost more
 * to allocate and collect than the rest of an UPDATE decode. Deleted keys leave their bytes in the
 * arena until clear() (interned sets are few and long-lived).
 */
export class ByteMap<V> {
  private readonly buckets = new Map<number, Entry<V>>();
  private arena = new Uint8Array(1 << 16);
  private used = 0;
  size = 0;

  get(b: Uint8Array, off: number, len: number, hash = hashBytes(b, off, len)): V | undefined {
    for (let e = this.buckets.get(hash); e !== undefined; e = e.next) {
      if (e.len === len && bytesEqual(this.arena, e.off, b, off, len)) return e.value;
    }
    return undefined;
  }

  /** Adds (a copy of) the key; the caller has checked it is not there. */
  add(b: Uint8Array, off: number, len: number, value: V, hash = hashBytes(b, off, len)): void {
    if (this.used + len > this.arena.length) {
      const bigger = new Uint8Array(Math.max(this.arena.length * 2, this.used + len));
      bigger.set(this.arena.subarray(0, this.used));
      this.arena = bigger;
    }
    const at = this.used;
    for (let i = 0; i < len; i++) this.arena[at + i] = b[off + i]!;
    this.used += len;
    const head = this.buckets.get(hash);
    this.buckets.set(hash, { off: at, len, value, next: head });
    this.size++;
  }

  delete(b: Uint8Array, off: number, len: number): boolean {
    const hash = hashBytes(b, off, len);
    let prev: Entry<V> | undefined;
    for (let e = this.buckets.get(hash); e !== undefined; prev = e, e = e.next) {
      if (e.len === len && bytesEqual(this.arena, e.off, b, off, len)) {
        if (prev !== undefined) prev.next = e.next;
        else if (e.next !== undefined) this.buckets.set(hash, e.next);
        else this.buckets.delete(hash);
        this.size--;
        return true;
      }
    }
    return false;
  }

  clear(): void {
    this.buckets.clear();
    this.used = 0;
    this.size = 0;
  }
}
