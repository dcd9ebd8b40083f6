/*
 * Unix-domain sockets for the remote socket server (docs/remote-socket-protocol.md): the
 * SOCK_SEQPACKET control listener with SO_PEERCRED and SO_PEERGROUPS, messages with SCM_RIGHTS
 * descriptors, the socketpairs that carry each VR socket's data, batched datagram I/O on seqpacket
 * pairs, a uv_poll readiness watch per descriptor (the listener, control connections), and an epoll
 * set of the addon's own for the pairs' ends (unixPollSet: one ADD per pair, a MOD when its interest
 * changes, nothing at close, every pair woken in one call per batch). Calls return >= 0 or -errno
 * (EAGAIN is ordinary); only wrong arguments throw.
 *
 * Descriptors from clients. A descriptor received with SCM_RIGHTS may be a file whose last close
 * blocks (a TCP socket with SO_LINGER and unsent data, a FUSE file): the event loop never closes one.
 * - The listener, and so every connection until unixSetPassRights enables it after HELLO, and the
 *   server's end of every pair refuse SCM_RIGHTS (SO_PASSRIGHTS = 0, Linux >= 6.16: the sender's
 *   sendmsg fails with EPERM), so nothing can be passed before authentication or over a data pair.
 * - Descriptors that do arrive go to the closer threads (closer.c): unixCloseForeign, and every
 *   receive here hands over what it did not return. A receive without room for descriptors would make
 *   the kernel drop them, closing them on this thread (scm_recv), so every receive has room for
 *   SCM_MAX_FD.
 * - A socket that may hold passed descriptors in its receive queue (a connection after HELLO, a pair
 *   end on a kernel without SO_PASSRIGHTS) is drained before its close: shut for reading (the peer's
 *   sends fail from then on), read while the kernel reports descriptors queued on it (fdinfo
 *   "scm_fds"), with room for them, which go to the closer; then closed here when none is left, else
 *   (a queue too long, a kernel that does not report) on a closer thread itself. Either way its close
 *   releases no client file on the event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "closer.h"
#include "port.h"
#include "unix.h"

#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83
#endif
/* The most descriptors one message can carry (include/net/scm.h). */
#define NH_SCM_MAX_FD 253

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

/* ---- descriptors from clients ----------------------------------------------------------------- */

/* Room for the most descriptors one message carries: a smaller buffer would let the kernel close the rest here. */
typedef union {
  struct cmsghdr align;
  char buf[CMSG_SPACE(NH_SCM_MAX_FD * sizeof(int))];
} fd_control;

/* Sockets to drain before closing (drain_on_close), by descriptor number; the event loop's only. */
static uint8_t *drain_flags;
static size_t drain_cap;

static void set_drain(int fd, int on) {
  if (fd < 0) return;
  if ((size_t)fd >= drain_cap) {
    if (!on) return;
    size_t cap = drain_cap == 0 ? 1024 : drain_cap;
    while (cap <= (size_t)fd) cap *= 2;
    uint8_t *next = realloc(drain_flags, cap);
    if (next == NULL) return; /* then closed undrained: the kernel's own close, as before */
    memset(next + drain_cap, 0, cap - drain_cap);
    drain_flags = next;
    drain_cap = cap;
  }
  drain_flags[fd] = (uint8_t)(on != 0);
}

static int drain_flagged(int fd) { return fd >= 0 && (size_t)fd < drain_cap && drain_flags[fd]; }

/* Hands every descriptor in msg's SCM_RIGHTS to the closer threads; how many. */
static int hand_over_fds(struct msghdr *msg) {
  int n = 0;
  if (msg->msg_controllen == 0) return 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int rfd;
      memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int), sizeof rfd);
      nh_closer_submit(rfd, 0);
      n++;
    }
  }
  return n;
}

/*
 * Descriptors queued on socket fd: fdinfo's "scm_fds" (Linux >= 5.15 for connected Unix sockets),
 * or -1 when the kernel does not say.
 */
