// Issue 2's acceptance: h1 (10.1.0.2/24) — VR — h2 (10.2.0.2/24), the router namespace's kernel with
// no addresses and forwarding off, so whatever crosses was routed by the VR process.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parsePing, parseTraceroute, type RoutedTopology, routedTopology, waitFor } from '@nexthop/netns';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { type FrameEnds, malformedFrames, validEchoFrame } from '../lib/malformed.ts';
import { sendFrames } from '../lib/rawsend.ts';
import { edgeConfig, type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

/** h2 also answers for 10.99.1.1, reached through this route. */
const STATIC_ROUTE = 'routes:\n- { prefix: 10.99.0.0/16, via: 10.2.0.2 }';

async function ping(topo: RoutedTopology, args: string[]): Promise<{ code: number; stdout: string }> {
  return topo.h1.exec('ping', ['-n', '-W', '2', ...args], { timeoutMs: 30_000 });
}

describe('a VR routes between two hosts', () => {
  let topo: RoutedTopology;
  let vr: RunningVr;

  before(async () => {
    topo = await routedTopology();
    // h2 also answers for an address behind it, reached through the VR's static route.
    await topo.h2.execOk('ip', ['addr', 'add', '10.99.1.1/32', 'dev', 'lo']);
    assert.equal((await topo.r.execOk('ip', ['-4', '-o', 'addr', 'show', 'scope', 'global'])).trim(), '');
    assert.equal((await topo.r.execOk('sysctl', ['-n', 'net.ipv4.ip_forward'])).trim(), '0');
    vr = await startVr(topo.r, 'edge', edgeConfig(topo, { extra: STATIC_ROUTE }));
  });

  after(async () => {
    await vr?.stop();
    await topo?.destroy();
  });

  test('ps names the VR process after its router', () => {
    const args = execFileSync('ps', ['-o', 'args=', '-p', String(vr.pid)], { encoding: 'utf8' }).trim();
    assert.equal(args, 'nexthop-vr: edge');
  });

  test('ping h1 → h2 loses nothing', async () => {
    const r = await ping(topo, ['-c', '20', '-i', '0.05', '10.2.0.2']);
    const s = parsePing(r.stdout);
    assert.equal(s.transmitted, 20, r.stdout);
    assert.equal(s.received, 20, r.stdout);
  });

  test('1400-byte pings with DF set and 3000-byte pings fragmented by the sender get through', async () => {
    const df = await ping(topo, ['-c', '5', '-i', '0.05', '-M', 'do', '-s', '1372', '10.2.0.2']);
    assert.equal(parsePing(df.stdout).received, 5, df.stdout);
    const before = (await vr.counters()).stats;
    const big = await ping(topo, ['-c', '5', '-i', '0.05', '-M', 'dont', '-s', '2972', '10.2.0.2']);
    assert.equal(parsePing(big.stdout).received, 5, big.stdout);
    const afterStats = (await vr.counters()).stats;
    // Each 3000-byte datagram crosses as three fragments, both ways: 30 forwarded packets at least.
    assert.ok(afterStats['forwarded']! - before['forwarded']! >= 30);
  });

  test('the VR answers pings to its own addresses', async () => {
    for (const address of ['10.1.0.1', '10.2.0.1']) {
      const r = await ping(topo, ['-c', '3', '-i', '0.05', address]);
      assert.equal(parsePing(r.stdout).received, 3, r.stdout);
    }
    const r = await topo.h2.exec('ping', ['-n', '-c', '3', '-i', '0.05', '-s', '3000', '10.2.0.1'], {
      timeoutMs: 20_000,
    });
    assert.equal(
      parsePing(r.stdout).received,
      3,
      `a fragmented ping to the VR is reassembled and answered\n${r.stdout}`,
    );
  });

  test('traceroute -n shows 10.1.0.1 then 10.2.0.2', async () => {
    const r = await topo.h1.exec('traceroute', ['-n', '-q', '1', '-w', '2', '-m', '5', '10.2.0.2'], {
      timeoutMs: 30_000,
    });
    assert.deepEqual(parseTraceroute(r.stdout), ['10.1.0.1', '10.2.0.2'], r.stdout);
  });

  test('no route: ICMP network unreachable from 10.1.0.1', async () => {
    const r = await ping(topo, ['-c', '1', '10.77.0.1']);
    assert.match(r.stdout, /From 10\.1\.0\.1 .*Destination Net Unreachable/, r.stdout);
    assert.ok((await vr.counters()).drops['ipv4_no_route']! >= 1);
  });

  test('TTL 1: ICMP time exceeded from 10.1.0.1', async () => {
    const r = await ping(topo, ['-c', '1', '-t', '1', '10.2.0.2']);
    assert.match(r.stdout, /From 10\.1\.0\.1 .*Time to live exceeded/, r.stdout);
  });

  test('a ping to 10.99.1.1 follows the static route to 10.2.0.2', async () => {
    const r = await ping(topo, ['-c', '3', '-i', '0.05', '10.99.1.1']);
    assert.equal(parsePing(r.stdout).received, 3, r.stdout);
    const routes = (await vr.call('show.routes')) as {
      prefix: string;
      via: string | null;
      interface: string | null;
      selected: boolean;
    }[];
    assert.ok(
      routes.some(
        (x) => x.prefix === '10.99.0.0/16' && x.via === '10.2.0.2' && x.interface === 'eth1' && x.selected,
      ),
    );
  });

  test('malformed frames from h1 are dropped and counted by reason; the VR keeps forwarding', async () => {
    const interfaces = (await vr.call('show.interfaces')) as { name: string; mac: string }[];
    const vrMac = interfaces.find((i) => i.name === 'eth0')!.mac;
    const h1Mac = (await topo.h1.execOk('cat', [`/sys/class/net/${topo.h1If}/address`])).trim();
    const ends: FrameEnds = { dstMac: vrMac, srcMac: h1Mac, srcIp: '10.1.0.2', dstIp: '10.2.0.2' };
    const expected: Record<string, string> = {
      'header-only Ethernet': 'ipv4_truncated',
      'truncated ARP': 'arp_truncated',
      'ARP with wrong address lengths': 'arp_bad_hardware',
      'truncated IPv4 header': 'ipv4_truncated',
      'IPv4 IHL 4': 'ipv4_bad_ihl',
      'IPv4 bad header checksum': 'ipv4_bad_checksum',
      'IPv4 total length beyond frame': 'ipv4_bad_total_length',
      'IPv4 TTL 0': 'ipv4_ttl_zero',
      'multicast source MAC': 'eth_src_multicast',
    };
    const frames = malformedFrames(ends);
    assert.deepEqual(frames.map((f) => f.name).sort(), Object.keys(expected).sort());
    for (const { name, frame } of frames) {
      const reason = expected[name]!;
      const before = (await vr.counters()).drops[reason]!;
      const [result] = await sendFrames(topo.h1, topo.h1If, [frame]);
      assert.equal(result?.sent, frame.length, `${name} was sent`);
      await waitFor(async () => (await vr.counters()).drops[reason]! > before, {
        timeoutMs: 3000,
        what: `${reason} to count the ${name} frame`,
      });
    }
    // A valid frame sent the same way is forwarded: the counters moved because of the bad ones.
    const forwarded = (await vr.counters()).stats['forwarded']!;
    await sendFrames(topo.h1, topo.h1If, [validEchoFrame(ends)]);
    await waitFor(async () => (await vr.counters()).stats['forwarded']! > forwarded, {
      timeoutMs: 3000,
      what: 'the valid frame',
    });
    const r = await ping(topo, ['-c', '3', '-i', '0.05', '10.2.0.2']);
    assert.equal(parsePing(r.stdout).received, 3, r.stdout);
    assert.ok(process.kill(vr.pid, 0), 'the VR process is still alive');
  });

  test('show commands print tables and parse as JSON', () => {
    const cli = [new URL('../../bin/nexthop', import.meta.url).pathname];
    for (const what of ['interfaces', 'routes', 'arp', 'counters']) {
      const text = execFileSync(cli[0]!, ['show', what, '--vr', 'edge', '--run-dir', vr.runDir], {
        encoding: 'utf8',
      });
      assert.ok(text.length > 0);
      const json = execFileSync(cli[0]!, ['show', what, '--vr', 'edge', '--run-dir', vr.runDir, '-j'], {
        encoding: 'utf8',
      });
      assert.doesNotThrow(() => JSON.parse(json));
    }
    const routes = execFileSync(cli[0]!, ['show', 'routes', '--vr', 'edge', '--run-dir', vr.runDir], {
      encoding: 'utf8',
    });
    assert.match(routes, /^10\.99\.0\.0\/16 via 10\.2\.0\.2 dev eth1 proto static/m);
    const arp = execFileSync(cli[0]!, ['show', 'arp', '--vr', 'edge', '--run-dir', vr.runDir], {
      encoding: 'utf8',
    });
    assert.match(arp, /^10\.2\.0\.2 dev eth1 lladdr [0-9a-f:]{17} (REACHABLE|STALE)/m);
  });
});

describe('a VR with MTU 1280 towards h2', () => {
  let topo: RoutedTopology;
  let vr: RunningVr;

  before(async () => {
    topo = await routedTopology();
    await topo.r.execOk('ip', ['link', 'set', 'dev', topo.r2If, 'mtu', '1280']);
    await topo.h2.execOk('ip', ['link', 'set', 'dev', topo.h2If, 'mtu', '1280']);
    vr = await startVr(topo.r, 'edge', edgeConfig(topo, { eth1Mtu: 1280, extra: STATIC_ROUTE }));
  });

  after(async () => {
    await vr?.stop();
    await topo?.destroy();
  });

  test('a 1400-byte ping with DF gets fragmentation-needed carrying MTU 1280', async () => {
    const r = await ping(topo, ['-c', '1', '-M', 'do', '-s', '1372', '10.2.0.2']);
    assert.match(r.stdout, /From 10\.1\.0\.1 .*Frag needed and DF set \(mtu = 1280\)/, r.stdout);
    assert.ok((await vr.counters()).drops['ipv4_frag_needed']! >= 1);
  });

  test('without DF the 1400-byte packet arrives fragmented', async () => {
    // h1 may have learnt the path MTU from the previous test; then it would fragment by itself.
    await topo.h1.execOk('ip', ['route', 'flush', 'cache']);
    const before = (await vr.counters()).stats;
    const r = await ping(topo, ['-c', '3', '-i', '0.05', '-M', 'dont', '-s', '1372', '10.2.0.2']);
    assert.equal(parsePing(r.stdout).received, 3, r.stdout);
    const afterStats = (await vr.counters()).stats;
    assert.equal(afterStats['packets_fragmented']! - before['packets_fragmented']!, 3);
    assert.equal(afterStats['fragments_created']! - before['fragments_created']!, 6);
  });
});

describe('VR lifecycle: carrier changes and stopping', () => {
  let topo: RoutedTopology;

  before(async () => {
    topo = await routedTopology();
  });

  after(async () => {
    await topo?.destroy();
  });

  test('losing carrier takes an interface and its routes down; regaining it announces the address', async () => {
    const vr = await startVr(topo.r, 'edge', edgeConfig(topo, { extra: STATIC_ROUTE }));
    try {
      const eth1 = async () =>
        ((await vr.call('show.interfaces')) as { name: string; up: boolean; carrier: boolean }[]).find(
          (i) => i.name === 'eth1',
        )!;
      assert.equal((await ping(topo, ['-c', '2', '-i', '0.05', '10.2.0.2'])).code, 0);
      await topo.h2.execOk('ip', ['link', 'set', topo.h2If, 'down']);
      await waitFor(async () => !(await eth1()).carrier && !(await eth1()).up, {
        timeoutMs: 5000,
        what: 'eth1 down',
      });
      const routes = (await vr.call('show.routes')) as { prefix: string; active: boolean }[];
      assert.equal(routes.find((r) => r.prefix === '10.2.0.0/24')!.active, false);
      const unreachable = await ping(topo, ['-c', '1', '10.2.0.2']);
      assert.match(unreachable.stdout, /From 10\.1\.0\.1 .*Destination Net Unreachable/, unreachable.stdout);
      const announced = (await vr.counters()).stats['arp_requests_sent']!;
      await topo.h2.execOk('ip', ['link', 'set', topo.h2If, 'up']);
      // The kernel dropped h2's default route with the link.
      await topo.h2.execOk('ip', ['route', 'replace', 'default', 'via', '10.2.0.1']);
      await waitFor(async () => (await eth1()).up, { timeoutMs: 5000, what: 'eth1 up again' });
      assert.ok(
        (await vr.counters()).stats['arp_requests_sent']! > announced,
        'gratuitous ARP on the way up',
      );
      const back = await ping(topo, ['-c', '3', '-i', '0.05', '10.2.0.2']);
      assert.equal(parsePing(back.stdout).received, 3, back.stdout);
    } finally {
      await vr.stop();
    }
  });

  test('a configured MTU above the device MTU is refused at start with what to do', async () => {
    await assert.rejects(
      startVr(topo.r, 'edge', edgeConfig(topo, { eth1Mtu: 9000, extra: STATIC_ROUTE })),
      (err: Error) => {
        assert.match(err.message, /interface eth1: mtu 9000 is larger than the MTU of device \S+ \(1500\)/);
        return true;
      },
    );
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} stops it cleanly: exit 0, interfaces restored, control socket removed`, async () => {
      // PACKET_MR_PROMISC counts in the device's promiscuity, which `ip -d link` shows.
      const promiscuity = async () =>
        Number(
          /promiscuity (\d+)/.exec(await topo.r.execOk('ip', ['-d', '-o', 'link', 'show', topo.r1If]))![1],
        );
      assert.equal(await promiscuity(), 0);
      const vr = await startVr(topo.r, 'edge', edgeConfig(topo, { extra: STATIC_ROUTE }));
      assert.equal(await promiscuity(), 1, 'the VR opens its interfaces promiscuous');
      process.kill(vr.pid, signal);
      const code = await vr.stopped();
      assert.equal(code, 0, vr.log());
      assert.equal(await promiscuity(), 0);
      assert.equal(existsSync(vr.control), false);
      assert.match(vr.log(), /"msg":"VR stopped"/);
    });
  }
});
