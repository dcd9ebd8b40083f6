// Full-table BGP feed (issue 11): the RIPE NCC RIS IPv4 table (1.04 M prefixes) and IPv6 table, with
// the paths of ../shared/tools/bgp-paths.py (seeded, ~87 k attribute sets), fed over one eBGP session
// into the VR (`nexthop vr` with a bgp section), BIRD 2 and FRR (bgpd + zebra), one after the other
// in the same run, then that day's RIS updates replayed at full speed.
//
// The feeder (this file with --feeder, a Node process on the kernel's TCP in a namespace of its own)
// gets every UPDATE pre-encoded by @nexthop/bgp's UpdateEncoder (prefixes grouped by attribute set,
// as many as fit a 4096-octet message), so it does no work during a measure but writing bytes to a
// socket. Each receiver runs in another namespace on a veth to the feeder's. Measured:
//
// - load: from Established (the feeder got the receiver's KEEPALIVE) to the last prefix in the
//   receiver's RIB (BIRD: "N imported"; FRR: bgpd's pfxRcd) and in its FIB (the VR: its own FIB's
//   size in show.counters; BIRD with a kernel protocol, FRR's zebra: the namespace's kernel FIB,
//   /proc/<pid>/net/fib_triestat or rt6_stats), polled every 50–200 ms;
// - peak resident memory (VmHWM) of the receiver's processes (FRR: bgpd + zebra);
// - replay: the day's updates (an announce alternates between two synthesised paths, so that each
//   is a change; runs of withdrawals share a message), then a sentinel prefix; from the first byte
//   written to the receiver holding the sentinel (the VR: its UPDATE counter), as updates/s.
//
// Usage: node bench/bgp-feed.ts   (as root; prints Markdown). Environment:
//   BENCH_BGP_PREFIXES=N   only the first N prefixes of each table and N lines of each update file
//   BENCH_BGP_FAMILIES=4,6 BENCH_BGP_RECEIVERS=vr,bird,bird-kernel,frr BENCH_BGP_RUNS=1 (medians)
//   BENCH_BGP_NO_REPLAY=1  the table loads only
//   BENCH_BGP_VR_NODE_OPTIONS  passed to the VR's node as NODE_OPTIONS (e.g. --cpu-prof)
//   BENCH_BGP_FEED_CACHE=dir   keep the encoded feed there and reuse it (comparing builds)
//   BENCH_BGP_SIGNAL_AFTER_LOAD=SIGUSR2  sent to the receiver once loaded (with --heapsnapshot-signal),
//     then BENCH_BGP_SIGNAL_WAIT_S (60) seconds for it to write its snapshot
// Source of the data: RIPE NCC RIS (../shared/data/ris/README.md).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseIpv4, parseIpv6, parseIpv6Prefix } from '@nexthop/addr';
import {
  AS_SEQUENCE,
  encodeKeepalive,
  encodeOpen,
  makeAttributes,
  type PathAttributes,
  UpdateEncoder,
} from '@nexthop/bgp';
import { cleanupOnExit, destroyAll, Netns, uniqueToken, vethPair, waitFor } from '@nexthop/netns';
import { startBird } from '../tests/lib/bird.ts';
import { startFrr } from '../tests/lib/frr.ts';
import { startVr } from '../tests/lib/vr.ts';
import { CLK_TCK, processTicks, vmHwmKb } from './lib/proc.ts';
import { median, mib, ratio, sec } from './lib/report.ts';

type Family = 4 | 6;

const DATA = join(import.meta.dirname, '../../shared/data/ris');
const PATHS = join(import.meta.dirname, '../../shared/tools/bgp-paths.py');
const DAY = '2026-05-11';
const FEEDER_AS = 65000;
const RX_AS = 65001;
const ADDR = {
  4: { feeder: '10.179.0.1', rx: '10.179.0.2', plen: 24 },
  6: { feeder: '2001:db8:179::1', rx: '2001:db8:179::2', plen: 64 },
} as const;
/** Announced last in a replay: its arrival says the receiver has taken every update before it. */
const SENTINEL = {
  4: { prefix: '198.18.0.0/24', addr: '198.18.0.1' },
  6: { prefix: '2001:db8:ffff::/48', addr: '2001:db8:ffff::1' },
} as const;
const ROUTER_ID = 0x0ab30001;

const env = process.env;
const LIMIT = Number(env['BENCH_BGP_PREFIXES'] ?? 0) || Number.POSITIVE_INFINITY;
const FAMILIES = (env['BENCH_BGP_FAMILIES'] ?? '4,6').split(',').map(Number) as Family[];
const RECEIVERS = (env['BENCH_BGP_RECEIVERS'] ?? 'vr,bird,bird-kernel,frr').split(',');
const RUNS = Number(env['BENCH_BGP_RUNS'] ?? 1);
const REPLAY = env['BENCH_BGP_NO_REPLAY'] !== '1';
/** Each wait's bound; the whole bench is bounded by BUDGET_MS. */
const LOAD_TIMEOUT_MS = 150_000;
const REPLAY_TIMEOUT_MS = 150_000;
const DOWN_TIMEOUT_MS = 120_000;
const BUDGET_MS = Number(env['BENCH_BGP_BUDGET_S'] ?? 600) * 1000;

