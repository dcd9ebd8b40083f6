// Issue 12: BFD (RFC 5880/5881) in a VR with FRR bfdd and BIRD, BGP and OSPF as its clients.
//
//                      eth0 10.50.1.1/30 ── fa 10.50.1.2/30  (OSPF cost 10, eBGP "fa")
//   h 10.50.100.2 ── VR "core"                                    FRR 65002: lan0 10.50.201.1/24 (OSPF)
//                      eth1 10.50.2.1/30 ── fb 10.50.2.2/30  (OSPF cost 100, eBGP "fb")   lan2 10.50.202.1/24 (BGP)
//                      eth3 10.50.3.1/30 ── bx 10.50.3.2/30  BIRD 65003 (OSPF, eBGP, BFD)
//
// BFD at 100 ms × 3 everywhere (FRR's profile "fast", BIRD's interface options, the VR's bfd
// section); OSPF dead interval 10 s and BGP hold time 180 s, so only BFD can notice a failure
// within a second. Link a runs through a Linux bridge (namespace sw); it is cut by setting the
// bridge's port towards FRR down: the VR's interface keeps its carrier (its veth peer is the other
// bridge port, still up), so only BFD can tell. BFD takes the session down, the OSPF neighbour and
// the BGP session go with it, and the host's traffic moves to the other link. (tc actions and
// nftables are not available on every test machine; the bridge is.)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { request } from '@nexthop/control';
import { Netns, parsePing, uniqueToken, vethPair, waitFor } from '@nexthop/netns';
import { type RunningBird, startBird } from '../lib/bird.ts';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { type RunningFrr, startFrr } from '../lib/frr.ts';
import { type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

const CLI_MAIN = join(import.meta.dirname, '../../apps/cli/src/main.ts');

const vrConfig = (a: string, b: string, h: string, x: string) => `routers:
  core:
    interfaces:
      eth0: { driver: afpacket, device: ${a}, addresses: [10.50.1.1/30] }
      eth1: { driver: afpacket, device: ${b}, addresses: [10.50.2.1/30] }
      eth2: { driver: afpacket, device: ${h}, addresses: [10.50.100.1/24] }
      eth3: { driver: afpacket, device: ${x}, addresses: [10.50.3.1/30] }
    bfd:
      interval: 100
      multiplier: 3
    bgp:
      asn: 65001
      routerId: 10.50.255.1
      neighbors:
        fa: { address: 10.50.1.2, remoteAs: 65002, import: accept, export: accept, bfd: true }
        fb: { address: 10.50.2.2, remoteAs: 65002, import: accept, export: accept, bfd: true }
        bird: { address: 10.50.3.2, remoteAs: 65003, import: accept, export: accept, bfd: true }
    ospf:
      routerId: 10.50.255.1
      spf: { delay: 50, hold: 500 }
      lsaInterval: 0
      areas:
        0:
          interfaces:
            eth0: { network: point-to-point, cost: 10, helloInterval: 1, deadInterval: 10, bfd: true }
            eth1: { network: point-to-point, cost: 100, helloInterval: 1, deadInterval: 10, bfd: true }
            eth2: { passive: true }
            eth3: { network: point-to-point, cost: 10, helloInterval: 1, deadInterval: 10, bfd: true }
`;

const frrConfig = (a: string, b: string) => `hostname frr
bfd
 profile fast
  receive-interval 100
  transmit-interval 100
  detect-multiplier 3
!
interface ${a}
 ip ospf area 0
 ip ospf network point-to-point
 ip ospf cost 10
 ip ospf hello-interval 1
 ip ospf dead-interval 10
 ip ospf bfd
 ip ospf bfd profile fast
interface ${b}
 ip ospf area 0
 ip ospf network point-to-point
 ip ospf cost 100
 ip ospf hello-interval 1
 ip ospf dead-interval 10
 ip ospf bfd
 ip ospf bfd profile fast
interface lan0
 ip ospf area 0
router ospf
 ospf router-id 10.50.255.2
 passive-interface lan0
 timers throttle spf 0 50 500
 timers throttle lsa all 0
router bgp 65002
 bgp router-id 10.50.255.2
 no bgp ebgp-requires-policy
 neighbor 10.50.1.1 remote-as 65001
 neighbor 10.50.1.1 bfd
 neighbor 10.50.1.1 bfd profile fast
 neighbor 10.50.2.1 remote-as 65001
 neighbor 10.50.2.1 bfd
 neighbor 10.50.2.1 bfd profile fast
 address-family ipv4 unicast
  network 10.50.202.0/24
 exit-address-family
`;

const birdConfig = (x: string) => `router id 10.50.255.3;
protocol device { scan time 1; }
protocol bfd {
  interface "${x}" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };
}
protocol ospf v2 o {
  tick 1;
  ipv4 { import all; export none; };
  area 0 {
    interface "${x}" { type ptp; cost 10; hello 1; dead 10; bfd on; };
  };
}
protocol bgp v {
  local 10.50.3.2 as 65003;
  neighbor 10.50.3.1 as 65001;
  bfd on;
  ipv4 { import all; export none; };
}
`;

interface BfdSession {
  peer: string;
  interface: string;
  state: string;
  remoteState: string;
  clients: string[];
  txIntervalMs: number;
  detectionTimeMs: number;
  diagnostic: string;
}

async function vrBfd(vr: RunningVr): Promise<Map<string, BfdSession>> {
  const show = (await request(vr.control, 'show.bfd')) as { sessions: BfdSession[] };
  return new Map(show.sessions.map((s) => [s.peer, s]));
}

async function frrBfdPeers(frr: RunningFrr): Promise<Map<string, string>> {
  const list = await frr.json<{ peer: string; status: string }[]>('show bfd peers json');
  return new Map(list.map((p) => [p.peer, p.status]));
}

async function vrRoute(
  vr: RunningVr,
  prefix: string,
): Promise<{ protocol: string; via: string[] } | undefined> {
  const routes = (await request(vr.control, 'show.routes', { family: 4 })) as {
    prefix: string;
    protocol: string;
    selected: boolean;
    via: string | null;
  }[];
  const sel = routes.filter((x) => x.prefix === prefix && x.selected);
  if (sel.length === 0) return undefined;
  return { protocol: sel[0]!.protocol, via: sel.map((x) => x.via ?? '') };
}

describe('BFD: a VR with FRR (bfdd, bgpd, ospfd) on two links and BIRD on a third', () => {
  const created: Netns[] = [];
  let r: Netns;
  let sw: Netns;
  let f: Netns;
  let b: Netns;
  let h: Netns;
  let frr: RunningFrr;
  let bird: RunningBird;
  let vr: RunningVr;
  const t = uniqueToken();
  const fa = `fa-${t}`;
  const fb = `fb-${t}`;
  const bx = `bx-${t}`;

  before(async () => {
    r = await Netns.create('bfdr');
    sw = await Netns.create('bfdsw');
    f = await Netns.create('bfdf');
    b = await Netns.create('bfdb');
    h = await Netns.create('bfdh');
    created.push(r, sw, f, b, h);
    await sw.execOk('ip', ['link', 'add', 'br0', 'type', 'bridge']);
    await sw.execOk('ip', ['link', 'set', 'br0', 'up']);
    await vethPair(r, `ra-${t}`, sw, `wr-${t}`, { disableIpv6: true });
    await vethPair(sw, `wf-${t}`, f, fa, { disableIpv6: true });
    for (const port of [`wr-${t}`, `wf-${t}`]) await sw.execOk('ip', ['link', 'set', port, 'master', 'br0']);
    await vethPair(r, `rb-${t}`, f, fb, { disableIpv6: true });
    await vethPair(r, `rh-${t}`, h, 'eth0', { disableIpv6: true });
    await vethPair(r, `rx-${t}`, b, bx, { disableIpv6: true });
    await r.sysctl({ 'net.ipv4.ip_forward': '0' });
    await f.execOk('ip', ['addr', 'add', '10.50.1.2/30', 'dev', fa]);
    await f.execOk('ip', ['addr', 'add', '10.50.2.2/30', 'dev', fb]);
    await f.sysctl({ 'net.ipv4.ip_forward': '1' });
    await b.execOk('ip', ['addr', 'add', '10.50.3.2/30', 'dev', bx]);
    for (const [name, addr] of [
      ['lan0', '10.50.201.1/24'],
      ['lan2', '10.50.202.1/24'],
    ] as const) {
      await f.execOk('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]);
      await f.execOk('ip', ['link', 'set', `${name}p`, 'up']);
      await f.execOk('ip', ['addr', 'add', addr, 'dev', name]);
      await f.execOk('ip', ['link', 'set', name, 'up']);
    }
    await h.execOk('ip', ['addr', 'add', '10.50.100.2/24', 'dev', 'eth0']);
    await h.execOk('ip', ['route', 'add', 'default', 'via', '10.50.100.1']);
    [frr, bird, vr] = await Promise.all([
      startFrr(f, frrConfig(fa, fb), ['bfdd', 'bgpd', 'ospfd']),
      startBird(b, birdConfig(bx)),
      startVr(r, 'core', vrConfig(`ra-${t}`, `rb-${t}`, `rh-${t}`, `rx-${t}`)),
    ]);
  });

  after(async () => {
    await vr?.stop();
    await frr?.stop();
    await bird?.stop();
    await Promise.all(created.map((ns) => ns.destroy()));
  });

  const diagnostics = async () =>
    `\nFRR: ${await frr.vtysh('show bfd peers brief').catch((e) => String(e))}\nBIRD: ${await bird
      .birdc('show bfd sessions')
      .catch((e) => String(e))}\nVR: ${JSON.stringify([...(await vrBfd(vr).catch(() => new Map()))])}\n${vr
      .log()
      .slice(-3000)}`;

  test('sessions Up as FRR, BIRD and the VR report them; BGP and OSPF share one session per peer', async () => {
    await waitFor(
      async () => {
        const fp = await frrBfdPeers(frr);
        const bs = await bird.birdc('show bfd sessions');
        const v = await vrBfd(vr);
        return (
          fp.get('10.50.1.1') === 'up' &&
          fp.get('10.50.2.1') === 'up' &&
          /10\.50\.3\.1\s+\S+\s+Up/.test(bs) &&
          ['10.50.1.2', '10.50.2.2', '10.50.3.2'].every((p) => v.get(p)?.state === 'Up')
        );
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'BFD sessions Up on every side' },
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}${await diagnostics()}`);
    });
    // OSPF adjacencies come first; every session gets both clients once OSPF reaches 2-Way.
    await waitFor(
      async () => [...(await vrBfd(vr)).values()].every((s) => s.clients.join(',') === 'bgp,ospf'),
      { timeoutMs: 30_000, intervalMs: 500, what: 'BGP and OSPF as clients of each session' },
    );
    const v = await vrBfd(vr);
    const fa1 = v.get('10.50.1.2')!;
    assert.equal(fa1.interface, 'eth0');
    assert.equal(fa1.txIntervalMs, 100, 'the peer asks for 100 ms too');
    assert.equal(fa1.detectionTimeMs, 300, '3 × 100 ms');
    // nexthop show bfd (the VR's control socket: no nexthopd here).
    const cli = await promisify(execFile)(process.execPath, [
      CLI_MAIN,
      'show',
      'bfd',
      '--vr',
      'core',
      '--run-dir',
      vr.runDir,
    ]);
    assert.match(cli.stdout, /10\.50\.1\.2\s+eth0\s+Up\s+Up\s+-\s+100ms\s+300ms/);
    assert.match(cli.stdout, /bgp,ospf/);
  });

  test('BGP and OSPF routes over the cheaper link; the host pings FRR’s networks', async () => {
    await waitFor(
      async () =>
        (await vrRoute(vr, '10.50.202.0/24'))?.via.includes('10.50.1.2') === true &&
        (await vrRoute(vr, '10.50.201.0/24'))?.via.includes('10.50.1.2') === true,
      { timeoutMs: 60_000, intervalMs: 500, what: 'VR routes over link a' },
    ).catch(async (err) => {
      throw new Error(
        `${(err as Error).message}\n${JSON.stringify(await request(vr.control, 'show.routes', { family: 4 }))}`,
      );
    });
    await waitFor(async () => (await h.exec('ping', ['-c', '1', '-W', '1', '10.50.201.1'])).code === 0, {
      timeoutMs: 30_000,
      intervalMs: 300,
      what: 'ping over OSPF routes',
    });
    for (const dst of ['10.50.201.1', '10.50.202.1']) {
      const p = parsePing(await h.execOk('ping', ['-c', '3', '-i', '0.2', '-W', '2', dst]));
      assert.equal(p.received, 3, `ping ${dst}`);
    }
  });

  test('link a cut without a carrier change: BFD Down within 1 s, the BGP session and OSPF neighbour with it, traffic over link b', async () => {
    // The bridge port towards FRR goes down; the VR's side of link a keeps its carrier.
    const t0 = performance.now();
    await sw.execOk('ip', ['link', 'set', `wf-${t}`, 'down']);
    let bfdMs = -1;
    await waitFor(
      async () => {
        const s = (await vrBfd(vr)).get('10.50.1.2');
        if (s?.state !== 'Down') return false;
        bfdMs = performance.now() - t0;
        return true;
      },
      { timeoutMs: 10_000, intervalMs: 20, what: 'the VR session to 10.50.1.2 Down' },
    );
    const s = (await vrBfd(vr)).get('10.50.1.2')!;
    assert.equal(s.diagnostic, 'control-detection-time-expired');
    const links = (await request(vr.control, 'show.interfaces')) as { name: string; carrier: boolean }[];
    assert.equal(links.find((l) => l.name === 'eth0')?.carrier, true, 'the VR saw no carrier change');
    // The BGP session went down at once (Cease/BFD Down), not at its hold timer (180 s).
    const bgp = (await request(vr.control, 'show.bgp')) as {
      peers: { name: string; state: string; lastError?: string }[];
    };
    const peerA = bgp.peers.find((p) => p.name === 'fa')!;
    assert.notEqual(peerA.state, 'Established');
    assert.match(peerA.lastError ?? '', /BFD down/);
    // The OSPF neighbour on eth0 is gone (dead interval 10 s: BFD killed it).
    const nbrs = (await request(vr.control, 'show.ospf', { what: 'neighbors' })) as { interface: string }[];
    assert.ok(!nbrs.some((n) => n.interface === 'eth0'), JSON.stringify(nbrs));
    // The BGP route moves with the session; the OSPF one once a Router-LSA without link a reaches
    // SPF (FRR's and ours, both re-originated at once: lsa throttle 0, lsaInterval 0).
    let bgpMs = -1;
    let ospfMs = -1;
    await waitFor(
      async () => {
        if (bgpMs < 0 && (await vrRoute(vr, '10.50.202.0/24'))?.via.includes('10.50.2.2') === true)
          bgpMs = performance.now() - t0;
        if (ospfMs < 0 && (await vrRoute(vr, '10.50.201.0/24'))?.via.includes('10.50.2.2') === true)
          ospfMs = performance.now() - t0;
        return bgpMs >= 0 && ospfMs >= 0;
      },
      { timeoutMs: 15_000, intervalMs: 20, what: 'VR routes over link b' },
    );
    let pingMs = -1;
    await waitFor(
      async () => {
        const ok =
          (await h.exec('ping', ['-c', '1', '-W', '1', '10.50.201.1'])).code === 0 &&
          (await h.exec('ping', ['-c', '1', '-W', '1', '10.50.202.1'])).code === 0;
        if (ok) pingMs = performance.now() - t0;
        return ok;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: 'pings over link b' },
    );
    // FRR saw it too (its bfdd, its clients).
    await waitFor(async () => (await frrBfdPeers(frr)).get('10.50.1.1') === 'down', {
      timeoutMs: 5_000,
      intervalMs: 50,
      what: 'FRR session to 10.50.1.1 down',
    });
    console.log(
      `# BFD link cut: VR session Down after ${bfdMs.toFixed(0)} ms (detection time 300 ms, polled every 20 ms); BGP route over link b after ${bgpMs.toFixed(0)} ms, OSPF route after ${ospfMs.toFixed(0)} ms; pings through after ${pingMs.toFixed(0)} ms`,
    );
    assert.ok(bfdMs < 1000, `BFD down after ${bfdMs} ms`);
    assert.ok(bgpMs < 1500, `BGP route moved after ${bgpMs} ms`);
    assert.ok(ospfMs < 1500, `OSPF route moved after ${ospfMs} ms`);
    // The other sessions stayed Up.
    const v = await vrBfd(vr);
    assert.equal(v.get('10.50.2.2')?.state, 'Up');
    assert.equal(v.get('10.50.3.2')?.state, 'Up');
    // Repair: the session comes back Up, and the routes return to link a.
    await sw.execOk('ip', ['link', 'set', `wf-${t}`, 'up']);
    await waitFor(async () => (await vrBfd(vr)).get('10.50.1.2')?.state === 'Up', {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'the session to 10.50.1.2 Up again',
    });
    await waitFor(async () => (await vrRoute(vr, '10.50.201.0/24'))?.via.includes('10.50.1.2') === true, {
      timeoutMs: 60_000,
      intervalMs: 300,
      what: 'OSPF route back over link a',
    });
  });
});
