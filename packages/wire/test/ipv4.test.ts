import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  checksumAdjust,
  Drop,
  decodeIpv4,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_MIN_HEADER,
  Ipv4Header,
  internetChecksum,
  isMartianDestination,
  isMartianSource,
  isMulticastIpv4,
  rd16,
  refreshIpv4Checksum,
  wr16,
  writeIpv4Header,
} from '../src/index.ts';
import {
  ECHO_REPLY,
  ECHO_REQUEST,
  ETH_LEN,
  FRAG_NEEDED,
  IP_A,
  IP_B,
  IPV4_IHL6_ROUTER_ALERT,
  IPV4_IHL7_RECORD_ROUTE,
  TCP_SYN,
  toHex,
  UDP_DATAGRAM,
} from './golden.ts';

function fieldsOf(h: Ipv4Header) {
  return {
    headerLength: h.headerLength,
    tos: h.tos,
    totalLength: h.totalLength,
    id: h.id,
    flagsOffset: h.flagsOffset,
    ttl: h.ttl,
    protocol: h.protocol,
    src: h.src,
    dst: h.dst,
  };
}

/** The IPv4 packet of a golden frame, copied so that tests can damage it. */
function ipOf(frame: Uint8Array): Uint8Array {
  return frame.slice(ETH_LEN);
}

/** Sets a byte and repairs the header checksum, so only the intended defect remains. */
function withByte(packet: Uint8Array, at: number, value: number): Uint8Array {
  const p = packet.slice();
  p[at] = value;
  wr16(p, 10, 0);
  wr16(p, 10, internetChecksum(p, 0, Math.min(p.length, Math.max(20, (p[0]! & 15) * 4))));
  return p;
}

describe('decodeIpv4 on golden packets', () => {
  it('decodes the captured echo request', () => {
    const ip = new Ipv4Header();
    assert.equal(decodeIpv4(ECHO_REQUEST, ETH_LEN, ECHO_REQUEST.length - ETH_LEN, ip), 0);
    assert.deepEqual(fieldsOf(ip), {
      headerLength: 20,
      tos: 0,
      totalLength: 44,
      id: 0x3ec4,
      flagsOffset: 0x4000,
      ttl: 64,
      protocol: IPPROTO_ICMP,
      src: IP_A,
      dst: IP_B,
    });
    assert.equal(ip.dontFragment, true);
    assert.equal(ip.moreFragments, false);
    assert.equal(ip.fragmentOffset, 0);
    assert.equal(ip.isFragment, false);
  });

  it('decodes the captured ICMP error header (TOS 0xc0, DF clear) and large packets', () => {
    const ip = new Ipv4Header();
    assert.equal(decodeIpv4(FRAG_NEEDED, ETH_LEN, FRAG_NEEDED.length - ETH_LEN, ip), 0);
    assert.equal(ip.tos, 0xc0);
    assert.equal(ip.totalLength, 576);
    assert.equal(ip.dontFragment, false);
    assert.equal(ip.src, IP_B);
    assert.equal(decodeIpv4(ECHO_REPLY, ETH_LEN, 44, ip), 0);
    assert.equal(ip.id, 0x4579);
  });

  it('decodes protocols UDP and TCP', () => {
    const ip = new Ipv4Header();
    assert.equal(decodeIpv4(UDP_DATAGRAM, ETH_LEN, UDP_DATAGRAM.length - ETH_LEN, ip), 0);
    assert.equal(ip.protocol, IPPROTO_UDP);
    assert.equal(decodeIpv4(TCP_SYN, ETH_LEN, TCP_SYN.length - ETH_LEN, ip), 0);
    assert.equal(ip.protocol, IPPROTO_TCP);
    assert.equal(ip.totalLength, 60);
  });

  it('skips a 4-byte option (IHL 6, Router Alert)', () => {
    const ip = new Ipv4Header();
    const p = IPV4_IHL6_ROUTER_ALERT;
    assert.equal(decodeIpv4(p, 0, p.length, ip), 0);
    assert.equal(ip.headerLength, 24);
    assert.equal(ip.totalLength, 32);
    assert.equal(ip.protocol, 2);
    assert.equal(ip.ttl, 1);
    assert.equal(ip.dst, 0xe00000fb);
    // The payload starts after the options: IGMPv2 membership report, type 0x16.
    assert.equal(p[ip.headerLength], 0x16);
    assert.equal(internetChecksum(p, ip.headerLength, ip.totalLength - ip.headerLength), 0);
  });

  it('skips 8 bytes of options (IHL 7, Record Route + EOL)', () => {
    const ip = new Ipv4Header();
    const p = IPV4_IHL7_RECORD_ROUTE;
    assert.equal(decodeIpv4(p, 0, p.length, ip), 0);
    assert.equal(ip.headerLength, 28);
    assert.equal(ip.totalLength, 36);
    assert.equal(ip.id, 0xabcd);
    assert.equal(p[ip.headerLength], 8);
    assert.equal(internetChecksum(p, ip.headerLength, 8), 0);
  });

  it('covers the options with the header checksum', () => {
    const p = IPV4_IHL7_RECORD_ROUTE.slice();
    p[22] = 0x01; // a recorded address byte inside the options
    assert.equal(decodeIpv4(p, 0, p.length, new Ipv4Header()), Drop.IPV4_BAD_CHECKSUM);
  });

  it('trusts totalLength over len (Ethernet padding)', () => {
    const padded = new Uint8Array(60 - ETH_LEN);
    padded.set(ipOf(ECHO_REQUEST));
    const ip = new Ipv4Header();
    assert.equal(decodeIpv4(padded, 0, padded.length, ip), 0);
    assert.equal(ip.totalLength, 44);
  });

  it('decodes the fragment fields', () => {
    const p = withByte(withByte(ipOf(ECHO_REQUEST), 6, 0x20), 7, 0xb9); // MF, offset 185 units
    const ip = new Ipv4Header();
    assert.equal(decodeIpv4(p, 0, p.length, ip), 0);
    assert.equal(ip.moreFragments, true);
    assert.equal(ip.dontFragment, false);
    assert.equal(ip.fragmentOffset, 185 * 8);
    assert.equal(ip.isFragment, true);
  });
});

