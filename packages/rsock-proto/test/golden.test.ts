import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIpv6, parseIpv6 } from '@nexthop/addr';
import {
  type ControlKind,
  DGRAM_HEADER_LENGTH,
  DGRAM_HEADER_LENGTH_V2,
  decode,
  decodeControl,
  decodeDgramHeader,
  decodeDgramHeader2,
  describeControl,
  describeDgram,
  describeDgram2,
  describeMessage,
  dgramFaultName,
  encode,
  encodeControl,
  encodeDgramHeader,
  encodeDgramHeader2,
  formatAddr6,
  negotiateVersion,
  newDgramHeader,
  newDgramHeader2,
  RSOCK_VERSION,
  TYPE_OF_CONTROL_KIND,
} from '../src/index.ts';
import { loadVectors, type Vector } from './vectors.ts';

const vectors = loadVectors();
const messages = vectors.filter((x) => !x.name.startsWith('bad-') && !x.name.startsWith('dgram-'));

test('every golden message decodes at its version to its description and re-encodes to the same bytes', () => {
  for (const v of messages) {
    const r = decodeControl(v.bytes, 0, v.bytes.length, v.version);
    assert.ok(r.ok, `${v.file}: ${r.ok ? '' : r.reason}`);
    assert.equal(describeControl(r.message, v.version), v.expect, v.file);
    const out = new Uint8Array(4096);
    const n = encodeControl(r.message, v.version, out, 7);
    assert.deepEqual(out.subarray(7, 7 + n), v.bytes, v.file);
  }
});

test('the version-1 API (decode, encode, describeMessage) agrees on the version-1 vectors', () => {
  for (const v of messages.filter((x) => x.version === 1)) {
    const r = decode(v.bytes);
    assert.ok(r.ok, `${v.file}: ${r.ok ? '' : r.reason}`);
    assert.equal(describeMessage(r.message), v.expect, v.file);
    const out = new Uint8Array(4096);
    const n = encode(r.message, out, 3);
    assert.deepEqual(out.subarray(3, 3 + n), v.bytes, v.file);
  }
  // Version-2 messages are a version fault there, as on any version-1 connection.
  for (const v of messages.filter((x) => x.version === 2)) {
    const r = decode(v.bytes);
    assert.ok(!r.ok && r.reason === 'version' && r.fatal, v.file);
  }
});

function failureLine(v: Vector, buf: Uint8Array, off: number): string {
  const r = decodeControl(buf, off, v.bytes.length, v.version);
  assert.ok(!r.ok, v.file);
  return `invalid id=${r.id} errno=${r.errno} fatal=${r.fatal ? 1 : 0} reason=${r.reason}`;
}

test('every bad golden message fails with the reason, errno and fatality the spec gives', () => {
  const bad = vectors.filter((x) => x.name.startsWith('bad-'));
  assert.ok(bad.filter((x) => x.version === 1).length >= 8);
  assert.ok(bad.filter((x) => x.version === 2).length >= 6);
  for (const v of bad) {
    // Decoded in the middle of a larger buffer: the bytes around it must not be read.
    const buf = new Uint8Array(v.bytes.length + 64).fill(0xee);
    buf.set(v.bytes, 32);
    assert.equal(failureLine(v, buf, 32), v.expect, v.file);
    if (v.version === 1) {
      const r = decode(buf, 32, v.bytes.length);
      assert.ok(!r.ok, v.file);
      assert.equal(
        `invalid id=${r.id} errno=${r.errno} fatal=${r.fatal ? 1 : 0} reason=${r.reason}`,
        v.expect,
      );
    }
  }
});

test('version-1 datagram vectors decode to their description and re-encode', () => {
  const dgrams = vectors.filter((x) => x.version === 1 && x.name.startsWith('dgram-'));
  assert.equal(dgrams.length, 2);
  for (const v of dgrams) {
    const h = newDgramHeader();
    const payloadAt = decodeDgramHeader(v.bytes, 0, v.bytes.length, h);
    assert.equal(payloadAt, DGRAM_HEADER_LENGTH, v.file);
    assert.equal(describeDgram(h, v.bytes, payloadAt, v.bytes.length - payloadAt), v.expect, v.file);
    const out = new Uint8Array(v.bytes.length);
    encodeDgramHeader(h, out, 0);
    out.set(v.bytes.subarray(payloadAt), payloadAt);
    assert.deepEqual(out, v.bytes, v.file);
    // The 64-byte decoder refuses a 20-byte header.
    assert.ok(decodeDgramHeader2(v.bytes, 0, v.bytes.length, newDgramHeader2()) < 0, v.file);
  }
});

