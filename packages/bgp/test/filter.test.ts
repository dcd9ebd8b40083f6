// The routing policies of the config compiled to Policy functions (issue 11): each match and set
// kind, term order, `next`, falling off the end, FRR's `_`, and prefix-list matching against a
// naive reference on random prefixes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseIpv4, parseIpv6 } from '@nexthop/addr';
import {
  COMMUNITY_NO_EXPORT,
  formatConfigErrors,
  type PoliciesConfig,
  type PrefixListEntry,
  parseConfig,
} from '@nexthop/config';
import fc from 'fast-check';
import {
  ACCEPT_ALL,
  AS_SEQUENCE,
  AS_SET,
  compilePolicies,
  compilePrefixList,
  formatAsPath,
  makeAttributes,
  type PathAttributes,
  type PolicyRoute,
  REJECT_ALL,
} from '../src/index.ts';

const LOCAL_AS = 65001;

/** The `policies` section of a one-router config, indented under `policies:`. */
function policiesOf(section: string): PoliciesConfig {
  const text = `routers:
  r1:
    interfaces: {}
    policies:
${section
  .trim()
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
`;
  const r = parseConfig(text);
  assert.ok(r.ok, r.ok ? '' : formatConfigErrors(r.errors, 'r1.yaml'));
  return r.config.routers[0]!.policies;
}

/** The policy `p` of a section holding one policy of the given terms (YAML, a list). */
function policy(terms: string, prefixLists = '') {
  const section = `${prefixLists === '' ? '' : `prefixLists:\n${indent(prefixLists)}\n`}policies:\n  p:\n${indent(terms, 4)}`;
  return compilePolicies(policiesOf(section), LOCAL_AS)('p');
}

function indent(text: string, n = 2): string {
  return text
    .trim()
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');
}

const community = (asn: number, value: number) => ((asn << 16) | value) >>> 0;

const BASE = makeAttributes({
  origin: 0,
  asPath: [{ type: AS_SEQUENCE, asns: [65002, 64512] }],
  nextHop: parseIpv4('10.0.12.2'),
  communities: [community(65000, 100), community(65000, 7)],
  largeCommunities: [65002, 1, 2],
});

function route4(prefix: string, attrs: PathAttributes = BASE): PolicyRoute {
  const [a, l] = prefix.split('/');
  return { afi: 1, network: parseIpv4(a!), length: Number(l), attrs, peer: 'isp-a' };
}

function route6(prefix: string, attrs: PathAttributes = BASE): PolicyRoute {
  const [a, l] = prefix.split('/');
  return { afi: 2, network: parseIpv6(a!), length: Number(l), attrs, peer: 'isp-a' };
}

/** Whether the policy accepts the route (unchanged or not). */
const accepts = (p: (r: PolicyRoute) => PathAttributes | null, r: PolicyRoute) => p(r) !== null;

describe('compilePolicies: names', () => {
  test('accept and reject are the built-in policies; an unknown name rejects', () => {
    const get = compilePolicies(policiesOf('policies: { p: [{}] }'), LOCAL_AS);
    assert.equal(get('accept'), ACCEPT_ALL);
    assert.equal(get('reject'), REJECT_ALL);
    assert.equal(get('nope'), REJECT_ALL);
    assert.equal(get('p'), get('p'), 'compiled once, the same function after');
  });

  test('an empty term accepts everything unchanged', () => {
    const p = policy('- {}');
    assert.equal(p(route4('10.0.0.0/8')), BASE);
  });

  test('an empty policy rejects everything', () => {
    const p = compilePolicies(policiesOf('policies: { p: [] }'), LOCAL_AS)('p');
    assert.equal(p(route4('10.0.0.0/8')), null);
  });
});

