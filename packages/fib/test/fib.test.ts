import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '@nexthop/addr';
import { flowHash, Ipv4Fib, NH_BLACKHOLE, NH_FORWARD, NH_LOCAL } from '@nexthop/fib';

// One FIB for all unit tests (tbl24 is 64 MiB); every test leaves it empty again.
const fib = new Ipv4Fib({ maxTbl8Groups: 4 });
const nh = fib.nextHops;
const ip = parseIpv4;

function assertEmpty(): void {
  assert.equal(fib.size, 0);
  assert.equal(fib.tbl8GroupsInUse, 0);
  assert.equal(fib.groupsInUse, 0);
  assert.equal(nh.size, 0);
}

function forward(ifIndex: number, gateway = 0): number {
  return nh.acquire(NH_FORWARD, ifIndex, gateway);
}

test('empty table matches nothing', () => {
  assert.equal(fib.lookup(ip('10.1.2.3'), 0), -1);
  assert.equal(fib.lookup(0, 0), -1);
  assert.equal(fib.lookup(0xffffffff, 0), -1);
  assertEmpty();
});

test('default route matches everything and reverts to nothing', () => {
  const a = forward(1, ip('192.0.2.1'));
  fib.insert(0, 0, a);
  for (const addr of [0, ip('10.0.0.1'), 0xffffffff]) assert.equal(fib.lookup(addr, 0), a);
  assert.deepEqual(fib.get(0, 0), { target: a, isGroup: false });
  assert.equal(fib.delete(0, 0), true);
  assert.equal(fib.delete(0, 0), false);
  assert.equal(fib.lookup(ip('10.0.0.1'), 0), -1);
  assertEmpty();
});

test('/32 host route and /25../31 land in one tbl8 group', () => {
  const hops = [
    forward(1),
    forward(2),
    forward(3),
    forward(4),
    forward(5),
    forward(6),
    forward(7),
    forward(8),
  ];
  const base = ip('198.51.100.0');
  for (let length = 25; length <= 32; length++) {
    // Nested: /25 at .0, /26 at .0, ... each longer one inside the previous.
    fib.insert(base, length, hops[length - 25]!);
  }
  assert.equal(fib.tbl8GroupsInUse, 1);
  assert.equal(fib.lookup(base, 0), hops[7]); // /32
  assert.equal(fib.lookup(base + 1, 0), hops[6]); // /31
  assert.equal(fib.lookup(base + 2, 0), hops[5]); // /30
  assert.equal(fib.lookup(base + 63, 0), hops[1]); // /26 ends at .63
  assert.equal(fib.lookup(base + 64, 0), hops[0]); // then the /25
  assert.equal(fib.lookup(base + 127, 0), hops[0]);
  assert.equal(fib.lookup(base + 128, 0), -1);
  assert.equal(fib.lookup(base - 1, 0), -1);
  for (let length = 32; length >= 25; length--) assert.equal(fib.delete(base, length), true);
  assertEmpty();
});

test('overlapping prefixes: longest wins, in any insertion order', () => {
  const [a, b, c, d] = [forward(1), forward(2), forward(3), forward(4)];
  fib.insert(ip('10.1.2.0'), 24, c);
  fib.insert(ip('10.0.0.0'), 8, a);
  fib.insert(ip('10.1.2.128'), 25, d);
  fib.insert(ip('10.1.0.0'), 16, b);
  assert.equal(fib.lookup(ip('10.2.0.0'), 0), a);
  assert.equal(fib.lookup(ip('10.1.3.0'), 0), b);
  assert.equal(fib.lookup(ip('10.1.2.127'), 0), c);
  assert.equal(fib.lookup(ip('10.1.2.200'), 0), d);
  assert.equal(fib.lookup(ip('11.0.0.0'), 0), -1);
  assert.equal(fib.size, 4);
  assert.deepEqual(
    [...fib.entries()].map((r) => [r.network, r.length]),
    [
      [ip('10.0.0.0'), 8],
      [ip('10.1.0.0'), 16],
      [ip('10.1.2.0'), 24],
      [ip('10.1.2.128'), 25],
    ],
  );
  // Deleting the middle prefixes hands their slots to the next cover, inside tbl8 too.
  fib.delete(ip('10.1.2.0'), 24);
  assert.equal(fib.lookup(ip('10.1.2.127'), 0), b);
  assert.equal(fib.lookup(ip('10.1.2.200'), 0), d);
  fib.delete(ip('10.1.0.0'), 16);
  assert.equal(fib.lookup(ip('10.1.2.127'), 0), a);
  assert.equal(fib.lookup(ip('10.1.3.0'), 0), a);
  assert.equal(fib.lookup(ip('10.1.2.200'), 0), d);
  fib.delete(ip('10.1.2.128'), 25);
  assert.equal(fib.tbl8GroupsInUse, 0);
  assert.equal(fib.lookup(ip('10.1.2.200'), 0), a);
  fib.delete(ip('10.0.0.0'), 8);
  assertEmpty();
});

