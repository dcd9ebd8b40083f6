import { ControlError, controlSocketPath, request } from '@nexthop/control';
import { apiSocketPath, connectApi, notRunning } from './api-client.ts';
import { CliError, vrFailure } from './errors.ts';
import { table } from './format.ts';

// `nexthop show rip [routes | interfaces | neighbors]`: the VR's RIPv2 and RIPng instances, asked of
// nexthopd (GET /vrs/:vr/rip?what=…) or, when it does not run, of the VR's control socket (show.rip).

export const RIP_VIEWS = ['routes', 'interfaces', 'neighbors'] as const;
export type RipView = (typeof RIP_VIEWS)[number];

export interface ShowRipOptions {
  runDir: string;
  vr?: string;
  json: boolean;
}

interface Route {
  prefix: string;
  metric: number;
  nextHop: string;
  interface: string;
  origin: string;
  from: string;
  tag: number;
  age: number;
  expiresIn: number | null;
  garbageIn: number | null;
}

interface Interface {
  name: string;
  up: boolean;
  passive: boolean;
  cost: number;
  splitHorizon: string;
  authentication: string;
  inResponses: number;
  inRequests: number;
  outResponses: number;
  outRequests: number;
  triggeredUpdates: number;
  sendErrors: number;
  drops: Record<string, number>;
}

interface Neighbor {
  address: string;
  interface: string;
  lastSeen: number;
  responses: number;
  badPackets: number;
  badRoutes: number;
  sequence: number | null;
}

/** Prints what `show rip VIEW` asks for; the JSON is `{ rip?: rows, ripng?: rows }`. */
export async function showRip(view: string, opts: ShowRipOptions): Promise<string> {
  if (!(RIP_VIEWS as readonly string[]).includes(view))
    throw new CliError(`cannot show rip '${view}': choose one of ${RIP_VIEWS.join(', ')}`, 2);
  const vr = opts.vr ?? (await onlyVr(opts.runDir));
  const data = (await ask(opts.runDir, vr, view as RipView)) as Record<string, unknown[]>;
  if (opts.json) return JSON.stringify(data, null, 2);
  const parts: string[] = [];
  for (const [name, rows] of Object.entries(data)) {
    const title = name === 'rip' ? 'RIPv2' : 'RIPng';
    const body =
      view === 'routes'
        ? formatRoutes(rows as Route[])
        : view === 'interfaces'
          ? formatInterfaces(rows as Interface[])
          : formatNeighbors(rows as Neighbor[]);
    parts.push(`${title}\n${body}`);
  }
  return parts.join('\n\n');
}

async function onlyVr(runDir: string): Promise<string> {
  const api = await connectApi(runDir);
  if (api === null) throw new CliError(`show rip needs --vr NAME (${notRunning(apiSocketPath(runDir))})`, 2);
  const vrs = await api.get<{ name: string; state: string }[]>('/vrs');
  const running = vrs.filter((v) => v.state === 'running');
  if (running.length !== 1)
    throw new CliError(`show rip needs --vr NAME: nexthopd runs ${running.length} VRs`, 2);
  return running[0]!.name;
}

async function ask(runDir: string, vr: string, view: RipView): Promise<unknown> {
  const api = await connectApi(runDir);
  try {
    if (api === null) return await request(controlSocketPath(runDir, vr), 'show.rip', { what: view });
    return await api.get(`/vrs/${encodeURIComponent(vr)}/rip?what=${view}`);
  } catch (err) {
    if (err instanceof ControlError || err instanceof Error) throw vrFailure(vr, err);
    throw err;
  }
}

const secs = (s: number | null) => (s === null ? '-' : `${Math.round(s)}s`);

/** As FRR's `show ip rip`: prefix, metric, next hop, interface, where from, and the timers. */
export function formatRoutes(rows: Route[]): string {
  return table(
    ['PREFIX', 'METRIC', 'NEXT-HOP', 'INTERFACE', 'ORIGIN', 'FROM', 'AGE', 'EXPIRES', 'GARBAGE'],
    rows.map((r) => [
      r.prefix,
      r.metric,
      r.nextHop === '' ? '-' : r.nextHop,
      r.interface === '' ? '-' : r.interface,
      r.origin,
      r.from,
      secs(r.age),
      secs(r.expiresIn),
      secs(r.garbageIn),
    ]),
  );
}

export function formatInterfaces(rows: Interface[]): string {
  return table(
    ['INTERFACE', 'STATE', 'COST', 'SPLIT-HORIZON', 'AUTH', 'IN', 'OUT', 'TRIGGERED', 'REQ-IN', 'DROPS'],
    rows.map((i) => [
      i.name,
      `${i.up ? 'up' : 'down'}${i.passive ? ' passive' : ''}`,
      i.cost,
      i.splitHorizon,
      i.authentication,
      i.inResponses,
      i.outResponses,
      i.triggeredUpdates,
      i.inRequests,
      Object.entries(i.drops)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || '-',
    ]),
  );
}

export function formatNeighbors(rows: Neighbor[]): string {
  return table(
    ['NEIGHBOR', 'INTERFACE', 'LAST-HEARD', 'RESPONSES', 'BAD-PACKETS', 'BAD-ROUTES', 'SEQUENCE'],
    rows.map((n) => [
      n.address,
      n.interface,
      secs(n.lastSeen),
      n.responses,
      n.badPackets,
      n.badRoutes,
      n.sequence ?? '-',
    ]),
  );
}
