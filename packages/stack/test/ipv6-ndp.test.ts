// Neighbor Discovery (RFC 4861), DAD (RFC 4862 §5.4, RFC 7527), link-local addresses (RFC 7217,
// RFC 4291 App. A), MLDv2 reports (RFC 3810) and Router Advertisements, through Stack.receive/poll.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eui64InterfaceId, solicitedNodeMulticast } from '@nexthop/addr';
import { Stack, Stat, stableInterfaceId } from '@nexthop/stack';
import {
  Drop,
  ICMPV6_MLDV2_REPORT,
  ICMPV6_NEIGHBOR_ADVERTISEMENT,
  ICMPV6_NEIGHBOR_SOLICITATION,
  ICMPV6_ROUTER_ADVERTISEMENT,
  ICMPV6_ROUTER_SOLICITATION,
  IPPROTO_HOPOPTS,
  NA_FLAG_OVERRIDE,
  NA_FLAG_ROUTER,
  NA_FLAG_SOLICITED,
  rd16,
  rd32,
  wr32,
} from '@nexthop/wire';
import { Capture } from './harness.ts';
import {
  A_IP6,
  A_LL,
  A_MAC,
  ALL_NODES,
  B_IP6,
  B_MAC,
  feed6,
  fixIcmp6,
  formatIpv6,
  GW_MAC,
  icmp6,
  icmp6Frame,
  ip6,
  learn6,
  mac,
  naFrame,
  nsFrame,
  onlyIcmp6,
  parse6,
  R0_IP6,
  R0_LL,
  R0_MAC,
  R1_IP6,
  R1_MAC,
  rig6,
  settleDad,
  UNSPEC,
  udpFromA6,
} from './harness6.ts';

test('RFC 4861 §7.2.4: an NS for our address is answered with a solicited NA (R, S, O) carrying our MAC', () => {
  const r = rig6();
  feed6(r, r.eth0, nsFrame(A_MAC, A_IP6, R0_IP6), 10);
  const na = onlyIcmp6(r.cap.take(), ICMPV6_NEIGHBOR_ADVERTISEMENT);
  assert.deepEqual(na.dst, A_MAC);
  assert.deepEqual(na.src, R0_MAC);
  assert.equal(na.ipSrc, '2001:db8:1::1');
  assert.equal(na.ipDst, '2001:db8:1::a');
  assert.equal(na.hopLimit, 255);
  assert.equal(na.icmp!.rest >>> 24, NA_FLAG_ROUTER | NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE);
  assert.equal(formatIpv6(na.icmp!.body, 0), '2001:db8:1::1');
  // Target link-layer address option.
  assert.deepEqual([...na.icmp!.body.slice(16, 24)], [2, 1, ...R0_MAC]);
  // §7.2.3: the solicitor is now a STALE neighbour.
  const n = r.stack.neighbors(10).filter((x) => x.family === 6);
  assert.deepEqual(n, [
    {
      family: 6,
      address: '2001:db8:1::a',
      mac: '02:aa:00:00:00:0a',
      interface: 'eth0',
      state: 'STALE',
      ageMs: 0,
    },
  ]);
});

test('RFC 4861 §7.2.4: a DAD probe (from ::) for our address is answered to all nodes, not solicited', () => {
  const r = rig6();
  feed6(r, r.eth0, nsFrame(A_MAC, UNSPEC, R0_IP6, { nonce: new Uint8Array([1, 2, 3, 4, 5, 6]) }), 10);
  const na = onlyIcmp6(r.cap.take(), ICMPV6_NEIGHBOR_ADVERTISEMENT);
  assert.equal(na.ipDst, 'ff02::1');
  assert.deepEqual([...na.dst], [0x33, 0x33, 0, 0, 0, 1]);
  assert.equal(na.icmp!.rest >>> 24, NA_FLAG_ROUTER | NA_FLAG_OVERRIDE);
});

