// BGP codec benchmark: the RIPE NCC RIS IPv4 table (1.04 M prefixes) with the paths of
// ../shared/tools/bgp-paths.py (seeded, ~87 k attribute sets), packed into UPDATEs by
// @nexthop/bgp's UpdateEncoder and decoded by its BgpDecoder, as one eBGP feed from AS 65000.
// Usage: node bench/bgp-codec.ts   (prints a Markdown table; not part of the tests)
// Baseline in the same run (as root, with BIRD installed): BIRD 2 loading the very same UPDATE
// bytes over TCP into its RIB, from Established to the last prefix imported. That is more work
// than a decode (BIRD also builds its RIB), so the ratio bounds what the codec costs BIRD.
// BIRD runs in a network namespace of its own, the feeder (this file with --feeder) in another.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Action,
  AS_SEQUENCE,
  AttributeTable,
  BgpDecoder,
  encodeKeepalive,
  encodeOpen,
  makeAttributes,
  type PathAttributes,
  UpdateEncoder,
} from '@nexthop/bgp';

const FEEDER_ADDR = '10.179.0.1';
const BIRD_ADDR = '10.179.0.2';

const TABLE = join(import.meta.dirname, '../../shared/data/ris/ipv4-table-2026-05-11.txt.gz');
const PATHS = join(import.meta.dirname, '../../shared/tools/bgp-paths.py');
const FEEDER_AS = 65000;
const ROUNDS = 5;
const BIRD_RUNS = 3;

async function main(): Promise<void> {
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
          nextHop: 0x0ab30001, // the feeder's address, for BIRD
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
  let stream4096 = new Uint8Array(0);
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
    if (as4 && !ext) stream4096 = bytes;
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
  const bird = await birdBaseline(stream4096, prefixes);
  if (bird === undefined) {
    console.log('Baseline: none in this run (needs root and BIRD 2).');
  } else {
    const ours = rows[0]!.decMs;
    console.log('| baseline, same bytes | load time | prefixes/s | peak RSS | nexthop decode / BIRD load |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const b of bird) {
      console.log(
        `| BIRD ${b.version}, Established → ${prefixes.toLocaleString('en')} imported into its RIB | ${b.ms.toFixed(0)} ms | ${rate(prefixes, b.ms)} | ${(b.rssKb / 1024).toFixed(0)} MiB | ${(ours / b.ms).toFixed(2)} |`,
      );
    }
  }
}

