/* Control connections, descriptor table and VR socket calls: see nh_core.h and
 * docs/remote-socket-protocol.md. */
#include "nh_core.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef SIOCOUTQ
#define SIOCOUTQ 0x5411
#endif

#define NH_MAX_CONNS 8
#define NH_VR_NAME_MAX 64
#define NH_PAGE 256
#define NH_MAX_FD (1 << 20)
#define NH_MAX_ABANDONED 64
#define NH_MAX_PAYLOAD 65507
#define NH_MAX_PAYLOAD6 65527

int nh_report_session_errors;
/* Set while a call retries by design (a listener waiting for its VR): no report per attempt. */
static __thread int quiet_thread;

/* ---- raw system calls ---- */

int nh_sys_socket(int domain, int type, int protocol) {
  return (int)syscall(SYS_socket, domain, type, protocol);
}
int nh_sys_close(int fd) { return (int)syscall(SYS_close, fd); }
ssize_t nh_sys_read(int fd, void *buf, size_t len) { return syscall(SYS_read, fd, buf, len); }
ssize_t nh_sys_write(int fd, const void *buf, size_t len) { return syscall(SYS_write, fd, buf, len); }
ssize_t nh_sys_sendmsg(int fd, const struct msghdr *msg, int flags) {
  return syscall(SYS_sendmsg, fd, msg, flags);
}
ssize_t nh_sys_recvmsg(int fd, struct msghdr *msg, int flags) { return syscall(SYS_recvmsg, fd, msg, flags); }
int nh_sys_getsockopt(int fd, int level, int name, void *value, socklen_t *len) {
  return (int)syscall(SYS_getsockopt, fd, level, name, value, len);
}
int nh_sys_setsockopt(int fd, int level, int name, const void *value, socklen_t len) {
  return (int)syscall(SYS_setsockopt, fd, level, name, value, len);
}
int nh_sys_shutdown(int fd, int how) { return (int)syscall(SYS_shutdown, fd, how); }
static int sys_connect(int fd, const struct sockaddr *a, socklen_t len) {
  return (int)syscall(SYS_connect, fd, a, len);
}

/* ---- the last error message, per thread ---- */

static _Thread_local char last_message[512];

const char *nh_last_message(void) { return last_message; }

static void set_message(const char *fmt, const char *a, const char *b) {
  snprintf(last_message, sizeof last_message, fmt, a, b);
}

/* ---- control connections ---- */

/* A reply read by one thread for another, kept until its owner takes it. */
struct nh_raw {
  uint8_t buf[RSOCK_MAX_MESSAGE];
  size_t len;
  int fd; /* the descriptor it carried, or -1 */
  uint16_t version; /* the protocol version of the connection it came on */
};

struct nh_parked {
  struct nh_parked *next;
  uint32_t id;
  struct nh_raw raw;
};

struct nh_reply {
  struct nh_raw raw;
  struct rsock_msg m;
};

struct nh_conn {
  char name[NH_VR_NAME_MAX];
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int fd;          /* -1: not open */
  uint32_t gen;    /* changes on every open: ids attached on an older one are void */
  uint16_t version; /* the protocol version HELLO_OK chose for this generation (§13.1) */
  pid_t pid;       /* the process that opened fd */
  uint32_t next_id;
  int reader;      /* a thread is reading fd without the lock */
  int filler;      /* does this generation's VR know CONNECT FILLER? 0 not asked yet, 1 yes, -1 no */
  int no_socket_connect; /* this generation's VR answered SOCKET_CONNECT EOPNOTSUPP (§13.11) */
  struct nh_parked *parked;
  uint32_t abandoned[NH_MAX_ABANDONED]; /* ids whose replies nobody will take */
  int n_abandoned;
  /* Ids sent and not yet answered: a reply to anything else is a protocol violation, not a reply
   * to park (a VR that sends replies nobody asked for would otherwise fill the parking list, and
   * this process's descriptor table with the descriptors they carry). */
  uint32_t *inflight;
  int n_inflight;
  int cap_inflight;
};

static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static struct nh_conn conns[NH_MAX_CONNS];
static int n_conns;
static uint32_t gen_counter;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
/* One collector of a non-blocking connect's reply per descriptor at a time (striped by number): two
 * threads asking SO_ERROR at once must not both wait for the one reply. */
#define NH_COLLECT_STRIPES 64
static pthread_mutex_t collect_mu[NH_COLLECT_STRIPES];
static pthread_once_t collect_once = PTHREAD_ONCE_INIT;

static void free_parked(struct nh_conn *c) {
  while (c->parked != NULL) {
    struct nh_parked *p = c->parked;
    c->parked = p->next;
    if (p->raw.fd >= 0) nh_sys_close(p->raw.fd);
    free(p);
  }
  c->n_abandoned = 0;
  c->n_inflight = 0;
}

/* Records id as sent (c->mu held); -1 with ENOMEM. */
static int inflight_add(struct nh_conn *c, uint32_t id) {
  if (c->n_inflight == c->cap_inflight) {
    int cap = c->cap_inflight == 0 ? 16 : 2 * c->cap_inflight;
    uint32_t *a = realloc(c->inflight, (size_t)cap * sizeof *a);
    if (a == NULL) {
      errno = ENOMEM;
      return -1;
    }
    c->inflight = a;
    c->cap_inflight = cap;
  }
  c->inflight[c->n_inflight++] = id;
  return 0;
}

/* Takes id off the in-flight list (c->mu held): 1 if it was there, 0 for an unsolicited reply. */
static int inflight_take(struct nh_conn *c, uint32_t id) {
  for (int i = c->n_inflight - 1; i >= 0; i--) {
    if (c->inflight[i] != id) continue;
    c->inflight[i] = c->inflight[--c->n_inflight];
    return 1;
  }
  return 0;
}

static void before_fork(void) {
  pthread_mutex_lock(&table_mu);
  for (int i = 0; i < n_conns; i++) pthread_mutex_lock(&conns[i].mu);
}

static void after_fork_parent(void) {
  for (int i = n_conns - 1; i >= 0; i--) pthread_mutex_unlock(&conns[i].mu);
  pthread_mutex_unlock(&table_mu);
}

/* The child must not share its parent's control connections: replies would interleave (§4). */
static void after_fork_child(void) {
  for (int i = 0; i < n_conns; i++) {
    struct nh_conn *c = &conns[i];
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (c->fd >= 0) nh_sys_close(c->fd);
    c->fd = -1;
    c->reader = 0;
    free_parked(c);
  }
  pthread_mutex_init(&table_mu, NULL);
  /* A collector in another thread of the parent is not in the child: its stripe is free. */
  for (int i = 0; i < NH_COLLECT_STRIPES; i++) pthread_mutex_init(&collect_mu[i], NULL);
}

static void install_atfork(void) { pthread_atfork(before_fork, after_fork_parent, after_fork_child); }

int nh_conn_index(const char *name) {
  pthread_once(&atfork_once, install_atfork);
  if (name == NULL || name[0] == '\0') {
    errno = EINVAL;
    return -1;
  }
  if (strlen(name) >= NH_VR_NAME_MAX) {
    errno = ENAMETOOLONG;
    return -1;
  }
  pthread_mutex_lock(&table_mu);
  int found = -1;
  for (int i = 0; i < n_conns; i++)
    if (strcmp(conns[i].name, name) == 0) found = i;
  if (found < 0 && n_conns < NH_MAX_CONNS) {
    found = n_conns;
    struct nh_conn *c = &conns[found];
    memset(c, 0, sizeof *c);
    strcpy(c->name, name);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->fd = -1;
    n_conns++;
  }
  pthread_mutex_unlock(&table_mu);
  if (found < 0) errno = ENFILE;
  return found;
}

/* ---- settings, read once ---- */

static pthread_once_t settings_once = PTHREAD_ONCE_INIT;
static char settings_vr[256];
static char settings_run_dir[PATH_MAX];

static void load_settings(void) {
  const char *vr = getenv("NEXTHOP_VR");
  const char *d = getenv("NEXTHOP_RUN_DIR");
  /* A value too long for the buffer stays too long (cut, but still over the limits below), so that
   * calls fail with ENAMETOOLONG rather than reach another VR or directory. */
  snprintf(settings_vr, sizeof settings_vr, "%s", vr != NULL ? vr : "");
  snprintf(settings_run_dir, sizeof settings_run_dir, "%s", d != NULL && d[0] != '\0' ? d : "/run/nexthop");
}

void nh_load_settings(void) { pthread_once(&settings_once, load_settings); }

const char *nh_default_vr(void) {
  nh_load_settings();
  return settings_vr[0] != '\0' ? settings_vr : NULL;
}

static const char *run_dir(void) {
  nh_load_settings();
  return settings_run_dir;
}

static void program_name(char *out, size_t cap) {
  extern char *program_invocation_short_name;
  const char *n = program_invocation_short_name;
  size_t len = n != NULL ? strlen(n) : 0;
  if (len >= cap) len = cap - 1;
  /* The server wants well-formed UTF-8; a name that is not is replaced. */
  if (n == NULL || !rsock_utf8_valid((const uint8_t *)n, len)) {
    n = "program";
    len = strlen(n);
  }
  memcpy(out, n, len);
  out[len] = '\0';
}

/* One message from fd, with at most one expected descriptor; extra descriptors are closed (§6). */
static ssize_t recv_message(int fd, struct nh_raw *raw, int flags) {
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int) * 8)];
  } ctl;
  struct iovec iov = {raw->buf, sizeof raw->buf};
  struct msghdr mh = {0};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl.buf;
  mh.msg_controllen = sizeof ctl.buf;
  raw->fd = -1;
  ssize_t n = nh_sys_recvmsg(fd, &mh, flags | MSG_CMSG_CLOEXEC);
  if (n < 0) return -1;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int got;
      memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof got);
      if (raw->fd < 0)
        raw->fd = got;
      else
        nh_sys_close(got);
    }
  }
  if (mh.msg_flags & MSG_TRUNC) {
    if (raw->fd >= 0) nh_sys_close(raw->fd);
    raw->fd = -1;
    errno = EIO;
    return -1;
  }
  if (n == 0 && raw->fd >= 0) {
    /* An empty message is no reply (and on a closed connection, none came): its descriptor with it. */
    nh_sys_close(raw->fd);
    raw->fd = -1;
  }
  raw->len = (size_t)n;
  return n;
}

static int send_message(int fd, const struct rsock_msg *m, int passfd, uint16_t version) {
  uint8_t buf[RSOCK_MAX_MESSAGE];
  struct rsock_msg v1;
  if (version == 1 && m->type == RSOCK_CONNECT && m->ep.family == RSOCK_AF_UNSPEC) {
    /* Version 1 has no AF_UNSPEC endpoint: CONNECT UNSPEC carries 0.0.0.0:0 (§5). */
    v1 = *m;
    v1.ep.family = RSOCK_AF_INET;
    m = &v1;
  }
  size_t len = rsock_encode_v(m, version, buf, sizeof buf);
  if (len == 0) {
    errno = EINVAL;
    return -1;
  }
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } ctl;
  struct iovec iov = {buf, len};
  struct msghdr mh = {0};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (passfd >= 0) {
    memset(&ctl, 0, sizeof ctl);
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof ctl.buf;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &passfd, sizeof passfd);
  }
  for (;;) {
    ssize_t n = nh_sys_sendmsg(fd, &mh, MSG_NOSIGNAL);
    if (n >= 0) return 0;
    if (errno != EINTR) return -1;
  }
}

