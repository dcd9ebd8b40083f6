/* libnexthop-preload.so: runs unmodified programs with their sockets inside a VR (`nexthop exec`).
 *
 * Only setup calls are hooked. socket(AF_INET or AF_INET6, stream|dgram) makes a kernel socket and
 * remembers the intent; the kernel-or-VR choice is taken at connect, bind or sendto from
 * NEXTHOP_EXEC_RULES (exec_rules.h: IPv4 and IPv6 prefixes, longest prefix wins; 127/8 and ::1 stay
 * on the kernel, the rest goes to the VR NEXTHOP_VR; IPv4-mapped addresses go by the IPv4 rules) or
 * earlier by setsockopt(SO_BINDTODEVICE, "nexthop:<vr>" | "kernel"). Choosing the VR puts a VR
 * socket on the same descriptor number (dup3, keeping O_NONBLOCK and FD_CLOEXEC) and replays the
 * options set so far. Data then flows through the real descriptor, so read/write/poll/epoll/dup/fork
 * need nothing, except UDP: its datagrams carry a header (protocol §7.3), which sendto/recvfrom/
 * sendmsg/recvmsg/send/recv/sendmmsg/recvmmsg, and read/write/readv/writev on a *connected* UDP
 * socket, add and strip; and a TCP socket's non-blocking connect, whose outcome the data calls
 * collect and report as the kernel would (§7.1 of the protocol).
 *
 * The settings (NEXTHOP_VR, NEXTHOP_RUN_DIR, NEXTHOP_EXEC_RULES) are read once, when the shim is
 * loaded: programs such as nginx replace their environment before they fork their workers. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "exec_rules.h"
#include "nh_core.h"

#ifndef SO_BINDTODEVICE
#define SO_BINDTODEVICE 25
#endif

/* ---- the libc functions we stand in front of ---- */

static int (*real_socket)(int, int, int);
static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static int (*real_bind)(int, const struct sockaddr *, socklen_t);
static int (*real_listen)(int, int);
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int (*real_getsockname)(int, struct sockaddr *, socklen_t *);
static int (*real_getpeername)(int, struct sockaddr *, socklen_t *);
static int (*real_getsockopt)(int, int, int, void *, socklen_t *);
static int (*real_setsockopt)(int, int, int, const void *, socklen_t);
static int (*real_shutdown)(int, int);
static int (*real_close)(int);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static int (*real_sendmmsg)(int, struct mmsghdr *, unsigned int, int);
static int (*real_recvmmsg)(int, struct mmsghdr *, unsigned int, int, struct timespec *);
static long (*real_syscall)(long, ...);
static int (*real_epoll_ctl)(int, int, int, struct epoll_event *);

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int active; /* NEXTHOP_VR is set */

/* ---- rules: destination or bind prefix -> kernel or VR (exec_rules.c) ---- */

static struct nh_rules rules;

#define RESOLVE(name) real_##name = (__typeof__(real_##name))dlsym(RTLD_NEXT, #name)

static void init(void) {
  RESOLVE(socket);
  RESOLVE(connect);
  RESOLVE(bind);
  RESOLVE(listen);
  RESOLVE(accept);
  RESOLVE(accept4);
  RESOLVE(getsockname);
  RESOLVE(getpeername);
  RESOLVE(getsockopt);
  RESOLVE(setsockopt);
  RESOLVE(shutdown);
  RESOLVE(close);
  RESOLVE(sendto);
  RESOLVE(recvfrom);
  RESOLVE(sendmsg);
  RESOLVE(recvmsg);
  RESOLVE(send);
  RESOLVE(recv);
  RESOLVE(read);
  RESOLVE(write);
  RESOLVE(readv);
  RESOLVE(writev);
  RESOLVE(sendmmsg);
  RESOLVE(recvmmsg);
  if (real_syscall == NULL) RESOLVE(syscall);
  RESOLVE(epoll_ctl);
  nh_load_settings();
  active = nh_default_vr() != NULL;
  nh_report_session_errors = 1;
  nh_rules_parse(&rules, getenv("NEXTHOP_EXEC_RULES"), stderr);
}

