import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { deriveSeed, Prng, Sim, type SimLink } from '@nexthop/netsim';
import { readPcap } from '@nexthop/pcap';
import { adjacentPairs, EchoNode, ScriptedNode, seqOf, TimerNode, testFrame } from './toys.ts';

/** `a` sends `count` frames, one every `gapMs`, to a ScriptedNode `b` that only records. */
function oneWay(
  seed: number,
  count: number,
  options: Parameters<Sim['connect']>[4],
  gapMs = 1,
  size = 64,
): { sim: Sim; link: SimLink; b: ScriptedNode } {
  const sim = new Sim({ seed });
  sim.addNode('a', (out) => {
    const node = new ScriptedNode(out);
    for (let i = 0; i < count; i++) node.sendAt(i * gapMs, testFrame(i, size));
    return node;
  });
  const b = sim.addNode('b', (out) => new ScriptedNode(out));
  const link = sim.connect('a', 0, 'b', 0, options);
  return { sim, link, b };
}

test('delay: the clock jumps from event to event, frames arrive intact after the delay', () => {
  const sim = new Sim();
  const a = sim.addNode('a', (out) =>
    new ScriptedNode(out).sendAt(0, testFrame(1)).sendAt(1000, testFrame(2)),
  );
  const b = sim.addNode('b', (out) => new EchoNode(out));
  const link = sim.connect('a', 0, 'b', 0, { impairments: { delayMs: 7 } });
  const result = sim.run();
  assert.equal(result.reason, 'idle');
  assert.equal(sim.now, 1014);
  assert.deepEqual(
    a.received.map((r) => r.time),
    [14, 1014],
  );
  // Both nodes scribble on the buffers they lend and borrow: what arrives must be the original.
  assert.deepEqual(
    a.received.map((r) => r.data),
    [testFrame(1), testFrame(2)],
  );
  assert.equal(b.echoed, 2);
  // 2 initial polls, a's deadline at 1000, 2 deliveries each way: nothing ticks in between.
  assert.equal(result.events, 7);
  assert.equal(link.counters('aToB').delivered, 2);
  assert.equal(link.counters('bToA').delivered, 2);
  assert.equal(link.totals().bytesDelivered, 4 * 64);
});

test('bandwidth serializes frames back to back and the queue limit tail-drops', () => {
  const sim = new Sim();
  const a = sim.addNode('a', (out) => {
    const node = new ScriptedNode(out);
    for (let i = 0; i < 5; i++) node.sendAt(0, testFrame(i, 1000));
    return node.sendAt(10, testFrame(5, 1000));
  });
  const b = sim.addNode('b', (out) => new ScriptedNode(out));
  // 1000 bytes at 8 Mbit/s take 1 ms; at most 3 frames queued (the one on the wire included).
  const link = sim.connect('a', 0, 'b', 0, {
    aToB: { delayMs: 2, bandwidthBps: 8_000_000, queueLimit: 3 },
  });
  sim.run();
  assert.equal(a.received.length, 0);
  assert.deepEqual(b.seqs(), [0, 1, 2, 5]);
  assert.deepEqual(
    b.received.map((r) => r.time),
    [3, 4, 5, 13],
  );
  assert.equal(link.counters('aToB').droppedQueueFull, 2);
});

test('loss rate matches the probability, and is the same for the same seed', () => {
  const run = (seed: number) => {
    const { sim, link, b } = oneWay(seed, 10000, { impairments: { loss: 0.2 } });
    sim.run();
    return { counters: link.counters('aToB'), seqs: b.seqs() };
  };
  const first = run(11);
  const c = first.counters;
  assert.equal(c.sent, 10000);
  assert.equal(c.delivered + c.lost, 10000);
  assert.ok(c.lost > 1800 && c.lost < 2200, `lost ${c.lost}`);
  assert.deepEqual(run(11), first);
  assert.notDeepEqual(run(12).seqs, first.seqs);
});

test('duplication delivers extra identical copies right after the original', () => {
  const { sim, link, b } = oneWay(3, 5000, { impairments: { duplicate: 0.1 } });
  sim.run();
  const c = link.counters('aToB');
  assert.ok(c.duplicated > 400 && c.duplicated < 600, `duplicated ${c.duplicated}`);
  assert.equal(c.delivered, 5000 + c.duplicated);
  let adjacentRepeats = 0;
  for (const [before, after] of adjacentPairs(b.received)) {
    assert.ok(seqOf(after.data) >= seqOf(before.data), 'duplication alone keeps order');
    if (seqOf(after.data) === seqOf(before.data)) {
      adjacentRepeats++;
      assert.deepEqual(after.data, before.data);
      assert.equal(after.time, before.time);
    }
  }
  assert.equal(adjacentRepeats, c.duplicated);
});

