/* libnexthop and the shim against a fake VR that speaks docs/remote-socket-protocol.md (built with
 * ASan/UBSan by native/Makefile.check). The fake answers from a script instead of a stack, and
 * records what it was asked, so the tests check the client's side of each sequence in §10.
 *
 * Usage: client_test <preload-shim.so>  (the shim part re-executes this binary with LD_PRELOAD). */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../rsock/rsock_proto.h"
#include "../nexthop.h"

#define CHECK(cond)                                                                                  \
  do {                                                                                               \
    if (!(cond)) {                                                                                   \
      fprintf(stderr, "%s:%d: check failed: %s (errno %d %s)\n", __FILE__, __LINE__, #cond, errno, \
              strerror(errno));                                                                      \
      exit(1);                                                                                       \
    }                                                                                                \
  } while (0)

/* ---- the fake VR ---- */

struct fake_socket {
  uint32_t id;
  int server_end;
  dev_t dev;
  ino_t ino;
  int dgram;
  int family;   /* AF_INET or AF_INET6 */
  int dgram_v2; /* created on a version-2 connection: 64-byte datagram headers (§13.5) */
};

static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fake_cv = PTHREAD_COND_INITIALIZER;
static struct fake_socket fake_sockets[256];
static int n_fake_sockets;
static uint32_t next_socket_id = 7;
static int release_held_connect; /* CONNECT to port 9 waits for this */
static int release_port8;        /* CONNECT to port 8 waits for this */
static int fake_echo_dgrams;     /* UDP sockets made from now on answer each datagram (shim run) */
static char fake_log[16384];     /* "socket connect setsockopt:6/1 ..." what the fake was asked */
static int hellos;
/* The protocol version of the connection the calling fake thread serves (§13.1). */
static __thread uint16_t conn_version = 1;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&fake_mu);
  strncat(fake_log, line, sizeof fake_log - strlen(fake_log) - 2);
  strcat(fake_log, " ");
  pthread_mutex_unlock(&fake_mu);
}

static void fake_send(int conn, struct rsock_msg *m, int fd) {
  uint8_t buf[RSOCK_MAX_MESSAGE];
  size_t len = rsock_encode_v(m, conn_version, buf, sizeof buf);
  CHECK(len > 0);
  struct iovec iov = {buf, len};
  union {
    struct cmsghdr h;
    char b[CMSG_SPACE(sizeof(int))];
  } ctl;
  struct msghdr mh = {0};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (fd >= 0) {
    memset(&ctl, 0, sizeof ctl);
    mh.msg_control = ctl.b;
    mh.msg_controllen = sizeof ctl.b;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  }
  sendmsg(conn, &mh, MSG_NOSIGNAL);
}

static void reply_ok(int conn, uint32_t id) {
  struct rsock_msg r = {0};
  r.type = RSOCK_OK;
  r.id = id;
  fake_send(conn, &r, -1);
}

static void reply_error(int conn, uint32_t id, int err, const char *text) {
  struct rsock_msg r = {0};
  r.type = RSOCK_ERROR;
  r.id = id;
  r.err = err;
  r.data.ptr = (const uint8_t *)text;
  r.data.len = (uint16_t)strlen(text);
  fake_send(conn, &r, -1);
}