static int queued_fds(int fd) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f < 0) return -1;
  ssize_t n = read(f, buf, sizeof buf - 1);
  close(f);
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char *p = strstr(buf, "scm_fds:");
  if (p == NULL) return -1;
  return (int)strtol(p + 8, NULL, 10);
}

/* Reads at most this many messages off a socket being drained; what remains goes to the closer. */
enum { DRAIN_READS = 4096 };

/*
 * Makes fd safe to close on this thread: shuts it for reading (the peer's sends fail with EPIPE from
 * then on, so the queue only shrinks), then, while the kernel says descriptors or bytes are queued,
 * reads messages with room for descriptors and hands those to the closer. 1 when nothing is left
 * (close here; the peer then reads what we sent, then end of file, where unread data would have made
 * it ECONNRESET first), 0 when descriptors may be (more than DRAIN_READS messages, or a kernel that
 * does not tell): close it on a closer thread. *found counts the descriptors handed over.
 */
static int drain(int fd, int *found) {
  static _Thread_local uint8_t scratch[64 * 1024];
  shutdown(fd, SHUT_RD);
  for (int i = 0; i < DRAIN_READS; i++) {
    int queued = queued_fds(fd);
    if (queued < 0) return 0;
    int bytes = 0;
    if (ioctl(fd, FIONREAD, &bytes) != 0) bytes = 0;
    if (queued == 0 && bytes <= 0) return 1;
    fd_control control;
    struct iovec iov = {.iov_base = scratch, .iov_len = sizeof scratch};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return queued_fds(fd) == 0;
    *found += hand_over_fds(&msg);
  }
  return queued_fds(fd) == 0;
}

/* Closes a socket that may hold passed descriptors: here when drained clean, else on a closer thread. */
static int close_drained(int fd, int *found) {
  set_drain(fd, 0);
  if (drain(fd, found)) return close(fd) == 0 ? 0 : -errno;
  nh_closer_submit(fd, 0);
  return 1;
}

/* close(2) for the server's sockets: drained first when it may hold client descriptors. */
static int close_own(int fd) {
  int found = 0;
  if (drain_flagged(fd)) return close_drained(fd, &found) < 0 ? -1 : 0;
  return close(fd);
}

/* Refuses SCM_RIGHTS on fd; 0 when the kernel cannot (before Linux 6.16): fd must then be drained. */
static int refuse_rights(int fd) {
  int off = 0;
  return setsockopt(fd, SOL_SOCKET, SO_PASSRIGHTS, &off, sizeof off) == 0;
}

/* 1 when fd refuses SCM_RIGHTS (inherited from the listener), 0 when it takes them or cannot say. */
static int refuses_rights(int fd) {
  int v = 1;
  socklen_t l = sizeof v;
  return getsockopt(fd, SOL_SOCKET, SO_PASSRIGHTS, &v, &l) == 0 && v == 0;
}

/* The one descriptor unixAccept gives up to answer EMFILE/ENFILE (accept(2) would spin otherwise). */
static int reserve_fd = -1;

static void reserve_open(void) {
  if (reserve_fd < 0) reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/*
 * The run directory's rule (DESIGN.md §9): a real directory (not a symbolic link), owned by root or
 * by us, that nobody else can write to, unless it is sticky (others can then add names, never
 * replace or remove ours: path_resolution(7), "sticky bit" in inode(7)). 0 or -errno.
 */
static int check_run_dir(int dfd) {
  struct stat st;
  if (fstat(dfd, &st) != 0) return -errno;
  if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
  if (st.st_uid != 0 && st.st_uid != geteuid()) return -EPERM;
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) return -EPERM;
  return 0;
}

/*
 * unixListen(path, mode, backlog) -> fd | -errno. The socket file appears at path with its final
 * mode: bound in a fresh private directory (mkdtemp, 0700) next to it, chmod'ed there, renamed into
 * place (which also replaces a file left by a dead server atomically), so no umask can widen it and
 * no symbolic link is followed. A live server at path is EADDRINUSE; a path that is not a socket is
 * EEXIST (never removed); a run directory that breaks the rule above is EPERM (a symbolic link:
 * ELOOP). The listener refuses SCM_RIGHTS, and so do its connections until unixSetPassRights.
 */
