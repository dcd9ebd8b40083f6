// Request/response and connection-rate tool of bench/exec.ts, the same binary on both paths (run
// under `nexthop exec` for the VR, plain for the kernel). Plain BSD socket calls only, so the
// LD_PRELOAD shim sees what any unmodified program would do.
//
//   rr serve PORT                 TCP echo (any number of connections, poll) and UDP echo on PORT
//   rr tcp-rr HOST PORT N SIZE    one connection, TCP_NODELAY, N round trips of SIZE bytes
//   rr udp-rr HOST PORT N SIZE    N datagrams of SIZE bytes, each answered before the next
//   rr tcp-crr HOST PORT N        N times: connect, 1 byte each way, close (netperf's TCP_CRR)
//
// Clients print one JSON line. Latencies are per round trip (CLOCK_MONOTONIC around write..read);
// a fixed warm-up of WARMUP round trips is not counted. A UDP datagram not answered within 1 s is
// counted as lost (its sequence number in the payload keeps late answers apart).
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 200
#define MAX_SIZE 65536
#define MAX_CONNS 256
#define MAX_LOST 100

static _Noreturn void die(const char *what) {
  fprintf(stderr, "rr: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct sockaddr_in address(const char *host, int port) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    fprintf(stderr, "rr: bad IPv4 address %s\n", host);
    exit(2);
  }
  return sa;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void print_latencies(const char *mode, double *us, long n, long lost, double elapsed,
                           const char *extra) {
  qsort(us, (size_t)n, sizeof *us, cmp_double);
  double sum = 0;
  for (long i = 0; i < n; i++) sum += us[i];
  printf("{%s\"mode\":\"%s\",\"count\":%ld,\"lost\":%ld,\"seconds\":%.6f,\"min_us\":%.2f,\"median_us\":%.2f,"
         "\"p90_us\":%.2f,\"p99_us\":%.2f,\"max_us\":%.2f,\"mean_us\":%.2f}\n",
         extra, mode, n, lost, elapsed, n ? us[0] : 0, n ? us[n / 2] : 0, n ? us[(n * 90) / 100] : 0,
         n ? us[(n * 99) / 100] : 0, n ? us[n - 1] : 0, n ? sum / (double)n : 0);
}

static int read_full(int fd, char *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t r = read(fd, buf + got, len - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

static int write_full(int fd, const char *buf, size_t len) {
  size_t put = 0;
  while (put < len) {
    ssize_t w = write(fd, buf + put, len - put);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    put += (size_t)w;
  }
  return 0;
}

static _Noreturn void serve(int port) {
  struct sockaddr_in any = address("0.0.0.0", port);
  int one = 1;
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  if (ls < 0) die("socket");
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(ls, (struct sockaddr *)&any, sizeof any) < 0) die("bind tcp");
  if (listen(ls, 1024) < 0) die("listen");
  int us = socket(AF_INET, SOCK_DGRAM, 0);
  if (us < 0) die("socket udp");
  if (bind(us, (struct sockaddr *)&any, sizeof any) < 0) die("bind udp");
  printf("ready\n");
  fflush(stdout);
  struct pollfd fds[MAX_CONNS + 2];
  int nconn = 0;
  static char buf[MAX_SIZE];
  for (;;) {
    fds[0] = (struct pollfd){.fd = ls, .events = POLLIN};
    fds[1] = (struct pollfd){.fd = us, .events = POLLIN};
    int n = 2 + nconn;
    if (poll(fds, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (fds[1].revents & POLLIN) {
      struct sockaddr_in peer;
      socklen_t plen = sizeof peer;
      ssize_t r = recvfrom(us, buf, sizeof buf, 0, (struct sockaddr *)&peer, &plen);
      if (r >= 0) sendto(us, buf, (size_t)r, 0, (struct sockaddr *)&peer, plen);
    }
    // Connections: echo what arrives; close on EOF or error (compacting the list).
    for (int i = 2; i < n; i++) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t r = read(fds[i].fd, buf, sizeof buf);
      if (r > 0 && write_full(fds[i].fd, buf, (size_t)r) == 0) continue;
      close(fds[i].fd);
      fds[i].fd = -1;
    }
    int k = 2;
    for (int i = 2; i < n; i++)
      if (fds[i].fd >= 0) fds[k++] = fds[i];
    nconn = k - 2;
    if ((fds[0].revents & POLLIN) && nconn < MAX_CONNS) {
      int c = accept(ls, NULL, NULL);
      if (c >= 0) {
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fds[2 + nconn] = (struct pollfd){.fd = c, .events = POLLIN};
        nconn++;
      }
    }
  }
}

static int tcp_rr(const char *host, int port, long n, size_t size) {
  struct sockaddr_in sa = address(host, port);
  int one = 1;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  static char buf[MAX_SIZE];
  memset(buf, 0x5a, size);
  double *us = calloc((size_t)n, sizeof *us);
  double start = 0;
  for (long i = -WARMUP; i < n; i++) {
    if (i == 0) start = now_s();
    double t0 = now_s();
    if (write_full(fd, buf, size) < 0) die("write");
    if (read_full(fd, buf, size) < 0) die("read");
    if (i >= 0) us[i] = (now_s() - t0) * 1e6;
  }
  double elapsed = now_s() - start;
  close(fd);
  print_latencies("tcp-rr", us, n, 0, elapsed, "");
  return 0;
}

static int udp_rr(const char *host, int port, long n, size_t size) {
  struct sockaddr_in sa = address(host, port);
  if (size < sizeof(uint32_t)) size = sizeof(uint32_t);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket");
  static char buf[MAX_SIZE], in[MAX_SIZE];
  memset(buf, 0x5a, size);
  double *us = calloc((size_t)n, sizeof *us);
  long got = 0, lost = 0;
  double start = 0;
  // Bounded: a path that loses most datagrams ends the run instead of waiting 1 s for each.
  for (long i = -WARMUP; i < n && lost <= MAX_LOST; i++) {
    if (i == 0) start = now_s();
    uint32_t seq = (uint32_t)(i + WARMUP);
    memcpy(buf, &seq, sizeof seq);
    double t0 = now_s();
    if (sendto(fd, buf, size, 0, (struct sockaddr *)&sa, sizeof sa) < 0) die("sendto");
    for (;;) {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      int left_ms = (int)(1000 - (now_s() - t0) * 1000);
      int r = left_ms > 0 ? poll(&p, 1, left_ms) : 0;
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) die("poll");
      if (r == 0) {
        if (i >= 0) lost++;
        break;
      }
      ssize_t len = recvfrom(fd, in, sizeof in, 0, NULL, NULL);
      if (len < 0) die("recvfrom");
      uint32_t back;
      memcpy(&back, in, sizeof back);
      if ((size_t)len != size || back != seq) continue; // a late answer to an earlier datagram
      if (i >= 0) us[got++] = (now_s() - t0) * 1e6;
      break;
    }
  }
  double elapsed = now_s() - start;
  close(fd);
  print_latencies("udp-rr", us, got, lost, elapsed, "");
  return 0;
}

static int tcp_crr(const char *host, int port, long n) {
  struct sockaddr_in sa = address(host, port);
  double *us = calloc((size_t)n, sizeof *us);
  char byte = 'x';
  double start = 0;
  for (long i = -WARMUP / 4; i < n; i++) {
    if (i == 0) start = now_s();
    double t0 = now_s();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
    if (write_full(fd, &byte, 1) < 0) die("write");
    if (read_full(fd, &byte, 1) < 0) die("read");
    if (close(fd) < 0) die("close");
    if (i >= 0) us[i] = (now_s() - t0) * 1e6;
  }
  double elapsed = now_s() - start;
  char extra[64];
  snprintf(extra, sizeof extra, "\"connections_per_s\":%.1f,", (double)n / elapsed);
  print_latencies("tcp-crr", us, n, 0, elapsed, extra);
  return 0;
}

static size_t size_arg(const char *s) {
  long v = atol(s);
  if (v < 1 || v > MAX_SIZE) {
    fprintf(stderr, "rr: size must be 1..%d\n", MAX_SIZE);
    exit(2);
  }
  return (size_t)v;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 3 && strcmp(argv[1], "serve") == 0) serve(atoi(argv[2]));
  if (argc == 6 && strcmp(argv[1], "tcp-rr") == 0)
    return tcp_rr(argv[2], atoi(argv[3]), atol(argv[4]), size_arg(argv[5]));
  if (argc == 6 && strcmp(argv[1], "udp-rr") == 0)
    return udp_rr(argv[2], atoi(argv[3]), atol(argv[4]), size_arg(argv[5]));
  if (argc == 5 && strcmp(argv[1], "tcp-crr") == 0) return tcp_crr(argv[2], atoi(argv[3]), atol(argv[4]));
  fprintf(stderr, "usage: rr serve PORT | tcp-rr|udp-rr HOST PORT N SIZE | tcp-crr HOST PORT N\n");
  return 2;
}
