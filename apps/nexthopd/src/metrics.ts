import { NEXTHOP_VERSION } from '@nexthop/control';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { BgpMetrics, type BgpNeighborSample } from './bgp-metrics.ts';
import { OspfMetrics, type OspfNeighborSample, type OspfSummarySample } from './ospf-metrics.ts';
import type { VrRuntimeStatus, VrSupervisor } from './supervisor.ts';

// Prometheus metrics, gathered from every VR when scraped. Each VR gets its own time limit and
// they are asked in parallel, so a hung VR shows up as nexthop_vr_up 0 and never stalls the scrape.

export const SCRAPE_TIMEOUT_MS = 1000;

interface InterfaceRow {
  name: string;
  up?: boolean;
  rxFrames?: number;
  rxBytes?: number;
  txFrames?: number;
  txBytes?: number;
}

interface VrSample {
  status: VrRuntimeStatus;
  interfaces: InterfaceRow[];
  stats: Record<string, number>;
  drops: Record<string, number>;
  /** Empty when the VR runs no BGP. */
  bgpNeighbors: BgpNeighborSample[];
  /** OSPFv2 and OSPFv3: null (and no neighbours) when the VR runs no such instance. */
  ospf: { version: 2 | 3; summary: OspfSummarySample | null; neighbors: OspfNeighborSample[] }[];
}

/**
 * What the VR counts for each address family under two names (`show counters`): one metric each,
 * with a label `family="ipv4"|"ipv6"`. [metric, help, the IPv4 stat, the IPv6 stat].
 */
export const FAMILY_COUNTERS: readonly (readonly [string, string, string, string])[] = [
  ['nexthop_forwarded_packets_total', 'Packets the VR forwarded', 'forwarded', 'ipv6_forwarded'],
  ['nexthop_delivered_packets_total', 'Packets delivered to the VR itself', 'delivered', 'ipv6_delivered'],
  [
    'nexthop_icmp_received_total',
    'ICMP messages received (ICMPv6 for ipv6)',
    'icmp_received',
    'icmpv6_received',
  ],
  [
    'nexthop_icmp_errors_sent_total',
    'ICMP errors the VR sent (ICMPv6 for ipv6)',
    'icmp_errors_sent',
    'icmpv6_errors_sent',
  ],
  ['nexthop_echo_replies_sent_total', 'Echo replies the VR sent', 'echo_replies_sent', 'echo6_replies_sent'],
  [
    'nexthop_fragments_received_total',
    'Fragments received for reassembly',
    'fragments_received',
    'ipv6_fragments_received',
  ],
  [
    'nexthop_datagrams_reassembled_total',
    'Datagrams reassembled from fragments',
    'datagrams_reassembled',
    'ipv6_reassembled',
  ],
  ['nexthop_fragments_created_total', 'Fragments the VR made', 'fragments_created', 'ipv6_fragments_created'],
  [
    'nexthop_neighbor_solicitations_sent_total',
    'Neighbour solicitations sent: ARP requests (ipv4), NDP Neighbor Solicitations (ipv6)',
    'arp_requests_sent',
    'ns_sent',
  ],
  [
    'nexthop_neighbor_advertisements_sent_total',
    'Neighbour advertisements sent: ARP replies (ipv4), NDP Neighbor Advertisements (ipv6)',
    'arp_replies_sent',
    'na_sent',
  ],
];

/** Gauges of each family, the same way. */
export const FAMILY_GAUGES: readonly (readonly [string, string, string, string])[] = [
  ['nexthop_fib_routes', 'Routes in the VR forwarding table', 'fib_routes', 'ipv6_fib_routes'],
  [
    'nexthop_neighbors',
    'Entries in the neighbour table: ARP (ipv4), NDP (ipv6)',
    'arp_entries',
    'ndp_entries',
  ],
];

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

