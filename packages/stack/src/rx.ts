import { Ipv4Header } from '@nexthop/wire';

/**
 * What the stack knows of the frame being processed, filled on input and read by the layers above
 * it: one object of one shape for the life of the stack, so that no packet allocates.
 */
export class RxState {
  /** The IPv4 header just decoded (of the reassembled datagram once there is one). */
  readonly ip = new Ipv4Header();
  /** The frame was sent to a link-layer group address (broadcast or multicast MAC). */
  linkBroadcast = false;
  /** The driver's GSO segment size: the frame aggregates segments of this payload; 0 when not. */
  segmentSize = 0;
  /** The driver vouches for the TCP/UDP checksum, so delivery does not sum the payload again. */
  l4ChecksumGood = false;
}
