#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "port.h"
#include "tpv2_walk.h"
#include "tpv3_walk.h"

/* A frame's slot in a TPACKET_V3 block takes at least this much (header + sockaddr_ll + alignment). */
enum { MIN_FRAME_STRIDE = 64, COPY_VIEW_BLOCKS = 4 };

/*
 * TPACKET_V2: the side buffer holds this many bytes of oversized frames (or, in copy mode, of all
 * frames) per afpReceive call, and one call hands over at most V2_MAX_FRAMES frames (so the
 * kernel keeps free slots while JS works on a batch).
 */
enum { V2_SIDE_LEN = 4 << 20, V2_MAX_FRAMES = 2048 };

/*
 * Smallest slot for an Ethernet frame of `mtu` payload bytes, as tpacket_rcv() lays it out: the
 * slot header and a sockaddr_ll, aligned with room for a 16-byte MAC header, then the vnet header,
 * then the frame (its MAC header ends there) — plus an in-band VLAN tag. Rounded up to a power of
 * two so that slots pack pages exactly.
 */
static uint32_t v2_slot_size(uint32_t mtu) {
  uint32_t hdrlen = TPACKET_ALIGN(sizeof(struct tpacket2_hdr)) + sizeof(struct sockaddr_ll);
  uint32_t net = TPACKET_ALIGN(hdrlen + 16) + sizeof(struct virtio_net_hdr);
  uint32_t need = net + 4 + mtu;
  uint32_t size = 256;
  while (size < need) size <<= 1;
  return size;
}

static void unmap_ring(napi_env env, void *data, void *hint) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

static int get_named_u32(napi_env env, napi_value obj, const char *name, uint32_t *out) {
  napi_value v;
  return napi_get_named_property(env, obj, name, &v) == napi_ok && nh_arg_u32(env, v, out);
}

/* An option added later: absent (undefined) gives `fallback`, so an older caller keeps working. */
static int get_optional_u32(napi_env env, napi_value obj, const char *name, uint32_t fallback, uint32_t *out) {
  napi_value v;
  napi_valuetype type;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok || napi_typeof(env, v, &type) != napi_ok) return 0;
  if (type == napi_undefined) {
    *out = fallback;
    return 1;
  }
  return nh_arg_u32(env, v, out);
}

static napi_value fail_open(napi_env env, int fd, const char *what, int err) {
  if (fd >= 0) close(fd);
  return nh_throw_errno(env, what, err);
}

/*
 * afpOpen({ ifindex, blockSize, blockCount, blockTimeoutMs, promiscuous, qdiscBypass, copyRing,
 *           ringVersion?, slotCount?, mtu? })
 *   -> { port, view: ArrayBuffer, external: boolean, maxFrames, slotCount }
 * maxFrames is how many [offset, length, segment size] triples the descs array given to afpReceive
 * must hold. ringVersion 3 (the default) is a TPACKET_V3 ring of blockCount blocks of blockSize;
 * ringVersion 2 a TPACKET_V2 ring of slotCount slots (rounded up to fill pages) sized for mtu, see
 * tpv2_walk.h (the block options are then ignored). The socket has PACKET_VNET_HDR: received frames carry GSO information (see
 * tpv3_walk.h) and every transmitted frame is preceded by a virtio_net_hdr (sendBatch adds it).
 */
