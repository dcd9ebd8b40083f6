import { Counter, Gauge, type Registry } from 'prom-client';

// Per-neighbour BGP metrics (issue 11), from each VR's `show.bgp neighbors` at scrape time. Labels:
// the VR, the neighbour's configured name and its address.

/** RFC 4271 §8.2.2 states, in order: the gauge `nexthop_bgp_neighbor_state` reports the index. */
export const BGP_STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;

/** What the metrics read of one neighbour (the VR's `PeerShow`). */
export interface BgpNeighborSample {
  name: string;
  address: string;
  state: string;
  prefixes?: { received?: number; accepted?: number; advertised?: number };
  counters?: {
    messagesIn?: Record<string, number>;
    messagesOut?: Record<string, number>;
    flaps?: number;
  };
}

export class BgpMetrics {
  private readonly state: Gauge;
  private readonly prefixes: Gauge;
  private readonly updatesIn: Counter;
  private readonly updatesOut: Counter;
  private readonly flaps: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ['vr', 'neighbor', 'address'];
    this.state = new Gauge({
      name: 'nexthop_bgp_neighbor_state',
      help: `BGP session state: ${BGP_STATES.map((s, i) => `${i} ${s}`).join(', ')} (RFC 4271 §8.2.2)`,
      labelNames,
      registers,
    });
    this.prefixes = new Gauge({
      name: 'nexthop_bgp_neighbor_prefixes',
      help: 'Prefixes of the neighbour: received (Adj-RIB-In), accepted (after import policy), advertised (Adj-RIB-Out)',
      labelNames: [...labelNames, 'kind'],
      registers,
    });
    this.updatesIn = new Counter({
      name: 'nexthop_bgp_neighbor_updates_received_total',
      help: 'UPDATE messages received from the neighbour',
      labelNames,
      registers,
    });
    this.updatesOut = new Counter({
      name: 'nexthop_bgp_neighbor_updates_sent_total',
      help: 'UPDATE messages sent to the neighbour',
      labelNames,
      registers,
    });
    this.flaps = new Counter({
      name: 'nexthop_bgp_neighbor_flaps_total',
      help: 'Established sessions with the neighbour that went down',
      labelNames,
      registers,
    });
  }

  /** Sets the metrics of one VR's neighbours (after the registry was reset). */
  record(vr: string, neighbors: readonly BgpNeighborSample[]): void {
    for (const n of neighbors) {
      const labels = { vr, neighbor: n.name, address: n.address };
      const state = (BGP_STATES as readonly string[]).indexOf(n.state);
      if (state >= 0) this.state.set(labels, state);
      for (const kind of ['received', 'accepted', 'advertised'] as const) {
        const v = n.prefixes?.[kind];
        if (typeof v === 'number') this.prefixes.set({ ...labels, kind }, v);
      }
      const inc = (c: Counter, v: unknown) => {
        if (typeof v === 'number' && v >= 0) c.inc(labels, v);
      };
      inc(this.updatesIn, n.counters?.messagesIn?.['update']);
      inc(this.updatesOut, n.counters?.messagesOut?.['update']);
      inc(this.flaps, n.counters?.flaps);
    }
  }
}
