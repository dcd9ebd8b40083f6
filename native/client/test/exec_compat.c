/* The kernel's socket semantics that programs depend on, checked the same way on kernel sockets and,
 * under `nexthop exec`, on VR sockets (tests/integration/exec-compat.test.ts runs it both ways and
 * wants the same output line for line). Each line names what was done and what came back, with
 * errno names and poll bits spelled out; addresses, which differ by design (h1's own or the VR's),
 * are only compared with each other.
 *
 * Usage: exec_compat <server> <blackhole> <open-port> <closed-port> <udp-echo-port> <half-close-port>
 *   server: h2, with a TCP listener on open-port that accepts and holds, nothing on closed-port, a
 *           UDP echo on udp-echo-port ("<source-ip> <payload>", 300 ms late for payloads starting
 *           "delay:") and on half-close-port a TCP server that reads to end of stream, then answers
 *           "got <n>" and closes;
 *   blackhole: an address on h2's link that nobody answers (the SYN waits for ARP). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond)                                                                                       \
  do {                                                                                                    \
    if (!(cond)) {                                                                                        \
      fprintf(stderr, "exec_compat: %s:%d: %s failed (errno %d %s)\n", __FILE__, __LINE__, #cond, errno, \
              strerror(errno));                                                                           \
      exit(1);                                                                                            \
    }                                                                                                     \
  } while (0)

static struct sockaddr_in server_addr(const char *ip, int port) {
  struct sockaddr_in s = {0};
  s.sin_family = AF_INET;
  s.sin_port = htons((uint16_t)port);
  CHECK(inet_pton(AF_INET, ip, &s.sin_addr) == 1);
  return s;
}

/* "0" or the call's errno name. */
static const char *outcome(int rc) {
  if (rc >= 0) return "0";
  const char *name = strerrorname_np(errno);
  return name != NULL ? name : "E?";
}

static const char *poll_bits(short ev) {
  static char buf[96];
  buf[0] = '\0';
  static const struct {
    short bit;
    const char *name;
  } bits[] = {{POLLIN, "IN"}, {POLLOUT, "OUT"}, {POLLERR, "ERR"}, {POLLHUP, "HUP"}, {POLLRDHUP, "RDHUP"}};
  for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
    if (!(ev & bits[i].bit)) continue;
    if (buf[0] != '\0') strcat(buf, "|");
    strcat(buf, bits[i].name);
  }
  return buf[0] != '\0' ? buf : "0";
}

static short revents(int fd, int ms) {
  struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
  CHECK(poll(&p, 1, ms) >= 0);
  return p.revents;
}

static int select_writable(int fd, int ms) {
  fd_set w;
  FD_ZERO(&w);
  FD_SET(fd, &w);
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  CHECK(select(fd + 1, NULL, &w, NULL, &tv) >= 0);
  return FD_ISSET(fd, &w);
}

/* EPOLLOUT reported within ms? */
static int epoll_out(int ep, int ms) {
  struct epoll_event ev;
  int n = epoll_wait(ep, &ev, 1, ms);
  CHECK(n >= 0);
  return n == 1 && (ev.events & EPOLLOUT) != 0;
}

static int epoll_for(int fd, int edge) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  CHECK(ep >= 0);
  struct epoll_event ev = {.events = EPOLLOUT | (edge ? EPOLLET : 0), .data.fd = fd};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
  return ep;
}

static const char *so_error(int fd) {
  int err = -1;
  socklen_t len = sizeof err;
  CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
  if (err == 0) return "0";
  errno = err;
  return outcome(-1);
}

static int nb_socket(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  CHECK(fd >= 0);
  return fd;
}

static const char *try_connect(int fd, const struct sockaddr_in *to) {
  return outcome(connect(fd, (const struct sockaddr *)to, sizeof *to));
}