napi_value nh_unix_listen(napi_env env, napi_callback_info info) {
  napi_value args[3];
  if (!get_args(env, info, 3, args)) return NULL;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  size_t path_len = 0;
  if (napi_get_value_string_utf8(env, args[0], path, sizeof path, &path_len) != napi_ok)
    return nh_throw(env, "expected a path");
  if (path_len == 0 || path_len >= sizeof path - 1) return nh_throw(env, "socket path too long");
  uint32_t mode, backlog;
  if (!nh_arg_u32(env, args[1], &mode) || !nh_arg_u32(env, args[2], &backlog)) return NULL;

  char dir[sizeof path];
  const char *base;
  char *slash = strrchr(path, '/');
  if (slash == NULL) {
    strcpy(dir, ".");
    base = path;
  } else {
    size_t dl = (size_t)(slash - path);
    memcpy(dir, path, dl == 0 ? 1 : dl);
    dir[dl == 0 ? 1 : dl] = '\0';
    base = slash + 1;
  }
  if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
    return nh_throw(env, "the path must name a file");
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) {
    int err = errno;
    struct stat lst;
    /* O_DIRECTORY | O_NOFOLLOW on a link answers ENOTDIR: say what it is. */
    if (lstat(dir, &lst) == 0 && S_ISLNK(lst.st_mode)) err = ELOOP;
    return num(env, -err);
  }
  int err = check_run_dir(dfd);
  if (err != 0) {
    close(dfd);
    return num(env, err);
  }
  struct stat st;
  if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      close(dfd);
      return num(env, -EEXIST);
    }
    struct sockaddr_un probe_sa;
    memset(&probe_sa, 0, sizeof probe_sa);
    probe_sa.sun_family = AF_UNIX;
    memcpy(probe_sa.sun_path, path, path_len);
    int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (probe < 0) {
      err = -errno;
      close(dfd);
      return num(env, err);
    }
    int live = connect(probe, (struct sockaddr *)&probe_sa, sizeof probe_sa) == 0;
    close(probe);
    if (live) {
      close(dfd);
      return num(env, -EADDRINUSE);
    }
  }

  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  char tmpdir[sizeof path + 16];
  int n = snprintf(tmpdir, sizeof tmpdir, "%s/.nhXXXXXX", dir);
  if (n < 0 || (size_t)n >= sizeof tmpdir || (size_t)n + 2 >= sizeof sa.sun_path) {
    close(dfd);
    return num(env, -ENAMETOOLONG);
  }
  if (mkdtemp(tmpdir) == NULL) {
    err = -errno;
    close(dfd);
    return num(env, err);
  }
  memcpy(sa.sun_path, tmpdir, (size_t)n);
  memcpy(sa.sun_path + n, "/s", 3);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) err = -errno;
  else {
    refuse_rights(fd);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || chmod(sa.sun_path, (mode_t)mode) != 0 ||
        listen(fd, (int)backlog) != 0 || renameat(AT_FDCWD, sa.sun_path, dfd, base) != 0) {
      err = -errno;
      close(fd);
      fd = -1;
    }
  }
  unlink(sa.sun_path);
  rmdir(tmpdir);
  close(dfd);
  if (fd < 0) return num(env, err);
  reserve_open();
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

/*
 * unixAccept(fd, out: Float64Array(6), groups: Uint32Array) -> 0 | -errno. out = [fd, pid, uid, gid]
 * (SO_PEERCRED) then [copied, total] supplementary groups (SO_PEERGROUPS, Linux >= 4.13: the peer's
 * groups when it connected), the first `copied` in groups. Nothing is read from the connection.
 * At EMFILE/ENFILE the reserve descriptor is given up for one accept, that connection closed and the
 * reserve reopened: out[0] = 1 when one was shed so, 0 when nothing could be done (no reserve).
 */
