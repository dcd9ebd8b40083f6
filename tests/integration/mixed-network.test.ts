// Issue 12: a mixed network — two nexthop VRs and FRR run OSPF inside AS 65000 and iBGP over it
// (VR v2 reflecting for v1 and FRR), BIRD routers at the edge in AS 65100 and AS 65200:
//
//   b1 BIRD AS 65100 ── 10.50.11.0/24 ── v1 (VR) ── 10.50.12.0/24 ── v2 (VR, RR) ── 10.50.23.0/24 ── FRR ── 10.50.34.0/24 ── b2 BIRD AS 65200
//   lan 10.50.101.0/24                   OSPF area 0 on the three inside links, FRR's loopback 10.50.0.3/32 too               lan 10.50.102.0/24
//
// FRR's iBGP session with v2 runs from its loopback, reached through OSPF only, and it sets itself
// (10.50.0.3) as next hop: the VRs resolve BGP next hops recursively through OSPF routes. The VRs'
// namespace kernels have no addresses and do not forward. The hosts behind the two BIRDs reach each
// other over learned routes only.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from '@nexthop/control';
import { Netns, parsePing, parseTraceroute, uniqueToken, vethPair, waitFor } from '@nexthop/netns';
import { type RunningBird, startBird } from '../lib/bird.ts';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { type RunningFrr, startFrr } from '../lib/frr.ts';
import { type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

const v1Config = (ext: string, core: string) => `routers:
  v1:
    interfaces:
      ext: { driver: afpacket, device: ${ext}, addresses: [10.50.11.1/24] }
      core: { driver: afpacket, device: ${core}, addresses: [10.50.12.1/24] }
    ospf:
      routerId: 10.50.0.1
      spf: { delay: 50, hold: 500 }
      areas:
        0:
          interfaces:
            core: { helloInterval: 1, deadInterval: 4 }
    bgp:
      asn: 65000
      routerId: 10.50.0.1
      neighbors:
        b1: { address: 10.50.11.2, remoteAs: 65100, import: accept, export: accept, holdTime: 9 }
        v2: { address: 10.50.12.2, remoteAs: 65000, nextHopSelf: true, holdTime: 9 }
`;

const v2Config = (a: string, b: string) => `routers:
  v2:
    interfaces:
      a: { driver: afpacket, device: ${a}, addresses: [10.50.12.2/24] }
      b: { driver: afpacket, device: ${b}, addresses: [10.50.23.2/24] }
    ospf:
      routerId: 10.50.0.2
      spf: { delay: 50, hold: 500 }
      areas:
        0:
          interfaces:
            a: { helloInterval: 1, deadInterval: 4 }
            b: { helloInterval: 1, deadInterval: 4 }
    bgp:
      asn: 65000
      routerId: 10.50.0.2
      neighbors:
        v1: { address: 10.50.12.1, remoteAs: 65000, routeReflectorClient: true, holdTime: 9 }
        frr: { address: 10.50.0.3, remoteAs: 65000, routeReflectorClient: true, holdTime: 9 }
`;

const frrConfig = (inside: string) => `hostname frr
interface ${inside}
 ip ospf area 0
 ip ospf hello-interval 1
 ip ospf dead-interval 4
interface lo
 ip ospf area 0
router ospf
 ospf router-id 10.50.0.3
 timers throttle spf 0 50 500
router bgp 65000
 bgp router-id 10.50.0.3
 no bgp ebgp-requires-policy
 timers bgp 3 9
 neighbor 10.50.23.2 remote-as 65000
 neighbor 10.50.23.2 update-source lo
 neighbor 10.50.34.4 remote-as 65200
 address-family ipv4 unicast
  neighbor 10.50.23.2 next-hop-self
 exit-address-family
`;

const birdConfig = (id: string, as: number, neighbor: string) => `router id ${id};
protocol device { scan time 1; }
protocol direct { ipv4; interface "lan0"; }
protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; }
protocol bgp edge {
  local as ${as}; neighbor ${neighbor} as 65000; hold time 9;
  ipv4 { import all; export where source = RTS_DEVICE; };
}
`;

interface OspfNeighbor {
  state: string;
}

describe('a mixed network: VRs and FRR with OSPF inside and BGP at the edge, BIRD outside', () => {
  const spaces: Netns[] = [];
  let v1: RunningVr;
  let v2: RunningVr;
  let frr: RunningFrr;
  let b1: RunningBird;
  let b2: RunningBird;
  let nsB1: Netns;

  before(async () => {
    const make = async (tag: string) => {
      const ns = await Netns.create(tag);
      spaces.push(ns);
      return ns;
    };
    nsB1 = await make('mxb1');
    const nsV1 = await make('mxv1');
    const nsV2 = await make('mxv2');
    const nsF = await make('mxf');
    const nsB2 = await make('mxb2');
    const t = uniqueToken();
    const dev = (n: string) => `${n}-${t}`;
    await vethPair(nsB1, dev('b1'), nsV1, dev('v1e'));
    await vethPair(nsV1, dev('v1c'), nsV2, dev('v2a'));
    await vethPair(nsV2, dev('v2b'), nsF, dev('f0'));
    await vethPair(nsF, dev('f1'), nsB2, dev('b2'));
    for (const [ns, devs] of [
      [nsV1, ['v1e', 'v1c']],
      [nsV2, ['v2a', 'v2b']],
    ] as const) {
      await ns.sysctl({
        'net.ipv4.ip_forward': '0',
        ...Object.fromEntries(devs.map((d) => [`net.ipv6.conf.${dev(d)}.disable_ipv6`, '1'])),
      });
    }
    const addr = (ns: Netns, a: string, d: string) => ns.execOk('ip', ['addr', 'add', a, 'dev', d]);
    await addr(nsB1, '10.50.11.2/24', dev('b1'));
    await addr(nsF, '10.50.23.3/24', dev('f0'));
    await addr(nsF, '10.50.34.3/24', dev('f1'));
    await addr(nsF, '10.50.0.3/32', 'lo');
    await nsF.sysctl({ 'net.ipv4.ip_forward': '1' });
    await addr(nsB2, '10.50.34.4/24', dev('b2'));
    for (const [ns, lan] of [
      [nsB1, '10.50.101.1/24'],
      [nsB2, '10.50.102.1/24'],
    ] as const) {
      await ns.execOk('ip', ['link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1']);
      await ns.execOk('ip', ['link', 'set', 'lan1', 'up']);
      await addr(ns, lan, 'lan0');
      await ns.execOk('ip', ['link', 'set', 'lan0', 'up']);
    }
    v1 = await startVr(nsV1, 'v1', v1Config(dev('v1e'), dev('v1c')));
    v2 = await startVr(nsV2, 'v2', v2Config(dev('v2a'), dev('v2b')));
    frr = await startFrr(nsF, frrConfig(dev('f0')), ['bgpd', 'ospfd']);
    b1 = await startBird(nsB1, birdConfig('10.50.11.2', 65100, '10.50.11.1'));
    b2 = await startBird(nsB2, birdConfig('10.50.34.4', 65200, '10.50.34.3'));
  });

  after(async () => {
    await frr?.stop();
    await b1?.stop();
    await b2?.stop();
    await v1?.stop();
    await v2?.stop();
    await Promise.all(spaces.map((ns) => ns.destroy()));
  });

  test('OSPF inside: the VRs and FRR are Full with each other', async () => {
    await waitFor(
      async () => {
        const n = await frr.json<{ neighbors?: Record<string, { converged?: string; nbrState?: string }[]> }>(
          'show ip ospf neighbor json',
        );
        const rows = n.neighbors?.['10.50.0.2'] ?? [];
        return rows.some((r) => (r.converged ?? r.nbrState ?? '').startsWith('Full'));
      },
      { timeoutMs: 30_000, intervalMs: 250, what: `FRR Full with v2\n${v2.log()}` },
    );
    await waitFor(
      async () => {
        const rows = (await request(v1.control, 'show.ospf', { what: 'neighbors' })) as OspfNeighbor[];
        return rows.length === 1 && rows[0]!.state === 'Full';
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'v1 Full with v2' },
    );
  });

  test('BGP: every session is up, iBGP from FRR’s loopback over OSPF included', async () => {
    for (const [vr, count] of [
      [v1, 2],
      [v2, 2],
    ] as const) {
      await waitFor(
        async () => {
          const s = (await request(vr.control, 'show.bgp', { what: 'summary' })) as {
            peers: { state: string }[];
          };
          return s.peers.filter((p) => p.state === 'Established').length === count;
        },
        { timeoutMs: 40_000, intervalMs: 250, what: `${vr.name}'s BGP sessions\n${vr.log()}` },
      );
    }
    for (const bird of [b1, b2])
      await waitFor(async () => /edge\s+BGP.*Established/.test(await bird.birdc('show protocols')), {
        timeoutMs: 30_000,
        intervalMs: 250,
        what: 'a BIRD session with the edge',
      });
  });

  test('the edges learn each other’s LANs across AS 65000, as the BIRDs report them', async () => {
    for (const [bird, prefix, path] of [
      [b1, '10.50.102.0/24', '65000 65200'],
      [b2, '10.50.101.0/24', '65000 65100'],
    ] as const) {
      await waitFor(
        async () => {
          const out = await bird.birdc(`show route ${prefix} all`).catch(() => '');
          return new RegExp(`BGP\\.as_path: ${path}`).test(out);
        },
        { timeoutMs: 30_000, intervalMs: 250, what: `${prefix} with AS path ${path}` },
      );
    }
  });

  test('v1 resolves the iBGP next hop (FRR’s loopback) through OSPF', async () => {
    await waitFor(
      async () => {
        const rows = (await request(v1.control, 'show.routes', { prefix: '10.50.102.0/24' })) as {
          protocol: string;
          via: string | null;
          selected: boolean;
          resolvedVia?: string | null;
        }[];
        return rows.some(
          (r) =>
            r.protocol === 'bgp' && r.selected && r.via === '10.50.0.3' && r.resolvedVia === '10.50.0.3/32',
        );
      },
      { timeoutMs: 20_000, intervalMs: 250, what: "v1's route to 10.50.102.0/24 via 10.50.0.3 over OSPF" },
    );
    const loopback = (await request(v1.control, 'show.routes', { prefix: '10.50.0.3/32' })) as {
      protocol: string;
      selected: boolean;
    }[];
    assert.ok(
      loopback.some((r) => r.protocol === 'ospf' && r.selected),
      JSON.stringify(loopback),
    );
  });

  test('the hosts behind b1 and b2 ping each other, through v1, v2 and FRR', async () => {
    await waitFor(
      async () => {
        const r = await nsB1.exec(
          'ping',
          ['-n', '-c', '3', '-i', '0.2', '-W', '2', '-I', '10.50.101.1', '10.50.102.1'],
          {
            timeoutMs: 20_000,
          },
        );
        return parsePing(r.stdout).received === 3;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'ping 10.50.101.1 → 10.50.102.1' },
    );
    const trace = await nsB1.exec(
      'traceroute',
      ['-n', '-q', '1', '-w', '2', '-m', '6', '-s', '10.50.101.1', '10.50.102.1'],
      {
        timeoutMs: 40_000,
      },
    );
    assert.deepEqual(
      parseTraceroute(trace.stdout),
      ['10.50.11.1', '10.50.12.2', '10.50.23.3', '10.50.102.1'],
      trace.stdout,
    );
  });
});
