import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlSocketPath, request } from '@nexthop/control';
import { cleanupOnExit, routedTopology, waitFor } from '@nexthop/netns';
import { formatCounters, formatInterfaces } from './format.ts';

const CLI_MAIN = join(import.meta.dirname, 'main.ts');

function say(text: string): void {
  console.log(text);
}

/**
 * h1 — VR — h2 in network namespaces: the router namespace's kernel has no addresses and does not
 * forward, so every packet that crosses is routed by the VR.
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
    const configPath = join(workDir, 'demo.yaml');
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
    const vr = topo.r.spawn(process.execPath, [
      CLI_MAIN,
      'vr',
      '--config',
      configPath,
      '--name',
      'edge',
      '--run-dir',
      workDir,
    ]);
    let vrLog = '';
    vr.stdout?.on('data', (d: Buffer) => {
      vrLog += d.toString();
    });
    vr.stderr?.on('data', (d: Buffer) => {
      vrLog += d.toString();
    });
    const ctl = controlSocketPath(workDir, 'edge');
    try {
      await waitFor(
        async () => {
          if (vr.exitCode !== null) throw new Error(`the VR exited with code ${vr.exitCode}`);
          return request(ctl, 'status').then(
            () => true,
            () => false,
          );
        },
        { timeoutMs: 15_000, intervalMs: 100, what: 'the VR control socket' },
      );
    } catch (err) {
      console.error(`nexthop demo: the VR did not start: ${(err as Error).message}\n${vrLog}`);
      return false;
    }
    say(`VR 'edge' is running in namespace ${topo.r.name} (pid ${vr.pid})\n`);
    say(formatInterfaces((await request(ctl, 'show.interfaces')) as never));

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
    say(formatCounters((await request(ctl, 'show.counters')) as never));

    if (options.keep) {
      say(`\nThe topology stays up until Ctrl-C. Try:`);
      say(`  ip netns exec ${topo.h1.name} ping 10.2.0.2`);
      say(`  bin/nexthop show routes --vr edge --run-dir ${workDir}`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
    }
    say(
      ok ? '\ndemo: packets crossed the VR both ways' : '\ndemo: something did not get through (see above)',
    );
    return ok;
  } finally {
    await topo.destroy();
    rmSync(workDir, { recursive: true, force: true });
  }
}
