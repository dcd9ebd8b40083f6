import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Stat } from '@nexthop/stack';
import { Drop, internetChecksum } from '@nexthop/wire';
import {
  A_IP,
  A_MAC,
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  arpFrame,
  B_IP,
  B_MAC,
  BROADCAST,
  bytes,
  feed,
  fromA,
  GW_IP,
  GW_MAC,
  IPPROTO_UDP,
  ip,
  learn,
  mac,
  onlyIcmp,
  padFrame,
  parseFrame,
  R0_IP,
  R0_MAC,
  R1_IP,
  R1_MAC,
  type Rig,
  rig,
  udpDatagram,
  udpFromA,
  udpFromB,
  ZERO_MAC,
} from './harness.ts';

function ready(options: Parameters<typeof rig>[0] = {}, mtu0 = 1500, mtu1 = 1500): Rig {
  const r = rig(options, mtu0, mtu1);
  learn(r, r.eth0, A_IP, A_MAC);
  learn(r, r.eth1, B_IP, B_MAC);
  return r;
}

test('RFC 1812 §5.2/§5.3.1: forwarding decrements TTL, keeps the checksum valid, rewrites MACs, keeps the payload', () => {
  const r = ready();
  const data = bytes(300, 3);
  // Many TTL and id values so that the incremental checksum update meets its carries.
  for (let ttl = 2; ttl <= 255; ttl += 7) {
    for (const id of [0, 1, 0x00ff, 0x7fff, 0xfffe, 0xffff]) {
      const frame = udpFromA(B_IP, data, { ttl, id, tos: 0x28 });
      const original = parseFrame(frame).ip!;
      feed(r, r.eth0, frame, 1);
      const out = r.cap.take();
      assert.equal(out.length, 1);
      assert.equal(out[0]!.ifIndex, r.eth1);
      const f = parseFrame(out[0]!.bytes);
      assert.deepEqual(f.dst, B_MAC);
      assert.deepEqual(f.src, R1_MAC);
      const h = f.ip!;
      assert.equal(internetChecksum(h.packet, 0, h.headerLength), 0, `checksum for ttl ${ttl} id ${id}`);
      assert.equal(h.ttl, ttl - 1);
      assert.equal(h.id, id);
      assert.equal(h.tos, 0x28);
      assert.equal(h.src, A_IP);
      assert.equal(h.dst, B_IP);
      assert.deepEqual(h.payload, original.payload);
      // Every header byte other than TTL (8) and checksum (10, 11) is unchanged.
      for (const i of [0, 1, 2, 3, 4, 5, 6, 7, 9, 12, 13, 14, 15, 16, 17, 18, 19])
        assert.equal(h.packet[i], original.packet[i], `header byte ${i}`);
    }
  }
  assert.equal(r.stack.statCount(Stat.FORWARDED), 37 * 6);
});

test('IEEE 802.3 §3.2.7: Ethernet padding of a short frame is not forwarded', () => {
  const r = ready();
  const frame = udpFromA(B_IP, new Uint8Array([1, 2]));
  assert.equal(frame.length, 14 + 20 + 8 + 2);
  feed(r, r.eth0, padFrame(frame, 0xee), 0);
  const out = r.cap.take();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.bytes.length, 14 + 30, 'only totalLength bytes leave');
  const h = parseFrame(out[0]!.bytes).ip!;
  assert.equal(h.totalLength, 30);
  assert.deepEqual(h.payload.slice(8), new Uint8Array([1, 2]));
});

test('RFC 1812 §5.3.1 / RFC 792: TTL 1 gives time exceeded code 0, quoting the original header and data', () => {
  const r = ready();
  const frame = udpFromA(B_IP, bytes(40, 5), { ttl: 1, id: 0x4242 });
  const original = parseFrame(frame).ip!;
  feed(r, r.eth0, frame, 0);
  const { sent, frame: f, ip: h, icmp } = onlyIcmp(r.cap.take());
  assert.equal(sent.ifIndex, r.eth0);
  assert.deepEqual(f.dst, A_MAC);
  assert.deepEqual(f.src, R0_MAC);
  assert.equal(h.src, R0_IP, 'RFC 1812 §4.3.2.4: from the interface toward the sender');
  assert.equal(h.dst, A_IP);
  assert.equal(h.ttl, 64);
  assert.equal(icmp.type, 11);
  assert.equal(icmp.code, 0);
  assert.equal(icmp.rest, 0);
  assert.deepEqual(icmp.body, original.packet, 'the whole (short) datagram is quoted, TTL as received');
  assert.equal(r.stack.dropCount(Drop.IPV4_TTL_EXCEEDED), 1);
  assert.equal(r.stack.statCount(Stat.ICMP_ERRORS_SENT), 1);
});

