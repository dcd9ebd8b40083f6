// The decision process (src/decision.ts), one rule at a time: each pair of routes differs in the
// attribute one rule looks at and agrees in every earlier one, so that rule decides.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4, parseIpv6 } from '@nexthop/addr';
import { makeAttributes, type PathAttributes } from '../src/attributes.ts';
import { AS_CONFED_SEQUENCE, AS_SEQUENCE, AS_SET } from '../src/constants.ts';
import {
  type Candidate,
  compareAddress,
  compareRoutes,
  LOCAL_SOURCE,
  neighbourAs,
  type RouteSource,
  selectBest,
} from '../src/decision.ts';

function peer(name: string, over: Partial<RouteSource> = {}): RouteSource {
  return {
    name,
    local: false,
    ibgp: false,
    rrClient: false,
    remoteId: parseIpv4('10.0.0.9'),
    address: parseIpv4('10.0.0.9'),
    ...over,
  };
}

function route(source: RouteSource, attrs: Partial<PathAttributes> = {}): Candidate<number> {
  const a = makeAttributes({ origin: 0, asPath: [{ type: AS_SEQUENCE, asns: [65001] }], ...attrs });
  return { source, attrs: a, nextHop: source.local ? undefined : 1, since: 0 };
}

const seq = (...asns: number[]) => ({ type: AS_SEQUENCE, asns });

/** a wins over b both ways round (the comparator is antisymmetric) and selectBest agrees. */
function wins(a: Candidate<number>, b: Candidate<number>): void {
  assert.ok(compareRoutes(a, b) < 0, 'a is better');
  assert.ok(compareRoutes(b, a) > 0, 'b is worse');
  assert.equal(selectBest([a, b]), a);
  assert.equal(selectBest([b, a]), a);
}

test('RFC 4271 §9.1.1: the higher LOCAL_PREF wins, before the AS path; absent counts as 100', () => {
  const p = peer('p');
  const q = peer('q', { address: parseIpv4('10.0.0.1') });
  wins(route(p, { localPref: 200, asPath: [seq(1, 2, 3)] }), route(q, { localPref: 100 }));
  wins(route(p, { localPref: 101 }), route(q, {}));
  wins(route(q, {}), route(p, { localPref: 99 }));
});

test('locally originated routes before learned ones, at equal LOCAL_PREF (as FRR)', () => {
  wins(route(LOCAL_SOURCE, { asPath: [seq(1, 2, 3)] }), route(peer('p'), { asPath: [] }));
  // But a learned route with a higher LOCAL_PREF wins over ours.
  wins(route(peer('p'), { localPref: 150 }), route(LOCAL_SOURCE, {}));
});

test('RFC 4271 §9.1.2.2 (a): the shorter AS_PATH wins; an AS_SET counts 1, confederation segments 0 (RFC 5065 §5.3)', () => {
  const p = peer('p');
  const q = peer('q', { address: parseIpv4('10.0.0.1') });
  wins(route(p, { asPath: [seq(65001)] }), route(q, { asPath: [seq(65002, 65003)] }));
  // {1,2,3} counts one: shorter than a sequence of two.
  wins(
    route(p, { asPath: [seq(65001), { type: AS_SET, asns: [1, 2, 3] }] }),
    route(q, { asPath: [seq(65002, 65003, 65004)] }),
  );
  // Confederation segments count nothing: (64512 64513) 65001 is as long as 65002.
  const confed = route(p, { asPath: [{ type: AS_CONFED_SEQUENCE, asns: [64512, 64513] }, seq(65001)] });
  const plain = route(q, { asPath: [seq(65002)] });
  wins(plain, confed); // equal length; q wins later on the lower peer address
  wins(confed, route(q, { asPath: [seq(65002, 65003)] }));
});

test('RFC 4271 §9.1.2.2 (b): the lower ORIGIN wins (IGP < EGP < INCOMPLETE)', () => {
  const p = peer('p');
  const q = peer('q', { address: parseIpv4('10.0.0.1') });
  wins(route(p, { origin: 0 }), route(q, { origin: 1 }));
  wins(route(p, { origin: 1 }), route(q, { origin: 2 }));
});

test('RFC 4271 §9.1.2.2 (c): the lower MED wins between routes from the same neighbour AS; missing = 0', () => {
  const p = peer('p');
  const q = peer('q', { address: parseIpv4('10.0.0.1') });
  wins(route(p, { med: 10 }), route(q, { med: 20 }));
  wins(route(p), route(q, { med: 5 }));
  // From different neighbour ASes the MED is not compared: q wins on its lower address.
  wins(route(q, { asPath: [seq(65002)], med: 500 }), route(p, { asPath: [seq(65001)], med: 1 }));
});

