// TCP throughput of the VR's own TCP: a kernel client on h2 writing to the VR's discard service and
// reading its chargen, next to kernel-to-kernel TCP through the kernel router (h2 → h1 and back) on
// the same topology in the same run, with the same client program (bench/lib/tcp-stream.py).
// Usage: node bench/tcp.ts [MB per transfer, default 500] [seconds bound, default 10]   (root; not a test)
import { join } from 'node:path';
import {
  type BackgroundProcess,
  cleanupOnExit,
  type Netns,
  type RoutedTopology,
  routedTopology,
  startInBackground,
} from '@nexthop/netns';
import { type RunningVr, startVr } from '../tests/lib/vr.ts';
import { CLK_TCK, machineBusyTicks, processTicks, softnetDrops } from './lib/proc.ts';

const MEGABYTES = Number(process.argv[2] ?? 500);
const SECONDS = Number(process.argv[3] ?? 10);
const BYTES = Math.round(MEGABYTES * 1e6);
const PYTHON = '/usr/bin/python3';
const CLIENT = join(import.meta.dirname, 'lib/tcp-stream.py');
const DISCARD_PORT = 9;
const CHARGEN_PORT = 19;
/** Kernel transfers take a fraction of a second each, so each is run this often and the median kept. */
const KERNEL_REPEATS = 3;

if (!(MEGABYTES > 0 && MEGABYTES <= 10_000)) throw new Error('MB per transfer must be in (0, 10000]');
if (!(SECONDS > 0 && SECONDS <= 60)) throw new Error('seconds must be in (0, 60]');

type Direction = 'to discard' | 'from chargen';
type System = 'VR' | 'kernel, h1 via router' | 'kernel, router endpoint';

interface ClientResult {
  bytes: number;
  seconds: number;
  longest_call_s: number;
  error: string | null;
  snd_mss: number;
  rcv_mss: number;
  rtt_us: number;
  snd_cwnd: number;
  total_retrans: number;
}

interface Transfer {
  direction: Direction;
  system: System;
  client: ClientResult;
  machineCpuSeconds: number;
  /** Packets the kernel dropped from full per-CPU backlogs (veth delivers through them), all CPUs. */
  softnetDrops: number;
  h2Tcp: Record<string, number>;
  vrCpuSeconds?: number;
  /** Non-zero deltas of the VR's `show counters` stats and drops. */
  vrCounters?: Record<string, number>;
  /** Per VR link: frames and bytes each way (deltas). */
  vrLinks?: Record<string, Record<(typeof LINK_FIELDS)[number], number>>;
  /** MB/s of every repeat (kernel rows, whose median transfer is the one reported). */
  repeatsMbps?: number[];
  /** The VR's row for the connection, sampled about once a second during the transfer. */
  vrSocketSamples?: string[];
}

async function h2TcpCounters(topo: RoutedTopology): Promise<Record<string, number>> {
  const snmp = await topo.h2.execOk('cat', ['/proc/net/snmp']);
  const rows = snmp.split('\n').filter((l) => l.startsWith('Tcp:'));
  const names = rows[0]!.split(' ');
  const values = rows[1]!.split(' ');
  const out: Record<string, number> = {};
  for (const k of ['InSegs', 'OutSegs', 'RetransSegs', 'InErrs', 'OutRsts'])
    out[k] = Number(values[names.indexOf(k)]);
  return out;
}

/** TcpExt counters of h2 (/proc/net/netstat) that tell loss, recovery and receive pressure apart. */
const TCP_EXT = /Retrans|Loss|Recovery|Spurious|Timeout|DSACK|Prune|Collapse|Drop|OFO|Probe|Reorder/;

async function h2TcpExt(topo: RoutedTopology): Promise<Record<string, number>> {
  const netstat = await topo.h2.execOk('cat', ['/proc/net/netstat']);
  const rows = netstat.split('\n').filter((l) => l.startsWith('TcpExt:'));
  const names = rows[0]!.split(' ');
  const values = rows[1]!.split(' ');
  const out: Record<string, number> = {};
  for (let i = 1; i < names.length; i++) if (TCP_EXT.test(names[i]!)) out[names[i]!] = Number(values[i]);
  return out;
}

const LINK_FIELDS = ['rxFrames', 'rxBytes', 'txFrames', 'txBytes', 'rxDropsKernel', 'txDropsFull'] as const;

interface VrSample {
  ticks: number;
  counters: Record<string, number>;
  links: Record<string, Record<string, number>>;
}

async function vrSample(vr: RunningVr): Promise<VrSample> {
  const ticks = processTicks(vr.pid);
  const c = (await vr.call('show.counters')) as {
    stats: Record<string, number>;
    drops: Record<string, number>;
    links: Record<string, Record<string, number>>;
  };
  const counters: Record<string, number> = {};
  for (const [k, v] of Object.entries(c.stats)) counters[k] = v;
  for (const [k, v] of Object.entries(c.drops)) counters[`drop:${k}`] = v;
  return { ticks, counters, links: c.links };
}

