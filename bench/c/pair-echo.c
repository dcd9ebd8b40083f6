// Calibration for bench/pair-echo.ts: what one wakeup, one read and one write on a Unix socketpair
// cost on this machine, which is the floor under every round trip the VR relays.
//
//   pair-echo client N    on fd 3: N times write 64 bytes, read them back (blocking); prints µs per
//                         round trip
//   pair-echo echo        on fd 3: epoll_wait, recv (non-blocking) what is there, write it back; the
//                         relay's pattern in C, for comparison with the same loop in Node
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { FD = 3, SIZE = 64 };

static int client(long n) {
  char buf[SIZE];
  memset(buf, 'p', sizeof buf);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < n; i++) {
    if (write(FD, buf, SIZE) != SIZE) return 1;
    for (int got = 0; got < SIZE;) {
      ssize_t r = read(FD, buf + got, (size_t)(SIZE - got));
      if (r <= 0) return 2;
      got += (int)r;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3;
  printf("{\"us_per_round_trip\": %.2f}\n", us / (double)n);
  return 0;
}

static int echo(void) {
  static char buf[65536];
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = FD};
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, FD, &ev) != 0) return 1;
  for (;;) {
    struct epoll_event out[1];
    if (epoll_wait(ep, out, 1, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    ssize_t r = recv(FD, buf, sizeof buf, MSG_DONTWAIT);
    if (r == 0) return 0;
    if (r > 0 && write(FD, buf, (size_t)r) != r) return 1;
  }
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "client") == 0) return client(atol(argv[2]));
  if (argc == 2 && strcmp(argv[1], "echo") == 0) return echo();
  fprintf(stderr, "usage: pair-echo client N | pair-echo echo\n");
  return 2;
}
