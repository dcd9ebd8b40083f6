// Duplicate Address Detection for the router's own IPv6 addresses (RFC 4862 §5.4), with the
// looped-back-solicitation check of RFC 7527 §4 (a nonce in each probe). Sans-IO: the caller feeds
// received NS/NA targets and the clock; probes leave through the sink.

/** RFC 4861 §10 (a host constant that RFC 4862 §5.4.2 borrows for the first probe's delay). */
export const MAX_RTR_SOLICITATION_DELAY_MS = 1_000;
export const DEFAULT_RETRANS_TIMER_MS = 1_000;
/** RFC 7527 §4.1: at least 6 bytes; the nonce option holds 6 in an 8-byte option. */
export const DAD_NONCE_BYTES = 6;

export const ADDR_TENTATIVE = 0;
export const ADDR_PREFERRED = 1;
export const ADDR_DUPLICATE = 2;
export type AddrState = typeof ADDR_TENTATIVE | typeof ADDR_PREFERRED | typeof ADDR_DUPLICATE;
export const ADDR_STATE_NAMES = ['tentative', 'preferred', 'duplicate'] as const;

export interface DadSink {
  /**
   * Send a Neighbor Solicitation for target from the unspecified address to target's solicited-node
   * group, with the nonce option (RFC 4862 §5.4.2, RFC 7527 §4.1). Joining the all-nodes and the
   * solicited-node groups before the first probe is the caller's (§5.4.2).
   */
  sendProbe(target: Uint8Array, nonce: Uint8Array): void;
  /** target's state changed (tentative → preferred or duplicate). */
  stateChanged(target: Uint8Array, state: AddrState): void;
}

export interface DadCounters {
  probesSent: number;
  duplicates: number;
  /** Probes that came back to us (RFC 7527 §4.2: a looped interface, not a duplicate). */
  loopedBack: number;
  /** An NA claimed an address already in use here (§5.4.4: logged, the address is kept). */
  conflictsAfterDad: number;
}

interface Entry {
  addr: Uint8Array;
  state: AddrState;
  probesLeft: number;
  due: number;
  nonce: Uint8Array;
}

function keyOf(a: Uint8Array): string {
  let k = '';
  for (let i = 0; i < 16; i++) k += String.fromCharCode(a[i]!);
  return k;
}

/**
 * The addresses of one interface. Each starts tentative: the first probe waits a random delay of up
 * to a second (so routers booting together do not probe in lockstep), then DupAddrDetectTransmits
 * probes RetransTimer apart; if nothing claims the address within RetransTimer of the last one it
 * becomes preferred. While tentative the stack must neither use the address as a source nor answer
 * solicitations for it (§5.4). transmits 0 turns detection off: addresses are preferred at once.
 */
export class DuplicateAddressDetector {
  private readonly entries = new Map<string, Entry>();
  private readonly transmits: number;
  private readonly retransMs: number;
  private readonly random: () => number;
  private readonly sink: DadSink;
  readonly counters: DadCounters = { probesSent: 0, duplicates: 0, loopedBack: 0, conflictsAfterDad: 0 };

  constructor(options: { transmits: number; retransTimerMs: number; random: () => number; sink: DadSink }) {
    if (!(Number.isInteger(options.transmits) && options.transmits >= 0 && options.transmits <= 10))
      throw new RangeError('DAD transmits must be 0..10');
    if (!(options.retransTimerMs >= 100 && options.retransTimerMs <= 60_000))
      throw new RangeError('DAD retransmission timer must be 100..60000 ms');
    this.transmits = options.transmits;
    this.retransMs = options.retransTimerMs;
    this.random = options.random;
    this.sink = options.sink;
  }

  /** Starts detection on a new address (or again on one that was removed). */
  add(addr: Uint8Array, now: number): void {
    if (addr.length !== 16) throw new RangeError('an IPv6 address is 16 bytes');
    const key = keyOf(addr);
    if (this.entries.has(key)) return;
    const entry: Entry = {
      addr: addr.slice(),
      state: ADDR_TENTATIVE,
      probesLeft: this.transmits,
      due: now + this.random() * MAX_RTR_SOLICITATION_DELAY_MS,
      nonce: new Uint8Array(DAD_NONCE_BYTES),
    };
    this.entries.set(key, entry);
    if (this.transmits === 0) this.settle(entry, ADDR_PREFERRED);
  }

  remove(addr: Uint8Array): void {
    this.entries.delete(keyOf(addr));
  }

  /** ADDR_* of one of our addresses, or -1 for an address we do not have. */
  state(addr: Uint8Array): AddrState | -1 {
    return this.entries.get(keyOf(addr))?.state ?? -1;
  }

  /** Whether the address may be used as a source and answered for (§5.4: only once preferred). */
  usable(addr: Uint8Array): boolean {
    return this.entries.get(keyOf(addr))?.state === ADDR_PREFERRED;
  }

  /**
   * A Neighbor Solicitation for target arrived (already validated per RFC 4861 §7.1.1).
   * sourceUnspecified: it came from ::, i.e. another node's DAD probe. nonce: its RFC 7527 nonce
   * option, or null. Returns true when the stack must not answer it (the target is not yet ours).
   */
  onSolicitation(target: Uint8Array, sourceUnspecified: boolean, nonce: Uint8Array | null): boolean {
    const entry = this.entries.get(keyOf(target));
    if (entry === undefined) return false;
    if (entry.state !== ADDR_TENTATIVE) return entry.state === ADDR_DUPLICATE;
    // §5.4.3: address resolution for a tentative target is silently ignored.
    if (!sourceUnspecified) return true;
    if (nonce !== null && entry.probesLeft < this.transmits && sameBytes(nonce, entry.nonce)) {
      this.counters.loopedBack++;
      return true;
    }
    // Another node is probing for the same address at the same time (§5.4.3 case 2).
    this.settle(entry, ADDR_DUPLICATE);
    return true;
  }

  /** A Neighbor Advertisement for target arrived (§5.4.4). */
  onAdvertisement(target: Uint8Array): void {
    const entry = this.entries.get(keyOf(target));
    if (entry === undefined) return;
    if (entry.state === ADDR_TENTATIVE) this.settle(entry, ADDR_DUPLICATE);
    else if (entry.state === ADDR_PREFERRED) this.counters.conflictsAfterDad++;
  }

  /** Sends due probes, settles addresses whose last probe went unanswered; the next deadline. */
  poll(now: number): number {
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.entries.values()) {
      if (entry.state !== ADDR_TENTATIVE) continue;
      if (now >= entry.due) {
        if (entry.probesLeft === 0) {
          this.settle(entry, ADDR_PREFERRED);
          continue;
        }
        entry.probesLeft--;
        for (let i = 0; i < DAD_NONCE_BYTES; i++) entry.nonce[i] = Math.floor(this.random() * 256);
        this.counters.probesSent++;
        this.sink.sendProbe(entry.addr, entry.nonce);
        entry.due = now + this.retransMs;
      }
      if (entry.due < next) next = entry.due;
    }
    return next;
  }

  private settle(entry: Entry, state: AddrState): void {
    entry.state = state;
    if (state === ADDR_DUPLICATE) this.counters.duplicates++;
    this.sink.stateChanged(entry.addr, state);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
