/*
 * Unix-domain sockets for the remote socket server (docs/remote-socket-protocol.md): the
 * SOCK_SEQPACKET control listener with SO_PEERCRED, messages with SCM_RIGHTS descriptors, the
 * socketpairs that carry each VR socket's data, batched datagram I/O on seqpacket pairs, and a
 * uv_poll readiness watch per descriptor. Calls return >= 0 or -errno (EAGAIN is ordinary);
 * only wrong arguments throw.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "port.h"
#include "unix.h"

enum { MAX_FDS = 16, DGRAM_BATCH = 64 };

static napi_value num(napi_env env, double v) {
  napi_value out;
  if (napi_create_double(env, v, &out) != napi_ok) return NULL;
  return out;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *args) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < want) {
    nh_throw(env, "too few arguments");
    return 0;
  }
  return 1;
}

static int arg_i32(napi_env env, napi_value v, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    nh_throw(env, "expected an integer");
    return 0;
  }
  return 1;
}

/* A byte range [off, off+len) of a Uint8Array argument. */
static int arg_range(napi_env env, napi_value *args, uint8_t **p, size_t *len) {
  uint8_t *data;
  size_t buf_len;
  uint32_t off, n;
  if (!nh_arg_bytes(env, args[0], &data, &buf_len) || !nh_arg_u32(env, args[1], &off) ||
      !nh_arg_u32(env, args[2], &n))
    return 0;
  if ((uint64_t)off + n > buf_len) {
    nh_throw(env, "range outside the buffer");
    return 0;
  }
  *p = data + off;
  *len = n;
  return 1;
}

static int arg_i32_array(napi_env env, napi_value v, int32_t **data, size_t *len) {
  bool is_typed = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, v, &type, len, (void **)data, NULL, NULL) != napi_ok ||
      type != napi_int32_array) {
    nh_throw(env, "expected an Int32Array");
    return 0;
  }
  return 1;
}

/*
 * unixListen(path, mode, backlog) -> fd | -errno. A path left by a dead server (nothing accepts on
 * it) is replaced; a live one is EADDRINUSE; a path that is not a socket is EEXIST (never removed).
 */
napi_value nh_unix_listen(napi_env env, napi_callback_info info) {
  napi_value args[3];
  if (!get_args(env, info, 3, args)) return NULL;
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  size_t path_len = 0;
  if (napi_get_value_string_utf8(env, args[0], sa.sun_path, sizeof sa.sun_path, &path_len) != napi_ok)
    return nh_throw(env, "expected a path");
  if (path_len == 0 || path_len >= sizeof sa.sun_path - 1) return nh_throw(env, "socket path too long");
  uint32_t mode, backlog;
  if (!nh_arg_u32(env, args[1], &mode) || !nh_arg_u32(env, args[2], &backlog)) return NULL;

  struct stat st;
  if (lstat(sa.sun_path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return num(env, -EEXIST);
    int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (probe < 0) return num(env, -errno);
    int live = connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(probe);
    if (live) return num(env, -EADDRINUSE);
    if (unlink(sa.sun_path) != 0 && errno != ENOENT) return num(env, -errno);
  }
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return num(env, -errno);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || chmod(sa.sun_path, (mode_t)mode) != 0 ||
      listen(fd, (int)backlog) != 0) {
    int err = errno;
    close(fd);
    return num(env, -err);
  }
  return num(env, fd);
}

/*
 * unixConnect(path) -> fd | -errno: a SOCK_SEQPACKET connection to a server (close-on-exec, then
 * non-blocking; a Unix connect completes at once or fails, EAGAIN when the backlog is full).
 */
