// AF_INET6 sockets of the socket layer: TCP and UDP over IPv6 between two stacks, dual-stack
// sockets with v4-mapped peers (RFC 4291 §2.5.5.2, RFC 3493 §5.3), IPV6_V6ONLY, port sharing
// across the families, and ICMPv6 errors reaching connections and connected sockets (RFC 4443 §2.4 (a)).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIpv6, parseIpv6 } from '@nexthop/addr';
import { EV_READABLE, errno, RecvMeta, SockAddr, type Stack, Stat } from '@nexthop/stack';
import { ETH_HEADER_LEN, ETHERTYPE_IPV6, IPPROTO_TCP, rd16 } from '@nexthop/wire';
import { mac } from './harness.ts';
import { eth6, icmp6, ipv6Packet } from './harness6.ts';
import { A6, B4, B6, twoStacks } from './two-stacks.ts';

const ANY6 = new Uint8Array(16);
const mapped = (text: string) => parseIpv6(`::ffff:${text}`);
const pair = () => twoStacks({ ipv6: true, seeds: [21, 22] });

function readAll(s: Stack, fd: number, now: number): string {
  const buf = new Uint8Array(65536);
  const n = s.sockets.recv(fd, buf, 0, buf.length, now);
  return n > 0 ? new TextDecoder().decode(buf.subarray(0, n)) : '';
}

function send(s: Stack, fd: number, text: string, now: number): void {
  const bytes = new TextEncoder().encode(text);
  assert.equal(s.sockets.send(fd, bytes, 0, bytes.length, now), bytes.length);
}

test('AF_INET6: a dual-stack listener on [::] takes an IPv6 and an IPv4 client; the IPv4 peer is v4-mapped', () => {
  const { a, b, run, now } = pair();
  const l = b.sockets.socket('stream', 0, 6);
  assert.ok(l >= 0);
  assert.equal(b.sockets.bind6(l, ANY6, 80), 0);
  assert.equal(b.sockets.listen(l, 8), 0);

  const c6 = a.sockets.socket('stream', 0, 6);
  assert.equal(a.sockets.connect6(c6, B6, 80, now()), -errno.EINPROGRESS);
  const c4 = a.sockets.socket('stream');
  assert.equal(a.sockets.connect(c4, B4, 80, now()), -errno.EINPROGRESS);
  run();
  assert.equal(a.sockets.getOption(c6, 'SO_ERROR'), 0);
  assert.equal(a.sockets.getOption(c4, 'SO_ERROR'), 0);

  const peers: string[] = [];
  const accepted: number[] = [];
  for (let i = 0; i < 2; i++) {
    const peer = new SockAddr();
    const fd = b.sockets.accept(l, now(), peer);
    assert.ok(fd >= 0, `accept ${i}: ${fd}`);
    assert.equal(peer.family, 6);
    peers.push(formatIpv6(peer.addr6));
    accepted.push(fd);
  }
  assert.equal(b.sockets.accept(l, now()), -errno.EAGAIN);
  assert.deepEqual(peers.sort(), ['2001:db8:5::1', '::ffff:192.168.5.1']);

  // Data both ways on both connections.
  send(a, c6, 'over six', now());
  send(a, c4, 'over four', now());
  run();
  const got = accepted.map((fd) => readAll(b, fd, now())).sort();
  assert.deepEqual(got, ['over four', 'over six']);
  for (const fd of accepted) send(b, fd, `echo ${fd}`, now());
  run();
  assert.match(readAll(a, c6, now()), /^echo \d+$/);
  assert.match(readAll(a, c4, now()), /^echo \d+$/);

  // Names as the program sees them, and as `show sockets` writes them.
  const local = new SockAddr();
  assert.equal(a.sockets.localAddress(c6, local), 0);
  assert.equal(local.family, 6);
  assert.equal(formatIpv6(local.addr6), '2001:db8:5::1');
  assert.ok(local.port >= 32768);
  const rows = b.sockets.list();
  assert.ok(rows.some((r) => r.state === 'LISTEN' && r.local === '[::]:80'));
  assert.ok(rows.some((r) => r.local === '[2001:db8:5::2]:80' && r.peer.startsWith('[2001:db8:5::1]:')));
  assert.ok(
    rows.some((r) => r.local === '[::ffff:192.168.5.2]:80' && r.peer.startsWith('[::ffff:192.168.5.1]:')),
  );
});

