// Issue 12: RIPv2 and RIPng in a VR between FRR (ripd, ripngd) and BIRD (rip, rip ng), read from the
// peers' side.
//
//   f (FRR, lan0 10.41.201.1/24 2001:db8:41:201::1/64)
//     │ 10.41.1.0/24, 2001:db8:41:1::/64
//   r (the VR "core"; its kernel has no addresses and does not forward)
//     │ 10.41.2.0/24, 2001:db8:41:2::/64
//   b (BIRD 2, lan0 10.41.202.1/24 2001:db8:41:202::1/64)
//
// Short timers everywhere (update 5 s, timeout 15 s, garbage 10 s: FRR's `timers basic 5 15 10`).
// The hosts behind FRR and BIRD reach each other only over routes learned by RIP; FRR and BIRD put
// what they learn into their namespace's kernel.
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
const TIMERS = '{ update: 5, timeout: 15, garbage: 10 }';

function vrConfig(r0: string, r1: string, frrKey?: string): string {
  const auth = frrKey === undefined ? '' : `, authentication: [{ id: 1, algorithm: md5, secret: ${frrKey} }]`;
  return `routers:
  core:
    interfaces:
      eth0: { driver: afpacket, device: ${r0}, addresses: [10.41.1.1/24, 2001:db8:41:1::1/64] }
      eth1: { driver: afpacket, device: ${r1}, addresses: [10.41.2.1/24, 2001:db8:41:2::1/64] }
    rip:
      interfaces:
        eth0: { cost: 1${auth} }
        eth1: {}
      timers: ${TIMERS}
    ripng:
      interfaces: { eth0: {}, eth1: {} }
      timers: ${TIMERS}
`;
}

// Each block ends with `exit`: every FRR daemon reads this one file, and without it ripngd would take
// the lines of `router rip`, which it does not know, as its own.
const frrConfig = (dev: string) => `hostname frr
interface ${dev}
exit
router rip
 version 2
 network 10.41.1.0/24
 redistribute connected
 timers basic 5 15 10
exit
router ripng
 network 2001:db8:41:1::/64
 redistribute connected
 timers basic 5 15 10
exit
`;

const birdConfig = (dev: string) => `router id 10.41.2.2;
protocol device { scan time 1; }
protocol direct { ipv4; ipv6; interface "lan0"; }
protocol kernel { ipv4 { import none; export where source = RTS_RIP; }; }
protocol kernel { ipv6 { import none; export where source = RTS_RIP; }; }
protocol rip rip4 {
  ipv4 { import all; export all; };
  interface "${dev}" { version 2; update time 5; timeout time 15; garbage time 10; };
}
protocol rip ng rip6 {
  ipv6 { import all; export all; };
  interface "${dev}" { update time 5; timeout time 15; garbage time 10; };
}
`;

/** FRR's RIP (or RIPng) route to a prefix: its metric, or null when it has none (or only at 16). */
async function frrMetric(frr: RunningFrr, prefix: string): Promise<number | null> {
  const out = await frr.vtysh(prefix.includes(':') ? 'show ipv6 ripng' : 'show ip rip');
  // RIPng wraps a long prefix onto its own line; the metric follows the next hop either way.
  const at = out.indexOf(` ${prefix}`);
  if (at < 0) return null;
  const line = out.slice(out.lastIndexOf('\n', at) + 1);
  if (!/^R\(n\)/.test(line)) return null;
  // show ip rip: network, next hop, metric, from…; show ipv6 ripng: network, next hop, via, metric…
  const columns = prefix.includes(':') ? '\\S+\\s+\\S+\\s+\\S+' : '\\S+\\s+\\S+';
  const m = new RegExp(`^R\\(n\\)\\s+${columns}\\s+(\\d+)\\s`, 'm').exec(line.replace(/\n\s+/, ' '));
  const metric = m === null ? null : Number(m[1]);
  return metric === 16 ? null : metric;
}

/** BIRD's RIP route to a prefix: its metric, or null. */
async function birdMetric(bird: RunningBird, prefix: string): Promise<number | null> {
  const proto = prefix.includes(':') ? 'rip6' : 'rip4';
  const out = await bird.birdc(`show route ${prefix} protocol ${proto}`).catch(() => '');
  const m = /\[rip[46] [^\]]*\][^(]*\(\d+\/(\d+)\)/.exec(out);
  return m === null ? null : Number(m[1]);
}

async function cli(runDir: string, args: string[]): Promise<string> {
  const r = await promisify(execFile)(process.execPath, [CLI_MAIN, ...args, '--run-dir', runDir]);
  return r.stdout;
}

interface RipShow {
  routes: { prefix: string; metric: number; nextHop: string; interface: string; origin: string }[];
  neighbors: { address: string; interface: string; sequence: number | null }[];
  interfaces: { name: string; drops: Record<string, number>; inResponses: number; outResponses: number }[];
}

async function vrRip(vr: RunningVr): Promise<{ rip: RipShow; ripng: RipShow }> {
  return (await request(vr.control, 'show.rip')) as { rip: RipShow; ripng: RipShow };
}

