import type { FrameBatchHandler, Link, LinkStats } from '@nexthop/interface';
import {
  type AfPacketHandle,
  FrameStage,
  loadNative,
  maxFrameLength,
  type NativeAddon,
  openAfPacketRing,
  readCarrier,
  readDeviceInfo,
} from '@nexthop/native';

export interface AfPacketOptions {
  /** Kernel interface name. */
  device: string;
  /**
   * Receive every frame on the wire, not only those addressed to the device (default true: the
   * VR may use its own MAC and needs multicast without managing memberships). Restored by the
   * kernel when the socket closes.
   */
  promiscuous?: boolean;
  /** Skip the kernel's qdisc on transmit (PACKET_QDISC_BYPASS). Default false. */
  qdiscBypass?: boolean;
  /** Receive ring geometry. Defaults: 64 blocks of 256 KiB, 1 ms block timeout. */
  blockSize?: number;
  blockCount?: number;
  blockTimeoutMs?: number;
  /** Frames and bytes that can wait for flush(). Defaults 4096 frames, 8 MiB. */
  txFrames?: number;
  txBytes?: number;
  /** Read through a copy of the ring instead of the ring itself (the fallback path; for tests). */
  copyRing?: boolean;
}

/** Batches handled per readiness wakeup before yielding to the event loop. */
const BATCHES_PER_WAKEUP = 16;

class AfPacketLink implements Link {
  readonly kind = 'afpacket' as const;
  readonly device: string;
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly external: boolean;

  private readonly addon: NativeAddon;
  private readonly handle: AfPacketHandle;
  private readonly view: Uint8Array;
  private readonly rxDescs: Uint32Array;
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
  /** Frames the ring walker refused (corrupt block); not part of LinkStats. */
  rxRejected = 0;
  private handler: FrameBatchHandler | undefined;
  private closed = false;

  constructor(options: AfPacketOptions) {
    this.addon = loadNative();
    const info = readDeviceInfo(options.device);
    this.device = options.device;
    this.mac = info.mac;
    this.mtu = info.mtu;
    this.handle = openAfPacketRing({
      ifindex: info.ifindex,
      blockSize: options.blockSize ?? 256 * 1024,
      blockCount: options.blockCount ?? 64,
      blockTimeoutMs: options.blockTimeoutMs ?? 1,
      promiscuous: options.promiscuous ?? true,
      qdiscBypass: options.qdiscBypass ?? false,
      copyRing: options.copyRing ?? false,
    });
    this.external = this.handle.external;
    this.view = new Uint8Array(this.handle.view);
    this.rxDescs = new Uint32Array(this.handle.maxFrames * 2);
    this.stage = new FrameStage(options.txBytes ?? 8 * 1024 * 1024, options.txFrames ?? 4096);
  }

  get up(): boolean {
    return !this.closed && readCarrier(this.device);
  }

  start(handler: FrameBatchHandler): void {
    if (this.closed) throw new Error(`${this.device}: link is closed`);
    if (this.handler) throw new Error(`${this.device}: link already started`);
    this.handler = handler;
    this.addon.portStart(this.handle.port, () => this.drain());
  }

  private drain(): void {
    const addon = this.addon;
    const port = this.handle.port;
    const descs = this.rxDescs;
    for (let batch = 0; batch < BATCHES_PER_WAKEUP && !this.closed; batch++) {
      const count = addon.afpReceive(port, descs);
      if (count === 0) return;
      let bytes = 0;
      for (let i = 0; i < count; i++) bytes += descs[2 * i + 1];
      this.counters.rxFrames += count;
      this.counters.rxBytes += bytes;
      this.handler!(this, this.view, descs, count);
    }
  }

  send(buf: Uint8Array, off: number, len: number): boolean {
    if (len > maxFrameLength(this.mtu, buf, off, len)) {
      this.counters.txDropsTooBig++;
      return false;
    }
    if (this.closed || !this.stage.push(buf, off, len)) {
      this.counters.txDropsFull++;
      return false;
    }
    return true;
  }

  flush(): void {
    const stage = this.stage;
    if (stage.count === 0) return;
    const result = this.txResult;
    this.addon.sendBatch(this.handle.port, stage.buf, stage.descs, stage.count, result);
    this.counters.txFrames += result[0];
    this.counters.txBytes += result[1];
    this.counters.txDropsFull += result[2];
    stage.reset();
  }

  stats(): LinkStats {
    if (!this.closed) {
      const [drops, rejected] = this.addon.afpDrops(this.handle.port);
      this.counters.rxDropsKernel += drops;
      this.rxRejected += rejected;
    }
    return { ...this.counters };
  }

  close(): void {
    if (this.closed) return;
    this.stats();
    this.closed = true;
    this.stage.reset();
    this.addon.portClose(this.handle.port);
  }
}

export type AfPacketLinkHandle = Link & { readonly external: boolean; readonly rxRejected: number };

/** Opens `device` with an AF_PACKET socket and a TPACKET_V3 receive ring. Needs CAP_NET_RAW. */
export function openAfPacket(options: AfPacketOptions): AfPacketLinkHandle {
  return new AfPacketLink(options);
}
