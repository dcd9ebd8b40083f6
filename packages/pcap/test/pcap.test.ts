import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LINKTYPE_ETHERNET, PcapWriter, pcapFileHeader, pcapRecord, readPcap } from '@nexthop/pcap';
import fc from 'fast-check';

const hexOf = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

test('file header golden bytes, little- and big-endian', () => {
  assert.equal(
    hexOf(pcapFileHeader(65535)),
    'd4c3b2a1' + '02000400' + '00000000' + '00000000' + 'ffff0000' + '01000000',
  );
  assert.equal(
    hexOf(pcapFileHeader(96, { littleEndian: false, nanosecond: true, linkType: 101 })),
    'a1b23c4d' + '00020004' + '00000000' + '00000000' + '00000060' + '00000065',
  );
});

test('record golden bytes: timestamp split, truncation to snaplen', () => {
  const frame = Uint8Array.of(0xaa, 1, 2, 3, 4, 0xbb);
  // 1500.25 ms = 1 s + 500250 us (0x0007a21a), or 500250000 ns (0x1dd13590); bytes 1..4 of the buffer, cut to a snaplen of 3.
  assert.equal(
    hexOf(pcapRecord(frame, 1, 4, 1500.25, 3)),
    '01000000' + '1aa20700' + '03000000' + '04000000' + '010203',
  );
  assert.equal(
    hexOf(pcapRecord(frame, 1, 4, 1500.25, 65535, { littleEndian: false, nanosecond: true })),
    '00000001' + '1dd13590' + '00000004' + '00000004' + '01020304',
  );
});

test('PcapWriter output equals header + records and grows past its initial capacity', () => {
  const writer = new PcapWriter({ snaplen: 1000, initialCapacity: 30 });
  const frames = [new Uint8Array(60).fill(1), new Uint8Array(1200).fill(2), new Uint8Array(14).fill(3)];
  const expected: Uint8Array[] = [pcapFileHeader(1000)];
  frames.forEach((f, i) => {
    writer.write(f, 0, f.length, i * 10);
    expected.push(pcapRecord(f, 0, f.length, i * 10, 1000));
  });
  const total = expected.reduce((n, e) => n + e.length, 0);
  const joined = new Uint8Array(total);
  let at = 0;
  for (const e of expected) {
    joined.set(e, at);
    at += e.length;
  }
  assert.equal(writer.byteLength, total);
  assert.equal(writer.recordCount, 3);
  assert.deepEqual(writer.bytes(), joined);
});

test('writer refuses programmer errors', () => {
  const w = new PcapWriter();
  assert.throws(() => w.write(new Uint8Array(4), 2, 4, 0), RangeError);
  assert.throws(() => w.write(new Uint8Array(4), 0, 4, -1), RangeError);
  assert.throws(() => pcapFileHeader(0), RangeError);
});

const recordArb = fc.record({
  data: fc.uint8Array({ maxLength: 300 }),
  timestampUs: fc.integer({ min: 0, max: 4_000_000_000_000 }),
});

test('round trip: readPcap(write(records)) gives the records back, every byte order and precision', () => {
  fc.assert(
    fc.property(
      fc.array(recordArb, { maxLength: 20 }),
      fc.integer({ min: 1, max: 400 }),
      fc.boolean(),
      fc.boolean(),
      (records, snaplen, littleEndian, nanosecond) => {
        const writer = new PcapWriter({ snaplen, littleEndian, nanosecond, initialCapacity: 32 });
        for (const r of records) writer.write(r.data, 0, r.data.length, r.timestampUs / 1000);
        const read = readPcap(writer.bytes());
        assert.ok(read.ok, read.ok ? '' : read.error);
        assert.equal(read.linkType, LINKTYPE_ETHERNET);
        assert.equal(read.snaplen, snaplen);
        assert.equal(read.littleEndian, littleEndian);
        assert.equal(read.nanosecond, nanosecond);
        assert.equal(read.records.length, records.length);
        read.records.forEach((got, i) => {
          const want = records[i];
          assert.ok(want, `record ${i} read but only ${records.length} written`);
          assert.equal(Math.round(got.timestampUs), want.timestampUs);
          assert.equal(got.originalLength, want.data.length);
          assert.deepEqual(got.data, want.data.subarray(0, snaplen));
        });
      },
    ),
    { seed: 20240601, numRuns: 300 },
  );
});

