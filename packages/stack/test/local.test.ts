import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type IcmpEvent, Stat } from '@nexthop/stack';
import {
  Drop,
  decodeTcp,
  FRAME_L4_CHECKSUM_GOOD,
  IPV4_MIN_HEADER,
  TCP_ACK,
  TCP_RST,
  TCP_SYN,
  TcpHeader,
} from '@nexthop/wire';
import {
  A_IP,
  A_MAC,
  B_IP,
  B_MAC,
  BROADCAST,
  bytes,
  ETHERTYPE_IPV4,
  echoFromA,
  echoRequest,
  ethFrame,
  feed,
  fromA,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  icmpMessage,
  ipv4Packet,
  learn,
  onlyIcmp,
  parseFrame,
  parseIcmp,
  R0_IP,
  R0_MAC,
  R1_IP,
  type Rig,
  rig,
  tcpFields,
  tcpSegment,
  udpFromA,
} from './harness.ts';

function ready(options: Parameters<typeof rig>[0] = {}, mtu0 = 1500): Rig {
  const r = rig(options, mtu0);
  learn(r, r.eth0, A_IP, A_MAC);
  learn(r, r.eth1, B_IP, B_MAC);
  return r;
}

/** Splits an IP payload into fragment frames from A: `cuts` are byte offsets (multiples of 8). */
function fragmentsFromA(protocol: number, payload: Uint8Array, cuts: number[], id: number): Uint8Array[] {
  const bounds = [0, ...cuts, payload.length];
  const frames: Uint8Array[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const start = bounds[i]!;
    const end = bounds[i + 1]!;
    const mf = i + 2 < bounds.length ? 0x2000 : 0;
    frames.push(
      fromA({
        dst: R0_IP,
        protocol,
        id,
        payload: payload.slice(start, end),
        flagsOffset: mf | (start >>> 3),
      }),
    );
  }
  return frames;
}

test('RFC 792 / RFC 1122 §3.2.2.6: an echo request is answered with the same id, sequence and data', () => {
  const r = ready();
  const data = bytes(37, 4); // odd length: the checksum's trailing byte
  feed(r, r.eth0, echoFromA(R0_IP, 0x1234, 0xabcd, data, { tos: 0x10 }), 0);
  const { sent, frame, ip: h, icmp } = onlyIcmp(r.cap.take());
  assert.equal(sent.ifIndex, r.eth0);
  assert.deepEqual(frame.dst, A_MAC);
  assert.deepEqual(frame.src, R0_MAC);
  assert.equal(h.src, R0_IP);
  assert.equal(h.dst, A_IP);
  assert.equal(h.ttl, 64);
  assert.equal(h.tos, 0x10);
  assert.equal(icmp.type, 0);
  assert.equal(icmp.code, 0);
  assert.equal(icmp.rest >>> 16, 0x1234);
  assert.equal(icmp.rest & 0xffff, 0xabcd);
  assert.deepEqual(icmp.body, data);
  assert.equal(r.stack.statCount(Stat.ECHO_REPLIES_SENT), 1);
});

test('an echo request to the other interface address is answered from that address', () => {
  const r = ready();
  feed(r, r.eth0, echoFromA(R1_IP, 1, 2, bytes(8)), 0);
  const { sent, ip: h, icmp } = onlyIcmp(r.cap.take());
  assert.equal(sent.ifIndex, r.eth0);
  assert.equal(h.src, R1_IP);
  assert.equal(icmp.type, 0);
});

test('RFC 1122 §3.2.2.6: an echo request to the subnet broadcast is ignored', () => {
  const r = ready();
  feed(r, r.eth0, echoFromA(0x0a0001ff, 1, 1, bytes(8), {}), 0);
  const bcast = echoFromA(0x0a0001ff, 1, 2, bytes(8));
  bcast.set(BROADCAST, 0);
  feed(r, r.eth0, bcast, 0);
  feed(r, r.eth0, echoFromA(0xffffffff, 1, 3, bytes(8)).fill(0xff, 0, 6), 0);
  assert.deepEqual(r.cap.take(), []);
});

