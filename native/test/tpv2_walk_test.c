/* Unit tests of the TPACKET_V2 slot walker, built with ASan and UBSan by Makefile.check. */
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/tpv2_walk.h"

static int failures = 0;

#define EXPECT(cond)                                                                               \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);                          \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

/* tpacket_rcv()'s layout with vnet headers: MAC header at 76, the vnet header right before it. */
enum { SLOT = 2048, SLOTS = 8, MAC = 76, VNET = sizeof(struct virtio_net_hdr), SIDE = 3 * (NH_TPV2_QUEUED_MAX + 64) };

static uint8_t *slots;
static uint8_t *side;

/* Packets "queued on the socket": what read_queued hands out, in order. */
static uint8_t *queue[4];
static uint32_t queue_len[4];
static uint32_t queue_head, queue_tail;

static long fake_read_queued(void *ctx, uint8_t *dst, uint32_t cap) {
  (void)ctx;
  if (queue_head == queue_tail) return -1;
  uint32_t i = queue_head++ % 4;
  if (dst != NULL) memcpy(dst, queue[i], queue_len[i] < cap ? queue_len[i] : cap);
  return (long)queue_len[i];
}

static nh_tpv2_ring make_ring(int vnet, int copy_all) {
  nh_tpv2_ring r = {slots, SLOT, SLOTS, side, SIDE, SLOT * SLOTS, vnet, copy_all, fake_read_queued, NULL};
  return r;
}

static struct tpacket2_hdr *slot_hdr(uint32_t i) { return (struct tpacket2_hdr *)(slots + (size_t)i * SLOT); }

/* A frame of len bytes (byte k = seed + k) in slot i, ready for us. */
static void put_frame(uint32_t i, uint32_t len, uint8_t seed, uint32_t status) {
  struct tpacket2_hdr *h = slot_hdr(i);
  memset(h, 0, SLOT);
  h->tp_len = len;
  h->tp_snaplen = len;
  h->tp_mac = MAC;
  for (uint32_t k = 0; k < len; k++) slots[(size_t)i * SLOT + MAC + k] = (uint8_t)(seed + k);
  h->tp_status = TP_STATUS_USER | status;
}

static void reset(void) {
  memset(slots, 0, (size_t)SLOT * SLOTS);
  queue_head = queue_tail = 0;
}

static void test_walks_ready_slots_in_order(void) {
  reset();
  put_frame(0, 60, 1, 0);
  put_frame(1, 1514, 2, 0);
  put_frame(2, 14, 3, 0);
  nh_tpv2_ring r = make_ring(1, 0);
  uint32_t next = 0, taken = 0, rejected = 0, descs[3 * 8];
  uint32_t n = nh_tpv2_walk(&r, &next, SLOTS, descs, 8, &taken, &rejected);
  EXPECT(n == 3);
  EXPECT(taken == 3 && next == 3 && rejected == 0);
  for (uint32_t i = 0; i < n; i++) {
    EXPECT(descs[3 * i] == i * SLOT + MAC);
    EXPECT(slots[descs[3 * i]] == (uint8_t)(i + 1));
    EXPECT(descs[3 * i + 2] == 0);
  }
  EXPECT(descs[1] == 60 && descs[4] == 1514 && descs[7] == 14);
}

static void test_stops_at_a_kernel_slot_and_wraps(void) {
  reset();
  put_frame(SLOTS - 1, 60, 9, 0);
  put_frame(0, 60, 10, 0);
  nh_tpv2_ring r = make_ring(1, 0);
  uint32_t next = SLOTS - 1, taken = 0, rejected = 0, descs[3 * 8];
  EXPECT(nh_tpv2_walk(&r, &next, SLOTS, descs, 8, &taken, &rejected) == 2);
  EXPECT(next == 1 && taken == 2);
  EXPECT(descs[0] == (SLOTS - 1) * SLOT + MAC && descs[3] == MAC);
  /* Limits: max_frames and max_slots. */
  put_frame(1, 60, 1, 0);
  put_frame(2, 60, 1, 0);
  next = 1;
  EXPECT(nh_tpv2_walk(&r, &next, SLOTS, descs, 1, &taken, &rejected) == 1 && next == 2 && taken == 1);
  EXPECT(nh_tpv2_walk(&r, &next, 0, descs, 8, &taken, &rejected) == 0 && taken == 0);
}

static void test_rejects_frames_outside_their_slot(void) {
  reset();
  put_frame(0, 60, 1, 0);
  slot_hdr(0)->tp_mac = SLOT - 30; /* runs past the slot */
  put_frame(1, 60, 1, 0);
  slot_hdr(1)->tp_mac = 20; /* inside the slot header */
  put_frame(2, 60, 1, 0);
  slot_hdr(2)->tp_snaplen = 50; /* truncated, and no copy queued */
  put_frame(3, 60, 1, 0);
  nh_tpv2_ring r = make_ring(1, 0);
  uint32_t next = 0, taken = 0, rejected = 0, descs[3 * 8];
  EXPECT(nh_tpv2_walk(&r, &next, SLOTS, descs, 8, &taken, &rejected) == 1);
  EXPECT(rejected == 3 && taken == 4);
  EXPECT(descs[0] == 3 * SLOT + MAC);
}

