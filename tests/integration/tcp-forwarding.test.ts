// Bulk TCP (and UDP GSO) through the VR with the kernel's offloads at their defaults: a local
// sender on a veth hands the VR's AF_PACKET socket GSO super-frames of up to 64 KB, which the VR
// must cut back into segments (segment size from the vnet header) instead of answering
// fragmentation-needed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type BackgroundProcess,
  type Netns,
  type RoutedTopology,
  routedTopology,
  startInBackground,
} from '@nexthop/netns';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { edgeConfig, type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

const PYTHON = '/usr/bin/python3';
const BYTES = 20 * 1024 * 1024;
const PORT = 5201;
/** A bound so that a stalled transfer fails the test instead of hanging it; not a speed target. */
const TRANSFER_TIMEOUT_MS = 60_000;

/** Reads one connection to EOF, then prints "<bytes> <sha256>" and closes it. */
const SERVER = `
import hashlib, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', int(sys.argv[1])))
s.listen(1)
print('listening', flush=True)
c, _ = s.accept()
h = hashlib.sha256()
n = 0
while True:
    b = c.recv(1 << 20)
    if not b:
        break
    n += len(b)
    h.update(b)
print(n, h.hexdigest(), flush=True)
c.close()
`;

/** Sends seeded random bytes, waits for the server to close, prints "<bytes> <sha256>". */
const CLIENT = `
import hashlib, random, socket, sys
host, port, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
data = random.Random(seed).randbytes(n)
c = socket.create_connection((host, port), timeout=${TRANSFER_TIMEOUT_MS / 1000})
c.sendall(data)
c.shutdown(socket.SHUT_WR)
c.recv(1)
print(n, hashlib.sha256(data).hexdigest(), flush=True)
`;

/** UDP: counts datagrams by size until `count` have arrived or none came for a while. */
const UDP_SERVER = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
SO_RCVBUFFORCE = 33  # root: past rmem_max, so that a burst is not lost in the socket
s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
s.bind(('0.0.0.0', int(sys.argv[1])))
s.settimeout(5)
print('listening', flush=True)
sizes = {}
got = 0
try:
    while got < int(sys.argv[2]):
        b = s.recv(65535)
        sizes[len(b)] = sizes.get(len(b), 0) + 1
        got += 1
except socket.timeout:
    pass
print(' '.join(f'{k}x{v}' for k, v in sorted(sizes.items())), flush=True)
`;

/** UDP GSO (Linux 4.18 UDP_SEGMENT): each send is one super-frame cut into datagrams of gso bytes. */
const UDP_GSO_CLIENT = `
import socket, sys
host, port, sends, size, gso = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
UDP_SEGMENT = 103
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_UDP, UDP_SEGMENT, gso)
for i in range(sends):
    s.sendto(bytes([i % 256]) * size, (host, port))