__attribute__((constructor)) static void preload_init(void) { pthread_once(&init_once, init); }

#define READY() pthread_once(&init_once, init)

/* What fd is for the shim: NH_KERNEL, NH_INTENT or NH_VR (e filled), or -1 with errno. */
static int classify(int fd, struct nh_fd *e) {
  if (!active) return NH_KERNEL;
  enum nh_kind k = nh_fd_get(fd, e);
  if (k == NH_INTENT || k == NH_KERNEL) return k;
  int rc = nh_resolve(fd, NULL, e);
  if (rc < 0) return errno == EBADF && k == NH_UNKNOWN ? NH_KERNEL : -1;
  return rc ? NH_VR : NH_KERNEL;
}

static void make_kernel(int fd) {
  struct nh_fd k = {0};
  k.kind = NH_KERNEL;
  nh_fd_set(fd, &k);
}

/* Puts a socket of `vr` on descriptor fd (until now a kernel socket nobody has used) and replays
 * the options the program set on it. */
static int choose_vr(int fd, struct nh_fd *e, const char *vr) {
  int ci = nh_conn_index(vr);
  if (ci < 0) return -1;
  struct nh_fd ve;
  int vfd = nh_vr_socket(ci, e->family == AF_INET6 ? AF_INET6 : AF_INET, e->dgram ? SOCK_DGRAM : SOCK_STREAM, 0, &ve);
  if (vfd < 0) {
    static int told_v6;
    int v6_refused = errno == EAFNOSUPPORT && e->family == AF_INET6;
    if (errno == EACCES || errno == ENETDOWN || (v6_refused && !__atomic_exchange_n(&told_v6, 1, __ATOMIC_RELAXED)))
      fprintf(stderr, "nexthop: %s: cannot open %sa socket in VR %s: %s\n", program_invocation_short_name,
              v6_refused ? "an IPv6 " : "", vr, nh_last_message()[0] != '\0' ? nh_last_message() : strerror(errno));
    return -1;
  }
  struct nh_opt *opts = nh_fd_take_opts(fd);
  if (nh_vr_replace(fd, vfd, &ve) < 0) {
    nh_opts_free(opts);
    return -1;
  }
  /* Replayed best effort: an option the VR does not have fails as it would have on its own. */
  for (struct nh_opt *o = opts; o != NULL; o = o->next) {
    int saved = errno;
    nh_vr_setsockopt(fd, &ve, o->level, o->name, o->value, o->len);
    errno = saved;
  }
  nh_opts_free(opts);
  *e = ve;
  return 0;
}

/* The choice for an undecided socket at connect/bind/sendto to addr: 1 VR (e updated), 0 kernel,
 * -1 error. An address the socket's family cannot take (another family, too short) leaves the
 * choice open: the kernel's call answers it. An AF_INET6 socket goes by its IPv6 address, an
 * IPv4-mapped one by the IPv4 rules, and so does the AF_INET destination of a dual-stack UDP socket. */
static int settle(int fd, struct nh_fd *e, const struct sockaddr *addr, socklen_t len) {
  if (addr == NULL || len < (socklen_t)sizeof(sa_family_t)) return 0;
  int fam = addr->sa_family;
  if (e->family == AF_INET6 ? !(fam == AF_INET6 || (fam == AF_INET && e->dgram)) : fam != AF_INET) return 0;
  int want = nh_rules_wants_vr(&rules, addr, len);
  if (want < 0) return 0;
  if (!want) {
    make_kernel(fd);
    return 0;
  }
  return choose_vr(fd, e, nh_default_vr()) < 0 ? -1 : 1;
}

/* ---- hooks ---- */

