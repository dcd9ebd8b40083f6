// Issue 5: configuration changes through nexthopd — validate as a whole, apply only the difference
// (a running VR keeps its process and its traffic), reject bad configs without touching anything,
// roll back, and keep the last applied config across a restart of nexthopd.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Netns, parsePing, uniqueToken, vethPair, waitFor } from '@nexthop/netns';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import {
  pingOnce,
  type RunningDaemon,
  startNexthopd,
  type TwoVrTopology,
  tempFile,
  twoVrConfig,
  twoVrTopology,
  vrStatus,
} from '../lib/nexthopd.ts';

useNetnsCleanup();

/** blue's h2 also answers for 10.99.1.1, reachable through blue only with this route. */
const BLUE_ROUTE = 'routes:\n- { prefix: 10.99.0.0/16, via: 10.2.0.2 }';

describe('nexthopd applies configuration changes', () => {
  let topo: TwoVrTopology;
  let daemon: RunningDaemon;
  let base: string;
  let withRoute: string;

  before(async () => {
    topo = await twoVrTopology();
    await topo.blue.h2.execOk('ip', ['addr', 'add', '10.99.1.1/32', 'dev', 'lo']);
    base = twoVrConfig(topo);
    withRoute = twoVrConfig(topo, { blue: BLUE_ROUTE });
    daemon = await startNexthopd(topo.r, base);
  });

  after(async () => {
    await daemon?.stop();
    daemon?.removeDirs();
    await topo?.destroy();
  });

  /** Applies `text` while 40 pings cross blue; returns the ping summary and the CLI result. */
  async function applyDuringPing(text: string) {
    const ping = topo.blue.h1.exec('ping', ['-n', '-c', '40', '-i', '0.05', '-W', '2', '10.2.0.2'], {
      timeoutMs: 30_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 400));
    const applied = await daemon.cli(['config', 'apply', tempFile('new.yaml', text)]);
    const done = await ping;
    return { ping: parsePing(done.stdout), pingText: done.stdout, applied };
  }

  test('adding a static route to blue takes effect without restarting blue; removing it too', async () => {
    const blue = await vrStatus(daemon, 'blue');
    const red = await vrStatus(daemon, 'red');
    assert.equal(await pingOnce(topo.blue, '10.99.1.1'), false, 'no route yet');

    const diff = await daemon.cli(['config', 'diff', tempFile('new.yaml', withRoute)]);
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, /blue.*route 10\.99\.0\.0\/16 via 10\.2\.0\.2/);
    assert.doesNotMatch(diff.stdout, /red/);

    const add = await applyDuringPing(withRoute);
    assert.equal(add.applied.code, 0, add.applied.stderr);
    assert.equal(add.ping.received, 40, `pings through blue lost during the apply:\n${add.pingText}`);
    assert.equal(await pingOnce(topo.blue, '10.99.1.1', '1'), true, 'the new route works');
    assert.equal((await vrStatus(daemon, 'blue')).pid, blue.pid, 'blue kept its process');
    assert.equal((await vrStatus(daemon, 'red')).pid, red.pid, 'red kept its process');
    const routes = (await daemon.cliJson(['show', 'routes', '--vr', 'blue', '-j'])) as { prefix: string }[];
    assert.ok(routes.some((r) => r.prefix === '10.99.0.0/16'));
    assert.equal(readFileSync(daemon.configPath, 'utf8'), withRoute, 'the applied config is persisted');

    const remove = await applyDuringPing(base);
    assert.equal(remove.applied.code, 0, remove.applied.stderr);
    assert.equal(remove.ping.received, 40, `pings through blue lost during the apply:\n${remove.pingText}`);
    assert.equal(await pingOnce(topo.blue, '10.99.1.1'), false, 'the route is gone');
    assert.equal((await vrStatus(daemon, 'blue')).pid, blue.pid, 'blue kept its process');
  });

  test('an interface and an address added to blue and removed again, blue keeps running', async () => {
    // h3 hangs off blue on a third veth pair.
    const h3 = await Netns.create('blue3');
    const token = uniqueToken();
    const r3If = `br3-${token}`;
    await vethPair(h3, `bh3-${token}`, topo.r, r3If, { disableIpv6: true });
    await h3.execOk('ip', ['addr', 'add', '10.3.0.2/24', 'dev', `bh3-${token}`]);
    await h3.execOk('ip', ['route', 'add', 'default', 'via', '10.3.0.1']);
    const blue = await vrStatus(daemon, 'blue');
    const eth2 = `eth2: { driver: afpacket, device: ${r3If}, addresses: [10.3.0.1/24] }`;
    const withEth2 = base.replace(/( {2}blue:\n {4}interfaces:\n)/, `$1      ${eth2}\n`);
    assert.notEqual(withEth2, base);
    const add = await applyDuringPing(withEth2);
    assert.equal(add.applied.code, 0, add.applied.stderr);
    assert.match(add.applied.stdout, /\+ blue: interface eth2/);
    assert.equal(add.ping.received, 40, `pings through blue lost while eth2 was added:\n${add.pingText}`);
    assert.equal(await pingOnce(topo.blue, '10.3.0.2', '1'), true, 'h1 reaches h3 through the new interface');
    // A second address on eth1 answers pings at once.
    const withAddress = withEth2.replace(
      new RegExp(`(device: ${topo.blue.r2If}, addresses: \\[10\\.2\\.0\\.1/24)`),
      '$1, 10.2.0.99/24',
    );
    const addr = await daemon.cli(['config', 'apply', tempFile('a.yaml', withAddress)]);
    assert.equal(addr.code, 0, addr.stderr);
    assert.equal(await pingOnce(topo.blue, '10.2.0.99', '1'), true, 'the added address answers');
    const remove = await applyDuringPing(base);
    assert.equal(remove.applied.code, 0, remove.applied.stderr);
    assert.equal(
      remove.ping.received,
      40,
      `pings through blue lost while eth2 was removed:\n${remove.pingText}`,
    );
    assert.equal(await pingOnce(topo.blue, '10.3.0.2'), false, 'eth2 is gone');
    assert.equal(await pingOnce(topo.blue, '10.2.0.99'), false, 'the address is gone');
    assert.equal((await vrStatus(daemon, 'blue')).pid, blue.pid, 'blue kept its process throughout');
    await h3.destroy();
  });

  test("blue's scheduling priority follows its config, in place", async () => {
    const blue = await vrStatus(daemon, 'blue');
    const niceOf = (pid: number) => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Field 19 of proc(5) stat; the fields after the command name start at field 3.
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    };
    assert.equal(niceOf(blue.pid!), 0);
    const nicer = base.replace('  blue:\n', '  blue:\n    nice: -5\n');
    const applied = await daemon.cli(['config', 'apply', tempFile('n.yaml', nicer)]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /~ blue: nice 0 -> -5/);
    assert.equal(niceOf(blue.pid!), -5);
    const back = await daemon.cli(['config', 'apply', tempFile('b.yaml', base)]);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(niceOf(blue.pid!), 0);
    assert.equal((await vrStatus(daemon, 'blue')).pid, blue.pid);
  });

  test('invalid configs are rejected with the problem named and nothing changes', async () => {
    const running = (await daemon.cliJson(['config', 'show', '-j'])) as { text: string; version: number };
    const pids = [(await vrStatus(daemon, 'red')).pid, (await vrStatus(daemon, 'blue')).pid];
    const cases: [string, string, RegExp][] = [
      ['unknown field', twoVrConfig(topo, { blue: 'colour: blue' }), /routers\.blue\.colour.*unknown/i],
      [
        'bad prefix',
        twoVrConfig(topo, { blue: 'routes:\n- { prefix: 10.99.0.0/33, via: 10.2.0.2 }' }),
        /routers\.blue\.routes\.0\.prefix/,
      ],
      [
        'duplicate address',
        base.replace(/(blue:[\s\S]*?eth1:[^\n]*addresses: \[)10\.2\.0\.1\/24/, '$110.1.0.1/24'),
        /routers\.blue\.interfaces\.eth1\.addresses\.0.*10\.1\.0\.1/,
      ],
      [
        'missing device',
        base.replace(topo.blue.r2If, 'nosuchdev0'),
        /routers\.blue\.interfaces\.eth1\.device.*nosuchdev0.*does not exist/,
      ],
    ];
    for (const [what, text, expected] of cases) {
      assert.notEqual(text, base, `${what}: the test config differs from the running one`);
      const file = tempFile('bad.yaml', text);
      const check = await daemon.cli(['config', 'check', file]);
      assert.equal(check.code, 1, `${what}: check accepted it`);
      assert.match(check.stderr + check.stdout, expected, what);
      const apply = await daemon.cli(['config', 'apply', file]);
      assert.equal(apply.code, 1, `${what}: apply accepted it`);
      assert.match(apply.stderr, expected, what);
      // The error names the file and line, like a compiler.
      assert.match(apply.stderr, new RegExp(`${file.replace(/[/.]/g, '\\$&')}:\\d+: `), what);
    }
    const now = (await daemon.cliJson(['config', 'show', '-j'])) as { text: string; version: number };
    assert.deepEqual(now, running, 'the running config is unchanged');
    assert.deepEqual([(await vrStatus(daemon, 'red')).pid, (await vrStatus(daemon, 'blue')).pid], pids);
    assert.equal(await pingOnce(topo.blue), true);
  });

  test('rollback returns to the previous config', async () => {
    const start = (await daemon.cliJson(['config', 'show', '-j'])) as { text: string; version: number };
    const apply = await daemon.cli(['config', 'apply', tempFile('new.yaml', withRoute)]);
    assert.equal(apply.code, 0, apply.stderr);
    assert.equal(await pingOnce(topo.blue, '10.99.1.1', '1'), true);
    const rollback = await daemon.cli(['config', 'rollback']);
    assert.equal(rollback.code, 0, rollback.stderr);
    assert.match(rollback.stdout, /route 10\.99\.0\.0\/16/);
    const now = (await daemon.cliJson(['config', 'show', '-j'])) as { text: string };
    assert.equal(now.text, start.text);
    assert.equal(await pingOnce(topo.blue, '10.99.1.1'), false, 'the rolled-back route is gone');
    assert.equal(readFileSync(daemon.configPath, 'utf8'), start.text);
  });

  test('adding and removing a VR leaves the others running', async () => {
    const pids = [(await vrStatus(daemon, 'red')).pid, (await vrStatus(daemon, 'blue')).pid];
    // green gets a TAP device of its own (created by the VR): adding it touches nothing else.
    const tap = `gt-${process.pid % 100000}`;
    const withGreen = `${base}  green:\n    interfaces:\n      t0: { driver: tap, device: ${tap}, addresses: [10.77.0.1/24] }\n`;
    const add = await daemon.cli(['config', 'apply', tempFile('g.yaml', withGreen)]);
    assert.equal(add.code, 0, add.stderr);
    await waitFor(async () => (await vrStatus(daemon, 'green')).state === 'running', {
      timeoutMs: 10_000,
      what: 'green to run',
    });
    const remove = await daemon.cli(['config', 'apply', tempFile('b.yaml', base)]);
    assert.equal(remove.code, 0, remove.stderr);
    assert.equal((await daemon.api('GET', '/vrs/green')).status, 404);
    assert.deepEqual([(await vrStatus(daemon, 'red')).pid, (await vrStatus(daemon, 'blue')).pid], pids);
  });

  test('the last applied config survives a restart of nexthopd; SIGHUP re-reads the file', async () => {
    const apply = await daemon.cli(['config', 'apply', tempFile('new.yaml', withRoute)]);
    assert.equal(apply.code, 0, apply.stderr);
    await daemon.stop();
    daemon = await startNexthopd(topo.r, null, { base: daemon.base });
    const now = (await daemon.cliJson(['config', 'show', '-j'])) as { text: string };
    assert.equal(now.text, withRoute);
    assert.equal(await pingOnce(topo.blue, '10.99.1.1', '1'), true);

    // An operator edits the file and sends SIGHUP.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(daemon.configPath, base);
    process.kill(daemon.pid, 'SIGHUP');
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await pingOnce(topo.blue, '10.99.1.1'))) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(await pingOnce(topo.blue, '10.99.1.1'), false, 'SIGHUP applied the edited file');
  });
});
