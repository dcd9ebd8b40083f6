// Property: random valid attribute sets and prefixes, packed by UpdateEncoder and decoded, come
// back equal — for four-octet and OLD (2-octet, AS4_PATH) peers, 4096 and 65535-octet messages,
// IPv4 and IPv6. Fixed seeds.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  Action,
  AS_CONFED_SEQUENCE,
  AS_SEQUENCE,
  AS_SET,
  type AsPathSegment,
  AttributeTable,
  attributesKey,
  BgpDecoder,
  decodeOpen,
  encodeOpen,
  makeAttributes,
  type PathAttributes,
  UpdateEncoder,
} from '../src/index.ts';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const asn = (old: boolean) =>
  old
    ? fc.oneof(fc.integer({ min: 1, max: 0xffff }), fc.integer({ min: 1, max: 0xffffffff }))
    : fc.integer({ min: 1, max: 0xffffffff });

function asPath(old: boolean): fc.Arbitrary<AsPathSegment[]> {
  const seg = fc.record({
    type: fc.constantFrom(AS_SEQUENCE, AS_SET),
    asns: fc.array(asn(old), { minLength: 1, maxLength: 12 }),
  });
  // Confederation segments lead the path, with 2-octet members (RFC 5065; RFC 6793 keeps them
  // out of AS4_PATH, so an OLD peer sees only what fits two octets).
  const confed = fc.record({
    type: fc.constant(AS_CONFED_SEQUENCE),
    asns: fc.array(fc.integer({ min: 1, max: 0xffff }), { minLength: 1, maxLength: 3 }),
  });
  return fc.tuple(fc.option(confed, { nil: undefined }), fc.array(seg, { maxLength: 4 })).map(([c, segs]) => {
    // Adjacent sequences are one segment on the wire once AS4_PATH is merged back; keep them apart.
    const out: AsPathSegment[] = c ? [c] : [];
    for (const s of segs) {
      const last = out[out.length - 1];
      if (last && last.type === AS_SEQUENCE && s.type === AS_SEQUENCE) continue;
      out.push(s);
    }
    return out;
  });
}

const KNOWN = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 17, 18, 32]);
const unknown = fc
  .uniqueArray(
    fc.record({
      type: fc.integer({ min: 11, max: 255 }).filter((t) => !KNOWN.has(t)),
      value: fc.uint8Array({ maxLength: 20 }),
    }),
    { selector: (x) => x.type, maxLength: 3 },
  )
  .map((xs) =>
    xs.sort((a, b) => a.type - b.type).map((x) => ({ flags: 0xe0, type: x.type, value: x.value })),
  );

const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const list = (a: fc.Arbitrary<number>, max: number) => opt(fc.array(a, { minLength: 1, maxLength: max }));

function attributes(old: boolean, v6: boolean): fc.Arbitrary<PathAttributes> {
  return fc
    .record({
      origin: fc.integer({ min: 0, max: 2 }),
      asPath: asPath(old),
      nextHop: fc.integer({ min: 0x01000000, max: 0xdfffffff }).filter((n) => n >>> 24 !== 127),
      med: opt(u32),
      localPref: opt(u32),
      atomicAggregate: fc.boolean(),
      aggregator: opt(fc.record({ asn: asn(old), address: u32 })),
      communities: list(u32, 10),
      originatorId: opt(u32),
      clusterList: list(u32, 5),
      large: opt(fc.array(fc.tuple(u32, u32, u32), { minLength: 1, maxLength: 4 })),
      unknown,
      nh6: fc.uint8Array({ minLength: 16, maxLength: 16 }),
      linkLocal: fc.boolean(),
    })
    .map((r) =>
      // structuredClone: fast-check's records have a null prototype, the decoder's plain objects don't.
      structuredClone(
        makeAttributes({
          ...r,
          nextHop: v6 ? undefined : r.nextHop,
          largeCommunities: r.large?.flat(),
          mpNextHop: v6
            ? r.linkLocal
              ? Uint8Array.of(...r.nh6, 0xfe, 0x80, ...new Uint8Array(13), 1)
              : r.nh6
            : undefined,
        }),
      ),
    );
}

const v4prefixes = fc.array(
  fc
    .tuple(u32, fc.integer({ min: 0, max: 32 }))
    .map(([n, l]) => [l === 0 ? 0 : (n & (0xffffffff << (32 - l))) >>> 0, l] as const),
  { minLength: 1, maxLength: 3000 },
);
const v6prefixes = fc.array(
  fc
    .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }))
    .map(([b, l]) => {
      const n = b.slice();
      for (let i = 0; i < 16; i++) {
        const keep = l - 8 * i;
        if (keep <= 0) n[i] = 0;
        else if (keep < 8) n[i]! &= (0xff << (8 - keep)) & 0xff;
      }
      return [n, l] as const;
    }),
  { minLength: 1, maxLength: 1500 },
);

function decodeAll(d: BgpDecoder, bytes: Uint8Array, v6: boolean) {
  const attrs: PathAttributes[] = [];
  const prefixes: string[] = [];
  for (let off = 0; off < bytes.length; ) {
    const m = d.decode(bytes, off, bytes.length - off);
    assert.equal(m.action, Action.OK);
    assert.ok(m.length <= d.maxLength);
    attrs.push(m.update.attrs!);
    prefixes.push(...(v6 ? m.update.mpReach6.toStrings() : m.update.nlri.toStrings()));
    off += m.length;
  }
  return { attrs, prefixes };
}

