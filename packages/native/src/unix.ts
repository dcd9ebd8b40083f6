// Unix-domain sockets for the remote socket server and its clients (native/src/unix.c). Every call
// returns >= 0 or -errno (EAGAIN is an ordinary answer); only wrong arguments throw.
import { loadNative } from './addon.ts';

/** A uv_poll readiness watch on one descriptor. Opaque: only the unix* functions accept it. */
export interface UnixWatch {
  readonly __unixWatch: unique symbol;
}

export const WATCH_READABLE = 1;
export const WATCH_WRITABLE = 2;
/** The peer shut its writing side or hung up (POLLRDHUP; level-triggered after a half-close). */
export const WATCH_RDHUP = 4;
/**
 * POLLPRI, which a Unix socket never raises: asked for alone it wakes up only on POLLHUP (epoll reports
 * that whatever was asked), i.e. when every copy of the other end is closed.
 */
export const WATCH_HANGUP_ONLY = 8;

/** An epoll set of the addon's own watching many descriptors (the pairs' ends). Opaque. */
export interface UnixPollSet {
  readonly __unixPollSet: unique symbol;
}

/** unixPollCtl ops (epoll_ctl's). */
export const POLL_ADD = 1;
export const POLL_DEL = 2;
export const POLL_MOD = 3;
/** A ready bit of unixPollSet only: POLLHUP or POLLERR (the peer is gone; both directions shut). */
export const WATCH_HUNG_UP = 16;

export const UNIX_SOCK_STREAM = 1;
export const UNIX_SOCK_SEQPACKET = 5;

/** recvMsg meta[0] bits. */
export const RECV_TRUNC = 1;
export const RECV_CTRUNC = 2;

export interface UnixNative {
  /**
   * A non-blocking, close-on-exec SOCK_SEQPACKET listener at path, created with the given mode (bound
   * in a private directory, then renamed into place). A socket file nobody accepts on (a dead
   * server's) is replaced; a live one is -EADDRINUSE; another kind of file is -EEXIST; a directory
   * that is a symbolic link -ELOOP, not owned by root or us, or writable by others without the sticky
   * bit, -EPERM. The listener and its connections refuse SCM_RIGHTS (see unixSetPassRights).
   */
  unixListen(path: string, mode: number, backlog: number): number;
  /** A SOCK_SEQPACKET connection to path (close-on-exec, non-blocking once connected). */
  unixConnect(path: string): number;
  /**
   * Accepts one connection (non-blocking, close-on-exec) and reads nothing from it: out = [fd, pid,
   * uid, gid] from SO_PEERCRED, then [copied, total] supplementary groups (SO_PEERGROUPS) of which
   * the first `copied` are in groups. At -EMFILE/-ENFILE, out[0] = 1 when a connection was accepted
   * and closed with the reserve descriptor (progress), 0 when there was no reserve.
   */
  unixAccept(listenFd: number, out: Float64Array, groups?: Uint32Array): number;
  /** SO_PASSRIGHTS (Linux >= 6.16): 1 lets fd receive descriptors; -ENOPROTOOPT before 6.16. */
  unixSetPassRights(fd: number, on: number): number;
  /** out = SO_COOKIE as [low, high] 32-bit halves: never the same for two sockets while Linux runs. */
  unixCookie(fd: number, out: Uint32Array): number;
  /**
   * Shuts fd for reading, reads what is queued (descriptors in it go to the closer threads) and
   * closes it: for a socket a client may have passed descriptors to. Descriptors found, or -errno.
   */
  unixCloseDrained(fd: number): number;
  /** Use foreignCloser(). */
  unixCloseForeign(fd: number, tag: number): number;
  unixCloserInit(onClosed: (tag: number) => void): void;
  /** out = [waiting, closing, closed, kept open (queue full), threads]. */
  unixCloserStats(out: Float64Array): void;
  /**
   * recvmsg (non-blocking, MSG_CMSG_CLOEXEC) of one message into buf[off, off+len): its length, 0 at
   * end of file. meta[0] = RECV_TRUNC | RECV_CTRUNC bits, meta[1] = descriptors received, meta[2..]
   * the descriptors (those beyond meta's room are closed and flagged RECV_CTRUNC).
   */
  unixRecvMsg(fd: number, buf: Uint8Array, off: number, len: number, meta: Int32Array): number;
  /** sendmsg (non-blocking, no SIGPIPE) of buf[off, off+len) with the descriptors in fds (0..16). */
  unixSendMsg(fd: number, buf: Uint8Array, off: number, len: number, fds: Int32Array | null): number;
  /**
   * socketpair(AF_UNIX, type, close-on-exec): out[0] is the server's end, out[1] the application's.
   * Both blocking: whoever holds the application's sets O_NONBLOCK as the program wants, and every
   * call here on the server's end is non-blocking by itself (MSG_DONTWAIT).
   */
  unixSocketPair(type: number, out: Int32Array): number;
  /**
   * close(2) for descriptors this process made (a pair end on a kernel without SO_PASSRIGHTS is
   * drained first). Never for one a client handed over: foreignCloser().
   */
  unixClose(fd: number): number;
  unixShutdown(fd: number, how: number): number;
  /** Non-blocking read: bytes, 0 at end of file, or -errno. */
  unixRead(fd: number, buf: Uint8Array, off: number, len: number): number;
  /** Non-blocking write without SIGPIPE: bytes or -errno. */
  unixWrite(fd: number, buf: Uint8Array, off: number, len: number): number;
  /** 1 when the peer is gone (POLLHUP), 0 when not: tells close from shutdown(SHUT_WR) after EOF. */
  unixHungUp(fd: number): number;
  /** out = [st_dev, st_ino] of a socket; -ENOTSOCK for anything else. Not a proof of possession: unixCookie. */
  unixFileId(fd: number, out: Float64Array): number;
  /**
   * sendmmsg of datagrams first..count-1 ([offset, length] pairs in descs) in order, stopping where
   * the socket is full: how many went, or -errno when the first could not (-EAGAIN, -EMSGSIZE, -EPIPE).
   */
  unixSendDgrams(fd: number, buf: Uint8Array, descs: Uint32Array, first: number, count: number): number;
  /**
   * recvmmsg of up to max (<= 64) datagrams, the i-th into buf[i*slot, (i+1)*slot); descs gets
   * [offset, length, truncated] triples. state[0] = 1 when the peer hung up after them. -EAGAIN when
   * none is waiting.
   */
  unixRecvDgrams(
    fd: number,
    buf: Uint8Array,
    slot: number,
    max: number,
    descs: Uint32Array,
    state: Int32Array,
  ): number;
  /** A readiness watch on fd, asking for nothing until unixWatchEvents; callback gets WATCH_* bits. */
  unixWatch(fd: number, onReady: (ready: number) => void): UnixWatch;
  /** WATCH_* bits, or 0 to pause. Cheap when unchanged. */
  unixWatchEvents(watch: UnixWatch, events: number): void;
  /** Stops the watch for good (idempotent). It does not close the descriptor: close it afterwards. */
  unixWatchClose(watch: UnixWatch): void;
  /**
   * An epoll set of the addon's own (level-triggered, like unixWatch), its descriptor watched by one
   * uv_poll: onReady(n) runs once per batch, out holding n [id, ready] pairs (WATCH_READABLE,
   * WATCH_WRITABLE, WATCH_RDHUP, WATCH_HUNG_UP bits; at most min(out.length / 2, 64) per batch). The
   * set keeps out; JS must read it before returning. Per descriptor it costs one POLL_ADD and a
   * POLL_MOD per change of interest, where unixWatch costs five epoll_ctl, an io_uring_enter and an
   * ioctl; each batch costs one epoll_wait more.
   */
  unixPollSet(out: Float64Array, onReady: (n: number) => void): UnixPollSet;
  /**
   * epoll_ctl on the set: POLL_ADD fd with id (an integer below 2^53 that its events carry; never
   * reuse one: an end closed while a forked child shares it stays in the set until the child's copy
   * closes, its events naming the old id), POLL_MOD its events, POLL_DEL. events: WATCH_READABLE,
   * WATCH_WRITABLE, WATCH_RDHUP; 0 or WATCH_HANGUP_ONLY: hang-up only. 0 or -errno (-EBADF: set closed).
   */
  unixPollCtl(set: UnixPollSet, op: number, fd: number, id: number, events: number): number;
  /** unixClose for a descriptor in the set (closing it takes it out; a drained one is taken out first). */
  unixPollClose(set: UnixPollSet, fd: number): number;
  /** Stops the set and closes its epoll descriptor (idempotent); the descriptors in it stay open. */
  unixPollSetClose(set: UnixPollSet): void;
}