napi_value nh_afp_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value opts;
  NH_CALL(env, napi_get_cb_info(env, info, &argc, &opts, NULL, NULL));
  uint32_t ifindex, block_size, block_count, timeout_ms, promiscuous, qdisc_bypass, copy_ring;
  uint32_t ring_version, slot_count, mtu;
  if (!get_named_u32(env, opts, "ifindex", &ifindex) || !get_named_u32(env, opts, "blockSize", &block_size) ||
      !get_named_u32(env, opts, "blockCount", &block_count) ||
      !get_named_u32(env, opts, "blockTimeoutMs", &timeout_ms) ||
      !get_named_u32(env, opts, "promiscuous", &promiscuous) ||
      !get_named_u32(env, opts, "qdiscBypass", &qdisc_bypass) ||
      !get_named_u32(env, opts, "copyRing", &copy_ring) ||
      !get_optional_u32(env, opts, "ringVersion", 3, &ring_version) ||
      !get_optional_u32(env, opts, "slotCount", 8192, &slot_count) ||
      !get_optional_u32(env, opts, "mtu", 1500, &mtu)) {
    return NULL;
  }
  long page = sysconf(_SC_PAGESIZE);
  uint32_t slot_size = 0;
  if (ring_version != 2 && ring_version != 3) return nh_throw(env, "ringVersion must be 2 or 3");
  if (ring_version == 2) {
    /* V2 geometry: page-sized blocks (or one slot each) that slots fill exactly. */
    if (mtu == 0 || mtu > 65535) return nh_throw(env, "mtu must be in [1, 65535]");
    slot_size = v2_slot_size(mtu);
    block_size = slot_size > (uint32_t)page ? slot_size : (uint32_t)page;
    uint32_t per_block = block_size / slot_size;
    if (slot_count == 0 || (uint64_t)slot_count * slot_size > UINT32_MAX / 2) {
      return nh_throw(env, "slotCount must be positive and the ring below 2 GiB");
    }
    block_count = (slot_count + per_block - 1) / per_block;
    slot_count = block_count * per_block;
  }
  if (block_size == 0 || block_size % (uint32_t)page != 0 || block_count == 0 ||
      (uint64_t)block_size * block_count > UINT32_MAX) {
    return nh_throw(env, "blockSize must be a multiple of the page size and the ring below 4 GiB");
  }

  /* Protocol 0 until bind: no frames are queued before the ring exists. */
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return nh_throw_errno(env, "socket(AF_PACKET)", errno);
  int version = ring_version == 2 ? TPACKET_V2 : TPACKET_V3;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0) {
    return fail_open(env, fd, "PACKET_VERSION", errno);
  }
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) {
    return fail_open(env, fd, "PACKET_IGNORE_OUTGOING", errno);
  }
  /* Before the ring exists (the kernel refuses it after, EBUSY): the ring layout depends on it. */
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) {
    return fail_open(env, fd, "PACKET_VNET_HDR", errno);
  }
  if (qdisc_bypass && setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) {
    return fail_open(env, fd, "PACKET_QDISC_BYPASS", errno);
  }
  struct tpacket_req3 req;
  memset(&req, 0, sizeof req);
  req.tp_block_size = block_size;
  req.tp_block_nr = block_count;
  if (ring_version == 2) {
    req.tp_frame_size = slot_size;
    req.tp_frame_nr = slot_count;
    /* A frame longer than its slot is also queued whole on the socket (TP_STATUS_COPY), which
     * needs room in the receive buffer: a few 64 KiB aggregates in flight at least. */
    if (setsockopt(fd, SOL_PACKET, PACKET_COPY_THRESH, &one, sizeof one) < 0) {
      return fail_open(env, fd, "PACKET_COPY_THRESH", errno);
    }
    int rcvbuf = 8 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) {
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
  } else {
    req.tp_frame_size = 2048 < block_size ? 2048 : block_size;
    req.tp_frame_nr = block_size / req.tp_frame_size * block_count;
    req.tp_retire_blk_tov = timeout_ms;
  }
  /* The V2 request is the V3 one without its tail (tpacket_req is a prefix of tpacket_req3). */
  socklen_t req_len = ring_version == 2 ? sizeof(struct tpacket_req) : sizeof req;
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, req_len) < 0) {
    return fail_open(env, fd, "PACKET_RX_RING", errno);
  }
  size_t ring_len = (size_t)block_size * block_count;
  /* V2 without copy mode: the side buffer follows the ring in one mapping, so that JS sees both
   * through one view and a batch mixes ring and side buffer frames in their order of arrival. */
  size_t map_len = ring_version == 2 && !copy_ring ? ring_len + V2_SIDE_LEN : ring_len;
  void *ring = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ring == MAP_FAILED) return fail_open(env, fd, "mmap(reserve)", errno);
  if (mmap(ring, ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd, 0) == MAP_FAILED) {
    int err = errno;
    munmap(ring, map_len);
    return fail_open(env, fd, "mmap(PACKET_RX_RING)", err);
  }
  ring_len = map_len;
  /* Transmit bursts (one sendmmsg per flush) must not hit the default socket buffer limit. */
  int sndbuf = 8 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  }
  struct sockaddr_ll addr;
  memset(&addr, 0, sizeof addr);
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = (int)ifindex;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int err = errno;
    munmap(ring, ring_len);
    return fail_open(env, fd, "bind(AF_PACKET)", err);
  }
  if (promiscuous) {
    /* A membership, not IFF_PROMISC: the kernel drops it when the socket closes, even on a crash. */
    struct packet_mreq mreq;
    memset(&mreq, 0, sizeof mreq);
    mreq.mr_ifindex = (int)ifindex;
    mreq.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof mreq) < 0) {
      int err = errno;
      munmap(ring, ring_len);
      return fail_open(env, fd, "PACKET_ADD_MEMBERSHIP(PROMISC)", err);
    }
  }

  nh_port *port = calloc(1, sizeof *port);
  if (port == NULL) {
    munmap(ring, ring_len);
    return fail_open(env, fd, "calloc", ENOMEM);
  }
  port->fd = fd;
  port->env = env;
  port->ring = ring;
  port->ring_len = ring_len;
  port->block_size = block_size;
  port->block_count = block_count;
  port->vnet_hdr = 1;
  port->ring_version = (int)ring_version;
  port->slot_size = slot_size;
  port->slot_count = ring_version == 2 ? slot_count : 0;

  napi_value view;
  int external = 0;
  if (ring_version == 2) {
    if (!copy_ring &&
        nh_create_view(env, ring, ring_len, unmap_ring, (void *)(uintptr_t)ring_len, &view, &external) == napi_ok) {
      port->side = (uint8_t *)ring + (size_t)block_size * block_count;
      port->side_base = block_size * block_count;
    } else {
      void *data;
      if (napi_create_arraybuffer(env, V2_SIDE_LEN, &data, &view) != napi_ok) {
        munmap(ring, ring_len);
        close(fd);
        free(port);
        return nh_throw(env, "cannot allocate the copy buffer");
      }
      /* Copy mode: the ring is ours to unmap (nh_port_release), JS reads only the copies. */
      port->copy_view = data;
      port->side = data;
      port->side_base = 0;
    }
    port->side_len = V2_SIDE_LEN;
  } else if (!copy_ring &&
      nh_create_view(env, ring, ring_len, unmap_ring, (void *)(uintptr_t)ring_len, &view, &external) == napi_ok) {
    port->copy_view = NULL;
  } else {
    /* Fallback: a JS-owned buffer of a few blocks that afpReceive copies ready blocks into. */
    uint32_t blocks = block_count < COPY_VIEW_BLOCKS ? block_count : COPY_VIEW_BLOCKS;
    void *data;
    if (napi_create_arraybuffer(env, (size_t)block_size * blocks, &data, &view) != napi_ok) {
      munmap(ring, ring_len);
      close(fd);
      free(port);
      return nh_throw(env, "cannot allocate the copy buffer");
    }
    port->copy_view = data;
    port->copy_view_blocks = blocks;
  }
  napi_value wrapped = nh_port_wrap(env, port);
  if (wrapped == NULL) return NULL;
  NH_CALL(env, napi_create_reference(env, view, 1, &port->view_ref));

  uint32_t blocks_per_batch = port->copy_view ? port->copy_view_blocks : block_count;
  if (blocks_per_batch > 8) blocks_per_batch = 8;
  uint32_t frames = block_size / MIN_FRAME_STRIDE * blocks_per_batch;
  if (ring_version == 2) frames = slot_count < V2_MAX_FRAMES ? slot_count : V2_MAX_FRAMES;
  napi_value result, ext, max_frames, slots;
  NH_CALL(env, napi_create_object(env, &result));
  NH_CALL(env, napi_get_boolean(env, external, &ext));
  NH_CALL(env, napi_create_uint32(env, frames, &max_frames));
  NH_CALL(env, napi_create_uint32(env, port->slot_count, &slots));
  NH_CALL(env, napi_set_named_property(env, result, "slotCount", slots));
  NH_CALL(env, napi_set_named_property(env, result, "port", wrapped));
  NH_CALL(env, napi_set_named_property(env, result, "view", view));
  NH_CALL(env, napi_set_named_property(env, result, "external", ext));
  NH_CALL(env, napi_set_named_property(env, result, "maxFrames", max_frames));
  return result;
}

