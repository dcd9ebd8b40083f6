// IPv6 test harness: a Stack on two interfaces with IPv6 on, frames built byte by byte with the
// @nexthop/wire writers, and decoders that turn what the stack sent back into plain objects.
import assert from 'node:assert/strict';
import { formatIpv6, ipv6MulticastMac, parseIpv6, solicitedNodeMulticast } from '@nexthop/addr';
import { Stack, type StackOptions } from '@nexthop/stack';
import {
  ETH_HEADER_LEN,
  ETHERTYPE_IPV6,
  foldSum,
  ICMPV6_ECHO_REQUEST,
  ICMPV6_NEIGHBOR_ADVERTISEMENT,
  ICMPV6_NEIGHBOR_SOLICITATION,
  IPPROTO_ICMPV6,
  IPPROTO_UDP,
  NA_FLAG_OVERRIDE,
  NA_FLAG_SOLICITED,
  NDP_OPT_SOURCE_LINK_ADDRESS,
  NDP_OPT_TARGET_LINK_ADDRESS,
  pseudoHeaderSumIpv6,
  rd16,
  rd32,
  sumWords,
  wr16,
  writeEthernet,
  writeIcmpv6,
  writeIpv6Header,
  writeLinkAddressOption,
  writeNeighborAdvertisement,
  writeNeighborSolicitation,
  writeUdpPseudo,
} from '@nexthop/wire';
import { A_MAC, B_MAC, Capture, GW_MAC, mac, R0_MAC, R1_MAC } from './harness.ts';

export const ip6 = parseIpv6;
export { A_MAC, B_MAC, GW_MAC, mac, R0_MAC, R1_MAC };

/** R: eth0 2001:db8:1::1/64 (host A ::a), eth1 2001:db8:2::1/64 (host B ::b, a router at fe80::fe). */
export const R0_IP6 = ip6('2001:db8:1::1');
export const R1_IP6 = ip6('2001:db8:2::1');
export const A_IP6 = ip6('2001:db8:1::a');
export const A_LL = ip6('fe80::a');
export const B_IP6 = ip6('2001:db8:2::b');
export const B_LL = ip6('fe80::b');
export const GW_LL = ip6('fe80::fe');
/** The routers' link-local addresses without a PRF: modified EUI-64 of 02:00:00:00:00:0x. */
export const R0_LL = ip6('fe80::ff:fe00:1');
export const R1_LL = ip6('fe80::ff:fe00:2');
export const ALL_NODES = ip6('ff02::1');
export const ALL_ROUTERS = ip6('ff02::2');
export const UNSPEC = new Uint8Array(16);

export interface Rig6 {
  stack: Stack;
  cap: Capture;
  eth0: number;
  eth1: number;
}

export function feed6(r: Rig6, ifIndex: number, frame: Uint8Array, now: number): void {
  const buf = new Uint8Array(frame.length + 32);
  buf.set(frame, 16);
  r.stack.receive(ifIndex, buf, 16, frame.length, now);
}

/**
 * R with IPv6 on both interfaces. `settle` runs DAD to the end (the first probes and 1 s more),
 * so that every address is preferred, and drops what was sent meanwhile.
 */
export function rig6(
  options: Omit<StackOptions, 'output'> = {},
  settle = true,
  mtu0 = 1500,
  mtu1 = 1500,
): Rig6 {
  const cap = new Capture();
  const stack = new Stack({ output: cap, seed: 1, ipv6: true, ...options });
  const eth0 = stack.addInterface({ name: 'eth0', mac: R0_MAC, mtu: mtu0 });
  const eth1 = stack.addInterface({ name: 'eth1', mac: R1_MAC, mtu: mtu1 });
  stack.addAddress6(eth0, R0_IP6, 64, 0);
  stack.addAddress6(eth1, R1_IP6, 64, 0);
  const r = { stack, cap, eth0, eth1 };
  if (settle) settleDad(r, 0);
  return r;
}

/** Polls until DAD is over (no address tentative), then takes what was sent. Returns the time. */
export function settleDad(r: Rig6, from: number): number {
  let now = from;
  for (let i = 0; i < 20; i++) {
    now = Math.max(now, r.stack.poll(now));
    if (r.stack.interfaces().every((x) => x.addresses6.every((a) => a.state !== 'tentative'))) break;
    if (!Number.isFinite(now)) break;
  }
  r.cap.take();
  return now;
}

// ---- builders ----------------------------------------------------------------------------------

export interface Ipv6Spec {
  src: Uint8Array;
  dst: Uint8Array;
  nextHeader: number;
  payload: Uint8Array;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
}