describe('decodeIpv4 drops (RFC 1812 §5.2.2)', () => {
  const echo = ipOf(ECHO_REQUEST);
  const cases: [string, Uint8Array, number, number][] = [
    ['a 19-byte packet as IPV4_TRUNCATED', echo, 19, Drop.IPV4_TRUNCATED],
    ['an empty packet as IPV4_TRUNCATED', echo, 0, Drop.IPV4_TRUNCATED],
    ['version 6 as IPV4_BAD_VERSION', withByte(echo, 0, 0x65), 44, Drop.IPV4_BAD_VERSION],
    ['version 0 as IPV4_BAD_VERSION', withByte(echo, 0, 0x05), 44, Drop.IPV4_BAD_VERSION],
    ['version 15 as IPV4_BAD_VERSION', withByte(echo, 0, 0xf5), 44, Drop.IPV4_BAD_VERSION],
    ['IHL 4 as IPV4_BAD_IHL', withByte(echo, 0, 0x44), 44, Drop.IPV4_BAD_IHL],
    ['IHL 0 as IPV4_BAD_IHL', withByte(echo, 0, 0x40), 44, Drop.IPV4_BAD_IHL],
    ['IHL 15 in a 44-byte packet as IPV4_BAD_IHL', withByte(echo, 0, 0x4f), 44, Drop.IPV4_BAD_IHL],
    ['IHL 6 in a 20-byte buffer as IPV4_BAD_IHL', withByte(echo, 0, 0x46), 20, Drop.IPV4_BAD_IHL],
    ['a flipped header bit as IPV4_BAD_CHECKSUM', flip(echo, 8, 0x01), 44, Drop.IPV4_BAD_CHECKSUM],
    ['a damaged checksum field as IPV4_BAD_CHECKSUM', flip(echo, 10, 0xe7), 44, Drop.IPV4_BAD_CHECKSUM],
    ['totalLength 19 as IPV4_BAD_TOTAL_LENGTH', withByte(echo, 3, 19), 44, Drop.IPV4_BAD_TOTAL_LENGTH],
    ['totalLength 0 as IPV4_BAD_TOTAL_LENGTH', withByte(echo, 3, 0), 44, Drop.IPV4_BAD_TOTAL_LENGTH],
    [
      'totalLength 45 in 44 bytes as IPV4_BAD_TOTAL_LENGTH',
      withByte(echo, 3, 45),
      44,
      Drop.IPV4_BAD_TOTAL_LENGTH,
    ],
    ['totalLength 44 in 43 bytes as IPV4_BAD_TOTAL_LENGTH', echo, 43, Drop.IPV4_BAD_TOTAL_LENGTH],
  ];
  function flip(packet: Uint8Array, at: number, mask: number): Uint8Array {
    const p = packet.slice();
    p[at]! ^= mask;
    return p;
  }

  for (const [name, packet, len, reason] of cases) {
    it(`drops ${name}`, () => {
      assert.equal(decodeIpv4(packet, 0, len, new Ipv4Header()), reason);
    });
  }

  it('drops totalLength below IHL × 4 when options are present', () => {
    const p = withByte(IPV4_IHL7_RECORD_ROUTE, 3, 24); // header is 28 bytes
    assert.equal(decodeIpv4(p, 0, p.length, new Ipv4Header()), Drop.IPV4_BAD_TOTAL_LENGTH);
    const q = withByte(IPV4_IHL7_RECORD_ROUTE, 3, 28); // header only: valid
    assert.equal(decodeIpv4(q, 0, q.length, new Ipv4Header()), 0);
  });

  it('drops an options header cut short by len as IPV4_BAD_IHL', () => {
    for (const len of [20, 24, 27]) {
      const r = decodeIpv4(IPV4_IHL7_RECORD_ROUTE, 0, len, new Ipv4Header());
      assert.equal(r, Drop.IPV4_BAD_IHL, `len ${len}`);
    }
  });

  it('leaves the scratch object untouched when it drops', () => {
    const ip = new Ipv4Header();
    assert.equal(decodeIpv4(flip(echo, 8, 1), 0, 44, ip), Drop.IPV4_BAD_CHECKSUM);
    assert.deepEqual(fieldsOf(ip), fieldsOf(new Ipv4Header()));
  });
});