async function sample(vr: VrSupervisor, timeoutMs: number): Promise<VrSample | null> {
  if (vr.state !== 'running') return null;
  try {
    const [status, interfaces, counters, bgp, ...ospf] = await withTimeout(
      Promise.all([
        vr.call('status', {}, timeoutMs),
        vr.call('show.interfaces', {}, timeoutMs),
        vr.call('show.counters', {}, timeoutMs),
        // A VR without BGP (or OSPF of that version) answers not_found.
        vr.call('show.bgp', { what: 'neighbors' }, timeoutMs).catch(() => []),
        ...([2, 3] as const).flatMap((version) => [
          vr.call('show.ospf', { version }, timeoutMs).catch(() => null),
          vr.call('show.ospf', { version, what: 'neighbors' }, timeoutMs).catch(() => []),
        ]),
      ]),
      timeoutMs,
    );
    const c = (counters ?? {}) as { stats?: Record<string, number>; drops?: Record<string, number> };
    return {
      status: (status ?? {}) as VrRuntimeStatus,
      interfaces: Array.isArray(interfaces) ? (interfaces as InterfaceRow[]) : [],
      stats: c.stats ?? {},
      drops: c.drops ?? {},
      bgpNeighbors: Array.isArray(bgp) ? (bgp as BgpNeighborSample[]) : [],
      ospf: ([2, 3] as const).map((version, i) => {
        const summary = ospf[2 * i];
        const neighbors = ospf[2 * i + 1];
        return {
          version,
          summary: summary !== null && typeof summary === 'object' ? (summary as OspfSummarySample) : null,
          neighbors: Array.isArray(neighbors) ? (neighbors as OspfNeighborSample[]) : [],
        };
      }),
    };
  } catch {
    return null;
  }
}

export class Metrics {
  readonly registry = new Registry();
  private readonly up: Gauge;
  private readonly restarts: Counter;
  private readonly startTime: Gauge;
  private readonly rss: Gauge;
  /** By family: [metric, IPv4 stat, IPv6 stat]. */
  private readonly familyCounters: [Counter, string, string][];
  private readonly familyGauges: [Gauge, string, string][];
  private readonly sockets: Gauge;
  private readonly rsockClients: Gauge;
  private readonly rxPackets: Counter;
  private readonly rxBytes: Counter;
  private readonly txPackets: Counter;
  private readonly txBytes: Counter;
  private readonly ifUp: Gauge;
  private readonly drops: Counter;
  private readonly bgp: BgpMetrics;
  private readonly ospf: OspfMetrics;
  private readonly buildInfo: Gauge;

  constructor() {
    // nexthopd's own process (CPU, memory, event-loop lag), apart from the VRs'.
    collectDefaultMetrics({ register: this.registry, prefix: 'nexthopd_' });
    const registers = [this.registry];
    const vr = ['vr'];
    const ifLabels = ['vr', 'interface'];
    this.up = new Gauge({
      name: 'nexthop_vr_up',
      help: 'Whether the VR runs and answers (1) or not (0)',
      labelNames: vr,
      registers,
    });
    this.restarts = new Counter({
      name: 'nexthop_vr_restarts_total',
      help: 'VR processes started after the first one (crashes, hangs, operator restarts)',
      labelNames: vr,
      registers,
    });
    this.startTime = new Gauge({
      name: 'nexthop_vr_start_time_seconds',
      help: 'When the running VR process started, seconds since the epoch',
      labelNames: vr,
      registers,
    });
    this.rss = new Gauge({
      name: 'nexthop_vr_resident_memory_bytes',
      help: 'Resident memory of the VR process',
      labelNames: vr,
      registers,
    });
    const byFamily = ['vr', 'family'];
    this.familyCounters = FAMILY_COUNTERS.map(([name, help, v4, v6]) => [
      new Counter({ name, help, labelNames: byFamily, registers }),
      v4,
      v6,
    ]);
    this.familyGauges = FAMILY_GAUGES.map(([name, help, v4, v6]) => [
      new Gauge({ name, help, labelNames: byFamily, registers }),
      v4,
      v6,
    ]);
    this.sockets = new Gauge({
      name: 'nexthop_sockets',
      help: 'Sockets open in the VR',
      labelNames: vr,
      registers,
    });
    this.rsockClients = new Gauge({
      name: 'nexthop_rsock_clients',
      help: 'Clients connected to the VR remote socket API',
      labelNames: vr,
      registers,
    });
    this.rxPackets = new Counter({
      name: 'nexthop_interface_receive_packets_total',
      help: 'Frames received on the interface',
      labelNames: ifLabels,
      registers,
    });
    this.rxBytes = new Counter({
      name: 'nexthop_interface_receive_bytes_total',
      help: 'Bytes received on the interface',
      labelNames: ifLabels,
      registers,
    });
    this.txPackets = new Counter({
      name: 'nexthop_interface_transmit_packets_total',
      help: 'Frames sent on the interface',
      labelNames: ifLabels,
      registers,
    });
    this.txBytes = new Counter({
      name: 'nexthop_interface_transmit_bytes_total',
      help: 'Bytes sent on the interface',
      labelNames: ifLabels,
      registers,
    });
    this.ifUp = new Gauge({
      name: 'nexthop_interface_up',
      help: 'Whether the interface is up (1) or not (0)',
      labelNames: ifLabels,
      registers,
    });
    this.drops = new Counter({
      name: 'nexthop_drops_total',
      help: 'Packets the VR dropped, by reason',
      labelNames: ['vr', 'reason'],
      registers,
    });
    this.bgp = new BgpMetrics(this.registry);
    this.ospf = new OspfMetrics(this.registry);
    this.buildInfo = new Gauge({
      name: 'nexthop_build_info',
      help: 'Always 1: the version of nexthop and of the Node.js nexthopd runs on, as labels',
      labelNames: ['version', 'node'],
      registers,
    });
  }