export function ipv6Packet(s: Ipv6Spec): Uint8Array {
  const p = new Uint8Array(40 + s.payload.length);
  writeIpv6Header(
    p,
    0,
    s.trafficClass ?? 0,
    s.flowLabel ?? 0,
    s.payload.length,
    s.nextHeader,
    s.hopLimit ?? 64,
    s.src,
    0,
    s.dst,
    0,
  );
  p.set(s.payload, 40);
  return p;
}

export function eth6(dst: Uint8Array, src: Uint8Array, packet: Uint8Array): Uint8Array {
  const f = new Uint8Array(ETH_HEADER_LEN + packet.length);
  writeEthernet(f, 0, dst, 0, src, 0, ETHERTYPE_IPV6);
  f.set(packet, ETH_HEADER_LEN);
  return f;
}

/** The Ethernet destination for an IPv6 destination: the group MAC of a multicast address, else `unicast`. */
export function macFor(dst: Uint8Array, unicast: Uint8Array): Uint8Array {
  return dst[0] === 0xff ? ipv6MulticastMac(dst) : unicast;
}

/** An ICMPv6 message from src to dst with a correct checksum. */
export function icmp6(
  src: Uint8Array,
  dst: Uint8Array,
  type: number,
  code: number,
  rest: number,
  body: Uint8Array,
): Uint8Array {
  const m = new Uint8Array(8 + body.length);
  writeIcmpv6(
    m,
    0,
    type,
    code,
    rest,
    body,
    0,
    body.length,
    pseudoHeaderSumIpv6(src, 0, dst, 0, IPPROTO_ICMPV6, 0),
  );
  return m;
}

/** Fixes the ICMPv6 checksum of a message whose bytes were edited. */
export function fixIcmp6(src: Uint8Array, dst: Uint8Array, m: Uint8Array): Uint8Array {
  wr16(m, 2, 0);
  wr16(
    m,
    2,
    ~foldSum(sumWords(m, 0, m.length, pseudoHeaderSumIpv6(src, 0, dst, 0, IPPROTO_ICMPV6, m.length))) &
      0xffff,
  );
  return m;
}

export function icmp6Frame(
  ethSrc: Uint8Array,
  ethDst: Uint8Array,
  src: Uint8Array,
  dst: Uint8Array,
  message: Uint8Array,
  hopLimit = 64,
): Uint8Array {
  return eth6(
    macFor(dst, ethDst),
    ethSrc,
    ipv6Packet({ src, dst, nextHeader: IPPROTO_ICMPV6, payload: message, hopLimit }),
  );
}

export function echo6(
  ethSrc: Uint8Array,
  ethDst: Uint8Array,
  src: Uint8Array,
  dst: Uint8Array,
  id: number,
  seq: number,
  data: Uint8Array,
  hopLimit = 64,
): Uint8Array {
  return icmp6Frame(
    ethSrc,
    ethDst,
    src,
    dst,
    icmp6(src, dst, ICMPV6_ECHO_REQUEST, 0, ((id << 16) | seq) >>> 0, data),
    hopLimit,
  );
}

/** A Neighbor Solicitation (multicast to the target's solicited-node group unless `dst` is given). */
export function nsFrame(
  ethSrc: Uint8Array,
  src: Uint8Array,
  target: Uint8Array,
  opts: { dst?: Uint8Array; ethDst?: Uint8Array; slla?: boolean; nonce?: Uint8Array; hopLimit?: number } = {},
): Uint8Array {
  const dst = opts.dst ?? solicitedNodeMulticast(target);
  const slla = opts.slla ?? src.some((b) => b !== 0);
  const body = new Uint8Array(24 + (slla ? 8 : 0) + (opts.nonce !== undefined ? 8 : 0));
  writeNeighborSolicitation(body, 0, target, 0);
  let p = 24;
  if (slla) p += writeLinkAddressOption(body, p, NDP_OPT_SOURCE_LINK_ADDRESS, ethSrc, 0);
  if (opts.nonce !== undefined) {
    body[p] = 14;
    body[p + 1] = 1;
    body.set(opts.nonce, p + 2);
  }
  fixIcmp6(src, dst, body);
  return icmp6Frame(ethSrc, opts.ethDst ?? macFor(dst, R0_MAC), src, dst, body, opts.hopLimit ?? 255);
}

/** A Neighbor Advertisement for `target` with our target link-layer address option. */
export function naFrame(
  ethSrc: Uint8Array,
  ethDst: Uint8Array,
  src: Uint8Array,
  dst: Uint8Array,
  target: Uint8Array,
  flags = NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE,
  tlla: Uint8Array | null = ethSrc,
  hopLimit = 255,
): Uint8Array {
  const body = new Uint8Array(24 + (tlla === null ? 0 : 8));
  writeNeighborAdvertisement(body, 0, flags, target, 0);
  if (tlla !== null) writeLinkAddressOption(body, 24, NDP_OPT_TARGET_LINK_ADDRESS, tlla, 0);
  fixIcmp6(src, dst, body);
  return icmp6Frame(ethSrc, ethDst, src, dst, body, hopLimit);
}

