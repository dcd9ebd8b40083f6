/* libFuzzer target: any bytes as a block must walk without touching memory outside it, and every
 * descriptor it yields must lie inside the block. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/tpv3_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 20) return 0;
  /* An exact-size heap copy, so ASan flags any access past the end. */
  uint8_t *block = malloc(size ? size : 1);
  memcpy(block, data, size);
  uint32_t descs[2 * 64];
  uint32_t rejected = 0;
  uint32_t base = 4096;
  uint32_t n = nh_tpv3_walk_block(block, (uint32_t)size, base, descs, 64, &rejected);
  for (uint32_t i = 0; i < n; i++) {
    if (descs[2 * i] < base || (uint64_t)descs[2 * i] - base + descs[2 * i + 1] > size) abort();
  }
  free(block);
  return 0;
}
