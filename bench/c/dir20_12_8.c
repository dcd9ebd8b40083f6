/*
 * Plain C DIR-20-12-8 baseline for bench/fib6.ts: the same table layout as @nexthop/fib's Ipv6Fib
 * (one int32 array: tbl20 of 2^20 entries, then 4096-entry tbl12 groups, then 256-entry tbl8
 * groups for /32, /40, ... /120; entry < 0 is a child group starting at slot ~entry << 8, 0 is
 * empty, > 0 is a route with its prefix length in bits 23..30 so prefixes can arrive in any
 * order; pools allocated at their limit up front, as the TypeScript does), insert only, no SIMD
 * or prefetching. Builds from the prefixes file, runs
 * the same lookups as the TypeScript side (on four host-order words and on 16 network-order bytes)
 * and writes the results of the first `sample` keys of each key set for comparison.
 *
 * usage: dir20_12_8 PREFIXES TABLE_KEYS UNIFORM_KEYS ITERATIONS SAMPLE RESULTS_OUT ROUNDS
 *   PREFIXES: u32 word count, then (w0, w1, w2, w3, length, next hop) per prefix, little endian
 *   TABLE_KEYS, UNIFORM_KEYS: u32 word count, then 4 words per key (most significant first)
 *   ITERATIONS: lookups of the "repeated" run, which cycles the first 1024 table keys
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LENGTH_SHIFT 23
#define PAYLOAD_MASK ((1 << 23) - 1)
#define ECMP_FLAG (1 << 22)
#define TARGET_MASK (ECMP_FLAG - 1)
#define TBL20_SIZE (1u << 20)
#define MAX_TBL12_GROUPS (1u << 12) /* Ipv6Fib's defaults */
#define MAX_TBL8_GROUPS (1u << 18)
#define LEVELS 14
#define REPEATED 1024u

static const int level_end[LEVELS] = {20, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128};

#define TBL12_BASE TBL20_SIZE
#define TBL8_BASE (TBL12_BASE + (MAX_TBL12_GROUPS << 12))

static int32_t *table;
static uint32_t tbl12_used;
static uint32_t tbl8_used;

/* This thread's CPU time, as on the TypeScript side (the machine is shared). */
static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
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

/* Slot index of address w in a group of `level`. */
static uint32_t index_at(const uint32_t *w, int level) {
  if (level == 0) return w[0] >> 12;
  if (level == 1) return w[0] & 0xfff;
  int byte = level + 2;
  return (w[byte >> 2] >> (24 - 8 * (byte & 3))) & 0xff;
}

/* A new group for `level` with every slot `fill`: its first slot. */
static uint32_t alloc_group(int level, int32_t fill) {
  uint32_t first, size;
  if (level == 1) {
    if (tbl12_used == MAX_TBL12_GROUPS) {
      fprintf(stderr, "tbl12 full\n");
      exit(1);
    }
    first = TBL12_BASE + (tbl12_used++ << 12);
    size = 4096;
  } else {
    if (tbl8_used == MAX_TBL8_GROUPS) {
      fprintf(stderr, "tbl8 full\n");
      exit(1);
    }
    first = TBL8_BASE + (tbl8_used++ << 8);
    size = 256;
  }
  for (uint32_t i = 0; i < size; i++) table[first + i] = fill;
  return first;
}

static void paint(int level, uint32_t first, uint32_t count, int32_t entry, int length) {
  uint32_t child_size = level == 0 ? 4096 : 256;
  for (uint32_t i = first; i < first + count; i++) {
    int32_t e = table[i];
    if (e < 0) {
      paint(level + 1, (uint32_t)~e << 8, child_size, entry, length);
    } else if (((uint32_t)e >> LENGTH_SHIFT) <= (uint32_t)length) {
      table[i] = entry;
    }
  }
}

