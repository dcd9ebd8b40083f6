import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  checksumAdjust,
  foldSum,
  IPPROTO_UDP,
  internetChecksum,
  pseudoHeaderSum,
  rd16,
  refreshIpv4Checksum,
  sumWords,
  wr16,
} from '../src/index.ts';
import { ECHO_REPLY, ECHO_REQUEST, ETH_LEN, hex, IP_A, IP_B, UDP_DATAGRAM } from './golden.ts';

/** Full recompute: the checksum of `words` with the word at `field` taken as zero. */
function fullChecksum(words: number[], field: number): number {
  const bytes = new Uint8Array(words.length * 2);
  for (let i = 0; i < words.length; i++) wr16(bytes, 2 * i, i === field ? 0 : words[i]!);
  return internetChecksum(bytes, 0, bytes.length);
}

describe('RFC 1071 Internet checksum', () => {
  it('matches the worked example of RFC 1071 §3', () => {
    // 00 01 f2 03 f4 f5 f6 f7: sum 0x2ddf0, folded 0xddf2, checksum its complement.
    const bytes = hex('0001f203f4f5f6f7');
    assert.equal(sumWords(bytes, 0, 8, 0), 0x2ddf0);
    assert.equal(foldSum(0x2ddf0), 0xddf2);
    assert.equal(internetChecksum(bytes, 0, 8), 0x220d);
  });

  it('is byte-order independent (RFC 1071 §2(B)): swapped input gives the swapped sum', () => {
    const swapped = hex('0100 03f2 f5f4 f7f6');
    assert.equal(foldSum(sumWords(swapped, 0, 8, 0)), 0xf2dd);
  });

  it('pads an odd trailing byte with zero', () => {
    assert.equal(internetChecksum(hex('0001f2'), 0, 3), internetChecksum(hex('0001f200'), 0, 4));
    assert.equal(sumWords(hex('ff'), 0, 1, 0), 0xff00);
  });

  it('reads only buf[off, off+len)', () => {
    const bytes = hex('ffff 0001f203f4f5f6f7 ffff');
    assert.equal(internetChecksum(bytes, 2, 8), 0x220d);
    assert.equal(internetChecksum(hex('ee 0001f2 ee'), 1, 3), internetChecksum(hex('0001f2'), 0, 3));
  });

  it('folds sums far beyond 32 bits with end-around carry', () => {
    assert.equal(foldSum(0), 0);
    assert.equal(foldSum(0xffff), 0xffff);
    assert.equal(foldSum(0x10000), 1);
    assert.equal(foldSum(0x1fffe), 0xffff);
    assert.equal(foldSum(0xffff * 100_000), 0xffff);
    // 2^16 ≡ 1 (mod 0xffff), so 2^40 folds to 2^8.
    assert.equal(foldSum(2 ** 40 + 5), 0x105);
  });

  it('verifies to zero over every captured IPv4 header', () => {
    for (const frame of [ECHO_REQUEST, ECHO_REPLY, UDP_DATAGRAM]) {
      assert.equal(internetChecksum(frame, ETH_LEN, 20), 0);
    }
  });

  it('computes the pseudo-header sum of RFC 768 / RFC 9293 §3.1', () => {
    assert.equal(pseudoHeaderSum(IP_A, IP_B, IPPROTO_UDP, 19), 0x0a63 + 0x0001 + 0x0a63 + 0x0002 + 17 + 19);
    // Addresses above 2^31 must be treated as unsigned.
    assert.equal(pseudoHeaderSum(0xffffffff, 0x80000000, 6, 0), 0xffff * 2 + 0x8000 + 6);
    assert.equal(pseudoHeaderSum(-1, 0, 0, 0), 0xffff * 2);
  });
});

