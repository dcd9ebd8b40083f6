import { copyBytes, ICMPV6_ERROR_MAX_QUOTE, IPV6_HEADER_LEN, wr16 } from '@nexthop/wire';

/**
 * IPv6 reassembly of packets addressed to the VR itself (RFC 8200 §4.5), bounded in memory, in
 * concurrent packets and in time. It follows ipv4/reassembly.ts, with IPv6's rules: fragments are
 * matched by source, destination and Identification; the Unfragmentable Part (the headers before
 * the Fragment header) and the Next Header come from the first fragment; any overlap discards the
 * whole packet and every fragment received for it, silently (RFC 5722 §4 — an exact duplicate, as
 * the network makes them, is ignored instead, as Linux does). Atomic fragments (offset 0, M clear)
 * never come here: they are whole packets (RFC 8021, RFC 6946 §4).
 */

export interface Reassembly6Limits {
  /** Bytes of buffer held by all packets under reassembly. */
  maxBytes: number;
  maxPackets: number;
  /** RFC 8200 §4.5: reassembly must be abandoned 60 s after the first-arriving fragment. */
  timeoutMs: number;
}

export const DEFAULT_REASSEMBLY6_LIMITS: Reassembly6Limits = {
  maxBytes: 4 << 20,
  maxPackets: 256,
  timeoutMs: 60_000,
};

/** What Reassembler6.add found. */
export const REASM_INCOMPLETE = 0;
/** The packet is whole: `Reassembler6.packet` holds it (`length` bytes, from offset 0). */
export const REASM_COMPLETE = 1;
export const REASM_OVERLAP = 2;
export const REASM_MEMORY = 3;

const MAX_PAYLOAD = 65535;

class Packet6 {
  readonly key: string;
  readonly deadline: number;
  /** The interface the first-arriving fragment came in by (a link-local source is there). */
  readonly ifIndex: number;
  /** The fragmentable part, bytes at their offsets. */
  data = new Uint8Array(1024);
  /** Received ranges [start, end), sorted and disjoint, touching ones merged. */
  ranges: number[] = [];
  /** Fragmentable length, known once the last fragment (M clear) arrived. */
  total = -1;
  /** The first fragment (offset 0): its Unfragmentable Part, Next Header, and the fragment for ICMP. */
  head: Uint8Array | null = null;
  nextHeaderField = 0;
  nextHeader = 0;
  first: Uint8Array | null = null;

  constructor(key: string, deadline: number, ifIndex: number) {
    this.key = key;
    this.deadline = deadline;
    this.ifIndex = ifIndex;
  }

  holds(start: number, end: number): boolean {
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) if (r[i]! <= start && end <= r[i + 1]!) return true;
    return false;
  }

  /** False when [start, end) overlaps what is here. */
  addRange(start: number, end: number): boolean {
    const r = this.ranges;
    let i = 0;
    while (i < r.length && r[i + 1]! <= start) i += 2;
    if (i < r.length && r[i]! < end) return false;
    r.splice(i, 0, start, end);
    for (let j = 0; j + 2 < r.length; ) {
      if (r[j + 1] === r[j + 2]) r.splice(j + 1, 2);
      else j += 2;
    }
    return true;
  }

  complete(): boolean {
    return (
      this.total >= 0 && this.ranges.length === 2 && this.ranges[0] === 0 && this.ranges[1] === this.total
    );
  }

  get bytes(): number {
    return this.data.length + (this.first?.length ?? 0) + (this.head?.length ?? 0);
  }
}

export interface Expired6 {
  /** The first fragment (cut to what an ICMPv6 error quotes), when it had arrived. */
  first: Uint8Array | null;
  ifIndex: number;
}

export class Reassembler6 {
  /** After REASM_COMPLETE: the reassembled packet (a new array), and its length. */
  packet: Uint8Array = new Uint8Array(0);
  length = 0;
  private readonly limits: Reassembly6Limits;
  private readonly packets = new Map<string, Packet6>();
  private held = 0;

  constructor(limits: Reassembly6Limits = DEFAULT_REASSEMBLY6_LIMITS) {
    this.limits = limits;
  }

