// Codecs: the Fletcher checksum (RFC 2328 §12.1.7, RFC 905 Annex B), packets built and decoded
// back, 10^5 random and mutated packets per run that never throw (fixed seed), and drops counted by
// reason at the engine's door.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '@nexthop/addr';
import {
  buildLsa,
  checkLsa,
  compareInstances,
  decodeBody,
  decodeDd,
  decodeHeader,
  decodeHello,
  decodeLsAck,
  decodeLsr,
  decodeLsu,
  encodeDdFixed,
  encodeExternalBody,
  encodeHello,
  encodeLsrEntry,
  encodeNetworkBody,
  encodeRouterBody,
  encodeSummaryBody,
  finishPacket,
  LSA_EXTERNAL,
  LSA_NETWORK,
  LSA_ROUTER,
  LSA_SUMMARY_NET,
  lsaChecksum,
  lsaChecksumOk,
  type OspfAuth,
  OspfEngine,
  PT_DD,
  PT_HELLO,
  PT_LSACK,
  PT_LSR,
  PT_LSU,
} from '../src/index.ts';
import { engineConfig, MapSink, md5 } from './sim-world.ts';

const NONE: OspfAuth = { type: 'none' };
const MD5: OspfAuth = { type: 'md5', keyId: 7, key: new Uint8Array(16).fill(0x61) };

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const routerLsa = () =>
  buildLsa(
    LSA_ROUTER,
    parseIpv4('1.1.1.1'),
    parseIpv4('1.1.1.1'),
    -0x7fffffff,
    2,
    encodeRouterBody(2, [
      { id: parseIpv4('10.0.0.2'), data: parseIpv4('10.0.0.1'), type: 2, metric: 10 },
      { id: parseIpv4('10.1.0.0'), data: parseIpv4('255.255.255.0'), type: 3, metric: 10 },
    ]),
  );

test('Fletcher checksum: what we compute verifies, any changed byte past the age does not', () => {
  const lsas = [
    routerLsa(),
    buildLsa(
      LSA_NETWORK,
      parseIpv4('10.0.0.2'),
      parseIpv4('2.2.2.2'),
      5,
      2,
      encodeNetworkBody(0xffffff00, [1, 2, 3]),
    ),
    buildLsa(LSA_SUMMARY_NET, parseIpv4('10.5.0.0'), 9, 0x7ffffffe, 2, encodeSummaryBody(0xffff0000, 30)),
    buildLsa(LSA_EXTERNAL, parseIpv4('192.168.0.0'), 9, 1, 2, encodeExternalBody(0xffffff00, true, 20, 0, 0)),
  ];
  for (const l of lsas) {
    assert.ok(lsaChecksumOk(l, 0, l.length));
    const stored = (l[16]! << 8) | l[17]!;
    assert.equal(lsaChecksum(l, 0, l.length), stored);
    // The age is not covered.
    l[0] = 0x0e;
    l[1] = 0x10;
    assert.ok(lsaChecksumOk(l, 0, l.length));
    for (let i = 2; i < l.length; i++) {
      const c = l.slice();
      c[i] = c[i]! ^ 0x5a;
      assert.equal(lsaChecksumOk(c, 0, c.length), false, `byte ${i}`);
    }
  }
  // A known vector: RFC 905's algorithm by hand for the router LSA above (both sums zero).
  const l = routerLsa();
  let c0 = 0;
  let c1 = 0;
  for (let i = 2; i < l.length; i++) {
    c0 = (c0 + l[i]!) % 255;
    c1 = (c1 + c0) % 255;
  }
  assert.deepEqual([c0, c1], [0, 0]);
});

test('instances compare by sequence, checksum, MaxAge, then age difference (RFC 2328 §13.1)', () => {
  assert.equal(compareInstances(5, 1, 10, 4, 9, 10), 1);
  assert.equal(compareInstances(5, 1, 10, 5, 9, 10), -1);
  assert.equal(compareInstances(5, 9, 3600, 5, 9, 10), 1);
  assert.equal(compareInstances(5, 9, 10, 5, 9, 1000), 1);
  assert.equal(compareInstances(5, 9, 10, 5, 9, 800), 0);
});

