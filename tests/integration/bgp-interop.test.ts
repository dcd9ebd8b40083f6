// Issue 11: BGP-4 in a VR against FRR and BIRD, read from the peers' side.
//
//   f (FRR bgpd, AS 65001, lan0 10.31.201.1/24 2001:db8:31:201::1/64)
//     │ 10.31.1.0/24, 2001:db8:31:1::/64 — one IPv4 session carrying IPv4 and IPv6 (RFC 4760)
//   r (the VR "core", AS 65000; its kernel has no addresses and does not forward)
//     │ 10.31.2.0/24, 2001:db8:31:2::/64 — an IPv4 session and an IPv6 session
//   b (BIRD 2, AS 65002, lan0 10.31.202.1/24 2001:db8:31:202::1/64)
//
// The hosts behind FRR and BIRD (their lan0 addresses) reach each other only over routes the VR learned
// by BGP and passed on; FRR and BIRD install what they learn into their namespace's kernel.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { request } from '@nexthop/control';
import { type Netns, parsePing, waitFor } from '@nexthop/netns';
import { type BgpPeerNs, type BgpTopology, bgpTopology } from '../lib/bgp-topology.ts';
import { type RunningBird, startBird } from '../lib/bird.ts';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { type RunningFrr, startFrr } from '../lib/frr.ts';
import { type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

const CLI_MAIN = join(import.meta.dirname, '../../apps/cli/src/main.ts');

interface VrOptions {
  frrImport?: string;
  /** TCP MD5 passwords: FRR's session, BIRD's two. */
  frrPassword?: string;
  birdPassword?: string;
}

function vrConfig(r0: string, r1: string, o: VrOptions = {}): string {
  const pw = (p: string | undefined) => (p === undefined ? '' : `, password: ${p}`);
  return `routers:
  core:
    interfaces:
      eth0: { driver: afpacket, device: ${r0}, addresses: [10.31.1.1/24, 2001:db8:31:1::1/64] }
      eth1: { driver: afpacket, device: ${r1}, addresses: [10.31.2.1/24, 2001:db8:31:2::1/64] }
    bgp:
      asn: 65000
      routerId: 10.31.0.1
      networks: [10.31.100.0/24, 2001:db8:31:100::/64]
      neighbors:
        frr: { address: 10.31.1.2, remoteAs: 65001, import: ${o.frrImport ?? 'accept'}, export: accept, holdTime: 9${pw(o.frrPassword)} }
        bird4: { address: 10.31.2.2, remoteAs: 65002, families: [ipv4], import: accept, export: accept, holdTime: 9${pw(o.birdPassword)} }
        bird6: { address: "2001:db8:31:2::2", remoteAs: 65002, families: [ipv6], import: accept, export: accept, holdTime: 9${pw(o.birdPassword)} }
    policies:
      prefixLists:
        frr-hosts: [10.31.201.0/24]
      policies:
        not-frr-hosts:
          - match: { prefixList: frr-hosts }
            then: reject
          - then: accept
`;
}

const FRR_CONFIG = `hostname frr
router bgp 65001
 bgp router-id 10.31.1.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 timers bgp 3 9
 neighbor 10.31.1.1 remote-as 65000
 address-family ipv4 unicast
  network 10.31.201.0/24
 exit-address-family
 address-family ipv6 unicast
  network 2001:db8:31:201::/64
  neighbor 10.31.1.1 activate
 exit-address-family
`;

const birdConfig = (password?: string) => `router id 10.31.2.2;
protocol device { scan time 1; }
protocol direct { ipv4; ipv6; interface "lan0"; }
protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; }
protocol kernel { ipv6 { import none; export where source = RTS_BGP; }; }
protocol bgp vr4 {
  local 10.31.2.2 as 65002; neighbor 10.31.2.1 as 65000; hold time 9;${password === undefined ? '' : ` password "${password}";`}
  ipv4 { import all; export where source = RTS_DEVICE; };
}
protocol bgp vr6 {
  local 2001:db8:31:2::2 as 65002; neighbor 2001:db8:31:2::1 as 65000; hold time 9;${password === undefined ? '' : ` password "${password}";`}
  ipv6 { import all; export where source = RTS_DEVICE; };
}
`;

interface FrrRoute {
  aspath?: { string: string };
  nexthops?: { ip: string }[];
  valid?: boolean;
  bestpath?: boolean;
}

/** FRR's paths for a prefix (`show bgp … json`) with their AS path text, or [] when it has none. */
async function frrPaths(frr: RunningFrr, prefix: string): Promise<(FrrRoute & { path: string })[]> {
  const afi = prefix.includes(':') ? 'ipv6' : 'ipv4';
  const out = await frr.json<{ paths?: FrrRoute[] }>(`show bgp ${afi} unicast ${prefix} json`);
  return (out.paths ?? []).map((p) => ({ ...p, path: p.aspath?.string ?? '' }));
}

/** BIRD's BGP route for a prefix: its AS path, or null when it has none. */
async function birdPath(bird: RunningBird, prefix: string): Promise<string | null> {
  // birdc exits 1 for a prefix it has no route for.
  const out = await bird.birdc(`show route ${prefix} all`).catch(() => '');
  const m = /BGP\.as_path: ?([\d ]*)/.exec(out);
  return m === null ? null : m[1]!.trim();
}

async function cli(runDir: string, args: string[]): Promise<string> {
  const r = await promisify(execFile)(process.execPath, [CLI_MAIN, ...args, '--run-dir', runDir]);
  return r.stdout;
}

describe('BGP: a VR between FRR and BIRD', () => {
  let topo: BgpTopology;
  let f: Netns;
  let b: Netns;
  let frr: RunningFrr;
  let bird: RunningBird;
  let vr: RunningVr;
  let r0: string;
  let r1: string;

  before(async () => {
    topo = await bgpTopology([
      {
        tag: 'bgpf',
        link4: '10.31.1.2/24',
        link6: '2001:db8:31:1::2/64',
        lan4: '10.31.201.1/24',
        lan6: '2001:db8:31:201::1/64',
      },
      {
        tag: 'bgpb',
        link4: '10.31.2.2/24',
        link6: '2001:db8:31:2::2/64',
        lan4: '10.31.202.1/24',
        lan6: '2001:db8:31:202::1/64',
      },
    ]);
    const [pf, pb] = topo.peers as [BgpPeerNs, BgpPeerNs];
    f = pf.ns;
    b = pb.ns;
    r0 = pf.vrDevice;
    r1 = pb.vrDevice;
    vr = await startVr(topo.r, 'core', vrConfig(r0, r1));
    frr = await startFrr(f, FRR_CONFIG);
    bird = await startBird(b, birdConfig());
  });

  after(async () => {
    await frr?.stop();
    await bird?.stop();
    await vr?.stop();
    await topo?.destroy();
  });

  test('the sessions come up: Established as FRR and BIRD see them', async () => {
    await waitForSessions(frr, bird, vr);
  });

  test('FRR learns BIRD’s prefixes through the VR (AS path 65000 65002) and the VR’s own', async () => {
    for (const [prefix, path] of [
      ['10.31.202.0/24', '65000 65002'],
      ['2001:db8:31:202::/64', '65000 65002'],
      ['10.31.100.0/24', '65000'],
      ['2001:db8:31:100::/64', '65000'],
    ] as const) {
      await waitFor(async () => (await frrPaths(frr, prefix)).some((p) => p.path === path && p.valid), {
        timeoutMs: 20_000,
        intervalMs: 250,
        what: `FRR learning ${prefix} with path ${path}: ${JSON.stringify(await frrPaths(frr, prefix))}`,
      });
    }
  });

  test('BIRD learns FRR’s prefixes through the VR (AS path 65000 65001)', async () => {
    for (const prefix of ['10.31.201.0/24', '2001:db8:31:201::/64']) {
      await waitFor(async () => (await birdPath(bird, prefix)) === '65000 65001', {
        timeoutMs: 20_000,
        intervalMs: 250,
        what: `BIRD learning ${prefix}: ${await bird.birdc(`show route ${prefix} all`)}`,
      });
    }
  });

  test('hosts behind FRR and BIRD ping each other over the learned routes only', async () => {
    for (const [src, dst] of [
      ['10.31.201.1', '10.31.202.1'],
      ['2001:db8:31:201::1', '2001:db8:31:202::1'],
    ] as const) {
      const ping = async () =>
        f.exec('ping', ['-n', '-c', '3', '-i', '0.2', '-W', '2', '-I', src, dst], { timeoutMs: 20_000 });
      await waitFor(async () => parsePing((await ping()).stdout).received === 3, {
        timeoutMs: 20_000,
        intervalMs: 500,
        what: `ping ${src} → ${dst}`,
      });
    }
    const routes = (await request(vr.control, 'show.routes')) as {
      prefix: string;
      protocol: string;
      selected: boolean;
    }[];
    for (const prefix of ['10.31.201.0/24', '10.31.202.0/24', '2001:db8:31:202::/64'])
      assert.ok(
        routes.some((x) => x.prefix === prefix && x.protocol === 'bgp' && x.selected),
        `${prefix} in the VR's FIB from BGP: ${JSON.stringify(routes)}`,
      );
  });

  test('show bgp summary / neighbors / routes answer, as text and JSON', async () => {
    const summary = JSON.parse(await cli(vr.runDir, ['show', 'bgp', 'summary', '--vr', 'core', '-j'])) as {
      localAs: number;
      peers: { name: string; state: string; prefixes: { accepted: number } }[];
    };
    assert.equal(summary.localAs, 65000);
    for (const name of ['frr', 'bird4', 'bird6']) {
      const p = summary.peers.find((x) => x.name === name);
      assert.equal(p?.state, 'Established', JSON.stringify(summary));
      assert.ok(p.prefixes.accepted >= 1, JSON.stringify(p));
    }
    const text = await cli(vr.runDir, ['show', 'bgp', '--vr', 'core']);
    assert.match(text, /frr\s+10\.31\.1\.2\s+65001\s+ebgp\s+Established/);
    const routes = await cli(vr.runDir, ['show', 'bgp', 'routes', '10.31.202.0/24', '--vr', 'core']);
    assert.match(routes, /\*>\s+10\.31\.202\.0\/24\s+bird4\s+10\.31\.2\.2.*65002 i/);
    const neighbors = JSON.parse(
      await cli(vr.runDir, ['show', 'bgp', 'neighbors', 'frr', '--vr', 'core', '-j']),
    ) as { capabilities: { families: string[] } }[];
    assert.deepEqual(neighbors[0]?.capabilities.families.sort(), ['ipv4-unicast', 'ipv6-unicast']);
  });

  test('a withdrawal at BIRD propagates through the VR to FRR, and the route comes back', async () => {
    await b.execOk('ip', ['addr', 'del', '10.31.202.1/24', 'dev', 'lan0']);
    await waitFor(async () => (await frrPaths(frr, '10.31.202.0/24')).length === 0, {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: 'FRR forgetting 10.31.202.0/24',
    });
    await b.execOk('ip', ['addr', 'add', '10.31.202.1/24', 'dev', 'lan0']);
    await waitFor(async () => (await frrPaths(frr, '10.31.202.0/24')).some((p) => p.path === '65000 65002'), {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: 'FRR learning 10.31.202.0/24 again',
    });
  });

  test('a changed import policy takes effect without a session reset', async () => {
    const flapsBefore = await frrEstablishedCount(frr);
    const reply = (await request(vr.control, 'config.apply', {
      text: vrConfig(r0, r1, { frrImport: 'not-frr-hosts' }),
    })) as { changes: string[] };
    assert.ok(reply.changes.includes('bgp neighbor frr changed'), JSON.stringify(reply));
    await waitFor(async () => (await birdPath(bird, '10.31.201.0/24')) === null, {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: 'BIRD losing 10.31.201.0/24 once the VR rejects it',
    });
    // The IPv6 prefix is not in the prefix list: still there.
    assert.equal(await birdPath(bird, '2001:db8:31:201::/64'), '65000 65001');
    await request(vr.control, 'config.apply', { text: vrConfig(r0, r1) });
    await waitFor(async () => (await birdPath(bird, '10.31.201.0/24')) === '65000 65001', {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: 'BIRD learning 10.31.201.0/24 again',
    });
    assert.equal(await frrEstablishedCount(frr), flapsBefore, 'the FRR session was never reset');
  });

  test('a session reset from FRR recovers, routes and all', async () => {
    const before = await frrEstablishedCount(frr);
    await frr.vtysh('clear bgp 10.31.1.1');
    await waitFor(async () => (await frrEstablishedCount(frr)) > before, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'FRR re-establishing with the VR',
    });
    await waitFor(async () => (await frrPaths(frr, '10.31.202.0/24')).some((p) => p.path === '65000 65002'), {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: 'FRR learning 10.31.202.0/24 after the reset',
    });
  });

  test('TCP MD5 (RFC 2385): signed sessions with FRR and BIRD come up; a wrong password never does and is counted', async () => {
    const established = await frrEstablishedCount(frr);
    await frr.vtysh('configure terminal\nrouter bgp 65001\nneighbor 10.31.1.1 password nexthop-frr');
    await bird.reconfigure(birdConfig('nexthop-bird'));
    await request(vr.control, 'config.apply', {
      text: vrConfig(r0, r1, { frrPassword: 'nexthop-frr', birdPassword: 'nexthop-bird' }),
    });
    await waitFor(async () => (await frrEstablishedCount(frr)) > established, {
      timeoutMs: 40_000,
      intervalMs: 250,
      what: 'FRR establishing a new, signed session',
    });
    await waitForSessions(frr, bird, vr);
    const md5 = (await vr.counters()).stats;
    assert.equal(md5['tcp_md5_bad'] ?? 0, 0, 'no bad signatures while the passwords agree');
    // The peers' kernels check our signatures: routes flowing both ways mean they verified.
    await waitFor(async () => (await frrPaths(frr, '10.31.202.0/24')).some((p) => p.path === '65000 65002'), {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: 'FRR learning 10.31.202.0/24 over the signed sessions',
    });

    await request(vr.control, 'config.apply', {
      text: vrConfig(r0, r1, { frrPassword: 'wrong', birdPassword: 'nexthop-bird' }),
    });
    await waitFor(async () => ((await vr.counters()).stats['tcp_md5_bad'] ?? 0) > 0, {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: 'the VR counting FRR’s segments signed with the other key',
    });
    const frrState = async () =>
      (
        await frr.json<{ ipv4Unicast?: { peers?: Record<string, { state: string }> } }>(
          'show bgp summary json',
        )
      ).ipv4Unicast?.peers?.['10.31.1.1']?.state;
    // Hold time 9 s and connect retries every few seconds: 12 s without the session is "never".
    const until = Date.now() + 12_000;
    while (Date.now() < until) {
      assert.notEqual(await frrState(), 'Established', 'a session with the wrong password came up');
      await new Promise((r) => setTimeout(r, 500));
    }
    await request(vr.control, 'config.apply', {
      text: vrConfig(r0, r1, { frrPassword: 'nexthop-frr', birdPassword: 'nexthop-bird' }),
    });
    await waitForSessions(frr, bird, vr);
  });
});

