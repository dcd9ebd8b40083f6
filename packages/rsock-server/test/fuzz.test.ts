// Property: whatever one client sends — random and mutated request sequences, with and without
// descriptors, on connections that say HELLO or not, at protocol version 1 or 2, with datagrams of
// either header layout written to the descriptors they got — the server never throws, answers a
// fresh HELLO afterwards, and once the clients are gone holds no descriptor and no quota more than
// before.
// 10^5 sequences in all: most in-process (as root, batches of concurrent connections), the rest from
// a process of an unprivileged uid (setpriv) against the same server. Fixed seeds.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { foreignCloser } from '@nexthop/native';
import fc from 'fast-check';
import { answersHello, runSequence, sequenceArb } from './fuzz.ts';
import { makeWorld, type World } from './harness.ts';

const BATCH = 50;
const IN_PROCESS_RUNS = 1800; // 90,000 sequences
const CHILD_RUNS = 200; // 10,000 sequences as uid 65534
const NOBODY = 65534;
const CHILD = join(import.meta.dirname, 'fuzz-child.ts');

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Waits until the closer threads are idle and the clients hold nothing (connections, sockets, quota). */
async function settled(w: World): Promise<void> {
  const end = Date.now() + 20_000;
  for (;;) {
    const c = foreignCloser().stats();
    const usage = w.a.server.usage();
    if (c.waiting === 0 && c.closing === 0 && usage.connections === 0 && usage.sockets === 0) return;
    if (Date.now() > end)
      throw new Error(`not settled: closer ${JSON.stringify(c)}, usage ${JSON.stringify(usage)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function assertNothingHeld(w: World): void {
  const usage = w.a.server.usage();
  assert.deepEqual(usage, { sockets: 0, bufferedBytes: 0, connections: 0, foreignFds: 0, clients: [] });
  assert.equal(w.a.server.counters().rsock_sockets, 0);
}

test('random and mutated request sequences: no throw, a fresh HELLO answered, nothing leaked', async (t) => {
  const w = makeWorld({
    uids: [0, NOBODY],
    quotas: { clientConnections: 1024, connections: 4096, clientSockets: 256 },
  });
  chmodSync(w.dir, 0o755);
  let thrown: unknown = null;
  const onThrow = (err: unknown) => {
    thrown = err;
  };
  process.on('uncaughtException', onThrow);
  try {
    // Warm up (the closer threads, the codec), then count.
    await runSequence(w.a.path, { hello: true, version: 2, steps: [] });
    await settled(w);
    const fdsBefore = fdCount();
    const t0 = performance.now();
    await fc.assert(
      fc.asyncProperty(fc.array(sequenceArb, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        await Promise.all(batch.map((s) => runSequence(w.a.path, s)));
        assert.equal(thrown, null);
        assert.equal(await answersHello(w.a.path), 'hello-ok');
      }),
      { seed: 0x5eed, numRuns: IN_PROCESS_RUNS, endOnFailure: true },
    );
    const t1 = performance.now();
    await settled(w);
    assertNothingHeld(w);
    assert.equal(fdCount(), fdsBefore, 'descriptors leaked in-process');

    const child = spawn(
      'setpriv',
      [
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        '--clear-groups',
        process.execPath,
        CHILD,
        w.a.path,
        '7',
        String(CHILD_RUNS),
        String(BATCH),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, out);
    assert.match(out, new RegExp(`ok ${CHILD_RUNS * BATCH}`));
    assert.equal(thrown, null);
    await settled(w);
    assertNothingHeld(w);
    assert.equal(fdCount(), fdsBefore, 'descriptors leaked by the unprivileged client');
    assert.equal(await answersHello(w.a.path), 'hello-ok');
    const c = w.a.server.counters();
    t.diagnostic(
      `${IN_PROCESS_RUNS * BATCH} sequences in-process in ${((t1 - t0) / 1000).toFixed(1)} s, ${CHILD_RUNS * BATCH} as uid ${NOBODY}; ` +
        `malformed ${c.rsock_malformed_requests}, foreign fds ${c.rsock_foreign_fds}, HELLO timeouts ${c.rsock_hello_timeouts}, quota refusals ${c.rsock_quota_refused}, ` +
        `datagrams from apps ${c.rsock_dgrams_from_apps} (bad ${c.rsock_dgrams_bad_from_apps})`,
    );
  } finally {
    process.off('uncaughtException', onThrow);
    w.close();
  }
});
