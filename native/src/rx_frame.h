#ifndef NEXTHOP_RX_FRAME_H
#define NEXTHOP_RX_FRAME_H

#include <stdint.h>

/* Entries per frame in a descriptor array: [offset, length, segment size | flags]. */
enum { NH_DESC_STRIDE = 3 };

/*
 * Flag in the third word: the frame's TCP/UDP checksum is known to be right — the kernel verified it
 * (TP_STATUS_CSUM_VALID, VIRTIO_NET_HDR_F_DATA_VALID) or the walker computed it for a sender that
 * left it to offload — so the stack need not sum the payload again. Segment sizes stay below it.
 */
#define NH_DESC_L4_CHECKSUM_GOOD 0x10000u

/* A VLAN tag the kernel took out of a frame, from the ring's frame header. */
enum { NH_VLAN_TAG_LEN = 4 };

/*
 * The per-frame part of every receive ring walker (TPACKET_V3 blocks, TPACKET_V2 slots and the
 * side buffer that holds V2's oversized frames), after the walker has checked the bounds:
 * [mac - room, mac + *len) must be memory the walker owns, and with vnet_hdr a struct
 * virtio_net_hdr must sit right before mac (room >= its size).
 *
 * Returns the descriptor's third word: the segment size from the vnet header (GSO TCPV4, TCPV6,
 * UDP_L4; else 0) or'ed with NH_DESC_L4_CHECKSUM_GOOD when the checksum is known to be right
 * (kernel status or vnet flags, or completed here for a CHECKSUM_PARTIAL sender). When `status`
 * has TP_STATUS_VLAN_VALID and room allows, the tag (tci, and tpid when TP_STATUS_VLAN_TPID_VALID)
 * is put back in front of the EtherType (IEEE 802.1Q §9): the frame then starts NH_VLAN_TAG_LEN
 * bytes earlier, which *shift says, and *len grows by as much.
 */
uint32_t nh_rx_frame_finish(uint8_t *mac, uint32_t room, uint32_t *len, uint32_t status, uint16_t vlan_tci,
                            uint16_t vlan_tpid, int vnet_hdr, uint32_t *shift);

/* Little helpers for walkers: fields of untrusted headers need not be aligned. */
uint32_t nh_read_u32(const uint8_t *p);
uint16_t nh_read_u16(const uint8_t *p);

#endif
