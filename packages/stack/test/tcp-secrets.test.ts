// The stack's secrets and random choices (issue 9): ISNs an off-path attacker cannot predict, from
// a random source the stack is handed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TCP_SYN } from '@nexthop/wire';
import { type RandomSource, SeededRandom, Stack } from '../src/index.ts';
import type { TcpConfig } from '../src/tcp/index.ts';
import { Capture } from './harness.ts';
import { A, B, Host } from './tcp-harness.ts';

const PLAIN: Partial<TcpConfig> = { timestamps: false, sack: false, windowScaling: false };

/** Our ISN when the engine answers a SYN from B:srcPort to port 80 (the SYN-ACK's sequence number). */
function isnAnswering(h: Host, srcPort: number, now: number): number {
  h.input({ srcPort, dstPort: 80, seq: 1, flags: TCP_SYN, mss: 1460 }, B, now);
  const sa = h.take();
  assert.equal(sa.length, 1);
  assert.equal(sa[0]!.flags, 'S.');
  return sa[0]!.seq;
}

function listening(seed: number, config: Partial<TcpConfig> = PLAIN): Host {
  const h = new Host(A, seed, config);
  h.engine.listen(0, 80, 64);
  return h;
}

describe('ISNs (RFC 6528)', () => {
  test('two stacks with different secrets give unrelated ISNs for the same 4-tuples; the same secrets reproduce them', () => {
    const isns = (seed: number) => {
      const h = listening(seed);
      const out: number[] = [];
      for (let p = 1000; p < 1016; p++) out.push(isnAnswering(h, p, 0));
      return out;
    };
    const one = isns(1);
    const two = isns(2);
    assert.deepEqual(isns(1), one, 'same secrets, same ISNs');
    for (let i = 0; i < one.length; i++) assert.notEqual(one[i], two[i]);
    // Not one offset apart either: the key is in the hash, not added to it.
    const offsets = new Set(one.map((x, i) => (x - two[i]!) >>> 0));
    assert.equal(offsets.size, one.length);
  });

  test('a Stack needs a random source or a seed, never both, and never neither', () => {
    const cap = new Capture();
    assert.throws(() => new Stack({ output: cap }), /random/);
    assert.throws(() => new Stack({ output: cap, seed: 1, random: new SeededRandom(1) }), /random/);
    // Any source will do, and the stack draws its keys from it.
    let draws = 0;
    const counting: RandomSource = {
      next32: () => {
        draws++;
        return Math.imul(draws, 0x9e3779b1) >>> 0;
      },
    };
    const s = new Stack({ output: cap, random: counting });
    assert.ok(draws >= 4, `keys drawn at start (${draws})`);
    assert.ok(s.sockets.socket('stream') >= 0);
  });
});
