import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  Drop,
  decodeIpv6,
  decodeTcp,
  decodeTcpPseudo,
  decodeUdp,
  decodeUdpPseudo,
  ETH_HEADER_LEN,
  ETHERTYPE_IPV6,
  foldSum,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV6_HEADER_LEN,
  Ipv6Header,
  internetChecksum,
  pseudoHeaderSum,
  pseudoHeaderSumIpv6,
  rd16,
  sumWords,
  swapIpv6Addresses,
  TCP_ACK,
  TCP_RST,
  TCP_SYN,
  TcpHeader,
  UdpHeader,
  wr16,
  writeEthernet,
  writeIpv6Header,
  writeTcp,
  writeTcpPseudo,
  writeUdp,
  writeUdpPseudo,
} from '../src/index.ts';
import { hex, toHex } from './golden.ts';
import {
  ECHO6_REPLY,
  ECHO6_REQUEST,
  FRAGMENT_FIRST,
  IP6_A,
  IP6_AT,
  IP6_B,
  MAC_A6,
  MAC_B6,
  PACKET_TOO_BIG,
  RA,
  TCP6_RST_ACK,
  TCP6_SYN,
  UDP6,
} from './golden-ipv6.ts';

const L4 = IP6_AT + IPV6_HEADER_LEN;

function fieldsOf(h: Ipv6Header) {
  return {
    trafficClass: h.trafficClass,
    flowLabel: h.flowLabel,
    payloadLength: h.payloadLength,
    nextHeader: h.nextHeader,
    hopLimit: h.hopLimit,
    srcOffset: h.srcOffset,
    dstOffset: h.dstOffset,
    payloadOffset: h.payloadOffset,
    totalLength: h.totalLength,
  };
}

/** The pseudo-header sum without length for a golden frame's own addresses (RFC 8200 §8.1). */
function pseudoOf(frame: Uint8Array, protocol: number): number {
  return pseudoHeaderSumIpv6(frame, IP6_AT + 8, frame, IP6_AT + 24, protocol, 0);
}

describe('decodeIpv6 on captured packets (RFC 8200 §3)', () => {
  it('decodes the echo request: flow label, hop limit, addresses in place', () => {
    const ip = new Ipv6Header();
    assert.equal(decodeIpv6(ECHO6_REQUEST, IP6_AT, ECHO6_REQUEST.length - IP6_AT, ip), 0);
    assert.deepEqual(fieldsOf(ip), {
      trafficClass: 0,
      flowLabel: 0x410d3,
      payloadLength: 24,
      nextHeader: IPPROTO_ICMPV6,
      hopLimit: 64,
      srcOffset: IP6_AT + 8,
      dstOffset: IP6_AT + 24,
      payloadOffset: IP6_AT + 40,
      totalLength: 64,
    });
    assert.equal(toHex(ECHO6_REQUEST, ip.srcOffset, 16), toHex(IP6_A));
    assert.equal(toHex(ECHO6_REQUEST, ip.dstOffset, 16), toHex(IP6_B));
  });

  it('decodes NDP with hop limit 255, a 1280-byte error and a fragment', () => {
    const ip = new Ipv6Header();
    assert.equal(decodeIpv6(RA, IP6_AT, RA.length - IP6_AT, ip), 0);
    assert.equal(ip.hopLimit, 255);
    assert.equal(decodeIpv6(PACKET_TOO_BIG, IP6_AT, PACKET_TOO_BIG.length - IP6_AT, ip), 0);
    assert.equal(ip.totalLength, 1280);
    assert.equal(ip.flowLabel, 0xd2557);
    assert.equal(decodeIpv6(FRAGMENT_FIRST, IP6_AT, FRAGMENT_FIRST.length - IP6_AT, ip), 0);
    assert.equal(ip.nextHeader, 44);
    assert.equal(ip.totalLength, 1496);
  });

  it('reads traffic class and flow label across their nibble boundaries', () => {
    const p = hex('6abcdef5 0000 3b 01');
    const packet = new Uint8Array(40);
    packet.set(p);
    const ip = new Ipv6Header();
    assert.equal(decodeIpv6(packet, 0, 40, ip), 0);
    assert.equal(ip.trafficClass, 0xab);
    assert.equal(ip.flowLabel, 0xcdef5);
    assert.equal(ip.nextHeader, 59);
    assert.equal(ip.payloadLength, 0);
  });

  it('trusts payloadLength over len (Ethernet padding)', () => {
    const padded = new Uint8Array(100);
    padded.set(ECHO6_REQUEST.subarray(IP6_AT));
    const ip = new Ipv6Header();
    assert.equal(decodeIpv6(padded, 0, padded.length, ip), 0);
    assert.equal(ip.totalLength, 64);
  });
});

