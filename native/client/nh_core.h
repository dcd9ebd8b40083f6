/* Internals shared by libnexthop.so and the LD_PRELOAD shim: the per-process control connections
 * (one per VR, reopened after fork), the table of descriptors the process knows, and the VR-side
 * implementation of each socket call. Everything here is hidden from the .so's exports. */
#ifndef NEXTHOP_NH_CORE_H
#define NEXTHOP_NH_CORE_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "../rsock/rsock_proto.h"

#define NH_HIDDEN __attribute__((visibility("hidden")))
#define NH_EXPORT __attribute__((visibility("default")))

/* What the process knows about one descriptor. */
enum nh_kind {
  NH_UNKNOWN = 0, /* never seen: may be a VR socket inherited across exec or dup'ed */
  NH_KERNEL,      /* a kernel socket (chosen, or ATTACH said it is not the VR's) */
  NH_INTENT,      /* shim: a kernel AF_INET/AF_INET6 socket whose kernel-or-VR choice is not made yet */
  NH_VR,          /* a VR socket: `sock` is its id on control connection `conn` of generation `gen` */
};

/* A socket option set before the choice, replayed on the VR socket. */
struct nh_opt {
  struct nh_opt *next;
  int level;
  int name;
  socklen_t len;
  unsigned char value[];
};

/* The TCP connect state of a VR socket, as the kernel's sock->state: what connect() answers. */
enum nh_tcp_state {
  NH_TCP_NONE = 0,   /* not connected (fresh, or a failed connect was reported) */
  NH_TCP_CONNECTING, /* connect() said EINPROGRESS; the outcome, once collected, waits for connect() */
  NH_TCP_CONNECTED,
  NH_TCP_REMOTE,     /* attached while the VR had it connecting: the VR answers connect() */
};

/* UDP shutdown, emulated in the process (the VR's end keeps relaying, as Linux keeps receiving). */
#define NH_SHUT_RD 1
#define NH_SHUT_WR 2

struct nh_fd {
  uint8_t kind;
  uint8_t dgram;     /* UDP (seqpacket pair with datagram headers) */
  uint8_t listening; /* accept reads a token first (§7.2) */
  uint8_t pktinfo;   /* IP_PKTINFO (AF_INET) or IPV6_RECVPKTINFO (AF_INET6) on: recvmsg adds the control
                        message */
  uint8_t family;    /* AF_INET or AF_INET6 */
  uint8_t dgram_v2;  /* UDP: the pair carries the 64-byte datagram header (protocol §13.5) */
  uint8_t hot;       /* data calls must come through here (nh_fd_hot); derived, kept by the table */
  uint8_t tcp;       /* enum nh_tcp_state */
  uint8_t filled;    /* the app end holds the CONNECT FILLER bytes and a shrunk SO_SNDBUF (§7.1) */
  uint8_t gone;      /* the VR closed the socket when its FILLER connect failed */
  uint8_t shut;      /* UDP: NH_SHUT_RD | NH_SHUT_WR */
  uint16_t conn;     /* index of the VR's control connection */
  uint32_t sock;     /* socket id */
  uint32_t gen;      /* generation of the control connection `sock` is attached on */
  uint32_t connect_id;  /* in-flight non-blocking CONNECT on generation gen, 0 if none */
  int connect_result;   /* outcome of the collected non-blocking CONNECT: 0 or its errno */
  int err_pending;      /* the socket's pending error, reported once, as the kernel's sk_err */
  int sndbuf;           /* the app end's SO_SNDBUF before the filler */
  struct rsock_ep bound; /* what a successful bind was given (port 0 if none): a listener is
                            re-created there */
  uint32_t backlog;        /* a listener's backlog, for the same */
  dev_t dev;            /* identity of the open file, to notice a reused descriptor number */
  ino_t ino;
  struct nh_opt *opts; /* NH_INTENT only */
};

/* Raw system calls: the shim interposes the libc names, so the core never calls them itself. */
NH_HIDDEN int nh_sys_socket(int domain, int type, int protocol);
NH_HIDDEN int nh_sys_close(int fd);
NH_HIDDEN ssize_t nh_sys_read(int fd, void *buf, size_t len);
NH_HIDDEN ssize_t nh_sys_write(int fd, const void *buf, size_t len);
NH_HIDDEN ssize_t nh_sys_sendmsg(int fd, const struct msghdr *msg, int flags);
NH_HIDDEN ssize_t nh_sys_recvmsg(int fd, struct msghdr *msg, int flags);
NH_HIDDEN int nh_sys_getsockopt(int fd, int level, int name, void *value, socklen_t *len);
NH_HIDDEN int nh_sys_setsockopt(int fd, int level, int name, const void *value, socklen_t len);
NH_HIDDEN int nh_sys_shutdown(int fd, int how);

/* Index of the control connection of VR `name` (created on first use, not yet opened), or -1 with
 * errno (ENAMETOOLONG, ENFILE when too many VRs). */
NH_HIDDEN int nh_conn_index(const char *name);
/* Takes NEXTHOP_VR and NEXTHOP_RUN_DIR from the environment, once: the shim calls it from its
 * constructor (programs such as nginx rewrite environ later), the library on first use. */
NH_HIDDEN void nh_load_settings(void);
/* The VR named by NEXTHOP_VR, or NULL. */
NH_HIDDEN const char *nh_default_vr(void);

/* Descriptor table. get copies the entry out (UNKNOWN if the number now names another file). */
NH_HIDDEN enum nh_kind nh_fd_get(int fd, struct nh_fd *out);
/* Stores e for fd (dev/ino taken from fstat now). Takes ownership of e->opts. */
NH_HIDDEN void nh_fd_set(int fd, const struct nh_fd *e);
NH_HIDDEN void nh_fd_forget(int fd);
/* Without locking: might data calls on fd need the library? True for VR UDP sockets (datagram
 * header) and VR TCP sockets whose connect outcome is pending or unreported. A cheap filter for
 * read/write; confirm with get. */
