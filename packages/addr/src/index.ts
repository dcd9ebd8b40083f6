export { formatIpv4, ipv4Mask, parseIpv4, tryParseIpv4 } from './ipv4.ts';
export { formatMac, isBroadcastMac, isMulticastMac, parseMac } from './mac.ts';
export { formatPrefix, type Ipv4Prefix, parsePrefix, prefixContains, tryParsePrefix } from './prefix.ts';
