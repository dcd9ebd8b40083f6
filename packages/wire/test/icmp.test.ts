import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  Drop,
  decodeIcmp,
  decodeIpv4,
  ETHERTYPE_IPV4,
  fragNeededRestOfHeader,
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_ERROR_MAX_QUOTE,
  ICMP_HEADER_LEN,
  ICMP_PARAMETER_PROBLEM,
  ICMP_TIME_EXCEEDED,
  IcmpMessage,
  IPPROTO_ICMP,
  IPV4_MIN_REASSEMBLY,
  Ipv4Header,
  icmpIsError,
  internetChecksum,
  rd16,
  TIME_EXCEEDED_REASSEMBLY,
  TIME_EXCEEDED_TTL,
  UNREACH_FRAG_NEEDED,
  UNREACH_HOST,
  UNREACH_NET,
  UNREACH_PORT,
  UNREACH_PROTOCOL,
  writeEthernet,
  writeIcmp,
  writeIpv4Header,
} from '../src/index.ts';
import {
  ECHO_REPLY,
  ECHO_REQUEST,
  ETH_LEN,
  FRAG_NEEDED,
  HOST_UNREACHABLE,
  IP_A,
  IP_B,
  NET_UNREACHABLE,
  PORT_UNREACHABLE,
  PROTOCOL_UNREACHABLE,
  TIME_EXCEEDED,
  toHex,
} from './golden.ts';

const ICMP_AT = ETH_LEN + 20;

/** Decodes Ethernet → IPv4 → ICMP the way the stack will, from the frame's IPv4 totalLength. */
function decodeFrame(frame: Uint8Array): { ip: Ipv4Header; icmp: IcmpMessage } {
  const ip = new Ipv4Header();
  assert.equal(decodeIpv4(frame, ETH_LEN, frame.length - ETH_LEN, ip), 0);
  assert.equal(ip.protocol, IPPROTO_ICMP);
  const icmp = new IcmpMessage();
  const at = ETH_LEN + ip.headerLength;
  assert.equal(decodeIcmp(frame, at, ip.totalLength - ip.headerLength, icmp), 0);
  return { ip, icmp };
}

describe('decodeIcmp on captured echo', () => {
  it('decodes the echo request', () => {
    const { icmp } = decodeFrame(ECHO_REQUEST);
    assert.equal(icmp.type, ICMP_ECHO_REQUEST);
    assert.equal(icmp.code, 0);
    assert.equal(icmp.echoId, 0x1768);
    assert.equal(icmp.echoSequence, 1);
    assert.equal(icmp.restOfHeader, 0x17680001);
    assert.equal(icmp.bodyOffset, ICMP_AT + 8);
    assert.equal(icmp.bodyLength, 16);
  });

  it('decodes the echo reply', () => {
    const { icmp } = decodeFrame(ECHO_REPLY);
    assert.equal(icmp.type, ICMP_ECHO_REPLY);
    assert.equal(icmp.echoId, 0x1768);
    assert.equal(icmp.echoSequence, 1);
    assert.equal(toHex(ECHO_REPLY, icmp.bodyOffset, 16), toHex(ECHO_REQUEST, ICMP_AT + 8, 16));
  });
});

