// A TAP interface reconfigured in place: a TAP device takes one owner at a time, so the VR lets the
// old descriptor go before it opens the device again (the kernel answers EBUSY otherwise).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Netns, parsePing } from '@nexthop/netns';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

const config = (mac: string) => `routers:
  t:
    interfaces:
      eth0: { driver: tap, device: nhtap0, addresses: [10.9.0.1/24], mac: ${mac} }
`;

let ns: Netns;
let vr: RunningVr;

before(async () => {
  ns = await Netns.create('tap');
  // A persistent TAP device, as an operator makes one: it outlives the VR's descriptor, and the
  // kernel side (the host that talks to the VR through it) keeps its address when the VR reopens it.
  await ns.execOk('ip', ['tuntap', 'add', 'dev', 'nhtap0', 'mode', 'tap']);
  await ns.execOk('ip', ['addr', 'add', '10.9.0.2/24', 'dev', 'nhtap0']);
  await ns.execOk('ip', ['link', 'set', 'nhtap0', 'up']);
  vr = await startVr(ns, 't', config('02:00:00:00:09:01'));
});

after(async () => {
  await vr?.stop();
  await ns?.destroy();
});

test('a TAP interface whose MAC changes is reopened in place and keeps working', async () => {
  const first = await ns.exec('ping', ['-n', '-c', '2', '-i', '0.1', '-W', '2', '10.9.0.1'], {
    timeoutMs: 10_000,
  });
  assert.equal(parsePing(first.stdout).received, 2, first.stdout);
  const { request } = await import('@nexthop/control');
  const applied = (await request(vr.control, 'config.apply', { text: config('02:00:00:00:09:02') })) as {
    changes: string[];
  };
  assert.deepEqual(applied.changes, ['interface eth0 replaced (tap:nhtap0)']);
  const rows = (await vr.call('show.interfaces')) as { name: string; mac: string }[];
  assert.equal(rows.find((r) => r.name === 'eth0')?.mac, '02:00:00:00:09:02');
  // The host learns the new MAC from the gratuitous ARP the VR sends for its address.
  const after = await ns.exec('ping', ['-n', '-c', '2', '-i', '0.1', '-W', '2', '10.9.0.1'], {
    timeoutMs: 10_000,
  });
  assert.equal(parsePing(after.stdout).received, 2, after.stdout);
});