napi_value nh_unix_accept(napi_env env, napi_callback_info info) {
  napi_value args[3];
  size_t argc = 3;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < 2)
    return nh_throw(env, "too few arguments");
  int32_t lfd;
  double *out;
  uint32_t *groups = NULL;
  size_t out_len, groups_len = 0;
  if (!arg_i32(env, args[0], &lfd) || !nh_arg_f64_array(env, args[1], &out, &out_len) ||
      (argc > 2 && !nh_arg_u32_array(env, args[2], &groups, &groups_len)))
    return NULL;
  if (out_len < (groups == NULL ? 4 : 6)) return nh_throw(env, "out needs 6 elements (4 without groups)");
  int fd;
  do {
    fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int err = errno;
    out[0] = 0;
    if ((err == EMFILE || err == ENFILE) && reserve_fd >= 0) {
      close(reserve_fd);
      reserve_fd = -1;
      int shed = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (shed >= 0) {
        /* Never authenticated: nothing passed can be queued unless the kernel lacks SO_PASSRIGHTS. */
        if (refuses_rights(shed)) close(shed);
        else nh_closer_submit(shed, 0);
        out[0] = 1;
      }
      reserve_open();
    }
    return num(env, -err);
  }
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    int err = errno;
    close(fd);
    return num(env, -err);
  }
  double copied = 0, total = 0;
  if (groups != NULL) {
    socklen_t glen = (socklen_t)(groups_len * sizeof(uint32_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0) {
      copied = total = (double)(glen / sizeof(uint32_t));
    } else if (errno == ERANGE) {
      total = (double)(glen / sizeof(uint32_t));
    }
  }
  /* A kernel without SO_PASSRIGHTS let the peer pass descriptors already: drain it before closing. */
  if (!refuses_rights(fd)) set_drain(fd, 1);
  out[0] = fd;
  out[1] = cred.pid;
  out[2] = cred.uid;
  out[3] = cred.gid;
  if (groups != NULL) {
    out[4] = copied;
    out[5] = total;
  }
  return num(env, 0);
}

/*
 * unixSetPassRights(fd, on) -> 0 | -errno: lets fd take SCM_RIGHTS (SO_PASSRIGHTS, Linux >= 6.16),
 * for a connection once authenticated; from then on it is drained before it is closed. -ENOPROTOOPT
 * on older kernels, where every socket takes them anyway.
 */
napi_value nh_unix_set_pass_rights(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!get_args(env, info, 2, args)) return NULL;
  int32_t fd, on;
  if (!arg_i32(env, args[0], &fd) || !arg_i32(env, args[1], &on)) return NULL;
  int v = on != 0;
  if (v) set_drain(fd, 1);
  if (setsockopt(fd, SOL_SOCKET, SO_PASSRIGHTS, &v, sizeof v) != 0) return num(env, -errno);
  return num(env, 0);
}

/*
 * unixCookie(fd, out: Uint32Array(2)) -> 0 | -errno: the socket's SO_COOKIE (socket(7)), a 64-bit
 * number the kernel never gives to another socket while it runs, as [low, high] halves.
 */
napi_value nh_unix_cookie(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!get_args(env, info, 2, args)) return NULL;
  int32_t fd;
  uint32_t *out;
  size_t out_len;
  if (!arg_i32(env, args[0], &fd) || !nh_arg_u32_array(env, args[1], &out, &out_len)) return NULL;
  if (out_len < 2) return nh_throw(env, "out needs 2 elements");
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0) return num(env, -errno);
  out[0] = (uint32_t)cookie;
  out[1] = (uint32_t)(cookie >> 32);
  return num(env, 0);
}

