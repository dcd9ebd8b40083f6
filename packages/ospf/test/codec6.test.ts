// OSPFv3 codecs (RFC 5340 §A.3, §A.4) under random input: 10^5 random and mutated packets (fast-check,
// fixed seed) through every decoder — the header, Hello, DD, LSR, LSU with LSAs of every type and
// their bodies, LSAck — and through the engine's door (receive6), which counts each one it drops by
// reason and never throws.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4, parseIpv6 } from '@nexthop/addr';
import fc from 'fast-check';
import {
  buildLsa,
  DD_I,
  DD_M,
  DD_MS,
  decodeBody6,
  decodeDd6,
  decodeHeader6,
  decodeHello6,
  decodeLsAck,
  decodeLsr,
  decodeLsu,
  encodeDdFixed6,
  encodeExternal6Body,
  encodeHello6,
  encodeIntraPrefixBody,
  encodeLinkBody,
  encodeNetwork6Body,
  encodeRouter6Body,
  finishPacket6,
  HEADER6_LENGTH,
  LINK_P2P,
  LSA6_EXTERNAL,
  LSA6_INTRA_PREFIX,
  LSA6_LINK,
  LSA6_NETWORK,
  LSA6_ROUTER,
  Lsa,
  OPT6_E,
  OPT6_R,
  OPT6_V6,
  type OspfConfig,
  OspfEngine,
  PT_DD,
  PT_HELLO,
  PT_LSACK,
  PT_LSR,
  PT_LSU,
} from '../src/index.ts';
import { MapSink } from './sim-world.ts';

const RID = parseIpv4('2.2.2.2');
const OPTS = OPT6_V6 | OPT6_E | OPT6_R;
const P = (a: string, length: number) => ({ address: parseIpv6(a), length, options: 0, metric: 10 });

/** One LSA of each type the engine knows, and one it does not (kept opaque). */
function lsas6(): Uint8Array[] {
  const seq = -0x7fffffff;
  return [
    buildLsa(
      LSA6_ROUTER,
      0,
      RID,
      seq,
      0,
      encodeRouter6Body(0, OPTS, [
        { type: LINK_P2P, metric: 10, ifaceId: 1, nbrIfaceId: 2, nbrRouterId: parseIpv4('1.1.1.1') },
      ]),
      true,
    ),
    buildLsa(LSA6_NETWORK, 1, RID, seq, 0, encodeNetwork6Body(OPTS, [RID, parseIpv4('1.1.1.1')]), true),
    buildLsa(
      LSA6_LINK,
      1,
      RID,
      seq,
      0,
      encodeLinkBody(1, OPTS, parseIpv6('fe80::2'), [P('2001:db8::', 64)]),
      true,
    ),
    buildLsa(
      LSA6_INTRA_PREFIX,
      0,
      RID,
      seq,
      0,
      encodeIntraPrefixBody(LSA6_ROUTER, 0, RID, [P('2001:db8:1::', 64), P('2001:db8:2::', 48)]),
      true,
    ),
    buildLsa(LSA6_EXTERNAL, 7, RID, seq, 0, encodeExternal6Body(true, 20, P('2001:db8:64::', 48), 0), true),
    buildLsa(0xa00f, 9, RID, seq, 0, Uint8Array.of(1, 2, 3, 4), true),
  ];
}

function validPackets6(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const lsas = lsas6();
  const mk = (type: number, body: (b: Uint8Array) => number) => {
    const b = new Uint8Array(1500);
    const len = body(b);
    out.push(b.slice(0, finishPacket6(b, 0, type, len, RID, 0, 0)));
  };
  mk(PT_HELLO, (b) =>
    encodeHello6(b, 0, {
      mask: 0,
      ifaceId: 2,
      helloInterval: 1,
      options: OPTS,
      priority: 1,
      deadInterval: 4,
      dr: 0,
      bdr: 0,
      neighbors: [parseIpv4('1.1.1.1')],
    }),
  );
  mk(PT_DD, (b) => {
    let len = encodeDdFixed6(b, 0, 1500, OPTS, DD_I | DD_M | DD_MS, 77);
    for (const l of lsas) {
      b.set(l.subarray(0, 20), len);
      len += 20;
    }
    return len;
  });
  mk(PT_LSR, (b) => {
    let len = HEADER6_LENGTH;
    for (const l of lsas) {
      b.set(Uint8Array.of(0, 0, l[2]!, l[3]!), len);
      b.set(l.subarray(4, 12), len + 4);
      len += 12;
    }
    return len;
  });
  mk(PT_LSU, (b) => {
    let len = HEADER6_LENGTH + 4;
    b.set(Uint8Array.of(0, 0, 0, lsas.length), HEADER6_LENGTH);
    for (const l of lsas) {
      b.set(l, len);
      len += l.length;
    }
    return len;
  });
  mk(PT_LSACK, (b) => {
    let len = HEADER6_LENGTH;
    for (const l of lsas) {
      b.set(l.subarray(0, 20), len);
      len += 20;
    }
    return len;
  });
  return out;
}

/** Every decoder the packet reaches: 'ok' or the reason it was refused. */
function decodeAll6(b: Uint8Array, len: number): string {
  const h = decodeHeader6(b, 0, len, 0);
  if (typeof h === 'string') return h;
  switch (h.type) {
    case PT_HELLO: {
      const r = decodeHello6(b, 0, h.length);
      return typeof r === 'string' ? r : 'ok';
    }
    case PT_DD: {
      const r = decodeDd6(b, 0, h.length);
      return typeof r === 'string' ? r : 'ok';
    }
    case PT_LSR: {
      const r = decodeLsr(b, 0, h.length, HEADER6_LENGTH);
      return typeof r === 'string' ? r : 'ok';
    }
    case PT_LSACK: {
      const r = decodeLsAck(b, 0, h.length, true);
      return typeof r === 'string' ? r : 'ok';
    }
    default: {
      const r = decodeLsu(b, 0, h.length, true);
      if (typeof r === 'string') return r;
      for (const [o, l] of r.lsas) {
        if (decodeBody6(b, o, l) === null) return 'lsa_body';
        // As the engine keeps it: the bytes copied, the body decoded when SPF asks.
        const bytes = b.slice(o, o + l);
        new Lsa(bytes, (bytes[0]! << 8) | bytes[1]!, 0, true).body();
      }
      return 'ok';
    }
  }
}

