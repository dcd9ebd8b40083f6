/**
 * The ARP cache (RFC 826) with the timers of RFC 1122 §2.3.2.1: entries age out, unanswered
 * requests are retried a bounded number of times, and packets waiting for an answer sit in a
 * bounded queue. The cache only keeps state; the stack sends the frames.
 */

export const ARP_INCOMPLETE = 0;
export const ARP_REACHABLE = 1;
/** Past its reachable time: still used, while a unicast probe asks again. */
export const ARP_STALE = 2;
export const ARP_STATIC = 3;

export const ARP_STATE_NAMES = ['INCOMPLETE', 'REACHABLE', 'STALE', 'PERMANENT'] as const;

export interface ArpTimers {
  /** How long an answer is trusted before it is confirmed again. */
  reachableMs: number;
  /** Interval between requests while resolving or probing. */
  retransmitMs: number;
  /** Requests sent before giving up (RFC 1122 §2.3.2.1: about one per second, a few times). */
  maxRequests: number;
  /** Packets held per unresolved neighbour (RFC 1122 §2.3.2.2 asks for at least one). */
  queuePerNeighbour: number;
  /** Packets held for all unresolved neighbours together. */
  queueTotal: number;
}

export const DEFAULT_ARP_TIMERS: ArpTimers = {
  reachableMs: 60_000,
  retransmitMs: 1_000,
  maxRequests: 3,
  queuePerNeighbour: 64,
  queueTotal: 1024,
};

export class ArpEntry {
  readonly ifIndex: number;
  readonly ip: number;
  state = ARP_INCOMPLETE;
  readonly mac = new Uint8Array(6);
  /** When the entry's current state ends: reachable → stale, or the next retransmission. */
  deadline = 0;
  requestsSent = 0;
  updatedAt = 0;
  /** IP packets (copied) waiting for resolution. */
  queue: Uint8Array[] = [];

  constructor(ifIndex: number, ip: number) {
    this.ifIndex = ifIndex;
    this.ip = ip;
  }
}

export class ArpCache {
  readonly timers: ArpTimers;
  /**
   * One map per interface keyed by the address as a signed 32-bit integer: a small integer is held
   * unboxed by V8, so a lookup on the forwarding path allocates nothing.
   */
  private readonly byInterface: Map<number, ArpEntry>[] = [];
  private count = 0;
  private queued = 0;

  constructor(timers: ArpTimers = DEFAULT_ARP_TIMERS) {
    this.timers = timers;
  }

  private table(ifIndex: number): Map<number, ArpEntry> {
    let t = this.byInterface[ifIndex];
    if (t === undefined) {
      t = new Map();
      this.byInterface[ifIndex] = t;
    }
    return t;
  }

  get(ifIndex: number, ip: number): ArpEntry | undefined {
    return this.byInterface[ifIndex]?.get(ip | 0);
  }

  getOrCreate(ifIndex: number, ip: number): ArpEntry {
    const t = this.table(ifIndex);
    let e = t.get(ip | 0);
    if (e === undefined) {
      e = new ArpEntry(ifIndex, ip);
      t.set(ip | 0, e);
      this.count++;
    }
    return e;
  }

  /** Records an answer or a claim; returns the queued packets to send now. */
  confirm(e: ArpEntry, mac: Uint8Array, macOff: number, now: number): Uint8Array[] {
    for (let i = 0; i < 6; i++) e.mac[i] = mac[macOff + i]!;
    if (e.state !== ARP_STATIC) {
      e.state = ARP_REACHABLE;
      e.deadline = now + this.timers.reachableMs;
    }
    e.requestsSent = 0;
    e.updatedAt = now;
    const queue = e.queue;
    if (queue.length > 0) {
      e.queue = [];
      this.queued -= queue.length;
    }
    return queue;
  }

  /** Queues a packet for an unresolved neighbour; false when a bound is hit (the caller counts the drop). */
  enqueue(e: ArpEntry, packet: Uint8Array): boolean {
    if (e.queue.length >= this.timers.queuePerNeighbour || this.queued >= this.timers.queueTotal)
      return false;
    e.queue.push(packet);
    this.queued++;
    return true;
  }

  remove(e: ArpEntry): Uint8Array[] {
    if (this.byInterface[e.ifIndex]?.delete(e.ip | 0) === true) this.count--;
    this.queued -= e.queue.length;
    const queue = e.queue;
    e.queue = [];
    return queue;
  }

  /**
   * Removes the entries of an interface (all, or those `which` selects) when it goes down or loses
   * addresses. Returns how many queued packets were thrown away with them.
   */
  flushInterface(ifIndex: number, which: (ip: number) => boolean = () => true): number {
    let dropped = 0;
    for (const e of this.byInterface[ifIndex]?.values() ?? []) {
      if (e.ifIndex === ifIndex && e.state !== ARP_STATIC && which(e.ip)) dropped += this.remove(e).length;
    }
    return dropped;
  }

  values(): IterableIterator<ArpEntry> {
    return this.byInterface.flatMap((t) => [...t.values()]).values();
  }

  get size(): number {
    return this.count;
  }

  get queuedPackets(): number {
    return this.queued;
  }
}
