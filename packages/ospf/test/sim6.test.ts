import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv6 } from '@nexthop/addr';
import { world } from './sim-world.ts';

// OSPFv3 (RFC 5340) on the same engine: the topology of sim.test.ts with IPv6 prefixes.
//
//   r1 (pri 1, 1.1.1.1) ─┐                 r1 ── p2p (cost 50) ── r3
//   r2 (pri 10, 2.2.2.2) ├─ 2001:db8::/64
//   r3 (pri 5, 3.3.3.3) ─┘
function threeRouters(seed: number) {
  return world(
    seed,
    [
      {
        name: 'r1',
        routerId: '1.1.1.1',
        interfaces: [
          { addr: '10.0.0.1/24', addr6: '2001:db8::1/64', priority: 1 },
          { addr: '10.1.0.1/24', addr6: '2001:db8:1::1/64', passive: true },
          { addr: '10.9.0.1/30', addr6: '2001:db8:9::1/64', type: 'point-to-point', cost: 50 },
        ],
      },
      {
        name: 'r2',
        routerId: '2.2.2.2',
        interfaces: [
          { addr: '10.0.0.2/24', addr6: '2001:db8::2/64', priority: 10 },
          { addr: '10.2.0.1/24', addr6: '2001:db8:2::1/64', passive: true },
        ],
      },
      {
        name: 'r3',
        routerId: '3.3.3.3',
        interfaces: [
          { addr: '10.0.0.3/24', addr6: '2001:db8::3/64', priority: 5 },
          { addr: '10.3.0.1/24', addr6: '2001:db8:3::1/64', passive: true },
          { addr: '10.9.0.2/30', addr6: '2001:db8:9::2/64', type: 'point-to-point', cost: 50 },
        ],
        externals: [
          { network: 0, network6: parseIpv6('2001:db8:64::'), length: 48, metric: 20, metricType: 2, tag: 0 },
        ],
      },
    ],
    [
      [
        [0, 0],
        [1, 0],
        [2, 0],
      ],
      [
        [0, 2],
        [2, 2],
      ],
    ],
    3,
  );
}

test('OSPFv3: three routers converge — DR/BDR by priority (router ids), Link and Intra-Area-Prefix LSAs, routes via link-local next hops', () => {
  const w = threeRouters(1);
  w.start();
  const [r1, r2, r3] = w.routers as [(typeof w.routers)[0], (typeof w.routers)[0], (typeof w.routers)[0]];
  assert.ok(w.run(60_000, () => w.converged() && r1.sink.routes.size === 3 && r2.sink.routes.size === 4));
  const seg = r1.engine.interfaces().find((i) => i.name === 'eth0')!;
  assert.deepEqual([seg.state, seg.dr, seg.bdr], ['DROther', '2.2.2.2', '3.3.3.3']);
  assert.match(seg.address, /^fe80::/);
  const n = r1.engine.neighbors(w.now());
  assert.deepEqual(n.map((x) => `${x.routerId} ${x.interface} ${x.state} ${x.role}`).sort(), [
    '2.2.2.2 eth0 Full DR',
    '3.3.3.3 eth0 Full BDR',
    '3.3.3.3 eth2 Full ',
  ]);
  // Link-local next hops: r2's and r3's addresses on the segment.
  const r2ll = r2.engine.interfaces().find((i) => i.name === 'eth0')!.address;
  const r3ll = r3.engine.interfaces().find((i) => i.name === 'eth0')!.address;
  assert.equal(r1.sink.text('2001:db8:2::/64'), `20 intra-area ${r2ll}@0`);
  assert.equal(r1.sink.text('2001:db8:3::/64'), `20 intra-area ${r3ll}@0`);
  assert.equal(r1.sink.text('2001:db8:64::/48'), `10 external-2 ${r3ll}@0`);
  assert.equal(r1.sink.routes.has('2001:db8::/64'), false, 'attached prefixes are connected routes');
  // ECMP to the point-to-point link's prefix.
  const r1ll = r1.engine.interfaces().find((i) => i.name === 'eth0')!.address;
  assert.equal(r2.sink.text('2001:db8:9::/64'), `60 intra-area ${[r1ll, r3ll].sort().join('@0,')}@0`);
  // The DR's Network-LSA and its Intra-Area-Prefix LSA for the segment are in everyone's database.
  const db = r1.engine.database(w.now());
  assert.ok(db.some((l) => l.type === 'network' && l.advRouter === '2.2.2.2'));
  assert.ok(
    db.some((l) => l.type === 'intra-area-prefix' && l.advRouter === '2.2.2.2' && l.id !== '0.0.0.0'),
  );
  assert.equal(db.filter((l) => l.type === 'link' && l.interface === 'eth0').length, 3);
  assert.deepEqual(r1.engine.show(w.now()).version, 3);
});

test('OSPFv3: the segment cut, r1 reaches r3 over the point-to-point link', () => {
  const w = threeRouters(2);
  w.start();
  const [r1] = w.routers as [(typeof w.routers)[0]];
  assert.ok(w.run(60_000, () => w.converged() && r1.sink.routes.size === 3));
  w.setSegment(0, false);
  assert.ok(
    w.run(30_000, () => r1.sink.text('2001:db8:3::/64')?.startsWith('60 intra-area fe80::') === true),
  );
  assert.equal(r1.sink.routes.has('2001:db8:2::/64'), false);
  w.setSegment(0, true);
  assert.ok(w.run(60_000, () => r1.sink.text('2001:db8:3::/64')?.startsWith('20 ') === true));
});
