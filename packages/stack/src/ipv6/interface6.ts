import { solicitedNodeMulticast } from '@nexthop/addr';
import { ADDR_PREFERRED, ADDR_TENTATIVE, type AddrState, type DuplicateAddressDetector } from './dad.ts';
import type { RouterAdvertiser } from './router-advertiser.ts';

/**
 * The IPv6 side of the VR's interfaces: addresses with their DAD state (RFC 4862 §5.4), the
 * multicast groups joined (RFC 4291 §2.8), and the engines that run per interface (DAD, Router
 * Advertisements). Kept apart from the IPv4 `Interface` (interfaces.ts), indexed the same way.
 */

/** ff02::1, all nodes (RFC 4291 §2.7.1). */
export const ALL_NODES = new Uint8Array([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
/** ff02::2, all routers (RFC 4291 §2.7.1): a router joins it on every interface (§2.8). */
export const ALL_ROUTERS = new Uint8Array([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
export const UNSPECIFIED = new Uint8Array(16);

/** One IPv6 address of an interface. */
export class Address6 {
  readonly address: Uint8Array;
  readonly length: number;
  readonly linkLocal: boolean;
  /** The interface's own link-local address (RFC 4862 §5.3), not configured from outside. */
  readonly auto: boolean;
  /** RFC 7217 §6: DAD conflicts met so far for the automatic link-local address. */
  readonly dadCounter: number;
  state: AddrState = ADDR_TENTATIVE;

  constructor(address: Uint8Array, length: number, auto: boolean, dadCounter: number) {
    this.address = address.slice();
    this.length = length;
    this.linkLocal = address[0] === 0xfe && (address[1]! & 0xc0) === 0x80;
    this.auto = auto;
    this.dadCounter = dadCounter;
  }

  get usable(): boolean {
    return this.state === ADDR_PREFERRED;
  }
}

function sameAddress(a: Uint8Array, b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[off + i]) return false;
  return true;
}

/** Leading bits that a and b[off..] share (0..128). */
export function commonPrefixLength(a: Uint8Array, b: Uint8Array, off: number): number {
  for (let i = 0; i < 16; i++) {
    const x = a[i]! ^ b[off + i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return 128;
}

/** Whether addr[off..] lies in prefix/length. */
export function inPrefix(prefix: Uint8Array, length: number, addr: Uint8Array, off: number): boolean {
  return commonPrefixLength(prefix, addr, off) >= length;
}

export class Ipv6Interface {
  readonly index: number;
  /** Link-local addresses first (a configured one before the automatic one), then the others. */
  readonly addresses: Address6[] = [];
  /** Groups joined, with how many reasons each has to stay joined. */
  readonly groups: Uint8Array[] = [];
  private readonly groupRefs: number[] = [];
  readonly dad: DuplicateAddressDetector;
  ra: RouterAdvertiser | null = null;
  /** Addresses not preferred (tentative or duplicate): while 0, input need not look for them. */
  unusable = 0;
  /** When an MLDv2 report answering a query is due (RFC 3810 §6.2), or Infinity. */
  reportDue = Number.POSITIVE_INFINITY;
  /**
   * Until when an MLDv1 querier is known on the link (RFC 3810 §8.2.1, the Older Version Querier
   * Present timeout): till then the interface speaks MLDv1 (RFC 2710) reports and dones.
   */
  v1QuerierUntil = Number.NEGATIVE_INFINITY;

  constructor(index: number, dad: DuplicateAddressDetector) {
    this.index = index;
    this.dad = dad;
  }

  /** Our address at buf[off..], whatever its state, or null. */
  find(buf: Uint8Array, off: number): Address6 | null {
    for (const a of this.addresses) if (sameAddress(a.address, buf, off)) return a;
    return null;
  }

  /** The first preferred link-local address (what NDP, RAs and link-scoped answers speak from). */
  linkLocal(): Address6 | null {
    for (const a of this.addresses) if (a.linkLocal && a.usable) return a;
    return null;
  }

  /**
   * RFC 6724 §5 in its simple form, for what the router originates towards dst[off..] out of this
   * interface: a link-local destination (or link-scoped group) gets the link-local address (rule
   * 2, appropriate scope); any other a preferred global address of this interface, the one sharing
   * the longest prefix with it (rule 8). Null when there is none; the caller may look further
   * (another interface's global address, then this link-local one).
   */
  sourceFor(dst: Uint8Array, off: number): Uint8Array | null {
    if (
      (dst[off] === 0xfe && (dst[off + 1]! & 0xc0) === 0x80) ||
      (dst[off] === 0xff && (dst[off + 1]! & 0x0f) <= 2)
    )
      return this.linkLocal()?.address ?? null;
    let best: Address6 | null = null;
    let bestLength = -1;
    for (const a of this.addresses) {
      if (a.linkLocal || !a.usable) continue;
      const l = commonPrefixLength(a.address, dst, off);
      if (l > bestLength) {
        best = a;
        bestLength = l;
      }
    }
    return best?.address ?? null;
  }

  /** A preferred global address of this interface, or null. */
  global(): Uint8Array | null {
    for (const a of this.addresses) if (!a.linkLocal && a.usable) return a.address;
    return null;
  }

  /** Whether addr[off..] is on a link-local or configured prefix of this interface (a neighbour). */
  onLink(addr: Uint8Array, off: number): boolean {
    if (addr[off] === 0xfe && (addr[off + 1]! & 0xc0) === 0x80) return true;
    for (const a of this.addresses)
      if (!a.linkLocal && a.length < 128 && inPrefix(a.address, a.length, addr, off)) return true;
    return false;
  }

  joined(buf: Uint8Array, off: number): boolean {
    for (const g of this.groups) if (sameAddress(g, buf, off)) return true;
    return false;
  }

  /** Joins a group; true when it is new (an MLD report is due). */
  join(group: Uint8Array): boolean {
    for (let i = 0; i < this.groups.length; i++) {
      if (sameAddress(this.groups[i]!, group, 0)) {
        this.groupRefs[i]!++;
        return false;
      }
    }
    this.groups.push(group.slice());
    this.groupRefs.push(1);
    return true;
  }

  /** Leaves a group once; true when no reason to stay is left. */
  leave(group: Uint8Array): boolean {
    for (let i = 0; i < this.groups.length; i++) {
      if (!sameAddress(this.groups[i]!, group, 0)) continue;
      if (--this.groupRefs[i]! > 0) return false;
      this.groups.splice(i, 1);
      this.groupRefs.splice(i, 1);
      return true;
    }
    return false;
  }

  /** Inserts an address: link-local ones before the others, configured before automatic. */
  insert(a: Address6): void {
    let at = this.addresses.length;
    if (a.linkLocal) {
      at = 0;
      if (a.auto) while (at < this.addresses.length && this.addresses[at]!.linkLocal) at++;
    }
    this.addresses.splice(at, 0, a);
    if (!a.usable) this.unusable++;
  }

  remove(a: Address6): void {
    const i = this.addresses.indexOf(a);
    if (i < 0) return;
    this.addresses.splice(i, 1);
    if (!a.usable) this.unusable--;
  }

  setState(a: Address6, state: AddrState): void {
    if (a.usable) this.unusable++;
    a.state = state;
    if (a.usable) this.unusable--;
  }
}

/** The solicited-node group of an address (RFC 4291 §2.7.1), a new array. */
export function solicitedNode(address: Uint8Array): Uint8Array {
  return solicitedNodeMulticast(address, 0);
}
