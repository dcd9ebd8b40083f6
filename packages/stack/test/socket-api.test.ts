import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '@nexthop/addr';
import type { FrameOutput } from '@nexthop/interface';
import { errno, errnoName, RecvMeta, SockAddr, Stack } from '@nexthop/stack';
import { mac, rig } from './harness.ts';

/** Two stacks on one in-memory link; frames are queued and delivered by run(), as a wire would. */
function pair() {
  const queue: { to: Stack; bytes: Uint8Array }[] = [];
  const link = (peer: () => Stack): FrameOutput => ({
    transmit: (_i, buf, off, len) => queue.push({ to: peer(), bytes: buf.slice(off, off + len) }),
  });
  const a: Stack = new Stack({ output: link(() => b), seed: 1 });
  const b: Stack = new Stack({ output: link(() => a), seed: 2 });
  a.addInterface({ name: 'eth0', mac: mac('02:00:00:00:00:0a'), mtu: 1500 });
  b.addInterface({ name: 'eth0', mac: mac('02:00:00:00:00:0b'), mtu: 1500 });
  a.addAddress(0, parseIpv4('192.168.5.1'), 24, 0);
  b.addAddress(0, parseIpv4('192.168.5.2'), 24, 0);
  const run = () => {
    while (queue.length > 0) {
      const f = queue.shift()!;
      f.to.receive(0, f.bytes, 0, f.bytes.length, 0);
    }
  };
  run();
  return { a, b, run };
}

test('UDP between two stacks over a link: ARP resolved, datagrams both ways, events drive the receiver', () => {
  const { a, b, run } = pair();
  const server = b.sockets.socket('dgram');
  b.sockets.bind(server, 0, 7);
  const buf = new Uint8Array(2000);
  const meta = new RecvMeta();
  // An echo server driven by events, as the services package does it.
  b.sockets.onSocketEvent = (fd, ev) => {
    if (fd !== server || (ev & 1) === 0) return;
    for (;;) {
      const n = b.sockets.recvFrom(fd, buf, 0, buf.length, meta);
      if (n < 0) break;
      b.sockets.sendTo(fd, buf, 0, n, meta.addr, meta.port, 0, meta.dst);
    }
  };
  const client = a.sockets.socket('dgram');
  assert.equal(a.sockets.connect(client, parseIpv4('192.168.5.2'), 7, 0), 0);
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 5; i++) {
    const d = new Uint8Array(100 + i * 300).fill(i + 1);
    sent.push(d);
    assert.equal(a.sockets.send(client, d, 0, d.length, 0), d.length);
  }
  run();
  const got = new Uint8Array(2000);
  for (const d of sent) {
    const n = a.sockets.recv(client, got, 0, got.length, 0);
    assert.equal(n, d.length);
    assert.deepEqual(got.slice(0, n), d);
  }
  assert.equal(a.sockets.recv(client, got, 0, got.length, 0), -errno.EAGAIN);
});

test('options: defaults, set and get, errors for bad values and wrong socket types', () => {
  const { stack } = rig();
  const so = stack.sockets;
  const u = so.socket('dgram');
  assert.equal(so.getOption(u, 'IP_TTL'), 64);
  assert.equal(so.setOption(u, 'IP_TTL', 0), -errno.EINVAL);
  assert.equal(so.setOption(u, 'IP_TTL', 200), 0);
  assert.equal(so.getOption(u, 'IP_TTL'), 200);
  assert.equal(so.getOption(u, 'SO_RCVBUF'), 212992);
  assert.equal(so.setOption(u, 'SO_SNDBUF', 10000), 0);
  assert.equal(so.getOption(u, 'SO_SNDBUF'), 20000);
  assert.equal(so.getOption(u, 'SO_TYPE'), 2);
  assert.equal(so.getOption(u, 'IP_MULTICAST_LOOP'), 1);
  assert.equal(so.getOption(u, 'IP_PKTINFO'), 0);
  so.setOption(u, 'IP_PKTINFO', 1);
  assert.equal(so.getOption(u, 'IP_PKTINFO'), 1);
  assert.equal(so.setOption(u, 'TCP_NODELAY', 1), -errno.EOPNOTSUPP);
  assert.equal(so.setOption(u, 'SO_BINDTODEVICE', 'eth1'), 0);
  assert.equal(so.getOption(u, 'SO_BINDTODEVICE'), 1);
  assert.equal(so.setOption(u, 'IP_TOS', 256), -errno.EINVAL);
  assert.equal(so.setOption(u, 'SO_ERROR', 1), -errno.ENOPROTOOPT);
  assert.equal(so.getOption(42, 'IP_TTL'), -errno.EBADF);
  assert.equal(errnoName(-errno.ECONNREFUSED), 'ECONNREFUSED');
  assert.equal(errnoName(99), 'EADDRNOTAVAIL');
});

test('list(): fd, type, state, addresses, queues and bound interface of every socket', () => {
  const { stack } = rig();
  const so = stack.sockets;
  const u = so.socket('dgram');
  so.bind(u, 0, 7);
  const c = so.socket('dgram');
  so.setOption(c, 'SO_BINDTODEVICE', 'eth0');
  so.connect(c, parseIpv4('10.0.1.10'), 53, 0);
  const raw = so.socket('raw', 89);
  const local = new SockAddr();
  so.localAddress(c, local);
  assert.deepEqual(so.list(), [
    {
      fd: u,
      type: 'dgram',
      protocol: 17,
      state: 'UNCONN',
      local: '0.0.0.0:7',
      peer: '0.0.0.0:*',
      recvQ: 0,
      sendQ: 0,
      interface: null,
    },
    {
      fd: c,
      type: 'dgram',
      protocol: 17,
      state: 'ESTAB',
      local: `10.0.1.1:${local.port}`,
      peer: '10.0.1.10:53',
      recvQ: 0,
      sendQ: 0,
      interface: 'eth0',
    },
    {
      fd: raw,
      type: 'raw',
      protocol: 89,
      state: 'UNCONN',
      local: '0.0.0.0:*',
      peer: '0.0.0.0:*',
      recvQ: 0,
      sendQ: 0,
      interface: null,
    },
  ]);
  const peer = new SockAddr();
  assert.equal(so.peerAddress(u, peer), -errno.ENOTCONN);
  assert.equal(so.peerAddress(c, peer), 0);
  assert.equal(peer.port, 53);
});
