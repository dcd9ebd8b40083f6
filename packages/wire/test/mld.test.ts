import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ALL_MLDV2_ROUTERS,
  Drop,
  decodeIcmpv6,
  decodeIpv6,
  decodeIpv6Extensions,
  decodeMld,
  ETHERTYPE_IPV6,
  ICMPV6_MLD_QUERY,
  ICMPV6_MLDV1_DONE,
  ICMPV6_MLDV1_REPORT,
  ICMPV6_MLDV2_REPORT,
  Icmpv6Message,
  IPPROTO_HOPOPTS,
  IPPROTO_ICMPV6,
  Ipv6Extensions,
  Ipv6Header,
  MLD_CHANGE_TO_EXCLUDE,
  MLD_CHANGE_TO_INCLUDE,
  MLD_HOP_BY_HOP_LEN,
  MLD_MODE_IS_EXCLUDE,
  MldMessage,
  MldRecordCursor,
  mldMaxResponseDelay,
  mldQueryInterval,
  pseudoHeaderSumIpv6,
  ROUTER_ALERT_MLD,
  setIcmpv6Checksum,
  writeEthernet,
  writeIpv6Header,
  writeMldHopByHop,
  writeMldv2Query,
  writeMldv2Report,
} from '../src/index.ts';
import { hex, toHex } from './golden.ts';
import {
  ALL_NODES,
  IP6_A,
  IP6_AT,
  LL_A,
  MAC_A6,
  MLD_QUERY,
  MLD_REPORT,
  MLD_REPORT_CURRENT,
  MLD_REPORT_UNSPECIFIED,
} from './golden-ipv6.ts';

const SN_1 = hex('ff0200000000000000000001ff000001'); // solicited-node group of 2001:db8:1::1
const SN_A = hex('ff0200000000000000000001ff00000a'); // … of fe80::ff:fe00:a
const UNSPECIFIED = new Uint8Array(16);
const MLD_MAC = hex('333300000016');

/** Ethernet → IPv6 → extension headers (Router Alert) → ICMPv6 → MLD, as the stack will. */
function decodeFrame(frame: Uint8Array): { r: number; mld: MldMessage } {
  const ip = new Ipv6Header();
  assert.equal(decodeIpv6(frame, IP6_AT, frame.length - IP6_AT, ip), 0);
  const ext = new Ipv6Extensions();
  assert.equal(decodeIpv6Extensions(frame, IP6_AT, ip.totalLength, ext), 0);
  const icmp = new Icmpv6Message();
  const pseudo = pseudoHeaderSumIpv6(frame, ip.srcOffset, frame, ip.dstOffset, IPPROTO_ICMPV6, 0);
  assert.equal(decodeIcmpv6(frame, ext.payloadOffset, ext.payloadLength, pseudo, icmp), 0);
  const mld = new MldMessage();
  return { r: decodeMld(frame, ext.payloadOffset, ext.payloadLength, ip, ext.routerAlert, mld), mld };
}

function records(buf: Uint8Array, msg: MldMessage): [number, string, number][] {
  const cur = new MldRecordCursor();
  cur.begin(buf, msg);
  const list: [number, string, number][] = [];
  while (cur.next()) list.push([cur.type, toHex(buf, cur.groupOffset, 16), cur.sourceCount]);
  return list;
}

describe('decodeMld on captured messages (RFC 3810 §5)', () => {
  it('decodes the bridge’s general query', () => {
    const { r, mld } = decodeFrame(MLD_QUERY);
    assert.equal(r, 0);
    assert.equal(mld.type, ICMPV6_MLD_QUERY);
    assert.equal(mld.version, 2);
    assert.equal(mld.maxResponseDelay, 1000);
    assert.equal(toHex(MLD_QUERY, mld.groupOffset, 16), '0'.repeat(32));
    assert.deepEqual(
      [mld.suppressRouterProcessing, mld.robustness, mld.queryInterval, mld.sourceCount],
      [false, 2, 10, 0],
    );
  });

  it('decodes A’s reports: the join (CHANGE_TO_EXCLUDE) and the answer (MODE_IS_EXCLUDE)', () => {
    for (const [frame, type] of [
      [MLD_REPORT, MLD_CHANGE_TO_EXCLUDE],
      [MLD_REPORT_CURRENT, MLD_MODE_IS_EXCLUDE],
    ] as const) {
      const { r, mld } = decodeFrame(frame);
      assert.equal(r, 0);
      assert.equal(mld.type, ICMPV6_MLDV2_REPORT);
      assert.equal(mld.version, 2);
      assert.equal(mld.unspecifiedSource, false);
      assert.equal(mld.recordCount, 2);
      assert.deepEqual(records(frame, mld), [
        [type, toHex(SN_1), 0],
        [type, toHex(SN_A), 0],
      ]);
    }
  });

  it('accepts a report from :: sent before the link-local address is ready (RFC 3590 §4)', () => {
    const { r, mld } = decodeFrame(MLD_REPORT_UNSPECIFIED);
    assert.equal(r, 0);
    assert.equal(mld.unspecifiedSource, true);
    assert.deepEqual(records(MLD_REPORT_UNSPECIFIED, mld), [[MLD_CHANGE_TO_EXCLUDE, toHex(SN_A), 0]]);
  });
});

