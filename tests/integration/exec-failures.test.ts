// Issue 4: how `nexthop exec` programs fail. A uid not on the VR's access list is refused with
// EACCES and the VR's message; a VR killed under a program makes its calls fail instead of hang,
// and the same process opens working sockets again once the VR is back (same run dir).
import assert from 'node:assert/strict';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
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
import { buildShim, CLI_MAIN, execIn, execInBackground } from '../lib/exec.ts';
import { edgeConfig, type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

// TCP echo on h2.
const TCP_ECHO = `
import socketserver, sys
class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            d = self.request.recv(4096)
            if not d:
                break
            self.request.sendall(d)
socketserver.ThreadingTCPServer.allow_reuse_address = True
srv = socketserver.ThreadingTCPServer(('0.0.0.0', int(sys.argv[1])), Echo)
print('ready', flush=True)
srv.serve_forever()
`;

// Under exec: one process that connects to h2's echo every 100 ms and prints the outcome, so a VR
// restart is seen from inside a single program (its control connection must be reopened).
const PROBE = `
import socket, time, sys
while True:
    try:
        s = socket.create_connection(('10.2.0.2', 7008), timeout=5)
        s.sendall(b'x')
        ok = s.recv(1) == b'x'
        s.close()
        print('ok' if ok else 'short', flush=True)
    except OSError as e:
        print('err %s' % (e.errno,), flush=True)
    time.sleep(0.1)
`;

describe('nexthop exec: refusals and a VR that dies', () => {
  let topo: RoutedTopology;
  let vr: RunningVr;
  const started: BackgroundProcess[] = [];

  before(async () => {
    buildShim();
    topo = await routedTopology();
    vr = await startVr(topo.r, 'edge', edgeConfig(topo));
    await waitFor(() => existsSync(join(vr.runDir, 'edge.sock')), { what: 'the remote socket API' });
    // The run dir comes from mkdtemp (0700): let others reach the socket, whose own mode is 0666,
    // so that the refusal is the VR's (credentials), not the file system's.
    chmodSync(vr.runDir, 0o755);
  });

  after(async () => {
    // SIGTERM: `nexthop exec` forwards it to the program (SIGKILL would orphan the program).
    for (const p of started) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGTERM');
        await p.exited;
      }
    }
    await vr?.stop();
    await topo?.destroy();
  });

  test('a uid not on the access list (nobody) is refused with EACCES and a clear message', async () => {
    const r = await execIn(
      topo.h1,
      vr,
      [],
      [
        'setpriv',
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'curl',
        '-sS',
        '--max-time',
        '5',
        'http://10.2.0.2:1/',
      ],
      { timeoutMs: 20_000, sanitize: false },
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /uid 65534 is not on the access list of VR edge/, r.stderr);
    const stats = (await vr.counters()).stats;
    assert.ok(stats['rsock_access_refused']! >= 1);
  });

  test('killing the VR fails blocked calls promptly, a listener waits; the same processes work again after a restart', async () => {
    const echo = await startInBackground(topo.h2, 'python3', ['-c', TCP_ECHO, '7008'], (p) =>
      p.stdout().includes('ready'),
    );
    started.push(echo);
    const probe = await execInBackground(topo.h1, vr, [], ['python3', '-u', '-c', PROBE], (p) =>
      p.stdout().includes('ok'),
    );
    started.push(probe);
    // A blocked accept in another program (nc -l in the VR) waits for the VR instead: its listener
    // is re-created in the restarted VR (exec-restart.test.ts has the servers).
    const listener = await execInBackground(topo.h1, vr, [], ['nc', '-l', '7009'], async () => {
      const rows = (await vr.call('show.sockets')) as { state: string; local: string }[];
      return rows.some((r) => r.local.endsWith(':7009') && r.state === 'LISTEN');
    });
    started.push(listener);

    process.kill(vr.pid, 'SIGKILL');
    await vr.stopped();
    const mark = probe.stdout().length;
    await waitFor(() => /err \d+/.test(probe.stdout().slice(mark)), {
      timeoutMs: 10_000,
      what: 'the probe to fail',
    });

    // The same run dir and name: the probe's shim reconnects on its next socket.
    const configPath = join(vr.runDir, 'edge-again.yaml');
    writeFileSync(configPath, edgeConfig(topo));
    const again = await startInBackground(
      topo.r,
      process.execPath,
      [CLI_MAIN, 'vr', '--config', configPath, '--name', 'edge', '--run-dir', vr.runDir],
      (p) => p.stdout().includes('control socket ready'),
      { timeoutMs: 15_000 },
    );
    started.push(again);
    const mark2 = probe.stdout().length;
    await waitFor(() => probe.stdout().slice(mark2).includes('ok'), {
      timeoutMs: 15_000,
      what: `the probe to connect through the new VR (${again.stdout().slice(-500)})`,
    });
    assert.equal(listener.child.exitCode, null, `nc -l kept waiting: ${listener.stderr()}`);
    await waitFor(
      async () => {
        const r = await topo.h2.exec('sh', ['-c', 'echo hello-after-restart | nc -w 1 -N 10.2.0.1 7009'], {
          timeoutMs: 5_000,
        });
        return r.code === 0 && listener.stdout().includes('hello-after-restart');
      },
      { timeoutMs: 15_000, what: `nc -l to take a connection in the new VR (${listener.stderr()})` },
    );
    again.child.kill('SIGTERM');
    await again.exited;
  });
});
