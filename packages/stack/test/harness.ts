// Test harness: a Stack on two interfaces, frames built byte by byte with the @nexthop/wire writers,
// and decoders that turn what the stack transmitted back into plain objects to assert on.
import assert from 'node:assert/strict';
import { parseIpv4, parseMac } from '@nexthop/addr';
import type { FrameOutput } from '@nexthop/interface';
import { Stack, type StackOptions } from '@nexthop/stack';
import {
  ARP_LEN,
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  ETH_HEADER_LEN,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ICMP_ECHO_REQUEST,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  internetChecksum,
  rd16,
  rd32,
  TCP_MIN_HEADER,
  wr16,
  wr32,
  writeArp,
  writeEthernet,
  writeIcmp,
  writeTcp,
  writeUdp,
} from '@nexthop/wire';

export const ip = parseIpv4;
export const mac = parseMac;

export const R0_MAC = mac('02:00:00:00:00:01');
export const R1_MAC = mac('02:00:00:00:00:02');
export const R0_IP = ip('10.0.1.1');
export const R1_IP = ip('10.0.2.1');
export const A_MAC = mac('02:aa:00:00:00:0a');
export const A_IP = ip('10.0.1.10');
export const B_MAC = mac('02:bb:00:00:00:14');
export const B_IP = ip('10.0.2.20');
export const GW_MAC = mac('02:cc:00:00:00:fe');
export const GW_IP = ip('10.0.2.254');
export const BROADCAST = mac('ff:ff:ff:ff:ff:ff');
export const ZERO_MAC = new Uint8Array(6);

export interface Sent {
  ifIndex: number;
  bytes: Uint8Array;
  /** Non-zero for a TCP aggregate handed to a link that segments it. */
  segmentSize: number;
}

/** Copies every transmitted frame: the stack only lends its buffers for the call. */
export class Capture implements FrameOutput {
  frames: Sent[] = [];
  transmit(ifIndex: number, buf: Uint8Array, off: number, len: number, segmentSize = 0): void {
    this.frames.push({ ifIndex, bytes: buf.slice(off, off + len), segmentSize });
  }
  take(): Sent[] {
    const f = this.frames;
    this.frames = [];
    return f;
  }
}

export interface Rig {
  stack: Stack;
  cap: Capture;
  eth0: number;
  eth1: number;
}

/**
 * R has eth0 10.0.1.1/24 (host A at .10) and eth1 10.0.2.1/24 (host B at .20, a gateway at .254).
 * The gratuitous ARPs of the configuration are discarded.
 */
export function rig(
  options: Omit<StackOptions, 'output'> = {},
  mtu0 = 1500,
  mtu1 = 1500,
  maxSegmentOffload1 = 0,
): Rig {
  const cap = new Capture();
  // A fixed seed unless the test brings its own randomness: runs replay.
  const stack = new Stack(
    options.random === undefined ? { output: cap, seed: 1, ...options } : { output: cap, ...options },
  );
  const eth0 = stack.addInterface({ name: 'eth0', mac: R0_MAC, mtu: mtu0 });
  const eth1 = stack.addInterface({
    name: 'eth1',
    mac: R1_MAC,
    mtu: mtu1,
    maxSegmentOffload: maxSegmentOffload1,
  });
  stack.addAddress(eth0, R0_IP, 24, 0);
  stack.addAddress(eth1, R1_IP, 24, 0);
  cap.take();
  return { stack, cap, eth0, eth1 };
}

/** Teaches R a neighbour the RFC 826 way: the neighbour asks for R's address. */
export function learn(r: Rig, ifIndex: number, neighbourIp: number, neighbourMac: Uint8Array, now = 0): void {
  const ours = ifIndex === r.eth0 ? R0_IP : R1_IP;
  feed(r, ifIndex, arpFrame(ARP_OP_REQUEST, neighbourMac, neighbourIp, ZERO_MAC, ours, BROADCAST), now);
  const out = r.cap.take();
  assert.equal(out.length, 1, 'R answers the ARP request');
  assert.deepEqual(parseFrame(out[0]!.bytes).dst, neighbourMac);
}

export function feed(r: Rig, ifIndex: number, frame: Uint8Array, now: number): void {
  // Offset the frame inside a larger buffer, as a driver's ring would.
  const buf = new Uint8Array(frame.length + 32);
  buf.set(frame, 16);
  r.stack.receive(ifIndex, buf, 16, frame.length, now);
}

// ---- builders ----------------------------------------------------------------------------------

