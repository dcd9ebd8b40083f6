// IPv6 reassembly (RFC 8200 §4.5), overlaps (RFC 5722), atomic fragments (RFC 8021, RFC 6946).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Stat } from '@nexthop/stack';
import {
  Drop,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_ECHO_REQUEST,
  ICMPV6_TIME_EXCEEDED,
  IPPROTO_FRAGMENT,
  IPPROTO_ICMPV6,
  wr16,
  wr32,
} from '@nexthop/wire';
import {
  A_IP6,
  A_MAC,
  eth6,
  feed6,
  icmp6,
  ipv6Packet,
  learn6,
  onlyIcmp6,
  parse6,
  R0_IP6,
  R0_MAC,
  type Rig6,
  rig6,
  udp6,
} from './harness6.ts';

function ready(options: Parameters<typeof rig6>[0] = {}): Rig6 {
  const r = rig6(options);
  learn6(r, r.eth0, A_IP6, A_MAC, 1);
  return r;
}

/**
 * The fragments of the upper-layer message `upper` (next header `nh`) from A to R: pieces of the
 * given [offset, length) (offsets multiples of 8), each behind a Fragment header.
 */
function fragments(nh: number, upper: Uint8Array, pieces: [number, number][], id = 0x1234): Uint8Array[] {
  const total = upper.length;
  return pieces.map(([offset, length]) => {
    const more = offset + length < total;
    const payload = new Uint8Array(8 + length);
    payload[0] = nh;
    wr16(payload, 2, offset | (more ? 1 : 0));
    wr32(payload, 4, id);
    payload.set(upper.subarray(offset, offset + length), 8);
    return eth6(
      R0_MAC,
      A_MAC,
      ipv6Packet({ src: A_IP6, dst: R0_IP6, nextHeader: IPPROTO_FRAGMENT, payload }),
    );
  });
}

function echoRequest(size: number): Uint8Array {
  const data = new Uint8Array(size).map((_, i) => (i * 7) & 255);
  return icmp6(A_IP6, R0_IP6, ICMPV6_ECHO_REQUEST, 0, 0x00010002, data);
}

test('RFC 8200 §4.5: fragments in any order are reassembled and the echo inside answered', () => {
  const r = ready();
  const req = echoRequest(1000);
  const frags = fragments(IPPROTO_ICMPV6, req, [
    [504, 504],
    [0, 504],
  ]);
  feed6(r, r.eth0, frags[0]!, 2);
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.statCount(Stat.IPV6_FRAGMENTS_RECEIVED), 1);
  feed6(r, r.eth0, frags[1]!, 3);
  const rep = onlyIcmp6(r.cap.take(), 129);
  assert.deepEqual(rep.icmp!.body, req.subarray(8));
  assert.equal(r.stack.statCount(Stat.IPV6_REASSEMBLED), 1);
});

test('RFC 5722 §4: an overlapping fragment discards the whole packet, silently', () => {
  const r = ready();
  const req = echoRequest(1000);
  const frags = fragments(IPPROTO_ICMPV6, req, [
    [0, 512],
    [504, 504],
  ]);
  feed6(r, r.eth0, frags[0]!, 2);
  feed6(r, r.eth0, frags[1]!, 3);
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.dropCount(Drop.IPV6_REASSEMBLY_OVERLAP), 1);
  // Nothing is left of it: the timeout sends nothing.
  r.stack.poll(70_000);
  assert.deepEqual(r.cap.take(), []);
});

test('RFC 8021 / RFC 6946 §4: an atomic fragment (offset 0, M clear) is processed as a whole packet, no state', () => {
  const r = ready();
  const req = echoRequest(40);
  const [atomic] = fragments(IPPROTO_ICMPV6, req, [[0, req.length]]);
  feed6(r, r.eth0, atomic!, 2);
  onlyIcmp6(r.cap.take(), 129);
  assert.equal(r.stack.statCount(Stat.IPV6_FRAGMENTS_RECEIVED), 0);
  assert.equal(r.stack.statCount(Stat.IPV6_REASSEMBLED), 0);
});