test('reordering lets later frames overtake; jitter alone keeps FIFO order', () => {
  const reordered = oneWay(5, 2000, { impairments: { reorder: 0.1, reorderDelayMs: 5 } });
  reordered.sim.run();
  const c = reordered.link.counters('aToB');
  assert.ok(c.reordered > 150 && c.reordered < 250, `reordered ${c.reordered}`);
  const seqs = reordered.b.seqs();
  let inversions = 0;
  for (const [before, after] of adjacentPairs(seqs)) if (after < before) inversions++;
  assert.ok(inversions > 100, `inversions ${inversions}`);
  assert.deepEqual(
    [...seqs].sort((x, y) => x - y),
    Array.from({ length: 2000 }, (_, i) => i),
  );

  const jittered = oneWay(5, 2000, { impairments: { delayMs: 1, jitterMs: 20 } });
  jittered.sim.run();
  assert.deepEqual(
    jittered.b.seqs(),
    Array.from({ length: 2000 }, (_, i) => i),
  );
  const latencies = new Set(jittered.b.received.map((r, i) => r.time - i));
  assert.ok(latencies.size > 100, 'jitter varies the latency');
  assert.equal(jittered.link.counters('aToB').reordered, 0);
});

test('corruption flips exactly one bit, never before corruptMinOffset', () => {
  const { sim, link, b } = oneWay(9, 500, { impairments: { corrupt: 1, corruptMinOffset: 14 } }, 1, 100);
  sim.run();
  assert.equal(link.counters('aToB').corrupted, 500);
  const flippedBits = new Set<number>();
  for (const r of b.received) {
    const sent = testFrame(seqOfUncorrupted(r.data, r.time), 100);
    let bits = 0;
    assert.equal(r.data.length, sent.length);
    for (const [i, byte] of sent.entries()) {
      const diff = byte ^ r.data[i]!; // same length, asserted above
      if (diff !== 0) {
        assert.ok(i >= 14, `byte ${i} changed`);
        flippedBits.add(i * 8 + Math.log2(diff));
      }
      for (let d = diff; d !== 0; d &= d - 1) bits++;
    }
    assert.equal(bits, 1);
  }
  assert.ok(flippedBits.size > 300, 'bits are spread over the frame');

  const partly = oneWay(9, 2000, { impairments: { corrupt: 0.25 } });
  partly.sim.run();
  const corrupted = partly.link.counters('aToB').corrupted;
  assert.ok(corrupted > 420 && corrupted < 580, `corrupted ${corrupted}`);
});

/** Frames go out one per ms starting at 0 with delay 1, so arrival time - 1 is the sequence number. */
function seqOfUncorrupted(_data: Uint8Array, arrival: number): number {
  return arrival - 1;
}

test('MTU: frames longer than mtu + 14 are dropped and counted, and the MTU can change mid-run', () => {
  const sim = new Sim();
  sim.addNode('a', (out) => {
    const node = new ScriptedNode(out).sendAt(0, testFrame(0, 114)).sendAt(0, testFrame(1, 115));
    for (let i = 2; i < 100; i++) node.sendAt(i, testFrame(i, 1514));
    return node;
  });
  const b = sim.addNode('b', (out) => new ScriptedNode(out));
  const link = sim.connect('a', 0, 'b', 0, { mtu: 100 });
  sim.at(1, () => link.setMtu(1500));
  sim.at(50.5, () => link.setMtu(1280));
  sim.run();
  const seqs = b.seqs();
  assert.deepEqual(seqs, [0, ...Array.from({ length: 49 }, (_, i) => i + 2)]);
  assert.equal(link.counters('aToB').droppedTooBig, 1 + 49);
});

test('deadlines fire at exactly their virtual time; run({until}) stops the clock there', () => {
  const sim = new Sim();
  const timer = sim.addNode('t', () => new TimerNode([10, 25, 100]));
  const r1 = sim.run({ until: 50 });
  assert.deepEqual(r1, { reason: 'until', events: 3 });
  assert.equal(sim.now, 50);
  assert.deepEqual(timer.fired, [10, 25]);
  assert.deepEqual(timer.polls, [0, 10, 25]);
  const r2 = sim.run();
  assert.equal(r2.reason, 'idle');
  assert.equal(sim.now, 100);
  assert.deepEqual(timer.polls, [0, 10, 25, 100]);
});

test('a node is polled after each frame it receives', () => {
  const sim = new Sim();
  sim.addNode('a', (out) => new ScriptedNode(out).sendAt(3, testFrame(0)));
  const timer = sim.addNode('t', () => new TimerNode([40]));
  sim.connect('a', 0, 't', 2, { impairments: { delayMs: 4.5 } });
  sim.run();
  assert.deepEqual(timer.polls, [0, 7.5, 40]);
});