static struct tpacket_hdr_v1 *block_header(nh_port *port, uint32_t index) {
  return &((struct tpacket_block_desc *)(port->ring + (size_t)index * port->block_size))->hdr.bh1;
}

static void release_held(nh_port *port) {
  for (uint32_t k = 0; k < port->held_count; k++) {
    uint32_t index = (port->held_first + k) % port->block_count;
    __atomic_store_n(&block_header(port, index)->block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  }
  port->held_count = 0;
}

static void release_held_slots(nh_port *port) {
  for (uint32_t k = 0; k < port->held_slots; k++) {
    uint32_t index = (port->held_first_slot + k) % port->slot_count;
    uint32_t *status = (uint32_t *)(void *)(port->ring + (size_t)index * port->slot_size);
    /* Release: our reads (and in-place rewrites) of the frame happen before the kernel reuses it. */
    __atomic_store_n(status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  }
  port->held_slots = 0;
}

/* The whole packet behind a TP_STATUS_COPY slot, vnet header first; its full length, or -1. */
static long read_queued(void *ctx, uint8_t *dst, uint32_t cap) {
  nh_port *port = ctx;
  ssize_t n = recv(port->fd, dst, cap, MSG_TRUNC | MSG_DONTWAIT);
  return n < 0 ? -1 : (long)n;
}

static uint32_t receive_v2(nh_port *port, uint32_t *descs, size_t descs_len) {
  release_held_slots(port);
  nh_tpv2_ring ring = {
      .slots = port->ring,
      .slot_size = port->slot_size,
      .slot_count = port->slot_count,
      .side = port->side,
      .side_len = port->side_len,
      .side_base = port->side_base,
      .vnet_hdr = port->vnet_hdr,
      .copy_all = port->copy_view != NULL,
      .read_queued = read_queued,
      .ctx = port,
  };
  uint32_t taken, rejected = 0, count;
  do {
    port->held_first_slot = port->next_slot;
    count = nh_tpv2_walk(&ring, &port->next_slot, port->slot_count, descs, (uint32_t)(descs_len / NH_DESC_STRIDE),
                         &taken, &rejected);
    port->held_slots = taken;
    /* Copy mode: JS reads the copies, the slots can go back now; and a return of 0 holds none. */
    if (port->copy_view != NULL || count == 0) release_held_slots(port);
  } while (count == 0 && taken > 0);
  port->rejected += rejected;
  return count;
}

/*
 * afpReceive(port, descs: Uint32Array) -> count
 * Gives the blocks of the previous batch back to the kernel, then fills descs with [offset,
 * length, segment size] triples (offsets into the view) for every frame of the blocks that are
 * ready now.
 * Returns 0 when nothing is ready: calling until 0 leaves no block held.
 */
napi_value nh_afp_receive(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  NH_CALL(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  nh_port *port = nh_port_unwrap(env, args[0]);
  uint32_t *descs;
  size_t descs_len;
  if (port == NULL || !nh_arg_u32_array(env, args[1], &descs, &descs_len)) return NULL;
  napi_value out;
  if (port->closed) {
    NH_CALL(env, napi_create_uint32(env, 0, &out));
    return out;
  }
  if (port->ring == NULL) return nh_throw(env, "not an AF_PACKET port");
  if (port->ring_version == 2) {
    NH_CALL(env, napi_create_uint32(env, receive_v2(port, descs, descs_len), &out));
    return out;
  }
  release_held(port);

  uint32_t max_frames = (uint32_t)(descs_len / NH_DESC_STRIDE);
  uint32_t per_block_bound = port->block_size / MIN_FRAME_STRIDE;
  uint32_t max_blocks = port->copy_view ? port->copy_view_blocks : port->block_count;
  uint32_t count = 0, blocks = 0;
  uint32_t rejected = 0;
  port->held_first = port->next_block;
  while (blocks < max_blocks && max_frames - count >= per_block_bound) {
    struct tpacket_hdr_v1 *hdr = block_header(port, port->next_block);
    if (!(__atomic_load_n(&hdr->block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) break;
    uint8_t *block = port->ring + (size_t)port->next_block * port->block_size;
    if (port->copy_view) {
      uint8_t *copy = port->copy_view + (size_t)blocks * port->block_size;
      uint32_t used = hdr->blk_len < port->block_size ? hdr->blk_len : port->block_size;
      memcpy(copy, block, used);
      /* The walker clamps to blk_len, so the stale tail of the copy is never read. */
      count += nh_tpv3_walk_block(copy, used, blocks * port->block_size, port->vnet_hdr,
                                  descs + NH_DESC_STRIDE * count, max_frames - count, &rejected);
      __atomic_store_n(&hdr->block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    } else {
      count += nh_tpv3_walk_block(block, port->block_size, port->next_block * port->block_size,
                                  port->vnet_hdr, descs + NH_DESC_STRIDE * count, max_frames - count,
                                  &rejected);
      port->held_count++;
    }
    blocks++;
    port->next_block = (port->next_block + 1) % port->block_count;
  }
  port->rejected += rejected;
  NH_CALL(env, napi_create_uint32(env, count, &out));
  return out;
}

/*
 * afpDrops(port) -> [kernel drops, frames rejected by the walker] since the previous call
 * (PACKET_STATISTICS resets the kernel's counters on every read).
 */
napi_value nh_afp_drops(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  NH_CALL(env, napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  nh_port *port = nh_port_unwrap(env, arg);
  if (port == NULL) return NULL;
  uint32_t drops = 0;
  if (!port->closed) {
    struct tpacket_stats_v3 st;
    socklen_t len = sizeof st;
    memset(&st, 0, sizeof st);
    if (getsockopt(port->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) {
      return nh_throw_errno(env, "PACKET_STATISTICS", errno);
    }
    drops = st.tp_drops;
  }
  napi_value out, v0, v1;
  NH_CALL(env, napi_create_array_with_length(env, 2, &out));
  NH_CALL(env, napi_create_uint32(env, drops, &v0));
  NH_CALL(env, napi_create_double(env, (double)port->rejected, &v1));
  port->rejected = 0;
  NH_CALL(env, napi_set_element(env, out, 0, v0));
  NH_CALL(env, napi_set_element(env, out, 1, v1));
  return out;
}