/* The connection failed (VR gone, or it spoke nonsense): every call waiting on it fails. */
static void conn_fail(struct nh_conn *c) {
  if (c->fd >= 0) nh_sys_close(c->fd);
  c->fd = -1;
  free_parked(c);
  pthread_cond_broadcast(&c->cv);
}

/* Opens and greets the VR (§4) with c->mu held. */
static int conn_open_locked(struct nh_conn *c) {
  if (c->fd >= 0 && c->pid == getpid()) return 0;
  if (c->fd >= 0) { /* forked without pthread_atfork having run (raw clone): drop the parent's */
    nh_sys_close(c->fd);
    c->fd = -1;
    free_parked(c);
  }
  struct sockaddr_un sa = {0};
  sa.sun_family = AF_UNIX;
  int plen = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s.sock", run_dir(), c->name);
  if (plen < 0 || (size_t)plen >= sizeof sa.sun_path) {
    set_message("the control socket path of VR %s is too long%s", c->name, "");
    errno = ENAMETOOLONG;
    return -1;
  }
  int fd = nh_sys_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  while (sys_connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    if (errno == EINTR) continue;
    int e = errno;
    nh_sys_close(fd);
    if (e == EACCES || e == EPERM) {
      /* The run directory cannot be entered, or the socket file not written: the VR may well run. */
      snprintf(last_message, sizeof last_message,
               "permission denied: cannot reach %s (the run directory or the control socket of VR %s is not "
               "accessible to this user)",
               sa.sun_path, c->name);
      if (nh_report_session_errors && !quiet_thread) fprintf(stderr, "nexthop: %s\n", last_message);
      errno = EACCES;
      return -1;
    }
    set_message("VR %s is not running: cannot connect to %s", c->name, sa.sun_path);
    if (nh_report_session_errors && !quiet_thread) fprintf(stderr, "nexthop: %s (%s)\n", last_message, strerror(e));
    errno = ENETDOWN;
    return -1;
  }
  char name[64];
  program_name(name, sizeof name);
  struct rsock_msg hello = {0};
  hello.type = RSOCK_HELLO;
  hello.id = 1;
  /* Both versions are offered; HELLO and its answer have a version-1 header whatever is chosen. */
  hello.min_version = RSOCK_VERSION_MIN;
  hello.max_version = RSOCK_VERSION_MAX;
  hello.data.ptr = (const uint8_t *)name;
  hello.data.len = (uint16_t)strlen(name);
  struct nh_reply r;
  struct rsock_fault f;
  ssize_t n;
  /* EPIPE: the VR refused us at accept and shut the connection; its ERROR (id 0) is still to read. */
  if (send_message(fd, &hello, -1, RSOCK_VERSION) < 0 && errno != EPIPE) goto broken;
  do n = recv_message(fd, &r.raw, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0) goto broken;
  if (r.raw.fd >= 0) nh_sys_close(r.raw.fd);
  /* An ERROR with id 0 is the refusal at accept, sent before the HELLO was read (protocol §4). */
  if (rsock_decode(r.raw.buf, r.raw.len, &r.m, &f) < 0 || (r.m.id != 1 && !(r.m.id == 0 && r.m.type == RSOCK_ERROR)))
    goto broken;
  if (r.m.type == RSOCK_ERROR) {
    snprintf(last_message, sizeof last_message, "%.*s", (int)r.m.data.len, (const char *)r.m.data.ptr);
    if (nh_report_session_errors && !quiet_thread) fprintf(stderr, "nexthop: VR %s: %s\n", c->name, last_message);
    nh_sys_close(fd);
    errno = r.m.err;
    return -1;
  }
  if (r.m.type != RSOCK_HELLO_OK || r.m.version < RSOCK_VERSION_MIN || r.m.version > RSOCK_VERSION_MAX)
    goto broken;
  c->fd = fd;
  c->version = r.m.version;
  c->pid = getpid();
  c->gen = __atomic_add_fetch(&gen_counter, 1, __ATOMIC_RELAXED);
  c->next_id = 1;
  c->reader = 0;
  c->filler = 0;
  c->no_socket_connect = 0;
  return 0;
broken:
  set_message("VR %s closed the control connection during the greeting%s", c->name, "");
  if (nh_report_session_errors && !quiet_thread) fprintf(stderr, "nexthop: %s\n", last_message);
  nh_sys_close(fd);
  errno = ENETDOWN;
  return -1;
}

/* The oldest parked reply to id (the list is newest first): a SOCKET_CONNECT's two replies may both
 * be parked, and SOCKET_OK must be taken before the outcome (§13.11). */
static int take_parked(struct nh_conn *c, uint32_t id, struct nh_raw *out) {
  struct nh_parked **found = NULL;
  for (struct nh_parked **pp = &c->parked; *pp != NULL; pp = &(*pp)->next)
    if ((*pp)->id == id) found = pp;
  if (found == NULL) return 0;
  struct nh_parked *p = *found;
  *found = p->next;
  *out = p->raw;
  free(p);
  return 1;
}

static int is_abandoned(struct nh_conn *c, uint32_t id) {
  for (int i = 0; i < c->n_abandoned; i++) {
    if (c->abandoned[i] != id) continue;
    c->abandoned[i] = c->abandoned[--c->n_abandoned];
    return 1;
  }
  return 0;
}

/* Waits (c->mu held) for reply `id` sent on generation `gen`. One waiter at a time reads the
 * connection, parking replies that belong to others and waking them: a CONNECT waiting for a
 * handshake never holds up another thread's GETSOCKNAME. Returns 0 with *out, 1 when !block and it
 * has not arrived, -1 with errno when the connection failed. */
static int wait_reply(struct nh_conn *c, uint32_t id, uint32_t gen, struct nh_raw *out, int block) {
  for (;;) {
    if (c->gen == gen && take_parked(c, id, out)) return 0;
    if (c->gen != gen || c->fd < 0) {
      set_message("VR %s closed the control connection%s", c->name, "");
      errno = ENETDOWN;
      return -1;
    }
    if (c->reader) {
      if (!block) return 1;
      pthread_cond_wait(&c->cv, &c->mu);
      continue;
    }
    c->reader = 1;
    int fd = c->fd;
    uint16_t version = c->version;
    struct nh_parked *p = malloc(sizeof *p);
    if (p == NULL) {
      c->reader = 0;
      errno = ENOMEM;
      return -1;
    }
    pthread_mutex_unlock(&c->mu);
    ssize_t n = recv_message(fd, &p->raw, block ? 0 : MSG_DONTWAIT);
    int e = errno;
    p->raw.version = version;
    pthread_mutex_lock(&c->mu);
    c->reader = 0;
    pthread_cond_broadcast(&c->cv);
    if (n < 0 && (e == EAGAIN || e == EINTR)) {
      free(p);
      if (e == EAGAIN) return 1;
      continue;
    }
    struct rsock_msg m;
    struct rsock_fault f;
    if (n <= 0 || rsock_decode_v(p->raw.buf, p->raw.len, version, &m, &f) < 0 || (m.type & 0x8000) == 0 ||
        (c->gen == gen && !inflight_take(c, m.id))) {
      /* §8: a malformed reply breaks the connection; calls in flight fail with EIO. */
      int malformed = n > 0 || (n < 0 && e == EIO);
      if (p->raw.fd >= 0 && n > 0) nh_sys_close(p->raw.fd);
      free(p);
      if (c->gen == gen) conn_fail(c);
      set_message(malformed ? "VR %s sent a malformed reply%s" : "VR %s closed the control connection%s",
                  c->name, "");
      errno = malformed ? EIO : ENETDOWN;
      return -1;
    }
    if (m.id == id) {
      *out = p->raw;
      free(p);
      return 0;
    }
    if (is_abandoned(c, m.id)) {
      if (p->raw.fd >= 0) nh_sys_close(p->raw.fd);
      free(p);
      continue;
    }
    p->id = m.id;
    p->next = c->parked;
    c->parked = p;
  }
}

/* Sends req (c->mu held) and returns its id through *id and the generation through *gen. */
static int send_locked(struct nh_conn *c, struct rsock_msg *req, int passfd, uint32_t *id, uint32_t *gen) {
  if (conn_open_locked(c) < 0) return -1;
  if (++c->next_id == 0) c->next_id = 1;
  req->id = c->next_id;
  if (inflight_add(c, req->id) < 0) return -1;
  if (send_message(c->fd, req, passfd, c->version) < 0) {
    int e = errno;
    if (e == EINVAL) {
      inflight_take(c, req->id);
      return -1;
    }
    conn_fail(c);
    set_message("VR %s closed the control connection%s", c->name, "");
    errno = ENETDOWN;
    return -1;
  }
  *id = req->id;
  *gen = c->gen;
  return 0;
}

/* Turns a raw reply into *r; an ERROR becomes -1 with its errno and message. */
static int finish_reply(struct nh_reply *r) {
  struct rsock_fault f;
  if (rsock_decode_v(r->raw.buf, r->raw.len, r->raw.version, &r->m, &f) < 0) {
    if (r->raw.fd >= 0) nh_sys_close(r->raw.fd);
    errno = EIO;
    return -1;
  }
  if (r->m.type == RSOCK_ERROR) {
    if (r->raw.fd >= 0) nh_sys_close(r->raw.fd);
    r->raw.fd = -1;
    snprintf(last_message, sizeof last_message, "%.*s", (int)r->m.data.len, (const char *)r->m.data.ptr);
    errno = r->m.err;
    return -1;
  }
  last_message[0] = '\0';
  return 0;
}

/* One request, one reply. `expect` is the success type; its descriptor, if any, in r->raw.fd. */
static int call(int ci, struct rsock_msg *req, int passfd, uint16_t expect, struct nh_reply *r,
                uint32_t *gen_out) {
  struct nh_conn *c = &conns[ci];
  uint32_t id, gen;
  pthread_mutex_lock(&c->mu);
  int rc = send_locked(c, req, passfd, &id, &gen);
  if (rc == 0) rc = wait_reply(c, id, gen, &r->raw, 1);
  pthread_mutex_unlock(&c->mu);
  if (rc < 0) return -1;
  if (gen_out != NULL) *gen_out = gen;
  if (finish_reply(r) < 0) return -1;
  if (r->m.type != expect) {
    if (r->raw.fd >= 0) nh_sys_close(r->raw.fd);
    errno = EIO;
    return -1;
  }
  if (r->raw.fd >= 0 && expect != RSOCK_SOCKET_OK && expect != RSOCK_ACCEPT_OK) {
    /* §6: only SOCKET_OK and ACCEPT_OK carry a descriptor; any other is closed, not leaked. */
    nh_sys_close(r->raw.fd);
    r->raw.fd = -1;
  }
  return 0;
}

