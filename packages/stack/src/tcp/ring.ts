import { copyBytes } from '@nexthop/wire';

const INITIAL_STORAGE = 4096;
/**
 * Initial-size storage given back by released rings, zeroed, for the next connection: a connection
 * that opens, moves a few bytes and closes then allocates (and later collects) no buffer at all.
 */
const spare: Uint8Array[] = [];
const MAX_SPARE = 256;
const EMPTY = new Uint8Array(0);

/**
 * A bounded byte queue. `limit` is the logical capacity (SO_SNDBUF/SO_RCVBUF); the storage is a
 * power of two that grows on demand up to the first size >= limit, so an idle connection does not
 * hold its full buffer and the data path allocates only when a connection first gets busy.
 * Bytes beyond `length` can be written at an offset (out-of-order data) without becoming readable.
 */
export class ByteRing {
  private mem: Uint8Array;
  private mask: number;
  private head = 0;
  length = 0;
  limit: number;

  constructor(limit: number) {
    this.limit = limit;
    this.mem = EMPTY;
    this.mask = -1;
  }

  get free(): number {
    return this.limit > this.length ? this.limit - this.length : 0;
  }

  /** Frees the storage; the ring stays usable and empty. */
  release(): void {
    const mem = this.mem;
    // Zeroed on the way back: no connection ever sees another's bytes.
    if (mem.length === INITIAL_STORAGE && spare.length < MAX_SPARE) spare.push(mem.fill(0));
    this.mem = EMPTY;
    this.mask = -1;
    this.head = 0;
    this.length = 0;
  }

  private ensure(size: number): void {
    const cap = this.mem.length;
    if (size <= cap) return;
    let next = cap === 0 ? INITIAL_STORAGE : cap * 2;
    while (next < size) next *= 2;
    const mem = next === INITIAL_STORAGE && spare.length > 0 ? spare.pop()! : new Uint8Array(next);
    // Keep everything up to the logical limit (written out-of-order bytes included).
    const keep = Math.min(cap, Math.max(this.limit, this.length));
    if (keep > 0) {
      const first = Math.min(keep, cap - this.head);
      copyBytes(this.mem, this.head, mem, 0, first);
      if (first < keep) copyBytes(this.mem, 0, mem, first, keep - first);
    }
    this.mem = mem;
    this.mask = next - 1;
    this.head = 0;
  }

  /** Appends up to len bytes; returns how many fit. */
  write(src: Uint8Array, off: number, len: number): number {
    const n = Math.min(len, this.free);
    if (n <= 0) return 0;
    this.writeAt(this.length, src, off, n);
    this.length += n;
    return n;
  }

  /** Writes bytes at logical offset `at` (from the head) without changing length. */
  writeAt(at: number, src: Uint8Array, off: number, len: number): void {
    this.ensure(at + len);
    const mem = this.mem;
    const cap = mem.length;
    const pos = (this.head + at) & this.mask;
    const first = Math.min(len, cap - pos);
    copyBytes(src, off, mem, pos, first);
    if (first < len) copyBytes(src, off + first, mem, 0, len - first);
  }

  /** Makes n bytes already written at the tail readable. */
  commit(n: number): void {
    this.length += n;
  }

  /** Copies len bytes starting at logical offset `at` into dst without consuming. */
  peek(at: number, dst: Uint8Array, dstOff: number, len: number): void {
    const mem = this.mem;
    const cap = mem.length;
    const pos = (this.head + at) & this.mask;
    const first = Math.min(len, cap - pos);
    copyBytes(mem, pos, dst, dstOff, first);
    if (first < len) copyBytes(mem, 0, dst, dstOff + first, len - first);
  }

  consume(n: number): void {
    this.length -= n;
    this.head = (this.head + n) & this.mask;
  }

  read(dst: Uint8Array, off: number, len: number): number {
    const n = Math.min(len, this.length);
    if (n <= 0) return 0;
    this.peek(0, dst, off, n);
    this.consume(n);
    return n;
  }
}
