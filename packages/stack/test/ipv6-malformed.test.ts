// Malformed IPv6 (in the style of malformed.test.ts): each damaged frame is counted by its reason,
// answered only where an RFC says so (a Parameter Problem), and the stack forwards afterwards.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Drop,
  dropReasonName,
  ETHERTYPE_IPV6,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_MLD_QUERY,
  ICMPV6_PARAMETER_PROBLEM,
  IPPROTO_DSTOPTS,
  IPPROTO_ESP,
  IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS,
  IPPROTO_ICMPV6,
  IPPROTO_ROUTING,
  IPPROTO_TCP,
  IPPROTO_UDP,
  wr16,
  wr32,
} from '@nexthop/wire';
import fc from 'fast-check';
import {
  A_IP6,
  A_MAC,
  ALL_NODES,
  B_IP6,
  B_MAC,
  eth6,
  feed6,
  fixIcmp6,
  icmp6,
  icmp6Frame,
  ip6,
  ipv6Packet,
  learn6,
  mac,
  naFrame,
  nsFrame,
  parse6,
  R0_IP6,
  R0_MAC,
  R1_IP6,
  R1_MAC,
  type Rig6,
  rig6,
  udp6,
  udpFromA6,
} from './harness6.ts';

function ready(): Rig6 {
  const r = rig6();
  learn6(r, r.eth0, A_IP6, A_MAC, 1);
  learn6(r, r.eth1, B_IP6, B_MAC, 1);
  feed6(r, r.eth1, naFrame(B_MAC, R1_MAC, B_IP6, R1_IP6, B_IP6), 1);
  r.cap.take();
  return r;
}

function edit(frame: Uint8Array, f: (b: Uint8Array) => void): Uint8Array {
  const b = frame.slice();
  f(b);
  return b;
}

/** A copy of `frame` with the bits of `mask` inverted in byte `at`. */
function flipped(frame: Uint8Array, at: number, mask: number): Uint8Array {
  return edit(frame, (b) => {
    const byte = b[at];
    if (byte === undefined) throw new RangeError(`flipped: no byte ${at} in a ${b.length}-byte frame`);
    b[at] = byte ^ mask;
  });
}

/** A packet from A to R with `headers` (each [next header value, bytes]) before UDP to port 9. */
function chain(headers: [number, Uint8Array][], dst = R0_IP6): Uint8Array {
  const u = udp6(A_IP6, dst, 1, 9, new Uint8Array(4));
  const parts: Uint8Array[] = [];
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]![1].slice();
    h[0] = i + 1 < headers.length ? headers[i + 1]![0] : IPPROTO_UDP;
    parts.push(h);
  }
  const len = parts.reduce((n, p) => n + p.length, 0) + u.length;
  const payload = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    payload.set(p, o);
    o += p.length;
  }
  payload.set(u, o);
  return eth6(
    R0_MAC,
    A_MAC,
    ipv6Packet({ src: A_IP6, dst, nextHeader: headers[0]?.[0] ?? IPPROTO_UDP, payload }),
  );
}

/** An 8-byte Destination Options (or Hop-by-Hop) header of PadN. */
function padOptions(units = 0): Uint8Array {
  const h = new Uint8Array(8 * (units + 1));
  h[1] = units;
  h[2] = 1;
  h[3] = 4 + 8 * units;
  return h;
}

function fragmentHeader(offset: number, more: boolean, id = 1): Uint8Array {
  const h = new Uint8Array(8);
  wr16(h, 2, offset | (more ? 1 : 0));
  wr32(h, 4, id);
  return h;
}

const good = () => udpFromA6(B_IP6, new Uint8Array(20));
const toR = (nextHeader: number, payload: Uint8Array, hopLimit = 64) =>
  eth6(R0_MAC, A_MAC, ipv6Packet({ src: A_IP6, dst: R0_IP6, nextHeader, payload, hopLimit }));

