import { existsSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import {
  formatIpv4,
  formatIpv6,
  formatIpv6Prefix,
  formatPrefix,
  ipv4Mask,
  maskIpv6,
  parseIpv6,
  tryParseIpv4,
  tryParseIpv6,
  tryParseIpv6Prefix,
  tryParsePrefix,
} from '@nexthop/addr';
import { formatConfigErrors, parseConfig, type RouterConfig } from '@nexthop/config';
import { ControlRequestError, ControlServer, controlSocketPath, ensureRunDir } from '@nexthop/control';
import type { LinkStats } from '@nexthop/interface';
import { DEFAULT_SNAPLEN } from '@nexthop/pcap';
import { type RsockOwner, RsockServer } from '@nexthop/rsock-server';
import type { ArpInfo, InterfaceInfo, RouteInfo, SocketInfo } from '@nexthop/stack';
import pino, { type Logger } from 'pino';
import YAML from 'yaml';
import { CAPTURE_DEFAULT_COUNT, CAPTURE_MAX_RUNNING } from './capture.ts';
import { ConfigApplyError, VirtualRouter } from './router.ts';

/** How often a VR whose manager went away looks whether any of its devices is still there. */
const ORPHAN_CHECK_MS = 1000;

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

/** Whether a kernel network device exists (afpacket devices are checked when a config is applied). */
export function hostDeviceExists(device: string): boolean {
  return existsSync(`/sys/class/net/${device}`);
}

/** The YAML of one router as the VR runs it: the format of `<run-dir>/<name>.yaml`. */
export function routerConfigText(config: RouterConfig): string {
  return YAML.stringify({ routers: { [config.name]: config.raw } });
}

/**
 * The process's niceness. A VR competing for the CPU reads its receive rings late and loses frames
 * when they fill (docs/PERFORMANCE.md, router manager): a negative value lets forwarding go first.
 * Lowering it needs root (CAP_SYS_NICE); without, the VR runs on and says so.
 */
function setNice(nice: number, logger: Logger): void {
  try {
    setPriority(nice);
    logger.info({ nice }, 'scheduling priority set');
  } catch (err) {
    logger.warn({ nice, err: (err as Error).message }, 'cannot set the scheduling priority');
  }
}

/**
 * Runs one VR in the foreground until SIGTERM or SIGINT. Started by nexthopd (an IPC channel is
 * there), it reports `{type: 'ready', pid}` once its control socket listens, and keeps forwarding
 * when the channel goes away (a crashed manager); the next nexthopd adopts it.
 */
export async function runVrProcess(options: VrProcessOptions): Promise<void> {
  const config = loadRouterConfig(options.configPath, options.name);
  // `ps` and `top` name the VR (as FRR's and BIRD's daemons name themselves).
  process.title = `nexthop-vr: ${config.name}`;
  const logger = pino({ base: { vr: config.name, pid: process.pid } });
  // 0 (the default) leaves the process as it was started.
  if (config.nice !== 0) setNice(config.nice, logger);
  const vr = new VirtualRouter({ config, logger, runDir: options.runDir });
  vr.start();
  // Its sockets are created with their final mode in a directory only root or we can write to (§9).
  ensureRunDir(options.runDir);
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
  vr.onPolicyChange = (next) => rsock.setPolicy(next.access, next.quotas);
  vr.onPriorityChange = (nice) => setNice(nice, logger);
  const control = await ControlServer.listen(socketPath, (method, params) =>
    answer({ vr, rsock, logger }, method, params),
  );
  logger.info({ control: socketPath, sockets: rsockPath }, 'control socket ready');

  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'stopping');
    rsock.close();
    vr.stop();
    await control.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  if (process.send !== undefined) {
    // Forwarding does not depend on the manager: a VR whose nexthopd died runs on, and the next
    // nexthopd adopts it through its control socket (nexthopd stops its VRs itself when told to).
    process.on('disconnect', () => {
      logger.warn('the manager went away (IPC channel closed); running on');
      // Unless there is nothing left to route: with no manager and none of its devices (their
      // namespace was torn down), a VR would only linger.
      const gone = setInterval(() => {
        const devices = vr.currentConfig.interfaces.flatMap((i) =>
          i.device === undefined ? [] : [i.device],
        );
        if (devices.length > 0 && devices.every((d) => !hostDeviceExists(d))) {
          clearInterval(gone);
          void stop('no manager and none of its devices left');
        }
      }, ORPHAN_CHECK_MS);
      gone.unref();
    });
    // Its stderr was a pipe to that manager: a write there must not take the VR down.
    process.stderr.on('error', () => {});
    process.send({ type: 'ready', pid: process.pid });
  }
}

