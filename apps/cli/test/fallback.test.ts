import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ControlRequestError, ControlServer } from '@nexthop/control';
import { pcapRecord, readPcap } from '@nexthop/pcap';
import { cli, counters, iface, route } from './fixtures.ts';

// No nexthopd in this run directory: only a lone VR's control socket with canned answers.
const dir = mkdtempSync(join(tmpdir(), 'nexthop-cli-vr-'));
const calls: { method: string; params: Record<string, unknown> }[] = [];
let control: ControlServer;
let reads = 0;

function record(n: number): string {
  const frame = new Uint8Array(42 + n).fill(0xa0 + n);
  return Buffer.from(pcapRecord(frame, 0, frame.length, 1_700_000_000_000 + n)).toString('base64');
}

before(async () => {
  control = await ControlServer.listen(join(dir, 'red.ctl'), (method, params) => {
    calls.push({ method, params });
    switch (method) {
      case 'show.interfaces':
        return [iface('eth0', 5, ['10.1.0.1/24'])];
      case 'show.counters':
        return counters(3);
      case 'show.routes':
        return [route('10.1.0.0/24', null, 'eth0'), route('2001:db8:1::/64', null, 'eth0')].filter(
          (r) => params.family === undefined || r.family === params.family,
        );
      case 'capture.start':
        if (params.interface !== 'eth0')
          throw new ControlRequestError('not_found', `no interface '${params.interface}'`);
        reads = 0;
        return { id: 7 };
      case 'capture.read':
        // Two frames, an empty poll, then the last one with done.
        reads++;
        if (reads === 1) return { records: [record(0), record(1)], done: false, dropped: 0 };
        if (reads === 2) return { records: [], done: false, dropped: 0 };
        return { records: [record(2)], done: true, dropped: 0 };
      case 'capture.stop':
        return { frames: 3, dropped: 0 };
      default:
        throw new ControlRequestError('unknown_method', `unknown method '${method}'`);
    }
  });
});

after(async () => {
  await control.close();
  rmSync(dir, { recursive: true, force: true });
});

test('show --vr asks the VR control socket when nexthopd is not running', async () => {
  const t = await cli('show', 'interfaces', '--vr', 'red', '--run-dir', dir);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^NAME +DEVICE +DRIVER +STATE.*\neth0 +veth-eth0 +afpacket +UP +1500 /);
  const j = await cli('show', 'counters', '--vr', 'red', '-j', '--run-dir', dir);
  assert.deepEqual(JSON.parse(j.stdout), counters(3));
  assert.deepEqual(
    calls.map((c) => c.method),
    ['show.interfaces', 'show.counters'],
  );
});

test('show routes -6 --vr asks the VR control socket with params.family', async () => {
  const six = await cli('show', 'routes', '-6', '--vr', 'red', '--run-dir', dir);
  assert.equal(six.code, 0, six.stderr);
  assert.equal(six.stdout, '2001:db8:1::/64 dev eth0 proto connected scope link\n');
  assert.deepEqual(calls.at(-1), { method: 'show.routes', params: { family: 6 } });
  const both = await cli('show', 'routes', '--vr', 'red', '-j', '--run-dir', dir);
  assert.deepEqual(
    (JSON.parse(both.stdout) as { family: number }[]).map((r) => r.family),
    [4, 6],
  );
  assert.deepEqual(calls.at(-1), { method: 'show.routes', params: {} });
});

test('what needs nexthopd says so in one line, exit 1; show without --vr is a usage error', async () => {
  const sock = join(dir, 'nexthopd.sock');
  const notRunning = `nexthop: nexthopd is not running (no ${sock}); start it with bin/nexthopd --config FILE\n`;
  for (const args of [
    ['show', 'vrs'],
    ['vr', 'stop', 'red'],
    ['config', 'rollback'],
    ['config', 'show'],
  ]) {
    const r = await cli(...args, '--run-dir', dir);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.stderr, notRunning, args.join(' '));
  }
  const noVr = await cli('show', 'routes', '--run-dir', dir);
  assert.equal(noVr.code, 2);
  assert.match(noVr.stderr, /show routes needs --vr NAME when nexthopd is not running/);
});

test('config check without nexthopd validates locally, errors as file:line: path: message', async () => {
  const good = join(dir, 'good.yaml');
  writeFileSync(
    good,
    'routers:\n  red:\n    interfaces:\n      t0: { driver: tap, device: nhtest-tap0, addresses: [10.77.0.1/24] }\n',
  );
  const ok = await cli('config', 'check', good, '--run-dir', dir);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, `${good}: valid (1 router: red)\n`);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(
    bad,
    'routers:\n  red:\n    interfaces:\n      eth0: { driver: afpacket, device: nexthop-no-such-dev, addresses: [10.1.0.1/24] }\n',
  );
  const r = await cli('config', 'check', bad, '--run-dir', dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^.*bad\.yaml:4: routers\.red\.interfaces\.eth0\.device: .*nexthop-no-such-dev/m);
});

test("capture without nexthopd long-polls the VR's capture.read into a valid pcap", async () => {
  const file = join(dir, 'vr.pcap');
  const r = await cli(
    'capture',
    '--vr',
    'red',
    '--interface',
    'eth0',
    '-c',
    '3',
    '-w',
    file,
    '--run-dir',
    dir,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, `3 frames captured to ${file}\n`);
  const pcap = readPcap(readFileSync(file));
  assert.ok(pcap.ok);
  assert.deepEqual(
    pcap.records.map((rec) => rec.data.length),
    [42, 43, 44],
  );
  assert.equal(pcap.records[2]!.data[0], 0xa2);
  const methods = calls.filter((c) => c.method.startsWith('capture.'));
  assert.deepEqual(methods[0], { method: 'capture.start', params: { interface: 'eth0', count: 3 } });
  assert.equal(methods.at(-1)!.method, 'capture.stop');
  assert.deepEqual(methods.at(-1)!.params, { id: 7 });

  const unknown = await cli(
    'capture',
    '--vr',
    'red',
    '--interface',
    'eth5',
    '-w',
    join(dir, 'no.pcap'),
    '--run-dir',
    dir,
  );
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, "nexthop: VR 'red': no interface 'eth5'\n");
  assert.equal(existsSync(join(dir, 'no.pcap')), false, 'a refused capture leaves no file');
});
