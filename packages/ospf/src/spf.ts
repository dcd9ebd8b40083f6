// The routing table calculation (RFC 2328 §16): Dijkstra over one area's router and network LSAs
// (§16.1) with equal-cost next hops, stub networks (§16.1 stage 2), inter-area routes from summary
// LSAs (§16.2) and AS-external routes (§16.4). Pure: the LSDBs and this router's interfaces in, a
// routing table out.
import { ipv4Mask } from '@nexthop/addr';
import {
  LINK_P2P,
  LINK_STUB,
  LINK_TRANSIT,
  LS_INFINITY,
  LSA_EXTERNAL,
  LSA_NETWORK,
  LSA_ROUTER,
  LSA_SUMMARY_ASBR,
  LSA_SUMMARY_NET,
  MAX_AGE,
  RLSA_B,
  RLSA_E,
} from './constants.ts';
import type { Lsa, NetworkBody, RouterBody } from './lsa.ts';
import type { OspfNextHop, OspfRoute, OspfRouteType } from './types.ts';

/** What SPF needs of one of this router's interfaces in the area. */
export interface SpfInterface {
  readonly ifIndex: number;
  readonly address: number;
  readonly mask: number;
  /** Point-to-point neighbours by router id → their address. */
  readonly p2pNeighbors: ReadonlyMap<number, number>;
}

export interface SpfArea {
  readonly id: number;
  readonly lsdb: ReadonlyMap<string, Lsa>;
  readonly interfaces: readonly SpfInterface[];
}

interface Vertex {
  readonly key: string;
  readonly router: boolean;
  /** Router id, or the network LSA's Link State ID. */
  readonly id: number;
  readonly lsa: Lsa;
  dist: number;
  hops: OspfNextHop[];
  /** For a network directly attached to the root: the root's interface on it. */
  directIf: number;
  done: boolean;
}

/** A router reached by SPF (area border and AS boundary routers matter). */
export interface BorderRouter {
  readonly id: number;
  readonly area: number;
  readonly dist: number;
  readonly flags: number;
  readonly hops: readonly OspfNextHop[];
  /** Reached through an ASBR-summary-LSA (type 4) rather than in the area's SPF tree. */
  readonly inter?: boolean;
}

export interface SpfResult {
  readonly routes: Map<string, OspfRoute>;
  readonly routers: Map<number, BorderRouter[]>;
}

export function prefixKey(network: number, length: number): string {
  return `${network >>> 0}/${length}`;
}

function maskLength(mask: number): number {
  let n = 0;
  let m = mask >>> 0;
  while (m & 0x80000000) {
    n++;
    m = (m << 1) >>> 0;
  }
  return m === 0 ? n : -1;
}

function addHops(into: OspfNextHop[], from: readonly OspfNextHop[]): void {
  for (const h of from)
    if (!into.some((x) => x.gateway === h.gateway && x.ifIndex === h.ifIndex)) into.push(h);
}

function usable(lsa: Lsa | undefined, now: number): lsa is Lsa {
  return lsa !== undefined && lsa.age(now) < MAX_AGE;
}

/** Dijkstra over one area (§16.1); returns its vertices. */
function areaSpf(area: SpfArea, routerId: number, now: number): Vertex[] {
  const db = area.lsdb;
  const rootLsa = db.get(`${LSA_ROUTER}:${routerId >>> 0}:${routerId >>> 0}`);
  if (!usable(rootLsa, now)) return [];
  const networks = new Map<number, Lsa>();
  for (const l of db.values()) {
    if (l.type !== LSA_NETWORK || !usable(l, now)) continue;
    const prev = networks.get(l.id);
    if (prev === undefined || l.seq > prev.seq) networks.set(l.id, l);
  }
  const vertices = new Map<string, Vertex>();
  const root: Vertex = {
    key: `R${routerId}`,
    router: true,
    id: routerId,
    lsa: rootLsa,
    dist: 0,
    hops: [],
    directIf: -1,
    done: false,
  };
  vertices.set(root.key, root);
  const candidates: Vertex[] = [];
  let v: Vertex | undefined = root;
  while (v !== undefined) {
    v.done = true;
    const body = v.lsa.body();
    if (body !== null) {
      if (v.router && body.kind === 'router') {
        for (const link of body.links) {
          let w: Lsa | undefined;
          let wKey: string;
          if (link.type === LINK_P2P) {
            w = db.get(`${LSA_ROUTER}:${link.id}:${link.id}`);
            wKey = `R${link.id}`;
          } else if (link.type === LINK_TRANSIT) {
            w = networks.get(link.id);
            wKey = `N${link.id}`;
          } else continue;
          if (!usable(w, now)) continue;
          if (!linksBack(w, v)) continue;
          relax(v, w, wKey, link.type === LINK_P2P, v.dist + link.metric, link, area, vertices, candidates);
        }
      } else if (!v.router && body.kind === 'network') {
        for (const rid of body.routers) {
          const w = db.get(`${LSA_ROUTER}:${rid}:${rid}`);
          if (!usable(w, now)) continue;
          if (!linksBack(w, v)) continue;
          relax(v, w, `R${rid}`, true, v.dist, null, area, vertices, candidates);
        }
      }
    }
    // The next vertex: the closest candidate, networks before routers at equal distance (§16.1 step 3).
    let best = -1;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      const b = best < 0 ? undefined : candidates[best]!;
      if (b === undefined || c.dist < b.dist || (c.dist === b.dist && !c.router && b.router)) best = i;
    }
    v = best < 0 ? undefined : candidates.splice(best, 1)[0];
  }
  return [...vertices.values()].filter((x) => x.done);
}