export function ethFrame(
  dst: Uint8Array,
  src: Uint8Array,
  etherType: number,
  payload: Uint8Array,
): Uint8Array {
  const f = new Uint8Array(ETH_HEADER_LEN + payload.length);
  writeEthernet(f, 0, dst, 0, src, 0, etherType);
  f.set(payload, ETH_HEADER_LEN);
  return f;
}

/** Pads to the 60-byte Ethernet minimum with a recognisable filler (not zeros). */
export function padFrame(frame: Uint8Array, filler = 0xee): Uint8Array {
  if (frame.length >= 60) return frame;
  const f = new Uint8Array(60).fill(filler);
  f.set(frame);
  return f;
}

export function arpFrame(
  op: number,
  sha: Uint8Array,
  spa: number,
  tha: Uint8Array,
  tpa: number,
  ethDst: Uint8Array,
): Uint8Array {
  const p = new Uint8Array(ARP_LEN);
  writeArp(p, 0, op, sha, 0, spa, tha, 0, tpa);
  return padFrame(ethFrame(ethDst, sha, ETHERTYPE_ARP, p), 0);
}

export interface Ipv4Spec {
  src: number;
  dst: number;
  protocol: number;
  payload: Uint8Array;
  ttl?: number;
  id?: number;
  /** Raw flags + offset word. */
  flagsOffset?: number;
  tos?: number;
  /** Option bytes; padded with EOL to a multiple of 4. */
  options?: Uint8Array;
}

export function ipv4Packet(s: Ipv4Spec): Uint8Array {
  const optLen = s.options === undefined ? 0 : (s.options.length + 3) & ~3;
  const hl = 20 + optLen;
  const p = new Uint8Array(hl + s.payload.length);
  p[0] = 0x40 | (hl >>> 2);
  p[1] = s.tos ?? 0;
  wr16(p, 2, p.length);
  wr16(p, 4, s.id ?? 0x1234);
  wr16(p, 6, s.flagsOffset ?? 0);
  p[8] = s.ttl ?? 64;
  p[9] = s.protocol;
  wr32(p, 12, s.src);
  wr32(p, 16, s.dst);
  if (s.options !== undefined) p.set(s.options, 20);
  wr16(p, 10, internetChecksum(p, 0, hl));
  p.set(s.payload, hl);
  return p;
}

export function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 255;
  }
  return b;
}

export function icmpMessage(type: number, code: number, rest: number, body: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + body.length);
  writeIcmp(m, 0, type, code, rest, body, 0, body.length);
  return m;
}

export function echoRequest(id: number, seq: number, data: Uint8Array): Uint8Array {
  return icmpMessage(ICMP_ECHO_REQUEST, 0, ((id << 16) | seq) >>> 0, data);
}

export function udpDatagram(src: number, dst: number, srcPort: number, dstPort: number, data: Uint8Array) {
  const u = new Uint8Array(8 + data.length);
  u.set(data, 8);
  writeUdp(u, 0, srcPort, dstPort, data.length, src, dst);
  return u;
}

export function tcpSegment(
  src: number,
  dst: number,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  data: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const t = new Uint8Array(TCP_MIN_HEADER + data.length);
  t.set(data, TCP_MIN_HEADER);
  writeTcp(t, 0, srcPort, dstPort, seq, ack, flags, 1024, TCP_MIN_HEADER, data.length, src, dst);
  return t;
}

/** An IPv4 frame from host A (on eth0) to R's MAC. */
export function fromA(s: Omit<Ipv4Spec, 'src'> & { src?: number }, ethDst = R0_MAC): Uint8Array {
  return ethFrame(ethDst, A_MAC, ETHERTYPE_IPV4, ipv4Packet({ src: A_IP, ...s }));
}

export function udpFromA(dst: number, data: Uint8Array, extra: Partial<Ipv4Spec> = {}): Uint8Array {
  return fromA({ dst, protocol: IPPROTO_UDP, payload: udpDatagram(A_IP, dst, 40000, 9, data), ...extra });
}

/** A UDP datagram from host B (on eth1) to dst. */
export function udpFromB(dst: number, data: Uint8Array, extra: Partial<Ipv4Spec> = {}): Uint8Array {
  const packet = ipv4Packet({
    src: B_IP,
    dst,
    protocol: IPPROTO_UDP,
    payload: udpDatagram(B_IP, dst, 40001, 7, data),
    ...extra,
  });
  return ethFrame(R1_MAC, B_MAC, ETHERTYPE_IPV4, packet);
}

export function echoFromA(
  dst: number,
  id: number,
  seq: number,
  data: Uint8Array,
  extra: Partial<Ipv4Spec> = {},
) {
  return fromA({ dst, protocol: IPPROTO_ICMP, payload: echoRequest(id, seq, data), ...extra });
}

// ---- decoders ----------------------------------------------------------------------------------

