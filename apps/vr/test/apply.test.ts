import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '@nexthop/addr';
import { ConfigApplyError } from '@nexthop/vr';
import YAML from 'yaml';
import { BASE, BROKEN_DEVICE, interfaceShape, lookup, routerConfig, startRig } from './rig.ts';

const ip = parseIpv4;

function withRoute(extra: string): string {
  return `${BASE}      ${extra}\n`;
}

test('config.apply adds and removes one static route; nothing else is touched', async () => {
  const rig = startRig();
  try {
    const shape = interfaceShape(rig.vr);
    const links = [...rig.hosts.values()].map((h) => h.link);
    assert.equal(lookup(rig.vr, ip('10.99.1.1')), null);

    const added = (await rig.call('config.apply', {
      text: withRoute('- { prefix: 10.99.0.0/16, via: 10.2.0.2 }'),
    })) as { changes: string[] };
    assert.deepEqual(added.changes, ['route 10.99.0.0/16 via 10.2.0.2 added']);
    assert.deepEqual(lookup(rig.vr, ip('10.99.1.1')), { interface: 'eth1', gateway: ip('10.2.0.2') });
    assert.deepEqual(lookup(rig.vr, ip('10.50.0.9')), { interface: 'eth0', gateway: ip('10.1.0.2') });
    assert.deepEqual(interfaceShape(rig.vr), shape);
    assert.equal(rig.opened, 2, 'no link reopened');
    assert.deepEqual(
      [...rig.hosts.values()].map((h) => h.link),
      links,
    );
    assert.deepEqual(rig.closedHosts(), []);

    // The same text again changes nothing.
    const again = (await rig.call('config.apply', {
      text: withRoute('- { prefix: 10.99.0.0/16, via: 10.2.0.2 }'),
    })) as { changes: string[] };
    assert.deepEqual(again.changes, []);

    const removed = (await rig.call('config.apply', { text: BASE })) as { changes: string[] };
    assert.deepEqual(removed.changes, ['route 10.99.0.0/16 via 10.2.0.2 removed']);
    assert.equal(lookup(rig.vr, ip('10.99.1.1')), null);
    assert.deepEqual(lookup(rig.vr, ip('10.50.0.9')), { interface: 'eth0', gateway: ip('10.1.0.2') });
    assert.deepEqual(interfaceShape(rig.vr), shape);
    assert.equal(rig.opened, 2);

    // A route changing only its distance is the old one removed and the new one added.
    const distance = (await rig.call('config.apply', {
      text: BASE.replace('via: 10.1.0.2 }', 'via: 10.1.0.2, distance: 20 }'),
    })) as { changes: string[] };
    assert.deepEqual(distance.changes, [
      'route 10.50.0.0/16 via 10.1.0.2 removed',
      'route 10.50.0.0/16 via 10.1.0.2 distance 20 added',
    ]);
    assert.deepEqual(
      rig.vr.stack
        .routeList()
        .filter((r) => r.protocol === 'static')
        .map((r) => [r.prefix, r.distance]),
      [['10.50.0.0/16', 20]],
    );

    const got = (await rig.call('config.get')) as { text: string };
    assert.equal(
      (YAML.parse(got.text) as { routers: { blue: { routes: { distance: number }[] } } }).routers.blue
        .routes[0]!.distance,
      20,
    );
  } finally {
    rig.close();
  }
});