describe('RIP: a VR between FRR and BIRD', () => {
  let topo: BgpTopology;
  let f: Netns;
  let b: Netns;
  let frr: RunningFrr;
  let bird: RunningBird;
  let vr: RunningVr;
  let r0: string;
  let r1: string;
  let fDev: string;

  before(async () => {
    topo = await bgpTopology([
      {
        tag: 'ripf',
        link4: '10.41.1.2/24',
        link6: '2001:db8:41:1::2/64',
        lan4: '10.41.201.1/24',
        lan6: '2001:db8:41:201::1/64',
      },
      {
        tag: 'ripb',
        link4: '10.41.2.2/24',
        link6: '2001:db8:41:2::2/64',
        lan4: '10.41.202.1/24',
        lan6: '2001:db8:41:202::1/64',
      },
    ]);
    const [pf, pb] = topo.peers as [BgpPeerNs, BgpPeerNs];
    f = pf.ns;
    b = pb.ns;
    r0 = pf.vrDevice;
    r1 = pb.vrDevice;
    fDev = pf.device;
    const bDev = pb.device;
    vr = await startVr(topo.r, 'core', vrConfig(r0, r1));
    frr = await startFrr(f, frrConfig(fDev), ['ripd', 'ripngd']);
    bird = await startBird(b, birdConfig(bDev));
  });

  after(async () => {
    await frr?.stop();
    await bird?.stop();
    await vr?.stop();
    await topo?.destroy();
  });

  test('FRR (ripd) learns BIRD’s network through the VR (metric 3) and the VR’s link to BIRD (metric 2)', async () => {
    for (const [prefix, metric] of [
      ['10.41.202.0/24', 3],
      ['10.41.2.0/24', 2],
    ] as const) {
      await waitFor(async () => (await frrMetric(frr, prefix)) === metric, {
        timeoutMs: 30_000,
        intervalMs: 500,
        what: `FRR learning ${prefix} at metric ${metric}: ${await frr.vtysh(prefix.includes(':') ? 'show ipv6 ripng' : 'show ip rip')}\n${vr.log().slice(-3000)}`,
      });
    }
  });

  test('FRR (ripngd) learns BIRD’s IPv6 network through the VR (metric 3)', async () => {
    for (const [prefix, metric] of [
      ['2001:db8:41:202::/64', 3],
      ['2001:db8:41:2::/64', 2],
    ] as const) {
      await waitFor(async () => (await frrMetric(frr, prefix)) === metric, {
        timeoutMs: 20_000,
        intervalMs: 500,
        what: `FRR learning ${prefix} at metric ${metric}`,
      });
    }
  });

  test('BIRD learns FRR’s networks through the VR (metric 3)', async () => {
    for (const prefix of ['10.41.201.0/24', '2001:db8:41:201::/64']) {
      await waitFor(async () => (await birdMetric(bird, prefix)) === 3, {
        timeoutMs: 30_000,
        intervalMs: 500,
        what: `BIRD learning ${prefix}: ${await bird.birdc('show route')}`,
      });
    }
  });

  test('hosts behind FRR and BIRD ping each other over RIP-learned routes only', async () => {
    for (const [src, dst] of [
      ['10.41.201.1', '10.41.202.1'],
      ['2001:db8:41:201::1', '2001:db8:41:202::1'],
    ] as const) {
      const ping = async () =>
        f.exec('ping', ['-n', '-c', '3', '-i', '0.2', '-W', '2', '-I', src, dst], { timeoutMs: 20_000 });
      await waitFor(async () => parsePing((await ping()).stdout).received === 3, {
        timeoutMs: 30_000,
        intervalMs: 500,
        what: `ping ${src} → ${dst}`,
      });
    }
    const routes = (await request(vr.control, 'show.routes')) as {
      prefix: string;
      protocol: string;
      selected: boolean;
      distance: number;
    }[];
    for (const prefix of ['10.41.201.0/24', '10.41.202.0/24', '2001:db8:41:201::/64', '2001:db8:41:202::/64'])
      assert.ok(
        routes.some((x) => x.prefix === prefix && x.protocol === 'rip' && x.selected && x.distance === 120),
        `${prefix} in the VR's FIB from RIP: ${JSON.stringify(routes)}`,
      );
  });

  test('show rip answers as text and JSON: routes with metric and next hop, neighbours, interface counters', async () => {
    const s = await vrRip(vr);
    const r = s.rip.routes.find((x) => x.prefix === '10.41.201.0/24');
    assert.deepEqual(
      r && { metric: r.metric, nextHop: r.nextHop, interface: r.interface, origin: r.origin },
      { metric: 2, nextHop: '10.41.1.2', interface: 'eth0', origin: 'rip' },
    );
    assert.ok(s.rip.neighbors.some((n) => n.address === '10.41.2.2' && n.interface === 'eth1'));
    assert.ok(s.ripng.neighbors.some((n) => n.address.startsWith('fe80::') && n.interface === 'eth0'));
    const eth1 = s.rip.interfaces.find((i) => i.name === 'eth1')!;
    assert.ok(eth1.inResponses > 0 && eth1.outResponses > 0, JSON.stringify(eth1));
    const text = await cli(vr.runDir, ['show', 'rip', 'routes', '--vr', 'core']);
    assert.match(text, /10\.41\.202\.0\/24\s+2\s+10\.41\.2\.2\s+eth1/);
    assert.match(text, /2001:db8:41:201::\/64\s+2\s+fe80::\S+\s+eth0/);
    const json = JSON.parse(await cli(vr.runDir, ['show', 'rip', 'interfaces', '--vr', 'core', '-j'])) as {
      rip: { name: string }[];
    };
    assert.deepEqual(json.rip.map((i) => i.name).sort(), ['eth0', 'eth1']);
  });

  test('a network withdrawn at BIRD leaves FRR and the VR within the timers, and comes back', async () => {
    await b.execOk('ip', ['addr', 'del', '10.41.202.1/24', 'dev', 'lan0']);
    const t0 = Date.now();
    await waitFor(async () => (await frrMetric(frr, '10.41.202.0/24')) === null, {
      timeoutMs: 40_000,
      intervalMs: 250,
      what: 'FRR losing 10.41.202.0/24',
    });
    assert.ok(Date.now() - t0 < 30_000, `gone after ${Date.now() - t0} ms`);
    await waitFor(
      async () => (await f.exec('ip', ['route', 'show', '10.41.202.0/24'])).stdout.trim() === '',
      {
        timeoutMs: 20_000,
        intervalMs: 250,
        what: 'FRR’s kernel losing the route',
      },
    );
    const vrRoute = (await vrRip(vr)).rip.routes.find((x) => x.prefix === '10.41.202.0/24');
    assert.ok(vrRoute === undefined || vrRoute.metric === 16, JSON.stringify(vrRoute));
    await b.execOk('ip', ['addr', 'add', '10.41.202.1/24', 'dev', 'lan0']);
    await waitFor(async () => (await frrMetric(frr, '10.41.202.0/24')) === 3, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'FRR learning 10.41.202.0/24 again',
    });
  });

  test('RIPv2 MD5 authentication with FRR (key chain, `ip rip authentication mode md5`): routes with the right key; a wrong key rejected and counted', async () => {
    await frr.vtysh(
      `configure terminal\nkey chain vrkeys\nkey 1\nkey-string s3cret\nexit\nexit\ninterface ${fDev}\nip rip authentication mode md5\nip rip authentication key-chain vrkeys`,
    );
    await request(vr.control, 'config.apply', { text: vrConfig(r0, r1, 's3cret') });
    // Signed both ways: the VR hears FRR's sequence numbers, FRR keeps the VR's routes.
    await waitFor(
      async () => {
        const s = await vrRip(vr);
        return s.rip.neighbors.some((n) => n.address === '10.41.1.2' && n.sequence !== null);
      },
      { timeoutMs: 20_000, intervalMs: 250, what: 'a signed update from FRR' },
    );
    const before = (await vrRip(vr)).rip.interfaces.find((i) => i.name === 'eth0')!.drops['auth'] ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 6000));
    assert.equal(await frrMetric(frr, '10.41.202.0/24'), 3, 'FRR still has the VR’s routes');
    assert.equal((await vrRip(vr)).rip.routes.find((x) => x.prefix === '10.41.201.0/24')?.metric, 2);
    assert.equal(
      (await vrRip(vr)).rip.interfaces.find((i) => i.name === 'eth0')!.drops['auth'] ?? 0,
      before,
      'no authentication failure while the keys agree',
    );
    // A wrong key: each side drops the other's updates; routes time out on both.
    await request(vr.control, 'config.apply', { text: vrConfig(r0, r1, 'wrong') });
    await waitFor(
      async () =>
        ((await vrRip(vr)).rip.interfaces.find((i) => i.name === 'eth0')!.drops['auth'] ?? 0) > before,
      { timeoutMs: 20_000, intervalMs: 250, what: 'the VR counting authentication failures' },
    );
    await waitFor(
      async () => {
        const r = (await vrRip(vr)).rip.routes.find((x) => x.prefix === '10.41.201.0/24');
        return r === undefined || r.metric === 16;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'FRR’s route timing out in the VR' },
    );
    await waitFor(async () => (await frrMetric(frr, '10.41.202.0/24')) === null, {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: 'the VR’s routes timing out in FRR',
    });
    const status = await frr.vtysh('show ip rip status');
    assert.match(status, /10\.41\.1\.1\s+(\d+)/, status);
    const bad = Number(/10\.41\.1\.1\s+(\d+)/.exec(status)![1]);
    assert.ok(bad > 0, `FRR counts bad packets from the VR: ${status}`);
    const counters = await cli(vr.runDir, ['show', 'rip', 'interfaces', '--vr', 'core']);
    assert.match(counters, /eth0.*auth \d+/s);
  });
});
