import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { constants, gunzipSync } from 'node:zlib';
import { parseIpv6Prefix } from '@nexthop/addr';
import { Ipv6Fib, NH_FORWARD } from '@nexthop/fib';

// The IPv6 FIB on a sample of the real RIPE NCC RIS table and the first of that day's updates,
// against a model of exact-match sets per prefix length probed from the longest.

const DATA = join(import.meta.dirname, '../../../../shared/data/ris');
const TABLE = join(DATA, 'ipv6-table-2026-05-11.txt.gz');
const UPDATES = join(DATA, 'ipv6-updates-2026-05-11.txt.gz');
const SAMPLE_EVERY = 6;
const UPDATE_COUNT = 20_000;
const PROBES = 12_000;
const NEXT_HOPS = 8;

const present = existsSync(TABLE) && existsSync(UPDATES);

/** The file's lines; with `limit`, the first `limit` of them, unzipping only the start of the file. */
function lines(path: string, limit = Number.POSITIVE_INFINITY): string[] {
  let zipped: Uint8Array;
  if (limit === Number.POSITIVE_INFINITY) {
    zipped = readFileSync(path);
  } else {
    // ~40 bytes of text a line, zipped about ten to one.
    zipped = new Uint8Array(limit * 8);
    const fd = openSync(path, 'r');
    zipped = zipped.subarray(0, readSync(fd, zipped));
    closeSync(fd);
  }
  const text = gunzipSync(zipped, { finishFlush: constants.Z_SYNC_FLUSH }).toString('latin1');
  const out: string[] = [];
  let start = 0;
  while (out.length < limit) {
    const end = text.indexOf('\n', start);
    if (end < 0) break; // a last line cut short by the partial read, or the end
    if (end > start) out.push(text.slice(start, end));
    start = end + 1;
  }
  if (limit !== Number.POSITIVE_INFINITY) assert.equal(out.length, limit, `${path} has ${limit} lines`);
  return out;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** An address as 32 hex digits. */
function hexOf(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX[b];
  return out;
}

/** The model's key for the first `length` bits of a 32-digit address: its digits, the last one cut. */
function keyOf(hex: string, length: number): string {
  const whole = length >> 2;
  const rest = length & 3;
  if (rest === 0) return hex.slice(0, whole);
  const digit = Number.parseInt(hex[whole]!, 16) & (0xf0 >> rest) & 0xf;
  return hex.slice(0, whole) + digit.toString(16);
}

test('IPv6 FIB on a sixth of the RIS table and 20,000 of its updates agrees with a per-length model', {
  skip: present ? false : `RIS data not found in ${DATA}`,
}, () => {
  const fib = new Ipv6Fib();
  const hops: number[] = [];
  for (let i = 0; i < NEXT_HOPS; i++) hops.push(fib.nextHops.acquire(NH_FORWARD, i + 1, null));
  // model: per length, network (keyOf) → next-hop index
  const model: Map<string, number>[] = Array.from({ length: 129 }, () => new Map());
  let counter = 0;
  const announce = (text: string): void => {
    const p = parseIpv6Prefix(text);
    const hop = counter++ % NEXT_HOPS;
    fib.nextHops.retain(hops[hop]!);
    fib.insert(p.network, p.length, hops[hop]!);
    model[p.length]!.set(keyOf(hexOf(p.network), p.length), hop);
  };
  const withdraw = (text: string): void => {
    const p = parseIpv6Prefix(text);
    const had = model[p.length]!.delete(keyOf(hexOf(p.network), p.length));
    assert.equal(fib.delete(p.network, p.length), had, text);
  };
  const table = lines(TABLE);
  for (let i = 0; i < table.length; i += SAMPLE_EVERY) announce(table[i]!);

  // Probes: an address inside every 4th sampled prefix (random host bits), and uniform ones.
  let seed = 0x5eed6;
  const random32 = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const probes: Uint8Array[] = [];
  for (let i = 0; probes.length < PROBES / 2 && i < table.length; i += SAMPLE_EVERY * 4) {
    const p = parseIpv6Prefix(table[i]!);
    const addr = p.network.slice();
    for (let bit = p.length; bit < 128; bit++) if (random32() & 1) addr[bit >> 3]! |= 0x80 >> (bit & 7);
    probes.push(addr);
  }
  const inside = probes.length;
  while (probes.length < PROBES) {
    const addr = new Uint8Array(16);
    for (let i = 0; i < 16; i++) addr[i] = random32();
    probes.push(addr);
  }
  const checkProbes = (): number => {
    const lengths = model.flatMap((m, l) => (m.size > 0 ? [l] : [])).reverse();
    let hits = 0;
    for (const addr of probes) {
      const hex = hexOf(addr);
      let expected = -1;
      for (const l of lengths) {
        const hop = model[l]!.get(keyOf(hex, l));
        if (hop !== undefined) {
          expected = hops[hop]!;
          break;
        }
      }
      const got = fib.lookup(addr, 0, 0);
      if (got !== expected) assert.equal(got, expected, hex);
      if (expected >= 0) hits++;
    }
    return hits;
  };
  assert.ok(checkProbes() >= inside, 'the probes inside sampled prefixes hit');

  for (const line of lines(UPDATES, UPDATE_COUNT)) {
    if (line.startsWith('A ')) announce(line.slice(2));
    else if (line.startsWith('W ')) withdraw(line.slice(2));
    else assert.fail(`bad update line ${line}`);
  }
  assert.equal(
    fib.size,
    model.reduce((n, m) => n + m.size, 0),
  );
  checkProbes();

  // Withdraw everything in a shuffled order: every group folds away.
  const all = [...fib.entries()];
  for (let i = all.length - 1; i > 0; i--) {
    const j = random32() % (i + 1);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  for (const e of all) assert.equal(fib.delete(e.network, e.length), true);
  for (const hop of hops) fib.nextHops.release(hop);
  assert.equal(fib.size, 0);
  assert.equal(fib.tbl12GroupsInUse, 0);
  assert.equal(fib.tbl8GroupsInUse, 0);
  assert.equal(fib.nextHops.size, 0);
});
