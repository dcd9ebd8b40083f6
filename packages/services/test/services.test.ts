import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4, parseMac } from '@nexthop/addr';
import type { FrameOutput } from '@nexthop/interface';
import { CHARGEN_LINE, chargenPattern, SmallServices } from '@nexthop/services';
import { errno, RecvMeta, Stack } from '@nexthop/stack';

const CLIENT = parseIpv4('192.168.7.2');
const VR = parseIpv4('192.168.7.1');

/** A VR stack running the services and a client stack, on one in-memory link. */
function setup(config = { echo: true, discard: true, chargen: true }) {
  const queue: { to: Stack; bytes: Uint8Array }[] = [];
  const link = (peer: () => Stack): FrameOutput => ({
    transmit: (_i, buf, off, len) => queue.push({ to: peer(), bytes: buf.slice(off, off + len) }),
  });
  const vr: Stack = new Stack({ output: link(() => client), seed: 3 });
  const client: Stack = new Stack({ output: link(() => vr), seed: 4 });
  vr.addInterface({ name: 'eth0', mac: parseMac('02:00:00:00:01:01'), mtu: 1500 });
  client.addInterface({ name: 'eth0', mac: parseMac('02:00:00:00:01:02'), mtu: 1500 });
  vr.addAddress(0, VR, 24, 0);
  client.addAddress(0, CLIENT, 24, 0);
  const services = new SmallServices(vr.sockets, config, 42);
  vr.sockets.onSocketEvent = (fd, ev) => services.onEvent(fd, ev, 0);
  const problems = services.start(0);
  let now = 0;
  vr.sockets.onSocketEvent = (fd, ev) => services.onEvent(fd, ev, now);
  /** Delivers frames and runs timers (a virtual clock jumping to deadlines) within `horizonMs`. */
  const run = (horizonMs = 1000) => {
    const end = now + horizonMs;
    for (let steps = 0; steps < 10_000_000; steps++) {
      const f = queue.shift();
      if (f !== undefined) {
        f.to.receive(0, f.bytes, 0, f.bytes.length, now);
        continue;
      }
      const next = Math.min(vr.poll(now), client.poll(now));
      if (queue.length > 0) continue;
      if (next > end) return;
      now = Math.max(now, next);
    }
    throw new Error('simulation did not settle');
  };
  run();
  return { vr, client, services, problems, run, now: () => now };
}

function udpClient(s: ReturnType<typeof setup>, port: number): number {
  const fd = s.client.sockets.socket('dgram');
  assert.equal(s.client.sockets.connect(fd, VR, port, 0), 0);
  return fd;
}

test('the chargen pattern: 95 lines of 72 printable characters, each starting one further on (RFC 864)', () => {
  const p = chargenPattern();
  assert.equal(p.length, 95 * 74);
  const text = new TextDecoder().decode(p);
  const lines = text.split('\r\n');
  assert.equal(lines[0], ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg');
  assert.equal(lines[1]!.slice(0, 3), '!"#');
  for (let i = 0; i < 95; i++) assert.equal(lines[i]!.length, CHARGEN_LINE);
});

test('UDP echo returns each datagram from the address it was sent to; discard swallows; the sockets are listed', () => {
  const s = setup();
  assert.deepEqual(s.problems, []);
  const so = s.client.sockets;
  const echo = udpClient(s, 7);
  const discard = udpClient(s, 9);
  const buf = new Uint8Array(70000);
  for (const size of [0, 1, 100, 1472, 1473, 8000, 65507]) {
    const d = new Uint8Array(size);
    for (let i = 0; i < size; i++) d[i] = (i * 7 + size) & 255;
    assert.equal(so.send(echo, d, 0, size, 0), size);
    assert.equal(so.send(discard, d, 0, size, 0), size);
    s.run();
    const n = so.recv(echo, buf, 0, buf.length, 0);
    assert.equal(n, size, `echo of ${size} bytes`);
    assert.deepEqual(buf.slice(0, n), d);
    assert.equal(so.recv(discard, buf, 0, buf.length, 0), -errno.EAGAIN);
  }
  assert.equal(s.services.stats.udpEchoed, 7);
  assert.equal(s.services.stats.udpDiscarded, 7);
  const rows = s.vr.sockets.list().filter((r) => r.type === 'dgram');
  assert.deepEqual(
    rows.map((r) => r.local),
    ['0.0.0.0:7', '0.0.0.0:9', '0.0.0.0:19'],
  );
});

test('UDP chargen answers each datagram with 0-512 characters of the pattern', () => {
  const s = setup();
  const so = s.client.sockets;
  const fd = udpClient(s, 19);
  const pattern = chargenPattern();
  const buf = new Uint8Array(1000);
  const lengths = new Set<number>();
  for (let i = 0; i < 20; i++) {
    so.send(fd, buf, 0, 1, 0);
    s.run();
    const n = so.recv(fd, buf, 0, buf.length, 0);
    assert.ok(n >= 0 && n <= 512, `length ${n}`);
    assert.deepEqual(buf.slice(0, n), pattern.slice(0, n));
    lengths.add(n);
  }
  assert.ok(lengths.size > 10, 'the lengths vary');
});

test('no answers to another small server port (echo/chargen loops) and services stop cleanly', () => {
  const s = setup();
  const so = s.client.sockets;
  const fd = so.socket('dgram');
  so.bind(fd, 0, 19);
  so.sendTo(fd, new Uint8Array(10), 0, 10, VR, 7, 0);
  s.run();
  assert.equal(so.recv(fd, new Uint8Array(20), 0, 20, 0), -errno.EAGAIN);
  s.services.stop(0);
  assert.equal(s.vr.sockets.size, 0);
  // Now the port is closed: a connected client learns it from the ICMP port unreachable.
  const echo = udpClient(s, 7);
  so.send(echo, new Uint8Array(4), 0, 4, 0);
  s.run();
  assert.equal(so.recvFrom(echo, new Uint8Array(8), 0, 8, new RecvMeta()), -errno.ECONNREFUSED);
});

test('only the configured services are opened', () => {
  const s = setup({ echo: false, discard: true, chargen: false });
  assert.deepEqual(
    s.vr.sockets.list().map((r) => `${r.type} ${r.local} ${r.state}`),
    ['dgram 0.0.0.0:9 UNCONN', 'stream 0.0.0.0:9 LISTEN'],
  );
});

/** Connects a TCP client to the VR's port and runs the handshake. */
function tcpClient(s: ReturnType<typeof setup>, port: number): number {
  const fd = s.client.sockets.socket('stream');
  assert.equal(s.client.sockets.connect(fd, VR, port, s.now()), -errno.EINPROGRESS);
  s.run();
  assert.equal(s.client.sockets.getOption(fd, 'SO_ERROR'), 0);
  return fd;
}

function data(n: number): Uint8Array {
  const d = new Uint8Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    d[i] = x >>> 24;
  }
  return d;
}

