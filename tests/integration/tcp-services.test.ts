// Issue 3, TCP half: the kernel's TCP on h2 against the VR's TCP through the small servers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { type RoutedTopology, routedTopology, startInBackground, waitFor } from '@nexthop/netns';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { edgeConfig, type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

const CLI = new URL('../../bin/nexthop', import.meta.url).pathname;

interface SocketRow {
  fd: number;
  type: string;
  state: string;
  local: string;
  peer: string;
  synQueue?: number;
  synCookiesSent?: number;
}

/**
 * Python on h2: `echo_through(data)` sends data to the VR's echo service while reading the echo
 * back, and returns (bytes echoed, their SHA-256 hex digest).
 */
const PY_ECHO_THROUGH = `
import socket, hashlib, threading
def echo_through(data):
    e = socket.create_connection(('10.2.0.1', 7), timeout=30)
    def writer():
        e.sendall(data)
        e.shutdown(socket.SHUT_WR)
    w = threading.Thread(target=writer)
    w.start()
    h = hashlib.sha256()
    n = 0
    while True:
        chunk = e.recv(1 << 18)
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
    w.join()
    e.close()
    return n, h.hexdigest()
`;

async function py(topo: RoutedTopology, code: string, timeoutMs = 120_000): Promise<Record<string, unknown>> {
  const r = await topo.h2.exec('/usr/bin/python3', ['-c', code], { timeoutMs });
  assert.equal(r.code, 0, `python failed:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** TCP rows of `show sockets` other than listeners: connections, closing or in TIME-WAIT. */
async function connections(vr: RunningVr): Promise<SocketRow[]> {
  const rows = (await vr.call('show.sockets')) as SocketRow[];
  return rows.filter((r) => r.type === 'stream' && r.state !== 'LISTEN');
}

/**
 * Waits (bounded) until the VR holds no TCP connection in any state, TIME-WAIT included; fails
 * with what is left. Resolves with the time it took.
 */
async function waitForNoConnections(vr: RunningVr, timeoutMs: number): Promise<number> {
  const start = Date.now();
  let left: SocketRow[] = [];
  await waitFor(
    async () => {
      left = await connections(vr);
      return left.length === 0;
    },
    { timeoutMs, intervalMs: 100, what: 'the VR to hold no TCP connection' },
  ).catch(() => assert.fail(`connections left after ${timeoutMs} ms: ${JSON.stringify(left)}`));
  return Date.now() - start;
}

describe('TCP small servers in a VR, used by the kernel of a host', () => {
  let topo: RoutedTopology;
  let vr: RunningVr;

  before(async () => {
    topo = await routedTopology();
    vr = await startVr(
      topo.r,
      'edge',
      edgeConfig(topo, { extra: 'services: { echo: true, discard: true, chargen: true }' }),
    );
  });

  after(async () => {
    await vr?.stop();
    await topo?.destroy();
  });

  test('100 MB from h2 to discard, and 100 MB through echo back to h2 with an equal SHA-256', async (t) => {
    const out = await py(
      topo,
      `${PY_ECHO_THROUGH}
import socket, json, os, hashlib, threading, time
size = 100 * 1024 * 1024
data = os.urandom(size)
want = hashlib.sha256(data).hexdigest()

t0 = time.monotonic()
d = socket.create_connection(('10.2.0.1', 9), timeout=30)
d.sendall(data)
d.shutdown(socket.SHUT_WR)
discard_eof = d.recv(10) == b''
d.close()
discard_s = time.monotonic() - t0

t0 = time.monotonic()
n, digest = echo_through(data)
echo_s = time.monotonic() - t0
print(json.dumps({'discard_eof': discard_eof, 'echoed': n, 'same': digest == want,
                  'discard_s': round(discard_s, 2), 'echo_s': round(echo_s, 2)}))
`,
      150_000,
    );
    const { discard_s: discardS, echo_s: echoS, ...result } = out;
    t.diagnostic(`discard: 100 MB in ${discardS} s; echo: 100 MB each way in ${echoS} s`);
    assert.deepEqual(
      result,
      { discard_eof: true, echoed: 100 * 1024 * 1024, same: true },
      vr.log().slice(-3000),
    );
  });

  test('chargen streams the RFC 864 pattern', async () => {
    const out = await py(
      topo,
      `
import socket, json
full = b''.join(bytes(32 + (i + j) % 95 for j in range(72)) + b'\\r\\n' for i in range(95))
c = socket.create_connection(('10.2.0.1', 19), timeout=10)
got = b''
while len(got) < 1000000:
    chunk = c.recv(1 << 16)
    if not chunk:
        break
    got += chunk
c.close()
ok = all(got[i] == full[i % len(full)] for i in range(0, len(got), 101))
print(json.dumps({'n': len(got), 'ok': ok}))
`,
    );
    assert.ok((out['n'] as number) >= 1_000_000);
    assert.equal(out['ok'], true);
  });

  test('a connection to a closed TCP port is refused', async () => {
    const out = await py(
      topo,
      `
import socket, json
try:
    socket.create_connection(('10.2.0.1', 4444), timeout=5)
    r = 'connected'
except ConnectionRefusedError:
    r = 'refused'
except socket.timeout:
    r = 'timeout'
print(json.dumps({'r': r}))
`,
    );
    assert.equal(out['r'], 'refused');
  });

  test('1,000 connections opened and closed in a loop leave the socket table empty', async (t) => {
    // The client closes first, so TIME-WAIT (RFC 9293 §3.6) belongs to the kernel on h2; the VR
    // closes second (CLOSE-WAIT, LAST-ACK) and keeps nothing: empty means no TCP row but the
    // listeners, TIME-WAIT included.
    const out = await py(
      topo,
      `
import socket, json, subprocess, time
t0 = time.monotonic()
for i in range(1000):
    c = socket.create_connection(('10.2.0.1', 9), timeout=5)
    c.sendall(b'x')
    c.close()
elapsed = time.monotonic() - t0
ss = subprocess.run(['ss', '-Htan', 'state', 'time-wait', 'dst', '10.2.0.1'], capture_output=True, text=True).stdout
print(json.dumps({'s': round(elapsed, 2), 'kernel_time_wait': len(ss.splitlines())}))
`,
    );
    const waitedMs = await waitForNoConnections(vr, 20_000);
    t.diagnostic(
      `1,000 connections in ${out['s']} s; the VR emptied ${waitedMs} ms later; ` +
        `${out['kernel_time_wait']} TIME-WAIT entries on the kernel side`,
    );
    assert.ok(
      (out['kernel_time_wait'] as number) >= 990,
      `TIME-WAIT is the client's: ${JSON.stringify(out)}`,
    );
  });

  test('a kernel client killed (SIGKILL) mid-transfer leaves no socket behind in the VR', async (t) => {
    // What the kernel sends for the dead process's socket (RST when unread data is dropped, FIN
    // otherwise), seen on h2's side of the link.
    const capture = await startInBackground(
      topo.h2,
      'tcpdump',
      [
        '-i',
        topo.h2If,
        '-n',
        '-l',
        '--immediate-mode',
        'tcp and src host 10.2.0.2 and dst port 7 and (tcp[tcpflags] & (tcp-rst|tcp-fin) != 0)',
      ],
      (p) => p.stderr().includes('listening on'),
      { timeoutMs: 10_000, what: 'tcpdump to listen' },
    );
    const client = await startInBackground(
      topo.h2,
      '/usr/bin/python3',
      [
        '-u',
        '-c',
        `
import socket, os, threading
c = socket.create_connection(('10.2.0.1', 7), timeout=30)
print('port', c.getsockname()[1])
def reader():
    got = 0
    said = False
    while True:
        d = c.recv(1 << 16)
        if not d:
            os._exit(3)
        got += len(d)
        if got >= 4 << 20 and not said:
            print('flowing')
            said = True
threading.Thread(target=reader, daemon=True).start()
buf = os.urandom(1 << 16)
while True:
    c.sendall(buf)
`,
      ],
      (p) => p.stdout().includes('flowing'),
      { timeoutMs: 30_000, what: 'the client to have 4 MB echoed' },
    );
    const port = /port (\d+)/.exec(client.stdout())![1]!;
    const before = await connections(vr);
    assert.ok(
      before.some((r) => r.peer === `10.2.0.2:${port}` && r.state === 'ESTABLISHED'),
      `the VR has the connection while data flows: ${JSON.stringify(before)}`,
    );
    assert.equal(client.child.kill('SIGKILL'), true);
    assert.equal(await client.exited, -1, 'the client died by the signal, not by itself');
    const waitedMs = await waitForNoConnections(vr, 20_000);
    // tcpdump prints a line per segment; give it a moment to flush the last one before it stops.
    await waitFor(() => capture.stdout().includes('Flags ['), {
      timeoutMs: 5000,
      what: 'tcpdump output',
    }).catch(() => {});
    capture.child.kill('SIGTERM');
    await capture.exited;
    const flags = [...capture.stdout().matchAll(/Flags \[([^\]]+)\]/g)].map((m) => m[1]);
    const byFlags: Record<string, number> = {};
    for (const f of flags) byFlags[f!] = (byFlags[f!] ?? 0) + 1;
    t.diagnostic(
      `segments with RST/FIN from the killed client's side, by flags: ${JSON.stringify(byFlags)}; ` +
        `the VR had no socket left ${waitedMs} ms after the kill`,
    );
    assert.ok(
      flags.some((f) => f!.includes('R') || f!.includes('F')),
      `the kernel closed the socket of the dead process with RST or FIN: ${capture.stdout()}`,
    );
  });

  test('afterwards show sockets lists the three listeners and nothing else over TCP', () => {
    const rows = JSON.parse(
      execFileSync(CLI, ['show', 'sockets', '--vr', 'edge', '--run-dir', vr.runDir, '-j'], {
        encoding: 'utf8',
      }),
    ) as SocketRow[];
    const stream = rows.filter((r) => r.type === 'stream');
    assert.deepEqual(stream.map((r) => `${r.state} ${r.local}`).sort(), [
      'LISTEN 0.0.0.0:19',
      'LISTEN 0.0.0.0:7',
      'LISTEN 0.0.0.0:9',
    ]);
    for (const r of stream) assert.equal(r.synQueue, 0, JSON.stringify(r));
    const text = execFileSync(CLI, ['show', 'sockets', '--vr', 'edge', '--run-dir', vr.runDir], {
      encoding: 'utf8',
    });
    assert.match(text, /^tcp\s+LISTEN\s+0\s+128\s+0\.0\.0\.0:7\s/m);
  });
});