/* A handshake nobody answers: never writable, SO_ERROR 0, connect again EALREADY, write EAGAIN. */
static void pending(const struct sockaddr_in *hole) {
  int fd = nb_socket();
  printf("pending: connect %s\n", try_connect(fd, hole));
  int lt = epoll_for(fd, 0), et = epoll_for(fd, 1);
  for (int round = 0; round < 2; round++) {
    printf("pending: poll %s epoll-lt %d epoll-et %d select %d", poll_bits(revents(fd, 100)), epoll_out(lt, 100),
           epoll_out(et, 0), select_writable(fd, 100));
    printf(" so_error %s connect %s write %s\n", so_error(fd), try_connect(fd, hole),
           outcome((int)send(fd, "x", 1, MSG_NOSIGNAL)));
  }
  close(lt);
  close(et);
  close(fd);
}

/* Established: writable to all of them at once, connect says 0 then EISCONN. */
static void established(const struct sockaddr_in *open) {
  int fd = nb_socket();
  printf("established: connect %s\n", try_connect(fd, open));
  int lt = epoll_for(fd, 0), et = epoll_for(fd, 1);
  int edge = epoll_out(et, 5000);
  struct sockaddr_in peer;
  socklen_t len = sizeof peer;
  int named = getpeername(fd, (struct sockaddr *)&peer, &len) == 0 && peer.sin_port == open->sin_port;
  printf("established: epoll-et %d getpeername %d poll %s epoll-lt %d select %d so_error %s\n", edge, named,
         poll_bits(revents(fd, 0)), epoll_out(lt, 0), select_writable(fd, 0), so_error(fd));
  printf("established: connect %s", try_connect(fd, open));
  printf(" connect %s\n", try_connect(fd, open));
  CHECK(send(fd, "hello", 5, MSG_NOSIGNAL) == 5);
  close(lt);
  close(et);
  close(fd);
}

/* Refused: writable and failed at once; the error is reported once, by whichever call comes first. */
static void refused(const struct sockaddr_in *closed) {
  static const char *first[] = {"so_error", "connect", "read", "write"};
  for (int v = 0; v < 4; v++) {
    int fd = nb_socket();
    const char *c = try_connect(fd, closed);
    int et = epoll_for(fd, 1);
    struct epoll_event ev;
    int edge = epoll_wait(et, &ev, 1, 5000);
    /* The VR's end changes in two steps (writable, then closed) where the kernel's in one: wait
     * for both. */
    struct pollfd p = {fd, 0, 0};
    CHECK(poll(&p, 1, 5000) == 1);
    printf("refused/%s: connect %s epoll-et %d select %d poll %s", first[v], c, edge, select_writable(fd, 0),
           poll_bits(revents(fd, 0)));
    char b;
    const char *got = v == 0   ? so_error(fd)
                      : v == 1 ? try_connect(fd, closed)
                      : v == 2 ? outcome((int)read(fd, &b, 1))
                               : outcome((int)send(fd, "x", 1, MSG_NOSIGNAL));
    printf(" %s %s then so_error %s", first[v], got, so_error(fd));
    if (v == 0) printf(" connect %s", try_connect(fd, closed));
    printf("\n");
    close(et);
    close(fd);
  }
}

/* ---- UDP ---- */