napi_value nh_unix_connect(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!get_args(env, info, 1, args)) return NULL;
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  size_t path_len = 0;
  if (napi_get_value_string_utf8(env, args[0], sa.sun_path, sizeof sa.sun_path, &path_len) != napi_ok)
    return nh_throw(env, "expected a path");
  if (path_len == 0 || path_len >= sizeof sa.sun_path - 1) return nh_throw(env, "socket path too long");
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return num(env, -errno);
  int rc;
  do {
    rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  } while (rc != 0 && errno == EINTR);
  int fl = rc == 0 ? fcntl(fd, F_GETFL) : -1;
  if (rc != 0 || fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
    int err = errno;
    close(fd);
    return num(env, -err);
  }
  return num(env, fd);
}

/* unixAccept(fd, out: Float64Array(4)) -> 0 | -errno; out = [fd, pid, uid, gid] (SO_PEERCRED). */
napi_value nh_unix_accept(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!get_args(env, info, 2, args)) return NULL;
  int32_t lfd;
  double *out;
  size_t out_len;
  if (!arg_i32(env, args[0], &lfd) || !nh_arg_f64_array(env, args[1], &out, &out_len)) return NULL;
  if (out_len < 4) return nh_throw(env, "out needs 4 elements");
  int fd;
  do {
    fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return num(env, -errno);
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    int err = errno;
    close(fd);
    return num(env, -err);
  }
  out[0] = fd;
  out[1] = cred.pid;
  out[2] = cred.uid;
  out[3] = cred.gid;
  return num(env, 0);
}

/*
 * unixRecvMsg(fd, buf, off, len, meta: Int32Array) -> length | -errno (0: end of file). meta[0]
 * gets 1 for MSG_TRUNC and 2 for MSG_CTRUNC, meta[1] the number of descriptors received, meta[2..]
 * the descriptors (close-on-exec). Descriptors beyond meta's room are closed and flagged CTRUNC.
 */
napi_value nh_unix_recv_msg(napi_env env, napi_callback_info info) {
  napi_value args[5];
  if (!get_args(env, info, 5, args)) return NULL;
  int32_t fd;
  uint8_t *p;
  size_t len, meta_len;
  int32_t *meta;
  if (!arg_i32(env, args[0], &fd) || !arg_range(env, args + 1, &p, &len) ||
      !arg_i32_array(env, args[4], &meta, &meta_len))
    return NULL;
  if (meta_len < 2) return nh_throw(env, "meta needs 2 elements");
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
  } control;
  struct iovec iov = {.iov_base = p, .iov_len = len};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  meta[0] = 0;
  meta[1] = 0;
  if (n < 0) return num(env, -errno);
  int flags = ((msg.msg_flags & MSG_TRUNC) ? 1 : 0) | ((msg.msg_flags & MSG_CTRUNC) ? 2 : 0);
  size_t room = meta_len - 2, got = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int rfd;
      memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int), sizeof rfd);
      if (got < room) {
        meta[2 + got++] = rfd;
      } else {
        close(rfd);
        flags |= 2;
      }
    }
  }
  meta[0] = flags;
  meta[1] = (int32_t)got;
  return num(env, (double)n);
}

/* unixSendMsg(fd, buf, off, len, fds: Int32Array | null) -> bytes | -errno; never blocks, no SIGPIPE. */
napi_value nh_unix_send_msg(napi_env env, napi_callback_info info) {
  napi_value args[5];
  if (!get_args(env, info, 5, args)) return NULL;
  int32_t fd;
  uint8_t *p;
  size_t len, nfds = 0;
  int32_t *fds = NULL;
  if (!arg_i32(env, args[0], &fd) || !arg_range(env, args + 1, &p, &len)) return NULL;
  napi_valuetype t;
  if (napi_typeof(env, args[4], &t) != napi_ok) return NULL;
  if (t != napi_null && t != napi_undefined && !arg_i32_array(env, args[4], &fds, &nfds)) return NULL;
  if (nfds > MAX_FDS) return nh_throw(env, "too many descriptors");
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
  } control;
  struct iovec iov = {.iov_base = p, .iov_len = len};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (nfds > 0) {
    memset(control.buf, 0, sizeof control.buf);
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
  }
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return num(env, n < 0 ? -errno : (double)n);
}

