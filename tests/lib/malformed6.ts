// Damaged IPv6 frames, byte by byte, for the integration test that feeds them to a VR from a
// namespace (the IPv4 ones are in malformed.ts). Each comes with the drop reason the VR must count.
import { parseIpv6 } from '@nexthop/addr';
import { ethernetFrame } from './malformed.ts';

const ETHERTYPE_IPV6 = 0x86dd;
const NH_HOP_BY_HOP = 0;
const NH_ROUTING = 43;
const NH_FRAGMENT = 44;
const NH_ICMPV6 = 58;
const NH_DEST_OPTS = 60;
const NH_NONE = 59;

export interface Ends6 {
  readonly dstMac: string;
  readonly srcMac: string;
  readonly src: string;
  /** Beyond the VR (forwarded) */
  readonly far: string;
  /** One of the VR's own addresses */
  readonly vr: string;
}

function header(
  src: string,
  dst: string,
  nextHeader: number,
  payloadLength: number,
  hopLimit = 64,
): Uint8Array {
  const h = new Uint8Array(40);
  h[0] = 0x60;
  h[4] = payloadLength >>> 8;
  h[5] = payloadLength & 0xff;
  h[6] = nextHeader;
  h[7] = hopLimit;
  h.set(parseIpv6(src), 8);
  h.set(parseIpv6(dst), 24);
  return h;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** ICMPv6 message with its checksum over the RFC 8200 §8.1 pseudo header. */
function icmpv6(src: string, dst: string, body: Uint8Array): Uint8Array {
  const msg = body.slice();
  msg[2] = 0;
  msg[3] = 0;
  let sum = 0;
  const add = (b: Uint8Array) => {
    for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
    if (b.length % 2 === 1) sum += b[b.length - 1]! << 8;
  };
  add(parseIpv6(src));
  add(parseIpv6(dst));
  sum += msg.length + NH_ICMPV6;
  add(msg);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  msg[2] = c >>> 8;
  msg[3] = c & 0xff;
  return msg;
}

function echo(src: string, dst: string): Uint8Array {
  return icmpv6(src, dst, Uint8Array.of(128, 0, 0, 0, 0x12, 0x34, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8));
}

function packet(e: Ends6, dst: string, nextHeader: number, payload: Uint8Array, hopLimit = 64): Uint8Array {
  return ethernetFrame(
    e.dstMac,
    e.srcMac,
    ETHERTYPE_IPV6,
    concat(header(e.src, dst, nextHeader, payload.length, hopLimit), payload),
  );
}

/** An 8-byte extension header (next header, length 0) holding PadN. */
function padHeader(next: number): Uint8Array {
  return Uint8Array.of(next, 0, 1, 4, 0, 0, 0, 0);
}

function fragment(next: number, offset8: number, more: boolean, id: number): Uint8Array {
  const word = (offset8 << 3) | (more ? 1 : 0);
  return Uint8Array.of(
    next,
    0,
    word >>> 8,
    word & 0xff,
    id >>> 24,
    (id >>> 16) & 0xff,
    (id >>> 8) & 0xff,
    id & 0xff,
  );
}

export interface Malformed6 {
  readonly name: string;
  readonly frames: Uint8Array[];
  /** The drop reason (as `show counters` names it) each frame, or the datagram, must be counted by. */
  readonly reason: string;
}

export function malformedIpv6(e: Ends6): Malformed6[] {
  const ok = echo(e.src, e.far);
  const chain = (n: number): Uint8Array => {
    const headers: Uint8Array[] = [];
    for (let i = 0; i < n; i++) headers.push(padHeader(i === n - 1 ? NH_NONE : NH_DEST_OPTS));
    return concat(...headers);
  };
  const whole = packet(e, e.far, NH_ICMPV6, ok);
  // RFC 8200 §4.4: type 0, 2 segments left, one address (RFC 5095 deprecates it).
  const rh0 = concat(Uint8Array.of(NH_ICMPV6, 2, 0, 1, 0, 0, 0, 0), parseIpv6(e.far), echo(e.src, e.vr));
  const ns = icmpv6(
    e.src,
    'ff02::1:ff00:1',
    concat(Uint8Array.of(135, 0, 0, 0, 0, 0, 0, 0), parseIpv6(e.vr), Uint8Array.of(1, 1, 2, 0, 0, 0, 0, 1)),
  );
  const nsZeroOption = icmpv6(
    e.src,
    'ff02::1:ff00:1',
    concat(Uint8Array.of(135, 0, 0, 0, 0, 0, 0, 0), parseIpv6(e.vr), Uint8Array.of(1, 0, 2, 0, 0, 0, 0, 1)),
  );
  const badSum = echo(e.src, e.vr);
  badSum[3] = badSum[3]! ^ 0xff;
  const data = echo(e.src, e.vr);
  const part = concat(data, new Uint8Array(16));
  return [
    { name: 'IPv6 header cut short', frames: [whole.slice(0, 14 + 20)], reason: 'ipv6_truncated' },
    {
      name: 'version 4 in an IPv6 frame',
      frames: [
        (() => {
          const f = whole.slice();
          f[14] = 0x40;
          return f;
        })(),
      ],
      reason: 'ipv6_bad_version',
    },
    {
      name: 'payload length beyond the frame',
      frames: [
        (() => {
          const f = whole.slice();
          f[14 + 5] = f[14 + 5]! + 8;
          return f;
        })(),
      ],
      reason: 'ipv6_bad_payload_length',
    },
    {
      name: 'hop limit 1 to forward',
      frames: [packet(e, e.far, NH_ICMPV6, ok, 1)],
      reason: 'ipv6_hop_limit_exceeded',
    },
    {
      name: 'routing header type 0 with segments left',
      frames: [packet(e, e.vr, NH_ROUTING, rh0)],
      reason: 'ipv6_routing_header',
    },
    {
      name: 'hop-by-hop header second',
      frames: [packet(e, e.vr, NH_DEST_OPTS, concat(padHeader(NH_HOP_BY_HOP), padHeader(NH_NONE)))],
      reason: 'ipv6_hbh_not_first',
    },
    {
      name: 'twelve destination-options headers',
      frames: [packet(e, e.vr, NH_DEST_OPTS, chain(12))],
      reason: 'ipv6_ext_too_many',
    },
    {
      name: 'neighbor solicitation with hop limit 64',
      frames: [packet(e, 'ff02::1:ff00:1', NH_ICMPV6, ns, 64)],
      reason: 'ndp_bad_hop_limit',
    },
    {
      name: 'neighbor solicitation with a zero-length option',
      frames: [packet(e, 'ff02::1:ff00:1', NH_ICMPV6, nsZeroOption, 255)],
      reason: 'ndp_bad_option_length',
    },
    {
      name: 'echo request with a bad checksum',
      frames: [packet(e, e.vr, NH_ICMPV6, badSum)],
      reason: 'icmpv6_bad_checksum',
    },
    {
      name: 'overlapping fragments',
      frames: [
        packet(e, e.vr, NH_FRAGMENT, concat(fragment(NH_ICMPV6, 0, true, 0x5151), part.subarray(0, 16))),
        packet(e, e.vr, NH_FRAGMENT, concat(fragment(NH_ICMPV6, 1, false, 0x5151), part.subarray(0, 24))),
      ],
      reason: 'ipv6_reassembly_overlap',
    },
    {
      name: 'first fragment without the upper-layer header',
      frames: [
        packet(e, e.vr, NH_FRAGMENT, concat(fragment(NH_ICMPV6, 0, true, 0x5252), data.subarray(0, 0))),
      ],
      reason: 'ipv6_first_fragment_incomplete',
    },
  ];
}

/** A well-formed echo request to `far`, sent the same way. */
export function validEcho6(e: Ends6): Uint8Array {
  return packet(e, e.far, NH_ICMPV6, echo(e.src, e.far));
}
