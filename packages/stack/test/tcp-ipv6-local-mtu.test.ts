// TCP over IPv6 when the egress interface's MTU shrinks under an established connection: its
// segments are refused (EMSGSIZE), not fragmented at the source, and the connection re-reads the
// route's MTU and shrinks its MSS (RFC 8201 §5.2: a source's packetization layer uses the path MTU;
// RFC 8900: IP fragmentation is fragile), as an IPv4 connection does with DF.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv6 } from '@nexthop/addr';
import type { FrameOutput } from '@nexthop/interface';
import { EV_READABLE, errno, Stack, Stat } from '@nexthop/stack';
import { ETHERTYPE_IPV6, rd16 } from '@nexthop/wire';
import { mac } from './harness.ts';

const A6 = parseIpv6('2001:db8:7::1');
const B6 = parseIpv6('2001:db8:7::2');

test('TCP over IPv6: the interface MTU drops to 1280 mid-connection → smaller MSS, no fragments, data intact', () => {
  const queue: { to: Stack; bytes: Uint8Array }[] = [];
  /** Largest IPv6 frame each stack sent since `mark` was last reset. */
  const largest = new Map<Stack, number>();
  const link = (self: () => Stack, peer: () => Stack): FrameOutput => ({
    transmit: (_i, buf, off, len) => {
      if (rd16(buf, off + 12) === ETHERTYPE_IPV6)
        largest.set(self(), Math.max(largest.get(self()) ?? 0, len));
      queue.push({ to: peer(), bytes: buf.slice(off, off + len) });
    },
  });
  const a: Stack = new Stack({
    output: link(
      () => a,
      () => b,
    ),
    seed: 31,
    dadTransmits: 0,
  });
  const b: Stack = new Stack({
    output: link(
      () => b,
      () => a,
    ),
    seed: 32,
    dadTransmits: 0,
  });
  a.addInterface({ name: 'eth0', mac: mac('02:00:00:00:00:0a'), mtu: 1500 });
  b.addInterface({ name: 'eth0', mac: mac('02:00:00:00:00:0b'), mtu: 1500 });
  a.addAddress6(0, A6, 64, 0);
  b.addAddress6(0, B6, 64, 0);
  let now = 0;
  const run = () => {
    for (let steps = 0; steps < 1_000_000; steps++) {
      const f = queue.shift();
      if (f !== undefined) {
        f.to.receive(0, f.bytes, 0, f.bytes.length, now);
        continue;
      }
      const next = Math.min(a.poll(now), b.poll(now));
      if (queue.length > 0) continue;
      if (next > now + 1000) return;
      now = Math.max(now, next);
    }
    throw new Error('did not settle');
  };

  const l = b.sockets.socket('stream', 0, 6);
  assert.equal(b.sockets.bind6(l, new Uint8Array(16), 9000), 0);
  assert.equal(b.sockets.listen(l, 1), 0);
  const c = a.sockets.socket('stream', 0, 6);
  assert.equal(a.sockets.connect6(c, B6, 9000, now), -errno.EINPROGRESS);
  run();
  const s = b.sockets.accept(l, now);
  assert.ok(s >= 0);
  const mssOf = (stack: Stack) => {
    for (const e of stack.tcp6.endpoints()) {
      const info = e.info();
      if ('mss' in info && info.state === 'ESTABLISHED') return info.mss;
    }
    return -1;
  };
  // 1500 - 40 (IPv6) - 20 (TCP) - 12 (timestamps).
  assert.equal(mssOf(a), 1428);

  const data = new Uint8Array(200_000).map((_, i) => (i * 7 + (i >>> 9)) & 0xff);
  const received: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  let sent = 0;
  const pump = () => {
    while (sent < data.length) {
      const n = a.sockets.send(c, data, sent, data.length - sent, now);
      if (n === -errno.EAGAIN) break;
      assert.ok(n > 0);
      sent += n;
    }
    for (;;) {
      const n = b.sockets.recv(s, buf, 0, buf.length, now);
      if (n <= 0) break;
      received.push(buf.slice(0, n));
    }
  };
  b.sockets.onSocketEvent = (fd, events) => {
    if (fd === s && events & EV_READABLE) pump();
  };
  // Half the data at 1500, then A's link shrinks to IPv6's minimum.
  pump();
  while (sent < data.length / 2) {
    run();
    pump();
  }
  assert.equal(largest.get(a), 1514);
  a.setMtu(0, 1280);
  b.setMtu(0, 1280);
  largest.clear();
  for (let i = 0; i < 1000 && received.reduce((n, r) => n + r.length, 0) < data.length; i++) {
    pump();
    run();
  }
  assert.deepEqual(Buffer.concat(received), Buffer.from(data));
  assert.equal(mssOf(a), 1208, 'A shrank its MSS to the interface MTU');
  assert.ok(largest.get(a)! <= 1280 + 14, `A sent a ${largest.get(a)}-byte frame`);
  assert.equal(a.statCount(Stat.IPV6_FRAGMENTS_CREATED), 0, 'A never fragmented a segment');
  assert.equal(b.statCount(Stat.IPV6_REASSEMBLED), 0);
});
