// The Loc-RIB of one address family (RFC 4271 §3.2): per prefix, every candidate route (each peer's
// after import policy, and ours) and the best of them by the decision process (decision.ts). A
// change re-runs the decision for the one prefix it touches, so its cost follows what changed.

import { type Candidate, type RouteSource, selectBest } from './decision.ts';

/** One prefix: its candidates (one per source) and the best of them. */
export interface RibEntry<N, A> {
  readonly network: N;
  readonly length: number;
  readonly candidates: Candidate<A>[];
  best: Candidate<A> | undefined;
  /** The best route was handed to the RouteSink (the engine's bookkeeping; ours are not). */
  installed: boolean;
}

function sameNextHop(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array)
    return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}

function indexOfSource<A>(list: readonly Candidate<A>[], source: RouteSource): number {
  for (let i = 0; i < list.length; i++) if (list[i]!.source === source) return i;
  return -1;
}

/**
 * K is the prefix key (session.ts: `key4` numbers, `key6` strings), N the network as given (a
 * number or 16 octets), A the next hop's type.
 */
export class LocRib<K, N, A> {
  private readonly entries = new Map<K, RibEntry<N, A>>();
  /** Decision processes run, one per prefix a change touched (the cost of the changes). */
  selections = 0;

  get size(): number {
    return this.entries.size;
  }

  get(key: K): RibEntry<N, A> | undefined {
    return this.entries.get(key);
  }

  keys(): IterableIterator<K> {
    return this.entries.keys();
  }

  values(): IterableIterator<RibEntry<N, A>> {
    return this.entries.values();
  }

  /**
   * Sets the candidate's source's route to a prefix, replacing the one it had. Returns the entry
   * when its best route changed, else undefined (the same route again changes nothing).
   */
  set(key: K, network: N, length: number, c: Candidate<A>): RibEntry<N, A> | undefined {
    let e = this.entries.get(key);
    if (e === undefined) {
      // A literal of one: an empty array grown by push would reserve 17 slots (~150 bytes a prefix
      // for a full table, where most prefixes have one candidate).
      e = { network, length, candidates: [c], best: undefined, installed: false };
      this.entries.set(key, e);
      return this.select(e);
    }
    const list = e.candidates;
    const i = indexOfSource(list, c.source);
    if (i >= 0) {
      const old = list[i]!;
      if (old.attrs === c.attrs && sameNextHop(old.nextHop, c.nextHop)) return undefined;
      list[i] = c;
    } else list.push(c);
    return this.select(e);
  }

  /**
   * Removes a source's route to a prefix. Returns the entry when its best changed; a prefix left
   * with no route is forgotten, and its entry returned with `best` undefined.
   */
  remove(key: K, source: RouteSource): RibEntry<N, A> | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    const i = indexOfSource(e.candidates, source);
    if (i < 0) return undefined;
    e.candidates.splice(i, 1);
    if (e.candidates.length === 0) this.entries.delete(key);
    return this.select(e);
  }

  private select(e: RibEntry<N, A>): RibEntry<N, A> | undefined {
    this.selections++;
    const best = selectBest(e.candidates);
    if (best === e.best) return undefined;
    e.best = best;
    return e;
  }
}
