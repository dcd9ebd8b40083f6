// Issue 9: bulk transfers through `nexthop exec` never stall. Before the fix, curl under exec fetching
// 2 MB from nginx stopped at 1.4–1.8 MB in about one run in 20: the relay from the VR socket into the
// program's socketpair yielded on its budget with half a megabyte readable and nothing left to wake
// it. Here hundreds of transfers run through the VR both ways, with programs that read and write
// slowly and in bursts, and with curl against nginx as the user met it; every transfer must finish
// whole and in time.
//
// h1 (10.1.0.2, programs under exec, sockets in the VR) — VR edge — h2 (10.2.0.2, kernel servers).
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
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
import { buildShim, execIn, type Nginx, nginxConfig } from '../lib/exec.ts';
import { edgeConfig, type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

// The kernel server on h2. A request line "GET n seed pace" or "PUT n seed pace": for GET it writes
// n bytes of the seed's pattern in bursts, pausing between them when pace is set; for PUT it reads
// n bytes slowly (small reads, pauses) and answers "OK <sha256>". One thread per connection.
const SERVER = `
import hashlib, random, socket, socketserver, sys, time
def pattern(n, seed):
    r = random.Random(seed)
    block = bytes(r.getrandbits(8) for _ in range(4096))
    out = bytearray()
    while len(out) < n:
        out += block
    return bytes(out[:n])
class H(socketserver.StreamRequestHandler):
    def handle(self):
        verb, n, seed, pace = self.rfile.readline().split()
        n, seed, pace = int(n), int(seed), int(pace)
        r = random.Random(seed * 7 + 1)
        if verb == b'GET':
            data = pattern(n, seed)
            at = 0
            while at < n:
                k = r.choice((1, 100, 4096, 65536, 300000))
                self.wfile.write(data[at:at + k]); self.wfile.flush()
                at += k
                if pace and r.random() < 0.05:
                    time.sleep(r.choice((0.001, 0.005, 0.02)))
        else:
            h = hashlib.sha256(); got = 0
            while got < n:
                d = self.rfile.read1(r.choice((1, 512, 8192, 65536)))
                if not d: break
                h.update(d); got += len(d)
                if pace and r.random() < 0.05:
                    time.sleep(r.choice((0.001, 0.005, 0.02)))
            self.wfile.write(b'OK %d %s\\n' % (got, h.hexdigest().encode())); self.wfile.flush()
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True
srv = socketserver.ThreadingTCPServer(('0.0.0.0', int(sys.argv[1])), H)
print('ready', flush=True)
srv.serve_forever()
`;

// The program under exec: several threads, each running its share of transfers one after the other,
// alternating download and upload, reading and writing in random bursts with pauses. A transfer that
// makes no progress for 10 s is a stall. Prints one summary line.
const CLIENT = `
import hashlib, random, socket, sys, threading, time
host, port, count, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def pattern(n, seed):
    r = random.Random(seed)
    block = bytes(r.getrandbits(8) for _ in range(4096))
    out = bytearray()
    while len(out) < n:
        out += block
    return bytes(out[:n])
lock = threading.Lock()
result = {'ok': 0, 'stalled': 0, 'bad': 0, 'bytes': 0, 'errors': []}
def one(i):
    r = random.Random(i)
    n = r.choice((1, 1000, 65536, 300000, 1 << 20, 2 << 20))
    seed = r.randrange(1 << 30)
    pace = r.random() < 0.5
    up = i % 2 == 1
    s = socket.create_connection((host, port), timeout=10)
    s.settimeout(10)
    try:
        s.sendall(b'%s %d %d %d\\n' % (b'PUT' if up else b'GET', n, seed, 1 if pace else 0))
        data = pattern(n, seed)
        if up:
            at = 0
            while at < n:
                k = r.choice((1, 100, 4096, 65536, 500000))
                s.sendall(data[at:at + k]); at += k
                if pace and r.random() < 0.05:
                    time.sleep(r.choice((0.001, 0.005, 0.02)))
            line = s.makefile('rb').readline().split()
            ok = line[:2] == [b'OK', str(n).encode()] and line[2] == hashlib.sha256(data).hexdigest().encode()
        else:
            got = bytearray()
            while len(got) < n:
                d = s.recv(r.choice((1, 700, 16384, 65536, 262144)))
                if not d: break
                got += d
                if pace and r.random() < 0.05:
                    time.sleep(r.choice((0.001, 0.005, 0.02)))
            ok = bytes(got) == data
        with lock:
            result['ok' if ok else 'bad'] += 1
            result['bytes'] += n
            if not ok: result['errors'].append('transfer %d (%s %d bytes): wrong data' % (i, 'up' if up else 'down', n))
    except socket.timeout:
        with lock:
            result['stalled'] += 1
            result['errors'].append('transfer %d (%s %d bytes) stalled' % (i, 'up' if up else 'down', n))
    finally:
        s.close()
def worker(k):
    for i in range(k, count, threads):
        try:
            one(i)
        except Exception as e:
            with lock:
                result['bad'] += 1; result['errors'].append('transfer %d: %r' % (i, e))
ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
t0 = time.monotonic()
for t in ts: t.start()
for t in ts: t.join()
print('ok=%d stalled=%d bad=%d bytes=%d seconds=%.1f' % (result['ok'], result['stalled'], result['bad'], result['bytes'], time.monotonic() - t0))
for e in result['errors'][:10]: print(e)
`;

describe('bulk transfers through nexthop exec never stall', () => {
  let topo: RoutedTopology;
  let vr: RunningVr;
  let nginx: Nginx;
  const servers: BackgroundProcess[] = [];

  before(async () => {
    buildShim();
    topo = await routedTopology();
    vr = await startVr(topo.r, 'edge', edgeConfig(topo));
    await waitFor(() => existsSync(join(vr.runDir, 'edge.sock')), { what: 'the remote socket API' });
    servers.push(
      await startInBackground(topo.h2, 'python3', ['-c', SERVER, '9000'], (p) =>
        p.stdout().includes('ready'),
      ),
    );
    nginx = nginxConfig(80);
    writeFileSync(join(nginx.dir, 'www/big'), Buffer.alloc(2 << 20, 'x'));
    servers.push(
      await startInBackground(topo.h2, 'nginx', ['-p', nginx.dir, '-c', nginx.conf], async () => {
        const r = await topo.h2.exec('ss', ['-Hltn', 'sport = :80']);
        return r.stdout.includes(':80');
      }),
    );
  });

  after(async () => {
    for (const p of servers) {
      if (p.child.exitCode === null) {
        p.child.kill('SIGTERM');
        await p.exited;
      }
    }
    await vr?.stop();
    await topo?.destroy();
    if (nginx !== undefined) rmSync(nginx.dir, { recursive: true, force: true });
  });

  test('300 transfers of up to 2 MB, both ways, bursty and slow, four at a time: all whole, none stalled', async (t) => {
    const r = await execIn(topo.h1, vr, [], ['python3', '-c', CLIENT, '10.2.0.2', '9000', '300', '4'], {
      timeoutMs: 240_000,
    });
    const summary = r.stdout.split('\n')[0] ?? '';
    assert.equal(r.code, 0, `client failed: ${r.stderr}\n${r.stdout}`);
    t.diagnostic(summary);
    assert.match(summary, /^ok=300 stalled=0 bad=0 /, `${r.stdout}\n${vr.log().slice(-2000)}`);
  });

  test('curl under exec fetches 2 MB from nginx 40 times, some at a limited rate: every byte, every time', async () => {
    for (let i = 0; i < 40; i++) {
      const rate = i % 4 === 3 ? ['--limit-rate', '8M'] : [];
      const r = await execIn(
        topo.h1,
        vr,
        [],
        [
          'curl',
          '-sS',
          '--max-time',
          '15',
          ...rate,
          '-o',
          '/dev/null',
          '-w',
          '%{size_download}',
          'http://10.2.0.2/big',
        ],
        { timeoutMs: 30_000 },
      );
      assert.equal(r.code, 0, `run ${i}: curl failed (${r.code}): ${r.stderr}`);
      assert.equal(r.stdout, String(2 << 20), `run ${i}: curl got ${r.stdout} bytes`);
    }
  });
});