`;

async function startServer(ns: Netns): Promise<BackgroundProcess> {
  return startInBackground(
    ns,
    PYTHON,
    ['-c', SERVER, String(PORT)],
    (p) => p.stdout().includes('listening'),
    {
      timeoutMs: 10_000,
    },
  );
}

/** Sends BYTES from `from` to `to` (a server already listening there); returns both sides' summaries. */
async function transfer(
  from: Netns,
  server: BackgroundProcess,
  toAddr: string,
  seed: number,
): Promise<{ sent: string; received: string }> {
  const client = await from.exec(PYTHON, ['-c', CLIENT, toAddr, String(PORT), String(BYTES), String(seed)], {
    timeoutMs: TRANSFER_TIMEOUT_MS + 5000,
  });
  assert.equal(client.code, 0, `client failed: ${client.stderr}`);
  const code = await server.exited;
  assert.equal(code, 0, `server failed: ${server.stderr()}`);
  const received = server.stdout().replace('listening', '').trim();
  return { sent: client.stdout.trim(), received };
}

describe('bulk TCP through the VR with GSO left on', () => {
  let topo: RoutedTopology;
  let vr: RunningVr;

  before(async () => {
    topo = await routedTopology();
    vr = await startVr(topo.r, 'edge', edgeConfig(topo));
  });

  after(async () => {
    await vr?.stop();
    await topo?.destroy();
  });

  for (const direction of ['h1 → h2', 'h2 → h1'] as const) {
    test(`20 MB ${direction} arrive intact, super-frames passed on whole`, async () => {
      const [src, dst, dstAddr] =
        direction === 'h1 → h2'
          ? [topo.h1, topo.h2, topo.h2Addr]
          : ([topo.h2, topo.h1, topo.h1Addr] as const);
      const before = await vr.counters();
      const server = await startServer(dst);
      const r = await transfer(src, server, dstAddr, direction === 'h1 → h2' ? 1 : 2);
      assert.equal(r.received, r.sent);
      assert.match(r.sent, new RegExp(`^${BYTES} [0-9a-f]{64}$`));
      const afterCounters = await vr.counters();
      // Nothing here turns offloads off: the sender's GSO super-frames reach the VR whole and leave
      // whole too, for the egress veth's kernel side to segment (afpacket takes aggregates).
      assert.ok(
        afterCounters.stats['aggregates_offloaded']! > before.stats['aggregates_offloaded']!,
        'the VR passed super-frames on whole',
      );
      assert.equal(afterCounters.drops['ipv4_frag_needed'], before.drops['ipv4_frag_needed']);
      // Every aggregate fitted a ring block: none truncated by the kernel and rejected by the walker.
      const links = (await vr.call('show.counters')) as { links: Record<string, { rxRejected?: number }> };
      for (const [name, l] of Object.entries(links.links))
        assert.equal(l.rxRejected, 0, `${name} rxRejected`);
    });
  }
});

describe('UDP GSO through the VR', () => {
  let topo: RoutedTopology;
  let vr: RunningVr;

  before(async () => {
    topo = await routedTopology();
    vr = await startVr(topo.r, 'edge', edgeConfig(topo));
  });

  after(async () => {
    await vr?.stop();
    await topo?.destroy();
  });

  test('each UDP_SEGMENT super-frame leaves as datagrams of the segment size', async () => {
    const sends = 20;
    const per = 8;
    const server = await startInBackground(
      topo.h2,
      PYTHON,
      ['-c', UDP_SERVER, String(PORT), String(sends * per)],
      (p) => p.stdout().includes('listening'),
      { timeoutMs: 10_000 },
    );
    // Resolved neighbours first: the VR's ARP queue holds only a few packets per neighbour.
    await topo.h1.execOk('ping', ['-n', '-c', '1', '-W', '2', topo.h2Addr], { timeoutMs: 10_000 });
    const before = await vr.counters();
    // 160 datagrams in one burst fit every queue on the way.
    await topo.h1.execOk(
      PYTHON,
      ['-c', UDP_GSO_CLIENT, topo.h2Addr, String(PORT), String(sends), String(per * 1000), '1000'],
      { timeoutMs: 10_000 },
    );
    assert.equal(await server.exited, 0, server.stderr());
    const afterCounters = await vr.counters();
    assert.equal(
      server.stdout().replace('listening', '').trim(),
      `1000x${sends * per}`,
      JSON.stringify(afterCounters.drops),
    );
    assert.ok(
      afterCounters.stats['segments_created']! - before.stats['segments_created']! >= sends * per,
      'the VR cut the super-frames (the sender did not)',
    );
  });
});

describe('bulk TCP through the VR towards an MTU 1280 link', () => {
  let topo: RoutedTopology;
  let vr: RunningVr;

  before(async () => {
    topo = await routedTopology();
    await topo.r.execOk('ip', ['link', 'set', 'dev', topo.r2If, 'mtu', '1280']);
    await topo.h2.execOk('ip', ['link', 'set', 'dev', topo.h2If, 'mtu', '1280']);
    vr = await startVr(topo.r, 'edge', edgeConfig(topo, { eth1Mtu: 1280 }));
  });

  after(async () => {
    await vr?.stop();
    await topo?.destroy();
  });

  test('20 MB h1 → h2 complete: path MTU discovery through fragmentation-needed', async () => {
    // h2 advertises the MSS of a 1500-byte path, so h1 starts with segments too big for eth1 and
    // learns 1280 only from the VR's fragmentation-needed (RFC 1191), sent about a super-frame.
    await topo.h2.execOk('ip', ['route', 'replace', 'default', 'via', topo.r2Addr, 'advmss', '1460']);
    const before = await vr.counters();
    const server = await startServer(topo.h2);
    const r = await transfer(topo.h1, server, topo.h2Addr, 3);
    assert.equal(r.received, r.sent);
    const afterCounters = await vr.counters();
    assert.ok(afterCounters.drops['ipv4_frag_needed']! > before.drops['ipv4_frag_needed']!, 'PMTUD ran');
    // After PMTUD the super-frames' segments fit eth1: they leave whole, for the kernel to cut.
    assert.ok(afterCounters.stats['aggregates_offloaded']! > before.stats['aggregates_offloaded']!);
  });
});
