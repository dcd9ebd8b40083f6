// A Node program using @nexthop/rsock-client, run by tests/integration/rsock-client.test.ts in the router
// namespace (or as another uid). `node rsock-program.ts <scenario> <vr> <run-dir> [args…]`; it prints
// one JSON object per line: results, and `{ "ready": … }` when a background scenario is set up.
import { once } from 'node:events';
import net from 'node:net';
import { connect, createServer, createSocket, type SocketError } from '@nexthop/rsock-client';

const [scenario, vr, runDir, ...args] = process.argv.slice(2) as [string, string, string, ...string[]];
const where = { vr, runDir };
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const t0 = Date.now();

function failure(e: unknown): { code: string; message: string } {
  const err = e as SocketError;
  return { code: err.code, message: err.message };
}

/** Writes `text`, half-closes, and resolves with everything read until end of stream. */
function exchange(s: net.Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      got += d;
    });
    s.on('end', () => resolve(got));
    s.on('error', reject);
    s.end(text);
  });
}

async function both(h2Port: number): Promise<void> {
  // A kernel TCP server and client on loopback, in the same program as the VR socket.
  const kernelServer = net.createServer({ allowHalfOpen: true }, (s) => {
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      got += d;
    });
    s.on('end', () => s.end(`kernel-echo:${got}`));
  });
  kernelServer.listen(0, '127.0.0.1');
  await once(kernelServer, 'listening');
  const kport = (kernelServer.address() as net.AddressInfo).port;
  const vrSocket = connect({ ...where, host: '10.2.0.2', port: h2Port, allowHalfOpen: true });
  const kernelSocket = net.connect({ host: '127.0.0.1', port: kport, allowHalfOpen: true });
  await Promise.all([once(vrSocket, 'connect'), once(kernelSocket, 'connect')]);
  const payload = 'x'.repeat(200_000);
  const [vrEcho, kernelEcho] = await Promise.all([
    exchange(vrSocket, payload),
    exchange(kernelSocket, 'hello kernel'),
  ]);
  // The kernel of this namespace has no route to h2: only the VR reaches it.
  const direct = await new Promise<string>((resolve) => {
    const k = net.connect({ host: '10.2.0.2', port: h2Port });
    k.on('connect', () => resolve('connected'));
    k.on('error', (e: SocketError) => resolve(e.code));
  });
  kernelServer.close();
  out({
    vrEchoOk: vrEcho === payload,
    vrEchoLength: vrEcho.length,
    kernelEcho,
    vrLocal: `${vrSocket.localAddress}`,
    vrRemote: `${vrSocket.remoteAddress}:${vrSocket.remotePort}`,
    kernelDirectToH2: direct,
  });
}

async function server(port: number): Promise<void> {
  const srv = createServer({ ...where, allowHalfOpen: true }, (s) => {
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      got += d;
    });
    s.on('end', () => {
      s.end(`vr-server:${got}`);
      out({ accepted: `${s.remoteAddress}`, got });
      srv.close();
    });
  });
  srv.on('error', (e) => {
    out({ error: failure(e) });
    process.exit(1);
  });
  srv.listen(port, () => out({ ready: srv.address() }));
}

/** A dual-stack server on [::]: takes `count` connections, echoing each peer as Node names it. */
async function dualStack(port: number, count: number): Promise<void> {
  let left = count;
  const srv = createServer({ ...where, allowHalfOpen: true }, (s) => {
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      got += d;
    });
    s.on('end', () => {
      s.end(`dual:${s.remoteFamily} ${s.remoteAddress}`);
      out({ accepted: s.remoteAddress, family: s.remoteFamily, got });
      if (--left === 0) srv.close();
    });
  });
  srv.on('error', (e) => {
    out({ error: failure(e) });
    process.exit(1);
  });
  srv.listen(port, '::', () => out({ ready: srv.address() }));
}

async function udp(port: number, h2Port: number): Promise<void> {
  const s = createSocket({ ...where, type: 'udp4' });
  s.on('error', (e) => out({ error: failure(e) }));
  let answered = 0;
  let pong = '';
  s.on('message', (msg, rinfo) => {
    if (rinfo.port === h2Port) {
      pong = `${msg} from ${rinfo.address}:${rinfo.port}`;
    } else {
      s.send(`re:${msg}`, rinfo.port, rinfo.address);
      answered++;
      out({ answered: `${msg} from ${rinfo.address}` });
    }
    if (pong !== '' && answered > 0) {
      out({ pong });
      s.close();
    }
  });
  s.bind(port, () => {
    out({ ready: s.address() });
    s.send('ping', h2Port, '10.2.0.2');
  });
}

