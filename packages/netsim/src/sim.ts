import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FrameNode, FrameOutput } from '@nexthop/interface';
import { EventQueue } from './event-queue.ts';
import {
  type DeliveryScheduler,
  type Impairments,
  type LinkDirection,
  type LinkOptions,
  newEndpoint,
  resolveImpairments,
  SimLink,
} from './link.ts';

export interface SimOptions {
  /** Seeds every link's random streams. Default 1. */
  seed?: number;
  /** Frames kept per link endpoint for pcaps. Default 10000. */
  captureLimit?: number;
  /** Impairments every new link starts from (each link may override them). */
  defaultImpairments?: Impairments;
}

export interface RunOptions {
  /** Stop once virtual time would pass this (ms); the clock is then set to it. */
  until?: number;
  /** Stop after this many events (deliveries, polls and scheduled calls). Default 1,000,000. */
  maxEvents?: number;
}

export interface RunResult {
  /** idle: nothing left to do; until: reached `until`; maxEvents: the event budget ran out. */
  reason: 'idle' | 'until' | 'maxEvents';
  events: number;
}

export interface NodeStats {
  transmitted: number;
  /** Transmits on an interface no link is connected to. */
  unconnected: number;
  received: number;
  polls: number;
}

interface NodeSlot {
  readonly name: string;
  node: FrameNode | undefined;
  /** Next virtual time to poll at; Infinity when the node armed nothing. */
  deadline: number;
  /** Outgoing direction per ifIndex. */
  readonly outgoing: (LinkDirection | undefined)[];
  readonly output: FrameOutput;
  readonly stats: NodeStats;
}

type SimEvent =
  | { time: number; seq: number; kind: 'deliver'; direction: LinkDirection; frame: Uint8Array }
  | { time: number; seq: number; kind: 'call'; fn: () => void };

const DEFAULT_MAX_EVENTS = 1_000_000;

/**
 * Discrete-event simulator: FrameNodes joined by impaired point-to-point links, driven by a
 * virtual clock (ms from 0) that jumps straight to the next thing to do — the earliest frame
 * delivery, scheduled call or node deadline. At equal times deliveries and calls go first (in the
 * order they were scheduled), then node deadlines in the order nodes were added. Everything,
 * frame bytes included, is a function of the seed.
 */
export class Sim implements DeliveryScheduler {
  readonly seed: number;
  readonly captureLimit: number;
  readonly #defaultImpairments: Impairments;
  #now = 0;
  #seq = 0;
  #running = false;
  #totalEvents = 0;
  readonly #queue = new EventQueue<SimEvent>();
  readonly #nodes = new Map<string, NodeSlot>();
  readonly #slots: NodeSlot[] = [];
  readonly #links = new Map<string, SimLink>();

  constructor(options: SimOptions = {}) {
    this.seed = (options.seed ?? 1) >>> 0;
    this.captureLimit = options.captureLimit ?? 10000;
    this.#defaultImpairments = { ...options.defaultImpairments };
  }

  /** Virtual time in ms. */
  get now(): number {
    return this.#now;
  }

  /** Events processed since the simulation was created. */
  get eventCount(): number {
    return this.#totalEvents;
  }

  /**
   * The FrameOutput of node `name`, to construct the node with before `attach`. Frames are copied
   * when transmitted, so the node may reuse its buffer at once.
   */
  output(name: string): FrameOutput {
    return this.#slot(name).output;
  }

  /** Puts `node` in place under `name`; it is first polled at the current virtual time. */
  attach(name: string, node: FrameNode): void {
    const slot = this.#slot(name);
    if (slot.node !== undefined) throw new Error(`node '${name}' is already attached`);
    slot.node = node;
    slot.deadline = this.#now;
  }

  /** `attach(name, factory(output(name)))`, returning the node. */
  addNode<T extends FrameNode>(name: string, factory: (output: FrameOutput) => T): T {
    const node = factory(this.output(name));
    this.attach(name, node);
    return node;
  }

  node(name: string): FrameNode {
    const node = this.#nodes.get(name)?.node;
    if (node === undefined) throw new Error(`no node '${name}' is attached`);
    return node;
  }