// ---------------------------------------------------------------------------------------------
// The feed, pre-encoded

interface Feed {
  family: Family;
  dir: string;
  /** OPEN-to-End-of-RIB bytes are in files the feeder reads. */
  tableFile: string;
  replayFile: string;
  prefixes: number;
  sets: number;
  tableMessages: number;
  tableBytes: number;
  replayLines: number;
  replayAnnounces: number;
  replayWithdraws: number;
  replayMessages: number;
  replaySets: number;
  /** Prefixes the receiver holds after the replay, the sentinel included. */
  afterReplay: number;
}

function gunzipLines(file: string): string[] {
  return gunzipSync(readFileSync(file)).toString('latin1').split('\n');
}

/** bgp-paths.py's "prefix\tpath\tcommunities" lines for the prefixes in `file`. */
function paths(file: string, seed?: number): string[] {
  const args = [PATHS, file, ...(seed === undefined ? [] : ['--seed', String(seed)])];
  return execFileSync('python3', args, { encoding: 'latin1', maxBuffer: 1 << 30 }).split('\n');
}

function attributes(family: Family, path: string, comm: string): PathAttributes {
  return makeAttributes({
    origin: 0,
    asPath: [{ type: AS_SEQUENCE, asns: [FEEDER_AS, ...path.split(' ').map(Number)] }],
    ...(family === 4 ? { nextHop: parseIpv4(ADDR[4].feeder) } : { mpNextHop: parseIpv6(ADDR[6].feeder) }),
    communities:
      comm.length > 0
        ? comm.split(' ').map((c) => {
            const [a, v] = c.split(':');
            return ((+a! << 16) | +v!) >>> 0;
          })
        : undefined,
  });
}

/** Prefixes of one family in arrays the encoder takes (v4: numbers; v6: 16 octets each). */
class PrefixArray {
  readonly family: Family;
  readonly lengths: Uint8Array;
  readonly networks: Uint32Array;
  readonly bytes: Uint8Array;
  n = 0;
  constructor(family: Family, capacity: number) {
    this.family = family;
    this.lengths = new Uint8Array(capacity);
    this.networks = new Uint32Array(family === 4 ? capacity : 0);
    this.bytes = new Uint8Array(family === 6 ? capacity * 16 : 0);
  }
  push(text: string): void {
    const slash = text.indexOf('/');
    if (this.family === 4) this.networks[this.n] = parseIpv4(text.slice(0, slash));
    else this.bytes.set(parseIpv6Prefix(text).network, this.n * 16);
    this.lengths[this.n++] = +text.slice(slash + 1);
  }
  announce(enc: UpdateEncoder, a: PathAttributes, from: number, to: number): void {
    const r =
      this.family === 4
        ? enc.announce4(a, this.networks, this.lengths, from, to)
        : enc.announce6(a, this.bytes, this.lengths, from, to);
    if (r < 0) throw new Error('attribute set too large');
  }
  withdraw(enc: UpdateEncoder, from: number, to: number): void {
    if (this.family === 4) enc.withdraw4(this.networks, this.lengths, from, to);
    else enc.withdraw6(this.bytes, this.lengths, from, to);
  }
}

/** Whether a table prefix holds the sentinel's address (it would then answer for it). */
function coversSentinel(family: Family, prefix: string): boolean {
  const [addr, len] = prefix.split('/') as [string, string];
  const l = +len;
  if (family === 4) {
    const mask = l === 0 ? 0 : (~0 << (32 - l)) >>> 0;
    return (parseIpv4(addr) & mask) >>> 0 === (parseIpv4(SENTINEL[4].addr) & mask) >>> 0;
  }
  const a = parseIpv6(addr);
  const s = parseIpv6(SENTINEL[6].addr);
  for (let bit = 0; bit < l; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((a[bit >> 3]! & m) !== (s[bit >> 3]! & m)) return false;
  }
  return true;
}

