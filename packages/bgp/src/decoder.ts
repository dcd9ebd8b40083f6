// One entry point for every received message: header check, then the body decoder of its type.
// The result is scratch owned by the decoder (DESIGN §5), valid until the next call.

import { rd16 } from '@nexthop/wire';
import type { AttributeTable } from './attributes.ts';
import {
  BGP_EXTENDED_MAX_LEN,
  BGP_HEADER_LEN,
  BGP_MAX_LEN,
  ERR_MESSAGE_HEADER,
  ERR_ROUTE_REFRESH,
  MSG_KEEPALIVE,
  MSG_NOTIFICATION,
  MSG_OPEN,
  MSG_ROUTE_REFRESH,
  MSG_UPDATE,
  ROUTE_REFRESH_LEN,
  RR_EORR,
  SUB_INVALID_MESSAGE_LENGTH,
} from './constants.ts';
import { Action, BgpCounters, BgpError, type Notification } from './errors.ts';
import { checkHeader, HEADER_BAD_LENGTH, HEADER_BAD_MARKER, HEADER_OK } from './header.ts';
import { decodeOpen, type OpenMessage } from './open.ts';
import { Outcome, type SessionOptions, UpdateDecoder, UpdateMessage } from './update.ts';

export interface RouteRefresh {
  afi: number;
  safi: number;
  /** RFC 7313 §4: 0 request, 1 beginning of route refresh, 2 end of route refresh. */
  subtype: number;
}

/** A decoded message and its classification (scratch, reused by the next decode). */
export class BgpMessage extends Outcome {
  /** Message type from the header (0 when the header itself was bad). */
  type = 0;
  /** Octets the message took (from its header). */
  length = 0;
  open: OpenMessage | undefined = undefined;
  /** A NOTIFICATION received from the peer. */
  received: Notification | undefined = undefined;
  readonly routeRefresh: RouteRefresh = { afi: 0, safi: 0, subtype: 0 };
  readonly update = new UpdateMessage();
}

/** Session state the decoder needs before OPEN is exchanged: 2-octet AS, 4096-octet messages. */
export const BEFORE_OPEN: SessionOptions = { as4: false, extendedMessage: false, ebgp: true, peerAs: 0 };

export class BgpDecoder {
  readonly message = new BgpMessage();
  readonly counters: BgpCounters;
  private readonly updates: UpdateDecoder;
  private session: SessionOptions;

  constructor(session: SessionOptions = BEFORE_OPEN, counters = new BgpCounters(), table?: AttributeTable) {
    this.session = session;
    this.counters = counters;
    this.updates = new UpdateDecoder(session, counters, table);
  }

  /** New session parameters (after the OPEN exchange): cached attribute sets are dropped. */
  setSession(session: SessionOptions): void {
    this.session = session;
    this.updates.session = session;
    this.updates.clearCache();
  }

  get maxLength(): number {
    return this.session.extendedMessage ? BGP_EXTENDED_MAX_LEN : BGP_MAX_LEN;
  }

  /** Attribute cache statistics. */
  get cacheHits(): number {
    return this.updates.hits;
  }
  get cacheMisses(): number {
    return this.updates.misses;
  }

  private fail(m: BgpMessage, reason: number, code: number, subcode: number, data: Uint8Array): BgpMessage {
    this.counters.count(reason);
    m.action = Action.SESSION_RESET;
    m.reason = reason;
    m.notification = { code, subcode, data };
    return m;
  }

  /**
   * Decodes one message at buf[off, off+avail). `avail` must cover the length in the header
   * (messageLength); fewer octets are a bad length. Never throws on wire input.
   */
  decode(buf: Uint8Array, off: number, avail: number): BgpMessage {
    const m = this.message;
    m.clear();
    m.type = 0;
    m.length = 0;
    m.open = undefined;
    m.received = undefined;
    if (avail < BGP_HEADER_LEN) {
      return this.fail(
        m,
        BgpError.HEADER_BAD_LENGTH,
        ERR_MESSAGE_HEADER,
        HEADER_BAD_LENGTH,
        Uint8Array.of(0, avail),
      );
    }
    const h = checkHeader(buf, off, this.maxLength);
    const len = rd16(buf, off + 16);
    if (h !== HEADER_OK) {
      // RFC 4271 §6.1: Bad Message Length carries the length field, Bad Message Type the type.
      const data =
        h === HEADER_BAD_MARKER
          ? new Uint8Array(0)
          : h === HEADER_BAD_LENGTH
            ? buf.slice(off + 16, off + 18)
            : buf.slice(off + 18, off + 19);
      const reason =
        h === HEADER_BAD_MARKER
          ? BgpError.HEADER_BAD_MARKER
          : h === HEADER_BAD_LENGTH
            ? BgpError.HEADER_BAD_LENGTH
            : BgpError.HEADER_BAD_TYPE;
      return this.fail(m, reason, ERR_MESSAGE_HEADER, h, data);
    }
    if (len > avail) {
      return this.fail(
        m,
        BgpError.HEADER_BAD_LENGTH,
        ERR_MESSAGE_HEADER,
        HEADER_BAD_LENGTH,
        buf.slice(off + 16, off + 18),
      );
    }
    m.type = buf[off + 18]!;
    m.length = len;
    switch (m.type) {
      case MSG_OPEN: {
        const r = decodeOpen(buf, off, len);
        if (r.ok) m.open = r.open;
        else return this.fail(m, r.reason, r.notification.code, r.notification.subcode, r.notification.data);
        return m;
      }
      case MSG_UPDATE:
        this.updates.decode(buf, off, len, m.update, m);
        return m;
      case MSG_NOTIFICATION:
        m.received = { code: buf[off + 19]!, subcode: buf[off + 20]!, data: buf.slice(off + 21, off + len) };
        return m;
      case MSG_KEEPALIVE:
        return m;
      case MSG_ROUTE_REFRESH: {
        // RFC 7313 §5: a length other than 23 is a ROUTE-REFRESH Message Error carrying the
        // whole message; an unknown subtype is ignored.
        if (len !== ROUTE_REFRESH_LEN) {
          return this.fail(
            m,
            BgpError.ROUTE_REFRESH_BAD_LENGTH,
            ERR_ROUTE_REFRESH,
            SUB_INVALID_MESSAGE_LENGTH,
            buf.slice(off, off + len),
          );
        }
        const rr = m.routeRefresh;
        rr.afi = rd16(buf, off + 19);
        rr.subtype = buf[off + 21]!;
        rr.safi = buf[off + 22]!;
        if (rr.subtype > RR_EORR) {
          this.counters.count(BgpError.ROUTE_REFRESH_UNKNOWN_SUBTYPE);
          m.action = Action.IGNORE;
          m.reason = BgpError.ROUTE_REFRESH_UNKNOWN_SUBTYPE;
        }
        return m;
      }
      default:
        return m; // unreachable: checkHeader knows the types
    }
  }
}
