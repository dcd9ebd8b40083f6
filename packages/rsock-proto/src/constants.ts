// Numbers of the remote socket protocol, versions 1 and 2 (docs/remote-socket-protocol.md).

/**
 * Version 1: the version `decode`, `encode` and the `Message` shapes speak, and the one every
 * HELLO, and the HELLO_OK or ERROR answering it, carries in its header (§4, §9).
 */
export const RSOCK_VERSION = 1;
/** Version 2 (§13): sockaddr-shaped endpoints, AF_INET6, the 64-byte datagram header. */
export const RSOCK_VERSION_2 = 2;
/** The range this codec speaks: what a client offers in HELLO, and a server's range to pick from. */
export const RSOCK_MIN_VERSION = 1;
export const RSOCK_MAX_VERSION = 2;
/** The magic "NHRS" read as a little-endian u32. */
export const RSOCK_MAGIC = 0x5352484e;
export const HEADER_LENGTH = 16;
export const MAX_MESSAGE = 4096;
export const DGRAM_HEADER_LENGTH = 20;
/** The datagram header of a UDP socket created on a version-2 connection (§13.5). */
export const DGRAM_HEADER_LENGTH_V2 = 64;
/** The largest UDP payload over IPv4 (65535 − 20 − 8). */
export const MAX_DGRAM_PAYLOAD = 65507;
/** The largest UDP payload over IPv6 without jumbograms (65535 − 8). */
export const MAX_DGRAM_PAYLOAD_V6 = 65527;
/** A version-2 endpoint on the wire (§13.2): the size of a `struct sockaddr_in6`. */
export const ENDPOINT_LENGTH = 28;
/** The bits of a version-2 endpoint's flowinfo that may be set: traffic class and flow label. */
export const FLOWINFO_MASK = 0x0fffffff;

// Message types (§5). Bit 15 marks a reply.
export const T_HELLO = 0x0001;
export const T_SOCKET = 0x0002;
export const T_BIND = 0x0003;
export const T_CONNECT = 0x0004;
export const T_LISTEN = 0x0005;
export const T_ACCEPT = 0x0006;
export const T_SHUTDOWN = 0x0007;
export const T_CLOSE = 0x0008;
export const T_GETSOCKNAME = 0x0009;
export const T_GETPEERNAME = 0x000a;
export const T_SETSOCKOPT = 0x000b;
export const T_GETSOCKOPT = 0x000c;
export const T_ATTACH = 0x000d;
/**
 * Version 2 (§13.11): SOCKET and CONNECT in one request. Answered SOCKET_OK with the descriptor at
 * once, then OK or ERROR (the connect's outcome) with the same id; or one ERROR if no socket was made.
 */
export const T_SOCKET_CONNECT = 0x000e;
export const T_OK = 0x8000;
export const T_ERROR = 0x8001;
export const T_HELLO_OK = 0x8002;
export const T_SOCKET_OK = 0x8003;
export const T_ACCEPT_OK = 0x8004;
export const T_ADDR_OK = 0x8005;
export const T_OPT_OK = 0x8006;
export const T_ATTACH_OK = 0x8007;
export const REPLY_BIT = 0x8000;

// Flag bits.
export const CONNECT_UNSPEC = 1;
/**
 * CONNECT flag (§7.1): the client wrote CONNECT_FILLER_BYTES filler bytes to its end of the pair
 * before the request; the server discards them when the outcome is known. With CONNECT_UNSPEC: the
 * probe a client sends to learn whether the server knows the flag.
 */
export const CONNECT_FILLER = 2;
export const CONNECT_FILLER_BYTES = 8192;
/**
 * SOCKET_CONNECT flag (§13.11), the same bit as CONNECT_FILLER: the server writes the filler to the
 * application end of the new pair itself, before it hands the descriptor over.
 */
export const SOCKET_CONNECT_FILLER = 2;
/**
 * SOCKET_CONNECT flag (§13.11): one reply, when the outcome is known: SOCKET_OK with the descriptor
 * once connected, or the ERROR (the socket closed, no descriptor). For blocking connects.
 */
export const SOCKET_CONNECT_WAIT = 4;
export const ACCEPT_NONBLOCK = 1;
export const DGRAM_PKTINFO = 1;

// ATTACH_OK state bits.
export const STATE_BOUND = 1 << 0;
export const STATE_LISTENING = 1 << 1;
export const STATE_CONNECTING = 1 << 2;
export const STATE_CONNECTED = 1 << 3;
export const STATE_SHUT_RD = 1 << 4;
export const STATE_SHUT_WR = 1 << 5;
export const STATE_PKTINFO = 1 << 6;
/** Version 2: the socket's pair carries the 64-byte datagram header of §13.5 (UDP only). */
export const STATE_DGRAM_V2 = 1 << 7;

// Linux numbers the protocol carries (§5, "Option numbers and values").
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const SOL_SOCKET = 1;
export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;
export const SO_REUSEADDR = 2;
export const SO_ERROR = 4;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_KEEPALIVE = 9;
export const SO_LINGER = 13;
export const SO_REUSEPORT = 15;
export const SO_BINDTODEVICE = 25;
export const TCP_NODELAY = 1;
export const TCP_KEEPIDLE = 4;
export const TCP_KEEPINTVL = 5;
export const TCP_KEEPCNT = 6;
export const IP_TOS = 1;
export const IP_TTL = 2;
export const IP_PKTINFO = 8;
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IP_DROP_MEMBERSHIP = 36;
// IPv6 (version 2, §13.7): linux/in6.h; RFC 3493 §5.2 names JOIN/LEAVE_GROUP, Linux spells them
// ADD/DROP_MEMBERSHIP with the same numbers.
export const IPPROTO_IPV6 = 41;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_MULTICAST_IF = 17;
export const IPV6_MULTICAST_HOPS = 18;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_ADD_MEMBERSHIP = 20;
export const IPV6_JOIN_GROUP = 20;
export const IPV6_DROP_MEMBERSHIP = 21;
export const IPV6_LEAVE_GROUP = 21;
export const IPV6_V6ONLY = 26;
export const IPV6_RECVPKTINFO = 49;
export const IPV6_PKTINFO = 50;
export const IPV6_RECVTCLASS = 66;
export const IPV6_TCLASS = 67;

/** Linux EPROTO: "these bytes are not a valid message" (§8); absent from the stack's errno list. */
export const EPROTO = 71;
export const EOPNOTSUPP = 95;
export const EPROTONOSUPPORT = 93;
export const EAFNOSUPPORT = 97;
