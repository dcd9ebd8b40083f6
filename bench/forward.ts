// IPv4 forwarding benchmark (IPv6 with BENCH_FAMILY=6, below): 64-byte UDP frames h1 → router → h2,
// the router being either the Linux kernel of the router namespace or a nexthop VR process, at the
// same offered loads in the same run.
// Two trafgen generators, one per core, send from h1; we count what h2's veth received.
// Usage: node bench/forward.ts [seconds per run] [loads, e.g. 50k,200k,max]   (root; not a test)
// BENCH_RING_SLOTS=N runs the VR with N-slot receive rings, BENCH_VR_NICE=N at that niceness. BENCH_DEBUG=1 also prints every per-link counter of the VR (e.g. the driver's transmit errno counts).
// BENCH_FAMILY=6 measures IPv6 instead: 78-byte frames (14 Ethernet + 40 IPv6 + 8 UDP + 16 payload)
// 2001:db8:1::2 → 2001:db8:2::2 over the same topology; the kernel router gets IPv6 addresses and
// net.ipv6.conf.all.forwarding=1, the VR 2001:db8:1::1/64 and 2001:db8:2::1/64, and both resolve h2 by NDP.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupOnExit, type RoutedTopology, routedTopology, runOk, waitFor } from '@nexthop/netns';
import { type RunningVr, startVr } from '../tests/lib/vr.ts';
import { runGenerator, udp6FrameConfig, udpFrameConfig } from './lib/trafgen.ts';

const SECONDS = Number(process.argv[2] ?? 5);
const LOADS = (process.argv[3] ?? '50k,200k,max').split(',').map((s) => s.trim());
/** BENCH_FAMILY=6 forwards IPv6 (78-byte frames: the 64-byte frame's 16-byte payload behind a 40-byte header). */
const FAMILY = process.env['BENCH_FAMILY'] === undefined ? 4 : Number(process.env['BENCH_FAMILY']);
if (FAMILY !== 4 && FAMILY !== 6) throw new Error('BENCH_FAMILY must be 4 or 6');
const FRAME_LENGTH = FAMILY === 6 ? 78 : 64;
/** The VR's stack-wide counter of forwarded packets for the family (`show counters`). */
const FORWARDED_STAT = FAMILY === 6 ? 'ipv6_forwarded' : 'forwarded';
/** The IPv6 plan (BENCH_FAMILY=6): h1 and h2 at ::2, the router (kernel or VR) at ::1 of each /64. */
const V6 = { h1: '2001:db8:1::2', h2: '2001:db8:2::2', r1: '2001:db8:1::1', r2: '2001:db8:2::1' };
const GENERATOR_CPUS = [0, 1];
/** Packets per generator for the unpaced point: a bound, not a target; the time bound stops it. */
const MAX_POINT_PACKETS = 50_000_000;
/** UDP discard port; nothing listens on it in h2 (see the ICMP note in main()). */
const DISCARD_PORT = 9;
const CLK_TCK = 100;
const SETTLE_MAX_MS = 5000;

if (!(SECONDS > 0 && SECONDS <= 60)) throw new Error('seconds per run must be in (0, 60]');

/** Total offered packets per second for a load point, or undefined for "as fast as trafgen goes". */
function parseLoad(load: string): number | undefined {
  if (load === 'max') return undefined;
  const m = /^(\d+(?:\.\d+)?)([kM]?)$/.exec(load);
  if (m === null) throw new Error(`bad load '${load}' (use e.g. 50k, 1M, max)`);
  return Math.round(Number(m[1]) * (m[2] === 'k' ? 1e3 : m[2] === 'M' ? 1e6 : 1));
}

interface Sample {
  h1Tx: number;
  h1TxDropped: number;
  h2Rx: number;
  r2TxDropped: number;
  h2IcmpOut: number;
  vrTicks: number;
  vrForwarded: number;
  vrRxDropsKernel: number;
  vrTxDropsFull: number;
  /** Per VR link: [rxFrames, rxDropsKernel, txFrames, txDropsFull]. */
  vrLinks: Record<string, number[]>;
  vrRaw?: Record<string, Record<string, number>>;
}

