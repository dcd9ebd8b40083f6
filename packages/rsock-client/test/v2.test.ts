// The Node client and protocol version 2 (docs/remote-socket-protocol.md §13): it offers 1…2 and
// speaks what the VR chooses — version 2 with a current server, version 1 with one capped to it (as
// an older VR answers) — with the same API either way; IPv6 reaches the VR's stack on version 2 (TCP
// and UDP) and is refused by the client itself on version 1.
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { makeWorld, type World } from '../../rsock-server/test/harness.ts';
import {
  closeSessions,
  connect,
  createServer,
  createSocket,
  type RemoteInfo,
  type SocketError,
} from '../src/index.ts';
import { sessionFor } from '../src/session.ts';

function readAll(s: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      text += d;
    });
    s.on('end', () => resolve(text));
    s.on('error', reject);
  });
}

function errorOf(s: { once(e: 'error', f: (e: Error) => void): unknown }): Promise<SocketError> {
  return new Promise((resolve) => s.once('error', (e) => resolve(e as SocketError)));
}

/** TCP and UDP through a and b, as an application sees them: the same whatever the version. */
async function exchange(w: World, port: number): Promise<void> {
  const server = createServer({ vr: 'b', runDir: w.dir, allowHalfOpen: true }, (s) => {
    assert.equal(s.remoteAddress, '10.0.0.1');
    assert.equal(s.remoteFamily, 'IPv4');
    readAll(s).then((text) => s.end(`echo:${text}`));
  });
  await new Promise<void>((resolve) => server.listen(port, resolve));
  assert.deepEqual(server.address(), { address: '0.0.0.0', family: 'IPv4', port });
  const c = connect({ vr: 'a', runDir: w.dir, host: '10.0.0.2', port, localPort: port + 1 });
  c.end('v');
  assert.equal(await readAll(c), 'echo:v');
  assert.deepEqual([c.localAddress, c.localPort, c.localFamily], ['10.0.0.1', port + 1, 'IPv4']);
  await new Promise<void>((resolve) => server.close(() => resolve()));

  const sb = createSocket({ vr: 'b', runDir: w.dir, type: 'udp4' });
  await new Promise<void>((resolve) => sb.bind(port, '10.0.0.2', resolve));
  assert.deepEqual(sb.address(), { address: '10.0.0.2', family: 'IPv4', port });
  sb.on('message', (msg: Buffer, rinfo: RemoteInfo) => sb.send(msg, rinfo.port, rinfo.address));
  const sa = createSocket({ vr: 'a', runDir: w.dir, type: 'udp4' });
  const got = new Promise<[string, RemoteInfo]>((resolve) =>
    sa.once('message', (msg: Buffer, rinfo: RemoteInfo) => resolve([msg.toString(), rinfo])),
  );
  sa.send('datagram', port, '10.0.0.2');
  const [text, rinfo] = await got;
  assert.equal(text, 'datagram');
  assert.deepEqual(rinfo, { address: '10.0.0.2', family: 'IPv4', port, size: 8 });
  // Fragmented on the wire, one datagram on the pair each way.
  const bigBack = new Promise<number>((resolve) => sa.once('message', (m: Buffer) => resolve(m.length)));
  sa.send(Buffer.alloc(60_000, 7), port, '10.0.0.2');
  assert.equal(await bigBack, 60_000);
  await Promise.all([
    new Promise((r) => sa.close(() => r(null))),
    new Promise((r) => sb.close(() => r(null))),
  ]);
}

