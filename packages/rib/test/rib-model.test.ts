import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Family, IPV4, IPV6, type NextHop, Rib, type RouteInput, type RouteSource } from '@nexthop/rib';
import fc from 'fast-check';
import { FibImage } from './fib-image.ts';

// The RIB against a naive model that recomputes everything from scratch after every flush: the
// tiers of resolution level by level over all routes, the selection of every prefix, and the FIB
// image; compared with the image the RIB's batches built. Prefixes and gateways come from a small
// space so that they overlap, nest, cover each other's next hops and loop.

const MAX_PATHS = 3;
const MAX_DEPTH = 3;
const SOURCES: [kind: 'connected' | 'static' | 'ospf' | 'bgp', name: string][] = [
  ['connected', 'c'],
  ['static', 's1'],
  ['static', 's2'],
  ['ospf', 'o'],
  ['bgp', 'b1'],
  ['bgp', 'b2'],
];
const KIND_RANK = { connected: 0, static: 1, ospf: 2, rip: 3, bgp: 4 } as const;
const TYPE_RANK = { local: 0, forward: 1, blackhole: 2, reject: 3 } as const;

interface ModelRoute<A> {
  source: RouteSource;
  network: A;
  length: number;
  route: RouteInput<A>;
}

interface Hop<A> {
  gateway: A | null;
  ifIndex: number;
}

interface Item<A> {
  addr: A;
  ifIndex: number;
  exclude: number;
  decided: boolean;
  level: number;
  hops: Hop<A>[] | null;
}

interface Parsed<A> {
  r: ModelRoute<A>;
  distance: number;
  metric: number;
  special: 'local' | 'blackhole' | 'reject' | null;
  localIf: number;
  direct: Hop<A>[];
  items: Item<A>[];
}

function sortHops<A>(family: Family<A>, hops: Hop<A>[]): Hop<A>[] {
  const sorted = [...hops].sort(
    (a, b) =>
      a.ifIndex - b.ifIndex ||
      (a.gateway === null
        ? b.gateway === null
          ? 0
          : -1
        : b.gateway === null
          ? 1
          : family.compare(a.gateway, b.gateway)),
  );
  return sorted.filter(
    (h, i) =>
      i === 0 ||
      sorted[i - 1]!.ifIndex !== h.ifIndex ||
      (sorted[i - 1]!.gateway === null) !== (h.gateway === null) ||
      (h.gateway !== null && !family.equal(sorted[i - 1]!.gateway!, h.gateway)),
  );
}