function buildFeed(family: Family, dir: string): Feed {
  const tableFile = join(DATA, `ipv${family}-table-${DAY}.txt.gz`);
  const updatesFile = join(DATA, `ipv${family}-updates-${DAY}.txt.gz`);
  let source = tableFile;
  if (Number.isFinite(LIMIT)) {
    source = join(dir, `table${family}.txt`);
    writeFileSync(source, `${gunzipLines(tableFile).slice(0, LIMIT).join('\n')}\n`);
  }
  // The table, grouped by attribute set in the order each set first appears.
  const setOf = new Map<string, number>();
  const members: number[][] = [];
  const texts: string[] = [];
  const setKeys: string[] = [];
  for (const line of paths(source)) {
    if (line.length === 0) continue;
    const tab = line.indexOf('\t');
    const prefix = line.slice(0, tab);
    const key = line.slice(tab + 1);
    let s = setOf.get(key);
    if (s === undefined) {
      s = members.length;
      setOf.set(key, s);
      members.push([]);
      setKeys.push(key);
    }
    members[s]!.push(texts.length);
    texts.push(prefix);
  }
  const sentinelAttrs = attributes(family, '64496', '');
  for (const p of texts)
    if (coversSentinel(family, p)) throw new Error(`${p} in the table covers the sentinel`);
  const table = new PrefixArray(family, texts.length);
  const starts: number[] = [];
  for (const m of members) {
    starts.push(table.n);
    for (const i of m) table.push(texts[i]!);
  }
  starts.push(table.n);
  const enc = new UpdateEncoder({ as4: true, extendedMessage: false });
  for (let s = 0; s < members.length; s++) {
    const [path, comm] = setKeys[s]!.split('\t') as [string, string];
    table.announce(enc, attributes(family, path, comm ?? ''), starts[s]!, starts[s + 1]!);
  }
  enc.endOfRib(family === 4 ? 1 : 2, 1);
  const tableMessages = enc.messages;
  const tableBytes = enc.take();
  writeFileSync(join(dir, `table${family}.bin`), tableBytes);

  // The day's updates: an announce takes, in turn, the paths bgp-paths.py gives its prefix with
  // seeds 1 and 2 (a change each time, as a flapping route's would be).
  const lines = gunzipLines(updatesFile).filter((l) => l.length > 2);
  const updates = Number.isFinite(LIMIT) ? lines.slice(0, LIMIT) : lines;
  const announced = [...new Set(updates.filter((l) => l[0] === 'A').map((l) => l.slice(2)))];
  for (const p of announced)
    if (coversSentinel(family, p)) throw new Error(`${p} in the updates covers the sentinel`);
  const announcedFile = join(dir, `announced${family}.txt`);
  writeFileSync(announcedFile, `${announced.join('\n')}\n`);
  const replaySetOf = new Map<string, number>();
  const replayAttrs: PathAttributes[] = [];
  const variants = new Map<string, [number, number]>();
  for (const [k, seed] of [
    [0, 1],
    [1, 2],
  ] as const) {
    for (const line of paths(announcedFile, seed)) {
      if (line.length === 0) continue;
      const tab = line.indexOf('\t');
      const prefix = line.slice(0, tab);
      const key = line.slice(tab + 1);
      let s = replaySetOf.get(key);
      if (s === undefined) {
        s = replayAttrs.length;
        replaySetOf.set(key, s);
        const [path, comm] = key.split('\t') as [string, string];
        replayAttrs.push(attributes(family, path, comm ?? ''));
      }
      let v = variants.get(prefix);
      if (v === undefined) {
        v = [s, s];
        variants.set(prefix, v);
      }
      v[k] = s;
    }
  }
  const order = new PrefixArray(family, updates.length + 1);
  const setOfLine = new Int32Array(updates.length + 1);
  const turn = new Map<string, number>();
  const held = new Set(texts);
  let announces = 0;
  for (const line of updates) {
    const prefix = line.slice(2);
    const i = order.n;
    order.push(prefix);
    if (line[0] === 'A') {
      const t = turn.get(prefix) ?? 0;
      turn.set(prefix, t + 1);
      setOfLine[i] = variants.get(prefix)![t & 1]!;
      held.add(prefix);
      announces++;
    } else {
      setOfLine[i] = -1;
      held.delete(prefix);
    }
  }
  const re = new UpdateEncoder({ as4: true, extendedMessage: false });
  for (let from = 0; from < order.n; ) {
    let to = from + 1;
    while (to < order.n && setOfLine[to] === setOfLine[from]) to++;
    if (setOfLine[from] === -1) order.withdraw(re, from, to);
    else order.announce(re, replayAttrs[setOfLine[from]!]!, from, to);
    from = to;
  }
  const sentinel = new PrefixArray(family, 1);
  sentinel.push(SENTINEL[family].prefix);
  sentinel.announce(re, sentinelAttrs, 0, 1);
  held.add(SENTINEL[family].prefix);
  const replayMessages = re.messages;
  writeFileSync(join(dir, `replay${family}.bin`), re.take());
  return {
    family,
    dir,
    tableFile: join(dir, `table${family}.bin`),
    replayFile: join(dir, `replay${family}.bin`),
    prefixes: texts.length,
    sets: members.length,
    tableMessages,
    tableBytes: tableBytes.length,
    replayLines: updates.length,
    replayAnnounces: announces,
    replayWithdraws: updates.length - announces,
    replayMessages,
    replaySets: replayAttrs.length,
    afterReplay: held.size,
  };
}

/**
 * With BENCH_BGP_FEED_CACHE=dir, the encoded feed is kept there and reused by later runs (when
 * profiling or comparing builds: building it takes ~20 s of the bench's time).
 */
