import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ApplyResult, ConfigChange, VrStatus } from '@nexthop/nexthopd';
import { pcapFileHeader, pcapRecord, readPcap } from '@nexthop/pcap';
import type { ShowRoute } from '@nexthop/vr';
import { ApiClient, ApiRequestError, connectApi } from '../src/api-client.ts';
import { PcapRecordCounter } from '../src/capture.ts';
import { arp, cli, counters, iface, route, tableRows, vrStatus } from './fixtures.ts';

// A fake nexthopd: canned answers in the API's shapes, on <dir>/nexthopd.sock.
const dir = mkdtempSync(join(tmpdir(), 'nexthop-cli-api-'));
const requests: { method: string; url: string; body: string }[] = [];
let server: Server;

const VRS: VrStatus[] = [
  vrStatus('red', 'running', 3_720_000, 1),
  vrStatus('blue', 'running', 12_000),
  vrStatus('green', 'stopped', null),
];
const SHOWN: Record<string, Record<string, unknown>> = {
  red: {
    interfaces: [iface('eth0', 5, ['10.1.0.1/24']), iface('eth1', 6, ['10.3.0.1/24'])],
    routes: [
      route('10.1.0.0/24', null, 'eth0'),
      route('10.99.0.0/16', '10.1.0.2', 'eth0'),
      route('2001:db8:1::/64', null, 'eth0'),
    ],
    arp: [arp('10.1.0.2', 'eth0')],
    sockets: [],
    counters: counters(10, 'noRoute'),
  },
  blue: {
    interfaces: [iface('eth0', 7, ['10.2.0.1/24'])],
    routes: [route('10.2.0.0/24', null, 'eth0')],
    arp: [],
    sockets: [],
    counters: counters(20),
  },
};
const CHANGE: ConfigChange = {
  vr: 'blue',
  action: 'add',
  kind: 'route',
  detail: 'route 10.99.0.0/16 via 10.2.0.2',
};
const INVALID = {
  code: 'invalid_config',
  message: 'invalid configuration',
  errors: [
    { path: 'routers.blue.routes.0.prefix', line: 7, message: "'10.99.0.1/16' has host bits set" },
    { path: 'routers.blue.interfaces.eth9.device', line: 4, message: "device 'veth9' does not exist" },
  ],
};

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The capture stream: header at once, then each record split over odd-sized writes. */
function streamCapture(res: ServerResponse, count: number): void {
  res.writeHead(200, { 'content-type': 'application/vnd.tcpdump.pcap' });
  const parts: Uint8Array[] = [pcapFileHeader()];
  for (let n = 0; n < count; n++) {
    const frame = new Uint8Array(60 + n).fill(n);
    parts.push(pcapRecord(frame, 0, frame.length, 1_700_000_000_000 + n));
  }
  const all = Buffer.concat(parts);
  for (let at = 0; at < all.length; at += 7) res.write(all.subarray(at, at + 7));
  res.end();
}

function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
  const url = req.url ?? '';
  requests.push({ method: req.method ?? '', url, body });
  const [path = '', query = ''] = url.split('?');
  const vrPart = /^\/vrs\/([^/]+)\/(\w+)$/.exec(path);
  if (req.method === 'GET' && url === '/health') return send(res, 200, { ok: true, vrs: VRS.length });
  if (req.method === 'GET' && url === '/vrs') return send(res, 200, VRS);
  if (req.method === 'GET' && url === '/config')
    return send(res, 200, { text: 'routers:\n  red: {}\n', version: 3, appliedAt: 0, history: 2 });
  if (req.method === 'POST' && url === '/config/validate') {
    const bad = body.includes('bogus');
    return send(res, bad ? 422 : 200, { ok: !bad, errors: bad ? INVALID.errors : [] });
  }
  if (req.method === 'POST' && (url === '/config/apply' || url === '/config/diff')) {
    if (body.includes('bogus')) return send(res, 422, { error: INVALID });
    if (body.includes('vanished'))
      return send(res, 502, {
        error: {
          code: 'vr_rejected',
          message: "VR 'blue' rejected its part: device veth2 is gone; red was changed",
        },
      });
    const result: ApplyResult = { version: 4, changes: [CHANGE] };
    return send(res, 200, url === '/config/diff' ? { changes: [CHANGE] } : result);
  }
  if (req.method === 'POST' && url === '/config/rollback')
    return send(res, 409, {
      error: { code: 'no_previous', message: 'no previous configuration to roll back to' },
    });
  if (vrPart !== null) {
    const [, vr, what] = vrPart;
    if (!VRS.some((v) => v.name === vr))
      return send(res, 404, { error: { code: 'not_found', message: `no VR named '${vr}'` } });
    if (req.method === 'POST' && what === 'capture') {
      const { count, interface: name } = JSON.parse(body) as { count?: number; interface: string };
      if (name !== 'eth0')
        return send(res, 404, {
          error: { code: 'not_found', message: `VR ${vr}: VR ${vr} has no interface '${name}'` },
        });
      return streamCapture(res, count ?? 100);
    }
    if (req.method === 'POST') return send(res, 200, { ...VRS.find((v) => v.name === vr)!, restarts: 2 });
    const data = SHOWN[vr!]?.[what!];
    if (data === undefined)
      return send(res, 503, { error: { code: 'vr_unavailable', message: `VR '${vr}' is not running` } });
    const family = new URLSearchParams(query).get('family');
    if (what === 'routes' && family !== null)
      return send(
        res,
        200,
        (data as ShowRoute[]).filter((r) => String(r.family) === family),
      );
    return send(res, 200, data);
  }
  send(res, 404, { error: { code: 'not_found', message: `no route ${req.method} ${url}` } });
}

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(join(dir, 'nexthopd.sock'), resolve));
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