/* Closes socket `id` in the VR, ignoring the outcome (a reply that came without its fd, §6). */
static void close_id(int ci, uint32_t sock) {
  struct rsock_msg req = {0};
  req.type = RSOCK_CLOSE;
  req.socket = sock;
  struct nh_reply r;
  int e = errno;
  call(ci, &req, -1, RSOCK_OK, &r, NULL);
  errno = e;
}

/* ---- descriptor table ---- */

static struct nh_fd *pages[NH_MAX_FD / NH_PAGE];

static struct nh_fd *slot(int fd, int create) {
  if (fd < 0 || fd >= NH_MAX_FD) return NULL;
  struct nh_fd **page = &pages[fd / NH_PAGE];
  if (*page == NULL) {
    if (!create) return NULL;
    struct nh_fd *fresh = calloc(NH_PAGE, sizeof(struct nh_fd));
    if (fresh == NULL) return NULL;
    __atomic_store_n(page, fresh, __ATOMIC_RELEASE);
  }
  return &(*page)[fd % NH_PAGE];
}

void nh_opts_free(struct nh_opt *o) {
  while (o != NULL) {
    struct nh_opt *next = o->next;
    free(o);
    o = next;
  }
}

/* Keeps the lock-free `hot` byte in step with the fields it summarises (table_mu held). */
static void set_hot(struct nh_fd *s) {
  uint8_t h = s->kind == NH_VR && (s->dgram || s->filled || s->connect_id != 0 || s->err_pending != 0);
  __atomic_store_n(&s->hot, h, __ATOMIC_RELAXED);
}

static void clear_slot(struct nh_fd *s) {
  nh_opts_free(s->opts);
  memset(s, 0, sizeof *s);
}

enum nh_kind nh_fd_get(int fd, struct nh_fd *out) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&table_mu);
  struct nh_fd *s = slot(fd, 0);
  if (s != NULL && s->kind != NH_UNKNOWN) {
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_dev != s->dev || st.st_ino != s->ino) {
      clear_slot(s); /* the number was closed behind our back (dup2, close_range) and reused */
    } else {
      *out = *s;
      out->opts = NULL;
    }
  }
  pthread_mutex_unlock(&table_mu);
  return (enum nh_kind)out->kind;
}

void nh_fd_set(int fd, const struct nh_fd *e) {
  struct stat st;
  int ok = fstat(fd, &st) == 0;
  pthread_mutex_lock(&table_mu);
  struct nh_fd *s = slot(fd, 1);
  if (s != NULL && ok) {
    /* Recorded options belong to the open file: a new state of the same socket keeps them. */
    struct nh_opt *opts = e->opts;
    if (opts == NULL && s->kind != NH_UNKNOWN && s->dev == st.st_dev && s->ino == st.st_ino)
      opts = s->opts;
    else if (s->opts != opts)
      nh_opts_free(s->opts);
    *s = *e;
    s->opts = opts;
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    set_hot(s);
  } else {
    nh_opts_free(e->opts);
  }
  pthread_mutex_unlock(&table_mu);
}

int nh_fd_hot(int fd) {
  if (fd < 0 || fd >= NH_MAX_FD) return 0;
  struct nh_fd *page = __atomic_load_n(&pages[fd / NH_PAGE], __ATOMIC_ACQUIRE);
  if (page == NULL) return 0;
  return __atomic_load_n(&page[fd % NH_PAGE].hot, __ATOMIC_RELAXED) != 0;
}

void nh_fd_forget(int fd) {
  pthread_mutex_lock(&table_mu);
  struct nh_fd *s = slot(fd, 0);
  if (s != NULL) clear_slot(s);
  pthread_mutex_unlock(&table_mu);
}

/* More distinct options than any program sets: past it, new ones are not kept for replay. */
#define NH_MAX_KEPT_OPTS 64

int nh_fd_add_opt(int fd, int level, int name, const void *value, socklen_t len) {
  if (len > 1024) return 0; /* nothing the VR knows is that large: not replayed */
  struct nh_opt *o = malloc(sizeof *o + len);
  if (o == NULL) return -1;
  o->level = level;
  o->name = name;
  o->len = len;
  o->next = NULL;
  if (len > 0) memcpy(o->value, value, len);
  struct nh_opt *old = NULL;
  pthread_mutex_lock(&table_mu);
  struct nh_fd *s = slot(fd, 0);
  if (s != NULL && (s->kind == NH_INTENT || s->kind == NH_VR)) {
    /* The last value of each option, in the order the program last set them: a replay ends where
     * the program's own calls did. */
    struct nh_opt **tail = &s->opts;
    int count = 0;
    while (*tail != NULL) {
      if ((*tail)->level == level && (*tail)->name == name) {
        old = *tail;
        *tail = old->next;
        old->next = NULL;
        continue;
      }
      tail = &(*tail)->next;
      count++;
    }
    if (count < NH_MAX_KEPT_OPTS) {
      *tail = o;
      o = NULL;
    }
  }
  pthread_mutex_unlock(&table_mu);
  free(o);
  free(old);
  return 0;
}

struct nh_opt *nh_fd_take_opts(int fd) {
  pthread_mutex_lock(&table_mu);
  struct nh_fd *s = slot(fd, 0);
  struct nh_opt *o = s != NULL ? s->opts : NULL;
  if (s != NULL) s->opts = NULL;
  pthread_mutex_unlock(&table_mu);
  return o;
}

/* ---- VR sockets ---- */

static int attach(int ci, int fd, struct nh_fd *e) {
  struct rsock_msg req = {0};
  req.type = RSOCK_ATTACH;
  struct nh_reply r;
  uint32_t gen;
  if (call(ci, &req, fd, RSOCK_ATTACH_OK, &r, &gen) < 0) return -1;
  if (r.m.family != AF_INET && !(r.m.family == AF_INET6 && r.raw.version >= RSOCK_VERSION_2)) {
    errno = EIO; /* no socket this connection could speak for */
    return -1;
  }
  memset(e, 0, sizeof *e);
  e->kind = NH_VR;
  e->family = (uint8_t)r.m.family;
  e->dgram = r.m.sock_type == SOCK_DGRAM;
  /* A UDP socket keeps the header of the connection that created it (§13.5, §13.6). */
  e->dgram_v2 = e->dgram && r.raw.version >= RSOCK_VERSION_2 && (r.m.state & RSOCK_STATE_DGRAM_V2) != 0;
  e->listening = (r.m.state & RSOCK_STATE_LISTENING) != 0;
  e->pktinfo = (r.m.state & RSOCK_STATE_PKTINFO) != 0;
  e->tcp = (r.m.state & RSOCK_STATE_CONNECTED)    ? NH_TCP_CONNECTED
           : (r.m.state & RSOCK_STATE_CONNECTING) ? NH_TCP_REMOTE
                                                  : NH_TCP_NONE;
  e->conn = (uint16_t)ci;
  e->sock = r.m.socket;
  e->gen = gen;
  nh_fd_set(fd, e);
  return 0;
}

static uint32_t conn_gen(int ci) {
  struct nh_conn *c = &conns[ci];
  pthread_mutex_lock(&c->mu);
  uint32_t g = c->fd >= 0 && c->pid == getpid() ? c->gen : 0;
  pthread_mutex_unlock(&c->mu);
  return g;
}

/* Could fd be the application end of a VR socket? (a Unix stream or seqpacket socket) */
static int maybe_vr(int fd) {
  int v;
  socklen_t l = sizeof v;
  if (nh_sys_getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) < 0 || v != AF_UNIX) return 0;
  l = sizeof v;
  if (nh_sys_getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) < 0) return 0;
  return v == SOCK_STREAM || v == SOCK_SEQPACKET;
}

int nh_resolve(int fd, const char *vr, struct nh_fd *e) {
  enum nh_kind k = nh_fd_get(fd, e);
  if (k == NH_KERNEL || k == NH_INTENT) return 0;
  if (k == NH_VR) {
    if (conn_gen(e->conn) == e->gen) return 1;
    /* After fork (or the VR restarting) this process's connection must learn the socket again. */
    int ci = e->conn;
    if (attach(ci, fd, e) == 0) return 1;
    if (errno == EBADF) { /* the VR no longer knows it: it was restarted */
      set_message("the socket is gone from VR %s (was it restarted?)%s", conns[ci].name, "");
      errno = ENOTCONN;
    }
    return -1;
  }
  if (vr == NULL) vr = nh_default_vr();
  /* Without a VR named, ask those this process already talks to (a dup of a socket of one). */
  pthread_mutex_lock(&table_mu);
  int known = n_conns;
  pthread_mutex_unlock(&table_mu);
  if ((vr == NULL && known == 0) || !maybe_vr(fd)) {
    if (fcntl(fd, F_GETFD) < 0) return -1; /* EBADF */
    struct nh_fd kernel = {0};
    kernel.kind = NH_KERNEL;
    nh_fd_set(fd, &kernel);
    return 0;
  }
  int first = 0, last = known - 1;
  if (vr != NULL) {
    first = last = nh_conn_index(vr);
    if (first < 0) return -1;
  }
  for (int ci = first; ci <= last; ci++) {
    if (attach(ci, fd, e) == 0) return 1;
    /* EPROTONOSUPPORT: a version-1 connection cannot speak that socket (an AF_INET6 one, §13.6);
     * left to the kernel, as one the VR does not know. */
    if (errno != EBADF && errno != EPROTONOSUPPORT) return -1;
  }
  /* Not a socket of these VRs (§4): the kernel's. */
  struct nh_fd kernel = {0};
  kernel.kind = NH_KERNEL;
  nh_fd_set(fd, &kernel);
  return 0;
}

int nh_conn_version(int ci) {
  struct nh_conn *c = &conns[ci];
  pthread_mutex_lock(&c->mu);
  int rc = conn_open_locked(c);
  int v = rc == 0 ? c->version : -1;
  pthread_mutex_unlock(&c->mu);
  return v;
}

int nh_vr_socket(int ci, int family, int type, int protocol, struct nh_fd *e) {
  if (family != AF_INET && family != AF_INET6) {
    errno = EAFNOSUPPORT;
    return -1;
  }
  if (family == AF_INET6) {
    /* Only version 2 has IPv6 endpoints (§13): a version-1 VR has no AF_INET6 sockets. */
    int v = nh_conn_version(ci);
    if (v < 0) return -1;
    if (v < RSOCK_VERSION_2) {
      set_message("VR %s speaks remote socket protocol version 1: no IPv6 sockets%s", conns[ci].name, "");
      errno = EAFNOSUPPORT;
      return -1;
    }
  }
  struct rsock_msg req = {0};
  req.type = RSOCK_SOCKET;
  req.family = (uint16_t)family;
  req.sock_type = (uint16_t)(type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC));
  req.protocol = (uint32_t)protocol;
  struct nh_reply r;
  uint32_t gen;
  if (call(ci, &req, -1, RSOCK_SOCKET_OK, &r, &gen) < 0) return -1;
  if (r.raw.fd < 0) { /* the descriptor did not fit (RLIMIT_NOFILE) */
    close_id(ci, r.m.socket);
    errno = EMFILE;
    return -1;
  }
  memset(e, 0, sizeof *e);
  e->kind = NH_VR;
  e->family = (uint8_t)family;
  e->dgram = req.sock_type == SOCK_DGRAM;
  e->dgram_v2 = e->dgram && r.raw.version >= RSOCK_VERSION_2;
  e->conn = (uint16_t)ci;
  e->sock = r.m.socket;
  e->gen = gen;
  return r.raw.fd;
}