static int udp_socket(const struct sockaddr_in *to) {
  int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  CHECK(u >= 0);
  struct timeval tv = {3, 0};
  CHECK(setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
  if (to != NULL) CHECK(connect(u, (const struct sockaddr *)to, sizeof *to) == 0);
  return u;
}

/* The echo starts with the source address it saw: is that our own (kernel: h1's, VR: the VR's)? */
static const char *strip_source(int u, char *reply, ssize_t n, int *own) {
  CHECK(n > 0);
  reply[n] = '\0';
  char *space = strchr(reply, ' ');
  CHECK(space != NULL);
  *space = '\0';
  struct sockaddr_in me;
  socklen_t len = sizeof me;
  CHECK(getsockname(u, (struct sockaddr *)&me, &len) == 0);
  char mine[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &me.sin_addr, mine, sizeof mine);
  *own = strcmp(reply, mine) == 0 || me.sin_addr.s_addr == 0;
  return space + 1;
}

static void udp_vectors(const struct sockaddr_in *echo) {
  int u = udp_socket(echo);
  struct iovec w[3] = {{"ab", 2}, {"", 0}, {"cde", 3}};
  printf("udp: writev %zd\n", writev(u, w, 3));
  char head[5], rest[64];
  struct iovec r[2] = {{head, sizeof head}, {rest, sizeof rest - 1}};
  ssize_t n = readv(u, r, 2);
  CHECK(n > 5);
  char all[80];
  memcpy(all, head, 5);
  memcpy(all + 5, rest, (size_t)n - 5);
  int own;
  const char *payload = strip_source(u, all, n, &own);
  printf("udp: readv '%s' from-us %d\n", payload, own);

  /* sendmmsg, then recvmmsg (MSG_WAITFORONE) until the three answers are in. */
  struct mmsghdr mm[4];
  struct iovec mi[4];
  char msgs[3][8] = {"one", "two", "three"};
  memset(mm, 0, sizeof mm);
  for (int i = 0; i < 3; i++) {
    mi[i] = (struct iovec){msgs[i], strlen(msgs[i])};
    mm[i].msg_hdr.msg_iov = &mi[i];
    mm[i].msg_hdr.msg_iovlen = 1;
  }
  int sent = sendmmsg(u, mm, 3, 0);
  printf("udp: sendmmsg %d lengths %u %u %u\n", sent, mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
  char in[4][64];
  char seen[3][64];
  int got = 0;
  while (got < 3) {
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 4; i++) {
      mi[i] = (struct iovec){in[i], sizeof in[i] - 1};
      mm[i].msg_hdr.msg_iov = &mi[i];
      mm[i].msg_hdr.msg_iovlen = 1;
    }
    int k = recvmmsg(u, mm, 4, MSG_WAITFORONE, NULL);
    CHECK(k >= 1 && got + k <= 3);
    for (int i = 0; i < k; i++) {
      const char *p = strip_source(u, in[i], mm[i].msg_len, &own);
      snprintf(seen[got + i], sizeof seen[0], "%s", p);
    }
    got += k;
  }
  printf("udp: recvmmsg '%s' '%s' '%s'\n", seen[0], seen[1], seen[2]);
  close(u);
}

static void udp_pktinfo(const struct sockaddr_in *echo) {
  int u = udp_socket(NULL);
  int one = 1;
  CHECK(setsockopt(u, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) == 0);
  union {
    struct cmsghdr h;
    char b[256];
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct msghdr mh = {0};
  struct iovec two[2] = {{"pkt", 3}, {"info", 4}};
  mh.msg_name = (void *)echo;
  mh.msg_namelen = sizeof *echo;
  mh.msg_iov = two;
  mh.msg_iovlen = 2;
  mh.msg_control = ctl.b;
  mh.msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = IPPROTO_IP;
  cm->cmsg_type = IP_PKTINFO;
  cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo)); /* any interface, any source: the routing's */
  printf("udp: sendmsg %zd\n", sendmsg(u, &mh, 0));
  char a[4], b[64];
  struct sockaddr_in from;
  struct iovec rv[2] = {{a, sizeof a}, {b, sizeof b - 1}};
  memset(&mh, 0, sizeof mh);
  memset(&ctl, 0, sizeof ctl);
  mh.msg_name = &from;
  mh.msg_namelen = sizeof from;
  mh.msg_iov = rv;
  mh.msg_iovlen = 2;
  mh.msg_control = ctl.b;
  mh.msg_controllen = sizeof ctl.b;
  ssize_t n = recvmsg(u, &mh, 0);
  CHECK(n > (ssize_t)sizeof a);
  char all[80];
  memcpy(all, a, sizeof a);
  memcpy(all + sizeof a, b, (size_t)n - sizeof a);
  all[n] = '\0';
  /* Our source as the echo saw it, against IP_PKTINFO's destination address. */
  char *space = strchr(all, ' ');
  CHECK(space != NULL);
  *space = '\0';
  struct in_pktinfo pi = {0};
  int found = 0;
  for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
    if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
      memcpy(&pi, CMSG_DATA(cm), sizeof pi);
      found = 1;
    }
  }
  char dst[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &pi.ipi_addr, dst, sizeof dst);
  printf("udp: recvmsg '%s' from-echo %d pktinfo %d ifindex>0 %d to-us %d flags %d\n", space + 1,
         from.sin_port == echo->sin_port && from.sin_addr.s_addr == echo->sin_addr.s_addr, found, pi.ipi_ifindex > 0,
         strcmp(dst, all) == 0, mh.msg_flags);
  close(u);
}

