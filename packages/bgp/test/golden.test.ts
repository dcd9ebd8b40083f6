// Golden vectors: messages written byte by byte from the layouts of RFC 4271 §4, RFC 4760 §3–4,
// RFC 5492 §4, RFC 2918 §3 and RFC 9072 §2, decoded, and re-encoded to the same bytes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIpv6 } from '@nexthop/addr';
import {
  Action,
  AS_SEQUENCE,
  BgpDecoder,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  MSG_KEEPALIVE,
  MSG_NOTIFICATION,
  MSG_OPEN,
  MSG_ROUTE_REFRESH,
  makeAttributes,
  UpdateEncoder,
} from '../src/index.ts';
import { attr, BASE, hex, MARKER, msg, NLRI_192_0_2, toHex, update } from './util.ts';

const session = { as4: true, ebgp: true, peerAs: 65001 };

describe('golden messages', () => {
  it('KEEPALIVE is the 19-octet header alone (RFC 4271 §4.4)', () => {
    const k = encodeKeepalive();
    assert.equal(toHex(k), `${MARKER}001304`);
    const m = new BgpDecoder().decode(k, 0, k.length);
    assert.equal(m.type, MSG_KEEPALIVE);
    assert.equal(m.action, Action.OK);
  });

  it('NOTIFICATION: code, subcode, data (RFC 4271 §4.5)', () => {
    const n = encodeNotification(6, 2, hex('0568656c6c6f'));
    assert.equal(toHex(n), `${MARKER}001b0306020568656c6c6f`);
    const m = new BgpDecoder().decode(n, 0, n.length);
    assert.equal(m.type, MSG_NOTIFICATION);
    assert.deepEqual(m.received, { code: 6, subcode: 2, data: hex('0568656c6c6f') });
  });

  it('ROUTE-REFRESH: AFI, subtype, SAFI (RFC 2918 §3, RFC 7313 §3)', () => {
    const r = encodeRouteRefresh(2, 1, 1);
    assert.equal(toHex(r), `${MARKER}001705000201 01`.replace(' ', ''));
    const m = new BgpDecoder().decode(r, 0, r.length);
    assert.equal(m.type, MSG_ROUTE_REFRESH);
    assert.deepEqual(m.routeRefresh, { afi: 2, safi: 1, subtype: 1 });
  });

  it('OPEN with capabilities in separate parameters (RFC 4271 §4.2, RFC 5492 §4)', () => {
    // version 4, My AS 23456 (AS_TRANS), hold 180, id 192.0.2.1, then parameters:
    // MP IPv4 unicast, MP IPv6 unicast, route refresh, extended message, GR (R=1, 120 s,
    // IPv4 unicast F=1), four-octet AS 4200000001, and an unknown capability 73 with 2 octets.
    const body =
      '04 5ba0 00b4 c0000201 30' +
      '02 06 01 04 0001 00 01' +
      '02 06 01 04 0002 00 01' +
      '02 02 02 00' +
      '02 02 06 00' +
      '02 08 40 06 8078 0001 01 80' +
      '02 06 41 04 fa56ea01' +
      '02 04 49 02 abcd';
    const wire = msg(MSG_OPEN, body);
    const m = new BgpDecoder().decode(wire, 0, wire.length);
    assert.equal(m.action, Action.OK);
    const open = m.open!;
    assert.equal(open.myAs, 23456);
    assert.equal(open.holdTime, 180);
    assert.equal(open.bgpId, 0xc0000201);
    const c = open.capabilities;
    assert.deepEqual(c.multiprotocol, [
      { afi: 1, safi: 1 },
      { afi: 2, safi: 1 },
    ]);
    assert.equal(c.routeRefresh, true);
    assert.equal(c.extendedMessage, true);
    assert.equal(c.fourOctetAs, 4200000001);
    assert.deepEqual(c.gracefulRestart, {
      restartState: true,
      notification: false,
      time: 120,
      families: [{ afi: 1, safi: 1, forwardingState: true }],
    });
    assert.deepEqual(c.unknown, [{ code: 0x49, value: hex('abcd') }]);
    // Our encoder writes the same bytes for the same content.
    const again = encodeOpen({
      as: 4200000001,
      holdTime: 180,
      bgpId: 0xc0000201,
      capabilities: {
        multiprotocol: c.multiprotocol,
        routeRefresh: true,
        extendedMessage: true,
        gracefulRestart: c.gracefulRestart,
        unknown: c.unknown,
      },
    });
    assert.equal(toHex(again), toHex(wire));
  });

  it('OPEN with RFC 9072 extended optional parameters length', () => {
    // Non-Ext OP Len 255, Non-Ext OP Type 255, Extended Opt. Parm. Length, then parameters with
    // 2-octet lengths: 40 unknown capabilities of 6 octets make 1 + 2 + 40*8 octets … in one go.
    const caps = Array.from({ length: 40 }, (_, i) => ({ code: 200 + (i % 50), value: hex('010203040506') }));
    const wire = encodeOpen({ as: 65001, holdTime: 90, bgpId: 1, capabilities: { unknown: caps } });
    assert.equal(wire[19 + 9], 255);
    assert.equal(wire[19 + 10], 255);
    const m = new BgpDecoder().decode(wire, 0, wire.length);
    assert.equal(m.action, Action.OK);
    assert.equal(m.open!.capabilities.unknown.length, 40);
    assert.equal(m.open!.capabilities.fourOctetAs, 65001);
  });

  it('UPDATE with IPv4 NLRI (RFC 4271 §4.3)', () => {
    const attrs = `${BASE}${attr(0x80, 4, '00000064')}${attr(0xc0, 8, 'fde90001 ffffff01')}`;
    const wire = update('', attrs, `${NLRI_192_0_2}10c633 00`);
    const m = new BgpDecoder(session).decode(wire, 0, wire.length);
    assert.equal(m.action, Action.OK);
    assert.deepEqual(m.update.nlri.toStrings(), ['192.0.2.0/24', '198.51.0.0/16', '0.0.0.0/0']);
    const a = m.update.attrs!;
    assert.equal(a.origin, 0);
    assert.deepEqual(a.asPath, [{ type: AS_SEQUENCE, asns: [65001] }]);
    assert.equal(a.nextHop, 0x0a000001);
    assert.equal(a.med, 100);
    assert.deepEqual(a.communities, [0xfde90001, 0xffffff01]);
    // Re-encoded by the packer: the same bytes.
    const enc = new UpdateEncoder({ as4: true });
    enc.announce4(a, Uint32Array.of(0xc0000200, 0xc6330000, 0), Uint8Array.of(24, 16, 0), 0, 3);
    assert.equal(toHex(enc.take()), toHex(wire));
  });

  it('UPDATE with withdrawn routes only', () => {
    const wire = update('18c00002 20 0a000001', '', '');
    const m = new BgpDecoder(session).decode(wire, 0, wire.length);
    assert.equal(m.action, Action.OK);
    assert.deepEqual(m.update.withdrawn.toStrings(), ['192.0.2.0/24', '10.0.0.1/32']);
    assert.equal(m.update.attrs, undefined);
    const enc = new UpdateEncoder({ as4: true });
    enc.withdraw4(Uint32Array.of(0xc0000200, 0x0a000001), Uint8Array.of(24, 32), 0, 2);
    assert.equal(toHex(enc.take()), toHex(wire));
  });

  it('UPDATE with MP_REACH_NLRI for IPv6, global and link-local next hop (RFC 4760 §3, RFC 2545 §3)', () => {
    const mp = attr(
      0x90,
      14,
      '0002 01 20 20010db8000000000000000000000001 fe800000000000000000000000000001 00 30 20010db80001 40 20010db800020003',
    );
    const wire = update('', mp + attr(0x40, 1, '02') + attr(0x40, 2, '0201 0000fde9'), '');
    const m = new BgpDecoder(session).decode(wire, 0, wire.length);
    assert.equal(m.action, Action.OK);
    assert.equal(m.update.mpReachAfi, 2);
    assert.deepEqual(m.update.mpReach6.toStrings(), ['2001:db8:1::/48', '2001:db8:2:3::/64']);
    assert.equal(
      toHex(m.update.attrs!.mpNextHop!),
      '20010db8000000000000000000000001fe800000000000000000000000000001',
    );
    const enc = new UpdateEncoder({ as4: true });
    const bytes = new Uint8Array(32);
    bytes.set(parseIpv6('2001:db8:1::'), 0);
    bytes.set(parseIpv6('2001:db8:2:3::'), 16);
    enc.announce6(m.update.attrs!, bytes, Uint8Array.of(48, 64), 0, 2);
    assert.equal(toHex(enc.take()), toHex(wire));
  });

  it('UPDATE with MP_UNREACH_NLRI for IPv6 (RFC 4760 §4), and End-of-RIB markers (RFC 4724 §2)', () => {
    const wire = update('', attr(0x90, 15, '0002 01 30 20010db80001'), '');
    const d = new BgpDecoder(session);
    const m = d.decode(wire, 0, wire.length);
    assert.deepEqual(m.update.mpUnreach6.toStrings(), ['2001:db8:1::/48']);
    assert.equal(m.update.endOfRib(), 0);
    const enc = new UpdateEncoder({ as4: true });
    enc.withdraw6(parseIpv6('2001:db8:1::'), Uint8Array.of(48), 0, 1);
    assert.equal(toHex(enc.take()), toHex(wire));
    enc.endOfRib(1, 1);
    enc.endOfRib(2, 1);
    const eor = enc.take();
    assert.equal(toHex(eor), `${MARKER}00170200000000${MARKER}001d0200000006800f03000201`);
    assert.equal(d.decode(eor, 0, 23).update.endOfRib(), 0x101);
    assert.equal(d.decode(eor, 23, eor.length - 23).update.endOfRib(), 0x201);
  });

  it('UPDATE from an OLD speaker: AS_TRANS, AS4_PATH and AS4_AGGREGATOR (RFC 6793 §4.2.3)', () => {
    // AS_PATH 65001 23456 23456 64512, AS4_PATH 4200000001 4200000002 64512;
    // AGGREGATOR 23456 10.0.0.9, AS4_AGGREGATOR 4200000002 10.0.0.9.
    const attrs =
      attr(0x40, 1, '00') +
      attr(0x40, 2, '0204 fde9 5ba0 5ba0 fc00') +
      attr(0x40, 3, '0a000001') +
      attr(0xc0, 7, '5ba0 0a000009') +
      attr(0xc0, 17, '0203 fa56ea01 fa56ea02 0000fc00') +
      attr(0xc0, 18, 'fa56ea02 0a000009');
    const wire = update('', attrs, NLRI_192_0_2);
    const m = new BgpDecoder({ as4: false, ebgp: true, peerAs: 65001 }).decode(wire, 0, wire.length);
    assert.equal(m.action, Action.OK);
    const a = m.update.attrs!;
    assert.deepEqual(a.asPath, [{ type: AS_SEQUENCE, asns: [65001, 4200000001, 4200000002, 64512] }]);
    assert.deepEqual(a.aggregator, { asn: 4200000002, address: 0x0a000009 });
    // Re-encoded for an OLD peer, AS4_PATH holds the whole path (we are a NEW speaker and know
    // it, RFC 6793 §4.2.2), and decodes to the same set.
    const enc = new UpdateEncoder({ as4: false });
    enc.announce4(a, Uint32Array.of(0xc0000200), Uint8Array.of(24), 0, 1);
    const out = enc.take();
    assert.ok(toHex(out).includes(attr(0xc0, 17, '0204 0000fde9 fa56ea01 fa56ea02 0000fc00')));
    const back = new BgpDecoder({ as4: false, ebgp: true, peerAs: 65001 }).decode(out, 0, out.length);
    assert.deepEqual(back.update.attrs, a);
  });

  it('unknown optional transitive attributes are kept and passed on with Partial set', () => {
    const ext = attr(0xc0, 16, '0002fde900000064'); // an extended community, not interpreted here
    const wire = update('', BASE + ext, NLRI_192_0_2);
    const m = new BgpDecoder(session).decode(wire, 0, wire.length);
    assert.equal(m.action, Action.OK);
    assert.deepEqual(m.update.attrs!.unknown, [{ flags: 0xc0, type: 16, value: hex('0002fde900000064') }]);
    const enc = new UpdateEncoder({ as4: true });
    enc.announce4(m.update.attrs!, Uint32Array.of(0xc0000200), Uint8Array.of(24), 0, 1);
    assert.equal(
      toHex(enc.take()),
      toHex(update('', BASE + attr(0xe0, 16, '0002fde900000064'), NLRI_192_0_2)),
    );
  });

  it('a session over IPv4 can carry IPv4 NLRI with an IPv6 next hop (RFC 8950)', () => {
    const a = makeAttributes({
      origin: 0,
      asPath: [{ type: AS_SEQUENCE, asns: [65001] }],
      mpNextHop: parseIpv6('2001:db8::1'),
    });
    const enc = new UpdateEncoder({ as4: true });
    enc.announce4(a, Uint32Array.of(0xc0000200), Uint8Array.of(24), 0, 1);
    const wire = enc.take();
    const m = new BgpDecoder(session).decode(wire, 0, wire.length);
    assert.equal(m.action, Action.OK);
    assert.equal(m.update.mpReachAfi, 1);
    assert.deepEqual(m.update.mpReach4.toStrings(), ['192.0.2.0/24']);
    assert.deepEqual(m.update.attrs!.mpNextHop, parseIpv6('2001:db8::1'));
  });
});
