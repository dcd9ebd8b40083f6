#ifndef NEXTHOP_PORT_H
#define NEXTHOP_PORT_H

#include <node_api.h>
#include <stdint.h>
#include <uv.h>

/* One open device (an AF_PACKET socket or a TAP file descriptor) as JS holds it. */
typedef struct nh_port {
  int fd;
  int closed;
  napi_env env;

  /* Readiness: a uv poll on fd that calls `callback` once per wakeup. */
  uv_poll_t *poll;
  int poll_events;
  napi_ref callback;
  napi_async_context async_context;

  /* AF_PACKET receive ring (ring == NULL for TAP). */
  uint8_t *ring;
  size_t ring_len;
  uint32_t block_size;
  uint32_t block_count;
  uint32_t next_block;
  uint32_t held_first;
  uint32_t held_count;
  /* The buffer JS reads frames from: the ring itself, or a copy of a few blocks (fallback). */
  napi_ref view_ref;
  uint8_t *copy_view;
  uint32_t copy_view_blocks;
  uint64_t rejected;
  /* TPACKET_V2 ring (ring_version 2): slots of slot_size bytes from ring on, held_slots of them
   * from held_first_slot lent to JS; side: where frames too big for a slot (or, in copy mode,
   * every frame) are read to, at side_base in the view. */
  int ring_version;
  uint32_t slot_size;
  uint32_t slot_count;
  uint32_t next_slot;
  uint32_t held_first_slot;
  uint32_t held_slots;
  uint8_t *side;
  uint32_t side_len;
  uint32_t side_base;
  /* PACKET_VNET_HDR is on: every frame sent must start with a struct virtio_net_hdr. */
  int vnet_hdr;
  /* Transmit errors by errno, since the last portTxErrors call. */
  uint64_t tx_eagain;
  uint64_t tx_enobufs;
  uint64_t tx_other;
  int tx_other_errno;
} nh_port;

/* Throws a JS Error carrying errno's text; returns NULL for the caller to return. */
napi_value nh_throw_errno(napi_env env, const char *what, int err);
napi_value nh_throw(napi_env env, const char *message);

/* Wraps a new port in a JS external that closes it when collected. */
napi_value nh_port_wrap(napi_env env, nh_port *port);
/* Returns the port behind args[0], or NULL with a pending exception. */
nh_port *nh_port_unwrap(napi_env env, napi_value value);

/*
 * Exposes len bytes at data to JS as an ArrayBuffer without copying. The one place that depends
 * on external buffers being allowed: *external is set to 0 when they are not (the caller then
 * has to copy), and `finalize` runs when JS lets go of the memory.
 */
napi_status nh_create_view(napi_env env, void *data, size_t len, napi_finalize finalize, void *hint,
                           napi_value *out, int *external);

void nh_port_release(nh_port *port);

napi_value nh_port_start(napi_env env, napi_callback_info info);
napi_value nh_port_close(napi_env env, napi_callback_info info);
napi_value nh_port_send_batch(napi_env env, napi_callback_info info);
napi_value nh_port_write_batch(napi_env env, napi_callback_info info);
napi_value nh_port_watch_writable(napi_env env, napi_callback_info info);
napi_value nh_port_tx_errors(napi_env env, napi_callback_info info);

napi_value nh_afp_open(napi_env env, napi_callback_info info);
napi_value nh_afp_receive(napi_env env, napi_callback_info info);
napi_value nh_afp_drops(napi_env env, napi_callback_info info);

napi_value nh_tap_open(napi_env env, napi_callback_info info);
napi_value nh_tap_read_batch(napi_env env, napi_callback_info info);

/* Argument helpers: each returns 0 with a pending JS exception on a wrong argument. */
int nh_arg_u32(napi_env env, napi_value v, uint32_t *out);
int nh_arg_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len);
int nh_arg_u32_array(napi_env env, napi_value v, uint32_t **data, size_t *len);
int nh_arg_f64_array(napi_env env, napi_value v, double **data, size_t *len);

#define NH_CALL(env, call)                                                                         \
  do {                                                                                             \
    if ((call) != napi_ok) {                                                                       \
      nh_throw((env), "N-API call failed: " #call);                                                \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

#endif
