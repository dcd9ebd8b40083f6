import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '@nexthop/addr';
import { LSA_EXTERNAL, LSA_SUMMARY_ASBR, LSA_SUMMARY_NET } from '../src/index.ts';
import { engineConfig, type RouterSpec, world } from './sim-world.ts';

// r1 is an area border router between the backbone (its segment with r2) and area 1 (its
// point-to-point link with r3). r2 redistributes 192.168.50.0/24; in the second test r3 redistributes
// 192.168.30.0/24 instead.
//
//   r2 (10.2.0.0/24) ── area 0, 10.0.0.0/24 ── r1 ── area 1, 10.9.0.0/30 (cost 50) ── r3 (10.3.0.0/24)
const EXT2 = { network: parseIpv4('192.168.50.0'), length: 24, metric: 20, metricType: 2 as const, tag: 0 };
const EXT3 = { network: parseIpv4('192.168.30.0'), length: 24, metric: 30, metricType: 2 as const, tag: 0 };

function topology(seed: number, opts: { stub1?: number; stub3?: number; ext2?: boolean; ext3?: boolean }) {
  const specs: RouterSpec[] = [
    {
      name: 'r1',
      routerId: '1.1.1.1',
      interfaces: [
        { addr: '10.0.0.1/24', area: 0 },
        { addr: '10.9.0.1/30', type: 'point-to-point', cost: 50, area: 1 },
      ],
      ...(opts.stub1 !== undefined ? { stubAreas: { 1: opts.stub1 } } : {}),
    },
    {
      name: 'r2',
      routerId: '2.2.2.2',
      interfaces: [
        { addr: '10.0.0.2/24', area: 0 },
        { addr: '10.2.0.1/24', passive: true, area: 0 },
      ],
      externals: opts.ext2 === true ? [EXT2] : [],
    },
    {
      name: 'r3',
      routerId: '3.3.3.3',
      interfaces: [
        { addr: '10.9.0.2/30', type: 'point-to-point', cost: 50, area: 1 },
        { addr: '10.3.0.1/24', passive: true, area: 1 },
      ],
      externals: opts.ext3 === true ? [EXT3] : [],
      ...(opts.stub3 !== undefined ? { stubAreas: { 1: opts.stub3 } } : {}),
    },
  ];
  return world(seed, specs, [
    [
      [0, 0],
      [1, 0],
    ],
    [
      [0, 1],
      [2, 0],
    ],
  ]);
}

test('stub area (§3.6, §12.4.3.1): no AS-external LSAs in it, a default summary at defaultCost from the ABR', () => {
  const w = topology(3, { stub1: 7, stub3: 1, ext2: true });
  w.start();
  const [r1, r2, r3] = w.routers as [(typeof w.routers)[0], (typeof w.routers)[0], (typeof w.routers)[0]];
  assert.ok(
    w.run(60_000, () => r3.sink.routes.has('0.0.0.0/0') && r2.sink.routes.has('10.3.0.0/24')),
    JSON.stringify([...r3.sink.routes.keys(), ...r2.sink.routes.keys()]),
  );
  w.run(10_000);
  // r3 reaches everything outside its area by r1's default summary: 50 to r1, 7 from r1.
  assert.equal(r3.sink.text('0.0.0.0/0'), '57 inter-area 10.9.0.1@0');
  assert.equal(r3.sink.text('10.2.0.0/24'), '70 inter-area 10.9.0.1@0');
  // No external in the stub area: r3 has no route to it, nor the LSA; r1 (and r2) keep theirs.
  assert.equal(r3.sink.routes.has('192.168.50.0/24'), false);
  assert.equal(r3.engine.show(w.now()).externalLsas, 0);
  assert.equal(r3.engine.lsa(1, LSA_EXTERNAL, EXT2.network, parseIpv4('2.2.2.2')), undefined);
  assert.equal(r1.sink.text('192.168.50.0/24'), '10 external-2 10.0.0.2@0');
  // The default summary is r1's in area 1 only, with the stub area's options (no E-bit).
  const def = r1.engine.lsa(1, LSA_SUMMARY_NET, 0, parseIpv4('1.1.1.1'));
  assert.ok(def !== undefined);
  assert.equal(def.options, 0);
  assert.equal(r1.engine.lsa(0, LSA_SUMMARY_NET, 0, parseIpv4('1.1.1.1')), undefined);
  assert.equal(r2.sink.routes.has('0.0.0.0/0'), false);
  assert.ok(r1.engine.show(w.now()).areas.some((a) => a.id === '0.0.0.1' && a.stub));
  // Nothing was sent into the stub area to be dropped there.
  assert.equal(r3.engine.drops.stub_external ?? 0, 0);
});

