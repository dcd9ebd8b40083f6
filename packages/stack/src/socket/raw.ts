// Raw IP sockets: by protocol number, each gets a copy of every datagram of its protocol for it
// (header included, as on Linux), and multicast only for groups some socket joined on that interface.
import { IPV4_MIN_HEADER, isMulticastIpv4 } from '@nexthop/wire';
import type { Multicast } from './multicast.ts';
import { SockLists } from './sock.ts';
import type { SocketSink } from './udp.ts';

export class RawSockets {
  /** Open raw sockets by protocol. */
  readonly protocols = new SockLists();
  private readonly sink: SocketSink;
  private readonly multicast: Multicast;

  constructor(sink: SocketSink, multicast: Multicast) {
    this.sink = sink;
    this.multicast = multicast;
  }

  /** Whether any raw socket listens for `protocol` (the stack then skips protocol unreachable). */
  has(protocol: number): boolean {
    return this.protocols.has(protocol);
  }

  /** A copy of an IP datagram of `protocol` (the whole packet). Returns whether any socket took it. */
  input(
    ifIndex: number,
    buf: Uint8Array,
    ipOff: number,
    ipLen: number,
    protocol: number,
    src: number,
    dst: number,
  ): boolean {
    const list = this.protocols.get(protocol);
    if (list === undefined) return false;
    if (isMulticastIpv4(dst) && ifIndex >= 0 && !this.multicast.joined(dst, ifIndex)) return false;
    let taken = false;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (s.opt.boundIf >= 0 && s.opt.boundIf !== ifIndex) continue;
      if (s.localAddr !== 0 && s.localAddr !== dst) continue;
      if (s.connected && s.remoteAddr !== src) continue;
      this.sink.enqueue(s, buf, ipOff, ipLen, src, 0, dst, ifIndex);
      taken = true;
    }
    return taken;
  }
}

/** The IP header a looped-back raw datagram is seen with (checksum left 0: it never hits a wire). */
export function writeLoopHeader(
  t: Uint8Array,
  off: number,
  l4Len: number,
  protocol: number,
  src: number,
  dst: number,
  ttl: number,
): void {
  t[off] = 0x45;
  t[off + 1] = 0;
  t[off + 2] = ((IPV4_MIN_HEADER + l4Len) >>> 8) & 255;
  t[off + 3] = (IPV4_MIN_HEADER + l4Len) & 255;
  t[off + 4] = 0;
  t[off + 5] = 0;
  t[off + 6] = 0x40;
  t[off + 7] = 0;
  t[off + 8] = ttl;
  t[off + 9] = protocol;
  t[off + 10] = 0;
  t[off + 11] = 0;
  t[off + 12] = src >>> 24;
  t[off + 13] = (src >>> 16) & 255;
  t[off + 14] = (src >>> 8) & 255;
  t[off + 15] = src & 255;
  t[off + 16] = dst >>> 24;
  t[off + 17] = (dst >>> 16) & 255;
  t[off + 18] = (dst >>> 8) & 255;
  t[off + 19] = dst & 255;
}
