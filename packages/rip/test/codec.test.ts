import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { test } from 'node:test';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '@nexthop/addr';
import {
  encodeRip2,
  encodeRipng,
  parseRip2,
  parseRipng,
  RIP_REQUEST,
  RIP_RESPONSE,
  type RipKey,
} from '../src/codec.ts';

const ascii = (s: string) => new TextEncoder().encode(s);
const fromHex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('RIPv2 response: the bytes of RFC 2453 §4 and back', () => {
  const msg = encodeRip2(
    RIP_RESPONSE,
    [
      { network: parseIpv4('10.1.0.0'), length: 16, metric: 1, nextHop: 0, tag: 0 },
      { network: parseIpv4('192.168.7.0'), length: 24, metric: 3, nextHop: parseIpv4('10.0.0.9'), tag: 7 },
    ],
    null,
  );
  assert.equal(
    hex(msg),
    '02020000' +
      '00020000' +
      '0a010000' +
      'ffff0000' +
      '00000000' +
      '00000001' +
      '00020007' +
      'c0a80700' +
      'ffffff00' +
      '0a000009' +
      '00000003',
  );
  const p = parseRip2(msg, 0, msg.length, []);
  assert.ok(p.ok);
  assert.equal(p.message.command, RIP_RESPONSE);
  assert.deepEqual(
    p.message.entries.map(
      (e) => `${formatIpv4(e.network)}/${e.length} ${e.metric} ${formatIpv4(e.nextHop)} ${e.tag}`,
    ),
    ['10.1.0.0/16 1 0.0.0.0 0', '192.168.7.0/24 3 10.0.0.9 7'],
  );
});

test('RIPv2 whole-table request: one entry, AFI 0, metric 16', () => {
  const msg = encodeRip2(RIP_REQUEST, [], null, true);
  assert.equal(hex(msg), `01020000${'00'.repeat(16)}00000010`);
  const p = parseRip2(msg, 0, msg.length, []);
  assert.ok(p.ok && p.message.wholeTable);
});

test('RIPv2 drops: version, command, length, and entries with a bad AFI, metric or prefix', () => {
  const good = encodeRip2(
    RIP_RESPONSE,
    [{ network: parseIpv4('10.0.0.0'), length: 8, metric: 1, nextHop: 0, tag: 0 }],
    null,
  );
  const at = (f: (b: Uint8Array) => void) => {
    const b = good.slice();
    f(b);
    return b;
  };
  const reason = (b: Uint8Array) => {
    const p = parseRip2(b, 0, b.length, []);
    return p.ok ? `ok ${p.message.entryDrops.join(',')}` : p.reason;
  };
  assert.equal(reason(at((b) => (b[1] = 1))), 'version');
  assert.equal(reason(at((b) => (b[0] = 3))), 'command');
  assert.equal(reason(good.subarray(0, 23)), 'length');
  assert.equal(reason(good.subarray(0, 3)), 'length');
  assert.equal(reason(at((b) => (b[5] = 7))), 'ok afi');
  assert.equal(reason(at((b) => (b[23] = 0))), 'ok metric');
  assert.equal(reason(at((b) => (b[23] = 17))), 'ok metric');
  assert.equal(reason(at((b) => (b[15] = 0xff))), 'ok prefix', 'a mask of ones, zeros, ones');
  assert.equal(reason(at((b) => (b[8] = 127))), 'ok prefix', 'loopback');
  assert.equal(reason(at((b) => (b[8] = 224))), 'ok prefix', 'multicast');
  // Host bits beyond the mask are cleared.
  const p = parseRip2(
    at((b) => (b[11] = 5)),
    0,
    24,
    [],
  );
  assert.ok(p.ok);
  assert.equal(formatIpv4(p.message.entries[0]!.network), '10.0.0.0');
});

const MD5_KEY: RipKey = { id: 1, algorithm: 'md5', secret: ascii('secret') };
const SHA256_KEY: RipKey = { id: 7, algorithm: 'hmac-sha256', secret: ascii('another secret') };
const SHA1_KEY: RipKey = { id: 2, algorithm: 'hmac-sha1', secret: ascii('x'.repeat(40)) };
const ENTRY = { network: parseIpv4('10.9.0.0'), length: 16, metric: 2, nextHop: 0, tag: 0 };

test('RFC 2082 keyed MD5, as FRR computes it: MD5(message through the trailer header, key padded to 16)', () => {
  const msg = encodeRip2(RIP_RESPONSE, [ENTRY], { key: MD5_KEY, sequence: 0x01020304 });
  // Header, authentication entry (packet length 44, key 1, auth data length 16, sequence), the
  // route, the trailer header and 16 octets of digest.
  assert.equal(msg.length, 4 + 20 + 20 + 4 + 16);
  assert.equal(hex(msg.subarray(0, 24)), `02020000ffff0003002c011001020304${'00'.repeat(8)}`);
  assert.equal(hex(msg.subarray(44, 48)), 'ffff0001');
  const key16 = new Uint8Array(16);
  key16.set(ascii('secret'));
  const want = createHash('md5').update(msg.subarray(0, 48)).update(key16).digest('hex');
  assert.equal(hex(msg.subarray(48)), want);
  const p = parseRip2(msg, 0, msg.length, [MD5_KEY]);
  assert.ok(p.ok);
  assert.deepEqual(p.message.auth, { keyId: 1, sequence: 0x01020304 });
  assert.equal(p.message.entries.length, 1);
  // FRR's default Auth Data Len is 20 (the old ripd's reading); the digest is still 16 octets.
  const frr = msg.slice();
  frr[11] = 20;
  frr.set(createHash('md5').update(frr.subarray(0, 48)).update(key16).digest(), 48);
  assert.ok(parseRip2(frr, 0, frr.length, [MD5_KEY]).ok);
});

