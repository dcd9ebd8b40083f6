// The TCP engine over IPv6: the same engine code as IPv4 with TCP_IPV6 (16-byte addresses), two
// engines on the harness's in-memory link. What IPv6 changes: the pseudo-header (RFC 8200 §8.1),
// 40-byte network headers, full 128-bit addresses in demultiplexing and in the keyed hashes, and
// Packet Too Big (RFC 4443 §3.2, RFC 8201) that never brings the MTU below 1280.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { parseIpv6 } from '@nexthop/addr';
import { internetChecksum, pseudoHeaderSumIpv6, rd32, TCP_ACK, TCP_SYN } from '@nexthop/wire';
import fc from 'fast-check';
import { ECONNREFUSED, EHOSTUNREACH, ETIMEDOUT } from '../src/sockapi/errno.ts';
import { hash4 } from '../src/sockapi/hash.ts';
import { TCP_IPV4, TCP_IPV6, type TcpConnection, type TcpListener } from '../src/tcp/index.ts';
import { buildSeg, bulkTransfer, Host, type LinkOptions, Pair, type PairAddresses } from './tcp-harness.ts';

const A6 = parseIpv6('2001:db8:1::a');
const B6 = parseIpv6('2001:db8:2::b');
const V6: PairAddresses<Uint8Array> = { family: TCP_IPV6, a: A6, b: B6 };
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function pair6(link: LinkOptions, ca = {}, cb = {}): Pair<Uint8Array> {
  return new Pair(link, ca, cb, V6);
}

/** The first segment `h` sent since the last take(), and only one. */
function one(h: Host<Uint8Array>) {
  const s = h.take();
  assert.equal(s.length, 1, `expected one segment, got ${s.map((x) => x.flags).join(' ')}`);
  return s[0]!;
}

test('handshake between two IPv6 engines: MSS from a 40-byte header, addresses kept, no stray segment', () => {
  const p = pair6({ seed: 1, delay: 5 });
  p.keepLog = true;
  const l = p.b.engine.listen(TCP_IPV6.any, 80, 4) as TcpListener<Uint8Array>;
  // The caller's arrays may be reused: the connection must keep copies.
  const local = A6.slice();
  const remote = B6.slice();
  const c = p.a.engine.connect(local, 40000, remote, 80, 0) as TcpConnection<Uint8Array>;
  local.fill(0xee);
  remote.fill(0xee);
  const syn = p.a.sent[0]!;
  assert.equal(syn.flags, 'S');
  assert.equal(syn.mss, 1500 - 40 - 20);
  let s: TcpConnection<Uint8Array> | null = null;
  const accepted = (): boolean => {
    s ??= l.accept(p.now);
    return s !== null;
  };
  assert.ok(p.run(() => accepted() && c.state === 'ESTABLISHED', 10_000));
  const srv = s as unknown as TcpConnection<Uint8Array>;
  assert.equal(srv.state, 'ESTABLISHED');
  assert.deepEqual(c.localAddr, A6);
  assert.deepEqual(c.remoteAddr, B6);
  assert.deepEqual(srv.localAddr, B6);
  assert.deepEqual(srv.remoteAddr, A6);
  assert.equal(srv.remotePort, 40000);
  assert.equal(TCP_IPV6.format(srv.remoteAddr), '2001:db8:1::a');
  assert.equal(c.info().mss, 1440 - 12, 'timestamps on: 12 bytes of options per segment');
  assert.equal(p.unmatched, 0);
  assert.equal(p.a.engine.stats.badSegments + p.b.engine.stats.badSegments, 0);
});

