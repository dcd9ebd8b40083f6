// Exact segments in and out for the transitions of RFC 9293 §3.3.2 and the RFC 5961 defences.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '@nexthop/wire';
import { ECONNREFUSED, ECONNRESET, EPIPE } from '../src/sockapi/errno.ts';
import { EV_HANGUP, EV_READABLE, EV_WRITABLE } from '../src/sockapi/types.ts';
import { type TcpConfig, type TcpConnection, TcpListener } from '../src/tcp/index.ts';
import { A, B, Host, type Seg } from './tcp-harness.ts';

const PLAIN: Partial<TcpConfig> = { timestamps: false, sack: false, windowScaling: false, msl: 1000 };
const IRS = 5000;
const PEER = 2222;
const LOCAL = 40000;

function one(h: Host): Seg {
  const s = h.take();
  assert.equal(
    s.length,
    1,
    `expected one segment, got ${JSON.stringify(s.map((x) => [x.flags, x.seq, x.ack]))}`,
  );
  return s[0]!;
}

function none(h: Host): void {
  const s = h.take();
  assert.equal(
    s.length,
    0,
    `expected no segment, got ${JSON.stringify(s.map((x) => [x.flags, x.seq, x.ack, x.data.length]))}`,
  );
}

/** Active open to B:PEER; returns the connection and our ISS. */
function active(
  h: Host,
  peerOpts: { mss?: number; window?: number } = {},
): { c: TcpConnection; iss: number } {
  const c = h.engine.connect(A, LOCAL, B, PEER, h.now) as TcpConnection;
  const syn = one(h);
  const iss = syn.seq;
  h.input({
    srcPort: PEER,
    dstPort: LOCAL,
    seq: IRS,
    ack: iss + 1,
    flags: TCP_SYN | TCP_ACK,
    mss: peerOpts.mss ?? 1460,
    window: peerOpts.window ?? 65535,
  });
  const ack = one(h);
  assert.equal(ack.flags, '.');
  assert.equal(c.state, 'ESTABLISHED');
  return { c, iss };
}

function send(h: Host, c: TcpConnection, text: string): number {
  return c.send(new TextEncoder().encode(text), 0, text.length, h.now);
}

function recvText(c: TcpConnection, now: number): string | number {
  const b = new Uint8Array(1000);
  const n = c.recv(b, 0, b.length, now);
  return n > 0 ? new TextDecoder().decode(b.subarray(0, n)) : n;
}

const bytes = (s: string) => new TextEncoder().encode(s);

