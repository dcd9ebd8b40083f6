import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4, parseIpv6 } from '@nexthop/addr';
import { Rib } from '@nexthop/rib';
import { FibImage } from './fib-image.ts';

const ip = parseIpv4;

function setup(options?: ConstructorParameters<typeof Rib>[1]) {
  const fib = new FibImage();
  const rib = new Rib(fib, options);
  const connected = rib.addSource('connected', 'kernel');
  const statics = rib.addSource('static', 'config');
  const image = () => {
    rib.flush();
    return Object.fromEntries(fib.v4.image());
  };
  return { fib, rib, connected, statics, image };
}

test('selection: the lowest distance wins; a withdrawal brings the next one back', () => {
  const { rib, connected, statics, image } = setup();
  const ebgp = rib.addSource('bgp', 'peer');
  rib.v4.update(connected, ip('192.0.2.0'), 24, { nextHops: [{ ifIndex: 1 }] }, 0);
  rib.v4.update(ebgp, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip('192.0.2.2') }] }, 0);
  rib.v4.update(statics, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip('192.0.2.1') }] }, 0);
  assert.equal(image()['10.0.0.0/8'], 'forward 192.0.2.1@1');
  rib.v4.update(statics, ip('10.0.0.0'), 8, null, 1);
  assert.equal(image()['10.0.0.0/8'], 'forward 192.0.2.2@1');
  rib.v4.update(ebgp, ip('10.0.0.0'), 8, null, 2);
  assert.equal(image()['10.0.0.0/8'], undefined);
});

test('distance override, metric, and a distance of 255 never used', () => {
  const { rib, connected, statics, image } = setup();
  const ospf = rib.addSource('ospf', 'a');
  const ospf2 = rib.addSource('ospf', 'b');
  rib.v4.update(connected, ip('192.0.2.0'), 24, { nextHops: [{ ifIndex: 1 }] }, 0);
  rib.v4.update(ospf, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip('192.0.2.3') }], metric: 20 }, 0);
  rib.v4.update(ospf2, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip('192.0.2.4') }], metric: 10 }, 0);
  // A floating static route (distance 250) stays behind OSPF (110).
  rib.v4.update(statics, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip('192.0.2.1') }], distance: 250 }, 0);
  assert.equal(image()['10.0.0.0/8'], 'forward 192.0.2.4@1');
  rib.v4.update(ospf2, ip('10.0.0.0'), 8, null, 0);
  assert.equal(image()['10.0.0.0/8'], 'forward 192.0.2.3@1');
  rib.v4.update(ospf, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip('192.0.2.3') }], distance: 255 }, 0);
  assert.equal(image()['10.0.0.0/8'], 'forward 192.0.2.1@1');
  const shown = rib.v4.show(ip('10.0.0.0'), 8, 5);
  assert.deepEqual(
    shown.map((r) => [r.source.kind, r.distance, r.selected, r.active]),
    [
      ['static', 250, true, true],
      ['ospf', 255, false, false],
    ],
  );
});

test('ECMP: equal distance and metric from one kind, up to maxPaths; not across kinds', () => {
  const { rib, connected, image } = setup({ maxPaths: 2 });
  const peers = ['a', 'b', 'c'].map((n) => rib.addSource('bgp', n));
  const rip = rib.addSource('rip', 'r', { distance: 20 });
  rib.v4.update(connected, ip('192.0.2.0'), 24, { nextHops: [{ ifIndex: 1 }] }, 0);
  rib.v4.update(connected, ip('198.51.100.0'), 24, { nextHops: [{ ifIndex: 2 }] }, 0);
  rib.v4.update(peers[0]!, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip('192.0.2.1') }] }, 0);
  rib.v4.update(peers[1]!, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip('198.51.100.1') }] }, 0);
  rib.v4.update(rip, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip('198.51.100.9') }] }, 0);
  // RIP at distance 20 ties with eBGP: no ECMP across kinds; the kind order picks RIP.
  assert.equal(image()['10.0.0.0/8'], 'forward 198.51.100.9@2');
  rib.v4.update(rip, ip('10.0.0.0'), 8, null, 0);
  assert.equal(image()['10.0.0.0/8'], 'forward 192.0.2.1@1 198.51.100.1@2');
  rib.v4.update(peers[2]!, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip('192.0.2.7') }] }, 0);
  // Three equal routes, maxPaths 2: the first two by source name.
  assert.equal(image()['10.0.0.0/8'], 'forward 192.0.2.1@1 198.51.100.1@2');
  rib.v4.update(peers[0]!, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip('192.0.2.1') }], metric: 5 }, 0);
  assert.equal(image()['10.0.0.0/8'], 'forward 192.0.2.7@1 198.51.100.1@2');
  // One route with several next hops is ECMP as well.
  rib.v4.update(connected, ip('203.0.113.0'), 24, { nextHops: [{ ifIndex: 1 }, { ifIndex: 2 }] }, 0);
  assert.equal(image()['203.0.113.0/24'], 'forward direct@1 direct@2');
});

