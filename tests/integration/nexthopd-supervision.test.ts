// Issue 5: nexthopd runs two VRs, red and blue, each routing between its own pair of hosts; a VR
// that dies is restarted without disturbing the other.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parsePing, uniqueToken, waitFor } from '@nexthop/netns';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import {
  pingOnce,
  type RunningDaemon,
  startNexthopd,
  type TwoVrTopology,
  tempFile,
  twoVrConfig,
  twoVrTopology,
  vrStatus,
} from '../lib/nexthopd.ts';

useNetnsCleanup();

describe('nexthopd supervises two VRs', () => {
  let topo: TwoVrTopology;
  let daemon: RunningDaemon;

  before(async () => {
    topo = await twoVrTopology();
    daemon = await startNexthopd(topo.r, twoVrConfig(topo));
  });

  after(async () => {
    await daemon?.stop();
    daemon?.removeDirs();
    await topo?.destroy();
  });

  test('both VRs forward between their own hosts', async () => {
    for (const pair of [topo.red, topo.blue]) {
      const r = await pair.h1.exec('ping', ['-n', '-c', '10', '-i', '0.05', '-W', '2', '10.2.0.2'], {
        timeoutMs: 20_000,
      });
      assert.equal(parsePing(r.stdout).received, 10, r.stdout);
    }
    const vrs = (await daemon.api('GET', '/vrs')).json() as { name: string; state: string; pid: number }[];
    assert.deepEqual(vrs.map((v) => [v.name, v.state]).sort(), [
      ['blue', 'running'],
      ['red', 'running'],
    ]);
    assert.notEqual(vrs[0]!.pid, vrs[1]!.pid);
  });

  test('kill -9 of red: red forwards again within 2 s, a ping through blue loses nothing', async (t) => {
    const blueBefore = await vrStatus(daemon, 'blue');
    const red = await vrStatus(daemon, 'red');
    assert.ok(red.pid !== null);
    // 60 pings 50 ms apart span the crash and the restart.
    const bluePing = topo.blue.h1.exec('ping', ['-n', '-c', '60', '-i', '0.05', '-W', '2', '10.2.0.2'], {
      timeoutMs: 30_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const killedAt = performance.now();
    process.kill(red.pid, 'SIGKILL');
    await waitFor(() => pingOnce(topo.red, '10.2.0.2', '0.2'), {
      timeoutMs: 10_000,
      intervalMs: 0,
      what: 'red to forward again',
    });
    const recoveryMs = performance.now() - killedAt;
    t.diagnostic(`red forwarded again ${recoveryMs.toFixed(0)} ms after kill -9`);
    const blue = await bluePing;
    const summary = parsePing(blue.stdout);
    assert.equal(summary.transmitted, 60, blue.stdout);
    assert.equal(summary.received, 60, `blue lost pings while red restarted:\n${blue.stdout}`);
    assert.ok(recoveryMs < 2000, `red forwarded again only after ${recoveryMs.toFixed(0)} ms`);

    const redAfter = await vrStatus(daemon, 'red');
    assert.equal(redAfter.state, 'running');
    assert.notEqual(redAfter.pid, red.pid);
    assert.equal(redAfter.restarts, red.restarts + 1);
    const blueAfter = await vrStatus(daemon, 'blue');
    assert.equal(blueAfter.pid, blueBefore.pid, 'blue was not restarted');
    assert.equal(blueAfter.restarts, blueBefore.restarts);
    assert.match(daemon.log(), /"vr":"red"[^\n]*SIGKILL|SIGKILL[^\n]*"vr":"red"/, 'the restart is logged');
  });

  test('vr stop, start and restart from the CLI', async () => {
    const stop = await daemon.cli(['vr', 'stop', 'red']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await vrStatus(daemon, 'red')).state, 'stopped');
    assert.equal(await pingOnce(topo.red), false, 'a stopped VR does not forward');
    // A stopped VR stays stopped: no restart behind the operator's back.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await vrStatus(daemon, 'red')).state, 'stopped');
    const start = await daemon.cli(['vr', 'start', 'red']);
    assert.equal(start.code, 0, start.stderr);
    await waitFor(() => pingOnce(topo.red), { timeoutMs: 10_000, intervalMs: 0, what: 'red to forward' });
    const before = await vrStatus(daemon, 'red');
    const restart = await daemon.cli(['vr', 'restart', 'red']);
    assert.equal(restart.code, 0, restart.stderr);
    await waitFor(() => pingOnce(topo.red), { timeoutMs: 10_000, intervalMs: 0, what: 'red to forward' });
    const afterRestart = await vrStatus(daemon, 'red');
    assert.notEqual(afterRestart.pid, before.pid);
    const unknown = await daemon.cli(['vr', 'restart', 'green']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /green/);
  });

  test('a VR whose device vanished is retried with back-off, says why, and disturbs no other', async () => {
    const token = uniqueToken();
    const device = `gr-${token}`;
    await topo.r.execOk('ip', ['link', 'add', device, 'type', 'veth', 'peer', 'name', `gp-${token}`]);
    await topo.r.execOk('ip', ['link', 'set', device, 'up']);
    const base = twoVrConfig(topo);
    const withGreen = `${base}  green:\n    interfaces:\n      eth0: { driver: afpacket, device: ${device}, addresses: [10.5.0.1/24] }\n`;
    const add = await daemon.cli(['config', 'apply', tempFile('g.yaml', withGreen)]);
    assert.equal(add.code, 0, add.stderr);
    await waitFor(async () => (await vrStatus(daemon, 'green')).state === 'running', {
      timeoutMs: 10_000,
      what: 'green to run',
    });
    const blue = await vrStatus(daemon, 'blue');
    await topo.r.execOk('ip', ['link', 'del', device]);
    await daemon.cli(['vr', 'restart', 'green']);
    await waitFor(
      async () => {
        const green = (await daemon.api('GET', '/vrs/green')).json() as {
          state: string;
          reason: string | null;
        };
        return green.state === 'restarting' && (green.reason ?? '').includes(device);
      },
      { timeoutMs: 10_000, what: 'green to report its missing device' },
    );
    const table = await daemon.cli(['show', 'vrs']);
    assert.match(
      table.stdout,
      new RegExp(
        `^green +(restarting|starting) .*exited with code 1: .*device ${device} does not exist`,
        'm',
      ),
    );
    const restarts = (await vrStatus(daemon, 'green')).restarts;
    await waitFor(async () => (await vrStatus(daemon, 'green')).restarts >= restarts + 2, {
      timeoutMs: 10_000,
      what: 'green to be retried',
    });
    assert.equal(await pingOnce(topo.blue), true, 'blue still forwards');
    assert.equal((await vrStatus(daemon, 'blue')).pid, blue.pid, 'blue was not touched');
    const remove = await daemon.cli(['config', 'apply', tempFile('b.yaml', base)]);
    assert.equal(remove.code, 0, remove.stderr);
    assert.equal((await daemon.api('GET', '/vrs/green')).status, 404);
  });

  test('VRs outlive a nexthopd that dies or leaves; the next one adopts them without a lost ping', async () => {
    const before = [(await vrStatus(daemon, 'red')).pid!, (await vrStatus(daemon, 'blue')).pid!];
    for (const leave of ['SIGKILL', 'SIGUSR2'] as const) {
      const ping = topo.blue.h1.exec('ping', ['-n', '-c', '40', '-i', '0.05', '-W', '2', '10.2.0.2'], {
        timeoutMs: 30_000,
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      process.kill(daemon.pid, leave);
      const base = daemon.base;
      await waitFor(() => !processAlive(daemon.pid), { timeoutMs: 10_000, what: 'nexthopd to exit' });
      assert.ok(before.every(processAlive), `the VRs run on after ${leave}`);
      daemon = await startNexthopd(topo.r, null, { base });
      const summary = parsePing((await ping).stdout);
      assert.equal(summary.received, 40, `pings through blue lost while nexthopd was away (${leave})`);
      assert.deepEqual(
        [(await vrStatus(daemon, 'red')).pid, (await vrStatus(daemon, 'blue')).pid],
        before,
        `the VRs were adopted, not restarted (${leave})`,
      );
      assert.match(daemon.log(), /VR adopted/);
    }
    // The adopted VRs are supervised: one killed is restarted.
    process.kill(before[0]!, 'SIGKILL');
    await waitFor(
      async () => {
        const red = await vrStatus(daemon, 'red');
        return red.state === 'running' && red.pid !== before[0];
      },
      { timeoutMs: 10_000, what: 'red to be restarted' },
    );
    assert.equal(await pingOnce(topo.red, '10.2.0.2', '1'), true);
    assert.equal((await vrStatus(daemon, 'blue')).pid, before[1]);
  });

  test('a restarted nexthopd brings the VRs back with the last applied config', async () => {
    const pids = [(await vrStatus(daemon, 'red')).pid, (await vrStatus(daemon, 'blue')).pid];
    assert.equal(await daemon.stop(), 0, daemon.log());
    // The VRs leave with their manager: no orphans.
    for (const pid of pids) {
      await waitFor(() => !processAlive(pid!), { timeoutMs: 5000, what: `VR ${pid} to exit` });
    }
    daemon = await startNexthopd(topo.r, null, { base: daemon.base });
    for (const pair of [topo.red, topo.blue]) {
      await waitFor(() => pingOnce(pair), { timeoutMs: 10_000, intervalMs: 0, what: 'forwarding' });
    }
  });
});

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