function model<A>(family: Family<A>, routes: ModelRoute<A>[], viaDefault: boolean): Map<string, string> {
  const parsed: Parsed<A>[] = routes.map((r) => {
    const p: Parsed<A> = {
      r,
      distance: r.route.distance ?? r.source.distance,
      metric: r.route.metric ?? 0,
      special: null,
      localIf: -1,
      direct: [],
      items: [],
    };
    for (const h of r.route.nextHops) {
      if (h.type !== undefined) {
        p.special = h.type;
        if (h.type === 'local') p.localIf = h.ifIndex;
      } else if (h.gateway === undefined) {
        p.direct.push({ gateway: null, ifIndex: h.ifIndex! });
      } else if (h.ifIndex !== undefined && (h.onlink === true || family.isLinkLocal(h.gateway))) {
        p.direct.push({ gateway: h.gateway, ifIndex: h.ifIndex });
      } else if (!family.isLinkLocal(h.gateway)) {
        const exclude =
          r.length < family.bits && family.contains(r.network, r.length, h.gateway) ? r.length : -1;
        p.items.push({
          addr: h.gateway,
          ifIndex: h.ifIndex ?? -1,
          exclude,
          decided: false,
          level: -1,
          hops: null,
        });
      }
    }
    return p;
  });
  const byPrefix = new Map<string, Parsed<A>[]>();
  for (const p of parsed) {
    const k = `${family.format(p.r.network)}/${p.r.length}`;
    byPrefix.set(k, [...(byPrefix.get(k) ?? []), p]);
  }
  const inView = (p: Parsed<A>, k: number) =>
    p.distance < 255 &&
    (p.special !== null || p.direct.length > 0 || p.items.some((i) => i.hops !== null && i.level < k));
  const hopsAt = (p: Parsed<A>, k: number) => [
    ...p.direct,
    ...p.items.filter((i) => i.hops !== null && i.level < k).flatMap((i) => i.hops!),
  ];
  const typeOf = (p: Parsed<A>) => TYPE_RANK[p.special ?? 'forward'];
  const select = (cands: Parsed<A>[]): Parsed<A>[] => {
    const key = (p: Parsed<A>) => [p.distance, p.metric, typeOf(p), KIND_RANK[p.r.source.kind]];
    const sorted = [...cands].sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      for (let i = 0; i < 4; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
      return a.r.source.name < b.r.source.name ? -1 : a.r.source.name > b.r.source.name ? 1 : 0;
    });
    const best = sorted[0];
    if (best === undefined) return [];
    const kb = key(best);
    return sorted.filter((p) => key(p).every((v, i) => v === kb[i])).slice(0, MAX_PATHS);
  };
  const lengths = [...new Set(parsed.map((p) => p.r.length))].sort((a, b) => b - a);
  for (let k = 0; k < MAX_DEPTH; k++) {
    const view = parsed.filter((p) => inView(p, k));
    for (const p of parsed) {
      for (const item of p.items) {
        if (item.decided) continue;
        if (item.ifIndex >= 0 && k > 0) {
          item.decided = true;
          continue;
        }
        let match: Parsed<A>[] = [];
        for (const l of lengths) {
          if (l === item.exclude || (l === 0 && !viaDefault)) continue;
          const here = view.filter((q) => q.r.length === l && family.contains(q.r.network, l, item.addr));
          if (here.length > 0) {
            match = select(here);
            break;
          }
        }
        if (match.length === 0) continue;
        item.decided = true;
        if (match[0]!.special !== null) continue;
        if (item.ifIndex >= 0) {
          if (match.some((q) => q.direct.some((h) => h.gateway === null && h.ifIndex === item.ifIndex))) {
            item.level = 0;
            item.hops = [{ gateway: item.addr, ifIndex: item.ifIndex }];
          }
          continue;
        }
        item.level = k;
        item.hops = match
          .flatMap((q) => hopsAt(q, k))
          .map((h) => (h.gateway === null ? { gateway: item.addr, ifIndex: h.ifIndex } : h));
      }
    }
  }
  const out = new Map<string, string>();
  for (const [prefix, cands] of byPrefix) {
    const set = select(cands.filter((p) => inView(p, MAX_DEPTH)));
    if (set.length === 0) continue;
    const first = set[0]!;
    if (first.special === 'local') out.set(prefix, `local@${first.localIf}`);
    else if (first.special !== null) out.set(prefix, first.special);
    else {
      const hops = sortHops(
        family,
        set.flatMap((p) => hopsAt(p, MAX_DEPTH)),
      ).slice(0, MAX_PATHS);
      const text = hops
        .map((h) => `${h.gateway === null ? 'direct' : family.format(h.gateway)}@${h.ifIndex}`)
        .sort();
      out.set(prefix, `forward ${text.join(' ')}`);
    }
  }
  return out;
}

// ---- generators --------------------------------------------------------------------------------

const v4Addr = fc
  .tuple(fc.constantFrom(0x0a000000, 0x0a000100, 0x0a010000, 0xc0000200), fc.integer({ min: 0, max: 255 }))
  .map(([base, low]) => (base + low) >>> 0);
const v4Length = fc.constantFrom(0, 8, 16, 23, 24, 25, 28, 32);
const v6Addr = fc
  .tuple(fc.constantFrom(0, 1), fc.constantFrom(0, 1), fc.integer({ min: 0, max: 255 }), fc.boolean())
  .map(([a, b, low, ll]) => {
    const out = new Uint8Array(16);
    if (ll) {
      out[0] = 0xfe;
      out[1] = 0x80;
    } else {
      out[0] = 0x20;
      out[1] = 0x01;
      out[2] = 0x0d;
      out[3] = 0xb8;
      out[5] = a;
    }
    out[7] = b;
    out[15] = low;
    return out;
  });
const v6Length = fc.constantFrom(0, 32, 48, 56, 64, 120, 128);

function hopArb<A>(addr: fc.Arbitrary<A>): fc.Arbitrary<NextHop<A>> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }).map((ifIndex) => ({ ifIndex })) },
    { weight: 6, arbitrary: addr.map((gateway) => ({ gateway })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(addr, fc.integer({ min: 1, max: 3 }), fc.boolean())
        .map(([gateway, ifIndex, onlink]) => ({ gateway, ifIndex, onlink })),
    },
  );
}

function routeArb<A>(addr: fc.Arbitrary<A>): fc.Arbitrary<RouteInput<A>> {
  const special = fc.oneof(
    fc.constant<NextHop<A>>({ type: 'blackhole' }),
    fc.constant<NextHop<A>>({ type: 'reject' }),
    fc.integer({ min: 1, max: 3 }).map((ifIndex): NextHop<A> => ({ type: 'local', ifIndex })),
  );
  const hops = fc.oneof(
    { weight: 1, arbitrary: special.map((h) => [h]) },
    { weight: 8, arbitrary: fc.array(hopArb(addr), { minLength: 1, maxLength: 3 }) },
  );
  return fc.record(
    {
      nextHops: hops,
      metric: fc.constantFrom(0, 0, 10),
      distance: fc.constantFrom(1, 20, 110, 255),
    },
    { requiredKeys: ['nextHops'] },
  );
}