test('recursion: BGP through a static route through a connected network, changed in place', () => {
  const { fib, rib, connected, statics, image } = setup();
  const ebgp = rib.addSource('bgp', 'peer');
  rib.v4.update(connected, ip('192.0.2.0'), 24, { nextHops: [{ ifIndex: 1 }] }, 0);
  rib.v4.update(statics, ip('100.64.0.0'), 16, { nextHops: [{ gateway: ip('192.0.2.1') }] }, 0);
  const hops = [{ gateway: ip('100.64.1.1') }];
  for (let i = 0; i < 100; i++) rib.v4.update(ebgp, ip(`203.0.${i}.0`), 24, { nextHops: hops }, 0);
  assert.equal(image()['203.0.99.0/24'], 'forward 192.0.2.1@1');
  fib.v4.resetCalls();
  rib.v4.update(statics, ip('100.64.0.0'), 16, { nextHops: [{ gateway: ip('192.0.2.9') }] }, 1);
  const after = image();
  for (let i = 0; i < 100; i++) assert.equal(after[`203.0.${i}.0/24`], 'forward 192.0.2.9@1');
  // The static prefix's own group is replaced (new, route, release) and the BGP one set in place.
  assert.deepEqual(fib.v4.calls, { setGroup: 2, releaseGroup: 1, setRoute: 1, deleteRoute: 0 });
  // A more specific route for the next hop takes over; its withdrawal hands back.
  fib.v4.resetCalls();
  rib.v4.update(statics, ip('100.64.1.0'), 24, { nextHops: [{ gateway: ip('192.0.2.5') }] }, 2);
  assert.equal(image()['203.0.7.0/24'], 'forward 192.0.2.5@1');
  assert.ok(fib.v4.totalCalls() <= 4, `${fib.v4.totalCalls()} calls`);
  rib.v4.update(statics, ip('100.64.1.0'), 24, null, 3);
  assert.equal(image()['203.0.7.0/24'], 'forward 192.0.2.9@1');
  const [bgp] = rib.v4.show(ip('203.0.7.0'), 24, 10);
  assert.equal(bgp!.nextHops[0]!.via, '100.64.0.0/16');
  assert.equal(bgp!.age, 10);
});

test('recursion loops are unresolvable, never a hang', () => {
  const { rib, statics, image } = setup();
  const other = rib.addSource('static', 'other');
  // Through itself.
  rib.v4.update(statics, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip('10.0.0.1') }] }, 0);
  // Through each other.
  rib.v4.update(statics, ip('20.0.0.0'), 8, { nextHops: [{ gateway: ip('30.0.0.1') }] }, 0);
  rib.v4.update(other, ip('30.0.0.0'), 8, { nextHops: [{ gateway: ip('20.0.0.1') }] }, 0);
  assert.deepEqual(image(), {});
  const [self] = rib.v4.show(ip('10.0.0.0'), 8, 0);
  assert.equal(self!.active, false);
  assert.equal(self!.nextHops[0]!.resolved, false);
  // A host route may resolve through another route for the same prefix (FRR's exception).
  const conn = rib.addSource('connected', 'c');
  rib.v4.update(conn, ip('192.0.2.0'), 24, { nextHops: [{ ifIndex: 3 }] }, 0);
  const ospf = rib.addSource('ospf', 'o');
  rib.v4.update(ospf, ip('198.51.100.1'), 32, { nextHops: [{ gateway: ip('192.0.2.1') }] }, 0);
  const bgp = rib.addSource('bgp', 'b');
  rib.v4.update(bgp, ip('198.51.100.1'), 32, { nextHops: [{ gateway: ip('198.51.100.1') }] }, 0);
  assert.equal(image()['198.51.100.1/32'], 'forward 192.0.2.1@3');
  assert.equal(rib.v4.show(ip('198.51.100.1'), 32, 0)[0]!.source.kind, 'bgp');
});

