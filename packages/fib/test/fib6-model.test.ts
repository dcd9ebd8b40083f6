import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ipv6Fib, NH_FORWARD } from '@nexthop/fib';
import fc from 'fast-check';

// The IPv6 FIB against a naive model: a list of prefixes searched linearly for the longest match.
// Addresses are BigInts in the model (128-bit arithmetic for the edges of every prefix).

interface ModelRoute {
  network: bigint;
  length: number;
  /** Next-hop ifIndexes: one for a plain route, several for an ECMP group (in member order). */
  members: number[];
}

type Op =
  | { kind: 'insert'; network: bigint; length: number; members: number[] }
  | { kind: 'delete'; network: bigint; length: number; existing: number | null }
  | { kind: 'lookup'; addr: bigint; hash: number };

const ALL = (1n << 128n) - 1n;

function maskOf(length: number): bigint {
  return ALL ^ (ALL >> BigInt(length));
}

function bytesOf(addr: bigint, out = new Uint8Array(16), off = 0): Uint8Array {
  for (let i = 15; i >= 0; i--) {
    out[off + i] = Number(addr & 0xffn);
    addr >>= 8n;
  }
  return out;
}

// A few regions, so that prefixes overlap, nest and share groups: documentation space, a /20
// boundary, the very first and last addresses, and a link-local /64.
const REGIONS = [
  0x2001_0db8_0000_0000_0000_0000_0000_0000n,
  0x2001_0db8_0001_0000_0000_0000_0000_0000n,
  0x2a0f_f000_0000_0000_0000_0000_0000_0000n,
  0x0000_0000_0000_0000_0000_0000_0000_0000n,
  0xffff_ffff_ffff_ffff_ffff_ffff_ffff_ff00n,
  0xfe80_0000_0000_0000_0000_0000_0000_0000n,
];
// Near a region: its top `keep` bits, random bits below.
const address = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...REGIONS),
        fc.oneof(fc.integer({ min: 16, max: 64 }), fc.integer({ min: 64, max: 128 })),
        fc.bigInt({ min: 0n, max: ALL }),
      )
      .map(([base, keep, random]) => (base & maskOf(keep)) | (random & ~maskOf(keep) & ALL)),
  },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: ALL }) },
);
// Lengths as the real table has them (mostly /29../48), the level boundaries and either side of
// them, and the long ones a router adds itself (/64, /127, /128). Short prefixes paint many tbl20
// slots (a /4 2^16 of them), so they are rare; a /0 is not painted at all.
const prefixLength = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.integer({ min: 4, max: 19 }) },
  { weight: 30, arbitrary: fc.integer({ min: 20, max: 48 }) },
  { weight: 10, arbitrary: fc.constantFrom(20, 21, 31, 32, 33, 39, 40, 41, 47, 48, 49, 56) },
  { weight: 10, arbitrary: fc.integer({ min: 49, max: 128 }) },
  { weight: 6, arbitrary: fc.constantFrom(64, 127, 128) },
);
const prefix = fc
  .tuple(address, prefixLength)
  .map(([addr, length]) => ({ network: addr & maskOf(length), length }));
const members = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 6 }).map((i) => [i]) },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 4 }) },
);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(prefix, members)
      .map(([p, m]) => ({ kind: 'insert' as const, network: p.network, length: p.length, members: m })),
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

function modelLookup(model: ModelRoute[], addr: bigint, hash: number): number | undefined {
  let best: ModelRoute | undefined;
  for (const r of model) {
    if ((addr & maskOf(r.length)) === r.network && (best === undefined || r.length > best.length)) best = r;
  }
  return best === undefined ? undefined : best.members[hash % best.members.length]!;
}

const fib = new Ipv6Fib({ maxTbl12Groups: 64, maxTbl8Groups: 2048 });
const buf = new Uint8Array(16 + 5);

function check(model: ModelRoute[], addr: bigint, hash: number): void {
  const expected = modelLookup(model, addr, hash);
  bytesOf(addr, buf, 5);
  const got = fib.lookup(buf, 5, hash);
  const w = (shift: bigint): number => Number((addr >> shift) & 0xffff_ffffn);
  assert.equal(fib.lookupWords(w(96n), w(64n), w(32n), w(0n), hash), got, 'lookup and lookupWords agree');
  const at = addr.toString(16);
  if (expected === undefined) assert.equal(got, -1, `lookup ${at} should miss`);
  else {
    assert.notEqual(got, -1, `lookup ${at} should hit`);
    assert.equal(fib.nextHops.ifIndex(got), expected, `lookup ${at}`);
  }
}

