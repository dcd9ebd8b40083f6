import {
  formatIpv4,
  formatIpv6,
  formatIpv6Prefix,
  formatPrefix,
  type Ipv4Prefix,
  ipv4Mask,
  parseMac,
  tryParseIpv4,
  tryParsePrefix,
} from '@nexthop/addr';
import type { RawIssue } from './messages.ts';
import type { RawConfig, RawRouter } from './schema.ts';
import { normalizeBfd } from './semantic-bfd.ts';
import { normalizeBgp, normalizePolicies } from './semantic-bgp.ts';
import { normalizeOspf } from './semantic-ospf.ts';
import { normalizeRip } from './semantic-rip.ts';
import { acceptAddress6, normalizeRa, parseAddress6, parseRoute6 } from './semantic6.ts';
import type {
  InterfaceAddress,
  InterfaceAddress6,
  InterfaceConfig,
  ManagerConfig,
  NexthopConfig,
  ParseOptions,
  QuotasConfig,
  Route6Config,
  RouteConfig,
  RouteKind,
  RouterConfig,
} from './types.ts';

// Checks that need arithmetic or cross-references, run on a value that already passed the schema,
// and the conversion to the normalized form.

/** Why an address cannot be a unicast host address, or undefined when it can. */
export function notUnicast(addr: number): string | undefined {
  const first = addr >>> 24;
  if (first === 0) return 'is in 0.0.0.0/8 ("this network", RFC 1122 §3.2.1.3)';
  if (first === 127) return 'is a loopback address (RFC 1122 §3.2.1.3)';
  if (first >= 224 && first <= 239) return 'is a multicast address (RFC 5771)';
  if (first >= 240) return 'is a reserved or broadcast address (RFC 1112 §4)';
  return undefined;
}

function overlaps(a: Ipv4Prefix, b: Ipv4Prefix): boolean {
  const length = Math.min(a.length, b.length);
  const mask = ipv4Mask(length);
  return (a.network & mask) >>> 0 === (b.network & mask) >>> 0;
}

interface DeviceUse {
  router: string;
  iface: string;
}

/**
 * 1,024 sockets a client as a process's default RLIMIT_NOFILE. A socket's buffers are charged at what
 * they can hold (docs/remote-socket-protocol.md §4): 640 KiB for TCP and 416 KiB for UDP at the
 * default sizes, so 256 MiB is some 400 TCP sockets of one client at their fullest (raise it for a
 * busy server). 64 control connections a client (one a process that talks to the VR), 1,024 in all.
 */
export const DEFAULT_QUOTAS: QuotasConfig = {
  clientSockets: 1024,
  clientBufferedBytes: 256 * 1024 * 1024,
  sockets: 16384,
  bufferedBytes: 1024 * 1024 * 1024,
  clientConnections: 64,
  connections: 1024,
};