/*
 * unixSocketPair(type, out: Int32Array(2)) -> 0 | -errno. type 1 SOCK_STREAM or 5 SOCK_SEQPACKET.
 * out[0] is the server's end (non-blocking), out[1] the application's (blocking: the program's
 * own O_NONBLOCK is the client's to set, and it would be shared through the open file). Both
 * close-on-exec.
 */
napi_value nh_unix_socketpair(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!get_args(env, info, 2, args)) return NULL;
  uint32_t type;
  int32_t *out;
  size_t out_len;
  if (!nh_arg_u32(env, args[0], &type) || !arg_i32_array(env, args[1], &out, &out_len)) return NULL;
  if (type != SOCK_STREAM && type != SOCK_SEQPACKET) return nh_throw(env, "type must be 1 or 5");
  if (out_len < 2) return nh_throw(env, "out needs 2 elements");
  int sv[2];
  if (socketpair(AF_UNIX, (int)type | SOCK_CLOEXEC, 0, sv) != 0) return num(env, -errno);
  int fl = fcntl(sv[0], F_GETFL);
  if (fl < 0 || fcntl(sv[0], F_SETFL, fl | O_NONBLOCK) != 0) {
    int err = errno;
    close(sv[0]);
    close(sv[1]);
    return num(env, -err);
  }
  out[0] = sv[0];
  out[1] = sv[1];
  return num(env, 0);
}

/* unixClose(fd) -> 0 | -errno. */
napi_value nh_unix_close(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!get_args(env, info, 1, args)) return NULL;
  int32_t fd;
  if (!arg_i32(env, args[0], &fd)) return NULL;
  return num(env, close(fd) == 0 ? 0 : -errno);
}

/* unixShutdown(fd, how) -> 0 | -errno (how: 0 SHUT_RD, 1 SHUT_WR, 2 SHUT_RDWR). */
napi_value nh_unix_shutdown(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!get_args(env, info, 2, args)) return NULL;
  int32_t fd, how;
  if (!arg_i32(env, args[0], &fd) || !arg_i32(env, args[1], &how)) return NULL;
  return num(env, shutdown(fd, how) == 0 ? 0 : -errno);
}

