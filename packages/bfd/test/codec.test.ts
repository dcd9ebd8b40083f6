// The control packet codec: golden bytes, every §6.8.6 check a drop reason, the authentication
// sections (simple password, keyed and meticulous MD5 and SHA1 against node:crypto), and 10^5
// random and mutated packets through decoder and engine (fixed seed): never a throw, every drop
// one of the named reasons.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type AuthRxState,
  type BfdAuth,
  BfdPacket,
  DROP_REASONS,
  decodeControl,
  encodeControl,
  FLAG_A,
  FLAG_M,
  FLAG_P,
  STATE_DOWN,
  STATE_INIT,
  STATE_UP,
  signControl,
  verifyControl,
} from '../src/codec.ts';
import { BfdEngine } from '../src/engine.ts';
import { FakeBfdSockets, hashes, meta4, SeqRandom } from './fake.ts';

const ascii = (s: string) => new TextEncoder().encode(s);

test('codec: a control packet as RFC 5880 §4.1 lays it out, and back', () => {
  const b = new Uint8Array(24);
  const n = encodeControl(
    {
      diag: 3,
      state: STATE_UP,
      flags: FLAG_P,
      detectMult: 3,
      myDisc: 0x01020304,
      yourDisc: 0xa0b0c0d0,
      desiredMinTx: 300_000,
      requiredMinRx: 1_000_000,
      requiredMinEchoRx: 0,
    },
    b,
    0,
  );
  assert.equal(n, 24);
  assert.deepEqual(
    [...b],
    [
      0x23, 0xe0, 3, 24, 1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0, 0, 0x04, 0x93, 0xe0, 0, 0x0f, 0x42, 0x40, 0, 0,
      0, 0,
    ],
  );
  const p = new BfdPacket();
  assert.equal(decodeControl(b, 0, 24, p), null);
  assert.deepEqual(
    [
      p.version,
      p.diag,
      p.state,
      p.poll,
      p.final,
      p.detectMult,
      p.myDisc,
      p.yourDisc,
      p.desiredMinTx,
      p.requiredMinRx,
    ],
    [1, 3, STATE_UP, true, false, 3, 0x01020304, 0xa0b0c0d0, 300_000, 1_000_000],
  );
});

test('codec: each §6.8.6 check is a named drop', () => {
  const good = () => {
    const b = new Uint8Array(24);
    encodeControl(
      {
        diag: 0,
        state: STATE_INIT,
        flags: 0,
        detectMult: 3,
        myDisc: 7,
        yourDisc: 9,
        desiredMinTx: 1e6,
        requiredMinRx: 1e6,
        requiredMinEchoRx: 0,
      },
      b,
      0,
    );
    return b;
  };
  const p = new BfdPacket();
  const drop = (edit: (b: Uint8Array) => void, len = 24) => {
    const b = good();
    edit(b);
    return decodeControl(b, 0, len, p);
  };
  assert.equal(
    drop(() => {}),
    null,
  );
  assert.equal(
    drop((b) => {
      b[0] = (2 << 5) | 0;
    }),
    'version',
  );
  assert.equal(
    drop(() => {}, 20),
    'short',
  );
  assert.equal(
    drop((b) => {
      b[3] = 23;
    }),
    'length',
  );
  assert.equal(
    drop((b) => {
      b[3] = 30;
    }),
    'length',
    'longer than what arrived',
  );
  assert.equal(
    drop((b) => {
      b[2] = 0;
    }),
    'detectMult',
  );
  assert.equal(
    drop((b) => {
      b[1]! |= FLAG_M;
    }),
    'multipoint',
  );
  assert.equal(
    drop((b) => {
      b.fill(0, 4, 8);
    }),
    'myDiscriminator',
  );
  assert.equal(
    drop((b) => {
      b.fill(0, 8, 12);
    }),
    'yourDiscriminator',
    'zero in Init',
  );
  assert.equal(
    drop((b) => {
      b.fill(0, 8, 12);
      b[1] = STATE_DOWN << 6;
    }),
    null,
    'zero is fine in Down',
  );
  assert.equal(
    drop((b) => {
      b[1]! |= FLAG_A;
    }),
    'length',
    'A bit: at least 26 octets',
  );
});

function signed(auth: BfdAuth, seq: number): Uint8Array {
  const b = new Uint8Array(64);
  encodeControl(
    {
      diag: 0,
      state: STATE_UP,
      flags: 0,
      detectMult: 3,
      myDisc: 1,
      yourDisc: 2,
      desiredMinTx: 3e5,
      requiredMinRx: 3e5,
      requiredMinEchoRx: 0,
    },
    b,
    0,
  );
  const n = signControl(b, 0, auth, seq, hashes);
  return b.slice(0, n);
}

