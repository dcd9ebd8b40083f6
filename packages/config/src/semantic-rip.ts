import type { RawRip, RawRipng } from './schema-rip.ts';
import type { InterfaceConfig, RipConfigSection, RipInterfaceSection, RipKeyConfig } from './types.ts';

// The `rip` and `ripng` sections of a router: interfaces that exist, timers that make sense, key
// ids and lengths; the conversion to the normalized form.

type Issue = (segments: string[], message: string, atKey?: boolean) => void;

/** The `rip` (family 4) or `ripng` (family 6) section, checked and normalized; undefined when absent or wrong. */
export function normalizeRip(
  raw: RawRip | RawRipng | undefined,
  family: 4 | 6,
  base: string[],
  interfaces: readonly InterfaceConfig[],
  issue: Issue,
): RipConfigSection | undefined {
  if (raw === undefined) return undefined;
  let bad = false;
  const fail = (segments: string[], message: string, atKey = false): void => {
    issue(segments, message, atKey);
    bad = true;
  };
  const out: RipInterfaceSection[] = [];
  for (const [name, i] of Object.entries(raw.interfaces)) {
    const at = [...base, 'interfaces', name];
    const iface = interfaces.find((x) => x.name === name);
    if (iface === undefined) {
      fail(at, `the router has no interface '${name}'`, true);
      continue;
    }
    if (family === 4 && iface.addresses.length === 0)
      fail(at, `interface ${name} has no IPv4 address to speak RIP from`, true);
    const keys: RipKeyConfig[] = [];
    const auth = family === 4 ? ((i as RawRip['interfaces'][string]).authentication ?? []) : [];
    const ids = new Map<number, number>();
    auth.forEach((k, n) => {
      const kat = [...at, 'authentication', String(n)];
      const algorithm = k.algorithm ?? 'md5';
      const secret = new TextEncoder().encode(k.secret);
      if (algorithm === 'md5' && secret.length > 16)
        fail([...kat, 'secret'], 'a keyed MD5 secret has at most 16 octets (RFC 2082 §3.2.1)');
      const first = ids.get(k.id);
      if (first !== undefined) fail([...kat, 'id'], `repeats the key id of authentication.${first}`);
      ids.set(k.id, n);
      keys.push({ id: k.id, algorithm, secret });
    });
    out.push({
      name,
      cost: i.cost ?? 1,
      passive: i.passive ?? false,
      splitHorizon: i.splitHorizon ?? 'poisoned-reverse',
      keys,
    });
  }
  const timers = {
    update: raw.timers?.update ?? 30,
    timeout: raw.timers?.timeout ?? 180,
    garbage: raw.timers?.garbage ?? 120,
  };
  if (timers.timeout <= timers.update)
    fail(
      [...base, 'timers', 'timeout'],
      `the timeout (${timers.timeout} s) must be longer than the update interval (${timers.update} s)`,
    );
  if (bad) return undefined;
  return {
    interfaces: out,
    timers,
    redistribute: raw.redistribute ?? [],
    defaultMetric: raw.defaultMetric ?? 1,
  };
}