test('depth: recursion deeper than maxDepth does not resolve', () => {
  const { rib, connected, image } = setup({ maxDepth: 2 });
  const s = ['a', 'b', 'c'].map((n) => rib.addSource('static', n));
  rib.v4.update(connected, ip('192.0.2.0'), 24, { nextHops: [{ ifIndex: 1 }] }, 0);
  rib.v4.update(s[0]!, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip('192.0.2.1') }] }, 0); // tier 1
  rib.v4.update(s[1]!, ip('20.0.0.0'), 8, { nextHops: [{ gateway: ip('10.0.0.1') }] }, 0); // tier 2
  rib.v4.update(s[2]!, ip('30.0.0.0'), 8, { nextHops: [{ gateway: ip('20.0.0.1') }] }, 0); // tier 3
  const img = image();
  assert.equal(img['20.0.0.0/8'], 'forward 192.0.2.1@1');
  assert.equal(img['30.0.0.0/8'], undefined);
});

test('resolve-via-default is off by default, as in FRR, and can be turned on', () => {
  const { rib, connected, statics, image } = setup();
  const bgp = rib.addSource('bgp', 'b');
  rib.v4.update(connected, ip('192.0.2.0'), 24, { nextHops: [{ ifIndex: 1 }] }, 0);
  rib.v4.update(statics, 0, 0, { nextHops: [{ gateway: ip('192.0.2.1') }] }, 0);
  rib.v4.update(bgp, ip('203.0.113.0'), 24, { nextHops: [{ gateway: ip('198.51.100.1') }] }, 0);
  assert.equal(image()['203.0.113.0/24'], undefined);
  assert.equal(image()['0.0.0.0/0'], 'forward 192.0.2.1@1');
  rib.setResolveViaDefault(4, true);
  assert.equal(image()['203.0.113.0/24'], 'forward 192.0.2.1@1');
  rib.setResolveViaDefault(4, false);
  assert.equal(image()['203.0.113.0/24'], undefined);
});

test('gateways with an interface, blackhole and local routes', () => {
  const { rib, connected, statics, image } = setup();
  rib.v4.update(connected, ip('192.0.2.0'), 24, { nextHops: [{ ifIndex: 1 }] }, 0);
  rib.v4.update(connected, ip('192.0.2.10'), 32, { nextHops: [{ type: 'local', ifIndex: 1 }] }, 0);
  rib.v4.update(statics, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip('192.0.2.1'), ifIndex: 1 }] }, 0);
  rib.v4.update(statics, ip('11.0.0.0'), 8, { nextHops: [{ gateway: ip('192.0.2.1'), ifIndex: 2 }] }, 0);
  rib.v4.update(
    statics,
    ip('12.0.0.0'),
    8,
    { nextHops: [{ gateway: ip('172.16.0.1'), ifIndex: 2, onlink: true }] },
    0,
  );
  rib.v4.update(statics, ip('13.0.0.0'), 8, { nextHops: [{ type: 'blackhole' }] }, 0);
  rib.v4.update(statics, ip('14.0.0.0'), 8, { nextHops: [{ gateway: ip('13.1.1.1') }] }, 0);
  rib.v4.update(statics, ip('15.0.0.0'), 8, { nextHops: [{ gateway: ip('192.0.2.10') }] }, 0);
  const img = image();
  assert.equal(img['10.0.0.0/8'], 'forward 192.0.2.1@1');
  assert.equal(img['11.0.0.0/8'], undefined); // not on a connected network of interface 2
  assert.equal(img['12.0.0.0/8'], 'forward 172.16.0.1@2');
  assert.equal(img['13.0.0.0/8'], 'blackhole');
  assert.equal(img['14.0.0.0/8'], undefined); // through a blackhole route
  assert.equal(img['15.0.0.0/8'], undefined); // the gateway is our own address
  assert.equal(img['192.0.2.10/32'], 'local@1');
});

