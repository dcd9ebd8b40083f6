import { DEFAULT_SNAPLEN, PcapWriter } from '@nexthop/pcap';

export interface CapturedFrame {
  /** Virtual time in ms. */
  timeMs: number;
  data: Uint8Array;
}

/**
 * The last `limit` frames seen at one link endpoint, kept in memory so that a failing test can
 * write them out afterwards without having paid for file I/O while it ran.
 */
export class CaptureRing {
  readonly limit: number;
  /**
   * Per slot: storage (reused once the ring is full, so a long run allocates `limit` buffers,
   * not one per frame), the frame's length in it and its time.
   */
  readonly #store: Uint8Array[] = [];
  readonly #lengths: number[] = [];
  readonly #times: number[] = [];
  #next = 0;
  #evicted = 0;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 0)
      throw new RangeError(`capture limit must be >= 0, got ${limit}`);
    this.limit = limit;
  }

  /** Copies the frame: it is borrowed from the node. */
  record(buf: Uint8Array, off: number, len: number, timeMs: number): void {
    if (this.limit === 0) return;
    if (this.#store.length < this.limit) {
      this.#store.push(buf.slice(off, off + len));
      this.#lengths.push(len);
      this.#times.push(timeMs);
      return;
    }
    const i = this.#next;
    const slot = this.#store[i]!;
    if (slot.length >= len) slot.set(buf.subarray(off, off + len));
    else this.#store[i] = buf.slice(off, off + len);
    this.#lengths[i] = len;
    this.#times[i] = timeMs;
    this.#next = (i + 1) % this.limit;
    this.#evicted++;
  }

  /** Frames still held, oldest first (copies). */
  frames(): CapturedFrame[] {
    const n = this.#store.length;
    const out: CapturedFrame[] = [];
    for (let k = 0; k < n; k++) {
      const i = (this.#next + k) % n;
      out.push({ timeMs: this.#times[i]!, data: this.#store[i]!.slice(0, this.#lengths[i]) });
    }
    return out;
  }

  /** Frames that fell out of the ring because it was full. */
  get evicted(): number {
    return this.#evicted;
  }

  toPcap(snaplen: number = DEFAULT_SNAPLEN): Uint8Array {
    const writer = new PcapWriter({ snaplen });
    for (const f of this.frames()) writer.write(f.data, 0, f.data.length, f.timeMs);
    return writer.bytes();
  }
}
