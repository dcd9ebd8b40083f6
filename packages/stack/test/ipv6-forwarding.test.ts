// IPv6 forwarding (RFC 8200, RFC 4443, RFC 4861 §8.2), routes, Parameter Problems and the ICMPv6
// error rules (RFC 4443 §2.4), through Stack.receive.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Stat } from '@nexthop/stack';
import {
  Drop,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_PARAMETER_PROBLEM,
  ICMPV6_REDIRECT,
  ICMPV6_TIME_EXCEEDED,
  IPPROTO_DSTOPTS,
  IPPROTO_HOPOPTS,
  IPPROTO_ROUTING,
  IPPROTO_UDP,
} from '@nexthop/wire';
import {
  A_IP6,
  A_LL,
  A_MAC,
  B_IP6,
  B_MAC,
  eth6,
  feed6,
  formatIpv6,
  GW_LL,
  GW_MAC,
  icmp6,
  icmp6Frame,
  ip6,
  ipv6Packet,
  learn6,
  naFrame,
  onlyIcmp6,
  parse6,
  R0_IP6,
  R0_LL,
  R0_MAC,
  R1_IP6,
  R1_MAC,
  type Rig6,
  rig6,
  udp6,
  udpFromA6,
} from './harness6.ts';

/** R with A (eth0) and B (eth1) resolved. */
function ready(options: Parameters<typeof rig6>[0] = {}, mtu0 = 1500, mtu1 = 1500): Rig6 {
  const r = rig6(options, true, mtu0, mtu1);
  learn6(r, r.eth0, A_IP6, A_MAC, 1);
  learn6(r, r.eth1, B_IP6, B_MAC, 1);
  // Make B REACHABLE (a solicited NA), so forwarding is one frame.
  feed6(r, r.eth1, naFrame(B_MAC, R1_MAC, B_IP6, R1_IP6, B_IP6), 1);
  r.cap.take();
  return r;
}

test('RFC 8200 §3: forwarding decrements the hop limit and rewrites the MACs, payload untouched', () => {
  const r = ready();
  const data = new Uint8Array(300).map((_, i) => i);
  const frame = udpFromA6(B_IP6, data, 17);
  feed6(r, r.eth0, frame, 2);
  const out = r.cap.take();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.ifIndex, r.eth1);
  const f = parse6(out[0]!.bytes);
  assert.deepEqual(f.dst, B_MAC);
  assert.deepEqual(f.src, R1_MAC);
  assert.equal(f.hopLimit, 16);
  const original = parse6(frame);
  assert.deepEqual(f.payload, original.payload);
  assert.equal(r.stack.statCount(Stat.IPV6_FORWARDED), 1);
});

test('RFC 4443 §3.3: hop limit 1 → Time Exceeded code 0 from the receiving interface, quoting the packet', () => {
  const r = ready();
  const frame = udpFromA6(B_IP6, new Uint8Array(16), 1);
  feed6(r, r.eth0, frame, 2);
  const e = onlyIcmp6(r.cap.take(), ICMPV6_TIME_EXCEEDED);
  assert.equal(e.icmp!.code, 0);
  assert.equal(e.ipSrc, '2001:db8:1::1');
  assert.equal(e.ipDst, '2001:db8:1::a');
  assert.deepEqual(e.dst, A_MAC);
  assert.deepEqual(e.icmp!.body, parse6(frame).packet);
  assert.equal(r.stack.dropCount(Drop.IPV6_HOP_LIMIT_EXCEEDED), 1);
  feed6(r, r.eth0, udpFromA6(B_IP6, new Uint8Array(16), 0), 3);
  assert.equal(onlyIcmp6(r.cap.take(), ICMPV6_TIME_EXCEEDED).icmp!.code, 0);
});

