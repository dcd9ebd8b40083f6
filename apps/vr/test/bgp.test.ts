// BGP in the VR (issue 11): two VRs on one in-memory pipe, each running the engine on its own
// stack's TCP, real timers. Checks the wiring: routes into the RIB and FIB, `networks` and
// `redistribute`, the config applied in place (policy change without a reset, BGP added and
// removed), `show.bgp` and `show.routes`.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { parseIpv4 } from '@nexthop/addr';
import type { InterfaceConfig } from '@nexthop/config';
import { createPipePair } from '@nexthop/driver-pipe';
import type { Link } from '@nexthop/interface';
import { waitFor } from '@nexthop/netns';
import { answer, type ControlContext, VirtualRouter } from '@nexthop/vr';
import pino from 'pino';
import { lookup, routerConfig } from './rig.ts';

/** Both VRs' ends of each pipe, by device name: the first VR to open a device gets end A. */
const pipes = new Map<string, [Link, Link, number]>();
function openLink(iface: InterfaceConfig): Link {
  const device = iface.device ?? iface.name;
  let p = pipes.get(device);
  if (p === undefined) {
    const [a, b] = createPipePair({ labelA: `${device}-a`, labelB: `${device}-b` });
    p = [a, b, 0];
    pipes.set(device, p);
  }
  return p[p[2]++ === 0 ? 0 : 1];
}

function configA(importPolicy = 'accept'): string {
  return `routers:
  a:
    interfaces:
      eth0: { driver: pipe, device: ab, addresses: [10.12.0.1/24, 2001:db8:12::1/64], mac: 02:00:00:00:0a:01 }
      lan: { driver: pipe, device: a-lan, addresses: [10.71.0.1/24], mac: 02:00:00:00:0a:02 }
    bgp:
      asn: 65001
      networks: [10.70.0.0/16, 2001:db8:70::/48]
      redistribute: [connected]
      neighbors:
        b: { address: 10.12.0.2, remoteAs: 65002, import: ${importPolicy}, export: accept, connectRetry: 1 }
    policies:
      prefixLists:
        small: [10.80.0.0/16 le 24]
      policies:
        no-small:
          - match: { prefixList: small }
            then: reject
          - set: { localPref: 150 }
`;
}

const CONFIG_B = `routers:
  b:
    interfaces:
      eth0: { driver: pipe, device: ab, addresses: [10.12.0.2/24, 2001:db8:12::2/64], mac: 02:00:00:00:0b:01 }
    routes:
      - { prefix: 10.80.1.0/24, blackhole: true }
    bgp:
      asn: 65002
      redistribute: [static]
      neighbors:
        a: { address: 10.12.0.1, remoteAs: 65001, import: accept, export: accept, connectRetry: 1 }
`;

function startVr(text: string): { vr: VirtualRouter; ctx: ControlContext } {
  const logger = pino({ level: 'silent' });
  const vr = new VirtualRouter({ config: routerConfig(text), logger, openLink });
  vr.start();
  return { vr, ctx: { vr, logger, deviceExists: () => true } };
}

const a = startVr(configA());
const b = startVr(CONFIG_B);
after(() => {
  a.vr.stop();
  b.vr.stop();
  for (const [x, y] of pipes.values()) {
    x.close();
    y.close();
  }
});

interface Summary {
  localAs: number;
  peers: { name: string; state: string; prefixes: { received: number; accepted: number } }[];
}

async function summary(ctx: ControlContext): Promise<Summary> {
  return (await answer(ctx, 'show.bgp', { what: 'summary' })) as Summary;
}

test('the session comes up and each VR forwards over what it learned', async () => {
  await waitFor(async () => (await summary(a.ctx)).peers[0]?.state === 'Established', {
    timeoutMs: 10_000,
    intervalMs: 20,
    what: 'the session between the two VRs',
  });
  // A's networks, its connected LAN (redistribute connected), B's static blackhole (redistribute static).
  await waitFor(async () => lookup(b.vr, parseIpv4('10.70.1.1')) !== null, {
    timeoutMs: 5000,
    intervalMs: 20,
    what: 'B learning 10.70.0.0/16',
  });
  assert.deepEqual(lookup(b.vr, parseIpv4('10.70.1.1')), {
    interface: 'eth0',
    gateway: parseIpv4('10.12.0.1'),
  });
  await waitFor(async () => lookup(b.vr, parseIpv4('10.71.0.9')) !== null, {
    timeoutMs: 5000,
    intervalMs: 20,
    what: 'B learning A’s connected 10.71.0.0/24',
  });
  await waitFor(async () => lookup(a.vr, parseIpv4('10.80.1.1')) !== null, {
    timeoutMs: 5000,
    intervalMs: 20,
    what: 'A learning B’s static 10.80.1.0/24',
  });
  const routes = (await answer(b.ctx, 'show.routes', { family: 6 })) as {
    prefix: string;
    protocol: string;
  }[];
  assert.ok(
    routes.some((r) => r.prefix === '2001:db8:70::/48' && r.protocol === 'bgp'),
    JSON.stringify(routes),
  );
  // The eBGP session's own /24 is connected on both sides: B does not take A's copy over its own.
  const connected = (await answer(b.ctx, 'show.routes', { family: 4 })) as {
    prefix: string;
    protocol: string;
    selected: boolean;
  }[];
  const link = connected.filter((r) => r.prefix === '10.12.0.0/24');
  // show routes PREFIX: that prefix's candidates, every source's.
  const candidates = (await answer(b.ctx, 'show.routes', { prefix: '10.12.0.0/24' })) as typeof connected;
  assert.deepEqual(candidates.map((r) => r.protocol).sort(), link.map((r) => r.protocol).sort());
  assert.ok(candidates.length >= 2, JSON.stringify(candidates));
  await assert.rejects(answer(b.ctx, 'show.routes', { prefix: '10.12.0.0/33' }), /not a prefix/);
  // show routes for ADDRESS: the selected route of the longest prefix holding it (ip route get).
  const used = (await answer(b.ctx, 'show.routes', { for: '10.70.9.9' })) as {
    prefix: string;
    protocol: string;
  }[];
  assert.deepEqual(
    used.map((r) => [r.prefix, r.protocol]),
    [['10.70.0.0/16', 'bgp']],
  );
  const own = (await answer(b.ctx, 'show.routes', { for: '10.12.0.77' })) as {
    prefix: string;
    protocol: string;
  }[];
  assert.deepEqual(
    own.map((r) => [r.prefix, r.protocol]),
    [['10.12.0.0/24', 'connected']],
  );
  const v6 = (await answer(b.ctx, 'show.routes', { for: '2001:db8:70::1' })) as { prefix: string }[];
  assert.deepEqual(
    v6.map((r) => r.prefix),
    ['2001:db8:70::/48'],
  );
  assert.deepEqual(await answer(b.ctx, 'show.routes', { for: '192.0.2.1' }), []);
  await assert.rejects(answer(b.ctx, 'show.routes', { for: 'ten' }), /not an address/);
  assert.ok(
    link.some((r) => r.protocol === 'connected' && r.selected),
    JSON.stringify(link),
  );
  assert.ok(!link.some((r) => r.protocol === 'bgp' && r.selected), JSON.stringify(link));
});

