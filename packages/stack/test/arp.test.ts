import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Stack, Stat } from '@nexthop/stack';
import { Drop } from '@nexthop/wire';
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
  Capture,
  ETHERTYPE_ARP,
  feed,
  ip,
  learn,
  mac,
  onlyIcmp,
  parseFrame,
  R0_IP,
  R0_MAC,
  R1_IP,
  R1_MAC,
  rig,
  udpFromA,
  udpFromB,
  ZERO_MAC,
} from './harness.ts';

test('RFC 826: a request for our address is answered with our MAC, unicast to the asker', () => {
  const r = rig();
  feed(r, r.eth0, arpFrame(ARP_OP_REQUEST, A_MAC, A_IP, ZERO_MAC, R0_IP, BROADCAST), 5);
  const out = r.cap.take();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.ifIndex, r.eth0);
  const f = parseFrame(out[0]!.bytes);
  assert.deepEqual(f.dst, A_MAC);
  assert.deepEqual(f.src, R0_MAC);
  assert.equal(f.etherType, ETHERTYPE_ARP);
  assert.equal(f.length, 60, 'padded to the Ethernet minimum');
  assert.deepEqual(f.arp, { op: ARP_OP_REPLY, sha: R0_MAC, spa: R0_IP, tha: A_MAC, tpa: A_IP });
  assert.equal(r.stack.statCount(Stat.ARP_REPLIES_SENT), 1);
});

test('RFC 826: a request for an address on the other interface is not answered (no proxy ARP)', () => {
  const r = rig();
  feed(r, r.eth0, arpFrame(ARP_OP_REQUEST, A_MAC, A_IP, ZERO_MAC, R1_IP, BROADCAST), 0);
  feed(r, r.eth0, arpFrame(ARP_OP_REQUEST, A_MAC, A_IP, ZERO_MAC, ip('10.0.1.99'), BROADCAST), 0);
  assert.deepEqual(r.cap.take(), []);
  // RFC 826 merge: the sender is not in the table and we were not the target, so nothing is learnt.
  assert.deepEqual(r.stack.arpEntries(0), []);
});

test('RFC 5227 §3: adding an address announces it with a gratuitous ARP', () => {
  const cap = new Capture();
  const s = new Stack({ output: cap, seed: 1 });
  const i = s.addInterface({ name: 'eth0', mac: R0_MAC, mtu: 1500 });
  s.addAddress(i, R0_IP, 24, 0);
  const out = cap.take();
  assert.equal(out.length, 1);
  const f = parseFrame(out[0]!.bytes);
  assert.deepEqual(f.dst, BROADCAST);
  assert.deepEqual(f.src, R0_MAC);
  assert.deepEqual(f.arp, { op: ARP_OP_REQUEST, sha: R0_MAC, spa: R0_IP, tha: ZERO_MAC, tpa: R0_IP });
  // Adding the same address again is a no-op.
  s.addAddress(i, R0_IP, 24, 0);
  assert.deepEqual(cap.take(), []);
});

test('RFC 5227 §3: an address added while down is announced when the interface comes up', () => {
  const cap = new Capture();
  const s = new Stack({ output: cap, seed: 1 });
  const i = s.addInterface({ name: 'eth0', mac: R0_MAC, mtu: 1500, up: false });
  s.addAddress(i, R0_IP, 24, 0);
  s.addAddress(i, ip('192.168.7.1'), 24, 0);
  assert.deepEqual(cap.take(), []);
  s.setUp(i, true, 10);
  const out = cap.take().map((x) => parseFrame(x.bytes).arp);
  assert.deepEqual(
    out.map((a) => [a?.op, a?.spa, a?.tpa]),
    [
      [ARP_OP_REQUEST, R0_IP, R0_IP],
      [ARP_OP_REQUEST, ip('192.168.7.1'), ip('192.168.7.1')],
    ],
  );
  // Already up: nothing new.
  s.setUp(i, true, 11);
  assert.deepEqual(cap.take(), []);
  // Down and up again: announced again.
  s.setUp(i, false, 12);
  assert.deepEqual(cap.take(), []);
  s.setUp(i, true, 13);
  assert.equal(cap.take().length, 2);
});

