// OPEN (RFC 4271 §4.2) with its optional parameters: capabilities (RFC 5492) and RFC 9072's
// extended optional parameters length. Capabilities we know are decoded; the others are kept as
// bytes and otherwise ignored (RFC 5492 §5: an unknown capability is not an error).

import { rd16, rd32, wr16, wr32 } from '@nexthop/wire';
import {
  AS_TRANS,
  BGP_HEADER_LEN,
  BGP_VERSION,
  CAP_ENHANCED_ROUTE_REFRESH,
  CAP_EXTENDED_MESSAGE,
  CAP_EXTENDED_NEXT_HOP,
  CAP_FOUR_OCTET_AS,
  CAP_GRACEFUL_RESTART,
  CAP_MULTIPROTOCOL,
  CAP_ROUTE_REFRESH,
  ERR_OPEN,
  GR_FORWARDING_STATE,
  GR_NOTIFICATION,
  GR_RESTART_STATE,
  MSG_OPEN,
  OPEN_MIN_LEN,
  OPT_PARAM_CAPABILITIES,
  OPT_PARAM_EXTENDED,
  SUB_BAD_BGP_IDENTIFIER,
  SUB_BAD_PEER_AS,
  SUB_UNACCEPTABLE_HOLD_TIME,
  SUB_UNSPECIFIC,
  SUB_UNSUPPORTED_OPTIONAL_PARAMETER,
  SUB_UNSUPPORTED_VERSION,
} from './constants.ts';
import { BgpError, NO_DATA, type Notification } from './errors.ts';
import { writeHeader } from './header.ts';

export interface AfiSafi {
  readonly afi: number;
  readonly safi: number;
}

export interface GracefulRestartFamily extends AfiSafi {
  /** The F bit: forwarding state for this family was preserved across the restart (RFC 4724 §3). */
  readonly forwardingState: boolean;
}

export interface GracefulRestart {
  /** The R bit: the speaker has restarted (RFC 4724 §3). */
  readonly restartState: boolean;
  /** The N bit: graceful restart also covers NOTIFICATION (RFC 8538 §2). */
  readonly notification: boolean;
  /** Restart Time in seconds (12 bits). */
  readonly time: number;
  readonly families: readonly GracefulRestartFamily[];
}

export interface ExtendedNextHop extends AfiSafi {
  /** The address family of next hops offered for (afi, safi) NLRI (RFC 8950 §3). */
  readonly nextHopAfi: number;
}

export interface RawCapability {
  readonly code: number;
  readonly value: Uint8Array;
}

export interface Capabilities {
  readonly multiprotocol: readonly AfiSafi[];
  readonly routeRefresh: boolean;
  readonly enhancedRouteRefresh: boolean;
  /** The speaker's four-octet AS number (RFC 6793 §3), if it sent the capability. */
  readonly fourOctetAs: number | undefined;
  readonly gracefulRestart: GracefulRestart | undefined;
  readonly extendedMessage: boolean;
  readonly extendedNextHop: readonly ExtendedNextHop[];
  /** Capabilities this codec does not interpret, in the order received. */
  readonly unknown: readonly RawCapability[];
}

export interface OpenMessage {
  readonly version: number;
  /** The 2-octet My Autonomous System field (AS_TRANS when the real AS needs four octets). */
  readonly myAs: number;
  readonly holdTime: number;
  readonly bgpId: number;
  readonly capabilities: Capabilities;
}

export const NO_CAPABILITIES: Capabilities = {
  multiprotocol: [],
  routeRefresh: false,
  enhancedRouteRefresh: false,
  fourOctetAs: undefined,
  gracefulRestart: undefined,
  extendedMessage: false,
  extendedNextHop: [],
  unknown: [],
};

/** The speaker's AS: from the four-octet AS capability if present, else the My AS field (RFC 6793 §4.1). */
export function peerAsOf(open: OpenMessage): number {
  return open.capabilities.fourOctetAs ?? open.myAs;
}

/** The outcome of decodeOpen: the message, or the NOTIFICATION to send and its counted reason. */
export type OpenResult =
  | { readonly ok: true; readonly open: OpenMessage }
  | { readonly ok: false; readonly reason: number; readonly notification: Notification };

function openError(reason: number, subcode: number, data: Uint8Array = NO_DATA): OpenResult {
  return { ok: false, reason, notification: { code: ERR_OPEN, subcode, data } };
}

/**
 * Decodes the body of an OPEN whose header (buf[off, off+19)) has been checked: `len` is the whole
 * message length. Never throws; an error yields the NOTIFICATION of RFC 4271 §6.2.
 */