export interface ParsedIpv4 {
  headerLength: number;
  tos: number;
  totalLength: number;
  id: number;
  df: boolean;
  mf: boolean;
  /** Fragment offset in bytes. */
  offset: number;
  ttl: number;
  protocol: number;
  checksumOk: boolean;
  src: number;
  dst: number;
  options: Uint8Array;
  payload: Uint8Array;
  /** The whole IP packet (header + payload), totalLength bytes. */
  packet: Uint8Array;
}

export interface ParsedArp {
  op: number;
  sha: Uint8Array;
  spa: number;
  tha: Uint8Array;
  tpa: number;
}

export interface ParsedFrame {
  dst: Uint8Array;
  src: Uint8Array;
  etherType: number;
  length: number;
  ip?: ParsedIpv4;
  arp?: ParsedArp;
}

export function parseIp(b: Uint8Array, off = 0): ParsedIpv4 {
  const hl = (b[off]! & 15) * 4;
  assert.equal(b[off]! >>> 4, 4, 'IPv4 version');
  const totalLength = rd16(b, off + 2);
  assert.ok(off + totalLength <= b.length, 'total length fits the frame');
  const fo = rd16(b, off + 6);
  return {
    headerLength: hl,
    tos: b[off + 1]!,
    totalLength,
    id: rd16(b, off + 4),
    df: (fo & 0x4000) !== 0,
    mf: (fo & 0x2000) !== 0,
    offset: (fo & 0x1fff) * 8,
    ttl: b[off + 8]!,
    protocol: b[off + 9]!,
    checksumOk: internetChecksum(b, off, hl) === 0,
    src: rd32(b, off + 12),
    dst: rd32(b, off + 16),
    options: b.slice(off + 20, off + hl),
    payload: b.slice(off + hl, off + totalLength),
    packet: b.slice(off, off + totalLength),
  };
}

export function parseFrame(b: Uint8Array): ParsedFrame {
  assert.ok(b.length >= ETH_HEADER_LEN);
  const f: ParsedFrame = {
    dst: b.slice(0, 6),
    src: b.slice(6, 12),
    etherType: rd16(b, 12),
    length: b.length,
  };
  if (f.etherType === ETHERTYPE_IPV4) f.ip = parseIp(b, ETH_HEADER_LEN);
  if (f.etherType === ETHERTYPE_ARP) {
    const o = ETH_HEADER_LEN;
    assert.equal(rd16(b, o), 1, 'htype Ethernet');
    assert.equal(rd16(b, o + 2), ETHERTYPE_IPV4, 'ptype IPv4');
    assert.equal(b[o + 4], 6);
    assert.equal(b[o + 5], 4);
    f.arp = {
      op: rd16(b, o + 6),
      sha: b.slice(o + 8, o + 14),
      spa: rd32(b, o + 14),
      tha: b.slice(o + 18, o + 24),
      tpa: rd32(b, o + 24),
    };
  }
  return f;
}

export interface ParsedIcmp {
  type: number;
  code: number;
  checksumOk: boolean;
  rest: number;
  body: Uint8Array;
}

export function parseIcmp(payload: Uint8Array): ParsedIcmp {
  assert.ok(payload.length >= 8, 'ICMP header present');
  return {
    type: payload[0]!,
    code: payload[1]!,
    checksumOk: internetChecksum(payload, 0, payload.length) === 0,
    rest: rd32(payload, 4),
    body: payload.slice(8),
  };
}

/** The one IPv4 frame transmitted, with its IP and ICMP layers decoded. */
export function onlyIcmp(sent: Sent[]): { sent: Sent; frame: ParsedFrame; ip: ParsedIpv4; icmp: ParsedIcmp } {
  assert.equal(sent.length, 1, `exactly one frame sent, got ${sent.length}`);
  const frame = parseFrame(sent[0]!.bytes);
  assert.ok(frame.ip !== undefined, 'an IPv4 frame');
  assert.equal(frame.ip.protocol, IPPROTO_ICMP);
  assert.ok(frame.ip.checksumOk, 'IP header checksum');
  const icmp = parseIcmp(frame.ip.payload);
  assert.ok(icmp.checksumOk, 'ICMP checksum');
  return { sent: sent[0]!, frame, ip: frame.ip, icmp };
}

export function tcpFields(payload: Uint8Array) {
  return {
    srcPort: rd16(payload, 0),
    dstPort: rd16(payload, 2),
    seq: rd32(payload, 4),
    ack: rd32(payload, 8),
    dataOffset: (payload[12]! >>> 4) * 4,
    flags: payload[13]!,
    window: rd16(payload, 14),
  };
}

export {
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
};
