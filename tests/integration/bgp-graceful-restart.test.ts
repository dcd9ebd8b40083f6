// Issue 11: BGP graceful restart (RFC 4724) between a VR and FRR, both ways, in namespaces.
//
//   f (FRR bgpd, AS 65001, `bgp graceful-restart`, lan0 10.33.201.1/24)
//     │ 10.33.1.0/24
//   r (the VR "core", AS 65000, gracefulRestart.restart; redistributes its connected subnets)
//     │ 10.33.2.0/24
//   h (a plain host 10.33.2.2, default route via the VR)
//
// (1) The VR is killed (SIGKILL: its user-space TCP dies with it, no FIN, no RST) and a new VR
// process starts on the same run directory: FRR keeps the VR's routes, stale, until the new VR's
// End-of-RIB, and never withdraws them; the new VR says it restarted (R bit) and deferred selection.
// (2) FRR's bgpd is killed and started again: the VR keeps FRR's routes (stale) in its Loc-RIB and
// FIB meanwhile, h keeps reaching FRR's LAN while the data path allows it, and the routes are
// refreshed (not stale) after FRR's End-of-RIB, never withdrawn from the VR's FIB.
// (3) nexthopd restarts the VR (`nexthop vr restart`: a graceful stop, then a new process on its run
// directory): FRR keeps the routes stale and never withdraws them, and they are refreshed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from '@nexthop/control';
import { type Netns, parsePing, waitFor } from '@nexthop/netns';
import { type BgpPeerNs, type BgpTopology, bgpTopology } from '../lib/bgp-topology.ts';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { type RunningFrr, startFrr } from '../lib/frr.ts';
import { startNexthopd } from '../lib/nexthopd.ts';
import { type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

function vrConfig(r0: string, r1: string): string {
  return `routers:
  core:
    interfaces:
      eth0: { driver: afpacket, device: ${r0}, addresses: [10.33.1.1/24] }
      eth1: { driver: afpacket, device: ${r1}, addresses: [10.33.2.1/24] }
    bgp:
      asn: 65000
      routerId: 10.33.0.1
      redistribute: [connected]
      gracefulRestart: { restart: true, restartTime: 120 }
      neighbors:
        frr: { address: 10.33.1.2, remoteAs: 65001, families: [ipv4], import: accept, export: accept, holdTime: 30 }
`;
}

// FRR's documented graceful restart (docs.frrouting.org, "Graceful Restart"): `bgp graceful-restart`
// makes it a Restarting Speaker too; preserve-fw-state sets the F bit (zebra keeps its routes).
const FRR_CONFIG = `hostname frr
router bgp 65001
 bgp router-id 10.33.1.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp graceful-restart
 bgp graceful-restart preserve-fw-state
 bgp graceful-restart restart-time 120
 timers bgp 10 30
 neighbor 10.33.1.1 remote-as 65000
 address-family ipv4 unicast
  network 10.33.201.0/24
 exit-address-family
`;

interface FrrPath {
  valid?: boolean;
  stale?: boolean;
  aspath?: { string: string };
}

async function frrPaths(frr: RunningFrr, prefix: string): Promise<FrrPath[]> {
  const out = await frr.json<{ paths?: FrrPath[] }>(`show bgp ipv4 unicast ${prefix} json`);
  return out.paths ?? [];
}

interface VrRoute {
  prefix: string;
  from: string;
  stale: boolean;
  best: boolean;
}
async function vrBgpRoutes(vr: RunningVr, prefix: string): Promise<VrRoute[]> {
  return (await request(vr.control, 'show.bgp', { what: 'routes', prefix })) as VrRoute[];
}
async function vrFibHas(vr: RunningVr, prefix: string): Promise<boolean> {
  const routes = (await request(vr.control, 'show.routes')) as { prefix: string; protocol: string }[];
  return routes.some((r) => r.prefix === prefix && r.protocol === 'bgp');
}
interface GrShow {
  restarting: boolean;
  staleRoutes: number;
  peerRestartState: boolean;
  received: boolean;
}
async function vrNeighbor(vr: RunningVr): Promise<{ state: string; gracefulRestart: GrShow }> {
  const peers = (await request(vr.control, 'show.bgp', { what: 'neighbors' })) as {
    state: string;
    gracefulRestart: GrShow;
  }[];
  return peers[0]!;
}

/** Samples `probe` every 200 ms until stopped; counts the samples where it was false. */
function watch(probe: () => Promise<boolean>): { stop(): Promise<{ samples: number; misses: number }> } {
  let running = true;
  let samples = 0;
  let misses = 0;
  const loop = (async () => {
    while (running) {
      samples++;
      if (!(await probe().catch(() => false))) misses++;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { samples, misses };
    },
  };
}

describe('BGP graceful restart: a VR and FRR', () => {
  let topo: BgpTopology;
  let f: Netns;
  let h: Netns;
  let frr: RunningFrr;
  let vr: RunningVr;
  let r0: string;
  let r1: string;

  before(async () => {
    topo = await bgpTopology([
      { tag: 'grf', link4: '10.33.1.2/24', lan4: '10.33.201.1/24' },
      { tag: 'grh', link4: '10.33.2.2/24' },
    ]);
    const [pf, ph] = topo.peers as [BgpPeerNs, BgpPeerNs];
    f = pf.ns;
    h = ph.ns;
    r0 = pf.vrDevice;
    r1 = ph.vrDevice;
    await h.execOk('ip', ['route', 'add', 'default', 'via', '10.33.2.1']);
    vr = await startVr(topo.r, 'core', vrConfig(r0, r1));
    frr = await startFrr(f, FRR_CONFIG);
  });

  after(async () => {
    await frr?.stop();
    await vr?.stop();
    await topo?.destroy();
  });

  const established = async () =>
    waitFor(async () => (await vrNeighbor(vr)).state === 'Established', {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: `session up: ${vr.log().slice(-2000)}`,
    });
  const ping = async () =>
    parsePing(
      (await h.exec('ping', ['-n', '-c', '1', '-W', '1', '10.33.201.1'], { timeoutMs: 5_000 })).stdout,
    ).received === 1;

  test('the session comes up with graceful restart both ways; h reaches FRR’s LAN', async () => {
    await established();
    await waitFor(async () => (await frrPaths(frr, '10.33.2.0/24')).some((p) => p.valid), {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: 'FRR learning 10.33.2.0/24',
    });
    await waitFor(async () => vrFibHas(vr, '10.33.201.0/24'), {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: 'the VR learning 10.33.201.0/24',
    });
    const n = await vrNeighbor(vr);
    assert.equal(n.gracefulRestart.received, true, JSON.stringify(n));
    const frrNeighbor = await frr.vtysh('show bgp neighbors 10.33.1.1');
    assert.match(frrNeighbor, /Graceful Restart Capability: advertised and received/);
    await waitFor(ping, { timeoutMs: 20_000, intervalMs: 500, what: 'ping h → 10.33.201.1' });
  });

  test('the VR is killed and restarted: FRR keeps its routes stale, then refreshed, never withdrawn', async () => {
    // Sampled all along (every 200 ms): present every time, and stale at some point (the window
    // is short: from the new VR's connection to its End-of-RIB).
    let sawStale = false;
    const present = watch(async () => {
      const p = await frrPaths(frr, '10.33.2.0/24');
      if (p.some((x) => x.stale === true)) sawStale = true;
      return p.length > 0;
    });
    process.kill(vr.pid, 'SIGKILL');
    await vr.stopped();
    // The killed VR's stack answered nothing: FRR learns of it from the new VR (its connection,
    // or the RST its stack sends to the old one), so the new one starts now.
    vr = await startVr(topo.r, 'core', vrConfig(r0, r1), { runDir: vr.runDir });
    assert.match(vr.log(), /restarted within the Restart Time/);
    await established();
    await waitFor(
      async () => {
        const p = await frrPaths(frr, '10.33.2.0/24');
        return p.length > 0 && p.every((x) => x.stale !== true && x.valid === true);
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'FRR refreshing 10.33.2.0/24 (not stale)' },
    );
    const { samples, misses } = await present.stop();
    assert.equal(misses, 0, `FRR withdrew 10.33.2.0/24 in ${misses} of ${samples} samples`);
    assert.ok(sawStale, 'FRR had 10.33.2.0/24 stale during the restart');
    assert.match(vr.log(), /route selection runs/);
    await waitFor(ping, { timeoutMs: 20_000, intervalMs: 500, what: 'ping h → 10.33.201.1 again' });
  });

  test('FRR’s bgpd is killed and restarted: the VR keeps its routes stale in the RIB and FIB, then refreshed', async () => {
    await established();
    const inFib = watch(async () => vrFibHas(vr, '10.33.201.0/24'));
    let pings = 0;
    let pingsOk = 0;
    await frr.kill('bgpd');
    await waitFor(async () => (await vrNeighbor(vr)).gracefulRestart.restarting, {
      timeoutMs: 40_000,
      intervalMs: 100,
      what: `the VR noticing FRR's restart: ${JSON.stringify(await vrNeighbor(vr))}`,
    });
    const stale = await vrBgpRoutes(vr, '10.33.201.0/24');
    assert.ok(
      stale.some((r) => r.from === 'frr' && r.stale),
      JSON.stringify(stale),
    );
    assert.ok(await vrFibHas(vr, '10.33.201.0/24'));
    // While bgpd is down the VR forwards on its stale route; FRR's kernel still has its own
    // route back to h (zebra keeps a graceful-restart client's routes).
    for (let i = 0; i < 3; i++) {
      pings++;
      if (await ping()) pingsOk++;
    }
    await frr.start('bgpd');
    await established();
    await waitFor(
      async () => {
        const rs = await vrBgpRoutes(vr, '10.33.201.0/24');
        return (
          rs.some((r) => r.from === 'frr' && !r.stale) &&
          (await vrNeighbor(vr)).gracefulRestart.staleRoutes === 0
        );
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'the VR refreshing 10.33.201.0/24' },
    );
    const n = await vrNeighbor(vr);
    assert.equal(n.gracefulRestart.peerRestartState, true, JSON.stringify(n));
    const { samples, misses } = await inFib.stop();
    assert.equal(misses, 0, `10.33.201.0/24 left the VR's FIB in ${misses} of ${samples} samples`);
    assert.equal(pingsOk, pings, `pings through the VR while bgpd was down: ${pingsOk}/${pings}`);
    await waitFor(ping, { timeoutMs: 20_000, intervalMs: 500, what: 'ping h → 10.33.201.1 after' });
  });

  test('nexthopd restarts the VR (nexthop vr restart): FRR keeps its routes stale, never withdraws them', async () => {
    // The VR moves under nexthopd: the standalone one stops (a Restarting Speaker closes its
    // sessions without a NOTIFICATION), nexthopd starts it; then nexthopd restarts it.
    await vr.stop();
    const daemon = await startNexthopd(topo.r, vrConfig(r0, r1));
    try {
      const fresh = async () => {
        const reply = await daemon.api('GET', '/vrs/core/bgp/neighbors').catch(() => null);
        const n = reply?.status === 200 ? (reply.json() as { state: string }[])[0] : undefined;
        if (n?.state !== 'Established') return false;
        const p = await frrPaths(frr, '10.33.2.0/24');
        return p.length > 0 && p.every((x) => x.stale !== true && x.valid === true);
      };
      await waitFor(fresh, {
        timeoutMs: 40_000,
        intervalMs: 250,
        what: `the VR under nexthopd\n${daemon.log()}`,
      });
      let sawStale = false;
      const present = watch(async () => {
        const p = await frrPaths(frr, '10.33.2.0/24');
        if (p.some((x) => x.stale === true)) sawStale = true;
        return p.length > 0;
      });
      const r = await daemon.cli(['vr', 'restart', 'core']);
      assert.equal(r.code, 0, r.stderr);
      await waitFor(fresh, {
        timeoutMs: 40_000,
        intervalMs: 250,
        what: 'FRR refreshing the routes after the restart',
      });
      const { samples, misses } = await present.stop();
      assert.equal(misses, 0, `FRR withdrew 10.33.2.0/24 in ${misses} of ${samples} samples`);
      assert.ok(sawStale, 'FRR had 10.33.2.0/24 stale during the restart');
      assert.match(daemon.log(), /restarted within the Restart Time/);
      await waitFor(ping, { timeoutMs: 20_000, intervalMs: 500, what: 'ping h → 10.33.201.1 after' });
    } finally {
      await daemon.stop();
      daemon.removeDirs();
    }
  });
});
