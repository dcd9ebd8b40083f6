import { CaptureRing } from './capture.ts';
import { deriveSeed, Prng } from './prng.ts';

/** Impairments of one direction of a link. Every field is optional; defaults in DEFAULT_IMPAIRMENTS. */
export interface Impairments {
  /** Fixed one-way propagation delay (ms). */
  delayMs?: number;
  /** Extra delay drawn uniformly from [0, jitterMs). Jitter alone never reorders: the link stays FIFO. */
  jitterMs?: number;
  /** Probability that a frame is lost on the wire. */
  loss?: number;
  /** Probability that a frame is delivered twice (the copy arrives right after the original). */
  duplicate?: number;
  /** Probability that a frame is held back by `reorderDelayMs`, letting later frames overtake it. */
  reorder?: number;
  reorderDelayMs?: number;
  /** Probability that one random bit of the frame is flipped. */
  corrupt?: number;
  /** Bits before this byte offset are never flipped (14 keeps the Ethernet header intact). */
  corruptMinOffset?: number;
  /** Serialization rate in bits per second; 0 means infinitely fast. */
  bandwidthBps?: number;
  /**
   * Most frames waiting for or in serialization; more are tail-dropped. 0 means unbounded. Only
   * meaningful with a bandwidth: without one nothing ever waits.
   */
  queueLimit?: number;
}

export const DEFAULT_IMPAIRMENTS: Readonly<Required<Impairments>> = Object.freeze({
  delayMs: 1,
  jitterMs: 0,
  loss: 0,
  duplicate: 0,
  reorder: 0,
  reorderDelayMs: 0,
  corrupt: 0,
  corruptMinOffset: 0,
  bandwidthBps: 0,
  queueLimit: 0,
});

const PROBABILITIES = ['loss', 'duplicate', 'reorder', 'corrupt'] as const;
const NON_NEGATIVE = [
  'delayMs',
  'jitterMs',
  'reorderDelayMs',
  'corruptMinOffset',
  'bandwidthBps',
  'queueLimit',
] as const;

function mergeImpairments(base: Required<Impairments>, patch: Impairments): Required<Impairments> {
  const merged = { ...base };
  for (const key of Object.keys(patch) as (keyof Impairments)[]) {
    const value = patch[key];
    if (value === undefined) continue;
    if (!(key in DEFAULT_IMPAIRMENTS)) throw new TypeError(`unknown impairment '${key}'`);
    merged[key] = value;
  }
  for (const key of PROBABILITIES) {
    const p = merged[key];
    if (!(p >= 0 && p <= 1)) throw new RangeError(`impairment ${key} must be a probability, got ${p}`);
  }
  for (const key of NON_NEGATIVE) {
    const v = merged[key];
    if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`impairment ${key} must be >= 0, got ${v}`);
  }
  if (!Number.isInteger(merged.corruptMinOffset)) {
    throw new RangeError(`impairment corruptMinOffset must be an integer, got ${merged.corruptMinOffset}`);
  }
  return merged;
}

export interface LinkCounters {
  /** Frames the sending node handed to the link. */
  sent: number;
  /** Frames handed to the receiving node (duplicates included). */
  delivered: number;
  bytesDelivered: number;
  lost: number;
  duplicated: number;
  corrupted: number;
  reordered: number;
  /** Longer than mtu + 14 bytes (Ethernet header, no FCS). */
  droppedTooBig: number;
  droppedQueueFull: number;
  /** Sent while the link was down, or in flight when it went down. */
  droppedDown: number;
}

const zeroCounters = (): LinkCounters => ({
  sent: 0,
  delivered: 0,
  bytesDelivered: 0,
  lost: 0,
  duplicated: 0,
  corrupted: 0,
  reordered: 0,
  droppedTooBig: 0,
  droppedQueueFull: 0,
  droppedDown: 0,
});

export type LinkSide = 'a' | 'b';
export type LinkDirectionName = 'aToB' | 'bToA';

export interface LinkEndpoint {
  readonly node: string;
  readonly ifIndex: number;
  /** Frames this endpoint transmitted (at offer time, before any impairment) and received. */
  readonly capture: CaptureRing;
}

