import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4, parseIpv6 } from '@nexthop/addr';
import { LSA6_INTER_ROUTER } from '../src/index.ts';
import { engineConfig, world } from './sim-world.ts';

// OSPFv3 as an area border router (RFC 5340 §4.4.3.4, §4.4.3.5): r1 between the backbone (its
// segment with r2) and area 1 (its point-to-point link with r3), as test/abr.test.ts for OSPFv2.
// r3 is also an AS boundary router.
//
//   r2 (2001:db8:2::/64) ── area 0, 2001:db8::/64 ── r1 ── area 1, 2001:db8:9::/64 (cost 50) ── r3 (2001:db8:3::/64)
const EXT = {
  network: 0,
  network6: parseIpv6('2001:db8:64::'),
  length: 48,
  metric: 20,
  metricType: 2 as const,
  tag: 0,
};

function abr6(seed: number, stub = false) {
  return world(
    seed,
    [
      {
        name: 'r1',
        routerId: '1.1.1.1',
        interfaces: [
          { addr: '10.0.0.1/24', addr6: '2001:db8::1/64', area: 0 },
          { addr: '10.9.0.1/30', addr6: '2001:db8:9::1/64', type: 'point-to-point', cost: 50, area: 1 },
        ],
        ...(stub ? { stubAreas: { 1: 7 } } : {}),
      },
      {
        name: 'r2',
        routerId: '2.2.2.2',
        interfaces: [
          { addr: '10.0.0.2/24', addr6: '2001:db8::2/64', area: 0 },
          { addr: '10.2.0.1/24', addr6: '2001:db8:2::1/64', passive: true, area: 0 },
        ],
        externals: stub ? [EXT] : [],
      },
      {
        name: 'r3',
        routerId: '3.3.3.3',
        interfaces: [
          { addr: '10.9.0.2/30', addr6: '2001:db8:9::2/64', type: 'point-to-point', cost: 50, area: 1 },
          { addr: '10.3.0.1/24', addr6: '2001:db8:3::1/64', passive: true, area: 1 },
        ],
        externals: stub ? [] : [EXT],
        ...(stub ? { stubAreas: { 1: 7 } } : {}),
      },
    ],
    [
      [
        [0, 0],
        [1, 0],
      ],
      [
        [0, 1],
        [2, 0],
      ],
    ],
    3,
  );
}

test('OSPFv3 ABR: Inter-Area-Prefix LSAs carry each area’s prefixes into the other, Inter-Area-Router LSAs the ASBR', () => {
  const w = abr6(1);
  w.start();
  const [r1, r2, r3] = w.routers as [(typeof w.routers)[0], (typeof w.routers)[0], (typeof w.routers)[0]];
  assert.ok(
    w.run(
      60_000,
      () =>
        r2.sink.routes.has('2001:db8:3::/64') &&
        r3.sink.routes.has('2001:db8:2::/64') &&
        r2.sink.routes.has('2001:db8:64::/48'),
    ),
    JSON.stringify([...r2.sink.routes.keys(), ...r3.sink.routes.keys()]),
  );
  const r1ll0 = r1.engine.interfaces().find((i) => i.name === 'eth0')!.address;
  const r1ll1 = r1.engine.interfaces().find((i) => i.name === 'eth1')!.address;
  // r2 (backbone): area 1's prefixes at r1's cost plus its own; r3's external through the type 4 equivalent.
  assert.equal(r2.sink.text('2001:db8:3::/64'), `70 inter-area ${r1ll0}@0`);
  assert.equal(r2.sink.text('2001:db8:9::/64'), `60 inter-area ${r1ll0}@0`);
  assert.equal(r2.sink.text('2001:db8:64::/48'), `60 external-2 ${r1ll0}@0`);
  // r3 (area 1): the backbone's, the segment included.
  assert.equal(r3.sink.text('2001:db8:2::/64'), `70 inter-area ${r1ll1}@0`);
  assert.equal(r3.sink.text('2001:db8::/64'), `60 inter-area ${r1ll1}@0`);
  // r1's LSAs: an Inter-Area-Router LSA for r3 in the backbone, none back into area 1.
  const me = parseIpv4('1.1.1.1');
  const r3id = parseIpv4('3.3.3.3');
  assert.ok(r1.engine.lsa(0, LSA6_INTER_ROUTER, r3id, me) !== undefined);
  assert.equal(r1.engine.lsa(1, LSA6_INTER_ROUTER, r3id, me), undefined);
  const mine = (area: number) =>
    r1.engine
      .database(w.now())
      .filter(
        (l) => l.area === (area === 0 ? '0.0.0.0' : '0.0.0.1') && l.self && l.type === 'inter-area-prefix',
      );
  assert.equal(mine(0).length, 2, JSON.stringify(mine(0))); // 2001:db8:3::/64, 2001:db8:9::/64
  assert.equal(mine(1).length, 2, JSON.stringify(mine(1))); // 2001:db8:2::/64, 2001:db8::/64
  // r3's LAN goes away: r1 flushes its Inter-Area-Prefix LSA and r2 loses the route; r3 stops
  // redistributing: the external goes, and the Inter-Area-Router LSA with it.
  r3.engine.reconfigure(
    engineConfig({ ...r3.spec, interfaces: r3.spec.interfaces.slice(0, 1), externals: [] }, r3.stack),
    w.now(),
  );
  assert.ok(
    w.run(30_000, () => !r2.sink.routes.has('2001:db8:3::/64') && !r2.sink.routes.has('2001:db8:64::/48')),
  );
  assert.ok(
    w.run(30_000, () => (r1.engine.lsa(0, LSA6_INTER_ROUTER, r3id, me)?.age(w.now()) ?? 3600) >= 3600),
  );
  assert.equal(r2.sink.text('2001:db8:9::/64'), `60 inter-area ${r1ll0}@0`);
});

test('OSPFv3 stub area: no AS-External LSAs in it, ::/0 from the ABR at defaultCost', () => {
  const w = abr6(2, true);
  w.start();
  const [r1, r2, r3] = w.routers as [(typeof w.routers)[0], (typeof w.routers)[0], (typeof w.routers)[0]];
  assert.ok(
    w.run(60_000, () => r3.sink.routes.has('::/0') && r1.sink.routes.has('2001:db8:64::/48')),
    JSON.stringify([...r3.sink.routes.keys(), ...r1.sink.routes.keys()]),
  );
  w.run(10_000);
  const r1ll1 = r1.engine.interfaces().find((i) => i.name === 'eth1')!.address;
  assert.equal(r3.sink.text('::/0'), `57 inter-area ${r1ll1}@0`);
  assert.equal(r3.sink.text('2001:db8:2::/64'), `70 inter-area ${r1ll1}@0`);
  assert.equal(r3.sink.routes.has('2001:db8:64::/48'), false);
  assert.equal(r3.engine.show(w.now()).externalLsas, 0);
  assert.equal(r2.sink.routes.has('::/0'), false);
  assert.equal(r1.engine.drops.stub_mismatch ?? 0, 0);
});
