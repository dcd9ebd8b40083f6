// RIB benchmark: loads the real RIPE NCC RIS tables (IPv4 and IPv6) into @nexthop/rib as BGP routes
// from one source, with 4 distinct next hops resolved recursively through one static route over a
// connected network, and measures: load (updates, then the flush that writes the FIB), heap bytes per
// route, re-pointing the static route every BGP next hop resolves through (FIB calls must not depend
// on the table size), and withdrawing the whole BGP source. The FIB side is a writer that counts
// calls, so the figures are the RIB's own. Baseline in the same run: a naive RIB (a map of prefix →
// route, every route re-resolved and re-written when the static route changes).
// Usage: node bench/rib.ts   (re-runs itself with --expose-gc; prints Markdown; not part of the tests)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseIpv4, parseIpv6, parseIpv6Prefix } from '@nexthop/addr';
import { type FibTableWriter, type FibWriter, type GroupState, Rib, type RouteInput } from '@nexthop/rib';

if (typeof globalThis.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', import.meta.filename], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}
const gc = globalThis.gc as () => void;

const DATA = join(import.meta.dirname, '../../shared/data/ris');
const TABLE4 = join(DATA, 'ipv4-table-2026-05-11.txt.gz');
const TABLE6 = join(DATA, 'ipv6-table-2026-05-11.txt.gz');
const ROUNDS = 3;

/** `a.b.c.d/len` lines straight from the bytes (as bench/fib.ts). */
function readTable4(): { networks: Uint32Array; lengths: Uint8Array } {
  const text = gunzipSync(readFileSync(TABLE4));
  const networks: number[] = [];
  const lengths: number[] = [];
  let addr = 0;
  let octet = 0;
  let length = 0;
  let inLength = false;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text[i]! : 10;
    if (c >= 48 && c <= 57) {
      if (inLength) length = length * 10 + (c - 48);
      else octet = octet * 10 + (c - 48);
    } else if (c === 46) {
      addr = addr * 256 + octet;
      octet = 0;
    } else if (c === 47) {
      addr = addr * 256 + octet;
      inLength = true;
    } else if (c === 10) {
      if (inLength) {
        networks.push(addr);
        lengths.push(length);
      }
      addr = octet = length = 0;
      inLength = false;
    }
  }
  return { networks: Uint32Array.from(networks), lengths: Uint8Array.from(lengths) };
}

function readTable6(): { networks: Uint8Array[]; lengths: number[] } {
  const lines = gunzipSync(readFileSync(TABLE6)).toString('latin1').split('\n');
  const networks: Uint8Array[] = [];
  const lengths: number[] = [];
  for (const line of lines) {
    if (line.length === 0) continue;
    const p = parseIpv6Prefix(line);
    networks.push(p.network);
    lengths.push(p.length);
  }
  return { networks, lengths };
}

class Counting<A> implements FibTableWriter<A> {
  calls = 0;
  setGroup(_id: number, _state: GroupState<A>): void {
    this.calls++;
  }
  releaseGroup(_id: number): void {
    this.calls++;
  }
  setRoute(_network: A, _length: number, _group: number): void {
    this.calls++;
  }
  deleteRoute(_network: A, _length: number): void {
    this.calls++;
  }
}

class CountingFib implements FibWriter {
  readonly v4 = new Counting<number>();
  readonly v6 = new Counting<Uint8Array>();
  begin(): void {}
  commit(): void {}
  take(): number {
    const n = this.v4.calls + this.v6.calls;
    this.v4.calls = this.v6.calls = 0;
    return n;
  }
}

function heap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** CPU time of this thread in ms (the machine is shared and often oversubscribed: see bench/fib6.ts). */
function cpu(): number {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
}
const ms = (t0: number): number => cpu() - t0;
const fmt = (x: number, digits = 0): string => x.toFixed(digits);

interface Result {
  routes: number;
  updateMs: number;
  flushMs: number;
  loadCalls: number;
  bytesPerRoute: number;
  igpMs: number;
  igpCalls: number;
  withdrawMs: number;
  withdrawCalls: number;
  naiveLoadMs: number;
  naiveBytesPerRoute: number;
  naiveIgpMs: number;
  naiveIgpCalls: number;
}

