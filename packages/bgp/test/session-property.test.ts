// Property: whatever bytes an Established peer sends — random, or valid messages mutated, in
// random pieces — the engine never throws and never waits on unbounded input: each run ends with
// the session up (the input was accepted, or is an incomplete message no larger than the stream
// buffer's bound), or with a NOTIFICATION sent and the connection closed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4 } from '@nexthop/addr';
import fc from 'fast-check';
import { ACCEPT_ALL, BgpEngine, EV_READABLE, EV_WRITABLE } from '../src/index.ts';
import { FakeSockets } from './fake-sockets.ts';
import { build, describe, LogSink } from './script.ts';

function established() {
  const log: string[] = [];
  const sockets = new FakeSockets(log);
  sockets.describe = describe;
  const engine = new BgpEngine({
    sockets,
    sink: new LogSink(log),
    config: {
      localAs: 65001,
      routerId: parseIpv4('10.0.0.1'),
      peers: [
        {
          name: 'p',
          address: parseIpv4('10.0.0.2'),
          remoteAs: 65002,
          import: ACCEPT_ALL,
          export: ACCEPT_ALL,
          maxPrefixes: 1000,
        },
      ],
    },
  });
  engine.announce4(parseIpv4('10.9.0.0'), 16);
  engine.start(0);
  const c = sockets.byName('c1');
  engine.socketEvent(c.fd, EV_WRITABLE, 0);
  c.rx.push(build({ type: 'OPEN', as: 65002, id: '10.0.0.2' }), build({ type: 'KEEPALIVE' }));
  engine.socketEvent(c.fd, EV_READABLE, 0);
  engine.poll(0);
  assert.equal(engine.show(0).peers[0]!.state, 'Established');
  c.tx.length = 0;
  return { engine, sockets, c };
}

const VALID = [
  build({ type: 'UPDATE', announce: ['10.1.0.0/16', '10.2.3.0/24'], path: [65002, 65010] }),
  build({ type: 'UPDATE', announce6: ['2001:db8:1::/48'], path: [65002] }),
  build({ type: 'UPDATE', withdraw: ['10.1.0.0/16'] }),
  build({ type: 'KEEPALIVE' }),
  build({ type: 'ROUTE-REFRESH', afi: 1, safi: 1 }),
];

const input = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 600 }),
  // A valid message with a few octets changed, cut or extended.
  fc
    .record({
      msg: fc.constantFrom(...VALID),
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      cut: fc.nat({ max: 8 }),
      tail: fc.uint8Array({ maxLength: 8 }),
    })
    .map(({ msg, edits, cut, tail }) => {
      const b = msg.slice(0, Math.max(19, msg.length - cut));
      for (const [at, v] of edits) b[16 + (at % (b.length - 16))] = v;
      const out = new Uint8Array(b.length + tail.length);
      out.set(b);
      out.set(tail, b.length);
      return out;
    }),
);

test('property: random and mutated input to an Established session: accepted or a NOTIFICATION, never a throw', () => {
  let notified = 0;
  let accepted = 0;
  fc.assert(
    fc.property(fc.array(input, { minLength: 1, maxLength: 6 }), fc.nat({ max: 64 }), (chunks, piece) => {
      const { engine, sockets, c } = established();
      for (const chunk of chunks) {
        // Delivered in pieces: the stream buffer must reassemble messages across reads.
        const step = piece + 1;
        for (let i = 0; i < chunk.length; i += step) c.rx.push(chunk.subarray(i, i + step));
        engine.socketEvent(c.fd, EV_READABLE, 1);
        engine.poll(1);
        if (c.closed) break;
      }
      const p = engine.show(1).peers[0]!;
      if (c.closed) {
        // The last thing sent before the close is a NOTIFICATION.
        const sent = sockets.log.filter((l) => l.startsWith('c1 > '));
        assert.equal(c.tx.length, 0, 'only whole messages were sent');
        assert.ok(
          sent.at(-1)?.startsWith('c1 > NOTIFICATION'),
          `closed without NOTIFICATION: ${sent.slice(-3).join(' | ')}`,
        );
        assert.notEqual(p.state, 'Established');
        notified++;
      } else {
        assert.equal(p.state, 'Established');
        accepted++;
      }
    }),
    { seed: 4271, numRuns: 3000 },
  );
  assert.ok(notified > 0 && accepted > 0, `notified ${notified}, accepted ${accepted}`);
});

test('the stream buffer is bounded: a peer announcing a 4096-octet message and sending it slowly holds at most that', () => {
  const { engine, sockets, c } = established();
  const header = new Uint8Array(19).fill(0xff);
  header[16] = 0x10; // length 4096
  header[17] = 0x00;
  header[18] = 2;
  c.rx.push(header);
  for (let i = 0; i < 100; i++) c.rx.push(new Uint8Array(40));
  engine.socketEvent(c.fd, EV_READABLE, 1);
  assert.equal(engine.show(1).peers[0]!.state, 'Established');
  const conn = engine.peer('p')!.conns[0]!;
  assert.equal(conn.inLen, 19 + 4000);
  assert.ok(conn.in.length <= 2 * 4096);
  // The message completes (4096 octets of an UPDATE holding only zero-length prefixes); what
  // follows is no header (its marker is zeros): Connection Not Synchronized.
  for (let i = 0; i < 100; i++) c.rx.push(new Uint8Array(40));
  engine.socketEvent(c.fd, EV_READABLE, 1);
  assert.ok(c.closed);
  assert.ok(
    sockets.log.some((l) => l.startsWith('c1 > NOTIFICATION 1/1')),
    sockets.log.join('\n'),
  );
});