static void test_reads_oversized_frames_from_the_queue(void) {
  reset();
  /* A 40,000-byte GSO aggregate, its slot holding only the head (TP_STATUS_COPY). */
  uint32_t big = 40000;
  uint8_t *pkt = malloc(VNET + big);
  memset(pkt, 0, VNET);
  struct virtio_net_hdr vh = {0};
  vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
  vh.gso_size = 1448;
  memcpy(pkt, &vh, sizeof vh);
  for (uint32_t k = 0; k < big; k++) pkt[VNET + k] = (uint8_t)(7 + k);
  queue[0] = pkt;
  queue_len[0] = VNET + big;
  queue_tail = 1;
  put_frame(0, 60, 1, 0);
  put_frame(1, SLOT - MAC, 7, TP_STATUS_COPY);
  slot_hdr(1)->tp_len = big;
  put_frame(2, 60, 3, 0);
  nh_tpv2_ring r = make_ring(1, 0);
  uint32_t next = 0, taken = 0, rejected = 0, descs[3 * 8];
  EXPECT(nh_tpv2_walk(&r, &next, SLOTS, descs, 8, &taken, &rejected) == 3);
  EXPECT(rejected == 0 && taken == 3 && queue_head == 1);
  EXPECT(descs[0] == MAC && descs[6] == 2 * SLOT + MAC);
  uint32_t off = descs[3];
  EXPECT(off >= SLOT * SLOTS && off - SLOT * SLOTS + big <= SIDE);
  EXPECT(descs[4] == big);
  EXPECT(descs[5] == 1448);
  EXPECT(memcmp(side + (off - SLOT * SLOTS), pkt + VNET, big) == 0);

  /* Room for two 64 KiB entries: after two 40,000-byte frames the third waits for the next walk
   * (its slot not taken, its copy still queued). */
  reset();
  for (uint32_t i = 0; i < 4; i++) {
    queue[i] = pkt;
    queue_len[i] = VNET + big;
    put_frame(i, SLOT - MAC, 7, TP_STATUS_COPY);
    slot_hdr(i)->tp_len = big;
  }
  queue_tail = 4;
  next = 0;
  r.side_len = 2 * (NH_TPV2_QUEUED_MAX + 64);
  EXPECT(nh_tpv2_walk(&r, &next, SLOTS, descs, 8, &taken, &rejected) == 2);
  EXPECT(taken == 2 && next == 2 && queue_head == 2 && rejected == 0);
  EXPECT(descs[3] >= descs[0] + big);
  EXPECT(nh_tpv2_walk(&r, &next, SLOTS, descs, 8, &taken, &rejected) == 2 && taken == 2 && next == 4);
  r.side_len = SIDE;

  /* A copy that does not match its slot (or is missing) is dropped, and the walk goes on. */
  reset();
  queue[0] = pkt;
  queue_len[0] = VNET + big - 1;
  queue_tail = 1;
  put_frame(0, SLOT - MAC, 7, TP_STATUS_COPY);
  slot_hdr(0)->tp_len = big;
  put_frame(1, SLOT - MAC, 7, TP_STATUS_COPY);
  slot_hdr(1)->tp_len = big;
  put_frame(2, 60, 1, 0);
  next = 0;
  rejected = 0;
  EXPECT(nh_tpv2_walk(&r, &next, SLOTS, descs, 8, &taken, &rejected) == 1);
  EXPECT(rejected == 2 && taken == 3 && descs[0] == 2 * SLOT + MAC);
  free(pkt);
}

static void test_reinserts_vlan_tag(void) {
  reset();
  put_frame(0, 60, 0, TP_STATUS_VLAN_VALID);
  uint8_t *eth = slots + MAC;
  eth[12] = 0x08;
  eth[13] = 0x00;
  slot_hdr(0)->tp_vlan_tci = 0x0123;
  nh_tpv2_ring r = make_ring(1, 0);
  uint32_t next = 0, taken = 0, rejected = 0, descs[3 * 8];
  EXPECT(nh_tpv2_walk(&r, &next, SLOTS, descs, 8, &taken, &rejected) == 1);
  EXPECT(descs[0] == MAC - 4 && descs[1] == 64);
  const uint8_t *f = slots + descs[0];
  EXPECT(f[0] == 0 && f[11] == 11);
  EXPECT(f[12] == 0x81 && f[13] == 0x00 && f[14] == 0x01 && f[15] == 0x23);
  EXPECT(f[16] == 0x08 && f[17] == 0x00);
}

static void test_copy_mode_copies_every_frame(void) {
  reset();
  put_frame(0, 1514, 5, TP_STATUS_CSUM_VALID);
  put_frame(1, 60, 6, TP_STATUS_VLAN_VALID);
  slot_hdr(1)->tp_vlan_tci = 7;
  nh_tpv2_ring r = make_ring(1, 1);
  r.side_base = 0;
  uint32_t next = 0, taken = 0, rejected = 0, descs[3 * 8];
  EXPECT(nh_tpv2_walk(&r, &next, SLOTS, descs, 8, &taken, &rejected) == 2);
  EXPECT(taken == 2 && rejected == 0);
  EXPECT(descs[1] == 1514 && descs[2] == NH_DESC_L4_CHECKSUM_GOOD);
  EXPECT(memcmp(side + descs[0], slots + MAC, 1514) == 0);
  EXPECT(descs[4] == 64 && side[descs[3] + 12] == 0x81 && side[descs[3] + 15] == 7);
  EXPECT(side[descs[3] + 16] == (uint8_t)(6 + 12));
  EXPECT(descs[3] + 64 <= SIDE && descs[3] >= descs[0] + 1514);
}

int main(void) {
  slots = aligned_alloc(4096, (size_t)SLOT * SLOTS);
  side = malloc(SIDE);
  test_walks_ready_slots_in_order();
  test_stops_at_a_kernel_slot_and_wraps();
  test_rejects_frames_outside_their_slot();
  test_reads_oversized_frames_from_the_queue();
  test_reinserts_vlan_tag();
  test_copy_mode_copies_every_frame();
  free(slots);
  free(side);
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("tpv2_walk_test: ok\n");
  return 0;
}
