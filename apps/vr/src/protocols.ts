import type { RouterConfig } from '@nexthop/config';

// The routing protocol instances a VR hosts (BGP, RIPv2, RIPng…), behind one small shape: the VR
// routes socket events to them, polls them at the earliest of their deadlines, flushes the RIB when
// any of them changed routes, and tells them when interfaces or the stack's routes changed.

/** What the VR needs of a hosted protocol instance (VrBgp, VrRip). */
export interface HostedProtocol {
  /** Readiness of a socket; false when the fd is not this instance's. */
  socketEvent(fd: number, events: number, now: number): boolean;
  /** Runs what is due; the next deadline. */
  poll(now: number): number;
  /** Whether it changed RIB routes since the last call. */
  takeRibChanges(): boolean;
  /** Interfaces, addresses or the stack's routes may have changed (what it originates follows). */
  sync(now: number): void;
  /**
   * It also follows what changes without a carrier change or an apply (a link-local address leaving
   * DAD, the stack's routes it redistributes): the VR syncs it at every carrier poll.
   */
  readonly syncsOnEveryPoll?: boolean;
  stop(now: number): void;
  /**
   * Its events act on other instances (BFD's Down ends a BGP session, kills an OSPF neighbour):
   * the host polls it first, polls every instance after its socket events, and calls
   * `afterOthers` after theirs (BFD follows the OSPF neighbours it has sessions for; true: it
   * changed something and is polled again).
   */
  readonly wakesOthers?: boolean;
  afterOthers?(now: number): boolean;
}

/** A hosted protocol the VR also starts, reconfigures and takes out (VrBgp, VrRip, VrOspf, VrBfd). */
export interface ManagedProtocol extends HostedProtocol {
  start(now: number): void;
  /** Takes a changed configuration in place where it can; one line per change. */
  apply(config: RouterConfig, now: number): string[];
  /** Its section left the configuration (`stop` is the VR stopping); it may tell its peers more. */
  remove?(now: number): void;
}

/** How the VR runs one kind of protocol instance from its configuration. */
export interface ProtocolKind {
  /** Its name among the hosted instances, and in change lines. */
  readonly name: string;
  wanted(config: RouterConfig): boolean;
  /** Its part of the configuration as written; undefined: compare nothing, always `apply`. */
  section(config: RouterConfig): unknown;
  create(config: RouterConfig, now: number): ManagedProtocol;
  /** The change line when it starts on an apply. */
  started(config: RouterConfig): string;
}

export class ProtocolHost {
  private readonly list = new Map<string, { p: HostedProtocol; deadline: number }>();

  get<T extends HostedProtocol>(name: string): T | null {
    return (this.list.get(name)?.p as T | undefined) ?? null;
  }

  set(name: string, p: HostedProtocol | null): void {
    if (p === null) this.list.delete(name);
    else this.list.set(name, { p, deadline: Number.POSITIVE_INFINITY });
  }

  get size(): number {
    return this.list.size;
  }

  /** The earliest deadline the instances' last calls returned. */
  get deadline(): number {
    let d = Number.POSITIVE_INFINITY;
    for (const e of this.list.values()) d = Math.min(d, e.deadline);
    return d;
  }

  /** Hands a socket event to the instance that owns the fd (then polls it); false when none does. */
  socketEvent(fd: number, events: number, now: number): boolean {
    for (const e of this.list.values()) {
      if (e.p.socketEvent(fd, events, now)) {
        if (e.p.wakesOthers === true) this.poll(now);
        else {
          e.deadline = e.p.poll(now);
          this.afterOthers(now);
        }
        return true;
      }
    }
    return false;
  }

  /** Polls every instance (those that act on others first); the earliest deadline. */
  poll(now: number): number {
    let d = Number.POSITIVE_INFINITY;
    for (const first of [true, false])
      for (const e of this.list.values()) {
        if ((e.p.wakesOthers === true) !== first) continue;
        e.deadline = e.p.poll(now);
        d = Math.min(d, e.deadline);
      }
    this.afterOthers(now);
    return Math.min(d, this.deadline);
  }

  /** Instances that follow the others look again (and are polled again when that changed something). */
  private afterOthers(now: number): void {
    for (const e of this.list.values()) if (e.p.afterOthers?.(now) === true) e.deadline = e.p.poll(now);
  }

  /** Whether any instance changed RIB routes (each one's flag is taken). */
  takeRibChanges(): boolean {
    let any = false;
    for (const e of this.list.values()) if (e.p.takeRibChanges()) any = true;
    return any;
  }

  sync(now: number): void {
    for (const e of this.list.values()) e.p.sync(now);
  }

  /** Syncs the instances that follow state by polling; whether there were any. */
  syncPolling(now: number): boolean {
    let any = false;
    for (const e of this.list.values()) {
      if (e.p.syncsOnEveryPoll !== true) continue;
      e.p.sync(now);
      any = true;
    }
    return any;
  }

  stop(now: number): void {
    for (const e of this.list.values()) e.p.stop(now);
  }
}
