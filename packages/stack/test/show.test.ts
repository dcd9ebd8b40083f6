import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type RouteInfo, Stat } from '@nexthop/stack';
import { Drop } from '@nexthop/wire';
import { A_IP, A_MAC, B_IP, B_MAC, bytes, feed, GW_IP, ip, learn, mac, rig, udpFromA } from './harness.ts';

test('show: interfaces() reports configuration and per-interface frame counters', () => {
  const r = rig();
  learn(r, r.eth0, A_IP, A_MAC, 0); // 60-byte request in, 60-byte reply out
  learn(r, r.eth1, B_IP, B_MAC, 0);
  const frame = udpFromA(B_IP, bytes(100));
  feed(r, r.eth0, frame, 1);
  feed(r, r.eth0, frame.slice(0, 5), 1);
  r.cap.take();
  r.stack.addAddress(r.eth1, ip('172.16.0.1'), 30, 2);
  r.stack.setMtu(r.eth1, 9000);
  r.stack.setUp(r.eth0, false, 3);
  const ifs = r.stack.interfaces();
  assert.deepEqual(ifs, [
    {
      index: 0,
      name: 'eth0',
      mac: '02:00:00:00:00:01',
      mtu: 1500,
      up: false,
      addresses: ['10.0.1.1/24'],
      addresses6: [],
      rxFrames: 3,
      rxBytes: 60 + frame.length + 5,
      // Gratuitous ARP at configuration time, then the ARP reply.
      txFrames: 2,
      txBytes: 120,
      rxDrops: 1,
    },
    {
      index: 1,
      name: 'eth1',
      mac: '02:00:00:00:00:02',
      mtu: 9000,
      up: true,
      addresses: ['10.0.2.1/24', '172.16.0.1/30'],
      addresses6: [],
      rxFrames: 1,
      rxBytes: 60,
      // Gratuitous ARPs for both addresses, the ARP reply, the forwarded frame.
      txFrames: 4,
      txBytes: 60 * 3 + frame.length,
      rxDrops: 0,
    },
  ]);
  assert.equal(r.stack.interfaceIndex('eth1'), 1);
  assert.equal(r.stack.interfaceIndex('nope'), -1);
  assert.throws(() => r.stack.addInterface({ name: 'eth0', mac: A_MAC, mtu: 1500 }));
});

test('show: routeList() lists connected, local, broadcast and static routes with their state', () => {
  const r = rig();
  r.stack.addStaticRoute({ network: ip('192.168.0.0'), length: 16, via: GW_IP });
  r.stack.addStaticRoute({ network: ip('172.16.0.0'), length: 12, type: 'blackhole' });
  r.stack.addStaticRoute({ network: ip('198.51.100.0'), length: 24, via: ip('203.0.113.1') });
  r.stack.addStaticRoute({ network: 0, length: 0, via: ip('10.0.1.254'), distance: 5 });
  const old = ({ prefix, protocol, type, via, interface: iface, distance, selected, active }: RouteInfo) =>
    r0(prefix, protocol, type, via, iface, distance, selected, active);
  assert.deepEqual(r.stack.routeList().map(old), [
    r0('0.0.0.0/0', 'static', 'unicast', '10.0.1.254', 'eth0', 5, true, true),
    r0('10.0.1.0/24', 'connected', 'unicast', null, 'eth0', 0, true, true),
    r0('10.0.1.1/32', 'local', 'local', null, 'eth0', 0, true, true),
    r0('10.0.1.255/32', 'local', 'broadcast', null, 'eth0', 0, true, true),
    r0('10.0.2.0/24', 'connected', 'unicast', null, 'eth1', 0, true, true),
    r0('10.0.2.1/32', 'local', 'local', null, 'eth1', 0, true, true),
    r0('10.0.2.255/32', 'local', 'broadcast', null, 'eth1', 0, true, true),
    r0('172.16.0.0/12', 'static', 'blackhole', null, null, 1, true, true),
    r0('192.168.0.0/16', 'static', 'unicast', '10.0.2.254', 'eth1', 1, true, true),
    // The gateway is on no connected subnet: inactive.
    r0('198.51.100.0/24', 'static', 'unicast', '203.0.113.1', null, 1, false, false),
  ]);
  // The RIB's view, in fields of their own: metric, resolution and (given a time) age.
  const rows = r.stack.routeList();
  assert.deepEqual(
    rows.map((x) => [x.prefix, x.metric, x.resolvedVia, x.hops, x.age]),
    [
      ['0.0.0.0/0', 0, '10.0.1.0/24', [{ gateway: '10.0.1.254', interface: 'eth0' }], undefined],
      ['10.0.1.0/24', 0, null, [{ gateway: null, interface: 'eth0' }], undefined],
      ['10.0.1.1/32', 0, null, [], undefined],
      ['10.0.1.255/32', 0, null, [], undefined],
      ['10.0.2.0/24', 0, null, [{ gateway: null, interface: 'eth1' }], undefined],
      ['10.0.2.1/32', 0, null, [], undefined],
      ['10.0.2.255/32', 0, null, [], undefined],
      ['172.16.0.0/12', 0, null, [], undefined],
      ['192.168.0.0/16', 0, '10.0.2.0/24', [{ gateway: '10.0.2.254', interface: 'eth1' }], undefined],
      ['198.51.100.0/24', 0, null, [], undefined],
    ],
  );
  r.stack.poll(5000);
  r.stack.addStaticRoute({ network: ip('203.0.113.0'), length: 24, via: GW_IP });
  const aged = r.stack.routeList(8000);
  assert.equal(aged.find((x) => x.prefix === '10.0.1.0/24')?.age, 8000, 'added at 0');
  assert.equal(aged.find((x) => x.prefix === '203.0.113.0/24')?.age, 3000, 'added after a poll at 5000');
  r.stack.removeAddress(r.eth1, ip('10.0.2.1'));
  const after = r.stack.routeList().map((x) => `${x.prefix} ${x.active}`);
  assert.ok(!after.some((x) => x.startsWith('10.0.2.')), 'the connected, local and broadcast routes went');
  assert.ok(after.includes('192.168.0.0/16 false'), 'the static route through 10.0.2.254 is now inactive');
  assert.throws(() => r.stack.addStaticRoute({ network: ip('10.0.0.1'), length: 8, via: GW_IP }), RangeError);
});

