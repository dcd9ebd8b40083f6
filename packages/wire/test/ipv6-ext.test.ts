import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  Drop,
  decodeIcmpv6,
  decodeIpv6,
  decodeIpv6Extensions,
  Icmpv6Message,
  IPPROTO_AH,
  IPPROTO_DSTOPTS,
  IPPROTO_ESP,
  IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS,
  IPPROTO_ICMPV6,
  IPPROTO_NONE,
  IPPROTO_ROUTING,
  IPPROTO_TCP,
  IPV6_EXT_MAX_CHAIN,
  IPV6_EXT_MAX_HEADERS,
  IPV6_EXT_MAX_OPTIONS,
  Ipv6Extensions,
  Ipv6Header,
  OPTION_ACTION_DISCARD,
  OPTION_ACTION_DISCARD_ICMP,
  OPTION_ACTION_DISCARD_ICMP_UNICAST,
  PARAM_PROBLEM_CHAIN_TOO_LONG,
  PARAM_PROBLEM_HEADER_FIELD,
  PARAM_PROBLEM_INCOMPLETE_CHAIN,
  PARAM_PROBLEM_NEXT_HEADER,
  PARAM_PROBLEM_OPTION,
  PARAM_PROBLEM_TOO_MANY_HEADERS,
  PARAM_PROBLEM_TOO_MANY_OPTIONS,
  pseudoHeaderSumIpv6,
  ROUTER_ALERT_MLD,
  ROUTING_TYPE_0,
  writeIpv6Header,
} from '../src/index.ts';
import { hex } from './golden.ts';
import {
  ATOMIC_FRAGMENT,
  DO_UNKNOWN_OPTION,
  ECHO6_REQUEST,
  FRAGMENT_FIRST,
  FRAGMENT_LAST,
  GOOD_CHAIN,
  HBH_NOT_FIRST,
  IP6_A,
  IP6_AT,
  IP6_B,
  MLD_QUERY,
  MLD_REPORT,
  NEXT_HEADER_253,
  PP_HBH_NOT_FIRST,
  PP_NEXT_HEADER,
  PP_OPTION,
  PP_RH0,
  RH0,
} from './golden-ipv6.ts';

function walk(frame: Uint8Array, out = new Ipv6Extensions()): [number, Ipv6Extensions] {
  const ip = new Ipv6Header();
  assert.equal(decodeIpv6(frame, IP6_AT, frame.length - IP6_AT, ip), 0);
  return [decodeIpv6Extensions(frame, IP6_AT, ip.totalLength, out), out];
}

/** The Parameter Problem Linux sent for a golden packet: [code, pointer]. */
function linuxProblem(frame: Uint8Array): [number, number] {
  const icmp = new Icmpv6Message();
  const pseudo = pseudoHeaderSumIpv6(frame, IP6_AT + 8, frame, IP6_AT + 24, IPPROTO_ICMPV6, 0);
  assert.equal(decodeIcmpv6(frame, IP6_AT + 40, frame.length - IP6_AT - 40, pseudo, icmp), 0);
  assert.equal(icmp.type, 4);
  return [icmp.code, icmp.pointer];
}

/** A Hop-by-Hop or Destination Options header holding `options`, padded to 8n as RFC 8200 §4.2 shows. */
function optionsHeader(nextHeader: number, options: number[]): number[] {
  const body = [...options];
  const total = Math.ceil((2 + body.length) / 8) * 8;
  const pad = total - 2 - body.length;
  if (pad === 1) body.push(0);
  else if (pad > 1) body.push(1, pad - 2, ...new Array(pad - 2).fill(0));
  return [nextHeader, total / 8 - 1, ...body];
}

/** An IPv6 packet from A to `dst` whose chain is `chain` (bytes), then `payload`. */
function packet(firstNext: number, chain: number[], payload: number[] = [], dst = IP6_B): Uint8Array {
  const buf = new Uint8Array(40 + chain.length + payload.length);
  writeIpv6Header(buf, 0, 0, 0, chain.length + payload.length, firstNext, 64, IP6_A, 0, dst, 0);
  buf.set(chain, 40);
  buf.set(payload, 40 + chain.length);
  return buf;
}

