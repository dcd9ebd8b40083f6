import type { FrameOutput } from '@nexthop/interface';
import { ETH_HEADER_LEN, ETHERTYPE_IPV4, writeEthernet } from '@nexthop/wire';
import { IF_TX_BYTES, IF_TX_FRAMES, type Interface } from './interfaces.ts';

/** Room the stack keeps in front of every IP packet it sends, for the Ethernet header. */
export const TX_HEADROOM = ETH_HEADER_LEN;
/** The largest IPv4 packet (RFC 791's 16-bit total length). */
export const MAX_IP_PACKET = 65535;

/** A buffer for one packet the stack builds itself: TX_HEADROOM, then up to MAX_IP_PACKET bytes. */
export function packetBuffer(): Uint8Array {
  return new Uint8Array(TX_HEADROOM + MAX_IP_PACKET + 64);
}

/** The bottom of the stack: frames onto a link through the FrameOutput, counted per interface. */
export class LinkOutput {
  private readonly output: FrameOutput;

  constructor(output: FrameOutput) {
    this.output = output;
  }

  /**
   * Frames the IPv4 packet at buf[ipOff, ipOff+ipLen) for `dstMac`, writing the Ethernet header in
   * the TX_HEADROOM bytes before it (the receive ring's own, for a forwarded packet).
   */
  sendIpv4(
    out: Interface,
    dstMac: Uint8Array,
    buf: Uint8Array,
    ipOff: number,
    ipLen: number,
    segmentSize = 0,
  ): void {
    const frameOff = ipOff - ETH_HEADER_LEN;
    writeEthernet(buf, frameOff, dstMac, 0, out.mac, 0, ETHERTYPE_IPV4);
    this.send(out, buf, frameOff, ipLen + ETH_HEADER_LEN, segmentSize);
  }

  /** `segmentSize` > 0: a TCP aggregate the link segments itself (Link.maxSegmentOffload). */
  send(out: Interface, buf: Uint8Array, off: number, len: number, segmentSize = 0): void {
    out.counters[IF_TX_FRAMES]! += 1;
    out.counters[IF_TX_BYTES]! += len;
    this.output.transmit(out.index, buf, off, len, segmentSize);
  }
}

/** The step above the link: an IPv4 packet to a next hop on `out`, resolved by its neighbour entry. */
export interface NextHopOutput {
  toNextHop(
    out: Interface,
    nextHop: number,
    buf: Uint8Array,
    ipOff: number,
    ipLen: number,
    segmentSize: number,
    now: number,
  ): void;
}