/** What `status` answers. */
export interface VrStatusReply {
  name: string;
  pid: number;
  uptimeMs: number;
  /** Epoch milliseconds. */
  startedAt: number;
  rssBytes: number;
  fibRoutes: number;
  sockets: number;
  rsockClients: number;
}

/** What `show.interfaces` answers: the stack's view of each interface with its driver's. */
export type ShowInterface = InterfaceInfo & {
  device: string;
  driver: string;
  carrier: boolean;
  link: LinkStats;
};
/**
 * A route of either family, IPv4 ones first (`show.routes` takes `family: 4 | 6` to keep one): the
 * stack's own (connected, local, static) and those of the routing protocols.
 */
export type ShowRoute = Omit<RouteInfo, 'protocol'> & {
  protocol: RouteInfo['protocol'] | 'bgp' | 'rip' | 'ospf';
  family: 4 | 6;
};
export type ShowArp = ArpInfo;
/** A neighbour of either family: ARP and NDP entries in one list, as `ip neigh` shows them. */
export type ShowNeighbor = ReturnType<VirtualRouter['stack']['neighbors']>[number];
/** A socket row; `owner` names the remote client holding it (remote sockets only). */
export type ShowSocket = SocketInfo & { owner?: RsockOwner };
export interface ShowCounters {
  /** Every counter by name: the IPv4 ones first, then the IPv6 ones, then those of neither or both. */
  stats: Record<string, number>;
  /**
   * The family of each stat that counts one only (`forwarded` 4, `ipv6_forwarded` 6); stats left out
   * (sockets, TCP segmentation, the remote socket API) count both or neither.
   */
  family: Record<string, 4 | 6>;
  /** Drops by reason; each reason's name says its protocol (`ipv4_no_route`, `ndp_bad_source`…). */
  drops: Record<string, number>;
  links: Record<string, LinkStats>;
}

export interface ControlContext {
  vr: VirtualRouter;
  /** Absent in tests that run a VR without the remote socket server. */
  rsock?: RsockServer;
  logger: Logger;
  /** Whether a kernel device exists; the host's /sys/class/net unless told. */
  deviceExists?: (device: string) => boolean;
}

