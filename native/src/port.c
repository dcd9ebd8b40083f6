#include "port.h"

#include <errno.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "l4csum.h"
#include "tpv3_walk.h"

napi_value nh_throw(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

napi_value nh_throw_errno(napi_env env, const char *what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, message);
  return NULL;
}

int nh_arg_u32(napi_env env, napi_value v, uint32_t *out) {
  if (napi_get_value_uint32(env, v, out) != napi_ok) {
    nh_throw(env, "expected a non-negative integer");
    return 0;
  }
  return 1;
}

static int typed_array_arg(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len,
                           const char *message) {
  bool is_typed = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, v, &type, len, data, NULL, NULL) != napi_ok || type != want) {
    nh_throw(env, message);
    return 0;
  }
  return 1;
}

int nh_arg_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  return typed_array_arg(env, v, napi_uint8_array, (void **)data, len, "expected a Uint8Array");
}

int nh_arg_u32_array(napi_env env, napi_value v, uint32_t **data, size_t *len) {
  return typed_array_arg(env, v, napi_uint32_array, (void **)data, len, "expected a Uint32Array");
}

int nh_arg_f64_array(napi_env env, napi_value v, double **data, size_t *len) {
  return typed_array_arg(env, v, napi_float64_array, (void **)data, len, "expected a Float64Array");
}

napi_status nh_create_view(napi_env env, void *data, size_t len, napi_finalize finalize, void *hint,
                           napi_value *out, int *external) {
  napi_status status = napi_create_external_arraybuffer(env, data, len, finalize, hint, out);
  if (status == napi_ok) {
    *external = 1;
    return napi_ok;
  }
  /* External buffers refused (e.g. the V8 sandbox): the caller copies into a JS-owned buffer. */
  *external = 0;
  return status;
}

static void free_poll(uv_handle_t *handle) { free(handle); }

static void stop_poll(nh_port *port) {
  if (port->poll != NULL) {
    uv_poll_stop(port->poll);
    uv_close((uv_handle_t *)port->poll, free_poll);
    port->poll = NULL;
  }
}

/* Releases what needs no JS: the poll, the descriptor. Safe to call more than once. */
void nh_port_release(nh_port *port) {
  stop_poll(port);
  if (port->copy_view != NULL && port->ring != NULL) {
    /* Copy mode: JS never saw the ring, so it is ours to unmap. */
    munmap(port->ring, port->ring_len);
    port->ring = NULL;
  }
  if (port->fd >= 0) {
    close(port->fd);
    port->fd = -1;
  }
  port->closed = 1;
}

static void finalize_port(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  nh_port *port = data;
  nh_port_release(port);
  /* An external ring view is unmapped by its own finalizer once JS drops it (see afpacket.c);
   * copy_view belongs to a JS ArrayBuffer. */
  free(port);
}

napi_value nh_port_wrap(napi_env env, nh_port *port) {
  napi_value external;
  if (napi_create_external(env, port, finalize_port, NULL, &external) != napi_ok) {
    nh_port_release(port);
    free(port);
    return nh_throw(env, "cannot wrap the port");
  }
  napi_type_tag tag = {0x6e657874686f7031ULL, 0x706f72742d746167ULL};
  napi_type_tag_object(env, external, &tag);
  return external;
}

nh_port *nh_port_unwrap(napi_env env, napi_value value) {
  napi_type_tag tag = {0x6e657874686f7031ULL, 0x706f72742d746167ULL};
  bool ok = false;
  void *data = NULL;
  if (napi_check_object_type_tag(env, value, &tag, &ok) != napi_ok || !ok ||
      napi_get_value_external(env, value, &data) != napi_ok) {
    nh_throw(env, "expected a port from the nexthop native addon");
    return NULL;
  }
  return data;
}

