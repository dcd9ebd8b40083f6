import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { http, startTestDaemon, type TestDaemon, until } from './helpers.ts';

const CONFIG = `
routers:
  red:
    interfaces:
      eth0: { driver: afpacket, device: dev1, addresses: [10.1.0.1/24, 2001:db8:1::1/64] }
      eth1: { driver: afpacket, device: dev2, addresses: [10.2.0.1/24] }
    routes:
      - { prefix: 2001:db8:99::/48, via: 2001:db8:1::2 }
  blue:
    interfaces:
      eth0: { driver: afpacket, device: dev3, addresses: [10.3.0.1/24] }
    rip:
      interfaces: { eth0: {} }
`;

const WITH_ROUTE = `${CONFIG}    routes:\n      - { prefix: 10.99.0.0/16, via: 10.3.0.2 }\n`;

describe('the management API over the Unix socket', () => {
  let t: TestDaemon;
  let sock: { socketPath: string };
  before(async () => {
    t = await startTestDaemon(CONFIG);
    sock = { socketPath: t.daemon.apiSocketPath };
  });
  after(() => t.close());

  test('the socket is owner-only', () => {
    assert.equal(statSync(t.daemon.apiSocketPath).mode & 0o777, 0o600);
  });

  test('/openapi.json is a valid OpenAPI document listing every route', async () => {
    const reply = await http(sock, 'GET', '/openapi.json');
    assert.equal(reply.status, 200);
    const doc = reply.json();
    const validator = new Validator();
    const result = await validator.validate(doc);
    assert.equal(result.valid, true, JSON.stringify(result.errors));
    const paths = Object.keys(doc.paths).sort();
    assert.deepEqual(paths, [
      '/config',
      '/config/apply',
      '/config/diff',
      '/config/rollback',
      '/config/schema',
      '/config/validate',
      '/health',
      '/metrics',
      '/openapi.json',
      '/vrs',
      '/vrs/{vr}',
      '/vrs/{vr}/addresses',
      '/vrs/{vr}/arp',
      '/vrs/{vr}/bfd',
      '/vrs/{vr}/bgp',
      '/vrs/{vr}/bgp/neighbors',
      '/vrs/{vr}/bgp/routes',
      '/vrs/{vr}/capture',
      '/vrs/{vr}/counters',
      '/vrs/{vr}/interfaces',
      '/vrs/{vr}/neighbors',
      '/vrs/{vr}/ospf',
      '/vrs/{vr}/ospf/database',
      '/vrs/{vr}/ospf/interfaces',
      '/vrs/{vr}/ospf/neighbors',
      '/vrs/{vr}/ospf/routes',
      '/vrs/{vr}/restart',
      '/vrs/{vr}/rip',
      '/vrs/{vr}/routes',
      '/vrs/{vr}/sockets',
      '/vrs/{vr}/start',
      '/vrs/{vr}/stop',
    ]);
  });

  test('/health and /vrs', async () => {
    assert.deepEqual((await http(sock, 'GET', '/health')).json(), { ok: true, vrs: 2 });
    const vrs = (await http(sock, 'GET', '/vrs')).json();
    assert.deepEqual(
      vrs.map((v: { name: string; state: string; interfaces: number }) => [v.name, v.state, v.interfaces]),
      [
        ['red', 'running', 2],
        ['blue', 'running', 1],
      ],
    );
    const red = (await http(sock, 'GET', '/vrs/red')).json();
    assert.equal(typeof red.pid, 'number');
    assert.equal(red.restarts, 0);
    assert.equal(red.reason, null);
  });

  test('unknown VR and unknown route: 404 not_found', async () => {
    const reply = await http(sock, 'GET', '/vrs/green');
    assert.equal(reply.status, 404);
    assert.equal(reply.json().error.code, 'not_found');
    assert.equal((await http(sock, 'GET', '/vrs/green/routes')).status, 404);
    assert.equal((await http(sock, 'GET', '/nothing')).json().error.code, 'not_found');
  });

  test('show routes pass the VR answer through', async () => {
    const ifs = (await http(sock, 'GET', '/vrs/red/interfaces')).json();
    assert.deepEqual(
      ifs.map((i: { name: string; link: unknown }) => [i.name, typeof i.link]),
      [
        ['eth0', 'object'],
        ['eth1', 'object'],
      ],
    );
    // Every address of each interface: IPv4, then IPv6 with the link-local one first.
    assert.deepEqual((await http(sock, 'GET', '/vrs/red/addresses')).json(), [
      { interface: 'eth0', address: '10.1.0.1/24', family: 4 },
      { interface: 'eth0', address: 'fe80::1/64', family: 6, state: 'preferred' },
      { interface: 'eth0', address: '2001:db8:1::1/64', family: 6, state: 'preferred' },
      { interface: 'eth1', address: '10.2.0.1/24', family: 4 },
      { interface: 'eth1', address: 'fe80::2/64', family: 6, state: 'preferred' },
    ]);
    assert.deepEqual((await http(sock, 'GET', '/vrs/blue/routes')).json(), []);
    assert.equal((await http(sock, 'GET', '/vrs/red/counters')).json().family.ipv6_forwarded, 6);
    assert.equal((await http(sock, 'GET', '/vrs/blue/arp')).json()[0].state, 'reachable');
    assert.deepEqual((await http(sock, 'GET', '/vrs/blue/sockets')).json(), []);
    assert.deepEqual((await http(sock, 'GET', '/vrs/blue/counters')).json().drops, {
      ttl_exceeded: 3,
      no_route: 1,
    });
  });

  test('bgp: a VR without BGP answers 404 saying so; routes ?prefix= asks for one prefix', async () => {
    for (const path of ['/vrs/red/bgp', '/vrs/red/bgp/neighbors', '/vrs/red/bgp/routes?prefix=10.0.0.0/8']) {
      const reply = await http(sock, 'GET', path);
      assert.equal(reply.status, 404, `${path}: ${reply.body}`);
      assert.match(reply.json().error.message, /BGP is not configured on VR red/);
    }
    const one = (await http(sock, 'GET', '/vrs/red/routes?prefix=2001:db8:99::/48')).json() as {
      prefix: string;
    }[];
    assert.deepEqual(
      one.map((r) => r.prefix),
      ['2001:db8:99::/48'],
    );
    assert.deepEqual((await http(sock, 'GET', '/vrs/red/routes?prefix=10.9.0.0/16')).json(), []);
  });

  test('bfd: a VR without BFD answers 404 saying so', async () => {
    const reply = await http(sock, 'GET', '/vrs/red/bfd');
    assert.equal(reply.status, 404, `${reply.body}`);
    assert.match(reply.json().error.message, /BFD is not configured on VR red/);
  });

  test('ospf: a VR without OSPF answers 404 saying so', async () => {
    for (const path of [
      '/vrs/red/ospf',
      '/vrs/red/ospf/neighbors',
      '/vrs/red/ospf/database',
      '/vrs/red/ospf/routes',
    ]) {
      const reply = await http(sock, 'GET', path);
      assert.equal(reply.status, 404, `${path}: ${reply.body}`);
      assert.match(reply.json().error.message, /OSPF is not configured on VR red/);
    }
  });

  test('rip: a VR without RIP answers 404 saying so; ?what= and ?protocol= reach the VR, other values are a 400', async () => {
    const reply = await http(sock, 'GET', '/vrs/red/rip?what=routes');
    assert.equal(reply.status, 404, `${reply.body}`);
    assert.match(reply.json().error.message, /neither RIP nor RIPng is configured on VR red/);
    const blue = (await http(sock, 'GET', '/vrs/blue/rip?what=interfaces&protocol=rip')).json();
    assert.deepEqual(blue, { rip: { what: 'interfaces', interfaces: ['eth0'] } });
    assert.equal((await http(sock, 'GET', '/vrs/blue/rip?what=everything')).status, 400);
  });

  test('routes ?family=4|6 asks the VR for one family; anything else is a 400 saying what is allowed', async () => {
    const prefixes = async (query: string) =>
      (
        (await http(sock, 'GET', `/vrs/red/routes${query}`)).json() as { family: number; prefix: string }[]
      ).map((r) => `${r.family} ${r.prefix}`);
    assert.deepEqual(await prefixes(''), ['6 2001:db8:99::/48']);
    assert.deepEqual(await prefixes('?family=6'), ['6 2001:db8:99::/48']);
    assert.deepEqual(await prefixes('?family=4'), []);
    for (const bad of ['5', 'ipv6', '', '4&family=6', '6.0']) {
      const reply = await http(sock, 'GET', `/vrs/red/routes?family=${bad}`);
      assert.equal(reply.status, 400, `family=${bad}: ${reply.body}`);
      assert.equal(reply.json().error.code, 'bad_request');
      assert.match(reply.json().error.message, /family/, `family=${bad}`);
    }
    assert.equal(
      (await http(sock, 'GET', '/vrs/red/routes?family=5')).json().error.message,
      'querystring/family must be one of 4, 6',
    );
    // The query is documented.
    const doc = (await http(sock, 'GET', '/openapi.json')).json();
    const parameters = doc.paths['/vrs/{vr}/routes'].get.parameters as { name: string; in: string }[];
    assert.ok(
      parameters.some((p) => p.name === 'family' && p.in === 'query'),
      JSON.stringify(parameters),
    );
  });

  test('/metrics has the per-VR and per-interface series', async () => {
    const reply = await http(sock, 'GET', '/metrics');
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /^text\/plain/);
    const text = reply.body.toString();
    for (const line of [
      'nexthop_vr_up{vr="red"} 1',
      `nexthop_build_info{version="0.1.0",node="${process.version}"} 1`,
      'nexthop_vr_restarts_total{vr="blue"} 0',
      'nexthop_vr_resident_memory_bytes{vr="red"} 1234567',
      'nexthop_fib_routes{vr="red",family="ipv4"} 0',
      'nexthop_fib_routes{vr="red",family="ipv6"} 1',
      'nexthop_forwarded_packets_total{vr="red",family="ipv4"} 5',
      'nexthop_forwarded_packets_total{vr="red",family="ipv6"} 7',
      'nexthop_neighbors{vr="blue",family="ipv4"} 1',
      'nexthop_neighbors{vr="blue",family="ipv6"} 1',
      'nexthop_sockets{vr="red"} 2',
      'nexthop_rsock_clients{vr="red"} 0',
      'nexthop_interface_receive_packets_total{vr="red",interface="eth1"} 10',
      'nexthop_interface_receive_bytes_total{vr="red",interface="eth1"} 1000',
      'nexthop_interface_transmit_packets_total{vr="blue",interface="eth0"} 20',
      'nexthop_interface_transmit_bytes_total{vr="blue",interface="eth0"} 2000',
      'nexthop_interface_up{vr="blue",interface="eth0"} 1',
      'nexthop_drops_total{vr="red",reason="ttl_exceeded"} 3',
    ]) {
      assert.ok(text.includes(line), `missing ${line} in\n${text}`);
    }
    assert.match(text, /nexthop_vr_start_time_seconds\{vr="red"\} \d+/);
    assert.match(text, /^# TYPE nexthop_forwarded_packets_total counter$/m);
    assert.match(text, /^# TYPE nexthop_neighbors gauge$/m);
    // nexthopd's own process, apart from the VRs'.
    assert.match(text, /^nexthopd_process_resident_memory_bytes \d+/m);
  });

  test('config: get, schema, validate, diff', async () => {
    const current = (await http(sock, 'GET', '/config')).json();
    assert.equal(current.text, CONFIG);
    assert.equal(current.version, 1);
    assert.equal(current.history, 0);
    const schema = (await http(sock, 'GET', '/config/schema')).json();
    assert.equal(schema.type, 'object');
    assert.ok(schema.properties.routers);
    assert.deepEqual((await http(sock, 'POST', '/config/validate', { text: CONFIG })).json(), {
      ok: true,
      errors: [],
    });
    const bad = await http(sock, 'POST', '/config/validate', { text: 'routers:\n  red:\n    bogus: 1\n' });
    assert.equal(bad.status, 422);
    assert.equal(bad.json().ok, false);
    assert.ok(bad.json().errors.length > 0);
    const diff = await http(sock, 'POST', '/config/diff', { text: WITH_ROUTE });
    assert.deepEqual(diff.json(), {
      changes: [{ vr: 'blue', action: 'add', kind: 'route', detail: 'route 10.99.0.0/16 via 10.3.0.2' }],
    });
    const badDiff = await http(sock, 'POST', '/config/diff', { text: 'routers: 5' });
    assert.equal(badDiff.status, 422);
    assert.equal(badDiff.json().error.code, 'invalid_config');
    assert.equal((await http(sock, 'POST', '/config/diff', {})).status, 400);
  });

  test('capture streams a pcap file', async () => {
    const reply = await http(sock, 'POST', '/vrs/red/capture', { interface: 'eth0', count: 4 });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'application/vnd.tcpdump.pcap');
    assert.equal(reply.body.readUInt32LE(0), 0xa1b2c3d4);
    assert.equal(reply.body.readUInt32LE(20), 1);
    // The fake VR hands over 4 records of 60 bytes.
    assert.equal(reply.body.length, 24 + 4 * (16 + 60));
    assert.equal(reply.trailers['x-nexthop-dropped'], '0', 'the trailer counts the frames the VR dropped');
    const missing = await http(sock, 'POST', '/vrs/red/capture', { interface: 'eth9' });
    assert.equal(missing.status, 404);
  });
});

