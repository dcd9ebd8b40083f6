// Issue 5: what an operator sees — CLI tables and their JSON, the management API and its OpenAPI
// document, the token on the TCP listener, packet capture, Prometheus metrics.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readPcap } from '@nexthop/pcap';
import { Validator } from '@seriousme/openapi-schema-validator';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import {
  pingOnce,
  type RunningDaemon,
  startNexthopd,
  type TwoVrTopology,
  twoVrConfig,
  twoVrTopology,
  vrStatus,
} from '../lib/nexthopd.ts';

useNetnsCleanup();

const API_PORT = 9180 + (process.pid % 500);
/** 128 bits as 32 hex digits: nexthopd refuses a weaker token. */
const TOKEN = randomBytes(16).toString('hex');

/** For each `show` kind, the JSON fields whose values must appear in the matching table line. */
const SHOWN_FIELDS: Record<string, string[]> = {
  vrs: ['name', 'state', 'pid', 'restarts'],
  interfaces: ['name', 'device', 'mtu', 'mac'],
  routes: ['interface', 'protocol'],
  arp: ['address', 'interface', 'state'],
  sockets: ['state', 'local', 'peer'],
};

/** Asserts the table shows the JSON's rows, one line each, in the same order. */
function assertTableMatchesJson(what: string, table: string, rows: Record<string, unknown>[]): void {
  const lines = table.split('\n').filter((l) => l.trim() !== '');
  const body = lines.length === rows.length + 1 ? lines.slice(1) : lines;
  assert.equal(body.length, rows.length, `${what}: ${rows.length} JSON rows, table:\n${table}`);
  rows.forEach((row, i) => {
    const fields = [...SHOWN_FIELDS[what]!, ...('vr' in row ? ['vr'] : [])];
    for (const f of fields) {
      const value = row[f];
      if (value === null || value === undefined) continue;
      assert.ok(
        body[i]!.split(/\s+/).includes(String(value)),
        `${what}: row ${i} field ${f}=${String(value)} missing from '${body[i]}'`,
      );
    }
  });
}

function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    const got = Object.fromEntries(
      [...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!] as const),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