export function loadUnix(): UnixNative {
  return loadNative() as unknown as UnixNative;
}

export interface CloserStats {
  /** Descriptors queued for a closer thread. */
  waiting: number;
  /** Being closed now (a thread is in close(2)). */
  closing: number;
  closed: number;
  /** Left open because the queue was full. */
  kept: number;
  threads: number;
}

/**
 * Closes descriptors that came from another process, whose close(2) may block (a TCP socket with
 * SO_LINGER and unsent data, a FUSE file), on the addon's closer threads: never on the event loop.
 */
export interface ForeignCloser {
  /**
   * Queues fd; onClosed runs on the event loop once it is closed. false when the queue is full: fd
   * then stays open for good and onClosed never runs.
   */
  close(fd: number, onClosed?: () => void): boolean;
  stats(): CloserStats;
}

let closer: ForeignCloser | null = null;

/** The process's closer (one set of threads for every server). */
export function foreignCloser(): ForeignCloser {
  if (closer !== null) return closer;
  const u = loadUnix();
  const waiting = new Map<number, () => void>();
  let next = 1;
  u.unixCloserInit((tag) => {
    const f = waiting.get(tag);
    waiting.delete(tag);
    f?.();
  });
  const out = new Float64Array(5);
  closer = {
    close(fd, onClosed) {
      let tag = 0;
      if (onClosed !== undefined) {
        do {
          tag = next;
          next = next >= 0xffffffff ? 1 : next + 1;
        } while (waiting.has(tag));
        waiting.set(tag, onClosed);
      }
      if (u.unixCloseForeign(fd, tag) === 1) return true;
      waiting.delete(tag);
      return false;
    },
    stats() {
      u.unixCloserStats(out);
      return { waiting: out[0]!, closing: out[1]!, closed: out[2]!, kept: out[3]!, threads: out[4]! };
    },
  };
  return closer;
}