/*
 * unixRecvMsg(fd, buf, off, len, meta: Int32Array) -> length | -errno (0: end of file). meta[0]
 * gets 1 for MSG_TRUNC and 2 for MSG_CTRUNC, meta[1] the number of descriptors received, meta[2..]
 * the descriptors (close-on-exec). Descriptors beyond meta's room go to the closer threads and are
 * flagged CTRUNC. There is room for all a message can carry (SCM_MAX_FD): none is dropped by the kernel.
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
  fd_control control;
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
        nh_closer_submit(rfd, 0);
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
 * out[0] is the server's end, out[1] the application's. Both close-on-exec and blocking: the
 * program's own O_NONBLOCK is the client's to set (it would be shared through the open file), and
 * the server's end needs none, since every call here on it says MSG_DONTWAIT (two fcntl calls fewer
 * per socket; a uv_poll watch would set O_NONBLOCK anyway, unixPollSet does not).
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
  /* The program never passes descriptors over its data pair: refuse them, or drain before closing. */
  if (!refuse_rights(sv[0])) set_drain(sv[0], 1);
  out[0] = sv[0];
  out[1] = sv[1];
  return num(env, 0);
}

/*
 * unixClose(fd) -> 0 | -errno. For the server's own sockets (a pair end that may hold descriptors is
 * drained first) and descriptors known to be harmless; never for one a client handed over.
 */
napi_value nh_unix_close(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!get_args(env, info, 1, args)) return NULL;
  int32_t fd;
  if (!arg_i32(env, args[0], &fd)) return NULL;
  return num(env, close_own(fd) == 0 ? 0 : -errno);
}

/*
 * unixCloseDrained(fd) -> 0 | 1 | -errno: a socket a client may have passed descriptors to (a control
 * connection) is shut for reading and drained (descriptors to the closer threads), then closed here
 * (0), or, when descriptors may be left in it, on a closer thread (1), so that its close releases no
 * client file on this thread.
 */
napi_value nh_unix_close_drained(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!get_args(env, info, 1, args)) return NULL;
  int32_t fd;
  if (!arg_i32(env, args[0], &fd)) return NULL;
  int found = 0;
  return num(env, close_drained(fd, &found));
}

/*
 * unixCloseForeign(fd, tag) -> 1 | 0: closes a descriptor a client handed over on a closer thread;
 * onClosed (unixCloserInit) gets tag afterwards unless tag is 0. 0 when the queue is full: the
 * descriptor then stays open for good (counted in unixCloserStats), never closed here.
 */
napi_value nh_unix_close_foreign(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!get_args(env, info, 2, args)) return NULL;
  int32_t fd;
  uint32_t tag;
  if (!arg_i32(env, args[0], &fd) || !nh_arg_u32(env, args[1], &tag)) return NULL;
  return num(env, nh_closer_submit(fd, tag));
}

static napi_threadsafe_function closer_tsfn;

static void closer_notify(uint32_t tag, void *ctx) {
  (void)ctx;
  /* Non-blocking into an unbounded queue: one small entry per close, bounded by the closes queued. */
  napi_call_threadsafe_function(closer_tsfn, (void *)(uintptr_t)tag, napi_tsfn_nonblocking);
}

static void closer_call_js(napi_env env, napi_value callback, void *context, void *data) {
  (void)context;
  if (env == NULL || callback == NULL) return;
  napi_value undefined, arg;
  if (napi_get_undefined(env, &undefined) != napi_ok ||
      napi_create_uint32(env, (uint32_t)(uintptr_t)data, &arg) != napi_ok)
    return;
  napi_call_function(env, undefined, callback, 1, &arg, NULL);
}

/*
 * unixCloserInit(onClosed): onClosed(tag) runs on the event loop after each tagged unixCloseForeign
 * has closed its descriptor. Once per process (later calls are ignored); does not keep the loop alive.
 */
napi_value nh_unix_closer_init(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!get_args(env, info, 1, args)) return NULL;
  if (closer_tsfn != NULL) return NULL;
  napi_value name;
  NH_CALL(env, napi_create_string_utf8(env, "nexthop:closer", NAPI_AUTO_LENGTH, &name));
  NH_CALL(env, napi_create_threadsafe_function(env, args[0], NULL, name, 0, 1, NULL, NULL, NULL,
                                               closer_call_js, &closer_tsfn));
  NH_CALL(env, napi_unref_threadsafe_function(env, closer_tsfn));
  nh_closer_set_notify(closer_notify, NULL);
  return NULL;
}

