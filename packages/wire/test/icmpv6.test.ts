import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  Drop,
  decodeIcmpv6,
  decodeIpv6,
  decodeIpv6Extensions,
  ETH_HEADER_LEN,
  ETHERTYPE_IPV6,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_ECHO_REPLY,
  ICMPV6_ECHO_REQUEST,
  ICMPV6_ERROR_MAX_QUOTE,
  ICMPV6_HEADER_LEN,
  ICMPV6_MLD_QUERY,
  ICMPV6_MLDV2_REPORT,
  ICMPV6_NEIGHBOR_SOLICITATION,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_PARAMETER_PROBLEM,
  ICMPV6_REDIRECT,
  ICMPV6_ROUTER_ADVERTISEMENT,
  ICMPV6_TIME_EXCEEDED,
  Icmpv6Message,
  IPPROTO_ICMPV6,
  IPV6_HEADER_LEN,
  IPV6_MIN_MTU,
  Ipv6Extensions,
  Ipv6Header,
  internetChecksum,
  isIcmpv6Error,
  PARAM_PROBLEM_HEADER_FIELD,
  PARAM_PROBLEM_NEXT_HEADER,
  PARAM_PROBLEM_OPTION,
  pseudoHeaderSumIpv6,
  TIME_EXCEEDED6_HOP_LIMIT,
  TIME_EXCEEDED6_REASSEMBLY,
  UNREACH6_ADMIN_PROHIBITED,
  UNREACH6_NO_ROUTE,
  UNREACH6_PORT,
  writeEthernet,
  writeIcmpv6,
  writeIcmpv6Error,
  writeIpv6Header,
} from '../src/index.ts';
import { toHex } from './golden.ts';
import {
  ADMIN_PROHIBITED,
  DO_UNKNOWN_OPTION,
  ECHO6_REPLY,
  ECHO6_REQUEST,
  GOOD_CHAIN,
  GOOD_CHAIN_REPLY,
  HBH_NOT_FIRST,
  HOP_LIMIT_EXCEEDED,
  IP6_A,
  IP6_AT,
  IP6_B,
  NEXT_HEADER_253,
  NO_ROUTE,
  PACKET_TOO_BIG,
  PORT_UNREACHABLE6,
  PP_HBH_NOT_FIRST,
  PP_NEXT_HEADER,
  PP_OPTION,
  PP_RH0,
  RH0,
  UDP6,
} from './golden-ipv6.ts';

const ICMP_AT = IP6_AT + IPV6_HEADER_LEN;

function pseudoOf(frame: Uint8Array): number {
  return pseudoHeaderSumIpv6(frame, IP6_AT + 8, frame, IP6_AT + 24, IPPROTO_ICMPV6, 0);
}

/** Ethernet → IPv6 → extension headers → ICMPv6, the way the stack will. */
function decodeFrame(frame: Uint8Array): { ip: Ipv6Header; icmp: Icmpv6Message } {
  const ip = new Ipv6Header();
  assert.equal(decodeIpv6(frame, IP6_AT, frame.length - IP6_AT, ip), 0);
  const ext = new Ipv6Extensions();
  assert.equal(decodeIpv6Extensions(frame, IP6_AT, ip.totalLength, ext), 0);
  assert.equal(ext.protocol, IPPROTO_ICMPV6);
  const icmp = new Icmpv6Message();
  assert.equal(decodeIcmpv6(frame, ext.payloadOffset, ext.payloadLength, pseudoOf(frame), icmp), 0);
  return { ip, icmp };
}

