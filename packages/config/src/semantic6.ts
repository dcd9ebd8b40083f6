import {
  formatIpv6,
  formatIpv6Prefix,
  type Ipv6Prefix,
  ipv6PrefixContains,
  isLinkLocalIpv6,
  isLoopbackIpv6,
  isMulticastIpv6,
  isUnspecifiedIpv6,
  isV4MappedIpv6,
  tryParseIpv6,
  tryParseIpv6Prefix,
} from '@nexthop/addr';
import type { RawRouter } from './schema.ts';
import type { InterfaceAddress6, RaPrefixConfig, RaSettings, Route6Config, RouteKind } from './types.ts';

// The IPv6 half of semantic.ts: interface addresses, static routes and Router Advertisement
// settings, checked and normalized. Each function returns the normalized value or a message.

type RawInterface = RawRouter['interfaces'][string];
type RawRoute = NonNullable<RawRouter['routes']>[number];
type Issue = (segments: string[], message: string) => void;

/** Why an address cannot be a unicast address of an interface (RFC 4291 §2.4), or undefined. */
export function notUnicast6(a: Uint8Array): string | undefined {
  if (isUnspecifiedIpv6(a)) return 'is the unspecified address (RFC 4291 §2.5.2)';
  if (isLoopbackIpv6(a)) return 'is the loopback address (RFC 4291 §2.5.3)';
  if (isMulticastIpv6(a)) return 'is a multicast address (RFC 4291 §2.7)';
  if (isV4MappedIpv6(a)) return 'is an IPv4-mapped address (RFC 4291 §2.5.5.2), never on a link';
  return undefined;
}

/** An interface address like 2001:db8:1::1/64, or what is wrong with it. */
export function parseAddress6(text: string): InterfaceAddress6 | string {
  const parsed = tryParseIpv6Prefix(text, true);
  if (typeof parsed === 'string') return parsed;
  const { prefix, address } = parsed;
  if (prefix.length < 1) return `prefix length must be 1..128 (got '${text}')`;
  const why = notUnicast6(address);
  if (why !== undefined) return `${formatIpv6(address)} ${why}`;
  if (isLinkLocalIpv6(address) && prefix.length !== 64)
    return `a link-local address is a /64 (RFC 4291 §2.5.6), not /${prefix.length}`;
  // RFC 4291 §2.6.1: the all-zero host part is the subnet-router anycast address (RFC 6164 §5.1
  // lets a /127 use it).
  if (prefix.length < 127 && sameBytes(prefix.network, address))
    return `${text} is the subnet-router anycast address of ${formatIpv6Prefix(prefix)}, not a host`;
  return { address, length: prefix.length, prefix, text };
}

/** Checks one interface's IPv6 address against those already accepted; pushes it when good. */
export function acceptAddress6(
  a: InterfaceAddress6,
  at: string[],
  iface: string,
  accepted: { iface: string; path: string; addr: InterfaceAddress6 }[],
  issue: Issue,
): boolean {
  for (const other of accepted) {
    // Link-local addresses are unique per link only (RFC 4007 §6): the same fe80::1 on two
    // interfaces is normal.
    const scoped = isLinkLocalIpv6(a.address);
    if (sameBytes(other.addr.address, a.address) && (!scoped || other.iface === iface)) {
      issue(at, `address ${formatIpv6(a.address)} is also assigned at ${other.path}`);
      return false;
    }
    if (!scoped && other.iface !== iface && overlaps6(other.addr.prefix, a.prefix)) {
      issue(
        at,
        `subnet ${formatIpv6Prefix(a.prefix)} overlaps ${formatIpv6Prefix(other.addr.prefix)} of interface ${other.iface}`,
      );
      return false;
    }
  }
  accepted.push({ iface, path: at.join('.'), addr: a });
  return true;
}

/** One static IPv6 route, or undefined after reporting what is wrong with it. */
export function parseRoute6(
  raw: RawRoute,
  at: string[],
  interfaces: RawRouter['interfaces'],
  issue: Issue,
): Route6Config | undefined {
  let bad = false;
  const parsed = tryParseIpv6Prefix(raw.prefix, false);
  if (typeof parsed === 'string') {
    issue([...at, 'prefix'], parsed);
    bad = true;
  }
  let via: Uint8Array | undefined;
  if (raw.via !== undefined) {
    via = tryParseIpv6(raw.via);
    if (via === undefined) {
      issue([...at, 'via'], `'${raw.via}' is not an IPv6 address (an IPv6 prefix needs an IPv6 gateway)`);
      bad = true;
    } else {
      const why = notUnicast6(via);
      if (why !== undefined) {
        issue([...at, 'via'], `gateway ${raw.via} ${why}`);
        bad = true;
      } else if (isLinkLocalIpv6(via) && raw.interface === undefined) {
        issue(
          [...at, 'interface'],
          `a link-local gateway (${raw.via}) needs 'interface': it is only unique on one link`,
        );
        bad = true;
      }
    }
  }
  if (raw.interface !== undefined && interfaces[raw.interface] === undefined) {
    issue([...at, 'interface'], `no interface '${raw.interface}'`);
    bad = true;
  }
  const discards = (raw.blackhole === true ? 1 : 0) + (raw.reject === true ? 1 : 0);
  const forwards = raw.via !== undefined || raw.interface !== undefined;
  if (discards + (forwards ? 1 : 0) !== 1) {
    issue(
      at,
      'a route needs exactly one of: via, interface, via with interface, blackhole: true, reject: true',
    );
    bad = true;
  }
  if (bad || typeof parsed === 'string') return undefined;
  let kind: RouteKind;
  if (raw.blackhole === true) kind = 'blackhole';
  else if (raw.reject === true) kind = 'reject';
  else if (via !== undefined) kind = 'gateway';
  else kind = 'interface';
  return {
    prefix: parsed.prefix,
    prefixText: raw.prefix,
    kind,
    ...(via !== undefined ? { via, viaText: raw.via } : {}),
    ...(raw.interface !== undefined ? { interface: raw.interface } : {}),
    distance: raw.distance ?? 1,
  };
}

