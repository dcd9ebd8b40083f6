// The BFD Control packet (RFC 5880 §4.1) and its authentication sections (§4.2-4.4, §6.7): decoded
// into a caller-owned scratch object (no allocation per packet), encoded into a caller's buffer.
// What fails a §6.8.6 check is a drop reason, never an exception.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//  |                       My Discriminator                        |
//  |                      Your Discriminator                       |
//  |                    Desired Min TX Interval                    |
//  |                   Required Min RX Interval                    |
//  |                 Required Min Echo RX Interval                 |
//  |   Auth Type   |   Auth Len    |    Authentication Data...     |

export const BFD_VERSION = 1;
/** UDP port of single-hop control packets (RFC 5881 §4). */
export const BFD_PORT = 3784;
/** Source ports: 49152-65535 (RFC 5881 §4). */
export const BFD_SOURCE_PORT_MIN = 49152;
export const BFD_SOURCE_PORT_MAX = 65535;
/** The mandatory part's length. */
export const BFD_HEADER_LEN = 24;
/** The largest control packet: the header and the longest (simple password) auth section. */
export const BFD_MAX_LEN = BFD_HEADER_LEN + 28;

/** Session states (§4.1), as on the wire. */
export const STATE_ADMIN_DOWN = 0;
export const STATE_DOWN = 1;
export const STATE_INIT = 2;
export const STATE_UP = 3;
export const STATE_NAMES = ['AdminDown', 'Down', 'Init', 'Up'] as const;
export type BfdStateName = (typeof STATE_NAMES)[number];

/** Diagnostic codes (§4.1). */
export const DIAG_NONE = 0;
export const DIAG_DETECT_EXPIRED = 1;
export const DIAG_ECHO_FAILED = 2;
export const DIAG_NEIGHBOR_DOWN = 3;
export const DIAG_FORWARDING_RESET = 4;
export const DIAG_PATH_DOWN = 5;
export const DIAG_CONCAT_PATH_DOWN = 6;
export const DIAG_ADMIN_DOWN = 7;
export const DIAG_REVERSE_CONCAT_PATH_DOWN = 8;
export const DIAG_NAMES = [
  'none',
  'control-detection-time-expired',
  'echo-function-failed',
  'neighbor-signaled-session-down',
  'forwarding-plane-reset',
  'path-down',
  'concatenated-path-down',
  'administratively-down',
  'reverse-concatenated-path-down',
] as const;

export function diagName(d: number): string {
  return DIAG_NAMES[d] ?? `diag-${d}`;
}

/** Authentication types (§4.1). */
export const AUTH_NONE = 0;
export const AUTH_SIMPLE = 1;
export const AUTH_KEYED_MD5 = 2;
export const AUTH_METICULOUS_MD5 = 3;
export const AUTH_KEYED_SHA1 = 4;
export const AUTH_METICULOUS_SHA1 = 5;

export const FLAG_P = 0x20;
export const FLAG_F = 0x10;
export const FLAG_C = 0x08;
export const FLAG_A = 0x04;
export const FLAG_D = 0x02;
export const FLAG_M = 0x01;

/** Why a received packet was dropped; every one is counted. */
export type BfdDropReason =
  | 'short'
  | 'version'
  | 'length'
  | 'detectMult'
  | 'multipoint'
  | 'myDiscriminator'
  | 'yourDiscriminator'
  | 'ttl'
  | 'auth'
  | 'session';

export const DROP_REASONS: readonly BfdDropReason[] = [
  'short',
  'version',
  'length',
  'detectMult',
  'multipoint',
  'myDiscriminator',
  'yourDiscriminator',
  'ttl',
  'auth',
  'session',
];

/** A decoded control packet (intervals in microseconds, as on the wire). */
export class BfdPacket {
  version = BFD_VERSION;
  diag = 0;
  state = STATE_DOWN;
  /** The flag bits P F C A D M in the low 6 bits. */
  flags = 0;
  detectMult = 0;
  length = 0;
  myDisc = 0;
  yourDisc = 0;
  desiredMinTx = 0;
  requiredMinRx = 0;
  requiredMinEchoRx = 0;
  /** The authentication section, when the A bit is set. */
  authType = AUTH_NONE;
  authLen = 0;
  authKeyId = 0;
  /** Keyed/meticulous MD5 and SHA1: the sequence number. */
  authSeq = 0;
  /** Offset of the auth section in the buffer decoded (the digest/password follows its header). */
  authOff = 0;

  get poll(): boolean {
    return (this.flags & FLAG_P) !== 0;
  }
  get final(): boolean {
    return (this.flags & FLAG_F) !== 0;
  }
}