describe('decodeIcmpv6 on captured messages (RFC 4443)', () => {
  it('decodes echo request and reply', () => {
    const req = decodeFrame(ECHO6_REQUEST).icmp;
    assert.equal(req.type, ICMPV6_ECHO_REQUEST);
    assert.equal(req.echoId, 0x5c30);
    assert.equal(req.echoSequence, 1);
    assert.equal(req.bodyOffset, ICMP_AT + 8);
    assert.equal(req.bodyLength, 16);
    const rep = decodeFrame(ECHO6_REPLY).icmp;
    assert.equal(rep.type, ICMPV6_ECHO_REPLY);
    assert.equal(rep.restOfHeader, req.restOfHeader);
    assert.equal(toHex(ECHO6_REPLY, rep.bodyOffset, 16), toHex(ECHO6_REQUEST, req.bodyOffset, 16));
  });

  it('decodes an echo request behind extension headers', () => {
    const { icmp } = decodeFrame(GOOD_CHAIN);
    assert.equal(icmp.type, ICMPV6_ECHO_REQUEST);
    assert.equal(icmp.echoSequence, 5);
    assert.equal(new TextDecoder().decode(GOOD_CHAIN.subarray(icmp.bodyOffset)), 'good-chain');
    assert.equal(decodeFrame(GOOD_CHAIN_REPLY).icmp.type, ICMPV6_ECHO_REPLY);
  });

  const errors: [string, Uint8Array, number, number, number, Uint8Array][] = [
    ['no route', NO_ROUTE, ICMPV6_DEST_UNREACHABLE, UNREACH6_NO_ROUTE, 0, ECHO6_REQUEST],
    [
      'administratively prohibited',
      ADMIN_PROHIBITED,
      ICMPV6_DEST_UNREACHABLE,
      UNREACH6_ADMIN_PROHIBITED,
      0,
      ECHO6_REQUEST,
    ],
    ['port unreachable', PORT_UNREACHABLE6, ICMPV6_DEST_UNREACHABLE, UNREACH6_PORT, 0, UDP6],
    [
      'hop limit exceeded',
      HOP_LIMIT_EXCEEDED,
      ICMPV6_TIME_EXCEEDED,
      TIME_EXCEEDED6_HOP_LIMIT,
      0,
      ECHO6_REQUEST,
    ],
    [
      'unrecognised next header',
      PP_NEXT_HEADER,
      ICMPV6_PARAMETER_PROBLEM,
      PARAM_PROBLEM_NEXT_HEADER,
      6,
      NEXT_HEADER_253,
    ],
    ['unrecognised option', PP_OPTION, ICMPV6_PARAMETER_PROBLEM, PARAM_PROBLEM_OPTION, 42, DO_UNKNOWN_OPTION],
    ['erroneous field (RH0)', PP_RH0, ICMPV6_PARAMETER_PROBLEM, PARAM_PROBLEM_HEADER_FIELD, 42, RH0],
    [
      'hop-by-hop not first',
      PP_HBH_NOT_FIRST,
      ICMPV6_PARAMETER_PROBLEM,
      PARAM_PROBLEM_NEXT_HEADER,
      40,
      HBH_NOT_FIRST,
    ],
  ];
  for (const [name, frame, type, code, rest, offending] of errors) {
    it(`decodes ${name} and finds the whole offending packet quoted`, () => {
      const { icmp } = decodeFrame(frame);
      assert.equal(isIcmpv6Error(icmp.type), true);
      assert.equal(icmp.type, type);
      assert.equal(icmp.code, code);
      assert.equal(icmp.restOfHeader, rest);
      assert.equal(icmp.pointer, rest);
      if (offending !== ECHO6_REQUEST) {
        assert.equal(toHex(frame, icmp.bodyOffset), toHex(offending, IP6_AT));
      } else {
        // The quoted echo requests are other pings of the run; their headers decode like ours.
        const quoted = new Ipv6Header();
        assert.equal(decodeIpv6(frame, icmp.bodyOffset, icmp.bodyLength, quoted), 0);
        assert.equal(quoted.totalLength, icmp.bodyLength);
        assert.equal(toHex(frame, quoted.srcOffset, 16), toHex(IP6_A));
      }
    });
  }

  it('decodes packet too big with its 32-bit MTU, quoting 1232 bytes (RFC 4443 §3.2, §2.4 (c))', () => {
    const { ip, icmp } = decodeFrame(PACKET_TOO_BIG);
    assert.equal(icmp.type, ICMPV6_PACKET_TOO_BIG);
    assert.equal(icmp.mtu, 1280);
    assert.equal(ip.totalLength, IPV6_MIN_MTU);
    assert.equal(icmp.bodyLength, ICMPV6_ERROR_MAX_QUOTE);
    // The quoted header says 1308 bytes of payload; only 1192 of them are there.
    const quoted = new Ipv6Header();
    assert.equal(
      decodeIpv6(PACKET_TOO_BIG, icmp.bodyOffset, icmp.bodyLength, quoted),
      Drop.IPV6_BAD_PAYLOAD_LENGTH,
    );
  });
});

