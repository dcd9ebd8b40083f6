/**
 * Why a frame or packet was dropped. The numbers index counter arrays; the names are what
 * `show counters` prints. Plain constants rather than an enum (erasable syntax only).
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
  IPV4_NOT_FOR_US: 29,
  ARP_RESOLUTION_FAILED: 30,
  ARP_QUEUE_FULL: 31,
  ICMP_TRUNCATED: 32,
  ICMP_BAD_CHECKSUM: 33,
  ICMP_UNHANDLED_TYPE: 34,
  ICMP_RATE_LIMITED: 35,
  TX_QUEUE_FULL: 36,
  INTERFACE_DOWN: 37,
  UDP_TRUNCATED: 38,
  UDP_BAD_CHECKSUM: 39,
  TCP_TRUNCATED: 40,
  TCP_BAD_CHECKSUM: 41,
  IPV4_BROADCAST_FORWARD: 42,
} as const;

export type DropReason = (typeof Drop)[keyof typeof Drop];

export const DROP_REASON_COUNT = 43;

const names: string[] = new Array(DROP_REASON_COUNT).fill('');
for (const [key, value] of Object.entries(Drop)) names[value] = key.toLowerCase();

/** Snake-case name of a drop reason, e.g. 'ipv4_bad_checksum'. */
export function dropReasonName(reason: number): string {
  return names[reason] ?? `reason_${reason}`;
}