interface PointResult {
  system: 'kernel' | 'VR';
  load: string;
  offered: number;
  forwarded: number;
  sendSeconds: number;
  /** Send time plus the time frames kept arriving at h2 after the generators stopped. */
  forwardSeconds: number;
  vethBacklogDrops: number;
  h2IcmpOut: number;
  vrCpuUsPerPacket?: number;
  vrCpuShare?: number;
  vrForwarded?: number;
  vrRxDropsKernel?: number;
  vrTxDropsFull?: number;
  vrLinks?: string;
  pinned: string;
}

/** The named statistics of a device, in the order asked. */
async function readStats<const N extends readonly string[]>(
  ns: RoutedTopology['h1'],
  dev: string,
  names: N,
): Promise<{ [K in keyof N]: number }> {
  const out = await ns.execOk(
    'cat',
    names.map((n) => `/sys/class/net/${dev}/statistics/${n}`),
  );
  const values = out.trim().split('\n').map(Number);
  if (values.length !== names.length)
    throw new Error(`${dev}: ${names.join(', ')}: got ${JSON.stringify(out)}`);
  return values as { [K in keyof N]: number };
}

function processTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5) (utime, stime); the slice starts at field 3.
  return Number(fields[11]) + Number(fields[12]);
}

async function sample(topo: RoutedTopology, vr: RunningVr | undefined): Promise<Sample> {
  const [h1Tx, h1TxDropped] = await readStats(topo.h1, topo.h1If, ['tx_packets', 'tx_dropped']);
  const [h2Rx] = await readStats(topo.h2, topo.h2If, ['rx_packets']);
  const [r2TxDropped] = await readStats(topo.r, topo.r2If, ['tx_dropped']);
  let h2IcmpOut: number;
  if (FAMILY === 6) {
    const snmp6 = await topo.h2.execOk('cat', ['/proc/net/snmp6']);
    h2IcmpOut = Number(/^Icmp6OutMsgs\s+(\d+)/m.exec(snmp6)?.[1] ?? Number.NaN);
  } else {
    const snmp = await topo.h2.execOk('cat', ['/proc/net/snmp']);
    // Two Icmp: lines, the field names and then their values.
    const [names, values] = snmp.split('\n').filter((l) => l.startsWith('Icmp:'));
    if (names === undefined || values === undefined) throw new Error('no Icmp: lines in /proc/net/snmp');
    h2IcmpOut = Number(values.split(' ')[names.split(' ').indexOf('OutMsgs')]);
  }
  let vrTicks = 0;
  let vrForwarded = 0;
  let vrRxDropsKernel = 0;
  let vrTxDropsFull = 0;
  const vrLinks: Record<string, number[]> = {};
  let vrRaw: Record<string, Record<string, number>> | undefined;
  if (vr !== undefined) {
    vrTicks = processTicks(vr.pid);
    const c = (await vr.call('show.counters')) as {
      stats: Record<string, number>;
      links: Record<
        string,
        { rxFrames: number; rxDropsKernel: number; txFrames: number; txDropsFull: number }
      >;
    };
    vrForwarded = c.stats[FORWARDED_STAT] ?? 0;
    vrRaw = c.links as unknown as Record<string, Record<string, number>>;
    for (const [name, l] of Object.entries(c.links)) {
      vrLinks[name] = [l.rxFrames, l.rxDropsKernel, l.txFrames, l.txDropsFull];
      vrRxDropsKernel += l.rxDropsKernel;
      vrTxDropsFull += l.txDropsFull;
    }
  }
  return {
    h1Tx,
    h1TxDropped,
    h2Rx,
    r2TxDropped,
    h2IcmpOut,
    vrTicks,
    vrForwarded,
    vrRxDropsKernel,
    vrTxDropsFull,
    vrLinks,
    vrRaw,
  };
}

/** trafgen's own send time ("3 sec, 137 usec on CPU0"), in seconds. */
function sendSeconds(output: string): number | undefined {
  const m = /(\d+) sec, (\d+) usec on CPU/.exec(output);
  return m === null ? undefined : Number(m[1]) + Number(m[2]) / 1e6;
}