/* ---- epoll registrations of replaceable descriptors ---- */

struct nh_epoll_reg {
  int epfd;
  int fd;
  struct epoll_event ev;
};

static pthread_mutex_t epoll_mu = PTHREAD_MUTEX_INITIALIZER;
static struct nh_epoll_reg *epoll_regs;
static int n_epoll_regs;
static int cap_epoll_regs;

static int sys_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev) {
  return (int)syscall(SYS_epoll_ctl, epfd, op, fd, ev);
}

void nh_epoll_note(int epfd, int op, int fd, const struct epoll_event *ev) {
  pthread_mutex_lock(&epoll_mu);
  int at = -1;
  for (int i = 0; i < n_epoll_regs; i++)
    if (epoll_regs[i].epfd == epfd && epoll_regs[i].fd == fd) at = i;
  if (op == EPOLL_CTL_DEL) {
    if (at >= 0) epoll_regs[at] = epoll_regs[--n_epoll_regs];
  } else if (ev != NULL && at >= 0) {
    epoll_regs[at].ev = *ev;
  } else if (ev != NULL && op == EPOLL_CTL_ADD) {
    if (n_epoll_regs == cap_epoll_regs) {
      int cap = cap_epoll_regs == 0 ? 16 : 2 * cap_epoll_regs;
      struct nh_epoll_reg *a = realloc(epoll_regs, (size_t)cap * sizeof *a);
      if (a == NULL) goto out; /* the registration is then not restored: as before this table */
      epoll_regs = a;
      cap_epoll_regs = cap;
    }
    epoll_regs[n_epoll_regs].epfd = epfd;
    epoll_regs[n_epoll_regs].fd = fd;
    epoll_regs[n_epoll_regs].ev = *ev;
    n_epoll_regs++;
  }
out:
  pthread_mutex_unlock(&epoll_mu);
}

void nh_epoll_forget(int fd) {
  if (__atomic_load_n(&n_epoll_regs, __ATOMIC_RELAXED) == 0) return;
  pthread_mutex_lock(&epoll_mu);
  for (int i = n_epoll_regs - 1; i >= 0; i--)
    if (epoll_regs[i].fd == fd || epoll_regs[i].epfd == fd) epoll_regs[i] = epoll_regs[--n_epoll_regs];
  pthread_mutex_unlock(&epoll_mu);
}

/* Before target's open file is replaced: takes it out of the epoll sets (a copy of the old file
 * kept elsewhere, by a child say, would otherwise stay registered under target's number). */
static void epoll_unregister(int target) {
  pthread_mutex_lock(&epoll_mu);
  for (int i = 0; i < n_epoll_regs; i++)
    if (epoll_regs[i].fd == target) sys_epoll_ctl(epoll_regs[i].epfd, EPOLL_CTL_DEL, target, NULL);
  pthread_mutex_unlock(&epoll_mu);
}

/* After: registers the new file as the program had registered the old one. */
static void epoll_reregister(int target) {
  pthread_mutex_lock(&epoll_mu);
  for (int i = 0; i < n_epoll_regs; i++) {
    if (epoll_regs[i].fd != target) continue;
    struct epoll_event ev = epoll_regs[i].ev;
    sys_epoll_ctl(epoll_regs[i].epfd, EPOLL_CTL_ADD, target, &ev);
  }
  pthread_mutex_unlock(&epoll_mu);
}

int nh_vr_replace(int target, int vfd, struct nh_fd *e) {
  int fl = fcntl(target, F_GETFL);
  int fdfl = fcntl(target, F_GETFD);
  if (fl < 0 || fdfl < 0) {
    nh_sys_close(vfd);
    return -1;
  }
  if ((fl & O_NONBLOCK) && fcntl(vfd, F_SETFL, O_NONBLOCK) < 0) {
    nh_sys_close(vfd);
    return -1;
  }
  epoll_unregister(target);
  if (dup3(vfd, target, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
    nh_sys_close(vfd);
    epoll_reregister(target);
    return -1;
  }
  nh_sys_close(vfd);
  nh_fd_set(target, e);
  epoll_reregister(target);
  return 0;
}

/* Which call an address is given to: the kernel checks them differently (protocol §13.3). */
enum ep_use { EP_BIND, EP_CONNECT, EP_SEND };

/* Does this IPv6 address need a scope id (link-local unicast, interface- or link-local multicast)?
 * Linux ignores sin6_scope_id for the others. */
static int needs_scope(const uint8_t a[16]) {
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return 1;
  return a[0] == 0xff && (a[1] & 0x0f) <= 2;
}

/* The program's address for a call on socket e, as a version-2 endpoint (AF_INET sockets: always
 * AF_INET, which version 1 carries too). Lengths and families are checked as the kernel checks them
 * for the socket's family: shorter than a sockaddr_in (AF_INET), or than RFC 2133's 24-byte
 * sockaddr_in6 (AF_INET6), is EINVAL; then another family is EAFNOSUPPORT, except an AF_INET
 * destination of an AF_INET6 UDP socket, which the VR takes as IPv4-mapped (or refuses when the
 * socket is IPV6_V6ONLY). 0, or -1 with errno. */
static int to_ep(const struct nh_fd *e, const struct sockaddr *addr, socklen_t len, enum ep_use use,
                 struct rsock_ep *ep) {
  memset(ep, 0, sizeof *ep);
  if (addr == NULL || (int)len < (int)sizeof(sa_family_t)) {
    errno = EINVAL;
    return -1;
  }
  int v4 = e->family != AF_INET6 || (addr->sa_family == AF_INET && e->dgram && use != EP_BIND);
  if (v4) {
    if (len < (socklen_t)sizeof(struct sockaddr_in)) {
      errno = EINVAL;
      return -1;
    }
    if (addr->sa_family != AF_INET) {
      errno = EAFNOSUPPORT;
      return -1;
    }
    struct sockaddr_in sin;
    memcpy(&sin, addr, sizeof sin);
    ep->family = RSOCK_AF_INET;
    memcpy(ep->addr, &sin.sin_addr, 4);
    ep->port = ntohs(sin.sin_port);
    return 0;
  }
  if (len < 24) { /* SIN6_LEN_RFC2133: the sockaddr_in6 without sin6_scope_id */
    errno = EINVAL;
    return -1;
  }
  if (addr->sa_family != AF_INET6) {
    errno = EAFNOSUPPORT;
    return -1;
  }
  struct sockaddr_in6 sin6;
  memset(&sin6, 0, sizeof sin6);
  memcpy(&sin6, addr, len < (socklen_t)sizeof sin6 ? (size_t)len : sizeof sin6);
  ep->family = RSOCK_AF_INET6;
  ep->port = ntohs(sin6.sin6_port);
  ep->flowinfo = ntohl(sin6.sin6_flowinfo) & RSOCK_FLOWINFO_MASK;
  memcpy(ep->addr, &sin6.sin6_addr, 16);
  if (needs_scope(ep->addr)) ep->scope_id = sin6.sin6_scope_id;
  return 0;
}

/* Writes endpoint ep as a sockaddr of an AF_INET or AF_INET6 socket (`family`) to (addr, *len),
 * truncating as the kernel does; *len = the full size. An AF_INET6 socket sees IPv4 peers as
 * IPv4-mapped addresses (as the VR reports them anyway); AF_UNSPEC is the family's any address. */
static void from_ep(const struct rsock_ep *ep, int family, struct sockaddr *addr, socklen_t *len) {
  if (addr == NULL || len == NULL) return;
  union {
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
  } u;
  memset(&u, 0, sizeof u);
  socklen_t full;
  if (family == AF_INET6 || ep->family == RSOCK_AF_INET6) {
    u.v6.sin6_family = AF_INET6;
    if (ep->family == RSOCK_AF_INET6) {
      memcpy(&u.v6.sin6_addr, ep->addr, 16);
      u.v6.sin6_flowinfo = htonl(ep->flowinfo);
      u.v6.sin6_scope_id = ep->scope_id;
    } else if (ep->family == RSOCK_AF_INET) {
      static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
      memcpy(&u.v6.sin6_addr, mapped, 12);
      memcpy((uint8_t *)&u.v6.sin6_addr + 12, ep->addr, 4);
    }
    u.v6.sin6_port = htons(ep->port);
    full = sizeof u.v6;
  } else {
    u.v4.sin_family = AF_INET;
    if (ep->family == RSOCK_AF_INET) memcpy(&u.v4.sin_addr, ep->addr, 4);
    u.v4.sin_port = htons(ep->port);
    full = sizeof u.v4;
  }
  socklen_t n = *len < full ? *len : full;
  memcpy(addr, &u, n);
  *len = full;
}

static int is_nonblocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl >= 0 && (fl & O_NONBLOCK) != 0;
}

/* Updates fd's connect fields in the table (and e, the caller's copy) from e. */
static void store_connect(int fd, struct nh_fd *e) {
  pthread_mutex_lock(&table_mu);
  struct nh_fd *s = slot(fd, 0);
  if (s != NULL && s->kind == NH_VR && s->sock == e->sock) {
    s->tcp = e->tcp;
    s->connect_id = e->connect_id;
    s->connect_result = e->connect_result;
    s->err_pending = e->err_pending;
    s->filled = e->filled;
    s->gone = e->gone;
    s->sndbuf = e->sndbuf;
    set_hot(s);
  }
  pthread_mutex_unlock(&table_mu);
}

/* The app end's SO_SNDBUF as it was before the filler (the kernel doubles what it is given). */
static void restore_sndbuf(int fd, int sndbuf) {
  int half = sndbuf / 2;
  if (half > 0) nh_sys_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &half, sizeof half);
}


static void collect_init(void) {
  for (int i = 0; i < NH_COLLECT_STRIPES; i++) pthread_mutex_init(&collect_mu[i], NULL);
}

/* Collects the reply of fd's in-flight non-blocking CONNECT into e (and the table): the outcome
 * waits in connect_result for the next connect(), a failure in err_pending as the kernel's sk_err;
 * a filled app end gets its SO_SNDBUF back. Returns 0 when collected (by this thread or another),
 * 1 if it has not arrived (!block). */
