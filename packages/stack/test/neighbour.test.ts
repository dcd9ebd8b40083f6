// The neighbour state machine (RFC 4861 §7.3) on its own, with a recording solicitor: the states
// ARP does not reach with its timers (DELAY) and the transition NDP needs (learnt without a
// confirmation) are checked here; arp.test.ts checks ARP on top of it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  NEIGHBOUR_STATE_NAMES,
  NeighbourCache,
  type NeighbourTimers,
  NUD_DELAY,
  NUD_INCOMPLETE,
  NUD_PROBE,
  NUD_REACHABLE,
  NUD_STALE,
  type Solicitor,
} from '../src/neighbour/cache.ts';
import { Wake } from '../src/wake.ts';

const TIMERS: NeighbourTimers = {
  reachableMs: 30_000,
  retransmitMs: 1_000,
  delayFirstProbeMs: 5_000,
  maxMulticastSolicit: 3,
  maxUnicastSolicit: 2,
  queuePerNeighbour: 2,
  queueTotal: 3,
};
const MAC = new Uint8Array([2, 0, 0, 0, 0, 1]);
const OTHER_MAC = new Uint8Array([2, 0, 0, 0, 0, 2]);

class Recorder implements Solicitor<number> {
  sent: [number, number, string | null][] = [];
  solicit(ifIndex: number, address: number, unicastTo: Uint8Array | null): void {
    this.sent.push([ifIndex, address, unicastTo === null ? null : [...unicastTo].join(':')]);
  }
  take(): [number, number, string | null][] {
    const s = this.sent;
    this.sent = [];
    return s;
  }
}

function setup(timers: Partial<NeighbourTimers> = {}) {
  const solicitor = new Recorder();
  const wake = new Wake();
  const cache = new NeighbourCache<number>({ ...TIMERS, ...timers }, solicitor, wake);
  return { cache, solicitor, wake };
}

function state(s: number): string {
  return NEIGHBOUR_STATE_NAMES[s]!;
}

test('RFC 4861 §7.2.2: resolution solicits all nodes every RetransTimer, then hands the queue back', () => {
  const { cache, solicitor, wake } = setup();
  const e = cache.resolve(0, 7, 0);
  assert.equal(state(e.state), 'INCOMPLETE');
  assert.deepEqual(solicitor.take(), [[0, 7, null]]);
  assert.equal(wake.at, 1_000);
  const p = [new Uint8Array(1), new Uint8Array(2), new Uint8Array(3)];
  assert.ok(cache.enqueue(e, p[0]!));
  assert.ok(cache.enqueue(e, p[1]!));
  assert.ok(!cache.enqueue(e, p[2]!), 'queuePerNeighbour bounds it');
  assert.deepEqual(cache.expire(999), []);
  cache.expire(1_000);
  cache.expire(2_000);
  assert.deepEqual(solicitor.take(), [
    [0, 7, null],
    [0, 7, null],
  ]);
  const failed = cache.expire(3_000);
  assert.deepEqual(failed, [p[0], p[1]], 'the waiting packets, in order, for ICMP unreachable');
  assert.equal(cache.get(0, 7), undefined);
  assert.equal(cache.size, 0);
});

test('RFC 4861 §7.3.3: REACHABLE → STALE → (use) DELAY → PROBE → removed when unanswered', () => {
  const { cache, solicitor } = setup();
  const e = cache.resolve(0, 7, 0);
  const queued = new Uint8Array(4);
  cache.enqueue(e, queued);
  assert.deepEqual(cache.confirm(e, MAC, 0, 100), [queued], 'the queue is handed over on resolution');
  assert.equal(e.state, NUD_REACHABLE);
  cache.expire(30_099);
  assert.equal(e.state, NUD_REACHABLE);
  cache.expire(30_100);
  assert.equal(e.state, NUD_STALE, 'ReachableTime passed, no solicitation');
  solicitor.take();
  cache.use(e, 31_000);
  assert.equal(e.state, NUD_DELAY);
  assert.deepEqual(solicitor.take(), [], 'DELAY sends nothing');
  cache.expire(35_999);
  assert.equal(e.state, NUD_DELAY);
  cache.expire(36_000);
  assert.equal(e.state, NUD_PROBE);
  assert.deepEqual(solicitor.take(), [[0, 7, '2:0:0:0:0:1']], 'a unicast probe to the known address');
  cache.expire(37_000);
  assert.deepEqual(solicitor.take(), [[0, 7, '2:0:0:0:0:1']]);
  assert.deepEqual(cache.expire(38_000), [], 'nothing was queued while probing');
  assert.equal(cache.get(0, 7), undefined, 'MAX_UNICAST_SOLICIT unanswered: gone');
});

