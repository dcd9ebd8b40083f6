// The socket API of RFC 2385 (setTcpMd5Key, Linux's TCP_MD5SIG) and RFC 5082 (IP_MINTTL,
// IPV6_MINHOPCOUNT) between two stacks on one link (two-stacks.ts): keyed connections over IPv4 and
// IPv6, keys by peer on a dual-stack listener, what accept() inherits, the counters, the checks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errno, SockAddr, type Stack } from '@nexthop/stack';
import { mapIpv4 } from '../src/socket/inet6.ts';
import { A4, A6, B4, B6, twoStacks } from './two-stacks.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const KEY = enc('bgp-secret');
const NO6 = new Uint8Array(16);
const peer4 = (addr: number) => ({ family: 4 as const, addr, addr6: NO6 });
const peer6 = (addr6: Uint8Array) => ({ family: 6 as const, addr: 0, addr6 });

function stateOf(s: Stack, fd: number): string | undefined {
  return s.sockets.list().find((r) => r.fd === fd)?.state;
}

/** B's listener on port 179 (AF_INET6 dual-stack with `v6`), keys set by `keys`. */
function listener(b: Stack, v6: boolean, keys: (fd: number) => void): number {
  const l = b.sockets.socket('stream', 0, v6 ? 6 : 4);
  keys(l);
  assert.equal(v6 ? b.sockets.bind6(l, NO6, 179) : b.sockets.bind(l, 0, 179), 0);
  assert.equal(b.sockets.listen(l, 8), 0);
  return l;
}

/** Sends `msg` from fd on `from`, runs, reads it on fd `to` of `at`; returns what was read. */
function roundTrip(
  from: Stack,
  fd: number,
  at: Stack,
  to: number,
  msg: string,
  run: () => void,
  now: number,
) {
  const b = enc(msg);
  assert.equal(from.sockets.send(fd, b, 0, b.length, now), b.length);
  run();
  const buf = new Uint8Array(100);
  const n = at.sockets.recv(to, buf, 0, 100, now);
  return n > 0 ? new TextDecoder().decode(buf.subarray(0, n)) : n;
}

test('TCP_MD5SIG over IPv4: matching keys connect, data flows signed; accept() inherits the peer key', () => {
  const { a, b, run, now } = twoStacks();
  const l = listener(b, false, (fd) => assert.equal(b.sockets.setTcpMd5Key(fd, peer4(A4), KEY), 0));
  const c = a.sockets.socket('stream');
  assert.equal(a.sockets.setTcpMd5Key(c, peer4(B4), KEY), 0);
  assert.equal(a.sockets.connect(c, B4, 179, now()), -errno.EINPROGRESS);
  run();
  const peer = new SockAddr();
  const s = b.sockets.accept(l, now(), peer);
  assert.ok(s >= 0);
  assert.equal(peer.addr, A4);
  assert.equal(stateOf(a, c), 'ESTABLISHED');
  assert.equal(roundTrip(a, c, b, s, 'OPEN', run, now()), 'OPEN');
  assert.equal(roundTrip(b, s, a, c, 'KEEPALIVE', run, now()), 'KEEPALIVE');
  for (const st of [a, b]) {
    const k = st.sockets.counters();
    assert.deepEqual([k.tcp_md5_missing, k.tcp_md5_bad, k.tcp_md5_unexpected], [0, 0, 0]);
  }
  // Once connected a key can no longer change (the peer would drop what follows).
  assert.equal(b.sockets.setTcpMd5Key(s, peer4(A4), null), -errno.EISCONN);
  assert.equal(a.sockets.setTcpMd5Key(c, peer4(B4), enc('other')), -errno.EISCONN);
});

test('TCP_MD5SIG over IPv6, both ends AF_INET6', () => {
  const { a, b, run, now } = twoStacks({ ipv6: true });
  const l = listener(b, true, (fd) => assert.equal(b.sockets.setTcpMd5Key(fd, peer6(A6), KEY), 0));
  const c = a.sockets.socket('stream', 0, 6);
  assert.equal(a.sockets.setTcpMd5Key(c, peer6(B6), KEY), 0);
  assert.equal(a.sockets.connect6(c, B6, 179, now()), -errno.EINPROGRESS);
  run();
  const s = b.sockets.accept(l, now());
  assert.ok(s >= 0);
  assert.equal(roundTrip(a, c, b, s, 'v6 OPEN', run, now()), 'v6 OPEN');
  assert.equal(b.sockets.counters().tcp_md5_bad, 0);
});

