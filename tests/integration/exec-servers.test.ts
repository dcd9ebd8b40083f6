// Issue 4: servers and bulk transfer under `nexthop exec`. Same topology as exec-basic: h1 (10.1.0.2)
// — VR edge (10.1.0.1 | 10.2.0.1) — h2 (10.2.0.2). Servers started under exec in h1 listen inside
// the VR, so h2 reaches them at the VR's address 10.2.0.1 and they see h2's own address.
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
import { edgeConfig, type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

/** Is something listening on port in the VR (its socket table)? */
async function vrListening(vr: RunningVr, port: number): Promise<boolean> {
  const rows = (await vr.call('show.sockets')) as { state: string; local: string }[];
  return rows.some((r) => r.local.endsWith(`:${port}`) && /listen/i.test(r.state));
}

interface IperfResult {
  end: { sum_received?: { bytes: number; bits_per_second: number }; sum_sent?: { bytes: number } };
}

describe('nexthop exec: servers inside the VR, iperf3 both ways', () => {
  let topo: RoutedTopology;
  let vr: RunningVr;
  const started: BackgroundProcess[] = [];
  const dirs: string[] = [];

  before(async () => {
    buildShim();
    topo = await routedTopology();
    vr = await startVr(topo.r, 'edge', edgeConfig(topo));
    await waitFor(() => existsSync(join(vr.runDir, 'edge.sock')), { what: 'the remote socket API' });
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

  test('nginx under exec serves curl on h2; its access log shows 10.2.0.2', async () => {
    const nginx: Nginx = nginxConfig(8080);
    dirs.push(nginx.dir);
    const server = await execInBackground(topo.h1, vr, [], ['nginx', '-p', nginx.dir, '-c', nginx.conf], () =>
      vrListening(vr, 8080),
    );
    started.push(server);
    const r = await topo.h2.exec('curl', ['-sS', '--max-time', '10', 'http://10.2.0.1:8080/'], {
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 0, `${r.stderr}\n${server.stderr()}`);
    assert.equal(r.stdout, nginx.page);
    // Several requests on one keep-alive connection, and a second connection.
    const r2 = await topo.h2.exec(
      'curl',
      ['-sS', '--max-time', '10', 'http://10.2.0.1:8080/', 'http://10.2.0.1:8080/index.html'],
      { timeoutMs: 20_000 },
    );
    assert.equal(r2.stdout, nginx.page + nginx.page, r2.stderr);
    const log = readFileSync(nginx.accessLog, 'utf8').trim().split('\n');
    assert.equal(log.length, 3);
    for (const line of log) assert.match(line, /^10\.2\.0\.2 /);
    await stop(server);
  });

  test('python3 -m http.server under exec serves h2', async () => {
    const server = await execInBackground(
      topo.h1,
      vr,
      [],
      [
        'python3',
        '-m',
        'http.server',
        '--bind',
        '0.0.0.0',
        '--directory',
        join(import.meta.dirname, '..'),
        '8000',
      ],
      () => vrListening(vr, 8000),
      { sanitize: true },
    );
    started.push(server);
    const r = await topo.h2.exec('curl', ['-sS', '--max-time', '10', 'http://10.2.0.1:8000/integration/'], {
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 0, `${r.stderr}\n${server.stderr()}`);
    assert.match(r.stdout, /exec-servers\.test\.ts/);
    await waitFor(() => server.stderr().includes('10.2.0.2 - -'), { what: 'the request in the server log' });
    await stop(server);
  });

  test('iperf3 -c under exec against iperf3 -s on h2, both directions', async () => {
    const server = await startInBackground(topo.h2, 'iperf3', ['-s', '-p', '5201'], async () => {
      const s = await topo.h2.exec('ss', ['-Hltn', 'sport = :5201']);
      return s.stdout.includes('5201');
    });
    started.push(server);
    for (const reverse of [false, true]) {
      const before = (await vr.counters()).stats;
      const args = ['iperf3', '-c', '10.2.0.2', '-p', '5201', '-t', '2', '-J', ...(reverse ? ['-R'] : [])];
      const r = await execIn(topo.h1, vr, [], args, { timeoutMs: 60_000 });
      assert.equal(r.code, 0, `${r.stdout.slice(-2000)}\n${r.stderr}`);
      const result = JSON.parse(r.stdout) as IperfResult;
      const bytes = result.end.sum_received?.bytes ?? 0;
      assert.ok(bytes > 1_000_000, `iperf3 ${reverse ? '-R ' : ''}moved ${bytes} bytes`);
      const afterStats = (await vr.counters()).stats;
      const key = reverse ? 'rsock_bytes_to_apps' : 'rsock_bytes_from_apps';
      assert.ok(afterStats[key]! - before[key]! >= bytes, `${key} counted the transfer`);
    }
    await stop(server);
  });

  test('iperf3 -s under exec serves iperf3 -c on h2, both directions', async () => {
    const server = await execInBackground(topo.h1, vr, [], ['iperf3', '-s', '-4', '-p', '5202'], () =>
      vrListening(vr, 5202),
    );
    started.push(server);
    for (const reverse of [false, true]) {
      const args = ['-c', '10.2.0.1', '-p', '5202', '-t', '2', '-J', ...(reverse ? ['-R'] : [])];
      // iperf3 -s closes its listener after each test and opens a new one; the VR frees the old
      // socket when it sees the hang-up, so the new listener may take a moment to appear.
      let r = await topo.h2.exec('iperf3', args, { timeoutMs: 60_000 });
      await waitFor(
        async () => {
          if (!r.stdout.includes('Connection refused')) return true;
          r = await topo.h2.exec('iperf3', args, { timeoutMs: 60_000 });
          return false;
        },
        { timeoutMs: 10_000, intervalMs: 200, what: 'the iperf3 server to listen again' },
      );
      assert.equal(r.code, 0, `${r.stdout.slice(-2000)}\n${r.stderr}\n${server.stdout().slice(-2000)}`);
      const result = JSON.parse(r.stdout) as IperfResult;
      assert.ok(
        (result.end.sum_received?.bytes ?? 0) > 1_000_000,
        `${reverse ? '-R: ' : ''}${r.stdout.slice(0, 3000)}\n${server.stdout().slice(-3000)}\n${server.stderr()}`,
      );
    }
    await stop(server);
  });
});
