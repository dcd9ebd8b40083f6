import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { describe, it } from 'node:test';
import {
  eui64InterfaceId,
  formatIpv6,
  formatIpv6Prefix,
  ipv6Equal,
  ipv6MulticastMac,
  ipv6PrefixContains,
  isLinkLocalIpv6,
  isLoopbackIpv6,
  isMulticastIpv6,
  isUnspecifiedIpv6,
  isV4MappedIpv6,
  linkLocalFromMac,
  maskIpv6,
  multicastScopeIpv6,
  parseIpv6,
  parseIpv6Into,
  parseIpv6Prefix,
  parseMac,
  solicitedNodeMulticast,
  tryParseIpv6,
  tryParseIpv6Prefix,
} from '@nexthop/addr';
import fc from 'fast-check';

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function bytesOf(h: string): Uint8Array {
  const clean = h.replace(/\s/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Canonical text of an address given as text. */
function canon(text: string): string {
  return formatIpv6(parseIpv6(text));
}

describe('parseIpv6: the text forms of RFC 4291 §2.2', () => {
  it('reads the preferred form x:x:x:x:x:x:x:x, one to four hex digits, either case', () => {
    assert.equal(
      hex(parseIpv6('ABCD:EF01:2345:6789:ABCD:EF01:2345:6789')),
      'abcdef0123456789abcdef0123456789',
    );
    assert.equal(hex(parseIpv6('2001:DB8:0:0:8:800:200C:417A')), '20010db80000000000080800200c417a');
    assert.equal(hex(parseIpv6('0:0:0:0:0:0:0:1')), '00000000000000000000000000000001');
  });

  it("reads '::' for one or more zero groups, wherever it stands", () => {
    // The examples of §2.2, form 2.
    assert.equal(hex(parseIpv6('2001:DB8::8:800:200C:417A')), '20010db80000000000080800200c417a');
    assert.equal(hex(parseIpv6('FF01::101')), 'ff010000000000000000000000000101');
    assert.equal(hex(parseIpv6('::1')), '00000000000000000000000000000001');
    assert.equal(hex(parseIpv6('::')), '00000000000000000000000000000000');
    assert.equal(hex(parseIpv6('1::')), '00010000000000000000000000000000');
    assert.equal(hex(parseIpv6('1:2:3:4:5:6:7::')), '00010002000300040005000600070000');
    assert.equal(hex(parseIpv6('::2:3:4:5:6:7:8')), '00000002000300040005000600070008');
  });

  it('reads a dotted quad in the last 32 bits (form 3)', () => {
    assert.equal(hex(parseIpv6('0:0:0:0:0:0:13.1.68.3')), '0000000000000000000000000d014403');
    assert.equal(hex(parseIpv6('0:0:0:0:0:FFFF:129.144.52.38')), '00000000000000000000ffff81903426');
    assert.equal(hex(parseIpv6('::13.1.68.3')), '0000000000000000000000000d014403');
    assert.equal(hex(parseIpv6('::FFFF:129.144.52.38')), '00000000000000000000ffff81903426');
    assert.equal(hex(parseIpv6('64:ff9b::192.0.2.33')), '0064ff9b0000000000000000c0000221');
    assert.equal(hex(parseIpv6('1:2:3:4:5:6:1.2.3.4')), '00010002000300040005000601020304');
  });

  it('refuses garbage, and what inet_pton refuses', () => {
    const bad = [
      '',
      ':',
      ':::',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '1::2:3:4:5:6:7:8', // '::' must stand for at least one group
      '::1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8::',
      '1::2::3',
      ':1::2',
      '1::2:',
      ':1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8:',
      '12345::1',
      '00000::1',
      'g::1',
      '::1.2.3',
      '::1.2.3.4.5',
      '::1.2.3.256',
      '::01.2.3.4', // leading zeros in the quad: octal to inet_aton, refused as parseIpv4 does
      '::1.2.3.4:5',
      '1.2.3.4::',
      '1:2:3:4:5:6:7:1.2.3.4',
      '[::1]',
      ' ::1',
      '::1 ',
      '::1/128',
      '1.2.3.4',
      'fe80::1%eth0',
      'fe80::1%1',
      '::ffff:1.2.3.4%eth0',
    ];
    for (const text of bad) {
      assert.equal(tryParseIpv6(text), undefined, text);
      assert.throws(() => parseIpv6(text), RangeError, text);
    }
  });

  it('says why in the RangeError, naming zone ids apart', () => {
    assert.throws(() => parseIpv6('1::2::3'), /^RangeError: not an IPv6 address: '1::2::3'$/);
    assert.throws(() => parseIpv6('fe80::1%eth0'), /not an IPv6 address: 'fe80::1%eth0' \(zone ids/);
  });

  it('parses into a caller-owned buffer at an offset', () => {
    const buf = new Uint8Array(20).fill(0xee);
    assert.equal(parseIpv6Into('2001:db8::1', buf, 2), true);
    assert.equal(hex(buf), 'eeee20010db8000000000000000000000001eeee');
    assert.equal(parseIpv6Into('2001:db8:::1', buf, 2), false);
  });
});

describe('formatIpv6: RFC 5952 §4', () => {
  it('suppresses leading zeros (§4.1)', () => {
    assert.equal(canon('2001:0db8::0001'), '2001:db8::1');
    assert.equal(canon('2001:db8:aaaa:bbbb:cccc:dddd:eeee:0001'), '2001:db8:aaaa:bbbb:cccc:dddd:eeee:1');
    assert.equal(canon('2001:db8:aaaa:bbbb:cccc:dddd:eeee:001'), '2001:db8:aaaa:bbbb:cccc:dddd:eeee:1');
    assert.equal(canon('2001:db8:aaaa:bbbb:cccc:dddd:eeee:01'), '2001:db8:aaaa:bbbb:cccc:dddd:eeee:1');
    assert.equal(canon('2001:db8:aaaa:bbbb:cccc:dddd:0:0'), '2001:db8:aaaa:bbbb:cccc:dddd::');
  });

  it("uses '::' to its maximum (§4.2.1) and never for one group (§4.2.2)", () => {
    assert.equal(canon('2001:db8:0:0:0:0:2:1'), '2001:db8::2:1');
    assert.equal(canon('2001:db8::0:1'), '2001:db8::1');
    assert.equal(canon('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
    assert.equal(canon('1:0:2:0:3:0:4:0'), '1:0:2:0:3:0:4:0');
  });

  it('compresses the longest run, the first one on a tie (§4.2.3)', () => {
    assert.equal(canon('2001:0:0:1:0:0:0:1'), '2001:0:0:1::1');
    assert.equal(canon('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(canon('0:0:1:0:0:1:0:0'), '::1:0:0:1:0:0');
  });

  it('writes lowercase (§4.3)', () => {
    assert.equal(canon('2001:DB8::1'), '2001:db8::1');
    assert.equal(canon('FF02::1:FF00:ABCD'), 'ff02::1:ff00:abcd');
  });

  it('gives every variant of §2.1 the one text of §4', () => {
    for (const text of [
      '2001:db8:0:0:1:0:0:1',
      '2001:0db8:0:0:1:0:0:1',
      '2001:db8::1:0:0:1',
      '2001:db8::0:1:0:0:1',
      '2001:0db8::1:0:0:1',
      '2001:db8:0:0:1::1',
      '2001:db8:0000:0:1::1',
      '2001:DB8:0:0:1::1',
    ]) {
      assert.equal(canon(text), '2001:db8::1:0:0:1', text);
    }
  });

  it('writes the special addresses and the v4-mapped prefix in mixed notation (§5)', () => {
    assert.equal(canon('0:0:0:0:0:0:0:0'), '::');
    assert.equal(canon('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(canon('1:0:0:0:0:0:0:0'), '1::');
    assert.equal(canon('::ffff:192.0.2.1'), '::ffff:192.0.2.1');
    assert.equal(canon('::ffff:c000:201'), '::ffff:192.0.2.1');
    assert.equal(canon('::ffff:0:0'), '::ffff:0.0.0.0');
    // Only ::ffff:0:0/96: the deprecated IPv4-compatible form and NAT64 stay hex.
    assert.equal(canon('::13.1.68.3'), '::d01:4403');
    assert.equal(canon('64:ff9b::192.0.2.33'), '64:ff9b::c000:221');
    assert.equal(canon('::1:ffff:1.2.3.4'), '::1:ffff:102:304');
  });

  it('reads the address at an offset', () => {
    const buf = bytesOf('ffff 20010db8000000000000000000000001 ffff');
    assert.equal(formatIpv6(buf, 2), '2001:db8::1');
  });
});

/** Addresses rich in zero groups, so that every compression case comes up. */
const address = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })), {
    minLength: 8,
    maxLength: 8,
  })
  .map((words) => {
    const a = new Uint8Array(16);
    for (let i = 0; i < 8; i++) {
      a[2 * i] = words[i]! >>> 8;
      a[2 * i + 1] = words[i]! & 0xff;
    }
    return a;
  });

/** Any legal text for the address: leading zeros, either case, any zero run compressed, a dotted quad. */
function anyText(a: Uint8Array, pad: number[], upper: boolean[], gapPick: number, quad: boolean): string {
  const words: string[] = [];
  for (let i = 0; i < 8; i++) {
    let w = ((a[2 * i]! << 8) | a[2 * i + 1]!).toString(16);
    w = '0'.repeat(Math.min(pad[i]!, 4 - w.length)) + w;
    words.push(upper[i] ? w.toUpperCase() : w);
  }
  if (quad) words.splice(6, 2, `${a[12]}.${a[13]}.${a[14]}.${a[15]}`);
  const zeroRuns: [number, number][] = [];
  for (let i = 0; i < words.length; i++) {
    for (let j = i; j < words.length && /^0+$/.test(words[j]!); j++) zeroRuns.push([i, j + 1]);
  }
  if (zeroRuns.length === 0 || gapPick % 3 === 0) return words.join(':');
  const [from, to] = zeroRuns[gapPick % zeroRuns.length]!;
  return `${words.slice(0, from).join(':')}::${words.slice(to).join(':')}`;
}

describe('IPv6 text (property)', () => {
  it('parse(format(a)) = a, and format(parse(t)) = t for the canonical text t', () => {
    fc.assert(
      fc.property(address, (a) => {
        const text = formatIpv6(a);
        const back = parseIpv6(text);
        assert.equal(hex(back), hex(a));
        assert.equal(formatIpv6(back), text);
        assert.equal(text, text.toLowerCase());
        assert.equal(isIPv6(text), true, text);
      }),
      { seed: 5952, numRuns: 3000 },
    );
  });

  it('every legal spelling parses to the address and formats to the one canonical text', () => {
    fc.assert(
      fc.property(
        address,
        fc.array(fc.nat({ max: 4 }), { minLength: 8, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        fc.nat(),
        fc.boolean(),
        (a, pad, upper, gapPick, quad) => {
          const text = anyText(a, pad, upper, gapPick, quad);
          assert.equal(hex(parseIpv6(text)), hex(a), text);
          assert.equal(canon(text), formatIpv6(a), text);
          assert.equal(isIPv6(text), true, text);
        },
      ),
      { seed: 4291, numRuns: 3000 },
    );
  });

  it('agrees with the WHATWG URL serializer (RFC 5952 compressed) outside ::ffff:0:0/96', () => {
    fc.assert(
      fc.property(address, (a) => {
        fc.pre(!isV4MappedIpv6(a));
        assert.equal(`[${formatIpv6(a)}]`, new URL(`http://[${formatIpv6(a)}]/`).hostname);
      }),
      { seed: 3986, numRuns: 2000 },
    );
  });

  it('accepts exactly what inet_pton accepts on damaged text (zone ids aside)', () => {
    const damaged = fc
      .tuple(
        address,
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(':', '.', '0', 'f', 'F', 'g', '', '::', '1.2.3.4', '/'))),
      )
      .map(([a, gapPick, edits]) => {
        let t = anyText(a, [0, 1, 0, 2, 0, 3, 0, 0], [], gapPick, gapPick % 5 === 0);
        for (const [at, s] of edits) {
          const i = at % (t.length + 1);
          t = t.slice(0, i) + s + t.slice(i + (s === '' ? 1 : 0));
        }
        return t;
      });
    fc.assert(
      fc.property(damaged, (text) => {
        assert.equal(tryParseIpv6(text) !== undefined, isIPv6(text), text);
      }),
      { seed: 2373, numRuns: 5000 },
    );
  });
});

describe('IPv6 prefixes', () => {
  it('refuses host bits unless asked for, as for IPv4', () => {
    assert.match(
      tryParseIpv6Prefix('2001:db8::1/64') as string,
      /host bits set \(did you mean 2001:db8::\/64\?\)/,
    );
    const r = tryParseIpv6Prefix('2001:db8::1/64', true);
    assert.ok(typeof r !== 'string');
    assert.equal(formatIpv6Prefix(r.prefix), '2001:db8::/64');
    assert.equal(formatIpv6(r.address), '2001:db8::1');
    assert.match(tryParseIpv6Prefix('2001:db8::/129') as string, /prefix length 0..128/);
    assert.match(tryParseIpv6Prefix('2001:db8::/-1') as string, /prefix length/);
    assert.match(tryParseIpv6Prefix('2001:db8::/6x') as string, /prefix length/);
    assert.match(tryParseIpv6Prefix('2001:db8::') as string, /no prefix length/);
    assert.match(tryParseIpv6Prefix('2001:db8:::/48') as string, /'2001:db8:::' is not an IPv6 address/);
    assert.throws(() => parseIpv6Prefix('fe80::1/10'), /host bits set \(did you mean fe80::\/10\?\)/);
  });

  it('parses and formats prefixes of every kind of length', () => {
    for (const text of [
      '::/0',
      'fe80::/10',
      '2001:db8::/32',
      '2001:db8:1::/48',
      'ff00::/8',
      '::1/128',
      '2001:db8::8000/113',
    ]) {
      assert.equal(formatIpv6Prefix(parseIpv6Prefix(text)), text);
    }
  });

  it('contains exactly the addresses that share the first length bits', () => {
    const ll = parseIpv6Prefix('fe80::/10');
    assert.equal(ipv6PrefixContains(ll, parseIpv6('fe80::1')), true);
    assert.equal(ipv6PrefixContains(ll, parseIpv6('febf:ffff::1')), true);
    assert.equal(ipv6PrefixContains(ll, parseIpv6('fec0::1')), false);
    assert.equal(ipv6PrefixContains(parseIpv6Prefix('::/0'), parseIpv6('ff02::1')), true);
    const host = parseIpv6Prefix('2001:db8::1/128');
    assert.equal(ipv6PrefixContains(host, parseIpv6('2001:db8::1')), true);
    assert.equal(ipv6PrefixContains(host, parseIpv6('2001:db8::2')), false);
    const buf = new Uint8Array(20);
    buf.set(parseIpv6('2001:db8:0:1::5'), 4);
    assert.equal(ipv6PrefixContains(parseIpv6Prefix('2001:db8::/48'), buf, 4), true);
    assert.equal(ipv6PrefixContains(parseIpv6Prefix('2001:db8:0:2::/64'), buf, 4), false);
  });

  it('masking keeps exactly length bits (property: contains agrees with a bitwise model)', () => {
    fc.assert(
      fc.property(address, address, fc.integer({ min: 0, max: 128 }), (a, b, length) => {
        const network = a.slice();
        maskIpv6(network, 0, length);
        let same = true;
        for (let bit = 0; bit < length; bit++) {
          const m = 0x80 >>> (bit & 7);
          if ((network[bit >>> 3]! & m) !== (a[bit >>> 3]! & m)) return false;
          if ((a[bit >>> 3]! & m) !== (b[bit >>> 3]! & m)) same = false;
        }
        for (let bit = length; bit < 128; bit++)
          if ((network[bit >>> 3]! & (0x80 >>> (bit & 7))) !== 0) return false;
        const p = { network, length };
        assert.equal(ipv6PrefixContains(p, a), true);
        assert.equal(ipv6PrefixContains(p, b), same);
        assert.equal(formatIpv6Prefix(parseIpv6Prefix(formatIpv6Prefix(p))), formatIpv6Prefix(p));
        return true;
      }),
      { seed: 4632, numRuns: 2000 },
    );
  });
});

describe('IPv6 address classes and derived addresses', () => {
  it('classifies unspecified, loopback, multicast, link-local and v4-mapped (RFC 4291 §2.4)', () => {
    const cases: [string, boolean, boolean, boolean, boolean, boolean][] = [
      // text, unspecified, loopback, multicast, link-local, v4-mapped
      ['::', true, false, false, false, false],
      ['::1', false, true, false, false, false],
      ['::2', false, false, false, false, false],
      ['1::1', false, false, false, false, false],
      ['ff02::1', false, false, true, false, false],
      ['ff05::1:3', false, false, true, false, false],
      ['fe80::1', false, false, false, true, false],
      ['febf::1', false, false, false, true, false],
      ['fec0::1', false, false, false, false, false],
      ['fe7f::1', false, false, false, false, false],
      ['::ffff:10.0.0.1', false, false, false, false, true],
      ['::fffe:10.0.0.1', false, false, false, false, false],
      ['0:0:0:0:1:ffff:10.0.0.1', false, false, false, false, false],
    ];
    for (const [text, unspec, loop, mc, ll, mapped] of cases) {
      const a = parseIpv6(text);
      assert.deepEqual(
        [isUnspecifiedIpv6(a), isLoopbackIpv6(a), isMulticastIpv6(a), isLinkLocalIpv6(a), isV4MappedIpv6(a)],
        [unspec, loop, mc, ll, mapped],
        text,
      );
    }
    assert.equal(multicastScopeIpv6(parseIpv6('ff02::1')), 2);
    assert.equal(multicastScopeIpv6(parseIpv6('ff05::1:3')), 5);
    assert.equal(multicastScopeIpv6(parseIpv6('ff0e::101')), 14);
  });

  it('derives the solicited-node group from the low 24 bits (RFC 4291 §2.7.1)', () => {
    // The example of RFC 4291 §2.7.1: 4037::01:800:200e:8c6c → ff02::1:ff0e:8c6c.
    assert.equal(
      formatIpv6(solicitedNodeMulticast(parseIpv6('4037::01:800:200e:8c6c'))),
      'ff02::1:ff0e:8c6c',
    );
    assert.equal(formatIpv6(solicitedNodeMulticast(parseIpv6('fe80::ff:fe00:b'))), 'ff02::1:ff00:b');
    assert.equal(formatIpv6(solicitedNodeMulticast(parseIpv6('2001:db8::1'))), 'ff02::1:ff00:1');
    // In place in a packet buffer, over its own source.
    const buf = new Uint8Array(40).fill(0xee);
    buf.set(parseIpv6('2001:db8::abcd:ef12'), 8);
    solicitedNodeMulticast(buf, 8, buf, 8);
    assert.equal(formatIpv6(buf, 8), 'ff02::1:ffcd:ef12');
    assert.equal(buf[7], 0xee);
    assert.equal(buf[24], 0xee);
  });

  it('maps a multicast group to 33:33 and its low 32 bits (RFC 2464 §7)', () => {
    assert.equal(hex(ipv6MulticastMac(parseIpv6('ff02::1'))), '333300000001');
    assert.equal(hex(ipv6MulticastMac(parseIpv6('ff02::1:ff00:b'))), '3333ff00000b');
    assert.equal(hex(ipv6MulticastMac(parseIpv6('ff02::16'))), '333300000016');
    const out = new Uint8Array(8);
    ipv6MulticastMac(parseIpv6('ff05::1:3'), 0, out, 2);
    assert.equal(hex(out), '0000333300010003');
  });

  it('builds the modified EUI-64 interface id of a MAC (RFC 4291 App. A)', () => {
    // Appendix A: 34-56-78-9A-BC-DE (universal) → 3656:78ff:fe9a:bcde.
    assert.equal(hex(eui64InterfaceId(bytesOf('3456789abcde'))), '365678fffe9abcde');
    // A locally administered MAC has its U/L bit cleared.
    assert.equal(hex(eui64InterfaceId(parseMac('02:00:00:00:00:0a'))), '000000fffe00000a');
    assert.equal(formatIpv6(linkLocalFromMac(parseMac('02:00:00:00:00:0b'))), 'fe80::ff:fe00:b');
    assert.equal(formatIpv6(linkLocalFromMac(parseMac('52:54:00:12:34:56'))), 'fe80::5054:ff:fe12:3456');
    const addr = parseIpv6('2001:db8:1:2::');
    eui64InterfaceId(parseMac('00:11:22:33:44:55'), 0, addr, 8);
    assert.equal(formatIpv6(addr), '2001:db8:1:2:211:22ff:fe33:4455');
  });

  it('compares addresses at offsets', () => {
    const buf = new Uint8Array(34);
    buf.set(parseIpv6('fe80::1'), 1);
    buf.set(parseIpv6('fe80::1'), 18);
    assert.equal(ipv6Equal(buf, 1, buf, 18), true);
    buf[33] = 2;
    assert.equal(ipv6Equal(buf, 1, buf, 18), false);
  });
});