/** Waits until FRR's session and BIRD's two are Established. */
async function waitForSessions(frr: RunningFrr, bird: RunningBird, vr: RunningVr): Promise<void> {
  await waitFor(
    async () => {
      const s = await frr.json<{ ipv4Unicast?: { peers?: Record<string, { state: string }> } }>(
        'show bgp summary json',
      );
      return s.ipv4Unicast?.peers?.['10.31.1.1']?.state === 'Established';
    },
    { timeoutMs: 40_000, intervalMs: 250, what: `FRR's session with the VR\n${vr.log()}` },
  );
  await waitFor(
    async () => {
      const out = await bird.birdc('show protocols');
      return /vr4\s+BGP.*Established/.test(out) && /vr6\s+BGP.*Established/.test(out);
    },
    { timeoutMs: 40_000, intervalMs: 250, what: `BIRD's sessions with the VR\n${vr.log()}` },
  );
}

/** How often FRR's session with the VR has been Established (`connectionsEstablished`). */
async function frrEstablishedCount(frr: RunningFrr): Promise<number> {
  const n = await frr.json<Record<string, { connectionsEstablished?: number }>>(
    'show bgp neighbors 10.31.1.1 json',
  );
  return n['10.31.1.1']?.connectionsEstablished ?? 0;
}
