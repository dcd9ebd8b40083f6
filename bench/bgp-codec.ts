// BGP codec benchmark: the RIPE NCC RIS IPv4 table (1.04 M prefixes) with the paths of
// ../shared/tools/bgp-paths.py (seeded, ~87 k attribute sets), packed into UPDATEs by
// @nexthop/bgp's UpdateEncoder and decoded by its BgpDecoder, as one eBGP feed from AS 65000.
// Usage: node bench/bgp-codec.ts   (prints a Markdown table; not part of the tests)
// There is no baseline in the same run yet: BIRD's and FRR's load time of the same feed is the
// job of the BGP engine benchmark (issue 11), and measures far more than a codec.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  Action,
  AS_SEQUENCE,
  AttributeTable,
  BgpDecoder,
  makeAttributes,
  type PathAttributes,
  UpdateEncoder,
} from '@nexthop/bgp';

const TABLE = join(import.meta.dirname, '../../shared/data/ris/ipv4-table-2026-05-11.txt.gz');
const PATHS = join(import.meta.dirname, '../../shared/tools/bgp-paths.py');
const FEEDER_AS = 65000;
const ROUNDS = 5;

/** The feed: prefixes grouped by attribute set, in the order each set first appears. */
function loadFeed(): {
  attrs: PathAttributes[];
  starts: Uint32Array;
  networks: Uint32Array;
  lengths: Uint8Array;
} {
  const text = execFileSync('python3', [PATHS, TABLE], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const lines = text.split('\n');
  const setOf = new Map<string, number>();
  const sets: { path: string; comm: string; members: number[] }[] = [];
  const nets: number[] = [];
  const lens: number[] = [];
  for (const line of lines) {
    if (line.length === 0) continue;
    const [prefix, path, comm] = line.split('\t') as [string, string, string];
    const slash = prefix.indexOf('/');
    const o = prefix.slice(0, slash).split('.');
    const net = ((+o[0]! << 24) | (+o[1]! << 16) | (+o[2]! << 8) | +o[3]!) >>> 0;
    const key = `${path}\t${comm}`;
    let s = setOf.get(key);
    if (s === undefined) {
      s = sets.length;
      setOf.set(key, s);
      sets.push({ path, comm, members: [] });
    }
    sets[s]!.members.push(nets.length);
    nets.push(net);
    lens.push(+prefix.slice(slash + 1));
  }
  const networks = new Uint32Array(nets.length);
  const lengths = new Uint8Array(nets.length);
  const starts = new Uint32Array(sets.length + 1);
  const attrs: PathAttributes[] = [];
  let k = 0;
  sets.forEach((s, i) => {
    starts[i] = k;
    for (const m of s.members) {
      networks[k] = nets[m]!;
      lengths[k] = lens[m]!;
      k++;
    }
    attrs.push(
      makeAttributes({
        origin: 0,
        asPath: [{ type: AS_SEQUENCE, asns: [FEEDER_AS, ...s.path.split(' ').map(Number)] }],
        nextHop: 0x0a000001,
        communities:
          s.comm.length > 0
            ? s.comm.split(' ').map((c) => {
                const [a, v] = c.split(':');
                return ((+a! << 16) | +v!) >>> 0;
              })
            : undefined,
      }),
    );
  });
  starts[sets.length] = k;
  return { attrs, starts, networks, lengths };
}

const t0 = performance.now();
const feed = loadFeed();
const setupMs = performance.now() - t0;
const prefixes = feed.networks.length;

function encodeAll(enc: UpdateEncoder): number {
  enc.reset();
  const { attrs, starts, networks, lengths } = feed;
  for (let s = 0; s < attrs.length; s++)
    enc.announce4(attrs[s]!, networks, lengths, starts[s]!, starts[s + 1]!);
  return enc.messages;
}

function decodeAll(
  bytes: Uint8Array,
  as4: boolean,
  extendedMessage: boolean,
): { updates: number; prefixes: number; sets: number; misses: number } {
  const table = new AttributeTable();
  const d = new BgpDecoder({ as4, extendedMessage, ebgp: true, peerAs: FEEDER_AS }, undefined, table);
  let updates = 0;
  let n = 0;
  for (let off = 0; off < bytes.length; ) {
    const m = d.decode(bytes, off, bytes.length - off);
    if (m.action !== Action.OK) throw new Error(`decode failed at ${off}: reason ${m.reason}`);
    n += m.update.nlri.count;
    updates++;
    off += m.length;
  }
  return { updates, prefixes: n, sets: table.size, misses: d.cacheMisses };
}

interface Row {
  name: string;
  encMs: number;
  decMs: number;
  updates: number;
  bytes: number;
  sets: number;
}

const rows: Row[] = [];
for (const [name, as4, ext] of [
  ['4-octet AS, 4096-octet messages', true, false],
  ['4-octet AS, 65535-octet messages (RFC 8654)', true, true],
  ['2-octet peer (AS_TRANS + AS4_PATH), 4096', false, false],
] as const) {
  const enc = new UpdateEncoder({ as4, extendedMessage: ext });
  // Warm-up: one full round each way (V8 tiers up on the real shapes), not timed.
  encodeAll(enc);
  let bytes = enc.buf.slice(0, enc.length);
  decodeAll(bytes, as4, ext);
  let encMs = Number.POSITIVE_INFINITY;
  let decMs = Number.POSITIVE_INFINITY;
  let result = { updates: 0, prefixes: 0, sets: 0, misses: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    const a = performance.now();
    encodeAll(enc);
    encMs = Math.min(encMs, performance.now() - a);
    bytes = enc.buf.slice(0, enc.length);
    const b = performance.now();
    result = decodeAll(bytes, as4, ext);
    decMs = Math.min(decMs, performance.now() - b);
  }
  if (result.prefixes !== prefixes) throw new Error(`decoded ${result.prefixes} of ${prefixes} prefixes`);
  rows.push({ name, encMs, decMs, updates: result.updates, bytes: bytes.length, sets: result.sets });
}

const rate = (n: number, ms: number) => `${(((n / ms) * 1000) / 1e6).toFixed(2)} M/s`;
const krate = (n: number, ms: number) => `${Math.round(((n / ms) * 1000) / 1e3)} k/s`;
console.log(
  `Feed: ${prefixes.toLocaleString('en')} prefixes, ${feed.attrs.length.toLocaleString('en')} attribute sets ` +
    `(bgp-paths.py, default seed); setup ${(setupMs / 1000).toFixed(1)} s, not timed. Best of ${ROUNDS} rounds after one warm-up round; ` +
    'decode = header check + full UPDATE decode + RFC 7606 checks + interning (fresh decoder and AttributeTable per round).',
);
console.log();
console.log(
  '| feed | UPDATEs | MB | encode | encode UPDATEs/s | encode prefixes/s | decode | decode UPDATEs/s | decode prefixes/s | interned sets |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.updates.toLocaleString('en')} | ${(r.bytes / 1e6).toFixed(1)} | ${r.encMs.toFixed(0)} ms | ${krate(r.updates, r.encMs)} | ${rate(prefixes, r.encMs)} | ${r.decMs.toFixed(0)} ms | ${krate(r.updates, r.decMs)} | ${rate(prefixes, r.decMs)} | ${r.sets.toLocaleString('en')} |`,
  );
}
console.log();
console.log(
  'Baseline: none in this run yet (no C BGP codec to run alone; BIRD/FRR load times belong to the engine benchmark).',
);