test('AF_INET6: IPV6_V6ONLY keeps IPv4 out, and lets an AF_INET socket share the port', () => {
  const { a, b, run, now } = pair();
  const l = b.sockets.socket('stream', 0, 6);
  assert.equal(b.sockets.getOption(l, 'IPV6_V6ONLY'), 0);
  assert.equal(b.sockets.setOption(l, 'IPV6_V6ONLY', 1), 0);
  assert.equal(b.sockets.bind6(l, ANY6, 8080), 0);
  assert.equal(b.sockets.setOption(l, 'IPV6_V6ONLY', 0), -errno.EINVAL, 'not once bound');
  assert.equal(b.sockets.listen(l, 8), 0);
  // An IPv4 client gets a reset: nothing listens on IPv4.
  const c4 = a.sockets.socket('stream');
  a.sockets.connect(c4, B4, 8080, now());
  run();
  assert.equal(a.sockets.getOption(c4, 'SO_ERROR'), errno.ECONNREFUSED);
  // The IPv4 side of the port is free...
  const l4 = b.sockets.socket('stream');
  assert.equal(b.sockets.bind(l4, 0, 8080), 0);
  // ...while a dual-stack socket on the same port meets both.
  const dual = b.sockets.socket('stream', 0, 6);
  assert.equal(b.sockets.bind6(dual, ANY6, 8080), -errno.EADDRINUSE);
  // v4-mapped destinations are refused on a v6-only socket, and v4-mapped binds too.
  const only = a.sockets.socket('stream', 0, 6);
  a.sockets.setOption(only, 'IPV6_V6ONLY', 1);
  assert.equal(a.sockets.connect6(only, mapped('192.168.5.2'), 8080, now()), -errno.ENETUNREACH);
  assert.equal(a.sockets.bind6(only, mapped('192.168.5.1'), 0), -errno.EINVAL);
  // The option is IPv6's alone.
  assert.equal(b.sockets.setOption(l4, 'IPV6_V6ONLY', 1), -errno.ENOPROTOOPT);
});

test('AF_INET6: an AF_INET6 socket connects to a v4-mapped address over IPv4; closed ports are refused', () => {
  const { a, b, run, now } = pair();
  const l = b.sockets.socket('stream');
  assert.equal(b.sockets.bind(l, 0, 7000), 0);
  assert.equal(b.sockets.listen(l, 8), 0);
  const c = a.sockets.socket('stream', 0, 6);
  assert.equal(a.sockets.connect6(c, mapped('192.168.5.2'), 7000, now()), -errno.EINPROGRESS);
  run();
  assert.equal(a.sockets.getOption(c, 'SO_ERROR'), 0);
  const peer = new SockAddr();
  assert.equal(a.sockets.peerAddress(c, peer), 0);
  assert.equal(formatIpv6(peer.addr6), '::ffff:192.168.5.2');
  assert.equal(peer.port, 7000);
  const s = b.sockets.accept(l, now());
  assert.ok(s >= 0);
  // Over IPv6 to a closed port: a reset from B's IPv6 stack.
  const closed = a.sockets.socket('stream', 0, 6);
  a.sockets.connect6(closed, B6, 7001, now());
  run();
  assert.equal(a.sockets.getOption(closed, 'SO_ERROR'), errno.ECONNREFUSED);
  // What AF_INET6 does not have yet, and calls of the wrong family, fail plainly.
  assert.equal(a.sockets.socket('raw', 0, 6), -errno.EPROTONOSUPPORT);
  assert.equal(a.sockets.bind(c, 0, 1), -errno.EAFNOSUPPORT);
  assert.equal(a.sockets.connect6(l, B6, 1, now()), -errno.EAFNOSUPPORT);
  assert.equal(
    a.sockets.bind6(a.sockets.socket('stream', 0, 6), parseIpv6('2001:db8:99::1'), 0),
    -errno.EADDRNOTAVAIL,
  );
});