describe('decodeIpv6 drops', () => {
  const echo = ECHO6_REQUEST.slice(IP6_AT);
  it('drops fewer than 40 bytes as IPV6_TRUNCATED', () => {
    for (const len of [0, 1, 8, 39])
      assert.equal(decodeIpv6(echo, 0, len, new Ipv6Header()), Drop.IPV6_TRUNCATED);
  });

  it('drops every version but 6 as IPV6_BAD_VERSION', () => {
    for (let v = 0; v < 16; v++) {
      if (v === 6) continue;
      const p = echo.slice();
      p[0] = (v << 4) | (p[0]! & 15);
      assert.equal(decodeIpv6(p, 0, p.length, new Ipv6Header()), Drop.IPV6_BAD_VERSION, `version ${v}`);
    }
  });

  it('drops a payload length beyond the bytes at hand as IPV6_BAD_PAYLOAD_LENGTH', () => {
    assert.equal(decodeIpv6(echo, 0, 63, new Ipv6Header()), Drop.IPV6_BAD_PAYLOAD_LENGTH);
    const p = echo.slice();
    wr16(p, 4, 0xffff);
    assert.equal(decodeIpv6(p, 0, p.length, new Ipv6Header()), Drop.IPV6_BAD_PAYLOAD_LENGTH);
  });

  it('leaves the scratch object untouched when it drops', () => {
    const ip = new Ipv6Header();
    assert.equal(decodeIpv6(echo, 0, 63, ip), Drop.IPV6_BAD_PAYLOAD_LENGTH);
    assert.deepEqual(fieldsOf(ip), fieldsOf(new Ipv6Header()));
  });
});

describe('writeIpv6Header', () => {
  it('reproduces the captured echo request and reply frames with writeEthernet', () => {
    for (const [frame, src, dst, flow] of [
      [ECHO6_REQUEST, IP6_A, IP6_B, 0x410d3],
      [ECHO6_REPLY, IP6_B, IP6_A, 0xc5b07],
    ] as const) {
      const buf = frame.slice();
      buf.fill(0, 0, L4);
      writeEthernet(buf, 0, frame, 0, frame, 6, ETHERTYPE_IPV6);
      assert.equal(writeIpv6Header(buf, ETH_HEADER_LEN, 0, flow, 24, IPPROTO_ICMPV6, 64, src, 0, dst, 0), 40);
      assert.equal(toHex(buf), toHex(frame));
    }
  });

  it('swaps the addresses in place for an answer', () => {
    const p = ECHO6_REQUEST.slice(IP6_AT);
    swapIpv6Addresses(p, 0);
    assert.equal(toHex(p, 8, 32), toHex(IP6_B) + toHex(IP6_A));
    assert.equal(toHex(p, 0, 8), toHex(ECHO6_REQUEST, IP6_AT, 8));
  });

  it('round-trips every field (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 0xfffff }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.nat({ max: 20 }),
        (tc, flow, payloadLength, nh, hops, addrs, off) => {
          const buf = new Uint8Array(off + 40 + payloadLength).fill(0xa5);
          writeIpv6Header(buf, off, tc, flow, payloadLength, nh, hops, addrs, 0, addrs, 16);
          const ip = new Ipv6Header();
          assert.equal(decodeIpv6(buf, off, buf.length - off, ip), 0);
          assert.deepEqual(fieldsOf(ip), {
            trafficClass: tc,
            flowLabel: flow,
            payloadLength,
            nextHeader: nh,
            hopLimit: hops,
            srcOffset: off + 8,
            dstOffset: off + 24,
            payloadOffset: off + 40,
            totalLength: 40 + payloadLength,
          });
          assert.equal(toHex(buf, off + 8, 32), toHex(addrs));
        },
      ),
      { seed: 8200, numRuns: 1000 },
    );
  });
});