test('RFC 4861 §7.2.3: an NS for an address not ours is ignored (counted), no neighbour learnt', () => {
  const r = rig6();
  feed6(r, r.eth0, nsFrame(A_MAC, A_IP6, ip6('2001:db8:1::99')), 10);
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.statCount(Stat.IPV6_MULTICAST_IGNORED) + r.stack.statCount(Stat.NDP_IGNORED), 1);
  assert.equal(r.stack.neighbors(10).length, 0);
});

test('RFC 4861 §7.2.2: forwarding to an unknown neighbour solicits its solicited-node group, queues, and sends on the NA', () => {
  const r = rig6();
  learn6(r, r.eth0, A_IP6, A_MAC, 1);
  feed6(r, r.eth0, udpFromA6(B_IP6, new Uint8Array(20)), 2);
  const ns = onlyIcmp6(r.cap.take(), ICMPV6_NEIGHBOR_SOLICITATION);
  assert.equal(ns.ifIndex, r.eth1);
  assert.equal(ns.ipDst, formatIpv6(solicitedNodeMulticast(B_IP6)));
  assert.deepEqual([...ns.dst], [0x33, 0x33, 0xff, 0, 0, 0x0b]);
  assert.equal(ns.ipSrc, '2001:db8:2::1');
  assert.equal(ns.hopLimit, 255);
  assert.equal(formatIpv6(ns.icmp!.body, 0), '2001:db8:2::b');
  assert.deepEqual([...ns.icmp!.body.slice(16, 24)], [1, 1, ...R1_MAC]);
  assert.equal(r.stack.neighbors(2).find((n) => n.address === '2001:db8:2::b')?.state, 'INCOMPLETE');
  // The solicited NA: REACHABLE, and the queued packet leaves.
  feed6(r, r.eth1, naFrame(B_MAC, R1_MAC, B_IP6, R1_IP6, B_IP6), 3);
  const out = r.cap.take();
  assert.equal(out.length, 1);
  const f = parse6(out[0]!.bytes);
  assert.deepEqual(f.dst, B_MAC);
  assert.equal(f.hopLimit, 63);
  assert.equal(r.stack.neighbors(3).find((n) => n.address === '2001:db8:2::b')?.state, 'REACHABLE');
  assert.equal(r.stack.statCount(Stat.IPV6_FORWARDED), 1);
});

test('RFC 4861 §7.2.2 / RFC 4443 §3.1: an unanswered resolution ends in address unreachable (code 3)', () => {
  const r = rig6();
  learn6(r, r.eth0, A_IP6, A_MAC, 1);
  feed6(r, r.eth0, udpFromA6(B_IP6, new Uint8Array(20)), 1000);
  r.cap.take();
  let now = 1000;
  const sent: number[] = [];
  for (let i = 0; i < 5; i++) {
    now = r.stack.poll(now);
    for (const s of r.cap.take()) sent.push(parse6(s.bytes).icmp!.type);
  }
  // Two more NS (MAX_MULTICAST_SOLICIT = 3 in all), then the error to A.
  assert.deepEqual(sent.slice(0, 2), [ICMPV6_NEIGHBOR_SOLICITATION, ICMPV6_NEIGHBOR_SOLICITATION]);
  assert.equal(r.stack.dropCount(Drop.NDP_RESOLUTION_FAILED), 1);
  assert.ok(sent.includes(1), 'destination unreachable sent');
});

test('RFC 4861 §7.2.5: an NA without Override does not change a REACHABLE entry’s address, only makes it STALE', () => {
  const r = rig6();
  learn6(r, r.eth0, A_IP6, A_MAC, 1);
  feed6(r, r.eth0, udpFromA6(B_IP6, new Uint8Array(20)), 2);
  r.cap.take();
  feed6(r, r.eth1, naFrame(B_MAC, R1_MAC, B_IP6, R1_IP6, B_IP6), 3);
  r.cap.take();
  const other = mac('02:bb:00:00:00:99');
  feed6(r, r.eth1, naFrame(other, R1_MAC, B_IP6, R1_IP6, B_IP6, NA_FLAG_SOLICITED), 4);
  const b = r.stack.neighbors(4).find((n) => n.address === '2001:db8:2::b')!;
  assert.equal(b.state, 'STALE');
  assert.equal(b.mac, '02:bb:00:00:00:14');
  // With Override, unsolicited: the new address, STALE.
  feed6(r, r.eth1, naFrame(other, ALL_NODES, B_IP6, ALL_NODES, B_IP6, NA_FLAG_OVERRIDE), 5);
  const b2 = r.stack.neighbors(5).find((n) => n.address === '2001:db8:2::b')!;
  assert.equal(b2.mac, '02:bb:00:00:00:99');
  assert.equal(b2.state, 'STALE');
});