describe('decodeIcmp on captured errors (RFC 792, RFC 1812 §4.3.2.3)', () => {
  const unreachable: [string, Uint8Array, number, number][] = [
    ['net', NET_UNREACHABLE, UNREACH_NET, 0x0a636402],
    ['host', HOST_UNREACHABLE, UNREACH_HOST, 0x0a580001],
    ['protocol', PROTOCOL_UNREACHABLE, UNREACH_PROTOCOL, IP_B],
    ['port', PORT_UNREACHABLE, UNREACH_PORT, IP_B],
  ];
  for (const [name, frame, code, quotedDst] of unreachable) {
    it(`decodes destination unreachable (${name}) and the quoted datagram`, () => {
      const { ip, icmp } = decodeFrame(frame);
      assert.equal(ip.tos, 0xc0);
      assert.equal(icmpIsError(icmp.type), true);
      assert.equal(icmp.type, ICMP_DEST_UNREACHABLE);
      assert.equal(icmp.code, code);
      assert.equal(icmp.restOfHeader, 0);
      // These quotes hold the whole offending datagram, so it decodes as IPv4 in its own right.
      const quoted = new Ipv4Header();
      assert.equal(decodeIpv4(frame, icmp.bodyOffset, icmp.bodyLength, quoted), 0);
      assert.equal(quoted.totalLength, icmp.bodyLength);
      assert.equal(quoted.src, IP_A);
      assert.equal(quoted.dst, quotedDst);
    });
  }

  it('decodes fragmentation needed with the next-hop MTU (RFC 1191 §4)', () => {
    const { ip, icmp } = decodeFrame(FRAG_NEEDED);
    assert.equal(icmp.type, ICMP_DEST_UNREACHABLE);
    assert.equal(icmp.code, UNREACH_FRAG_NEEDED);
    assert.equal(icmp.nextHopMtu, 1280);
    assert.equal(icmp.restOfHeader, 0x00000500);
    // Linux quotes as much as fits in 576 bytes: the same limit as RFC 1812's.
    assert.equal(ip.totalLength, IPV4_MIN_REASSEMBLY);
    assert.equal(icmp.bodyLength, ICMP_ERROR_MAX_QUOTE);
    // The quoted header says 1328 bytes with DF; the quote is cut, so only its header verifies.
    assert.equal(rd16(FRAG_NEEDED, icmp.bodyOffset + 2), 1328);
    assert.equal(internetChecksum(FRAG_NEEDED, icmp.bodyOffset, 20), 0);
    const quoted = new Ipv4Header();
    assert.equal(
      decodeIpv4(FRAG_NEEDED, icmp.bodyOffset, icmp.bodyLength, quoted),
      Drop.IPV4_BAD_TOTAL_LENGTH,
    );
  });

  it('decodes time exceeded in transit', () => {
    const { icmp } = decodeFrame(TIME_EXCEEDED);
    assert.equal(icmp.type, ICMP_TIME_EXCEEDED);
    assert.equal(icmp.code, TIME_EXCEEDED_TTL);
    assert.equal(icmp.restOfHeader, 0);
    const quoted = new Ipv4Header();
    assert.equal(decodeIpv4(TIME_EXCEEDED, icmp.bodyOffset, icmp.bodyLength, quoted), 0);
    assert.equal(quoted.ttl, 1);
  });
});

describe('writeIcmp reproduces the captures', () => {
  it('builds the whole echo reply frame from the request', () => {
    const req = decodeFrame(ECHO_REQUEST).icmp;
    const buf = new Uint8Array(ECHO_REPLY.length);
    writeEthernet(buf, 0, ECHO_REQUEST, 6, ECHO_REQUEST, 0, ETHERTYPE_IPV4);
    const icmpLen = writeIcmp(
      buf,
      ICMP_AT,
      ICMP_ECHO_REPLY,
      0,
      req.restOfHeader,
      ECHO_REQUEST,
      req.bodyOffset,
      req.bodyLength,
    );
    assert.equal(icmpLen, 24);
    writeIpv4Header(buf, ETH_LEN, 0, 20 + icmpLen, 0x4579, 0, 64, IPPROTO_ICMP, IP_B, IP_A);
    assert.equal(toHex(buf), toHex(ECHO_REPLY));
  });

  const errors: [string, Uint8Array, number, number, number][] = [
    ['net unreachable', NET_UNREACHABLE, ICMP_DEST_UNREACHABLE, UNREACH_NET, 0],
    ['host unreachable', HOST_UNREACHABLE, ICMP_DEST_UNREACHABLE, UNREACH_HOST, 0],
    ['protocol unreachable', PROTOCOL_UNREACHABLE, ICMP_DEST_UNREACHABLE, UNREACH_PROTOCOL, 0],
    ['port unreachable', PORT_UNREACHABLE, ICMP_DEST_UNREACHABLE, UNREACH_PORT, 0],
    ['time exceeded', TIME_EXCEEDED, ICMP_TIME_EXCEEDED, TIME_EXCEEDED_TTL, 0],
    [
      'fragmentation needed',
      FRAG_NEEDED,
      ICMP_DEST_UNREACHABLE,
      UNREACH_FRAG_NEEDED,
      fragNeededRestOfHeader(1280),
    ],
  ];
  for (const [name, frame, type, code, rest] of errors) {
    it(`builds ${name} byte for byte`, () => {
      const quoteLen = frame.length - ICMP_AT - ICMP_HEADER_LEN;
      const buf = new Uint8Array(frame.length).fill(0xee);
      buf.set(frame.subarray(0, ICMP_AT));
      const len = writeIcmp(buf, ICMP_AT, type, code, rest, frame, ICMP_AT + ICMP_HEADER_LEN, quoteLen);
      assert.equal(len, ICMP_HEADER_LEN + quoteLen);
      assert.equal(toHex(buf), toHex(frame));
    });
  }

  it('builds an error in place over the offending frame it quotes', () => {
    // The received frame's datagram sits at 14; the error's ICMP header goes at 34 and the quote at
    // 42, so the quote's source overlaps both the new ICMP header and the quote's destination.
    const quoteLen = 84;
    const buf = new Uint8Array(200);
    buf.set(TIME_EXCEEDED.subarray(ICMP_AT + 8, ICMP_AT + 8 + quoteLen), ETH_LEN);
    writeIcmp(buf, ICMP_AT, ICMP_TIME_EXCEEDED, 0, 0, buf, ETH_LEN, quoteLen);
    assert.equal(toHex(buf, ICMP_AT, 8 + quoteLen), toHex(TIME_EXCEEDED, ICMP_AT));
  });

  it('puts the next-hop MTU in the low 16 bits with the high 16 unused', () => {
    assert.equal(fragNeededRestOfHeader(1280), 0x00000500);
    assert.equal(fragNeededRestOfHeader(68), 68);
    assert.equal(fragNeededRestOfHeader(0xffff), 0xffff);
  });
});

