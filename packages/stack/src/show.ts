import { formatIpv4, formatMac } from '@nexthop/addr';
import { DROP_REASON_COUNT, dropReasonName } from '@nexthop/wire';
import { type Counters, STAT_NAMES } from './counters.ts';
import {
  IF_RX_BYTES,
  IF_RX_DROPS,
  IF_RX_FRAMES,
  IF_TX_BYTES,
  IF_TX_FRAMES,
  type Interface,
} from './interfaces.ts';
import type { Address6Info } from './ipv6/control.ts';
import { NEIGHBOUR_STATE_NAMES, type NeighbourCache, NUD_INCOMPLETE } from './neighbour/cache.ts';

// What `show` prints, built from the stack's state on request; nothing here runs per packet.

export interface InterfaceInfo {
  index: number;
  name: string;
  mac: string;
  mtu: number;
  up: boolean;
  addresses: string[];
  /** IPv6 addresses with their DAD state (RFC 4862 §5.4), link-local first. */
  addresses6: Address6Info[];
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  rxDrops: number;
}

export interface ArpInfo {
  address: string;
  interface: string;
  mac: string | null;
  state: string;
  queued: number;
  ageMs: number;
}

export interface CountersInfo {
  stats: Record<string, number>;
  drops: Record<string, number>;
}

/** The live interfaces (removed ones are left out), in index order. */
export function showInterfaces(
  ifaces: readonly Interface[],
  addresses6: (ifIndex: number) => Address6Info[],
): InterfaceInfo[] {
  return ifaces
    .filter((i) => !i.removed)
    .map((i) => ({
      index: i.index,
      name: i.name,
      mac: formatMac(i.mac),
      mtu: i.mtu,
      up: i.up,
      addresses: i.addresses.map((a) => `${formatIpv4(a.address)}/${a.length}`),
      addresses6: addresses6(i.index),
      rxFrames: i.counters[IF_RX_FRAMES]!,
      rxBytes: i.counters[IF_RX_BYTES]!,
      txFrames: i.counters[IF_TX_FRAMES]!,
      txBytes: i.counters[IF_TX_BYTES]!,
      rxDrops: i.counters[IF_RX_DROPS]!,
    }));
}

/** The ARP table (keyed by `ip | 0`), by interface name and then address. */
export function showArp(
  neighbours: NeighbourCache<number>,
  ifaces: readonly Interface[],
  now: number,
): ArpInfo[] {
  const out: { ip: number; info: ArpInfo }[] = [];
  for (const e of neighbours.entries()) {
    const incomplete = e.state === NUD_INCOMPLETE;
    out.push({
      ip: e.address >>> 0,
      info: {
        address: formatIpv4(e.address >>> 0),
        interface: ifaces[e.ifIndex]!.name,
        mac: incomplete ? null : formatMac(e.linkAddress),
        state: NEIGHBOUR_STATE_NAMES[e.state]!,
        queued: e.queue.length,
        ageMs: incomplete ? 0 : now - e.updatedAt,
      },
    });
  }
  out.sort((a, b) =>
    a.info.interface === b.info.interface ? a.ip - b.ip : a.info.interface < b.info.interface ? -1 : 1,
  );
  return out.map((x) => x.info);
}

/** Every stat and drop reason by name, with `extra` gauges among the stats. */
export function showCounters(counters: Counters, extra: Record<string, number>): CountersInfo {
  const stats: Record<string, number> = {};
  STAT_NAMES.forEach((name, i) => {
    stats[name] = counters.stats[i]!;
  });
  Object.assign(stats, extra);
  const drops: Record<string, number> = {};
  for (let r = 1; r < DROP_REASON_COUNT; r++) drops[dropReasonName(r)] = counters.drops[r]!;
  return { stats, drops };
}