/** What a direction needs from the simulator. */
export interface DeliveryScheduler {
  scheduleDelivery(direction: LinkDirection, time: number, frame: Uint8Array): void;
}

/** Ethernet header, no FCS: the MTU counts the payload only. */
const ETHERNET_HEADER_LENGTH = 14;

/** One direction of a link: its impairments, random stream, transmit queue and counters. */
export class LinkDirection {
  readonly link: SimLink;
  readonly from: LinkEndpoint;
  readonly to: LinkEndpoint;
  readonly counters: LinkCounters = zeroCounters();
  impairments: Required<Impairments>;
  readonly #prng: Prng;
  readonly #scheduler: DeliveryScheduler;
  /** When the transmitter finishes the frames already accepted. */
  #busyUntil = 0;
  /** Serialization end times of frames still queued, oldest first (from #queueHead on). */
  #queueEnds: number[] = [];
  #queueHead = 0;
  /** Arrival time of the last in-order frame: jittered frames may not overtake it. */
  #fifoFloor = 0;

  constructor(
    link: SimLink,
    from: LinkEndpoint,
    to: LinkEndpoint,
    impairments: Required<Impairments>,
    seed: number,
    scheduler: DeliveryScheduler,
  ) {
    this.link = link;
    this.from = from;
    this.to = to;
    this.impairments = impairments;
    this.#prng = new Prng(seed);
    this.#scheduler = scheduler;
  }