/**
 * Turns TCP segmentation and transmit checksum offload off on a device (ETHTOOL_STSO and
 * ETHTOOL_STXCSUM through SIOCETHTOOL; the ethtool program is not among the test dependencies).
 * The kernel then cuts GSO frames itself and finishes every segment's checksum in software from
 * the pseudo-header sum the sender left in the checksum field, so a wrong sum reaches the peer.
 */
const OFFLOADS_OFF = `
import array, fcntl, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for cmd in (0x1f, 0x17):  # ETHTOOL_STSO, ETHTOOL_STXCSUM
    value = array.array('B', struct.pack('II', cmd, 0))
    fcntl.ioctl(s, 0x8946, struct.pack('16sP', sys.argv[1].encode(), value.buffer_info()[0]))
`;

const H2_TCP_COUNTERS = `
import json
lines = [l.split() for l in open('/proc/net/snmp') if l.startswith('Tcp:')]
print(json.dumps(dict(zip(lines[0][1:], map(int, lines[1][1:])))))
`;

describe("the VR's TCP aggregates, segmented by the kernel in software", () => {
  let topo: RoutedTopology;
  let vr: RunningVr;

  before(async () => {
    topo = await routedTopology();
    await topo.r.execOk('/usr/bin/python3', ['-c', OFFLOADS_OFF, topo.r2If]);
    vr = await startVr(
      topo.r,
      'edge',
      edgeConfig(topo, { extra: 'services: { echo: true, discard: true, chargen: true }' }),
    );
  });

  after(async () => {
    await vr?.stop();
    await topo?.destroy();
  });

  test('20 MB through echo come back intact with no checksum error at h2 (GSO pseudo-header sum)', async () => {
    const before = await vr.counters();
    const tcpBefore = await py(topo, H2_TCP_COUNTERS);
    const out = await py(
      topo,
      `${PY_ECHO_THROUGH}
import socket, json, os, hashlib, threading
data = os.urandom(20 * 1024 * 1024)
n, digest = echo_through(data)
print(json.dumps({'echoed': n, 'same': digest == hashlib.sha256(data).hexdigest()}))
`,
    );
    const tcpAfter = await py(topo, H2_TCP_COUNTERS);
    const afterCounters = await vr.counters();
    assert.deepEqual(out, { echoed: 20 * 1024 * 1024, same: true });
    assert.equal(tcpAfter['InCsumErrors'], tcpBefore['InCsumErrors'], 'h2 saw TCP checksum errors');
    assert.ok(
      afterCounters.stats['aggregates_offloaded']! > before.stats['aggregates_offloaded']!,
      'the VR sent aggregates',
    );
  });
});
