import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  EPHEMERAL_FIRST,
  EPHEMERAL_LAST,
  EV_ERROR,
  EV_READABLE,
  EV_WRITABLE,
  errno,
  RecvMeta,
  SockAddr,
} from '@nexthop/stack';
import { internetChecksum, rd16, UNREACH_HOST, UNREACH_PORT, wr16, wr32 } from '@nexthop/wire';
import {
  A_IP,
  A_MAC,
  B_IP,
  B_MAC,
  bytes,
  ETHERTYPE_IPV4,
  ethFrame,
  feed,
  fromA,
  IPPROTO_UDP,
  icmpMessage,
  ip,
  ipv4Packet,
  learn,
  onlyIcmp,
  parseFrame,
  R0_IP,
  R0_MAC,
  R1_IP,
  type Rig,
  rig,
  udpDatagram,
} from './harness.ts';

function ready(seed?: number): Rig {
  const r = rig(seed === undefined ? {} : { seed });
  learn(r, r.eth0, A_IP, A_MAC);
  learn(r, r.eth1, B_IP, B_MAC);
  return r;
}

function udpFrom(
  src: number,
  srcPort: number,
  dst: number,
  dstPort: number,
  data: Uint8Array,
  ethDst = R0_MAC,
) {
  return ethFrame(
    ethDst,
    A_MAC,
    ETHERTYPE_IPV4,
    ipv4Packet({ src, dst, protocol: IPPROTO_UDP, payload: udpDatagram(src, dst, srcPort, dstPort, data) }),
  );
}

/** Pseudo header + UDP datagram, whose Internet checksum is 0 when the UDP checksum is right. */
function pseudo(src: number, dst: number, udp: Uint8Array): Uint8Array {
  const b = new Uint8Array(12 + udp.length);
  wr32(b, 0, src);
  wr32(b, 4, dst);
  b[9] = IPPROTO_UDP;
  wr16(b, 10, udp.length);
  b.set(udp, 12);
  return b;
}

function udpFields(payload: Uint8Array) {
  return {
    srcPort: rd16(payload, 0),
    dstPort: rd16(payload, 2),
    length: rd16(payload, 4),
    data: payload.slice(8),
  };
}

test('bind: EADDRINUSE on a taken port, EADDRNOTAVAIL for an address that is not ours, SO_REUSEADDR shares', () => {
  const { stack } = ready();
  const so = stack.sockets;
  const a = so.socket('dgram');
  const b = so.socket('dgram');
  assert.equal(so.bind(a, 0, 5000), 0);
  assert.equal(so.bind(b, 0, 5000), -errno.EADDRINUSE);
  assert.equal(so.bind(b, R0_IP, 5000), -errno.EADDRINUSE, 'a wildcard covers every address');
  assert.equal(so.bind(b, ip('192.0.2.1'), 5001), -errno.EADDRNOTAVAIL);
  assert.equal(so.bind(b, R0_IP, 5001), 0);
  assert.equal(so.bind(b, R0_IP, 5002), -errno.EINVAL, 'bound twice');
  const c = so.socket('dgram');
  assert.equal(so.bind(c, R1_IP, 5001), 0, 'different specific addresses share a port');
  const d = so.socket('dgram');
  const e = so.socket('dgram');
  so.setOption(d, 'SO_REUSEADDR', 1);
  so.setOption(e, 'SO_REUSEADDR', 1);
  assert.equal(so.bind(d, 0, 6000), 0);
  assert.equal(so.bind(e, 0, 6000), 0);
  assert.equal(so.close(a, 0), 0);
  const f = so.socket('dgram');
  assert.equal(so.bind(f, 0, 5000), 0, 'closing frees the port');
  assert.equal(so.close(999, 0), -errno.EBADF);
  assert.equal(so.socket('stream', 17), -errno.EPROTONOSUPPORT);
  assert.equal(so.socket('raw', 0), -errno.EPROTONOSUPPORT);
});

