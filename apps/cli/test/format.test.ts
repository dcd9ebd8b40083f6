import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CliError } from '../src/errors.ts';
import {
  formatArp,
  formatArpByVr,
  formatCounters,
  formatCountersByVr,
  formatInterfaces,
  formatInterfacesByVr,
  formatNeighbors,
  formatNeighborsByVr,
  formatRoutes,
  formatRoutesByVr,
  formatSockets,
  formatSocketsByVr,
  formatUptime,
  formatVrs,
  table,
  tagRows,
} from '../src/format.ts';
import { familyFlag } from '../src/show.ts';
import { arp, counters, iface, route, socket, tableRows, vrStatus } from './fixtures.ts';

test('table pads every column but the last to its widest cell', () => {
  assert.equal(
    table(
      ['A', 'LONGER'],
      [
        ['xyz', 1],
        ['q', 22],
      ],
    ),
    'A    LONGER\nxyz  1\nq    22',
  );
});

test('uptime has two units at most, the larger first', () => {
  assert.equal(formatUptime(0), '0s');
  assert.equal(formatUptime(12_400), '12s');
  assert.equal(formatUptime(245_000), '4m05s');
  assert.equal(formatUptime(3_720_000), '1h02m');
  assert.equal(formatUptime(3 * 86_400_000 + 7 * 3_600_000), '3d07h');
});

test('show vrs: NAME STATE PID UPTIME RESTARTS INTERFACES REASON, dashes where nothing runs', () => {
  const text = formatVrs([vrStatus('red', 'running', 3_720_000, 2), vrStatus('blue', 'stopped', null)]);
  const [header, ...rows] = text.split('\n');
  assert.deepEqual(header!.split(/ +/), [
    'NAME',
    'STATE',
    'PID',
    'UPTIME',
    'RESTARTS',
    'INTERFACES',
    'REASON',
  ]);
  assert.deepEqual(rows[0]!.split(/ +/), ['red', 'running', '4003', '1h02m', '2', '2', '-']);
  assert.deepEqual(rows[1]!.split(/ +/), ['blue', 'stopped', '-', '-', '0', '2', '-']);
  // Aligned: every column starts at the same offset on every line.
  assert.equal(header!.indexOf('STATE'), rows[1]!.indexOf('stopped'));
  assert.equal(header!.indexOf('UPTIME'), rows[0]!.indexOf('1h02m'));
});

test('one VR: interfaces and sockets are tables, routes and neighbours iproute2 lines', () => {
  const i = formatInterfaces([iface('eth0', 5, ['10.1.0.1/24']), iface('eth1', 7, [])]);
  assert.match(i.split('\n')[0]!, /^NAME +DEVICE +DRIVER +STATE +MTU/);
  assert.match(i, /\neth0 +veth-eth0 +afpacket +UP +1500/);
  assert.equal(
    formatRoutes([route('10.1.0.0/24', null, 'eth0'), route('10.99.0.0/16', '10.1.0.2', 'eth0')]),
    '10.1.0.0/24 dev eth0 proto connected scope link\n10.99.0.0/16 via 10.1.0.2 dev eth0 proto static distance 1',
  );
  assert.equal(formatArp([arp('10.1.0.2', 'eth0')]), '10.1.0.2 dev eth0 lladdr 02:00:00:00:00:09 reachable');
  assert.equal(
    formatNeighbors([
      {
        family: 4,
        address: '10.1.0.2',
        interface: 'eth0',
        mac: '02:00:00:00:00:09',
        state: 'reachable',
        ageMs: 5,
      },
      { family: 6, address: '2001:db8:1::2', interface: 'eth0', mac: null, state: 'incomplete', ageMs: 1 },
    ]),
    '10.1.0.2 dev eth0 lladdr 02:00:00:00:00:09 reachable\n2001:db8:1::2 dev eth0 incomplete',
  );
  assert.match(
    formatNeighborsByVr(
      tagRows([
        {
          vr: 'blue',
          rows: [
            {
              family: 6,
              address: 'fe80::2',
              interface: 'eth1',
              mac: '02:00:00:00:00:02',
              state: 'stale',
              ageMs: 1,
            },
          ],
        },
      ]),
    ),
    /\nblue +fe80::2 dev eth1 lladdr 02:00:00:00:00:02 stale$/,
  );
  assert.match(formatSockets([socket('0.0.0.0:179')]), /\ntcp +LISTEN +0 +0 +0\.0\.0\.0:179 +\*:\* +3 +\*$/);
});

test('routes of both families: IPv4 lines then IPv6 lines, host routes without /32 or /128', () => {
  const local4 = {
    ...route('10.1.0.1/32', null, 'eth0'),
    protocol: 'local' as const,
    type: 'local' as const,
  };
  const local6 = {
    ...route('2001:db8:1::1/128', null, 'eth0'),
    protocol: 'local' as const,
    type: 'local' as const,
  };
  const shortV6 = route('2001:db8::/32', '2001:db8:1::2', 'eth0');
  assert.equal(
    formatRoutes([local4, route('0.0.0.0/0', '10.1.0.254', 'eth0'), local6, shortV6]),
    [
      'local 10.1.0.1 dev eth0 proto local scope host',
      '0.0.0.0/0 via 10.1.0.254 dev eth0 proto static distance 1',
      'local 2001:db8:1::1 dev eth0 proto local scope host',
      '2001:db8::/32 via 2001:db8:1::2 dev eth0 proto static distance 1',
    ].join('\n'),
  );
  assert.deepEqual(
    [local4, local6, shortV6].map((r) => r.family),
    [4, 6, 6],
  );
});