function walkPacket(p: Uint8Array, out = new Ipv6Extensions()): [number, Ipv6Extensions] {
  return [decodeIpv6Extensions(p, 0, p.length, out), out];
}

const PING = [0x80, 0, 0, 0, 0, 1, 0, 1];

describe('decodeIpv6Extensions on captured packets (RFC 8200 §4)', () => {
  it('walks no header at all for a plain echo request', () => {
    const [r, ext] = walk(ECHO6_REQUEST);
    assert.equal(r, 0);
    assert.equal(ext.protocol, IPPROTO_ICMPV6);
    assert.equal(ext.protocolFieldOffset, IP6_AT + 6);
    assert.equal(ext.payloadOffset, IP6_AT + 40);
    assert.equal(ext.payloadLength, 24);
    assert.equal(ext.headerCount, 0);
    assert.equal(ext.chainLength, 0);
    assert.equal(ext.hopByHop, false);
    assert.equal(ext.routerAlert, -1);
    assert.equal(ext.fragmentHeaderOffset, -1);
    assert.equal(ext.isFragment, false);
  });

  it('walks Hop-by-Hop and Destination Options with padding and a skippable option (Linux answered it)', () => {
    const [r, ext] = walk(GOOD_CHAIN);
    assert.equal(r, 0);
    assert.equal(ext.hopByHop, true);
    assert.equal(ext.headerCount, 2);
    assert.equal(ext.chainLength, 24);
    assert.equal(ext.protocol, IPPROTO_ICMPV6);
    assert.equal(ext.protocolFieldOffset, IP6_AT + 48);
    assert.equal(ext.payloadOffset, IP6_AT + 64);
    assert.equal(ext.payloadLength, 18);
    assert.equal(ext.routerAlert, -1);
  });

  it('reads the Router Alert of MLD messages (RFC 2711)', () => {
    for (const frame of [MLD_REPORT, MLD_QUERY]) {
      const [r, ext] = walk(frame);
      assert.equal(r, 0);
      assert.equal(ext.routerAlert, ROUTER_ALERT_MLD);
      assert.equal(ext.protocol, IPPROTO_ICMPV6);
      assert.equal(ext.payloadOffset, IP6_AT + 48);
    }
  });

  it('reads the first fragment and walks on into its upper-layer header', () => {
    const [r, ext] = walk(FRAGMENT_FIRST);
    assert.equal(r, 0);
    assert.equal(ext.fragmentHeaderOffset, IP6_AT + 40);
    assert.equal(ext.fragmentFieldOffset, IP6_AT + 6);
    assert.equal(ext.fragmentOffset, 0);
    assert.equal(ext.moreFragments, true);
    assert.equal(ext.fragmentId, 0x58f964a8);
    assert.equal(ext.isFragment, true);
    assert.equal(ext.protocol, IPPROTO_ICMPV6);
    assert.equal(ext.payloadOffset, IP6_AT + 48);
    assert.equal(ext.payloadLength, 1448);
  });

  it('stops after the Fragment header of a later fragment', () => {
    const [r, ext] = walk(FRAGMENT_LAST);
    assert.equal(r, 0);
    assert.equal(ext.fragmentOffset, 1448);
    assert.equal(ext.moreFragments, false);
    assert.equal(ext.fragmentId, 0x58f964a8);
    assert.equal(ext.isFragment, true);
    assert.equal(ext.protocol, IPPROTO_ICMPV6);
    assert.equal(ext.protocolFieldOffset, IP6_AT + 40);
    assert.equal(ext.payloadLength, 160);
  });

  it('takes an atomic fragment as no fragment (RFC 6946)', () => {
    const [r, ext] = walk(ATOMIC_FRAGMENT);
    assert.equal(r, 0);
    assert.equal(ext.fragmentHeaderOffset, IP6_AT + 40);
    assert.equal(ext.fragmentId, 0x4e455854);
    assert.equal(ext.isFragment, false);
    assert.equal(ext.protocol, IPPROTO_ICMPV6);
  });

  it('asks for the Parameter Problem Linux sent: next header 253 (code 1, pointer 6)', () => {
    const [r, ext] = walk(NEXT_HEADER_253);
    assert.equal(r, Drop.IPV6_UNKNOWN_NEXT_HEADER);
    assert.equal(ext.protocol, 253);
    assert.deepEqual([ext.problemCode, ext.pointer], linuxProblem(PP_NEXT_HEADER));
    assert.deepEqual(linuxProblem(PP_NEXT_HEADER), [PARAM_PROBLEM_NEXT_HEADER, 6]);
  });

  it('… an unknown option with action 10 (code 2, pointer 42)', () => {
    const [r, ext] = walk(DO_UNKNOWN_OPTION);
    assert.equal(r, Drop.IPV6_UNKNOWN_OPTION);
    assert.equal(ext.optionAction, OPTION_ACTION_DISCARD_ICMP);
    assert.deepEqual([ext.problemCode, ext.pointer], linuxProblem(PP_OPTION));
    assert.deepEqual(linuxProblem(PP_OPTION), [PARAM_PROBLEM_OPTION, 42]);
  });

  it('… a Hop-by-Hop header after another header (code 1, pointer 40)', () => {
    const [r, ext] = walk(HBH_NOT_FIRST);
    assert.equal(r, Drop.IPV6_HBH_NOT_FIRST);
    assert.deepEqual([ext.problemCode, ext.pointer], linuxProblem(PP_HBH_NOT_FIRST));
  });

  it('exposes a type 0 routing header so that the caller refuses it where Linux does (code 0, pointer 42)', () => {
    const [r, ext] = walk(RH0);
    assert.equal(r, 0);
    assert.equal(ext.routingType, ROUTING_TYPE_0);
    assert.equal(ext.segmentsLeft, 1);
    assert.equal(ext.routingOffset, IP6_AT + 40);
    assert.equal(ext.protocol, IPPROTO_ICMPV6);
    // RFC 8200 §4.4, RFC 5095 §3: code 0 at the Routing Type field.
    assert.deepEqual([PARAM_PROBLEM_HEADER_FIELD, ext.routingOffset + 2 - IP6_AT], linuxProblem(PP_RH0));
  });

  it('walks the packets Linux quoted in its errors the same way', () => {
    const [r, ext] = walk(
      PP_OPTION.slice(0, IP6_AT).length === IP6_AT ? DO_UNKNOWN_OPTION : DO_UNKNOWN_OPTION,
    );
    assert.equal(r, Drop.IPV6_UNKNOWN_OPTION);
    // The quote starts after the error's IPv6 and ICMPv6 headers; walked in place, it gives the same pointer.
    const quoted = IP6_AT + 48;
    const out = new Ipv6Extensions();
    assert.equal(
      decodeIpv6Extensions(PP_OPTION, quoted, PP_OPTION.length - quoted, out),
      Drop.IPV6_UNKNOWN_OPTION,
    );
    assert.equal(out.pointer, ext.pointer);
  });
});

