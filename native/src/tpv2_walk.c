#include "tpv2_walk.h"

#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <stddef.h>
#include <string.h>

#define SLOT_FIELD(f) offsetof(struct tpacket2_hdr, f)

enum { ETH_MIN_LEN = 14, SIDE_ALIGN = 16 };

/* Room in front of a side buffer frame: its vnet header, and space for a VLAN tag put back. */
static uint32_t side_headroom(int vnet_hdr) {
  return NH_VLAN_TAG_LEN + (vnet_hdr ? (uint32_t)sizeof(struct virtio_net_hdr) : 0);
}

uint32_t nh_tpv2_walk(const nh_tpv2_ring *ring, uint32_t *next, uint32_t max_slots, uint32_t *descs,
                      uint32_t max_frames, uint32_t *taken, uint32_t *rejected) {
  uint32_t vnet_len = ring->vnet_hdr ? (uint32_t)sizeof(struct virtio_net_hdr) : 0;
  uint32_t headroom = side_headroom(ring->vnet_hdr);
  uint32_t written = 0, side_used = 0;
  *taken = 0;
  if (ring->slot_size < sizeof(struct tpacket2_hdr) || ring->slot_count == 0) return 0;
  while (*taken < max_slots && written < max_frames) {
    uint8_t *slot = ring->slots + (size_t)*next * ring->slot_size;
    /* Acquire: the frame's bytes are read only after its status says it is ours. */
    uint32_t status = __atomic_load_n((uint32_t *)(void *)(slot + SLOT_FIELD(tp_status)), __ATOMIC_ACQUIRE);
    if (!(status & TP_STATUS_USER)) break;
    uint32_t wire_len = nh_read_u32(slot + SLOT_FIELD(tp_len));
    uint32_t snaplen = nh_read_u32(slot + SLOT_FIELD(tp_snaplen));
    uint32_t mac = nh_read_u16(slot + SLOT_FIELD(tp_mac));
    int queued = (status & TP_STATUS_COPY) != 0;
    int to_side = queued || ring->copy_all;
    uint32_t need = headroom + (queued ? NH_TPV2_QUEUED_MAX : ring->slot_size);
    if (to_side && (side_used > ring->side_len || ring->side_len - side_used < need)) {
      if (*taken == 0) {
        /* Not even one entry fits: the side buffer is too small for this frame, drop it. */
        if (queued && ring->read_queued != NULL) ring->read_queued(ring->ctx, NULL, 0);
        *rejected += 1;
        *taken += 1;
        *next = (*next + 1) % ring->slot_count;
      }
      break;
    }
    *taken += 1;
    *next = (*next + 1) % ring->slot_count;

    uint8_t *frame = NULL;
    uint32_t room = 0, len = 0;
    uint64_t offset = 0;
    int ok;
    if (queued) {
      /* The whole packet waits on the socket; dequeue it even if the slot looks wrong, so the
       * next slot's copy is not read in its place. */
      uint8_t *dst = ring->side + side_used + NH_VLAN_TAG_LEN;
      long got = ring->read_queued != NULL ? ring->read_queued(ring->ctx, dst, NH_TPV2_QUEUED_MAX) : -1;
      ok = got >= (long)(vnet_len + ETH_MIN_LEN) && got <= NH_TPV2_QUEUED_MAX &&
           (uint64_t)got - vnet_len == wire_len;
      if (ok) {
        frame = dst + vnet_len;
        room = headroom;
        len = wire_len;
      }
    } else {
      /* The kernel puts sockaddr_ll and then the vnet header between the slot header and the MAC. */
      ok = mac >= sizeof(struct tpacket2_hdr) + vnet_len && (uint64_t)mac + snaplen <= ring->slot_size &&
           snaplen == wire_len && snaplen >= ETH_MIN_LEN;
      if (ok && ring->copy_all) {
        uint8_t *dst = ring->side + side_used + NH_VLAN_TAG_LEN;
        memcpy(dst, slot + mac - vnet_len, vnet_len + snaplen);
        frame = dst + vnet_len;
        room = headroom;
      } else if (ok) {
        frame = slot + mac;
        room = mac - (uint32_t)sizeof(struct tpacket2_hdr);
        offset = (uint64_t)(frame - ring->slots);
      }
      len = snaplen;
    }
    if (!ok) {
      *rejected += 1;
      continue;
    }
    uint32_t shift;
    uint32_t info = nh_rx_frame_finish(frame, room, &len, status, nh_read_u16(slot + SLOT_FIELD(tp_vlan_tci)),
                                       nh_read_u16(slot + SLOT_FIELD(tp_vlan_tpid)), ring->vnet_hdr, &shift);
    if (to_side) {
      offset = (uint64_t)ring->side_base + (uint64_t)(frame - ring->side);
      side_used += (headroom + len - shift + SIDE_ALIGN - 1) & ~(uint32_t)(SIDE_ALIGN - 1);
    }
    offset -= shift;
    if (offset + len > UINT32_MAX) {
      *rejected += 1;
      continue;
    }
    descs[NH_DESC_STRIDE * written] = (uint32_t)offset;
    descs[NH_DESC_STRIDE * written + 1] = len;
    descs[NH_DESC_STRIDE * written + 2] = info;
    written++;
  }
  return written;
}