describe('supervision and configuration changes', () => {
  let t: TestDaemon;
  let sock: { socketPath: string };
  before(async () => {
    t = await startTestDaemon(CONFIG);
    sock = { socketPath: t.daemon.apiSocketPath };
  });
  after(() => t.close());

  test('a killed VR is restarted and counted; the other is untouched', async () => {
    const blueBefore = (await http(sock, 'GET', '/vrs/blue')).json();
    const red = (await http(sock, 'GET', '/vrs/red')).json();
    process.kill(red.pid, 'SIGKILL');
    await until(async () => {
      const now = (await http(sock, 'GET', '/vrs/red')).json();
      return now.state === 'running' && now.pid !== red.pid;
    }, 'red to run again');
    const now = (await http(sock, 'GET', '/vrs/red')).json();
    assert.equal(now.restarts, 1);
    assert.equal(now.lastExit.signal, 'SIGKILL');
    const blueAfter = (await http(sock, 'GET', '/vrs/blue')).json();
    assert.equal(blueAfter.pid, blueBefore.pid);
    assert.equal(blueAfter.restarts, 0);
  });

  test('a hung VR never blocks requests about another, and is killed and restarted', async () => {
    const red = t.daemon.vr('red')!;
    const pid = red.pid;
    void red.call('test.hang').catch(() => {});
    const slow = http(sock, 'GET', '/vrs/red/routes');
    // blue answers while red's request waits for its time limit.
    const blue = await http(sock, 'GET', '/vrs/blue/interfaces');
    assert.equal(blue.status, 200);
    const metrics = (await http(sock, 'GET', '/metrics')).body.toString();
    assert.ok(metrics.includes('nexthop_vr_up{vr="blue"} 1'));
    const redReply = await slow;
    assert.ok([503, 504].includes(redReply.status), String(redReply.status));
    await until(() => red.state === 'running' && red.pid !== pid, 'the hung VR to be replaced');
    assert.match(red.status().lastExit?.signal ?? '', /SIGKILL/);
  });

  test('stop, start, restart', async () => {
    const stopped = (await http(sock, 'POST', '/vrs/blue/stop')).json();
    assert.equal(stopped.state, 'stopped');
    assert.equal(stopped.pid, null);
    const unavailable = await http(sock, 'GET', '/vrs/blue/routes');
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.json().error.code, 'vr_unavailable');
    const started = (await http(sock, 'POST', '/vrs/blue/start')).json();
    assert.equal(started.state, 'running');
    const restarted = (await http(sock, 'POST', '/vrs/blue/restart')).json();
    assert.equal(restarted.state, 'running');
    assert.notEqual(restarted.pid, started.pid);
    assert.equal(restarted.restarts, started.restarts + 1);
  });

  test('apply changes a VR in place, writes the file, and rollback returns', async () => {
    const blue = t.daemon.vr('blue')!;
    const pid = blue.pid;
    const withRoute = WITH_ROUTE;
    const applied = await http(sock, 'POST', '/config/apply', { text: withRoute });
    assert.equal(applied.status, 200, applied.body.toString());
    assert.deepEqual(applied.json(), {
      version: 2,
      changes: [{ vr: 'blue', action: 'add', kind: 'route', detail: 'route 10.99.0.0/16 via 10.3.0.2' }],
    });
    assert.equal(blue.pid, pid);
    assert.equal(((await blue.call('status')) as { applies: number }).applies, 1);
    assert.equal(readFileSync(t.configPath, 'utf8'), withRoute);
    assert.match(readFileSync(blue.yamlPath, 'utf8'), /10\.99\.0\.0\/16/);
    assert.equal((await http(sock, 'GET', '/vrs/blue/routes')).json().length, 1);

    const invalid = await http(sock, 'POST', '/config/apply', {
      text: withRoute.replace('10.99.0.0/16', '10.99.0.0/40'),
    });
    assert.equal(invalid.status, 422);
    assert.equal(invalid.json().error.code, 'invalid_config');
    const missing = await http(sock, 'POST', '/config/apply', {
      text: withRoute.replace('device: dev3', 'device: gone0'),
    });
    assert.equal(missing.status, 422);
    assert.match(missing.json().error.errors[0].message, /gone0/);
    assert.equal((await http(sock, 'GET', '/config')).json().version, 2);

    const back = await http(sock, 'POST', '/config/rollback');
    assert.equal(back.status, 200);
    assert.equal(back.json().version, 1);
    assert.equal(back.json().changes[0].action, 'remove');
    assert.equal(readFileSync(t.configPath, 'utf8'), CONFIG);
    assert.equal(blue.pid, pid);
    assert.equal((await http(sock, 'GET', '/vrs/blue/routes')).json().length, 0);
    const none = await http(sock, 'POST', '/config/rollback');
    assert.equal(none.status, 409);
  });

  test('apply adds and removes VRs; a VR rejecting its part is reported', async () => {
    const withGreen = `${CONFIG}  green:\n    interfaces:\n      eth0: { driver: afpacket, device: dev99 }\n`;
    const added = await http(sock, 'POST', '/config/apply', { text: withGreen });
    assert.equal(added.status, 200, added.body.toString());
    assert.equal(t.daemon.vr('green')?.state, 'running');
    const rejected = await http(sock, 'POST', '/config/apply', {
      text: withGreen.replace('device: dev99', 'device: vanished'),
    });
    assert.equal(rejected.status, 409);
    assert.match(rejected.json().error.message, /green rejected/);
    assert.equal(readFileSync(t.configPath, 'utf8'), withGreen);
    const removed = await http(sock, 'POST', '/config/apply', { text: CONFIG });
    assert.equal(removed.status, 200);
    assert.deepEqual(
      removed.json().changes.map((c: { vr: string; action: string }) => `${c.action} ${c.vr}`),
      ['remove green'],
    );
    assert.equal(t.daemon.vr('green'), undefined);
  });

  test('after an apply that failed part-way, the stored version applied again puts the changed VRs back', async () => {
    const withGreen = `${CONFIG}  green:\n    interfaces:\n      eth0: { driver: afpacket, device: dev99 }\n`;
    assert.equal((await http(sock, 'POST', '/config/apply', { text: withGreen })).status, 200);
    // blue takes its new route, green refuses its change: a partial apply.
    const partial = withGreen
      .replace('device: dev99', 'device: vanished')
      .replace(
        'addresses: [10.3.0.1/24] }',
        'addresses: [10.3.0.1/24] }\n    routes:\n      - { prefix: 10.99.0.0/16, via: 10.3.0.2 }',
      );
    const rejected = await http(sock, 'POST', '/config/apply', { text: partial });
    assert.equal(rejected.status, 409);
    assert.match(rejected.json().error.message, /keep the change: blue/);
    assert.equal((await http(sock, 'GET', '/vrs/blue/routes')).json().length, 1);
    // The stored version is still withGreen; the diff to it is blue's route, and applying it removes it.
    const diff = await http(sock, 'POST', '/config/diff', { text: withGreen });
    assert.deepEqual(
      diff
        .json()
        .changes.map((c: { vr: string; action: string; kind: string }) => `${c.action} ${c.vr} ${c.kind}`),
      ['remove blue route'],
    );
    assert.equal((await http(sock, 'POST', '/config/apply', { text: withGreen })).status, 200);
    assert.equal((await http(sock, 'GET', '/vrs/blue/routes')).json().length, 0);
    assert.equal((await http(sock, 'POST', '/config/apply', { text: CONFIG })).status, 200);
  });

  test('reload (SIGHUP) applies the edited file; an invalid file changes nothing', async () => {
    const version = t.daemon.store.current.version;
    writeFileSync(t.configPath, 'routers: { red: { nonsense: true } }\n');
    assert.equal(await t.daemon.reload(), null);
    assert.equal(t.daemon.store.current.version, version);
    writeFileSync(t.configPath, CONFIG.replace('10.3.0.1/24', '10.3.0.9/24'));
    const result = await t.daemon.reload();
    assert.equal(result?.version, version + 1);
    assert.deepEqual((await http(sock, 'GET', '/vrs/blue/addresses')).json(), [
      { interface: 'eth0', address: '10.3.0.9/24', family: 4 },
      { interface: 'eth0', address: 'fe80::1/64', family: 6, state: 'preferred' },
    ]);
  });
});

