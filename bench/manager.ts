// The router manager (issue 5): time from `nexthopd` start to every VR forwarding, resident memory
// of an idle VR, and the time to apply (and withdraw) 10,000 static routes — each next to the same
// job done by the Linux kernel (or BIRD, for memory) in the same run.
//   start:   N VRs, each routing between its own two host namespaces. nexthopd: from spawning the
//            daemon until a ping crosses every VR. Kernel: N router namespaces whose veths exist
//            unconfigured; from the first `ip` command (addresses, ip_forward) until a ping crosses
//            every one.
//   memory:  VmRSS of each idle VR process (and its parts), next to an idle BIRD 2 with the same
//            two interfaces (device, direct and kernel protocols).
//   routes:  `nexthop config apply` of a file with 10,000 more /24 static routes (20.0.0.0/24 up) on one VR, to the
//            moment the command returns (the VR has installed them); then the apply that removes
//            them. Kernel: `ip -batch` adding, then deleting, the same 10,000 routes.
// Usage: node bench/manager.ts [VR count, default 4] [routes, default 10000]   (root; not a test)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cleanupOnExit, Netns, waitFor } from '@nexthop/netns';
import {
  type HostPair,
  pingOnce,
  type RunningDaemon,
  routerYaml,
  startNexthopd,
  type VrTopology,
  vrTopology,
} from '../tests/lib/nexthopd.ts';

const VRS = Number(process.argv[2] ?? 4);
const ROUTES = Number(process.argv[3] ?? 10_000);
if (!(VRS >= 1 && VRS <= 16)) throw new Error('VR count must be in [1, 16]');
if (!(ROUTES >= 1 && ROUTES <= 60_000)) throw new Error('routes must be in [1, 60000]');

cleanupOnExit();

function configFor(t: VrTopology, extra: (i: number) => string = () => ''): string {
  return `routers:\n${t.pairs.map((p, i) => routerYaml(`vr${i}`, p, extra(i))).join('\n')}\n`;
}

async function allForward(pairs: readonly HostPair[]): Promise<void> {
  await Promise.all(
    pairs.map((pair) =>
      waitFor(() => pingOnce(pair, '10.2.0.2', '0.1'), {
        timeoutMs: 30_000,
        intervalMs: 0,
        what: 'forwarding',
      }),
    ),
  );
}

interface Memory {
  rss: number;
  anon: number;
  file: number;
  /** Proportional set size: pages shared with other processes (Node's code) counted as a share. */
  pss: number;
}

function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (text: string, key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return {
    rss: kb(status, 'VmRSS'),
    anon: kb(status, 'RssAnon'),
    file: kb(status, 'RssFile') + kb(status, 'RssShmem'),
    pss: kb(rollup, 'Pss'),
  };
}

function averageMemory(pids: readonly number[]): Memory {
  const all = pids.map(memoryOf);
  const avg = (k: keyof Memory) => all.reduce((a, m) => a + m[k], 0) / all.length;
  return { rss: avg('rss'), anon: avg('anon'), file: avg('file'), pss: avg('pss') };
}

const mib = (bytes: number) => (bytes / 1048576).toFixed(1);

/** The /24 routes: 20.0.0.0/24 upwards, via the host behind eth1. */
function routeLines(count: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(`${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`);
  return lines;
}

async function kernelStart(): Promise<number> {
  const t = await vrTopology(VRS);
  try {
    // Each kernel router needs its own namespace (the pairs reuse addresses): move each pair's router
    // ends into a namespace of their own before the clock starts.
    const routers: Netns[] = [];
    for (const pair of t.pairs) {
      const ns = await Netns.create('kr');
      routers.push(ns);
      for (const dev of [pair.r1If, pair.r2If])
        await t.r.execOk('ip', ['link', 'set', dev, 'netns', ns.name]);
    }
    const started = performance.now();
    await Promise.all(
      t.pairs.map(async (pair, i) => {
        const ns = routers[i]!;
        await ns.execOk('ip', ['-batch', '-'], {
          input: [
            `addr add 10.1.0.1/24 dev ${pair.r1If}`,
            `addr add 10.2.0.1/24 dev ${pair.r2If}`,
            `link set ${pair.r1If} up`,
            `link set ${pair.r2If} up`,
            '',
          ].join('\n'),
        });
        await ns.sysctl({ 'net.ipv4.ip_forward': '1' });
      }),
    );
    await allForward(t.pairs);
    const elapsed = performance.now() - started;
    await Promise.all(routers.map((ns) => ns.destroy()));
    return elapsed;
  } finally {
    await t.destroy();
  }
}

