// OSPF benchmark (issue 12): a generated LSDB of 1,000 routers and 10,000 prefixes handed over one
// point-to-point adjacency to the VR (`nexthop vr` with an ospf section), BIRD 2 (ospf v2) and FRR
// (ospfd + zebra), one after the other in the same run.
//
// The LSDB is generated from a fixed seed: 1,000 Router-LSAs forming a connected graph (a random
// spanning tree plus as many random extra links: four point-to-point links per router on average,
// costs 1–20, each listed by both ends) and 10,000 /24 stub networks spread over them (10.128.0.0/9).
// Router 0 is the injector: its Router-LSA also holds the point-to-point link to the receiver.
//
// The injector (this file with --injector, a Node process in a namespace of its own) speaks just
// enough OSPFv2 over a kernel raw socket of protocol 89 (a small relay in the system's Python, as
// Node has no raw sockets; the packets are built and parsed here with @nexthop/ospf's codecs): it
// answers Hellos, is master of the database exchange (its router id is the higher) and describes
// every LSA, answers each Link State Request with Link State Updates of the pre-built LSAs, and
// acknowledges what the receiver floods. Measured, per receiver:
//
// - Hello → Full: from the first Hello the injector received from the receiver (the injector
//   answers it at once) to the receiver reporting the neighbour Full (polled every 20 ms: the VR's
//   show.ospf neighbors, `birdc show ospf neighbors`, FRR's `show ip ospf neighbor json`);
// - Full → last route: to all 10,000 prefixes in the receiver's forwarding table (polled every
//   50 ms: the VR's own FIB, `show.counters` fib_routes; BIRD: its routing table, `birdc show route
//   count` of 10.128.0.0/9 — BIRD runs no kernel protocol here; FRR: zebra's `show ip route summary
//   json`, the OSPF routes installed in the kernel FIB);
// - SPF: the receiver's own report of its last run (the VR: show.ospf lastSpfDurationMs and the sum
//   over all runs; FRR: `show ip ospf json` spfLastDurationMsecs; BIRD reports none), and the VR's
//   computeRoutes over the same LSDB in this process (median of 20 runs, warm);
// - CPU time of the receiver's processes from the first Hello to the last route; peak RSS (VmHWM;
//   FRR: ospfd + zebra).
//
// Each receiver runs with its default SPF throttling (the VR: 50 ms delay, 1 s hold; FRR: `timers
// throttle spf 0 50 5000`; BIRD: SPF on its 1 s tick); Hello 1 s, dead 40 s everywhere.
//
// Usage: node bench/ospf-lsdb.ts   (as root; prints Markdown). Environment:
//   BENCH_OSPF_ROUTERS=1000 BENCH_OSPF_PREFIXES=10000 BENCH_OSPF_SEED=12
//   BENCH_OSPF_RECEIVERS=vr,bird,frr BENCH_OSPF_RUNS=3 (medians)
//   BENCH_OSPF_VR_NODE_OPTIONS  passed to the VR's node as NODE_OPTIONS (e.g. --cpu-prof)
//   BENCH_OSPF_BUDGET_S=600  the whole bench's bound; BENCH_OSPF_SETTLE_S=6 (below)
//   BENCH_OSPF_DEBUG=1  the injector's events (LSRs received, with their sizes) on stderr
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { formatIpv4, parseIpv4 } from '@nexthop/addr';
import { request } from '@nexthop/control';
import { cleanupOnExit, destroyAll, Netns, uniqueToken, vethPair } from '@nexthop/netns';
import {
  buildLsa,
  computeRoutes,
  DD_I,
  DD_M,
  DD_MS,
  decodeDd,
  decodeHeader,
  decodeHello,
  decodeLsr,
  decodeLsu,
  encodeDdFixed,
  encodeHello,
  encodeRouterBody,
  finishPacket,
  HEADER_LENGTH,
  INITIAL_SEQUENCE_NUMBER,
  LINK_P2P,
  LINK_STUB,
  LSA_HEADER_LENGTH,
  LSA_ROUTER,
  Lsa,
  OPT_E,
  PT_DD,
  PT_HELLO,
  PT_LSACK,
  PT_LSR,
  PT_LSU,
  type RouterLink,
} from '@nexthop/ospf';
import { startBird } from '../tests/lib/bird.ts';
import { startFrr } from '../tests/lib/frr.ts';
import { startVr } from '../tests/lib/vr.ts';
import { CLK_TCK, processTicks, vmHwmKb } from './lib/proc.ts';
import { median, mib, ratio, sec } from './lib/report.ts';

