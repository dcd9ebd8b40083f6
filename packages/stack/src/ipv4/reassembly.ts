import { copyBytes } from '@nexthop/wire';

/**
 * IPv4 reassembly of datagrams addressed to the VR itself (RFC 791 §3.2, RFC 815), bounded in
 * memory, in concurrent datagrams and in time. Overlapping fragments make the whole datagram
 * suspect (they are the classic evasion and teardrop vector), so it is dropped.
 */

export interface ReassemblyLimits {
  /** Bytes of buffer held by all datagrams under reassembly. */
  maxBytes: number;
  maxDatagrams: number;
  /** How long an incomplete datagram is kept (RFC 1122 §3.3.2 suggests 60 to 120 s; Linux uses 30 s). */
  timeoutMs: number;
}

export const DEFAULT_REASSEMBLY_LIMITS: ReassemblyLimits = {
  maxBytes: 4 << 20,
  maxDatagrams: 256,
  timeoutMs: 30_000,
};

const MAX_DATAGRAM = 65535;

class Datagram {
  readonly key: string;
  readonly deadline: number;
  /** Payload bytes (after the IP header) laid out at their offsets. */
  data: Uint8Array;
  /** The first fragment's IP header, kept to build the reassembled header and ICMP errors. */
  header: Uint8Array | null = null;
  /** Received payload ranges [start, end), kept sorted and disjoint. */
  ranges: number[] = [];
  /** Payload length, known once the last fragment (MF clear) arrived. */
  totalPayload = -1;

  constructor(key: string, deadline: number) {
    this.key = key;
    this.deadline = deadline;
    this.data = new Uint8Array(1024);
  }

  /** Whether [start, end) lies inside what is already here: a duplicate, not an overlap. */
  holds(start: number, end: number): boolean {
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) if (r[i]! <= start && end <= r[i + 1]!) return true;
    return false;
  }

  /** Returns false when [start, end) overlaps what is already here. */
  addRange(start: number, end: number): boolean {
    const r = this.ranges;
    let i = 0;
    while (i < r.length && r[i + 1]! <= start) i += 2;
    if (i < r.length && r[i]! < end) return false;
    r.splice(i, 0, start, end);
    // Merge touching neighbours so completeness is one comparison.
    for (let j = 0; j + 2 < r.length; ) {
      if (r[j + 1] === r[j + 2]) r.splice(j + 1, 2);
      else j += 2;
    }
    return true;
  }

  complete(): boolean {
    return (
      this.totalPayload >= 0 &&
      this.ranges.length === 2 &&
      this.ranges[0] === 0 &&
      this.ranges[1] === this.totalPayload
    );
  }
}

export type ReassemblyResult =
  | { kind: 'incomplete' }
  | { kind: 'complete'; packet: Uint8Array; length: number }
  | { kind: 'drop'; reason: 'overlap' | 'memory' | 'too-big' };

export interface ExpiredDatagram {
  /** The first fragment's header and leading payload, when the first fragment had arrived, for ICMP. */
  firstFragment: Uint8Array | null;
}

export class Reassembler {
  private readonly limits: ReassemblyLimits;
  private readonly datagrams = new Map<string, Datagram>();
  private bytesHeld = 0;

  constructor(limits: ReassemblyLimits = DEFAULT_REASSEMBLY_LIMITS) {
    this.limits = limits;
  }

  get pending(): number {
    return this.datagrams.size;
  }

  /**
   * Adds one fragment: the IP packet at buf[off, off+len) with header length hl, fragment offset
   * (bytes) and MF flag already decoded. On completion returns a fresh packet (header + payload).
   */
  add(
    buf: Uint8Array,
    off: number,
    hl: number,
    totalLength: number,
    src: number,
    dst: number,
    id: number,
    protocol: number,
    fragmentOffset: number,
    moreFragments: boolean,
    now: number,
  ): ReassemblyResult {
    const key = `${src}:${dst}:${id}:${protocol}`;
    const payloadLength = totalLength - hl;
    const end = fragmentOffset + payloadLength;
    let d = this.datagrams.get(key);
    if (end + hl > MAX_DATAGRAM || (moreFragments && payloadLength % 8 !== 0) || payloadLength === 0) {
      if (d !== undefined) this.discard(d);
      return { kind: 'drop', reason: 'too-big' };
    }
    if (d === undefined) {
      if (this.datagrams.size >= this.limits.maxDatagrams || this.bytesHeld + 1024 > this.limits.maxBytes) {
        return { kind: 'drop', reason: 'memory' };
      }
      d = new Datagram(key, now + this.limits.timeoutMs);
      this.datagrams.set(key, d);
      this.bytesHeld += d.data.length;
    }
    // A fragment the network duplicated adds nothing: ignore it, as Linux does, rather than treat
    // it as an overlap and drop the datagram. The first copy's bytes stay.
    if ((moreFragments || d.totalPayload === end) && d.holds(fragmentOffset, end))
      return { kind: 'incomplete' };
    if (!moreFragments) {
      if (d.totalPayload >= 0 && d.totalPayload !== end) {
        this.discard(d);
        return { kind: 'drop', reason: 'overlap' };
      }
      d.totalPayload = end;
    }
    if ((d.totalPayload >= 0 && end > d.totalPayload) || !d.addRange(fragmentOffset, end)) {
      this.discard(d);
      return { kind: 'drop', reason: 'overlap' };
    }
    if (end > d.data.length) {
      let size = d.data.length;
      while (size < end) size *= 2;
      size = Math.min(size, MAX_DATAGRAM);
      if (this.bytesHeld - d.data.length + size > this.limits.maxBytes) {
        this.discard(d);
        return { kind: 'drop', reason: 'memory' };
      }
      const grown = new Uint8Array(size);
      grown.set(d.data);
      this.bytesHeld += size - d.data.length;
      d.data = grown;
    }
    copyBytes(buf, off + hl, d.data, fragmentOffset, payloadLength);
    if (fragmentOffset === 0) d.header = buf.slice(off, off + hl);
    if (!d.complete() || d.header === null) return { kind: 'incomplete' };
    this.discard(d);
    const header = d.header;
    const length = header.length + d.totalPayload;
    const packet = new Uint8Array(length);
    packet.set(header);
    copyBytes(d.data, 0, packet, header.length, d.totalPayload);
    // The reassembled header describes the whole datagram: no MF, offset 0, the full length.
    packet[2] = length >>> 8;
    packet[3] = length & 255;
    packet[6] = 0;
    packet[7] = 0;
    return { kind: 'complete', packet, length };
  }

  /** Removes datagrams whose time is up; returns what is needed to send ICMP time exceeded. */
  expire(now: number): ExpiredDatagram[] {
    const expired: ExpiredDatagram[] = [];
    for (const d of this.datagrams.values()) {
      if (d.deadline > now) continue;
      this.discard(d);
      let firstFragment: Uint8Array | null = null;
      if (d.header !== null && d.ranges[0] === 0) {
        const quoted = Math.min(8, d.ranges[1]!);
        firstFragment = new Uint8Array(d.header.length + quoted);
        firstFragment.set(d.header);
        copyBytes(d.data, 0, firstFragment, d.header.length, quoted);
      }
      expired.push({ firstFragment });
    }
    return expired;
  }

  nextDeadline(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const d of this.datagrams.values()) if (d.deadline < next) next = d.deadline;
    return next;
  }

  private discard(d: Datagram): void {
    if (this.datagrams.delete(d.key)) this.bytesHeld -= d.data.length;
  }
}
