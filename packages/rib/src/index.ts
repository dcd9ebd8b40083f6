export { type Family, IPV4, IPV6 } from './family.ts';
export { type AnyPrefix, Rib, type RibOptions } from './rib.ts';
export { RibTable, type RibTableOptions, stateKeyOf } from './rib-table.ts';
export { RouteSource, type SourceOptions } from './source.ts';
export {
  DEFAULT_DISTANCE,
  type FibTableWriter,
  type FibWriter,
  type GroupState,
  type NextHop,
  type NextHopInfo,
  type ResolvedHop,
  type RibCounters,
  type RouteInfo,
  type RouteInput,
  type SourceKind,
  UNUSABLE_DISTANCE,
} from './types.ts';
