// A connection's timers as deadlines (ms, Infinity when off): the engine's poll(now) runs those due
// and the earliest is handed to the host (TcpHost.arm) whenever one is set. The retransmission
// timer is managed after RFC 6298 §5 (it also serves the persist timer, RFC 9293 §3.8.6.1), the
// delayed ACK after RFC 9293 §3.8.6.3 / RFC 5681 §4.2, keepalive after §3.8.4, and `closeAt` ends
// TIME-WAIT (2 × MSL, §3.4.2) or an orphan's FIN-WAIT-2.

export interface TimerHost {
  arm(deadline: number): void;
}

export class TcpTimers {
  rtoAt = Number.POSITIVE_INFINITY;
  delackAt = Number.POSITIVE_INFINITY;
  keepAt = Number.POSITIVE_INFINITY;
  closeAt = Number.POSITIVE_INFINITY;
  private readonly host: TimerHost;

  constructor(host: TimerHost) {
    this.host = host;
  }

  armRto(at: number): void {
    this.rtoAt = at;
    this.host.arm(at);
  }

  /** A delayed ACK is due by `at`, unless one is already pending (it keeps its earlier deadline). */
  armDelack(at: number): void {
    if (this.delackAt !== Number.POSITIVE_INFINITY) return;
    this.delackAt = at;
    this.host.arm(at);
  }

  armKeepalive(at: number): void {
    this.keepAt = at;
    this.host.arm(at);
  }

  armClose(at: number): void {
    this.closeAt = at;
    this.host.arm(at);
  }

  deadline(): number {
    return Math.min(this.rtoAt, this.delackAt, this.keepAt, this.closeAt);
  }

  clear(): void {
    this.rtoAt = Number.POSITIVE_INFINITY;
    this.delackAt = Number.POSITIVE_INFINITY;
    this.keepAt = Number.POSITIVE_INFINITY;
    this.closeAt = Number.POSITIVE_INFINITY;
  }
}
