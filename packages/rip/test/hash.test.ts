import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { test } from 'node:test';
import { hmac, md5, sha1, sha256 } from '../src/hash.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ascii = (s: string) => new TextEncoder().encode(s);

test('MD5, SHA-1, SHA-256: the FIPS / RFC 1321 examples', () => {
  assert.equal(hex(md5(ascii(''))), 'd41d8cd98f00b204e9800998ecf8427e');
  assert.equal(hex(md5(ascii('abc'))), '900150983cd24fb0d6963f7d28e17f72');
  assert.equal(hex(sha1(ascii('abc'))), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  assert.equal(hex(sha256(ascii('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(
    hex(sha256(ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  );
});

test('HMAC: RFC 4231 test case 2 (SHA-256) and RFC 2202 test case 2 (SHA-1)', () => {
  const data = ascii('what do ya want for nothing?');
  assert.equal(
    hex(hmac('sha256', ascii('Jefe'), data)),
    '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  );
  assert.equal(hex(hmac('sha1', ascii('Jefe'), data)), 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
});

test('every length 0..300 and keys up to 100 bytes agree with node:crypto', () => {
  let x = 12345;
  const bytes = (n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      b[i] = x >>> 24;
    }
    return b;
  };
  for (let n = 0; n <= 300; n++) {
    const d = bytes(n);
    assert.equal(hex(md5(d)), createHash('md5').update(d).digest('hex'), `md5 ${n}`);
    assert.equal(hex(sha1(d)), createHash('sha1').update(d).digest('hex'), `sha1 ${n}`);
    assert.equal(hex(sha256(d)), createHash('sha256').update(d).digest('hex'), `sha256 ${n}`);
    const k = bytes(n % 101);
    assert.equal(hex(hmac('sha1', k, d)), createHmac('sha1', k).update(d).digest('hex'));
    assert.equal(hex(hmac('sha256', k, d)), createHmac('sha256', k).update(d).digest('hex'));
  }
});
