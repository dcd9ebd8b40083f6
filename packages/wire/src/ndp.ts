import { copyBytes, rd16, rd32, wr16, wr32 } from './bytes.ts';
import { Drop } from './drop.ts';
import {
  ICMPV6_NEIGHBOR_ADVERTISEMENT,
  ICMPV6_NEIGHBOR_SOLICITATION,
  ICMPV6_REDIRECT,
  ICMPV6_ROUTER_ADVERTISEMENT,
  ICMPV6_ROUTER_SOLICITATION,
} from './icmpv6.ts';
import type { Ipv6Header } from './ipv6.ts';

/** Neighbor Discovery (RFC 4861). Messages are ICMPv6 messages whose checksum decodeIcmpv6 checked. */
export const NDP_HOP_LIMIT = 255;
export const RS_LEN = 8;
export const RA_LEN = 16;
export const NS_LEN = 24;
export const NA_LEN = 24;
export const REDIRECT_LEN = 40;

/** Router Advertisement flags (RFC 4861 §4.2; the preference bits are RFC 4191 §2.2's). */
export const RA_FLAG_MANAGED = 0x80;
export const RA_FLAG_OTHER = 0x40;
export const RA_PREFERENCE_MASK = 0x18;
/** Neighbor Advertisement flags, the first byte of the reserved word (RFC 4861 §4.4). */
export const NA_FLAG_ROUTER = 0x80;
export const NA_FLAG_SOLICITED = 0x40;
export const NA_FLAG_OVERRIDE = 0x20;
/** Prefix Information flags (RFC 4861 §4.6.2). */
export const PREFIX_FLAG_ON_LINK = 0x80;
export const PREFIX_FLAG_AUTONOMOUS = 0x40;

/** Option types (RFC 4861 §4.6, RFC 8106 §5.1, RFC 3971 §5.3.2). */
export const NDP_OPT_SOURCE_LINK_ADDRESS = 1;
export const NDP_OPT_TARGET_LINK_ADDRESS = 2;
export const NDP_OPT_PREFIX_INFORMATION = 3;
export const NDP_OPT_REDIRECTED_HEADER = 4;
export const NDP_OPT_MTU = 5;
export const NDP_OPT_NONCE = 14;
export const NDP_OPT_RDNSS = 25;
/** Option lengths in bytes for Ethernet (the Length field counts 8-byte units). */
export const NDP_LINK_ADDRESS_OPTION_LEN = 8;
export const NDP_PREFIX_OPTION_LEN = 32;
export const NDP_MTU_OPTION_LEN = 8;

/** Caller-owned scratch, filled by decodeNdp. Offsets are absolute in the buffer; -1 when absent. */
export class NdpMessage {
  type = 0;
  /** Router Advertisement fields (RFC 4861 §4.2): 0 unless type is 134. */
  curHopLimit = 0;
  raFlags = 0;
  routerLifetime = 0;
  reachableTime = 0;
  retransTimer = 0;
  /** Neighbor Advertisement flags R, S, O (RFC 4861 §4.4). */
  naFlags = 0;
  /** Target address (NS, NA, Redirect) and Destination address (Redirect). */
  targetOffset = -1;
  destinationOffset = -1;
  optionsOffset = 0;
  optionsLength = 0;
  /** The 6-byte address of the first source / target link-layer address option of Ethernet's size. */
  sourceLinkAddressOffset = -1;
  targetLinkAddressOffset = -1;
  /** The MTU option's value (RFC 4861 §4.6.4), or -1. */
  mtu = -1;
  /** The packet quoted by a Redirected Header option (RFC 4861 §4.6.3). */
  redirectedOffset = -1;
  redirectedLength = 0;
  /** A Nonce option (RFC 3971 §5.3.2; DAD loop detection, RFC 7527). */
  nonceOffset = -1;
  nonceLength = 0;
  /** How many Prefix Information and RDNSS options there are; NdpOptionCursor walks them. */
  prefixCount = 0;
  rdnssCount = 0;

  get managed(): boolean {
    return (this.raFlags & RA_FLAG_MANAGED) !== 0;
  }
  get other(): boolean {
    return (this.raFlags & RA_FLAG_OTHER) !== 0;
  }
  get router(): boolean {
    return (this.naFlags & NA_FLAG_ROUTER) !== 0;
  }
  get solicited(): boolean {
    return (this.naFlags & NA_FLAG_SOLICITED) !== 0;
  }
  get override(): boolean {
    return (this.naFlags & NA_FLAG_OVERRIDE) !== 0;
  }
}

