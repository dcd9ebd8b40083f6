import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  Drop,
  decodeIcmpv6,
  decodeIpv6,
  decodeIpv6Extensions,
  decodeNdp,
  ETH_HEADER_LEN,
  ETHERTYPE_IPV6,
  ICMPV6_NEIGHBOR_ADVERTISEMENT,
  ICMPV6_NEIGHBOR_SOLICITATION,
  ICMPV6_REDIRECT,
  ICMPV6_ROUTER_ADVERTISEMENT,
  ICMPV6_ROUTER_SOLICITATION,
  Icmpv6Message,
  IPPROTO_ICMPV6,
  IPV6_HEADER_LEN,
  IPV6_MIN_MTU,
  Ipv6Extensions,
  Ipv6Header,
  NA_FLAG_OVERRIDE,
  NA_FLAG_ROUTER,
  NA_FLAG_SOLICITED,
  NDP_OPT_MTU,
  NDP_OPT_NONCE,
  NDP_OPT_PREFIX_INFORMATION,
  NDP_OPT_RDNSS,
  NDP_OPT_REDIRECTED_HEADER,
  NDP_OPT_SOURCE_LINK_ADDRESS,
  NDP_OPT_TARGET_LINK_ADDRESS,
  NdpMessage,
  NdpOptionCursor,
  PREFIX_FLAG_AUTONOMOUS,
  PREFIX_FLAG_ON_LINK,
  pseudoHeaderSumIpv6,
  RA_FLAG_MANAGED,
  RA_FLAG_OTHER,
  REDIRECT_LEN,
  setIcmpv6Checksum,
  writeEthernet,
  writeIpv6Header,
  writeLinkAddressOption,
  writeMtuOption,
  writeNeighborAdvertisement,
  writeNeighborSolicitation,
  writePrefixInformationOption,
  writeRdnssOption,
  writeRedirect,
  writeRedirectedHeaderOption,
  writeRouterAdvertisement,
  writeRouterSolicitation,
} from '../src/index.ts';
import { hex, toHex } from './golden.ts';
import {
  ALL_NODES,
  IP6_A,
  IP6_AT,
  IP6_B,
  LL_A,
  LL_B,
  LL_D,
  MAC_A6,
  MAC_B6,
  MAC_D6,
  NA,
  NA_NO_OPTION,
  NA_ROUTER_NO_OPTION,
  NS,
  NS_DAD,
  NS_UNICAST,
  RA,
  REDIRECT,
  REDIRECT_TRIGGER,
  RS,
} from './golden-ipv6.ts';

const ICMP_AT = IP6_AT + IPV6_HEADER_LEN;

/** Ethernet → IPv6 → ICMPv6 (checksum verified) → NDP; returns the NDP result and scratch objects. */
function decodeFrame(frame: Uint8Array): { r: number; ip: Ipv6Header; ndp: NdpMessage } {
  const ip = new Ipv6Header();
  assert.equal(decodeIpv6(frame, IP6_AT, frame.length - IP6_AT, ip), 0);
  const ext = new Ipv6Extensions();
  assert.equal(decodeIpv6Extensions(frame, IP6_AT, ip.totalLength, ext), 0);
  const icmp = new Icmpv6Message();
  const pseudo = pseudoHeaderSumIpv6(frame, ip.srcOffset, frame, ip.dstOffset, IPPROTO_ICMPV6, 0);
  assert.equal(decodeIcmpv6(frame, ext.payloadOffset, ext.payloadLength, pseudo, icmp), 0);
  const ndp = new NdpMessage();
  return { r: decodeNdp(frame, ext.payloadOffset, ext.payloadLength, ip, ndp), ip, ndp };
}

/** decodeNdp alone (no checksum: the tests below damage fields on purpose). */
function ndpOf(packet: Uint8Array, out = new NdpMessage()): number {
  const ip = new Ipv6Header();
  assert.equal(decodeIpv6(packet, 0, packet.length, ip), 0);
  return decodeNdp(packet, 40, ip.payloadLength, ip, out);
}

