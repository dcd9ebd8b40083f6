// Calibration for the remote-socket figures of bench/exec.ts: a 64-byte ping-pong over a Unix
// socketpair, the echo side once in C (epoll_wait, recv, write), once in Node with the addon's
// uv_poll readiness watch and non-blocking read and write, and once with the pair in the addon's
// epoll set (unixPollSet: one epoll_wait more per wakeup) — the VR relay's own calls, one wakeup per
// round trip. The echo's CPU per round trip (user / system, /proc) is what one wakeup and two syscalls
// cost on this machine, in C and through Node and N-API: the floor under each of the VR's two
// wakeups per relayed request/response.
// Then a pair's life as the remote socket server sees it in a connection (issue 9), in this process,
// one pair at a time: make the pair, watch its end (hang-up and readable), one byte from the app end,
// woken, read; the app end closed, woken, end of file, "hung up?", closed. Once with a uv_poll watch
// per pair (unixWatch: the server before its pair set) and once with the addon's epoll set
// (unixPollSet, whose POLLHUP bit answers "hung up?"), alternating; CPU (user + system) and time per
// pair. `node bench/pair-echo.ts [round trips, default 100000] [pairs per run, default 20000]`.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadUnix,
  POLL_ADD,
  UNIX_SOCK_STREAM,
  type UnixWatch,
  WATCH_HANGUP_ONLY,
  WATCH_HUNG_UP,
  WATCH_READABLE,
} from '@nexthop/native';
import { CLK_TCK, processTicksSplit } from './lib/proc.ts';

const N = Number(process.argv[2] ?? 100_000);
if (!(N >= 1000 && N <= 10_000_000)) throw new Error('round trips must be in [1000, 1e7]');
const PAIRS = Number(process.argv[3] ?? 20_000);
if (!(PAIRS >= 100 && PAIRS <= 10_000_000)) throw new Error('pairs must be in [100, 1e7]');

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

async function nodeEcho(withSet = false): Promise<Row> {
  const [ours, app] = pair();
  const buf = new Uint8Array(65536);
  const echo = () => {
    const r = u.unixRead(ours, buf, 0, buf.length);
    if (r > 0) u.unixWrite(ours, buf, 0, r);
  };
  const ev = new Float64Array(128);
  let watch: UnixWatch | null = null;
  const set = withSet
    ? u.unixPollSet(ev, (n) => {
        for (let k = 0; k < n; k++) if (ev[2 * k] === 1) echo();
      })
    : null;
  if (set !== null) u.unixPollCtl(set, POLL_ADD, ours, 1, WATCH_READABLE);
  else {
    watch = u.unixWatch(ours, echo);
    u.unixWatchEvents(watch, WATCH_READABLE);
  }
  const before = processTicksSplit(process.pid);
  const r = await runClient(app);
  const after = processTicksSplit(process.pid);
  if (watch !== null) u.unixWatchClose(watch);
  if (set !== null) u.unixPollSetClose(set);
  u.unixClose(ours);
  u.unixClose(app);
  return {
    echo: withSet
      ? 'Node (unixPollSet batch: epoll_wait, callback, unixRead, unixWrite)'
      : 'Node (unixWatch callback, unixRead, unixWrite)',
    us: r.us_per_round_trip,
    user: ((after.mainUser - before.mainUser) * 1e6) / CLK_TCK / N,
    sys: ((after.mainSys - before.mainSys) * 1e6) / CLK_TCK / N,
  };
}

type Watching = 'uv_poll per pair' | 'pair set';

/** PAIRS pair lives, one after the other (see the top); CPU and wall µs per pair. */
function lifecycles(kind: Watching): Promise<{ cpu: number; wall: number }> {
  const buf = new Uint8Array(64);
  const one = new Uint8Array(1);
  const ev = new Float64Array(128);
  const pairOut = new Int32Array(2);
  const events = WATCH_READABLE | WATCH_HANGUP_ONLY;
  return new Promise((resolve, reject) => {
    let i = 0;
    let id = 0;
    let ours = -1;
    let app = -1;
    let wrote = false;
    let watch: UnixWatch | null = null;
    const set =
      kind === 'pair set'
        ? u.unixPollSet(ev, (n) => {
            for (let k = 0; k < n; k++) if (ev[2 * k] === id) onReady(ev[2 * k + 1]!);
          })
        : null;
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const start = (): void => {
      if (i++ === PAIRS) {
        const cpu = process.cpuUsage(cpu0);
        const wall = Number(process.hrtime.bigint() - t0) / 1000;
        if (set !== null) u.unixPollSetClose(set);
        resolve({ cpu: (cpu.user + cpu.system) / PAIRS, wall: wall / PAIRS });
        return;
      }
      if (u.unixSocketPair(UNIX_SOCK_STREAM, pairOut) !== 0) return reject(new Error('socketpair'));
      ours = pairOut[0]!;
      app = pairOut[1]!;
      id++;
      if (set !== null) u.unixPollCtl(set, POLL_ADD, ours, id, events);
      else {
        watch = u.unixWatch(ours, onReady);
        u.unixWatchEvents(watch, events);
      }
      wrote = true;
      u.unixWrite(app, one, 0, 1);
    };
    const onReady = (ready: number): void => {
      const r = u.unixRead(ours, buf, 0, buf.length);
      if (wrote) {
        if (r !== 1) return;
        wrote = false;
        u.unixClose(app);
        return;
      }
      if (r !== 0) return;
      const hungUp = (set !== null && (ready & WATCH_HUNG_UP) !== 0) || u.unixHungUp(ours) === 1;
      if (!hungUp) return reject(new Error('end of file without a hang-up'));
      if (set !== null) u.unixPollClose(set, ours);
      else {
        u.unixWatchClose(watch!);
        u.unixClose(ours);
      }
      start();
    };
    start();
  });
}

try {
  const lives: Record<Watching, { cpu: number[]; wall: number[] }> = {
    'uv_poll per pair': { cpu: [], wall: [] },
    'pair set': { cpu: [], wall: [] },
  };
  await lifecycles('pair set'); // warm-up
  for (let round = 0; round < 6; round++) {
    const order: Watching[] =
      round % 2 === 0 ? ['uv_poll per pair', 'pair set'] : ['pair set', 'uv_poll per pair'];
    for (const kind of order) {
      const r = await lifecycles(kind);
      lives[kind].cpu.push(r.cpu);
      lives[kind].wall.push(r.wall);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  console.log(
    `A pair's life (made, watched, 1 byte, woken, closed by the app, woken, hung up, closed), ${PAIRS.toLocaleString('en-US')} pairs per run, 6 alternating runs each; ${new Date().toISOString()}\n`,
  );
  console.log('| watching | CPU µs per pair, median (runs) | µs per pair, median |');
  console.log('|---|---|---|');
  for (const kind of ['uv_poll per pair', 'pair set'] as const)
    console.log(
      `| ${kind} | ${median(lives[kind].cpu).toFixed(2)} (${lives[kind].cpu.map((x) => x.toFixed(1)).join(', ')}) | ${median(lives[kind].wall).toFixed(2)} |`,
    );
  console.log('');
  const rows: Row[] = [];
  for (let round = 0; round < 3; round++) rows.push(await cEcho(), await nodeEcho(), await nodeEcho(true));
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
