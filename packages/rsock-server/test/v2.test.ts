// Protocol version 2 (docs/remote-socket-protocol.md §13) at the server: negotiation (and the
// maxVersion cap that makes the server answer as a version-1 one), every message that carries an
// endpoint, the 64-byte datagram header both ways, ATTACH across versions, wrong families, and
// AF_INET6 refused while the stack has no IPv6 sockets.
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadUnix } from '@nexthop/native';
import {
  ACCEPT_NONBLOCK,
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  CONNECT_FILLER,
  CONNECT_UNSPEC,
  DGRAM_PKTINFO,
  decodeDgramHeader,
  decodeDgramHeader2,
  type Endpoint,
  encodeDgramHeader,
  encodeDgramHeader2,
  endpoint4,
  endpoint6,
  IP_PKTINFO,
  IPPROTO_IP,
  newDgramHeader,
  newDgramHeader2,
  newEndpoint,
  SO_ERROR,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  STATE_BOUND,
  STATE_DGRAM_V2,
  STATE_PKTINFO,
} from '@nexthop/rsock-proto';
import { errno } from '@nexthop/stack';
import { errnoOf, expectControl, expectKind, TestClient } from './client.ts';
import { ADDR_A, ADDR_B, makeWorld, type World } from './harness.ts';

const u = loadUnix();
/** 2001:db8::2 */
const V6 = Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);
const UNSPEC = newEndpoint();

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

async function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Header version (bytes 4–5) of a message. */
function headerVersion(raw: Uint8Array): number {
  return raw[4]! | (raw[5]! << 8);
}

async function socketOn(c: TestClient, type: number, family = AF_INET): Promise<{ id: number; fd: number }> {
  const r = await c.request({ kind: 'socket', family, type, protocol: 0 });
  return { id: expectKind(r, 'socket-ok').socket, fd: r.fd };
}

/** A version-2 datagram: the 64-byte header (peer, and local/ifindex with PKTINFO), then payload. */
function dgram2(peer: Endpoint, payload: string, local?: Endpoint, ifindex = 0): Uint8Array {
  const h = newDgramHeader2();
  h.peer = peer;
  if (local !== undefined) {
    h.flags = DGRAM_PKTINFO;
    h.local = local;
    h.ifindex = ifindex;
  }
  const p = new TextEncoder().encode(payload);
  const out = new Uint8Array(64 + p.length);
  encodeDgramHeader2(h, out, 0);
  out.set(p, 64);
  return out;
}

async function soError(c: TestClient, socket: number): Promise<number> {
  const r = await c.request({ kind: 'getsockopt', socket, level: SOL_SOCKET, name: SO_ERROR, maxLength: 4 });
  return expectKind(r, 'opt-ok').value[0]!;
}

/** Sends a datagram on fd until SO_ERROR reads non-zero (the relay runs on the event loop). */
async function errorAfter(c: TestClient, s: { id: number; fd: number }, d: Uint8Array): Promise<number> {
  assert.equal(u.unixSendMsg(s.fd, d, 0, d.length, null), d.length);
  let e = 0;
  await until('SO_ERROR', async () => {
    e = await soError(c, s.id);
    return e !== 0;
  });
  return e;
}

