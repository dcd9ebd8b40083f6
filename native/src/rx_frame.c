#include "rx_frame.h"

#include "l4csum.h"

#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <stddef.h>
#include <string.h>

/* Linux 4.18; older uapi headers lack it. */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

#define VNET_FIELD(f) offsetof(struct virtio_net_hdr, f)

enum { ETH_ADDRS_LEN = 12, ETH_P_8021Q_VALUE = 0x8100 };

uint32_t nh_read_u32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

uint16_t nh_read_u16(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* The payload size of the segments an aggregated frame stands for, or 0 for an ordinary frame. */
static uint32_t vnet_segment_size(const uint8_t *vnet) {
  uint8_t type = vnet[VNET_FIELD(gso_type)] & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
  if (type != VIRTIO_NET_HDR_GSO_TCPV4 && type != VIRTIO_NET_HDR_GSO_TCPV6 && type != VIRTIO_NET_HDR_GSO_UDP_L4) {
    return 0;
  }
  /* Host byte order: packet sockets use the legacy virtio layout (vio_le() in af_packet.c). */
  return nh_read_u16(vnet + VNET_FIELD(gso_size));
}

uint32_t nh_rx_frame_finish(uint8_t *mac, uint32_t room, uint32_t *len, uint32_t status, uint16_t vlan_tci,
                            uint16_t vlan_tpid, int vnet_hdr, uint32_t *shift) {
  uint32_t info = 0;
  int needs_csum = (status & TP_STATUS_CSUMNOTREADY) != 0;
  *shift = 0;
  if (vnet_hdr) {
    /* Read before a VLAN tag is put back: the tag goes where the vnet header is. */
    const uint8_t *vnet = mac - sizeof(struct virtio_net_hdr);
    info = vnet_segment_size(vnet);
    needs_csum |= (vnet[VNET_FIELD(flags)] & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0;
    if (vnet[VNET_FIELD(flags)] & VIRTIO_NET_HDR_F_DATA_VALID) info |= NH_DESC_L4_CHECKSUM_GOOD;
  }
  if (status & TP_STATUS_CSUM_VALID) info |= NH_DESC_L4_CHECKSUM_GOOD;
  if ((status & TP_STATUS_VLAN_VALID) && room >= NH_VLAN_TAG_LEN) {
    uint16_t tpid = (status & TP_STATUS_VLAN_TPID_VALID) ? vlan_tpid : ETH_P_8021Q_VALUE;
    /* The space in front of the MAC header is the walker's (sockaddr_ll or vnet header, both read). */
    memmove(mac - NH_VLAN_TAG_LEN, mac, ETH_ADDRS_LEN);
    mac[ETH_ADDRS_LEN - NH_VLAN_TAG_LEN] = (uint8_t)(tpid >> 8);
    mac[ETH_ADDRS_LEN - NH_VLAN_TAG_LEN + 1] = (uint8_t)tpid;
    mac[ETH_ADDRS_LEN - NH_VLAN_TAG_LEN + 2] = (uint8_t)(vlan_tci >> 8);
    mac[ETH_ADDRS_LEN - NH_VLAN_TAG_LEN + 3] = (uint8_t)vlan_tci;
    mac -= NH_VLAN_TAG_LEN;
    *len += NH_VLAN_TAG_LEN;
    *shift = NH_VLAN_TAG_LEN;
  }
  if (needs_csum) {
    /* Forwarded as is, the frame would reach the next host with a half-done checksum. */
    if (nh_complete_l4_checksum(mac, *len)) info |= NH_DESC_L4_CHECKSUM_GOOD;
  }
  return info;
}