/** Answers one control request (docs: notes/issue5-design.md §A). */
export async function answer(
  ctx: ControlContext,
  method: string,
  params: Record<string, unknown> = {},
): Promise<unknown> {
  const { vr, rsock } = ctx;
  const now = performance.now();
  switch (method) {
    case 'status': {
      const status: VrStatusReply = {
        name: vr.name,
        pid: process.pid,
        uptimeMs: Date.now() - vr.startedAt,
        startedAt: vr.startedAt,
        rssBytes: process.memoryUsage.rss(),
        fibRoutes: vr.stack.fib.size,
        sockets: vr.stack.sockets.size,
        rsockClients: rsock?.counters().rsock_connections ?? 0,
      };
      return status;
    }
    case 'config.get':
      return { text: routerConfigText(vr.currentConfig) };
    case 'config.apply':
      return applyConfig(ctx, params);
    case 'capture.start':
      return captureStart(vr, params);
    case 'capture.read': {
      const id = intParam(params, 'id', 1, Number.MAX_SAFE_INTEGER);
      // Longer waits are cut to 2 s so that a reader never holds a control connection for long.
      const waitMs = Math.min(intParam(params, 'waitMs', 0, Number.MAX_SAFE_INTEGER, 500)!, 2000);
      const result = await vr.captures.read(id!, waitMs);
      if (result === null) throw new ControlRequestError('not_found', `no capture ${id}`);
      return result;
    }
    case 'capture.stop': {
      const id = intParam(params, 'id', 1, Number.MAX_SAFE_INTEGER);
      const result = vr.captures.stop(id!);
      if (result === null) throw new ControlRequestError('not_found', `no capture ${id}`);
      return result;
    }
    case 'show.interfaces': {
      const links = new Map(vr.linkStats().map((l) => [l.index, l]));
      return vr.stack.interfaces().map((i): ShowInterface => {
        const link = links.get(i.index)!;
        return { ...i, device: link.device, driver: link.driver, carrier: link.up, link: link.stats };
      });
    }
    case 'show.routes':
      return showRoutes(vr, params);
    case 'show.bgp':
      return showBgp(vr, params, now);
    case 'show.rip':
      return showRip(vr, params, now);
    case 'show.ospf':
      return showOspf(vr, params, now);
    case 'show.bfd': {
      const bfd = vr.bfdInstance;
      if (bfd === null) throw new ControlRequestError('not_found', `BFD is not configured on VR ${vr.name}`);
      return bfd.show(now);
    }
    case 'show.arp':
      return vr.stack.arpEntries(now);
    case 'show.neighbors':
      return vr.stack.neighbors(now);
    case 'show.sockets':
      return vr.stack.sockets.list().map((row): ShowSocket => {
        const owner = row.fd >= 0 && rsock !== undefined ? rsock.ownerOf(row.fd) : null;
        return owner === null ? row : { ...row, owner };
      });
    case 'show.counters': {
      const c = vr.stack.counters();
      // What the stack's own list lacks of IPv6: its FIB's size and its neighbour table's.
      const ndpEntries = vr.stack.neighbors(now).filter((n) => n.family === 6).length;
      Object.assign(
        c.stats,
        { ipv6_fib_routes: vr.stack.fib6.size, ndp_entries: ndpEntries },
        vr.stack.sockets.counters(),
        rsock?.counters() ?? {},
      );
      const links: Record<string, LinkStats> = {};
      for (const l of vr.linkStats()) links[l.name] = l.stats;
      return { ...byFamily(c.stats), drops: c.drops, links } satisfies ShowCounters;
    }
    default:
      throw new ControlRequestError('unknown_method', `unknown method '${method}'`);
  }
}

/** The address family of a route, by its prefix's text. */
function routeFamily(prefix: string): 4 | 6 {
  return prefix.includes(':') ? 6 : 4;
}

/** `params.family`: absent for both families, else 4 or 6. */
function familyParam(params: Record<string, unknown>): 4 | 6 | undefined {
  const family = params['family'];
  if (family === undefined || family === null) return undefined;
  if (family !== 4 && family !== 6) {
    throw new ControlRequestError(
      'bad_request',
      `params.family must be 4 or 6 (got ${JSON.stringify(family)})`,
    );
  }
  return family;
}

/**
 * `show.routes`: every route of both families, or of `family`; with `prefix`, the candidates for
 * that prefix (every source's route, the selected ones flagged), as `show ip route PREFIX` in FRR.
 */
function showRoutes(vr: VirtualRouter, params: Record<string, unknown>): ShowRoute[] {
  const family = familyParam(params);
  const now = performance.now();
  const lookup = params['for'];
  // `for`: the route a packet to that address takes (as `ip route get`): the longest selected prefix.
  const prefix =
    lookup === undefined || lookup === null ? prefixParam(params) : longestMatch(vr, lookup, now);
  if (prefix === null) return [];
  // The stack lists IPv4 routes, then IPv6 ones, each by prefix; the protocols' routes join them.
  const rows: ShowRoute[] = vr.stack.routeList(now).map((r) => ({ ...r, family: routeFamily(r.prefix) }));
  const protocolRows = protocolRoutes(vr, now);
  if (protocolRows.length > 0) {
    rows.push(...protocolRows);
    rows.sort(byFamilyAndPrefix);
  }
  return rows.filter(
    (r) =>
      (family === undefined || r.family === family) &&
      (prefix === undefined || r.prefix === prefix) &&
      (lookup === undefined || lookup === null || r.selected),
  );
}