function options(buf: Uint8Array, msg: NdpMessage): { type: number; offset: number; length: number }[] {
  const cur = new NdpOptionCursor();
  cur.begin(buf, msg.optionsOffset, msg.optionsLength);
  const list = [];
  while (cur.next()) list.push({ type: cur.type, offset: cur.offset, length: cur.length });
  return list;
}

describe('decodeNdp on captured messages (RFC 4861 §4)', () => {
  it('decodes a router solicitation with its source link-layer address', () => {
    const { r, ndp } = decodeFrame(RS);
    assert.equal(r, 0);
    assert.equal(ndp.type, ICMPV6_ROUTER_SOLICITATION);
    assert.equal(toHex(RS, ndp.sourceLinkAddressOffset, 6), toHex(MAC_A6));
    assert.deepEqual(options(RS, ndp), [
      { type: NDP_OPT_SOURCE_LINK_ADDRESS, offset: ICMP_AT + 8, length: 8 },
    ]);
  });

  it('decodes a DAD probe: from ::, to the solicited-node group, a nonce and no link-layer address', () => {
    const { r, ip, ndp } = decodeFrame(NS_DAD);
    assert.equal(r, 0);
    assert.equal(ndp.type, ICMPV6_NEIGHBOR_SOLICITATION);
    assert.equal(toHex(NS_DAD, ip.srcOffset, 16), '0'.repeat(32));
    assert.equal(toHex(NS_DAD, ndp.targetOffset, 16), toHex(LL_A));
    assert.equal(ndp.sourceLinkAddressOffset, -1);
    assert.equal(ndp.nonceOffset, ICMP_AT + 26);
    assert.equal(ndp.nonceLength, 6);
    assert.equal(options(NS_DAD, ndp)[0]!.type, NDP_OPT_NONCE);
  });

  it('decodes a multicast and a unicast solicitation', () => {
    const ns = decodeFrame(NS);
    assert.equal(ns.r, 0);
    assert.equal(toHex(NS, ns.ndp.targetOffset, 16), toHex(LL_B));
    assert.equal(toHex(NS, ns.ndp.sourceLinkAddressOffset, 6), toHex(MAC_A6));
    const probe = decodeFrame(NS_UNICAST);
    assert.equal(probe.r, 0);
    assert.equal(toHex(NS_UNICAST, probe.ndp.targetOffset, 16), toHex(IP6_A));
    assert.equal(toHex(NS_UNICAST, probe.ndp.sourceLinkAddressOffset, 6), toHex(MAC_B6));
  });

  it('decodes advertisements with their R, S and O flags (RFC 4861 §4.4)', () => {
    const cases: [Uint8Array, number, boolean, boolean, boolean, Uint8Array | null][] = [
      [NA, NA_FLAG_ROUTER | NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE, true, true, true, MAC_B6],
      [NA_ROUTER_NO_OPTION, NA_FLAG_ROUTER | NA_FLAG_SOLICITED, true, true, false, null],
      [NA_NO_OPTION, NA_FLAG_SOLICITED, false, true, false, null],
    ];
    for (const [frame, flags, router, solicited, override, mac] of cases) {
      const { r, ndp } = decodeFrame(frame);
      assert.equal(r, 0);
      assert.equal(ndp.type, ICMPV6_NEIGHBOR_ADVERTISEMENT);
      assert.equal(ndp.naFlags, flags);
      assert.deepEqual([ndp.router, ndp.solicited, ndp.override], [router, solicited, override]);
      if (mac === null) assert.equal(ndp.targetLinkAddressOffset, -1);
      else assert.equal(toHex(frame, ndp.targetLinkAddressOffset, 6), toHex(mac));
    }
  });

  it('decodes the router advertisement Linux accepted, options through the cursor', () => {
    const { r, ndp } = decodeFrame(RA);
    assert.equal(r, 0);
    assert.equal(ndp.type, ICMPV6_ROUTER_ADVERTISEMENT);
    assert.deepEqual(
      [ndp.curHopLimit, ndp.managed, ndp.other, ndp.routerLifetime, ndp.reachableTime, ndp.retransTimer],
      [64, false, true, 1800, 30000, 1000],
    );
    assert.equal(toHex(RA, ndp.sourceLinkAddressOffset, 6), toHex(MAC_B6));
    assert.equal(ndp.mtu, 1400);
    assert.equal(ndp.prefixCount, 1);
    assert.equal(ndp.rdnssCount, 1);
    const cur = new NdpOptionCursor();
    cur.begin(RA, ndp.optionsOffset, ndp.optionsLength);
    const seen: number[] = [];
    while (cur.next()) {
      seen.push(cur.type);
      assert.equal(cur.wellFormed, true);
      if (cur.type === NDP_OPT_PREFIX_INFORMATION) {
        assert.equal(cur.prefixLength, 64);
        assert.equal(cur.prefixFlags, PREFIX_FLAG_ON_LINK | PREFIX_FLAG_AUTONOMOUS);
        assert.equal(cur.validLifetime, 86400);
        assert.equal(cur.preferredLifetime, 14400);
        assert.equal(toHex(RA, cur.prefixOffset, 16), '20010db8000100000000000000000000');
      } else if (cur.type === NDP_OPT_RDNSS) {
        assert.equal(cur.rdnssLifetime, 600);
        assert.equal(cur.rdnssCount, 1);
        assert.equal(toHex(RA, cur.rdnssAddressOffset(0), 16), '20010db8000100000000000000000053');
      } else if (cur.type === NDP_OPT_MTU) {
        assert.equal(cur.mtu, 1400);
      } else if (cur.type === NDP_OPT_SOURCE_LINK_ADDRESS) {
        assert.equal(toHex(RA, cur.linkAddressOffset, 6), toHex(MAC_B6));
      }
    }
    assert.deepEqual(seen, [
      NDP_OPT_SOURCE_LINK_ADDRESS,
      NDP_OPT_MTU,
      NDP_OPT_PREFIX_INFORMATION,
      NDP_OPT_RDNSS,
    ]);
  });

  it('decodes the redirect: target, destination, link-layer address and the quoted packet', () => {
    const { r, ndp } = decodeFrame(REDIRECT);
    assert.equal(r, 0);
    assert.equal(ndp.type, ICMPV6_REDIRECT);
    assert.equal(toHex(REDIRECT, ndp.targetOffset, 16), toHex(LL_D));
    assert.equal(toHex(REDIRECT, ndp.destinationOffset, 16), '20010db8007700000000000000000001');
    assert.equal(toHex(REDIRECT, ndp.targetLinkAddressOffset, 6), toHex(MAC_D6));
    assert.equal(ndp.redirectedLength, 104);
    assert.equal(
      toHex(REDIRECT, ndp.redirectedOffset, ndp.redirectedLength),
      toHex(REDIRECT_TRIGGER, IP6_AT),
    );
    const cur = new NdpOptionCursor();
    cur.begin(REDIRECT, ndp.optionsOffset, ndp.optionsLength);
    assert.equal(cur.next() && cur.next(), true);
    assert.equal(cur.type, NDP_OPT_REDIRECTED_HEADER);
    assert.equal(cur.dataOffset, ndp.redirectedOffset);
    assert.equal(cur.dataLength, 104);
    assert.equal(cur.next(), false);
  });
});