static void on_ready(uv_poll_t *handle, int status, int events) {
  nh_port *port = handle->data;
  if (port->closed || port->callback == NULL) {
    return;
  }
  /* An error on the descriptor (status < 0) is reported as readable: the read call surfaces it. */
  uint32_t ready = status < 0 ? 1u : (uint32_t)(((events & UV_READABLE) ? 1 : 0) | ((events & UV_WRITABLE) ? 2 : 0));
  napi_env env = port->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    return;
  }
  napi_value callback, recv, result, arg;
  if (napi_get_reference_value(env, port->callback, &callback) == napi_ok && callback != NULL &&
      napi_get_global(env, &recv) == napi_ok && napi_create_uint32(env, ready, &arg) == napi_ok) {
    /* make_callback runs queued microtasks and nextTicks afterwards, like any libuv callback. */
    if (napi_make_callback(env, port->async_context, recv, callback, 1, &arg, &result) ==
        napi_pending_exception) {
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) {
        napi_fatal_exception(env, error);
      }
    }
  }
  napi_close_handle_scope(env, scope);
}

/*
 * start(port, callback): call callback(ready) once per readiness wakeup of the port's descriptor;
 * ready has bit 1 for readable and bit 2 for writable (only while watchWritable asked for it).
 */
napi_value nh_port_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  NH_CALL(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  nh_port *port = nh_port_unwrap(env, args[0]);
  if (port == NULL) return NULL;
  if (port->closed) return nh_throw(env, "port is closed");
  if (port->poll != NULL) return nh_throw(env, "port already started");
  napi_valuetype type;
  NH_CALL(env, napi_typeof(env, args[1], &type));
  if (type != napi_function) return nh_throw(env, "expected a callback");

  uv_loop_t *loop;
  NH_CALL(env, napi_get_uv_event_loop(env, &loop));
  uv_poll_t *poll = calloc(1, sizeof *poll);
  if (poll == NULL) return nh_throw(env, "out of memory");
  int rc = uv_poll_init(loop, poll, port->fd);
  if (rc != 0) {
    free(poll);
    return nh_throw(env, uv_strerror(rc));
  }
  poll->data = port;
  napi_value name;
  NH_CALL(env, napi_create_string_utf8(env, "nexthop:port", NAPI_AUTO_LENGTH, &name));
  NH_CALL(env, napi_async_init(env, NULL, name, &port->async_context));
  NH_CALL(env, napi_create_reference(env, args[1], 1, &port->callback));
  port->env = env;
  port->poll = poll;
  port->poll_events = UV_READABLE;
  rc = uv_poll_start(poll, UV_READABLE, on_ready);
  if (rc != 0) {
    stop_poll(port);
    return nh_throw(env, uv_strerror(rc));
  }
  return NULL;
}

/*
 * watchWritable(port, on): also wake up when the descriptor becomes writable (a transmit backlog
 * waits for send buffer space), or stop doing so. Cheap to call when nothing changes.
 */
