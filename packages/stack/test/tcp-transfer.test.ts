import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { TcpConnection, type TcpListener } from '../src/tcp/index.ts';
import { A, B, type LinkOptions, mulberry32, Pair } from './tcp-harness.ts';

function pattern(len: number, seed: number): Uint8Array {
  const r = mulberry32(seed);
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (r() * 256) | 0;
  return b;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Flow {
  data: Uint8Array;
  sent: number;
  got: Uint8Array;
  gotLen: number;
  eof: boolean;
}

/** Connects a → b, sends `size` bytes each way, closes both; returns the received copies. */
function transfer(
  link: LinkOptions,
  size: number,
  cfg: Record<string, unknown> = {},
  limit = 600_000,
  step?: (p: Pair, now: number) => void,
) {
  const p = new Pair(link, cfg, cfg);
  const l = p.b.engine.listen(0, 80, 16) as TcpListener;
  const c = p.a.engine.connect(A, 40000, B, 80, 0) as TcpConnection;
  assert.ok(c instanceof TcpConnection);
  let s: TcpConnection | null = null;
  const up: Flow = {
    data: pattern(size, link.seed),
    sent: 0,
    got: new Uint8Array(size),
    gotLen: 0,
    eof: false,
  };
  const down: Flow = {
    data: pattern(size, link.seed + 1),
    sent: 0,
    got: new Uint8Array(size),
    gotLen: 0,
    eof: false,
  };
  const buf = new Uint8Array(65536);
  const pump = (from: TcpConnection, to: TcpConnection, f: Flow, now: number) => {
    while (f.sent < f.data.length) {
      const n = from.send(f.data, f.sent, Math.min(f.data.length - f.sent, 30000), now);
      if (n <= 0) break;
      f.sent += n;
    }
    if (f.sent === f.data.length) from.shutdown(false, true, now);
    for (;;) {
      const n = to.recv(buf, 0, buf.length, now);
      if (n > 0) {
        assert.ok(f.gotLen + n <= f.got.length, 'received more than sent');
        f.got.set(buf.subarray(0, n), f.gotLen);
        f.gotLen += n;
        continue;
      }
      if (n === 0) f.eof = true;
      break;
    }
  };
  const ok = p.run(
    () => up.eof && down.eof,
    limit,
    (now) => {
      if (step !== undefined) step(p, now);
      if (s === null) s = l.accept(now);
      if (s === null) return;
      pump(c, s, up, now);
      pump(s, c, down, now);
    },
  );
  assert.ok(
    ok,
    `transfer did not finish: up ${up.gotLen}/${size} down ${down.gotLen}/${size} at ${p.now} ms, c ${c.state} ${JSON.stringify(c.info())} s ${s === null ? '-' : JSON.stringify((s as TcpConnection).info())}`,
  );
  assert.equal(up.gotLen, size);
  assert.equal(down.gotLen, size);
  assert.equal(sha(up.got), sha(up.data));
  assert.equal(sha(down.got), sha(down.data));
  // Both ends close; one ends in TIME-WAIT, which expires.
  c.close(p.now);
  (s as unknown as TcpConnection).close(p.now);
  p.run(() => p.a.engine.connectionCount === 0 && p.b.engine.connectionCount === 0, p.now + 200_000);
  assert.equal(p.a.engine.connectionCount, 0, `a left ${c.state}`);
  assert.equal(p.b.engine.connectionCount, 0);
  if (process.env.TCP_DEBUG)
    console.log(
      JSON.stringify(link),
      p.now,
      JSON.stringify(p.a.engine.stats),
      JSON.stringify(p.b.engine.stats),
    );
  return { p, c, s: s as unknown as TcpConnection };
}

test('transfer 2 MB each way on a clean link', () => {
  const { p } = transfer({ seed: 1, delay: 5, rate: 10_000 }, 2_000_000);
  assert.equal(p.dropped, 0);
});

test('transfer 2 MB each way with 1% loss, reordering and duplication', () => {
  const { p } = transfer(
    { seed: 2, delay: 5, loss: 0.01, reorder: 0.02, duplicate: 0.01, rate: 10_000 },
    2_000_000,
  );
  assert.ok(p.dropped > 0);
});

test('transfer 2 MB each way with 5% loss, reordering and duplication', () => {
  const { p } = transfer(
    { seed: 3, delay: 5, loss: 0.05, reorder: 0.05, duplicate: 0.02, rate: 10_000 },
    2_000_000,
  );
  assert.ok(p.dropped > 0);
});

test('transfer with NewReno and without SACK or timestamps, 3% loss', () => {
  transfer({ seed: 4, delay: 5, loss: 0.03, reorder: 0.02, duplicate: 0.01, rate: 10_000 }, 1_000_000, {
    congestion: 'newreno',
    sack: false,
    timestamps: false,
  });
});

test('path MTU drops to 1000 mid-transfer: ICMP frag-needed shrinks the MSS, data intact', () => {
  const { p, c, s } = transfer(
    { seed: 5, delay: 5, loss: 0.01, reorder: 0.01, rate: 10_000 },
    1_000_000,
    {},
    600_000,
    (pair, now) => {
      if (now > 100 && pair.pathMtu === 0) pair.pathMtu = 1000;
    },
  );
  assert.ok(p.icmpSent > 0);
  assert.equal(c.info().mss, 1000 - 40 - 12);
  assert.equal(s.info().mss, 1000 - 40 - 12);
});

test('a transfer is reproducible by seed', () => {
  const run = () => {
    const { p } = transfer(
      { seed: 9, delay: 3, loss: 0.03, reorder: 0.03, duplicate: 0.02, rate: 10_000 },
      300_000,
    );
    return JSON.stringify([p.now, p.dropped, p.delivered, p.a.engine.stats, p.b.engine.stats]);
  };
  assert.equal(run(), run());
});

test('many connections in parallel through one listener, all closed afterwards', () => {
  const p = new Pair({ seed: 11, delay: 2, loss: 0.02, rate: 10_000 });
  const l = p.b.engine.listen(0, 7, 64) as TcpListener;
  const clients: TcpConnection[] = [];
  for (let i = 0; i < 50; i++) clients.push(p.a.engine.connect(A, 0, B, 7, 0) as TcpConnection);
  const servers: TcpConnection[] = [];
  const msg = new TextEncoder().encode('ping');
  const buf = new Uint8Array(100);
  const echoed = new Set<TcpConnection>();
  const ok = p.run(
    () => echoed.size === clients.length,
    60_000,
    (now) => {
      for (let s = l.accept(now); s !== null; s = l.accept(now)) servers.push(s);
      for (const c of clients)
        if (
          c.state === 'ESTABLISHED' &&
          c.info().sendQueue === 0 &&
          !echoed.has(c) &&
          (c as unknown as { sent?: boolean }).sent !== true
        ) {
          c.send(msg, 0, msg.length, now);
          (c as unknown as { sent?: boolean }).sent = true;
        }
      for (const s of servers) {
        const n = s.recv(buf, 0, buf.length, now);
        if (n > 0) s.send(buf, 0, n, now);
      }
      for (const c of clients) if (c.recv(buf, 0, buf.length, now) === 4) echoed.add(c);
    },
  );
  assert.ok(ok, `echoed ${echoed.size}`);
  for (const c of clients) c.close(p.now);
  p.run(
    () => false,
    p.now + 1000,
    (now) => {
      for (const s of servers) if (s.recv(buf, 0, buf.length, now) === 0) s.close(now);
    },
  );
  p.run(() => p.a.engine.connectionCount === 0 && p.b.engine.connectionCount === 0, p.now + 200_000);
  assert.equal(p.a.engine.connectionCount, 0);
  assert.equal(p.b.engine.connectionCount, 0);
});

test('simultaneous open between two engines, then data both ways', () => {
  const p = new Pair({ seed: 12, delay: 5 });
  const x = p.a.engine.connect(A, 5000, B, 6000, 0) as TcpConnection;
  const y = p.b.engine.connect(B, 6000, A, 5000, 0) as TcpConnection;
  assert.ok(p.run(() => x.state === 'ESTABLISHED' && y.state === 'ESTABLISHED', 10_000));
  const msg = new TextEncoder().encode('both ways');
  x.send(msg, 0, msg.length, p.now);
  y.send(msg, 0, msg.length, p.now);
  const buf = new Uint8Array(64);
  let gx = 0;
  let gy = 0;
  assert.ok(
    p.run(
      () => gx === msg.length && gy === msg.length,
      20_000,
      (now) => {
        const a = x.recv(buf, 0, 64, now);
        if (a > 0) gx += a;
        const b = y.recv(buf, 0, 64, now);
        if (b > 0) gy += b;
      },
    ),
  );
  assert.equal(p.unmatched, 0);
});

const offloadOn = (p: Pair) => {
  p.a.segmentOffload = 65521;
  p.b.segmentOffload = 65521;
};

test('links that take aggregates (TSO): 2 MB each way intact, cut like a kernel would, on a clean link', () => {
  const { p } = transfer({ seed: 21, delay: 5, rate: 10_000 }, 2_000_000, {}, 600_000, offloadOn);
  assert.ok(p.a.aggregates > 0 && p.b.aggregates > 0, 'aggregates were sent');
  // No wire segment carries more than one MSS.
  for (const seg of [...p.a.sent, ...p.b.sent]) assert.ok(seg.data.length <= 1460);
});

test('links that take aggregates (TSO): 2 MB each way intact with 2% loss, reordering and duplication', () => {
  const { p } = transfer(
    { seed: 22, delay: 5, loss: 0.02, reorder: 0.02, duplicate: 0.01, rate: 10_000 },
    2_000_000,
    {},
    600_000,
    offloadOn,
  );
  assert.ok(p.dropped > 0);
  assert.ok(p.a.aggregates > 0 && p.b.aggregates > 0, 'aggregates were sent');
});

test('links that take aggregates (TSO), NewReno without SACK or timestamps, 3% loss', () => {
  const { p } = transfer(
    { seed: 23, delay: 5, loss: 0.03, reorder: 0.02, duplicate: 0.01, rate: 10_000 },
    1_000_000,
    { congestion: 'newreno', sack: false, timestamps: false },
    600_000,
    offloadOn,
  );
  assert.ok(p.a.aggregates > 0);
});

test('RFC 7661: a sender held back by the receive window does not grow cwnd without bound', () => {
  // The receiver has a 64 KiB buffer and drains it; the sender has a 4 MB backlog. Without the
  // cwnd-limited test the window would climb with every ACK to several megabytes.
  const p = new Pair({ seed: 5, delay: 10 }, {}, { recvBuffer: 64 * 1024 });
  const l = p.b.engine.listen(0, 80, 16) as TcpListener;
  const c = p.a.engine.connect(A, 40000, B, 80, 0) as TcpConnection;
  const data = pattern(4_000_000, 9);
  let sent = 0;
  let got = 0;
  let s: TcpConnection | null = null;
  const buf = new Uint8Array(65536);
  let maxCwnd = 0;
  p.run(
    () => got >= data.length,
    120_000,
    (now) => {
      s ??= l.accept(now);
      while (sent < data.length) {
        const n = c.send(data, sent, data.length - sent, now);
        if (n <= 0) break;
        sent += n;
      }
      for (let n = s?.recv(buf, 0, buf.length, now) ?? 0; n > 0; n = s!.recv(buf, 0, buf.length, now))
        got += n;
      maxCwnd = Math.max(maxCwnd, c.info().cwnd);
    },
  );
  assert.equal(got, data.length);
  // The receive window caps what is in flight at 64 KiB; cwnd may lead it by a little, not by megabytes.
  assert.ok(maxCwnd <= 4 * 64 * 1024, `cwnd reached ${maxCwnd} bytes`);
});
