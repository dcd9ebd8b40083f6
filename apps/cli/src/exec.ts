// `nexthop exec <vr> -- program args`: runs a program with its IPv4 and IPv6 sockets inside a VR, through
// the LD_PRELOAD shim (native/client/preload.c), in the spirit of `ip vrf exec`. The shim reads
// NEXTHOP_VR, NEXTHOP_RUN_DIR and NEXTHOP_EXEC_RULES once, when it is loaded (so a program may
// rewrite its environment); the choice between kernel and VR is its own, per socket, at
// connect/bind/sendto time.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { formatIpv6Prefix, tryParseIpv6Prefix } from '@nexthop/addr';

/** Where native/client/Makefile puts the shim. */
export const SHIM_PATH = join(import.meta.dirname, '../../../native/build/client/libnexthop-preload.so');

export interface ExecOptions {
  readonly vr: string;
  readonly runDir: string;
  /** Prefixes kept on the kernel (`--kernel`) and sent to the VR (`--vr`); longest prefix wins. */
  readonly kernel: readonly string[];
  readonly vrPrefixes: readonly string[];
  readonly command: readonly string[];
}

/** A problem the user can fix, reported as one line. */
export class ExecError extends Error {}

/**
 * Checks `a.b.c.d/len` (a bare address is /32) or an IPv6 `addr/len` (bare: /128; no host bits) and
 * returns it normalised: `a.b.c.d/len`, or the IPv6 prefix in RFC 5952 text.
 */
export function parsePrefix(text: string): string {
  if (text.includes(':')) {
    const r = tryParseIpv6Prefix(text.includes('/') ? text : `${text}/128`);
    if (typeof r === 'string')
      throw new ExecError(`'${text}' is not an IPv6 prefix (want ipv6-address/len): ${r}`);
    return formatIpv6Prefix(r.prefix);
  }
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text);
  const octets = m === null ? [] : m.slice(1, 5).map(Number);
  const len = m?.[5] === undefined ? 32 : Number(m[5]);
  if (m === null || octets.some((o) => o > 255) || len > 32) {
    throw new ExecError(`'${text}' is not an IPv4 or IPv6 prefix (want a.b.c.d/len or ipv6-address/len)`);
  }
  return `${octets.join('.')}/${len}`;
}

/** The NEXTHOP_EXEC_RULES value the shim parses: `kernel:P,vr:P,...`. */
export function execRules(kernel: readonly string[], vr: readonly string[]): string {
  return [...kernel.map((p) => `kernel:${parsePrefix(p)}`), ...vr.map((p) => `vr:${parsePrefix(p)}`)].join(
    ',',
  );
}

/** The environment of the program: the shim first in LD_PRELOAD, the rest kept. */
export function execEnvironment(options: ExecOptions, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // NEXTHOP_PRELOAD replaces the shim's path, e.g. by the sanitizer build in the tests (with the
  // ASan runtime in front of it).
  const shim = base['NEXTHOP_PRELOAD'] ?? SHIM_PATH;
  const previous = base['LD_PRELOAD'];
  return {
    ...base,
    LD_PRELOAD: previous !== undefined && previous !== '' ? `${shim} ${previous}` : shim,
    NEXTHOP_VR: options.vr,
    NEXTHOP_RUN_DIR: options.runDir,
    NEXTHOP_EXEC_RULES: execRules(options.kernel, options.vrPrefixes),
  };
}

const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
];

/** Runs the program and resolves with the exit status to give back (128 + n for a signal). */
export async function runExec(options: ExecOptions): Promise<number> {
  if (!/^[A-Za-z0-9_.-]+$/.test(options.vr)) throw new ExecError(`'${options.vr}' is not a VR name`);
  const env = execEnvironment(options, process.env);
  checkControlSocket(options.runDir, options.vr);
  if (nonEmpty(process.env['NEXTHOP_PRELOAD']) === undefined && !existsSync(SHIM_PATH)) {
    throw new ExecError(`the LD_PRELOAD shim is not built (${SHIM_PATH}): run scripts/setup.sh`);
  }
  const [cmd, ...args] = options.command;
  if (cmd === undefined) throw new ExecError('no program to run (nexthop exec <vr> -- program args)');

  const child = spawn(cmd, args, { stdio: 'inherit', env });
  // The program gets our terminal's signals itself (same process group); these are the ones sent
  // to us alone, e.g. by a supervisor's kill.
  const forward = (signal: NodeJS.Signals) => {
    if (child.pid !== undefined && child.exitCode === null) child.kill(signal);
  };
  for (const s of FORWARDED_SIGNALS) process.on(s, forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') reject(new ExecError(`cannot run '${cmd}': not found`));
        else reject(new ExecError(`cannot run '${cmd}': ${err.message}`));
      });
      child.once('exit', (code, signal) => {
        if (signal !== null) resolve(128 + (signalNumber(signal) ?? 0));
        else resolve(code ?? 1);
      });
    });
  } finally {
    for (const s of FORWARDED_SIGNALS) process.off(s, forward);
  }
}

/**
 * The VR's control socket must be there and reachable by this user: a run directory the user cannot
 * enter (or a socket file they cannot write) is "permission denied", which is not "not running".
 */
function checkControlSocket(runDir: string, vr: string): void {
  const socketPath = join(runDir, `${vr}.sock`);
  const notRunning = new ExecError(
    `VR '${vr}' is not running: no remote socket API at ${socketPath} (start it with \`nexthop vr\`, or give --run-dir)`,
  );
  let isSocket: boolean;
  try {
    isSocket = statSync(socketPath).isSocket();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new ExecError(
        `permission denied: cannot enter the run directory ${runDir} to reach VR '${vr}' (${socketPath}); ` +
          'run as a user who may, or ask for access to the directory',
      );
    }
    throw notRunning;
  }
  if (!isSocket) throw notRunning;
  try {
    accessSync(socketPath, constants.W_OK);
  } catch {
    throw new ExecError(
      `permission denied: cannot connect to ${socketPath} (VR '${vr}'): the control socket is not writable by this user`,
    );
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return osConstants.signals[signal];
}