/** Valid packets of each type, with null and MD5 authentication. */
function validPackets(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const auth of [NONE, MD5]) {
    const mk = (type: number, fill: (b: Uint8Array) => number) => {
      const b = new Uint8Array(2000);
      const len = fill(b);
      const n = finishPacket(b, 0, type, len, parseIpv4('2.2.2.2'), 0, auth, md5, 1234);
      out.push(b.slice(0, n));
    };
    mk(PT_HELLO, (b) =>
      encodeHello(b, 0, {
        mask: 0xffffff00,
        helloInterval: 10,
        options: 2,
        priority: 1,
        deadInterval: 40,
        dr: parseIpv4('10.0.0.2'),
        bdr: 0,
        neighbors: [parseIpv4('1.1.1.1'), parseIpv4('3.3.3.3')],
      }),
    );
    mk(PT_DD, (b) => {
      let len = encodeDdFixed(b, 0, 1500, 2, 7, 99);
      const l = routerLsa();
      b.set(l.subarray(0, 20), len);
      len += 20;
      return len;
    });
    mk(PT_LSR, (b) => {
      encodeLsrEntry(b, 24, { type: 1, id: 1, adv: 1 });
      return 36;
    });
    mk(PT_LSU, (b) => {
      const l = routerLsa();
      b[27] = 1;
      b.set(l, 28);
      return 28 + l.length;
    });
    mk(PT_LSACK, (b) => {
      b.set(routerLsa().subarray(0, 20), 24);
      return 44;
    });
  }
  return out;
}

function decodeAll(b: Uint8Array, len: number, auth: OspfAuth): string {
  const h = decodeHeader(b, 0, len, auth, md5);
  if (typeof h === 'string') return h;
  const body =
    h.type === PT_HELLO
      ? decodeHello(b, 0, h.length)
      : h.type === PT_DD
        ? decodeDd(b, 0, h.length)
        : h.type === PT_LSR
          ? decodeLsr(b, 0, h.length)
          : h.type === PT_LSU
            ? decodeLsu(b, 0, h.length)
            : decodeLsAck(b, 0, h.length);
  if (typeof body === 'string') return body;
  if (h.type === PT_LSU && !Array.isArray(body) && 'lsas' in body)
    for (const [o, l] of body.lsas) if (decodeBody(b, o, l) === null) return 'lsa_body';
  return 'ok';
}

test('valid packets decode back', () => {
  const pkts = validPackets();
  for (const [i, p] of pkts.entries())
    assert.equal(decodeAll(p, p.length, i < 5 ? NONE : MD5), 'ok', `packet ${i}`);
  const hello = decodeHello(pkts[0]!, 0, pkts[0]!.length);
  assert.ok(typeof hello !== 'string');
  assert.deepEqual(hello.neighbors, [parseIpv4('1.1.1.1'), parseIpv4('3.3.3.3')]);
  const lsu = decodeLsu(pkts[3]!, 0, pkts[3]!.length);
  assert.ok(typeof lsu !== 'string');
  assert.equal(checkLsa(pkts[3]!, lsu.lsas[0]![0], lsu.lsas[0]![1]), lsu.lsas[0]![1]);
});

