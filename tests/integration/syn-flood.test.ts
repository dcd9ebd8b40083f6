// Issue 3: a SYN flood from h1 against the VR's discard service does not stop a kernel client on h2
// from connecting and transferring. The listener's SYN queue is bounded (128 half-open entries);
// once it is full the VR answers with SYN cookies and keeps no state for the flood.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RoutedTopology, routedTopology, startInBackground, waitFor } from '@nexthop/netns';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { edgeConfig, type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

/** The engine's default SYN queue (packages/stack/src/tcp/config.ts). */
const SYN_QUEUE = 128;
const FLOOD_COUNT = 100_000;

interface SocketRow {
  type: string;
  state: string;
  local: string;
  peer: string;
  synQueue?: number;
  synCookiesSent?: number;
}

describe('a SYN flood against the VR', () => {
  let topo: RoutedTopology;
  let vr: RunningVr;

  before(async () => {
    topo = await routedTopology();
    vr = await startVr(topo.r, 'edge', edgeConfig(topo, { extra: 'services: { discard: true }' }));
  });

  after(async () => {
    await vr?.stop();
    await topo?.destroy();
  });

  test('a SYN flood from h1 does not stop a client on h2 from connecting and sending 5 MB', async (t) => {
    const discard = async (): Promise<{ listener: SocketRow; rows: SocketRow[] }> => {
      const rows = ((await vr.call('show.sockets')) as SocketRow[]).filter((r) => r.type === 'stream');
      const listener = rows.find((r) => r.state === 'LISTEN' && r.local === '0.0.0.0:9');
      assert.ok(listener, JSON.stringify(rows));
      return { listener, rows };
    };
    // Spoofed random sources: the VR's SYN-ACKs go nowhere and nothing ever completes a handshake,
    // the worst case for the SYN queue. Bounded in count; only inside these namespaces.
    const started = Date.now();
    const flood = await startInBackground(
      topo.h1,
      'hping3',
      ['-q', '-S', '-p', '9', '-c', String(FLOOD_COUNT), '-i', 'u10', '--rand-source', '10.1.0.1'],
      () => true,
    );
    let floodEndedAt = 0;
    void flood.exited.then(() => {
      floodEndedAt = Date.now();
    });
    const floodExit = Promise.race([
      flood.exited,
      new Promise<number>((_, reject) =>
        setTimeout(() => reject(new Error('hping3 did not finish within 60 s')), 60_000).unref(),
      ),
    ]);

    // Watch the VR's half-open connections for as long as the flood lasts.
    let maxSynQueue = 0;
    let maxHalfOpen = 0;
    let maxConnections = 0;
    const watching = (async () => {
      while (floodEndedAt === 0) {
        const { listener, rows } = await discard();
        maxSynQueue = Math.max(maxSynQueue, listener.synQueue!);
        maxHalfOpen = Math.max(maxHalfOpen, rows.filter((r) => r.state === 'SYN-RECEIVED').length);
        maxConnections = Math.max(maxConnections, rows.filter((r) => r.state !== 'LISTEN').length);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();

    try {
      // The SYN queue is full once the listener answers with cookies; its entries stay for the
      // SYN-ACK retransmissions (about a minute), so the client below meets a full queue whether
      // or not the flood is still being sent.
      await waitFor(async () => ((await discard()).listener.synCookiesSent ?? 0) > 0, {
        timeoutMs: 20_000,
        what: 'the listener to send SYN cookies',
      });
      const r = await topo.h2.exec(
        '/usr/bin/python3',
        [
          '-c',
          `
import socket, json, os, time, struct
t0 = time.monotonic()
c = socket.create_connection(('10.2.0.1', 9), timeout=10)
connect_s = time.monotonic() - t0
# tcpi_options (struct tcp_info byte 5): TIMESTAMPS 1, SACK 2, WSCALE 4. A cookie SYN-ACK from the
# VR carries only the MSS, so a handshake completed through a cookie negotiated none of them.
options = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)[5]
c.sendall(os.urandom(5 * 1024 * 1024))
c.shutdown(socket.SHUT_WR)
eof = c.recv(10) == b''
c.close()
print(json.dumps({'connect_s': round(connect_s, 3), 'total_s': round(time.monotonic() - t0, 3),
                  'options': options, 'eof': eof}))
`,
        ],
        { timeoutMs: 30_000 },
      );
      const clientDoneAt = Date.now();
      assert.equal(r.code, 0, `the client failed:\n${r.stdout}\n${r.stderr}`);
      const out = JSON.parse(r.stdout) as {
        connect_s: number;
        total_s: number;
        options: number;
        eof: boolean;
      };
      assert.equal(out.eof, true, 'discard closed its side after the client finished');
      assert.equal(out.options, 0, `the client connected through a SYN cookie: ${r.stdout}`);

      // hping3 exits with 1 when nothing answered (the spoofed sources never see the SYN-ACKs).
      await floodExit;
      await watching;
      const { listener, rows } = await discard();
      const floodInfo = /(\d+) packets transmitted/.exec(flood.stdout() + flood.stderr())?.[1];
      assert.equal(floodInfo, String(FLOOD_COUNT), flood.stdout() + flood.stderr());
      const drops = Object.entries((await vr.counters()).drops).filter(([, n]) => n > 0);
      t.diagnostic(
        `VR drops (random sources include martians): ${JSON.stringify(Object.fromEntries(drops))}`,
      );
      t.diagnostic(
        `hping3 sent ${floodInfo} SYNs in ${floodEndedAt - started} ms; the client connected in ${out.connect_s} s ` +
          `and sent 5 MB in ${out.total_s} s, ${clientDoneAt <= floodEndedAt ? 'while the flood was still being sent' : 'after hping3 had finished'}; ` +
          `SYN cookies sent ${listener.synCookiesSent}; most half-open connections seen ${maxHalfOpen} ` +
          `(SYN queue ${maxSynQueue}), most TCP rows besides listeners ${maxConnections}`,
      );
      assert.ok(
        listener.synCookiesSent! > FLOOD_COUNT / 10,
        `cookies answered the flood: ${JSON.stringify(listener)}`,
      );
      assert.ok(maxSynQueue <= SYN_QUEUE, `SYN queue bounded: ${maxSynQueue}`);
      assert.ok(maxHalfOpen <= SYN_QUEUE, `half-open connections bounded: ${maxHalfOpen}`);
      const halfOpen = rows.filter((r) => r.state === 'SYN-RECEIVED').length;
      assert.ok(halfOpen <= SYN_QUEUE && listener.synQueue! <= SYN_QUEUE, JSON.stringify(listener));
      assert.ok(
        rows.every((r) => r.state === 'LISTEN' || r.state === 'SYN-RECEIVED'),
        `nothing but the bounded half-open entries is left: ${JSON.stringify(rows.filter((r) => r.state !== 'SYN-RECEIVED'))}`,
      );
    } finally {
      if (floodEndedAt === 0) flood.child.kill('SIGKILL');
      floodEndedAt ||= Date.now();
      await watching.catch(() => {});
    }
  });
});