const env = process.env;
const ROUTERS = Number(env['BENCH_OSPF_ROUTERS'] ?? 1000);
const PREFIXES = Number(env['BENCH_OSPF_PREFIXES'] ?? 10_000);
const SEED = Number(env['BENCH_OSPF_SEED'] ?? 12);
const RECEIVERS = (env['BENCH_OSPF_RECEIVERS'] ?? 'vr,bird,frr').split(',');
const RUNS = Number(env['BENCH_OSPF_RUNS'] ?? 3);
const BUDGET_MS = Number(env['BENCH_OSPF_BUDGET_S'] ?? 600) * 1000;
const STAGE_TIMEOUT_MS = 90_000;
/**
 * Seconds between the receiver's start and the injector's: past MinLSInterval (5 s), so that the
 * receiver's Router-LSA with the new link is not held back by the one it originated at start.
 */
const SETTLE_S = Number(env['BENCH_OSPF_SETTLE_S'] ?? 6);

const INJ_ADDR = '10.89.0.1';
const RX_ADDR = '10.89.0.2';
const RX_RID = RX_ADDR;
/** The generated routers' ids: 172.16.0.1… (all above the receiver's: the injector is master). */
const RID_BASE = 0xac100001;
const PREFIX_BASE = 0x0a800000; // 10.128.0.0/9: room for 32,768 /24s
const PREFIX_RANGE = '10.128.0.0/9';
const HELLO_S = 1;
const DEAD_S = 40;
const MTU = 1500;
const AREA = 0;

// ---------------------------------------------------------------------------------------------
// The LSDB

/** mulberry32: a small seeded generator, so that every run and every receiver get the same LSDB. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Lsdb {
  /** Each Router-LSA's bytes (age 1), router i's at i. */
  lsas: Uint8Array[];
  links: number;
  bytes: number;
}

function generate(): Lsdb {
  const rand = rng(SEED);
  const adj: Map<number, number>[] = Array.from({ length: ROUTERS }, () => new Map());
  const link = (a: number, b: number) => {
    if (a === b || adj[a]!.has(b)) return false;
    const cost = 1 + Math.floor(rand() * 20);
    adj[a]!.set(b, cost);
    adj[b]!.set(a, cost);
    return true;
  };
  for (let i = 1; i < ROUTERS; i++) link(i, Math.floor(rand() * i));
  for (let extra = 0; extra < ROUTERS; )
    if (link(Math.floor(rand() * ROUTERS), Math.floor(rand() * ROUTERS))) extra++;
  const stubs: RouterLink[][] = Array.from({ length: ROUTERS }, () => []);
  for (let p = 0; p < PREFIXES; p++)
    stubs[p % ROUTERS]!.push({
      id: (PREFIX_BASE + p * 256) >>> 0,
      data: 0xffffff00,
      type: LINK_STUB,
      metric: 1,
    });
  const lsas: Uint8Array[] = [];
  let links = 0;
  let bytes = 0;
  for (let i = 0; i < ROUTERS; i++) {
    const rid = (RID_BASE + i) >>> 0;
    const l: RouterLink[] = [];
    if (i === 0) l.push({ id: parseIpv4(RX_RID), data: parseIpv4(INJ_ADDR), type: LINK_P2P, metric: 10 });
    for (const [j, cost] of adj[i]!)
      l.push({ id: (RID_BASE + j) >>> 0, data: rid, type: LINK_P2P, metric: cost });
    links += adj[i]!.size;
    l.push(...stubs[i]!);
    const b = buildLsa(LSA_ROUTER, rid, rid, INITIAL_SEQUENCE_NUMBER, OPT_E, encodeRouterBody(0, l));
    b[1] = 1; // age 1 (outside the checksum)
    lsas.push(b);
    bytes += b.length;
  }
  return { lsas, links: links / 2, bytes };
}

