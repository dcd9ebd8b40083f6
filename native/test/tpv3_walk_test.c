/* Unit tests of the TPACKET_V3 block walker, built with ASan and UBSan by Makefile.check. */
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/l4csum.h"
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
  uint32_t descs[24], rejected = 0;
  uint32_t n = nh_tpv3_walk_block(block, BLOCK, 1000, 0, descs, 8, &rejected);
  EXPECT(n == 4);
  EXPECT(rejected == 0);
  EXPECT(descs[0] == 1000 + 48 + MAC_GAP);
  for (uint32_t i = 0; i < n; i++) {
    EXPECT(descs[3 * i + 1] == lens[i]);
    EXPECT(descs[3 * i + 2] == 0);
    EXPECT(block[descs[3 * i] - 1000 + 1] == (uint8_t)(i + 1));
  }
  free(block);
}

static void test_stops_at_capacity(void) {
  uint8_t *block = aligned_alloc(16, BLOCK);
  uint32_t lens[] = {60, 60, 60};
  build_block(block, lens, 3);
  uint32_t descs[6], rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, 0, descs, 2, &rejected) == 2);
  EXPECT(rejected == 1);
  free(block);
}

static void test_rejects_out_of_bounds(void) {
  uint8_t *block = aligned_alloc(16, BLOCK);
  uint32_t lens[] = {60, 60};
  build_block(block, lens, 2);
  struct tpacket3_hdr *first = (struct tpacket3_hdr *)(block + 48);
  uint32_t descs[12], rejected = 0;

  first->tp_snaplen = first->tp_len = BLOCK; /* runs past the block: dropped, walk goes on */
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, 0, descs, 4, &rejected) == 1);
  EXPECT(rejected == 1);

  build_block(block, lens, 2);
  first->tp_next_offset = 0xfffffff0u; /* next frame outside: the rest is rejected */
  rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, 0, descs, 4, &rejected) == 1);
  EXPECT(rejected == 1);

  build_block(block, lens, 2);
  ((struct tpacket_block_desc *)block)->hdr.bh1.num_pkts = 1000000; /* claims more than exist */
  rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, 0, descs, 4, &rejected) == 2);
  EXPECT(rejected == 1000000 - 2);

  build_block(block, lens, 2);
  ((struct tpacket_block_desc *)block)->hdr.bh1.offset_to_first_pkt = 0; /* inside the block header */
  rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, 0, descs, 4, &rejected) == 0);
  EXPECT(rejected == 2);

  build_block(block, lens, 2);
  first->tp_len = 1500; /* truncated by the kernel: not the frame that was on the wire */
  rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, 0, descs, 4, &rejected) == 1);
  EXPECT(rejected == 1);

  rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, 8, 0, 0, descs, 4, &rejected) == 0); /* too small for a header */
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
  uint32_t descs[3], rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, 0, descs, 1, &rejected) == 1);
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
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, 0, descs, 1, &rejected) == 1);
  EXPECT(block[descs[0] + 12] == 0x88 && block[descs[0] + 13] == 0xa8);
  free(block);
}