test('version-2 datagram vectors decode to their description and re-encode, or fail as described', () => {
  const dgrams = vectors.filter((x) => x.version === 2 && x.name.startsWith('dgram-'));
  assert.ok(dgrams.length >= 8);
  const h = newDgramHeader2();
  for (const v of dgrams) {
    // Decoded at an offset in a larger buffer, as the relays do.
    const buf = new Uint8Array(v.bytes.length + 16).fill(0xee);
    buf.set(v.bytes, 8);
    const at = decodeDgramHeader2(buf, 8, v.bytes.length, h);
    if (v.expect.startsWith('invalid')) {
      assert.ok(at < 0, v.file);
      assert.equal(`invalid reason=${dgramFaultName(at)}`, v.expect, v.file);
      continue;
    }
    assert.equal(at, 8 + DGRAM_HEADER_LENGTH_V2, v.file);
    assert.equal(describeDgram2(h, buf, at, v.bytes.length - DGRAM_HEADER_LENGTH_V2), v.expect, v.file);
    const out = new Uint8Array(v.bytes.length);
    assert.equal(encodeDgramHeader2(h, out, 0), DGRAM_HEADER_LENGTH_V2);
    out.set(v.bytes.subarray(DGRAM_HEADER_LENGTH_V2), DGRAM_HEADER_LENGTH_V2);
    assert.deepEqual(out, v.bytes, v.file);
    // The 20-byte decoder refuses a 64-byte header.
    assert.ok(decodeDgramHeader(v.bytes, 0, v.bytes.length, newDgramHeader()) < 0, v.file);
  }
});

test('the vectors cover every message type of each version (version 2: all but the handshake, and SOCKET_CONNECT)', () => {
  for (const version of [1, 2]) {
    const seen = new Set<string>();
    for (const v of messages.filter((x) => x.version === version)) {
      const r = decodeControl(v.bytes, 0, v.bytes.length, version);
      if (r.ok) seen.add(r.message.kind);
    }
    for (const kind of Object.keys(TYPE_OF_CONTROL_KIND) as ControlKind[]) {
      if (version === 2 && (kind === 'hello' || kind === 'hello-ok')) continue;
      if (version === 1 && kind === 'socket-connect') continue; // version 2 only (§13.11)
      assert.ok(seen.has(kind), `no version-${version} vector for ${kind}`);
    }
  }
});

test('the handshake vectors: HELLO and HELLO_OK are version 1 on the wire whatever is negotiated', () => {
  const hello = vectors.find((x) => x.file === 'hello-v2.hex')!;
  const ok = vectors.find((x) => x.file === 'hello-ok-v2.hex')!;
  const h = decodeControl(hello.bytes, 0, hello.bytes.length, RSOCK_VERSION);
  const o = decodeControl(ok.bytes, 0, ok.bytes.length, RSOCK_VERSION);
  assert.ok(h.ok && h.message.kind === 'hello' && o.ok && o.message.kind === 'hello-ok');
  assert.equal(negotiateVersion(h.message.minVersion, h.message.maxVersion), o.message.version);
});

test('negotiation picks the highest version both speak, or none', () => {
  assert.equal(negotiateVersion(1, 1), 1); // a version-1 client is served as before
  assert.equal(negotiateVersion(1, 2), 2);
  assert.equal(negotiateVersion(2, 2), 2);
  assert.equal(negotiateVersion(1, 9), 2);
  assert.equal(negotiateVersion(2, 2, 1, 1), 0); // a version-2-only client at a version-1 server
  assert.equal(negotiateVersion(1, 2, 1, 1), 1);
  assert.equal(negotiateVersion(3, 4), 0);
  assert.equal(negotiateVersion(0, 0), 0);
  assert.equal(negotiateVersion(2, 1), 0);
});

test('IPv6 text agrees with @nexthop/addr (RFC 5952) on hand-picked addresses', () => {
  for (const text of [
    '::',
    '::1',
    '2001:db8::2',
    'fe80::2',
    'ff02::1:2',
    '2001:db8:0:1:1:1:1:1',
    '2001:0:0:1::1',
    '2001:db8::1:0:0:1',
    '::ffff:10.2.0.2',
    '::102:304',
    '1:2:3:4:5:6:7:8',
    '1::',
  ]) {
    const b = parseIpv6(text);
    assert.equal(formatAddr6(b), formatIpv6(b), text);
    assert.equal(formatAddr6(b), text, text);
  }
});