test('replace swaps the target and releases the old reference', () => {
  const a = forward(1);
  const b = nh.acquire(NH_BLACKHOLE, 0, 0);
  fib.insert(ip('203.0.113.0'), 24, a);
  fib.insert(ip('203.0.113.0'), 24, b);
  assert.equal(fib.size, 1);
  assert.equal(nh.size, 1, 'the replaced next hop lost its only reference');
  assert.equal(fib.lookup(ip('203.0.113.9'), 0), b);
  assert.equal(nh.kind(fib.lookup(ip('203.0.113.9'), 0)), NH_BLACKHOLE);
  // Replacing with the same next hop keeps exactly one reference.
  fib.insert(ip('203.0.113.0'), 24, nh.acquire(NH_BLACKHOLE, 0, 0));
  assert.equal(nh.refCount(b), 1);
  fib.delete(ip('203.0.113.0'), 24);
  assertEmpty();
});

test('tbl8 groups fold back when their last long prefix goes, and are reused', () => {
  const a = forward(1);
  const b = forward(2);
  fib.insert(ip('172.16.0.0'), 12, a);
  const hosts = [ip('172.16.5.1'), ip('172.16.6.1'), ip('172.16.7.1'), ip('172.16.8.1')];
  for (const h of hosts) fib.insert(h, 32, nh.acquire(NH_FORWARD, 2, 0));
  assert.equal(fib.tbl8GroupsInUse, 4);
  // maxTbl8Groups is 4: a fifth split /24 does not fit, and the table is unchanged.
  const c = forward(3);
  assert.throws(() => fib.insert(ip('172.16.9.1'), 32, c), RangeError);
  assert.equal(fib.get(ip('172.16.9.1'), 32), undefined);
  nh.release(c);
  // A second long prefix in the same /24 keeps the group; deleting both folds it.
  fib.insert(ip('172.16.5.128'), 25, nh.acquire(NH_FORWARD, 2, 0));
  fib.delete(ip('172.16.5.1'), 32);
  assert.equal(fib.tbl8GroupsInUse, 4);
  assert.equal(fib.lookup(ip('172.16.5.1'), 0), a);
  assert.equal(fib.lookup(ip('172.16.5.200'), 0), b);
  fib.delete(ip('172.16.5.128'), 25);
  assert.equal(fib.tbl8GroupsInUse, 3);
  assert.equal(fib.lookup(ip('172.16.5.200'), 0), a);
  // The freed group serves a new /24 and starts from that /24's cover.
  fib.insert(ip('172.16.9.1'), 32, nh.acquire(NH_FORWARD, 2, 0));
  assert.equal(fib.tbl8GroupsInUse, 4);
  assert.equal(fib.lookup(ip('172.16.9.1'), 0), b);
  assert.equal(fib.lookup(ip('172.16.9.2'), 0), a);
  const before = fib.memoryBytes();
  for (const h of [...hosts.slice(1), ip('172.16.9.1')]) fib.delete(h, 32);
  assert.equal(fib.memoryBytes(), before);
  fib.delete(ip('172.16.0.0'), 12);
  nh.release(b);
  assertEmpty();
});

test('a shorter prefix inserted over a split /24 paints into its tbl8 group', () => {
  const a = forward(1);
  const b = forward(2);
  fib.insert(ip('192.168.1.1'), 32, a);
  fib.insert(ip('192.168.0.0'), 16, b);
  assert.equal(fib.lookup(ip('192.168.1.1'), 0), a);
  assert.equal(fib.lookup(ip('192.168.1.2'), 0), b);
  fib.delete(ip('192.168.1.1'), 32);
  assert.equal(fib.lookup(ip('192.168.1.1'), 0), b);
  fib.delete(ip('192.168.0.0'), 16);
  assertEmpty();
});