  /**
   * Takes one frame from the sending node at virtual time `now`. Every frame that passes the MTU
   * and queue checks consumes exactly six random draws whatever the settings, so turning one
   * impairment on does not shift the draws of the others.
   */
  send(buf: Uint8Array, off: number, len: number, now: number): void {
    const c = this.counters;
    const imp = this.impairments;
    c.sent++;
    this.from.capture.record(buf, off, len, now);
    if (!this.link.up) {
      c.droppedDown++;
      return;
    }
    if (len > this.link.mtu + ETHERNET_HEADER_LENGTH) {
      c.droppedTooBig++;
      return;
    }
    let departure = now;
    if (imp.bandwidthBps > 0) {
      const ends = this.#queueEnds;
      while (this.#queueHead < ends.length && ends[this.#queueHead]! <= now) this.#queueHead++;
      if (this.#queueHead > 64 && this.#queueHead * 2 > ends.length) {
        ends.splice(0, this.#queueHead);
        this.#queueHead = 0;
      }
      if (imp.queueLimit > 0 && ends.length - this.#queueHead >= imp.queueLimit) {
        c.droppedQueueFull++;
        return;
      }
      departure = Math.max(now, this.#busyUntil) + (len * 8 * 1000) / imp.bandwidthBps;
      this.#busyUntil = departure;
      ends.push(departure);
    }
    const prng = this.#prng;
    const lossDraw = prng.nextFloat();
    const corruptDraw = prng.nextFloat();
    const bitDraw = prng.nextFloat();
    const duplicateDraw = prng.nextFloat();
    const reorderDraw = prng.nextFloat();
    const jitterDraw = prng.nextFloat();
    if (lossDraw < imp.loss) {
      c.lost++;
      return;
    }
    const frame = buf.slice(off, off + len);
    const corruptible = len - imp.corruptMinOffset;
    if (corruptDraw < imp.corrupt && corruptible > 0) {
      const bit = Math.floor(bitDraw * corruptible * 8);
      // In [corruptMinOffset, len): bit < corruptible * 8, and the offset is an integer >= 0.
      frame[imp.corruptMinOffset + (bit >> 3)]! ^= 1 << (bit & 7);
      c.corrupted++;
    }
    let arrival = departure + imp.delayMs + jitterDraw * imp.jitterMs;
    if (reorderDraw < imp.reorder) {
      arrival += imp.reorderDelayMs;
      c.reordered++;
    } else {
      arrival = Math.max(arrival, this.#fifoFloor);
      this.#fifoFloor = arrival;
    }
    this.#scheduler.scheduleDelivery(this, arrival, frame);
    if (duplicateDraw < imp.duplicate) {
      c.duplicated++;
      // Its own copy: the receiver may rewrite the first one in place.
      this.#scheduler.scheduleDelivery(this, arrival, frame.slice());
    }
  }
}

/** A point-to-point full-duplex Ethernet link between two node interfaces. */
export class SimLink {
  readonly name: string;
  readonly a: LinkEndpoint;
  readonly b: LinkEndpoint;
  readonly aToB: LinkDirection;
  readonly bToA: LinkDirection;
  #mtu: number;
  #up = true;

  constructor(
    name: string,
    a: LinkEndpoint,
    b: LinkEndpoint,
    mtu: number,
    impairments: { aToB: Impairments; bToA: Impairments },
    simSeed: number,
    scheduler: DeliveryScheduler,
  ) {
    this.name = name;
    this.a = a;
    this.b = b;
    this.#mtu = checkMtu(mtu);
    const base = { ...DEFAULT_IMPAIRMENTS };
    this.aToB = new LinkDirection(
      this,
      a,
      b,
      mergeImpairments(base, impairments.aToB),
      deriveSeed(simSeed, `${name}>aToB`),
      scheduler,
    );
    this.bToA = new LinkDirection(
      this,
      b,
      a,
      mergeImpairments(base, impairments.bToA),
      deriveSeed(simSeed, `${name}>bToA`),
      scheduler,
    );
  }

  /** Largest Ethernet payload carried; longer frames are dropped and counted. */
  get mtu(): number {
    return this.#mtu;
  }

  setMtu(mtu: number): void {
    this.#mtu = checkMtu(mtu);
  }

  get up(): boolean {
    return this.#up;
  }

  /** Takes the link down (frames sent or in flight are dropped) or back up. */
  setUp(up: boolean): void {
    this.#up = up;
  }

  impairments(direction: LinkDirectionName): Readonly<Required<Impairments>> {
    return { ...this[direction].impairments };
  }

  /** Changes impairments from now on; fields left out keep their current value. */
  setImpairments(patch: Impairments, direction: LinkDirectionName | 'both' = 'both'): void {
    const targets = direction === 'both' ? [this.aToB, this.bToA] : [this[direction]];
    // Both directions are checked before either changes.
    const updates = targets.map((d) => [d, mergeImpairments(d.impairments, patch)] as const);
    for (const [d, merged] of updates) d.impairments = merged;
  }

  counters(direction: LinkDirectionName): Readonly<LinkCounters> {
    return { ...this[direction].counters };
  }

  /** Both directions added up. */
  totals(): LinkCounters {
    const sum = zeroCounters();
    for (const d of [this.aToB, this.bToA]) {
      for (const key of Object.keys(sum) as (keyof LinkCounters)[]) sum[key] += d.counters[key];
    }
    return sum;
  }

  /** The capture at one endpoint as a pcap file (what `tcpdump -i` on that interface would show). */
  pcap(side: LinkSide): Uint8Array {
    return this[side].capture.toPcap();
  }
}

function checkMtu(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < 0)
    throw new RangeError(`mtu must be a non-negative integer, got ${mtu}`);
  return mtu;
}

export function resolveImpairments(
  defaults: Impairments | undefined,
  options: LinkOptions | undefined,
): { aToB: Impairments; bToA: Impairments } {
  const both = { ...defaults, ...options?.impairments };
  return { aToB: { ...both, ...options?.aToB }, bToA: { ...both, ...options?.bToA } };
}

export interface LinkOptions {
  /** Stable name; seeds the link's random streams. Default `${a}.${ifA}-${b}.${ifB}`. */
  name?: string;
  /** Default 1500. */
  mtu?: number;
  /** Both directions. */
  impairments?: Impairments;
  /** Overrides for one direction, on top of `impairments`. */
  aToB?: Impairments;
  bToA?: Impairments;
}

export function newEndpoint(node: string, ifIndex: number, captureLimit: number): LinkEndpoint {
  return { node, ifIndex, capture: new CaptureRing(captureLimit) };
}