test('RFC 1812 §4.3.2.4: the error source is the address of the interface toward the sender, not the ingress', () => {
  const r = ready();
  // A's packet arrives on eth1 (asymmetric path); the route back to A leaves by eth0.
  const asFromA = fromA({
    dst: ip('10.0.2.99'),
    protocol: IPPROTO_UDP,
    ttl: 1,
    payload: udpDatagram(A_IP, ip('10.0.2.99'), 1, 2, bytes(8)),
  });
  asFromA.set(R1_MAC, 0);
  asFromA.set(B_MAC, 6);
  feed(r, r.eth1, asFromA, 0);
  const { sent, ip: h, icmp } = onlyIcmp(r.cap.take());
  assert.equal(sent.ifIndex, r.eth0);
  assert.equal(h.src, R0_IP);
  assert.equal(icmp.type, 11);
});

test('RFC 1812 §5.2.2: TTL 0 in transit is counted as IPV4_TTL_ZERO and nothing is sent', () => {
  const r = ready();
  feed(r, r.eth0, udpFromA(B_IP, bytes(8), { ttl: 0 }), 0);
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.dropCount(Drop.IPV4_TTL_ZERO), 1);
});

test('RFC 1812 §5.2.7.1: no route gives net unreachable (code 0) from the ingress address', () => {
  const r = ready();
  const frame = udpFromA(ip('8.8.8.8'), bytes(16));
  feed(r, r.eth0, frame, 0);
  const { sent, ip: h, icmp } = onlyIcmp(r.cap.take());
  assert.equal(sent.ifIndex, r.eth0);
  assert.equal(h.src, R0_IP);
  assert.equal(h.dst, A_IP);
  assert.equal(icmp.type, 3);
  assert.equal(icmp.code, 0);
  assert.deepEqual(icmp.body, parseFrame(frame).ip!.packet);
  assert.equal(r.stack.dropCount(Drop.IPV4_NO_ROUTE), 1);
});

test('static route via a gateway: the frame goes to the gateway MAC; an unresolved gateway is ARPed for', () => {
  const r = ready();
  r.stack.addStaticRoute({ network: ip('192.168.0.0'), length: 16, via: GW_IP });
  feed(r, r.eth0, udpFromA(ip('192.168.5.5'), bytes(8), { id: 1 }), 0);
  const req = r.cap.take();
  assert.equal(req.length, 1);
  const a = parseFrame(req[0]!.bytes);
  assert.deepEqual(a.dst, BROADCAST);
  assert.equal(a.arp?.op, ARP_OP_REQUEST);
  assert.equal(a.arp?.tpa, GW_IP, 'ARP asks for the gateway, not the destination');
  // The gateway asks for R: that teaches R the gateway, which flushes the queue, then R answers.
  feed(r, r.eth1, arpFrame(ARP_OP_REQUEST, GW_MAC, GW_IP, ZERO_MAC, R1_IP, BROADCAST), 1);
  const flushed = r.cap.take().map((x) => parseFrame(x.bytes));
  assert.equal(flushed.length, 2);
  assert.deepEqual(flushed[0]!.dst, GW_MAC);
  assert.equal(flushed[0]!.ip?.id, 1);
  assert.equal(flushed[1]!.arp?.op, ARP_OP_REPLY);
  feed(r, r.eth0, udpFromA(ip('192.168.5.6'), bytes(8), { id: 2 }), 2);
  const out = r.cap.take();
  assert.equal(out.length, 1);
  const f = parseFrame(out[0]!.bytes);
  assert.deepEqual(f.dst, GW_MAC);
  assert.equal(f.ip?.dst, ip('192.168.5.6'));
  assert.equal(f.ip?.id, 2);
});