  get pending(): number {
    return this.packets.size;
  }

  /**
   * Adds the fragment at buf[ipOff, ipOff+ipLen) whose Fragment header is at fragOff (its Next
   * Header field named by the byte at nextHeaderField), fragment offset and M flag decoded. Returns
   * a REASM_* outcome.
   */
  add(
    buf: Uint8Array,
    ipOff: number,
    ipLen: number,
    fragOff: number,
    nextHeaderField: number,
    offset: number,
    more: boolean,
    id: number,
    ifIndex: number,
    now: number,
  ): number {
    let key = '';
    for (let i = 8; i < 40; i += 2) key += String.fromCharCode((buf[ipOff + i]! << 8) | buf[ipOff + i + 1]!);
    key += id;
    const start = fragOff + 8;
    const dataLen = ipOff + ipLen - start;
    const end = offset + dataLen;
    let p = this.packets.get(key);
    if (p === undefined) {
      if (this.packets.size >= this.limits.maxPackets || this.held + 1024 > this.limits.maxBytes)
        return REASM_MEMORY;
      p = new Packet6(key, now + this.limits.timeoutMs, ifIndex);
      this.packets.set(key, p);
      this.held += p.bytes;
    }
    if ((more || p.total === end) && p.holds(offset, end)) return REASM_INCOMPLETE;
    if (!more) {
      if (p.total >= 0 && p.total !== end) return this.discard(p, REASM_OVERLAP);
      p.total = end;
    }
    if (dataLen === 0 && more) return this.discard(p, REASM_OVERLAP);
    if ((p.total >= 0 && end > p.total) || !p.addRange(offset, end)) return this.discard(p, REASM_OVERLAP);
    if (end > p.data.length) {
      let size = p.data.length;
      while (size < end) size *= 2;
      size = Math.min(size, MAX_PAYLOAD);
      if (this.held - p.data.length + size > this.limits.maxBytes) return this.discard(p, REASM_MEMORY);
      const grown = new Uint8Array(size);
      grown.set(p.data);
      this.held += size - p.data.length;
      p.data = grown;
    }
    copyBytes(buf, start, p.data, offset, dataLen);
    if (offset === 0) {
      const before = p.bytes;
      p.head = buf.slice(ipOff, fragOff);
      p.nextHeaderField = nextHeaderField - ipOff;
      p.nextHeader = buf[fragOff]!;
      p.first = buf.slice(ipOff, ipOff + Math.min(ipLen, IPV6_HEADER_LEN + ICMPV6_ERROR_MAX_QUOTE));
      this.held += p.bytes - before;
    }
    if (!p.complete() || p.head === null) return REASM_INCOMPLETE;
    this.discard(p, REASM_COMPLETE);
    const head = p.head;
    const length = head.length + p.total;
    if (length - IPV6_HEADER_LEN > MAX_PAYLOAD) return REASM_OVERLAP;
    const packet = new Uint8Array(length);
    packet.set(head);
    copyBytes(p.data, 0, packet, head.length, p.total);
    // RFC 8200 §4.5: the last Unfragmentable header names what the Fragment header named, and the
    // Payload Length covers the whole packet.
    packet[p.nextHeaderField] = p.nextHeader;
    wr16(packet, 4, length - IPV6_HEADER_LEN);
    this.packet = packet;
    this.length = length;
    return REASM_COMPLETE;
  }

  /** Removes packets whose 60 s are up; returns what Time Exceeded (code 1) needs. */
  expire(now: number): Expired6[] {
    const expired: Expired6[] = [];
    for (const p of this.packets.values()) {
      if (p.deadline > now) continue;
      this.discard(p, REASM_INCOMPLETE);
      expired.push({ first: p.first, ifIndex: p.ifIndex });
    }
    return expired;
  }

  nextDeadline(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const p of this.packets.values()) if (p.deadline < next) next = p.deadline;
    return next;
  }

  private discard(p: Packet6, outcome: number): number {
    if (this.packets.delete(p.key)) this.held -= p.bytes;
    return outcome;
  }
}
