// The stack's own cost for the remote-socket tests of bench/exec.ts, with no I/O: two Stacks on one
// in-memory wire, A (the VR's side) with a client socket, B an echo server. Per 64-byte round trip
// (A sends, B echoes, A reads) and per connection (connect, 1 byte each way, close, both sides),
// the time spent inside A's calls (its socket calls and its receive of B's frames) and in both, and
// whether the path allocates (GC count). `node bench/stack-tcp.ts [round trips] [connections]`.
// There is no kernel figure beside it: this isolates the JS part of a VR round trip.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { EV_READABLE, Stack } from '@nexthop/stack';

const ROUND_TRIPS = Number(process.argv[2] ?? 200_000);
const CONNECTIONS = Number(process.argv[3] ?? 20_000);
const A_ADDR = 0x0a000001;
const B_ADDR = 0x0a000002;
const PORT = 7777;

let now = 1;
/** Frames in flight: [to, copy] (a wire copies; the stacks rewrite their buffers). */
const wire: { to: Stack; frame: Uint8Array; len: number }[] = [];
const pool: Uint8Array[] = [];
let aTime = 0;

function makeStack(self: number, peer: () => Stack): Stack {
  const stack = new Stack({
    seed: self,
    output: {
      transmit(_ifIndex, buf, off, len) {
        const frame = pool.pop() ?? new Uint8Array(2048);
        frame.set(buf.subarray(off, off + len), 0);
        wire.push({ to: peer(), frame, len });
      },
    },
  });
  stack.addInterface({ name: 'eth0', mac: Uint8Array.of(2, 0, 0, 0, 0, self & 0xff), mtu: 1500 });
  stack.addAddress(0, self, 24, now);
  return stack;
}

let b: Stack;
const a = makeStack(A_ADDR, () => b);
b = makeStack(B_ADDR, () => a);

/** Delivers frames until the wire is quiet; A's receive time counts as A's. */
function run(): void {
  while (wire.length > 0) {
    const { to, frame, len } = wire.shift()!;
    if (to === a) {
      const t = performance.now();
      a.receive(0, frame, 0, len, now);
      aTime += performance.now() - t;
    } else b.receive(0, frame, 0, len, now);
    pool.push(frame);
  }
}

// B: an echo server (accept, read, write back, close on EOF), driven by its socket events.
const bs = b.sockets;
const listener = bs.socket('stream');
bs.bind(listener, 0, PORT);
bs.listen(listener, 128);
const echoBuf = new Uint8Array(65536);
bs.onSocketEvent = (fd, events) => {
  if (fd === listener) {
    for (;;) {
      const c = bs.accept(listener, now);
      if (c < 0) break;
    }
    return;
  }
  if ((events & EV_READABLE) === 0) return;
  for (;;) {
    const n = bs.recv(fd, echoBuf, 0, echoBuf.length, now);
    if (n > 0) bs.send(fd, echoBuf, 0, n, now);
    else {
      if (n === 0) bs.close(fd, now);
      break;
    }
  }
};
// B's accepted sockets are readable right away when data came with the handshake's end.
const as = a.sockets;
const buf = new Uint8Array(65536);
as.onSocketEvent = () => {};

function timeA<T>(f: () => T): T {
  const t = performance.now();
  const r = f();
  aTime += performance.now() - t;
  return r;
}

function roundTrips(fd: number, n: number, size: number): void {
  for (let i = 0; i < n; i++) {
    timeA(() => as.send(fd, buf, 0, size, now));
    run();
    const got = timeA(() => as.recv(fd, buf, 0, buf.length, now));
    if (got !== size) throw new Error(`round trip ${i}: read ${got}`);
    if ((i & 1023) === 0) {
      now++;
      a.poll(now);
      b.poll(now);
      run();
    }
  }
}

function connections(n: number): void {
  for (let i = 0; i < n; i++) {
    const fd = timeA(() => as.socket('stream'));
    timeA(() => as.connect(fd, B_ADDR, PORT, now));
    run();
    timeA(() => as.send(fd, buf, 0, 1, now));
    run();
    const got = timeA(() => as.recv(fd, buf, 0, buf.length, now));
    if (got !== 1) throw new Error(`connection ${i}: read ${got}`);
    timeA(() => as.close(fd, now));
    run();
    // TIME_WAIT and the like: let timers run now and then (60 s steps: every wait expires).
    if ((i & 255) === 255) {
      now += 60_000;
      timeA(() => a.poll(now));
      b.poll(now);
      run();
    }
  }
}

let gcs = 0;
new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });

function measure(name: string, n: number, f: () => void): string {
  const g0 = gcs;
  aTime = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  f();
  const cpu = process.cpuUsage(c0);
  const wall = performance.now() - t0;
  return `| ${name} | ${((aTime * 1e3) / n).toFixed(2)} | ${((wall * 1e3) / n).toFixed(2)} | ${(((cpu.user + cpu.system) / n) | 0).toString()} | ${gcs - g0} |`;
}

const fd = as.socket('stream');
as.connect(fd, B_ADDR, PORT, now);
run();
roundTrips(fd, 20_000, 64); // warm-up
const rr = measure(`TCP 64 B round trip (${ROUND_TRIPS})`, ROUND_TRIPS, () =>
  roundTrips(fd, ROUND_TRIPS, 64),
);
as.close(fd, now);
run();
connections(Math.min(CONNECTIONS, 5_000)); // warm-up
const crr = measure(`TCP connect + 1 B each way + close (${CONNECTIONS})`, CONNECTIONS, () =>
  connections(CONNECTIONS),
);
await new Promise((r) => setTimeout(r, 50));
console.log('| per operation | A (VR side) µs | both stacks, wall µs | process CPU µs | GCs |');
console.log('|---|---|---|---|---|');
console.log(rr);
console.log(crr);
