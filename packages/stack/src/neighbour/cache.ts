import type { Wake } from '../wake.ts';

/**
 * Neighbour Unreachability Detection, the state machine of RFC 4861 §7.3, written once for every
 * address family. The protocol that speaks on the link (ARP for IPv4; NDP for IPv6) only sends the
 * solicitations the machine asks for and reports the answers it parses; states, timers, retries and
 * the packets waiting for resolution live here.
 *
 *   INCOMPLETE  resolving: solicitations to all nodes every retransmitMs, packets queued; after
 *               maxMulticastSolicit unanswered ones the entry goes and its packets are handed back
 *               as unreachable (RFC 4861 §7.2.2, RFC 1122 §2.3.2.2).
 *   REACHABLE   confirmed within reachableMs; then STALE (§7.3.3).
 *   STALE       still used, unconfirmed. Put to use, it moves to DELAY; unused for reachableMs more
 *               it is removed (§7.3.2 leaves the collection of entries to the implementation).
 *   DELAY       used while stale: an answer may still come on its own (from the upper layer's
 *               traffic) for delayFirstProbeMs; then PROBE. A delay of 0 probes at once.
 *   PROBE       unicast solicitations to the known link address every retransmitMs; after
 *               maxUnicastSolicit unanswered ones the entry is removed. Packets keep flowing to the
 *               old address meanwhile, so nothing is queued.
 *
 * Any confirmation (an answer, or for ARP any packet from the neighbour) makes an entry REACHABLE.
 */

export const NUD_INCOMPLETE = 0;
export const NUD_REACHABLE = 1;
export const NUD_STALE = 2;
export const NUD_DELAY = 3;
export const NUD_PROBE = 4;

export const NEIGHBOUR_STATE_NAMES = ['INCOMPLETE', 'REACHABLE', 'STALE', 'DELAY', 'PROBE'] as const;

/** RFC 4861 §10's protocol constants, per table. */
export interface NeighbourTimers {
  /** How long a confirmation is trusted (ReachableTime); also how long an unused STALE entry stays. */
  reachableMs: number;
  /** Between solicitations while resolving or probing (RetransTimer). */
  retransmitMs: number;
  /** How long a STALE entry in use waits in DELAY before probing (DELAY_FIRST_PROBE_TIME). */
  delayFirstProbeMs: number;
  /** Solicitations to all nodes before resolution fails (MAX_MULTICAST_SOLICIT). */
  maxMulticastSolicit: number;
  /** Unicast probes before a neighbour is given up (MAX_UNICAST_SOLICIT). */
  maxUnicastSolicit: number;
  /** Packets held per unresolved neighbour (RFC 1122 §2.3.2.2 asks for at least one). */
  queuePerNeighbour: number;
  /** Packets held for all unresolved neighbours together. */
  queueTotal: number;
}

/** The protocol's half: put one solicitation on the link. */
export interface Solicitor<A> {
  /**
   * Asks for `address` on `ifIndex`: of all nodes (`unicastTo` null: a broadcast ARP request, an NS
   * to the solicited-node group) while resolving, of the neighbour itself when probing.
   */
  solicit(ifIndex: number, address: A, unicastTo: Uint8Array | null): void;
}

/** An empty queue to hand back (never written to). */
const NONE: Uint8Array[] = [];

function sameAddress(a: Uint8Array, b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[off + i]) return false;
  return true;
}

export class Neighbour<A> {
  readonly ifIndex: number;
  readonly address: A;
  state = NUD_INCOMPLETE;
  /** The link-layer (Ethernet) address; meaningless while INCOMPLETE. */
  readonly linkAddress = new Uint8Array(6);
  /** When the current state's timer runs out. */
  deadline = 0;
  /** Solicitations sent in the current INCOMPLETE or PROBE period. */
  solicitations = 0;
  /** When the link address was last confirmed. */
  updatedAt = 0;
  /** Packets (copies, with link headroom) waiting for resolution. */
  queue: Uint8Array[] = [];

  constructor(ifIndex: number, address: A) {
    this.ifIndex = ifIndex;
    this.address = address;
  }
}

/**
 * The neighbour table of one address family: entries per interface keyed by `A`, their states and
 * timers (above). `A` should be a value V8 holds unboxed (IPv4: the address as a signed 32-bit
 * integer), so that the lookup on the forwarding path allocates nothing.
 */
export class NeighbourCache<A> {
  readonly timers: NeighbourTimers;
  private readonly solicitor: Solicitor<A>;
  private readonly wake: Wake;
  private readonly byInterface: (Map<A, Neighbour<A>> | undefined)[] = [];
  private count = 0;
  private queued = 0;
  /** What expire() hands back: packets whose neighbour did not answer (reused between calls). */
  private readonly unreachable: Uint8Array[] = [];
  /** The interface of each packet in what expire() handed back (same order, same lifetime). */
  readonly unreachableIf: number[] = [];

  constructor(timers: NeighbourTimers, solicitor: Solicitor<A>, wake: Wake) {
    this.timers = timers;
    this.solicitor = solicitor;
    this.wake = wake;
  }

  get(ifIndex: number, address: A): Neighbour<A> | undefined {
    return this.byInterface[ifIndex]?.get(address);
  }

  /** The entry for a neighbour that made itself known (to be confirmed next), made if missing. */
  getOrCreate(ifIndex: number, address: A): Neighbour<A> {
    let t = this.byInterface[ifIndex];
    if (t === undefined) {
      t = new Map();
      this.byInterface[ifIndex] = t;
    }
    let e = t.get(address);
    if (e === undefined) {
      e = new Neighbour(ifIndex, address);
      t.set(address, e);
      this.count++;
    }
    return e;
  }