test('ECMP spreads flows over members; one flow always takes one member', () => {
  const members = [forward(1, ip('10.0.0.1')), forward(2, ip('10.0.1.1')), forward(3, ip('10.0.2.1'))];
  const group = fib.acquireGroup(members);
  assert.deepEqual(fib.groupMembers(group), members);
  fib.insert(0, 0, group, true);
  assert.deepEqual(fib.get(0, 0), { target: group, isGroup: true });
  const counts = new Map<number, number>();
  const src = ip('192.0.2.10');
  for (let port = 1024; port < 1024 + 3000; port++) {
    const dst = ip('198.51.100.7');
    const hash = flowHash(src, dst, 6, port, 443);
    const chosen = fib.lookup(dst, hash);
    assert.ok(members.includes(chosen));
    assert.equal(fib.lookup(dst, flowHash(src, dst, 6, port, 443)), chosen);
    counts.set(chosen, (counts.get(chosen) ?? 0) + 1);
  }
  for (const m of members) assert.ok(counts.get(m)! > 800, `member ${m} got ${counts.get(m)} of 3000 flows`);
  fib.delete(0, 0);
  assertEmpty();
});

test('flowHash is deterministic, a signed 32-bit integer, and sensitive to every field', () => {
  const h = flowHash(1, 2, 17, 3, 4);
  assert.equal(flowHash(1, 2, 17, 3, 4), h);
  assert.equal(h, h | 0);
  for (const other of [
    flowHash(0, 2, 17, 3, 4),
    flowHash(1, 3, 17, 3, 4),
    flowHash(1, 2, 6, 3, 4),
    flowHash(1, 2, 17, 4, 4),
    flowHash(1, 2, 17, 3, 5),
  ]) {
    assert.notEqual(other, h);
  }
});

test('next hops are interned, reference counted, and ids are reused', () => {
  const a = nh.acquire(NH_FORWARD, 1, ip('10.0.0.1'));
  const again = nh.acquire(NH_FORWARD, 1, ip('10.0.0.1'));
  const local = nh.acquire(NH_LOCAL, 0, 0);
  assert.equal(again, a);
  assert.notEqual(local, a);
  assert.equal(nh.size, 2);
  assert.equal(nh.refCount(a), 2);
  assert.equal(nh.kind(a), NH_FORWARD);
  assert.equal(nh.ifIndex(a), 1);
  assert.equal(nh.gateway(a), ip('10.0.0.1'));
  nh.release(a);
  assert.equal(nh.size, 2);
  nh.release(a);
  assert.equal(nh.size, 1);
  assert.throws(() => nh.release(a), RangeError);
  const reused = nh.acquire(NH_FORWARD, 9, 0);
  assert.equal(reused, a, 'the freed id is handed out again');
  nh.release(reused);
  nh.release(local);
  assertEmpty();
});

test('ECMP groups hold member references and are shared by identical member lists', () => {
  const a = forward(1);
  const b = forward(2);
  const g1 = fib.acquireGroup([a, b]);
  const g2 = fib.acquireGroup([nh.acquire(NH_FORWARD, 1, 0), nh.acquire(NH_FORWARD, 2, 0)]);
  assert.equal(g2, g1);
  assert.equal(nh.refCount(a), 1, 'surplus member references handed to a shared group are dropped');
  fib.insert(ip('10.0.0.0'), 8, g1, true);
  fib.insert(ip('11.0.0.0'), 8, g2, true);
  fib.delete(ip('10.0.0.0'), 8);
  assert.equal(fib.groupsInUse, 1);
  assert.equal(nh.size, 2);
  fib.delete(ip('11.0.0.0'), 8);
  assertEmpty();
});