test('RFC 826 merge: an existing entry is updated by any ARP packet, even one not for us', () => {
  const r = rig();
  learn(r, r.eth0, A_IP, A_MAC);
  const newMac = mac('02:aa:00:00:00:99');
  // A gratuitous ARP from A (target = A itself) carries its new MAC.
  feed(r, r.eth0, arpFrame(ARP_OP_REQUEST, newMac, A_IP, ZERO_MAC, A_IP, BROADCAST), 10);
  assert.deepEqual(r.cap.take(), [], 'a gratuitous ARP is not answered');
  const e = r.stack.arpEntries(10).find((x) => x.address === '10.0.1.10');
  assert.equal(e?.mac, '02:aa:00:00:00:99');
  // Forwarded traffic to A now uses the new MAC.
  learn(r, r.eth1, B_IP, B_MAC, 10);
  r.stack.addStaticRoute({ network: ip('10.9.0.0'), length: 16, via: A_IP });
  feed(r, r.eth1, udpFromB(ip('10.9.1.1'), bytes(10)), 11);
  const out = r.cap.take();
  assert.equal(out.length, 1);
  assert.deepEqual(parseFrame(out[0]!.bytes).dst, newMac);
});

test('RFC 826 merge: no entry is created for a sender when we are not the target', () => {
  const r = rig();
  const c = ip('10.0.1.77');
  feed(r, r.eth0, arpFrame(ARP_OP_REPLY, mac('02:77:00:00:00:01'), c, A_MAC, A_IP, A_MAC), 0);
  feed(
    r,
    r.eth0,
    arpFrame(ARP_OP_REQUEST, mac('02:77:00:00:00:01'), c, ZERO_MAC, ip('10.0.1.5'), BROADCAST),
    0,
  );
  assert.deepEqual(r.stack.arpEntries(0), []);
  // Targeted at us: the entry is created (and, being a request, answered).
  feed(r, r.eth0, arpFrame(ARP_OP_REQUEST, mac('02:77:00:00:00:01'), c, ZERO_MAC, R0_IP, BROADCAST), 0);
  assert.equal(r.cap.take().length, 1);
  assert.deepEqual(
    r.stack.arpEntries(0).map((e) => [e.address, e.mac, e.state]),
    [['10.0.1.77', '02:77:00:00:00:01', 'REACHABLE']],
  );
});

test('RFC 1122 §2.3.2.2: packets for an unresolved neighbour are queued and flushed in order', () => {
  const r = rig();
  for (let i = 0; i < 3; i++) feed(r, r.eth0, udpFromA(B_IP, bytes(20, i + 1), { id: 100 + i }), 0);
  const req = r.cap.take();
  assert.equal(req.length, 1, 'one ARP request for three packets');
  assert.equal(req[0]!.ifIndex, r.eth1);
  const rf = parseFrame(req[0]!.bytes);
  assert.deepEqual(rf.dst, BROADCAST);
  assert.deepEqual(rf.arp, { op: ARP_OP_REQUEST, sha: R1_MAC, spa: R1_IP, tha: ZERO_MAC, tpa: B_IP });
  assert.equal(r.stack.statCount(Stat.ARP_QUEUED), 3);
  assert.deepEqual(
    r.stack.arpEntries(0).map((e) => [e.address, e.interface, e.mac, e.state, e.queued]),
    [['10.0.2.20', 'eth1', null, 'INCOMPLETE', 3]],
  );
  feed(r, r.eth1, arpFrame(ARP_OP_REPLY, B_MAC, B_IP, R1_MAC, R1_IP, R1_MAC), 50);
  const out = r.cap.take();
  assert.equal(out.length, 3);
  for (let i = 0; i < 3; i++) {
    const f = parseFrame(out[i]!.bytes);
    assert.equal(out[i]!.ifIndex, r.eth1);
    assert.deepEqual(f.dst, B_MAC);
    assert.deepEqual(f.src, R1_MAC);
    assert.equal(f.ip?.id, 100 + i, 'flushed in arrival order');
    assert.equal(f.ip?.ttl, 63);
    assert.ok(f.ip?.checksumOk);
  }
  assert.deepEqual(
    r.stack.arpEntries(60).map((e) => [e.mac, e.state, e.queued, e.ageMs]),
    [['02:bb:00:00:00:14', 'REACHABLE', 0, 10]],
  );
});