test('RFC 4861 §7.1.1: NDP with hop limit ≠ 255 is dropped as NDP_BAD_HOP_LIMIT', () => {
  const r = rig6();
  feed6(r, r.eth0, nsFrame(A_MAC, A_IP6, R0_IP6, { hopLimit: 254 }), 10);
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.dropCount(Drop.NDP_BAD_HOP_LIMIT), 1);
});

test('RFC 4443 §4.2: echo to our global address and to our link-local address is answered from it', () => {
  const r = rig6();
  learn6(r, r.eth0, A_IP6, A_MAC, 1);
  const data = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  feed6(
    r,
    r.eth0,
    icmp6Frame(A_MAC, R0_MAC, A_IP6, R0_IP6, icmp6(A_IP6, R0_IP6, 128, 0, 0x12340001, data)),
    2,
  );
  const rep = onlyIcmp6(r.cap.take(), 129);
  assert.equal(rep.ipSrc, '2001:db8:1::1');
  assert.equal(rep.ipDst, '2001:db8:1::a');
  assert.equal(rep.icmp!.rest, 0x12340001);
  assert.deepEqual(rep.icmp!.body, data);
  assert.equal(r.stack.statCount(Stat.ECHO6_REPLIES_SENT), 1);
  // To the link-local address, from A's link-local (resolved through NDP first: A_LL is new).
  feed6(r, r.eth0, icmp6Frame(A_MAC, R0_MAC, A_LL, R0_LL, icmp6(A_LL, R0_LL, 128, 0, 7, data)), 3);
  const ns = onlyIcmp6(r.cap.take(), ICMPV6_NEIGHBOR_SOLICITATION);
  assert.equal(ns.ipSrc, formatIpv6(R0_LL));
  feed6(r, r.eth0, naFrame(A_MAC, R0_MAC, A_LL, R0_LL, A_LL), 4);
  const rep2 = onlyIcmp6(r.cap.take(), 129);
  assert.equal(rep2.ipSrc, formatIpv6(R0_LL));
  assert.equal(rep2.ipDst, 'fe80::a');
});

test('RFC 4443 §4.2: echo to all nodes is answered from the interface’s address of the requester’s scope', () => {
  const r = rig6();
  learn6(r, r.eth0, A_IP6, A_MAC, 1);
  feed6(
    r,
    r.eth0,
    icmp6Frame(A_MAC, R0_MAC, A_IP6, ALL_NODES, icmp6(A_IP6, ALL_NODES, 128, 0, 5, new Uint8Array(4))),
    2,
  );
  const rep = onlyIcmp6(r.cap.take(), 129);
  assert.equal(rep.ipSrc, '2001:db8:1::1');
});

