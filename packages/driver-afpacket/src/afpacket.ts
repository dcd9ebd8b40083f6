import type { FrameBatchHandler, Link, LinkStats } from '@nexthop/interface';
import {
  type AfPacketHandle,
  DESC_STRIDE,
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
  /**
   * V3 ring geometry ('v3'). Defaults: 256 blocks of 128 KiB (32 MiB), 1 ms block timeout. Many
   * blocks, because the kernel hands over a block when it is full *or* when the timeout retires it
   * (in practice some 5 ms late): at low rates blocks leave nearly empty, so the ring holds block
   * count × retire time of traffic, and at high rates it holds its byte capacity (some 100,000
   * 64-byte frames). 512 blocks of 8 KiB lost frames at 50 kpps. A block must also hold the largest
   * frame plus its headers: a GSO/GRO aggregate (up to 64 KB) that does not fit is truncated by the
   * kernel and rejected by the walker (rxRejected), hence 128 KiB.
   */
  blockSize?: number;
  blockCount?: number;
  blockTimeoutMs?: number;
  /**
   * Frames and bytes that can wait for flush() or, when the kernel pushed back, for the socket to
   * become writable again. Defaults 4096 frames, 8 MiB. Only when this queue is full are frames
   * dropped (txDropsFull).
   */
  txFrames?: number;
  txBytes?: number;
  /** Read through a copy of the ring instead of the ring itself (the fallback path; for tests). */
  copyRing?: boolean;
  /**
   * Receive ring kind. 'v2' (TPACKET_V2, libpcap's "immediate mode"; the default): one slot per
   * frame, each readable as soon as the kernel wrote it; frames longer than a slot (GSO/GRO
   * aggregates) are also queued whole on the socket and read from there into a side buffer. 'v3'
   * (TPACKET_V3): frames arrive a block at a time, so at low rates a lone frame waits for the block
   * timeout (about 1 ms of latency per received frame); the block options above apply to it only.
   */
  ring?: 'v2' | 'v3';
  /**
   * 'v2': slots in the ring, each sized for one MTU frame (2 KiB at MTU 1500). Default 65536
   * (128 MiB): the ring is all that absorbs a burst while the VR is not running, and bench/forward.ts
   * at 50 kpps lost frames with 8192 and (rarely) 32768 slots: its generators deliver bursts of
   * thousands of frames within a few ms, and the VR sometimes runs tens of ms later.
   */
  slotCount?: number;
}

/** The kernel consumed a frame it refused with ENOBUFS; such a backlog is retried after this. */
const NOBUFS_RETRY_MS = 1;
const EAGAIN = 11;
const ETH_HEADER = 14;
/**
 * Largest TCP aggregate (IP bytes) handed to the kernel with GSO: the IP length field's limit less
 * the Ethernet header, so that the whole frame stays within a device's 64 KiB gso_max_size.
 */
const MAX_SEGMENT_OFFLOAD = 65535 - ETH_HEADER;
const READY_READABLE = 1;
const READY_WRITABLE = 2;

/** Driver counters beyond LinkStats (in `stats()` and so in `show counters`). */
export interface AfPacketExtraStats {
  /** Times sendmmsg stopped with EAGAIN (send buffer full); the frames stayed queued. */
  txBlockedAgain: number;
  /** Frames the kernel refused with ENOBUFS (device or qdisc drop; not retried). */
  txDropsNoBufs: number;
  /** Frames dropped for another transmit error, and the errno of the last one. */
  txErrOther: number;
  txLastErrno: number;
  /** Frames waiting in the transmit queue now (a backlog the kernel did not take yet). */
  txQueued: number;
  /** Frames the ring walker refused (corrupt block). */
  rxRejected: number;
}

class AfPacketLink implements Link {
  readonly kind = 'afpacket' as const;
  readonly device: string;
  readonly mac: Uint8Array;
  readonly mtu: number;
  /** The socket has vnet headers: TCP aggregates go to the kernel whole (GSO) with their checksum partial. */
  readonly maxSegmentOffload = MAX_SEGMENT_OFFLOAD;
  readonly external: boolean;

