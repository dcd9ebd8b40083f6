/* libnexthop and the LD_PRELOAD shim against a hostile VR (issue 9): a fake VR, in a child process,
 * answers every request with a reply drawn at random (a fixed seed per run) — the right type or any
 * other, the right id or a wrong one, no descriptor, one or two, valid fields or random ones, raw
 * bytes that do not decode, messages nobody asked for, a closed connection — and writes random bytes
 * and datagrams into the pairs it handed out. The client side runs a random sequence of socket calls
 * on non-blocking sockets (so that no call may legitimately wait for ever), built with ASan/UBSan.
 * It passes when nothing crashed or tripped a sanitizer, and every descriptor the library received
 * is gone again once the program closed its own (only the control connection may remain).
 *
 * Usage: client_chaos <calls> <seed> [lib|shim]
 *   lib:  nexthop_* calls, linked with the library sources;
 *   shim: the same binary re-executed by the caller with the sanitized shim in LD_PRELOAD and
 *         NH_CHAOS_SHIM=1: plain socket/connect/bind/... on AF_INET addresses outside loopback. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

/* xorshift64*: the schedule replays from the seed. */
static uint64_t rng_state;
static uint32_t rnd(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}
static uint32_t below(uint32_t n) { return n == 0 ? 0 : rnd() % n; }

/* ---- the hostile VR (child process) ---- */

#define MAX_CONNS 64
#define MAX_ENDS 512

static int ends[MAX_ENDS]; /* the fake's ends of pairs it handed out */
static int n_ends;

static void send_with_fds(int conn, const uint8_t *buf, size_t len, int nfds) {
  int fds[2] = {-1, -1};
  int kept[2] = {-1, -1};
  for (int i = 0; i < nfds; i++) {
    int sv[2];
    int type = below(2) ? SOCK_STREAM : SOCK_SEQPACKET;
    if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) != 0) return;
    fds[i] = sv[1];
    kept[i] = sv[0];
  }
  struct iovec iov = {(void *)buf, len};
  union {
    struct cmsghdr h;
    char b[CMSG_SPACE(2 * sizeof(int))];
  } ctl;
  struct msghdr mh = {0};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (nfds > 0) {
    memset(&ctl, 0, sizeof ctl);
    mh.msg_control = ctl.b;
    mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
  }
  sendmsg(conn, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
  for (int i = 0; i < nfds; i++) {
    close(fds[i]);
    if (n_ends < MAX_ENDS) ends[n_ends++] = kept[i];
    else close(kept[i]);
  }
}

static const uint16_t reply_types[] = {RSOCK_OK,      RSOCK_ERROR,   RSOCK_HELLO_OK, RSOCK_SOCKET_OK,
                                       RSOCK_ACCEPT_OK, RSOCK_ADDR_OK, RSOCK_OPT_OK,   RSOCK_ATTACH_OK};

static uint16_t success_for(uint16_t request) {
  switch (request) {
  case RSOCK_HELLO: return RSOCK_HELLO_OK;
  case RSOCK_SOCKET: return RSOCK_SOCKET_OK;
  case RSOCK_ACCEPT: return RSOCK_ACCEPT_OK;
  case RSOCK_GETSOCKNAME:
  case RSOCK_GETPEERNAME: return RSOCK_ADDR_OK;
  case RSOCK_GETSOCKOPT: return RSOCK_OPT_OK;
  case RSOCK_ATTACH: return RSOCK_ATTACH_OK;
  default: return RSOCK_OK;
  }
}

