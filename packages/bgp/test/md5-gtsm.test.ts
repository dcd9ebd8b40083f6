// RFC 2385 and RFC 5082 as the engine asks the socket layer for them: the key of a peer with a
// password on its listener and on the connection it opens, kept in step with the configuration;
// GTSM's TTL 255 sent and 255 required on the peer's connections.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIpv4, parseIpv6 } from '@nexthop/addr';
import { ACCEPT_ALL, type BgpConfig, BgpEngine, type BgpPeerConfig, type RouteSink } from '../src/index.ts';
import { type FakeSocket, FakeSockets } from './fake-sockets.ts';

const NO_SINK: RouteSink = { update4() {}, update6() {}, withdrawAll() {} };
const V4 = parseIpv4('10.0.0.2');
const V6 = parseIpv6('2001:db8::2');
const KEY4 = `md5 ${V4}`;
const KEY6 = `md5 ${[...V6].join('.')}`;

function config(peers: BgpPeerConfig[]): BgpConfig {
  return { localAs: 65001, routerId: parseIpv4('10.0.0.1'), peers };
}

const peer = (
  name: string,
  address: number | Uint8Array,
  extra: Partial<BgpPeerConfig> = {},
): BgpPeerConfig => ({
  name,
  address,
  remoteAs: 65002,
  import: ACCEPT_ALL,
  export: ACCEPT_ALL,
  ...extra,
});

function listeners(s: FakeSockets): { v4: FakeSocket; v6: FakeSocket } {
  const l = [...s.sockets.values()].filter((x) => x.listening);
  return { v4: l.find((x) => x.family === 4)!, v6: l.find((x) => x.family === 6)! };
}

function outgoing(s: FakeSockets, family: 4 | 6): FakeSocket[] {
  return [...s.sockets.values()].filter((x) => !x.listening && x.family === family);
}

test('a password keys the listener of its family and the connection the peer opens', () => {
  const sockets = new FakeSockets();
  const e = new BgpEngine({
    sockets,
    sink: NO_SINK,
    config: config([
      peer('a', V4, { password: 's3cret' }),
      peer('b', V6, { password: 'other' }),
      peer('c', parseIpv4('10.0.0.3')),
    ]),
  });
  e.start(0);
  const { v4, v6 } = listeners(sockets);
  assert.equal(v4.options[KEY4], 's3cret');
  assert.equal(v6.options[KEY6], 'other');
  assert.equal(Object.keys(v4.options).filter((k) => k.startsWith('md5')).length, 1, 'no key for c');
  const [a] = outgoing(sockets, 4).filter((x) => x.remote === V4);
  assert.equal(a?.options[KEY4], 's3cret', 'the key is set before connect');
});

test('changing or removing a password restarts the session and re-keys the listener', () => {
  const sockets = new FakeSockets();
  const e = new BgpEngine({ sockets, sink: NO_SINK, config: config([peer('a', V4, { password: 'one' })]) });
  e.start(0);
  const { v4 } = listeners(sockets);
  assert.equal(e.reconfigure(config([peer('a', V4, { password: 'two' })]), 1000), true);
  assert.equal(v4.options[KEY4], 'two');
  const opened = outgoing(sockets, 4).filter((x) => x.remote === V4);
  assert.equal(opened.length, 2, 'a new connection for the new key');
  assert.equal(opened[1]?.options[KEY4], 'two');
  assert.equal(e.reconfigure(config([peer('a', V4)]), 2000), true);
  assert.equal(v4.options[KEY4], undefined, 'the key is deleted');
});

test('GTSM sends with TTL 255 and requires 255 on the peer’s connections (RFC 5082 §3)', () => {
  const sockets = new FakeSockets();
  const e = new BgpEngine({
    sockets,
    sink: NO_SINK,
    config: config([peer('a', V4, { gtsm: true }), peer('b', V6, { gtsm: true })]),
  });
  e.start(0);
  const [a] = outgoing(sockets, 4);
  const [b] = outgoing(sockets, 6);
  assert.equal(a?.options['IP_TTL'], 255);
  assert.equal(a?.options['IP_MINTTL'], 255);
  assert.equal(b?.options['IPV6_UNICAST_HOPS'], 255);
  assert.equal(b?.options['IPV6_MINHOPCOUNT'], 255);
  assert.equal(e.show(0).peers[0]?.gtsm, 'ttl 255 sent, 255 required');
});