test('RFC 4443 §3.1: no route → Destination Unreachable code 0; reject → code 6; blackhole → silent', () => {
  const r = ready();
  feed6(r, r.eth0, udpFromA6(ip6('2001:db8:99::1'), new Uint8Array(8)), 2);
  const e = onlyIcmp6(r.cap.take(), ICMPV6_DEST_UNREACHABLE);
  assert.equal(e.icmp!.code, 0);
  assert.equal(r.stack.dropCount(Drop.IPV6_NO_ROUTE), 1);
  r.stack.addStaticRoute6({ network: ip6('2001:db8:99::'), length: 48, type: 'reject' });
  feed6(r, r.eth0, udpFromA6(ip6('2001:db8:99::1'), new Uint8Array(8)), 3);
  assert.equal(onlyIcmp6(r.cap.take(), ICMPV6_DEST_UNREACHABLE).icmp!.code, 6);
  r.stack.addStaticRoute6({ network: ip6('2001:db8:98::'), length: 48, type: 'blackhole' });
  feed6(r, r.eth0, udpFromA6(ip6('2001:db8:98::1'), new Uint8Array(8)), 3);
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.dropCount(Drop.IPV6_BLACKHOLE), 1);
});

test('RFC 8200 §5 / RFC 4443 §3.2: larger than the egress MTU → Packet Too Big with that MTU, never fragmented', () => {
  const r = ready({}, 1500, 1280);
  feed6(r, r.eth0, udpFromA6(B_IP6, new Uint8Array(1300)), 2);
  const e = onlyIcmp6(r.cap.take(), ICMPV6_PACKET_TOO_BIG);
  assert.equal(e.icmp!.rest, 1280);
  // RFC 4443 §2.4 (c): the error fits 1280 bytes.
  assert.ok(e.packet.length <= 1280);
  assert.equal(r.stack.dropCount(Drop.IPV6_PACKET_TOO_BIG), 1);
});

test('RFC 4291 §2.5.6: link-local destinations are never forwarded; link-local sources get code 2', () => {
  const r = ready();
  feed6(r, r.eth0, udpFromA6(ip6('fe80::77'), new Uint8Array(8)), 2);
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.dropCount(Drop.IPV6_LINK_LOCAL_SCOPE), 1);
  // From A's link-local address to B: beyond the scope of the source.
  feed6(r, r.eth0, udpFromA6(B_IP6, new Uint8Array(8), 64, A_LL), 3);
  const out = r.cap.take();
  // R first resolves A_LL (an NS), then answers with code 2 once A answers.
  assert.equal(out.length, 1);
  feed6(r, r.eth0, naFrame(A_MAC, R0_MAC, A_LL, R0_LL, A_LL), 4);
  const e = onlyIcmp6(r.cap.take(), ICMPV6_DEST_UNREACHABLE);
  assert.equal(e.icmp!.code, 2);
  assert.equal(e.ipSrc, formatIpv6(R0_LL));
  assert.equal(r.stack.dropCount(Drop.IPV6_LINK_LOCAL_SCOPE), 2);
});

test('multicast beyond the link is not forwarded (no multicast routing), counted', () => {
  const r = ready();
  const group = ip6('ff0e::1');
  const packet = ipv6Packet({
    src: A_IP6,
    dst: group,
    nextHeader: IPPROTO_UDP,
    payload: udp6(A_IP6, group, 1, 2, new Uint8Array(4)),
  });
  feed6(r, r.eth0, eth6(new Uint8Array([0x33, 0x33, 0, 0, 0, 1]), A_MAC, packet), 2);
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.dropCount(Drop.IPV6_MULTICAST_NOT_FORWARDED), 1);
});

