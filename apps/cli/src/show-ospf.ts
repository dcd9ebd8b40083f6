import { ControlError, controlSocketPath, request } from '@nexthop/control';
import { apiSocketPath, connectApi, notRunning } from './api-client.ts';
import { CliError, vrFailure } from './errors.ts';
import { table } from './format.ts';

// `nexthop show ospf [summary | interfaces | neighbors | database | routes]`: the VR's OSPF
// instance, asked of nexthopd (GET /vrs/:vr/ospf…) or, when it does not run, of the VR's control
// socket (show.ospf).

export const OSPF_VIEWS = ['summary', 'interfaces', 'neighbors', 'database', 'routes'] as const;

export interface ShowOspfOptions {
  runDir: string;
  vr?: string;
  json: boolean;
  /** 3: the OSPFv3 instance (`-6`). */
  version?: 2 | 3;
}

interface Summary {
  version?: 2 | 3;
  routerId: string;
  state: string;
  areas: { id: string; interfaces: number; lsas: number; spfRuns: number }[];
  externalLsas: number;
  spfRuns: number;
  lastSpfMs: number | null;
  /** How long the last SPF run took, and all of them (the VR's clock; null before the first). */
  lastSpfDurationMs?: number | null;
  spfTotalMs?: number;
  routes: number;
  counters: Record<string, Record<string, number>>;
}

interface Interface {
  name: string;
  area: string;
  address: string;
  type: string;
  state: string;
  cost: number;
  priority: number;
  passive: boolean;
  dr: string;
  bdr: string;
  neighbors: number;
  adjacencies: number;
}

interface Neighbor {
  routerId: string;
  address: string;
  interface: string;
  area: string;
  state: string;
  priority: number;
  role: string;
  deadInMs: number;
  retransmitQueue: number;
  requestQueue: number;
}

interface Lsa {
  area: string | null;
  type: string;
  id: string;
  advRouter: string;
  seq: string;
  age: number;
  checksum: string;
  length: number;
}

interface Route {
  prefix: string;
  type: string;
  cost: number;
  type2Cost?: number;
  area: string;
  nextHops: { gateway: string | null; interface: string }[];
}

export async function showOspf(view: string, opts: ShowOspfOptions): Promise<string> {
  if (!(OSPF_VIEWS as readonly string[]).includes(view))
    throw new CliError(`cannot show ospf '${view}': choose one of ${OSPF_VIEWS.join(', ')}`, 2);
  const vr = opts.vr ?? (await onlyVr(opts.runDir));
  const data = await ask(opts.runDir, vr, view, opts.version ?? 2);
  if (opts.json) return JSON.stringify(data, null, 2);
  switch (view) {
    case 'summary':
      return formatOspfSummary(data as Summary);
    case 'interfaces':
      return table(
        ['INTERFACE', 'AREA', 'ADDRESS', 'TYPE', 'STATE', 'COST', 'PRI', 'DR', 'BDR', 'NBRS', 'ADJ'],
        (data as Interface[]).map((i) => [
          i.name,
          i.area,
          i.address,
          i.type,
          i.passive ? `${i.state} (passive)` : i.state,
          i.cost,
          i.priority,
          i.dr || '-',
          i.bdr || '-',
          i.neighbors,
          i.adjacencies,
        ]),
      );
    case 'neighbors':
      return table(
        ['NEIGHBOR-ID', 'PRI', 'STATE', 'ROLE', 'DEAD', 'ADDRESS', 'INTERFACE', 'RXMT', 'REQ'],
        (data as Neighbor[]).map((n) => [
          n.routerId,
          n.priority,
          n.state,
          n.role || '-',
          `${(n.deadInMs / 1000).toFixed(1)}s`,
          n.address,
          n.interface,
          n.retransmitQueue,
          n.requestQueue,
        ]),
      );
    case 'database':
      return table(
        ['AREA', 'TYPE', 'LINK-ID', 'ADV-ROUTER', 'AGE', 'SEQ', 'CHECKSUM'],
        (data as Lsa[]).map((l) => [l.area ?? 'AS', l.type, l.id, l.advRouter, l.age, l.seq, l.checksum]),
      );
    default:
      return table(
        ['PREFIX', 'TYPE', 'COST', 'AREA', 'NEXT-HOPS'],
        (data as Route[]).map((r) => [
          r.prefix,
          r.type,
          r.type2Cost === undefined ? r.cost : `${r.cost}/${r.type2Cost}`,
          r.area,
          r.nextHops.map((h) => `${h.gateway ?? 'directly attached'} ${h.interface}`).join(', '),
        ]),
      );
  }
}

function formatOspfSummary(s: Summary): string {
  const lines = [
    `OSPF${s.version === 3 ? 'v3' : ''} router id ${s.routerId}, ${s.state}; ${s.routes} routes, ${s.externalLsas} AS-external LSAs`,
    `  SPF run ${s.spfRuns} times${s.lastSpfMs === null ? '' : `, last ${(s.lastSpfMs / 1000).toFixed(1)} s ago`}${
      s.lastSpfDurationMs === null || s.lastSpfDurationMs === undefined
        ? ''
        : ` taking ${s.lastSpfDurationMs.toFixed(1)} ms (${(s.spfTotalMs ?? 0).toFixed(1)} ms in all)`
    }`,
  ];
  for (const a of s.areas) lines.push(`  area ${a.id}: ${a.interfaces} interfaces, ${a.lsas} LSAs`);
  for (const [group, values] of Object.entries(s.counters)) {
    const entries = Object.entries(values);
    if (entries.length > 0) lines.push(`  ${group}: ${entries.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  return lines.join('\n');
}

async function onlyVr(runDir: string): Promise<string> {
  const api = await connectApi(runDir);
  if (api === null) throw new CliError(`show ospf needs --vr NAME (${notRunning(apiSocketPath(runDir))})`, 2);
  const vrs = await api.get<{ name: string; state: string }[]>('/vrs');
  const running = vrs.filter((v) => v.state === 'running');
  if (running.length !== 1)
    throw new CliError(`show ospf needs --vr NAME: nexthopd runs ${running.length} VRs`, 2);
  return running[0]!.name;
}

async function ask(runDir: string, vr: string, view: string, version: 2 | 3): Promise<unknown> {
  const api = await connectApi(runDir);
  try {
    if (api === null)
      return await request(controlSocketPath(runDir, vr), 'show.ospf', { what: view, version });
    const path = view === 'summary' ? 'ospf' : `ospf/${view}`;
    return await api.get(`/vrs/${encodeURIComponent(vr)}/${path}${version === 3 ? '?version=3' : ''}`);
  } catch (err) {
    if (err instanceof ControlError || err instanceof Error) throw vrFailure(vr, err);
    throw err;
  }
}