function isUnspecified(buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (buf[off + i] !== 0) return false;
  return true;
}

function isLinkLocal(buf: Uint8Array, off: number): boolean {
  return buf[off] === 0xfe && (buf[off + 1]! & 0xc0) === 0x80;
}

/** ff02::1:ff00:0/104 (RFC 4291 §2.7.1). */
function isSolicitedNode(buf: Uint8Array, off: number): boolean {
  if (buf[off] !== 0xff || buf[off + 1] !== 0x02) return false;
  for (let i = 2; i < 11; i++) if (buf[off + i] !== 0) return false;
  return buf[off + 11] === 0x01 && buf[off + 12] === 0xff;
}

function clear(out: NdpMessage): void {
  out.curHopLimit = 0;
  out.raFlags = 0;
  out.routerLifetime = 0;
  out.reachableTime = 0;
  out.retransTimer = 0;
  out.naFlags = 0;
  out.targetOffset = -1;
  out.destinationOffset = -1;
  out.sourceLinkAddressOffset = -1;
  out.targetLinkAddressOffset = -1;
  out.mtu = -1;
  out.redirectedOffset = -1;
  out.redirectedLength = 0;
  out.nonceOffset = -1;
  out.nonceLength = 0;
  out.prefixCount = 0;
  out.rdnssCount = 0;
}

/**
 * Validates and decodes the Neighbor Discovery message at buf[off, off+len) (an ICMPv6 message of
 * type 133–137 whose checksum is already verified) as RFC 4861 asks of a receiver: §6.1.1 (RS),
 * §6.1.2 (RA), §7.1.1 (NS), §7.1.2 (NA), §8.1 (Redirect). `ip` is the decoded header of the same
 * packet: its hop limit and addresses (read from buf) are part of the checks. Every option must have
 * a non-zero length and end inside the message (§4.6); options nobody knows are skipped. Returns
 * 0, or a Drop reason.
 */
