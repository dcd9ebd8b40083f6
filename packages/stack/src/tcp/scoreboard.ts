// The sender's SACK scoreboard (RFC 2018, RFC 6675 §4): the ranges above SND.UNA the receiver said
// it holds, in sequence order, in two fixed arrays. Everything RFC 6675 derives from it (IsLost,
// SetPipe, NextSeg's skipping) is computed here, allocation-free.
import type { TcpOptions } from './options.ts';
import { addSeqRange, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin } from './seq.ts';

/** SACKed ranges the sender keeps. */
const MAX_SCOREBOARD = 32;
/** RFC 6675 §2 DupThresh (and RFC 5681's three duplicate ACKs). */
export const DUP_THRESH = 3;

/** Until the first SACK block: most connections never see one, and allocate nothing. */
const NONE: number[] = [];

export class SackScoreboard {
  private start = NONE;
  private end = NONE;
  /** Ranges held; 0 when nothing is SACKed. */
  count = 0;

  /** Forgets every range: a receiver may renege on SACKed data (RFC 2018 §8). */
  clear(): void {
    this.count = 0;
  }

  /** Takes the SACK blocks of an ACK (those within (sndUna, sndMax]); true when any covered news. */
  update(o: TcpOptions, sndUna: number, sndMax: number): boolean {
    let changed = false;
    for (let k = 0; k < o.sackCount; k++) {
      let s = o.sackStart[k]!;
      const e = o.sackEnd[k]!;
      if (!seqLt(s, e) || seqLe(e, sndUna) || seqGt(e, sndMax)) continue;
      if (seqLt(s, sndUna)) s = sndUna;
      if (this.add(s, e)) changed = true;
    }
    return changed;
  }

  /** Adds [s, e); true when it covered anything new. */
  private add(s: number, e: number): boolean {
    if (this.start === NONE) {
      this.start = new Array<number>(MAX_SCOREBOARD).fill(0);
      this.end = new Array<number>(MAX_SCOREBOARD).fill(0);
    }
    const st = this.start;
    const en = this.end;
    for (let i = 0; i < this.count; i++) if (seqLe(st[i]!, s) && seqGe(en[i]!, e)) return false;
    const n = addSeqRange(st, en, this.count, MAX_SCOREBOARD, s, e);
    if (n < 0) return false;
    this.count = n;
    return true;
  }

  /** Drops what SND.UNA has passed. */
  prune(sndUna: number): void {
    let drop = 0;
    while (drop < this.count && seqLe(this.end[drop]!, sndUna)) drop++;
    if (drop > 0) {
      for (let k = 0; k + drop < this.count; k++) {
        this.start[k] = this.start[k + drop]!;
        this.end[k] = this.end[k + drop]!;
      }
      this.count -= drop;
    }
    if (this.count > 0 && seqLt(this.start[0]!, sndUna)) this.start[0] = sndUna;
  }

  /** If seq lies in a SACKed block, the block's end, else seq. */
  skipSacked(seq: number): number {
    for (let i = 0; i < this.count; i++) {
      if (seqLe(this.start[i]!, seq) && seqLt(seq, this.end[i]!)) return this.end[i]!;
    }
    return seq;
  }

  /** Start of the first SACKed block above seq, or -1. */
  nextSackedStart(seq: number): number {
    for (let i = 0; i < this.count; i++) if (seqGt(this.start[i]!, seq)) return this.start[i]!;
    return -1;
  }

  /**
   * RFC 6675 §4 IsLost: every unSACKed byte below the returned edge counts as lost (DupThresh
   * SACKed blocks, or more than (DupThresh - 1) × SMSS SACKed bytes, lie above it); SND.UNA when
   * none is.
   */
  lostEdge(sndUna: number, mss: number): number {
    let bytes = 0;
    for (let i = this.count - 1; i >= 0; i--) {
      bytes += seqDiff(this.end[i]!, this.start[i]!);
      if (this.count - i >= DUP_THRESH || bytes > (DUP_THRESH - 1) * mss) return this.start[i]!;
    }
    return sndUna;
  }

  /** Bytes of [a, b) not SACKed. */
  unsackedIn(a: number, b: number): number {
    if (!seqLt(a, b)) return 0;
    let n = seqDiff(b, a);
    for (let i = 0; i < this.count; i++) {
      const s = seqMax(this.start[i]!, a);
      const e = seqMin(this.end[i]!, b);
      if (seqLt(s, e)) n -= seqDiff(e, s);
    }
    return n;
  }

  /** RFC 6675 §4 SetPipe: bytes in flight, less those lost and not yet retransmitted (HighRxt). */
  pipe(sndUna: number, sndMax: number, highRxt: number, mss: number): number {
    const all = this.unsackedIn(sndUna, sndMax);
    const lostNotRetransmitted = this.unsackedIn(seqMax(highRxt, sndUna), this.lostEdge(sndUna, mss));
    return all - lostNotRetransmitted;
  }
}