interface Case {
  reason: number;
  note: string;
  frame: () => Uint8Array;
  /** The ICMPv6 answer an RFC asks for, if any: [type, code]. */
  answer?: [number, number];
}

const cases: Case[] = [
  { reason: Drop.IPV6_TRUNCATED, note: '39-byte header', frame: () => good().slice(0, 14 + 39) },
  { reason: Drop.IPV6_BAD_VERSION, note: 'version 4', frame: () => edit(good(), (b) => (b[14] = 0x40)) },
  {
    reason: Drop.IPV6_BAD_PAYLOAD_LENGTH,
    note: 'payload length past the frame',
    frame: () => edit(good(), (b) => wr16(b, 18, 2000)),
  },
  {
    reason: Drop.IPV6_BAD_SOURCE,
    note: 'multicast source (RFC 4291 §2.7)',
    frame: () => edit(good(), (b) => (b[22] = 0xff)),
  },
  {
    reason: Drop.IPV6_BAD_SOURCE,
    note: 'loopback source (RFC 4291 §2.5.3)',
    frame: () => edit(good(), (b) => b.set(ip6('::1'), 22)),
  },
  {
    reason: Drop.IPV6_BAD_DESTINATION,
    note: 'interface-local multicast on a link',
    frame: () => edit(good(), (b) => b.set(ip6('ff01::1'), 38)),
  },
  {
    reason: Drop.IPV6_BAD_SOURCE,
    note: ':: source in transit (RFC 4291 §2.5.2)',
    frame: () => edit(good(), (b) => b.set(new Uint8Array(16), 22)),
  },
  {
    reason: Drop.IPV6_LINK_LOCAL_SCOPE,
    note: 'a link-local destination not ours',
    frame: () => edit(good(), (b) => b.set(ip6('fe80::99'), 38)),
  },
  {
    reason: Drop.IPV6_EXT_TOO_MANY,
    note: 'nine Destination Options headers (RFC 8883 §4)',
    frame: () =>
      chain(Array.from({ length: 9 }, () => [IPPROTO_DSTOPTS, padOptions()] as [number, Uint8Array])),
    answer: [ICMPV6_PARAMETER_PROBLEM, 8],
  },
  {
    reason: Drop.IPV6_EXT_CHAIN_TOO_LONG,
    note: 'a 1 KB header chain',
    frame: () => {
      const h = new Uint8Array(8 * 128);
      h[1] = 127;
      // PadN runs of 6 bytes and Pad1 between them, all zero data: fine options, too many bytes.
      for (let p = 2; p + 8 <= h.length; p += 8) {
        h[p] = 1;
        h[p + 1] = 4;
      }
      return chain([[IPPROTO_DSTOPTS, h]]);
    },
    answer: [ICMPV6_PARAMETER_PROBLEM, 7],
  },
  {
    reason: Drop.IPV6_HBH_NOT_FIRST,
    note: 'a Hop-by-Hop header after another header (a chain looping back to 0)',
    frame: () =>
      chain([
        [IPPROTO_DSTOPTS, padOptions()],
        [IPPROTO_HOPOPTS, padOptions()],
      ]),
    answer: [ICMPV6_PARAMETER_PROBLEM, 1],
  },
  {
    reason: Drop.IPV6_EXT_TRUNCATED,
    note: 'a header longer than the packet',
    frame: () => edit(chain([[IPPROTO_DSTOPTS, padOptions()]]), (b) => (b[54 + 1] = 40)),
  },
  {
    reason: Drop.IPV6_OPTION_BAD_PADDING,
    note: 'PadN carrying data (RFC 4942)',
    frame: () => edit(chain([[IPPROTO_DSTOPTS, padOptions()]]), (b) => (b[54 + 5] = 7)),
  },
  {
    reason: Drop.IPV6_UNKNOWN_OPTION,
    note: 'unknown option, action 01: discard silently',
    frame: () => edit(chain([[IPPROTO_DSTOPTS, padOptions()]]), (b) => (b[54 + 2] = 0x47)),
  },
  {
    reason: Drop.IPV6_UNKNOWN_OPTION,
    note: 'unknown option, action 10: Parameter Problem code 2',
    frame: () => edit(chain([[IPPROTO_DSTOPTS, padOptions()]]), (b) => (b[54 + 2] = 0x87)),
    answer: [ICMPV6_PARAMETER_PROBLEM, 2],
  },
  {
    reason: Drop.IPV6_ROUTING_HEADER,
    note: 'RH0 with segments left (RFC 5095 §3)',
    frame: () => {
      const rh = new Uint8Array(24);
      rh[1] = 2;
      rh[3] = 1;
      rh.set(B_IP6, 8);
      return chain([[IPPROTO_ROUTING, rh]]);
    },
    answer: [ICMPV6_PARAMETER_PROBLEM, 0],
  },
  {
    reason: Drop.IPV6_ROUTING_HEADER,
    note: 'an SRH (type 4) with segments left: not processed here',
    frame: () => {
      const rh = new Uint8Array(24);
      rh[1] = 2;
      rh[2] = 4;
      rh[3] = 1;
      return chain([[IPPROTO_ROUTING, rh]]);
    },
    answer: [ICMPV6_PARAMETER_PROBLEM, 0],
  },
  {
    reason: Drop.IPV6_FRAG_BAD_LENGTH,
    note: 'a tiny first fragment, 5 bytes with M set',
    frame: () =>
      toR(
        IPPROTO_FRAGMENT,
        new Uint8Array([...fragmentHeader(0, true).map((x, i) => (i === 0 ? 17 : x)), 1, 2, 3, 4, 5]),
      ),
    answer: [ICMPV6_PARAMETER_PROBLEM, 0],
  },
  {
    reason: Drop.IPV6_FIRST_FRAGMENT_INCOMPLETE,
    note: 'a first fragment whose header chain goes on in the next one (RFC 7112)',
    frame: () => {
      const f = fragmentHeader(0, true);
      f[0] = IPPROTO_DSTOPTS;
      const opts = padOptions(1).subarray(0, 8);
      return toR(IPPROTO_FRAGMENT, new Uint8Array([...f, ...opts]));
    },
    answer: [ICMPV6_PARAMETER_PROBLEM, 3],
  },
  {
    reason: Drop.IPV6_FRAG_TOO_BIG,
    note: 'a fragment reaching past 65535 bytes',
    frame: () => {
      const f = fragmentHeader(65528, false);
      f[0] = IPPROTO_UDP;
      return toR(IPPROTO_FRAGMENT, new Uint8Array([...f, ...new Uint8Array(16)]));
    },
    answer: [ICMPV6_PARAMETER_PROBLEM, 0],
  },
  {
    reason: Drop.IPV6_UNKNOWN_NEXT_HEADER,
    note: 'ESP (no IPsec here)',
    frame: () => toR(IPPROTO_ESP, new Uint8Array(16)),
    answer: [ICMPV6_PARAMETER_PROBLEM, 1],
  },
  {
    reason: Drop.IPV6_UNKNOWN_NEXT_HEADER,
    note: 'Mobility header (RFC 7045: not processed)',
    frame: () => toR(135, new Uint8Array(16)),
    answer: [ICMPV6_PARAMETER_PROBLEM, 1],
  },
  {
    reason: Drop.TCP_NOT_UNICAST,
    note: 'TCP to all-nodes (RFC 9293 §3.9.1: TCP is unicast)',
    frame: () =>
      eth6(
        mac('33:33:00:00:00:01'),
        A_MAC,
        ipv6Packet({
          src: A_IP6,
          dst: ALL_NODES,
          nextHeader: IPPROTO_TCP,
          payload: tcp6(ALL_NODES),
          hopLimit: 64,
        }),
      ),
  },
  {
    reason: Drop.ICMPV6_TRUNCATED,
    note: '4-byte ICMPv6',
    frame: () => toR(IPPROTO_ICMPV6, new Uint8Array(4)),
  },
  {
    reason: Drop.ICMPV6_BAD_CHECKSUM,
    note: 'echo with a bad checksum',
    frame: () => toR(IPPROTO_ICMPV6, flipped(icmp6(A_IP6, R0_IP6, 128, 0, 1, new Uint8Array(8)), 2, 1)),
  },
  {
    reason: Drop.ICMPV6_UNHANDLED_TYPE,
    note: 'an unknown informational type (RFC 4443 §2.4 (b))',
    frame: () => toR(IPPROTO_ICMPV6, icmp6(A_IP6, R0_IP6, 200, 0, 0, new Uint8Array(8))),
  },
  {
    reason: Drop.UDP_ZERO_CHECKSUM,
    note: 'UDP checksum 0 (RFC 8200 §8.1)',
    frame: () =>
      toR(
        IPPROTO_UDP,
        edit(udp6(A_IP6, R0_IP6, 1, 9, new Uint8Array(4)), (b) => wr16(b, 6, 0)),
      ),
  },
  {
    reason: Drop.UDP_BAD_CHECKSUM,
    note: 'UDP data corrupted',
    frame: () => toR(IPPROTO_UDP, flipped(udp6(A_IP6, R0_IP6, 1, 9, new Uint8Array(4)), 9, 1)),
  },
  {
    reason: Drop.NDP_BAD_HOP_LIMIT,
    note: 'NS with hop limit 64',
    frame: () => nsFrame(A_MAC, A_IP6, R0_IP6, { hopLimit: 64 }),
  },
  {
    reason: Drop.NDP_BAD_CODE,
    note: 'NS with code 1',
    frame: () => edit(nsFrame(A_MAC, A_IP6, R0_IP6), (b) => fixNd(b, (m) => (m[1] = 1))),
  },
  {
    reason: Drop.NDP_BAD_OPTION_LENGTH,
    note: 'an option of length 0',
    frame: () => edit(nsFrame(A_MAC, A_IP6, R0_IP6), (b) => fixNd(b, (m) => (m[25] = 0))),
  },
  {
    reason: Drop.NDP_BAD_OPTION_LENGTH,
    note: 'an option running past the message',
    frame: () => edit(nsFrame(A_MAC, A_IP6, R0_IP6), (b) => fixNd(b, (m) => (m[25] = 3))),
  },
  {
    reason: Drop.NDP_BAD_TARGET,
    note: 'NS for a multicast target',
    frame: () => edit(nsFrame(A_MAC, A_IP6, R0_IP6), (b) => fixNd(b, (m) => (m[8] = 0xff))),
  },
  {
    reason: Drop.NDP_BAD_SOURCE,
    note: 'a DAD probe (from ::) with a source link-layer address',
    frame: () => nsFrame(A_MAC, new Uint8Array(16), R0_IP6, { slla: true }),
  },
  {
    reason: Drop.NDP_TRUNCATED,
    note: 'a 16-byte NS',
    frame: () => {
      const m = new Uint8Array(16);
      m[0] = 135;
      return icmp6Frame(A_MAC, R0_MAC, A_IP6, R0_IP6, fixIcmp6(A_IP6, R0_IP6, m), 255);
    },
  },
  {
    reason: Drop.MLD_BAD_HOP_LIMIT,
    note: 'an MLD query with hop limit 2',
    frame: () => {
      const q = new Uint8Array(28);
      q[0] = ICMPV6_MLD_QUERY;
      return icmp6Frame(
        A_MAC,
        R0_MAC,
        ip6('fe80::a'),
        ip6('ff02::1'),
        fixIcmp6(ip6('fe80::a'), ip6('ff02::1'), q),
        2,
      );
    },
  },
  {
    reason: Drop.IPV6_HOP_LIMIT_EXCEEDED,
    note: 'an ICMPv6 error in transit, hop limit 1: no error about an error (RFC 4443 §2.4 (e.1))',
    frame: () =>
      icmp6Frame(
        A_MAC,
        R0_MAC,
        A_IP6,
        B_IP6,
        icmp6(A_IP6, B_IP6, ICMPV6_DEST_UNREACHABLE, 0, 0, new Uint8Array(40)),
        1,
      ),
  },
  {
    reason: Drop.IPV6_HOP_LIMIT_EXCEEDED,
    note: 'an ICMPv6 error behind a Destination Options header, hop limit 1: still no error about it',
    frame: () => {
      const opts = padOptions();
      opts[0] = IPPROTO_ICMPV6;
      const e = icmp6(A_IP6, B_IP6, 3, 0, 0, new Uint8Array(40));
      return eth6(
        R0_MAC,
        A_MAC,
        ipv6Packet({
          src: A_IP6,
          dst: B_IP6,
          nextHeader: IPPROTO_DSTOPTS,
          payload: new Uint8Array([...opts, ...e]),
          hopLimit: 1,
        }),
      );
    },
  },
];