describe('pseudoHeaderSumIpv6 (RFC 8200 §8.1)', () => {
  it('verifies the captured ICMPv6, UDP and TCP checksums', () => {
    const cases: [Uint8Array, number][] = [
      [ECHO6_REQUEST, IPPROTO_ICMPV6],
      [ECHO6_REPLY, IPPROTO_ICMPV6],
      [PACKET_TOO_BIG, IPPROTO_ICMPV6],
      [UDP6, IPPROTO_UDP],
      [TCP6_SYN, IPPROTO_TCP],
      [TCP6_RST_ACK, IPPROTO_TCP],
    ];
    for (const [frame, protocol] of cases) {
      const len = frame.length - L4;
      const sum = sumWords(
        frame,
        L4,
        len,
        pseudoHeaderSumIpv6(frame, IP6_AT + 8, frame, IP6_AT + 24, protocol, len),
      );
      assert.equal(foldSum(sum), 0xffff, toHex(frame, L4, 4));
    }
  });

  it('is linear in the length, which is what the *Pseudo codecs rely on', () => {
    for (const len of [0, 1, 0xffff, 0x10000, 0xfffffff]) {
      assert.equal(
        pseudoHeaderSumIpv6(IP6_A, 0, IP6_B, 0, IPPROTO_UDP, len),
        pseudoHeaderSumIpv6(IP6_A, 0, IP6_B, 0, IPPROTO_UDP, 0) + (len >>> 16) + (len & 0xffff),
      );
    }
    // Linear is not equal: a 32-bit length contributes both halves.
    assert.equal(
      foldSum(pseudoHeaderSumIpv6(IP6_A, 0, IP6_B, 0, 0, 0x10000)),
      foldSum(pseudoHeaderSumIpv6(IP6_A, 0, IP6_B, 0, 0, 1)),
    );
  });

  it('covers every byte of both addresses', () => {
    const base = pseudoHeaderSumIpv6(IP6_A, 0, IP6_B, 0, IPPROTO_TCP, 20);
    for (let i = 0; i < 32; i++) {
      const a = new Uint8Array(32);
      a.set(IP6_A);
      a.set(IP6_B, 16);
      a[i]! ^= 1;
      assert.notEqual(foldSum(pseudoHeaderSumIpv6(a, 0, a, 16, IPPROTO_TCP, 20)), foldSum(base), `byte ${i}`);
    }
  });
});

