import { formatIpv4, formatIpv6 } from '@nexthop/addr';
import type { FibTableWriter, FibWriter, GroupState, ResolvedHop } from '@nexthop/rib';

/** A FIB as the RIB's batches build it, checking the batch rules on every call. */
export class FibTableImage<A> implements FibTableWriter<A> {
  readonly groups = new Map<number, GroupState<A>>();
  /** "network/length" → group id. */
  readonly routes = new Map<string, number>();
  calls = { setGroup: 0, releaseGroup: 0, setRoute: 0, deleteRoute: 0 };
  private readonly owner: FibImage;
  private readonly format: (a: A) => string;

  constructor(owner: FibImage, format: (a: A) => string) {
    this.owner = owner;
    this.format = format;
  }

  setGroup(id: number, state: GroupState<A>): void {
    this.owner.check();
    if (state.kind === 'forward' && state.hops.length === 0)
      throw new Error(`group ${id}: forward with no hops`);
    this.groups.set(id, state);
    this.calls.setGroup++;
  }

  releaseGroup(id: number): void {
    this.owner.check();
    if (!this.groups.has(id)) throw new Error(`release of unknown group ${id}`);
    for (const [p, g] of this.routes)
      if (g === id) throw new Error(`group ${id} released while ${p} uses it`);
    this.groups.delete(id);
    this.calls.releaseGroup++;
  }

  setRoute(network: A, length: number, group: number): void {
    this.owner.check();
    if (!this.groups.has(group)) throw new Error(`route to unknown group ${group}`);
    const key = `${this.format(network)}/${length}`;
    if (this.routes.get(key) === group)
      throw new Error(`setRoute ${key} → ${group} repeats what the FIB has`);
    this.routes.set(key, group);
    this.calls.setRoute++;
  }

  deleteRoute(network: A, length: number): void {
    this.owner.check();
    const key = `${this.format(network)}/${length}`;
    if (!this.routes.delete(key)) throw new Error(`delete of absent route ${key}`);
    this.calls.deleteRoute++;
  }

  /** prefix → canonical text of what it does, for comparing with a model. */
  image(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [p, g] of this.routes) out.set(p, describeState(this.groups.get(g)!, this.format));
    return out;
  }

  totalCalls(): number {
    const c = this.calls;
    return c.setGroup + c.releaseGroup + c.setRoute + c.deleteRoute;
  }

  resetCalls(): void {
    this.calls = { setGroup: 0, releaseGroup: 0, setRoute: 0, deleteRoute: 0 };
  }
}

export class FibImage implements FibWriter {
  readonly v4 = new FibTableImage<number>(this, (a) => formatIpv4(a));
  readonly v6 = new FibTableImage<Uint8Array>(this, (a) => formatIpv6(a));
  inBatch = false;
  batches = 0;

  begin(): void {
    if (this.inBatch) throw new Error('begin inside a batch');
    this.inBatch = true;
  }

  commit(): void {
    if (!this.inBatch) throw new Error('commit outside a batch');
    this.inBatch = false;
    this.batches++;
  }

  check(): void {
    if (!this.inBatch) throw new Error('FIB call outside a batch');
  }
}

export function describeHops<A>(hops: readonly ResolvedHop<A>[], format: (a: A) => string): string {
  return hops
    .map((h) => `${h.gateway === null ? 'direct' : format(h.gateway)}@${h.ifIndex}`)
    .sort()
    .join(' ');
}

export function describeState<A>(state: GroupState<A>, format: (a: A) => string): string {
  switch (state.kind) {
    case 'forward':
      return `forward ${describeHops(state.hops, format)}`;
    case 'local':
      return `local@${state.ifIndex}`;
    default:
      return state.kind;
  }
}