describe('compilePolicies: matches', () => {
  const LISTS = `
v4:
  - 10.0.0.0/8 le 24
  - 192.168.1.0/24
v6:
  - 2001:db8::/32 ge 40 le 48
`;

  test('prefixList: IPv4 ge/le and exact entries', () => {
    const p = policy('- match: { prefixList: v4 }', LISTS);
    assert.ok(accepts(p, route4('10.0.0.0/8')));
    assert.ok(accepts(p, route4('10.1.2.0/24')));
    assert.ok(!accepts(p, route4('10.1.2.128/25')), 'longer than le');
    assert.ok(!accepts(p, route4('0.0.0.0/0')), 'shorter than the entry');
    assert.ok(accepts(p, route4('192.168.1.0/24')));
    assert.ok(!accepts(p, route4('192.168.1.0/25')), 'exact entry');
    assert.ok(!accepts(p, route4('11.0.0.0/8')));
    assert.ok(!accepts(p, route6('2001:db8::/40')), 'an IPv4 list has no IPv6 entries');
  });

  test('prefixList: IPv6', () => {
    const p = policy('- match: { prefixList: v6 }', LISTS);
    assert.ok(accepts(p, route6('2001:db8:100::/40')));
    assert.ok(accepts(p, route6('2001:db8:1::/48')));
    assert.ok(!accepts(p, route6('2001:db8::/32')), 'shorter than ge');
    assert.ok(!accepts(p, route6('2001:db8:1:1::/64')), 'longer than le');
    assert.ok(!accepts(p, route6('2001:db9::/40')));
  });

  test('several prefix lists: any', () => {
    const p = policy('- match: { prefixList: [v4, v6] }', LISTS);
    assert.ok(accepts(p, route4('10.1.0.0/16')));
    assert.ok(accepts(p, route6('2001:db8:1::/48')));
    assert.ok(!accepts(p, route4('11.0.0.0/8')));
  });

  test('family', () => {
    const p = policy('- match: { family: ipv6 }');
    assert.ok(accepts(p, route6('2001:db8::/32')));
    assert.ok(!accepts(p, route4('10.0.0.0/8')));
  });

  test("asPath: a regular expression over the path's text, _ as FRR's boundary", () => {
    const p = policy("- match: { asPath: '^65002_' }");
    assert.ok(accepts(p, route4('10.0.0.0/8')));
    const other = makeAttributes({ ...BASE, asPath: [{ type: AS_SEQUENCE, asns: [650021, 65002] }] });
    assert.ok(!accepts(p, route4('10.0.0.0/8', other)), '_ is not the middle of a number');
    const q = policy("- match: { asPath: '_64512$' }");
    assert.ok(accepts(q, route4('10.0.0.0/8')));
    const set = makeAttributes({
      ...BASE,
      asPath: [
        { type: AS_SEQUENCE, asns: [65002] },
        { type: AS_SET, asns: [64512, 64513] },
      ],
    });
    assert.equal(formatAsPath(set.asPath), '65002 {64512,64513}');
    assert.ok(!accepts(q, route4('10.0.0.0/8', set)), '64512 is no longer last');
    assert.ok(
      accepts(policy("- match: { asPath: '_64512_' }"), route4('10.0.0.0/8', set)),
      '{ and , are boundaries',
    );
    assert.ok(accepts(policy("- match: { asPath: '_64513_' }"), route4('10.0.0.0/8', set)));
  });

  test("asPath '^$': our own routes (no AS path)", () => {
    const p = policy("- match: { asPath: '^$' }");
    assert.ok(accepts(p, route4('10.0.0.0/8', makeAttributes({ origin: 0 }))));
    assert.ok(!accepts(p, route4('10.0.0.0/8')));
  });

  test('community: any of those listed, well-known names too', () => {
    assert.ok(accepts(policy("- match: { community: ['1:1', '65000:7'] }"), route4('10.0.0.0/8')));
    assert.ok(!accepts(policy("- match: { community: ['1:1'] }"), route4('10.0.0.0/8')));
    const p = policy('- match: { community: no-export }');
    assert.ok(!accepts(p, route4('10.0.0.0/8')));
    const tagged = makeAttributes({ ...BASE, communities: [COMMUNITY_NO_EXPORT] });
    assert.ok(accepts(p, route4('10.0.0.0/8', tagged)));
    assert.ok(!accepts(p, route4('10.0.0.0/8', makeAttributes({}))), 'no communities at all');
  });

  test('largeCommunity: whole triples only', () => {
    assert.ok(accepts(policy("- match: { largeCommunity: '65002:1:2' }"), route4('10.0.0.0/8')));
    assert.ok(!accepts(policy("- match: { largeCommunity: '1:2:65002' }"), route4('10.0.0.0/8')));
  });

  test('kinds in one term: all must hold', () => {
    const p = policy("- match: { family: ipv4, community: '65000:100', asPath: '_64512$' }");
    assert.ok(accepts(p, route4('10.0.0.0/8')));
    assert.ok(!accepts(p, route6('2001:db8::/32')));
    const q = policy("- match: { family: ipv4, community: '65000:101' }");
    assert.ok(!accepts(q, route4('10.0.0.0/8')));
  });
});

