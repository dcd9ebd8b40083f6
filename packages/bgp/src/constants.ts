// BGP-4 protocol numbers. Plain constants rather than enums (erasable syntax only).

/** Header (RFC 4271 §4.1): 16-octet marker of all ones, 2-octet length, 1-octet type. */
export const BGP_HEADER_LEN = 19;
export const BGP_MARKER_LEN = 16;
/** Largest message without, and with, the Extended Message capability (RFC 4271 §4.1, RFC 8654 §4). */
export const BGP_MAX_LEN = 4096;
export const BGP_EXTENDED_MAX_LEN = 65535;
export const BGP_PORT = 179;
export const BGP_VERSION = 4;

/** Message types (RFC 4271 §4.1, RFC 2918 §3). */
export const MSG_OPEN = 1;
export const MSG_UPDATE = 2;
export const MSG_NOTIFICATION = 3;
export const MSG_KEEPALIVE = 4;
export const MSG_ROUTE_REFRESH = 5;

/** Smallest length of each message type, header included (RFC 4271 §4.2–§4.4, RFC 2918 §3). */
export const OPEN_MIN_LEN = 29;
export const UPDATE_MIN_LEN = 23;
export const NOTIFICATION_MIN_LEN = 21;
export const KEEPALIVE_LEN = 19;
export const ROUTE_REFRESH_LEN = 23;

/** Reserved AS number used in 2-octet fields for a 4-octet AS (RFC 6793 §9). */
export const AS_TRANS = 23456;

/** Address families (IANA) and the subsequent family we speak (RFC 4760 §5). */
export const AFI_IPV4 = 1;
export const AFI_IPV6 = 2;
export const SAFI_UNICAST = 1;

/** Optional parameter types in OPEN (RFC 5492 §4; 255 marks RFC 9072's extended length). */
export const OPT_PARAM_CAPABILITIES = 2;
export const OPT_PARAM_EXTENDED = 255;

/** Capability codes (IANA). */
export const CAP_MULTIPROTOCOL = 1; // RFC 4760 §8
export const CAP_ROUTE_REFRESH = 2; // RFC 2918 §2
export const CAP_EXTENDED_NEXT_HOP = 5; // RFC 8950 §3
export const CAP_EXTENDED_MESSAGE = 6; // RFC 8654 §3
export const CAP_GRACEFUL_RESTART = 64; // RFC 4724 §3
export const CAP_FOUR_OCTET_AS = 65; // RFC 6793 §3
export const CAP_ENHANCED_ROUTE_REFRESH = 70; // RFC 7313 §3

/** Graceful restart capability bits (RFC 4724 §3, RFC 8538 §2). */
export const GR_RESTART_STATE = 0x8;
export const GR_NOTIFICATION = 0x4;
export const GR_FORWARDING_STATE = 0x80;

/** Attribute flags (RFC 4271 §4.3). */
export const FLAG_OPTIONAL = 0x80;
export const FLAG_TRANSITIVE = 0x40;
export const FLAG_PARTIAL = 0x20;
export const FLAG_EXTENDED_LENGTH = 0x10;

/** Path attribute type codes (IANA). */
export const ATTR_ORIGIN = 1;
export const ATTR_AS_PATH = 2;
export const ATTR_NEXT_HOP = 3;
export const ATTR_MED = 4;
export const ATTR_LOCAL_PREF = 5;
export const ATTR_ATOMIC_AGGREGATE = 6;
export const ATTR_AGGREGATOR = 7;
export const ATTR_COMMUNITIES = 8; // RFC 1997
export const ATTR_ORIGINATOR_ID = 9; // RFC 4456
export const ATTR_CLUSTER_LIST = 10; // RFC 4456
export const ATTR_MP_REACH_NLRI = 14; // RFC 4760
export const ATTR_MP_UNREACH_NLRI = 15; // RFC 4760
export const ATTR_AS4_PATH = 17; // RFC 6793
export const ATTR_AS4_AGGREGATOR = 18; // RFC 6793
export const ATTR_LARGE_COMMUNITIES = 32; // RFC 8092

/** ORIGIN values (RFC 4271 §5.1.1). */
export const ORIGIN_IGP = 0;
export const ORIGIN_EGP = 1;
export const ORIGIN_INCOMPLETE = 2;

/** AS_PATH segment types (RFC 4271 §4.3, RFC 5065 §3). */
export const AS_SET = 1;
export const AS_SEQUENCE = 2;
export const AS_CONFED_SEQUENCE = 3;
export const AS_CONFED_SET = 4;

/** NOTIFICATION error codes (RFC 4271 §4.5, RFC 7313 §5). */
export const ERR_MESSAGE_HEADER = 1;
export const ERR_OPEN = 2;
export const ERR_UPDATE = 3;
export const ERR_HOLD_TIMER = 4;
export const ERR_FSM = 5;
export const ERR_CEASE = 6;
export const ERR_ROUTE_REFRESH = 7;

/** Cease subcode "BFD Down" (RFC 9384). */
export const CEASE_BFD_DOWN = 10;

/** Message Header Error subcodes (RFC 4271 §6.1). */
export const SUB_CONNECTION_NOT_SYNCHRONIZED = 1;
export const SUB_BAD_MESSAGE_LENGTH = 2;
export const SUB_BAD_MESSAGE_TYPE = 3;

/** OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492 §5). 0 is "unspecific" (RFC 4271 §4.5). */
export const SUB_UNSPECIFIC = 0;
export const SUB_UNSUPPORTED_VERSION = 1;
export const SUB_BAD_PEER_AS = 2;
export const SUB_BAD_BGP_IDENTIFIER = 3;
export const SUB_UNSUPPORTED_OPTIONAL_PARAMETER = 4;
export const SUB_UNACCEPTABLE_HOLD_TIME = 6;
export const SUB_UNSUPPORTED_CAPABILITY = 7;

/** UPDATE Message Error subcodes (RFC 4271 §6.3). */
export const SUB_MALFORMED_ATTRIBUTE_LIST = 1;
export const SUB_UNRECOGNIZED_WELL_KNOWN = 2;
export const SUB_MISSING_WELL_KNOWN = 3;
export const SUB_ATTRIBUTE_FLAGS = 4;
export const SUB_ATTRIBUTE_LENGTH = 5;
export const SUB_INVALID_ORIGIN = 6;
export const SUB_INVALID_NEXT_HOP = 8;
export const SUB_OPTIONAL_ATTRIBUTE = 9;
export const SUB_INVALID_NETWORK_FIELD = 10;
export const SUB_MALFORMED_AS_PATH = 11;

/** ROUTE-REFRESH Message Error subcode (RFC 7313 §5). */
export const SUB_INVALID_MESSAGE_LENGTH = 1;

/** ROUTE-REFRESH subtypes (RFC 7313 §4): normal request, beginning and end of a route refresh. */
export const RR_REQUEST = 0;
export const RR_BORR = 1;
export const RR_EORR = 2;
