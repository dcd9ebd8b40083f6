// Calibration for the remote-socket figures of bench/exec.ts: a 64-byte ping-pong over a Unix
// socketpair, the echo side once in C (epoll_wait, recv, write) and once in Node with the addon's
// readiness watch and non-blocking read and write — the VR relay's own calls, one wakeup per round
// trip. The echo's CPU per round trip (user / system, /proc) is what one wakeup and two syscalls
// cost on this machine, in C and through Node and N-API: the floor under each of the VR's two
// wakeups per relayed request/response. `node bench/pair-echo.ts [round trips, default 100000]`.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadUnix, UNIX_SOCK_STREAM, WATCH_READABLE } from '@nexthop/native';
import { CLK_TCK, processTicksSplit } from './lib/proc.ts';

const N = Number(process.argv[2] ?? 100_000);
if (!(N >= 1000 && N <= 10_000_000)) throw new Error('round trips must be in [1000, 1e7]');

const dir = mkdtempSync(join(tmpdir(), 'nexthop-pair-echo-'));
const bin = join(dir, 'pair-echo');
execFileSync('cc', [
  '-std=c11',
  '-D_GNU_SOURCE',
  '-O2',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-o',
  bin,
  join(import.meta.dirname, 'c/pair-echo.c'),
]);
const u = loadUnix();

/** Runs the client on `appFd` (as its fd 3) to the end; its JSON line. */
function runClient(appFd: number): Promise<{ us_per_round_trip: number }> {
  const child = spawn(bin, ['client', String(N)], { stdio: ['ignore', 'pipe', 'inherit', appFd] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`client exit ${code}`)),
    ),
  );
}

function pair(): [number, number] {
  const out = new Int32Array(2);
  const r = u.unixSocketPair(UNIX_SOCK_STREAM, out);
  if (r < 0) throw new Error(`socketpair: ${r}`);
  return [out[0]!, out[1]!];
}

interface Row {
  echo: string;
  us: number;
  user: number;
  sys: number;
}

async function cEcho(): Promise<Row> {
  const [ours, app] = pair();
  const echo = spawn(bin, ['echo'], { stdio: ['ignore', 'inherit', 'inherit', ours] });
  u.unixClose(ours);
  const before = processTicksSplit(echo.pid!);
  const r = await runClient(app);
  const after = processTicksSplit(echo.pid!);
  u.unixClose(app);
  await new Promise((resolve) => echo.once('exit', resolve));
  return {
    echo: 'C (epoll_wait, recv, write)',
    us: r.us_per_round_trip,
    user: ((after.user - before.user) * 1e6) / CLK_TCK / N,
    sys: ((after.sys - before.sys) * 1e6) / CLK_TCK / N,
  };
}

async function nodeEcho(): Promise<Row> {
  const [ours, app] = pair();
  const buf = new Uint8Array(65536);
  const watch = u.unixWatch(ours, () => {
    const r = u.unixRead(ours, buf, 0, buf.length);
    if (r > 0) u.unixWrite(ours, buf, 0, r);
  });
  u.unixWatchEvents(watch, WATCH_READABLE);
  const before = processTicksSplit(process.pid);
  const r = await runClient(app);
  const after = processTicksSplit(process.pid);
  u.unixWatchClose(watch);
  u.unixClose(ours);
  u.unixClose(app);
  return {
    echo: 'Node (unixWatch callback, unixRead, unixWrite)',
    us: r.us_per_round_trip,
    user: ((after.mainUser - before.mainUser) * 1e6) / CLK_TCK / N,
    sys: ((after.mainSys - before.mainSys) * 1e6) / CLK_TCK / N,
  };
}

try {
  const rows = [await cEcho(), await nodeEcho(), await cEcho(), await nodeEcho()];
  console.log(
    `64-byte ping-pong over a socketpair, ${N.toLocaleString('en-US')} round trips; ${new Date().toISOString()}\n`,
  );
  console.log('| echo side | µs per round trip (client) | echo CPU µs per round trip, user / system |');
  console.log('|---|---|---|');
  for (const x of rows)
    console.log(`| ${x.echo} | ${x.us.toFixed(1)} | ${x.user.toFixed(1)} / ${x.sys.toFixed(1)} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
