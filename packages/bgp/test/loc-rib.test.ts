// The Loc-RIB (src/loc-rib.ts): candidates per prefix from several sources, the best of them, what
// a change reports, and that a change costs one decision for the one prefix it touches.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '@nexthop/addr';
import { AttributeTable, makeAttributes, type PathAttributes } from '../src/attributes.ts';
import { AS_SEQUENCE } from '../src/constants.ts';
import { type Candidate, LOCAL_SOURCE, type RouteSource } from '../src/decision.ts';
import { LocRib } from '../src/loc-rib.ts';
import { key4 } from '../src/session.ts';

const table = new AttributeTable();

function peer(name: string, address: string): RouteSource {
  const a = parseIpv4(address);
  return { name, local: false, ibgp: false, rrClient: false, remoteId: a, address: a };
}

function route(source: RouteSource, path: number[], nextHop: number, more: Partial<PathAttributes> = {}) {
  const attrs = table.intern(
    makeAttributes({ origin: 0, asPath: [{ type: AS_SEQUENCE, asns: path }], ...more }),
  );
  return { source, attrs, nextHop, since: 0 } satisfies Candidate<number>;
}

const NET = parseIpv4('192.0.2.0');
const K = key4(NET, 24);
const p = peer('p', '10.0.0.1');
const q = peer('q', '10.0.0.2');

test('loc-rib: the best of two peers; a withdrawal falls back to the other', () => {
  const rib = new LocRib<number, number, number>();
  const fromP = route(p, [65001, 65009], 1);
  const fromQ = route(q, [65002], 2);
  const e1 = rib.set(K, NET, 24, fromP);
  assert.equal(e1?.best, fromP, 'the only route is the best');
  const e2 = rib.set(K, NET, 24, fromQ);
  assert.equal(e2?.best, fromQ, 'the shorter path takes over');
  assert.equal(rib.get(K)?.candidates.length, 2);
  // p's route changes but stays worse: no change of the best to report.
  assert.equal(rib.set(K, NET, 24, route(p, [65001, 65008], 1)), undefined);
  assert.equal(rib.get(K)?.candidates.length, 2, 'replaced, not added');
  const e3 = rib.remove(K, q);
  assert.equal(e3?.best?.source, p, 'back to p');
  const e4 = rib.remove(K, p);
  assert.ok(e4 !== undefined && e4.best === undefined, 'no route left: reported, then forgotten');
  assert.equal(rib.size, 0);
  assert.equal(rib.remove(K, p), undefined, 'nothing to remove');
});

test('loc-rib: the same route again changes nothing; a new next hop does', () => {
  const rib = new LocRib<number, number, number>();
  rib.set(K, NET, 24, route(p, [65001], 1));
  assert.equal(rib.set(K, NET, 24, route(p, [65001], 1)), undefined);
  assert.notEqual(rib.set(K, NET, 24, route(p, [65001], 3)), undefined);
  assert.equal(rib.get(K)?.best?.nextHop, 3);
});

test('loc-rib: a locally originated route is a candidate like the others, and wins at equal LOCAL_PREF', () => {
  const rib = new LocRib<number, number, number>();
  rib.set(K, NET, 24, route(p, [65001], 1));
  const ours = {
    source: LOCAL_SOURCE,
    attrs: table.intern(makeAttributes({})),
    nextHop: undefined,
    since: 0,
  };
  assert.equal(rib.set(K, NET, 24, ours)?.best, ours);
  assert.equal(rib.remove(K, LOCAL_SOURCE)?.best?.source, p);
});

test('loc-rib: an update re-selects only the prefix it touches', () => {
  const rib = new LocRib<number, number, number>();
  for (let i = 0; i < 1000; i++) {
    const net = (parseIpv4('10.0.0.0') + i * 256) >>> 0;
    rib.set(key4(net, 24), net, 24, route(p, [65001], 1));
    rib.set(key4(net, 24), net, 24, route(q, [65002, 65003], 2));
  }
  assert.equal(rib.selections, 2000);
  rib.selections = 0;
  rib.set(K, NET, 24, route(q, [65002], 2));
  assert.equal(rib.selections, 1);
  rib.remove(key4(parseIpv4('10.0.5.0'), 24), p);
  assert.equal(rib.selections, 2);
  assert.equal(rib.get(key4(parseIpv4('10.0.5.0'), 24))?.best?.source, q);
});
