// The stack's secrets and random choices (issue 9): ISNs, ephemeral ports and timestamp offsets an
// off-path attacker cannot predict, SYN-cookie keys replaced every period, and RFC 5961 §7
// challenge ACKs limited per connection and by a randomised global budget.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TCP_ACK, TCP_RST, TCP_SYN } from '@nexthop/wire';
import {
  EPHEMERAL_FIRST,
  EPHEMERAL_LAST,
  type RandomSource,
  SeededRandom,
  SockAddr,
  Stack,
} from '../src/index.ts';
import { COOKIE_PERIOD, type TcpConfig, type TcpConnection, type TcpListener } from '../src/tcp/index.ts';
import { A_IP, B_IP, Capture, rig } from './harness.ts';
import { A, B, Host } from './tcp-harness.ts';

const PLAIN: Partial<TcpConfig> = { timestamps: false, sack: false, windowScaling: false };
const IRS = 5000;
const PEER = 2222;

/** Our ISN when the engine answers a SYN from B:srcPort to port 80 (the SYN-ACK's sequence number). */
function isnAnswering(h: Host, srcPort: number, now: number): number {
  h.input({ srcPort, dstPort: 80, seq: 1, flags: TCP_SYN, mss: 1460 }, B, now);
  const sa = h.take();
  assert.equal(sa.length, 1);
  assert.equal(sa[0]!.flags, 'S.');
  return sa[0]!.seq;
}

function listening(seed: number, config: Partial<TcpConfig> = PLAIN): Host {
  const h = new Host(A, seed, config);
  h.engine.listen(0, 80, 64);
  return h;
}

function distinctDifferences(ports: number[]): number {
  const d = new Set<number>();
  for (let i = 1; i < ports.length; i++) d.add(ports[i]! - ports[i - 1]!);
  return d.size;
}

describe('ISNs (RFC 6528)', () => {
  test('two stacks with different secrets give unrelated ISNs for the same 4-tuples; the same secrets reproduce them', () => {
    const isns = (seed: number) => {
      const h = listening(seed);
      const out: number[] = [];
      for (let p = 1000; p < 1016; p++) out.push(isnAnswering(h, p, 0));
      return out;
    };
    const one = isns(1);
    const two = isns(2);
    assert.deepEqual(isns(1), one, 'same secrets, same ISNs');
    for (let i = 0; i < one.length; i++) assert.notEqual(one[i], two[i]);
    // Not one offset apart either: the key is in the hash, not added to it.
    const offsets = new Set(one.map((x, i) => (x - two[i]!) >>> 0));
    assert.equal(offsets.size, one.length);
  });

  test('a Stack needs a random source or a seed, never both, and never neither', () => {
    const cap = new Capture();
    assert.throws(() => new Stack({ output: cap }), /random/);
    assert.throws(() => new Stack({ output: cap, seed: 1, random: new SeededRandom(1) }), /random/);
    // Any source will do, and the stack draws its keys from it.
    let draws = 0;
    const counting: RandomSource = {
      next32: () => {
        draws++;
        return Math.imul(draws, 0x9e3779b1) >>> 0;
      },
    };
    const s = new Stack({ output: cap, random: counting });
    assert.ok(draws >= 4, `keys drawn at start (${draws})`);
    assert.ok(s.sockets.socket('stream') >= 0);
  });
});

