// Issue 4, the Node client: h1 (10.1.0.2) — VR edge (10.1.0.1 | 10.2.0.1) — h2 (10.2.0.2), nothing of
// the VR's addresses on the kernel side. The client programs (tests/lib/rsock-program.ts) run in the
// router namespace r: the VR's control socket is a file there, and r's kernel has no address but
// loopback and no route to h2, so whatever reaches h2 went through the VR — and a kernel socket on
// loopback in the same program shows both kinds side by side. (In h1 the kernel would reach h2
// through the VR as a router, which proves less.)
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
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
import { type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

const PROGRAM = join(import.meta.dirname, '../lib/rsock-program.ts');
const NOBODY = 65534;
/** Not on the access list either, but given a quota: the quota test's client. */
const QUOTA_UID = 65533;
/** On the access list with a grant for ports below 1024. */
const GRANTED_UID = 65532;
const TCP_PORT = 7000;
const UDP_PORT = 5301;

function config(topo: RoutedTopology): string {
  return `routers:
  edge:
    interfaces:
      eth0: { driver: afpacket, device: ${topo.r1If}, addresses: [10.1.0.1/24] }
      eth1: { driver: afpacket, device: ${topo.r2If}, addresses: [10.2.0.1/24, 2001:db8:2::1/64] }
    routes:
      - { prefix: 10.3.0.0/24, via: 10.2.0.2 }
    access: { uids: [0, ${QUOTA_UID}, ${GRANTED_UID}], privilegedPorts: { uids: [${GRANTED_UID}] } }
    quotas: { clientSockets: 6 }
`;
}

// TCP echo on h2 that logs each peer.
const TCP_ECHO = `
import socketserver, sys
class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        print('peer %s:%d' % self.client_address, flush=True)
        while True:
            d = self.request.recv(65536)
            if not d:
                break
            self.request.sendall(d)
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True
srv = socketserver.ThreadingTCPServer(('0.0.0.0', int(sys.argv[1])), Echo)
print('ready', flush=True)
srv.serve_forever()
`;

const UDP_ECHO = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', int(sys.argv[1])))
print('ready', flush=True)
while True:
    data, peer = s.recvfrom(2048)
    print('from %s:%d' % peer, flush=True)
    s.sendto(b'pong:' + data, peer)
`;

// h2's client: connects to argv[1]:argv[2], sends argv[3], half-closes, prints all it gets back.
const ONE_EXCHANGE = `
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
c.sendall(sys.argv[3].encode())
c.shutdown(socket.SHUT_WR)
got = b''
while True:
    d = c.recv(4096)
    if not d:
        break
    got += d
print(got.decode())
`;

function lines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function asUser(uid: number, args: readonly string[]): string[] {
  return [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, PROGRAM, ...args];
}

describe('the Node client (rsock-client) in the router namespace, with a VR between h1 and h2', () => {
  let topo: RoutedTopology;
  let vr: RunningVr;
  let tcpEcho: BackgroundProcess;
  let udpEcho: BackgroundProcess;

  async function program(args: readonly string[], timeoutMs = 30_000): Promise<Record<string, unknown>[]> {
    const r = await topo.r.exec(process.execPath, [PROGRAM, args[0]!, 'edge', vr.runDir, ...args.slice(1)], {
      timeoutMs,
    });
    assert.equal(
      r.code,
      0,
      `program ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}\n${vr.log().slice(-2000)}`,
    );
    return lines(r.stdout);
  }

  before(async () => {
    topo = await routedTopology();
    vr = await startVr(topo.r, 'edge', config(topo));
    // Other uids reach the control socket (mode 0666) only if they can enter the run-dir.
    chmodSync(vr.runDir, 0o755);
    tcpEcho = await startInBackground(topo.h2, '/usr/bin/python3', ['-c', TCP_ECHO, String(TCP_PORT)], (p) =>
      p.stdout().includes('ready'),
    );
    udpEcho = await startInBackground(topo.h2, '/usr/bin/python3', ['-c', UDP_ECHO, String(UDP_PORT)], (p) =>
      p.stdout().includes('ready'),
    );
    await topo.h2.execOk('ip', ['-6', 'addr', 'add', '2001:db8:2::2/64', 'dev', topo.h2If, 'nodad']);
  });

  after(async () => {
    await vr?.stop();
    await topo?.destroy();
  });

  test('one program holds a VR socket to h2 and a kernel socket on loopback; both carry data', async () => {
    const before = tcpEcho.stdout().length;
    const [r] = await program(['both', String(TCP_PORT)]);
    assert.deepEqual(r, {
      vrEchoOk: true,
      vrEchoLength: 200_000,
      kernelEcho: 'kernel-echo:hello kernel',
      vrLocal: '10.2.0.1',
      vrRemote: `10.2.0.2:${TCP_PORT}`,
      kernelDirectToH2: 'ENETUNREACH',
    });
    assert.match(tcpEcho.stdout().slice(before), /^peer 10\.2\.0\.1:\d+$/m);
  });

  test('a server made with createServer accepts a connection from h2 and exchanges data', async () => {
    const srv = await startInBackground(
      topo.r,
      process.execPath,
      [PROGRAM, 'server', 'edge', vr.runDir, '8080'],
      (p) => p.stdout().includes('"ready"'),
      { timeoutMs: 15_000 },
    );
    const r = await topo.h2.exec('/usr/bin/python3', ['-c', ONE_EXCHANGE, '10.2.0.1', '8080', 'from h2'], {
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'vr-server:from h2');
    assert.equal(await srv.exited, 0, srv.stderr());
    const out = lines(srv.stdout());
    assert.deepEqual(out[0], { ready: { address: '0.0.0.0', family: 'IPv4', port: 8080 } });
    assert.deepEqual(out[1], { accepted: '10.2.0.2', got: 'from h2' });
  });

  test('a dual-stack server on [::] (createServer) takes h2 over IPv6 and over IPv4, v4-mapped', async () => {
    // The VR's IPv6 address is usable once its DAD is over (RFC 4862 §5.4).
    await waitFor(
      async () =>
        (await topo.h2.exec('ping', ['-6', '-n', '-c', '1', '-W', '1', '2001:db8:2::1'], { timeoutMs: 5000 }))
          .code === 0,
      { what: 'the VR answering on 2001:db8:2::1', timeoutMs: 15_000 },
    );
    const srv = await startInBackground(
      topo.r,
      process.execPath,
      [PROGRAM, 'dual', 'edge', vr.runDir, '8086', '2'],
      (p) => p.stdout().includes('"ready"'),
      { timeoutMs: 15_000 },
    );
    for (const [host, want] of [
      ['2001:db8:2::1', 'dual:IPv6 2001:db8:2::2'],
      ['10.2.0.1', 'dual:IPv6 ::ffff:10.2.0.2'],
    ] as const) {
      const r = await topo.h2.exec('/usr/bin/python3', ['-c', ONE_EXCHANGE, host, '8086', 'hi'], {
        timeoutMs: 20_000,
      });
      assert.equal(r.code, 0, `${host}: ${r.stderr}\n${srv.stdout()}`);
      assert.equal(r.stdout.trim(), want);
    }
    assert.equal(await srv.exited, 0, srv.stderr());
    const out = lines(srv.stdout());
    assert.deepEqual(out[0], { ready: { address: '::', family: 'IPv6', port: 8086 } });
    assert.deepEqual(out.slice(1), [
      { accepted: '2001:db8:2::2', family: 'IPv6', got: 'hi' },
      { accepted: '::ffff:10.2.0.2', family: 'IPv6', got: 'hi' },
    ]);
  });

  test('UDP through the VR both ways with h2', async () => {
    const before = udpEcho.stdout().length;
    const srv = await startInBackground(
      topo.r,
      process.execPath,
      [PROGRAM, 'udp', 'edge', vr.runDir, '5400', String(UDP_PORT)],
      (p) => p.stdout().includes('"ready"'),
      { timeoutMs: 15_000 },
    );
    const r = await topo.h2.exec(
      '/usr/bin/python3',
      [
        '-c',
        `import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(b'from h2', ('10.2.0.1', 5400))