async function runPoint(
  topo: RoutedTopology,
  vr: RunningVr | undefined,
  configPath: string,
  load: string,
): Promise<PointResult> {
  const total = parseLoad(load);
  const perGenerator = total === undefined ? undefined : Math.round(total / GENERATOR_CPUS.length);
  const packets = perGenerator === undefined ? MAX_POINT_PACKETS : perGenerator * SECONDS;
  const before = await sample(topo, vr);
  const generators = await Promise.all(
    GENERATOR_CPUS.map((cpu) =>
      runGenerator({
        ns: topo.h1,
        device: topo.h1If,
        configPath,
        cpu,
        pps: perGenerator,
        packets,
        // The unpaced point is stopped by time; paced points end by count, with slack for start-up.
        maxMs: perGenerator === undefined ? SECONDS * 1000 : SECONDS * 2000 + 5000,
      }),
    ),
  );
  // What is still queued in the router (a VR that fell behind has up to a second of traffic in its
  // receive ring) arrives after the generators stop: wait until h2 has received nothing for 200 ms
  // (and at least 500 ms). The time until the last arrival counts as forwarding time.
  const settleStart = performance.now();
  let drainMs = 0;
  let [lastRx] = await readStats(topo.h2, topo.h2If, ['rx_packets']);
  for (let still = 0; still < 4 || performance.now() - settleStart < 500; ) {
    if (performance.now() - settleStart > SETTLE_MAX_MS) break;
    await new Promise((r) => setTimeout(r, 50));
    const [rx] = await readStats(topo.h2, topo.h2If, ['rx_packets']);
    if (rx === lastRx) still++;
    else {
      still = 0;
      lastRx = rx;
      drainMs = performance.now() - settleStart;
    }
  }
  const settleSeconds = (performance.now() - settleStart) / 1000;
  const after = await sample(topo, vr);
  if (process.env.BENCH_DEBUG && after.vrRaw) {
    for (const [name, l] of Object.entries(after.vrRaw)) {
      const delta: Record<string, number> = {};
      for (const [k, v] of Object.entries(l)) delta[k] = v - (before.vrRaw![name]![k] ?? 0);
      console.error(load, name, JSON.stringify(delta));
    }
  }
  const d = (k: Exclude<keyof Sample, 'vrLinks' | 'vrRaw'>): number => after[k] - before[k];
  const seconds = Math.max(...generators.map((g) => sendSeconds(g.output) ?? g.elapsedMs / 1000));
  const forwarded = d('h2Rx');
  const result: PointResult = {
    system: vr === undefined ? 'kernel' : 'VR',
    load,
    offered: d('h1Tx') + d('h1TxDropped'),
    forwarded,
    sendSeconds: seconds,
    forwardSeconds: seconds + drainMs / 1000,
    vethBacklogDrops: d('h1TxDropped') + d('r2TxDropped'),
    h2IcmpOut: d('h2IcmpOut'),
    pinned: generators.map((g) => g.cpusAllowed).join('+'),
  };
  if (vr !== undefined) {
    const cpuSeconds = d('vrTicks') / CLK_TCK;
    result.vrCpuUsPerPacket = forwarded > 0 ? (cpuSeconds * 1e6) / forwarded : Number.NaN;
    result.vrCpuShare = cpuSeconds / (seconds + settleSeconds);
    result.vrForwarded = d('vrForwarded');
    result.vrRxDropsKernel = d('vrRxDropsKernel');
    result.vrTxDropsFull = d('vrTxDropsFull');
    result.vrLinks = Object.keys(after.vrLinks)
      .map((name) => {
        const [rx, rxDrops, tx, txDrops] = after.vrLinks[name]!.map((n, i) => n - before.vrLinks[name]![i]!);
        return `${name} rx ${fmt(rx)} rxDropsKernel ${fmt(rxDrops)} tx ${fmt(tx)} txDropsFull ${fmt(txDrops)}`;
      })
      .join('; ');
  }
  for (const g of generators) {
    if (g.exitCode !== 0 && !/packets outgoing/.test(g.output))
      throw new Error(`trafgen on CPU ${g.cpu} failed (code ${g.exitCode}):\n${g.output}`);
  }
  return result;
}

/** BENCH_RING_SLOTS=N sets the VR's receive rings (config ringSlots) instead of the driver default. */
const RING_SLOTS = process.env['BENCH_RING_SLOTS'];
/** BENCH_VR_NICE=N runs the VR at that niceness (the generators keep both cores busy). */
const VR_NICE = process.env['BENCH_VR_NICE'];

