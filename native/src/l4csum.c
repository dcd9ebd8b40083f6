#include "l4csum.h"

#include <linux/virtio_net.h>
#include <string.h>

enum { ETH_HLEN_ = 14, IPV4_MIN = 20, IPV6_HLEN = 40, PROTO_TCP = 6, PROTO_UDP = 17 };

static uint32_t be16(const uint8_t *p) { return ((uint32_t)p[0] << 8) | p[1]; }

static uint32_t fold(uint64_t sum) {
  while (sum > 0xffff) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return (uint32_t)sum;
}

/* Sums l4[0, l4_len) — the checksum field holds the pseudo-header sum — and stores the result. */
static int finish(uint8_t *l4, uint32_t l4_len, uint8_t proto) {
  uint32_t field;
  if (proto == PROTO_TCP && l4_len >= 20) {
    field = 16;
  } else if (proto == PROTO_UDP && l4_len >= 8) {
    field = 6;
  } else {
    return 0;
  }
  uint64_t sum = 0;
  uint32_t i = 0;
  for (; i + 1 < l4_len; i += 2) {
    sum += be16(l4 + i);
  }
  if (i < l4_len) {
    sum += (uint32_t)l4[i] << 8;
  }
  uint16_t csum = (uint16_t)~fold(sum);
  if (csum == 0 && proto == PROTO_UDP) {
    csum = 0xffff; /* RFC 768: zero means "no checksum" (and RFC 8200 §8.1 forbids it over IPv6) */
  }
  l4[field] = (uint8_t)(csum >> 8);
  l4[field + 1] = (uint8_t)csum;
  return 1;
}

int nh_complete_l4_checksum(uint8_t *frame, uint32_t len) {
  if (len < ETH_HLEN_ + IPV4_MIN) {
    return 0;
  }
  const uint8_t *ip = frame + ETH_HLEN_;
  if (be16(frame + 12) == 0x86dd) {
    /* IPv6 with the transport header right after the fixed header: what Linux offloads. */
    if (len < ETH_HLEN_ + IPV6_HLEN || (ip[0] >> 4) != 6) {
      return 0;
    }
    uint32_t payload = be16(ip + 4);
    if (ETH_HLEN_ + IPV6_HLEN + payload > len) {
      return 0;
    }
    return finish(frame + ETH_HLEN_ + IPV6_HLEN, payload, ip[6]);
  }
  if (be16(frame + 12) != 0x0800) {
    return 0;
  }
  uint32_t hl = (uint32_t)(ip[0] & 15) * 4;
  uint32_t total = be16(ip + 2);
  if ((ip[0] >> 4) != 4 || hl < IPV4_MIN || total < hl || ETH_HLEN_ + total > len) {
    return 0;
  }
  if ((be16(ip + 6) & 0x3fff) != 0) {
    return 0; /* a fragment: the transport header is not all here */
  }
  return finish(frame + ETH_HLEN_ + hl, total - hl, ip[9]);
}

int nh_prepare_tcp_gso(uint8_t *frame, uint32_t len, uint32_t segment_size, struct virtio_net_hdr *hdr) {
  if (segment_size == 0 || len < ETH_HLEN_ + IPV4_MIN + 20) {
    return 0;
  }
  const uint8_t *ip = frame + ETH_HLEN_;
  uint32_t hl, tcp_len;
  uint64_t sum;
  uint8_t gso_type;
  if (be16(frame + 12) == 0x86dd) {
    /* IPv6 with TCP right after the fixed header (RFC 8200 §8.1 pseudo header). */
    if (len < ETH_HLEN_ + IPV6_HLEN + 20 || (ip[0] >> 4) != 6 || ip[6] != PROTO_TCP) {
      return 0;
    }
    hl = IPV6_HLEN;
    tcp_len = be16(ip + 4);
    if (ETH_HLEN_ + hl + tcp_len != len) {
      return 0;
    }
    sum = PROTO_TCP + tcp_len;
    for (uint32_t i = 8; i < 40; i += 2) {
      sum += be16(ip + i);
    }
    gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
  } else if (be16(frame + 12) == 0x0800) {
    hl = (uint32_t)(ip[0] & 15) * 4;
    uint32_t total = be16(ip + 2);
    if ((ip[0] >> 4) != 4 || hl < IPV4_MIN || ip[9] != PROTO_TCP || (be16(ip + 6) & 0x3fff) != 0 ||
        ETH_HLEN_ + total != len || total < hl + 20) {
      return 0;
    }
    tcp_len = total - hl;
    sum = be16(ip + 12) + be16(ip + 14) + be16(ip + 16) + be16(ip + 18) + PROTO_TCP + tcp_len;
    gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
  } else {
    return 0;
  }
  uint8_t *tcp = frame + ETH_HLEN_ + hl;
  uint32_t thl = (uint32_t)(tcp[12] >> 4) * 4;
  if (thl < 20 || thl > tcp_len) {
    return 0;
  }
  sum = fold(sum);
  tcp[16] = (uint8_t)(sum >> 8);
  tcp[17] = (uint8_t)sum;
  memset(hdr, 0, sizeof *hdr);
  /* Host byte order: packet sockets use the legacy virtio layout (vio_le() in af_packet.c). */
  hdr->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  hdr->gso_type = gso_type | ((tcp[13] & 0x80) ? VIRTIO_NET_HDR_GSO_ECN : 0);
  hdr->hdr_len = (uint16_t)(ETH_HLEN_ + hl + thl);
  hdr->gso_size = (uint16_t)(segment_size > 0xffff ? 0xffff : segment_size);
  hdr->csum_start = (uint16_t)(ETH_HLEN_ + hl);
  hdr->csum_offset = 16;
  return 1;
}