describe('rsock-client: a version-2 VR', () => {
  let w: World;
  before(() => {
    w = makeWorld();
  });
  after(() => {
    closeSessions();
    w.close();
  });

  test('the session speaks version 2; TCP and UDP (the 64-byte header) work as before', async () => {
    await exchange(w, 7200);
    assert.equal(sessionFor({ vr: 'a', runDir: w.dir }).version, 2);
    assert.equal(sessionFor({ vr: 'b', runDir: w.dir }).version, 2);
  });

  test('a dual-stack server on [::] in the VR takes IPv6 and IPv4 clients; udp6 both ways', async () => {
    const seen: string[] = [];
    const server = createServer({ vr: 'b', runDir: w.dir, allowHalfOpen: true }, (s) => {
      seen.push(`${s.remoteFamily} ${s.remoteAddress}`);
      readAll(s).then((text) => s.end(`echo:${text}`));
    });
    await new Promise<void>((resolve) => server.listen(7210, '::', resolve));
    assert.deepEqual(server.address(), { address: '::', family: 'IPv6', port: 7210 });
    for (const host of ['2001:db8::2', '10.0.0.2']) {
      const c = connect({ vr: 'a', runDir: w.dir, host, port: 7210 });
      c.end(host);
      assert.equal(await readAll(c), `echo:${host}`);
      if (host.includes(':')) assert.deepEqual([c.localAddress, c.localFamily], ['2001:db8::1', 'IPv6']);
    }
    // An IPv4 client of an AF_INET6 socket is v4-mapped (RFC 4291 §2.5.5.2), as Node shows it.
    assert.deepEqual(seen, ['IPv6 2001:db8::1', 'IPv6 ::ffff:10.0.0.1']);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const sb = createSocket({ vr: 'b', runDir: w.dir, type: 'udp6' });
    await new Promise<void>((resolve) => sb.bind(7211, resolve));
    assert.deepEqual(sb.address(), { address: '::', family: 'IPv6', port: 7211 });
    sb.on('message', (msg: Buffer, rinfo: RemoteInfo) => sb.send(msg, rinfo.port, rinfo.address));
    const sa = createSocket({ vr: 'a', runDir: w.dir, type: 'udp6' });
    const got = new Promise<[string, RemoteInfo]>((resolve) =>
      sa.once('message', (msg: Buffer, rinfo: RemoteInfo) => resolve([msg.toString(), rinfo])),
    );
    sa.send('datagram6', 7211, '2001:db8::2');
    const [text, rinfo] = await got;
    assert.equal(text, 'datagram6');
    assert.deepEqual(rinfo, { address: '2001:db8::2', family: 'IPv6', port: 7211, size: 9 });
    await Promise.all([
      new Promise((r) => sa.close(() => r(null))),
      new Promise((r) => sb.close(() => r(null))),
    ]);
  });

  test('UDP: an IPv6 destination on a udp4 socket is EAFNOSUPPORT; names are not addresses', async () => {
    const u = createSocket({ vr: 'a', runDir: w.dir, type: 'udp4' });
    const e = await new Promise<Error | null>((resolve) => u.send('x', 53, '2001:db8::53', resolve));
    assert.equal((e as SocketError).code, 'EAFNOSUPPORT');
    assert.throws(() => u.send('x', 53, 'localhost'), TypeError);
    assert.throws(() => connect({ vr: 'a', runDir: w.dir, host: 'example.org', port: 80 }), TypeError);
    u.close();
  });
});

describe('rsock-client: a VR that speaks version 1 only', () => {
  let w: World;
  before(() => {
    w = makeWorld({ maxVersion: 1 });
  });
  after(() => {
    closeSessions();
    w.close();
  });

  test('the session falls back to version 1; TCP and UDP (the 20-byte header) work', async () => {
    await exchange(w, 7300);
    assert.equal(sessionFor({ vr: 'a', runDir: w.dir }).version, 1);
  });

  test('IPv6 is EAFNOSUPPORT from the client itself: version 1 is IPv4 only', async () => {
    const before = w.a.server.counters().rsock_malformed_requests;
    const c = connect({ vr: 'a', runDir: w.dir, host: '::1', port: 80 });
    const e = await errorOf(c);
    assert.equal(e.code, 'EAFNOSUPPORT');
    assert.match(e.message, /speaks remote socket protocol version 1: IPv4 only/);
    const u6 = createSocket({ vr: 'a', runDir: w.dir, type: 'udp6' });
    const failed = errorOf(u6);
    u6.bind(0);
    assert.equal((await failed).code, 'EAFNOSUPPORT');
    u6.close();
    assert.equal(w.a.server.counters().rsock_malformed_requests, before);
  });
});