function vrConfig(topo: RoutedTopology): string {
  const v6 = (addr: string): string => (FAMILY === 6 ? `, ${addr}/64` : '');
  const ring = RING_SLOTS === undefined ? '' : `, ringSlots: ${Number(RING_SLOTS)}`;
  return `routers:
  bench:
    interfaces:
      eth0: { driver: afpacket, device: ${topo.r1If}, addresses: [10.1.0.1/24${v6(V6.r1)}]${ring} }
      eth1: { driver: afpacket, device: ${topo.r2If}, addresses: [10.2.0.1/24${v6(V6.r2)}]${ring} }
`;
}

/**
 * IPv6 on the hosts (addresses without DAD, default routes via the router's ::1, no RAs taken) and,
 * for the kernel, on the router namespace: routedTopology leaves IPv6 off on the router's veth ends,
 * which is right for the VR; the kernel gets it back with addresses and forwarding.
 */
async function setUpIpv6(topo: RoutedTopology, system: 'kernel' | 'VR'): Promise<void> {
  // UDP to the closed port: h2's ICMPv6 port unreachable, rate-limited as for IPv4 (see main()).
  await topo.h2.sysctl({ 'net.ipv6.icmp.ratelimit': '60000' });
  for (const [ns, dev, addr, gw] of [
    [topo.h1, topo.h1If, V6.h1, V6.r1],
    [topo.h2, topo.h2If, V6.h2, V6.r2],
  ] as const) {
    await ns.sysctl({ [`net.ipv6.conf.${dev}.accept_ra`]: '0' });
    await ns.execOk('ip', ['-6', 'addr', 'add', `${addr}/64`, 'dev', dev, 'nodad']);
    await ns.execOk('ip', ['-6', 'route', 'add', 'default', 'via', gw]);
  }
  if (system === 'kernel') {
    await topo.r.sysctl({
      [`net.ipv6.conf.${topo.r1If}.disable_ipv6`]: '0',
      [`net.ipv6.conf.${topo.r2If}.disable_ipv6`]: '0',
      'net.ipv6.conf.all.forwarding': '1',
    });
    await topo.r.execOk('ip', ['-6', 'addr', 'add', `${V6.r1}/64`, 'dev', topo.r1If, 'nodad']);
    await topo.r.execOk('ip', ['-6', 'addr', 'add', `${V6.r2}/64`, 'dev', topo.r2If, 'nodad']);
  }
}

async function measureSystem(system: 'kernel' | 'VR', dir: string): Promise<PointResult[]> {
  const topo = await routedTopology({ kernelForwarding: system === 'kernel' });
  let vr: RunningVr | undefined;
  try {
    // UDP to a closed port makes h2 answer ICMP port unreachable. Rather than a process in h2
    // reading (and spending one of the two cores), h2 keeps the port closed and its ICMP per-peer
    // rate limit (per namespace) is raised to one message a minute; we count h2's ICMP out.
    await topo.h2.sysctl({ 'net.ipv4.icmp_ratelimit': '60000' });
    if (FAMILY === 6) await setUpIpv6(topo, system);
    if (system === 'VR') {
      vr = await startVr(topo.r, 'bench', vrConfig(topo));
      if (VR_NICE !== undefined) await runOk('renice', ['-n', String(Number(VR_NICE)), '-p', String(vr.pid)]);
    }
    // Resolves ARP in the router (and h2's way back) before anything is counted.
    // (For IPv6, NDP: the router's neighbour entry for h2 and h2's for the router. The fresh
    // link-local addresses are still tentative for a second or two, so first wait for one answer.)
    if (FAMILY === 6)
      await waitFor(
        async () => (await topo.h1.exec('ping', ['-n', '-6', '-c', '1', '-W', '1', V6.h2])).code === 0,
        { timeoutMs: 20_000, intervalMs: 200, what: `ping -6 ${V6.h2} from h1` },
      );
    const pingArgs = FAMILY === 6 ? ['-6', V6.h2] : [topo.h2Addr];
    await topo.h1.execOk('ping', ['-n', '-c', '3', '-i', '0.2', '-W', '2', ...pingArgs], {
      timeoutMs: 15_000,
    });
    const routerMac =
      vr === undefined
        ? (await topo.r.execOk('cat', [`/sys/class/net/${topo.r1If}/address`])).trim()
        : ((await vr.call('show.interfaces')) as { name: string; mac: string }[]).find(
            (i) => i.name === 'eth0',
          )!.mac;
    const h1Mac = (await topo.h1.execOk('cat', [`/sys/class/net/${topo.h1If}/address`])).trim();
    const configPath = join(dir, `udp${FRAME_LENGTH}-${system}.cfg`);
    writeFileSync(
      configPath,
      (FAMILY === 6 ? udp6FrameConfig : udpFrameConfig)({
        dstMac: routerMac,
        srcMac: h1Mac,
        srcIp: FAMILY === 6 ? V6.h1 : topo.h1Addr,
        dstIp: FAMILY === 6 ? V6.h2 : topo.h2Addr,
        srcPort: 40000,
        dstPort: DISCARD_PORT,
        frameLength: FRAME_LENGTH,
      }),
    );
    const results: PointResult[] = [];
    for (const load of LOADS) results.push(await runPoint(topo, vr, configPath, load));
    return results;
  } finally {
    await vr?.stop();
    await topo.destroy();
  }
}

