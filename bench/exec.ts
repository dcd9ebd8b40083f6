// Programs under `nexthop exec` (issue 4, remote sockets): iperf3 throughput both ways, TCP and UDP
// request/response latency and TCP connections per second, each next to the same program on the
// kernel path. Two topologies of the same shape live side by side for the whole run:
//   VR:     h1 (program under `nexthop exec edge`: its sockets live in the VR's stack) — VR — h2
//   kernel: h1 (the same program, plain) — kernel router (ip_forward) — h2
// The servers (iperf3 -s, bench/c/rr.c serve) are ordinary kernel programs in h2 on both. The
// measurements alternate kernel, VR, kernel, VR… so both sample the same stretch of a shared machine.
// Usage: node bench/exec.ts [iperf3 seconds, default 5] [round trips, default 10000] [connections,
//        default 2000]   (root; not a test). BENCH_CPU_PROF=DIR writes the VR's V8 CPU profile there
//        and prints its top functions (profiling slows the VR: use it for where the time goes, not
//        for the figures). BENCH_TESTS=iperf,tcp-rr,udp-rr,tcp-crr (any of them, comma-separated) runs
//        only those. BENCH_PERF=FILE records the VR with `perf record -g` (cpu-clock) over the latency
//        tests into FILE, the VR started with --perf-prof so that `perf inject --jit` (run here, into
//        FILE.jit) names JS frames even after V8 moved its code;
//        BENCH_ATTACH='strace -c -f -p {pid}' runs any such command on the VR over those tests.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BackgroundProcess,
  cleanupOnExit,
  type ExecResult,
  type Netns,
  type RoutedTopology,
  routedTopology,
  startInBackground,
  waitFor,
} from '@nexthop/netns';
import { CLI_MAIN } from '../tests/lib/exec.ts';
import { type RunningVr, startVr } from '../tests/lib/vr.ts';
import { summarizeCpuProfile } from './lib/cpuprofile.ts';
import { CLK_TCK, machineBusyTicks, processTicksSplit } from './lib/proc.ts';

const SECONDS = Number(process.argv[2] ?? 5);
const ROUND_TRIPS = Number(process.argv[3] ?? 10_000);
const CONNECTIONS = Number(process.argv[4] ?? 2_000);
const MESSAGE = 64;
const IPERF_PORT = 5201;
const RR_PORT = 7777;
const PROFILE_DIR = process.env['BENCH_CPU_PROF'];
const PERF_FILE = process.env['BENCH_PERF'];
/** A command run on the VR over the latency tests, `{pid}` replaced by its pid (strace -c -p {pid}, …). */
const ATTACH =
  PERF_FILE !== undefined
    ? `perf record -q -k mono -e cpu-clock -F 4000 -g -p {pid} -o ${PERF_FILE}`
    : process.env['BENCH_ATTACH'];
const TESTS = new Set((process.env['BENCH_TESTS'] ?? 'iperf,tcp-rr,udp-rr,tcp-crr').split(','));
const ROOT = join(import.meta.dirname, '..');

if (!(SECONDS >= 1 && SECONDS <= 30)) throw new Error('iperf3 seconds must be in [1, 30]');
if (!(ROUND_TRIPS >= 100 && ROUND_TRIPS <= 1_000_000)) throw new Error('round trips must be in [100, 1e6]');
if (!(CONNECTIONS >= 10 && CONNECTIONS <= 20_000)) throw new Error('connections must be in [10, 20000]');

type Path = 'kernel' | 'VR';

interface Measured {
  /** The program's own JSON result. */
  result: Record<string, unknown>;
  machineCpuSeconds: number;
  vrCpuSeconds?: number;
  /** The VR's main thread (the event loop: stack, relay, syscalls), user and system. */
  vrMainUserSeconds?: number;
  vrMainSysSeconds?: number;
  /** Non-zero deltas of the VR's rsock_* counters. */
  vrRsock?: Record<string, number>;
}

