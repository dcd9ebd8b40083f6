// RFC 2385 TCP MD5 signatures in the engine: the MD5 itself against RFC 1321's vectors, the digest
// of segments Linux signed (a capture, tcp-md5-linux.fixture.ts) and our own SYN and SYN-ACK for the
// same 4-tuple byte for byte, then two engines with keys (IPv4 and IPv6): transfers under loss with
// every segment signed, mismatched and missing keys, forged resets, SYN cookies, option space, and
// malformed signature options counted, never thrown.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { parseIpv4, parseIpv6 } from '@nexthop/addr';
import {
  decodeTcpPseudo,
  foldSum,
  IPPROTO_TCP,
  internetChecksum,
  pseudoHeaderSum,
  pseudoHeaderSumIpv6,
  rd16,
  rd32,
  TCP_ACK,
  TCP_RST,
  TCP_SYN,
  TcpHeader,
  wr16,
  writeTcpPseudo,
} from '@nexthop/wire';
import fc from 'fast-check';
import {
  TCP_IPV4,
  TCP_IPV6,
  type TcpAddressFamily,
  TcpConnection,
  type TcpListener,
  TcpMd5Keys,
} from '../src/tcp/index.ts';
import { Md5 } from '../src/tcp/md5.ts';
import { TcpMd5 } from '../src/tcp/md5sig.ts';
import { parseOptions, TcpOptions } from '../src/tcp/options.ts';
import { SegmentWriter } from '../src/tcp/segment.ts';
import { A, B, bulkTransfer, Host, Pair, pseudoOf } from './tcp-harness.ts';
import { LINUX_MD5_FRAMES, LINUX_MD5_KEY } from './tcp-md5-linux.fixture.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const KEY = enc('bgp-secret');

function md5Hex(pieces: Uint8Array[]): string {
  const m = new Md5();
  for (const p of pieces) m.update(p, 0, p.length);
  const out = new Uint8Array(16);
  m.digest(out, 0);
  return hex(out);
}

// ---------------------------------------------------------------- MD5 (RFC 1321)

test('MD5: the test suite of RFC 1321 §A.5', () => {
  const vectors: [string, string][] = [
    ['', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['a', '0cc175b9c0f1b6a831c399e269772661'],
    ['abc', '900150983cd24fb0d6963f7d28e17f72'],
    ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
    ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
    [
      '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
      '57edf4a22be3c955ac49da2e2107b67a',
    ],
  ];
  for (const [msg, digest] of vectors) assert.equal(md5Hex([enc(msg)]), digest, `MD5("${msg}")`);
  // One Md5 reused: digest() leaves it reset for the next message.
  const m = new Md5();
  const out = new Uint8Array(20);
  for (const [msg, digest] of vectors) {
    const b = enc(msg);
    m.update(b, 0, b.length);
    m.digest(out, 4);
    assert.equal(hex(out.subarray(4)), digest);
  }
});

test('MD5: any message cut in any pieces (and runs of zeros) hashes as node:crypto does', () => {
  const m = new Md5();
  const out = new Uint8Array(16);
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 600 }),
      fc.array(fc.nat(700), { maxLength: 8 }),
      fc.nat(130),
      (data, cuts, zeros) => {
        const at = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((x, y) => x - y);
        let from = 0;
        for (const c of [...at, data.length]) {
          m.update(data, from, c - from);
          from = c;
        }
        m.updateZeros(zeros);
        m.digest(out, 0);
        const whole = new Uint8Array(data.length + zeros);
        whole.set(data);
        assert.equal(hex(out), createHash('md5').update(whole).digest('hex'));
      },
    ),
    { numRuns: 300, seed: 2385 },
  );
});

// ---------------------------------------------------------------- Linux's signatures

interface Captured<A> {
  family: TcpAddressFamily<A>;
  src: A;
  dst: A;
  /** The TCP segment alone (a copy). */
  tcp: Uint8Array;
}

/**
 * Captured frame i's segment. The veth had checksum offload, so Linux left the partial checksum (the
 * folded pseudo-header sum, CHECKSUM_PARTIAL) in the frames: checked, then replaced by the full
 * checksum the wire would carry. Nothing else changes (RFC 2385 hashes the field as zero anyway).
 */
