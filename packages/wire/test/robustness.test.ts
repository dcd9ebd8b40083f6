// Decoders face whatever arrives on the wire: they must never throw, never write, and never look
// outside the window buf[off, off+len) they were given (the rest of the buffer is other frames).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ArpPacket,
  Drop,
  decodeArp,
  decodeEthernet,
  decodeIcmp,
  decodeIpv4,
  decodeTcp,
  decodeUdp,
  EthernetHeader,
  IcmpMessage,
  Ipv4Header,
  TcpHeader,
  UdpHeader,
} from '../src/index.ts';
import {
  ARP_REPLY,
  ARP_REQUEST,
  ARP_REQUEST_VLAN100,
  ECHO_REPLY,
  ECHO_REQUEST,
  ECHO_REQUEST_QINQ,
  ETH_LEN,
  FRAG_NEEDED,
  IP_A,
  IP_B,
  IPV4_IHL6_ROUTER_ALERT,
  IPV4_IHL7_RECORD_ROUTE,
  PORT_UNREACHABLE,
  TCP_RST_ACK,
  TCP_SYN,
  TIME_EXCEEDED,
  UDP_DATAGRAM,
} from './golden.ts';

type Decode = (buf: Uint8Array, off: number, len: number, src: number, dst: number) => unknown;

const L4 = ETH_LEN + 20;
const ethernetFrames = [
  ARP_REQUEST,
  ARP_REPLY,
  ARP_REQUEST_VLAN100,
  ECHO_REQUEST_QINQ,
  ECHO_REQUEST,
  UDP_DATAGRAM,
  TCP_SYN,
];
const icmpFrames = [ECHO_REQUEST, ECHO_REPLY, PORT_UNREACHABLE, TIME_EXCEEDED, FRAG_NEEDED];

/**
 * Each decoder with a fresh scratch object (the result is the return code and every output field),
 * and real packets of its layer that the generator damages, so runs get past the length checks.
 */
const decoders: { name: string; decode: Decode; seeds: Uint8Array[] }[] = [
  {
    name: 'ethernet',
    decode: (b, o, l) => {
      const out = new EthernetHeader();
      return [decodeEthernet(b, o, l, out), { ...out }];
    },
    seeds: ethernetFrames,
  },
  {
    name: 'arp',
    decode: (b, o, l) => {
      const out = new ArpPacket();
      return [decodeArp(b, o, l, out), { ...out }];
    },
    seeds: [ARP_REQUEST.subarray(ETH_LEN), ARP_REPLY.subarray(ETH_LEN)],
  },
  {
    name: 'ipv4',
    decode: (b, o, l) => {
      const out = new Ipv4Header();
      return [decodeIpv4(b, o, l, out), { ...out }];
    },
    seeds: [
      ...[...icmpFrames, UDP_DATAGRAM, TCP_SYN, TCP_RST_ACK].map((f) => f.subarray(ETH_LEN)),
      IPV4_IHL6_ROUTER_ALERT,
      IPV4_IHL7_RECORD_ROUTE,
    ],
  },
  {
    name: 'icmp',
    decode: (b, o, l) => {
      const out = new IcmpMessage();
      return [decodeIcmp(b, o, l, out), { ...out }];
    },
    seeds: icmpFrames.map((f) => f.subarray(L4)),
  },
  {
    name: 'udp',
    decode: (b, o, l, s, d) => {
      const out = new UdpHeader();
      return [decodeUdp(b, o, l, s, d, out), { ...out }];
    },
    seeds: [UDP_DATAGRAM.subarray(L4)],
  },
  {
    name: 'tcp',
    decode: (b, o, l, s, d) => {
      const out = new TcpHeader();
      return [decodeTcp(b, o, l, s, d, out), { ...out }];
    },
    seeds: [TCP_SYN.subarray(L4), TCP_RST_ACK.subarray(L4)],
  },
  {
    name: 'tcp without checksum verification',
    decode: (b, o, l, s, d) => {
      const out = new TcpHeader();
      return [decodeTcp(b, o, l, s, d, out, false), { ...out }];
    },
    seeds: [TCP_SYN.subarray(L4), TCP_RST_ACK.subarray(L4)],
  },
];

