// Issue 3, TCP half: the kernel's TCP on h2 against the VR's TCP through the small servers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { type RoutedTopology, routedTopology, waitFor } from '@nexthop/netns';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

const CLI = new URL('../../bin/nexthop', import.meta.url).pathname;

function config(topo: RoutedTopology): string {
  return `routers:
  edge:
    interfaces:
      eth0: { driver: afpacket, device: ${topo.r1If}, addresses: [10.1.0.1/24] }
      eth1: { driver: afpacket, device: ${topo.r2If}, addresses: [10.2.0.1/24] }
    services: { echo: true, discard: true, chargen: true }
`;
}

async function py(topo: RoutedTopology, code: string, timeoutMs = 120_000): Promise<Record<string, unknown>> {
  const r = await topo.h2.exec('/usr/bin/python3', ['-c', code], { timeoutMs });
  assert.equal(r.code, 0, `python failed:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('TCP small servers in a VR, used by the kernel of a host', () => {
  let topo: RoutedTopology;
  let vr: RunningVr;

  before(async () => {
    topo = await routedTopology();
    vr = await startVr(topo.r, 'edge', config(topo));
  });

  after(async () => {
    await vr?.stop();
    await topo?.destroy();
  });

  test('10 MB to discard and through echo: what comes back hashes the same', async () => {
    const out = await py(
      topo,
      `
import socket, json, os, hashlib, threading
data = os.urandom(10 * 1024 * 1024)
want = hashlib.sha256(data).hexdigest()

d = socket.create_connection(('10.2.0.1', 9), timeout=30)
d.sendall(data)
d.shutdown(socket.SHUT_WR)
discard_eof = d.recv(10) == b''
d.close()

e = socket.create_connection(('10.2.0.1', 7), timeout=30)
def writer():
    e.sendall(data)
    e.shutdown(socket.SHUT_WR)
t = threading.Thread(target=writer)
t.start()
h = hashlib.sha256()
n = 0
while True:
    chunk = e.recv(1 << 16)
    if not chunk:
        break
    h.update(chunk)
    n += len(chunk)
t.join()
e.close()
print(json.dumps({'discard_eof': discard_eof, 'echoed': n, 'same': h.hexdigest() == want}))
`,
    );
    assert.deepEqual(out, { discard_eof: true, echoed: 10 * 1024 * 1024, same: true }, vr.log().slice(-3000));
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

  test('1,000 connections opened and closed, and a client killed mid-transfer, leave no connection behind', async () => {
    const out = await py(
      topo,
      `
import socket, json, os, signal, time
for i in range(1000):
    c = socket.create_connection(('10.2.0.1', 9), timeout=5)
    c.sendall(b'x')
    c.close()
pid = os.fork()
if pid == 0:
    c = socket.create_connection(('10.2.0.1', 7), timeout=5)
    buf = os.urandom(1 << 16)
    while True:
        c.send(buf)
time.sleep(0.5)
os.kill(pid, signal.SIGKILL)
os.waitpid(pid, 0)
print(json.dumps({'done': True}))
`,
    );
    assert.equal(out['done'], true);
    let left: { state: string; local: string; peer: string }[] = [];
    await waitFor(
      async () => {
        const rows = (await vr.call('show.sockets')) as {
          type: string;
          state: string;
          local: string;
          peer: string;
        }[];
        left = rows.filter((r) => r.type === 'stream' && r.state !== 'LISTEN');
        return left.length === 0;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'the VR socket table to empty' },
    ).catch(() => assert.fail(`connections left: ${JSON.stringify(left)}`));
  });

  test('afterwards show sockets lists the listeners and no connection but TIME-WAIT ones', () => {
    const rows = JSON.parse(
      execFileSync(CLI, ['show', 'sockets', '--vr', 'edge', '--run-dir', vr.runDir, '-j'], {
        encoding: 'utf8',
      }),
    ) as { type: string; local: string; state: string; fd: number }[];
    const listeners = rows.filter((r) => r.type === 'stream' && r.state === 'LISTEN').map((r) => r.local);
    assert.deepEqual(listeners.sort(), ['0.0.0.0:19', '0.0.0.0:7', '0.0.0.0:9']);
    const others = rows.filter((r) => r.type === 'stream' && r.state !== 'LISTEN');
    for (const r of others) assert.ok(['TIME-WAIT', 'CLOSED'].includes(r.state), JSON.stringify(r));
    const text = execFileSync(CLI, ['show', 'sockets', '--vr', 'edge', '--run-dir', vr.runDir], {
      encoding: 'utf8',
    });
    assert.match(text, /^tcp\s+LISTEN\s+0\s+128\s+0\.0\.0\.0:7\s/m);
  });
});
