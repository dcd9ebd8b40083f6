import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Link } from '@nexthop/interface';
import { settle, waitFor } from './wait.ts';

export interface LinkPair {
  /** Two links on one wire: what one sends, the other receives. */
  a: Link;
  b: Link;
  /** Closes the links and removes whatever makePair created. Must not throw if run twice. */
  cleanup(): void | Promise<void>;
}

/** IEEE 802 local experimental EtherType: no kernel protocol reacts to it. */
const TEST_ETHERTYPE = 0x88b5;
const MAGIC = 0x6e687478; // 'nhtx'
const ETH_HEADER = 14;
/** Marked frames: EtherType, magic, sequence number, then a pattern derived from both. */
const MIN_TEST_FRAME = 60;
/** Entries per frame in a batch's descs: [offset, length, segmentSize]. */
const STRIDE = 3;

/** Records what a link receives; frames without the test marking (kernel noise) are only counted. */
class Collector {
  readonly frames: Uint8Array[] = [];
  /** segmentSize the driver reported for each frame in `frames`. */
  readonly segmentSizes: number[] = [];
  allFrames = 0;
  allBytes = 0;
  batches = 0;
  /** Failures inside the handler, reported by the test rather than thrown into the driver. */
  readonly problems: string[] = [];
  onBatch?: (link: Link, buf: Uint8Array, descs: Uint32Array, count: number) => void;

  readonly handler = (link: Link, buf: Uint8Array, descs: Uint32Array, count: number): void => {
    this.batches++;
    if (descs.length < STRIDE * count)
      this.problems.push(`${count} frames but only ${descs.length} descriptor entries`);
    for (const { off, len, segmentSize } of framesOf(descs, count)) {
      if (off + len > buf.length)
        this.problems.push(`descriptor [${off}, ${len}] outside ${buf.length} bytes`);
      this.allFrames++;
      this.allBytes += len;
      if (isMarked(buf, off, len)) {
        this.frames.push(buf.slice(off, off + len));
        this.segmentSizes.push(segmentSize);
      }
    }
    try {
      this.onBatch?.(link, buf, descs, count);
    } catch (err) {
      this.problems.push(String(err));
    }
  };
}

/**
 * The batch's first `count` frames as read from descs; stops early if descs is too short (the
 * Collector reports that as a problem).
 */
function* framesOf(
  descs: Uint32Array,
  count: number,
): Generator<{ off: number; len: number; segmentSize: number }> {
  for (let i = 0; i < count; i++) {
    const off = descs[STRIDE * i];
    const len = descs[STRIDE * i + 1];
    const segmentSize = descs[STRIDE * i + 2];
    if (off === undefined || len === undefined || segmentSize === undefined) return;
    yield { off, len, segmentSize };
  }
}

function isMarked(buf: Uint8Array, off: number, len: number): boolean {
  if (off + len > buf.length) return false;
  const view = new DataView(buf.buffer, buf.byteOffset + off, len);
  let at = 12;
  if (len >= 18 && view.getUint16(at) === 0x8100) at += 4;
  return at + 10 <= len && view.getUint16(at) === TEST_ETHERTYPE && view.getUint32(at + 2) === MAGIC;
}

/** Inverts a frame's last byte, in place. */
function flipLastByte(frame: Uint8Array): void {
  const last = frame.at(-1);
  if (last === undefined) throw new Error('flipLastByte: empty frame');
  frame[frame.length - 1] = last ^ 0xff;
}

/** A marked frame of `len` bytes from `src` to `dst`; `vlan` adds an 802.1Q tag. */
export function testFrame(
  dst: Uint8Array,
  src: Uint8Array,
  seq: number,
  len: number,
  vlan?: number,
): Uint8Array {
  const frame = new Uint8Array(len);
  frame.set(dst, 0);
  frame.set(src, 6);
  let at = 12;
  if (vlan !== undefined) {
    frame[12] = 0x81;
    frame[13] = 0x00;
    frame[14] = (vlan >> 8) & 0x0f;
    frame[15] = vlan & 0xff;
    at = 16;
  }
  frame[at] = TEST_ETHERTYPE >> 8;
  frame[at + 1] = TEST_ETHERTYPE & 0xff;
  new DataView(frame.buffer).setUint32(at + 2, MAGIC);
  new DataView(frame.buffer).setUint32(at + 6, seq);
  for (let i = at + 10; i < len; i++) frame[i] = (i * 7 + seq) & 0xff;
  return frame;
}