function tcp6(dst = R0_IP6): Uint8Array {
  const t = new Uint8Array(20);
  wr16(t, 0, 1234);
  wr16(t, 2, 22);
  t[12] = 5 << 4;
  t[13] = 2;
  // Checksum over the IPv6 pseudo-header (RFC 8200 §8.1).
  let s = 0;
  const add = (b: Uint8Array) => {
    for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  };
  add(A_IP6);
  add(dst);
  s += 20 + IPPROTO_TCP;
  add(t);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  wr16(t, 16, ~s & 0xffff);
  return t;
}

/** Edits the ICMPv6 message of an NDP frame (from A to R's solicited-node group) and fixes its checksum. */
function fixNd(frame: Uint8Array, f: (m: Uint8Array) => void): void {
  const m = frame.subarray(54);
  f(m);
  const src = frame.slice(22, 38);
  const dst = frame.slice(38, 54);
  fixIcmp6(src, dst, m);
}

for (const c of cases) {
  test(`ipv6 malformed: ${dropReasonName(c.reason)} (${c.note}) is counted, answered only as the RFC says, and forwarding goes on`, () => {
    const r = ready();
    feed6(r, r.eth0, c.frame(), 10);
    const sent = r.cap.take();
    if (c.answer === undefined) assert.deepEqual(sent, [], 'nothing transmitted');
    else {
      assert.equal(sent.length, 1, 'one answer');
      const f = parse6(sent[0]!.bytes);
      assert.deepEqual([f.icmp?.type, f.icmp?.code], c.answer);
      assert.ok(f.icmp!.checksumOk);
      assert.equal(f.ipDst, '2001:db8:1::a');
    }
    const drops = r.stack.counters().drops;
    const nonZero = Object.entries(drops).filter(([, v]) => v !== 0);
    assert.deepEqual(nonZero, [[dropReasonName(c.reason), 1]]);
    // The stack still forwards.
    feed6(r, r.eth0, udpFromA6(B_IP6, new Uint8Array([4, 3, 2, 1])), 11);
    const out = r.cap.take();
    assert.equal(out.length, 1);
    assert.deepEqual(parse6(out[0]!.bytes).dst, B_MAC);
  });
}