describe('decodeIpv6Extensions: headers', () => {
  it('skips AH by its own length unit (RFC 4302 §2.2) and stops at ESP and No Next Header', () => {
    const ah = [IPPROTO_TCP, 4, 0, 0, ...new Array(20).fill(0xab)]; // (4 + 2) × 4 = 24 bytes
    const [r, ext] = walkPacket(packet(IPPROTO_AH, ah, new Array(20).fill(0)));
    assert.equal(r, 0);
    assert.equal(ext.protocol, IPPROTO_TCP);
    assert.equal(ext.payloadOffset, 64);
    assert.equal(ext.chainLength, 24);
    for (const stop of [IPPROTO_ESP, IPPROTO_NONE]) {
      const [r2, e2] = walkPacket(packet(IPPROTO_DSTOPTS, optionsHeader(stop, []), [1, 2, 3, 4]));
      assert.equal(r2, 0);
      assert.equal(e2.protocol, stop);
      assert.equal(e2.payloadOffset, 48);
      assert.equal(e2.payloadLength, 4);
    }
  });

  it('drops the other extension headers of RFC 7045 as IPV6_UNKNOWN_NEXT_HEADER, pointing at the field', () => {
    for (const nh of [135, 139, 140, 253, 254]) {
      const [r, ext] = walkPacket(packet(IPPROTO_DSTOPTS, optionsHeader(nh, []), new Array(8).fill(0)));
      assert.equal(r, Drop.IPV6_UNKNOWN_NEXT_HEADER, `${nh}`);
      assert.equal(ext.problemCode, PARAM_PROBLEM_NEXT_HEADER);
      assert.equal(ext.pointer, 40);
    }
    // Upper-layer protocols, known to the stack or not, are its business.
    for (const nh of [4, 6, 17, 41, 89, 103, 132, 255]) {
      const [r] = walkPacket(packet(nh, [], [0, 0, 0, 0]));
      assert.equal(r, 0, `${nh}`);
    }
  });

  it('drops a header that runs past the packet as IPV6_EXT_TRUNCATED', () => {
    const dopt = optionsHeader(IPPROTO_ICMPV6, [0x1e, 10, ...new Array(10).fill(7)]); // 16 bytes
    for (let cut = 1; cut < dopt.length; cut++) {
      const [r, ext] = walkPacket(packet(IPPROTO_DSTOPTS, dopt.slice(0, dopt.length - cut)));
      assert.equal(r, Drop.IPV6_EXT_TRUNCATED, `cut ${cut}`);
      assert.equal(ext.problemCode, -1);
    }
    assert.equal(walkPacket(packet(IPPROTO_FRAGMENT, [58, 0, 0, 0, 0, 0, 0]))[0], Drop.IPV6_EXT_TRUNCATED);
    assert.equal(walkPacket(packet(IPPROTO_ROUTING, []))[0], Drop.IPV6_EXT_TRUNCATED);
  });

  it('holds a first fragment to the whole chain: code 3, pointer 0 (RFC 7112 §5)', () => {
    const frag = [IPPROTO_DSTOPTS, 0, 0, 1, 0, 0, 0, 9];
    const [r, ext] = walkPacket(packet(IPPROTO_FRAGMENT, [...frag, IPPROTO_ICMPV6, 1, 0, 0, 0, 0, 0, 0]));
    assert.equal(r, Drop.IPV6_FIRST_FRAGMENT_INCOMPLETE);
    assert.deepEqual([ext.problemCode, ext.pointer], [PARAM_PROBLEM_INCOMPLETE_CHAIN, 0]);
    // An atomic fragment (M clear) with the same cut is merely truncated.
    frag[3] = 0;
    assert.equal(
      walkPacket(packet(IPPROTO_FRAGMENT, [...frag, 58, 1, 0, 0, 0, 0, 0, 0]))[0],
      Drop.IPV6_EXT_TRUNCATED,
    );
  });

  it('holds a first fragment to its upper-layer header too: TCP 20, UDP 8, ICMPv6 4 bytes (RFC 7112 §5)', () => {
    for (const [protocol, need] of [
      [6, 20],
      [17, 8],
      [IPPROTO_ICMPV6, 4],
    ] as const) {
      // Fragments before the last are 8n bytes long (RFC 8200 §4.5): the largest 8n short of `need`.
      const frag = [protocol, 0, 0, 1, 0, 0, 0, 7];
      const short = walkPacket(packet(IPPROTO_FRAGMENT, frag, new Array((need - 1) & ~7).fill(0)));
      assert.equal(short[0], Drop.IPV6_FIRST_FRAGMENT_INCOMPLETE, `protocol ${protocol}`);
      assert.deepEqual([short[1].problemCode, short[1].pointer], [PARAM_PROBLEM_INCOMPLETE_CHAIN, 0]);
      // Enough, or a later fragment, or the last piece of a datagram: walked as before.
      assert.equal(walkPacket(packet(IPPROTO_FRAGMENT, frag, new Array((need + 7) & ~7).fill(0)))[0], 0);
      assert.equal(walkPacket(packet(IPPROTO_FRAGMENT, [protocol, 0, 0, 0, 0, 0, 0, 7], []))[0], 0);
    }
  });

  it('drops fragments whose length is not 8n before the last (RFC 8200 §4.5: code 0, pointer 4)', () => {
    const frag = [IPPROTO_ICMPV6, 0, 0, 1, 1, 2, 3, 4];
    const [r, ext] = walkPacket(packet(IPPROTO_FRAGMENT, frag, new Array(13).fill(0)));
    assert.equal(r, Drop.IPV6_FRAG_BAD_LENGTH);
    assert.deepEqual([ext.problemCode, ext.pointer], [PARAM_PROBLEM_HEADER_FIELD, 4]);
    assert.equal(walkPacket(packet(IPPROTO_FRAGMENT, frag, new Array(16).fill(0)))[0], 0);
    frag[3] = 0; // the last fragment may end anywhere
    assert.equal(walkPacket(packet(IPPROTO_FRAGMENT, frag, new Array(13).fill(0)))[0], 0);
  });

  it('drops fragments reaching beyond 65535 bytes (RFC 8200 §4.5: code 0, pointer at the offset field)', () => {
    // Offset 65528 (0xfff8) with 8 bytes ends at 65536.
    const frag = [IPPROTO_ICMPV6, 0, 0xff, 0xf8, 1, 2, 3, 4];
    const [r, ext] = walkPacket(
      packet(IPPROTO_DSTOPTS, [IPPROTO_FRAGMENT, 0, 1, 4, 0, 0, 0, 0, ...frag], new Array(8).fill(0)),
    );
    assert.equal(r, Drop.IPV6_FRAG_TOO_BIG);
    assert.deepEqual([ext.problemCode, ext.pointer], [PARAM_PROBLEM_HEADER_FIELD, 50]);
    assert.equal(walkPacket(packet(IPPROTO_FRAGMENT, frag, new Array(7).fill(0)))[0], 0);
  });

  it('keeps the first Routing and Fragment headers when there are more', () => {
    const rh = (type: number, left: number, next: number) => [next, 0, type, left, 0, 0, 0, 0];
    const [r, ext] = walkPacket(
      packet(IPPROTO_ROUTING, [...rh(4, 0, IPPROTO_ROUTING), ...rh(2, 1, IPPROTO_ICMPV6)], PING),
    );
    assert.equal(r, 0);
    assert.deepEqual([ext.routingOffset, ext.routingType, ext.segmentsLeft], [40, 4, 0]);
    assert.equal(ext.headerCount, 2);
  });

  it('allows IPV6_EXT_MAX_HEADERS headers and refuses one more (code 8 at its first byte)', () => {
    const chain = (n: number) => {
      const bytes: number[] = [];
      for (let i = 0; i < n; i++)
        bytes.push(...optionsHeader(i === n - 1 ? IPPROTO_ICMPV6 : IPPROTO_DSTOPTS, []));
      return bytes;
    };
    const [ok, e1] = walkPacket(packet(IPPROTO_DSTOPTS, chain(IPV6_EXT_MAX_HEADERS), PING));
    assert.equal(ok, 0);
    assert.equal(e1.headerCount, IPV6_EXT_MAX_HEADERS);
    const [r, ext] = walkPacket(packet(IPPROTO_DSTOPTS, chain(IPV6_EXT_MAX_HEADERS + 1), PING));
    assert.equal(r, Drop.IPV6_EXT_TOO_MANY);
    assert.deepEqual(
      [ext.problemCode, ext.pointer],
      [PARAM_PROBLEM_TOO_MANY_HEADERS, 40 + 8 * IPV6_EXT_MAX_HEADERS],
    );
    assert.equal(walkPacket(packet(IPPROTO_DSTOPTS, chain(3), PING), new Ipv6Extensions())[0], 0);
    assert.equal(
      decodeIpv6Extensions(packet(IPPROTO_DSTOPTS, chain(3), PING), 0, 40 + 24 + 8, ext, 2),
      Drop.IPV6_EXT_TOO_MANY,
    );
  });

  it('allows IPV6_EXT_MAX_CHAIN bytes of headers and refuses more (code 7)', () => {
    // PadN is limited to 7 bytes, so fill with skippable options instead.
    const filled = (bytes: number, next: number) => {
      const opts: number[] = [];
      let room = bytes - 2;
      for (let i = 0; i < 7 && room > 0; i++) {
        const len = Math.min(255, room - 2);
        opts.push(0x1e, len, ...new Array(len).fill(0x55));
        room -= 2 + len;
      }
      return [next, bytes / 8 - 1, ...opts];
    };
    const atLimit = filled(IPV6_EXT_MAX_CHAIN, IPPROTO_ICMPV6);
    assert.equal(atLimit.length, IPV6_EXT_MAX_CHAIN);
    assert.equal(walkPacket(packet(IPPROTO_DSTOPTS, atLimit, PING))[0], 0);
    const [r, ext] = walkPacket(
      packet(IPPROTO_DSTOPTS, [...optionsHeader(IPPROTO_DSTOPTS, []), ...atLimit], PING),
    );
    assert.equal(r, Drop.IPV6_EXT_CHAIN_TOO_LONG);
    assert.deepEqual([ext.problemCode, ext.pointer], [PARAM_PROBLEM_CHAIN_TOO_LONG, 48]);
  });
});

