import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EV_READABLE, EV_WRITABLE, errno, SockAddr } from '@nexthop/stack';
import type { TcpConfig } from '../src/tcp/index.ts';
import { A4, B4, twoStacks } from './two-stacks.ts';

const A = A4;
const B = B4;

/** Two stacks on one lossless link (two-stacks.ts), B with these TCP settings. */
const pair = (bTcp: Partial<TcpConfig> = {}) => twoStacks({ bTcp });

test('TCP: connect to a closed port is refused (RST), reported through SO_ERROR', () => {
  const { a, run } = pair();
  const fd = a.sockets.socket('stream');
  assert.equal(a.sockets.connect(fd, B, 4000, 0), -errno.EINPROGRESS);
  run();
  assert.equal(a.sockets.getOption(fd, 'SO_ERROR'), errno.ECONNREFUSED);
});

test('TCP: listen, connect, accept, data both ways, half-close, list() states', () => {
  const { a, b, run, now } = pair();
  const l = b.sockets.socket('stream');
  assert.equal(b.sockets.bind(l, 0, 80), 0);
  assert.equal(b.sockets.listen(l, 16), 0);
  const other = b.sockets.socket('stream');
  assert.equal(b.sockets.bind(other, 0, 80), -errno.EADDRINUSE);
  const c = a.sockets.socket('stream');
  assert.equal(a.sockets.connect(c, B, 80, now()), -errno.EINPROGRESS);
  run();
  assert.equal(a.sockets.getOption(c, 'SO_ERROR'), 0);
  assert.ok((a.sockets.events(c) & EV_WRITABLE) !== 0);
  assert.ok((b.sockets.events(l) & EV_READABLE) !== 0);
  const peer = new SockAddr();
  const s = b.sockets.accept(l, now(), peer);
  assert.ok(s >= 0);
  assert.equal(peer.addr, A);
  assert.equal(b.sockets.accept(l, now()), -errno.EAGAIN);
  const data = new Uint8Array(50_000).map((_, i) => (i * 13) & 255);
  let sent = 0;
  const got = new Uint8Array(60_000);
  let recvd = 0;
  while (recvd < data.length) {
    if (sent < data.length) {
      const w = a.sockets.send(c, data, sent, data.length - sent, now());
      if (w > 0) sent += w;
    }
    run(10);
    for (;;) {
      const n = b.sockets.recv(s, got, recvd, got.length - recvd, now());
      if (n <= 0) break;
      recvd += n;
    }
  }
  assert.deepEqual(got.slice(0, recvd), data);
  const states = b.sockets.list().map((r) => r.state);
  assert.deepEqual(states, ['LISTEN', 'CLOSED', 'ESTABLISHED']);
  assert.equal(a.sockets.shutdown(c, 'write', now()), 0);
  run();
  assert.equal(b.sockets.recv(s, got, 0, 10, now()), 0, 'EOF after the peer shut down writing');
  assert.equal(b.sockets.send(s, data, 0, 5, now()), 5, 'the other direction still works');
  run();
  assert.equal(a.sockets.recv(c, got, 0, 10, now()), 5);
  b.sockets.close(s, now());
  a.sockets.close(c, now());
  run();
  const left = a.sockets.list();
  assert.ok(
    left.every((r) => r.fd === -1),
    'the closed connection is no fd any more',
  );
});

test('TCP: list() shows the SYN queue of a listener and the SYN cookies it sent when that queue was full', () => {
  const { a, b, run, now } = pair({ synQueue: 1 });
  const l = b.sockets.socket('stream');
  b.sockets.bind(l, 0, 80);
  b.sockets.listen(l, 16);
  const row = () => b.sockets.list().find((r) => r.fd === l)!;
  assert.equal(row().synQueue, 0);
  assert.equal(row().synCookiesSent, 0);
  // Both SYNs arrive before either handshake completes: one half-open entry, then a cookie.
  const c1 = a.sockets.socket('stream');
  const c2 = a.sockets.socket('stream');
  a.sockets.connect(c1, B, 80, now());
  a.sockets.connect(c2, B, 80, now());
  run();
  assert.equal(a.sockets.getOption(c1, 'SO_ERROR'), 0);
  assert.equal(a.sockets.getOption(c2, 'SO_ERROR'), 0);
  assert.equal(row().synCookiesSent, 1);
  assert.equal(row().synQueue, 0);
  assert.ok(b.sockets.accept(l, now()) >= 0);
  assert.ok(b.sockets.accept(l, now()) >= 0);
});

test('TCP: an interface MTU lowered mid-transfer shrinks the MSS instead of stalling on EMSGSIZE', () => {
  const { a, b, run, now } = pair();
  const l = b.sockets.socket('stream');
  b.sockets.bind(l, 0, 80);
  b.sockets.listen(l, 16);
  const c = a.sockets.socket('stream');
  // A send buffer well below the transfer, so that full-sized segments are still to go when the
  // MTU drops.
  a.sockets.setOption(c, 'SO_SNDBUF', 64 * 1024);
  a.sockets.connect(c, B, 80, now());
  run();
  const s = b.sockets.accept(l, now());
  assert.ok(s >= 0);
  const mss = () => {
    for (const e of a.tcp.endpoints()) {
      const info = e.info();
      if ('mss' in info) return info.mss;
    }
    return -1;
  };
  assert.equal(mss(), 1448);
  const data = new Uint8Array(400_000).map((_, i) => (i * 7 + (i >> 8)) & 255);
  const got = new Uint8Array(data.length);
  let sent = 0;
  let recvd = 0;
  let loweredAt = -1;
  for (let round = 0; round < 5_000 && recvd < data.length; round++) {
    if (sent < data.length) {
      const w = a.sockets.send(c, data, sent, data.length - sent, now());
      if (w > 0) sent += w;
    }
    run(10);
    for (;;) {
      const n = b.sockets.recv(s, got, recvd, got.length - recvd, now());
      if (n <= 0) break;
      recvd += n;
    }
    if (loweredAt < 0 && recvd >= 100_000) {
      // The link's MTU changes under an established connection whose segments are full-sized.
      a.setMtu(0, 1000);
      b.setMtu(0, 1000);
      loweredAt = now();
    }
  }
  assert.ok(loweredAt >= 0);
  assert.equal(recvd, data.length, `stalled at ${recvd} bytes after the MTU change`);
  assert.deepEqual(got, data);
  // 1000 - 20 (IP) - 20 (TCP) - 12 (timestamps): learnt from the refused send, not from a timeout.
  assert.equal(mss(), 948);
  assert.equal(a.tcp.stats.timeouts, 0);
});
