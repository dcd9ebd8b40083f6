// BGP engines on real VR stacks (sim-world.ts): two routers on one link with two eBGP sessions
// between them, one over IPv4 and one over IPv6, each carrying IPv4 and IPv6 unicast (MP-BGP,
// RFC 4760; the other family's next hop configured). Everything is a function of the seed.
//
//   A  AS 65001  10.0.0.1/24  2001:db8::1/64 ─── 10.0.0.2/24  2001:db8::2/64  AS 65002  B
//      exports 10.1.0.0/16, 2001:db8:1::/48          exports 10.2.0.0/16, 2001:db8:2::/48
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4, parseIpv6 } from '@nexthop/addr';
import { EV_ERROR, EV_HANGUP, EV_READABLE, EV_WRITABLE } from '@nexthop/stack';
import {
  ACCEPT_ALL,
  EV_ERROR as BGP_EV_ERROR,
  EV_HANGUP as BGP_EV_HANGUP,
  EV_READABLE as BGP_EV_READABLE,
  EV_WRITABLE as BGP_EV_WRITABLE,
  type BgpPeerConfig,
} from '../src/index.ts';
import { type Router, type RouterSpec, world as simWorld } from './sim-world.ts';

function twoRouters(
  name: string,
  as: number,
  v4: string,
  v6: string,
  peer4: string,
  peer6: string,
  peerAs: number,
): RouterSpec {
  const common = {
    remoteAs: peerAs,
    import: ACCEPT_ALL,
    export: ACCEPT_ALL,
    holdTime: 9,
    connectRetry: 5,
    idleHold: 1,
    families: ['ipv4', 'ipv6'] as const,
  };
  const peers: BgpPeerConfig[] = [
    { ...common, name: 'over4', address: parseIpv4(peer4), nextHop6: parseIpv6(v6) },
    { ...common, name: 'over6', address: parseIpv6(peer6), nextHop4: parseIpv4(v4) },
  ];
  return { name, as, interfaces: [{ v4, v6 }], peers };
}

function world(seed: number) {
  const w = simWorld(
    seed,
    [
      twoRouters('a', 65001, '10.0.0.1', '2001:db8::1', '10.0.0.2', '2001:db8::2', 65002),
      twoRouters('b', 65002, '10.0.0.2', '2001:db8::2', '10.0.0.1', '2001:db8::1', 65001),
    ],
    [
      [
        [0, 0],
        [1, 0],
      ],
    ],
  );
  const [a, b] = w.routers as [Router, Router];
  a.engine.announce4(parseIpv4('10.1.0.0'), 16);
  a.engine.announce6(parseIpv6('2001:db8:1::'), 48);
  b.engine.announce4(parseIpv4('10.2.0.0'), 16);
  b.engine.announce6(parseIpv6('2001:db8:2::'), 48);
  w.start();
  return { ...w, a, b, setLink: (up: boolean) => w.setLink(0, up) };
}

/** Both sessions up, and each router has the other's two prefixes (one best route each). */
const ALL_UP = (w: ReturnType<typeof world>) => () =>
  w.allEstablished() && w.a.sink.routes.size === 2 && w.b.sink.routes.size === 2;

test('socket events: the engine and the stack agree on EV_* numbers', () => {
  assert.deepEqual(
    [BGP_EV_READABLE, BGP_EV_WRITABLE, BGP_EV_ERROR, BGP_EV_HANGUP],
    [EV_READABLE, EV_WRITABLE, EV_ERROR, EV_HANGUP],
  );
});