test('TCP_MD5SIG: a mismatched key never connects, every SYN counted md5-bad; a missing one md5-missing', () => {
  const { a, b, run, now, advance } = twoStacks();
  const l = listener(b, false, (fd) => assert.equal(b.sockets.setTcpMd5Key(fd, peer4(A4), KEY), 0));
  const c = a.sockets.socket('stream');
  assert.equal(a.sockets.setTcpMd5Key(c, peer4(B4), enc('wrong')), 0);
  a.sockets.connect(c, B4, 179, now());
  run();
  advance(10_000);
  run();
  assert.equal(stateOf(a, c), 'SYN-SENT');
  assert.equal(b.sockets.accept(l, now()), -errno.EAGAIN);
  const bad = b.sockets.counters().tcp_md5_bad!;
  assert.ok(bad >= 3, `${bad} SYNs dropped`);
  const d = a.sockets.socket('stream');
  a.sockets.connect(d, B4, 179, now());
  run();
  assert.equal(stateOf(a, d), 'SYN-SENT');
  assert.ok(b.sockets.counters().tcp_md5_missing! >= 1);
  // Changing the key of the connecting socket makes its next SYN right.
  assert.equal(a.sockets.setTcpMd5Key(c, peer4(B4), KEY), 0);
  advance(30_000);
  run();
  assert.equal(stateOf(a, c), 'ESTABLISHED');
  assert.ok(b.sockets.accept(l, now()) >= 0);
});

test('TCP_MD5SIG on a dual-stack listener: keys by peer address, IPv4 (v4-mapped) and IPv6 apart', () => {
  const { a, b, run, now } = twoStacks({ ipv6: true });
  const mapped = new Uint8Array(16);
  mapIpv4(A4, mapped);
  // A key for A's IPv4 address only (given v4-mapped, as a dual-stack BGP speaker would).
  const l = listener(b, true, (fd) => assert.equal(b.sockets.setTcpMd5Key(fd, peer6(mapped), KEY), 0));
  const c4 = a.sockets.socket('stream');
  a.sockets.setTcpMd5Key(c4, peer4(B4), KEY);
  a.sockets.connect(c4, B4, 179, now());
  // Over IPv6 A has no key, and B none for A6: unsigned, as ever.
  const c6 = a.sockets.socket('stream', 0, 6);
  a.sockets.connect6(c6, B6, 179, now());
  run();
  assert.equal(stateOf(a, c4), 'ESTABLISHED');
  assert.equal(stateOf(a, c6), 'ESTABLISHED');
  assert.ok(b.sockets.accept(l, now()) >= 0);
  assert.ok(b.sockets.accept(l, now()) >= 0);
  // A signed SYN over IPv6, where B has no key for A6: unexpected.
  const s6 = a.sockets.socket('stream', 0, 6);
  a.sockets.setTcpMd5Key(s6, peer6(B6), KEY);
  a.sockets.connect6(s6, B6, 179, now());
  run();
  assert.equal(stateOf(a, s6), 'SYN-SENT');
  assert.ok(b.sockets.counters().tcp_md5_unexpected! >= 1);
  // The key deleted on the listener: an unsigned IPv4 SYN now connects; deleting twice is ENOENT.
  assert.equal(b.sockets.setTcpMd5Key(l, peer4(A4), null), 0);
  assert.equal(b.sockets.setTcpMd5Key(l, peer4(A4), null), -errno.ENOENT);
  const u4 = a.sockets.socket('stream');
  a.sockets.connect(u4, B4, 179, now());
  run();
  assert.equal(stateOf(a, u4), 'ESTABLISHED');
});

test('TCP_MD5SIG: argument checks', () => {
  const { a } = twoStacks({ ipv6: true });
  const so = a.sockets;
  const t4 = so.socket('stream');
  const t6 = so.socket('stream', 0, 6);
  const u = so.socket('dgram');
  assert.equal(so.setTcpMd5Key(999, peer4(B4), KEY), -errno.EBADF);
  assert.equal(so.setTcpMd5Key(u, peer4(B4), KEY), -errno.ENOPROTOOPT);
  assert.equal(so.setTcpMd5Key(t4, peer4(B4), new Uint8Array(0)), -errno.EINVAL);
  assert.equal(so.setTcpMd5Key(t4, peer4(B4), new Uint8Array(81)), -errno.EINVAL);
  assert.equal(so.setTcpMd5Key(t4, peer4(B4), new Uint8Array(80)), 0);
  assert.equal(so.setTcpMd5Key(t4, peer4(B4), new Uint8Array(1)), 0);
  assert.equal(so.setTcpMd5Key(t4, peer6(B6), KEY), -errno.EINVAL);
  assert.equal(so.setTcpMd5Key(t4, peer4(A4), null), -errno.ENOENT);
  assert.equal(so.setTcpMd5Key(t4, peer4(B4), null), 0);
  assert.equal(so.setTcpMd5Key(t6, peer6(B6), KEY), 0);
  assert.equal(so.setTcpMd5Key(t6, peer4(B4), KEY), 0);
  assert.equal(so.setOption(t6, 'IPV6_V6ONLY', 1), 0);
  assert.equal(so.setTcpMd5Key(t6, peer4(A4), KEY), -errno.EINVAL);
});