export function decodeOpen(buf: Uint8Array, off: number, len: number): OpenResult {
  if (len < OPEN_MIN_LEN) return openError(BgpError.OPEN_MALFORMED_PARAMETERS, SUB_UNSPECIFIC);
  const end = off + len;
  let p = off + BGP_HEADER_LEN;
  const version = buf[p]!;
  // RFC 4271 §6.2: the data is the largest supported version, in two octets.
  if (version !== BGP_VERSION) {
    return openError(BgpError.OPEN_BAD_VERSION, SUB_UNSUPPORTED_VERSION, Uint8Array.of(0, BGP_VERSION));
  }
  const myAs = rd16(buf, p + 1);
  const holdTime = rd16(buf, p + 3);
  const bgpId = rd32(buf, p + 5);
  let paramsLen = buf[p + 9]!;
  p += 10;
  // RFC 4271 §6.2: a Hold Time of one or two seconds is unacceptable.
  if (holdTime === 1 || holdTime === 2)
    return openError(BgpError.OPEN_BAD_HOLD_TIME, SUB_UNACCEPTABLE_HOLD_TIME);
  // RFC 6286 §2.2: the BGP Identifier is a non-zero 4-octet number. RFC 7607 §2: AS 0 is a bad peer AS.
  if (bgpId === 0)
    return openError(BgpError.OPEN_BAD_BGP_ID, SUB_BAD_BGP_IDENTIFIER, buf.slice(p - 5, p - 1));
  if (myAs === 0) return openError(BgpError.OPEN_BAD_PEER_AS, SUB_BAD_PEER_AS, buf.slice(p - 9, p - 7));
  // RFC 9072 §2: Non-Ext OP Len 255 followed by Non-Ext OP Type 255 announces 2-octet lengths.
  let extended = false;
  if (paramsLen > 0 && p < end && buf[p] === OPT_PARAM_EXTENDED) {
    if (p + 3 > end) return openError(BgpError.OPEN_MALFORMED_PARAMETERS, SUB_UNSPECIFIC);
    extended = true;
    paramsLen = rd16(buf, p + 1);
    p += 3;
  }
  if (p + paramsLen !== end) return openError(BgpError.OPEN_MALFORMED_PARAMETERS, SUB_UNSPECIFIC);
  const caps = new CapabilityBuilder();
  while (p < end) {
    const hdr = extended ? 3 : 2;
    if (p + hdr > end) return openError(BgpError.OPEN_MALFORMED_PARAMETERS, SUB_UNSPECIFIC);
    const type = buf[p]!;
    const plen = extended ? rd16(buf, p + 1) : buf[p + 1]!;
    p += hdr;
    if (p + plen > end) return openError(BgpError.OPEN_MALFORMED_PARAMETERS, SUB_UNSPECIFIC);
    // RFC 5492 §4: Capabilities is the only optional parameter left (Authentication, type 1, is
    // deprecated); any other is "Unsupported Optional Parameter".
    if (type !== OPT_PARAM_CAPABILITIES) {
      return openError(BgpError.OPEN_UNSUPPORTED_PARAMETER, SUB_UNSUPPORTED_OPTIONAL_PARAMETER);
    }
    if (!caps.parse(buf, p, p + plen)) return openError(BgpError.OPEN_MALFORMED_CAPABILITY, SUB_UNSPECIFIC);
    p += plen;
  }
  const capabilities = caps.build();
  if (capabilities.fourOctetAs === 0) {
    return openError(BgpError.OPEN_BAD_PEER_AS, SUB_BAD_PEER_AS, Uint8Array.of(0, 0, 0, 0));
  }
  return { ok: true, open: { version, myAs, holdTime, bgpId, capabilities } };
}

class CapabilityBuilder {
  multiprotocol: AfiSafi[] = [];
  routeRefresh = false;
  enhancedRouteRefresh = false;
  fourOctetAs: number | undefined = undefined;
  gracefulRestart: GracefulRestart | undefined = undefined;
  extendedMessage = false;
  extendedNextHop: ExtendedNextHop[] = [];
  unknown: RawCapability[] = [];

  /** One Capabilities parameter: a list of (code, length, value). Returns false when malformed. */
  parse(buf: Uint8Array, p: number, end: number): boolean {
    while (p < end) {
      if (p + 2 > end) return false;
      const code = buf[p]!;
      const clen = buf[p + 1]!;
      p += 2;
      if (p + clen > end) return false;
      if (!this.one(code, buf, p, clen)) return false;
      p += clen;
    }
    return true;
  }

