// The engine over scripted sockets: the three-way handshake as a golden sequence (Down → Init → Up,
// the Poll Sequence that leaves the 1 s rate), timer negotiation, a peer's Poll answered with a
// Final, our own parameter change as a Poll Sequence, jitter bounds, detection time expiry and
// AdminDown, drops by reason, and the sockets (TTL 255, source port range).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '@nexthop/addr';
import {
  BFD_SOURCE_PORT_MAX,
  BFD_SOURCE_PORT_MIN,
  FLAG_F,
  FLAG_P,
  STATE_ADMIN_DOWN,
  STATE_DOWN,
  STATE_INIT,
  STATE_UP,
} from '../src/codec.ts';
import { BfdEngine, type BfdStateChange } from '../src/engine.ts';
import { describe, FakeBfdSockets, hashes, meta4, peerPacket, SeqRandom } from './fake.ts';

const PEER = parseIpv4('10.0.0.2');
const LOCAL = parseIpv4('10.0.0.1');
const PEER_DISC = 0x7777;

function setup(defaults = { desiredMinTx: 300, requiredMinRx: 300, detectMult: 3 }) {
  const sockets = new FakeBfdSockets();
  const states: string[] = [];
  const engine = new BfdEngine({
    name: 'bfd',
    sockets,
    config: { defaults, overrides: [] },
    random: new SeqRandom(42),
    hashes,
    onSessionState: (peer, ifName, from, to, diag) => states.push(`${peer}%${ifName} ${from}>${to} ${diag}`),
  });
  const told: string[] = [];
  const onState = (c: BfdStateChange, now: number) =>
    told.push(`${now} ${c.up ? 'up' : 'down'} diag ${c.diag}${c.adminDown ? ' admin' : ''}`);
  engine.start(0);
  const sub = engine.subscribe(
    { peer: PEER, local: LOCAL, ifIndex: 1, ifName: 'eth1' },
    { name: 'bgp', onState },
    0,
  );
  const local = () => engine.session(PEER, 1, 0)!.localDiscriminator;
  const feed = (
    state: number,
    now: number,
    extra: Parameters<typeof peerPacket>[0] | object = {},
    ttl = 255,
  ) => {
    const b = peerPacket({
      state,
      myDisc: PEER_DISC,
      yourDisc: state === STATE_DOWN ? 0 : local(),
      ...extra,
    });
    engine.receive(b, 0, b.length, meta4(PEER, 1, ttl), now);
  };
  return { sockets, engine, states, told, sub, feed, local };
}

test('engine: sockets — port 3784 for each family, a session socket at our address with a source port of 49152-65535, TTL 255, bound to the interface', () => {
  const { sockets, engine } = setup();
  const log = sockets.log.join('\n');
  assert.match(log, /bind 3 0\.0\.0\.0:3784/);
  assert.match(log, /IPV6_V6ONLY 4 1\nbind 4 \[::\]:3784/);
  assert.match(log, /IP_TTL 5 255\nSO_BINDTODEVICE 5 eth1\nbind 5 10\.0\.0\.1:(\d+)/);
  const port = engine.session(PEER, 1, 0)!.sourcePort;
  assert.ok(port >= BFD_SOURCE_PORT_MIN && port <= BFD_SOURCE_PORT_MAX);
  const first = sockets.take();
  assert.equal(first.length, 0, 'nothing before the first poll');
  engine.poll(0);
  const [p] = sockets.take();
  assert.deepEqual([p!.to, p!.port, p!.src, p!.oif, p!.fd], ['10.0.0.2', 3784, '10.0.0.1', 1, 5]);
});

