// End-to-end scenarios: the sans-IO stack as hosts and routers on the simulator.
//
//   A 10.1.0.2 ─ 10.1.0.1 R1 10.2.0.1 ─ 10.2.0.2 R2 10.3.0.1 ─ 10.3.0.2 R3 10.4.0.1 ─ 10.4.0.2 B
//
// Every scenario is a function of the seed; where no impairment draws random numbers the outcome
// must not depend on it, and where one does, the same seed must give the same run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '@nexthop/addr';
import type { FrameNode, FrameOutput } from '@nexthop/interface';
import { type Impairments, type LinkCounters, Sim, type SimLink, withPcapsOnFailure } from '@nexthop/netsim';
import { type CountersInfo, type IcmpEvent, Stack, Stat } from '@nexthop/stack';
import {
  Drop,
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_TIME_EXCEEDED,
  TIME_EXCEEDED_REASSEMBLY,
  TIME_EXCEEDED_TTL,
  UNREACH_FRAG_NEEDED,
  UNREACH_HOST,
  UNREACH_NET,
} from '@nexthop/wire';

const ip = parseIpv4;
const ECHO_ID = 0x4e48;
/** Events one scenario may take; a runaway (a forwarding loop, a timer storm) fails instead of hanging. */
const MAX_EVENTS = 200_000;

function mac(node: number, ifIndex: number): Uint8Array {
  return new Uint8Array([2, 0, 0, 0, node, ifIndex]);
}

interface SeenIcmp extends IcmpEvent {
  time: number;
}

/**
 * A host: a Stack plus a script of things to do at given virtual times. The script runs from
 * poll(), so whatever timers the stack arms while sending (ARP retries) are in the deadline the
 * simulator gets back — a `sim.at` callback would send without the stack being polled afterwards.
 */
class Host implements FrameNode {
  readonly stack: Stack;
  readonly icmp: SeenIcmp[] = [];
  readonly #script: { time: number; run: (now: number) => void }[] = [];
  #now = 0;

