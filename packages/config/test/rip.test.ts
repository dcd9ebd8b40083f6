// The rip and ripng sections of a router: the example normalized, defaults, and each mistake
// reported at its field and line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ConfigError, formatConfigErrors, parseConfig } from '../src/index.ts';

const EXAMPLE = `routers:
  edge:
    interfaces:
      e1: { driver: tap, device: t1, addresses: [10.0.12.1/24, 2001:db8:12::1/64] }
      e2: { driver: tap, device: t2, addresses: [10.0.13.1/24] }
    rip:
      interfaces:
        e1:
          cost: 2
          authentication:
            - { id: 1, algorithm: md5, secret: frr-key }
            - { id: 7, algorithm: hmac-sha256, secret: a-longer-secret-for-sha256 }
        e2: { passive: true, splitHorizon: simple }
      timers: { update: 5, timeout: 15, garbage: 10 }
      redistribute: [connected, static]
      defaultMetric: 3
    ripng:
      interfaces:
        e1: {}
`;

function errorsOf(text: string): ConfigError[] {
  const r = parseConfig(text);
  assert.equal(r.ok, false, 'expected the config to be rejected');
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

test('rip and ripng: the example normalized, defaults filled in', () => {
  const r = parseConfig(EXAMPLE);
  assert.ok(r.ok, r.ok ? '' : formatConfigErrors(r.errors, 'x'));
  const router = r.config.routers[0]!;
  const rip = router.rip!;
  assert.deepEqual(rip.timers, { update: 5, timeout: 15, garbage: 10 });
  assert.deepEqual(rip.redistribute, ['connected', 'static']);
  assert.equal(rip.defaultMetric, 3);
  const [e1, e2] = rip.interfaces;
  assert.deepEqual(
    { ...e1!, keys: e1!.keys.map((k) => `${k.id} ${k.algorithm} ${new TextDecoder().decode(k.secret)}`) },
    {
      name: 'e1',
      cost: 2,
      passive: false,
      splitHorizon: 'poisoned-reverse',
      keys: ['1 md5 frr-key', '7 hmac-sha256 a-longer-secret-for-sha256'],
    },
  );
  assert.deepEqual(e2, { name: 'e2', cost: 1, passive: true, splitHorizon: 'simple', keys: [] });
  assert.deepEqual(router.ripng, {
    interfaces: [{ name: 'e1', cost: 1, passive: false, splitHorizon: 'poisoned-reverse', keys: [] }],
    timers: { update: 30, timeout: 180, garbage: 120 },
    redistribute: [],
    defaultMetric: 1,
  });
});

test('mistakes at their field and line', () => {
  expectError(
    EXAMPLE.replace('        e2: { passive', '        e9: { passive'),
    'routers.edge.rip.interfaces.e9',
    13,
    "no interface 'e9'",
  );
  expectError(
    EXAMPLE.replace('secret: frr-key }', 'secret: seventeen-octets! }'),
    'routers.edge.rip.interfaces.e1.authentication.0.secret',
    11,
    'at most 16 octets',
  );
  expectError(
    EXAMPLE.replace('id: 7,', 'id: 1,'),
    'routers.edge.rip.interfaces.e1.authentication.1.id',
    12,
    'repeats the key id',
  );
  expectError(
    EXAMPLE.replace('timeout: 15', 'timeout: 5'),
    'routers.edge.rip.timers.timeout',
    14,
    'longer than the update interval',
  );
  expectError(EXAMPLE.replace('cost: 2', 'cost: 16'), 'routers.edge.rip.interfaces.e1.cost', 9, '15');
  expectError(
    EXAMPLE.replace('        e1: {}', '        e1: { authentication: [] }'),
    'routers.edge.ripng.interfaces.e1.authentication',
    19,
    "unknown field 'authentication'",
  );
  expectError(
    EXAMPLE.replace(
      'e2: { driver: tap, device: t2, addresses: [10.0.13.1/24] }',
      'e2: { driver: tap, device: t2 }',
    ),
    'routers.edge.rip.interfaces.e2',
    13,
    'no IPv4 address',
  );
});