export function decodeNdp(
  buf: Uint8Array,
  off: number,
  len: number,
  ip: Ipv6Header,
  out: NdpMessage,
): number {
  const type = len > 0 ? buf[off]! : 0;
  let fixed: number;
  if (type === ICMPV6_ROUTER_SOLICITATION) fixed = RS_LEN;
  else if (type === ICMPV6_ROUTER_ADVERTISEMENT) fixed = RA_LEN;
  else if (type === ICMPV6_NEIGHBOR_SOLICITATION) fixed = NS_LEN;
  else if (type === ICMPV6_NEIGHBOR_ADVERTISEMENT) fixed = NA_LEN;
  else if (type === ICMPV6_REDIRECT) fixed = REDIRECT_LEN;
  else return len < 2 ? Drop.NDP_TRUNCATED : Drop.NDP_UNKNOWN_TYPE;
  // A router that forwarded the message would have decremented 255: the sender is on the link.
  if (ip.hopLimit !== NDP_HOP_LIMIT) return Drop.NDP_BAD_HOP_LIMIT;
  if (len < 2) return Drop.NDP_TRUNCATED;
  if (buf[off + 1] !== 0) return Drop.NDP_BAD_CODE;
  if (len < fixed) return Drop.NDP_TRUNCATED;
  clear(out);
  out.type = type;
  out.optionsOffset = off + fixed;
  out.optionsLength = len - fixed;

  // §4.6: every option at least 8 bytes, none running past the end. Remember the single ones.
  const end = off + len;
  for (let p = off + fixed; p < end; ) {
    if (p + 2 > end) return Drop.NDP_BAD_OPTION_LENGTH;
    const optLen = buf[p + 1]! * 8;
    if (optLen === 0 || p + optLen > end) return Drop.NDP_BAD_OPTION_LENGTH;
    const optType = buf[p]!;
    if (optType === NDP_OPT_SOURCE_LINK_ADDRESS) {
      if (optLen === NDP_LINK_ADDRESS_OPTION_LEN && out.sourceLinkAddressOffset < 0) {
        out.sourceLinkAddressOffset = p + 2;
      }
    } else if (optType === NDP_OPT_TARGET_LINK_ADDRESS) {
      if (optLen === NDP_LINK_ADDRESS_OPTION_LEN && out.targetLinkAddressOffset < 0) {
        out.targetLinkAddressOffset = p + 2;
      }
    } else if (optType === NDP_OPT_MTU) {
      if (optLen === NDP_MTU_OPTION_LEN && out.mtu < 0) out.mtu = rd32(buf, p + 4);
    } else if (optType === NDP_OPT_REDIRECTED_HEADER) {
      if (out.redirectedOffset < 0) {
        out.redirectedOffset = p + 8;
        out.redirectedLength = optLen - 8;
      }
    } else if (optType === NDP_OPT_NONCE) {
      if (out.nonceOffset < 0) {
        out.nonceOffset = p + 2;
        out.nonceLength = optLen - 2;
      }
    } else if (optType === NDP_OPT_PREFIX_INFORMATION) {
      out.prefixCount++;
    } else if (optType === NDP_OPT_RDNSS) {
      out.rdnssCount++;
    }
    p += optLen;
  }

  const unspecifiedSource = isUnspecified(buf, ip.srcOffset);
  switch (type) {
    case ICMPV6_ROUTER_SOLICITATION:
      // §6.1.1: a solicitation from :: carries no source link-layer address.
      if (unspecifiedSource && out.sourceLinkAddressOffset >= 0) return Drop.NDP_BAD_SOURCE;
      break;
    case ICMPV6_ROUTER_ADVERTISEMENT:
      // §6.1.2: routers speak from their link-local address.
      if (!isLinkLocal(buf, ip.srcOffset)) return Drop.NDP_BAD_SOURCE;
      out.curHopLimit = buf[off + 4]!;
      out.raFlags = buf[off + 5]!;
      out.routerLifetime = rd16(buf, off + 6);
      out.reachableTime = rd32(buf, off + 8);
      out.retransTimer = rd32(buf, off + 12);
      break;
    case ICMPV6_NEIGHBOR_SOLICITATION:
      // §7.1.1: a multicast target is meaningless; DAD probes (from ::) go to a solicited-node
      // group and carry no source link-layer address.
      if (buf[off + 8] === 0xff) return Drop.NDP_BAD_TARGET;
      if (unspecifiedSource) {
        if (!isSolicitedNode(buf, ip.dstOffset)) return Drop.NDP_BAD_DESTINATION;
        if (out.sourceLinkAddressOffset >= 0) return Drop.NDP_BAD_SOURCE;
      }
      out.targetOffset = off + 8;
      break;
    case ICMPV6_NEIGHBOR_ADVERTISEMENT:
      // §7.1.2: a multicast target is meaningless, and a multicast answer cannot be solicited.
      if (buf[off + 8] === 0xff) return Drop.NDP_BAD_TARGET;
      out.naFlags = buf[off + 4]! & (NA_FLAG_ROUTER | NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE);
      if (buf[ip.dstOffset] === 0xff && (out.naFlags & NA_FLAG_SOLICITED) !== 0)
        return Drop.NDP_BAD_DESTINATION;
      out.targetOffset = off + 8;
      break;
    default: {
      // §8.1 (Redirect): from the first-hop router's link-local address, about a unicast
      // destination, naming a link-local router or the destination itself (on-link).
      if (!isLinkLocal(buf, ip.srcOffset)) return Drop.NDP_BAD_SOURCE;
      if (buf[off + 24] === 0xff) return Drop.NDP_BAD_DESTINATION;
      let same = true;
      for (let i = 0; i < 16; i++) if (buf[off + 8 + i] !== buf[off + 24 + i]) same = false;
      if (!same && !isLinkLocal(buf, off + 8)) return Drop.NDP_BAD_TARGET;
      out.targetOffset = off + 8;
      out.destinationOffset = off + 24;
    }
  }
  return 0;
}

/**
 * Walks the options of a decoded NDP message without allocating: `begin`, then `next()` until it
 * returns false; each step fills `type`, `offset` (absolute, of the type byte) and `length` (bytes).
 * The accessors read the fields of the current option from the buffer (RFC 4861 §4.6, RFC 8106
 * §5.1); check `wellFormed` before using them. Stops at a zero or overlong length, so it is safe
 * on undecoded bytes too.
 */
export class NdpOptionCursor {
  type = 0;
  offset = 0;
  length = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private at = 0;
  private end = 0;

  /** Starts at the options of a message decoded by decodeNdp (or at any buf[off, off+len)). */
  begin(buf: Uint8Array, off: number, len: number): void {
    this.buf = buf;
    this.at = off;
    this.end = off + len;
    this.type = 0;
    this.offset = off;
    this.length = 0;
  }

  next(): boolean {
    const p = this.at;
    if (p + 2 > this.end) return false;
    const optLen = this.buf[p + 1]! * 8;
    if (optLen === 0 || p + optLen > this.end) return false;
    this.type = this.buf[p]!;
    this.offset = p;
    this.length = optLen;
    this.at = p + optLen;
    return true;
  }

