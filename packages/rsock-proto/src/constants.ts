// Numbers of the remote socket protocol, version 1 (docs/remote-socket-protocol.md).

export const RSOCK_VERSION = 1;
/** The magic "NHRS" read as a little-endian u32. */
export const RSOCK_MAGIC = 0x5352484e;
export const HEADER_LENGTH = 16;
export const MAX_MESSAGE = 4096;
export const DGRAM_HEADER_LENGTH = 20;
export const MAX_DGRAM_PAYLOAD = 65507;

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

// Linux numbers the protocol carries (§5, "Option numbers and values").
export const AF_INET = 2;
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

/** Linux EPROTO: "these bytes are not a valid message" (§8); absent from the stack's errno list. */
export const EPROTO = 71;
export const EOPNOTSUPP = 95;
