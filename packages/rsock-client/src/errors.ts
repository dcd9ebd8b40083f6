// Errors shaped like Node's own socket errors (code, errno < 0, syscall), so that code written for
// node:net and node:dgram handles VR sockets the same way.
import { getSystemErrorName } from 'node:util';

export interface SocketError extends Error {
  code: string;
  errno: number;
  syscall: string;
  address?: string;
  port?: number;
}

/** An error for a positive Linux errno from the VR (or the local system). */
export function errnoError(
  errno: number,
  syscall: string,
  detail: string,
  where?: { address: string; port?: number },
): SocketError {
  let code: string;
  try {
    code = getSystemErrorName(-errno);
  } catch {
    code = `E${errno}`;
  }
  const place =
    where === undefined ? '' : ` ${where.address}${where.port === undefined ? '' : `:${where.port}`}`;
  const e = new Error(`${syscall} ${code}${place}${detail === '' ? '' : ` (${detail})`}`) as SocketError;
  e.code = code;
  e.errno = -errno;
  e.syscall = syscall;
  if (where !== undefined) {
    e.address = where.address;
    if (where.port !== undefined) e.port = where.port;
  }
  return e;
}