describe('ephemeral ports (RFC 6056 Algorithm 4)', () => {
  test('successive connections to one destination take ports that are no sequence', () => {
    const h = new Host(A, 7, PLAIN);
    const ports: number[] = [];
    for (let i = 0; i < 20; i++) {
      const c = h.engine.connect(A, 0, B, 80, 0) as TcpConnection;
      ports.push(c.localPort);
    }
    for (const p of ports) assert.ok(p >= EPHEMERAL_FIRST && p <= EPHEMERAL_LAST, `${p} in range`);
    assert.equal(new Set(ports).size, ports.length, 'no port twice');
    assert.ok(distinctDifferences(ports) > 3, `differences vary: ${ports.join(' ')}`);
  });

  test('successive connections to different destinations take unrelated ports', () => {
    const h = new Host(A, 8, PLAIN);
    const ports: number[] = [];
    for (let i = 0; i < 20; i++) {
      const c = h.engine.connect(A, 0, (B + (i >> 1)) >>> 0, 80 + (i & 1), 0) as TcpConnection;
      ports.push(c.localPort);
    }
    assert.equal(new Set(ports).size, ports.length);
    assert.ok(distinctDifferences(ports) > 10, `differences vary: ${ports.join(' ')}`);
  });

  test('through the socket layer: TCP connects and connected UDP sockets, fixed by the seed, set by the secrets', () => {
    const ports = (seed: number, type: 'stream' | 'dgram', dst: number) => {
      const { stack } = rig({ seed });
      const so = stack.sockets;
      const sa = new SockAddr();
      const out: number[] = [];
      for (let i = 0; i < 12; i++) {
        const fd = so.socket(type);
        const r = so.connect(fd, dst, 80, 0);
        assert.ok(r === 0 || r === -115, `connect: ${r}`);
        so.localAddress(fd, sa);
        out.push(sa.port);
      }
      return out;
    };
    for (const type of ['stream', 'dgram'] as const) {
      const p = ports(3, type, A_IP);
      for (const x of p) assert.ok(x >= EPHEMERAL_FIRST && x <= EPHEMERAL_LAST);
      assert.equal(new Set(p).size, p.length, type);
      assert.ok(distinctDifferences(p) > 3, `${type} ports are no sequence: ${p.join(' ')}`);
      assert.deepEqual(ports(3, type, A_IP), p, 'the seed replays');
      assert.notDeepEqual(ports(4, type, A_IP), p, 'other secrets, other ports');
      const q = ports(3, type, B_IP);
      assert.notEqual(q[0], p[0], 'another destination starts elsewhere');
    }
  });

  test('a port in use is skipped: 4-tuples stay unique', () => {
    const h = new Host(A, 9, PLAIN);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const c = h.engine.connect(A, 0, B, 80, 0) as TcpConnection;
      const k = `${c.localPort}`;
      assert.ok(!seen.has(k), `port ${k} twice`);
      seen.add(k);
    }
  });
});

describe('timestamps (RFC 7323 §5.4)', () => {
  test('each connection has its own TSval offset, a function of its 4-tuple and the secrets', () => {
    const tsvals = (seed: number) => {
      const h = new Host(A, seed, { sack: false, windowScaling: false });
      const out: number[] = [];
      for (let i = 0; i < 8; i++) {
        h.engine.connect(A, 40000 + i, B, PEER, 1000);
        const syn = h.take();
        assert.equal(syn.length, 1);
        out.push(syn[0]!.ts![0]);
      }
      return out;
    };
    const t = tsvals(11);
    // Same clock for all: were the offset shared, every TSval would be the same.
    assert.equal(new Set(t).size, t.length);
    assert.deepEqual(tsvals(11), t);
    const u = tsvals(12);
    for (let i = 0; i < t.length; i++) assert.notEqual(t[i], u[i]);
  });
});

