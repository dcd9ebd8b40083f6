// The bgp and policies sections of a router (issue 11): the full example normalized, and each
// mistake reported at its field and line.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseIpv4, parseIpv6 } from '@nexthop/addr';
import {
  asPathRegexSource,
  bgpNotes,
  COMMUNITY_BLACKHOLE,
  COMMUNITY_NO_EXPORT,
  type ConfigError,
  configJsonSchema,
  formatConfigErrors,
  parseConfig,
  parsePrefixListEntry,
} from '../src/index.ts';

const EXAMPLE = `routers:
  edge:
    interfaces:
      e1: { driver: tap, device: t1, addresses: [10.0.12.1/30, 2001:db8:12::1/64] }
      e2: { driver: tap, device: t2, addresses: [10.0.13.1/30] }
    bgp:
      asn: 65001
      routerId: 192.0.2.1
      clusterId: 192.0.2.9
      listen: true
      networks: [10.1.0.0/24, 2001:db8:1::/48]
      redistribute: [connected, static]
      neighbors:
        isp-a:
          address: 10.0.12.2
          remoteAs: 65002
          localAddress: 10.0.12.1
          passive: false
          port: 179
          holdTime: 90
          keepalive: 30
          connectRetry: 120
          families: [ipv4, ipv6]
          import: from-isp
          export: to-isp
          maxPrefixes: 10000
          password: secret
          ttlSecurity: true
          nextHopSelf: false
        core:
          address: 2001:db8:12::2
          remoteAs: 65001
          routeReflectorClient: true
        ll:
          address: fe80::2
          interface: e1
          remoteAs: 65003
    policies:
      prefixLists:
        customers:
          - 10.0.0.0/8 le 24
          - { prefix: 2001:db8::/32, le: 48 }
          - 192.168.0.0/16 ge 24 le 28
      policies:
        from-isp:
          - match: { prefixList: customers, asPath: '^65002_', community: '65000:100', family: ipv4 }
            set: { localPref: 200, med: 50, addCommunities: ['65000:200', no-export], removeCommunities: ['65000:100'], addLargeCommunities: ['65001:1:2'], prependAs: 2, nextHop: 10.0.12.1 }
            then: accept
          - then: reject
        to-isp:
          - match: { community: [blackhole, no-export] }
            then: reject
          - match: { prefixList: [customers] }
            then: next
            set: { med: 10 }
          - {}
`;

function parse(text: string) {
  const r = parseConfig(text);
  assert.ok(r.ok, r.ok ? '' : formatConfigErrors(r.errors, 'edge.yaml'));
  return r.config.routers[0]!;
}

function errorsOf(text: string): ConfigError[] {
  const r = parseConfig(text);
  assert.equal(r.ok, false, 'expected the config to be rejected');
  return r.ok ? [] : r.errors;
}

