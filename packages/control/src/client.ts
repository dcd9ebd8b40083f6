import { connect, type Socket } from 'node:net';
import { join } from 'node:path';

/** Where nexthopd and the VRs keep their sockets unless told: $NEXTHOP_RUN_DIR, else /run/nexthop. */
export const DEFAULT_RUN_DIR = process.env['NEXTHOP_RUN_DIR'] || '/run/nexthop';

export function controlSocketPath(runDir: string, vr: string): string {
  return join(runDir, `${vr}.ctl`);
}

/** An error reply from the VR, or a failure to reach it. */
export class ControlError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** A connection to one VR's control socket; requests may overlap. */
export class ControlClient {
  private readonly socket: Socket;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private buffered = '';
  private closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () =>
      this.failAll(new ControlError('closed', 'the VR closed the control connection')),
    );
    socket.on('error', (err) => this.failAll(new ControlError('io', err.message)));
  }

  static connect(path: string, timeoutMs = 3000): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ControlError('timeout', `no answer on ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new ControlClient(socket));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const why =
          err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
            ? `no VR is listening on ${path} (is it running, and is --run-dir right?)`
            : err.code === 'EACCES'
              ? `permission denied on ${path} (run as root or as the VR's owner)`
              : err.message;
        reject(new ControlError(err.code ?? 'io', why));
      });
    });
  }

  call(method: string, params: Record<string, unknown> = {}, timeoutMs = 5000): Promise<unknown> {
    if (this.closed) return Promise.reject(new ControlError('closed', 'control connection is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ControlError('timeout', `the VR did not answer '${method}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.write(`${JSON.stringify({ id, method, params })}\n`);
    });
  }

  close(): void {
    this.closed = true;
    this.socket.end();
  }

  private onData(chunk: string): void {
    // Only the new chunk can hold the end of the line: a long reply is scanned once.
    const scanFrom = this.buffered.length;
    this.buffered += chunk;
    let nl = this.buffered.indexOf('\n', scanFrom);
    while (nl >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      nl = this.buffered.indexOf('\n');
      let reply: { id?: number; result?: unknown; error?: { code: string; message: string } };
      try {
        reply = JSON.parse(line);
      } catch {
        continue;
      }
      const p = reply.id === undefined ? undefined : this.pending.get(reply.id);
      if (p === undefined) continue;
      this.pending.delete(reply.id!);
      clearTimeout(p.timer);
      if (reply.error !== undefined) p.reject(new ControlError(reply.error.code, reply.error.message));
      else p.resolve(reply.result);
    }
  }

  private failAll(err: Error): void {
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }
}

/** One request on a fresh connection. */
export async function request(
  path: string,
  method: string,
  params: Record<string, unknown> = {},
): Promise<unknown> {
  const client = await ControlClient.connect(path);
  try {
    return await client.call(method, params);
  } finally {
    client.close();
  }
}