test('withdrawAll takes a source away, both families, and counters follow', () => {
  const { fib, rib, connected, image } = setup();
  const bgp = rib.addSource('bgp', 'b');
  rib.v4.update(connected, ip('192.0.2.0'), 24, { nextHops: [{ ifIndex: 1 }] }, 0);
  rib.v6.update(connected, parseIpv6('2001:db8::'), 64, { nextHops: [{ ifIndex: 1 }] }, 0);
  const hops4 = [{ gateway: ip('192.0.2.1') }];
  const hops6 = [{ gateway: parseIpv6('2001:db8::1') }];
  for (let i = 0; i < 50; i++) {
    rib.v4.update(bgp, ip(`198.51.${i}.0`), 24, { nextHops: hops4 }, 0);
    rib.v6.update(bgp, parseIpv6(`2001:db8:${i + 1}::`), 48, { nextHops: hops6 }, 0);
  }
  assert.equal(Object.keys(image()).length, 51);
  assert.equal(fib.v6.routes.size, 51);
  assert.deepEqual(rib.counters().routesBySource, {
    'connected:kernel': 2,
    'static:config': 0,
    'bgp:b': 100,
  });
  assert.equal(rib.withdrawAll(bgp), 100);
  assert.deepEqual(Object.keys(image()), ['192.0.2.0/24']);
  assert.equal(fib.v6.routes.size, 1);
  const c = rib.counters();
  assert.deepEqual(c.trackedNextHops, { v4: 0, v6: 0 });
  assert.deepEqual(c.groups, { v4: 1, v6: 1 });
  assert.equal(fib.v4.groups.size, 1);
});

test('coalescing: five changes between flushes are one call with the final state', () => {
  const { fib, rib, connected, statics, image } = setup();
  rib.v4.update(connected, ip('192.0.2.0'), 24, { nextHops: [{ ifIndex: 1 }] }, 0);
  image();
  fib.v4.resetCalls();
  for (let i = 1; i <= 5; i++)
    rib.v4.update(statics, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip(`192.0.2.${i}`) }] }, i);
  assert.equal(image()['10.0.0.0/8'], 'forward 192.0.2.5@1');
  assert.equal(fib.v4.calls.setRoute, 1);
  assert.equal(fib.v4.calls.setGroup, 1);
  assert.equal(fib.batches, 2);
  // Added and withdrawn before a flush: nothing at all.
  fib.v4.resetCalls();
  rib.v4.update(statics, ip('11.0.0.0'), 8, { nextHops: [{ gateway: ip('192.0.2.1') }] }, 6);
  rib.v4.update(statics, ip('11.0.0.0'), 8, null, 7);
  rib.flush();
  assert.equal(fib.v4.totalCalls(), 0);
});

test('IPv6: connected, recursive and link-local gateways', () => {
  const { fib, rib, connected, statics } = setup();
  const bgp = rib.addSource('bgp', 'b');
  rib.v6.update(connected, parseIpv6('2001:db8:1::'), 64, { nextHops: [{ ifIndex: 1 }] }, 0);
  rib.v6.update(
    statics,
    parseIpv6('2001:db8:100::'),
    48,
    { nextHops: [{ gateway: parseIpv6('2001:db8:1::1') }] },
    0,
  );
  rib.v6.update(
    statics,
    parseIpv6('2001:db8:200::'),
    48,
    { nextHops: [{ gateway: parseIpv6('fe80::1'), ifIndex: 2 }] },
    0,
  );
  rib.v6.update(bgp, parseIpv6('2a00::'), 16, { nextHops: [{ gateway: parseIpv6('2001:db8:100::7') }] }, 0);
  rib.v6.update(bgp, parseIpv6('2a01::'), 16, { nextHops: [{ gateway: parseIpv6('fe80::2') }] }, 0);
  rib.flush();
  const img = Object.fromEntries(fib.v6.image());
  assert.equal(img['2001:db8:100::/48'], 'forward 2001:db8:1::1@1');
  assert.equal(img['2001:db8:200::/48'], 'forward fe80::1@2');
  assert.equal(img['2a00::/16'], 'forward 2001:db8:1::1@1');
  assert.equal(img['2a01::/16'], undefined); // link-local without its interface
  assert.equal(rib.v6.routes(0).length, 5);
  assert.equal(rib.v6.routes(0, true).length, 4);
});

