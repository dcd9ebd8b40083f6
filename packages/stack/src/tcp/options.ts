import { rd16, rd32, wr16, wr32 } from '@nexthop/wire';

export const OPT_EOL = 0;
export const OPT_NOP = 1;
export const OPT_MSS = 2;
export const OPT_WSCALE = 3;
export const OPT_SACK_PERMITTED = 4;
export const OPT_SACK = 5;
export const OPT_TIMESTAMP = 8;
/** RFC 2385 §3.0: the MD5 signature option, kind 19, length 18 (16 bytes of digest). */
export const OPT_MD5 = 19;
export const OPT_MD5_LENGTH = 18;

export const MAX_SACK_BLOCKS = 4;

/** The options of one received segment (a scratch object refilled per segment). */
export class TcpOptions {
  mss = 0;
  /** Window shift the sender offers, -1 when absent. */
  wscale = -1;
  sackPermitted = false;
  hasTimestamp = false;
  tsVal = 0;
  tsEcr = 0;
  sackCount = 0;
  readonly sackStart = [0, 0, 0, 0];
  readonly sackEnd = [0, 0, 0, 0];
  /**
   * Where the 16 bytes of an RFC 2385 digest are in the segment's buffer, -1 when there is none. An
   * option of kind 19 with another length than 18 is no signature (Linux's
   * tcp_parse_md5sig_option): the segment is then unsigned.
   */
  md5At = -1;
}

/** Parses options; returns false when they are malformed (the segment is then dropped). */
export function parseOptions(buf: Uint8Array, off: number, len: number, o: TcpOptions): boolean {
  o.mss = 0;
  o.wscale = -1;
  o.sackPermitted = false;
  o.hasTimestamp = false;
  o.sackCount = 0;
  o.md5At = -1;
  const end = off + len;
  let i = off;
  while (i < end) {
    const kind = buf[i]!;
    if (kind === OPT_EOL) break;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return false;
    const l = buf[i + 1]!;
    if (l < 2 || i + l > end) return false;
    switch (kind) {
      case OPT_MSS:
        if (l === 4) o.mss = rd16(buf, i + 2);
        break;
      case OPT_WSCALE:
        // RFC 7323 §2.3: a shift above 14 is used as 14.
        if (l === 3) o.wscale = Math.min(buf[i + 2]!, 14);
        break;
      case OPT_SACK_PERMITTED:
        if (l === 2) o.sackPermitted = true;
        break;
      case OPT_TIMESTAMP:
        if (l === 10) {
          o.hasTimestamp = true;
          o.tsVal = rd32(buf, i + 2);
          o.tsEcr = rd32(buf, i + 6);
        }
        break;
      case OPT_SACK: {
        const n = (l - 2) >>> 3;
        for (let k = 0; k < n && k < MAX_SACK_BLOCKS; k++) {
          o.sackStart[k] = rd32(buf, i + 2 + k * 8);
          o.sackEnd[k] = rd32(buf, i + 6 + k * 8);
        }
        o.sackCount = Math.min(n, MAX_SACK_BLOCKS);
        break;
      }
      case OPT_MD5:
        if (l === OPT_MD5_LENGTH) o.md5At = i + 2;
        break;
    }
    i += l;
  }
  return true;
}

export function writeNopNopTimestamp(buf: Uint8Array, off: number, tsVal: number, tsEcr: number): number {
  buf[off] = OPT_NOP;
  buf[off + 1] = OPT_NOP;
  buf[off + 2] = OPT_TIMESTAMP;
  buf[off + 3] = 10;
  wr32(buf, off + 4, tsVal);
  wr32(buf, off + 8, tsEcr);
  return 12;
}

export function writeMss(buf: Uint8Array, off: number, mss: number): number {
  buf[off] = OPT_MSS;
  buf[off + 1] = 4;
  wr16(buf, off + 2, mss);
  return 4;
}

/**
 * NOP, NOP, then the RFC 2385 option with its 16 digest bytes zeroed (the digest is computed once
 * the segment is complete, TcpMd5.sign): 20 bytes, first in the options as Linux writes them.
 */
export function writeMd5Option(buf: Uint8Array, off: number): number {
  buf[off] = OPT_NOP;
  buf[off + 1] = OPT_NOP;
  buf[off + 2] = OPT_MD5;
  buf[off + 3] = OPT_MD5_LENGTH;
  buf.fill(0, off + 4, off + 20);
  return 20;
}
