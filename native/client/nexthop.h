/* libnexthop: sockets inside a nexthop virtual router (VR), as ordinary file descriptors.
 *
 * nexthop_socket() asks the VR named `vr` (control socket <run-dir>/<vr>.sock, run-dir from
 * NEXTHOP_RUN_DIR, default /run/nexthop) for a TCP or UDP socket and returns a descriptor of this
 * process. Its data travels over that descriptor (docs/remote-socket-protocol.md §7): read, write,
 * poll, epoll, select, dup, fork and exec work on it as on any socket. The setup calls below speak
 * the control protocol for it; they return what the kernel's call would (0 / -1 with errno, or a
 * descriptor), with the VR's errno values.
 *
 * UDP descriptors carry a header in front of every datagram (protocol §7.3, 20 bytes; §13.5, 64 bytes
 * on a VR speaking protocol version 2): use nexthop_sendto()/nexthop_recvfrom() on them, not
 * read/write.
 *
 * IPv6: the library offers protocol versions 1 and 2 and uses what the VR chooses. With version 2,
 * nexthop_socket_family(AF_INET6) makes a dual-stack socket (IPV6_V6ONLY 0 unless set), and every
 * call taking or giving a struct sockaddr takes a sockaddr_in6 on it (scope id for link-local
 * addresses, IPv4 peers as IPv4-mapped addresses, as Linux); a VR speaking only version 1 answers
 * AF_INET6 with EAFNOSUPPORT. Level IPPROTO_IPV6 options (IPV6_V6ONLY, IPV6_RECVPKTINFO, ...) go to
 * the VR like any other.
 *
 * A non-blocking connect leaves the descriptor unwritable (poll, epoll, select, write) until the
 * connection is made or has failed, as a kernel socket; nexthop_getsockopt(SO_ERROR) and a second
 * nexthop_connect() then report the outcome as the kernel's would (protocol §7.1). shutdown() of a UDP
 * socket leaves reception alone, as Linux's.
 *
 * NEXTHOP_RUN_DIR and NEXTHOP_VR are read once, at the first call. A run directory this process may
 * not enter fails with EACCES ("permission denied: …" in nexthop_last_error()), a VR not running with
 * ENETDOWN.
 *
 * Thread safe; after fork the child opens its own control connection on first use, and descriptors
 * it does not know yet (inherited across exec, or dup'ed) are attached by proof of possession. */
#ifndef NEXTHOP_H
#define NEXTHOP_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* type: SOCK_STREAM or SOCK_DGRAM, optionally | SOCK_NONBLOCK | SOCK_CLOEXEC. Family is AF_INET. */
int nexthop_socket(const char *vr, int type, int protocol);

/* As nexthop_socket, of family AF_INET or AF_INET6 (EAFNOSUPPORT for others, and for AF_INET6 when
 * the VR speaks only protocol version 1). Added with protocol version 2. */
int nexthop_socket_family(const char *vr, int family, int type, int protocol);

/* Tells the library that fd is a socket of `vr` (NULL: NEXTHOP_VR) it has not seen yet, e.g. one
 * inherited across exec. Other calls do this by themselves with NEXTHOP_VR. 0, or -1 with EBADF when
 * fd is not a socket of that VR. */
int nexthop_attach(const char *vr, int fd);

int nexthop_connect(int fd, const struct sockaddr *addr, socklen_t len);
int nexthop_bind(int fd, const struct sockaddr *addr, socklen_t len);
int nexthop_listen(int fd, int backlog);
int nexthop_accept(int fd, struct sockaddr *addr, socklen_t *len);
int nexthop_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int nexthop_getsockopt(int fd, int level, int name, void *value, socklen_t *len);
int nexthop_setsockopt(int fd, int level, int name, const void *value, socklen_t len);
int nexthop_shutdown(int fd, int how);
int nexthop_getsockname(int fd, struct sockaddr *addr, socklen_t *len);
int nexthop_getpeername(int fd, struct sockaddr *addr, socklen_t *len);

/* UDP: one datagram. dest NULL = the connected peer. On an AF_INET6 socket dest may be a
 * sockaddr_in6 or (dual-stack) a sockaddr_in; src is always a sockaddr_in6. */
ssize_t nexthop_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *dest,
                       socklen_t dest_len);
ssize_t nexthop_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *src, socklen_t *src_len);

/* Closes the socket in the VR at once, whatever copies of fd exist (protocol CLOSE), then fd. */
int nexthop_close(int fd);

/* The VR's message for the calling thread's last failed call ("" if it gave none), e.g.
 * "uid 65534 is not on the access list of VR edge". */
const char *nexthop_last_error(void);

#ifdef __cplusplus
}
#endif

#endif
