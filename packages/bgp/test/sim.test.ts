// BGP engines on real VR stacks: two routers on one link, each a Stack (packages/stack) whose socket
// layer carries TCP port 179, with a BgpEngine on top. Two eBGP sessions between them, one over
// IPv4 and one over IPv6, each carrying IPv4 and IPv6 unicast (MP-BGP, RFC 4760; the other
// family's next hop configured). A virtual clock jumps to the next deadline of the stacks, the
// engines and the frames in flight; everything is a function of the seeds.
//
//   A  AS 65001  10.0.0.1/24  2001:db8::1/64 ─── 10.0.0.2/24  2001:db8::2/64  AS 65002  B
//      exports 10.1.0.0/16, 2001:db8:1::/48          exports 10.2.0.0/16, 2001:db8:2::/48
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '@nexthop/addr';
import type { FrameOutput } from '@nexthop/interface';
import { EV_ERROR, EV_HANGUP, EV_READABLE, EV_WRITABLE, Stack } from '@nexthop/stack';
import {
  ACCEPT_ALL,
  EV_ERROR as BGP_EV_ERROR,
  EV_HANGUP as BGP_EV_HANGUP,
  EV_READABLE as BGP_EV_READABLE,
  EV_WRITABLE as BGP_EV_WRITABLE,
  BgpEngine,
  type BgpPeerConfig,
  type ImportedRoute,
  type RouteSink,
} from '../src/index.ts';

/** The routes a router imported: "source prefix" → next hop. */
class MapSink implements RouteSink {
  readonly routes = new Map<string, string>();
  update4(source: string, network: number, length: number, route: ImportedRoute<number> | null): void {
    const k = `${source} ${formatIpv4(network)}/${length}`;
    if (route === null) this.routes.delete(k);
    else this.routes.set(k, formatIpv4(route.nextHop));
  }
  update6(
    source: string,
    network: Uint8Array,
    length: number,
    route: ImportedRoute<Uint8Array> | null,
  ): void {
    const k = `${source} ${formatIpv6(network)}/${length}`;
    if (route === null) this.routes.delete(k);
    else this.routes.set(k, formatIpv6(route.nextHop));
  }
  withdrawAll(source: string): void {
    for (const k of [...this.routes.keys()]) if (k.startsWith(`${source} `)) this.routes.delete(k);
  }
  sorted(): string[] {
    return [...this.routes].map(([k, v]) => `${k} via ${v}`).sort();
  }
}

interface Router {
  name: string;
  stack: Stack;
  engine: BgpEngine;
  sink: MapSink;
}

interface Frame {
  at: number;
  seq: number;
  to: number;
  bytes: Uint8Array;
}

const DELAY_MS = 2;

function world(seed: number) {
  let now = 0;
  let seq = 0;
  let linkUp = true;
  let dropped = 0;
  const inFlight: Frame[] = [];
  const trace: string[] = [];
  const routers: Router[] = [];
  const output = (peer: number): FrameOutput => ({
    transmit: (_i, buf, off, len) => {
      if (!linkUp) {
        dropped++;
        return;
      }
      inFlight.push({ at: now + DELAY_MS, seq: seq++, to: peer, bytes: buf.slice(off, off + len) });
    },
  });
  const make = (
    name: string,
    index: number,
    as: number,
    v4: string,
    v6: string,
    peer4: string,
    peer6: string,
    peerAs: number,
  ): Router => {
    const stack = new Stack({ output: output(1 - index), seed: seed * 16 + index, dadTransmits: 0 });
    stack.addInterface({ name: 'eth0', mac: Uint8Array.of(2, 0, 0, 0, 0, index + 1), mtu: 1500 });
    stack.addAddress(0, parseIpv4(v4), 24, 0);
    stack.addAddress6(0, parseIpv6(v6), 64, 0);
    const sink = new MapSink();
    const common = {
      remoteAs: peerAs,
      import: ACCEPT_ALL,
      export: ACCEPT_ALL,
      holdTime: 9,
      connectRetry: 5,
      idleHold: 1,
      families: ['ipv4', 'ipv6'] as const,
    };
    const peers: BgpPeerConfig[] = [
      { ...common, name: 'over4', address: parseIpv4(peer4), nextHop6: parseIpv6(v6) },
      { ...common, name: 'over6', address: parseIpv6(peer6), nextHop4: parseIpv4(v4) },
    ];
    const engine = new BgpEngine({
      name: `bgp-${name}`,
      sockets: stack.sockets,
      sink,
      config: { localAs: as, routerId: parseIpv4(v4), peers },
      onStateChange: (p, from, to, t) => trace.push(`${t} ${name}.${p} ${from}>${to}`),
    });
    const r = { name, stack, engine, sink };
    stack.sockets.onSocketEvent = (fd, ev) => {
      engine.socketEvent(fd, ev, now);
    };
    return r;
  };
  routers.push(make('a', 0, 65001, '10.0.0.1', '2001:db8::1', '10.0.0.2', '2001:db8::2', 65002));
  routers.push(make('b', 1, 65002, '10.0.0.2', '2001:db8::2', '10.0.0.1', '2001:db8::1', 65001));
  const [a, b] = routers as [Router, Router];
  a.engine.announce4(parseIpv4('10.1.0.0'), 16);
  a.engine.announce6(parseIpv6('2001:db8:1::'), 48);
  b.engine.announce4(parseIpv4('10.2.0.0'), 16);
  b.engine.announce6(parseIpv6('2001:db8:2::'), 48);
  for (const r of routers) r.engine.start(now);

  /** Runs until `done` holds or `untilMs` of virtual time pass. */
  const run = (untilMs: number, done: () => boolean = () => false): boolean => {
    const end = now + untilMs;
    for (let steps = 0; steps < 2_000_000; steps++) {
      let next = Infinity;
      for (const r of routers) next = Math.min(next, r.stack.poll(now), r.engine.poll(now));
      if (done()) return true;
      inFlight.sort((x, y) => x.at - y.at || x.seq - y.seq);
      const f = inFlight[0];
      if (f !== undefined && f.at <= now) {
        inFlight.shift();
        routers[f.to]!.stack.receive(0, f.bytes, 0, f.bytes.length, now);
        continue;
      }
      if (f !== undefined) next = Math.min(next, f.at);
      if (next > end) {
        now = end;
        return done();
      }
      now = Math.max(now, next);
    }
    throw new Error('simulation did not settle');
  };
  return {
    a,
    b,
    run,
    trace,
    now: () => now,
    setLink: (up: boolean) => {
      linkUp = up;
    },
    dropped: () => dropped,
  };
}

