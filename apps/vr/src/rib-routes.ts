import type { Rib, RouteInput, RouteSource, SourceKind } from '@nexthop/rib';

/**
 * One protocol instance's routes in the VR's RIB: its sources (made on first use, by name), and
 * whether it changed them since the VR last asked (`takeDirty`: the VR then flushes the RIB into
 * the FIB once for however many routes changed). Each protocol's sink maps its own routes to
 * `RouteInput`s and hands them here.
 */
export class ProtocolRoutes {
  private readonly rib: Rib;
  private readonly kind: SourceKind;
  private readonly sources = new Map<string, RouteSource>();
  private dirty = false;

  constructor(rib: Rib, kind: SourceKind) {
    this.rib = rib;
    this.kind = kind;
  }

  private source(name: string): RouteSource {
    let s = this.sources.get(name);
    if (s === undefined) {
      s = this.rib.addSource(this.kind, name);
      this.sources.set(name, s);
    }
    return s;
  }

  /** Adds, replaces (route) or withdraws (null) the source's route to an IPv4 prefix. */
  update4(
    source: string,
    network: number,
    length: number,
    route: RouteInput<number> | null,
    now: number,
  ): void {
    this.dirty = true;
    this.rib.v4.update(this.source(source), network, length, route, now);
  }

  update6(
    source: string,
    network: Uint8Array,
    length: number,
    route: RouteInput<Uint8Array> | null,
    now: number,
  ): void {
    this.dirty = true;
    this.rib.v6.update(this.source(source), network, length, route, now);
  }

  /** Every route of one source (a session going down). */
  withdrawAll(source: string): void {
    const s = this.sources.get(source);
    if (s === undefined) return;
    this.dirty = true;
    this.rib.withdrawAll(s);
  }

  /** Takes every source out of the RIB (the instance stops). */
  removeAll(): void {
    for (const s of this.sources.values()) this.rib.removeSource(s);
    this.sources.clear();
    this.dirty = true;
  }

  /** Whether routes changed since the last call. */
  takeDirty(): boolean {
    const d = this.dirty;
    this.dirty = false;
    return d;
  }
}
