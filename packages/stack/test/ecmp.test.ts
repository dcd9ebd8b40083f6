// ECMP through the stack (RFC 2992): a group installed in the stack's FIB spreads forwarded flows
// over its members by their 5-tuple, and each flow keeps to one member. Input makes the flow hash
// only while the FIB holds a group, so this checks that it is made when one is there.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NH_FORWARD } from '@nexthop/fib';
import { IPPROTO_UDP } from '@nexthop/wire';
import {
  A_IP,
  ARP_OP_REPLY,
  arpFrame,
  bytes,
  feed,
  fromA,
  ip,
  mac,
  parseFrame,
  R1_IP,
  R1_MAC,
  rig,
  udpDatagram,
} from './harness.ts';

const GW1 = ip('10.0.2.101');
const GW2 = ip('10.0.2.102');
const GW1_MAC = mac('02:cc:00:00:00:65');
const GW2_MAC = mac('02:cc:00:00:00:66');
const FAR = ip('198.51.100.7');

function udpFlow(srcPort: number) {
  return fromA({ dst: FAR, protocol: IPPROTO_UDP, payload: udpDatagram(A_IP, FAR, srcPort, 9, bytes(8)) });
}

test('RFC 2992: an ECMP group spreads flows over its members, one flow to one member', () => {
  const r = rig();
  for (const [gw, gwMac] of [
    [GW1, GW1_MAC],
    [GW2, GW2_MAC],
  ] as const)
    feed(r, r.eth1, arpFrame(ARP_OP_REPLY, gwMac, gw, R1_MAC, R1_IP, R1_MAC), 0);
  const fib = r.stack.fib;
  const group = fib.acquireGroup([
    fib.nextHops.acquire(NH_FORWARD, r.eth1, GW1),
    fib.nextHops.acquire(NH_FORWARD, r.eth1, GW2),
  ]);
  fib.insert(ip('198.51.100.0'), 24, group, true);
  r.cap.take();
  const firstChoice = new Map<number, string>();
  const seen = new Set<string>();
  for (let round = 0; round < 2; round++) {
    for (let port = 40000; port < 40064; port++) {
      feed(r, r.eth0, udpFlow(port), 1);
      const out = r.cap.take();
      assert.equal(out.length, 1);
      const to = parseFrame(out[0]!.bytes).dst.join(':');
      seen.add(to);
      if (round === 0) firstChoice.set(port, to);
      else assert.equal(to, firstChoice.get(port), `flow ${port} keeps its member`);
    }
  }
  assert.deepEqual(
    [...seen].sort(),
    [GW1_MAC.join(':'), GW2_MAC.join(':')].sort(),
    'both members carry flows',
  );
});
