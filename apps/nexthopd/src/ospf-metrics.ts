import { Counter, Gauge, type Registry } from 'prom-client';

// OSPF metrics (issue 12), from each VR's `show.ospf` summary and neighbours at scrape time, for
// OSPFv2 and OSPFv3 apart (label `version`). Per neighbour: its state; per area: LSAs and SPF
// runs; per instance: the last SPF run's duration, the time of all runs, and packets dropped by
// reason (authentication failures among them).

/** RFC 2328 §10.1 states, in order: the gauge `nexthop_ospf_neighbor_state` reports the index. */
export const OSPF_STATES = [
  'Down',
  'Attempt',
  'Init',
  '2-Way',
  'ExStart',
  'Exchange',
  'Loading',
  'Full',
] as const;

/** What the metrics read of the summary (the VR's `OspfShow`). */
export interface OspfSummarySample {
  areas?: { id: string; lsas?: number; spfRuns?: number }[];
  externalLsas?: number;
  lastSpfDurationMs?: number | null;
  spfTotalMs?: number;
  counters?: { drops?: Record<string, number> };
}

/** …and of one neighbour (`OspfNeighborShow`). */
export interface OspfNeighborSample {
  routerId: string;
  address: string;
  interface: string;
  area?: string;
  state: string;
  stateChanges?: number;
}

export class OspfMetrics {
  private readonly state: Gauge;
  private readonly stateChanges: Counter;
  private readonly lsas: Gauge;
  private readonly externalLsas: Gauge;
  private readonly spfRuns: Counter;
  private readonly lastSpf: Gauge;
  private readonly spfSeconds: Counter;
  private readonly drops: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    const nbr = ['vr', 'version', 'neighbor', 'interface', 'address'];
    this.state = new Gauge({
      name: 'nexthop_ospf_neighbor_state',
      help: `OSPF neighbour state: ${OSPF_STATES.map((s, i) => `${i} ${s}`).join(', ')} (RFC 2328 §10.1)`,
      labelNames: nbr,
      registers,
    });
    this.stateChanges = new Counter({
      name: 'nexthop_ospf_neighbor_state_changes_total',
      help: 'State changes of the OSPF neighbour',
      labelNames: nbr,
      registers,
    });
    this.lsas = new Gauge({
      name: 'nexthop_ospf_area_lsas',
      help: 'LSAs in the area’s link-state database',
      labelNames: ['vr', 'version', 'area'],
      registers,
    });
    this.externalLsas = new Gauge({
      name: 'nexthop_ospf_external_lsas',
      help: 'AS-external LSAs (AS scope)',
      labelNames: ['vr', 'version'],
      registers,
    });
    this.spfRuns = new Counter({
      name: 'nexthop_ospf_area_spf_runs_total',
      help: 'SPF runs over the area (RFC 2328 §16)',
      labelNames: ['vr', 'version', 'area'],
      registers,
    });
    this.lastSpf = new Gauge({
      name: 'nexthop_ospf_last_spf_duration_seconds',
      help: 'How long the last SPF run took (the calculation and the routes handed to the RIB)',
      labelNames: ['vr', 'version'],
      registers,
    });
    this.spfSeconds = new Counter({
      name: 'nexthop_ospf_spf_seconds_total',
      help: 'The time of all SPF runs',
      labelNames: ['vr', 'version'],
      registers,
    });
    this.drops = new Counter({
      name: 'nexthop_ospf_dropped_packets_total',
      help: 'OSPF packets dropped, by reason (bad_auth: a wrong key or digest)',
      labelNames: ['vr', 'version', 'reason'],
      registers,
    });
  }

  /** Sets the metrics of one VR's OSPF instance of one version (after the registry was reset). */
  record(
    vr: string,
    version: 2 | 3,
    summary: OspfSummarySample | null,
    neighbors: readonly OspfNeighborSample[],
  ): void {
    const v = String(version);
    const inc = (c: Counter, labels: Record<string, string>, n: unknown) => {
      if (typeof n === 'number' && n > 0) c.inc(labels, n);
    };
    for (const n of neighbors) {
      const labels = { vr, version: v, neighbor: n.routerId, interface: n.interface, address: n.address };
      const state = (OSPF_STATES as readonly string[]).indexOf(n.state);
      if (state >= 0) this.state.set(labels, state);
      inc(this.stateChanges, labels, n.stateChanges);
    }
    if (summary === null) return;
    const base = { vr, version: v };
    for (const a of summary.areas ?? []) {
      const labels = { ...base, area: a.id };
      if (typeof a.lsas === 'number') this.lsas.set(labels, a.lsas);
      inc(this.spfRuns, labels, a.spfRuns);
    }
    if (typeof summary.externalLsas === 'number') this.externalLsas.set(base, summary.externalLsas);
    if (typeof summary.lastSpfDurationMs === 'number')
      this.lastSpf.set(base, summary.lastSpfDurationMs / 1000);
    inc(
      this.spfSeconds,
      base,
      typeof summary.spfTotalMs === 'number' ? summary.spfTotalMs / 1000 : undefined,
    );
    for (const [reason, count] of Object.entries(summary.counters?.drops ?? {}))
      inc(this.drops, { ...base, reason }, count);
  }
}