export function udp6(
  src: Uint8Array,
  dst: Uint8Array,
  srcPort: number,
  dstPort: number,
  data: Uint8Array,
): Uint8Array {
  const u = new Uint8Array(8 + data.length);
  u.set(data, 8);
  writeUdpPseudo(u, 0, srcPort, dstPort, data.length, pseudoHeaderSumIpv6(src, 0, dst, 0, IPPROTO_UDP, 0));
  return u;
}

/** A UDP datagram from host A (on eth0, through R) to dst. */
export function udpFromA6(dst: Uint8Array, data: Uint8Array, hopLimit = 64, src = A_IP6): Uint8Array {
  return eth6(
    R0_MAC,
    A_MAC,
    ipv6Packet({ src, dst, nextHeader: IPPROTO_UDP, payload: udp6(src, dst, 40000, 9, data), hopLimit }),
  );
}

/** Teaches R a neighbour: it solicits R's address (unsolicited NS with SLLA: STALE, RFC 4861 §7.2.3). */
export function learn6(r: Rig6, ifIndex: number, addr: Uint8Array, neighbourMac: Uint8Array, now = 0): void {
  const ours = ifIndex === r.eth0 ? R0_IP6 : R1_IP6;
  feed6(r, ifIndex, nsFrame(neighbourMac, addr, ours), now);
  const out = r.cap.take();
  assert.equal(out.length, 1, 'R answers the NS');
  const f = parse6(out[0]!.bytes);
  assert.equal(f.icmp?.type, ICMPV6_NEIGHBOR_ADVERTISEMENT);
  assert.deepEqual(f.dst, neighbourMac);
}

// ---- decoders ----------------------------------------------------------------------------------

export interface Parsed6 {
  dst: Uint8Array;
  src: Uint8Array;
  etherType: number;
  trafficClass: number;
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  ipSrc: string;
  ipDst: string;
  /** What follows the fixed header. */
  payload: Uint8Array;
  packet: Uint8Array;
  /** When nextHeader is ICMPv6. */
  icmp?: { type: number; code: number; rest: number; checksumOk: boolean; body: Uint8Array };
}

export function parse6(b: Uint8Array): Parsed6 {
  assert.equal(rd16(b, 12), ETHERTYPE_IPV6, 'an IPv6 frame');
  const o = ETH_HEADER_LEN;
  assert.equal(b[o]! >>> 4, 6);
  const payloadLength = rd16(b, o + 4);
  assert.ok(o + 40 + payloadLength <= b.length, 'payload length fits the frame');
  const payload = b.slice(o + 40, o + 40 + payloadLength);
  const f: Parsed6 = {
    dst: b.slice(0, 6),
    src: b.slice(6, 12),
    etherType: rd16(b, 12),
    trafficClass: ((b[o]! & 15) << 4) | (b[o + 1]! >>> 4),
    payloadLength,
    nextHeader: b[o + 6]!,
    hopLimit: b[o + 7]!,
    ipSrc: formatIpv6(b, o + 8),
    ipDst: formatIpv6(b, o + 24),
    payload,
    packet: b.slice(o, o + 40 + payloadLength),
  };
  if (f.nextHeader === IPPROTO_ICMPV6) {
    const sum = foldSum(
      sumWords(
        payload,
        0,
        payload.length,
        pseudoHeaderSumIpv6(b, o + 8, b, o + 24, IPPROTO_ICMPV6, payload.length),
      ),
    );
    f.icmp = {
      type: payload[0]!,
      code: payload[1]!,
      rest: rd32(payload, 4),
      checksumOk: sum === 0xffff,
      body: payload.slice(8),
    };
  }
  return f;
}

/** The one frame sent, as ICMPv6 of `type`. */
export function onlyIcmp6(
  sent: { bytes: Uint8Array; ifIndex: number }[],
  type?: number,
): Parsed6 & { ifIndex: number } {
  assert.equal(sent.length, 1, `exactly one frame sent, got ${sent.length}`);
  const f = parse6(sent[0]!.bytes);
  assert.ok(f.icmp !== undefined, 'ICMPv6');
  assert.ok(f.icmp.checksumOk, 'ICMPv6 checksum');
  if (type !== undefined) assert.equal(f.icmp.type, type);
  return { ...f, ifIndex: sent[0]!.ifIndex };
}

export { formatIpv6, ICMPV6_NEIGHBOR_SOLICITATION, solicitedNodeMulticast };
