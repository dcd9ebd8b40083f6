export { DEFAULT_REASSEMBLY_LIMITS, Reassembler, type ReassemblyLimits } from './ipv4/reassembly.ts';
export {
  ADDR_DUPLICATE,
  ADDR_PREFERRED,
  ADDR_STATE_NAMES,
  ADDR_TENTATIVE,
  type AddrState,
  type DadSink,
  DuplicateAddressDetector,
} from './ipv6/dad.ts';
export { DEFAULT_REASSEMBLY6_LIMITS, Reassembler6, type Reassembly6Limits } from './ipv6/reassembly.ts';
export {
  checkRaConfig,
  defaultRaConfig,
  type RaConfig,
  type RaPrefix,
  type RaSink,
  RouterAdvertiser,
} from './ipv6/router-advertiser.ts';
export { IDGEN_RETRIES, type Prf, stableInterfaceId } from './ipv6/stable-iid.ts';
export { type ArpTimers, DEFAULT_ARP_TIMERS } from './neighbour/arp.ts';
export { NEIGHBOUR_STATE_NAMES, type NeighbourTimers } from './neighbour/cache.ts';
export { DEFAULT_NDP_TIMERS, type NdpTimers } from './neighbour/ndp.ts';
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
  type Address6Info,
  type ArpInfo,
  type CountersInfo,
  type IcmpEvent,
  type Icmpv6Event,
  type InterfaceAddress,
  type InterfaceInfo,
  type InterfaceSpec,
  type NeighborInfo,
  Stack,
  type StackOptions,
  Stat,
} from './stack.ts';
export { Md5 } from './tcp/md5.ts';
export { TokenBucket } from './token-bucket.ts';