test('AF_INET6: an ICMPv6 error quoting our SYN fails the connection (RFC 4443 §2.4 (a), RFC 1122 §4.2.3.9)', () => {
  const { a, b, run, queue, now } = pair();
  // A first connection resolves the neighbours, so the next SYN leaves at once.
  const l = b.sockets.socket('stream', 0, 6);
  b.sockets.bind6(l, ANY6, 9000);
  b.sockets.listen(l, 8);
  const first = a.sockets.socket('stream', 0, 6);
  a.sockets.connect6(first, B6, 9000, now());
  run();
  assert.equal(a.sockets.events(first) & EV_READABLE, 0);
  const c = a.sockets.socket('stream', 0, 6);
  assert.equal(a.sockets.connect6(c, B6, 9000, now()), -errno.EINPROGRESS);
  const syn = queue.find(
    (f) => rd16(f.bytes, 12) === ETHERTYPE_IPV6 && f.bytes[ETH_HEADER_LEN + 6] === IPPROTO_TCP,
  );
  assert.ok(syn !== undefined, 'the SYN is on the wire');
  queue.length = 0;
  // Destination Unreachable, code 1 (administratively prohibited): hard, EACCES (RFC 4443 §3.1).
  a.sockets.icmpv6Error(1, 1, 0, syn.bytes, ETH_HEADER_LEN, syn.bytes.length - ETH_HEADER_LEN, now());
  assert.equal(a.sockets.getOption(c, 'SO_ERROR'), errno.EACCES);
});

test('AF_INET6 UDP: a dual-stack socket on [::]:53 hears IPv6 and IPv4 senders and answers both', () => {
  const { a, b, run, now } = pair();
  const server = b.sockets.socket('dgram', 0, 6);
  assert.equal(b.sockets.bind6(server, ANY6, 53), 0);
  const c6 = a.sockets.socket('dgram', 0, 6);
  const c4 = a.sockets.socket('dgram');
  const q = new TextEncoder().encode('query');
  assert.equal(a.sockets.sendTo6(c6, q, 0, q.length, B6, 53, now()), q.length);
  assert.equal(a.sockets.sendTo(c4, q, 0, q.length, B4, 53, now()), q.length);
  run();
  const buf = new Uint8Array(100);
  const meta = new RecvMeta();
  const from: [string, number][] = [];
  for (let i = 0; i < 2; i++) {
    assert.equal(b.sockets.recvFrom(server, buf, 0, buf.length, meta), q.length);
    assert.equal(meta.family, 6);
    from.push([formatIpv6(meta.addr6), meta.port]);
    // The answer goes back to what recvfrom said, v4-mapped or not.
    const ans = new TextEncoder().encode(`answer ${i}`);
    assert.equal(
      b.sockets.sendTo6(server, ans, 0, ans.length, meta.addr6.slice(), meta.port, now()),
      ans.length,
    );
    assert.equal(formatIpv6(meta.dst6), i === 0 ? '2001:db8:5::2' : '::ffff:192.168.5.2');
  }
  assert.deepEqual(
    from.map(([addr]) => addr),
    ['2001:db8:5::1', '::ffff:192.168.5.1'],
  );
  run();
  const m6 = new RecvMeta();
  assert.equal(a.sockets.recvFrom(c6, buf, 0, buf.length, m6), 'answer 0'.length);
  assert.equal(formatIpv6(m6.addr6), '2001:db8:5::2');
  assert.equal(m6.port, 53);
  const m4 = new RecvMeta();
  assert.equal(a.sockets.recvFrom(c4, buf, 0, buf.length, m4), 'answer 1'.length);
  assert.equal(m4.family, 4);
  assert.equal(m4.addr, B4);
  // With IPV6_V6ONLY, IPv4 no longer reaches an AF_INET6 socket (the port is then closed on IPv4).
  const only = b.sockets.socket('dgram', 0, 6);
  b.sockets.setOption(only, 'IPV6_V6ONLY', 1);
  assert.equal(b.sockets.bind6(only, ANY6, 54), 0);
  const before = b.sockets.counters().udp_no_port!;
  a.sockets.sendTo(c4, q, 0, q.length, B4, 54, now());
  run();
  assert.equal(b.sockets.counters().udp_no_port, before + 1);
  assert.equal(b.sockets.recvFrom(only, buf, 0, buf.length, meta), -errno.EAGAIN);
});

