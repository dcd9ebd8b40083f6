// The stack's routes through the RIB: what the tables before it could not do (recursive static
// routes, re-resolution in place, ECMP of equal static routes) and what they did that must hold
// (distances, floating routes, interfaces going down).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv6 } from '@nexthop/addr';
import { flowHash } from '@nexthop/fib';
import {
  A_IP,
  A_MAC,
  bytes,
  feed,
  GW_IP,
  GW_MAC,
  ip,
  learn,
  parseFrame,
  parseIp,
  type Rig,
  rig,
  udpFromA,
} from './harness.ts';

function egress(r: Rig, dst: number, hash = 0): { ifIndex: number; gateway: number } | null {
  const nh = r.stack.fib.lookup(dst, hash);
  if (nh < 0) return null;
  return { ifIndex: r.stack.fib.nextHops.ifIndex(nh), gateway: r.stack.fib.nextHops.gateway(nh) };
}

function row(r: Rig, prefix: string, via?: string) {
  return r.stack.routeList().find((x) => x.prefix === prefix && (via === undefined || x.via === via));
}

/** Sends a UDP datagram from A (on eth0) to dst; returns where it went: [ifIndex, destination MAC]. */
function forwardFromA(r: Rig, dst: number, now: number): [number, string] {
  feed(r, r.eth0, udpFromA(dst, bytes(16)), now);
  const out = r.cap.take();
  assert.equal(out.length, 1, 'one frame out');
  const f = parseFrame(out[0]!.bytes);
  assert.equal(parseIp(out[0]!.bytes, 14).dst, dst);
  return [out[0]!.ifIndex, [...f.dst].map((b) => b.toString(16).padStart(2, '0')).join(':')];
}

const macText = (m: Uint8Array) => [...m].map((b) => b.toString(16).padStart(2, '0')).join(':');

test('a static route via a gateway reached through another static route resolves recursively', () => {
  const r = rig();
  learn(r, r.eth1, GW_IP, GW_MAC);
  // 172.16.0.0/16 via 10.0.2.254 (on eth1); 192.168.0.0/16 via 172.16.5.5, on no connected subnet.
  r.stack.addStaticRoute({ network: ip('172.16.0.0'), length: 16, via: GW_IP });
  r.stack.addStaticRoute({ network: ip('192.168.0.0'), length: 16, via: ip('172.16.5.5') });
  assert.deepEqual(egress(r, ip('192.168.1.1')), { ifIndex: r.eth1, gateway: GW_IP });
  const rec = row(r, '192.168.0.0/16')!;
  assert.equal(rec.active, true);
  assert.equal(rec.selected, true);
  assert.equal(rec.interface, 'eth1');
  assert.equal(rec.resolvedVia, '172.16.0.0/16');
  assert.deepEqual(rec.hops, [{ gateway: '10.0.2.254', interface: 'eth1' }]);
  // A packet follows: out of eth1 to the gateway's MAC.
  assert.deepEqual(forwardFromA(r, ip('192.168.1.1'), 1), [r.eth1, macText(GW_MAC)]);
});

test('a change of the underlying route re-resolves the recursive one in place', () => {
  const r = rig();
  learn(r, r.eth1, GW_IP, GW_MAC);
  learn(r, r.eth0, A_IP, A_MAC);
  r.stack.addStaticRoute({ network: ip('172.16.0.0'), length: 16, via: GW_IP });
  r.stack.addStaticRoute({ network: ip('192.168.0.0'), length: 16, via: ip('172.16.5.5') });
  const before = r.stack.fib.get(ip('192.168.0.0'), 16);
  assert.deepEqual(forwardFromA(r, ip('192.168.1.1'), 1), [r.eth1, macText(GW_MAC)]);

  // A more specific route under the gateway, through A on eth0, then gone again.
  r.stack.addStaticRoute({ network: ip('172.16.5.0'), length: 24, via: A_IP });
  assert.deepEqual(egress(r, ip('192.168.1.1')), { ifIndex: r.eth0, gateway: A_IP });
  assert.deepEqual(forwardFromA(r, ip('192.168.1.1'), 2), [r.eth0, macText(A_MAC)]);
  assert.equal(row(r, '192.168.0.0/16')?.resolvedVia, '172.16.5.0/24');
  assert.deepEqual(
    r.stack.fib.get(ip('192.168.0.0'), 16),
    before,
    'the prefix was not rewritten: its group was',
  );
  r.stack.removeStaticRoute(ip('172.16.5.0'), 24);
  assert.deepEqual(forwardFromA(r, ip('192.168.1.1'), 3), [r.eth1, macText(GW_MAC)]);

  // The gateway's interface goes down: the recursive route stops resolving with the one below it.
  r.stack.setUp(r.eth1, false, 4);
  assert.equal(egress(r, ip('192.168.1.1')), null);
  assert.equal(row(r, '192.168.0.0/16')?.active, false);
  assert.equal(row(r, '172.16.0.0/16')?.active, false);
  r.stack.setUp(r.eth1, true, 5);
  assert.deepEqual(egress(r, ip('192.168.1.1')), { ifIndex: r.eth1, gateway: GW_IP });

  // The underlying route withdrawn: nothing left to resolve through.
  r.stack.removeStaticRoute(ip('172.16.0.0'), 16);
  assert.equal(egress(r, ip('192.168.1.1')), null);
  assert.equal(row(r, '192.168.0.0/16')?.active, false);
  assert.equal(row(r, '192.168.0.0/16')?.selected, false);
});