test('RFC 8200 §4.5: after 60 s an incomplete packet whose first fragment came is answered Time Exceeded code 1', () => {
  const r = ready();
  const req = echoRequest(1000);
  const frags = fragments(IPPROTO_ICMPV6, req, [
    [0, 504],
    [504, 504],
  ]);
  feed6(r, r.eth0, frags[0]!, 1000);
  assert.equal(r.stack.nextDeadline() <= 61_000, true);
  r.stack.poll(60_999);
  assert.deepEqual(
    r.cap.take().filter((s) => parse6(s.bytes).icmp?.type === ICMPV6_TIME_EXCEEDED),
    [],
  );
  // A's entry went stale and unused long ago: A makes itself known again.
  learn6(r, r.eth0, A_IP6, A_MAC, 60_999);
  r.stack.poll(61_000);
  const e = onlyIcmp6(r.cap.take(), ICMPV6_TIME_EXCEEDED);
  assert.equal(e.icmp!.code, 1);
  assert.equal(e.ipSrc, '2001:db8:1::1');
  assert.equal(r.stack.dropCount(Drop.IPV6_REASSEMBLY_TIMEOUT), 1);
  // Without the first fragment, no error.
  feed6(r, r.eth0, fragments(IPPROTO_ICMPV6, req, [[504, 504]], 7)[0]!, 62_000);
  r.stack.poll(122_000);
  assert.deepEqual(
    r.cap.take().filter((s) => parse6(s.bytes).icmp?.type === ICMPV6_TIME_EXCEEDED),
    [],
  );
  assert.equal(r.stack.dropCount(Drop.IPV6_REASSEMBLY_TIMEOUT), 2);
});

test('reassembly is bounded: beyond maxPackets new packets are refused (counted)', () => {
  const r = ready({ reassembly6: { maxPackets: 2 } });
  const req = echoRequest(1000);
  for (let id = 0; id < 4; id++) feed6(r, r.eth0, fragments(IPPROTO_ICMPV6, req, [[0, 504]], id)[0]!, 2);
  assert.equal(r.stack.dropCount(Drop.IPV6_REASSEMBLY_MEMORY), 2);
});

test('a reassembled UDP datagram to a closed port is answered port unreachable; a duplicate fragment changes nothing', () => {
  const r = ready();
  const u = udp6(A_IP6, R0_IP6, 5000, 7, new Uint8Array(600).fill(3));
  const frags = fragments(17, u, [
    [0, 304],
    [0, 304],
    [304, 304],
  ]);
  for (const f of frags) feed6(r, r.eth0, f, 2);
  const e = onlyIcmp6(r.cap.take(), ICMPV6_DEST_UNREACHABLE);
  assert.equal(e.icmp!.code, 4);
});

test('RFC 8200 §4.5: an echo reply larger than the link leaves in fragments (the VR as a source), each within the MTU', () => {
  const r = ready();
  const req = echoRequest(3000);
  const frags = fragments(IPPROTO_ICMPV6, req, [
    [0, 1400],
    [1400, 1400],
    [2800, req.length - 2800],
  ]);
  for (const f of frags) feed6(r, r.eth0, f, 2);
  const out = r.cap.take().map((s) => parse6(s.bytes));
  assert.equal(out.length, 3);
  let id = -1;
  const whole = new Uint8Array(req.length);
  let seen = 0;
  for (const f of out) {
    assert.ok(f.packet.length <= 1500);
    assert.equal(f.nextHeader, IPPROTO_FRAGMENT);
    const h = f.payload;
    assert.equal(h[0], IPPROTO_ICMPV6);
    const word = (h[2]! << 8) | h[3]!;
    const fid = ((h[4]! << 24) | (h[5]! << 16) | (h[6]! << 8) | h[7]!) >>> 0;
    if (id < 0) id = fid;
    assert.equal(fid, id, 'one Identification');
    whole.set(h.subarray(8), word & 0xfff8);
    seen += h.length - 8;
    assert.equal((word & 1) === 1, f !== out[out.length - 1]);
  }
  assert.equal(seen, req.length);
  assert.equal(whole[0], 129, 'an echo reply');
  assert.deepEqual(whole.subarray(8), req.subarray(8));
  assert.equal(r.stack.statCount(Stat.IPV6_FRAGMENTS_CREATED), 3);
});