test('RFC 4822 HMAC-SHA-256 and HMAC-SHA-1: Apad in the data field while the HMAC runs, key hashed when longer than L', () => {
  const msg = encodeRip2(RIP_RESPONSE, [ENTRY], { key: SHA256_KEY, sequence: 9 });
  assert.equal(msg.length, 4 + 20 + 20 + 4 + 32);
  assert.equal(msg[10], 7, 'key id');
  assert.equal(msg[11], 32, 'auth data length');
  const withApad = msg.slice();
  for (let o = 48; o < 80; o += 4) withApad.set([0x87, 0x8f, 0xe1, 0xf3], o);
  const want = createHmac('sha256', ascii('another secret')).update(withApad).digest('hex');
  assert.equal(hex(msg.subarray(48)), want);
  assert.ok(parseRip2(msg, 0, msg.length, [MD5_KEY, SHA256_KEY]).ok);

  const m1 = encodeRip2(RIP_RESPONSE, [ENTRY], { key: SHA1_KEY, sequence: 1 });
  const a1 = m1.slice();
  for (let o = 48; o < 68; o += 4) a1.set([0x87, 0x8f, 0xe1, 0xf3], o);
  const k = createHash('sha1').update('x'.repeat(40)).digest(); // 40 > L = 20: K = H(Ks)
  assert.equal(hex(m1.subarray(48)), createHmac('sha1', k).update(a1).digest('hex'));
  assert.ok(parseRip2(m1, 0, m1.length, [SHA1_KEY]).ok);
});

test('authentication failures: a wrong key, an unknown key id, a changed octet, none where one is required, one where none is', () => {
  const msg = encodeRip2(RIP_RESPONSE, [ENTRY], { key: MD5_KEY, sequence: 1 });
  const plain = encodeRip2(RIP_RESPONSE, [ENTRY], null);
  const reason = (b: Uint8Array, keys: RipKey[]) => {
    const p = parseRip2(b, 0, b.length, keys);
    return p.ok ? 'ok' : p.reason;
  };
  assert.equal(reason(msg, [{ ...MD5_KEY, secret: ascii('other') }]), 'auth');
  assert.equal(reason(msg, [{ ...MD5_KEY, id: 2 }]), 'auth');
  const changed = msg.slice();
  changed[39]! ^= 1;
  assert.equal(reason(changed, [MD5_KEY]), 'auth');
  assert.equal(reason(plain, [MD5_KEY]), 'auth');
  assert.equal(reason(msg, []), 'auth');
  const simple = plain.slice();
  assert.equal(reason(msg.subarray(0, msg.length - 1), [MD5_KEY]), 'length');
  simple.set(fromHex('ffff0002'), 4); // RFC 2453 §4.1 simple password: not spoken here
  assert.equal(reason(simple, [MD5_KEY]), 'auth');
});

test('RIPng: RTEs, a next hop RTE for the ones after it, drops', () => {
  const net = parseIpv6('2001:db8:1::');
  const msg = encodeRipng(RIP_RESPONSE, [
    { network: net, length: 48, metric: 3, nextHop: new Uint8Array(16), tag: 0 },
  ]);
  assert.equal(hex(msg), `02010000${hex(net)}00003003`);
  // A next hop RTE (metric 0xff) before a second RTE.
  const nh = fromHex(`${hex(parseIpv6('fe80::1'))}000000ff`);
  const rte2 = fromHex(`${hex(parseIpv6('2001:db8:2::'))}00004001`);
  const both = new Uint8Array([...msg, ...nh, ...rte2]);
  const p = parseRipng(both, 0, both.length);
  assert.ok(p.ok);
  assert.deepEqual(
    p.message.entries.map((e) => `${formatIpv6(e.network)}/${e.length} ${e.metric} ${formatIpv6(e.nextHop)}`),
    ['2001:db8:1::/48 3 ::', '2001:db8:2::/64 1 fe80::1'],
  );
  // A next hop that is not link-local counts as :: (RFC 2080 §2.1.1).
  const global = fromHex(`${hex(parseIpv6('2001:db8::1'))}000000ff`);
  const p2 = parseRipng(new Uint8Array([...msg.subarray(0, 4), ...global, ...rte2]), 0, 44);
  assert.ok(p2.ok);
  assert.equal(formatIpv6(p2.message.entries[0]!.nextHop), '::');
  const reason = (b: Uint8Array) => {
    const r = parseRipng(b, 0, b.length);
    return r.ok ? `ok ${r.message.entryDrops.join(',')}` : r.reason;
  };
  const bad = (i: number, v: number) => {
    const b = msg.slice();
    b[i] = v;
    return reason(b);
  };
  assert.equal(bad(1, 2), 'version');
  assert.equal(bad(0, 0), 'command');
  assert.equal(reason(msg.subarray(0, 10)), 'length');
  assert.equal(bad(23, 0), 'ok metric');
  assert.equal(bad(23, 17), 'ok metric');
  assert.equal(bad(22, 129), 'ok prefix');
  assert.equal(bad(4, 0xff), 'ok prefix', 'multicast');
  const ll = msg.slice();
  ll.set(parseIpv6('fe80::'), 4);
  assert.equal(reason(ll), 'ok prefix', 'link-local');
  const whole = encodeRipng(RIP_REQUEST, [], true);
  assert.equal(hex(whole), `01010000${'00'.repeat(19)}10`);
  const w = parseRipng(whole, 0, whole.length);
  assert.ok(w.ok && w.message.wholeTable);
});