test('ipv6 malformed: overlapping tiny fragments are counted once, the datagram gone, and forwarding goes on', () => {
  const r = ready();
  const f1 = fragmentHeader(0, true, 9);
  f1[0] = IPPROTO_UDP;
  const f2 = fragmentHeader(8, false, 9);
  f2[0] = IPPROTO_UDP;
  const f3 = fragmentHeader(0, true, 9);
  f3[0] = IPPROTO_UDP;
  feed6(r, r.eth0, toR(IPPROTO_FRAGMENT, new Uint8Array([...f1, ...new Uint8Array(16)])), 10);
  feed6(r, r.eth0, toR(IPPROTO_FRAGMENT, new Uint8Array([...f3, ...new Uint8Array(8).fill(1)])), 10);
  feed6(r, r.eth0, toR(IPPROTO_FRAGMENT, new Uint8Array([...f2, ...new Uint8Array(8)])), 10);
  assert.deepEqual(r.cap.take(), []);
  assert.equal(r.stack.dropCount(Drop.IPV6_REASSEMBLY_OVERLAP), 1);
  feed6(r, r.eth0, udpFromA6(B_IP6, new Uint8Array(4)), 11);
  assert.equal(r.cap.take().length, 1);
});

// ---- property: nothing throws, and every frame leaves a trace ------------------------------------

