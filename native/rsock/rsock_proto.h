/* Codec of the remote socket protocol, versions 1 and 2 (docs/remote-socket-protocol.md): control
 * messages and the UDP datagram headers. C11, no allocation, explicit little-endian; decoded strings
 * and blobs point into the caller's buffer. The encoding is canonical: whatever decodes re-encodes to
 * the same bytes. The TypeScript codec (packages/rsock-proto) agrees byte for byte on
 * tests/golden/rsock.
 *
 * rsock_decode/rsock_encode/rsock_describe and struct rsock_dgram are version 1 with the endpoint in
 * `addr`/`port`, as before; the *_v functions speak the version they are given with the endpoint in
 * `ep` (§13), and struct rsock_dgram2 is the 64-byte datagram header of version 2. */
#ifndef NEXTHOP_RSOCK_PROTO_H
#define NEXTHOP_RSOCK_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* Version 1: what rsock_decode/rsock_encode speak, and the header version of every HELLO and of the
 * HELLO_OK or ERROR that answers it, whatever is negotiated (§4, §9). */
#define RSOCK_VERSION 1
#define RSOCK_VERSION_2 2
/* The range this codec speaks: a client's HELLO offer, a server's range to pick from (§13.1). */
#define RSOCK_VERSION_MIN 1
#define RSOCK_VERSION_MAX 2
#define RSOCK_HEADER_LEN 16
#define RSOCK_MAX_MESSAGE 4096
#define RSOCK_DGRAM_HEADER_LEN 20
#define RSOCK_DGRAM2_HEADER_LEN 64
/* A version-2 endpoint on the wire (§13.2): the size of a struct sockaddr_in6. */
#define RSOCK_EP_LEN 28
/* The bits of a version-2 endpoint's flowinfo that may be set: traffic class and flow label. */
#define RSOCK_FLOWINFO_MASK 0x0fffffffu
#define RSOCK_AF_UNSPEC 0
#define RSOCK_AF_INET 2
#define RSOCK_AF_INET6 10

enum rsock_type {
  RSOCK_HELLO = 0x0001,
  RSOCK_SOCKET = 0x0002,
  RSOCK_BIND = 0x0003,
  RSOCK_CONNECT = 0x0004,
  RSOCK_LISTEN = 0x0005,
  RSOCK_ACCEPT = 0x0006,
  RSOCK_SHUTDOWN = 0x0007,
  RSOCK_CLOSE = 0x0008,
  RSOCK_GETSOCKNAME = 0x0009,
  RSOCK_GETPEERNAME = 0x000a,
  RSOCK_SETSOCKOPT = 0x000b,
  RSOCK_GETSOCKOPT = 0x000c,
  RSOCK_ATTACH = 0x000d,
  /* Version 2 only (§13.11): SOCKET and CONNECT in one request; answered SOCKET_OK with the fd at
   * once, then OK or ERROR (the connect's outcome) with the same id, or one ERROR if no socket was
   * made. At version 1 the type is unknown (EOPNOTSUPP). */
  RSOCK_SOCKET_CONNECT = 0x000e,
  RSOCK_OK = 0x8000,
  RSOCK_ERROR = 0x8001,
  RSOCK_HELLO_OK = 0x8002,
  RSOCK_SOCKET_OK = 0x8003,
  RSOCK_ACCEPT_OK = 0x8004,
  RSOCK_ADDR_OK = 0x8005,
  RSOCK_OPT_OK = 0x8006,
  RSOCK_ATTACH_OK = 0x8007,
};

#define RSOCK_CONNECT_UNSPEC 1u
/* §7.1: the client wrote RSOCK_CONNECT_FILLER_BYTES filler bytes to its end of the pair before this
 * CONNECT; the server discards them when the outcome is known. With UNSPEC: the support probe. */
#define RSOCK_CONNECT_FILLER 2u
#define RSOCK_CONNECT_FILLER_BYTES 8192
/* SOCKET_CONNECT (§13.11), the bit of CONNECT FILLER: the server writes the filler to the new pair's
 * application end itself, before it sends the descriptor. */
#define RSOCK_SOCKET_CONNECT_FILLER 2u
/* SOCKET_CONNECT (§13.11): one reply when the outcome is known, SOCKET_OK with the fd after success or
 * the ERROR (socket closed) after failure. For blocking connects; not with FILLER. */
#define RSOCK_SOCKET_CONNECT_WAIT 4u
#define RSOCK_ACCEPT_NONBLOCK 1u
#define RSOCK_DGRAM_PKTINFO 1u

#define RSOCK_STATE_BOUND (1u << 0)
#define RSOCK_STATE_LISTENING (1u << 1)
#define RSOCK_STATE_CONNECTING (1u << 2)
#define RSOCK_STATE_CONNECTED (1u << 3)
#define RSOCK_STATE_SHUT_RD (1u << 4)
#define RSOCK_STATE_SHUT_WR (1u << 5)
#define RSOCK_STATE_PKTINFO (1u << 6)
/* Version 2: the socket's pair carries the 64-byte datagram header (struct rsock_dgram2). */
#define RSOCK_STATE_DGRAM_V2 (1u << 7)