const TOKEN = randomBytes(16).toString('hex');
const ROTATED = randomBytes(16).toString('base64url');
const ANOTHER = randomBytes(32).toString('hex');

describe('the TCP listener', () => {
  let t: TestDaemon;
  let port: number;
  let tokenDir: string;
  before(async () => {
    port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => resolve(p));
      });
    });
    tokenDir = mkdtempSync(join(tmpdir(), 'nexthopd-token-'));
    const tokenFile = join(tokenDir, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    t = await startTestDaemon(
      `manager:\n  api: { tcp: 127.0.0.1:${port}, tokenFile: ${tokenFile} }\n${CONFIG}`,
    );
  });
  after(async () => {
    await t.close();
    rmSync(tokenDir, { recursive: true, force: true });
  });

  test('401 without or with a wrong token; 200 with it', async () => {
    const target = { host: '127.0.0.1', port };
    const none = await http(target, 'GET', '/vrs');
    assert.equal(none.status, 401);
    assert.equal(none.json().error.code, 'unauthorized');
    assert.equal(
      (await http(target, 'GET', '/vrs', undefined, { authorization: 'Bearer wrong' })).status,
      401,
    );
    assert.equal((await http(target, 'GET', '/openapi.json')).status, 401);
    const ok = await http(target, 'GET', '/vrs', undefined, { authorization: `Bearer ${TOKEN}` });
    assert.equal(ok.status, 200);
    assert.equal(ok.json().length, 2);
    // The Unix socket needs no token.
    assert.equal((await http({ socketPath: t.daemon.apiSocketPath }, 'GET', '/health')).status, 200);
  });

  test('an apply that arrives over TCP and moves the listener gets its answer', async () => {
    const target = { host: '127.0.0.1', port };
    const rotated = join(tokenDir, 'rotated');
    writeFileSync(rotated, `${ROTATED}\n`, { mode: 0o600 });
    const text = `manager:\n  api: { tcp: 127.0.0.1:${port}, tokenFile: ${rotated} }\n${CONFIG}`;
    // Connections the old listener accepted stay its own until they end: this one ends with its answer.
    const applied = await http(
      target,
      'POST',
      '/config/apply',
      { text },
      { authorization: `Bearer ${TOKEN}`, connection: 'close' },
    );
    assert.equal(applied.status, 200, applied.body.toString());
    const ok = await http(target, 'GET', '/vrs', undefined, { authorization: `Bearer ${ROTATED}` });
    assert.equal(ok.status, 200);
    // The apply queue is free: the next apply (back to the first token) goes through.
    const back = `manager:\n  api: { tcp: 127.0.0.1:${port}, tokenFile: ${join(tokenDir, 'token')} }\n${CONFIG}`;
    const again = await http({ socketPath: t.daemon.apiSocketPath }, 'POST', '/config/apply', { text: back });
    assert.equal(again.status, 200, again.body.toString());
  });

  test('apply moves the listener at once: a new token, then no TCP listener at all', async () => {
    const target = { host: '127.0.0.1', port };
    const sock = { socketPath: t.daemon.apiSocketPath };
    const newToken = join(tokenDir, 'token2');
    writeFileSync(newToken, `${ANOTHER}\n`, { mode: 0o600 });
    const withNew = `manager:\n  api: { tcp: 127.0.0.1:${port}, tokenFile: ${newToken} }\n${CONFIG}`;
    const applied = await http(sock, 'POST', '/config/apply', { text: withNew });
    assert.equal(applied.status, 200, applied.body.toString());
    const auth = (token: string) => ({ authorization: `Bearer ${token}` });
    assert.equal((await http(target, 'GET', '/vrs', undefined, auth(TOKEN))).status, 401);
    assert.equal((await http(target, 'GET', '/vrs', undefined, auth(ANOTHER))).status, 200);
    // A token file that cannot be read: refused, the running listener stays.
    const broken = `manager:\n  api: { tcp: 127.0.0.1:${port}, tokenFile: ${join(tokenDir, 'none')} }\n${CONFIG}`;
    const refused = await http(sock, 'POST', '/config/apply', { text: broken });
    assert.equal(refused.status, 422);
    assert.equal(refused.json().error.errors[0].path, 'manager.api.tokenFile');
    assert.match(refused.json().error.message, /cannot read the token file .*ENOENT/);
    assert.equal((await http(target, 'GET', '/vrs', undefined, auth(ANOTHER))).status, 200);
    assert.equal((await http(sock, 'POST', '/config/apply', { text: CONFIG })).status, 200);
    await assert.rejects(http(target, 'GET', '/health'), /ECONNREFUSED/);
    assert.equal(t.daemon.tcpAddress, null);
  });
});

