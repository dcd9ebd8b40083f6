// The engine over a scripted socket layer: what it sends (decoded), what reaches the sink, and
// when — the timers of RFC 2453 §3.8 (update ± offset, timeout, garbage collection), triggered
// updates held 1–5 s, split horizon with poisoned reverse, requests, drops by reason, passive
// interfaces and in-place reconfiguration, for RIPv2 and RIPng.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '@nexthop/addr';
import {
  encodeRip2,
  encodeRipng,
  parseRip2,
  parseRipng,
  RIP_REQUEST,
  RIP_RESPONSE,
  type RipEntry,
  type RipKey,
} from '../src/codec.ts';
import { type RipConfig, RipEngine, type RipInterfaceConfig, type RipRouteSink } from '../src/engine.ts';
import { FakeRipSockets, type Sent, SeqRandom } from './fake-sockets.ts';

const ascii = (s: string) => new TextEncoder().encode(s);

class LogSink<A extends number | Uint8Array> implements RipRouteSink<A> {
  readonly routes = new Map<string, string>();
  readonly log: string[] = [];
  update(
    network: A,
    length: number,
    route: { nextHop: A; ifIndex: number; metric: number } | null,
    now: number,
  ) {
    const f = (a: A) => (typeof a === 'number' ? formatIpv4(a) : formatIpv6(a as Uint8Array));
    const k = `${f(network)}/${length}`;
    if (route === null) {
      this.routes.delete(k);
      this.log.push(`${now / 1000}s - ${k}`);
    } else {
      const v = `via ${f(route.nextHop)} if${route.ifIndex} metric ${route.metric}`;
      this.routes.set(k, v);
      this.log.push(`${now / 1000}s + ${k} ${v}`);
    }
  }
}

function iface(name: string, ifIndex: number, extra: Partial<RipInterfaceConfig> = {}): RipInterfaceConfig {
  return {
    name,
    ifIndex,
    cost: 1,
    passive: false,
    splitHorizon: 'poisoned-reverse',
    keys: [],
    mtu: 1500,
    ...extra,
  };
}

const TIMERS = { update: 30, timeout: 180, garbage: 120 };

/** A sent datagram as text: "eth0>224.0.0.9:520 response 10.1.0.0/16=1 …". */
function show4(s: Sent, keys: RipKey[] = []): string {
  const p = parseRip2(s.bytes, 0, s.bytes.length, keys);
  if (!p.ok) return `undecodable ${p.reason}`;
  const m = p.message;
  const what = m.command === RIP_REQUEST ? (m.wholeTable ? 'request *' : 'request') : 'response';
  const via = s.to === '224.0.0.9' ? s.mcastIf : `if${s.oif}`;
  return `${via}>${s.to}:${s.port} ${what}${m.entries.map((e) => ` ${formatIpv4(e.network)}/${e.length}=${e.metric}`).join('')}`;
}

function show6(s: Sent): string {
  const p = parseRipng(s.bytes, 0, s.bytes.length);
  if (!p.ok) return `undecodable ${p.reason}`;
  const m = p.message;
  const what = m.command === RIP_REQUEST ? (m.wholeTable ? 'request *' : 'request') : 'response';
  return `if${s.oif}>${s.to}:${s.port} from ${s.src} ${what}${m.entries.map((e) => ` ${formatIpv6(e.network)}/${e.length}=${e.metric}`).join('')}`;
}

const e4 = (net: string, length: number, metric: number, nextHop = 0): RipEntry<number> => ({
  network: parseIpv4(net),
  length,
  metric,
  nextHop,
  tag: 0,
});