static struct fake_socket *new_fake_socket(int dgram, int family, int *app_end) {
  int sv[2];
  CHECK(socketpair(AF_UNIX, (dgram ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0, sv) == 0);
  struct stat st;
  CHECK(fstat(sv[1], &st) == 0);
  pthread_mutex_lock(&fake_mu);
  struct fake_socket *s = &fake_sockets[n_fake_sockets++];
  s->id = next_socket_id++;
  s->server_end = sv[0];
  s->dev = st.st_dev;
  s->ino = st.st_ino;
  s->dgram = dgram;
  s->family = family;
  s->dgram_v2 = dgram && conn_version >= 2;
  pthread_mutex_unlock(&fake_mu);
  *app_end = sv[1];
  return s;
}

static struct fake_socket *fake_by_id(uint32_t id) {
  for (int i = 0; i < n_fake_sockets; i++)
    if (fake_sockets[i].id == id) return &fake_sockets[i];
  return NULL;
}

/* CONNECT FILLER (§7.1): the bytes the client wrote before the request, read off once connected. */
static void discard_filler(struct fake_socket *s) {
  char buf[RSOCK_CONNECT_FILLER_BYTES];
  size_t left = sizeof buf;
  while (left > 0) {
    ssize_t n = read(s->server_end, buf, left);
    CHECK(n > 0);
    left -= (size_t)n;
  }
}

/* A failed FILLER connect: the VR closes the socket, its filler unread. */
static void fail_filled(struct fake_socket *s) {
  close(s->server_end);
  s->server_end = -1;
}

struct held {
  int conn;
  uint32_t id;
  int *release;
  struct fake_socket *s;
  int filled;
  uint16_t version; /* of the connection the reply goes on */
};

static void *held_connect(void *arg) {
  struct held *h = arg;
  pthread_mutex_lock(&fake_mu);
  while (!*h->release) pthread_cond_wait(&fake_cv, &fake_mu);
  pthread_mutex_unlock(&fake_mu);
  conn_version = h->version;
  reply_ok(h->conn, h->id); /* the reply first, then the app's end becomes writable (§7.1) */
  if (h->filled) discard_filler(h->s);
  free(h);
  return NULL;
}

/* UDP echo (shim run): each datagram comes back from the peer it was sent to, with PKTINFO. */
static void *echo_dgrams(void *arg) {
  struct fake_socket *s = arg;
  uint8_t buf[70000];
  for (;;) {
    ssize_t n = recv(s->server_end, buf, sizeof buf, 0);
    if (n <= 0) break;
    if (s->dgram_v2) { /* the same with the 64-byte header: 10.2.0.2:53 or [2001:db8::2]:53 */
      struct rsock_dgram2 h2;
      CHECK(rsock_dgram2_decode(buf, (size_t)n, &h2) == RSOCK_DGRAM2_HEADER_LEN);
      if (h2.peer.family == RSOCK_AF_UNSPEC) {
        h2.peer.family = (uint16_t)s->family;
        if (s->family == AF_INET6)
          inet_pton(AF_INET6, "2001:db8::2", h2.peer.addr);
        else
          memcpy(h2.peer.addr, (uint8_t[]){10, 2, 0, 2}, 4);
        h2.peer.port = 53;
      }
      h2.flags = RSOCK_DGRAM_PKTINFO;
      h2.ifindex = 3;
      memset(&h2.local, 0, sizeof h2.local);
      h2.local.family = (uint16_t)s->family;
      if (s->family == AF_INET6)
        inet_pton(AF_INET6, "2001:db8::1", h2.local.addr);
      else
        memcpy(h2.local.addr, (uint8_t[]){10, 2, 0, 1}, 4);
      h2.local.port = 53;
      CHECK(rsock_dgram2_encode(&h2, buf, sizeof buf) == RSOCK_DGRAM2_HEADER_LEN);
      send(s->server_end, buf, (size_t)n, MSG_NOSIGNAL);
      continue;
    }
    struct rsock_dgram h;
    CHECK(rsock_dgram_decode(buf, (size_t)n, &h) == RSOCK_DGRAM_HEADER_LEN);
    if (h.peer_port == 0) { /* to the connected peer: 10.2.0.2:53 in these tests */
      memcpy(h.peer, (uint8_t[]){10, 2, 0, 2}, 4);
      h.peer_port = 53;
    }
    h.flags = RSOCK_DGRAM_PKTINFO;
    h.ifindex = 3;
    memcpy(h.local, (uint8_t[]){10, 2, 0, 1}, 4);
    CHECK(rsock_dgram_encode(&h, buf, sizeof buf) == RSOCK_DGRAM_HEADER_LEN);
    send(s->server_end, buf, (size_t)n, MSG_NOSIGNAL);
  }
  return NULL;
}

/* Is buf a HELLO (type 0x0001 at offset 6, §3)? It is read at version 1 whatever the connection's. */
static int m_is_hello(const uint8_t *buf, size_t n) { return n >= 8 && buf[6] == 0x01 && buf[7] == 0x00; }

/* The fake's addresses: 10.2.0.1 / 2001:db8::1 for itself (self), 10.2.0.2 / 2001:db8::2 for peers. */
static void fake_ep(struct rsock_ep *ep, int family, int self, uint16_t port) {
  memset(ep, 0, sizeof *ep);
  ep->family = (uint16_t)family;
  ep->port = port;
  if (family == AF_INET6)
    inet_pton(AF_INET6, self ? "2001:db8::1" : "2001:db8::2", ep->addr);
  else
    memcpy(ep->addr, self ? (uint8_t[]){10, 2, 0, 1} : (uint8_t[]){10, 2, 0, 2}, 4);
}

struct fake_peer {
  int conn;
  int old; /* 1: speaks version 1 as it was before CONNECT FILLER: the flag is reserved, EINVAL;
              2: a version-2 VR that knows SOCKET_CONNECT (§13.11); 0: one that does not */
};

static void *fake_conn(void *arg) {
  struct fake_peer *peer = arg;
  int conn = peer->conn;
  int old = peer->old;
  free(peer);
  for (;;) {
    uint8_t buf[RSOCK_MAX_MESSAGE];
    union {
      struct cmsghdr h;
      char b[CMSG_SPACE(sizeof(int) * 4)];
    } ctl;
    struct iovec iov = {buf, sizeof buf};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.b;
    mh.msg_controllen = sizeof ctl.b;
    ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
    if (n <= 0) break;
    int passed = -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    if (cm != NULL && cm->cmsg_type == SCM_RIGHTS) memcpy(&passed, CMSG_DATA(cm), sizeof passed);
    struct rsock_msg m;
    struct rsock_fault f;
    /* HELLO has a version-1 header whatever follows (§13.1). */
    CHECK(rsock_decode_v(buf, (size_t)n, m_is_hello(buf, (size_t)n) ? 1 : conn_version, &m, &f) == 0);
    struct rsock_msg r = {0};
    r.id = m.id;
    switch (m.type) {
    case RSOCK_HELLO: {
      pthread_mutex_lock(&fake_mu);
      hellos++;
      pthread_mutex_unlock(&fake_mu);
      /* "old" is a version-1 VR; the others pick as a version-2 server does. */
      uint16_t chosen = old == 1 ? (m.min_version <= 1 ? 1 : 0) : rsock_negotiate(m.min_version, m.max_version);
      CHECK(chosen != 0);
      logf_("hello:%u-%u:%u", m.min_version, m.max_version, chosen);
      r.type = RSOCK_HELLO_OK;
      r.version = chosen;
      r.max_sockets = 1024;
      r.data.ptr = (const uint8_t *)"fake";
      r.data.len = 4;
      conn_version = 1;
      fake_send(conn, &r, -1);
      conn_version = chosen;
      break;
    }
    case RSOCK_SOCKET: {
      if (m.family != AF_INET && !(m.family == AF_INET6 && conn_version >= 2)) {
        logf_("socket-refused:%u", m.family);
        reply_error(conn, m.id, EAFNOSUPPORT, "address family not supported");
        break;
      }
      int app;
      struct fake_socket *s = new_fake_socket(m.sock_type == SOCK_DGRAM, m.family, &app);
      if (m.family == AF_INET6)
        logf_("socket6:%u", m.sock_type);
      else
        logf_("socket:%u", m.sock_type);
      if (s->dgram && fake_echo_dgrams) {
        pthread_t t;
        pthread_create(&t, NULL, echo_dgrams, s);
        pthread_detach(t);
      }
      r.type = RSOCK_SOCKET_OK;
      r.socket = s->id;
      fake_send(conn, &r, app);
      close(app);
      break;
    }
    case RSOCK_CONNECT: {
      int filled = (m.flags & RSOCK_CONNECT_FILLER) != 0;
      if (filled && old == 1) {
        logf_("connect-reserved:%u", m.socket);
        reply_error(conn, m.id, EINVAL, "reserved CONNECT flags");
        break;
      }
      if (filled && (m.flags & RSOCK_CONNECT_UNSPEC)) {
        logf_("probe:%u", m.socket);
        reply_ok(conn, m.id);
        break;
      }
      char ep[96];
      rsock_ep_format(&m.ep, ep, sizeof ep);
      logf_("connect:%u:%s%s", m.socket, ep, filled ? ":filler" : "");
      struct fake_socket *fs = fake_by_id(m.socket);
      CHECK(fs != NULL);
      if (m.ep.port == 1) {
        reply_error(conn, m.id, ECONNREFUSED, "refused");
        if (filled) fail_filled(fs);
      } else if (m.ep.port == 9 || m.ep.port == 8) {
        struct held *h = malloc(sizeof *h);
        h->conn = conn;
        h->id = m.id;
        h->release = m.ep.port == 9 ? &release_held_connect : &release_port8;
        h->s = fs;
        h->filled = filled;
        h->version = conn_version;
        pthread_t t;
        pthread_create(&t, NULL, held_connect, h);
        pthread_detach(t);
      } else {
        reply_ok(conn, m.id);
        if (filled) discard_filler(fs);
      }
      break;
    }
    case RSOCK_BIND: {
      char ep[96];
      rsock_ep_format(&m.ep, ep, sizeof ep);
      logf_("bind:%u:%s", m.socket, ep);
      reply_ok(conn, m.id);
      break;
    }
    case RSOCK_LISTEN:
      logf_("listen:%u", m.socket);
      reply_ok(conn, m.id);
      break;
    case RSOCK_ACCEPT: {
      logf_("accept:%u:%u", m.socket, m.flags);
      struct fake_socket *ls = fake_by_id(m.socket);
      int family = ls != NULL ? ls->family : AF_INET;
      int app;
      struct fake_socket *s = new_fake_socket(0, family, &app);
      r.type = RSOCK_ACCEPT_OK;
      r.socket = s->id;
      fake_ep(&r.ep, family, 0, 51000);
      fake_send(conn, &r, app);
      close(app);
      break;
    }
    case RSOCK_SETSOCKOPT:
      logf_("setsockopt:%u:%u/%u", m.socket, m.level, m.name);
      if (m.level == IPPROTO_TCP && m.name == 99)
        reply_error(conn, m.id, ENOPROTOOPT, "no such option");
      else
        reply_ok(conn, m.id);
      break;
    case RSOCK_GETSOCKOPT: {
      logf_("getsockopt:%u:%u/%u", m.socket, m.level, m.name);
      uint8_t v[4] = {m.level == SOL_SOCKET && m.name == SO_ERROR ? 0 : 42, 0, 0, 0};
      r.type = RSOCK_OPT_OK;
      r.data.ptr = v;
      r.data.len = m.max_len < 4 ? (uint16_t)m.max_len : 4;
      fake_send(conn, &r, -1);
      break;
    }
    case RSOCK_GETSOCKNAME:
    case RSOCK_GETPEERNAME:
      logf_("%s:%u", m.type == RSOCK_GETSOCKNAME ? "getsockname" : "getpeername", m.socket);
      r.type = RSOCK_ADDR_OK;
      struct fake_socket *ns = fake_by_id(m.socket);
      int self = m.type == RSOCK_GETSOCKNAME;
      fake_ep(&r.ep, ns != NULL ? ns->family : AF_INET, self, self ? 40000 : 80);
      fake_send(conn, &r, -1);
      break;
    case RSOCK_SHUTDOWN:
      logf_("shutdown:%u:%u", m.socket, m.how);
      reply_ok(conn, m.id);
      break;
    case RSOCK_CLOSE:
      logf_("close:%u", m.socket);
      reply_ok(conn, m.id);
      break;
    case RSOCK_ATTACH: {
      struct stat st;
      struct fake_socket *found = NULL;
      if (passed >= 0 && fstat(passed, &st) == 0) {
        pthread_mutex_lock(&fake_mu);
        for (int i = 0; i < n_fake_sockets; i++)
          if (fake_sockets[i].dev == st.st_dev && fake_sockets[i].ino == st.st_ino) found = &fake_sockets[i];
        pthread_mutex_unlock(&fake_mu);
      }
      if (passed >= 0) close(passed);
      logf_("attach:%u", found != NULL ? found->id : 0);
      if (found == NULL) {
        reply_error(conn, m.id, EBADF, "not a socket of this VR");
        break;
      }
      if (conn_version < 2 && (found->family == AF_INET6 || found->dgram_v2)) { /* §13.6 */
        reply_error(conn, m.id, EPROTONOSUPPORT, "a version-2 socket");
        break;
      }
      r.type = RSOCK_ATTACH_OK;
      r.socket = found->id;
      r.family = (uint16_t)found->family;
      r.sock_type = found->dgram ? SOCK_DGRAM : SOCK_STREAM;
      r.protocol = found->dgram ? 17 : 6;
      r.state = RSOCK_STATE_CONNECTED | (found->dgram_v2 ? RSOCK_STATE_DGRAM_V2 : 0);
      fake_send(conn, &r, -1);
      break;
    }
    case RSOCK_SOCKET_CONNECT: {
      if (old != 2) { /* a VR from before SOCKET_CONNECT */
        logf_("sc-unknown");
        reply_error(conn, m.id, EOPNOTSUPP, "");
        break;
      }
      int filler = (m.flags & RSOCK_SOCKET_CONNECT_FILLER) != 0;
      int wait = (m.flags & RSOCK_SOCKET_CONNECT_WAIT) != 0;
      CHECK(filler != wait);
      char ep[96];
      rsock_ep_format(&m.ep, ep, sizeof ep);
      logf_("sc:%u:%s:%s", m.sock_type, ep, filler ? "filler" : "wait");
      int app;
      struct fake_socket *s = new_fake_socket(m.sock_type == SOCK_DGRAM, m.family, &app);
      int refused = m.ep.port == 1;
      if (filler) { /* the VR writes the filler before it hands the end over */
        static const char zeros[RSOCK_CONNECT_FILLER_BYTES];
        CHECK(write(app, zeros, sizeof zeros - 1) == (ssize_t)sizeof zeros - 1 && write(app, zeros, 1) == 1);
      }
      if (wait && refused) { /* one reply, no descriptor: the socket is gone */
        close(app);
        fail_filled(s);
        reply_error(conn, m.id, ECONNREFUSED, "refused");
        break;
      }
      r.type = RSOCK_SOCKET_OK;
      r.socket = s->id;
      fake_send(conn, &r, app);
      close(app);
      if (wait) break;
      if (refused) { /* the outcome, second reply with the same id */
        reply_error(conn, m.id, ECONNREFUSED, "refused");
        fail_filled(s);
      } else {
        reply_ok(conn, m.id);
        discard_filler(s);
      }
      break;
    }
    default:
      reply_error(conn, m.id, EOPNOTSUPP, "");
    }
  }
  close(conn);
  return NULL;
}

struct fake_listen {
  int fd;
  int old;
};

static void *fake_listener(void *arg) {
  struct fake_listen *l = arg;
  for (;;) {
    int c = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) continue;
    struct fake_peer *peer = malloc(sizeof *peer);
    peer->conn = c;
    peer->old = l->old;
    pthread_t t;
    pthread_create(&t, NULL, fake_conn, peer);
    pthread_detach(t);
  }
  return NULL;
}