/* One reply (or noise) for request `req`; `right` keeps the type and id mostly right. */
/* A random endpoint, canonical most of the time (version 1 carries AF_INET only). */
static void random_ep(struct rsock_ep *ep, uint16_t version) {
  memset(ep, 0, sizeof *ep);
  uint32_t pick = version == 1 ? 0 : below(4);
  ep->port = (uint16_t)rnd();
  if (pick <= 1) {
    ep->family = AF_INET;
    uint32_t a = rnd();
    memcpy(ep->addr, &a, 4);
  } else if (pick == 2) {
    ep->family = AF_INET6;
    for (int i = 0; i < 16; i++) ep->addr[i] = (uint8_t)(below(3) ? 0 : rnd());
    if (below(3) == 0) memcpy(ep->addr, (uint8_t[]){0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 12);
    ep->flowinfo = below(4) ? 0 : rnd() & RSOCK_FLOWINFO_MASK;
    ep->scope_id = below(4) ? 0 : rnd();
  } else {
    ep->port = 0; /* AF_UNSPEC */
  }
}

static void chaos_reply(int conn, const struct rsock_msg *req, int right, uint16_t version) {
  uint8_t buf[RSOCK_MAX_MESSAGE];
  uint8_t junk[300];
  if (!right && below(4) == 0) {
    /* Bytes that do not decode: random, or a valid header with a wrong length or version. */
    size_t len = below(sizeof junk);
    for (size_t i = 0; i < len; i++) junk[i] = (uint8_t)rnd();
    if (len >= 16 && below(2)) memcpy(junk, "NHRS\x01\x00", 6);
    send_with_fds(conn, junk, len, below(3));
    return;
  }
  struct rsock_msg m = {0};
  m.type = right && below(8) != 0 ? success_for(req->type) : reply_types[below(8)];
  if (right && below(6) == 0) m.type = RSOCK_ERROR;
  m.id = right ? req->id : (below(2) ? rnd() : req->id + 1);
  m.version = below(8) ? (uint16_t)(1 + below(2)) : (uint16_t)rnd();
  m.max_sockets = rnd();
  m.socket = below(4) ? 1 + below(64) : rnd();
  m.err = below(8) ? 1 + (int32_t)below(133) : (int32_t)(1 + below(4095));
  m.family = below(8) ? (below(2) ? AF_INET : AF_INET6) : (uint16_t)rnd();
  m.sock_type = below(8) ? 1 + below(2) : (uint16_t)rnd();
  m.protocol = below(2) ? 6 : 17;
  uint32_t a = rnd();
  memcpy(m.addr, &a, 4);
  m.port = (uint16_t)rnd();
  /* Mostly the connection's version; now and then the other one (a fault for the client). */
  uint16_t v = below(16) ? version : (uint16_t)(1 + below(2));
  random_ep(&m.ep, v);
  m.state = rnd() & 0xff;
  uint8_t value[64];
  for (size_t i = 0; i < sizeof value; i++) value[i] = (uint8_t)rnd();
  m.data.ptr = value;
  m.data.len = (uint16_t)below(sizeof value);
  if (m.type == RSOCK_ERROR || m.type == RSOCK_HELLO_OK) {
    static const char text[] = "the hostile VR says no";
    m.data.ptr = (const uint8_t *)text;
    m.data.len = (uint16_t)below(sizeof text);
  }
  size_t len = rsock_encode_v(&m, m.type == RSOCK_HELLO_OK ? 1 : v, buf, sizeof buf);
  if (len == 0) return;
  int nfds = 0;
  if (m.type == RSOCK_SOCKET_OK || m.type == RSOCK_ACCEPT_OK) nfds = below(8) ? 1 : below(3);
  else if (below(10) == 0) nfds = 1 + below(2);
  send_with_fds(conn, buf, len, nfds);
}

static void scribble_on_pairs(void) {
  uint8_t junk[256];
  for (int k = 0; k < 2 && n_ends > 0; k++) {
    int fd = ends[below(n_ends)];
    size_t len = below(sizeof junk);
    for (size_t i = 0; i < len; i++) junk[i] = (uint8_t)rnd();
    if (len >= RSOCK_DGRAM2_HEADER_LEN && below(3) == 0) {
      struct rsock_dgram2 h = {0};
      random_ep(&h.peer, 2);
      if (below(2)) {
        h.flags = RSOCK_DGRAM_PKTINFO;
        h.ifindex = rnd();
        random_ep(&h.local, 2);
      }
      rsock_dgram2_encode(&h, junk, sizeof junk);
    } else if (len >= RSOCK_DGRAM_HEADER_LEN && below(2)) {
      struct rsock_dgram h = {0};
      h.peer_port = (uint16_t)rnd();
      rsock_dgram_encode(&h, junk, sizeof junk);
    }
    send(fd, junk, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  }
}

static volatile long requests_seen;

static void report_and_exit(int sig) {
  (void)sig;
  char line[64];
  int n = snprintf(line, sizeof line, "hostile VR: %ld requests answered\n", requests_seen);
  if (n > 0) (void)!write(2, line, (size_t)n);
  _exit(0);
}

static void hostile_vr(int lfd, uint64_t seed) {
  rng_state = seed ^ 0x9e3779b97f4a7c15ull;
  signal(SIGTERM, report_and_exit);
  struct pollfd p[MAX_CONNS + 1];
  uint16_t ver[MAX_CONNS + 1]; /* each connection's version, as its HELLO_OK chose */
  int n = 1;
  p[0].fd = lfd;
  p[0].events = POLLIN;
  for (;;) {
    if (poll(p, n, -1) < 0) continue;
    if ((p[0].revents & POLLIN) != 0) {
      int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
      if (c >= 0 && n < MAX_CONNS + 1) {
        p[n].fd = c;
        p[n].events = POLLIN;
        ver[n] = 1;
        n++;
      } else if (c >= 0) {
        close(c);
      }
    }
    for (int i = 1; i < n; i++) {
      if (p[i].revents == 0) continue;
      uint8_t buf[RSOCK_MAX_MESSAGE];
      union {
        struct cmsghdr h;
        char b[CMSG_SPACE(8 * sizeof(int))];
      } ctl;
      struct iovec iov = {buf, sizeof buf};
      struct msghdr mh = {0};
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      mh.msg_control = ctl.b;
      mh.msg_controllen = sizeof ctl.b;
      ssize_t r = recvmsg(p[i].fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
      for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
        int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int j = 0; j < k; j++) {
          int fd;
          memcpy(&fd, CMSG_DATA(cm) + j * sizeof(int), sizeof fd);
          close(fd);
        }
      }
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        close(p[i].fd);
        p[i] = p[--n];
        ver[i] = ver[n];
        i--;
        continue;
      }
      struct rsock_msg req;
      struct rsock_fault f;
      /* The client's version is the one the HELLO_OK it took chose, which may be a chaotic one: a
       * message is read at either version (a HELLO has a version-1 header on every connection). */
      if (rsock_decode_v(buf, (size_t)r, ver[i], &req, &f) != 0 &&
          rsock_decode_v(buf, (size_t)r, (uint16_t)(3 - ver[i]), &req, &f) != 0)
        continue;
      requests_seen = requests_seen + 1;
      if (below(40) == 0) {
        /* Hang up on the client mid-request. */
        close(p[i].fd);
        p[i] = p[--n];
        ver[i] = ver[n];
        i--;
        continue;
      }
      for (uint32_t k = below(3); k > 0; k--) chaos_reply(p[i].fd, &req, 0, ver[i]);
      /* HELLO is answered properly most of the time, or nothing else would ever be exercised. */
      if (req.type == RSOCK_HELLO && below(6) != 0) {
        struct rsock_msg ok = {0};
        ok.type = RSOCK_HELLO_OK;
        ok.id = req.id;
        ok.version = below(3) ? 2 : 1;
        ok.max_sockets = 64;
        uint8_t out[64];
        size_t len = rsock_encode(&ok, out, sizeof out);
        send_with_fds(p[i].fd, out, len, 0);
        ver[i] = ok.version;
      } else {
        chaos_reply(p[i].fd, &req, 1, ver[i]);
      }
      if (below(3) == 0) chaos_reply(p[i].fd, &req, 0, ver[i]);
      scribble_on_pairs();
    }
  }
}