test('distances: a static route does not beat a connected one; a floating route waits its turn', () => {
  const r = rig();
  // The connected 10.0.1.0/24 (distance 0) against a static route of distance 5 to the same prefix.
  r.stack.addStaticRoute({ network: ip('10.0.1.0'), length: 24, via: GW_IP, distance: 5 });
  assert.deepEqual(egress(r, A_IP), { ifIndex: r.eth0, gateway: 0 });
  const st = row(r, '10.0.1.0/24', '10.0.2.254')!;
  assert.deepEqual([st.active, st.selected, st.distance], [true, false, 5]);
  assert.equal(row(r, '10.0.1.0/24', undefined)?.selected, true);
  // eth0 down: its connected route goes, and the static one takes over.
  r.stack.setUp(r.eth0, false, 1);
  assert.deepEqual(egress(r, A_IP), { ifIndex: r.eth1, gateway: GW_IP });
  r.stack.setUp(r.eth0, true, 2);
  assert.deepEqual(egress(r, A_IP), { ifIndex: r.eth0, gateway: 0 });

  // A floating static route (distance 10) behind one of distance 1.
  const net = ip('192.168.0.0');
  r.stack.addStaticRoute({ network: net, length: 16, via: GW_IP });
  r.stack.addStaticRoute({ network: net, length: 16, via: ip('10.0.1.254'), distance: 10 });
  assert.deepEqual(egress(r, ip('192.168.9.9')), { ifIndex: r.eth1, gateway: GW_IP });
  r.stack.setUp(r.eth1, false, 3);
  assert.deepEqual(egress(r, ip('192.168.9.9')), { ifIndex: r.eth0, gateway: ip('10.0.1.254') });
  r.stack.setUp(r.eth1, true, 4);
  assert.deepEqual(egress(r, ip('192.168.9.9')), { ifIndex: r.eth1, gateway: GW_IP });
});

test('static routes of one distance to one prefix are ECMP; removing one leaves the other', () => {
  const r = rig();
  const net = ip('192.168.0.0');
  r.stack.addStaticRoute({ network: net, length: 16, via: GW_IP });
  r.stack.addStaticRoute({ network: net, length: 16, via: ip('10.0.1.254') });
  const seen = new Set<number>();
  for (let h = 0; h < 64; h++) seen.add(egress(r, ip('192.168.1.1'), flowHash(h, 7, 17, h, 80))!.ifIndex);
  assert.deepEqual([...seen].sort(), [r.eth0, r.eth1]);
  assert.equal(r.stack.fib.multipathGroupsInUse, 1);
  const rows = r.stack.routeList().filter((x) => x.prefix === '192.168.0.0/16');
  assert.deepEqual(
    rows.map((x) => [x.via, x.selected]),
    [
      ['10.0.2.254', true],
      ['10.0.1.254', true],
    ],
  );
  r.stack.removeStaticRoute(net, 16, { via: GW_IP });
  assert.deepEqual(egress(r, ip('192.168.1.1'), 12345), { ifIndex: r.eth0, gateway: ip('10.0.1.254') });
  assert.equal(r.stack.fib.multipathGroupsInUse, 0, 'no flow hash needed any more');
});

test('IPv6: a recursive static route, re-resolved when the route under it changes', () => {
  const r = rig();
  r.stack.addAddress6(r.eth0, parseIpv6('2001:db8:1::1'), 64, 0);
  r.stack.addAddress6(r.eth1, parseIpv6('2001:db8:2::1'), 64, 0);
  r.stack.addStaticRoute6({
    network: parseIpv6('2001:db8:ff::'),
    length: 48,
    via: parseIpv6('2001:db8:2::fe'),
  });
  r.stack.addStaticRoute6({
    network: parseIpv6('2001:db8:99::'),
    length: 48,
    via: parseIpv6('2001:db8:ff::5'),
  });
  const out = (dst: string) => {
    const nh = r.stack.fib6.lookup(parseIpv6(dst), 0, 0);
    return nh < 0 ? null : [r.stack.fib6.nextHops.ifIndex(nh), r.stack.fib6.nextHops.gateway(nh)];
  };
  assert.deepEqual(out('2001:db8:99::1'), [r.eth1, parseIpv6('2001:db8:2::fe')]);
  assert.equal(row(r, '2001:db8:99::/48')?.resolvedVia, '2001:db8:ff::/48');
  r.stack.addStaticRoute6({
    network: parseIpv6('2001:db8:ff::'),
    length: 64,
    via: parseIpv6('2001:db8:1::fe'),
  });
  assert.deepEqual(out('2001:db8:99::1'), [r.eth0, parseIpv6('2001:db8:1::fe')]);
  r.stack.removeStaticRoute6(parseIpv6('2001:db8:ff::'), 64);
  r.stack.removeStaticRoute6(parseIpv6('2001:db8:ff::'), 48);
  assert.equal(out('2001:db8:99::1'), null);
  assert.equal(row(r, '2001:db8:99::/48')?.active, false);
});