describe('writeIcmpv6 and writeIcmpv6Error reproduce Linux', () => {
  it('builds the whole echo reply frame from the request', () => {
    const req = decodeFrame(ECHO6_REQUEST).icmp;
    const buf = new Uint8Array(ECHO6_REPLY.length);
    writeEthernet(buf, 0, ECHO6_REQUEST, 6, ECHO6_REQUEST, 0, ETHERTYPE_IPV6);
    writeIpv6Header(buf, ETH_HEADER_LEN, 0, 0xc5b07, 24, IPPROTO_ICMPV6, 64, IP6_B, 0, IP6_A, 0);
    const len = writeIcmpv6(
      buf,
      ICMP_AT,
      ICMPV6_ECHO_REPLY,
      0,
      req.restOfHeader,
      ECHO6_REQUEST,
      req.bodyOffset,
      req.bodyLength,
      pseudoOf(buf),
    );
    assert.equal(len, 24);
    assert.equal(toHex(buf), toHex(ECHO6_REPLY));
  });

  const errors: [string, Uint8Array][] = [
    ['no route', NO_ROUTE],
    ['administratively prohibited', ADMIN_PROHIBITED],
    ['port unreachable', PORT_UNREACHABLE6],
    ['time exceeded', HOP_LIMIT_EXCEEDED],
    ['parameter problem (next header)', PP_NEXT_HEADER],
    ['parameter problem (option)', PP_OPTION],
    ['parameter problem (RH0)', PP_RH0],
    ['parameter problem (hop-by-hop)', PP_HBH_NOT_FIRST],
    ['packet too big', PACKET_TOO_BIG],
  ];
  for (const [name, frame] of errors) {
    it(`builds ${name} byte for byte`, () => {
      const { icmp } = decodeFrame(frame);
      // The offending packet as it was before the cut: the quote, extended past 1232 for PTB.
      const offending = new Uint8Array(2000);
      offending.set(frame.subarray(icmp.bodyOffset));
      const offendingLen = icmp.type === ICMPV6_PACKET_TOO_BIG ? 1348 : icmp.bodyLength;
      const buf = new Uint8Array(frame.length).fill(0xee);
      buf.set(frame.subarray(0, ICMP_AT));
      const len = writeIcmpv6Error(
        buf,
        ICMP_AT,
        icmp.type,
        icmp.code,
        icmp.restOfHeader,
        offending,
        0,
        offendingLen,
        pseudoOf(frame),
      );
      assert.equal(len, frame.length - ICMP_AT);
      assert.equal(toHex(buf), toHex(frame));
    });
  }

  it('cuts the quote so that the error fits 1280 bytes, or a smaller room when asked', () => {
    const big = new Uint8Array(3000).fill(0x42);
    const buf = new Uint8Array(3000);
    const pseudo = pseudoHeaderSumIpv6(IP6_B, 0, IP6_A, 0, IPPROTO_ICMPV6, 0);
    assert.equal(writeIcmpv6Error(buf, 0, 1, 0, 0, big, 0, 3000, pseudo), IPV6_MIN_MTU - IPV6_HEADER_LEN);
    assert.equal(writeIcmpv6Error(buf, 0, 1, 0, 0, big, 0, 100, pseudo), 108);
    assert.equal(writeIcmpv6Error(buf, 0, 1, 0, 0, big, 0, 3000, pseudo, 1232 - 8), 1232);
  });

  it('builds an error in place over the packet it quotes', () => {
    // The received packet at 14; the error's IPv6 header goes at 14 too, its ICMPv6 at 54: source
    // and destination of the quote overlap.
    const quoted = ECHO6_REQUEST.subarray(IP6_AT);
    const buf = new Uint8Array(400);
    buf.set(quoted, IP6_AT);
    const pseudo = pseudoHeaderSumIpv6(IP6_B, 0, IP6_A, 0, IPPROTO_ICMPV6, 0);
    writeIcmpv6Error(buf, ICMP_AT, ICMPV6_TIME_EXCEEDED, 0, 0, buf, IP6_AT, quoted.length, pseudo);
    assert.equal(toHex(buf, ICMP_AT + 8, quoted.length), toHex(quoted));
    assert.equal(internetChecksum(buf, ICMP_AT, 8 + quoted.length, pseudo + 8 + quoted.length), 0);
  });
});

