// OSPFv2 cryptographic authentication (RFC 2328 §D.3, keyed MD5) between the VR and FRR ospfd on a
// point-to-point link:
//
//   VR "core" eth0 10.41.9.1/30 ── key id 1, MD5 ── FRR 10.41.9.2/30 (lan0 10.41.201.1/24)
//
// With the same key both sides go Full and the VR learns FRR's LAN; FRR's key then changed in place
// (same key id, another secret): the VR drops FRR's packets as bad_auth, the adjacency goes down
// within the dead interval and never comes back to Full. Hello 1 s, dead 4 s.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from '@nexthop/control';
import { Netns, uniqueToken, vethPair, waitFor } from '@nexthop/netns';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { type RunningFrr, startFrr } from '../lib/frr.ts';
import { type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

const KEY = 'nexthop-ospf';

const vrConfig = (dev: string) => `routers:
  core:
    interfaces:
      eth0: { driver: afpacket, device: ${dev}, addresses: [10.41.9.1/30] }
    ospf:
      routerId: 10.41.255.1
      spf: { delay: 50, hold: 500 }
      areas:
        0:
          interfaces:
            eth0:
              network: point-to-point
              cost: 10
              helloInterval: 1
              deadInterval: 4
              authentication: { md5: { keyId: 1, key: "${KEY}" } }
`;

const frrConfig = (dev: string) => `hostname frr
interface ${dev}
 ip ospf area 0
 ip ospf network point-to-point
 ip ospf cost 10
 ip ospf hello-interval 1
 ip ospf dead-interval 4
 ip ospf authentication message-digest
 ip ospf message-digest-key 1 md5 ${KEY}
interface lan0
 ip ospf area 0
router ospf
 ospf router-id 10.41.0.2
 passive-interface lan0
 timers throttle spf 0 50 500
`;

interface Summary {
  counters: { drops: Record<string, number>; rx: Record<string, number> };
}

describe('OSPF MD5 authentication with FRR on a point-to-point link', () => {
  const created: Netns[] = [];
  let frr: RunningFrr;
  let vr: RunningVr;
  let f: Netns;
  const t = uniqueToken();
  const fDev = `fa-${t}`;

  const vrNeighbors = async () =>
    (await request(vr.control, 'show.ospf', { what: 'neighbors' })) as { routerId: string; state: string }[];
  const vrDrops = async () => ((await request(vr.control, 'show.ospf', {})) as Summary).counters.drops;
  const frrState = async () => {
    const out = await frr.json<{ neighbors?: Record<string, { nbrState?: string; state?: string }[]> }>(
      'show ip ospf neighbor json',
    );
    const n = out.neighbors?.['10.41.255.1']?.[0];
    return n?.nbrState ?? n?.state ?? '';
  };

  before(async () => {
    const r = await Netns.create('ospfar');
    f = await Netns.create('ospfaf');
    created.push(r, f);
    await vethPair(r, `ra-${t}`, f, fDev, { disableIpv6: true });
    await r.sysctl({ 'net.ipv4.ip_forward': '0' });
    await f.execOk('ip', ['addr', 'add', '10.41.9.2/30', 'dev', fDev]);
    await f.execOk('ip', ['link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1']);
    await f.execOk('ip', ['link', 'set', 'lan1', 'up']);
    await f.execOk('ip', ['addr', 'add', '10.41.201.1/24', 'dev', 'lan0']);
    await f.execOk('ip', ['link', 'set', 'lan0', 'up']);
    [frr, vr] = await Promise.all([
      startFrr(f, frrConfig(fDev), ['ospfd']),
      startVr(r, 'core', vrConfig(`ra-${t}`)),
    ]);
  });

  after(async () => {
    await vr?.stop();
    await frr?.stop();
    await Promise.all(created.map((ns) => ns.destroy()));
  });

  test('the same key: Full on both sides, FRR’s LAN learned, no authentication drops', async () => {
    await waitFor(
      async () =>
        (await frrState()).startsWith('Full') &&
        (await vrNeighbors()).some((n) => n.routerId === '10.41.0.2' && n.state === 'Full'),
      { timeoutMs: 30_000, intervalMs: 250, what: 'Full with MD5 on both sides' },
    ).catch(async (err) => {
      throw new Error(
        `${(err as Error).message}\nFRR: ${await frr.vtysh('show ip ospf neighbor')}\nVR: ${JSON.stringify(await request(vr.control, 'show.ospf', {}))}\n${frr.log().slice(-2000)}`,
      );
    });
    // FRR's packets carry key id 1 and a digest (show ip ospf interface says so).
    const iface = await frr.vtysh(`show ip ospf interface ${fDev}`);
    assert.match(iface, /Cryptographic authentication enabled/);
    await waitFor(
      async () => {
        const routes = (await request(vr.control, 'show.ospf', { what: 'routes' })) as { prefix: string }[];
        return routes.some((x) => x.prefix === '10.41.201.0/24');
      },
      { timeoutMs: 15_000, intervalMs: 250, what: 'the VR’s OSPF route to FRR’s LAN' },
    );
    const drops = await vrDrops();
    assert.equal(drops['bad_auth'] ?? 0, 0, JSON.stringify(drops));
    assert.equal(drops['bad_auth_type'] ?? 0, 0, JSON.stringify(drops));
  });

  test('a wrong key on FRR: its packets dropped as bad_auth, the adjacency down and never Full again', async () => {
    const before = (await vrDrops())['bad_auth'] ?? 0;
    await f.execOk('vtysh', [
      '--vty_socket',
      frr.dir,
      '-c',
      'configure terminal',
      '-c',
      `interface ${fDev}`,
      '-c',
      'no ip ospf message-digest-key 1',
      '-c',
      'ip ospf message-digest-key 1 md5 not-the-key',
    ]);
    // Gone within the dead interval (4 s) on our side: FRR's Hellos no longer count.
    await waitFor(
      async () => !(await vrNeighbors()).some((n) => n.routerId === '10.41.0.2' && n.state === 'Full'),
      {
        timeoutMs: 10_000,
        intervalMs: 200,
        what: 'the VR dropping the neighbour',
      },
    );
    // Two more dead intervals: never Full again on either side, and the drops keep being counted.
    const until = Date.now() + 8000;
    while (Date.now() < until) {
      assert.ok(!(await vrNeighbors()).some((n) => n.state === 'Full'), 'Full again with a wrong key');
      assert.ok(!(await frrState()).startsWith('Full'), 'FRR Full again with a wrong key');
      await new Promise((r) => setTimeout(r, 500));
    }
    const drops = await vrDrops();
    assert.ok((drops['bad_auth'] ?? 0) >= before + 8, JSON.stringify(drops));
    const routes = (await request(vr.control, 'show.ospf', { what: 'routes' })) as { prefix: string }[];
    assert.ok(!routes.some((x) => x.prefix === '10.41.201.0/24'), JSON.stringify(routes));
  });
});