/** One family: networks[i]/lengths[i] as BGP routes via hops[i % 4], resolved through one static route. */
function run<A>(
  family: 4 | 6,
  networks: ArrayLike<A>,
  lengths: ArrayLike<number>,
  connected: [A, number],
  staticPrefix: [A, number],
  gateways: [A, A],
  nextHops: A[],
  format: (a: A) => string,
): Result {
  const count = networks.length;
  const fib = new CountingFib();
  const rib = new Rib(fib);
  const table = (family === 4 ? rib.v4 : rib.v6) as unknown as {
    update(s: unknown, n: A, l: number, r: RouteInput<A> | null, now: number): void;
  };
  const conn = rib.addSource('connected', 'kernel');
  const statics = rib.addSource('static', 'config');
  const bgp = rib.addSource('bgp', 'peer');
  table.update(conn, connected[0], connected[1], { nextHops: [{ ifIndex: 1 }] }, 0);
  table.update(statics, staticPrefix[0], staticPrefix[1], { nextHops: [{ gateway: gateways[0] }] }, 0);
  rib.flush();
  fib.take();
  // One route object per next hop, as a BGP speaker interning attribute sets hands them in.
  const routes = nextHops.map((gateway) => ({ nextHops: [{ gateway }] }));
  const before = heap();
  let t0 = cpu();
  for (let i = 0; i < count; i++) table.update(bgp, networks[i]!, lengths[i]!, routes[i & 3]!, 1);
  const updateMs = ms(t0);
  t0 = cpu();
  rib.flush();
  const flushMs = ms(t0);
  const loadCalls = fib.take();
  const bytesPerRoute = (heap() - before) / count;

  // Below the CPU clock's granularity: wall clock for this one.
  const w0 = process.hrtime.bigint();
  table.update(statics, staticPrefix[0], staticPrefix[1], { nextHops: [{ gateway: gateways[1] }] }, 2);
  rib.flush();
  const igpMs = Number(process.hrtime.bigint() - w0) / 1e6;
  const igpCalls = fib.take();

  t0 = cpu();
  const removed = rib.withdrawAll(bgp);
  rib.flush();
  const withdrawMs = ms(t0);
  const withdrawCalls = fib.take();
  if (removed !== count) throw new Error(`withdrew ${removed} of ${count}`);

  // The naive RIB: prefix text → route; a static-route change re-resolves and re-writes everything.
  const naiveBefore = heap();
  t0 = cpu();
  const naive = new Map<string, { gateway: A; resolved: A }>();
  for (let i = 0; i < count; i++) {
    naive.set(`${format(networks[i]!)}/${lengths[i]}`, { gateway: nextHops[i & 3]!, resolved: gateways[0] });
  }
  const naiveLoadMs = ms(t0);
  const naiveBytesPerRoute = (heap() - naiveBefore) / count;
  t0 = cpu();
  let naiveIgpCalls = 0;
  for (const route of naive.values()) {
    route.resolved = gateways[1];
    naiveIgpCalls++;
  }
  const naiveIgpMs = ms(t0);
  naive.clear();
  return {
    routes: count,
    updateMs,
    flushMs,
    loadCalls,
    bytesPerRoute,
    igpMs,
    igpCalls,
    withdrawMs,
    withdrawCalls,
    naiveLoadMs,
    naiveBytesPerRoute,
    naiveIgpMs,
    naiveIgpCalls,
  };
}

function best(results: Result[]): Result {
  const pick = (f: (r: Result) => number) => Math.min(...results.map(f));
  const r = results[0]!;
  return {
    ...r,
    updateMs: pick((x) => x.updateMs),
    flushMs: pick((x) => x.flushMs),
    bytesPerRoute: pick((x) => x.bytesPerRoute),
    igpMs: pick((x) => x.igpMs),
    withdrawMs: pick((x) => x.withdrawMs),
    naiveLoadMs: pick((x) => x.naiveLoadMs),
    naiveBytesPerRoute: pick((x) => x.naiveBytesPerRoute),
    naiveIgpMs: pick((x) => x.naiveIgpMs),
  };
}

const t4 = readTable4();
const t6 = readTable6();
const v4: Result[] = [];
const v6: Result[] = [];
for (let round = 0; round < ROUNDS; round++) {
  v4.push(
    run(
      4,
      t4.networks,
      t4.lengths,
      [parseIpv4('192.0.2.0'), 24],
      [parseIpv4('100.64.0.0'), 16],
      [parseIpv4('192.0.2.1'), parseIpv4('192.0.2.2')],
      [1, 2, 3, 4].map((i) => parseIpv4(`100.64.0.${i}`)),
      (a) => String(a),
    ),
  );
  v6.push(
    run(
      6,
      t6.networks,
      t6.lengths,
      [parseIpv6('2001:db8::'), 64],
      [parseIpv6('2001:db8:ffff::'), 48],
      [parseIpv6('2001:db8::1'), parseIpv6('2001:db8::2')],
      [1, 2, 3, 4].map((i) => parseIpv6(`2001:db8:ffff::${i}`)),
      (a) => Buffer.from(a).toString('hex'),
    ),
  );
}

console.log(
  `Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)}; thread CPU time, best of ${ROUNDS} rounds.`,
);
console.log();
console.log('| measure | IPv4 | IPv6 | naive RIB (IPv4) | ours / naive (IPv4) |');
console.log('| --- | --- | --- | --- | --- |');
for (const [name, f, naive] of [
  ['routes (RIS table)', (r: Result) => fmt(r.routes), null],
  ['load: updates', (r: Result) => `${fmt(r.updateMs)} ms`, (r: Result) => r.naiveLoadMs],
  ['load: flush to the FIB', (r: Result) => `${fmt(r.flushMs)} ms, ${r.loadCalls} calls`, null],
  ['heap bytes per route', (r: Result) => fmt(r.bytesPerRoute), (r: Result) => r.naiveBytesPerRoute],
  [
    'static route under all BGP next hops re-pointed',
    (r: Result) => `${fmt(r.igpMs, 2)} ms, ${r.igpCalls} FIB calls`,
    (r: Result) => r.naiveIgpMs,
  ],
  [
    'withdraw the BGP source (with flush)',
    (r: Result) => `${fmt(r.withdrawMs)} ms, ${r.withdrawCalls} calls`,
    null,
  ],
] as [string, (r: Result) => string, ((r: Result) => number) | null][]) {
  const b4 = best(v4);
  const b6 = best(v6);
  let naiveText = '';
  let ratio = '';
  if (naive !== null) {
    const n = naive(b4);
    naiveText = name.startsWith('heap')
      ? fmt(n)
      : `${fmt(n, 2)} ms${name.startsWith('static') ? `, ${b4.naiveIgpCalls} calls` : ''}`;
    const ours = name.startsWith('load')
      ? b4.updateMs
      : name.startsWith('heap')
        ? b4.bytesPerRoute
        : b4.igpMs;
    ratio = `${(ours / n).toFixed(ours / n < 0.1 ? 4 : 2)}×`;
  }
  console.log(`| ${name} | ${f(b4)} | ${f(b6)} | ${naiveText} | ${ratio} |`);
}
