import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DGRAM_HEADER_LENGTH,
  decode,
  decodeDgramHeader,
  describeDgram,
  describeMessage,
  encode,
  encodeDgramHeader,
  type MessageKind,
  newDgramHeader,
  TYPE_OF_KIND,
} from '../src/index.ts';
import { loadVectors } from './vectors.ts';

const vectors = loadVectors();

test('every golden message decodes to its description and re-encodes to the same bytes', () => {
  for (const v of vectors.filter((x) => !x.file.startsWith('bad-') && !x.file.startsWith('dgram-'))) {
    const r = decode(v.bytes);
    assert.ok(r.ok, `${v.file}: ${r.ok ? '' : r.reason}`);
    assert.equal(describeMessage(r.message), v.expect, v.file);
    const out = new Uint8Array(4096);
    const n = encode(r.message, out, 7);
    assert.deepEqual(out.subarray(7, 7 + n), v.bytes, v.file);
  }
});

test('every bad golden message fails with the reason, errno and fatality the spec gives', () => {
  const bad = vectors.filter((x) => x.file.startsWith('bad-'));
  assert.ok(bad.length >= 8);
  for (const v of bad) {
    // Decoded in the middle of a larger buffer: the bytes around it must not be read.
    const buf = new Uint8Array(v.bytes.length + 64).fill(0xee);
    buf.set(v.bytes, 32);
    const r = decode(buf, 32, v.bytes.length);
    assert.ok(!r.ok, v.file);
    assert.equal(
      `invalid id=${r.id} errno=${r.errno} fatal=${r.fatal ? 1 : 0} reason=${r.reason}`,
      v.expect,
      v.file,
    );
  }
});

test('datagram vectors decode to their description and re-encode', () => {
  const dgrams = vectors.filter((x) => x.file.startsWith('dgram-'));
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
  }
});

test('the vectors cover every message type', () => {
  const seen = new Set<string>();
  for (const v of vectors) {
    const r = decode(v.bytes);
    if (r.ok) seen.add(r.message.kind);
  }
  for (const kind of Object.keys(TYPE_OF_KIND) as MessageKind[])
    assert.ok(seen.has(kind), `no vector for ${kind}`);
});
