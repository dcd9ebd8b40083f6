// Issue 12: a stub area (RFC 2328 §3.6, §12.4.3.1). The VR is the area border router between FRR
// ospfd (area 0, an AS boundary router redistributing a static route) and BIRD (area 1, `stub yes`).
//
//   FRR lan0 10.44.201.1/24 ── FRR 10.44.1.2 ── area 0 ── VR ── area 1 (stub) ── BIRD 10.44.2.2 ── BIRD lan0 10.44.202.1/24
//                                               10.44.1.1/24  10.44.2.1/24
//
// BIRD gets no AS-external LSA and reaches the rest of the AS by the VR's default summary
// (0.0.0.0/0 at defaultCost); FRR's side is as without the stub area.
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
      eth0: { driver: afpacket, device: ${r0}, addresses: [10.44.1.1/24] }
      eth1: { driver: afpacket, device: ${r1}, addresses: [10.44.2.1/24] }
    ospf:
      routerId: 10.44.255.1
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
ip route 10.44.210.0/24 blackhole
interface ${dev}
 ip ospf area 0
 ip ospf cost 10
 ip ospf hello-interval 1
 ip ospf dead-interval 4
interface lan0
 ip ospf area 0
 ip ospf cost 10
router ospf
 ospf router-id 10.44.0.2
 passive-interface lan0
 redistribute static
 timers throttle spf 0 50 500
`;

const birdConfig = (dev: string) => `router id 10.44.0.3;
protocol device { scan time 1; }
protocol kernel { ipv4 { import none; export where source ~ [RTS_OSPF, RTS_OSPF_IA, RTS_OSPF_EXT1, RTS_OSPF_EXT2]; }; }
protocol ospf v2 o {
  tick 1;
  ipv4 { import all; export none; };
  area 1 {
    stub yes;
    interface "${dev}" { type broadcast; priority 10; cost 10; hello 1; dead 4; wait 4; };
    interface "lan0" { stub yes; cost 10; };
  };
}
`;

describe('OSPF: a stub area behind the VR (ABR), BIRD in it, FRR an ASBR in the backbone', () => {
  let topo: BgpTopology;
  let f: Netns;
  let b: Netns;
  let frr: RunningFrr;
  let bird: RunningBird;
  let vr: RunningVr;

  before(async () => {
    topo = await bgpTopology([
      { tag: 'stf', link4: '10.44.1.2/24', lan4: '10.44.201.1/24' },
      { tag: 'stb', link4: '10.44.2.2/24', lan4: '10.44.202.1/24' },
    ]);
    const [pf, pb] = topo.peers as [BgpPeerNs, BgpPeerNs];
    f = pf.ns;
    b = pb.ns;
    [vr, frr, bird] = await Promise.all([
      startVr(topo.r, 'core', vrConfig(pf.vrDevice, pb.vrDevice)),
      startFrr(f, frrConfig(pf.device), ['ospfd', 'staticd']),
      startBird(pb.ns, birdConfig(pb.device)),
    ]);
  });

  after(async () => {
    await vr?.stop();
    await frr?.stop();
    await bird?.stop();
    await topo?.destroy();
  });

  test('BIRD has the default route from the VR and no externals; FRR in area 0 unaffected; a ping across', async () => {
    const debug = async () =>
      `${await bird.birdc('show ospf neighbors').catch(() => '')}\n${await bird.birdc('show ospf lsadb').catch(() => '')}\n${await frr.vtysh('show ip ospf database')}\n${JSON.stringify(await request(vr.control, 'show.ospf', { what: 'database' }))}\n${JSON.stringify(await request(vr.control, 'show.ospf'))}`;
    // BIRD: the default route, inter-area, through the VR at 10 (its link) + 25 (defaultCost).
    await waitFor(
      async () => /via 10\.44\.2\.1/.test(await bird.birdc('show route 0.0.0.0/0').catch(() => '')),
      { timeoutMs: 60_000, intervalMs: 500, what: 'BIRD default route' },
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await debug()}`);
    });
    const birdDefault = await bird.birdc('show route 0.0.0.0/0 all');
    assert.match(birdDefault, /OSPF-IA/, birdDefault);
    assert.match(birdDefault, /OSPF\.metric1: 35\b/, birdDefault);
    // FRR (area 0) learns BIRD's LAN from the VR's type 3, has its own external, and no default.
    await waitFor(
      async () => {
        const out = await frr.json<Record<string, { protocol: string }[]>>(
          'show ip route 10.44.202.0/24 json',
        );
        return out['10.44.202.0/24']?.some((r) => r.protocol === 'ospf') === true;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'FRR route to 10.44.202.0/24' },
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await debug()}`);
    });
    const frrRoutes = await frr.vtysh('show ip ospf route');
    assert.match(frrRoutes, /N IA 10\.44\.202\.0\/24\s+\[30\]/, frrRoutes);
    assert.doesNotMatch(frrRoutes, /0\.0\.0\.0\/0/, frrRoutes);
    const frrExternal = await frr.vtysh('show ip ospf database external self-originate');
    assert.match(frrExternal, /10\.44\.210\.0/, frrExternal);
    // The VR has FRR's external, flooded in area 0 only.
    await waitFor(
      async () => {
        const routes = (await request(vr.control, 'show.ospf', { what: 'routes' })) as {
          prefix: string;
          type: string;
        }[];
        return routes.some((r) => r.prefix === '10.44.210.0/24' && r.type === 'external-2');
      },
      { timeoutMs: 30_000, intervalMs: 500, what: "the VR's route to FRR's external" },
    );
    // BIRD: no external LSA and no route to the external (well past the VR's having it).
    await new Promise((r) => setTimeout(r, 3000));
    const lsadb = await bird.birdc('show ospf lsadb');
    assert.doesNotMatch(lsadb, /10\.44\.210\.0/, lsadb);
    // (birdc exits 1 with "Network not found".)
    assert.doesNotMatch(await bird.birdc('show route 10.44.210.0/24').catch(() => ''), /OSPF/);
    const birdRoutes = await bird.birdc('show route protocol o');
    assert.doesNotMatch(birdRoutes, /OSPF-E[12]/, birdRoutes);
    // The VR: area 1 a stub, its default summary there, nothing dropped for stub reasons.
    const show = (await request(vr.control, 'show.ospf')) as {
      areas: { id: string; stub: boolean }[];
      counters: { drops: Record<string, number> };
    };
    assert.ok(show.areas.some((a) => a.id === '0.0.0.1' && a.stub));
    assert.equal(show.counters.drops.stub_mismatch ?? 0, 0);
    const db = (await request(vr.control, 'show.ospf', { what: 'database' })) as {
      area: string | null;
      type: string;
      id: string;
      self: boolean;
    }[];
    assert.ok(db.some((l) => l.area === '0.0.0.1' && l.type === 'summary' && l.id === '0.0.0.0' && l.self));
    assert.ok(!db.some((l) => l.area === '0.0.0.0' && l.type === 'summary' && l.id === '0.0.0.0'));
    // BIRD's LAN reaches FRR's over the default route.
    const ping = async () =>
      b.exec('ping', ['-n', '-c', '3', '-i', '0.2', '-W', '2', '-I', '10.44.202.1', '10.44.201.1'], {
        timeoutMs: 20_000,
      });
    await waitFor(async () => parsePing((await ping()).stdout).received === 3, {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: 'ping 10.44.202.1 → 10.44.201.1 over the default route',
    });
  });
});