test('static routes: via a global gateway on a connected prefix, via a link-local gateway with its interface', () => {
  const r = ready();
  assert.throws(
    () => r.stack.addStaticRoute6({ network: ip6('2001:db8:50::'), length: 48, via: GW_LL }),
    RangeError,
  );
  r.stack.addStaticRoute6({ network: ip6('2001:db8:50::'), length: 48, via: GW_LL, ifIndex: r.eth1 });
  r.stack.addStaticRoute6({ network: ip6('2001:db8:60::'), length: 48, via: B_IP6 });
  const routes = r.stack.routeList().filter((x) => x.prefix.includes(':'));
  assert.deepEqual(
    routes.map((x) => `${x.prefix} ${x.protocol} ${x.via ?? '-'} ${x.interface ?? '-'} ${x.active}`),
    [
      '2001:db8:1::/64 connected - eth0 true',
      '2001:db8:1::1/128 local - eth0 true',
      '2001:db8:2::/64 connected - eth1 true',
      '2001:db8:2::1/128 local - eth1 true',
      '2001:db8:50::/48 static fe80::fe eth1 true',
      '2001:db8:60::/48 static 2001:db8:2::b eth1 true',
    ],
  );
  feed6(r, r.eth0, udpFromA6(ip6('2001:db8:60::9'), new Uint8Array(8)), 2);
  const out = r.cap.take();
  assert.equal(out.length, 1);
  assert.deepEqual(parse6(out[0]!.bytes).dst, B_MAC);
  // Through the link-local gateway: resolved on eth1 first.
  feed6(r, r.eth0, udpFromA6(ip6('2001:db8:50::9'), new Uint8Array(8)), 3);
  const ns = onlyIcmp6(r.cap.take(), 135);
  assert.equal(formatIpv6(ns.icmp!.body, 0), 'fe80::fe');
  assert.equal(ns.ipSrc, formatIpv6(ip6('fe80::ff:fe00:2')));
  feed6(r, r.eth1, naFrame(GW_MAC, R1_MAC, GW_LL, ip6('fe80::ff:fe00:2'), GW_LL, 0xe0), 4);
  const fwd = r.cap.take();
  assert.equal(fwd.length, 1);
  assert.deepEqual(parse6(fwd[0]!.bytes).dst, GW_MAC);
  assert.ok(r.stack.removeStaticRoute6(ip6('2001:db8:50::'), 48, { via: GW_LL }));
  assert.equal(r.stack.removeStaticRoute6(ip6('2001:db8:50::'), 48), false);
  // Removing the address takes its connected and local routes.
  assert.ok(r.stack.removeAddress6(r.eth1, R1_IP6, 64, 5));
  assert.deepEqual(
    r.stack
      .routeList()
      .filter((x) => x.prefix.startsWith('2001:db8:2::'))
      .map((x) => x.prefix),
    [],
  );
  const sixty = r.stack.routeList().find((x) => x.prefix === '2001:db8:60::/48')!;
  assert.equal(sixty.active, false, 'its gateway is no longer on-link');
});

test('RFC 4861 §8.2: a packet leaving by the interface it came in on gets a Redirect to the source, and is forwarded', () => {
  const r = ready();
  // 2001:db8:70::/48 via fe80::fe on eth0 — the same link as A.
  r.stack.addStaticRoute6({ network: ip6('2001:db8:70::'), length: 48, via: GW_LL, ifIndex: r.eth0 });
  feed6(r, r.eth0, naFrame(GW_MAC, R0_MAC, GW_LL, R0_LL, GW_LL, 0xa0), 1);
  // (unsolicited NA, no entry: ignored) — teach R the gateway by resolving it.
  feed6(r, r.eth0, udpFromA6(ip6('2001:db8:70::1'), new Uint8Array(40)), 2);
  let out = r.cap.take();
  const redirects = out.filter((s) => parse6(s.bytes).icmp?.type === ICMPV6_REDIRECT);
  assert.equal(redirects.length, 1);
  const rd = parse6(redirects[0]!.bytes);
  assert.equal(rd.ipSrc, formatIpv6(R0_LL));
  assert.equal(rd.ipDst, '2001:db8:1::a');
  assert.equal(rd.hopLimit, 255);
  assert.equal(formatIpv6(rd.icmp!.body, 0), 'fe80::fe', 'target: the better first hop');
  assert.equal(formatIpv6(rd.icmp!.body, 16), '2001:db8:70::1', 'destination');
  assert.equal(r.stack.statCount(Stat.REDIRECTS_SENT), 1);
  // The packet itself still goes (here it waits for the gateway's resolution).
  feed6(r, r.eth0, naFrame(GW_MAC, R0_MAC, GW_LL, R0_LL, GW_LL, 0xe0), 3);
  out = r.cap.take();
  assert.equal(out.length, 1);
  assert.deepEqual(parse6(out[0]!.bytes).dst, GW_MAC);
  assert.equal(parse6(out[0]!.bytes).hopLimit, 63);
});