  constructor(output: FrameOutput, seed: number) {
    this.stack = new Stack({ output, seed });
    this.stack.onIcmp = (event) => this.icmp.push({ ...event, time: this.#now });
  }

  at(time: number, run: (now: number) => void): this {
    let i = this.#script.length;
    while (i > 0 && this.#script[i - 1]!.time > time) i--;
    this.#script.splice(i, 0, { time, run });
    return this;
  }

  /** Schedules an echo request; `dataLength` is the ICMP data, so the IP packet is 28 bytes more. */
  ping(
    time: number,
    dst: number,
    seq: number,
    dataLength = 56,
    options: { ttl?: number; dontFragment?: boolean } = {},
  ): this {
    return this.at(time, (now) => {
      assert.ok(this.stack.sendEcho(dst, ECHO_ID, seq, dataLength, now, options), 'sendEcho found a route');
    });
  }

  receive(ifIndex: number, buf: Uint8Array, off: number, len: number, now: number): void {
    this.#now = now;
    this.stack.receive(ifIndex, buf, off, len, now);
  }

  poll(now: number): number {
    this.#now = now;
    while (this.#script.length > 0 && this.#script[0]!.time <= now) this.#script.shift()!.run(now);
    const stackDeadline = this.stack.poll(now);
    return Math.min(stackDeadline, this.#script[0]?.time ?? Number.POSITIVE_INFINITY);
  }

  get scriptDone(): boolean {
    return this.#script.length === 0;
  }

  replies(): SeenIcmp[] {
    return this.icmp.filter((e) => e.type === ICMP_ECHO_REPLY && e.restOfHeader >>> 16 === ECHO_ID);
  }

  /** Sequence numbers answered, each once, ascending. */
  answered(): number[] {
    return [...new Set(this.replies().map((e) => e.restOfHeader & 0xffff))].sort((x, y) => x - y);
  }

  errors(): SeenIcmp[] {
    return this.icmp.filter((e) => e.type !== ICMP_ECHO_REPLY);
  }
}

/** Sequence number of the echo request an ICMP error quotes. */
function quotedSeq(e: IcmpEvent): number {
  const hl = (e.body[0]! & 15) * 4;
  return (e.body[hl + 6]! << 8) | e.body[hl + 7]!;
}

function quotedDst(e: IcmpEvent): number {
  return ((e.body[16]! << 24) | (e.body[17]! << 16) | (e.body[18]! << 8) | e.body[19]!) >>> 0;
}

/**
 * A two-port wire that passes frames between its interfaces unless `drop` says otherwise: a
 * deterministic way to lose exactly the frame a scenario needs lost.
 */
class Tap implements FrameNode {
  readonly #output: FrameOutput;
  drop: (buf: Uint8Array, off: number, len: number) => boolean = () => false;
  dropped = 0;

  constructor(output: FrameOutput) {
    this.#output = output;
  }

  receive(ifIndex: number, buf: Uint8Array, off: number, len: number): void {
    if (this.drop(buf, off, len)) this.dropped++;
    else this.#output.transmit(1 - ifIndex, buf, off, len);
  }

  poll(): number {
    return Number.POSITIVE_INFINITY;
  }
}

interface TopologyOptions {
  seed: number;
  /** Puts a Tap between R3 and B (the 'r3-b' link then ends at the tap, 'tap-b' goes on to B). */
  tapBeforeB?: boolean;
  /** Sim link and stack MTU of the R2–R3 link. */
  midMtu?: number;
  /** Impairments per link: 'a-r1', 'r1-r2', 'r2-r3', 'r3-b'. */
  impairments?: Partial<Record<LinkName, Impairments>>;
}

type LinkName = 'a-r1' | 'r1-r2' | 'r2-r3' | 'r3-b';

interface Topology {
  sim: Sim;
  a: Host;
  b: Host;
  r1: Stack;
  r2: Stack;
  r3: Stack;
  links: Record<LinkName, SimLink>;
  stacks: Record<string, Stack>;
  tap: Tap | undefined;
}

function topology(options: TopologyOptions): Topology {
  const { seed, midMtu = 1500, impairments = {} } = options;
  const sim = new Sim({ seed });
  const a = sim.addNode('a', (out) => new Host(out, 0xa));
  const r1 = sim.addNode('r1', (output) => new Stack({ output, seed: 0x1 }));
  const r2 = sim.addNode('r2', (output) => new Stack({ output, seed: 0x2 }));
  const r3 = sim.addNode('r3', (output) => new Stack({ output, seed: 0x3 }));
  const b = sim.addNode('b', (out) => new Host(out, 0xb));
  const tap = options.tapBeforeB === true ? sim.addNode('tap', (out) => new Tap(out)) : undefined;
  const links: Record<LinkName, SimLink> = {
    'a-r1': sim.connect('a', 0, 'r1', 0, { name: 'a-r1', impairments: impairments['a-r1'] }),
    'r1-r2': sim.connect('r1', 1, 'r2', 0, { name: 'r1-r2', impairments: impairments['r1-r2'] }),
    'r2-r3': sim.connect('r2', 1, 'r3', 0, { name: 'r2-r3', mtu: midMtu, impairments: impairments['r2-r3'] }),
    'r3-b': sim.connect('r3', 1, tap === undefined ? 'b' : 'tap', 0, {
      name: 'r3-b',
      impairments: impairments['r3-b'],
    }),
  };
  if (tap !== undefined) sim.connect('tap', 1, 'b', 0, { name: 'tap-b' });

  const now = sim.now;
  a.stack.addInterface({ name: 'eth0', mac: mac(1, 0), mtu: 1500 });
  a.stack.addAddress(0, ip('10.1.0.2'), 24, now);
  a.stack.addStaticRoute({ network: 0, length: 0, via: ip('10.1.0.1') });

  r1.addInterface({ name: 'to-a', mac: mac(11, 0), mtu: 1500 });
  r1.addInterface({ name: 'to-r2', mac: mac(11, 1), mtu: 1500 });
  r1.addAddress(0, ip('10.1.0.1'), 24, now);
  r1.addAddress(1, ip('10.2.0.1'), 24, now);
  // The rest of 10/8 goes on to R2, so R2 decides about unknown destinations. Routers use a /8
  // rather than a default route: a /0 costs the DIR-24-8 FIB 2^24 writes, about 0.3 s per stack.
  r1.addStaticRoute({ network: ip('10.0.0.0'), length: 8, via: ip('10.2.0.2') });

  r2.addInterface({ name: 'to-r1', mac: mac(12, 0), mtu: 1500 });
  r2.addInterface({ name: 'to-r3', mac: mac(12, 1), mtu: midMtu });
  r2.addAddress(0, ip('10.2.0.2'), 24, now);
  r2.addAddress(1, ip('10.3.0.1'), 24, now);
  r2.addStaticRoute({ network: ip('10.1.0.0'), length: 24, via: ip('10.2.0.1') });
  r2.addStaticRoute({ network: ip('10.4.0.0'), length: 24, via: ip('10.3.0.2') });
  r2.addStaticRoute({ network: ip('10.50.0.0'), length: 16, type: 'reject' });
  r2.addStaticRoute({ network: ip('10.60.0.0'), length: 16, type: 'blackhole' });

  r3.addInterface({ name: 'to-r2', mac: mac(13, 0), mtu: midMtu });
  r3.addInterface({ name: 'to-b', mac: mac(13, 1), mtu: 1500 });
  r3.addAddress(0, ip('10.3.0.2'), 24, now);
  r3.addAddress(1, ip('10.4.0.1'), 24, now);
  r3.addStaticRoute({ network: ip('10.0.0.0'), length: 8, via: ip('10.3.0.1') });

  b.stack.addInterface({ name: 'eth0', mac: mac(2, 0), mtu: 1500 });
  b.stack.addAddress(0, ip('10.4.0.2'), 24, now);
  b.stack.addStaticRoute({ network: 0, length: 0, via: ip('10.4.0.1') });

  return { sim, a, b, r1, r2, r3, links, stacks: { a: a.stack, r1, r2, r3, b: b.stack }, tap };
}

/** Runs until `done` holds, within a virtual-time and event budget, and says how long it took. */
function runUntil(t: Topology, done: () => boolean, timeoutMs: number): void {
  const ok = t.sim.runUntil(done, { timeoutMs, maxEvents: MAX_EVENTS });
  assert.ok(
    ok,
    `scenario did not finish within ${timeoutMs} ms (now ${t.sim.now}, ${t.sim.eventCount} events)`,
  );
}

/** Everything countable about a run: every stack's counters and every link's. */
interface Snapshot {
  now: number;
  events: number;
  stacks: Record<string, CountersInfo>;
  links: Record<string, LinkCounters>;
}

function snapshot(t: Topology): Snapshot {
  const stacks = Object.fromEntries(Object.entries(t.stacks).map(([name, s]) => [name, s.counters()]));
  const links = Object.fromEntries(Object.entries(t.links).map(([name, l]) => [name, l.totals()]));
  return { now: t.sim.now, events: t.sim.eventCount, stacks, links };
}

function totalDrops(s: Stack): number {
  return Object.values(s.counters().drops).reduce((x, y) => x + y, 0);
}

const B = ip('10.4.0.2');

// ---- ping --------------------------------------------------------------------------------------

function pingAcross(seed: number, impairments: TopologyOptions['impairments'] = {}) {
  const t = topology({ seed, impairments });
  for (let seq = 0; seq < 20; seq++) t.a.ping(seq * 200, B, seq);
  // Last request at 3.8 s; five more seconds covers a full round of ARP retries.
  t.sim.run({ until: 9_000, maxEvents: MAX_EVENTS });
  return t;
}

test('ping: 20 echo requests from A to B across three routers are all answered', (ctx) => {
  for (const seed of [1, 0xc0ffee]) {
    const t = pingAcross(seed);
    withPcapsOnFailure(t.sim, ctx);
    assert.ok(t.a.scriptDone);
    assert.deepEqual(
      t.a.answered(),
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.equal(t.a.replies().length, 20, 'each request answered once');
    assert.deepEqual(t.a.errors(), []);
    for (const r of t.a.replies()) assert.equal(r.src, B);
    // Every hop resolved its next hop with ARP, once, and queued the first packet meanwhile.
    for (const [name, s] of Object.entries(t.stacks)) {
      assert.ok(s.counters().stats['arp_entries']! >= 1, `${name} learned a neighbour`);
      assert.equal(totalDrops(s), 0, `${name} dropped nothing`);
    }
    // Each hop towards B queued the first request while it asked for its next hop; B had learned
    // R3 from R3's own request (RFC 826 merge), so the replies never wait.
    for (const name of ['a', 'r1', 'r2', 'r3']) assert.equal(t.stacks[name]!.statCount(Stat.ARP_QUEUED), 1);
    assert.equal(t.b.stack.statCount(Stat.ARP_QUEUED), 0);
    assert.equal(t.r2.statCount(Stat.FORWARDED), 40);
    assert.equal(t.b.stack.statCount(Stat.ECHO_REPLIES_SENT), 20);
    assert.ok(t.sim.eventCount < 2_000, `bounded event count (${t.sim.eventCount})`);
  }
});

test('ping with 10 % loss on R2–R3: some lost, the rest answered, and the seed decides which', (ctx) => {
  const lossy = { 'r2-r3': { loss: 0.1 } };
  const seeds = [7, 12345];
  const outcomes = seeds.map((seed) => {
    const first = pingAcross(seed, lossy);
    withPcapsOnFailure(first.sim, ctx);
    const again = pingAcross(seed, lossy);
    assert.deepEqual(again.a.answered(), first.a.answered(), `seed ${seed}: same answered set twice`);
    assert.deepEqual(snapshot(again), snapshot(first), `seed ${seed}: same counters twice`);

    const answered = first.a.answered();
    const lost = first.links['r2-r3'].totals().lost;
    assert.ok(lost > 0, `seed ${seed}: the link lost something`);
    assert.ok(answered.length > 0 && answered.length < 20, `seed ${seed}: answered ${answered.length}`);
    assert.ok(answered.length >= 10, `seed ${seed}: most still answered (${answered.length})`);
    // Loss is silent: nobody is told, and nothing else drops.
    assert.deepEqual(first.a.errors(), []);
    for (const s of Object.values(first.stacks)) assert.equal(totalDrops(s), 0);
    return answered;
  });
  assert.notDeepEqual(outcomes[0], outcomes[1], 'different seeds lose different packets');
});

// ---- TTL -----------------------------------------------------------------------------------------

function traceroute(seed: number) {
  const t = topology({ seed });
  for (let ttl = 1; ttl <= 4; ttl++) t.a.ping(ttl * 500, B, ttl, 56, { ttl });
  runUntil(t, () => t.a.icmp.length >= 4, 10_000);
  return t;
}

test('traceroute: TTL 1, 2, 3 expire at R1, R2, R3 (from the address facing A); TTL 4 reaches B', (ctx) => {
  const outcomes = [3, 4242].map((seed) => {
    const t = traceroute(seed);
    withPcapsOnFailure(t.sim, ctx);
    return t.a.icmp.map((e) => ({
      src: e.src,
      type: e.type,
      code: e.code,
      seq: e.type === ICMP_ECHO_REPLY ? e.restOfHeader & 0xffff : quotedSeq(e),
    }));
  });
  const expired = (src: string, seq: number) => ({
    src: ip(src),
    type: ICMP_TIME_EXCEEDED,
    code: TIME_EXCEEDED_TTL,
    seq,
  });
  // RFC 1812 §4.3.2.4: the source is an address of the interface the error leaves by.
  const expected = [
    expired('10.1.0.1', 1),
    expired('10.2.0.2', 2),
    expired('10.3.0.2', 3),
    { src: B, type: ICMP_ECHO_REPLY, code: 0, seq: 4 },
  ];
  assert.deepEqual(outcomes[0], expected);
  assert.deepEqual(outcomes[1], expected);
});

test('traceroute: each router counts one TTL expiry and the quote is the request as it arrived', (ctx) => {
  const t = traceroute(5);
  withPcapsOnFailure(t.sim, ctx);
  for (const r of [t.r1, t.r2, t.r3]) assert.equal(r.dropCount(Drop.IPV4_TTL_EXCEEDED), 1);
  for (const e of t.a.errors()) {
    // The quoted header still has TTL 1 (the router did not decrement before giving up) and A's addresses.
    assert.equal(e.body[8], 1);
    assert.equal(quotedDst(e), B);
    // RFC 792: at least the header and 8 bytes of data; the stack quotes up to 548.
    assert.ok(e.body.length >= 28);
  }
});

// ---- unreachable ----------------------------------------------------------------------------------

function unreachable(seed: number) {
  const t = topology({ seed });
  t.a.ping(0, ip('10.99.0.1'), 1); // no route at R2
  t.a.ping(1_000, ip('10.50.1.1'), 2); // reject route at R2
  t.a.ping(2_000, ip('10.60.1.1'), 3); // blackhole at R2
  t.a.ping(3_000, B, 4); // the path itself still works
  t.sim.run({ until: 8_000, maxEvents: MAX_EVENTS });
  return t;
}

test('unreachable: no route → net unreachable, reject → host unreachable, blackhole → silence', (ctx) => {
  const outcomes = [1, 2].map((seed) => {
    const t = unreachable(seed);
    withPcapsOnFailure(t.sim, ctx);
    const r2Address = ip('10.2.0.2');
    assert.deepEqual(
      t.a.errors().map((e) => ({ src: e.src, type: e.type, code: e.code, seq: quotedSeq(e) })),
      [
        { src: r2Address, type: ICMP_DEST_UNREACHABLE, code: UNREACH_NET, seq: 1 },
        { src: r2Address, type: ICMP_DEST_UNREACHABLE, code: UNREACH_HOST, seq: 2 },
      ],
    );
    assert.deepEqual(t.a.answered(), [4]);
    assert.equal(t.r2.dropCount(Drop.IPV4_NO_ROUTE), 1);
    assert.equal(t.r2.dropCount(Drop.IPV4_REJECT), 1);
    assert.equal(t.r2.dropCount(Drop.IPV4_BLACKHOLE), 1);
    assert.equal(t.r2.statCount(Stat.ICMP_ERRORS_SENT), 2, 'nothing for the blackhole');
    // Four requests out (the blackholed one got as far as R2), one reply and two errors back.
    assert.equal(t.r1.statCount(Stat.FORWARDED), 4 + 1 + 2);
    return snapshot(t);
  });
  assert.deepEqual(outcomes[0]!.stacks, outcomes[1]!.stacks, 'no randomness: the seed changes nothing');
});

test("ARP failure: nobody answers on R3's subnet → host unreachable from R3 after ~3 s", (ctx) => {
  const outcomes = [1, 77].map((seed) => {
    const t = topology({ seed });
    withPcapsOnFailure(t.sim, ctx);
    const absent = ip('10.4.0.99');
    t.a.ping(0, B, 1); // resolve everything else first
    t.a.ping(1_000, absent, 2);
    runUntil(t, () => t.a.errors().length > 0, 10_000);
    const [error] = t.a.errors();
    assert.equal(t.a.errors().length, 1);
    assert.equal(error!.src, ip('10.3.0.2'), 'from R3, on the interface facing A');
    assert.equal(error!.type, ICMP_DEST_UNREACHABLE);
    assert.equal(error!.code, UNREACH_HOST);
    assert.equal(quotedSeq(error!), 2);
    assert.equal(quotedDst(error!), absent);
    // RFC 1122 §2.3.2.1: a few requests about a second apart, then give up.
    const waited = error!.time - 1_000;
    assert.ok(waited >= 3_000 && waited < 3_100, `gave up after ${waited} ms`);
    assert.equal(t.r3.dropCount(Drop.ARP_RESOLUTION_FAILED), 1);
    // Two gratuitous announcements, one request for B, three for the absent host.
    assert.equal(t.r3.statCount(Stat.ARP_REQUESTS_SENT), 2 + 1 + 3);
    // The requests R3 broadcast for the absent host, seen on B's side of the link.
    const requests = t.links['r3-b'].counters('aToB');
    assert.equal(t.r3.arpEntries(t.sim.now).length, 2, 'the failed entry is gone');
    // Nothing left pending: the simulation goes idle without further work.
    assert.equal(t.sim.run({ maxEvents: 1_000 }).reason, 'idle');
    return { waited, sent: requests.sent, arpRequests: t.r3.statCount(Stat.ARP_REQUESTS_SENT) };
  });
  assert.deepEqual(outcomes[0], outcomes[1]);
});

// ---- fragmentation --------------------------------------------------------------------------------

/** Data length for an echo whose IP packet is `ipLength` bytes. */
const dataFor = (ipLength: number) => ipLength - 28;

function expectPattern(body: Uint8Array, length: number): void {
  assert.equal(body.length, length);
  for (let i = 0; i < length; i++) {
    if (body[i] !== (i & 255)) assert.fail(`echo data differs at byte ${i}`);
  }
}

test('fragmentation: a 1400-byte DF echo over a 1280 link → fragmentation needed with MTU 1280', (ctx) => {
  const outcomes = [1, 31337].map((seed) => {
    const t = topology({ seed, midMtu: 1280 });
    withPcapsOnFailure(t.sim, ctx);
    t.a.ping(0, B, 1, dataFor(1400), { dontFragment: true });
    runUntil(t, () => t.a.icmp.length > 0, 5_000);
    const [e] = t.a.icmp;
    assert.equal(e!.type, ICMP_DEST_UNREACHABLE);
    assert.equal(e!.code, UNREACH_FRAG_NEEDED);
    assert.equal(e!.src, ip('10.2.0.2'));
    // RFC 1191 §4: the next-hop MTU in the low 16 bits of the rest of the header.
    assert.equal(e!.restOfHeader & 0xffff, 1280);
    assert.equal(quotedSeq(e!), 1);
    assert.equal(t.r2.dropCount(Drop.IPV4_FRAG_NEEDED), 1);
    assert.equal(t.links['r2-r3'].totals().droppedTooBig, 0, 'the router, not the link, refused it');
    return { src: e!.src, mtu: e!.restOfHeader, time: e!.time };
  });
  assert.deepEqual(outcomes[0], outcomes[1]);
});

test('fragmentation: a 1400-byte echo without DF is fragmented by R2, reassembled by B, and so is the reply', (ctx) => {
  const outcomes = [1, 2024].map((seed) => {
    const t = topology({ seed, midMtu: 1280 });
    withPcapsOnFailure(t.sim, ctx);
    t.a.ping(0, B, 1, dataFor(1400));
    runUntil(t, () => t.a.replies().length > 0, 5_000);
    const [reply] = t.a.replies();
    assert.equal(reply!.src, B);
    expectPattern(reply!.body, dataFor(1400));
    assert.equal(t.r2.statCount(Stat.PACKETS_FRAGMENTED), 1, 'R2 fragments the request');
    assert.equal(t.r2.statCount(Stat.FRAGMENTS_CREATED), 2);
    assert.equal(t.r3.statCount(Stat.PACKETS_FRAGMENTED), 1, 'R3 fragments the reply');
    assert.equal(t.b.stack.statCount(Stat.FRAGMENTS_RECEIVED), 2);
    assert.equal(t.b.stack.statCount(Stat.DATAGRAMS_REASSEMBLED), 1);
    assert.equal(t.a.stack.statCount(Stat.DATAGRAMS_REASSEMBLED), 1);
    assert.equal(t.links['r2-r3'].totals().droppedTooBig, 0);
    for (const s of Object.values(t.stacks)) {
      assert.equal(totalDrops(s), 0);
      assert.equal(s.counters().stats['reassembly_pending'], 0);
    }
    return snapshot(t);
  });
  assert.deepEqual(outcomes[0]!.stacks, outcomes[1]!.stacks);
});

test('fragmentation: a 3000-byte echo is fragmented by A at 1500, again by R2 at 1280, and answered', (ctx) => {
  const t = topology({ seed: 9, midMtu: 1280 });
  withPcapsOnFailure(t.sim, ctx);
  t.a.ping(0, B, 1, dataFor(3000));
  runUntil(t, () => t.a.replies().length > 0, 5_000);
  expectPattern(t.a.replies()[0]!.body, dataFor(3000));
  // 2980 bytes of payload: 1480 + 1480 + 20 at 1500; each 1480 becomes 1256 + 224 at 1280.
  assert.equal(t.a.stack.statCount(Stat.FRAGMENTS_CREATED), 3);
  assert.equal(t.r2.statCount(Stat.PACKETS_FRAGMENTED), 2);
  assert.equal(t.r2.statCount(Stat.FRAGMENTS_CREATED), 4);
  assert.equal(t.b.stack.statCount(Stat.FRAGMENTS_RECEIVED), 5);
  assert.equal(t.b.stack.statCount(Stat.DATAGRAMS_REASSEMBLED), 1);
  // The 3000-byte reply takes the mirror path: B fragments, R3 fragments again, A reassembles.
  assert.equal(t.b.stack.statCount(Stat.FRAGMENTS_CREATED), 3);
  assert.equal(t.r3.statCount(Stat.FRAGMENTS_CREATED), 4);
  assert.equal(t.a.stack.statCount(Stat.FRAGMENTS_RECEIVED), 5);
  assert.equal(t.a.stack.statCount(Stat.DATAGRAMS_REASSEMBLED), 1);
  for (const s of Object.values(t.stacks)) assert.equal(totalDrops(s), 0);
  for (const l of Object.values(t.links)) assert.equal(l.totals().droppedTooBig, 0);
});

test('fragmentation: lowering the R2–R3 MTU mid-run shows up in the next DF error', (ctx) => {
  const outcomes = [1, 5].map((seed) => {
    const t = topology({ seed, midMtu: 1280 });
    withPcapsOnFailure(t.sim, ctx);
    t.a.ping(0, B, 1, dataFor(1200), { dontFragment: true }); // fits: answered
    t.a.ping(500, B, 2, dataFor(1400), { dontFragment: true }); // 1280 in the error
    t.sim.at(1_000, () => {
      t.links['r2-r3'].setMtu(1000);
      t.r2.setMtu(1, 1000);
      t.r3.setMtu(0, 1000);
    });
    t.a.ping(2_000, B, 3, dataFor(1200), { dontFragment: true }); // fitted before, 1000 now
    t.a.ping(2_500, B, 4, dataFor(1200)); // without DF it is fragmented and still answered
    t.sim.run({ until: 6_000, maxEvents: MAX_EVENTS });
    assert.deepEqual(t.a.answered(), [1, 4]);
    assert.deepEqual(
      t.a.errors().map((e) => ({ seq: quotedSeq(e), code: e.code, mtu: e.restOfHeader & 0xffff })),
      [
        { seq: 2, code: UNREACH_FRAG_NEEDED, mtu: 1280 },
        { seq: 3, code: UNREACH_FRAG_NEEDED, mtu: 1000 },
      ],
    );
    expectPattern(t.a.replies().find((r) => (r.restOfHeader & 0xffff) === 4)!.body, dataFor(1200));
    assert.equal(t.links['r2-r3'].totals().droppedTooBig, 0);
    return t.a.icmp.map((e) => [e.time, e.type, e.code, e.restOfHeader]);
  });
  assert.deepEqual(outcomes[0], outcomes[1]);
});

// ---- corruption and duplication ---------------------------------------------------------------------

/** Drop reasons a flipped bit can cause in an IPv4 header or an ICMP message. */
const CORRUPTION_DROPS = [
  'ipv4_truncated',
  'ipv4_bad_version',
  'ipv4_bad_ihl',
  'ipv4_bad_checksum',
  'ipv4_bad_total_length',
  'icmp_truncated',
  'icmp_bad_checksum',
];

function corruptedPings(seed: number) {
  const t = topology({ seed });
  // Resolve every neighbour first, so the flipped bits land in IP packets, not in ARP answers.
  t.a.ping(0, B, 0);
  for (let seq = 1; seq <= 60; seq++) t.a.ping(1_000 + seq * 50, B, seq);
  // Ethernet header left intact: each corrupted frame reaches the next stack and must fail a check.
  t.sim.at(500, () => t.links['r1-r2'].setImpairments({ corrupt: 0.25, corruptMinOffset: 14 }));
  t.sim.run({ until: 8_000, maxEvents: MAX_EVENTS });
  return t;
}

test('corruption: every corrupted frame is counted as a drop by a receiving stack, and costs one echo', (ctx) => {
  for (const seed of [1, 8]) {
    const t = corruptedPings(seed);
    withPcapsOnFailure(t.sim, ctx);
    const again = corruptedPings(seed);
    assert.deepEqual(snapshot(again), snapshot(t), `seed ${seed}: same counters twice`);

    const corrupted = t.links['r1-r2'].totals().corrupted;
    assert.ok(corrupted > 0, 'something was corrupted');
    let counted = 0;
    let other = 0;
    for (const s of Object.values(t.stacks)) {
      for (const [reason, n] of Object.entries(s.counters().drops)) {
        if (CORRUPTION_DROPS.includes(reason)) counted += n;
        else other += n;
      }
    }
    // Ones' complement sums catch every single-bit error: nothing slips through, nothing else drops.
    assert.equal(counted, corrupted);
    assert.equal(other, 0);
    // One flipped bit loses the request or its reply, never both, and never triggers an ICMP error.
    assert.equal(t.a.answered().length, 61 - corrupted);
    assert.equal(t.a.replies().length, 61 - corrupted);
    assert.deepEqual(t.a.errors(), []);
  }
});

function noisyPings(seed: number, noisyLinks: LinkName[]) {
  const noisy: Impairments = { corrupt: 0.3, corruptMinOffset: 0 };
  const t = topology({ seed, impairments: Object.fromEntries(noisyLinks.map((name) => [name, noisy])) });
  for (let seq = 0; seq < 100; seq++) t.a.ping(seq * 50, B, seq, seq * 13);
  t.sim.run({ until: 15_000, maxEvents: MAX_EVENTS });
  return t;
}

test('corruption anywhere in a frame, ARP and Ethernet header included, never crashes a stack', (ctx) => {
  for (const seed of [3, 4]) {
    const t = noisyPings(seed, ['r1-r2']);
    withPcapsOnFailure(t.sim, ctx);
    assert.deepEqual(snapshot(noisyPings(seed, ['r1-r2'])), snapshot(t), `seed ${seed}: same counters twice`);
    const corrupted = t.links['r1-r2'].totals().corrupted;
    assert.ok(corrupted > 30, `corrupted ${corrupted}`);
    assert.ok(totalDrops(t.r1) + totalDrops(t.r2) > 0);
    assert.ok(t.a.answered().length > 0 && t.a.answered().length < 100);
    // One flipped bit per packet is always caught, so whatever is answered carries the right bytes.
    for (const r of t.a.replies()) {
      assert.equal(r.src, B);
      expectPattern(r.body, (r.restOfHeader & 0xffff) * 13);
    }
  }
});

test('corruption on every link: no stack crashes, and the run is still a function of the seed', (ctx) => {
  const links: LinkName[] = ['a-r1', 'r1-r2', 'r2-r3', 'r3-b'];
  const t = noisyPings(11, links);
  withPcapsOnFailure(t.sim, ctx);
  assert.deepEqual(snapshot(noisyPings(11, links)), snapshot(t));
  let corrupted = 0;
  for (const l of Object.values(t.links)) corrupted += l.totals().corrupted;
  let drops = 0;
  for (const s of Object.values(t.stacks)) drops += totalDrops(s);
  assert.ok(corrupted > 100, `corrupted ${corrupted}`);
  assert.ok(drops > 0);
  // No content check here: two flips on different links can cancel out in a ones' complement sum.
  assert.ok(t.a.replies().length <= 100);
});

test('duplication: duplicated frames on every link do not break ping', (ctx) => {
  const run = (seed: number) => {
    const dup: Impairments = { duplicate: 0.3 };
    const t = topology({ seed, impairments: { 'a-r1': dup, 'r1-r2': dup, 'r2-r3': dup, 'r3-b': dup } });
    for (let seq = 0; seq < 20; seq++) t.a.ping(seq * 200, B, seq);
    t.sim.run({ until: 8_000, maxEvents: MAX_EVENTS });
    return t;
  };
  for (const seed of [1, 2]) {
    const t = run(seed);
    withPcapsOnFailure(t.sim, ctx);
    assert.deepEqual(snapshot(run(seed)), snapshot(t), `seed ${seed}: same counters twice`);
    let duplicated = 0;
    for (const l of Object.values(t.links)) duplicated += l.totals().duplicated;
    assert.ok(duplicated > 0);
    assert.deepEqual(
      t.a.answered(),
      Array.from({ length: 20 }, (_, i) => i),
    );
    // Duplicated requests are answered again: A sees at least one reply per request, some twice or more.
    assert.ok(t.a.replies().length > 20);
    assert.deepEqual(t.a.errors(), []);
    for (const s of Object.values(t.stacks)) assert.equal(totalDrops(s), 0);
  }
});

test('duplication: duplicated fragments do not stop reassembly', (ctx) => {
  const run = (seed: number) => {
    const t = topology({ seed, midMtu: 1280, impairments: { 'r2-r3': { duplicate: 0.5 } } });
    for (let seq = 0; seq < 10; seq++) t.a.ping(seq * 200, B, seq, dataFor(1400));
    t.sim.run({ until: 6_000, maxEvents: MAX_EVENTS });
    return t;
  };
  for (const seed of [1, 2]) {
    const t = run(seed);
    withPcapsOnFailure(t.sim, ctx);
    assert.ok(t.links['r2-r3'].totals().duplicated > 0);
    assert.deepEqual(
      t.a.answered(),
      Array.from({ length: 10 }, (_, i) => i),
    );
    for (const r of t.a.replies()) expectPattern(r.body, dataFor(1400));
    for (const s of Object.values(t.stacks)) {
      assert.equal(s.dropCount(Drop.IPV4_REASSEMBLY_OVERLAP), 0);
    }
  }
});

test('reassembly timeout: B holds the first fragment alone for 30 s, then tells A (time exceeded, code 1)', (ctx) => {
  const t = topology({ seed: 1, midMtu: 1280, tapBeforeB: true });
  withPcapsOnFailure(t.sim, ctx);
  // Lose every IPv4 fragment but the first on its way to B.
  t.tap!.drop = (buf, off) =>
    buf[off + 12] === 0x08 && buf[off + 13] === 0x00 && ((buf[off + 20]! & 0x1f) | buf[off + 21]!) !== 0;
  t.a.ping(0, B, 1, dataFor(1400));
  runUntil(t, () => t.a.icmp.length > 0, 40_000);
  const [e] = t.a.icmp;
  assert.equal(e!.type, ICMP_TIME_EXCEEDED);
  assert.equal(e!.code, TIME_EXCEEDED_REASSEMBLY);
  assert.equal(e!.src, B);
  assert.equal(quotedSeq(e!), 1);
  // RFC 1122 §3.3.2 timer, started by the first fragment (a few ms after the send).
  assert.ok(e!.time >= 30_000 && e!.time < 30_100, `after ${e!.time} ms`);
  assert.equal(t.tap!.dropped, 1);
  assert.equal(t.b.stack.dropCount(Drop.IPV4_REASSEMBLY_TIMEOUT), 1);
  assert.equal(t.b.stack.counters().stats['reassembly_pending'], 0);
  assert.equal(t.sim.run({ maxEvents: 1_000 }).reason, 'idle');
});

test('reassembly timeout without the first fragment stays silent (RFC 792)', (ctx) => {
  const t = topology({ seed: 1, midMtu: 1280, tapBeforeB: true });
  withPcapsOnFailure(t.sim, ctx);
  t.tap!.drop = (buf, off) =>
    buf[off + 12] === 0x08 && buf[off + 13] === 0x00 && (buf[off + 20]! & 0x20) !== 0;
  t.a.ping(0, B, 1, dataFor(1400));
  const result = t.sim.run({ until: 40_000, maxEvents: MAX_EVENTS });
  assert.equal(result.reason, 'until');
  assert.deepEqual(t.a.icmp, []);
  assert.equal(t.b.stack.dropCount(Drop.IPV4_REASSEMBLY_TIMEOUT), 1);
});

test("ICMP errors are rate limited: a burst of TTL-1 probes gets the bucket's burst of answers", (ctx) => {
  const run = (seed: number) => {
    const t = topology({ seed });
    withPcapsOnFailure(t.sim, ctx);
    t.a.ping(0, B, 0); // resolves A → R1, so the burst is not stuck in A's ARP queue
    t.a.at(1_000, (now) => {
      for (let seq = 1; seq <= 150; seq++) t.a.stack.sendEcho(B, ECHO_ID, seq, 8, now, { ttl: 1 });
    });
    t.a.ping(3_000, B, 151, 8, { ttl: 1 }); // the bucket has refilled
    t.sim.run({ until: 5_000, maxEvents: MAX_EVENTS });
    return t;
  };
  const t = run(1);
  // RFC 1812 §4.3.2.8; the stack's default bucket holds 100.
  assert.equal(t.r1.statCount(Stat.ICMP_ERRORS_SENT), 101);
  assert.equal(t.r1.dropCount(Drop.ICMP_RATE_LIMITED), 50);
  assert.equal(t.r1.dropCount(Drop.IPV4_TTL_EXCEEDED), 151);
  const seqs = t.a.errors().map(quotedSeq);
  assert.deepEqual(seqs, [...Array.from({ length: 100 }, (_, i) => i + 1), 151]);
  assert.deepEqual(snapshot(run(2)).stacks, snapshot(t).stacks);
});

test('interface down on R2 → net unreachable from R2; back up → pings answered again', (ctx) => {
  const t = topology({ seed: 1 });
  withPcapsOnFailure(t.sim, ctx);
  t.a.ping(0, B, 1);
  t.sim.at(1_000, () => t.r2.setUp(1, false, t.sim.now));
  t.a.ping(2_000, B, 2);
  t.sim.at(3_000, () => t.r2.setUp(1, true, t.sim.now));
  t.a.ping(4_000, B, 3);
  t.sim.run({ until: 8_000, maxEvents: MAX_EVENTS });
  assert.deepEqual(t.a.answered(), [1, 3]);
  assert.deepEqual(
    t.a.errors().map((e) => ({ src: e.src, type: e.type, code: e.code, seq: quotedSeq(e) })),
    [{ src: ip('10.2.0.2'), type: ICMP_DEST_UNREACHABLE, code: UNREACH_NET, seq: 2 }],
  );
  // Its routes through R3 went with the interface, so this is "no route", not "interface down".
  assert.equal(t.r2.dropCount(Drop.IPV4_NO_ROUTE), 1);
});

test('ARP entries age: pings 70 s apart keep working as entries go stale and are re-confirmed', (ctx) => {
  const t = topology({ seed: 1 });
  withPcapsOnFailure(t.sim, ctx);
  const times = [0, 30_000, 70_000, 75_000, 140_000, 200_000];
  times.forEach((time, seq) => {
    t.a.ping(time, B, seq);
  });
  t.sim.run({ until: 210_000, maxEvents: MAX_EVENTS });
  assert.deepEqual(t.a.answered(), [0, 1, 2, 3, 4, 5]);
  assert.equal(t.a.replies().length, 6);
  for (const [name, s] of Object.entries(t.stacks)) {
    assert.equal(totalDrops(s), 0, `${name} dropped nothing`);
    // Entries are refreshed (unicast probes) or relearned, never piled up.
    assert.ok(s.counters().stats['arp_entries']! <= 2, `${name} has few ARP entries`);
  }
  // A quiet network: a few hundred events for 200 s, not a timer per millisecond.
  assert.ok(t.sim.eventCount < 1_000, `${t.sim.eventCount} events`);
});