test('engine: golden sequence — Down (1 s rate) → Init → Up, a Poll Sequence to 300 ms, the client told; silence: Down after the detection time', () => {
  const { sockets, engine, states, told, feed, local } = setup();
  const out: string[] = [];
  const take = () => {
    for (const s of sockets.take())
      out.push(`${s.at} ${describe(s.packet)} your ${s.packet.yourDisc === 0 ? 0 : 'peer'}`);
  };
  const next = engine.poll(0);
  take();
  assert.ok(next >= 750 && next <= 1000, `the slow rate while Down, jittered: ${next}`);
  engine.poll(next);
  take();
  // The peer's Down: we go Init (at once), its Init: we go Up and start a Poll Sequence.
  feed(STATE_DOWN, 1500);
  take();
  feed(STATE_INIT, 1510);
  take();
  assert.deepEqual(told, ['1510 up diag 0']);
  // The peer answers our Poll with a Final (Up, F).
  feed(STATE_UP, 1520, { flags: FLAG_F, desiredMinTx: 300_000 });
  take();
  const show = engine.session(PEER, 1, 1520)!;
  assert.equal(show.state, 'Up');
  assert.equal(show.pollActive, false);
  assert.equal(show.txIntervalMs, 300);
  assert.equal(show.detectionTimeMs, 900, '3 × max(300, 300)');
  assert.equal(show.remoteDiscriminator, PEER_DISC);
  assert.equal(show.localDiscriminator, local());
  assert.deepEqual(out, [
    '0 Down diag 0 tx 1000 rx 300 mult 3 your 0',
    `${next} Down diag 0 tx 1000 rx 300 mult 3 your 0`,
    '1500 Init diag 0 tx 1000 rx 300 mult 3 your peer',
    '1510 Up P diag 0 tx 300 rx 300 mult 3 your peer',
  ]);
  // Up at 300 ms: packets every 225-300 ms, no P now.
  let t = 1520;
  const at: number[] = [];
  for (let i = 0; i < 20; i++) {
    t = engine.poll(t);
    for (const s of sockets.take()) {
      at.push(s.at);
      assert.equal(describe(s.packet), 'Up diag 0 tx 300 rx 300 mult 3');
    }
    if (t > 3000) break;
    feed(STATE_UP, t, { desiredMinTx: 300_000 });
  }
  for (let i = 1; i < at.length; i++) {
    const gap = at[i]! - at[i - 1]!;
    assert.ok(gap >= 225 - 1e-9 && gap <= 300, `jitter within 0-25 %: ${gap}`);
  }
  // Silence: the detection time (900 ms after the last packet) takes it Down, diag 1.
  const last = t;
  let now = t;
  for (;;) {
    const n = engine.poll(now);
    if (engine.session(PEER, 1, now)!.state !== 'Up') break;
    now = n;
  }
  assert.ok(
    now - last <= 900 + 1e-9 && now - last >= 900 - 300,
    `down ${now - last} ms after the last packet`,
  );
  assert.deepEqual(told, ['1510 up diag 0', `${now} down diag 1`]);
  const after = engine.session(PEER, 1, now)!;
  assert.deepEqual(
    [after.state, after.diagnostic, after.remoteDiscriminator, after.desiredMinTxMs],
    ['Down', 'control-detection-time-expired', 0, 1000],
  );
  const downPkt = sockets.take().at(-1);
  assert.equal(describe(downPkt!.packet), 'Down diag 1 tx 1000 rx 300 mult 3');
  assert.equal(downPkt!.packet.yourDisc, 0);
  assert.deepEqual(states, [
    '10.0.0.2%eth1 Down>Init none',
    '10.0.0.2%eth1 Init>Up none',
    '10.0.0.2%eth1 Up>Down control-detection-time-expired',
  ]);
});

function upSession() {
  const x = setup();
  x.engine.poll(0);
  x.feed(STATE_DOWN, 10);
  x.feed(STATE_INIT, 20);
  x.feed(STATE_UP, 30, { flags: FLAG_F, desiredMinTx: 300_000 });
  x.sockets.take();
  return x;
}

test('engine: timer negotiation — the peer’s slower Required Min RX sets our interval; its Desired Min TX and multiplier the detection time', () => {
  const { engine, feed } = upSession();
  feed(STATE_UP, 40, { requiredMinRx: 500_000, desiredMinTx: 700_000, detectMult: 5 });
  const s = engine.session(PEER, 1, 40)!;
  assert.equal(s.txIntervalMs, 500);
  assert.equal(s.detectionTimeMs, 3500, '5 × max(300, 700)');
  // A peer asking for no packets at all (Required Min RX 0) gets none.
  feed(STATE_UP, 50, { requiredMinRx: 0 });
  assert.equal(engine.session(PEER, 1, 50)!.txIntervalMs, 0);
});