type Op =
  | {
      op: 'update';
      family: 4;
      source: number;
      network: number;
      length: number;
      route: RouteInput<number> | null;
    }
  | {
      op: 'update';
      family: 6;
      source: number;
      network: Uint8Array;
      length: number;
      route: RouteInput<Uint8Array> | null;
    }
  | { op: 'withdrawAll'; source: number }
  | { op: 'viaDefault'; family: 4 | 6; on: boolean }
  | { op: 'flush' };

const sourceIndex = fc.integer({ min: 0, max: SOURCES.length - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc
      .tuple(sourceIndex, v4Addr, v4Length, fc.option(routeArb(v4Addr), { freq: 4 }))
      .map(([source, a, length, route]) => ({
        op: 'update' as const,
        family: 4 as const,
        source,
        network: IPV4.masked(a, length),
        length,
        route,
      })),
  },
  {
    weight: 6,
    arbitrary: fc
      .tuple(sourceIndex, v6Addr, v6Length, fc.option(routeArb(v6Addr), { freq: 4 }))
      .map(([source, a, length, route]) => ({
        op: 'update' as const,
        family: 6 as const,
        source,
        network: IPV6.masked(a, length),
        length,
        route,
      })),
  },
  { weight: 1, arbitrary: sourceIndex.map((source) => ({ op: 'withdrawAll' as const, source })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(4 as const, 6 as const), fc.boolean())
      .map(([family, on]) => ({ op: 'viaDefault' as const, family, on })),
  },
  { weight: 4, arbitrary: fc.constant({ op: 'flush' as const }) },
);

test('the FIB built from the RIB batches equals a from-scratch model after every flush', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
      const fib = new FibImage();
      const rib = new Rib(fib, { maxPaths: MAX_PATHS, maxDepth: MAX_DEPTH });
      const sources = SOURCES.map(([kind, name]) => rib.addSource(kind, name));
      const routes4 = new Map<string, ModelRoute<number>>();
      const routes6 = new Map<string, ModelRoute<Uint8Array>>();
      const viaDefault = { 4: false, 6: false };
      const check = () => {
        rib.flush();
        assert.deepEqual(
          Object.fromEntries([...fib.v4.image()].sort()),
          Object.fromEntries([...model(IPV4, [...routes4.values()], viaDefault[4])].sort()),
        );
        assert.deepEqual(
          Object.fromEntries([...fib.v6.image()].sort()),
          Object.fromEntries([...model(IPV6, [...routes6.values()], viaDefault[6])].sort()),
        );
      };
      let now = 0;
      for (const op of ops) {
        now++;
        if (op.op === 'flush') check();
        else if (op.op === 'withdrawAll') {
          const s = sources[op.source]!;
          rib.withdrawAll(s);
          for (const [k, r] of routes4) if (r.source === s) routes4.delete(k);
          for (const [k, r] of routes6) if (r.source === s) routes6.delete(k);
        } else if (op.op === 'viaDefault') {
          rib.setResolveViaDefault(op.family, op.on);
          viaDefault[op.family] = op.on;
        } else if (op.family === 4) {
          const s = sources[op.source]!;
          const key = `${op.source}|${op.network}/${op.length}`;
          rib.v4.update(s, op.network, op.length, op.route, now);
          if (op.route === null) routes4.delete(key);
          else routes4.set(key, { source: s, network: op.network, length: op.length, route: op.route });
        } else {
          const s = sources[op.source]!;
          const key = `${op.source}|${IPV6.format(op.network)}/${op.length}`;
          rib.v6.update(s, op.network, op.length, op.route, now);
          if (op.route === null) routes6.delete(key);
          else routes6.set(key, { source: s, network: op.network, length: op.length, route: op.route });
        }
      }
      check();
      // Withdrawing everything leaves an empty FIB with every group released.
      for (const s of sources) rib.withdrawAll(s);
      rib.flush();
      assert.equal(fib.v4.routes.size + fib.v6.routes.size, 0);
      assert.equal(fib.v4.groups.size + fib.v6.groups.size, 0);
      const c = rib.counters();
      assert.deepEqual(
        [c.trackedNextHops, c.nextHopSets, c.groups],
        [
          { v4: 0, v6: 0 },
          { v4: 0, v6: 0 },
          { v4: 0, v6: 0 },
        ],
      );
    }),
    { seed: 0x11b, numRuns: 400 },
  );
});