/** The longest prefix with a selected route holding `address` (RIB lookups from /32 or /128 down), or null. */
function longestMatch(vr: VirtualRouter, address: unknown, now: number): string | null {
  if (typeof address !== 'string')
    throw new ControlRequestError(
      'bad_request',
      'params.for must be an address like 10.1.2.3 or 2001:db8::1',
    );
  const v4 = tryParseIpv4(address);
  if (v4 !== undefined) {
    for (let len = 32; len >= 0; len--) {
      const network = (v4 & ipv4Mask(len)) >>> 0;
      if (vr.stack.rib.v4.show(network, len, now).some((r) => r.selected))
        return `${formatIpv4(network)}/${len}`;
    }
    return null;
  }
  const v6 = tryParseIpv6(address);
  if (v6 === undefined)
    throw new ControlRequestError('bad_request', `params.for: ${JSON.stringify(address)} is not an address`);
  for (let len = 128; len >= 0; len--) {
    const network = v6.slice();
    maskIpv6(network, 0, len);
    if (vr.stack.rib.v6.show(network, len, now).some((r) => r.selected))
      return `${formatIpv6(network)}/${len}`;
  }
  return null;
}

/** `params.prefix` in the form routes are listed in (`10.1.0.0/16`, `2001:db8::/32`), or undefined. */
function prefixParam(params: Record<string, unknown>): string | undefined {
  const text = params['prefix'];
  if (text === undefined || text === null) return undefined;
  const bad = (why: string) =>
    new ControlRequestError('bad_request', `params.prefix: ${JSON.stringify(text)} is not a prefix (${why})`);
  if (typeof text !== 'string') throw bad('not a string');
  if (text.includes(':')) {
    const v6 = tryParseIpv6Prefix(text);
    if (typeof v6 === 'string') throw bad(v6);
    return formatIpv6Prefix(v6.prefix);
  }
  const v4 = tryParsePrefix(text);
  if (typeof v4 === 'string') throw bad(v4);
  return formatPrefix(v4.prefix);
}

/** The RIB's routes of the routing protocols, in the rows the stack gives its own. */
function protocolRoutes(vr: VirtualRouter, now: number): ShowRoute[] {
  if (
    vr.bgpInstance === null &&
    vr.ripInstance(4) === null &&
    vr.ripInstance(6) === null &&
    vr.ospfInstance === null &&
    vr.ospf6Instance === null
  )
    return [];
  const rib = vr.stack.rib;
  const rows: ShowRoute[] = [];
  const names = new Map(vr.stack.interfaces().map((i) => [i.index, i.name]));
  for (const [family, routes] of [
    [4, rib.v4.routes(now)],
    [6, rib.v6.routes(now)],
  ] as const) {
    for (const r of routes) {
      if (r.source.kind !== 'bgp' && r.source.kind !== 'rip' && r.source.kind !== 'ospf') continue;
      const hop = r.nextHops[0];
      const hops = r.nextHops.flatMap((h) =>
        h.hops.map((x) => ({ gateway: x.gateway, interface: names.get(x.ifIndex) ?? `if${x.ifIndex}` })),
      );
      rows.push({
        prefix: r.prefix,
        protocol: r.source.kind,
        type: 'unicast',
        via: hop?.gateway ?? null,
        interface: hops[0]?.interface ?? null,
        distance: r.distance,
        selected: r.selected,
        active: r.active,
        metric: r.metric,
        resolvedVia: hop?.via ?? null,
        hops,
        age: r.age,
        family,
      });
    }
  }
  return rows;
}

function byFamilyAndPrefix(a: ShowRoute, b: ShowRoute): number {
  if (a.family !== b.family) return a.family - b.family;
  const pa = prefixOrder(a.prefix);
  const pb = prefixOrder(b.prefix);
  for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return 0;
}

/** A prefix as numbers that sort as the prefixes do: the address's octets, then the length. */
function prefixOrder(prefix: string): number[] {
  const [addr, len] = prefix.split('/') as [string, string];
  const octets = addr.includes(':') ? [...parseIpv6(addr)] : addr.split('.').map(Number);
  return [...octets, Number(len)];
}

/**
 * `show.ospf`: `what` is summary (the default), interfaces, neighbors, database or routes; `version`
 * 2 (the default, the `ospf` section) or 3 (OSPFv3, the `ospf6` section).
 */
