// When a router sends Router Advertisements on one interface, and what they say (RFC 4861 §6.2).
// Sans-IO: time comes in as milliseconds, randomness as a function, and an advertisement goes out
// through the sink; the stack encodes it (@nexthop/wire ndp) and sends it to ff02::1. Answers to
// solicitations are multicast too, the usual case of §6.2.6: one answer serves every host that
// solicited within the delay.

/** RFC 4861 §10, router constants. */
export const MAX_INITIAL_RTR_ADVERT_INTERVAL_MS = 16_000;
export const MAX_INITIAL_RTR_ADVERTISEMENTS = 3;
export const MAX_FINAL_RTR_ADVERTISEMENTS = 3;
export const MIN_DELAY_BETWEEN_RAS_MS = 3_000;
export const MAX_RA_DELAY_TIME_MS = 500;

export interface RaPrefix {
  /** 16 bytes, host bits zero. */
  prefix: Uint8Array;
  length: number;
  onLink: boolean;
  autonomous: boolean;
  validLifetimeS: number;
  preferredLifetimeS: number;
}

/** The per-interface variables of RFC 4861 §6.2.1 (times in the units the RFC gives). */
export interface RaConfig {
  maxIntervalS: number;
  minIntervalS: number;
  managed: boolean;
  otherConfig: boolean;
  /** 0: no MTU option. */
  linkMtu: number;
  reachableTimeMs: number;
  retransTimerMs: number;
  curHopLimit: number;
  /** 0: not a default router (RFC 4861 §6.2.1 AdvDefaultLifetime). */
  defaultLifetimeS: number;
  prefixes: readonly RaPrefix[];
  /** RFC 8106 §5.1: recursive DNS servers (16 bytes each) and their lifetime. */
  dnsServers: readonly Uint8Array[];
  dnsLifetimeS: number;
}

/** RFC 4861 §6.2.1 defaults, given the maximum interval. */
export function defaultRaConfig(maxIntervalS = 600): RaConfig {
  return {
    maxIntervalS,
    // §6.2.1 gives MaxRtrAdvInterval itself below 9 s, which its own bound (≤ 0.75 × max) forbids:
    // the largest value the bound allows is taken instead.
    minIntervalS:
      maxIntervalS >= 9 ? Math.floor(maxIntervalS / 3) : Math.max(3, Math.floor(0.75 * maxIntervalS)),
    managed: false,
    otherConfig: false,
    linkMtu: 0,
    reachableTimeMs: 0,
    retransTimerMs: 0,
    curHopLimit: 64,
    defaultLifetimeS: 3 * maxIntervalS,
    prefixes: [],
    dnsServers: [],
    dnsLifetimeS: 2 * maxIntervalS,
  };
}

/** What is wrong with a configuration by RFC 4861 §6.2.1 and RFC 8106 §5.1, or [] when nothing. */
export function checkRaConfig(c: RaConfig): string[] {
  const problems: string[] = [];
  if (!(c.maxIntervalS >= 4 && c.maxIntervalS <= 1800)) problems.push('maximum interval must be 4..1800 s');
  else if (!(c.minIntervalS >= 3 && c.minIntervalS <= 0.75 * c.maxIntervalS))
    problems.push(`minimum interval must be 3..${0.75 * c.maxIntervalS} s (0.75 × the maximum)`);
  if (c.defaultLifetimeS !== 0 && !(c.defaultLifetimeS >= c.maxIntervalS && c.defaultLifetimeS <= 9000))
    problems.push('router lifetime must be 0 or between the maximum interval and 9000 s');
  if (!(c.curHopLimit >= 0 && c.curHopLimit <= 255)) problems.push('hop limit must be 0..255');
  if (c.linkMtu !== 0 && !(c.linkMtu >= 1280 && c.linkMtu <= 0xffff_ffff))
    problems.push('MTU must be at least 1280');
  if (!(c.reachableTimeMs >= 0 && c.reachableTimeMs <= 3_600_000))
    problems.push('reachable time must be 0..3600000 ms');
  for (const p of c.prefixes) {
    if (p.preferredLifetimeS > p.validLifetimeS)
      problems.push('a prefix’s preferred lifetime may not exceed its valid lifetime (RFC 4862 §5.5.3 c)');
    if (p.autonomous && p.length !== 64)
      problems.push(
        `an autonomous prefix must be a /64 for SLAAC on Ethernet (RFC 4862 §5.5.3 d), not /${p.length}`,
      );
  }
  if (
    c.dnsServers.length > 0 &&
    !((c.dnsLifetimeS >= c.maxIntervalS && c.dnsLifetimeS <= 2 * c.maxIntervalS) || c.dnsLifetimeS === 0)
  )
    problems.push('DNS lifetime should be between the maximum interval and twice it (RFC 8106 §5.1)');
  return problems;
}

export interface RaSink {
  /**
   * Send an advertisement to all nodes now. routerLifetimeS is the configured default lifetime, or 0
   * in the final advertisements of §6.2.5.
   */
  sendRa(config: RaConfig, routerLifetimeS: number): void;
}