function captured(i: number): Captured<number> | Captured<Uint8Array> {
  const f = Uint8Array.from(Buffer.from(LINUX_MD5_FRAMES[i]!, 'hex'));
  let c: Captured<number> | Captured<Uint8Array>;
  let pseudo: number;
  if (rd16(f, 12) === 0x0800) {
    const ihl = (f[14]! & 15) * 4;
    const total = rd16(f, 16);
    const v4 = { family: TCP_IPV4, src: rd32(f, 26), dst: rd32(f, 30), tcp: f.slice(14 + ihl, 14 + total) };
    pseudo = pseudoHeaderSum(v4.src, v4.dst, IPPROTO_TCP, v4.tcp.length);
    c = v4;
  } else {
    const plen = rd16(f, 18);
    const v6 = { family: TCP_IPV6, src: f.slice(22, 38), dst: f.slice(38, 54), tcp: f.slice(54, 54 + plen) };
    pseudo = pseudoHeaderSumIpv6(v6.src, 0, v6.dst, 0, IPPROTO_TCP, v6.tcp.length);
    c = v6;
  }
  assert.equal(rd16(c.tcp, 16), foldSum(pseudo), `frame ${i}: Linux's partial checksum`);
  wr16(c.tcp, 16, 0);
  wr16(c.tcp, 16, internetChecksum(c.tcp, 0, c.tcp.length, pseudo));
  return c;
}

function md5At(tcp: Uint8Array): number {
  const h = new TcpHeader();
  assert.equal(decodeTcpPseudo(tcp, 0, tcp.length, 0, h, false), 0);
  const o = new TcpOptions();
  assert.ok(parseOptions(tcp, h.optionsOffset, h.optionsLength, o));
  return o.md5At;
}

function verifies<A>(c: Captured<A>, key: Uint8Array, tcp = c.tcp): boolean {
  return new TcpMd5().verify(c.family, c.src, c.dst, tcp, 0, tcp.length, md5At(tcp), key);
}

test('Linux interop: every captured segment (IPv4 and IPv6, both ways) verifies with the key, none with another', () => {
  assert.equal(LINUX_MD5_FRAMES.length, 20);
  const key = enc(LINUX_MD5_KEY);
  for (let i = 0; i < LINUX_MD5_FRAMES.length; i++) {
    const c = captured(i) as Captured<unknown>;
    assert.ok(md5At(c.tcp) > 0, `frame ${i} is signed`);
    assert.ok(verifies(c, key), `frame ${i} (${c.family.name}) verifies`);
    assert.ok(!verifies(c, enc(`${LINUX_MD5_KEY}x`)), `frame ${i} fails with another key`);
    // The addresses are covered: the same segment the other way round fails.
    assert.ok(!verifies({ ...c, src: c.dst, dst: c.src }, key), `frame ${i} fails reversed`);
    const seq = c.tcp.slice();
    seq[7]! ^= 1;
    assert.ok(!verifies(c, key, seq), `frame ${i} fails with a bit of its sequence number flipped`);
  }
  // The data segments (PSH) carry 'hello bgp' and 'HELLO BGP', which are covered.
  const psh = [...LINUX_MD5_FRAMES.keys()].filter((i) => (captured(i).tcp[13]! & 0x08) !== 0);
  assert.equal(psh.length, 4);
  for (const i of psh) {
    const c = captured(i) as Captured<unknown>;
    assert.match(new TextDecoder().decode(c.tcp.subarray(c.tcp.length - 9)), /^hello bgp$/i);
    const data = c.tcp.slice();
    data[data.length - 1]! ^= 0x20;
    assert.ok(!verifies(c, key, data), `frame ${i} fails with its data changed`);
  }
});

test('Linux interop: options are not covered (RFC 2385 §2.0), the checksum field is hashed as zero', () => {
  const key = enc(LINUX_MD5_KEY);
  const syn = captured(0) as Captured<unknown>;
  const t = syn.tcp.slice();
  // The window scale (last option byte) changed: still verifies; the header's window changed: fails.
  t[t.length - 1] = 7;
  assert.ok(verifies(syn, key, t));
  const w = syn.tcp.slice();
  w[15]! ^= 1;
  assert.ok(!verifies(syn, key, w));
  const ck = syn.tcp.slice();
  ck[16]! ^= 0xff;
  assert.ok(verifies(syn, key, ck));
});