const ALL_UP = (w: ReturnType<typeof world>) => () =>
  [w.a, w.b].every((r) => r.engine.show(0).peers.every((p) => p.state === 'Established')) &&
  w.a.sink.routes.size === 4 &&
  w.b.sink.routes.size === 4;

test('socket events: the engine and the stack agree on EV_* numbers', () => {
  assert.deepEqual(
    [BGP_EV_READABLE, BGP_EV_WRITABLE, BGP_EV_ERROR, BGP_EV_HANGUP],
    [EV_READABLE, EV_WRITABLE, EV_ERROR, EV_HANGUP],
  );
});

test('sim: eBGP over IPv4 and over IPv6 between two stacks; a link failure takes the routes away, its repair brings them back', () => {
  const w = world(7);
  assert.ok(w.run(60_000, ALL_UP(w)), `sessions up: ${w.trace.join('\n')}`);
  const upAt = w.now();
  if (process.env.BGP_TRACE) console.log(w.trace.join('\n'));
  assert.deepEqual(w.a.sink.sorted(), [
    'over4 10.2.0.0/16 via 10.0.0.2',
    'over4 2001:db8:2::/48 via 2001:db8::2',
    'over6 10.2.0.0/16 via 10.0.0.2',
    'over6 2001:db8:2::/48 via 2001:db8::2',
  ]);
  assert.deepEqual(w.b.sink.sorted(), [
    'over4 10.1.0.0/16 via 10.0.0.1',
    'over4 2001:db8:1::/48 via 2001:db8::1',
    'over6 10.1.0.0/16 via 10.0.0.1',
    'over6 2001:db8:1::/48 via 2001:db8::1',
  ]);
  const show = w.a.engine.show(w.now());
  const over4 = show.peers.find((p) => p.name === 'over4')!;
  assert.deepEqual(over4.capabilities?.families, ['ipv4-unicast', 'ipv6-unicast']);
  assert.equal(over4.holdTime, 9);
  assert.deepEqual(over4.prefixes, { received: 2, accepted: 2, advertised: 2 });

  // Sessions stay up on keepalives alone for a minute.
  w.run(60_000);
  assert.ok(ALL_UP(w)(), 'still up after a minute');

  // The link fails: no NOTIFICATION gets through; the hold timer (9 s) takes each session down.
  w.setLink(false);
  const downAt = w.now();
  assert.ok(
    w.run(20_000, () => w.a.sink.routes.size === 0 && w.b.sink.routes.size === 0),
    'routes withdrawn after the hold time',
  );
  assert.ok(w.now() - downAt <= 9_000 + 100, `withdrawn ${w.now() - downAt} ms after the failure`);
  for (const r of [w.a, w.b]) {
    for (const p of r.engine.show(w.now()).peers) {
      assert.notEqual(p.state, 'Established');
      assert.match(p.lastError ?? '', /hold timer expired/);
      assert.equal((p.counters as { flaps: number }).flaps, 1);
    }
  }
  assert.ok(w.dropped() > 0);

  // Repaired: the sessions come back (ConnectRetry 5 s) and the routes with them.
  w.setLink(true);
  assert.ok(w.run(60_000, ALL_UP(w)), `sessions back: ${w.trace.slice(-12).join('\n')}`);
  assert.equal(w.a.sink.routes.size, 4);
  assert.ok(upAt > 0);
});

test('sim: a seed gives the same run', () => {
  const runOnce = () => {
    const w = world(11);
    w.run(30_000, ALL_UP(w));
    w.setLink(false);
    w.run(15_000);
    w.setLink(true);
    w.run(30_000, ALL_UP(w));
    return w.trace.join('\n');
  };
  assert.equal(runOnce(), runOnce());
});
