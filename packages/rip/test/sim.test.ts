// Three routers in a line, A — B — C, each with a stub network, on real stacks: RIPv2 and RIPng
// converge; cutting B—C makes B time its routes out (180 s after the last update it heard) and A
// follows by B's triggered update, with A never offering B the route back at a finite metric
// (poisoned reverse cuts the count to infinity). Seeded: a run replays.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ripWorld } from './sim-world.ts';

const line = (seed: number) =>
  ripWorld(
    seed,
    [
      {
        name: 'A',
        interfaces: [
          { v4: '10.0.12.1', v6: '2001:db8:12::1' },
          { v4: '10.1.0.1', v6: '2001:db8:a::1' },
        ],
      },
      {
        name: 'B',
        interfaces: [
          { v4: '10.0.12.2', v6: '2001:db8:12::2' },
          { v4: '10.0.23.2', v6: '2001:db8:23::2' },
        ],
      },
      {
        name: 'C',
        interfaces: [
          { v4: '10.0.23.3', v6: '2001:db8:23::3' },
          { v4: '10.3.0.3', v6: '2001:db8:c::3' },
        ],
      },
    ],
    [
      [
        [0, 0],
        [1, 0],
      ],
      [
        [1, 1],
        [2, 0],
      ],
    ],
  );

test('A — B — C converge for IPv4 and IPv6: every stub network everywhere, metrics counting hops', () => {
  const w = line(1);
  w.start();
  const [a, b, c] = w.routers as [(typeof w.routers)[0], (typeof w.routers)[0], (typeof w.routers)[0]];
  const converged = () =>
    a.sink4.routes.has('10.3.0.0/24') &&
    c.sink4.routes.has('10.1.0.0/24') &&
    a.sink6.routes.has('2001:db8:c::/64') &&
    c.sink6.routes.has('2001:db8:a::/64');
  assert.ok(w.run(10_000, converged), w.wire.join('\n'));
  // Requests and triggered updates (each held 1–5 s after the last): no waiting for the 30 s update.
  assert.ok(w.now() < 6000, `converged in ${w.now()} ms`);
  w.run(100_000);
  assert.deepEqual([...a.sink4.routes].sort(), [
    ['10.0.23.0/24', 'via 10.0.12.2 metric 2'],
    ['10.3.0.0/24', 'via 10.0.12.2 metric 3'],
  ]);
  assert.deepEqual([...b.sink4.routes].sort(), [
    ['10.1.0.0/24', 'via 10.0.12.1 metric 2'],
    ['10.3.0.0/24', 'via 10.0.23.3 metric 2'],
  ]);
  assert.equal(c.sink6.routes.get('2001:db8:a::/64')?.replace(/fe80::\S+/, 'LL'), 'via LL metric 3');
  assert.match(a.sink6.routes.get('2001:db8:c::/64')!, /^via fe80::.* metric 3$/);
  // Poisoned reverse on the wire: A offers B the networks it learned from B at 16.
  const fromA = w.wire.filter((l) => l.includes(' A>B rip response')).at(-1)!;
  assert.match(fromA, / 10\.3\.0\.0\/24=16/);
  assert.match(fromA, / 10\.1\.0\.0\/24=1/);
  // Replays: the same seed, the same wire.
  const again = line(1);
  again.start();
  again.run(110_000);
  const upTo100s = (l: string) => Number.parseFloat(l) < 100;
  assert.deepEqual(again.wire.filter(upTo100s), w.wire.filter(upTo100s));
});

test('B—C cut: B times C’s network out within 180 s of the last update, A follows at once; nothing counts to infinity; garbage collected 120 s later', () => {
  const w = line(2);
  w.start();
  const [a, b] = w.routers as [(typeof w.routers)[0], (typeof w.routers)[0]];
  w.run(100_000);
  const cutAt = w.now();
  const lastFromC = Math.max(
    ...w.wire.filter((l) => l.includes(' C>B rip response')).map((l) => Number.parseFloat(l) * 1000),
  );
  w.setLink(1, false);
  assert.ok(
    w.run(400_000, () => !a.sink4.routes.has('10.3.0.0/24') && !a.sink6.routes.has('2001:db8:c::/64')),
  );
  const bGone = b.sink4.log.find((l) => l.endsWith('- 10.3.0.0/24'))!;
  const aGone = a.sink4.log.find((l) => l.endsWith('- 10.3.0.0/24'))!;
  const tb = Number.parseFloat(bGone) * 1000;
  assert.equal(
    tb,
    lastFromC + 2 + 180_000,
    'the timeout, counted from the last update heard (2 ms on the link)',
  );
  assert.ok(Number.parseFloat(aGone) * 1000 - tb < 100, 'A hears the triggered update');
  assert.ok(tb - cutAt <= 180_000);
  // Each router learned C's network once and lost it once: never again through the other.
  for (const r of [a, b]) {
    assert.deepEqual(
      r.sink4.log.filter((l) => l.includes('10.3.0.0/24')).map((l) => l.split(' ')[1]),
      ['+', '-'],
      `${r.name}: ${r.sink4.log.join('\n')}`,
    );
    assert.deepEqual(
      r.sink6.log.filter((l) => l.includes('2001:db8:c::/64')).map((l) => l.split(' ')[1]),
      ['+', '-'],
    );
  }
  // Everything A said about it after the cut was 16.
  const after = w.wire.filter((l) => Number.parseFloat(l) * 1000 > cutAt && l.includes(' A>B rip response'));
  assert.ok(
    after.every((l) => !/10\.3\.0\.0\/24=(?!16)/.test(l)),
    after.join('\n'),
  );
  // Advertised as unreachable, then forgotten after the garbage collection time.
  assert.equal(b.rip.show(w.now()).routes.find((r) => r.prefix === '10.3.0.0/24')?.metric, 16);
  w.run(125_000);
  assert.equal(
    b.rip.show(w.now()).routes.find((r) => r.prefix === '10.3.0.0/24'),
    undefined,
  );
  assert.equal(
    a.rip.show(w.now()).routes.find((r) => r.prefix === '10.3.0.0/24'),
    undefined,
  );
  // The link comes back: the routes come back within one update interval.
  w.setLink(1, true);
  assert.ok(w.run(40_000, () => a.sink4.routes.has('10.3.0.0/24')));
});
