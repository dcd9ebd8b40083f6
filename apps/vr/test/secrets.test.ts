// The VR draws its stack's secrets from the CSPRNG (issue 9): two VRs with the same configuration
// share no ISN key, timestamp key or port choice.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '@nexthop/addr';
import { SockAddr } from '@nexthop/stack';
import { CryptoRandom } from '../src/random.ts';
import { startRig } from './rig.ts';

const LOCAL = parseIpv4('10.1.0.1');
const PEER = parseIpv4('10.1.0.2');

test('two VRs with the same config give different ISNs, TSval offsets and ports for the same 4-tuple', () => {
  const a = startRig();
  const b = startRig();
  try {
    const ta = a.vr.stack.tcp;
    const tb = b.vr.stack.tcp;
    for (let port = 40000; port < 40004; port++) {
      assert.notEqual(ta.isn(LOCAL, port, PEER, 80, 0), tb.isn(LOCAL, port, PEER, 80, 0));
      assert.notEqual(ta.tsOffset(LOCAL, port, PEER, 80), tb.tsOffset(LOCAL, port, PEER, 80));
    }
    const port = (vr: typeof a.vr) => {
      const so = vr.stack.sockets;
      const fd = so.socket('stream');
      assert.equal(so.connect(fd, PEER, 80, 0), -115);
      const sa = new SockAddr();
      so.localAddress(fd, sa);
      return sa.port;
    };
    const pa = [port(a.vr), port(a.vr), port(a.vr)];
    const pb = [port(b.vr), port(b.vr), port(b.vr)];
    assert.notDeepEqual(pa, pb);
  } finally {
    a.close();
    b.close();
  }
});

test('CryptoRandom: 32-bit words from the CSPRNG, across pool refills', () => {
  const r = new CryptoRandom();
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const v = r.next32();
    assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffffffff);
    seen.add(v);
  }
  assert.ok(seen.size > 990);
});
