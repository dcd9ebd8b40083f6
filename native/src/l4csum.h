#ifndef NEXTHOP_L4CSUM_H
#define NEXTHOP_L4CSUM_H

#include <stdint.h>

/*
 * Finishes the TCP or UDP checksum of an Ethernet frame whose sender left it to the device (Linux
 * CHECKSUM_PARTIAL; AF_PACKET reports such frames with TP_STATUS_CSUMNOTREADY, as veth does). The
 * checksum field then holds the folded pseudo-header sum; the device would add the one's
 * complement sum of the transport header and payload. Only untagged, unfragmented IPv4 TCP/UDP is
 * handled; anything else, or anything that does not fit in `len`, is left as it is.
 * Returns 1 when the checksum was written.
 */
int nh_complete_l4_checksum(uint8_t *frame, uint32_t len);

#endif
