// RFC 7606 as a table: each malformation of each attribute, the action the RFC prescribes, the
// counted reason, and for session resets the NOTIFICATION (RFC 4271 §6.3 codes).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Action,
  ATTRIBUTE_DISCARD,
  actionName,
  BgpDecoder,
  BgpError,
  bgpErrorName,
  type SessionOptions,
} from '../src/index.ts';
import { AS_PATH_65001, attr, BASE, NEXT_HOP_10_0_0_1, NLRI_192_0_2, ORIGIN_IGP, update } from './util.ts';

const EBGP: SessionOptions = { as4: true, ebgp: true, peerAs: 65001 };
const IBGP: SessionOptions = { as4: true, ebgp: false, peerAs: 65001 };
const OLD: SessionOptions = { as4: false, ebgp: true, peerAs: 65001 };

interface Case {
  name: string;
  wire: Uint8Array;
  session?: SessionOptions;
  action: number;
  reason: number;
  /** For SESSION_RESET: [code, subcode]. */
  notify?: [number, number];
}

const W = Action.TREAT_AS_WITHDRAW;
const R = Action.SESSION_RESET;
const D = ATTRIBUTE_DISCARD; // here: action OK with the reason among the discarded
const E = BgpError;
const MP6 = attr(0x90, 14, '0002 01 10 20010db8000000000000000000000001 00 30 20010db80001');
const u = (attrs: string, nlri = NLRI_192_0_2) => update('', attrs, nlri);

