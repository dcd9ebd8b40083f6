// Congestion control: the window growth of RFC 5681 (NewReno) and CUBIC (RFC 9438). Loss recovery
// (fast retransmit, NewReno partial ACKs, SACK) lives in the connection; these only size cwnd.

export interface CongestionState {
  cwnd: number;
  ssthresh: number;
  /** Sender MSS in bytes. */
  mss: number;
  /** Smoothed RTT in ms, 0 before the first sample. */
  srtt: number;
}

export interface CongestionControl {
  readonly name: string;
  /** New data acknowledged outside recovery. */
  onAck(s: CongestionState, acked: number, now: number): void;
  /** Fast retransmit or SACK loss detection: returns the new ssthresh (RFC 5681 §3.2 step 2). */
  onCongestion(s: CongestionState, flight: number, now: number): number;
  /** Retransmission timeout: returns the new ssthresh. */
  onTimeout(s: CongestionState, flight: number, now: number): number;
}

function slowStart(s: CongestionState, acked: number): number {
  // RFC 5681 §3.1 with appropriate byte counting (RFC 3465, L = 2).
  const inc = Math.min(acked, 2 * s.mss);
  s.cwnd += inc;
  return acked - inc;
}

class NewRenoCc implements CongestionControl {
  readonly name = 'newreno';
  private bytesAcked = 0;

  onAck(s: CongestionState, acked: number, _now: number): void {
    if (s.cwnd < s.ssthresh) {
      slowStart(s, acked);
      return;
    }
    // RFC 5681 §3.1 eq. 3, counted in bytes: one MSS per cwnd acknowledged.
    this.bytesAcked += acked;
    if (this.bytesAcked >= s.cwnd) {
      this.bytesAcked -= s.cwnd;
      s.cwnd += s.mss;
    }
  }

  onCongestion(s: CongestionState, flight: number, _now: number): number {
    this.bytesAcked = 0;
    return Math.max(Math.floor(flight / 2), 2 * s.mss);
  }

  onTimeout(s: CongestionState, flight: number, now: number): number {
    return this.onCongestion(s, flight, now);
  }
}

const CUBIC_C = 0.4;
const CUBIC_BETA = 0.7;
const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

/** CUBIC (RFC 9438), with windows kept in segments inside and bytes outside. */
class CubicCc implements CongestionControl {
  readonly name = 'cubic';
  private wMax = 0;
  private k = 0;
  private epochStart = -1;
  private wEst = 0;

  onAck(s: CongestionState, acked: number, now: number): void {
    if (s.cwnd < s.ssthresh) {
      const rest = slowStart(s, acked);
      if (rest <= 0) return;
    }
    const mss = s.mss;
    const cwndSeg = s.cwnd / mss;
    if (this.epochStart < 0) {
      // §4.2: a congestion-avoidance epoch starts.
      this.epochStart = now;
      this.wEst = cwndSeg;
      if (this.wMax < cwndSeg) {
        this.k = 0;
        this.wMax = cwndSeg;
      } else this.k = Math.cbrt((this.wMax - cwndSeg) / CUBIC_C);
    }
    const rtt = s.srtt > 0 ? s.srtt : 100;
    const t = (now - this.epochStart + rtt) / 1000;
    const d = t - this.k;
    let target = CUBIC_C * d * d * d + this.wMax;
    // §4.2: the target stays within [cwnd, 1.5 cwnd].
    if (target < cwndSeg) target = cwndSeg;
    else if (target > 1.5 * cwndSeg) target = 1.5 * cwndSeg;
    // §4.3: the Reno-friendly estimate.
    const segsAcked = acked / mss;
    this.wEst += CUBIC_ALPHA * (segsAcked / cwndSeg);
    let next: number;
    if (this.wEst > target) next = cwndSeg + (this.wEst - cwndSeg) * (segsAcked / cwndSeg);
    else next = cwndSeg + ((target - cwndSeg) / cwndSeg) * segsAcked;
    if (next > cwndSeg) s.cwnd = Math.floor(next * mss);
  }

  onCongestion(s: CongestionState, _flight: number, _now: number): number {
    const cwndSeg = s.cwnd / s.mss;
    // §4.7 fast convergence.
    this.wMax = cwndSeg < this.wMax ? (cwndSeg * (1 + CUBIC_BETA)) / 2 : cwndSeg;
    this.epochStart = -1;
    return Math.max(Math.floor(s.cwnd * CUBIC_BETA), 2 * s.mss);
  }

  onTimeout(s: CongestionState, flight: number, now: number): number {
    const ss = this.onCongestion(s, flight, now);
    // §4.8: after a timeout the epoch restarts from scratch.
    this.wEst = 0;
    return ss;
  }
}

export function makeCongestionControl(name: string): CongestionControl | null {
  if (name === 'cubic') return new CubicCc();
  if (name === 'newreno' || name === 'reno') return new NewRenoCc();
  return null;
}