test('bind to port 0 takes distinct ephemeral ports from 32768-60999, the sequence fixed by the seed', () => {
  const ports = (seed: number) => {
    const { stack } = ready(seed);
    const out: number[] = [];
    const sa = new SockAddr();
    for (let i = 0; i < 50; i++) {
      const fd = stack.sockets.socket('dgram');
      assert.equal(stack.sockets.bind(fd, 0, 0), 0);
      stack.sockets.localAddress(fd, sa);
      out.push(sa.port);
    }
    return out;
  };
  const p1 = ports(7);
  assert.equal(new Set(p1).size, 50);
  for (const p of p1) assert.ok(p >= EPHEMERAL_FIRST && p <= EPHEMERAL_LAST);
  assert.deepEqual(ports(7), p1);
  assert.notDeepEqual(ports(8), p1);
});

test('UDP: a datagram to a bound port is queued with its peer, interface and destination (IP_PKTINFO); the reply leaves checksummed', () => {
  const r = ready();
  const so = r.stack.sockets;
  const events: [number, number][] = [];
  so.onSocketEvent = (fd, ev) => events.push([fd, ev]);
  const fd = so.socket('dgram');
  so.setOption(fd, 'IP_PKTINFO', 1);
  assert.equal(so.bind(fd, 0, 7), 0);
  assert.equal(so.events(fd), EV_WRITABLE);
  const data = bytes(33, 3);
  feed(r, r.eth0, udpFrom(A_IP, 40000, R0_IP, 7, data), 0);
  assert.equal(r.cap.take().length, 0, 'no ICMP for an open port');
  assert.deepEqual(events, [[fd, EV_READABLE | EV_WRITABLE]]);
  const buf = new Uint8Array(100);
  const meta = new RecvMeta();
  assert.equal(so.recvFrom(fd, buf, 10, 90, meta), 33);
  assert.deepEqual(buf.slice(10, 43), data);
  assert.equal(meta.addr, A_IP);
  assert.equal(meta.port, 40000);
  assert.equal(meta.ifIndex, r.eth0);
  assert.equal(meta.hopLimit, 64, 'the TTL it arrived with (IP_RECVTTL; BFD checks 255, RFC 5881 §5)');
  assert.equal(meta.dst, R0_IP);
  assert.equal(meta.truncated, false);
  assert.equal(so.recvFrom(fd, buf, 0, 100, meta), -errno.EAGAIN);
  assert.equal(so.sendTo(fd, data, 0, 33, A_IP, 40000, 0), 33);
  const [sent] = r.cap.take();
  const f = parseFrame(sent!.bytes);
  assert.deepEqual(f.dst, A_MAC);
  assert.equal(f.ip!.src, R0_IP);
  assert.equal(f.ip!.dst, A_IP);
  assert.equal(f.ip!.df, false, 'UDP does not set DF');
  assert.equal(f.ip!.ttl, 64);
  const u = udpFields(f.ip!.payload);
  assert.equal(u.srcPort, 7);
  assert.equal(u.dstPort, 40000);
  assert.deepEqual(u.data, data);
  assert.equal(
    internetChecksum(pseudo(f.ip!.src, f.ip!.dst, f.ip!.payload), 0, 12 + f.ip!.payload.length),
    0,
  );
});

test('UDP: truncation, the bounded queue (drops counted) and SO_RCVBUF', () => {
  const r = ready();
  const so = r.stack.sockets;
  const fd = so.socket('dgram');
  so.bind(fd, 0, 9);
  so.setOption(fd, 'SO_RCVBUF', 2000); // 4000 bytes of ring, as Linux doubles it
  assert.equal(so.getOption(fd, 'SO_RCVBUF'), 4000);
  for (let i = 0; i < 6; i++) feed(r, r.eth0, udpFrom(A_IP, 40000 + i, R0_IP, 9, bytes(1000, i + 1)), 0);
  assert.equal(so.counters()['udp_rx_queue_full'], 2);
  const row = so.list().find((x) => x.fd === fd)!;
  assert.equal(row.recvQ, 4000);
  const buf = new Uint8Array(10);
  const meta = new RecvMeta();
  assert.equal(so.recvFrom(fd, buf, 0, 10, meta), 10);
  assert.equal(meta.truncated, true);
  assert.equal(meta.length, 1000);
  assert.deepEqual(buf, bytes(1000, 1).slice(0, 10));
  assert.equal(meta.port, 40000);
  const big = new Uint8Array(2000);
  for (let i = 1; i < 4; i++) {
    assert.equal(so.recvFrom(fd, big, 0, 2000, meta), 1000);
    assert.equal(meta.port, 40000 + i);
    assert.deepEqual(big.slice(0, 1000), bytes(1000, i + 1));
  }
  assert.equal(so.recvFrom(fd, big, 0, 2000, meta), -errno.EAGAIN);
});