describe('bad requests get a 4xx with a reason, and the daemon carries on', () => {
  let t: TestDaemon;
  let sock: { socketPath: string };
  before(async () => {
    t = await startTestDaemon(CONFIG);
    sock = { socketPath: t.daemon.apiSocketPath };
  });
  after(() => t.close());

  /** A request with a body sent as given (not JSON-encoded here). */
  function raw(method: string, path: string, body: string, contentType = 'application/json') {
    return new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ ...sock, method, path, headers: { 'content-type': contentType } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  test('malformed or mistyped bodies, unknown routes and names', async () => {
    const cases: [number, Promise<{ status: number; body: string }>][] = [
      [400, raw('POST', '/config/apply', '{"text": ')],
      // fastify coerces a number to the string the schema wants; the config parser then refuses it.
      [422, raw('POST', '/config/apply', '{"text": 42}')],
      [400, raw('POST', '/config/validate', '[]')],
      [415, raw('POST', '/config/apply', 'routers: {}', 'text/yaml')],
      [400, raw('POST', '/vrs/red/capture', '{"interface": "eth0", "count": 0}')],
      [400, raw('POST', '/vrs/red/capture', '{"interface": "eth0", "count": "ten"}')],
      [404, raw('GET', '/vrs/no-such-vr/routes', '')],
      [414, raw('GET', `/vrs/${'x'.repeat(5000)}`, '')],
      [404, raw('GET', '/nothing/here', '')],
    ];
    for (const [expected, pending] of cases) {
      const reply = await pending;
      assert.equal(reply.status, expected, reply.body);
      const body = JSON.parse(reply.body) as { error?: { code?: unknown; message?: unknown } };
      assert.equal(typeof body.error?.code, 'string', reply.body);
      assert.equal(typeof body.error?.message, 'string', reply.body);
    }
    // An invalid config in a well-formed request is a 422 naming the problem.
    const invalid = await raw('POST', '/config/apply', JSON.stringify({ text: 'routers: { red: 1 }' }));
    assert.equal(invalid.status, 422);
    assert.match(invalid.body, /routers\.red/);
    assert.equal((await http(sock, 'GET', '/health')).status, 200, 'still serving');
  });
});
