// FIB benchmark: builds @nexthop/fib from the real RIPE NCC RIS IPv4 table, measures lookups, and
// runs a plain C DIR-24-8 (bench/c/dir24_8.c) on the same prefixes and keys in the same run.
// Usage: node bench/fib.ts   (prints a Markdown table; not part of the tests)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Ipv4Fib, NH_FORWARD } from '@nexthop/fib';

const TABLE = join(import.meta.dirname, '../../shared/data/ris/ipv4-table-2026-05-11.txt.gz');
const NEXT_HOPS = 16;
const KEY_COUNT = 10_000_000;
const REPEATED_COUNT = 1024;
const SAMPLE = 1_000_000;
const ROUNDS = 5;
const WARM_UP_CALLS = 50;
const BUILD_ROUNDS = 3;

/** Parses `a.b.c.d/len` lines straight from the bytes (the table has ~1 M lines). */
function readTable(path: string): { networks: Uint32Array; lengths: Uint8Array } {
  const text = gunzipSync(readFileSync(path));
  let lines = 0;
  for (let i = 0; i < text.length; i++) if (text[i] === 10) lines++;
  const networks = new Uint32Array(lines + 1);
  const lengths = new Uint8Array(lines + 1);
  let count = 0;
  let addr = 0;
  let octet = 0;
  let length = 0;
  let inLength = false;
  let sawDigit = false;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text[i]! : 10;
    if (c >= 48 && c <= 57) {
      sawDigit = true;
      if (inLength) length = length * 10 + (c - 48);
      else octet = octet * 10 + (c - 48);
    } else if (c === 46) {
      addr = addr * 256 + octet;
      octet = 0;
    } else if (c === 47) {
      addr = addr * 256 + octet;
      inLength = true;
    } else if (c === 10) {
      if (sawDigit) {
        if (!inLength || length > 32) throw new Error(`bad line ${count + 1}`);
        networks[count] = addr;
        lengths[count] = length;
        count++;
      }
      addr = octet = length = 0;
      inLength = sawDigit = false;
    }
  }
  return { networks: networks.subarray(0, count), lengths: lengths.subarray(0, count) };
}

/** xorshift32, fixed seed: the same keys on every run. */
function makeRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function makeKeys(networks: Uint32Array, lengths: Uint8Array): Uint32Array {
  const random = makeRandom(0x5eed1234);
  const keys = new Uint32Array(KEY_COUNT);
  for (let i = 0; i < KEY_COUNT; i++) {
    if ((i & 1) === 0) {
      keys[i] = random();
    } else {
      const p = random() % networks.length;
      const hostBits = 32 - lengths[p]!;
      const host = hostBits === 0 ? 0 : hostBits === 32 ? random() : random() & ((1 << hostBits) - 1);
      keys[i] = (networks[p]! | host) >>> 0;
    }
  }
  return keys;
}

function runRandom(fib: Ipv4Fib, keys: Uint32Array): number {
  let sum = 0;
  for (let i = 0; i < keys.length; i++) sum = (sum + fib.lookup(keys[i]!, 0)) | 0;
  return sum >>> 0;
}

function runRepeated(fib: Ipv4Fib, keys: Uint32Array, iterations: number): number {
  const mask = keys.length - 1;
  let sum = 0;
  for (let i = 0; i < iterations; i++) sum = (sum + fib.lookup(keys[i & mask]!, 0)) | 0;
  return sum >>> 0;
}

function u32File(path: string, data: Uint32Array): void {
  const out = new Uint32Array(data.length + 1);
  out[0] = data.length;
  out.set(data, 1);
  writeFileSync(path, new Uint8Array(out.buffer));
}

const mlps = (count: number, ms: number): number => count / ms / 1000;
const fmt = (x: number, digits = 1): string => x.toFixed(digits);

const { networks, lengths } = readTable(TABLE);
const keys = makeKeys(networks, lengths);
const repeated = keys.slice(0, REPEATED_COUNT);