const cases: Case[] = [
  // §7.1 ORIGIN
  {
    name: 'ORIGIN length 2',
    wire: u(attr(0x40, 1, '0000') + AS_PATH_65001 + NEXT_HOP_10_0_0_1),
    action: W,
    reason: E.ORIGIN_MALFORMED,
  },
  {
    name: 'ORIGIN value 3',
    wire: u(attr(0x40, 1, '03') + AS_PATH_65001 + NEXT_HOP_10_0_0_1),
    action: W,
    reason: E.ORIGIN_MALFORMED,
  },
  {
    name: 'ORIGIN flags optional',
    wire: u(attr(0xc0, 1, '00') + AS_PATH_65001 + NEXT_HOP_10_0_0_1),
    action: W,
    reason: E.UPDATE_ATTRIBUTE_FLAGS,
  },
  // §7.2 AS_PATH
  {
    name: 'AS_PATH segment overrun',
    wire: u(ORIGIN_IGP + attr(0x40, 2, '0202 0000fde9') + NEXT_HOP_10_0_0_1),
    action: W,
    reason: E.AS_PATH_MALFORMED,
  },
  {
    name: 'AS_PATH one octet left',
    wire: u(ORIGIN_IGP + attr(0x40, 2, '0201 0000fde9 02') + NEXT_HOP_10_0_0_1),
    action: W,
    reason: E.AS_PATH_MALFORMED,
  },
  {
    name: 'AS_PATH zero-length segment',
    wire: u(ORIGIN_IGP + attr(0x40, 2, '0201 0000fde9 0200') + NEXT_HOP_10_0_0_1),
    action: W,
    reason: E.AS_PATH_MALFORMED,
  },
  {
    name: 'AS_PATH unknown segment type',
    wire: u(ORIGIN_IGP + attr(0x40, 2, '0701 0000fde9') + NEXT_HOP_10_0_0_1),
    action: W,
    reason: E.AS_PATH_MALFORMED,
  },
  {
    name: 'AS_PATH with AS 0 (RFC 7607)',
    wire: u(ORIGIN_IGP + attr(0x40, 2, '0202 0000fde9 00000000') + NEXT_HOP_10_0_0_1),
    action: W,
    reason: E.AS_PATH_AS_ZERO,
  },
  {
    name: 'AS_PATH not starting with the eBGP peer',
    wire: u(ORIGIN_IGP + attr(0x40, 2, '0201 0000fdea') + NEXT_HOP_10_0_0_1),
    action: W,
    reason: E.AS_PATH_FIRST_AS,
  },
  {
    name: 'AS_PATH empty from an eBGP peer',
    wire: u(ORIGIN_IGP + attr(0x40, 2, '') + NEXT_HOP_10_0_0_1),
    action: W,
    reason: E.AS_PATH_FIRST_AS,
  },
  {
    name: 'AS_PATH empty from an iBGP peer is fine',
    wire: u(ORIGIN_IGP + attr(0x40, 2, '') + NEXT_HOP_10_0_0_1),
    session: IBGP,
    action: Action.OK,
    reason: E.NONE,
  },
  {
    name: 'AS_PATH flags partial',
    wire: u(ORIGIN_IGP + attr(0x60, 2, '0201 0000fde9') + NEXT_HOP_10_0_0_1),
    action: W,
    reason: E.UPDATE_ATTRIBUTE_FLAGS,
  },
  // NEXT_HOP
  {
    name: 'NEXT_HOP length 5',
    wire: u(ORIGIN_IGP + AS_PATH_65001 + attr(0x40, 3, '0a00000100')),
    action: W,
    reason: E.NEXT_HOP_MALFORMED,
  },
  {
    name: 'NEXT_HOP 0.0.0.0',
    wire: u(ORIGIN_IGP + AS_PATH_65001 + attr(0x40, 3, '00000000')),
    action: W,
    reason: E.NEXT_HOP_INVALID,
  },
  {
    name: 'NEXT_HOP multicast',
    wire: u(ORIGIN_IGP + AS_PATH_65001 + attr(0x40, 3, 'e0000001')),
    action: W,
    reason: E.NEXT_HOP_INVALID,
  },
  // MULTI_EXIT_DISC
  { name: 'MED length 3', wire: u(BASE + attr(0x80, 4, '000001')), action: W, reason: E.MED_MALFORMED },
  {
    name: 'MED flags transitive',
    wire: u(BASE + attr(0xc0, 4, '00000001')),
    action: W,
    reason: E.UPDATE_ATTRIBUTE_FLAGS,
  },
  // LOCAL_PREF
  {
    name: 'LOCAL_PREF length 2 (iBGP)',
    wire: u(BASE + attr(0x40, 5, '0064')),
    session: IBGP,
    action: W,
    reason: E.LOCAL_PREF_MALFORMED,
  },
  {
    name: 'LOCAL_PREF from an eBGP peer',
    wire: u(BASE + attr(0x40, 5, '00000064')),
    action: D,
    reason: E.LOCAL_PREF_FROM_EBGP,
  },
  // ATOMIC_AGGREGATE
  {
    name: 'ATOMIC_AGGREGATE length 1',
    wire: u(BASE + attr(0x40, 6, '00')),
    action: D,
    reason: E.ATOMIC_AGGREGATE_MALFORMED,
  },
  {
    name: 'ATOMIC_AGGREGATE flags optional',
    wire: u(BASE + attr(0xc0, 6, '')),
    action: D,
    reason: E.UPDATE_ATTRIBUTE_FLAGS,
  },
  // AGGREGATOR
  {
    name: 'AGGREGATOR length 6 on a 4-octet session',
    wire: u(BASE + attr(0xc0, 7, 'fde9 0a000001')),
    action: D,
    reason: E.AGGREGATOR_MALFORMED,
  },
  {
    name: 'AGGREGATOR length 8 on a 2-octet session',
    wire: u(ORIGIN_IGP + attr(0x40, 2, '0201 fde9') + NEXT_HOP_10_0_0_1 + attr(0xc0, 7, '0000fde9 0a000001')),
    session: OLD,
    action: D,
    reason: E.AGGREGATOR_MALFORMED,
  },
  {
    name: 'AGGREGATOR AS 0 (RFC 7607)',
    wire: u(BASE + attr(0xc0, 7, '00000000 0a000001')),
    action: D,
    reason: E.AGGREGATOR_MALFORMED,
  },
  // COMMUNITIES
  {
    name: 'COMMUNITIES length 0',
    wire: u(BASE + attr(0xc0, 8, '')),
    action: W,
    reason: E.COMMUNITIES_MALFORMED,
  },
  {
    name: 'COMMUNITIES length 6',
    wire: u(BASE + attr(0xc0, 8, 'fde90001 0000')),
    action: W,
    reason: E.COMMUNITIES_MALFORMED,
  },
  // ORIGINATOR_ID, CLUSTER_LIST (RFC 4456)
  {
    name: 'ORIGINATOR_ID length 3',
    wire: u(BASE + attr(0x80, 9, '0a0000')),
    session: IBGP,
    action: W,
    reason: E.ORIGINATOR_ID_MALFORMED,
  },
  {
    name: 'CLUSTER_LIST length 0',
    wire: u(BASE + attr(0x80, 10, '')),
    session: IBGP,
    action: W,
    reason: E.CLUSTER_LIST_MALFORMED,
  },
  {
    name: 'CLUSTER_LIST length 5',
    wire: u(BASE + attr(0x80, 10, '0a00000101')),
    session: IBGP,
    action: W,
    reason: E.CLUSTER_LIST_MALFORMED,
  },
  // MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760 §7, RFC 7606 §5.3 and §7): session reset
  {
    name: 'MP_REACH next-hop length 5 for IPv6',
    wire: u(attr(0x90, 14, '0002 01 05 2001 0db800 00 30 20010db80001') + ORIGIN_IGP + AS_PATH_65001, ''),
    action: R,
    reason: E.MP_REACH_MALFORMED,
    notify: [3, 9],
  },
  {
    name: 'MP_REACH next hop past the end',
    wire: u(attr(0x90, 14, '0002 01 20 20010db8') + ORIGIN_IGP + AS_PATH_65001, ''),
    action: R,
    reason: E.MP_REACH_MALFORMED,
    notify: [3, 9],
  },
  {
    name: 'MP_REACH NLRI prefix length 129',
    wire: u(
      attr(0x90, 14, '0002 01 10 20010db8000000000000000000000001 00 81 20010db80001') +
        ORIGIN_IGP +
        AS_PATH_65001,
      '',
    ),
    action: R,
    reason: E.MP_REACH_MALFORMED,
    notify: [3, 9],
  },
  {
    name: 'MP_REACH shorter than 5',
    wire: u(attr(0x90, 14, '000201') + ORIGIN_IGP + AS_PATH_65001, ''),
    action: R,
    reason: E.MP_REACH_MALFORMED,
    notify: [3, 9],
  },
  {
    name: 'MP_REACH flags transitive',
    wire: u(
      attr(0xd0, 14, '0002 01 10 20010db8000000000000000000000001 00 30 20010db80001') +
        ORIGIN_IGP +
        AS_PATH_65001,
      '',
    ),
    action: R,
    reason: E.MP_REACH_MALFORMED,
    notify: [3, 4],
  },
  {
    name: 'MP_UNREACH NLRI overrun',
    wire: u(attr(0x90, 15, '0002 01 30 20010d'), ''),
    action: R,
    reason: E.MP_UNREACH_MALFORMED,
    notify: [3, 9],
  },
  {
    name: 'MP_REACH twice',
    wire: u(MP6 + MP6 + ORIGIN_IGP + AS_PATH_65001, ''),
    action: R,
    reason: E.UPDATE_DUPLICATE_MP,
    notify: [3, 1],
  },
  {
    name: 'MP_REACH without ORIGIN',
    wire: u(MP6 + AS_PATH_65001, ''),
    action: W,
    reason: E.UPDATE_MISSING_WELL_KNOWN,
  },
  {
    name: 'MP_REACH for an unknown family is skipped',
    wire: u(attr(0x90, 14, '0019 46 04 0a000001 00 0102') + ORIGIN_IGP + AS_PATH_65001, ''),
    action: Action.OK,
    reason: E.NONE,
  },
  // AS4_PATH / AS4_AGGREGATOR (RFC 6793 §6): attribute discard
  {
    name: 'AS4_PATH malformed',
    wire: u(ORIGIN_IGP + attr(0x40, 2, '0201 fde9') + NEXT_HOP_10_0_0_1 + attr(0xc0, 17, '0202 fa56ea01')),
    session: OLD,
    action: D,
    reason: E.AS4_PATH_MALFORMED,
  },
  {
    name: 'AS4_AGGREGATOR length 6',
    wire: u(ORIGIN_IGP + attr(0x40, 2, '0201 fde9') + NEXT_HOP_10_0_0_1 + attr(0xc0, 18, 'fde9 0a000001')),
    session: OLD,
    action: D,
    reason: E.AS4_AGGREGATOR_MALFORMED,
  },
  {
    name: 'AS4_PATH from a NEW speaker',
    wire: u(BASE + attr(0xc0, 17, '0201 fa56ea01')),
    action: D,
    reason: E.AS4_FROM_NEW_SPEAKER,
  },
  // LARGE_COMMUNITIES (RFC 8092 §6)
  {
    name: 'LARGE_COMMUNITIES length 8',
    wire: u(BASE + attr(0xc0, 32, '0000fde9 00000001')),
    action: W,
    reason: E.LARGE_COMMUNITIES_MALFORMED,
  },
  // §3: missing well-known, duplicates, unknown attributes
  {
    name: 'ORIGIN missing',
    wire: u(AS_PATH_65001 + NEXT_HOP_10_0_0_1),
    action: W,
    reason: E.UPDATE_MISSING_WELL_KNOWN,
  },
  {
    name: 'NEXT_HOP missing with IPv4 NLRI',
    wire: u(ORIGIN_IGP + AS_PATH_65001),
    action: W,
    reason: E.UPDATE_MISSING_WELL_KNOWN,
  },
  { name: 'no attributes with NLRI', wire: u(''), action: W, reason: E.UPDATE_MISSING_WELL_KNOWN },
  { name: 'attributes without NLRI are harmless', wire: u(BASE, ''), action: Action.OK, reason: E.NONE },
  {
    name: 'ORIGIN twice: the second is discarded',
    wire: u(BASE + attr(0x40, 1, '02')),
    action: D,
    reason: E.UPDATE_DUPLICATE_ATTRIBUTE,
  },
  {
    name: 'unknown well-known attribute',
    wire: u(BASE + attr(0x40, 99, '00')),
    action: R,
    reason: E.UPDATE_UNRECOGNIZED_WELL_KNOWN,
    notify: [3, 2],
  },
  {
    name: 'unknown optional non-transitive is dropped',
    wire: u(BASE + attr(0x80, 99, '00')),
    action: D,
    reason: E.UPDATE_UNKNOWN_NON_TRANSITIVE,
  },
  // §4: attribute framing
  {
    name: 'attribute length past the attributes',
    wire: u(BASE + attr(0xc0, 8, 'fde90001').replace(/04fde90001$/, '09fde90001')),
    action: W,
    reason: E.UPDATE_ATTRIBUTE_OVERRUN,
  },
  { name: 'two octets left over', wire: u(`${BASE}c008`), action: W, reason: E.UPDATE_ATTRIBUTE_OVERRUN },
  {
    name: 'first attribute overrun, may be MP_REACH',
    wire: u('900e00ff0002'),
    action: R,
    reason: E.UPDATE_ATTRIBUTE_OVERRUN,
    notify: [3, 1],
  },
  // RFC 4271 §6.3 and RFC 7606 §5.3: lengths and NLRI
  {
    name: 'withdrawn length past the message',
    wire: update('', '', '').map((b, i) => (i === 20 ? 9 : b)),
    action: R,
    reason: E.UPDATE_BAD_LENGTHS,
    notify: [3, 1],
  },
  {
    name: 'NLRI prefix length 33',
    wire: u(BASE, '210a000001 00'),
    action: R,
    reason: E.UPDATE_BAD_NLRI,
    notify: [3, 10],
  },
  {
    name: 'NLRI prefix past the end',
    wire: u(BASE, '18c000'),
    action: R,
    reason: E.UPDATE_BAD_NLRI,
    notify: [3, 10],
  },
  {
    name: 'withdrawn prefix length 40',
    wire: update('28c0000201', '', ''),
    action: R,
    reason: E.UPDATE_BAD_WITHDRAWN,
    notify: [3, 10],
  },
];

