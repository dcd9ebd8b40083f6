// Issue 12: OSPFv2 in a VR against FRR ospfd and BIRD, read from the peers' side.
//
//        h (10.40.100.2) ── VR "core" eth1 10.40.100.1/24 (passive)
//                           │ eth0 10.40.0.1/24, priority 100
//   ┌─────────── sw: a Linux bridge, the broadcast segment 10.40.0.0/24 ──────────┐
//   │ FRR ospfd 10.40.0.2, priority 50                BIRD 10.40.0.3, priority 10  │
//   └──────────────────────────────────────────────────────────────────────────────┘
//   FRR lan0 10.40.201.1/24                             BIRD lan0 10.40.202.1/24
//   VR eth2 10.40.9.1/30 ── point-to-point, cost 100 ── FRR 10.40.9.2/30
//
// The VR is DR, FRR BDR, BIRD DROther (by priority: all start within one wait interval). The VR's
// namespace kernel has no addresses and does not forward: what crosses it was routed by the VR
// over routes OSPF learned. Hello 1 s, dead 4 s everywhere.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Netns, parsePing, uniqueToken, vethPair, waitFor } from '@nexthop/netns';
import { type RunningBird, startBird } from '../lib/bird.ts';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { type RunningFrr, startFrr } from '../lib/frr.ts';
import { type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

const CLI_MAIN = join(import.meta.dirname, '../../apps/cli/src/main.ts');

const vrConfig = (seg: string, lan: string, p2p: string) => `routers:
  core:
    interfaces:
      eth0: { driver: afpacket, device: ${seg}, addresses: [10.40.0.1/24] }
      eth1: { driver: afpacket, device: ${lan}, addresses: [10.40.100.1/24] }
      eth2: { driver: afpacket, device: ${p2p}, addresses: [10.40.9.1/30] }
    ospf:
      routerId: 10.40.255.1
      spf: { delay: 50, hold: 500 }
      areas:
        0:
          interfaces:
            eth0: { priority: 100, cost: 10, helloInterval: 1, deadInterval: 4 }
            eth1: { passive: true, cost: 10 }
            eth2: { network: point-to-point, cost: 100, helloInterval: 1, deadInterval: 4 }
`;

const frrConfig = (seg: string, p2p: string) => `hostname frr
interface ${seg}
 ip ospf area 0
 ip ospf priority 50
 ip ospf cost 10
 ip ospf hello-interval 1
 ip ospf dead-interval 4
interface ${p2p}
 ip ospf area 0
 ip ospf network point-to-point
 ip ospf cost 100
 ip ospf hello-interval 1
 ip ospf dead-interval 4
interface lan0
 ip ospf area 0
 ip ospf cost 10
router ospf
 ospf router-id 10.40.0.2
 passive-interface lan0
 timers throttle spf 0 50 500
`;

const birdConfig = (seg: string) => `router id 10.40.0.3;
protocol device { scan time 1; }
protocol kernel { ipv4 { import none; export where source ~ [RTS_OSPF, RTS_OSPF_IA, RTS_OSPF_EXT1, RTS_OSPF_EXT2]; }; }
protocol ospf v2 o {
  tick 1;
  ipv4 { import all; export none; };
  area 0 {
    interface "${seg}" { type broadcast; priority 10; cost 10; hello 1; dead 4; wait 4; };
    interface "lan0" { stub yes; cost 10; };
  };
}
`;

interface FrrNeighbor {
  state?: string;
  nbrState?: string;
  ifaceName?: string;
  address?: string;
  ifaceAddress?: string;
}

/** FRR's neighbours: router id → state text ("Full/DR"…), and the interface. */
async function frrNeighbors(frr: RunningFrr): Promise<Map<string, { state: string; iface: string }[]>> {
  const out = await frr.json<{ neighbors?: Record<string, FrrNeighbor[]> }>('show ip ospf neighbor json');
  const m = new Map<string, { state: string; iface: string }[]>();
  for (const [id, list] of Object.entries(out.neighbors ?? {}))
    m.set(
      id,
      list.map((n) => ({ state: n.nbrState ?? n.state ?? '', iface: n.ifaceName ?? '' })),
    );
  return m;
}

/** BIRD's neighbours: router id → state ("Full/DR"…). */
async function birdNeighbors(bird: RunningBird): Promise<Map<string, string>> {
  const out = await bird.birdc('show ospf neighbors');
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 6 && /^\d+\.\d+\.\d+\.\d+$/.test(f[0]!) && /^\d+$/.test(f[1]!)) m.set(f[0]!, f[2]!);
  }
  return m;
}