interface Side {
  path: Path;
  topo: RoutedTopology;
  vr?: RunningVr;
  /** Runs argv in h1: plain on the kernel side, under `nexthop exec edge` on the VR side. */
  run(argv: readonly string[], timeoutMs: number): Promise<ExecResult>;
}

/** BENCH_RING_SLOTS=N sets the VR's receive rings (config ringSlots) instead of the driver default. */
const RING_SLOTS = process.env['BENCH_RING_SLOTS'];

function edgeConfig(topo: RoutedTopology): string {
  const ring = RING_SLOTS === undefined ? '' : `, ringSlots: ${Number(RING_SLOTS)}`;
  return `routers:
  edge:
    interfaces:
      eth0: { driver: afpacket, device: ${topo.r1If}, addresses: [10.1.0.1/24]${ring} }
      eth1: { driver: afpacket, device: ${topo.r2If}, addresses: [10.2.0.1/24]${ring} }
`;
}

async function listening(ns: Netns, port: number): Promise<boolean> {
  const s = await ns.exec('ss', ['-Hltn', `sport = :${port}`]);
  return s.stdout.includes(String(port));
}

async function startServers(topo: RoutedTopology, rr: string): Promise<BackgroundProcess[]> {
  const iperf = await startInBackground(topo.h2, 'iperf3', ['-s', '-4', '-p', String(IPERF_PORT)], () =>
    listening(topo.h2, IPERF_PORT),
  );
  const echo = await startInBackground(topo.h2, rr, ['serve', String(RR_PORT)], (p) =>
    p.stdout().includes('ready'),
  );
  return [iperf, echo];
}

async function rsockCounters(vr: RunningVr): Promise<Record<string, number>> {
  const { stats } = await vr.counters();
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(stats)) if (k.startsWith('rsock_')) out[k] = v;
  return out;
}

/** Runs one client on one side, with the VR's CPU time and counters around it. */
async function measure(side: Side, argv: readonly string[], timeoutMs: number): Promise<Measured> {
  const vr = side.vr;
  const countersBefore = vr === undefined ? undefined : await rsockCounters(vr);
  const ticksBefore = vr === undefined ? undefined : processTicksSplit(vr.pid);
  const busyBefore = machineBusyTicks();
  const r = await side.run(argv, timeoutMs);
  const busyAfter = machineBusyTicks();
  const ticksAfter = vr === undefined ? undefined : processTicksSplit(vr.pid);
  if (r.code !== 0)
    throw new Error(
      `${side.path}: ${argv.join(' ')} failed (code ${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr}`,
    );
  const json = r.stdout.slice(r.stdout.indexOf('{'));
  const out: Measured = {
    result: JSON.parse(json) as Record<string, unknown>,
    machineCpuSeconds: (busyAfter - busyBefore) / CLK_TCK,
  };
  if (
    vr !== undefined &&
    countersBefore !== undefined &&
    ticksBefore !== undefined &&
    ticksAfter !== undefined
  ) {
    out.vrCpuSeconds = (ticksAfter.user + ticksAfter.sys - ticksBefore.user - ticksBefore.sys) / CLK_TCK;
    out.vrMainUserSeconds = (ticksAfter.mainUser - ticksBefore.mainUser) / CLK_TCK;
    out.vrMainSysSeconds = (ticksAfter.mainSys - ticksBefore.mainSys) / CLK_TCK;
    const after = await rsockCounters(vr);
    out.vrRsock = {};
    for (const [k, v] of Object.entries(after)) {
      const d = v - (countersBefore[k] ?? 0);
      if (d !== 0 && k !== 'rsock_sockets') out.vrRsock[k] = d;
    }
  }
  return out;
}

interface IperfJson {
  end: {
    sum_received: { bytes: number; seconds: number; bits_per_second: number };
  };
}

