import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type NexthopConfig, parseConfig } from '@nexthop/config';
import { changedRouters, diffConfigs, MANAGER_VR } from '../src/diff.ts';

function config(text: string): NexthopConfig {
  const parsed = parseConfig(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.config;
}

const base = `
routers:
  red:
    interfaces:
      eth0: { driver: pipe, addresses: [10.1.0.1/24] }
      eth1: { driver: pipe, addresses: [10.2.0.1/24] }
    routes:
      - { prefix: 10.99.0.0/16, via: 10.2.0.2 }
  blue:
    interfaces:
      eth0: { driver: pipe, addresses: [10.3.0.1/24] }
`;

test('the same configuration, even with keys in another order, has no changes', () => {
  const reordered = `
routers:
  red:
    routes:
      - { via: 10.2.0.2, prefix: 10.99.0.0/16 }
    interfaces:
      eth1: { addresses: [10.2.0.1/24], driver: pipe }
      eth0: { driver: pipe, addresses: [10.1.0.1/24] }
  blue:
    interfaces:
      eth0: { driver: pipe, addresses: [10.3.0.1/24] }
`;
  assert.deepEqual(diffConfigs(config(base), config(reordered)), []);
  assert.deepEqual(changedRouters(config(base), config(reordered)), []);
});

test('from nothing, every VR is added', () => {
  assert.deepEqual(diffConfigs(null, config(base)), [
    { vr: 'red', action: 'add', kind: 'vr', detail: 'vr red (2 interfaces, 1 route)' },
    { vr: 'blue', action: 'add', kind: 'vr', detail: 'vr blue (1 interface, 0 routes)' },
  ]);
});

test('VRs added and removed', () => {
  const next = `
routers:
  red:
    interfaces:
      eth0: { driver: pipe, addresses: [10.1.0.1/24] }
      eth1: { driver: pipe, addresses: [10.2.0.1/24] }
    routes:
      - { prefix: 10.99.0.0/16, via: 10.2.0.2 }
  green:
    interfaces:
      eth0: { driver: pipe }
`;
  assert.deepEqual(diffConfigs(config(base), config(next)), [
    { vr: 'blue', action: 'remove', kind: 'vr', detail: 'vr blue (1 interface, 0 routes)' },
    { vr: 'green', action: 'add', kind: 'vr', detail: 'vr green (1 interface, 0 routes)' },
  ]);
  assert.deepEqual(changedRouters(config(base), config(next)), []);
});

test('routes, addresses, interfaces, services, access and quotas of one VR', () => {
  const next = `
routers:
  red:
    interfaces:
      eth0: { driver: pipe, addresses: [10.1.0.1/24, 10.5.0.1/24], mtu: 1400 }
      eth2: { driver: pipe, addresses: [10.4.0.1/24] }
    routes:
      - { prefix: 10.98.0.0/16, via: 10.1.0.2, distance: 5 }
      - { prefix: 192.0.2.0/24, blackhole: true }
    services: { echo: true }
    access: { uids: [0, 1000] }
    quotas: { clientSockets: 10 }
  blue:
    interfaces:
      eth0: { driver: pipe, addresses: [10.3.0.1/24] }
`;
  const changes = diffConfigs(config(base), config(next));
  assert.deepEqual(
    changes.map((c) => `${c.action} ${c.vr} ${c.kind}: ${c.detail}`),
    [
      'remove red interface: interface eth1 pipe 10.2.0.1/24',
      'change red interface: interface eth0 mtu default -> 1400',
      'add red address: address 10.5.0.1/24 on eth0',
      'add red interface: interface eth2 pipe 10.4.0.1/24',
      'remove red route: route 10.99.0.0/16 via 10.2.0.2',
      'add red route: route 10.98.0.0/16 via 10.1.0.2 distance 5',
      'add red route: route 192.0.2.0/24 blackhole',
      'change red services: services echo false -> true',
      'change red access: access uids [0] -> [0,1000]',
      'change red quotas: quotas clientSockets 1024 -> 10',
    ],
  );
  assert.deepEqual(
    changedRouters(config(base), config(next)).map((r) => r.name),
    ['red'],
  );
});

test('an address removed and a route changed only in its gateway', () => {
  const next = base.replace('[10.1.0.1/24]', '[]').replace('via: 10.2.0.2', 'via: 10.2.0.3');
  assert.deepEqual(
    diffConfigs(config(base), config(next)).map((c) => `${c.action} ${c.detail}`),
    [
      'remove address 10.1.0.1/24 on eth0',
      'remove route 10.99.0.0/16 via 10.2.0.2',
      'add route 10.99.0.0/16 via 10.2.0.3',
    ],
  );
});

test('the niceness of a VR', () => {
  const next = base.replace('  blue:\n', '  blue:\n    nice: -10\n');
  const changes = diffConfigs(config(base), config(next));
  assert.deepEqual(
    changes.map((c) => [c.vr, c.action, c.kind, c.detail]),
    [['blue', 'change', 'vr', 'nice 0 -> -10']],
  );
  assert.deepEqual(
    changedRouters(config(base), config(next)).map((r) => r.name),
    ['blue'],
  );
});

test('the manager section', () => {
  const next = `manager:\n  api: { tcp: 127.0.0.1:9000, tokenFile: /etc/nexthop/token }\n${base}`;
  assert.deepEqual(diffConfigs(config(base), config(next)), [
    {
      vr: MANAGER_VR,
      action: 'change',
      kind: 'manager',
      detail: 'manager api tcp off -> api tcp 127.0.0.1:9000 token /etc/nexthop/token',
    },
  ]);
});
