/* libFuzzer target: any bytes as a TPACKET_V2 ring (slots) plus packets queued on the socket must
 * walk without touching memory outside the ring and the side buffer; every descriptor must lie
 * inside one of them, and the walk must stay within its slot and frame limits. The first byte
 * says vnet headers (bit 0), copy mode (bit 1), the side buffer's size (bits 2-3) and the first
 * slot to read (bits 4-7); the second
 * the slot size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/tpv2_walk.h"

typedef struct {
  const uint8_t *data;
  size_t len;
} queued_input;

/* Each queued packet: a 2-byte length, then that many bytes (fewer at the end of the input). */
static long read_queued(void *ctx, uint8_t *dst, uint32_t cap) {
  queued_input *q = ctx;
  if (q->len < 2) return -1;
  uint32_t n = (uint32_t)q->data[0] | (uint32_t)q->data[1] << 8;
  q->data += 2;
  q->len -= 2;
  if (n > q->len) n = (uint32_t)q->len;
  if (dst != NULL) memcpy(dst, q->data, n < cap ? n : cap);
  q->data += n;
  q->len -= n;
  return (long)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2 || size > 1 << 20) return 0;
  uint8_t flags = data[0];
  int vnet = flags & 1, copy_all = (flags >> 1) & 1;
  uint32_t side_len = ((flags >> 2) & 3) * 40000u + 64;
  uint32_t slot_size = 32 + (uint32_t)data[1] * 16;
  data += 2;
  size -= 2;
  uint32_t slot_count = (uint32_t)(size / slot_size);
  if (slot_count > 16) slot_count = 16;
  if (slot_count == 0) slot_count = 1;
  size_t ring_len = (size_t)slot_count * slot_size;
  /* Exact-size heap copies, so ASan flags any access past either end. */
  uint8_t *slots = aligned_alloc(16, ring_len);
  memset(slots, 0, ring_len);
  memcpy(slots, data, size < ring_len ? size : ring_len);
  uint8_t *side = malloc(side_len);
  queued_input q = {data + (size < ring_len ? size : ring_len), size < ring_len ? 0 : size - ring_len};
  uint32_t side_base = (uint32_t)ring_len;
  nh_tpv2_ring ring = {slots, slot_size, slot_count, side, side_len, side_base, vnet, copy_all, read_queued, &q};
  uint32_t descs[NH_DESC_STRIDE * 32];
  uint32_t next = (uint32_t)(flags >> 4) % slot_count, taken = 0, rejected = 0;
  uint32_t start = next;
  uint32_t n = nh_tpv2_walk(&ring, &next, slot_count, descs, 32, &taken, &rejected);
  if (n > 32 || taken > slot_count || next >= slot_count || n > taken) abort();
  if ((start + taken) % slot_count != next) abort();
  for (uint32_t i = 0; i < n; i++) {
    uint64_t off = descs[NH_DESC_STRIDE * i], len = descs[NH_DESC_STRIDE * i + 1];
    int in_ring = !copy_all && off + len <= ring_len;
    int in_side = off >= side_base && off - side_base + len <= side_len;
    if (!in_ring && !in_side) abort();
    uint32_t info = descs[NH_DESC_STRIDE * i + 2];
    if ((info & ~(NH_DESC_L4_CHECKSUM_GOOD | 0xffffu)) != 0) abort();
    if (!vnet && (info & 0xffffu) != 0) abort();
  }
  free(side);
  free(slots);
  return 0;
}
