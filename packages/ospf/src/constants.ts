// RFC 2328's architectural constants (Appendix B), packet and LSA type codes, and the groups.

export const IPPROTO_OSPF = 89;
/** 224.0.0.5 and 224.0.0.6 (RFC 2328 §A.1). */
export const ALL_SPF_ROUTERS = 0xe0000005;
export const ALL_D_ROUTERS = 0xe0000006;

export const OSPF_VERSION = 2;
export const HEADER_LENGTH = 24;
export const LSA_HEADER_LENGTH = 20;

/** Packet types (RFC 2328 §A.3.1). */
export const PT_HELLO = 1;
export const PT_DD = 2;
export const PT_LSR = 3;
export const PT_LSU = 4;
export const PT_LSACK = 5;
export const PACKET_TYPE_NAMES = ['', 'hello', 'dd', 'lsr', 'lsu', 'lsack'] as const;

/** Authentication types (RFC 2328 §D). */
export const AUTH_NULL = 0;
export const AUTH_SIMPLE = 1;
export const AUTH_CRYPTO = 2;
/** MD5's digest length (RFC 2328 §D.3). */
export const MD5_DIGEST_LENGTH = 16;

/** LSA types (RFC 2328 §A.4.1). */
export const LSA_ROUTER = 1;
export const LSA_NETWORK = 2;
export const LSA_SUMMARY_NET = 3;
export const LSA_SUMMARY_ASBR = 4;
export const LSA_EXTERNAL = 5;
export const LSA_TYPE_NAMES = ['', 'router', 'network', 'summary', 'asbr-summary', 'external'] as const;

/** Router-LSA link types (RFC 2328 §A.4.2). */
export const LINK_P2P = 1;
export const LINK_TRANSIT = 2;
export const LINK_STUB = 3;
export const LINK_VIRTUAL = 4;

/** Router-LSA flags. */
export const RLSA_B = 0x01;
export const RLSA_E = 0x02;
export const RLSA_V = 0x04;

/** Options (RFC 2328 §A.2): E, external routing capability. */
export const OPT_E = 0x02;
export const OPT_MC = 0x04;
export const OPT_NP = 0x08;
export const OPT_O = 0x40;

/** DD flags (RFC 2328 §A.3.3). */
export const DD_MS = 0x01;
export const DD_M = 0x02;
export const DD_I = 0x04;

/** Architectural constants (RFC 2328 Appendix B), seconds unless said. */
export const LS_REFRESH_TIME = 1800;
export const MIN_LS_INTERVAL_MS = 5000;
export const MIN_LS_ARRIVAL_MS = 1000;
export const MAX_AGE = 3600;
export const CHECK_AGE = 300;
export const MAX_AGE_DIFF = 900;
export const LS_INFINITY = 0xffffff;
export const INITIAL_SEQUENCE_NUMBER = -0x7fffffff; // 0x80000001 as a signed 32-bit number
export const MAX_SEQUENCE_NUMBER = 0x7fffffff;

// ---- OSPFv3 (RFC 5340) ----------------------------------------------------------------------------

export const OSPF6_VERSION = 3;
export const HEADER6_LENGTH = 16;
/** ff02::5 and ff02::6 (RFC 5340 §A.1). */
export const ALL_SPF_ROUTERS6 = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5);
export const ALL_D_ROUTERS6 = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6);
/** The IPv6 checksum's offset in the OSPFv3 header (IPV6_CHECKSUM, RFC 5340 §A.3.1). */
export const OSPF6_CHECKSUM_OFFSET = 12;

/** LSA function codes with their flooding scope bits (RFC 5340 §A.4.2.1). */
export const LSA6_ROUTER = 0x2001;
export const LSA6_NETWORK = 0x2002;
export const LSA6_INTER_PREFIX = 0x2003;
export const LSA6_INTER_ROUTER = 0x2004;
export const LSA6_EXTERNAL = 0x4005;
export const LSA6_LINK = 0x0008;
export const LSA6_INTRA_PREFIX = 0x2009;
export const LSA6_TYPE_NAMES: Readonly<Record<number, string>> = {
  [LSA6_ROUTER]: 'router',
  [LSA6_NETWORK]: 'network',
  [LSA6_INTER_PREFIX]: 'inter-area-prefix',
  [LSA6_INTER_ROUTER]: 'inter-area-router',
  [LSA6_EXTERNAL]: 'external',
  [LSA6_LINK]: 'link',
  [LSA6_INTRA_PREFIX]: 'intra-area-prefix',
};

/** OSPFv3 options (RFC 5340 §A.2): V6, E, R (what this router sets: 0x13). */
export const OPT6_V6 = 0x01;
export const OPT6_E = 0x02;
export const OPT6_R = 0x10;
/** Prefix options (RFC 5340 §A.4.1.1). */
export const PREFIX_NU = 0x01;
export const PREFIX_LA = 0x02;
