// Decoders face whatever arrives on the wire: they must never throw, never write, and never look
// outside the window buf[off, off+len) they were given (the rest of the buffer is other frames).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ArpPacket,
  Drop,
  decodeArp,
  decodeEthernet,
  decodeIcmp,
  decodeIcmpv6,
  decodeIpv4,
  decodeIpv6,
  decodeIpv6Extensions,
  decodeMld,
  decodeNdp,
  decodeTcp,
  decodeTcpPseudo,
  decodeUdp,
  decodeUdpPseudo,
  EthernetHeader,
  IcmpMessage,
  Icmpv6Message,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  Ipv4Header,
  Ipv6Extensions,
  Ipv6Header,
  MldMessage,
  MldRecordCursor,
  NdpMessage,
  NdpOptionCursor,
  pseudoHeaderSumIpv6,
  TcpHeader,
  UdpHeader,
  writeIpv6Header,
} from '../src/index.ts';
import {
  ARP_REPLY,
  ARP_REQUEST,
  ARP_REQUEST_VLAN100,
  ECHO_REPLY,
  ECHO_REQUEST,
  ECHO_REQUEST_QINQ,
  ETH_LEN,
  FRAG_NEEDED,
  IP_A,
  IP_B,
  IPV4_IHL6_ROUTER_ALERT,
  IPV4_IHL7_RECORD_ROUTE,
  PORT_UNREACHABLE,
  TCP_RST_ACK,
  TCP_SYN,
  TIME_EXCEEDED,
  UDP_DATAGRAM,
} from './golden.ts';
import * as g6 from './golden-ipv6.ts';

type Decode = (buf: Uint8Array, off: number, len: number, src: number, dst: number) => unknown;

const L4 = ETH_LEN + 20;
const ethernetFrames = [
  ARP_REQUEST,
  ARP_REPLY,
  ARP_REQUEST_VLAN100,
  ECHO_REQUEST_QINQ,
  ECHO_REQUEST,
  UDP_DATAGRAM,
  TCP_SYN,
];
const icmpFrames = [ECHO_REQUEST, ECHO_REPLY, PORT_UNREACHABLE, TIME_EXCEEDED, FRAG_NEEDED];

const L6 = ETH_LEN + 40;
const ipv6Frames = Object.values(g6).filter((v): v is Uint8Array => v instanceof Uint8Array && v.length > 54);
const ipv6Packets = ipv6Frames.map((f) => f.subarray(ETH_LEN));

/** The ICMPv6/UDP/TCP pseudo header: the golden one for (A, B), else some sum of the numbers. */
function pseudo6(src: number, dst: number, protocol: number): number {
  if (src === IP_A && dst === IP_B) return pseudoHeaderSumIpv6(g6.IP6_A, 0, g6.IP6_B, 0, protocol, 0);
  return (src >>> 1) + (dst >>> 1) + protocol;
}

/** An IPv6 packet from A to B with the extension header bytes `chain` and then `payload`. */
function chainPacket(
  next: number,
  chain: number[],
  payload: number[] = [0x80, 0, 0, 0, 0, 1, 0, 1],
): Uint8Array {
  const p = new Uint8Array(40 + chain.length + payload.length);
  writeIpv6Header(p, 0, 0, 0, chain.length + payload.length, next, 64, g6.IP6_A, 0, g6.IP6_B, 0);
  p.set(chain, 40);
  p.set(payload, 40 + chain.length);
  return p;
}