  private readonly addon: NativeAddon;
  private readonly handle: AfPacketHandle;
  private readonly view: Uint8Array;
  private readonly rxDescs: Uint32Array;
  private readonly stage: FrameStage;
  private readonly txResult = new Float64Array(5);
  /** Ring blocks one afpReceive call can hand over, and so batches per wakeup to empty the ring. */
  private readonly batchesPerWakeup: number;
  private readonly extra: AfPacketExtraStats = {
    txBlockedAgain: 0,
    txDropsNoBufs: 0,
    txErrOther: 0,
    txLastErrno: 0,
    txQueued: 0,
    rxRejected: 0,
  };
  /** A backlog waits for POLLOUT. */
  private waitingWritable = false;
  private retryTimer: NodeJS.Timeout | null = null;
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

  constructor(options: AfPacketOptions) {
    this.addon = loadNative();
    const info = readDeviceInfo(options.device);
    this.device = options.device;
    this.mac = info.mac;
    this.mtu = info.mtu;
    const blockSize = options.blockSize ?? 128 * 1024;
    const blockCount = options.blockCount ?? 256;
    this.handle = openAfPacketRing({
      ifindex: info.ifindex,
      blockSize,
      blockCount,
      blockTimeoutMs: options.blockTimeoutMs ?? 1,
      promiscuous: options.promiscuous ?? true,
      qdiscBypass: options.qdiscBypass ?? false,
      copyRing: options.copyRing ?? false,
      ringVersion: (options.ring ?? 'v2') === 'v2' ? 2 : 3,
      slotCount: options.slotCount ?? 65536,
      mtu: info.mtu,
    });
    this.external = this.handle.external;
    this.view = new Uint8Array(this.handle.view);
    this.rxDescs = new Uint32Array(this.handle.maxFrames * DESC_STRIDE);
    if (this.handle.slotCount > 0) {
      // V2: a batch is at most maxFrames slots (fewer when the side buffer fills up).
      this.batchesPerWakeup = Math.ceil(this.handle.slotCount / this.handle.maxFrames) + 1;
    } else {
      // afpReceive takes as many blocks as maxFrames has room for at MIN_FRAME_STRIDE (64) bytes each.
      const blocksPerBatch = Math.max(1, Math.floor(this.handle.maxFrames / (blockSize / 64)));
      this.batchesPerWakeup = Math.ceil(blockCount / blocksPerBatch);
    }
    this.stage = new FrameStage(options.txBytes ?? 8 * 1024 * 1024, options.txFrames ?? 4096);
  }

  get up(): boolean {
    return !this.closed && readCarrier(this.device);
  }

  start(handler: FrameBatchHandler): void {
    if (this.closed) throw new Error(`${this.device}: link is closed`);
    if (this.handler) throw new Error(`${this.device}: link already started`);
    this.handler = handler;
    this.addon.portStart(this.handle.port, (ready) => {
      if ((ready & READY_WRITABLE) !== 0) this.transmit();
      if ((ready & READY_READABLE) !== 0) this.drain();
    });
  }

  /** Hands over every ready block or slot (at most one ring's worth, so timers still get their turn). */
  private drain(): void {
    const addon = this.addon;
    const port = this.handle.port;
    const descs = this.rxDescs;
    for (let batch = 0; batch < this.batchesPerWakeup && !this.closed; batch++) {
      const count = addon.afpReceive(port, descs);
      if (count === 0) return;
      let bytes = 0;
      // The addon writes at most rxDescs.length / DESC_STRIDE frames, so these entries exist.
      for (let i = 0; i < count; i++) bytes += descs[DESC_STRIDE * i + 1]!;
      this.counters.rxFrames += count;
      this.counters.rxBytes += bytes;
      this.handler!(this, this.view, descs, count);
    }
  }

  send(buf: Uint8Array, off: number, len: number, segmentSize = 0): boolean {
    if (
      segmentSize > 0
        ? !this.fitsAggregate(buf, off, len, segmentSize)
        : len > maxFrameLength(this.mtu, buf, off, len)
    ) {
      this.counters.txDropsTooBig++;
      return false;
    }
    if (this.closed) {
      this.counters.txDropsFull++;
      return false;
    }
    const stage = this.stage;
    if (
      !stage.push(buf, off, len, segmentSize) &&
      !(this.makeRoom() && stage.push(buf, off, len, segmentSize))
    ) {
      this.counters.txDropsFull++;
      return false;
    }
    return true;
  }

