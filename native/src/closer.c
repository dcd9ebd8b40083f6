/*
 * The closer threads (closer.h). A fixed ring of NH_CLOSER_QUEUE descriptors under one mutex;
 * threads start lazily, up to NH_CLOSER_THREADS, each with every signal blocked (signals stay the
 * event loop's). A thread stuck in one close (a 5 s linger, a FUSE daemon that never answers) holds
 * only itself; the others go on with the queue.
 */
#include "closer.h"

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <unistd.h>

typedef struct {
  int fd;
  uint32_t tag;
} closer_item;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static closer_item ring[NH_CLOSER_QUEUE];
static size_t head, len;
static unsigned threads, idle;
static uint64_t closing, closed_total, kept;
static nh_closer_notify_fn notify_fn;
static void *notify_ctx;

static void *closer_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  for (;;) {
    while (len == 0) {
      idle++;
      pthread_cond_wait(&cv, &mu);
      idle--;
    }
    closer_item it = ring[head];
    head = (head + 1) % NH_CLOSER_QUEUE;
    len--;
    closing++;
    nh_closer_notify_fn fn = notify_fn;
    void *ctx = notify_ctx;
    pthread_mutex_unlock(&mu);
    /* POSIX leaves the descriptor's state unspecified after EINTR; Linux has released it: never retry. */
    close(it.fd);
    if (fn != NULL && it.tag != 0) fn(it.tag, ctx);
    pthread_mutex_lock(&mu);
    closing--;
    closed_total++;
  }
  return NULL;
}

/* Starts one more closer thread; called with mu held. 0 when it could not. */
static int start_thread(void) {
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) return 0;
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t t;
  int rc = pthread_create(&t, &attr, closer_main, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  if (rc != 0) return 0;
  threads++;
  return 1;
}

int nh_closer_submit(int fd, uint32_t tag) {
  pthread_mutex_lock(&mu);
  if (len == NH_CLOSER_QUEUE || (threads == 0 && !start_thread())) {
    kept++;
    pthread_mutex_unlock(&mu);
    return 0;
  }
  ring[(head + len) % NH_CLOSER_QUEUE] = (closer_item){.fd = fd, .tag = tag};
  len++;
  /* Every thread busy (stuck, perhaps): another one, if allowed; if none starts, the queue waits. */
  if (idle < len && threads < NH_CLOSER_THREADS) start_thread();
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  return 1;
}

void nh_closer_set_notify(nh_closer_notify_fn fn, void *ctx) {
  pthread_mutex_lock(&mu);
  notify_fn = fn;
  notify_ctx = ctx;
  pthread_mutex_unlock(&mu);
}

void nh_closer_get_stats(nh_closer_stats *out) {
  pthread_mutex_lock(&mu);
  out->waiting = len;
  out->closing = closing;
  out->closed = closed_total;
  out->kept = kept;
  out->threads = threads;
  pthread_mutex_unlock(&mu);
}
