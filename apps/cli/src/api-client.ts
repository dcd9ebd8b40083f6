import { existsSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { ConfigError } from '@nexthop/config';
import type { ApiError } from '@nexthop/nexthopd';

// The same name as API_SOCKET_NAME in @nexthop/nexthopd; only its types are imported so that a quick
// `show` never loads the daemon's modules (fastify, prom-client).
const API_SOCKET_NAME = 'nexthopd.sock';

export function apiSocketPath(runDir: string): string {
  return join(runDir, API_SOCKET_NAME);
}

/** nexthopd answered with an error status; `errors` lists config problems for invalid_config. */
export class ApiRequestError extends Error {
  readonly status: number;
  readonly code: string;
  readonly errors: readonly ConfigError[];
  constructor(status: number, code: string, message: string, errors: readonly ConfigError[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.errors = errors;
  }
}

/** nexthopd could not be reached at all (no socket, refused, timed out). */
export class ApiUnreachableError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * POSTs change things or parse large files, and nexthopd may rightly take long: an apply waits for
 * every VR (up to 60 s each), a start for the VR to be ready. Giving up early would report a
 * failure for a change that still goes through.
 */
const CHANGE_TIMEOUT_MS = 180_000;

/** JSON over HTTP on nexthopd's Unix socket. */
export class ApiClient {
  readonly socketPath: string;
  readonly timeoutMs: number;

  constructor(socketPath: string, timeoutMs = DEFAULT_TIMEOUT_MS) {
    this.socketPath = socketPath;
    this.timeoutMs = timeoutMs;
  }

  get<T>(path: string): Promise<T> {
    return this.json<T>('GET', path, undefined, this.timeoutMs);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.json<T>('POST', path, body, Math.max(this.timeoutMs, CHANGE_TIMEOUT_MS));
  }

  /**
   * Sends a request and hands back the response as it streams (capture). Error statuses are turned
   * into ApiRequestError after reading their JSON body. No timeout applies once the answer started.
   */
  stream(method: 'GET' | 'POST', path: string, body?: unknown): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = httpRequest({
        socketPath: this.socketPath,
        method,
        path,
        headers: payload === undefined ? {} : jsonHeaders(payload),
      });
      const timer = setTimeout(() => {
        req.destroy();
        reject(
          new ApiUnreachableError(
            'timeout',
            `nexthopd did not answer ${method} ${path} within ${this.timeoutMs} ms`,
          ),
        );
      }, this.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(this.unreachable(err));
      });
      req.on('response', (res) => {
        clearTimeout(timer);
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve(res);
          return;
        }
        readBody(res).then((text) => reject(errorFromBody(status, text)), reject);
      });
      req.end(payload);
    });
  }

  private async json<T>(method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<T> {
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = httpRequest({
        socketPath: this.socketPath,
        method,
        path,
        headers: { accept: 'application/json', ...(payload === undefined ? {} : jsonHeaders(payload)) },
      });
      req.setTimeout(timeoutMs, () =>
        req.destroy(
          new ApiUnreachableError(
            'timeout',
            method === 'POST'
              ? `nexthopd did not answer ${method} ${path} within ${timeoutMs / 1000} s; it may still be at work (see 'nexthop show vrs', 'nexthop config show')`
              : `nexthopd did not answer ${method} ${path} within ${timeoutMs} ms`,
          ),
        ),
      );
      req.on('error', (err: NodeJS.ErrnoException) =>
        reject(err instanceof ApiUnreachableError ? err : this.unreachable(err)),
      );
      req.on('response', (r) => {
        readBody(r).then((text) => resolve({ status: r.statusCode ?? 0, text }), reject);
      });
      req.end(payload);
    });
    if (res.status < 200 || res.status >= 300) throw errorFromBody(res.status, res.text);
    try {
      return JSON.parse(res.text) as T;
    } catch {
      throw new ApiRequestError(
        res.status,
        'bad_response',
        `nexthopd sent something that is not JSON for ${path}`,
      );
    }
  }

  private unreachable(err: NodeJS.ErrnoException): ApiUnreachableError {
    const code = err.code ?? 'io';
    if (code === 'ENOENT' || code === 'ECONNREFUSED')
      return new ApiUnreachableError(code, notRunning(this.socketPath));
    if (code === 'EACCES')
      return new ApiUnreachableError(
        code,
        `permission denied on ${this.socketPath} (run as root or as nexthopd's owner)`,
      );
    return new ApiUnreachableError(code, `nexthopd on ${this.socketPath}: ${err.message}`);
  }
}

export function notRunning(socketPath: string): string {
  return `nexthopd is not running (no ${socketPath}); start it with bin/nexthopd --config FILE`;
}

/**
 * The client when nexthopd answers on the run directory's socket, null when it does not (no socket
 * file, or a stale one nobody listens on). Any other failure (permissions) is thrown: falling back
 * to the VR sockets would hide it.
 */
export async function connectApi(runDir: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ApiClient | null> {
  const path = apiSocketPath(runDir);
  if (!existsSync(path)) return null;
  const client = new ApiClient(path, timeoutMs);
  try {
    await client.get('/health');
    return client;
  } catch (err) {
    if (err instanceof ApiUnreachableError && (err.code === 'ECONNREFUSED' || err.code === 'ENOENT'))
      return null;
    throw err;
  }
}

function jsonHeaders(payload: string): Record<string, string | number> {
  return { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function errorFromBody(status: number, text: string): ApiRequestError {
  let body: Partial<ApiError> | undefined;
  try {
    body = JSON.parse(text) as Partial<ApiError>;
  } catch {
    body = undefined;
  }
  // POST /config/validate answers 422 with its ValidateResult rather than the error envelope.
  const validate = body as { ok?: unknown; errors?: unknown } | undefined;
  if (validate?.ok === false && Array.isArray(validate.errors)) {
    return new ApiRequestError(
      status,
      'invalid_config',
      'invalid configuration',
      validate.errors as ConfigError[],
    );
  }
  const e = body?.error;
  if (e !== undefined && typeof e.code === 'string') {
    return new ApiRequestError(
      status,
      e.code,
      typeof e.message === 'string' ? e.message : e.code,
      e.errors ?? [],
    );
  }
  const snippet = text.trim().split('\n')[0]?.slice(0, 200) ?? '';
  return new ApiRequestError(
    status,
    `http_${status}`,
    `nexthopd answered ${status}${snippet ? `: ${snippet}` : ''}`,
  );
}