test('RFC 4861 §7.3.3: a confirmation in DELAY or PROBE makes the entry REACHABLE again', () => {
  const { cache, solicitor } = setup();
  for (const probing of [false, true]) {
    const e = cache.resolve(0, 9, 0);
    cache.confirm(e, MAC, 0, 0);
    cache.expire(30_000);
    cache.use(e, 30_000);
    if (probing) cache.expire(35_000);
    assert.equal(e.state, probing ? NUD_PROBE : NUD_DELAY);
    cache.confirm(e, MAC, 0, 35_500);
    assert.equal(e.state, NUD_REACHABLE);
    assert.equal(e.deadline, 65_500);
    solicitor.take();
    cache.expire(40_000);
    assert.deepEqual(solicitor.take(), [], 'no further probes');
    cache.flushInterface(0);
  }
});

test('without a first-probe delay, a stale entry put to use is probed at once (ARP, RFC 1122 §2.3.2.1)', () => {
  const { cache, solicitor } = setup({ delayFirstProbeMs: 0 });
  const e = cache.getOrCreate(1, 5);
  cache.confirm(e, MAC, 0, 0);
  cache.expire(30_000);
  cache.use(e, 31_000);
  assert.equal(e.state, NUD_PROBE);
  assert.deepEqual(solicitor.take(), [[1, 5, '2:0:0:0:0:1']]);
  cache.use(e, 31_500);
  assert.deepEqual(solicitor.take(), [], 'use while probing sends nothing more');
});

test('a STALE entry nobody uses for ReachableTime more is collected', () => {
  const { cache } = setup();
  const e = cache.getOrCreate(0, 3);
  cache.confirm(e, MAC, 0, 0);
  cache.expire(30_000);
  assert.equal(e.state, NUD_STALE);
  cache.expire(59_999);
  assert.equal(cache.size, 1);
  cache.expire(60_000);
  assert.equal(cache.size, 0);
});

test('RFC 4861 §7.2.3/§7.2.5: a link address learnt without confirmation is STALE; the same one changes nothing', () => {
  const { cache } = setup();
  const e = cache.resolve(0, 4, 0);
  const queued = new Uint8Array(8);
  cache.enqueue(e, queued);
  assert.deepEqual(cache.learn(e, MAC, 0, 10), [queued], 'INCOMPLETE → STALE sends what waited');
  assert.equal(e.state, NUD_STALE);
  cache.confirm(e, MAC, 0, 20);
  assert.deepEqual(cache.learn(e, MAC, 0, 30), []);
  assert.equal(e.state, NUD_REACHABLE, 'the same address keeps the entry REACHABLE');
  cache.learn(e, OTHER_MAC, 0, 40);
  assert.equal(e.state, NUD_STALE, 'a new address is unconfirmed');
  assert.deepEqual([...e.linkAddress], [...OTHER_MAC]);
});

test('the queue bound is shared by all entries; flushing an interface reports what it threw away', () => {
  const { cache } = setup();
  const a = cache.resolve(0, 1, 0);
  const b = cache.resolve(0, 2, 0);
  const c = cache.resolve(1, 1, 0);
  assert.ok(cache.enqueue(a, new Uint8Array(1)));
  assert.ok(cache.enqueue(a, new Uint8Array(1)));
  assert.ok(cache.enqueue(b, new Uint8Array(1)));
  assert.ok(!cache.enqueue(c, new Uint8Array(1)), 'queueTotal bounds all entries together');
  assert.equal(
    cache.flushInterface(0, (address) => address === 1),
    2,
  );
  assert.equal(cache.get(0, 1), undefined);
  assert.equal(cache.get(0, 2)?.state, NUD_INCOMPLETE);
  assert.ok(cache.enqueue(c, new Uint8Array(1)), 'room again');
  assert.deepEqual(
    [...cache.entries()].map((e) => [e.ifIndex, e.address]),
    [
      [0, 2],
      [1, 1],
    ],
  );
});
