import { ControlError, controlSocketPath, request } from '@nexthop/control';
import { apiSocketPath, connectApi, notRunning } from './api-client.ts';
import { CliError, vrFailure } from './errors.ts';
import { table } from './format.ts';

// `nexthop show bfd`: the VR's BFD sessions, asked of nexthopd (GET /vrs/:vr/bfd) or, when it does
// not run, of the VR's control socket (show.bfd).

export interface ShowBfdOptions {
  runDir: string;
  vr?: string;
  json: boolean;
}

interface Session {
  peer: string;
  local: string;
  interface: string;
  state: string;
  remoteState: string;
  diagnostic: string;
  localDiscriminator: number;
  remoteDiscriminator: number;
  txIntervalMs: number;
  detectionTimeMs: number;
  detectMultiplier: number;
  upForMs: number | null;
  clients: string[];
  counters: { rx: number; tx: number; up: number; down: number };
}

interface Show {
  sessions: Session[];
  drops: Record<string, number>;
}

export async function showBfd(opts: ShowBfdOptions): Promise<string> {
  const vr = opts.vr ?? (await onlyVr(opts.runDir));
  const data = (await ask(opts.runDir, vr)) as Show;
  if (opts.json) return JSON.stringify(data, null, 2);
  const rows = table(
    ['PEER', 'INTERFACE', 'STATE', 'REMOTE', 'DIAG', 'TX', 'DETECT', 'UP FOR', 'FLAPS', 'CLIENTS'],
    data.sessions.map((s) => [
      s.peer,
      s.interface,
      s.state,
      s.remoteState,
      s.diagnostic === 'none' ? '-' : s.diagnostic,
      `${s.txIntervalMs}ms`,
      `${s.detectionTimeMs}ms`,
      s.upForMs === null ? '-' : `${(s.upForMs / 1000).toFixed(1)}s`,
      s.counters.down,
      s.clients.join(','),
    ]),
  );
  const drops = Object.entries(data.drops).filter(([, n]) => n > 0);
  return drops.length === 0 ? rows : `${rows}\ndrops: ${drops.map(([k, n]) => `${k} ${n}`).join(', ')}`;
}

async function onlyVr(runDir: string): Promise<string> {
  const api = await connectApi(runDir);
  if (api === null) throw new CliError(`show bfd needs --vr NAME (${notRunning(apiSocketPath(runDir))})`, 2);
  const vrs = await api.get<{ name: string; state: string }[]>('/vrs');
  const running = vrs.filter((v) => v.state === 'running');
  if (running.length !== 1)
    throw new CliError(`show bfd needs --vr NAME: nexthopd runs ${running.length} VRs`, 2);
  return running[0]!.name;
}

async function ask(runDir: string, vr: string): Promise<unknown> {
  const api = await connectApi(runDir);
  try {
    if (api === null) return await request(controlSocketPath(runDir, vr), 'show.bfd');
    return await api.get(`/vrs/${encodeURIComponent(vr)}/bfd`);
  } catch (err) {
    if (err instanceof ControlError || err instanceof Error) throw vrFailure(vr, err);
    throw err;
  }
}
