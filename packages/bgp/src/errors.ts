// What the decoder concluded about a message, and why. Every outcome other than a clean decode
// carries one reason from BgpError, and every reason is counted (DESIGN §5: every drop is
// counted by reason), so `show bgp neighbors` can say what a peer sent wrong.

/**
 * The classification of a received message (RFC 7606 §2):
 * - OK: use it as decoded (possibly with some attributes discarded, each counted);
 * - TREAT_AS_WITHDRAW: every prefix the UPDATE announces (NLRI field and MP_REACH_NLRI) is to be
 *   handled as withdrawn, as well as those it withdraws;
 * - SESSION_RESET: send `notification` and close the session (RFC 4271 §6);
 * - IGNORE: a message to be dropped without effect (an unknown ROUTE-REFRESH subtype,
 *   RFC 7313 §5; an UPDATE for an address family this codec does not decode).
 */
export const Action = {
  OK: 0,
  TREAT_AS_WITHDRAW: 1,
  SESSION_RESET: 2,
  IGNORE: 3,
} as const;
export type BgpAction = (typeof Action)[keyof typeof Action];

const ACTION_NAMES = ['ok', 'treat-as-withdraw', 'session-reset', 'ignore'];
export function actionName(a: number): string {
  return ACTION_NAMES[a] ?? `action-${a}`;
}

/** Why a message, an attribute or a prefix was not taken as sent. Numbers index counter arrays. */
export const BgpError = {
  NONE: 0,
  // Header (RFC 4271 §6.1).
  HEADER_BAD_MARKER: 1,
  HEADER_BAD_LENGTH: 2,
  HEADER_BAD_TYPE: 3,
  // OPEN (RFC 4271 §6.2, RFC 5492, RFC 9072).
  OPEN_BAD_VERSION: 4,
  OPEN_BAD_PEER_AS: 5,
  OPEN_BAD_BGP_ID: 6,
  OPEN_BAD_HOLD_TIME: 7,
  OPEN_UNSUPPORTED_PARAMETER: 8,
  OPEN_MALFORMED_PARAMETERS: 9,
  OPEN_MALFORMED_CAPABILITY: 10,
  // UPDATE framing (RFC 4271 §6.3, RFC 7606 §3–§5).
  UPDATE_BAD_LENGTHS: 11,
  UPDATE_ATTRIBUTE_OVERRUN: 12,
  UPDATE_BAD_WITHDRAWN: 13,
  UPDATE_BAD_NLRI: 14,
  UPDATE_DUPLICATE_MP: 15,
  UPDATE_DUPLICATE_ATTRIBUTE: 16,
  UPDATE_MISSING_WELL_KNOWN: 17,
  UPDATE_UNRECOGNIZED_WELL_KNOWN: 18,
  UPDATE_UNKNOWN_NON_TRANSITIVE: 19,
  UPDATE_ATTRIBUTE_FLAGS: 20,
  // Per attribute (RFC 7606 §7, RFC 6793 §6, RFC 8092 §6, RFC 7607 §2).
  ORIGIN_MALFORMED: 21,
  AS_PATH_MALFORMED: 22,
  AS_PATH_FIRST_AS: 23,
  AS_PATH_AS_ZERO: 24,
  NEXT_HOP_MALFORMED: 25,
  NEXT_HOP_INVALID: 26,
  MED_MALFORMED: 27,
  LOCAL_PREF_MALFORMED: 28,
  LOCAL_PREF_FROM_EBGP: 29,
  ATOMIC_AGGREGATE_MALFORMED: 30,
  AGGREGATOR_MALFORMED: 31,
  COMMUNITIES_MALFORMED: 32,
  ORIGINATOR_ID_MALFORMED: 33,
  CLUSTER_LIST_MALFORMED: 34,
  MP_REACH_MALFORMED: 35,
  MP_UNREACH_MALFORMED: 36,
  MP_UNSUPPORTED_FAMILY: 37,
  AS4_PATH_MALFORMED: 38,
  AS4_AGGREGATOR_MALFORMED: 39,
  AS4_FROM_NEW_SPEAKER: 40,
  LARGE_COMMUNITIES_MALFORMED: 41,
  // NOTIFICATION and ROUTE-REFRESH (RFC 4271 §4.5, RFC 7313 §5).
  NOTIFICATION_MALFORMED: 42,
  ROUTE_REFRESH_BAD_LENGTH: 43,
  ROUTE_REFRESH_UNKNOWN_SUBTYPE: 44,
} as const;
export type BgpErrorReason = (typeof BgpError)[keyof typeof BgpError];

export const BGP_ERROR_COUNT = 45;

const NAMES: string[] = [];
for (const [name, n] of Object.entries(BgpError)) NAMES[n] = name.toLowerCase().replaceAll('_', '-');

export function bgpErrorName(reason: number): string {
  return NAMES[reason] ?? `bgp-error-${reason}`;
}

/** Counts of outcomes by reason, one per session (or shared). */
export class BgpCounters {
  readonly byReason = new Uint32Array(BGP_ERROR_COUNT);
  total = 0;

  count(reason: number): void {
    this.byReason[reason]!++;
    this.total++;
  }

  /** Non-zero counters by name, for `show` and metrics. */
  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 1; i < BGP_ERROR_COUNT; i++)
      if (this.byReason[i]! > 0) out[bgpErrorName(i)] = this.byReason[i]!;
    return out;
  }
}

/** A NOTIFICATION (RFC 4271 §4.5), to send or as received. */
export interface Notification {
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
}

export const NO_DATA = new Uint8Array(0);