describe('RFC 1624 incremental update', () => {
  it('gives +0 (0x0000) where the recompute does, in the example of RFC 1624 §4', () => {
    // The other header words sum to 0xcd7a; m = 0x5555 changes to m' = 0x3285.
    assert.equal(~foldSum(0xcd7a + 0x5555) & 0xffff, 0xdd2f);
    assert.equal(~foldSum(0xcd7a + 0x3285) & 0xffff, 0x0000);
    assert.equal(checksumAdjust(0xdd2f, 0x5555, 0x3285), 0x0000);
    // RFC 1141's HC' = HC + m + ~m' would have produced -0 (0xffff) here.
    assert.equal(foldSum(0xdd2f + 0x5555 + (~0x3285 & 0xffff)), 0xffff);
  });

  it('matches a full recompute on real words whose sum becomes 0xffff', () => {
    const words = [0xcd7a, 0x0000, 0x5555];
    const before = fullChecksum(words, 1);
    assert.equal(before, 0xdd2f);
    const after = [0xcd7a, 0x0000, 0x3285];
    assert.equal(fullChecksum(after, 1), 0x0000);
    assert.equal(checksumAdjust(before, 0x5555, 0x3285), 0x0000);
    // And back again from a checksum of 0x0000.
    assert.equal(checksumAdjust(0x0000, 0x3285, 0x5555), 0xdd2f);
  });

  it('leaves the checksum alone when the word does not change, including 0x0000 and 0xffff', () => {
    for (const hc of [0x0000, 0x0001, 0x1234, 0xfffe]) {
      for (const m of [0x0000, 0x0001, 0x8000, 0xffff]) assert.equal(checksumAdjust(hc, m, m), hc);
    }
  });

  it('treats 0x0000 and 0xffff as the same one’s complement value for the changed word', () => {
    // +0 and -0 add the same amount to a one's complement sum, so the checksum must not move.
    assert.equal(checksumAdjust(0x1234, 0x0000, 0xffff), 0x1234);
    assert.equal(checksumAdjust(0x1234, 0xffff, 0x0000), 0x1234);
  });

  it('equals a full recompute for every TTL decrement of a real header', () => {
    const frame = ECHO_REQUEST.slice();
    const ip = ETH_LEN;
    for (let ttl = 255; ttl >= 1; ttl--) {
      frame[ip + 8] = ttl;
      refreshIpv4Checksum(frame, ip);
      const before = rd16(frame, ip + 10);
      const oldWord = rd16(frame, ip + 8);
      frame[ip + 8] = ttl - 1;
      const adjusted = checksumAdjust(before, oldWord, rd16(frame, ip + 8));
      refreshIpv4Checksum(frame, ip);
      assert.equal(adjusted, rd16(frame, ip + 10), `ttl ${ttl}`);
      assert.equal(internetChecksum(frame, ip, 20), 0);
    }
  });

  it('equals a full recompute for random single-word changes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 2, maxLength: 40 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 0xffff }),
        (words, fieldPick, changePick, newWord) => {
          const field = fieldPick % words.length;
          const changed = changePick % words.length;
          fc.pre(changed !== field);
          const after = words.slice();
          after[changed] = newWord;
          // RFC 1624 §3: the covered data always holds a non-zero word (IP version, pseudo-header
          // protocol); only all-zero data has the checksum -0, which no incremental update can tell.
          fc.pre(after.some((w, i) => i !== field && w !== 0));
          const adjusted = checksumAdjust(fullChecksum(words, field), words[changed]!, newWord);
          assert.equal(adjusted, fullChecksum(after, field));
        },
      ),
      { seed: 1624, numRuns: 2000 },
    );
  });

  it('equals a full recompute when words are biased to 0x0000 and 0xffff', () => {
    const edgy = fc.constantFrom(0x0000, 0xffff, 0x0001, 0xfffe, 0x8000);
    fc.assert(
      fc.property(
        fc.array(edgy, { minLength: 2, maxLength: 12 }),
        fc.nat(),
        edgy,
        fc.integer({ min: 1, max: 0xffff }),
        (words, changePick, newWord, anchor) => {
          // Word 0 is the checksum field, word 1 a fixed non-zero word (like IPv4's version/IHL).
          const all = [0, anchor, ...words];
          const changed = 2 + (changePick % words.length);
          const after = all.slice();
          after[changed] = newWord;
          assert.equal(checksumAdjust(fullChecksum(all, 0), all[changed]!, newWord), fullChecksum(after, 0));
        },
      ),
      { seed: 1141, numRuns: 1000 },
    );
  });

  it('keeps a UDP checksum valid when a port is rewritten (NAT-style)', () => {
    const frame = UDP_DATAGRAM.slice();
    const udp = ETH_LEN + 20;
    const oldPort = rd16(frame, udp);
    wr16(frame, udp, 40000);
    wr16(frame, udp + 6, checksumAdjust(rd16(frame, udp + 6), oldPort, 40000));
    const sum = sumWords(frame, udp, 19, pseudoHeaderSum(IP_A, IP_B, IPPROTO_UDP, 19));
    assert.equal(foldSum(sum), 0xffff);
  });
});