/** Sends `out` and collects what comes back until `expect` bytes arrived (or the peer closed). */
function exchange(s: ReturnType<typeof setup>, fd: number, out: Uint8Array, expect: number): Uint8Array {
  const so = s.client.sockets;
  const got = new Uint8Array(expect + 65536);
  let sent = 0;
  let recvd = 0;
  for (let rounds = 0; rounds < 100_000 && (recvd < expect || sent < out.length); rounds++) {
    if (sent < out.length) {
      const w = so.send(fd, out, sent, Math.min(out.length - sent, 65536), s.now());
      if (w > 0) sent += w;
    }
    s.run(5);
    for (;;) {
      const n = so.recv(fd, got, recvd, Math.min(65536, got.length - recvd), s.now());
      if (n <= 0) break;
      recvd += n;
    }
  }
  assert.equal(sent, out.length, 'everything was sent');
  return got.slice(0, recvd);
}

test('TCP echo returns a 2 MB stream byte for byte, and closes after the client does', () => {
  const s = setup();
  const fd = tcpClient(s, 7);
  const out = data(2 << 20);
  const back = exchange(s, fd, out, out.length);
  assert.equal(back.length, out.length);
  assert.ok(Buffer.from(back).equals(Buffer.from(out)));
  s.client.sockets.shutdown(fd, 'write', s.now());
  s.run();
  assert.equal(s.client.sockets.recv(fd, new Uint8Array(10), 0, 10, s.now()), 0, 'echo closes after EOF');
  s.client.sockets.close(fd, s.now());
  s.run(300_000);
  assert.deepEqual(
    s.vr.sockets
      .list()
      .filter((r) => r.type === 'stream')
      .map((r) => r.state),
    ['LISTEN', 'LISTEN', 'LISTEN'],
  );
});

test('TCP discard takes 2 MB and answers nothing', () => {
  const s = setup();
  const fd = tcpClient(s, 9);
  const back = exchange(s, fd, data(2 << 20), 0);
  s.run();
  assert.equal(back.length, 0);
  assert.equal(s.services.stats.tcpBytesIn, 2 << 20);
  s.client.sockets.close(fd, s.now());
  s.run();
});

test('TCP chargen streams the rotating pattern as fast as the client reads', () => {
  const s = setup();
  const fd = tcpClient(s, 19);
  const got = exchange(s, fd, new Uint8Array(0), 300_000);
  assert.ok(got.length >= 300_000);
  const pattern = chargenPattern();
  for (let i = 0; i < got.length; i += 997) assert.equal(got[i], pattern[i % pattern.length], `byte ${i}`);
  s.client.sockets.close(fd, s.now());
  s.run(300_000);
  assert.equal(s.vr.sockets.list().filter((r) => r.type === 'stream' && r.state !== 'LISTEN').length, 0);
});