function cachedFeed(family: Family, tmp: string): Feed {
  const cache = env['BENCH_BGP_FEED_CACHE'];
  if (cache === undefined) return buildFeed(family, tmp);
  const meta = join(cache, `feed${family}-${Number.isFinite(LIMIT) ? LIMIT : 'all'}.json`);
  if (existsSync(meta)) return JSON.parse(readFileSync(meta, 'utf8')) as Feed;
  const dir = join(cache, `feed${family}-${Number.isFinite(LIMIT) ? LIMIT : 'all'}`);
  mkdirSync(dir, { recursive: true });
  const feed = buildFeed(family, dir);
  writeFileSync(meta, JSON.stringify(feed));
  return feed;
}

// ---------------------------------------------------------------------------------------------
// Feeder mode: connect, exchange OPENs, write the table on Established; the replay on SIGUSR1.
// Prints JSON lines ({event, t}) for the parent; hold time 0, so no KEEPALIVEs are due either way.

function feeder(family: Family, tableFile: string, replayFile: string): void {
  const table = readFileSync(tableFile);
  const replay = existsSync(replayFile) ? readFileSync(replayFile) : Buffer.alloc(0);
  const say = (event: string, extra: Record<string, unknown> = {}) =>
    process.stdout.write(`${JSON.stringify({ event, t: Date.now(), ...extra })}\n`);
  let socket: Socket | undefined;
  const started = Date.now();
  const attempt = () => {
    const s = connect({ host: ADDR[family].rx, port: 179, localAddress: ADDR[family].feeder });
    let pending: Buffer = Buffer.alloc(0);
    let established = false;
    s.setNoDelay(true);
    s.on('error', () => {
      if (!established && Date.now() - started < 60_000) setTimeout(attempt, 100);
    });
    s.on('close', () => {
      if (established) {
        say('closed');
        process.exit(2);
      }
    });
    s.on('connect', () => {
      s.write(
        encodeOpen({
          as: FEEDER_AS,
          holdTime: 0,
          bgpId: ROUTER_ID,
          capabilities: { multiprotocol: [{ afi: family === 4 ? 1 : 2, safi: 1 }] },
        }),
      );
    });
    s.on('data', (d: Buffer) => {
      pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
      while (pending.length >= 19 && pending.length >= pending.readUInt16BE(16)) {
        const type = pending[18];
        const msg = pending.subarray(0, pending.readUInt16BE(16));
        pending = pending.subarray(msg.length);
        if (type === 1) s.write(encodeKeepalive());
        else if (type === 3) say('notification', { code: msg[19], subcode: msg[20] });
        else if (type === 4 && !established) {
          established = true;
          socket = s;
          say('established');
          s.write(table, () => say('tableWritten'));
        }
      }
    });
  };
  process.on('SIGUSR1', () => {
    say('replayStart');
    socket?.write(replay, () => say('replayWritten'));
  });
  attempt();
  setInterval(() => {}, 1 << 30);
}

// ---------------------------------------------------------------------------------------------
// Receivers

interface Stage {
  /** 'RIB' or 'FIB' (the VR's own, or the kernel's). */
  name: string;
  intervalMs: number;
  /** Routes of the feed it holds now. */
  count(): Promise<number>;
  /** Whether the replay's sentinel has arrived. */
  replayed(): Promise<boolean>;
  /** Routes left once the peer is gone, when `count` stops telling (BIRD's counter goes with the protocol). */
  left?(): Promise<number>;
}

