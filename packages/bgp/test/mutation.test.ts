// 10^5 mutated messages (byte flips, truncations, extensions, length-field edits of valid ones,
// BIRD's captures among them): the decoder never throws, never loops, always classifies, and
// every problem is counted by reason. Fixed seed.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseIpv6 } from '@nexthop/addr';
import fc from 'fast-check';
import {
  Action,
  AS_SEQUENCE,
  AS_SET,
  AttributeTable,
  BGP_ERROR_COUNT,
  BgpDecoder,
  BgpError,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  makeAttributes,
  type SessionOptions,
  UpdateEncoder,
} from '../src/index.ts';
import { hex } from './util.ts';

function corpus(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const f of ['bird-as4.hex', 'bird-as2.hex']) {
    for (const l of readFileSync(join(import.meta.dirname, 'fixtures', f), 'utf8').split('\n')) {
      if (l) out.push(hex(l));
    }
  }
  out.push(encodeKeepalive(), encodeNotification(6, 2, hex('0461626364')), encodeRouteRefresh(1, 1));
  out.push(
    encodeOpen({
      as: 4200000001,
      holdTime: 90,
      bgpId: 1,
      capabilities: {
        multiprotocol: [{ afi: 2, safi: 1 }],
        routeRefresh: true,
        gracefulRestart: {
          restartState: true,
          notification: true,
          time: 90,
          families: [{ afi: 1, safi: 1, forwardingState: true }],
        },
        extendedNextHop: [{ afi: 1, safi: 1, nextHopAfi: 2 }],
      },
    }),
  );
  const a = makeAttributes({
    origin: 1,
    asPath: [
      { type: AS_SEQUENCE, asns: [65001, 4200000001] },
      { type: AS_SET, asns: [1, 2, 70000] },
    ],
    nextHop: 0x0a000001,
    med: 1,
    localPref: 100,
    atomicAggregate: true,
    aggregator: { asn: 4200000001, address: 5 },
    communities: [1, 2],
    originatorId: 9,
    clusterList: [1, 2],
    largeCommunities: [1, 2, 3],
    unknown: [{ flags: 0xc0, type: 16, value: hex('0002fde900000064') }],
  });
  for (const as4 of [true, false]) {
    const enc = new UpdateEncoder({ as4 });
    enc.announce4(a, Uint32Array.of(0x0a000000, 0xc0000200, 0), Uint8Array.of(8, 24, 0), 0, 3);
    out.push(enc.take());
    enc.announce6(
      { ...a, nextHop: undefined, mpNextHop: parseIpv6('2001:db8::1') },
      parseIpv6('2001:db8:1::'),
      Uint8Array.of(48),
      0,
      1,
    );
    out.push(enc.take());
    enc.withdraw4(Uint32Array.of(0x0a000000), Uint8Array.of(8), 0, 1);
    out.push(enc.take());
    enc.withdraw6(parseIpv6('2001:db8:1::'), Uint8Array.of(48), 0, 1);
    out.push(enc.take());
  }
  return out;
}

/** xorshift32: a fixed sequence of mutations on every run. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

function mutate(base: Uint8Array, r: (n: number) => number): Uint8Array {
  let b = base.slice();
  const steps = 1 + r(4);
  for (let k = 0; k < steps; k++) {
    switch (r(6)) {
      case 0:
      case 1: // flip a byte past the marker (most of the interesting fields)
        if (b.length > 16) b[16 + r(b.length - 16)] = r(256);
        break;
      case 2: // flip one bit
        if (b.length > 0) b[r(b.length)]! ^= 1 << r(8);
        break;
      case 3: // truncate
        b = b.slice(0, r(b.length + 1));
        break;
      case 4: {
        // extend with random octets
        const extra = new Uint8Array(1 + r(40));
        for (let i = 0; i < extra.length; i++) extra[i] = r(256);
        const n = new Uint8Array(b.length + extra.length);
        n.set(b);
        n.set(extra, b.length);
        b = n;
        break;
      }
      default: // small change to a 2-octet length field somewhere after the header
        if (b.length > 21) {
          const at = 19 + r(b.length - 20);
          const v = ((b[at]! << 8) | b[at + 1]!) + r(9) - 4;
          b[at] = (v >>> 8) & 0xff;
          b[at + 1] = v & 0xff;
        }
    }
  }
  // Keep the header consistent most of the time, so the body decoders see the mutation.
  if (b.length >= 19 && r(10) > 0) {
    b[16] = b.length >>> 8;
    b[17] = b.length & 0xff;
  }
  return b;
}

const SESSIONS: SessionOptions[] = [
  { as4: true, ebgp: true, peerAs: 4200000002 },
  { as4: false, ebgp: true, peerAs: 23456 },
  { as4: true, ebgp: false, extendedMessage: true },
];

function check(d: BgpDecoder, b: Uint8Array, byAction: number[]): void {
  const before = d.counters.total;
  const m = d.decode(b, 0, b.length);
  assert.ok(m.action >= Action.OK && m.action <= Action.IGNORE);
  byAction[m.action]!++;
  const counted = d.counters.total - before;
  assert.ok(m.reason >= 0 && m.reason < BGP_ERROR_COUNT);
  if (m.action !== Action.OK) {
    assert.notEqual(m.reason, BgpError.NONE);
    assert.ok(counted >= 1, 'an outcome other than OK is counted');
  }
  if (m.action === Action.SESSION_RESET) {
    const n = m.notification!;
    assert.ok(n.code >= 1 && n.code <= 7 && n.data instanceof Uint8Array);
  } else {
    assert.equal(m.notification, undefined);
  }
  assert.ok(counted >= m.discarded.length + (m.action === Action.OK ? 0 : 1));
  for (const r of m.discarded) assert.ok(r > 0 && r < BGP_ERROR_COUNT);
}

describe('mutated and random messages', () => {
  it('10^5 mutations of valid messages: never a throw, always a counted classification', () => {
    const base = corpus();
    const r = rng(0x7606);
    const decoders = SESSIONS.map((s) => new BgpDecoder(s, undefined, new AttributeTable()));
    const byAction = [0, 0, 0, 0];
    const t0 = performance.now();
    for (let i = 0; i < 100_000; i++) {
      const b = mutate(base[r(base.length)]!, r);
      check(decoders[i % decoders.length]!, b, byAction);
    }
    const ms = performance.now() - t0;
    // Every class is reached: the mutations are not all caught at the header.
    for (const n of byAction.slice(0, 3)) assert.ok(n > 1000, `outcomes by action: ${byAction}`);
    const reasons = new Set<number>();
    for (const d of decoders)
      for (let k = 1; k < BGP_ERROR_COUNT; k++) if (d.counters.byReason[k]! > 0) reasons.add(k);
    assert.ok(reasons.size >= 25, `reasons seen: ${reasons.size}`);
    console.log(`# 100000 mutations in ${ms.toFixed(0)} ms; by action ${byAction}; ${reasons.size} reasons`);
  });

  it('random octets after a valid header never throw', () => {
    const d = new BgpDecoder(SESSIONS[1]);
    const byAction = [0, 0, 0, 0];
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.uint8Array({ maxLength: 300 }), (type, body) => {
        const b = new Uint8Array(19 + body.length);
        b.fill(0xff, 0, 16);
        b[16] = b.length >>> 8;
        b[17] = b.length & 0xff;
        b[18] = type;
        b.set(body, 19);
        check(d, b, byAction);
      }),
      { seed: 4271, numRuns: 20_000 },
    );
  });
});