  nodeStats(name: string): Readonly<NodeStats> {
    const slot = this.#nodes.get(name);
    if (slot === undefined) throw new Error(`no node '${name}'`);
    return { ...slot.stats };
  }

  /** Joins interface `ifA` of node `a` to interface `ifB` of node `b` (full duplex). */
  connect(a: string, ifA: number, b: string, ifB: number, options: LinkOptions = {}): SimLink {
    for (const [n, i] of [
      [a, ifA],
      [b, ifB],
    ] as const) {
      if (!Number.isInteger(i) || i < 0) throw new RangeError(`interface index must be >= 0, got ${i}`);
      if (this.#slot(n).outgoing[i] !== undefined)
        throw new Error(`${n} interface ${i} is already connected`);
    }
    if (a === b && ifA === ifB) throw new Error('a link needs two different interfaces');
    const name = options.name ?? `${a}.${ifA}-${b}.${ifB}`;
    if (this.#links.has(name)) throw new Error(`a link named '${name}' exists`);
    const link = new SimLink(
      name,
      newEndpoint(a, ifA, this.captureLimit),
      newEndpoint(b, ifB, this.captureLimit),
      options.mtu ?? 1500,
      resolveImpairments(this.#defaultImpairments, options),
      this.seed,
      this,
    );
    this.#links.set(name, link);
    this.#slot(a).outgoing[ifA] = link.aToB;
    this.#slot(b).outgoing[ifB] = link.bToA;
    return link;
  }

  link(name: string): SimLink {
    const link = this.#links.get(name);
    if (link === undefined) throw new Error(`no link '${name}'`);
    return link;
  }

  links(): SimLink[] {
    return [...this.#links.values()];
  }

  /** Runs `fn` at virtual time `timeMs` (e.g. to change a link mid-transfer). */
  at(timeMs: number, fn: () => void): void {
    if (!(timeMs >= this.#now)) throw new RangeError(`cannot schedule at ${timeMs}, now is ${this.#now}`);
    this.#queue.push({ time: timeMs, seq: this.#seq++, kind: 'call', fn });
  }

  /** Runs `fn` `delayMs` from now. */
  after(delayMs: number, fn: () => void): void {
    this.at(this.#now + delayMs, fn);
  }

  /** @internal Called by links. */
  scheduleDelivery(direction: LinkDirection, time: number, frame: Uint8Array): void {
    this.#queue.push({ time, seq: this.#seq++, kind: 'deliver', direction, frame });
  }

  /**
   * Processes events in virtual-time order. Without `until` it runs until nothing is left to do
   * (every node's deadline is Infinity and no frame is in flight) or `maxEvents` is spent.
   */
  run(options: RunOptions = {}): RunResult {
    const until = options.until ?? Infinity;
    if (!(until >= this.#now)) throw new RangeError(`until ${until} is before now (${this.#now})`);
    const { stop, events } = this.#loop(until, options.maxEvents ?? DEFAULT_MAX_EVENTS, undefined);
    return { reason: stop === 'predicate' ? 'idle' : stop, events };
  }

  /** Runs for `ms` of virtual time. */
  runFor(ms: number, options: { maxEvents?: number } = {}): RunResult {
    return this.run({ until: this.#now + ms, maxEvents: options.maxEvents });
  }

  /**
   * Runs until `predicate()` holds (checked before the first event and after every one), for at
   * most `timeoutMs` of virtual time. Returns whether it held; on timeout the clock is at the end
   * of the allowance.
   */
  runUntil(predicate: () => boolean, options: { timeoutMs: number; maxEvents?: number }): boolean {
    if (!(options.timeoutMs >= 0)) throw new RangeError(`timeoutMs must be >= 0, got ${options.timeoutMs}`);
    const limit = this.#now + options.timeoutMs;
    return this.#loop(limit, options.maxEvents ?? DEFAULT_MAX_EVENTS, predicate).stop === 'predicate';
  }

  /**
   * Writes every endpoint capture as `<node>-if<ifIndex>.pcap` under `dir` (created if needed) and
   * returns the paths.
   */
  writePcaps(dir: string): string[] {
    mkdirSync(dir, { recursive: true });
    const paths: string[] = [];
    for (const link of this.#links.values()) {
      for (const end of [link.a, link.b]) {
        const path = join(dir, `${safeFileName(end.node)}-if${end.ifIndex}.pcap`);
        writeFileSync(path, end.capture.toPcap());
        paths.push(path);
      }
    }
    return paths;
  }

  #loop(
    until: number,
    maxEvents: number,
    predicate: (() => boolean) | undefined,
  ): { stop: RunResult['reason'] | 'predicate'; events: number } {
    if (this.#running) throw new Error('Sim.run is not re-entrant (called from inside a node or callback?)');
    for (const link of this.#links.values()) {
      for (const end of [link.a, link.b]) {
        if (this.#nodes.get(end.node)?.node === undefined) {
          throw new Error(`link '${link.name}' ends at node '${end.node}', which is not attached`);
        }
      }
    }
    this.#running = true;
    let events = 0;
    try {
      if (predicate?.()) return { stop: 'predicate', events };
      while (events < maxEvents) {
        if (!this.#step(until)) break;
        events++;
        if (predicate?.()) return { stop: 'predicate', events };
      }
    } finally {
      this.#running = false;
    }
    if (events >= maxEvents) return { stop: 'maxEvents', events };
    if (until === Infinity) return { stop: 'idle', events };
    this.#now = until;
    return { stop: 'until', events };
  }

  /** Processes the next event if it is due no later than `until`; false when there is none. */
  #step(until: number): boolean {
    const next = this.#queue.peek();
    const eventTime = next === undefined ? Infinity : next.time;
    let due: NodeSlot | undefined;
    let deadline = Infinity;
    for (const slot of this.#slots) {
      if (slot.deadline < deadline) {
        deadline = slot.deadline;
        due = slot;
      }
    }
    const time = Math.min(eventTime, deadline);
    if (time === Infinity || time > until) return false;
    this.#now = time;
    this.#totalEvents++;
    if (eventTime <= deadline) {
      const event = this.#queue.pop()!;
      if (event.kind === 'call') {
        event.fn();
      } else {
        this.#deliver(event.direction, event.frame);
      }
    } else {
      this.#poll(due!);
    }
    return true;
  }

  #deliver(direction: LinkDirection, frame: Uint8Array): void {
    if (!direction.link.up) {
      direction.counters.droppedDown++;
      return;
    }
    const to = direction.to;
    const slot = this.#nodes.get(to.node)!;
    to.capture.record(frame, 0, frame.length, this.#now);
    direction.counters.delivered++;
    direction.counters.bytesDelivered += frame.length;
    slot.stats.received++;
    slot.node!.receive(to.ifIndex, frame, 0, frame.length, this.#now);
    this.#poll(slot);
  }

  #poll(slot: NodeSlot): void {
    slot.stats.polls++;
    const next = slot.node!.poll(this.#now);
    if (Number.isNaN(next)) throw new Error(`node '${slot.name}' returned NaN from poll`);
    // A deadline in the past means "as soon as possible": poll again at the current time.
    slot.deadline = Math.max(next, this.#now);
  }

  #slot(name: string): NodeSlot {
    let slot = this.#nodes.get(name);
    if (slot === undefined) {
      const outgoing: (LinkDirection | undefined)[] = [];
      const stats: NodeStats = { transmitted: 0, unconnected: 0, received: 0, polls: 0 };
      const output: FrameOutput = {
        transmit: (ifIndex, buf, off, len) => {
          stats.transmitted++;
          const direction = outgoing[ifIndex];
          if (direction === undefined) {
            stats.unconnected++;
            return;
          }
          direction.send(buf, off, len, this.#now);
        },
      };
      slot = { name, node: undefined, deadline: Infinity, outgoing, output, stats };
      this.#nodes.set(name, slot);
      this.#slots.push(slot);
    }
    return slot;
  }
}

function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}