test('static route via a gateway: queued packets are flushed when the gateway answers', () => {
  const r = ready();
  r.stack.addStaticRoute({ network: ip('192.168.0.0'), length: 16, via: GW_IP });
  feed(r, r.eth0, udpFromA(ip('192.168.5.5'), bytes(8), { id: 7 }), 0);
  r.cap.take();
  const reply = padFrame(
    (() => {
      const f = new Uint8Array(42);
      f.set(R1_MAC, 0);
      f.set(GW_MAC, 6);
      f.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2], 12);
      f.set(GW_MAC, 22);
      f.set([10, 0, 2, 254], 28);
      f.set(R1_MAC, 32);
      f.set([10, 0, 2, 1], 38);
      return f;
    })(),
    0,
  );
  feed(r, r.eth1, reply, 1);
  const out = r.cap.take();
  assert.equal(out.length, 1);
  assert.deepEqual(parseFrame(out[0]!.bytes).dst, GW_MAC);
  assert.equal(parseFrame(out[0]!.bytes).ip?.id, 7);
});

test('blackhole routes drop silently; reject routes answer host unreachable', () => {
  const r = ready();
  r.stack.addStaticRoute({ network: ip('172.16.0.0'), length: 12, type: 'blackhole' });
  r.stack.addStaticRoute({ network: ip('198.51.100.0'), length: 24, type: 'reject' });
  feed(r, r.eth0, udpFromA(ip('172.20.1.1'), bytes(8)), 0);
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.dropCount(Drop.IPV4_BLACKHOLE), 1);
  feed(r, r.eth0, udpFromA(ip('198.51.100.7'), bytes(8)), 0);
  const { ip: h, icmp } = onlyIcmp(r.cap.take());
  assert.equal(h.src, R0_IP);
  assert.equal(icmp.type, 3);
  assert.equal(icmp.code, 1);
  assert.equal(r.stack.dropCount(Drop.IPV4_REJECT), 1);
});

test('removing a static route makes its destinations unreachable again', () => {
  const r = ready();
  r.stack.addStaticRoute({ network: ip('192.168.0.0'), length: 16, via: B_IP });
  feed(r, r.eth0, udpFromA(ip('192.168.1.1'), bytes(8)), 0);
  assert.deepEqual(parseFrame(r.cap.take()[0]!.bytes).dst, B_MAC);
  assert.equal(r.stack.removeStaticRoute(ip('192.168.0.0'), 16), true);
  assert.equal(r.stack.removeStaticRoute(ip('192.168.0.0'), 16), false);
  feed(r, r.eth0, udpFromA(ip('192.168.1.1'), bytes(8)), 0);
  const { icmp } = onlyIcmp(r.cap.take());
  assert.equal(icmp.type, 3);
  assert.equal(icmp.code, 0);
});

test('a more specific static route wins, and removing it falls back to the covering route', () => {
  const r = ready();
  r.stack.addStaticRoute({ network: ip('192.168.0.0'), length: 16, via: B_IP });
  r.stack.addStaticRoute({ network: ip('192.168.1.0'), length: 24, via: A_IP });
  feed(r, r.eth1, udpFromB(ip('192.168.1.1'), bytes(8)), 0);
  assert.deepEqual(parseFrame(r.cap.take()[0]!.bytes).dst, A_MAC);
  r.stack.removeStaticRoute(ip('192.168.1.0'), 24);
  feed(r, r.eth0, udpFromA(ip('192.168.1.1'), bytes(8)), 0);
  assert.deepEqual(parseFrame(r.cap.take()[0]!.bytes).dst, B_MAC);
});