test('UDP demux: a connected socket beats a bound address, which beats the wildcard', () => {
  const r = ready();
  const so = r.stack.sockets;
  const wild = so.socket('dgram');
  const spec = so.socket('dgram');
  const conn = so.socket('dgram');
  for (const fd of [wild, spec, conn]) so.setOption(fd, 'SO_REUSEADDR', 1);
  so.bind(wild, 0, 500);
  so.bind(spec, R0_IP, 500);
  so.bind(conn, R0_IP, 500);
  assert.equal(so.connect(conn, A_IP, 1111, 0), 0);
  const meta = new RecvMeta();
  const buf = new Uint8Array(64);
  feed(r, r.eth0, udpFrom(A_IP, 1111, R0_IP, 500, bytes(4)), 0);
  feed(r, r.eth0, udpFrom(A_IP, 2222, R0_IP, 500, bytes(5)), 0);
  feed(r, r.eth1, udpFrom(B_IP, 3333, R1_IP, 500, bytes(6)), 0);
  assert.equal(so.recvFrom(conn, buf, 0, 64, meta), 4);
  assert.equal(so.recvFrom(conn, buf, 0, 64, meta), -errno.EAGAIN);
  assert.equal(so.recvFrom(spec, buf, 0, 64, meta), 5);
  assert.equal(so.recvFrom(spec, buf, 0, 64, meta), -errno.EAGAIN);
  assert.equal(r.cap.take().length, 0);
});

test('UDP: a closed port is answered with ICMP port unreachable quoting the datagram', () => {
  const r = ready();
  const so = r.stack.sockets;
  const fd = so.socket('dgram');
  so.bind(fd, R1_IP, 53); // bound on another address: 10.0.1.1:53 stays closed
  feed(r, r.eth0, udpFrom(A_IP, 40000, R0_IP, 53, bytes(8)), 0);
  const { ip: h, icmp } = onlyIcmp(r.cap.take());
  assert.equal(h.src, R0_IP);
  assert.equal(h.dst, A_IP);
  assert.equal(icmp.type, 3);
  assert.equal(icmp.code, UNREACH_PORT);
  assert.equal(so.counters()['udp_no_port'], 1);
});

test('UDP broadcast: limited and subnet broadcasts reach wildcard sockets only, never with an ICMP error', () => {
  const r = ready();
  const so = r.stack.sockets;
  const wild = so.socket('dgram');
  const spec = so.socket('dgram');
  so.setOption(wild, 'SO_REUSEADDR', 1);
  so.setOption(spec, 'SO_REUSEADDR', 1);
  so.bind(wild, 0, 520);
  so.bind(spec, R0_IP, 520);
  const bcastMac = new Uint8Array(6).fill(255);
  feed(r, r.eth0, udpFrom(A_IP, 520, 0xffffffff, 520, bytes(10), bcastMac), 0);
  feed(r, r.eth0, udpFrom(A_IP, 520, ip('10.0.1.255'), 520, bytes(11), bcastMac), 0);
  feed(r, r.eth0, udpFrom(A_IP, 520, ip('10.0.1.255'), 521, bytes(12), bcastMac), 0);
  assert.equal(r.cap.take().length, 0);
  const meta = new RecvMeta();
  const buf = new Uint8Array(64);
  assert.equal(so.recvFrom(wild, buf, 0, 64, meta), 10);
  assert.equal(meta.dst, 0xffffffff);
  assert.equal(so.recvFrom(wild, buf, 0, 64, meta), 11);
  assert.equal(meta.dst, ip('10.0.1.255'));
  assert.equal(so.recvFrom(spec, buf, 0, 64, meta), -errno.EAGAIN);
  // Sending to a broadcast needs SO_BROADCAST, then leaves with the broadcast MAC.
  assert.equal(so.sendTo(wild, bytes(3), 0, 3, ip('10.0.2.255'), 520, 0), -errno.EACCES);
  so.setOption(wild, 'SO_BROADCAST', 1);
  assert.equal(so.sendTo(wild, bytes(3), 0, 3, ip('10.0.2.255'), 520, 0), 3);
  const [sent] = r.cap.take();
  const f = parseFrame(sent!.bytes);
  assert.equal(sent!.ifIndex, r.eth1);
  assert.deepEqual(f.dst, bcastMac);
  assert.equal(f.ip!.src, R1_IP);
});