test('show vrs: the table and its JSON carry the same VRs in the same order', async () => {
  const t = await cli('show', 'vrs', '--run-dir', dir);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^NAME +STATE +PID +UPTIME +RESTARTS +INTERFACES +REASON\n/);
  assert.match(t.stdout, /\nred +running +4003 +1h02m +1 +2 +-\n/);
  assert.match(t.stdout, /\ngreen +stopped +- +- +0 +2 +-\n/);
  const j = await cli('show', 'vrs', '-j', '--run-dir', dir);
  assert.equal(j.code, 0);
  const rows = JSON.parse(j.stdout) as VrStatus[];
  assert.deepEqual(rows, VRS);
  assert.deepEqual(
    tableRows(t.stdout.trimEnd()).map((r) => r[0]),
    rows.map((v) => v.name),
  );
});

test('show routes without --vr asks every running VR: a VR column, JSON rows tagged with vr', async () => {
  const t = await cli('show', 'routes', '--run-dir', dir);
  assert.equal(t.code, 0, t.stderr);
  assert.equal(
    t.stdout,
    'VR    ROUTE\n' +
      'red   10.1.0.0/24 dev eth0 proto connected scope link\n' +
      'red   10.99.0.0/16 via 10.1.0.2 dev eth0 proto static distance 1\n' +
      'red   2001:db8:1::/64 dev eth0 proto connected scope link\n' +
      'blue  10.2.0.0/24 dev eth0 proto connected scope link\n',
  );
  const j = await cli('show', 'routes', '-j', '--run-dir', dir);
  const rows = JSON.parse(j.stdout) as { vr: string; prefix: string }[];
  assert.deepEqual(
    rows.map((r) => [r.vr, r.prefix]),
    tableRows(t.stdout.trimEnd()).map(([vr, line]) => [vr, line!.split(' ')[0]]),
  );
  // The stopped VR was not asked.
  assert.ok(!requests.some((r) => r.url.startsWith('/vrs/green/')));
});

test('show routes -6 and -4 ask nexthopd for one family; -j rows carry the family', async () => {
  const six = await cli('show', 'routes', '-6', '--run-dir', dir);
  assert.equal(six.code, 0, six.stderr);
  assert.equal(six.stdout, 'VR   ROUTE\nred  2001:db8:1::/64 dev eth0 proto connected scope link\n');
  assert.ok(requests.some((r) => r.url === '/vrs/red/routes?family=6'));
  assert.ok(requests.some((r) => r.url === '/vrs/blue/routes?family=6'));
  const four = await cli('show', 'routes', '--ipv4', '--vr', 'red', '-j', '--run-dir', dir);
  assert.equal(four.code, 0, four.stderr);
  const rows = JSON.parse(four.stdout) as ShowRoute[];
  assert.deepEqual(
    rows.map((r) => [r.family, r.prefix]),
    [
      [4, '10.1.0.0/24'],
      [4, '10.99.0.0/16'],
    ],
  );
  assert.equal(requests.at(-1)!.url, '/vrs/red/routes?family=4');
  // Without a flag: both families, IPv4 first, and no query.
  const both = await cli('show', 'routes', '--vr', 'red', '-j', '--run-dir', dir);
  assert.deepEqual(
    (JSON.parse(both.stdout) as ShowRoute[]).map((r) => r.family),
    [4, 4, 6],
  );
  assert.equal(requests.at(-1)!.url, '/vrs/red/routes');
});

