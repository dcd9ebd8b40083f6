// The connection states of RFC 9293 §3.3.2 (figure 5). Numbers, so that a state test is an integer
// compare on the hot path; ESTABLISHED and every state after it are synchronized (§3.10.7.4).

export const S_CLOSED = 0;
export const S_LISTEN = 1;
export const S_SYN_SENT = 2;
export const S_SYN_RECEIVED = 3;
export const S_ESTABLISHED = 4;
export const S_FIN_WAIT_1 = 5;
export const S_FIN_WAIT_2 = 6;
export const S_CLOSE_WAIT = 7;
export const S_CLOSING = 8;
export const S_LAST_ACK = 9;
export const S_TIME_WAIT = 10;

export const STATE_NAMES = [
  'CLOSED',
  'LISTEN',
  'SYN-SENT',
  'SYN-RECEIVED',
  'ESTABLISHED',
  'FIN-WAIT-1',
  'FIN-WAIT-2',
  'CLOSE-WAIT',
  'CLOSING',
  'LAST-ACK',
  'TIME-WAIT',
];

/** States in which new data may be sent (RFC 9293 §3.10.2: SEND is queued or sent). */
export function canSendData(st: number): boolean {
  return st === S_ESTABLISHED || st === S_CLOSE_WAIT;
}

/** States whose output() sends data, a FIN or retransmissions: the window is open to us. */
export function sendsSegments(st: number): boolean {
  return (
    st === S_ESTABLISHED ||
    st === S_CLOSE_WAIT ||
    st === S_FIN_WAIT_1 ||
    st === S_CLOSING ||
    st === S_LAST_ACK
  );
}

/** States that accept segment text (RFC 9293 §3.10.7.4, seventh). */
export function receivesText(st: number): boolean {
  return st === S_ESTABLISHED || st === S_FIN_WAIT_1 || st === S_FIN_WAIT_2;
}
