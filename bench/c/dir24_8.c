/*
 * Plain C DIR-24-8 baseline for bench/fib.ts: the same table layout as @nexthop/fib (tbl24 of
 * 2^24 uint32 entries, 256-entry tbl8 groups, a prefix length per slot so prefixes can arrive in
 * any order), insert only, no SIMD or prefetching. Builds from the prefixes file, runs the same
 * lookups as the TypeScript side and writes the results of the first `sample` keys for comparison.
 *
 * usage: dir24_8 PREFIXES KEYS REPEATED ITERATIONS SAMPLE RESULTS_OUT ROUNDS
 *   PREFIXES: u32 word count, then (u32 network, u32 length, u32 next hop) per prefix, little endian
 *   KEYS, REPEATED: u32 count, then count x u32 address
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TBL8_FLAG 0x40000000u
#define TBL8_INDEX_MASK (TBL8_FLAG - 1u)

static uint32_t *tbl24;
static uint8_t *depth24;
static uint32_t *tbl8;
static uint8_t *depth8;
static uint32_t tbl8_groups;
static uint32_t tbl8_capacity;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *xalloc(size_t bytes) {
  void *p = calloc(1, bytes);
  if (p == NULL) {
    perror("calloc");
    exit(1);
  }
  return p;
}

static uint32_t *read_u32_file(const char *path, uint32_t *count) {
  FILE *f = fopen(path, "rb");
  if (f == NULL || fread(count, 4, 1, f) != 1) {
    perror(path);
    exit(1);
  }
  uint32_t *data = xalloc((size_t)*count * 4 + 4);
  if (fread(data, 4, *count, f) != *count) {
    fprintf(stderr, "%s: short read\n", path);
    exit(1);
  }
  fclose(f);
  return data;
}

static uint32_t tbl8_group_for(uint32_t index24) {
  uint32_t entry = tbl24[index24];
  if (entry & TBL8_FLAG) return entry & TBL8_INDEX_MASK;
  if (tbl8_groups == tbl8_capacity) {
    uint32_t capacity = tbl8_capacity ? tbl8_capacity * 2 : 64;
    tbl8 = realloc(tbl8, (size_t)capacity * 256 * 4);
    depth8 = realloc(depth8, (size_t)capacity * 256);
    if (tbl8 == NULL || depth8 == NULL) {
      perror("realloc");
      exit(1);
    }
    tbl8_capacity = capacity;
  }
  uint32_t group = tbl8_groups++;
  for (uint32_t i = 0; i < 256; i++) {
    tbl8[(group << 8) | i] = entry;
    depth8[(group << 8) | i] = depth24[index24];
  }
  tbl24[index24] = TBL8_FLAG | group;
  return group;
}

static void paint8(uint32_t group, uint32_t first, uint32_t count, uint32_t value, uint8_t length) {
  for (uint32_t i = (group << 8) + first; i < (group << 8) + first + count; i++) {
    if (depth8[i] <= length) {
      tbl8[i] = value;
      depth8[i] = length;
    }
  }
}

static void insert(uint32_t network, uint8_t length, uint32_t next_hop) {
  uint32_t value = next_hop + 1;
  if (length <= 24) {
    uint32_t first = network >> 8, end = first + (1u << (24 - length));
    for (uint32_t i = first; i < end; i++) {
      if (tbl24[i] & TBL8_FLAG) {
        paint8(tbl24[i] & TBL8_INDEX_MASK, 0, 256, value, length);
      } else if (depth24[i] <= length) {
        tbl24[i] = value;
        depth24[i] = length;
      }
    }
  } else {
    paint8(tbl8_group_for(network >> 8), network & 255, 1u << (32 - length), value, length);
  }
}

static inline int32_t lookup(uint32_t addr) {
  uint32_t entry = tbl24[addr >> 8];
  if (entry & TBL8_FLAG) entry = tbl8[((entry & TBL8_INDEX_MASK) << 8) | (addr & 255)];
  return (int32_t)entry - 1;
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: %s PREFIXES KEYS REPEATED ITERATIONS SAMPLE RESULTS_OUT ROUNDS\n", argv[0]);
    return 2;
  }
  uint32_t prefix_words, key_count, repeated_count;
  uint32_t *prefixes = read_u32_file(argv[1], &prefix_words);
  uint32_t *keys = read_u32_file(argv[2], &key_count);
  uint32_t *repeated = read_u32_file(argv[3], &repeated_count);
  uint32_t iterations = (uint32_t)strtoul(argv[4], NULL, 10);
  uint32_t sample = (uint32_t)strtoul(argv[5], NULL, 10);
  int rounds = atoi(argv[7]);
  if (sample > key_count || repeated_count == 0 || (repeated_count & (repeated_count - 1)) != 0) {
    fprintf(stderr, "bad sample or repeated count\n");
    return 2;
  }

  double t0 = now_ms();
  tbl24 = xalloc((size_t)1 << 26);
  depth24 = xalloc((size_t)1 << 24);
  for (uint32_t i = 0; i < prefix_words / 3; i++) {
    insert(prefixes[3 * i], (uint8_t)prefixes[3 * i + 1], prefixes[3 * i + 2]);
  }
  double build_ms = now_ms() - t0;
  printf("build_ms %.3f\n", build_ms);
  printf("bytes %zu\n", ((size_t)1 << 26) + ((size_t)1 << 24) + (size_t)tbl8_capacity * 256 * 5);

  /* Several rounds each; the caller reports the best, as on the TypeScript side. */
  for (int round = 0; round < rounds; round++) {
    uint32_t sum = 0;
    double start = now_ms();
    for (uint32_t i = 0; i < key_count; i++) sum += (uint32_t)lookup(keys[i]);
    double ms = now_ms() - start;
    printf("random %u %.3f %u\n", key_count, ms, sum);
  }
  uint32_t mask = repeated_count - 1;
  for (int round = 0; round < rounds; round++) {
    uint32_t sum = 0;
    double start = now_ms();
    for (uint32_t i = 0; i < iterations; i++) sum += (uint32_t)lookup(repeated[i & mask]);
    double ms = now_ms() - start;
    printf("repeated %u %.3f %u\n", iterations, ms, sum);
  }

  int32_t *results = xalloc((size_t)sample * 4 + 4);
  for (uint32_t i = 0; i < sample; i++) results[i] = lookup(keys[i]);
  FILE *out = fopen(argv[6], "wb");
  if (out == NULL || fwrite(results, 4, sample, out) != sample) {
    perror(argv[6]);
    return 1;
  }
  fclose(out);
  free(results);
  free(prefixes);
  free(keys);
  free(repeated);
  free(tbl24);
  free(depth24);
  free(tbl8);
  free(depth8);
  return 0;
}
