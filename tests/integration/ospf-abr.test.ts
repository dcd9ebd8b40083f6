// Issue 12: the VR as an OSPFv2 area border router between FRR ospfd (area 0) and BIRD (area 1).
//
//   FRR lan0 10.43.201.1/24 ── FRR 10.43.1.2 ── area 0 ── VR ── area 1 ── BIRD 10.43.2.2 ── BIRD lan0 10.43.202.1/24
//                                               10.43.1.1/24  10.43.2.1/24
//
// Each peer sees the other area's networks only through the VR's Summary-LSAs (type 3); what crosses
// the VR's namespace was routed by the VR (its kernel has no addresses and does not forward).
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
      eth0: { driver: afpacket, device: ${r0}, addresses: [10.43.1.1/24] }
      eth1: { driver: afpacket, device: ${r1}, addresses: [10.43.2.1/24] }
    ospf:
      routerId: 10.43.255.1
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
 ip ospf area 0
 ip ospf cost 10
 ip ospf hello-interval 1
 ip ospf dead-interval 4
interface lan0
 ip ospf area 0
 ip ospf cost 10
router ospf
 ospf router-id 10.43.0.2
 passive-interface lan0
 timers throttle spf 0 50 500
`;

const birdConfig = (dev: string) => `router id 10.43.0.3;
protocol device { scan time 1; }
protocol kernel { ipv4 { import none; export where source ~ [RTS_OSPF, RTS_OSPF_IA, RTS_OSPF_EXT1, RTS_OSPF_EXT2]; }; }
protocol ospf v2 o {
  tick 1;
  ipv4 { import all; export none; };
  area 1 {
    interface "${dev}" { type broadcast; priority 10; cost 10; hello 1; dead 4; wait 4; };
    interface "lan0" { stub yes; cost 10; };
  };
}
`;

describe('OSPF: the VR as area border router between FRR (area 0) and BIRD (area 1)', () => {
  let topo: BgpTopology;
  let f: Netns;
  let frr: RunningFrr;
  let bird: RunningBird;
  let vr: RunningVr;

  before(async () => {
    topo = await bgpTopology([
      { tag: 'abf', link4: '10.43.1.2/24', lan4: '10.43.201.1/24' },
      { tag: 'abb', link4: '10.43.2.2/24', lan4: '10.43.202.1/24' },
    ]);
    const [pf, pb] = topo.peers as [BgpPeerNs, BgpPeerNs];
    f = pf.ns;
    [vr, frr, bird] = await Promise.all([
      startVr(topo.r, 'core', vrConfig(pf.vrDevice, pb.vrDevice)),
      startFrr(f, frrConfig(pf.device), ['ospfd']),
      startBird(pb.ns, birdConfig(pb.device)),
    ]);
  });

  after(async () => {
    await vr?.stop();
    await frr?.stop();
    await bird?.stop();
    await topo?.destroy();
  });

  test('routes cross the areas as inter-area routes, as FRR and BIRD see them; hosts ping across', async () => {
    // FRR (area 0) learns BIRD's LAN and the area 1 link from the VR's summaries.
    for (const prefix of ['10.43.202.0/24', '10.43.2.0/24'])
      await waitFor(
        async () => {
          const out = await frr.json<Record<string, { protocol: string; metric: number }[]>>(
            `show ip route ${prefix} json`,
          );
          return out[prefix]?.some((r) => r.protocol === 'ospf') === true;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: `FRR route to ${prefix}` },
      ).catch(async (err) => {
        throw new Error(
          `${(err as Error).message}\n${await frr.vtysh('show ip ospf neighbor')}\n${await frr.vtysh('show ip ospf database')}\n${JSON.stringify(await request(vr.control, 'show.ospf', { what: 'database' }))}\n${JSON.stringify(await request(vr.control, 'show.ospf', { what: 'interfaces' }))}\n${JSON.stringify(await request(vr.control, 'show.ospf'))}`,
        );
      });
    const frrOspf = await frr.vtysh('show ip ospf route');
    assert.match(frrOspf, /N IA 10\.43\.202\.0\/24\s+\[30\]/, frrOspf);
    const summaries = await frr.vtysh('show ip ospf database summary');
    assert.match(summaries, /Advertising Router: 10\.43\.255\.1/);
    // BIRD (area 1) learns FRR's LAN and the backbone link.
    for (const prefix of ['10.43.201.0/24', '10.43.1.0/24'])
      await waitFor(
        async () => /via 10\.43\.2\.1/.test(await bird.birdc(`show route ${prefix}`).catch(() => '')),
        {
          timeoutMs: 60_000,
          intervalMs: 500,
          what: `BIRD route to ${prefix}`,
        },
      );
    const birdRoute = await bird.birdc('show route 10.43.201.0/24 all');
    assert.match(birdRoute, /OSPF-IA/, birdRoute);
    // The VR: an ABR, summaries in both areas.
    const db = (await request(vr.control, 'show.ospf', { what: 'database' })) as {
      area: string | null;
      type: string;
      id: string;
      self: boolean;
    }[];
    assert.ok(
      db.some((l) => l.area === '0.0.0.0' && l.type === 'summary' && l.id === '10.43.202.0' && l.self),
    );
    assert.ok(
      db.some((l) => l.area === '0.0.0.1' && l.type === 'summary' && l.id === '10.43.201.0' && l.self),
    );
    const ping = async () =>
      f.exec('ping', ['-n', '-c', '3', '-i', '0.2', '-W', '2', '-I', '10.43.201.1', '10.43.202.1'], {
        timeoutMs: 20_000,
      });
    await waitFor(async () => parsePing((await ping()).stdout).received === 3, {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: 'ping 10.43.201.1 → 10.43.202.1 across the areas',
    });
  });
});
