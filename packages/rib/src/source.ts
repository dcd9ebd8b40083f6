import { DEFAULT_DISTANCE, type SourceKind, UNUSABLE_DISTANCE } from './types.ts';

/** Order among kinds when distance, metric and next-hop type tie: the more local source first. */
const KIND_RANK: Record<SourceKind, number> = { connected: 0, static: 1, ospf: 2, rip: 3, bgp: 4 };

export interface SourceOptions {
  /** The source's administrative distance; by default FRR's for the kind (eBGP's for 'bgp'). */
  distance?: number;
}

/**
 * A protocol instance feeding the RIB ('static', 'bgp' "core", 'ospf' "area0-instance"…). Routes
 * are keyed by (source, prefix): a source has at most one route per prefix, and a newer one
 * replaces it. The source also threads its routes on a list, so that `withdrawAll` costs what the
 * source holds, not what the RIB holds.
 */
export class RouteSource {
  readonly kind: SourceKind;
  readonly name: string;
  readonly distance: number;
  readonly id: number;
  readonly rank: number;
  /** Internal: head of this source's routes in each family's table (0 = IPv4, 1 = IPv6). */
  readonly heads: unknown[] = [null, null];
  /** Internal: how many routes the source has in each table. */
  readonly counts = [0, 0];

  constructor(id: number, kind: SourceKind, name: string, options: SourceOptions = {}) {
    if (!(kind in KIND_RANK)) throw new RangeError(`unknown route source kind ${kind}`);
    const distance = options.distance ?? (kind === 'bgp' ? DEFAULT_DISTANCE.ebgp : DEFAULT_DISTANCE[kind]);
    checkDistance(distance);
    this.id = id;
    this.kind = kind;
    this.name = name;
    this.distance = distance;
    this.rank = KIND_RANK[kind];
  }

  /** `kind:name`, as counters and `show` name the source. */
  get label(): string {
    return `${this.kind}:${this.name}`;
  }
}

export function checkDistance(distance: number): void {
  if (!Number.isInteger(distance) || distance < 0 || distance > UNUSABLE_DISTANCE) {
    throw new RangeError(`administrative distance ${distance} is not 0..255`);
  }
}