  private one(code: number, buf: Uint8Array, p: number, len: number): boolean {
    switch (code) {
      case CAP_MULTIPROTOCOL: // RFC 4760 §8: AFI(2) reserved(1) SAFI(1)
        if (len !== 4) return false;
        this.multiprotocol.push({ afi: rd16(buf, p), safi: buf[p + 3]! });
        return true;
      case CAP_ROUTE_REFRESH:
        if (len !== 0) return false;
        this.routeRefresh = true;
        return true;
      case CAP_ENHANCED_ROUTE_REFRESH:
        if (len !== 0) return false;
        this.enhancedRouteRefresh = true;
        return true;
      case CAP_FOUR_OCTET_AS:
        if (len !== 4) return false;
        this.fourOctetAs = rd32(buf, p);
        return true;
      case CAP_EXTENDED_MESSAGE:
        if (len !== 0) return false;
        this.extendedMessage = true;
        return true;
      case CAP_GRACEFUL_RESTART: {
        // RFC 4724 §3: flags(4 bits) time(12 bits), then (AFI(2) SAFI(1) flags(1)) per family.
        if (len < 2 || (len - 2) % 4 !== 0) return false;
        const word = rd16(buf, p);
        const families: GracefulRestartFamily[] = [];
        for (let q = p + 2; q < p + len; q += 4) {
          families.push({
            afi: rd16(buf, q),
            safi: buf[q + 2]!,
            forwardingState: (buf[q + 3]! & GR_FORWARDING_STATE) !== 0,
          });
        }
        this.gracefulRestart = {
          restartState: ((word >>> 12) & GR_RESTART_STATE) !== 0,
          notification: ((word >>> 12) & GR_NOTIFICATION) !== 0,
          time: word & 0xfff,
          families,
        };
        return true;
      }
      case CAP_EXTENDED_NEXT_HOP: // RFC 8950 §3: (NLRI AFI(2), NLRI SAFI(2), Next Hop AFI(2))*
        if (len === 0 || len % 6 !== 0) return false;
        for (let q = p; q < p + len; q += 6) {
          this.extendedNextHop.push({
            afi: rd16(buf, q),
            safi: rd16(buf, q + 2),
            nextHopAfi: rd16(buf, q + 4),
          });
        }
        return true;
      default:
        this.unknown.push({ code, value: buf.slice(p, p + len) });
        return true;
    }
  }

  build(): Capabilities {
    return {
      multiprotocol: this.multiprotocol,
      routeRefresh: this.routeRefresh,
      enhancedRouteRefresh: this.enhancedRouteRefresh,
      fourOctetAs: this.fourOctetAs,
      gracefulRestart: this.gracefulRestart,
      extendedMessage: this.extendedMessage,
      extendedNextHop: this.extendedNextHop,
      unknown: this.unknown,
    };
  }
}

/** What we send in an OPEN. `as` may need four octets; the My AS field then carries AS_TRANS. */
export interface OpenSpec {
  readonly as: number;
  readonly holdTime: number;
  readonly bgpId: number;
  readonly capabilities: Partial<Capabilities>;
  /** Leave out the four-octet AS capability, as an OLD speaker would (RFC 6793 §2; for tests). */
  readonly oldSpeaker?: boolean;
}

function capabilityBytes(c: Partial<Capabilities>, as: number, oldSpeaker: boolean): number[] {
  const out: number[] = [];
  const cap = (code: number, value: number[]) => out.push(code, value.length, ...value);
  for (const f of c.multiprotocol ?? []) cap(CAP_MULTIPROTOCOL, [f.afi >>> 8, f.afi & 0xff, 0, f.safi]);
  if (c.routeRefresh) cap(CAP_ROUTE_REFRESH, []);
  if (c.enhancedRouteRefresh) cap(CAP_ENHANCED_ROUTE_REFRESH, []);
  if (c.extendedMessage) cap(CAP_EXTENDED_MESSAGE, []);
  for (const x of c.extendedNextHop ?? []) {
    cap(CAP_EXTENDED_NEXT_HOP, [
      x.afi >>> 8,
      x.afi & 0xff,
      x.safi >>> 8,
      x.safi & 0xff,
      x.nextHopAfi >>> 8,
      x.nextHopAfi & 0xff,
    ]);
  }
  const gr = c.gracefulRestart;
  if (gr) {
    const flags = (gr.restartState ? GR_RESTART_STATE : 0) | (gr.notification ? GR_NOTIFICATION : 0);
    const word = (flags << 12) | (gr.time & 0xfff);
    const v = [word >>> 8, word & 0xff];
    for (const f of gr.families)
      v.push(f.afi >>> 8, f.afi & 0xff, f.safi, f.forwardingState ? GR_FORWARDING_STATE : 0);
    cap(CAP_GRACEFUL_RESTART, v);
  }
  // RFC 6793 §3: a NEW speaker always sends the capability, whatever the size of its AS.
  const four = c.fourOctetAs ?? as;
  if (!oldSpeaker)
    cap(CAP_FOUR_OCTET_AS, [four >>> 24, (four >>> 16) & 0xff, (four >>> 8) & 0xff, four & 0xff]);
  for (const u of c.unknown ?? []) cap(u.code, [...u.value]);
  return out;
}