NH_EXPORT int socket(int domain, int type, int protocol) {
  READY();
  int fd = real_socket(domain, type, protocol);
  if (fd < 0 || !active || (domain != AF_INET && domain != AF_INET6)) return fd;
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  int udp = base == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP);
  int tcp = base == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP);
  if (!udp && !tcp) return fd;
  struct nh_fd e = {0};
  e.kind = NH_INTENT;
  e.family = (uint8_t)domain;
  e.dgram = (uint8_t)udp;
  nh_fd_set(fd, &e);
  return fd;
}

/* connect() of an undecided socket the rules give to the VR: SOCKET_CONNECT, one exchange (protocol
 * §13.11), where the VR has it and no options wait to be set first. 1 VR (e updated), 0 kernel, -1
 * error, or 2 when the whole call is done (*rc its result). */
static int settle_connect(int fd, struct nh_fd *e, const struct sockaddr *addr, socklen_t len, int *rc) {
  if (addr == NULL || len < (socklen_t)sizeof(sa_family_t)) return 0;
  int fam = addr->sa_family;
  if (e->family == AF_INET6 ? !(fam == AF_INET6 || (fam == AF_INET && e->dgram)) : fam != AF_INET) return 0;
  int want = nh_rules_wants_vr(&rules, addr, len);
  if (want < 0) return 0;
  if (!want) {
    make_kernel(fd);
    return 0;
  }
  const char *vr = nh_default_vr();
  int ci = nh_conn_index(vr);
  if (ci < 0) return -1;
  int r = nh_vr_connect_new(ci, fd, e, addr, len);
  if (r == -2) return choose_vr(fd, e, vr) < 0 ? -1 : 1;
  if (r < 0 && (errno == EACCES || errno == ENETDOWN))
    fprintf(stderr, "nexthop: %s: cannot open a socket in VR %s: %s\n", program_invocation_short_name, vr,
            nh_last_message()[0] != '\0' ? nh_last_message() : strerror(errno));
  *rc = r;
  return 2;
}

NH_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  READY();
  struct nh_fd e;
  int k = classify(fd, &e);
  if (k < 0) return -1;
  if (k == NH_INTENT) {
    int done = 0;
    int rc = settle_connect(fd, &e, addr, len, &done);
    if (rc == 2) return done;
    if (rc < 0) return -1;
    k = rc ? NH_VR : NH_KERNEL;
  }
  if (k == NH_VR) return nh_vr_connect(fd, &e, addr, len);
  return real_connect(fd, addr, len);
}

NH_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  READY();
  struct nh_fd e;
  int k = classify(fd, &e);
  if (k < 0) return -1;
  if (k == NH_INTENT) {
    int rc = settle(fd, &e, addr, len);
    if (rc < 0) return -1;
    k = rc ? NH_VR : NH_KERNEL;
  }
  if (k == NH_VR) return nh_vr_bind(fd, &e, addr, len);
  return real_bind(fd, addr, len);
}

NH_EXPORT int listen(int fd, int backlog) {
  READY();
  struct nh_fd e;
  int k = classify(fd, &e);
  if (k < 0) return -1;
  if (k == NH_VR) return nh_vr_listen(fd, &e, backlog);
  return real_listen(fd, backlog);
}

/* classify for accept: a listener whose VR was restarted is no longer known there (ENOTCONN), and
 * is re-created by accept (nh_vr_relisten) rather than failed. */
static int classify_listener(int fd, struct nh_fd *e) {
  int k = classify(fd, e);
  if (k < 0 && errno == ENOTCONN && nh_fd_get(fd, e) == NH_VR && e->listening) {
    if (nh_vr_relisten(fd, e) < 0) return -1;
    return NH_VR;
  }
  return k;
}

NH_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  READY();
  struct nh_fd e;
  int k = classify_listener(fd, &e);
  if (k < 0) return -1;
  if (k == NH_VR) return nh_vr_accept(fd, &e, addr, len, flags);
  return real_accept4(fd, addr, len, flags);
}

