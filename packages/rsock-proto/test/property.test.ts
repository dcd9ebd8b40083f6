import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type ControlMessage,
  clearEndpoint,
  copyEndpoint,
  DGRAM_HEADER_LENGTH,
  DGRAM_HEADER_LENGTH_V2,
  DGRAM_PKTINFO,
  type DgramHeader,
  type DgramHeader2,
  decode,
  decodeControl,
  decodeDgramHeader,
  decodeDgramHeader2,
  describeEndpoint,
  type Endpoint,
  EOPNOTSUPP,
  EPROTO,
  encode,
  encodeControl,
  encodeDgramHeader,
  encodeDgramHeader2,
  encodeEndpoint,
  endpoint4,
  endpoint6,
  FLOWINFO_MASK,
  isWellFormedUtf8,
  MAX_MESSAGE,
  type Message,
  newDgramHeader,
  newDgramHeader2,
  newEndpoint,
  setEndpoint4,
  T_ACCEPT_OK,
  T_ADDR_OK,
  T_BIND,
  T_CONNECT,
  T_SOCKET_CONNECT,
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
  const vectors = loadVectors().filter((v) => v.version === 1 && !v.name.startsWith('dgram-'));
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

// Version 2 (§13).

const endpoint: fc.Arbitrary<Endpoint> = fc.oneof(
  fc.constant(null).map(() => newEndpoint()),
  fc.tuple(u32, u16).map(([a, p]) => endpoint4(a, p)),
  fc
    .tuple(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      u16,
      fc.integer({ min: 0, max: FLOWINFO_MASK }),
      u32,
    )
    .map(([a, p, f, s]) => endpoint6(a, p, f, s)),
);

const endpointMessage: fc.Arbitrary<ControlMessage> = fc.oneof(
  fc.record({ kind: fc.constantFrom('bind', 'accept-ok'), id, socket: u32, ep: endpoint }),
  fc.record({ kind: fc.constant('connect'), id, socket: u32, ep: endpoint, flags: u32 }),
  fc.record({ kind: fc.constant('addr-ok'), id, ep: endpoint }),
  fc.record({
    kind: fc.constant('socket-connect'),
    id,
    family: u16,
    type: u16,
    protocol: u32,
    ep: endpoint,
    flags: u32,
  }),
) as fc.Arbitrary<ControlMessage>;

// Every other kind has the same body in both versions.
const controlMessage: fc.Arbitrary<ControlMessage> = fc.oneof(
  { arbitrary: endpointMessage, weight: 2 },
  {
    arbitrary: message.filter(
      (m) => m.kind !== 'bind' && m.kind !== 'connect' && m.kind !== 'accept-ok' && m.kind !== 'addr-ok',
    ) as fc.Arbitrary<ControlMessage>,
    weight: 3,
  },
);

test('version 2: decodeControl(encodeControl(m)) is m for every message', () => {
  const out = new Uint8Array(MAX_MESSAGE + 8);
  fc.assert(
    fc.property(controlMessage, fc.integer({ min: 0, max: 8 }), (m, off) => {
      const n = encodeControl(m, 2, out, off);
      const r = decodeControl(out, off, n, 2);
      assert.ok(r.ok, r.ok ? '' : r.reason);
      assert.deepEqual(r.message, { ...m });
    }),
    { seed: 0x5eed20, numRuns: 3000 },
  );
});

test('version 1 through decodeControl: AF_INET endpoints round trip; the Message API sees the same bytes', () => {
  const v4 = fc.tuple(u32, u16).map(([a, p]) => endpoint4(a, p));
  const m1: fc.Arbitrary<ControlMessage> = fc.oneof(
    fc.record({ kind: fc.constantFrom('bind', 'accept-ok'), id, socket: u32, ep: v4 }),
    fc.record({ kind: fc.constant('connect'), id, socket: u32, ep: v4, flags: u16 }),
    fc.record({ kind: fc.constant('addr-ok'), id, ep: v4 }),
  ) as fc.Arbitrary<ControlMessage>;
  const out = new Uint8Array(MAX_MESSAGE);
  const out2 = new Uint8Array(MAX_MESSAGE);
  fc.assert(
    fc.property(m1, (m) => {
      const n = encodeControl(m, 1, out, 0);
      const r = decodeControl(out, 0, n, 1);
      assert.ok(r.ok);
      assert.deepEqual(r.message, { ...m });
      const legacy = decode(out, 0, n);
      assert.ok(legacy.ok);
      assert.equal(encode(legacy.message, out2, 0), n);
      assert.deepEqual(out2.subarray(0, n), out.subarray(0, n));
    }),
    { seed: 0x5eed21, numRuns: 2000 },
  );
});

