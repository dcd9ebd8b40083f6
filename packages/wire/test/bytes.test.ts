import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  bytesEqual,
  copyBytes,
  DROP_REASON_COUNT,
  Drop,
  dropReasonName,
  rd16,
  rd32,
  wr16,
  wr32,
} from '../src/index.ts';
import { hex, toHex } from './golden.ts';

/** memmove: what copyBytes promises, even when source and destination overlap. */
function naiveCopy(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, len: number): void {
  const tmp: number[] = [];
  for (let i = 0; i < len; i++) tmp.push(src[srcOff + i]!);
  for (let i = 0; i < len; i++) dst[dstOff + i] = tmp[i]!;
}

describe('big-endian access', () => {
  it('reads and writes 16- and 32-bit fields', () => {
    const b = hex('00 12 34 fe dc ba 98 00');
    assert.equal(rd16(b, 1), 0x1234);
    assert.equal(rd32(b, 3), 0xfedcba98); // unsigned, not negative
    wr16(b, 0, 0xabcd);
    wr32(b, 4, 0x80000001);
    assert.equal(toHex(b), 'abcd34fe80000001');
  });

  it('round-trips every value through wr/rd', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.nat({ max: 8 }), (v, off) => {
        const b = new Uint8Array(12);
        wr32(b, off, v);
        assert.equal(rd32(b, off), v);
        wr16(b, off, v & 0xffff);
        assert.equal(rd16(b, off), v & 0xffff);
      }),
      { seed: 16, numRuns: 300 },
    );
  });
});

describe('copyBytes', () => {
  it('copies between buffers', () => {
    const dst = new Uint8Array(6);
    copyBytes(hex('0102030405'), 1, dst, 2, 3);
    assert.equal(toHex(dst), '000002030400');
  });

  it('moves forward and backward inside one buffer like memmove', () => {
    const a = hex('0102030405060708');
    copyBytes(a, 0, a, 2, 5);
    assert.equal(toHex(a), '0102010203040508');
    const b = hex('0102030405060708');
    copyBytes(b, 2, b, 0, 5);
    assert.equal(toHex(b), '0304050607060708');
  });

  it('matches a naive copy for random ranges, overlapping ones in the same buffer included', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 80 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        (data, a, b, c, sameBuffer) => {
          const n = data.length;
          const len = a % (n + 1);
          const srcOff = b % (n - len + 1);
          const dstOff = c % (n - len + 1);
          const actual = data.slice();
          const expected = data.slice();
          if (sameBuffer) {
            copyBytes(actual, srcOff, actual, dstOff, len);
            naiveCopy(expected, srcOff, expected, dstOff, len);
          } else {
            const src = data.map((x) => x ^ 0x5a);
            copyBytes(src, srcOff, actual, dstOff, len);
            naiveCopy(src, srcOff, expected, dstOff, len);
          }
          assert.equal(toHex(actual), toHex(expected));
        },
      ),
      { seed: 1071, numRuns: 2000 },
    );
  });

  it('matches a naive copy between two views of one ArrayBuffer', () => {
    // Drivers may hand out frames as views into a shared ring: overlap is then not src === dst.
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 80 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        (data, a, b, c, d) => {
          const n = data.length;
          const srcView = b % n;
          const dstView = c % n;
          const memory = data.slice();
          const expectedMemory = data.slice();
          const src = new Uint8Array(memory.buffer, srcView);
          const dst = new Uint8Array(memory.buffer, dstView);
          const room = Math.min(src.length, dst.length);
          const len = a % (room + 1);
          const srcOff = d % (src.length - len + 1);
          const dstOff = (d >>> 3) % (dst.length - len + 1);
          copyBytes(src, srcOff, dst, dstOff, len);
          naiveCopy(
            new Uint8Array(expectedMemory.buffer, srcView),
            srcOff,
            new Uint8Array(expectedMemory.buffer, dstView),
            dstOff,
            len,
          );
          assert.equal(toHex(memory), toHex(expectedMemory));
        },
      ),
      { seed: 1624, numRuns: 2000 },
    );
  });
});

describe('bytesEqual', () => {
  it('compares ranges at offsets', () => {
    const a = hex('00 0a0b0c 00');
    const b = hex('0a0b0c');
    assert.equal(bytesEqual(a, 1, b, 0, 3), true);
    assert.equal(bytesEqual(a, 0, b, 0, 3), false);
    assert.equal(bytesEqual(a, 2, b, 1, 0), true);
  });
});

describe('drop reasons', () => {
  it('are distinct, within the counter array, and named', () => {
    const values = Object.values(Drop);
    assert.equal(new Set(values).size, values.length);
    for (const v of values) {
      assert.ok(v > 0 && v < DROP_REASON_COUNT, `${v}`);
      assert.match(dropReasonName(v), /^[a-z0-9_]+$/);
    }
    assert.equal(dropReasonName(Drop.IPV4_BAD_CHECKSUM), 'ipv4_bad_checksum');
    assert.equal(dropReasonName(999), 'reason_999');
  });
});
