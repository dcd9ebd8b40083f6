// The README's first command, run as a newcomer would: `bin/nexthop demo`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { listNamespaces } from '@nexthop/netns';

const NEXTHOP = new URL('../../bin/nexthop', import.meta.url).pathname;

test('bin/nexthop demo runs a VR under nexthopd, pings and traces across it and leaves nothing behind', async () => {
  const child = spawn(NEXTHOP, ['demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGINT'), 90_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  assert.equal(code, 0, out);
  assert.match(out, /^edge +running +\d+ +\d+s +0 +2 +-$/m, 'nexthopd runs the VR');
  assert.match(out, /3 packets transmitted, 3 received, 0% packet loss/);
  assert.match(out, /^ 1 {2}10\.1\.0\.1 /m);
  assert.match(out, /^ 2 {2}10\.2\.0\.2 /m);
  assert.match(out, /^forwarded +ipv4 +[1-9]\d*$/m, 'the VR counted what it forwarded');
  assert.match(out, /demo: packets crossed the VR both ways/);
  const left = (await listNamespaces()).filter((n) => n.includes(`-${child.pid}-`));
  assert.deepEqual(left, [], 'the demo removed its namespaces');
});
