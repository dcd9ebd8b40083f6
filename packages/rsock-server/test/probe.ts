// A client the security tests run as another uid (setpriv): `node probe.ts PATH ACTION [ARGS…]`,
// one JSON line out. Actions:
//   hello                the HELLO's answer: {"kind", "errno"}
//   ids ID…              every request that names a socket, on each id: the errnos
//   forge                ATTACH with descriptors that are not the VR's: the errnos
//   rcvbuf BYTES         a TCP socket, SO_RCVBUF BYTES, then the value read back
import { loadUnix, UNIX_SOCK_SEQPACKET, UNIX_SOCK_STREAM } from '@nexthop/native';
import {
  AF_INET,
  IPPROTO_TCP,
  type Message,
  SO_RCVBUF,
  SOCK_STREAM,
  SOL_SOCKET,
  TCP_NODELAY,
} from '@nexthop/rsock-proto';
import { errnoOf, TestClient } from './client.ts';

type Body = Message extends infer M ? (M extends Message ? Omit<M, 'id'> : never) : never;

const [path, action, ...rest] = process.argv.slice(2);
const u = loadUnix();

function int(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
}

async function main(): Promise<unknown> {
  const { client, hello } = await TestClient.open(path!, 'probe');
  if (action === 'hello') {
    client.close();
    return { kind: hello.kind, errno: hello.kind === 'error' ? hello.errno : 0 };
  }
  if (hello.kind !== 'hello-ok') return { error: `HELLO answered ${JSON.stringify(hello)}` };
  if (action === 'ids') {
    const out: Record<string, number[]> = {};
    for (const id of rest.map(Number)) {
      const requests: Body[] = [
        { kind: 'bind', socket: id, addr: 0, port: 0 },
        { kind: 'connect', socket: id, addr: 0x0a000002, port: 9, flags: 0 },
        { kind: 'listen', socket: id, backlog: 1 },
        { kind: 'accept', socket: id, flags: 1 },
        { kind: 'shutdown', socket: id, how: 2 },
        { kind: 'getsockname', socket: id },
        { kind: 'getpeername', socket: id },
        { kind: 'setsockopt', socket: id, level: IPPROTO_TCP, name: TCP_NODELAY, value: int(1) },
        { kind: 'getsockopt', socket: id, level: SOL_SOCKET, name: SO_RCVBUF, maxLength: 4 },
        { kind: 'close', socket: id },
      ];
      out[id] = [];
      for (const r of requests) out[id]!.push(errnoOf(await client.request(r)));
    }
    client.close();
    return out;
  }
  if (action === 'forge') {
    // Descriptors this uid can make: its own pairs of both kinds, a kernel socket, a file.
    const pair = new Int32Array(2);
    const fds: number[] = [];
    u.unixSocketPair(UNIX_SOCK_STREAM, pair);
    fds.push(pair[0]!, pair[1]!);
    u.unixSocketPair(UNIX_SOCK_SEQPACKET, pair);
    fds.push(pair[0]!, pair[1]!);
    fds.push(u.unixConnect(path!));
    const errnos: number[] = [];
    for (const fd of fds) errnos.push(errnoOf(await client.request({ kind: 'attach' }, Int32Array.of(fd))));
    client.close();
    return errnos;
  }
  if (action === 'rcvbuf') {
    const s = await client.request({ kind: 'socket', family: AF_INET, type: SOCK_STREAM, protocol: 0 });
    if (s.message.kind !== 'socket-ok') return { error: JSON.stringify(s.message) };
    const id = s.message.socket;
    const set = await client.request({
      kind: 'setsockopt',
      socket: id,
      level: SOL_SOCKET,
      name: SO_RCVBUF,
      value: int(Number(rest[0])),
    });
    const got = await client.request({
      kind: 'getsockopt',
      socket: id,
      level: SOL_SOCKET,
      name: SO_RCVBUF,
      maxLength: 4,
    });
    u.unixClose(s.fd);
    client.close();
    const v = got.message.kind === 'opt-ok' ? got.message.value : new Uint8Array(4);
    return { set: errnoOf(set), value: v[0]! | (v[1]! << 8) | (v[2]! << 16) | (v[3]! << 24) };
  }
  return { error: `unknown action ${action}` };
}

main().then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stdout.write(`${JSON.stringify({ error: String(err) })}\n`);
    process.exit(1);
  },
);