test('runUntil returns when the predicate holds, or false at the virtual timeout', () => {
  const sim = new Sim();
  sim.addNode('a', (out) => new EchoNode(out));
  const b = sim.addNode('b', (out) => new EchoNode(out));
  sim.connect('a', 0, 'b', 0, { impairments: { delayMs: 3 } });
  const kick = testFrame(0);
  sim.at(0, () => sim.output('a').transmit(0, kick, 0, kick.length));
  assert.equal(
    sim.runUntil(() => b.echoed >= 5, { timeoutMs: 1000 }),
    true,
  );
  assert.equal(sim.now, 27);
  assert.equal(
    sim.runUntil(() => false, { timeoutMs: 100 }),
    false,
  );
  assert.equal(sim.now, 127);
  // This ping-pong never ends: an event budget stops it.
  assert.deepEqual(sim.run({ maxEvents: 50 }), { reason: 'maxEvents', events: 50 });
});

test('link down drops frames sent and in flight; up again delivers', () => {
  const { sim, link, b } = oneWay(1, 30, { impairments: { delayMs: 2 } });
  sim.at(10, () => link.setUp(false));
  sim.at(20, () => link.setUp(true));
  sim.run();
  // Sent at 8 and 9 were in flight at 10; 10..19 were sent while down.
  assert.deepEqual(b.seqs(), [
    ...Array.from({ length: 8 }, (_, i) => i),
    ...Array.from({ length: 10 }, (_, i) => i + 20),
  ]);
  assert.equal(link.counters('aToB').droppedDown, 12);
});

test('impairments change at run time and are validated', () => {
  const { sim, link, b } = oneWay(1, 100, {});
  sim.at(49.5, () => link.setImpairments({ loss: 1 }, 'aToB'));
  sim.run();
  assert.equal(b.received.length, 50);
  assert.equal(link.impairments('aToB').loss, 1);
  assert.equal(link.impairments('aToB').delayMs, 1, 'fields left out keep their value');
  assert.equal(link.impairments('bToA').loss, 0);
  assert.throws(() => link.setImpairments({ loss: 1.5 }), RangeError);
  assert.throws(() => link.setImpairments({ delayMs: -1 }), RangeError);
  assert.throws(() => link.setImpairments({ corruptMinOffset: 1.5 }), RangeError);
  assert.throws(() => link.setImpairments({ bogus: 1 } as never), TypeError);
});

/** Every impairment at once, traffic both ways; optionally another busy link created first. */
function busyScenario(
  seed: number,
  extraLinkFirst: boolean,
): {
  pcaps: readonly [Uint8Array, Uint8Array];
  counters: unknown;
} {
  const sim = new Sim({ seed });
  if (extraLinkFirst) {
    sim.addNode('c', (out) => {
      const node = new ScriptedNode(out);
      for (let i = 0; i < 100; i++) node.sendAt(i * 0.3, testFrame(i, 200));
      return node;
    });
    sim.addNode('d', (out) => new EchoNode(out));
    sim.connect('c', 0, 'd', 0, { impairments: { loss: 0.5, jitterMs: 3 } });
  }
  sim.addNode('a', (out) => {
    const node = new ScriptedNode(out);
    for (let i = 0; i < 400; i++) node.sendAt(i * 0.25, testFrame(i, 60 + ((i * 37) % 1400)));
    return node;
  });
  sim.addNode('b', (out) => new EchoNode(out));
  const link = sim.connect('a', 0, 'b', 0, {
    name: 'ab',
    impairments: {
      delayMs: 2,
      jitterMs: 1.5,
      loss: 0.1,
      duplicate: 0.05,
      reorder: 0.05,
      reorderDelayMs: 4,
      corrupt: 0.05,
      bandwidthBps: 20_000_000,
      queueLimit: 20,
    },
  });
  sim.run();
  return { pcaps: [link.pcap('a'), link.pcap('b')] as const, counters: link.totals() };
}

test('determinism: same seed gives the same bytes; another link does not disturb this one', () => {
  const first = busyScenario(42, false);
  assert.ok(first.pcaps[0].length > 10000);
  assert.deepEqual(busyScenario(42, false), first);
  assert.deepEqual(busyScenario(42, true), first);
  assert.notDeepEqual(busyScenario(43, false).pcaps, first.pcaps);
});