test('show routes -4 -6 and -6 on anything but routes are usage errors, exit 2, nothing asked', async () => {
  const asked = requests.length;
  const both = await cli('show', 'routes', '-4', '-6', '--run-dir', dir);
  assert.equal(both.code, 2);
  assert.equal(both.stderr, 'nexthop: -4 and -6 exclude each other (leave both out for both families)\n');
  const other = await cli('show', 'neighbors', '-6', '--vr', 'red', '--run-dir', dir);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /-6 applies to show routes only, not show neighbors/);
  assert.equal(requests.length, asked);
});

test('show counters of every VR: JSON keyed by VR; --vr asks one VR through the API', async () => {
  const j = await cli('show', 'counters', '-j', '--run-dir', dir);
  assert.equal(j.code, 0, j.stderr);
  assert.deepEqual(JSON.parse(j.stdout), { red: SHOWN.red!.counters, blue: SHOWN.blue!.counters });
  const t = await cli('show', 'counters', '--run-dir', dir);
  assert.match(
    t.stdout,
    /^VR +COUNTER +FAMILY +VALUE\nred +forwarded +ipv4 +10\nred +ipv6_forwarded +ipv6 +12\n/,
  );
  assert.match(t.stdout, /\nVR +DROP REASON +PACKETS\nred +noRoute +3\n/);
  const one = await cli('show', 'interfaces', '--vr', 'blue', '-j', '--run-dir', dir);
  assert.deepEqual(JSON.parse(one.stdout), SHOWN.blue!.interfaces);
});

test('an unknown VR is one line naming it, exit 1', async () => {
  const r = await cli('show', 'arp', '--vr', 'ghost', '--run-dir', dir);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "nexthop: VR 'ghost': no VR named 'ghost'\n");
  const restart = await cli('vr', 'restart', 'ghost', '--run-dir', dir);
  assert.equal(restart.code, 1);
  assert.match(restart.stderr, /VR 'ghost': no VR named 'ghost'/);
});

test('vr restart NAME posts to nexthopd and shows the VR row', async () => {
  const r = await cli('vr', 'restart', 'red', '--run-dir', dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^NAME +STATE.*\nred +running +4003 +1h02m +2 +2 +-\n$/);
  assert.ok(requests.some((q) => q.method === 'POST' && q.url === '/vrs/red/restart'));
  const usage = await cli('vr', 'reboot', 'red', '--run-dir', dir);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /unknown vr action 'reboot'/);
});

test('config apply: an invalid config prints file:line: path: message lines, exit 1', async () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'routers: bogus\n');
  const r = await cli('config', 'apply', file, '--run-dir', dir);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `${file}:7: routers.blue.routes.0.prefix: '10.99.0.1/16' has host bits set\n` +
      `${file}:4: routers.blue.interfaces.eth9.device: device 'veth9' does not exist\n`,
  );
  const sent = requests.find((q) => q.url === '/config/apply');
  assert.deepEqual(JSON.parse(sent!.body), { text: 'routers: bogus\n' });
  const check = await cli('config', 'check', file, '--run-dir', dir);
  assert.equal(check.code, 1);
  assert.match(check.stderr, /bad\.yaml:7: routers\.blue\.routes\.0\.prefix: /);
});

test('config apply and diff print one line a change; rollback and a rejected apply say why', async () => {
  const file = join(dir, 'good.yaml');
  writeFileSync(file, 'routers: {}\n');
  const diff = await cli('config', 'diff', file, '--run-dir', dir);
  assert.equal(diff.code, 0, diff.stderr);
  assert.equal(diff.stdout, '+ blue: route 10.99.0.0/16 via 10.2.0.2\n');
  const apply = await cli('config', 'apply', file, '--run-dir', dir);
  assert.equal(apply.code, 0, apply.stderr);
  assert.equal(apply.stdout, '+ blue: route 10.99.0.0/16 via 10.2.0.2\n');
  assert.match(apply.stderr, /applied configuration version 4 \(1 change\)/);
  const check = await cli('config', 'check', file, '--run-dir', dir);
  assert.equal(check.code, 0);
  assert.equal(check.stdout, `${file}: valid\n`);
  const rollback = await cli('config', 'rollback', '--run-dir', dir);
  assert.equal(rollback.code, 1);
  assert.equal(rollback.stderr, 'nexthop: nexthopd: no previous configuration to roll back to\n');
  writeFileSync(file, 'routers: vanished\n');
  const rejected = await cli('config', 'apply', file, '--run-dir', dir);
  assert.equal(rejected.code, 1);
  assert.match(rejected.stderr, /VR 'blue' rejected its part: device veth2 is gone; red was changed/);
  const shown = await cli('config', 'show', '--run-dir', dir);
  assert.equal(shown.stdout, 'routers:\n  red: {}\n');
});