/** Our SYN or SYN-ACK for the captured one's 4-tuple, ISN, window and options, signed. */
function ourSyn<A>(c: Captured<A>, key: Uint8Array): Uint8Array {
  const net = c.family.name === 'ipv4' ? 20 : 40;
  const w = new SegmentWriter(14, net);
  const t = c.tcp;
  const withAck = (t[13]! & TCP_ACK) !== 0;
  const o = new TcpOptions();
  const hl = (t[12]! >>> 4) * 4;
  assert.ok(parseOptions(t, 20, hl - 20, o));
  const len = w.syn(
    rd16(t, 0),
    rd16(t, 2),
    rd32(t, 4),
    rd32(t, 8),
    withAck,
    rd16(t, 14),
    o.mss,
    o.sackPermitted,
    o.hasTimestamp,
    o.tsVal,
    o.tsEcr,
    o.wscale,
    c.family.pseudoSum(c.src, c.dst),
    true,
  );
  const pseudo = new Uint8Array(net === 20 ? 12 : 40);
  c.family.md5Pseudo(pseudo, c.src, c.dst, 0);
  w.md5.sign(pseudo, w.buf, w.tcpOff, len, key);
  return w.buf.slice(w.tcpOff, w.tcpOff + len);
}

test("Linux interop: our SYN and SYN-ACK for the captured 4-tuples are Linux's, byte for byte (digest and checksum too)", () => {
  const key = enc(LINUX_MD5_KEY);
  for (const i of [0, 1, 10, 11]) {
    const c = captured(i) as Captured<unknown>;
    assert.equal(c.tcp[13]! & TCP_SYN, TCP_SYN);
    // Linux with a key: MD5 first, MSS, SACK-permitted, window scale, no timestamps (tcp_syn_options).
    const o = new TcpOptions();
    assert.ok(parseOptions(c.tcp, 20, c.tcp.length - 20, o));
    assert.equal(o.hasTimestamp, false);
    assert.equal(hex(c.tcp.subarray(20, 24)), '01011312');
    assert.equal(hex(ourSyn(c, key)), hex(c.tcp), `frame ${i} (${c.family.name})`);
  }
});

test("Linux interop: a listener keyed for the client takes Linux's SYN and answers with Linux's layout, signed", () => {
  const key = enc(LINUX_MD5_KEY);
  for (const i of [0, 10]) {
    const c = captured(i) as Captured<unknown>;
    const h = new Host<unknown>(c.dst, 5, {}, c.family);
    const l = h.engine.listen(c.family.any, rd16(c.tcp, 2), 4) as TcpListener<unknown>;
    l.md5Keys = new TcpMd5Keys();
    l.md5Keys.set(c.family, c.src, key);
    const out: Uint8Array[] = [];
    h.deliver = (seg) => out.push(seg);
    const bytes = c.tcp.slice();
    assert.ok(h.engine.input(bytes, 0, bytes.length, c.src, c.dst, 0, 0));
    const s = h.engine.stats;
    assert.deepEqual([s.md5Missing, s.md5Bad, s.md5Unexpected], [0, 0, 0]);
    const sa = h.take();
    assert.equal(sa.length, 1);
    assert.equal(sa[0]!.flags, 'S.');
    assert.equal(sa[0]!.ts, null);
    assert.ok(sa[0]!.sackOk);
    assert.equal(sa[0]!.wscale >= 0, true);
    assert.equal(l.embryos.size, 1);
    // Signed with the key: it checks out with the function Linux's own segments verified with.
    assert.equal(out.length, 1);
    assert.ok(verifies({ family: c.family, src: c.dst, dst: c.src, tcp: out[0]! }, key));
    assert.equal(hex(out[0]!.subarray(20, 24)), '01011312');
  }
});

// ---------------------------------------------------------------- two engines

const A6 = parseIpv6('2001:db8::a');
const B6 = parseIpv6('2001:db8::b');