test('RFC 1122 §2.3.2.2: the queue per neighbour is bounded and overflow is counted', () => {
  const r = rig({ arp: { queuePerNeighbour: 2 } });
  for (let i = 0; i < 5; i++) feed(r, r.eth0, udpFromA(B_IP, bytes(8), { id: i }), 0);
  assert.equal(r.cap.take().length, 1, 'one ARP request');
  assert.equal(r.stack.statCount(Stat.ARP_QUEUED), 2);
  assert.equal(r.stack.dropCount(Drop.ARP_QUEUE_FULL), 3);
  feed(r, r.eth1, arpFrame(ARP_OP_REPLY, B_MAC, B_IP, R1_MAC, R1_IP, R1_MAC), 1);
  assert.deepEqual(
    r.cap.take().map((x) => parseFrame(x.bytes).ip?.id),
    [0, 1],
  );
});

test('RFC 1122 §2.3.2.1 / RFC 1812 §4.3.3.1: retries every retransmitMs, then host unreachable to each sender', () => {
  const r = rig({ arp: { retransmitMs: 1000, maxRequests: 3 } });
  learn(r, r.eth0, A_IP, A_MAC);
  feed(r, r.eth0, udpFromA(B_IP, bytes(12, 7), { id: 1 }), 0);
  feed(r, r.eth0, udpFromA(B_IP, bytes(12, 8), { id: 2 }), 100);
  assert.equal(r.cap.take().length, 1, 'first request');
  assert.equal(r.stack.poll(500), 1000, 'next deadline is the retransmission');
  assert.deepEqual(r.cap.take(), []);
  for (const t of [1000, 2000]) {
    r.stack.poll(t);
    const out = r.cap.take();
    assert.equal(out.length, 1, `retransmission at ${t}`);
    assert.deepEqual(parseFrame(out[0]!.bytes).dst, BROADCAST);
    assert.equal(parseFrame(out[0]!.bytes).arp?.tpa, B_IP);
  }
  // Two gratuitous ARPs from the configuration, then three requests for B.
  assert.equal(r.stack.statCount(Stat.ARP_REQUESTS_SENT), 5);
  r.stack.poll(2999);
  assert.deepEqual(r.cap.take(), []);
  r.stack.poll(3000);
  const errs = r.cap.take();
  assert.equal(errs.length, 2, 'one host unreachable per queued packet');
  const ids = [1, 2];
  for (const [i, e] of errs.entries()) {
    const { ip: h, icmp, frame } = onlyIcmp([e]);
    assert.equal(e.ifIndex, r.eth0);
    assert.deepEqual(frame.dst, A_MAC);
    assert.equal(h.src, R0_IP);
    assert.equal(h.dst, A_IP);
    assert.equal(icmp.type, 3);
    assert.equal(icmp.code, 1);
    // The quote starts with the offending datagram's header.
    assert.equal((icmp.body[4]! << 8) | icmp.body[5]!, ids[i]);
  }
  assert.equal(r.stack.dropCount(Drop.ARP_RESOLUTION_FAILED), 2);
  assert.deepEqual(
    r.stack.arpEntries(3000).map((e) => e.address),
    ['10.0.1.10'],
    'the failed entry is gone',
  );
});

