import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errno, RecvMeta } from '@nexthop/stack';
import { rd32 } from '@nexthop/wire';
import {
  A_IP,
  A_MAC,
  B_IP,
  B_MAC,
  bytes,
  feed,
  fromA,
  ip,
  learn,
  onlyIcmp,
  parseFrame,
  parseIp,
  R0_IP,
  type Rig,
  rig,
} from './harness.ts';

const OSPF = 89;
const ALL_SPF = ip('224.0.0.5');
const ALL_SPF_MAC = new Uint8Array([1, 0, 0x5e, 0, 0, 5]);

function ready(): Rig {
  const r = rig();
  learn(r, r.eth0, A_IP, A_MAC);
  learn(r, r.eth1, B_IP, B_MAC);
  return r;
}

test('raw socket: receives every datagram of its protocol with the IP header; no protocol unreachable then', () => {
  const r = ready();
  const so = r.stack.sockets;
  feed(r, r.eth0, fromA({ dst: R0_IP, protocol: OSPF, payload: bytes(24) }), 0);
  assert.equal(onlyIcmp(r.cap.take()).icmp.code, 2, 'no raw socket: protocol unreachable');
  const fd = so.socket('raw', OSPF);
  const other = so.socket('raw', 47);
  assert.ok(fd >= 0);
  const payload = bytes(24, 5);
  feed(r, r.eth0, fromA({ dst: R0_IP, protocol: OSPF, payload, ttl: 1 }), 0);
  assert.equal(r.cap.take().length, 0);
  const buf = new Uint8Array(200);
  const meta = new RecvMeta();
  const n = so.recvFrom(fd, buf, 0, 200, meta);
  assert.equal(n, 44, 'IP header included, as Linux raw sockets receive');
  const h = parseIp(buf.slice(0, n));
  assert.equal(h.protocol, OSPF);
  assert.equal(h.src, A_IP);
  assert.equal(h.ttl, 1);
  assert.deepEqual(h.payload, payload);
  assert.equal(meta.addr, A_IP);
  assert.equal(meta.ifIndex, r.eth0);
  assert.equal(meta.dst, R0_IP);
  assert.equal(so.recvFrom(other, buf, 0, 200, meta), -errno.EAGAIN);
});

test('raw socket: multicast only for groups the VR joined on that interface; 224.0.0.1 always', () => {
  const r = ready();
  const so = r.stack.sockets;
  const fd = so.socket('raw', OSPF);
  const buf = new Uint8Array(200);
  const meta = new RecvMeta();
  feed(r, r.eth0, fromA({ dst: ALL_SPF, protocol: OSPF, payload: bytes(24), ttl: 1 }, ALL_SPF_MAC), 0);
  assert.equal(so.recvFrom(fd, buf, 0, 200, meta), -errno.EAGAIN);
  assert.equal(so.setOption(fd, 'IP_ADD_MEMBERSHIP', { group: ALL_SPF, interface: r.eth0 }), 0);
  feed(r, r.eth0, fromA({ dst: ALL_SPF, protocol: OSPF, payload: bytes(24), ttl: 1 }, ALL_SPF_MAC), 0);
  assert.equal(so.recvFrom(fd, buf, 0, 200, meta), 44);
  assert.equal(meta.dst, ALL_SPF);
  const allHostsMac = new Uint8Array([1, 0, 0x5e, 0, 0, 1]);
  feed(r, r.eth0, fromA({ dst: ip('224.0.0.1'), protocol: OSPF, payload: bytes(4), ttl: 1 }, allHostsMac), 0);
  assert.equal(so.recvFrom(fd, buf, 0, 200, meta), 24);
  assert.equal(r.cap.take().length, 0, 'never an ICMP error about multicast');
  so.close(fd, 0);
  feed(r, r.eth0, fromA({ dst: ALL_SPF, protocol: OSPF, payload: bytes(24), ttl: 1 }, ALL_SPF_MAC), 0);
  assert.equal(r.cap.take().length, 0);
});

test('raw socket send: the stack builds the IP header (protocol, TTL, TOS); multicast out of IP_MULTICAST_IF', () => {
  const r = ready();
  const so = r.stack.sockets;
  const fd = so.socket('raw', OSPF);
  so.setOption(fd, 'IP_TOS', 0xc0);
  so.setOption(fd, 'IP_MULTICAST_IF', 'eth1');
  so.setOption(fd, 'IP_MULTICAST_LOOP', 0);
  const payload = bytes(40, 9);
  assert.equal(so.sendTo(fd, payload, 0, 40, ALL_SPF, 0, 0), 40);
  const [sent] = r.cap.take();
  assert.equal(sent!.ifIndex, r.eth1);
  const f = parseFrame(sent!.bytes);
  assert.deepEqual(f.dst, ALL_SPF_MAC);
  assert.equal(f.ip!.protocol, OSPF);
  assert.equal(f.ip!.ttl, 1);
  assert.equal(f.ip!.tos, 0xc0);
  assert.equal(f.ip!.src, ip('10.0.2.1'));
  assert.ok(f.ip!.checksumOk);
  assert.deepEqual(f.ip!.payload, payload);
  // Unicast with IP_TTL; connect filters what is received.
  so.setOption(fd, 'IP_TTL', 2);
  assert.equal(so.sendTo(fd, payload, 0, 40, B_IP, 0, 0), 40);
  const g = parseFrame(r.cap.take()[0]!.bytes);
  assert.equal(g.ip!.ttl, 2);
  assert.deepEqual(g.dst, B_MAC);
  assert.equal(so.connect(fd, B_IP, 0, 0), 0);
  feed(r, r.eth0, fromA({ dst: R0_IP, protocol: OSPF, payload: bytes(8) }), 0);
  const buf = new Uint8Array(100);
  assert.equal(so.recvFrom(fd, buf, 0, 100, new RecvMeta()), -errno.EAGAIN, 'not from the connected peer');
  assert.equal(rd32(buf, 0), 0);
});

test('raw socket with IP_MULTICAST_LOOP sees its own multicast, header included', () => {
  const r = ready();
  const so = r.stack.sockets;
  const fd = so.socket('raw', OSPF);
  so.setOption(fd, 'IP_ADD_MEMBERSHIP', { group: ALL_SPF, interface: 'eth0' });
  so.setOption(fd, 'IP_MULTICAST_IF', 'eth0');
  assert.equal(so.sendTo(fd, bytes(30), 0, 30, ALL_SPF, 0, 0), 30);
  assert.equal(r.cap.take().length, 1);
  const buf = new Uint8Array(100);
  const meta = new RecvMeta();
  assert.equal(so.recvFrom(fd, buf, 0, 100, meta), 50);
  assert.equal(parseIp(buf.slice(0, 50)).src, R0_IP);
});
