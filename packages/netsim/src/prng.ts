/**
 * Small deterministic PRNG for the simulator. splitmix32 (Steele, Lea & Flood, "Fast splittable
 * pseudorandom number generators", 2014, with the 32-bit MurmurHash3 finalizer as mixer): one
 * 32-bit state word, good enough statistics for impairment draws, and trivially reproducible.
 */
export class Prng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed | 0;
  }

  /** Uniform integer in [0, 2^32). */
  nextU32(): number {
    this.#state = (this.#state + 0x9e3779b9) | 0;
    return mix32(this.#state);
  }

  /** Uniform float in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }
}

function mix32(x: number): number {
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of `text`. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

/**
 * A seed for one random stream, from the simulation seed and the stream's stable label (a link's
 * name and direction), so adding a link or a node never shifts another link's draws.
 */
export function deriveSeed(seed: number, label: string): number {
  return mix32((mix32(seed >>> 0) ^ hashString(label)) + 0x6a09e667);
}
