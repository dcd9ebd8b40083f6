import { IPV4, IPV6 } from './family.ts';
import { RibTable, type RibTableOptions } from './rib-table.ts';
import { RouteSource, type SourceOptions } from './source.ts';
import type { FibWriter, RibCounters, RouteInput, SourceKind } from './types.ts';

export interface RibOptions {
  /** Most forwarding hops per FIB group (FRR: MULTIPATH_NUM); default 8. */
  maxPaths?: number;
  /** Most levels of next-hop recursion; default 4. */
  maxDepth?: number;
  /** `ip nht resolve-via-default` / `ipv6 nht resolve-via-default`; both off by default, as in FRR. */
  resolveViaDefault?: { v4?: boolean; v6?: boolean };
}

/** A prefix of either family, as `@nexthop/addr` parses them. */
export type AnyPrefix = { network: number; length: number } | { network: Uint8Array; length: number };

/**
 * The VR's Routing Information Base: one per VR, both families (DESIGN.md §7). Sans-IO: time comes
 * in as `now`, and the FIB is written through the `FibWriter` the stack implements, in one batch
 * per `flush()`, which the host calls when it wants the FIB brought up to date (once per event-loop
 * turn, say). Between flushes any number of updates coalesce: the FIB sees each changed prefix
 * once, in its final state.
 */
export class Rib {
  readonly v4: RibTable<number>;
  readonly v6: RibTable<Uint8Array>;
  private readonly writer: FibWriter;
  private readonly options4: RibTableOptions;
  private readonly options6: RibTableOptions;
  private readonly sources = new Map<string, RouteSource>();
  private nextSourceId = 0;

  constructor(writer: FibWriter, options: RibOptions = {}) {
    const maxPaths = options.maxPaths ?? 8;
    const maxDepth = options.maxDepth ?? 4;
    if (!Number.isInteger(maxPaths) || maxPaths < 1) throw new RangeError('maxPaths must be at least 1');
    if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > 16)
      throw new RangeError('maxDepth must be 1..16');
    this.writer = writer;
    this.options4 = { maxPaths, maxDepth, resolveViaDefault: options.resolveViaDefault?.v4 ?? false };
    this.options6 = { maxPaths, maxDepth, resolveViaDefault: options.resolveViaDefault?.v6 ?? false };
    this.v4 = new RibTable(IPV4, 0, this.options4);
    this.v6 = new RibTable(IPV6, 1, this.options6);
  }

  /** Registers a protocol instance; (kind, name) is unique. */
  addSource(kind: SourceKind, name: string, options?: SourceOptions): RouteSource {
    const label = `${kind}:${name}`;
    if (this.sources.has(label)) throw new RangeError(`route source ${label} exists`);
    const source = new RouteSource(this.nextSourceId++, kind, name, options);
    this.sources.set(label, source);
    return source;
  }

  /** Withdraws a source's routes and forgets it. */
  removeSource(source: RouteSource): void {
    this.withdrawAll(source);
    this.sources.delete(source.label);
  }

  /** Adds, replaces (route) or withdraws (null) source's route for prefix, of either family. */
  update(
    source: RouteSource,
    prefix: AnyPrefix,
    route: RouteInput<number> | RouteInput<Uint8Array> | null,
    now: number,
  ): void {
    if (typeof prefix.network === 'number') {
      this.v4.update(source, prefix.network, prefix.length, route as RouteInput<number> | null, now);
    } else {
      this.v6.update(source, prefix.network, prefix.length, route as RouteInput<Uint8Array> | null, now);
    }
  }

  /** Every route of source, both families (a BGP session going down); returns how many went. */
  withdrawAll(source: RouteSource): number {
    return this.v4.withdrawAll(source) + this.v6.withdrawAll(source);
  }

  /** FRR's `ip nht resolve-via-default`: re-resolves the family's tracked next hops. */
  setResolveViaDefault(family: 4 | 6, on: boolean): void {
    const options = family === 4 ? this.options4 : this.options6;
    if (options.resolveViaDefault === on) return;
    options.resolveViaDefault = on;
    if (family === 4) this.v4.reresolveAll();
    else this.v6.reresolveAll();
  }

  /**
   * Writes what changed since the last flush as one batch: groups created or changed, then
   * prefixes, then groups released, so that the FIB never holds a prefix pointing at a group it
   * does not have. Returns whether there was anything to write.
   */
  flush(): boolean {
    if (!this.v4.pending && !this.v6.pending) return false;
    const w = this.writer;
    w.begin();
    this.v4.emitGroups(w.v4);
    this.v6.emitGroups(w.v6);
    this.v4.emitRoutes(w.v4);
    this.v6.emitRoutes(w.v6);
    this.v4.emitReleases(w.v4);
    this.v6.emitReleases(w.v6);
    w.commit();
    return true;
  }

  counters(): RibCounters {
    const routesBySource: Record<string, number> = {};
    for (const [label, s] of this.sources) routesBySource[label] = s.counts[0]! + s.counts[1]!;
    const c4 = this.v4.counters();
    const c6 = this.v6.counters();
    return {
      routesBySource,
      prefixes: { v4: c4.prefixes, v6: c6.prefixes },
      selected: { v4: c4.selected, v6: c6.selected },
      trackedNextHops: { v4: c4.tracked, v6: c6.tracked },
      nextHopSets: { v4: c4.sets, v6: c6.sets },
      groups: { v4: c4.groups, v6: c6.groups },
    };
  }
}