data, peer = s.recvfrom(2048)
print('%s %s:%d' % (data.decode(), peer[0], peer[1]))`,
      ],
      { timeoutMs: 20_000 },
    );
    assert.equal(r.code, 0, `${r.stderr}\nprogram: ${srv.stdout()}${srv.stderr()}`);
    assert.equal(r.stdout.trim(), 're:from h2 10.2.0.1:5400');
    assert.equal(await srv.exited, 0, srv.stderr());
    const out = lines(srv.stdout());
    assert.ok(
      out.some((o) => o['pong'] === `pong:ping from 10.2.0.2:${UDP_PORT}`),
      srv.stdout(),
    );
    assert.ok(
      out.some((o) => o['answered'] === 'from h2 from 10.2.0.2'),
      srv.stdout(),
    );
    assert.match(udpEcho.stdout().slice(before), /^from 10\.2\.0\.1:5400$/m);
  });

  test('a process that is not on the access list (nobody) is refused with EACCES and the reason', async () => {
    const r = await topo.r.exec('setpriv', asUser(NOBODY, ['connect', 'edge', vr.runDir, String(TCP_PORT)]), {
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const [out] = lines(r.stdout);
    assert.deepEqual(out, {
      error: {
        code: 'EACCES',
        message: `connect EACCES (VR edge refused this process: uid ${NOBODY} is not on the access list of VR edge)`,
      },
    });
  });

  test('a port below 1024 needs uid 0 or a grant: an allowed uid gets EACCES for 80; root and a granted uid do not', async () => {
    const r = await topo.r.exec('setpriv', asUser(QUOTA_UID, ['listen', 'edge', vr.runDir, '80']), {
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const [refused] = lines(r.stdout);
    assert.equal((refused!['error'] as { code: string }).code, 'EACCES', r.stdout);
    const unprivileged = await topo.r.exec(
      'setpriv',
      asUser(QUOTA_UID, ['listen', 'edge', vr.runDir, '8080']),
      {
        timeoutMs: 20_000,
      },
    );
    assert.deepEqual(lines(unprivileged.stdout)[0], { listening: 8080 });
    const [root] = await program(['listen', '80']);
    assert.deepEqual(root, { listening: 80 });
    const granted = await topo.r.exec('setpriv', asUser(GRANTED_UID, ['listen', 'edge', vr.runDir, '81']), {
      timeoutMs: 20_000,
    });
    assert.deepEqual(lines(granted.stdout)[0], { listening: 81 }, granted.stdout + granted.stderr);
  });

  test('a client over its socket quota gets EMFILE while another client keeps working', async () => {
    const greedy = await startInBackground(
      topo.r,
      'setpriv',
      asUser(QUOTA_UID, ['quota', 'edge', vr.runDir]),
      (p) => p.stdout().includes('"refused"'),
      { timeoutMs: 15_000 },
    );
    try {
      const [out] = lines(greedy.stdout());
      assert.equal(out!['opened'], 6);
      const refused = out!['refused'] as { code: string; message: string };
      assert.equal(refused.code, 'EMFILE');
      assert.match(refused.message, new RegExp(`uid ${QUOTA_UID} holds its quota of 6 sockets in VR edge`));
      // root, while the greedy client still holds its sockets.
      const [ok] = await program(['connect', String(TCP_PORT)]);
      assert.deepEqual(ok, { echo: 'hi' });
    } finally {
      greedy.child.kill('SIGKILL');
      await greedy.exited;
    }
  });

  test('killing the VR fails every blocked operation promptly; after a restart new sockets work', async (t) => {
    const client = await startInBackground(
      topo.r,
      process.execPath,
      [PROGRAM, 'vr-kill', 'edge', vr.runDir, String(TCP_PORT)],
      (p) => p.stdout().includes('"ready"'),
      { timeoutMs: 15_000 },
    );
    try {
      const killedAt = Date.now();
      const runDir = vr.runDir;
      process.kill(vr.pid, 'SIGKILL');
      await vr.stopped();
      await waitFor(() => client.stdout().includes('allFailed'), {
        timeoutMs: 5000,
        what: 'every blocked operation to fail',
      }).catch((e: Error) => assert.fail(`${e.message}:\n${client.stdout()}${client.stderr()}`));
      const failedIn = Date.now() - killedAt;
      t.diagnostic(`every blocked operation failed within ${failedIn} ms of the SIGKILL`);
      const out = lines(client.stdout());
      const codes = Object.fromEntries(out.filter((o) => 'what' in o).map((o) => [o['what'], o['code']]));
      assert.equal(codes['pending-connect'], 'ECONNRESET', client.stdout());
      assert.equal(codes['udp'], 'ECONNRESET', client.stdout());
      assert.equal(codes['server'], 'ECONNRESET', client.stdout());
      assert.equal(codes['tcp'], 'close', client.stdout());
      // The kernel bounds how soon a write sees the hang-up; it must not be a timeout of ours.
      assert.ok(failedIn < 5000, `took ${failedIn} ms`);
      vr = await startVr(topo.r, 'edge', config(topo), { runDir });
      await waitFor(() => client.stdout().includes('"again"'), {
        timeoutMs: 15_000,
        what: 'a new connection',
      });
      assert.equal(await client.exited, 0, client.stderr());
      const again = lines(client.stdout()).find((o) => 'again' in o);
      assert.deepEqual(again, { again: 'after the restart' });
    } finally {
      if (client.child.exitCode === null) client.child.kill('SIGKILL');
    }
  });
});
