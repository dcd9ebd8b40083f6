// SOCKET_CONNECT (docs/remote-socket-protocol.md §13.11): SOCKET and CONNECT as one request of
// version 2. Answered SOCKET_OK with the descriptor at once, then the connect's outcome with the same
// id; every refusal before a socket exists is one ERROR and nothing made.
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadUnix } from '@nexthop/native';
import {
  ACCEPT_NONBLOCK,
  AF_INET,
  AF_INET6,
  endpoint4,
  endpoint6,
  newEndpoint,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOCKET_CONNECT_FILLER,
  SOCKET_CONNECT_WAIT,
} from '@nexthop/rsock-proto';
import { errno } from '@nexthop/stack';
import { errnoOf, expectControl, expectKind, type Reply, TestClient } from './client.ts';
import { ADDR_B, makeWorld, type World } from './harness.ts';

const u = loadUnix();
const V6 = Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function readAll(s: Socket): Promise<string> {
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

function readByte(fd: number): Promise<void> {
  const b = new Uint8Array(1);
  return new Promise((resolve) => {
    const w = u.unixWatch(fd, () => {
      if (u.unixRead(fd, b, 0, 1) === 1) {
        u.unixWatchClose(w);
        resolve();
      }
    });
    u.unixWatchEvents(w, 1);
  });
}

/** A refused SOCKET_CONNECT: one ERROR, no descriptor, and no second reply (a second would throw). */
async function refused(c: TestClient, body: Parameters<TestClient['requestTwice']>[0]): Promise<number> {
  const { first } = c.requestTwice(body);
  const r = await first;
  assert.equal(r.fd, -1);
  return errnoOf(r);
}

function sc(
  family: number,
  type: number,
  ep = endpoint4(ADDR_B, 9),
  flags = 0,
  protocol = 0,
): Parameters<TestClient['requestTwice']>[0] {
  return { kind: 'socket-connect', family, type, protocol, ep, flags };
}

describe('SOCKET_CONNECT', () => {
  let w: World;
  before(() => {
    w = makeWorld({ quotas: { clientSockets: 4 } });
  });
  after(() => w.close());

  async function listener(port: number): Promise<{ client: TestClient; id: number; fd: number }> {
    const { client } = await TestClient.open(w.b.path, 'listener', 2);
    const l = await client.request({ kind: 'socket', family: AF_INET, type: SOCK_STREAM, protocol: 0 });
    const id = expectKind(l, 'socket-ok').socket;
    expectKind(await client.request({ kind: 'bind', socket: id, ep: endpoint4(0, port) }), 'ok');
    expectKind(await client.request({ kind: 'listen', socket: id, backlog: 8 }), 'ok');
    return { client, id, fd: l.fd };
  }

  async function accept(l: { client: TestClient; id: number; fd: number }): Promise<Reply> {
    await readByte(l.fd);
    return l.client.request({ kind: 'accept', socket: l.id, flags: ACCEPT_NONBLOCK });
  }

  test('TCP: SOCKET_OK with the descriptor, then OK once connected; data flows; the socket is attached', async () => {
    const l = await listener(7200);
    const { client } = await TestClient.open(w.a.path, 'sc', 2);
    const { first, second } = client.requestTwice(sc(AF_INET, SOCK_STREAM, endpoint4(ADDR_B, 7200)));
    const ok = await first;
    const id = expectKind(ok, 'socket-ok').socket;
    assert.ok(ok.fd >= 0);
    expectKind(await second, 'ok');
    const acc = await accept(l);
    expectControl(acc, 'accept-ok');
    const peer = expectControl(await client.request({ kind: 'getpeername', socket: id }), 'addr-ok');
    assert.deepEqual(peer.ep, endpoint4(ADDR_B, 7200));
    // A second CONNECT on it is EISCONN, as on a socket made by SOCKET then CONNECT.
    const again = await client.request({
      kind: 'connect',
      socket: id,
      ep: endpoint4(ADDR_B, 7200),
      flags: 0,
    });
    assert.equal(errnoOf(again), errno.EISCONN);
    const sa = new Socket({ fd: ok.fd, readable: true, writable: true });
    const sb = new Socket({ fd: acc.fd, readable: true, writable: true });
    const got = readAll(sb);
    sa.end('one exchange');
    assert.equal(await got, 'one exchange');
    sb.end();
    await readAll(sa);
    sa.destroy();
    sb.destroy();
    client.close();
    l.client.close();
    u.unixClose(l.fd);
    await until('the sockets to close', () => w.a.server.usage().sockets === 0);
  });

  test('TCP with FILLER: the filler is the server’s, discarded on success, never seen by the peer', async () => {
    const l = await listener(7201);
    const { client } = await TestClient.open(w.a.path, 'sc', 2);
    const { first, second } = client.requestTwice(
      sc(AF_INET, SOCK_STREAM, endpoint4(ADDR_B, 7201), SOCKET_CONNECT_FILLER),
    );
    const ok = await first;
    expectKind(ok, 'socket-ok');
    expectKind(await second, 'ok');
    const acc = await accept(l);
    // The filler was read off the pair by the server once connected: the end takes the app's bytes,
    // and the peer sees only them.
    const sa = new Socket({ fd: ok.fd, readable: true, writable: true });
    const sb = new Socket({ fd: acc.fd, readable: true, writable: true });
    const got = readAll(sb);
    sa.end('after the filler');
    assert.equal(await got, 'after the filler');
    sb.end();
    await readAll(sa);
    sa.destroy();
    sb.destroy();
    client.close();
    l.client.close();
    u.unixClose(l.fd);
    await until('the sockets to close', () => w.a.server.usage().sockets === 0);
  });

  test('a refused connect: SOCKET_OK, then ECONNREFUSED; with FILLER the socket is gone (EBADF) and the end failed', async () => {
    const { client } = await TestClient.open(w.a.path, 'sc', 2);
    const plain = client.requestTwice(sc(AF_INET, SOCK_STREAM, endpoint4(ADDR_B, 7299)));
    const p1 = await plain.first;
    const pid = expectKind(p1, 'socket-ok').socket;
    assert.equal(errnoOf(await plain.second), errno.ECONNREFUSED);
    // Without FILLER the socket stays, as after a failed CONNECT.
    expectControl(await client.request({ kind: 'getsockname', socket: pid }), 'addr-ok');
    u.unixClose(p1.fd);
    const filled = client.requestTwice(
      sc(AF_INET, SOCK_STREAM, endpoint4(ADDR_B, 7299), SOCKET_CONNECT_FILLER),
    );
    const f1 = await filled.first;
    const fid = expectKind(f1, 'socket-ok').socket;
    assert.equal(errnoOf(await filled.second), errno.ECONNREFUSED);
    assert.equal(errnoOf(await client.request({ kind: 'getsockname', socket: fid })), errno.EBADF);
    // The server's end is closed with the filler's last byte unread: the app's end is reset.
    const b = new Uint8Array(1);
    const r = u.unixRead(f1.fd, b, 0, 1);
    assert.ok(r === 0 || r === -errno.ECONNRESET, `read ${r}`);
    u.unixClose(f1.fd);
    client.close();
    await until('the sockets to close', () => w.a.server.usage().sockets === 0);
  });

  test('WAIT: one reply — SOCKET_OK with the descriptor once connected, or the ERROR with the socket gone', async () => {
    const l = await listener(7202);
    const { client } = await TestClient.open(w.a.path, 'sc', 2);
    // request, not requestTwice: a second reply would be unexpected and throw.
    const ok = await client.request(sc(AF_INET, SOCK_STREAM, endpoint4(ADDR_B, 7202), SOCKET_CONNECT_WAIT));
    const id = expectKind(ok, 'socket-ok').socket;
    assert.ok(ok.fd >= 0);
    const acc = await accept(l);
    const again = await client.request({
      kind: 'connect',
      socket: id,
      ep: endpoint4(ADDR_B, 7202),
      flags: 0,
    });
    assert.equal(errnoOf(again), errno.EISCONN);
    const sa = new Socket({ fd: ok.fd, readable: true, writable: true });
    const sb = new Socket({ fd: acc.fd, readable: true, writable: true });
    const got = readAll(sb);
    sa.end('waited');
    assert.equal(await got, 'waited');
    sb.end();
    await readAll(sa);
    sa.destroy();
    sb.destroy();
    l.client.close();
    u.unixClose(l.fd);
    const no = await client.request(sc(AF_INET, SOCK_STREAM, endpoint4(ADDR_B, 7298), SOCKET_CONNECT_WAIT));
    assert.equal(errnoOf(no), errno.ECONNREFUSED);
    assert.equal(no.fd, -1);
    const udp = await client.request(sc(AF_INET, SOCK_DGRAM, endpoint4(ADDR_B, 53), SOCKET_CONNECT_WAIT));
    const uid = expectKind(udp, 'socket-ok').socket;
    const peer = expectControl(await client.request({ kind: 'getpeername', socket: uid }), 'addr-ok');
    assert.deepEqual(peer.ep, endpoint4(ADDR_B, 53));
    u.unixClose(udp.fd);
    const both = SOCKET_CONNECT_WAIT | SOCKET_CONNECT_FILLER;
    assert.equal(
      await refused(client, sc(AF_INET, SOCK_STREAM, endpoint4(ADDR_B, 7202), both)),
      errno.EINVAL,
    );
    client.close();
    await until('the sockets to close', () => w.a.server.usage().sockets === 0);
  });

  test('UDP: SOCKET_OK, then OK at once; the peer is set', async () => {
    const { client } = await TestClient.open(w.a.path, 'sc', 2);
    const { first, second } = client.requestTwice(sc(AF_INET, SOCK_DGRAM, endpoint4(ADDR_B, 53)));
    const ok = await first;
    const id = expectKind(ok, 'socket-ok').socket;
    expectKind(await second, 'ok');
    const peer = expectControl(await client.request({ kind: 'getpeername', socket: id }), 'addr-ok');
    assert.deepEqual(peer.ep, endpoint4(ADDR_B, 53));
    u.unixClose(ok.fd);
    client.close();
    await until('the socket to close', () => w.a.server.usage().sockets === 0);
  });

  test('refusals are one ERROR and make nothing: type, family, protocol, flags, endpoint', async () => {
    const { client } = await TestClient.open(w.a.path, 'sc', 2);
    assert.equal(await refused(client, sc(AF_INET, 3)), errno.ESOCKTNOSUPPORT);
    assert.equal(await refused(client, sc(1, SOCK_STREAM)), errno.EAFNOSUPPORT);
    assert.equal(
      await refused(client, sc(AF_INET, SOCK_STREAM, endpoint4(ADDR_B, 9), 0, 17)),
      errno.EPROTONOSUPPORT,
    );
    assert.equal(
      await refused(client, sc(AF_INET, SOCK_DGRAM, endpoint4(ADDR_B, 9), 0, 6)),
      errno.EPROTONOSUPPORT,
    );
    assert.equal(await refused(client, sc(AF_INET, SOCK_STREAM, endpoint4(ADDR_B, 9), 1)), errno.EINVAL); // UNSPEC's bit
    assert.equal(await refused(client, sc(AF_INET, SOCK_STREAM, endpoint4(ADDR_B, 9), 0x08)), errno.EINVAL);
    assert.equal(
      await refused(client, sc(AF_INET, SOCK_DGRAM, endpoint4(ADDR_B, 9), SOCKET_CONNECT_FILLER)),
      errno.EINVAL,
    );
    // No endpoint, or one the socket's family cannot take.
    assert.equal(await refused(client, sc(AF_INET, SOCK_STREAM, newEndpoint())), errno.EINVAL);
    assert.equal(
      await refused(client, sc(AF_INET, SOCK_STREAM, endpoint6(V6, 80, 0, 0))),
      errno.EAFNOSUPPORT,
    );
    assert.equal(await refused(client, sc(AF_INET6, SOCK_STREAM, endpoint4(ADDR_B, 80))), errno.EAFNOSUPPORT);
    assert.equal(w.a.server.usage().sockets, 0);
    // Still answering: the connection stayed up through all of them.
    const d = client.requestTwice(sc(AF_INET, SOCK_DGRAM));
    expectKind(await d.first, 'socket-ok');
    expectKind(await d.second, 'ok');
    u.unixClose((await d.first).fd);
    client.close();
    await until('the socket to close', () => w.a.server.usage().sockets === 0);
  });

  test('the socket quota: EMFILE, nothing made, as SOCKET', async () => {
    const { client } = await TestClient.open(w.a.path, 'sc', 2);
    const fds: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = client.requestTwice(sc(AF_INET, SOCK_DGRAM));
      fds.push((await r.first).fd);
      expectKind(await r.second, 'ok');
    }
    assert.equal(await refused(client, sc(AF_INET, SOCK_DGRAM)), errno.EMFILE);
    assert.equal(
      await refused(client, sc(AF_INET, SOCK_STREAM, endpoint4(ADDR_B, 7200), SOCKET_CONNECT_FILLER)),
      errno.EMFILE,
    );
    assert.equal(w.a.server.usage().sockets, 4);
    for (const fd of fds) u.unixClose(fd);
    client.close();
    await until('the sockets to close', () => w.a.server.usage().sockets === 0);
  });

  test('on a version-1 connection it is an unknown type: EOPNOTSUPP, the connection stays up', async () => {
    const { client } = await TestClient.open(w.a.path, 'v1');
    assert.equal(client.version, 1);
    const id = client.newId();
    const bytes = client.encode({ ...sc(AF_INET, SOCK_STREAM, endpoint4(ADDR_B, 7200)), id } as never, 2);
    bytes[4] = 1; // a version-1 header, as a version-1 client would send type 0x000e
    const reply = client.replyTo(id);
    assert.equal(client.sendRaw(bytes), bytes.length);
    const r = await reply;
    assert.equal(errnoOf(r), errno.EOPNOTSUPP);
    assert.equal(r.fd, -1);
    expectKind(
      await client.request({ kind: 'socket', family: AF_INET, type: SOCK_DGRAM, protocol: 0 }),
      'socket-ok',
    );
    assert.equal(w.a.server.usage().sockets, 1);
    client.close();
  });
});

test('SOCKET_CONNECT after the uid is taken off the access list: the connection is closed, nothing made', async () => {
  const w = makeWorld();
  try {
    const { client } = await TestClient.open(w.a.path, 'sc', 2);
    w.a.server.setPolicy(
      { uids: [4242424], gids: [], privilegedPorts: { uids: [], gids: [] } },
      {
        clientSockets: 64,
        clientBufferedBytes: 1 << 26,
        sockets: 1024,
        bufferedBytes: 1 << 30,
        clientConnections: 64,
        connections: 1024,
      },
    );
    await client.whenClosed();
    const again = await TestClient.open(w.a.path, 'sc', 2);
    assert.equal(expectKind({ message: again.hello, fd: -1 }, 'error').errno, errno.EACCES);
    assert.equal(w.a.server.usage().sockets, 0);
  } finally {
    w.close();
  }
});