test('capture through the API stream: a pcap tcpdump reads, the count, the frame total on stderr', async () => {
  const file = join(dir, 'x.pcap');
  const r = await cli(
    'capture',
    '--vr',
    'red',
    '--interface',
    'eth0',
    '-c',
    '10',
    '--timeout',
    '5',
    '-w',
    file,
    '--run-dir',
    dir,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, `10 frames captured to ${file}\n`);
  const pcap = readPcap(readFileSync(file));
  assert.ok(pcap.ok);
  assert.equal(pcap.records.length, 10);
  assert.equal(pcap.records[3]!.data.length, 63);
  const sent = requests.find((q) => q.url === '/vrs/red/capture');
  assert.deepEqual(JSON.parse(sent!.body), { interface: 'eth0', count: 10, timeoutMs: 5000 });

  const out = await cli(
    'capture',
    '--vr',
    'red',
    '--interface',
    'eth0',
    '-c',
    '3',
    '-w',
    '-',
    '--run-dir',
    dir,
  );
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stderr, /^3 frames captured to standard output\n$/);
  const fromStdout = readPcap(out.stdoutBytes);
  assert.ok(fromStdout.ok);
  assert.equal(fromStdout.records.length, 3);

  const ghost = await cli(
    'capture',
    '--vr',
    'ghost',
    '--interface',
    'eth0',
    '-w',
    join(dir, 'none.pcap'),
    '--run-dir',
    dir,
  );
  assert.equal(ghost.code, 1);
  assert.match(ghost.stderr, /VR 'ghost': no VR named 'ghost'/);
  const noIf = await cli(
    'capture',
    '--vr',
    'red',
    '--interface',
    'eth9',
    '-w',
    join(dir, 'none.pcap'),
    '--run-dir',
    dir,
  );
  assert.equal(noIf.code, 1);
  assert.equal(noIf.stderr, "nexthop: VR red: VR red has no interface 'eth9'\n");
});

test('the record counter follows records across any chunking', () => {
  const frames = [10, 200, 1, 64].map((n) => new Uint8Array(n));
  const bytes = Buffer.concat([pcapFileHeader(), ...frames.map((f, i) => pcapRecord(f, 0, f.length, i))]);
  for (const size of [1, 3, 16, 24, 25, 1000]) {
    const counter = new PcapRecordCounter();
    for (let at = 0; at < bytes.length; at += size) counter.push(bytes.subarray(at, at + size));
    assert.equal(counter.records, frames.length, `chunks of ${size}`);
  }
  const bigEndian = Buffer.concat([
    pcapFileHeader(65535, { littleEndian: false }),
    pcapRecord(frames[1]!, 0, 200, 0, 65535, { littleEndian: false }),
    pcapRecord(frames[0]!, 0, 10, 0, 65535, { littleEndian: false }),
  ]);
  const counter = new PcapRecordCounter();
  counter.push(bigEndian);
  assert.equal(counter.records, 2);
});

test('the client in process: error bodies become ApiRequestError; a stale socket file means no nexthopd', async () => {
  const api = new ApiClient(join(dir, 'nexthopd.sock'));
  await assert.rejects(api.get('/vrs/ghost/routes'), (err: unknown) => {
    assert.ok(err instanceof ApiRequestError);
    assert.equal(err.status, 404);
    assert.equal(err.code, 'not_found');
    return true;
  });
  await assert.rejects(api.post('/config/validate', { text: 'bogus' }), (err: unknown) => {
    assert.ok(err instanceof ApiRequestError);
    assert.equal(err.code, 'invalid_config');
    assert.equal(err.errors.length, 2);
    return true;
  });
  assert.ok((await connectApi(dir)) instanceof ApiClient);
  const stale = mkdtempSync(join(tmpdir(), 'nexthop-cli-stale-'));
  try {
    writeFileSync(join(stale, 'nexthopd.sock'), '');
    assert.equal(await connectApi(stale), null);
    assert.equal(await connectApi(join(stale, 'nowhere')), null);
  } finally {
    rmSync(stale, { recursive: true, force: true });
  }
});
