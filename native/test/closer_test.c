/*
 * The closer threads (src/closer.c), under ASan/UBSan and TSan: descriptors handed over are closed,
 * their tags reported; a close that blocks (a TCP socket with SO_LINGER and unsent data, socket(7))
 * holds neither the submitter nor the other descriptors; a full queue keeps the descriptor open and
 * says so instead of waiting.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../src/closer.h"

static int failures;
#define CHECK(cond)                                                       \
  do {                                                                    \
    if (!(cond)) {                                                        \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                         \
    }                                                                     \
  } while (0)

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static atomic_uint tag_sum;
static atomic_uint tag_count;

static void on_closed(uint32_t tag, void *ctx) {
  (void)ctx;
  atomic_fetch_add(&tag_sum, tag);
  atomic_fetch_add(&tag_count, 1);
}

static int is_open(int fd) { return fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

/* Waits until `closed` reaches want (or timeout_ms passes); the count then. */
static uint64_t wait_closed(uint64_t want, int timeout_ms) {
  double end = now_ms() + timeout_ms;
  nh_closer_stats st;
  for (;;) {
    nh_closer_get_stats(&st);
    if (st.closed >= want || now_ms() > end) return st.closed;
    sleep_ms(2);
  }
}

/* A kernel TCP socket whose last close blocks for `linger` seconds: connected to a listener that never
 * accepts, filled until the window shuts, SO_LINGER {1, linger}. */
static int lingering(int listener, int linger) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  getsockname(listener, (struct sockaddr *)&sa, &len);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) return -1;
  fcntl(s, F_SETFL, O_NONBLOCK);
  char buf[4096];
  memset(buf, 'x', sizeof buf);
  while (send(s, buf, sizeof buf, MSG_NOSIGNAL) > 0) {
  }
  struct linger l = {.l_onoff = 1, .l_linger = linger};
  setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  return s;
}

int main(void) {
  nh_closer_set_notify(on_closed, NULL);

  /* Plain descriptors: all closed, every tag reported once. */
  int fds[200];
  unsigned want_sum = 0;
  for (int i = 0; i < 200; i++) {
    int p[2];
    CHECK(pipe(p) == 0);
    close(p[1]);
    fds[i] = p[0];
    CHECK(nh_closer_submit(p[0], (uint32_t)(i + 1)) == 1);
    want_sum += (unsigned)(i + 1);
  }
  CHECK(wait_closed(200, 5000) == 200);
  for (int i = 0; i < 200; i++) CHECK(!is_open(fds[i]));
  double end = now_ms() + 2000;
  while (atomic_load(&tag_count) < 200 && now_ms() < end) sleep_ms(2);
  CHECK(atomic_load(&tag_count) == 200);
  CHECK(atomic_load(&tag_sum) == want_sum);

  /* A close that blocks for a second: the submitter returns at once, other descriptors go on. */
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK(bind(listener, (struct sockaddr *)&sa, sizeof sa) == 0);
  CHECK(listen(listener, 64) == 0);
  int stuck[NH_CLOSER_THREADS];
  for (int i = 0; i < NH_CLOSER_THREADS; i++) {
    stuck[i] = lingering(listener, 1);
    CHECK(stuck[i] >= 0);
  }
  double t0 = now_ms();
  CHECK(nh_closer_submit(stuck[0], 0) == 1);
  CHECK(now_ms() - t0 < 50);
  int p[2];
  CHECK(pipe(p) == 0);
  uint64_t before = wait_closed(0, 0);
  CHECK(nh_closer_submit(p[0], 0) == 1);
  CHECK(wait_closed(before + 1, 500) >= before + 1);
  CHECK(!is_open(p[0]));
  close(p[1]);

  /* Every thread stuck: the queue fills to its bound, then a descriptor is kept open, not waited for. */
  for (int i = 1; i < NH_CLOSER_THREADS; i++) CHECK(nh_closer_submit(stuck[i], 0) == 1);
  sleep_ms(50);
  nh_closer_stats st;
  nh_closer_get_stats(&st);
  CHECK(st.threads == NH_CLOSER_THREADS);
  int queued = 0;
  int *pipes = calloc(NH_CLOSER_QUEUE + 1, sizeof(int));
  t0 = now_ms();
  for (int i = 0; i <= NH_CLOSER_QUEUE; i++) {
    int q[2];
    if (pipe(q) != 0) break;
    close(q[1]);
    pipes[i] = q[0];
    if (nh_closer_submit(q[0], 0) == 1) queued++;
  }
  CHECK(now_ms() - t0 < 500);
  nh_closer_get_stats(&st);
  CHECK(st.kept >= 1);
  CHECK(queued <= NH_CLOSER_QUEUE);
  /* Once the lingering closes end, the queue drains. */
  nh_closer_get_stats(&st);
  CHECK(wait_closed(st.closed + st.waiting + st.closing, 10000) >= st.closed + st.waiting + st.closing);
  int still_open = 0;
  for (int i = 0; i <= NH_CLOSER_QUEUE; i++) still_open += is_open(pipes[i]);
  nh_closer_get_stats(&st);
  CHECK((uint64_t)still_open == st.kept);
  for (int i = 0; i <= NH_CLOSER_QUEUE; i++)
    if (is_open(pipes[i])) close(pipes[i]);
  free(pipes);
  close(listener);

  if (failures == 0) printf("closer_test: ok (%llu closed, %llu kept)\n", (unsigned long long)st.closed,
                            (unsigned long long)st.kept);
  return failures == 0 ? 0 : 1;
}