static int collect_connect(int fd, struct nh_fd *e, int block) {
  pthread_once(&collect_once, collect_init);
  pthread_mutex_t *stripe = &collect_mu[(unsigned)fd % NH_COLLECT_STRIPES];
  if (block)
    pthread_mutex_lock(stripe);
  else if (pthread_mutex_trylock(stripe) != 0)
    return 1;
  struct nh_fd now;
  if (nh_fd_get(fd, &now) == NH_VR && now.sock == e->sock && now.connect_id != e->connect_id) {
    /* Another thread collected it: take the table's word. */
    pthread_mutex_unlock(stripe);
    *e = now;
    return e->connect_id != 0;
  }
  struct nh_conn *c = &conns[e->conn];
  struct nh_reply r;
  pthread_mutex_lock(&c->mu);
  int rc = wait_reply(c, e->connect_id, e->gen, &r.raw, block);
  pthread_mutex_unlock(&c->mu);
  if (rc == 1) {
    pthread_mutex_unlock(stripe);
    return 1;
  }
  int result;
  if (rc < 0) {
    result = errno;
  } else {
    result = finish_reply(&r) < 0 ? errno : 0;
    if (r.raw.fd >= 0) nh_sys_close(r.raw.fd);
  }
  e->connect_id = 0;
  e->connect_result = result;
  if (result != 0) e->err_pending = result;
  if (e->filled) {
    restore_sndbuf(fd, e->sndbuf);
    e->filled = 0;
    e->gone = result != 0; /* the VR closed the socket (§7.1) */
  }
  store_connect(fd, e);
  pthread_mutex_unlock(stripe);
  return 0;
}

/* Has the VR decided the filled connect? It makes the app end writable or failed only after its
 * reply is on the control connection (§7.1), so then the reply can be waited for. */
static int filler_decided(int fd) {
  struct pollfd p = {fd, POLLOUT, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLOUT | POLLERR | POLLHUP)) != 0;
}

/* The socket's pending error, taken (reported once). A socket the VR closed on failure also has
 * the app end's own error (ECONNRESET, from the unread filler) cleared with it. */
static int take_error(int fd, struct nh_fd *e) {
  int err = e->err_pending;
  e->err_pending = 0;
  if (e->gone) {
    int v;
    socklen_t l = sizeof v;
    nh_sys_getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &l);
  }
  store_connect(fd, e);
  return err;
}

int nh_vr_stream_check(int fd, struct nh_fd *e) {
  if (e->dgram) return 0;
  /* Once the app's end shows the outcome, the reply is already sent (§7.1): wait for it, even if
   * another thread is the one reading the control connection. */
  if (e->connect_id != 0 && collect_connect(fd, e, e->filled && filler_decided(fd)) < 0) return -1;
  if (e->err_pending != 0) {
    errno = take_error(fd, e);
    return -1;
  }
  return 0;
}

/* Does this generation's VR know CONNECT FILLER? Asked once per control connection with the probe
 * (FILLER | UNSPEC, §7.1), on socket e. */
static int filler_known(struct nh_fd *e) {
  struct nh_conn *c = &conns[e->conn];
  pthread_mutex_lock(&c->mu);
  int known = c->gen == e->gen ? c->filler : 0;
  pthread_mutex_unlock(&c->mu);
  if (known != 0) return known > 0;
  struct rsock_msg req = {0};
  req.type = RSOCK_CONNECT;
  req.socket = e->sock;
  req.flags = RSOCK_CONNECT_UNSPEC | RSOCK_CONNECT_FILLER;
  struct nh_reply r;
  uint32_t gen;
  int rc = call(e->conn, &req, -1, RSOCK_OK, &r, &gen);
  if (rc < 0 && errno != EINVAL) return 0; /* the VR is gone or busy: ask again next time */
  pthread_mutex_lock(&c->mu);
  if (c->gen == gen) c->filler = rc == 0 ? 1 : -1;
  pthread_mutex_unlock(&c->mu);
  return rc == 0;
}

/* Writes the CONNECT FILLER bytes to the app end of a socket nobody has written to, then shrinks
 * its SO_SNDBUF to the minimum (4608 bytes on Linux): with more bytes in flight than that, the end
 * is neither writable to poll, epoll and select nor to write(2), until the VR reads them, which it
 * does when the connect succeeds, or closes its end when it fails (§7.1). Returns 0 with *sndbuf
 * (the size to restore), 1 when the end is not in a state to be filled (nothing written), -1 with
 * errno when only part of the filler went (the pair is unusable). */
static int fill(int fd, int *sndbuf) {
  static const uint8_t zeros[RSOCK_CONNECT_FILLER_BYTES];
  int queued = 0;
  socklen_t l = sizeof *sndbuf;
  if (ioctl(fd, SIOCOUTQ, &queued) < 0 || queued != 0) return 1;
  if (nh_sys_getsockopt(fd, SOL_SOCKET, SO_SNDBUF, sndbuf, &l) < 0) return 1;
  if (*sndbuf < 4 * (int)sizeof zeros) { /* room for the filler in one go, even on a small default */
    int room = 4 * (int)sizeof zeros;
    nh_sys_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &room, sizeof room);
  }
  /* Two writes, so that the last byte is a buffer of its own: the VR leaves that one unread when
   * the connect fails, which gives the end the kernel's failed-connect POLLERR once it closes. */
  size_t done = 0;
  while (done < sizeof zeros) {
    size_t part = done < sizeof zeros - 1 ? sizeof zeros - 1 - done : 1;
    ssize_t n = syscall(SYS_sendto, fd, zeros + done, part, MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && done == 0) {
      restore_sndbuf(fd, *sndbuf);
      return 1;
    }
    if (n < 0) return -1;
    done += (size_t)n;
  }
  int one = 1;
  nh_sys_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &one, sizeof one);
  return 0;
}

int nh_vr_connect(int fd, struct nh_fd *e, const struct sockaddr *addr, socklen_t len) {
  struct rsock_msg req = {0};
  req.type = RSOCK_CONNECT;
  req.socket = e->sock;
  if (addr != NULL && len >= (socklen_t)sizeof(sa_family_t) && addr->sa_family == AF_UNSPEC) {
    if (!e->dgram) {
      errno = EOPNOTSUPP;
      return -1;
    }
    req.flags = RSOCK_CONNECT_UNSPEC;
  } else if (to_ep(e, addr, len, EP_CONNECT, &req.ep) < 0) {
    return -1;
  }
  if (!e->dgram) {
    /* connect() after a non-blocking one, as Linux: EALREADY while in progress; once decided, 0 for
     * success (EISCONN after that) or the error (ECONNABORTED if SO_ERROR took it already), and
     * the socket is unconnected again. */
    if (e->connect_id != 0 && collect_connect(fd, e, e->filled && filler_decided(fd)) < 0) return -1;
    if (e->connect_id != 0) {
      errno = EALREADY;
      return -1;
    }
    if (e->tcp == NH_TCP_CONNECTING) {
      if (e->connect_result == 0) {
        e->tcp = NH_TCP_CONNECTED;
        store_connect(fd, e);
        return 0;
      }
      int err = e->err_pending != 0 ? take_error(fd, e) : ECONNABORTED;
      e->tcp = NH_TCP_NONE;
      store_connect(fd, e);
      errno = err;
      return -1;
    }
    if (e->tcp == NH_TCP_CONNECTED) {
      errno = EISCONN;
      return -1;
    }
    if (e->gone) {
      /* The VR closed the socket when its connect failed; a new attempt needs a new one, in place
       * (the kernel reuses the socket; options set on the old one are not carried over). */
      struct nh_fd ne;
      int vfd = nh_vr_socket(e->conn, e->family, SOCK_STREAM, 0, &ne);
      if (vfd < 0) return -1;
      if (nh_vr_replace(fd, vfd, &ne) < 0) return -1;
      *e = ne;
      req.socket = e->sock;
    }
  }
  struct nh_conn *c = &conns[e->conn];
  /* (A socket attached while connecting is asked plainly: the VR answers EALREADY or EISCONN.) */
  if (!e->dgram && e->tcp != NH_TCP_REMOTE && is_nonblocking(fd)) {
    int fresh = e->tcp == NH_TCP_NONE && !e->listening;
    int sndbuf = 0;
    int filled = 0;
    if (fresh && filler_known(e)) {
      int rc = fill(fd, &sndbuf);
      if (rc < 0) return -1;
      filled = rc == 0;
    }
    if (filled) req.flags |= RSOCK_CONNECT_FILLER;
    uint32_t id, gen;
    pthread_mutex_lock(&c->mu);
    int rc = send_locked(c, &req, -1, &id, &gen);
    pthread_mutex_unlock(&c->mu);
    if (rc < 0) return -1;
    if (gen != e->gen) { /* the connection was reopened: the id means nothing there */
      errno = ENETDOWN;
      return -1;
    }
    e->connect_id = id;
    e->connect_result = 0;
    e->tcp = NH_TCP_CONNECTING;
    e->filled = (uint8_t)filled;
    e->sndbuf = sndbuf;
    store_connect(fd, e);
    errno = EINPROGRESS;
    return -1;
  }
  struct nh_reply r;
  int rc = call(e->conn, &req, -1, RSOCK_OK, &r, NULL);
  if (!e->dgram && (rc == 0 || errno == EISCONN)) {
    int err = errno;
    e->tcp = NH_TCP_CONNECTED;
    store_connect(fd, e);
    errno = err;
  }
  return rc;
}

int nh_fd_has_opts(int fd) {
  pthread_mutex_lock(&table_mu);
  struct nh_fd *s = slot(fd, 0);
  int has = s != NULL && s->opts != NULL;
  pthread_mutex_unlock(&table_mu);
  return has;
}

/* connect() on an undecided socket (NH_INTENT, e) that goes to VR connection ci, as one SOCKET_CONNECT
 * exchange (§13.11). A non-blocking TCP connect asks for FILLER: SOCKET_OK brings the descriptor (the
 * filler in it), put in place of fd at once, and the outcome is a second reply with the same id,
 * collected as a non-blocking CONNECT's is. Any other (blocking, or UDP, whose outcome is immediate)
 * asks for WAIT: one reply, SOCKET_OK with the descriptor once connected, or the error (the VR closed
 * the socket; fd stays undecided, as a kernel socket after a failed connect is unconnected). Returns 0
 * or -1 with errno as connect() does, or -2 with nothing done: SOCKET then CONNECT must do it (a
 * version-1 VR, one without SOCKET_CONNECT, options to set before the connect, an address the old
 * path should judge). */