function v4rig(config: Partial<RipConfig> = {}) {
  const sockets = new FakeRipSockets();
  const sink = new LogSink<number>();
  const cfg: RipConfig = { interfaces: [iface('eth0', 0), iface('eth1', 1)], timers: TIMERS, ...config };
  const engine = new RipEngine<number>({
    name: 'rip',
    family: 4,
    sockets,
    sink,
    config: cfg,
    random: new SeqRandom(7),
  });
  engine.setInterfaceState(0, { up: true, addresses: [{ address: parseIpv4('10.0.1.1'), length: 24 }] }, 0);
  engine.setInterfaceState(1, { up: true, addresses: [{ address: parseIpv4('10.0.2.1'), length: 24 }] }, 0);
  let now = 0;
  /** Runs polls at every deadline up to `until` (ms), recording what was sent with the time. */
  const run = (until: number, keys: RipKey[] = []): string[] => {
    const out: string[] = [];
    for (;;) {
      const next = engine.poll(now);
      for (const s of sockets.take()) out.push(`${now / 1000}s ${show4(s, keys)}`);
      if (next > until) break;
      now = next;
    }
    now = until;
    return out;
  };
  const receive = (
    from: string,
    entries: RipEntry<number>[],
    opts: { port?: number; ifIndex?: number; key?: RipKey; seq?: number } = {},
  ) => {
    const bytes = encodeRip2(
      RIP_RESPONSE,
      entries,
      opts.key ? { key: opts.key, sequence: opts.seq ?? 1 } : null,
    );
    const ev = sockets.deliver({
      bytes,
      from: parseIpv4(from),
      port: opts.port ?? 520,
      ifIndex: opts.ifIndex ?? 0,
    });
    engine.socketEvent(sockets.fd, ev, now);
  };
  return { engine, sockets, sink, run, receive, now: () => now, at: (t: number) => (now = t) };
}