// Decoding bytes in the middle of a buffer of junk gives what decoding an exact copy gives: nothing
// outside the range is read. Whatever decodes re-encodes to the input.
function checkCanonicalAt(input: Uint8Array, version: number, junk: number): void {
  const exact = decodeControl(input.slice(), 0, input.length, version);
  const buf = new Uint8Array(input.length + 40).fill(junk);
  buf.set(input, 20);
  const inside = decodeControl(buf, 20, input.length, version);
  assert.deepEqual(inside, exact);
  if (!exact.ok) {
    assert.ok(exact.errno === EPROTO || exact.errno === EOPNOTSUPP);
    assert.equal(exact.errno === EOPNOTSUPP, exact.reason === 'unknown-type');
    return;
  }
  const out = new Uint8Array(MAX_MESSAGE);
  const n = encodeControl(exact.message, version, out);
  assert.deepEqual(out.subarray(0, n), input);
}

test('version 2: random bytes never throw, read nothing outside, and whatever decodes re-encodes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 255 }), (b, junk) =>
      checkCanonicalAt(b, 2, junk),
    ),
    { seed: 0x5eed22, numRuns: 5000 },
  );
});

// Endpoint bytes biased to the values the checks turn on: families 0, 2, 10 and others, zero or
// not zero unused fields, flowinfo's top nibble.
const epBytes = fc
  .tuple(
    fc.constantFrom(0, 2, 10, 1, 11, 0x0a00, 0x0200),
    u16,
    fc.oneof(fc.constant(0), fc.integer({ min: 0, max: FLOWINFO_MASK }), u32),
    fc.oneof(fc.constant(new Uint8Array(16)), fc.uint8Array({ minLength: 16, maxLength: 16 })),
    fc.oneof(fc.constant(0), u32),
    fc.boolean(),
  )
  .map(([family, port, flow, addr, scope, zeroPort]) => {
    const b = new Uint8Array(28);
    const dv = new DataView(b.buffer);
    dv.setUint16(0, family, true);
    dv.setUint16(2, zeroPort ? 0 : port, true);
    dv.setUint32(4, flow, true);
    b.set(addr, 8);
    dv.setUint32(24, scope, true);
    return b;
  });

test('version 2: endpoint messages with random endpoint bytes reach every endpoint check', () => {
  const types = [T_BIND, T_CONNECT, T_ACCEPT_OK, T_ADDR_OK, T_SOCKET_CONNECT];
  let decoded = 0;
  fc.assert(
    fc.property(
      fc.constantFrom(...types),
      id,
      epBytes,
      u32,
      fc.integer({ min: 0, max: 255 }),
      (type, reqId, ep, x, junk) => {
        const size = type === T_ADDR_OK ? 28 : type === T_CONNECT ? 36 : type === T_SOCKET_CONNECT ? 40 : 32;
        const body = new Uint8Array(size);
        const dv = new DataView(body.buffer);
        if (type === T_SOCKET_CONNECT) dv.setUint32(4, x, true);
        else if (type !== T_ADDR_OK) dv.setUint32(0, x, true);
        body.set(ep, type === T_ADDR_OK ? 0 : type === T_SOCKET_CONNECT ? 8 : 4);
        if (type === T_CONNECT || type === T_SOCKET_CONNECT) dv.setUint32(size - 4, x >>> 3, true);
        const msg = new Uint8Array(16 + body.length);
        msg.set([0x4e, 0x48, 0x52, 0x53, 2, 0, type & 0xff, type >>> 8]);
        new DataView(msg.buffer).setUint32(8, reqId, true);
        new DataView(msg.buffer).setUint32(12, body.length, true);
        msg.set(body, 16);
        checkCanonicalAt(msg, 2, junk);
        if (decodeControl(msg, 0, msg.length, 2).ok) decoded++;
      },
    ),
    { seed: 0x5eed23, numRuns: 5000 },
  );
  assert.ok(decoded > 500, `only ${decoded} decoded: the generator misses the valid cases`);
});

