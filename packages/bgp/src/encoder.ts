// UPDATE packing: as many prefixes per message as fit the negotiated maximum (4096, or 65535
// with RFC 8654), one attribute set per message, written back to back into one growing buffer
// that the session then hands to its socket in one write.

import { wr16 } from '@nexthop/wire';
import { attributesMaxSize, encodeAttributes, type PathAttributes } from './attributes.ts';
import {
  AFI_IPV4,
  AFI_IPV6,
  ATTR_MP_REACH_NLRI,
  ATTR_MP_UNREACH_NLRI,
  BGP_EXTENDED_MAX_LEN,
  BGP_HEADER_LEN,
  BGP_MAX_LEN,
  FLAG_EXTENDED_LENGTH,
  FLAG_OPTIONAL,
  MSG_UPDATE,
  SAFI_UNICAST,
} from './constants.ts';
import { writeHeader } from './header.ts';
import { nlriSize, writeNlri4, writeNlri6 } from './prefixes.ts';

export interface EncoderOptions {
  /** Four-octet AS negotiated with this peer (RFC 6793). */
  readonly as4: boolean;
  /** Extended messages negotiated (RFC 8654): messages up to 65535 octets. */
  readonly extendedMessage?: boolean;
}

/** Attribute set too large to leave room for even one prefix: nothing was written. */
export const ENCODE_TOO_LARGE = -1;

export class UpdateEncoder {
  readonly as4: boolean;
  readonly maxLength: number;
  /** Encoded messages: buf[0, length). */
  buf = new Uint8Array(1 << 16);
  length = 0;
  /** Messages written since the last reset. */
  messages = 0;
  private attrBuf = new Uint8Array(BGP_EXTENDED_MAX_LEN);

  constructor(opt: EncoderOptions) {
    this.as4 = opt.as4;
    this.maxLength = opt.extendedMessage ? BGP_EXTENDED_MAX_LEN : BGP_MAX_LEN;
  }

  /** Forgets the written messages (after the caller sent buf[0, length)). */
  reset(): void {
    this.length = 0;
    this.messages = 0;
  }

  /** A copy of the written messages, then reset. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.length);
    this.reset();
    return out;
  }

  private room(): number {
    if (this.length + this.maxLength > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + this.maxLength));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    return this.length;
  }

  private attributes(a: PathAttributes, nextHop: boolean): number {
    if (attributesMaxSize(a) > this.attrBuf.length) return ENCODE_TOO_LARGE;
    const n = encodeAttributes(this.attrBuf, 0, a, { as4: this.as4, nextHop });
    return n > this.maxLength ? ENCODE_TOO_LARGE : n;
  }

  /**
   * Announces IPv4 prefixes [from, to) of (networks, lengths) with attribute set `a`: in the NLRI
   * field with NEXT_HOP (RFC 4271), or, when `a.mpNextHop` holds an IPv6 next hop (16 or 32
   * octets), in MP_REACH_NLRI (RFC 8950). Returns the number of messages written.
   */
  announce4(a: PathAttributes, networks: Uint32Array, lengths: Uint8Array, from: number, to: number): number {
    const nh = a.mpNextHop;
    if (nh !== undefined && nh.length !== 4)
      return this.announceMp(AFI_IPV4, a, networks, undefined, lengths, from, to);
    const attrLen = this.attributes(a, true);
    if (attrLen < 0 || BGP_HEADER_LEN + 4 + attrLen + 5 > this.maxLength) return ENCODE_TOO_LARGE;
    let i = from;
    let count = 0;
    while (i < to) {
      const start = this.room();
      const buf = this.buf;
      let p = start + BGP_HEADER_LEN;
      wr16(buf, p, 0);
      wr16(buf, p + 2, attrLen);
      p += 4;
      buf.set(this.attrBuf.subarray(0, attrLen), p);
      p += attrLen;
      const limit = start + this.maxLength;
      while (i < to && p + nlriSize(lengths[i]!) <= limit) {
        p += writeNlri4(buf, p, networks[i]!, lengths[i]!);
        i++;
      }
      writeHeader(buf, start, p - start, MSG_UPDATE);
      this.length = p;
      this.messages++;
      count++;
    }
    return count;
  }

  /**
   * Announces IPv6 prefixes [from, to) (network i at bytes[16i, 16i+16)) in MP_REACH_NLRI with the
   * next hop `a.mpNextHop` (16 or 32 octets, RFC 2545 §3). Returns the number of messages.
   */
  announce6(a: PathAttributes, bytes: Uint8Array, lengths: Uint8Array, from: number, to: number): number {
    return this.announceMp(AFI_IPV6, a, undefined, bytes, lengths, from, to);
  }

