// Decodes what BIRD 2.0.12 really sent (fixtures/bird-*.hex, captured by capture-bird.sh): its OPEN
// and its UPDATEs for IPv4 and IPv6, over a four-octet-AS session and over a session where we
// posed as an OLD speaker (AS_TRANS and AS4_PATH). Both must give the same routes.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatIpv6 } from '@nexthop/addr';
import {
  Action,
  AttributeTable,
  BgpDecoder,
  formatAsPath,
  MSG_KEEPALIVE,
  MSG_OPEN,
  MSG_UPDATE,
  type PathAttributes,
  peerAsOf,
} from '../src/index.ts';
import { hex } from './util.ts';

function load(name: string): Uint8Array[] {
  return readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map(hex);
}

interface Route {
  path: string;
  nextHop: string;
  communities: string;
  large: string;
  med: number | undefined;
}

function describeAttrs(a: PathAttributes): Route {
  const nh = a.mpNextHop
    ? formatIpv6(a.mpNextHop.subarray(0, 16))
    : `${a.nextHop! >>> 24}.${(a.nextHop! >>> 16) & 255}.${(a.nextHop! >>> 8) & 255}.${a.nextHop! & 255}`;
  return {
    path: formatAsPath(a.asPath),
    nextHop: nh,
    communities: (a.communities ?? []).map((c) => `${c >>> 16}:${c & 0xffff}`).join(' '),
    large: (a.largeCommunities ?? []).join(':'),
    med: a.med,
  };
}

function decodeSession(
  name: string,
  as4: boolean,
): { routes: Map<string, Route>; eor: number[]; open: unknown } {
  const msgs = load(name);
  const table = new AttributeTable();
  const d = new BgpDecoder(undefined, undefined, table);
  const routes = new Map<string, Route>();
  const eor: number[] = [];
  let open: unknown;
  for (const m0 of msgs) {
    const m = d.decode(m0, 0, m0.length);
    assert.equal(m.action, Action.OK, `${name}: ${m.reason}`);
    assert.equal(m.length, m0.length);
    if (m.type === MSG_OPEN) {
      open = m.open;
      d.setSession({ as4, ebgp: true, peerAs: as4 ? peerAsOf(m.open!) : m.open!.myAs });
    } else if (m.type === MSG_UPDATE) {
      const u = m.update;
      if (u.endOfRib() !== 0) eor.push(u.endOfRib());
      for (const p of [...u.nlri.toStrings(), ...u.mpReach6.toStrings()])
        routes.set(p, describeAttrs(u.attrs!));
    } else {
      assert.equal(m.type, MSG_KEEPALIVE);
    }
  }
  return { routes, eor, open };
}

describe('BIRD 2 captures', () => {
  it("decodes BIRD's OPEN: families, route refresh, GR, four-octet AS, and an unknown capability kept", () => {
    const [o] = load('bird-as4.hex');
    const m = new BgpDecoder().decode(o!, 0, o!.length);
    assert.equal(m.action, Action.OK);
    const open = m.open!;
    assert.equal(open.myAs, 23456);
    assert.equal(open.holdTime, 30);
    assert.equal(open.bgpId, 0xc0000202);
    const c = open.capabilities;
    assert.equal(c.fourOctetAs, 4200000002);
    assert.deepEqual(c.multiprotocol, [
      { afi: 1, safi: 1 },
      { afi: 2, safi: 1 },
    ]);
    assert.equal(c.routeRefresh, true);
    assert.equal(c.enhancedRouteRefresh, true);
    assert.deepEqual(c.gracefulRestart, {
      restartState: false,
      notification: false,
      time: 120,
      families: [],
    });
    // 71: long-lived graceful restart, not interpreted here.
    assert.deepEqual(
      c.unknown.map((u) => u.code),
      [71],
    );
  });

  const expected: [string, Partial<Route>][] = [
    ['0.0.0.0/0', { communities: '', large: '' }],
    ['10.0.0.0/8', { communities: '', large: '' }],
    ['198.51.100.0/24', { communities: '65002:100', large: '4200000002:1:2' }],
    ['203.0.113.128/25', { communities: '65002:200 65535:65281' }],
    ['2001:db8:1::/48', { med: 7 }],
    ['2001:db8:2:3::/64', {}],
    ['2001:db8:ffff:ffff:ffff:ffff:ffff:fff0/124', {}],
  ];

  for (const [file, as4] of [
    ['bird-as4.hex', true],
    ['bird-as2.hex', false],
  ] as const) {
    it(`decodes every UPDATE of ${file} to the routes BIRD was configured with`, () => {
      const { routes, eor } = decodeSession(file, as4);
      assert.deepEqual([...routes.keys()].sort(), expected.map(([p]) => p).sort());
      for (const [prefix, want] of expected) {
        const r = routes.get(prefix)!;
        // Over the OLD session BIRD wrote AS_TRANS with AS4_PATH; rebuilt, the path is the same.
        assert.equal(r.path, '4200000002', prefix);
        assert.equal(r.nextHop, prefix.includes(':') ? '2001:db8::2' : '10.179.0.2');
        for (const [k, v] of Object.entries(want)) assert.equal(r[k as keyof Route], v, `${prefix} ${k}`);
      }
      assert.deepEqual(eor.sort(), [0x101, 0x201]);
    });
  }
});