test('engine: the peer’s Poll is answered at once with a Final; a change of ours is a Poll Sequence using the larger values until the Final', () => {
  const { engine, sockets, feed } = upSession();
  feed(STATE_UP, 100, { flags: FLAG_P, desiredMinTx: 50_000 });
  const [f] = sockets.take();
  assert.equal(f!.at, 100);
  assert.equal(describe(f!.packet), 'Up F diag 0 tx 300 rx 300 mult 3');
  // Ours: 300 → 100 ms both ways. P set, the old (larger) values used until the Final.
  engine.reconfigure(
    { defaults: { desiredMinTx: 100, requiredMinRx: 100, detectMult: 3 }, overrides: [] },
    200,
  );
  const [p] = sockets.take();
  assert.equal(describe(p!.packet), 'Up P diag 0 tx 100 rx 100 mult 3');
  let s = engine.session(PEER, 1, 200)!;
  assert.deepEqual([s.pollActive, s.txIntervalMs, s.detectionTimeMs], [true, 300, 900]);
  // Periodic packets carry P until the Final.
  const t = engine.poll(200);
  engine.poll(t);
  assert.ok(sockets.take().every((x) => x.packet.poll));
  feed(STATE_UP, t + 1, { flags: FLAG_F, desiredMinTx: 100_000, requiredMinRx: 100_000 });
  s = engine.session(PEER, 1, t + 1)!;
  assert.deepEqual([s.pollActive, s.txIntervalMs, s.detectionTimeMs], [false, 100, 300]);
  assert.equal(s.counters.pollSequences, 2, 'going Up, and this one');
});

test('engine: the peer signals Down (diag 3) or AdminDown (the client told it is administrative)', () => {
  const a = upSession();
  a.feed(STATE_DOWN, 100, { diag: 1 });
  assert.equal(a.engine.session(PEER, 1, 100)!.state, 'Down');
  assert.equal(a.engine.session(PEER, 1, 100)!.diagnostic, 'neighbor-signaled-session-down');
  assert.deepEqual(a.told, ['20 up diag 0', '100 down diag 3']);
  const b = upSession();
  b.feed(STATE_ADMIN_DOWN, 100, { diag: 7 });
  assert.deepEqual(b.told, ['20 up diag 0', '100 down diag 3 admin']);
  assert.equal(b.sub.up, false);
});

test('engine: drops — TTL other than 255, an unknown Your Discriminator, a packet from the wrong interface, an A bit we do not expect', () => {
  const { engine, feed, local } = upSession();
  feed(STATE_UP, 100, {}, 254);
  const wrongDisc = peerPacket({ state: STATE_UP, myDisc: PEER_DISC, yourDisc: local() + 1 });
  engine.receive(wrongDisc, 0, 24, meta4(PEER, 1), 100);
  const otherIf = peerPacket({ state: STATE_UP, myDisc: PEER_DISC, yourDisc: local() });
  engine.receive(otherIf, 0, 24, meta4(PEER, 2), 100);
  const unknownPeer = peerPacket({ state: STATE_DOWN, myDisc: 5 });
  engine.receive(unknownPeer, 0, 24, meta4(PEER + 1, 1), 100);
  const withA = new Uint8Array(40);
  withA.set(peerPacket({ state: STATE_UP, myDisc: PEER_DISC, yourDisc: local(), flags: 0x04 }));
  withA[3] = 33;
  withA.set([1, 9, 1], 24);
  engine.receive(withA, 0, 33, meta4(PEER, 1), 100);
  const d = engine.show(100).drops;
  assert.deepEqual([d.ttl, d.yourDiscriminator, d.session, d.auth], [1, 1, 2, 1]);
  assert.equal(engine.session(PEER, 1, 100)!.state, 'Up');
});