test('RFC 4862 §5.4: a new address is tentative, probed from :: with a nonce, then preferred; MLDv2 report first', () => {
  const r = rig6({}, false);
  r.cap.take();
  // Nothing was sent while adding (no `now` for the link-locals); the first poll starts it all.
  assert.deepEqual(r.stack.interfaces()[0]!.addresses6, [
    { address: formatIpv6(R0_LL), length: 64, state: 'tentative' },
    { address: '2001:db8:1::1', length: 64, state: 'tentative' },
  ]);
  // A packet to a tentative address is dropped (§5.4), not forwarded.
  feed6(r, r.eth0, udpFromA6(R0_IP6, new Uint8Array(8)), 0);
  assert.equal(r.stack.dropCount(Drop.IPV6_TENTATIVE_ADDRESS), 1);
  let now = 0;
  const kinds: string[] = [];
  for (let i = 0; i < 10 && r.stack.interfaces()[0]!.addresses6.some((a) => a.state === 'tentative'); i++) {
    now = r.stack.poll(now);
    for (const s of r.cap.take()) {
      if (s.ifIndex !== r.eth0) continue;
      const f = parse6(s.bytes);
      if (f.nextHeader === IPPROTO_HOPOPTS) {
        kinds.push(`mld from ${f.ipSrc}`);
        assert.equal(f.payload[8], ICMPV6_MLDV2_REPORT);
        assert.equal(f.hopLimit, 1);
      } else {
        assert.equal(f.icmp!.type, ICMPV6_NEIGHBOR_SOLICITATION);
        assert.equal(f.ipSrc, '::');
        // No SLLA from ::, a nonce option (RFC 7527 §4.1).
        assert.equal(f.icmp!.body[16], 14);
        kinds.push(`probe ${formatIpv6(f.icmp!.body, 0)}`);
      }
    }
  }
  assert.deepEqual(
    r.stack.interfaces()[0]!.addresses6.map((a) => a.state),
    ['preferred', 'preferred'],
  );
  assert.equal(kinds[0], 'mld from ::');
  assert.ok(kinds.includes(`probe ${formatIpv6(R0_LL)}`));
  assert.ok(kinds.includes('probe 2001:db8:1::1'));
  // Once the link-local address is preferred, the report is sent again from it (RFC 3810 §5.2.13).
  assert.ok(kinds.includes(`mld from ${formatIpv6(R0_LL)}`));
});

test('RFC 4862 §5.4.4: an NA for a tentative address makes it duplicate; it is never used', () => {
  const r = rig6({}, false);
  r.stack.poll(0);
  r.cap.take();
  feed6(r, r.eth0, naFrame(A_MAC, R0_MAC, R0_IP6, ALL_NODES, R0_IP6, NA_FLAG_OVERRIDE), 1);
  settleDad(r, 1);
  const a = r.stack.interfaces()[0]!.addresses6.find((x) => x.address === '2001:db8:1::1')!;
  assert.equal(a.state, 'duplicate');
  assert.equal(r.stack.statCount(Stat.DAD_DUPLICATES), 1);
  feed6(r, r.eth0, nsFrame(A_MAC, A_IP6, R0_IP6), 5000);
  assert.deepEqual(r.cap.take(), [], 'a duplicate address is not answered for');
});

test('RFC 4862 §5.4.3: another node probing for our tentative address makes it duplicate; our own probe looped back does not', () => {
  const r = rig6({}, false);
  let now = r.stack.poll(0);
  const probes: Uint8Array[] = [];
  for (let i = 0; i < 5 && probes.length === 0; i++) {
    for (const s of r.cap.take()) {
      const f = parse6(s.bytes);
      if (
        s.ifIndex === r.eth0 &&
        f.icmp?.type === ICMPV6_NEIGHBOR_SOLICITATION &&
        formatIpv6(f.icmp.body, 0) === '2001:db8:1::1'
      )
        probes.push(s.bytes);
    }
    if (probes.length === 0) now = r.stack.poll(now);
  }
  assert.equal(probes.length, 1);
  // RFC 7527 §4.2: our own probe coming back (same nonce) is no duplicate.
  feed6(r, r.eth0, probes[0]!, now);
  assert.equal(r.stack.interfaces()[0]!.addresses6[1]!.state, 'tentative');
  // Another's probe, another nonce: duplicate.
  feed6(r, r.eth0, nsFrame(A_MAC, UNSPEC, R0_IP6, { nonce: new Uint8Array([9, 9, 9, 9, 9, 9]) }), now);
  assert.equal(r.stack.interfaces()[0]!.addresses6[1]!.state, 'duplicate');
});

