// Toy FrameNodes for the simulator's own tests.
import type { FrameNode, FrameOutput } from '@nexthop/interface';

export const TEST_ETHERTYPE = 0x88b5; // IEEE local experimental

/** An Ethernet frame of `size` bytes carrying `seq` as a big-endian u32 after the header. */
export function testFrame(seq: number, size = 64): Uint8Array {
  const f = new Uint8Array(size);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, TEST_ETHERTYPE >> 8, TEST_ETHERTYPE & 0xff]);
  f[14] = seq >>> 24;
  f[15] = (seq >>> 16) & 0xff;
  f[16] = (seq >>> 8) & 0xff;
  f[17] = seq & 0xff;
  for (let i = 18; i < size; i++) f[i] = (seq + i) & 0xff;
  return f;
}

export function seqOf(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, frame.length).getUint32(14);
}

/** Each item with the one after it: [a, b], [b, c], … */
export function* adjacentPairs<T>(items: Iterable<T>): Generator<[T, T]> {
  const it = items[Symbol.iterator]();
  let before = it.next();
  if (before.done) return;
  for (let after = it.next(); !after.done; after = it.next()) {
    yield [before.value, after.value];
    before = after;
  }
}

export interface Received {
  ifIndex: number;
  time: number;
  data: Uint8Array;
}

/** Sends scripted frames at given virtual times and records everything it receives. */
export class ScriptedNode implements FrameNode {
  readonly received: Received[] = [];
  readonly #output: FrameOutput;
  readonly #pending: { time: number; ifIndex: number; frame: Uint8Array }[] = [];
  #next = 0;
  /** Reused for every send, and scribbled over after each: the simulator must copy. */
  readonly #scratch = new Uint8Array(16384);

  constructor(output: FrameOutput) {
    this.#output = output;
  }

  sendAt(time: number, frame: Uint8Array, ifIndex = 0): this {
    const last = this.#pending[this.#pending.length - 1];
    this.#pending.push({ time, ifIndex, frame });
    if (last !== undefined && last.time > time) this.#pending.sort((x, y) => x.time - y.time);
    return this;
  }

  receive(ifIndex: number, buf: Uint8Array, off: number, len: number, now: number): void {
    this.received.push({ ifIndex, time: now, data: buf.slice(off, off + len) });
    buf.fill(0xee, off, off + len); // the frame is borrowed: scribbling on it must not matter
  }

  poll(now: number): number {
    for (let next = this.#pending[this.#next]; next !== undefined && next.time <= now; ) {
      const { ifIndex, frame } = next;
      this.#scratch.set(frame, 3);
      this.#output.transmit(ifIndex, this.#scratch, 3, frame.length);
      this.#scratch.fill(0xdd);
      next = this.#pending[++this.#next];
    }
    return this.#pending[this.#next]?.time ?? Infinity;
  }

  seqs(): number[] {
    return this.received.map((r) => seqOf(r.data));
  }
}

/** Bounces every frame back out of the interface it came in on. */
export class EchoNode implements FrameNode {
  readonly #output: FrameOutput;
  echoed = 0;

  constructor(output: FrameOutput) {
    this.#output = output;
  }

  receive(ifIndex: number, buf: Uint8Array, off: number, len: number): void {
    this.echoed++;
    this.#output.transmit(ifIndex, buf, off, len);
    buf.fill(0, off, off + len);
  }

  poll(): number {
    return Infinity;
  }
}

/** Arms a fixed list of deadlines and records when it is polled. */
export class TimerNode implements FrameNode {
  readonly polls: number[] = [];
  readonly fired: number[] = [];
  readonly #deadlines: number[];

  constructor(deadlines: number[]) {
    this.#deadlines = [...deadlines].sort((a, b) => a - b);
  }

  receive(): void {}

  poll(now: number): number {
    this.polls.push(now);
    while ((this.#deadlines[0] ?? Infinity) <= now) {
      this.fired.push(now);
      this.#deadlines.shift();
    }
    return this.#deadlines[0] ?? Infinity;
  }
}