/* Linux: shutdown never ends a UDP socket's reception. */
static void udp_shutdown(const struct sockaddr_in *echo) {
  char buf[128];
  int u = udp_socket(echo);
  CHECK(send(u, "delay:a", 7, 0) == 7);
  printf("udp-shutdown: SHUT_WR %s", outcome(shutdown(u, SHUT_WR)));
  printf(" send %s", outcome((int)send(u, "x", 1, 0)));
  ssize_t n = recv(u, buf, sizeof buf - 1, 0);
  int own;
  printf(" recv '%s'", n > 0 ? strip_source(u, buf, n, &own) : outcome((int)n));
  printf(" SHUT_RD %s", outcome(shutdown(u, SHUT_RD)));
  printf(" recv-nonblocking %s", outcome((int)recv(u, buf, sizeof buf, MSG_DONTWAIT)));
  printf(" recv %zd\n", recv(u, buf, sizeof buf, 0));
  close(u);
  /* Unconnected: ENOTCONN, and in force all the same. */
  u = udp_socket(NULL);
  CHECK(sendto(u, "delay:b", 7, 0, (const struct sockaddr *)echo, sizeof *echo) == 7);
  printf("udp-shutdown: unconnected SHUT_RDWR %s", outcome(shutdown(u, SHUT_RDWR)));
  usleep(700 * 1000);
  n = recv(u, buf, sizeof buf - 1, MSG_DONTWAIT);
  printf(" recv '%s'", n > 0 ? strip_source(u, buf, n, &own) : outcome((int)n));
  printf(" sendto %s\n", outcome((int)sendto(u, "x", 1, 0, (const struct sockaddr *)echo, sizeof *echo)));
  close(u);
}

/* TCP half-close: our FIN after our bytes, and the answer still comes in. */
static void half_close(const struct sockaddr_in *server) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(fd >= 0);
  CHECK(connect(fd, (const struct sockaddr *)server, sizeof *server) == 0);
  CHECK(send(fd, "hello", 5, MSG_NOSIGNAL) == 5);
  printf("half-close: SHUT_WR %s", outcome(shutdown(fd, SHUT_WR)));
  printf(" send %s", outcome((int)send(fd, "x", 1, MSG_NOSIGNAL)));
  char buf[64];
  size_t got = 0;
  for (;;) {
    ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
    CHECK(n >= 0);
    if (n == 0) break;
    got += (size_t)n;
  }
  buf[got] = '\0';
  printf(" read '%s' then end of stream\n", buf);
  close(fd);
  /* shutdown of a socket never connected: ENOTCONN (bound first, which takes it to the VR). */
  fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in any = {0};
  any.sin_family = AF_INET;
  CHECK(bind(fd, (struct sockaddr *)&any, sizeof any) == 0);
  printf("half-close: unconnected SHUT_WR %s", outcome(shutdown(fd, SHUT_WR)));
  printf(" SHUT_RD %s", outcome(shutdown(fd, SHUT_RD)));
  printf(" bad-how %s\n", outcome(shutdown(fd, 9)));
  close(fd);
}

int main(int argc, char **argv) {
  CHECK(argc == 7);
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sockaddr_in hole = server_addr(argv[2], atoi(argv[3]));
  struct sockaddr_in open = server_addr(argv[1], atoi(argv[3]));
  struct sockaddr_in closed = server_addr(argv[1], atoi(argv[4]));
  struct sockaddr_in echo = server_addr(argv[1], atoi(argv[5]));
  struct sockaddr_in half = server_addr(argv[1], atoi(argv[6]));
  pending(&hole);
  established(&open);
  refused(&closed);
  udp_vectors(&echo);
  udp_pktinfo(&echo);
  udp_shutdown(&echo);
  half_close(&half);
  printf("done\n");
  return 0;
}
