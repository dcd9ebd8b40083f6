import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatConfigErrors, parseConfig, type RouterConfig } from '@nexthop/config';
import { ControlRequestError, ControlServer, controlSocketPath } from '@nexthop/control';
import type { LinkStats } from '@nexthop/interface';
import { type RsockOwner, RsockServer } from '@nexthop/rsock-server';
import type { ArpInfo, InterfaceInfo, RouteInfo, SocketInfo } from '@nexthop/stack';
import pino from 'pino';
import { VirtualRouter } from './router.ts';

/** The remote socket API's control socket of a VR (docs/remote-socket-protocol.md §1). */
export function rsockSocketPath(runDir: string, vr: string): string {
  return join(runDir, `${vr}.sock`);
}

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
  const rsockPath = rsockSocketPath(options.runDir, config.name);
  const rsock = RsockServer.listen(rsockPath, {
    vrName: config.name,
    sockets: vr.stack.sockets,
    access: config.access,
    quotas: config.quotas,
    clock: () => performance.now(),
    afterStackCall: () => vr.afterStackCall(),
    log: (message, fields) => logger.info(fields, message),
  });
  vr.addSocketUser((fd, events) => rsock.onSocketEvent(fd, events));
  const control = await ControlServer.listen(socketPath, (method) => answer(vr, rsock, method));
  logger.info({ control: socketPath, sockets: rsockPath }, 'control socket ready');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    rsock.close();
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
/** A socket row; `owner` names the remote client holding it (remote sockets only). */
export type ShowSocket = SocketInfo & { owner?: RsockOwner };
export interface ShowCounters {
  stats: Record<string, number>;
  drops: Record<string, number>;
  links: Record<string, LinkStats>;
}

function answer(vr: VirtualRouter, rsock: RsockServer, method: string): unknown {
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
      return vr.stack.sockets.list().map((row): ShowSocket => {
        const owner = row.fd >= 0 ? rsock.ownerOf(row.fd) : null;
        return owner === null ? row : { ...row, owner };
      });
    case 'show.counters': {
      const c = vr.stack.counters();
      Object.assign(c.stats, vr.stack.sockets.counters(), rsock.counters());
      const links: Record<string, LinkStats> = {};
      for (const l of vr.linkStats()) links[l.name] = l.stats;
      const counters: ShowCounters = { stats: c.stats, drops: c.drops, links };
      return counters;
    }
    default:
      throw new ControlRequestError('unknown_method', `unknown method '${method}'`);
  }
}