  private announceMp(
    afi: number,
    a: PathAttributes,
    networks: Uint32Array | undefined,
    bytes: Uint8Array | undefined,
    lengths: Uint8Array,
    from: number,
    to: number,
  ): number {
    const nh = a.mpNextHop;
    if (nh === undefined) return ENCODE_TOO_LARGE;
    const attrLen = this.attributes(a, false);
    // MP_REACH_NLRI goes first (RFC 7606 §5.1), always with an extended length: its size is
    // only known once the prefixes are in.
    const mpHead = 4 + 5 + nh.length;
    if (attrLen < 0 || BGP_HEADER_LEN + 4 + mpHead + attrLen + 17 > this.maxLength) return ENCODE_TOO_LARGE;
    let i = from;
    let count = 0;
    while (i < to) {
      const start = this.room();
      const buf = this.buf;
      let p = start + BGP_HEADER_LEN;
      wr16(buf, p, 0);
      const attrLenAt = p + 2;
      p += 4;
      const mp = p;
      buf[p] = FLAG_OPTIONAL | FLAG_EXTENDED_LENGTH;
      buf[p + 1] = ATTR_MP_REACH_NLRI;
      wr16(buf, p + 4, afi);
      buf[p + 6] = SAFI_UNICAST;
      buf[p + 7] = nh.length;
      buf.set(nh, p + 8);
      buf[p + 8 + nh.length] = 0;
      p += mpHead;
      const limit = start + this.maxLength - attrLen;
      while (i < to && p + nlriSize(lengths[i]!) <= limit) {
        p +=
          bytes !== undefined
            ? writeNlri6(buf, p, bytes, i * 16, lengths[i]!)
            : writeNlri4(buf, p, networks![i]!, lengths[i]!);
        i++;
      }
      wr16(buf, mp + 2, p - mp - 4);
      buf.set(this.attrBuf.subarray(0, attrLen), p);
      p += attrLen;
      wr16(buf, attrLenAt, p - attrLenAt - 2);
      writeHeader(buf, start, p - start, MSG_UPDATE);
      this.length = p;
      this.messages++;
      count++;
    }
    return count;
  }

  /** Withdraws IPv4 prefixes [from, to) in the Withdrawn Routes field. Returns the messages. */
  withdraw4(networks: Uint32Array, lengths: Uint8Array, from: number, to: number): number {
    let i = from;
    let count = 0;
    while (i < to) {
      const start = this.room();
      const buf = this.buf;
      const w = start + BGP_HEADER_LEN;
      let p = w + 2;
      const limit = start + this.maxLength - 2;
      while (i < to && p + nlriSize(lengths[i]!) <= limit) {
        p += writeNlri4(buf, p, networks[i]!, lengths[i]!);
        i++;
      }
      wr16(buf, w, p - w - 2);
      wr16(buf, p, 0);
      p += 2;
      writeHeader(buf, start, p - start, MSG_UPDATE);
      this.length = p;
      this.messages++;
      count++;
    }
    return count;
  }

  /** Withdraws IPv6 prefixes [from, to) in MP_UNREACH_NLRI (RFC 4760 §4). Returns the messages. */
  withdraw6(bytes: Uint8Array, lengths: Uint8Array, from: number, to: number): number {
    let i = from;
    let count = 0;
    while (i < to) {
      const start = this.room();
      const buf = this.buf;
      let p = start + BGP_HEADER_LEN;
      wr16(buf, p, 0);
      const attrLenAt = p + 2;
      p += 4;
      const mp = p;
      buf[p] = FLAG_OPTIONAL | FLAG_EXTENDED_LENGTH;
      buf[p + 1] = ATTR_MP_UNREACH_NLRI;
      wr16(buf, p + 4, AFI_IPV6);
      buf[p + 6] = SAFI_UNICAST;
      p += 7;
      const limit = start + this.maxLength;
      while (i < to && p + nlriSize(lengths[i]!) <= limit) {
        p += writeNlri6(buf, p, bytes, i * 16, lengths[i]!);
        i++;
      }
      wr16(buf, mp + 2, p - mp - 4);
      wr16(buf, attrLenAt, p - attrLenAt - 2);
      writeHeader(buf, start, p - start, MSG_UPDATE);
      this.length = p;
      this.messages++;
      count++;
    }
    return count;
  }

  /** End-of-RIB marker (RFC 4724 §2). */
  endOfRib(afi: number, safi: number): void {
    const start = this.room();
    const buf = this.buf;
    let p = start + BGP_HEADER_LEN;
    wr16(buf, p, 0);
    if (afi === AFI_IPV4 && safi === SAFI_UNICAST) {
      wr16(buf, p + 2, 0);
      p += 4;
    } else {
      wr16(buf, p + 2, 6);
      buf[p + 4] = FLAG_OPTIONAL;
      buf[p + 5] = ATTR_MP_UNREACH_NLRI;
      buf[p + 6] = 3;
      wr16(buf, p + 7, afi);
      buf[p + 9] = safi;
      p += 10;
    }
    writeHeader(buf, start, p - start, MSG_UPDATE);
    this.length = p;
    this.messages++;
  }
}