test('AF_INET6 UDP: port unreachable comes back as ECONNREFUSED on a connected socket; loopback to an own address', () => {
  const { a, run, now } = pair();
  const c = a.sockets.socket('dgram', 0, 6);
  assert.equal(a.sockets.connect6(c, B6, 9, now()), 0);
  const local = new SockAddr();
  a.sockets.localAddress(c, local);
  assert.equal(formatIpv6(local.addr6), '2001:db8:5::1');
  const x = Uint8Array.of(1, 2, 3);
  assert.equal(a.sockets.send(c, x, 0, 3, now()), 3);
  run();
  assert.equal(a.sockets.getOption(c, 'SO_ERROR'), errno.ECONNREFUSED);
  // From an unbound socket to the VR's own address: the source is that address (a loopback).
  const unbound = a.sockets.socket('dgram', 0, 6);
  const own = a.sockets.socket('dgram', 0, 6);
  assert.equal(a.sockets.bind6(own, ANY6, 7778), 0);
  assert.equal(a.sockets.sendTo6(unbound, x, 0, 3, A6, 7778, now()), 3);
  const m0 = new RecvMeta();
  assert.equal(a.sockets.recvFrom(own, new Uint8Array(8), 0, 8, m0), 3);
  assert.equal(formatIpv6(m0.addr6), '2001:db8:5::1');
  // To the VR's own IPv6 address: delivered at once, from that address.
  const self = a.sockets.socket('dgram', 0, 6);
  assert.equal(a.sockets.bind6(self, A6, 7777), 0);
  assert.equal(a.sockets.sendTo6(c, x, 0, 3, A6, 7777, now()), 3);
  const meta = new RecvMeta();
  const buf = new Uint8Array(8);
  assert.equal(a.sockets.recvFrom(self, buf, 0, 8, meta), 3);
  assert.equal(formatIpv6(meta.addr6), '2001:db8:5::1');
  // Zone-less link-local destinations cannot be sent to (RFC 4007 §11).
  assert.equal(a.sockets.sendTo6(self, x, 0, 3, parseIpv6('fe80::2'), 9, now()), -errno.EINVAL);
});

/** The link-local address of a stack's eth0 (EUI-64 here: no PRF, no DAD wait). */
function linkLocal(s: Stack): Uint8Array {
  const ll = s.interfaces()[0]!.addresses6.find((a) => a.address.startsWith('fe80:'));
  assert.ok(ll !== undefined, 'eth0 has its link-local address');
  return parseIpv6(ll.address);
}

