#ifndef NEXTHOP_L4CSUM_H
#define NEXTHOP_L4CSUM_H

#include <stdint.h>

/*
 * Finishes the TCP or UDP checksum of an Ethernet frame whose sender left it to the device (Linux
 * CHECKSUM_PARTIAL; AF_PACKET reports such frames with TP_STATUS_CSUMNOTREADY, as veth does). The
 * checksum field then holds the folded pseudo-header sum; the device would add the one's
 * complement sum of the transport header and payload. Untagged TCP/UDP in unfragmented IPv4, or
 * right after the IPv6 fixed header, is handled; anything else, or anything that does not fit in
 * `len`, is left as it is.
 * Returns 1 when the checksum was written.
 */
int nh_complete_l4_checksum(uint8_t *frame, uint32_t len);

struct virtio_net_hdr;

/*
 * Prepares an untagged TCP aggregate over IPv4, or over IPv6 without extension headers, for
 * transmission with GSO on a PACKET_VNET_HDR socket:
 * fills `hdr` (NEEDS_CSUM at the TCP checksum, GSO_TCPV4 or GSO_TCPV6 (+ECN when CWR is set), gso_size =
 * segment_size, hdr_len = the headers) and writes into the TCP checksum field what Linux expects
 * of a CHECKSUM_PARTIAL packet: the folded, uncomplemented pseudo-header sum over the aggregate's
 * full TCP length (as tcp_v4_send_check leaves it; tcp_gso_segment adjusts it per segment by the
 * length difference). Returns 0 and leaves everything alone when the frame is not such a packet
 * or `len` does not hold it.
 */
int nh_prepare_tcp_gso(uint8_t *frame, uint32_t len, uint32_t segment_size, struct virtio_net_hdr *hdr);

#endif