async function birdRss(t: VrTopology): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'nexthop-bird-'));
  const pair = t.pairs[0]!;
  const conf = join(dir, 'bird.conf');
  writeFileSync(
    conf,
    [
      'router id 10.1.0.1;',
      'protocol device {}',
      `protocol direct { ipv4; interface "${pair.r1If}", "${pair.r2If}"; }`,
      'protocol kernel { ipv4 { export none; }; }',
      '',
    ].join('\n'),
  );
  // BIRD watches the VRs' own devices from the router namespace (it changes nothing there: no
  // addresses, nothing to export); it only has to be idle with its protocols up.
  const ns = t.r;
  const sock = join(dir, 'bird.ctl');
  const child = ns.spawn('bird', ['-f', '-c', conf, '-s', sock, '-P', join(dir, 'bird.pid')]);
  try {
    await waitFor(async () => (await ns.exec('birdc', ['-s', sock, 'show', 'status'])).code === 0, {
      timeoutMs: 10_000,
      what: 'BIRD',
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return memoryOf(child.pid!).rss;
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function kernelRoutes(): Promise<{ add: number; remove: number }> {
  const t = await vrTopology(1);
  const pair = t.pairs[0]!;
  const ns = await Netns.create('kroutes');
  try {
    for (const dev of [pair.r1If, pair.r2If]) await t.r.execOk('ip', ['link', 'set', dev, 'netns', ns.name]);
    await ns.execOk('ip', ['addr', 'add', '10.2.0.1/24', 'dev', pair.r2If]);
    await ns.execOk('ip', ['link', 'set', pair.r2If, 'up']);
    const prefixes = routeLines(ROUTES);
    const add = `${prefixes.map((p) => `route add ${p} via 10.2.0.2`).join('\n')}\n`;
    const del = `${prefixes.map((p) => `route del ${p} via 10.2.0.2`).join('\n')}\n`;
    let started = performance.now();
    await ns.execOk('ip', ['-batch', '-'], { input: add, timeoutMs: 120_000 });
    const addMs = performance.now() - started;
    const count = (await ns.execOk('ip', ['-4', 'route', 'show'])).split('\n').length;
    if (count < ROUTES) throw new Error(`kernel holds only ${count} routes`);
    started = performance.now();
    await ns.execOk('ip', ['-batch', '-'], { input: del, timeoutMs: 120_000 });
    return { add: addMs, remove: performance.now() - started };
  } finally {
    await ns.destroy();
    await t.destroy();
  }
}

async function vrRoutes(daemon: RunningDaemon, t: VrTopology): Promise<{ add: number; remove: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'nexthop-routes-'));
  try {
    const routes = `routes:\n${routeLines(ROUTES)
      .map((p) => `- { prefix: ${p}, via: 10.2.0.2 }`)
      .join('\n')}`;
    const big = join(dir, 'big.yaml');
    const small = join(dir, 'small.yaml');
    writeFileSync(
      big,
      configFor(t, (i) => (i === 0 ? routes : '')),
    );
    writeFileSync(small, configFor(t));
    let started = performance.now();
    const add = await daemon.cli(['config', 'apply', big], { timeoutMs: 300_000 });
    const addMs = performance.now() - started;
    if (add.code !== 0) throw new Error(`apply failed: ${add.stderr}`);
    const installed = (await daemon.cliJson(['show', 'routes', '--vr', 'vr0', '-j'])) as unknown[];
    if (installed.length < ROUTES) throw new Error(`vr0 shows only ${installed.length} routes`);
    started = performance.now();
    const remove = await daemon.cli(['config', 'apply', small], { timeoutMs: 300_000 });
    const removeMs = performance.now() - started;
    if (remove.code !== 0) throw new Error(`apply failed: ${remove.stderr}`);
    return { add: addMs, remove: removeMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const machine = execFileSync('uname', ['-r']).toString().trim();
  console.log(
    `nexthopd with ${VRS} VRs, ${ROUTES} static routes; ${new Date().toISOString()}, kernel ${machine}`,
  );

  const kernelMs = await kernelStart();

  const t = await vrTopology(VRS);
  let daemon: RunningDaemon | undefined;
  try {
    const started = performance.now();
    daemon = await startNexthopd(t.r, configFor(t));
    const runningMs = performance.now() - started;
    await allForward(t.pairs);
    const vrMs = performance.now() - started;

    console.log('');
    console.log('| measurement | nexthop | Linux | ratio |');
    console.log('|---|---|---|---|');
    console.log(
      `| start to all ${VRS} VRs forwarding | ${vrMs.toFixed(0)} ms (all running after ${runningMs.toFixed(0)}) | ${kernelMs.toFixed(0)} ms (ip + sysctl) | ${(vrMs / kernelMs).toFixed(1)}× |`,
    );

    await new Promise((resolve) => setTimeout(resolve, 2000));
    const pids = async () =>
      ((await daemon!.api('GET', '/vrs')).json() as { pid: number }[]).map((v) => v.pid);
    const bird = await birdRss(t);
    const row = (what: string, m: Memory) =>
      console.log(
        `| resident memory per idle VR, ${what} | ${mib(m.rss)} MiB (PSS ${mib(m.pss)}; heap and code ${mib(m.anon)}, rings and files ${mib(m.file)}) | BIRD 2: ${mib(bird)} MiB | ${(m.rss / bird).toFixed(1)}× |`,
      );
    row('2 interfaces, default ring', averageMemory(await pids()));
    // The same VRs with 4,096-slot rings: applied in place (each interface is replaced).
    const smallRings = join(mkdtempSync(join(tmpdir(), 'nexthop-ring-')), 'small.yaml');
    writeFileSync(smallRings, configFor(t).replaceAll('addresses: [', 'ringSlots: 4096, addresses: ['));
    const applied = await daemon.cli(['config', 'apply', smallRings]);
    if (applied.code !== 0) throw new Error(`apply failed: ${applied.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    row('ringSlots 4096', averageMemory(await pids()));
    writeFileSync(smallRings, configFor(t));
    const back = await daemon.cli(['config', 'apply', smallRings]);
    if (back.code !== 0) throw new Error(`apply failed: ${back.stderr}`);
    rmSync(dirname(smallRings), { recursive: true, force: true });

    const kernel = await kernelRoutes();
    const vr = await vrRoutes(daemon, t);
    console.log(
      `| apply ${ROUTES} static routes | ${vr.add.toFixed(0)} ms | ${kernel.add.toFixed(0)} ms (ip -batch) | ${(vr.add / kernel.add).toFixed(1)}× |`,
    );
    console.log(
      `| withdraw them | ${vr.remove.toFixed(0)} ms | ${kernel.remove.toFixed(0)} ms (ip -batch) | ${(vr.remove / kernel.remove).toFixed(1)}× |`,
    );
  } finally {
    await daemon?.stop();
    daemon?.removeDirs();
    await t.destroy();
  }
}

await main();