test('AF_INET6 raw ICMPv6: an echo request built by the program, its checksum by the stack; the reply comes back raw', () => {
  const { a, run, now } = pair();
  const fd = a.sockets.socket('raw', 58, 6);
  assert.ok(fd >= 0);
  assert.equal(a.sockets.getOption(fd, 'IPV6_CHECKSUM'), 2);
  assert.equal(a.sockets.setOption(fd, 'IPV6_CHECKSUM', -1), -errno.EINVAL, 'fixed for ICMPv6');
  // Echo request (RFC 4443 §4.1): type 128, code 0, checksum left 0, id 0x1234, seq 7, data.
  const echo = Uint8Array.of(128, 0, 0, 0, 0x12, 0x34, 0, 7, 1, 2, 3, 4);
  assert.equal(a.sockets.sendTo6(fd, echo, 0, echo.length, B6, 0, now()), echo.length);
  run();
  const buf = new Uint8Array(200);
  const meta = new RecvMeta();
  let n = a.sockets.recvFrom(fd, buf, 0, buf.length, meta);
  // Neighbour Discovery reaches raw ICMPv6 sockets too; the echo reply is among what came.
  while (n > 0 && buf[0] !== 129) n = a.sockets.recvFrom(fd, buf, 0, buf.length, meta);
  assert.equal(n, echo.length, 'an echo reply came back');
  assert.equal(formatIpv6(meta.addr6), '2001:db8:5::2');
  assert.deepEqual([...buf.subarray(4, 12)], [0x12, 0x34, 0, 7, 1, 2, 3, 4]);
});

test('AF_INET6 link-local: TCP to fe80:: with a scope id, and UDP to a group joined with IPV6_JOIN_GROUP', () => {
  const { a, b, run, now } = pair();
  const bLL = linkLocal(b);
  const l = b.sockets.socket('stream', 0, 6);
  b.sockets.bind6(l, ANY6, 179);
  b.sockets.listen(l, 4);
  const c = a.sockets.socket('stream', 0, 6);
  assert.equal(a.sockets.connect6(c, bLL, 179, now()), -errno.EINVAL, 'a link-local peer needs its zone');
  assert.equal(a.sockets.connect6(c, bLL, 179, now(), 1), -errno.EINPROGRESS);
  run();
  assert.equal(a.sockets.getOption(c, 'SO_ERROR'), 0);
  const peer = new SockAddr();
  const fd = b.sockets.accept(l, now(), peer);
  assert.ok(fd >= 0);
  assert.equal(formatIpv6(peer.addr6), formatIpv6(linkLocal(a)));
  const mine = new SockAddr();
  a.sockets.localAddress(c, mine);
  assert.equal(formatIpv6(mine.addr6), formatIpv6(linkLocal(a)));
  assert.equal(mine.scopeId, 1, 'the zone is eth0 (index 0 + 1)');

  // RIPng's group (ff02::9, RFC 2080 §2.5.1): only the member gets the datagram.
  const ripng = parseIpv6('ff02::9');
  const member = b.sockets.socket('dgram', 0, 6);
  const other = b.sockets.socket('dgram', 0, 6);
  for (const s of [member, other]) {
    b.sockets.setOption(s, 'SO_REUSEADDR', 1);
    assert.equal(b.sockets.bind6(s, ANY6, 521), 0);
  }
  assert.equal(b.sockets.setOption(member, 'IPV6_JOIN_GROUP', { group6: ripng, interface: 0 }), 0);
  assert.equal(
    b.sockets.setOption(member, 'IPV6_JOIN_GROUP', { group6: ripng, interface: 0 }),
    -errno.EADDRINUSE,
  );
  const u = a.sockets.socket('dgram', 0, 6);
  a.sockets.bind6(u, ANY6, 521);
  assert.equal(
    a.sockets.sendTo6(u, Uint8Array.of(2, 1), 0, 2, ripng, 521, now()),
    -errno.ENETUNREACH,
    'no zone',
  );
  assert.equal(a.sockets.setOption(u, 'IPV6_MULTICAST_IF', 0), 0);
  assert.equal(a.sockets.sendTo6(u, Uint8Array.of(2, 1), 0, 2, ripng, 521, now()), 2);
  run();
  const meta = new RecvMeta();
  const buf = new Uint8Array(16);
  assert.equal(b.sockets.recvFrom(member, buf, 0, 16, meta), 2);
  assert.equal(formatIpv6(meta.addr6), formatIpv6(linkLocal(a)), 'from the sender’s link-local address');
  assert.equal(formatIpv6(meta.dst6), 'ff02::9');
  assert.equal(meta.hopLimit, 1, 'the hop limit it arrived with (IPV6_MULTICAST_HOPS defaults to 1)');
  assert.equal(b.sockets.recvFrom(other, buf, 0, 16, meta), -errno.EAGAIN);
  // RFC 2080 §2.4.2: RIPng sends with hop limit 255, and the receiver sees it (IPV6_RECVHOPLIMIT).
  assert.equal(a.sockets.setOption(u, 'IPV6_MULTICAST_HOPS', 255), 0);
  a.sockets.sendTo6(u, Uint8Array.of(2, 1), 0, 2, ripng, 521, now());
  run();
  assert.equal(b.sockets.recvFrom(member, buf, 0, 16, meta), 2);
  assert.equal(meta.hopLimit, 255);
  // Leaving: the group no longer reaches the VR.
  assert.equal(b.sockets.setOption(member, 'IPV6_LEAVE_GROUP', { group6: ripng, interface: 0 }), 0);
  a.sockets.sendTo6(u, Uint8Array.of(2, 1), 0, 2, ripng, 521, now());
  run();
  assert.equal(b.sockets.recvFrom(member, buf, 0, 16, meta), -errno.EAGAIN);
});