describe('decodeIcmpv6 drops', () => {
  it('drops fewer than 8 bytes as ICMPV6_TRUNCATED', () => {
    for (let len = 0; len < ICMPV6_HEADER_LEN; len++) {
      assert.equal(
        decodeIcmpv6(ECHO6_REQUEST, ICMP_AT, len, pseudoOf(ECHO6_REQUEST), new Icmpv6Message()),
        Drop.ICMPV6_TRUNCATED,
      );
    }
  });

  it('drops any damaged byte, and the wrong pseudo header, as ICMPV6_BAD_CHECKSUM', () => {
    for (let i = 0; i < 24; i++) {
      const f = ECHO6_REQUEST.slice();
      f[ICMP_AT + i]! ^= 0x08;
      assert.equal(
        decodeIcmpv6(f, ICMP_AT, 24, pseudoOf(f), new Icmpv6Message()),
        Drop.ICMPV6_BAD_CHECKSUM,
        `byte ${i}`,
      );
    }
    for (let i = 8; i < 40; i++) {
      const f = ECHO6_REQUEST.slice();
      f[IP6_AT + i]! ^= 0x08;
      assert.equal(
        decodeIcmpv6(f, ICMP_AT, 24, pseudoOf(f), new Icmpv6Message()),
        Drop.ICMPV6_BAD_CHECKSUM,
        `address byte ${i}`,
      );
    }
    // The same bytes with the IPv4-style sum (no pseudo header) are refused too: ICMPv6 has one.
    assert.equal(decodeIcmpv6(ECHO6_REQUEST, ICMP_AT, 24, 0, new Icmpv6Message()), Drop.ICMPV6_BAD_CHECKSUM);
  });

  it('checksums exactly len bytes', () => {
    assert.equal(
      decodeIcmpv6(ECHO6_REQUEST, ICMP_AT, 23, pseudoOf(ECHO6_REQUEST), new Icmpv6Message()),
      Drop.ICMPV6_BAD_CHECKSUM,
    );
  });
});

describe('isIcmpv6Error (RFC 4443 §2.1)', () => {
  it('is the types below 128', () => {
    for (const t of [
      0,
      ICMPV6_DEST_UNREACHABLE,
      ICMPV6_PACKET_TOO_BIG,
      ICMPV6_TIME_EXCEEDED,
      ICMPV6_PARAMETER_PROBLEM,
      100,
      127,
    ]) {
      assert.equal(isIcmpv6Error(t), true, `${t}`);
    }
    for (const t of [
      ICMPV6_ECHO_REQUEST,
      ICMPV6_ECHO_REPLY,
      ICMPV6_MLD_QUERY,
      ICMPV6_ROUTER_ADVERTISEMENT,
      ICMPV6_NEIGHBOR_SOLICITATION,
      ICMPV6_REDIRECT,
      ICMPV6_MLDV2_REPORT,
      255,
    ]) {
      assert.equal(isIcmpv6Error(t), false, `${t}`);
    }
    assert.equal(TIME_EXCEEDED6_REASSEMBLY, 1);
  });
});

describe('ICMPv6 round trip (property)', () => {
  it('decode(write(message)) returns the fields and body, and the checksum verifies', () => {
    const addr = fc.uint8Array({ minLength: 16, maxLength: 16 });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ maxLength: 1400 }),
        addr,
        addr,
        fc.nat({ max: 40 }),
        (type, code, rest, body, src, dst, off) => {
          const pseudo = pseudoHeaderSumIpv6(src, 0, dst, 0, IPPROTO_ICMPV6, 0);
          const buf = new Uint8Array(off + ICMPV6_HEADER_LEN + body.length + 3).fill(0x5a);
          const len = isIcmpv6Error(type)
            ? writeIcmpv6Error(buf, off, type, code, rest, body, 0, body.length, pseudo)
            : writeIcmpv6(buf, off, type, code, rest, body, 0, body.length, pseudo);
          const quoted = isIcmpv6Error(type) ? Math.min(body.length, ICMPV6_ERROR_MAX_QUOTE) : body.length;
          assert.equal(len, ICMPV6_HEADER_LEN + quoted);
          const icmp = new Icmpv6Message();
          assert.equal(decodeIcmpv6(buf, off, len, pseudo, icmp), 0);
          assert.deepEqual([icmp.type, icmp.code, icmp.restOfHeader], [type, code, rest]);
          assert.equal(toHex(buf, icmp.bodyOffset, icmp.bodyLength), toHex(body, 0, quoted));
          assert.equal(toHex(buf, off + len, 3), '5a5a5a');
          // The sum does not tell source from destination (as for IPv4), but it does see the addresses.
          assert.equal(
            decodeIcmpv6(buf, off, len, pseudoHeaderSumIpv6(dst, 0, src, 0, IPPROTO_ICMPV6, 0), icmp),
            0,
          );
        },
      ),
      { seed: 4443, numRuns: 500 },
    );
  });
});