/** Checks the signature of every segment a Pair carries (wrapping its hosts' delivery). */
function signatureAudit<A>(p: Pair<A>, key: Uint8Array): { signed: number; maxSack: number } {
  const audit = { signed: 0, maxSack: 0 };
  const md5 = new TcpMd5();
  for (const h of [p.a, p.b]) {
    const deliver = h.deliver!;
    h.deliver = (bytes, src, dst, now) => {
      const at = md5At(bytes);
      assert.ok(at > 0, 'every segment is signed');
      assert.ok(md5.verify(h.family, src, dst, bytes, 0, bytes.length, at, key), 'and verifies');
      const o = new TcpOptions();
      parseOptions(bytes, 20, (bytes[12]! >>> 4) * 4 - 20, o);
      audit.maxSack = Math.max(audit.maxSack, o.sackCount);
      audit.signed++;
      deliver(bytes, src, dst, now);
    };
  }
  return audit;
}

for (const fam of ['ipv4', 'ipv6'] as const) {
  const addrs =
    fam === 'ipv4'
      ? { family: TCP_IPV4 as TcpAddressFamily<unknown>, a: A as unknown, b: B as unknown }
      : { family: TCP_IPV6 as TcpAddressFamily<unknown>, a: A6 as unknown, b: B6 as unknown };

  test(`${fam}: 300 kB each way with 2% loss, reordering and duplication, every segment signed, SACK in 2 blocks`, () => {
    const p = new Pair({ seed: 41, delay: 3, loss: 0.02, reorder: 0.05, duplicate: 0.01 }, {}, {}, addrs);
    // A link that takes aggregates: a keyed connection must not use it (one digest per segment).
    p.a.segmentOffload = 65535;
    p.b.segmentOffload = 65535;
    const audit = signatureAudit(p, KEY);
    const r = bulkTransfer(p, 300_000, 7, 600_000, undefined, KEY);
    assert.ok(r.ok);
    assert.equal(hex(r.up.got), hex(r.up.data));
    assert.equal(hex(r.down.got), hex(r.down.data));
    assert.ok(audit.signed > 400);
    assert.ok(audit.maxSack >= 1 && audit.maxSack <= 2, `SACK blocks ${audit.maxSack}`);
    assert.equal(p.a.aggregates + p.b.aggregates, 0);
    for (const h of [p.a, p.b])
      assert.deepEqual(
        [h.engine.stats.md5Missing, h.engine.stats.md5Bad, h.engine.stats.md5Unexpected],
        [0, 0, 0],
      );
    // No timestamps (Linux's SYN with a key has none); each segment's payload is MSS - 20.
    assert.equal(r.c.tsOk, false);
    const mss = 1500 - (fam === 'ipv4' ? 40 : 60);
    assert.equal(r.c.info().mss, mss - 20);
  });

  test(`${fam}: mismatched keys never connect; each SYN is dropped and counted md5-bad`, () => {
    const p = new Pair({ seed: 42, delay: 5 }, {}, {}, addrs);
    const l = p.b.engine.listen(addrs.family.any, 80, 4) as TcpListener<unknown>;
    l.md5Keys = new TcpMd5Keys();
    l.md5Keys.set(addrs.family, addrs.a, enc('one'));
    const c = p.a.engine.connect(addrs.a, 40000, addrs.b, 80, 0, enc('two')) as TcpConnection<unknown>;
    p.run(() => c.state === 'CLOSED', 300_000);
    assert.equal(c.state, 'CLOSED');
    assert.equal(c.takeError(), -110); // ETIMEDOUT: no answer, not even a reset
    assert.equal(p.b.engine.stats.md5Bad, 7); // the SYN and its 6 retransmissions
    assert.equal(l.embryos.size + l.acceptQueue.length, 0);
  });

  test(`${fam}: an unkeyed SYN to a keyed listener is md5-missing; a signed one to an unkeyed listener md5-unexpected`, () => {
    const p = new Pair({ seed: 43, delay: 5 }, { synRetries: 1 }, {}, addrs);
    const l = p.b.engine.listen(addrs.family.any, 80, 4) as TcpListener<unknown>;
    l.md5Keys = new TcpMd5Keys();
    l.md5Keys.set(addrs.family, addrs.a, KEY);
    const c = p.a.engine.connect(addrs.a, 40000, addrs.b, 80, 0) as TcpConnection<unknown>;
    p.run(() => c.state === 'CLOSED', 60_000);
    assert.equal(p.b.engine.stats.md5Missing, 2);
    // The listener's key is for a's address only: delete it, and a signed SYN is unexpected.
    assert.ok(l.md5Keys.set(addrs.family, addrs.a, null));
    const d = p.a.engine.connect(addrs.a, 40001, addrs.b, 80, p.now, KEY) as TcpConnection<unknown>;
    p.run(() => d.state === 'CLOSED', p.now + 60_000);
    assert.equal(p.b.engine.stats.md5Unexpected, 2);
    // Without keys on either side, it connects as ever.
    const e = p.a.engine.connect(addrs.a, 40002, addrs.b, 80, p.now) as TcpConnection<unknown>;
    p.run(() => e.state === 'ESTABLISHED', p.now + 1000);
    assert.equal(e.state, 'ESTABLISHED');
  });

  test(`${fam}: a forged reset without (or with a wrong) signature is ignored and counted; a signed one resets`, () => {
    const p = new Pair({ seed: 44, delay: 5 }, {}, {}, addrs);
    const l = p.b.engine.listen(addrs.family.any, 80, 4) as TcpListener<unknown>;
    l.md5Keys = new TcpMd5Keys();
    l.md5Keys.set(addrs.family, addrs.a, KEY);
    const c = p.a.engine.connect(addrs.a, 40000, addrs.b, 80, 0, KEY) as TcpConnection<unknown>;
    p.run(() => l.acceptQueue.length > 0 && c.state === 'ESTABLISHED', 1000);
    const srv = l.accept(p.now)!;
    assert.equal(srv.md5Key !== null, true);
    const rst = (key: Uint8Array | null) => {
      const seg = rawSegment(addrs.family, addrs.a, addrs.b, 40000, 80, srv.rcvNxt, 0, TCP_RST, key);
      return p.b.engine.input(seg, 0, seg.length, addrs.a, addrs.b, 0, p.now);
    };
    assert.ok(rst(null));
    assert.equal(p.b.engine.stats.md5Missing, 1);
    assert.ok(rst(enc('guess')));
    assert.equal(p.b.engine.stats.md5Bad, 1);
    assert.equal(srv.state, 'ESTABLISHED');
    assert.equal(p.b.engine.stats.resetsReceived, 0);
    assert.ok(rst(KEY));
    assert.equal(srv.state, 'CLOSED');
    assert.equal(p.b.engine.stats.resetsReceived, 1);
  });

  test(`${fam}: SYN cookies with a key: the cookie SYN-ACK is signed, the rebuilt connection keyed`, () => {
    const p = new Pair({ seed: 45, delay: 5 }, {}, { synQueue: 0 }, addrs);
    const audit = signatureAudit(p, KEY);
    const r = bulkTransfer(p, 20_000, 9, 60_000, undefined, KEY);
    assert.ok(r.ok);
    assert.equal(hex(r.up.got), hex(r.up.data));
    assert.equal(p.b.engine.stats.synCookiesAccepted, 1);
    assert.equal(r.s?.md5Key !== null, true);
    assert.ok(audit.signed > 10);
  });
}

