// Property: a VR taken through any sequence of configurations in place ends up routing exactly as a
// VR started from the last one — same interfaces, addresses, routes (active and selected) and FIB.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIpv4, parseIpv4 } from '@nexthop/addr';
import { NH_FORWARD } from '@nexthop/fib';
import fc from 'fast-check';
import { lookup, startRig, type VrRig } from './rig.ts';

interface IfSpec {
  slot: number;
  addresses: string[];
  mtu?: number;
  mac?: string;
}

interface RouteSpec {
  prefix: string;
  target: string;
  distance: number;
}

/** Interface slot k owns 10.k.0.0/16, so addresses never overlap across interfaces. */
const ifSpec = fc.record({
  slot: fc.integer({ min: 0, max: 3 }),
  addresses: fc.subarray(['0.1/24', '1.1/24', '2.1/25'], { minLength: 0, maxLength: 2 }),
  mtu: fc.option(fc.constantFrom(1400, 1500), { nil: undefined }),
  mac: fc.option(fc.constantFrom('02:00:00:00:00:0a', '02:00:00:00:00:0b'), { nil: undefined }),
});

const routeSpec = fc.record({
  prefix: fc.constantFrom('10.100.0.0/16', '10.101.0.0/16', '10.102.7.0/24', '0.0.0.0/0'),
  // A gateway on some slot's first subnet (resolvable or not, depending on the addresses), or a
  // discard route.
  target: fc.constantFrom('via 10.0.0.2', 'via 10.1.0.2', 'via 10.2.1.2', 'blackhole', 'reject'),
  distance: fc.constantFrom(1, 5),
});

const routerSpec = fc.record({
  interfaces: fc.uniqueArray(ifSpec, { selector: (i) => i.slot, minLength: 1, maxLength: 3 }),
  routes: fc.uniqueArray(routeSpec, { selector: (r) => `${r.prefix} ${r.target}`, maxLength: 5 }),
});

function yamlOf(spec: { interfaces: IfSpec[]; routes: RouteSpec[] }): string {
  const lines = ['routers:', '  blue:', '    interfaces:'];
  for (const i of spec.interfaces) {
    const fields = [`driver: pipe`, `device: p${i.slot}`];
    fields.push(`addresses: [${i.addresses.map((a) => `10.${i.slot}.${a}`).join(', ')}]`);
    if (i.mtu !== undefined) fields.push(`mtu: ${i.mtu}`);
    if (i.mac !== undefined) fields.push(`mac: ${i.mac}`);
    lines.push(`      eth${i.slot}: { ${fields.join(', ')} }`);
  }
  if (spec.routes.length > 0) {
    lines.push('    routes:');
    for (const r of spec.routes) {
      const target = r.target.startsWith('via ') ? `via: ${r.target.slice(4)}` : `${r.target}: true`;
      lines.push(`      - { prefix: ${r.prefix}, ${target}, distance: ${r.distance} }`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** What a configuration decides, without interface indexes (a removed interface leaves a gap). */
function routingState(rig: VrRig): unknown {
  const interfaces = rig.vr.stack
    .interfaces()
    .map(({ name, mac, mtu, up, addresses }) => ({ name, mac, mtu, up, addresses: [...addresses].sort() }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const routes = rig.vr.stack
    .routeList()
    .map((r) => JSON.stringify(r))
    .sort();
  const probes = ['10.100.1.1', '10.101.255.1', '10.102.7.9', '10.0.0.9', '10.1.1.9', '10.2.1.9', '8.8.8.8'];
  const fib = probes.map((p) => {
    const nh = rig.vr.stack.fib.lookup(parseIpv4(p), 0);
    // A discard route's next hop names no interface worth comparing.
    if (nh >= 0 && rig.vr.stack.fib.nextHops.kind(nh) !== NH_FORWARD) {
      return `${p} discard ${rig.vr.stack.fib.nextHops.kind(nh)}`;
    }
    const hit = lookup(rig.vr, parseIpv4(p));
    return hit === null ? `${p} -` : `${p} ${hit.interface} ${formatIpv4(hit.gateway)}`;
  });
  return { interfaces, routes, fib };
}

test('any sequence of configurations applied in place routes as the last one started fresh', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(routerSpec, { minLength: 2, maxLength: 4 }), async (specs) => {
      const texts = specs.map(yamlOf);
      const live = startRig(texts[0]);
      try {
        for (const text of texts.slice(1)) {
          const result = (await live.call('config.apply', { text })) as { changes: string[] };
          assert.ok(Array.isArray(result.changes));
        }
        const fresh = startRig(texts.at(-1));
        try {
          assert.deepEqual(routingState(live), routingState(fresh), texts.join('---\n'));
        } finally {
          fresh.close();
        }
      } finally {
        live.close();
      }
    }),
    { seed: 20261127, numRuns: 100 },
  );
});