export function checkAndNormalize(
  raw: RawConfig,
  options: ParseOptions = {},
): { config: NexthopConfig; issues: RawIssue[] } {
  const issues: RawIssue[] = [];
  const issue = (segments: string[], message: string, atKey = false): void => {
    issues.push({ segments, message, atKey });
  };
  const kernelDevices = new Map<string, DeviceUse>();
  const routers: RouterConfig[] = [];

  for (const [routerName, rawRouter] of Object.entries(raw.routers)) {
    const base = ['routers', routerName];
    const interfaces: InterfaceConfig[] = [];
    const connected: { iface: string; index: number; addr: InterfaceAddress }[] = [];
    const connected6: { iface: string; path: string; addr: InterfaceAddress6 }[] = [];

    for (const [ifName, rawIf] of Object.entries(rawRouter.interfaces)) {
      const ifPath = [...base, 'interfaces', ifName];
      const driver = rawIf.driver as InterfaceConfig['driver'];
      if (driver === 'pipe' && options.vrProcesses === true) {
        issue(
          [...ifPath, 'driver'],
          'the pipe driver exists only inside one process (tests, simulation); a VR process needs afpacket or tap',
        );
      }
      if (driver !== 'pipe') {
        if (rawIf.device === undefined) {
          issue(
            [...ifPath, 'device'],
            `missing required field 'device' (the kernel interface a ${driver} interface uses)`,
          );
        } else {
          const previous = kernelDevices.get(rawIf.device);
          if (previous !== undefined) {
            issue(
              [...ifPath, 'device'],
              `device '${rawIf.device}' is already used by routers.${previous.router}.interfaces.${previous.iface}`,
            );
          } else {
            kernelDevices.set(rawIf.device, { router: routerName, iface: ifName });
          }
          if (driver === 'afpacket' && options.deviceExists?.(rawIf.device) === false) {
            issue(
              [...ifPath, 'device'],
              `device '${rawIf.device}' does not exist on this host (see 'ip link show')`,
            );
          }
        }
      }

      const addresses: InterfaceAddress[] = [];
      const addresses6: InterfaceAddress6[] = [];
      nextAddress: for (const [index, text] of (rawIf.addresses ?? []).entries()) {
        const at = [...ifPath, 'addresses', String(index)];
        if (text.includes(':')) {
          const a = parseAddress6(text);
          if (typeof a === 'string') issue(at, a);
          else if (acceptAddress6(a, at, ifName, connected6, issue)) addresses6.push(a);
          continue;
        }
        const parsed = tryParsePrefix(text, true);
        if (typeof parsed === 'string') {
          issue(at, parsed);
          continue;
        }
        const { prefix, address } = parsed;
        if (prefix.length < 1) {
          issue(at, `prefix length must be 1..32 (got '${text}')`);
          continue;
        }
        const why = notUnicast(address);
        if (why !== undefined) {
          issue(at, `${formatIpv4(address)} ${why}`);
          continue;
        }
        if (prefix.length <= 30) {
          const host = (address & ~ipv4Mask(prefix.length)) >>> 0;
          const hostMask = ~ipv4Mask(prefix.length) >>> 0;
          if (host === 0) {
            issue(at, `${text} is the network address of ${formatPrefix(prefix)}, not a host`);
            continue;
          }
          if (host === hostMask) {
            issue(at, `${text} is the broadcast address of ${formatPrefix(prefix)}`);
            continue;
          }
        }
        const addr: InterfaceAddress = { address, length: prefix.length, prefix, text };
        for (const other of connected) {
          if (other.addr.address === address) {
            const where = `routers.${routerName}.interfaces.${other.iface}.addresses.${other.index}`;
            issue(at, `address ${formatIpv4(address)} is also assigned at ${where}`);
            continue nextAddress;
          }
          // Secondary addresses in one subnet on the same interface are normal; across two
          // interfaces the connected routes would compete for the same destinations.
          if (other.iface !== ifName && overlaps(other.addr.prefix, prefix)) {
            issue(
              at,
              `subnet ${formatPrefix(prefix)} overlaps ${formatPrefix(other.addr.prefix)} of interface ${other.iface}`,
            );
            continue nextAddress;
          }
        }
        connected.push({ iface: ifName, index, addr });
        addresses.push(addr);
      }

      let mac: Uint8Array | undefined;
      if (rawIf.mac !== undefined) {
        mac = parseMac(rawIf.mac);
        if ((mac[0]! & 1) === 1)
          issue([...ifPath, 'mac'], `${rawIf.mac} is a multicast MAC address (I/G bit set)`);
        else if (mac.every((b) => b === 0))
          issue([...ifPath, 'mac'], 'the all-zero MAC address is not usable');
      }

      if (rawIf.ringSlots !== undefined) {
        if (driver !== 'afpacket') issue([...ifPath, 'ringSlots'], 'only afpacket interfaces have a ring');
        else if ((rawIf.ringSlots & (rawIf.ringSlots - 1)) !== 0)
          issue([...ifPath, 'ringSlots'], `${rawIf.ringSlots} is not a power of two`);
      }

      const ra =
        rawIf.ra === undefined ? undefined : normalizeRa(rawIf.ra, addresses6, [...ifPath, 'ra'], issue);

      interfaces.push({
        name: ifName,
        driver,
        ...(rawIf.device !== undefined ? { device: rawIf.device } : {}),
        addresses,
        addresses6,
        ...(ra !== undefined ? { ra } : {}),
        ...(rawIf.mtu !== undefined ? { mtu: rawIf.mtu } : {}),
        ...(mac !== undefined ? { mac, macText: rawIf.mac!.toLowerCase() } : {}),
        promiscuous: rawIf.promiscuous ?? true,
        ...(rawIf.ringSlots !== undefined ? { ringSlots: rawIf.ringSlots } : {}),
      });
    }

    const routes: RouteConfig[] = [];
    const routes6: Route6Config[] = [];
    /** Where each route (prefix, kind, gateway, interface) was first given. */
    const routeAt = new Map<string, number>();
    for (const [index, rawRoute] of (rawRouter.routes ?? []).entries()) {
      const at = [...base, 'routes', String(index)];
      if (rawRoute.prefix.includes(':')) {
        const r = parseRoute6(rawRoute, at, rawRouter.interfaces, issue);
        if (r === undefined) continue;
        const key = `${formatIpv6Prefix(r.prefix)} ${r.kind} ${r.via === undefined ? '' : formatIpv6(r.via)} ${r.interface ?? ''}`;
        const first = routeAt.get(key);
        if (first !== undefined) {
          issue(
            at,
            `repeats routes.${first} (${rawRoute.prefix} the same way); a second route to a prefix needs another gateway or interface`,
          );
          continue;
        }
        routeAt.set(key, index);
        routes6.push(r);
        continue;
      }
      let bad = false;
      const parsed = tryParsePrefix(rawRoute.prefix, false);
      if (typeof parsed === 'string') {
        issue([...at, 'prefix'], parsed);
        bad = true;
      }
      let via: number | undefined;
      if (rawRoute.via !== undefined) {
        via = tryParseIpv4(rawRoute.via);
        const why = via === undefined ? undefined : notUnicast(via);
        if (via === undefined) {
          issue([...at, 'via'], `'${rawRoute.via}' is not an IPv4 address`);
          bad = true;
        } else if (why !== undefined) {
          issue([...at, 'via'], `gateway ${rawRoute.via} ${why}`);
          bad = true;
        }
      }
      if (rawRoute.interface !== undefined && rawRouter.interfaces[rawRoute.interface] === undefined) {
        issue([...at, 'interface'], `router ${routerName} has no interface '${rawRoute.interface}'`);
        bad = true;
      }
      const discards = (rawRoute.blackhole === true ? 1 : 0) + (rawRoute.reject === true ? 1 : 0);
      const forwards = rawRoute.via !== undefined || rawRoute.interface !== undefined;
      if (discards + (forwards ? 1 : 0) !== 1) {
        issue(
          at,
          'a route needs exactly one of: via, interface, via with interface, blackhole: true, reject: true',
        );
        bad = true;
      }
      if (bad || typeof parsed === 'string') continue;
      let kind: RouteKind;
      if (rawRoute.blackhole === true) kind = 'blackhole';
      else if (rawRoute.reject === true) kind = 'reject';
      else if (via !== undefined) kind = 'gateway';
      else kind = 'interface';
      // The same route twice (at most the distance differs) would be one route in the FIB whose
      // distance depends on the order: a second route to a prefix needs another way there.
      const key = `${parsed.prefix.network}/${parsed.prefix.length} ${kind} ${via ?? ''} ${rawRoute.interface ?? ''}`;
      const first = routeAt.get(key);
      if (first !== undefined) {
        issue(
          at,
          `repeats routes.${first} (${rawRoute.prefix} the same way); a second route to a prefix needs another gateway or interface`,
        );
        continue;
      }
      routeAt.set(key, index);
      routes.push({
        prefix: parsed.prefix,
        prefixText: rawRoute.prefix,
        kind,
        ...(via !== undefined ? { via, viaText: rawRoute.via } : {}),
        ...(rawRoute.interface !== undefined ? { interface: rawRoute.interface } : {}),
        distance: rawRoute.distance ?? 1,
      });
    }

    const policies = normalizePolicies(rawRouter.policies, [...base, 'policies'], issue);
    const bgp = normalizeBgp(rawRouter.bgp, [...base, 'bgp'], interfaces, rawRouter.policies, issue);
    const ospf = normalizeOspf(rawRouter.ospf, [...base, 'ospf'], interfaces, issue);
    const ospf6 = normalizeOspf(rawRouter.ospf6, [...base, 'ospf6'], interfaces, issue, 3, ospf?.routerId);
    const bfd = normalizeBfd(rawRouter.bfd, [...base, 'bfd'], interfaces, issue);
    const rip = normalizeRip(rawRouter.rip, 4, [...base, 'rip'], interfaces, issue);
    const ripng = normalizeRip(rawRouter.ripng, 6, [...base, 'ripng'], interfaces, issue);

    const services = rawRouter.services ?? {};
    const access = rawRouter.access ?? {};
    const quotas = rawRouter.quotas ?? {};
    routers.push({
      name: routerName,
      interfaces,
      routes,
      routes6,
      services: {
        echo: services.echo ?? false,
        discard: services.discard ?? false,
        chargen: services.chargen ?? false,
      },
      access: {
        uids: access.uids ?? [0],
        gids: access.gids ?? [],
        privilegedPorts: {
          uids: access.privilegedPorts?.uids ?? [],
          gids: access.privilegedPorts?.gids ?? [],
        },
      },
      quotas: { ...DEFAULT_QUOTAS, ...quotas },
      nice: rawRouter.nice ?? 0,
      ...(bgp !== undefined ? { bgp } : {}),
      ...(ospf !== undefined ? { ospf } : {}),
      ...(ospf6 !== undefined ? { ospf6 } : {}),
      ...(bfd !== undefined ? { bfd } : {}),
      policies,
      ...(rip !== undefined ? { rip } : {}),
      ...(ripng !== undefined ? { ripng } : {}),
      raw: JSON.parse(JSON.stringify(rawRouter)) as RawRouter,
    });
  }
  return { config: { manager: normalizeManager(raw, options, issue), routers }, issues };
}

