// Round-trip time estimation and the retransmission timeout of RFC 6298: SRTT and RTTVAR from
// samples (§2), Karn's algorithm with one timed segment at a time when there are no timestamps
// (§3; RFC 7323 §4 samples every ACK that echoes a timestamp), and the exponential backoff (§5.5).

export class RttEstimator {
  srtt = 0;
  rttvar = 0;
  /** RTO before backoff (ms): rtoInitial until the first sample (§2.1). */
  rto: number;
  /** Doublings of the RTO since the last new acknowledgment (§5.5). */
  backoff = 0;
  private hasSample = false;
  private readonly rtoMin: number;
  private readonly rtoMax: number;
  /** Karn: one segment timed at a time, never a retransmitted one. */
  timing = false;
  timedSeq = 0;
  timedAt = 0;

  constructor(rtoInitial: number, rtoMin: number, rtoMax: number) {
    this.rto = rtoInitial;
    this.rtoMin = rtoMin;
    this.rtoMax = rtoMax;
  }

  /** §2.2-2.4: a measurement of r ms; the RTO is clamped to [rtoMin, rtoMax] (§2.4-2.5). */
  sample(r: number): void {
    const ms = Math.max(r, 0);
    if (!this.hasSample) {
      this.hasSample = true;
      this.srtt = ms;
      this.rttvar = ms / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - ms);
      this.srtt = 0.875 * this.srtt + 0.125 * ms;
    }
    this.rto = Math.min(Math.max(this.srtt + Math.max(1, 4 * this.rttvar), this.rtoMin), this.rtoMax);
  }

  /** The timeout to arm now: the RTO backed off (§5.5), at most rtoMax. */
  current(): number {
    return Math.min(this.rto * 2 ** this.backoff, this.rtoMax);
  }
}
