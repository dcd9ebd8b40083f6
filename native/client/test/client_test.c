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
#include <sys/socket.h>
#include <sys/stat.h>
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
};

static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fake_cv = PTHREAD_COND_INITIALIZER;
static struct fake_socket fake_sockets[256];
static int n_fake_sockets;
static uint32_t next_socket_id = 7;
static int release_held_connect; /* CONNECT to port 9 waits for this */
static char fake_log[16384];     /* "socket connect setsockopt:6/1 ..." what the fake was asked */
static int hellos;

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
  size_t len = rsock_encode(m, buf, sizeof buf);
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

static struct fake_socket *new_fake_socket(int dgram, int *app_end) {
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
  pthread_mutex_unlock(&fake_mu);
  *app_end = sv[1];
  return s;
}

static struct fake_socket *fake_by_id(uint32_t id) {
  for (int i = 0; i < n_fake_sockets; i++)
    if (fake_sockets[i].id == id) return &fake_sockets[i];
  return NULL;
}

struct held {
  int conn;
  uint32_t id;
};

static void *held_connect(void *arg) {
  struct held *h = arg;
  pthread_mutex_lock(&fake_mu);
  while (!release_held_connect) pthread_cond_wait(&fake_cv, &fake_mu);
  pthread_mutex_unlock(&fake_mu);
  reply_ok(h->conn, h->id);
  free(h);
  return NULL;
}

static void *fake_conn(void *arg) {
  int conn = (int)(intptr_t)arg;
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
    CHECK(rsock_decode(buf, (size_t)n, &m, &f) == 0);
    struct rsock_msg r = {0};
    r.id = m.id;
    switch (m.type) {
    case RSOCK_HELLO:
      pthread_mutex_lock(&fake_mu);
      hellos++;
      pthread_mutex_unlock(&fake_mu);
      r.type = RSOCK_HELLO_OK;
      r.version = 1;
      r.max_sockets = 1024;
      r.data.ptr = (const uint8_t *)"fake";
      r.data.len = 4;
      fake_send(conn, &r, -1);
      break;
    case RSOCK_SOCKET: {
      int app;
      struct fake_socket *s = new_fake_socket(m.sock_type == SOCK_DGRAM, &app);
      logf_("socket:%u", m.sock_type);
      r.type = RSOCK_SOCKET_OK;
      r.socket = s->id;
      fake_send(conn, &r, app);
      close(app);
      break;
    }
    case RSOCK_CONNECT:
      logf_("connect:%u:%u.%u.%u.%u:%u", m.socket, m.addr[0], m.addr[1], m.addr[2], m.addr[3], m.port);
      if (m.port == 1) {
        reply_error(conn, m.id, ECONNREFUSED, "refused");
      } else if (m.port == 9) {
        struct held *h = malloc(sizeof *h);
        h->conn = conn;
        h->id = m.id;
        pthread_t t;
        pthread_create(&t, NULL, held_connect, h);
        pthread_detach(t);
      } else {
        reply_ok(conn, m.id);
      }
      break;
    case RSOCK_BIND:
      logf_("bind:%u:%u", m.socket, m.port);
      reply_ok(conn, m.id);
      break;
    case RSOCK_LISTEN:
      logf_("listen:%u", m.socket);
      reply_ok(conn, m.id);
      break;
    case RSOCK_ACCEPT: {
      logf_("accept:%u:%u", m.socket, m.flags);
      int app;
      struct fake_socket *s = new_fake_socket(0, &app);
      r.type = RSOCK_ACCEPT_OK;
      r.socket = s->id;
      memcpy(r.addr, (uint8_t[]){10, 2, 0, 2}, 4);
      r.port = 51000;
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
      uint8_t v[4] = {42, 0, 0, 0};
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
      memcpy(r.addr, m.type == RSOCK_GETSOCKNAME ? (uint8_t[]){10, 2, 0, 1} : (uint8_t[]){10, 2, 0, 2}, 4);
      r.port = m.type == RSOCK_GETSOCKNAME ? 40000 : 80;
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
      r.type = RSOCK_ATTACH_OK;
      r.socket = found->id;
      r.family = AF_INET;
      r.sock_type = found->dgram ? SOCK_DGRAM : SOCK_STREAM;
      r.protocol = found->dgram ? 17 : 6;
      r.state = RSOCK_STATE_CONNECTED;
      fake_send(conn, &r, -1);
      break;
    }
    default:
      reply_error(conn, m.id, EOPNOTSUPP, "");
    }
  }
  close(conn);
  return NULL;
}

static void *fake_listener(void *arg) {
  int lfd = (int)(intptr_t)arg;
  for (;;) {
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) continue;
    pthread_t t;
    pthread_create(&t, NULL, fake_conn, (void *)(intptr_t)c);
    pthread_detach(t);
  }
  return NULL;
}

static char run_dir[256];

