import { ipv4Mask } from '@nexthop/addr';

export interface InterfaceSpec {
  name: string;
  mac: Uint8Array;
  mtu: number;
  up?: boolean;
  /**
   * Largest TCP aggregate (IP bytes) the link takes whole, to cut into segments itself
   * (Link.maxSegmentOffload); 0 or absent when it cannot. Forwarded aggregates then pass through,
   * and TCP builds aggregates of several MSS towards it.
   */
  maxSegmentOffload?: number;
}

export interface InterfaceAddress {
  address: number;
  length: number;
}

/** Per-interface counter slots. */
export const IF_RX_FRAMES = 0;
export const IF_RX_BYTES = 1;
export const IF_TX_FRAMES = 2;
export const IF_TX_BYTES = 3;
export const IF_RX_DROPS = 4;
const IF_COUNTERS = 5;

/** One link of the VR as the stack sees it: MAC, MTU, state, IPv4 addresses and counters. */
export class Interface {
  readonly index: number;
  readonly name: string;
  readonly mac: Uint8Array;
  mtu: number;
  up: boolean;
  readonly maxSegmentOffload: number;
  addresses: InterfaceAddress[] = [];
  /** A removed interface stays as a tombstone (down, no addresses) so that indexes never move. */
  removed = false;
  readonly counters = new Float64Array(IF_COUNTERS);

  constructor(index: number, spec: InterfaceSpec) {
    this.index = index;
    this.name = spec.name;
    this.mac = Uint8Array.from(spec.mac);
    this.mtu = spec.mtu;
    this.up = spec.up ?? true;
    this.maxSegmentOffload = spec.maxSegmentOffload ?? 0;
  }

  /** The address to speak from towards `peer`: one on the same subnet if any, else the first. */
  sourceFor(peer: number): number {
    for (const a of this.addresses) {
      const mask = ipv4Mask(a.length);
      if (((a.address ^ peer) & mask) === 0) return a.address;
    }
    return this.addresses.length > 0 ? this.addresses[0]!.address : 0;
  }

  /** Whether `addr` lies in one of the interface's subnets. */
  onSubnet(addr: number): boolean {
    for (const a of this.addresses) if (((a.address ^ addr) & ipv4Mask(a.length)) === 0) return true;
    return false;
  }

  owns(addr: number): boolean {
    for (const a of this.addresses) if (a.address === addr) return true;
    return false;
  }
}

/**
 * The VR's interfaces by index, and the address questions asked of them. Indexes are never reused
 * (a removed interface stays as a tombstone), so the receive path indexes `list` without a check.
 */
export class InterfaceTable {
  readonly list: Interface[] = [];
  /** Directed broadcast addresses of the connected subnets: delivered locally, never forwarded. */
  readonly broadcasts = new Set<number>();

  add(spec: InterfaceSpec): number {
    if (this.indexOf(spec.name) >= 0) throw new Error(`interface ${spec.name} exists`);
    const index = this.list.length;
    this.list.push(new Interface(index, spec));
    return index;
  }

  /** The interface at `ifIndex`; a programmer's error (thrown) when there is none. */
  get(ifIndex: number): Interface {
    const ifc = this.list[ifIndex];
    if (ifc === undefined) throw new RangeError(`no interface ${ifIndex}`);
    return ifc;
  }

  /** Index of the live interface with this name, or -1. */
  indexOf(name: string): number {
    return this.list.findIndex((i) => i.name === name && !i.removed);
  }

  name(ifIndex: number): string | null {
    return this.list[ifIndex]?.name ?? null;
  }

  isLocalAddress(addr: number): boolean {
    return this.interfaceOfAddress(addr) >= 0;
  }

  /** The interface that has this address, -1 if none does. */
  interfaceOfAddress(addr: number): number {
    for (const ifc of this.list) if (ifc.owns(addr)) return ifc.index;
    return -1;
  }

  /** The up interface whose connected subnet holds `addr`, or -1 (resolves static gateways). */
  connectedInterface(addr: number): number {
    for (const ifc of this.list) if (ifc.up && ifc.onSubnet(addr)) return ifc.index;
    return -1;
  }

  /** The interface (only `oif` when >= 0) with a subnet whose broadcast address is `dst`, or -1. */
  broadcastInterface(dst: number, oif: number): number {
    for (const ifc of this.list) {
      if (oif >= 0 && ifc.index !== oif) continue;
      for (const a of ifc.addresses) {
        if (a.length <= 30 && ((a.address & ipv4Mask(a.length)) | ~ipv4Mask(a.length)) >>> 0 === dst)
          return ifc.index;
      }
    }
    return -1;
  }
}