NH_HIDDEN int nh_fd_hot(int fd);
NH_HIDDEN int nh_fd_add_opt(int fd, int level, int name, const void *value, socklen_t len);
NH_HIDDEN struct nh_opt *nh_fd_take_opts(int fd);
NH_HIDDEN void nh_opts_free(struct nh_opt *o);

/* 1 with *e filled when fd is a VR socket (attaching it to this process's connection when needed:
 * after fork, exec or dup), 0 when it is not (remembered), -1 with errno on failure. `vr` names the
 * VR to ask about a descriptor never seen (NULL: NEXTHOP_VR; none: not a VR socket). */
NH_HIDDEN int nh_resolve(int fd, const char *vr, struct nh_fd *e);

/* A new VR socket of `family` (AF_INET, or AF_INET6 when the connection speaks protocol version 2:
 * else EAFNOSUPPORT): returns its descriptor (close-on-exec, blocking) and fills *e, or -1. */
NH_HIDDEN int nh_vr_socket(int conn, int family, int type, int protocol, struct nh_fd *e);
/* The protocol version control connection `conn` speaks (opening it if needed), or -1 with errno. */
NH_HIDDEN int nh_conn_version(int conn);
/* Moves VR socket `vfd` onto descriptor `target` keeping target's O_NONBLOCK and FD_CLOEXEC, closes
 * vfd; records e for target. */
NH_HIDDEN int nh_vr_replace(int target, int vfd, struct nh_fd *e);

/* epoll registrations of descriptors the core may replace (nh_vr_replace: an undecided socket moved
 * into the VR, a listener re-created after its VR restarted). Replacing the open file behind a
 * descriptor drops it from every epoll set, so the shim notes what the program registered
 * (epoll_ctl's op, after the kernel took it) and the core registers the new file again. */
struct epoll_event;
NH_HIDDEN void nh_epoll_note(int epfd, int op, int fd, const struct epoll_event *ev);
/* fd was closed: forget its registrations, and those made in it if it was an epoll instance. */
NH_HIDDEN void nh_epoll_forget(int fd);

/* Listening socket fd whose VR went away (its pair reads end of file and its control connection is
 * not the one it was created on): opens the same listener (address, port, backlog) in the VR that
 * answers on the same control socket now, on the same descriptor, waiting for it to come back while
 * its socket file exists. Blocking descriptors wait as long as that; non-blocking ones at most
 * NH_RELISTEN_NONBLOCK_MS per call (then EAGAIN, and the next accept tries again). 0, or -1 with
 * errno. Options set on the old listener are not replayed. */
#define NH_RELISTEN_NONBLOCK_MS 2000
NH_HIDDEN int nh_vr_relisten(int fd, struct nh_fd *e);

/* The socket calls on a resolved VR socket; same contract as the libc calls. */
NH_HIDDEN int nh_vr_connect(int fd, struct nh_fd *e, const struct sockaddr *addr, socklen_t len);
/* Whether options the program set on an undecided socket wait to be replayed. */
NH_HIDDEN int nh_fd_has_opts(int fd);
/* connect() of an undecided socket e on fd into VR connection `conn` as one SOCKET_CONNECT
 * (protocol §13.11): 0 or -1 with errno as connect(), or -2 (nothing done) when SOCKET then CONNECT
 * must do it (version 1, no SOCKET_CONNECT, options to replay first). */
NH_HIDDEN int nh_vr_connect_new(int conn, int fd, struct nh_fd *e, const struct sockaddr *addr, socklen_t len);
NH_HIDDEN int nh_vr_bind(int fd, struct nh_fd *e, const struct sockaddr *addr, socklen_t len);
NH_HIDDEN int nh_vr_listen(int fd, struct nh_fd *e, int backlog);
NH_HIDDEN int nh_vr_accept(int fd, struct nh_fd *e, struct sockaddr *addr, socklen_t *len, int flags);
NH_HIDDEN int nh_vr_getsockopt(int fd, struct nh_fd *e, int level, int name, void *value, socklen_t *len);
NH_HIDDEN int nh_vr_setsockopt(int fd, struct nh_fd *e, int level, int name, const void *value, socklen_t len);
NH_HIDDEN int nh_vr_shutdown(int fd, struct nh_fd *e, int how);
NH_HIDDEN int nh_vr_name(int fd, struct nh_fd *e, int peer, struct sockaddr *addr, socklen_t *len);
NH_HIDDEN int nh_vr_close(int fd, struct nh_fd *e);
/* Forgets fd; abandons an uncollected non-blocking CONNECT reply. Does not close fd. */
NH_HIDDEN void nh_vr_forget(int fd, struct nh_fd *e);

/* Before a data call on a VR TCP socket: collects a pending connect outcome without waiting (and
 * gives the app end its SO_SNDBUF back), and reports a pending error as the kernel would. 0, or -1
 * with errno. */
NH_HIDDEN int nh_vr_stream_check(int fd, struct nh_fd *e);

/* UDP datagrams with the §7.3 header, or §13.5's on a socket created on a version-2 connection. */
NH_HIDDEN ssize_t nh_vr_sendmsg(int fd, struct nh_fd *e, const struct msghdr *msg, int flags);
NH_HIDDEN ssize_t nh_vr_recvmsg(int fd, struct nh_fd *e, struct msghdr *msg, int flags);

/* The message of the calling thread's last failed VR call. */
NH_HIDDEN const char *nh_last_message(void);
/* Set by the shim: print VR refusals (session errors) to stderr. */
extern NH_HIDDEN int nh_report_session_errors;

#endif