function apply(model: ModelRoute[], o: Op): void {
  if (o.kind === 'insert') {
    const ids = o.members.map((i) => fib.nextHops.acquire(NH_FORWARD, i, null));
    const network = bytesOf(o.network);
    if (ids.length === 1) fib.insert(network, o.length, ids[0]!);
    else fib.insert(network, o.length, fib.acquireGroup(ids), true);
    const at = model.findIndex((r) => r.network === o.network && r.length === o.length);
    if (at >= 0) model.splice(at, 1);
    model.push({ network: o.network, length: o.length, members: o.members });
  } else if (o.kind === 'delete') {
    const victim = o.existing !== null && model.length > 0 ? model[o.existing % model.length]! : o;
    const at = model.findIndex((r) => r.network === victim.network && r.length === victim.length);
    assert.equal(fib.delete(bytesOf(victim.network), victim.length), at >= 0);
    if (at >= 0) model.splice(at, 1);
  } else {
    check(model, o.addr, o.hash);
  }
  assert.equal(fib.size, model.length);
}

function checkAll(model: ModelRoute[]): void {
  // Probe the edges of every prefix: first and last address, and just outside.
  for (const r of model) {
    const last = r.network | (ALL >> BigInt(r.length));
    for (const addr of [r.network, last, (r.network - 1n) & ALL, (last + 1n) & ALL]) {
      for (const hash of [0, 1, 2, 3, 7]) check(model, addr, hash);
    }
    const got = fib.get(bytesOf(r.network), r.length);
    assert.ok(got !== undefined);
    assert.equal(got.isGroup, r.members.length > 1);
  }
  const sorted = [...model].sort((a, b) =>
    a.network < b.network ? -1 : a.network > b.network ? 1 : a.length - b.length,
  );
  assert.deepEqual(
    [...fib.entries()].map((e) => [Buffer.from(e.network).toString('hex'), e.length]),
    sorted.map((r) => [r.network.toString(16).padStart(32, '0'), r.length]),
  );
}

/** Empty the shared FIB through delete, which checks that everything is handed back. */
function emptyAndCheck(): void {
  for (const e of [...fib.entries()]) fib.delete(e.network, e.length);
  assert.equal(fib.size, 0);
  assert.equal(fib.tbl12GroupsInUse, 0);
  assert.equal(fib.tbl8GroupsInUse, 0);
  assert.equal(fib.groupsInUse, 0);
  assert.equal(fib.nextHops.size, 0);
  for (const addr of [0n, REGIONS[0]!, REGIONS[4]!, ALL]) check([], addr, 0);
}

test('IPv6 FIB agrees with a linear longest-match model under random insert/delete/replace/lookup', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 80 }), (ops) => {
      const model: ModelRoute[] = [];
      try {
        for (const o of ops) apply(model, o);
        checkAll(model);
      } finally {
        emptyAndCheck();
      }
    }),
    { seed: 20260511, numRuns: 250 },
  );
});

test('IPv6 FIB agrees with the model on a larger prefix set, then while half of it is deleted', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(prefix, members), { minLength: 100, maxLength: 300 }),
      fc.array(fc.nat(), { minLength: 50, maxLength: 150 }),
      fc.array(fc.tuple(address, fc.nat()), { minLength: 100, maxLength: 100 }),
      (inserts, deletes, probes) => {
        const model: ModelRoute[] = [];
        try {
          for (const [p, m] of inserts) apply(model, { kind: 'insert', ...p, members: m });
          for (const [addr, hash] of probes) check(model, addr, hash);
          checkAll(model);
          for (const d of deletes) {
            if (model.length === 0) break;
            const victim = model[d % model.length]!;
            apply(model, { kind: 'delete', network: victim.network, length: victim.length, existing: null });
          }
          for (const [addr, hash] of probes) check(model, addr, hash);
          checkAll(model);
        } finally {
          emptyAndCheck();
        }
      },
    ),
    { seed: 20260512, numRuns: 30 },
  );
});