describe('opening', () => {
  test('active open: SYN with options, SYN-ACK, ACK (CLOSED → SYN-SENT → ESTABLISHED)', () => {
    const h = new Host(A, 1);
    const c = h.engine.connect(A, LOCAL, B, PEER, 0) as TcpConnection;
    assert.equal(c.state, 'SYN-SENT');
    const syn = one(h);
    assert.equal(syn.flags, 'S');
    assert.equal(syn.mss, 1460);
    assert.equal(syn.sackOk, true);
    assert.ok(syn.ts !== null && syn.ts[1] === 0);
    assert.equal(syn.wscale, 5); // a 1 MiB buffer needs a shift of 5 (2^4 × 65535 falls just short)
    assert.equal(syn.window, 65535);
    h.input({
      srcPort: PEER,
      dstPort: LOCAL,
      seq: IRS,
      ack: syn.seq + 1,
      flags: TCP_SYN | TCP_ACK,
      mss: 1400,
      wscale: 2,
      sackOk: true,
      ts: [777, syn.ts![0]],
      window: 1000,
    });
    assert.equal(c.state, 'ESTABLISHED');
    const ack = one(h);
    assert.equal(ack.flags, '.');
    assert.equal(ack.seq, syn.seq + 1);
    assert.equal(ack.ack, IRS + 1);
    assert.deepEqual(ack.ts?.[1], 777);
    assert.equal(c.info().mss, 1400 - 12);
    assert.equal(c.info().sndWnd, 1000); // the window of a SYN is never scaled
    assert.equal(c.events() & EV_WRITABLE, EV_WRITABLE);
  });

  test('passive open: LISTEN → SYN-RECEIVED → ESTABLISHED, accept', () => {
    const h = new Host(A, 2, PLAIN);
    const l = h.engine.listen(0, 80, 4) as TcpListener;
    assert.ok(l instanceof TcpListener);
    assert.equal(h.input({ srcPort: PEER, dstPort: 80, seq: IRS, flags: TCP_SYN, mss: 1000 }), true);
    const sa = one(h);
    assert.equal(sa.flags, 'S.');
    assert.equal(sa.ack, IRS + 1);
    assert.equal(sa.mss, 1460);
    assert.equal(sa.sackOk, false);
    assert.equal(sa.ts, null);
    assert.equal(sa.wscale, -1, 'no window scale offered to a peer that did not offer one');
    assert.equal(l.accept(0), null);
    assert.equal(l.info().synQueue, 1);
    h.input({ srcPort: PEER, dstPort: 80, seq: IRS + 1, ack: sa.seq + 1, flags: TCP_ACK });
    none(h);
    assert.equal(l.events(), EV_READABLE);
    const c = l.accept(0)!;
    assert.equal(c.state, 'ESTABLISHED');
    assert.equal(c.info().mss, 1000);
    assert.equal(l.info().synQueue, 0);
  });

  test('SYN-RECEIVED: a retransmitted SYN gets the SYN-ACK again; a bad ACK gets a reset', () => {
    const h = new Host(A, 3, PLAIN);
    h.engine.listen(0, 80, 4);
    h.input({ srcPort: PEER, dstPort: 80, seq: IRS, flags: TCP_SYN });
    const sa = one(h);
    h.input({ srcPort: PEER, dstPort: 80, seq: IRS, flags: TCP_SYN });
    const again = one(h);
    assert.equal(again.flags, 'S.');
    assert.equal(again.seq, sa.seq);
    h.input({ srcPort: PEER, dstPort: 80, seq: IRS + 1, ack: sa.seq + 99, flags: TCP_ACK });
    const rst = one(h);
    assert.equal(rst.flags, 'R');
    assert.equal(rst.seq, sa.seq + 99);
  });

  test('SYN-RECEIVED (passive) + RST → back to LISTEN, nothing left', () => {
    const h = new Host(A, 4, PLAIN);
    const l = h.engine.listen(0, 80, 4) as TcpListener;
    h.input({ srcPort: PEER, dstPort: 80, seq: IRS, flags: TCP_SYN });
    one(h);
    h.input({ srcPort: PEER, dstPort: 80, seq: IRS + 1, flags: TCP_RST });
    none(h);
    assert.equal(l.info().synQueue, 0);
    assert.equal(h.engine.connectionCount, 0);
  });

  test('simultaneous open: SYN-SENT → SYN-RECEIVED → ESTABLISHED', () => {
    const h = new Host(A, 5, PLAIN);
    const c = h.engine.connect(A, LOCAL, B, PEER, 0) as TcpConnection;
    const syn = one(h);
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS, flags: TCP_SYN });
    assert.equal(c.state, 'SYN-RECEIVED');
    const sa = one(h);
    assert.equal(sa.flags, 'S.');
    assert.equal(sa.seq, syn.seq);
    assert.equal(sa.ack, IRS + 1);
    // The peer's SYN-ACK (its SYN already counted) acknowledges ours: ESTABLISHED, and an ACK goes back.
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS, ack: syn.seq + 1, flags: TCP_SYN | TCP_ACK });
    assert.equal(c.state, 'ESTABLISHED');
    const ack = one(h);
    assert.equal(ack.flags, '.');
    assert.equal(ack.seq, syn.seq + 1);
    assert.equal(ack.ack, IRS + 1);
  });

  test('SYN-SENT: RST with an acceptable ACK → ECONNREFUSED; bad ACK → RST; RST without ACK ignored', () => {
    const h = new Host(A, 6, PLAIN);
    const c = h.engine.connect(A, LOCAL, B, PEER, 0) as TcpConnection;
    const syn = one(h);
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: 0, ack: syn.seq + 5, flags: TCP_ACK });
    const rst = one(h);
    assert.equal(rst.flags, 'R');
    assert.equal(rst.seq, syn.seq + 5);
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: 0, flags: TCP_RST });
    assert.equal(c.state, 'SYN-SENT');
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: 0, ack: syn.seq + 1, flags: TCP_RST | TCP_ACK });
    assert.equal(c.state, 'CLOSED');
    assert.equal(c.takeError(), -ECONNREFUSED);
    assert.equal(h.engine.connectionCount, 0);
  });

  test('no connection and no listener: input returns false (the stack answers with RST)', () => {
    const h = new Host(A, 7, PLAIN);
    assert.equal(h.input({ srcPort: PEER, dstPort: 81, seq: 1, flags: TCP_SYN }), false);
    h.engine.listen(0, 80, 4);
    // LISTEN + ACK: reset too (RFC 9293 §3.10.7.2), done by the stack.
    assert.equal(h.input({ srcPort: PEER, dstPort: 80, seq: 1, ack: 9, flags: TCP_ACK }), false);
    assert.equal(h.input({ srcPort: PEER, dstPort: 80, seq: 1, flags: TCP_RST }), true);
  });

  test('SYN retransmission backs off (1, 2, 4, ... s) then ETIMEDOUT', () => {
    const h = new Host(A, 8, { ...PLAIN, synRetries: 3 });
    const c = h.engine.connect(A, LOCAL, B, PEER, 0) as TcpConnection;
    one(h);
    const times: number[] = [];
    for (const t of [999, 1000, 2999, 3000, 6999, 7000]) {
      h.advance(t);
      for (const s of h.take()) times.push(s.at);
    }
    assert.deepEqual(times, [1000, 3000, 7000]);
    h.advance(15_000);
    assert.equal(c.state, 'CLOSED');
    assert.equal(c.takeError(), -110);
  });
});