test('stub area: a neighbour disagreeing on the E-bit never becomes adjacent, the Hellos counted', () => {
  const w = topology(4, { stub1: 1 });
  w.start();
  const [r1, , r3] = w.routers as [(typeof w.routers)[0], (typeof w.routers)[0], (typeof w.routers)[0]];
  w.run(30_000);
  assert.equal(
    r1.engine.neighbors(w.now()).some((n) => n.routerId === '3.3.3.3'),
    false,
  );
  assert.equal(r3.engine.neighbors(w.now()).length, 0);
  assert.ok((r1.engine.drops.stub_mismatch ?? 0) > 0);
  assert.ok((r3.engine.drops.stub_mismatch ?? 0) > 0);
  // The backbone side is unaffected.
  assert.ok(r1.engine.neighbors(w.now()).some((n) => n.routerId === '2.2.2.2' && n.state === 'Full'));
});

test('ASBR-summary (type 4, §12.4.3): an ASBR in area 1 has its external routes usable in the backbone', () => {
  const w = topology(5, { ext3: true });
  w.start();
  const [r1, r2] = w.routers as [(typeof w.routers)[0], (typeof w.routers)[0], (typeof w.routers)[0]];
  assert.ok(
    w.run(60_000, () => r2.sink.routes.has('192.168.30.0/24')),
    JSON.stringify([...r2.sink.routes.keys()]),
  );
  // r2 reaches the ASBR r3 through r1's type 4 at 10 + 50; E2 keeps the metric apart.
  const r = r2.sink.routes.get('192.168.30.0/24')!;
  assert.equal(r.type, 'external-2');
  assert.equal(r.type2Cost, 30);
  assert.equal(r2.sink.text('192.168.30.0/24'), '60 external-2 10.0.0.1@0');
  const asbr = r1.engine.lsa(0, LSA_SUMMARY_ASBR, parseIpv4('3.3.3.3'), parseIpv4('1.1.1.1'));
  assert.ok(asbr !== undefined);
  // None back into the ASBR's own area.
  assert.equal(r1.engine.lsa(1, LSA_SUMMARY_ASBR, parseIpv4('3.3.3.3'), parseIpv4('1.1.1.1')), undefined);
  // r3 stops redistributing: the external goes, and r1's type 4 with it (r3 is no ASBR any more).
  r3Reconfigure(w);
  assert.ok(w.run(60_000, () => !r2.sink.routes.has('192.168.30.0/24')));
  assert.ok(
    w.run(
      30_000,
      () =>
        (r1.engine.lsa(0, LSA_SUMMARY_ASBR, parseIpv4('3.3.3.3'), parseIpv4('1.1.1.1'))?.age(w.now()) ??
          3600) >= 3600,
    ),
  );
});

test('ASBR-summary: none into a stub area; the external stays out of it', () => {
  const w = topology(6, { stub1: 5, stub3: 5, ext2: true });
  w.start();
  const [r1, , r3] = w.routers as [(typeof w.routers)[0], (typeof w.routers)[0], (typeof w.routers)[0]];
  assert.ok(w.run(60_000, () => r3.sink.routes.has('0.0.0.0/0')));
  w.run(10_000);
  assert.equal(r1.engine.lsa(1, LSA_SUMMARY_ASBR, parseIpv4('2.2.2.2'), parseIpv4('1.1.1.1')), undefined);
  assert.equal(r3.sink.routes.has('192.168.50.0/24'), false);
});

function r3Reconfigure(w: ReturnType<typeof topology>): void {
  const r3 = w.routers[2]!;
  r3.engine.reconfigure(engineConfig({ ...r3.spec, externals: [] }), w.now());
}

test('stub area turned on in place: the adjacency comes back once both ends agree, the external gives way to the default', () => {
  const w = topology(7, { ext2: true });
  w.start();
  const [r1, r2, r3] = w.routers as [(typeof w.routers)[0], (typeof w.routers)[0], (typeof w.routers)[0]];
  assert.ok(w.run(60_000, () => r3.sink.routes.has('192.168.50.0/24')));
  assert.equal(r3.sink.routes.has('0.0.0.0/0'), false);
  // r1 first: r3 still sends the E-bit, so no adjacency on the link while they disagree.
  r1.engine.reconfigure(engineConfig({ ...r1.spec, stubAreas: { 1: 3 } }), w.now());
  w.run(8_000);
  assert.equal(
    r1.engine.neighbors(w.now()).some((n) => n.routerId === '3.3.3.3'),
    false,
  );
  assert.ok((r1.engine.drops.stub_mismatch ?? 0) > 0);
  r3.engine.reconfigure(engineConfig({ ...r3.spec, stubAreas: { 1: 3 } }), w.now());
  assert.ok(
    w.run(
      60_000,
      () =>
        r3.sink.routes.has('0.0.0.0/0') &&
        !r3.sink.routes.has('192.168.50.0/24') &&
        r2.sink.routes.has('10.3.0.0/24'),
    ),
    JSON.stringify([...r3.sink.routes.keys()]),
  );
  assert.equal(r3.sink.text('0.0.0.0/0'), '53 inter-area 10.9.0.1@0');
  assert.equal(r3.engine.show(w.now()).externalLsas, 0);
  assert.ok(r1.engine.neighbors(w.now()).some((n) => n.routerId === '3.3.3.3' && n.state === 'Full'));
});
