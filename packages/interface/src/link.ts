/**
 * A Link is one network interface as the VR sees it: a source of received Ethernet frames in
 * batches and a sink for frames to transmit. Every driver (afpacket, tap, pipe) implements it and
 * passes the same compliance suite.
 */

export type LinkKind = 'afpacket' | 'tap' | 'pipe';

/**
 * Called once per received batch. `descs` holds `count` triples [offset, length, info]: frame i is
 * `buf[descs[3*i] .. descs[3*i] + descs[3*i+1])`. `info` is the segment size in its low 16 bits
 * (wire's FRAME_SEGMENT_MASK) plus flags (wire's FRAME_L4_CHECKSUM_GOOD: the kernel verified the
 * TCP/UDP checksum, or the driver computed it, so nobody need sum the payload again); pass it to
 * Stack.receive as is. `segmentSize` is 0 for an ordinary
 * frame; a driver with offload information (afpacket's vnet headers) sets it to the payload size of
 * the TCP or UDP segments a frame aggregates (GSO from a local sender, GRO on a NIC). Such a frame
 * may be longer than `mtu` allows; the receiver cuts it back into segments of that size when it has
 * to (see Stack.receive). Drivers without such information (tap, pipe) always report 0.
 * The frames are only valid during the call: the driver reuses the memory afterwards (for
 * afpacket it is the kernel's receive ring). The handler may rewrite frames in place and pass
 * them to `Link.send` of any link, which copies them.
 */
export type FrameBatchHandler = (link: Link, buf: Uint8Array, descs: Uint32Array, count: number) => void;

export interface LinkStats {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** Frames the driver could not queue because its transmit ring or queue was full. */
  txDropsFull: number;
  /** Frames the driver refused because they were larger than it can carry. */
  txDropsTooBig: number;
  /** Frames the kernel reported lost before the driver saw them (ring overrun). */
  rxDropsKernel: number;
}

export interface Link {
  readonly kind: LinkKind;
  /** Name of the underlying device (kernel interface name, or the pipe's label). */
  readonly device: string;
  /** Hardware address, 6 bytes. */
  readonly mac: Uint8Array;
  /** Largest IP packet (Ethernet payload) the link carries. */
  readonly mtu: number;
  /** Whether the carrier is up. */
  readonly up: boolean;
  /**
   * Largest TCP/IPv4 aggregate (IP packet length) `send` accepts with a non-zero `segmentSize`,
   * for the kernel or NIC to cut into segments (TSO/GSO); 0 when the link cannot take aggregates
   * (then every frame must fit `mtu`). afpacket with vnet headers: 65535 minus the headers; tap,
   * pipe: 0.
   */
  readonly maxSegmentOffload: number;
  /** Begin delivering received frames to `handler`. Called once. */
  start(handler: FrameBatchHandler): void;
  /**
   * Queue one frame (Ethernet header included, no FCS) for transmission. The bytes are copied
   * before this returns, so the caller may reuse `buf` at once. Returns false, and counts the
   * drop, when the frame cannot be queued. Nothing leaves before `flush()`.
   *
   * A non-zero `segmentSize` (only where `maxSegmentOffload` > 0) marks an untagged TCP/IPv4
   * aggregate of at most `maxSegmentOffload` IP bytes that leaves as segments of that payload size,
   * each with its own IP id, sequence number and checksums (FIN and PSH on the last one only, CWR
   * on the first). Its TCP checksum field is ignored: the link fills in what its offload needs.
   * Every segment (headers + segmentSize) must fit `mtu`.
   */
  send(buf: Uint8Array, off: number, len: number, segmentSize?: number): boolean;
  /** Transmit everything queued, with one native call at most. */
  flush(): void;
  stats(): LinkStats;
  /** Stop receiving, release the device and restore what `start` changed (e.g. promiscuous mode). */
  close(): void;
}
