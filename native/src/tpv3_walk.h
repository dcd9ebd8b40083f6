#ifndef NEXTHOP_TPV3_WALK_H
#define NEXTHOP_TPV3_WALK_H

#include <stdint.h>

#include "rx_frame.h"

/*
 * Walks the frames of one TPACKET_V3 receive block. Everything read from the block is treated as
 * untrusted: a header that points outside the block ends the walk and is counted, so a corrupt or
 * hostile block never makes us read or write outside [block, block + block_size).
 *
 * For every good frame one triple [base + offset of the Ethernet header, length, segment size] is
 * appended to `descs` (room for `max_frames` triples). When the kernel took the VLAN tag out of the
 * frame (hardware VLAN acceleration, TP_STATUS_VLAN_VALID) the tag is put back in place, in front
 * of the EtherType, so the VR always sees the frame as it was on the wire (IEEE 802.1Q §9).
 *
 * `vnet_hdr` says the socket has PACKET_VNET_HDR: a struct virtio_net_hdr then sits immediately
 * before every MAC header. A frame that aggregates TCP or UDP segments (GSO from a local sender,
 * GRO; gso_type TCPV4, TCPV6 or UDP_L4) gets the header's gso_size as its segment size; every other
 * frame gets 0. Without vnet headers the segment size is always 0. NH_DESC_L4_CHECKSUM_GOOD is or'ed in
 * when the checksum is known to be right.
 *
 * Returns the number of triples written. Frames that were rejected (bad offsets, truncated by the
 * kernel, or no room left in `descs`) are added to *rejected.
 */
uint32_t nh_tpv3_walk_block(uint8_t *block, uint32_t block_size, uint32_t base, int vnet_hdr, uint32_t *descs,
                            uint32_t max_frames, uint32_t *rejected);

#endif