/** The auth section length a type must have (simple: 4..19 with a 1..16 byte password). */
function authLenOk(type: number, len: number): boolean {
  switch (type) {
    case AUTH_SIMPLE:
      return len >= 4 && len <= 19;
    case AUTH_KEYED_MD5:
    case AUTH_METICULOUS_MD5:
      return len === 24;
    case AUTH_KEYED_SHA1:
    case AUTH_METICULOUS_SHA1:
      return len === 28;
    default:
      return false;
  }
}

const rd32 = (b: Uint8Array, o: number): number =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
}

/**
 * Decodes the `len` bytes at buf[off..] (a UDP payload) into `out`: null when it passes the
 * checks of §6.8.6 that need no session (version, length, detect multiplier, multipoint, My
 * Discriminator, an auth section's shape), else the reason to drop it. Your Discriminator, the
 * TTL and the authentication itself are the engine's checks.
 */
export function decodeControl(
  buf: Uint8Array,
  off: number,
  len: number,
  out: BfdPacket,
): BfdDropReason | null {
  if (len < BFD_HEADER_LEN) return len >= 1 && buf[off]! >>> 5 !== BFD_VERSION ? 'version' : 'short';
  const b0 = buf[off]!;
  const b1 = buf[off + 1]!;
  out.version = b0 >>> 5;
  out.diag = b0 & 0x1f;
  out.state = b1 >>> 6;
  out.flags = b1 & 0x3f;
  out.detectMult = buf[off + 2]!;
  out.length = buf[off + 3]!;
  out.myDisc = rd32(buf, off + 4);
  out.yourDisc = rd32(buf, off + 8);
  out.desiredMinTx = rd32(buf, off + 12);
  out.requiredMinRx = rd32(buf, off + 16);
  out.requiredMinEchoRx = rd32(buf, off + 20);
  out.authType = AUTH_NONE;
  out.authLen = 0;
  out.authKeyId = 0;
  out.authSeq = 0;
  out.authOff = 0;
  if (out.version !== BFD_VERSION) return 'version';
  const auth = (out.flags & FLAG_A) !== 0;
  // The Length field: at least 24 (26 with the A bit), at most what arrived.
  if (out.length < (auth ? BFD_HEADER_LEN + 2 : BFD_HEADER_LEN) || out.length > len) return 'length';
  if (out.detectMult === 0) return 'detectMult';
  if ((out.flags & FLAG_M) !== 0) return 'multipoint';
  if (out.myDisc === 0) return 'myDiscriminator';
  if (out.yourDisc === 0 && out.state !== STATE_DOWN && out.state !== STATE_ADMIN_DOWN)
    return 'yourDiscriminator';
  if (auth) {
    const a = off + BFD_HEADER_LEN;
    out.authType = buf[a]!;
    out.authLen = buf[a + 1]!;
    out.authOff = a;
    if (!authLenOk(out.authType, out.authLen) || BFD_HEADER_LEN + out.authLen > out.length) return 'auth';
    out.authKeyId = buf[a + 2]!;
    if (out.authType !== AUTH_SIMPLE) out.authSeq = rd32(buf, a + 4);
  }
  return null;
}

/** What `encodeControl` writes (intervals in microseconds). */
export interface BfdControlFields {
  diag: number;
  state: number;
  flags: number;
  detectMult: number;
  myDisc: number;
  yourDisc: number;
  desiredMinTx: number;
  requiredMinRx: number;
  requiredMinEchoRx: number;
}

/** Writes a packet without authentication at buf[off..]; returns its length (24). */
export function encodeControl(f: BfdControlFields, buf: Uint8Array, off: number): number {
  buf[off] = (BFD_VERSION << 5) | (f.diag & 0x1f);
  buf[off + 1] = ((f.state & 3) << 6) | (f.flags & 0x3f);
  buf[off + 2] = f.detectMult;
  buf[off + 3] = BFD_HEADER_LEN;
  wr32(buf, off + 4, f.myDisc);
  wr32(buf, off + 8, f.yourDisc);
  wr32(buf, off + 12, f.desiredMinTx);
  wr32(buf, off + 16, f.requiredMinRx);
  wr32(buf, off + 20, f.requiredMinEchoRx);
  return BFD_HEADER_LEN;
}

// ---- authentication (§6.7) -------------------------------------------------------------------

export type BfdAuthType = 'simple' | 'keyed-md5' | 'meticulous-md5' | 'keyed-sha1' | 'meticulous-sha1';

const AUTH_TYPES: Record<BfdAuthType, number> = {
  simple: AUTH_SIMPLE,
  'keyed-md5': AUTH_KEYED_MD5,
  'meticulous-md5': AUTH_METICULOUS_MD5,
  'keyed-sha1': AUTH_KEYED_SHA1,
  'meticulous-sha1': AUTH_METICULOUS_SHA1,
};

/** A session's key: the type, its id and secret (a password of 1-16 octets, an MD5 key ≤ 16, a SHA1 one ≤ 20). */
export interface BfdAuth {
  type: BfdAuthType;
  keyId: number;
  key: Uint8Array;
}

