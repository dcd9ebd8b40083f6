import { formatIpv6, tryParseIpv4, tryParseIpv6 } from '@nexthop/addr';
import type { RawBfd, RawBfdParams } from './schema-bfd.ts';
import type { BfdAuthSection, BfdConfigSection, BfdParamsSection, InterfaceConfig } from './types.ts';

// The `bfd` section of a router: interfaces that exist, peer addresses that parse (once each),
// keys that fit their type; defaults filled in (300 ms both ways, multiplier 3, as FRR's bfdd).

type Issue = (segments: string[], message: string, atKey?: boolean) => void;

export const BFD_DEFAULTS: BfdParamsSection = { transmitInterval: 300, receiveInterval: 300, multiplier: 3 };

/** What the section says when there is none (`bfd: true` somewhere is enough). */
export const BFD_DEFAULT_SECTION: BfdConfigSection = { defaults: BFD_DEFAULTS, interfaces: [], peers: [] };

function params(raw: RawBfdParams, at: string[], issue: Issue): Partial<BfdParamsSection> {
  const out: { -readonly [K in keyof BfdParamsSection]?: BfdParamsSection[K] } = {};
  const tx = raw.transmitInterval ?? raw.interval;
  const rx = raw.receiveInterval ?? raw.interval;
  if (tx !== undefined) out.transmitInterval = tx;
  if (rx !== undefined) out.receiveInterval = rx;
  if (raw.multiplier !== undefined) out.multiplier = raw.multiplier;
  const a = raw.authentication;
  if (a !== undefined) {
    const limit = a.type.endsWith('sha1') ? 20 : 16;
    const bytes = new TextEncoder().encode(a.key).length;
    if (bytes > limit)
      issue(
        [...at, 'authentication', 'key'],
        `a ${a.type} key has at most ${limit} octets (this one ${bytes})`,
      );
    else out.auth = { type: a.type, keyId: a.keyId, key: a.key } satisfies BfdAuthSection;
  }
  return out;
}

export function normalizeBfd(
  raw: RawBfd | undefined,
  base: string[],
  interfaces: readonly InterfaceConfig[],
  issue: Issue,
): BfdConfigSection | undefined {
  if (raw === undefined) return undefined;
  const defaults: BfdParamsSection = { ...BFD_DEFAULTS, ...params(raw, base, issue) };
  const ifs: BfdConfigSection['interfaces'][number][] = [];
  for (const [name, r] of Object.entries(raw.interfaces ?? {})) {
    const at = [...base, 'interfaces', name];
    if (!interfaces.some((i) => i.name === name)) {
      issue(at, `no interface '${name}' on this router`, true);
      continue;
    }
    ifs.push({ name, params: params(r, at, issue) });
  }
  const peers: BfdConfigSection['peers'][number][] = [];
  const seen = new Map<string, string>();
  for (const [text, r] of Object.entries(raw.peers ?? {})) {
    const at = [...base, 'peers', text];
    const address = text.includes(':') ? tryParseIpv6(text) : tryParseIpv4(text);
    if (address === undefined) {
      issue(at, `'${text}' is not an IPv4 or IPv6 address`, true);
      continue;
    }
    const canonical = typeof address === 'number' ? text : formatIpv6(address);
    const twin = seen.get(canonical);
    if (twin !== undefined) {
      issue(at, `peer ${text} is peer ${twin} written another way`, true);
      continue;
    }
    seen.set(canonical, text);
    if (r.interface !== undefined && !interfaces.some((i) => i.name === r.interface)) {
      issue([...at, 'interface'], `no interface '${r.interface}' on this router`);
      continue;
    }
    peers.push({
      address,
      addressText: text,
      ...(r.interface !== undefined ? { interface: r.interface } : {}),
      params: params(r, at, issue),
    });
  }
  return { defaults, interfaces: ifs, peers };
}
