import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const NEXTHOP = join(import.meta.dirname, '../../../bin/nexthop');
const dir = mkdtempSync(join(tmpdir(), 'nexthop-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function nexthop(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(NEXTHOP, args, { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a config with an unknown field is refused, naming the field and the line', () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(
    file,
    'routers:\n  edge:\n    interfaces:\n      eth0: { driver: afpacket, device: veth0, addresses: [10.1.0.1/24], speed: 10 }\n',
  );
  const r = nexthop('vr', '--config', file, '--run-dir', dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.yaml:4: routers\.edge\.interfaces\.eth0(\.speed)?: unknown field 'speed'/);
});

test('an invalid prefix in a route is refused with its path', () => {
  const file = join(dir, 'prefix.yaml');
  writeFileSync(
    file,
    'routers:\n  edge:\n    interfaces:\n      eth0: { driver: afpacket, device: veth0, addresses: [10.1.0.1/24] }\n    routes:\n      - { prefix: 10.99.0.1/16, via: 10.1.0.2 }\n',
  );
  const r = nexthop('vr', '--config', file, '--run-dir', dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /routers\.edge\.routes\.0\.prefix/);
  assert.match(r.stderr, /host bits/);
});

test('a missing config file is one clear line', () => {
  const r = nexthop('vr', '--config', join(dir, 'nope.yaml'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot read .*nope\.yaml: ENOENT/);
});

test('show: a VR that is not running, and something that cannot be shown', () => {
  const none = nexthop('show', 'routes', '--vr', 'ghost', '--run-dir', dir);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /VR 'ghost': no VR is listening on .*ghost\.ctl/);
  const bad = nexthop('show', 'flowers', '--vr', 'ghost', '--run-dir', dir);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /cannot show 'flowers': choose one of vrs, interfaces, routes, arp, neighbors, sockets, counters/,
  );
});

test('usage errors exit 2 and say what is missing', () => {
  const r = nexthop('show', 'routes', '--run-dir', dir);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /needs --vr NAME when nexthopd is not running/);
  const capture = nexthop('capture', '--vr', 'red', '-w', 'x.pcap', '--run-dir', dir);
  assert.equal(capture.code, 2);
  assert.match(capture.stderr, /--interface/);
});

test('--version names nexthop, its version and the Node.js it runs on; nexthopd says the same', () => {
  const r = nexthop('--version');
  assert.equal(r.code, 0);
  assert.match(r.stdout.trim(), /^nexthop \d+\.\d+\.\d+ \(node v24\.\d+\.\d+, linux x64\)$/);
  const d = spawnSync(join(import.meta.dirname, '../../../bin/nexthopd'), ['--version'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(d.status, 0);
  assert.match(d.stdout.trim(), /^nexthopd \d+\.\d+\.\d+ \(node v24\./);
});

test('NEXTHOP_RUN_DIR stands for --run-dir', () => {
  const runDir = join(dir, 'elsewhere');
  const r = spawnSync(NEXTHOP, ['show', 'vrs'], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, NEXTHOP_RUN_DIR: runDir },
  });
  assert.equal(r.status, 1);
  assert.ok(r.stderr.includes(`${runDir}/nexthopd.sock`), r.stderr);
});
