// OSPFv3's routing table calculation (RFC 5340 §4.8): Dijkstra over one area's Router-LSAs (all of a
// router's, their links together) and Network-LSAs (a vertex per DR router id and interface id)
// with equal-cost next hops — a neighbour's link-local address on the interface it is reached by —
// then the prefixes of the Intra-Area-Prefix LSAs of the vertices reached (§4.8.1), Inter-Area-
// Prefix LSAs (from the backbone only when this router is an ABR) and AS-External LSAs (§4.8.5).
import {
  LINK_P2P,
  LINK_TRANSIT,
  LS_INFINITY,
  LSA6_EXTERNAL,
  LSA6_INTER_PREFIX,
  LSA6_INTER_ROUTER,
  LSA6_INTRA_PREFIX,
  LSA6_NETWORK,
  LSA6_ROUTER,
  MAX_AGE,
  PREFIX_NU,
  RLSA_B,
  RLSA_E,
} from './constants.ts';
import type { Lsa } from './lsa.ts';
import type { Prefix6, Router6Link } from './lsa6.ts';
import type { OspfNextHop, OspfRoute, OspfRouteType } from './types.ts';

export interface Spf6Interface {
  readonly ifIndex: number;
  readonly ifaceId: number;
  /** Neighbours in 2-Way or beyond: router id → link-local address. */
  readonly neighbors: ReadonlyMap<number, Uint8Array>;
  /** The interface's own prefixes (connected routes: left out). */
  readonly prefixes: readonly Prefix6[];
}

export interface Spf6Area {
  readonly id: number;
  readonly lsdb: ReadonlyMap<string, Lsa>;
  readonly interfaces: readonly Spf6Interface[];
}

interface Vertex {
  readonly key: string;
  readonly router: boolean;
  /** Router id, or the DR's router id for a network. */
  readonly id: number;
  /** A network's interface id (the DR's). */
  readonly ifaceId: number;
  dist: number;
  hops: OspfNextHop[];
  directIf: number;
  done: boolean;
}

/** A router reached in an area (area border and AS boundary routers matter). */
export interface Border {
  readonly area: number;
  readonly dist: number;
  readonly flags: number;
  readonly hops: readonly OspfNextHop[];
  /** Reached through an Inter-Area-Router LSA rather than in the area's SPF tree. */
  readonly inter?: boolean;
}

function usable(l: Lsa | undefined, now: number): l is Lsa {
  return l !== undefined && l.age(now) < MAX_AGE;
}

function sameHop(a: OspfNextHop, b: OspfNextHop): boolean {
  if (a.ifIndex !== b.ifIndex) return false;
  if (a.gateway6 === undefined || b.gateway6 === undefined) return a.gateway6 === b.gateway6;
  for (let i = 0; i < 16; i++) if (a.gateway6[i] !== b.gateway6[i]) return false;
  return true;
}

function addHops(into: OspfNextHop[], from: readonly OspfNextHop[]): void {
  for (const h of from) if (!into.some((x) => sameHop(x, h))) into.push(h);
}

export function prefix6Key(address: Uint8Array, length: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += address[i]!.toString(16).padStart(2, '0');
  return `${s}/${length}`;
}

/** A router's links over all its Router-LSAs, and the flags of the first (§4.8.1). */
interface RouterInfo {
  flags: number;
  links: Router6Link[];
}

function routerInfo(db: ReadonlyMap<string, Lsa>, now: number): Map<number, RouterInfo> {
  const out = new Map<number, RouterInfo>();
  const lsas = [...db.values()]
    .filter((l) => l.type === LSA6_ROUTER && usable(l, now))
    .sort((a, b) => a.id - b.id);
  for (const l of lsas) {
    const body = l.body();
    if (body?.kind !== 'router6') continue;
    let r = out.get(l.adv);
    if (r === undefined) {
      r = { flags: body.flags, links: [] };
      out.set(l.adv, r);
    }
    r.links.push(...body.links);
  }
  return out;
}