static char run_dir[256];

/* VR `name` in run_dir; `old`: one that does not know CONNECT FILLER. */
static void listen_fake(const char *name, int old) {
  struct sockaddr_un sa = {0};
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s.sock", run_dir, name);
  unlink(sa.sun_path);
  int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  CHECK(lfd >= 0);
  CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof sa) == 0);
  CHECK(listen(lfd, 16) == 0);
  static struct fake_listen ls[3];
  struct fake_listen *l = &ls[old];
  l->fd = lfd;
  l->old = old;
  pthread_t t;
  pthread_create(&t, NULL, fake_listener, l);
  pthread_detach(t);
}

static void start_fake(void) {
  snprintf(run_dir, sizeof run_dir, "/tmp/nexthop-client-test-%d", getpid());
  mkdir(run_dir, 0700);
  listen_fake("fake", 0);
  listen_fake("old", 1);
  listen_fake("sc", 2);
  setenv("NEXTHOP_RUN_DIR", run_dir, 1);
}

static int log_has(const char *what) {
  pthread_mutex_lock(&fake_mu);
  int has = strstr(fake_log, what) != NULL;
  pthread_mutex_unlock(&fake_mu);
  return has;
}

static void clear_log(void) {
  pthread_mutex_lock(&fake_mu);
  fake_log[0] = '\0';
  pthread_mutex_unlock(&fake_mu);
}

static struct sockaddr_in sin_of(const char *ip, int port) {
  struct sockaddr_in s = {0};
  s.sin_family = AF_INET;
  s.sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, ip, &s.sin_addr);
  return s;
}

static struct sockaddr_in6 sin6_of(const char *ip, int port, uint32_t scope) {
  struct sockaddr_in6 s = {0};
  s.sin6_family = AF_INET6;
  s.sin6_port = htons((uint16_t)port);
  s.sin6_scope_id = scope;
  CHECK(inet_pton(AF_INET6, ip, &s.sin6_addr) == 1);
  return s;
}

/* ---- library tests ---- */

static void test_connect_and_names(void) {
  int fd = nexthop_socket("fake", SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(fd >= 0);
  CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  struct sockaddr_in to = sin_of("10.2.0.2", 80);
  CHECK(nexthop_connect(fd, (struct sockaddr *)&to, sizeof to) == 0);
  struct sockaddr_in me;
  socklen_t len = sizeof me;
  CHECK(nexthop_getsockname(fd, (struct sockaddr *)&me, &len) == 0);
  CHECK(len == sizeof me && me.sin_port == htons(40000) && me.sin_addr.s_addr == htonl(0x0a020001));
  /* A short buffer is filled as far as it goes; len says the full size (as the kernel). */
  char small[4];
  len = sizeof small;
  CHECK(nexthop_getpeername(fd, (struct sockaddr *)small, &len) == 0 && len == sizeof(struct sockaddr_in));
  int one = 1;
  CHECK(nexthop_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
  CHECK(nexthop_setsockopt(fd, IPPROTO_TCP, 99, &one, sizeof one) == -1 && errno == ENOPROTOOPT);
  CHECK(strcmp(nexthop_last_error(), "no such option") == 0);
  int type = 0;
  len = sizeof type;
  CHECK(nexthop_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM);
  CHECK(nexthop_shutdown(fd, SHUT_WR) == 0);
  CHECK(!log_has("shutdown:")); /* SHUT_WR travels in band (§7.1) */
  to = sin_of("10.2.0.2", 1);
  int fd2 = nexthop_socket("fake", SOCK_STREAM, 0);
  CHECK(nexthop_connect(fd2, (struct sockaddr *)&to, sizeof to) == -1 && errno == ECONNREFUSED);
  CHECK(nexthop_connect(fd2, NULL, 0) == -1 && errno == EINVAL);
  CHECK(close(fd) == 0 && close(fd2) == 0);
  CHECK(log_has("hello:1-2:2 ")); /* both versions offered; a version-2 VR picks 2 */
  int notours = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(nexthop_getsockname(notours, (struct sockaddr *)&me, &len) == -1 && errno == ENOTSOCK);
  close(notours);
  printf("ok connect, names, options, errors\n");
}

static short revents(int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
  CHECK(poll(&p, 1, 0) >= 0);
  return p.revents;
}

static int select_writable(int fd, int ms) {
  fd_set w;
  FD_ZERO(&w);
  FD_SET(fd, &w);
  struct timeval tv = {0, ms * 1000};
  CHECK(select(fd + 1, NULL, &w, NULL, &tv) >= 0);
  return FD_ISSET(fd, &w);
}

static int epoll_out(int ep, int ms) {
  struct epoll_event ev;
  int n = epoll_wait(ep, &ev, 1, ms);
  CHECK(n >= 0);
  return n == 1 && (ev.events & EPOLLOUT);
}

static int so_error(int fd) {
  int err = -1;
  socklen_t len = sizeof err;
  CHECK(nexthop_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
  return err;
}

static void test_nonblocking_connect(void) {
  /* Refused: the app end turns writable and failed at once (the VR closed its end, §7.1), SO_ERROR
   * tells why, a connect afterwards says ECONNABORTED (as Linux, once SO_ERROR took the error). */
  int fd = nexthop_socket("fake", SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK(fd >= 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK));
  struct sockaddr_in to = sin_of("10.2.0.2", 1);
  CHECK(nexthop_connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EINPROGRESS);
  struct pollfd p = {fd, POLLOUT, 0};
  CHECK(poll(&p, 1, 5000) == 1);
  CHECK(log_has("probe:") && log_has(":1:filler "));
  CHECK((p.revents & POLLOUT) && (p.revents & (POLLERR | POLLHUP)));
  CHECK(so_error(fd) == ECONNREFUSED);
  CHECK(so_error(fd) == 0);
  CHECK(nexthop_connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == ECONNABORTED);
  struct sockaddr_in me;
  socklen_t len = sizeof me;
  CHECK(nexthop_getpeername(fd, (struct sockaddr *)&me, &len) == -1 && errno == ENOTCONN);
  /* A new attempt on the same descriptor, as the kernel allows: a new VR socket in its place. */
  to = sin_of("10.2.0.2", 80);
  CHECK(nexthop_connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EINPROGRESS);
  CHECK(poll(&p, 1, 5000) == 1 && p.revents == POLLOUT);
  CHECK(so_error(fd) == 0);
  close(fd);
  /* Refused, and the next connect reports it (without SO_ERROR first). */
  fd = nexthop_socket("fake", SOCK_STREAM | SOCK_NONBLOCK, 0);
  to = sin_of("10.2.0.2", 1);
  CHECK(nexthop_connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EINPROGRESS);
  p.fd = fd; /* this descriptor: a stale one answers POLLNVAL at once, before the outcome */
  p.events = POLLOUT;
  CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLNVAL) == 0);
  CHECK(nexthop_connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == ECONNREFUSED);
  close(fd);
  /* A connect whose reply nobody collects before close: the reply is dropped when it comes. */
  fd = nexthop_socket("fake", SOCK_STREAM | SOCK_NONBLOCK, 0);
  to = sin_of("10.2.0.2", 80);
  CHECK(nexthop_connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EINPROGRESS);
  close(fd);
  fd = nexthop_socket("fake", SOCK_STREAM, 0);
  CHECK(fd >= 0);
  close(fd);
  printf("ok non-blocking connect: EINPROGRESS, refused (POLLOUT|POLLHUP, SO_ERROR, ECONNABORTED)\n");
}

/* While the handshake lasts the descriptor is not writable to poll, epoll (level and edge) or
 * select; when it completes it is, at once, and connect() says 0 then EISCONN, as Linux. */
static void test_nonblocking_pending(void) {
  int fd = nexthop_socket("fake", SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK(fd >= 0);
  struct sockaddr_in to = sin_of("10.2.0.2", 8);
  CHECK(nexthop_connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EINPROGRESS);
  int lt = epoll_create1(EPOLL_CLOEXEC), et = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};
  CHECK(epoll_ctl(lt, EPOLL_CTL_ADD, fd, &ev) == 0);
  ev.events = EPOLLOUT | EPOLLET;
  CHECK(epoll_ctl(et, EPOLL_CTL_ADD, fd, &ev) == 0);
  for (int i = 0; i < 3; i++) {
    CHECK(revents(fd) == 0);
    CHECK(!epoll_out(lt, 20) && !epoll_out(et, 0) && !select_writable(fd, 20));
    CHECK(so_error(fd) == 0);
    CHECK(nexthop_connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EALREADY);
    CHECK(write(fd, "x", 1) == -1 && errno == EAGAIN); /* as a TCP socket in SYN-SENT */
  }
  pthread_mutex_lock(&fake_mu);
  release_port8 = 1;
  pthread_cond_broadcast(&fake_cv);
  pthread_mutex_unlock(&fake_mu);
  CHECK(epoll_out(et, 5000));
  CHECK(epoll_out(lt, 0) && select_writable(fd, 0) && revents(fd) == POLLOUT);
  CHECK(nexthop_connect(fd, (struct sockaddr *)&to, sizeof to) == 0);
  CHECK(nexthop_connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EISCONN);
  CHECK(so_error(fd) == 0);
  /* The filler is gone and the send buffer is the kernel's default again. */
  int sndbuf = 0;
  socklen_t len = sizeof sndbuf;
  CHECK(getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) == 0 && sndbuf > 65536);
  struct fake_socket *fs = &fake_sockets[n_fake_sockets - 1];
  CHECK(write(fd, "hello", 5) == 5);
  char buf[8];
  CHECK(read(fs->server_end, buf, sizeof buf) == 5 && memcmp(buf, "hello", 5) == 0);
  close(lt);
  close(et);
  close(fd);
  printf("ok non-blocking connect in progress: not writable, EALREADY, SO_ERROR 0; then writable, 0, EISCONN\n");
}