describe('writeIpv4Header', () => {
  it('reproduces the captured echo request and echo reply headers', () => {
    const buf = new Uint8Array(20);
    assert.equal(writeIpv4Header(buf, 0, 0, 44, 0x3ec4, 0x4000, 64, IPPROTO_ICMP, IP_A, IP_B), 20);
    assert.equal(toHex(buf), toHex(ECHO_REQUEST, ETH_LEN, 20));
    writeIpv4Header(buf, 0, 0, 44, 0x4579, 0, 64, IPPROTO_ICMP, IP_B, IP_A);
    assert.equal(toHex(buf), toHex(ECHO_REPLY, ETH_LEN, 20));
    writeIpv4Header(buf, 0, 0xc0, 576, 0x466f, 0, 64, IPPROTO_ICMP, IP_B, IP_A);
    assert.equal(toHex(buf), toHex(FRAG_NEEDED, ETH_LEN, 20));
  });

  it('ignores whatever was in the checksum field before', () => {
    const buf = new Uint8Array(20).fill(0xff);
    writeIpv4Header(buf, 0, 0, 44, 0x3ec4, 0x4000, 64, IPPROTO_ICMP, IP_A, IP_B);
    assert.equal(rd16(buf, 10), 0xe744);
  });
});

describe('refreshIpv4Checksum', () => {
  it('recomputes over the options too', () => {
    const p = IPV4_IHL7_RECORD_ROUTE.slice();
    p[22] = 0x01;
    refreshIpv4Checksum(p, 0);
    assert.equal(internetChecksum(p, 0, 28), 0);
    assert.equal(decodeIpv4(p, 0, p.length, new Ipv4Header()), 0);
  });

  it('restores the captured checksum after a TTL rewrite and back', () => {
    const p = ipOf(ECHO_REQUEST);
    p[8] = 63;
    refreshIpv4Checksum(p, 0);
    assert.equal(rd16(p, 10), checksumAdjust(0xe744, 0x4001, 0x3f01));
    p[8] = 64;
    refreshIpv4Checksum(p, 0);
    assert.equal(rd16(p, 10), 0xe744);
  });
});

