import { DEFAULT_SNAPLEN, PCAP_RECORD_HEADER_LENGTH, pcapRecord } from '@nexthop/pcap';

export const CAPTURE_DEFAULT_COUNT = 100;
/** Bytes of records one capture holds before it drops (and counts) further frames. */
export const CAPTURE_MAX_BUFFERED = 8 * 1024 * 1024;
/** A capture nobody read for this long is discarded: its reader went away. */
export const CAPTURE_IDLE_MS = 10_000;
/** Captures one VR runs at once: each may hold CAPTURE_MAX_BUFFERED and copies every frame it sees. */
export const CAPTURE_MAX_RUNNING = 16;

export interface CaptureReadResult {
  /** Base64 of each pcap record, its 16-byte header included. */
  records: string[];
  /** True once `count` frames were captured (and all were returned) or the capture was stopped. */
  done: boolean;
  dropped: number;
}

export interface CaptureTotals {
  frames: number;
  dropped: number;
}

interface Capture {
  readonly id: number;
  readonly ifIndex: number;
  readonly count: number;
  readonly snaplen: number;
  frames: number;
  dropped: number;
  buffered: number;
  records: Uint8Array[];
  finished: boolean;
  waiters: (() => void)[];
  idle: NodeJS.Timeout;
}

/**
 * The packet captures running in a VR. The receive and transmit paths look at `on[ifIndex]` (the
 * number of captures on that interface) and call in only when it is non-zero, so a VR that captures
 * nothing pays one typed-array read per batch and per transmitted frame.
 */
export class Captures {
  on = new Uint16Array(0);
  private readonly captures = new Map<number, Capture>();
  private nextId = 1;
  private readonly wallClock: () => number;

  constructor(wallClock: () => number = () => performance.timeOrigin + performance.now()) {
    this.wallClock = wallClock;
  }

  /** Makes room for interface indexes below n. */
  resize(n: number): void {
    if (n <= this.on.length) return;
    const next = new Uint16Array(n);
    next.set(this.on);
    this.on = next;
  }

  /** Starts a capture and returns its id, or null when CAPTURE_MAX_RUNNING already run. */
  start(ifIndex: number, count = CAPTURE_DEFAULT_COUNT, snaplen = DEFAULT_SNAPLEN): number | null {
    if (this.running >= CAPTURE_MAX_RUNNING) return null;
    this.resize(ifIndex + 1);
    const id = this.nextId++;
    const idle = setTimeout(() => this.finish(id, true), CAPTURE_IDLE_MS);
    idle.unref();
    this.captures.set(id, {
      id,
      ifIndex,
      count,
      snaplen,
      frames: 0,
      dropped: 0,
      buffered: 0,
      records: [],
      finished: false,
      waiters: [],
      idle,
    });
    this.on[ifIndex]! += 1;
    return id;
  }

  /** The frames of one received batch (descs as in Link's FrameBatchHandler). */
  batch(ifIndex: number, buf: Uint8Array, descs: Uint32Array, count: number): void {
    for (let i = 0; i < count; i++) this.frame(ifIndex, buf, descs[3 * i]!, descs[3 * i + 1]!);
  }

  /** One frame received or sent on ifIndex: every capture running there copies it. */
  frame(ifIndex: number, buf: Uint8Array, off: number, len: number): void {
    const at = this.wallClock();
    for (const c of this.captures.values()) {
      if (c.ifIndex !== ifIndex || c.finished) continue;
      const size = PCAP_RECORD_HEADER_LENGTH + Math.min(len, c.snaplen);
      if (c.buffered + size > CAPTURE_MAX_BUFFERED) {
        c.dropped++;
        continue;
      }
      c.records.push(pcapRecord(buf, off, len, at, c.snaplen));
      c.buffered += size;
      c.frames++;
      if (c.frames >= c.count) this.finish(c.id, false);
      this.wake(c);
    }
  }

  /**
   * The records captured since the last read; when there are none yet, waits up to waitMs for some
   * (or for the capture to end). Null for an unknown (or discarded) capture.
   */
  async read(id: number, waitMs: number): Promise<CaptureReadResult | null> {
    let c = this.captures.get(id);
    if (c === undefined) return null;
    c.idle.refresh();
    if (c.records.length === 0 && !c.finished && waitMs > 0) {
      const capture = c;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs);
        function done(): void {
          clearTimeout(timer);
          const i = capture.waiters.indexOf(done);
          if (i >= 0) capture.waiters.splice(i, 1);
          resolve();
        }
        capture.waiters.push(done);
      });
      c = this.captures.get(id);
      if (c === undefined) return { records: [], done: true, dropped: capture.dropped };
      c.idle.refresh();
    }
    const records = c.records.map((r) =>
      Buffer.from(r.buffer, r.byteOffset, r.byteLength).toString('base64'),
    );
    c.records = [];
    c.buffered = 0;
    return { records, done: c.finished, dropped: c.dropped };
  }

  /** Ends and forgets a capture; null when unknown. */
  stop(id: number): CaptureTotals | null {
    const c = this.captures.get(id);
    if (c === undefined) return null;
    this.finish(id, true);
    return { frames: c.frames, dropped: c.dropped };
  }

  /** The interface went away: its captures end (what they hold can still be read). */
  endInterface(ifIndex: number): void {
    for (const c of this.captures.values()) if (c.ifIndex === ifIndex) this.finish(c.id, false);
  }

  stopAll(): void {
    for (const id of [...this.captures.keys()]) this.finish(id, true);
  }

  get running(): number {
    let n = 0;
    for (const c of this.captures.values()) if (!c.finished) n++;
    return n;
  }

  /** Stops capturing; `forget` also drops the capture and what it still holds. */
  private finish(id: number, forget: boolean): void {
    const c = this.captures.get(id);
    if (c === undefined) return;
    if (!c.finished) {
      c.finished = true;
      this.on[c.ifIndex]! -= 1;
    }
    if (forget) {
      clearTimeout(c.idle);
      this.captures.delete(id);
    }
    this.wake(c);
  }

  private wake(c: Capture): void {
    for (const w of c.waiters.splice(0)) w();
  }
}
