// Aggregated frames (GSO from a local sender, GRO on a NIC) are cut back into the segments they
// stand for when they must leave by a link they do not fit: what a NIC's TSO/USO would have done.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeIpv4,
  decodeTcp,
  decodeUdp,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_FLAG_DF,
  Ipv4Header,
  TCP_ACK,
  TCP_CWR,
  TCP_FIN,
  TCP_PSH,
  TcpHeader,
  UdpHeader,
} from '@nexthop/wire';
import { A_IP, A_MAC, B_IP, B_MAC, bytes, fromA, learn, rig, tcpSegment, udpDatagram } from './harness.ts';

function feedAggregate(r: ReturnType<typeof rig>, frame: Uint8Array, segmentSize: number): void {
  const buf = new Uint8Array(frame.length + 32);
  buf.set(frame, 16);
  r.stack.receive(r.eth0, buf, 16, frame.length, 1, segmentSize);
}

test('a 20 kB TCP aggregate with segment size 1448 leaves as 1500-byte segments in sequence', () => {
  const r = rig();
  learn(r, r.eth1, B_IP, B_MAC);
  const data = bytes(20_000, 7);
  const seq = 0xfffff000; // wraps inside the aggregate
  const tcp = tcpSegment(A_IP, B_IP, 40000, 5001, seq, 99, TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR, data);
  feedAggregate(
    r,
    fromA({ dst: B_IP, protocol: IPPROTO_TCP, payload: tcp, flagsOffset: IPV4_FLAG_DF, id: 500 }),
    1448,
  );
  const out = r.cap.take();
  assert.equal(out.length, Math.ceil(20_000 / 1448));
  const got = new Uint8Array(20_000);
  let expectSeq = seq;
  out.forEach((f, i) => {
    const h = new Ipv4Header();
    assert.equal(decodeIpv4(f.bytes, 14, f.bytes.length - 14, h), 0, 'IP header valid');
    assert.ok(h.totalLength <= 1500);
    assert.equal(h.id, 500 + i);
    assert.equal(h.ttl, 63);
    assert.ok(h.dontFragment);
    const t = new TcpHeader();
    assert.equal(decodeTcp(f.bytes, 34, h.totalLength - 20, A_IP, B_IP, t), 0, `segment ${i} checksum`);
    assert.equal(t.seq, expectSeq);
    const last = i === out.length - 1;
    assert.equal((t.flags & TCP_FIN) !== 0, last, 'FIN only on the last');
    assert.equal((t.flags & TCP_PSH) !== 0, last, 'PSH only on the last');
    assert.equal((t.flags & TCP_CWR) !== 0, i === 0, 'CWR only on the first');
    assert.ok((t.flags & TCP_ACK) !== 0);
    got.set(f.bytes.subarray(t.dataOffset, t.dataOffset + t.dataLength), (t.seq - seq) >>> 0);
    expectSeq = (expectSeq + t.dataLength) >>> 0;
  });
  assert.deepEqual(got, data);
  assert.equal(r.stack.counters().stats['segments_created'], out.length);
});

test('segments whose size does not fit the egress MTU with DF get fragmentation needed (RFC 1191)', () => {
  const r = rig({}, 1500, 1280);
  learn(r, r.eth0, A_IP, A_MAC);
  learn(r, r.eth1, B_IP, B_MAC);
  const tcp = tcpSegment(A_IP, B_IP, 40000, 5001, 1, 1, TCP_ACK, bytes(10_000));
  feedAggregate(
    r,
    fromA({ dst: B_IP, protocol: IPPROTO_TCP, payload: tcp, flagsOffset: IPV4_FLAG_DF }),
    1448,
  );
  const out = r.cap.take();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.ifIndex, r.eth0, 'the error goes back to the sender');
  assert.equal(out[0]!.bytes[34], 3);
  assert.equal(out[0]!.bytes[35], 4);
  assert.equal((out[0]!.bytes[40]! << 8) | out[0]!.bytes[41]!, 1280);
});