/* A VR from before CONNECT FILLER: the app end is writable from the start and SO_ERROR waits for
 * the outcome (the previous behaviour), and the VR never sees the flag on a real CONNECT. */
static void test_old_vr(void) {
  clear_log();
  int fd = nexthop_socket("old", SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK(fd >= 0);
  struct sockaddr_in to = sin_of("10.2.0.2", 1);
  CHECK(nexthop_connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EINPROGRESS);
  CHECK(revents(fd) & POLLOUT);
  CHECK(so_error(fd) == ECONNREFUSED);
  CHECK(log_has("connect-reserved:") && log_has(":1 ") && !log_has(":filler "));
  CHECK(log_has("hello:1-2:1 ")); /* a version-1 VR: version 1, IPv4 as before */
  close(fd);
  printf("ok a VR without CONNECT FILLER: previous behaviour\n");
}

/* A run directory the caller cannot enter is "permission denied", not "not running". */
static void test_permission_denied(void) {
  if (getuid() != 0) {
    printf("skip permission denied (needs root to drop to nobody)\n");
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
    int fd = nexthop_socket("fake", SOCK_STREAM, 0);
    if (fd >= 0 || errno != EACCES) _exit(1);
    if (strstr(nexthop_last_error(), "permission denied") == NULL) _exit(2);
    _exit(0);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  printf("ok a run directory nobody cannot enter: EACCES, permission denied\n");
}

static int held_fd;
static int held_result = -2;

static void *blocked_connect(void *arg) {
  (void)arg;
  struct sockaddr_in to = sin_of("10.2.0.2", 9);
  held_result = nexthop_connect(held_fd, (struct sockaddr *)&to, sizeof to);
  return NULL;
}

static void test_threads(void) {
  /* A connect the VR holds does not hold up another thread's requests (replies matched by id). */
  held_fd = nexthop_socket("fake", SOCK_STREAM, 0);
  CHECK(held_fd >= 0);
  pthread_t t;
  pthread_create(&t, NULL, blocked_connect, NULL);
  while (!log_has("connect:") || !log_has(":9 ")) usleep(1000);
  int fd = nexthop_socket("fake", SOCK_STREAM, 0);
  CHECK(fd >= 0);
  struct sockaddr_in me;
  socklen_t len = sizeof me;
  for (int i = 0; i < 100; i++) CHECK(nexthop_getsockname(fd, (struct sockaddr *)&me, &len) == 0);
  CHECK(held_result == -2);
  pthread_mutex_lock(&fake_mu);
  release_held_connect = 1;
  pthread_cond_broadcast(&fake_cv);
  pthread_mutex_unlock(&fake_mu);
  pthread_join(t, NULL);
  CHECK(held_result == 0);
  close(fd);
  close(held_fd);
  printf("ok a blocked connect leaves other threads' requests alone\n");
}

static void test_fork_attach(void) {
  int fd = nexthop_socket("fake", SOCK_STREAM, 0);
  CHECK(fd >= 0);
  int before = hellos;
  pid_t pid = fork();
  if (pid == 0) {
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    /* The child's first call opens its own connection and attaches the inherited descriptor. */
    int rc = nexthop_getpeername(fd, (struct sockaddr *)&peer, &len);
    _exit(rc == 0 && peer.sin_port == htons(80) ? 0 : 1);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(hellos == before + 1);
  CHECK(log_has("attach:"));
  /* dup gives a number the library has not seen: attached too; a foreign socket is refused. */
  clear_log();
  int copy = dup(fd);
  struct sockaddr_in peer;
  socklen_t len = sizeof peer;
  CHECK(nexthop_getpeername(copy, (struct sockaddr *)&peer, &len) == 0);
  CHECK(log_has("attach:"));
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  CHECK(nexthop_attach("fake", sv[0]) == -1 && errno == EBADF);
  close(sv[0]);
  close(sv[1]);
  close(copy);
  close(fd);
  printf("ok fork and dup: ATTACH by possession\n");
}

static void test_accept(void) {
  int l = nexthop_socket("fake", SOCK_STREAM, 0);
  struct sockaddr_in any = sin_of("0.0.0.0", 8080);
  CHECK(nexthop_bind(l, (struct sockaddr *)&any, sizeof any) == 0);
  CHECK(nexthop_listen(l, 16) == 0);
  CHECK(fcntl(l, F_SETFL, O_NONBLOCK) == 0);
  struct sockaddr_in peer;
  socklen_t len = sizeof peer;
  CHECK(nexthop_accept(l, (struct sockaddr *)&peer, &len) == -1 && errno == EAGAIN);
  CHECK(!log_has("accept:"));
  /* The VR writes one token per pending connection to its end (§7.2). */
  struct fake_socket *fs = fake_by_id(fake_sockets[n_fake_sockets - 1].id);
  CHECK(write(fs->server_end, "", 1) == 1);
  struct pollfd p = {l, POLLIN, 0};
  CHECK(poll(&p, 1, 5000) == 1);
  int c = nexthop_accept4(l, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK);
  CHECK(c >= 0 && (fcntl(c, F_GETFL) & O_NONBLOCK) && !(fcntl(c, F_GETFD) & FD_CLOEXEC));
  CHECK(peer.sin_port == htons(51000) && peer.sin_addr.s_addr == htonl(0x0a020002));
  CHECK(log_has("accept:") && log_has(":1 "));
  /* Bytes flow through the pair untouched. */
  struct fake_socket *cs = &fake_sockets[n_fake_sockets - 1];
  CHECK(write(cs->server_end, "hi", 2) == 2);
  char buf[8];
  p = (struct pollfd){c, POLLIN, 0};
  CHECK(poll(&p, 1, 5000) == 1 && read(c, buf, sizeof buf) == 2 && memcmp(buf, "hi", 2) == 0);
  close(c);
  close(l);
  printf("ok accept: token first, then ACCEPT NONBLOCK\n");
}

/* UDP on a version-1 VR ("old": the 20-byte header of §7.3) and a version-2 one ("fake": 64 bytes,
 * §13.5): the same datagrams both ways. */
static void test_udp(const char *vr, int v2) {
  int u = nexthop_socket(vr, SOCK_DGRAM, 0);
  CHECK(u >= 0);
  struct fake_socket *fs = &fake_sockets[n_fake_sockets - 1];
  CHECK(fs->dgram_v2 == v2);
  struct sockaddr_in to = sin_of("10.2.0.2", 53);
  CHECK(nexthop_sendto(u, "q", 1, 0, (struct sockaddr *)&to, sizeof to) == 1);
  uint8_t buf[128];
  ssize_t n = read(fs->server_end, buf, sizeof buf);
  if (v2) {
    uint8_t want[RSOCK_DGRAM2_HEADER_LEN + 1] = {0x40, 0, 0, 0, 0, 0, 0, 0, 2, 0, 53, 0, 0, 0, 0, 0, 10, 2, 0, 2};
    want[RSOCK_DGRAM2_HEADER_LEN] = 'q';
    CHECK(n == sizeof want && memcmp(buf, want, sizeof want) == 0);
  } else {
    static const uint8_t want[] = {0x14, 0, 0, 0, 10, 2, 0, 2, 53, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'q'};
    CHECK(n == sizeof want && memcmp(buf, want, sizeof want) == 0);
  }
  size_t hlen;
  if (v2) {
    struct rsock_dgram2 h = {0};
    h.flags = RSOCK_DGRAM_PKTINFO;
    fake_ep(&h.peer, AF_INET, 0, 53);
    h.ifindex = 3;
    fake_ep(&h.local, AF_INET, 1, 53);
    hlen = rsock_dgram2_encode(&h, buf, sizeof buf);
    CHECK(hlen == RSOCK_DGRAM2_HEADER_LEN);
  } else {
    struct rsock_dgram h = {0};
    h.flags = RSOCK_DGRAM_PKTINFO;
    memcpy(h.peer, (uint8_t[]){10, 2, 0, 2}, 4);
    h.peer_port = 53;
    h.ifindex = 3;
    memcpy(h.local, (uint8_t[]){10, 2, 0, 1}, 4);
    hlen = rsock_dgram_encode(&h, buf, sizeof buf);
    CHECK(hlen == RSOCK_DGRAM_HEADER_LEN);
  }
  memcpy(buf + hlen, "answer", 6);
  CHECK(write(fs->server_end, buf, hlen + 6) == (ssize_t)(hlen + 6));
  char got[3];
  struct sockaddr_in from;
  socklen_t len = sizeof from;
  /* Truncated like the kernel: 3 bytes of 6, MSG_TRUNC reports the datagram's length. */
  CHECK(nexthop_recvfrom(u, got, sizeof got, MSG_TRUNC, (struct sockaddr *)&from, &len) == 6);
  CHECK(len == sizeof from);
  CHECK(memcmp(got, "ans", 3) == 0 && from.sin_port == htons(53) && from.sin_addr.s_addr == htonl(0x0a020002));
  CHECK(nexthop_sendto(u, buf, 70000, 0, (struct sockaddr *)&to, sizeof to) == -1 && errno == EMSGSIZE);
  /* An AF_INET6 destination on an AF_INET socket: EAFNOSUPPORT, as Linux; a short one EINVAL. */
  struct sockaddr_in6 six = {0};
  six.sin6_family = AF_INET6;
  six.sin6_port = htons(53);
  CHECK(nexthop_sendto(u, "q", 1, 0, (struct sockaddr *)&six, sizeof six) == -1 && errno == EAFNOSUPPORT);
  CHECK(nexthop_sendto(u, "q", 1, 0, (struct sockaddr *)&to, 8) == -1 && errno == EINVAL);
  close(u);
  printf("ok UDP datagram header both ways, protocol version %d\n", v2 ? 2 : 1);
}

/* Version 2 negotiated, and IPv6 sockets through the library (§13); a version-1 VR refuses them. */
static void test_ipv6(void) {
  clear_log();
  CHECK(nexthop_socket_family("old", AF_INET6, SOCK_STREAM, 0) == -1 && errno == EAFNOSUPPORT);
  CHECK(!log_has("socket-refused:") && !log_has("socket6:")); /* the library knew: nothing asked */
  CHECK(nexthop_socket_family("fake", AF_UNIX, SOCK_STREAM, 0) == -1 && errno == EAFNOSUPPORT);

  int fd = nexthop_socket_family("fake", AF_INET6, SOCK_STREAM, 0);
  CHECK(fd >= 0 && log_has("socket6:1"));
  int domain = 0;
  socklen_t len = sizeof domain;
  CHECK(nexthop_getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_INET6);
  int one = 1;
  CHECK(nexthop_setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0);
  CHECK(log_has(":41/26 "));
  /* The kernel's checks: a sockaddr_in is too short for an AF_INET6 socket (EINVAL), 24 bytes are
   * enough (RFC 2133), another family of the right size is EAFNOSUPPORT. */
  struct sockaddr_in v4 = sin_of("10.2.0.2", 80);
  CHECK(nexthop_connect(fd, (struct sockaddr *)&v4, sizeof v4) == -1 && errno == EINVAL);
  struct sockaddr_in6 to = sin6_of("2001:db8::2", 80, 0);
  to.sin6_family = AF_INET;
  CHECK(nexthop_connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EAFNOSUPPORT);
  to = sin6_of("2001:db8::2", 80, 7); /* a global address: the scope id is ignored, as Linux */
  CHECK(nexthop_connect(fd, (struct sockaddr *)&to, 24) == 0);
  CHECK(log_has("connect:") && log_has(":[2001:db8::2]:80 "));
  struct sockaddr_in6 me;
  len = sizeof me;
  CHECK(nexthop_getsockname(fd, (struct sockaddr *)&me, &len) == 0);
  struct sockaddr_in6 want = sin6_of("2001:db8::1", 40000, 0);
  CHECK(len == sizeof me && memcmp(&me, &want, sizeof me) == 0);
  struct sockaddr_in small;
  len = sizeof small;
  CHECK(nexthop_getpeername(fd, (struct sockaddr *)&small, &len) == 0 && len == sizeof(struct sockaddr_in6));
  CHECK(small.sin_family == AF_INET6 && small.sin_port == htons(80));
  close(fd);
  /* A link-local destination keeps its scope id and flow label. */
  fd = nexthop_socket_family("fake", AF_INET6, SOCK_STREAM, 0);
  to = sin6_of("fe80::2", 8080, 3);
  to.sin6_flowinfo = htonl(0x12345);
  CHECK(nexthop_connect(fd, (struct sockaddr *)&to, sizeof to) == 0);
  CHECK(log_has(":[fe80::2%3]:8080,flowinfo=74565 "));
  close(fd);

  /* A dual-stack listener on [::]. */
  int l = nexthop_socket_family("fake", AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 any = sin6_of("::", 8080, 0);
  CHECK(nexthop_bind(l, (struct sockaddr *)&v4, sizeof v4) == -1 && errno == EINVAL);
  CHECK(nexthop_bind(l, (struct sockaddr *)&any, sizeof any) == 0);
  CHECK(log_has("bind:") && log_has(":[::]:8080 "));
  CHECK(nexthop_listen(l, 4) == 0);
  struct fake_socket *ls = &fake_sockets[n_fake_sockets - 1];
  CHECK(write(ls->server_end, "", 1) == 1);
  struct sockaddr_in6 peer;
  len = sizeof peer;
  int c = nexthop_accept(l, (struct sockaddr *)&peer, &len);
  want = sin6_of("2001:db8::2", 51000, 0);
  CHECK(c >= 0 && len == sizeof peer && memcmp(&peer, &want, sizeof peer) == 0);
  CHECK(nexthop_getsockopt(c, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_INET6);
  close(c);
  close(l);

  /* UDP, 64-byte headers: an IPv6 destination, an IPv4 one (dual-stack: the VR maps it), a link-local
   * sender with its scope and IPV6_PKTINFO. */
  int u = nexthop_socket_family("fake", AF_INET6, SOCK_DGRAM, 0);
  CHECK(u >= 0);
  struct fake_socket *fs = &fake_sockets[n_fake_sockets - 1];
  CHECK(fs->dgram_v2 && fs->family == AF_INET6);
  to = sin6_of("2001:db8::2", 53, 0);
  CHECK(nexthop_sendto(u, "q6", 2, 0, (struct sockaddr *)&to, sizeof to) == 2);
  uint8_t buf[256];
  struct rsock_dgram2 h;
  ssize_t n = read(fs->server_end, buf, sizeof buf);
  CHECK(n == RSOCK_DGRAM2_HEADER_LEN + 2 && rsock_dgram2_decode(buf, (size_t)n, &h) == RSOCK_DGRAM2_HEADER_LEN);
  CHECK(h.peer.family == AF_INET6 && h.peer.port == 53 && memcmp(h.peer.addr, &to.sin6_addr, 16) == 0);
  CHECK(nexthop_sendto(u, "q4", 2, 0, (struct sockaddr *)&v4, sizeof v4) == 2);
  n = read(fs->server_end, buf, sizeof buf);
  CHECK(n == RSOCK_DGRAM2_HEADER_LEN + 2 && rsock_dgram2_decode(buf, (size_t)n, &h) == RSOCK_DGRAM2_HEADER_LEN);
  CHECK(h.peer.family == AF_INET && h.peer.port == 80 && memcmp(h.peer.addr, (uint8_t[]){10, 2, 0, 2}, 4) == 0);
  CHECK(nexthop_sendto(u, "q", 1, 0, (struct sockaddr *)&v4, 12) == -1 && errno == EINVAL);
  CHECK(nexthop_setsockopt(u, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) == 0);
  memset(&h, 0, sizeof h);
  h.flags = RSOCK_DGRAM_PKTINFO;
  h.ifindex = 3;
  h.peer.family = AF_INET6;
  h.peer.port = 547;
  h.peer.scope_id = 3;
  inet_pton(AF_INET6, "fe80::2", h.peer.addr);
  h.local.family = AF_INET6;
  h.local.port = 546;
  inet_pton(AF_INET6, "ff02::1:2", h.local.addr);
  CHECK(rsock_dgram2_encode(&h, buf, sizeof buf) == RSOCK_DGRAM2_HEADER_LEN);
  memcpy(buf + RSOCK_DGRAM2_HEADER_LEN, "dhcp", 4);
  CHECK(write(fs->server_end, buf, RSOCK_DGRAM2_HEADER_LEN + 4) == RSOCK_DGRAM2_HEADER_LEN + 4);
  char got[8];
  len = sizeof peer;
  CHECK(nexthop_recvfrom(u, got, sizeof got, 0, (struct sockaddr *)&peer, &len) == 4);
  want = sin6_of("fe80::2", 547, 3);
  CHECK(len == sizeof peer && memcmp(&peer, &want, sizeof peer) == 0 && memcmp(got, "dhcp", 4) == 0);
  close(u);
  printf("ok IPv6 through the library: version 2 negotiated, a version-1 VR refuses AF_INET6, sockaddr_in6 "
         "both ways (lengths, scope, flow label, [::] listener, accept), 64-byte UDP headers\n");
}

/* ---- the shim, in a re-executed copy of this program ---- */

static int shim_main(void) {
  /* TCP: the choice is made at connect; options set before are replayed; the number stays. The
   * fake runs in the parent, which checks what it was asked once this process has exited. */
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK(fd >= 0);
  int one = 1;
  CHECK(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
  struct sockaddr_in to = sin_of("10.2.0.2", 80);
  CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EINPROGRESS);
  CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
  int domain = 0;
  socklen_t len = sizeof domain;
  CHECK(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_INET);
  int err = -1;
  len = sizeof err;
  CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0);
  struct sockaddr_in me;
  len = sizeof me;
  CHECK(getsockname(fd, (struct sockaddr *)&me, &len) == 0 && me.sin_port == htons(40000));
  CHECK(write(fd, "GET", 3) == 3);
  close(fd);

  /* Loopback stays on the kernel. */
  fd = socket(AF_INET, SOCK_STREAM, 0);
  int lst = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in lo = sin_of("127.0.0.1", 0);
  CHECK(bind(lst, (struct sockaddr *)&lo, sizeof lo) == 0 && listen(lst, 1) == 0);
  len = sizeof lo;
  CHECK(getsockname(lst, (struct sockaddr *)&lo, &len) == 0);
  CHECK(connect(fd, (struct sockaddr *)&lo, sizeof lo) == 0);
  int a = accept(lst, NULL, NULL);
  CHECK(a >= 0 && write(fd, "x", 1) == 1);
  char c;
  CHECK(read(a, &c, 1) == 1 && c == 'x');
  close(a);
  close(fd);
  close(lst);

  /* A --kernel rule (NEXTHOP_EXEC_RULES kernel:10.3.0.0/16) keeps this one on the kernel. */
  fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in k = sin_of("10.3.0.9", 9);
  sendto(fd, "k", 1, MSG_DONTWAIT, (struct sockaddr *)&k, sizeof k); /* ENETUNREACH or sent */
  close(fd);

  /* SO_BINDTODEVICE "nexthop:fake" chooses at once; "kernel" keeps the kernel's. */
  fd = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "nexthop:fake", 12) == 0);
  CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == 0);
  close(fd);
  fd = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "kernel", 6) == 0);
  sendto(fd, "k", 1, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to);
  close(fd);

  /* UDP chosen at sendto. */
  fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in dns = sin_of("10.2.0.2", 53);
  CHECK(sendto(fd, "q", 1, 0, (struct sockaddr *)&dns, sizeof dns) == 1);
  int type = 0;
  len = sizeof type;
  CHECK(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_DGRAM);
  close(fd);

  /* IPv6 (the fake speaks version 2): TCP to 2001:db8::2 moves into the VR at connect, IPV6_V6ONLY
   * set before replayed there first. */
  fd = socket(AF_INET6, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  CHECK(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0);
  struct sockaddr_in6 to6 = sin6_of("2001:db8::2", 80, 0);
  CHECK(connect(fd, (struct sockaddr *)&to6, sizeof to6) == 0);
  struct sockaddr_in6 me6;
  len = sizeof me6;
  CHECK(getsockname(fd, (struct sockaddr *)&me6, &len) == 0 && len == sizeof me6);
  CHECK(me6.sin6_family == AF_INET6 && me6.sin6_port == htons(40000));
  len = sizeof domain;
  CHECK(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_INET6);
  close(fd);

  /* ::1 and ::ffff:127.0.0.1 stay on the kernel (when the kernel has IPv6 loopback). */
  lst = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 lo6 = sin6_of("::1", 0, 0);
  if (bind(lst, (struct sockaddr *)&lo6, sizeof lo6) == 0) {
    CHECK(listen(lst, 1) == 0);
    len = sizeof lo6;
    CHECK(getsockname(lst, (struct sockaddr *)&lo6, &len) == 0);
    fd = socket(AF_INET6, SOCK_STREAM, 0);
    CHECK(connect(fd, (struct sockaddr *)&lo6, sizeof lo6) == 0);
    a = accept(lst, NULL, NULL);
    CHECK(a >= 0 && write(fd, "y", 1) == 1 && read(a, &c, 1) == 1 && c == 'y');
    close(a);
    close(fd);
  } else {
    fprintf(stderr, "(no ::1 here: %s)\n", strerror(errno));
  }
  close(lst);
  lst = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 mapped_lo = sin6_of("::ffff:127.0.0.1", 0, 0);
  CHECK(bind(lst, (struct sockaddr *)&mapped_lo, sizeof mapped_lo) == 0 && listen(lst, 1) == 0);
  len = sizeof mapped_lo;
  CHECK(getsockname(lst, (struct sockaddr *)&mapped_lo, &len) == 0);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  lo = sin_of("127.0.0.1", ntohs(mapped_lo.sin6_port));
  CHECK(connect(fd, (struct sockaddr *)&lo, sizeof lo) == 0);
  a = accept(lst, NULL, NULL);
  CHECK(a >= 0);
  close(a);
  close(fd);
  close(lst);

  /* --kernel 2001:db8:3::/48, and kernel:10.3.0.0/16 for an IPv4-mapped destination. */
  fd = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 k6 = sin6_of("2001:db8:3::9", 9, 0);
  sendto(fd, "k", 1, MSG_DONTWAIT, (struct sockaddr *)&k6, sizeof k6); /* ENETUNREACH or sent */
  close(fd);
  fd = socket(AF_INET6, SOCK_DGRAM, 0);
  k6 = sin6_of("::ffff:10.3.0.9", 9, 0);
  sendto(fd, "k", 1, MSG_DONTWAIT, (struct sockaddr *)&k6, sizeof k6);
  close(fd);

  /* A dual-stack listener on [::] (iperf3 -s, nginx's listen [::]:80) is the VR's. */
  lst = socket(AF_INET6, SOCK_STREAM, 0);
  CHECK(setsockopt(lst, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
  struct sockaddr_in6 any6 = sin6_of("::", 5201, 0);
  CHECK(bind(lst, (struct sockaddr *)&any6, sizeof any6) == 0 && listen(lst, 5) == 0);
  close(lst);

  /* UDP over IPv6, chosen at sendto. */
  fd = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 dns6 = sin6_of("2001:db8::2", 53, 0);
  CHECK(sendto(fd, "q", 1, 0, (struct sockaddr *)&dns6, sizeof dns6) == 1);
  close(fd);
  return 0;
}

/* The shim against a version-1 VR: IPv4 as before, AF_INET6 sockets that would go to the VR fail
 * with EAFNOSUPPORT. */
static int shim_v1_main(void) {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 to6 = sin6_of("2001:db8::2", 80, 0);
  CHECK(connect(fd, (struct sockaddr *)&to6, sizeof to6) == -1 && errno == EAFNOSUPPORT);
  close(fd);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in to = sin_of("10.2.0.2", 80);
  CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == 0);
  struct sockaddr_in me;
  socklen_t len = sizeof me;
  CHECK(getsockname(fd, (struct sockaddr *)&me, &len) == 0 && me.sin_port == htons(40000));
  close(fd);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(sendto(u, "q", 1, 0, (struct sockaddr *)&to, sizeof to) == 1);
  close(u);
  return 0;
}

/* Non-blocking connects from several threads at once on one control connection: each SOCKET_CONNECT
 * has two replies, and another thread's read may park both (they must be taken in order). */
static void *sc_thread(void *arg) {
  (void)arg;
  for (int i = 0; i < 12; i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in to = sin_of("10.2.0.2", 80);
    CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EINPROGRESS);
    struct pollfd p = {fd, POLLOUT, 0};
    CHECK(poll(&p, 1, 5000) == 1 && p.revents == POLLOUT);
    int err = -1;
    socklen_t len = sizeof err;
    CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0);
    close(fd);
  }
  return NULL;
}