test('bulk transfer each way over IPv6 with random loss, reordering and duplication (property, fixed seed)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2 ** 30 }),
      fc.double({ min: 0, max: 0.05, noNaN: true }),
      fc.double({ min: 0, max: 0.05, noNaN: true }),
      fc.double({ min: 0, max: 0.02, noNaN: true }),
      fc.boolean(),
      (seed, loss, reorder, duplicate, tso) => {
        const p = pair6({ seed, delay: 5, loss, reorder, duplicate, rate: 10_000 });
        if (tso) {
          p.a.segmentOffload = 65521;
          p.b.segmentOffload = 65521;
        }
        const size = 300_000;
        const { ok, c, s, up, down } = bulkTransfer(p, size, seed);
        assert.ok(ok, `transfer did not finish: up ${up.gotLen} down ${down.gotLen}, ${c.state}`);
        assert.equal(sha(up.got), sha(up.data));
        assert.equal(sha(down.got), sha(down.data));
        // Every wire segment's payload fits the IPv6 MSS, aggregates included once cut.
        for (const seg of [...p.a.sent, ...p.b.sent]) assert.ok(seg.data.length <= 1440);
        c.close(p.now);
        s!.close(p.now);
        p.run(() => p.a.engine.connectionCount === 0 && p.b.engine.connectionCount === 0, p.now + 200_000);
        assert.equal(p.a.engine.connectionCount + p.b.engine.connectionCount, 0);
        assert.equal(p.a.engine.stats.badSegments + p.b.engine.stats.badSegments, 0);
      },
    ),
    { seed: 0x7c6, numRuns: 6 },
  );
});

test('every segment checksums with the IPv6 pseudo-header (RFC 8200 §8.1), computed independently', () => {
  const p = pair6({ seed: 3, delay: 5 });
  const raw: Array<{ bytes: Uint8Array; src: Uint8Array; dst: Uint8Array }> = [];
  for (const h of [p.a, p.b]) {
    const deliver = h.deliver!;
    h.deliver = (bytes, src, dst, now) => {
      raw.push({ bytes: bytes.slice(), src: src.slice(), dst: dst.slice() });
      deliver(bytes, src, dst, now);
    };
  }
  const { ok } = bulkTransfer(p, 50_000, 3);
  assert.ok(ok);
  assert.ok(raw.length > 40);
  for (const { bytes, src, dst } of raw) {
    // Source, destination, 32-bit upper-layer length, next header 6: the whole segment sums to zero.
    const pseudo = pseudoHeaderSumIpv6(src, 0, dst, 0, 6, bytes.length);
    assert.equal(internetChecksum(bytes, 0, bytes.length, pseudo), 0);
    // An IPv4-style sum of the low 32 bits only would not match: the upper 96 bits are covered.
    const low = (a: Uint8Array) => rd32(a, 12);
    const v4 = TCP_IPV4.pseudoSum(low(src), low(dst)) + bytes.length;
    assert.notEqual(internetChecksum(bytes, 0, bytes.length, v4), 0);
  }
});

test('input: a checksum over other upper address bits, or a corrupted one, is dropped as bad', () => {
  const h = new Host(B6, 4, {}, TCP_IPV6);
  h.engine.listen(TCP_IPV6.any, 80, 4);
  const from = parseIpv6('2001:db8:1::a');
  const other = parseIpv6('2001:db8:9::a');
  // Built for `other`, delivered as from `from`: same low 32 bits, different pseudo-header.
  const bytes = buildSeg(
    { srcPort: 1234, dstPort: 80, seq: 1, flags: TCP_SYN, mss: 1440 },
    other,
    B6,
    TCP_IPV6,
  );
  assert.ok(h.engine.input(bytes, 0, bytes.length, from, B6, 0, 0));
  assert.equal(h.engine.stats.badSegments, 1);
  assert.equal(h.take().length, 0, 'no SYN-ACK');
  const good = buildSeg(
    { srcPort: 1234, dstPort: 80, seq: 1, flags: TCP_SYN, mss: 1440 },
    from,
    B6,
    TCP_IPV6,
  );
  good[good.length - 1]! ^= 0x01;
  h.engine.input(good, 0, good.length, from, B6, 0, 0);
  assert.equal(h.engine.stats.badSegments, 2);
  good[good.length - 1]! ^= 0x01;
  h.engine.input(good, 0, good.length, from, B6, 0, 0);
  assert.equal(one(h).flags, 'S.');
  // The caller verified the checksum (offload): the engine neither recomputes nor rejects.
  const h2 = new Host(B6, 5, {}, TCP_IPV6);
  h2.engine.listen(TCP_IPV6.any, 80, 4);
  h2.engine.input(bytes, 0, bytes.length, other, B6, 0, 0, true);
  assert.equal(h2.engine.stats.badSegments, 0);
  assert.equal(one(h2).flags, 'S.');
});