/** The VR's own SPF (computeRoutes) over the LSDB as the receiver holds it; ms per run. */
function spfInProcess(db: Lsdb): { medianMs: number; routes: number } {
  const lsdb = new Map<string, Lsa>();
  const rx = parseIpv4(RX_RID);
  const own = buildLsa(
    LSA_ROUTER,
    rx,
    rx,
    INITIAL_SEQUENCE_NUMBER,
    OPT_E,
    encodeRouterBody(0, [
      { id: RID_BASE, data: parseIpv4(RX_ADDR), type: LINK_P2P, metric: 10 },
      { id: parseIpv4('10.89.0.0'), data: 0xfffffffc, type: LINK_STUB, metric: 10 },
    ]),
  );
  const times: number[] = [];
  let routes = 0;
  for (let run = 0; run < 25; run++) {
    // Fresh Lsa objects each run: the receiver decodes each body once, in its first SPF after arrival.
    lsdb.clear();
    for (const b of [own, ...db.lsas]) {
      const l = new Lsa(b, 1, 0);
      lsdb.set(l.key, l);
    }
    const t0 = performance.now();
    const r = computeRoutes(
      rx,
      [
        {
          id: AREA,
          lsdb,
          interfaces: [
            {
              ifIndex: 0,
              address: parseIpv4(RX_ADDR),
              mask: 0xfffffffc,
              p2pNeighbors: new Map([[RID_BASE, parseIpv4(INJ_ADDR)]]),
            },
          ],
        },
      ],
      new Map(),
      0,
    );
    if (run >= 5) times.push(performance.now() - t0);
    routes = r.routes.size;
  }
  return { medianMs: median(times), routes };
}

// ---------------------------------------------------------------------------------------------
// Injector mode

const RELAY = `
import os, select, socket, struct, sys
dev, addr = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 89)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
s.setsockopt(socket.SOL_SOCKET, 32, 8 << 20)  # SO_SNDBUFFORCE
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton('224.0.0.5') + socket.inet_aton(addr))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(addr))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0xc0)
out = sys.stdout.buffer
buf = b''
while True:
    r, _, _ = select.select([s, 0], [], [])
    if s in r:
        while True:
            try:
                d, a = s.recvfrom(65535, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            p = d[(d[0] & 15) * 4:]
            out.write(socket.inet_aton(a[0]) + struct.pack('!H', len(p)) + p)
        out.flush()
    if 0 in r:
        c = os.read(0, 1 << 16)
        if not c:
            sys.exit(0)
        buf += c
        while len(buf) >= 6:
            n = struct.unpack('!H', buf[4:6])[0]
            if len(buf) < 6 + n:
                break
            s.sendto(buf[6:6 + n], (socket.inet_ntoa(buf[:4]), 0))
            buf = buf[6 + n:]
`;