  /** Starts resolving a neighbour with no entry (RFC 4861 §7.2.2): INCOMPLETE, first solicitation. */
  resolve(ifIndex: number, address: A, now: number): Neighbour<A> {
    const e = this.getOrCreate(ifIndex, address);
    e.state = NUD_INCOMPLETE;
    this.solicit(e, null, now);
    return e;
  }

  /**
   * A packet is about to be sent to a resolved entry (RFC 4861 §7.3.3): a STALE one starts the check
   * of its reachability, in DELAY or (no delay) with a probe at once.
   */
  use(e: Neighbour<A>, now: number): void {
    if (e.state === NUD_STALE) this.reconfirm(e, now);
  }

  private reconfirm(e: Neighbour<A>, now: number): void {
    if (this.timers.delayFirstProbeMs > 0) {
      e.state = NUD_DELAY;
      e.deadline = now + this.timers.delayFirstProbeMs;
      this.wake.arm(e.deadline);
    } else this.probe(e, now);
  }

  /**
   * Reachability confirmed with the link address at mac[macOff..+6]: REACHABLE from any state.
   * Returns the packets that waited for it, to be sent now in their order.
   */
  confirm(e: Neighbour<A>, mac: Uint8Array, macOff: number, now: number): Uint8Array[] {
    for (let i = 0; i < 6; i++) e.linkAddress[i] = mac[macOff + i]!;
    e.state = NUD_REACHABLE;
    e.deadline = now + this.timers.reachableMs;
    e.solicitations = 0;
    e.updatedAt = now;
    this.wake.arm(e.deadline);
    return this.takeQueue(e);
  }

  /**
   * A link address heard without a confirmation of reachability (RFC 4861 §7.2.3: the source of a
   * solicitation; §7.2.5: an unsolicited advertisement that overrides): a new or changed address
   * makes the entry STALE, the same address changes nothing. Returns the packets that waited for it.
   * ARP never calls it: RFC 826 takes every packet from a neighbour as a confirmation.
   */
  learn(e: Neighbour<A>, mac: Uint8Array, macOff: number, now: number): Uint8Array[] {
    if (e.state !== NUD_INCOMPLETE && sameAddress(e.linkAddress, mac, macOff)) return NONE;
    for (let i = 0; i < 6; i++) e.linkAddress[i] = mac[macOff + i]!;
    e.state = NUD_STALE;
    e.deadline = now + this.timers.reachableMs;
    e.updatedAt = now;
    this.wake.arm(e.deadline);
    return this.takeQueue(e);
  }

  /** Queues a packet for an INCOMPLETE entry; false when a bound is hit (the caller counts the drop). */
  enqueue(e: Neighbour<A>, packet: Uint8Array): boolean {
    if (e.queue.length >= this.timers.queuePerNeighbour || this.queued >= this.timers.queueTotal)
      return false;
    e.queue.push(packet);
    this.queued++;
    return true;
  }

  /**
   * Runs the timers that are due and arms the next. Returns the packets of entries whose resolution
   * failed, for the caller to report unreachable (valid until the next call).
   */
  expire(now: number): readonly Uint8Array[] {
    const unreachable = this.unreachable;
    unreachable.length = 0;
    this.unreachableIf.length = 0;
    const timers = this.timers;
    for (const t of this.byInterface) {
      if (t === undefined) continue;
      for (const e of t.values()) {
        if (e.deadline > now) {
          this.wake.arm(e.deadline);
          continue;
        }
        switch (e.state) {
          case NUD_REACHABLE:
            e.state = NUD_STALE;
            e.deadline = now + timers.reachableMs;
            this.wake.arm(e.deadline);
            break;
          case NUD_DELAY:
            this.probe(e, now);
            break;
          case NUD_INCOMPLETE:
            if (e.solicitations < timers.maxMulticastSolicit) this.solicit(e, null, now);
            else
              for (const p of this.remove(e)) {
                unreachable.push(p);
                this.unreachableIf.push(e.ifIndex);
              }
            break;
          case NUD_PROBE:
            if (e.solicitations < timers.maxUnicastSolicit) this.solicit(e, e.linkAddress, now);
            else this.remove(e);
            break;
          default:
            // STALE and unused all this time.
            this.remove(e);
        }
      }
    }
    return unreachable;
  }

  /**
   * Removes the entries of an interface (all, or those `which` selects) when it goes down or loses
   * addresses. Returns how many queued packets went with them.
   */
  flushInterface(ifIndex: number, which: (address: A) => boolean = () => true): number {
    let dropped = 0;
    for (const e of this.byInterface[ifIndex]?.values() ?? [])
      if (which(e.address)) dropped += this.remove(e).length;
    return dropped;
  }

  *entries(): IterableIterator<Neighbour<A>> {
    for (const t of this.byInterface) if (t !== undefined) yield* t.values();
  }

  get size(): number {
    return this.count;
  }

  private probe(e: Neighbour<A>, now: number): void {
    e.state = NUD_PROBE;
    e.solicitations = 0;
    this.solicit(e, e.linkAddress, now);
  }

  private solicit(e: Neighbour<A>, unicastTo: Uint8Array | null, now: number): void {
    this.solicitor.solicit(e.ifIndex, e.address, unicastTo);
    e.solicitations++;
    e.deadline = now + this.timers.retransmitMs;
    this.wake.arm(e.deadline);
  }

  private takeQueue(e: Neighbour<A>): Uint8Array[] {
    const queue = e.queue;
    if (queue.length === 0) return NONE;
    e.queue = [];
    this.queued -= queue.length;
    return queue;
  }

  private remove(e: Neighbour<A>): Uint8Array[] {
    if (this.byInterface[e.ifIndex]?.delete(e.address) === true) this.count--;
    this.queued -= e.queue.length;
    const queue = e.queue;
    e.queue = [];
    return queue;
  }
}
