#include "tpv3_walk.h"

#include "l4csum.h"

#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <stddef.h>
#include <string.h>

/* Fields are read with memcpy: offsets inside a corrupt block need not be aligned. */
static uint32_t read_u32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static uint16_t read_u16(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

#define BLOCK_HDR_FIELD(f) (offsetof(struct tpacket_block_desc, hdr) + offsetof(struct tpacket_hdr_v1, f))
#define FRAME_FIELD(f) offsetof(struct tpacket3_hdr, f)
#define FRAME_VLAN_FIELD(f) (offsetof(struct tpacket3_hdr, hv1) + offsetof(struct tpacket_hdr_variant1, f))

#define VNET_FIELD(f) offsetof(struct virtio_net_hdr, f)

/* Linux 4.18; older uapi headers lack it. */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

enum { ETH_ADDRS_LEN = 12, VLAN_TAG_LEN = 4, ETH_P_8021Q_VALUE = 0x8100 };

/* The payload size of the segments an aggregated frame stands for, or 0 for an ordinary frame. */
static uint32_t vnet_segment_size(const uint8_t *vnet) {
  uint8_t type = vnet[VNET_FIELD(gso_type)] & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
  if (type != VIRTIO_NET_HDR_GSO_TCPV4 && type != VIRTIO_NET_HDR_GSO_TCPV6 && type != VIRTIO_NET_HDR_GSO_UDP_L4) {
    return 0;
  }
  /* Host byte order: packet sockets use the legacy virtio layout (vio_le() in af_packet.c). */
  return read_u16(vnet + VNET_FIELD(gso_size));
}

uint32_t nh_tpv3_walk_block(uint8_t *block, uint32_t block_size, uint32_t base, int vnet_hdr, uint32_t *descs,
                            uint32_t max_frames, uint32_t *rejected) {
  if (block_size < sizeof(struct tpacket_block_desc)) {
    return 0;
  }
  uint32_t num_pkts = read_u32(block + BLOCK_HDR_FIELD(num_pkts));
  uint32_t first = read_u32(block + BLOCK_HDR_FIELD(offset_to_first_pkt));
  uint32_t blk_len = read_u32(block + BLOCK_HDR_FIELD(blk_len));
  /* blk_len is how much of the block the kernel filled; never trust it beyond the block. */
  uint64_t end = blk_len < block_size ? blk_len : block_size;

  uint32_t written = 0;
  uint64_t off = first;
  for (uint32_t i = 0; i < num_pkts; i++) {
    if (off < sizeof(struct tpacket_block_desc) || off + sizeof(struct tpacket3_hdr) > end) {
      *rejected += num_pkts - i;
      break;
    }
    uint8_t *frame = block + off;
    uint32_t next = read_u32(frame + FRAME_FIELD(tp_next_offset));
    uint32_t snaplen = read_u32(frame + FRAME_FIELD(tp_snaplen));
    uint32_t wire_len = read_u32(frame + FRAME_FIELD(tp_len));
    uint32_t status = read_u32(frame + FRAME_FIELD(tp_status));
    uint64_t mac = off + read_u16(frame + FRAME_FIELD(tp_mac));
    uint64_t mac_gap = mac - off;
    /* The kernel puts the vnet header between the frame header and the MAC header. */
    uint64_t min_gap = sizeof(struct tpacket3_hdr) + (vnet_hdr ? sizeof(struct virtio_net_hdr) : 0);

    int ok = mac_gap >= min_gap && mac + snaplen <= end && snaplen == wire_len && snaplen >= ETH_ADDRS_LEN + 2;
    uint32_t segment_size = 0;
    int needs_csum = (status & TP_STATUS_CSUMNOTREADY) != 0;
    if (ok && vnet_hdr) {
      /* Read before a VLAN tag is put back: the tag goes where the vnet header is. */
      const uint8_t *vnet = block + mac - sizeof(struct virtio_net_hdr);
      segment_size = vnet_segment_size(vnet);
      needs_csum |= (vnet[VNET_FIELD(flags)] & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0;
      if (vnet[VNET_FIELD(flags)] & VIRTIO_NET_HDR_F_DATA_VALID) segment_size |= NH_DESC_L4_CHECKSUM_GOOD;
    }
    if (status & TP_STATUS_CSUM_VALID) segment_size |= NH_DESC_L4_CHECKSUM_GOOD;
    if (ok && (status & TP_STATUS_VLAN_VALID) && mac_gap >= sizeof(struct tpacket3_hdr) + VLAN_TAG_LEN) {
      uint16_t tci = read_u16(frame + FRAME_VLAN_FIELD(tp_vlan_tci));
      uint16_t tpid = (status & TP_STATUS_VLAN_TPID_VALID) ? read_u16(frame + FRAME_VLAN_FIELD(tp_vlan_tpid))
                                                           : ETH_P_8021Q_VALUE;
      /* The space in front of the MAC header is ours (it holds the sockaddr_ll we do not use). */
      uint8_t *eth = block + mac;
      memmove(eth - VLAN_TAG_LEN, eth, ETH_ADDRS_LEN);
      eth[ETH_ADDRS_LEN - VLAN_TAG_LEN] = (uint8_t)(tpid >> 8);
      eth[ETH_ADDRS_LEN - VLAN_TAG_LEN + 1] = (uint8_t)tpid;
      eth[ETH_ADDRS_LEN - VLAN_TAG_LEN + 2] = (uint8_t)(tci >> 8);
      eth[ETH_ADDRS_LEN - VLAN_TAG_LEN + 3] = (uint8_t)tci;
      mac -= VLAN_TAG_LEN;
      snaplen += VLAN_TAG_LEN;
    }
    if (ok && needs_csum) {
      /* Forwarded as is, the frame would reach the next host with a half-done checksum. */
      if (nh_complete_l4_checksum(block + mac, snaplen)) segment_size |= NH_DESC_L4_CHECKSUM_GOOD;
    }
    if (!ok) {
      *rejected += 1;
    } else if (written == max_frames || (uint64_t)base + mac > UINT32_MAX) {
      *rejected += 1;
    } else {
      descs[NH_DESC_STRIDE * written] = (uint32_t)(base + mac);
      descs[NH_DESC_STRIDE * written + 1] = snaplen;
      descs[NH_DESC_STRIDE * written + 2] = segment_size;
      written++;
    }
    if (i + 1 == num_pkts) {
      break;
    }
    if (next == 0) {
      *rejected += num_pkts - i - 1;
      break;
    }
    off += next;
  }
  return written;
}