interface LatencyJson {
  count: number;
  lost: number;
  seconds: number;
  min_us: number;
  median_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
  mean_us: number;
  connections_per_s?: number;
}

interface Row {
  name: string;
  kernel: Measured;
  vr: Measured;
}

const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || Number.isNaN(n)
    ? '–'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function buildRr(dir: string): string {
  const out = join(dir, 'rr');
  execFileSync('cc', [
    '-std=c11',
    '-D_GNU_SOURCE',
    '-O2',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-o',
    out,
    join(import.meta.dirname, 'c/rr.c'),
  ]);
  return out;
}

async function main(): Promise<void> {
  cleanupOnExit();
  // The plain shim `nexthop exec` preloads (scripts/setup.sh builds it too; make is a no-op then).
  execFileSync('make', ['-s', '-C', join(ROOT, 'native/client'), 'all'], { stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'nexthop-exec-bench-'));
  let kernelTopo: RoutedTopology | undefined;
  let vrTopo: RoutedTopology | undefined;
  let vr: RunningVr | undefined;
  const savedNodeOptions = process.env['NODE_OPTIONS'];
  try {
    const rr = buildRr(dir);
    kernelTopo = await routedTopology({ kernelForwarding: true });
    vrTopo = await routedTopology();
    // The VR alone gets the profiler: NODE_OPTIONS is read when it starts and put back right after.
    const vrOptions: string[] = [];
    if (PROFILE_DIR !== undefined) vrOptions.push('--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`);
    if (PERF_FILE !== undefined) vrOptions.push('--perf-prof', '--interpreted-frames-native-stack');
    if (vrOptions.length > 0) process.env['NODE_OPTIONS'] = vrOptions.join(' ');
    // --perf-prof writes its JIT dump (and perf inject its .so files) in the VR's working directory.
    const cwd = process.cwd();
    if (PERF_FILE !== undefined) process.chdir(mkdtempSync(`${PERF_FILE}.jit-`));
    try {
      vr = await startVr(vrTopo.r, 'edge', edgeConfig(vrTopo));
    } finally {
      process.chdir(cwd);
      if (savedNodeOptions === undefined) delete process.env['NODE_OPTIONS'];
      else process.env['NODE_OPTIONS'] = savedNodeOptions;
    }
    const runningVr = vr;
    await waitFor(() => existsSync(join(runningVr.runDir, 'edge.sock')), { what: 'the remote socket API' });
    await startServers(kernelTopo, rr);
    await startServers(vrTopo, rr);
    const kernelTopology = kernelTopo;
    const vrTopology = vrTopo;
    const kernel: Side = {
      path: 'kernel',
      topo: kernelTopology,
      run: (argv, timeoutMs) => kernelTopology.h1.exec(argv[0]!, argv.slice(1), { timeoutMs }),
    };
    const viaVr: Side = {
      path: 'VR',
      topo: vrTopology,
      vr: runningVr,
      run: (argv, timeoutMs) =>
        vrTopology.h1.exec(
          process.execPath,
          [CLI_MAIN, 'exec', runningVr.name, '--run-dir', runningVr.runDir, '--', ...argv],
          { timeoutMs },
        ),
    };
    // Both paths answer before anything is timed (ARP, the VR's neighbour entries).
    await kernelTopology.h1.execOk('ping', ['-n', '-c', '2', '-i', '0.2', '-W', '2', '10.2.0.2']);
    await vrTopology.h1.execOk('ping', ['-n', '-c', '2', '-i', '0.2', '-W', '2', '10.2.0.2']);

    const iperf = (reverse: boolean): string[] => [
      'iperf3',
      '-4',
      '-c',
      '10.2.0.2',
      '-p',
      String(IPERF_PORT),
      '-t',
      String(SECONDS),
      '-J',
      ...(reverse ? ['-R'] : []),
    ];
    const plan: { test: string; name: string; argv: string[]; timeoutMs: number }[] = [
      { test: 'iperf', name: 'iperf3 h1 → h2', argv: iperf(false), timeoutMs: (SECONDS + 60) * 1000 },
      { test: 'iperf', name: 'iperf3 -R h2 → h1', argv: iperf(true), timeoutMs: (SECONDS + 60) * 1000 },
      {
        test: 'tcp-rr',
        name: `TCP request/response ${MESSAGE} B`,
        argv: [rr, 'tcp-rr', '10.2.0.2', String(RR_PORT), String(ROUND_TRIPS), String(MESSAGE)],
        timeoutMs: 120_000,
      },
      {
        test: 'udp-rr',
        name: `UDP request/response ${MESSAGE} B`,
        argv: [rr, 'udp-rr', '10.2.0.2', String(RR_PORT), String(ROUND_TRIPS), String(MESSAGE)],
        timeoutMs: 240_000,
      },
      {
        test: 'tcp-crr',
        name: 'TCP connect + 1 B each way + close',
        argv: [rr, 'tcp-crr', '10.2.0.2', String(RR_PORT), String(CONNECTIONS)],
        timeoutMs: 240_000,
      },
    ];
    const rows: Row[] = [];
    let perf: ReturnType<typeof spawn> | undefined;
    for (const step of plan) {
      if (!TESTS.has(step.test)) continue;
      if (ATTACH !== undefined && perf === undefined && step.test !== 'iperf') {
        // A profiler or tracer on the VR for the latency tests; stopped with SIGINT at the end.
        perf = spawn('sh', ['-c', `exec ${ATTACH.replaceAll('{pid}', String(runningVr.pid))}`], {
          stdio: 'inherit',
        });
        await new Promise((r) => setTimeout(r, 1000));
      }
      const k = await measure(kernel, step.argv, step.timeoutMs);
      const v = await measure(viaVr, step.argv, step.timeoutMs);
      rows.push({ name: step.name, kernel: k, vr: v });
    }
    if (perf !== undefined) {
      const done = new Promise((r) => perf!.once('exit', r));
      perf.kill('SIGINT');
      await done;
      if (PERF_FILE !== undefined) {
        execFileSync('perf', ['inject', '--jit', '-i', PERF_FILE, '-o', `${PERF_FILE}.jit`]);
        console.log(`perf data of the VR over the latency tests: ${PERF_FILE}.jit (perf report -i …)`);
      }
    }
    report(rows);
    if (PROFILE_DIR !== undefined) {
      await vr.stop();
      vr = undefined;
      const profiles = readdirSync(PROFILE_DIR).filter((f) => f.endsWith('.cpuprofile'));
      const latest = profiles.sort().at(-1);
      if (latest !== undefined) {
        console.log(`\nVR CPU profile (${join(PROFILE_DIR, latest)}), self time over the whole run:\n`);
        console.log(summarizeCpuProfile(join(PROFILE_DIR, latest), 30));
      }
    }
  } finally {
    await vr?.stop();
    await kernelTopo?.destroy();
    await vrTopo?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(rows: Row[]): void {
  const cpu = execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"])
    .toString()
    .trim();
  console.log(
    `Programs under nexthop exec (VR) vs plain (kernel router), same shape, same run; ${new Date().toISOString()}; ` +
      `node ${process.version}; ${cpu}; iperf3 -t ${SECONDS}; ${fmt(ROUND_TRIPS)} round trips; ${fmt(CONNECTIONS)} connections`,
  );
  // No retransmit column: under exec iperf3's TCP_INFO query meets the shim's AF_UNIX descriptor.
  console.log('\nThroughput (iperf3 -J, receiver side):\n');
  console.log(
    '| test | kernel Gbit/s | VR Gbit/s | VR / kernel | VR GB | VR CPU s | VR CPU s/GB | VR CPU share | machine CPU s/GB kernel | machine CPU s/GB VR |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows.filter((r) => r.name.startsWith('iperf3'))) {
    const k = (row.kernel.result as unknown as IperfJson).end;
    const v = (row.vr.result as unknown as IperfJson).end;
    const kGbps = k.sum_received.bits_per_second / 1e9;
    const vGbps = v.sum_received.bits_per_second / 1e9;
    const vGb = v.sum_received.bytes / 1e9;
    const kGb = k.sum_received.bytes / 1e9;
    console.log(
      `| ${row.name} | ${fmt(kGbps, 2)} | ${fmt(vGbps, 2)} | **${(vGbps / kGbps).toFixed(3)}** | ${fmt(vGb, 2)} | ${fmt(row.vr.vrCpuSeconds, 2)} | ${fmt(row.vr.vrCpuSeconds! / vGb, 2)} | ${fmt((100 * row.vr.vrCpuSeconds!) / v.sum_received.seconds)} % | ${fmt(row.kernel.machineCpuSeconds / kGb, 2)} | ${fmt(row.vr.machineCpuSeconds / vGb, 2)} |`,
    );
  }
  console.log('\nLatency (per round trip, µs; client timed around write..read):\n');
  console.log(
    '| test | kernel median | VR median | VR / kernel median | kernel p99 | VR p99 | VR / kernel p99 | kernel min / max | VR min / max | lost kernel / VR | VR CPU µs per round trip | of which main thread user / sys |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows.filter((r) => !r.name.startsWith('iperf3'))) {
    const k = row.kernel.result as unknown as LatencyJson;
    const v = row.vr.result as unknown as LatencyJson;
    console.log(
      `| ${row.name} | ${fmt(k.median_us, 1)} | ${fmt(v.median_us, 1)} | **${(v.median_us / k.median_us).toFixed(2)}** | ${fmt(k.p99_us, 1)} | ${fmt(v.p99_us, 1)} | ${(v.p99_us / k.p99_us).toFixed(2)} | ${fmt(k.min_us, 1)} / ${fmt(k.max_us)} | ${fmt(v.min_us, 1)} / ${fmt(v.max_us)} | ${k.lost} / ${v.lost} | ${fmt((row.vr.vrCpuSeconds! * 1e6) / v.count, 1)} | ${fmt((row.vr.vrMainUserSeconds! * 1e6) / v.count, 1)} / ${fmt((row.vr.vrMainSysSeconds! * 1e6) / v.count, 1)} |`,
    );
  }
  const crr = rows.find((r) => r.name.startsWith('TCP connect'));
  if (crr !== undefined) {
    const k = crr.kernel.result as unknown as LatencyJson;
    const v = crr.vr.result as unknown as LatencyJson;
    console.log('\nConnections per second (connect, 1 B each way, close; sequential):\n');
    console.log(
      '| kernel conn/s | VR conn/s | VR / kernel | VR CPU µs per connection | of which main thread user / sys | VR CPU share |',
    );
    console.log('|---|---|---|---|---|---|');
    console.log(
      `| ${fmt(k.connections_per_s, 0)} | ${fmt(v.connections_per_s, 0)} | **${(v.connections_per_s! / k.connections_per_s!).toFixed(3)}** | ${fmt((crr.vr.vrCpuSeconds! * 1e6) / v.count, 0)} | ${fmt((crr.vr.vrMainUserSeconds! * 1e6) / v.count, 0)} / ${fmt((crr.vr.vrMainSysSeconds! * 1e6) / v.count, 0)} | ${fmt((100 * crr.vr.vrCpuSeconds!) / v.seconds)} % |`,
    );
  }
  console.log('\nVR rsock counters per test (non-zero deltas; VR CPU s includes the exec CLI handshake):\n');
  for (const row of rows)
    console.log(
      `- ${row.name}: VR CPU ${fmt(row.vr.vrCpuSeconds, 2)} s; ${Object.entries(row.vr.vrRsock ?? {})
        .map(([k, n]) => `${k} ${fmt(n)}`)
        .join(', ')}`,
    );
}

await main();