interface Receiver {
  label: string;
  /** What it printed (for failure messages). */
  log(): string;
  stages: Stage[];
  pids(): number[];
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Routes in the namespace's kernel FIB (main table), read through a process living in it. */
function kernelRoutes(pid: number, family: Family): number {
  if (family === 4) {
    const text = readFileSync(`/proc/${pid}/net/fib_triestat`, 'utf8');
    const main = text.slice(text.indexOf('Main:'));
    return Number(/Prefixes:\s+(\d+)/.exec(main)?.[1] ?? 0);
  }
  // rt6_stats: fib_nodes route_nodes rt6_malloc rt_entries … (hex).
  return Number.parseInt(readFileSync(`/proc/${pid}/net/rt6_stats`, 'utf8').split(' ')[3]!, 16);
}

function kernelStage(ns: Netns, pid: () => number, family: Family): Stage {
  let base = -1;
  return {
    name: 'kernel FIB',
    intervalMs: 200,
    count: async () => {
      const n = kernelRoutes(pid(), family);
      if (base < 0) base = n;
      return n - base;
    },
    replayed: async () => {
      const r = await ns.exec('ip', [`-${family}`, 'route', 'get', SENTINEL[family].addr]);
      return r.code === 0 && r.stdout.includes('via');
    },
  };
}

async function startVrReceiver(ns: Netns, dev: string, family: Family): Promise<Receiver> {
  await ns.sysctl({ 'net.ipv4.ip_forward': '0', [`net.ipv6.conf.${dev}.disable_ipv6`]: '1' });
  const a = ADDR[family];
  const addresses = family === 4 ? `[${a.rx}/${a.plen}]` : `[10.179.0.2/24, "${a.rx}/${a.plen}"]`;
  const yaml = `routers:
  rx:
    interfaces:
      eth0: { driver: afpacket, device: ${dev}, addresses: ${addresses} }
    bgp:
      asn: ${RX_AS}
      routerId: 10.179.0.2
      neighbors:
        feed: { address: "${a.feeder}", remoteAs: ${FEEDER_AS}, families: [ipv${family}], import: accept, export: reject, passive: true }
`;
  const nodeOptions = env['BENCH_BGP_VR_NODE_OPTIONS'];
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
  const stat = family === 4 ? 'fib_routes' : 'ipv6_fib_routes';
  const fib = async () => ((await vr.counters()).stats[stat] ?? 0) as number;
  const base = await fib();
  let expectedUpdates = Number.POSITIVE_INFINITY;
  const updatesIn = async () => {
    const s = (await vr.call('show.bgp')) as { peers: { messagesIn: Record<string, number> }[] };
    return s.peers[0]?.messagesIn['update'] ?? 0;
  };
  const receiver: Receiver & { expectUpdates(n: number): void } = {
    label: 'VR',
    log: () => vr.log(),
    stages: [
      {
        name: 'FIB',
        intervalMs: 50,
        count: async () => (await fib()) - base,
        replayed: async () => (await updatesIn()) >= expectedUpdates,
      },
    ],
    pids: () => [vr.pid],
    stop: async () => {
      await vr.stop();
    },
    expectUpdates: (n) => {
      expectedUpdates = n;
    },
  };
  return receiver;
}

async function startBirdReceiver(ns: Netns, family: Family, kernel: boolean): Promise<Receiver> {
  const a = ADDR[family];
  const ch = `ipv${family}`;
  const conf = `router id 10.179.0.2;
protocol device {}
${kernel ? `protocol kernel { ${ch} { import none; export all; }; }\n` : ''}protocol bgp feed {
  local ${a.rx} as ${RX_AS};
  neighbor ${a.feeder} as ${FEEDER_AS};
  passive on;
  ${ch} { import all; export none; };
}
`;
  const bird = await startBird(ns, conf);
  const pid = Number(readFileSync(join(bird.dir, 'bird.pid'), 'utf8').trim());
  const stages: Stage[] = [
    {
      name: 'RIB',
      intervalMs: 50,
      count: async () => {
        const out = await bird.birdc('show protocols all feed');
        return Number(/Routes:\s+(\d+) imported/.exec(out)?.[1] ?? 0);
      },
      replayed: async () => {
        const out = await bird.birdc(`show route ${SENTINEL[family].prefix}`).catch(() => '');
        return out.includes(SENTINEL[family].prefix);
      },
      left: async () => {
        const out = await bird.birdc(`show route count table master${family}`);
        return Number(/(\d+) of \d+ routes/.exec(out)?.[1] ?? 0);
      },
    },
  ];
  if (kernel) stages.push(kernelStage(ns, () => pid, family));
  return {
    label: kernel ? 'BIRD (+kernel)' : 'BIRD',
    log: () => bird.log(),
    stages,
    pids: () => [pid],
    stop: () => bird.stop(),
  };
}

async function startFrrReceiver(ns: Netns, family: Family): Promise<Receiver> {
  const a = ADDR[family];
  const afi = family === 4 ? 'ipv4' : 'ipv6';
  const frr = await startFrr(
    ns,
    `hostname rx
router bgp ${RX_AS}
 bgp router-id 10.179.0.2
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor ${a.feeder} remote-as ${FEEDER_AS}
 neighbor ${a.feeder} passive
 address-family ${afi} unicast
  neighbor ${a.feeder} activate
 exit-address-family
`,
  );
  const pid = (d: string) => Number(readFileSync(join(frr.dir, `${d}.pid`), 'utf8').trim());
  const zebra = pid('zebra');
  const bgpd = pid('bgpd');
  return {
    label: 'FRR',
    log: () => frr.log(),
    stages: [
      {
        name: 'RIB',
        intervalMs: 100,
        count: async () => {
          const s = await frr.json<Record<string, { peers?: Record<string, { pfxRcd?: number }> }>>(
            `show bgp ${afi} unicast summary json`,
          );
          const peers =
            Object.values(s)[0]?.peers ?? (s as { peers?: Record<string, { pfxRcd?: number }> }).peers;
          return peers?.[a.feeder]?.pfxRcd ?? 0;
        },
        replayed: async () => {
          const r = await frr
            .json<{ paths?: unknown[] }>(`show bgp ${afi} unicast ${SENTINEL[family].prefix} json`)
            .catch(() => ({ paths: [] }));
          return (r.paths?.length ?? 0) > 0;
        },
      },
      kernelStage(ns, () => zebra, family),
    ],
    pids: () => [bgpd, zebra],
    stop: () => frr.stop(),
  };
}

// ---------------------------------------------------------------------------------------------
// One measure: a receiver, a feeder, the table, the replay.

interface Measure {
  receiver: string;
  family: Family;
  /** Stage name → ms from Established. */
  load: Record<string, number>;
  /** Stage name → ms from the replay's first byte. */
  replay: Record<string, number>;
  /** CPU time of the receiver's processes over the load (until its last stage) and the replay. */
  loadCpuMs: number;
  replayCpuMs: number;
  /** Stage name → ms from the feeder's exit to the feed's routes gone; the CPU time of that. */
  down: Record<string, number>;
  downCpuMs: number;
  /** Before the feed (the VR's FIB arrays are allocated at start). */
  rssIdleKb: number;
  rssTableKb: number;
  rssKb: number;
  rssParts: string;
  finalCounts: Record<string, number>;
  load1: number;
}

async function waitStage(
  stage: Stage,
  done: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  failed: () => string | undefined,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const f = failed();
    if (f !== undefined) throw new Error(`${what}: ${f}`);
    if (await done()) return Date.now();
    if (Date.now() > deadline) throw new Error(`${what}: not done in ${timeoutMs / 1000} s`);
    await sleep(stage.intervalMs);
  }
}