NH_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len) {
  READY();
  struct nh_fd e;
  int k = classify_listener(fd, &e);
  if (k < 0) return -1;
  if (k == NH_VR) return nh_vr_accept(fd, &e, addr, len, 0);
  return real_accept(fd, addr, len);
}

NH_EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len) {
  READY();
  struct nh_fd e;
  int k = classify(fd, &e);
  if (k < 0) return -1;
  if (k == NH_VR) return nh_vr_name(fd, &e, 0, addr, len);
  return real_getsockname(fd, addr, len);
}

NH_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len) {
  READY();
  struct nh_fd e;
  int k = classify(fd, &e);
  if (k < 0) return -1;
  if (k == NH_VR) return nh_vr_name(fd, &e, 1, addr, len);
  return real_getpeername(fd, addr, len);
}

NH_EXPORT int getsockopt(int fd, int level, int name, void *value, socklen_t *len) {
  READY();
  struct nh_fd e;
  int k = classify(fd, &e);
  if (k < 0) return -1;
  if (k == NH_VR) return nh_vr_getsockopt(fd, &e, level, name, value, len);
  return real_getsockopt(fd, level, name, value, len);
}

/* SO_BINDTODEVICE "nexthop:<vr>" or "kernel": the program's own choice. Returns 1 if it was one. */
static int device_choice(const void *value, socklen_t len, char *vr, size_t cap, int *kernel) {
  if (value == NULL) return 0;
  char name[96];
  size_t n = len < sizeof name - 1 ? len : sizeof name - 1;
  memcpy(name, value, n);
  name[n] = '\0';
  if (strcmp(name, "kernel") == 0) {
    *kernel = 1;
    return 1;
  }
  if (strncmp(name, "nexthop:", 8) == 0 && name[8] != '\0') {
    *kernel = 0;
    snprintf(vr, cap, "%s", name + 8);
    return 1;
  }
  return 0;
}

NH_EXPORT int setsockopt(int fd, int level, int name, const void *value, socklen_t len) {
  READY();
  struct nh_fd e;
  int k = classify(fd, &e);
  if (k < 0) return -1;
  char vr[96];
  int kernel;
  if (k != NH_KERNEL || active) {
    if (level == SOL_SOCKET && name == SO_BINDTODEVICE && device_choice(value, len, vr, sizeof vr, &kernel)) {
      if (k == NH_INTENT) {
        if (kernel) {
          make_kernel(fd);
          return 0;
        }
        return choose_vr(fd, &e, vr);
      }
      if (kernel ? k == NH_KERNEL : k == NH_VR) return 0; /* already there (one VR per socket) */
      errno = EINVAL; /* the choice was made at connect/bind: too late to move the socket */
      return -1;
    }
  }
  if (k == NH_VR) return nh_vr_setsockopt(fd, &e, level, name, value, len);
  int rc = real_setsockopt(fd, level, name, value, len);
  if (rc == 0 && k == NH_INTENT) nh_fd_add_opt(fd, level, name, value, len);
  return rc;
}

NH_EXPORT int shutdown(int fd, int how) {
  READY();
  struct nh_fd e;
  int k = classify(fd, &e);
  if (k < 0) return -1;
  if (k == NH_VR) return nh_vr_shutdown(fd, &e, how);
  return real_shutdown(fd, how);
}

NH_EXPORT int close(int fd) {
  READY();
  struct nh_fd e;
  /* Nothing is sent: other copies of the descriptor may keep the socket (protocol §4, Lifetime). */
  if (nh_fd_get(fd, &e) == NH_VR)
    nh_vr_forget(fd, &e);
  else if (e.kind != NH_UNKNOWN)
    nh_fd_forget(fd);
  nh_epoll_forget(fd);
  return real_close(fd);
}

