/* libFuzzer target: any bytes as a block must walk without touching memory outside it, and every
 * descriptor it yields must lie inside the block; with vnet headers (the first input byte's low bit
 * says which) the header read before each frame must lie inside the block too, after its frame
 * header. Segment sizes come only from vnet headers; the checksum flag may come from either. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/tpv3_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 1 << 20) return 0;
  int vnet = data[0] & 1;
  data++;
  size--;
  /* An exact-size heap copy, so ASan flags any access past the end. */
  uint8_t *block = malloc(size ? size : 1);
  memcpy(block, data, size);
  uint32_t descs[NH_DESC_STRIDE * 64];
  uint32_t rejected = 0;
  uint32_t base = 4096;
  uint32_t n = nh_tpv3_walk_block(block, (uint32_t)size, base, vnet, descs, 64, &rejected);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t off = descs[NH_DESC_STRIDE * i], len = descs[NH_DESC_STRIDE * i + 1];
    if (off < base || (uint64_t)off - base + len > size) abort();
    uint32_t info = descs[NH_DESC_STRIDE * i + 2];
    /* Only the checksum flag may sit above the 16-bit segment size; without vnet headers there is
     * no segment size at all. */
    if ((info & ~(NH_DESC_L4_CHECKSUM_GOOD | 0xffffu)) != 0) abort();
    if (!vnet && (info & 0xffffu) != 0) abort();
  }
  free(block);
  return 0;
}