describe('protocol version 2: negotiation', () => {
  let w: World;
  let old: World;
  before(() => {
    w = makeWorld();
    old = makeWorld({ maxVersion: 1 });
  });
  after(() => {
    w.close();
    old.close();
  });

  test('the highest version both speak; HELLO_OK keeps header version 1', async () => {
    for (const [min, max, chosen] of [
      [1, 1, 1],
      [1, 2, 2],
      [2, 2, 2],
      [1, 7, 2],
    ] as const) {
      const c = new TestClient(w.a.path);
      const r = await c.request({
        kind: 'hello',
        minVersion: min,
        maxVersion: max,
        flags: 0,
        clientName: 'n',
      });
      assert.equal(expectKind(r, 'hello-ok').version, chosen, `${min}…${max}`);
      assert.equal(headerVersion(r.raw), 1);
      assert.equal(c.version, chosen);
      c.close();
    }
  });

  test('ranges that miss 1…2 are EPROTONOSUPPORT naming the range, then closed', async () => {
    for (const [min, max] of [
      [3, 4],
      [0, 0],
      [2, 1],
    ] as const) {
      const c = new TestClient(w.a.path);
      const r = await c.request({
        kind: 'hello',
        minVersion: min,
        maxVersion: max,
        flags: 0,
        clientName: 'n',
      });
      const e = expectKind(r, 'error');
      assert.equal(e.errno, errno.EPROTONOSUPPORT);
      assert.match(
        e.message,
        new RegExp(`speaks protocol versions 1 to 2; the client offered ${min} to ${max}`),
      );
      assert.equal(headerVersion(r.raw), 1);
      await c.whenClosed();
    }
  });

  test('maxVersion 1: the server answers as a version-1 server (1…2 gets 1, 2…2 is refused)', async () => {
    const { client, hello } = await TestClient.open(old.a.path, 'n', 2);
    assert.equal(expectKind({ message: hello }, 'hello-ok').version, 1);
    const s = await socketOn(client, SOCK_DGRAM);
    const name = await client.request({ kind: 'getsockname', socket: s.id });
    assert.equal(name.raw.length, 16 + 6);
    u.unixClose(s.fd);
    client.close();
    const c = new TestClient(old.a.path);
    const r = await c.request({ kind: 'hello', minVersion: 2, maxVersion: 2, flags: 0, clientName: 'n' });
    assert.equal(errnoOf(r), errno.EPROTONOSUPPORT);
    assert.match(expectKind(r, 'error').message, /speaks protocol versions 1 to 1/);
    await c.whenClosed();
  });

  test('maxVersion out of 1…2 is refused at listen', () => {
    assert.throws(() => makeWorld({ maxVersion: 3 }), RangeError);
    assert.throws(() => makeWorld({ maxVersion: 0 }), RangeError);
  });

  test('on a version-2 connection a version-1 header is fatal; replies carry version 2', async () => {
    const { client } = await TestClient.open(w.a.path, 'n', 2);
    const ok = await client.request({ kind: 'getsockname', socket: 12345 });
    assert.equal(errnoOf(ok), errno.EBADF);
    assert.equal(headerVersion(ok.raw), 2);
    const id = client.newId();
    const reply = client.replyTo(id);
    client.sendRaw(client.encode({ kind: 'getsockname', id, socket: 1 }, 1));
    const r = await reply;
    assert.equal(errnoOf(r), 71);
    assert.equal(headerVersion(r.raw), 2);
    await client.whenClosed();
  });

  test('a version-1 connection sees the bytes of version 1', async () => {
    const { client } = await TestClient.open(w.a.path);
    assert.equal(client.version, 1);
    const s = await socketOn(client, SOCK_STREAM);
    expectKind(await client.request({ kind: 'bind', socket: s.id, addr: 0, port: 7300 }), 'ok');
    const name = await client.request({ kind: 'getsockname', socket: s.id });
    assert.equal(name.raw.length, 16 + 6);
    assert.equal(headerVersion(name.raw), 1);
    assert.deepEqual([...name.raw.subarray(16)], [0, 0, 0, 0, 0x84, 0x1c]);
    u.unixClose(s.fd);
    client.close();
  });
});

