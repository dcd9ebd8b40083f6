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
  private readonly entries = new Map<number, ArpEntry>();
  private queued = 0;

  constructor(timers: ArpTimers = DEFAULT_ARP_TIMERS) {
    this.timers = timers;
  }

  /** Number keys avoid a string per lookup on the forwarding path. */
  static key(ifIndex: number, ip: number): number {
    return ifIndex * 4294967296 + ip;
  }

  get(ifIndex: number, ip: number): ArpEntry | undefined {
    return this.entries.get(ArpCache.key(ifIndex, ip));
  }

  getOrCreate(ifIndex: number, ip: number): ArpEntry {
    const key = ArpCache.key(ifIndex, ip);
    let e = this.entries.get(key);
    if (e === undefined) {
      e = new ArpEntry(ifIndex, ip);
      this.entries.set(key, e);
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
    this.entries.delete(ArpCache.key(e.ifIndex, e.ip));
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
    for (const e of this.entries.values()) {
      if (e.ifIndex === ifIndex && e.state !== ARP_STATIC && which(e.ip)) dropped += this.remove(e).length;
    }
    return dropped;
  }

  values(): IterableIterator<ArpEntry> {
    return this.entries.values();
  }

  get size(): number {
    return this.entries.size;
  }

  get queuedPackets(): number {
    return this.queued;
  }
}
