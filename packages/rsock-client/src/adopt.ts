// Puts a descriptor under a net.Socket that already exists. connect() must hand back its socket at once,
// as net.connect() does, but the descriptor only arrives with the VR's SOCKET_OK; node:net can wrap a
// descriptor only in its constructor. So a throwaway socket wraps it and its handle moves over, which
// is what Socket.prototype.connect() does with its own handle (initSocketHandle: the handle's owner
// and the async id). Node's internals, checked here and by the unit tests on every run.
import net from 'node:net';

type Internals = Record<string | symbol, unknown>;

function symbolNamed(o: object, description: string): symbol {
  const s = Object.getOwnPropertySymbols(o).find((x) => x.description === description);
  if (s === undefined) throw new Error(`rsock-client: node:net internals changed (no ${description})`);
  return s;
}

/**
 * Gives `socket` (created without a handle, `connecting` true) the stream descriptor `fd` and
 * completes its connect: 'connect' and 'ready' are emitted and writes queued meanwhile go out.
 */
export function adoptDescriptor(socket: net.Socket, fd: number): void {
  const donor = new net.Socket({
    fd,
    readable: true,
    writable: true,
    manualStart: true,
  } as net.SocketConstructorOpts);
  const d = donor as unknown as Internals;
  const s = socket as unknown as Internals;
  const handle = d['_handle'] as Internals | null;
  if (handle === null || typeof handle !== 'object') throw new Error('rsock-client: no handle to adopt');
  const owner = symbolNamed(handle, 'owner_symbol');
  const asyncId = symbolNamed(donor, 'async_id_symbol');
  d['_handle'] = null;
  s['_handle'] = handle;
  handle[owner] = socket;
  s[asyncId] = d[asyncId];
  (socket as { connecting: boolean }).connecting = false;
  socket.emit('connect');
  socket.emit('ready');
  if (!socket.isPaused()) socket.read(0);
}

/** An address as node:net reports it. */
export interface NetAddress {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

/** Sets the addresses node:net would read from a TCP handle (a Unix stream pair has none). */
export function setAddresses(socket: net.Socket, local: NetAddress | null, remote: NetAddress | null): void {
  const set = (key: string, value: unknown) =>
    Object.defineProperty(socket, key, { value, configurable: true, enumerable: false, writable: true });
  if (local !== null) {
    set('localAddress', local.address);
    set('localPort', local.port);
    set('localFamily', local.family);
  }
  if (remote !== null) {
    set('remoteAddress', remote.address);
    set('remotePort', remote.port);
    set('remoteFamily', remote.family);
  }
}
