// Issue 3, UDP half: a VR with the small servers on, between h1 and h2; the kernel's UDP on h2
// talks to the VR's echo, discard and chargen, and to a closed port.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { type RoutedTopology, routedTopology } from '@nexthop/netns';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { edgeConfig, type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

const CLI = new URL('../../bin/nexthop', import.meta.url).pathname;

/** Runs a Python 3 snippet on a host; it prints one JSON object. */
async function py(topo: RoutedTopology, code: string): Promise<Record<string, unknown>> {
  const r = await topo.h2.exec('/usr/bin/python3', ['-c', code], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, `python failed:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('UDP small servers in a VR, used by the kernel of a host', () => {
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

  test('nc -u on h2 gets its datagrams echoed', async () => {
    // netcat-openbsd in UDP mode quits when stdin ends, so stdin stays open for the answer.
    const r = await topo.h2.exec(
      'sh',
      ['-c', "(printf 'hello nexthop\\n'; sleep 1) | nc -u -w1 10.2.0.1 7"],
      {
        timeoutMs: 10_000,
      },
    );
    assert.equal(r.stdout, 'hello nexthop\n', r.stderr);
  });

  test('UDP echo returns every datagram unchanged, fragmented ones included', async () => {
    const out = await py(
      topo,
      `
import socket, json, os
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect(('10.2.0.1', 7))
ok = []
for size in [0, 1, 100, 1472, 3000, 20000, 65507]:
    data = os.urandom(size)
    s.send(data)
    back = s.recv(70000)
    ok.append(back == data)
print(json.dumps({'ok': ok, 'peer': s.getpeername()[0]}))
`,
    );
    assert.deepEqual(out['ok'], [true, true, true, true, true, true, true], vr.log());
  });

  test('to the VR address on the far side too: the reply leaves from the address asked', async () => {
    const out = await py(
      topo,
      `
import socket, json
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(b'hello', ('10.1.0.1', 7))
data, addr = s.recvfrom(100)
print(json.dumps({'data': data.decode(), 'from': addr[0]}))
`,
    );
    assert.deepEqual(out, { data: 'hello', from: '10.1.0.1' });
  });

  test('UDP chargen answers with up to 512 characters of the RFC 864 pattern; discard answers nothing', async () => {
    const out = await py(
      topo,
      `
import socket, json
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect(('10.2.0.1', 19))
full = b''.join(bytes(32 + (i + j) % 95 for j in range(72)) + b'\\r\\n' for i in range(95))
lens = []
prefix_ok = True
for i in range(10):
    s.send(b'x')
    d = s.recv(2000)
    lens.append(len(d))
    prefix_ok = prefix_ok and d == full[:len(d)]
d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
d.settimeout(0.5)
d.connect(('10.2.0.1', 9))
d.send(b'into the void')
try:
    d.recv(100)
    discard = 'answered'
except socket.timeout:
    discard = 'silent'
print(json.dumps({'lens': lens, 'prefix_ok': prefix_ok, 'discard': discard}))
`,
    );
    for (const n of out['lens'] as number[]) assert.ok(n >= 0 && n <= 512);
    assert.equal(out['prefix_ok'], true);
    assert.equal(out['discard'], 'silent');
  });

  test('a datagram to a closed port gets ICMP port unreachable (ECONNREFUSED on a connected socket)', async () => {
    const out = await py(
      topo,
      `
import socket, json
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect(('10.2.0.1', 9999))
s.send(b'anyone?')
try:
    s.recv(100)
    r = 'answered'
except ConnectionRefusedError:
    r = 'refused'
except socket.timeout:
    r = 'timeout'
print(json.dumps({'r': r}))
`,
    );
    assert.equal(out['r'], 'refused');
  });

  test('show sockets lists the service sockets', () => {
    const text = execFileSync(CLI, ['show', 'sockets', '--vr', 'edge', '--run-dir', vr.runDir], {
      encoding: 'utf8',
    });
    assert.match(text, /^NETID\s+STATE\s+RECV-Q\s+SEND-Q\s+LOCAL ADDRESS:PORT\s+PEER ADDRESS:PORT/m);
    for (const port of [7, 9, 19])
      assert.match(text, new RegExp(`^udp\\s+UNCONN\\s+0\\s+0\\s+0\\.0\\.0\\.0:${port}\\s`, 'm'));
    const rows = JSON.parse(
      execFileSync(CLI, ['show', 'sockets', '--vr', 'edge', '--run-dir', vr.runDir, '-j'], {
        encoding: 'utf8',
      }),
    ) as { type: string; local: string; state: string }[];
    const udp = rows.filter((r) => r.type === 'dgram').map((r) => r.local);
    assert.deepEqual(udp.sort(), ['0.0.0.0:19', '0.0.0.0:7', '0.0.0.0:9']);
  });
});