test('RFC 4443 §3.4 / RFC 8200 §4: an unknown Next Header to us → Parameter Problem code 1 pointing at it', () => {
  const r = ready();
  const packet = ipv6Packet({ src: A_IP6, dst: R0_IP6, nextHeader: 99, payload: new Uint8Array(8) });
  feed6(r, r.eth0, eth6(R0_MAC, A_MAC, packet), 2);
  const e = onlyIcmp6(r.cap.take(), ICMPV6_PARAMETER_PROBLEM);
  assert.equal(e.icmp!.code, 1);
  assert.equal(e.icmp!.rest, 6);
  assert.equal(e.ipSrc, '2001:db8:1::1');
  assert.equal(r.stack.dropCount(Drop.IPV6_UNKNOWN_NEXT_HEADER), 1);
  // Behind a Destination Options header, the pointer names that header's Next Header field.
  const dst = new Uint8Array(8 + 8);
  dst[0] = 99;
  dst[2] = 1;
  dst[3] = 4;
  const p2 = ipv6Packet({ src: A_IP6, dst: R0_IP6, nextHeader: IPPROTO_DSTOPTS, payload: dst });
  feed6(r, r.eth0, eth6(R0_MAC, A_MAC, p2), 3);
  assert.equal(onlyIcmp6(r.cap.take(), ICMPV6_PARAMETER_PROBLEM).icmp!.rest, 40);
});

test('RFC 5095 §3: a type 0 Routing header with segments left to us → Parameter Problem code 0 at its type; with none left it is ignored', () => {
  const r = ready();
  const rh = (segmentsLeft: number) => {
    const h = new Uint8Array(24 + 8);
    h[0] = IPPROTO_UDP;
    h[1] = 2;
    h[2] = 0;
    h[3] = segmentsLeft;
    h.set(ip6('2001:db8:2::b'), 8);
    h.set(udp6(A_IP6, R0_IP6, 1, 9, new Uint8Array(0)), 24);
    return ipv6Packet({ src: A_IP6, dst: R0_IP6, nextHeader: IPPROTO_ROUTING, payload: h });
  };
  feed6(r, r.eth0, eth6(R0_MAC, A_MAC, rh(1)), 2);
  const e = onlyIcmp6(r.cap.take(), ICMPV6_PARAMETER_PROBLEM);
  assert.equal(e.icmp!.code, 0);
  assert.equal(e.icmp!.rest, 42);
  assert.equal(r.stack.dropCount(Drop.IPV6_ROUTING_HEADER), 1);
  // Segments left 0: processed as if absent: the UDP port is closed (code 4).
  feed6(r, r.eth0, eth6(R0_MAC, A_MAC, rh(0)), 3);
  const u = onlyIcmp6(r.cap.take(), ICMPV6_DEST_UNREACHABLE);
  assert.equal(u.icmp!.code, 4);
});

test('Hop-by-Hop options are not processed when forwarding (RFC 8200 §4.3): an unknown option passes', () => {
  const r = ready();
  const hbh = new Uint8Array(8 + 8 + 4);
  hbh[0] = IPPROTO_UDP;
  hbh[1] = 0;
  hbh[2] = 0xc7; // unknown, action 11: would be a Parameter Problem at the destination
  hbh[3] = 4;
  hbh.set(udp6(A_IP6, B_IP6, 1, 9, new Uint8Array(4)), 8);
  feed6(
    r,
    r.eth0,
    eth6(R0_MAC, A_MAC, ipv6Packet({ src: A_IP6, dst: B_IP6, nextHeader: IPPROTO_HOPOPTS, payload: hbh })),
    2,
  );
  const out = r.cap.take();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.ifIndex, r.eth1);
});

