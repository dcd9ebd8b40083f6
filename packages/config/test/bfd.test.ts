// The bfd section (issue 12) and the `bfd: true` flags of BGP neighbours and OSPF interfaces: the
// example normalized with FRR's defaults, overrides by interface and peer, mistakes at their line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '@nexthop/addr';
import { type ConfigError, formatConfigErrors, parseConfig } from '../src/index.ts';

const EXAMPLE = `routers:
  edge:
    interfaces:
      e1: { driver: tap, device: t1, addresses: [10.0.12.1/24] }
      e2: { driver: tap, device: t2, addresses: [10.0.13.1/30] }
    bfd:
      interval: 100
      multiplier: 4
      interfaces:
        e2: { transmitInterval: 50, receiveInterval: 60 }
      peers:
        10.0.12.2: { interval: 200, multiplier: 5, authentication: { type: keyed-sha1, keyId: 2, key: secret } }
        2001:db8::2: { interface: e1, multiplier: 7 }
    bgp:
      asn: 65001
      neighbors:
        a: { address: 10.0.12.2, remoteAs: 65002, bfd: true }
        b: { address: 10.0.13.2, remoteAs: 65003 }
    ospf:
      areas:
        0:
          interfaces:
            e1: { bfd: true }
            e2: {}
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

function withLine(line: number, replacement: string): string {
  const lines = EXAMPLE.split('\n');
  lines[line - 1] = replacement;
  return lines.join('\n');
}

test('bfd: the section normalized (defaults, interface and peer overrides); the flags of BGP and OSPF', () => {
  const r = parseConfig(EXAMPLE);
  assert.ok(r.ok, r.ok ? '' : formatConfigErrors(r.errors, 'x'));
  const router = r.config.routers[0]!;
  const b = router.bfd!;
  assert.deepEqual(b.defaults, { transmitInterval: 100, receiveInterval: 100, multiplier: 4 });
  assert.deepEqual(b.interfaces, [{ name: 'e2', params: { transmitInterval: 50, receiveInterval: 60 } }]);
  assert.equal(b.peers.length, 2);
  assert.equal(b.peers[0]!.address, parseIpv4('10.0.12.2'));
  assert.deepEqual(b.peers[0]!.params, {
    transmitInterval: 200,
    receiveInterval: 200,
    multiplier: 5,
    auth: { type: 'keyed-sha1', keyId: 2, key: 'secret' },
  });
  assert.equal(b.peers[1]!.interface, 'e1');
  assert.ok(b.peers[1]!.address instanceof Uint8Array);
  assert.deepEqual(
    router.bgp!.neighbors.map((n) => [n.name, n.bfd]),
    [
      ['a', true],
      ['b', false],
    ],
  );
  assert.deepEqual(
    router.ospf!.areas[0]!.interfaces.map((i) => [i.name, i.bfd]),
    [
      ['e1', true],
      ['e2', false],
    ],
  );
  // No section: none in the config (the VR uses 300 ms × 3).
  const bare = parseConfig(EXAMPLE.replace(/ {4}bfd:\n(?: {6}.*\n)+/, ''));
  assert.ok(bare.ok, bare.ok ? '' : formatConfigErrors(bare.errors, 'x'));
  assert.equal(bare.config.routers[0]!.bfd, undefined);
});

test('bfd: mistakes at their field and line', () => {
  expectError(withLine(7, '      interval: 5'), 'routers.edge.bfd.interval', 7, '10');
  expectError(withLine(8, '      multiplier: 0'), 'routers.edge.bfd.multiplier', 8, '1');
  expectError(
    withLine(10, '        e9: { interval: 50 }'),
    'routers.edge.bfd.interfaces.e9',
    10,
    "no interface 'e9'",
  );
  expectError(
    withLine(13, '        2001:db8::2: { interface: e7 }'),
    'routers.edge.bfd.peers.2001:db8::2.interface',
    13,
    "no interface 'e7'",
  );
  expectError(
    withLine(
      12,
      '        10.0.12.2: { authentication: { type: keyed-md5, keyId: 1, key: "12345678901234567" } }',
    ),
    'routers.edge.bfd.peers.10.0.12.2.authentication.key',
    12,
    'at most 16 octets',
  );
  expectError(
    withLine(12, '        10.0.12.2: { bogus: 1 }'),
    'routers.edge.bfd.peers.10.0.12.2.bogus',
    12,
    'bogus',
  );
  expectError(
    withLine(17, '        a: { address: 10.0.12.2, remoteAs: 65002, bfd: yes }'),
    'routers.edge.bgp.neighbors.a.bfd',
    17,
    'true or false',
  );
});