export interface RaCounters {
  sent: number;
  solicitedSent: number;
  solicitationsReceived: number;
  /** Solicitations answered by an advertisement already due sooner (§6.2.6). */
  solicitationsCoalesced: number;
}

const NEVER = Number.POSITIVE_INFINITY;

/**
 * One advertising interface. Unsolicited advertisements go out at uniformly random intervals in
 * [min, max] (§6.2.4), the first MAX_INITIAL_RTR_ADVERTISEMENTS of them no more than 16 s apart so
 * hosts that just came up learn the router quickly. A solicitation is answered after a random delay
 * of up to 500 ms, never sooner than 3 s after the last multicast advertisement (§6.2.6); stopping
 * sends up to three final advertisements with router lifetime 0 (§6.2.5) so hosts drop the default
 * route at once instead of after AdvDefaultLifetime.
 */
export class RouterAdvertiser {
  private config: RaConfig;
  private readonly random: () => number;
  private readonly sink: RaSink;
  private nextDue = NEVER;
  private lastMulticast = Number.NEGATIVE_INFINITY;
  private initialLeft = MAX_INITIAL_RTR_ADVERTISEMENTS;
  private finalLeft = 0;
  private running = false;
  readonly counters: RaCounters = {
    sent: 0,
    solicitedSent: 0,
    solicitationsReceived: 0,
    solicitationsCoalesced: 0,
  };

  /** random() returns a uniform number in [0, 1). */
  constructor(config: RaConfig, random: () => number, sink: RaSink) {
    const problems = checkRaConfig(config);
    if (problems.length > 0) throw new RangeError(problems.join('; '));
    this.config = config;
    this.random = random;
    this.sink = sink;
  }

  /** What this interface advertises (§6.2.1's variables). */
  get settings(): RaConfig {
    return this.config;
  }

  /** The interface became an advertising interface (§6.2.4): the first one goes out soon. */
  start(now: number): void {
    if (this.running) return;
    this.running = true;
    this.finalLeft = 0;
    this.initialLeft = MAX_INITIAL_RTR_ADVERTISEMENTS;
    this.nextDue = now + this.random() * MAX_RA_DELAY_TIME_MS;
  }

  /**
   * New settings in place (§6.2.4: a change is announced with the initial schedule again, so hosts
   * learn it within seconds rather than within the old interval).
   */
  reconfigure(config: RaConfig, now: number): void {
    const problems = checkRaConfig(config);
    if (problems.length > 0) throw new RangeError(problems.join('; '));
    this.config = config;
    if (!this.running) return;
    this.initialLeft = MAX_INITIAL_RTR_ADVERTISEMENTS;
    this.nextDue = Math.min(this.nextDue, this.earliestMulticast(now + this.random() * MAX_RA_DELAY_TIME_MS));
  }

  /** §6.2.5: stop advertising; the final advertisements withdraw the router from hosts' lists. */
  stop(now: number): void {
    if (!this.running) return;
    this.running = false;
    this.finalLeft = MAX_FINAL_RTR_ADVERTISEMENTS;
    this.nextDue = now;
  }

  /** §6.2.6: a valid Router Solicitation arrived (the caller checked it per §6.1.1). */
  onSolicitation(now: number): void {
    this.counters.solicitationsReceived++;
    if (!this.running) return;
    const at = this.earliestMulticast(now + this.random() * MAX_RA_DELAY_TIME_MS);
    if (at >= this.nextDue) {
      this.counters.solicitationsCoalesced++;
      return;
    }
    this.nextDue = at;
    this.counters.solicitedSent++;
  }

  /** Sends what is due; returns the next deadline (Infinity when nothing is scheduled). */
  poll(now: number): number {
    if (now < this.nextDue) return this.nextDue;
    if (this.running) {
      this.send(now, this.config.defaultLifetimeS);
      let interval =
        (this.config.minIntervalS + this.random() * (this.config.maxIntervalS - this.config.minIntervalS)) *
        1000;
      if (this.initialLeft > 0) {
        this.initialLeft--;
        interval = Math.min(interval, MAX_INITIAL_RTR_ADVERT_INTERVAL_MS);
      }
      this.nextDue = now + interval;
    } else if (this.finalLeft > 0) {
      this.send(now, 0);
      this.finalLeft--;
      this.nextDue = this.finalLeft > 0 ? now + MIN_DELAY_BETWEEN_RAS_MS : NEVER;
    } else {
      this.nextDue = NEVER;
    }
    return this.nextDue;
  }

  get advertising(): boolean {
    return this.running;
  }

  private send(now: number, lifetimeS: number): void {
    this.lastMulticast = now;
    this.counters.sent++;
    this.sink.sendRa(this.config, lifetimeS);
  }

  /** Multicast advertisements are at least MIN_DELAY_BETWEEN_RAS apart (§6.2.4, §6.2.6). */
  private earliestMulticast(at: number): number {
    return Math.max(at, this.lastMulticast + MIN_DELAY_BETWEEN_RAS_MS);
  }
}