/* Registrations of sockets the shim may move to another open file (into the VR at connect/bind, a
 * listener re-created after a VR restart) are noted, so that the move keeps them. */
NH_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev) {
  READY();
  int rc = real_epoll_ctl(epfd, op, fd, ev);
  if (rc != 0 || !active) return rc;
  int saved = errno;
  struct nh_fd e;
  enum nh_kind k = nh_fd_get(fd, &e);
  if (k == NH_INTENT || k == NH_VR || op == EPOLL_CTL_DEL) nh_epoll_note(epfd, op, fd, ev);
  errno = saved;
  return rc;
}

/* A descriptor whose data calls need the shim: a VR UDP socket (datagram header), or a VR TCP socket
 * whose connect outcome is pending or unreported. Checked without the lock first: every read and
 * write comes through here. 1 with *e filled, else 0. */
static int hot(int fd, struct nh_fd *e) {
  if (!active || !nh_fd_hot(fd)) return 0;
  return classify(fd, e) == NH_VR;
}

static ssize_t dgram_send(int fd, struct nh_fd *e, const void *buf, size_t len, int flags,
                          const struct sockaddr *to, socklen_t tolen) {
  struct iovec iov = {(void *)buf, len};
  struct msghdr mh = {0};
  mh.msg_name = (void *)to;
  mh.msg_namelen = to != NULL ? tolen : 0;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  return nh_vr_sendmsg(fd, e, &mh, flags);
}

static ssize_t dgram_recv(int fd, struct nh_fd *e, void *buf, size_t len, int flags, struct sockaddr *from,
                          socklen_t *fromlen) {
  struct iovec iov = {buf, len};
  struct msghdr mh = {0};
  mh.msg_name = from;
  mh.msg_namelen = from != NULL && fromlen != NULL ? *fromlen : 0;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  ssize_t n = nh_vr_recvmsg(fd, e, &mh, flags);
  if (n >= 0 && from != NULL && fromlen != NULL) *fromlen = mh.msg_namelen;
  return n;
}

/* Undecided UDP socket sending to `to`: take the choice now. Returns the kind, or -1. */
static int settle_send(int fd, struct nh_fd *e, int k, const struct sockaddr *to, socklen_t tolen) {
  if (k != NH_INTENT || !e->dgram || to == NULL) return k;
  int rc = settle(fd, e, to, tolen);
  if (rc < 0) return -1;
  return rc ? NH_VR : NH_KERNEL;
}

NH_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
                         socklen_t tolen) {
  READY();
  struct nh_fd e;
  int k = classify(fd, &e);
  if (k < 0) return -1;
  k = settle_send(fd, &e, k, to, tolen);
  if (k < 0) return -1;
  if (k == NH_VR && e.dgram) return dgram_send(fd, &e, buf, len, flags, to, tolen);
  if (k == NH_VR) { /* TCP ignores the address, as Linux */
    if (nh_vr_stream_check(fd, &e) < 0) return -1;
    return real_send(fd, buf, len, flags);
  }
  return real_sendto(fd, buf, len, flags, to, tolen);
}

NH_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags) {
  READY();
  struct nh_fd e;
  if (hot(fd, &e)) {
    if (e.dgram) return dgram_send(fd, &e, buf, len, flags, NULL, 0);
    if (nh_vr_stream_check(fd, &e) < 0) return -1;
  }
  return real_send(fd, buf, len, flags);
}

NH_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  READY();
  struct nh_fd e;
  int k = classify(fd, &e);
  if (k < 0) return -1;
  k = settle_send(fd, &e, k, msg->msg_name, msg->msg_namelen);
  if (k < 0) return -1;
  if (k == NH_VR && e.dgram) return nh_vr_sendmsg(fd, &e, msg, flags);
  if (k == NH_VR) {
    if (nh_vr_stream_check(fd, &e) < 0) return -1;
    if (msg->msg_name != NULL) {
      struct msghdr m = *msg;
      m.msg_name = NULL;
      m.msg_namelen = 0;
      return real_sendmsg(fd, &m, flags);
    }
  }
  return real_sendmsg(fd, msg, flags);
}