test('RFC 7217 §5/§6: link-local identifiers come from the PRF; a duplicate gets the next DAD counter', () => {
  const prf = (data: Uint8Array) => {
    // A toy PRF (tests only): a keyed byte mix, 32 bytes out.
    const out = new Uint8Array(32);
    for (let i = 0; i < data.length; i++) out[i % 32] = (out[i % 32]! * 31 + data[i]! + 7) & 255;
    for (let i = 0; i < 32; i++) out[i] = (out[i]! ^ (i * 57)) & 255;
    return out;
  };
  const r = rig6({ prf }, false);
  const fe80 = ip6('fe80::');
  const want0 = new Uint8Array(16);
  want0.set(fe80.subarray(0, 8));
  want0.set(stableInterfaceId(prf, fe80, 'eth0', 0), 8);
  assert.equal(r.stack.interfaces()[0]!.addresses6[0]!.address, formatIpv6(want0));
  r.stack.poll(0);
  r.cap.take();
  // Someone defends that address: duplicate, and the next one (counter 1) is made and probed.
  feed6(r, r.eth0, naFrame(A_MAC, R0_MAC, want0, ALL_NODES, want0, NA_FLAG_OVERRIDE), 1);
  settleDad(r, 1);
  const want1 = new Uint8Array(16);
  want1.set(fe80.subarray(0, 8));
  want1.set(stableInterfaceId(prf, fe80, 'eth0', 1), 8);
  const ll = r.stack.interfaces()[0]!.addresses6[0]!;
  assert.deepEqual(ll, { address: formatIpv6(want1), length: 64, state: 'preferred' });
});

test('RFC 4291 App. A: without a PRF the link-local identifier is the modified EUI-64 of the MAC', () => {
  const r = rig6({}, false);
  const want = new Uint8Array(16);
  want[0] = 0xfe;
  want[1] = 0x80;
  eui64InterfaceId(R1_MAC, 0, want, 8);
  assert.equal(r.stack.interfaces()[1]!.addresses6[0]!.address, formatIpv6(want));
});

test('RFC 4861 §6.2.6: a Router Solicitation is answered by an RA to all nodes from the link-local address, with the options', () => {
  const r = rig6();
  r.stack.setRouterAdvertisements(
    r.eth0,
    {
      maxIntervalS: 600,
      minIntervalS: 200,
      managed: false,
      otherConfig: true,
      linkMtu: 1500,
      reachableTimeMs: 0,
      retransTimerMs: 0,
      curHopLimit: 64,
      defaultLifetimeS: 1800,
      prefixes: [
        {
          prefix: ip6('2001:db8:1::'),
          length: 64,
          onLink: true,
          autonomous: true,
          validLifetimeS: 86400,
          preferredLifetimeS: 14400,
        },
      ],
      dnsServers: [ip6('2001:db8::53')],
      dnsLifetimeS: 1200,
    },
    10_000,
  );
  // The first advertisement comes within MAX_RA_DELAY_TIME of starting.
  let now = r.stack.poll(10_000);
  assert.ok(now <= 10_500);
  now = r.stack.poll(now);
  const first = onlyIcmp6(r.cap.take(), ICMPV6_ROUTER_ADVERTISEMENT);
  assert.equal(first.ipSrc, formatIpv6(R0_LL));
  assert.equal(first.ipDst, 'ff02::1');
  assert.equal(first.hopLimit, 255);
  const b = first.icmp!;
  assert.equal(b.rest >>> 24, 64, 'cur hop limit');
  assert.equal((b.rest >>> 16) & 0xff, 0x40, 'O flag');
  assert.equal(b.rest & 0xffff, 1800, 'router lifetime');
  // Options: SLLA, MTU, prefix, RDNSS.
  const opts = b.body.slice(8);
  assert.deepEqual([...opts.slice(0, 8)], [1, 1, ...R0_MAC]);
  assert.equal(opts[8], 5);
  assert.equal(rd32(opts, 12), 1500);
  assert.equal(opts[16], 3);
  assert.equal(opts[18], 64);
  assert.equal(opts[19], 0xc0);
  assert.equal(formatIpv6(opts, 32), '2001:db8:1::');
  assert.equal(opts[48], 25);
  assert.equal(rd32(opts, 52), 1200);
  assert.equal(formatIpv6(opts, 56), '2001:db8::53');
  // A solicitation 5 s later is answered within 500 ms (not sooner than 3 s after the last RA).
  const rs = icmp6(A_LL, ip6('ff02::2'), ICMPV6_ROUTER_SOLICITATION, 0, 0, new Uint8Array([1, 1, ...A_MAC]));
  feed6(r, r.eth0, icmp6Frame(A_MAC, R0_MAC, A_LL, ip6('ff02::2'), rs, 255), now + 5000);
  assert.equal(r.stack.statCount(Stat.RS_RECEIVED), 1);
  const due = r.stack.nextDeadline();
  assert.ok(due <= now + 5500, `answer due at ${due}`);
  r.stack.poll(due);
  onlyIcmp6(r.cap.take(), ICMPV6_ROUTER_ADVERTISEMENT);
  // Stopping sends final advertisements with router lifetime 0 (§6.2.5).
  r.stack.setRouterAdvertisements(r.eth0, null, due + 1);
  r.stack.poll(due + 1);
  const fin = onlyIcmp6(r.cap.take(), ICMPV6_ROUTER_ADVERTISEMENT);
  assert.equal(fin.icmp!.rest & 0xffff, 0);
  void rd16;
  void R1_IP6;
});