/* A version-2 endpoint (§13.2): the fields of a sockaddr_in or sockaddr_in6 (RFC 3493 §3.3) in one
 * form. Fields the family does not use are zero: decode produces that, encode requires it. */
struct rsock_ep {
  uint16_t family;    /* RSOCK_AF_UNSPEC (no endpoint: all zero), RSOCK_AF_INET, RSOCK_AF_INET6 */
  uint16_t port;      /* host value */
  uint32_t flowinfo;  /* AF_INET6: ntohl(sin6_flowinfo), within RSOCK_FLOWINFO_MASK */
  uint8_t addr[16];   /* network order; AF_INET: the 4 bytes of sin_addr, then 12 zero bytes */
  uint32_t scope_id;  /* AF_INET6: sin6_scope_id */
};

/* Bytes inside the decoded buffer (or, for encoding, the caller's). */
struct rsock_bytes {
  const uint8_t *ptr;
  uint16_t len;
};

/* One message, flat: `type` says which fields are meaningful (the tables of §5). */
struct rsock_msg {
  uint16_t type;
  uint32_t id;
  uint32_t socket;       /* every request naming a socket; SOCKET_OK, ACCEPT_OK, ATTACH_OK */
  uint16_t min_version;  /* HELLO */
  uint16_t max_version;  /* HELLO */
  uint16_t version;      /* HELLO_OK */
  uint32_t max_sockets;  /* HELLO_OK */
  uint32_t flags;        /* HELLO, HELLO_OK, ACCEPT; CONNECT (u16 on the wire in version 1);
                            SOCKET_CONNECT */
  int32_t err;           /* ERROR: positive Linux errno */
  uint16_t family;       /* SOCKET, ATTACH_OK, SOCKET_CONNECT */
  uint16_t sock_type;    /* SOCKET, ATTACH_OK, SOCKET_CONNECT */
  uint32_t protocol;     /* SOCKET, ATTACH_OK, SOCKET_CONNECT */
  uint8_t addr[4];       /* network order: BIND, CONNECT, ACCEPT_OK, ADDR_OK */
  uint16_t port;         /* host value: BIND, CONNECT, ACCEPT_OK, ADDR_OK */
  uint32_t backlog;      /* LISTEN */
  uint32_t how;          /* SHUTDOWN */
  uint32_t level;        /* SETSOCKOPT, GETSOCKOPT */
  uint32_t name;         /* SETSOCKOPT, GETSOCKOPT */
  uint32_t max_len;      /* GETSOCKOPT */
  uint32_t state;        /* ATTACH_OK */
  struct rsock_bytes data; /* UTF-8 string: HELLO client name, HELLO_OK VR name, ERROR message;
                              blob: SETSOCKOPT and OPT_OK value */
  struct rsock_ep ep;    /* BIND, CONNECT, ACCEPT_OK, ADDR_OK, SOCKET_CONNECT in the *_v functions: rsock_decode_v
                            fills it (and addr/port too when it is AF_INET), rsock_encode_v reads it */
};

enum rsock_fault_reason {
  RSOCK_F_SHORT = 1,
  RSOCK_F_MAGIC,
  RSOCK_F_LENGTH,
  RSOCK_F_VERSION,
  RSOCK_F_UNKNOWN_TYPE,
  RSOCK_F_BODY,
  RSOCK_F_UTF8,
  RSOCK_F_RESERVED,
  RSOCK_F_ERRNO,
  RSOCK_F_FAMILY, /* version 2: an endpoint's family is not AF_UNSPEC, AF_INET or AF_INET6 */
};

/* Why a message did not decode, and what §8 says to do about it. */
struct rsock_fault {
  enum rsock_fault_reason reason;
  uint32_t id;  /* for the ERROR reply; 0 when the message is too short to carry one */
  int err;      /* EPROTO (71), or EOPNOTSUPP (95) for an unknown type */
  int fatal;    /* close the connection after the reply */
};

/* The reason as the spec and the golden vectors spell it ("short", "magic", ...). */
const char *rsock_fault_name(enum rsock_fault_reason reason);

/* Decodes the version-1 message occupying exactly buf[0, len). Returns 0, or -1 with *fault filled
 * in. Reads nothing outside buf[0, len) whatever the bytes. (The same as rsock_decode_v at version 1.) */
int rsock_decode(const uint8_t *buf, size_t len, struct rsock_msg *msg, struct rsock_fault *fault);

/* Encodes msg as version 1, the endpoint from addr/port, into out[0, cap). Returns its length, or 0
 * if it does not fit, the type is unknown, a field is out of range (CONNECT flags above 0xffff, errno
 * not positive) or a string is not well-formed UTF-8. */
size_t rsock_encode(const struct rsock_msg *msg, uint8_t *out, size_t cap);

/* The description line of §11 (what the golden vectors' `#=` lines hold) of a version-1 message,
 * the endpoint from addr/port. Returns snprintf's result. */