function areaSpf(
  area: Spf6Area,
  routerId: number,
  now: number,
): { vertices: Vertex[]; routers: Map<number, RouterInfo> } {
  const db = area.lsdb;
  const routers = routerInfo(db, now);
  if (!routers.has(routerId)) return { vertices: [], routers };
  const networks = new Map<string, number[]>();
  for (const l of db.values()) {
    if (l.type !== LSA6_NETWORK || !usable(l, now)) continue;
    const body = l.body();
    if (body?.kind === 'network6') networks.set(`${l.adv}:${l.id}`, [...body.routers]);
  }
  const vertices = new Map<string, Vertex>();
  const root: Vertex = {
    key: `R${routerId}`,
    router: true,
    id: routerId,
    ifaceId: 0,
    dist: 0,
    hops: [],
    directIf: -1,
    done: false,
  };
  vertices.set(root.key, root);
  const candidates: Vertex[] = [];
  const relax = (
    v: Vertex,
    key: string,
    router: boolean,
    id: number,
    ifaceId: number,
    dist: number,
    link: Router6Link | null,
  ) => {
    let w = vertices.get(key);
    if (w?.done) return;
    if (w !== undefined && dist > w.dist) return;
    const hops = nextHops(v, router, id, link, area);
    if (w === undefined) {
      w = { key, router, id, ifaceId, dist, hops: [], directIf: -1, done: false };
      vertices.set(key, w);
      candidates.push(w);
    } else if (dist < w.dist) {
      w.dist = dist;
      w.hops = [];
      w.directIf = -1;
    }
    addHops(w.hops, hops.hops);
    if (hops.directIf >= 0) w.directIf = hops.directIf;
  };
  let v: Vertex | undefined = root;
  while (v !== undefined) {
    v.done = true;
    if (v.router) {
      for (const link of routers.get(v.id)?.links ?? []) {
        if (link.type === LINK_P2P) {
          const w = routers.get(link.nbrRouterId);
          if (w === undefined || !w.links.some((l) => l.type === LINK_P2P && l.nbrRouterId === v!.id))
            continue;
          relax(v, `R${link.nbrRouterId}`, true, link.nbrRouterId, 0, v.dist + link.metric, link);
        } else if (link.type === LINK_TRANSIT) {
          const key = `${link.nbrRouterId}:${link.nbrIfaceId}`;
          const net = networks.get(key);
          if (net === undefined || !net.includes(v.id)) continue;
          relax(v, `N${key}`, false, link.nbrRouterId, link.nbrIfaceId, v.dist + link.metric, link);
        }
      }
    } else {
      for (const rid of networks.get(`${v.id}:${v.ifaceId}`) ?? []) {
        const w = routers.get(rid);
        const back = w?.links.some(
          (l) => l.type === LINK_TRANSIT && l.nbrRouterId === v!.id && l.nbrIfaceId === v!.ifaceId,
        );
        if (back !== true) continue;
        relax(v, `R${rid}`, true, rid, 0, v.dist, null);
      }
    }
    let best = -1;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      const b = best < 0 ? undefined : candidates[best]!;
      if (b === undefined || c.dist < b.dist || (c.dist === b.dist && !c.router && b.router)) best = i;
    }
    v = best < 0 ? undefined : candidates.splice(best, 1)[0];
  }
  return { vertices: [...vertices.values()].filter((x) => x.done), routers };
}

