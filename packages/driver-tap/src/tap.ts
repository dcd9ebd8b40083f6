import type { FrameBatchHandler, Link, LinkStats } from '@nexthop/interface';
import {
  DESC_STRIDE,
  FrameStage,
  loadNative,
  type NativeAddon,
  type NativePort,
  readCarrier,
  readDeviceInfo,
  stageFrame,
} from '@nexthop/native';

export interface TapOptions {
  /** TAP device to attach to; created (and gone again on close) if it does not exist. */
  device: string;
  /**
   * The VR's MAC on this link. The device's own address belongs to the kernel's side of the TAP
   * (and, on a bridge, is delivered to the host rather than forwarded), so the default is that
   * address with its last byte flipped: stable across restarts, distinct from the kernel's.
   */
  mac?: Uint8Array;
  /** Receive pool bytes and frames per batch. Defaults 2 MiB, 1024. */
  rxBytes?: number;
  rxFrames?: number;
  /** Frames and bytes that can wait for flush(). Defaults 4096 frames, 8 MiB. */
  txFrames?: number;
  txBytes?: number;
}

const BATCHES_PER_WAKEUP = 16;
/** Room for one 802.1Q tag and the Ethernet header beyond the MTU, rounded up. */
const FRAME_OVERHEAD = 24;

class TapLink implements Link {
  readonly kind = 'tap' as const;
  readonly device: string;
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly maxSegmentOffload = 0;

  private readonly addon: NativeAddon;
  private readonly port: NativePort;
  private readonly pool: Uint8Array;
  private readonly rxDescs: Uint32Array;
  private readonly frameRoom: number;
  private readonly stage: FrameStage;
  private readonly txResult = new Float64Array(3);
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
  private closed = false;

  constructor(options: TapOptions) {
    this.addon = loadNative();
    const opened = this.addon.tapOpen(options.device);
    this.port = opened.port;
    this.device = opened.name;
    try {
      const info = readDeviceInfo(this.device);
      this.mtu = info.mtu;
      const mac = options.mac ? Uint8Array.from(options.mac) : info.mac.slice();
      if (mac.length !== 6) throw new Error('mac must be 6 bytes');
      // Not the kernel side's own address: flip the last bit of byte 5 (of the 6 checked above).
      if (!options.mac) mac[5]! ^= 0x01;
      this.mac = mac;
    } catch (err) {
      this.addon.portClose(this.port);
      throw err;
    }
    this.frameRoom = this.mtu + FRAME_OVERHEAD;
    this.pool = new Uint8Array(Math.max(options.rxBytes ?? 2 * 1024 * 1024, this.frameRoom));
    this.rxDescs = new Uint32Array((options.rxFrames ?? 1024) * DESC_STRIDE);
    this.stage = new FrameStage(options.txBytes ?? 8 * 1024 * 1024, options.txFrames ?? 4096);
  }

  get up(): boolean {
    return !this.closed && readCarrier(this.device);
  }

  start(handler: FrameBatchHandler): void {
    if (this.closed) throw new Error(`${this.device}: link is closed`);
    if (this.handler) throw new Error(`${this.device}: link already started`);
    this.handler = handler;
    this.addon.portStart(this.port, () => this.drain());
  }

  private drain(): void {
    const descs = this.rxDescs;
    for (let batch = 0; batch < BATCHES_PER_WAKEUP && !this.closed; batch++) {
      const count = this.addon.tapReadBatch(this.port, this.pool, descs, this.frameRoom);
      if (count === 0) return;
      let bytes = 0;
      // No vnet header on the TAP: the addon writes segmentSize 0 for every frame. It writes at
      // most rxDescs.length / DESC_STRIDE frames, so these entries exist.
      for (let i = 0; i < count; i++) bytes += descs[DESC_STRIDE * i + 1]!;
      this.counters.rxFrames += count;
      this.counters.rxBytes += bytes;
      this.handler!(this, this.pool, descs, count);
    }
  }

  send(buf: Uint8Array, off: number, len: number): boolean {
    return stageFrame(this.stage, this.counters, this.mtu, this.closed, buf, off, len);
  }

  flush(): void {
    const stage = this.stage;
    if (stage.count === 0) return;
    const result = this.txResult;
    this.addon.writeBatch(this.port, stage.buf, stage.descs, stage.count, result);
    // txResult is a Float64Array(3): frames, bytes, frames dropped.
    this.counters.txFrames += result[0]!;
    this.counters.txBytes += result[1]!;
    this.counters.txDropsFull += result[2]!;
    stage.reset();
  }

  stats(): LinkStats {
    return { ...this.counters };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stage.reset();
    this.addon.portClose(this.port);
  }
}

/**
 * Attaches to (or creates) the TAP device `device`. Frames the kernel sends out of the TAP are
 * received here; frames sent here enter the kernel as if they arrived on the TAP. Needs
 * CAP_NET_ADMIN. Carrier is up while this link holds the device open.
 */
export function openTap(options: TapOptions): Link {
  return new TapLink(options);
}