describe('compilePolicies: sets', () => {
  const snapshot = JSON.stringify(BASE);
  const after = (terms: string, r: PolicyRoute = route4('10.0.0.0/8')) => {
    const out = policy(terms)(r);
    assert.ok(out !== null);
    assert.notEqual(out, BASE, 'a changed route is a new attribute set');
    assert.equal(JSON.stringify(BASE), snapshot, 'the input is never changed');
    return out;
  };

  test('localPref and med', () => {
    const out = after('- set: { localPref: 200, med: 50 }');
    assert.deepEqual([out.localPref, out.med], [200, 50]);
    assert.deepEqual(out.asPath, BASE.asPath);
  });

  test('communities: removed, then added once', () => {
    const out = after(
      "- set: { removeCommunities: ['65000:100'], addCommunities: ['65000:7', '65000:200', no-export] }",
    );
    assert.deepEqual(out.communities, [community(65000, 7), community(65000, 200), COMMUNITY_NO_EXPORT]);
    const none = after("- set: { removeCommunities: ['65000:100', '65000:7'] }");
    assert.equal(none.communities, undefined, 'no empty COMMUNITIES attribute');
  });

  test('large communities', () => {
    const out = after(
      "- set: { removeLargeCommunities: ['65002:1:2'], addLargeCommunities: ['1:2:3', '1:2:3'] }",
    );
    assert.deepEqual(out.largeCommunities, [1, 2, 3]);
  });

  test('prependAs: the local AS, into the leading sequence', () => {
    const out = after('- set: { prependAs: 2 }');
    assert.deepEqual(out.asPath, [{ type: AS_SEQUENCE, asns: [LOCAL_AS, LOCAL_AS, 65002, 64512] }]);
    const own = policy('- set: { prependAs: 1 }')(route4('10.0.0.0/8', makeAttributes({ origin: 0 })));
    assert.deepEqual(own!.asPath, [{ type: AS_SEQUENCE, asns: [LOCAL_AS] }]);
    const setFirst = makeAttributes({ ...BASE, asPath: [{ type: AS_SET, asns: [1, 2] }] });
    const out2 = policy('- set: { prependAs: 1 }')(route4('10.0.0.0/8', setFirst));
    assert.deepEqual(out2!.asPath, [
      { type: AS_SEQUENCE, asns: [LOCAL_AS] },
      { type: AS_SET, asns: [1, 2] },
    ]);
    const full = makeAttributes({ ...BASE, asPath: [{ type: AS_SEQUENCE, asns: new Array(255).fill(7) }] });
    const out3 = policy('- set: { prependAs: 1 }')(route4('10.0.0.0/8', full));
    assert.equal(out3!.asPath!.length, 2, 'a full sequence (255 ASes) gets a new one in front');
  });

  test('nextHop: IPv4 sets NEXT_HOP, IPv6 the MP next hop', () => {
    const out = after('- set: { nextHop: 10.0.12.1 }');
    assert.equal(out.nextHop, parseIpv4('10.0.12.1'));
    const out6 = after('- set: { nextHop: 2001:db8::1 }', route6('2001:db8:1::/48'));
    assert.deepEqual(out6.mpNextHop, parseIpv6('2001:db8::1'));
    assert.equal(out6.nextHop, BASE.nextHop);
  });
});

