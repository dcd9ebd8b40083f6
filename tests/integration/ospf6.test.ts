// Issue 12: OSPFv3 (RFC 5340) in a VR against FRR ospf6d and BIRD (`ospf v3`), read from the peers'
// side.
//
//   FRR lan0 2001:db8:42:201::1/64                      BIRD lan0 2001:db8:42:202::1/64
//   FRR 2001:db8:42:1::2/64 ── VR eth0 (broadcast) ── VR ── eth1 (broadcast) ── BIRD 2001:db8:42:2::2/64
//                              2001:db8:42:1::1/64         2001:db8:42:2::1/64
//
// The VR's namespace kernel has no addresses and does not forward: what crosses it was routed by the
// VR over the routes OSPFv3 learned (next hops the peers' link-local addresses). Hello 1 s, dead 4 s.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Netns, parsePing, waitFor } from '@nexthop/netns';
import { type BgpPeerNs, type BgpTopology, bgpTopology } from '../lib/bgp-topology.ts';
import { type RunningBird, startBird } from '../lib/bird.ts';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { type RunningFrr, startFrr } from '../lib/frr.ts';
import { type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

const CLI_MAIN = join(import.meta.dirname, '../../apps/cli/src/main.ts');

const vrConfig = (r0: string, r1: string) => `routers:
  core:
    interfaces:
      eth0: { driver: afpacket, device: ${r0}, addresses: [10.42.1.1/24, 2001:db8:42:1::1/64] }
      eth1: { driver: afpacket, device: ${r1}, addresses: [10.42.2.1/24, 2001:db8:42:2::1/64] }
    ospf6:
      routerId: 10.42.255.1
      spf: { delay: 50, hold: 500 }
      areas:
        0:
          interfaces:
            eth0: { priority: 100, cost: 10, helloInterval: 1, deadInterval: 4 }
            eth1: { priority: 100, cost: 10, helloInterval: 1, deadInterval: 4 }
`;

const frrConfig = (dev: string) => `hostname frr
interface ${dev}
 ipv6 ospf6 area 0.0.0.0
 ipv6 ospf6 hello-interval 1
 ipv6 ospf6 dead-interval 4
 ipv6 ospf6 priority 50
 ipv6 ospf6 cost 10
interface lan0
 ipv6 ospf6 area 0.0.0.0
 ipv6 ospf6 passive
 ipv6 ospf6 cost 10
router ospf6
 ospf6 router-id 10.42.0.2
 timers throttle spf 0 50 500
`;

const birdConfig = (dev: string) => `router id 10.42.0.3;
protocol device { scan time 1; }
protocol kernel { ipv6 { import none; export where source ~ [RTS_OSPF, RTS_OSPF_IA, RTS_OSPF_EXT1, RTS_OSPF_EXT2]; }; }
protocol ospf v3 o6 {
  tick 1;
  ipv6 { import all; export none; };
  area 0 {
    interface "${dev}" { type broadcast; priority 10; cost 10; hello 1; dead 4; wait 4; };
    interface "lan0" { stub yes; cost 10; };
  };
}
`;

async function cli(runDir: string, args: string[]): Promise<string> {
  const r = await promisify(execFile)(process.execPath, [CLI_MAIN, ...args, '--run-dir', runDir]);
  return r.stdout;
}

async function request(
  vr: RunningVr,
  method: string,
  params: Record<string, unknown> = {},
): Promise<unknown> {
  const { request: req } = await import('@nexthop/control');
  return req(vr.control, method, params);
}

/** FRR ospf6d's neighbours as "router-id state/role" lines. */
async function frrNeighbors(frr: RunningFrr): Promise<string> {
  return frr.vtysh('show ipv6 ospf6 neighbor');
}

/** FRR's kernel-installed OSPFv3 route for a prefix: its next hops (link-local) or []. */
async function frrRoute(frr: RunningFrr, prefix: string): Promise<string[]> {
  const out = await frr.json<
    Record<string, { protocol: string; nexthops: { ip?: string; active?: boolean }[] }[]>
  >(`show ipv6 route ${prefix} json`);
  return (out[prefix] ?? [])
    .filter((r) => r.protocol === 'ospf6')
    .flatMap((r) => r.nexthops.filter((h) => h.active !== false).map((h) => h.ip ?? 'direct'));
}

async function birdRoute(bird: RunningBird, prefix: string): Promise<string | null> {
  const out = await bird.birdc(`show route ${prefix}`).catch(() => '');
  const m = /via (fe80:[0-9a-f:]+)/.exec(out);
  return m === null ? null : m[1]!;
}

describe('OSPFv3: a VR between FRR ospf6d and BIRD', () => {
  let topo: BgpTopology;
  let f: Netns;
  let b: Netns;
  let frr: RunningFrr;
  let bird: RunningBird;
  let vr: RunningVr;
  let fDev: string;

  before(async () => {
    topo = await bgpTopology([
      { tag: 'o6f', link4: '10.42.1.2/24', link6: '2001:db8:42:1::2/64', lan6: '2001:db8:42:201::1/64' },
      { tag: 'o6b', link4: '10.42.2.2/24', link6: '2001:db8:42:2::2/64', lan6: '2001:db8:42:202::1/64' },
    ]);
    const [pf, pb] = topo.peers as [BgpPeerNs, BgpPeerNs];
    f = pf.ns;
    b = pb.ns;
    fDev = pf.device;
    const bDev = pb.device;
    for (const ns of [f, b]) await ns.sysctl({ 'net.ipv6.conf.all.forwarding': '1' });
    [vr, frr, bird] = await Promise.all([
      startVr(topo.r, 'core', vrConfig(pf.vrDevice, pb.vrDevice)),
      startFrr(f, frrConfig(fDev), ['ospf6d']),
      startBird(b, birdConfig(bDev)),
    ]);
  });

  after(async () => {
    await vr?.stop();
    await frr?.stop();
    await bird?.stop();
    await topo?.destroy();
  });

  test('adjacencies Full from both sides; the VR is DR on both links (priority 100)', async () => {
    await waitFor(
      async () => {
        const fn = await frrNeighbors(frr);
        const bn = await bird.birdc('show ospf neighbors o6');
        return (
          /10\.42\.255\.1\s+\d+\s+[\d:]+\s+Full\/DR/.test(fn) && /10\.42\.255\.1\s+\d+\s+Full\/DR/.test(bn)
        );
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'Full adjacencies as FRR and BIRD see them' },
    ).catch(async (err) => {
      throw new Error(
        `${(err as Error).message}\nFRR: ${await frrNeighbors(frr)}\nBIRD: ${await bird.birdc('show ospf neighbors o6')}\nVR: ${JSON.stringify(await request(vr, 'show.ospf', { version: 3, what: 'neighbors' }))}\n${JSON.stringify(await request(vr, 'show.ospf', { version: 3 }))}\n${vr.log().slice(-3000)}`,
      );
    });
    const nbrs = (await request(vr, 'show.ospf', { version: 3, what: 'neighbors' })) as {
      routerId: string;
      state: string;
      interface: string;
      address: string;
    }[];
    assert.deepEqual(nbrs.map((n) => `${n.routerId} ${n.interface} ${n.state}`).sort(), [
      '10.42.0.2 eth0 Full',
      '10.42.0.3 eth1 Full',
    ]);
    for (const n of nbrs) assert.match(n.address, /^fe80::/);
    const ifs = (await request(vr, 'show.ospf', { version: 3, what: 'interfaces' })) as {
      name: string;
      state: string;
      dr: string;
    }[];
    assert.deepEqual(ifs.map((i) => `${i.name} ${i.state} ${i.dr}`).sort(), [
      'eth0 DR 10.42.255.1',
      'eth1 DR 10.42.255.1',
    ]);
  });

  test('IPv6 routes both ways, and hosts behind FRR and BIRD ping each other over them only', async () => {
    for (const prefix of ['2001:db8:42:202::/64', '2001:db8:42:2::/64'])
      await waitFor(async () => (await frrRoute(frr, prefix)).some((h) => h.startsWith('fe80:')), {
        timeoutMs: 30_000,
        intervalMs: 500,
        what: `FRR route to ${prefix}`,
      }).catch(async (err) => {
        throw new Error(
          `${(err as Error).message}\n${await frr.vtysh('show ipv6 ospf6 database')}\n${await frr.vtysh('show ipv6 ospf6 route')}`,
        );
      });
    for (const prefix of ['2001:db8:42:201::/64', '2001:db8:42:1::/64'])
      await waitFor(async () => (await birdRoute(bird, prefix)) !== null, {
        timeoutMs: 30_000,
        intervalMs: 500,
        what: `BIRD route to ${prefix}`,
      }).catch(async (err) => {
        throw new Error(
          `${(err as Error).message}\n${await bird.birdc('show ospf state o6')}\n${await bird.birdc('show route')}`,
        );
      });
    type Row = { prefix: string; cost: number; nextHops: { gateway: string | null; interface: string }[] };
    // The peers having routes does not mean our SPF has run over their LSAs yet: wait for ours.
    let routes: Row[] = [];
    await waitFor(
      async () => {
        routes = (await request(vr, 'show.ospf', { version: 3, what: 'routes' })) as Row[];
        return ['2001:db8:42:201::/64', '2001:db8:42:202::/64'].every((p) =>
          routes.some((x) => x.prefix === p),
        );
      },
      { timeoutMs: 30_000, intervalMs: 250, what: "the VR's routes to FRR's and BIRD's LANs" },
    );
    const byPrefix = new Map(routes.map((x) => [x.prefix, x]));
    assert.equal(byPrefix.get('2001:db8:42:201::/64')?.cost, 20);
    assert.equal(byPrefix.get('2001:db8:42:201::/64')?.nextHops[0]?.interface, 'eth0');
    assert.match(byPrefix.get('2001:db8:42:201::/64')?.nextHops[0]?.gateway ?? '', /^fe80::/);
    assert.equal(byPrefix.get('2001:db8:42:202::/64')?.nextHops[0]?.interface, 'eth1');
    const shown = (await request(vr, 'show.routes', { family: 6 })) as {
      prefix: string;
      protocol: string;
      distance: number;
      selected: boolean;
    }[];
    for (const prefix of ['2001:db8:42:201::/64', '2001:db8:42:202::/64'])
      assert.ok(
        shown.some((x) => x.prefix === prefix && x.protocol === 'ospf' && x.distance === 110 && x.selected),
        `${prefix}: ${JSON.stringify(shown.filter((x) => x.protocol === 'ospf'))}`,
      );
    for (const [src, dst] of [['2001:db8:42:201::1', '2001:db8:42:202::1']] as const) {
      const ping = async () =>
        f.exec('ping', ['-6', '-n', '-c', '3', '-i', '0.2', '-W', '2', '-I', src, dst], {
          timeoutMs: 20_000,
        });
      await waitFor(async () => parsePing((await ping()).stdout).received === 3, {
        timeoutMs: 30_000,
        intervalMs: 500,
        what: `ping ${src} → ${dst}`,
      });
    }
    const text = await cli(vr.runDir, ['show', 'ospf', 'neighbors', '-6', '--vr', 'core']);
    assert.match(text, /10\.42\.0\.3/);
  });
});
