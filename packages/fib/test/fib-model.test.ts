import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ipv4Fib, NH_FORWARD } from '@nexthop/fib';
import fc from 'fast-check';

// The FIB against a naive model: a list of prefixes searched linearly for the longest match.

interface ModelRoute {
  network: number;
  length: number;
  /** Next-hop ifIndexes: one for a plain route, several for an ECMP group (in member order). */
  members: number[];
}

type Op =
  | { kind: 'insert'; network: number; length: number; members: number[] }
  | { kind: 'delete'; network: number; length: number; existing: number | null }
  | { kind: 'lookup'; addr: number; hash: number };

function maskOf(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

// A few small regions, so that prefixes overlap, nest, and split the same /24s into tbl8 groups.
const REGIONS = [0x0a000000, 0x0a000100, 0xc0a80000, 0xc0a8ff00, 0xffffff00, 0x00000000];
const address = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(fc.constantFrom(...REGIONS), fc.nat(0x3ff)).map(([b, o]) => (b + o) >>> 0),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
);
// Short prefixes are costly to paint (a /8 touches 2^16 tbl24 slots), so keep them rare; a /0 is
// not painted at all.
const prefixLength = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 4, arbitrary: fc.constantFrom(8, 10) },
  { weight: 30, arbitrary: fc.integer({ min: 12, max: 24 }) },
  { weight: 60, arbitrary: fc.integer({ min: 22, max: 32 }) },
);
const prefix = fc
  .tuple(address, prefixLength)
  .map(([addr, length]) => ({ network: (addr & maskOf(length)) >>> 0, length }));
const members = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 6 }).map((i) => [i]) },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 4 }) },
);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({
        kind: fc.constant('insert' as const),
        network: fc.constant(0),
        length: fc.constant(0),
        members,
      })
      .chain((r) => prefix.map((p) => ({ ...r, ...p }))),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(prefix, fc.option(fc.nat(), { nil: null }))
      .map(([p, existing]) => ({ kind: 'delete' as const, ...p, existing })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(address, fc.nat()).map(([addr, hash]) => ({ kind: 'lookup' as const, addr, hash })),
  },
);

function modelLookup(model: ModelRoute[], addr: number, hash: number): number[] | undefined {
  let best: ModelRoute | undefined;
  for (const r of model) {
    if ((addr & maskOf(r.length)) >>> 0 === r.network && (best === undefined || r.length > best.length))
      best = r;
  }
  if (best === undefined) return undefined;
  return [best.members[hash % best.members.length]!];
}

const fib = new Ipv4Fib({ maxTbl8Groups: 64 });

function check(model: ModelRoute[], addr: number, hash: number): void {
  const expected = modelLookup(model, addr, hash);
  const got = fib.lookup(addr, hash);
  if (expected === undefined) assert.equal(got, -1, `lookup ${addr >>> 0} should miss`);
  else {
    assert.notEqual(got, -1, `lookup ${addr >>> 0} should hit`);
    assert.equal(fib.nextHops.ifIndex(got), expected[0], `lookup ${addr >>> 0}`);
  }
}

test('FIB agrees with a linear longest-match model under random insert/delete/replace/lookup', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
      const model: ModelRoute[] = [];
      try {
        for (const o of ops) {
          if (o.kind === 'insert') {
            const ids = o.members.map((i) => fib.nextHops.acquire(NH_FORWARD, i, 0));
            if (ids.length === 1) fib.insert(o.network, o.length, ids[0]!);
            else fib.insert(o.network, o.length, fib.acquireGroup(ids), true);
            const at = model.findIndex((r) => r.network === o.network && r.length === o.length);
            if (at >= 0) model.splice(at, 1);
            model.push({ network: o.network, length: o.length, members: o.members });
          } else if (o.kind === 'delete') {
            const victim = o.existing !== null && model.length > 0 ? model[o.existing % model.length]! : o;
            const at = model.findIndex((r) => r.network === victim.network && r.length === victim.length);
            assert.equal(fib.delete(victim.network, victim.length), at >= 0);
            if (at >= 0) model.splice(at, 1);
          } else {
            check(model, o.addr, o.hash);
          }
          assert.equal(fib.size, model.length);
        }
        // Probe the edges of every prefix: first and last address, and just outside.
        for (const r of model) {
          const last = (r.network + 2 ** (32 - r.length) - 1) >>> 0;
          for (const addr of [r.network, last, (r.network - 1) >>> 0, (last + 1) >>> 0]) {
            for (const hash of [0, 1, 2, 3, 7]) check(model, addr, hash);
          }
          const got = fib.get(r.network, r.length);
          assert.ok(got !== undefined);
          assert.equal(got.isGroup, r.members.length > 1);
        }
        const sorted = [...model].sort((a, b) => a.network - b.network || a.length - b.length);
        assert.deepEqual(
          [...fib.entries()].map((e) => [e.network, e.length]),
          sorted.map((r) => [r.network, r.length]),
        );
      } finally {
        // Empty the shared FIB through delete, which checks that everything is handed back.
        for (const e of [...fib.entries()]) fib.delete(e.network, e.length);
      }
      assert.equal(fib.size, 0);
      assert.equal(fib.tbl8GroupsInUse, 0);
      assert.equal(fib.groupsInUse, 0);
      assert.equal(fib.nextHops.size, 0);
      for (const addr of [0, 0x0a000001, 0xc0a8ff80, 0xffffffff]) assert.equal(fib.lookup(addr, 0), -1);
    }),
    { seed: 20260511, numRuns: 200 },
  );
});