  /**
   * An untagged TCP/IPv4 aggregate within MAX_SEGMENT_OFFLOAD whose segments fit the MTU. The C side
   * checks the headers again (against the buffer) before it asks the kernel to segment.
   */
  private fitsAggregate(buf: Uint8Array, off: number, len: number, segmentSize: number): boolean {
    if (len - ETH_HEADER > MAX_SEGMENT_OFFLOAD || len < ETH_HEADER + 40) return false;
    if (buf[off + 12] !== 0x08 || buf[off + 13] !== 0x00 || buf[off + ETH_HEADER + 9] !== 6) return false;
    const ipHeader = (buf[off + ETH_HEADER]! & 15) * 4;
    const tcpHeader = (buf[off + ETH_HEADER + ipHeader + 12]! >>> 4) * 4;
    return ipHeader + tcpHeader + segmentSize <= this.mtu;
  }

  /**
   * The queue is full: send what the kernel takes now (unless it already said it is full), then
   * move the rest to the front. One batch can hold more frames than the queue (a receive batch
   * of several full blocks), so this is how a big batch goes out without losses.
   */
  private makeRoom(): boolean {
    if (!this.waitingWritable) this.transmit();
    this.stage.compact();
    return this.stage.count < this.stage.maxFrames;
  }

  flush(): void {
    this.transmit();
  }

  /** Sends the queue in order; what the kernel does not take stays queued for a retry. */
  private transmit(): void {
    const stage = this.stage;
    if (stage.pending === 0) {
      if (this.waitingWritable) this.watchWritable(false);
      return;
    }
    const result = this.txResult;
    this.addon.sendBatch(this.handle.port, stage.buf, stage.descs, stage.head, stage.count, result);
    this.counters.txFrames += result[0]!;
    this.counters.txBytes += result[1]!;
    // Frames the kernel refused for good (ENOBUFS, other errors), counted by reason in stats().
    this.counters.txDropsFull += result[2]!;
    stage.consume(result[3]! - stage.head);
    const stopped = result[4]!;
    if (stage.pending === 0) {
      if (this.waitingWritable) this.watchWritable(false);
    } else if (stopped === EAGAIN) {
      this.watchWritable(true);
    } else if (this.retryTimer === null && !this.closed) {
      // ENOBUFS: POLLOUT would be immediate (the socket buffer is not the limit), so retry later.
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (!this.closed) this.transmit();
      }, NOBUFS_RETRY_MS);
    }
  }

  private watchWritable(on: boolean): void {
    if (this.closed) return;
    this.waitingWritable = on;
    this.addon.portWatchWritable(this.handle.port, on);
  }

  get rxRejected(): number {
    return this.extra.rxRejected;
  }

  stats(): LinkStats & AfPacketExtraStats {
    const extra = this.extra;
    if (!this.closed) {
      const [drops, rejected] = this.addon.afpDrops(this.handle.port);
      this.counters.rxDropsKernel += drops;
      extra.rxRejected += rejected;
      const [again, noBufs, other, lastErrno] = this.addon.portTxErrors(this.handle.port);
      extra.txBlockedAgain += again;
      extra.txDropsNoBufs += noBufs;
      extra.txErrOther += other;
      if (other > 0) extra.txLastErrno = lastErrno;
    }
    extra.txQueued = this.stage.pending;
    return { ...this.counters, ...extra };
  }

  close(): void {
    if (this.closed) return;
    this.stats();
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    // Frames still queued are lost with the socket.
    this.counters.txDropsFull += this.stage.pending;
    this.stage.reset();
    this.addon.portClose(this.handle.port);
  }
}

export type AfPacketLinkHandle = Link & {
  readonly external: boolean;
  readonly rxRejected: number;
  stats(): LinkStats & AfPacketExtraStats;
};

/** Opens `device` with an AF_PACKET socket and a TPACKET_V3 or V2 receive ring. Needs CAP_NET_RAW. */
export function openAfPacket(options: AfPacketOptions): AfPacketLinkHandle {
  return new AfPacketLink(options);
}