test('sim: eBGP over IPv4 and over IPv6 between two stacks; a link failure takes the routes away, its repair brings them back', () => {
  const w = world(7);
  assert.ok(w.run(60_000, ALL_UP(w)), `sessions up: ${w.trace.join('\n')}`);
  const upAt = w.now();
  if (process.env.BGP_TRACE) console.log(w.trace.join('\n'));
  // Each prefix came over both sessions; the sink gets the best of the two, under the engine's
  // name: equal but for the peer address, the lower wins (RFC 4271 §9.1.2.2 (g)), IPv4 first.
  assert.deepEqual(w.a.sink.sorted(), [
    'bgp-a 10.2.0.0/16 via 10.0.0.2',
    'bgp-a 2001:db8:2::/48 via 2001:db8::2',
  ]);
  assert.deepEqual(w.b.sink.sorted(), [
    'bgp-b 10.1.0.0/16 via 10.0.0.1',
    'bgp-b 2001:db8:1::/48 via 2001:db8::1',
  ]);
  assert.deepEqual(
    w.a.engine.routes({ prefix: '10.2.0.0/16' }).map((r) => [r.from, r.best, r.asPath]),
    [
      ['over4', true, '65002'],
      ['over6', false, '65002'],
    ],
  );
  const show = w.a.engine.show(w.now());
  const over4 = show.peers.find((p) => p.name === 'over4')!;
  assert.deepEqual(over4.capabilities?.families, ['ipv4-unicast', 'ipv6-unicast']);
  assert.equal(over4.holdTime, 9);
  assert.deepEqual(over4.prefixes, { received: 2, accepted: 2, advertised: 2 });

  // Sessions stay up on keepalives alone for a minute.
  w.run(60_000);
  assert.ok(ALL_UP(w)(), 'still up after a minute');

  // The link fails: no NOTIFICATION gets through; the hold timer (9 s) takes each session down.
  w.setLink(false);
  const downAt = w.now();
  assert.ok(
    w.run(20_000, () => w.a.sink.routes.size === 0 && w.b.sink.routes.size === 0),
    'routes withdrawn after the hold time',
  );
  assert.ok(w.now() - downAt <= 9_000 + 100, `withdrawn ${w.now() - downAt} ms after the failure`);
  for (const r of [w.a, w.b]) {
    for (const p of r.engine.show(w.now()).peers) {
      assert.notEqual(p.state, 'Established');
      assert.match(p.lastError ?? '', /hold timer expired/);
      assert.equal((p.counters as { flaps: number }).flaps, 1);
    }
  }
  assert.ok(w.dropped() > 0);

  // Repaired: the sessions come back (ConnectRetry 5 s) and the routes with them.
  w.setLink(true);
  assert.ok(w.run(60_000, ALL_UP(w)), `sessions back: ${w.trace.slice(-12).join('\n')}`);
  assert.equal(w.a.sink.routes.size, 2);
  assert.ok(upAt > 0);
});

test('sim: a seed gives the same run', () => {
  const runOnce = () => {
    const w = world(11);
    w.run(30_000, ALL_UP(w));
    w.setLink(false);
    w.run(15_000);
    w.setLink(true);
    w.run(30_000, ALL_UP(w));
    return w.trace.join('\n');
  };
  assert.equal(runOnce(), runOnce());
});

// ---- three routers in a line: propagation ----
//
//   A  AS 65001  10.0.0.1 ─── 10.0.0.2  B  AS 65002  10.0.1.2 ─── 10.0.1.3  C  AS 65003
//   originates 10.1.0.0/16 and 2001:db8:1::/48; eBGP A–B and B–C, IPv4 sessions carrying both
//   families (the IPv6 next hop configured per router).

const EBGP = {
  import: ACCEPT_ALL,
  export: ACCEPT_ALL,
  holdTime: 9,
  connectRetry: 5,
  idleHold: 1,
} as const;