function showOspf(vr: VirtualRouter, params: Record<string, unknown>, now: number): unknown {
  const version = params['version'] ?? 2;
  if (version !== 2 && version !== 3 && version !== '2' && version !== '3')
    throw new ControlRequestError(
      'bad_request',
      `params.version must be 2 or 3 (got ${JSON.stringify(version)})`,
    );
  const v3 = version === 3 || version === '3';
  const ospf = v3 ? vr.ospf6Instance : vr.ospfInstance;
  if (ospf === null)
    throw new ControlRequestError('not_found', `OSPF${v3 ? 'v3' : ''} is not configured on VR ${vr.name}`);
  const what = params['what'] ?? 'summary';
  switch (what) {
    case 'summary':
      return ospf.show(now);
    case 'interfaces':
      return ospf.interfaces();
    case 'neighbors':
      return ospf.neighbors(now);
    case 'database':
      return ospf.database(now);
    case 'routes':
      return ospf.routes();
    default:
      throw new ControlRequestError(
        'bad_request',
        `params.what must be summary, interfaces, neighbors, database or routes (got ${JSON.stringify(what)})`,
      );
  }
}

/**
 * `show.rip`: the RIPv2 and RIPng instances the VR runs (`protocol` keeps one: rip or ripng), all of
 * their state or, with `what`, one part of it: routes, interfaces (with counters) or neighbors.
 */
function showRip(vr: VirtualRouter, params: Record<string, unknown>, now: number): unknown {
  const which = params['protocol'];
  if (which !== undefined && which !== null && which !== 'rip' && which !== 'ripng')
    throw new ControlRequestError(
      'bad_request',
      `params.protocol must be rip or ripng (got ${JSON.stringify(which)})`,
    );
  const what = params['what'] ?? 'all';
  if (what !== 'all' && what !== 'routes' && what !== 'interfaces' && what !== 'neighbors')
    throw new ControlRequestError(
      'bad_request',
      `params.what must be routes, interfaces or neighbors (got ${JSON.stringify(what)})`,
    );
  const out: Record<string, unknown> = {};
  for (const [name, family] of [
    ['rip', 4],
    ['ripng', 6],
  ] as const) {
    if (which !== undefined && which !== null && which !== name) continue;
    const rip = vr.ripInstance(family);
    if (rip === null) continue;
    const show = rip.show(now);
    out[name] = what === 'all' ? show : show[what];
  }
  if (Object.keys(out).length === 0)
    throw new ControlRequestError(
      'not_found',
      `${which === 'ripng' ? 'RIPng is' : which === 'rip' ? 'RIP is' : 'neither RIP nor RIPng is'} configured on VR ${vr.name}`,
    );
  return out;
}

/** Rows `show.bgp routes` gives unless asked for more: a full table is a million of them. */
const BGP_ROUTES_LIMIT = 10_000;

/** `show.bgp`: `what` is summary (the default), neighbors (`neighbor` keeps one) or routes (`prefix`). */
function showBgp(vr: VirtualRouter, params: Record<string, unknown>, now: number): unknown {
  const bgp = vr.bgpInstance;
  if (bgp === null) throw new ControlRequestError('not_found', `BGP is not configured on VR ${vr.name}`);
  const what = params['what'] ?? 'summary';
  const show = bgp.show(now);
  switch (what) {
    case 'summary':
      return {
        ...show,
        peers: show.peers.map((p) => ({
          name: p.name,
          address: p.address,
          remoteAs: p.remoteAs,
          type: p.type,
          state: p.state,
          uptime: p.uptime,
          prefixes: p.prefixes,
          messagesIn: p.counters['messagesIn'],
          messagesOut: p.counters['messagesOut'],
          lastError: p.lastError,
        })),
      };
    case 'neighbors': {
      const name = params['neighbor'];
      if (name === undefined || name === null) return show.peers;
      const peer = show.peers.find((p) => p.name === name || p.address === name);
      if (peer === undefined)
        throw new ControlRequestError('not_found', `no BGP neighbor ${String(name)} on VR ${vr.name}`);
      return [peer];
    }
    case 'routes': {
      const prefix = params['prefix'];
      if (prefix !== undefined && prefix !== null && typeof prefix !== 'string')
        throw new ControlRequestError('bad_request', 'params.prefix must be a prefix like 10.0.0.0/8');
      const limit = params['limit'] ?? BGP_ROUTES_LIMIT;
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1)
        throw new ControlRequestError('bad_request', 'params.limit must be a positive integer');
      return bgp.routes(now, typeof prefix === 'string' ? prefix : undefined, limit);
    }
    default:
      throw new ControlRequestError(
        'bad_request',
        `params.what must be summary, neighbors or routes (got ${JSON.stringify(what)})`,
      );
  }
}