/* ---- the client ---- */

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  CHECK(d != NULL);
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1; /* the directory's own */
}

#define MAX_HELD 32

static int shim_mode;

static int do_socket(int type) {
  int family = below(3) == 0 ? AF_INET6 : AF_INET;
  if (shim_mode) return socket(family, type | SOCK_NONBLOCK, 0);
  return nexthop_socket_family("chaos", family, type | SOCK_NONBLOCK, 0);
}

static void client(long calls) {
  int held[MAX_HELD];
  int n = 0;
  struct sockaddr_in sa4 = {0};
  sa4.sin_family = AF_INET;
  struct sockaddr_in6 sa6 = {0};
  sa6.sin6_family = AF_INET6;
  struct sockaddr_storage out;
  uint8_t buf[512];
  for (long i = 0; i < calls; i++) {
    int op = (int)below(13);
    if (n == 0 || op == 0) {
      if (n == MAX_HELD) {
        if (shim_mode) close(held[--n]);
        else nexthop_close(held[--n]);
        continue;
      }
      int fd = do_socket(below(2) ? SOCK_STREAM : SOCK_DGRAM);
      if (fd >= 0) held[n++] = fd;
      continue;
    }
    int k = (int)below((uint32_t)n);
    int fd = held[k];
    sa4.sin_addr.s_addr = htonl(0x0a020002 + below(4));
    sa4.sin_port = htons((uint16_t)(1024 + below(100)));
    sa6.sin6_addr.s6_addr[0] = below(4) ? 0x20 : 0xfe; /* 2001:db8::x or fe80::x, some IPv4-mapped */
    sa6.sin6_addr.s6_addr[1] = below(4) ? 0x01 : 0x80;
    sa6.sin6_addr.s6_addr[15] = (uint8_t)below(4);
    if (below(6) == 0) {
      memset(&sa6.sin6_addr, 0, 10);
      memset(sa6.sin6_addr.s6_addr + 10, 0xff, 2);
    }
    sa6.sin6_port = sa4.sin_port;
    sa6.sin6_scope_id = below(2);
    /* The address: either family, its own length or a wrong one. */
    struct sockaddr *sap = below(2) ? (struct sockaddr *)&sa4 : (struct sockaddr *)&sa6;
    socklen_t salen = sap == (struct sockaddr *)&sa4 ? sizeof sa4 : sizeof sa6;
    if (below(8) == 0) salen = (socklen_t)below(40);
    struct sockaddr *outp = (struct sockaddr *)&out;
    socklen_t len = below(8) ? sizeof out : (socklen_t)below(40);
    int v = 1;
    socklen_t vlen = sizeof v;
    switch (op) {
    case 1: (void)(shim_mode ? connect(fd, sap, salen) : nexthop_connect(fd, sap, salen)); break;
    case 2: (void)(shim_mode ? bind(fd, sap, salen) : nexthop_bind(fd, sap, salen)); break;
    case 3: (void)(shim_mode ? listen(fd, 8) : nexthop_listen(fd, 8)); break;
    case 4: {
      int a = shim_mode ? accept4(fd, outp, &len, SOCK_NONBLOCK)
                        : nexthop_accept4(fd, outp, &len, SOCK_NONBLOCK);
      if (a >= 0 && n < MAX_HELD) held[n++] = a;
      else if (a >= 0 && shim_mode) close(a);
      else if (a >= 0) nexthop_close(a);
      break;
    }
    case 5: (void)(shim_mode ? getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &vlen) : nexthop_getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &vlen)); break;
    case 6: {
      int level = below(2) ? IPPROTO_TCP : IPPROTO_IPV6;
      int name = level == IPPROTO_TCP ? TCP_NODELAY : below(2) ? IPV6_V6ONLY : IPV6_RECVPKTINFO;
      (void)(shim_mode ? setsockopt(fd, level, name, &v, sizeof v) : nexthop_setsockopt(fd, level, name, &v, sizeof v));
      break;
    }
    case 7: (void)(shim_mode ? getsockname(fd, outp, &len) : nexthop_getsockname(fd, outp, &len)); break;
    case 8: (void)(shim_mode ? getpeername(fd, outp, &len) : nexthop_getpeername(fd, outp, &len)); break;
    case 9: (void)(shim_mode ? shutdown(fd, (int)below(3)) : nexthop_shutdown(fd, (int)below(3))); break;
    case 10:
      (void)(shim_mode ? sendto(fd, buf, below(sizeof buf), MSG_DONTWAIT, sap, salen)
                       : nexthop_sendto(fd, buf, below(sizeof buf), MSG_DONTWAIT, sap, salen));
      break;
    case 11:
      (void)(shim_mode ? recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, outp, &len)
                       : nexthop_recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, outp, &len));
      break;
    case 12:
      /* The library learns of a close only through nexthop_close (the shim hooks close). */
      if (shim_mode) close(fd);
      else nexthop_close(fd);
      held[k] = held[--n];
      break;
    }
  }
  while (n > 0) {
    if (shim_mode) close(held[--n]);
    else nexthop_close(held[--n]);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s <calls> <seed> [lib|shim]\n", argv[0]);
    return 2;
  }
  long calls = strtol(argv[1], NULL, 10);
  uint64_t seed = strtoull(argv[2], NULL, 0);
  shim_mode = getenv("NH_CHAOS_SHIM") != NULL;
  signal(SIGPIPE, SIG_IGN);
  if (shim_mode) {
    /* Re-executed by the parent below: the fake runs there. */
    rng_state = seed | 1;
    int before = count_fds();
    client(calls);
    int after = count_fds();
    if (after > before + 1) {
      fprintf(stderr, "client_chaos (shim): %d descriptors before, %d after\n", before, after);
      return 1;
    }
    printf("client_chaos (shim): %ld calls survived, descriptors %d -> %d\n", calls, before, after);
    return 0;
  }
  char run_dir[128];
  snprintf(run_dir, sizeof run_dir, "/tmp/nexthop-chaos-%d", getpid());
  CHECK(mkdir(run_dir, 0700) == 0);
  struct sockaddr_un un = {0};
  un.sun_family = AF_UNIX;
  snprintf(un.sun_path, sizeof un.sun_path, "%s/chaos.sock", run_dir);
  int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  CHECK(lfd >= 0);
  CHECK(bind(lfd, (struct sockaddr *)&un, sizeof un) == 0);
  CHECK(listen(lfd, 64) == 0);
  pid_t vr = fork();
  CHECK(vr >= 0);
  if (vr == 0) {
    hostile_vr(lfd, seed);
    _exit(0);
  }
  close(lfd);
  setenv("NEXTHOP_RUN_DIR", run_dir, 1);
  int status = 0;
  if (argc > 3 && strcmp(argv[3], "shim") == 0) {
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
      setenv("NH_CHAOS_SHIM", "1", 1);
      setenv("NEXTHOP_VR", "chaos", 1);
      setenv("LD_PRELOAD", getenv("NH_CHAOS_PRELOAD") != NULL ? getenv("NH_CHAOS_PRELOAD") : "", 1);
      execv("/proc/self/exe", argv);
      _exit(127);
    }
    CHECK(waitpid(c, &status, 0) == c);
  } else {
    rng_state = seed | 1;
    int before = count_fds();
    client(calls);
    int after = count_fds();
    if (after > before + 1) {
      fprintf(stderr, "client_chaos (lib): %d descriptors before, %d after\n", before, after);
      if (getenv("NH_CHAOS_LIST") != NULL) {
        for (int fd = 3; fd < 1024; fd++) {
          int type = 0;
          socklen_t tl = sizeof type;
          if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0) continue;
          struct sockaddr_un peer = {0};
          socklen_t pl = sizeof peer;
          getpeername(fd, (struct sockaddr *)&peer, &pl);
          struct stat st; fstat(fd, &st);
          fprintf(stderr, "left: fd %d type %d peer '%s' cloexec %d ino %lu\n", fd, type, peer.sun_path, fcntl(fd, F_GETFD), (unsigned long)st.st_ino);
        }
      }
      status = 1 << 8;
    } else {
      printf("client_chaos (lib): %ld calls survived, descriptors %d -> %d\n", calls, before, after);
    }
  }
  kill(vr, SIGTERM);
  waitpid(vr, NULL, 0);
  unlink(un.sun_path);
  rmdir(run_dir);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "client_chaos: the client failed (status %d)\n", status);
    return 1;
  }
  return 0;
}
