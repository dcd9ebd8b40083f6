/* The public C API (nexthop.h) over the core. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>

#include "nexthop.h"
#include "nh_core.h"

/* The descriptor as a VR socket, or -1 (ENOTSOCK when it is none). */
static int vr_fd(int fd, struct nh_fd *e) {
  int rc = nh_resolve(fd, NULL, e);
  if (rc == 0) errno = ENOTSOCK;
  return rc == 1 ? 0 : -1;
}

NH_EXPORT int nexthop_socket(const char *vr, int type, int protocol) {
  return nexthop_socket_family(vr, AF_INET, type, protocol);
}

NH_EXPORT int nexthop_socket_family(const char *vr, int family, int type, int protocol) {
  if (family != AF_INET && family != AF_INET6) {
    errno = EAFNOSUPPORT;
    return -1;
  }
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (base != SOCK_STREAM && base != SOCK_DGRAM) {
    errno = ESOCKTNOSUPPORT;
    return -1;
  }
  int ci = nh_conn_index(vr);
  if (ci < 0) return -1;
  struct nh_fd e;
  int fd = nh_vr_socket(ci, family, type, protocol, &e);
  if (fd < 0) return -1;
  if (!(type & SOCK_CLOEXEC)) fcntl(fd, F_SETFD, 0);
  if (type & SOCK_NONBLOCK) fcntl(fd, F_SETFL, O_NONBLOCK);
  nh_fd_set(fd, &e);
  return fd;
}

NH_EXPORT int nexthop_attach(const char *vr, int fd) {
  struct nh_fd e;
  int rc = nh_resolve(fd, vr, &e);
  if (rc == 0) errno = EBADF;
  return rc == 1 ? 0 : -1;
}

NH_EXPORT int nexthop_connect(int fd, const struct sockaddr *addr, socklen_t len) {
  struct nh_fd e;
  return vr_fd(fd, &e) < 0 ? -1 : nh_vr_connect(fd, &e, addr, len);
}

NH_EXPORT int nexthop_bind(int fd, const struct sockaddr *addr, socklen_t len) {
  struct nh_fd e;
  return vr_fd(fd, &e) < 0 ? -1 : nh_vr_bind(fd, &e, addr, len);
}

NH_EXPORT int nexthop_listen(int fd, int backlog) {
  struct nh_fd e;
  return vr_fd(fd, &e) < 0 ? -1 : nh_vr_listen(fd, &e, backlog);
}

NH_EXPORT int nexthop_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  struct nh_fd e;
  if (vr_fd(fd, &e) < 0) {
    /* A listener whose VR was restarted is re-created there (nh_vr_relisten), not failed. */
    if (errno != ENOTCONN || nh_fd_get(fd, &e) != NH_VR || !e.listening || nh_vr_relisten(fd, &e) < 0)
      return -1;
  }
  return nh_vr_accept(fd, &e, addr, len, flags);
}

NH_EXPORT int nexthop_accept(int fd, struct sockaddr *addr, socklen_t *len) {
  return nexthop_accept4(fd, addr, len, 0);
}

NH_EXPORT int nexthop_getsockopt(int fd, int level, int name, void *value, socklen_t *len) {
  struct nh_fd e;
  return vr_fd(fd, &e) < 0 ? -1 : nh_vr_getsockopt(fd, &e, level, name, value, len);
}

NH_EXPORT int nexthop_setsockopt(int fd, int level, int name, const void *value, socklen_t len) {
  struct nh_fd e;
  return vr_fd(fd, &e) < 0 ? -1 : nh_vr_setsockopt(fd, &e, level, name, value, len);
}

NH_EXPORT int nexthop_shutdown(int fd, int how) {
  struct nh_fd e;
  return vr_fd(fd, &e) < 0 ? -1 : nh_vr_shutdown(fd, &e, how);
}

NH_EXPORT int nexthop_getsockname(int fd, struct sockaddr *addr, socklen_t *len) {
  struct nh_fd e;
  return vr_fd(fd, &e) < 0 ? -1 : nh_vr_name(fd, &e, 0, addr, len);
}

NH_EXPORT int nexthop_getpeername(int fd, struct sockaddr *addr, socklen_t *len) {
  struct nh_fd e;
  return vr_fd(fd, &e) < 0 ? -1 : nh_vr_name(fd, &e, 1, addr, len);
}

NH_EXPORT ssize_t nexthop_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *dest,
                                 socklen_t dest_len) {
  struct nh_fd e;
  if (vr_fd(fd, &e) < 0) return -1;
  if (!e.dgram) {
    errno = EOPNOTSUPP;
    return -1;
  }
  struct iovec iov = {(void *)buf, len};
  struct msghdr mh = {0};
  mh.msg_name = (void *)dest;
  mh.msg_namelen = dest != NULL ? dest_len : 0;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  return nh_vr_sendmsg(fd, &e, &mh, flags);
}

NH_EXPORT ssize_t nexthop_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *src,
                                   socklen_t *src_len) {
  struct nh_fd e;
  if (vr_fd(fd, &e) < 0) return -1;
  if (!e.dgram) {
    errno = EOPNOTSUPP;
    return -1;
  }
  struct iovec iov = {buf, len};
  struct msghdr mh = {0};
  mh.msg_name = src;
  mh.msg_namelen = src != NULL && src_len != NULL ? *src_len : 0;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  ssize_t n = nh_vr_recvmsg(fd, &e, &mh, flags);
  if (n >= 0 && src != NULL && src_len != NULL) *src_len = mh.msg_namelen;
  return n;
}

NH_EXPORT int nexthop_close(int fd) {
  struct nh_fd e;
  int rc = nh_resolve(fd, NULL, &e);
  if (rc == 1) return nh_vr_close(fd, &e);
  nh_fd_forget(fd);
  return nh_sys_close(fd);
}

NH_EXPORT const char *nexthop_last_error(void) { return nh_last_message(); }
