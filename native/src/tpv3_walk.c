#include "tpv3_walk.h"

#include "rx_frame.h"

#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <stddef.h>
#include <string.h>

#define read_u32 nh_read_u32
#define read_u16 nh_read_u16

#define BLOCK_HDR_FIELD(f) (offsetof(struct tpacket_block_desc, hdr) + offsetof(struct tpacket_hdr_v1, f))
#define FRAME_FIELD(f) offsetof(struct tpacket3_hdr, f)
#define FRAME_VLAN_FIELD(f) (offsetof(struct tpacket3_hdr, hv1) + offsetof(struct tpacket_hdr_variant1, f))

enum { ETH_MIN_LEN = 14 };

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

    int ok = mac_gap >= min_gap && mac + snaplen <= end && snaplen == wire_len && snaplen >= ETH_MIN_LEN;
    uint32_t segment_size = 0;
    if (ok) {
      uint32_t shift;
      segment_size = nh_rx_frame_finish(block + mac, (uint32_t)(mac_gap - sizeof(struct tpacket3_hdr)), &snaplen,
                                        status, read_u16(frame + FRAME_VLAN_FIELD(tp_vlan_tci)),
                                        read_u16(frame + FRAME_VLAN_FIELD(tp_vlan_tpid)), vnet_hdr, &shift);
      mac -= shift;
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