describe('UDP and TCP over IPv6 with the family-neutral codecs', () => {
  it('decodes the built UDP datagram that Linux accepted (it answered port unreachable)', () => {
    const udp = new UdpHeader();
    assert.equal(decodeUdpPseudo(UDP6, L4, 20, pseudoOf(UDP6, IPPROTO_UDP), udp, true, false), 0);
    assert.deepEqual({ ...udp }, { srcPort: 54166, dstPort: 5555, length: 20, checksum: 0x1601 });
    const f = UDP6.slice();
    f[L4 + 12]! ^= 1;
    assert.equal(
      decodeUdpPseudo(f, L4, 20, pseudoOf(f, IPPROTO_UDP), udp, true, false),
      Drop.UDP_BAD_CHECKSUM,
    );
  });

  it('drops a zero UDP checksum over IPv6 (RFC 8200 §8.1) but not over IPv4 (RFC 768)', () => {
    const f = UDP6.slice();
    wr16(f, L4 + 6, 0);
    const udp = new UdpHeader();
    assert.equal(
      decodeUdpPseudo(f, L4, 20, pseudoOf(f, IPPROTO_UDP), udp, true, false),
      Drop.UDP_ZERO_CHECKSUM,
    );
    assert.equal(
      decodeUdpPseudo(f, L4, 20, pseudoOf(f, IPPROTO_UDP), udp, false, false),
      Drop.UDP_ZERO_CHECKSUM,
    );
    assert.equal(decodeUdpPseudo(f, L4, 20, pseudoOf(f, IPPROTO_UDP), udp, true, true), 0);
  });

  it('writeUdpPseudo reproduces the datagram', () => {
    const buf = UDP6.slice(L4);
    buf.fill(0, 0, 8);
    assert.equal(writeUdpPseudo(buf, 0, 54166, 5555, 12, pseudoOf(UDP6, IPPROTO_UDP)), 20);
    assert.equal(toHex(buf), toHex(UDP6, L4));
  });

  it('decodes the SYN and B’s RST, and writeTcpPseudo rebuilds the RST', () => {
    const tcp = new TcpHeader();
    assert.equal(decodeTcpPseudo(TCP6_SYN, L4, 24, pseudoOf(TCP6_SYN, IPPROTO_TCP), tcp), 0);
    assert.equal(tcp.flags, TCP_SYN);
    assert.equal(tcp.headerLength, 24);
    assert.equal(rd16(TCP6_SYN, tcp.optionsOffset + 2), 1440);
    assert.equal(decodeTcpPseudo(TCP6_RST_ACK, L4, 20, pseudoOf(TCP6_RST_ACK, IPPROTO_TCP), tcp), 0);
    assert.equal(tcp.flags, TCP_RST | TCP_ACK);
    assert.equal(tcp.ack, 0xa19a595b);
    const buf = new Uint8Array(20);
    writeTcpPseudo(
      buf,
      0,
      5556,
      35768,
      0,
      0xa19a595b,
      TCP_RST | TCP_ACK,
      0,
      20,
      0,
      pseudoOf(TCP6_RST_ACK, IPPROTO_TCP),
    );
    assert.equal(toHex(buf), toHex(TCP6_RST_ACK, L4));
    const swapped = pseudoHeaderSumIpv6(IP6_A, 0, IP6_A, 0, IPPROTO_TCP, 0);
    assert.equal(decodeTcpPseudo(TCP6_RST_ACK, L4, 20, swapped, tcp), Drop.TCP_BAD_CHECKSUM);
  });

  it('the IPv4 wrappers equal the neutral codecs with pseudoHeaderSum(src, dst, protocol, 0) (property)', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(u32, u32, fc.uint8Array({ maxLength: 64 }), (src, dst, data) => {
        const a = new Uint8Array(8 + data.length);
        const b = new Uint8Array(8 + data.length);
        a.set(data, 8);
        b.set(data, 8);
        writeUdp(a, 0, 1, 2, data.length, src, dst);
        writeUdpPseudo(b, 0, 1, 2, data.length, pseudoHeaderSum(src, dst, IPPROTO_UDP, 0));
        assert.equal(toHex(a), toHex(b));
        const u1 = new UdpHeader();
        const u2 = new UdpHeader();
        assert.equal(decodeUdp(a, 0, a.length, src, dst, u1), 0);
        assert.equal(decodeUdpPseudo(a, 0, a.length, pseudoHeaderSum(src, dst, IPPROTO_UDP, 0), u2), 0);
        assert.deepEqual(u1, u2);
        const t1 = new Uint8Array(20 + data.length);
        const t2 = new Uint8Array(20 + data.length);
        t1.set(data, 20);
        t2.set(data, 20);
        writeTcp(t1, 0, 3, 4, 5, 6, TCP_ACK, 100, 20, data.length, src, dst);
        writeTcpPseudo(
          t2,
          0,
          3,
          4,
          5,
          6,
          TCP_ACK,
          100,
          20,
          data.length,
          pseudoHeaderSum(src, dst, IPPROTO_TCP, 0),
        );
        assert.equal(toHex(t1), toHex(t2));
        assert.equal(decodeTcp(t1, 0, t1.length, src, dst, new TcpHeader()), 0);
      }),
      { seed: 768, numRuns: 500 },
    );
  });

  it('round-trips UDP and TCP over IPv6 addresses (property)', () => {
    const addr = fc.uint8Array({ minLength: 16, maxLength: 16 });
    fc.assert(
      fc.property(
        addr,
        addr,
        fc.uint8Array({ maxLength: 200 }),
        fc.integer({ min: 0, max: 0xffff }),
        (s, d, data, port) => {
          const pseudoU = pseudoHeaderSumIpv6(s, 0, d, 0, IPPROTO_UDP, 0);
          const u = new Uint8Array(8 + data.length);
          u.set(data, 8);
          writeUdpPseudo(u, 0, port, 53, data.length, pseudoU);
          assert.notEqual(rd16(u, 6), 0);
          assert.equal(internetChecksum(u, 0, u.length, pseudoU + u.length), 0);
          const udp = new UdpHeader();
          assert.equal(decodeUdpPseudo(u, 0, u.length, pseudoU, udp, true, false), 0);
          assert.equal(udp.srcPort, port);
          const pseudoT = pseudoHeaderSumIpv6(s, 0, d, 0, IPPROTO_TCP, 0);
          const t = new Uint8Array(20 + data.length);
          t.set(data, 20);
          writeTcpPseudo(t, 0, port, 80, 1, 2, TCP_ACK, 512, 20, data.length, pseudoT);
          const tcp = new TcpHeader();
          assert.equal(decodeTcpPseudo(t, 0, t.length, pseudoT, tcp), 0);
          assert.equal(tcp.dataLength, data.length);
        },
      ),
      { seed: 2460, numRuns: 500 },
    );
  });
});

describe('golden frames', () => {
  it('carry EtherType 0x86dd and the MACs of the capture', () => {
    assert.equal(rd16(ECHO6_REQUEST, 12), ETHERTYPE_IPV6);
    assert.equal(toHex(ECHO6_REQUEST, 0, 12), toHex(MAC_B6) + toHex(MAC_A6));
  });
});