int rsock_describe(const struct rsock_msg *msg, char *out, size_t cap);

/* The version a server picks from a client's HELLO range: the highest both speak (the server's range
 * is RSOCK_VERSION_MIN..RSOCK_VERSION_MAX), or 0 when the ranges do not overlap. */
uint16_t rsock_negotiate(uint16_t client_min, uint16_t client_max);

/* Decodes a message of protocol `version` (the connection's: 1 or 2) occupying exactly buf[0, len);
 * a header of another version is the fatal RSOCK_F_VERSION fault. The endpoint goes to msg->ep. */
int rsock_decode_v(const uint8_t *buf, size_t len, uint16_t version, struct rsock_msg *msg,
                   struct rsock_fault *fault);

/* Encodes msg as protocol `version`, the endpoint from msg->ep. Returns 0 as rsock_encode does, and
 * also for an unknown version, an endpoint rsock_ep_encode refuses, or (version 1) an endpoint that
 * is not AF_INET. */
size_t rsock_encode_v(const struct rsock_msg *msg, uint16_t version, uint8_t *out, size_t cap);

/* The description line of a message of `version` (§11, §13.9), the endpoint from msg->ep. */
int rsock_describe_v(const struct rsock_msg *msg, uint16_t version, char *out, size_t cap);

#define RSOCK_EP_BAD_FAMILY (-1)
#define RSOCK_EP_RESERVED (-2)

/* Reads the 28 bytes at p: 0, RSOCK_EP_BAD_FAMILY or RSOCK_EP_RESERVED (a field the family does not
 * use is not zero, or flowinfo outside RSOCK_FLOWINFO_MASK). *ep is written only on success. */
int rsock_ep_decode(const uint8_t *p, struct rsock_ep *ep);

/* Writes the 28 bytes at p: 0, or -1 (nothing written) if the wire cannot carry ep canonically. */
int rsock_ep_encode(const struct rsock_ep *ep, uint8_t *p);

/* `a.b.c.d:port`, `[addr6%scope]:port,flowinfo=n` (RFC 5952 text; `%scope` and `,flowinfo=n` only
 * when not 0) or `unspec`, as §13.9 prints endpoints. Returns snprintf's result. */
int rsock_ep_format(const struct rsock_ep *ep, char *out, size_t cap);

/* Well-formed UTF-8 (Unicode §3.9, Table 3-7). */
int rsock_utf8_valid(const uint8_t *s, size_t len);

/* The header in front of each datagram on a UDP socket's seqpacket pair (§7.3). */
struct rsock_dgram {
  uint16_t flags;   /* RSOCK_DGRAM_PKTINFO */
  uint8_t peer[4];  /* network order */
  uint16_t peer_port;
  uint32_t ifindex;
  uint8_t local[4]; /* network order */
};

#define RSOCK_DGRAM_SHORT (-1)
#define RSOCK_DGRAM_HEADER_LENGTH_WRONG (-2)
#define RSOCK_DGRAM_RESERVED (-3)

/* Reads the header of the datagram in buf[0, len). Returns the payload's offset (20) or a negative
 * RSOCK_DGRAM_* reason. */
int rsock_dgram_decode(const uint8_t *buf, size_t len, struct rsock_dgram *out);

/* Writes the 20-byte header; returns 20, or 0 if cap is too small or flags has unknown bits. */
size_t rsock_dgram_encode(const struct rsock_dgram *h, uint8_t *out, size_t cap);

int rsock_dgram_describe(const struct rsock_dgram *h, const uint8_t *payload, size_t payload_len, char *out,
                         size_t cap);

/* The 64-byte header of a UDP socket created on a version-2 connection (§13.5). */
struct rsock_dgram2 {
  uint16_t flags;        /* RSOCK_DGRAM_PKTINFO; without it ifindex and local are zero */
  uint32_t ifindex;
  struct rsock_ep peer;  /* AF_UNSPEC on a sent datagram: the connected peer */
  struct rsock_ep local; /* with PKTINFO: destination (received) or source asked for (sent) */
};

#define RSOCK_DGRAM_FAMILY (-4)

/* Reads the header of the datagram in buf[0, len). Returns the payload's offset (64) or a negative
 * RSOCK_DGRAM_* reason (then *out holds partial values). */
int rsock_dgram2_decode(const uint8_t *buf, size_t len, struct rsock_dgram2 *out);

/* Writes the 64-byte header; returns 64, or 0 if cap is too small, flags has unknown bits, an
 * endpoint cannot be carried, or ifindex/local are set without PKTINFO. */
size_t rsock_dgram2_encode(const struct rsock_dgram2 *h, uint8_t *out, size_t cap);

int rsock_dgram2_describe(const struct rsock_dgram2 *h, const uint8_t *payload, size_t payload_len,
                          char *out, size_t cap);

/* "short", "header-length", "reserved", "family" for a negative RSOCK_DGRAM_* reason; "?" else. */
const char *rsock_dgram_fault_name(int reason);

#endif