static void start_fake(void) {
  snprintf(run_dir, sizeof run_dir, "/tmp/nexthop-client-test-%d", getpid());
  mkdir(run_dir, 0700);
  struct sockaddr_un sa = {0};
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s/fake.sock", run_dir);
  unlink(sa.sun_path);
  int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  CHECK(lfd >= 0);
  CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof sa) == 0);
  CHECK(listen(lfd, 16) == 0);
  pthread_t t;
  pthread_create(&t, NULL, fake_listener, (void *)(intptr_t)lfd);
  pthread_detach(t);
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
  int notours = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(nexthop_getsockname(notours, (struct sockaddr *)&me, &len) == -1 && errno == ENOTSOCK);
  close(notours);
  printf("ok connect, names, options, errors\n");
}

static void test_nonblocking_connect(void) {
  int fd = nexthop_socket("fake", SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK(fd >= 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK));
  struct sockaddr_in to = sin_of("10.2.0.2", 1);
  CHECK(nexthop_connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EINPROGRESS);
  struct pollfd p = {fd, POLLOUT, 0};
  CHECK(poll(&p, 1, 5000) == 1);
  int err = -1;
  socklen_t len = sizeof err;
  CHECK(nexthop_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == ECONNREFUSED);
  close(fd);
  /* Success, and a second connect afterwards reports the outcome. */
  fd = nexthop_socket("fake", SOCK_STREAM | SOCK_NONBLOCK, 0);
  to = sin_of("10.2.0.2", 80);
  CHECK(nexthop_connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EINPROGRESS);
  err = -1;
  len = sizeof err;
  CHECK(nexthop_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0);
  close(fd);
  /* A connect whose reply nobody collects before close: the reply is dropped when it comes. */
  fd = nexthop_socket("fake", SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK(nexthop_connect(fd, (struct sockaddr *)&to, sizeof to) == -1 && errno == EINPROGRESS);
  close(fd);
  fd = nexthop_socket("fake", SOCK_STREAM, 0);
  CHECK(fd >= 0);
  close(fd);
  printf("ok non-blocking connect: EINPROGRESS, SO_ERROR\n");
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

static void test_udp(void) {
  int u = nexthop_socket("fake", SOCK_DGRAM, 0);
  CHECK(u >= 0);
  struct fake_socket *fs = &fake_sockets[n_fake_sockets - 1];
  struct sockaddr_in to = sin_of("10.2.0.2", 53);
  CHECK(nexthop_sendto(u, "q", 1, 0, (struct sockaddr *)&to, sizeof to) == 1);
  uint8_t buf[128];
  ssize_t n = read(fs->server_end, buf, sizeof buf);
  static const uint8_t want[] = {0x14, 0, 0, 0, 10, 2, 0, 2, 53, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'q'};
  CHECK(n == sizeof want && memcmp(buf, want, sizeof want) == 0);
  struct rsock_dgram h = {0};
  h.flags = RSOCK_DGRAM_PKTINFO;
  memcpy(h.peer, (uint8_t[]){10, 2, 0, 2}, 4);
  h.peer_port = 53;
  h.ifindex = 3;
  memcpy(h.local, (uint8_t[]){10, 2, 0, 1}, 4);
  CHECK(rsock_dgram_encode(&h, buf, sizeof buf) == 20);
  memcpy(buf + 20, "answer", 6);
  CHECK(write(fs->server_end, buf, 26) == 26);
  char got[3];
  struct sockaddr_in from;
  socklen_t len = sizeof from;
  /* Truncated like the kernel: 3 bytes of 6, MSG_TRUNC reports the datagram's length. */
  CHECK(nexthop_recvfrom(u, got, sizeof got, MSG_TRUNC, (struct sockaddr *)&from, &len) == 6);
  CHECK(memcmp(got, "ans", 3) == 0 && from.sin_port == htons(53) && from.sin_addr.s_addr == htonl(0x0a020002));
  CHECK(nexthop_sendto(u, buf, 70000, 0, (struct sockaddr *)&to, sizeof to) == -1 && errno == EMSGSIZE);
  close(u);
  printf("ok UDP datagram header both ways\n");
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
  return 0;
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) n++;
  return n;
}

int main(int argc, char **argv) {
  if (getenv("NH_TEST_SHIM_CHILD") != NULL) {
    return shim_main();
  }
  if (argc < 2) {
    fprintf(stderr, "usage: %s <libnexthop-preload.so> [asan runtime]\n", argv[0]);
    return 2;
  }
  start_fake();
  test_connect_and_names();
  test_nonblocking_connect();
  test_threads();
  test_fork_attach();
  test_accept();
  test_udp();
  /* The shim reads NEXTHOP_VR at load: the child sets it before main, through the environment. */
  char preload[1024];
  snprintf(preload, sizeof preload, "%s%s%s", argc > 2 ? argv[2] : "", argc > 2 ? " " : "", argv[1]);
  pid_t pid = fork();
  if (pid == 0) {
    setenv("LD_PRELOAD", preload, 1);
    setenv("NH_TEST_SHIM_CHILD", "1", 1);
    setenv("NEXTHOP_VR", "fake", 1);
    setenv("NEXTHOP_EXEC_RULES", "kernel:10.3.0.0/16", 1);
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
  CHECK(count(fake_log, "socket:2 ") == 2 && count(fake_log, "connect:") == 2);
  printf("ok shim: choice at connect/sendto, replay, loopback and --kernel rules, SO_BINDTODEVICE\n");
  printf("client_test: all passed\n");
  return 0;
}
