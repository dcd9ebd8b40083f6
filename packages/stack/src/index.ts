export { DEFAULT_REASSEMBLY_LIMITS, Reassembler, type ReassemblyLimits } from './ipv4/reassembly.ts';
export { type ArpTimers, DEFAULT_ARP_TIMERS } from './neighbour/arp.ts';
export { NEIGHBOUR_STATE_NAMES, type NeighbourTimers } from './neighbour/cache.ts';
export type { RouteInfo, RouteProtocol, RouteType } from './routes.ts';
export * as errno from './sockapi/errno.ts';
export { errnoName } from './sockapi/errno.ts';
export { type RandomSource, SeededRandom } from './sockapi/random.ts';
export {
  EV_ERROR,
  EV_HANGUP,
  EV_READABLE,
  EV_WRITABLE,
  RecvMeta,
  type ShutdownHow,
  SOCKET_OPTIONS,
  type SocketInfo,
  type SocketOption,
  type SocketType,
} from './sockapi/types.ts';
export type { IpEnv } from './socket/ip-env.ts';
export {
  EPHEMERAL_FIRST,
  EPHEMERAL_LAST,
  type Membership,
  type OptionValue,
  SockAddr,
  SocketLayer,
  UDP_MAX_PAYLOAD,
} from './socket/layer.ts';
export {
  type ArpInfo,
  type CountersInfo,
  type IcmpEvent,
  type InterfaceAddress,
  type InterfaceInfo,
  type InterfaceSpec,
  Stack,
  type StackOptions,
  Stat,
} from './stack.ts';
export { TokenBucket } from './token-bucket.ts';