describe('encode → decode is the identity', () => {
  for (const old of [false, true]) {
    for (const ext of [false, true]) {
      it(`IPv4, ${old ? '2-octet (OLD) peer' : 'four-octet peer'}, ${ext ? '65535' : '4096'}-octet messages`, () => {
        fc.assert(
          fc.property(attributes(old, false), v4prefixes, (a, ps) => {
            const enc = new UpdateEncoder({ as4: !old, extendedMessage: ext });
            const nets = Uint32Array.from(ps.map((p) => p[0]));
            const lens = Uint8Array.from(ps.map((p) => p[1]));
            const n = enc.announce4(a, nets, lens, 0, ps.length);
            const table = new AttributeTable();
            const d = new BgpDecoder({ as4: !old, ebgp: false, extendedMessage: ext }, undefined, table);
            const out = decodeAll(d, enc.take(), false);
            assert.equal(out.attrs.length, n);
            for (const x of out.attrs) assert.equal(x, out.attrs[0]); // interned: one object
            assert.deepEqual(out.attrs[0], a);
            assert.equal(attributesKey(out.attrs[0]!), attributesKey(a));
            const fmt = (l: number, net: number) =>
              `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${l}`;
            assert.deepEqual(
              out.prefixes,
              ps.map(([net, l]) => fmt(l, net)),
            );
          }),
          { seed: old ? 4271 : 6793, numRuns: 60 },
        );
      });
    }
  }

  it('IPv6 in MP_REACH_NLRI, and withdrawals in MP_UNREACH_NLRI', () => {
    fc.assert(
      fc.property(attributes(false, true), v6prefixes, (a, ps) => {
        const enc = new UpdateEncoder({ as4: true });
        const bytes = new Uint8Array(ps.length * 16);
        for (let i = 0; i < ps.length; i++) bytes.set(ps[i]![0], i * 16);
        const lens = Uint8Array.from(ps.map((p) => p[1]));
        enc.announce6(a, bytes, lens, 0, ps.length);
        const d = new BgpDecoder({ as4: true, ebgp: false });
        const out = decodeAll(d, enc.take(), true);
        assert.deepEqual(out.attrs[0], a);
        assert.equal(out.prefixes.length, ps.length);
        enc.withdraw6(bytes, lens, 0, ps.length);
        const w = enc.take();
        let count = 0;
        for (let off = 0; off < w.length; ) {
          const m = d.decode(w, off, w.length - off);
          assert.equal(m.action, Action.OK);
          count += m.update.mpUnreach6.count;
          off += m.length;
        }
        assert.equal(count, ps.length);
      }),
      { seed: 4760, numRuns: 60 },
    );
  });

  it('OPEN', () => {
    const fam = fc.record({ afi: fc.integer({ min: 1, max: 3 }), safi: fc.integer({ min: 1, max: 255 }) });
    fc.assert(
      fc.property(
        fc.record({
          as: fc.integer({ min: 1, max: 0xffffffff }),
          holdTime: fc.oneof(fc.constant(0), fc.integer({ min: 3, max: 0xffff })),
          bgpId: fc.integer({ min: 1, max: 0xffffffff }),
          multiprotocol: fc.array(fam, { maxLength: 4 }),
          routeRefresh: fc.boolean(),
          enhancedRouteRefresh: fc.boolean(),
          extendedMessage: fc.boolean(),
          gr: opt(
            fc.record({
              restartState: fc.boolean(),
              notification: fc.boolean(),
              time: fc.integer({ min: 0, max: 4095 }),
              families: fc.array(
                fc.record({
                  afi: fc.integer({ min: 1, max: 2 }),
                  safi: fc.integer({ min: 1, max: 255 }),
                  forwardingState: fc.boolean(),
                }),
                { maxLength: 3 },
              ),
            }),
          ),
          unknown: fc.array(
            fc.record({ code: fc.integer({ min: 128, max: 255 }), value: fc.uint8Array({ maxLength: 40 }) }),
            { maxLength: 12 },
          ),
        }),
        (r0) => {
          const r = structuredClone(r0);
          const wire = encodeOpen({
            as: r.as,
            holdTime: r.holdTime,
            bgpId: r.bgpId,
            capabilities: { ...r, gracefulRestart: r.gr },
          });
          const d = decodeOpen(wire, 0, wire.length);
          assert.ok(d.ok);
          const c = d.open.capabilities;
          assert.equal(c.fourOctetAs, r.as);
          assert.equal(d.open.myAs, r.as > 0xffff ? 23456 : r.as);
          assert.deepEqual(c.multiprotocol, r.multiprotocol);
          assert.deepEqual(c.gracefulRestart, r.gr);
          assert.deepEqual(c.unknown, r.unknown);
          assert.equal(c.extendedMessage, r.extendedMessage);
          assert.equal(c.routeRefresh, r.routeRefresh);
          assert.equal(c.enhancedRouteRefresh, r.enhancedRouteRefresh);
        },
      ),
      { seed: 5492, numRuns: 300 },
    );
  });
});