test('IP_MINTTL (RFC 5082): a listener drops SYNs below it, counted; TTL 255 passes; the accepted socket inherits it', () => {
  const { a, b, run, now } = twoStacks();
  const l = listener(b, false, (fd) => {
    assert.equal(b.sockets.setOption(fd, 'IP_MINTTL', 256), -errno.EINVAL);
    assert.equal(b.sockets.setOption(fd, 'IP_MINTTL', -1), -errno.EINVAL);
    assert.equal(b.sockets.setOption(fd, 'IPV6_MINHOPCOUNT', 255), -errno.ENOPROTOOPT);
    assert.equal(b.sockets.setOption(fd, 'IP_MINTTL', 200), 0);
  });
  assert.equal(b.sockets.getOption(l, 'IP_MINTTL'), 200);
  // Set after listen() too.
  assert.equal(b.sockets.setOption(l, 'IP_MINTTL', 255), 0);
  const low = a.sockets.socket('stream');
  a.sockets.connect(low, B4, 179, now());
  run();
  assert.equal(stateOf(a, low), 'SYN-SENT');
  assert.ok(b.sockets.counters().tcp_min_ttl! >= 1);
  const c = a.sockets.socket('stream');
  assert.equal(a.sockets.setOption(c, 'IP_TTL', 255), 0);
  a.sockets.connect(c, B4, 179, now());
  run();
  assert.equal(stateOf(a, c), 'ESTABLISHED');
  const s = b.sockets.accept(l, now());
  assert.ok(s >= 0);
  assert.equal(b.sockets.getOption(s, 'IP_MINTTL'), 255);
  assert.equal(roundTrip(a, c, b, s, 'at 255', run, now()), 'at 255');
  // The connection's own check: data sent with TTL 64 is dropped (and counted), not delivered.
  assert.equal(a.sockets.setOption(c, 'IP_TTL', 64), 0);
  const before = b.sockets.counters().tcp_min_ttl!;
  assert.equal(roundTrip(a, c, b, s, 'at 64', run, now()), -errno.EAGAIN);
  assert.ok(b.sockets.counters().tcp_min_ttl! > before);
  // Lowered to 64 on the accepted socket: the retransmission gets through.
  assert.equal(b.sockets.setOption(s, 'IP_MINTTL', 64), 0);
  run(5000);
  const buf = new Uint8Array(10);
  assert.equal(b.sockets.recv(s, buf, 0, 10, now()), 5);
});

test('IPV6_MINHOPCOUNT (RFC 5082) on an AF_INET6 listener, with IPV6_UNICAST_HOPS 255 on the client', () => {
  const { a, b, run, now } = twoStacks({ ipv6: true });
  const l = listener(b, true, (fd) => assert.equal(b.sockets.setOption(fd, 'IPV6_MINHOPCOUNT', 255), 0));
  assert.equal(b.sockets.getOption(l, 'IPV6_MINHOPCOUNT'), 255);
  const low = a.sockets.socket('stream', 0, 6);
  a.sockets.connect6(low, B6, 179, now());
  // IPv4 to the same dual-stack listener: IP_MINTTL (0) applies, not IPV6_MINHOPCOUNT.
  const v4 = a.sockets.socket('stream');
  a.sockets.connect(v4, B4, 179, now());
  run();
  assert.equal(stateOf(a, low), 'SYN-SENT');
  assert.equal(stateOf(a, v4), 'ESTABLISHED');
  assert.ok(b.sockets.counters().tcp_min_ttl! >= 1);
  const c = a.sockets.socket('stream', 0, 6);
  assert.equal(a.sockets.setOption(c, 'IPV6_UNICAST_HOPS', 255), 0);
  a.sockets.connect6(c, B6, 179, now());
  run();
  assert.equal(stateOf(a, c), 'ESTABLISHED');
});
