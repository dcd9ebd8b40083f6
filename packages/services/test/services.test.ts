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
  const run = () => {
    while (queue.length > 0) {
      const f = queue.shift()!;
      f.to.receive(0, f.bytes, 0, f.bytes.length, 0);
    }
  };
  run();
  return { vr, client, services, problems, run };
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
  assert.equal(s.problems.length, 3, 'without TCP, only the TCP halves fail to start');
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
    s.vr.sockets.list().map((r) => r.local),
    ['0.0.0.0:9'],
  );
});
