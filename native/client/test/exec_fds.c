/* Run under `nexthop exec`: an ordinary program that connects to a TCP echo server and then uses
 * the descriptor with poll, epoll, select, dup and fork, none of which the shim hooks. Prints "ok"
 * and exits 0 when every echo came back. Usage: exec_fds <ip> <port> */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(cond)                                                                                    \
  do {                                                                                                 \
    if (!(cond)) {                                                                                     \
      fprintf(stderr, "exec_fds: %s:%d: %s failed (errno %d %s)\n", __FILE__, __LINE__, #cond, errno, \
              strerror(errno));                                                                        \
      exit(1);                                                                                         \
    }                                                                                                  \
  } while (0)

/* Reads exactly n bytes, waiting with poll. */
static void read_all(int fd, char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    struct pollfd p = {fd, POLLIN, 0};
    CHECK(poll(&p, 1, 10000) == 1);
    ssize_t r = read(fd, buf + got, n - got);
    CHECK(r > 0);
    got += (size_t)r;
  }
}

int main(int argc, char **argv) {
  CHECK(argc == 3);
  struct sockaddr_in to = {0};
  to.sin_family = AF_INET;
  to.sin_port = htons((uint16_t)atoi(argv[2]));
  CHECK(inet_pton(AF_INET, argv[1], &to.sin_addr) == 1);

  /* Non-blocking connect, completion seen through poll + SO_ERROR. */
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK(fd >= 0);
  int rc = connect(fd, (struct sockaddr *)&to, sizeof to);
  CHECK(rc == 0 || errno == EINPROGRESS);
  struct pollfd p = {fd, POLLOUT, 0};
  CHECK(poll(&p, 1, 10000) == 1);
  int err = -1;
  socklen_t len = sizeof err;
  CHECK(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0);
  struct sockaddr_in me;
  len = sizeof me;
  CHECK(getsockname(fd, (struct sockaddr *)&me, &len) == 0);
  char addr[32];
  inet_ntop(AF_INET, &me.sin_addr, addr, sizeof addr);
  printf("local %s\n", addr);

  /* epoll */
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
  CHECK(write(fd, "epoll\n", 6) == 6);
  struct epoll_event out;
  CHECK(epoll_wait(ep, &out, 1, 10000) == 1 && out.data.fd == fd);
  char buf[64];
  read_all(fd, buf, 6);
  CHECK(memcmp(buf, "epoll\n", 6) == 0);
  close(ep);

  /* select */
  CHECK(write(fd, "select\n", 7) == 7);
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(fd, &rd);
  struct timeval tv = {10, 0};
  CHECK(select(fd + 1, &rd, NULL, NULL, &tv) == 1 && FD_ISSET(fd, &rd));
  read_all(fd, buf, 7);
  CHECK(memcmp(buf, "select\n", 7) == 0);

  /* dup: the copy is the same socket; getpeername on it works too */
  int copy = dup(fd);
  CHECK(copy >= 0);
  CHECK(write(copy, "dup\n", 4) == 4);
  read_all(fd, buf, 4);
  CHECK(memcmp(buf, "dup\n", 4) == 0);
  struct sockaddr_in peer;
  len = sizeof peer;
  CHECK(getpeername(copy, (struct sockaddr *)&peer, &len) == 0 && peer.sin_port == to.sin_port);
  close(copy);

  /* fork: the child writes through the inherited descriptor and asks for the peer (its own
   * control connection); the parent reads the echo. The parent's close does not end the socket. */
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    struct sockaddr_in cp;
    socklen_t cl = sizeof cp;
    if (getpeername(fd, (struct sockaddr *)&cp, &cl) != 0 || cp.sin_port != to.sin_port) _exit(2);
    _exit(write(fd, "fork\n", 5) == 5 ? 0 : 3);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  read_all(fd, buf, 5);
  CHECK(memcmp(buf, "fork\n", 5) == 0);

  /* blocking again, fcntl untouched by the shim */
  CHECK(fcntl(fd, F_SETFL, 0) == 0);
  CHECK(write(fd, "block\n", 6) == 6);
  size_t got = 0;
  while (got < 6) {
    ssize_t r = read(fd, buf + got, 6 - got);
    CHECK(r > 0);
    got += (size_t)r;
  }
  CHECK(memcmp(buf, "block\n", 6) == 0);
  CHECK(shutdown(fd, SHUT_WR) == 0);
  CHECK(read(fd, buf, sizeof buf) == 0); /* the echo server closes after our FIN */
  close(fd);
  printf("ok\n");
  return 0;
}