describe('data and closing', () => {
  test('data in order: delayed ACK, every second segment ACKed at once', () => {
    const h = new Host(A, 10, PLAIN);
    const { c, iss } = active(h);
    h.input({
      srcPort: PEER,
      dstPort: LOCAL,
      seq: IRS + 1,
      ack: iss + 1,
      flags: TCP_ACK,
      data: bytes('hello'),
    });
    none(h);
    assert.equal(c.events() & EV_READABLE, EV_READABLE);
    h.advance(39);
    none(h);
    h.advance(40);
    const a = one(h);
    assert.equal(a.ack, IRS + 6);
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 6, ack: iss + 1, flags: TCP_ACK, data: bytes('ab') });
    none(h);
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 8, ack: iss + 1, flags: TCP_ACK, data: bytes('cd') });
    assert.equal(one(h).ack, IRS + 10);
    assert.equal(recvText(c, h.now), 'helloabcd');
    assert.equal(recvText(c, h.now), -11);
  });

  test('data out with PSH; Nagle holds a second small segment until the ACK; TCP_NODELAY does not', () => {
    const h = new Host(A, 11, PLAIN);
    const { c, iss } = active(h);
    assert.equal(send(h, c, 'abc'), 3);
    const d = one(h);
    assert.equal(d.flags, 'P.');
    assert.equal(d.seq, iss + 1);
    assert.equal(new TextDecoder().decode(d.data), 'abc');
    send(h, c, 'de');
    none(h);
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 1, ack: iss + 4, flags: TCP_ACK });
    const d2 = one(h);
    assert.equal(new TextDecoder().decode(d2.data), 'de');
    c.nodelay = true;
    send(h, c, 'f');
    assert.equal(one(h).data.length, 1);
  });

  test('passive close: ESTABLISHED → CLOSE-WAIT → LAST-ACK → CLOSED', () => {
    const h = new Host(A, 12, PLAIN);
    const { c, iss } = active(h);
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 1, ack: iss + 1, flags: TCP_FIN | TCP_ACK });
    assert.equal(c.state, 'CLOSE-WAIT');
    const a = one(h);
    assert.equal(a.flags, '.');
    assert.equal(a.ack, IRS + 2);
    assert.equal(recvText(c, h.now), 0);
    // Half-close: we may still send.
    assert.equal(send(h, c, 'bye'), 3);
    one(h);
    c.close(h.now);
    assert.equal(c.state, 'LAST-ACK');
    const fin = one(h);
    assert.equal(fin.flags, 'F.');
    assert.equal(fin.seq, iss + 4);
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 2, ack: iss + 5, flags: TCP_ACK });
    assert.equal(c.state, 'CLOSED');
    assert.equal(h.engine.connectionCount, 0);
  });

  test('active close: FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED after 2 MSL', () => {
    const h = new Host(A, 13, PLAIN);
    const { c, iss } = active(h);
    c.shutdown(false, true, 0);
    assert.equal(c.state, 'FIN-WAIT-1');
    const fin = one(h);
    assert.equal(fin.flags, 'F.');
    assert.equal(send(h, c, 'x'), -EPIPE);
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 1, ack: iss + 2, flags: TCP_ACK });
    assert.equal(c.state, 'FIN-WAIT-2');
    // Half-closed: the peer's data still arrives.
    h.input({
      srcPort: PEER,
      dstPort: LOCAL,
      seq: IRS + 1,
      ack: iss + 2,
      flags: TCP_ACK | TCP_PSH,
      data: bytes('late'),
    });
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 5, ack: iss + 2, flags: TCP_ACK | TCP_FIN });
    assert.equal(c.state, 'TIME-WAIT');
    const last = h.take().at(-1)!;
    assert.equal(last.ack, IRS + 6);
    assert.equal(recvText(c, h.now), 'late');
    assert.equal(recvText(c, h.now), 0);
    // A retransmitted FIN in TIME-WAIT is ACKed again.
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 5, ack: iss + 2, flags: TCP_ACK | TCP_FIN }, B, 500);
    assert.equal(one(h).ack, IRS + 6);
    h.advance(2499);
    assert.equal(c.state, 'TIME-WAIT');
    h.advance(2500);
    assert.equal(c.state, 'CLOSED');
    assert.equal(c.events() & EV_HANGUP, EV_HANGUP);
    assert.equal(h.engine.connectionCount, 0);
  });

  test('simultaneous close: FIN-WAIT-1 → CLOSING → TIME-WAIT', () => {
    const h = new Host(A, 14, PLAIN);
    const { c, iss } = active(h);
    c.close(0);
    one(h);
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 1, ack: iss + 1, flags: TCP_ACK | TCP_FIN });
    assert.equal(c.state, 'CLOSING');
    assert.equal(one(h).ack, IRS + 2);
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 2, ack: iss + 2, flags: TCP_ACK });
    assert.equal(c.state, 'TIME-WAIT');
  });

  test('FIN-WAIT-1 + FIN+ACK of our FIN → TIME-WAIT directly', () => {
    const h = new Host(A, 15, PLAIN);
    const { c, iss } = active(h);
    c.close(0);
    one(h);
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 1, ack: iss + 2, flags: TCP_ACK | TCP_FIN });
    assert.equal(c.state, 'TIME-WAIT');
  });

  test('close with unread data sends RST (RFC 2525 §2.17)', () => {
    const h = new Host(A, 16, PLAIN);
    const { c, iss } = active(h);
    h.input({
      srcPort: PEER,
      dstPort: LOCAL,
      seq: IRS + 1,
      ack: iss + 1,
      flags: TCP_ACK,
      data: bytes('unread'),
    });
    h.take();
    c.close(h.now);
    const r = one(h);
    assert.equal(r.flags, 'R');
    assert.equal(r.seq, iss + 1);
    assert.equal(c.state, 'CLOSED');
  });

  test('a SYN newer than the old incarnation reopens a TIME-WAIT 4-tuple', () => {
    const h = new Host(A, 17, { ...PLAIN, msl: 30_000 });
    const l = h.engine.listen(0, 80, 4) as TcpListener;
    h.input({ srcPort: PEER, dstPort: 80, seq: IRS, flags: TCP_SYN });
    const sa = one(h);
    h.input({ srcPort: PEER, dstPort: 80, seq: IRS + 1, ack: sa.seq + 1, flags: TCP_ACK });
    const c = l.accept(0)!;
    c.close(0);
    one(h);
    h.input({ srcPort: PEER, dstPort: 80, seq: IRS + 1, ack: sa.seq + 2, flags: TCP_ACK | TCP_FIN });
    assert.equal(c.state, 'TIME-WAIT');
    h.take();
    // An old SYN (sequence not above RCV.NXT) is only ACKed; a newer one opens a new connection.
    h.input({ srcPort: PEER, dstPort: 80, seq: IRS, flags: TCP_SYN });
    assert.equal(one(h).flags, '.');
    h.input({ srcPort: PEER, dstPort: 80, seq: IRS + 100_000, flags: TCP_SYN });
    assert.equal(one(h).flags, 'S.');
    assert.equal(c.state, 'CLOSED');
    assert.equal(l.info().synQueue, 1);
  });
});

