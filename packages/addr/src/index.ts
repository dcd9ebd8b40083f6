export { formatIpv4, ipv4Mask, parseIpv4, tryParseIpv4 } from './ipv4.ts';
export {
  eui64InterfaceId,
  formatIpv6,
  IPV6_ADDR_LEN,
  ipv6Equal,
  ipv6MulticastMac,
  isLinkLocalIpv6,
  isLinkScopedIpv6,
  isLoopbackIpv6,
  isMulticastIpv6,
  isUnspecifiedIpv6,
  isV4MappedIpv6,
  linkLocalFromMac,
  mapIpv4ToIpv6,
  multicastScopeIpv6,
  parseIpv6,
  parseIpv6Into,
  solicitedNodeMulticast,
  tryParseIpv6,
} from './ipv6.ts';
export {
  formatIpv6Prefix,
  type Ipv6Prefix,
  ipv6PrefixContains,
  maskIpv6,
  parseIpv6Prefix,
  tryParseIpv6Prefix,
} from './ipv6-prefix.ts';
export { formatMac, isBroadcastMac, isMulticastMac, parseMac } from './mac.ts';
export { formatPrefix, type Ipv4Prefix, parsePrefix, prefixContains, tryParsePrefix } from './prefix.ts';