const DO_EMPTY = (next: number) => [next, 0, 1, 4, 0, 0, 0, 0];
/** Packets at the walker's limits and just over them, so that damage crosses them both ways. */
const chainPackets = [
  chainPacket(60, Array.from({ length: 8 }, (_, i) => DO_EMPTY(i < 7 ? 60 : 58)).flat()),
  chainPacket(60, Array.from({ length: 9 }, (_, i) => DO_EMPTY(i < 8 ? 60 : 58)).flat()),
  chainPacket(
    60,
    [58, 63, ...Array.from({ length: 2 }, () => [0x1e, 253, ...new Array(253).fill(0)]).flat(), 0x1e, 0],
    new Array(16).fill(0),
  ),
  chainPacket(
    60,
    [
      58,
      64,
      ...Array.from({ length: 2 }, () => [0x1e, 253, ...new Array(253).fill(0)]).flat(),
      0x1e,
      6,
      0,
      0,
      0,
      0,
      0,
      0,
    ],
    new Array(16).fill(0),
  ),
  chainPacket(60, [58, 2, ...new Array(9).fill([0x1e, 0]).flat(), 0, 0, 0, 0]),
  chainPacket(60, [58, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0]),
  chainPacket(0, [58, 0, 5, 2, 0, 0, 1, 0]),
  chainPacket(44, [58, 0, 0, 1, 0, 0, 0, 1], new Array(13).fill(0)),
  chainPacket(44, [58, 0, 0xff, 0xf8, 0, 0, 0, 1], new Array(16).fill(0)),
  chainPacket(44, [60, 0, 0, 1, 0, 0, 0, 1, 58, 2, 1, 4, 0, 0, 0, 0]),
  chainPacket(51, [58, 1, 0, 0, 0, 0, 0, 0]),
  chainPacket(43, [50, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1]),
];
/** A solicitation for a multicast target (RFC 4861 §7.1.1 refuses it). */
const NS_MULTICAST_TARGET = g6.NS.slice(ETH_LEN);
NS_MULTICAST_TARGET[48] = 0xff;
/** An RA whose IPv6 payload length leaves 12 of its 16 fixed bytes (the rest reads as padding). */
const RA_SHORT = g6.RA.slice(ETH_LEN);
RA_SHORT[5] = 12;
const UDP6_ZERO_CHECKSUM = g6.UDP6.slice(L6);
UDP6_ZERO_CHECKSUM[6] = 0;
UDP6_ZERO_CHECKSUM[7] = 0;

/**
 * Each decoder with a fresh scratch object (the result is the return code and every output field),
 * and real packets of its layer that the generator damages, so runs get past the length checks.
 */