static void insert(const uint32_t *w, int length, uint32_t next_hop) {
  int32_t entry = (int32_t)((next_hop + 1) | ((uint32_t)length << LENGTH_SHIFT));
  int level = 0;
  uint32_t group = 0; /* first slot of the group at `level` */
  while (length > level_end[level]) {
    uint32_t slot = group + index_at(w, level);
    int32_t e = table[slot];
    if (e < 0) {
      group = (uint32_t)~e << 8;
    } else {
      group = alloc_group(level + 1, e);
      table[slot] = ~(int32_t)(group >> 8);
    }
    level++;
  }
  paint(level, group + index_at(w, level), 1u << (level_end[level] - length), entry, length);
}

static int32_t default_entry; /* the default route, unpainted as in the TypeScript; none in the bench */

/* The same ending as Ipv6Fib.lookup: one unsigned compare for a route to a next hop, else the
 * default route for an empty slot (ECMP groups are left out: the bench has none). */
static inline int32_t finish(int32_t entry) {
  int32_t id = (entry & PAYLOAD_MASK) - 1;
  if ((uint32_t)id < (uint32_t)TARGET_MASK) return id;
  if (entry == 0) entry = default_entry;
  return (entry & TARGET_MASK) - 1;
}

static inline int32_t lookup_words(uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3) {
  int32_t e = table[w0 >> 12];
  if (e < 0) {
    e = table[((uint32_t)~e << 8) | (w0 & 0xfff)];
    if (e < 0) {
      e = table[((uint32_t)~e << 8) | (w1 >> 24)];
      if (e < 0) {
        e = table[((uint32_t)~e << 8) | ((w1 >> 16) & 0xff)];
        if (e < 0) {
          e = table[((uint32_t)~e << 8) | ((w1 >> 8) & 0xff)];
          if (e < 0) e = table[((uint32_t)~e << 8) | (w1 & 0xff)];
          for (int shift = 24; e < 0 && shift >= 0; shift -= 8) e = table[((uint32_t)~e << 8) | ((w2 >> shift) & 0xff)];
          for (int shift = 24; e < 0 && shift >= 0; shift -= 8) e = table[((uint32_t)~e << 8) | ((w3 >> shift) & 0xff)];
        }
      }
    }
  }
  return finish(e);
}

static inline int32_t lookup_bytes(const uint8_t *a) {
  int32_t e = table[((uint32_t)a[0] << 12) | ((uint32_t)a[1] << 4) | (a[2] >> 4)];
  if (e < 0) {
    e = table[((uint32_t)~e << 8) | ((uint32_t)(a[2] & 0xf) << 8) | a[3]];
    if (e < 0) {
      e = table[((uint32_t)~e << 8) | a[4]];
      if (e < 0) {
        e = table[((uint32_t)~e << 8) | a[5]];
        for (int i = 6; e < 0 && i < 16; i++) e = table[((uint32_t)~e << 8) | a[i]];
      }
    }
  }
  return finish(e);
}

static uint8_t *to_bytes(const uint32_t *words, uint32_t keys) {
  uint8_t *bytes = xalloc((size_t)keys * 16);
  for (size_t i = 0; i < (size_t)keys * 4; i++) {
    bytes[4 * i] = (uint8_t)(words[i] >> 24);
    bytes[4 * i + 1] = (uint8_t)(words[i] >> 16);
    bytes[4 * i + 2] = (uint8_t)(words[i] >> 8);
    bytes[4 * i + 3] = (uint8_t)words[i];
  }
  return bytes;
}

static void run_words(const char *name, const uint32_t *k, uint32_t keys, int rounds) {
  for (int round = 0; round < rounds; round++) {
    uint32_t sum = 0;
    double start = now_ms();
    for (uint32_t i = 0; i < keys; i++) sum += (uint32_t)lookup_words(k[4 * i], k[4 * i + 1], k[4 * i + 2], k[4 * i + 3]);
    printf("%s %u %.3f %u\n", name, keys, now_ms() - start, sum);
  }
}

