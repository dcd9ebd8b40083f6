import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadUnix } from '@nexthop/native';
import {
  ACCEPT_NONBLOCK,
  AF_INET,
  DGRAM_PKTINFO,
  decodeDgramHeader,
  encode,
  encodeDgramHeader,
  IP_PKTINFO,
  IPPROTO_IP,
  newDgramHeader,
  SO_ERROR,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
} from '@nexthop/rsock-proto';
import { errno } from '@nexthop/stack';
import { errnoOf, expectKind, TestClient } from './client.ts';
import { ADDR_A, ADDR_B, makeWorld, type World } from './harness.ts';

const u = loadUnix();

function streamOf(fd: number): Socket {
  return new Socket({ fd, readable: true, writable: true });
}

function readAll(s: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => resolve(Buffer.concat(parts)));
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

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('remote socket server', () => {
  let w: World;
  before(() => {
    w = makeWorld({ quotas: { clientSockets: 6 } });
  });
  after(() => w.close());

  test('HELLO is answered with the quota and the VR name; a second HELLO closes the connection', async () => {
    const { client, hello } = await TestClient.open(w.a.path);
    const ok = expectKind({ message: hello, fd: -1 }, 'hello-ok');
    assert.equal(ok.version, 1);
    assert.equal(ok.maxSockets, 6);
    assert.equal(ok.vrName, 'a');
    const r = await client.request({
      kind: 'hello',
      minVersion: 1,
      maxVersion: 1,
      flags: 0,
      clientName: 'x',
    });
    assert.equal(errnoOf(r), 71);
    await client.whenClosed();
  });

  test('a request before HELLO is EPROTO and closes; an unknown type is EOPNOTSUPP and keeps it', async () => {
    const c1 = new TestClient(w.a.path);
    const r1 = await c1.request({ kind: 'socket', family: AF_INET, type: SOCK_STREAM, protocol: 0 });
    assert.equal(errnoOf(r1), 71);
    await c1.whenClosed();
    const { client } = await TestClient.open(w.a.path);
    const raw = new Uint8Array(16);
    raw.set([0x4e, 0x48, 0x52, 0x53, 1, 0, 0x77, 0x00, 99, 0, 0, 0, 0, 0, 0, 0]);
    const reply = client.replyTo(99);
    client.sendRaw(raw);
    assert.equal(errnoOf(await reply), errno.EOPNOTSUPP);
    const s = await client.request({ kind: 'socket', family: AF_INET, type: SOCK_DGRAM, protocol: 0 });
    expectKind(s, 'socket-ok');
    u.unixClose(s.fd);
    client.close();
  });

  test('TCP: a connection from a to a listener in b carries 1 MB each way intact; the peer is a', async () => {
    const { client: ca } = await TestClient.open(w.a.path);
    const { client: cb } = await TestClient.open(w.b.path);
    const l = await cb.request({ kind: 'socket', family: AF_INET, type: SOCK_STREAM, protocol: 0 });
    const lid = expectKind(l, 'socket-ok').socket;
    expectKind(await cb.request({ kind: 'bind', socket: lid, addr: 0, port: 7000 }), 'ok');
    expectKind(await cb.request({ kind: 'listen', socket: lid, backlog: 8 }), 'ok');

    const c = await ca.request({ kind: 'socket', family: AF_INET, type: SOCK_STREAM, protocol: 0 });
    const cid = expectKind(c, 'socket-ok').socket;
    const token = readByte(l.fd);
    const connected = ca.request({ kind: 'connect', socket: cid, addr: ADDR_B, port: 7000, flags: 0 });
    expectKind(await connected, 'ok');
    await token;
    const acc = await cb.request({ kind: 'accept', socket: lid, flags: ACCEPT_NONBLOCK });
    const accepted = expectKind(acc, 'accept-ok');
    assert.equal(accepted.addr, ADDR_A);
    const again = await cb.request({ kind: 'accept', socket: lid, flags: ACCEPT_NONBLOCK });
    assert.equal(errnoOf(again), errno.EAGAIN);

    const peer = await cb.request({ kind: 'getpeername', socket: accepted.socket });
    assert.equal(expectKind(peer, 'addr-ok').addr, ADDR_A);
    const err = await ca.request({
      kind: 'getsockopt',
      socket: cid,
      level: SOL_SOCKET,
      name: SO_ERROR,
      maxLength: 4,
    });
    assert.deepEqual([...expectKind(err, 'opt-ok').value], [0, 0, 0, 0]);
    const up = randomBytes(1 << 20);
    const down = randomBytes(1 << 20);
    const sa = streamOf(c.fd);
    const sb = streamOf(acc.fd);
    const gotAtB = readAll(sb);
    const gotAtA = readAll(sa);
    sa.end(up);
    sb.end(down);
    assert.equal(sha(await gotAtB), sha(up));
    assert.equal(sha(await gotAtA), sha(down));
    sa.destroy();
    sb.destroy();
    u.unixClose(l.fd);
    // The last copies are closed: the server closes the VR sockets (hang-up on its ends).
    await until('the sockets of b to close', () => w.b.stack.sockets.list().every((r) => r.fd < 0));
    ca.close();
    cb.close();
  });

  test('TCP: connect to a closed port is answered ECONNREFUSED and SO_ERROR stays readable elsewhere', async () => {
    const { client } = await TestClient.open(w.a.path);
    const c = await client.request({ kind: 'socket', family: AF_INET, type: SOCK_STREAM, protocol: 0 });
    const id = expectKind(c, 'socket-ok').socket;
    const r = await client.request({ kind: 'connect', socket: id, addr: ADDR_B, port: 7999, flags: 0 });
    assert.equal(errnoOf(r), errno.ECONNREFUSED);
    // Another connection (a forked child) attaches by the descriptor and reads SO_ERROR once.
    const { client: other } = await TestClient.open(w.a.path);
    const denied = await other.request({ kind: 'getsockname', socket: id });
    assert.equal(errnoOf(denied), errno.EBADF);
    const att = expectKind(await other.request({ kind: 'attach' }, Int32Array.of(c.fd)), 'attach-ok');
    assert.equal(att.socket, id);
    assert.equal(att.type, SOCK_STREAM);
    const e1 = await other.request({
      kind: 'getsockopt',
      socket: id,
      level: SOL_SOCKET,
      name: SO_ERROR,
      maxLength: 4,
    });
    assert.equal(expectKind(e1, 'opt-ok').value[0], errno.ECONNREFUSED);
    const e2 = await other.request({
      kind: 'getsockopt',
      socket: id,
      level: SOL_SOCKET,
      name: SO_ERROR,
      maxLength: 4,
    });
    assert.equal(expectKind(e2, 'opt-ok').value[0], 0);
    // The application end reads end of file.
    assert.equal((await readAll(streamOf(c.fd))).length, 0);
    client.close();
    other.close();
  });

  test('UDP: datagrams both ways with the header, IP_PKTINFO gives the interface and local address', async () => {
    const { client: ca } = await TestClient.open(w.a.path);
    const { client: cb } = await TestClient.open(w.b.path);
    const sb = await cb.request({ kind: 'socket', family: AF_INET, type: SOCK_DGRAM, protocol: 0 });
    const bid = expectKind(sb, 'socket-ok').socket;
    expectKind(await cb.request({ kind: 'bind', socket: bid, addr: 0, port: 5353 }), 'ok');
    expectKind(
      await cb.request({
        kind: 'setsockopt',
        socket: bid,
        level: IPPROTO_IP,
        name: IP_PKTINFO,
        value: Uint8Array.of(1, 0, 0, 0),
      }),
      'ok',
    );
    const sa = await ca.request({ kind: 'socket', family: AF_INET, type: SOCK_DGRAM, protocol: 0 });
    const aid = expectKind(sa, 'socket-ok').socket;
    const h = newDgramHeader();
    const out = new Uint8Array(20 + 5);
    h.peerAddr = ADDR_B;
    h.peerPort = 5353;
    encodeDgramHeader(h, out, 0);
    out.set(new TextEncoder().encode('hello'), 20);
    assert.equal(u.unixSendMsg(sa.fd, out, 0, out.length, null), out.length);
    const got = await recvDgram(sb.fd);
    const rh = newDgramHeader();
    assert.equal(decodeDgramHeader(got, 0, got.length, rh), 20);
    assert.equal(rh.peerAddr, ADDR_A);
    assert.equal(rh.flags, DGRAM_PKTINFO);
    assert.equal(rh.ifindex, 1);
    assert.equal(rh.localAddr, ADDR_B);
    assert.equal(new TextDecoder().decode(got.subarray(20)), 'hello');
    // And back to the sender's port.
    const back = new Uint8Array(20 + 3);
    h.peerAddr = rh.peerAddr;
    h.peerPort = rh.peerPort;
    encodeDgramHeader(h, back, 0);
    back.set([1, 2, 3], 20);
    u.unixSendMsg(sb.fd, back, 0, back.length, null);
    const got2 = await recvDgram(sa.fd);
    assert.deepEqual([...got2.subarray(20)], [1, 2, 3]);
    assert.equal(decodeDgramHeader(got2, 0, got2.length, rh), 20);
    assert.equal(rh.flags, 0);
    assert.equal(rh.peerAddr, ADDR_B);
    const name = await ca.request({ kind: 'getsockname', socket: aid });
    assert.ok(expectKind(name, 'addr-ok').port >= 32768);
    u.unixClose(sa.fd);
    u.unixClose(sb.fd);
    ca.close();
    cb.close();
  });

  test('the socket quota answers EMFILE with a message; other clients keep working', async () => {
    const { client } = await TestClient.open(w.a.path);
    const fds: number[] = [];
    let refused = null;
    for (let i = 0; i < 10; i++) {
      const r = await client.request({ kind: 'socket', family: AF_INET, type: SOCK_DGRAM, protocol: 0 });
      if (r.message.kind === 'error') {
        refused = r.message;
        break;
      }
      fds.push(r.fd);
    }
    assert.ok(refused !== null);
    assert.equal(refused.errno, errno.EMFILE);
    assert.match(refused.message, /quota of 6 sockets/);
    const { client: b } = await TestClient.open(w.b.path);
    expectKind(
      await b.request({ kind: 'socket', family: AF_INET, type: SOCK_DGRAM, protocol: 0 }),
      'socket-ok',
    );
    for (const fd of fds) u.unixClose(fd);
    client.close();
    b.close();
  });

  test('a client that floods requests and never reads the replies is dropped; others keep working', async () => {
    const flooder = new TestClient(w.a.path);
    await flooder.request({ kind: 'hello', minVersion: 1, maxVersion: 1, flags: 0, clientName: 'flood' });
    // From now on it only writes: nothing reads its replies, so they pile up in the server.
    flooder.stopReading();
    const dropped = w.a.server.counters().rsock_slow_clients_dropped;
    const out = new Uint8Array(64);
    let sent = 0;
    const dropped_ = () => w.a.server.counters().rsock_slow_clients_dropped > dropped;
    for (let id = 1000; id < 100_000 && !dropped_(); id++) {
      const n = encode({ kind: 'getsockname', id, socket: 4_000_000 }, out);
      // The server reads in turns; when its side is full the flood waits a turn and goes on.
      while (flooder.sendRaw(out.subarray(0, n)) !== n && !dropped_())
        await new Promise((r) => setImmediate(r));
      sent++;
    }
    await until('the flooder to be dropped', dropped_);
    assert.ok(sent > 256, `only ${sent} requests went out`);
    const { client } = await TestClient.open(w.a.path);
    expectKind(
      await client.request({ kind: 'socket', family: AF_INET, type: SOCK_DGRAM, protocol: 0 }),
      'socket-ok',
    );
    client.close();
    flooder.close();
  });

  test('binding a port below 1024 without uid 0 or a grant is EACCES', async (t) => {
    if (process.getuid!() === 0) {
      t.skip('running as root');
      return;
    }
    const { client } = await TestClient.open(w.a.path);
    const s = await client.request({ kind: 'socket', family: AF_INET, type: SOCK_STREAM, protocol: 0 });
    const r = await client.request({
      kind: 'bind',
      socket: expectKind(s, 'socket-ok').socket,
      addr: 0,
      port: 80,
    });
    assert.equal(errnoOf(r), errno.EACCES);
    u.unixClose(s.fd);
    client.close();
  });
});

test('a uid that is not on the access list is refused with EACCES and a message naming it', async () => {
  const w = makeWorld({ uids: [4242424] });
  try {
    const c = new TestClient(w.a.path);
    const r = await c.request({ kind: 'hello', minVersion: 1, maxVersion: 1, flags: 0, clientName: 'x' });
    const e = expectKind(r, 'error');
    assert.equal(e.errno, errno.EACCES);
    assert.equal(e.message, `uid ${process.getuid!()} is not on the access list of VR a`);
    await c.whenClosed();
  } finally {
    w.close();
  }
});

function recvDgram(fd: number): Promise<Uint8Array> {
  const buf = new Uint8Array(70000);
  const meta = new Int32Array(4);
  return new Promise((resolve) => {
    const watch = u.unixWatch(fd, () => {
      const n = u.unixRecvMsg(fd, buf, 0, buf.length, meta);
      if (n >= 0) {
        u.unixWatchClose(watch);
        resolve(buf.slice(0, n));
      }
    });
    u.unixWatchEvents(watch, 1);
  });
}
