// Issue 12: the VR as an OSPFv3 area border router (RFC 5340 §4.4.3.4, §4.4.3.5) between FRR ospf6d
// (area 0) and BIRD (`ospf v3`, area 1).
//
//   FRR lan0 2001:db8:46:201::1/64 ── FRR ── area 0 ── VR ── area 1 ── BIRD ── BIRD lan0 2001:db8:46:202::1/64
//          2001:db8:46:1::2/64 / ::1 (VR eth0)      (VR eth1) 2001:db8:46:2::1 / ::2
//
// Each peer sees the other area's prefixes only through the VR's Inter-Area-Prefix LSAs; BIRD
// redistributes a static route, which FRR reaches by the VR's Inter-Area-Router LSA for BIRD.
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
      eth0: { driver: afpacket, device: ${r0}, addresses: [10.46.1.1/24, 2001:db8:46:1::1/64] }
      eth1: { driver: afpacket, device: ${r1}, addresses: [10.46.2.1/24, 2001:db8:46:2::1/64] }
    ospf6:
      routerId: 10.46.255.1
      spf: { delay: 50, hold: 500 }
      areas:
        0:
          interfaces:
            eth0: { priority: 100, cost: 10, helloInterval: 1, deadInterval: 4 }
        1:
          interfaces:
            eth1: { priority: 100, cost: 10, helloInterval: 1, deadInterval: 4 }
`;

const frrConfig = (dev: string) => `hostname frr
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
 ospf6 router-id 10.46.0.2
 timers throttle spf 0 50 500