test('UDP multicast: only sockets that joined the group on that interface, or bound to the group, receive', () => {
  const r = ready();
  const so = r.stack.sockets;
  const group = ip('224.0.0.9');
  const groupMac = new Uint8Array([1, 0, 0x5e, 0, 0, 9]);
  const joined = so.socket('dgram');
  const notJoined = so.socket('dgram');
  const onGroup = so.socket('dgram');
  for (const fd of [joined, notJoined, onGroup]) so.setOption(fd, 'SO_REUSEADDR', 1);
  so.bind(joined, 0, 520);
  so.bind(notJoined, 0, 520);
  assert.equal(so.bind(onGroup, group, 520), 0);
  assert.equal(so.setOption(joined, 'IP_ADD_MEMBERSHIP', { group, interface: 'eth0' }), 0);
  assert.equal(so.setOption(joined, 'IP_ADD_MEMBERSHIP', { group, interface: 'eth0' }), -errno.EADDRINUSE);
  assert.equal(so.setOption(joined, 'IP_ADD_MEMBERSHIP', { group, interface: 'nope' }), -errno.ENODEV);
  assert.equal(
    so.setOption(joined, 'IP_ADD_MEMBERSHIP', { group: ip('239.1.1.1'), interface: 'eth0' }),
    -errno.EOPNOTSUPP,
  );
  assert.equal(so.setOption(joined, 'IP_ADD_MEMBERSHIP', { group: A_IP, interface: 'eth0' }), -errno.EINVAL);
  const meta = new RecvMeta();
  const buf = new Uint8Array(64);
  feed(r, r.eth0, udpFrom(A_IP, 520, group, 520, bytes(7), groupMac), 0);
  assert.equal(so.recvFrom(joined, buf, 0, 64, meta), 7);
  assert.equal(meta.dst, group);
  assert.equal(meta.ifIndex, r.eth0);
  assert.equal(so.recvFrom(notJoined, buf, 0, 64, meta), -errno.EAGAIN);
  assert.equal(so.recvFrom(onGroup, buf, 0, 64, meta), 7);
  // On eth1 the group was not joined: only the socket bound to the group... which needs a membership
  // for the VR to accept the group there at all.
  feed(r, r.eth1, udpFrom(B_IP, 520, group, 520, bytes(8), groupMac), 0);
  assert.equal(so.recvFrom(joined, buf, 0, 64, meta), -errno.EAGAIN);
  assert.equal(so.recvFrom(onGroup, buf, 0, 64, meta), -errno.EAGAIN);
  assert.equal(so.setOption(joined, 'IP_DROP_MEMBERSHIP', { group, interface: 'eth0' }), 0);
  assert.equal(
    so.setOption(joined, 'IP_DROP_MEMBERSHIP', { group, interface: 'eth0' }),
    -errno.EADDRNOTAVAIL,
  );
  feed(r, r.eth0, udpFrom(A_IP, 520, group, 520, bytes(7), groupMac), 0);
  assert.equal(so.recvFrom(joined, buf, 0, 64, meta), -errno.EAGAIN);
  assert.equal(r.cap.take().length, 0);
});