/* unixRead(fd, buf, off, len) -> bytes | 0 at end of file | -errno. */
napi_value nh_unix_read(napi_env env, napi_callback_info info) {
  napi_value args[4];
  if (!get_args(env, info, 4, args)) return NULL;
  int32_t fd;
  uint8_t *p;
  size_t len;
  if (!arg_i32(env, args[0], &fd) || !arg_range(env, args + 1, &p, &len)) return NULL;
  ssize_t n;
  do {
    n = recv(fd, p, len, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  return num(env, n < 0 ? -errno : (double)n);
}

/* unixWrite(fd, buf, off, len) -> bytes | -errno; never blocks, no SIGPIPE. */
napi_value nh_unix_write(napi_env env, napi_callback_info info) {
  napi_value args[4];
  if (!get_args(env, info, 4, args)) return NULL;
  int32_t fd;
  uint8_t *p;
  size_t len;
  if (!arg_i32(env, args[0], &fd) || !arg_range(env, args + 1, &p, &len)) return NULL;
  ssize_t n;
  do {
    n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return num(env, n < 0 ? -errno : (double)n);
}

/*
 * unixHungUp(fd) -> 1 when the peer is gone (POLLHUP: every copy of the other end is closed, or
 * both directions are shut), 0 when not, -errno. Tells a hang-up from a half-close after EOF.
 */
napi_value nh_unix_hung_up(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!get_args(env, info, 1, args)) return NULL;
  int32_t fd;
  if (!arg_i32(env, args[0], &fd)) return NULL;
  struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
  int rc = poll(&p, 1, 0);
  if (rc < 0) return num(env, -errno);
  return num(env, (p.revents & (POLLHUP | POLLERR | POLLNVAL)) ? 1 : 0);
}

/* unixFileId(fd, out: Float64Array(2)) -> 0 | -errno; out = [st_dev, st_ino]. */
napi_value nh_unix_file_id(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!get_args(env, info, 2, args)) return NULL;
  int32_t fd;
  double *out;
  size_t out_len;
  if (!arg_i32(env, args[0], &fd) || !nh_arg_f64_array(env, args[1], &out, &out_len)) return NULL;
  if (out_len < 2) return nh_throw(env, "out needs 2 elements");
  struct stat st;
  if (fstat(fd, &st) != 0) return num(env, -errno);
  if (!S_ISSOCK(st.st_mode)) return num(env, -ENOTSOCK);
  out[0] = (double)st.st_dev;
  out[1] = (double)st.st_ino;
  return num(env, 0);
}

/*
 * unixSendDgrams(fd, buf, descs: Uint32Array, first, count) -> datagrams sent | -errno. descs holds
 * [offset, length] pairs; datagrams first..count-1 go out with sendmmsg in order, stopping where the
 * socket is full. -errno only when the first one failed (EAGAIN: full; EMSGSIZE: that datagram can
 * never fit; EPIPE: the other end is gone).
 */
napi_value nh_unix_send_dgrams(napi_env env, napi_callback_info info) {
  napi_value args[5];
  if (!get_args(env, info, 5, args)) return NULL;
  int32_t fd;
  uint8_t *buf;
  size_t buf_len, descs_len;
  uint32_t *descs, first, count;
  if (!arg_i32(env, args[0], &fd) || !nh_arg_bytes(env, args[1], &buf, &buf_len) ||
      !nh_arg_u32_array(env, args[2], &descs, &descs_len) || !nh_arg_u32(env, args[3], &first) ||
      !nh_arg_u32(env, args[4], &count))
    return NULL;
  if ((size_t)count * 2 > descs_len || first > count) return nh_throw(env, "first/count exceed descs");
  for (uint32_t i = first; i < count; i++) {
    if ((uint64_t)descs[2 * i] + descs[2 * i + 1] > buf_len) return nh_throw(env, "datagram outside the buffer");
  }
  struct mmsghdr msgs[DGRAM_BATCH];
  struct iovec iov[DGRAM_BATCH];
  uint32_t i = first;
  while (i < count) {
    uint32_t n = count - i < DGRAM_BATCH ? count - i : DGRAM_BATCH;
    memset(msgs, 0, n * sizeof msgs[0]);
    for (uint32_t k = 0; k < n; k++) {
      iov[k].iov_base = buf + descs[2 * (i + k)];
      iov[k].iov_len = descs[2 * (i + k) + 1];
      msgs[k].msg_hdr.msg_iov = &iov[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
    }
    int rc = sendmmsg(fd, msgs, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (rc < 0) {
      if (errno == EINTR) continue;
      if (i == first) return num(env, -errno);
      break;
    }
    i += (uint32_t)rc;
    if ((uint32_t)rc < n) break;
  }
  return num(env, i - first);
}

/*
 * unixRecvDgrams(fd, buf, slot, max, descs: Uint32Array, state: Int32Array) -> datagrams | -errno.
 * Receives up to `max` datagrams with recvmmsg, the i-th into buf[i*slot, (i+1)*slot); descs gets
 * [offset, length, truncated] per datagram. state[0] = 1 when the other end hung up (after the
 * datagrams returned), else 0. -EAGAIN when none is waiting.
 */
napi_value nh_unix_recv_dgrams(napi_env env, napi_callback_info info) {
  napi_value args[6];
  if (!get_args(env, info, 6, args)) return NULL;
  int32_t fd;
  uint8_t *buf;
  size_t buf_len, descs_len, state_len;
  uint32_t slot, max, *descs;
  int32_t *state;
  if (!arg_i32(env, args[0], &fd) || !nh_arg_bytes(env, args[1], &buf, &buf_len) ||
      !nh_arg_u32(env, args[2], &slot) || !nh_arg_u32(env, args[3], &max) ||
      !nh_arg_u32_array(env, args[4], &descs, &descs_len) || !arg_i32_array(env, args[5], &state, &state_len))
    return NULL;
  if (max > DGRAM_BATCH) max = DGRAM_BATCH;
  if (slot == 0 || (uint64_t)slot * max > buf_len || (size_t)max * 3 > descs_len || state_len < 1)
    return nh_throw(env, "buffers too small for max datagrams");
  state[0] = 0;
  struct mmsghdr msgs[DGRAM_BATCH];
  struct iovec iov[DGRAM_BATCH];
  memset(msgs, 0, max * sizeof msgs[0]);
  for (uint32_t k = 0; k < max; k++) {
    iov[k].iov_base = buf + (size_t)k * slot;
    iov[k].iov_len = slot;
    msgs[k].msg_hdr.msg_iov = &iov[k];
    msgs[k].msg_hdr.msg_iovlen = 1;
  }
  int rc;
  do {
    rc = recvmmsg(fd, msgs, max, MSG_DONTWAIT, NULL);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return num(env, -errno);
  int got = 0;
  for (int k = 0; k < rc; k++) {
    if (msgs[k].msg_len == 0) {
      /* End of file reads as an empty datagram; a real empty one leaves the peer connected. */
      struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
      if (poll(&p, 1, 0) >= 0 && (p.revents & (POLLHUP | POLLRDHUP))) {
        state[0] = 1;
        break;
      }
    }
    descs[3 * got] = (uint32_t)k * slot;
    descs[3 * got + 1] = msgs[k].msg_len;
    descs[3 * got + 2] = (msgs[k].msg_hdr.msg_flags & MSG_TRUNC) ? 1 : 0;
    got++;
  }
  return num(env, got);
}

/* ---- readiness ------------------------------------------------------------------------------ */

typedef struct nh_watch {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context async_context;
  int events;
} nh_watch;

/* What JS holds: the watch may be gone (closed) while the box is still referenced. */
typedef struct {
  nh_watch *watch;
} nh_watch_box;

static void free_watch(uv_handle_t *handle) { free(handle->data); }

static void on_watch(uv_poll_t *handle, int status, int events) {
  nh_watch *w = handle->data;
  if (w->callback == NULL) return;
  uint32_t ready = status < 0 ? 3u
                              : (uint32_t)(((events & UV_READABLE) ? 1 : 0) | ((events & UV_WRITABLE) ? 2 : 0) |
                                           ((events & UV_DISCONNECT) ? 4 : 0) | ((events & UV_PRIORITIZED) ? 8 : 0));
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, recv, result, arg;
  if (napi_get_reference_value(env, w->callback, &callback) == napi_ok && callback != NULL &&
      napi_get_global(env, &recv) == napi_ok && napi_create_uint32(env, ready, &arg) == napi_ok) {
    if (napi_make_callback(env, w->async_context, recv, callback, 1, &arg, &result) == napi_pending_exception) {
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void close_watch(napi_env env, nh_watch_box *box) {
  nh_watch *w = box->watch;
  if (w == NULL) return;
  box->watch = NULL;
  uv_poll_stop(&w->poll);
  if (w->callback != NULL) napi_delete_reference(env, w->callback);
  w->callback = NULL;
  if (w->async_context != NULL) napi_async_destroy(env, w->async_context);
  w->async_context = NULL;
  uv_close((uv_handle_t *)&w->poll, free_watch);
}

static void finalize_box(napi_env env, void *data, void *hint) {
  (void)hint;
  close_watch(env, data);
  free(data);
}

static const napi_type_tag WATCH_TAG = {0x6e657874686f7032ULL, 0x756e69782d776174ULL};

static nh_watch_box *unwrap_box(napi_env env, napi_value v) {
  bool ok = false;
  void *data = NULL;
  if (napi_check_object_type_tag(env, v, &WATCH_TAG, &ok) != napi_ok || !ok ||
      napi_get_value_external(env, v, &data) != napi_ok) {
    nh_throw(env, "expected a watch from unixWatch");
    return NULL;
  }
  return data;
}

/*
 * unixWatch(fd, callback) -> watch. callback(ready) runs once per wakeup while events are asked
 * for (none at first: see unixWatchEvents); ready bits: 1 readable, 2 writable, 4 POLLRDHUP, 8 POLLPRI
 * or a hang-up seen through an 8-only watch.
 * The watch does not own fd: unixWatchClose it before closing fd.
 */
napi_value nh_unix_watch(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!get_args(env, info, 2, args)) return NULL;
  int32_t fd;
  if (!arg_i32(env, args[0], &fd)) return NULL;
  napi_valuetype type;
  NH_CALL(env, napi_typeof(env, args[1], &type));
  if (type != napi_function) return nh_throw(env, "expected a callback");
  uv_loop_t *loop;
  NH_CALL(env, napi_get_uv_event_loop(env, &loop));
  nh_watch *w = calloc(1, sizeof *w);
  nh_watch_box *box = calloc(1, sizeof *box);
  if (w == NULL || box == NULL) {
    free(w);
    free(box);
    return nh_throw(env, "out of memory");
  }
  int rc = uv_poll_init(loop, &w->poll, fd);
  if (rc != 0) {
    free(w);
    free(box);
    return nh_throw(env, uv_strerror(rc));
  }
  w->poll.data = w;
  w->env = env;
  box->watch = w;
  napi_value name, external;
  if (napi_create_string_utf8(env, "nexthop:unix", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &w->async_context) != napi_ok ||
      napi_create_reference(env, args[1], 1, &w->callback) != napi_ok ||
      napi_create_external(env, box, finalize_box, NULL, &external) != napi_ok) {
    close_watch(env, box);
    free(box);
    return nh_throw(env, "cannot create the watch");
  }
  napi_type_tag_object(env, external, &WATCH_TAG);
  return external;
}

/*
 * unixWatchEvents(watch, events): 1 readable, 2 writable, 4 POLLRDHUP, 8 POLLPRI; 0 stops. Cheap when
 * unchanged. epoll reports POLLHUP whatever was asked, so 8 alone (never raised by a Unix socket) is a
 * watch for hang-up only: it does not fire on a half-close the way 4 does, level-triggered.
 */
napi_value nh_unix_watch_events(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!get_args(env, info, 2, args)) return NULL;
  nh_watch_box *box = unwrap_box(env, args[0]);
  uint32_t events;
  if (box == NULL || !nh_arg_u32(env, args[1], &events)) return NULL;
  nh_watch *w = box->watch;
  if (w == NULL) return NULL;
  int uv_events = ((events & 1) ? UV_READABLE : 0) | ((events & 2) ? UV_WRITABLE : 0) |
                  ((events & 4) ? UV_DISCONNECT : 0) | ((events & 8) ? UV_PRIORITIZED : 0);
  if (uv_events == w->events) return NULL;
  int rc = uv_events == 0 ? uv_poll_stop(&w->poll) : uv_poll_start(&w->poll, uv_events, on_watch);
  if (rc != 0) return nh_throw(env, uv_strerror(rc));
  w->events = uv_events;
  return NULL;
}

/* unixWatchClose(watch): stops and frees the watch (idempotent); the fd stays open. */
napi_value nh_unix_watch_close(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!get_args(env, info, 1, args)) return NULL;
  nh_watch_box *box = unwrap_box(env, args[0]);
  if (box == NULL) return NULL;
  close_watch(env, box);
  return NULL;
}