/** BIRD's load time of `stream`, BIRD_RUNS times; undefined when BIRD cannot be run here. */
async function birdBaseline(
  stream: Uint8Array,
  prefixes: number,
): Promise<{ ms: number; rssKb: number; version: string }[] | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  // BIRD prints its version on stderr.
  const probe = spawnSync('bird', ['--version'], { encoding: 'utf8' });
  const version = /BIRD version ([\d.]+)/.exec(`${probe.stdout}${probe.stderr}`)?.[1];
  if (version === undefined) return undefined;
  const tag = `nhbb${process.pid}`;
  const nsF = `${tag}f`;
  const nsB = `${tag}b`;
  const dir = mkdtempSync(join(tmpdir(), 'nexthop-bgp-bench-'));
  const ip = (...a: string[]) => execFileSync('ip', a);
  const out: { ms: number; rssKb: number; version: string }[] = [];
  try {
    ip('netns', 'add', nsF);
    ip('netns', 'add', nsB);
    ip('-n', nsF, 'link', 'add', 'f0', 'type', 'veth', 'peer', 'name', 'b0', 'netns', nsB);
    ip('-n', nsF, 'addr', 'add', `${FEEDER_ADDR}/24`, 'dev', 'f0');
    ip('-n', nsB, 'addr', 'add', `${BIRD_ADDR}/24`, 'dev', 'b0');
    for (const [ns, dev] of [
      [nsF, 'f0'],
      [nsB, 'b0'],
    ]) {
      ip('-n', ns!, 'link', 'set', 'lo', 'up');
      ip('-n', ns!, 'link', 'set', dev!, 'up');
    }
    const feedFile = join(dir, 'feed.bin');
    writeFileSync(feedFile, stream);
    writeFileSync(
      join(dir, 'bird.conf'),
      `router id ${BIRD_ADDR};\nprotocol device {}\nprotocol bgp feed {\n  local ${BIRD_ADDR} as 65001;\n  neighbor ${FEEDER_ADDR} as 65000;\n  passive on;\n  ipv4 { import all; export none; };\n}\n`,
    );
    for (let run = 0; run < BIRD_RUNS; run++) {
      const ctl = join(dir, `bird${run}.ctl`);
      const birdProc = spawn(
        'ip',
        ['netns', 'exec', nsB, 'bird', '-f', '-c', join(dir, 'bird.conf'), '-s', ctl],
        {
          stdio: 'ignore',
        },
      );
      let feeder: ChildProcess | undefined;
      try {
        feeder = spawn(
          'ip',
          ['netns', 'exec', nsF, process.execPath, import.meta.filename, '--feeder', feedFile],
          {
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        const established = await new Promise<number>((resolve, reject) => {
          let text = '';
          feeder!.stdout!.on('data', (d) => {
            text += d;
            const m = /established (\d+)/.exec(text);
            if (m) resolve(Number(m[1]));
          });
          setTimeout(() => reject(new Error('BIRD session not established in 30 s')), 30_000);
        });
        let done = 0;
        const deadline = Date.now() + 120_000;
        while (Date.now() < deadline) {
          const status = execFileSync('birdc', ['-s', ctl, 'show', 'protocols', 'all', 'feed'], {
            encoding: 'utf8',
          });
          const m = /Routes:\s+(\d+) imported/.exec(status);
          if (m && Number(m[1]) >= prefixes) {
            done = Date.now();
            break;
          }
          // Every 50 ms: birdc is a process, and polling harder takes CPU from BIRD on a 2-core machine.
          await new Promise((r) => setTimeout(r, 50));
        }
        if (done === 0) throw new Error('BIRD did not import the whole feed in 120 s');
        const status = readFileSync(`/proc/${birdProc.pid}/status`, 'utf8');
        const rssKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
        out.push({ ms: done - established, rssKb, version });
      } finally {
        feeder?.kill('SIGTERM');
        birdProc.kill('SIGTERM');
        await new Promise((r) => birdProc.once('exit', r));
      }
    }
  } finally {
    try {
      ip('netns', 'del', nsF);
    } catch {}
    try {
      ip('netns', 'del', nsB);
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

// Feeder mode: connect to BIRD, exchange OPENs, and on Established write the whole feed at once.
// Prints "established <ms>" (wall clock) for the parent.
function feeder(file: string): void {
  const feed = readFileSync(file);
  const attempt = () => {
    const s = connect({ host: BIRD_ADDR, port: 179, localAddress: FEEDER_ADDR });
    let sentOpen = false;
    let pending = Buffer.alloc(0);
    s.on('error', () => setTimeout(attempt, 50));
    s.on('connect', () => {
      // Hold time 0: no KEEPALIVEs needed while BIRD is busy (RFC 4271 §4.2).
      s.write(
        encodeOpen({
          as: 65000,
          holdTime: 0,
          bgpId: 0x0ab30001,
          capabilities: { multiprotocol: [{ afi: 1, safi: 1 }] },
        }),
      );
      sentOpen = true;
    });
    s.on('data', (d) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 19 && pending.length >= pending.readUInt16BE(16)) {
        const type = pending[18];
        pending = pending.subarray(pending.readUInt16BE(16));
        if (type === 1 && sentOpen) s.write(encodeKeepalive());
        if (type === 4) {
          console.log(`established ${Date.now()}`);
          s.write(feed);
        }
      }
    });
  };
  attempt();
  setInterval(() => {}, 1 << 30);
}

if (process.argv[2] === '--feeder') feeder(process.argv[3]!);
else await main();