test('AF_INET6 raw with IPV6_CHECKSUM: OSPFv3-style protocol 89 to ff02::5, checksum at offset 12 computed and verified', () => {
  const { a, b, run, now } = pair();
  const allSpf = parseIpv6('ff02::5');
  const rx = b.sockets.socket('raw', 89, 6);
  assert.equal(b.sockets.setOption(rx, 'IPV6_CHECKSUM', 12), 0);
  assert.equal(b.sockets.setOption(rx, 'IPV6_CHECKSUM', 3), -errno.EINVAL, 'odd offsets are refused');
  assert.equal(b.sockets.setOption(rx, 'IPV6_JOIN_GROUP', { group6: allSpf, interface: 0 }), 0);
  const tx = a.sockets.socket('raw', 89, 6);
  a.sockets.setOption(tx, 'IPV6_CHECKSUM', 12);
  a.sockets.setOption(tx, 'IPV6_MULTICAST_IF', 0);
  // An OSPFv3 header's shape (RFC 5340 A.3.1): 16 bytes, checksum at 12.
  const hello = Uint8Array.of(3, 1, 0, 16, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  assert.equal(a.sockets.sendTo6(tx, hello, 0, hello.length, allSpf, 0, now()), 16);
  run();
  const buf = new Uint8Array(64);
  const meta = new RecvMeta();
  assert.equal(b.sockets.recvFrom(rx, buf, 0, 64, meta), 16);
  assert.notEqual(buf[12]! | buf[13]!, 0, 'the checksum was filled');
  assert.equal(formatIpv6(meta.dst6), 'ff02::5');
  // A socket without IPV6_CHECKSUM takes the same bytes unchecked; with a wrong sum, only it does.
  const plain = b.sockets.socket('raw', 89, 6);
  b.sockets.setOption(plain, 'IPV6_JOIN_GROUP', { group6: allSpf, interface: 0 });
  const plainTx = a.sockets.socket('raw', 89, 6);
  a.sockets.setOption(plainTx, 'IPV6_MULTICAST_IF', 0);
  const bad = hello.slice();
  bad[12] = 0xde;
  bad[13] = 0xad;
  a.sockets.sendTo6(plainTx, bad, 0, bad.length, allSpf, 0, now());
  run();
  assert.equal(b.sockets.recvFrom(plain, buf, 0, 64, meta), 16);
  assert.equal(b.sockets.recvFrom(rx, buf, 0, 64, meta), -errno.EAGAIN);
});

test('RFC 8201: a Packet Too Big lowers the path MTU of the VR’s own datagrams to that destination, never below 1280, for 10 minutes', () => {
  const { a, b, run, queue, advance, now } = pair();
  const rx = b.sockets.socket('dgram', 0, 6);
  b.sockets.bind6(rx, ANY6, 4000);
  const tx = a.sockets.socket('dgram', 0, 6);
  const big = new Uint8Array(1400).map((_, i) => i & 0xff);
  const sizes = (): number[] => {
    const out: number[] = [];
    for (const f of queue)
      if (rd16(f.bytes, 12) === ETHERTYPE_IPV6 && f.to === b && f.bytes[ETH_HEADER_LEN + 6] !== 58)
        out.push(f.bytes.length);
    return out;
  };
  // A first datagram resolves B (NDP), so the next ones leave at once.
  a.sockets.sendTo6(tx, big, 0, 1, B6, 4000, now());
  run();
  b.sockets.recvFrom(rx, new Uint8Array(8), 0, 8, new RecvMeta());
  // Before: one frame of 14 + 40 + 8 + 1400.
  a.sockets.sendTo6(tx, big, 0, big.length, B6, 4000, now());
  assert.deepEqual(sizes(), [1462]);
  run();
  /** A Packet Too Big to A, from a router, quoting a packet from `from` to B6. */
  const ptb = (mtu: number, from: Uint8Array) => {
    const quoted = ipv6Packet({
      src: from,
      dst: B6,
      nextHeader: 17,
      payload: new Uint8Array(8),
      hopLimit: 64,
    });
    const router = parseIpv6('2001:db8:5::99');
    const m = icmp6(router, A6, 2, 0, mtu, quoted);
    return eth6(
      mac('02:00:00:00:00:0a'),
      mac('02:00:00:00:00:99'),
      ipv6Packet({ src: router, dst: A6, nextHeader: 58, payload: m, hopLimit: 64 }),
    );
  };
  const feed = (frame: Uint8Array) => a.receive(0, frame, 0, frame.length, now());
  // A forged one, about a packet that was never ours: nothing learned.
  feed(ptb(1300, parseIpv6('2001:db8:5::77')));
  assert.equal(a.statCount(Stat.IPV6_PMTU_LOWERED), 0);
  feed(ptb(1300, A6));
  assert.equal(a.statCount(Stat.IPV6_PMTU_LOWERED), 1);
  a.sockets.sendTo6(tx, big, 0, big.length, B6, 4000, now());
  const frags = sizes();
  assert.equal(frags.length, 2);
  assert.ok(
    frags.every((n) => n - ETH_HEADER_LEN <= 1300),
    `fragments within 1300: ${frags}`,
  );
  run();
  const buf = new Uint8Array(2000);
  const meta = new RecvMeta();
  assert.equal(b.sockets.recvFrom(rx, buf, 0, buf.length, meta), 1400);
  assert.equal(b.sockets.recvFrom(rx, buf, 0, buf.length, meta), 1400);
  assert.deepEqual(buf.subarray(0, 1400), big, 'reassembled intact');
  // Below the minimum: 1280 (RFC 8201 §4); a larger value does not raise it.
  feed(ptb(600, A6));
  feed(ptb(1400, A6));
  a.sockets.sendTo6(tx, big, 0, big.length, B6, 4000, now());
  assert.ok(
    sizes().every((n) => n - ETH_HEADER_LEN <= 1280),
    `fragments within 1280: ${sizes()}`,
  );
  run();
  advance(600_001);
  run();
  // Ten minutes on (B resolved again first: the neighbour entry aged out too), the path is tried at
  // the link's MTU again (§5.3).
  a.sockets.sendTo6(tx, big, 0, 1, B6, 4000, now());
  run();
  a.sockets.sendTo6(tx, big, 0, big.length, B6, 4000, now());
  assert.deepEqual(sizes(), [1462]);
});
