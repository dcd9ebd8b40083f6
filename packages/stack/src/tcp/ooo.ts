// The receiver's out-of-order queue: data beyond RCV.NXT is stored in place in the receive ring
// (ByteRing.writeAt past its readable length); this keeps only the sequence ranges it holds, in
// order, in two fixed arrays, and the SACK blocks that report them (RFC 2018 §4).
import { wr32 } from '@nexthop/wire';
import { OPT_NOP, OPT_SACK } from './options.ts';
import type { ByteRing } from './ring.ts';
import { addSeqRange, seqDiff, seqGt, seqLe, seqLt } from './seq.ts';

/** Out-of-order ranges kept; a segment that would need more is dropped (and counted). */
const MAX_OOO = 16;
/** Until the first out-of-order segment: most connections never see one, and allocate nothing. */
const NONE: number[] = [];

export class OutOfOrderQueue {
  private start = NONE;
  private end = NONE;
  /** Ranges held; 0 when the data so far came in order. */
  count = 0;
  /** Sequence number of the latest out-of-order segment stored: its block is reported first. */
  latest = 0;

  /** Remembers [s, e) as held; false when there is no room for another range. */
  add(s: number, e: number): boolean {
    if (this.start === NONE) {
      this.start = new Array<number>(MAX_OOO).fill(0);
      this.end = new Array<number>(MAX_OOO).fill(0);
    }
    const n = addSeqRange(this.start, this.end, this.count, MAX_OOO, s, e);
    if (n < 0) return false;
    this.count = n;
    return true;
  }

  /**
   * Moves the ranges that now continue the in-order data at rcvNxt into the readable part of the
   * ring; returns the new RCV.NXT.
   */
  merge(rcvNxt: number, ring: ByteRing): number {
    let nxt = rcvNxt;
    let drop = 0;
    while (drop < this.count && seqLe(this.start[drop]!, nxt)) {
      const end = this.end[drop]!;
      if (seqGt(end, nxt)) {
        ring.commit(seqDiff(end, nxt));
        nxt = end;
      }
      drop++;
    }
    if (drop === 0) return nxt;
    for (let k = 0; k + drop < this.count; k++) {
      this.start[k] = this.start[k + drop]!;
      this.end[k] = this.end[k + drop]!;
    }
    this.count -= drop;
    return nxt;
  }

  /**
   * Writes a SACK option of n blocks (n <= count) at off; returns its length. RFC 2018 §4: the block
   * holding the most recent segment first, then the others.
   */
  writeSackOption(b: Uint8Array, off: number, n: number): number {
    b[off] = OPT_NOP;
    b[off + 1] = OPT_NOP;
    b[off + 2] = OPT_SACK;
    b[off + 3] = 2 + 8 * n;
    let p = off + 4;
    let first = 0;
    for (let i = 0; i < this.count; i++) {
      if (seqLe(this.start[i]!, this.latest) && seqLt(this.latest, this.end[i]!)) first = i;
    }
    wr32(b, p, this.start[first]!);
    wr32(b, p + 4, this.end[first]!);
    p += 8;
    let written = 1;
    for (let i = 0; i < this.count && written < n; i++) {
      if (i === first) continue;
      wr32(b, p, this.start[i]!);
      wr32(b, p + 4, this.end[i]!);
      p += 8;
      written++;
    }
    return p - off;
  }
}
