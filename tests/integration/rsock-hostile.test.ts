// Issue 9, item 3: a local user cannot freeze the VR through its remote socket API. h1 (10.1.0.2) —
// VR edge — h2 (10.2.0.2); in the router namespace r, hostile clients hand the VR kernel TCP sockets
// whose last close blocks for 5 s (SO_LINGER {1, 5} with unsent data towards a listener that never
// reads: socket(7)) along with ATTACH, SOCKET, malformed requests and HELLO, as root, as a user on the
// access list and as one off it. Pings h1 → h2 go through the VR all along; each must come back
// within 100 ms, none may be lost, and the VR must still be the same process afterwards.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RoutedTopology, routedTopology } from '@nexthop/netns';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { edgeConfig, type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

const HOSTILE = join(import.meta.dirname, '../../packages/rsock-server/test/hostile.py');
/** On the access list, not root. */
const USER = 65532;
const NOBODY = 65534;
const ATTACK_SECONDS = 10;
const LINGER_SECONDS = 5;

interface Hostile {
  child: ChildProcess;
  done: Promise<{ code: number | null; out: string }>;
}

function hostile(topo: RoutedTopology, vr: RunningVr, uid: number, extra: string[] = []): Hostile {
  const path = join(vr.runDir, 'edge.sock');
  const args = [HOSTILE, path, String(ATTACK_SECONDS), String(LINGER_SECONDS), ...extra];
  const child =
    uid === 0
      ? topo.r.spawn('/usr/bin/python3', args)
      : topo.r.spawn('setpriv', [
          `--reuid=${uid}`,
          `--regid=${uid}`,
          '--clear-groups',
          '/usr/bin/python3',
          ...args,
        ]);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const done = new Promise<{ code: number | null; out: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, out })),
  );
  return { child, done };
}

function stats(out: string): Record<string, number> {
  const line = out
    .trim()
    .split('\n')
    .findLast((l) => l.startsWith('{'));
  assert.ok(line !== undefined, `the hostile client printed no summary:\n${out}`);
  return JSON.parse(line) as Record<string, number>;
}

describe('hostile clients of the remote socket API do not stop forwarding', () => {
  let topo: RoutedTopology;
  let vr: RunningVr;

  before(async () => {
    topo = await routedTopology();
    // nice -5: the property under test is that nothing a client hands over blocks the VR's event
    // loop; the CPU share of a VR against three busy attacker processes on two cores is what a
    // router's `nice` is for (README); at 0, one CI run saw a single 103 ms gap.
    vr = await startVr(
      topo.r,
      'edge',
      edgeConfig(topo, { extra: `access: { uids: [0, ${USER}] }\nnice: -5` }),
    );
    // Other uids reach the control socket (mode 0666) only if they can enter the run directory.
    chmodSync(vr.runDir, 0o755);
  });

  after(async () => {
    await vr?.stop();
    await topo?.destroy();
  });

  test(`pings answer within 100 ms while lingering sockets are handed over for ${ATTACK_SECONDS} s`, async (t) => {
    const before = await topo.h1.exec('ping', ['-n', '-c', '20', '-i', '0.02', '-W', '1', '10.2.0.2']);
    assert.equal(before.code, 0, before.stdout);
    const attackers = [
      hostile(topo, vr, 0),
      hostile(topo, vr, USER),
      hostile(topo, vr, NOBODY, ['--no-hello']),
    ];
    const count = Math.floor(((ATTACK_SECONDS - 1) * 1000) / 20);
    const ping = await topo.h1.exec(
      'ping',
      ['-n', '-c', String(count), '-i', '0.02', '-W', '1', '10.2.0.2'],
      {
        timeoutMs: (ATTACK_SECONDS + 30) * 1000,
      },
    );
    const results = await Promise.all(attackers.map((a) => a.done));
    const rtts = [...ping.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
    const worst = Math.max(...rtts);
    const s = results.map((r) => stats(r.out));
    const c = (await vr.counters()).stats;
    t.diagnostic(
      `${rtts.length}/${count} pings, worst ${worst.toFixed(2)} ms, median ${rtts.sort((a, b) => a - b)[rtts.length >> 1]} ms`,
    );
    t.diagnostic(
      `root: ${JSON.stringify(s[0])}; uid ${USER}: ${JSON.stringify(s[1])}; nobody: ${JSON.stringify(s[2])}`,
    );
    t.diagnostic(
      `VR: foreign fds ${c.rsock_foreign_fds}, kept ${c.rsock_foreign_fds_kept}, refused at accept ${c.rsock_access_refused}, HELLO timeouts ${c.rsock_hello_timeouts}`,
    );
    for (const r of results) assert.equal(r.code, 0, r.out);
    // How many each makes depends on how hard the VR throttles it (a uid with 64 descriptors waiting
    // for the closer threads is not read, so its next HELLO waits): what counts is that they arrive.
    assert.ok(s[0]!.sockets! >= 10 && s[1]!.sockets! >= 10, 'too few lingering sockets were made');
    assert.ok((c.rsock_foreign_fds ?? 0) > 100, `only ${c.rsock_foreign_fds} descriptors reached the VR`);
    assert.ok((c.rsock_access_refused ?? 0) > 0, 'the user off the access list was never refused');
    assert.equal(rtts.length, count, `pings lost:\n${ping.stdout.slice(-600)}`);
    assert.ok(worst < 100, `a ping took ${worst} ms:\n${ping.stdout.slice(-600)}`);
    // Same process, still answering.
    const status = (await vr.call('status')) as { pid: number };
    assert.equal(status.pid, vr.pid);
  });
});