/** Whether w's LSA has a link back to v (§16.1 step 2b). */
function linksBack(w: Lsa, v: Vertex): boolean {
  const body = w.body();
  if (body === null) return false;
  if (body.kind === 'network') return v.router && body.routers.includes(v.id);
  if (body.kind !== 'router') return false;
  for (const l of body.links) {
    if (v.router && (l.type === LINK_P2P || l.type === 4) && l.id === v.id) return true;
    if (!v.router && l.type === LINK_TRANSIT && l.id === v.id) return true;
  }
  return false;
}

function relax(
  v: Vertex,
  wLsa: Lsa,
  wKey: string,
  wRouter: boolean,
  dist: number,
  link: { id: number; data: number } | null,
  area: SpfArea,
  vertices: Map<string, Vertex>,
  candidates: Vertex[],
): void {
  let w = vertices.get(wKey);
  if (w?.done) return;
  if (w !== undefined && dist > w.dist) return;
  const hops = nextHops(v, wLsa, wRouter, link, area);
  if (w === undefined) {
    w = {
      key: wKey,
      router: wRouter,
      id: wRouter ? wLsa.adv : wLsa.id,
      lsa: wLsa,
      dist,
      hops: [],
      directIf: -1,
      done: false,
    };
    vertices.set(wKey, w);
    candidates.push(w);
  } else if (dist < w.dist) {
    w.dist = dist;
    w.hops = [];
    w.directIf = -1;
  }
  addHops(w.hops, hops.hops);
  if (hops.directIf >= 0) w.directIf = hops.directIf;
}

/** §16.1.1: the next hops to w through its parent v. */
function nextHops(
  v: Vertex,
  w: Lsa,
  wRouter: boolean,
  link: { id: number; data: number } | null,
  area: SpfArea,
): { hops: OspfNextHop[]; directIf: number } {
  if (v.dist === 0 && v.router && link !== null) {
    // The root: the link's data is our interface address.
    const ifc = area.interfaces.find((i) => i.address === link.data);
    if (ifc === undefined) return { hops: [], directIf: -1 };
    if (!wRouter) return { hops: [{ gateway: 0, ifIndex: ifc.ifIndex }], directIf: ifc.ifIndex };
    const gw = ifc.p2pNeighbors.get(w.adv);
    return { hops: gw === undefined ? [] : [{ gateway: gw, ifIndex: ifc.ifIndex }], directIf: -1 };
  }
  if (!v.router && v.directIf >= 0 && wRouter) {
    // A router on a network the root is attached to: its address on that network.
    const body = w.body() as RouterBody | null;
    const l = body?.links.find((x) => x.type === LINK_TRANSIT && x.id === v.id);
    return { hops: l === undefined ? [] : [{ gateway: l.data, ifIndex: v.directIf }], directIf: -1 };
  }
  return { hops: v.hops, directIf: -1 };
}

function better(type: OspfRouteType, cost: number, t2: number, r: OspfRoute): number {
  const rank = ['intra-area', 'inter-area', 'external-1', 'external-2'];
  const a = rank.indexOf(type);
  const b = rank.indexOf(r.type);
  if (a !== b) return a < b ? 1 : -1;
  if (type === 'external-2' && t2 !== (r.type2Cost ?? 0)) return t2 < (r.type2Cost ?? 0) ? 1 : -1;
  if (cost !== r.cost) return cost < r.cost ? 1 : -1;
  return 0;
}

function offer(
  routes: Map<string, OspfRoute>,
  network: number,
  length: number,
  type: OspfRouteType,
  cost: number,
  area: number,
  hops: readonly OspfNextHop[],
  type2Cost = 0,
): void {
  if (hops.length === 0) return;
  network = (network & ipv4Mask(length)) >>> 0;
  const key = prefixKey(network, length);
  const cur = routes.get(key);
  const cmp = cur === undefined ? 1 : better(type, cost, type2Cost, cur);
  if (cmp < 0) return;
  const nextHops: OspfNextHop[] = cmp === 0 && cur !== undefined ? [...cur.nextHops] : [];
  addHops(nextHops, hops);
  routes.set(key, {
    network,
    length,
    type,
    cost,
    ...(type === 'external-2' ? { type2Cost } : {}),
    area,
    nextHops,
  });
}

/**
 * The routing table: every area's SPF tree, its stub networks, then summaries (from the backbone
 * only when this router is an area border router) and AS-external LSAs. Prefixes of this router's
 * own attached networks are left out (they are connected routes).
 */