test('a stack configured for IPv4 alone sends no IPv6 and counts IPv6 frames as an unknown EtherType', () => {
  const cap = new Capture();
  const stack = new Stack({ output: cap, seed: 1 });
  const eth0 = stack.addInterface({ name: 'eth0', mac: R0_MAC, mtu: 1500 });
  stack.poll(0);
  stack.poll(5000);
  assert.deepEqual(cap.take(), []);
  assert.deepEqual(stack.interfaces()[0]!.addresses6, []);
  const frame = nsFrame(A_MAC, A_IP6, R0_IP6);
  stack.receive(eth0, frame, 0, frame.length, 6000);
  assert.equal(stack.dropCount(Drop.ETH_UNKNOWN_TYPE), 1);
  // The first IPv6 configuration turns it on: the link-local address appears.
  stack.addStaticRoute6({ network: ip6('2001:db8:99::'), length: 48, type: 'blackhole' });
  assert.equal(stack.interfaces()[0]!.addresses6[0]!.address, formatIpv6(R0_LL));
});

test('RFC 4861 §6.2.4: unsolicited RAs, the first three at most 16 s apart, then every MinRtrAdvInterval..MaxRtrAdvInterval', () => {
  const r = rig6();
  const config = {
    maxIntervalS: 60,
    minIntervalS: 20,
    managed: false,
    otherConfig: false,
    linkMtu: 0,
    reachableTimeMs: 0,
    retransTimerMs: 0,
    curHopLimit: 64,
    defaultLifetimeS: 180,
    prefixes: [],
    dnsServers: [],
    dnsLifetimeS: 0,
  };
  r.stack.setRouterAdvertisements(r.eth1, config, 0);
  const times: number[] = [];
  let now = 0;
  while (times.length < 6) {
    now = r.stack.poll(now);
    for (const s of r.cap.take()) {
      if (parse6(s.bytes).icmp?.type !== ICMPV6_ROUTER_ADVERTISEMENT) continue;
      assert.equal(s.ifIndex, r.eth1);
      times.push(now);
    }
  }
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  for (const g of gaps.slice(0, 2)) assert.ok(g <= 16_000, `initial gap ${g}`);
  for (const g of gaps.slice(3)) assert.ok(g >= 20_000 && g <= 60_000, `gap ${g}`);
  assert.equal(r.stack.statCount(Stat.RA_SENT), 6);
});