test('RFC 791 §3.2: a 3000-byte echo request in three shuffled fragments is reassembled and answered, fragmented', () => {
  const r = ready();
  const data = bytes(3000 - 8, 21);
  const icmp = echoRequest(7, 9, data);
  const frames = fragmentsFromA(IPPROTO_ICMP, icmp, [1480, 2960], 0x777);
  assert.equal(frames.length, 3);
  feed(r, r.eth0, frames[2]!, 0);
  feed(r, r.eth0, frames[0]!, 1);
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.counters().stats.reassembly_pending, 1);
  feed(r, r.eth0, frames[1]!, 2);
  const out = r.cap.take().map((s) => parseFrame(s.bytes));
  assert.ok(out.length >= 3, 'the 3020-byte reply does not fit a 1500 MTU');
  const joined = new Uint8Array(3000);
  let covered = 0;
  const ids = new Set<number>();
  for (const [i, f] of out.entries()) {
    const h = f.ip!;
    assert.deepEqual(f.dst, A_MAC);
    assert.ok(h.totalLength <= 1500);
    assert.ok(h.checksumOk);
    assert.equal(h.src, R0_IP);
    assert.equal(h.dst, A_IP);
    assert.equal(h.mf, i < out.length - 1);
    assert.equal(h.offset % 8, 0);
    joined.set(h.payload, h.offset);
    covered += h.payload.length;
    ids.add(h.id);
  }
  assert.equal(covered, 3000);
  assert.equal(ids.size, 1, 'one datagram id');
  const reply = parseIcmp(joined);
  assert.ok(reply.checksumOk);
  assert.equal(reply.type, 0);
  assert.equal(reply.rest, (7 << 16) | 9);
  assert.deepEqual(reply.body, data);
  assert.equal(r.stack.statCount(Stat.DATAGRAMS_REASSEMBLED), 1);
  assert.equal(r.stack.statCount(Stat.FRAGMENTS_RECEIVED), 3);
  assert.equal(r.stack.counters().stats.reassembly_pending, 0);
});

test('RFC 791 §3.2: Ethernet padding on a short last fragment is not taken as data', () => {
  const r = ready();
  const data = bytes(16, 3);
  const frames = fragmentsFromA(IPPROTO_ICMP, echoRequest(1, 1, data), [16], 5);
  const last = new Uint8Array(60).fill(0xee);
  last.set(frames[1]!);
  feed(r, r.eth0, frames[0]!, 0);
  feed(r, r.eth0, last, 0);
  const { icmp } = onlyIcmp(r.cap.take());
  assert.deepEqual(icmp.body, data);
});

test('RFC 791 §3.2 (overlap, RFC 5722 spirit): overlapping fragments drop the datagram', () => {
  const r = ready();
  const icmp = echoRequest(1, 1, bytes(64));
  feed(
    r,
    r.eth0,
    fromA({ dst: R0_IP, protocol: 1, id: 3, payload: icmp.slice(0, 40), flagsOffset: 0x2000 }),
    0,
  );
  feed(r, r.eth0, fromA({ dst: R0_IP, protocol: 1, id: 3, payload: icmp.slice(32), flagsOffset: 4 }), 0);
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.dropCount(Drop.IPV4_REASSEMBLY_OVERLAP), 1);
  assert.equal(r.stack.statCount(Stat.DELIVERED), 0);
  assert.equal(r.stack.counters().stats.reassembly_pending, 0);
});

test('RFC 792 / RFC 1122 §3.3.2: reassembly timeout sends time exceeded code 1 when fragment zero arrived', () => {
  const r = ready({ reassembly: { timeoutMs: 1000 } });
  const udp = bytes(64, 8);
  const [first] = fragmentsFromA(17, udp, [32], 0x99);
  const [, second] = fragmentsFromA(17, udp, [32], 0x9a);
  feed(r, r.eth0, first!, 100);
  feed(r, r.eth0, second!, 200);
  assert.equal(r.stack.poll(150), 1100, 'the next deadline is the first datagram’s');
  r.stack.poll(1099);
  assert.deepEqual(r.cap.take(), []);
  r.stack.poll(1100);
  const { ip: h, icmp } = onlyIcmp(r.cap.take());
  assert.equal(h.src, R0_IP);
  assert.equal(h.dst, A_IP);
  assert.equal(icmp.type, 11);
  assert.equal(icmp.code, 1);
  // The quote: the first fragment's header and its first 8 data bytes.
  const firstIp = parseFrame(first!).ip!;
  assert.deepEqual(icmp.body, firstIp.packet.slice(0, IPV4_MIN_HEADER + 8));
  assert.equal(r.stack.dropCount(Drop.IPV4_REASSEMBLY_TIMEOUT), 1);
  // Only a later fragment of the second: it times out silently.
  r.stack.poll(1200);
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.dropCount(Drop.IPV4_REASSEMBLY_TIMEOUT), 2);
  assert.equal(r.stack.counters().stats.reassembly_pending, 0);
});