test('RFC 1191 §4: DF set and too big gives frag needed (code 4) with the next-hop MTU', () => {
  const r = ready({}, 1500, 1000);
  const frame = udpFromA(B_IP, bytes(1200), { flagsOffset: 0x4000 });
  feed(r, r.eth0, frame, 0);
  const { ip: h, icmp } = onlyIcmp(r.cap.take());
  assert.equal(h.src, R0_IP);
  assert.equal(h.dst, A_IP);
  assert.equal(icmp.type, 3);
  assert.equal(icmp.code, 4);
  assert.equal(icmp.rest & 0xffff, 1000, 'next-hop MTU in the low 16 bits');
  assert.equal(icmp.rest >>> 16, 0, 'the unused high half is zero');
  // RFC 1812 §4.3.2.3: quoted up to 576 bytes in total.
  assert.equal(h.totalLength, 576);
  assert.deepEqual(icmp.body, parseFrame(frame).ip!.packet.slice(0, 548));
  assert.equal(r.stack.dropCount(Drop.IPV4_FRAG_NEEDED), 1);
  // Exactly at the MTU, it passes.
  feed(r, r.eth0, udpFromA(B_IP, bytes(1000 - 28), { flagsOffset: 0x4000 }), 0);
  assert.equal(parseFrame(r.cap.take()[0]!.bytes).ip?.totalLength, 1000);
});

test('RFC 791 §3.2 / §3.1: DF clear and too big is fragmented; copied options repeat, others only in the first', () => {
  const r = ready({}, 1500, 1000);
  // Stream ID (type 136: copy flag set) and record route (type 7: copy flag clear), then EOL padding.
  const streamId = [0x88, 4, 0x12, 0x34];
  const recordRoute = [7, 7, 4, 0, 0, 0, 0];
  const options = new Uint8Array([...streamId, ...recordRoute]);
  const data = bytes(2500, 11);
  const frame = udpFromA(B_IP, data, { id: 0xbeef, options, ttl: 30 });
  const original = parseFrame(frame).ip!;
  assert.equal(original.headerLength, 32);
  feed(r, r.eth0, frame, 0);
  const out = r.cap.take().map((s) => {
    assert.equal(s.ifIndex, r.eth1);
    return parseFrame(s.bytes);
  });
  assert.ok(out.length >= 3);
  let expectedOffset = 0;
  const joined = new Uint8Array(original.payload.length);
  for (const [i, f] of out.entries()) {
    const h = f.ip!;
    assert.deepEqual(f.dst, B_MAC);
    assert.ok(h.totalLength <= 1000, `fragment ${i} fits the MTU`);
    assert.ok(h.checksumOk, `fragment ${i} checksum`);
    assert.equal(h.id, 0xbeef);
    assert.equal(h.ttl, 29);
    assert.equal(h.df, false);
    assert.equal(h.offset % 8, 0);
    assert.equal(h.offset, expectedOffset, 'fragments are contiguous');
    assert.equal(h.mf, i < out.length - 1, 'MF on all but the last');
    if (i === 0) {
      assert.deepEqual(h.options, original.options, 'the first fragment keeps every option');
    } else {
      assert.equal(h.headerLength, 24);
      assert.deepEqual(h.options, new Uint8Array(streamId), 'later fragments carry only copied options');
    }
    if (i < out.length - 1) assert.equal(h.payload.length % 8, 0);
    joined.set(h.payload, h.offset);
    expectedOffset += h.payload.length;
  }
  assert.equal(expectedOffset, original.payload.length);
  assert.deepEqual(joined, original.payload, 'the fragments reassemble to the original payload');
  assert.equal(r.stack.statCount(Stat.PACKETS_FRAGMENTED), 1);
  assert.equal(r.stack.statCount(Stat.FRAGMENTS_CREATED), out.length);
});

test('RFC 791 §3.2: refragmenting a non-last fragment keeps MF on every piece and offsets relative to the original', () => {
  const r = ready({}, 1500, 576);
  const data = bytes(1200, 2);
  // A middle fragment: offset 800 bytes (100 units), MF set.
  const frame = fromA({ dst: B_IP, protocol: IPPROTO_UDP, payload: data, flagsOffset: 0x2000 | 100, id: 9 });
  feed(r, r.eth0, frame, 0);
  const out = r.cap.take().map((s) => parseFrame(s.bytes).ip!);
  assert.ok(out.length >= 3);
  let offset = 800;
  const joined: number[] = [];
  for (const h of out) {
    assert.equal(h.mf, true);
    assert.equal(h.offset, offset);
    assert.ok(h.totalLength <= 576);
    offset += h.payload.length;
    joined.push(...h.payload);
  }
  assert.deepEqual(new Uint8Array(joined), data);
});

