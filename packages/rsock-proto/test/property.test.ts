import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  DGRAM_HEADER_LENGTH,
  type DgramHeader,
  decode,
  decodeDgramHeader,
  encode,
  encodeDgramHeader,
  isWellFormedUtf8,
  MAX_MESSAGE,
  type Message,
  newDgramHeader,
} from '../src/index.ts';
import { loadVectors } from './vectors.ts';

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const id = u32;
// Well-formed strings of any code points (grapheme units never contain lone surrogates).
const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const bytes = fc.uint8Array({ maxLength: 200 });

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({
    kind: fc.constant('hello'),
    id,
    minVersion: u16,
    maxVersion: u16,
    flags: u32,
    clientName: text,
  }),
  fc.record({ kind: fc.constant('hello-ok'), id, version: u16, maxSockets: u32, flags: u32, vrName: text }),
  fc.record({ kind: fc.constant('ok'), id }),
  fc.record({
    kind: fc.constant('error'),
    id,
    errno: fc.integer({ min: 1, max: 0x7fffffff }),
    message: text,
  }),
  fc.record({ kind: fc.constant('socket'), id, family: u16, type: u16, protocol: u32 }),
  fc.record({ kind: fc.constant('socket-ok'), id, socket: u32 }),
  fc.record({ kind: fc.constant('bind'), id, socket: u32, addr: u32, port: u16 }),
  fc.record({ kind: fc.constant('connect'), id, socket: u32, addr: u32, port: u16, flags: u16 }),
  fc.record({ kind: fc.constant('listen'), id, socket: u32, backlog: u32 }),
  fc.record({ kind: fc.constant('accept'), id, socket: u32, flags: u32 }),
  fc.record({ kind: fc.constant('accept-ok'), id, socket: u32, addr: u32, port: u16 }),
  fc.record({ kind: fc.constant('shutdown'), id, socket: u32, how: u32 }),
  fc.record({ kind: fc.constantFrom('close', 'getsockname', 'getpeername'), id, socket: u32 }),
  fc.record({ kind: fc.constant('addr-ok'), id, addr: u32, port: u16 }),
  fc.record({ kind: fc.constant('setsockopt'), id, socket: u32, level: u32, name: u32, value: bytes }),
  fc.record({ kind: fc.constant('getsockopt'), id, socket: u32, level: u32, name: u32, maxLength: u32 }),
  fc.record({ kind: fc.constant('opt-ok'), id, value: bytes }),
  fc.record({ kind: fc.constant('attach'), id }),
  fc.record({
    kind: fc.constant('attach-ok'),
    id,
    socket: u32,
    family: u16,
    type: u16,
    protocol: u32,
    state: u32,
  }),
) as fc.Arbitrary<Message>;

test('decode(encode(m)) is m for every message', () => {
  const out = new Uint8Array(MAX_MESSAGE + 8);
  fc.assert(
    fc.property(message, fc.integer({ min: 0, max: 8 }), (m, off) => {
      const n = encode(m, out, off);
      const r = decode(out, off, n);
      assert.ok(r.ok, r.ok ? '' : r.reason);
      assert.deepEqual(r.message, { ...m }); // fast-check records have a null prototype
    }),
    { seed: 0x5eed4, numRuns: 3000 },
  );
});

// The canonical-encoding property: whatever decodes, re-encodes to exactly the input.
function checkCanonical(input: Uint8Array): void {
  const r = decode(input);
  if (!r.ok) {
    assert.ok(r.errno === 71 || r.errno === 95);
    return;
  }
  const out = new Uint8Array(MAX_MESSAGE);
  const n = encode(r.message, out);
  assert.deepEqual(out.subarray(0, n), input);
}

test('random bytes never throw, and whatever decodes re-encodes to the same bytes', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), checkCanonical), { seed: 0x5eed5, numRuns: 5000 });
});

