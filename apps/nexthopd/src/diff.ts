import {
  describeRoute,
  type InterfaceConfig,
  type ManagerConfig,
  type NexthopConfig,
  type RouterConfig,
  routeKey,
} from '@nexthop/config';
import type { ConfigChange } from './api-types.ts';

// What differs between two configurations, as the operator reads it (`nexthop config diff`) and as
// the manager acts on it (which VRs to start, stop, or reconfigure). Pure: no I/O.

/** Manager changes are not about a VR; they carry this empty VR name. */
export const MANAGER_VR = '';

/** JSON with object keys sorted, so that key order in the file does not count as a change. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/** Whether two routers' sections say the same thing (the VR needs no `config.apply`). */
export function sameRouter(a: RouterConfig, b: RouterConfig): boolean {
  return canonicalJson(a.raw) === canonicalJson(b.raw);
}

function describeInterface(i: InterfaceConfig): string {
  let text = `interface ${i.name} ${i.driver}`;
  if (i.device !== undefined) text += ` ${i.device}`;
  if (i.addresses.length > 0) text += ` ${i.addresses.map((a) => a.text).join(' ')}`;
  if (i.mtu !== undefined) text += ` mtu ${i.mtu}`;
  return text;
}

function interfaceFieldChanges(a: InterfaceConfig, b: InterfaceConfig): string[] {
  const show = (v: unknown) => (v === undefined ? 'default' : String(v));
  const fields: string[] = [];
  const compare = (label: string, x: unknown, y: unknown) => {
    if (x !== y) fields.push(`${label} ${show(x)} -> ${show(y)}`);
  };
  compare('driver', a.driver, b.driver);
  compare('device', a.device, b.device);
  compare('mtu', a.mtu, b.mtu);
  compare('mac', a.macText, b.macText);
  compare('promiscuous', a.promiscuous, b.promiscuous);
  compare('ringSlots', a.ringSlots, b.ringSlots);
  return fields;
}

function recordChanges(label: string, a: object, b: object): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const out: string[] = [];
  for (const k of [...keys].sort()) {
    const x = canonicalJson((a as Record<string, unknown>)[k]);
    const y = canonicalJson((b as Record<string, unknown>)[k]);
    if (x !== y) out.push(`${k} ${x ?? 'unset'} -> ${y ?? 'unset'}`);
  }
  return out.length === 0 ? [] : [`${label} ${out.join(', ')}`];
}

/** The changes inside one router that exists on both sides. */
export function diffRouter(a: RouterConfig, b: RouterConfig): ConfigChange[] {
  const vr = b.name;
  const changes: ConfigChange[] = [];
  const add = (action: ConfigChange['action'], kind: ConfigChange['kind'], detail: string) =>
    changes.push({ vr, action, kind, detail });

  const beforeIf = new Map(a.interfaces.map((i) => [i.name, i]));
  const afterIf = new Map(b.interfaces.map((i) => [i.name, i]));
  for (const i of a.interfaces) if (!afterIf.has(i.name)) add('remove', 'interface', describeInterface(i));
  for (const i of b.interfaces) {
    const old = beforeIf.get(i.name);
    if (old === undefined) {
      add('add', 'interface', describeInterface(i));
      continue;
    }
    const fields = interfaceFieldChanges(old, i);
    if (fields.length > 0) add('change', 'interface', `interface ${i.name} ${fields.join(', ')}`);
    // Addresses of an interface that is added or removed go with it; here only the common ones.
    const key = (x: { address: number; length: number }) => `${x.address}/${x.length}`;
    const oldAddrs = new Set(old.addresses.map(key));
    const newAddrs = new Set(i.addresses.map(key));
    for (const x of old.addresses)
      if (!newAddrs.has(key(x))) add('remove', 'address', `address ${x.text} on ${i.name}`);
    for (const x of i.addresses)
      if (!oldAddrs.has(key(x))) add('add', 'address', `address ${x.text} on ${i.name}`);
  }

  const oldRoutes = new Set(a.routes.map(routeKey));
  const newRoutes = new Set(b.routes.map(routeKey));
  for (const r of a.routes)
    if (!newRoutes.has(routeKey(r))) add('remove', 'route', `route ${describeRoute(r)}`);
  for (const r of b.routes) if (!oldRoutes.has(routeKey(r))) add('add', 'route', `route ${describeRoute(r)}`);

  for (const d of recordChanges('services', a.services, b.services)) add('change', 'services', d);
  for (const d of recordChanges('access', a.access, b.access)) add('change', 'access', d);
  for (const d of recordChanges('quotas', a.quotas, b.quotas)) add('change', 'quotas', d);
  if (a.nice !== b.nice) add('change', 'vr', `nice ${a.nice} -> ${b.nice}`);
  return changes;
}

function describeManager(m: ManagerConfig): string {
  const tcp = m.api.tcp === undefined ? 'off' : `${m.api.tcp.host}:${m.api.tcp.port}`;
  const tls = m.api.tls === undefined ? '' : ` tls ${m.api.tls.cert} ${m.api.tls.key}`;
  return `manager api tcp ${tcp}${tls}${m.api.tokenFile !== undefined ? ` token ${m.api.tokenFile}` : ''}`;
}

/**
 * Every change from `before` to `after`: removed VRs first, then each VR of `after` in file order
 * (added, or its changed parts), then the manager section. `before` null means nothing runs yet.
 */
export function diffConfigs(before: NexthopConfig | null, after: NexthopConfig): ConfigChange[] {
  const changes: ConfigChange[] = [];
  const old = new Map((before?.routers ?? []).map((r) => [r.name, r]));
  const next = new Set(after.routers.map((r) => r.name));
  for (const r of before?.routers ?? []) {
    if (!next.has(r.name))
      changes.push({ vr: r.name, action: 'remove', kind: 'vr', detail: routerSummary(r) });
  }
  for (const r of after.routers) {
    const prev = old.get(r.name);
    if (prev === undefined) changes.push({ vr: r.name, action: 'add', kind: 'vr', detail: routerSummary(r) });
    else changes.push(...diffRouter(prev, r));
  }
  if (before !== null && canonicalJson(before.manager) !== canonicalJson(after.manager)) {
    changes.push({
      vr: MANAGER_VR,
      action: 'change',
      kind: 'manager',
      detail: `${describeManager(before.manager)} -> ${describeManager(after.manager).replace(/^manager /, '')}`,
    });
  }
  return changes;
}

function routerSummary(r: RouterConfig): string {
  const n = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  return `vr ${r.name} (${n(r.interfaces.length, 'interface')}, ${n(r.routes.length, 'route')})`;
}

/** The routers of `after` whose section differs from `before` (they get `config.apply`). */
export function changedRouters(before: NexthopConfig, after: NexthopConfig): RouterConfig[] {
  const old = new Map(before.routers.map((r) => [r.name, r]));
  return after.routers.filter((r) => {
    const prev = old.get(r.name);
    return prev !== undefined && !sameRouter(prev, r);
  });
}
