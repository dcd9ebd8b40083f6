// The IPv6 half of a VR's configuration, applied to the stack: addresses, static routes and Router
// Advertisements of each interface, at start and in place on a change.
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { formatIpv6, formatIpv6Prefix } from '@nexthop/addr';
import type { InterfaceAddress6, InterfaceConfig, RaSettings, Route6Config } from '@nexthop/config';
import type { RaConfig, Stack } from '@nexthop/stack';
import type { Logger } from 'pino';

/**
 * RFC 7217's F() for the VR's link-local addresses: HMAC-SHA-256 keyed with a secret derived from
 * the machine's identity (/etc/machine-id) and the VR's name, so a VR gets the same link-local
 * addresses on every restart on this machine (hosts' neighbour caches and routes via fe80:: stay
 * valid) while nothing outside can derive them. Without a machine id the key is random and the
 * addresses change with each start: said in the log.
 */
export function stableAddressPrf(vrName: string, logger: Logger): (data: Uint8Array) => Uint8Array {
  let machine: Buffer;
  try {
    machine = readFileSync('/etc/machine-id');
  } catch {
    logger.warn('no /etc/machine-id: IPv6 link-local addresses will change with every start of the VR');
    machine = randomBytes(32);
  }
  const key = createHmac('sha256', machine).update(`nexthop RFC 7217 secret of VR ${vrName}`).digest();
  return (data) => new Uint8Array(createHmac('sha256', key).update(data).digest());
}

export function raConfigOf(ra: RaSettings): RaConfig {
  return {
    maxIntervalS: ra.interval,
    minIntervalS: ra.minInterval,
    managed: ra.managed,
    otherConfig: ra.otherConfig,
    linkMtu: ra.mtu,
    reachableTimeMs: ra.reachableTime,
    retransTimerMs: ra.retransTimer,
    curHopLimit: ra.hopLimit,
    defaultLifetimeS: ra.lifetime,
    prefixes: ra.prefixes.map((p) => ({
      prefix: p.prefix.network,
      length: p.prefix.length,
      onLink: p.onLink,
      autonomous: p.autonomous,
      validLifetimeS: p.validLifetime,
      preferredLifetimeS: p.preferredLifetime,
    })),
    dnsServers: ra.dns,
    dnsLifetimeS: ra.dnsLifetime,
  };
}

export function address6Key(a: InterfaceAddress6): string {
  return `${formatIpv6(a.address)}/${a.length}`;
}

export function route6Key(r: Route6Config): string {
  return `${formatIpv6Prefix(r.prefix)} ${r.kind} ${r.via === undefined ? '-' : formatIpv6(r.via)} ${r.interface ?? '-'} ${r.distance}`;
}

/** `2001:db8:99::/48 via fe80::2 dev eth1 distance 5`, as describeRoute does for IPv4. */
export function describeRoute6(r: Route6Config): string {
  let text = formatIpv6Prefix(r.prefix);
  if (r.kind === 'blackhole' || r.kind === 'reject') text += ` ${r.kind}`;
  if (r.via !== undefined) text += ` via ${formatIpv6(r.via)}`;
  if (r.interface !== undefined) text += ` dev ${r.interface}`;
  if (r.distance !== 1) text += ` distance ${r.distance}`;
  return text;
}

function routeType(r: Route6Config): 'unicast' | 'blackhole' | 'reject' {
  return r.kind === 'blackhole' || r.kind === 'reject' ? r.kind : 'unicast';
}

export function addRoute6(stack: Stack, r: Route6Config): void {
  stack.addStaticRoute6({
    network: r.prefix.network,
    length: r.prefix.length,
    ...(r.via !== undefined ? { via: r.via } : {}),
    ...(r.interface !== undefined ? { ifIndex: stack.interfaceIndex(r.interface) } : {}),
    type: routeType(r),
    distance: r.distance,
  });
}

export function removeRoute6(stack: Stack, r: Route6Config): void {
  stack.removeStaticRoute6(r.prefix.network, r.prefix.length, {
    ...(r.via !== undefined ? { via: r.via } : {}),
    ...(r.interface !== undefined ? { ifIndex: stack.interfaceIndex(r.interface) } : {}),
    type: routeType(r),
    distance: r.distance,
  });
}

/** Starts an interface's IPv6 as configured (a new interface, or the VR's start). */
export function startInterface6(stack: Stack, ifIndex: number, iface: InterfaceConfig, now: number): void {
  for (const a of iface.addresses6) stack.addAddress6(ifIndex, a.address, a.length, now);
  if (iface.ra !== undefined) stack.setRouterAdvertisements(ifIndex, raConfigOf(iface.ra), now);
}

/**
 * Removals of an interface kept across a change: every removal on every interface happens before
 * any addition (applyAdditions6), so that an address may move between interfaces.
 */
export function applyRemovals6(
  stack: Stack,
  ifIndex: number,
  prev: InterfaceConfig,
  next: InterfaceConfig,
  now: number,
  changes: string[],
): void {
  const wanted = new Set(next.addresses6.map(address6Key));
  for (const a of prev.addresses6) {
    if (wanted.has(address6Key(a))) continue;
    stack.removeAddress6(ifIndex, a.address, a.length, now);
    changes.push(`address ${address6Key(a)} on ${next.name} removed`);
  }
}

export function applyAdditions6(
  stack: Stack,
  ifIndex: number,
  prev: InterfaceConfig,
  next: InterfaceConfig,
  now: number,
  changes: string[],
): void {
  const had = new Set(prev.addresses6.map(address6Key));
  for (const a of next.addresses6) {
    if (had.has(address6Key(a))) continue;
    stack.addAddress6(ifIndex, a.address, a.length, now);
    changes.push(`address ${address6Key(a)} on ${next.name} added`);
  }
  const before = prev.ra === undefined ? null : JSON.stringify(raConfigOf(prev.ra), bytesAsText);
  const after = next.ra === undefined ? null : JSON.stringify(raConfigOf(next.ra), bytesAsText);
  if (before === after) return;
  stack.setRouterAdvertisements(ifIndex, next.ra === undefined ? null : raConfigOf(next.ra), now);
  changes.push(
    next.ra === undefined
      ? `router advertisements on ${next.name} stopped`
      : prev.ra === undefined
        ? `router advertisements on ${next.name} started`
        : `router advertisements on ${next.name} changed`,
  );
}

function bytesAsText(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? formatIpv6(value) : value;
}