test('-4 and -6: one family, neither for both, both together a usage error (exit 2)', () => {
  assert.equal(familyFlag({}), undefined);
  assert.equal(familyFlag({ ipv4: true }), 4);
  assert.equal(familyFlag({ ipv6: true }), 6);
  assert.throws(
    () => familyFlag({ ipv4: true, ipv6: true }),
    (err: unknown) => err instanceof CliError && err.exitCode === 2 && /exclude each other/.test(err.message),
  );
});

test('interfaces: every address in the table, IPv4 then IPv6 with prefix lengths, DAD state when not preferred', () => {
  const eth0 = {
    ...iface('eth0', 1, ['10.1.0.1/24']),
    addresses6: [
      { address: 'fe80::1', length: 64, state: 'preferred' as const },
      { address: '2001:db8:1::1', length: 64, state: 'preferred' as const },
      { address: '2001:db8:1::5', length: 64, state: 'tentative' as const },
    ],
  };
  const [, row] = formatInterfaces([eth0]).split('\n');
  assert.match(row!, / 10\.1\.0\.1\/24 fe80::1\/64 2001:db8:1::1\/64 2001:db8:1::5\/64 \(tentative\)$/);
});

test('several VRs: a first column VR, rows of each VR in the order it sent them', () => {
  const rows = tagRows([
    { vr: 'red', rows: [iface('eth0', 1, ['10.1.0.1/24']), iface('eth1', 2, [])] },
    { vr: 'blue', rows: [iface('eth0', 3, ['10.2.0.1/24'])] },
  ]);
  assert.deepEqual(
    rows.map((r) => [r.vr, r.name]),
    [
      ['red', 'eth0'],
      ['red', 'eth1'],
      ['blue', 'eth0'],
    ],
  );
  assert.deepEqual(Object.keys(rows[0]!)[0], 'vr');
  const text = formatInterfacesByVr(rows);
  assert.match(text.split('\n')[0]!, /^VR +NAME +DEVICE/);
  assert.deepEqual(
    tableRows(text).map((r) => r.slice(0, 2)),
    [
      ['red', 'eth0'],
      ['red', 'eth1'],
      ['blue', 'eth0'],
    ],
  );

  const routes = formatRoutesByVr(
    tagRows([
      { vr: 'red', rows: [route('10.1.0.0/24', null, 'eth0')] },
      { vr: 'blue', rows: [route('10.99.0.0/16', '10.2.0.2', 'eth1')] },
    ]),
  );
  assert.equal(
    routes,
    'VR    ROUTE\nred   10.1.0.0/24 dev eth0 proto connected scope link\nblue  10.99.0.0/16 via 10.2.0.2 dev eth1 proto static distance 1',
  );
  const neighbours = formatArpByVr(tagRows([{ vr: 'blue', rows: [arp('10.2.0.2', 'eth1')] }]));
  assert.equal(neighbours, 'VR    NEIGHBOR\nblue  10.2.0.2 dev eth1 lladdr 02:00:00:00:00:09 reachable');
  const sockets = formatSocketsByVr(tagRows([{ vr: 'red', rows: [socket('0.0.0.0:179')] }]));
  assert.match(sockets, /^VR +NETID +STATE/);
  assert.match(sockets, /\nred +tcp +LISTEN/);
});

test('counters: one VR without a VR column; several with one in each of the three tables', () => {
  const one = formatCounters(counters(9));
  assert.match(
    one,
    /^COUNTER +FAMILY +VALUE\nforwarded +ipv4 +9\nipv6_forwarded +ipv6 +11\nsockets_open +- +1\n\ndrops: none\n\nLINK +RXFRAMES/,
  );
  // A VR that does not say the families (an older one): a dash for each.
  const { family: _, ...older } = counters(9);
  assert.match(formatCounters(older as never), /^COUNTER +FAMILY +VALUE\nforwarded +- +9\n/);
  const many = formatCountersByVr({ red: counters(9, 'noRoute'), blue: counters(4) });
  const [stats, drops, links] = many.split('\n\n');
  assert.deepEqual(tableRows(stats!), [
    ['red', 'forwarded', 'ipv4', '9'],
    ['red', 'ipv6_forwarded', 'ipv6', '11'],
    ['red', 'sockets_open', '-', '1'],
    ['blue', 'forwarded', 'ipv4', '4'],
    ['blue', 'ipv6_forwarded', 'ipv6', '6'],
    ['blue', 'sockets_open', '-', '1'],
  ]);
  assert.match(drops!, /^VR +DROP REASON +PACKETS\nred +noRoute +3$/);
  assert.deepEqual(
    tableRows(links!).map((r) => r.slice(0, 3)),
    [
      ['red', 'eth0', '9'],
      ['blue', 'eth0', '4'],
    ],
  );
});

test('the JSON of a multi-VR show is the table: same rows, same order, same VR', () => {
  const perVr = [
    { vr: 'red', rows: [route('10.1.0.0/24', null, 'eth0'), route('0.0.0.0/0', '10.1.0.254', 'eth0')] },
    { vr: 'blue', rows: [route('10.2.0.0/24', null, 'eth1')] },
  ];
  const json = JSON.parse(JSON.stringify(tagRows(perVr))) as { vr: string; prefix: string }[];
  const rows = tableRows(formatRoutesByVr(tagRows(perVr)));
  assert.equal(rows.length, json.length);
  rows.forEach(([vr, line], n) => {
    assert.equal(vr, json[n]!.vr);
    assert.ok(line!.startsWith(json[n]!.prefix));
  });
  const vrs = [vrStatus('red', 'running', 1000), vrStatus('blue', 'restarting', null, 4)];
  assert.deepEqual(
    tableRows(formatVrs(vrs)).map((r) => [r[0], r[1], r[4]]),
    vrs.map((v) => [v.name, v.state, String(v.restarts)]),
  );
});