// TypeScript FIB. Each route takes its own next-hop reference (the FIB's ownership rule); retain
// is the cheap form of acquire for an id the caller already holds. Built BUILD_ROUNDS times (a
// fresh table each time), best time kept, as on the C side.
const routeHops = new Uint32Array(networks.length);
function buildFib(): { fib: Ipv4Fib; ms: number } {
  const fib = new Ipv4Fib();
  const hops: number[] = [];
  for (let i = 0; i < NEXT_HOPS; i++) hops.push(fib.nextHops.acquire(NH_FORWARD, 1 + i, 0x0a000001 + i));
  const start = process.hrtime.bigint();
  for (let i = 0; i < networks.length; i++) {
    const hop = hops[i % NEXT_HOPS]!;
    routeHops[i] = hop;
    fib.nextHops.retain(hop);
    fib.insert(networks[i]!, lengths[i]!, hop);
  }
  return { fib, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}
let { fib, ms: buildMs } = buildFib();
for (let r = 1; r < BUILD_ROUNDS; r++) {
  const next = buildFib();
  fib = next.fib;
  buildMs = Math.min(buildMs, next.ms);
}
// The default route on its own (it used to be painted into all 2^24 tbl24 slots).
const defaultFib = new Ipv4Fib();
const defaultHop = defaultFib.nextHops.acquire(NH_FORWARD, 1, 0x0a000001);
const defaultStart = process.hrtime.bigint();
defaultFib.insert(0, 0, defaultHop);
const defaultInsertMs = Number(process.hrtime.bigint() - defaultStart) / 1e6;
const prefixes = fib.size;
const bytesPerPrefix = fib.memoryBytes() / prefixes;

// Warm-up. Without it, every timed round started in the interpreter and entered code optimized
// mid-loop (OSR) that was compiled before the code after the loop had ever run, so it deoptimized
// on leaving the loop, and V8 kept reusing that code. Empty calls first give the code after the
// loop its feedback, then short calls get the runners optimized before the timed rounds.
const warmKeys = keys.subarray(0, 1 << 16);
for (let i = 0; i < WARM_UP_CALLS; i++) {
  runRandom(fib, i < 10 ? warmKeys.subarray(0, 0) : warmKeys);
  runRepeated(fib, repeated, i < 10 ? 0 : 1 << 16);
}

// C baseline on the same prefixes (same order, same next hops) and the same keys. The machine
// may be shared, so TS and C rounds alternate (one C process per round) and each side keeps its
// best: both sides then sample the same stretch of time.
const dir = mkdtempSync(join(tmpdir(), 'nexthop-fib-bench-'));
try {
  const binary = join(dir, 'dir24_8');
  execFileSync(
    'cc',
    [
      '-O2',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-std=c11',
      '-o',
      binary,
      join(import.meta.dirname, 'c/dir24_8.c'),
    ],
    {
      stdio: 'inherit',
    },
  );
  const records = new Uint32Array(networks.length * 3);
  for (let i = 0; i < networks.length; i++) {
    records[3 * i] = networks[i]!;
    records[3 * i + 1] = lengths[i]!;
    records[3 * i + 2] = routeHops[i]!;
  }
  const recordFile = join(dir, 'prefixes.bin');
  u32File(recordFile, records);
  u32File(join(dir, 'keys.bin'), keys);
  u32File(join(dir, 'repeated.bin'), repeated);
  const resultsFile = join(dir, 'results.bin');
  const c = {
    buildMs: Number.POSITIVE_INFINITY,
    bytes: 0,
    random: Number.POSITIVE_INFINITY,
    repeated: Number.POSITIVE_INFINITY,
  };
  const cChecksums = { random: 0, repeated: 0 };
  const best = {
    random: Number.POSITIVE_INFINITY,
    repeated: Number.POSITIVE_INFINITY,
  };
  const tsChecksums = { random: 0, repeated: 0 };
  const time = (key: keyof typeof best, run: () => number): void => {
    const start = process.hrtime.bigint();
    tsChecksums[key] = run();
    best[key] = Math.min(best[key], Number(process.hrtime.bigint() - start) / 1e6);
  };
  for (let round = 0; round < ROUNDS; round++) {
    time('random', () => runRandom(fib, keys));
    time('repeated', () => runRepeated(fib, repeated, KEY_COUNT));
    const report = execFileSync(
      binary,
      [
        recordFile,
        join(dir, 'keys.bin'),
        join(dir, 'repeated.bin'),
        String(KEY_COUNT),
        String(SAMPLE),
        resultsFile,
        '1',
      ],
      { encoding: 'utf8' },
    );
    for (const line of report.trim().split('\n')) {
      const [key, a, b, sum] = line.split(' ');
      if (key === 'build_ms') c.buildMs = Math.min(c.buildMs, Number(a));
      else if (key === 'bytes') c.bytes = Number(a);
      else if (key === 'random' || key === 'repeated') {
        c[key] = Math.min(c[key], Number(b));
        cChecksums[key] = Number(sum);
      }
    }
  }
  const tsRandom = { ms: best.random, checksum: tsChecksums.random };
  const tsRepeated = { ms: best.repeated, checksum: tsChecksums.repeated };

  const cResults = new Int32Array(readFileSync(resultsFile).buffer.slice(0));
  let mismatches = 0;
  for (let i = 0; i < SAMPLE; i++) if (fib.lookup(keys[i]!, 0) !== cResults[i]) mismatches++;
  const checksumsAgree =
    cChecksums.random === tsRandom.checksum && cChecksums.repeated === tsRepeated.checksum;

  const tsRandomRate = mlps(KEY_COUNT, tsRandom.ms);
  const cRandomRate = mlps(KEY_COUNT, c.random);
  const tsRepeatedRate = mlps(KEY_COUNT, tsRepeated.ms);
  const cRepeatedRate = mlps(KEY_COUNT, c.repeated);
  console.log(
    `Prefixes: ${prefixes} (RIPE NCC RIS rrc00, IPv4, 2026-05-11), ${NEXT_HOPS} next hops round-robin,`,
  );
  console.log(
    `${KEY_COUNT / 1e6} M keys (half inside table prefixes, half uniform, xorshift32 fixed seed); best of ${ROUNDS} rounds, TS and C rounds alternating (build: best of ${BUILD_ROUNDS} TS, ${ROUNDS} C); node ${process.version}.`,
  );
  console.log('');
  console.log('| measure | TypeScript (@nexthop/fib) | C DIR-24-8 | TS/C |');
  console.log('|---|---|---|---|');
  console.log(
    `| build, all prefixes | ${fmt(buildMs, 0)} ms | ${fmt(c.buildMs, 0)} ms | ${fmt(buildMs / c.buildMs, 2)}× time |`,
  );
  console.log(
    `| bytes per prefix (typed arrays) | ${fmt(bytesPerPrefix)} | ${fmt(c.bytes / prefixes)} | ${fmt(bytesPerPrefix / (c.bytes / prefixes), 2)} |`,
  );
  console.log(
    `| lookups, random keys | ${fmt(tsRandomRate)} M/s | ${fmt(cRandomRate)} M/s | ${fmt(tsRandomRate / cRandomRate, 2)} |`,
  );
  console.log(
    `| lookups, ${REPEATED_COUNT} repeated keys | ${fmt(tsRepeatedRate)} M/s | ${fmt(cRepeatedRate)} M/s | ${fmt(tsRepeatedRate / cRepeatedRate, 2)} |`,
  );
  console.log('');
  console.log(
    `Result check: ${mismatches} mismatches in ${SAMPLE} sampled keys; lookup checksums ${checksumsAgree ? 'agree' : 'DIFFER'} (random ${tsRandom.checksum}, repeated ${tsRepeated.checksum}).`,
  );
  console.log(`Inserting 0.0.0.0/0 into an empty table: ${fmt(defaultInsertMs, 3)} ms.`);
  console.log(`tbl8 groups in use: ${fib.tbl8GroupsInUse}; TS memoryBytes ${fib.memoryBytes()}.`);
  if (mismatches !== 0 || !checksumsAgree) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