const decoders: { name: string; decode: Decode; seeds: Uint8Array[] }[] = [
  {
    name: 'ethernet',
    decode: (b, o, l) => {
      const out = new EthernetHeader();
      return [decodeEthernet(b, o, l, out), { ...out }];
    },
    seeds: ethernetFrames,
  },
  {
    name: 'arp',
    decode: (b, o, l) => {
      const out = new ArpPacket();
      return [decodeArp(b, o, l, out), { ...out }];
    },
    seeds: [ARP_REQUEST.subarray(ETH_LEN), ARP_REPLY.subarray(ETH_LEN)],
  },
  {
    name: 'ipv4',
    decode: (b, o, l) => {
      const out = new Ipv4Header();
      return [decodeIpv4(b, o, l, out), { ...out }];
    },
    seeds: [
      ...[...icmpFrames, UDP_DATAGRAM, TCP_SYN, TCP_RST_ACK].map((f) => f.subarray(ETH_LEN)),
      IPV4_IHL6_ROUTER_ALERT,
      IPV4_IHL7_RECORD_ROUTE,
    ],
  },
  {
    name: 'icmp',
    decode: (b, o, l) => {
      const out = new IcmpMessage();
      return [decodeIcmp(b, o, l, out), { ...out }];
    },
    seeds: icmpFrames.map((f) => f.subarray(L4)),
  },
  {
    name: 'udp',
    decode: (b, o, l, s, d) => {
      const out = new UdpHeader();
      return [decodeUdp(b, o, l, s, d, out), { ...out }];
    },
    seeds: [UDP_DATAGRAM.subarray(L4)],
  },
  {
    name: 'tcp',
    decode: (b, o, l, s, d) => {
      const out = new TcpHeader();
      return [decodeTcp(b, o, l, s, d, out), { ...out }];
    },
    seeds: [TCP_SYN.subarray(L4), TCP_RST_ACK.subarray(L4)],
  },
  {
    name: 'tcp without checksum verification',
    decode: (b, o, l, s, d) => {
      const out = new TcpHeader();
      return [decodeTcp(b, o, l, s, d, out, false), { ...out }];
    },
    seeds: [TCP_SYN.subarray(L4), TCP_RST_ACK.subarray(L4)],
  },
  {
    name: 'ipv6',
    decode: (b, o, l) => {
      const out = new Ipv6Header();
      return [decodeIpv6(b, o, l, out), { ...out }];
    },
    seeds: ipv6Packets,
  },
  {
    name: 'ipv6 extensions',
    decode: (b, o, l) => {
      const ip = new Ipv6Header();
      const r = decodeIpv6(b, o, l, ip);
      if (r !== 0) return [r];
      const out = new Ipv6Extensions();
      return [decodeIpv6Extensions(b, o, ip.totalLength, out), { ...out }];
    },
    seeds: [...chainPackets, ...ipv6Packets.filter((p) => p[6] !== IPPROTO_ICMPV6)],
  },
  {
    name: 'icmpv6',
    decode: (b, o, l, s, d) => {
      const out = new Icmpv6Message();
      return [decodeIcmpv6(b, o, l, pseudo6(s, d, IPPROTO_ICMPV6), out), { ...out }];
    },
    seeds: [g6.ECHO6_REQUEST, g6.NO_ROUTE, g6.PACKET_TOO_BIG, g6.PORT_UNREACHABLE6].map((f) =>
      f.subarray(L6),
    ),
  },
  {
    name: 'udp over ipv6',
    decode: (b, o, l, s, d) => {
      const out = new UdpHeader();
      return [decodeUdpPseudo(b, o, l, pseudo6(s, d, IPPROTO_UDP), out, true, false), { ...out }];
    },
    seeds: [g6.UDP6.subarray(L6), UDP6_ZERO_CHECKSUM],
  },
  {
    name: 'tcp over ipv6',
    decode: (b, o, l, s, d) => {
      const out = new TcpHeader();
      return [decodeTcpPseudo(b, o, l, pseudo6(s, d, IPPROTO_TCP), out), { ...out }];
    },
    seeds: [g6.TCP6_SYN.subarray(L6), g6.TCP6_RST_ACK.subarray(L6)],
  },
  {
    // As the stack will run it: the IPv6 header, the chain, then NDP (its checksum is decodeIcmpv6's).
    name: 'ndp',
    decode: (b, o, l) => {
      const ip = new Ipv6Header();
      const ext = new Ipv6Extensions();
      let r = decodeIpv6(b, o, l, ip);
      if (r === 0) r = decodeIpv6Extensions(b, o, ip.totalLength, ext);
      if (r !== 0) return [r];
      const out = new NdpMessage();
      return [decodeNdp(b, ext.payloadOffset, ext.payloadLength, ip, out), { ...out }];
    },
    seeds: [
      ...[g6.RS, g6.RA, g6.NS, g6.NS_DAD, g6.NA, g6.NA_NO_OPTION, g6.REDIRECT].map((f) => f.subarray(14)),
      NS_MULTICAST_TARGET,
      RA_SHORT,
    ],
  },
  {
    name: 'ndp option cursor',
    decode: (b, o, l) => {
      const cur = new NdpOptionCursor();
      cur.begin(b, o, l);
      const seen: number[] = [];
      while (cur.next()) {
        seen.push(cur.type, cur.offset, cur.length);
        if (!cur.wellFormed) continue;
        // The accessors of a well-formed option stay inside it.
        seen.push(cur.linkAddressOffset, cur.mtu, cur.dataOffset, cur.dataLength);
        if (cur.type === 3)
          seen.push(cur.prefixLength, cur.prefixFlags, cur.validLifetime, cur.preferredLifetime);
        if (cur.type === 25)
          seen.push(cur.rdnssLifetime, cur.rdnssCount, cur.rdnssAddressOffset(cur.rdnssCount - 1));
      }
      return [0, seen];
    },
    seeds: [g6.RA.subarray(70), g6.REDIRECT.subarray(94), g6.NS.subarray(78)],
  },
  {
    name: 'mld',
    decode: (b, o, l) => {
      const ip = new Ipv6Header();
      const ext = new Ipv6Extensions();
      let r = decodeIpv6(b, o, l, ip);
      if (r === 0) r = decodeIpv6Extensions(b, o, ip.totalLength, ext);
      if (r !== 0) return [r];
      const out = new MldMessage();
      return [decodeMld(b, ext.payloadOffset, ext.payloadLength, ip, ext.routerAlert, out), { ...out }];
    },
    seeds: [g6.MLD_QUERY, g6.MLD_REPORT, g6.MLD_REPORT_UNSPECIFIED].map((f) => f.subarray(14)),
  },
  {
    name: 'mld record cursor',
    decode: (b, o, l) => {
      const msg = new MldMessage();
      msg.recordsOffset = o;
      msg.recordsLength = l;
      msg.recordCount = 0xffff;
      const cur = new MldRecordCursor();
      cur.begin(b, msg);
      const seen: number[] = [];
      while (cur.next()) seen.push(cur.type, cur.offset, cur.length, cur.sourceCount, cur.auxDataLength);
      return [0, seen];
    },
    seeds: [g6.MLD_REPORT.subarray(70), g6.MLD_REPORT_CURRENT.subarray(70)],
  },
];