int nh_vr_connect_new(int ci, int fd, struct nh_fd *e, const struct sockaddr *addr, socklen_t len) {
  struct nh_conn *c = &conns[ci];
  pthread_mutex_lock(&c->mu);
  int rc = conn_open_locked(c);
  int usable = rc == 0 && c->version >= RSOCK_VERSION_2 && !c->no_socket_connect;
  pthread_mutex_unlock(&c->mu);
  if (rc < 0) return -1;
  if (!usable || nh_fd_has_opts(fd)) return -2;
  struct rsock_msg req = {0};
  req.type = RSOCK_SOCKET_CONNECT;
  req.family = e->family == AF_INET6 ? AF_INET6 : AF_INET;
  req.sock_type = e->dgram ? SOCK_DGRAM : SOCK_STREAM;
  struct nh_fd probe = {0};
  probe.family = (uint8_t)req.family;
  probe.dgram = e->dgram;
  if (to_ep(&probe, addr, len, EP_CONNECT, &req.ep) < 0) return -2;
  int fl = fcntl(fd, F_GETFL);
  int fdfl = fcntl(fd, F_GETFD);
  if (fl < 0 || fdfl < 0) return -1;
  int nonblock = (fl & O_NONBLOCK) != 0;
  int filled = nonblock && !e->dgram;
  req.flags = filled ? RSOCK_SOCKET_CONNECT_FILLER : RSOCK_SOCKET_CONNECT_WAIT;
  uint32_t id, gen;
  struct nh_reply r;
  pthread_mutex_lock(&c->mu);
  rc = send_locked(c, &req, -1, &id, &gen);
  /* With FILLER, two replies when a socket is made: the second is in flight too until it comes. */
  if (rc == 0 && filled && inflight_add(c, id) < 0) rc = -1;
  if (rc == 0) rc = wait_reply(c, id, gen, &r.raw, 1);
  if (rc == 0 && filled && c->gen == gen &&
      (rsock_decode_v(r.raw.buf, r.raw.len, r.raw.version, &r.m, &(struct rsock_fault){0}) < 0 ||
       r.m.type != RSOCK_SOCKET_OK))
    inflight_take(c, id); /* refused: no second reply */
  pthread_mutex_unlock(&c->mu);
  if (rc < 0) return -1;
  if (finish_reply(&r) < 0) {
    if (errno == EOPNOTSUPP) { /* a version-2 VR from before SOCKET_CONNECT */
      pthread_mutex_lock(&c->mu);
      if (c->gen == gen) c->no_socket_connect = 1;
      pthread_mutex_unlock(&c->mu);
      return -2;
    }
    return -1;
  }
  if (r.m.type != RSOCK_SOCKET_OK || r.raw.fd < 0) {
    int bad = r.m.type != RSOCK_SOCKET_OK;
    if (r.raw.fd >= 0) nh_sys_close(r.raw.fd);
    if (filled) {
      pthread_mutex_lock(&c->mu);
      if (c->gen == gen && c->n_abandoned < NH_MAX_ABANDONED) c->abandoned[c->n_abandoned++] = id;
      pthread_mutex_unlock(&c->mu);
    }
    if (bad) {
      errno = EIO;
      return -1;
    }
    close_id(ci, r.m.socket); /* the descriptor did not fit (RLIMIT_NOFILE) */
    errno = EMFILE;
    return -1;
  }
  int vfd = r.raw.fd;
  int sndbuf = 0;
  if (filled) {
    /* The pair was made with the default SO_SNDBUF, under which 8 KiB in flight still polls
     * writable: shrunk to the minimum before the program can see the end. */
    socklen_t l = sizeof sndbuf;
    int one = 1;
    if (nh_sys_getsockopt(vfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &l) < 0 ||
        nh_sys_setsockopt(vfd, SOL_SOCKET, SO_SNDBUF, &one, sizeof one) < 0)
      sndbuf = 0;
  }
  struct nh_fd ne = {0};
  ne.kind = NH_VR;
  ne.family = (uint8_t)req.family;
  ne.dgram = e->dgram;
  ne.dgram_v2 = e->dgram; /* made on a version-2 connection */
  ne.conn = (uint16_t)ci;
  ne.sock = r.m.socket;
  ne.gen = gen;
  if (filled) {
    ne.connect_id = id;
    ne.tcp = NH_TCP_CONNECTING;
    ne.filled = 1;
    ne.sndbuf = sndbuf;
  } else if (!e->dgram) {
    ne.tcp = NH_TCP_CONNECTED;
  }
  if (nonblock && fcntl(vfd, F_SETFL, O_NONBLOCK) < 0) {
    nh_sys_close(vfd);
    return -1;
  }
  epoll_unregister(fd);
  if (dup3(vfd, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
    int err = errno;
    nh_sys_close(vfd);
    epoll_reregister(fd);
    errno = err;
    return -1;
  }
  nh_sys_close(vfd);
  nh_fd_set(fd, &ne);
  epoll_reregister(fd);
  *e = ne;
  if (filled) {
    errno = EINPROGRESS;
    return -1;
  }
  return 0;
}

/* Listening ports this process closed lately. close(2) of a VR socket only closes the descriptor;
 * the VR frees the socket when it sees the hang-up, a moment later. A program that closes its
 * listener and binds the port again at once (iperf3 -s between tests) would get EADDRINUSE, which
 * the kernel would not give it: such a bind is retried for a while. */
#define NH_RECENT 16
static struct {
  uint16_t port;
  struct timespec when;
} recent_closed[NH_RECENT];
static unsigned recent_next;

static double since(const struct timespec *t) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void remember_closed_listener(uint16_t port) {
  pthread_mutex_lock(&table_mu);
  recent_closed[recent_next % NH_RECENT].port = port;
  clock_gettime(CLOCK_MONOTONIC, &recent_closed[recent_next % NH_RECENT].when);
  recent_next++;
  pthread_mutex_unlock(&table_mu);
}

static int closed_lately(uint16_t port) {
  int found = 0;
  pthread_mutex_lock(&table_mu);
  for (int i = 0; i < NH_RECENT; i++)
    if (recent_closed[i].port == port && since(&recent_closed[i].when) < 2.0) found = 1;
  pthread_mutex_unlock(&table_mu);
  return found;
}

/* BIND to endpoint ep, remembered for a listener's re-creation. */
static int bind_ep(int fd, struct nh_fd *e, const struct rsock_ep *ep) {
  struct rsock_msg req = {0};
  req.type = RSOCK_BIND;
  req.socket = e->sock;
  req.ep = *ep;
  struct nh_reply r;
  int rc;
  for (int attempt = 0;; attempt++) {
    rc = call(e->conn, &req, -1, RSOCK_OK, &r, NULL);
    if (rc == 0 || errno != EADDRINUSE || ep->port == 0 || attempt >= 40 || !closed_lately(ep->port)) break;
    struct timespec pause = {0, 5 * 1000 * 1000}; /* 40 x 5 ms at most */
    nanosleep(&pause, NULL);
  }
  if (rc < 0) return -1;
  e->bound = *ep;
  pthread_mutex_lock(&table_mu);
  struct nh_fd *s = slot(fd, 0);
  if (s != NULL && s->kind == NH_VR) s->bound = *ep;
  pthread_mutex_unlock(&table_mu);
  return 0;
}

int nh_vr_bind(int fd, struct nh_fd *e, const struct sockaddr *addr, socklen_t len) {
  struct rsock_ep ep;
  if (to_ep(e, addr, len, EP_BIND, &ep) < 0) return -1;
  return bind_ep(fd, e, &ep);
}

int nh_vr_listen(int fd, struct nh_fd *e, int backlog) {
  struct rsock_msg req = {0};
  req.type = RSOCK_LISTEN;
  req.socket = e->sock;
  req.backlog = backlog < 0 ? 0 : (uint32_t)backlog;
  struct nh_reply r;
  if (call(e->conn, &req, -1, RSOCK_OK, &r, NULL) < 0) return -1;
  e->listening = 1;
  e->backlog = req.backlog;
  pthread_mutex_lock(&table_mu);
  struct nh_fd *s = slot(fd, 0);
  if (s != NULL && s->kind == NH_VR) {
    s->listening = 1;
    s->backlog = req.backlog;
  }
  pthread_mutex_unlock(&table_mu);
  return 0;
}

int nh_vr_accept(int fd, struct nh_fd *e, struct sockaddr *addr, socklen_t *len, int flags) {
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC) || (addr != NULL && (len == NULL || (int)*len < 0))) {
    errno = EINVAL;
    return -1;
  }
  if (e->dgram) {
    errno = EOPNOTSUPP;
    return -1;
  }
  if (!e->listening) {
    errno = EINVAL;
    return -1;
  }
  for (;;) {
    /* §7.2: the token byte first; reading it is accept's wait (blocking or EAGAIN as the fd is). */
    uint8_t token;
    ssize_t n = nh_sys_read(fd, &token, 1);
    if (n < 0) return -1;
    /* n == 0: the VR closed its end of the listener's pair (the socket was shut down or closed,
     * or the VR is gone). The ACCEPT below then says which: EINVAL as Linux for a shut-down
     * listener, ENETDOWN when the VR is gone; never a wait. */
    int eof = n == 0;
    struct rsock_msg req = {0};
    req.type = RSOCK_ACCEPT;
    req.socket = e->sock;
    req.flags = RSOCK_ACCEPT_NONBLOCK;
    struct nh_reply r;
    uint32_t gen;
    if (call(e->conn, &req, -1, RSOCK_ACCEPT_OK, &r, &gen) < 0) {
      if (eof && conn_gen(e->conn) != e->gen) {
        /* Not shut down: the VR itself went away. A server survives its restart. */
        if (nh_vr_relisten(fd, e) < 0) return -1;
        continue;
      }
      if (errno == EAGAIN && eof) errno = EINVAL;
      if (errno == EAGAIN && !is_nonblocking(fd)) continue; /* a lost token (§7.2) */
      return -1;
    }
    if (r.raw.fd < 0) {
      close_id(e->conn, r.m.socket);
      errno = EMFILE;
      return -1;
    }
    int nfd = r.raw.fd;
    if (!(flags & SOCK_CLOEXEC)) fcntl(nfd, F_SETFD, 0);
    if (flags & SOCK_NONBLOCK) fcntl(nfd, F_SETFL, O_NONBLOCK);
    struct nh_fd ne = {0};
    ne.kind = NH_VR;
    ne.tcp = NH_TCP_CONNECTED;
    ne.conn = e->conn;
    ne.sock = r.m.socket;
    ne.gen = gen;
    ne.family = e->family;
    nh_fd_set(nfd, &ne);
    from_ep(&r.m.ep, e->family, addr, len);
    return nfd;
  }
}

