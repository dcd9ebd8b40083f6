import type { FrameOutput } from './output.ts';

/**
 * Anything that takes frames and time in, and hands frames out through a FrameOutput given at
 * construction: the sans-IO stack implements it, and so can a test's toy node. The simulator and
 * the VR process drive nodes only through this.
 *
 * Time (`now`) is in milliseconds on a monotonic clock chosen by the driver of the node.
 */
export interface FrameNode {
  /** One received Ethernet frame on interface `ifIndex`. The frame is borrowed for the call only. */
  receive(ifIndex: number, buf: Uint8Array, off: number, len: number, now: number): void;
  /** Run timers due at `now`; returns the next deadline (ms), or Infinity when none is armed. */
  poll(now: number): number;
}

export type { FrameOutput };