/** Sockets until one is refused; then holds them until killed. */
function quota(): void {
  const held: ReturnType<typeof createSocket>[] = [];
  const next = () => {
    const s = createSocket({ ...where, type: 'udp4' });
    held.push(s);
    s.once('error', (e) => out({ opened: held.length - 1, refused: failure(e) }));
    s.bind(0, next);
  };
  next();
  setInterval(() => {}, 1 << 30);
}

/** Listens on a port; prints whether the VR let this process have it. */
async function listenOn(port: number): Promise<void> {
  const srv = createServer(where, () => {});
  const outcome = await new Promise<Record<string, unknown>>((resolve) => {
    srv.once('error', (e) => resolve({ error: failure(e) }));
    srv.listen(port, () => resolve({ listening: port }));
  });
  out(outcome);
  srv.close();
}

/** A single connect; prints the outcome. */
async function tryConnect(port: number): Promise<void> {
  const s = connect({ ...where, host: '10.2.0.2', port });
  try {
    await once(s, 'connect');
    out({ echo: await exchange(s, 'hi') });
  } catch (e) {
    out({ error: failure(e) });
  }
}

/**
 * Blocked operations of every kind, then the VR is killed: each must fail promptly. Then new sockets
 * are tried until the VR is back.
 */
async function vrKill(h2Port: number): Promise<void> {
  const report = (what: string) => (e?: unknown) =>
    out({ what, code: e === undefined ? 'close' : (e as SocketError).code, ms: Date.now() - t0 });
  const tcp = connect({ ...where, host: '10.2.0.2', port: h2Port });
  await once(tcp, 'connect');
  tcp.write('before the kill');
  await once(tcp, 'data');
  const u = createSocket({ ...where, type: 'udp4' });
  await new Promise<void>((resolve) => u.bind(0, resolve));
  const srv = createServer(where, () => {});
  await new Promise<void>((resolve) => srv.listen(7100, resolve));
  // 10.3.0.0/24 is routed to h2, which does not forward: the SYN is dropped, the connect waits.
  const pending = connect({ ...where, host: '10.3.0.9', port: 80 });
  tcp.on('error', report('tcp-error'));
  tcp.on('close', () => report('tcp')());
  u.on('error', report('udp'));
  srv.on('error', report('server'));
  pending.on('error', report('pending-connect'));
  pending.on('connect', () => out({ what: 'pending-connect', code: 'connected?!' }));
  out({ ready: true });
  // Waits for the VR's death (a write would fail too: keep writing so that EPIPE shows up).
  const writer = setInterval(() => {
    if (!tcp.destroyed) tcp.write('x');
  }, 20);
  // (Not events.once: it rejects on 'error', which is expected here.)
  const closed = (e: { once(name: 'close', f: () => void): unknown }) =>
    new Promise<void>((resolve) => e.once('close', resolve));
  await Promise.all([closed(tcp), closed(u), closed(srv), closed(pending)]);
  clearInterval(writer);
  out({ allFailed: Date.now() - t0 });
  // The VR is restarted by the test: new sockets work again.
  for (;;) {
    const s = connect({ ...where, host: '10.2.0.2', port: h2Port });
    const r = await Promise.race([
      once(s, 'connect').then(() => null),
      new Promise<SocketError>((resolve) => s.once('error', resolve)),
    ]);
    if (r === null) {
      out({ again: await exchange(s, 'after the restart') });
      return;
    }
    out({ meanwhile: r.code });
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

switch (scenario) {
  case 'both':
    await both(Number(args[0]));
    break;
  case 'server':
    await server(Number(args[0]));
    break;
  case 'udp':
    await udp(Number(args[0]), Number(args[1]));
    break;
  case 'dual':
    await dualStack(Number(args[0]), Number(args[1]));
    break;
  case 'quota':
    quota();
    break;
  case 'connect':
    await tryConnect(Number(args[0]));
    break;
  case 'listen':
    await listenOn(Number(args[0]));
    break;
  case 'vr-kill':
    await vrKill(Number(args[0]));
    break;
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
