// Raw AF_INET6 sockets (RFC 3542 §3): by Next Header value, each gets a copy of every packet of its
// protocol for the VR — the upper-layer message alone, without the IPv6 header (unlike IPv4 raw
// sockets), its addresses in the receive metadata. A socket with a checksum offset (IPV6_CHECKSUM;
// ICMPv6 always, at 2) gets only messages whose checksum over the pseudo-header is right.
import { foldSum, sumWords } from '@nexthop/wire';
import { Multicast6 } from './multicast6.ts';
import { SockLists } from './sock.ts';
import type { SocketSink } from './udp.ts';

function equal16(a: Uint8Array, buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== buf[off + i]) return false;
  return true;
}

function unspecified(a: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== 0) return false;
  return true;
}

export class RawSockets6 {
  /** Open raw AF_INET6 sockets by protocol. */
  readonly protocols = new SockLists();
  /** Messages a socket's checksum offset found bad (not given to it). */
  badChecksums = 0;
  private readonly sink: SocketSink;

  constructor(sink: SocketSink) {
    this.sink = sink;
  }

  has(protocol: number): boolean {
    return this.protocols.has(protocol);
  }

  /**
   * The upper-layer message at buf[off, off+len) of `protocol`, from the address at buf[srcOff..] to
   * the one at buf[dstOff..], received on ifIndex (-1: looped back). `pseudo` is the pseudo-header
   * sum without the length. A multicast one goes to the sockets that joined the group there.
   */
  input(
    ifIndex: number,
    buf: Uint8Array,
    off: number,
    len: number,
    protocol: number,
    srcOff: number,
    dstOff: number,
    multicast: boolean,
    pseudo: number,
  ): boolean {
    const list = this.protocols.get(protocol);
    if (list === undefined) return false;
    let taken = false;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (s.opt.boundIf >= 0 && s.opt.boundIf !== ifIndex) continue;
      if (multicast) {
        if (!Multicast6.wants(s, buf, dstOff, ifIndex)) continue;
      } else if (!unspecified(s.localAddr6) && !equal16(s.localAddr6, buf, dstOff)) continue;
      if (s.connected && !equal16(s.remoteAddr6, buf, srcOff)) continue;
      const c = s.checksumOffset;
      if (c >= 0 && (c + 2 > len || foldSum(sumWords(buf, off, len, pseudo + len)) !== 0xffff)) {
        this.badChecksums++;
        continue;
      }
      this.sink.enqueue6(s, buf, off, len, buf, srcOff, 0, dstOff, ifIndex, buf[srcOff - 1]!);
      taken = true;
    }
    return taken;
  }
}
