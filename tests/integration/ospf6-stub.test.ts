// Issue 12: an OSPFv3 stub area (RFC 2328 §3.6, its default ::/0 as RFC 5340 §A.4.5 describes). The VR is the area border
// router between FRR ospf6d (area 0, redistributing a static route) and BIRD (`ospf v3`, area 1,
// `stub yes`). BIRD gets no AS-External LSA and reaches the rest by the VR's ::/0 Inter-Area-Prefix
// LSA at defaultCost.
//
//   FRR lan0 2001:db8:47:201::1/64 ── FRR ── area 0 ── VR ── area 1 (stub) ── BIRD ── BIRD lan0 2001:db8:47:202::1/64
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from '@nexthop/control';
import { type Netns, parsePing, waitFor } from '@nexthop/netns';
import { type BgpPeerNs, type BgpTopology, bgpTopology } from '../lib/bgp-topology.ts';
import { type RunningBird, startBird } from '../lib/bird.ts';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { type RunningFrr, startFrr } from '../lib/frr.ts';
import { type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

const vrConfig = (r0: string, r1: string) => `routers:
  core:
    interfaces:
      eth0: { driver: afpacket, device: ${r0}, addresses: [10.47.1.1/24, 2001:db8:47:1::1/64] }
      eth1: { driver: afpacket, device: ${r1}, addresses: [10.47.2.1/24, 2001:db8:47:2::1/64] }
    ospf6:
      routerId: 10.47.255.1
      spf: { delay: 50, hold: 500 }
      areas:
        0:
          interfaces:
            eth0: { priority: 100, cost: 10, helloInterval: 1, deadInterval: 4 }
        1:
          stub: true
          defaultCost: 25
          interfaces:
            eth1: { priority: 100, cost: 10, helloInterval: 1, deadInterval: 4 }
`;

const frrConfig = (dev: string) => `hostname frr
ipv6 route 2001:db8:47:210::/64 blackhole
interface ${dev}
 ipv6 ospf6 area 0.0.0.0
 ipv6 ospf6 hello-interval 1
 ipv6 ospf6 dead-interval 4
 ipv6 ospf6 cost 10
interface lan0
 ipv6 ospf6 area 0.0.0.0
 ipv6 ospf6 passive
 ipv6 ospf6 cost 10
router ospf6
 ospf6 router-id 10.47.0.2
 redistribute static
 timers throttle spf 0 50 500
`;

const birdConfig = (dev: string) => `router id 10.47.0.3;
protocol device { scan time 1; }
protocol kernel { ipv6 { import none; export where source ~ [RTS_OSPF, RTS_OSPF_IA, RTS_OSPF_EXT1, RTS_OSPF_EXT2]; }; }
protocol ospf v3 o6 {
  tick 1;
  ipv6 { import all; export none; };
  area 1 {
    stub yes;
    interface "${dev}" { type broadcast; priority 10; cost 10; hello 1; dead 4; wait 4; };
    interface "lan0" { stub yes; cost 10; };
  };
}
`;

describe('OSPFv3: a stub area behind the VR (ABR), BIRD in it, FRR an ASBR in the backbone', () => {
  let topo: BgpTopology;
  let f: Netns;
  let b: Netns;
  let frr: RunningFrr;
  let bird: RunningBird;
  let vr: RunningVr;

  before(async () => {
    topo = await bgpTopology([
      { tag: 's6f', link4: '10.47.1.2/24', link6: '2001:db8:47:1::2/64', lan6: '2001:db8:47:201::1/64' },
      { tag: 's6b', link4: '10.47.2.2/24', link6: '2001:db8:47:2::2/64', lan6: '2001:db8:47:202::1/64' },
    ]);
    const [pf, pb] = topo.peers as [BgpPeerNs, BgpPeerNs];
    f = pf.ns;
    b = pb.ns;
    for (const ns of [f, b]) await ns.sysctl({ 'net.ipv6.conf.all.forwarding': '1' });
    [vr, frr, bird] = await Promise.all([
      startVr(topo.r, 'core', vrConfig(pf.vrDevice, pb.vrDevice)),
      startFrr(f, frrConfig(pf.device), ['ospf6d', 'staticd']),
      startBird(b, birdConfig(pb.device)),
    ]);
  });

  after(async () => {
    await vr?.stop();
    await frr?.stop();
    await bird?.stop();
    await topo?.destroy();
  });

  test('BIRD has ::/0 from the VR and no externals; FRR unaffected; a ping6 over the default', async () => {
    const debug = async () =>
      `${await bird.birdc('show ospf neighbors o6').catch(() => '')}\n${await bird.birdc('show ospf lsadb o6').catch(() => '')}\n${await frr.vtysh('show ipv6 ospf6 database')}\n${JSON.stringify(await request(vr.control, 'show.ospf', { version: 3, what: 'database' }))}\n${JSON.stringify(await request(vr.control, 'show.ospf', { version: 3 }))}`;
    await waitFor(async () => /via fe80:/.test(await bird.birdc('show route ::/0').catch(() => '')), {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'BIRD default route',
    }).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await debug()}`);
    });
    const birdDefault = await bird.birdc('show route ::/0 all');
    assert.match(birdDefault, /OSPF-IA/, birdDefault);
    assert.match(birdDefault, /OSPF\.metric1: 35\b/, birdDefault);
    // The VR has FRR's external; FRR has BIRD's LAN, inter-area (ospf6d's IE), and no default.
    await waitFor(
      async () => {
        const routes = (await request(vr.control, 'show.ospf', { version: 3, what: 'routes' })) as {
          prefix: string;
          type: string;
        }[];
        return routes.some((r) => r.prefix === '2001:db8:47:210::/64' && r.type === 'external-2');
      },
      { timeoutMs: 30_000, intervalMs: 500, what: "the VR's route to FRR's external" },
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await debug()}`);
    });
    await waitFor(async () => /N IE 2001:db8:47:202::\/64/.test(await frr.vtysh('show ipv6 ospf6 route')), {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: "FRR's inter-area route to BIRD's LAN",
    });
    const frrRoutes = await frr.vtysh('show ipv6 ospf6 route');
    assert.doesNotMatch(frrRoutes, /::\/0/, frrRoutes);
    // BIRD: no external LSA, no route to it (well past the VR's having it).
    await new Promise((r) => setTimeout(r, 3000));
    const lsadb = await bird.birdc('show ospf lsadb o6');
    assert.doesNotMatch(lsadb, /2001:db8:47:210/, lsadb);
    assert.doesNotMatch(await bird.birdc('show route 2001:db8:47:210::/64').catch(() => ''), /OSPF/);
    const birdRoutes = await bird.birdc('show route protocol o6');
    assert.doesNotMatch(birdRoutes, /OSPF-E[12]/, birdRoutes);
    const show = (await request(vr.control, 'show.ospf', { version: 3 })) as {
      areas: { id: string; stub: boolean }[];
      counters: { drops: Record<string, number> };
    };
    assert.ok(show.areas.some((a) => a.id === '0.0.0.1' && a.stub));
    assert.equal(show.counters.drops.stub_mismatch ?? 0, 0);
    const ping = async () =>
      b.exec(
        'ping',
        ['-6', '-n', '-c', '3', '-i', '0.2', '-W', '2', '-I', '2001:db8:47:202::1', '2001:db8:47:201::1'],
        { timeoutMs: 20_000 },
      );
    await waitFor(async () => parsePing((await ping()).stdout).received === 3, {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: 'ping 2001:db8:47:202::1 → 2001:db8:47:201::1 over the default route',
    });
  });
});