/** A SYN, then the ACK of its SYN-ACK, from (src, 1234) to (dst, 80) on `h`; returns our ISS. */
function handshakeInto(h: Host<Uint8Array>, src: Uint8Array, dst: Uint8Array, now: number): void {
  const syn = buildSeg(
    { srcPort: 1234, dstPort: 80, seq: 1000, flags: TCP_SYN, mss: 1440 },
    src,
    dst,
    TCP_IPV6,
  );
  // The engine is handed scratch arrays that are overwritten afterwards, as a receive path does.
  const s = src.slice();
  const d = dst.slice();
  h.engine.input(syn, 0, syn.length, s, d, 0, now);
  s.fill(0);
  d.fill(0);
  const synAck = one(h);
  assert.equal(synAck.flags, 'S.');
  assert.deepEqual(synAck.src, dst);
  assert.deepEqual(synAck.dst, src);
  const ack = buildSeg(
    { srcPort: 1234, dstPort: 80, seq: 1001, ack: (synAck.seq + 1) >>> 0, flags: TCP_ACK },
    src,
    dst,
    TCP_IPV6,
  );
  h.engine.input(ack, 0, ack.length, src.slice(), dst.slice(), 0, now);
}

test('link-local and global addresses with the same interface identifier are different connections', () => {
  const h = new Host(parseIpv6('2001:db8::1'), 6, {}, TCP_IPV6);
  const l = h.engine.listen(TCP_IPV6.any, 80, 8) as TcpListener<Uint8Array>;
  const pairs = [
    [parseIpv6('fe80::2'), parseIpv6('fe80::1')],
    [parseIpv6('2001:db8::2'), parseIpv6('2001:db8::1')],
    // Same remote, other local address: the local address tells them apart too.
    [parseIpv6('2001:db8::2'), parseIpv6('fe80::1')],
  ] as const;
  for (const [src, dst] of pairs) handshakeInto(h, src, dst, 0);
  const accepted: TcpConnection<Uint8Array>[] = [];
  for (let c = l.accept(0); c !== null; c = l.accept(0)) accepted.push(c);
  assert.equal(accepted.length, 3);
  assert.equal(h.engine.connectionCount, 3);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(accepted[i]!.remoteAddr, pairs[i]![0]);
    assert.deepEqual(accepted[i]!.localAddr, pairs[i]![1]);
    assert.equal(accepted[i]!.state, 'ESTABLISHED');
  }
  // Data for each lands in its own connection.
  for (let i = 0; i < 3; i++) {
    const [src, dst] = pairs[i]!;
    const data = new Uint8Array([i + 1, i + 1, i + 1]);
    const ack = accepted[i]!.sndNxt;
    const seg = buildSeg(
      { srcPort: 1234, dstPort: 80, seq: 1001, ack, flags: TCP_ACK, data },
      src,
      dst,
      TCP_IPV6,
    );
    h.engine.input(seg, 0, seg.length, src, dst, 0, 1);
  }
  const buf = new Uint8Array(16);
  for (let i = 0; i < 3; i++) {
    assert.equal(accepted[i]!.recv(buf, 0, 16, 2), 3);
    assert.equal(buf[0], i + 1);
  }
});