test('codec: authentication — simple password, keyed and meticulous MD5 and SHA1, sequence windows', () => {
  const cases: [BfdAuth, number][] = [
    [{ type: 'simple', keyId: 1, key: ascii('secret') }, 24 + 3 + 6],
    [{ type: 'keyed-md5', keyId: 2, key: ascii('md5key') }, 48],
    [{ type: 'meticulous-md5', keyId: 3, key: ascii('md5key') }, 48],
    [{ type: 'keyed-sha1', keyId: 4, key: ascii('sha1 key') }, 52],
    [{ type: 'meticulous-sha1', keyId: 5, key: ascii('sha1 key') }, 52],
  ];
  for (const [auth, len] of cases) {
    const b = signed(auth, 100);
    assert.equal(b.length, len, auth.type);
    assert.equal(b[3], len);
    const p = new BfdPacket();
    assert.equal(decodeControl(b, 0, b.length, p), null, auth.type);
    const rx: AuthRxState = { rcvSeq: 0, seqKnown: false };
    assert.ok(verifyControl(b, 0, p, auth, rx, 3, hashes), auth.type);
    // The digest is a real one: node:crypto over the packet with the key in its place.
    if (auth.type !== 'simple') {
      const dl = auth.type.endsWith('sha1') ? 20 : 16;
      const c = b.slice();
      c.fill(0, 32, 32 + dl);
      c.set(auth.key, 32);
      const want = auth.type.endsWith('sha1') ? hashes.sha1(c) : hashes.md5(c);
      assert.deepEqual(b.slice(32, 32 + dl), want.slice(0, dl));
    }
    // A wrong key, a wrong key id, a flipped byte.
    assert.equal(
      verifyControl(b, 0, p, { ...auth, key: ascii('other') }, { ...rx, seqKnown: false }, 3, hashes),
      false,
    );
    assert.equal(
      verifyControl(b, 0, p, { ...auth, keyId: 99 }, { ...rx, seqKnown: false }, 3, hashes),
      false,
    );
    if (auth.type === 'simple') continue; // a password protects no content
    const f = b.slice();
    f[12]! ^= 1;
    assert.equal(decodeControl(f, 0, f.length, p), null);
    assert.equal(verifyControl(f, 0, p, auth, { rcvSeq: 0, seqKnown: false }, 3, hashes), false, auth.type);
    // Sequence numbers (§6.7.3/4): keyed within [last, last + 3 × Detect Mult], meticulous (last, …].
    const again = signed(auth, 100);
    decodeControl(again, 0, again.length, p);
    assert.equal(verifyControl(again, 0, p, auth, rx, 3, hashes), !auth.type.startsWith('meticulous'));
    const far = signed(auth, 110);
    decodeControl(far, 0, far.length, p);
    assert.equal(verifyControl(far, 0, p, auth, rx, 3, hashes), false, 'beyond the window');
    const next = signed(auth, 109);
    decodeControl(next, 0, next.length, p);
    assert.equal(verifyControl(next, 0, p, auth, rx, 3, hashes), true);
    assert.equal(rx.rcvSeq, 109);
  }
});

test('codec + engine: 10^5 random and mutated packets never throw; every drop a named reason (seed 5880)', () => {
  const reasons = new Set<string>(DROP_REASONS);
  const auth: BfdAuth = { type: 'keyed-sha1', keyId: 1, key: ascii('k') };
  const valid = [
    signed(auth, 1),
    signed({ type: 'simple', keyId: 1, key: ascii('pw') }, 0),
    signed({ type: 'meticulous-md5', keyId: 9, key: ascii('m') }, 5),
    (() => {
      const b = new Uint8Array(24);
      encodeControl(
        {
          diag: 0,
          state: STATE_DOWN,
          flags: 0,
          detectMult: 3,
          myDisc: 5,
          yourDisc: 0,
          desiredMinTx: 1e6,
          requiredMinRx: 1e6,
          requiredMinEchoRx: 0,
        },
        b,
        0,
      );
      return b;
    })(),
  ];
  const sockets = new FakeBfdSockets();
  const engine = new BfdEngine({
    name: 'bfd',
    sockets,
    config: { defaults: { desiredMinTx: 300, requiredMinRx: 300, detectMult: 3, auth }, overrides: [] },
    random: new SeqRandom(1),
    hashes,
  });
  engine.start(0);
  engine.subscribe(
    { peer: 0x0a000002, local: 0x0a000001, ifIndex: 0, ifName: 'eth0' },
    { name: 't', onState: () => {} },
    0,
  );
  const mutated = fc
    .tuple(
      fc.constantFrom(...valid),
      fc.array(fc.tuple(fc.nat(60), fc.nat(255)), { maxLength: 4 }),
      fc.integer({ min: -8, max: 8 }),
    )
    .map(([b, edits, grow]) => {
      const out = new Uint8Array(Math.max(0, b.length + grow));
      out.set(b.subarray(0, Math.min(b.length, out.length)));
      for (const [i, v] of edits) if (i < out.length) out[i] = v;
      return out;
    });
  const input = fc.oneof(fc.uint8Array({ maxLength: 80 }), mutated, mutated);
  const p = new BfdPacket();
  let n = 0;
  fc.assert(
    fc.property(input, fc.boolean(), (b, ttl255) => {
      n++;
      const r = decodeControl(b, 0, b.length, p);
      if (r !== null) assert.ok(reasons.has(r), r);
      engine.receive(b, 0, b.length, meta4(0x0a000002, 0, ttl255 ? 255 : 254), n);
      engine.poll(n);
    }),
    { seed: 5880, numRuns: 100_000 },
  );
  const show = engine.show(n);
  const dropped = Object.values(show.drops).reduce((a, b) => a + b, 0);
  assert.equal(show.counters.rx, 100_000);
  assert.ok(dropped > 90_000, `dropped ${dropped}`);
  for (const k of Object.keys(show.drops)) assert.ok(reasons.has(k));
  assert.ok(show.drops.ttl > 0 && show.drops.auth > 0 && show.drops.version > 0 && show.drops.length > 0);
});