test('OSPFv3: valid packets of every type decode back', () => {
  for (const [i, p] of validPackets6().entries()) assert.equal(decodeAll6(p, p.length), 'ok', `packet ${i}`);
  const lsu = decodeLsu(validPackets6()[3]!, 0, validPackets6()[3]!.length, true);
  assert.ok(typeof lsu !== 'string');
  assert.equal(lsu.lsas.length, 6);
});

/** A packet: random bytes (a third with version 3), or a valid one with bytes changed and cut. */
const packet6 = (valid: readonly Uint8Array[]) =>
  fc.oneof(
    fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.boolean()).map(([b, v3]) => {
      if (v3 && b.length > 0) b[0] = 3;
      return b;
    }),
    fc
      .record({
        src: fc.nat({ max: valid.length - 1 }),
        flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        cut: fc.option(fc.nat()),
        // Keep the header's length field right, so that more mutations reach the body decoders.
        fixLength: fc.boolean(),
      })
      .map(({ src, flips, cut, fixLength }) => {
        let b = valid[src]!.slice();
        for (const [pos, v] of flips) b[pos % b.length] = v;
        if (cut !== null) b = b.subarray(0, cut % (b.length + 1));
        if (fixLength && b.length >= 4) {
          b[2] = b.length >> 8;
          b[3] = b.length & 255;
        }
        return b;
      }),
  );

test('OSPFv3: 10^5 random and mutated packets never throw; refusals by reason', () => {
  const reasons: Record<string, number> = {};
  fc.assert(
    fc.property(packet6(validPackets6()), (b) => {
      const r = decodeAll6(b, b.length);
      reasons[r] = (reasons[r] ?? 0) + 1;
    }),
    { seed: 0x5340, numRuns: 100_000 },
  );
  for (const k of [
    'bad_length',
    'bad_version',
    'bad_type',
    'bad_instance',
    'lsa_checksum',
    'lsa_length',
    'ok',
  ])
    assert.ok((reasons[k] ?? 0) > 0, `${k}: ${JSON.stringify(reasons)}`);
});

/** Sockets that send nowhere and never receive. */
const fakeSockets = {
  socket: () => 3,
  close: () => 0,
  bind: () => 0,
  bind6: () => 0,
  setOption: () => 0,
  sendTo: (_fd: number, _b: Uint8Array, _o: number, len: number) => len,
  sendTo6: (_fd: number, _b: Uint8Array, _o: number, len: number) => len,
  recvFrom: () => -11,
};

test('OSPFv3: the engine takes 10^5 random and mutated packets without throwing, each counted', () => {
  const config: OspfConfig = {
    version: 3,
    routerId: parseIpv4('1.1.1.1'),
    areas: [
      {
        id: 0,
        interfaces: [
          {
            name: 'eth0',
            ifIndex: 0,
            address: 0,
            prefixLength: 0,
            type: 'broadcast',
            cost: 10,
            priority: 1,
            helloInterval: 1,
            deadInterval: 4,
            retransmitInterval: 2,
            transmitDelay: 1,
            passive: false,
            auth: { type: 'none' },
            mtu: 1500,
            linkLocal: parseIpv6('fe80::1'),
            prefixes: [{ address: parseIpv6('2001:db8::'), length: 64 }],
          },
        ],
      },
    ],
    externals: [],
    spfDelay: 50,
    spfHold: 200,
  };
  const e = new OspfEngine({ name: 'x', sockets: fakeSockets, sink: new MapSink(), config });
  e.start(0);
  const src = parseIpv6('fe80::2');
  const srcs = [src, parseIpv6('2001:db8::2')];
  const dsts = [parseIpv6('ff02::5'), parseIpv6('ff02::6'), parseIpv6('fe80::1'), parseIpv6('ff02::1')];
  let n = 0;
  let now = 10;
  fc.assert(
    fc.property(packet6(validPackets6()), fc.nat({ max: 15 }), (b, pick) => {
      n++;
      now += 1;
      // Mostly from the neighbour to AllSPFRouters; sometimes from a global source or to other groups.
      const s = pick < 13 ? src : srcs[1]!;
      const d = dsts[pick < 12 ? 0 : pick % dsts.length]!;
      e.receive6(b, b.length, pick === 15 ? 9 : 0, s, d, now);
      if (n % 1000 === 0) e.poll(now);
    }),
    { seed: 0x2080, numRuns: 100_000 },
  );
  const c = e.show(now).counters;
  const sum = (m: Record<string, number>) => Object.values(m).reduce((x, y) => x + y, 0);
  // Each packet is either dropped at the door or handed to its type's handler (rx), which may drop it too.
  assert.ok(sum(c.rx) + sum(c.drops) >= n, JSON.stringify(c));
  for (const k of ['bad_version', 'bad_length', 'bad_instance', 'bad_source', 'unknown_interface'])
    assert.ok((c.drops[k] ?? 0) > 0, `${k}: ${JSON.stringify(c.drops)}`);
  assert.ok((c.rx['hello'] ?? 0) > 0, JSON.stringify(c.rx));
});
