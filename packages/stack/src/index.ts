export { ARP_STATE_NAMES, type ArpTimers, DEFAULT_ARP_TIMERS } from './arp-cache.ts';
export { DEFAULT_REASSEMBLY_LIMITS, Reassembler, type ReassemblyLimits } from './reassembly.ts';
export type { RouteInfo, RouteProtocol, RouteType } from './routes.ts';
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
