// engine.routes(): the Loc-RIB as `show bgp routes [PREFIX]` lists it — the fields' text forms, a
// prefix or an address (longest match) as the filter, the limit and the ages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4, parseIpv6 } from '@nexthop/addr';
import { BgpEngine, type RouteSink } from '../src/index.ts';
import { FakeSockets } from './fake-sockets.ts';

const NO_SINK: RouteSink = { update4() {}, update6() {}, withdrawAll() {} };

function engine(): BgpEngine {
  const e = new BgpEngine({
    sockets: new FakeSockets(),
    sink: NO_SINK,
    config: { localAs: 65001, routerId: parseIpv4('10.0.0.1'), peers: [] },
  });
  e.poll(5_000);
  e.announce4(parseIpv4('10.1.0.0'), 16, {
    origin: 2,
    med: 7,
    nextHop: parseIpv4('192.0.2.1'),
    asPath: [{ type: 2, asns: [65010] }],
    communities: [(65000 << 16) | 100],
    largeCommunities: [4200000000, 1, 2],
    originatorId: parseIpv4('10.9.9.9'),
    clusterList: [parseIpv4('192.0.2.7')],
  });
  e.announce4(parseIpv4('10.1.2.0'), 24);
  e.announce6(parseIpv6('2001:db8:1::'), 48, { localPref: 300 });
  return e;
}

test('routes: every field in its text form', () => {
  assert.deepEqual(engine().routes({ prefix: '10.1.0.0/16' }, Infinity, 65_000), [
    {
      prefix: '10.1.0.0/16',
      best: true,
      from: 'local',
      nextHop: '192.0.2.1',
      asPath: '65010',
      origin: 'incomplete',
      localPref: 100,
      med: 7,
      communities: ['65000:100'],
      largeCommunities: ['4200000000:1:2'],
      originatorId: '10.9.9.9',
      clusterList: ['192.0.2.7'],
      ageSeconds: 60,
      stale: false,
    },
  ]);
});

test('routes: a prefix exactly, an address by longest match, IPv6 too; none when nothing holds it', () => {
  const e = engine();
  const prefixes = (p: string) => e.routes({ prefix: p }).map((r) => r.prefix);
  assert.deepEqual(prefixes('10.1.2.0/24'), ['10.1.2.0/24']);
  assert.deepEqual(prefixes('10.1.2.3'), ['10.1.2.0/24']);
  assert.deepEqual(prefixes('10.1.9.9'), ['10.1.0.0/16']);
  assert.deepEqual(prefixes('10.1.9.9/16'), ['10.1.0.0/16'], 'host bits ignored');
  assert.deepEqual(prefixes('10.2.0.0/16'), []);
  assert.deepEqual(prefixes('10.1.0.0/8'), [], 'exact length only');
  assert.deepEqual(prefixes('2001:db8:1:2::5'), ['2001:db8:1::/48']);
  assert.equal(e.routes({ prefix: '2001:db8:1::/48' })[0]?.localPref, 300);
  assert.deepEqual(prefixes('not an address'), []);
});

test('routes: all of them, IPv4 first, at most `limit`', () => {
  const e = engine();
  assert.deepEqual(
    e.routes().map((r) => r.prefix),
    ['10.1.0.0/16', '10.1.2.0/24', '2001:db8:1::/48'],
  );
  assert.equal(e.routes({}, 2).length, 2);
  assert.equal(e.routes({}, 0).length, 0);
  const show = e.show(0);
  assert.deepEqual(
    [show.prefixes, show.exported, show.clusterId],
    [{ ipv4: 2, ipv6: 1 }, { ipv4: 2, ipv6: 1 }, '10.0.0.1'],
  );
});
