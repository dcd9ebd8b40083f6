#ifndef NEXTHOP_CLOSER_H
#define NEXTHOP_CLOSER_H

#include <stdint.h>

/*
 * Closing descriptors a client handed over, off the event loop (docs/remote-socket-protocol.md §4,
 * "Descriptors from clients"). close(2) can block for as long as the file's owner wants: a TCP socket
 * with SO_LINGER and unsent data waits up to its linger time in the last close (socket(7)), a FUSE
 * file waits for its daemon's answer to FLUSH. Such files reach the VR as SCM_RIGHTS descriptors, so
 * the VR never closes one on its event loop: they go into a bounded queue served by a few closer
 * threads. Nothing here ever blocks the caller.
 */

enum {
  /* Descriptors waiting to be closed at most; beyond, a descriptor is kept open and counted. */
  NH_CLOSER_QUEUE = 4096,
  /* Closer threads at most; a new one starts when a descriptor waits and every thread is busy. */
  NH_CLOSER_THREADS = 8,
};

/* Called on a closer thread after each close, with the tag it was submitted with (0: none). */
typedef void (*nh_closer_notify_fn)(uint32_t tag, void *ctx);

/*
 * Hands fd over to be closed on a closer thread. 1 when queued; 0 when the queue was full or no
 * thread could start: fd then stays open for good (counted as kept), since closing it here could
 * block and waiting for room would.
 */
int nh_closer_submit(int fd, uint32_t tag);

/* The function told of every close; set once, before the first submit that wants it. */
void nh_closer_set_notify(nh_closer_notify_fn fn, void *ctx);

typedef struct {
  uint64_t waiting;   /* in the queue now */
  uint64_t closing;   /* being closed by a thread now */
  uint64_t closed;    /* closed since start */
  uint64_t kept;      /* left open because the queue was full */
  uint64_t threads;   /* closer threads running */
} nh_closer_stats;

void nh_closer_get_stats(nh_closer_stats *out);

#endif
