import { copyBytes } from '@nexthop/wire';

/** What shift fills: the datagram's source, local destination and interface (RecvMeta's fields). */
export interface DatagramMeta {
  family: 4 | 6;
  addr: number;
  readonly addr6: Uint8Array;
  port: number;
  dst: number;
  readonly dst6: Uint8Array;
  ifIndex: number;
  hopLimit: number;
  length: number;
  truncated: boolean;
}

/**
 * A bounded receive queue of datagrams: payload bytes in one circular byte ring, per-datagram
 * metadata in parallel typed-array rings. Nothing is allocated per datagram; a datagram that does
 * not fit (bytes or slots) is refused and the caller counts the drop. An AF_INET6 socket's queue
 * also holds IPv6 addresses (16 bytes a slot for source and destination) and each slot's family: a
 * dual-stack socket receives both.
 */
export class DatagramQueue {
  private ring: Uint8Array;
  private head = 0; // byte offset of the oldest datagram
  private used = 0; // bytes in the ring
  private readonly lens: Int32Array;
  private readonly starts: Int32Array;
  private readonly srcs: Uint32Array;
  private readonly ports: Int32Array;
  private readonly dsts: Uint32Array;
  private readonly ifs: Int32Array;
  /** The IPv6 hop limit each datagram arrived with; -1 for IPv4. */
  private readonly hops: Int16Array;
  /** AF_INET6 sockets only: 6 for a slot holding IPv6 addresses, else 4. */
  private readonly families: Uint8Array | null;
  private readonly srcs6: Uint8Array | null;
  private readonly dsts6: Uint8Array | null;
  private first = 0; // slot of the oldest datagram
  count = 0;

  constructor(bytes: number, slots: number, ipv6 = false) {
    this.families = ipv6 ? new Uint8Array(slots) : null;
    this.srcs6 = ipv6 ? new Uint8Array(slots * 16) : null;
    this.dsts6 = ipv6 ? new Uint8Array(slots * 16) : null;
    this.ring = new Uint8Array(bytes);
    this.lens = new Int32Array(slots);
    this.starts = new Int32Array(slots);
    this.srcs = new Uint32Array(slots);
    this.ports = new Int32Array(slots);
    this.dsts = new Uint32Array(slots);
    this.ifs = new Int32Array(slots);
    this.hops = new Int16Array(slots);
  }

  get bytes(): number {
    return this.used;
  }

  get capacity(): number {
    return this.ring.length;
  }

  /** Payload bytes of the oldest datagram, -1 when empty. */
  peekLength(): number {
    return this.count === 0 ? -1 : this.lens[this.first]!;
  }

  /** Grows or shrinks the byte ring (SO_RCVBUF), keeping the queued datagrams that still fit. */
  resize(bytes: number): void {
    const next = new Uint8Array(bytes);
    let w = 0;
    let kept = 0;
    const slots = this.lens.length;
    for (let i = 0; i < this.count; i++) {
      const s = (this.first + i) % slots;
      const len = this.lens[s]!;
      if (w + len > bytes) break;
      this.copyOut(this.starts[s]!, len, next, w);
      this.starts[s] = w;
      w += len;
      kept++;
    }
    this.ring = next;
    this.head = 0;
    this.used = w;
    this.count = kept;
  }

  push(
    buf: Uint8Array,
    off: number,
    len: number,
    src: number,
    port: number,
    dst: number,
    ifIndex: number,
    ttl = -1,
  ): boolean {
    const s = this.pushBytes(buf, off, len);
    if (s < 0) return false;
    this.srcs[s] = src;
    this.ports[s] = port;
    this.dsts[s] = dst;
    this.ifs[s] = ifIndex;
    this.hops[s] = ttl;
    if (this.families !== null) this.families[s] = 4;
    return true;
  }

  /**
   * An IPv6 datagram (AF_INET6 queues only): source and destination are 16 bytes at their offsets;
   * `hopLimit` the hop limit it arrived with.
   */
  push6(
    buf: Uint8Array,
    off: number,
    len: number,
    addrs: Uint8Array,
    srcOff: number,
    port: number,
    dstOff: number,
    ifIndex: number,
    hopLimit = -1,
  ): boolean {
    const fam = this.families;
    if (fam === null) return false;
    const s = this.pushBytes(buf, off, len);
    if (s < 0) return false;
    fam[s] = 6;
    copyBytes(addrs, srcOff, this.srcs6!, s * 16, 16);
    copyBytes(addrs, dstOff, this.dsts6!, s * 16, 16);
    this.srcs[s] = 0;
    this.dsts[s] = 0;
    this.ports[s] = port;
    this.ifs[s] = ifIndex;
    this.hops[s] = hopLimit;
    return true;
  }

  /** Copies the payload into the ring and takes a slot for it: the slot, or -1 when it does not fit. */
  private pushBytes(buf: Uint8Array, off: number, len: number): number {
    const slots = this.lens.length;
    const cap = this.ring.length;
    if (this.count === slots || this.used + len > cap) return -1;
    const start = (this.head + this.used) % cap;
    const firstPart = Math.min(len, cap - start);
    copyBytes(buf, off, this.ring, start, firstPart);
    if (firstPart < len) copyBytes(buf, off + firstPart, this.ring, 0, len - firstPart);
    const s = (this.first + this.count) % slots;
    this.lens[s] = len;
    this.starts[s] = start;
    this.used += len;
    this.count++;
    return s;
  }

  /**
   * Takes the oldest datagram: copies up to `len` bytes into out[off..] (the rest is discarded, as
   * recvfrom without MSG_PEEK does) and fills its metadata into `meta`. Returns bytes copied, -1 if empty.
   */
  shift(out: Uint8Array, off: number, len: number, meta: DatagramMeta): number {
    if (this.count === 0) return -1;
    const s = this.first;
    const full = this.lens[s]!;
    const n = Math.min(full, len);
    this.copyOut(this.starts[s]!, n, out, off);
    meta.addr = this.srcs[s]!;
    meta.port = this.ports[s]!;
    meta.dst = this.dsts[s]!;
    meta.family = this.families !== null && this.families[s] === 6 ? 6 : 4;
    if (meta.family === 6) {
      copyBytes(this.srcs6!, s * 16, meta.addr6, 0, 16);
      copyBytes(this.dsts6!, s * 16, meta.dst6, 0, 16);
    }
    meta.ifIndex = this.ifs[s]!;
    meta.hopLimit = this.hops[s]!;
    meta.length = full;
    meta.truncated = n < full;
    this.first = (s + 1) % this.lens.length;
    this.count--;
    this.used -= full;
    this.head = this.count === 0 ? 0 : this.starts[this.first]!;
    return n;
  }

  clear(): void {
    this.count = 0;
    this.used = 0;
    this.head = 0;
    this.first = 0;
  }

  private copyOut(start: number, len: number, out: Uint8Array, off: number): void {
    const cap = this.ring.length;
    const firstPart = Math.min(len, cap - start);
    copyBytes(this.ring, start, out, off, firstPart);
    if (firstPart < len) copyBytes(this.ring, 0, out, off + firstPart, len - firstPart);
  }
}
