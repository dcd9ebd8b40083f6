/**
 * Where the sans-IO stack hands frames it wants transmitted. The frame is only borrowed for the
 * duration of the call: an implementation copies it (Link.send does). A non-zero `segmentSize`
 * marks a TCP aggregate as `Link.send` describes it; the stack only passes one to an interface
 * whose `maxSegmentOffload` allows it.
 */
export interface FrameOutput {
  transmit(ifIndex: number, buf: Uint8Array, off: number, len: number, segmentSize?: number): void;
}