test('captures: pcaps per endpoint with virtual timestamps, bounded in memory', () => {
  const { sim, link, b } = oneWay(1, 50, { impairments: { delayMs: 2.5 } });
  sim.connect('b', 1, 'a', 1); // a quiet second link
  sim.run();
  const dir = mkdtempSync(join(tmpdir(), 'netsim-test-'));
  try {
    const paths = sim.writePcaps(dir);
    assert.deepEqual(readdirSync(dir).sort(), ['a-if0.pcap', 'a-if1.pcap', 'b-if0.pcap', 'b-if1.pcap']);
    assert.equal(paths.length, 4);
    const atB = readPcap(readFileSync(join(dir, 'b-if0.pcap')));
    assert.ok(atB.ok);
    assert.equal(atB.records.length, 50);
    const [fourthAtB, fourthSent] = [atB.records[3], b.received[3]];
    assert.ok(fourthAtB && fourthSent);
    assert.equal(fourthAtB.timestampUs, 5500);
    assert.deepEqual(fourthAtB.data, fourthSent.data);
    const atA = readPcap(readFileSync(join(dir, 'a-if0.pcap')));
    assert.ok(atA.ok);
    assert.equal(atA.records[3]?.timestampUs, 3000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(link.pcap('b'), sim.link('a.0-b.0').pcap('b'));

  const small = new Sim({ captureLimit: 10 });
  small.addNode('a', (out) => {
    const node = new ScriptedNode(out);
    for (let i = 0; i < 50; i++) node.sendAt(i, testFrame(i));
    return node;
  });
  small.addNode('b', (out) => new ScriptedNode(out));
  const smallLink = small.connect('a', 0, 'b', 0);
  small.run();
  const kept = readPcap(smallLink.pcap('a'));
  assert.ok(kept.ok);
  assert.deepEqual(
    kept.records.map((r) => seqOf(r.data)),
    Array.from({ length: 10 }, (_, i) => 40 + i),
  );
  assert.equal(smallLink.a.capture.evicted, 40);
});

test('wiring mistakes are programmer errors; unconnected transmits are counted', () => {
  const sim = new Sim();
  const a = sim.addNode('a', (out) => new ScriptedNode(out).sendAt(0, testFrame(0), 3));
  assert.throws(() => sim.attach('a', a), /already attached/);
  sim.connect('a', 0, 'b', 0);
  assert.throws(() => sim.connect('a', 0, 'c', 0), /already connected/);
  assert.throws(() => sim.run(), /not attached/);
  sim.addNode('b', (out) => new ScriptedNode(out));
  sim.at(1, () => sim.run());
  assert.throws(() => sim.run(), /re-entrant/);
  const fresh = new Sim();
  fresh.addNode('a', (out) => new ScriptedNode(out).sendAt(0, testFrame(0), 3));
  fresh.run();
  assert.equal(fresh.nodeStats('a').unconnected, 1);
  assert.throws(() => fresh.at(-1, () => {}), RangeError);
});

/** The first outputs of Prng(0): a tripwire, since changing them changes every recorded scenario. */
const GOLDEN_PRNG = [2462723854, 1020716019, 454327756];

test('PRNG: fixed sequence and independent derived seeds', () => {
  const p = new Prng(0);
  const firsts = [p.nextU32(), p.nextU32(), p.nextU32()];
  assert.deepEqual(firsts, GOLDEN_PRNG);
  const q = new Prng(123);
  let sum = 0;
  for (let i = 0; i < 100000; i++) sum += q.nextFloat();
  assert.ok(Math.abs(sum / 100000 - 0.5) < 0.01);
  assert.notEqual(deriveSeed(1, 'ab>aToB'), deriveSeed(1, 'ab>bToA'));
  assert.notEqual(deriveSeed(1, 'ab>aToB'), deriveSeed(2, 'ab>aToB'));
});

test('withPcapsOnFailure writes the pcaps of a failing test and says where', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-failure-'));
  try {
    const child = spawnSync(
      process.execPath,
      [join(import.meta.dirname, 'fixtures', 'pcaps-on-failure.ts')],
      {
        env: { ...process.env, NETSIM_FIXTURE_DIR: dir },
        encoding: 'utf8',
      },
    );
    const output = child.stdout + child.stderr;
    assert.equal(child.status, 1, output);
    const [line, ...more] = output.split('\n').filter((l) => l.includes('pcaps in'));
    assert.ok(line !== undefined && more.length === 0, output);
    assert.match(line, /failed test 'fails' \(seed 77, virtual time 5 ms\): 2 pcaps in /);
    const [written, ...moreWritten] = readdirSync(dir);
    assert.ok(written !== undefined && moreWritten.length === 0, 'one directory of pcaps');
    const pcap = readPcap(readFileSync(join(dir, written, 'b-if0.pcap')));
    assert.ok(pcap.ok);
    assert.equal(pcap.records.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