describe('MLD writers reproduce the captures byte for byte', () => {
  const reproduce = (frame: Uint8Array, src: Uint8Array, type: number, groups: Uint8Array[]) => {
    const buf = new Uint8Array(frame.length);
    writeEthernet(buf, 0, MLD_MAC, 0, MAC_A6, 0, ETHERTYPE_IPV6);
    const flat = new Uint8Array(16 * groups.length);
    for (let i = 0; i < groups.length; i++) flat.set(groups[i]!, 16 * i);
    const len = writeMldv2Report(buf, IP6_AT, src, 0, type, flat, 0, groups.length);
    assert.equal(len, frame.length - IP6_AT);
    assert.equal(toHex(buf), toHex(frame));
  };

  it('the join, the answer to a query, and the report from ::', () => {
    reproduce(MLD_REPORT, LL_A, MLD_CHANGE_TO_EXCLUDE, [SN_1, SN_A]);
    reproduce(MLD_REPORT_CURRENT, LL_A, MLD_MODE_IS_EXCLUDE, [SN_1, SN_A]);
    reproduce(MLD_REPORT_UNSPECIFIED, UNSPECIFIED, MLD_CHANGE_TO_EXCLUDE, [SN_A]);
  });

  it('the bridge’s query (whose Hop-by-Hop header pads with two Pad1)', () => {
    const buf = new Uint8Array(MLD_QUERY.length);
    writeEthernet(buf, 0, hex('333300000001'), 0, hex('020000000005'), 0, ETHERTYPE_IPV6);
    const src = MLD_QUERY.subarray(IP6_AT + 8, IP6_AT + 24);
    writeIpv6Header(buf, IP6_AT, 0, 0, 8 + 28, IPPROTO_HOPOPTS, 1, src, 0, ALL_NODES, 0);
    writeMldHopByHop(buf, IP6_AT + 40);
    buf[IP6_AT + 46] = 0; // Pad1, Pad1 instead of PadN
    const icmp = IP6_AT + 48;
    assert.equal(writeMldv2Query(buf, icmp, 1000, UNSPECIFIED, 0, false, 2, 10), 28);
    setIcmpv6Checksum(buf, icmp, 28, pseudoHeaderSumIpv6(src, 0, ALL_NODES, 0, IPPROTO_ICMPV6, 0));
    assert.equal(toHex(buf), toHex(MLD_QUERY));
  });

  it('writes the Router Alert header Linux sends (RFC 2711)', () => {
    const b = new Uint8Array(8);
    assert.equal(writeMldHopByHop(b, 0), MLD_HOP_BY_HOP_LEN);
    assert.equal(toHex(b), toHex(MLD_REPORT, IP6_AT + 40, 8));
    assert.equal(toHex(ALL_MLDV2_ROUTERS), 'ff020000000000000000000000000016');
  });
});

/** An MLD message in a packet: IPv6 + Router Alert header + `icmp` bytes, checksummed. */
function mldPacket(
  icmp: number[] | Uint8Array,
  src: Uint8Array = LL_A,
  hopLimit = 1,
  dst: Uint8Array = ALL_MLDV2_ROUTERS,
): Uint8Array {
  const buf = new Uint8Array(48 + icmp.length);
  writeIpv6Header(buf, 0, 0, 0, 8 + icmp.length, IPPROTO_HOPOPTS, hopLimit, src, 0, dst, 0);
  writeMldHopByHop(buf, 40);
  buf.set(icmp, 48);
  setIcmpv6Checksum(buf, 48, icmp.length, pseudoHeaderSumIpv6(src, 0, dst, 0, IPPROTO_ICMPV6, 0));
  return buf;
}

