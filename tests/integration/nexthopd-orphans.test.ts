// A VR outlives a nexthopd that dies (the next one adopts it), but not the devices it routes
// between: once its manager is gone and none of its devices is left, it stops by itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '@nexthop/netns';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { killLeftovers, routerYaml, startNexthopd, vrStatus, vrTopology } from '../lib/nexthopd.ts';

useNetnsCleanup();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('an orphaned VR whose devices are gone stops by itself', async () => {
  const t = await vrTopology(1);
  const daemon = await startNexthopd(t.r, `routers:\n${routerYaml('solo', t.pairs[0]!, '')}\n`);
  const pid = (await vrStatus(daemon, 'solo')).pid!;
  try {
    process.kill(daemon.pid, 'SIGKILL');
    await waitFor(() => !alive(daemon.pid), { timeoutMs: 5000, what: 'nexthopd to die' });
    // Still forwarding for whoever adopts it next.
    assert.ok(alive(pid), 'the VR runs on without its manager');
    // Its hosts' namespaces go, and with them the other ends of its veths, then its own ends.
    await t.destroy();
    await waitFor(() => !alive(pid), { timeoutMs: 10_000, what: 'the orphaned VR to stop' });
  } finally {
    killLeftovers([pid]);
    daemon.removeDirs();
  }
});