test('RFC 3810 §6.2: an MLD query is answered within its delay by a report of our groups (not ff02::1)', () => {
  const r = rig6();
  const q = new Uint8Array(28);
  q[0] = 130;
  q[4] = 0x03;
  q[5] = 0xe8; // 1000 ms
  const src = ip6('fe80::a');
  // Hop-by-Hop with Router Alert (RFC 2711), as every MLD message carries.
  const hbh = new Uint8Array([58, 0, 5, 2, 0, 0, 1, 0]);
  const msg = q.slice();
  const frame = (() => {
    const ipv6 = new Uint8Array(40 + 8 + 28);
    ipv6[0] = 0x60;
    ipv6[5] = 36;
    ipv6[6] = 0;
    ipv6[7] = 1;
    ipv6.set(src, 8);
    ipv6.set(ALL_NODES, 24);
    ipv6.set(hbh, 40);
    ipv6.set(fixIcmp6(src, ALL_NODES, msg), 48);
    const f = new Uint8Array(14 + ipv6.length);
    f.set([0x33, 0x33, 0, 0, 0, 1], 0);
    f.set(A_MAC, 6);
    f[12] = 0x86;
    f[13] = 0xdd;
    f.set(ipv6, 14);
    return f;
  })();
  feed6(r, r.eth0, frame, 100);
  assert.deepEqual(r.cap.take(), []);
  const due = r.stack.nextDeadline();
  assert.ok(due >= 100 && due <= 1100, `report due at ${due}`);
  r.stack.poll(due);
  const out = r.cap.take();
  assert.equal(out.length, 1);
  const f = parse6(out[0]!.bytes);
  assert.equal(f.ipDst, 'ff02::16');
  assert.equal(f.ipSrc, formatIpv6(R0_LL));
  const report = f.payload.subarray(8);
  assert.equal(report[0], ICMPV6_MLDV2_REPORT);
  const groups: string[] = [];
  for (let i = 0, p = 8; i < rd16(report, 6); i++, p += 20) {
    assert.equal(report[p], 2, 'MODE_IS_EXCLUDE');
    groups.push(formatIpv6(report, p + 4));
  }
  // Both addresses of eth0 end in 00:00:01: one solicited-node group, joined twice, reported once.
  assert.deepEqual(groups.sort(), ['ff02::1:ff00:1', 'ff02::2']);
});

test('RFC 4861 §6.2.7: another router’s RA that disagrees with ours is counted and reported with what differs', () => {
  const r = rig6();
  r.stack.setRouterAdvertisements(
    r.eth0,
    {
      maxIntervalS: 600,
      minIntervalS: 200,
      managed: false,
      otherConfig: false,
      linkMtu: 1500,
      reachableTimeMs: 0,
      retransTimerMs: 1000,
      curHopLimit: 64,
      defaultLifetimeS: 1800,
      prefixes: [
        {
          prefix: ip6('2001:db8:1::'),
          length: 64,
          onLink: true,
          autonomous: true,
          validLifetimeS: 86400,
          preferredLifetimeS: 14400,
        },
      ],
      dnsServers: [],
      dnsLifetimeS: 0,
    },
    0,
  );
  const seen: string[][] = [];
  r.stack.onRaInconsistent = (_i, router, problems) => {
    assert.equal(formatIpv6(router), 'fe80::fe');
    seen.push([...problems]);
  };
  /** An RA from fe80::fe: the fixed part, an MTU option, a Prefix Information option. */
  const ra = (
    hopLimit: number,
    flags: number,
    retrans: number,
    mtu: number,
    valid: number,
    reachable = 0,
  ) => {
    const b = new Uint8Array(16 + 8 + 32);
    b.set([ICMPV6_ROUTER_ADVERTISEMENT, 0, 0, 0, hopLimit, flags, 0x07, 0x08]);
    wr32(b, 8, reachable);
    wr32(b, 12, retrans);
    b.set([5, 1, 0, 0], 16);
    wr32(b, 20, mtu);
    b.set([3, 4, 64, 0xc0], 24);
    wr32(b, 28, valid);
    wr32(b, 32, 14400);
    b.set(ip6('2001:db8:1::'), 40);
    return icmp6Frame(
      GW_MAC,
      mac('33:33:00:00:00:01'),
      ip6('fe80::fe'),
      ALL_NODES,
      fixIcmp6(ip6('fe80::fe'), ALL_NODES, b),
      255,
    );
  };
  // The same as ours, and unspecified values (0) where ours are set: consistent.
  feed6(r, r.eth0, ra(64, 0, 1000, 1500, 86400), 10);
  feed6(r, r.eth0, ra(0, 0, 0, 1500, 86400, 30000), 20);
  assert.equal(r.stack.statCount(Stat.RA_INCONSISTENT), 0);
  // Each field of §6.2.7 that can disagree.
  feed6(r, r.eth0, ra(32, 0x80, 2000, 1400, 3600), 30);
  assert.equal(r.stack.statCount(Stat.RA_INCONSISTENT), 1);
  assert.deepEqual(seen, [
    [
      'cur hop limit 32 (ours 64)',
      'managed flag true (ours false)',
      'retrans timer 2000 (ours 1000)',
      'MTU 1400 (ours 1500)',
      'valid lifetime of 2001:db8:1::/64 3600 (ours 86400)',
    ],
  ]);
  // On an interface where the VR does not advertise, nothing is compared.
  feed6(r, r.eth1, ra(32, 0x80, 2000, 1400, 3600), 40);
  assert.equal(r.stack.statCount(Stat.RA_INCONSISTENT), 1);
  assert.equal(r.stack.statCount(Stat.RA_RECEIVED), 4);
});

