import {
  copyBytes,
  Drop,
  IPV4_FLAG_DF,
  IPV4_FLAG_MF,
  IPV4_MIN_HEADER,
  IPV4_OFFSET_MASK,
  rd16,
  refreshIpv4Checksum,
  wr16,
} from '@nexthop/wire';
import { type Counters, Stat } from '../counters.ts';
import type { Interface } from '../interfaces.ts';
import { type NextHopOutput, packetBuffer, TX_HEADROOM } from '../link.ts';

/** IPv4 fragmentation (RFC 791 §3.2, "fragmentation") of packets too big for the egress link. */
export class Fragmenter {
  private readonly next: NextHopOutput;
  private readonly counters: Counters;
  private readonly buf = packetBuffer();

  constructor(next: NextHopOutput, counters: Counters) {
    this.next = next;
    this.counters = counters;
  }

  /**
   * Sends the packet at buf[ipOff..] as fragments that fit the MTU of `out`: the first keeps every
   * option, later ones only those with the copied flag; a fragment of a fragment keeps MF on its
   * last piece. Whether DF allows it is the caller's decision.
   */
  fragment(out: Interface, nextHop: number, buf: Uint8Array, ipOff: number, now: number): void {
    const hl = (buf[ipOff]! & 15) * 4;
    const totalLength = rd16(buf, ipOff + 2);
    const flagsOffset = rd16(buf, ipOff + 6);
    const baseOffset = (flagsOffset & IPV4_OFFSET_MASK) * 8;
    const lastHasMf = (flagsOffset & IPV4_FLAG_MF) !== 0;
    const payload = totalLength - hl;
    const f = this.buf;
    const fragIpOff = TX_HEADROOM;
    // The header of later fragments: the fixed part plus the copied options.
    const laterHl = copiedHeader(buf, ipOff, hl, null, 0);
    let done = 0;
    let first = true;
    this.counters.stats[Stat.PACKETS_FRAGMENTED]! += 1;
    while (done < payload) {
      const fhl = first ? hl : laterHl;
      const room = (out.mtu - fhl) & ~7;
      if (room <= 0) {
        this.counters.drops[Drop.IPV4_FRAG_NEEDED]! += 1;
        return;
      }
      const chunk = Math.min(room, payload - done);
      const last = done + chunk >= payload;
      if (first) copyBytes(buf, ipOff, f, fragIpOff, hl);
      else copiedHeader(buf, ipOff, hl, f, fragIpOff);
      copyBytes(buf, ipOff + hl + done, f, fragIpOff + fhl, chunk);
      const fragLen = fhl + chunk;
      wr16(f, fragIpOff + 2, fragLen);
      const mf = !last || lastHasMf ? IPV4_FLAG_MF : 0;
      wr16(f, fragIpOff + 6, (flagsOffset & IPV4_FLAG_DF) | mf | ((baseOffset + done) >>> 3));
      refreshIpv4Checksum(f, fragIpOff);
      this.counters.stats[Stat.FRAGMENTS_CREATED]! += 1;
      this.next.toNextHop(out, nextHop, f, fragIpOff, fragLen, 0, now);
      done += chunk;
      first = false;
    }
  }
}

/**
 * The header later fragments carry: the fixed part plus the options whose copied flag is set
 * (RFC 791 §3.1). With `f` it is written at f[fOff..]; either way its padded length is returned.
 */
function copiedHeader(
  buf: Uint8Array,
  ipOff: number,
  hl: number,
  f: Uint8Array | null,
  fOff: number,
): number {
  if (f !== null) copyBytes(buf, ipOff, f, fOff, IPV4_MIN_HEADER);
  let n = IPV4_MIN_HEADER;
  for (let p = ipOff + IPV4_MIN_HEADER; p < ipOff + hl; ) {
    const type = buf[p]!;
    if (type === 0) break;
    if (type === 1) {
      p++;
      continue;
    }
    const optLen = buf[p + 1]!;
    if (optLen < 2 || p + optLen > ipOff + hl) break;
    if ((type & 0x80) !== 0) {
      if (f !== null) copyBytes(buf, p, f, fOff + n, optLen);
      n += optLen;
    }
    p += optLen;
  }
  const padded = (n + 3) & ~3;
  if (f !== null) {
    f.fill(0, fOff + n, fOff + padded);
    f[fOff] = 0x40 | (padded >>> 2);
  }
  return padded;
}