/** Asserts an error at `path` on `line` whose message contains `fragment`. */
function expectError(text: string, path: string, line: number, fragment: string | RegExp): void {
  const errors = errorsOf(text);
  const shown = formatConfigErrors(errors, 'edge.yaml');
  const hit = errors.find((e) => e.path === path);
  assert.ok(hit, `no error at ${path}; got:\n${shown}`);
  assert.equal(hit.line, line, shown);
  if (typeof fragment === 'string') assert.ok(hit.message.includes(fragment), shown);
  else assert.match(hit.message, fragment, shown);
  assert.doesNotMatch(hit.message, /schema is false|must match a schema|#\/properties/, shown);
}

/** The example with line `line` (1-based) replaced; null removes it. */
function withLine(line: number, replacement: string | null): string {
  const lines = EXAMPLE.split('\n');
  assert.ok(lines[line - 1] !== undefined);
  if (replacement === null) lines.splice(line - 1, 1);
  else lines[line - 1] = replacement;
  return lines.join('\n');
}

const BGP = 'routers.edge.bgp';
const ISP = `${BGP}.neighbors.isp-a`;
const POL = 'routers.edge.policies';

describe('bgp and policies: the example', () => {
  test('parses into numbers, keeping the text forms', () => {
    const edge = parse(EXAMPLE);
    const bgp = edge.bgp!;
    assert.equal(bgp.asn, 65001);
    assert.equal(bgp.routerId, parseIpv4('192.0.2.1'));
    assert.equal(bgp.routerIdText, '192.0.2.1');
    assert.equal(bgp.routerIdSource, 'config');
    assert.equal(bgp.clusterId, parseIpv4('192.0.2.9'));
    assert.equal(bgp.listen, true);
    assert.deepEqual(bgp.networks4, [
      { prefix: { network: parseIpv4('10.1.0.0'), length: 24 }, text: '10.1.0.0/24' },
    ]);
    assert.deepEqual(bgp.networks6, [
      { prefix: { network: parseIpv6('2001:db8:1::'), length: 48 }, text: '2001:db8:1::/48' },
    ]);
    assert.deepEqual(bgp.redistribute, ['connected', 'static']);
    assert.deepEqual(bgp.neighbors[0], {
      name: 'isp-a',
      address: parseIpv4('10.0.12.2'),
      addressText: '10.0.12.2',
      remoteAs: 65002,
      localAddress: parseIpv4('10.0.12.1'),
      localAddressText: '10.0.12.1',
      passive: false,
      port: 179,
      holdTime: 90,
      keepalive: 30,
      connectRetry: 120,
      families: ['ipv4', 'ipv6'],
      import: 'from-isp',
      export: 'to-isp',
      maxPrefixes: 10000,
      password: 'secret',
      ttlSecurity: true,
      routeReflectorClient: false,
      nextHopSelf: false,
      bfd: false,
    });
    const [, core, ll] = bgp.neighbors;
    assert.deepEqual(core!.address, parseIpv6('2001:db8:12::2'));
    assert.equal(core!.routeReflectorClient, true);
    assert.deepEqual(core!.families, ['ipv4', 'ipv6']);
    assert.equal(core!.import, undefined);
    assert.equal(ll!.interface, 'e1');

    const lists = edge.policies.prefixLists.get('customers')!;
    assert.deepEqual(
      lists.map((e) => [e.family, e.length, e.ge, e.le, e.text]),
      [
        [4, 8, 8, 24, '10.0.0.0/8 le 24'],
        [6, 32, 32, 48, '2001:db8::/32 le 48'],
        [4, 16, 24, 28, '192.168.0.0/16 ge 24 le 28'],
      ],
    );
    const [first, last] = edge.policies.policies.get('from-isp')!;
    assert.deepEqual(first!.match, {
      prefixLists: ['customers'],
      asPaths: [{ text: '^65002_', source: asPathRegexSource('^65002_') }],
      communities: [(65000 * 65536 + 100) >>> 0],
      largeCommunities: [],
      family: 'ipv4',
    });
    assert.deepEqual(first!.set, {
      localPref: 200,
      med: 50,
      addCommunities: [65000 * 65536 + 200, COMMUNITY_NO_EXPORT],
      removeCommunities: [65000 * 65536 + 100],
      addLargeCommunities: [[65001, 1, 2]],
      removeLargeCommunities: [],
      prependAs: 2,
      nextHop: parseIpv4('10.0.12.1'),
      nextHopText: '10.0.12.1',
    });
    assert.equal(first!.then, 'accept');
    assert.equal(last!.then, 'reject');
    const toIsp = edge.policies.policies.get('to-isp')!;
    assert.deepEqual(toIsp[0]!.match.communities, [COMMUNITY_BLACKHOLE, COMMUNITY_NO_EXPORT]);
    assert.deepEqual(
      toIsp.map((t) => t.then),
      ['reject', 'next', 'accept'],
      'then defaults to accept',
    );
    // nexthopd compares raw sections: they must carry bgp and policies as written.
    assert.equal((edge.raw as { bgp?: { asn: number } }).bgp?.asn, 65001);
    assert.ok((edge.raw as { policies?: unknown }).policies !== undefined);
  });

  test('without the sections: no bgp, empty policies', () => {
    const edge = parse(EXAMPLE.split('\n').slice(0, 5).join('\n'));
    assert.equal(edge.bgp, undefined);
    assert.equal(edge.policies.prefixLists.size, 0);
    assert.equal(edge.policies.policies.size, 0);
  });

  test('defaults of a minimal neighbour and section', () => {
    const edge = parse(`routers:
  edge:
    interfaces:
      e1: { driver: tap, device: t1, addresses: [10.0.12.1/30] }
    bgp:
      asn: 4200000000
      neighbors:
        peer: { address: 10.0.12.2, remoteAs: 65002 }
`);
    const bgp = edge.bgp!;
    assert.equal(bgp.listen, true);
    assert.deepEqual([bgp.networks4, bgp.networks6, bgp.redistribute], [[], [], []]);
    assert.deepEqual(bgp.neighbors[0], {
      name: 'peer',
      address: parseIpv4('10.0.12.2'),
      addressText: '10.0.12.2',
      remoteAs: 65002,
      passive: false,
      families: ['ipv4', 'ipv6'],
      ttlSecurity: false,
      routeReflectorClient: false,
      nextHopSelf: false,
      bfd: false,
    });
  });

  test('router id: the highest IPv4 interface address when not written', () => {
    const bgp = parse(withLine(8, null)).bgp!;
    assert.equal(bgp.routerIdText, '10.0.13.1');
    assert.equal(bgp.routerId, parseIpv4('10.0.13.1'));
    assert.equal(bgp.routerIdSource, 'interface');
  });

  test('RFC 8212 notes for eBGP neighbours without policies', () => {
    const notes = bgpNotes(parse(EXAMPLE));
    assert.deepEqual(notes, [
      "routers.edge.bgp.neighbors.ll: eBGP without import or export policy imports and exports nothing (RFC 8212); say 'accept' to take everything",
    ]);
    assert.deepEqual(bgpNotes(parse(withLine(25, null))), [
      "routers.edge.bgp.neighbors.isp-a: eBGP without export policy exports nothing (RFC 8212); say 'accept' to take everything",
      notes[0],
    ]);
  });

  test('configJsonSchema publishes the sections with descriptions', () => {
    const schema = JSON.stringify(configJsonSchema());
    assert.ok(schema.includes('RFC 6793'));
    assert.ok(schema.includes('prefixLists'));
  });
});

describe('bgp: errors name the path and the line', () => {
  test('router id 0.0.0.0', () => {
    expectError(withLine(8, '      routerId: 0.0.0.0'), `${BGP}.routerId`, 8, 'RFC 6286');
  });

  test('router id required without an IPv4 interface address', () => {
    const text = `routers:
  edge:
    interfaces:
      e1: { driver: tap, device: t1, addresses: [2001:db8:12::1/64] }
    bgp:
      asn: 65001
`;
    expectError(text, `${BGP}.routerId`, 6, 'no IPv4 interface address');
  });

  test('AS 0 and numbers beyond 32 bits (schema)', () => {
    expectError(withLine(7, '      asn: 0'), `${BGP}.asn`, 7, 'between 1 and 4294967295');
    expectError(withLine(16, '          remoteAs: 4294967296'), `${ISP}.remoteAs`, 16, 'between 1');
  });

  test('an unknown field in a neighbour, at the key', () => {
    expectError(withLine(18, '          pasive: true'), `${ISP}.pasive`, 18, "unknown field 'pasive'");
  });

  test('unknown policy named by a neighbour', () => {
    expectError(withLine(24, '          import: nope'), `${ISP}.import`, 24, "no policy 'nope'");
    expectError(withLine(25, '          export: nope'), `${ISP}.export`, 25, "no policy 'nope'");
  });

  test('accept and reject are policies of their own', () => {
    assert.equal(parse(withLine(24, '          import: accept')).bgp!.neighbors[0]!.import, 'accept');
    expectError(withLine(45, '        reject:'), `${POL}.policies.reject`, 45, 'built-in');
  });

  test("a neighbour address of the router's own", () => {
    expectError(withLine(15, '          address: 10.0.12.1'), `${ISP}.address`, 15, "router's own address");
  });

  test('a neighbour address that is not unicast', () => {
    expectError(withLine(15, '          address: 224.0.0.5'), `${ISP}.address`, 15, 'multicast');
  });

  test('two neighbours with one address', () => {
    expectError(
      withLine(31, '          address: 10.0.12.2'),
      `${BGP}.neighbors.core.address`,
      31,
      'neighbour isp-a has the same address',
    );
  });

  test('local address of the other family, or not the router’s', () => {
    expectError(withLine(17, '          localAddress: 2001:db8:12::1'), `${ISP}.localAddress`, 17, 'is IPv6');
    expectError(
      withLine(17, '          localAddress: 10.0.12.3'),
      `${ISP}.localAddress`,
      17,
      'not an address',
    );
  });

  test('hold time 1 or 2', () => {
    expectError(withLine(20, '          holdTime: 2'), `${ISP}.holdTime`, 20, 'RFC 4271 §4.2');
    expectError(withLine(20, '          holdTime: 1'), `${ISP}.holdTime`, 20, 'must be 0 or at least 3');
    assert.equal(
      parse(withLine(21, null).replace('holdTime: 90', 'holdTime: 0')).bgp!.neighbors[0]!.holdTime,
      0,
    );
  });

  test('keepalive not shorter than the hold time', () => {
    expectError(withLine(21, '          keepalive: 90'), `${ISP}.keepalive`, 21, 'not shorter');
  });

  test('a link-local neighbour needs its interface; the interface must exist', () => {
    expectError(withLine(36, null), `${BGP}.neighbors.ll.interface`, 35, 'RFC 4007');
    expectError(
      withLine(36, '          interface: e9'),
      `${BGP}.neighbors.ll.interface`,
      36,
      "no interface 'e9'",
    );
  });

  test('a route reflector client must be iBGP', () => {
    expectError(
      withLine(32, '          remoteAs: 65009'),
      `${BGP}.neighbors.core.routeReflectorClient`,
      33,
      'must be iBGP',
    );
  });

  test('a password of more than 80 octets', () => {
    expectError(withLine(27, `          password: ${'é'.repeat(41)}`), `${ISP}.password`, 27, '80 octets');
  });

  test('networks: host bits and repeats', () => {
    expectError(withLine(11, '      networks: [10.1.0.1/24]'), `${BGP}.networks.0`, 11, 'host bits');
    expectError(
      withLine(11, '      networks: [10.1.0.0/24, 10.1.0.0/24]'),
      `${BGP}.networks.1`,
      11,
      'repeats networks.0',
    );
  });
});

describe('policies: errors name the path and the line', () => {
  const LIST = `${POL}.prefixLists.customers`;
  const TERM = `${POL}.policies.from-isp.0`;

  test('bad prefix text', () => {
    expectError(withLine(41, '          - 10.0.0.1/8 le 24'), `${LIST}.0`, 41, 'host bits');
    expectError(withLine(41, '          - 10.0.0.0/8 lee 24'), `${LIST}.0`, 41, "optional 'ge N' and 'le N'");
    expectError(withLine(41, '          - 10.0.0/8'), `${LIST}.0`, 41, 'not an IPv4 address');
    expectError(withLine(42, '          - { prefix: 2001:db8::1/32 }'), `${LIST}.1.prefix`, 42, 'host bits');
  });

  test('ge and le out of range: length ≤ ge ≤ le ≤ 32 or 128', () => {
    expectError(
      withLine(43, '          - 192.168.0.0/16 ge 8'),
      `${LIST}.2`,
      43,
      'ge 8 is shorter than the prefix length 16',
    );
    expectError(
      withLine(43, '          - 192.168.0.0/16 ge 24 le 33'),
      `${LIST}.2`,
      43,
      'le 33 is beyond 32',
    );
    expectError(
      withLine(43, '          - 192.168.0.0/16 ge 28 le 24'),
      `${LIST}.2`,
      43,
      'le 24 is shorter than ge 28',
    );
    expectError(withLine(43, '          - 192.168.0.0/16 ge 33'), `${LIST}.2`, 43, 'ge 33 is beyond 32');
    expectError(
      withLine(42, '          - { prefix: 2001:db8::/32, ge: 16 }'),
      `${LIST}.1.prefix`,
      42,
      'ge 16',
    );
    expectError(
      withLine(42, '          - { prefix: 2001:db8::/32, le: 129 }'),
      `${LIST}.1.le`,
      42,
      'between 0 and 128',
    );
  });

  test('unknown prefix list in a term', () => {
    expectError(
      withLine(53, '          - match: { prefixList: [customers, other] }'),
      `${POL}.policies.to-isp.1.match.prefixList.1`,
      53,
      "no prefix list 'other'",
    );
    expectError(
      withLine(46, "          - match: { prefixList: other, asPath: '^65002_' }"),
      `${TERM}.match.prefixList`,
      46,
      "no prefix list 'other'",
    );
  });

  test('an AS path expression JavaScript cannot compile', () => {
    expectError(
      withLine(46, "          - match: { asPath: '^65002_(' }"),
      `${TERM}.match.asPath`,
      46,
      'not a regular expression',
    );
    expectError(
      withLine(46, "          - match: { asPath: ['_1_', '[9-0]'] }"),
      `${TERM}.match.asPath.1`,
      46,
      'not a regular expression',
    );
  });

  test('communities: halves out of range, unknown names', () => {
    expectError(
      withLine(46, "          - match: { community: '65536:1' }"),
      `${TERM}.match.community`,
      46,
      '0..65535',
    );
    expectError(
      withLine(46, "          - match: { community: 'no-such' }"),
      `${TERM}.match.community`,
      46,
      'community',
    );
    expectError(
      withLine(46, "          - match: { largeCommunity: ['1:2:4294967296'] }"),
      `${TERM}.match.largeCommunity.0`,
      46,
      '0..4294967295',
    );
  });

  test('a next hop that cannot be one', () => {
    const set = (nh: string) => withLine(47, `            set: { nextHop: ${nh} }`);
    expectError(set('fe80::1'), `${TERM}.set.nextHop`, 47, 'RFC 2545');
    expectError(set('127.0.0.1'), `${TERM}.set.nextHop`, 47, 'loopback');
  });

  test('then: accept, reject or next', () => {
    expectError(withLine(48, '            then: maybe'), `${TERM}.then`, 48, 'accept, reject, next');
  });
});

describe('parsePrefixListEntry', () => {
  test("FRR's words: exact, ge alone to the family's end, le alone from the prefix's length", () => {
    const bounds = (t: string) => {
      const e = parsePrefixListEntry(t);
      assert.ok(typeof e !== 'string', String(e));
      return [e.ge, e.le];
    };
    assert.deepEqual(bounds('10.0.0.0/8'), [8, 8]);
    assert.deepEqual(bounds('10.0.0.0/8 ge 16'), [16, 32]);
    assert.deepEqual(bounds('10.0.0.0/8 le 16'), [8, 16]);
    assert.deepEqual(bounds('2001:db8::/32 ge 40'), [40, 128]);
    assert.deepEqual(bounds('0.0.0.0/0 le 32'), [0, 32]);
  });
});

describe('asPathRegexSource', () => {
  test("FRR's _ is the start, the end or a separator; inside a class the separators", () => {
    const re = (t: string) => new RegExp(asPathRegexSource(t));
    assert.ok(re('_65002_').test('65001 65002 65003'));
    assert.ok(re('_65002_').test('65002'));
    assert.ok(!re('_65002_').test('165002 650021'));
    assert.ok(re('_65003_').test('65001 {65003,65004}'));
    assert.ok(re('^65001_[0-9_]*$').test('65001 1 2'));
    assert.equal(asPathRegexSource('\\_'), '\\_', 'an escaped _ stays as it is');
  });
});