function injector(dev: string): void {
  const db = generate();
  const byKey = new Map<string, Uint8Array>();
  for (const b of db.lsas) byKey.set(`${b[3]}:${readU32(b, 4)}:${readU32(b, 8)}`, b);
  const ours = RID_BASE;
  const say = (event: string, extra: Record<string, unknown> = {}) =>
    process.stdout.write(`${JSON.stringify({ event, t: Date.now(), ...extra })}\n`);
  const relay = spawn('/usr/bin/python3', ['-c', RELAY, dev, INJ_ADDR], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  relay.on('exit', (code) => {
    say('relayExit', { code });
    process.exit(2);
  });
  const ALL_SPF = parseIpv4('224.0.0.5');
  const send = (pkt: Uint8Array, len: number) => {
    const frame = Buffer.alloc(6 + len);
    frame.writeUInt32BE(ALL_SPF, 0);
    frame.writeUInt16BE(len, 4);
    frame.set(pkt.subarray(0, len), 6);
    relay.stdin!.write(frame);
  };
  const buf = new Uint8Array(MTU);
  const finish = (type: number, length: number) => {
    send(buf, finishPacket(buf, 0, type, length, ours, AREA, { type: 'none' }, null, 0));
  };

  let nbr: number | null = null;
  let state: 'down' | 'exstart' | 'exchange' | 'done' = 'down';
  let ddSeq = 0;
  let ddNext = 0; // index of the next LSA to describe
  let lastDd: Uint8Array | null = null;
  let lastDdAt = 0;
  let ourMore = true;
  const counts = { lsr: 0, lsrEntries: 0, lsuSent: 0, lsasSent: 0, lsuIn: 0, dd: 0 };

  const hello = () => {
    const len = encodeHello(buf, 0, {
      mask: 0xfffffffc,
      helloInterval: HELLO_S,
      options: OPT_E,
      priority: 1,
      deadInterval: DEAD_S,
      dr: 0,
      bdr: 0,
      neighbors: nbr === null ? [] : [nbr],
    });
    finish(PT_HELLO, len);
  };
  const sendDd = (flags: number, headers: Uint8Array[]) => {
    let len = encodeDdFixed(buf, 0, MTU, OPT_E, flags, ddSeq);
    for (const h of headers) {
      buf.set(h.subarray(0, LSA_HEADER_LENGTH), len);
      len += LSA_HEADER_LENGTH;
    }
    finish(PT_DD, len);
    lastDd = buf.slice(0, len);
    lastDdAt = Date.now();
    counts.dd++;
  };
  const resendDd = () => {
    if (lastDd === null) return;
    buf.set(lastDd);
    finish(PT_DD, lastDd.length);
    lastDdAt = Date.now();
  };
  const perDd = Math.floor((MTU - 20 - HEADER_LENGTH - 8) / LSA_HEADER_LENGTH);
  const nextDd = () => {
    const batch = db.lsas.slice(ddNext, ddNext + perDd);
    ddNext += batch.length;
    ourMore = ddNext < db.lsas.length;
    sendDd(DD_MS | (ourMore ? DD_M : 0), batch);
  };
  const lsu = (lsas: Uint8Array[]) => {
    const room = MTU - 20 - HEADER_LENGTH - 4;
    let i = 0;
    while (i < lsas.length) {
      let len = HEADER_LENGTH + 4;
      let n = 0;
      while (i < lsas.length && (n === 0 || len - HEADER_LENGTH - 4 + lsas[i]!.length <= room)) {
        buf.set(lsas[i]!, len);
        len += lsas[i]!.length;
        n++;
        i++;
      }
      writeU32(buf, HEADER_LENGTH, n);
      finish(PT_LSU, len);
      counts.lsuSent++;
      counts.lsasSent += n;
    }
  };

  let firstHello = true;
  const onPacket = (b: Uint8Array) => {
    const h = decodeHeader(b, 0, b.length, { type: 'none' }, null);
    if (typeof h === 'string') return say('drop', { reason: h });
    if (h.type === PT_HELLO) {
      const hl = decodeHello(b, 0, h.length);
      if (typeof hl === 'string') return;
      if (firstHello) {
        firstHello = false;
        nbr = h.routerId;
        say('firstHello', { routerId: formatIpv4(h.routerId) });
        hello(); // listing it: the receiver goes 2-Way, and ExStart on a point-to-point link
      }
      if (state === 'down' && hl.neighbors.includes(ours)) {
        state = 'exstart';
        ddSeq = 1000 + Math.floor(Math.random() * 1e6);
        say('exstart');
        sendDd(DD_I | DD_M | DD_MS, []);
      }
      return;
    }
    if (h.type === PT_DD) {
      const dd = decodeDd(b, 0, h.length);
      if (typeof dd === 'string') return;
      if (state === 'exstart') {
        if ((dd.flags & DD_MS) === 0 && dd.seq === ddSeq) {
          state = 'exchange';
          say('exchange');
          ddSeq++;
          nextDd();
        } else if (dd.flags & DD_I) resendDd(); // it starts too: our I|M|MS may have come before
        return;
      }
      if (state === 'exchange' && (dd.flags & DD_MS) === 0 && dd.seq === ddSeq) {
        const slaveMore = (dd.flags & DD_M) !== 0;
        if (!ourMore && !slaveMore) {
          state = 'done';
          say('exchangeDone', { dds: counts.dd });
          return;
        }
        ddSeq++;
        nextDd();
      }
      return;
    }
    if (h.type === PT_LSR) {
      const entries = decodeLsr(b, 0, h.length);
      if (typeof entries === 'string') return;
      counts.lsr++;
      counts.lsrEntries += entries.length;
      if (env['BENCH_OSPF_DEBUG'] === '1') say('lsr', { n: entries.length, state });
      const out: Uint8Array[] = [];
      for (const e of entries) {
        const l = byKey.get(`${e.type}:${e.id}:${e.adv}`);
        if (l !== undefined) out.push(l);
      }
      lsu(out);
      return;
    }
    if (h.type === PT_LSU) {
      const u = decodeLsu(b, 0, h.length);
      if (typeof u === 'string') return;
      counts.lsuIn++;
      // A direct acknowledgement of each (the receiver's own Router-LSA).
      let len = HEADER_LENGTH;
      for (const [o] of u.lsas) {
        buf.set(b.subarray(o, o + LSA_HEADER_LENGTH), len);
        len += LSA_HEADER_LENGTH;
      }
      finish(PT_LSACK, len);
    }
  };

  let pending: Buffer = Buffer.alloc(0);
  relay.stdout!.on('data', (d: Buffer) => {
    pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
    while (pending.length >= 6) {
      const n = pending.readUInt16BE(4);
      if (pending.length < 6 + n) break;
      onPacket(new Uint8Array(pending.subarray(6, 6 + n)));
      pending = pending.subarray(6 + n);
    }
  });
  setInterval(hello, HELLO_S * 1000);
  setInterval(() => {
    if ((state === 'exstart' || state === 'exchange') && Date.now() - lastDdAt >= 1000) resendDd();
  }, 100);
  setInterval(() => say('counts', counts), 1000);
  hello();
}

function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
}

