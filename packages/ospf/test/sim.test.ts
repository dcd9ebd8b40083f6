import assert from 'node:assert/strict';
import { test } from 'node:test';
import { world } from './sim-world.ts';

// Three routers on one broadcast segment (10.0.0.0/24), each with a stub LAN, and a
// point-to-point link between r1 and r3 (10.9.0.0/30).
//
//   r1 (pri 1, 1.1.1.1) ─┐                 r1 ── p2p (cost 50) ── r3
//   r2 (pri 10, 2.2.2.2) ├─ 10.0.0.0/24
//   r3 (pri 5, 3.3.3.3) ─┘
function threeRouters(seed: number) {
  return world(
    seed,
    [
      {
        name: 'r1',
        routerId: '1.1.1.1',
        interfaces: [
          { addr: '10.0.0.1/24', priority: 1 },
          { addr: '10.1.0.1/24', passive: true },
          { addr: '10.9.0.1/30', type: 'point-to-point', cost: 50 },
        ],
      },
      {
        name: 'r2',
        routerId: '2.2.2.2',
        interfaces: [
          { addr: '10.0.0.2/24', priority: 10 },
          { addr: '10.2.0.1/24', passive: true },
        ],
      },
      {
        name: 'r3',
        routerId: '3.3.3.3',
        interfaces: [
          { addr: '10.0.0.3/24', priority: 5 },
          { addr: '10.3.0.1/24', passive: true },
          { addr: '10.9.0.2/30', type: 'point-to-point', cost: 50 },
        ],
        externals: [{ network: 0xc0a86400, length: 24, metric: 20, metricType: 2, tag: 0 }],
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
  );
}

test('three routers on a broadcast segment and a point-to-point link converge: DR/BDR by priority, routes with costs', () => {
  const w = threeRouters(1);
  w.start();
  const [r1, r2, r3] = w.routers as [(typeof w.routers)[0], (typeof w.routers)[0], (typeof w.routers)[0]];
  const ok = w.run(
    60_000,
    () => r1.sink.routes.has('192.168.100.0/24') && w.converged() && r2.sink.routes.size >= 4,
  );
  assert.ok(ok, `not converged:\n${w.trace.join('\n')}`);
  w.run(10_000);
  const ifs = r1.engine.interfaces();
  assert.equal(ifs[0]!.dr, '2.2.2.2');
  assert.equal(ifs[0]!.bdr, '3.3.3.3');
  assert.equal(ifs[0]!.state, 'DROther');
  assert.equal(r2.engine.interfaces()[0]!.state, 'DR');
  assert.equal(r3.engine.interfaces()[0]!.state, 'Backup');
  const n1 = r1.engine.neighbors(w.now());
  assert.deepEqual(n1.map((n) => `${n.routerId} ${n.interface} ${n.state} ${n.role}`).sort(), [
    '2.2.2.2 eth0 Full DR',
    '3.3.3.3 eth0 Full BDR',
    '3.3.3.3 eth2 Full ',
  ]);
  // r1 reaches r2's LAN over the segment (10 + 0 + 1 passive cost 10 = 20) through r2's address.
  assert.equal(r1.sink.text('10.2.0.0/24'), '20 intra-area 10.0.0.2@0');
  assert.equal(r1.sink.text('10.3.0.0/24'), '20 intra-area 10.0.0.3@0');
  assert.equal(r2.sink.text('10.1.0.0/24'), '20 intra-area 10.0.0.1@0');
  // The /30 from r2: through r1 or r3 at equal cost (ECMP).
  assert.equal(r2.sink.text('10.9.0.0/30'), '60 intra-area 10.0.0.1@0,10.0.0.3@0');
  assert.equal(r1.sink.text('192.168.100.0/24'), '10 external-2 10.0.0.3@0');
  assert.equal(r1.sink.routes.has('10.0.0.0/24'), false, 'attached networks are connected routes');
  // Each LSDB holds 3 router LSAs and one network LSA (the DR's).
  const db = r1.engine.database(w.now());
  assert.deepEqual(
    db.filter((l) => l.area !== null).map((l) => `${l.type} ${l.id} ${l.advRouter}`),
    [
      'network 10.0.0.2 2.2.2.2',
      'router 1.1.1.1 1.1.1.1',
      'router 2.2.2.2 2.2.2.2',
      'router 3.3.3.3 3.3.3.3',
    ],
  );
});

test('a link failure reconverges: the segment cut, r1 reaches r2 and r3 over the point-to-point link', () => {
  const w = threeRouters(2);
  w.start();
  const [r1, , r3] = w.routers as [(typeof w.routers)[0], (typeof w.routers)[0], (typeof w.routers)[0]];
  assert.ok(w.run(60_000, () => w.converged() && r1.sink.routes.has('10.3.0.0/24')));
  w.run(5_000);
  // r1's side of the segment fails (carrier down reported by the host).
  const t0 = w.now();
  r1.engine.setLinkUp(0, false, w.now());
  const ok = w.run(30_000, () => r1.sink.text('10.3.0.0/24') === '60 intra-area 10.9.0.2@2');
  assert.ok(ok, `r1: ${r1.sink.text('10.3.0.0/24')}\n${w.trace.slice(-30).join('\n')}`);
  const ok2 = w.run(30_000, () => r3.sink.text('10.1.0.0/24') === '60 intra-area 10.9.0.1@2');
  assert.ok(ok2, `r3: ${r3.sink.text('10.1.0.0/24')}`);
  assert.ok(w.now() - t0 < 15_000, `reconverged in ${w.now() - t0} ms`);
  // And back.
  r1.engine.setLinkUp(0, true, w.now());
  assert.ok(w.run(60_000, () => r1.sink.text('10.3.0.0/24') === '20 intra-area 10.0.0.3@0'));
});

test('a silent failure (frames lost) is found by the dead interval', () => {
  const w = threeRouters(3);
  w.start();
  const [r1] = w.routers;
  assert.ok(w.run(60_000, () => w.converged() && r1!.sink.routes.has('10.2.0.0/24')));
  w.setSegment(0, false);
  const t0 = w.now();
  // r2 is cut off from everyone; r1 reaches r3 over the point-to-point link.
  assert.ok(
    w.run(
      30_000,
      () =>
        r1!.sink.text('10.3.0.0/24') === '60 intra-area 10.9.0.2@2' && !r1!.sink.routes.has('10.2.0.0/24'),
    ),
  );
  const took = w.now() - t0;
  assert.ok(took >= 3_000 && took < 12_000, `took ${took}`);
});

test('MD5 authentication: matching keys form adjacencies; a wrong key is dropped and counted', () => {
  const w = world(
    4,
    [
      { name: 'a', routerId: '1.1.1.1', interfaces: [{ addr: '10.0.0.1/24', md5Key: 'secret' }] },
      { name: 'b', routerId: '2.2.2.2', interfaces: [{ addr: '10.0.0.2/24', md5Key: 'secret' }] },
      { name: 'c', routerId: '3.3.3.3', interfaces: [{ addr: '10.0.0.3/24', md5Key: 'wrong' }] },
    ],
    [
      [
        [0, 0],
        [1, 0],
        [2, 0],
      ],
    ],
  );
  w.start();
  const [a, b, c] = w.routers as [(typeof w.routers)[0], (typeof w.routers)[0], (typeof w.routers)[0]];
  assert.ok(w.run(30_000, () => a.engine.neighbors(w.now()).some((n) => n.state === 'Full')));
  assert.deepEqual(
    a.engine.neighbors(w.now()).map((n) => n.routerId),
    ['2.2.2.2'],
  );
  assert.equal(c.engine.neighbors(w.now()).length, 0);
  assert.ok((a.engine.show(w.now()).counters.drops.bad_auth ?? 0) > 0);
  assert.ok((c.engine.show(w.now()).counters.drops.bad_auth ?? 0) > 0);
  void b;
});
