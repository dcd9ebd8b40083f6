import { hash4 } from './hash.ts';
import { below, type RandomSource } from './random.ts';

/** Ephemeral ports, as Linux's default net.ipv4.ip_local_port_range. */
export const EPHEMERAL_FIRST = 32768;
export const EPHEMERAL_LAST = 60999;
export const EPHEMERAL_SPAN = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;

/** log2 of the perturbation table's length (2^16 counters, 128 KiB). */
const TABLE_BITS = 16;
/** A chosen port moves its counter on by 1 to this many extra steps, at random. */
const PERTURB_MAX = 8;

/**
 * Ephemeral port selection after RFC 6056 §3.3.4 (Algorithm 4, "double-hash port selection"):
 *
 *   offset = F(local addr, remote addr, remote port, key1)
 *   index  = G(local addr, remote addr, remote port, key2) mod TABLE_LENGTH
 *   port   = first + (offset + table[index] + i) mod span, the first i whose port is free
 *
 * F and G are the keyed HalfSipHash of `tcp/hash.ts` under two independent keys drawn from the
 * stack's random source. Destinations start at unrelated points, an observer of one destination
 * learns nothing of the ports used towards another, and a port is not reused soon towards the same
 * destination (the counter moves on). Where this departs from the RFC's pseudo-code, it does so as
 * Linux does since the "device tracking via source ports" attack (Klein and Pinkas, 2022): the table
 * has 2^16 counters instead of a few hundred, and a chosen port moves its counter on by the ports
 * tried plus a random 1..PERTURB_MAX, so successive ports towards one destination are no sequence.
 *
 * Without a destination (bind to port 0, autobind before a sendto, listen) there is nothing to
 * hash: the search starts at a random point (RFC 6056 §3.3.1, Algorithm 1).
 *
 * Use: `begin(...)` or `beginAny()`, then `candidate(i)` for i = 0, 1, ... until one is free, then
 * `commit(i)`. No allocation: the hashes run once per search, at connection setup.
 */
export class PortSelector {
  private readonly random: RandomSource;
  private readonly f0: number;
  private readonly f1: number;
  private readonly g0: number;
  private readonly g1: number;
  private readonly table = new Uint16Array(1 << TABLE_BITS);
  private base = 0;
  private index = -1;

  constructor(random: RandomSource) {
    this.random = random;
    this.f0 = random.next32() | 0;
    this.f1 = random.next32() | 0;
    this.g0 = random.next32() | 0;
    this.g1 = random.next32() | 0;
  }

  /** Starts a search for a port from localAddr towards (remoteAddr, remotePort): Algorithm 4. */
  begin(localAddr: number, remoteAddr: number, remotePort: number): void {
    this.index = hash4(this.g0, this.g1, localAddr, remoteAddr, remotePort & 0xffff, 0) >>> (32 - TABLE_BITS);
    const offset = hash4(this.f0, this.f1, localAddr, remoteAddr, remotePort & 0xffff, 0);
    this.base = (offset % EPHEMERAL_SPAN) + this.table[this.index]!;
  }

  /** Starts a search with no destination: a random start (Algorithm 1). */
  beginAny(): void {
    this.index = -1;
    this.base = below(this.random, EPHEMERAL_SPAN);
  }

  /** The i-th candidate of the current search, for 0 <= i < EPHEMERAL_SPAN. */
  candidate(i: number): number {
    return EPHEMERAL_FIRST + ((this.base + i) % EPHEMERAL_SPAN);
  }

  /** The i-th candidate was free and is now used. */
  commit(i: number): void {
    const k = this.index;
    if (k < 0) return;
    this.table[k] = this.table[k]! + i + 1 + below(this.random, PERTURB_MAX);
  }
}