test('a group of its own changes in place: every route through it follows, other groups do not', () => {
  const a = forward(1, ip('192.0.2.1'));
  const shared = fib.acquireGroup([forward(1, ip('192.0.2.1'))]);
  const own = fib.createGroup([a]);
  assert.notEqual(own, shared, 'createGroup never hands out an interned group');
  assert.equal(fib.acquireGroup([forward(1, ip('192.0.2.1'))]), shared);
  fib.retainGroup(own);
  fib.insert(ip('10.0.0.0'), 8, own, true);
  fib.retainGroup(own);
  fib.insert(ip('10.1.2.0'), 28, own, true);
  fib.insert(ip('11.0.0.0'), 8, shared, true);
  fib.insert(ip('12.0.0.0'), 8, shared, true);
  assert.equal(fib.multipathGroupsInUse, 0, 'one-member groups spread no flows');

  // Same size: the members are rewritten where they are.
  const b = forward(2, ip('198.51.100.1'));
  fib.setGroupMembers(own, [b]);
  assert.equal(fib.lookup(ip('10.9.9.9'), 0), b);
  assert.equal(fib.lookup(ip('10.1.2.3'), 0), b);
  assert.equal(nh.ifIndex(fib.lookup(ip('11.0.0.1'), 0)), 1, 'the interned group is untouched');
  assert.equal(nh.refCount(a), 1, 'the old member reference went (the shared group holds its own)');

  // A new size: a new span, and now the flow hash chooses.
  const c = forward(3, ip('203.0.113.1'));
  nh.retain(b);
  fib.setGroupMembers(own, [b, c]);
  assert.equal(fib.multipathGroupsInUse, 1);
  assert.deepEqual(fib.groupMembers(own), [b, c]);
  const seen = new Set<number>();
  for (let h = 0; h < 64; h++) seen.add(fib.lookup(ip('10.2.3.4'), flowHash(h, 1, 17, h, 80)));
  assert.deepEqual([...seen].sort(), [b, c]);
  nh.retain(c);
  fib.setGroupMembers(own, [c]);
  assert.equal(fib.multipathGroupsInUse, 0);
  assert.equal(fib.lookup(ip('10.1.2.3'), 99), c);
  assert.equal(nh.refCount(b), 0, 'b went with the last group holding it');

  // An interned group changed in place leaves the intern table.
  fib.setGroupMembers(shared, [forward(4)]);
  const fresh = fib.acquireGroup([forward(1, ip('192.0.2.1'))]);
  assert.notEqual(fresh, shared);
  fib.releaseGroup(fresh);
  assert.throws(() => fib.setGroupMembers(own, []), RangeError);
  assert.throws(() => fib.setGroupMembers(own, [12345]), RangeError);

  fib.releaseGroup(own);
  for (const p of ['10.0.0.0/8', '10.1.2.0/28', '11.0.0.0/8', '12.0.0.0/8']) {
    const [n, l] = p.split('/');
    fib.delete(ip(n!), Number(l));
  }
  assert.throws(() => fib.retainGroup(own), RangeError);
  assertEmpty();
});

test('programmer errors throw RangeError', () => {
  const a = forward(1);
  assert.throws(() => fib.insert(ip('10.0.0.1'), 24, a), RangeError);
  assert.throws(() => fib.insert(0, 33, a), RangeError);
  assert.throws(() => fib.insert(-1, 32, a), RangeError);
  assert.throws(() => fib.insert(0, 0, a + 100), RangeError);
  assert.throws(() => fib.insert(0, 0, 0, true), RangeError);
  assert.throws(() => fib.acquireGroup([]), RangeError);
  assert.throws(() => nh.acquire(7, 0, 0), RangeError);
  nh.release(a);
  assertEmpty();
});

test('the default route is not painted into tbl24, and longer prefixes still win over it', () => {
  const d = forward(1, ip('192.0.2.1'));
  const a = forward(2);
  const b = forward(3);
  fib.insert(0, 0, d);
  // White box: tbl24 holds nothing, lookups fall through to the default from an empty slot.
  const tbl24 = (fib as unknown as { tbl24: Int32Array }).tbl24;
  assert.equal(
    tbl24.findIndex((e) => e !== 0),
    -1,
  );
  fib.insert(ip('10.0.0.0'), 8, a);
  fib.insert(ip('10.1.2.128'), 25, b);
  assert.equal(fib.lookup(ip('10.9.9.9'), 0), a);
  assert.equal(fib.lookup(ip('10.1.2.200'), 0), b);
  assert.equal(fib.lookup(ip('10.1.2.7'), 0), a); // tbl8 slot owned by the /8
  assert.equal(fib.lookup(ip('11.0.0.1'), 0), d);
  fib.delete(ip('10.0.0.0'), 8);
  assert.equal(fib.lookup(ip('10.1.2.7'), 0), d); // tbl8 slot now empty → default
  assert.equal(fib.lookup(ip('10.9.9.9'), 0), d);
  fib.delete(0, 0);
  assert.equal(fib.lookup(ip('10.1.2.7'), 0), -1);
  assert.equal(fib.lookup(ip('10.1.2.200'), 0), b);
  fib.delete(ip('10.1.2.128'), 25);
  assertEmpty();
});