describe('RFC 5961 and reset handling', () => {
  test('RST with SEQ = RCV.NXT resets (ECONNRESET)', () => {
    const h = new Host(A, 20, PLAIN);
    const { c } = active(h);
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 1, flags: TCP_RST });
    none(h);
    assert.equal(c.state, 'CLOSED');
    assert.equal(recvText(c, h.now), -ECONNRESET);
  });

  test('RST in the window but not exact → challenge ACK; outside the window → ignored', () => {
    const h = new Host(A, 21, PLAIN);
    const { c, iss } = active(h);
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 100, flags: TCP_RST });
    const ch = one(h);
    assert.equal(ch.flags, '.');
    assert.equal(ch.seq, iss + 1);
    assert.equal(ch.ack, IRS + 1);
    assert.equal(c.state, 'ESTABLISHED');
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 1_000_000, flags: TCP_RST });
    none(h);
    assert.equal(c.state, 'ESTABLISHED');
  });

  test('SYN in a synchronized state → challenge ACK, connection kept', () => {
    const h = new Host(A, 22, PLAIN);
    const { c, iss } = active(h);
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 10, flags: TCP_SYN });
    const ch = one(h);
    assert.equal(ch.flags, '.');
    assert.equal(ch.seq, iss + 1);
    assert.equal(ch.ack, IRS + 1);
    assert.equal(c.state, 'ESTABLISHED');
  });

  test('ACK beyond SND.NXT or below SND.UNA - MAX.SND.WND → challenge ACK, data dropped', () => {
    const h = new Host(A, 23, PLAIN);
    const { c, iss } = active(h);
    h.input({
      srcPort: PEER,
      dstPort: LOCAL,
      seq: IRS + 1,
      ack: iss + 100,
      flags: TCP_ACK,
      data: bytes('x'),
    });
    assert.equal(one(h).ack, IRS + 1);
    // 500 ms later: one connection draws at most one challenge ACK per 500 ms.
    h.input(
      {
        srcPort: PEER,
        dstPort: LOCAL,
        seq: IRS + 1,
        ack: iss - 70_000,
        flags: TCP_ACK,
        data: bytes('x'),
      },
      B,
      h.now + 500,
    );
    assert.equal(one(h).ack, IRS + 1);
    assert.equal(recvText(c, h.now), -11);
  });

  test('challenge ACKs are rate limited per connection: one per 500 ms', () => {
    const h = new Host(A, 24, { ...PLAIN, challengeAckLimit: 3 });
    active(h);
    for (let i = 0; i < 10; i++)
      h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 50 + i, flags: TCP_RST }, B, 100);
    assert.equal(h.take().length, 1);
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 50, flags: TCP_RST }, B, 599);
    none(h);
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 50, flags: TCP_RST }, B, 600);
    assert.equal(h.take().length, 1);
    assert.equal(h.engine.stats.challengeAcksSuppressed, 10);
  });

  test('unacceptable segment (old sequence) → ACK with current state', () => {
    const h = new Host(A, 25, PLAIN);
    const { iss } = active(h);
    h.input({
      srcPort: PEER,
      dstPort: LOCAL,
      seq: IRS - 5000,
      ack: iss + 1,
      flags: TCP_ACK,
      data: bytes('old'),
    });
    const a = one(h);
    assert.equal(a.seq, iss + 1);
    assert.equal(a.ack, IRS + 1);
  });
});

