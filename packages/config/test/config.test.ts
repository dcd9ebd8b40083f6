import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseIpv4 } from '@nexthop/addr';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { type ConfigError, configJsonSchema, formatConfigErrors, parseConfig } from '../src/index.ts';

const EXAMPLE = `routers:
  edge:
    interfaces:
      eth0: { driver: afpacket, device: veth-r1, addresses: [10.1.0.1/24] }
      eth1: { driver: afpacket, device: veth-r2, addresses: [10.2.0.1/24], mtu: 1500 }
    routes:
      - { prefix: 10.99.0.0/16, via: 10.2.0.2 }
`;

function errorsOf(text: string): ConfigError[] {
  const r = parseConfig(text);
  assert.equal(r.ok, false, 'expected the config to be rejected');
  return r.ok ? [] : r.errors;
}

/** Asserts exactly one error at `path` on `line` whose message contains `fragment`. */
function expectError(text: string, path: string, line: number | undefined, fragment: string | RegExp): void {
  const errors = errorsOf(text);
  const shown = formatConfigErrors(errors, 'edge.yaml');
  const hit = errors.find((e) => e.path === path);
  assert.ok(hit, `no error at ${path}; got:\n${shown}`);
  assert.equal(hit.line, line, shown);
  if (typeof fragment === 'string') assert.ok(hit.message.includes(fragment), shown);
  else assert.match(hit.message, fragment, shown);
  // Never a raw validator dump.
  assert.doesNotMatch(hit.message, /schema is false|must match a schema|#\/properties/, shown);
}

/** The example with one line replaced (1-based), for errors at a known line. */
function withLine(line: number, replacement: string): string {
  const lines = EXAMPLE.split('\n');
  lines[line - 1] = replacement;
  return lines.join('\n');
}

describe('parseConfig: the example', () => {
  test('parses into numbers, keeping the text forms', () => {
    const r = parseConfig(EXAMPLE);
    assert.ok(r.ok, r.ok ? '' : formatConfigErrors(r.errors, 'edge.yaml'));
    const [edge] = r.config.routers;
    assert.equal(r.config.routers.length, 1);
    assert.equal(edge!.name, 'edge');
    assert.deepEqual(
      edge!.interfaces.map((i) => [i.name, i.driver, i.device, i.mtu, i.promiscuous]),
      [
        ['eth0', 'afpacket', 'veth-r1', undefined, true],
        ['eth1', 'afpacket', 'veth-r2', 1500, true],
      ],
    );
    assert.deepEqual(edge!.interfaces[0]!.addresses[0], {
      address: parseIpv4('10.1.0.1'),
      length: 24,
      prefix: { network: parseIpv4('10.1.0.0'), length: 24 },
      text: '10.1.0.1/24',
    });
    assert.deepEqual(edge!.routes, [
      {
        prefix: { network: parseIpv4('10.99.0.0'), length: 16 },
        prefixText: '10.99.0.0/16',
        kind: 'gateway',
        via: parseIpv4('10.2.0.2'),
        viaText: '10.2.0.2',
        distance: 1,
      },
    ]);
    assert.deepEqual(edge!.services, { echo: false, discard: false, chargen: false });
  });

  test('optional fields, other route kinds, services, pipe without device', () => {
    const r = parseConfig(`routers:
  a:
    interfaces:
      p0: { driver: pipe, addresses: [192.168.1.1/30, 192.168.1.5/30], mac: 02:AA:00:00:00:01, promiscuous: false }
      t0: { driver: tap, device: tap0, addresses: [10.0.0.1/8, 10.0.0.2/8] }
    routes:
      - { prefix: 0.0.0.0/0, via: 192.168.1.2, interface: p0, distance: 200 }
      - { prefix: 172.16.0.0/12, interface: t0 }
      - { prefix: 203.0.113.0/24, blackhole: true }
      - { prefix: 198.51.100.0/24, reject: true }
    services: { echo: true }
  b:
    interfaces: {}
`);
    assert.ok(r.ok, r.ok ? '' : formatConfigErrors(r.errors, 'x'));
    const [a, b] = r.config.routers;
    assert.equal(b!.interfaces.length, 0);
    const p0 = a!.interfaces[0]!;
    assert.equal(p0.macText, '02:aa:00:00:00:01');
    assert.deepEqual([...p0.mac!], [2, 0xaa, 0, 0, 0, 1]);
    assert.equal(p0.promiscuous, false);
    assert.equal(p0.device, undefined);
    assert.deepEqual(
      a!.routes.map((x) => [x.kind, x.interface, x.distance]),
      [
        ['gateway', 'p0', 200],
        ['interface', 't0', 1],
        ['blackhole', undefined, 1],
        ['reject', undefined, 1],
      ],
    );
    assert.deepEqual(a!.services, { echo: true, discard: false, chargen: false });
  });

  test('configJsonSchema is plain JSON Schema', () => {
    const schema = configJsonSchema();
    assert.equal(schema.type, 'object');
    assert.deepEqual(schema.required, ['routers']);
    assert.equal(JSON.stringify(schema), JSON.stringify(JSON.parse(JSON.stringify(schema))));
    assert.match(JSON.stringify(schema), /"minimum":68,"maximum":9000/);
  });
});

describe('parseConfig: errors name the path and the line', () => {
  test('out of range', () => {
    expectError(
      withLine(5, '      eth1: { driver: afpacket, device: veth-r2, addresses: [10.2.0.1/24], mtu: 70000 }'),
      'routers.edge.interfaces.eth1.mtu',
      5,
      'must be between 68 and 9000 (got 70000)',
    );
    expectError(
      withLine(7, '      - { prefix: 10.99.0.0/16, via: 10.2.0.2, distance: 0 }'),
      'routers.edge.routes.0.distance',
      7,
      'between 1 and 255',
    );
  });

  test('formatConfigErrors gives file:line: path: message', () => {
    const text = withLine(
      5,
      '      eth1: { driver: afpacket, device: veth-r2, addresses: [10.2.0.1/24], mtu: 70000 }',
    );
    assert.equal(
      formatConfigErrors(errorsOf(text), 'edge.yaml'),
      'edge.yaml:5: routers.edge.interfaces.eth1.mtu: must be between 68 and 9000 (got 70000)',
    );
  });

  test('unknown field, at the key', () => {
    const text = `routers:
  edge:
    interfaces:
      eth0:
        driver: tap
        device: tap0
        colour: blue
`;
    expectError(text, 'routers.edge.interfaces.eth0.colour', 7, "unknown field 'colour'");
    expectError('routers: {}\nversion: 2\n', 'version', 2, "unknown field 'version'");
  });

  test('wrong type', () => {
    expectError(
      withLine(5, '      eth1: { driver: afpacket, device: veth-r2, addresses: [10.2.0.1/24], mtu: big }'),
      'routers.edge.interfaces.eth1.mtu',
      5,
      "must be a whole number (got 'big')",
    );
    expectError('routers: [a, b]\n', 'routers', 1, 'must be a mapping (got a list)');
    expectError('', '', undefined, 'must be a mapping');
  });

  test('pattern and enum', () => {
    expectError(
      withLine(4, '      eth0: { driver: afpacket, device: veth-r1, addresses: [10.1.0.1] }'),
      'routers.edge.interfaces.eth0.addresses.0',
      4,
      'must be an IPv4 or IPv6 address with prefix length, like 10.1.0.1/24 or 2001:db8:1::1/64',
    );
    expectError(
      withLine(4, '      eth0: { driver: xdp, device: veth-r1 }'),
      'routers.edge.interfaces.eth0.driver',
      4,
      "must be one of afpacket, tap, pipe (got 'xdp')",
    );
    expectError(
      withLine(4, '      eth0: { driver: tap, device: a-very-long-device-name }'),
      'routers.edge.interfaces.eth0.device',
      4,
      'kernel interface name',
    );
  });

  test('bad router and interface names', () => {
    expectError(EXAMPLE.replace('  edge:', '  Edge:'), 'routers.Edge', 2, "invalid router name 'Edge'");
    expectError(
      EXAMPLE.replace('  edge:', '  edge-router-number-1:'),
      'routers.edge-router-number-1',
      2,
      'router name',
    );
    expectError(
      withLine(4, '      0eth: { driver: tap, device: t0 }'),
      'routers.edge.interfaces.0eth',
      4,
      'interface name',
    );
  });

  test('missing required fields', () => {
    expectError(
      withLine(4, '      eth0: { device: veth-r1 }'),
      'routers.edge.interfaces.eth0.driver',
      4,
      "missing required field 'driver'",
    );
    expectError(
      withLine(4, '      eth0: { driver: afpacket }'),
      'routers.edge.interfaces.eth0.device',
      4,
      "'device'",
    );
    expectError(
      'routers:\n  edge: {}\n',
      'routers.edge.interfaces',
      2,
      "missing required field 'interfaces'",
    );
  });

  test('address arithmetic', () => {
    const at = (addr: string, fragment: string | RegExp) =>
      expectError(
        withLine(4, `      eth0: { driver: afpacket, device: veth-r1, addresses: [${addr}] }`),
        'routers.edge.interfaces.eth0.addresses.0',
        4,
        fragment,
      );
    at('10.1.0.1/33', 'prefix length');
    at('10.1.0.1/0', 'prefix length must be 1..32');
    at('300.1.0.1/24', 'not an IPv4 address');
    at('224.0.0.1/24', 'multicast');
    at('127.0.0.1/8', 'loopback');
    at('10.1.0.0/24', 'network address');
    at('10.1.0.255/24', 'broadcast address');
  });

  test('routes: host bits, gateway, target combinations, interface names', () => {
    const route = (r: string) => withLine(7, `      - ${r}`);
    expectError(
      route('{ prefix: 10.99.0.1/16, via: 10.2.0.2 }'),
      'routers.edge.routes.0.prefix',
      7,
      'host bits',
    );
    expectError(
      route('{ prefix: 10.99.0.0/16, via: 224.0.0.5 }'),
      'routers.edge.routes.0.via',
      7,
      'multicast',
    );
    expectError(route('{ prefix: 10.99.0.0/16 }'), 'routers.edge.routes.0', 7, 'exactly one of');
    expectError(
      route('{ prefix: 10.99.0.0/16, via: 10.2.0.2, blackhole: true }'),
      'routers.edge.routes.0',
      7,
      'exactly one of',
    );
    expectError(
      route('{ prefix: 10.99.0.0/16, blackhole: false }'),
      'routers.edge.routes.0.blackhole',
      7,
      'must be true',
    );
    expectError(
      route('{ prefix: 10.99.0.0/16, interface: eth9 }'),
      'routers.edge.routes.0.interface',
      7,
      "no interface 'eth9'",
    );
    // An unreachable gateway is accepted: it may be resolved recursively later.
    assert.ok(parseConfig(route('{ prefix: 10.99.0.0/16, via: 192.0.2.1 }')).ok);
  });

  test('duplicates and overlaps', () => {
    expectError(
      withLine(5, '      eth1: { driver: afpacket, device: veth-r2, addresses: [10.1.0.1/24] }'),
      'routers.edge.interfaces.eth1.addresses.0',
      5,
      'also assigned at routers.edge.interfaces.eth0.addresses.0',
    );
    expectError(
      withLine(5, '      eth1: { driver: afpacket, device: veth-r2, addresses: [10.1.0.129/25] }'),
      'routers.edge.interfaces.eth1.addresses.0',
      5,
      'overlaps 10.1.0.0/24 of interface eth0',
    );
    expectError(
      `${EXAMPLE}  core:\n    interfaces:\n      e0: { driver: tap, device: veth-r1 }\n`,
      'routers.core.interfaces.e0.device',
      10,
      "device 'veth-r1' is already used by routers.edge.interfaces.eth0",
    );
    expectError(
      withLine(4, '      eth0: { driver: afpacket, device: veth-r1, mac: 01:00:5e:00:00:01 }'),
      'routers.edge.interfaces.eth0.mac',
      4,
      'multicast MAC',
    );
  });

  test('the same route twice, even with another distance, is refused', () => {
    expectError(
      `${EXAMPLE}      - { prefix: 10.99.0.0/16, via: 10.2.0.2, distance: 5 }\n`,
      'routers.edge.routes.1',
      8,
      'repeats routes.0',
    );
    const floating = parseConfig(`${EXAMPLE}      - { prefix: 10.99.0.0/16, via: 10.1.0.2, distance: 5 }\n`);
    assert.ok(floating.ok, 'a floating route through another gateway is fine');
  });

  test('ring slots: afpacket only, a power of two', () => {
    expectError(
      withLine(4, '      eth0: { driver: afpacket, device: veth-r1, ringSlots: 3000 }'),
      'routers.edge.interfaces.eth0.ringSlots',
      4,
      'not a power of two',
    );
    expectError(
      withLine(4, '      eth0: { driver: tap, device: veth-r1, ringSlots: 4096 }'),
      'routers.edge.interfaces.eth0.ringSlots',
      4,
      'only afpacket',
    );
    const ok = parseConfig(withLine(4, '      eth0: { driver: afpacket, device: veth-r1, ringSlots: 4096 }'));
    assert.ok(ok.ok);
    assert.equal(ok.config.routers[0]!.interfaces[0]!.ringSlots, 4096);
  });

  test('a device missing on the host, when the caller can tell', () => {
    const onlyR1 = (device: string) => device === 'veth-r1';
    const r = parseConfig(EXAMPLE, { deviceExists: onlyR1 });
    assert.equal(r.ok, false);
    const errors = r.ok ? [] : r.errors;
    assert.deepEqual(
      errors.map((e) => [e.path, e.line]),
      [['routers.edge.interfaces.eth1.device', 5]],
    );
    assert.match(errors[0]!.message, /device 'veth-r2' does not exist on this host/);
    assert.equal(parseConfig(EXAMPLE, { deviceExists: () => true }).ok, true);
    const pipe = parseConfig(withLine(4, '      eth0: { driver: pipe }'), { vrProcesses: true });
    assert.ok(!pipe.ok && pipe.errors[0]!.path === 'routers.edge.interfaces.eth0.driver');
  });

  test('the manager section: a TCP listener needs a token file', () => {
    expectError(
      `manager:\n  api: { tcp: 127.0.0.1:9180 }\n${EXAMPLE}`,
      'manager.api',
      2,
      "needs 'tokenFile'",
    );
    expectError(
      `manager:\n  api: { tcp: 127.0.0.1:70000, tokenFile: /t }\n${EXAMPLE}`,
      'manager.api.tcp',
      2,
      'port 70000',
    );
    const ok = parseConfig(`manager:\n  api: { tcp: 127.0.0.1:9180, tokenFile: /t }\n${EXAMPLE}`);
    assert.ok(ok.ok);
    assert.deepEqual(ok.config.manager, { api: { tcp: { host: '127.0.0.1', port: 9180 }, tokenFile: '/t' } });
    assert.deepEqual(ok.config.routers[0]!.raw.routes, [{ prefix: '10.99.0.0/16', via: '10.2.0.2' }]);
  });

  test('the manager section: a TCP listener off loopback needs TLS', () => {
    const api = (line: string) => `manager:\n  api:\n${line}    tokenFile: /t\n${EXAMPLE}`;
    expectError(api('    tcp: 192.0.2.1:9180\n'), 'manager.api.tcp', 3, /off loopback .* needs 'tls'/);
    expectError(api('    tcp: 0.0.0.0:9180\n'), 'manager.api.tcp', 3, /needs 'tls'/);
    for (const host of ['127.0.0.1', '127.1.2.3']) assert.ok(parseConfig(api(`    tcp: ${host}:9180\n`)).ok);
    const tls = parseConfig(api('    tcp: 192.0.2.1:9180\n    tls: { cert: /c.pem, key: /k.pem }\n'));
    assert.ok(tls.ok);
    assert.deepEqual(tls.config.manager.api.tls, { cert: '/c.pem', key: '/k.pem' });
    expectError(
      api('    tcp: 192.0.2.1:9180\n    tls: { cert: /c.pem }\n'),
      'manager.api.tls.key',
      4,
      /missing required field 'key'/,
    );
  });

  test('the manager section: the host check of its files reports at the field', () => {
    const text = `manager:\n  api:\n    tcp: 127.0.0.1:9180\n    tokenFile: /t\n    tls: { cert: /c, key: /k }\n${EXAMPLE}`;
    const seen: unknown[] = [];
    const r = parseConfig(text, {
      checkApiFiles: (api) => {
        seen.push(api);
        return [
          { field: ['tokenFile'], message: 'weak' },
          { field: ['tls', 'key'], message: 'open to all' },
        ];
      },
    });
    assert.ok(!r.ok);
    assert.deepEqual(
      r.errors.map((e) => [e.path, e.line, e.message]),
      [
        ['manager.api.tokenFile', 4, 'weak'],
        ['manager.api.tls.key', 5, 'open to all'],
      ],
    );
    assert.deepEqual(seen, [
      { tcp: { host: '127.0.0.1', port: 9180 }, tokenFile: '/t', tls: { cert: '/c', key: '/k' } },
    ]);
    // Not called without a listener, nor for a section that is already wrong.
    const never = () => assert.fail('checkApiFiles called');
    assert.ok(parseConfig(`manager:\n  api: { tokenFile: /t }\n${EXAMPLE}`, { checkApiFiles: never }).ok);
    assert.ok(
      !parseConfig(`manager:\n  api: { tcp: 10.0.0.1:1, tokenFile: /t }\n${EXAMPLE}`, {
        checkApiFiles: never,
      }).ok,
    );
  });

  test('a JSON document is the same config, read without the YAML parser', () => {
    const yaml = parseConfig(EXAMPLE);
    assert.ok(yaml.ok);
    const json = parseConfig(JSON.stringify({ routers: { edge: yaml.config.routers[0]!.raw } }));
    assert.ok(json.ok);
    assert.deepEqual(json.config, yaml.config);
    const bad = parseConfig('{"routers": {"edge": {"interfaces": {}, "colour": 1}}}');
    assert.ok(!bad.ok);
    assert.deepEqual(
      bad.errors.map((e) => [e.path, e.line]),
      [['routers.edge.colour', undefined]],
    );
    // A flow mapping that is not JSON is still YAML.
    assert.ok(parseConfig('{routers: {}}').ok);
  });

  test('YAML syntax errors and duplicate keys carry a line', () => {
    const [syntax] = errorsOf('routers:\n  edge:\n    interfaces: {eth0: [\n');
    assert.equal(syntax!.path, '');
    assert.ok(syntax!.line !== undefined && syntax!.line >= 3, JSON.stringify(syntax));
    assert.match(syntax!.message, /^YAML: /);
    const [dup] = errorsOf('routers: {}\nrouters: {}\n');
    assert.equal(dup!.line, 2);
  });
});

describe('parseConfig: robustness', () => {
  const scalar = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.integer({ min: -100000, max: 100000 }),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(
      'afpacket',
      'tap',
      'pipe',
      '10.1.0.1/24',
      '10.0.0.0/8',
      '10.2.0.2',
      'veth0',
      'eth0',
      'true',
    ),
  );
  const key = fc.constantFrom(
    'routers',
    'edge',
    'interfaces',
    'eth0',
    'eth1',
    'driver',
    'device',
    'addresses',
    'mtu',
    'mac',
    'promiscuous',
    'routes',
    'prefix',
    'via',
    'interface',
    'blackhole',
    'reject',
    'distance',
    'services',
    'echo',
    'x',
    '__proto__',
    'constructor',
  );
  const tree = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small' }, scalar, tie('list'), tie('map')),
    list: fc.array(tie('node'), { maxLength: 4 }),
    map: fc.dictionary(key, tie('node'), { maxKeys: 5 }),
  }));

  test('random YAML-ish documents never throw', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          tree.node.map((v) => stringify({ routers: v })),
          tree.node.map((v) => stringify(v)),
          fc.string({ maxLength: 80 }),
        ),
        (text) => {
          const r = parseConfig(text);
          if (r.ok) assert.ok(Array.isArray(r.config.routers));
          else {
            assert.ok(r.errors.length > 0);
            for (const e of r.errors) assert.equal(typeof e.message, 'string');
          }
        },
      ),
      { seed: 20240611, numRuns: 1500 },
    );
  });

  test('near-valid mutations of the example never throw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: EXAMPLE.length - 1 }),
        fc.string({ maxLength: 4 }),
        (at, insert) => {
          const r = parseConfig(EXAMPLE.slice(0, at) + insert + EXAMPLE.slice(at + 1));
          assert.ok(r.ok || r.errors.length > 0);
        },
      ),
      { seed: 7, numRuns: 1500 },
    );
  });
});