// ---------------------------------------------------------------------------------------------
// Receivers

interface Receiver {
  label: string;
  log(): string;
  /** Whether the receiver reports the injector Full. */
  full(): Promise<boolean>;
  /** Generated prefixes in its forwarding table. */
  routes(): Promise<number>;
  /** Its SPF report, if any. */
  spf(): Promise<{ lastMs: number | null; runs: number | null; totalMs: number | null }>;
  pids(): number[];
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startVrReceiver(ns: Netns, dev: string): Promise<Receiver> {
  const yaml = `routers:
  rx:
    interfaces:
      eth0: { driver: afpacket, device: ${dev}, addresses: [${RX_ADDR}/30] }
    ospf:
      routerId: ${RX_RID}
      areas:
        0:
          interfaces:
            eth0: { network: point-to-point, cost: 10, helloInterval: ${HELLO_S}, deadInterval: ${DEAD_S} }
`;
  const nodeOptions = env['BENCH_OSPF_VR_NODE_OPTIONS'];
  const saved = process.env['NODE_OPTIONS'];
  if (nodeOptions !== undefined) process.env['NODE_OPTIONS'] = nodeOptions;
  let vr: Awaited<ReturnType<typeof startVr>>;
  try {
    vr = await startVr(ns, 'rx', yaml);
  } finally {
    if (nodeOptions !== undefined) {
      if (saved === undefined) delete process.env['NODE_OPTIONS'];
      else process.env['NODE_OPTIONS'] = saved;
    }
  }
  const fib = async () => ((await vr.counters()).stats['fib_routes'] ?? 0) as number;
  const base = await fib();
  return {
    label: 'VR',
    log: () => vr.log(),
    full: async () => {
      const n = (await request(vr.control, 'show.ospf', { what: 'neighbors' })) as { state: string }[];
      return n.some((x) => x.state === 'Full');
    },
    routes: async () => (await fib()) - base,
    spf: async () => {
      const s = (await request(vr.control, 'show.ospf', {})) as {
        spfRuns: number;
        lastSpfDurationMs: number | null;
        spfTotalMs: number;
      };
      return { lastMs: s.lastSpfDurationMs, runs: s.spfRuns, totalMs: s.spfTotalMs };
    },
    pids: () => [vr.pid],
    stop: async () => {
      await vr.stop();
    },
  };
}

async function startBirdReceiver(ns: Netns, dev: string): Promise<Receiver> {
  const conf = `router id ${RX_RID};
protocol device { scan time 1; }
protocol ospf v2 o {
  ipv4 { import all; export none; };
  area 0 {
    interface "${dev}" { type ptp; cost 10; hello ${HELLO_S}; dead ${DEAD_S}; };
  };
}
`;
  const bird = await startBird(ns, conf);
  const pid = Number(readFileSync(join(bird.dir, 'bird.pid'), 'utf8').trim());
  return {
    label: 'BIRD',
    log: () => bird.log(),
    full: async () => /\bFull\b/.test(await bird.birdc('show ospf neighbors')),
    routes: async () => {
      const out = await bird.birdc(`show route where net ~ [ ${PREFIX_RANGE}+ ] count`);
      return Number(/(\d+) of \d+ routes/.exec(out)?.[1] ?? 0);
    },
    spf: async () => ({ lastMs: null, runs: null, totalMs: null }),
    pids: () => [pid],
    stop: () => bird.stop(),
  };
}

async function startFrrReceiver(ns: Netns, dev: string): Promise<Receiver> {
  const frr = await startFrr(
    ns,
    `hostname rx
interface ${dev}
 ip ospf area 0
 ip ospf network point-to-point
 ip ospf cost 10
 ip ospf hello-interval ${HELLO_S}
 ip ospf dead-interval ${DEAD_S}
router ospf
 ospf router-id ${RX_RID}
`,
    ['ospfd'],
  );
  const pidOf = (d: string) => Number(readFileSync(join(frr.dir, `${d}.pid`), 'utf8').trim());
  const ospfd = pidOf('ospfd');
  const zebra = pidOf('zebra');
  return {
    label: 'FRR',
    log: () => frr.log(),
    full: async () => {
      const out = await frr.json<{ neighbors?: Record<string, { nbrState?: string; state?: string }[]> }>(
        'show ip ospf neighbor json',
      );
      return Object.values(out.neighbors ?? {}).some((l) =>
        l.some((n) => /^Full/.test(n.nbrState ?? n.state ?? '')),
      );
    },
    routes: async () => {
      const s = await frr.json<{ routes?: { type: string; fib: number }[] }>('show ip route summary json');
      return s.routes?.find((r) => r.type === 'ospf')?.fib ?? 0;
    },
    spf: async () => {
      const s = await frr.json<Record<string, unknown>>('show ip ospf json');
      const last = s['spfLastDurationMsecs'];
      return { lastMs: typeof last === 'number' ? last : null, runs: null, totalMs: null };
    },
    pids: () => [ospfd, zebra],
    stop: () => frr.stop(),
  };
}

// ---------------------------------------------------------------------------------------------
// One measure

interface Measure {
  receiver: string;
  /** ms from the first Hello (at the injector) to the receiver reporting Full. */
  full: number;
  /** ms from Full (as polled) to the last route in the FIB. */
  routes: number;
  total: number;
  exchangeDone: number;
  spfLastMs: number | null;
  spfRuns: number | null;
  spfTotalMs: number | null;
  cpuMs: number;
  rssKb: number;
  rssParts: string;
  lsrs: number;
  lsasSent: number;
  load1: number;
}

async function waitUntil(
  check: () => Promise<boolean>,
  intervalMs: number,
  what: string,
  failed: () => string | undefined,
): Promise<number> {
  const deadline = Date.now() + STAGE_TIMEOUT_MS;
  for (;;) {
    const f = failed();
    if (f !== undefined) throw new Error(`${what}: ${f}`);
    if (await check()) return Date.now();
    if (Date.now() > deadline) throw new Error(`${what}: not done in ${STAGE_TIMEOUT_MS / 1000} s`);
    await sleep(intervalMs);
  }
}

async function measure(kind: string): Promise<Measure> {
  const nsI = await Netns.create('ospfi');
  const nsR = await Netns.create('ospfr');
  let receiver: Receiver | undefined;
  const events: Record<string, unknown>[] = [];
  try {
    const t = uniqueToken();
    const iDev = `i0-${t}`;
    const rDev = `r0-${t}`;
    await vethPair(nsI, iDev, nsR, rDev);
    await nsI.execOk('ip', ['addr', 'add', `${INJ_ADDR}/30`, 'dev', iDev]);
    if (kind === 'vr') receiver = await startVrReceiver(nsR, rDev);
    else {
      await nsR.execOk('ip', ['addr', 'add', `${RX_ADDR}/30`, 'dev', rDev]);
      receiver = kind === 'bird' ? await startBirdReceiver(nsR, rDev) : await startFrrReceiver(nsR, rDev);
    }
    const rx = receiver;
    await sleep(SETTLE_S * 1000);
    const child = nsI.spawn(process.execPath, [import.meta.filename, '--injector', iDev]);
    let text = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
        events.push(JSON.parse(text.slice(0, nl)) as Record<string, unknown>);
        text = text.slice(nl + 1);
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const event = (name: string) => events.find((e) => e['event'] === name);
    const lastEvent = (name: string) => events.findLast((e) => e['event'] === name);
    const failed = () =>
      child.exitCode !== null
        ? `injector exited ${child.exitCode}: ${stderr}${JSON.stringify(events.slice(-3))}`
        : undefined;
    await waitUntil(
      async () => event('firstHello') !== undefined,
      10,
      `${rx.label}: a first Hello`,
      failed,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${rx.log().slice(-3000)}`);
    });
    const hello = event('firstHello')!['t'] as number;
    const ticks = () => rx.pids().reduce((sum, p) => sum + processTicks(p), 0);
    const ticks0 = ticks();
    const load1 = loadavg()[0]!;
    const fullAt = await waitUntil(() => rx.full(), 20, `${rx.label}: Full`, failed).catch((e: Error) => {
      throw new Error(`${e.message}\n${JSON.stringify(events.slice(-3))}\n${rx.log().slice(-3000)}`);
    });
    const doneAt = await waitUntil(
      async () => (await rx.routes()) >= PREFIXES,
      50,
      `${rx.label}: routes`,
      failed,
    );
    const cpuMs = ((ticks() - ticks0) * 1000) / CLK_TCK;
    // Any SPF run still due (throttling) is over well within 2 s.
    await sleep(2000);
    const spf = await rx.spf();
    const pids = rx.pids();
    const parts = pids.map(vmHwmKb);
    const counts = lastEvent('counts') as { lsr?: number; lsasSent?: number } | undefined;
    const exchange = event('exchangeDone');
    if (env['BENCH_OSPF_DEBUG'] === '1')
      console.error(
        events
          .filter((e) => e['event'] !== 'counts')
          .map((e) => ({ ...e, t: (e['t'] as number) - hello, full: fullAt - hello })),
      );
    return {
      receiver: rx.label,
      full: fullAt - hello,
      routes: doneAt - fullAt,
      total: doneAt - hello,
      exchangeDone: exchange === undefined ? Number.NaN : (exchange['t'] as number) - hello,
      spfLastMs: spf.lastMs,
      spfRuns: spf.runs,
      spfTotalMs: spf.totalMs,
      cpuMs,
      rssKb: parts.reduce((x, y) => x + y, 0),
      rssParts: parts.length > 1 ? parts.map((k) => `${Math.round(k / 1024)}`).join(' + ') : '',
      lsrs: counts?.lsr ?? 0,
      lsasSent: counts?.lsasSent ?? 0,
      load1,
    };
  } finally {
    await receiver?.stop().catch(() => {});
    await Promise.all([nsI.destroy(), nsR.destroy()]);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const msText = (ms: number) => (Number.isFinite(ms) ? `${ms.toFixed(1)} ms` : '—');

function report(results: Measure[][]): void {
  console.log(
    '| receiver | first Hello → Full | Full → last route in FIB | first Hello → last route | its last SPF run | SPF runs (their time) | CPU time | peak RSS | LSRs answered | load avg (1 min) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const med: Record<
    string,
    { full: number; routes: number; total: number; spf: number; cpu: number; rss: number }
  > = {};
  for (const runs of results) {
    if (runs.length === 0) continue;
    const m = (f: (x: Measure) => number | null) => median(runs.map((x) => f(x) ?? Number.NaN));
    const label = runs[0]!.receiver;
    const r = {
      full: m((x) => x.full),
      routes: m((x) => x.routes),
      total: m((x) => x.total),
      spf: m((x) => x.spfLastMs),
      cpu: m((x) => x.cpuMs),
      rss: m((x) => x.rssKb),
    };
    med[label] = r;
    const n = runs.length > 1 ? ` (median of ${runs.length})` : '';
    const parts = runs[0]!.rssParts === '' ? '' : ` (${runs[0]!.rssParts})`;
    const spfRuns =
      runs[0]!.spfRuns === null ? '—' : `${m((x) => x.spfRuns)} (${msText(m((x) => x.spfTotalMs))})`;
    console.log(
      `| ${label}${n} | ${sec(r.full)} | ${sec(r.routes)} | ${sec(r.total)} | ${msText(r.spf)} | ${spfRuns} | ${sec(r.cpu)} | ${mib(r.rss)}${parts} | ${m((x) => x.lsrs)} | ${runs.map((x) => x.load1.toFixed(1)).join(', ')} |`,
    );
  }
  const vr = med['VR'];
  if (vr === undefined) return;
  console.log();
  console.log(
    '| VR ÷ … | Hello → Full | Full → last route | Hello → last route | last SPF run | CPU time | peak RSS |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const label of ['BIRD', 'FRR']) {
    const o = med[label];
    if (o === undefined) continue;
    console.log(
      `| ${label} | ${ratio(vr.full, o.full)} | ${ratio(vr.routes, o.routes)} | ${ratio(vr.total, o.total)} | ${ratio(vr.spf, o.spf)} | ${ratio(vr.cpu, o.cpu)} | ${ratio(vr.rss, o.rss)} |`,
    );
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('Needs root (namespaces): not run.');
    return;
  }
  if (!existsSync('/usr/bin/python3')) {
    console.log('Needs /usr/bin/python3 (the injector’s raw socket): not run.');
    return;
  }
  cleanupOnExit();
  const watchdog = setTimeout(() => {
    console.error(`ospf-lsdb: over its ${BUDGET_MS / 1000} s budget, stopping`);
    process.exit(1); // the exit handler removes the namespaces and kills what runs in them
  }, BUDGET_MS);
  watchdog.unref();
  const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
  const kinds = RECEIVERS.filter((k) =>
    k === 'bird' ? have('bird') : k === 'frr' ? existsSync('/usr/lib/frr/ospfd') && have('vtysh') : true,
  );
  const birdProbe = spawnSync('bird', ['--version'], { encoding: 'utf8' });
  const birdVersion = /BIRD version ([\d.]+)/.exec(`${birdProbe.stdout}${birdProbe.stderr}`)?.[1];
  const frrVersion = existsSync('/usr/lib/frr/ospfd')
    ? /version ([\d.]+)/.exec(execFileSync('/usr/lib/frr/ospfd', ['--version'], { encoding: 'utf8' }))?.[1]
    : undefined;
  const db = generate();
  const spf = spfInProcess(db);
  console.log(
    `${new Date().toISOString()}; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, ` +
      `BIRD ${birdVersion ?? 'absent'}, FRR ${frrVersion ?? 'absent'}; load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} at the start. ${RUNS} run(s) per receiver, in turn; times are wall clock.`,
  );
  console.log();
  console.log(
    `LSDB (seed ${SEED}): ${ROUTERS.toLocaleString('en')} Router-LSAs, ${db.links.toLocaleString('en')} point-to-point links, ` +
      `${PREFIXES.toLocaleString('en')} stub /24s, ${(db.bytes / 1024).toFixed(0)} KiB. The VR's computeRoutes over it in ` +
      `this process: ${msText(spf.medianMs)} (median of 20, bodies decoded in each run), ${spf.routes.toLocaleString('en')} routes.`,
  );
  console.log();
  const results: Measure[][] = kinds.map(() => []);
  try {
    for (let run = 0; run < RUNS; run++)
      for (let k = 0; k < kinds.length; k++) {
        try {
          const m = await measure(kinds[k]!);
          results[k]!.push(m);
          console.error(`ospf-lsdb: ${m.receiver}: ${JSON.stringify(m)}`);
        } catch (e) {
          console.error(`ospf-lsdb: ${kinds[k]}: ${(e as Error).message}`);
          process.exitCode = 1;
        }
      }
    report(results);
  } finally {
    await destroyAll();
  }
  console.log();
  console.log(
    'First Hello: the injector received the receiver’s first Hello (and answered at once). Full: the receiver reports ' +
      'the injector Full (polled every 20 ms). Last route: all generated prefixes in its FIB (the VR: its own FIB; BIRD: ' +
      'its table; FRR: zebra’s OSPF routes in the kernel), polled every 50 ms. CPU time: the receiver’s processes, first ' +
      'Hello to last route. Peak RSS: VmHWM (FRR: ospfd + zebra).',
  );
}

if (process.argv[2] === '--injector') injector(process.argv[3]!);
else await main();