/**
 * Encodes an OPEN. Each capability goes in one Capabilities parameter of its own, as FRR and BIRD
 * do. Over 255 octets of parameters the RFC 9072 form is used (only then, §3).
 */
export function encodeOpen(spec: OpenSpec): Uint8Array {
  const caps = capabilityBytes(spec.capabilities, spec.as, spec.oldSpeaker === true);
  // Split the capability list into parameters of at most 255 octets (a capability is ≤ 257 octets).
  const params: number[][] = [];
  let i = 0;
  while (i < caps.length) {
    const one = caps.slice(i, i + 2 + caps[i + 1]!);
    i += one.length;
    params.push(one);
  }
  let paramBytes = 0;
  for (const p of params) paramBytes += 2 + p.length;
  const extended = paramBytes > 255;
  if (extended) paramBytes += params.length; // each parameter length grows to two octets
  const len = OPEN_MIN_LEN + paramBytes + (extended ? 3 : 0);
  const buf = new Uint8Array(len);
  writeHeader(buf, 0, len, MSG_OPEN);
  let p = BGP_HEADER_LEN;
  buf[p] = BGP_VERSION;
  wr16(buf, p + 1, spec.as > 0xffff ? AS_TRANS : spec.as);
  wr16(buf, p + 3, spec.holdTime);
  wr32(buf, p + 5, spec.bgpId);
  p += 9;
  if (extended) {
    buf[p] = 255;
    buf[p + 1] = OPT_PARAM_EXTENDED;
    wr16(buf, p + 2, paramBytes);
    p += 4;
  } else {
    buf[p++] = paramBytes;
  }
  for (const param of params) {
    buf[p++] = OPT_PARAM_CAPABILITIES;
    if (extended) {
      wr16(buf, p, param.length);
      p += 2;
    } else {
      buf[p++] = param.length;
    }
    buf.set(param, p);
    p += param.length;
  }
  return buf;
}

/** What two OPENs agree on: what the session's codec and FSM need. */
export interface Negotiated {
  /** Both sent the four-octet AS capability: AS numbers are four octets in AS_PATH (RFC 6793 §4). */
  readonly as4: boolean;
  /** Both sent Extended Message: messages up to 65535 octets, except OPEN and KEEPALIVE (RFC 8654 §4). */
  readonly extendedMessage: boolean;
  readonly maxLength: number;
  /** Families both sent; with no multiprotocol capability at all, IPv4 unicast (RFC 4760 §8). */
  readonly families: readonly AfiSafi[];
  readonly routeRefresh: boolean;
  readonly enhancedRouteRefresh: boolean;
  /** The peer's AS (four octets). */
  readonly peerAs: number;
  /** min of the two hold times (RFC 4271 §4.2). */
  readonly holdTime: number;
}

export function negotiate(local: OpenMessage, remote: OpenMessage): Negotiated {
  const l = local.capabilities;
  const r = remote.capabilities;
  const as4 = l.fourOctetAs !== undefined && r.fourOctetAs !== undefined;
  const extendedMessage = l.extendedMessage && r.extendedMessage;
  const lf = l.multiprotocol.length > 0 ? l.multiprotocol : [{ afi: 1, safi: 1 }];
  const rf = r.multiprotocol.length > 0 ? r.multiprotocol : [{ afi: 1, safi: 1 }];
  const families = lf.filter((a) => rf.some((b) => a.afi === b.afi && a.safi === b.safi));
  return {
    as4,
    extendedMessage,
    maxLength: extendedMessage ? 65535 : 4096,
    families,
    routeRefresh: (l.routeRefresh || l.enhancedRouteRefresh) && (r.routeRefresh || r.enhancedRouteRefresh),
    enhancedRouteRefresh: l.enhancedRouteRefresh && r.enhancedRouteRefresh,
    peerAs: peerAsOf(remote),
    holdTime: Math.min(local.holdTime, remote.holdTime),
  };
}