function line(seed: number) {
  const nh6 = (n: number) => parseIpv6(`2001:db8:ffff::${n}`);
  const w = simWorld(
    seed,
    [
      {
        name: 'a',
        as: 65001,
        interfaces: [{ v4: '10.0.0.1' }],
        peers: [{ ...EBGP, name: 'b', address: parseIpv4('10.0.0.2'), remoteAs: 65002, nextHop6: nh6(1) }],
      },
      {
        name: 'b',
        as: 65002,
        interfaces: [{ v4: '10.0.0.2' }, { v4: '10.0.1.2' }],
        peers: [
          { ...EBGP, name: 'a', address: parseIpv4('10.0.0.1'), remoteAs: 65001, nextHop6: nh6(2) },
          { ...EBGP, name: 'c', address: parseIpv4('10.0.1.3'), remoteAs: 65003, nextHop6: nh6(2) },
        ],
      },
      {
        name: 'c',
        as: 65003,
        interfaces: [{ v4: '10.0.1.3' }],
        peers: [{ ...EBGP, name: 'b', address: parseIpv4('10.0.1.2'), remoteAs: 65002, nextHop6: nh6(3) }],
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
  const [a, b, c] = w.routers as [Router, Router, Router];
  w.start();
  return { ...w, a, b, c };
}

test('sim: A—B—C over eBGP: a route A originates reaches C with AS path "B A", and its withdrawal follows', () => {
  const w = line(3);
  assert.ok(w.run(60_000, w.allEstablished), `sessions up: ${w.trace.join('\n')}`);
  w.a.engine.announce4(parseIpv4('10.1.0.0'), 16, { med: 50 });
  w.a.engine.announce6(parseIpv6('2001:db8:1::'), 48);
  assert.ok(
    w.run(10_000, () => w.c.sink.routes.size === 2),
    'C has both routes',
  );
  // C's RIB gets B's next hops (eBGP next hop self), the path through B then A.
  assert.deepEqual(w.c.sink.sorted(), [
    'bgp-c 10.1.0.0/16 via 10.0.1.2',
    'bgp-c 2001:db8:1::/48 via 2001:db8:ffff::2',
  ]);
  assert.deepEqual(w.b.sink.sorted(), [
    'bgp-b 10.1.0.0/16 via 10.0.0.1',
    'bgp-b 2001:db8:1::/48 via 2001:db8:ffff::1',
  ]);
  const [atC] = w.c.engine.routes({ prefix: '10.1.0.0/16' });
  assert.equal(atC?.asPath, '65002 65001');
  assert.equal(atC?.from, 'b');
  // RFC 4271 §5.1.4: A's MED reached B (its neighbour) but B did not pass it on to C.
  assert.equal(w.b.engine.routes({ prefix: '10.1.0.0/16' })[0]?.med, 50);
  assert.equal(atC?.med, null);
  // Nothing is sent back: A's only route to its prefix is its own; C's best came from B.
  assert.equal(w.a.sink.routes.size, 0);
  assert.deepEqual(
    w.a.engine.routes({ prefix: '10.1.0.0/16' }).map((r) => r.from),
    ['local'],
  );
  const bShow = w.b.engine.show(w.now()).peers;
  assert.deepEqual(
    bShow.map((p) => [p.name, p.prefixes.advertised]),
    [
      ['a', 0],
      ['c', 2],
    ],
  );

  // The cost of a change follows what it touches: one prefix withdrawn is one decision and one
  // RIB call at B and at C, whatever else they hold.
  const cost = (r: Router) => [r.engine.rib4.selections + r.engine.rib6.selections, r.sink.calls];
  const [bBefore, cBefore] = [cost(w.b), cost(w.c)];
  w.a.engine.withdraw4(parseIpv4('10.1.0.0'), 16);
  assert.ok(
    w.run(10_000, () => w.c.sink.routes.size === 1),
    'the withdrawal reaches C',
  );
  assert.deepEqual([cost(w.b), cost(w.c)], [bBefore.map((n) => n + 1), cBefore.map((n) => n + 1)]);
  assert.deepEqual(w.c.sink.sorted(), ['bgp-c 2001:db8:1::/48 via 2001:db8:ffff::2']);
  assert.deepEqual(w.c.engine.routes({ prefix: '10.1.0.0/16' }), []);
  assert.equal(w.b.sink.routes.size, 1);

  // A—B fails: B's routes from A go with the session (hold timer), and C loses them too.
  w.setLink(0, false);
  assert.ok(
    w.run(20_000, () => w.c.sink.routes.size === 0),
    'C loses the IPv6 route when A—B goes down',
  );
});

// ---- route reflection: B reflects for clients A and C, and non-clients D and E (one AS) ----
//
//        A (client)   C (client)
//              \       /
//               B  (RR, cluster 192.0.2.1)
//              /       \
//     D (non-client)   E (non-client)

function reflection(seed: number) {
  const IBGP = { remoteAs: 65000, holdTime: 9, connectRetry: 5, idleHold: 1, families: ['ipv4'] } as const;
  const leaf = (name: string, index: number) => ({
    name,
    as: 65000,
    interfaces: [{ v4: `10.0.${index}.1` }],
    peers: [{ ...IBGP, name: 'b', address: parseIpv4(`10.0.${index}.2`) }],
  });
  const clients = new Set(['a', 'c']);
  const bPeers = (clientNames: Set<string>): BgpPeerConfig[] =>
    ['a', 'c', 'd', 'e'].map((name, i) => ({
      ...IBGP,
      name,
      address: parseIpv4(`10.0.${i}.1`),
      routeReflectorClient: clientNames.has(name),
    }));
  const w = simWorld(
    seed,
    [
      leaf('a', 0),
      {
        name: 'b',
        as: 65000,
        routerId: '10.255.0.2',
        clusterId: '192.0.2.1',
        interfaces: [0, 1, 2, 3].map((i) => ({ v4: `10.0.${i}.2` })),
        peers: bPeers(clients),
      },
      leaf('c', 1),
      leaf('d', 2),
      leaf('e', 3),
    ],
    [0, 1, 2, 3].map(
      (i) =>
        [
          [i === 0 ? 0 : i + 1, 0],
          [1, i],
        ] as const,
    ),
  );
  const [a, b, c, d, e] = w.routers as [Router, Router, Router, Router, Router];
  w.start();
  return { ...w, a, b, c, d, e, bPeers };
}

test('sim: route reflection (RFC 4456): client routes to every peer with ORIGINATOR_ID and CLUSTER_LIST, non-client routes to clients only', () => {
  const w = reflection(5);
  assert.ok(w.run(60_000, w.allEstablished), `sessions up: ${w.trace.join('\n')}`);
  w.a.engine.announce4(parseIpv4('10.1.0.0'), 16);
  w.d.engine.announce4(parseIpv4('10.4.0.0'), 16);
  const has = (r: Router, prefix: string) => w.routes(r, prefix).length > 0;
  assert.ok(
    w.run(10_000, () => has(w.c, '10.1.0.0/16') && has(w.d, '10.1.0.0/16') && has(w.e, '10.1.0.0/16')),
    "A's route reflected to C, D and E",
  );
  assert.ok(
    w.run(10_000, () => has(w.a, '10.4.0.0/16') && has(w.c, '10.4.0.0/16')),
    "D's to A and C",
  );
  w.run(5_000);

  // At C: A's route, its next hop unchanged (A's address), A's identifier as ORIGINATOR_ID and B's
  // cluster on the CLUSTER_LIST (RFC 4456 §8).
  const [atC] = w.c.engine.routes({ prefix: '10.1.0.0/16' });
  assert.deepEqual(
    atC && {
      from: atC.from,
      nextHop: atC.nextHop,
      asPath: atC.asPath,
      localPref: atC.localPref,
      originatorId: atC.originatorId,
      clusterList: atC.clusterList,
    },
    {
      from: 'b',
      nextHop: '10.0.0.1',
      asPath: '',
      localPref: 100,
      originatorId: '10.0.0.1',
      clusterList: ['192.0.2.1'],
    },
  );
  assert.deepEqual(w.c.sink.sorted(), [
    'bgp-c 10.1.0.0/16 via 10.0.0.1 ibgp',
    'bgp-c 10.4.0.0/16 via 10.0.2.1 ibgp',
  ]);
  // Not reflected back to A: its only route to its prefix is its own, and it refused nothing.
  assert.deepEqual(
    w.a.engine.routes({ prefix: '10.1.0.0/16' }).map((r) => r.from),
    ['local'],
  );
  assert.deepEqual(w.a.engine.show(w.now()).peers[0]?.counters.rejected, {});
  // From the non-client D: to the clients A and C, not to the non-client E.
  assert.equal(w.routes(w.e, '10.4.0.0/16').length, 0);
  assert.deepEqual(w.e.sink.sorted(), ['bgp-e 10.1.0.0/16 via 10.0.0.1 ibgp']);
  assert.deepEqual(w.routes(w.a, '10.4.0.0/16')[0]?.originatorId, '10.0.2.1');

  // D becomes a client, in place (no session reset): E gets D's route now.
  const flaps = () => w.b.engine.show(w.now()).peers.map((p) => (p.counters as { flaps: number }).flaps);
  const before = flaps();
  const cfg = {
    localAs: 65000,
    routerId: parseIpv4('10.255.0.2'),
    clusterId: parseIpv4('192.0.2.1'),
    peers: w.bPeers(new Set(['a', 'c', 'd'])),
  };
  assert.equal(w.b.engine.reconfigure(cfg, w.now()), true);
  assert.ok(
    w.run(5_000, () => has(w.e, '10.4.0.0/16')),
    "E gets D's route once D is a client",
  );
  assert.deepEqual(flaps(), before);
  // Back to a non-client: E's copy is withdrawn.
  assert.equal(w.b.engine.reconfigure({ ...cfg, peers: w.bPeers(new Set(['a', 'c'])) }, w.now()), true);
  assert.ok(
    w.run(5_000, () => !has(w.e, '10.4.0.0/16')),
    "E loses D's route when D is no client",
  );
});

// RFC 4724 between two engines on one IPv4 session carrying both families: B's process dies (its
// stack with it: no FIN, no RST) and a new one starts on the same addresses; A, the Receiving
// Speaker, keeps B's routes in its RIB all along, and B, the Restarting Speaker, defers its
// selection until A's End-of-RIB.
function grWorld(seed: number) {
  const gr = {
    restartTime: 120,
    staleTime: 360,
    restart: true,
    forwardingState: true,
    selectionDeferralTime: 360,
  };
  const peer = (address: string, remoteAs: number, nh6: string): BgpPeerConfig => ({
    name: 'peer',
    address: parseIpv4(address),
    remoteAs,
    import: ACCEPT_ALL,
    export: ACCEPT_ALL,
    holdTime: 9,
    connectRetry: 5,
    idleHold: 1,
    nextHop6: parseIpv6(nh6),
  });
  const w = simWorld(
    seed,
    [
      {
        name: 'a',
        as: 65001,
        interfaces: [{ v4: '10.0.0.1', v6: '2001:db8::1' }],
        peers: [peer('10.0.0.2', 65002, '2001:db8::1')],
        gracefulRestart: gr,
      },
      {
        name: 'b',
        as: 65002,
        interfaces: [{ v4: '10.0.0.2', v6: '2001:db8::2' }],
        peers: [peer('10.0.0.1', 65001, '2001:db8::2')],
        gracefulRestart: gr,
      },
    ],
    [
      [
        [0, 0],
        [1, 0],
      ],
    ],
  );
  const announceB = (b: Router) => {
    b.engine.announce4(parseIpv4('10.2.0.0'), 16);
    b.engine.announce6(parseIpv6('2001:db8:2::'), 48);
  };
  w.routers[0]!.engine.announce4(parseIpv4('10.1.0.0'), 16);
  announceB(w.routers[1]!);
  w.start();
  return { ...w, announceB };
}

const B_ROUTES = ['bgp-a 10.2.0.0/16 via 10.0.0.2', 'bgp-a 2001:db8:2::/48 via 2001:db8::2'];

test('sim: graceful restart — B dies silently; A keeps its routes stale (hold timer), B comes back with R, defers, and A never withdraws them', () => {
  const w = grWorld(5);
  const a = () => w.routers[0]!;
  const b = () => w.routers[1]!;
  const up = () => w.allEstablished() && a().sink.routes.size === 2 && b().sink.routes.size === 1;
  assert.ok(w.run(60_000, up), `up: ${w.trace.join('\n')}`);
  assert.equal(a().engine.show(w.now()).peers[0]!.gracefulRestart.received, true);

  w.crash(1);
  // A's hold timer (9 s) ends the session: graceful restart applies, the routes stay, stale.
  assert.ok(
    w.run(15_000, () => a().engine.show(w.now()).peers[0]!.state !== 'Established'),
    'A notices',
  );
  w.run(3_000);
  assert.deepEqual(a().sink.sorted(), B_ROUTES);
  const g = a().engine.show(w.now()).peers[0]!.gracefulRestart;
  assert.equal(g.restarting, true);
  assert.equal(g.staleRoutes, 2);
  assert.ok(a().engine.routes({ prefix: '10.2.0.0/16' })[0]!.stale);

  // A new process: R bit, selection deferred until A's End-of-RIB, then B's routes again.
  const nb = w.restart(1);
  w.announceB(nb);
  assert.equal(nb.engine.show(w.now()).gracefulRestart.deferring, true);
  assert.ok(
    w.run(60_000, () => up() && a().engine.show(w.now()).peers[0]!.gracefulRestart.staleRoutes === 0),
    `back: ${w.trace.slice(-10).join('\n')}`,
  );
  assert.ok(
    w.trace.some((t) => t.endsWith('b deferral end end-of-rib')),
    w.trace.join('\n'),
  );
  const ga = a().engine.show(w.now()).peers[0]!.gracefulRestart;
  assert.equal(ga.peerRestartState, true);
  assert.equal(ga.restarting, false);
  assert.equal(ga.staleDeleted, 0);
  assert.equal(a().engine.routes({ prefix: '10.2.0.0/16' })[0]!.stale, false);
  assert.deepEqual(a().sink.sorted(), B_ROUTES);
  // Never withdrawn from A's RIB, at any moment.
  assert.deepEqual(a().sink.removed, []);
  assert.deepEqual(nb.sink.sorted(), ['bgp-b 10.1.0.0/16 via 10.0.0.1']);
  assert.equal(nb.engine.show(w.now()).gracefulRestart.deferring, false);
});

test('sim: graceful restart — B restarts before A’s hold timer: its new connection replaces the old session (§4.2); a route B no longer has goes at its End-of-RIB', () => {
  const w = grWorld(6);
  const a = () => w.routers[0]!;
  assert.ok(w.run(60_000, () => w.allEstablished() && a().sink.routes.size === 2));
  w.crash(1);
  w.run(2_000);
  const nb = w.restart(1);
  // The new B originates only the IPv4 prefix.
  nb.engine.announce4(parseIpv4('10.2.0.0'), 16);
  assert.ok(
    w.run(
      30_000,
      () => w.allEstablished() && a().engine.show(w.now()).peers[0]!.gracefulRestart.staleRoutes === 0,
    ),
    w.trace.slice(-10).join('\n'),
  );
  assert.ok(w.now() < 2_000 + 9_000 + 60_000);
  assert.deepEqual(a().sink.sorted(), ['bgp-a 10.2.0.0/16 via 10.0.0.2']);
  assert.deepEqual(a().sink.removed, ['bgp-a 2001:db8:2::/48']);
  assert.equal(a().engine.show(w.now()).peers[0]!.gracefulRestart.staleDeleted, 1);
});

test('sim: BFD down (forwardingFailed) — a silent link failure under graceful restart: A sends Cease/BFD Down and withdraws B’s routes at once, no stale routes kept', () => {
  const w = grWorld(9);
  const a = () => w.routers[0]!;
  const up = () => w.allEstablished() && a().sink.routes.size === 2;
  assert.ok(w.run(60_000, up), `up: ${w.trace.join('\n')}`);
  w.setLink(0, false);
  w.run(500);
  assert.equal(a().sink.routes.size, 2, 'the hold timer has not expired yet');
  assert.equal(a().engine.peer('peer')!.forwardingFailed(w.now()), true);
  w.run(10);
  assert.deepEqual(a().sink.sorted(), []);
  const p = a().engine.show(w.now()).peers[0]!;
  assert.notEqual(p.state, 'Established');
  assert.match(p.lastError ?? '', /BFD down \(sent NOTIFICATION 6\/10\)/);
  assert.equal(p.gracefulRestart.staleRoutes, 0);
  assert.equal(a().engine.peer('peer')!.forwardingFailed(w.now()), false, 'nothing left to close');
});