function seqOf(frame: Uint8Array): number {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.length);
  const at = view.getUint16(12) === 0x8100 ? 16 : 12;
  return view.getUint32(at + 6);
}

function sendAll(link: Link, frames: Uint8Array[]): void {
  for (const f of frames) assert.equal(link.send(f, 0, f.length), true, `send of a ${f.length}-byte frame`);
  link.flush();
}

/**
 * The behaviour every Link driver shares (packages/interface/src/link.ts). `makePair` returns
 * two links on one wire, ready to carry frames; it runs before each case and `cleanup` after it,
 * even when the case fails.
 */
export function describeLinkCompliance(label: string, makePair: () => LinkPair | Promise<LinkPair>): void {
  describe(`Link compliance: ${label}`, () => {
    let pair: LinkPair | undefined;
    let a: Link;
    let b: Link;
    let atA: Collector;
    let atB: Collector;

    beforeEach(async () => {
      pair = await makePair();
      a = pair.a;
      b = pair.b;
      atA = new Collector();
      atB = new Collector();
      a.start(atA.handler);
      b.start(atB.handler);
    });

    afterEach(async () => {
      const p = pair;
      pair = undefined;
      await p?.cleanup();
      assert.deepEqual([...atA.problems, ...atB.problems], [], 'handler problems');
    });

    it('describes itself', () => {
      assert.equal(a.mac.length, 6);
      assert.equal(b.mac.length, 6);
      assert.notDeepEqual(a.mac, b.mac);
      assert.ok(a.mtu >= 68, 'mtu');
      assert.equal(a.up, true);
      assert.equal(b.up, true);
      assert.equal(typeof a.device, 'string');
      assert.throws(() => a.start(atA.handler), 'start twice is a programmer error');
    });

    it('carries minimum and maximum size frames intact and in order', async () => {
      const max = b.mtu + ETH_HEADER;
      const sizes = [MIN_TEST_FRAME, max, MIN_TEST_FRAME + 1, max - 1, 1000, MIN_TEST_FRAME, max];
      const frames = sizes.map((len, seq) => testFrame(b.mac, a.mac, seq, len));
      sendAll(a, frames);
      await waitFor(() => atB.frames.length >= frames.length, `${frames.length} frames at ${b.device}`);
      assert.deepEqual(atB.frames, frames);
    });

    it('reports segmentSize 0 for ordinary frames', async () => {
      const max = b.mtu + ETH_HEADER;
      const frames = [MIN_TEST_FRAME, 1000, max].map((len, seq) => testFrame(b.mac, a.mac, seq, len));
      frames.push(testFrame(b.mac, a.mac, 3, max + 4, 5));
      sendAll(a, frames);
      await waitFor(() => atB.frames.length >= frames.length, `${frames.length} frames at ${b.device}`);
      assert.deepEqual(atB.segmentSizes, [0, 0, 0, 0]);
    });

    it('carries a maximum size 802.1Q-tagged frame with its tag', async () => {
      const tagged = testFrame(b.mac, a.mac, 1, b.mtu + ETH_HEADER + 4, 42);
      sendAll(a, [tagged]);
      await waitFor(() => atB.frames.length >= 1, 'the tagged frame');
      assert.deepEqual(atB.frames[0], tagged);
    });

    it('delivers a batch of 1000 frames sent with one flush', async () => {
      const frames: Uint8Array[] = [];
      for (let seq = 0; seq < 1000; seq++)
        frames.push(testFrame(b.mac, a.mac, seq, MIN_TEST_FRAME + (seq % 200)));
      sendAll(a, frames);
      await waitFor(() => atB.frames.length >= 1000, '1000 frames');
      assert.deepEqual(
        atB.frames.map(seqOf),
        frames.map((_, seq) => seq),
      );
      assert.deepEqual(atB.frames, frames);
      assert.equal(b.stats().rxDropsKernel, 0);
    });

    it('refuses and counts a frame larger than the MTU allows', async () => {
      const tooBig = testFrame(b.mac, a.mac, 1, a.mtu + ETH_HEADER + 1);
      const taggedTooBig = testFrame(b.mac, a.mac, 2, a.mtu + ETH_HEADER + 5, 7);
      assert.equal(a.send(tooBig, 0, tooBig.length), false);
      assert.equal(a.send(taggedTooBig, 0, taggedTooBig.length), false);
      assert.equal(a.stats().txDropsTooBig, 2);
      const marker = testFrame(b.mac, a.mac, 3, MIN_TEST_FRAME);
      sendAll(a, [marker]);
      await waitFor(() => atB.frames.length >= 1, 'the frame after the refused ones');
      await settle();
      assert.deepEqual(atB.frames.map(seqOf), [3]);
      assert.equal(a.stats().txFrames, 1);
    });

    it('counts received and transmitted frames and bytes', async () => {
      const frames = [100, 200, 300, 1514].map((len, seq) =>
        testFrame(b.mac, a.mac, seq, Math.min(len, a.mtu + 14)),
      );
      const bytes = frames.reduce((sum, f) => sum + f.length, 0);
      sendAll(a, frames);
      await waitFor(() => atB.frames.length >= frames.length, 'the frames');
      const tx = a.stats();
      assert.equal(tx.txFrames, frames.length);
      assert.equal(tx.txBytes, bytes);
      assert.equal(tx.txDropsFull, 0);
      const rx = b.stats();
      // Exact: every frame the handler saw, test frames and any kernel noise alike.
      assert.equal(rx.rxFrames, atB.allFrames);
      assert.equal(rx.rxBytes, atB.allBytes);
      assert.ok(rx.rxFrames >= frames.length);
      assert.ok(rx.rxBytes >= bytes);
    });

    it('does not hand the sender its own frames', async () => {
      sendAll(
        a,
        Array.from({ length: 10 }, (_, seq) => testFrame(b.mac, a.mac, seq, MIN_TEST_FRAME)),
      );
      await waitFor(() => atB.frames.length >= 10, 'the frames at the receiver');
      // A reply travels behind anything the sender might have looped back to itself.
      sendAll(b, [testFrame(a.mac, b.mac, 99, MIN_TEST_FRAME)]);
      await waitFor(() => atA.frames.length >= 1, 'the reply');
      assert.deepEqual(atA.frames.map(seqOf), [99]);
      assert.deepEqual(atB.frames.map(seqOf), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('stops delivering after close(), which can be called twice', async () => {
      sendAll(a, [testFrame(b.mac, a.mac, 1, MIN_TEST_FRAME)]);
      await waitFor(() => atB.frames.length >= 1, 'the first frame');
      b.close();
      b.close();
      assert.equal(b.up, false);
      const batchesBefore = atB.batches;
      const f = testFrame(b.mac, a.mac, 2, MIN_TEST_FRAME);
      assert.equal(b.send(f, 0, f.length), false, 'a closed link refuses to send');
      b.flush();
      sendAll(a, [f]);
      await settle();
      assert.equal(atB.batches, batchesBefore);
      assert.equal(typeof b.stats().rxFrames, 'number');
    });

    it('stops delivering when the handler closes its own link', async () => {
      atB.onBatch = (link) => link.close();
      sendAll(a, [testFrame(b.mac, a.mac, 1, MIN_TEST_FRAME)]);
      await waitFor(() => atB.batches >= 1, 'the first batch');
      sendAll(a, [testFrame(b.mac, a.mac, 2, MIN_TEST_FRAME)]);
      await settle();
      assert.equal(atB.batches, 1);
      assert.equal(b.up, false);
    });

    it('lets the handler rewrite a frame in place and send it back', async () => {
      atB.onBatch = (link, buf, descs, count) => {
        for (const { off, len } of framesOf(descs, count)) {
          if (!isMarked(buf, off, len)) continue;
          // Swap the MAC addresses and bump the last byte, in the receive buffer itself.
          const frame = buf.subarray(off, off + len);
          const dst = frame.slice(0, 6);
          frame.copyWithin(0, 6, 12);
          frame.set(dst, 6);
          flipLastByte(frame);
          if (!link.send(buf, off, len)) throw new Error('send of a received frame refused');
        }
        link.flush();
      };
      const frames = [MIN_TEST_FRAME, 500, a.mtu + ETH_HEADER].map((len, seq) =>
        testFrame(b.mac, a.mac, seq, len),
      );
      sendAll(a, frames);
      await waitFor(() => atA.frames.length >= frames.length, 'the echoed frames');
      const expected = frames.map((f) => {
        const e = f.slice();
        e.set(f.subarray(6, 12), 0);
        e.set(f.subarray(0, 6), 6);
        flipLastByte(e);
        return e;
      });
      assert.deepEqual(atA.frames, expected);
    });
  });
}
