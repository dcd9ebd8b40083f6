/**
 * Where the stack's secrets and random choices come from (RFC 6528 ISN key, SYN-cookie keys,
 * port-selection and timestamp keys, ephemeral-port perturbation, the challenge-ACK budget).
 * The VR process hands in a CSPRNG-backed source (node:crypto); the simulator and tests hand in a
 * `SeededRandom` so that a run replays. The stack has no default: a constant seed in production
 * would give every VR the same keys.
 */
export interface RandomSource {
  /** A uniformly distributed unsigned 32-bit integer. */
  next32(): number;
}

/**
 * splitmix32: a one-word deterministic PRNG for simulations and tests only (predictable by
 * design: never the source of a VR's secrets).
 */
export class SeededRandom implements RandomSource {
  private state: number;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  next32(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
}

/** Uniform integer in [0, n) for n <= 2^32, from any source. */
export function below(random: RandomSource, n: number): number {
  return Math.floor(((random.next32() >>> 0) / 4294967296) * n);
}