describe('RIPv2 engine', () => {
  test('start: one socket on port 520, 224.0.0.9 joined on each interface, a whole-table request and the table on each', () => {
    const r = v4rig();
    r.engine.setLocalRoutes(
      [
        { network: parseIpv4('10.0.1.0'), length: 24, metric: 1, tag: 0, origin: 'connected' },
        { network: parseIpv4('10.0.2.0'), length: 24, metric: 1, tag: 0, origin: 'connected' },
      ],
      0,
    );
    r.engine.start(0);
    assert.deepEqual(r.sockets.log, [
      'socket dgram 4',
      'SO_REUSEADDR 1',
      'IP_MULTICAST_LOOP 0',
      'IP_MULTICAST_TTL 1',
      'bind 0.0.0.0:520',
      'IP_ADD_MEMBERSHIP 224.0.0.9@eth0',
      'IP_ADD_MEMBERSHIP 224.0.0.9@eth1',
    ]);
    assert.deepEqual(
      r.sockets.take().map((s) => `${show4(s)} from ${s.src}`),
      [
        'eth0>224.0.0.9:520 request * from 10.0.1.1',
        'eth0>224.0.0.9:520 response 10.0.1.0/24=1 10.0.2.0/24=1 from 10.0.1.1',
        'eth1>224.0.0.9:520 request * from 10.0.2.1',
        'eth1>224.0.0.9:520 response 10.0.1.0/24=1 10.0.2.0/24=1 from 10.0.2.1',
      ],
    );
  });

  test('a learned route: into the sink with the cost added, a triggered update (poisoned reverse back), timeout at 180 s, garbage at +120 s', () => {
    const r = v4rig();
    r.engine.start(0);
    r.sockets.take();
    r.at(1000);
    r.receive('10.0.1.2', [e4('192.168.5.0', 24, 2)]);
    assert.deepEqual(r.sink.log, ['1s + 192.168.5.0/24 via 10.0.1.2 if0 metric 3']);
    // Triggered at once (no update sent before), then the regular ones; the neighbour keeps quiet.
    const sent = r.run(400_000);
    const lines = sent.filter((l) => l.includes('192.168.5.0'));
    assert.equal(lines[0], '1s eth0>224.0.0.9:520 response 192.168.5.0/24=16');
    assert.equal(lines[1], '1s eth1>224.0.0.9:520 response 192.168.5.0/24=3');
    // Regular updates every 30 s ± 5 s.
    const times = sent.filter((l) => l.includes('eth1') && l.includes('=3')).map((l) => Number.parseFloat(l));
    for (let k = 2; k < times.length; k++) {
      const gap = times[k]! - times[k - 1]!;
      assert.ok(gap >= 25 && gap <= 35, `update interval ${gap}`);
    }
    // Timed out 180 s after it was heard: withdrawn, advertised unreachable on both interfaces
    // (triggered), then forgotten 120 s later.
    assert.deepEqual(r.sink.log, ['1s + 192.168.5.0/24 via 10.0.1.2 if0 metric 3', '181s - 192.168.5.0/24']);
    assert.ok(sent.includes('181s eth1>224.0.0.9:520 response 192.168.5.0/24=16'));
    const last = sent.filter((l) => l.includes('192.168.5.0')).at(-1)!;
    assert.ok(Number.parseFloat(last) <= 301, last);
    assert.equal(r.engine.show(r.now()).routes.length, 0);
  });

  test('refreshes keep it; a better metric from another router replaces it, a worse one does not; its own router may make it worse', () => {
    const r = v4rig();
    r.engine.start(0);
    r.receive('10.0.1.2', [e4('192.168.5.0', 24, 5)]);
    r.at(100_000);
    r.receive('10.0.1.2', [e4('192.168.5.0', 24, 5)]);
    r.at(200_000);
    r.run(200_000);
    assert.equal(r.sink.routes.get('192.168.5.0/24'), 'via 10.0.1.2 if0 metric 6');
    r.receive('10.0.2.2', [e4('192.168.5.0', 24, 7)], { ifIndex: 1 });
    assert.equal(r.sink.routes.get('192.168.5.0/24'), 'via 10.0.1.2 if0 metric 6');
    r.receive('10.0.2.2', [e4('192.168.5.0', 24, 2)], { ifIndex: 1 });
    assert.equal(r.sink.routes.get('192.168.5.0/24'), 'via 10.0.2.2 if1 metric 3');
    r.receive('10.0.2.2', [e4('192.168.5.0', 24, 9)], { ifIndex: 1 });
    assert.equal(r.sink.routes.get('192.168.5.0/24'), 'via 10.0.2.2 if1 metric 10');
    // Metric 16 from its router: deleted at once.
    r.receive('10.0.2.2', [e4('192.168.5.0', 24, 16)], { ifIndex: 1 });
    assert.equal(r.sink.routes.has('192.168.5.0/24'), false);
    // A next hop on the link is used; one off the link is not.
    r.receive('10.0.1.2', [
      e4('192.168.6.0', 24, 1, parseIpv4('10.0.1.77')),
      e4('192.168.7.0', 24, 1, parseIpv4('8.8.8.8')),
    ]);
    assert.equal(r.sink.routes.get('192.168.6.0/24'), 'via 10.0.1.77 if0 metric 2');
    assert.equal(r.sink.routes.get('192.168.7.0/24'), 'via 10.0.1.2 if0 metric 2');
  });

  test('triggered updates are held 1–5 s after the previous one and carry only the changed routes', () => {
    const r = v4rig();
    r.engine.start(0);
    r.run(2000);
    r.at(2000);
    r.receive('10.0.1.2', [e4('192.168.1.0', 24, 1)]);
    let sent = r.run(2000);
    assert.deepEqual(sent, [
      '2s eth0>224.0.0.9:520 response 192.168.1.0/24=16',
      '2s eth1>224.0.0.9:520 response 192.168.1.0/24=2',
    ]);
    r.at(2500);
    r.receive('10.0.1.2', [e4('192.168.2.0', 24, 1)]);
    sent = r.run(8000);
    const t = sent.map((l) => Number.parseFloat(l));
    assert.equal(sent.length, 2);
    assert.ok(t[0]! >= 3 && t[0]! <= 7, `held until ${t[0]}`);
    assert.match(sent[1]!, /eth1.* 192\.168\.2\.0\/24=2$/, 'only the changed route');
  });

  test('split horizon: simple leaves the route out, none sends it back as it is', () => {
    for (const [mode, want] of [
      ['simple', []],
      ['none', ['eth0>224.0.0.9:520 response 192.168.1.0/24=2']],
    ] as const) {
      const r = v4rig({ interfaces: [iface('eth0', 0, { splitHorizon: mode }), iface('eth1', 1)] });
      r.engine.start(0);
      r.run(0);
      r.receive('10.0.1.2', [e4('192.168.1.0', 24, 1)]);
      const sent = r.run(0).map((l) => l.slice(3));
      assert.deepEqual(
        sent.filter((l) => l.startsWith('eth0')),
        want,
        mode,
      );
    }
  });

  test('requests: the whole table from port 520 with split horizon, specific entries from another port without it', () => {
    const r = v4rig();
    r.engine.setLocalRoutes(
      [{ network: parseIpv4('10.0.2.0'), length: 24, metric: 1, tag: 0, origin: 'connected' }],
      0,
    );
    r.engine.start(0);
    r.receive('10.0.1.2', [e4('192.168.1.0', 24, 1)]);
    r.run(0);
    const whole = encodeRip2(RIP_REQUEST, [], null, true);
    r.engine.socketEvent(
      3,
      r.sockets.deliver({ bytes: whole, from: parseIpv4('10.0.1.2'), port: 520, ifIndex: 0 }),
      0,
    );
    assert.deepEqual(
      r.sockets.take().map((s) => show4(s)),
      ['if0>10.0.1.2:520 response 10.0.2.0/24=1 192.168.1.0/24=16'],
    );
    const specific = encodeRip2(RIP_REQUEST, [e4('192.168.1.0', 24, 16), e4('172.16.0.0', 16, 16)], null);
    r.engine.socketEvent(
      3,
      r.sockets.deliver({ bytes: specific, from: parseIpv4('10.0.1.9'), port: 40000, ifIndex: 0 }),
      0,
    );
    assert.deepEqual(
      r.sockets.take().map((s) => show4(s)),
      ['if0>10.0.1.9:40000 response 192.168.1.0/24=2 172.16.0.0/16=16'],
    );
  });

  test('drops by reason: not from port 520, not from the link, from our own address, on no RIP interface, bad version', () => {
    const r = v4rig();
    r.engine.start(0);
    r.receive('10.0.1.2', [e4('192.168.1.0', 24, 1)], { port: 5000 });
    r.receive('10.0.9.2', [e4('192.168.1.0', 24, 1)]);
    r.receive('10.0.1.1', [e4('192.168.1.0', 24, 1)]);
    r.receive('10.0.1.2', [e4('192.168.1.0', 24, 1)], { ifIndex: 5 });
    const v1 = encodeRip2(RIP_RESPONSE, [e4('192.168.1.0', 24, 1)], null);
    v1[1] = 1;
    r.engine.socketEvent(
      3,
      r.sockets.deliver({ bytes: v1, from: parseIpv4('10.0.1.2'), port: 520, ifIndex: 0 }),
      0,
    );
    r.receive('10.0.1.2', [e4('192.168.1.0', 24, 1), e4('127.0.0.0', 8, 1)]);
    const s = r.engine.show(0);
    assert.deepEqual(
      Object.entries(s.counters.drops).filter(([, n]) => n > 0),
      [
        ['version', 1],
        ['prefix', 1],
        ['port', 1],
        ['source', 1],
        ['own', 1],
        ['interface', 1],
      ],
    );
    assert.equal(s.interfaces[0]!.drops.port, 1);
    assert.deepEqual([...r.sink.routes.keys()], ['192.168.1.0/24']);
    assert.deepEqual(
      s.neighbors.map((n) => [n.address, n.responses, n.badRoutes]),
      [['10.0.1.2', 1, 1]],
    );
  });

  test('authentication: signed updates with the first key and a growing sequence; unsigned, wrong or replayed ones dropped', () => {
    const md5: RipKey = { id: 1, algorithm: 'md5', secret: ascii('s3cret') };
    const r = v4rig({ interfaces: [iface('eth0', 0, { keys: [md5] }), iface('eth1', 1)] });
    r.engine.setLocalRoutes(
      [{ network: parseIpv4('10.0.2.0'), length: 24, metric: 1, tag: 0, origin: 'connected' }],
      0,
    );
    r.engine.start(0);
    const sent = r.sockets.take().filter((s) => s.mcastIf === 'eth0');
    const seqs = sent.map((s) => {
      const p = parseRip2(s.bytes, 0, s.bytes.length, [md5]);
      assert.ok(p.ok, 'signed with the key');
      return p.message.auth!.sequence;
    });
    assert.ok(seqs[1]! > seqs[0]!);
    r.receive('10.0.1.2', [e4('192.168.1.0', 24, 1)]);
    r.receive('10.0.1.2', [e4('192.168.2.0', 24, 1)], { key: { ...md5, secret: ascii('wrong') } });
    r.receive('10.0.1.2', [e4('192.168.3.0', 24, 1)], { key: md5, seq: 10 });
    r.receive('10.0.1.2', [e4('192.168.4.0', 24, 1)], { key: md5, seq: 9 });
    r.receive('10.0.1.2', [e4('192.168.5.0', 24, 1)], { key: md5, seq: 10 });
    assert.deepEqual([...r.sink.routes.keys()].sort(), ['192.168.3.0/24', '192.168.5.0/24']);
    assert.equal(r.engine.show(0).interfaces[0]!.drops.auth, 3);
    assert.equal(r.engine.show(0).neighbors[0]!.sequence, 10);
  });

  test('passive: receives, sends nothing, answers no request', () => {
    const r = v4rig({ interfaces: [iface('eth0', 0, { passive: true }), iface('eth1', 1)] });
    r.engine.start(0);
    r.receive('10.0.1.2', [e4('192.168.1.0', 24, 1)]);
    const sent = r.run(100_000);
    assert.ok(sent.length > 0);
    assert.ok(
      sent.every((l) => l.includes('eth1')),
      sent.join('\n'),
    );
    assert.ok(r.sink.routes.has('192.168.1.0/24'));
  });

  test('in place: a changed cost applies to what is received next, the other interface untouched; a removed interface takes its routes', () => {
    const r = v4rig();
    r.engine.start(0);
    r.receive('10.0.1.2', [e4('192.168.1.0', 24, 1)]);
    r.receive('10.0.2.2', [e4('192.168.2.0', 24, 1)], { ifIndex: 1 });
    r.run(0);
    r.sockets.log.length = 0;
    assert.equal(
      r.engine.reconfigure(
        { interfaces: [iface('eth0', 0, { cost: 5 }), iface('eth1', 1)], timers: TIMERS },
        0,
      ),
      true,
    );
    assert.deepEqual(r.sockets.log, [], 'no socket call: nothing restarted');
    r.receive('10.0.1.2', [e4('192.168.1.0', 24, 1)]);
    assert.equal(r.sink.routes.get('192.168.1.0/24'), 'via 10.0.1.2 if0 metric 6');
    assert.equal(r.sink.routes.get('192.168.2.0/24'), 'via 10.0.2.2 if1 metric 2');
    r.engine.reconfigure({ interfaces: [iface('eth0', 0, { cost: 5 })], timers: TIMERS }, 0);
    assert.deepEqual(r.sockets.log, ['IP_DROP_MEMBERSHIP 224.0.0.9@eth1']);
    assert.equal(r.sink.routes.has('192.168.2.0/24'), false);
  });

  test('an interface going down takes the routes learned on it; stop withdraws everything and poisons our own', () => {
    const r = v4rig();
    r.engine.setLocalRoutes(
      [{ network: parseIpv4('10.0.2.0'), length: 24, metric: 1, tag: 0, origin: 'connected' }],
      0,
    );
    r.engine.start(0);
    r.receive('10.0.1.2', [e4('192.168.1.0', 24, 1)]);
    r.receive('10.0.2.2', [e4('192.168.2.0', 24, 1)], { ifIndex: 1 });
    r.engine.setInterfaceState(
      1,
      { up: false, addresses: [{ address: parseIpv4('10.0.2.1'), length: 24 }] },
      0,
    );
    assert.deepEqual([...r.sink.routes.keys()], ['192.168.1.0/24']);
    r.run(0);
    r.engine.stop(1000);
    assert.deepEqual([...r.sink.routes.keys()], []);
    const last = r.sockets.take().map((s) => show4(s));
    assert.ok(last.includes('eth0>224.0.0.9:520 response 10.0.2.0/24=16'), last.join('\n'));
    assert.equal(r.sockets.log.at(-1), 'close');
  });
});