describe('protocol version 2: sockets', () => {
  let w: World;
  before(() => {
    w = makeWorld();
  });
  after(() => w.close());

  test('TCP: BIND, CONNECT, ACCEPT_OK, GETSOCKNAME and GETPEERNAME with 28-byte endpoints', async () => {
    const { client: ca } = await TestClient.open(w.a.path, 'v2', 2);
    const { client: cb } = await TestClient.open(w.b.path, 'v2', 2);
    const l = await socketOn(cb, SOCK_STREAM);
    expectKind(await cb.request({ kind: 'bind', socket: l.id, ep: endpoint4(0, 7100) }), 'ok');
    expectKind(await cb.request({ kind: 'listen', socket: l.id, backlog: 8 }), 'ok');
    const c = await socketOn(ca, SOCK_STREAM);
    const token = readByte(l.fd);
    const connected = await ca.request({
      kind: 'connect',
      socket: c.id,
      ep: endpoint4(ADDR_B, 7100),
      flags: 0,
    });
    expectKind(connected, 'ok');
    await token;
    const acc = await cb.request({ kind: 'accept', socket: l.id, flags: ACCEPT_NONBLOCK });
    const a = expectControl(acc, 'accept-ok');
    assert.equal(acc.raw.length, 16 + 32);
    assert.deepEqual([a.ep.family, a.ep.addr], [AF_INET, ADDR_A]);
    const local = expectControl(await ca.request({ kind: 'getsockname', socket: c.id }), 'addr-ok');
    assert.deepEqual([local.ep.family, local.ep.addr, local.ep.port], [AF_INET, ADDR_A, a.ep.port]);
    const peer = await cb.request({ kind: 'getpeername', socket: a.socket });
    assert.equal(peer.raw.length, 16 + 28);
    assert.deepEqual(expectControl(peer, 'addr-ok').ep, endpoint4(ADDR_A, a.ep.port));
    const lname = expectControl(await cb.request({ kind: 'getsockname', socket: l.id }), 'addr-ok');
    assert.deepEqual(lname.ep, endpoint4(0, 7100));
    const sa = new Socket({ fd: c.fd, readable: true, writable: true });
    const sb = new Socket({ fd: acc.fd, readable: true, writable: true });
    const got = readAll(sb);
    sa.end('over version 2');
    assert.equal(await got, 'over version 2');
    sb.end();
    await readAll(sa);
    sa.destroy();
    sb.destroy();
    u.unixClose(l.fd);
    ca.close();
    cb.close();
  });

  test('CONNECT flags: UNSPEC takes the AF_UNSPEC endpoint only, FILLER probe, u32 reserved bits', async () => {
    const { client } = await TestClient.open(w.a.path, 'v2', 2);
    const t = await socketOn(client, SOCK_STREAM);
    const d = await socketOn(client, SOCK_DGRAM);
    const probe = await client.request({
      kind: 'connect',
      socket: t.id,
      ep: UNSPEC,
      flags: CONNECT_FILLER | CONNECT_UNSPEC,
    });
    expectKind(probe, 'ok');
    const probeV4 = await client.request({
      kind: 'connect',
      socket: t.id,
      ep: endpoint4(0, 0),
      flags: CONNECT_FILLER | CONNECT_UNSPEC,
    });
    assert.equal(errnoOf(probeV4), errno.EINVAL);
    expectKind(
      await client.request({ kind: 'connect', socket: d.id, ep: UNSPEC, flags: CONNECT_UNSPEC }),
      'ok',
    );
    const v4 = await client.request({
      kind: 'connect',
      socket: d.id,
      ep: endpoint4(0, 0),
      flags: CONNECT_UNSPEC,
    });
    assert.equal(errnoOf(v4), errno.EINVAL);
    const bare = await client.request({ kind: 'connect', socket: d.id, ep: UNSPEC, flags: 0 });
    assert.equal(errnoOf(bare), errno.EINVAL);
    const high = await client.request({
      kind: 'connect',
      socket: d.id,
      ep: endpoint4(ADDR_B, 9),
      flags: 0x10000,
    });
    assert.equal(errnoOf(high), errno.EINVAL);
    expectKind(
      await client.request({ kind: 'connect', socket: d.id, ep: endpoint4(ADDR_B, 9), flags: 0 }),
      'ok',
    );
    const peer = expectControl(await client.request({ kind: 'getpeername', socket: d.id }), 'addr-ok');
    assert.deepEqual(peer.ep, endpoint4(ADDR_B, 9));
    u.unixClose(t.fd);
    u.unixClose(d.fd);
    client.close();
  });

  test('an endpoint of the wrong family is EAFNOSUPPORT; AF_UNSPEC binds an AF_INET socket to any', async () => {
    const { client } = await TestClient.open(w.a.path, 'v2', 2);
    const t = await socketOn(client, SOCK_STREAM);
    const d = await socketOn(client, SOCK_DGRAM);
    const six = endpoint6(V6, 80);
    for (const r of [
      await client.request({ kind: 'bind', socket: t.id, ep: six }),
      await client.request({ kind: 'connect', socket: t.id, ep: six, flags: 0 }),
      await client.request({ kind: 'bind', socket: d.id, ep: six }),
      await client.request({ kind: 'connect', socket: d.id, ep: six, flags: 0 }),
    ]) {
      assert.equal(errnoOf(r), errno.EAFNOSUPPORT);
      assert.match(expectKind(r, 'error').message, /AF_INET6 endpoint on an AF_INET socket/);
    }
    expectKind(await client.request({ kind: 'bind', socket: d.id, ep: UNSPEC }), 'ok');
    const name = expectControl(await client.request({ kind: 'getsockname', socket: d.id }), 'addr-ok');
    assert.equal(name.ep.family, AF_INET);
    assert.equal(name.ep.addr, 0);
    u.unixClose(t.fd);
    u.unixClose(d.fd);
    client.close();
  });

  test('SOCKET AF_INET6: stream and datagram sockets on version 2; on version 1, and other families, EAFNOSUPPORT', async () => {
    const { client: c2 } = await TestClient.open(w.a.path, 'v2', 2);
    const { client: c1 } = await TestClient.open(w.a.path);
    const t6 = await socketOn(c2, SOCK_STREAM, AF_INET6);
    assert.ok(t6.fd >= 0);
    expectKind(await c2.request({ kind: 'close', socket: t6.id }), 'ok');
    u.unixClose(t6.fd);
    const d6 = await socketOn(c2, SOCK_DGRAM, AF_INET6);
    expectKind(await c2.request({ kind: 'close', socket: d6.id }), 'ok');
    u.unixClose(d6.fd);
    for (const [c, family, type] of [
      [c1, AF_INET6, SOCK_DGRAM],
      [c1, AF_INET6, SOCK_STREAM],
      [c2, 1, SOCK_DGRAM],
      [c2, AF_UNSPEC, SOCK_DGRAM],
    ] as const) {
      const r = await c.request({ kind: 'socket', family, type, protocol: 0 });
      assert.equal(errnoOf(r), errno.EAFNOSUPPORT, `family ${family} on version ${c.version}`);
      assert.equal(r.fd, -1);
    }
    assert.equal(w.a.server.usage().sockets, 0);
    c1.close();
    c2.close();
  });

  test('AF_INET6 TCP: a listener on [::] takes an IPv6 and an IPv4 client; every name is an AF_INET6 endpoint', async () => {
    const { client: cb } = await TestClient.open(w.b.path, 'v2', 2);
    const { client: ca } = await TestClient.open(w.a.path, 'v2', 2);
    const l = await socketOn(cb, SOCK_STREAM, AF_INET6);
    expectKind(
      await cb.request({ kind: 'bind', socket: l.id, ep: endpoint6(new Uint8Array(16), 5480) }),
      'ok',
    );
    expectKind(await cb.request({ kind: 'listen', socket: l.id, backlog: 4 }), 'ok');
    const lname = expectControl(await cb.request({ kind: 'getsockname', socket: l.id }), 'addr-ok');
    assert.deepEqual(lname.ep, endpoint6(new Uint8Array(16), 5480));
    // An IPv4 endpoint on an AF_INET6 socket is refused, as Linux refuses it.
    const c4on6 = await socketOn(ca, SOCK_STREAM, AF_INET6);
    const wrong = await ca.request({
      kind: 'connect',
      socket: c4on6.id,
      ep: endpoint4(ADDR_B, 5480),
      flags: 0,
    });
    assert.equal(errnoOf(wrong), errno.EAFNOSUPPORT);
    const a6 = V6.slice();
    a6[15] = 1;
    const mappedB = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2);
    const peers: string[] = [];
    for (const to of [V6, mappedB]) {
      const c = await socketOn(ca, SOCK_STREAM, AF_INET6);
      expectKind(
        await ca.request({ kind: 'connect', socket: c.id, ep: endpoint6(to, 5480), flags: 0 }),
        'ok',
      );
      const me = expectControl(await ca.request({ kind: 'getsockname', socket: c.id }), 'addr-ok');
      assert.equal(me.ep.family, AF_INET6);
      const r = await cb.request({ kind: 'accept', socket: l.id, flags: 0 });
      const acc = expectControl(r, 'accept-ok');
      assert.equal(acc.ep.family, AF_INET6);
      assert.equal(acc.ep.port, me.ep.port);
      assert.deepEqual(acc.ep.addr6, me.ep.addr6);
      peers.push(Buffer.from(acc.ep.addr6).toString('hex'));
      u.unixClose(c.fd);
      if (r.fd !== undefined) u.unixClose(r.fd);
    }
    assert.deepEqual(peers, [Buffer.from(a6).toString('hex'), '00000000000000000000ffff0a000001']);
    u.unixClose(l.fd);
    u.unixClose(c4on6.fd);
    ca.close();
    cb.close();
  });

  test('AF_INET6 UDP: an AF_INET destination goes as its v4-mapped form; IPv6 datagrams carry AF_INET6 endpoints', async () => {
    const { client: ca } = await TestClient.open(w.a.path, 'v2', 2);
    const { client: cb } = await TestClient.open(w.b.path, 'v2', 2);
    const b4 = await socketOn(cb, SOCK_DGRAM);
    expectKind(await cb.request({ kind: 'bind', socket: b4.id, ep: endpoint4(0, 5410) }), 'ok');
    const b6 = await socketOn(cb, SOCK_DGRAM, AF_INET6);
    expectKind(
      await cb.request({ kind: 'bind', socket: b6.id, ep: endpoint6(new Uint8Array(16), 5411) }),
      'ok',
    );
    const a6 = await socketOn(ca, SOCK_DGRAM, AF_INET6);
    const h = newDgramHeader2();
    let out = dgram2(endpoint4(ADDR_B, 5410), 'via4');
    assert.equal(u.unixSendMsg(a6.fd, out, 0, out.length, null), out.length);
    let got = await recvDgram(b4.fd);
    assert.equal(decodeDgramHeader2(got, 0, got.length, h), 64);
    assert.equal(h.peer.family, AF_INET);
    assert.equal(h.peer.addr, ADDR_A);
    assert.equal(new TextDecoder().decode(got.subarray(64)), 'via4');
    out = dgram2(endpoint6(V6, 5411), 'via6');
    assert.equal(u.unixSendMsg(a6.fd, out, 0, out.length, null), out.length);
    got = await recvDgram(b6.fd);
    assert.equal(decodeDgramHeader2(got, 0, got.length, h), 64);
    const fromA = V6.slice();
    fromA[15] = 1;
    assert.equal(h.peer.family, AF_INET6);
    assert.deepEqual(h.peer.addr6, fromA);
    assert.equal(new TextDecoder().decode(got.subarray(64)), 'via6');
    for (const x of [a6, b4, b6]) u.unixClose(x.fd);
    ca.close();
    cb.close();
  });

  test('UDP: the 64-byte header both ways, with and without PKTINFO', async () => {
    const { client: ca } = await TestClient.open(w.a.path, 'v2', 2);
    const { client: cb } = await TestClient.open(w.b.path, 'v2', 2);
    const sb = await socketOn(cb, SOCK_DGRAM);
    expectKind(await cb.request({ kind: 'bind', socket: sb.id, ep: endpoint4(0, 5400) }), 'ok');
    const on = Uint8Array.of(1, 0, 0, 0);
    expectKind(
      await cb.request({ kind: 'setsockopt', socket: sb.id, level: IPPROTO_IP, name: IP_PKTINFO, value: on }),
      'ok',
    );
    const sa = await socketOn(ca, SOCK_DGRAM);
    const out = dgram2(endpoint4(ADDR_B, 5400), 'hello');
    assert.equal(u.unixSendMsg(sa.fd, out, 0, out.length, null), out.length);
    const got = await recvDgram(sb.fd);
    const h = newDgramHeader2();
    assert.equal(decodeDgramHeader2(got, 0, got.length, h), 64);
    const aName = expectControl(await ca.request({ kind: 'getsockname', socket: sa.id }), 'addr-ok');
    assert.deepEqual(h.peer, endpoint4(ADDR_A, aName.ep.port));
    assert.equal(h.flags, DGRAM_PKTINFO);
    assert.equal(h.ifindex, 1);
    assert.deepEqual(h.local, endpoint4(ADDR_B, 5400));
    assert.equal(new TextDecoder().decode(got.subarray(64)), 'hello');
    // Back, to the sender: no PKTINFO on a's socket, so neither interface nor local.
    const back = dgram2(h.peer, 'back');
    u.unixSendMsg(sb.fd, back, 0, back.length, null);
    const got2 = await recvDgram(sa.fd);
    assert.equal(decodeDgramHeader2(got2, 0, got2.length, h), 64);
    assert.deepEqual([h.flags, h.ifindex, h.local.family], [0, 0, AF_UNSPEC]);
    assert.deepEqual(h.peer, endpoint4(ADDR_B, 5400));
    assert.equal(new TextDecoder().decode(got2.subarray(64)), 'back');
    // Sent with PKTINFO: the source address and the interface asked for.
    const pk = dgram2(endpoint4(ADDR_B, 5400), 'pk', endpoint4(ADDR_A, 0), 1);
    u.unixSendMsg(sa.fd, pk, 0, pk.length, null);
    const got3 = await recvDgram(sb.fd);
    assert.equal(decodeDgramHeader2(got3, 0, got3.length, h), 64);
    assert.equal(h.peer.addr, ADDR_A);
    assert.equal(new TextDecoder().decode(got3.subarray(64)), 'pk');
    // PKTINFO with an AF_UNSPEC local: only the interface.
    const ifOnly = dgram2(endpoint4(ADDR_B, 5400), 'if', newEndpoint(), 1);
    u.unixSendMsg(sa.fd, ifOnly, 0, ifOnly.length, null);
    const got4 = await recvDgram(sb.fd);
    assert.equal(new TextDecoder().decode(got4.subarray(64)), 'if');
    // Connected: the peer AF_UNSPEC is the connected one.
    expectKind(
      await ca.request({ kind: 'connect', socket: sa.id, ep: endpoint4(ADDR_B, 5400), flags: 0 }),
      'ok',
    );
    const conn = dgram2(newEndpoint(), 'connected');
    u.unixSendMsg(sa.fd, conn, 0, conn.length, null);
    const got5 = await recvDgram(sb.fd);
    assert.equal(new TextDecoder().decode(got5.subarray(64)), 'connected');
    u.unixClose(sa.fd);
    u.unixClose(sb.fd);
    ca.close();
    cb.close();
  });

  test('UDP: faults of the 64-byte header: no peer, wrong family, a 20-byte header', async () => {
    const { client } = await TestClient.open(w.a.path, 'v2', 2);
    const s = await socketOn(client, SOCK_DGRAM);
    assert.equal(await errorAfter(client, s, dgram2(newEndpoint(), 'x')), errno.EDESTADDRREQ);
    assert.equal(await errorAfter(client, s, dgram2(endpoint6(V6, 53), 'x')), errno.EAFNOSUPPORT);
    assert.equal(
      await errorAfter(client, s, dgram2(endpoint4(ADDR_B, 53), 'x', endpoint6(V6, 0))),
      errno.EAFNOSUPPORT,
    );
    const bad = w.a.server.counters().rsock_dgrams_bad_from_apps;
    const v1 = new Uint8Array(21);
    const h1 = newDgramHeader();
    h1.peerAddr = ADDR_B;
    h1.peerPort = 53;
    encodeDgramHeader(h1, v1, 0);
    u.unixSendMsg(s.fd, v1, 0, v1.length, null);
    const family = dgram2(endpoint4(ADDR_B, 53), 'x');
    family[8] = 1; // peer family AF_UNIX
    u.unixSendMsg(s.fd, family, 0, family.length, null);
    await until('two bad datagrams', () => w.a.server.counters().rsock_dgrams_bad_from_apps === bad + 2);
    u.unixClose(s.fd);
    client.close();
  });

  test('ATTACH across versions: version 1 cannot take a version-2 UDP socket; bit 7 tells the layout', async () => {
    const { client: c2 } = await TestClient.open(w.a.path, 'v2', 2);
    const { client: c1 } = await TestClient.open(w.a.path);
    const u2 = await socketOn(c2, SOCK_DGRAM);
    const t2 = await socketOn(c2, SOCK_STREAM);
    const u1 = await socketOn(c1, SOCK_DGRAM);
    expectKind(await c2.request({ kind: 'bind', socket: u2.id, ep: endpoint4(0, 5401) }), 'ok');
    const on = Uint8Array.of(1, 0, 0, 0);
    await c2.request({ kind: 'setsockopt', socket: u2.id, level: IPPROTO_IP, name: IP_PKTINFO, value: on });

    const refused = await c1.request({ kind: 'attach' }, Int32Array.of(u2.fd));
    assert.equal(errnoOf(refused), errno.EPROTONOSUPPORT);
    assert.equal(errnoOf(await c1.request({ kind: 'getsockname', socket: u2.id })), errno.EBADF);
    // A TCP socket has no datagram header: any version may attach an AF_INET one.
    const tcp = expectKind(await c1.request({ kind: 'attach' }, Int32Array.of(t2.fd)), 'attach-ok');
    assert.deepEqual([tcp.socket, tcp.family, tcp.state & STATE_DGRAM_V2], [t2.id, AF_INET, 0]);

    const { client: other } = await TestClient.open(w.a.path, 'v2', 2);
    const a2 = expectKind(await other.request({ kind: 'attach' }, Int32Array.of(u2.fd)), 'attach-ok');
    assert.equal(a2.family, AF_INET);
    assert.equal(a2.state, STATE_BOUND | STATE_PKTINFO | STATE_DGRAM_V2);
    const a1 = expectKind(await other.request({ kind: 'attach' }, Int32Array.of(u1.fd)), 'attach-ok');
    assert.equal(a1.state & STATE_DGRAM_V2, 0);
    // Replies to the version-2 connection carry 28-byte endpoints whatever the socket's age ...
    const name = await other.request({ kind: 'getsockname', socket: u1.id });
    assert.equal(name.raw.length, 16 + 28);
    // ... while the socket's datagrams keep its 20-byte header.
    const d = new Uint8Array(20 + 2);
    const h1 = newDgramHeader();
    h1.peerAddr = ADDR_A;
    h1.peerPort = 5401;
    encodeDgramHeader(h1, d, 0);
    u.unixSendMsg(u1.fd, d, 0, d.length, null);
    const got = await recvDgram(u2.fd);
    const h2 = newDgramHeader2();
    assert.equal(decodeDgramHeader2(got, 0, got.length, h2), 64);
    assert.equal(h2.local.port, 5401);
    const reply = dgram2(h2.peer, 'r');
    u.unixSendMsg(u2.fd, reply, 0, reply.length, null);
    const got1 = await recvDgram(u1.fd);
    assert.equal(decodeDgramHeader(got1, 0, got1.length, h1), 20);
    assert.equal(h1.peerPort, 5401);
    for (const fd of [u1.fd, u2.fd, t2.fd]) u.unixClose(fd);
    c1.close();
    c2.close();
    other.close();
  });
});
