// Path MTU of the VR's own IPv6 traffic (RFC 8201): what Packet Too Big messages taught about a
// destination, used by every packet the VR originates to it (fragmented to fit, or TCP's MSS), and
// forgotten after a while so a path that grew is found again (§5.3). Packet Too Big is easy to forge,
// so the cache only ever lowers a path to no less than IPv6's minimum (RFC 8200 §5: 1280; §4 of RFC
// 8201: a smaller value is raised to 1280, and atomic fragments are not sent, RFC 8021), and it is
// bounded: a flood of forged messages evicts entries, it does not grow memory.
import { IPV6_MIN_MTU } from '@nexthop/wire';

/** RFC 8201 §5.3: at least 5 minutes, 10 recommended, before a lowered PMTU may rise again. */
export const PMTU_LIFETIME_MS = 600_000;
const DEFAULT_MAX_ENTRIES = 1024;

class Entry {
  readonly dst = new Uint8Array(16);
  mtu = 0;
  expires = 0;
  next: Entry | null = null;
}

export class PathMtuCache {
  private readonly buckets = new Map<number, Entry>();
  /** Insertion order, for eviction when full (the oldest learned goes first). */
  private readonly order: Entry[] = [];
  private readonly maxEntries: number;
  private readonly lifetimeMs: number;

  constructor(maxEntries = DEFAULT_MAX_ENTRIES, lifetimeMs = PMTU_LIFETIME_MS) {
    this.maxEntries = maxEntries;
    this.lifetimeMs = lifetimeMs;
  }

  get size(): number {
    return this.order.length;
  }

  /** The path MTU to the destination at buf[off..], or Infinity when nothing is known (or it expired). */
  lookup(buf: Uint8Array, off: number, now: number): number {
    if (this.order.length === 0) return Number.POSITIVE_INFINITY;
    const e = this.find(buf, off);
    if (e === null) return Number.POSITIVE_INFINITY;
    if (now >= e.expires) {
      this.remove(e);
      return Number.POSITIVE_INFINITY;
    }
    return e.mtu;
  }

  /**
   * A Packet Too Big said `mtu` towards the destination at buf[off..] (RFC 8201 §4). Returns whether
   * the path MTU went down (only down: a larger value than known is ignored until the entry expires).
   */
  learn(buf: Uint8Array, off: number, mtu: number, now: number): boolean {
    const value = Math.max(IPV6_MIN_MTU, mtu >>> 0);
    let e = this.find(buf, off);
    if (e !== null && now < e.expires && value >= e.mtu) return false;
    if (e === null) {
      if (this.order.length >= this.maxEntries) this.remove(this.order[0]!);
      e = new Entry();
      for (let i = 0; i < 16; i++) e.dst[i] = buf[off + i]!;
      const k = keyOf(buf, off);
      e.next = this.buckets.get(k) ?? null;
      this.buckets.set(k, e);
      this.order.push(e);
    }
    e.mtu = value;
    e.expires = now + this.lifetimeMs;
    return true;
  }

  private find(buf: Uint8Array, off: number): Entry | null {
    let e = this.buckets.get(keyOf(buf, off)) ?? null;
    while (e !== null && !same(e.dst, buf, off)) e = e.next;
    return e;
  }

  private remove(e: Entry): void {
    const k = keyOf(e.dst, 0);
    let p = this.buckets.get(k) ?? null;
    if (p === e) {
      if (e.next === null) this.buckets.delete(k);
      else this.buckets.set(k, e.next);
    } else {
      while (p !== null && p.next !== e) p = p.next;
      if (p !== null) p.next = e.next;
    }
    const i = this.order.indexOf(e);
    if (i >= 0) this.order.splice(i, 1);
  }
}

/** The bucket of an address: its last 32 bits (interface identifiers differ most there). */
function keyOf(buf: Uint8Array, off: number): number {
  return ((buf[off + 12]! << 24) | (buf[off + 13]! << 16) | (buf[off + 14]! << 8) | buf[off + 15]!) >>> 0;
}

function same(a: Uint8Array, buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== buf[off + i]) return false;
  return true;
}