function trace(r: Rig6): number {
  const { stats, drops } = r.stack.counters();
  let sum = 0;
  for (const v of Object.values(stats)) sum += v;
  for (const v of Object.values(drops)) sum += v;
  return sum;
}

function checkFrame(r: Rig6, frame: Uint8Array, now: number): void {
  const before = trace(r);
  const neighboursBefore = JSON.stringify(r.stack.neighbors(now));
  feed6(r, r.eth0, frame, now);
  const sent = r.cap.take().length;
  const changed = trace(r) !== before || JSON.stringify(r.stack.neighbors(now)) !== neighboursBefore;
  assert.ok(sent > 0 || changed, `frame left no trace: ${Buffer.from(frame).toString('hex')}`);
}

test('property: random IPv6 packets never throw and each one is answered or counted', () => {
  const r = ready();
  let now = 100;
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 160 }), fc.constantFrom(0, 1, 2), (raw, kind) => {
      const frame = new Uint8Array(14 + raw.length);
      frame.set(R0_MAC, 0);
      frame.set(A_MAC, 6);
      wr16(frame, 12, ETHERTYPE_IPV6);
      frame.set(raw, 14);
      // Steer some past the first checks: version 6, a plausible length, our addresses.
      if (kind > 0 && raw.length >= 40) {
        frame[14] = 0x60 | (frame[14]! & 15);
        wr16(frame, 18, raw.length - 40);
        frame.set(A_IP6, 22);
        frame.set(kind === 1 ? R0_IP6 : B_IP6, 38);
      }
      now += 1;
      checkFrame(r, frame, now);
    }),
    { seed: 0x6eed, numRuns: 3000 },
  );
});