/* The shim run against a VR that knows SOCKET_CONNECT (§13.11). */
static int shim_sc_main(void) {
  /* Blocking: WAIT, one exchange, the descriptor connected; refused: the error, and a new try works. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in to = sin_of("10.2.0.2", 80);
  CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == 0);
  CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EISCONN);
  close(fd);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in no = sin_of("10.2.0.2", 1);
  CHECK(connect(fd, (struct sockaddr *)&no, sizeof no) == -1 && errno == ECONNREFUSED);
  CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == 0);
  close(fd);
  /* Non-blocking: FILLER, EINPROGRESS, writable once connected, SO_SNDBUF given back. */
  fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EINPROGRESS);
  struct pollfd p = {fd, POLLOUT, 0};
  CHECK(poll(&p, 1, 5000) == 1 && p.revents == POLLOUT);
  int err = -1, sndbuf = 0;
  socklen_t len = sizeof err;
  CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0);
  CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == 0); /* as Linux: 0 once, then EISCONN */
  CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EISCONN);
  len = sizeof sndbuf;
  CHECK(syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) == 0 && sndbuf > 65536);
  close(fd);
  fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK(connect(fd, (struct sockaddr *)&no, sizeof no) == -1 && errno == EINPROGRESS);
  p.fd = fd;
  CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLOUT) && (p.revents & (POLLERR | POLLHUP)));
  len = sizeof err;
  CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == ECONNREFUSED);
  close(fd);
  /* An option set before connect: SOCKET, the option, then CONNECT, as before. */
  fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  CHECK(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
  CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == 0);
  close(fd);
  /* UDP: WAIT, answered at once. */
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in dns = sin_of("10.2.0.2", 53);
  CHECK(connect(u, (struct sockaddr *)&dns, sizeof dns) == 0);
  close(u);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, sc_thread, NULL) == 0);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  return 0;
}

