// IPv6 in the configuration file (issue 10): addresses and routes in the same fields as IPv4, and
// Router Advertisement settings per interface, each mistake reported at its field and line.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatIpv6, formatIpv6Prefix } from '@nexthop/addr';
import { type ConfigError, formatConfigErrors, parseConfig } from '../src/index.ts';

const DUAL = `routers:
  edge:
    interfaces:
      eth0: { driver: afpacket, device: veth-r1, addresses: [10.1.0.1/24, 2001:db8:1::1/64] }
      eth1: { driver: afpacket, device: veth-r2, addresses: [10.2.0.1/24, 2001:DB8:2:0::1/64, fe80::1/64] }
    routes:
      - { prefix: 10.99.0.0/16, via: 10.2.0.2 }
      - { prefix: 2001:db8:99::/48, via: 2001:db8:2::2 }
      - { prefix: 2001:db8:98::/48, via: fe80::2, interface: eth1 }
      - { prefix: "::/0", via: 2001:db8:1::fe, distance: 5 }
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

function expectError(text: string, path: string, line: number, fragment: string | RegExp): void {
  const errors = errorsOf(text);
  const shown = formatConfigErrors(errors, 'edge.yaml');
  const hit = errors.find((e) => e.path === path);
  assert.ok(hit, `no error at ${path}; got:\n${shown}`);
  assert.equal(hit.line, line, shown);
  if (typeof fragment === 'string') assert.ok(hit.message.includes(fragment), shown);
  else assert.match(hit.message, fragment, shown);
}

function withLine(text: string, line: number, replacement: string): string {
  const lines = text.split('\n');
  lines[line - 1] = replacement;
  return lines.join('\n');
}

describe('IPv6 addresses and routes', () => {
  test('IPv4 and IPv6 in the same fields land in their own lists, normalized', () => {
    const edge = parse(DUAL);
    assert.deepEqual(
      edge.interfaces.map((i) => [i.addresses.map((a) => a.text), i.addresses6.map((a) => a.text)]),
      [
        [['10.1.0.1/24'], ['2001:db8:1::1/64']],
        [['10.2.0.1/24'], ['2001:DB8:2:0::1/64', 'fe80::1/64']],
      ],
    );
    const a = edge.interfaces[1]!.addresses6[0]!;
    assert.equal(formatIpv6(a.address), '2001:db8:2::1');
    assert.equal(formatIpv6Prefix(a.prefix), '2001:db8:2::/64');
    assert.equal(edge.routes.length, 1);
    assert.deepEqual(
      edge.routes6.map((r) => [
        formatIpv6Prefix(r.prefix),
        r.kind,
        r.via && formatIpv6(r.via),
        r.interface,
        r.distance,
      ]),
      [
        ['2001:db8:99::/48', 'gateway', '2001:db8:2::2', undefined, 1],
        ['2001:db8:98::/48', 'gateway', 'fe80::2', 'eth1', 1],
        ['::/0', 'gateway', '2001:db8:1::fe', undefined, 5],
      ],
    );
    assert.equal(edge.interfaces[0]!.ra, undefined);
  });

  test('addresses that cannot be an interface’s are refused with the reason', () => {
    const line = (addr: string) =>
      withLine(DUAL, 4, `      eth0: { driver: afpacket, device: veth-r1, addresses: [${addr}] }`);
    const at = 'routers.edge.interfaces.eth0.addresses.0';
    expectError(line('2001:db8::1'), at, 4, 'prefix length');
    expectError(line('2001:db8::1/129'), at, 4, '0..128');
    expectError(line('2001:db8:::1/64'), at, 4, 'not an IPv6 address');
    expectError(line('::/64'), at, 4, 'unspecified');
    expectError(line('::1/128'), at, 4, 'loopback');
    expectError(line('ff02::1/64'), at, 4, 'multicast');
    expectError(line('::ffff:10.0.0.1/96'), at, 4, 'IPv4-mapped');
    expectError(line('fe80::5/10'), at, 4, 'link-local address is a /64');
    expectError(line('2001:db8:7::/64'), at, 4, 'subnet-router anycast');
    expectError(line('2001:db8:7::/0'), at, 4, '1..128');
    // A /127 may use both addresses (RFC 6164).
    assert.equal(parse(line('2001:db8:7::/127')).interfaces[0]!.addresses6[0]!.length, 127);
  });

  test('the same address twice, or overlapping subnets on two interfaces, are refused; link-local is per link', () => {
    const eth1 = (addrs: string) =>
      withLine(DUAL, 5, `      eth1: { driver: afpacket, device: veth-r2, addresses: [${addrs}] }`);
    const at = 'routers.edge.interfaces.eth1.addresses.0';
    expectError(eth1('2001:db8:1::1/64'), at, 5, 'also assigned at routers.edge.interfaces.eth0.addresses.1');
    expectError(eth1('2001:db8:1::2/48'), at, 5, 'overlaps 2001:db8:1::/64 of interface eth0');
    // fe80::1 on two links is normal (RFC 4007 §6); twice on one is not.
    const both = withLine(
      eth1('fe80::1/64'),
      4,
      '      eth0: { driver: afpacket, device: veth-r1, addresses: [fe80::1/64] }',
    );
    assert.equal(parse(both).interfaces[1]!.addresses6.length, 1);
    expectError(
      eth1('fe80::1/64, fe80::1/64'),
      'routers.edge.interfaces.eth1.addresses.1',
      5,
      'also assigned',
    );
  });

  test('routes: families match, a link-local gateway names its interface, repeats are caught', () => {
    const route = (r: string) => withLine(DUAL, 8, `      - ${r}`);
    expectError(
      route('{ prefix: 2001:db8:99::1/48, via: 2001:db8:2::2 }'),
      'routers.edge.routes.1.prefix',
      8,
      'host bits',
    );
    expectError(
      route('{ prefix: 2001:db8:99::/48, via: 10.2.0.2 }'),
      'routers.edge.routes.1.via',
      8,
      'needs an IPv6 gateway',
    );
    expectError(
      route('{ prefix: 10.98.0.0/16, via: 2001:db8:2::2 }'),
      'routers.edge.routes.1.via',
      8,
      'not an IPv4 address',
    );
    expectError(
      route('{ prefix: 2001:db8:99::/48, via: fe80::2 }'),
      'routers.edge.routes.1.interface',
      8,
      'link-local gateway',
    );
    expectError(
      route('{ prefix: 2001:db8:99::/48, via: ff02::2 }'),
      'routers.edge.routes.1.via',
      8,
      'multicast',
    );
    expectError(route('{ prefix: 2001:db8:99::/48 }'), 'routers.edge.routes.1', 8, 'exactly one of');
    expectError(
      route('{ prefix: 2001:db8:99::/48, via: 2001:db8:2::2, interface: eth9 }'),
      'routers.edge.routes.1.interface',
      8,
      "no interface 'eth9'",
    );
    expectError(
      route('{ prefix: 2001:0db8:0098::/48, via: FE80::2, interface: eth1 }'),
      'routers.edge.routes.2',
      9,
      'repeats routes.1',
    );
    assert.equal(parse(route('{ prefix: 2001:db8:97::/48, blackhole: true }')).routes6[0]!.kind, 'blackhole');
  });
});

describe('Router Advertisement settings', () => {
  const withRa = (ra: string) =>
    withLine(
      DUAL,
      5,
      `      eth1: { driver: afpacket, device: veth-r2, addresses: [10.2.0.1/24, 2001:db8:2::1/64, 2001:db8:3::1/56, fe80::1/64], ra: ${ra} }`,
    );

  test('ra: {} turns them on with RFC 4861 defaults and the interface’s own prefixes', () => {
    const ra = parse(withRa('{}')).interfaces[1]!.ra!;
    assert.deepEqual(
      { ...ra, prefixes: undefined },
      {
        interval: 600,
        minInterval: 200,
        lifetime: 1800,
        managed: false,
        otherConfig: false,
        mtu: 0,
        hopLimit: 64,
        reachableTime: 0,
        retransTimer: 0,
        prefixes: undefined,
        dns: [],
        dnsLifetime: 1200,
      },
    );
    // The /64 autonomous, the /56 on-link only, the link-local one never.
    assert.deepEqual(
      ra.prefixes.map((p) => [
        formatIpv6Prefix(p.prefix),
        p.onLink,
        p.autonomous,
        p.validLifetime,
        p.preferredLifetime,
      ]),
      [
        ['2001:db8:2::/64', true, true, 2592000, 604800],
        ['2001:db8:3::/56', true, false, 2592000, 604800],
      ],
    );
  });

  test('explicit prefixes, DNS servers and timers', () => {
    const ra = parse(
      withRa(
        '{ interval: 30, lifetime: 0, mtu: 1400, managed: true, dns: ["2001:db8:2::53"], prefixes: [{ prefix: 2001:db8:5::/64, validLifetime: 3600, preferredLifetime: 1800 }] }',
      ),
    ).interfaces[1]!.ra!;
    assert.equal(ra.minInterval, 10);
    assert.equal(ra.lifetime, 0);
    assert.equal(ra.mtu, 1400);
    assert.equal(ra.managed, true);
    assert.deepEqual(
      ra.dns.map((d) => formatIpv6(d)),
      ['2001:db8:2::53'],
    );
    assert.deepEqual(
      ra.prefixes.map((p) => [formatIpv6Prefix(p.prefix), p.validLifetime, p.preferredLifetime]),
      [['2001:db8:5::/64', 3600, 1800]],
    );
  });

  test('RFC 4861 §6.2.1 bounds between the fields are checked', () => {
    const at = 'routers.edge.interfaces.eth1.ra';
    expectError(withRa('{ interval: 30, minInterval: 25 }'), `${at}.minInterval`, 5, '0.75');
    expectError(withRa('{ interval: 600, lifetime: 300 }'), `${at}.lifetime`, 5, 'at least interval');
    expectError(withRa('{ interval: 2 }'), `${at}.interval`, 5, /4/);
    expectError(withRa('{ mtu: 1000 }'), `${at}.mtu`, 5, /1280/);
    expectError(
      withRa('{ prefixes: [{ prefix: 2001:db8:5::/56 }] }'),
      `${at}.prefixes.0.autonomous`,
      5,
      '/64',
    );
    expectError(
      withRa('{ prefixes: [{ prefix: fe80::/64 }] }'),
      `${at}.prefixes.0.prefix`,
      5,
      'never advertised',
    );
    expectError(
      withRa('{ prefixes: [{ prefix: 2001:db8:5::/64, validLifetime: 10, preferredLifetime: 20 }] }'),
      `${at}.prefixes.0.preferredLifetime`,
      5,
      'validLifetime',
    );
    expectError(withRa('{ dns: ["ff02::1"] }'), `${at}.dns.0`, 5, 'multicast');
    expectError(withRa('{ bogus: 1 }'), `${at}.bogus`, 5, /bogus|unknown|not allowed/i);
  });
});