/** §4.8.2 (§16.1.1): the next hops to w through its parent v. */
function nextHops(
  v: Vertex,
  wRouter: boolean,
  wId: number,
  link: Router6Link | null,
  area: Spf6Area,
): { hops: OspfNextHop[]; directIf: number } {
  if (v.dist === 0 && v.router && link !== null) {
    const ifc = area.interfaces.find((i) => i.ifaceId === link.ifaceId);
    if (ifc === undefined) return { hops: [], directIf: -1 };
    if (!wRouter) return { hops: [{ gateway: 0, ifIndex: ifc.ifIndex }], directIf: ifc.ifIndex };
    const gw = ifc.neighbors.get(wId);
    return {
      hops: gw === undefined ? [] : [{ gateway: 0, gateway6: gw, ifIndex: ifc.ifIndex }],
      directIf: -1,
    };
  }
  if (!v.router && v.directIf >= 0 && wRouter) {
    // A router on a link we are on: its link-local address there.
    const ifc = area.interfaces.find((i) => i.ifIndex === v.directIf);
    const gw = ifc?.neighbors.get(wId);
    return {
      hops: gw === undefined ? [] : [{ gateway: 0, gateway6: gw, ifIndex: v.directIf }],
      directIf: -1,
    };
  }
  return { hops: v.hops, directIf: -1 };
}

const RANK: readonly OspfRouteType[] = ['intra-area', 'inter-area', 'external-1', 'external-2'];

function offer(
  routes: Map<string, OspfRoute>,
  p: Prefix6,
  type: OspfRouteType,
  cost: number,
  area: number,
  hops: readonly OspfNextHop[],
  type2Cost = 0,
): void {
  if (hops.length === 0) return;
  if ((p.options & PREFIX_NU) !== 0) return;
  if (p.address[0] === 0xfe && (p.address[1]! & 0xc0) === 0x80) return;
  const key = prefix6Key(p.address, p.length);
  const cur = routes.get(key);
  let cmp = 1;
  if (cur !== undefined) {
    const a = RANK.indexOf(type);
    const b = RANK.indexOf(cur.type);
    if (a !== b) cmp = a < b ? 1 : -1;
    else if (type === 'external-2' && type2Cost !== (cur.type2Cost ?? 0))
      cmp = type2Cost < (cur.type2Cost ?? 0) ? 1 : -1;
    else cmp = cost < cur.cost ? 1 : cost > cur.cost ? -1 : 0;
  }
  if (cmp < 0) return;
  const nextHops: OspfNextHop[] = cmp === 0 && cur !== undefined ? [...cur.nextHops] : [];
  addHops(nextHops, hops);
  routes.set(key, {
    network: 0,
    network6: p.address,
    length: p.length,
    type,
    cost,
    ...(type === 'external-2' ? { type2Cost } : {}),
    area,
    nextHops,
  });
}