  /** The current option has the length its type requires (an option of the wrong size is ignored). */
  get wellFormed(): boolean {
    switch (this.type) {
      case NDP_OPT_SOURCE_LINK_ADDRESS:
      case NDP_OPT_TARGET_LINK_ADDRESS:
        return this.length === NDP_LINK_ADDRESS_OPTION_LEN;
      case NDP_OPT_PREFIX_INFORMATION:
        return this.length === NDP_PREFIX_OPTION_LEN;
      case NDP_OPT_MTU:
        return this.length === NDP_MTU_OPTION_LEN;
      case NDP_OPT_RDNSS:
        // RFC 8106 §5.1: 8 bytes and then one or more addresses of 16 (Length 3, 5, 7, ...).
        return this.length >= 24 && ((this.length - 8) & 15) === 0;
      default:
        return true;
    }
  }

  /** Source / target link-layer address options: absolute offset of the 6-byte address. */
  get linkAddressOffset(): number {
    return this.offset + 2;
  }
  /** Prefix Information (RFC 4861 §4.6.2). */
  get prefixLength(): number {
    return this.buf[this.offset + 2]!;
  }
  get prefixFlags(): number {
    return this.buf[this.offset + 3]!;
  }
  get validLifetime(): number {
    return rd32(this.buf, this.offset + 4);
  }
  get preferredLifetime(): number {
    return rd32(this.buf, this.offset + 8);
  }
  get prefixOffset(): number {
    return this.offset + 16;
  }
  /** MTU (RFC 4861 §4.6.4). */
  get mtu(): number {
    return rd32(this.buf, this.offset + 4);
  }
  /** RDNSS (RFC 8106 §5.1): lifetime in seconds, and the addresses at addressOffset(i). */
  get rdnssLifetime(): number {
    return rd32(this.buf, this.offset + 4);
  }
  get rdnssCount(): number {
    return (this.length - 8) >>> 4;
  }
  rdnssAddressOffset(i: number): number {
    return this.offset + 8 + 16 * i;
  }
  /** Redirected Header (RFC 4861 §4.6.3): the quoted packet. */
  get dataOffset(): number {
    return this.offset + 8;
  }
  get dataLength(): number {
    return this.length - 8;
  }
}

// Writers. Each writes its fixed part with a zero checksum and returns its length; options follow
// with the write*Option functions, and setIcmpv6Checksum finishes the message once it is whole.

/** Router Solicitation (RFC 4861 §4.1). */
export function writeRouterSolicitation(buf: Uint8Array, off: number): number {
  buf[off] = ICMPV6_ROUTER_SOLICITATION;
  buf[off + 1] = 0;
  wr16(buf, off + 2, 0);
  wr32(buf, off + 4, 0);
  return RS_LEN;
}

/**
 * Router Advertisement (RFC 4861 §4.2): current hop limit for hosts (0: unspecified), M/O flags,
 * router lifetime in seconds (0: not a default router), reachable time and retransmission timer
 * in milliseconds (0: unspecified).
 */
export function writeRouterAdvertisement(
  buf: Uint8Array,
  off: number,
  curHopLimit: number,
  flags: number,
  routerLifetime: number,
  reachableTime: number,
  retransTimer: number,
): number {
  buf[off] = ICMPV6_ROUTER_ADVERTISEMENT;
  buf[off + 1] = 0;
  wr16(buf, off + 2, 0);
  buf[off + 4] = curHopLimit;
  buf[off + 5] = flags;
  wr16(buf, off + 6, routerLifetime);
  wr32(buf, off + 8, reachableTime);
  wr32(buf, off + 12, retransTimer);
  return RA_LEN;
}

/** Neighbor Solicitation (RFC 4861 §4.3) for the target at target[targetOff..]. */
export function writeNeighborSolicitation(
  buf: Uint8Array,
  off: number,
  target: Uint8Array,
  targetOff: number,
): number {
  buf[off] = ICMPV6_NEIGHBOR_SOLICITATION;
  buf[off + 1] = 0;
  wr16(buf, off + 2, 0);
  wr32(buf, off + 4, 0);
  copyBytes(target, targetOff, buf, off + 8, 16);
  return NS_LEN;
}

/** Neighbor Advertisement (RFC 4861 §4.4) with flags NA_FLAG_ROUTER | NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE. */
export function writeNeighborAdvertisement(
  buf: Uint8Array,
  off: number,
  flags: number,
  target: Uint8Array,
  targetOff: number,
): number {
  buf[off] = ICMPV6_NEIGHBOR_ADVERTISEMENT;
  buf[off + 1] = 0;
  wr16(buf, off + 2, 0);
  wr32(buf, off + 4, 0);
  buf[off + 4] = flags & (NA_FLAG_ROUTER | NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE);
  copyBytes(target, targetOff, buf, off + 8, 16);
  return NA_LEN;
}

