/**
 * Why a frame or packet was dropped. The numbers index counter arrays; the names are what
 * `show counters` prints. Plain constants rather than an enum (erasable syntax only). The numbers
 * are dense (1 to DROP_REASON_COUNT - 1) and mean nothing outside a process; every reason is
 * counted somewhere (packages/wire/test/drop.test.ts checks both).
 */
export const Drop = {
  ETH_TRUNCATED: 1,
  ETH_SRC_MULTICAST: 2,
  ETH_NOT_FOR_US: 3,
  ETH_UNKNOWN_TYPE: 4,
  ETH_VLAN_TAGGED: 5,
  ARP_TRUNCATED: 6,
  ARP_BAD_HARDWARE: 7,
  ARP_BAD_PROTOCOL: 8,
  ARP_BAD_OPCODE: 9,
  ARP_BAD_SENDER: 10,
  IPV4_TRUNCATED: 11,
  IPV4_BAD_VERSION: 12,
  IPV4_BAD_IHL: 13,
  IPV4_BAD_CHECKSUM: 14,
  IPV4_BAD_TOTAL_LENGTH: 15,
  IPV4_TTL_ZERO: 16,
  IPV4_MARTIAN_SOURCE: 17,
  IPV4_MARTIAN_DESTINATION: 18,
  IPV4_TTL_EXCEEDED: 19,
  IPV4_NO_ROUTE: 20,
  IPV4_FRAG_NEEDED: 21,
  IPV4_REASSEMBLY_TIMEOUT: 22,
  IPV4_REASSEMBLY_OVERLAP: 23,
  IPV4_REASSEMBLY_MEMORY: 24,
  IPV4_REASSEMBLY_TOO_BIG: 25,
  IPV4_UNKNOWN_PROTOCOL: 26,
  IPV4_BLACKHOLE: 27,
  IPV4_REJECT: 28,
  /**
   * Unicast in transit that came in a link-layer broadcast or multicast, never forwarded (RFC 1812
   * §5.3.4); or a packet the VR built for one of its own addresses.
   */
  IPV4_NOT_FOR_US: 29,
  ARP_RESOLUTION_FAILED: 30,
  ARP_QUEUE_FULL: 31,
  ICMP_TRUNCATED: 32,
  ICMP_BAD_CHECKSUM: 33,
  ICMP_UNHANDLED_TYPE: 34,
  ICMP_RATE_LIMITED: 35,
  INTERFACE_DOWN: 36,
  UDP_TRUNCATED: 37,
  UDP_BAD_CHECKSUM: 38,
  TCP_TRUNCATED: 39,
  TCP_BAD_CHECKSUM: 40,
  // IPv6 fixed header (RFC 8200 §3).
  IPV6_TRUNCATED: 41,
  IPV6_BAD_VERSION: 42,
  IPV6_BAD_PAYLOAD_LENGTH: 43,
  // IPv6 extension header chain (RFC 8200 §4, RFC 7045, RFC 7112, RFC 8883).
  IPV6_EXT_TRUNCATED: 44,
  IPV6_EXT_TOO_MANY: 45,
  IPV6_EXT_CHAIN_TOO_LONG: 46,
  IPV6_HBH_NOT_FIRST: 47,
  IPV6_UNKNOWN_NEXT_HEADER: 48,
  IPV6_OPTION_BAD_LENGTH: 49,
  IPV6_OPTION_TOO_MANY: 50,
  IPV6_OPTION_BAD_PADDING: 51,
  IPV6_UNKNOWN_OPTION: 52,
  IPV6_FRAG_BAD_LENGTH: 53,
  IPV6_FRAG_TOO_BIG: 54,
  IPV6_FIRST_FRAGMENT_INCOMPLETE: 55,
  // ICMPv6 (RFC 4443), UDP over IPv6 (RFC 8200 §8.1).
  ICMPV6_TRUNCATED: 56,
  ICMPV6_BAD_CHECKSUM: 57,
  UDP_ZERO_CHECKSUM: 58,
  // Neighbor Discovery (RFC 4861 §6.1, §7.1, §8.1).
  NDP_BAD_HOP_LIMIT: 59,
  NDP_BAD_CODE: 60,
  NDP_TRUNCATED: 61,
  NDP_BAD_OPTION_LENGTH: 62,
  NDP_BAD_SOURCE: 63,
  NDP_BAD_DESTINATION: 64,
  NDP_BAD_TARGET: 65,
  NDP_UNKNOWN_TYPE: 66,
  // Multicast Listener Discovery (RFC 2710, RFC 3810 §5).
  MLD_TRUNCATED: 67,
  MLD_BAD_HOP_LIMIT: 68,
  MLD_NO_ROUTER_ALERT: 69,
  MLD_BAD_SOURCE: 70,
  MLD_UNKNOWN_TYPE: 71,
  // The stack's IPv6 (RFC 8200, RFC 4291, RFC 4443, RFC 4861, RFC 4862).
  /** A multicast or loopback source (RFC 4291 §2.5.3, §2.7), or :: in transit (§2.5.2). */
  IPV6_BAD_SOURCE: 72,
  /** Loopback, unspecified or interface-local multicast destination on a link (RFC 4291 §2.5.3, §2.7). */
  IPV6_BAD_DESTINATION: 73,
  /** Unicast to an address not ours, sent to a link-layer group address. */
  IPV6_NOT_FOR_US: 74,
  IPV6_HOP_LIMIT_EXCEEDED: 75,
  IPV6_NO_ROUTE: 76,
  IPV6_BLACKHOLE: 77,
  IPV6_REJECT: 78,
  /** Larger than the egress MTU: routers never fragment (RFC 8200 §5); Packet Too Big sent. */
  IPV6_PACKET_TOO_BIG: 79,
  /** Link-local source or destination that would leave its link (RFC 4291 §2.5.6). */
  IPV6_LINK_LOCAL_SCOPE: 80,
  /** A multicast packet for a group the VR did not join: there is no multicast routing. */
  IPV6_MULTICAST_NOT_FORWARDED: 81,
  /** To one of our addresses that is tentative or duplicate (RFC 4862 §5.4). */
  IPV6_TENTATIVE_ADDRESS: 82,
  /** A Routing header with Segments Left ≠ 0 addressed to us (RFC 8200 §4.4, RFC 5095 §3). */
  IPV6_ROUTING_HEADER: 83,
  IPV6_REASSEMBLY_TIMEOUT: 84,
  /** Overlapping fragments discard the whole datagram (RFC 5722 §4), or inconsistent lengths. */
  IPV6_REASSEMBLY_OVERLAP: 85,
  IPV6_REASSEMBLY_MEMORY: 86,
  NDP_RESOLUTION_FAILED: 87,
  NDP_QUEUE_FULL: 88,
  /** Too many neighbours being resolved at once (RFC 6583 §6). */
  NDP_TABLE_FULL: 89,
  ICMPV6_RATE_LIMITED: 90,
  ICMPV6_UNHANDLED_TYPE: 91,
  /** The VR has no usable address to send from (all tentative, or none of the scope). */
  IPV6_NO_SOURCE_ADDRESS: 92,
  /** A TCP segment to a multicast or broadcast address (RFC 9293 §3.9.1, RFC 1122 §4.2.3.10: TCP is unicast). */
  TCP_NOT_UNICAST: 93,
  /** A Fragment header inside a reassembled packet (RFC 8200 §4.1: at most one). */
  IPV6_NESTED_FRAGMENT: 94,
  /** A Neighbor Discovery message in fragments is ignored (RFC 6980 §5). */
  NDP_FRAGMENTED: 95,
} as const;

export type DropReason = (typeof Drop)[keyof typeof Drop];

export const DROP_REASON_COUNT = 96;

const names: string[] = new Array(DROP_REASON_COUNT).fill('');
for (const [key, value] of Object.entries(Drop)) names[value] = key.toLowerCase();

/** Snake-case name of a drop reason, e.g. 'ipv4_bad_checksum'. */
export function dropReasonName(reason: number): string {
  return names[reason] ?? `reason_${reason}`;
}