/** The OSPFv3 routing table; keys are prefix6Key. This router's own prefixes are left out. */
export function computeRoutes6(
  routerId: number,
  areas: readonly Spf6Area[],
  externals: ReadonlyMap<string, Lsa>,
  now: number,
): { routes: Map<string, OspfRoute>; routers: Map<number, Border[]> } {
  const routes = new Map<string, OspfRoute>();
  const borders = new Map<number, Border[]>();
  const attached = new Set<string>();
  for (const a of areas)
    for (const i of a.interfaces) for (const p of i.prefixes) attached.add(prefix6Key(p.address, p.length));
  const abr = areas.filter((a) => a.interfaces.length > 0).length > 1;
  for (const area of areas) {
    const { vertices, routers } = areaSpf(area, routerId, now);
    const byKey = new Map(vertices.map((v) => [v.key, v]));
    for (const v of vertices) {
      if (!v.router || v.dist === 0) continue;
      const list = borders.get(v.id) ?? [];
      list.push({ area: area.id, dist: v.dist, flags: routers.get(v.id)?.flags ?? 0, hops: v.hops });
      borders.set(v.id, list);
    }
    for (const l of area.lsdb.values()) {
      if (l.type !== LSA6_INTRA_PREFIX || !usable(l, now)) continue;
      const body = l.body();
      if (body?.kind !== 'intra-prefix') continue;
      const v =
        body.refType === LSA6_ROUTER
          ? byKey.get(`R${body.refAdv}`)
          : body.refType === LSA6_NETWORK
            ? byKey.get(`N${body.refAdv}:${body.refId}`)
            : undefined;
      if (v === undefined || l.adv !== body.refAdv) continue;
      if (v.router && v.dist === 0) continue;
      for (const p of body.prefixes) offer(routes, p, 'intra-area', v.dist + p.metric, area.id, v.hops);
    }
  }
  // §4.8.3 (RFC 2328 §16.2): Inter-Area-Prefix and Inter-Area-Router LSAs.
  for (const area of areas) {
    if (abr && area.id !== 0) continue;
    for (const l of area.lsdb.values()) {
      if (l.type !== LSA6_INTER_PREFIX && l.type !== LSA6_INTER_ROUTER) continue;
      if (l.adv === routerId || !usable(l, now)) continue;
      const br = borders.get(l.adv)?.find((r) => r.area === area.id);
      if (br === undefined || (br.flags & RLSA_B) === 0) continue;
      const body = l.body();
      if (body?.kind === 'inter-prefix') {
        if (body.metric >= LS_INFINITY) continue;
        if (routes.get(prefix6Key(body.prefix.address, body.prefix.length))?.type === 'intra-area') continue;
        offer(routes, body.prefix, 'inter-area', br.dist + body.metric, area.id, br.hops);
      } else if (body?.kind === 'inter-router') {
        if (body.metric >= LS_INFINITY || body.router === routerId) continue;
        const list = borders.get(body.router) ?? [];
        if (list.some((r) => r.area === area.id && r.dist <= br.dist + body.metric)) continue;
        list.push({ area: area.id, dist: br.dist + body.metric, flags: RLSA_E, hops: br.hops, inter: true });
        borders.set(body.router, list);
      }
    }
  }
  // §4.8.5 (RFC 2328 §16.4): AS-External LSAs.
  for (const l of externals.values()) {
    if (l.type !== LSA6_EXTERNAL || l.adv === routerId || !usable(l, now)) continue;
    const body = l.body();
    if (body?.kind !== 'external6' || body.metric >= LS_INFINITY) continue;
    let asbr: Border | undefined;
    for (const r of borders.get(l.adv) ?? []) {
      if ((r.flags & RLSA_E) === 0) continue;
      if (asbr === undefined || r.dist < asbr.dist) asbr = r;
    }
    if (asbr === undefined) continue;
    let hops = asbr.hops;
    let dist = asbr.dist;
    if (body.forward?.some((x) => x !== 0) === true && body.forward !== null) {
      const via = lookup(routes, body.forward);
      if (via === undefined || via.type === 'external-1' || via.type === 'external-2') continue;
      dist = via.cost;
      hops = via.nextHops;
    }
    const key = prefix6Key(body.prefix.address, body.prefix.length);
    if (attached.has(key)) continue;
    const cur = routes.get(key);
    if (cur !== undefined && (cur.type === 'intra-area' || cur.type === 'inter-area')) continue;
    if (body.e2) offer(routes, body.prefix, 'external-2', dist, asbr.area, hops, body.metric);
    else offer(routes, body.prefix, 'external-1', dist + body.metric, asbr.area, hops);
  }
  for (const k of attached) routes.delete(k);
  return { routes, routers: borders };
}

function lookup(routes: ReadonlyMap<string, OspfRoute>, addr: Uint8Array): OspfRoute | undefined {
  let best: OspfRoute | undefined;
  for (const r of routes.values()) {
    const net = r.network6;
    if (net === undefined) continue;
    let ok = true;
    for (let bit = 0; bit < r.length && ok; bit++) {
      const m = 0x80 >> (bit & 7);
      if ((addr[bit >> 3]! & m) !== (net[bit >> 3]! & m)) ok = false;
    }
    if (ok && (best === undefined || r.length > best.length)) best = r;
  }
  return best;
}
