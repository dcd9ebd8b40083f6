import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Where scripts/setup.sh builds the addon, relative to this file. */
export const ADDON_PATH = fileURLToPath(
  new URL('../../../native/build/Release/nexthop_native.node', import.meta.url),
);

/** An open device inside the addon. Opaque: only the addon's functions accept it. */
export interface NativePort {
  readonly __nativePort: unique symbol;
}

export interface AfPacketRingOptions {
  ifindex: number;
  /** Bytes per ring block; a multiple of the page size. */
  blockSize: number;
  blockCount: number;
  /** The kernel hands over a partly filled block after this long (TPACKET_V3 retire timer). */
  blockTimeoutMs: number;
  promiscuous: boolean;
  qdiscBypass: boolean;
  /** Read through a copy instead of the mmap'ed ring (the fallback when external buffers are refused). */
  copyRing: boolean;
  /**
   * 3: TPACKET_V3 (blocks; a frame waits until its block is full or retired). 2: TPACKET_V2 (one
   * slot per frame, handed over at once; the block options are ignored).
   */
  ringVersion: 2 | 3;
  /** TPACKET_V2: slots in the ring (rounded up so that slots fill whole pages). */
  slotCount: number;
  /** TPACKET_V2: the device's MTU, which sizes the slots. */
  mtu: number;
}

export interface AfPacketHandle {
  port: NativePort;
  /** The memory the receive descriptors point into: the ring itself, or the copy buffer. */
  view: ArrayBuffer;
  /** True when `view` is the mmap'ed ring (no copy). */
  external: boolean;
  /** Frames (triples) the descs array given to afpReceive must have room for. */
  maxFrames: number;
  /** TPACKET_V2: the ring's slots; 0 for TPACKET_V3. */
  slotCount: number;
}

/** The addon's functions, exactly as native/src/addon.c registers them. */
export interface NativeAddon {
  /**
   * Calls `onReady` once per readiness wakeup of the port's descriptor; `ready` has bit 1 set for
   * readable and bit 2 for writable (reported only while portWatchWritable asked for it).
   */
  portStart(port: NativePort, onReady: (ready: number) => void): void;
  /** Also wake up when the descriptor is writable (a transmit backlog waits for room), or stop. */
  portWatchWritable(port: NativePort, on: boolean): void;
  /**
   * Transmit errors since the previous call: [EAGAIN stops (send buffer full), frames refused
   * with ENOBUFS (consumed by the kernel, not retried), other errors, errno of the last other].
   */
  portTxErrors(port: NativePort): [number, number, number, number];
  /** Stops the poll, closes the descriptor, detaches the ring view. Idempotent. */
  portClose(port: NativePort): void;
  /**
   * sendmmsg of frames first..count-1 ([off, len, segmentSize] triples in descs) in order,
   * stopping at the first one the kernel cannot take now. On an AF_PACKET port (PACKET_VNET_HDR)
   * each frame goes out behind a zeroed virtio_net_hdr, except a TCP/IPv4 frame with segmentSize
   * > 0: it gets a GSO header (the kernel cuts it into segments of that payload size) and its TCP
   * checksum field is overwritten with the pseudo-header sum that CHECKSUM_PARTIAL needs. result = [sent, bytesSent, dropped, next, errno]: frames from
   * `next` on were not handled (retry them); errno (EAGAIN or ENOBUFS) says why, 0 when all were.
   */
  sendBatch(
    port: NativePort,
    buf: Uint8Array,
    descs: Uint32Array,
    first: number,
    count: number,
    result: Float64Array,
  ): void;
  /**
   * One write() per frame ([off, len, segmentSize] triples); result = [sent, bytesSent, dropped];
   * a full device drops the rest. For TAP ports: it throws on an AF_PACKET port (vnet headers).
   */
  writeBatch(
    port: NativePort,
    buf: Uint8Array,
    descs: Uint32Array,
    count: number,
    result: Float64Array,
  ): void;
  afpOpen(options: {
    ifindex: number;
    blockSize: number;
    blockCount: number;
    blockTimeoutMs: number;
    promiscuous: number;
    qdiscBypass: number;
    copyRing: number;
    ringVersion: number;
    slotCount: number;
    mtu: number;
  }): AfPacketHandle;
  /**
   * Releases the previous batch's blocks (V2: slots), fills descs with [offset, length, segmentSize]
   * of the frames of the ready blocks (V2: ready slots, in order, oversized ones read into the view's
   * side buffer after the ring) (segmentSize from the frame's vnet header: the GSO segment size of a
   * TCP/UDP aggregate, else 0); returns how many.
   */
  afpReceive(port: NativePort, descs: Uint32Array): number;
  /** [kernel drops, frames the block walker rejected] since the previous call. */
  afpDrops(port: NativePort): [number, number];
  tapOpen(name: string): { port: NativePort; name: string };
  /** Reads frames into pool until drained; each read gets frameRoom bytes; descs gets [off, len, 0]. */
  tapReadBatch(port: NativePort, pool: Uint8Array, descs: Uint32Array, frameRoom: number): number;
}

let loaded: NativeAddon | undefined;

/** Loads the addon once; throws a message that says how to build it when it is missing. */
export function loadNative(): NativeAddon {
  if (loaded) return loaded;
  if (!existsSync(ADDON_PATH)) {
    throw new Error(`the nexthop C addon is not built (${ADDON_PATH} is missing): run \`npm run setup\``);
  }
  const require = createRequire(import.meta.url);
  loaded = require(ADDON_PATH) as NativeAddon;
  return loaded;
}

export function openAfPacketRing(options: AfPacketRingOptions): AfPacketHandle {
  return loadNative().afpOpen({
    ifindex: options.ifindex,
    blockSize: options.blockSize,
    blockCount: options.blockCount,
    blockTimeoutMs: options.blockTimeoutMs,
    promiscuous: options.promiscuous ? 1 : 0,
    qdiscBypass: options.qdiscBypass ? 1 : 0,
    copyRing: options.copyRing ? 1 : 0,
    ringVersion: options.ringVersion,
    slotCount: options.slotCount,
    mtu: options.mtu,
  });
}