/** A bare segment (no options but a signature when keyed), checksummed, from src to dst. */
function rawSegment<A>(
  family: TcpAddressFamily<A>,
  src: A,
  dst: A,
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
  key: Uint8Array | null,
  options: number[] = [],
): Uint8Array {
  const opts = key !== null ? [1, 1, 19, 18, ...new Array<number>(16).fill(0), ...options] : [...options];
  while (opts.length % 4 !== 0) opts.push(0);
  const hl = 20 + opts.length;
  const buf = new Uint8Array(hl);
  buf.set(opts, 20);
  writeTcpPseudo(buf, 0, sport, dport, seq >>> 0, ack >>> 0, flags, 1000, hl, 0, pseudoOf(family, src, dst));
  if (key !== null) {
    const pseudo = new Uint8Array(family.name === 'ipv4' ? 12 : 40);
    family.md5Pseudo(pseudo, src, dst, 0);
    new TcpMd5().sign(pseudo, buf, 0, hl, key);
  }
  return buf;
}

test('malformed: kind 19 of another length is no signature (md5-missing where a key is set), one running past the options a bad segment', () => {
  const h = new Host(B, 3);
  const l = h.engine.listen(0, 80, 4) as TcpListener;
  l.md5Keys = new TcpMd5Keys();
  l.md5Keys.set(TCP_IPV4, A, KEY);
  const seventeen = [19, 17, ...new Array<number>(15).fill(0xaa), 1, 1, 1];
  const syn = rawSegment(TCP_IPV4, A, B, 40000, 80, 1000, 0, TCP_SYN, null, seventeen);
  assert.doesNotThrow(() => assert.ok(h.engine.input(syn, 0, syn.length, A, B, 0, 0)));
  assert.equal(h.engine.stats.md5Missing, 1);
  assert.equal(h.take().length, 0);
  // Length 18 claimed with 10 bytes of options left: the options are malformed, the segment dropped.
  const past = rawSegment(
    TCP_IPV4,
    A,
    B,
    40001,
    80,
    1000,
    0,
    TCP_SYN,
    null,
    [1, 1, 19, 18, 0, 0, 0, 0, 0, 0, 0, 0],
  );
  assert.ok(h.engine.input(past, 0, past.length, A, B, 0, 0));
  assert.equal(h.engine.stats.badSegments, 1);
  // Kind 19 of length 17 to an endpoint without a key: unsigned, taken as Linux does.
  const C = parseIpv4('10.0.0.3');
  const other = rawSegment(TCP_IPV4, C, B, 40002, 80, 1000, 0, TCP_SYN, null, seventeen);
  assert.ok(h.engine.input(other, 0, other.length, C, B, 0, 0));
  assert.equal(h.engine.stats.md5Unexpected, 0);
  assert.equal(h.take()[0]?.flags, 'S.');
  // A random option area never throws.
  fc.assert(
    fc.property(fc.array(fc.nat(255), { maxLength: 40 }), (opts) => {
      const seg = rawSegment(TCP_IPV4, A, B, 40003, 80, 5, 0, TCP_SYN, null, [19, ...opts].slice(0, 40));
      h.engine.input(seg, 0, seg.length, A, B, 0, 0);
    }),
    { numRuns: 200, seed: 19 },
  );
});

