import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '@nexthop/addr';
import { LSA_SUMMARY_NET } from '../src/index.ts';
import { world } from './sim-world.ts';

// r1 is an area border router: its segment with r2 in the backbone, its point-to-point link with r3
// in area 1. Each of r2 and r3 has a stub LAN.
//
//   r2 (10.2.0.0/24) ── area 0, 10.0.0.0/24 ── r1 ── area 1, 10.9.0.0/30 (cost 50) ── r3 (10.3.0.0/24)
function abr(seed: number) {
  return world(
    seed,
    [
      {
        name: 'r1',
        routerId: '1.1.1.1',
        interfaces: [
          { addr: '10.0.0.1/24', area: 0 },
          { addr: '10.9.0.1/30', type: 'point-to-point', cost: 50, area: 1 },
        ],
      },
      {
        name: 'r2',
        routerId: '2.2.2.2',
        interfaces: [
          { addr: '10.0.0.2/24', area: 0 },
          { addr: '10.2.0.1/24', passive: true, area: 0 },
        ],
      },
      {
        name: 'r3',
        routerId: '3.3.3.3',
        interfaces: [
          { addr: '10.9.0.2/30', type: 'point-to-point', cost: 50, area: 1 },
          { addr: '10.3.0.1/24', passive: true, area: 1 },
        ],
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
  );
}

test('ABR: summaries (type 3) carry each area’s networks into the other; routes cross areas as inter-area', () => {
  const w = abr(1);
  w.start();
  const [r1, r2, r3] = w.routers as [(typeof w.routers)[0], (typeof w.routers)[0], (typeof w.routers)[0]];
  assert.ok(
    w.run(60_000, () => r2.sink.routes.has('10.3.0.0/24') && r3.sink.routes.has('10.2.0.0/24')),
    JSON.stringify([...r2.sink.routes.keys(), ...r3.sink.routes.keys()]),
  );
  // r2 (backbone) learns area 1's networks from r1's summaries, at r1's cost plus its own.
  assert.equal(r2.sink.text('10.3.0.0/24'), '70 inter-area 10.0.0.1@0');
  assert.equal(r2.sink.text('10.9.0.0/30'), '60 inter-area 10.0.0.1@0');
  // r3 (area 1) learns the backbone's, the segment included (r1's attached network).
  assert.equal(r3.sink.text('10.2.0.0/24'), '70 inter-area 10.9.0.1@0');
  assert.equal(r3.sink.text('10.0.0.0/24'), '60 inter-area 10.9.0.1@0');
  // r1 originated them: into area 1 the backbone's networks, into area 0 area 1's; none back.
  const adv = parseIpv4('1.1.1.1');
  assert.ok(r1.engine.lsa(1, LSA_SUMMARY_NET, parseIpv4('10.2.0.0'), adv) !== undefined);
  assert.ok(r1.engine.lsa(0, LSA_SUMMARY_NET, parseIpv4('10.3.0.0'), adv) !== undefined);
  assert.equal(r1.engine.lsa(0, LSA_SUMMARY_NET, parseIpv4('10.2.0.0'), adv), undefined);
  assert.equal(r1.engine.lsa(1, LSA_SUMMARY_NET, parseIpv4('10.3.0.0'), adv), undefined);
  // r3's LAN goes away: r1 flushes its summary and r2 loses the route.
  r3.engine.reconfigure(
    {
      routerId: parseIpv4('3.3.3.3'),
      areas: [
        {
          id: 1,
          interfaces: [
            {
              name: 'eth0',
              ifIndex: 0,
              address: parseIpv4('10.9.0.2'),
              prefixLength: 30,
              type: 'point-to-point',
              cost: 50,
              priority: 1,
              helloInterval: 1,
              deadInterval: 4,
              retransmitInterval: 2,
              transmitDelay: 1,
              passive: false,
              auth: { type: 'none' },
              mtu: 1500,
            },
          ],
        },
      ],
      externals: [],
      spfDelay: 50,
      spfHold: 200,
      minLsInterval: 1000,
    },
    w.now(),
  );
  assert.ok(w.run(30_000, () => !r2.sink.routes.has('10.3.0.0/24')));
});
