import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupOnExit, routedTopology, waitFor } from '@nexthop/netns';
import type { VrStatus } from '@nexthop/nexthopd';
import { ApiClient, apiSocketPath } from './api-client.ts';
import { formatCounters, formatInterfaces, formatVrs } from './format.ts';

const NEXTHOPD_MAIN = join(import.meta.dirname, '../../nexthopd/src/main.ts');

function say(text: string): void {
  console.log(text);
}

/**
 * h1 — VR — h2 in network namespaces, the VR run by the router manager nexthopd: the router
 * namespace's kernel has no addresses and does not forward, so every packet that crosses is routed
 * by the VR.
 */
export async function runDemo(options: { keep: boolean }): Promise<boolean> {
  if (process.getuid?.() !== 0) {
    console.error('nexthop demo: needs root (it creates network namespaces and opens packet sockets)');
    return false;
  }
  cleanupOnExit();
  const workDir = mkdtempSync(join(tmpdir(), 'nexthop-demo-'));
  say('building h1 (10.1.0.2/24) — VR edge (10.1.0.1, 10.2.0.1) — h2 (10.2.0.2/24) in network namespaces');
  const topo = await routedTopology();
  let ok = true;
  try {
    const configPath = join(workDir, 'nexthop.yaml');
    writeFileSync(
      configPath,
      [
        'routers:',
        '  edge:',
        '    interfaces:',
        `      eth0: { driver: afpacket, device: ${topo.r1If}, addresses: [10.1.0.1/24] }`,
        `      eth1: { driver: afpacket, device: ${topo.r2If}, addresses: [10.2.0.1/24] }`,
        '    routes:',
        '      - { prefix: 10.99.0.0/16, via: 10.2.0.2 }',
        '',
      ].join('\n'),
    );
    const runDir = join(workDir, 'run');
    const daemon = topo.r.spawn(process.execPath, [
      NEXTHOPD_MAIN,
      '--config',
      configPath,
      '--run-dir',
      runDir,
      '--state-dir',
      join(workDir, 'state'),
      '--log-level',
      'warn',
    ]);
    let daemonLog = '';
    daemon.stdout?.on('data', (d: Buffer) => {
      daemonLog += d.toString();
    });
    daemon.stderr?.on('data', (d: Buffer) => {
      daemonLog += d.toString();
    });
    const api = new ApiClient(apiSocketPath(runDir));
    try {
      await waitFor(
        async () => {
          if (daemon.exitCode !== null) throw new Error(`nexthopd exited with code ${daemon.exitCode}`);
          const vrs = await api.get<VrStatus[]>('/vrs').catch(() => null);
          return vrs !== null && vrs.length === 1 && vrs[0]!.state === 'running';
        },
        { timeoutMs: 20_000, intervalMs: 100, what: 'nexthopd to run VR edge' },
      );
    } catch (err) {
      console.error(`nexthop demo: the VR did not start: ${(err as Error).message}\n${daemonLog}`);
      return false;
    }
    say(`nexthopd runs VR 'edge' in namespace ${topo.r.name}:\n`);
    say(formatVrs(await api.get<VrStatus[]>('/vrs')));
    say('');
    say(formatInterfaces(await api.get('/vrs/edge/interfaces')));

    say(`\n$ ping -c 3 10.2.0.2        (in h1)`);
    const ping = await topo.h1.exec('ping', ['-c', '3', '-i', '0.3', '-W', '2', '10.2.0.2'], {
      timeoutMs: 15_000,
    });
    say(ping.stdout.trimEnd());
    if (ping.code !== 0) ok = false;

    say(`\n$ traceroute -n 10.2.0.2     (in h1)`);
    const trace = await topo.h1.exec('traceroute', ['-n', '-q', '1', '-w', '2', '10.2.0.2'], {
      timeoutMs: 30_000,
    });
    say(trace.stdout.trimEnd());
    if (trace.code !== 0) ok = false;

    say('\nVR counters:');
    say(formatCounters(await api.get('/vrs/edge/counters')));

    if (options.keep) {
      say(`\nThe topology stays up until Ctrl-C. Try:`);
      say(`  ip netns exec ${topo.h1.name} ping 10.2.0.2`);
      say(`  bin/nexthop show vrs --run-dir ${runDir}`);
      say(`  bin/nexthop show routes --vr edge --run-dir ${runDir}`);
      say(`  bin/nexthop capture --vr edge --interface eth0 -c 10 -w /tmp/edge.pcap --run-dir ${runDir}`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
    }
    say(
      ok ? '\ndemo: packets crossed the VR both ways' : '\ndemo: something did not get through (see above)',
    );
    // nexthopd stops its VR and removes its sockets on SIGTERM.
    const exited = new Promise((resolve) => daemon.once('exit', resolve));
    daemon.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    return ok;
  } finally {
    await topo.destroy();
    rmSync(workDir, { recursive: true, force: true });
  }
}