/** Whether a TCP listener on this IPv4 address is reachable from this host only (127.0.0.0/8). */
export function isLoopbackHost(host: string): boolean {
  const addr = tryParseIpv4(host);
  return addr !== undefined && addr >>> 24 === 127;
}

function normalizeManager(
  raw: RawConfig,
  options: ParseOptions,
  issue: (segments: string[], message: string, atKey?: boolean) => void,
): ManagerConfig {
  const api = raw.manager?.api;
  if (api === undefined) return { api: {} };
  const at = ['manager', 'api'];
  let bad = false;
  let tcp: { host: string; port: number } | undefined;
  if (api.tcp !== undefined) {
    const colon = api.tcp.lastIndexOf(':');
    const host = api.tcp.slice(0, colon);
    const port = Number(api.tcp.slice(colon + 1));
    if (tryParseIpv4(host) === undefined) {
      issue([...at, 'tcp'], `'${host}' is not an IPv4 address`);
      bad = true;
    } else if (port < 1 || port > 65535) {
      issue([...at, 'tcp'], `port ${port} is not in 1..65535`);
      bad = true;
    } else tcp = { host, port };
    if (api.tokenFile === undefined) {
      issue(at, "a TCP listener needs 'tokenFile': requests over TCP must carry its bearer token");
      bad = true;
    }
    // The token would cross the network in clear: off loopback, TLS or nothing.
    if (tcp !== undefined && api.tls === undefined && !isLoopbackHost(tcp.host)) {
      issue(
        [...at, 'tcp'],
        `a TCP listener off loopback (${tcp.host} is not in 127.0.0.0/8) needs 'tls' with 'cert' and 'key': the bearer token must not cross the network in clear`,
      );
      bad = true;
    }
  }
  const normalized: ManagerConfig = {
    api: {
      ...(tcp !== undefined ? { tcp } : {}),
      ...(api.tokenFile !== undefined ? { tokenFile: api.tokenFile } : {}),
      ...(api.tls !== undefined ? { tls: { cert: api.tls.cert, key: api.tls.key } } : {}),
    },
  };
  if (!bad && tcp !== undefined && options.checkApiFiles !== undefined) {
    for (const problem of options.checkApiFiles(normalized.api))
      issue([...at, ...problem.field], problem.message);
  }
  return normalized;
}