/** FRR's kernel-installed OSPF route for a prefix: its next hops, or [] when none. */
async function frrRoute(frr: RunningFrr, prefix: string): Promise<string[]> {
  const out = await frr.json<
    Record<string, { protocol: string; nexthops: { ip?: string; active?: boolean }[] }[]>
  >(`show ip route ${prefix} json`);
  const routes = out[prefix] ?? [];
  return routes
    .filter((r) => r.protocol === 'ospf')
    .flatMap((r) => r.nexthops.filter((h) => h.active !== false).map((h) => h.ip ?? 'direct'));
}

async function birdRoute(bird: RunningBird, prefix: string): Promise<string | null> {
  const out = await bird.birdc(`show route ${prefix}`).catch(() => '');
  const m = /via (\d+\.\d+\.\d+\.\d+)/.exec(out);
  return m === null ? null : m[1]!;
}

async function cli(runDir: string, args: string[]): Promise<string> {
  const r = await promisify(execFile)(process.execPath, [CLI_MAIN, ...args, '--run-dir', runDir]);
  return r.stdout;
}

describe('OSPF: a VR with FRR and BIRD on a broadcast segment and a point-to-point link', () => {
  const created: Netns[] = [];
  let r: Netns;
  let f: Netns;
  let b: Netns;
  let h: Netns;
  let frr: RunningFrr;
  let bird: RunningBird;
  let vr: RunningVr;
  const t = uniqueToken();
  const fSeg = `fs-${t}`;
  const fP2p = `fp-${t}`;
  const bSeg = `bs-${t}`;

  before(async () => {
    const sw = await Netns.create('ospfsw');
    r = await Netns.create('ospfr');
    f = await Netns.create('ospff');
    b = await Netns.create('ospfb');
    h = await Netns.create('ospfh');
    created.push(sw, r, f, b, h);
    await sw.execOk('ip', ['link', 'add', 'br0', 'type', 'bridge']);
    await sw.execOk('ip', ['link', 'set', 'br0', 'up']);
    const ports: [Netns, string, string][] = [
      [r, `rs-${t}`, `wr-${t}`],
      [f, fSeg, `wf-${t}`],
      [b, bSeg, `wb-${t}`],
    ];
    for (const [ns, dev, port] of ports) {
      await vethPair(ns, dev, sw, port, { disableIpv6: true });
      await sw.execOk('ip', ['link', 'set', port, 'master', 'br0']);
    }
    await vethPair(r, `rl-${t}`, h, 'eth0', { disableIpv6: true });
    await vethPair(r, `rp-${t}`, f, fP2p, { disableIpv6: true });
    await r.sysctl({ 'net.ipv4.ip_forward': '0' });
    await f.execOk('ip', ['addr', 'add', '10.40.0.2/24', 'dev', fSeg]);
    await f.execOk('ip', ['addr', 'add', '10.40.9.2/30', 'dev', fP2p]);
    await b.execOk('ip', ['addr', 'add', '10.40.0.3/24', 'dev', bSeg]);
    for (const [ns, addr] of [
      [f, '10.40.201.1/24'],
      [b, '10.40.202.1/24'],
    ] as const) {
      await ns.execOk('ip', ['link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1']);
      await ns.execOk('ip', ['link', 'set', 'lan1', 'up']);
      await ns.execOk('ip', ['addr', 'add', addr, 'dev', 'lan0']);
      await ns.execOk('ip', ['link', 'set', 'lan0', 'up']);
    }
    await h.execOk('ip', ['addr', 'add', '10.40.100.2/24', 'dev', 'eth0']);
    await h.execOk('ip', ['route', 'add', 'default', 'via', '10.40.100.1']);
    // All three start within one wait interval (4 s): the election goes by priority.
    [frr, bird, vr] = await Promise.all([
      startFrr(f, frrConfig(fSeg, fP2p), ['ospfd']),
      startBird(b, birdConfig(bSeg)),
      startVr(r, 'core', vrConfig(`rs-${t}`, `rl-${t}`, `rp-${t}`)),
    ]);
  });

  after(async () => {
    await vr?.stop();
    await frr?.stop();
    await bird?.stop();
    await Promise.all(created.map((ns) => ns.destroy()));
  });

  test('adjacencies: the VR is DR, FRR BDR, BIRD DROther, as the priorities say; Full from every side', async () => {
    await waitFor(
      async () => {
        const fn = await frrNeighbors(frr);
        const bn = await birdNeighbors(bird);
        return (
          fn.get('10.40.255.1')?.some((n) => n.state === 'Full/DR') === true &&
          fn.get('10.40.0.3')?.[0]?.state === 'Full/DROther' &&
          bn.get('10.40.255.1') === 'Full/DR' &&
          bn.get('10.40.0.2') === 'Full/BDR'
        );
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'Full adjacencies as FRR and BIRD see them' },
    ).catch(async (err) => {
      throw new Error(
        `${(err as Error).message}\nFRR: ${await frr.vtysh('show ip ospf neighbor')}\nBIRD: ${await bird.birdc('show ospf neighbors')}\nVR: ${JSON.stringify(await vr.call('show.ospf'))}\n${vr.log().slice(-4000)}`,
      );
    });
    // The point-to-point adjacency with FRR.
    const fn = await frrNeighbors(frr);
    assert.ok(
      fn.get('10.40.255.1')?.some((n) => n.state.startsWith('Full') && n.iface.startsWith(fP2p)),
      JSON.stringify([...fn]),
    );
    const ifs = (await request(vr, 'show.ospf', { what: 'interfaces' })) as {
      name: string;
      state: string;
      dr: string;
      bdr: string;
    }[];
    const eth0 = ifs.find((i) => i.name === 'eth0')!;
    assert.deepEqual([eth0.state, eth0.dr, eth0.bdr], ['DR', '10.40.255.1', '10.40.0.2']);
    assert.equal(ifs.find((i) => i.name === 'eth2')!.state, 'Point-to-point');
    const nbrs = (await request(vr, 'show.ospf', { what: 'neighbors' })) as {
      routerId: string;
      state: string;
      interface: string;
      role: string;
    }[];
    assert.deepEqual(nbrs.map((n) => `${n.routerId} ${n.interface} ${n.state} ${n.role}`).sort(), [
      '10.40.0.2 eth0 Full BDR',
      '10.40.0.2 eth2 Full ',
      '10.40.0.3 eth0 Full DROther',
    ]);
    // The VR originates the segment's Network-LSA as DR; FRR and BIRD hold it.
    const frrNet = await frr.vtysh('show ip ospf database network 10.40.0.1');
    assert.match(frrNet, /Advertising Router: 10\.40\.255\.1/);
    const birdDb = await bird.birdc('show ospf state');
    assert.match(birdDb, /network 10\.40\.0\.0\/24/);
  });

  test('routes both ways, and hosts behind different routers ping each other over OSPF routes only', async () => {
    await waitFor(async () => (await frrRoute(frr, '10.40.100.0/24')).includes('10.40.0.1'), {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: 'FRR route to the VR LAN',
    });
    await waitFor(async () => (await birdRoute(bird, '10.40.100.0/24')) === '10.40.0.1', {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: 'BIRD route to the VR LAN',
    });
    type Row = { prefix: string; cost: number; nextHops: { gateway: string | null; interface: string }[] };
    // The peers having ours does not mean our SPF has run over theirs yet: wait for both LANs.
    let routes: Row[] = [];
    await waitFor(
      async () => {
        routes = (await request(vr, 'show.ospf', { what: 'routes' })) as Row[];
        return ['10.40.201.0/24', '10.40.202.0/24'].every((p) => routes.some((x) => x.prefix === p));
      },
      { timeoutMs: 30_000, intervalMs: 250, what: "the VR's routes to FRR's and BIRD's LANs" },
    );
    const byPrefix = new Map(routes.map((x) => [x.prefix, x]));
    assert.deepEqual(byPrefix.get('10.40.201.0/24')?.nextHops, [{ gateway: '10.40.0.2', interface: 'eth0' }]);
    assert.equal(byPrefix.get('10.40.201.0/24')?.cost, 20);
    assert.deepEqual(byPrefix.get('10.40.202.0/24')?.nextHops, [{ gateway: '10.40.0.3', interface: 'eth0' }]);
    // In the RIB and FIB as ospf routes, distance 110.
    const shown = (await request(vr, 'show.routes', { family: 4 })) as {
      prefix: string;
      protocol: string;
      distance: number;
      selected: boolean;
    }[];
    const r201 = shown.find((x) => x.prefix === '10.40.201.0/24');
    assert.equal(r201?.protocol, 'ospf');
    assert.equal(r201?.distance, 110);
    for (const dst of ['10.40.201.1', '10.40.202.1']) {
      const p = parsePing(await h.execOk('ping', ['-c', '3', '-i', '0.2', '-W', '2', dst]));
      assert.equal(p.received, 3, `ping ${dst}`);
    }
    // The CLI shows the same.
    const text = await cli(vr.runDir, ['show', 'ospf', 'neighbors', '--vr', 'core']);
    assert.match(text, /10\.40\.0\.3\s+10\s+Full\s+DROther/);
  });

  test('the segment link to FRR fails: the VR reconverges over the point-to-point link (time reported)', async () => {
    const t0 = Date.now();
    await f.execOk('ip', ['link', 'set', fSeg, 'down']);
    await waitFor(
      async () => {
        const routes = (await request(vr, 'show.ospf', { what: 'routes' })) as {
          prefix: string;
          nextHops: { gateway: string | null }[];
        }[];
        return routes.find((x) => x.prefix === '10.40.201.0/24')?.nextHops[0]?.gateway === '10.40.9.2';
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'VR route to the FRR LAN over the point-to-point link' },
    );
    const vrMs = Date.now() - t0;
    await waitFor(
      async () => {
        const r = await h.exec('ping', ['-c', '1', '-W', '1', '10.40.201.1']);
        return r.code === 0;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'ping over the point-to-point link' },
    );
    const pingMs = Date.now() - t0;
    console.log(
      `# OSPF reconvergence after the FRR segment link failed: VR route ${vrMs} ms, pings again ${pingMs} ms`,
    );
    assert.ok(pingMs < 20_000, `${pingMs} ms`);
    // BIRD learns the FRR LAN through the VR now.
    await waitFor(async () => (await birdRoute(bird, '10.40.201.0/24')) === '10.40.0.1', {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: 'BIRD route to the FRR LAN through the VR',
    });
    // And back.
    await f.execOk('ip', ['link', 'set', fSeg, 'up']);
    await waitFor(
      async () => {
        const routes = (await request(vr, 'show.ospf', { what: 'routes' })) as {
          prefix: string;
          nextHops: { gateway: string | null }[];
        }[];
        return routes.find((x) => x.prefix === '10.40.201.0/24')?.nextHops[0]?.gateway === '10.40.0.2';
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'VR route back over the segment' },
    );
  });

  test('a changed cost is applied in place: the Router-LSA re-originated, no adjacency reset', async () => {
    const before = (await request(vr, 'show.ospf', { what: 'neighbors' })) as {
      routerId: string;
      interface: string;
      stateChanges: number;
    }[];
    const yaml = vrConfig(`rs-${t}`, `rl-${t}`, `rp-${t}`).replace(
      'eth1: { passive: true, cost: 10 }',
      'eth1: { passive: true, cost: 33 }',
    );
    const changes = (await request(vr, 'config.apply', { text: yaml })) as unknown;
    assert.match(JSON.stringify(changes), /ospf interface eth1 changed/);
    await waitFor(async () => (await frrRouteCost(frr, '10.40.100.0/24')) === 43, {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: 'FRR sees the new cost',
    });
    const afterRows = (await request(vr, 'show.ospf', { what: 'neighbors' })) as {
      routerId: string;
      interface: string;
      stateChanges: number;
    }[];
    assert.deepEqual(
      afterRows.map((n) => `${n.routerId} ${n.interface} ${n.stateChanges}`).sort(),
      before.map((n) => `${n.routerId} ${n.interface} ${n.stateChanges}`).sort(),
    );
  });
});

async function frrRouteCost(frr: RunningFrr, prefix: string): Promise<number | null> {
  const out = await frr.json<Record<string, { protocol: string; metric: number }[]>>(
    `show ip route ${prefix} json`,
  );
  return out[prefix]?.find((r) => r.protocol === 'ospf')?.metric ?? null;
}

async function request(
  vr: RunningVr,
  method: string,
  params: Record<string, unknown> = {},
): Promise<unknown> {
  const { request: req } = await import('@nexthop/control');
  return req(vr.control, method, params);
}