test('RFC 1122 §2.3.2.1: reachable turns stale after reachableMs; use while stale sends a unicast probe', () => {
  const r = rig({ arp: { reachableMs: 5000, retransmitMs: 1000, maxRequests: 3 } });
  learn(r, r.eth1, B_IP, B_MAC, 0);
  assert.equal(r.stack.poll(0), 5000);
  r.stack.poll(5000);
  assert.deepEqual(r.cap.take(), [], 'going stale sends nothing');
  assert.equal(r.stack.arpEntries(5000)[0]?.state, 'STALE');
  feed(r, r.eth0, udpFromA(B_IP, bytes(4), { id: 9 }), 6000);
  const out = r.cap.take();
  assert.equal(out.length, 2);
  const probe = parseFrame(out[0]!.bytes);
  assert.deepEqual(probe.dst, B_MAC, 'the probe is unicast');
  assert.deepEqual(probe.arp, { op: ARP_OP_REQUEST, sha: R1_MAC, spa: R1_IP, tha: ZERO_MAC, tpa: B_IP });
  const data = parseFrame(out[1]!.bytes);
  assert.deepEqual(data.dst, B_MAC, 'the stale entry is still used');
  assert.equal(data.ip?.id, 9);
  // Further use does not probe again before the retransmission time.
  feed(r, r.eth0, udpFromA(B_IP, bytes(4), { id: 10 }), 6500);
  assert.equal(r.cap.take().length, 1);
  // B answers: reachable again, and no more probes.
  feed(r, r.eth1, arpFrame(ARP_OP_REPLY, B_MAC, B_IP, R1_MAC, R1_IP, R1_MAC), 6600);
  assert.equal(r.stack.arpEntries(6600)[0]?.state, 'REACHABLE');
  r.stack.poll(7000);
  r.stack.poll(8000);
  assert.deepEqual(r.cap.take(), []);
});

test('RFC 1122 §2.3.2.1: an unanswered stale probe ends with the entry removed and no ICMP', () => {
  const r = rig({ arp: { reachableMs: 5000, retransmitMs: 1000, maxRequests: 2 } });
  learn(r, r.eth1, B_IP, B_MAC, 0);
  r.stack.poll(5000);
  feed(r, r.eth0, udpFromA(B_IP, bytes(4)), 5000);
  assert.equal(r.cap.take().length, 2);
  r.stack.poll(6000);
  const retry = r.cap.take();
  assert.equal(retry.length, 1);
  assert.deepEqual(parseFrame(retry[0]!.bytes).dst, B_MAC);
  r.stack.poll(7000);
  assert.deepEqual(r.cap.take(), []);
  assert.deepEqual(r.stack.arpEntries(7000), []);
  assert.equal(r.stack.dropCount(Drop.ARP_RESOLUTION_FAILED), 0);
});

test('ARP whose sender hardware address is multicast is dropped as ARP_BAD_SENDER', () => {
  const r = rig();
  const frame = arpFrame(ARP_OP_REQUEST, mac('03:00:00:00:00:01'), A_IP, ZERO_MAC, R0_IP, BROADCAST);
  frame.set(A_MAC, 6); // a unicast Ethernet source, so only the ARP sender is bad
  feed(r, r.eth0, frame, 0);
  assert.equal(r.stack.dropCount(Drop.ARP_BAD_SENDER), 1);
  assert.deepEqual(r.cap.take(), []);
  assert.deepEqual(r.stack.arpEntries(0), []);
});

test('RFC 5227 §2.1.1: an ARP probe (sender 0.0.0.0) for our address is answered but teaches nothing', () => {
  const r = rig();
  feed(r, r.eth0, arpFrame(ARP_OP_REQUEST, A_MAC, 0, ZERO_MAC, R0_IP, BROADCAST), 0);
  const out = r.cap.take();
  assert.equal(out.length, 1);
  assert.deepEqual(parseFrame(out[0]!.bytes).arp?.tha, A_MAC);
  assert.deepEqual(r.stack.arpEntries(0), []);
});