test('bad input is a RangeError', () => {
  const { rib, statics } = setup();
  assert.throws(
    () => rib.v4.update(statics, ip('10.0.0.1'), 8, { nextHops: [{ ifIndex: 1 }] }, 0),
    RangeError,
  );
  assert.throws(
    () => rib.v4.update(statics, ip('10.0.0.0'), 33, { nextHops: [{ ifIndex: 1 }] }, 0),
    RangeError,
  );
  assert.throws(() => rib.v4.update(statics, ip('10.0.0.0'), 8, { nextHops: [] }, 0), RangeError);
  assert.throws(
    () => rib.v4.update(statics, ip('10.0.0.0'), 8, { nextHops: [{ ifIndex: 1 }], distance: 256 }, 0),
    RangeError,
  );
  assert.throws(() => rib.addSource('static', 'config'), RangeError);
});

test("a prefix's first route withdrawn while a second stays, then a third source takes its slot", () => {
  // A prefix is the record of its first route (see `Dest`): withdrawing that route leaves the slot
  // vacant while the other source's route stays; the next new source fills it again.
  const { rib, connected, statics, image } = setup();
  const ebgp = rib.addSource('bgp', 'peer');
  const ospf = rib.addSource('ospf', 'area0');
  rib.v4.update(connected, ip('192.0.2.0'), 24, { nextHops: [{ ifIndex: 1 }] }, 0);
  rib.v4.update(ebgp, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip('192.0.2.2') }], attrs: 'b' }, 0);
  rib.v4.update(statics, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip('192.0.2.1') }] }, 1);
  assert.equal(image()['10.0.0.0/8'], 'forward 192.0.2.1@1');
  rib.v4.update(ebgp, ip('10.0.0.0'), 8, null, 2);
  assert.equal(image()['10.0.0.0/8'], 'forward 192.0.2.1@1');
  assert.deepEqual(
    rib.v4.show(ip('10.0.0.0'), 8, 3).map((r) => [r.source.name, r.selected, r.attrs]),
    [['config', true, undefined]],
  );
  rib.v4.update(ospf, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip('192.0.2.3') }], attrs: 'o' }, 4);
  rib.v4.update(ebgp, ip('10.0.0.0'), 8, { nextHops: [{ gateway: ip('192.0.2.2') }], attrs: 'b2' }, 4);
  assert.deepEqual(
    rib.v4.show(ip('10.0.0.0'), 8, 5).map((r) => [r.source.name, r.selected, r.attrs]),
    [
      ['config', true, undefined],
      ['peer', false, 'b2'],
      ['area0', false, 'o'],
    ],
  );
  rib.v4.update(statics, ip('10.0.0.0'), 8, null, 6);
  assert.equal(image()['10.0.0.0/8'], 'forward 192.0.2.2@1');
  assert.equal(rib.withdrawAll(ebgp), 1);
  assert.equal(image()['10.0.0.0/8'], 'forward 192.0.2.3@1');
  assert.equal(rib.withdrawAll(ospf), 1);
  assert.equal(image()['10.0.0.0/8'], undefined);
  assert.deepEqual(rib.counters().routesBySource, {
    'connected:kernel': 1,
    'static:config': 0,
    'bgp:peer': 0,
    'ospf:area0': 0,
  });
});

test('the FIB gets IPv4 networks unsigned, whatever form the RIB keeps them in', () => {
  const { fib, rib, connected, image } = setup();
  const seen: number[] = [];
  const setRoute = fib.v4.setRoute.bind(fib.v4);
  const deleteRoute = fib.v4.deleteRoute.bind(fib.v4);
  fib.v4.setRoute = (network, length, group) => {
    seen.push(network);
    setRoute(network, length, group);
  };
  fib.v4.deleteRoute = (network, length) => {
    seen.push(network);
    deleteRoute(network, length);
  };
  rib.v4.update(connected, ip('198.51.100.0'), 24, { nextHops: [{ ifIndex: 1 }] }, 0);
  rib.v4.update(connected, ip('255.255.255.255'), 32, { nextHops: [{ ifIndex: 1 }] }, 0);
  assert.deepEqual(Object.keys(image()).sort(), ['198.51.100.0/24', '255.255.255.255/32']);
  rib.v4.update(connected, ip('255.255.255.255'), 32, null, 1);
  image();
  assert.deepEqual(seen, [0xc6336400, 0xffffffff, 0xffffffff]);
  assert.equal(rib.v4.show(ip('198.51.100.0'), 24, 1)[0]?.prefix, '198.51.100.0/24');
});