test('remote addresses equal in their low 32 (and 64) bits are different connections', () => {
  const h = new Host(parseIpv6('2001:db8::1'), 7, {}, TCP_IPV6);
  const l = h.engine.listen(TCP_IPV6.any, 80, 8) as TcpListener<Uint8Array>;
  const local = parseIpv6('2001:db8::1');
  const remotes = [parseIpv6('2001:db8:aaaa::5'), parseIpv6('2001:db8:bbbb::5'), parseIpv6('3fff::5')];
  for (const r of remotes) handshakeInto(h, r, local, 0);
  assert.equal(h.engine.connectionCount, 3);
  const accepted: TcpConnection<Uint8Array>[] = [];
  for (let c = l.accept(0); c !== null; c = l.accept(0)) accepted.push(c);
  assert.deepEqual(
    accepted.map((c) => TCP_IPV6.format(c.remoteAddr)),
    ['2001:db8:aaaa::5', '2001:db8:bbbb::5', '3fff::5'],
  );
  // Their ISNs differ: the RFC 6528 hash covers the upper bits (same ports, same clock).
  assert.equal(new Set(accepted.map((c) => c.iss >>> 0)).size, 3);
  // A reset from one of them ends that one only.
  const rst = buildSeg({ srcPort: 1234, dstPort: 80, seq: 1001, flags: 0x04 }, remotes[1]!, local, TCP_IPV6);
  h.engine.input(rst, 0, rst.length, remotes[1]!, local, 0, 1);
  assert.deepEqual(
    accepted.map((c) => c.state),
    ['ESTABLISHED', 'CLOSED', 'ESTABLISHED'],
  );
});

test('the keyed hashes cover every bit of both addresses, and agree with hash4 where they overlap', () => {
  const k0 = 0x01234567;
  const k1 = 0x89abcdef | 0;
  const a = parseIpv6('2001:db8::1');
  const b = parseIpv6('fe80::2');
  const base = TCP_IPV6.hashTuple(k0, k1, a, b, (1 << 16) | 2, 0);
  const baseKey = TCP_IPV6.tableKey(k0, k1, b, 2);
  for (let bit = 0; bit < 128; bit++) {
    const a2 = a.slice();
    a2[bit >> 3]! ^= 0x80 >> (bit & 7);
    const b2 = b.slice();
    b2[bit >> 3]! ^= 0x80 >> (bit & 7);
    assert.notEqual(TCP_IPV6.hashTuple(k0, k1, a2, b, (1 << 16) | 2, 0), base, `local bit ${bit}`);
    assert.notEqual(TCP_IPV6.hashTuple(k0, k1, a, b2, (1 << 16) | 2, 0), base, `remote bit ${bit}`);
    assert.notEqual(TCP_IPV6.tableKey(k0, k1, b2, 2), baseKey, `table key, remote bit ${bit}`);
  }
  // The table key depends on the engine's secret, not on the address alone.
  assert.notEqual(TCP_IPV6.tableKey(k0 ^ 1, k1, b, 2), baseKey);
  // The HalfSipHash here is sockapi/hash.ts's: over one address (four words) they are the same function.
  const words = [rd32(b, 0), rd32(b, 4), rd32(b, 8), rd32(b, 12)] as const;
  assert.equal(TCP_IPV6.digest(k0, k1, b), hash4(k0, k1, ...words));
  // IPv4 hashes as before the families: exactly hash4 of the 4-tuple.
  assert.equal(
    TCP_IPV4.hashTuple(k0, k1, 0x0a000001, 0x0a000002, 7, 1),
    hash4(k0, k1, 0x0a000001, 0x0a000002, 7, 1),
  );
  assert.equal(TCP_IPV4.tableKey(k0, k1, 0x0a000002, 80), 0x0a000002 * 65536 + 80);
});

