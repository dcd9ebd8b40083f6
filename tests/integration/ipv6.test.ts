// Issue 10's first acceptance: IPv6 through the VR between real Linux hosts.
//   h1 (only link-local; learns 2001:db8:1::/64 and its default route from the VR's RAs)
//   — VR (2001:db8:1::1/64 | 2001:db8:2::1/64, eth1's MTU 1280) —
//   h2 (2001:db8:2::2/64 configured, default via 2001:db8:2::1)
// The router namespace's kernel has IPv6 off on the VR's devices: everything IPv6 that crosses, and
// every answer from 2001:db8:…::1, is the VR's.
// Then the same topology under nexthopd: show routes -4/-6, show interfaces, metrics by family.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { controlSocketPath, request } from '@nexthop/control';
import {
  type BackgroundProcess,
  parsePing,
  type RoutedTopology,
  routedTopology,
  runOk,
  startInBackground,
  waitFor,
} from '@nexthop/netns';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { malformedIpv6, validEcho6 } from '../lib/malformed6.ts';
import { type RunningDaemon, startNexthopd } from '../lib/nexthopd.ts';
import { sendFrames } from '../lib/rawsend.ts';
import { type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

function config(topo: RoutedTopology): string {
  return `routers:
  edge:
    interfaces:
      eth0: { driver: afpacket, device: ${topo.r1If}, addresses: [10.1.0.1/24, 2001:db8:1::1/64], ra: { interval: 10, dns: ["2001:db8:1::53"] } }
      eth1: { driver: afpacket, device: ${topo.r2If}, addresses: [10.2.0.1/24, 2001:db8:2::1/64], mtu: 1280 }
    routes:
      - { prefix: 2001:db8:99::/48, via: 2001:db8:2::2 }
`;
}

interface Neighbor {
  family: 4 | 6;
  address: string;
  mac: string | null;
  interface: string;
  state: string;
}

describe('IPv6 through the VR', () => {
  let topo: RoutedTopology;
  let vr: RunningVr;
  let h1Global = '';

  before(async () => {
    topo = await routedTopology();
    // h1 autoconfigures (the defaults of a Linux host: accept_ra 1, autoconf 1, forwarding 0); h2 is
    // configured by hand, so the VR has to resolve it by NDP on its own.
    await topo.h1.sysctl({
      [`net.ipv6.conf.${topo.h1If}.accept_ra`]: '1',
      [`net.ipv6.conf.${topo.h1If}.autoconf`]: '1',
    });
    await topo.h2.sysctl({ [`net.ipv6.conf.${topo.h2If}.accept_ra`]: '0' });
    await topo.h2.execOk('ip', ['-6', 'addr', 'add', '2001:db8:2::2/64', 'dev', topo.h2If, 'nodad']);
    await topo.h2.execOk('ip', ['-6', 'addr', 'add', '2001:db8:99::9/128', 'dev', 'lo']);
    await topo.h2.execOk('ip', ['-6', 'route', 'add', 'default', 'via', '2001:db8:2::1']);
    vr = await startVr(topo.r, 'edge', config(topo));
  });

  const servers: BackgroundProcess[] = [];
  const www = mkdtempSync(join(tmpdir(), 'nexthop-ipv6-'));

  after(async () => {
    for (const s of servers) {
      s.child.kill('SIGTERM');
      await s.exited;
    }
    await vr?.stop();
    await topo?.destroy();
    rmSync(www, { recursive: true, force: true });
  });

  test('h1, with only a link-local address, gets an address and a default route from the RA', async () => {
    await waitFor(
      async () => {
        const out = await topo.h1.execOk('ip', [
          '-6',
          '-o',
          'addr',
          'show',
          'dev',
          topo.h1If,
          'scope',
          'global',
        ]);
        const m = /inet6 (2001:db8:1:0:[0-9a-f:]+)\/64/.exec(out);
        if (m !== null) h1Global = m[1]!;
        return m !== null && !out.includes('tentative');
      },
      { timeoutMs: 20_000, what: 'h1 to form an address from 2001:db8:1::/64' },
    );
    const routes = await topo.h1.execOk('ip', ['-6', 'route', 'show', 'default']);
    assert.match(routes, /default via fe80::[0-9a-f:]+ dev \S+ proto ra/, routes);
    // The VR's link-local address is the router: hosts route through it, not a global one (RFC 4861 §4.2).
    const neigh = await topo.h1.execOk('ip', ['-6', 'neigh', 'show', 'dev', topo.h1If]);
    assert.match(neigh, /fe80::[0-9a-f:]+ lladdr [0-9a-f:]+ router/, neigh);
  });

  test('ping -6 from h1 crosses the VR to h2 and to the prefix routed behind it', async () => {
    for (const target of ['2001:db8:2::2', '2001:db8:99::9']) {
      const r = await topo.h1.exec('ping', ['-6', '-n', '-c', '5', '-i', '0.05', '-W', '2', target], {
        timeoutMs: 30_000,
      });
      assert.equal(parsePing(r.stdout).received, 5, `${target}\n${r.stdout}${r.stderr}`);
    }
    // Both VR addresses, and its link-local one on h1's link, answer.
    for (const target of ['2001:db8:1::1', '2001:db8:2::1']) {
      const r = await topo.h1.exec('ping', ['-6', '-n', '-c', '3', '-i', '0.05', '-W', '2', target], {
        timeoutMs: 30_000,
      });
      assert.equal(parsePing(r.stdout).received, 3, `${target}\n${r.stdout}`);
    }
    const router = /default via (fe80::[0-9a-f:]+)/.exec(
      await topo.h1.execOk('ip', ['-6', 'route', 'show', 'default']),
    )![1]!;
    const ll = await topo.h1.exec(
      'ping',
      ['-6', '-n', '-c', '3', '-i', '0.05', '-W', '2', `${router}%${topo.h1If}`],
      {
        timeoutMs: 30_000,
      },
    );
    assert.equal(parsePing(ll.stdout).received, 3, ll.stdout);
  });

  test('traceroute -6 shows the VR, then h2', async () => {
    const r = await topo.h1.exec(
      'traceroute',
      ['-6', '-n', '-q', '1', '-w', '2', '-m', '5', '2001:db8:2::2'],
      {
        timeoutMs: 30_000,
      },
    );
    const hops = r.stdout
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/)[1] ?? null)
      .filter((h) => h !== null);
    assert.deepEqual(hops, ['2001:db8:1::1', '2001:db8:2::2'], r.stdout);
  });

  test('tracepath -6 learns the 1280-byte MTU of the far link from the VR’s Packet Too Big', async () => {
    const r = await topo.h1.exec('tracepath', ['-6', '-n', '-m', '5', '2001:db8:2::2'], {
      timeoutMs: 30_000,
    });
    assert.match(r.stdout, /pmtu 1280/, r.stdout);
    assert.match(r.stdout, /reached/, r.stdout);
    // And a ping that does not fit gets the same answer without fragmenting anything.
    const big = await topo.h1.exec(
      'ping',
      ['-6', '-n', '-c', '1', '-W', '2', '-M', 'do', '-s', '1400', '2001:db8:2::2'],
      {
        timeoutMs: 20_000,
      },
    );
    assert.match(big.stdout + big.stderr, /mtu ?[=:]? ?1280|Packet too big/i, big.stdout + big.stderr);
  });

  test('curl over IPv6 across the VR, both ways: 4 MB each, intact (TCP with the hosts’ offloads)', async () => {
    const file = randomBytes(4 * 1024 * 1024);
    writeFileSync(join(www, 'big'), file);
    const digest = createHash('sha256').update(file).digest('hex');
    for (const [ns, port] of [
      [topo.h2, 8602],
      [topo.h1, 8601],
    ] as const) {
      servers.push(
        await startInBackground(
          ns,
          'python3',
          ['-m', 'http.server', '--bind', '::', '--directory', www, String(port)],
          async () => (await ns.exec('ss', ['-Htln', `sport = :${port}`])).stdout.includes(`:${port}`),
        ),
      );
    }
    for (const [from, url] of [
      [topo.h1, 'http://[2001:db8:2::2]:8602/big'],
      [topo.h2, `http://[${h1Global}]:8601/big`],
    ] as const) {
      const r = await from.exec('sh', ['-c', `curl -sS -g --max-time 20 '${url}' | sha256sum`], {
        timeoutMs: 30_000,
      });
      assert.equal(r.stdout.split(' ')[0], digest, `${url}: ${r.stderr}`);
    }
  });

  test('malformed IPv6 from h1 is dropped and counted by reason; the VR keeps forwarding', async () => {
    const interfaces = (await vr.call('show.interfaces')) as { name: string; mac: string }[];
    const ends = {
      dstMac: interfaces.find((i) => i.name === 'eth0')!.mac,
      srcMac: (await topo.h1.execOk('cat', [`/sys/class/net/${topo.h1If}/address`])).trim(),
      src: h1Global,
      far: '2001:db8:2::2',
      vr: '2001:db8:1::1',
    };
    const cases = malformedIpv6(ends);
    assert.ok(cases.length >= 12);
    for (const { name, frames, reason } of cases) {
      const before = (await vr.counters()).drops[reason];
      assert.notEqual(before, undefined, `no drop reason ${reason}`);
      for (const frame of frames) {
        const [result] = await sendFrames(topo.h1, topo.h1If, [frame]);
        assert.equal(result?.sent, frame.length, `${name} was sent`);
      }
      await waitFor(async () => (await vr.counters()).drops[reason]! > before!, {
        timeoutMs: 3000,
        what: `${reason} to count '${name}' (${JSON.stringify(Object.fromEntries(Object.entries((await vr.counters()).drops).filter(([, v]) => v > 0)))})`,
      });
    }
    const forwarded = (await vr.counters()).stats['ipv6_forwarded']!;
    await sendFrames(topo.h1, topo.h1If, [validEcho6(ends)]);
    await waitFor(async () => (await vr.counters()).stats['ipv6_forwarded']! > forwarded, {
      timeoutMs: 3000,
      what: 'the valid frame to be forwarded',
    });
    const r = await topo.h1.exec('ping', ['-6', '-n', '-c', '3', '-i', '0.05', '-W', '2', '2001:db8:2::2'], {
      timeoutMs: 20_000,
    });
    assert.equal(parsePing(r.stdout).received, 3, r.stdout);
    assert.ok(process.kill(vr.pid, 0), 'the VR process is still alive');
  });

  test('show neighbors lists the NDP entries next to the ARP ones; h2 knows the VR', async () => {
    await topo.h1.exec('ping', ['-n', '-c', '1', '-W', '2', '10.2.0.2'], { timeoutMs: 10_000 });
    const rows = (await vr.call('show.neighbors')) as Neighbor[];
    const h2 = rows.find((n) => n.family === 6 && n.address === '2001:db8:2::2');
    assert.ok(h2 !== undefined && h2.mac !== null && h2.interface === 'eth1', JSON.stringify(rows));
    assert.ok(
      rows.some((n) => n.family === 6 && n.address === h1Global && n.interface === 'eth0'),
      JSON.stringify(rows),
    );
    assert.ok(
      rows.some((n) => n.family === 4 && n.address === '10.2.0.2'),
      JSON.stringify(rows),
    );
    // h2 learned the VR's link-layer address from the VR's own solicitation (RFC 4861 §7.2.3).
    const neigh = await topo.h2.execOk('ip', ['-6', 'neigh', 'show', '2001:db8:2::1']);
    assert.match(neigh, /lladdr [0-9a-f:]+/, neigh);
  });
});

