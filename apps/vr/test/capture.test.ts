import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4, parseMac } from '@nexthop/addr';
import { pcapFileHeader, readPcap } from '@nexthop/pcap';
import { CAPTURE_MAX_RUNNING, Captures } from '@nexthop/vr';
import {
  ARP_LEN,
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  ETH_HEADER_LEN,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ICMP_ECHO_REQUEST,
  IPPROTO_ICMP,
  IPV4_MIN_HEADER,
  rd16,
  writeArp,
  writeEthernet,
  writeIcmp,
  writeIpv4Header,
} from '@nexthop/wire';
import { type Host, startRig, turn } from './rig.ts';

const HOST_MAC = parseMac('02:00:00:00:01:02');
const HOST_IP = parseIpv4('10.1.0.2');
const VR_MAC = parseMac('02:00:00:00:01:01');
const VR_IP = parseIpv4('10.1.0.1');
const BROADCAST = parseMac('ff:ff:ff:ff:ff:ff');

function send(host: Host, frame: Uint8Array): void {
  assert.ok(host.link.send(frame, 0, frame.length));
  host.link.flush();
}

function arpRequest(): Uint8Array {
  const f = new Uint8Array(60);
  writeEthernet(f, 0, BROADCAST, 0, HOST_MAC, 0, ETHERTYPE_ARP);
  writeArp(f, ETH_HEADER_LEN, ARP_OP_REQUEST, HOST_MAC, 0, HOST_IP, null, 0, VR_IP);
  return f.subarray(0, Math.max(60, ETH_HEADER_LEN + ARP_LEN));
}

function echoRequest(seq: number): Uint8Array {
  const body = new Uint8Array(56).fill(seq);
  const ipLen = IPV4_MIN_HEADER + 8 + body.length;
  const f = new Uint8Array(ETH_HEADER_LEN + ipLen);
  writeEthernet(f, 0, VR_MAC, 0, HOST_MAC, 0, ETHERTYPE_IPV4);
  writeIpv4Header(f, ETH_HEADER_LEN, 0, ipLen, seq, 0, 64, IPPROTO_ICMP, HOST_IP, VR_IP);
  writeIcmp(
    f,
    ETH_HEADER_LEN + IPV4_MIN_HEADER,
    ICMP_ECHO_REQUEST,
    0,
    (0x1234 << 16) | seq,
    body,
    0,
    body.length,
  );
  return f;
}

interface ReadReply {
  records: string[];
  done: boolean;
  dropped: number;
}

test('capture returns the frames of a ping exchange as pcap records', async () => {
  const rig = startRig();
  try {
    const host = rig.hosts.get('eth0')!;
    await turn();
    host.frames.length = 0;
    const { id } = (await rig.call('capture.start', { interface: 'eth0', count: 4 })) as { id: number };
    // Frames on another interface are not captured.
    send(rig.hosts.get('eth1')!, arpRequest());
    send(host, arpRequest());
    // Wait for the ARP reply before pinging, as a host would.
    while (host.frames.length === 0) await turn();
    send(host, echoRequest(1));

    const records: Buffer[] = [];
    let reply: ReadReply = { records: [], done: false, dropped: 0 };
    for (let i = 0; i < 100 && !reply.done; i++) {
      reply = (await rig.call('capture.read', { id, waitMs: 50 })) as ReadReply;
      for (const r of reply.records) records.push(Buffer.from(r, 'base64'));
    }
    assert.equal(reply.done, true);
    assert.equal(reply.dropped, 0);
    assert.equal(records.length, 4);

    const file = readPcap(Buffer.concat([pcapFileHeader(), ...records]));
    assert.ok(file.ok, file.ok ? '' : file.error);
    const frames = file.records.map((r) => r.data);
    const kinds = frames.map((f) => {
      const type = rd16(f, 12);
      if (type === ETHERTYPE_ARP)
        return rd16(f, ETH_HEADER_LEN + 6) === ARP_OP_REQUEST ? 'arp-request' : 'arp-reply';
      return f[ETH_HEADER_LEN + IPV4_MIN_HEADER] === ICMP_ECHO_REQUEST ? 'echo-request' : 'echo-reply';
    });
    assert.deepEqual(kinds, ['arp-request', 'arp-reply', 'echo-request', 'echo-reply']);
    assert.equal(rd16(frames[1]!, ETH_HEADER_LEN + 6), ARP_OP_REPLY);
    assert.deepEqual(frames[2], echoRequest(1));
    // The received frames are the bytes the host sent; the sent ones are what reached the host.
    while (host.frames.length < 2) await turn();
    assert.deepEqual(Buffer.from(frames[3]!), Buffer.from(host.frames[1]!));
    for (const r of file.records) {
      assert.equal(r.originalLength, r.data.length);
      assert.ok(r.timestampUs > 1e15, 'wall-clock microseconds');
    }

    // Done: later reads are empty and done; stop reports the totals and forgets it.
    assert.deepEqual(await rig.call('capture.read', { id, waitMs: 0 }), {
      records: [],
      done: true,
      dropped: 0,
    });
    assert.deepEqual(await rig.call('capture.stop', { id }), { frames: 4, dropped: 0 });
    await assert.rejects(rig.call('capture.read', { id }), { code: 'not_found' });
    assert.equal(rig.vr.captures.on[0], 0);
  } finally {
    rig.close();
  }
});

