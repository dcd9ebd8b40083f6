// Issue 11: the VR as an RFC 4456 route reflector for FRR and BIRD (iBGP clients, AS 65000), with
// GoBGP as an eBGP neighbour (AS 65003) over IPv4 and IPv6 sessions and a second GoBGP as an iBGP
// peer that is not a client; everything read from the peers.
//
//   f: FRR, client, lan0 10.32.201.1/24 ── 10.32.1.0/24 ──┐
//   b: BIRD, client, lan0 10.32.202.1/24 ─ 10.32.2.0/24 ──┤ r: the VR "rr", AS 65000, cluster 10.32.0.1
//   g: GoBGP, AS 65003 ─── 10.32.3.0/24, 2001:db8:32:3::/64 ┤
//   i: GoBGP, iBGP, not a client ─ 10.32.4.0/24 ─────────┘
//
// A reflected route keeps its next hop (RFC 4456 §10), so FRR and BIRD reach the other links through
// static routes via the VR (their IGP here); the host LANs they reach only over what BGP told them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from '@nexthop/control';
import { parsePing, waitFor } from '@nexthop/netns';
import { type BgpTopology, bgpTopology } from '../lib/bgp-topology.ts';
import { type RunningBird, startBird } from '../lib/bird.ts';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { type RunningFrr, startFrr } from '../lib/frr.ts';
import { type RunningGobgp, startGobgp } from '../lib/gobgp.ts';
import { type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

const vrConfig = (devices: readonly string[]) => `routers:
  rr:
    interfaces:
      f: { driver: afpacket, device: ${devices[0]}, addresses: [10.32.1.1/24] }
      b: { driver: afpacket, device: ${devices[1]}, addresses: [10.32.2.1/24] }
      g: { driver: afpacket, device: ${devices[2]}, addresses: [10.32.3.1/24, 2001:db8:32:3::1/64] }
      i: { driver: afpacket, device: ${devices[3]}, addresses: [10.32.4.1/24] }
    bgp:
      asn: 65000
      routerId: 10.32.0.1
      networks: [2001:db8:32:100::/64]
      neighbors:
        frr: { address: 10.32.1.2, remoteAs: 65000, routeReflectorClient: true, holdTime: 9 }
        bird: { address: 10.32.2.2, remoteAs: 65000, routeReflectorClient: true, holdTime: 9 }
        gobgp: { address: 10.32.3.2, remoteAs: 65003, families: [ipv4], import: accept, export: accept, holdTime: 9 }
        gobgp6: { address: "2001:db8:32:3::2", remoteAs: 65003, families: [ipv6], import: accept, export: accept, holdTime: 9 }
        gobgp-ibgp: { address: 10.32.4.2, remoteAs: 65000, families: [ipv4], holdTime: 9 }
`;

const FRR_CONFIG = `hostname frr
ip route 10.32.2.0/24 10.32.1.1
ip route 10.32.3.0/24 10.32.1.1
router bgp 65000
 bgp router-id 10.32.1.2
 no bgp network import-check
 timers bgp 3 9
 neighbor 10.32.1.1 remote-as 65000
 address-family ipv4 unicast
  network 10.32.201.0/24
 exit-address-family
`;

const BIRD_CONFIG = `router id 10.32.2.2;
protocol device { scan time 1; }
protocol direct { ipv4; interface "lan0"; }
protocol static { ipv4; route 10.32.1.0/24 via 10.32.2.1; route 10.32.3.0/24 via 10.32.2.1; }
protocol kernel { ipv4 { import none; export where source = RTS_BGP || source = RTS_STATIC; }; }
protocol bgp reflector {
  local 10.32.2.2 as 65000; neighbor 10.32.2.1 as 65000; hold time 9;
  ipv4 { import all; export where source = RTS_DEVICE; gateway recursive; };
}
`;

const GOBGP_CONFIG = `[global.config]
  as = 65003
  router-id = "10.32.3.2"
  port = 179
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.32.3.1"
    peer-as = 65000
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "2001:db8:32:3::1"
    peer-as = 65000
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
`;

const GOBGP_IBGP_CONFIG = `[global.config]
  as = 65000
  router-id = "10.32.4.2"
  port = 179
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.32.4.1"
    peer-as = 65000
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
`;

interface FrrPath {
  aspath?: { string: string };
  originatorId?: string;
  clusterList?: { list: string[] };
  peer?: { peerId: string };
}

async function frrPaths(frr: RunningFrr, prefix: string): Promise<FrrPath[]> {
  return (await frr.json<{ paths?: FrrPath[] }>(`show bgp ipv4 unicast ${prefix} json`)).paths ?? [];
}

async function birdRoute(bird: RunningBird, prefix: string): Promise<string> {
  return bird.birdc(`show route ${prefix} all`).catch(() => '');
}

interface GobgpPath {
  nlri: { prefix: string };
  attrs: { type: number; as_paths?: { asns: number[] }[] }[];
}

/** GoBGP's AS paths for a prefix in its global RIB, as text. */
async function gobgpPaths(gobgp: RunningGobgp, family: 'ipv4' | 'ipv6', prefix: string): Promise<string[]> {
  const out = await gobgp.gobgp(['global', 'rib', '-a', family, '-j']).catch(() => '{}');
  const rib = JSON.parse(out === '' ? '{}' : out) as Record<string, GobgpPath[]>;
  return (rib[prefix] ?? []).map((p) =>
    p.attrs
      .filter((a) => a.type === 2)
      .flatMap((a) => a.as_paths ?? [])
      .flatMap((s) => s.asns)
      .join(' '),
  );
}

describe('BGP: the VR reflects routes between FRR and BIRD and talks eBGP with GoBGP', () => {
  let topo: BgpTopology;
  let frr: RunningFrr;
  let bird: RunningBird;
  let gobgp: RunningGobgp;
  let internal: RunningGobgp;
  let vr: RunningVr;

  before(async () => {
    topo = await bgpTopology([
      { tag: 'rrf', link4: '10.32.1.2/24', lan4: '10.32.201.1/24' },
      { tag: 'rrb', link4: '10.32.2.2/24', lan4: '10.32.202.1/24' },
      { tag: 'rrg', link4: '10.32.3.2/24', link6: '2001:db8:32:3::2/64' },
      { tag: 'rri', link4: '10.32.4.2/24' },
    ]);
    vr = await startVr(topo.r, 'rr', vrConfig(topo.peers.map((p) => p.vrDevice)));
    frr = await startFrr(topo.peers[0]!.ns, FRR_CONFIG, ['bgpd', 'staticd']);
    bird = await startBird(topo.peers[1]!.ns, BIRD_CONFIG);
    gobgp = await startGobgp(topo.peers[2]!.ns, GOBGP_CONFIG);
    internal = await startGobgp(topo.peers[3]!.ns, GOBGP_IBGP_CONFIG);
  });

  after(async () => {
    await frr?.stop();
    await bird?.stop();
    await gobgp?.stop();
    await internal?.stop();
    await vr?.stop();
    await topo?.destroy();
  });

  test('iBGP with FRR and BIRD and eBGP with GoBGP come up, as each peer sees it', async () => {
    await waitFor(
      async () => {
        const s = await frr.json<{ ipv4Unicast?: { peers?: Record<string, { state: string }> } }>(
          'show bgp summary json',
        );
        return s.ipv4Unicast?.peers?.['10.32.1.1']?.state === 'Established';
      },
      { timeoutMs: 30_000, intervalMs: 250, what: `FRR's iBGP session\n${vr.log()}` },
    );
    await waitFor(async () => /reflector\s+BGP.*Established/.test(await bird.birdc('show protocols')), {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: `BIRD's iBGP session\n${vr.log()}`,
    });
    await waitFor(
      async () => {
        const n = JSON.parse(await gobgp.gobgp(['neighbor', '-j'])) as {
          state: { session_state: number | string };
        }[];
        // GoBGP's JSON gives the FSM state as a number (6: established) or its name, by version.
        return (
          n.length === 2 && n.every((x) => [6, 'established', 'ESTABLISHED'].includes(x.state.session_state))
        );
      },
      { timeoutMs: 30_000, intervalMs: 250, what: `GoBGP's sessions\n${gobgp.log()}` },
    );
  });

  test('a client’s route reaches the other client with ORIGINATOR_ID and CLUSTER_LIST (RFC 4456 §8)', async () => {
    await waitFor(
      async () => /BGP\.originator_id: 10\.32\.1\.2/.test(await birdRoute(bird, '10.32.201.0/24')),
      {
        timeoutMs: 20_000,
        intervalMs: 250,
        what: `BIRD learning FRR's 10.32.201.0/24 by reflection: ${await birdRoute(bird, '10.32.201.0/24')}`,
      },
    );
    const atBird = await birdRoute(bird, '10.32.201.0/24');
    assert.match(atBird, /BGP\.cluster_list: 10\.32\.0\.1/);
    assert.match(atBird, /BGP\.next_hop: 10\.32\.1\.2/, 'the next hop is left as the client set it');
    await waitFor(async () => (await frrPaths(frr, '10.32.202.0/24')).length > 0, {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: "FRR learning BIRD's 10.32.202.0/24 by reflection",
    });
    const [atFrr] = await frrPaths(frr, '10.32.202.0/24');
    assert.equal(atFrr?.originatorId, '10.32.2.2', JSON.stringify(atFrr));
    assert.deepEqual(atFrr?.clusterList?.list, ['10.32.0.1'], JSON.stringify(atFrr));
    assert.equal(atFrr?.aspath?.string, 'Local', 'iBGP: no AS added (FRR prints an empty path as Local)');
    // Not sent back to the client it came from.
    const own = await frrPaths(frr, '10.32.201.0/24');
    assert.ok(!own.some((p) => p.peer?.peerId === '10.32.1.1'), JSON.stringify(own));
  });

  test('iBGP with a non-client GoBGP: it gets the clients’ routes, its own are reflected to the clients (RFC 4456 §6)', async () => {
    await waitFor(
      async () => {
        const n = JSON.parse(await internal.gobgp(['neighbor', '-j'])) as {
          state: { session_state: number | string };
        }[];
        return [6, 'established', 'ESTABLISHED'].includes(n[0]?.state.session_state ?? '');
      },
      { timeoutMs: 30_000, intervalMs: 250, what: `the iBGP GoBGP's session\n${internal.log()}` },
    );
    for (const prefix of ['10.32.201.0/24', '10.32.202.0/24']) {
      await waitFor(async () => (await gobgpPaths(internal, 'ipv4', prefix)).includes(''), {
        timeoutMs: 20_000,
        intervalMs: 250,
        what: `the non-client learning ${prefix} (an empty AS path: iBGP)`,
      });
    }
    await internal.gobgp(['global', 'rib', 'add', '10.32.204.0/24', '-a', 'ipv4']);
    await waitFor(
      async () => /BGP\.originator_id: 10\.32\.4\.2/.test(await birdRoute(bird, '10.32.204.0/24')),
      {
        timeoutMs: 20_000,
        intervalMs: 250,
        what: "BIRD (a client) learning the non-client's 10.32.204.0/24 by reflection",
      },
    );
    await waitFor(
      async () => (await frrPaths(frr, '10.32.204.0/24')).some((p) => p.originatorId === '10.32.4.2'),
      {
        timeoutMs: 20_000,
        intervalMs: 250,
        what: "FRR (a client) learning the non-client's 10.32.204.0/24 by reflection",
      },
    );
    // And go out to the eBGP neighbour like any best route, with our AS and nothing of reflection.
    await waitFor(async () => (await gobgpPaths(gobgp, 'ipv4', '10.32.204.0/24')).includes('65000'), {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: 'the eBGP GoBGP learning 10.32.204.0/24 with AS path 65000',
    });
  });

  test('hosts behind the two clients ping each other through the reflector', async () => {
    await waitFor(
      async () => {
        const r = await topo.peers[0]!.ns.exec(
          'ping',
          ['-n', '-c', '3', '-i', '0.2', '-W', '2', '-I', '10.32.201.1', '10.32.202.1'],
          {
            timeoutMs: 20_000,
          },
        );
        return parsePing(r.stdout).received === 3;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: 'ping 10.32.201.1 → 10.32.202.1' },
    );
  });

  test('GoBGP learns both clients’ routes with AS path 65000, and its own routes reach the clients', async () => {
    for (const prefix of ['10.32.201.0/24', '10.32.202.0/24']) {
      await waitFor(async () => (await gobgpPaths(gobgp, 'ipv4', prefix)).includes('65000'), {
        timeoutMs: 20_000,
        intervalMs: 250,
        what: `GoBGP learning ${prefix}: ${await gobgp.gobgp(['global', 'rib', '-a', 'ipv4'])}`,
      });
    }
    await gobgp.gobgp(['global', 'rib', 'add', '10.32.203.0/24', '-a', 'ipv4']);
    // IPv6 towards GoBGP over the IPv6 session: the VR's own network, with our AS.
    await waitFor(async () => (await gobgpPaths(gobgp, 'ipv6', '2001:db8:32:100::/64')).includes('65000'), {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: `GoBGP learning 2001:db8:32:100::/64: ${await gobgp.gobgp(['global', 'rib', '-a', 'ipv6'])}`,
    });
    await gobgp.gobgp(['global', 'rib', 'add', '2001:db8:32:203::/64', '-a', 'ipv6']);
    await waitFor(
      async () => (await frrPaths(frr, '10.32.203.0/24')).some((p) => p.aspath?.string === '65003'),
      {
        timeoutMs: 20_000,
        intervalMs: 250,
        what: "FRR learning GoBGP's 10.32.203.0/24",
      },
    );
    await waitFor(async () => /BGP\.as_path: 65003/.test(await birdRoute(bird, '10.32.203.0/24')), {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: "BIRD learning GoBGP's 10.32.203.0/24",
    });
    await waitFor(
      async () => {
        const rows = (await request(vr.control, 'show.bgp', {
          what: 'routes',
          prefix: '2001:db8:32:203::/64',
        })) as {
          from: string;
          asPath: string;
          nextHop: string;
        }[];
        return rows.some(
          (r) => r.from === 'gobgp6' && r.asPath === '65003' && r.nextHop === '2001:db8:32:3::2',
        );
      },
      {
        timeoutMs: 20_000,
        intervalMs: 250,
        what: "the VR learning GoBGP's IPv6 route over the IPv6 session",
      },
    );
    // GoBGP withdraws: the clients follow.
    await gobgp.gobgp(['global', 'rib', 'del', '10.32.203.0/24', '-a', 'ipv4']);
    await waitFor(async () => (await frrPaths(frr, '10.32.203.0/24')).length === 0, {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: 'FRR forgetting 10.32.203.0/24 after GoBGP withdrew it',
    });
  });
});