/** A whole frame: Ethernet, IPv6 with hop limit 255, and the NDP message `build` writes at 54. */
function frame(
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  src: Uint8Array,
  dst: Uint8Array,
  build: (buf: Uint8Array, off: number) => number,
): Uint8Array {
  const buf = new Uint8Array(IPV6_MIN_MTU + ETH_HEADER_LEN);
  writeEthernet(buf, 0, dstMac, 0, srcMac, 0, ETHERTYPE_IPV6);
  const len = build(buf, ICMP_AT);
  writeIpv6Header(buf, IP6_AT, 0, 0, len, IPPROTO_ICMPV6, 255, src, 0, dst, 0);
  setIcmpv6Checksum(buf, ICMP_AT, len, pseudoHeaderSumIpv6(src, 0, dst, 0, IPPROTO_ICMPV6, 0));
  return buf.slice(0, ICMP_AT + len);
}

describe('NDP writers reproduce the captures byte for byte', () => {
  it('router solicitation', () => {
    const f = frame(hex('333300000002'), MAC_A6, LL_A, hex('ff020000000000000000000000000002'), (b, o) => {
      const n = writeRouterSolicitation(b, o);
      return n + writeLinkAddressOption(b, o + n, NDP_OPT_SOURCE_LINK_ADDRESS, MAC_A6, 0);
    });
    assert.equal(toHex(f), toHex(RS));
  });

  it('neighbor solicitation (and a DAD probe without the nonce)', () => {
    const f = frame(hex('3333ff00000b'), MAC_A6, IP6_A, hex('ff0200000000000000000001ff00000b'), (b, o) => {
      const n = writeNeighborSolicitation(b, o, LL_B, 0);
      return n + writeLinkAddressOption(b, o + n, NDP_OPT_SOURCE_LINK_ADDRESS, MAC_A6, 0);
    });
    assert.equal(toHex(f), toHex(NS));
    const probe = frame(hex('02000000000a'), MAC_B6, LL_B, IP6_A, (b, o) => {
      const n = writeNeighborSolicitation(b, o, IP6_A, 0);
      return n + writeLinkAddressOption(b, o + n, NDP_OPT_SOURCE_LINK_ADDRESS, MAC_B6, 0);
    });
    assert.equal(toHex(probe), toHex(NS_UNICAST));
  });

  it('neighbor advertisements with and without a target link-layer address', () => {
    const na = frame(MAC_A6, MAC_B6, LL_B, IP6_A, (b, o) => {
      const n = writeNeighborAdvertisement(
        b,
        o,
        NA_FLAG_ROUTER | NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE,
        LL_B,
        0,
      );
      return n + writeLinkAddressOption(b, o + n, NDP_OPT_TARGET_LINK_ADDRESS, MAC_B6, 0);
    });
    assert.equal(toHex(na), toHex(NA));
    const bare = frame(MAC_B6, MAC_A6, IP6_A, LL_B, (b, o) =>
      writeNeighborAdvertisement(b, o, NA_FLAG_SOLICITED, IP6_A, 0),
    );
    assert.equal(toHex(bare), toHex(NA_NO_OPTION));
  });

  it('router advertisement with SLLA, MTU, prefix and RDNSS options', () => {
    const f = frame(hex('333300000001'), MAC_B6, LL_B, ALL_NODES, (b, o) => {
      let n = writeRouterAdvertisement(b, o, 64, RA_FLAG_OTHER, 1800, 30000, 1000);
      n += writeLinkAddressOption(b, o + n, NDP_OPT_SOURCE_LINK_ADDRESS, MAC_B6, 0);
      n += writeMtuOption(b, o + n, 1400);
      // Host bits given here are cleared by the writer.
      n += writePrefixInformationOption(
        b,
        o + n,
        64,
        PREFIX_FLAG_ON_LINK | PREFIX_FLAG_AUTONOMOUS,
        86400,
        14400,
        IP6_A,
        0,
      );
      n += writeRdnssOption(b, o + n, 600, hex('20010db8000100000000000000000053'), 0, 1);
      return n;
    });
    assert.equal(toHex(f), toHex(RA));
  });

  it('redirect with the target link-layer address and the redirected header', () => {
    const trigger = REDIRECT_TRIGGER.subarray(IP6_AT);
    const f = frame(MAC_A6, MAC_B6, LL_B, IP6_A, (b, o) => {
      let n = writeRedirect(b, o, LL_D, 0, trigger, 24);
      n += writeLinkAddressOption(b, o + n, NDP_OPT_TARGET_LINK_ADDRESS, MAC_D6, 0);
      n += writeRedirectedHeaderOption(
        b,
        o + n,
        trigger,
        0,
        trigger.length,
        IPV6_MIN_MTU - IPV6_HEADER_LEN - n,
      );
      return n;
    });
    assert.equal(toHex(f), toHex(REDIRECT));
  });

  it('cuts the redirected header to a multiple of 8 within the room given (RFC 4861 §4.6.3)', () => {
    const packet = new Uint8Array(2000).fill(7);
    const buf = new Uint8Array(2100);
    const room = IPV6_MIN_MTU - IPV6_HEADER_LEN - REDIRECT_LEN - 8;
    assert.equal(writeRedirectedHeaderOption(buf, 0, packet, 0, 2000, room), 1192);
    assert.equal(buf[1], 1192 / 8);
    assert.equal(writeRedirectedHeaderOption(buf, 0, packet, 0, 2000, room - 2), 1184);
    assert.equal(writeRedirectedHeaderOption(buf, 0, packet, 0, 100, room), 104);
    assert.equal(writeRedirectedHeaderOption(buf, 0, packet, 0, 100, 15), 0);
    assert.equal(toHex(buf, 2, 6), '000000000000');
  });
});

