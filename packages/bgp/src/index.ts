export {
  type Aggregator,
  type AsPathSegment,
  AttributeTable,
  asPathLength,
  attributesKey,
  EMPTY_ATTRIBUTES,
  type EncodeOptions,
  encodeAttributes,
  formatAsPath,
  makeAttributes,
  mergeAs4Path,
  type PathAttributes,
  type RawAttribute,
} from './attributes.ts';
export * from './constants.ts';
export {
  type Candidate,
  compareAddress,
  compareMed,
  comparePreference,
  compareRoutes,
  compareTieBreak,
  DEFAULT_LOCAL_PREF,
  LOCAL_SOURCE,
  neighbourAs,
  type RouteSource,
  selectBest,
} from './decision.ts';
export { BEFORE_OPEN, BgpDecoder, BgpMessage, type RouteRefresh } from './decoder.ts';
export { ENCODE_TOO_LARGE, type EncoderOptions, UpdateEncoder } from './encoder.ts';
export { type BgpConfig, BgpEngine, type BgpEngineOptions, type BgpShow } from './engine.ts';
export {
  Action,
  actionName,
  BGP_ERROR_COUNT,
  type BgpAction,
  BgpCounters,
  BgpError,
  type BgpErrorReason,
  bgpErrorName,
  type Notification,
} from './errors.ts';
export { type CompiledPrefixList, compilePolicies, compilePrefixList, prependAs } from './filter.ts';
export {
  checkHeader,
  encodeKeepalive,
  encodeNotification,
  encodeRouteRefresh,
  messageLength,
  shutdownCommunication,
  writeHeader,
} from './header.ts';
export { LocRib, type RibEntry } from './loc-rib.ts';
export {
  type AfiSafi,
  type Capabilities,
  decodeOpen,
  type ExtendedNextHop,
  encodeOpen,
  type GracefulRestart,
  type GracefulRestartFamily,
  type Negotiated,
  NO_CAPABILITIES,
  negotiate,
  type OpenMessage,
  type OpenResult,
  type OpenSpec,
  peerAsOf,
  type RawCapability,
} from './open.ts';
export {
  ACCEPT_ALL,
  type ImportedRoute,
  type Policy,
  type PolicyRoute,
  REJECT_ALL,
  type RouteSink,
} from './policy.ts';
export { decodeNlri4, decodeNlri6, Ipv4PrefixList, Ipv6PrefixList } from './prefixes.ts';
export * from './protocol.ts';
export type { BgpRouteShow, RouteFilter } from './route-show.ts';
export {
  type BgpPeerConfig,
  type BgpState,
  CEASE_ADMIN_RESET,
  CEASE_ADMIN_SHUTDOWN,
  CEASE_COLLISION,
  CEASE_MAX_PREFIXES,
  CEASE_OTHER_CONFIG_CHANGE,
  CEASE_PEER_DECONFIGURED,
  FSM_IN_ESTABLISHED,
  FSM_IN_OPENCONFIRM,
  FSM_IN_OPENSENT,
  type GracefulRestartConfig,
  type GracefulRestartShow,
  type PeerShow,
} from './session.ts';
export {
  ATTRIBUTE_DISCARD,
  malformedAction,
  Outcome,
  type SessionOptions,
  UpdateDecoder,
  UpdateMessage,
} from './update.ts';
