// Two stacks on one link speaking IPv6 to each other: DAD side by side, NDP both ways (our NS and NA
// read by our own decoder: hop limit 255, checksums, link-layer options), forwarding across both
// and the echo answered end to end, a duplicate address noticed by the one that came second.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv6 } from '@nexthop/addr';
import type { FrameOutput } from '@nexthop/interface';
import { Stack, Stat } from '@nexthop/stack';
import { Drop, IPPROTO_ICMPV6 } from '@nexthop/wire';
import { A_MAC, mac } from './harness.ts';
import { eth6, formatIpv6, icmp6, ipv6Packet, naFrame, parse6 } from './harness6.ts';

/** A solicited NA from a host (RFC 4861 §4.4) with its link-layer address. */
function naTo(
  hostMac: Uint8Array,
  routerMac: Uint8Array,
  src: Uint8Array,
  dst: Uint8Array,
  target: Uint8Array,
): Uint8Array {
  return naFrame(hostMac, routerMac, src, dst, target);
}

const ip6 = parseIpv6;

/**
 * H1 (a host we play) — eth0 R1 eth1 — link — eth0 R2 eth1 — H2 (a host we play). Frames between
 * R1 and R2 are delivered in order through a queue, so nobody runs inside another's receive.
 */
function topology() {
  const queue: { to: Stack; ifIndex: number; bytes: Uint8Array }[] = [];
  const toHosts: { from: string; ifIndex: number; bytes: Uint8Array }[] = [];
  let r1: Stack;
  let r2: Stack;
  // The link joins R1's eth1 (index 1) and R2's eth0 (index 0); the others face the hosts.
  const out = (name: string, linkIf: number, peer: () => Stack, peerLinkIf: number): FrameOutput => ({
    transmit(ifIndex, buf, off, len) {
      const bytes = buf.slice(off, off + len);
      if (ifIndex === linkIf) queue.push({ to: peer(), ifIndex: peerLinkIf, bytes });
      else toHosts.push({ from: name, ifIndex, bytes });
    },
  });
  r1 = new Stack({ output: out('r1', 1, () => r2, 0), seed: 11 });
  r2 = new Stack({ output: out('r2', 0, () => r1, 1), seed: 12 });
  const m = (i: number) => mac(`02:00:00:00:0${i}:01`);
  r1.addInterface({ name: 'eth0', mac: m(1), mtu: 1500 });
  r1.addInterface({ name: 'eth1', mac: m(2), mtu: 1500 });
  r2.addInterface({ name: 'eth0', mac: m(3), mtu: 1500 });
  r2.addInterface({ name: 'eth1', mac: m(4), mtu: 1500 });
  return { r1, r2, queue, toHosts, macs: [m(1), m(2), m(3), m(4)] };
}

function run(t: ReturnType<typeof topology>, now: number): void {
  for (let i = 0; i < 1000 && t.queue.length > 0; i++) {
    const f = t.queue.shift()!;
    f.to.receive(f.ifIndex, f.bytes, 0, f.bytes.length, now);
  }
}