test('version 2: random bodies behind a valid header never throw', () => {
  const types = [...Array(14).keys()].concat([
    0x8000, 0x8001, 0x8002, 0x8003, 0x8004, 0x8005, 0x8006, 0x8007, 0x8008,
  ]);
  fc.assert(
    fc.property(fc.constantFrom(...types), id, fc.uint8Array({ maxLength: 40 }), (type, reqId, body) => {
      const msg = new Uint8Array(16 + body.length);
      msg.set([0x4e, 0x48, 0x52, 0x53, 2, 0, type & 0xff, type >>> 8]);
      new DataView(msg.buffer).setUint32(8, reqId, true);
      new DataView(msg.buffer).setUint32(12, body.length, true);
      msg.set(body, 16);
      checkCanonicalAt(msg, 2, 0xee);
    }),
    { seed: 0x5eed24, numRuns: 5000 },
  );
});

test('golden vectors of both versions with a byte changed or cut never throw, at either version', () => {
  const vectors = loadVectors().filter((v) => !v.name.startsWith('dgram-'));
  fc.assert(
    fc.property(
      fc.constantFrom(...vectors),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      fc.nat(),
      fc.constantFrom(1, 2),
      (v, at, value, cut, version) => {
        const b = v.bytes.slice(0, v.bytes.length - (cut % 3));
        if (b.length > 0) b[at % b.length] = value;
        checkCanonicalAt(b, version, 0);
      },
    ),
    { seed: 0x5eed25, numRuns: 8000 },
  );
});

test('version-2 datagram headers round trip; random and mutated bytes never throw and re-encode', () => {
  const header = fc.oneof(
    fc.record({
      flags: fc.constant(0),
      ifindex: fc.constant(0),
      peer: endpoint,
      local: fc.constant(null).map(newEndpoint),
    }),
    fc.record({ flags: fc.constant(DGRAM_PKTINFO), ifindex: u32, peer: endpoint, local: endpoint }),
  );
  fc.assert(
    fc.property(header, fc.integer({ min: 0, max: 8 }), (h: DgramHeader2, off) => {
      const buf = new Uint8Array(DGRAM_HEADER_LENGTH_V2 + off);
      assert.equal(encodeDgramHeader2(h, buf, off), DGRAM_HEADER_LENGTH_V2);
      const back = newDgramHeader2();
      assert.equal(decodeDgramHeader2(buf, off, DGRAM_HEADER_LENGTH_V2, back), off + DGRAM_HEADER_LENGTH_V2);
      assert.deepEqual(back, { ...h });
    }),
    { seed: 0x5eed26, numRuns: 3000 },
  );
  // Valid headers with one byte changed (or none) and the length cut or grown, and headers built from
  // endpoint-shaped pieces that are valid far less often.
  const mutated = fc
    .tuple(header, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean(), fc.integer({ min: -1, max: 2 }))
    .map(([hd, at, v, mutate, extra]) => {
      const b = new Uint8Array(66);
      encodeDgramHeader2(hd, b, 0);
      if (mutate) b[at % b.length] = v;
      return b.subarray(0, 64 + extra);
    });
  const pieces = fc
    .tuple(fc.constantFrom(64, 20), fc.constantFrom(0, 1, 2), fc.oneof(fc.constant(0), u32), epBytes, epBytes)
    .map(([hl, flags, ifindex, peer, local]) => {
      const b = new Uint8Array(64);
      const dv = new DataView(b.buffer);
      dv.setUint16(0, hl, true);
      dv.setUint16(2, flags, true);
      dv.setUint32(4, ifindex, true);
      b.set(peer, 8);
      b.set(local, 36);
      return b;
    });
  const raw = fc.oneof(mutated, pieces, fc.uint8Array({ maxLength: 80 }));
  const h = newDgramHeader2();
  let decoded = 0;
  fc.assert(
    fc.property(
      fc.oneof(raw, fc.uint8Array({ maxLength: 80 })),
      fc.integer({ min: 0, max: 255 }),
      (b, junk) => {
        const buf = new Uint8Array(b.length + 32).fill(junk);
        buf.set(b, 16);
        const r = decodeDgramHeader2(buf, 16, b.length, h);
        const exact = decodeDgramHeader2(b.slice(), 0, b.length, newDgramHeader2());
        assert.equal(r < 0 ? r : r - 16, exact);
        if (r < 0) return;
        decoded++;
        const again = new Uint8Array(DGRAM_HEADER_LENGTH_V2);
        encodeDgramHeader2(h, again, 0);
        assert.deepEqual(again, b.subarray(0, DGRAM_HEADER_LENGTH_V2));
      },
    ),
    { seed: 0x5eed27, numRuns: 8000 },
  );
  assert.ok(decoded > 300, `only ${decoded} decoded`);
});