function decodePacket(p: Uint8Array, routerAlert = ROUTER_ALERT_MLD, out = new MldMessage()): number {
  const ip = new Ipv6Header();
  assert.equal(decodeIpv6(p, 0, p.length, ip), 0);
  return decodeMld(p, 48, p.length - 48, ip, routerAlert, out);
}

describe('decodeMld: versions (RFC 3810 §8.1, RFC 2710 §3)', () => {
  it('decodes MLDv1 query, report and done (24 bytes)', () => {
    const group = [...SN_1];
    for (const [type, delay] of [
      [ICMPV6_MLD_QUERY, 10000],
      [ICMPV6_MLDV1_REPORT, 0],
      [ICMPV6_MLDV1_DONE, 0],
    ] as const) {
      const out = new MldMessage();
      assert.equal(
        decodePacket(
          mldPacket([type, 0, 0, 0, delay >>> 8, delay & 255, 0, 0, ...group]),
          ROUTER_ALERT_MLD,
          out,
        ),
        0,
      );
      assert.equal(out.version, 1);
      assert.equal(out.type, type);
      assert.equal(out.maxResponseDelay, delay);
      assert.equal(toHex(mldPacket([type, 0, 0, 0, 0, 0, 0, 0, ...group]), out.groupOffset, 16), toHex(SN_1));
    }
  });

  it('ignores queries of 25 to 27 bytes, neither version', () => {
    for (const len of [25, 26, 27]) {
      const q = new Array(len).fill(0);
      q[0] = ICMPV6_MLD_QUERY;
      assert.equal(decodePacket(mldPacket(q)), Drop.MLD_TRUNCATED, `${len}`);
    }
  });

  it('reads the sources of a group-and-source-specific query', () => {
    const q = new Uint8Array(28 + 32);
    writeMldv2Query(q, 0, 0x8000, SN_1, 0, true, 7, 0x80);
    q[27] = 2;
    q.set(IP6_A, 28);
    q.set(LL_A, 44);
    const out = new MldMessage();
    const p = mldPacket(q);
    assert.equal(decodePacket(p, ROUTER_ALERT_MLD, out), 0);
    assert.deepEqual([out.sourceCount, out.suppressRouterProcessing, out.robustness], [2, true, 7]);
    assert.equal(out.maxResponseDelay, 32768);
    assert.equal(out.queryInterval, 128);
    assert.equal(toHex(p, out.sourcesOffset + 16, 16), toHex(LL_A));
    // One source too many for the bytes there.
    p[48 + 27] = 3;
    assert.equal(decodePacket(p), Drop.MLD_TRUNCATED);
  });

  it('decodes the floating-point codes of §5.1.3 and §5.1.9', () => {
    assert.equal(mldMaxResponseDelay(0), 0);
    assert.equal(mldMaxResponseDelay(32767), 32767);
    assert.equal(mldMaxResponseDelay(0x8000), 0x1000 << 3);
    assert.equal(mldMaxResponseDelay(0xffff), 0x1fff * 1024);
    assert.equal(mldMaxResponseDelay(0x9234), (0x234 | 0x1000) << 4);
    assert.equal(mldQueryInterval(125), 125);
    assert.equal(mldQueryInterval(127), 127);
    assert.equal(mldQueryInterval(0x80), 128);
    assert.equal(mldQueryInterval(0xff), 0x1f << 10);
  });
});