describe('SYN cookies', () => {
  /** A listener whose SYN queue (one entry) is full, so every further SYN gets a cookie. */
  function flooded(seed: number): { h: Host; l: TcpListener } {
    const h = new Host(A, seed, { ...PLAIN, synQueue: 1 });
    const l = h.engine.listen(0, 80, 8) as TcpListener;
    h.input({ srcPort: 1000, dstPort: 80, seq: 1, flags: TCP_SYN, mss: 1460 }, B, 0);
    h.take();
    return { h, l };
  }

  function cookie(h: Host, srcPort: number, now: number): number {
    h.input({ srcPort, dstPort: 80, seq: 100, flags: TCP_SYN, mss: 1460 }, B, now);
    const sa = h.take();
    assert.equal(sa.length, 1);
    return sa[0]!.seq;
  }

  const ackCookie = (h: Host, srcPort: number, isn: number, now: number) =>
    h.input({ srcPort, dstPort: 80, seq: 101, ack: isn + 1, flags: TCP_ACK }, B, now);

  test('a cookie minted before a rekey is accepted after it, and refused after a second one', () => {
    const { h, l } = flooded(21);
    const t0 = COOKIE_PERIOD - 1000;
    const c1 = cookie(h, 1001, t0);
    const c2 = cookie(h, 1002, t0);
    assert.equal(h.engine.stats.synCookieRekeys, 1);
    // One period later the keys have changed once: the previous key still validates.
    assert.equal(ackCookie(h, 1001, c1, t0 + 2000), true);
    assert.equal(h.engine.stats.synCookieRekeys, 2);
    assert.equal(h.engine.stats.synCookiesAccepted, 1);
    assert.equal(l.accept(h.now)?.state, 'ESTABLISHED');
    // A fresh cookie keeps the listener in cookie mode; then a second rekey: c2's key is gone.
    cookie(h, 1003, t0 + 2000);
    assert.equal(ackCookie(h, 1002, c2, t0 + COOKIE_PERIOD + 2000), false);
    assert.equal(h.engine.stats.synCookieRekeys, 3);
    assert.equal(h.engine.stats.synCookiesAccepted, 1);
    assert.equal(h.engine.stats.synCookiesRejected, 1);
  });

  test('the same SYN in the same period gets a cookie that depends on the secrets', () => {
    const a = flooded(31);
    const b = flooded(32);
    assert.notEqual(cookie(a.h, 1001, 5000) & 0xffffff, cookie(b.h, 1001, 5000) & 0xffffff);
  });
});

describe('RFC 5961 §7 challenge ACKs', () => {
  /** Connections from A:40000+i to B:PEER, each established. */
  function established(h: Host, n: number): number[] {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const port = 40000 + i;
      const c = h.engine.connect(A, port, B, PEER, h.now) as TcpConnection;
      const syn = h.take()[0]!;
      h.input({
        srcPort: PEER,
        dstPort: port,
        seq: IRS,
        ack: syn.seq + 1,
        flags: TCP_SYN | TCP_ACK,
        mss: 1460,
      });
      h.take();
      assert.equal(c.state, 'ESTABLISHED');
      ports.push(port);
    }
    return ports;
  }

  /** A blind RST, in the window but not at RCV.NXT: it draws a challenge ACK unless limited. */
  const blindRst = (h: Host, port: number, k: number, now: number) =>
    h.input({ srcPort: PEER, dstPort: port, seq: IRS + 10 + k, flags: TCP_RST }, B, now);

  test("a flood of RSTs and SYNs at one connection leaves another connection's challenge ACKs alone", () => {
    const h = new Host(A, 41, { ...PLAIN, challengeAckLimit: 4 });
    const [victim, other] = established(h, 2) as [number, number];
    let sent = 0;
    for (let k = 0; k < 1000; k++) {
      const now = 100 + (k % 10);
      blindRst(h, victim, k, now);
      h.input({ srcPort: PEER, dstPort: victim, seq: IRS + 20 + k, flags: TCP_SYN }, B, now);
      sent += h.take().length;
    }
    assert.equal(sent, 1, 'one challenge ACK for the whole flood');
    blindRst(h, other, 0, 200);
    const out = h.take();
    assert.equal(out.length, 1, 'the other connection still answers');
    assert.equal(out[0]!.dstPort, PEER);
    assert.equal(out[0]!.ack, IRS + 1);
  });

  test('the global budget is drawn afresh each second, in [limit/2, 3·limit/2)', () => {
    const limit = 10;
    const h = new Host(A, 42, { ...PLAIN, challengeAckLimit: limit });
    const ports = established(h, 40);
    const perSecond: number[] = [];
    for (let s = 1; s <= 20; s++) {
      for (const p of ports) blindRst(h, p, s, s * 1000 + 1);
      perSecond.push(h.take().length);
    }
    for (const n of perSecond) assert.ok(n >= limit / 2 && n < (3 * limit) / 2, `${n} per second`);
    assert.ok(new Set(perSecond).size > 2, `budgets vary: ${perSecond.join(' ')}`);
  });
});