  /** Asks every VR (in parallel, each with its own limit) and returns the Prometheus text. */
  async scrape(vrs: readonly VrSupervisor[], timeoutMs = SCRAPE_TIMEOUT_MS): Promise<string> {
    const samples = await Promise.all(vrs.map((vr) => sample(vr, timeoutMs)));
    this.registry.resetMetrics();
    this.buildInfo.set({ version: NEXTHOP_VERSION, node: process.version }, 1);
    // Counters take the VR's absolute values: reset above, then one inc each.
    const setCounter = (c: Counter, labels: Record<string, string>, value: unknown) => {
      if (typeof value === 'number' && value >= 0) c.inc(labels, value);
    };
    const setGauge = (g: Gauge, labels: Record<string, string>, value: unknown) => {
      if (typeof value === 'number') g.set(labels, value);
    };
    vrs.forEach((vr, i) => {
      const s = samples[i];
      const labels = { vr: vr.name };
      this.up.set(labels, s ? 1 : 0);
      this.restarts.inc(labels, vr.restarts);
      if (s === null || s === undefined) return;
      const startedAt = s.status.startedAt ?? vr.readySince;
      if (typeof startedAt === 'number') this.startTime.set(labels, startedAt / 1000);
      setGauge(this.rss, labels, s.status.rssBytes);
      // A VR that does not list fib_routes among its counters still says it in its status.
      const stats: Record<string, unknown> = { fib_routes: s.status.fibRoutes, ...s.stats };
      const ipv4 = { vr: vr.name, family: 'ipv4' };
      const ipv6 = { vr: vr.name, family: 'ipv6' };
      for (const [counter, v4, v6] of this.familyCounters) {
        setCounter(counter, ipv4, stats[v4]);
        setCounter(counter, ipv6, stats[v6]);
      }
      for (const [gauge, v4, v6] of this.familyGauges) {
        setGauge(gauge, ipv4, stats[v4]);
        setGauge(gauge, ipv6, stats[v6]);
      }
      setGauge(this.sockets, labels, s.status.sockets);
      setGauge(this.rsockClients, labels, s.status.rsockClients);
      for (const row of s.interfaces) {
        const ifLabels = { vr: vr.name, interface: row.name };
        setCounter(this.rxPackets, ifLabels, row.rxFrames);
        setCounter(this.rxBytes, ifLabels, row.rxBytes);
        setCounter(this.txPackets, ifLabels, row.txFrames);
        setCounter(this.txBytes, ifLabels, row.txBytes);
        this.ifUp.set(ifLabels, row.up ? 1 : 0);
      }
      for (const [reason, count] of Object.entries(s.drops))
        setCounter(this.drops, { vr: vr.name, reason }, count);
      this.bgp.record(vr.name, s.bgpNeighbors);
      for (const o of s.ospf) this.ospf.record(vr.name, o.version, o.summary, o.neighbors);
    });
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