describe('options', () => {
  function tsOpen(h: Host): { c: TcpConnection; iss: number } {
    const c = h.engine.connect(A, LOCAL, B, PEER, 0) as TcpConnection;
    const syn = one(h);
    h.input({
      srcPort: PEER,
      dstPort: LOCAL,
      seq: IRS,
      ack: syn.seq + 1,
      flags: TCP_SYN | TCP_ACK,
      mss: 1460,
      ts: [1000, syn.ts![0]],
      wscale: 4,
      window: 4000,
    });
    one(h);
    return { c, iss: syn.seq };
  }

  test('PAWS: a segment with an old timestamp is dropped and ACKed (RFC 7323 §5.3)', () => {
    const h = new Host(A, 30);
    const { c, iss } = tsOpen(h);
    h.input({
      srcPort: PEER,
      dstPort: LOCAL,
      seq: IRS + 1,
      ack: iss + 1,
      flags: TCP_ACK,
      ts: [1010, 0],
      data: bytes('new'),
    });
    h.advance(100);
    h.take();
    h.input({
      srcPort: PEER,
      dstPort: LOCAL,
      seq: IRS + 4,
      ack: iss + 1,
      flags: TCP_ACK,
      ts: [1005, 0],
      data: bytes('old'),
    });
    const a = one(h);
    assert.equal(a.ack, IRS + 4);
    assert.equal(a.ts![1], 1010);
    assert.equal(h.engine.stats.pawsRejected, 1);
    assert.equal(recvText(c, h.now), 'new');
  });

  test('window scaling: the peer window is shifted, ours is advertised shifted', () => {
    const h = new Host(A, 31);
    const { c, iss } = tsOpen(h);
    h.input({
      srcPort: PEER,
      dstPort: LOCAL,
      seq: IRS + 1,
      ack: iss + 1,
      flags: TCP_ACK,
      ts: [1001, 0],
      window: 100,
    });
    assert.equal(c.info().sndWnd, 1600);
    send(h, c, 'x');
    const d = one(h);
    assert.equal(d.window, (256 * 1024) >> 3);
  });

  test('SYN cookies when the SYN queue is full; a valid cookie ACK makes a connection', () => {
    const h = new Host(A, 32, { ...PLAIN, synQueue: 1 });
    const l = h.engine.listen(0, 80, 8) as TcpListener;
    h.input({ srcPort: 1000, dstPort: 80, seq: 1, flags: TCP_SYN, mss: 1460 });
    one(h);
    h.input({ srcPort: 1001, dstPort: 80, seq: 77, flags: TCP_SYN, mss: 1460 });
    const sa = one(h);
    assert.equal(sa.flags, 'S.');
    assert.equal(sa.ack, 78);
    assert.equal(l.info().synCookiesSent, 1);
    assert.equal(l.info().synQueue, 1, 'no state kept for the cookie');
    // A forged ACK is refused (the stack resets it).
    assert.equal(h.input({ srcPort: 1001, dstPort: 80, seq: 78, ack: sa.seq + 2, flags: TCP_ACK }), false);
    assert.equal(
      h.input({ srcPort: 1001, dstPort: 80, seq: 78, ack: sa.seq + 1, flags: TCP_ACK, data: bytes('hi') }),
      true,
    );
    const c = l.accept(h.now)!;
    assert.equal(c.state, 'ESTABLISHED');
    assert.equal(c.info().mss, 1460);
    assert.equal(recvText(c, h.now), 'hi');
    assert.equal(h.engine.stats.synCookiesAccepted, 1);
    // A cookie from long ago is no longer valid.
    h.advance(500);
    h.take();
    h.input({ srcPort: 1002, dstPort: 80, seq: 500, flags: TCP_SYN, mss: 1460 }, B, 1000);
    const old = one(h);
    assert.equal(
      h.input({ srcPort: 1002, dstPort: 80, seq: 501, ack: old.seq + 1, flags: TCP_ACK }, B, 400_000),
      false,
    );
  });

  test('accept queue full: SYNs are dropped', () => {
    const h = new Host(A, 33, PLAIN);
    const l = h.engine.listen(0, 80, 1) as TcpListener;
    h.input({ srcPort: 1000, dstPort: 80, seq: 1, flags: TCP_SYN });
    const sa = one(h);
    h.input({ srcPort: 1000, dstPort: 80, seq: 2, ack: sa.seq + 1, flags: TCP_ACK });
    h.input({ srcPort: 1001, dstPort: 80, seq: 1, flags: TCP_SYN });
    none(h);
    assert.equal(l.info().pending, 1);
  });
});

