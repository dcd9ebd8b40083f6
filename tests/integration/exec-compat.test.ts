// Issue 9: VR sockets under `nexthop exec` behave like kernel sockets where real programs depend on
// it. h1 (10.1.0.2) — VR edge (10.1.0.1 | 10.2.0.1) — h2 (10.2.0.2), as exec-basic. A small C
// program (exec_compat) runs the same checks on kernel sockets (h1's own, the VR forwarding) and on
// VR sockets (under exec), and both runs must print the same lines: non-blocking connect seen
// through poll, epoll (level and edge) and select, connect again, SO_ERROR; UDP readv/writev,
// sendmmsg/recvmmsg, sendmsg/recvmsg with several iovecs and IP_PKTINFO; shutdown on UDP and TCP.
// Then programs that depend on each: Node (libuv), Python, curl, dig and nslookup (libuv's
// sendmmsg), socat (UDP shutdown, TCP half-close), nginx with workers (it clears its environment),
// and a run directory the user cannot enter.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

const H2 = '10.2.0.2';
/** On h2's link, answered by nobody: a SYN to it waits for ARP. */
const BLACKHOLE = '10.2.0.99';
const HOLD_PORT = 7101;
const CLOSED_PORT = 7109;
const ECHO_PORT = 7102;
const HALF_CLOSE_PORT = 7103;
const DNS_PORT = 5353;

// h2's servers, one process: a TCP listener that accepts and holds, a UDP echo ("<source> <payload>",
// 300 ms late for "delay:…"), a TCP server that answers "got <n>" after the client's end of stream,
// and a DNS server that answers every A question with 10.9.9.9.
const SERVERS = `
import socket, struct, threading, time
def hold():
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(('0.0.0.0', ${HOLD_PORT})); l.listen(128); kept = []
    while True:
        kept.append(l.accept()[0])
def echo():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', ${ECHO_PORT}))
    while True:
        d, peer = s.recvfrom(4096)
        out = peer[0].encode() + b' ' + d
        if d.startswith(b'delay:'):
            threading.Timer(0.3, s.sendto, (out, peer)).start()
        else:
            s.sendto(out, peer)
def half(c):
    n = 0
    while True:
        d = c.recv(4096)
        if not d: break
        n += len(d)
    c.sendall(b'got %d' % n); c.close()
def half_close():
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(('0.0.0.0', ${HALF_CLOSE_PORT})); l.listen(16)
    while True:
        threading.Thread(target=half, args=(l.accept()[0],), daemon=True).start()
def dns():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', ${DNS_PORT}))
    while True:
        q, peer = s.recvfrom(4096)
        if len(q) < 17: continue
        i = 12
        while i < len(q) and q[i] != 0: i += q[i] + 1
        question = q[12:i + 5]
        head = q[:2] + struct.pack('!HHHHH', 0x8180, 1, 1, 0, 0)
        answer = b'\\xc0\\x0c' + struct.pack('!HHIH', 1, 1, 60, 4) + socket.inet_aton('10.9.9.9')
        s.sendto(head + question + answer, peer)
for f in (hold, echo, half_close, dns):
    threading.Thread(target=f, daemon=True).start()
time.sleep(0.2)
print('ready', flush=True)
while True: time.sleep(3600)
`;

// Node (libuv): a connect to the black hole is still pending while a second connection does a whole
// exchange (with the old shim, SO_ERROR on the first one blocked the event loop until it failed); a
// refused one is ECONNREFUSED; dgram through libuv; a DNS question through c-ares.
const NODE_CLIENT = `
const net = require('node:net'), dgram = require('node:dgram'), dns = require('node:dns');
const t0 = Date.now();
const hole = net.connect(${HOLD_PORT}, '${BLACKHOLE}');
hole.on('error', () => {});
hole.on('connect', () => { console.log('black hole connected?!'); process.exit(1); });
const step = (name) => console.log(name, Date.now() - t0 < 2500 ? 'in time' : 'late ' + (Date.now() - t0));
const c = net.connect(${HALF_CLOSE_PORT}, '${H2}', () => { c.end('hello'); });
let got = '';
c.on('data', (d) => { got += d; });
c.on('end', () => {
  step('tcp ' + got);
  net.connect(${CLOSED_PORT}, '${H2}').on('error', (e) => {
    step('refused ' + e.code);
    const u = dgram.createSocket('udp4');
    u.on('message', (m) => {
      step('udp ' + m.toString().split(' ')[1]);
      u.close();
      const r = new dns.Resolver();
      r.setServers(['${H2}:${DNS_PORT}']);
      r.resolve4('test.example', (err, a) => {
        step('dns ' + (err ? err.code : a.join(',')));
        hole.destroy();
      });
    });
    u.send('ping', ${ECHO_PORT}, '${H2}');
  });
});
`;