test('RFC 4271 §9.1.2.2 (c): the neighbour AS is the first AS of the path; 0 (ours) for an empty path or a leading set', () => {
  assert.equal(neighbourAs(makeAttributes({ asPath: [seq(65001, 65002)] })), 65001);
  assert.equal(neighbourAs(makeAttributes({ asPath: [] })), 0);
  assert.equal(neighbourAs(makeAttributes({})), 0);
  assert.equal(neighbourAs(makeAttributes({ asPath: [{ type: AS_SET, asns: [1, 2] }] })), 0);
  assert.equal(
    neighbourAs(makeAttributes({ asPath: [{ type: AS_CONFED_SEQUENCE, asns: [64512] }, seq(65009)] })),
    65009,
  );
});

test('RFC 4271 §9.1.2.2 (c): MED is not transitive; selectBest eliminates as the RFC does, whatever the order', () => {
  // x and z are from AS 65001 (z has the lower MED), y from AS 65002. Pairwise: x < y (address),
  // y < z (address), z < x (MED) — a cycle. The RFC removes x (beaten by z on MED), then the
  // tie-breaks pick between y and z: y, the lower address.
  const x = route(peer('x', { address: parseIpv4('10.0.0.1') }), { asPath: [seq(65001)], med: 20 });
  const y = route(peer('y', { address: parseIpv4('10.0.0.2') }), { asPath: [seq(65002)] });
  const z = route(peer('z', { address: parseIpv4('10.0.0.3') }), { asPath: [seq(65001)], med: 10 });
  assert.ok(compareRoutes(x, y) < 0 && compareRoutes(y, z) < 0 && compareRoutes(z, x) < 0);
  for (const order of [
    [x, y, z],
    [x, z, y],
    [y, x, z],
    [y, z, x],
    [z, x, y],
    [z, y, x],
  ])
    assert.equal(selectBest(order), y);
});

test('RFC 4271 §9.1.2.2 (d): routes from eBGP win over routes from iBGP', () => {
  const e = peer('e', { address: parseIpv4('10.0.0.200'), remoteId: 0xfffffff0 });
  const i = peer('i', { ibgp: true, address: parseIpv4('10.0.0.1'), remoteId: 1 });
  wins(route(e), route(i));
});

test('RFC 4271 §9.1.2.2 (f): the lower BGP Identifier wins; RFC 4456 §9: the ORIGINATOR_ID stands in for it', () => {
  const low = peer('low', { ibgp: true, remoteId: parseIpv4('1.1.1.1'), address: parseIpv4('10.0.0.9') });
  const high = peer('high', { ibgp: true, remoteId: parseIpv4('9.9.9.9'), address: parseIpv4('10.0.0.1') });
  wins(route(low), route(high));
  // Reflected to us by `low`, the route carries its originator's identifier 8.8.8.8: higher than
  // 2.2.2.2, the originator of high's route.
  wins(
    route(high, { originatorId: parseIpv4('2.2.2.2') }),
    route(low, { originatorId: parseIpv4('8.8.8.8') }),
  );
  // Identifiers compare unsigned: 200.0.0.1 is above 10.0.0.1.
  const big = peer('big', { ibgp: true, remoteId: parseIpv4('200.0.0.1'), address: parseIpv4('10.0.0.1') });
  wins(route(high), route(big));
});

test('RFC 4456 §9: at equal identifiers the shorter CLUSTER_LIST wins, before the peer address', () => {
  const a = peer('a', { ibgp: true, address: parseIpv4('10.0.0.9') });
  const b = peer('b', { ibgp: true, address: parseIpv4('10.0.0.1') });
  const originatorId = parseIpv4('7.7.7.7');
  wins(
    route(a, { originatorId, clusterList: [parseIpv4('1.1.1.1')] }),
    route(b, { originatorId, clusterList: [parseIpv4('1.1.1.1'), parseIpv4('2.2.2.2')] }),
  );
});

test('RFC 4271 §9.1.2.2 (g): the lower peer address wins last; IPv4 before IPv6', () => {
  wins(
    route(peer('p', { address: parseIpv4('10.0.0.1') })),
    route(peer('q', { address: parseIpv4('10.0.0.2') })),
  );
  wins(
    route(peer('p', { address: parseIpv6('2001:db8::1') })),
    route(peer('q', { address: parseIpv6('2001:db8::2') })),
  );
  wins(
    route(peer('p', { address: parseIpv4('255.0.0.1') })),
    route(peer('q', { address: parseIpv6('::1') })),
  );
  assert.equal(compareAddress(parseIpv4('10.0.0.1'), parseIpv4('10.0.0.1')), 0);
  assert.ok(compareAddress(parseIpv4('128.0.0.1'), parseIpv4('10.0.0.1')) > 0, 'unsigned');
});

test('selectBest: none of nothing, the one of one', () => {
  assert.equal(selectBest([]), undefined);
  const r = route(peer('p'));
  assert.equal(selectBest([r]), r);
});
