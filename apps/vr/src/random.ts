import { randomFillSync } from 'node:crypto';
import type { RandomSource } from '@nexthop/stack';

/** Words drawn from the kernel's CSPRNG at a time. */
const POOL_WORDS = 64;

/**
 * The VR's random source: node:crypto's CSPRNG (getrandom underneath), read 256 bytes at a time so
 * that a connection's port choice does not cost a system call. The stack draws its keys from it
 * at start (RFC 6528 ISN key, RFC 6056 port keys, RFC 7323 timestamp key), later the SYN-cookie
 * keys of each period, port perturbations and the per-second challenge-ACK budgets.
 */
export class CryptoRandom implements RandomSource {
  private readonly pool = new Uint32Array(POOL_WORDS);
  private used = POOL_WORDS;

  next32(): number {
    if (this.used === POOL_WORDS) {
      randomFillSync(this.pool);
      this.used = 0;
    }
    const v = this.pool[this.used]!;
    // Drawn words do not linger in memory.
    this.pool[this.used++] = 0;
    return v;
  }
}
