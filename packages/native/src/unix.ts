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

export const UNIX_SOCK_STREAM = 1;
export const UNIX_SOCK_SEQPACKET = 5;

/** recvMsg meta[0] bits. */
export const RECV_TRUNC = 1;
export const RECV_CTRUNC = 2;

export interface UnixNative {
  /**
   * A non-blocking, close-on-exec SOCK_SEQPACKET listener at path with the given mode. A socket file
   * nobody accepts on (a dead server's) is replaced; a live one is -EADDRINUSE; another kind of file
   * is -EEXIST.
   */
  unixListen(path: string, mode: number, backlog: number): number;
  /** A SOCK_SEQPACKET connection to path (close-on-exec, non-blocking once connected). */
  unixConnect(path: string): number;
  /** Accepts one connection (non-blocking, close-on-exec): out = [fd, pid, uid, gid] from SO_PEERCRED. */
  unixAccept(listenFd: number, out: Float64Array): number;
  /**
   * recvmsg (non-blocking, MSG_CMSG_CLOEXEC) of one message into buf[off, off+len): its length, 0 at
   * end of file. meta[0] = RECV_TRUNC | RECV_CTRUNC bits, meta[1] = descriptors received, meta[2..]
   * the descriptors (those beyond meta's room are closed and flagged RECV_CTRUNC).
   */
  unixRecvMsg(fd: number, buf: Uint8Array, off: number, len: number, meta: Int32Array): number;
  /** sendmsg (non-blocking, no SIGPIPE) of buf[off, off+len) with the descriptors in fds (0..16). */
  unixSendMsg(fd: number, buf: Uint8Array, off: number, len: number, fds: Int32Array | null): number;
  /**
   * socketpair(AF_UNIX, type, close-on-exec): out[0] is the server's end (non-blocking), out[1] the
   * application's (blocking; whoever holds it sets O_NONBLOCK as the program wants).
   */
  unixSocketPair(type: number, out: Int32Array): number;
  unixClose(fd: number): number;
  unixShutdown(fd: number, how: number): number;
  /** Non-blocking read: bytes, 0 at end of file, or -errno. */
  unixRead(fd: number, buf: Uint8Array, off: number, len: number): number;
  /** Non-blocking write without SIGPIPE: bytes or -errno. */
  unixWrite(fd: number, buf: Uint8Array, off: number, len: number): number;
  /** 1 when the peer is gone (POLLHUP), 0 when not: tells close from shutdown(SHUT_WR) after EOF. */
  unixHungUp(fd: number): number;
  /** out = [st_dev, st_ino] of a socket; -ENOTSOCK for anything else. */
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
}

export function loadUnix(): UnixNative {
  return loadNative() as unknown as UnixNative;
}
