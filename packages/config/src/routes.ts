import { formatIpv4 } from '@nexthop/addr';
import type { RouteConfig } from './types.ts';

/**
 * What identifies a configured route: two routes with the same key are the same route (nexthopd's
 * diff and the VR's in-place apply must agree on this).
 */
export function routeKey(r: RouteConfig): string {
  return `${r.prefix.network}/${r.prefix.length} ${r.kind} ${r.via ?? '-'} ${r.interface ?? '-'} ${r.distance}`;
}

/** `10.99.0.0/16 via 10.2.0.2 dev eth1 distance 5`, in normalized form. */
export function describeRoute(r: RouteConfig): string {
  let text = `${formatIpv4(r.prefix.network)}/${r.prefix.length}`;
  if (r.kind === 'blackhole' || r.kind === 'reject') text += ` ${r.kind}`;
  if (r.via !== undefined) text += ` via ${formatIpv4(r.via)}`;
  if (r.interface !== undefined) text += ` dev ${r.interface}`;
  if (r.distance !== 1) text += ` distance ${r.distance}`;
  return text;
}