test('reassembly memory is capped: a datagram that does not fit is counted as IPV4_REASSEMBLY_MEMORY', () => {
  const r = ready({ reassembly: { maxBytes: 2048 } });
  for (let id = 1; id <= 3; id++) {
    feed(r, r.eth0, fromA({ dst: R0_IP, protocol: 17, id, payload: bytes(64), flagsOffset: 0x2000 }), 0);
  }
  assert.equal(r.stack.dropCount(Drop.IPV4_REASSEMBLY_MEMORY), 1);
  assert.equal(r.stack.counters().stats.reassembly_pending, 2);
  // A fragment that would grow a datagram past the cap drops it too.
  feed(
    r,
    r.eth0,
    fromA({ dst: R0_IP, protocol: 17, id: 1, payload: bytes(8), flagsOffset: 0x2000 | 400 }),
    0,
  );
  assert.equal(r.stack.dropCount(Drop.IPV4_REASSEMBLY_MEMORY), 2);
  assert.equal(r.stack.counters().stats.reassembly_pending, 1);
  assert.deepEqual(r.cap.take(), []);
});

test('RFC 1122 §4.1.3.1: UDP to the VR gets port unreachable (code 3) quoting the datagram', () => {
  const r = ready();
  const frame = udpFromA(R0_IP, bytes(20));
  feed(r, r.eth0, frame, 0);
  const { ip: h, icmp } = onlyIcmp(r.cap.take());
  assert.equal(h.src, R0_IP);
  assert.equal(h.dst, A_IP);
  assert.equal(icmp.type, 3);
  assert.equal(icmp.code, 3);
  assert.deepEqual(icmp.body, parseFrame(frame).ip!.packet);
});

test('RFC 9293 §3.10.7.1: a SYN to the VR is answered with RST/ACK, seq 0, ack = seq + 1', () => {
  const r = ready();
  const seg = tcpSegment(A_IP, R0_IP, 51000, 22, 0xfffffffe, 0, TCP_SYN);
  feed(r, r.eth0, fromA({ dst: R0_IP, protocol: IPPROTO_TCP, payload: seg }), 0);
  const out = r.cap.take();
  assert.equal(out.length, 1);
  const f = parseFrame(out[0]!.bytes);
  assert.deepEqual(f.dst, A_MAC);
  const h = f.ip!;
  assert.ok(h.checksumOk);
  assert.equal(h.protocol, IPPROTO_TCP);
  assert.equal(h.src, R0_IP);
  assert.equal(h.dst, A_IP);
  const t = tcpFields(h.payload);
  assert.deepEqual(t, {
    srcPort: 22,
    dstPort: 51000,
    seq: 0,
    ack: 0xffffffff,
    dataOffset: 20,
    flags: TCP_RST | TCP_ACK,
    window: 0,
  });
  // The TCP checksum over the pseudo header verifies.
  assert.equal(decodeTcp(h.payload, 0, h.payload.length, R0_IP, A_IP, new TcpHeader()), 0);
  assert.equal(r.stack.statCount(Stat.TCP_RESETS_SENT), 1);
});