describe('compilePolicies: terms', () => {
  test('the first matching term decides, in order', () => {
    const p = policy(`
- match: { family: ipv4 }
  set: { localPref: 1 }
- set: { localPref: 2 }
`);
    assert.equal(p(route4('10.0.0.0/8'))!.localPref, 1);
    assert.equal(p(route6('2001:db8::/32'))!.localPref, 2);
  });

  test('a policy that falls off the end rejects', () => {
    const p = policy('- { match: { family: ipv4 }, then: accept }');
    assert.ok(accepts(p, route4('10.0.0.0/8')));
    assert.equal(p(route6('2001:db8::/32')), null);
  });

  test('reject', () => {
    const p = policy(`
- { match: { community: '65000:100' }, then: reject }
- {}
`);
    assert.equal(p(route4('10.0.0.0/8')), null);
    assert.ok(accepts(p, route4('10.0.0.0/8', makeAttributes({}))));
  });

  test('next: the changes carry on, and later terms see them', () => {
    const p = policy(`
- set: { addCommunities: ['65000:300'], med: 5 }
  then: next
- match: { community: '65000:300' }
  set: { localPref: 300 }
`);
    const out = p(route4('10.0.0.0/8'))!;
    assert.deepEqual([out.med, out.localPref], [5, 300]);
    assert.ok(out.communities!.includes(community(65000, 300)));
    const q = policy(`
- set: { med: 5 }
  then: next
- { match: { family: ipv6 } }
`);
    assert.equal(q(route4('10.0.0.0/8')), null, 'changed, then nothing accepted it');
  });
});

describe('compilePrefixList: matches a naive reference on random prefixes', () => {
  /** The prefix as a string of bits, the reference's representation. */
  const bits4 = (n: number, len: number) => n.toString(2).padStart(32, '0').slice(0, len);
  const bits6 = (a: Uint8Array, len: number) =>
    Array.from(a, (b) => b.toString(2).padStart(8, '0'))
      .join('')
      .slice(0, len);
  const naive = (entries: readonly PrefixListEntry[], family: 4 | 6, net: number | Uint8Array, len: number) =>
    entries.some((e) => {
      if (e.family !== family || len < e.ge || len > e.le) return false;
      const mine = typeof net === 'number' ? bits4(net, e.length) : bits6(net, e.length);
      const theirs = e.family === 4 ? bits4(e.network, e.length) : bits6(e.network, e.length);
      return mine === theirs;
    });

  const mask4 = (n: number, len: number) => (len === 0 ? 0 : (n & (0xffffffff << (32 - len))) >>> 0);
  const mask6 = (a: Uint8Array, len: number) =>
    a.map((b, i) => (i * 8 >= len ? 0 : i * 8 + 8 <= len ? b : b & (0xff << (8 - (len - i * 8)))));

  // Few distinct leading bits, so that routes often fall inside entries.
  const addr4 = fc
    .constantFrom(0x0a000000, 0x0a010000, 0xc0a80100, 0)
    .chain((base) => fc.integer({ min: 0, max: 0xffff }).map((low) => (base | low) >>> 0));
  const addr6 = fc
    .tuple(fc.constantFrom(0x20, 0xfe), fc.uint8Array({ minLength: 15, maxLength: 15, max: 3 }))
    .map(([first, rest]) => Uint8Array.of(first, ...rest));

  const entry4 = fc
    .tuple(addr4, fc.integer({ min: 0, max: 32 }), fc.nat(32), fc.nat(32))
    .map(([a, length, x, y]): PrefixListEntry => {
      const ge = length + (x % (33 - length));
      const le = ge + (y % (33 - ge));
      return { family: 4, network: mask4(a, length), length, ge, le, text: '' };
    });
  const entry6 = fc
    .tuple(addr6, fc.integer({ min: 0, max: 128 }), fc.nat(128), fc.nat(128))
    .map(([a, length, x, y]): PrefixListEntry => {
      const ge = length + (x % (129 - length));
      const le = ge + (y % (129 - ge));
      return { family: 6, network: mask6(a, length), length, ge, le, text: '' };
    });

  test('IPv4 and IPv6', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(entry4, entry6), { maxLength: 8 }),
        fc.array(fc.tuple(addr4, fc.integer({ min: 0, max: 32 })), { minLength: 1, maxLength: 20 }),
        fc.array(fc.tuple(addr6, fc.integer({ min: 0, max: 128 })), { minLength: 1, maxLength: 20 }),
        (entries, routes4, routes6) => {
          const list = compilePrefixList(entries);
          for (const [a, len] of routes4) {
            const net = mask4(a, len);
            assert.equal(list.match4(net, len), naive(entries, 4, net, len));
          }
          for (const [a, len] of routes6) {
            const net = mask6(a, len);
            assert.equal(list.match6(net, len), naive(entries, 6, net, len));
          }
        },
      ),
      { seed: 1011, numRuns: 400 },
    );
  });
});