async function measure(kind: string, feed: Feed): Promise<Measure> {
  const family = feed.family;
  const nsF = await Netns.create('bgpff');
  const nsR = await Netns.create('bgpfr');
  let receiver: Receiver | undefined;
  const feederOut: Record<string, unknown>[] = [];
  try {
    const t = uniqueToken();
    const fDev = `f0-${t}`;
    const rDev = `r0-${t}`;
    await vethPair(nsF, fDev, nsR, rDev);
    const a = ADDR[family];
    await nsF.execOk('ip', [
      'addr',
      'add',
      `${a.feeder}/${a.plen}`,
      'dev',
      fDev,
      ...(family === 6 ? ['nodad'] : []),
    ]);
    if (kind === 'vr') receiver = await startVrReceiver(nsR, rDev, family);
    else {
      await nsR.execOk('ip', [
        'addr',
        'add',
        `${a.rx}/${a.plen}`,
        'dev',
        rDev,
        ...(family === 6 ? ['nodad'] : []),
      ]);
      // FRR's bgpd resets an IPv6 session on an interface without a link-local address yet.
      if (family === 6)
        await waitFor(
          async () => {
            const out = await nsR.execOk('ip', ['-6', 'addr', 'show', 'dev', rDev, 'scope', 'link']);
            return out.includes('fe80') && !out.includes('tentative');
          },
          { timeoutMs: 10_000, intervalMs: 100, what: `a link-local address on ${rDev}` },
        );
      if (kind === 'frr') receiver = await startFrrReceiver(nsR, family);
      else receiver = await startBirdReceiver(nsR, family, kind === 'bird-kernel');
    }
    const rx = receiver;
    for (const s of rx.stages) await s.count(); // bases (the kernel's own routes)
    const rssIdleKb = rx.pids().reduce((sum, p) => sum + vmHwmKb(p), 0);
    const child = nsF.spawn(process.execPath, [
      import.meta.filename,
      '--feeder',
      String(family),
      feed.tableFile,
      REPLAY ? feed.replayFile : '',
    ]);
    let text = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
        feederOut.push(JSON.parse(text.slice(0, nl)) as Record<string, unknown>);
        text = text.slice(nl + 1);
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const event = (name: string) => feederOut.find((e) => e['event'] === name);
    const failed = () => {
      const n = event('notification') ?? event('closed');
      if (n !== undefined) return `feeder: ${JSON.stringify(n)}`;
      if (child.exitCode !== null) return `feeder exited ${child.exitCode}: ${stderr}`;
      return undefined;
    };
    // Established: a 30 s bound.
    const estDeadline = Date.now() + 30_000;
    while (event('established') === undefined) {
      if (failed() !== undefined || Date.now() > estDeadline)
        throw new Error(`${rx.label}: no session (${failed() ?? 'timeout'})\n${rx.log().slice(-3000)}`);
      await sleep(20);
    }
    const established = event('established')!['t'] as number;
    const ticks = () => rx.pids().reduce((sum, p) => sum + processTicks(p), 0);
    const ticks0 = ticks();
    const load1 = loadavg()[0]!;
    const load: Record<string, number> = {};
    await Promise.all(
      rx.stages.map(async (s) => {
        const at = await waitStage(
          s,
          async () => (await s.count()) >= feed.prefixes,
          LOAD_TIMEOUT_MS,
          `${rx.label} IPv${family} ${s.name} load`,
          failed,
        );
        load[s.name] = at - established;
      }),
    );
    const rssTableKb = rx.pids().reduce((sum, p) => sum + vmHwmKb(p), 0);
    const loadCpuMs = ((ticks() - ticks0) * 1000) / CLK_TCK;
    const signal = env['BENCH_BGP_SIGNAL_AFTER_LOAD'];
    if (signal !== undefined) {
      // A heap snapshot of the loaded receiver (--heapsnapshot-signal in the VR's NODE_OPTIONS).
      for (const p of rx.pids()) process.kill(p, signal as NodeJS.Signals);
      await sleep(Number(env['BENCH_BGP_SIGNAL_WAIT_S'] ?? 60) * 1000);
    }
    let replayCpuMs = Number.NaN;
    const replay: Record<string, number> = {};
    const finalCounts: Record<string, number> = {};
    if (REPLAY) {
      (rx as { expectUpdates?: (n: number) => void }).expectUpdates?.(
        feed.tableMessages + feed.replayMessages,
      );
      // Let the receiver settle (FRR's zebra, BIRD's kernel sync) before the clock starts again.
      await sleep(1000);
      child.kill('SIGUSR1');
      const startDeadline = Date.now() + 10_000;
      while (event('replayStart') === undefined) {
        if (Date.now() > startDeadline) throw new Error('feeder did not start the replay');
        await sleep(10);
      }
      const start = event('replayStart')!['t'] as number;
      const ticks1 = ticks();
      await Promise.all(
        rx.stages.map(async (s) => {
          const at = await waitStage(
            s,
            () => s.replayed(),
            REPLAY_TIMEOUT_MS,
            `${rx.label} IPv${family} ${s.name} replay`,
            failed,
          );
          replay[s.name] = at - start;
        }),
      );
      replayCpuMs = ((ticks() - ticks1) * 1000) / CLK_TCK;
      for (const s of rx.stages) finalCounts[s.name] = await s.count();
    }
    const pids = rx.pids();
    const parts = pids.map(vmHwmKb);
    // The peer goes away (the feeder exits: its socket closes): every route of the feed withdrawn.
    const down: Record<string, number> = {};
    const ticks2 = ticks();
    const gone = Date.now();
    child.kill('SIGKILL');
    await Promise.all(
      rx.stages.map(async (s) => {
        const at = await waitStage(
          s,
          async () => (await (s.left ?? s.count)()) <= 0,
          DOWN_TIMEOUT_MS,
          `${rx.label} IPv${family} ${s.name} peer down`,
          () => undefined,
        );
        down[s.name] = at - gone;
      }),
    );
    const downCpuMs = ((ticks() - ticks2) * 1000) / CLK_TCK;
    return {
      receiver: rx.label,
      family,
      load,
      replay,
      loadCpuMs,
      replayCpuMs,
      down,
      downCpuMs,
      rssIdleKb,
      rssTableKb,
      rssKb: parts.reduce((x, y) => x + y, 0),
      rssParts: parts.length > 1 ? parts.map((k) => `${Math.round(k / 1024)}`).join(' + ') : '',
      finalCounts,
      load1,
    };
  } finally {
    await receiver?.stop().catch(() => {});
    await Promise.all([nsF.destroy(), nsR.destroy()]);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const krate = (n: number, ms: number) => (Number.isFinite(ms) ? `${Math.round(n / ms)} k/s` : '—');

function report(feed: Feed, results: Measure[][]): void {
  const f = feed.family;
  console.log(
    `### IPv${f}: ${feed.prefixes.toLocaleString('en')} prefixes, ${feed.sets.toLocaleString('en')} attribute sets, ` +
      `${feed.tableMessages.toLocaleString('en')} UPDATEs (${(feed.tableBytes / 1e6).toFixed(1)} MB); replay ` +
      `${feed.replayLines.toLocaleString('en')} updates (${feed.replayAnnounces.toLocaleString('en')} announces, ` +
      `${feed.replayWithdraws.toLocaleString('en')} withdrawals) in ${feed.replayMessages.toLocaleString('en')} UPDATEs`,
  );
  console.log();
  console.log(
    '| receiver | Established → last prefix in RIB | → in FIB | prefixes/s into FIB | its CPU time | RSS before | peak RSS, table | peak RSS, after replay | replay → RIB | replay → FIB | updates/s (FIB) | its CPU time | peer down → FIB (BIRD: RIB) empty | its CPU time | routes after replay (expected ' +
      `${feed.afterReplay.toLocaleString('en')}) | load avg |`,
  );
  console.log(
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  const med: Record<
    string,
    { rib: number; fib: number; rss: number; rssAll: number; rRib: number; rFib: number; cpu: number }
  > = {};
  for (const runs of results) {
    if (runs.length === 0) continue;
    const m = (f: (x: Measure) => number | undefined) =>
      median(runs.map(f).map((x) => (x === undefined ? Number.POSITIVE_INFINITY : x)));
    const label = runs[0]!.receiver;
    const fibName = label === 'VR' ? 'FIB' : 'kernel FIB';
    const rib = label === 'VR' ? Number.NaN : m((x) => x.load['RIB']);
    const fib = m((x) => x.load[fibName]);
    const rRib = label === 'VR' ? Number.NaN : m((x) => x.replay['RIB']);
    const rFib = m((x) => x.replay[fibName]);
    const rss = m((x) => x.rssTableKb);
    const rssIdle = m((x) => x.rssIdleKb);
    const cpu = m((x) => x.loadCpuMs);
    const rCpu = m((x) => x.replayCpuMs);
    const dFib = m((x) => x.down[fibName] ?? x.down['RIB']);
    const dCpu = m((x) => x.downCpuMs);
    const rssAll = m((x) => x.rssKb);
    med[label] = { rib, fib, rss, rssAll, rRib, rFib, cpu };
    const parts = runs[0]!.rssParts === '' ? '' : ` (${runs[0]!.rssParts})`;
    const counts = runs[runs.length - 1]!.finalCounts;
    const n = runs.length > 1 ? ` (median of ${runs.length})` : '';
    console.log(
      `| ${label}${n} | ${label === 'VR' ? '(= FIB)' : sec(rib)} | ${sec(fib)} | ${krate(feed.prefixes, Number.isFinite(fib) ? fib : rib)} | ${sec(cpu)} | ${mib(rssIdle)} | ${mib(rss)} | ${mib(rssAll)}${parts} | ` +
        `${REPLAY ? (label === 'VR' ? '(= FIB)' : sec(rRib)) : '—'} | ${REPLAY ? sec(rFib) : '—'} | ${REPLAY ? krate(feed.replayLines, Number.isFinite(rFib) ? rFib : rRib) : '—'} | ${sec(rCpu)} | ${sec(dFib)} | ${sec(dCpu)} | ` +
        `${Object.entries(counts)
          .map(([k, v]) => `${k} ${v.toLocaleString('en')}`)
          .join(', ')} | ${runs.map((x) => x.load1.toFixed(1)).join(', ')} |`,
    );
  }
  const vr = med['VR'];
  if (vr === undefined) return;
  console.log();
  console.log('| VR ÷ … | load time (VR into its FIB) | load CPU time | peak RSS (table) | replay time |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [label, key, fibKey] of [
    ['BIRD, into its RIB', 'BIRD', 'rib'],
    ['BIRD (+kernel), into the kernel FIB', 'BIRD (+kernel)', 'fib'],
    ['FRR, into bgpd', 'FRR', 'rib'],
    ['FRR, into the kernel FIB', 'FRR', 'fib'],
  ] as const) {
    const o = med[key];
    if (o === undefined) continue;
    const t = fibKey === 'rib' ? o.rib : o.fib;
    const r = fibKey === 'rib' ? o.rRib : o.rFib;
    console.log(
      `| ${label} | ${ratio(vr.fib, t)} | ${ratio(vr.cpu, o.cpu)} | ${ratio(vr.rss, o.rss)} | ${ratio(vr.rFib, r)} |`,
    );
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('Needs root (namespaces): not run.');
    return;
  }
  cleanupOnExit();
  const watchdog = setTimeout(() => {
    console.error(`bgp-feed: over its ${BUDGET_MS / 1000} s budget, stopping`);
    process.exit(1); // the exit handler removes the namespaces and kills what runs in them
  }, BUDGET_MS);
  watchdog.unref();
  const have = (cmd: string) => {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  const kinds = RECEIVERS.filter((k) =>
    k.startsWith('bird')
      ? have('bird')
      : k === 'frr'
        ? existsSync('/usr/lib/frr/bgpd') && have('vtysh')
        : true,
  );
  // BIRD prints its version on stderr.
  const birdProbe = spawnSync('bird', ['--version'], { encoding: 'utf8' });
  const birdVersion = /BIRD version ([\d.]+)/.exec(`${birdProbe.stdout}${birdProbe.stderr}`)?.[1];
  const frrVersion = have('vtysh')
    ? /version ([\d.]+)/.exec(execFileSync('/usr/lib/frr/bgpd', ['--version'], { encoding: 'utf8' }))?.[1]
    : undefined;
  console.log(
    `${new Date().toISOString()}; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, ` +
      `BIRD ${birdVersion ?? 'absent'}, FRR ${frrVersion ?? 'absent'}; load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} at the start. ${RUNS} run(s) per receiver, in turn; times are wall clock.`,
  );
  console.log();
  const dir = mkdtempSync(join(tmpdir(), 'nexthop-bgp-feed-'));
  try {
    for (const family of FAMILIES) {
      const t0 = Date.now();
      const feed = cachedFeed(family, dir);
      console.error(`bgp-feed: IPv${family} feed built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const results: Measure[][] = kinds.map(() => []);
      for (let run = 0; run < RUNS; run++) {
        for (let k = 0; k < kinds.length; k++) {
          try {
            const m = await measure(kinds[k]!, feed);
            results[k]!.push(m);
            console.error(`bgp-feed: IPv${family} ${m.receiver}: ${JSON.stringify(m)}`);
          } catch (e) {
            console.error(`bgp-feed: IPv${family} ${kinds[k]}: ${(e as Error).message}`);
            process.exitCode = 1;
          }
        }
      }
      report(feed, results);
      console.log();
    }
  } finally {
    await destroyAll();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    'Load: Established (the feeder read the receiver’s KEEPALIVE) to the count of feed routes reaching the table size, ' +
      'polled (VR and BIRD every 50 ms, FRR 100 ms, kernel 200 ms). Replay: first byte written to the sentinel held ' +
      '(the VR: its UPDATE counter reaching the number sent). Peak RSS: VmHWM (FRR: bgpd + zebra).',
  );
}

if (process.argv[2] === '--feeder')
  feeder(Number(process.argv[3]) as Family, process.argv[4]!, process.argv[5]!);
else await main();