// Python: the BSD idiom (connect again once select says writable: 0, then EISCONN) and asyncio.
const PY_CLIENT = `
import asyncio, errno, select, socket
s = socket.socket(); s.setblocking(False)
first = s.connect_ex(('${H2}', ${HOLD_PORT}))
select.select([], [s], [], 5)
print('connect_ex', errno.errorcode.get(first, first), s.connect_ex(('${H2}', ${HOLD_PORT})),
      errno.errorcode.get(s.connect_ex(('${H2}', ${HOLD_PORT}))))
async def main():
    try:
        await asyncio.wait_for(asyncio.open_connection('${BLACKHOLE}', ${HOLD_PORT}), 0.5)
        print('black hole connected?!')
    except asyncio.TimeoutError:
        print('black hole pending')
    try:
        await asyncio.open_connection('${H2}', ${CLOSED_PORT})
    except ConnectionRefusedError:
        print('refused')
    r, w = await asyncio.open_connection('${H2}', ${HALF_CLOSE_PORT})
    w.write(b'hello'); w.write_eof()
    print('asyncio', (await r.read()).decode())
asyncio.run(main())
`;

describe('nexthop exec: VR sockets behave like kernel sockets', () => {
  let topo: RoutedTopology;
  let vr: RunningVr;
  let nginx: Nginx;
  const started: BackgroundProcess[] = [];
  const dirs: string[] = [];

  before(async () => {
    buildShim();
    topo = await routedTopology();
    vr = await startVr(topo.r, 'edge', edgeConfig(topo));
    await waitFor(() => existsSync(join(vr.runDir, 'edge.sock')), { what: 'the remote socket API' });
    started.push(
      await startInBackground(topo.h2, 'python3', ['-u', '-c', SERVERS], (p) => p.stdout().includes('ready')),
    );
    nginx = nginxConfig(80);
    dirs.push(nginx.dir);
    started.push(
      await startInBackground(topo.h2, 'nginx', ['-p', nginx.dir, '-c', nginx.conf], async () => {
        const r = await topo.h2.exec('ss', ['-Hltn', 'sport = :80']);
        return r.stdout.includes(':80');
      }),
    );
  });

  after(async () => {
    for (const p of started) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGTERM');
        await p.exited;
      }
    }
    await vr?.stop();
    await topo?.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('the C checks answer the same on kernel sockets and on VR sockets', async () => {
    const args = [H2, BLACKHOLE, `${HOLD_PORT}`, `${CLOSED_PORT}`, `${ECHO_PORT}`, `${HALF_CLOSE_PORT}`];
    const program = join(CLIENT_BUILD, 'exec_compat');
    const kernel = await topo.h1.exec(program, args, { timeoutMs: 30_000 });
    assert.equal(kernel.code, 0, `kernel run: ${kernel.stdout}\n${kernel.stderr}`);
    const before = (await vr.counters()).stats;
    const inVr = await execIn(topo.h1, vr, [], [program, ...args], { timeoutMs: 30_000, sanitize: true });
    assert.equal(inVr.code, 0, `VR run: ${inVr.stdout}\n${inVr.stderr}\n${vr.log().slice(-2000)}`);
    assert.equal(inVr.stdout, kernel.stdout, `kernel:\n${kernel.stdout}\nVR:\n${inVr.stdout}`);
    // It was the VR's sockets the second time.
    const afterStats = (await vr.counters()).stats;
    assert.ok(
      afterStats['rsock_sockets']! > before['rsock_sockets']! || afterStats['rsock_dgrams_to_apps']! > 0,
    );
    // The lines that matter most, spelled out (as Linux answers them).
    const out = kernel.stdout;
    assert.match(out, /^pending: connect EINPROGRESS$/m);
    assert.match(
      out,
      /^pending: poll 0 epoll-lt 0 epoll-et 0 select 0 so_error 0 connect EALREADY write EAGAIN$/m,
    );
    assert.match(out, /^established: epoll-et 1 getpeername 1 poll OUT epoll-lt 1 select 1 so_error 0$/m);
    assert.match(out, /^established: connect 0 connect EISCONN$/m);
    assert.match(
      out,
      /^refused\/so_error: connect EINPROGRESS epoll-et 1 select 1 poll IN\|OUT\|ERR\|HUP\|RDHUP so_error ECONNREFUSED then so_error 0 connect ECONNABORTED$/m,
    );
    assert.match(out, /^refused\/read: .* read ECONNREFUSED then so_error 0$/m);
    assert.match(out, /^udp: recvmmsg 'one' 'two' 'three'$/m);
    assert.match(out, /^udp: recvmsg 'pktinfo' from-echo 1 pktinfo 1 ifindex>0 1 to-us 1 flags 0$/m);
    assert.match(
      out,
      /^udp-shutdown: SHUT_WR 0 send EPIPE recv 'delay:a' SHUT_RD 0 recv-nonblocking EAGAIN recv 0$/m,
    );
    assert.match(out, /^udp-shutdown: unconnected SHUT_RDWR ENOTCONN recv 'delay:b' sendto EPIPE$/m);
    assert.match(out, /^half-close: SHUT_WR 0 send EPIPE read 'got 5' then end of stream$/m);
    assert.match(out, /^done$/m);
  });

  test('Node (libuv): a hanging connect does not hold up the others; refused, dgram, DNS by c-ares', async () => {
    const r = await execIn(topo.h1, vr, [], [process.execPath, '-e', NODE_CLIENT], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(
      r.stdout,
      'tcp got 5 in time\nrefused ECONNREFUSED in time\nudp ping in time\ndns 10.9.9.9 in time\n',
      r.stderr,
    );
  });

  test('Python: connect again after select (0, then EISCONN), asyncio', async () => {
    const r = await execIn(topo.h1, vr, [], ['python3', '-c', PY_CLIENT], {
      timeoutMs: 30_000,
      sanitize: true,
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(
      r.stdout,
      'connect_ex EINPROGRESS 0 EISCONN\nblack hole pending\nrefused\nasyncio got 5\n',
      r.stderr,
    );
  });

  test('curl: 32 transfers, 16 connections at a time', async () => {
    const fromVr = () =>
      readFileSync(nginx.accessLog, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('10.2.0.1 ')).length;
    const before = fromVr();
    const r = await execIn(
      topo.h1,
      vr,
      [],
      [
        'curl',
        '-sS',
        '--max-time',
        '20',
        '-Z',
        '--parallel-max',
        '16',
        '-H',
        'Connection: close',
        '-w',
        '%{http_code}\\n',
        '-o',
        '/dev/null',
        `http://${H2}/?[1-32]`,
      ],
      { timeoutMs: 30_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '200\n'.repeat(32));
    assert.equal(fromVr() - before, 32, 'every request came from the VR (10.2.0.1)');
  });

  test('dig and nslookup (libuv: sendmmsg, recvmsg) ask the DNS server on h2', async () => {
    const dig = await execIn(
      topo.h1,
      vr,
      [],
      ['dig', `@${H2}`, '-p', `${DNS_PORT}`, '+short', '+tries=1', '+time=5', 'test.example', 'A'],
      { timeoutMs: 20_000 },
    );
    assert.equal(dig.code, 0, dig.stderr);
    assert.equal(dig.stdout, '10.9.9.9\n', dig.stderr);
    const ns = await execIn(
      topo.h1,
      vr,
      [],
      ['nslookup', '-timeout=5', '-retry=0', `-port=${DNS_PORT}`, 'test.example', H2],
      { timeoutMs: 20_000 },
    );
    assert.equal(ns.code, 0, `${ns.stdout}\n${ns.stderr}`);
    assert.match(ns.stdout, /Address: 10\.9\.9\.9/);
  });

  test('socat: a UDP answer after stdin ended (shutdown), and a TCP half-close', async () => {
    const udp = await execIn(topo.h1, vr, [], ['socat', '-t', '3', '-', `UDP:${H2}:${ECHO_PORT}`], {
      input: 'delay:hello',
      timeoutMs: 20_000,
      sanitize: true,
    });
    assert.equal(udp.code, 0, udp.stderr);
    assert.equal(udp.stdout, '10.2.0.1 delay:hello', 'the answer reached socat after its shutdown');
    const tcp = await execIn(topo.h1, vr, [], ['socat', '-t', '5', '-', `TCP:${H2}:${HALF_CLOSE_PORT}`], {
      input: 'hello',
      timeoutMs: 20_000,
      sanitize: true,
    });
    assert.equal(tcp.code, 0, tcp.stderr);
    assert.equal(tcp.stdout, 'got 5');
  });

  test('nginx with a master and workers (their environment cleared) serves h2 from the VR', async () => {
    const conf = nginxConfig(8080);
    dirs.push(conf.dir);
    writeFileSync(
      conf.conf,
      `daemon off;
user root root;
master_process on;
worker_processes 2;
pid ${conf.dir}/nginx.pid;
error_log ${conf.dir}/logs/error.log info;
events { worker_connections 64; }
http {
  access_log ${conf.accessLog};
  server {
    listen 8080;
    root ${conf.dir}/www;
  }
}
`,
    );
    const server = await execInBackground(
      topo.h1,
      vr,
      [],
      ['nginx', '-p', conf.dir, '-c', conf.conf],
      async () => {
        const rows = (await vr.call('show.sockets')) as { state: string; local: string }[];
        return rows.some((row) => row.local.endsWith(':8080') && /listen/i.test(row.state));
      },
    );
    started.push(server);
    for (let i = 0; i < 4; i++) {
      const r = await topo.h2.exec('curl', ['-sS', '--max-time', '10', 'http://10.2.0.1:8080/'], {
        timeoutMs: 20_000,
      });
      assert.equal(r.code, 0, `${r.stderr}\n${server.stderr()}`);
      assert.equal(r.stdout, conf.page);
    }
    server.child.kill('SIGTERM');
    await server.exited;
  });

  test('nginx as a reverse proxy: its upstream socket, registered in epoll before connect, moves into the VR and keeps its registration', async () => {
    const conf = nginxConfig(8181);
    dirs.push(conf.dir);
    writeFileSync(
      conf.conf,
      `daemon off;
master_process off;
worker_processes 1;
pid ${conf.dir}/nginx.pid;
error_log ${conf.dir}/logs/error.log info;
events { worker_connections 64; }
http {
  access_log ${conf.accessLog};
  server {
    listen 127.0.0.1:8181;
    location / { proxy_pass http://10.2.0.2:80; }
  }
}
`,
    );
    const before = (await vr.counters()).stats['rsock_bytes_to_apps'] ?? 0;
    const server = await execInBackground(
      topo.h1,
      vr,
      [],
      ['nginx', '-p', conf.dir, '-c', conf.conf],
      async () => {
        const r = await topo.h1.exec('ss', ['-Hltn', 'sport = :8181']);
        return r.stdout.includes(':8181');
      },
    );
    started.push(server);
    for (let i = 0; i < 3; i++) {
      const r = await topo.h1.exec('curl', ['-sS', '--max-time', '10', 'http://127.0.0.1:8181/'], {
        timeoutMs: 20_000,
      });
      assert.equal(
        r.code,
        0,
        `${r.stderr}\n${readFileSync(join(conf.dir, 'logs/error.log'), 'utf8').slice(-1500)}`,
      );
      assert.equal(r.stdout, nginx.page);
    }
    const upstream = readFileSync(nginx.accessLog, 'utf8').trim().split('\n').slice(-3);
    for (const line of upstream) assert.match(line, /^10\.2\.0\.1 /, 'h2 saw the VR as the client');
    assert.ok(
      ((await vr.counters()).stats['rsock_bytes_to_apps'] ?? 0) > before,
      'the answers came through the VR',
    );
    server.child.kill('SIGTERM');
    await server.exited;
  });

  test('a run directory the user cannot enter is "permission denied", not "not running"', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'nexthop-private-'));
    dirs.push(runDir);
    chmodSync(runDir, 0o700);
    // nexthop exec itself, run as nobody.
    const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];
    const cli = await topo.h1.exec('setpriv', [
      ...asNobody,
      process.execPath,
      CLI_MAIN,
      'exec',
      'edge',
      '--run-dir',
      runDir,
      '--',
      'true',
    ]);
    assert.equal(cli.code, 1, cli.stderr);
    assert.match(cli.stderr, /permission denied/);
    assert.doesNotMatch(cli.stderr, /not running/);
    // The shim: exec as root, the program as nobody, the VR's own run directory closed to others.
    // (mkdtemp made it 0700 already; said again in case that changes.)
    chmodSync(vr.runDir, 0o700);
    try {
      const r = await execIn(
        topo.h1,
        vr,
        [],
        ['setpriv', ...asNobody, 'curl', '-sS', '--max-time', '5', `http://${H2}/`],
        { timeoutMs: 20_000 },
      );
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /permission denied: cannot reach .*edge\.sock/, r.stderr);
      assert.doesNotMatch(r.stderr, /not running/);
    } finally {
      chmodSync(vr.runDir, 0o700); /* as mkdtemp made it */
    }
  });
});