const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || Number.isNaN(n)
    ? '–'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  cleanupOnExit();
  const dir = join(tmpdir(), `nexthop-bench-forward-${process.pid}`);
  await runOk('mkdir', ['-p', dir]);
  try {
    const kernel = await measureSystem('kernel', dir);
    const vr = await measureSystem('VR', dir);
    console.log(
      `IPv${FAMILY} forwarding, ${FRAME_LENGTH}-byte UDP frames h1 → router → h2, 2 trafgen generators (CPUs ${GENERATOR_CPUS.join(', ')}), ${SECONDS} s per point, node ${process.version}`,
    );
    console.log(
      `\n| offered load | system | offered pkts | forwarded pkts | loss % | forwarded pps | veth backlog drops | VR CPU µs/pkt | VR CPU share | VR \`${FORWARDED_STAT}\` | VR rxDropsKernel |`,
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of [...kernel, ...vr]) {
      const loss = r.offered > 0 ? (100 * (r.offered - r.forwarded)) / r.offered : Number.NaN;
      console.log(
        `| ${r.load} | ${r.system} | ${fmt(r.offered)} | ${fmt(r.forwarded)} | ${fmt(loss, 1)} | ${fmt(r.forwarded / r.forwardSeconds)} | ${fmt(r.vethBacklogDrops)} | ${fmt(r.vrCpuUsPerPacket, 2)} | ${r.vrCpuShare === undefined ? '–' : `${fmt(100 * r.vrCpuShare)} %`} | ${fmt(r.vrForwarded)} | ${fmt(r.vrRxDropsKernel)} |`,
      );
    }
    console.log(
      '\n| offered load | kernel offered pps | kernel forwarded pps | VR offered pps | VR forwarded pps | VR/kernel |',
    );
    console.log('|---|---|---|---|---|---|');
    for (let i = 0; i < LOADS.length; i++) {
      const k = kernel[i]!;
      const v = vr[i]!;
      const kPps = k.forwarded / k.forwardSeconds;
      const vPps = v.forwarded / v.forwardSeconds;
      console.log(
        `| ${LOADS[i]} | ${fmt(k.offered / k.sendSeconds)} | ${fmt(kPps)} | ${fmt(v.offered / v.sendSeconds)} | ${fmt(vPps)} | ${kPps > 0 ? (vPps / kPps).toFixed(2) : '–'} |`,
      );
    }
    const extras = [...kernel, ...vr];
    console.log(
      `\nGenerator pinning (Cpus_allowed of the two senders): ${[...new Set(extras.map((r) => r.pinned))].join(', ')}; ` +
        `h2 ICMP messages sent: ${extras.map((r) => r.h2IcmpOut).reduce((a, b) => a + b, 0)}; ` +
        `VR txDropsFull: ${vr.map((r) => r.vrTxDropsFull ?? 0).reduce((a, b) => a + b, 0)}.`,
    );
    console.log('\nVR links per point (deltas from `show counters`):\n');
    for (const r of vr)
      console.log(
        `- ${r.load}: ${r.vrLinks}; last frame at h2 ${fmt((r.forwardSeconds - r.sendSeconds) * 1000)} ms after the senders stopped`,
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