static int control_socket_exists(int ci) {
  char path[PATH_MAX + NH_VR_NAME_MAX + 8];
  int n = snprintf(path, sizeof path, "%s/%s.sock", run_dir(), conns[ci].name);
  struct stat st;
  return n > 0 && (size_t)n < sizeof path && stat(path, &st) == 0;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SETSOCKOPT on e's VR socket, nothing recorded; 0 or -1 with errno. */
static int set_option(struct nh_fd *e, int level, int name, const void *value, socklen_t len) {
  struct rsock_msg req = {0};
  req.type = RSOCK_SETSOCKOPT;
  req.socket = e->sock;
  req.level = (uint32_t)level;
  req.name = (uint32_t)name;
  req.data.ptr = value;
  req.data.len = (uint16_t)len;
  struct nh_reply r;
  return call(e->conn, &req, -1, RSOCK_OK, &r, NULL);
}

int nh_vr_relisten(int fd, struct nh_fd *e) {
  struct rsock_ep bound = e->bound;
  int block = !is_nonblocking(fd);
  int64_t deadline = now_ms() + NH_RELISTEN_NONBLOCK_MS;
  for (;;) {
    struct nh_fd ne;
    quiet_thread = 1;
    int vfd = nh_vr_socket(e->conn, e->family, SOCK_STREAM, 0, &ne);
    quiet_thread = 0;
    if (vfd >= 0) {
      /* The options the program set come first, as it set them before its bind (SO_REUSEADDR,
       * SO_REUSEPORT and buffer sizes decide what bind and listen do). Best effort: each was
       * accepted once by a VR of the same build. */
      struct nh_opt *opts = nh_fd_take_opts(fd);
      for (struct nh_opt *o = opts; o != NULL; o = o->next) set_option(&ne, o->level, o->name, o->value, o->len);
      if (bind_ep(vfd, &ne, &bound) == 0 &&
          nh_vr_listen(vfd, &ne, (int)e->backlog) == 0) {
        ne.opts = opts;
        if (nh_vr_replace(fd, vfd, &ne) < 0) {
          nh_opts_free(opts); /* it failed before the table took them */
          return -1;
        }
        ne.opts = NULL; /* the table owns them now */
        *e = ne;
        return 0;
      }
      int err = errno;
      nh_opts_free(opts);
      nh_sys_close(vfd); /* the VR closes that socket when it sees the hang-up */
      errno = err;
      return -1;
    }
    if (errno != ENETDOWN) return -1;
    /* The VR is not back yet. Its socket file stays while it restarts (a VR that stopped removes
     * it): wait for it then, not when it is gone for good. */
    if (!control_socket_exists(e->conn)) return -1;
    if (!block && now_ms() >= deadline) {
      errno = EAGAIN;
      return -1;
    }
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
}

/* Options of the descriptor itself rather than of the VR's socket. */
static int local_option(int level, int name) {
  return level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO || name == SO_RCVLOWAT ||
                                 name == SO_SNDLOWAT || name == 66 /* SO_RCVTIMEO_NEW */ ||
                                 name == 67 /* SO_SNDTIMEO_NEW */);
}

static int put_int(void *value, socklen_t *len, int v) {
  if (value == NULL || len == NULL) {
    errno = EFAULT;
    return -1;
  }
  socklen_t n = *len < (socklen_t)sizeof v ? *len : (socklen_t)sizeof v;
  memcpy(value, &v, n);
  *len = n;
  return 0;
}

int nh_vr_getsockopt(int fd, struct nh_fd *e, int level, int name, void *value, socklen_t *len) {
  if (local_option(level, name)) return nh_sys_getsockopt(fd, level, name, value, len);
  if (level == SOL_SOCKET) {
    switch (name) {
    case SO_TYPE: return put_int(value, len, e->dgram ? SOCK_DGRAM : SOCK_STREAM);
    case SO_DOMAIN: return put_int(value, len, e->family == AF_INET6 ? AF_INET6 : AF_INET);
    case SO_PROTOCOL: return put_int(value, len, e->dgram ? IPPROTO_UDP : IPPROTO_TCP);
    case SO_ACCEPTCONN: return put_int(value, len, e->listening);
    case SO_ERROR:
      if (!e->dgram && (e->connect_id != 0 || e->err_pending != 0 || e->gone)) {
        /* A non-blocking connect's outcome is its CONNECT reply. With the filler the app end says
         * when it is decided (0 before, as Linux); without it (an older VR) the end was writable
         * from the start, so the reply is waited for. */
        if (e->connect_id != 0) collect_connect(fd, e, !e->filled || filler_decided(fd));
        if (e->connect_id != 0) return put_int(value, len, 0);
        return put_int(value, len, e->err_pending != 0 ? take_error(fd, e) : 0);
      }
      break;
    default: break;
    }
  }
  if (len == NULL || (int)*len < 0) {
    errno = EINVAL;
    return -1;
  }
  struct rsock_msg req = {0};
  req.type = RSOCK_GETSOCKOPT;
  req.socket = e->sock;
  req.level = (uint32_t)level;
  req.name = (uint32_t)name;
  req.max_len = *len;
  struct nh_reply r;
  if (call(e->conn, &req, -1, RSOCK_OPT_OK, &r, NULL) < 0) return -1;
  socklen_t n = r.m.data.len < *len ? r.m.data.len : *len;
  if (n > 0) memcpy(value, r.m.data.ptr, n);
  *len = n;
  return 0;
}

int nh_vr_setsockopt(int fd, struct nh_fd *e, int level, int name, const void *value, socklen_t len) {
  if (local_option(level, name)) return nh_sys_setsockopt(fd, level, name, value, len);
  if (len > 0 && value == NULL) {
    errno = EFAULT;
    return -1;
  }
  if (len > RSOCK_MAX_MESSAGE - 32) {
    errno = EINVAL;
    return -1;
  }
  struct rsock_msg req = {0};
  req.type = RSOCK_SETSOCKOPT;
  req.socket = e->sock;
  req.level = (uint32_t)level;
  req.name = (uint32_t)name;
  req.data.ptr = value;
  req.data.len = (uint16_t)len;
  struct nh_reply r;
  if (call(e->conn, &req, -1, RSOCK_OK, &r, NULL) < 0) return -1;
  /* A TCP socket that is not connected may become a listener, which a restarted VR gets again
   * (nh_vr_relisten): what the program set on it then goes along. */
  if (!e->dgram && e->tcp == NH_TCP_NONE) nh_fd_add_opt(fd, level, name, value, len);
  /* The option that makes received datagrams carry PKTINFO (§13.5) on the socket's family. */
  if (e->family == AF_INET6 ? level == IPPROTO_IPV6 && name == IPV6_RECVPKTINFO
                            : level == IPPROTO_IP && name == IP_PKTINFO) {
    int on = 0;
    if (len >= (socklen_t)sizeof(int))
      memcpy(&on, value, sizeof on);
    else if (len >= 1)
      on = ((const uint8_t *)value)[0];
    e->pktinfo = on != 0;
    pthread_mutex_lock(&table_mu);
    struct nh_fd *s = slot(fd, 0);
    if (s != NULL && s->kind == NH_VR) s->pktinfo = e->pktinfo;
    pthread_mutex_unlock(&table_mu);
  }
  return 0;
}

int nh_vr_shutdown(int fd, struct nh_fd *e, int how) {
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) {
    errno = EINVAL;
    return -1;
  }
  if (e->dgram) {
    /* Linux keeps a UDP socket receiving after any shutdown: SHUT_WR makes sends fail with EPIPE,
     * SHUT_RD makes a receive that would wait return 0 instead. Unconnected, the call fails with
     * ENOTCONN but takes effect all the same. Done here, without the VR: its end of the pair goes
     * on relaying both ways (shutting the pair would end reception). */
    uint8_t bits = how == SHUT_RD ? NH_SHUT_RD : how == SHUT_WR ? NH_SHUT_WR : NH_SHUT_RD | NH_SHUT_WR;
    e->shut |= bits;
    pthread_mutex_lock(&table_mu);
    struct nh_fd *s = slot(fd, 0);
    if (s != NULL && s->kind == NH_VR && s->sock == e->sock) s->shut |= bits;
    pthread_mutex_unlock(&table_mu);
    struct rsock_msg peer = {0};
    peer.type = RSOCK_GETPEERNAME;
    peer.socket = e->sock;
    struct nh_reply pr;
    return call(e->conn, &peer, -1, RSOCK_ADDR_OK, &pr, NULL) < 0 ? -1 : 0;
  }
  if (!e->listening && (e->tcp == NH_TCP_NONE || e->gone)) {
    errno = ENOTCONN;
    return -1;
  }
  struct rsock_msg req = {0};
  req.type = RSOCK_SHUTDOWN;
  req.socket = e->sock;
  req.how = (uint32_t)how;
  if (!e->dgram && !e->listening) {
    /* The write side travels in band (§7.1): the VR sends FIN once it has read every byte written
     * before it, which a SHUTDOWN request could overtake. Only a read-side shutdown is sent. */
    if (how == SHUT_WR) return nh_sys_shutdown(fd, SHUT_WR);
    req.how = SHUT_RD;
  }
  struct nh_reply r;
  if (call(e->conn, &req, -1, RSOCK_OK, &r, NULL) < 0) return -1;
  if (!e->listening) nh_sys_shutdown(fd, how);
  return 0;
}

int nh_vr_name(int fd, struct nh_fd *e, int peer, struct sockaddr *addr, socklen_t *len) {
  (void)fd;
  if (len == NULL || (int)*len < 0) {
    errno = EINVAL;
    return -1;
  }
  if (e->gone) { /* the connect failed and the VR closed the socket: unbound and unconnected now */
    if (peer) {
      errno = ENOTCONN;
      return -1;
    }
    struct rsock_ep none = {0};
    from_ep(&none, e->family, addr, len);
    return 0;
  }
  struct rsock_msg req = {0};
  req.type = peer ? RSOCK_GETPEERNAME : RSOCK_GETSOCKNAME;
  req.socket = e->sock;
  struct nh_reply r;
  if (call(e->conn, &req, -1, RSOCK_ADDR_OK, &r, NULL) < 0) return -1;
  from_ep(&r.m.ep, e->family, addr, len);
  return 0;
}

void nh_vr_forget(int fd, struct nh_fd *e) {
  if (e->kind == NH_VR && e->listening && e->bound.port != 0) remember_closed_listener(e->bound.port);
  if (e->kind == NH_VR && e->connect_id != 0) {
    struct nh_conn *c = &conns[e->conn];
    pthread_mutex_lock(&c->mu);
    struct nh_raw raw;
    if (c->gen == e->gen) {
      if (take_parked(c, e->connect_id, &raw)) {
        if (raw.fd >= 0) nh_sys_close(raw.fd);
      } else if (c->n_abandoned < NH_MAX_ABANDONED) {
        c->abandoned[c->n_abandoned++] = e->connect_id;
      }
    }
    pthread_mutex_unlock(&c->mu);
  }
  nh_fd_forget(fd);
}

int nh_vr_close(int fd, struct nh_fd *e) {
  struct rsock_msg req = {0};
  req.type = RSOCK_CLOSE;
  req.socket = e->sock;
  struct nh_reply r;
  int rc = call(e->conn, &req, -1, RSOCK_OK, &r, NULL);
  int err = errno;
  nh_vr_forget(fd, e);
  nh_sys_close(fd);
  errno = err;
  return rc;
}

/* ---- UDP datagrams (§7.3) ---- */

#define NH_IOV_STACK 16

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Does control message cm, with `need` bytes of data, lie inside msg's control buffer? */
static int cmsg_holds(const struct msghdr *msg, const struct cmsghdr *cm, size_t need) {
  const char *end = (const char *)msg->msg_control + msg->msg_controllen;
  return cm->cmsg_len >= CMSG_LEN(need) && (const char *)CMSG_DATA(cm) + need <= end;
}

/* A datagram header in one form: version 2's, which holds version 1's. */
static size_t dgram_encode(const struct nh_fd *e, const struct rsock_dgram2 *h, uint8_t *out) {
  if (e->dgram_v2) return rsock_dgram2_encode(h, out, RSOCK_DGRAM2_HEADER_LEN);
  /* Version 1 carries IPv4 only; only AF_INET sockets have it. */
  if (h->peer.family == RSOCK_AF_INET6 || h->local.family == RSOCK_AF_INET6) return 0;
  struct rsock_dgram h1 = {0};
  h1.flags = h->flags;
  memcpy(h1.peer, h->peer.addr, 4);
  h1.peer_port = h->peer.port;
  h1.ifindex = h->ifindex;
  memcpy(h1.local, h->local.addr, 4);
  return rsock_dgram_encode(&h1, out, RSOCK_DGRAM_HEADER_LEN);
}