test('RFC 4443 §2.4 (e): no error about an ICMPv6 error, to a multicast destination or link-layer group, or to :: / a group', () => {
  const r = ready();
  // (e.1) An error in transit with hop limit 1: no Time Exceeded about it.
  const err = icmp6(A_IP6, B_IP6, ICMPV6_DEST_UNREACHABLE, 0, 0, new Uint8Array(48));
  feed6(r, r.eth0, icmp6Frame(A_MAC, R0_MAC, A_IP6, B_IP6, err, 1), 2);
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.dropCount(Drop.IPV6_HOP_LIMIT_EXCEEDED), 1);
  // An echo request with hop limit 1 does get one (informational messages are fair game).
  feed6(
    r,
    r.eth0,
    icmp6Frame(A_MAC, R0_MAC, A_IP6, B_IP6, icmp6(A_IP6, B_IP6, 128, 0, 1, new Uint8Array(8)), 1),
    3,
  );
  onlyIcmp6(r.cap.take(), ICMPV6_TIME_EXCEEDED);
  // (e.3) A unicast packet in a link-layer multicast frame: not for us, no error.
  const frame = udpFromA6(B_IP6, new Uint8Array(8), 1);
  frame.set([0x33, 0x33, 0, 0, 0, 1], 0);
  feed6(r, r.eth0, frame, 4);
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.dropCount(Drop.IPV6_NOT_FOR_US), 1);
  // (e.2) A UDP datagram to all nodes (ours, no socket): no port unreachable.
  const toAll = ipv6Packet({
    src: A_IP6,
    dst: ip6('ff02::1'),
    nextHeader: IPPROTO_UDP,
    payload: udp6(A_IP6, ip6('ff02::1'), 1, 9, new Uint8Array(4)),
  });
  feed6(r, r.eth0, eth6(new Uint8Array([0x33, 0x33, 0, 0, 0, 1]), A_MAC, toAll), 5);
  assert.deepEqual(r.cap.take(), []);
  // (e.2) exception: an unknown option with action 10 to a group does get a code 2 Parameter Problem.
  const dst = new Uint8Array(8 + 8);
  dst[0] = IPPROTO_UDP;
  dst[2] = 0x87;
  dst[3] = 4;
  dst.set(udp6(A_IP6, ip6('ff02::1'), 1, 9, new Uint8Array(0)), 8);
  const withOption = ipv6Packet({
    src: A_IP6,
    dst: ip6('ff02::1'),
    nextHeader: IPPROTO_DSTOPTS,
    payload: dst,
  });
  feed6(r, r.eth0, eth6(new Uint8Array([0x33, 0x33, 0, 0, 0, 1]), A_MAC, withOption), 6);
  const pp = onlyIcmp6(r.cap.take(), ICMPV6_PARAMETER_PROBLEM);
  assert.equal(pp.icmp!.code, 2);
  assert.equal(pp.ipSrc, '2001:db8:1::1');
});

test('RFC 4443 §2.4 (f): errors are rate limited by a token bucket, and the limited ones counted', () => {
  const r = ready({ icmpErrorRate: 1, icmpErrorBurst: 3 });
  for (let i = 0; i < 10; i++) feed6(r, r.eth0, udpFromA6(ip6('2001:db8:99::1'), new Uint8Array(8)), 100);
  assert.equal(r.cap.take().length, 3);
  assert.equal(r.stack.dropCount(Drop.ICMPV6_RATE_LIMITED), 7);
  assert.equal(r.stack.statCount(Stat.ICMPV6_ERRORS_SENT), 3);
  // A second later, one token more.
  feed6(r, r.eth0, udpFromA6(ip6('2001:db8:99::1'), new Uint8Array(8)), 1100);
  assert.equal(r.cap.take().length, 1);
});
