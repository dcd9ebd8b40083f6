import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { ApiFileProblem, ManagerConfig } from '@nexthop/config';

// The files the management API's TCP listener needs: the bearer token, the TLS certificate and its
// private key (docs/management-api.md, "TCP listener"). A secret file must be a regular file that
// only its owner can read or write, owned by the user nexthopd runs as or by root; the token must
// be strong enough that guessing it is hopeless.

/** The token's least strength, in bits (see tokenProblem for how the text is measured). */
export const TOKEN_MIN_BITS = 128;
/** Fewer distinct characters than this is a word or a pattern, not a random token. */
export const TOKEN_MIN_DISTINCT = 8;
/** RFC 6750 §2.1 b64token: what a bearer token may consist of. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const HEX = /^[0-9A-Fa-f]+$/;
/** A token file larger than this is not a token. */
const TOKEN_FILE_MAX = 4096;
/** Certificate chains and keys are a few KiB; this bounds a file someone pointed elsewhere. */
const PEM_FILE_MAX = 1024 * 1024;

/** A file the TCP listener cannot use; the message names the file and what to do. */
export class ApiFileError extends Error {}

/**
 * Why this token text is too weak, or undefined when it is not. The text (the file without
 * surrounding white space) must be an RFC 6750 b64token. It is measured conservatively: a text of
 * hex digits only counts 4 bits a character, any other 6 bits (the base64 alphabet), and it needs
 * TOKEN_MIN_BITS: 32 hex digits, or 22 characters otherwise (trailing '=' padding not counted).
 * Fewer than TOKEN_MIN_DISTINCT distinct characters is refused too (a placeholder like
 * 'changemechangeme…'). `openssl rand -hex 32` makes a good one.
 */
export function tokenProblem(token: string): string | undefined {
  if (token === '') return 'is empty: the TCP listener needs a token';
  if (!B64TOKEN.test(token)) {
    return 'has characters a bearer token cannot have (RFC 6750: letters, digits, - . _ ~ + / and trailing =)';
  }
  const body = token.replace(/=+$/, '');
  const hex = HEX.test(body);
  const bits = body.length * (hex ? 4 : 6);
  if (bits < TOKEN_MIN_BITS) {
    const what = hex ? `${body.length} hex digits` : `${body.length} characters`;
    return `holds a token of ${what}, at most ${bits} bits: at least ${TOKEN_MIN_BITS} are needed (32 hex digits or 22 base64 characters; make one with 'openssl rand -hex 32')`;
  }
  const distinct = new Set(body).size;
  if (distinct < TOKEN_MIN_DISTINCT) {
    return `holds a token of only ${distinct} distinct characters: not a random token (make one with 'openssl rand -hex 32')`;
  }
  return undefined;
}

/**
 * Reads a file the listener needs. A secret (`secret`: token, key) must be private: no access for
 * group or others, owned by this process's user or root. The file is opened once and checked by its
 * descriptor (no race between the check and the read), without blocking (a FIFO is refused, not
 * waited on). A symbolic link is followed: the file it leads to is what is checked.
 */
export function readApiFile(path: string, what: string, secret: boolean, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new ApiFileError(`cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ApiFileError(`the ${what} ${path} is not a regular file`);
    if (secret) {
      const mode = st.mode & 0o7777;
      if ((mode & 0o077) !== 0) {
        throw new ApiFileError(
          `the ${what} ${path} has mode ${mode.toString(8).padStart(4, '0')}: group and others must have no access to it (chmod 600 ${path})`,
        );
      }
      const uid = process.getuid?.() ?? 0;
      if (st.uid !== uid && st.uid !== 0) {
        throw new ApiFileError(
          `the ${what} ${path} is owned by uid ${st.uid}: it must belong to the user nexthopd runs as (uid ${uid}) or to root`,
        );
      }
    }
    if (st.size > maxBytes) {
      throw new ApiFileError(`the ${what} ${path} is ${st.size} bytes: more than ${maxBytes}`);
    }
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The bearer token from its file (without surrounding white space); throws ApiFileError. */
export function readTokenFile(path: string): string {
  const token = readApiFile(path, 'token file', true, TOKEN_FILE_MAX).toString('utf8').trim();
  const problem = tokenProblem(token);
  if (problem !== undefined) throw new ApiFileError(`the token file ${path} ${problem}`);
  return token;
}

export interface TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * The listener's certificate and key; throws ApiFileError when a file cannot be used or the two do
 * not make a TLS context (not PEM, a key that is not the certificate's).
 */
export function readTlsFiles(tls: { cert: string; key: string }): TlsFiles {
  const cert = readApiFile(tls.cert, 'TLS certificate', false, PEM_FILE_MAX);
  const key = readApiFile(tls.key, 'TLS key', true, PEM_FILE_MAX);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new ApiFileError(
      `the TLS certificate ${tls.cert} and key ${tls.key} cannot serve: ${(err as Error).message}`,
    );
  }
  return { cert, key };
}

/** ParseOptions.checkApiFiles on this host: the listener's files, read as the listener reads them. */
export function checkApiFiles(api: ManagerConfig['api']): ApiFileProblem[] {
  const problems: ApiFileProblem[] = [];
  const check = (field: string[], read: () => unknown) => {
    try {
      read();
    } catch (err) {
      if (!(err instanceof ApiFileError)) throw err;
      problems.push({ field, message: err.message });
    }
  };
  if (api.tokenFile !== undefined) check(['tokenFile'], () => readTokenFile(api.tokenFile!));
  const tls = api.tls;
  if (tls !== undefined) {
    const before = problems.length;
    check(['tls', 'cert'], () => readApiFile(tls.cert, 'TLS certificate', false, PEM_FILE_MAX));
    check(['tls', 'key'], () => readApiFile(tls.key, 'TLS key', true, PEM_FILE_MAX));
    // Whether the two go together, once each file is fine on its own.
    if (problems.length === before) check(['tls'], () => readTlsFiles(tls));
  }
  return problems;
}
