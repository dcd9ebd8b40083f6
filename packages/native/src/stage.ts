/** Entries per frame in every descriptor array of the addon and of a Link batch: [offset, length, segmentSize]. */
export const DESC_STRIDE = 3;

/**
 * Frames waiting for `flush()`: copied back to back into one long-lived buffer, with their
 * [offset, length, segmentSize] triples in one Uint32Array (the Link batch layout, which the
 * addon's send calls take too), so that a whole batch crosses into C at once.
 */
export class FrameStage {
  readonly buf: Uint8Array;
  readonly descs: Uint32Array;
  /** Frames before `head` are gone (sent); a driver that keeps a backlog advances it. */
  head = 0;
  count = 0;
  bytes = 0;
  readonly maxFrames: number;

  constructor(capacityBytes: number, maxFrames: number) {
    this.buf = new Uint8Array(capacityBytes);
    this.descs = new Uint32Array(maxFrames * DESC_STRIDE);
    this.maxFrames = maxFrames;
  }

  /** Copies one frame in; false when the buffer or the descriptor table is full. */
  push(src: Uint8Array, off: number, len: number, segmentSize = 0): boolean {
    const at = this.bytes;
    if (this.count === this.maxFrames || at + len > this.buf.length) return false;
    copyBytes(src, off, this.buf, at, len);
    const d = DESC_STRIDE * this.count;
    this.descs[d] = at;
    this.descs[d + 1] = len;
    this.descs[d + 2] = segmentSize;
    this.count++;
    // 8-byte alignment keeps every frame start word-aligned for the kernel's copy.
    this.bytes = (at + len + 7) & ~7;
    return true;
  }

  /** Marks the first `n` waiting frames as gone; empties the stage when none is left. */
  consume(n: number): void {
    this.head += n;
    if (this.head >= this.count) this.reset();
  }

  /** Frames waiting (between head and count). */
  get pending(): number {
    return this.count - this.head;
  }

  /** Moves the waiting frames to the front, making room behind them. Not per packet: only when full. */
  compact(): void {
    const head = this.head;
    if (head === 0) return;
    if (head >= this.count) {
      this.reset();
      return;
    }
    const descs = this.descs;
    const start = descs[DESC_STRIDE * head]!;
    this.buf.copyWithin(0, start, this.bytes);
    const n = this.count - head;
    for (let i = 0; i < n; i++) {
      const to = DESC_STRIDE * i;
      const from = DESC_STRIDE * (head + i);
      descs[to] = descs[from]! - start;
      descs[to + 1] = descs[from + 1]!;
      descs[to + 2] = descs[from + 2]!;
    }
    this.count = n;
    this.bytes -= start;
    this.head = 0;
  }

  reset(): void {
    this.head = 0;
    this.count = 0;
    this.bytes = 0;
  }
}

const bufferCopy = Buffer.prototype.copy;

/**
 * Copies len bytes without allocating. Buffer.prototype.copy works on any Uint8Array and is a
 * native fast call in Node 24; measured against a byte loop in bench/link.ts (copy section).
 */
export function copyBytes(
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  len: number,
): void {
  bufferCopy.call(src, dst, dstOff, srcOff, srcOff + len);
}

const ETH_HEADER = 14;
const VLAN_TAG = 4;

/**
 * Largest frame the link carries: MTU plus the Ethernet header, plus one 802.1Q tag when the
 * frame carries one (IEEE 802.1Q §9: the tag does not count against the MTU).
 */
export function maxFrameLength(mtu: number, buf: Uint8Array, off: number, len: number): number {
  if (len >= ETH_HEADER + VLAN_TAG) {
    // The frame is buf[off, off + len) (the Link.send contract) and len >= 18: bytes 12 and 13 exist.
    const type = (buf[off + 12]! << 8) | buf[off + 13]!;
    if (type === 0x8100 || type === 0x88a8) return mtu + ETH_HEADER + VLAN_TAG;
  }
  return mtu + ETH_HEADER;
}

/**
 * Queues an ordinary frame (no aggregate) on a link's stage, counting a frame that is too big for
 * the MTU or finds the link closed or the stage full. For links that take no aggregates.
 */
export function stageFrame(
  stage: FrameStage,
  counters: { txDropsTooBig: number; txDropsFull: number },
  mtu: number,
  closed: boolean,
  buf: Uint8Array,
  off: number,
  len: number,
): boolean {
  if (len > maxFrameLength(mtu, buf, off, len)) {
    counters.txDropsTooBig++;
    return false;
  }
  if (closed || !stage.push(buf, off, len)) {
    counters.txDropsFull++;
    return false;
  }
  return true;
}
