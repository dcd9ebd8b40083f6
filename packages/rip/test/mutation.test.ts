// 10^5 random and mutated messages (byte flips, truncations, extensions, length and field edits of
// valid ones, signed and not) to both parsers, and decode∘encode over random tables: the parsers
// never throw, always classify a bad message by one of the named reasons, and give back what was
// encoded. Fixed seed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  encodeRip2,
  encodeRipng,
  parseRip2,
  parseRipng,
  RIP_DROP_REASONS,
  RIP_REQUEST,
  RIP_RESPONSE,
  type RipEntry,
  type RipKey,
} from '../src/codec.ts';

const ascii = (s: string) => new TextEncoder().encode(s);
const KEYS: RipKey[] = [
  { id: 1, algorithm: 'md5', secret: ascii('frr-key') },
  { id: 2, algorithm: 'hmac-sha1', secret: ascii('bird sha1') },
  { id: 3, algorithm: 'hmac-sha256', secret: ascii('bird sha256 key') },
];
const REASONS = new Set<string>(RIP_DROP_REASONS);

const entry4 = fc.record({
  network: fc.integer({ min: 0, max: 0xdfffffff }),
  length: fc.integer({ min: 0, max: 32 }),
  metric: fc.integer({ min: 1, max: 16 }),
  nextHop: fc.integer({ min: 0, max: 0xffffffff }),
  tag: fc.integer({ min: 0, max: 0xffff }),
});
const entry6 = fc.record({
  network: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  length: fc.integer({ min: 0, max: 128 }),
  metric: fc.integer({ min: 1, max: 16 }),
  nextHop: fc.constant(new Uint8Array(16)),
  tag: fc.integer({ min: 0, max: 0xffff }),
});

function classify4(b: Uint8Array, keys: RipKey[]): void {
  const p = parseRip2(b, 0, b.length, keys);
  if (!p.ok) assert.ok(REASONS.has(p.reason), p.reason);
  else for (const r of p.message.entryDrops) assert.ok(REASONS.has(r), r);
}

function classify6(b: Uint8Array): void {
  const p = parseRipng(b, 0, b.length);
  if (!p.ok) assert.ok(REASONS.has(p.reason), p.reason);
  else for (const r of p.message.entryDrops) assert.ok(REASONS.has(r), r);
}

/** A valid message, then one of: flip bytes, truncate, extend, set a field. */
const mutation = fc.record({
  flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
  extra: fc.uint8Array({ maxLength: 24 }),
});

function mutate(
  msg: Uint8Array,
  m: { flips: [number, number][]; cut: number | undefined; extra: Uint8Array },
): Uint8Array {
  let b = msg.slice();
  for (const [at, x] of m.flips) if (b.length > 0) b[at % b.length]! ^= x;
  if (m.cut !== undefined) b = b.subarray(0, m.cut % (b.length + 1));
  if (m.extra.length > 0) b = new Uint8Array([...b, ...m.extra]);
  return b;
}

test('RIPv2: 10^5 random and mutated messages (signed with MD5, HMAC-SHA-1, HMAC-SHA-256, or not) never throw and are classified', () => {
  let good = 0;
  fc.assert(
    fc.property(
      fc.array(entry4, { maxLength: 24 }),
      fc.integer({ min: -1, max: 2 }),
      fc.boolean(),
      mutation,
      fc.uint8Array({ maxLength: 600 }),
      (entries, keyIndex, request, m, random) => {
        const key = keyIndex < 0 ? null : KEYS[keyIndex]!;
        const msg = encodeRip2(request ? RIP_REQUEST : RIP_RESPONSE, entries, key && { key, sequence: 5 });
        const keys = key === null ? [] : KEYS;
        // Unmutated, it parses.
        const p = parseRip2(msg, 0, msg.length, keys);
        assert.ok(p.ok);
        good++;
        classify4(mutate(msg, m), keys);
        classify4(random, keys);
        classify4(random, []);
      },
    ),
    { seed: 2453, numRuns: 100_000 },
  );
  assert.equal(good, 100_000);
});

test('RIPng: 10^5 random and mutated messages never throw and are classified', () => {
  fc.assert(
    fc.property(
      fc.array(entry6, { maxLength: 30 }),
      mutation,
      fc.uint8Array({ maxLength: 600 }),
      (entries, m, random) => {
        const msg = encodeRipng(RIP_RESPONSE, entries);
        assert.ok(parseRipng(msg, 0, msg.length).ok);
        classify6(mutate(msg, m));
        classify6(random);
      },
    ),
    { seed: 2080, numRuns: 100_000 },
  );
});

function canonical4(e: RipEntry<number>): RipEntry<number> {
  const mask = e.length === 0 ? 0 : (0xffffffff << (32 - e.length)) >>> 0;
  return { ...e, network: (e.network & mask) >>> 0 };
}

test('decode∘encode is the identity for valid tables (host bits cleared), with and without authentication', () => {
  fc.assert(
    fc.property(
      fc.array(entry4, { minLength: 1, maxLength: 24 }),
      fc.integer({ min: -1, max: 2 }),
      (raw, keyIndex) => {
        const entries = raw
          .map(canonical4)
          .filter(
            (e) =>
              e.network >>> 24 !== 127 && (e.network >>> 24 !== 0 || (e.network === 0 && e.length === 0)),
          );
        const key = keyIndex < 0 ? null : KEYS[keyIndex]!;
        const msg = encodeRip2(RIP_RESPONSE, entries, key && { key, sequence: 77 });
        const p = parseRip2(msg, 0, msg.length, key === null ? [] : [key]);
        assert.ok(p.ok);
        assert.deepEqual(p.message.entries, entries);
        assert.deepEqual(p.message.entryDrops, []);
      },
    ),
    { seed: 4822, numRuns: 5_000 },
  );
  fc.assert(
    fc.property(fc.array(entry6, { minLength: 1, maxLength: 30 }), (raw) => {
      const msg = encodeRipng(RIP_RESPONSE, raw);
      const p = parseRipng(msg, 0, msg.length);
      assert.ok(p.ok);
      assert.equal(p.message.entries.length + p.message.entryDrops.length, raw.length);
      for (const e of p.message.entries) assert.ok(e.length <= 128);
    }),
    { seed: 2081, numRuns: 5_000 },
  );
});