/** Random bytes, or a real packet with a few bytes changed and maybe cut short. */
function windowBytes(seeds: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const damaged = fc
    .tuple(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 2 }),
      fc.oneof(fc.constant(0), fc.nat({ max: 64 })),
    )
    .map(([seed, edits, cut]) => {
      const bytes = seed.slice(0, Math.max(0, seed.length - cut));
      for (const [at, value] of edits) if (bytes.length > 0) bytes[at % bytes.length] = value;
      return bytes;
    });
  return fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: 120 }), weight: 1 },
    { arbitrary: damaged, weight: 3 },
  );
}

const addresses = fc.oneof(
  fc.constant([IP_A, IP_B] as const),
  fc.constant([IP_B, IP_A] as const),
  fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })),
);

function placed(window: Uint8Array, before: number, after: number, fill: (i: number) => number): Uint8Array {
  const buf = new Uint8Array(before + window.length + after);
  for (let i = 0; i < buf.length; i++) buf[i] = fill(i);
  buf.set(window, before);
  return buf;
}

/** A view of buf that records every element read outside [off, off+len). */
function watched(buf: Uint8Array, off: number, len: number, strayReads: number[]): Uint8Array {
  return new Proxy(buf, {
    get(target, prop) {
      if (typeof prop === 'string') {
        const index = Number(prop);
        if (Number.isInteger(index) && String(index) === prop && (index < off || index >= off + len)) {
          strayReads.push(index);
        }
      }
      return Reflect.get(target, prop);
    },
    set() {
      throw new Error('a decoder wrote into the frame');
    },
  });
}

