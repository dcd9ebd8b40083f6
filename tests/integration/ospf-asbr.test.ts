// Issue 12: ASBR-summary-LSAs (type 4, RFC 2328 §12.4.3). The VR is the area border router between
// FRR ospfd (area 0) and BIRD (area 1), and BIRD an AS boundary router redistributing a static route.
// FRR can use BIRD's AS-external LSA only through the VR's type 4 for BIRD (§16.4: the ASBR must be
// reachable).
//
//   FRR ── 10.45.1.0/24, area 0 ── VR ── 10.45.2.0/24, area 1 ── BIRD (static 10.45.210.0/24, E2 metric 10000)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from '@nexthop/control';
import { waitFor } from '@nexthop/netns';
import { type BgpPeerNs, type BgpTopology, bgpTopology } from '../lib/bgp-topology.ts';
import { type RunningBird, startBird } from '../lib/bird.ts';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { type RunningFrr, startFrr } from '../lib/frr.ts';
import { type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

const vrConfig = (r0: string, r1: string) => `routers:
  core:
    interfaces:
      eth0: { driver: afpacket, device: ${r0}, addresses: [10.45.1.1/24] }
      eth1: { driver: afpacket, device: ${r1}, addresses: [10.45.2.1/24] }
    ospf:
      routerId: 10.45.255.1
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
 ospf router-id 10.45.0.2
 passive-interface lan0
 timers throttle spf 0 50 500
`;

const birdConfig = (dev: string) => `router id 10.45.0.3;
protocol device { scan time 1; }
protocol static s4 { ipv4; route 10.45.210.0/24 blackhole; }
protocol kernel { ipv4 { import none; export where source ~ [RTS_OSPF, RTS_OSPF_IA, RTS_OSPF_EXT1, RTS_OSPF_EXT2]; }; }
protocol ospf v2 o {
  tick 1;
  ipv4 { import all; export where source = RTS_STATIC; };
  area 1 {
    interface "${dev}" { type broadcast; priority 10; cost 10; hello 1; dead 4; wait 4; };
    interface "lan0" { stub yes; cost 10; };
  };
}
`;

describe('OSPF: an ASBR in area 1 behind the VR (ABR), its external used by FRR in area 0', () => {
  let topo: BgpTopology;
  let frr: RunningFrr;
  let bird: RunningBird;
  let vr: RunningVr;

  before(async () => {
    topo = await bgpTopology([
      { tag: 'asf', link4: '10.45.1.2/24', lan4: '10.45.201.1/24' },
      { tag: 'asb', link4: '10.45.2.2/24', lan4: '10.45.202.1/24' },
    ]);
    const [pf, pb] = topo.peers as [BgpPeerNs, BgpPeerNs];
    [vr, frr, bird] = await Promise.all([
      startVr(topo.r, 'core', vrConfig(pf.vrDevice, pb.vrDevice)),
      startFrr(pf.ns, frrConfig(pf.device), ['ospfd']),
      startBird(pb.ns, birdConfig(pb.device)),
    ]);
  });

  after(async () => {
    await vr?.stop();
    await frr?.stop();
    await bird?.stop();
    await topo?.destroy();
  });

  test("FRR has BIRD's external as N E2 through the VR's type 4 for BIRD", async () => {
    const debug = async () =>
      `${await frr.vtysh('show ip ospf database')}\n${await frr.vtysh('show ip ospf border-routers')}\n${await bird.birdc('show ospf lsadb').catch(() => '')}\n${JSON.stringify(await request(vr.control, 'show.ospf', { what: 'database' }))}\n${JSON.stringify(await request(vr.control, 'show.ospf', { what: 'routes' }))}`;
    await waitFor(
      async () => {
        const out = await frr.json<Record<string, { protocol: string }[]>>(
          'show ip route 10.45.210.0/24 json',
        );
        return out['10.45.210.0/24']?.some((r) => r.protocol === 'ospf') === true;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: "FRR's route to BIRD's external" },
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await debug()}`);
    });
    const routes = await frr.vtysh('show ip ospf route');
    assert.match(routes, /N E2 10\.45\.210\.0\/24/, routes);
    // FRR learned BIRD as an ASBR from the VR's ASBR-summary (BIRD is in another area).
    const asbr = await frr.vtysh('show ip ospf database asbr-summary');
    assert.match(asbr, /Link State ID: 10\.45\.0\.3/, asbr);
    assert.match(asbr, /Advertising Router: 10\.45\.255\.1/, asbr);
    const border = await frr.vtysh('show ip ospf border-routers');
    assert.match(border, /10\.45\.0\.3/, border);
    // The VR's own: the type 4 in the backbone only.
    const db = (await request(vr.control, 'show.ospf', { what: 'database' })) as {
      area: string | null;
      type: string;
      id: string;
      self: boolean;
    }[];
    const mine = db.filter((l) => l.self && l.id === '10.45.0.3');
    assert.deepEqual(
      mine.map((l) => `${l.area} ${l.type}`),
      ['0.0.0.0 asbr-summary'],
      JSON.stringify(db),
    );
  });
});