/** RFC 4861 §6.2.1 defaults filled in and the bounds between fields checked. */
export function normalizeRa(
  raw: NonNullable<RawInterface['ra']>,
  addresses: readonly InterfaceAddress6[],
  at: string[],
  issue: Issue,
): RaSettings | undefined {
  let bad = false;
  const interval = raw.interval ?? 600;
  const minInterval =
    raw.minInterval ?? (interval >= 9 ? Math.floor(interval / 3) : Math.max(3, Math.floor(0.75 * interval)));
  if (minInterval > 0.75 * interval) {
    issue([...at, 'minInterval'], `must be at most 0.75 × interval (${0.75 * interval} s) (RFC 4861 §6.2.1)`);
    bad = true;
  }
  const lifetime = raw.lifetime ?? 3 * interval;
  if (lifetime !== 0 && lifetime < interval) {
    issue([...at, 'lifetime'], `must be 0 or at least interval (${interval} s) (RFC 4861 §6.2.1)`);
    bad = true;
  }
  const prefixes: RaPrefixConfig[] = [];
  if (raw.prefixes !== undefined) {
    for (const [i, p] of raw.prefixes.entries()) {
      const parsed = tryParseIpv6Prefix(p.prefix, false);
      if (typeof parsed === 'string') {
        issue([...at, 'prefixes', String(i), 'prefix'], parsed);
        bad = true;
        continue;
      }
      const entry = raPrefix(parsed.prefix, p);
      if (isLinkLocalIpv6(parsed.prefix.network) || isMulticastIpv6(parsed.prefix.network)) {
        issue(
          [...at, 'prefixes', String(i), 'prefix'],
          'link-local and multicast prefixes are never advertised (RFC 4861 §6.2.1)',
        );
        bad = true;
      } else if (entry.autonomous && entry.prefix.length !== 64) {
        issue(
          [...at, 'prefixes', String(i), 'autonomous'],
          `hosts form addresses only from a /64 on Ethernet (RFC 4862 §5.5.3 d); set autonomous: false for /${entry.prefix.length}`,
        );
        bad = true;
      } else if (entry.preferredLifetime > entry.validLifetime) {
        issue(
          [...at, 'prefixes', String(i), 'preferredLifetime'],
          'may not exceed validLifetime (RFC 4862 §5.5.3 c)',
        );
        bad = true;
      }
      prefixes.push(entry);
    }
  } else {
    // RFC 4861 §6.2.1 AdvPrefixList default: the interface's own on-link prefixes.
    const seen = new Set<string>();
    for (const a of addresses) {
      if (isLinkLocalIpv6(a.address)) continue;
      const key = formatIpv6Prefix(a.prefix);
      if (seen.has(key)) continue;
      seen.add(key);
      prefixes.push(raPrefix(a.prefix, { autonomous: a.prefix.length === 64 }));
    }
  }
  const dns: Uint8Array[] = [];
  for (const [i, text] of (raw.dns ?? []).entries()) {
    const a = tryParseIpv6(text);
    const why = a === undefined ? `'${text}' is not an IPv6 address` : notUnicast6(a);
    if (a === undefined || why !== undefined) {
      issue([...at, 'dns', String(i)], a === undefined ? why! : `${text} ${why}`);
      bad = true;
    } else dns.push(a);
  }
  if (bad) return undefined;
  return {
    interval,
    minInterval,
    lifetime,
    managed: raw.managed ?? false,
    otherConfig: raw.otherConfig ?? false,
    mtu: raw.mtu ?? 0,
    hopLimit: raw.hopLimit ?? 64,
    reachableTime: raw.reachableTime ?? 0,
    retransTimer: raw.retransTimer ?? 0,
    prefixes,
    dns,
    dnsLifetime: raw.dnsLifetime ?? 2 * interval,
  };
}

function raPrefix(
  prefix: Ipv6Prefix,
  p: { onLink?: boolean; autonomous?: boolean; validLifetime?: number; preferredLifetime?: number },
): RaPrefixConfig {
  return {
    prefix,
    onLink: p.onLink ?? true,
    autonomous: p.autonomous ?? true,
    // RFC 4861 §6.2.1 AdvValidLifetime and AdvPreferredLifetime defaults: 30 and 7 days.
    validLifetime: p.validLifetime ?? 2_592_000,
    preferredLifetime: p.preferredLifetime ?? 604_800,
  };
}

function overlaps6(a: Ipv6Prefix, b: Ipv6Prefix): boolean {
  return a.length <= b.length ? ipv6PrefixContains(a, b.network) : ipv6PrefixContains(b, a.network);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}
