import type { FrameBatchHandler, Link, LinkStats } from '@nexthop/interface';
import { DESC_STRIDE, FrameStage, stageFrame } from '@nexthop/native';

export interface PipeOptions {
  /** Default 1500. */
  mtu?: number;
  /** Defaults 02:00:00:00:00:01 and 02:00:00:00:00:02 (locally administered). */
  macA?: Uint8Array;
  macB?: Uint8Array;
  /** Device names. Defaults 'pipe-a' and 'pipe-b'. */
  labelA?: string;
  labelB?: string;
  /** Frames and bytes a link's receive queue holds before it drops (counted as rxDropsKernel). */
  queueFrames?: number;
  queueBytes?: number;
  /** Frames and bytes that can wait for flush(). */
  txFrames?: number;
  txBytes?: number;
}

class PipeLink implements Link {
  readonly kind = 'pipe' as const;
  readonly device: string;
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly maxSegmentOffload = 0;
  peer!: PipeLink;

  private readonly stage: FrameStage;
  /** Frames arriving go to `filling`; a delivery swaps it with `delivering`, so a handler that
   * sends back through the pipe never writes into the batch it is reading. */
  private filling: FrameStage;
  private delivering: FrameStage;
  private readonly counters: LinkStats = {
    rxFrames: 0,
    rxBytes: 0,
    txFrames: 0,
    txBytes: 0,
    txDropsFull: 0,
    txDropsTooBig: 0,
    rxDropsKernel: 0,
  };
  private handler: FrameBatchHandler | undefined;
  private scheduled = false;
  closed = false;
  private readonly deliverBound = (): void => this.deliver();

  constructor(device: string, mac: Uint8Array, mtu: number, options: PipeOptions) {
    if (mac.length !== 6) throw new Error('mac must be 6 bytes');
    this.device = device;
    this.mac = Uint8Array.from(mac);
    this.mtu = mtu;
    const queueBytes = options.queueBytes ?? 2 * 1024 * 1024;
    const queueFrames = options.queueFrames ?? 4096;
    this.stage = new FrameStage(options.txBytes ?? 2 * 1024 * 1024, options.txFrames ?? 4096);
    this.filling = new FrameStage(queueBytes, queueFrames);
    this.delivering = new FrameStage(queueBytes, queueFrames);
  }

  get up(): boolean {
    return !this.closed && !this.peer.closed;
  }

  start(handler: FrameBatchHandler): void {
    if (this.closed) throw new Error(`${this.device}: link is closed`);
    if (this.handler) throw new Error(`${this.device}: link already started`);
    this.handler = handler;
    this.schedule();
  }

  send(buf: Uint8Array, off: number, len: number): boolean {
    return stageFrame(this.stage, this.counters, this.mtu, this.closed, buf, off, len);
  }

  flush(): void {
    const stage = this.stage;
    if (stage.count === 0) return;
    const peer = this.peer;
    const descs = stage.descs;
    // Entries below DESC_STRIDE * stage.count exist: the stage holds no more frames than descs has room for.
    for (let i = 0; i < stage.count; i++) {
      const len = descs[DESC_STRIDE * i + 1]!;
      this.counters.txFrames++;
      this.counters.txBytes += len;
      // A closed peer is an unplugged cable: the frame leaves and is lost.
      if (!peer.closed) peer.enqueue(stage.buf, descs[DESC_STRIDE * i]!, len);
    }
    stage.reset();
    peer.schedule();
  }

  /** A pipe carries ordinary frames only: segmentSize is always 0. */
  private enqueue(buf: Uint8Array, off: number, len: number): void {
    if (!this.filling.push(buf, off, len, 0)) this.counters.rxDropsKernel++;
  }

  private schedule(): void {
    if (this.scheduled || this.closed || !this.handler || this.filling.count === 0) return;
    this.scheduled = true;
    setImmediate(this.deliverBound);
  }

  private deliver(): void {
    this.scheduled = false;
    if (this.closed || !this.handler) return;
    const batch = this.filling;
    this.filling = this.delivering;
    this.delivering = batch;
    const count = batch.count;
    let bytes = 0;
    // count <= the batch's capacity (a full batch refuses push), so these entries exist.
    for (let i = 0; i < count; i++) bytes += batch.descs[DESC_STRIDE * i + 1]!;
    this.counters.rxFrames += count;
    this.counters.rxBytes += bytes;
    try {
      this.handler(this, batch.buf, batch.descs, count);
    } finally {
      batch.reset();
      this.schedule();
    }
  }

  stats(): LinkStats {
    return { ...this.counters };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stage.reset();
    this.filling.reset();
  }
}

/**
 * Two Links joined back to back in memory, for tests. Frames leave on flush() and arrive, in
 * order, in one batch per setImmediate turn on the other side; a full receive queue drops and
 * counts (rxDropsKernel), as a kernel ring would.
 */
export function createPipePair(options: PipeOptions = {}): [Link, Link] {
  const mtu = options.mtu ?? 1500;
  const a = new PipeLink(
    options.labelA ?? 'pipe-a',
    options.macA ?? Uint8Array.of(2, 0, 0, 0, 0, 1),
    mtu,
    options,
  );
  const b = new PipeLink(
    options.labelB ?? 'pipe-b',
    options.macB ?? Uint8Array.of(2, 0, 0, 0, 0, 2),
    mtu,
    options,
  );
  a.peer = b;
  b.peer = a;
  return [a, b];
}