test('forwarding to a down interface: the route goes away and the sender hears net unreachable', () => {
  const r = ready();
  r.stack.setUp(r.eth1, false, 0);
  feed(r, r.eth0, udpFromA(B_IP, bytes(8)), 0);
  const { icmp } = onlyIcmp(r.cap.take());
  assert.equal(icmp.type, 3);
  assert.equal(icmp.code, 0);
  r.stack.setUp(r.eth1, true, 1);
  r.cap.take();
  feed(r, r.eth0, udpFromA(B_IP, bytes(8)), 2);
  // The ARP cache of eth1 was flushed when it went down: R asks for B again.
  const out = r.cap.take();
  assert.equal(out.length, 1);
  assert.equal(parseFrame(out[0]!.bytes).arp?.tpa, B_IP);
});

test('R1 is reachable from A: a packet for R’s other interface address is delivered, not forwarded', () => {
  const r = ready();
  feed(r, r.eth0, udpFromA(R1_IP, bytes(8)), 0);
  const { ip: h, icmp } = onlyIcmp(r.cap.take());
  assert.equal(icmp.type, 3);
  assert.equal(icmp.code, 3, 'port unreachable from the VR itself');
  // RFC 1812 §4.3.2.4 allows an address of the interface the error leaves by; RFC 1122 the one it was sent to.
  assert.ok(h.src === R0_IP || h.src === R1_IP);
  assert.equal(r.stack.statCount(Stat.FORWARDED), 0);
});

test('an interface route (no gateway) to a prefix off the interface subnets ARPs for the destination', () => {
  const r = ready();
  const c = ip('192.168.9.5');
  const cMac = mac('02:09:00:00:00:05');
  r.stack.addStaticRoute({ network: ip('192.168.9.0'), length: 24, ifIndex: r.eth1 });
  feed(r, r.eth0, udpFromA(c, bytes(8), { id: 77 }), 0);
  const req = r.cap.take();
  assert.equal(req.length, 1);
  assert.equal(req[0]!.ifIndex, r.eth1);
  assert.deepEqual(parseFrame(req[0]!.bytes).arp, {
    op: ARP_OP_REQUEST,
    sha: R1_MAC,
    spa: R1_IP,
    tha: ZERO_MAC,
    tpa: c,
  });
  feed(r, r.eth1, arpFrame(ARP_OP_REPLY, cMac, c, R1_MAC, R1_IP, R1_MAC), 1);
  const out = r.cap.take();
  assert.equal(out.length, 1);
  assert.deepEqual(parseFrame(out[0]!.bytes).dst, cMac);
  assert.equal(parseFrame(out[0]!.bytes).ip?.id, 77);
  assert.equal(r.stack.dropCount(Drop.ARP_RESOLUTION_FAILED), 0);
});

test('a static route through a gateway on no subnet stays inactive until an address makes it resolvable', () => {
  const r = ready();
  const gw = ip('10.0.3.254');
  r.stack.addStaticRoute({ network: ip('192.168.0.0'), length: 16, via: gw });
  feed(r, r.eth0, udpFromA(ip('192.168.1.1'), bytes(8)), 0);
  assert.equal(onlyIcmp(r.cap.take()).icmp.code, 0, 'net unreachable while inactive');
  r.stack.addAddress(r.eth1, ip('10.0.3.1'), 24, 1);
  r.cap.take(); // the gratuitous ARP
  feed(r, r.eth0, udpFromA(ip('192.168.1.1'), bytes(8)), 2);
  const out = r.cap.take();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.ifIndex, r.eth1);
  assert.deepEqual(parseFrame(out[0]!.bytes).arp?.tpa, gw);
  assert.deepEqual(
    parseFrame(out[0]!.bytes).arp?.spa,
    ip('10.0.3.1'),
    'asked from the address on that subnet',
  );
});
