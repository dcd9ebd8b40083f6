/* Unit tests of the TPACKET_V3 block walker, built with ASan and UBSan by Makefile.check. */
#include <linux/if_packet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/tpv3_walk.h"

static int failures = 0;

#define EXPECT(cond)                                                                               \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);                          \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

enum { BLOCK = 4096, MAC_GAP = 82 };

/* Lays out frames the way the kernel does: header, gap, MAC header, next frame 16-byte aligned. */
static uint32_t build_block(uint8_t *block, const uint32_t *lens, uint32_t n) {
  memset(block, 0, BLOCK);
  struct tpacket_block_desc *bd = (struct tpacket_block_desc *)block;
  uint32_t off = 48;
  bd->hdr.bh1.num_pkts = n;
  bd->hdr.bh1.offset_to_first_pkt = off;
  for (uint32_t i = 0; i < n; i++) {
    struct tpacket3_hdr *h = (struct tpacket3_hdr *)(block + off);
    h->tp_snaplen = lens[i];
    h->tp_len = lens[i];
    h->tp_mac = MAC_GAP;
    for (uint32_t k = 0; k < lens[i]; k++) block[off + MAC_GAP + k] = (uint8_t)(i + k);
    uint32_t next = (MAC_GAP + lens[i] + 15) & ~15u;
    h->tp_next_offset = i + 1 < n ? next : 0;
    off += next;
  }
  bd->hdr.bh1.blk_len = off;
  return off;
}

static void test_walks_good_frames(void) {
  uint8_t *block = aligned_alloc(16, BLOCK);
  uint32_t lens[] = {60, 1514, 14, 100};
  build_block(block, lens, 4);
  uint32_t descs[16], rejected = 0;
  uint32_t n = nh_tpv3_walk_block(block, BLOCK, 1000, descs, 8, &rejected);
  EXPECT(n == 4);
  EXPECT(rejected == 0);
  EXPECT(descs[0] == 1000 + 48 + MAC_GAP);
  for (uint32_t i = 0; i < n; i++) {
    EXPECT(descs[2 * i + 1] == lens[i]);
    EXPECT(block[descs[2 * i] - 1000 + 1] == (uint8_t)(i + 1));
  }
  free(block);
}

static void test_stops_at_capacity(void) {
  uint8_t *block = aligned_alloc(16, BLOCK);
  uint32_t lens[] = {60, 60, 60};
  build_block(block, lens, 3);
  uint32_t descs[4], rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, descs, 2, &rejected) == 2);
  EXPECT(rejected == 1);
  free(block);
}

static void test_rejects_out_of_bounds(void) {
  uint8_t *block = aligned_alloc(16, BLOCK);
  uint32_t lens[] = {60, 60};
  build_block(block, lens, 2);
  struct tpacket3_hdr *first = (struct tpacket3_hdr *)(block + 48);
  uint32_t descs[8], rejected = 0;

  first->tp_snaplen = first->tp_len = BLOCK; /* runs past the block: dropped, walk goes on */
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, descs, 4, &rejected) == 1);
  EXPECT(rejected == 1);

  build_block(block, lens, 2);
  first->tp_next_offset = 0xfffffff0u; /* next frame outside: the rest is rejected */
  rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, descs, 4, &rejected) == 1);
  EXPECT(rejected == 1);

  build_block(block, lens, 2);
  ((struct tpacket_block_desc *)block)->hdr.bh1.num_pkts = 1000000; /* claims more than exist */
  rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, descs, 4, &rejected) == 2);
  EXPECT(rejected == 1000000 - 2);

  build_block(block, lens, 2);
  ((struct tpacket_block_desc *)block)->hdr.bh1.offset_to_first_pkt = 0; /* inside the block header */
  rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, descs, 4, &rejected) == 0);
  EXPECT(rejected == 2);

  build_block(block, lens, 2);
  first->tp_len = 1500; /* truncated by the kernel: not the frame that was on the wire */
  rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, descs, 4, &rejected) == 1);
  EXPECT(rejected == 1);

  rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, 8, 0, descs, 4, &rejected) == 0); /* too small for a header */
  free(block);
}

static void test_reinserts_vlan_tag(void) {
  uint8_t *block = aligned_alloc(16, BLOCK);
  uint32_t lens[] = {60};
  build_block(block, lens, 1);
  struct tpacket3_hdr *h = (struct tpacket3_hdr *)(block + 48);
  uint8_t original[60];
  memcpy(original, block + 48 + MAC_GAP, 60);
  h->tp_status = TP_STATUS_VLAN_VALID;
  h->hv1.tp_vlan_tci = 0x2064;
  uint32_t descs[2], rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, descs, 1, &rejected) == 1);
  EXPECT(descs[0] == 48 + MAC_GAP - 4);
  EXPECT(descs[1] == 64);
  const uint8_t *eth = block + descs[0];
  EXPECT(memcmp(eth, original, 12) == 0);
  EXPECT(eth[12] == 0x81 && eth[13] == 0x00 && eth[14] == 0x20 && eth[15] == 0x64);
  EXPECT(memcmp(eth + 16, original + 12, 48) == 0);

  build_block(block, lens, 1);
  h->tp_status = TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID;
  h->hv1.tp_vlan_tci = 5;
  h->hv1.tp_vlan_tpid = 0x88a8;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, descs, 1, &rejected) == 1);
  EXPECT(block[descs[0] + 12] == 0x88 && block[descs[0] + 13] == 0xa8);
  free(block);
}

int main(void) {
  test_walks_good_frames();
  test_stops_at_capacity();
  test_rejects_out_of_bounds();
  test_reinserts_vlan_tag();
  if (failures) {
    fprintf(stderr, "tpv3_walk: %d failure(s)\n", failures);
    return 1;
  }
  printf("tpv3_walk: all tests passed\n");
  return 0;
}
