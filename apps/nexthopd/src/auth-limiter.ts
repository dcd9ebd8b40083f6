// Failed authentications on the TCP listener, per client address (docs/management-api.md, "TCP
// listener"). `limit` failures within `windowMs` lock the address out for `lockMs`; each further
// lockout of the same address doubles that, up to `maxLockMs`. An address that is locked out gets
// 429 for every request, the right token included: a success never clears failures or a lockout.
// An address is forgotten `forgetMs` after its last failure once its lockout is over. Nothing
// waits or sleeps: a locked-out request is answered at once. The table holds at most
// `maxAddresses` addresses; past that the address whose last failure is oldest is dropped.

export interface AuthLimits {
  /** Failures within the window that lock an address out. */
  readonly limit: number;
  readonly windowMs: number;
  /** The first lockout; each further one doubles, up to maxLockMs. */
  readonly lockMs: number;
  readonly maxLockMs: number;
  /** After a lockout is over, how long an address without failures keeps its count of lockouts. */
  readonly forgetMs: number;
  readonly maxAddresses: number;
}

export const DEFAULT_AUTH_LIMITS: AuthLimits = {
  limit: 10,
  windowMs: 60_000,
  lockMs: 60_000,
  maxLockMs: 3_600_000,
  forgetMs: 3_600_000,
  maxAddresses: 10_000,
};

interface Entry {
  /** Failures in the current window. */
  failures: number;
  windowStart: number;
  lastFailure: number;
  /** Epoch ms; 0 when never locked out. */
  lockedUntil: number;
  lockouts: number;
}

export class AuthLimiter {
  readonly limits: AuthLimits;
  private readonly now: () => number;
  /** In order of last failure, oldest first (a Map keeps insertion order). */
  private readonly entries = new Map<string, Entry>();

  constructor(limits: Partial<AuthLimits> = {}, now: () => number = Date.now) {
    this.limits = { ...DEFAULT_AUTH_LIMITS, ...limits };
    this.now = now;
  }

  /** Addresses in the table. */
  get size(): number {
    return this.entries.size;
  }

  /** Milliseconds until `address` may try again; 0 when it may now. */
  retryAfterMs(address: string): number {
    const entry = this.live(address, this.now());
    return entry === undefined ? 0 : Math.max(0, entry.lockedUntil - this.now());
  }

  /** Records a failed authentication; answers the lockout it started in ms, or 0. */
  fail(address: string): number {
    const now = this.now();
    const { limit, windowMs, lockMs, maxLockMs, maxAddresses } = this.limits;
    let entry = this.live(address, now);
    if (entry === undefined) {
      entry = { failures: 0, windowStart: now, lastFailure: now, lockedUntil: 0, lockouts: 0 };
    } else {
      this.entries.delete(address);
    }
    this.entries.set(address, entry);
    if (this.entries.size > maxAddresses) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    entry.lastFailure = now;
    if (now - entry.windowStart >= windowMs) {
      entry.failures = 0;
      entry.windowStart = now;
    }
    entry.failures += 1;
    if (entry.failures < limit) return 0;
    entry.lockouts += 1;
    const lock = Math.min(maxLockMs, lockMs * 2 ** Math.min(entry.lockouts - 1, 30));
    entry.lockedUntil = now + lock;
    entry.failures = 0;
    entry.windowStart = entry.lockedUntil;
    return lock;
  }

  /** The address's entry, or undefined when it has none (or one old enough to forget). */
  private live(address: string, now: number): Entry | undefined {
    const entry = this.entries.get(address);
    if (entry === undefined) return undefined;
    if (
      now >= entry.lockedUntil &&
      now - Math.max(entry.lastFailure, entry.lockedUntil) >= this.limits.forgetMs
    ) {
      this.entries.delete(address);
      return undefined;
    }
    return entry;
  }
}