describe('decodeNdp drops what RFC 4861 §6.1, §7.1 and §8.1 refuse', () => {
  const packetOf = (f: Uint8Array) => f.slice(IP6_AT);
  const set = (p: Uint8Array, at: number, ...bytes: number[]) => {
    const q = p.slice();
    q.set(bytes, at);
    return q;
  };
  const global = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9];

  it('drops any hop limit but 255 as NDP_BAD_HOP_LIMIT', () => {
    for (const f of [RS, RA, NS, NA, REDIRECT]) {
      for (const hops of [0, 1, 64, 254])
        assert.equal(ndpOf(set(packetOf(f), 7, hops)), Drop.NDP_BAD_HOP_LIMIT);
    }
  });

  it('drops a code other than 0 as NDP_BAD_CODE', () => {
    for (const f of [RS, RA, NS, NA, REDIRECT])
      assert.equal(ndpOf(set(packetOf(f), 41, 1)), Drop.NDP_BAD_CODE);
  });

  it('drops messages shorter than their fixed part as NDP_TRUNCATED', () => {
    for (const [f, fixed] of [
      [RS, 8],
      [RA, 16],
      [NS, 24],
      [NA, 24],
      [REDIRECT, 40],
    ] as const) {
      const p = packetOf(f);
      const ip = new Ipv6Header();
      assert.equal(decodeIpv6(p, 0, p.length, ip), 0);
      assert.equal(decodeNdp(p, 40, fixed - 1, ip, new NdpMessage()), Drop.NDP_TRUNCATED);
      assert.equal(decodeNdp(p, 40, 1, ip, new NdpMessage()), Drop.NDP_TRUNCATED);
      assert.equal(decodeNdp(p, 40, fixed, ip, new NdpMessage()), 0);
    }
  });

  it('drops an option of length 0, or one running past the end, as NDP_BAD_OPTION_LENGTH (§4.6)', () => {
    assert.equal(ndpOf(set(packetOf(NS), 65, 0)), Drop.NDP_BAD_OPTION_LENGTH);
    assert.equal(ndpOf(set(packetOf(NS), 65, 2)), Drop.NDP_BAD_OPTION_LENGTH);
    assert.equal(ndpOf(set(packetOf(RA), 105, 0)), Drop.NDP_BAD_OPTION_LENGTH); // the RDNSS option
    const p = packetOf(RS);
    const ip = new Ipv6Header();
    decodeIpv6(p, 0, p.length, ip);
    assert.equal(decodeNdp(p, 40, 9, ip, new NdpMessage()), Drop.NDP_BAD_OPTION_LENGTH); // one lone byte
  });

  it('skips options nobody knows, and ignores known ones of the wrong size', () => {
    const p = set(packetOf(NS), 64, 200); // the SLLA becomes type 200
    const out = new NdpMessage();
    assert.equal(ndpOf(p, out), 0);
    assert.equal(out.sourceLinkAddressOffset, -1);
    // An MTU option of 16 bytes is not one: ignored, not fatal.
    const buf = new Uint8Array(40 + 16 + 16);
    writeRouterAdvertisement(buf, 40, 64, 0, 0, 0, 0);
    buf.set([NDP_OPT_MTU, 2, 0, 0, 0, 0, 5, 0xdc], 56);
    writeIpv6Header(buf, 0, 0, 0, 32, IPPROTO_ICMPV6, 255, LL_B, 0, ALL_NODES, 0);
    assert.equal(ndpOf(buf, out), 0);
    assert.equal(out.mtu, -1);
    const cur = new NdpOptionCursor();
    cur.begin(buf, out.optionsOffset, out.optionsLength);
    assert.equal(cur.next(), true);
    assert.equal(cur.wellFormed, false);
  });

  it('drops router advertisements and redirects from a non-link-local source as NDP_BAD_SOURCE', () => {
    assert.equal(ndpOf(set(packetOf(RA), 8, ...global)), Drop.NDP_BAD_SOURCE);
    assert.equal(ndpOf(set(packetOf(REDIRECT), 8, ...global)), Drop.NDP_BAD_SOURCE);
    // A solicitation from a global address is fine.
    assert.equal(ndpOf(set(packetOf(RS), 8, ...global)), 0);
  });

  it('drops solicitations from :: that carry a source link-layer address as NDP_BAD_SOURCE', () => {
    const zero = new Array(16).fill(0);
    assert.equal(ndpOf(set(packetOf(RS), 8, ...zero)), Drop.NDP_BAD_SOURCE);
    assert.equal(ndpOf(set(packetOf(NS), 8, ...zero)), Drop.NDP_BAD_SOURCE);
    // Without it, an RS from :: is valid.
    const p = packetOf(RS);
    const ip = new Ipv6Header();
    const q = set(p, 8, ...zero);
    decodeIpv6(q, 0, q.length, ip);
    assert.equal(decodeNdp(q, 40, 8, ip, new NdpMessage()), 0);
  });

  it('drops a DAD probe not sent to a solicited-node group as NDP_BAD_DESTINATION', () => {
    assert.equal(ndpOf(set(packetOf(NS_DAD), 24, ...IP6_B)), Drop.NDP_BAD_DESTINATION);
    assert.equal(ndpOf(set(packetOf(NS_DAD), 24, ...ALL_NODES)), Drop.NDP_BAD_DESTINATION);
  });

  it('drops a solicited advertisement to a multicast group as NDP_BAD_DESTINATION', () => {
    assert.equal(ndpOf(set(packetOf(NA), 24, ...ALL_NODES)), Drop.NDP_BAD_DESTINATION);
    // Unsolicited (S clear) to all nodes is how addresses are announced.
    assert.equal(ndpOf(set(set(packetOf(NA), 24, ...ALL_NODES), 44, NA_FLAG_OVERRIDE)), 0);
  });

  it('drops a multicast target as NDP_BAD_TARGET', () => {
    assert.equal(ndpOf(set(packetOf(NS), 48, 0xff)), Drop.NDP_BAD_TARGET);
    assert.equal(ndpOf(set(packetOf(NA), 48, 0xff)), Drop.NDP_BAD_TARGET);
  });

  it('checks a redirect’s destination and target (§8.1)', () => {
    assert.equal(ndpOf(set(packetOf(REDIRECT), 64, 0xff)), Drop.NDP_BAD_DESTINATION);
    assert.equal(ndpOf(set(packetOf(REDIRECT), 48, ...global)), Drop.NDP_BAD_TARGET);
    // The destination itself as target: it is on-link.
    const p = packetOf(REDIRECT);
    assert.equal(ndpOf(set(p, 48, ...p.subarray(64, 80))), 0);
  });

  it('drops other types as NDP_UNKNOWN_TYPE', () => {
    for (const t of [0, 128, 132, 138, 143])
      assert.equal(ndpOf(set(packetOf(NS), 40, t)), Drop.NDP_UNKNOWN_TYPE);
  });

  it('resets the scratch object between messages', () => {
    const out = new NdpMessage();
    assert.equal(ndpOf(packetOf(RA), out), 0);
    assert.equal(ndpOf(packetOf(NA_NO_OPTION), out), 0);
    const fresh = new NdpMessage();
    assert.equal(ndpOf(packetOf(NA_NO_OPTION), fresh), 0);
    assert.deepEqual({ ...out }, { ...fresh });
  });
});