/* Linux takes at most UIO_MAXIOV messages per sendmmsg/recvmmsg call. */
#define MMSG_MAX 1024

/* One sendmsg per message, as the kernel's loop: the count sent, or -1 when the first failed. */
NH_EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags) {
  READY();
  struct nh_fd e;
  int k = classify(fd, &e);
  if (k < 0) return -1;
  if (n > 0 && v != NULL) k = settle_send(fd, &e, k, v[0].msg_hdr.msg_name, v[0].msg_hdr.msg_namelen);
  if (k < 0) return -1;
  if (k != NH_VR || !e.dgram) {
    if (k == NH_VR && nh_vr_stream_check(fd, &e) < 0) return -1;
    return real_sendmmsg(fd, v, n, flags);
  }
  if (n > MMSG_MAX) n = MMSG_MAX;
  unsigned int i = 0;
  for (; i < n; i++) {
    ssize_t r = nh_vr_sendmsg(fd, &e, &v[i].msg_hdr, flags);
    if (r < 0) {
      if (i > 0) break;
      return -1;
    }
    v[i].msg_len = (unsigned int)r;
  }
  return (int)i;
}

static int timespec_passed(const struct timespec *deadline) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec > deadline->tv_sec || (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* As the kernel's: up to n datagrams, each receive waiting as the descriptor and flags say
 * (MSG_WAITFORONE: only for the first); the timeout is looked at after each datagram. */
NH_EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags, struct timespec *timeout) {
  READY();
  struct nh_fd e;
  int h = hot(fd, &e);
  if (h && !e.dgram && nh_vr_stream_check(fd, &e) < 0) return -1;
  if (!h || !e.dgram) return real_recvmmsg(fd, v, n, flags, timeout);
  if (timeout != NULL && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000L)) {
    errno = EINVAL;
    return -1;
  }
  struct timespec deadline = {0, 0};
  if (timeout != NULL) {
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout->tv_sec;
    deadline.tv_nsec += timeout->tv_nsec;
    if (deadline.tv_nsec >= 1000000000L) {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000L;
    }
  }
  if (n > MMSG_MAX) n = MMSG_MAX;
  int each = flags & ~MSG_WAITFORONE;
  unsigned int i = 0;
  while (i < n) {
    ssize_t r = nh_vr_recvmsg(fd, &e, &v[i].msg_hdr, each);
    if (r < 0) {
      if (i > 0) break;
      return -1;
    }
    v[i].msg_len = (unsigned int)r;
    i++;
    if (flags & MSG_WAITFORONE) each |= MSG_DONTWAIT;
    if (timeout != NULL && timespec_passed(&deadline)) break;
  }
  if (timeout != NULL) { /* the time left, as Linux writes it back */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long left = (long long)(deadline.tv_sec - now.tv_sec) * 1000000000LL + (deadline.tv_nsec - now.tv_nsec);
    if (left < 0) left = 0;
    timeout->tv_sec = (time_t)(left / 1000000000LL);
    timeout->tv_nsec = (long)(left % 1000000000LL);
  }
  return (int)i;
}

NH_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen) {
  READY();
  struct nh_fd e;
  if (hot(fd, &e)) {
    if (e.dgram) return dgram_recv(fd, &e, buf, len, flags, from, fromlen);
    if (nh_vr_stream_check(fd, &e) < 0) return -1;
  }
  return real_recvfrom(fd, buf, len, flags, from, fromlen);
}

NH_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags) {
  READY();
  struct nh_fd e;
  if (hot(fd, &e)) {
    if (e.dgram) return dgram_recv(fd, &e, buf, len, flags, NULL, NULL);
    if (nh_vr_stream_check(fd, &e) < 0) return -1;
  }
  return real_recv(fd, buf, len, flags);
}