static void run_bytes(const char *name, const uint8_t *b, uint32_t keys, int rounds) {
  for (int round = 0; round < rounds; round++) {
    uint32_t sum = 0;
    double start = now_ms();
    for (uint32_t i = 0; i < keys; i++) sum += (uint32_t)lookup_bytes(b + (size_t)16 * i);
    printf("%s %u %.3f %u\n", name, keys, now_ms() - start, sum);
  }
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: %s PREFIXES TABLE_KEYS UNIFORM_KEYS ITERATIONS SAMPLE RESULTS_OUT ROUNDS\n", argv[0]);
    return 2;
  }
  uint32_t prefix_words, table_words, uniform_words;
  uint32_t *prefixes = read_u32_file(argv[1], &prefix_words);
  uint32_t *table_keys = read_u32_file(argv[2], &table_words);
  uint32_t *uniform_keys = read_u32_file(argv[3], &uniform_words);
  uint32_t iterations = (uint32_t)strtoul(argv[4], NULL, 10);
  uint32_t sample = (uint32_t)strtoul(argv[5], NULL, 10);
  int rounds = atoi(argv[7]);
  uint32_t table_count = table_words / 4, uniform_count = uniform_words / 4;
  if (sample > table_count || sample > uniform_count || table_count < REPEATED) {
    fprintf(stderr, "bad sample or key count\n");
    return 2;
  }

  double t0 = now_ms();
  table = xalloc(((size_t)TBL8_BASE + ((size_t)MAX_TBL8_GROUPS << 8)) * 4);
  for (uint32_t i = 0; i < prefix_words / 6; i++) {
    const uint32_t *p = &prefixes[6 * i];
    insert(p, (int)p[4], p[5]);
  }
  printf("build_ms %.3f\n", now_ms() - t0);
  printf("bytes %zu\n", (size_t)TBL20_SIZE * 4 + ((size_t)tbl12_used << 14) + ((size_t)tbl8_used << 10));
  printf("groups %u %u\n", tbl12_used, tbl8_used);

  uint8_t *table_bytes = to_bytes(table_keys, table_count);
  uint8_t *uniform_bytes = to_bytes(uniform_keys, uniform_count);
  /* Several rounds each; the caller reports the best, as on the TypeScript side. */
  run_words("table_words", table_keys, table_count, rounds);
  run_bytes("table_bytes", table_bytes, table_count, rounds);
  run_words("uniform_words", uniform_keys, uniform_count, rounds);
  run_bytes("uniform_bytes", uniform_bytes, uniform_count, rounds);
  for (int round = 0; round < rounds; round++) {
    uint32_t sum = 0;
    double start = now_ms();
    for (uint32_t i = 0; i < iterations; i++) {
      const uint32_t *k = &table_keys[4 * (i & (REPEATED - 1))];
      sum += (uint32_t)lookup_words(k[0], k[1], k[2], k[3]);
    }
    printf("repeated %u %.3f %u\n", iterations, now_ms() - start, sum);
  }

  int32_t *results = xalloc((size_t)sample * 8 + 8);
  for (uint32_t i = 0; i < sample; i++) {
    results[i] = lookup_words(table_keys[4 * i], table_keys[4 * i + 1], table_keys[4 * i + 2], table_keys[4 * i + 3]);
    results[sample + i] =
        lookup_words(uniform_keys[4 * i], uniform_keys[4 * i + 1], uniform_keys[4 * i + 2], uniform_keys[4 * i + 3]);
  }
  FILE *out = fopen(argv[6], "wb");
  if (out == NULL || fwrite(results, 4, (size_t)sample * 2, out) != (size_t)sample * 2) {
    perror(argv[6]);
    return 1;
  }
  fclose(out);
  free(results);
  free(table_bytes);
  free(uniform_bytes);
  free(prefixes);
  free(table_keys);
  free(uniform_keys);
  free(table);
  return 0;
}
