import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Drop } from '@nexthop/wire';
import { A_IP, A_MAC, bytes, feed, GW_IP, ip, learn, mac, rig, udpFromA } from './harness.ts';

function egress(r: ReturnType<typeof rig>, dst: number): { ifIndex: number; gateway: number } | null {
  const nh = r.stack.fib.lookup(dst, 0);
  if (nh < 0) return null;
  return { ifIndex: r.stack.fib.nextHops.ifIndex(nh), gateway: r.stack.fib.nextHops.gateway(nh) };
}

test('removeStaticRoute with a match removes only the route that matches', () => {
  const r = rig();
  const net = ip('192.168.0.0');
  r.stack.addStaticRoute({ network: net, length: 16, via: GW_IP, distance: 1 });
  r.stack.addStaticRoute({ network: net, length: 16, via: ip('10.0.1.254'), distance: 5 });
  assert.deepEqual(egress(r, ip('192.168.3.4')), { ifIndex: r.eth1, gateway: GW_IP });

  assert.equal(r.stack.removeStaticRoute(net, 16, { via: GW_IP, distance: 7 }), false, 'distance differs');
  assert.equal(
    r.stack.removeStaticRoute(net, 16, { via: GW_IP, ifIndex: -1, type: 'unicast', distance: 1 }),
    true,
  );
  assert.deepEqual(egress(r, ip('192.168.3.4')), { ifIndex: r.eth0, gateway: ip('10.0.1.254') });
  const left = r.stack.routeList().filter((x) => x.prefix === '192.168.0.0/16');
  assert.equal(left.length, 1);
  assert.equal(left[0]!.via, '10.0.1.254');

  // Without a match every static route of the prefix goes; connected routes never do.
  r.stack.addStaticRoute({ network: net, length: 16, type: 'blackhole' });
  assert.equal(r.stack.removeStaticRoute(net, 16), true);
  assert.equal(egress(r, ip('192.168.3.4')), null);
  assert.equal(r.stack.removeStaticRoute(ip('10.0.1.0'), 24), false);
  assert.notEqual(egress(r, A_IP), null);
});

test('removeInterface leaves a tombstone: down, no addresses or routes, name free for reuse', () => {
  const r = rig();
  learn(r, r.eth0, A_IP, A_MAC, 0);
  r.stack.addStaticRoute({ network: ip('192.168.0.0'), length: 16, via: GW_IP });
  assert.equal(egress(r, ip('192.168.1.1'))?.ifIndex, r.eth1);

  r.stack.removeInterface(r.eth1, 1);
  assert.deepEqual(
    r.stack.interfaces().map((i) => i.name),
    ['eth0'],
  );
  assert.equal(r.stack.interfaceIndex('eth1'), -1);
  assert.equal(r.stack.interfaceUp(r.eth1), false);
  assert.equal(egress(r, ip('10.0.2.20')), null, 'connected route gone');
  assert.equal(egress(r, ip('192.168.1.1')), null, 'static route through it inactive');
  const stat = r.stack.routeList().find((x) => x.prefix === '192.168.0.0/16');
  assert.equal(stat?.active, false);
  // Coming up again is refused for a tombstone.
  r.stack.setUp(r.eth1, true, 2);
  assert.equal(r.stack.interfaceUp(r.eth1), false);
  // Frames still handed in are dropped as for a down interface.
  const before = r.stack.dropCount(Drop.INTERFACE_DOWN);
  feed(r, r.eth1, udpFromA(ip('10.0.1.1'), bytes(10)), 3);
  assert.equal(r.stack.dropCount(Drop.INTERFACE_DOWN), before + 1);
  // The untouched interface keeps working, its ARP entry too.
  assert.equal(egress(r, A_IP)?.ifIndex, r.eth0);
  assert.equal(r.stack.arpEntries(3).length, 1);

  // The name can be used again; the new interface gets a new index.
  const again = r.stack.addInterface({ name: 'eth1', mac: mac('02:00:00:00:00:09'), mtu: 1500 });
  assert.equal(again, 2);
  assert.equal(r.stack.interfaceIndex('eth1'), again);
  r.stack.addAddress(again, ip('10.0.2.1'), 24, 4);
  assert.equal(egress(r, ip('10.0.2.20'))?.ifIndex, again);
  r.stack.addStaticRoute({ network: ip('192.168.0.0'), length: 16, via: GW_IP });
  assert.equal(egress(r, ip('192.168.1.1'))?.ifIndex, again);
  assert.deepEqual(
    r.stack.interfaces().map((i) => [i.index, i.name]),
    [
      [0, 'eth0'],
      [2, 'eth1'],
    ],
  );
  assert.throws(() => r.stack.addInterface({ name: 'eth1', mac: A_MAC, mtu: 1500 }));
});
