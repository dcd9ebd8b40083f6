import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv6, parseIpv6Prefix } from '@nexthop/addr';
import { flowHash6, Ipv6Fib, NH_BLACKHOLE, NH_FORWARD, NH_LOCAL } from '@nexthop/fib';

// One FIB for most unit tests; every test leaves it empty again.
const fib = new Ipv6Fib({ maxTbl12Groups: 4, maxTbl8Groups: 64 });
const nh = fib.nextHops;
const ip = parseIpv6;

function assertEmpty(f = fib): void {
  assert.equal(f.size, 0);
  assert.equal(f.tbl12GroupsInUse, 0);
  assert.equal(f.tbl8GroupsInUse, 0);
  assert.equal(f.groupsInUse, 0);
  assert.equal(f.nextHops.size, 0);
}

function forward(ifIndex: number, gateway: string | null = null): number {
  return nh.acquire(NH_FORWARD, ifIndex, gateway === null ? null : ip(gateway));
}

function insert(prefix: string, target: number, isGroup = false, f = fib): void {
  const p = parseIpv6Prefix(prefix);
  f.insert(p.network, p.length, target, isGroup);
}

function remove(prefix: string, f = fib): boolean {
  const p = parseIpv6Prefix(prefix);
  return f.delete(p.network, p.length);
}

const scratch = new Uint8Array(64);

/** Looks addr up in both forms (words, and bytes at an odd offset of a buffer); they must agree. */
function look(addr: string | Uint8Array, hash = 0, f = fib): number {
  const a = typeof addr === 'string' ? ip(addr) : addr;
  const v = new DataView(a.buffer, a.byteOffset, 16);
  const byWords = f.lookupWords(v.getUint32(0), v.getUint32(4), v.getUint32(8), v.getUint32(12), hash);
  scratch.set(a, 7);
  const byBytes = f.lookup(scratch, 7, hash);
  assert.equal(byBytes, byWords, 'lookup and lookupWords agree');
  // int32 words (as a packet parser that does `| 0` would pass them) read the same bits.
  const signed = f.lookupWords(v.getInt32(0), v.getInt32(4), v.getInt32(8), v.getInt32(12), hash);
  assert.equal(signed, byWords);
  return byWords;
}

/** base with bit `bit` (0 = most significant) flipped. */
function flip(base: Uint8Array, bit: number): Uint8Array {
  const out = base.slice();
  out[bit >> 3]! ^= 0x80 >> (bit & 7);
  return out;
}