async function transfer(
  topo: RoutedTopology,
  system: System,
  direction: Direction,
  host: string,
  vr?: RunningVr,
): Promise<Transfer> {
  const port = direction === 'to discard' ? DISCARD_PORT : CHARGEN_PORT;
  const mode = direction === 'to discard' ? 'send' : 'recv';
  const tcpBefore = await h2TcpCounters(topo);
  const extBefore = await h2TcpExt(topo);
  const vrBefore = vr === undefined ? undefined : await vrSample(vr);
  const busyBefore = machineBusyTicks();
  const softnetBefore = softnetDrops();
  const run = topo.h2.exec(PYTHON, [CLIENT, mode, host, String(port), String(BYTES), String(SECONDS)], {
    timeoutMs: (SECONDS + 90) * 1000,
  });
  const samples: string[] = [];
  let done = false;
  void run.then(() => {
    done = true;
  });
  if (vr !== undefined) {
    // One control request a second: cheap against the transfer, and shows queues and state.
    while (!done) {
      await Promise.race([run, new Promise((r) => setTimeout(r, 1000))]);
      if (done) break;
      const rows = (await vr.call('show.sockets')) as {
        type: string;
        state: string;
        local: string;
        peer: string;
        recvQ: number;
        sendQ: number;
      }[];
      const row = rows.find(
        (r) => r.type === 'stream' && r.local.endsWith(`:${port}`) && r.state !== 'LISTEN',
      );
      samples.push(row === undefined ? 'none' : `${row.state} recvQ ${row.recvQ} sendQ ${row.sendQ}`);
    }
  }
  const r = await run;
  const busyAfter = machineBusyTicks();
  const softnetAfter = softnetDrops();
  if (r.code !== 0) throw new Error(`client ${mode} ${host}:${port} failed (code ${r.code}):\n${r.stderr}`);
  const client = JSON.parse(r.stdout) as ClientResult;
  const tcpAfter = await h2TcpCounters(topo);
  const extAfter = await h2TcpExt(topo);
  const h2Tcp: Record<string, number> = {};
  for (const k of Object.keys(tcpAfter)) h2Tcp[k] = tcpAfter[k]! - tcpBefore[k]!;
  for (const k of Object.keys(extAfter))
    if (extAfter[k] !== extBefore[k]) h2Tcp[k] = extAfter[k]! - extBefore[k]!;
  const result: Transfer = {
    direction,
    system,
    client,
    machineCpuSeconds: (busyAfter - busyBefore) / CLK_TCK,
    softnetDrops: softnetAfter - softnetBefore,
    h2Tcp,
  };
  if (vr !== undefined && vrBefore !== undefined) {
    const vrAfter = await vrSample(vr);
    result.vrCpuSeconds = (vrAfter.ticks - vrBefore.ticks) / CLK_TCK;
    result.vrCounters = {};
    for (const [k, v] of Object.entries(vrAfter.counters)) {
      const d = v - (vrBefore.counters[k] ?? 0);
      if (d !== 0 && k !== 'sockets_open') result.vrCounters[k] = d;
    }
    result.vrLinks = {};
    for (const [name, l] of Object.entries(vrAfter.links)) {
      const b = vrBefore.links[name]!;
      const d = {} as Record<(typeof LINK_FIELDS)[number], number>;
      for (const k of LINK_FIELDS) d[k] = l[k]! - b[k]!;
      result.vrLinks[name] = d;
    }
    result.vrSocketSamples = samples;
  }
  return result;
}

async function startKernelServer(ns: Netns, addr: string): Promise<BackgroundProcess> {
  return startInBackground(ns, PYTHON, [CLIENT, 'serve', addr], (p) => p.stdout().includes('ready'), {
    timeoutMs: 10_000,
  });
}

async function ping(ns: Netns, addr: string): Promise<void> {
  await ns.execOk('ping', ['-n', '-c', '3', '-i', '0.2', '-W', '2', addr], { timeoutMs: 15_000 });
}

async function measureKernel(): Promise<Transfer[]> {
  const topo = await routedTopology({ kernelForwarding: true });
  try {
    await startKernelServer(topo.h1, topo.h1Addr);
    await startKernelServer(topo.r, topo.r2Addr);
    await ping(topo.h2, topo.h1Addr);
    const out: Transfer[] = [];
    for (const direction of ['to discard', 'from chargen'] as const) {
      const viaRouter: Transfer[] = [];
      const endpoint: Transfer[] = [];
      for (let i = 0; i < KERNEL_REPEATS; i++) {
        viaRouter.push(await transfer(topo, 'kernel, h1 via router', direction, topo.h1Addr));
        endpoint.push(await transfer(topo, 'kernel, router endpoint', direction, topo.r2Addr));
      }
      out.push(median(viaRouter), median(endpoint));
    }
    return out;
  } finally {
    await topo.destroy();
  }
}