describe('address classes (RFC 1812 §5.3.7)', () => {
  it('classifies sources', () => {
    for (const a of [0x00000000, 0x00010203, 0x7f000001, 0xe0000001, 0xefffffff, 0xf0000001, 0xffffffff]) {
      assert.equal(isMartianSource(a), true, a.toString(16));
    }
    for (const a of [IP_A, 0x01000000, 0x7effffff, 0x80000000, 0xdfffffff]) {
      assert.equal(isMartianSource(a), false, a.toString(16));
    }
  });

  it('classifies destinations, leaving multicast and limited broadcast to others', () => {
    for (const a of [0x00000000, 0x7f000001, 0xf0000000, 0xfffffffe]) {
      assert.equal(isMartianDestination(a), true, a.toString(16));
    }
    for (const a of [IP_B, 0xe0000005, 0xffffffff, 0xdfffffff]) {
      assert.equal(isMartianDestination(a), false, a.toString(16));
    }
  });

  it('recognises 224/4 as multicast', () => {
    assert.equal(isMulticastIpv4(0xe0000000), true);
    assert.equal(isMulticastIpv4(0xefffffff), true);
    assert.equal(isMulticastIpv4(0xdfffffff), false);
    assert.equal(isMulticastIpv4(0xf0000000), false);
  });
});

describe('IPv4 round trip (property)', () => {
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const u8 = fc.integer({ min: 0, max: 0xff });

  it('decode(write(fields)) returns 0, the same fields, and a verifying checksum', () => {
    fc.assert(
      fc.property(
        fc.record({ tos: u8, extra: fc.nat({ max: 200 }), id: u16, flagsOffset: u16, ttl: u8, protocol: u8 }),
        u32,
        u32,
        fc.nat({ max: 32 }),
        fc.nat({ max: 32 }),
        (f, src, dst, off, slack) => {
          const totalLength = IPV4_MIN_HEADER + f.extra;
          const buf = new Uint8Array(off + totalLength + slack);
          const written = writeIpv4Header(
            buf,
            off,
            f.tos,
            totalLength,
            f.id,
            f.flagsOffset,
            f.ttl,
            f.protocol,
            src,
            dst,
          );
          assert.equal(written, IPV4_MIN_HEADER);
          assert.equal(internetChecksum(buf, off, IPV4_MIN_HEADER), 0);
          const ip = new Ipv4Header();
          assert.equal(decodeIpv4(buf, off, totalLength + slack, ip), 0);
          assert.deepEqual(fieldsOf(ip), {
            headerLength: 20,
            tos: f.tos,
            totalLength,
            id: f.id,
            flagsOffset: f.flagsOffset,
            ttl: f.ttl,
            protocol: f.protocol,
            src,
            dst,
          });
        },
      ),
      { seed: 791, numRuns: 1000 },
    );
  });

  it('skips random options of every IHL once the checksum is refreshed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 5, max: 15 }),
        fc.uint8Array({ minLength: 40, maxLength: 40 }),
        u32,
        u32,
        fc.nat({ max: 30 }),
        (ihl, options, src, dst, dataLen) => {
          const headerLength = ihl * 4;
          const buf = new Uint8Array(headerLength + dataLen);
          writeIpv4Header(buf, 0, 0, headerLength + dataLen, 1, 0, 64, IPPROTO_UDP, src, dst);
          buf[0] = 0x40 | ihl;
          buf.set(options.subarray(0, headerLength - 20), 20);
          refreshIpv4Checksum(buf, 0);
          const ip = new Ipv4Header();
          assert.equal(decodeIpv4(buf, 0, buf.length, ip), 0);
          assert.equal(ip.headerLength, headerLength);
          assert.equal(ip.src, src);
          assert.equal(ip.dst, dst);
        },
      ),
      { seed: 1812, numRuns: 500 },
    );
  });

  it('TTL decrement by checksumAdjust equals a full recompute on random headers', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 255 }),
        u8,
        u16,
        u16,
        u8,
        u32,
        u32,
        (ttl, tos, id, flagsOffset, protocol, src, dst) => {
          const buf = new Uint8Array(20);
          writeIpv4Header(buf, 0, tos, 20, id, flagsOffset, ttl, protocol, src, dst);
          const expected = buf.slice();
          writeIpv4Header(expected, 0, tos, 20, id, flagsOffset, ttl - 1, protocol, src, dst);
          const oldWord = rd16(buf, 8);
          buf[8] = ttl - 1;
          wr16(buf, 10, checksumAdjust(rd16(buf, 10), oldWord, rd16(buf, 8)));
          assert.equal(toHex(buf), toHex(expected));
        },
      ),
      { seed: 1624, numRuns: 1000 },
    );
  });
});