test('config.apply adds and removes an address and changes the MTU', async () => {
  const rig = startRig();
  try {
    const more = BASE.replace('addresses: [10.2.0.1/24]', 'addresses: [10.2.0.1/24, 10.3.0.1/24], mtu: 1400');
    const r1 = (await rig.call('config.apply', { text: more })) as { changes: string[] };
    assert.deepEqual(r1.changes, ['interface eth1 mtu 1500 -> 1400', 'address 10.3.0.1/24 on eth1 added']);
    assert.deepEqual(lookup(rig.vr, ip('10.3.0.7')), { interface: 'eth1', gateway: 0 });
    const eth1 = rig.vr.stack.interfaces().find((i) => i.name === 'eth1')!;
    assert.deepEqual(eth1.addresses, ['10.2.0.1/24', '10.3.0.1/24']);
    assert.equal(eth1.mtu, 1400);

    const r2 = (await rig.call('config.apply', { text: BASE })) as { changes: string[] };
    assert.deepEqual(r2.changes, ['interface eth1 mtu 1400 -> 1500', 'address 10.3.0.1/24 on eth1 removed']);
    assert.equal(lookup(rig.vr, ip('10.3.0.7')), null);
    assert.deepEqual(lookup(rig.vr, ip('10.2.0.7')), { interface: 'eth1', gateway: 0 });
    assert.equal(rig.opened, 2);
  } finally {
    rig.close();
  }
});

test('config.apply adds, removes and re-adds an interface', async () => {
  const rig = startRig();
  try {
    const withEth2 = `${BASE.replace(
      '    routes:\n',
      '      eth2: { driver: pipe, device: p2, addresses: [10.4.0.1/24] }\n    routes:\n',
    )}      - { prefix: 10.77.0.0/16, via: 10.4.0.9 }\n`;
    const r1 = (await rig.call('config.apply', { text: withEth2 })) as { changes: string[] };
    assert.deepEqual(r1.changes, ['interface eth2 added (pipe:p2)', 'route 10.77.0.0/16 via 10.4.0.9 added']);
    assert.equal(rig.opened, 3);
    assert.deepEqual(lookup(rig.vr, ip('10.77.0.1')), { interface: 'eth2', gateway: ip('10.4.0.9') });
    const shown = (await rig.call('show.interfaces')) as { name: string; device: string; up: boolean }[];
    assert.deepEqual(
      shown.map((i) => [i.name, i.device, i.up]),
      [
        ['eth0', 'p0', true],
        ['eth1', 'p1', true],
        ['eth2', 'p2', true],
      ],
    );
    const eth2Host = rig.hosts.get('eth2')!;

    const r2 = (await rig.call('config.apply', { text: BASE })) as { changes: string[] };
    assert.deepEqual(r2.changes, ['route 10.77.0.0/16 via 10.4.0.9 removed', 'interface eth2 removed']);
    assert.equal(eth2Host.link.up, false, "the VR's end of the pipe is closed");
    assert.equal(lookup(rig.vr, ip('10.77.0.1')), null);
    assert.equal(lookup(rig.vr, ip('10.4.0.5')), null);
    assert.deepEqual(
      rig.vr.stack.interfaces().map((i) => i.name),
      ['eth0', 'eth1'],
    );
    assert.deepEqual(
      rig.vr.linkStats().map((l) => l.name),
      ['eth0', 'eth1'],
    );
    await assert.rejects(rig.call('capture.start', { interface: 'eth2' }), { code: 'not_found' });

    const r3 = (await rig.call('config.apply', { text: withEth2 })) as { changes: string[] };
    assert.deepEqual(r3.changes, ['interface eth2 added (pipe:p2)', 'route 10.77.0.0/16 via 10.4.0.9 added']);
    assert.deepEqual(lookup(rig.vr, ip('10.77.0.1')), { interface: 'eth2', gateway: ip('10.4.0.9') });

    // A changed device replaces the interface; routes through it follow the new one.
    const moved = withEth2.replace('device: p2', 'device: p3');
    const r4 = (await rig.call('config.apply', { text: moved })) as { changes: string[] };
    assert.deepEqual(r4.changes, ['interface eth2 replaced (pipe:p3)']);
    assert.deepEqual(lookup(rig.vr, ip('10.77.0.1')), { interface: 'eth2', gateway: ip('10.4.0.9') });
    assert.equal(rig.vr.linkStats().find((l) => l.name === 'eth2')?.device, 'p3');
  } finally {
    rig.close();
  }
});