async function measureVr(): Promise<Transfer[]> {
  const topo = await routedTopology();
  let vr: RunningVr | undefined;
  try {
    vr = await startVr(
      topo.r,
      'bench',
      `routers:
  bench:
    interfaces:
      eth0: { driver: afpacket, device: ${topo.r1If}, addresses: [10.1.0.1/24] }
      eth1: { driver: afpacket, device: ${topo.r2If}, addresses: [10.2.0.1/24] }
    services: { echo: true, discard: true, chargen: true }
`,
    );
    await ping(topo.h2, topo.r2Addr);
    const out: Transfer[] = [];
    for (const direction of ['to discard', 'from chargen'] as const)
      out.push(await transfer(topo, 'VR', direction, topo.r2Addr, vr));
    return out;
  } finally {
    await vr?.stop();
    await topo.destroy();
  }
}

const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || Number.isNaN(n)
    ? '–'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const mbps = (t: Transfer): number => t.client.bytes / 1e6 / t.client.seconds;

function median(runs: Transfer[]): Transfer {
  const sorted = [...runs].sort((a, b) => mbps(a) - mbps(b));
  return { ...sorted[sorted.length >> 1]!, repeatsMbps: runs.map(mbps) };
}

async function main(): Promise<void> {
  cleanupOnExit();
  const kernel = await measureKernel();
  const vr = await measureVr();
  console.log(
    `TCP bulk transfer, kernel client on h2 (${PYTHON}, bench/lib/tcp-stream.py), ${fmt(MEGABYTES)} MB or ${SECONDS} s per transfer, whichever first; node ${process.version}`,
  );
  console.log(
    '\n| transfer | system | MB | s | MB/s | Gbit/s | VR CPU s/GB | VR CPU share | machine CPU s/GB | kernel via router MB/s | VR / kernel via router | kernel endpoint MB/s | VR / kernel endpoint |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const t of [...kernel, ...vr]) {
    const viaRouter = kernel.find(
      (k) => k.direction === t.direction && k.system === 'kernel, h1 via router',
    )!;
    const endpoint = kernel.find(
      (k) => k.direction === t.direction && k.system === 'kernel, router endpoint',
    )!;
    const gb = t.client.bytes / 1e9;
    const isVr = t.system === 'VR';
    console.log(
      `| ${t.direction} | ${t.system} | ${fmt(t.client.bytes / 1e6, 1)} | ${fmt(t.client.seconds, 2)} | ${fmt(mbps(t), 1)} | ${fmt((mbps(t) * 8) / 1000, 2)} | ${isVr ? fmt(t.vrCpuSeconds! / gb, 2) : '–'} | ${isVr ? `${fmt((100 * t.vrCpuSeconds!) / t.client.seconds)} %` : '–'} | ${fmt(t.machineCpuSeconds / gb, 2)} | ${isVr ? fmt(mbps(viaRouter), 1) : '–'} | ${isVr ? (mbps(t) / mbps(viaRouter)).toFixed(3) : '–'} | ${isVr ? fmt(mbps(endpoint), 1) : '–'} | ${isVr ? (mbps(t) / mbps(endpoint)).toFixed(3) : '–'} |`,
    );
  }
  console.log('\nPer transfer (client TCP_INFO at the end; h2 Tcp counters of /proc/net/snmp, deltas):\n');
  for (const t of [...kernel, ...vr]) {
    const c = t.client;
    const repeats =
      t.repeatsMbps === undefined ? '' : ` (median of ${t.repeatsMbps.map((m) => fmt(m)).join(', ')} MB/s)`;
    console.log(
      `- ${t.direction}, ${t.system}${repeats}: client error ${c.error ?? 'none'}, longest single send/recv ${fmt(c.longest_call_s * 1000)} ms, ` +
        `snd_mss ${c.snd_mss} rcv_mss ${c.rcv_mss} rtt ${c.rtt_us} µs cwnd ${c.snd_cwnd} total_retrans ${c.total_retrans}; backlog drops ${fmt(t.softnetDrops)}; ` +
        `h2 ${Object.entries(t.h2Tcp)
          .map(([k, v]) => `${k} ${fmt(v)}`)
          .join(' ')}`,
    );
    if (t.system !== 'VR') continue;
    const links = Object.entries(t.vrLinks!)
      .filter(([, l]) => l.rxFrames + l.txFrames > 0)
      .map(
        ([name, l]) =>
          `${name} rx ${fmt(l.rxFrames)} frames (${fmt(l.rxFrames > 0 ? l.rxBytes / l.rxFrames : 0)} B avg) tx ${fmt(l.txFrames)} frames (${fmt(l.txFrames > 0 ? l.txBytes / l.txFrames : 0)} B avg) rxDropsKernel ${fmt(l.rxDropsKernel)} txDropsFull ${fmt(l.txDropsFull)}`,
      );
    console.log(`  - VR links: ${links.join('; ')}`);
    console.log(
      `  - VR counters (non-zero deltas): ${Object.entries(t.vrCounters!)
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join(', ')}`,
    );
    console.log(`  - VR socket each second: ${t.vrSocketSamples!.join(' | ') || '(transfer under 1 s)'}`);
  }
}

await main();