/* The second shim run: what programs do with data calls. The environment is gone, as in nginx's
 * workers: the shim took its settings when it was loaded. */
static int shim_data_main(void) {
  clearenv();
  char buf[64];
  /* A non-blocking connect seen through poll and write only (no SO_ERROR): the app end has the
   * filler's small send buffer until the first write, which gives it back. */
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in to = sin_of("10.2.0.2", 80);
  CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EINPROGRESS);
  struct pollfd p = {fd, POLLOUT, 0};
  CHECK(poll(&p, 1, 5000) == 1 && p.revents == POLLOUT);
  int sndbuf = 0;
  socklen_t len = sizeof sndbuf;
  CHECK(syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) == 0 && sndbuf < 16384);
  CHECK(write(fd, "x", 1) == 1);
  CHECK(syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) == 0 && sndbuf > 65536);
  close(fd);
  /* Refused: the first read reports it, as Linux (then SO_ERROR has nothing more). */
  fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  to = sin_of("10.2.0.2", 1);
  CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EINPROGRESS);
  CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLOUT) && (p.revents & (POLLERR | POLLHUP)));
  CHECK(read(fd, buf, 1) == -1 && errno == ECONNREFUSED);
  int err = -1;
  len = sizeof err;
  CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0);
  close(fd);

  /* UDP (the fake echoes from 10.2.0.2:53 with PKTINFO): readv/writev, several iovecs. */
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in dns = sin_of("10.2.0.2", 53);
  CHECK(connect(u, (struct sockaddr *)&dns, sizeof dns) == 0);
  struct iovec w[3] = {{"ab", 2}, {"", 0}, {"cde", 3}};
  CHECK(writev(u, w, 3) == 5);
  char r1[2], r2[8];
  struct iovec r[2] = {{r1, sizeof r1}, {r2, sizeof r2}};
  CHECK(readv(u, r, 2) == 5 && memcmp(r1, "ab", 2) == 0 && memcmp(r2, "cde", 3) == 0);
  /* sendmmsg, then recvmmsg with MSG_WAITFORONE until all three are back, in order. */
  struct mmsghdr mm[4];
  struct iovec mi[4];
  char payload[4][4] = {"m0", "m1", "m2", "m3"};
  memset(mm, 0, sizeof mm);
  for (int i = 0; i < 3; i++) {
    mi[i] = (struct iovec){payload[i], 2};
    mm[i].msg_hdr.msg_iov = &mi[i];
    mm[i].msg_hdr.msg_iovlen = 1;
  }
  mm[1].msg_hdr.msg_name = &dns; /* an address on one of them, as sendto */
  mm[1].msg_hdr.msg_namelen = sizeof dns;
  CHECK(sendmmsg(u, mm, 3, 0) == 3 && mm[0].msg_len == 2 && mm[2].msg_len == 2);
  int got = 0;
  char in[4][8];
  struct sockaddr_in from[4];
  while (got < 3) {
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 4; i++) {
      mi[i] = (struct iovec){in[i], sizeof in[i]};
      mm[i].msg_hdr.msg_iov = &mi[i];
      mm[i].msg_hdr.msg_iovlen = 1;
      mm[i].msg_hdr.msg_name = &from[i];
      mm[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    struct timespec limit = {5, 0};
    int n = recvmmsg(u, mm, 4, MSG_WAITFORONE, &limit);
    CHECK(n >= 1 && got + n <= 3);
    for (int i = 0; i < n; i++) {
      CHECK(mm[i].msg_len == 2 && in[i][0] == 'm' && in[i][1] == '0' + got + i);
      CHECK(mm[i].msg_hdr.msg_namelen == sizeof dns && from[i].sin_port == htons(53));
    }
    got += n;
  }
  /* sendmsg/recvmsg with several iovecs and IP_PKTINFO both ways. */
  int one = 1;
  CHECK(setsockopt(u, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) == 0);
  union {
    struct cmsghdr h;
    char b[CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_SPACE(sizeof(int))];
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct msghdr mh = {0};
  struct iovec two[2] = {{"pk", 2}, {"tinfo", 5}};
  mh.msg_iov = two;
  mh.msg_iovlen = 2;
  mh.msg_control = ctl.b;
  mh.msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = IPPROTO_IP;
  cm->cmsg_type = IP_PKTINFO;
  cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
  CHECK(sendmsg(u, &mh, 0) == 7);
  memset(&mh, 0, sizeof mh);
  memset(&ctl, 0, sizeof ctl);
  char a[3], b[8];
  struct iovec rv[2] = {{a, sizeof a}, {b, sizeof b}};
  mh.msg_iov = rv;
  mh.msg_iovlen = 2;
  mh.msg_control = ctl.b;
  mh.msg_controllen = sizeof ctl.b;
  CHECK(recvmsg(u, &mh, 0) == 7 && memcmp(a, "pkt", 3) == 0 && memcmp(b, "info", 4) == 0);
  cm = CMSG_FIRSTHDR(&mh);
  CHECK(cm != NULL && cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO);
  struct in_pktinfo pi;
  memcpy(&pi, CMSG_DATA(cm), sizeof pi);
  CHECK(pi.ipi_ifindex == 3 && pi.ipi_addr.s_addr == htonl(0x0a020001));
  /* shutdown(SHUT_WR) ends sending (EPIPE, no SIGPIPE), not receiving; after SHUT_RD a receive
   * that would wait returns 0, a non-blocking one EAGAIN (Linux's UDP). */
  CHECK(send(u, "late", 4, 0) == 4);
  CHECK(shutdown(u, SHUT_WR) == 0);
  CHECK(send(u, "x", 1, 0) == -1 && errno == EPIPE);
  CHECK(recv(u, buf, sizeof buf, 0) == 4 && memcmp(buf, "late", 4) == 0);
  CHECK(shutdown(u, SHUT_RD) == 0);
  CHECK(recv(u, buf, sizeof buf, 0) == 0);
  CHECK(recv(u, buf, sizeof buf, MSG_DONTWAIT) == -1 && errno == EAGAIN);
  CHECK(shutdown(u, 7) == -1 && errno == EINVAL);
  close(u);

  /* UDP over IPv6 with IPV6_RECVPKTINFO (set before the choice, replayed): the peer as a
   * sockaddr_in6, the destination as IPV6_PKTINFO; an IPv4 destination of the dual-stack socket
   * comes back IPv4-mapped. */
  int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
  CHECK(setsockopt(u6, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) == 0);
  struct sockaddr_in6 dns6 = sin6_of("2001:db8::2", 53, 0);
  CHECK(sendto(u6, "six", 3, 0, (struct sockaddr *)&dns6, sizeof dns6) == 3);
  union {
    struct cmsghdr h;
    char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
  } ctl6;
  struct sockaddr_in6 from6;
  struct iovec one_iov = {buf, sizeof buf};
  memset(&mh, 0, sizeof mh);
  mh.msg_name = &from6;
  mh.msg_namelen = sizeof from6;
  mh.msg_iov = &one_iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl6.b;
  mh.msg_controllen = sizeof ctl6.b;
  CHECK(recvmsg(u6, &mh, 0) == 3 && memcmp(buf, "six", 3) == 0);
  CHECK(mh.msg_namelen == sizeof from6 && from6.sin6_family == AF_INET6 && from6.sin6_port == htons(53));
  CHECK(memcmp(&from6.sin6_addr, &dns6.sin6_addr, 16) == 0);
  cm = CMSG_FIRSTHDR(&mh);
  CHECK(cm != NULL && cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO);
  struct in6_pktinfo pi6;
  memcpy(&pi6, CMSG_DATA(cm), sizeof pi6);
  struct sockaddr_in6 self6 = sin6_of("2001:db8::1", 0, 0);
  CHECK(pi6.ipi6_ifindex == 3 && memcmp(&pi6.ipi6_addr, &self6.sin6_addr, 16) == 0);
  CHECK(sendto(u6, "four", 4, 0, (struct sockaddr *)&dns, sizeof dns) == 4);
  socklen_t flen = sizeof from6;
  CHECK(recvfrom(u6, buf, sizeof buf, 0, (struct sockaddr *)&from6, &flen) == 4);
  struct sockaddr_in6 mapped = sin6_of("::ffff:10.2.0.2", 53, 0);
  CHECK(flen == sizeof from6 && memcmp(&from6, &mapped, sizeof from6) == 0);
  close(u6);
  return 0;
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) n++;
  return n;
}