describe('decodeIcmp drops', () => {
  it('drops messages shorter than 8 bytes as ICMP_TRUNCATED', () => {
    for (let len = 0; len < ICMP_HEADER_LEN; len++) {
      assert.equal(
        decodeIcmp(ECHO_REQUEST, ICMP_AT, len, new IcmpMessage()),
        Drop.ICMP_TRUNCATED,
        `len ${len}`,
      );
    }
  });

  it('drops any single damaged byte as ICMP_BAD_CHECKSUM', () => {
    for (let i = 0; i < 24; i++) {
      const frame = ECHO_REQUEST.slice();
      frame[ICMP_AT + i]! ^= 0x40;
      assert.equal(decodeIcmp(frame, ICMP_AT, 24, new IcmpMessage()), Drop.ICMP_BAD_CHECKSUM, `byte ${i}`);
    }
  });

  it('checksums exactly len bytes: one byte short or long fails', () => {
    const f = NET_UNREACHABLE;
    const len = f.length - ICMP_AT;
    assert.equal(f[f.length - 1], 0x37);
    assert.equal(decodeIcmp(f, ICMP_AT, len, new IcmpMessage()), 0);
    assert.equal(decodeIcmp(f, ICMP_AT, len - 1, new IcmpMessage()), Drop.ICMP_BAD_CHECKSUM);
    const padded = new Uint8Array(f.length + 1);
    padded.set(f);
    padded[f.length] = 0x01;
    assert.equal(decodeIcmp(padded, ICMP_AT, len + 1, new IcmpMessage()), Drop.ICMP_BAD_CHECKSUM);
  });
});

describe('icmpIsError', () => {
  it('knows the error types of RFC 792 and none of the queries', () => {
    for (const t of [ICMP_DEST_UNREACHABLE, 4, 5, ICMP_TIME_EXCEEDED, ICMP_PARAMETER_PROBLEM]) {
      assert.equal(icmpIsError(t), true, `type ${t}`);
    }
    for (const t of [ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, 9, 10, 13, 14, 255]) {
      assert.equal(icmpIsError(t), false, `type ${t}`);
    }
    assert.equal(TIME_EXCEEDED_REASSEMBLY, 1);
  });
});

describe('ICMP round trip (property)', () => {
  it('decode(write(message)) returns the fields and body, and the checksum verifies', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ maxLength: 600 }),
        fc.nat({ max: 40 }),
        (type, code, rest, body, off) => {
          const buf = new Uint8Array(off + ICMP_HEADER_LEN + body.length + 5).fill(0x5a);
          const len = writeIcmp(buf, off, type, code, rest, body, 0, body.length);
          assert.equal(len, ICMP_HEADER_LEN + body.length);
          assert.equal(internetChecksum(buf, off, len), 0);
          const icmp = new IcmpMessage();
          assert.equal(decodeIcmp(buf, off, len, icmp), 0);
          assert.equal(icmp.type, type);
          assert.equal(icmp.code, code);
          assert.equal(icmp.restOfHeader, rest);
          assert.equal(icmp.echoId, rest >>> 16);
          assert.equal(icmp.echoSequence, rest & 0xffff);
          assert.equal(icmp.bodyOffset, off + ICMP_HEADER_LEN);
          assert.equal(icmp.bodyLength, body.length);
          assert.equal(toHex(buf, icmp.bodyOffset, icmp.bodyLength), toHex(body));
          assert.equal(toHex(buf, off + len), '5a5a5a5a5a');
        },
      ),
      { seed: 792, numRuns: 500 },
    );
  });
});
