// The ospf section of a router (issue 12): the example normalized with its defaults, the router id
// from the interfaces, and each mistake reported at its field and line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '@nexthop/addr';
import { type ConfigError, formatConfigErrors, parseAreaId, parseConfig } from '../src/index.ts';

const EXAMPLE = `routers:
  edge:
    interfaces:
      e1: { driver: tap, device: t1, addresses: [10.0.12.1/24] }
      e2: { driver: tap, device: t2, addresses: [10.0.13.1/30] }
      e3: { driver: tap, device: t3, addresses: [10.0.14.1/24] }
    ospf:
      routerId: 192.0.2.1
      redistribute: [connected]
      spf: { delay: 100, hold: 2000 }
      areas:
        0.0.0.0:
          interfaces:
            e1: { cost: 5, priority: 10, helloInterval: 2, deadInterval: 8 }
            e2: { network: point-to-point, authentication: { md5: { keyId: 3, key: secret } } }
        1:
          interfaces:
            e3: { passive: true }
`;

function errorsOf(text: string): ConfigError[] {
  const r = parseConfig(text);
  return r.ok ? [] : r.errors;
}

function expectError(text: string, path: string, line: number, fragment: string): void {
  const errors = errorsOf(text);
  const shown = formatConfigErrors(errors, 'edge.yaml');
  const hit = errors.find((e) => e.path === path);
  assert.ok(hit, `no error at ${path}; got:\n${shown}`);
  assert.equal(hit.line, line, shown);
  assert.ok(hit.message.includes(fragment), shown);
}

function withLine(line: number, replacement: string | null): string {
  const lines = EXAMPLE.split('\n');
  if (replacement === null) lines.splice(line - 1, 1);
  else lines[line - 1] = replacement;
  return lines.join('\n');
}

test('the ospf section normalized, defaults filled in', () => {
  const r = parseConfig(EXAMPLE);
  assert.ok(r.ok, r.ok ? '' : formatConfigErrors(r.errors, 'x'));
  const o = r.config.routers[0]!.ospf!;
  assert.equal(o.routerId, parseIpv4('192.0.2.1'));
  assert.equal(o.routerIdSource, 'config');
  assert.deepEqual(o.redistribute, ['connected']);
  assert.equal(o.externalMetric, 20);
  assert.equal(o.externalMetricType, 2);
  assert.equal(o.spfDelay, 100);
  assert.equal(o.spfHold, 2000);
  assert.deepEqual(
    o.areas.map((a) => [a.idText, a.interfaces.map((i) => i.name)]),
    [
      ['0.0.0.0', ['e1', 'e2']],
      ['0.0.0.1', ['e3']],
    ],
  );
  assert.deepEqual(o.areas[0]!.interfaces[0], {
    name: 'e1',
    cost: 5,
    priority: 10,
    helloInterval: 2,
    deadInterval: 8,
    retransmitInterval: 5,
    transmitDelay: 1,
    network: 'broadcast',
    passive: false,
    bfd: false,
    auth: { type: 'none' },
  });
  const e2 = o.areas[0]!.interfaces[1]!;
  assert.equal(e2.network, 'point-to-point');
  assert.equal(e2.helloInterval, 10);
  assert.equal(e2.deadInterval, 40);
  assert.deepEqual(e2.auth, { type: 'md5', keyId: 3, key: 'secret' });
  assert.equal(o.areas[1]!.interfaces[0]!.passive, true);
});

test('the router id defaults to the highest IPv4 interface address', () => {
  const r = parseConfig(withLine(8, null));
  assert.ok(r.ok);
  assert.equal(r.config.routers[0]!.ospf!.routerIdText, '10.0.14.1');
  assert.equal(r.config.routers[0]!.ospf!.routerIdSource, 'interface');
});

test('area ids: dotted or decimal', () => {
  assert.equal(parseAreaId('0'), 0);
  assert.equal(parseAreaId('0.0.0.1'), 1);
  assert.equal(parseAreaId('4294967295'), 0xffffffff);
  assert.equal(parseAreaId('4294967296'), undefined);
});

test('mistakes at their field and line', () => {
  const O = 'routers.edge.ospf';
  expectError(
    withLine(14, '            e9: { cost: 5 }'),
    `${O}.areas.0.0.0.0.interfaces.e9`,
    14,
    "no interface 'e9'",
  );
  expectError(
    withLine(19, '            e1: { passive: true }'),
    `${O}.areas.0.0.0.0.interfaces.e1`,
    14,
    'already in area 1',
  );
  expectError(
    withLine(14, '            e1: { helloInterval: 10, deadInterval: 10 }'),
    `${O}.areas.0.0.0.0.interfaces.e1.deadInterval`,
    14,
    'must be longer than helloInterval',
  );
  expectError(withLine(8, '      routerId: 0.0.0.0'), `${O}.routerId`, 8, 'must not be 0.0.0.0');
  expectError(withLine(14, '            e1: { cost: 0 }'), `${O}.areas.0.0.0.0.interfaces.e1.cost`, 14, '');
  expectError(
    withLine(14, '            e1: { network: nbma }'),
    `${O}.areas.0.0.0.0.interfaces.e1.network`,
    14,
    '',
  );
});

test('stub areas: stub and defaultCost (1 by default); not the backbone, no defaultCost without stub', () => {
  const stubbed = withLine(16, '        1:\n          stub: true\n          defaultCost: 15');
  const r = parseConfig(stubbed);
  assert.ok(r.ok, r.ok ? '' : formatConfigErrors(r.errors, 'x'));
  const o = r.config.routers[0]!.ospf!;
  assert.deepEqual(
    o.areas.map((a) => [a.idText, a.stub, a.defaultCost]),
    [
      ['0.0.0.0', false, 1],
      ['0.0.0.1', true, 15],
    ],
  );
  const plain = parseConfig(withLine(16, '        1:\n          stub: true'));
  assert.ok(plain.ok);
  assert.equal(plain.config.routers[0]!.ospf!.areas[1]!.defaultCost, 1);
  expectError(
    withLine(12, '        0.0.0.0:\n          stub: true'),
    'routers.edge.ospf.areas.0.0.0.0.stub',
    13,
    'cannot be a stub area',
  );
  expectError(
    withLine(16, '        1:\n          defaultCost: 3'),
    'routers.edge.ospf.areas.1.defaultCost',
    17,
    'set stub: true',
  );
});

test('ospf6 areas take stub and defaultCost too', () => {
  const r = parseConfig(`routers:
  edge:
    interfaces:
      e1: { driver: tap, device: t1, addresses: [10.0.12.1/24, 2001:db8:12::1/64] }
      e2: { driver: tap, device: t2, addresses: [10.0.13.1/24, 2001:db8:13::1/64] }
    ospf6:
      routerId: 192.0.2.1
      areas:
        0:
          interfaces:
            e1: {}
        1:
          stub: true
          defaultCost: 9
          interfaces:
            e2: {}
`);
  assert.ok(r.ok, r.ok ? '' : formatConfigErrors(r.errors, 'x'));
  assert.deepEqual(
    r.config.routers[0]!.ospf6!.areas.map((a) => [a.idText, a.stub, a.defaultCost]),
    [
      ['0.0.0.0', false, 1],
      ['0.0.0.1', true, 9],
    ],
  );
});