export function computeRoutes(
  routerId: number,
  areas: readonly SpfArea[],
  externals: ReadonlyMap<string, Lsa>,
  now: number,
): SpfResult {
  const routes = new Map<string, OspfRoute>();
  const routers = new Map<number, BorderRouter[]>();
  const attached = new Set<string>();
  for (const a of areas)
    for (const i of a.interfaces) {
      const len = maskLength(i.mask);
      attached.add(prefixKey((i.address & i.mask) >>> 0, len));
    }
  const abr = areas.filter((a) => a.interfaces.length > 0).length > 1;
  for (const area of areas) {
    const vs = areaSpf(area, routerId, now);
    for (const v of vs) {
      if (v.dist === 0 && v.router) continue;
      const body = v.lsa.body();
      if (body === null) continue;
      if (v.router && body.kind === 'router') {
        const list = routers.get(v.id) ?? [];
        list.push({ id: v.id, area: area.id, dist: v.dist, flags: body.flags, hops: v.hops });
        routers.set(v.id, list);
      } else if (!v.router && body.kind === 'network') {
        const nb = body as NetworkBody;
        const len = maskLength(nb.mask);
        if (len >= 0 && v.directIf < 0) offer(routes, v.id, len, 'intra-area', v.dist, area.id, v.hops);
      }
    }
    // Stage 2: stub links of every router in the tree.
    for (const v of vs) {
      if (!v.router || v.dist === 0) continue;
      const body = v.lsa.body();
      if (body === null || body.kind !== 'router') continue;
      for (const l of body.links) {
        if (l.type !== LINK_STUB) continue;
        const len = maskLength(l.data);
        if (len < 0) continue;
        offer(routes, l.id, len, 'intra-area', v.dist + l.metric, area.id, v.hops);
      }
    }
  }
  // §16.2: summaries, from the backbone only when we are an ABR.
  for (const area of areas) {
    if (abr && area.id !== 0) continue;
    for (const l of area.lsdb.values()) {
      if (l.type !== LSA_SUMMARY_NET && l.type !== LSA_SUMMARY_ASBR) continue;
      if (l.adv === routerId || !usable(l, now)) continue;
      const body = l.body();
      if (body === null || body.kind !== 'summary' || body.metric >= LS_INFINITY) continue;
      const br = routers.get(l.adv)?.find((r) => r.area === area.id);
      if (br === undefined || (br.flags & RLSA_B) === 0) continue;
      if (l.type === LSA_SUMMARY_NET) {
        const len = maskLength(body.mask);
        if (len < 0) continue;
        const key = prefixKey((l.id & body.mask) >>> 0, len);
        if (routes.get(key)?.type === 'intra-area') continue;
        offer(routes, l.id, len, 'inter-area', br.dist + body.metric, area.id, br.hops);
      } else {
        const list = routers.get(l.id) ?? [];
        if (list.some((r) => r.area === area.id && r.dist <= br.dist + body.metric)) continue;
        list.push({
          id: l.id,
          area: area.id,
          dist: br.dist + body.metric,
          flags: RLSA_E,
          hops: br.hops,
          inter: true,
        });
        routers.set(l.id, list);
      }
    }
  }
  // §16.4: AS-external routes.
  for (const l of externals.values()) {
    if (l.type !== LSA_EXTERNAL || l.adv === routerId || !usable(l, now)) continue;
    const body = l.body();
    if (body === null || body.kind !== 'external' || body.metric >= LS_INFINITY) continue;
    const len = maskLength(body.mask);
    if (len < 0) continue;
    let asbr: BorderRouter | undefined;
    for (const r of routers.get(l.adv) ?? []) {
      if ((r.flags & RLSA_E) === 0) continue;
      if (asbr === undefined || r.dist < asbr.dist) asbr = r;
    }
    if (asbr === undefined) continue;
    let hops = asbr.hops;
    let dist = asbr.dist;
    if (body.forward !== 0) {
      const via = lookup(routes, body.forward);
      if (via === undefined || via.type === 'external-1' || via.type === 'external-2') continue;
      dist = via.cost;
      hops = via.nextHops;
    }
    const key = prefixKey((l.id & body.mask) >>> 0, len);
    if (attached.has(key)) continue;
    const cur = routes.get(key);
    if (cur !== undefined && (cur.type === 'intra-area' || cur.type === 'inter-area')) continue;
    if (body.e2) offer(routes, l.id, len, 'external-2', dist, asbr.area, hops, body.metric);
    else offer(routes, l.id, len, 'external-1', dist + body.metric, asbr.area, hops);
  }
  for (const k of attached) routes.delete(k);
  return { routes, routers };
}

/** The longest-prefix route holding addr. */
function lookup(routes: ReadonlyMap<string, OspfRoute>, addr: number): OspfRoute | undefined {
  let best: OspfRoute | undefined;
  for (const r of routes.values()) {
    if ((addr & ipv4Mask(r.length)) >>> 0 !== r.network) continue;
    if (best === undefined || r.length > best.length) best = r;
  }
  return best;
}
