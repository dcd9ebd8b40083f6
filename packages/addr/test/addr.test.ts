import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatIpv4,
  formatMac,
  formatPrefix,
  parseIpv4,
  parseMac,
  tryParseIpv4,
  tryParsePrefix,
} from '@nexthop/addr';
import fc from 'fast-check';

test('IPv4 text round-trips', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (a) => parseIpv4(formatIpv4(a)) === a),
    { seed: 42, numRuns: 2000 },
  );
});

test('IPv4 parsing rejects malformed text', () => {
  for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4', 'a.b.c.d', '1.2.3.4.5', '', ' 1.2.3.4']) {
    assert.equal(tryParseIpv4(bad), undefined, bad);
  }
});

test('prefixes: host bits are refused unless asked for', () => {
  assert.match(tryParsePrefix('10.1.0.1/24') as string, /host bits/);
  const r = tryParsePrefix('10.1.0.1/24', true);
  assert.ok(typeof r !== 'string');
  assert.equal(formatPrefix(r.prefix), '10.1.0.0/24');
  assert.equal(formatIpv4(r.address), '10.1.0.1');
  assert.match(tryParsePrefix('10.1.0.0/33') as string, /prefix length/);
  assert.match(tryParsePrefix('10.1.0.0') as string, /no prefix length/);
});

test('MAC text round-trips', () => {
  const mac = parseMac('02:00:5e:10:00:ff');
  assert.equal(formatMac(mac), '02:00:5e:10:00:ff');
  assert.throws(() => parseMac('02:00:5e:10:00'), /not a MAC/);
});