napi_value nh_port_watch_writable(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  NH_CALL(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  nh_port *port = nh_port_unwrap(env, args[0]);
  if (port == NULL) return NULL;
  bool on = false;
  NH_CALL(env, napi_get_value_bool(env, args[1], &on));
  if (port->closed || port->poll == NULL) return NULL;
  int events = UV_READABLE | (on ? UV_WRITABLE : 0);
  if (events == port->poll_events) return NULL;
  int rc = uv_poll_start(port->poll, events, on_ready);
  if (rc != 0) return nh_throw(env, uv_strerror(rc));
  port->poll_events = events;
  return NULL;
}

/* close(port): stop the poll, close the descriptor, let go of the views. Idempotent. */
napi_value nh_port_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  NH_CALL(env, napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  nh_port *port = nh_port_unwrap(env, arg);
  if (port == NULL) return NULL;
  nh_port_release(port);
  if (port->callback != NULL) {
    napi_delete_reference(env, port->callback);
    port->callback = NULL;
  }
  if (port->async_context != NULL) {
    napi_async_destroy(env, port->async_context);
    port->async_context = NULL;
  }
  if (port->view_ref != NULL) {
    napi_value view;
    if (port->copy_view == NULL && napi_get_reference_value(env, port->view_ref, &view) == napi_ok &&
        view != NULL) {
      /* Detaching empties every JS view of the ring, so nothing can touch it after close. */
      napi_detach_arraybuffer(env, view);
    }
    napi_delete_reference(env, port->view_ref);
    port->view_ref = NULL;
  }
  return NULL;
}

/*
 * Frames per sendmmsg. On a veth every frame is handed to the peer inside the syscall, and the
 * receive softirqs it raises run between syscalls; small chunks keep those backlogs short.
 */
enum { SEND_CHUNK = 64 };

/*
 * What goes in front of an ordinary frame sent on a PACKET_VNET_HDR socket: no checksum to finish,
 * no segmentation (the frame leaves as it is). Read-only, shared by all ports. A TCP aggregate
 * (segment size > 0) gets its own header instead (nh_prepare_tcp_gso).
 */
static const struct virtio_net_hdr no_offload_hdr;

/*
 * Checks that descs holds triples [offset, length, segment size] for frames [first, count) inside
 * buf. Programmer errors (the TS side builds
 * these), so they throw.
 */
static int check_batch(napi_env env, size_t buf_len, const uint32_t *descs, size_t descs_len, uint32_t first,
                       uint32_t count) {
  if ((size_t)count * NH_DESC_STRIDE > descs_len || first > count) {
    nh_throw(env, "first/count exceed descs");
    return 0;
  }
  for (uint32_t i = first; i < count; i++) {
    if ((uint64_t)descs[NH_DESC_STRIDE * i] + descs[NH_DESC_STRIDE * i + 1] > buf_len) {
      nh_throw(env, "frame descriptor outside the buffer");
      return 0;
    }
  }
  return 1;
}

static int batch_args(napi_env env, napi_callback_info info, size_t argc_want, nh_port **port, uint8_t **buf,
                      uint32_t **descs, uint32_t *first, uint32_t *count, double **result, size_t result_min) {
  size_t argc = 6;
  napi_value args[6];
  size_t buf_len, descs_len, result_len;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < argc_want) {
    nh_throw(env, argc_want == 6 ? "expected (port, buf, descs, first, count, result)"
                                 : "expected (port, buf, descs, count, result)");
    return 0;
  }
  size_t at = 3;
  *first = 0;
  *port = nh_port_unwrap(env, args[0]);
  if (*port == NULL || !nh_arg_bytes(env, args[1], buf, &buf_len) ||
      !nh_arg_u32_array(env, args[2], descs, &descs_len) ||
      (argc_want == 6 && !nh_arg_u32(env, args[at++], first)) || !nh_arg_u32(env, args[at++], count) ||
      !nh_arg_f64_array(env, args[at], result, &result_len)) {
    return 0;
  }
  if (result_len < result_min) {
    nh_throw(env, "result array too short");
    return 0;
  }
  return check_batch(env, buf_len, *descs, descs_len, *first, *count);
}

static int would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS; }

/*
 * sendBatch(port, buf, descs, first, count, result): sends frames first..count-1 in order with
 * sendmmsg(MSG_DONTWAIT), SEND_CHUNK per syscall, and stops at the first frame the kernel cannot
 * take now. result = [frames sent, bytes sent, frames dropped, next, errno]: frames before `next`
 * are done with (sent or dropped); from `next` on they are still the caller's, to retry later;
 * errno is why it stopped early (EAGAIN: the socket's send buffer is full, wait for POLLOUT;
 * ENOBUFS: the device or qdisc refused a frame) or 0 when every frame was handled.
 *
 * ENOBUFS is reported after the frame went into dev_queue_xmit (packet_snd maps NET_XMIT_DROP
 * to it): the kernel has consumed that frame, so it is counted as dropped and not sent again.
 * Any other error (e.g. ENETDOWN, EMSGSIZE) drops just that frame.
 */