test('random headers with plausible framing reach the body checks without throwing', () => {
  // Random bodies behind a valid header: exercises every type's body parsing, not just the framing.
  const types = [...Array(14).keys()].concat([
    0x8000, 0x8001, 0x8002, 0x8003, 0x8004, 0x8005, 0x8006, 0x8007, 0x8008,
  ]);
  fc.assert(
    fc.property(fc.constantFrom(...types), id, fc.uint8Array({ maxLength: 40 }), (type, reqId, body) => {
      const msg = new Uint8Array(16 + body.length);
      msg.set([0x4e, 0x48, 0x52, 0x53, 1, 0, type & 0xff, type >>> 8]);
      new DataView(msg.buffer).setUint32(8, reqId, true);
      new DataView(msg.buffer).setUint32(12, body.length, true);
      msg.set(body, 16);
      checkCanonical(msg);
    }),
    { seed: 0x5eed6, numRuns: 5000 },
  );
});

test('golden vectors with a byte changed or cut never throw', () => {
  const vectors = loadVectors().filter((v) => !v.file.startsWith('dgram-'));
  fc.assert(
    fc.property(
      fc.constantFrom(...vectors),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      fc.nat(),
      (v, at, value, cut) => {
        const b = v.bytes.slice(0, v.bytes.length - (cut % 3));
        if (b.length > 0) b[at % b.length] = value;
        checkCanonical(b);
      },
    ),
    { seed: 0x5eed7, numRuns: 5000 },
  );
});

test('datagram headers round trip, and random bytes never throw', () => {
  const header = fc.record({
    flags: fc.constantFrom(0, 1),
    peerAddr: u32,
    peerPort: u16,
    ifindex: u32,
    localAddr: u32,
  });
  fc.assert(
    fc.property(header, (h: DgramHeader) => {
      const buf = new Uint8Array(DGRAM_HEADER_LENGTH);
      encodeDgramHeader(h, buf, 0);
      const back = newDgramHeader();
      assert.equal(decodeDgramHeader(buf, 0, buf.length, back), DGRAM_HEADER_LENGTH);
      assert.deepEqual(back, { ...h });
    }),
    { seed: 0x5eed8, numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
      const h = newDgramHeader();
      const r = decodeDgramHeader(b, 0, b.length, h);
      if (r < 0) return;
      const again = new Uint8Array(DGRAM_HEADER_LENGTH);
      encodeDgramHeader(h, again, 0);
      assert.deepEqual(again, b.subarray(0, DGRAM_HEADER_LENGTH));
    }),
    { seed: 0x5eed9, numRuns: 5000 },
  );
});

test('encode refuses what it cannot represent', () => {
  const out = new Uint8Array(MAX_MESSAGE);
  assert.throws(() => encode({ kind: 'error', id: 1, errno: 0, message: '' }, out), RangeError);
  assert.throws(() => encode({ kind: 'bind', id: 1, socket: 1, addr: 0, port: 65536 }, out), RangeError);
  assert.throws(
    () => encode({ kind: 'hello', id: 1, minVersion: 1, maxVersion: 1, flags: 0, clientName: '\ud800' }, out),
    RangeError,
  );
  assert.throws(
    () => encode({ kind: 'opt-ok', id: 1, value: new Uint8Array(5000) }, new Uint8Array(8000)),
    RangeError,
  );
  assert.throws(() => encode({ kind: 'ok', id: 1 }, new Uint8Array(15)), RangeError);
});

test('the UTF-8 check agrees with a fatal TextDecoder', () => {
  const strict = new TextDecoder('utf-8', { fatal: true });
  const wellFormed = (b: Uint8Array): boolean => {
    try {
      strict.decode(b);
      return true;
    } catch {
      return false;
    }
  };
  // Bytes biased to lead and continuation bytes, where the edge cases (E0, ED, F0, F4) live.
  const byte = fc.oneof(
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0x80, max: 0xbf }),
    fc.constantFrom(0xe0, 0xed, 0xf0, 0xf4, 0xc2, 0xc0, 0xf5),
  );
  fc.assert(
    fc.property(fc.array(byte, { maxLength: 12 }), (arr) => {
      const b = Uint8Array.from(arr);
      assert.equal(isWellFormedUtf8(b, 0, b.length), wellFormed(b));
    }),
    { seed: 0x5eeda, numRuns: 20000 },
  );
});