test('option space: a keyed SYN has MSS, signature, SACK-permitted and window scale (32 bytes), no timestamps', () => {
  const h = new Host(A, 1);
  const c = h.engine.connect(A, 40000, B, 80, 0, KEY) as TcpConnection;
  assert.ok(c instanceof TcpConnection);
  const syn = h.take()[0]!;
  assert.equal(syn.flags, 'S');
  assert.equal(syn.ts, null);
  assert.ok(syn.sackOk);
  assert.ok(syn.wscale >= 0);
  assert.equal(syn.mss, 1460);
  // Unkeyed, the same engine's SYN has timestamps as before.
  h.engine.connect(A, 40001, B, 80, 0);
  assert.notEqual(h.take()[0]!.ts, null);
  assert.equal(pseudoHeaderSum(A, B, IPPROTO_TCP, 0), pseudoOf(TCP_IPV4, A, B));
});

test('a keyed SYN-ACK to a SYN with timestamps and SACK drops the timestamps (Linux tcp_synack_options)', () => {
  const h = new Host(B, 2);
  const l = h.engine.listen(0, 80, 4) as TcpListener;
  l.md5Keys = new TcpMd5Keys();
  l.md5Keys.set(TCP_IPV4, A, KEY);
  const opts = [2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0, 1, 3, 3, 7];
  const syn = rawSegment(TCP_IPV4, A, B, 40000, 80, 1000, 0, TCP_SYN, KEY, opts);
  assert.ok(h.engine.input(syn, 0, syn.length, A, B, 0, 0));
  const sa = h.take()[0]!;
  assert.equal(sa.flags, 'S.');
  assert.equal(sa.ts, null);
  assert.ok(sa.sackOk);
  // Without SACK, the timestamps fit beside the signature and are kept.
  const noSack = [2, 4, 5, 180, 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0, 1, 3, 3, 7];
  const syn2 = rawSegment(TCP_IPV4, A, B, 40001, 80, 1000, 0, TCP_SYN, KEY, noSack);
  assert.ok(h.engine.input(syn2, 0, syn2.length, A, B, 0, 0));
  const sa2 = h.take()[0]!;
  assert.deepEqual(sa2.ts?.[1], 9);
  assert.equal(sa2.sackOk, false);
});
