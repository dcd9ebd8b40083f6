// RFC 4861 §6.2.7: a router checks the Router Advertisements other routers send on a link it
// advertises on, and reports what disagrees with its own — "to detect misconfiguration". Values a
// router leaves unspecified (0) are not compared; neither are lifetimes that count down in real
// time (this VR's never do, so a difference there is a difference of configuration).
import { formatIpv6 } from '@nexthop/addr';
import {
  NDP_OPT_MTU,
  NDP_OPT_PREFIX_INFORMATION,
  NDP_PREFIX_OPTION_LEN,
  type NdpMessage,
  NdpOptionCursor,
  rd32,
} from '@nexthop/wire';
import type { RaConfig } from './router-advertiser.ts';

const NONE: readonly string[] = [];

/** What `m` (an RA from another router, options in buf) says differently from `ours`; empty when nothing. */
export function raInconsistencies(ours: RaConfig, m: NdpMessage, buf: Uint8Array): readonly string[] {
  let out: string[] | null = null;
  const differs = (what: string, theirs: number | boolean, mine: number | boolean): void => {
    if (out === null) out = [];
    out.push(`${what} ${String(theirs)} (ours ${String(mine)})`);
  };
  if (m.curHopLimit !== 0 && ours.curHopLimit !== 0 && m.curHopLimit !== ours.curHopLimit)
    differs('cur hop limit', m.curHopLimit, ours.curHopLimit);
  if (m.managed !== ours.managed) differs('managed flag', m.managed, ours.managed);
  if (m.other !== ours.otherConfig) differs('other-config flag', m.other, ours.otherConfig);
  if (m.reachableTime !== 0 && ours.reachableTimeMs !== 0 && m.reachableTime !== ours.reachableTimeMs)
    differs('reachable time', m.reachableTime, ours.reachableTimeMs);
  if (m.retransTimer !== 0 && ours.retransTimerMs !== 0 && m.retransTimer !== ours.retransTimerMs)
    differs('retrans timer', m.retransTimer, ours.retransTimerMs);
  const c = CURSOR;
  c.begin(buf, m.optionsOffset, m.optionsLength);
  while (c.next()) {
    if (!c.wellFormed) continue;
    if (c.type === NDP_OPT_MTU) {
      const mtu = rd32(buf, c.offset + 4);
      if (ours.linkMtu !== 0 && mtu !== ours.linkMtu) differs('MTU', mtu, ours.linkMtu);
    } else if (c.type === NDP_OPT_PREFIX_INFORMATION && c.length === NDP_PREFIX_OPTION_LEN) {
      const p = ourPrefix(ours, buf, c.offset);
      if (p === null) continue;
      const valid = rd32(buf, c.offset + 4);
      const preferred = rd32(buf, c.offset + 8);
      if (valid !== p.validLifetimeS)
        differs(`valid lifetime of ${describe(buf, c.offset)}`, valid, p.validLifetimeS);
      if (preferred !== p.preferredLifetimeS)
        differs(`preferred lifetime of ${describe(buf, c.offset)}`, preferred, p.preferredLifetimeS);
    }
  }
  return out ?? NONE;
}

const CURSOR = new NdpOptionCursor();

/** The prefix of ours the Prefix Information option at buf[off..] names (same length and bits). */
function ourPrefix(ours: RaConfig, buf: Uint8Array, off: number): RaConfig['prefixes'][number] | null {
  const length = buf[off + 2]!;
  for (const p of ours.prefixes) {
    if (p.length !== length) continue;
    let same = true;
    for (let i = 0; i < 16 && same; i++) same = p.prefix[i] === buf[off + 16 + i];
    if (same) return p;
  }
  return null;
}

function describe(buf: Uint8Array, off: number): string {
  return `${formatIpv6(buf, off + 16)}/${buf[off + 2]}`;
}
