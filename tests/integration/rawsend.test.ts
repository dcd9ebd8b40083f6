import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Netns, startInBackground, uniqueIfName, vethPair } from '@nexthop/netns';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import {
  type FrameEnds,
  internetChecksum,
  ipv4BadChecksum,
  malformedFrames,
  toHex,
  truncatedEthernet,
  validEchoFrame,
} from '../lib/malformed.ts';
import { readPcapFrames, sendFrames } from '../lib/rawsend.ts';

useNetnsCleanup();

const ENDS: FrameEnds = {
  dstMac: '02:00:00:00:00:02',
  srcMac: '02:00:00:00:00:01',
  srcIp: '10.1.0.2',
  dstIp: '10.2.0.2',
};

describe('malformed frame builders', () => {
  test('the valid baseline has correct checksums and lengths', () => {
    const f = validEchoFrame(ENDS);
    assert.equal(f.length, 14 + 20 + 8 + 16);
    assert.equal(internetChecksum(f, 14, 20), 0);
    assert.equal(internetChecksum(f, 34, f.length - 34), 0);
    assert.equal((f[16]! << 8) | f[17]!, f.length - 14);
    assert.equal(toHex(f.slice(0, 14)), '020000000002020000000001' + '0800');
  });

  test('RFC 1071 example sum', () => {
    // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (one's complement), checksum 220d.
    assert.equal(internetChecksum(Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])), 0x220d);
  });

  test('each malformed frame deviates as named', () => {
    const byName = new Map(malformedFrames(ENDS).map((f) => [f.name, f.frame]));
    assert.equal(byName.get('header-only Ethernet')!.length, 14);
    assert.equal(byName.get('truncated ARP')!.length, 28);
    const arp = byName.get('ARP with wrong address lengths')!;
    assert.deepEqual([arp[12], arp[13], arp[18], arp[19]], [0x08, 0x06, 8, 6]);
    assert.equal(byName.get('truncated IPv4 header')!.length, 26);
    assert.equal(byName.get('IPv4 IHL 4')![14], 0x44);
    assert.notEqual(internetChecksum(ipv4BadChecksum(ENDS), 14, 20), 0);
    const long = byName.get('IPv4 total length beyond frame')!;
    assert.equal((long[16]! << 8) | long[17]!, 1000);
    assert.equal(byName.get('IPv4 TTL 0')![22], 0);
    assert.equal(byName.get('multicast source MAC')![6]! & 1, 1);
    assert.equal(truncatedEthernet(ENDS).length, 10);
  });
});

describe('rawsend between namespaces', () => {
  test('malformed frames leave one namespace byte for byte, as tcpdump on the other side sees them', async () => {
    const a = await Netns.create('rs');
    const b = await Netns.create('rs');
    const aIf = uniqueIfName('ra');
    const bIf = uniqueIfName('rb');
    // No IPv6 and no addresses: the kernel itself sends nothing on this link, so the capture holds
    // exactly our frames.
    await vethPair(a, aIf, b, bIf, { disableIpv6: true });
    const frames = [validEchoFrame(ENDS), ...malformedFrames(ENDS).map((f) => f.frame)];
    const file = join(tmpdir(), `nh-rawsend-${process.pid}-${Date.now()}.pcap`);
    try {
      const capture = await startInBackground(
        b,
        'tcpdump',
        ['-i', bIf, '-n', '-U', '--immediate-mode', '-Z', 'root', '-c', String(frames.length), '-w', file],
        (p) => p.stderr().includes('listening on'),
        { timeoutMs: 10_000, what: 'tcpdump to listen' },
      );
      const results = await sendFrames(a, aIf, frames);
      assert.deepEqual(
        results,
        frames.map((f) => ({ sent: f.length })),
      );
      const code = await Promise.race([
        capture.exited,
        new Promise<number>((_, reject) =>
          setTimeout(() => reject(new Error(`tcpdump did not see ${frames.length} frames`)), 10_000).unref(),
        ),
      ]);
      assert.equal(code, 0, capture.stderr());
      const captured = readPcapFrames(new Uint8Array(await readFile(file)));
      assert.deepEqual(captured.map(toHex), frames.map(toHex));
    } finally {
      await rm(file, { force: true });
    }
  });

  test('a frame shorter than an Ethernet header is refused by the kernel, and said so', async () => {
    const a = await Netns.create('rs');
    const b = await Netns.create('rs');
    const aIf = uniqueIfName('ra');
    await vethPair(a, aIf, b, uniqueIfName('rb'), { disableIpv6: true });
    const results = await sendFrames(a, aIf, [truncatedEthernet(ENDS, 10), validEchoFrame(ENDS)]);
    assert.deepEqual(results, [{ error: 'EINVAL' }, { sent: 58 }]);
  });
});
