import { ControlError, controlSocketPath, request } from '@nexthop/control';
import { apiSocketPath, connectApi, notRunning } from './api-client.ts';
import { CliError, vrFailure } from './errors.ts';
import { formatUptime, table } from './format.ts';

// `nexthop show bgp [summary | neighbors [NAME] | routes [PREFIX]]`: the VR's BGP instance, asked of
// nexthopd (GET /vrs/:vr/bgp…) or, when it does not run, of the VR's control socket (show.bgp).

export const BGP_VIEWS = ['summary', 'neighbors', 'routes'] as const;
export type BgpView = (typeof BGP_VIEWS)[number];

export interface ShowBgpOptions {
  runDir: string;
  vr?: string;
  json: boolean;
}

interface PeerSummary {
  name: string;
  address: string;
  remoteAs: number;
  type: string;
  state: string;
  uptime: number;
  prefixes: { received: number; accepted: number; advertised: number };
  lastError: string | null;
}

interface Summary {
  localAs: number;
  routerId: string;
  state: string;
  exported: { ipv4: number; ipv6: number };
  peers: PeerSummary[];
}

interface Neighbor extends PeerSummary {
  remoteId: string | null;
  holdTime: number | null;
  keepalive: number | null;
  capabilities: { families: string[]; as4: boolean; routeRefresh: boolean } | null;
  gtsm: string;
  counters: Record<string, unknown>;
  errors: Record<string, number>;
}

interface Route {
  prefix: string;
  best: boolean;
  from: string;
  nextHop: string | null;
  asPath: string;
  origin: string | null;
  localPref: number | null;
  med: number | null;
  communities: string[];
}

/** Prints what `show bgp VIEW [ARG]` asks for; the JSON is the data the text is made of. */
export async function showBgp(view: string, arg: string | undefined, opts: ShowBgpOptions): Promise<string> {
  if (!(BGP_VIEWS as readonly string[]).includes(view))
    throw new CliError(`cannot show bgp '${view}': choose one of ${BGP_VIEWS.join(', ')}`, 2);
  if (view === 'summary' && arg !== undefined) throw new CliError('show bgp summary takes no argument', 2);
  const vr = opts.vr ?? (await onlyVr(opts.runDir));
  const params: Record<string, string> = { what: view };
  if (arg !== undefined) params[view === 'routes' ? 'prefix' : 'neighbor'] = arg;
  const data = await ask(opts.runDir, vr, view as BgpView, params);
  if (opts.json) return JSON.stringify(data, null, 2);
  if (view === 'summary') return formatSummary(data as Summary);
  if (view === 'neighbors') return (data as Neighbor[]).map(formatNeighbor).join('\n\n');
  return formatBgpRoutes(data as Route[]);
}

/** Without --vr: the one VR nexthopd runs; several need a choice. */
async function onlyVr(runDir: string): Promise<string> {
  const api = await connectApi(runDir);
  if (api === null) throw new CliError(`show bgp needs --vr NAME (${notRunning(apiSocketPath(runDir))})`, 2);
  const vrs = await api.get<{ name: string; state: string }[]>('/vrs');
  const running = vrs.filter((v) => v.state === 'running');
  if (running.length !== 1)
    throw new CliError(`show bgp needs --vr NAME: nexthopd runs ${running.length} VRs`, 2);
  return running[0]!.name;
}

async function ask(
  runDir: string,
  vr: string,
  view: BgpView,
  params: Record<string, string>,
): Promise<unknown> {
  const api = await connectApi(runDir);
  try {
    if (api === null) return await request(controlSocketPath(runDir, vr), 'show.bgp', params);
    const path = view === 'summary' ? 'bgp' : `bgp/${view}`;
    const key = view === 'routes' ? 'prefix' : 'neighbor';
    const q = params[key] === undefined ? '' : `?${key}=${encodeURIComponent(params[key])}`;
    return await api.get(`/vrs/${encodeURIComponent(vr)}/${path}${q}`);
  } catch (err) {
    if (err instanceof ControlError || err instanceof Error) throw vrFailure(vr, err);
    throw err;
  }
}

/** As FRR's `show bgp summary`: one line a neighbour. */
export function formatSummary(s: Summary): string {
  const head =
    `BGP router identifier ${s.routerId}, local AS ${s.localAs}, ${s.state}; ` +
    `originating ${s.exported.ipv4} IPv4 and ${s.exported.ipv6} IPv6 prefixes`;
  const rows = s.peers.map((p) => [
    p.name,
    p.address,
    p.remoteAs,
    p.type,
    p.state,
    p.state === 'Established' ? formatUptime(p.uptime * 1000) : '-',
    p.prefixes.received,
    p.prefixes.accepted,
    p.prefixes.advertised,
    p.lastError ?? '-',
  ]);
  return `${head}\n\n${table(
    ['NEIGHBOR', 'ADDRESS', 'AS', 'TYPE', 'STATE', 'UP', 'RECEIVED', 'ACCEPTED', 'SENT', 'LAST-ERROR'],
    rows,
  )}`;
}

function formatNeighbor(n: Neighbor): string {
  const lines = [
    `BGP neighbor ${n.name}, ${n.address}, remote AS ${n.remoteAs}, ${n.type}`,
    `  state ${n.state}${n.state === 'Established' ? ` for ${formatUptime(n.uptime * 1000)}` : ''}, remote router id ${n.remoteId ?? '-'}`,
    `  hold time ${n.holdTime ?? '-'}, keepalive ${n.keepalive ?? '-'}; GTSM ${n.gtsm}`,
  ];
  if (n.capabilities !== null) {
    const c = n.capabilities;
    lines.push(
      `  families ${c.families.join(' ')}; four-octet AS ${c.as4 ? 'yes' : 'no'}; route refresh ${c.routeRefresh ? 'yes' : 'no'}`,
    );
  }
  lines.push(
    `  prefixes received ${n.prefixes.received}, accepted ${n.prefixes.accepted}, advertised ${n.prefixes.advertised}`,
  );
  if (n.lastError !== null) lines.push(`  last error: ${n.lastError}`);
  for (const [k, v] of Object.entries(n.counters)) lines.push(`  ${k}: ${JSON.stringify(v)}`);
  const errors = Object.entries(n.errors).filter(([, v]) => v > 0);
  if (errors.length > 0) lines.push(`  errors: ${errors.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return lines.join('\n');
}

const ORIGIN_CODE: Record<string, string> = { igp: 'i', egp: 'e', incomplete: '?' };

/**
 * As `show bgp ipv4 unicast` in FRR: every candidate, `*>` the best of its prefix, the path and its
 * origin code; where it came from (a neighbour, or `local`).
 */
export function formatBgpRoutes(rows: Route[]): string {
  return table(
    ['', 'PREFIX', 'FROM', 'NEXT-HOP', 'MED', 'LOCAL-PREF', 'PATH'],
    rows.map((r) => [
      r.best ? '*>' : '*',
      r.prefix,
      r.from,
      r.nextHop ?? '-',
      r.med ?? '',
      r.localPref ?? '',
      `${r.asPath}${r.asPath === '' ? '' : ' '}${ORIGIN_CODE[r.origin ?? ''] ?? ''}${r.communities.length > 0 ? `  [${r.communities.join(' ')}]` : ''}`,
    ]),
  );
}