/** The digests the authentication types need (the VR hands in node:crypto's; layer 3 has none). */
export interface BfdHashes {
  md5(data: Uint8Array): Uint8Array;
  sha1(data: Uint8Array): Uint8Array;
}

function digestLen(type: number): number {
  return type === AUTH_KEYED_SHA1 || type === AUTH_METICULOUS_SHA1 ? 20 : 16;
}

function isMeticulous(type: number): boolean {
  return type === AUTH_METICULOUS_MD5 || type === AUTH_METICULOUS_SHA1;
}

/**
 * Appends the auth section for `auth` to the 24-byte packet at buf[off..] (A bit set, Length
 * updated, digest computed over the whole packet with the key in the digest's place, §6.7.3/4).
 * Returns the packet's new length.
 */
export function signControl(
  buf: Uint8Array,
  off: number,
  auth: BfdAuth,
  seq: number,
  hashes: BfdHashes | undefined,
): number {
  const type = AUTH_TYPES[auth.type];
  const a = off + BFD_HEADER_LEN;
  buf[off + 1]! |= FLAG_A;
  buf[a] = type;
  buf[a + 2] = auth.keyId;
  if (type === AUTH_SIMPLE) {
    const n = Math.min(16, Math.max(1, auth.key.length));
    buf[a + 1] = 3 + n;
    buf.fill(0, a + 3, a + 3 + n);
    buf.set(auth.key.subarray(0, n), a + 3);
    buf[off + 3] = BFD_HEADER_LEN + 3 + n;
    return BFD_HEADER_LEN + 3 + n;
  }
  const dl = digestLen(type);
  const total = BFD_HEADER_LEN + 8 + dl;
  buf[a + 1] = 8 + dl;
  buf[a + 3] = 0;
  wr32(buf, a + 4, seq >>> 0);
  buf[off + 3] = total;
  buf.fill(0, a + 8, a + 8 + dl);
  buf.set(auth.key.subarray(0, dl), a + 8);
  if (hashes === undefined) throw new Error('BFD: keyed authentication needs hashes');
  const d =
    dl === 20 ? hashes.sha1(buf.subarray(off, off + total)) : hashes.md5(buf.subarray(off, off + total));
  buf.set(d.subarray(0, dl), a + 8);
  return total;
}

/** Per-session receive state of authentication (§6.7: bfd.RcvAuthSeq, bfd.AuthSeqKnown). */
export interface AuthRxState {
  rcvSeq: number;
  seqKnown: boolean;
}

/**
 * Checks a decoded packet's authentication against the session's key (§6.7.2-4): the type and key
 * id, the password or the digest (computed with the key in its place), and the sequence number
 * (within 3 × Detect Mult of the last one; meticulous: strictly greater). Updates `rx` when it
 * passes. The buffer's digest bytes are restored. Returns whether it passes.
 */
export function verifyControl(
  buf: Uint8Array,
  off: number,
  p: BfdPacket,
  auth: BfdAuth,
  rx: AuthRxState,
  detectMult: number,
  hashes: BfdHashes | undefined,
): boolean {
  const type = AUTH_TYPES[auth.type];
  if (p.authType !== type || p.authKeyId !== auth.keyId) return false;
  const a = p.authOff;
  if (type === AUTH_SIMPLE) {
    const n = p.authLen - 3;
    if (n !== Math.min(16, auth.key.length)) return false;
    for (let i = 0; i < n; i++) if (buf[a + 3 + i] !== auth.key[i]) return false;
    return true;
  }
  if (hashes === undefined) return false;
  const seq = p.authSeq;
  if (rx.seqKnown) {
    // Modular comparison: seq - last within [0, 3 × Detect Mult] (meticulous: (0, …]).
    const delta = (seq - rx.rcvSeq) >>> 0;
    const window = 3 * detectMult;
    if (isMeticulous(type) ? delta === 0 || delta > window : delta > window) return false;
  }
  const dl = digestLen(type);
  const got = buf.slice(a + 8, a + 8 + dl);
  buf.fill(0, a + 8, a + 8 + dl);
  buf.set(auth.key.subarray(0, dl), a + 8);
  const pkt = buf.subarray(off, off + p.length);
  const want = dl === 20 ? hashes.sha1(pkt) : hashes.md5(pkt);
  buf.set(got, a + 8);
  let diff = 0;
  for (let i = 0; i < dl; i++) diff |= got[i]! ^ want[i]!;
  if (diff !== 0) return false;
  rx.rcvSeq = seq;
  rx.seqKnown = true;
  return true;
}

/** Whether an auth type sends a new sequence number in every packet (meticulous) or only sometimes. */
export function authIsMeticulous(auth: BfdAuth): boolean {
  return isMeticulous(AUTH_TYPES[auth.type]);
}
