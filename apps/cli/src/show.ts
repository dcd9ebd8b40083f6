import { ControlError, controlSocketPath, request } from '@nexthop/control';
import type { VrStatus } from '@nexthop/nexthopd';
import type { ShowCounters } from '@nexthop/vr';
import { type ApiClient, apiSocketPath, connectApi, notRunning } from './api-client.ts';
import { apiFailure, CliError, vrFailure } from './errors.ts';
import {
  formatArp,
  formatArpByVr,
  formatCounters,
  formatCountersByVr,
  formatInterfaces,
  formatInterfacesByVr,
  formatNeighbors,
  formatNeighborsByVr,
  formatRoutes,
  formatRoutesByVr,
  formatSockets,
  formatSocketsByVr,
  formatVrs,
  tagRows,
  type VrRow,
} from './format.ts';

/** What a VR answers itself (control method `show.<what>`, API `GET /vrs/:vr/<what>`). */
export const VR_SHOWABLE = ['interfaces', 'routes', 'arp', 'neighbors', 'sockets', 'counters'] as const;
export type VrShowable = (typeof VR_SHOWABLE)[number];
export const SHOWABLE = ['vrs', ...VR_SHOWABLE] as const;

export interface ShowOptions {
  runDir: string;
  vr?: string;
  json: boolean;
  /** `show routes -4` / `-6`: that family's routes only; both when absent. */
  family?: 4 | 6;
  /** `show routes PREFIX`: that prefix's candidates only. */
  prefix?: string;
  /** `show routes for ADDRESS`: the route a packet to it takes. */
  lookup?: string;
}

/** The family `-4` / `-6` ask for; both together are a usage error. */
export function familyFlag(flags: { ipv4?: boolean; ipv6?: boolean }): 4 | 6 | undefined {
  if (flags.ipv4 === true && flags.ipv6 === true)
    throw new CliError('-4 and -6 exclude each other (leave both out for both families)', 2);
  return flags.ipv4 === true ? 4 : flags.ipv6 === true ? 6 : undefined;
}

/** The text to print, and the VRs that could not be asked (each one line for stderr). */
export interface ShowOutput {
  text: string;
  failures: string[];
}

const SINGLE: Record<VrShowable, (data: never) => string> = {
  interfaces: formatInterfaces,
  routes: formatRoutes,
  arp: formatArp,
  neighbors: formatNeighbors,
  sockets: formatSockets,
  counters: formatCounters,
};

const MULTI: Record<Exclude<VrShowable, 'counters'>, (rows: VrRow<never>[]) => string> = {
  interfaces: formatInterfacesByVr,
  routes: formatRoutesByVr,
  arp: formatArpByVr,
  neighbors: formatNeighborsByVr,
  sockets: formatSocketsByVr,
};

export function isShowable(what: string): what is (typeof SHOWABLE)[number] {
  return (SHOWABLE as readonly string[]).includes(what);
}

/**
 * Asks nexthopd when it answers on the run directory's socket, else the VR's own control socket.
 * The JSON printed is always the very data the table is made of, rows in the same order.
 */
export async function show(what: string, opts: ShowOptions): Promise<ShowOutput> {
  if (!isShowable(what)) throw new CliError(`cannot show '${what}': choose one of ${SHOWABLE.join(', ')}`, 2);
  if (opts.family !== undefined && what !== 'routes')
    throw new CliError(`-${opts.family} applies to show routes only, not show ${what}`, 2);
  if ((opts.prefix !== undefined || opts.lookup !== undefined) && what !== 'routes')
    throw new CliError(`a prefix or an address applies to show routes only, not show ${what}`, 2);
  const params: ShowParams = {
    ...(opts.family === undefined ? {} : { family: opts.family }),
    ...(opts.prefix === undefined ? {} : { prefix: opts.prefix }),
    ...(opts.lookup === undefined ? {} : { for: opts.lookup }),
  };
  const api = await connectApi(opts.runDir);
  if (what === 'vrs') {
    if (api === null) throw new CliError(notRunning(apiSocketPath(opts.runDir)));
    const vrs = await api.get<VrStatus[]>('/vrs').catch((err: unknown) => {
      throw apiFailure(err);
    });
    return { text: opts.json ? json(vrs) : formatVrs(vrs), failures: [] };
  }
  if (opts.vr !== undefined) {
    const data =
      api === null
        ? await fromControlSocket(opts.runDir, opts.vr, what, params)
        : await fromApi(api, opts.vr, what, params);
    return { text: opts.json ? json(data) : SINGLE[what](data as never), failures: [] };
  }
  if (api === null) {
    throw new CliError(
      `show ${what} needs --vr NAME when nexthopd is not running (no ${apiSocketPath(opts.runDir)})`,
      2,
    );
  }
  return showEveryVr(api, what, opts.json, params);
}

/** Parameters of a `show.<what>` request: the control socket's params, the API's query string. */
type ShowParams = { family?: 4 | 6; prefix?: string; for?: string };

async function showEveryVr(
  api: ApiClient,
  what: VrShowable,
  asJson: boolean,
  params: ShowParams,
): Promise<ShowOutput> {
  let vrs: VrStatus[];
  try {
    vrs = await api.get<VrStatus[]>('/vrs');
  } catch (err) {
    throw apiFailure(err);
  }
  const running = vrs.filter((v) => v.state === 'running');
  const answers = await Promise.allSettled(running.map((v) => fromApi(api, v.name, what, params)));
  const failures: string[] = [];
  const perVr: { vr: string; data: unknown }[] = [];
  answers.forEach((a, i) => {
    const vr = running[i]!.name;
    if (a.status === 'fulfilled') perVr.push({ vr, data: a.value });
    else failures.push(a.reason instanceof Error ? a.reason.message : String(a.reason));
  });
  if (what === 'counters') {
    const byVr: Record<string, ShowCounters> = {};
    for (const { vr, data } of perVr) byVr[vr] = data as ShowCounters;
    return { text: asJson ? json(byVr) : formatCountersByVr(byVr), failures };
  }
  const rows = tagRows(perVr.map(({ vr, data }) => ({ vr, rows: data as object[] })));
  return { text: asJson ? json(rows) : MULTI[what](rows as VrRow<never>[]), failures };
}

async function fromApi(api: ApiClient, vr: string, what: VrShowable, params: ShowParams): Promise<unknown> {
  const q = new URLSearchParams();
  if (params.family !== undefined) q.set('family', String(params.family));
  if (params.prefix !== undefined) q.set('prefix', params.prefix);
  if (params.for !== undefined) q.set('for', params.for);
  const query = q.size === 0 ? '' : `?${q}`;
  try {
    return await api.get(`/vrs/${encodeURIComponent(vr)}/${what}${query}`);
  } catch (err) {
    throw vrFailure(vr, err);
  }
}

async function fromControlSocket(
  runDir: string,
  vr: string,
  what: VrShowable,
  params: ShowParams,
): Promise<unknown> {
  try {
    return await request(controlSocketPath(runDir, vr), `show.${what}`, params);
  } catch (err) {
    if (err instanceof ControlError) throw vrFailure(vr, err);
    throw err;
  }
}

function json(data: unknown): string {
  return JSON.stringify(data, null, 2);
}
