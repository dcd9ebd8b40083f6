// Issue 4: unmodified programs with their sockets inside a VR, through `nexthop exec` and the
// LD_PRELOAD shim (built with ASan/UBSan here). h1 (10.1.0.2) — VR edge (10.1.0.1 | 10.2.0.1) — h2
// (10.2.0.2); the router namespace's kernel has no addresses and does not forward. The exec'd
// programs run in h1, whose kernel routes to h2 through the VR as an ordinary router: a socket in
// the VR leaves from 10.2.0.1 (the VR's own address); a kernel socket leaves from 10.1.0.2 and is
// merely forwarded. nginx's access log, the VR's remote-socket counters and its forwarding counter
// tell the two apart.
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
import {
  buildShim,
  CLI_MAIN,
  CLIENT_BUILD,
  execIn,
  execInBackground,
  type Nginx,
  nginxConfig,
} from '../lib/exec.ts';
import { edgeConfig, type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

// UDP echo on h2: answers "pong:<payload>" and logs each sender.
const UDP_ECHO = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', int(sys.argv[1])))
print('ready', flush=True)
while True:
    data, peer = s.recvfrom(2048)
    print('from %s:%d %r' % (peer[0], peer[1], data), flush=True)
    s.sendto(b'pong:' + data, peer)
`;

// TCP echo on h2, one thread per connection; closes after the client's FIN.
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

async function stats(vr: RunningVr): Promise<Record<string, number>> {
  return (await vr.counters()).stats;
}

describe('nexthop exec: programs in h1 with their sockets inside the VR', () => {
  let topo: RoutedTopology;
  let vr: RunningVr;
  let nginx: Nginx;
  let nginxProc: BackgroundProcess;
  const servers: BackgroundProcess[] = [];

  before(async () => {
    buildShim();
    topo = await routedTopology();
    vr = await startVr(topo.r, 'edge', edgeConfig(topo));
    await waitFor(() => existsSync(join(vr.runDir, 'edge.sock')), { what: 'the remote socket API' });
    nginx = nginxConfig(80);
    nginxProc = await startInBackground(topo.h2, 'nginx', ['-p', nginx.dir, '-c', nginx.conf], async () => {
      const r = await topo.h2.exec('ss', ['-Hltn', 'sport = :80']);
      return r.stdout.includes(':80');
    });
  });

  after(async () => {
    for (const p of [nginxProc, ...servers]) {
      if (p !== undefined && p.child.exitCode === null) {
        p.child.kill('SIGTERM');
        await p.exited;
      }
    }
    await vr?.stop();
    await topo?.destroy();
    if (nginx !== undefined) rmSync(nginx.dir, { recursive: true, force: true });
  });

  function lastAccess(): string {
    const lines = readFileSync(nginx.accessLog, 'utf8').trim().split('\n');
    return lines[lines.length - 1] ?? '';
  }

  test('curl under exec fetches the page from nginx on h2, from the VR address 10.2.0.1', async () => {
    const before = await stats(vr);
    const r = await execIn(topo.h1, vr, [], ['curl', '-sS', '--max-time', '10', 'http://10.2.0.2/'], {
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 0, `curl failed: ${r.stderr}\n${vr.log().slice(-3000)}`);
    assert.equal(r.stdout, nginx.page);
    assert.match(lastAccess(), /^10\.2\.0\.1 /, 'nginx saw the VR as the client');
    const afterStats = await stats(vr);
    assert.ok(
      afterStats['rsock_bytes_to_apps']! > before['rsock_bytes_to_apps']!,
      'the page came through the VR',
    );
  });

  test('--kernel 10.2.0.0/24: the same curl goes through h1 kernel, the VR only forwards', async () => {
    const before = await stats(vr);
    const r = await execIn(
      topo.h1,
      vr,
      ['--kernel', '10.2.0.0/24'],
      ['curl', '-sS', '--max-time', '10', 'http://10.2.0.2/'],
      { timeoutMs: 30_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, nginx.page);
    assert.match(lastAccess(), /^10\.1\.0\.2 /, "nginx saw h1's own address");
    const afterStats = await stats(vr);
    for (const key of [
      'rsock_bytes_to_apps',
      'rsock_bytes_from_apps',
      'rsock_connections',
      'rsock_sockets',
    ]) {
      assert.equal(afterStats[key], before[key], `${key} did not move`);
    }
    // The kernel's packets crossed the VR as a router: at least SYN, request, FIN and ACKs.
    assert.ok(afterStats['forwarded']! - before['forwarded']! >= 4, 'the VR forwarded the kernel connection');
  });

  test('nc -u under exec exchanges datagrams with h2, both ways', async () => {
    const echo = await startInBackground(topo.h2, 'python3', ['-c', UDP_ECHO, '5353'], (p) =>
      p.stdout().includes('ready'),
    );
    servers.push(echo);
    // Outbound: nc sends, h2 answers to the VR, nc prints the answer.
    const r = await execIn(topo.h1, vr, [], ['nc', '-u', '-w', '2', '10.2.0.2', '5353'], {
      input: 'hello\n',
      timeoutMs: 30_000,
      sanitize: true,
    });
    assert.match(r.stdout, /pong:hello/, `nc printed: ${r.stdout}\n${r.stderr}`);
    assert.match(echo.stdout(), /from 10\.2\.0\.1:\d+ b'hello\\n'/);

    // Inbound: nc listens in the VR (10.2.0.1:6000); h2 sends first, nc answers from its stdin.
    const nc = await execInBackground(
      topo.h1,
      vr,
      [],
      ['sh', '-c', 'echo back | nc -u -l 6000'],
      () => true,
      {
        sanitize: true,
      },
    );
    servers.push(nc);
    await waitFor(
      async () =>
        ((await vr.call('show.sockets')) as { local?: string }[]).some((s) =>
          JSON.stringify(s).includes('6000'),
        ),
      {
        timeoutMs: 10_000,
        what: 'nc to bind 10.2.0.1:6000 in the VR',
      },
    );
    const send = await topo.h2.exec(
      'python3',
      [
        '-c',
        `import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(b'hi from h2\\n', ('10.2.0.1', 6000))
print(s.recvfrom(100)[0].decode(), end='')`,
      ],
      { timeoutMs: 20_000 },
    );
    assert.equal(send.stdout, 'back\n', send.stderr);
    // (No -W 1: nc stops reading stdin once its receive limit is reached, so whether "back" went
    // out would depend on which of stdin and the socket poll() reported first.)
    await waitFor(() => nc.stdout().includes('hi from h2'), { what: 'nc to print the datagram from h2' });
    nc.child.kill('SIGTERM');
    await nc.exited;
  });

  test('poll, epoll, select, dup and fork work on a VR socket (a small C program)', async () => {
    const echo = await startInBackground(topo.h2, 'python3', ['-c', TCP_ECHO, '7007'], (p) =>
      p.stdout().includes('ready'),
    );
    servers.push(echo);
    const r = await execIn(topo.h1, vr, [], [join(CLIENT_BUILD, 'exec_fds'), '10.2.0.2', '7007'], {
      timeoutMs: 30_000,
      sanitize: true,
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^local 10\.2\.0\.1\n/);
    assert.match(r.stdout, /\nok\n$/);
  });

  test('a missing VR is a clear error', async () => {
    const r = await topo.h1.exec(process.execPath, [
      CLI_MAIN,
      'exec',
      'nosuchvr',
      '--run-dir',
      vr.runDir,
      '--',
      'true',
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /VR 'nosuchvr' is not running/);
  });
});