describe('nexthopd: CLI, API, capture and metrics', () => {
  let topo: TwoVrTopology;
  let daemon: RunningDaemon;
  let scratch: string;

  before(async () => {
    topo = await twoVrTopology();
    scratch = mkdtempSync(join(tmpdir(), 'nexthop-api-'));
    const tokenFile = join(scratch, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const head = `manager:\n  api: { tcp: 127.0.0.1:${API_PORT}, tokenFile: ${tokenFile} }`;
    // The echo service gives each VR sockets to show.
    const services = 'services: { echo: true }';
    daemon = await startNexthopd(topo.r, twoVrConfig(topo, { head, red: services, blue: services }));
    // Some traffic so that ARP tables and counters are not empty.
    for (const pair of [topo.red, topo.blue]) assert.equal(await pingOnce(pair, '10.2.0.2', '1'), true);
  });

  after(async () => {
    await daemon?.stop();
    daemon?.removeDirs();
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
    await topo?.destroy();
  });

  test('show … -j parses as JSON and matches the table', async () => {
    for (const what of Object.keys(SHOWN_FIELDS)) {
      for (const scope of what === 'vrs' ? [[]] : [['--vr', 'red'], []]) {
        const table = await daemon.cli(['show', what, ...scope]);
        assert.equal(table.code, 0, `show ${what} ${scope.join(' ')}: ${table.stderr}`);
        const rows = (await daemon.cliJson(['show', what, ...scope, '-j'])) as Record<string, unknown>[];
        assert.ok(Array.isArray(rows), `show ${what} -j is an array`);
        assert.ok(rows.length > 0, `show ${what} ${scope.join(' ')} is empty`);
        if (scope.length === 0 && what !== 'vrs') {
          assert.deepEqual(new Set(rows.map((r) => r['vr'])), new Set(['red', 'blue']), what);
        }
        assertTableMatchesJson(what, table.stdout, rows);
      }
    }
    // Counters are live (the hosts' ARP refreshes arrive at any time): the table, read between
    // two JSON reads, must show each counter at a value within the two.
    type Counters = { stats: Record<string, number>; family: Record<string, number> };
    const before = (await daemon.cliJson(['show', 'counters', '--vr', 'red', '-j'])) as Counters;
    const table = await daemon.cli(['show', 'counters', '--vr', 'red']);
    const after = (await daemon.cliJson(['show', 'counters', '--vr', 'red', '-j'])) as Counters;
    for (const [name, low] of Object.entries(before.stats)) {
      // COUNTER FAMILY VALUE: the family as the JSON says it, '-' for a counter of both or neither.
      const family = before.family[name] === undefined ? '-' : `ipv${before.family[name]}`;
      const row = new RegExp(`^${name}\\s+${family}\\s+(\\d+)$`, 'm').exec(table.stdout);
      assert.ok(row !== null, `counter ${name} (${family}) in the table`);
      const shown = Number(row[1]);
      const high = after.stats[name] ?? low;
      assert.ok(
        shown >= Math.min(low, high) && shown <= Math.max(low, high),
        `counter ${name}: ${shown} not in [${low}, ${high}]`,
      );
    }
    const missing = await daemon.cli(['show', 'routes', '--vr', 'green']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /green/);
    const usage = await daemon.cli(['show', 'nonsense']);
    assert.equal(usage.code, 2, 'a usage error');
    assert.match(usage.stderr, /choose one of/);
  });

  test('the OpenAPI document validates and every documented route answers', async () => {
    const reply = await daemon.api('GET', '/openapi.json');
    assert.equal(reply.status, 200);
    const doc = reply.json() as { paths: Record<string, Record<string, unknown>> };
    const result = await new Validator().validate(doc as never);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));

    const current = (await daemon.api('GET', '/config')).json() as { text: string };
    const bodies: Record<string, unknown> = {
      '/config/validate': { text: current.text },
      '/config/diff': { text: current.text },
      '/config/apply': { text: current.text },
      '/vrs/{vr}/capture': { interface: 'eth0', count: 1, timeoutMs: 300 },
    };
    const lifecycle = ['stop', 'start', 'restart'];
    const operations: [string, string][] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods)) operations.push([method.toUpperCase(), path]);
    }
    // Stop before start before restart, so that red ends up running.
    const rank = (path: string) => lifecycle.findIndex((l) => path.endsWith(`/${l}`));
    operations.sort((a, b) => rank(a[1]) - rank(b[1]));
    const required = [
      '/vrs',
      '/vrs/{vr}',
      '/vrs/{vr}/interfaces',
      '/vrs/{vr}/routes',
      '/vrs/{vr}/arp',
      '/vrs/{vr}/sockets',
      '/vrs/{vr}/counters',
      '/vrs/{vr}/addresses',
      '/config',
      '/config/validate',
      '/config/diff',
      '/config/apply',
      '/config/rollback',
      '/vrs/{vr}/capture',
      '/metrics',
    ];
    for (const path of required) {
      assert.ok(
        operations.some(([, p]) => p === path),
        `${path} is documented (have: ${operations.map((o) => o[1]).join(', ')})`,
      );
    }
    for (const [method, path] of operations) {
      const concrete = path.replace('{vr}', 'red');
      const answer = await daemon.api(method, concrete, bodies[path] ?? (method === 'POST' ? {} : undefined));
      // rollback with no earlier version is a 409; red runs no routing protocol, so their views are a
      // 404 saying so; everything else succeeds.
      const notConfigured =
        /^\/vrs\/\{vr\}\/(bgp|ospf|rip|ripng|bfd)(\/|$)/.test(path) &&
        answer.status === 404 &&
        /configured on VR red/.test(answer.body.toString());
      const ok =
        answer.status === 200 || (path === '/config/rollback' && answer.status === 409) || notConfigured;
      assert.ok(ok, `${method} ${concrete} → ${answer.status} ${answer.body.toString().slice(0, 300)}`);
      if (path.endsWith('/stop') || path.endsWith('/start') || path.endsWith('/restart')) {
        if (!path.endsWith('/stop')) await waitForRunning(daemon, 'red');
      }
    }
    await waitForRunning(daemon, 'red');
    const unknown = await daemon.api('GET', '/vrs/green/routes');
    assert.equal(unknown.status, 404);
    assert.equal((unknown.json() as { error: { code: string } }).error.code, 'not_found');
  });

  test('the TCP listener wants the bearer token', async () => {
    const url = `http://127.0.0.1:${API_PORT}/vrs`;
    const curl = (extra: string[]) =>
      topo.r.execOk('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...extra, url]);
    assert.equal(await curl([]), '401');
    assert.equal(await curl(['-H', 'Authorization: Bearer wrong']), '401');
    assert.equal(await curl(['-H', `Authorization: Bearer ${TOKEN}`]), '200');
  });

  test('capture -c 10 during a ping yields a pcap tcpdump reads', async () => {
    const file = join(scratch, 'x.pcap');
    const ping = topo.red.h1.exec('ping', ['-n', '-c', '30', '-i', '0.05', '10.2.0.2'], {
      timeoutMs: 20_000,
    });
    const capture = await daemon.cli([
      'capture',
      '--vr',
      'red',
      '--interface',
      'eth0',
      '-c',
      '10',
      '-w',
      file,
    ]);
    await ping;
    assert.equal(capture.code, 0, capture.stderr);
    assert.match(capture.stderr, /10 frames/);
    const parsed = readPcap(readFileSync(file));
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.equal(parsed.records.length, 10);
    const { runOk } = await import('@nexthop/netns');
    const text = await runOk('tcpdump', ['-n', '-r', file]);
    const icmp = text.split('\n').filter((l) => /ICMP echo (request|reply)/.test(l));
    assert.ok(icmp.length >= 8, `tcpdump shows the pings:\n${text}`);
    assert.match(text, /10\.1\.0\.2 > 10\.2\.0\.2: ICMP echo request/);
  });

  test('metrics grow with traffic', async () => {
    const scrape = async () => {
      const r = await daemon.api('GET', '/metrics');
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /text\/plain/);
      return r.body.toString('utf8');
    };
    const labels = { vr: 'blue', interface: 'eth0' };
    const before = await scrape();
    const rxBefore = metricValue(before, 'nexthop_interface_receive_packets_total', labels);
    assert.ok(rxBefore !== undefined, `no receive counter for blue/eth0:\n${before.slice(0, 2000)}`);
    const r = await topo.blue.h1.exec('ping', ['-n', '-c', '20', '-i', '0.02', '10.2.0.2'], {
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 0, r.stdout);
    const afterText = await scrape();
    const rxAfter = metricValue(afterText, 'nexthop_interface_receive_packets_total', labels)!;
    assert.ok(rxAfter - rxBefore >= 20, `receive counter ${rxBefore} → ${rxAfter}`);
    const txBefore = metricValue(before, 'nexthop_interface_transmit_packets_total', {
      vr: 'blue',
      interface: 'eth1',
    })!;
    const txAfter = metricValue(afterText, 'nexthop_interface_transmit_packets_total', {
      vr: 'blue',
      interface: 'eth1',
    })!;
    assert.ok(txAfter - txBefore >= 20, `transmit counter ${txBefore} → ${txAfter}`);
    for (const name of [
      'nexthop_vr_up',
      'nexthop_vr_restarts_total',
      'nexthop_fib_routes',
      'nexthop_sockets',
      'nexthop_rsock_clients',
      'nexthop_interface_receive_bytes_total',
    ]) {
      assert.ok(metricValue(afterText, name, { vr: 'blue' }) !== undefined, `${name} for blue`);
    }
    assert.equal(metricValue(afterText, 'nexthop_vr_up', { vr: 'red' }), 1);
    assert.match(afterText, /^# TYPE nexthop_drops_total counter$/m);
  });
});

async function waitForRunning(daemon: RunningDaemon, name: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if ((await vrStatus(daemon, name)).state === 'running') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} is not running again`);
}
