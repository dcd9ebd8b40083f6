import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  destroyAll,
  listNamespaces,
  liveNamespaceNames,
  Netns,
  parsePing,
  parseTraceroute,
  routedTopology,
  startInBackground,
  uniqueIfName,
  vethPair,
  waitFor,
} from '@nexthop/netns';
import { useNetnsCleanup } from '../lib/cleanup.ts';

useNetnsCleanup();

describe('netns kit: parsers', () => {
  test('parsePing', () => {
    const out = `PING 10.2.0.2 (10.2.0.2) 56(84) bytes of data.
64 bytes from 10.2.0.2: icmp_seq=1 ttl=63 time=0.071 ms

--- 10.2.0.2 ping statistics ---
3 packets transmitted, 2 received, 33.3333% packet loss, time 405ms
`;
    assert.deepEqual(parsePing(out), { transmitted: 3, received: 2, lossPercent: 33.3333 });
    assert.deepEqual(parsePing('1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms'), {
      transmitted: 1,
      received: 0,
      lossPercent: 100,
    });
    assert.throws(() => parsePing('ping: connect: Network is unreachable'));
  });

  test('parseTraceroute', () => {
    const out = `traceroute to 10.2.0.2 (10.2.0.2), 30 hops max, 60 byte packets
 1  10.1.0.1  0.050 ms  0.012 ms  0.010 ms
 2  * * *
 3  10.2.0.2  0.030 ms  0.020 ms  0.019 ms
`;
    assert.deepEqual(parseTraceroute(out), ['10.1.0.1', null, '10.2.0.2']);
  });
});

describe('netns kit: topologies', () => {
  test('routedTopology without kernel forwarding: built, and h1 cannot reach h2', async () => {
    const t = await routedTopology();
    const present = await listNamespaces();
    for (const ns of [t.h1, t.h2, t.r]) assert.ok(present.includes(ns.name), ns.name);

    const h1Addrs = await t.h1.execOk('ip', ['-4', '-o', 'addr', 'show', 'dev', t.h1If]);
    assert.match(h1Addrs, /inet 10\.1\.0\.2\/24/);
    assert.match(await t.h1.execOk('ip', ['route', 'show', 'default']), /default via 10\.1\.0\.1/);
    assert.match(await t.h2.execOk('ip', ['route', 'show', 'default']), /default via 10\.2\.0\.1/);
    // The router's kernel has no IPv4 addresses and does not forward: a VR owns these links.
    assert.equal((await t.r.execOk('ip', ['-4', '-o', 'addr', 'show', 'dev', t.r1If])).trim(), '');
    assert.equal((await t.r.execOk('ip', ['-4', '-o', 'addr', 'show', 'dev', t.r2If])).trim(), '');
    assert.equal((await t.r.execOk('sysctl', ['-n', 'net.ipv4.ip_forward'])).trim(), '0');
    assert.equal((await t.r.execOk('sysctl', ['-n', `net.ipv6.conf.${t.r1If}.disable_ipv6`])).trim(), '1');
    for (const ifname of [t.r1If, t.r2If]) {
      assert.match(await t.r.execOk('ip', ['-o', 'link', 'show', 'dev', ifname]), /[<,]UP[,>]/);
    }
    assert.match(await t.r.execOk('ip', ['-o', 'link', 'show', 'dev', 'lo']), /[<,]UP[,>]/);

    const ping = await t.h1.exec('ping', ['-c', '1', '-W', '1', t.h2Addr], { timeoutMs: 5000 });
    assert.notEqual(ping.code, 0);
    assert.equal(parsePing(ping.stdout).received, 0);

    await t.destroy();
    const after = await listNamespaces();
    for (const ns of [t.h1, t.h2, t.r]) assert.ok(!after.includes(ns.name), ns.name);
  });

  test('routedTopology with kernel forwarding: h1 pings h2 through the kernel', async () => {
    const t = await routedTopology({ kernelForwarding: true });
    const ping = await t.h1.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', t.h2Addr], {
      timeoutMs: 10_000,
    });
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    assert.deepEqual(parsePing(ping.stdout), { transmitted: 3, received: 3, lossPercent: 0 });
    const trace = await t.h1.exec('traceroute', ['-n', '-q', '1', '-w', '2', '-m', '4', t.h2Addr], {
      timeoutMs: 20_000,
    });
    assert.equal(trace.code, 0, trace.stderr);
    assert.deepEqual(parseTraceroute(trace.stdout), ['10.1.0.1', '10.2.0.2']);
  });

  test('background processes are started, waited for, and killed by destroy()', async () => {
    const a = await Netns.create('bg');
    const b = await Netns.create('bg');
    const aIf = uniqueIfName('a');
    const bIf = uniqueIfName('b');
    await vethPair(a, aIf, b, bIf, { mtu: 1400, disableIpv6: true });
    assert.match(await a.execOk('ip', ['-o', 'link', 'show', 'dev', aIf]), /mtu 1400/);
    await a.execOk('ip', ['addr', 'add', '192.0.2.1/24', 'dev', aIf]);
    await b.execOk('ip', ['addr', 'add', '192.0.2.2/24', 'dev', bIf]);
    const pinger = await startInBackground(
      a,
      'ping',
      ['-i', '0.2', '192.0.2.2'],
      (p) => /icmp_seq=\d+/.test(p.stdout()),
      { timeoutMs: 5000, what: 'a first ping reply' },
    );
    assert.ok(pinger.child.pid !== undefined);
    await a.destroy();
    const code = await pinger.exited;
    assert.notEqual(code, 0); // ended by the kit's signal, not on its own
    await b.destroy();
    await assert.rejects(
      waitFor(() => false, { timeoutMs: 100, intervalMs: 20, what: 'nothing' }),
      /timed out after 100 ms waiting for nothing/,
    );
  });

  test('everything created is gone after destroyAll()', async () => {
    await routedTopology({ kernelForwarding: true }); // left for destroyAll, as a failing test would
    const names = liveNamespaceNames();
    assert.ok(names.length >= 3);
    await destroyAll();
    assert.deepEqual(liveNamespaceNames(), []);
    const present = await listNamespaces();
    const mine = present.filter((n) => n.includes(`-${process.pid}-`));
    assert.deepEqual(mine, []);
  });
});
