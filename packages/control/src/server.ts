import { connect, createServer, type Server, type Socket } from 'node:net';
import { listenSocketFile, type SocketFile } from './socket-file.ts';

/**
 * The VR's control socket: one JSON object per line each way. A request is
 * `{"id": 1, "method": "show.interfaces", "params": {}}`; the reply carries the same id and either
 * `result` or `error: {code, message}`. The router manager and the CLI use the same protocol.
 */
export type ControlHandler = (method: string, params: Record<string, unknown>) => unknown | Promise<unknown>;

/**
 * A line longer than this is a broken or hostile client; it is disconnected. Large enough for a
 * router's whole section with some hundred thousand static routes (`config.apply`); the socket is
 * owner-only, so only its owner can send that much.
 */
const MAX_REQUEST_BYTES = 64 << 20;

export class ControlServer {
  private readonly server: Server;
  private readonly clients = new Set<Socket>();
  private file: SocketFile | null = null;

  private constructor(server: Server) {
    this.server = server;
  }

  /**
   * Listens at path, a socket file of mode 0600 from the start in a run directory only its owner can
   * write (socket-file.ts). A file left by a VR that died is replaced; a live one is an error.
   */
  static async listen(path: string, handler: ControlHandler): Promise<ControlServer> {
    const server = createServer();
    const control = new ControlServer(server);
    server.on('connection', (socket) => control.serve(socket, handler));
    control.file = await listenSocketFile(
      path,
      0o600,
      (tmp) =>
        new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(tmp, () => {
            server.off('error', reject);
            resolve();
          });
        }),
      `${path} is in use by a running VR`,
    );
    return control;
  }

  private serve(socket: Socket, handler: ControlHandler): void {
    this.clients.add(socket);
    socket.on('close', () => this.clients.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      // Only the new chunk can hold the end of the line: a long request is scanned once.
      const scanFrom = pending.length;
      pending += chunk;
      if (pending.length > MAX_REQUEST_BYTES) {
        socket.destroy();
        return;
      }
      let nl = pending.indexOf('\n', scanFrom);
      while (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.trim() !== '') void this.answer(socket, line, handler);
        nl = pending.indexOf('\n');
      }
    });
  }

  private async answer(socket: Socket, line: string, handler: ControlHandler): Promise<void> {
    let id: unknown = null;
    let reply: unknown;
    try {
      const req = JSON.parse(line) as { id?: unknown; method?: unknown; params?: unknown };
      id = req.id ?? null;
      if (typeof req.method !== 'string')
        throw new ControlRequestError('bad_request', 'request has no method');
      const params =
        typeof req.params === 'object' && req.params !== null ? (req.params as Record<string, unknown>) : {};
      reply = { id, result: await handler(req.method, params) };
    } catch (err) {
      const code =
        err instanceof ControlRequestError ? err.code : err instanceof SyntaxError ? 'bad_json' : 'internal';
      reply = { id, error: { code, message: err instanceof Error ? err.message : String(err) } };
    }
    if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`);
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Only our own file: a newer VR may have replaced it.
    this.file?.remove();
  }
}

/** An error the handler throws to answer with a specific code (e.g. 'unknown_method'). */
export class ControlRequestError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** Whether something accepts connections on a Unix socket path (a stale file does not). */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