test('property: random mutations of valid IPv6 frames never throw and each one is answered or counted', () => {
  const r = ready();
  const templates = [
    udpFromA6(B_IP6, new Uint8Array(30)),
    udpFromA6(R0_IP6, new Uint8Array(30)),
    icmp6Frame(A_MAC, R0_MAC, A_IP6, R0_IP6, icmp6(A_IP6, R0_IP6, 128, 0, 0x10001, new Uint8Array(24))),
    nsFrame(A_MAC, A_IP6, R0_IP6),
    naFrame(A_MAC, R0_MAC, A_IP6, R0_IP6, A_IP6),
    chain([
      [IPPROTO_HOPOPTS, padOptions()],
      [IPPROTO_DSTOPTS, padOptions()],
    ]),
    toR(
      IPPROTO_FRAGMENT,
      new Uint8Array([
        ...fragmentHeader(0, true, 3).map((x, i) => (i === 0 ? 17 : x)),
        ...new Uint8Array(16),
      ]),
    ),
  ];
  let now = 100;
  fc.assert(
    fc.property(
      fc.nat(templates.length - 1),
      fc.array(fc.tuple(fc.nat(200), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      fc.option(fc.nat(200), { nil: undefined }),
      (which, edits, cut) => {
        let frame = templates[which]!.slice();
        for (const [at, value] of edits) if (at >= 14 && at < frame.length) frame[at] = value;
        if (cut !== undefined && cut < frame.length) frame = frame.slice(0, cut);
        now += 1;
        checkFrame(r, frame, now);
      },
    ),
    { seed: 0x6eee, numRuns: 4000 },
  );
  // And it still forwards.
  feed6(r, r.eth0, udpFromA6(B_IP6, new Uint8Array(4)), now + 1);
  assert.ok(r.cap.take().length >= 1);
});