/** Redirect (RFC 4861 §4.5): `destination` is better reached through `target`. */
export function writeRedirect(
  buf: Uint8Array,
  off: number,
  target: Uint8Array,
  targetOff: number,
  destination: Uint8Array,
  destinationOff: number,
): number {
  buf[off] = ICMPV6_REDIRECT;
  buf[off + 1] = 0;
  wr16(buf, off + 2, 0);
  wr32(buf, off + 4, 0);
  copyBytes(target, targetOff, buf, off + 8, 16);
  copyBytes(destination, destinationOff, buf, off + 24, 16);
  return REDIRECT_LEN;
}

/** Source (1) or target (2) link-layer address option for a 6-byte MAC (RFC 4861 §4.6.1, RFC 2464 §6). */
export function writeLinkAddressOption(
  buf: Uint8Array,
  off: number,
  type: number,
  mac: Uint8Array,
  macOff: number,
): number {
  buf[off] = type;
  buf[off + 1] = 1;
  for (let i = 0; i < 6; i++) buf[off + 2 + i] = mac[macOff + i]!;
  return NDP_LINK_ADDRESS_OPTION_LEN;
}

/**
 * Prefix Information option (RFC 4861 §4.6.2): lifetimes in seconds (0xffffffff: infinity), flags
 * PREFIX_FLAG_ON_LINK | PREFIX_FLAG_AUTONOMOUS. The bits of the prefix beyond its length are sent
 * as zero, as the RFC asks.
 */
export function writePrefixInformationOption(
  buf: Uint8Array,
  off: number,
  prefixLength: number,
  flags: number,
  validLifetime: number,
  preferredLifetime: number,
  prefix: Uint8Array,
  prefixOff: number,
): number {
  buf[off] = NDP_OPT_PREFIX_INFORMATION;
  buf[off + 1] = 4;
  buf[off + 2] = prefixLength;
  buf[off + 3] = flags;
  wr32(buf, off + 4, validLifetime);
  wr32(buf, off + 8, preferredLifetime);
  wr32(buf, off + 12, 0);
  for (let i = 0; i < 16; i++) {
    const keep = prefixLength - 8 * i;
    const mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    buf[off + 16 + i] = prefix[prefixOff + i]! & mask;
  }
  return NDP_PREFIX_OPTION_LEN;
}

/** MTU option (RFC 4861 §4.6.4). */
export function writeMtuOption(buf: Uint8Array, off: number, mtu: number): number {
  buf[off] = NDP_OPT_MTU;
  buf[off + 1] = 1;
  wr16(buf, off + 2, 0);
  wr32(buf, off + 4, mtu);
  return NDP_MTU_OPTION_LEN;
}

/**
 * Recursive DNS Server option (RFC 8106 §5.1): `count` addresses of 16 bytes at
 * addresses[addressesOff..], lifetime in seconds. Returns 8 + 16 × count.
 */
export function writeRdnssOption(
  buf: Uint8Array,
  off: number,
  lifetime: number,
  addresses: Uint8Array,
  addressesOff: number,
  count: number,
): number {
  const len = 8 + 16 * count;
  buf[off] = NDP_OPT_RDNSS;
  buf[off + 1] = len / 8;
  wr16(buf, off + 2, 0);
  wr32(buf, off + 4, lifetime);
  copyBytes(addresses, addressesOff, buf, off + 8, 16 * count);
  return len;
}

/**
 * Redirected Header option (RFC 4861 §4.6.3) quoting packet[packetOff, packetOff+packetLen) cut so
 * that the option takes at most `room` bytes and stays a multiple of 8 (the tail is dropped, as
 * Linux does, rather than padded). `room` is what the redirect may still grow by without passing
 * the minimum MTU. Returns the option's length, or 0 when not even 8 bytes of packet fit.
 */
export function writeRedirectedHeaderOption(
  buf: Uint8Array,
  off: number,
  packet: Uint8Array,
  packetOff: number,
  packetLen: number,
  room: number,
): number {
  const len = Math.min(room, packetLen + 8) & ~7;
  if (len < 16) return 0;
  copyBytes(packet, packetOff, buf, off + 8, len - 8);
  buf[off] = NDP_OPT_REDIRECTED_HEADER;
  buf[off + 1] = len / 8;
  for (let i = 2; i < 8; i++) buf[off + i] = 0;
  return len;
}