test('RFC 9293 §3.10.7.1: data with ACK gets RST with seq = ack; data with FIN counts it; RST gets nothing', () => {
  const r = ready();
  feed(
    r,
    r.eth0,
    fromA({
      dst: R0_IP,
      protocol: IPPROTO_TCP,
      payload: tcpSegment(A_IP, R0_IP, 1, 80, 100, 5000, TCP_ACK, bytes(10)),
    }),
    0,
  );
  let t = tcpFields(parseFrame(r.cap.take()[0]!.bytes).ip!.payload);
  assert.equal(t.flags, TCP_RST);
  assert.equal(t.seq, 5000);
  assert.equal(t.ack, 0);
  feed(
    r,
    r.eth0,
    fromA({
      dst: R0_IP,
      protocol: IPPROTO_TCP,
      payload: tcpSegment(A_IP, R0_IP, 1, 80, 100, 0, 0x01, bytes(10)),
    }),
    0,
  );
  t = tcpFields(parseFrame(r.cap.take()[0]!.bytes).ip!.payload);
  assert.equal(t.flags, TCP_RST | TCP_ACK);
  assert.equal(t.ack, 111, 'seq + 10 data bytes + FIN');
  feed(
    r,
    r.eth0,
    fromA({ dst: R0_IP, protocol: IPPROTO_TCP, payload: tcpSegment(A_IP, R0_IP, 1, 80, 100, 0, TCP_RST) }),
    0,
  );
  assert.deepEqual(r.cap.take(), []);
});

test('RFC 1122 §3.2.2.1: an unknown protocol gets protocol unreachable (code 2)', () => {
  const r = ready();
  feed(r, r.eth0, fromA({ dst: R0_IP, protocol: 253, payload: bytes(12) }), 0);
  const { icmp } = onlyIcmp(r.cap.take());
  assert.equal(icmp.type, 3);
  assert.equal(icmp.code, 2);
  assert.equal(r.stack.dropCount(Drop.IPV4_UNKNOWN_PROTOCOL), 1);
});

test('ICMP messages for the VR reach onIcmp with their fields and a copy of the body', () => {
  const r = ready();
  const events: IcmpEvent[] = [];
  r.stack.onIcmp = (e) => events.push(e);
  const body = bytes(12, 9);
  const frame = ethFrame(
    R0_MAC,
    A_MAC,
    ETHERTYPE_IPV4,
    ipv4Packet({ src: A_IP, dst: R0_IP, ttl: 17, protocol: 1, payload: icmpMessage(0, 0, 0x00050006, body) }),
  );
  feed(r, r.eth0, frame, 0);
  assert.equal(events.length, 1);
  assert.deepEqual(events[0], {
    ifIndex: r.eth0,
    src: A_IP,
    dst: R0_IP,
    ttl: 17,
    type: 0,
    code: 0,
    restOfHeader: 0x00050006,
    body,
  });
  assert.deepEqual(r.cap.take(), []);
});

test('sendEcho: the VR pings a neighbour, with the address of the egress interface as source', () => {
  const r = ready();
  assert.equal(r.stack.sendEcho(B_IP, 3, 4, 10, 0), true);
  const { sent, frame, ip: h, icmp } = onlyIcmp(r.cap.take());
  assert.equal(sent.ifIndex, r.eth1);
  assert.deepEqual(frame.dst, B_MAC);
  assert.equal(h.src, R1_IP);
  assert.equal(icmp.type, 8);
  assert.equal(icmp.rest, (3 << 16) | 4);
  assert.deepEqual(
    icmp.body,
    Uint8Array.from({ length: 10 }, (_, i) => i),
  );
  assert.equal(r.stack.sendEcho(0x08080808, 3, 4, 10, 0), false, 'no route');
});

test('a checksum the driver vouches for (FRAME_L4_CHECKSUM_GOOD) is not summed again; others are', () => {
  const r = ready();
  const frame = udpFromA(R0_IP, bytes(20));
  // Break the UDP checksum: only a frame without the driver's word gets dropped for it.
  frame[14 + 20 + 6]! ^= 0xff;
  const buf = new Uint8Array(frame.length);
  buf.set(frame);
  r.stack.receive(r.eth0, buf, 0, frame.length, 0);
  assert.equal(r.stack.dropCount(Drop.UDP_BAD_CHECKSUM), 1);
  assert.deepEqual(r.cap.take(), []);
  buf.set(frame);
  r.stack.receive(r.eth0, buf, 0, frame.length, 0, FRAME_L4_CHECKSUM_GOOD);
  assert.equal(r.stack.dropCount(Drop.UDP_BAD_CHECKSUM), 1);
  assert.equal(onlyIcmp(r.cap.take()).icmp.code, 3, 'delivered: port unreachable, as for a good datagram');
});