test('truncated files are reported with the records before the cut', () => {
  const writer = new PcapWriter();
  writer.write(new Uint8Array(20).fill(7), 0, 20, 1);
  writer.write(new Uint8Array(30).fill(8), 0, 30, 2);
  const whole = writer.bytes();
  for (let cut = 0; cut < whole.length; cut++) {
    const r = readPcap(whole.subarray(0, cut));
    if (cut === 24 || cut === 24 + 16 + 20) {
      assert.ok(r.ok, `cut at ${cut} is at a record boundary`);
      continue;
    }
    assert.equal(r.ok, false, `cut at ${cut}`);
    if (!r.ok) {
      assert.match(r.error, /truncated/);
      assert.equal(r.records.length, cut < 24 + 16 + 20 ? 0 : 1);
    }
  }
});

test('garbage is reported, not thrown', () => {
  const bad = (bytes: Uint8Array, pattern: RegExp): void => {
    const r = readPcap(bytes);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error, pattern);
  };
  bad(new Uint8Array(24), /unknown magic/);
  bad(Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a, ...new Uint8Array(20)), /pcapng/);
  const wrongVersion = pcapFileHeader();
  wrongVersion[4] = 3;
  bad(wrongVersion, /version/);
  const huge = new Uint8Array(24 + 16);
  huge.set(pcapFileHeader(100));
  huge.set([0xff, 0xff, 0xff, 0x7f], 24 + 8);
  bad(huge, /exceeds/);
});

test('random bytes never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (tail, validHeader) => {
      const head = validHeader ? pcapFileHeader(64) : new Uint8Array(0);
      const bytes = new Uint8Array(head.length + tail.length);
      bytes.set(head);
      bytes.set(tail, head.length);
      const r = readPcap(bytes);
      assert.equal(typeof r.ok, 'boolean');
    }),
    { seed: 7, numRuns: 3000 },
  );
});

test('tcpdump reads a written file', (t) => {
  try {
    execFileSync('tcpdump', ['--version'], { stdio: 'ignore' });
  } catch {
    t.skip('tcpdump is not installed (scripts/setup.sh installs it)');
    return;
  }
  // Ethernet II, IPv4, UDP 10.0.0.1:1234 -> 10.0.0.2:5678, payload "hi", checksums valid.
  const frame = Uint8Array.from(
    ('02000000000202000000000108004500001e00014000401126cb0a0000010a000002' + '04d2162e000a0000' + '6869')
      .match(/../g)!
      .map((h) => Number.parseInt(h, 16)),
  );
  const writer = new PcapWriter({ snaplen: 65535 });
  writer.write(frame, 0, frame.length, 1000.5);
  writer.write(frame, 0, frame.length, 2000);
  const dir = mkdtempSync(join(tmpdir(), 'nexthop-pcap-'));
  try {
    const file = join(dir, 'udp.pcap');
    writeFileSync(file, writer.bytes());
    const out = execFileSync('tcpdump', ['-nn', '-tt', '-r', file], { encoding: 'utf8', stdio: 'pipe' });
    const [first, second, ...more] = out.trim().split('\n');
    assert.ok(
      first !== undefined && second !== undefined && more.length === 0,
      `two lines expected:\n${out}`,
    );
    assert.match(first, /^1\.000500 IP 10\.0\.0\.1\.1234 > 10\.0\.0\.2\.5678: UDP, length 2$/);
    assert.match(second, /^2\.000000 /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