test('version-2 encoders refuse what the wire cannot carry canonically', () => {
  const out = new Uint8Array(MAX_MESSAGE);
  const v6 = endpoint6(new Uint8Array(16).fill(1), 80);
  // Version 1 carries AF_INET only, and CONNECT flags as a u16.
  assert.throws(() => encodeControl({ kind: 'bind', id: 1, socket: 1, ep: v6 }, 1, out), RangeError);
  assert.throws(() => encodeControl({ kind: 'addr-ok', id: 1, ep: newEndpoint() }, 1, out), RangeError);
  assert.throws(
    () => encodeControl({ kind: 'connect', id: 1, socket: 1, ep: endpoint4(1, 1), flags: 0x10000 }, 1, out),
    RangeError,
  );
  assert.equal(encodeControl({ kind: 'connect', id: 1, socket: 1, ep: v6, flags: 0x10000 }, 2, out), 52);
  assert.throws(() => encodeControl({ kind: 'ok', id: 1 }, 3, out), RangeError);
  // SOCKET_CONNECT exists only in version 2 (§13.11).
  const sc = {
    kind: 'socket-connect',
    id: 1,
    family: 2,
    type: 1,
    protocol: 0,
    ep: endpoint4(1, 1),
    flags: 0,
  } as const;
  assert.throws(() => encodeControl(sc, 1, out), RangeError);
  assert.equal(encodeControl(sc, 2, out), 56);
  assert.throws(() => decodeControl(out, 0, 16, 0), RangeError);
  // Endpoints: unknown family, fields the family does not use, ranges.
  const bad: Endpoint[] = [
    { ...endpoint4(1, 1), family: 1 },
    { ...endpoint4(1, 1), scopeId: 1 },
    { ...endpoint4(1, 1), flowinfo: 1 },
    { ...endpoint4(1, 1), addr6: new Uint8Array(16).fill(1) },
    { ...endpoint6(new Uint8Array(16), 1), addr: 5 },
    { ...endpoint6(new Uint8Array(16), 1), flowinfo: 0x10000000 },
    { ...endpoint6(new Uint8Array(16), 1), addr6: new Uint8Array(4) },
    { ...endpoint6(new Uint8Array(16), 1), port: 65536 },
    { ...newEndpoint(), port: 1 },
  ];
  for (const ep of bad) {
    assert.throws(() => encodeEndpoint(ep, out, 0), RangeError);
    assert.throws(() => encodeControl({ kind: 'addr-ok', id: 1, ep }, 2, out), RangeError);
  }
  // Datagram headers: ifindex or local without PKTINFO.
  const h = newDgramHeader2();
  h.ifindex = 3;
  assert.throws(() => encodeDgramHeader2(h, out, 0), RangeError);
  h.ifindex = 0;
  setEndpoint4(h.local, 1, 0);
  assert.throws(() => encodeDgramHeader2(h, out, 0), RangeError);
  h.flags = DGRAM_PKTINFO;
  assert.equal(encodeDgramHeader2(h, out, 0), DGRAM_HEADER_LENGTH_V2);
  assert.throws(() => encodeDgramHeader2(h, new Uint8Array(63), 0), RangeError);
});

test('endpoint setters leave one canonical object whatever it held before', () => {
  const ep = endpoint6(new Uint8Array(16).fill(7), 9, 5, 3);
  setEndpoint4(ep, 0x0a020001, 53);
  assert.deepEqual(ep, endpoint4(0x0a020001, 53));
  const a = newEndpoint();
  copyEndpoint(a, endpoint6(new Uint8Array(16).fill(2), 1, 2, 3));
  assert.deepEqual(a, endpoint6(new Uint8Array(16).fill(2), 1, 2, 3));
  clearEndpoint(a);
  assert.deepEqual(a, newEndpoint());
  assert.equal(describeEndpoint(a), 'unspec');
});