describe('decodeMld drops (RFC 3810 §5, §5.1.14, §5.2.13)', () => {
  const report = () => {
    const b = new Uint8Array(28);
    b[0] = ICMPV6_MLDV2_REPORT;
    b[7] = 1;
    b[8] = MLD_CHANGE_TO_EXCLUDE;
    b.set(SN_1, 12);
    return b;
  };
  const query = () => {
    const b = new Uint8Array(28);
    writeMldv2Query(b, 0, 1000, UNSPECIFIED, 0, false, 2, 125);
    return b;
  };

  it('accepts the well-formed ones', () => {
    assert.equal(decodePacket(mldPacket(report())), 0);
    assert.equal(decodePacket(mldPacket(query(), LL_A, 1, ALL_NODES)), 0);
  });

  it('drops a hop limit other than 1 as MLD_BAD_HOP_LIMIT', () => {
    for (const h of [0, 2, 64, 255])
      assert.equal(decodePacket(mldPacket(report(), LL_A, h)), Drop.MLD_BAD_HOP_LIMIT);
  });

  it('drops messages without a Router Alert of value 0 as MLD_NO_ROUTER_ALERT', () => {
    assert.equal(decodePacket(mldPacket(report()), -1), Drop.MLD_NO_ROUTER_ALERT);
    assert.equal(decodePacket(mldPacket(report()), 1), Drop.MLD_NO_ROUTER_ALERT);
  });

  it('drops a source that is not link-local as MLD_BAD_SOURCE; :: only for reports', () => {
    assert.equal(decodePacket(mldPacket(report(), IP6_A)), Drop.MLD_BAD_SOURCE);
    assert.equal(decodePacket(mldPacket(query(), IP6_A)), Drop.MLD_BAD_SOURCE);
    assert.equal(decodePacket(mldPacket(query(), UNSPECIFIED)), Drop.MLD_BAD_SOURCE);
    assert.equal(decodePacket(mldPacket(report(), UNSPECIFIED)), 0);
  });

  it('drops records that do not fit as MLD_TRUNCATED', () => {
    const r = report();
    r[7] = 2; // two records announced, one there
    assert.equal(decodePacket(mldPacket(r)), Drop.MLD_TRUNCATED);
    const s = report();
    s[11] = 1; // one source announced, none there
    assert.equal(decodePacket(mldPacket(s)), Drop.MLD_TRUNCATED);
    const a = report();
    a[9] = 1; // four bytes of aux data announced, none there
    assert.equal(decodePacket(mldPacket(a)), Drop.MLD_TRUNCATED);
    assert.equal(decodePacket(mldPacket(report().subarray(0, 7))), Drop.MLD_TRUNCATED);
    assert.equal(decodePacket(mldPacket([ICMPV6_MLDV1_REPORT, 0, 0, 0, 0, 0, 0, 0])), Drop.MLD_TRUNCATED);
  });

  it('drops other ICMPv6 types as MLD_UNKNOWN_TYPE', () => {
    for (const t of [128, 133, 142, 144]) {
      const r = report();
      r[0] = t;
      assert.equal(decodePacket(mldPacket(r)), Drop.MLD_UNKNOWN_TYPE);
    }
  });
});

describe('MLDv2 report round trip (property)', () => {
  it('writeMldv2Report’s groups come back from the cursor, the checksum verifies', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 16, maxLength: 16 }), { maxLength: 40 }),
        fc.constantFrom(MLD_MODE_IS_EXCLUDE, MLD_CHANGE_TO_EXCLUDE, MLD_CHANGE_TO_INCLUDE),
        fc.boolean(),
        fc.integer({ min: 0, max: 0xfffff }),
        (groups, type, unspecified, flow) => {
          const flat = new Uint8Array(16 * groups.length);
          for (let i = 0; i < groups.length; i++) flat.set(groups[i]!, 16 * i);
          const buf = new Uint8Array(1500);
          const src = unspecified ? UNSPECIFIED : LL_A;
          const len = writeMldv2Report(buf, 0, src, 0, type, flat, 0, groups.length, flow);
          assert.equal(len, 40 + 8 + 8 + 20 * groups.length);
          const p = buf.subarray(0, len);
          const ip = new Ipv6Header();
          assert.equal(decodeIpv6(p, 0, len, ip), 0);
          assert.deepEqual(
            [ip.hopLimit, ip.flowLabel, toHex(p, ip.dstOffset, 16)],
            [1, flow, toHex(ALL_MLDV2_ROUTERS)],
          );
          const ext = new Ipv6Extensions();
          assert.equal(decodeIpv6Extensions(p, 0, len, ext), 0);
          assert.equal(ext.routerAlert, ROUTER_ALERT_MLD);
          const icmp = new Icmpv6Message();
          const pseudo = pseudoHeaderSumIpv6(p, 8, p, 24, IPPROTO_ICMPV6, 0);
          assert.equal(decodeIcmpv6(p, ext.payloadOffset, ext.payloadLength, pseudo, icmp), 0);
          const mld = new MldMessage();
          assert.equal(decodeMld(p, ext.payloadOffset, ext.payloadLength, ip, ext.routerAlert, mld), 0);
          assert.equal(mld.unspecifiedSource, unspecified);
          assert.deepEqual(
            records(p, mld),
            groups.map((g) => [type, toHex(g), 0]),
          );
        },
      ),
      { seed: 3810, numRuns: 300 },
    );
  });
});