`;

const birdConfig = (dev: string) => `router id 10.46.0.3;
protocol device { scan time 1; }
protocol static s6 { ipv6; route 2001:db8:46:210::/64 blackhole; }
protocol kernel { ipv6 { import none; export where source ~ [RTS_OSPF, RTS_OSPF_IA, RTS_OSPF_EXT1, RTS_OSPF_EXT2]; }; }
protocol ospf v3 o6 {
  tick 1;
  ipv6 { import all; export where source = RTS_STATIC; };
  area 1 {
    interface "${dev}" { type broadcast; priority 10; cost 10; hello 1; dead 4; wait 4; };
    interface "lan0" { stub yes; cost 10; };
  };
}
`;

/** FRR's OSPFv3 route for a prefix in the kernel table: its next hops, or []. */
async function frrRoute(frr: RunningFrr, prefix: string): Promise<string[]> {
  const out = await frr.json<
    Record<string, { protocol: string; nexthops: { ip?: string; active?: boolean }[] }[]>
  >(`show ipv6 route ${prefix} json`);
  return (out[prefix] ?? [])
    .filter((r) => r.protocol === 'ospf6')
    .flatMap((r) => r.nexthops.filter((h) => h.active !== false).map((h) => h.ip ?? 'direct'));
}

describe('OSPFv3: the VR as area border router between FRR (area 0) and BIRD (area 1)', () => {
  let topo: BgpTopology;
  let f: Netns;
  let b: Netns;
  let frr: RunningFrr;
  let bird: RunningBird;
  let vr: RunningVr;

  before(async () => {
    topo = await bgpTopology([
      { tag: 'a6f', link4: '10.46.1.2/24', link6: '2001:db8:46:1::2/64', lan6: '2001:db8:46:201::1/64' },
      { tag: 'a6b', link4: '10.46.2.2/24', link6: '2001:db8:46:2::2/64', lan6: '2001:db8:46:202::1/64' },
    ]);
    const [pf, pb] = topo.peers as [BgpPeerNs, BgpPeerNs];
    f = pf.ns;
    b = pb.ns;
    for (const ns of [f, b]) await ns.sysctl({ 'net.ipv6.conf.all.forwarding': '1' });
    [vr, frr, bird] = await Promise.all([
      startVr(topo.r, 'core', vrConfig(pf.vrDevice, pb.vrDevice)),
      startFrr(f, frrConfig(pf.device), ['ospf6d']),
      startBird(b, birdConfig(pb.device)),
    ]);
  });

  after(async () => {
    await vr?.stop();
    await frr?.stop();
    await bird?.stop();
    await topo?.destroy();
  });

  test('prefixes cross the areas as inter-area routes, BIRD’s external reaches FRR; hosts ping across', async () => {
    const debug = async () =>
      `${await frr.vtysh('show ipv6 ospf6 database')}\n${await frr.vtysh('show ipv6 ospf6 route')}\n${await bird.birdc('show ospf lsadb o6').catch(() => '')}\n${JSON.stringify(await request(vr.control, 'show.ospf', { version: 3, what: 'database' }))}\n${JSON.stringify(await request(vr.control, 'show.ospf', { version: 3, what: 'routes' }))}`;
    // FRR (area 0): BIRD's LAN and the area 1 link from the VR's Inter-Area-Prefix LSAs, BIRD's
    // external through the VR's Inter-Area-Router LSA for BIRD.
    for (const prefix of ['2001:db8:46:202::/64', '2001:db8:46:2::/64', '2001:db8:46:210::/64'])
      await waitFor(async () => (await frrRoute(frr, prefix)).some((h) => h.startsWith('fe80:')), {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: `FRR route to ${prefix}`,
      }).catch(async (err) => {
        throw new Error(`${(err as Error).message}\n${await debug()}`);
      });
    const frrRoutes = await frr.vtysh('show ipv6 ospf6 route');
    // ospf6d's path types: IA intra-area, IE inter-area.
    assert.match(frrRoutes, /N IE 2001:db8:46:202::\/64/, frrRoutes);
    assert.match(frrRoutes, /N IE 2001:db8:46:2::\/64/, frrRoutes);
    assert.match(frrRoutes, /E2\s+2001:db8:46:210::\/64/, frrRoutes);
    const interRouter = await frr.vtysh('show ipv6 ospf6 database inter-router');
    assert.match(interRouter, /10\.46\.255\.1/, interRouter);
    // BIRD (area 1): FRR's LAN and the backbone link, inter-area.
    for (const prefix of ['2001:db8:46:201::/64', '2001:db8:46:1::/64'])
      await waitFor(async () => /via fe80:/.test(await bird.birdc(`show route ${prefix}`).catch(() => '')), {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: `BIRD route to ${prefix}`,
      }).catch(async (err) => {
        throw new Error(`${(err as Error).message}\n${await debug()}`);
      });
    const birdRoute = await bird.birdc('show route 2001:db8:46:201::/64 all');
    assert.match(birdRoute, /OSPF-IA/, birdRoute);
    // The VR: its Inter-Area-Prefix LSAs in both areas, an Inter-Area-Router LSA for BIRD in the backbone.
    const db = (await request(vr.control, 'show.ospf', { version: 3, what: 'database' })) as {
      area: string | null;
      type: string;
      id: string;
      self: boolean;
    }[];
    assert.ok(db.some((l) => l.area === '0.0.0.0' && l.type === 'inter-area-prefix' && l.self));
    assert.ok(db.some((l) => l.area === '0.0.0.1' && l.type === 'inter-area-prefix' && l.self));
    assert.ok(
      db.some(
        (l) => l.area === '0.0.0.0' && l.type === 'inter-area-router' && l.id === '10.46.0.3' && l.self,
      ),
    );
    const ping = async () =>
      f.exec(
        'ping',
        ['-6', '-n', '-c', '3', '-i', '0.2', '-W', '2', '-I', '2001:db8:46:201::1', '2001:db8:46:202::1'],
        { timeoutMs: 20_000 },
      );
    await waitFor(async () => parsePing((await ping()).stdout).received === 3, {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: 'ping 2001:db8:46:201::1 → 2001:db8:46:202::1 across the areas',
    });
  });
});