describe('RFC 7606 error handling, attribute by attribute', () => {
  for (const c of cases) {
    const expect = c.action === D ? 'attribute-discard' : actionName(c.action);
    it(`${c.name} → ${expect} (${bgpErrorName(c.reason)})`, () => {
      const d = new BgpDecoder(c.session ?? EBGP);
      const m = d.decode(c.wire, 0, c.wire.length);
      if (c.action === D) {
        assert.equal(m.action, Action.OK, bgpErrorName(m.reason));
        assert.ok(m.discarded.includes(c.reason), `discarded: ${m.discarded.map(bgpErrorName)}`);
        assert.equal(d.counters.byReason[c.reason], 1);
      } else {
        assert.equal(actionName(m.action), actionName(c.action), `reason ${bgpErrorName(m.reason)}`);
        assert.equal(bgpErrorName(m.reason), bgpErrorName(c.reason));
        if (c.reason !== E.NONE) assert.ok(d.counters.byReason[c.reason]! >= 1);
      }
      if (c.notify) {
        assert.deepEqual([m.notification!.code, m.notification!.subcode], c.notify);
      } else {
        assert.equal(m.notification, undefined);
      }
      // Decoding the same bytes again gives the same answer (the attribute cache must not hide it).
      const again = d.decode(c.wire, 0, c.wire.length);
      assert.equal(again.action, m.action);
      assert.equal(again.reason, m.reason);
    });
  }

  it('treat-as-withdraw keeps the prefixes, so the engine can withdraw them', () => {
    const wire = update('', attr(0x40, 1, '07') + AS_PATH_65001 + NEXT_HOP_10_0_0_1, `${NLRI_192_0_2}08 0a`);
    const m = new BgpDecoder(EBGP).decode(wire, 0, wire.length);
    assert.equal(m.action, Action.TREAT_AS_WITHDRAW);
    assert.deepEqual(m.update.nlri.toStrings(), ['192.0.2.0/24', '10.0.0.0/8']);
  });

  it('the attribute NOTIFICATION data is the attribute itself (RFC 4271 §6.3)', () => {
    const bad = attr(0x40, 99, 'abcd');
    const wire = u(BASE + bad);
    const m = new BgpDecoder(EBGP).decode(wire, 0, wire.length);
    assert.equal(Buffer.from(m.notification!.data).toString('hex'), bad);
  });

  it('header errors: marker, length, type (RFC 4271 §6.1)', () => {
    const d = new BgpDecoder(EBGP);
    const k = u(BASE);
    const badMarker = k.slice();
    badMarker[3] = 0;
    assert.deepEqual(
      [d.decode(badMarker, 0, k.length).notification!.code, d.message.notification!.subcode],
      [1, 1],
    );
    const badType = k.slice();
    badType[18] = 9;
    const t = d.decode(badType, 0, k.length);
    assert.deepEqual([t.notification!.code, t.notification!.subcode, [...t.notification!.data]], [1, 3, [9]]);
    const long = k.slice();
    long[16] = 0x10;
    long[17] = 0x01; // 4097 without extended messages
    const l = d.decode(long, 0, k.length);
    assert.deepEqual(
      [l.notification!.code, l.notification!.subcode, [...l.notification!.data]],
      [1, 2, [0x10, 0x01]],
    );
    const ka = Uint8Array.of(...k.subarray(0, 16), 0, 20, 4, 0);
    assert.equal(d.decode(ka, 0, 20).notification!.subcode, 2);
  });

  it('OPEN errors: version, hold time, identifier, parameters (RFC 4271 §6.2)', () => {
    const open = (body: string) => {
      const b = Buffer.from(body.replace(/ /g, ''), 'hex');
      const w = new Uint8Array(19 + b.length);
      w.fill(0xff, 0, 16);
      w[16] = w.length >> 8;
      w[17] = w.length & 255;
      w[18] = 1;
      w.set(b, 19);
      return new BgpDecoder().decode(w, 0, w.length);
    };
    const n = (m: ReturnType<typeof open>) => [m.notification?.code, m.notification?.subcode];
    assert.deepEqual(n(open('03 fde9 00b4 c0000201 00')), [2, 1]);
    assert.deepEqual([...open('03 fde9 00b4 c0000201 00').notification!.data], [0, 4]);
    assert.deepEqual(n(open('04 fde9 0002 c0000201 00')), [2, 6]);
    assert.deepEqual(n(open('04 fde9 00b4 00000000 00')), [2, 3]);
    assert.deepEqual(n(open('04 0000 00b4 c0000201 00')), [2, 2]);
    assert.deepEqual(n(open('04 fde9 00b4 c0000201 04 01 02 0000')), [2, 4]);
    assert.deepEqual(n(open('04 fde9 00b4 c0000201 05 02 03 0104 00')), [2, 0]);
    assert.deepEqual(n(open('04 fde9 00b4 c0000201 06 02 04 0103 000100')), [2, 0]);
    assert.deepEqual(n(open('04 fde9 00b4 c0000201 00')), [undefined, undefined]);
  });

  it('ROUTE-REFRESH: bad length resets (RFC 7313 §5), unknown subtype is ignored', () => {
    const d = new BgpDecoder(EBGP);
    const rr = Uint8Array.of(...new Uint8Array(16).fill(255), 0, 24, 5, 0, 1, 0, 1, 0);
    const m = d.decode(rr, 0, rr.length);
    assert.deepEqual([m.notification!.code, m.notification!.subcode], [7, 1]);
    assert.equal(m.notification!.data.length, 24);
    const odd = Uint8Array.of(...new Uint8Array(16).fill(255), 0, 23, 5, 0, 1, 9, 1);
    assert.equal(d.decode(odd, 0, odd.length).action, Action.IGNORE);
  });
});
