import { formatIpv4, tryParseIpv4 } from '@nexthop/addr';
import type { RawOspf, RawOspf6, RawOspfInterface } from './schema-ospf.ts';
import type {
  InterfaceConfig,
  OspfAreaSection,
  OspfConfigSection,
  OspfInterfaceSection,
  RedistributeSource,
} from './types.ts';

// The `ospf` section of a router: interfaces that exist, have an IPv4 address and sit in one area;
// timers that make sense; the router id; defaults filled in (FRR's and RFC 2328 Appendix C's).

/** An interface of either section (ospf6 has no authentication, ospf no instance id). */
type AnyInterface = RawOspfInterface & { instanceId?: number };

type Issue = (segments: string[], message: string, atKey?: boolean) => void;

/** An area id from its text: dotted, or a decimal number. */
export function parseAreaId(text: string): number | undefined {
  if (/^\d{1,10}$/.test(text)) {
    const n = Number(text);
    return n <= 0xffffffff ? n : undefined;
  }
  return tryParseIpv4(text);
}

/**
 * The `ospf` section (version 2) or the `ospf6` one (version 3: interfaces need no IPv4 address, no
 * authentication, an instance id; the router id defaults to the ospf section's, `v2RouterId`).
 */
export function normalizeOspf(
  raw: RawOspf | RawOspf6 | undefined,
  base: string[],
  interfaces: readonly InterfaceConfig[],
  issue: Issue,
  version: 2 | 3 = 2,
  v2RouterId?: number,
): OspfConfigSection | undefined {
  if (raw === undefined) return undefined;
  let bad = false;
  const fail = (segments: string[], message: string, atKey = false): void => {
    issue(segments, message, atKey);
    bad = true;
  };
  let routerId: number | undefined;
  let routerIdSource: OspfConfigSection['routerIdSource'] = 'config';
  if (raw.routerId !== undefined) {
    routerId = tryParseIpv4(raw.routerId);
    if (routerId === undefined) fail([...base, 'routerId'], `'${raw.routerId}' is not a dotted router id`);
    else if (routerId === 0) fail([...base, 'routerId'], 'the router id must not be 0.0.0.0');
  } else if (version === 3 && v2RouterId !== undefined) {
    routerId = v2RouterId;
  } else {
    routerIdSource = 'interface';
    for (const i of interfaces)
      for (const a of i.addresses) if (routerId === undefined || a.address > routerId) routerId = a.address;
    if (routerId === undefined)
      fail(
        [...base, 'routerId'],
        "missing required field 'routerId': the router has no IPv4 interface address to take it from",
      );
  }
  const seen = new Map<string, string>();
  const areas: OspfAreaSection[] = [];
  const areaIds = new Map<number, string>();
  for (const [areaText, rawArea] of Object.entries(raw.areas)) {
    const at = [...base, 'areas', areaText];
    const id = parseAreaId(areaText);
    if (id === undefined) {
      fail(at, `'${areaText}' is not an area id (dotted, or 0..4294967295)`, true);
      continue;
    }
    const twin = areaIds.get(id);
    if (twin !== undefined) {
      fail(at, `area ${areaText} is area ${twin} written another way`, true);
      continue;
    }
    areaIds.set(id, areaText);
    const list: OspfInterfaceSection[] = [];
    for (const [name, r] of Object.entries(rawArea.interfaces) as [string, AnyInterface][]) {
      const iat = [...at, 'interfaces', name];
      const iface = interfaces.find((i) => i.name === name);
      if (iface === undefined) {
        fail(iat, `no interface '${name}' on this router`, true);
        continue;
      }
      if (version === 2 && iface.addresses.length === 0) {
        fail(iat, `interface '${name}' has no IPv4 address for OSPFv2`, true);
        continue;
      }
      const other = seen.get(name);
      if (other !== undefined) {
        fail(iat, `interface '${name}' is already in area ${other}`, true);
        continue;
      }
      seen.set(name, areaText);
      const hello = r.helloInterval ?? 10;
      const dead = r.deadInterval ?? 4 * hello;
      if (dead <= hello) {
        fail([...iat, 'deadInterval'], `deadInterval (${dead}) must be longer than helloInterval (${hello})`);
        continue;
      }
      const authentication = r.authentication;
      const auth: OspfInterfaceSection['auth'] =
        authentication === undefined
          ? { type: 'none' }
          : 'simple' in authentication
            ? { type: 'simple', key: authentication.simple }
            : { type: 'md5', keyId: authentication.md5.keyId, key: authentication.md5.key };
      list.push({
        name,
        cost: r.cost ?? 10,
        priority: r.priority ?? 1,
        helloInterval: hello,
        deadInterval: dead,
        retransmitInterval: r.retransmitInterval ?? 5,
        transmitDelay: r.transmitDelay ?? 1,
        network: r.network ?? 'broadcast',
        passive: r.passive ?? false,
        ...(version === 3 ? { instanceId: r.instanceId ?? 0 } : {}),
        bfd: r.bfd ?? false,
        auth,
      });
    }
    const stubbed = rawArea as { stub?: boolean; defaultCost?: number };
    const stub = stubbed.stub ?? false;
    if (stub && id === 0)
      fail([...at, 'stub'], 'the backbone (area 0) cannot be a stub area (RFC 2328 §3.6)');
    if (!stub && stubbed.defaultCost !== undefined)
      fail([...at, 'defaultCost'], 'defaultCost is the default summary of a stub area: set stub: true');
    areas.push({ id, idText: formatIpv4(id), interfaces: list, stub, defaultCost: stubbed.defaultCost ?? 1 });
  }
  if (bad || routerId === undefined) return undefined;
  // By id (object keys that look like numbers come first in JavaScript, whatever the file says).
  areas.sort((a, b) => a.id - b.id);
  return {
    routerId,
    routerIdText: formatIpv4(routerId),
    routerIdSource,
    areas,
    redistribute: (raw.redistribute ?? []) as RedistributeSource[],
    externalMetric: raw.externalMetric ?? 20,
    externalMetricType: raw.externalMetricType ?? 2,
    spfDelay: raw.spf?.delay ?? 50,
    spfHold: raw.spf?.hold ?? 1000,
    lsaInterval: raw.lsaInterval ?? 5000,
  };
}