describe('timers and recovery', () => {
  test('retransmission timeout doubles (RFC 6298 §5.5) and gives up with ETIMEDOUT', () => {
    const h = new Host(A, 40, { ...PLAIN, maxRetries: 3 });
    const { c, iss } = active(h);
    send(h, c, 'data');
    const first = one(h);
    const times: number[] = [];
    for (let t = 1; t < 20_000; t += 50) {
      h.advance(t);
      for (const s of h.take()) {
        assert.equal(s.seq, iss + 1);
        times.push(s.at - first.at);
      }
      if (c.state === 'CLOSED') break;
    }
    assert.equal(times.length, 3);
    const gaps = [times[0]!, times[1]! - times[0]!, times[2]! - times[1]!];
    assert.ok(gaps[1]! >= 2 * gaps[0]! - 50 && gaps[2]! >= 2 * gaps[1]! - 50, `gaps ${gaps}`);
    assert.equal(c.state, 'CLOSED');
    assert.equal(c.takeError(), -110);
  });

  test('fast retransmit on the third duplicate ACK (NewReno)', () => {
    const h = new Host(A, 41, { ...PLAIN, congestion: 'newreno' });
    const { c, iss } = active(h);
    const data = new Uint8Array(1460 * 6);
    c.send(data, 0, data.length, 0);
    const segs = h.take();
    assert.equal(segs.length, 6);
    for (let i = 0; i < 2; i++) {
      h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 1, ack: iss + 1, flags: TCP_ACK });
      none(h);
    }
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 1, ack: iss + 1, flags: TCP_ACK });
    const rx = one(h);
    assert.equal(rx.seq, iss + 1);
    assert.equal(rx.data.length, 1460);
    assert.equal(h.engine.stats.fastRetransmits, 1);
    // Partial ACK: the next hole goes out at once (RFC 6582).
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 1, ack: iss + 1 + 1460, flags: TCP_ACK });
    const next = h.take();
    assert.equal(next[0]!.seq, iss + 1 + 1460);
  });

  test('SACK recovery retransmits the holes the scoreboard shows (RFC 6675)', () => {
    const h = new Host(A, 42);
    const c = h.engine.connect(A, LOCAL, B, PEER, 0) as TcpConnection;
    const syn = one(h);
    const iss = syn.seq;
    h.input({
      srcPort: PEER,
      dstPort: LOCAL,
      seq: IRS,
      ack: iss + 1,
      flags: TCP_SYN | TCP_ACK,
      mss: 1460,
      sackOk: true,
    });
    one(h);
    assert.equal(c.sackOk, true);
    const data = new Uint8Array(1460 * 8);
    c.send(data, 0, data.length, 0);
    const segs = h.take();
    assert.equal(segs.length, 8);
    const s = (i: number) => iss + 1 + i * 1460;
    // Segments 0 and 2 lost; 1, 3, 4, 5 arrive.
    const sackAck = (blocks: Array<[number, number]>) =>
      h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 1, ack: s(0), flags: TCP_ACK, sack: blocks });
    sackAck([[s(1), s(2)]]);
    sackAck([
      [s(3), s(4)],
      [s(1), s(2)],
    ]);
    none(h);
    sackAck([
      [s(3), s(5)],
      [s(1), s(2)],
    ]);
    const rx = h.take();
    assert.ok(rx.length >= 1);
    assert.equal(rx[0]!.seq, s(0));
    sackAck([
      [s(3), s(6)],
      [s(1), s(2)],
    ]);
    const rx2 = h.take().map((x) => x.seq);
    assert.ok(
      rx2.includes(s(2)),
      `expected hole 2 retransmitted, got ${rx2.map((x) => (x - iss - 1) / 1460)}`,
    );
    assert.equal(h.engine.stats.sackRecoveries, 1);
  });

  test('zero window: persist timer probes, window update resumes sending', () => {
    const h = new Host(A, 43, PLAIN);
    const { c, iss } = active(h, { window: 4 });
    send(h, c, 'abcdefgh');
    const d = one(h);
    assert.equal(d.data.length, 4);
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 1, ack: iss + 5, flags: TCP_ACK, window: 0 });
    none(h);
    h.advance(h.now + 5000);
    const probes = h.take();
    assert.ok(probes.length >= 2, `probes ${probes.length}`);
    for (const p of probes) {
      assert.equal(p.seq, iss + 5);
      assert.equal(p.data.length, 1);
    }
    assert.equal(c.state, 'ESTABLISHED');
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 1, ack: iss + 5, flags: TCP_ACK, window: 100 });
    const rest = one(h);
    assert.equal(rest.seq, iss + 5);
    assert.equal(new TextDecoder().decode(rest.data), 'efgh');
  });

  test('a reader that stops: the window closes, the sender gets EAGAIN, memory stays bounded', () => {
    const h = new Host(A, 44, { ...PLAIN, recvBuffer: 4096, sendBuffer: 8192 });
    const { c, iss } = active(h);
    // The peer sends 4096 bytes: our window must reach 0 and not accept more.
    const chunk = new Uint8Array(1000);
    let seq = IRS + 1;
    for (let i = 0; i < 5; i++) {
      h.input({ srcPort: PEER, dstPort: LOCAL, seq, ack: iss + 1, flags: TCP_ACK, data: chunk });
      seq += 1000;
    }
    h.advance(h.now + 200);
    const acks = h.take();
    const last = acks.at(-1)!;
    assert.equal(last.ack, IRS + 1 + 4096, 'only what fits is acknowledged');
    assert.equal(last.window, 0);
    assert.equal(c.info().recvQueue, 4096);
    // Our own sending side: bounded by SO_SNDBUF.
    const big = new Uint8Array(20_000);
    assert.equal(c.send(big, 0, big.length, h.now), 8192);
    assert.equal(c.send(big, 0, big.length, h.now), -11);
  });

  test('keepalive: probes after TCP_KEEPIDLE, ETIMEDOUT after TCP_KEEPCNT unanswered', () => {
    const h = new Host(A, 45, PLAIN);
    const { c, iss } = active(h);
    c.setKeepalive(true);
    c.setKeepIdle(10);
    c.keepInterval = 2;
    c.keepCount = 3;
    h.advance(9_999);
    none(h);
    h.advance(10_000);
    const p = one(h);
    assert.equal(p.seq, iss);
    assert.equal(p.ack, IRS + 1);
    // An answer resets the count.
    h.input({ srcPort: PEER, dstPort: LOCAL, seq: IRS + 1, ack: iss + 1, flags: TCP_ACK }, B, 10_050);
    h.advance(20_049);
    none(h);
    h.advance(20_050);
    one(h);
    h.advance(26_049);
    assert.equal(h.take().length, 2);
    assert.equal(c.state, 'ESTABLISHED');
    h.advance(26_050);
    assert.equal(c.state, 'CLOSED');
    assert.equal(c.takeError(), -110);
  });

  test('ICMP fragmentation needed lowers the MSS and resends smaller segments', () => {
    const h = new Host(A, 46, PLAIN);
    const { c, iss } = active(h);
    const data = new Uint8Array(3000);
    c.send(data, 0, data.length, 0);
    const segs = h.take();
    assert.equal(segs[0]!.data.length, 1460);
    const quote = new Uint8Array(28);
    quote[0] = 0x45;
    quote[9] = 6;
    quote.set([10, 0, 0, 1], 12);
    quote.set([10, 0, 0, 2], 16);
    quote[20] = LOCAL >> 8;
    quote[21] = LOCAL & 0xff;
    quote[22] = PEER >> 8;
    quote[23] = PEER & 0xff;
    quote.set([(iss + 1) >>> 24, ((iss + 1) >>> 16) & 0xff, ((iss + 1) >>> 8) & 0xff, (iss + 1) & 0xff], 24);
    h.engine.icmpError(3, 4, 1000, quote, 0, 28, 1);
    const again = h.take();
    assert.ok(again.length >= 1);
    assert.equal(again[0]!.seq, iss + 1);
    assert.equal(again[0]!.data.length, 960);
    assert.equal(c.info().mss, 960);
  });

  test('ICMP port unreachable in SYN-SENT → ECONNREFUSED; host unreachable is soft until the timeout', () => {
    const h = new Host(A, 47, { ...PLAIN, synRetries: 1 });
    const quoteFor = (c: TcpConnection, seq: number) => {
      const q = new Uint8Array(28);
      q[0] = 0x45;
      q[9] = 6;
      q.set([10, 0, 0, 1], 12);
      q.set([10, 0, 0, 2], 16);
      q[20] = c.localPort >> 8;
      q[21] = c.localPort & 0xff;
      q[22] = PEER >> 8;
      q[23] = PEER & 0xff;
      q.set([seq >>> 24, (seq >>> 16) & 0xff, (seq >>> 8) & 0xff, seq & 0xff], 24);
      return q;
    };
    const c1 = h.engine.connect(A, LOCAL, B, PEER, 0) as TcpConnection;
    const syn1 = one(h);
    h.engine.icmpError(3, 3, 0, quoteFor(c1, syn1.seq), 0, 28, 1);
    assert.equal(c1.state, 'CLOSED');
    assert.equal(c1.takeError(), -ECONNREFUSED);
    const c2 = h.engine.connect(A, LOCAL + 1, B, PEER, 10) as TcpConnection;
    const syn2 = one(h);
    h.engine.icmpError(3, 1, 0, quoteFor(c2, syn2.seq), 0, 28, 20);
    assert.equal(c2.state, 'SYN-SENT');
    h.advance(10_000);
    assert.equal(c2.state, 'CLOSED');
    assert.equal(c2.takeError(), -113);
  });
});