describe('decoders on random and damaged input', () => {
  for (const { name, decode, seeds } of decoders) {
    it(`${name}: never throws, writes, or reads outside the window`, () => {
      fc.assert(
        fc.property(
          windowBytes(seeds),
          fc.nat({ max: 48 }),
          fc.nat({ max: 48 }),
          fc.integer({ min: 0, max: 255 }),
          addresses,
          (window, before, after, noise, [src, dst]) => {
            const zeros = placed(window, before, after, () => 0x00);
            const ones = placed(window, before, after, () => 0xff);
            const noisy = placed(window, before, after, (i) => (noise + i * 0x9d) & 0xff);
            const len = window.length;

            const strayReads: number[] = [];
            const result = decode(watched(zeros, before, len, strayReads), before, len, src, dst);
            assert.deepEqual(strayReads, [], `${name} read outside [${before}, ${before + len})`);

            // The same answer whatever surrounds the window.
            assert.deepEqual(decode(ones, before, len, src, dst), result);
            assert.deepEqual(decode(noisy, before, len, src, dst), result);
            // And the same answer for the window alone, moved to offset 0.
            const alone = decode(window.slice(), 0, len, src, dst) as [number, Record<string, number>];
            const [code] = result as [number];
            assert.equal(alone[0], code);
          },
        ),
        { seed: 4242, numRuns: 1500 },
      );
    });
  }

  it('the damaged seeds reach every drop reason and success', () => {
    // Guards the generator above: without this, the properties could be testing length checks only.
    const seen = new Map<string, Set<number>>();
    for (const { name, decode, seeds } of decoders) {
      const codes = new Set<number>();
      for (const [window, [src, dst]] of fc.sample(fc.tuple(windowBytes(seeds), addresses), {
        seed: 4242,
        numRuns: 1500,
      })) {
        codes.add((decode(window, 0, window.length, src, dst) as [number])[0]);
      }
      seen.set(name, codes);
    }
    const expect: Record<string, number[]> = {
      ethernet: [0, Drop.ETH_TRUNCATED],
      arp: [0, Drop.ARP_TRUNCATED, Drop.ARP_BAD_HARDWARE, Drop.ARP_BAD_PROTOCOL, Drop.ARP_BAD_OPCODE],
      ipv4: [
        0,
        Drop.IPV4_TRUNCATED,
        Drop.IPV4_BAD_VERSION,
        Drop.IPV4_BAD_IHL,
        Drop.IPV4_BAD_CHECKSUM,
        Drop.IPV4_BAD_TOTAL_LENGTH,
      ],
      icmp: [0, Drop.ICMP_TRUNCATED, Drop.ICMP_BAD_CHECKSUM],
      udp: [0, Drop.UDP_TRUNCATED, Drop.UDP_BAD_CHECKSUM],
      tcp: [0, Drop.TCP_TRUNCATED, Drop.TCP_BAD_CHECKSUM],
      ipv6: [0, Drop.IPV6_TRUNCATED, Drop.IPV6_BAD_VERSION, Drop.IPV6_BAD_PAYLOAD_LENGTH],
      'ipv6 extensions': [
        0,
        Drop.IPV6_EXT_TRUNCATED,
        Drop.IPV6_EXT_TOO_MANY,
        Drop.IPV6_EXT_CHAIN_TOO_LONG,
        Drop.IPV6_HBH_NOT_FIRST,
        Drop.IPV6_UNKNOWN_NEXT_HEADER,
        Drop.IPV6_OPTION_BAD_LENGTH,
        Drop.IPV6_OPTION_TOO_MANY,
        Drop.IPV6_OPTION_BAD_PADDING,
        Drop.IPV6_UNKNOWN_OPTION,
        Drop.IPV6_FRAG_BAD_LENGTH,
        Drop.IPV6_FRAG_TOO_BIG,
        Drop.IPV6_FIRST_FRAGMENT_INCOMPLETE,
      ],
      icmpv6: [0, Drop.ICMPV6_TRUNCATED, Drop.ICMPV6_BAD_CHECKSUM],
      'udp over ipv6': [0, Drop.UDP_TRUNCATED, Drop.UDP_BAD_CHECKSUM, Drop.UDP_ZERO_CHECKSUM],
      'tcp over ipv6': [0, Drop.TCP_TRUNCATED, Drop.TCP_BAD_CHECKSUM],
      ndp: [
        0,
        Drop.NDP_BAD_HOP_LIMIT,
        Drop.NDP_BAD_CODE,
        Drop.NDP_TRUNCATED,
        Drop.NDP_BAD_OPTION_LENGTH,
        Drop.NDP_BAD_SOURCE,
        Drop.NDP_BAD_DESTINATION,
        Drop.NDP_BAD_TARGET,
        Drop.NDP_UNKNOWN_TYPE,
      ],
      mld: [
        0,
        Drop.MLD_TRUNCATED,
        Drop.MLD_BAD_HOP_LIMIT,
        Drop.MLD_NO_ROUTER_ALERT,
        Drop.MLD_BAD_SOURCE,
        Drop.MLD_UNKNOWN_TYPE,
      ],
    };
    for (const [name, codes] of Object.entries(expect)) {
      for (const code of codes) assert.ok(seen.get(name)!.has(code), `${name} never returned ${code}`);
    }
  });
});