/* unixCloserStats(out: Float64Array(5)): [waiting, closing, closed, kept open (queue full), threads]. */
napi_value nh_unix_closer_stats(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!get_args(env, info, 1, args)) return NULL;
  double *out;
  size_t out_len;
  if (!nh_arg_f64_array(env, args[0], &out, &out_len)) return NULL;
  if (out_len < 5) return nh_throw(env, "out needs 5 elements");
  nh_closer_stats st;
  nh_closer_get_stats(&st);
  out[0] = (double)st.waiting;
  out[1] = (double)st.closing;
  out[2] = (double)st.closed;
  out[3] = (double)st.kept;
  out[4] = (double)st.threads;
  return NULL;
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
  if (drain_flagged(fd)) {
    /* It may carry passed descriptors (no SO_PASSRIGHTS): room for them, then to the closer threads. */
    fd_control control;
    struct iovec iov = {.iov_base = p, .iov_len = len};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    do {
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;
      n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) hand_over_fds(&msg);
    return num(env, n < 0 ? -errno : (double)n);
  }
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
  /* A pair end that may carry passed descriptors (no SO_PASSRIGHTS) reads them, for the closer. */
  static _Thread_local fd_control controls[DGRAM_BATCH];
  int with_rights = drain_flagged(fd);
  memset(msgs, 0, max * sizeof msgs[0]);
  for (uint32_t k = 0; k < max; k++) {
    iov[k].iov_base = buf + (size_t)k * slot;
    iov[k].iov_len = slot;
    msgs[k].msg_hdr.msg_iov = &iov[k];
    msgs[k].msg_hdr.msg_iovlen = 1;
    if (with_rights) {
      msgs[k].msg_hdr.msg_control = controls[k].buf;
      msgs[k].msg_hdr.msg_controllen = sizeof controls[k].buf;
    }
  }
  int rc;
  do {
    rc = recvmmsg(fd, msgs, max, MSG_DONTWAIT | (with_rights ? MSG_CMSG_CLOEXEC : 0), NULL);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return num(env, -errno);
  if (with_rights)
    for (int k = 0; k < rc; k++) hand_over_fds(&msgs[k].msg_hdr);
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

/* ---- pair watches: an epoll set of the addon's own ------------------------------------------------ */

/*
 * A uv_poll watch per pair costs, per socket, uv_poll_init's probe (epoll_ctl ADD then DEL), a DEL
 * and a batched ADD (io_uring_enter) at each start, two more epoll_ctl at close and an
 * ioctl(FIONBIO). The pairs' ends go instead into one epoll set made here, level-triggered like
 * uv_poll: ADD once, MOD when the interest changes, nothing at close (closing the end's only
 * descriptor takes it out of the set). One uv_poll watches the set's descriptor; when it is readable,
 * one epoll_wait collects what is ready and one call into JS hands over the batch as [id, ready]
 * pairs, where id is the number the end was added with (never reused by the server, so an event for
 * an end closed meanwhile names nothing and is ignored).
 *
 * An end closed while another process shares its open file (a child between fork and exec) stays in
 * the set until that copy closes too: its events (a hang-up, level-triggered) keep naming the old id
 * until then, and are ignored. An end a closer thread will close (a kernel without SO_PASSRIGHTS) is
 * taken out of the set first (unixPollClose), since that close happens later.
 */
enum { POLLSET_BATCH = 64 };

typedef struct nh_pollset {
  uv_poll_t poll;
  int epfd;
  napi_env env;
  napi_ref callback;
  napi_ref out_ref;
  double *out;
  size_t out_len;
  napi_async_context async_context;
} nh_pollset;

typedef struct {
  nh_pollset *set;
} nh_pollset_box;

static const napi_type_tag POLLSET_TAG = {0x6e657874686f7033ULL, 0x706169722d736574ULL};

/* Ready bits as JS gets them: 1 readable, 2 writable, 4 POLLRDHUP, 16 hung up (POLLHUP or POLLERR). */
static uint32_t pollset_ready(uint32_t ev) {
  return ((ev & EPOLLIN) ? 1u : 0) | ((ev & EPOLLOUT) ? 2u : 0) | ((ev & EPOLLRDHUP) ? 4u : 0) |
         ((ev & (EPOLLHUP | EPOLLERR)) ? 16u : 0);
}

static void on_pollset(uv_poll_t *handle, int status, int events) {
  (void)status;
  (void)events;
  nh_pollset *ps = handle->data;
  if (ps->callback == NULL) return;
  struct epoll_event ev[POLLSET_BATCH];
  int max = (int)(ps->out_len / 2 < POLLSET_BATCH ? ps->out_len / 2 : POLLSET_BATCH);
  int n;
  do {
    n = epoll_wait(ps->epfd, ev, max, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return;
  for (int i = 0; i < n; i++) {
    ps->out[2 * i] = (double)ev[i].data.u64;
    ps->out[2 * i + 1] = (double)pollset_ready(ev[i].events);
  }
  napi_env env = ps->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, recv, result, arg;
  if (napi_get_reference_value(env, ps->callback, &callback) == napi_ok && callback != NULL &&
      napi_get_global(env, &recv) == napi_ok && napi_create_uint32(env, (uint32_t)n, &arg) == napi_ok) {
    if (napi_make_callback(env, ps->async_context, recv, callback, 1, &arg, &result) == napi_pending_exception) {
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void free_pollset(uv_handle_t *handle) {
  nh_pollset *ps = handle->data;
  if (ps->epfd >= 0) close(ps->epfd);
  free(ps);
}

static void close_pollset(napi_env env, nh_pollset_box *box) {
  nh_pollset *ps = box->set;
  if (ps == NULL) return;
  box->set = NULL;
  uv_poll_stop(&ps->poll);
  if (ps->callback != NULL) napi_delete_reference(env, ps->callback);
  ps->callback = NULL;
  if (ps->out_ref != NULL) napi_delete_reference(env, ps->out_ref);
  ps->out_ref = NULL;
  ps->out = NULL;
  ps->out_len = 0;
  if (ps->async_context != NULL) napi_async_destroy(env, ps->async_context);
  ps->async_context = NULL;
  uv_close((uv_handle_t *)&ps->poll, free_pollset);
}

static void finalize_pollset_box(napi_env env, void *data, void *hint) {
  (void)hint;
  close_pollset(env, data);
  free(data);
}

/* The box of a set (its set NULL once closed), or NULL after throwing. */
static nh_pollset_box *unwrap_pollset(napi_env env, napi_value v) {
  bool ok = false;
  void *data = NULL;
  if (napi_check_object_type_tag(env, v, &POLLSET_TAG, &ok) != napi_ok || !ok ||
      napi_get_value_external(env, v, &data) != napi_ok) {
    nh_throw(env, "expected a set from unixPollSet");
    return NULL;
  }
  return data;
}

/*
 * unixPollSet(out: Float64Array, onReady) -> set. onReady(n) runs once per batch of ready ends, out
 * holding n [id, ready] pairs (at most min(out.length / 2, 64) per batch; more come in the next).
 * The set keeps out referenced. unixPollSetClose it when done.
 */
napi_value nh_unix_poll_set(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!get_args(env, info, 2, args)) return NULL;
  double *out;
  size_t out_len;
  if (!nh_arg_f64_array(env, args[0], &out, &out_len)) return NULL;
  if (out_len < 2) return nh_throw(env, "out needs 2 elements at least");
  napi_valuetype type;
  NH_CALL(env, napi_typeof(env, args[1], &type));
  if (type != napi_function) return nh_throw(env, "expected a callback");
  uv_loop_t *loop;
  NH_CALL(env, napi_get_uv_event_loop(env, &loop));
  nh_pollset *ps = calloc(1, sizeof *ps);
  nh_pollset_box *box = calloc(1, sizeof *box);
  if (ps == NULL || box == NULL) {
    free(ps);
    free(box);
    return nh_throw(env, "out of memory");
  }
  ps->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (ps->epfd < 0) {
    int err = errno;
    free(ps);
    free(box);
    return nh_throw_errno(env, "epoll_create1", err);
  }
  int rc = uv_poll_init(loop, &ps->poll, ps->epfd);
  if (rc != 0) {
    close(ps->epfd);
    free(ps);
    free(box);
    return nh_throw(env, uv_strerror(rc));
  }
  ps->poll.data = ps;
  ps->env = env;
  ps->out = out;
  ps->out_len = out_len;
  box->set = ps;
  napi_value name, external;
  if (napi_create_string_utf8(env, "nexthop:pairs", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &ps->async_context) != napi_ok ||
      napi_create_reference(env, args[1], 1, &ps->callback) != napi_ok ||
      napi_create_reference(env, args[0], 1, &ps->out_ref) != napi_ok ||
      napi_create_external(env, box, finalize_pollset_box, NULL, &external) != napi_ok ||
      (rc = uv_poll_start(&ps->poll, UV_READABLE, on_pollset)) != 0) {
    close_pollset(env, box);
    free(box);
    return nh_throw(env, "cannot create the set");
  }
  napi_type_tag_object(env, external, &POLLSET_TAG);
  return external;
}

/*
 * unixPollCtl(set, op, fd, id, events) -> 0 | -errno. op 1 adds fd (EPOLL_CTL_ADD), 3 changes what
 * it is watched for (MOD), 2 takes it out (DEL; closing it does that too). events: 1 readable,
 * 2 writable, 4 POLLRDHUP, 8 or 0 hang-up only (epoll reports POLLHUP and POLLERR whatever is
 * asked); level-triggered. id (an integer below 2^53) comes back with each of fd's events.
 */
napi_value nh_unix_poll_ctl(napi_env env, napi_callback_info info) {
  napi_value args[5];
  if (!get_args(env, info, 5, args)) return NULL;
  nh_pollset_box *box = unwrap_pollset(env, args[0]);
  if (box == NULL) return NULL;
  int32_t op, fd;
  int64_t id;
  uint32_t events;
  if (!arg_i32(env, args[1], &op) || !arg_i32(env, args[2], &fd) || !nh_arg_u32(env, args[4], &events))
    return NULL;
  if (napi_get_value_int64(env, args[3], &id) != napi_ok || id < 0) return nh_throw(env, "expected an id");
  if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_DEL && op != EPOLL_CTL_MOD) return nh_throw(env, "op must be 1, 2 or 3");
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = ((events & 1) ? EPOLLIN : 0) | ((events & 2) ? EPOLLOUT : 0) | ((events & 4) ? EPOLLRDHUP : 0);
  ev.data.u64 = (uint64_t)id;
  if (box->set == NULL) return num(env, -EBADF);
  return num(env, epoll_ctl(box->set->epfd, op, fd, &ev) == 0 ? 0 : -errno);
}

/*
 * unixPollClose(set, fd) -> 0 | -errno: unixClose for an end in the set. An end that must be drained
 * and may then be closed on a closer thread (later) is taken out of the set first; any other leaves
 * it by its close.
 */
napi_value nh_unix_poll_close(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!get_args(env, info, 2, args)) return NULL;
  nh_pollset_box *box = unwrap_pollset(env, args[0]);
  if (box == NULL) return NULL;
  int32_t fd;
  if (!arg_i32(env, args[1], &fd)) return NULL;
  if (box->set != NULL && drain_flagged(fd)) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    epoll_ctl(box->set->epfd, EPOLL_CTL_DEL, fd, &ev);
  }
  return num(env, close_own(fd) == 0 ? 0 : -errno);
}

/* unixPollSetClose(set): stops the set and closes its epoll descriptor (idempotent); ends stay open. */
napi_value nh_unix_poll_set_close(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!get_args(env, info, 1, args)) return NULL;
  nh_pollset_box *box = unwrap_pollset(env, args[0]);
  if (box != NULL) close_pollset(env, box);
  return NULL;
}