static uint32_t sum16(const uint8_t *p, uint32_t len, uint32_t sum) {
  for (uint32_t i = 0; i + 1 < len; i += 2) sum += ((uint32_t)p[i] << 8) | p[i + 1];
  if (len & 1) sum += (uint32_t)p[len - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

/* A UDP datagram as veth hands it over with CHECKSUM_PARTIAL: the field holds the pseudo-header sum. */
static void test_completes_partial_checksum(void) {
  uint8_t *block = aligned_alloc(16, BLOCK);
  uint32_t lens[] = {74};
  build_block(block, lens, 1);
  struct tpacket3_hdr *h = (struct tpacket3_hdr *)(block + 48);
  uint8_t *f = block + 48 + MAC_GAP;
  memset(f, 0, 74);
  f[12] = 0x08;
  f[14] = 0x45;
  f[17] = 60; /* total length */
  f[22] = 64;
  f[23] = 17;
  const uint8_t addrs[8] = {10, 1, 0, 2, 10, 2, 0, 2};
  memcpy(f + 26, addrs, 8);
  uint8_t *udp = f + 34;
  udp[0] = 0x9c; udp[1] = 0x40; udp[2] = 0x82; udp[3] = 0x9a; udp[5] = 40;
  for (int i = 8; i < 40; i++) udp[i] = (uint8_t)(i * 3);
  uint32_t pseudo = sum16(addrs, 8, 17 + 40);
  udp[6] = (uint8_t)(pseudo >> 8);
  udp[7] = (uint8_t)pseudo;
  h->tp_status = TP_STATUS_CSUMNOTREADY;
  uint32_t descs[3], rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, 0, descs, 1, &rejected) == 1);
  /* Verifies like a receiver does: pseudo header + segment sums to all ones. */
  EXPECT(sum16(udp, 40, sum16(addrs, 8, 17 + 40)) == 0xffff);
  EXPECT(descs[2] == NH_DESC_L4_CHECKSUM_GOOD); /* computed here: the stack need not sum it again */

  /* The vnet header's NEEDS_CSUM says the same thing. */
  udp[6] = (uint8_t)(pseudo >> 8);
  udp[7] = (uint8_t)pseudo;
  h->tp_status = 0;
  struct virtio_net_hdr v;
  memset(&v, 0, sizeof v);
  v.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  memcpy(f - sizeof v, &v, sizeof v);
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, 1, descs, 1, &rejected) == 1);
  EXPECT(descs[2] == NH_DESC_L4_CHECKSUM_GOOD);
  EXPECT(sum16(udp, 40, sum16(addrs, 8, 17 + 40)) == 0xffff);

  /* Checksums the kernel verified are marked; others are not. */
  memset(&v, 0, sizeof v);
  memcpy(f - sizeof v, &v, sizeof v);
  h->tp_status = TP_STATUS_CSUM_VALID;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, 1, descs, 1, &rejected) == 1);
  EXPECT(descs[2] == NH_DESC_L4_CHECKSUM_GOOD);
  h->tp_status = 0;
  v.flags = VIRTIO_NET_HDR_F_DATA_VALID;
  memcpy(f - sizeof v, &v, sizeof v);
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, 1, descs, 1, &rejected) == 1);
  EXPECT(descs[2] == NH_DESC_L4_CHECKSUM_GOOD);
  v.flags = 0;
  memcpy(f - sizeof v, &v, sizeof v);
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, 1, descs, 1, &rejected) == 1);
  EXPECT(descs[2] == 0);

  /* Not IPv4 or a fragment: left alone. */
  uint8_t before[74];
  f[20] = 0x20; /* MF */
  memcpy(before, f, 74);
  EXPECT(nh_complete_l4_checksum(f, 74) == 0);
  EXPECT(memcmp(before, f, 74) == 0);
  EXPECT(nh_complete_l4_checksum(f, 20) == 0);
  free(block);
}

/* Writes the virtio_net_hdr the kernel puts right before the MAC header of the frame at `frame_off`. */
static void set_vnet(uint8_t *block, uint32_t frame_off, uint8_t flags, uint8_t gso_type, uint16_t gso_size) {
  struct virtio_net_hdr v;
  memset(&v, 0, sizeof v);
  v.flags = flags;
  v.gso_type = gso_type;
  v.gso_size = gso_size;
  v.hdr_len = 66;
  memcpy(block + frame_off + MAC_GAP - sizeof v, &v, sizeof v);
}

static void test_segment_size_from_vnet_header(void) {
  uint8_t *block = aligned_alloc(16, BLOCK);
  uint32_t lens[] = {500, 500, 500, 500, 500, 500};
  uint32_t at[6];
  build_block(block, lens, 6);
  at[0] = 48;
  for (uint32_t i = 1; i < 6; i++) at[i] = at[i - 1] + ((MAC_GAP + lens[i - 1] + 15) & ~15u);
  set_vnet(block, at[0], 0, VIRTIO_NET_HDR_GSO_TCPV4, 1448);
  set_vnet(block, at[1], 0, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 1200);
  set_vnet(block, at[2], 0, VIRTIO_NET_HDR_GSO_TCPV6, 1428);
  set_vnet(block, at[3], 0, 5 /* VIRTIO_NET_HDR_GSO_UDP_L4 */, 1472);
  set_vnet(block, at[4], 0, VIRTIO_NET_HDR_GSO_UDP, 1472); /* UFO: not a segment size we cut by */
  set_vnet(block, at[5], 0, VIRTIO_NET_HDR_GSO_NONE, 1448); /* gso_size without a GSO type */
  uint32_t descs[18], rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, 1, descs, 6, &rejected) == 6);
  EXPECT(rejected == 0);
  const uint32_t want[] = {1448, 1200, 1428, 1472, 0, 0};
  for (uint32_t i = 0; i < 6; i++) {
    EXPECT(descs[3 * i] == at[i] + MAC_GAP);
    EXPECT(descs[3 * i + 1] == 500);
    EXPECT(descs[3 * i + 2] == want[i]);
  }
  /* Without PACKET_VNET_HDR the same bytes are not a header: every segment size is 0. */
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, 0, descs, 6, &rejected) == 6);
  for (uint32_t i = 0; i < 6; i++) EXPECT(descs[3 * i + 2] == 0);
  free(block);
}

