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
  #frames: CapturedFrame[] = [];
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
    const frame = { timeMs, data: buf.slice(off, off + len) };
    if (this.#frames.length < this.limit) {
      this.#frames.push(frame);
      return;
    }
    this.#frames[this.#next] = frame;
    this.#next = (this.#next + 1) % this.limit;
    this.#evicted++;
  }

  /** Frames still held, oldest first. */
  frames(): CapturedFrame[] {
    return [...this.#frames.slice(this.#next), ...this.#frames.slice(0, this.#next)];
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