test('10^5 random and mutated packets never throw; drops by reason', () => {
  const next = rng(0x05f2328);
  const valid = validPackets();
  const reasons: Record<string, number> = {};
  for (let i = 0; i < 100_000; i++) {
    let b: Uint8Array;
    const pick = i % 4;
    if (pick === 0) {
      b = new Uint8Array(Math.floor(next() * 300));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(next() * 256);
      if (b.length > 0 && next() < 0.5) b[0] = 2;
    } else {
      const src = valid[Math.floor(next() * valid.length)]!;
      b = src.slice();
      const flips = 1 + Math.floor(next() * 3);
      for (let k = 0; k < flips; k++) b[Math.floor(next() * b.length)] = Math.floor(next() * 256);
      if (pick === 2) b = b.subarray(0, Math.floor(next() * b.length));
      if (pick === 3) {
        // Recompute the checksum so that the mutation reaches the body decoders.
        if (b.length >= 24 && b[14] === 0 && b[15] === 0) {
          const len = Math.min(b.length, (b[2]! << 8) | b[3]!);
          if (len >= 24)
            finishPacket(
              b,
              0,
              b[1]!,
              len,
              (b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!,
              0,
              NONE,
              null,
              0,
            );
        }
      }
    }
    const r = decodeAll(b, b.length, i % 2 === 0 ? NONE : MD5);
    reasons[r] = (reasons[r] ?? 0) + 1;
  }
  for (const k of ['bad_length', 'bad_version', 'bad_checksum', 'bad_auth', 'bad_auth_type', 'ok'])
    assert.ok((reasons[k] ?? 0) > 0, `${k}: ${JSON.stringify(reasons)}`);
});

/** Fake sockets: nothing sent anywhere, nothing to receive. */
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

test('the engine counts drops by reason: version, area, checksum, own router id, not on link, authentication', () => {
  const cfg = engineConfig({ name: 'x', routerId: '1.1.1.1', interfaces: [{ addr: '10.0.0.1/24' }] });
  const e = new OspfEngine({ name: 'x', sockets: fakeSockets, sink: new MapSink(), config: cfg, md5 });
  e.start(0);
  const ip = (p: Uint8Array, src: string, dst = '224.0.0.5') => {
    const b = new Uint8Array(20 + p.length);
    b[0] = 0x45;
    b[8] = 1;
    b[9] = 89;
    const s = parseIpv4(src);
    const d = parseIpv4(dst);
    for (let i = 0; i < 4; i++) {
      b[12 + i] = (s >>> (24 - 8 * i)) & 255;
      b[16 + i] = (d >>> (24 - 8 * i)) & 255;
    }
    b.set(p, 20);
    return b;
  };
  const hello = (rid: string, area = 0) => {
    const b = new Uint8Array(200);
    const len = encodeHello(b, 0, {
      mask: 0xffffff00,
      helloInterval: 1,
      options: 2,
      priority: 1,
      deadInterval: 4,
      dr: 0,
      bdr: 0,
      neighbors: [],
    });
    return b.slice(0, finishPacket(b, 0, PT_HELLO, len, parseIpv4(rid), area, NONE, null, 0));
  };
  const send = (p: Uint8Array, src = '10.0.0.2', dst?: string) => {
    const b = ip(p, src, dst);
    e.receive(b, b.length, 0, 10);
  };
  send(hello('2.2.2.2'));
  const v3 = hello('2.2.2.2');
  v3[0] = 3;
  send(v3);
  send(hello('2.2.2.2', 5));
  const bad = hello('2.2.2.2');
  bad[30] = bad[30]! ^ 1;
  send(bad);
  send(hello('1.1.1.1'));
  send(hello('2.2.2.2'), '192.168.0.9');
  send(hello('2.2.2.2'), '10.0.0.2', '224.0.0.6');
  const md5Hello = new Uint8Array(200);
  const len = encodeHello(md5Hello, 0, {
    mask: 0xffffff00,
    helloInterval: 1,
    options: 2,
    priority: 1,
    deadInterval: 4,
    dr: 0,
    bdr: 0,
    neighbors: [],
  });
  send(md5Hello.slice(0, finishPacket(md5Hello, 0, PT_HELLO, len, parseIpv4('2.2.2.2'), 0, MD5, md5, 1)));
  e.receive(ip(hello('2.2.2.2'), '10.0.0.2'), 60, 7, 10);
  const d = e.show(10).counters.drops;
  assert.deepEqual(
    { ...d },
    {
      bad_version: 1,
      bad_area: 1,
      bad_checksum: 1,
      own_router_id: 1,
      not_on_link: 1,
      not_dr_or_backup: 1,
      bad_auth_type: 1,
      unknown_interface: 1,
    },
  );
  assert.equal(e.show(10).counters.rx.hello, 1);
  assert.deepEqual(
    e.neighbors(10).map((n) => `${n.routerId} ${n.state}`),
    ['2.2.2.2 Init'],
  );
});