test('engine: keyed SHA1 between two engines — Up with authentication; a wrong key keeps it Down (drops: auth)', () => {
  const key = new TextEncoder().encode('bfd-key');
  const mk = (seed: number, k: Uint8Array) =>
    new BfdEngine({
      name: 'bfd',
      sockets: new FakeBfdSockets(),
      config: {
        defaults: {
          desiredMinTx: 100,
          requiredMinRx: 100,
          detectMult: 3,
          auth: { type: 'meticulous-sha1', keyId: 1, key: k },
        },
        overrides: [],
      },
      random: new SeqRandom(seed),
      hashes,
    });
  for (const [kb, want] of [
    [key, 'Up'],
    [new TextEncoder().encode('other'), 'Down'],
  ] as const) {
    const a = mk(1, key);
    const b = mk(2, kb);
    a.start(0);
    b.start(0);
    a.subscribe(
      { peer: PEER, local: LOCAL, ifIndex: 1, ifName: 'eth1' },
      { name: 'x', onState: () => {} },
      0,
    );
    b.subscribe(
      { peer: LOCAL, local: PEER, ifIndex: 1, ifName: 'eth1' },
      { name: 'x', onState: () => {} },
      0,
    );
    const sa = (a as unknown as { sockets: FakeBfdSockets }).sockets;
    const sb = (b as unknown as { sockets: FakeBfdSockets }).sockets;
    let now = 0;
    for (let i = 0; i < 200 && now < 10_000; i++) {
      now = Math.min(a.poll(now), b.poll(now));
      for (const s of sa.take()) b.receive(s.bytes, 0, s.bytes.length, meta4(LOCAL, 1), s.at + 1);
      for (const s of sb.take()) a.receive(s.bytes, 0, s.bytes.length, meta4(PEER, 1), s.at + 1);
    }
    assert.equal(a.session(PEER, 1, now)!.state, want);
    assert.equal(a.session(PEER, 1, now)!.auth, 'meticulous-sha1 key 1');
    if (want === 'Down') assert.ok(a.show(now).drops.auth > 0);
  }
});

test('engine: subscriptions — two clients share one session; the last to go takes it away with AdminDown; overrides by peer and interface', () => {
  const sockets = new FakeBfdSockets();
  const engine = new BfdEngine({
    name: 'bfd',
    sockets,
    config: {
      defaults: { desiredMinTx: 300, requiredMinRx: 300, detectMult: 3 },
      overrides: [
        { interface: 'eth1', params: { detectMult: 5 } },
        { peer: PEER, interface: 'eth1', params: { requiredMinRx: 50 } },
        { peer: PEER, params: { requiredMinRx: 70, desiredMinTx: 70 } },
      ],
    },
    random: new SeqRandom(3),
  });
  engine.start(0);
  const req = { peer: PEER, local: LOCAL, ifIndex: 1, ifName: 'eth1' };
  const a = engine.subscribe(req, { name: 'bgp', onState: () => {} }, 0);
  const b = engine.subscribe(req, { name: 'ospf', onState: () => {} }, 0);
  const s = engine.session(PEER, 1, 0)!;
  assert.deepEqual(s.clients, ['bgp', 'ospf']);
  assert.deepEqual([s.detectMultiplier, s.requiredMinRxMs, s.desiredMinTxMs], [5, 50, 1000]);
  engine.poll(0);
  sockets.take();
  a.unsubscribe(1);
  assert.deepEqual(engine.session(PEER, 1, 1)!.clients, ['ospf']);
  b.unsubscribe(2);
  assert.equal(engine.session(PEER, 1, 2), undefined);
  const [last] = sockets.take();
  assert.equal(last!.packet.state, STATE_ADMIN_DOWN);
  assert.equal(last!.packet.diag, 7);
  assert.match(sockets.log.join('\n'), /close 5/);
  assert.equal(engine.show(2).sessions.length, 0);
  void STATE_INIT;
  void STATE_UP;
});