test('RFC 3810 §8.2.1: after an MLDv1 query the VR speaks MLDv1 — reports to each group, a Done to ff02::2 — until the querier is gone', () => {
  const r = rig6();
  const src = ip6('fe80::a');
  const v1Query = (() => {
    const q = new Uint8Array(24);
    q[0] = 130;
    q[4] = 0x03;
    q[5] = 0xe8; // 1000 ms
    const ipv6 = new Uint8Array(40 + 8 + 24);
    ipv6[0] = 0x60;
    ipv6[5] = 32;
    ipv6[7] = 1;
    ipv6.set(src, 8);
    ipv6.set(ALL_NODES, 24);
    ipv6.set([58, 0, 5, 2, 0, 0, 1, 0], 40);
    ipv6.set(fixIcmp6(src, ALL_NODES, q), 48);
    const f = new Uint8Array(14 + ipv6.length);
    f.set([0x33, 0x33, 0, 0, 0, 1], 0);
    f.set(A_MAC, 6);
    f[12] = 0x86;
    f[13] = 0xdd;
    f.set(ipv6, 14);
    return f;
  })();
  feed6(r, r.eth0, v1Query, 100);
  r.stack.poll(r.stack.nextDeadline());
  /** The MLD messages sent: "type dst group". */
  const mld = () =>
    r.cap
      .take()
      .map((c) => parse6(c.bytes))
      .filter((f) => f.payload[8] === 131 || f.payload[8] === 132 || f.payload[8] === ICMPV6_MLDV2_REPORT)
      .map((f) => {
        const m = f.payload.subarray(8);
        return m[0] === ICMPV6_MLDV2_REPORT ? `v2 ${f.ipDst}` : `${m[0]} ${f.ipDst} ${formatIpv6(m, 8)}`;
      });
  assert.deepEqual(mld().sort(), ['131 ff02::1:ff00:1 ff02::1:ff00:1', '131 ff02::2 ff02::2']);
  // A socket joins a group: an MLDv1 Report to it; leaves: a Done to all-routers.
  const so = r.stack.sockets;
  const fd = so.socket('dgram', 0, 6);
  const ripng = ip6('ff02::9');
  assert.equal(so.setOption(fd, 'IPV6_JOIN_GROUP', { group6: ripng, interface: r.eth0 }), 0);
  assert.deepEqual(mld(), ['131 ff02::9 ff02::9']);
  assert.equal(so.setOption(fd, 'IPV6_LEAVE_GROUP', { group6: ripng, interface: r.eth0 }), 0);
  assert.deepEqual(mld(), ['132 ff02::2 ff02::9']);
  // 260 s without an MLDv1 query: back to MLDv2 (to ff02::16).
  r.stack.poll(100 + 261_000);
  r.cap.take();
  assert.equal(so.setOption(fd, 'IPV6_JOIN_GROUP', { group6: ripng, interface: r.eth0 }), 0);
  assert.deepEqual(mld(), ['v2 ff02::16']);
});