/** The stack's IPv4 stats whose names do not say so (those of IPv6 do: IPV6_STAT below). */
const IPV4_STATS = new Set([
  'forwarded',
  'delivered',
  'echo_replies_sent',
  'icmp_errors_sent',
  'arp_requests_sent',
  'arp_replies_sent',
  'fragments_created',
  'packets_fragmented',
  'datagrams_reassembled',
  'fragments_received',
  'arp_queued',
  'echo_requests_sent',
  'icmp_received',
  'arp_ignored',
  'fib_routes',
  'arp_entries',
  'reassembly_pending',
]);
/** IPv6 and its protocols: ICMPv6, Neighbor Discovery (NS, NA, RS, RA, redirects), DAD, MLD. */
const IPV6_STAT = /^(ipv6_|icmpv6_|echo6_|ndp_|ns_|na_|rs_|ra_|dad_|mld_|redirects_)/;

/** The family of a stat that counts one only, else undefined. */
function statFamily(name: string): 4 | 6 | undefined {
  if (IPV4_STATS.has(name)) return 4;
  if (IPV6_STAT.test(name)) return 6;
  return undefined;
}

/** The stats reordered IPv4, IPv6, the rest (each in the order given), with the family of each. */
function byFamily(stats: Record<string, number>): Pick<ShowCounters, 'stats' | 'family'> {
  const groups: [string, number][][] = [[], [], []];
  const family: Record<string, 4 | 6> = {};
  for (const [name, value] of Object.entries(stats)) {
    const f = statFamily(name);
    if (f !== undefined) family[name] = f;
    groups[f === 4 ? 0 : f === 6 ? 1 : 2]!.push([name, value]);
  }
  return { stats: Object.fromEntries(groups.flat()), family };
}

function applyConfig(ctx: ControlContext, params: Record<string, unknown>): { changes: string[] } {
  const text = params['text'];
  if (typeof text !== 'string')
    throw new ControlRequestError('bad_request', 'config.apply needs params.text');
  const parsed = parseConfig(text, { deviceExists: ctx.deviceExists ?? hostDeviceExists });
  if (!parsed.ok) {
    throw new ControlRequestError('invalid_config', formatConfigErrors(parsed.errors, `${ctx.vr.name}.yaml`));
  }
  const routers = parsed.config.routers;
  if (routers.length !== 1 || routers[0]!.name !== ctx.vr.name) {
    throw new ControlRequestError(
      'wrong_router',
      `the configuration must hold exactly router '${ctx.vr.name}' (it has: ${routers.map((r) => r.name).join(', ') || 'none'})`,
    );
  }
  try {
    return { changes: ctx.vr.apply(routers[0]!) };
  } catch (err) {
    if (err instanceof ConfigApplyError) {
      ctx.logger.warn({ error: err.message }, 'configuration rejected');
      throw new ControlRequestError('apply_failed', err.message);
    }
    throw err;
  }
}

function captureStart(vr: VirtualRouter, params: Record<string, unknown>): { id: number } {
  const name = params['interface'];
  if (typeof name !== 'string')
    throw new ControlRequestError('bad_request', 'capture.start needs params.interface');
  const ifIndex = vr.interfaceIndex(name);
  if (ifIndex < 0) throw new ControlRequestError('not_found', `VR ${vr.name} has no interface '${name}'`);
  const count = intParam(params, 'count', 1, 1_000_000, CAPTURE_DEFAULT_COUNT)!;
  const snaplen = intParam(params, 'snaplen', 1, DEFAULT_SNAPLEN, DEFAULT_SNAPLEN)!;
  const id = vr.captures.start(ifIndex, count, snaplen);
  if (id === null) {
    throw new ControlRequestError(
      'too_many_captures',
      `VR ${vr.name} already runs ${CAPTURE_MAX_RUNNING} captures; stop one first`,
    );
  }
  return { id };
}

/** An integer parameter in [min, max]; `fallback` when absent (a missing one without it is an error). */
function intParam(
  params: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  fallback?: number,
): number | undefined {
  const value = params[name];
  if (value === undefined || value === null) {
    if (fallback === undefined) throw new ControlRequestError('bad_request', `params.${name} is required`);
    return fallback;
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ControlRequestError('bad_request', `params.${name} must be an integer in ${min}..${max}`);
  }
  return value;
}