describe('RIPng engine', () => {
  const LL0 = parseIpv6('fe80::1');
  function v6rig() {
    const sockets = new FakeRipSockets();
    const sink = new LogSink<Uint8Array>();
    const engine = new RipEngine<Uint8Array>({
      name: 'ripng',
      family: 6,
      sockets,
      sink,
      config: { interfaces: [iface('eth0', 0), iface('eth1', 1)], timers: TIMERS },
      random: new SeqRandom(9),
    });
    engine.setInterfaceState(
      0,
      {
        up: true,
        addresses: [
          { address: LL0, length: 64 },
          { address: parseIpv6('2001:db8:1::1'), length: 64 },
        ],
      },
      0,
    );
    engine.setInterfaceState(1, { up: true, addresses: [{ address: parseIpv6('fe80::2'), length: 64 }] }, 0);
    const receive = (
      from: string,
      entries: RipEntry<Uint8Array>[],
      opts: { port?: number; hopLimit?: number; ifIndex?: number } = {},
    ) => {
      const bytes = encodeRipng(RIP_RESPONSE, entries);
      engine.socketEvent(
        3,
        sockets.deliver({
          bytes,
          from: parseIpv6(from),
          port: opts.port ?? 521,
          ifIndex: opts.ifIndex ?? 0,
          hopLimit: opts.hopLimit ?? 255,
        }),
        0,
      );
    };
    return { engine, sockets, sink, receive };
  }
  const e6 = (net: string, length: number, metric: number): RipEntry<Uint8Array> => ({
    network: parseIpv6(net),
    length,
    metric,
    nextHop: new Uint8Array(16),
    tag: 0,
  });

  test('socket on [::]:521, hop limit 255, ff02::9 joined; sent from the link-local address to the interface zone', () => {
    const r = v6rig();
    r.engine.setLocalRoutes(
      [{ network: parseIpv6('2001:db8:1::'), length: 64, metric: 1, tag: 0, origin: 'connected' }],
      0,
    );
    r.engine.start(0);
    assert.deepEqual(r.sockets.log, [
      'socket dgram 6',
      'SO_REUSEADDR 1',
      'IPV6_V6ONLY 1',
      'IPV6_MULTICAST_HOPS 255',
      'IPV6_UNICAST_HOPS 255',
      'IPV6_MULTICAST_LOOP 0',
      'bind [::]:521',
      'IPV6_JOIN_GROUP ff02::9@eth0',
      'IPV6_JOIN_GROUP ff02::9@eth1',
    ]);
    assert.deepEqual(r.sockets.take().map(show6), [
      'if0>ff02::9:521 from fe80::1 request *',
      'if0>ff02::9:521 from fe80::1 response 2001:db8:1::/64=1',
      'if1>ff02::9:521 from fe80::2 request *',
      'if1>ff02::9:521 from fe80::2 response 2001:db8:1::/64=1',
    ]);
  });

  test('responses only from a link-local source with hop limit 255 on port 521', () => {
    const r = v6rig();
    r.engine.start(0);
    r.receive('fe80::99', [e6('2001:db8:9::', 48, 2)], { hopLimit: 64 });
    r.receive('2001:db8:1::99', [e6('2001:db8:9::', 48, 2)]);
    r.receive('fe80::99', [e6('2001:db8:9::', 48, 2)], { port: 1000 });
    r.receive('fe80::1', [e6('2001:db8:9::', 48, 2)]);
    assert.equal(r.sink.routes.size, 0);
    r.receive('fe80::99', [e6('2001:db8:9::', 48, 2)]);
    assert.deepEqual([...r.sink.routes], [['2001:db8:9::/48', 'via fe80::99 if0 metric 3']]);
    const d = r.engine.show(0).counters.drops;
    assert.deepEqual([d.hopLimit, d.source, d.port, d.own], [1, 1, 1, 1]);
  });
});