test('Packet Too Big shrinks the MSS, never below what 1280 allows (RFC 8201 §4)', () => {
  const p = pair6({ seed: 8, delay: 5 });
  p.a.engine.listen(TCP_IPV6.any, 5001, 8);
  const open = (port: number) => {
    const c = p.b.engine.connect(B6, port, A6, 5001, p.now) as TcpConnection<Uint8Array>;
    assert.ok(p.run(() => c.state === 'ESTABLISHED', p.now + 1000));
    assert.equal(c.info().mss, 1440 - 12, 'timestamps on: 12 bytes of options per segment');
    return c;
  };
  const data = new Uint8Array(20_000);
  const c = open(5000);
  p.keepLog = true;
  c.send(data, 0, data.length, p.now);
  const ptb = (remote: Uint8Array, port: number, seq: number, mtu: number) =>
    p.b.engine.packetTooBig(B6.slice(), port, remote.slice(), 5001, seq, mtu, p.now);
  ptb(A6, 5000, c.sndUna, 1400);
  assert.equal(c.info().mss, 1400 - 60 - 12, 'MTU 1400: 1340 bytes of TCP header and payload');
  const mark = p.b.sent.length;
  ptb(A6, 5000, c.sndUna, 1000);
  assert.equal(c.info().mss, 1280 - 60 - 12, 'below 1280 counts as 1280');
  ptb(A6, 5000, c.sndUna, 0);
  assert.equal(c.info().mss, 1280 - 60 - 12, 'and so does 0');
  // What leaves afterwards (the resent flight first) follows the smaller MSS.
  assert.ok(p.run(() => c.info().sendQueue === 0, p.now + 5000));
  const after = p.b.sent.slice(mark).filter((seg) => seg.srcPort === 5000 && seg.data.length > 0);
  assert.ok(after.length >= data.length / 1208);
  for (const seg of after) assert.ok(seg.data.length <= 1280 - 60 - 12);
  // A PTB about another remote with the same low 64 bits is not this connection's.
  const other = open(5002);
  other.send(data, 0, data.length, p.now);
  ptb(parseIpv6('2001:db8:7::a'), 5002, other.sndUna, 1300);
  assert.equal(other.info().mss, 1440 - 12);
  // With nothing in flight, a PTB cannot be about a segment of ours (RFC 5927 §4.1): ignored.
  assert.ok(p.run(() => other.info().sendQueue === 0, p.now + 5000));
  ptb(A6, 5002, other.sndUna, 1300);
  assert.equal(other.info().mss, 1440 - 12);
});

test('a path MTU of 1300 in the middle of the link: PTBs from the harness, transfer intact', () => {
  const p = pair6({ seed: 9, delay: 5, rate: 10_000 });
  const { ok, c, s, up, down } = bulkTransfer(p, 300_000, 9, 600_000, (now) => {
    if (now > 50 && p.pathMtu === 0) p.pathMtu = 1300;
  });
  assert.ok(ok);
  assert.ok(p.icmpSent > 0);
  assert.equal(sha(up.got), sha(up.data));
  assert.equal(sha(down.got), sha(down.data));
  assert.equal(c.info().mss, 1300 - 60 - 12);
  assert.equal(s!.info().mss, 1300 - 60 - 12);
});

test('transportError delivers the errno: hard in SYN-SENT at once, soft at the timeout', () => {
  const h = new Host(A6, 10, {}, TCP_IPV6);
  // ICMPv6 port unreachable (RFC 4443 §3.1 code 4) is hard: the connection ends with ECONNREFUSED.
  const hard = h.engine.connect(A6, 40000, B6, 80, 0) as TcpConnection<Uint8Array>;
  const iss = one(h).seq;
  // A scratch copy of the addresses, as the ICMPv6 parser would hand them.
  h.engine.transportError(A6.slice(), 40000, B6.slice(), 80, iss, ECONNREFUSED, true, 1);
  assert.equal(hard.state, 'CLOSED');
  assert.equal(hard.takeError(), -ECONNREFUSED);
  // An error quoting a sequence number not in flight is ignored (RFC 5927 §4.1).
  const other = h.engine.connect(A6, 40001, B6, 80, 2) as TcpConnection<Uint8Array>;
  const iss2 = one(h).seq;
  h.engine.transportError(A6, 40001, B6, 80, (iss2 + 100_000) >>> 0, ECONNREFUSED, true, 3);
  assert.equal(other.state, 'SYN-SENT');
  // ... and one about another remote with the same low 64 bits too.
  h.engine.transportError(A6, 40001, parseIpv6('2001:db8:3::b'), 80, iss2, ECONNREFUSED, true, 3);
  assert.equal(other.state, 'SYN-SENT');
  // A soft one (hop limit exceeded, §3.3) is kept and replaces ETIMEDOUT when the connection gives up.
  h.engine.transportError(A6, 40001, B6, 80, iss2, EHOSTUNREACH, false, 4);
  assert.equal(other.state, 'SYN-SENT');
  const plain = h.engine.connect(A6, 40002, B6, 80, 5) as TcpConnection<Uint8Array>;
  h.advance(200_000);
  assert.equal(other.state, 'CLOSED');
  assert.equal(other.takeError(), -EHOSTUNREACH);
  assert.equal(plain.takeError(), -ETIMEDOUT);
});