/** Random bytes, or a real packet with a few bytes changed and maybe cut short. */
function windowBytes(seeds: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const damaged = fc
    .tuple(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 2 }),
      fc.oneof(fc.constant(0), fc.nat({ max: 64 })),
    )
    .map(([seed, edits, cut]) => {
      const bytes = seed.slice(0, Math.max(0, seed.length - cut));
      for (const [at, value] of edits) if (bytes.length > 0) bytes[at % bytes.length] = value;
      return bytes;
    });
  return fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: 120 }), weight: 1 },
    { arbitrary: damaged, weight: 3 },
  );
}

const addresses = fc.oneof(
  fc.constant([IP_A, IP_B] as const),
  fc.constant([IP_B, IP_A] as const),
  fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })),
);

function placed(window: Uint8Array, before: number, after: number, fill: (i: number) => number): Uint8Array {
  const buf = new Uint8Array(before + window.length + after);
  for (let i = 0; i < buf.length; i++) buf[i] = fill(i);
  buf.set(window, before);
  return buf;
}

/** A view of buf that records every element read outside [off, off+len). */
function watched(buf: Uint8Array, off: number, len: number, strayReads: number[]): Uint8Array {
  return new Proxy(buf, {
    get(target, prop) {
      if (typeof prop === 'string') {
        const index = Number(prop);
        if (Number.isInteger(index) && String(index) === prop && (index < off || index >= off + len)) {
          strayReads.push(index);
        }
      }
      return Reflect.get(target, prop);
    },
    set() {
      throw new Error('a decoder wrote into the frame');
    },
  });
}

describe('decoders on random and damaged input', () => {
  for (const { name, decode, seeds } of decoders) {
    it(`${name}: never throws, writes, or reads outside the window`, () => {
      fc.assert(
        fc.property(
          windowBytes(seeds),
          fc.nat({ max: 48 }),
          fc.nat({ max: 48 }),
          fc.integer({ min: 0, max: 255 }),
          addresses,
          (window, before, after, noise, [src, dst]) => {
            const zeros = placed(window, before, after, () => 0x00);
            const ones = placed(window, before, after, () => 0xff);
            const noisy = placed(window, before, after, (i) => (noise + i * 0x9d) & 0xff);
            const len = window.length;

            const strayReads: number[] = [];
            const result = decode(watched(zeros, before, len, strayReads), before, len, src, dst);
            assert.deepEqual(strayReads, [], `${name} read outside [${before}, ${before + len})`);

            // The same answer whatever surrounds the window.
            assert.deepEqual(decode(ones, before, len, src, dst), result);
            assert.deepEqual(decode(noisy, before, len, src, dst), result);
            // And the same answer for the window alone, moved to offset 0.
            const alone = decode(window.slice(), 0, len, src, dst) as [number, Record<string, number>];
            const [code] = result as [number];
            assert.equal(alone[0], code);
          },
        ),
        { seed: 4242, numRuns: 1500 },
      );
    });
  }

  it('the damaged seeds reach every drop reason and success', () => {
    // Guards the generator above: without this, the properties could be testing length checks only.
    const seen = new Map<string, Set<number>>();
    for (const { name, decode, seeds } of decoders) {
      const codes = new Set<number>();
      for (const [window, [src, dst]] of fc.sample(fc.tuple(windowBytes(seeds), addresses), {
        seed: 4242,
        numRuns: 1500,
      })) {
        codes.add((decode(window, 0, window.length, src, dst) as [number])[0]);
      }
      seen.set(name, codes);
    }
    const expect: Record<string, number[]> = {
      ethernet: [0, Drop.ETH_TRUNCATED],
      arp: [0, Drop.ARP_TRUNCATED, Drop.ARP_BAD_HARDWARE, Drop.ARP_BAD_PROTOCOL, Drop.ARP_BAD_OPCODE],
      ipv4: [
        0,
        Drop.IPV4_TRUNCATED,
        Drop.IPV4_BAD_VERSION,
        Drop.IPV4_BAD_IHL,
        Drop.IPV4_BAD_CHECKSUM,
        Drop.IPV4_BAD_TOTAL_LENGTH,
      ],
      icmp: [0, Drop.ICMP_TRUNCATED, Drop.ICMP_BAD_CHECKSUM],
      udp: [0, Drop.UDP_TRUNCATED, Drop.UDP_BAD_CHECKSUM],
      tcp: [0, Drop.TCP_TRUNCATED, Drop.TCP_BAD_CHECKSUM],
    };
    for (const [name, codes] of Object.entries(expect)) {
      for (const code of codes) assert.ok(seen.get(name)!.has(code), `${name} never returned ${code}`);
    }
  });
});