test('empty table matches nothing', () => {
  assert.equal(look('2001:db8::1'), -1);
  assert.equal(look('::'), -1);
  assert.equal(look('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), -1);
  assertEmpty();
});

test('default route matches everything and reverts to nothing', () => {
  const a = forward(1, 'fe80::1');
  insert('::/0', a);
  for (const addr of ['::', '2001:db8::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'])
    assert.equal(look(addr), a);
  assert.deepEqual(fib.get(new Uint8Array(16), 0), { target: a, isGroup: false });
  assert.equal(remove('::/0'), true);
  assert.equal(remove('::/0'), false);
  assert.equal(look('2001:db8::1'), -1);
  assertEmpty();
});

test('/128 host route, and a chain of nested prefixes through every level', () => {
  const base = ip('2001:db8:1234:5678:9abc:def0:1357:9bdf');
  // Each level boundary, a length either side of it, and a few odd ones.
  const lengths = [
    3, 16, 19, 20, 21, 31, 32, 33, 39, 40, 41, 47, 48, 49, 56, 63, 64, 65, 72, 80, 96, 111, 120, 127, 128,
  ];
  const hops = new Map<number, number>();
  for (const length of lengths) {
    const network = base.slice();
    for (let bit = length; bit < 128; bit++) network[bit >> 3]! &= ~(0x80 >> (bit & 7));
    const hop = forward(length);
    hops.set(length, hop);
    fib.insert(network, length, hop);
  }
  // An address that first differs from base at bit b matches exactly the prefixes of length <= b.
  const expect = (b: number): number => {
    let best = -1;
    for (const length of lengths) if (length <= b) best = hops.get(length)!;
    return best;
  };
  assert.equal(look(base), hops.get(128));
  for (let bit = 0; bit < 128; bit++) assert.equal(look(flip(base, bit)), expect(bit), `bit ${bit}`);
  assert.equal(fib.tbl12GroupsInUse, 1);
  assert.equal(fib.tbl8GroupsInUse, 12); // /32, /40, ... /120
  // Delete from the longest: each address falls back to the next shorter prefix.
  for (const length of [...lengths].reverse()) {
    const network = base.slice();
    for (let bit = length; bit < 128; bit++) network[bit >> 3]! &= ~(0x80 >> (bit & 7));
    assert.equal(fib.delete(network, length), true);
    const rest = lengths.filter((l) => l < length);
    assert.equal(look(base), rest.length === 0 ? -1 : hops.get(rest[rest.length - 1]!));
  }
  assertEmpty();
});

test('overlapping prefixes: longest wins, in any insertion order', () => {
  const [a, b, c, d] = [forward(1), forward(2), forward(3), forward(4)];
  insert('2001:db8:1:2::/64', c);
  insert('2001::/16', a);
  insert('2001:db8:1:2:8000::/65', d);
  insert('2001:db8::/32', b);
  assert.equal(look('2001:1::1'), a);
  assert.equal(look('2001:db8:1:3::1'), b);
  assert.equal(look('2001:db8:1:2::1'), c);
  assert.equal(look('2001:db8:1:2:ffff::1'), d);
  assert.equal(look('2002::1'), -1);
  assert.equal(fib.size, 4);
  assert.deepEqual(
    [...fib.entries()].map((r) => [Buffer.from(r.network).toString('hex'), r.length]),
    [
      ['20010000000000000000000000000000', 16],
      ['20010db8000000000000000000000000', 32],
      ['20010db8000100020000000000000000', 64],
      ['20010db8000100028000000000000000', 65],
    ],
  );
  // Deleting the middle prefixes hands their slots to the next cover, in every level below.
  remove('2001:db8:1:2::/64');
  assert.equal(look('2001:db8:1:2::1'), b);
  assert.equal(look('2001:db8:1:2:ffff::1'), d);
  remove('2001:db8::/32');
  assert.equal(look('2001:db8:1:2::1'), a);
  assert.equal(look('2001:db8:1:3::1'), a);
  assert.equal(look('2001:db8:1:2:ffff::1'), d);
  remove('2001:db8:1:2:8000::/65');
  assert.equal(fib.tbl12GroupsInUse, 0);
  assert.equal(fib.tbl8GroupsInUse, 0);
  assert.equal(look('2001:db8:1:2:ffff::1'), a);
  remove('2001::/16');
  assertEmpty();
});

test('replace swaps the target and releases the old reference', () => {
  const a = forward(1);
  const b = nh.acquire(NH_BLACKHOLE, 0, null);
  insert('2001:db8:aa::/48', a);
  insert('2001:db8:aa::/48', b);
  assert.equal(fib.size, 1);
  assert.equal(nh.size, 1, 'the replaced next hop lost its only reference');
  assert.equal(look('2001:db8:aa::9'), b);
  assert.equal(nh.kind(look('2001:db8:aa::9')), NH_BLACKHOLE);
  // Replacing with the same next hop keeps exactly one reference, and the group count.
  insert('2001:db8:aa::/48', nh.acquire(NH_BLACKHOLE, 0, null));
  assert.equal(nh.refCount(b), 1);
  assert.equal(fib.tbl8GroupsInUse, 2);
  remove('2001:db8:aa::/48');
  assertEmpty();
});

test('groups fold back when their last long prefix goes, and are reused', () => {
  const a = forward(1);
  const b = forward(2);
  insert('2001:db8::/32', a);
  const hosts = ['2001:db8:5::1', '2001:db8:6::1', '2001:db8:7::1'];
  for (const h of hosts) insert(`${h}/128`, nh.acquire(NH_FORWARD, 2, null));
  // One tbl12 group (2001:0::/20), then per host a tbl8 group for each of /32 (shared), /40
  // (shared: the hosts differ in byte 5), /48, ... /120.
  assert.equal(fib.tbl12GroupsInUse, 1);
  assert.equal(fib.tbl8GroupsInUse, 2 + 3 * 10);
  const before = fib.memoryBytes();
  // A second long prefix in the same /48 keeps its groups; deleting both folds them.
  insert('2001:db8:5:8000::/49', nh.acquire(NH_FORWARD, 2, null));
  assert.equal(fib.tbl8GroupsInUse, 32);
  remove('2001:db8:5::1/128');
  assert.equal(fib.tbl8GroupsInUse, 23, 'the /56 ... /120 groups of the host folded, the /48 stays');
  assert.equal(look('2001:db8:5::1'), a);
  assert.equal(look('2001:db8:5:8000::1'), b);
  remove('2001:db8:5:8000::/49');
  assert.equal(fib.tbl8GroupsInUse, 22);
  assert.equal(look('2001:db8:5:8000::1'), a);
  // The freed groups serve a new host and start from its cover.
  insert('2001:db8:9::1/128', nh.acquire(NH_FORWARD, 2, null));
  assert.equal(fib.tbl8GroupsInUse, 32);
  assert.equal(fib.memoryBytes(), before, 'freed groups are reused before the pool grows');
  assert.equal(look('2001:db8:9::1'), b);
  assert.equal(look('2001:db8:9::2'), a);
  for (const h of [...hosts.slice(1), '2001:db8:9::1']) remove(`${h}/128`);
  assert.equal(fib.tbl12GroupsInUse, 1, 'the /32 still splits its /20');
  assert.equal(fib.tbl8GroupsInUse, 0);
  remove('2001:db8::/32');
  nh.release(b);
  assertEmpty();
});

test('a full pool throws before anything changes', () => {
  // 13 tbl8 groups: a /128 needs 12 below a /20, so a second one in another /32 does not fit.
  const small = new Ipv6Fib({ maxTbl12Groups: 1, maxTbl8Groups: 13 });
  const hops = small.nextHops;
  const a = hops.acquire(NH_FORWARD, 1, null);
  const first = parseIpv6Prefix('2001:db8::1/128');
  small.insert(first.network, 128, a);
  assert.equal(small.tbl8GroupsInUse, 12);
  const b = hops.acquire(NH_FORWARD, 2, null);
  const second = parseIpv6Prefix('2001:db9::1/128');
  assert.throws(() => small.insert(second.network, 128, b), /tbl8 groups/);
  const third = parseIpv6Prefix('3001:db8::/32');
  assert.throws(() => small.insert(third.network, 32, b), /tbl12 groups/);
  assert.equal(small.size, 1);
  assert.equal(small.tbl8GroupsInUse, 12);
  assert.equal(small.tbl12GroupsInUse, 1);
  assert.equal(small.get(second.network, 128), undefined);
  assert.equal(look('2001:db9::1', 0, small), -1);
  assert.equal(look('2001:db8::1', 0, small), a);
  // One more group is enough for a prefix that shares the host's path down to /120.
  const near = parseIpv6Prefix('2001:db8::100/124');
  small.insert(near.network, 124, b);
  assert.equal(small.tbl8GroupsInUse, 13);
  assert.equal(look('2001:db8::10f', 0, small), b);
  assert.equal(look('2001:db8::110', 0, small), -1);
  small.delete(near.network, 124);
  small.delete(first.network, 128);
  assertEmpty(small);
});

test('a shorter prefix inserted over split slots paints into the groups below them', () => {
  const a = forward(1);
  const b = forward(2);
  const c = forward(3);
  insert('2001:db8:1::1/128', a);
  insert('2001:db8:2::/48', c);
  insert('2000::/3', b);
  assert.equal(look('2001:db8:1::1'), a);
  assert.equal(look('2001:db8:1::2'), b);
  assert.equal(look('2001:db8:2::2'), c);
  assert.equal(look('3fff::1'), b);
  assert.equal(look('4000::1'), -1);
  remove('2001:db8:1::1/128');
  assert.equal(look('2001:db8:1::1'), b);
  remove('2000::/3');
  assert.equal(look('2001:db8:1::1'), -1);
  assert.equal(look('2001:db8:2::2'), c);
  remove('2001:db8:2::/48');
  assertEmpty();
});

test('ECMP spreads flows over members; one flow always takes one member', () => {
  const members = [forward(1, 'fe80::1'), forward(2, 'fe80::2'), forward(3, 'fe80::3')];
  const group = fib.acquireGroup(members);
  assert.deepEqual(fib.groupMembers(group), members);
  for (const m of members) nh.retain(m);
  assert.equal(fib.acquireGroup(members), group, 'a second reference, for the second route');
  insert('::/0', group, true);
  insert('2001:db8::/32', group, true);
  assert.deepEqual(fib.get(new Uint8Array(16), 0), { target: group, isGroup: true });
  const packet = new Uint8Array(40);
  packet.set(ip('2001:db8:ffff::10'), 8);
  packet.set(ip('2001:db8::7'), 24);
  const counts = new Map<number, number>();
  for (let port = 1024; port < 1024 + 3000; port++) {
    const hash = flowHash6(packet, 8, 24, 6, port, 443);
    const chosen = fib.lookup(packet, 24, hash);
    assert.ok(members.includes(chosen));
    assert.equal(fib.lookup(packet, 24, flowHash6(packet, 8, 24, 6, port, 443)), chosen);
    assert.equal(look('3000::1', hash), chosen, 'the default route is the same group');
    counts.set(chosen, (counts.get(chosen) ?? 0) + 1);
  }
  for (const m of members) assert.ok(counts.get(m)! > 800, `member ${m} got ${counts.get(m)} of 3000 flows`);
  remove('::/0');
  remove('2001:db8::/32');
  assertEmpty();
});

test('flowHash6 is deterministic, a signed 32-bit integer, and sensitive to every field', () => {
  const buf = new Uint8Array(40);
  buf.set(ip('2001:db8::1'), 8);
  buf.set(ip('2001:db8::2'), 24);
  const h = flowHash6(buf, 8, 24, 17, 3, 4);
  assert.equal(flowHash6(buf, 8, 24, 17, 3, 4), h);
  assert.equal(h, h | 0);
  const others = [
    flowHash6(buf, 24, 8, 17, 3, 4),
    flowHash6(buf, 8, 24, 6, 3, 4),
    flowHash6(buf, 8, 24, 17, 4, 4),
    flowHash6(buf, 8, 24, 17, 3, 5),
  ];
  for (let i = 8; i < 40; i++) {
    const changed = buf.slice();
    changed[i]! ^= 1;
    others.push(flowHash6(changed, 8, 24, 17, 3, 4));
  }
  for (const other of others) assert.notEqual(other, h);
});

test('next hops are interned by (kind, ifIndex, 16-byte gateway), reference counted, ids reused', () => {
  const a = nh.acquire(NH_FORWARD, 1, ip('fe80::1'));
  const again = nh.acquire(NH_FORWARD, 1, ip('fe80::1'));
  const other = nh.acquire(NH_FORWARD, 1, ip('fe80::2'));
  const connected = nh.acquire(NH_FORWARD, 1, null);
  const local = nh.acquire(NH_LOCAL, 0, null);
  assert.equal(again, a);
  assert.equal(new Set([a, other, connected, local]).size, 4);
  assert.equal(nh.acquire(NH_FORWARD, 1, new Uint8Array(16)), connected, ':: is directly connected');
  nh.release(connected);
  assert.equal(nh.size, 4);
  assert.equal(nh.refCount(a), 2);
  assert.equal(nh.kind(a), NH_FORWARD);
  assert.equal(nh.ifIndex(a), 1);
  assert.deepEqual(nh.gateway(a), ip('fe80::1'));
  assert.deepEqual(nh.gateway(connected), new Uint8Array(16));
  assert.equal(nh.gatewayWord(a, 0) >>> 0, 0xfe800000);
  assert.equal(nh.gatewayWord(a, 3), 1);
  const out = new Uint8Array(20);
  nh.gatewayInto(other, out, 3);
  assert.deepEqual(out.subarray(3, 19), ip('fe80::2'));
  nh.release(a);
  assert.equal(nh.size, 4);
  nh.release(a);
  assert.equal(nh.size, 3);
  assert.throws(() => nh.release(a), RangeError);
  const reused = nh.acquire(NH_FORWARD, 9, null);
  assert.equal(reused, a, 'the freed id is handed out again');
  for (const id of [reused, other, connected, local]) nh.release(id);
  assertEmpty();
});

test('a group of its own changes in place: every route through it follows, other groups do not', () => {
  const a = forward(1, 'fe80::1');
  const shared = fib.acquireGroup([forward(1, 'fe80::1')]);
  const own = fib.createGroup([a]);
  assert.notEqual(own, shared);
  fib.retainGroup(own);
  insert('2001:db8::/32', own, true);
  fib.retainGroup(own);
  insert('2001:db8:1:2::/64', own, true);
  insert('2001:db9::/32', shared, true);
  const b = forward(2, 'fe80::2');
  fib.setGroupMembers(own, [b]);
  assert.equal(fib.lookup(ip('2001:db8::9'), 0, 0), b);
  assert.equal(fib.lookup(ip('2001:db8:1:2::9'), 0, 0), b);
  assert.equal(nh.ifIndex(fib.lookup(ip('2001:db9::1'), 0, 0)), 1);
  const c = forward(3);
  nh.retain(b);
  fib.setGroupMembers(own, [b, c]);
  assert.equal(fib.multipathGroupsInUse, 1);
  assert.deepEqual(fib.groupMembers(own), [b, c]);
  nh.retain(c);
  fib.setGroupMembers(own, [c]);
  assert.equal(fib.multipathGroupsInUse, 0);
  assert.equal(fib.lookup(ip('2001:db8::9'), 0, 7), c);
  fib.releaseGroup(own);
  for (const p of ['2001:db8::/32', '2001:db8:1:2::/64', '2001:db9::/32']) remove(p);
  assertEmpty();
});

test('ECMP groups hold member references and are shared by identical member lists', () => {
  const a = forward(1);
  const b = forward(2);
  const g1 = fib.acquireGroup([a, b]);
  const g2 = fib.acquireGroup([nh.acquire(NH_FORWARD, 1, null), nh.acquire(NH_FORWARD, 2, null)]);
  assert.equal(g2, g1);
  assert.equal(nh.refCount(a), 1, 'surplus member references handed to a shared group are dropped');
  insert('2001:db8::/32', g1, true);
  insert('2001:db9::/32', g2, true);
  remove('2001:db8::/32');
  assert.equal(fib.groupsInUse, 1);
  assert.equal(nh.size, 2);
  remove('2001:db9::/32');
  assertEmpty();
});

test('programmer errors throw RangeError', () => {
  const a = forward(1);
  assert.throws(() => fib.insert(ip('2001:db8::1'), 64, a), /host bits/);
  assert.throws(() => fib.insert(ip('2001:db8::'), 16, a), /host bits/);
  assert.throws(() => fib.insert(new Uint8Array(16), 129, a), RangeError);
  assert.throws(() => fib.insert(new Uint8Array(16), -1, a), RangeError);
  assert.throws(() => fib.insert(new Uint8Array(16), 1.5, a), RangeError);
  assert.throws(() => fib.insert(new Uint8Array(4), 0, a), /16 bytes/);
  assert.throws(() => fib.insert(new Uint8Array(16), 0, a + 100), /not live/);
  assert.throws(() => fib.insert(new Uint8Array(16), 0, 0, true), /ECMP group 0 is not live/);
  assert.throws(() => fib.delete(ip('2001:db8::1'), 64), /host bits/);
  assert.throws(() => fib.get(new Uint8Array(17), 0), /16 bytes/);
  assert.throws(() => fib.acquireGroup([]), RangeError);
  assert.throws(() => fib.releaseGroup(3), RangeError);
  assert.throws(() => nh.acquire(7, 0, null), RangeError);
  assert.throws(() => nh.acquire(NH_FORWARD, 0, new Uint8Array(4)), RangeError);
  assert.throws(() => new Ipv6Fib({ maxTbl12Groups: 1 << 20 }), RangeError);
  assert.throws(() => new Ipv6Fib({ maxTbl8Groups: -1 }), RangeError);
  nh.release(a);
  assertEmpty();
});

test('the default route is not painted into tbl20, and longer prefixes still win over it', () => {
  const d = forward(1, 'fe80::1');
  const a = forward(2);
  const b = forward(3);
  insert('::/0', d);
  // White box: tbl20 holds nothing, lookups fall through to the default from an empty slot.
  const tbl20 = (fib as unknown as { table: Int32Array }).table.subarray(0, 1 << 20);
  assert.equal(
    tbl20.findIndex((e) => e !== 0),
    -1,
  );
  insert('2001:db8::/32', a);
  insert('2001:db8:1:2::/64', b);
  assert.equal(look('2001:db8:9::9'), a);
  assert.equal(look('2001:db8:1:2::7'), b);
  assert.equal(look('2001:db8:1:3::7'), a); // a tbl8 slot owned by the /32
  assert.equal(look('2002::1'), d);
  remove('2001:db8::/32');
  assert.equal(look('2001:db8:1:3::7'), d); // that slot is empty now → default
  assert.equal(look('2001:db8:9::9'), d);
  remove('::/0');
  assert.equal(look('2001:db8:1:3::7'), -1);
  assert.equal(look('2001:db8:1:2::7'), b);
  remove('2001:db8:1:2::/64');
  assertEmpty();
});

test('control-plane keys round-trip for every prefix length', () => {
  // The maps key /1../32 by an int32, /33../52 by a double and longer prefixes by a string.
  const all = parseIpv6('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  const hop = forward(1);
  for (let length = 0; length <= 128; length++) {
    const network = all.slice();
    for (let bit = length; bit < 128; bit++) network[bit >> 3]! &= ~(0x80 >> (bit & 7));
    nh.retain(hop);
    fib.insert(network, length, hop);
  }
  nh.release(hop);
  assert.equal(fib.size, 129);
  const entries = [...fib.entries()];
  assert.deepEqual(
    entries.map((e) => e.length),
    Array.from({ length: 129 }, (_, i) => i),
  );
  for (const e of entries) {
    assert.deepEqual(fib.get(e.network, e.length), { target: hop, isGroup: false });
    for (let bit = 0; bit < 128; bit++)
      assert.equal((e.network[bit >> 3]! >> (7 - (bit & 7))) & 1, bit < e.length ? 1 : 0);
  }
  assert.equal(look(all), hop);
  for (const e of entries.reverse()) assert.equal(fib.delete(e.network, e.length), true);
  assertEmpty();
});