test('UDP multicast send: IP_MULTICAST_IF, TTL 1 by default, the group MAC, and the loopback copy', () => {
  const r = ready();
  const so = r.stack.sockets;
  const group = ip('224.0.0.9');
  const member = so.socket('dgram');
  so.bind(member, 0, 520);
  so.setOption(member, 'IP_ADD_MEMBERSHIP', { group, interface: 'eth1' });
  const tx = so.socket('dgram');
  so.bind(tx, 0, 5200);
  assert.equal(so.setOption(tx, 'IP_MULTICAST_IF', 'eth1'), 0);
  assert.equal(so.getOption(tx, 'IP_MULTICAST_IF'), r.eth1);
  assert.equal(so.getOption(tx, 'IP_MULTICAST_TTL'), 1);
  assert.equal(so.sendTo(tx, bytes(20), 0, 20, group, 520, 0), 20);
  const [sent] = r.cap.take();
  assert.equal(sent!.ifIndex, r.eth1);
  const f = parseFrame(sent!.bytes);
  assert.deepEqual(f.dst, new Uint8Array([1, 0, 0x5e, 0, 0, 9]));
  assert.equal(f.ip!.ttl, 1);
  assert.equal(f.ip!.src, R1_IP);
  const meta = new RecvMeta();
  const buf = new Uint8Array(64);
  assert.equal(so.recvFrom(member, buf, 0, 64, meta), 20, 'IP_MULTICAST_LOOP is on by default');
  assert.equal(meta.port, 5200);
  so.setOption(tx, 'IP_MULTICAST_LOOP', 0);
  so.setOption(tx, 'IP_MULTICAST_TTL', 5);
  // IP_MULTICAST_IF by the interface's address, as struct in_addr names it.
  assert.equal(so.setOption(tx, 'IP_MULTICAST_IF', R0_IP), 0);
  assert.equal(so.sendTo(tx, bytes(20), 0, 20, group, 520, 0), 20);
  const [sent2] = r.cap.take();
  assert.equal(sent2!.ifIndex, r.eth0);
  assert.equal(parseFrame(sent2!.bytes).ip!.ttl, 5);
  assert.equal(so.recvFrom(member, buf, 0, 64, meta), -errno.EAGAIN);
});

test('ICMP errors reach connected UDP sockets as their pending error (ECONNREFUSED, EHOSTUNREACH)', () => {
  const r = ready();
  const so = r.stack.sockets;
  const conn = so.socket('dgram');
  assert.equal(so.connect(conn, A_IP, 9999, 0), 0);
  const local = new SockAddr();
  so.localAddress(conn, local);
  assert.equal(local.addr, R0_IP, 'connect picks the source address');
  assert.ok(local.port >= EPHEMERAL_FIRST);
  const unconn = so.socket('dgram');
  so.bind(unconn, 0, 4444);
  assert.equal(so.send(conn, bytes(12), 0, 12, 0), 12);
  assert.equal(so.sendTo(unconn, bytes(12), 0, 12, A_IP, 9999, 0), 12);
  const [d1, d2] = r.cap.take();
  const events: [number, number][] = [];
  so.onSocketEvent = (fd, ev) => events.push([fd, ev]);
  for (const d of [d1!, d2!]) {
    const quote = parseFrame(d.bytes).ip!.packet.slice(0, 28);
    feed(r, r.eth0, fromA({ dst: R0_IP, protocol: 1, payload: icmpMessage(3, UNREACH_PORT, 0, quote) }), 0);
  }
  assert.deepEqual(events, [[conn, EV_READABLE | EV_WRITABLE | EV_ERROR]]);
  const buf = new Uint8Array(64);
  assert.equal(so.recv(conn, buf, 0, 64, 0), -errno.ECONNREFUSED);
  assert.equal(so.recv(conn, buf, 0, 64, 0), -errno.EAGAIN, 'the error is taken once');
  assert.equal(so.recv(unconn, buf, 0, 64, 0), -errno.EAGAIN, 'unconnected sockets do not see errors');
  // Host unreachable, read through SO_ERROR.
  const quote = parseFrame(d1!.bytes).ip!.packet.slice(0, 28);
  feed(r, r.eth0, fromA({ dst: R0_IP, protocol: 1, payload: icmpMessage(3, UNREACH_HOST, 0, quote) }), 0);
  assert.equal(so.getOption(conn, 'SO_ERROR'), errno.EHOSTUNREACH);
  assert.equal(so.getOption(conn, 'SO_ERROR'), 0);
  // A fragmentation-needed is a soft error: not reported.
  feed(r, r.eth0, fromA({ dst: R0_IP, protocol: 1, payload: icmpMessage(3, 4, 1400, quote) }), 0);
  assert.equal(so.getOption(conn, 'SO_ERROR'), 0);
});