static void test_vnet_header_must_fit_before_the_mac_header(void) {
  uint8_t *block = aligned_alloc(16, BLOCK);
  uint32_t lens[] = {60, 60};
  build_block(block, lens, 2);
  struct tpacket3_hdr *first = (struct tpacket3_hdr *)(block + 48);
  /* Room for the frame header but not for a vnet header after it. */
  first->tp_mac = sizeof(struct tpacket3_hdr) + sizeof(struct virtio_net_hdr) - 1;
  uint32_t descs[6], rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, 1, descs, 2, &rejected) == 1);
  EXPECT(rejected == 1);
  rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, 0, descs, 2, &rejected) == 2);
  EXPECT(rejected == 0);
  free(block);
}

/* The VLAN tag goes back where the vnet header was: the segment size is read first. */
static void test_vnet_header_with_vlan_tag(void) {
  uint8_t *block = aligned_alloc(16, BLOCK);
  uint32_t lens[] = {1514};
  build_block(block, lens, 1);
  struct tpacket3_hdr *h = (struct tpacket3_hdr *)(block + 48);
  set_vnet(block, 48, 0, VIRTIO_NET_HDR_GSO_TCPV4, 1448);
  h->tp_status = TP_STATUS_VLAN_VALID;
  h->hv1.tp_vlan_tci = 7;
  uint32_t descs[3], rejected = 0;
  EXPECT(nh_tpv3_walk_block(block, BLOCK, 0, 1, descs, 1, &rejected) == 1);
  EXPECT(descs[0] == 48 + MAC_GAP - 4);
  EXPECT(descs[1] == 1518);
  EXPECT(descs[2] == 1448);
  EXPECT(block[descs[0] + 12] == 0x81 && block[descs[0] + 15] == 7);
  free(block);
}

/* An Ethernet + IPv4 (20) + TCP (32, CWR set) aggregate of `payload` bytes from 10.0.0.1 to 10.0.0.2. */
static uint32_t build_tcp_aggregate(uint8_t *f, uint32_t payload) {
  memset(f, 0, 14 + 20 + 32 + payload);
  f[12] = 0x08;
  uint8_t *ip = f + 14;
  ip[0] = 0x45;
  ip[2] = (uint8_t)((20 + 32 + payload) >> 8);
  ip[3] = (uint8_t)(20 + 32 + payload);
  ip[6] = 0x40; /* DF */
  ip[8] = 64;
  ip[9] = 6;
  ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 2;
  uint8_t *tcp = ip + 20;
  tcp[12] = 8 << 4;
  tcp[13] = 0x80 | 0x10; /* CWR, ACK */
  tcp[16] = 0xde, tcp[17] = 0xad;
  return 14 + 20 + 32 + payload;
}

static void test_prepares_tcp_gso_header(void) {
  static uint8_t f[14 + 20 + 32 + 4000];
  uint32_t len = build_tcp_aggregate(f, 4000);
  struct virtio_net_hdr h;
  EXPECT(nh_prepare_tcp_gso(f, len, 1000, &h) == 1);
  EXPECT(h.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM);
  EXPECT(h.gso_type == (VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN));
  EXPECT(h.gso_size == 1000);
  EXPECT(h.hdr_len == 14 + 20 + 32);
  EXPECT(h.csum_start == 14 + 20);
  EXPECT(h.csum_offset == 16);
  /* Pseudo-header: 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6 + (32 + 4000), folded, not complemented. */
  uint32_t want = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6 + 32 + 4000;
  EXPECT(f[14 + 20 + 16] == (uint8_t)(want >> 8) && f[14 + 20 + 17] == (uint8_t)want);
}

static void test_refuses_what_is_not_a_tcp_aggregate(void) {
  static uint8_t f[14 + 20 + 32 + 100];
  struct virtio_net_hdr h;
  uint32_t len = build_tcp_aggregate(f, 100);
  EXPECT(nh_prepare_tcp_gso(f, len, 0, &h) == 0);
  EXPECT(nh_prepare_tcp_gso(f, len - 1, 50, &h) == 0); /* IP length says more than the frame */
  f[14 + 9] = 17;
  EXPECT(nh_prepare_tcp_gso(f, len, 50, &h) == 0);
  len = build_tcp_aggregate(f, 100);
  f[14 + 6] = 0x20; /* MF: a fragment */
  EXPECT(nh_prepare_tcp_gso(f, len, 50, &h) == 0);
  len = build_tcp_aggregate(f, 10);
  f[14 + 20 + 12] = 15 << 4; /* TCP header longer than the packet */
  EXPECT(nh_prepare_tcp_gso(f, len, 5, &h) == 0);
  EXPECT(f[14 + 20 + 16] == 0xde); /* left alone */
}