int main(int argc, char **argv) {
  const char *child = getenv("NH_TEST_SHIM_CHILD");
  if (child != NULL)
    return strcmp(child, "data") == 0 ? shim_data_main()
           : strcmp(child, "v1") == 0 ? shim_v1_main()
           : strcmp(child, "sc") == 0 ? shim_sc_main()
                                      : shim_main();
  if (argc < 2) {
    fprintf(stderr, "usage: %s <libnexthop-preload.so> [asan runtime]\n", argv[0]);
    return 2;
  }
  start_fake();
  test_connect_and_names();
  test_nonblocking_connect();
  test_nonblocking_pending();
  test_old_vr();
  test_permission_denied();
  test_threads();
  test_fork_attach();
  test_accept();
  test_udp("old", 0);
  test_udp("fake", 1);
  test_ipv6();
  /* The shim reads NEXTHOP_VR at load: the child sets it before main, through the environment. */
  char preload[1024];
  snprintf(preload, sizeof preload, "%s%s%s", argc > 2 ? argv[2] : "", argc > 2 ? " " : "", argv[1]);
  pid_t pid = fork();
  if (pid == 0) {
    setenv("LD_PRELOAD", preload, 1);
    setenv("NH_TEST_SHIM_CHILD", "1", 1);
    setenv("NEXTHOP_VR", "fake", 1);
    setenv("NEXTHOP_EXEC_RULES", "kernel:10.3.0.0/16,kernel:2001:db8:3::/48", 1);
    execv("/proc/self/exe", argv);
    _exit(127);
  }
  clear_log();
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  fprintf(stderr, "fake VR log of the shim run: %s\n", fake_log);
  /* Exactly three VR sockets: the TCP connect to 10.2.0.2, SO_BINDTODEVICE, the UDP sendto. The
   * loopback, --kernel and "kernel" sockets never reached the VR. */
  CHECK(count(fake_log, "socket:") == 3);
  const char *tcp = strstr(fake_log, "socket:1 ");
  CHECK(tcp != NULL && strstr(tcp, "setsockopt:") != NULL && strstr(tcp, "connect:") != NULL);
  CHECK(strstr(tcp, "setsockopt:") < strstr(tcp, "connect:")); /* replayed before the connect */
  CHECK(strstr(tcp, ":6/1 ") != NULL); /* TCP_NODELAY */
  CHECK(count(fake_log, "socket:2 ") == 2 && count(fake_log, "connect:") == 3);
  /* IPv6: the TCP connect, the [::] listener, the UDP sendto; not ::1, the mapped loopback or the
   * --kernel prefixes. */
  CHECK(count(fake_log, "socket6:") == 3 && count(fake_log, "socket6:1 ") == 2);
  const char *tcp6 = strstr(fake_log, "socket6:1 ");
  CHECK(tcp6 != NULL && strstr(tcp6, ":41/26 ") != NULL && strstr(tcp6, ":[2001:db8::2]:80 ") != NULL);
  CHECK(strstr(tcp6, ":41/26 ") < strstr(tcp6, ":[2001:db8::2]:80 "));
  CHECK(log_has(":[::]:5201 ") && log_has("listen:"));
  printf("ok shim: choice at connect/sendto, replay, loopback and --kernel rules, SO_BINDTODEVICE; IPv6 too "
         "(::1, IPv4-mapped by the IPv4 rules, [::] listener)\n");

  clear_log();
  pid = fork();
  if (pid == 0) {
    setenv("LD_PRELOAD", preload, 1);
    setenv("NH_TEST_SHIM_CHILD", "v1", 1);
    setenv("NEXTHOP_VR", "old", 1);
    execv("/proc/self/exe", argv);
    _exit(127);
  }
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(log_has("hello:1-2:1 ") && !log_has("socket6:") && count(fake_log, "socket:") == 2);
  printf("ok shim against a version-1 VR: IPv4 as before, IPv6 EAFNOSUPPORT\n");

  clear_log();
  pid = fork();
  if (pid == 0) {
    setenv("LD_PRELOAD", preload, 1);
    setenv("NH_TEST_SHIM_CHILD", "sc", 1);
    setenv("NEXTHOP_VR", "sc", 1);
    execv("/proc/self/exe", argv);
    _exit(127);
  }
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  /* 3 blocking (1 refused), 2 + 48 non-blocking, 1 UDP by SOCKET_CONNECT; the one with an option by
   * SOCKET then CONNECT. */
  CHECK(count(fake_log, "sc:1:10.2.0.2:80:wait ") == 2 && count(fake_log, "sc:1:10.2.0.2:1:wait ") == 1);
  CHECK(count(fake_log, "sc:1:10.2.0.2:80:filler ") == 49 && count(fake_log, "sc:1:10.2.0.2:1:filler ") == 1);
  CHECK(count(fake_log, "sc:2:10.2.0.2:53:wait ") == 1);
  CHECK(count(fake_log, "socket:1 ") == 1 && count(fake_log, "connect:") == 1 && !log_has("sc-unknown"));
  printf("ok shim with SOCKET_CONNECT: blocking (WAIT) and non-blocking (FILLER) connects, refused ones, "
         "4 threads at once, fallback for options\n");

  fake_echo_dgrams = 1;
  pid = fork();
  if (pid == 0) {
    setenv("LD_PRELOAD", preload, 1);
    setenv("NH_TEST_SHIM_CHILD", "data", 1);
    setenv("NEXTHOP_VR", "fake", 1);
    execv("/proc/self/exe", argv);
    _exit(127);
  }
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  printf("ok shim with environ cleared: connect outcome through read/write, UDP readv/writev, mmsg, "
         "PKTINFO, shutdown\n");
  printf("client_test: all passed\n");
  return 0;
}