test('segments that fit after the sender lowered its segment size are cut to that size', () => {
  const r = rig({}, 1500, 1280);
  learn(r, r.eth1, B_IP, B_MAC);
  const tcp = tcpSegment(A_IP, B_IP, 40000, 5001, 1, 1, TCP_ACK, bytes(5000));
  feedAggregate(
    r,
    fromA({ dst: B_IP, protocol: IPPROTO_TCP, payload: tcp, flagsOffset: IPV4_FLAG_DF }),
    1240,
  );
  const out = r.cap.take();
  assert.deepEqual(
    out.map((f) => f.bytes.length - 14),
    [1280, 1280, 1280, 1280, 40 + 5000 - 4 * 1240],
  );
});

test('a UDP aggregate (USO) becomes separate datagrams, even when the whole would fit', () => {
  const r = rig();
  learn(r, r.eth1, B_IP, B_MAC);
  const data = bytes(1000, 3);
  const udp = udpDatagram(A_IP, B_IP, 4433, 443, data);
  feedAggregate(r, fromA({ dst: B_IP, protocol: IPPROTO_UDP, payload: udp }), 300);
  const out = r.cap.take();
  assert.deepEqual(
    out.map((f) => f.bytes.length - 14 - 28),
    [300, 300, 300, 100],
  );
  const joined: number[] = [];
  for (const f of out) {
    const u = new UdpHeader();
    assert.equal(decodeUdp(f.bytes, 34, f.bytes.length - 34, A_IP, B_IP, u), 0, 'each datagram checksums');
    joined.push(...f.bytes.subarray(42, 34 + u.length));
  }
  assert.deepEqual(Uint8Array.from(joined), data);
});

test('an ordinary frame of the same size without a segment size is fragmented, not segmented', () => {
  const r = rig({}, 1500, 1280);
  learn(r, r.eth1, B_IP, B_MAC);
  const tcp = tcpSegment(A_IP, B_IP, 40000, 5001, 1, 1, TCP_ACK, bytes(1400));
  const frame = fromA({ dst: B_IP, protocol: IPPROTO_TCP, payload: tcp });
  const buf = new Uint8Array(frame.length);
  buf.set(frame);
  r.stack.receive(r.eth0, buf, 0, frame.length, 1);
  const stats = r.stack.counters().stats;
  assert.equal(stats['packets_fragmented'], 1);
  assert.equal(stats['segments_created'], 0);
});

test('a TCP aggregate towards a link that segments it passes whole, with its segment size', () => {
  const r = rig({}, 1500, 1500, 65521);
  learn(r, r.eth1, B_IP, B_MAC);
  const data = bytes(20_000, 3);
  const tcp = tcpSegment(A_IP, B_IP, 40000, 5001, 1000, 99, TCP_ACK | TCP_PSH, data);
  const frame = fromA({ dst: B_IP, protocol: IPPROTO_TCP, payload: tcp, flagsOffset: IPV4_FLAG_DF, id: 7 });
  feedAggregate(r, frame, 1448);
  const out = r.cap.take();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.segmentSize, 1448);
  assert.equal(out[0]!.ifIndex, r.eth1);
  assert.deepEqual(out[0]!.bytes.subarray(54), data);
  const stats = r.stack.counters().stats;
  assert.equal(stats['aggregates_offloaded'], 1);
  assert.equal(stats['segments_created'], 0);
});

test('UDP aggregates and TCP aggregates whose segments exceed the MTU are still cut for such a link', () => {
  const r = rig({}, 1500, 1000, 65521);
  learn(r, r.eth1, B_IP, B_MAC);
  const tcp = tcpSegment(A_IP, B_IP, 40000, 5001, 1000, 99, TCP_ACK, bytes(5000, 1));
  feedAggregate(r, fromA({ dst: B_IP, protocol: IPPROTO_TCP, payload: tcp, id: 7 }), 1448);
  const tcpOut = r.cap.take();
  assert.ok(tcpOut.length >= 6 && tcpOut.every((f) => f.segmentSize === 0 && f.bytes.length <= 1014));
  const udp = udpDatagram(A_IP, B_IP, 4000, 5000, bytes(3000, 2));
  feedAggregate(r, fromA({ dst: B_IP, protocol: IPPROTO_UDP, payload: udp, id: 9 }), 900);
  const udpOut = r.cap.take();
  assert.equal(udpOut.length, 4);
  assert.ok(udpOut.every((f) => f.segmentSize === 0));
  assert.equal(r.stack.counters().stats['aggregates_offloaded'], 0);
});