test('sendTo: ENETUNREACH without a route, EMSGSIZE above 65507, large datagrams fragmented without DF', () => {
  const r = ready();
  const so = r.stack.sockets;
  const fd = so.socket('dgram');
  assert.equal(so.sendTo(fd, bytes(10), 0, 10, ip('192.0.2.1'), 53, 0), -errno.ENETUNREACH);
  assert.equal(so.sendTo(fd, new Uint8Array(65508), 0, 65508, A_IP, 53, 0), -errno.EMSGSIZE);
  assert.equal(so.sendTo(fd, bytes(10), 0, 10, A_IP, 0, 0), -errno.EINVAL);
  assert.equal(so.send(fd, bytes(10), 0, 10, 0), -errno.EDESTADDRREQ);
  assert.equal(so.sendTo(fd, new Uint8Array(65507), 0, 65507, A_IP, 53, 0), 65507);
  const frames = r.cap.take();
  assert.equal(frames.length, 45);
  for (const fr of frames) assert.equal(parseFrame(fr.bytes).ip!.df, false);
  assert.equal(so.setOption(fd, 'SO_BINDTODEVICE', 'eth1'), 0);
  assert.equal(
    so.sendTo(fd, bytes(10), 0, 10, A_IP, 53, 0),
    -errno.ENETUNREACH,
    'A is not reached through eth1',
  );
  assert.equal(so.sendTo(fd, bytes(10), 0, 10, B_IP, 53, 0), 10);
  assert.equal(so.setOption(fd, 'SO_BINDTODEVICE', 'eth9'), -errno.ENODEV);
});

test('UDP to one of the VR own addresses loops back', () => {
  const r = ready();
  const so = r.stack.sockets;
  const rx = so.socket('dgram');
  so.bind(rx, 0, 7000);
  const tx = so.socket('dgram');
  assert.equal(so.sendTo(tx, bytes(5), 0, 5, R1_IP, 7000, 0), 5);
  assert.equal(r.cap.take().length, 0);
  const meta = new RecvMeta();
  assert.equal(so.recvFrom(rx, new Uint8Array(16), 0, 16, meta), 5);
  assert.equal(meta.addr, R1_IP);
  const c = so.socket('dgram');
  so.connect(c, R0_IP, 7001, 0);
  so.send(c, bytes(5), 0, 5, 0);
  assert.equal(so.recv(c, new Uint8Array(8), 0, 8, 0), -errno.ECONNREFUSED);
});

test('shutdown and close of datagram sockets', () => {
  const r = ready();
  const so = r.stack.sockets;
  const fd = so.socket('dgram');
  assert.equal(so.shutdown(fd, 'both', 0), -errno.ENOTCONN);
  so.connect(fd, A_IP, 9, 0);
  assert.equal(so.shutdown(fd, 'write', 0), 0);
  assert.equal(so.send(fd, bytes(1), 0, 1, 0), -errno.EPIPE);
  assert.equal(so.shutdown(fd, 'read', 0), 0);
  assert.equal(so.recv(fd, new Uint8Array(4), 0, 4, 0), 0);
  assert.equal(so.close(fd, 0), 0);
  assert.equal(so.size, 0);
});