/* Ethernet + IPv6 (next header `proto`) from 2001:db8::1 to 2001:db8::2 with an L4 segment of l4_len bytes. */
static uint32_t build_ipv6(uint8_t *f, uint8_t proto, uint32_t l4_len) {
  memset(f, 0, 14 + 40 + l4_len);
  f[12] = 0x86, f[13] = 0xdd;
  uint8_t *ip = f + 14;
  ip[0] = 0x60;
  ip[4] = (uint8_t)(l4_len >> 8), ip[5] = (uint8_t)l4_len;
  ip[6] = proto;
  ip[7] = 64;
  ip[8] = 0x20, ip[9] = 0x01, ip[10] = 0x0d, ip[11] = 0xb8, ip[23] = 1;
  ip[24] = 0x20, ip[25] = 0x01, ip[26] = 0x0d, ip[27] = 0xb8, ip[39] = 2;
  return 14 + 40 + l4_len;
}

/* The RFC 8200 §8.1 pseudo-header sum of build_ipv6's addresses. */
static uint32_t pseudo6(uint8_t proto, uint32_t l4_len) { return sum16((const uint8_t *)"\x20\x01\x0d\xb8", 4, 0) * 2 + 1 + 2 + proto + l4_len; }

static void test_completes_ipv6_partial_checksum(void) {
  static uint8_t f[14 + 40 + 41];
  uint32_t len = build_ipv6(f, 17, 41);
  uint8_t *udp = f + 54;
  udp[0] = 0x9c, udp[3] = 0x35, udp[5] = 41;
  for (int i = 8; i < 41; i++) udp[i] = (uint8_t)(i * 7);
  uint32_t p = sum16((const uint8_t *)"", 0, pseudo6(17, 41));
  udp[6] = (uint8_t)(p >> 8), udp[7] = (uint8_t)p;
  EXPECT(nh_complete_l4_checksum(f, len) == 1);
  EXPECT(sum16(udp, 41, pseudo6(17, 41)) == 0xffff); /* verifies as a receiver does, odd length too */
  /* An extension header before the transport one: left alone (Linux does not offload those). */
  len = build_ipv6(f, 0 /* hop-by-hop */, 41);
  uint8_t before[sizeof f];
  memcpy(before, f, len);
  EXPECT(nh_complete_l4_checksum(f, len) == 0);
  EXPECT(memcmp(before, f, len) == 0);
  /* A payload length beyond the frame: left alone. */
  len = build_ipv6(f, 17, 41);
  EXPECT(nh_complete_l4_checksum(f, len - 1) == 0);
}

static void test_prepares_ipv6_tcp_gso_header(void) {
  static uint8_t f[14 + 40 + 32 + 4000];
  uint32_t len = build_ipv6(f, 6, 32 + 4000);
  uint8_t *tcp = f + 54;
  tcp[12] = 8 << 4, tcp[13] = 0x10;
  struct virtio_net_hdr h;
  EXPECT(nh_prepare_tcp_gso(f, len, 1428, &h) == 1);
  EXPECT(h.gso_type == VIRTIO_NET_HDR_GSO_TCPV6);
  EXPECT(h.gso_size == 1428);
  EXPECT(h.hdr_len == 14 + 40 + 32);
  EXPECT(h.csum_start == 14 + 40);
  EXPECT(h.csum_offset == 16);
  uint32_t want = sum16((const uint8_t *)"", 0, pseudo6(6, 32 + 4000));
  EXPECT(tcp[16] == (uint8_t)(want >> 8) && tcp[17] == (uint8_t)want);
  len = build_ipv6(f, 17, 32 + 4000);
  EXPECT(nh_prepare_tcp_gso(f, len, 1428, &h) == 0); /* UDP: not a TCP aggregate */
}

int main(void) {
  test_completes_ipv6_partial_checksum();
  test_prepares_ipv6_tcp_gso_header();
  test_prepares_tcp_gso_header();
  test_refuses_what_is_not_a_tcp_aggregate();
  test_segment_size_from_vnet_header();
  test_vnet_header_must_fit_before_the_mac_header();
  test_vnet_header_with_vlan_tag();
  test_completes_partial_checksum();
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