/* Reads the header of a datagram of n bytes (hdr holds its first bytes). 0, or -1 when malformed. */
static int dgram_decode(const struct nh_fd *e, const uint8_t *hdr, size_t n, struct rsock_dgram2 *h) {
  memset(h, 0, sizeof *h);
  if (e->dgram_v2) {
    if (n > RSOCK_DGRAM2_HEADER_LEN) n = RSOCK_DGRAM2_HEADER_LEN;
    return rsock_dgram2_decode(hdr, n, h) == RSOCK_DGRAM2_HEADER_LEN ? 0 : -1;
  }
  if (n > RSOCK_DGRAM_HEADER_LEN) n = RSOCK_DGRAM_HEADER_LEN;
  struct rsock_dgram h1;
  if (rsock_dgram_decode(hdr, n, &h1) != RSOCK_DGRAM_HEADER_LEN) return -1;
  h->flags = h1.flags;
  h->ifindex = h1.ifindex;
  h->peer.family = RSOCK_AF_INET;
  memcpy(h->peer.addr, h1.peer, 4);
  h->peer.port = h1.peer_port;
  h->local.family = RSOCK_AF_INET;
  memcpy(h->local.addr, h1.local, 4);
  return 0;
}

static int all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != 0) return 0;
  return 1;
}

ssize_t nh_vr_sendmsg(int fd, struct nh_fd *e, const struct msghdr *msg, int flags) {
  if (e->shut & NH_SHUT_WR) { /* as Linux's UDP after shutdown(SHUT_WR): no SIGPIPE */
    errno = EPIPE;
    return -1;
  }
  if (msg->msg_iovlen > IOV_MAX) {
    errno = EMSGSIZE;
    return -1;
  }
  if (msg->msg_iovlen > 0 && msg->msg_iov == NULL) {
    errno = EFAULT;
    return -1;
  }
  struct rsock_dgram2 h = {0};
  if (msg->msg_name != NULL && msg->msg_namelen > 0) {
    const struct sockaddr *sa = msg->msg_name;
    if (msg->msg_namelen < (socklen_t)sizeof(sa_family_t) || sa->sa_family != AF_UNSPEC) {
      if (to_ep(e, sa, msg->msg_namelen, EP_SEND, &h.peer) < 0) return -1;
      if (h.peer.port == 0) { /* as Linux: no port, no datagram */
        errno = EINVAL;
        return -1;
      }
    }
  }
  if (msg->msg_control != NULL && msg->msg_controllen >= sizeof(struct cmsghdr)) {
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR((struct msghdr *)msg, cm)) {
      if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO && cmsg_holds(msg, cm, sizeof(struct in_pktinfo))) {
        struct in_pktinfo pi;
        memcpy(&pi, CMSG_DATA(cm), sizeof pi);
        h.flags = RSOCK_DGRAM_PKTINFO;
        h.ifindex = (uint32_t)pi.ipi_ifindex;
        memset(&h.local, 0, sizeof h.local);
        if (!e->dgram_v2 || pi.ipi_spec_dst.s_addr != 0) { /* version 2: AF_UNSPEC = any address */
          h.local.family = RSOCK_AF_INET;
          memcpy(h.local.addr, &pi.ipi_spec_dst, 4);
        }
      } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO && e->dgram_v2 &&
                 cmsg_holds(msg, cm, sizeof(struct in6_pktinfo))) {
        struct in6_pktinfo pi;
        memcpy(&pi, CMSG_DATA(cm), sizeof pi);
        h.flags = RSOCK_DGRAM_PKTINFO;
        h.ifindex = pi.ipi6_ifindex;
        memset(&h.local, 0, sizeof h.local);
        if (!all_zero((const uint8_t *)&pi.ipi6_addr, 16)) {
          h.local.family = RSOCK_AF_INET6;
          memcpy(h.local.addr, &pi.ipi6_addr, 16);
        }
      }
    }
  }
  size_t max = e->family == AF_INET6 ? NH_MAX_PAYLOAD6 : NH_MAX_PAYLOAD;
  size_t total = 0;
  for (size_t i = 0; i < msg->msg_iovlen; i++) {
    if (msg->msg_iov[i].iov_len > max - total) {
      errno = EMSGSIZE;
      return -1;
    }
    total += msg->msg_iov[i].iov_len;
  }
  uint8_t hdr[RSOCK_DGRAM2_HEADER_LEN];
  size_t hlen = dgram_encode(e, &h, hdr);
  if (hlen == 0) {
    errno = EINVAL;
    return -1;
  }
  struct iovec stack_iov[NH_IOV_STACK];
  struct iovec *iov = stack_iov;
  if (msg->msg_iovlen + 1 > NH_IOV_STACK) {
    iov = malloc((msg->msg_iovlen + 1) * sizeof *iov);
    if (iov == NULL) return -1;
  }
  iov[0].iov_base = hdr;
  iov[0].iov_len = hlen;
  for (size_t i = 0; i < msg->msg_iovlen; i++) iov[i + 1] = msg->msg_iov[i];
  struct msghdr out = {0};
  out.msg_iov = iov;
  out.msg_iovlen = msg->msg_iovlen + 1;
  ssize_t n = nh_sys_sendmsg(fd, &out, (flags & (MSG_DONTWAIT | MSG_NOSIGNAL)) | MSG_NOSIGNAL);
  int err = errno;
  if (iov != stack_iov) free(iov);
  errno = err;
  if (n < 0) {
    if (err == EPIPE || err == ECONNRESET) errno = ENETDOWN; /* the VR closed its end */
    return -1;
  }
  return (ssize_t)total;
}

/* Writes the PKTINFO control message of a received datagram for socket e: IP_PKTINFO (AF_INET) or
 * IPV6_PKTINFO (AF_INET6, IPv4 destinations as IPv4-mapped). Returns the space used, 0 when it does
 * not fit (MSG_CTRUNC). */
static size_t put_pktinfo(const struct nh_fd *e, const struct rsock_dgram2 *h, struct msghdr *msg) {
  size_t need = e->family == AF_INET6 ? sizeof(struct in6_pktinfo) : sizeof(struct in_pktinfo);
  if (msg->msg_controllen < CMSG_SPACE(need)) return 0;
  struct cmsghdr *cm = (struct cmsghdr *)msg->msg_control;
  if (e->family == AF_INET6) {
    struct in6_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    pi.ipi6_ifindex = h->ifindex;
    if (h->local.family == RSOCK_AF_INET6) {
      memcpy(&pi.ipi6_addr, h->local.addr, 16);
    } else if (h->local.family == RSOCK_AF_INET) {
      memcpy(&pi.ipi6_addr, v4_mapped, 12);
      memcpy((uint8_t *)&pi.ipi6_addr + 12, h->local.addr, 4);
    }
    cm->cmsg_level = IPPROTO_IPV6;
    cm->cmsg_type = IPV6_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof pi);
    memcpy(CMSG_DATA(cm), &pi, sizeof pi);
  } else {
    struct in_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    pi.ipi_ifindex = (int)h->ifindex;
    if (h->local.family == RSOCK_AF_INET) {
      memcpy(&pi.ipi_spec_dst, h->local.addr, 4);
      memcpy(&pi.ipi_addr, h->local.addr, 4);
    }
    cm->cmsg_level = IPPROTO_IP;
    cm->cmsg_type = IP_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof pi);
    memcpy(CMSG_DATA(cm), &pi, sizeof pi);
  }
  return CMSG_SPACE(need);
}

ssize_t nh_vr_recvmsg(int fd, struct nh_fd *e, struct msghdr *msg, int flags) {
  if (msg->msg_iovlen > IOV_MAX) {
    errno = EMSGSIZE;
    return -1;
  }
  if (msg->msg_iovlen > 0 && msg->msg_iov == NULL) {
    errno = EFAULT;
    return -1;
  }
  size_t hlen = e->dgram_v2 ? RSOCK_DGRAM2_HEADER_LEN : RSOCK_DGRAM_HEADER_LEN;
  uint8_t hdr[RSOCK_DGRAM2_HEADER_LEN];
  struct iovec stack_iov[NH_IOV_STACK];
  struct iovec *iov = stack_iov;
  if (msg->msg_iovlen + 1 > NH_IOV_STACK) {
    iov = malloc((msg->msg_iovlen + 1) * sizeof *iov);
    if (iov == NULL) return -1;
  }
  iov[0].iov_base = hdr;
  iov[0].iov_len = hlen;
  size_t cap = 0;
  for (size_t i = 0; i < msg->msg_iovlen; i++) {
    iov[i + 1] = msg->msg_iov[i];
    cap += msg->msg_iov[i].iov_len;
  }
  ssize_t n;
  struct rsock_dgram2 h;
  /* After shutdown(SHUT_RD) a receive that would wait returns 0 (Linux's UDP). */
  int shut_rd = (e->shut & NH_SHUT_RD) && !(flags & MSG_DONTWAIT) && !is_nonblocking(fd);
  for (;;) {
    struct msghdr in = {0};
    in.msg_iov = iov;
    in.msg_iovlen = msg->msg_iovlen + 1;
    n = nh_sys_recvmsg(fd, &in, (flags & (MSG_DONTWAIT | MSG_PEEK | MSG_WAITALL)) | MSG_TRUNC | (shut_rd ? MSG_DONTWAIT : 0));
    if (n < 0 && shut_rd && errno == EAGAIN) {
      if (iov != stack_iov) free(iov);
      msg->msg_flags = 0;
      msg->msg_controllen = 0;
      return 0;
    }
    if (n < 0) break;
    if (n == 0 && !(in.msg_flags & MSG_TRUNC)) break; /* the VR closed its end: EOF */
    if (dgram_decode(e, hdr, (size_t)n, &h) < 0) {
      if (flags & MSG_PEEK) { /* drop the bad one so the next peek sees the next datagram */
        struct msghdr drop = {0};
        nh_sys_recvmsg(fd, &drop, MSG_DONTWAIT);
      }
      continue; /* the VR validates; never expected */
    }
    break;
  }
  int err = errno;
  if (iov != stack_iov) free(iov);
  if (n <= 0) {
    errno = err;
    return n;
  }
  size_t payload = (size_t)n - hlen;
  msg->msg_flags = payload > cap ? MSG_TRUNC : 0;
  if (msg->msg_name != NULL) {
    socklen_t l = msg->msg_namelen;
    from_ep(&h.peer, e->family, msg->msg_name, &l);
    msg->msg_namelen = l;
  }
  size_t used = 0;
  if (e->pktinfo && (h.flags & RSOCK_DGRAM_PKTINFO) && msg->msg_control != NULL) {
    used = put_pktinfo(e, &h, msg);
    if (used == 0) msg->msg_flags |= MSG_CTRUNC;
  }
  msg->msg_controllen = used;
  if (flags & MSG_TRUNC) return (ssize_t)payload;
  return (ssize_t)(payload > cap ? cap : payload);
}