describe('decodeIpv6Extensions: options (RFC 8200 §4.2)', () => {
  const walkOptions = (options: number[], hbh = false, dst = IP6_B) =>
    walkPacket(
      packet(hbh ? IPPROTO_HOPOPTS : IPPROTO_DSTOPTS, optionsHeader(IPPROTO_ICMPV6, options), PING, dst),
    );
  const multicast = hex('ff020000000000000000000000000001');

  it('skips unknown options with action 00 and acts on the other three', () => {
    assert.equal(walkOptions([0x3e, 2, 9, 9])[0], 0);
    const cases: [number, number, number, Uint8Array][] = [
      [0x7e, OPTION_ACTION_DISCARD, -1, IP6_B],
      [0x7e, OPTION_ACTION_DISCARD, -1, multicast],
      [0xbe, OPTION_ACTION_DISCARD_ICMP, PARAM_PROBLEM_OPTION, IP6_B],
      [0xbe, OPTION_ACTION_DISCARD_ICMP, PARAM_PROBLEM_OPTION, multicast],
      [0xfe, OPTION_ACTION_DISCARD_ICMP_UNICAST, PARAM_PROBLEM_OPTION, IP6_B],
      [0xfe, OPTION_ACTION_DISCARD_ICMP_UNICAST, -1, multicast],
      [0xc2, OPTION_ACTION_DISCARD_ICMP_UNICAST, PARAM_PROBLEM_OPTION, IP6_B], // Jumbo Payload (RFC 2675)
    ];
    for (const [type, action, code, dst] of cases) {
      const [r, ext] = walkOptions([1, 0, type, 2, 0, 0], false, dst);
      assert.equal(r, Drop.IPV6_UNKNOWN_OPTION, type.toString(16));
      assert.equal(ext.optionAction, action);
      assert.equal(ext.problemCode, code, `${type.toString(16)} to ${dst[0]}`);
      assert.equal(ext.pointer, 44);
    }
  });

  it('knows Router Alert only in Hop-by-Hop, and only with 2 bytes (RFC 2711 §2.1)', () => {
    const [r, ext] = walkOptions([5, 2, 0, 7], true);
    assert.equal(r, 0);
    assert.equal(ext.routerAlert, 7);
    assert.equal(walkOptions([5, 2, 0, 7])[1].routerAlert, -1);
    assert.equal(walkOptions([5, 3, 0, 0, 0], true)[0], Drop.IPV6_OPTION_BAD_LENGTH);
  });

  it('drops options that run past their header as IPV6_OPTION_BAD_LENGTH (silently)', () => {
    // A DO header of 8 bytes: next, len 0, then an option claiming 5 bytes of data in 6.
    const [r, ext] = walkPacket(packet(IPPROTO_DSTOPTS, [58, 0, 0x1e, 5, 0, 0, 0, 0], PING));
    assert.equal(r, Drop.IPV6_OPTION_BAD_LENGTH);
    assert.equal(ext.problemCode, -1);
    // A lone type byte at the end.
    assert.equal(
      walkPacket(packet(IPPROTO_DSTOPTS, [58, 0, 1, 2, 0, 0, 0, 0x1e], PING))[0],
      Drop.IPV6_OPTION_BAD_LENGTH,
    );
  });

  it('limits padding to 7 bytes in a row and to zeros (RFC 8504 §5.3, RFC 4942 §2.1.9.5)', () => {
    const header = (bytes: number[]) =>
      walkPacket(packet(IPPROTO_DSTOPTS, [58, (2 + bytes.length) / 8 - 1, ...bytes], PING))[0];
    assert.equal(header([0, 0, 0, 0, 0, 0]), 0);
    assert.equal(header([1, 4, 0, 0, 0, 0]), 0);
    assert.equal(header([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Drop.IPV6_OPTION_BAD_PADDING);
    assert.equal(header([1, 4, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0, 0, 0]), Drop.IPV6_OPTION_BAD_PADDING);
    assert.equal(header([1, 2, 0, 0, 1, 0]), 0);
    assert.equal(header([1, 4, 0, 0, 1, 0]), Drop.IPV6_OPTION_BAD_PADDING); // 6 + 2 in a row
    assert.equal(header([1, 4, 0, 0, 0, 0, 0x1e, 0, 1, 4, 0, 0, 0, 0]), 0); // a real option resets the run
    assert.equal(header([1, 12, ...new Array(12).fill(0)]), Drop.IPV6_OPTION_BAD_PADDING);
  });

  it('allows IPV6_EXT_MAX_OPTIONS options and refuses one more (code 9 at its type byte)', () => {
    const options = (n: number) => new Array(n).fill([0x1e, 0]).flat();
    assert.equal(walkOptions(options(IPV6_EXT_MAX_OPTIONS))[0], 0);
    const [r, ext] = walkOptions(options(IPV6_EXT_MAX_OPTIONS + 1));
    assert.equal(r, Drop.IPV6_OPTION_TOO_MANY);
    assert.deepEqual(
      [ext.problemCode, ext.pointer],
      [PARAM_PROBLEM_TOO_MANY_OPTIONS, 42 + 2 * IPV6_EXT_MAX_OPTIONS],
    );
    // Padding does not count.
    assert.equal(walkOptions([...options(IPV6_EXT_MAX_OPTIONS), 0, 0, 1, 1, 0])[0], 0);
  });

  it('resets the scratch object between packets', () => {
    const ext = new Ipv6Extensions();
    walkPacket(
      packet(
        IPPROTO_HOPOPTS,
        optionsHeader(IPPROTO_ROUTING, [5, 2, 0, 0]).concat([58, 0, 0, 0, 0, 0, 0, 0]),
        PING,
      ),
      ext,
    );
    assert.equal(ext.routerAlert, 0);
    assert.equal(ext.routingType, 0);
    const [r] = walkPacket(packet(IPPROTO_ICMPV6, [], PING), ext);
    assert.equal(r, 0);
    assert.deepEqual({ ...ext }, { ...walkPacket(packet(IPPROTO_ICMPV6, [], PING))[1] });
  });
});

describe('decodeIpv6Extensions on random valid chains (property)', () => {
  type Hdr =
    | { kind: 'opts'; hbh: boolean; options: number[]; alert: number }
    | { kind: 'rh'; type: number; left: number; data: number }
    | { kind: 'frag'; more: boolean; id: number }
    | { kind: 'ah'; words: number };
  // A real option, perhaps after a little padding: runs of padding stay within 7 bytes.
  const option = fc
    .tuple(
      fc.constantFrom([], [0], [0, 0], [1, 0], [1, 1, 0]),
      fc.integer({ min: 2, max: 0x3f }),
      fc.uint8Array({ maxLength: 12 }),
    )
    .map(([pad, t, d]) => [...pad, t === 5 ? 6 : t, d.length, ...d]);
  const hdr: fc.Arbitrary<Hdr> = fc.oneof(
    fc.record({
      kind: fc.constant('opts' as const),
      hbh: fc.constant(false),
      options: fc.array(option, { maxLength: 4 }).map((o) => o.flat()),
      alert: fc.constant(-1),
    }),
    fc.record({
      kind: fc.constant('rh' as const),
      type: fc.integer({ min: 0, max: 255 }),
      left: fc.integer({ min: 0, max: 255 }),
      data: fc.integer({ min: 0, max: 3 }),
    }),
    fc.record({
      kind: fc.constant('frag' as const),
      more: fc.boolean(),
      id: fc.integer({ min: 0, max: 0xffffffff }),
    }),
    fc.record({
      kind: fc.constant('ah' as const),
      words: fc.integer({ min: 0, max: 4 }).map((n) => 2 * n + 4),
    }),
  );

  it('finds the upper layer, the routing and fragment fields and the router alert the builder put in', () => {
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
        fc.array(hdr, { maxLength: 6 }),
        fc.constantFrom(6, 17, 58, 59, 50, 89),
        fc.nat({ max: 40 }),
        (alert, hdrs, upper, payloadLen) => {
          // Padding rules and the first fragment's M flag: keep the chain valid.
          const list: Hdr[] =
            alert === undefined
              ? []
              : [{ kind: 'opts', hbh: true, options: [5, 2, alert >>> 8, alert & 0xff], alert }];
          let fragments = 0;
          for (const h of hdrs) {
            if (h.kind === 'frag' && fragments++ > 0) continue;
            list.push(h);
          }
          const types = list.map((h) =>
            h.kind === 'opts' ? (h.hbh ? 0 : 60) : h.kind === 'rh' ? 43 : h.kind === 'frag' ? 44 : 51,
          );
          const bytes: number[] = [];
          const starts: number[] = [];
          for (let i = 0; i < list.length; i++) {
            const next = i + 1 < list.length ? types[i + 1]! : upper;
            const h = list[i]!;
            starts.push(40 + bytes.length);
            if (h.kind === 'opts') bytes.push(...optionsHeader(next, h.options));
            else if (h.kind === 'rh')
              bytes.push(next, h.data, h.type, h.left, ...new Array(4 + 8 * h.data).fill(0));
            else if (h.kind === 'frag')
              bytes.push(
                next,
                0,
                0,
                h.more ? 1 : 0,
                h.id >>> 24,
                (h.id >>> 16) & 255,
                (h.id >>> 8) & 255,
                h.id & 255,
              );
            else bytes.push(next, h.words - 2, 0, 0, ...new Array(h.words * 4 - 4).fill(0xaa));
          }
          // A first fragment carries the upper-layer header whole (RFC 7112 §5): 24 bytes cover TCP's.
          const first = list.some((h) => h.kind === 'frag' && h.more);
          const payload = new Array(8 * (first ? Math.max(3, payloadLen) : payloadLen)).fill(0x11);
          fc.pre(bytes.length <= IPV6_EXT_MAX_CHAIN && list.length <= IPV6_EXT_MAX_HEADERS);
          const p = packet(list.length > 0 ? types[0]! : upper, bytes, payload);
          const ext = new Ipv6Extensions();
          assert.equal(decodeIpv6Extensions(p, 0, p.length, ext), 0);
          assert.equal(ext.protocol, upper);
          assert.equal(ext.payloadOffset, 40 + bytes.length);
          assert.equal(ext.payloadLength, payload.length);
          assert.equal(ext.chainLength, bytes.length);
          assert.equal(ext.headerCount, list.length);
          assert.equal(ext.protocolFieldOffset, list.length === 0 ? 6 : starts[list.length - 1]!);
          assert.equal(ext.routerAlert, alert ?? -1);
          const rh = list.findIndex((h) => h.kind === 'rh');
          assert.equal(ext.routingOffset, rh < 0 ? -1 : starts[rh]!);
          if (rh >= 0) assert.equal(ext.routingType, (list[rh] as { type: number }).type);
          const fr = list.findIndex((h) => h.kind === 'frag');
          assert.equal(ext.fragmentHeaderOffset, fr < 0 ? -1 : starts[fr]!);
          if (fr >= 0) {
            const f = list[fr] as { more: boolean; id: number };
            assert.equal(ext.fragmentId, f.id);
            assert.equal(ext.moreFragments, f.more);
            assert.equal(ext.fragmentFieldOffset, fr === 0 ? 6 : starts[fr - 1]!);
          }
        },
      ),
      { seed: 8883, numRuns: 2000 },
    );
  });
});