test('show.bgp routes gives the path attributes; neighbors the session', async () => {
  const rows = (await answer(b.ctx, 'show.bgp', { what: 'routes', prefix: '10.70.0.0/16' })) as {
    prefix: string;
    best: boolean;
    from: string;
    asPath: string;
    origin: string;
    nextHop: string;
  }[];
  assert.equal(rows.length, 1, JSON.stringify(rows));
  assert.equal(rows[0]!.best, true);
  assert.equal(rows[0]!.from, 'a');
  assert.equal(rows[0]!.asPath, '65001');
  assert.equal(rows[0]!.origin, 'igp');
  assert.equal(rows[0]!.nextHop, '10.12.0.1');
  const connected = (await answer(b.ctx, 'show.bgp', { what: 'routes', prefix: '10.71.0.0/24' })) as {
    origin: string;
  }[];
  assert.equal(connected[0]?.origin, 'incomplete', 'redistributed routes are INCOMPLETE, as FRR marks them');
  const neighbors = (await answer(a.ctx, 'show.bgp', { what: 'neighbors', neighbor: 'b' })) as {
    name: string;
    remoteAs: number;
  }[];
  assert.deepEqual(
    neighbors.map((n) => [n.name, n.remoteAs]),
    [['b', 65002]],
  );
  await assert.rejects(
    answer(a.ctx, 'show.bgp', { what: 'neighbors', neighbor: 'nobody' }),
    /no BGP neighbor/,
  );
  await assert.rejects(answer(a.ctx, 'show.bgp', { what: 'paths' }), /summary, neighbors or routes/);
});

test('a changed import policy applies without a reset: the rejected prefix leaves the FIB and comes back', async () => {
  const establishedBefore = (await answer(a.ctx, 'show.bgp', { what: 'neighbors' })) as {
    counters: { established: number };
  }[];
  const changes = (await answer(a.ctx, 'config.apply', { text: configA('no-small') })) as {
    changes: string[];
  };
  assert.deepEqual(changes.changes, ['bgp neighbor b changed']);
  await waitFor(async () => lookup(a.vr, parseIpv4('10.80.1.1')) === null, {
    timeoutMs: 5000,
    intervalMs: 20,
    what: 'A dropping 10.80.1.0/24 by policy',
  });
  const after = (await answer(a.ctx, 'show.bgp', { what: 'neighbors' })) as {
    state: string;
    counters: { established: number };
  }[];
  assert.equal(after[0]!.state, 'Established');
  assert.equal(after[0]!.counters.established, establishedBefore[0]!.counters.established, 'no reset');
  await answer(a.ctx, 'config.apply', { text: configA() });
  await waitFor(async () => lookup(a.vr, parseIpv4('10.80.1.1')) !== null, {
    timeoutMs: 5000,
    intervalMs: 20,
    what: 'A taking 10.80.1.0/24 back',
  });
});

test('removing the bgp section stops BGP: the peer withdraws what it learned, show.bgp says so', async () => {
  const withoutBgp = CONFIG_B.slice(0, CONFIG_B.indexOf('    bgp:'));
  const changes = (await answer(b.ctx, 'config.apply', { text: withoutBgp })) as { changes: string[] };
  assert.ok(changes.changes.includes('bgp stopped'), JSON.stringify(changes));
  await assert.rejects(answer(b.ctx, 'show.bgp', {}), /BGP is not configured/);
  assert.equal(lookup(b.vr, parseIpv4('10.70.1.1')), null, 'B’s BGP routes left with it');
  await waitFor(async () => lookup(a.vr, parseIpv4('10.80.1.1')) === null, {
    timeoutMs: 5000,
    intervalMs: 20,
    what: 'A losing B’s routes once B’s session closed',
  });
  await answer(b.ctx, 'config.apply', { text: CONFIG_B });
  await waitFor(async () => lookup(b.vr, parseIpv4('10.70.1.1')) !== null, {
    timeoutMs: 10_000,
    intervalMs: 20,
    what: 'B learning again once BGP is back',
  });
});