napi_value nh_port_send_batch(napi_env env, napi_callback_info info) {
  nh_port *port;
  uint8_t *buf;
  uint32_t *descs, first, count;
  double *result;
  if (!batch_args(env, info, 6, &port, &buf, &descs, &first, &count, &result, 5)) return NULL;
  double sent = 0, bytes = 0, dropped = 0;
  int stop_errno = 0;
  uint32_t i = first;
  if (port->closed) {
    dropped = count - first;
    i = count;
  }
  struct mmsghdr msgs[SEND_CHUNK];
  /* Per frame: the vnet header (when the socket has them), then the frame. */
  struct iovec iov[2 * SEND_CHUNK];
  struct virtio_net_hdr gso_hdrs[SEND_CHUNK];
  const int vnet = port->vnet_hdr;
  while (i < count) {
    uint32_t n = count - i < SEND_CHUNK ? count - i : SEND_CHUNK;
    memset(msgs, 0, n * sizeof msgs[0]);
    for (uint32_t k = 0; k < n; k++) {
      struct iovec *v = &iov[2 * k];
      const uint32_t *d = descs + NH_DESC_STRIDE * (i + k);
      v[0].iov_base = (void *)&no_offload_hdr;
      v[0].iov_len = sizeof no_offload_hdr;
      v[1].iov_base = buf + d[0];
      v[1].iov_len = d[1];
      /* Not a TCP/IPv4 aggregate after all: it goes out as it is (the kernel refuses it if too big). */
      if (vnet && d[2] > 0 && nh_prepare_tcp_gso(buf + d[0], d[1], d[2], &gso_hdrs[k])) {
        v[0].iov_base = &gso_hdrs[k];
      }
      msgs[k].msg_hdr.msg_iov = vnet ? v : v + 1;
      msgs[k].msg_hdr.msg_iovlen = vnet ? 2 : 1;
    }
    int rc = sendmmsg(port->fd, msgs, n, MSG_DONTWAIT);
    if (rc > 0) {
      /* A short count hides the error of the frame after the last one sent: the next call sees it. */
      for (int k = 0; k < rc; k++) bytes += iov[2 * k + 1].iov_len;
      sent += rc;
      i += (uint32_t)rc;
      continue;
    }
    int err = rc < 0 ? errno : EAGAIN;
    if (err == EINTR) continue;
    if (err == ENOBUFS) {
      port->tx_enobufs++;
      dropped += 1;
      i += 1;
      stop_errno = err;
      break;
    }
    if (would_block(err)) {
      port->tx_eagain++;
      stop_errno = EAGAIN;
      break;
    }
    port->tx_other++;
    port->tx_other_errno = err;
    dropped += 1;
    i += 1;
  }
  result[0] = sent;
  result[1] = bytes;
  result[2] = dropped;
  result[3] = i;
  result[4] = stop_errno;
  return NULL;
}

/* writeBatch(port, buf, descs, count, result): one write() per frame (a TAP takes one frame per write). */
napi_value nh_port_write_batch(napi_env env, napi_callback_info info) {
  nh_port *port;
  uint8_t *buf;
  uint32_t *descs, count;
  uint32_t first;
  double *result;
  if (!batch_args(env, info, 5, &port, &buf, &descs, &first, &count, &result, 3)) return NULL;
  if (port->vnet_hdr) {
    /* Plain writes would have the kernel read the first 10 bytes of each frame as a vnet header. */
    return nh_throw(env, "writeBatch cannot send on a PACKET_VNET_HDR socket: use sendBatch");
  }
  double sent = 0, bytes = 0, dropped = 0;
  if (port->closed) {
    dropped = count;
    count = 0;
  }
  for (uint32_t i = 0; i < count; i++) {
    ssize_t rc = write(port->fd, buf + descs[NH_DESC_STRIDE * i], descs[NH_DESC_STRIDE * i + 1]);
    if (rc < 0 && errno == EINTR) {
      i--;
    } else if (rc < 0 && would_block(errno)) {
      dropped += count - i;
      break;
    } else if (rc < 0) {
      dropped += 1;
    } else {
      sent += 1;
      bytes += (double)rc;
    }
  }
  result[0] = sent;
  result[1] = bytes;
  result[2] = dropped;
  return NULL;
}

napi_value nh_port_tx_errors(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  NH_CALL(env, napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  nh_port *port = nh_port_unwrap(env, arg);
  if (port == NULL) return NULL;
  double values[4] = {(double)port->tx_eagain, (double)port->tx_enobufs, (double)port->tx_other,
                      (double)port->tx_other_errno};
  port->tx_eagain = port->tx_enobufs = port->tx_other = 0;
  napi_value out, v;
  NH_CALL(env, napi_create_array_with_length(env, 4, &out));
  for (uint32_t k = 0; k < 4; k++) {
    NH_CALL(env, napi_create_double(env, values[k], &v));
    NH_CALL(env, napi_set_element(env, out, k, v));
  }
  return out;
}
