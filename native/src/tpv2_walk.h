#ifndef NEXTHOP_TPV2_WALK_H
#define NEXTHOP_TPV2_WALK_H

#include <stdint.h>

#include "rx_frame.h"

/*
 * A TPACKET_V2 receive ring: one frame per slot, each slot handed to us on its own (per-frame
 * status, so a lone frame is readable at once, unlike a V3 block that waits for its retire timer).
 *
 * A frame longer than a slot (a GSO/GRO aggregate of up to 64 KB) is truncated in its slot; with
 * PACKET_COPY_THRESH the kernel also queues the whole packet on the socket and marks the slot
 * TP_STATUS_COPY. The walker then calls `read_queued` (recvmsg: the virtio_net_hdr first when the
 * socket has vnet headers, then the frame) into the side buffer, which the descriptors can point
 * into as well: `side_base` is the side buffer's offset in the buffer JS reads.
 *
 * With `copy_all` every frame is copied into the side buffer (the fallback when JS cannot see
 * the ring), so the caller may give the slots back as soon as the walk returns.
 */
typedef struct nh_tpv2_ring {
  uint8_t *slots;
  uint32_t slot_size;
  uint32_t slot_count;
  uint8_t *side;
  uint32_t side_len;
  uint32_t side_base;
  int vnet_hdr;
  int copy_all;
  /* Dequeues the next queued packet into dst (at most cap bytes); returns its full length (which
   * may exceed cap: truncated) or -1 when none is queued. */
  long (*read_queued)(void *ctx, uint8_t *dst, uint32_t cap);
  void *ctx;
} nh_tpv2_ring;

/* Room a side buffer entry reserves for a queued packet: a 64 KiB aggregate and its headers. */
enum { NH_TPV2_QUEUED_MAX = 65536 + 64 };

/*
 * Walks the slots from *next on while they belong to us (TP_STATUS_USER), at most `max_slots` of
 * them, writing [offset, length, info] triples as nh_rx_frame_finish describes (offsets: slot
 * frames at slot index × slot_size + MAC offset, side buffer frames at side_base + their place).
 * Stops early when `descs` (room for max_frames) or the side buffer is full. Every slot read is
 * counted in *taken and *next advances past it: the caller gives those slots back to the kernel
 * once the frames are no longer needed. Everything in a slot is untrusted: a frame whose header
 * points outside its slot, or that was truncated without a queued copy, is counted in *rejected.
 */
uint32_t nh_tpv2_walk(const nh_tpv2_ring *ring, uint32_t *next, uint32_t max_slots, uint32_t *descs,
                      uint32_t max_frames, uint32_t *taken, uint32_t *rejected);

#endif
