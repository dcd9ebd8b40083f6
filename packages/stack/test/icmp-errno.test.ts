// The one ICMP → errno table (sockapi/icmp-errors.ts): RFC 1122 §3.2.2.1 / §4.2.3.9 soft and hard
// errors with Linux's errno numbers, and how TCP and UDP act on it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errno } from '@nexthop/stack';
import { icmpErrno, icmpIsHard } from '../src/sockapi/icmp-errors.ts';
import type { TcpConnection } from '../src/tcp/index.ts';
import {
  A_IP,
  A_MAC,
  B_IP,
  B_MAC,
  feed,
  fromA,
  icmpMessage,
  learn,
  parseFrame,
  R0_IP,
  rig,
} from './harness.ts';
import { A, B, Host } from './tcp-harness.ts';

const {
  ECONNREFUSED,
  EHOSTDOWN,
  EHOSTUNREACH,
  ENETUNREACH,
  ENONET,
  ENOPROTOOPT,
  EOPNOTSUPP,
  EPROTO,
  ETIMEDOUT,
} = errno;

/** [code, errno, hard] for every Destination Unreachable code. */
const UNREACHABLE: Array<[number, number, boolean]> = [
  [0, ENETUNREACH, false],
  [1, EHOSTUNREACH, false],
  [2, ENOPROTOOPT, true],
  [3, ECONNREFUSED, true],
  [5, EOPNOTSUPP, false],
  [6, ENETUNREACH, true],
  [7, EHOSTDOWN, true],
  [8, ENONET, true],
  [9, ENETUNREACH, true],
  [10, EHOSTUNREACH, true],
  [11, ENETUNREACH, false],
  [12, EHOSTUNREACH, false],
  [13, EHOSTUNREACH, true],
  [14, EHOSTUNREACH, true],
  [15, EHOSTUNREACH, true],
];

test('Destination Unreachable: Linux errno numbers; 0, 1, 5, 11, 12 soft (RFC 1122 §3.2.2.1), the rest hard', () => {
  for (const [code, e, hard] of UNREACHABLE) {
    assert.equal(icmpErrno(3, code), e, `code ${code}`);
    assert.equal(icmpIsHard(3, code), hard, `code ${code}`);
  }
});

test('fragmentation needed is path MTU information, not an error; unknown codes and types are none', () => {
  assert.equal(icmpErrno(3, 4), 0);
  assert.equal(icmpErrno(3, 16), 0);
  assert.equal(icmpErrno(4, 0), 0, 'source quench (RFC 6633)');
  assert.equal(icmpErrno(5, 1), 0, 'redirect');
  assert.equal(icmpErrno(0, 0), 0, 'echo reply');
});

test('Time Exceeded and Parameter Problem are soft (RFC 1122 §4.2.3.9)', () => {
  for (const code of [0, 1]) {
    assert.equal(icmpErrno(11, code), EHOSTUNREACH);
    assert.equal(icmpIsHard(11, code), false);
  }
  assert.equal(icmpErrno(12, 0), EPROTO);
  assert.equal(icmpIsHard(12, 0), false);
});

/** An ICMP quote (IP header + 8 bytes) of the SYN of c, sent from A to B:PEER. */
function quoteOf(c: TcpConnection, seq: number): Uint8Array {
  const q = new Uint8Array(28);
  q[0] = 0x45;
  q[9] = 6;
  q.set([10, 0, 0, 1], 12);
  q.set([10, 0, 0, 2], 16);
  q[20] = c.localPort >> 8;
  q[21] = c.localPort & 0xff;
  q[22] = 80 >> 8;
  q[23] = 80 & 0xff;
  q.set([seq >>> 24, (seq >>> 16) & 0xff, (seq >>> 8) & 0xff, seq & 0xff], 24);
  return q;
}

test('TCP: a hard error fails a connection in SYN-SENT at once; a soft one is reported at the timeout', () => {
  const h = new Host(A, 3);
  const hard = h.engine.connect(A, 40000, B, 80, 0) as TcpConnection;
  h.engine.icmpError(3, 13, 0, quoteOf(hard, h.take()[0]!.seq), 0, 28, 1);
  assert.equal(hard.state, 'CLOSED', 'communication administratively prohibited');
  assert.equal(hard.takeError(), -EHOSTUNREACH);
  const soft = h.engine.connect(A, 40001, B, 80, 2) as TcpConnection;
  h.engine.icmpError(11, 0, 0, quoteOf(soft, h.take()[0]!.seq), 0, 28, 3);
  assert.equal(soft.state, 'SYN-SENT', 'time exceeded is a hint only');
  const plain = h.engine.connect(A, 40002, B, 80, 2) as TcpConnection;
  h.advance(200_000);
  assert.equal(soft.state, 'CLOSED');
  assert.equal(soft.takeError(), -EHOSTUNREACH, 'the soft error replaces ETIMEDOUT');
  assert.equal(plain.takeError(), -ETIMEDOUT);
});

test('UDP: soft errors reach a connected socket too (RFC 1122 §4.1.3.3), fragmentation needed does not', () => {
  const r = rig();
  learn(r, r.eth0, A_IP, A_MAC);
  learn(r, r.eth1, B_IP, B_MAC);
  const so = r.stack.sockets;
  const fd = so.socket('dgram');
  assert.equal(so.connect(fd, A_IP, 9999, 0), 0);
  assert.equal(so.send(fd, new Uint8Array(12), 0, 12, 0), 12);
  const quote = parseFrame(r.cap.take()[0]!.bytes).ip!.packet.slice(0, 28);
  const cases: Array<[number, number, number]> = [
    [11, 0, EHOSTUNREACH],
    [12, 0, EPROTO],
    [3, 5, EOPNOTSUPP],
    [3, 10, EHOSTUNREACH],
    [3, 4, 0],
  ];
  for (const [type, code, e] of cases) {
    feed(r, r.eth0, fromA({ dst: R0_IP, protocol: 1, payload: icmpMessage(type, code, 0, quote) }), 0);
    assert.equal(so.getOption(fd, 'SO_ERROR'), e, `type ${type} code ${code}`);
  }
});