test('two stacks: DAD side by side, NDP both ways, forwarding through both, echo end to end', () => {
  const t = topology();
  const { r1, r2 } = t;
  // The R1–R2 link is R1's eth1 (1) and R2's eth0 (0); hosts hang off R1's eth0 and R2's eth1.
  r1.addAddress6(0, ip6('2001:db8:1::1'), 64, 0);
  r1.addAddress6(1, ip6('2001:db8:12::1'), 64, 0);
  r2.addAddress6(0, ip6('2001:db8:12::2'), 64, 0);
  r2.addAddress6(1, ip6('2001:db8:2::1'), 64, 0);
  r1.addStaticRoute6({ network: ip6('2001:db8:2::'), length: 64, via: ip6('2001:db8:12::2') });
  r2.addStaticRoute6({ network: ip6('2001:db8:1::'), length: 64, via: ip6('2001:db8:12::1') });
  let now = 0;
  for (let i = 0; i < 20; i++) {
    const next = Math.min(r1.poll(now), r2.poll(now));
    run(t, now);
    if (!Number.isFinite(next) || next > 5000) break;
    now = Math.max(now, next);
  }
  for (const s of [r1, r2])
    for (const i of s.interfaces())
      assert.deepEqual(
        i.addresses6.map((a) => a.state),
        i.addresses6.map(() => 'preferred'),
        `${i.name}: ${JSON.stringify(i.addresses6)}`,
      );
  t.toHosts.length = 0;
  // H1 (2001:db8:1::a, A_MAC) pings H2 (2001:db8:2::b) through R1 and R2. The hosts' own NDP is
  // played by hand: R1 learns H1 from the echo's NS-less arrival only after asking; give it H1 first.
  const h1 = ip6('2001:db8:1::a');
  const h2 = ip6('2001:db8:2::b');
  const echo = icmp6(h1, h2, 128, 0, 0x00070001, new Uint8Array(32).fill(5));
  r1.receive(
    0,
    eth6(t.macs[0]!, A_MAC, ipv6Packet({ src: h1, dst: h2, nextHeader: IPPROTO_ICMPV6, payload: echo })),
    0,
    14 + 40 + echo.length,
    now,
  );
  run(t, now);
  // R1 resolved R2 over the link (NS, NA between our two stacks), R2 now asks for H2 on its eth1.
  const asked = t.toHosts.filter((f) => f.from === 'r2').map((f) => parse6(f.bytes));
  assert.equal(asked.length, 1);
  assert.equal(asked[0]!.icmp?.type, 135);
  assert.equal(formatIpv6(asked[0]!.icmp!.body, 0), '2001:db8:2::b');
  assert.equal(r1.neighbors(now).find((n) => n.address === '2001:db8:12::2')?.state, 'REACHABLE');
  // H2 answers R2's NS; the echo arrives with the hop limit down by two.
  const h2Mac = mac('02:bb:00:00:00:02');
  const r2ll = asked[0]!.ipSrc;
  t.toHosts.length = 0;
  r2.receive(1, naTo(h2Mac, t.macs[3]!, h2, ip6(r2ll), h2), 0, 14 + 40 + 32, now);
  const delivered = t.toHosts.map((f) => parse6(f.bytes));
  assert.equal(delivered.length, 1);
  assert.equal(delivered[0]!.icmp?.type, 128);
  assert.equal(delivered[0]!.hopLimit, 62);
  assert.deepEqual(delivered[0]!.dst, h2Mac);
  // H2's reply goes back the other way; R1 asks for H1, which answers, and the reply reaches it.
  t.toHosts.length = 0;
  const reply = icmp6(h2, h1, 129, 0, 0x00070001, new Uint8Array(32).fill(5));
  r2.receive(
    1,
    eth6(t.macs[3]!, h2Mac, ipv6Packet({ src: h2, dst: h1, nextHeader: IPPROTO_ICMPV6, payload: reply })),
    0,
    14 + 40 + reply.length,
    now,
  );
  run(t, now);
  const ns1 = t.toHosts.map((f) => parse6(f.bytes));
  assert.equal(ns1.length, 1);
  assert.equal(ns1[0]!.icmp?.type, 135);
  t.toHosts.length = 0;
  r1.receive(0, naTo(A_MAC, t.macs[0]!, h1, ip6(ns1[0]!.ipSrc), h1), 0, 14 + 40 + 32, now);
  const back = t.toHosts.map((f) => parse6(f.bytes));
  assert.equal(back.length, 1);
  assert.equal(back[0]!.icmp?.type, 129);
  assert.equal(back[0]!.ipDst, '2001:db8:1::a');
  assert.equal(r1.statCount(Stat.IPV6_FORWARDED) + r2.statCount(Stat.IPV6_FORWARDED), 4);
  assert.equal(r1.dropCount(Drop.NDP_BAD_HOP_LIMIT) + r2.dropCount(Drop.NDP_BAD_HOP_LIMIT), 0);
  assert.equal(r1.dropCount(Drop.ICMPV6_BAD_CHECKSUM) + r2.dropCount(Drop.ICMPV6_BAD_CHECKSUM), 0);
});

test('two stacks: the second to claim an address finds it duplicate, the first keeps it', () => {
  const t = topology();
  const { r1, r2 } = t;
  r1.addAddress6(1, ip6('2001:db8:12::1'), 64, 0);
  let now = 0;
  for (let i = 0; i < 10; i++) {
    const next = Math.min(r1.poll(now), r2.poll(now));
    run(t, now);
    if (!Number.isFinite(next)) break;
    now = Math.max(now, next);
  }
  assert.equal(
    r1.interfaces()[1]!.addresses6.find((a) => a.address === '2001:db8:12::1')?.state,
    'preferred',
  );
  r2.addAddress6(0, ip6('2001:db8:12::1'), 64, now);
  for (let i = 0; i < 10; i++) {
    const next = Math.min(r1.poll(now), r2.poll(now));
    run(t, now);
    if (!Number.isFinite(next) || next > now + 5000) break;
    now = Math.max(now, next);
  }
  assert.equal(
    r2.interfaces()[0]!.addresses6.find((a) => a.address === '2001:db8:12::1')?.state,
    'duplicate',
  );
  assert.equal(
    r1.interfaces()[1]!.addresses6.find((a) => a.address === '2001:db8:12::1')?.state,
    'preferred',
  );
});
