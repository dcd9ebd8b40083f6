// The Node client against in-process VR stacks (the remote socket server's own test harness): a and b
// are two stacks on one wire, each with a server; the client opens sockets in both.
import assert from 'node:assert/strict';
import { once } from 'node:events';
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

describe('rsock-client against in-process VRs', () => {
  let w: World;
  before(() => {
    w = makeWorld({ quotas: { clientSockets: 6 } });
  });
  after(() => {
    closeSessions();
    w.close();
  });

  test('connect() and createServer(): data both ways, writes before connect are queued, addresses set', async () => {
    const server = createServer({ vr: 'b', runDir: w.dir, allowHalfOpen: true }, (s) => {
      assert.equal(s.remoteAddress, '10.0.0.1');
      readAll(s).then((text) => s.end(`echo:${text}`));
    });
    await new Promise<void>((resolve) => server.listen(7001, resolve));
    assert.deepEqual(server.address(), { address: '0.0.0.0', family: 'IPv4', port: 7001 });
    const c = connect({ vr: 'a', runDir: w.dir, host: '10.0.0.2', port: 7001 });
    assert.equal(c.connecting, true);
    c.write('early ');
    c.end('bird');
    await once(c, 'connect');
    assert.equal(c.remoteAddress, '10.0.0.2');
    assert.equal(c.remotePort, 7001);
    assert.equal(c.localAddress, '10.0.0.1');
    assert.ok(c.localPort! >= 1024);
    assert.equal(await readAll(c), 'echo:early bird');
    await new Promise<void>((resolve) => server.close(() => resolve()));
    assert.equal(server.address(), null);
  });

  test('a refused connect emits ECONNREFUSED with the address; the callback never runs', async () => {
    const c = connect({ vr: 'a', runDir: w.dir, host: '10.0.0.2', port: 7999 }, () =>
      assert.fail('connected'),
    );
    const closed = new Promise((resolve) => c.once('close', resolve));
    const e = await errorOf(c);
    assert.equal(e.code, 'ECONNREFUSED');
    assert.equal(e.errno, -111);
    assert.equal(e.syscall, 'connect');
    assert.equal(e.address, '10.0.0.2');
    assert.equal(e.port, 7999);
    await closed;
  });

  test('UDP: datagrams both ways with the sender in rinfo', async () => {
    const sb = createSocket({ vr: 'b', runDir: w.dir, type: 'udp4' });
    await new Promise<void>((resolve) => sb.bind(5300, resolve));
    sb.on('message', (msg: Buffer, rinfo: RemoteInfo) =>
      sb.send(Buffer.concat([Buffer.from('re:'), msg]), rinfo.port, rinfo.address),
    );
    const sa = createSocket({ vr: 'a', runDir: w.dir, type: 'udp4' });
    const got: [string, RemoteInfo][] = [];
    const three = new Promise<void>((resolve) =>
      sa.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
        got.push([msg.toString(), rinfo]);
        if (got.length === 3) resolve();
      }),
    );
    const sent: number[] = [];
    for (const text of ['one', 'two', 'three'])
      sa.send(text, 5300, '10.0.0.2', (e, n) => {
        assert.equal(e, null);
        sent.push(n!);
      });
    await three;
    assert.deepEqual(got.map(([t]) => t).sort(), ['re:one', 're:three', 're:two']);
    assert.deepEqual(got[0]![1], {
      address: '10.0.0.2',
      family: 'IPv4',
      port: 5300,
      size: got[0]![0].length,
    });
    assert.deepEqual(sent, [3, 3, 5]);
    assert.ok(sa.address().port >= 1024);
    await Promise.all([
      new Promise((r) => sa.close(() => r(null))),
      new Promise((r) => sb.close(() => r(null))),
    ]);
  });

  test('a VR that is not running: ENOENT naming the VR and the run-dir', async () => {
    const c = connect({ vr: 'nope', runDir: w.dir, host: '10.0.0.2', port: 1 });
    const e = await errorOf(c);
    assert.equal(e.code, 'ENOENT');
    assert.match(
      e.message,
      new RegExp(`VR nope is not running: nothing listens at ${w.dir}/nope.sock \\(run-dir ${w.dir}\\)`),
    );
    const u = createSocket({ vr: 'nope', runDir: w.dir, type: 'udp4' });
    const failed = errorOf(u);
    u.bind(0);
    const e2 = await failed;
    assert.equal(e2.code, 'ENOENT');
    u.close();
  });

  test('the socket quota: EMFILE with the limit, other VRs keep working', async () => {
    const held: ReturnType<typeof createSocket>[] = [];
    let refused: SocketError | null = null;
    for (let i = 0; i < 8 && refused === null; i++) {
      const u = createSocket({ vr: 'a', runDir: w.dir, type: 'udp4' });
      held.push(u);
      const r = Promise.race([once(u, 'listening').then(() => null), errorOf(u)]);
      u.bind(0);
      const failed = await r;
      if (failed !== null) refused = failed;
    }
    assert.ok(refused !== null, 'no EMFILE');
    assert.equal(refused.code, 'EMFILE');
    assert.match(refused.message, /quota of 6 sockets/);
    const other = createSocket({ vr: 'b', runDir: w.dir, type: 'udp4' });
    await new Promise<void>((resolve) => other.bind(0, resolve));
    other.close();
    for (const u of held) u.close();
  });

  test('the VR going away fails a pending connect and closes its sockets; a new VR works', async () => {
    const w2 = makeWorld();
    try {
      const server = createServer({ vr: 'b', runDir: w2.dir }, () => {});
      await new Promise<void>((resolve) => server.listen(7004, resolve));
      const serverError = errorOf(server);
      const serverClosed = new Promise((resolve) => server.once('close', resolve));
      const udp = createSocket({ vr: 'a', runDir: w2.dir, type: 'udp4' });
      await new Promise<void>((resolve) => udp.bind(0, resolve));
      const udpError = errorOf(udp);
      // Nobody answers ARP for 10.0.0.9: this connect waits until the VR goes.
      const pending = connect({ vr: 'a', runDir: w2.dir, host: '10.0.0.9', port: 80 });
      const pendingError = errorOf(pending);
      await new Promise((r) => setTimeout(r, 50));
      w2.a.server.close();
      w2.b.server.close();
      assert.equal((await pendingError).code, 'ECONNRESET');
      assert.equal((await udpError).code, 'ECONNRESET');
      assert.equal((await serverError).code, 'ECONNRESET');
      await serverClosed;
    } finally {
      w2.close();
    }
    // A new world in the same place: the next call opens a new control connection.
    const w3 = makeWorld();
    try {
      const server = createServer({ vr: 'b', runDir: w3.dir }, (s) => s.end('hi'));
      await new Promise<void>((resolve) => server.listen(7005, resolve));
      const c = connect({ vr: 'a', runDir: w3.dir, host: '10.0.0.2', port: 7005 });
      assert.equal(await readAll(c), 'hi');
      server.close();
    } finally {
      closeSessions();
      w3.close();
    }
  });
});

test('a process not on the access list: EACCES with the VR and the server message', async () => {
  const w = makeWorld({ uids: [4242424] });
  try {
    const c = connect({ vr: 'a', runDir: w.dir, host: '10.0.0.2', port: 80 });
    const e = await errorOf(c);
    assert.equal(e.code, 'EACCES');
    assert.match(
      e.message,
      new RegExp(`VR a refused this process: uid ${process.getuid!()} is not on the access list of VR a`),
    );
  } finally {
    closeSessions();
    w.close();
  }
});