function r0(
  prefix: string,
  protocol: RouteInfo['protocol'],
  type: RouteInfo['type'],
  via: string | null,
  iface: string | null,
  distance: number,
  selected: boolean,
  active: boolean,
) {
  return { prefix, protocol, type, via, interface: iface, distance, selected, active };
}

test('show: arpEntries(now) lists entries sorted, with state, queue length and age', () => {
  const r = rig();
  learn(r, r.eth1, B_IP, B_MAC, 100);
  learn(r, r.eth0, A_IP, A_MAC, 200);
  learn(r, r.eth0, ip('10.0.1.2'), mac('02:00:00:00:01:02'), 300);
  feed(r, r.eth0, udpFromA(ip('10.0.2.30'), bytes(4)), 400);
  r.cap.take();
  assert.deepEqual(r.stack.arpEntries(1000), [
    {
      address: '10.0.1.2',
      interface: 'eth0',
      mac: '02:00:00:00:01:02',
      state: 'REACHABLE',
      queued: 0,
      ageMs: 700,
    },
    {
      address: '10.0.1.10',
      interface: 'eth0',
      mac: '02:aa:00:00:00:0a',
      state: 'REACHABLE',
      queued: 0,
      ageMs: 800,
    },
    {
      address: '10.0.2.20',
      interface: 'eth1',
      mac: '02:bb:00:00:00:14',
      state: 'REACHABLE',
      queued: 0,
      ageMs: 900,
    },
    { address: '10.0.2.30', interface: 'eth1', mac: null, state: 'INCOMPLETE', queued: 1, ageMs: 0 },
  ]);
});

test('show: counters() names every stat and drop reason with its count', () => {
  const r = rig();
  learn(r, r.eth0, A_IP, A_MAC);
  learn(r, r.eth1, B_IP, B_MAC);
  feed(r, r.eth0, udpFromA(B_IP, bytes(8)), 0);
  feed(r, r.eth0, udpFromA(B_IP, bytes(8), { ttl: 0 }), 0);
  feed(r, r.eth0, udpFromA(ip('8.8.8.8'), bytes(8)), 0);
  const c = r.stack.counters();
  assert.equal(c.stats.forwarded, 1);
  assert.equal(c.stats.arp_replies_sent, 2);
  assert.equal(c.stats.arp_requests_sent, 2);
  assert.equal(c.stats.icmp_errors_sent, 1);
  assert.equal(c.stats.arp_entries, 2);
  assert.equal(c.stats.reassembly_pending, 0);
  assert.ok(c.stats.fib_routes! >= 6);
  assert.equal(c.drops.ipv4_ttl_zero, 1);
  assert.equal(c.drops.ipv4_no_route, 1);
  assert.equal(Object.keys(c.stats).length, Object.keys(Stat).length + 3);
  assert.equal(Object.keys(c.drops).length, Object.keys(Drop).length);
  assert.equal(c.stats.forwarded, r.stack.statCount(Stat.FORWARDED));
  assert.equal(c.drops.ipv4_no_route, r.stack.dropCount(Drop.IPV4_NO_ROUTE));
});