interface Route {
  family: 4 | 6;
  age?: number;
  prefix: string;
  protocol: string;
  via: string | null;
  interface: string | null;
}

interface ShownInterface {
  name: string;
  addresses: string[];
  addresses6: { address: string; length: number; state: string }[];
}

/** The value of the series of `name` whose labels include all of `labels`. */
function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const got = Object.fromEntries(
      [...line.slice(name.length + 1, line.indexOf('}')).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [
        m[1]!,
        m[2]!,
      ]),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

describe('IPv6 in the operator views under nexthopd: show routes -4/-6, interfaces, metrics by family', () => {
  let topo: RoutedTopology;
  let daemon: RunningDaemon;
  const IPV6_STATIC = '2001:db8:99::/48';
  const IPV4_STATIC = '10.99.0.0/16';

  before(async () => {
    topo = await routedTopology();
    // Both hosts configured by hand (no RAs here): h1 2001:db8:1::2, h2 2001:db8:2::2.
    for (const [ns, dev, address, gateway] of [
      [topo.h1, topo.h1If, '2001:db8:1::2/64', '2001:db8:1::1'],
      [topo.h2, topo.h2If, '2001:db8:2::2/64', '2001:db8:2::1'],
    ] as const) {
      await ns.sysctl({ [`net.ipv6.conf.${dev}.accept_ra`]: '0' });
      await ns.execOk('ip', ['-6', 'addr', 'add', address, 'dev', dev, 'nodad']);
      await ns.execOk('ip', ['-6', 'route', 'add', 'default', 'via', gateway]);
    }
    daemon = await startNexthopd(
      topo.r,
      `routers:
  edge:
    interfaces:
      eth0: { driver: afpacket, device: ${topo.r1If}, addresses: [10.1.0.1/24, 2001:db8:1::1/64] }
      eth1: { driver: afpacket, device: ${topo.r2If}, addresses: [10.2.0.1/24, 2001:db8:2::1/64] }
    routes:
      - { prefix: ${IPV4_STATIC}, via: 10.2.0.2 }
      - { prefix: ${IPV6_STATIC}, via: 2001:db8:2::2 }
`,
    );
  });

  after(async () => {
    await daemon?.stop();
    daemon?.removeDirs();
    await topo?.destroy();
  });

  test('show routes -6 lists the IPv6 routes only, -4 the IPv4 ones; together they are the list, IPv4 first', async () => {
    // Each route's age moves between two reads: the lists are compared without it.
    const routes = async (args: string[]) =>
      ((await daemon.cliJson(args)) as Route[]).map(({ age: _age, ...rest }) => rest as Route);
    const all = await routes(['show', 'routes', '--vr', 'edge', '-j']);
    const six = await routes(['show', 'routes', '--vr', 'edge', '-6', '-j']);
    const four = await routes(['show', 'routes', '--vr', 'edge', '-4', '-j']);
    assert.ok(six.length > 0 && four.length > 0, JSON.stringify(all));
    assert.ok(
      six.every((r) => r.family === 6 && r.prefix.includes(':')),
      JSON.stringify(six),
    );
    assert.ok(
      four.every((r) => r.family === 4 && !r.prefix.includes(':')),
      JSON.stringify(four),
    );
    assert.deepEqual(all, [...four, ...six]);
    const prefixes6 = six.map((r) => r.prefix);
    for (const p of ['2001:db8:1::/64', '2001:db8:2::/64', IPV6_STATIC]) assert.ok(prefixes6.includes(p), p);
    const static6 = six.find((r) => r.prefix === IPV6_STATIC)!;
    assert.deepEqual([static6.protocol, static6.via, static6.interface], ['static', '2001:db8:2::2', 'eth1']);
    const prefixes4 = four.map((r) => r.prefix);
    for (const p of ['10.1.0.0/24', '10.2.0.0/24', IPV4_STATIC]) assert.ok(prefixes4.includes(p), p);

    // The table: one line a route, the same ones; through nexthopd for every VR too.
    const table = await daemon.cli(['show', 'routes', '--vr', 'edge', '-6']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.equal(lines.length, six.length, table.stdout);
    assert.ok(
      lines.includes(`${IPV6_STATIC} via 2001:db8:2::2 dev eth1 proto static distance 1`),
      table.stdout,
    );
    assert.ok(!/\d+\.\d+\.\d+\.\d+/.test(table.stdout), table.stdout);
    const everyVr = await daemon.cli(['show', 'routes', '-4']);
    assert.equal(everyVr.code, 0, everyVr.stderr);
    assert.match(everyVr.stdout, /\nedge +10\.99\.0\.0\/16 via 10\.2\.0\.2 dev eth1 /);
    assert.ok(!everyVr.stdout.includes('2001:db8'), everyVr.stdout);

    // Asking for both, or for a family that is not one: refused before anything is asked.
    const both = await daemon.cli(['show', 'routes', '-4', '-6']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /-4 and -6 exclude each other/);
    const api = await daemon.api('GET', '/vrs/edge/routes?family=ipv6');
    assert.equal(api.status, 400);
    assert.match((api.json() as { error: { message: string } }).error.message, /family must be one of 4, 6/);
    const viaApi = (await daemon.api('GET', '/vrs/edge/routes?family=6')).json() as Route[];
    assert.deepEqual(
      viaApi.map(({ age: _age, ...rest }) => rest),
      six,
    );
    // The VR itself refuses a family it does not know.
    await assert.rejects(
      request(controlSocketPath(daemon.runDir, 'edge'), 'show.routes', { family: 5 }),
      /family must be 4 or 6/,
    );
  });

  test('show interfaces -j and the table list every address: IPv4, link-local, global, with lengths', async () => {
    let rows: ShownInterface[] = [];
    // DAD runs for a second after the start: wait until every address is preferred.
    await waitFor(
      async () => {
        rows = (await daemon.cliJson(['show', 'interfaces', '--vr', 'edge', '-j'])) as ShownInterface[];
        return rows.every(
          (i) => i.addresses6.length > 0 && i.addresses6.every((a) => a.state === 'preferred'),
        );
      },
      { timeoutMs: 10_000, what: 'the IPv6 addresses to pass DAD' },
    );
    const table = await daemon.cli(['show', 'interfaces', '--vr', 'edge']);
    for (const [name, v4, v6] of [
      ['eth0', '10.1.0.1/24', '2001:db8:1::1'],
      ['eth1', '10.2.0.1/24', '2001:db8:2::1'],
    ] as const) {
      const row = rows.find((i) => i.name === name)!;
      assert.deepEqual(row.addresses, [v4]);
      const linkLocal = row.addresses6[0]!;
      assert.match(linkLocal.address, /^fe80::/, JSON.stringify(row));
      assert.equal(linkLocal.length, 64);
      assert.ok(
        row.addresses6.some((a) => a.address === v6 && a.length === 64),
        JSON.stringify(row),
      );
      const line = table.stdout.split('\n').find((l) => l.startsWith(`${name} `))!;
      assert.ok(line.endsWith(`${v4} ${linkLocal.address}/64 ${v6}/64`), line);
    }
    const addresses = (await daemon.api('GET', '/vrs/edge/addresses')).json() as { family: number }[];
    assert.deepEqual(
      addresses.map((a) => a.family),
      [4, 6, 6, 4, 6, 6],
    );
  });

  test('ping -6 across moves the IPv6 series of the per-family metrics and counters, not the IPv4 ones', async () => {
    const scrape = async () => (await daemon.api('GET', '/metrics')).body.toString('utf8');
    const ipv6 = { vr: 'edge', family: 'ipv6' };
    const ipv4 = { vr: 'edge', family: 'ipv4' };
    const before = await scrape();
    const forwarded6 = metricValue(before, 'nexthop_forwarded_packets_total', ipv6);
    const forwarded4 = metricValue(before, 'nexthop_forwarded_packets_total', ipv4);
    assert.ok(forwarded6 !== undefined && forwarded4 !== undefined, before.slice(0, 3000));
    const pinged = await topo.h1.exec(
      'ping',
      ['-6', '-n', '-c', '10', '-i', '0.05', '-W', '2', '2001:db8:2::2'],
      {
        timeoutMs: 20_000,
      },
    );
    assert.equal(parsePing(pinged.stdout).received, 10, pinged.stdout);
    const after = await scrape();
    const forwarded6After = metricValue(after, 'nexthop_forwarded_packets_total', ipv6)!;
    // Ten requests one way and ten replies the other.
    assert.ok(forwarded6After - forwarded6 >= 20, `ipv6 forwarded ${forwarded6} → ${forwarded6After}`);
    assert.equal(metricValue(after, 'nexthop_forwarded_packets_total', ipv4), forwarded4);
    assert.ok(metricValue(after, 'nexthop_neighbors', ipv6)! >= 2, 'h1 and h2 in the NDP table');
    assert.ok(metricValue(after, 'nexthop_fib_routes', ipv6)! >= 3);
    assert.ok(metricValue(after, 'nexthop_fib_routes', ipv4)! >= 3);
    assert.match(after, /^# TYPE nexthop_forwarded_packets_total counter$/m);

    // show counters says the family of each: the table row and the JSON.
    const counters = (await daemon.cliJson(['show', 'counters', '--vr', 'edge', '-j'])) as {
      stats: Record<string, number>;
      family: Record<string, number>;
    };
    assert.equal(counters.family['ipv6_forwarded'], 6);
    assert.equal(counters.family['forwarded'], 4);
    assert.ok(counters.stats['ipv6_forwarded']! >= forwarded6After);
    const table = await daemon.cli(['show', 'counters', '--vr', 'edge']);
    assert.match(table.stdout, /^COUNTER +FAMILY +VALUE$/m);
    assert.match(table.stdout, /^ipv6_forwarded +ipv6 +\d+$/m);
    assert.match(table.stdout, /^forwarded +ipv4 +\d+$/m);
  });

  test('capture during ping -6: the pcap holds the IPv6 echoes, as tcpdump reads them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nexthop-cap6-'));
    try {
      const file = join(dir, 'six.pcap');
      const ping = topo.h1.exec('ping', ['-6', '-n', '-c', '30', '-i', '0.05', '2001:db8:2::2'], {
        timeoutMs: 20_000,
      });
      const capture = await daemon.cli([
        'capture',
        '--vr',
        'edge',
        '--interface',
        'eth1',
        '-c',
        '8',
        '-w',
        file,
      ]);
      await ping;
      assert.equal(capture.code, 0, capture.stderr);
      const text = await runOk('tcpdump', ['-n', '-r', file]);
      assert.match(text, /2001:db8:1::2 > 2001:db8:2::2: ICMP6, echo request/);
      assert.match(text, /2001:db8:2::2 > 2001:db8:1::2: ICMP6, echo reply/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
