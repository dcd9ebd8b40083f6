// Issue 10: programs under `nexthop exec` over IPv6. h1 (2001:db8:1::2) — VR edge (2001:db8:1::1 |
// 2001:db8:2::1, and the IPv4 addresses of exec-basic) — h2 (2001:db8:2::2). A program under exec in
// h1 opens its sockets in the VR, so what h2 sees comes from, or goes to, the VR's addresses.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type BackgroundProcess,
  type RoutedTopology,
  routedTopology,
  startInBackground,
  waitFor,
} from '@nexthop/netns';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { buildShim, execIn, execInBackground, type Nginx, nginxConfig } from '../lib/exec.ts';
import { type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

async function vrListening(vr: RunningVr, port: number, count = 1): Promise<boolean> {
  const rows = (await vr.call('show.sockets')) as { state: string; local: string }[];
  return rows.filter((r) => r.local.endsWith(`:${port}`) && /listen/i.test(r.state)).length >= count;
}

// A UDP echo over AF_INET6 (dual-stack unless argv[2] is 'v6only'): answers "pong:<payload>" to the
// sender and prints each sender as recvfrom gave it.
const UDP6_ECHO = `
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
if len(sys.argv) > 2: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind(('::', int(sys.argv[1])))
print('ready', flush=True)
while True:
    data, peer = s.recvfrom(2048)
    print('from %s %r' % (peer[0], data), flush=True)
    s.sendto(b'pong:' + data, peer)
`;

// One datagram to argv[1]:argv[2] (IPv6 or IPv4 text), the answer printed.
const UDP_CLIENT = `
import socket, sys
family = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b'ping', (sys.argv[1], int(sys.argv[2])))
print(s.recvfrom(2048)[0].decode(), flush=True)
`;

interface IperfResult {
  end: { sum_received?: { bytes: number } };
}

describe('nexthop exec over IPv6: curl, nginx and a dual-stack iperf3 in the VR', () => {
  let topo: RoutedTopology;
  let vr: RunningVr;
  const started: BackgroundProcess[] = [];
  const dirs: string[] = [];

  before(async () => {
    buildShim();
    topo = await routedTopology();
    for (const [ns, dev, address, gateway] of [
      [topo.h1, topo.h1If, '2001:db8:1::2/64', '2001:db8:1::1'],
      [topo.h2, topo.h2If, '2001:db8:2::2/64', '2001:db8:2::1'],
    ] as const) {
      await ns.execOk('ip', ['-6', 'addr', 'add', address, 'dev', dev, 'nodad']);
      await ns.execOk('ip', ['-6', 'route', 'add', 'default', 'via', gateway]);
    }
    vr = await startVr(
      topo.r,
      'edge',
      `routers:
  edge:
    interfaces:
      eth0: { driver: afpacket, device: ${topo.r1If}, addresses: [10.1.0.1/24, 2001:db8:1::1/64] }
      eth1: { driver: afpacket, device: ${topo.r2If}, addresses: [10.2.0.1/24, 2001:db8:2::1/64] }
`,
    );
    await waitFor(() => existsSync(join(vr.runDir, 'edge.sock')), { what: 'the remote socket API' });
    // The VR's addresses are usable once DAD is over (RFC 4862 §5.4): h2 reaches them.
    await waitFor(
      async () =>
        (await topo.h2.exec('ping', ['-6', '-n', '-c', '1', '-W', '1', '2001:db8:2::1'], { timeoutMs: 5000 }))
          .code === 0,
      { what: 'the VR answering on 2001:db8:2::1', timeoutMs: 15_000 },
    );
  });

  after(async () => {
    for (const p of started) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGTERM');
        await p.exited;
      }
    }
    await vr?.stop();
    await topo?.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function stop(p: BackgroundProcess): Promise<void> {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await p.exited;
  }

  test('curl -6 under exec fetches from nginx on h2; nginx sees the VR’s IPv6 address', async () => {
    const nginx: Nginx = nginxConfig(8081, ['[::]:8081']);
    dirs.push(nginx.dir);
    const server = await startInBackground(topo.h2, 'nginx', ['-p', nginx.dir, '-c', nginx.conf], async () =>
      (await topo.h2.exec('ss', ['-Hltn', 'sport = :8081'])).stdout.includes('8081'),
    );
    started.push(server);
    const r = await execIn(
      topo.h1,
      vr,
      [],
      ['curl', '-sS', '-g', '--max-time', '10', 'http://[2001:db8:2::2]:8081/'],
      {
        timeoutMs: 30_000,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, nginx.page);
    const log = readFileSync(nginx.accessLog, 'utf8').trim().split('\n');
    assert.equal(log.length, 1);
    assert.match(log[0]!, /^2001:db8:2::1 /);
    // The VR's show sockets had the connection as IPv6 (TIME-WAIT on the VR's side: it closed).
    await stop(server);
  });

  test('nginx under exec listening on 8080 and [::]:8080 (IPV6_V6ONLY) serves h2 over both families', async () => {
    const nginx: Nginx = nginxConfig(8080, ['8080', '[::]:8080']);
    dirs.push(nginx.dir);
    const server = await execInBackground(topo.h1, vr, [], ['nginx', '-p', nginx.dir, '-c', nginx.conf], () =>
      vrListening(vr, 8080, 2),
    );
    started.push(server);
    const rows = (await vr.call('show.sockets')) as { state: string; local: string }[];
    const listeners = rows
      .filter((x) => x.local.endsWith(':8080') && /listen/i.test(x.state))
      .map((x) => x.local);
    assert.deepEqual(listeners.sort(), ['0.0.0.0:8080', '[::]:8080']);
    for (const url of ['http://[2001:db8:2::1]:8080/', 'http://10.2.0.1:8080/']) {
      const r = await topo.h2.exec('curl', ['-sS', '-g', '--max-time', '10', url], { timeoutMs: 20_000 });
      assert.equal(r.code, 0, `${url}: ${r.stderr}\n${server.stderr()}`);
      assert.equal(r.stdout, nginx.page);
    }
    const log = readFileSync(nginx.accessLog, 'utf8').trim().split('\n');
    assert.deepEqual(
      log.map((l) => l.split(' ')[0]),
      ['2001:db8:2::2', '10.2.0.2'],
    );
    await stop(server);
  });

  test('iperf3 -s under exec listens on [::] and is reached over IPv6 and over IPv4 (v4-mapped)', async () => {
    const server = await execInBackground(topo.h1, vr, [], ['iperf3', '-s', '-p', '5203'], () =>
      vrListening(vr, 5203),
    );
    started.push(server);
    const rows = (await vr.call('show.sockets')) as { state: string; local: string }[];
    assert.ok(
      rows.some((x) => x.local === '[::]:5203' && /listen/i.test(x.state)),
      JSON.stringify(rows),
    );
    for (const [flag, host] of [
      ['-6', '2001:db8:2::1'],
      ['-4', '10.2.0.1'],
    ] as const) {
      const r = await topo.h2.exec('iperf3', ['-c', host, flag, '-p', '5203', '-t', '2', '-J'], {
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, `${host}: ${r.stdout.slice(-2000)}\n${r.stderr}\n${server.stderr()}`);
      const bytes = (JSON.parse(r.stdout) as IperfResult).end.sum_received?.bytes ?? 0;
      assert.ok(bytes > 1_000_000, `iperf3 to ${host} moved ${bytes} bytes`);
    }
    await stop(server);
  });

  test('UDP over IPv6: python3 under exec to an echo on h2, and a dual-stack echo under exec heard from h2 on both families', async () => {
    const h2Echo = await startInBackground(topo.h2, 'python3', ['-c', UDP6_ECHO, '5354'], (p) =>
      p.stdout().includes('ready'),
    );
    started.push(h2Echo);
    const r = await execIn(topo.h1, vr, [], ['python3', '-c', UDP_CLIENT, '2001:db8:2::2', '5354'], {
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'pong:ping');
    await waitFor(() => h2Echo.stdout().includes("from 2001:db8:2::1 b'ping'"), {
      what: 'h2 saw the datagram from the VR',
    });
    await stop(h2Echo);

    const vrEcho = await execInBackground(topo.h1, vr, [], ['python3', '-c', UDP6_ECHO, '5355'], (p) =>
      p.stdout().includes('ready'),
    );
    started.push(vrEcho);
    for (const host of ['2001:db8:2::1', '10.2.0.1']) {
      const c = await topo.h2.exec('python3', ['-c', UDP_CLIENT, host, '5355'], { timeoutMs: 20_000 });
      assert.equal(c.code, 0, `${host}: ${c.stderr}\n${vrEcho.stderr()}`);
      assert.equal(c.stdout.trim(), 'pong:ping');
    }
    // The IPv4 sender reaches the AF_INET6 socket v4-mapped, as on a kernel socket.
    await waitFor(
      () =>
        vrEcho.stdout().includes('from 2001:db8:2::2 ') && vrEcho.stdout().includes('from ::ffff:10.2.0.2 '),
      { what: `both senders in the echo's log: ${vrEcho.stdout()}` },
    );
    await stop(vrEcho);
  });
});
