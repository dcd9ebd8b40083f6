// Issue 9: servers under `nexthop exec` survive a restart of their VR. When the VR dies, each
// listening socket's pair reads end of file; the program's next accept re-creates the listener in
// the VR that comes back on the same control socket (same address, port and backlog, on the same
// descriptor, its epoll registrations and the options the program set carried over) instead of
// failing. Connections established before the restart are gone with the old VR: their peers get a
// reset. The servers are not restarted themselves (same pids).
//
// h1 (servers under exec, sockets in the VR) — VR edge (10.1.0.1 | 10.2.0.1) — h2 (kernel clients).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BackgroundProcess, type RoutedTopology, routedTopology, waitFor } from '@nexthop/netns';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { buildShim, execInBackground, type Nginx, nginxConfig } from '../lib/exec.ts';
import { edgeConfig, type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

// A forking server in the classic shape: blocking accept in the parent, one child per connection
// that answers with its pid; the parent reaps its children.
const FORKING = `
import os, signal, socket, sys
def reap(*_):
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass
signal.signal(signal.SIGCHLD, reap)
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
s.bind(('0.0.0.0', int(sys.argv[1])))
s.listen(16)
print('ready', flush=True)
while True:
    try:
        c, peer = s.accept()
    except InterruptedError:
        continue
    # What the listener holds now: after a VR restart, the re-created one.
    opts = b'reuse %d keepalive %d' % (s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0,
                                        s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0)
    if os.fork() == 0:
        s.close()
        c.sendall(b'forked %d for %s %s\\n' % (os.getpid(), peer[0].encode(), opts))
        c.close()
        os._exit(0)
    c.close()
`;

// An event-loop server (asyncio on epoll): an echo server.
const ASYNC_ECHO = `
import asyncio, sys
async def echo(r, w):
    while True:
        d = await r.read(4096)
        if not d:
            break
        w.write(d)
        await w.drain()
    w.close()
async def main():
    srv = await asyncio.start_server(echo, '0.0.0.0', int(sys.argv[1]))
    print('ready', flush=True)
    async with srv:
        await srv.serve_forever()
asyncio.run(main())
`;

async function vrListening(vr: RunningVr, port: number): Promise<boolean> {
  const rows = (await vr.call('show.sockets')) as { state: string; local: string }[];
  return rows.some((r) => r.local.endsWith(`:${port}`) && /listen/i.test(r.state));
}

describe('servers under nexthop exec survive a restart of their VR', () => {
  let topo: RoutedTopology;
  let vr: RunningVr;
  let again: RunningVr | undefined;
  let nginx: Nginx;
  const servers: BackgroundProcess[] = [];
  const clients: ChildProcess[] = [];

  before(async () => {
    buildShim();
    topo = await routedTopology();
    vr = await startVr(topo.r, 'edge', edgeConfig(topo));
    await waitFor(() => existsSync(join(vr.runDir, 'edge.sock')), { what: 'the remote socket API' });
    nginx = nginxConfig(8080);
  });

  after(async () => {
    for (const p of servers) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGTERM');
        await p.exited;
      }
    }
    for (const c of clients) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (again !== undefined) await again.stop();
    else await vr?.stop();
    await topo?.destroy();
    if (nginx !== undefined) rmSync(nginx.dir, { recursive: true, force: true });
  });

  async function fromH2(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return topo.h2.exec('curl', ['-sS', '--max-time', '3', ...args], { timeoutMs: 10_000 });
  }

  async function echoOnce(port: number): Promise<string> {
    const r = await topo.h2.exec(
      'python3',
      [
        '-c',
        `import socket
s = socket.create_connection(('10.2.0.1', ${port}), timeout=3)
s.sendall(b'ping')
print(s.recv(10).decode())`,
      ],
      { timeoutMs: 10_000 },
    );
    return r.stdout.trim();
  }

  test('nginx (epoll), a forking server and an asyncio server answer again after the VR is killed and restarted', async (t) => {
    const ng = await execInBackground(topo.h1, vr, [], ['nginx', '-p', nginx.dir, '-c', nginx.conf], () =>
      vrListening(vr, 8080),
    );
    servers.push(ng);
    const fork = await execInBackground(topo.h1, vr, [], ['python3', '-u', '-c', FORKING, '7100'], () =>
      vrListening(vr, 7100),
    );
    servers.push(fork);
    const aecho = await execInBackground(topo.h1, vr, [], ['python3', '-u', '-c', ASYNC_ECHO, '7200'], () =>
      vrListening(vr, 7200),
    );
    servers.push(aecho);

    assert.equal((await fromH2(['http://10.2.0.1:8080/'])).stdout, nginx.page);
    assert.match(
      (await fromH2(['telnet://10.2.0.1:7100'])).stdout,
      /^forked \d+ for 10\.2\.0\.2 reuse 1 keepalive 1/,
    );
    assert.equal(await echoOnce(7200), 'ping');

    // A connection established before the restart, held open from h2 until SIGUSR1.
    const held = topo.h2.spawn('python3', [
      '-u',
      '-c',
      `import signal, socket
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
s = socket.create_connection(('10.2.0.1', 7200), timeout=5)
s.sendall(b'a'); print('before', s.recv(10).decode(), flush=True)
signal.sigwait([signal.SIGUSR1])
try:
    s.sendall(b'b'); d = s.recv(10)
    print('after', 'eof' if d == b'' else d.decode(), flush=True)
except OSError as e:
    print('after', type(e).__name__, flush=True)`,
    ]);
    clients.push(held);
    let heldOut = '';
    held.stdout?.on('data', (d: Buffer) => {
      heldOut += d.toString();
    });
    await waitFor(() => heldOut.includes('before a'), { what: 'the held connection to echo' });

    const pids = [ng.child.pid, fork.child.pid, aecho.child.pid];
    process.kill(vr.pid, 'SIGKILL');
    await vr.stopped();
    const killedAt = Date.now();
    again = await startVr(topo.r, 'edge', edgeConfig(topo), { runDir: vr.runDir });

    // Each server re-creates its listener at its next accept (the old pair read end of file).
    for (const port of [8080, 7100, 7200])
      await waitFor(() => vrListening(again!, port), {
        timeoutMs: 15_000,
        what: `port ${port} listening again (${[ng, fork, aecho].map((p) => p.stderr().slice(-600)).join(' | ')})`,
      });
    t.diagnostic(`all three listening again ${Date.now() - killedAt} ms after the kill`);
    assert.equal((await fromH2(['http://10.2.0.1:8080/'])).stdout, nginx.page);
    // The re-created listener has the options the program set on the old one before its bind.
    assert.match(
      (await fromH2(['telnet://10.2.0.1:7100'])).stdout,
      /^forked \d+ for 10\.2\.0\.2 reuse 1 keepalive 1/,
    );
    assert.equal(await echoOnce(7200), 'ping');
    // Twice more each: the listeners keep working, not just once.
    for (let i = 0; i < 2; i++) {
      assert.equal((await fromH2(['http://10.2.0.1:8080/'])).stdout, nginx.page);
      assert.match((await fromH2(['telnet://10.2.0.1:7100'])).stdout, /^forked/);
      assert.equal(await echoOnce(7200), 'ping');
    }
    assert.deepEqual(
      [ng.child.pid, fork.child.pid, aecho.child.pid],
      pids,
      'the servers themselves were not restarted',
    );
    for (const p of [ng, fork, aecho]) assert.equal(p.child.exitCode, null, `${p.stderr()}`);
    const log = readFileSync(nginx.accessLog, 'utf8').trim().split('\n');
    assert.equal(log.length, 4, 'nginx served one request before and three after');

    // The connection from before: the new VR knows nothing of it and resets it.
    held.kill('SIGUSR1');
    await waitFor(() => heldOut.includes('after'), { timeoutMs: 10_000, what: 'the held connection to end' });
    assert.match(heldOut, /after ConnectionResetError/, heldOut);
  });
});