test('connect and listen: wildcard rules, the source from the env, ports in use, ICMPv4 ignored', () => {
  const h = new Host(A6, 11, {}, TCP_IPV6);
  const e = h.engine;
  // An unspecified local address takes the env's source towards the remote.
  const c = e.connect(TCP_IPV6.any, 0, B6, 80, 0) as TcpConnection<Uint8Array>;
  assert.deepEqual(c.localAddr, A6);
  assert.ok(c.localPort >= 32768);
  assert.ok(e.portInUse(A6, c.localPort, false));
  assert.ok(e.portInUse(TCP_IPV6.any, c.localPort, false));
  assert.ok(!e.portInUse(parseIpv6('2001:db8:1::b'), c.localPort, false));
  assert.ok((e.connect(A6, 1000, TCP_IPV6.any, 80, 0) as number) < 0, 'no wildcard remote');
  const l = e.listen(A6, 22, 1) as TcpListener<Uint8Array>;
  assert.ok((e.listen(TCP_IPV6.any, 22, 1) as number) < 0, 'the wildcard overlaps a specific address');
  assert.ok(typeof e.listen(parseIpv6('2001:db8:1::b'), 22, 1) === 'object', 'another address is free');
  assert.ok(e.portInUse(A6, 22, false));
  l.close(1);
  assert.ok(!e.portInUse(A6, 22, false));
  // icmpError is ICMPv4's: an IPv6 engine ignores it.
  const q = new Uint8Array(28);
  q[0] = 0x45;
  q[9] = 6;
  e.icmpError(3, 3, 0, q, 0, 28, 1);
  assert.equal(c.state, 'SYN-SENT');
});

test('SYN cookies over IPv6: the cookie covers the full source address, the IPv6 MSS is encoded', () => {
  const h = new Host(B6, 12, { synQueue: 1 }, TCP_IPV6);
  const l = h.engine.listen(TCP_IPV6.any, 80, 8) as TcpListener<Uint8Array>;
  const first = parseIpv6('2001:db8:1::1');
  h.input({ srcPort: 1000, dstPort: 80, seq: 1, flags: TCP_SYN, mss: 1440 }, first, 0);
  h.take();
  // The SYN queue is full: the next SYN gets a cookie as its SYN-ACK's ISN.
  const src = parseIpv6('2001:db8:1::2');
  h.input({ srcPort: 1001, dstPort: 80, seq: 100, flags: TCP_SYN, mss: 1440 }, src, 10);
  const sa = one(h);
  assert.equal(sa.flags, 'S.');
  assert.equal(sa.mss, 1440);
  assert.equal(h.engine.stats.synCookiesSent, 1);
  const ack = { srcPort: 1001, dstPort: 80, seq: 101, ack: (sa.seq + 1) >>> 0, flags: TCP_ACK };
  // The same ACK from an address that differs only in its upper bits does not pass.
  assert.equal(h.input(ack, parseIpv6('2001:db8:9::2'), 20), false);
  assert.equal(h.engine.stats.synCookiesRejected, 1);
  assert.equal(h.input(ack, src, 20), true);
  assert.equal(h.engine.stats.synCookiesAccepted, 1);
  const c = l.accept(20)!;
  assert.equal(c.state, 'ESTABLISHED');
  assert.deepEqual(c.remoteAddr, src);
  assert.equal(c.info().mss, 1440, 'the cookie kept the IPv6 MSS (no timestamps without state)');
});