test('a failing apply changes nothing', async () => {
  const rig = startRig();
  try {
    const before = {
      shape: interfaceShape(rig.vr),
      routes: rig.vr.stack.routeList(),
      config: rig.vr.currentConfig,
      text: ((await rig.call('config.get')) as { text: string }).text,
    };
    const same = async () => {
      assert.deepEqual(interfaceShape(rig.vr), before.shape);
      assert.deepEqual(rig.vr.stack.routeList(), before.routes);
      assert.equal(rig.vr.currentConfig, before.config);
      assert.equal(((await rig.call('config.get')) as { text: string }).text, before.text);
      assert.deepEqual(rig.closedHosts(), [], 'every link opened for the apply was closed again');
    };

    // An interface whose device cannot be opened, alongside changes that would have worked.
    const broken = `${BASE.replace(
      'addresses: [10.2.0.1/24]',
      'addresses: [10.2.0.1/24, 10.3.0.1/24]',
    ).replace(
      '    routes:\n',
      `      eth2: { driver: pipe, device: p2 }\n      eth3: { driver: pipe, device: ${BROKEN_DEVICE} }\n    routes:\n`,
    )}      - { prefix: 10.99.0.0/16, via: 10.2.0.2 }\n`;
    await assert.rejects(rig.call('config.apply', { text: broken }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'apply_failed');
      assert.match(err.message, /no device broken0/);
      return true;
    });
    assert.equal(rig.opened, 3, 'eth2 was opened');
    assert.equal(rig.hosts.get('eth2')!.link.up, false, '... and closed again');
    rig.hosts.delete('eth2');
    await same();

    // An MTU above the device's.
    const big = BASE.replace('addresses: [10.1.0.1/24]', 'addresses: [10.1.0.1/24], mtu: 9000');
    await assert.rejects(rig.call('config.apply', { text: big }), { code: 'apply_failed' });
    await same();

    // Invalid text, another router, a missing device on the host.
    await assert.rejects(rig.call('config.apply', { text: BASE.replace('10.2.0.1/24', '10.2.0.1/33') }), {
      code: 'invalid_config',
    });
    await assert.rejects(rig.call('config.apply', { text: BASE.replace('blue:', 'red:') }), {
      code: 'wrong_router',
    });
    await assert.rejects(rig.call('config.apply', {}), { code: 'bad_request' });
    await same();
    assert.throws(() => rig.vr.apply(routerConfig(BASE.replace('blue:', 'red:'))), ConfigApplyError);
  } finally {
    rig.close();
  }
});

test('status reports the VR and its size', async () => {
  const rig = startRig();
  try {
    const s = (await rig.call('status')) as Record<string, number | string>;
    assert.deepEqual(Object.keys(s).sort(), [
      'fibRoutes',
      'name',
      'pid',
      'rsockClients',
      'rssBytes',
      'sockets',
      'startedAt',
      'uptimeMs',
    ]);
    assert.equal(s['name'], 'blue');
    assert.equal(s['pid'], process.pid);
    assert.equal(s['fibRoutes'], rig.vr.stack.fib.size);
    assert.ok((s['rssBytes'] as number) > 0);
    assert.equal(s['rsockClients'], 0);
    assert.equal(typeof s['sockets'], 'number');
  } finally {
    rig.close();
  }
});

test('config.apply changes the niceness through the process hook, nothing else', async () => {
  const rig = startRig();
  try {
    const seen: number[] = [];
    rig.vr.onPriorityChange = (nice) => seen.push(nice);
    const text = BASE.replace('  blue:\n', '  blue:\n    nice: -5\n');
    const applied = (await rig.call('config.apply', { text })) as { changes: string[] };
    assert.deepEqual(applied.changes, ['nice 0 -> -5']);
    assert.deepEqual(seen, [-5]);
    assert.equal(rig.opened, 2, 'no link reopened');
  } finally {
    rig.close();
  }
});