describe('NdpOptionCursor', () => {
  it('stops at a zero or overlong length on undecoded bytes', () => {
    const cur = new NdpOptionCursor();
    const bytes = hex('0101 020000000001 0300 ffff');
    cur.begin(bytes, 0, bytes.length);
    assert.equal(cur.next(), true);
    assert.equal(cur.next(), false);
    cur.begin(bytes, 0, 7);
    assert.equal(cur.next(), false);
  });

  it('tells well-formed options from wrong sizes', () => {
    const cur = new NdpOptionCursor();
    const check = (bytes: Uint8Array) => {
      cur.begin(bytes, 0, bytes.length);
      assert.equal(cur.next(), true);
      return cur.wellFormed;
    };
    assert.equal(check(hex('0101 000000000000')), true);
    assert.equal(check(hex('0102 000000000000 0000000000000000')), false);
    assert.equal(check(new Uint8Array([3, 3, ...new Array(22).fill(0)])), false);
    assert.equal(check(new Uint8Array([25, 1, 0, 0, 0, 0, 0, 0])), false);
    assert.equal(check(new Uint8Array([25, 4, ...new Array(30).fill(0)])), false);
    assert.equal(check(new Uint8Array([25, 5, ...new Array(38).fill(0)])), true);
    assert.equal(check(new Uint8Array([99, 1, 0, 0, 0, 0, 0, 0])), true);
  });
});

