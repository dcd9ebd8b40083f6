/**
 * Where the sans-IO stack hands frames it wants transmitted. The frame is only borrowed for the
 * duration of the call: an implementation copies it (Link.send does).
 */
export interface FrameOutput {
  transmit(ifIndex: number, buf: Uint8Array, off: number, len: number): void;
}