test('capture: snaplen truncates, stop ends a capture early, bad requests are refused', async () => {
  const rig = startRig();
  try {
    const host = rig.hosts.get('eth0')!;
    const { id } = (await rig.call('capture.start', { interface: 'eth0', snaplen: 20 })) as { id: number };
    assert.equal(rig.vr.captures.on[0], 1);
    send(host, echoRequest(7));
    let reply: ReadReply = { records: [], done: false, dropped: 0 };
    const records: Buffer[] = [];
    for (let i = 0; i < 100 && records.length < 2; i++) {
      reply = (await rig.call('capture.read', { id, waitMs: 50 })) as ReadReply;
      for (const r of reply.records) records.push(Buffer.from(r, 'base64'));
    }
    assert.equal(reply.done, false, 'count 100 not reached');
    const file = readPcap(Buffer.concat([pcapFileHeader(20), ...records]));
    assert.ok(file.ok);
    assert.equal(file.records[0]!.data.length, 20);
    assert.equal(file.records[0]!.originalLength, echoRequest(7).length);
    const totals = (await rig.call('capture.stop', { id })) as { frames: number; dropped: number };
    assert.ok(totals.frames >= 2);
    assert.equal(rig.vr.captures.on[0], 0);

    await assert.rejects(rig.call('capture.start', { interface: 'nope' }), { code: 'not_found' });
    await assert.rejects(rig.call('capture.start', { interface: 'eth0', count: 0 }), { code: 'bad_request' });
    await assert.rejects(rig.call('capture.start', {}), { code: 'bad_request' });
    await assert.rejects(rig.call('capture.stop', { id: 999 }), { code: 'not_found' });
  } finally {
    rig.close();
  }
});

test('Captures: a waiting read wakes on a frame; beyond 8 MiB buffered, frames are dropped and counted', async () => {
  const captures = new Captures(() => 1_700_000_000_000);
  const id = captures.start(2, 1000)!;
  assert.equal(captures.on[2], 1);
  assert.equal(captures.on[0], 0);
  const frame = new Uint8Array(64).fill(9);
  const pending = captures.read(id, 2000);
  captures.frame(2, frame, 0, 64);
  captures.frame(1, frame, 0, 64);
  const first = await pending;
  assert.equal(first?.records.length, 1);
  assert.equal(first?.done, false);

  // Records of the default snaplen (256 KiB) plus their 16-byte headers: 31 fit in 8 MiB.
  const big = new Uint8Array(256 * 1024);
  for (let i = 0; i < 33; i++) captures.frame(2, big, 0, big.length);
  const second = await captures.read(id, 0);
  assert.equal(second?.records.length, 31);
  assert.equal(second?.dropped, 2);
  // Reading frees the buffer.
  captures.frame(2, big, 0, big.length);
  assert.equal((await captures.read(id, 0))?.records.length, 1);
  assert.deepEqual(captures.stop(id), { frames: 33, dropped: 2 });
  assert.equal(captures.on[2], 0);
  assert.equal(await captures.read(id, 0), null);
});

test('Captures: at most CAPTURE_MAX_RUNNING at once; finished ones make room', async () => {
  const captures = new Captures(() => 1_700_000_000_000);
  const ids: number[] = [];
  for (let i = 0; i < CAPTURE_MAX_RUNNING; i++) ids.push(captures.start(0, 1)!);
  assert.equal(captures.on[0], CAPTURE_MAX_RUNNING);
  assert.equal(captures.start(0, 1), null, 'one more is refused');
  captures.frame(0, new Uint8Array(64), 0, 64);
  // Each had a count of 1: all are finished, the next starts.
  assert.equal(captures.on[0], 0);
  const next = captures.start(0, 1);
  assert.notEqual(next, null);
  for (const id of [...ids, next!]) captures.stop(id);
});
