import {
  copyBytes,
  Drop,
  foldSum,
  IPPROTO_TCP,
  IPPROTO_UDP,
  pseudoHeaderSum,
  rd16,
  rd32,
  refreshIpv4Checksum,
  sumWords,
  TCP_CWR,
  TCP_FIN,
  TCP_PSH,
  UDP_HEADER_LEN,
  wr16,
  wr32,
} from '@nexthop/wire';
import { type Counters, Stat } from './counters.ts';
import type { Interface } from './interfaces.ts';
import { type NextHopOutput, packetBuffer, TX_HEADROOM } from './link.ts';

/**
 * Generic segmentation offload in software: cuts an aggregated TCP or UDP packet back into the
 * segments it stands for, as the sender's NIC would have (TSO / UDP segmentation offload), when it
 * has to leave by a link that does not take it whole or waits for ARP.
 */
export class Segmenter {
  private readonly next: NextHopOutput;
  private readonly counters: Counters;
  private readonly buf = packetBuffer();

  constructor(next: NextHopOutput, counters: Counters) {
    this.next = next;
    this.counters = counters;
  }

  /**
   * Sends the aggregate at buf[ipOff..] as segments of at most `size` payload bytes that fit the
   * MTU of `out`: TCP sequence numbers advance, FIN and PSH stay on the last segment and CWR on the
   * first; UDP datagrams each get their own header; IP ids count up as Linux's GSO does. The header
   * is read from `buf` (it may be the VR's own packet, not the one just decoded); the aggregate's
   * checksums are not used.
   */
  cut(out: Interface, nextHop: number, buf: Uint8Array, ipOff: number, size: number, now: number): void {
    const hl = (buf[ipOff]! & 15) * 4;
    const l4 = ipOff + hl;
    const protocol = buf[ipOff + 9]!;
    const src = rd32(buf, ipOff + 12);
    const dst = rd32(buf, ipOff + 16);
    const isTcp = protocol === IPPROTO_TCP;
    const l4hl = isTcp ? (buf[l4 + 12]! >>> 4) * 4 : UDP_HEADER_LEN;
    const payload = rd16(buf, ipOff + 2) - hl - l4hl;
    const chunkMax = Math.min(size, out.mtu - hl - l4hl);
    if (chunkMax <= 0) {
      this.counters.drops[Drop.IPV4_FRAG_NEEDED]! += 1;
      return;
    }
    const seq0 = isTcp ? rd32(buf, l4 + 4) : 0;
    const flags = isTcp ? buf[l4 + 13]! : 0;
    const id0 = rd16(buf, ipOff + 4);
    const f = this.buf;
    const o = TX_HEADROOM;
    let done = 0;
    for (let i = 0; done < payload; i++) {
      const chunk = Math.min(chunkMax, payload - done);
      const last = done + chunk >= payload;
      copyBytes(buf, ipOff, f, o, hl + l4hl);
      copyBytes(buf, l4 + l4hl + done, f, o + hl + l4hl, chunk);
      const segLen = hl + l4hl + chunk;
      wr16(f, o + 2, segLen);
      wr16(f, o + 4, (id0 + i) & 0xffff);
      refreshIpv4Checksum(f, o);
      const fl4 = o + hl;
      const l4Len = l4hl + chunk;
      if (isTcp) {
        wr32(f, fl4 + 4, (seq0 + done) >>> 0);
        let segFlags = flags;
        if (!last) segFlags &= ~(TCP_FIN | TCP_PSH);
        if (i > 0) segFlags &= ~TCP_CWR;
        f[fl4 + 13] = segFlags;
        wr16(f, fl4 + 16, 0);
        wr16(
          f,
          fl4 + 16,
          ~foldSum(sumWords(f, fl4, l4Len, pseudoHeaderSum(src, dst, IPPROTO_TCP, l4Len))) & 0xffff,
        );
      } else {
        wr16(f, fl4 + 4, l4Len);
        wr16(f, fl4 + 6, 0);
        const sum = ~foldSum(sumWords(f, fl4, l4Len, pseudoHeaderSum(src, dst, IPPROTO_UDP, l4Len))) & 0xffff;
        wr16(f, fl4 + 6, sum === 0 ? 0xffff : sum);
      }
      this.counters.stats[Stat.SEGMENTS_CREATED]! += 1;
      this.next.toNextHop(out, nextHop, f, o, segLen, 0, now);
      done += chunk;
    }
  }
}
