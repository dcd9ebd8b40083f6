import { mkdirSync, readFileSync } from 'node:fs';
import { formatConfigErrors, parseConfig, type RouterConfig } from '@nexthop/config';
import { ControlRequestError, ControlServer, controlSocketPath } from '@nexthop/control';
import type { LinkStats } from '@nexthop/interface';
import type { ArpInfo, InterfaceInfo, RouteInfo, SocketInfo } from '@nexthop/stack';
import pino from 'pino';
import { VirtualRouter } from './router.ts';

export interface VrProcessOptions {
  configPath: string;
  /** Router to run; may be omitted when the file has exactly one. */
  name?: string;
  runDir: string;
}

/** Reads the config and picks the router, or explains in one line why it cannot. */
export function loadRouterConfig(configPath: string, name: string | undefined): RouterConfig {
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${configPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const parsed = parseConfig(text);
  if (!parsed.ok) throw new Error(`invalid configuration:\n${formatConfigErrors(parsed.errors, configPath)}`);
  const routers = parsed.config.routers;
  if (name === undefined) {
    if (routers.length !== 1) {
      throw new Error(
        `${configPath} has ${routers.length} routers (${routers.map((r) => r.name).join(', ')}): pick one with --name`,
      );
    }
    return routers[0]!;
  }
  const router = routers.find((r) => r.name === name);
  if (router === undefined) {
    throw new Error(
      `${configPath} has no router '${name}' (it has: ${routers.map((r) => r.name).join(', ') || 'none'})`,
    );
  }
  return router;
}

/** Runs one VR in the foreground until SIGTERM or SIGINT. */
export async function runVrProcess(options: VrProcessOptions): Promise<void> {
  const config = loadRouterConfig(options.configPath, options.name);
  const logger = pino({ base: { vr: config.name, pid: process.pid } });
  const vr = new VirtualRouter({ config, logger });
  vr.start();
  mkdirSync(options.runDir, { recursive: true, mode: 0o755 });
  const socketPath = controlSocketPath(options.runDir, config.name);
  const control = await ControlServer.listen(socketPath, (method) => answer(vr, method));
  logger.info({ control: socketPath }, 'control socket ready');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    vr.stop();
    await control.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** What `show.interfaces` answers: the stack's view of each interface with its driver's. */
export type ShowInterface = InterfaceInfo & {
  device: string;
  driver: string;
  carrier: boolean;
  link: LinkStats;
};
export type ShowRoute = RouteInfo;
export type ShowArp = ArpInfo;
export type ShowSocket = SocketInfo;
export interface ShowCounters {
  stats: Record<string, number>;
  drops: Record<string, number>;
  links: Record<string, LinkStats>;
}

function answer(vr: VirtualRouter, method: string): unknown {
  const now = performance.now();
  switch (method) {
    case 'status':
      return { name: vr.name, pid: process.pid, uptimeMs: Date.now() - vr.startedAt };
    case 'show.interfaces': {
      const links = vr.linkStats();
      return vr.stack.interfaces().map((i): ShowInterface => {
        const link = links[i.index]!;
        return { ...i, device: link.device, driver: link.driver, carrier: link.up, link: link.stats };
      });
    }
    case 'show.routes':
      return vr.stack.routeList();
    case 'show.arp':
      return vr.stack.arpEntries(now);
    case 'show.sockets':
      return vr.stack.sockets.list() satisfies ShowSocket[];
    case 'show.counters': {
      const c = vr.stack.counters();
      Object.assign(c.stats, vr.stack.sockets.counters());
      const links: Record<string, LinkStats> = {};
      for (const l of vr.linkStats()) links[l.name] = l.stats;
      const counters: ShowCounters = { stats: c.stats, drops: c.drops, links };
      return counters;
    }
    default:
      throw new ControlRequestError('unknown_method', `unknown method '${method}'`);
  }
}
