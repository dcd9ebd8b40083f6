// The TCP MD5 signature option (RFC 2385), as Linux's TCP_MD5SIG: keys by peer address, the digest
// of a segment, signing what a keyed connection sends and checking what it receives.
//
// RFC 2385 §2.0: the digest covers, in order, (1) the pseudo-header (IPv4: source, destination,
// zero, protocol, segment length; IPv6: the RFC 2460 §8.1 one, as Linux), (2) the TCP header
// without options, checksum taken as zero, (3) the segment data, (4) the key. Options are not
// covered, so the digest goes into its option after the rest is built. Every segment a keyed
// connection sends carries it, resets included (§2.0, §4.1); a received segment without it, or with
// a wrong one, is dropped silently (§3.0) and counted: `md5-missing`, `md5-bad`, and
// `md5-unexpected` for a signed segment where no key is set (Linux's TCPMD5NotFound,
// TCPMD5Failure, TCPMD5Unexpected).
import { rd16, sumWords, wr16, wr32 } from '@nexthop/wire';
import type { TcpAddressFamily } from './family.ts';
import { Md5 } from './md5.ts';

/** Linux's TCP_MD5SIG_MAXKEYLEN: a key has 1 to 80 bytes. */
export const TCP_MD5_MAX_KEY = 80;
/** Option space a signature takes in every segment: NOP, NOP, kind 19, length 18, 16 bytes. */
export const TCP_MD5_OPTION_SPACE = 20;
/** Where the digest sits after the TCP header when the signature is the first option (always, here). */
const DIGEST_OFFSET = 20 + 4;

/** Keys by peer address (Linux's md5sig_info of one socket): a listener's table serves many peers. */
export class TcpMd5Keys<A> {
  private readonly addrs: A[] = [];
  private readonly keys: Uint8Array[] = [];

  get size(): number {
    return this.addrs.length;
  }

  /** The key for peer `addr`, null when there is none. */
  find(family: TcpAddressFamily<A>, addr: A): Uint8Array | null {
    const a = this.addrs;
    for (let i = 0; i < a.length; i++) if (family.equals(a[i]!, addr)) return this.keys[i]!;
    return null;
  }

  /** Sets (a copy of `key`) or, with null, deletes the key of `addr`; false when there was none to delete. */
  set(family: TcpAddressFamily<A>, addr: A, key: Uint8Array | null): boolean {
    const a = this.addrs;
    let i = 0;
    while (i < a.length && !family.equals(a[i]!, addr)) i++;
    if (key === null) {
      if (i === a.length) return false;
      a.splice(i, 1);
      this.keys.splice(i, 1);
      return true;
    }
    if (i === a.length) a.push(family.keep(addr));
    this.keys[i] = key.slice();
    return true;
  }
}

/** The MD5 state and scratch of one engine: signs the segments it sends, checks those it receives. */
export class TcpMd5 {
  private readonly md5 = new Md5();
  private readonly pseudo = new Uint8Array(40);
  private readonly digestOut = new Uint8Array(16);

  /**
   * The digest of the segment at buf[tcpOff, tcpOff + tcpLen) (its checksum field whatever it
   * is: hashed as zero) into out[at], with the pseudo-header pseudo[0, pseudoLen).
   */
  private compute(
    pseudo: Uint8Array,
    pseudoLen: number,
    buf: Uint8Array,
    tcpOff: number,
    tcpLen: number,
    key: Uint8Array,
    out: Uint8Array,
    at: number,
  ): void {
    const m = this.md5;
    m.update(pseudo, 0, pseudoLen);
    m.update(buf, tcpOff, 16);
    m.updateZeros(2);
    m.update(buf, tcpOff + 18, 2);
    const hl = (buf[tcpOff + 12]! >>> 4) * 4;
    if (tcpLen > hl) m.update(buf, tcpOff + hl, tcpLen - hl);
    m.update(key, 0, key.length);
    m.digest(out, at);
  }

  /**
   * Signs a segment built with the signature as its first option (writeMd5Option, digest bytes
   * zero) and its checksum already filled: writes the digest, then brings the checksum up to date
   * incrementally (RFC 1624; the digest is 16-bit aligned). `pseudo`: the connection's
   * md5Pseudo (its length field is set here).
   */
  sign(pseudo: Uint8Array, buf: Uint8Array, tcpOff: number, tcpLen: number, key: Uint8Array): void {
    const pseudoLen = setPseudoLength(pseudo, tcpLen);
    const at = tcpOff + DIGEST_OFFSET;
    this.compute(pseudo, pseudoLen, buf, tcpOff, tcpLen, key, buf, at);
    let sum = (~rd16(buf, tcpOff + 16) & 0xffff) + sumWords(buf, at, 16, 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    wr16(buf, tcpOff + 16, ~sum & 0xffff);
  }

  /** Whether the digest at buf[digestAt] is right for the received segment from src to dst. */
  verify<A>(
    family: TcpAddressFamily<A>,
    src: A,
    dst: A,
    buf: Uint8Array,
    tcpOff: number,
    tcpLen: number,
    digestAt: number,
    key: Uint8Array,
  ): boolean {
    const n = family.md5Pseudo(this.pseudo, src, dst, tcpLen);
    const d = this.digestOut;
    this.compute(this.pseudo, n, buf, tcpOff, tcpLen, key, d, 0);
    // All 16 bytes, whatever the first difference (no early exit to time).
    let diff = 0;
    for (let i = 0; i < 16; i++) diff |= d[i]! ^ buf[digestAt + i]!;
    return diff === 0;
  }
}

/** Sets the length field of a pseudo-header md5Pseudo wrote (12 bytes: IPv4; 40: IPv6); returns its size. */
function setPseudoLength(pseudo: Uint8Array, tcpLen: number): number {
  if (pseudo.length === 12) {
    wr16(pseudo, 10, tcpLen);
    return 12;
  }
  wr32(pseudo, 32, tcpLen);
  return 40;
}