describe('NDP round trips (property)', () => {
  const addr = fc.uint8Array({ minLength: 16, maxLength: 16 });
  const mac = fc.uint8Array({ minLength: 6, maxLength: 6 });
  const u32 = fc.integer({ min: 0, max: 0xffffffff });

  it('an RA written with any options decodes to the same fields and options', () => {
    fc.assert(
      fc.property(
        fc.record({
          hops: fc.integer({ min: 0, max: 255 }),
          flags: fc.integer({ min: 0, max: 255 }),
          lifetime: fc.integer({ min: 0, max: 0xffff }),
          reachable: u32,
          retrans: u32,
        }),
        fc.option(mac, { nil: undefined }),
        fc.option(fc.integer({ min: 1280, max: 0xffffffff }), { nil: undefined }),
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 128 }), fc.integer({ min: 0, max: 255 }), u32, u32, addr),
          { maxLength: 3 },
        ),
        fc.array(fc.tuple(u32, fc.array(addr, { minLength: 1, maxLength: 3 })), { maxLength: 2 }),
        (ra, sll, mtu, prefixes, rdnss) => {
          const buf = new Uint8Array(1500);
          let n = writeRouterAdvertisement(buf, 40, ra.hops, ra.flags, ra.lifetime, ra.reachable, ra.retrans);
          if (sll) n += writeLinkAddressOption(buf, 40 + n, NDP_OPT_SOURCE_LINK_ADDRESS, sll, 0);
          if (mtu !== undefined) n += writeMtuOption(buf, 40 + n, mtu);
          for (const [len, flags, valid, pref, prefix] of prefixes) {
            n += writePrefixInformationOption(buf, 40 + n, len, flags, valid, pref, prefix, 0);
          }
          for (const [life, list] of rdnss) {
            const flat = new Uint8Array(16 * list.length);
            for (let i = 0; i < list.length; i++) flat.set(list[i]!, 16 * i);
            n += writeRdnssOption(buf, 40 + n, life, flat, 0, list.length);
          }
          writeIpv6Header(buf, 0, 0, 0, n, IPPROTO_ICMPV6, 255, LL_B, 0, ALL_NODES, 0);
          setIcmpv6Checksum(buf, 40, n, pseudoHeaderSumIpv6(LL_B, 0, ALL_NODES, 0, IPPROTO_ICMPV6, 0));
          const icmp = new Icmpv6Message();
          assert.equal(
            decodeIcmpv6(buf, 40, n, pseudoHeaderSumIpv6(buf, 8, buf, 24, IPPROTO_ICMPV6, 0), icmp),
            0,
          );
          const ndp = new NdpMessage();
          assert.equal(ndpOf(buf.subarray(0, 40 + n), ndp), 0);
          assert.deepEqual(
            [ndp.curHopLimit, ndp.raFlags, ndp.routerLifetime, ndp.reachableTime, ndp.retransTimer],
            [ra.hops, ra.flags, ra.lifetime, ra.reachable, ra.retrans],
          );
          assert.equal(ndp.managed, (ra.flags & RA_FLAG_MANAGED) !== 0);
          assert.equal(ndp.mtu, mtu ?? -1);
          assert.equal(
            ndp.sourceLinkAddressOffset < 0 ? undefined : toHex(buf, ndp.sourceLinkAddressOffset, 6),
            sll && toHex(sll),
          );
          assert.equal(ndp.prefixCount, prefixes.length);
          assert.equal(ndp.rdnssCount, rdnss.length);
          const cur = new NdpOptionCursor();
          cur.begin(buf, ndp.optionsOffset, ndp.optionsLength);
          let pi = 0;
          let ri = 0;
          while (cur.next()) {
            assert.equal(cur.wellFormed, true);
            if (cur.type === NDP_OPT_PREFIX_INFORMATION) {
              const [len, flags, valid, pref, prefix] = prefixes[pi++]!;
              assert.deepEqual(
                [cur.prefixLength, cur.prefixFlags, cur.validLifetime, cur.preferredLifetime],
                [len, flags, valid, pref],
              );
              for (let bit = 0; bit < 128; bit++) {
                const m = 0x80 >>> (bit & 7);
                const expect = bit < len ? prefix[bit >>> 3]! & m : 0;
                assert.equal(buf[cur.prefixOffset + (bit >>> 3)]! & m, expect);
              }
            } else if (cur.type === NDP_OPT_RDNSS) {
              const [life, list] = rdnss[ri++]!;
              assert.equal(cur.rdnssLifetime, life);
              assert.equal(cur.rdnssCount, list.length);
              for (let i = 0; i < list.length; i++) {
                assert.equal(toHex(buf, cur.rdnssAddressOffset(i), 16), toHex(list[i]!));
              }
            }
          }
          assert.deepEqual([pi, ri], [prefixes.length, rdnss.length]);
        },
      ),
      { seed: 4861, numRuns: 500 },
    );
  });

  it('NS, NA and redirect written for any addresses decode to them', () => {
    fc.assert(
      fc.property(addr, addr, mac, fc.integer({ min: 0, max: 7 }), (target, dest, m, flagBits) => {
        fc.pre(target[0] !== 0xff && dest[0] !== 0xff);
        const flags = flagBits << 5;
        const buf = new Uint8Array(200);
        let n = writeNeighborAdvertisement(buf, 40, flags, target, 0);
        n += writeLinkAddressOption(buf, 40 + n, NDP_OPT_TARGET_LINK_ADDRESS, m, 0);
        writeIpv6Header(buf, 0, 0, 0, n, IPPROTO_ICMPV6, 255, LL_B, 0, IP6_A, 0);
        const ndp = new NdpMessage();
        assert.equal(ndpOf(buf.subarray(0, 40 + n), ndp), 0);
        assert.equal(ndp.naFlags, flags);
        assert.equal(toHex(buf, ndp.targetOffset, 16), toHex(target));
        assert.equal(toHex(buf, ndp.targetLinkAddressOffset, 6), toHex(m));
        n = writeNeighborSolicitation(buf, 40, target, 0);
        writeIpv6Header(buf, 0, 0, 0, n, IPPROTO_ICMPV6, 255, LL_B, 0, IP6_A, 0);
        assert.equal(ndpOf(buf.subarray(0, 40 + n), ndp), 0);
        assert.equal(toHex(buf, ndp.targetOffset, 16), toHex(target));
        const ll = new Uint8Array(16);
        ll.set(target);
        ll[0] = 0xfe;
        ll[1] = 0x80 | (target[1]! & 0x3f);
        n = writeRedirect(buf, 40, ll, 0, dest, 0);
        writeIpv6Header(buf, 0, 0, 0, n, IPPROTO_ICMPV6, 255, LL_B, 0, IP6_A, 0);
        assert.equal(ndpOf(buf.subarray(0, 40 + n), ndp), 0);
        assert.equal(toHex(buf, ndp.targetOffset, 16), toHex(ll));
        assert.equal(toHex(buf, ndp.destinationOffset, 16), toHex(dest));
      }),
      { seed: 2461, numRuns: 500 },
    );
  });
});
