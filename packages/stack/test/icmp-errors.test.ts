import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Stat } from '@nexthop/stack';
import { Drop } from '@nexthop/wire';
import {
  A_IP,
  A_MAC,
  B_IP,
  B_MAC,
  BROADCAST,
  bytes,
  echoFromA,
  feed,
  fromA,
  IPPROTO_ICMP,
  IPPROTO_UDP,
  icmpMessage,
  ip,
  ipv4Packet,
  learn,
  mac,
  onlyIcmp,
  type Rig,
  rig,
  udpDatagram,
  udpFromA,
} from './harness.ts';

const FAR = ip('8.8.8.8');

function ready(options: Parameters<typeof rig>[0] = {}): Rig {
  const r = rig(options);
  learn(r, r.eth0, A_IP, A_MAC);
  learn(r, r.eth1, B_IP, B_MAC);
  return r;
}

test('RFC 1812 §4.3.2.7: no ICMP error about an ICMP error', () => {
  const r = ready();
  const quoted = ipv4Packet({ src: FAR, dst: A_IP, protocol: IPPROTO_UDP, payload: bytes(8) });
  for (const [type, code] of [
    [3, 1],
    [11, 0],
    [12, 0],
    [5, 1],
    [4, 0],
  ] as const) {
    feed(
      r,
      r.eth0,
      fromA({ dst: FAR, protocol: IPPROTO_ICMP, payload: icmpMessage(type, code, 0, quoted) }),
      0,
    );
    feed(
      r,
      r.eth0,
      fromA({ dst: B_IP, ttl: 1, protocol: IPPROTO_ICMP, payload: icmpMessage(type, code, 0, quoted) }),
      0,
    );
  }
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.dropCount(Drop.IPV4_NO_ROUTE), 5);
  assert.equal(r.stack.dropCount(Drop.IPV4_TTL_EXCEEDED), 5);
  // An echo request is not an error: it does get one.
  feed(r, r.eth0, echoFromA(FAR, 1, 1, bytes(8)), 0);
  assert.equal(onlyIcmp(r.cap.take()).icmp.type, 3);
});

test('RFC 1812 §4.3.2.7: no ICMP error about a non-initial fragment, but one about fragment zero', () => {
  const r = ready();
  feed(r, r.eth0, fromA({ dst: FAR, protocol: IPPROTO_UDP, payload: bytes(16), flagsOffset: 0x2000 | 3 }), 0);
  feed(r, r.eth0, fromA({ dst: FAR, protocol: IPPROTO_UDP, payload: bytes(16), flagsOffset: 5 }), 0);
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.dropCount(Drop.IPV4_NO_ROUTE), 2);
  feed(r, r.eth0, fromA({ dst: FAR, protocol: IPPROTO_UDP, payload: bytes(16), flagsOffset: 0x2000 }), 0);
  assert.equal(onlyIcmp(r.cap.take()).icmp.code, 0);
});

test('RFC 1812 §4.3.2.7: no ICMP error about a datagram to a broadcast or multicast address', () => {
  const r = ready();
  for (const dst of ['10.0.1.255', '10.0.2.255', '255.255.255.255', '224.0.0.9', '239.1.2.3']) {
    feed(r, r.eth0, udpFromA(ip(dst), bytes(8), {}), 0);
    feed(r, r.eth0, fromA({ dst: ip(dst), protocol: 253, payload: bytes(8) }, BROADCAST), 0);
  }
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.statCount(Stat.ICMP_ERRORS_SENT), 0);
});

test('RFC 1812 §4.3.2.7: no ICMP error about a datagram sent as a link-layer broadcast or multicast', () => {
  const r = ready();
  // For us by IP, but in a broadcast frame: no port unreachable.
  feed(r, r.eth0, udpFromA(ip('10.0.1.1'), bytes(8)).fill(0xff, 0, 6), 0);
  // Link-layer multicast to a local address: same.
  const m = udpFromA(ip('10.0.1.1'), bytes(8));
  m.set(mac('01:00:5e:00:00:01'), 0);
  feed(r, r.eth0, m, 0);
  // In transit in a broadcast frame (RFC 1812 §5.3.4): not forwarded, no error either.
  feed(r, r.eth0, udpFromA(FAR, bytes(8)).fill(0xff, 0, 6), 0);
  feed(r, r.eth0, udpFromA(B_IP, bytes(8), { ttl: 1 }).fill(0xff, 0, 6), 0);
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.dropCount(Drop.IPV4_NOT_FOR_US), 2);
});

test('RFC 1812 §4.3.2.7 / §5.3.7: no ICMP error to a source that does not name one host', () => {
  const r = ready();
  // Martian sources are dropped at input.
  for (const src of ['127.0.0.1', '0.0.0.0', '224.0.0.1', '240.0.0.1', '255.255.255.255']) {
    feed(r, r.eth0, fromA({ src: ip(src), dst: FAR, protocol: IPPROTO_UDP, payload: bytes(8) }), 0);
  }
  assert.equal(r.stack.dropCount(Drop.IPV4_MARTIAN_SOURCE), 5);
  // A subnet broadcast as source passes input checks but gets no error.
  feed(
    r,
    r.eth0,
    fromA({
      src: ip('10.0.1.255'),
      dst: FAR,
      protocol: IPPROTO_UDP,
      payload: udpDatagram(ip('10.0.1.255'), FAR, 1, 2, bytes(8)),
    }),
    0,
  );
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.dropCount(Drop.IPV4_NO_ROUTE), 1);
});

test('RFC 1812 §4.3.2.8: ICMP errors are rate limited by a token bucket that refills with time', () => {
  const r = ready({ icmpErrorRate: 10, icmpErrorBurst: 3 });
  for (let i = 0; i < 5; i++) feed(r, r.eth0, udpFromA(FAR, bytes(8)), 1000);
  assert.equal(r.cap.take().length, 3, 'the burst');
  assert.equal(r.stack.dropCount(Drop.ICMP_RATE_LIMITED), 2);
  assert.equal(r.stack.dropCount(Drop.IPV4_NO_ROUTE), 5, 'every packet is still counted as unroutable');
  // 100 ms at 10/s is one token.
  feed(r, r.eth0, udpFromA(FAR, bytes(8)), 1100);
  feed(r, r.eth0, udpFromA(FAR, bytes(8)), 1100);
  assert.equal(r.cap.take().length, 1);
  assert.equal(r.stack.dropCount(Drop.ICMP_RATE_LIMITED), 3);
  // A long pause refills to the burst, not beyond.
  for (let i = 0; i < 5; i++) feed(r, r.eth0, udpFromA(FAR, bytes(8)), 60_000);
  assert.equal(r.cap.take().length, 3);
  assert.equal(r.stack.dropCount(Drop.ICMP_RATE_LIMITED), 5);
  // Echo replies are not errors and are not limited.
  for (let i = 0; i < 5; i++) feed(r, r.eth0, echoFromA(ip('10.0.1.1'), 1, i, bytes(4)), 60_000);
  assert.equal(r.cap.take().length, 5);
});