NH_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  READY();
  struct nh_fd e;
  if (hot(fd, &e)) {
    if (e.dgram) return nh_vr_recvmsg(fd, &e, msg, flags);
    if (nh_vr_stream_check(fd, &e) < 0) return -1;
  }
  return real_recvmsg(fd, msg, flags);
}

/* read/write/readv/writev reach a UDP socket only when it is connected (nc -u): one datagram each. */
NH_EXPORT ssize_t read(int fd, void *buf, size_t len) {
  READY();
  struct nh_fd e;
  if (hot(fd, &e)) {
    if (e.dgram) return dgram_recv(fd, &e, buf, len, 0, NULL, NULL);
    if (nh_vr_stream_check(fd, &e) < 0) return -1;
  }
  return real_read(fd, buf, len);
}

NH_EXPORT ssize_t write(int fd, const void *buf, size_t len) {
  READY();
  struct nh_fd e;
  if (hot(fd, &e)) {
    if (e.dgram) return dgram_send(fd, &e, buf, len, 0, NULL, 0);
    if (nh_vr_stream_check(fd, &e) < 0) return -1;
  }
  return real_write(fd, buf, len);
}

/* readv/writev on a VR UDP socket: one datagram, as the kernel's (iovcnt above IOV_MAX is EINVAL). */
static ssize_t dgram_iov(int fd, struct nh_fd *e, const struct iovec *iov, int n, int sending) {
  if (n < 0 || n > IOV_MAX) {
    errno = EINVAL;
    return -1;
  }
  struct msghdr mh = {0};
  mh.msg_iov = (struct iovec *)iov;
  mh.msg_iovlen = (size_t)n;
  return sending ? nh_vr_sendmsg(fd, e, &mh, 0) : nh_vr_recvmsg(fd, e, &mh, 0);
}

NH_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n) {
  READY();
  struct nh_fd e;
  if (hot(fd, &e)) {
    if (e.dgram) return dgram_iov(fd, &e, iov, n, 0);
    if (nh_vr_stream_check(fd, &e) < 0) return -1;
  }
  return real_readv(fd, iov, n);
}

NH_EXPORT ssize_t writev(int fd, const struct iovec *iov, int n) {
  READY();
  struct nh_fd e;
  if (hot(fd, &e)) {
    if (e.dgram) return dgram_iov(fd, &e, iov, n, 1);
    if (nh_vr_stream_check(fd, &e) < 0) return -1;
  }
  return real_writev(fd, iov, n);
}

/* _FORTIFY_SOURCE builds call these instead of read/recv/recvfrom. */
NH_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen) {
  if (len > buflen) abort();
  return read(fd, buf, len);
}

NH_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags) {
  if (len > buflen) abort();
  return recv(fd, buf, len, flags);
}

NH_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags, struct sockaddr *from,
                                 socklen_t *fromlen) {
  if (len > buflen) abort();
  return recvfrom(fd, buf, len, flags, from, fromlen);
}

/* libuv before 1.45 (Debian 12's, under dig and nslookup) makes sendmmsg and recvmmsg through
 * syscall(2) rather than libc's functions: those two numbers are taken to the hooks above, every
 * other call goes to libc's syscall() unchanged (this library's own raw calls among them). Like
 * libc's, it reads six arguments whatever the call has, the last from the caller's stack: that
 * read is not one AddressSanitizer may judge. */
__attribute__((no_sanitize("address"))) NH_EXPORT long syscall(long number, ...) {
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  if (number == SYS_sendmmsg) return sendmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned int)a[2], (int)a[3]);
  if (number == SYS_recvmmsg)
    return recvmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned int)a[2], (int)a[3], (struct timespec *)a[4]);
  if (real_syscall == NULL) real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
  return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
