// Helpers of the `nexthop exec` tests: the shim built with ASan/UBSan, programs run under exec in a
// namespace, and a throwaway nginx.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BackgroundProcess, type ExecResult, type Netns, startInBackground } from '@nexthop/netns';
import type { RunningVr } from './vr.ts';

const ROOT = join(import.meta.dirname, '../..');
export const CLI_MAIN = join(ROOT, 'apps/cli/src/main.ts');
export const CLIENT_BUILD = join(ROOT, 'native/build/client');

let sanitizedPreload = '';

/**
 * Builds the shim (plain and with ASan/UBSan) and the test programs. Programs run with
 * `sanitize: true` preload the sanitized shim behind clang's shared ASan runtime. (curl and nginx
 * cannot: under any ASan runtime, even without the shim, curl deadlocks in setlocale at start.)
 */
export function buildShim(): void {
  execFileSync('make', ['-s', '-C', join(ROOT, 'native/client'), 'all', 'asan', 'test-programs'], {
    stdio: 'inherit',
  });
  const runtime = execFileSync('clang', ['-print-file-name=libclang_rt.asan-x86_64.so']).toString().trim();
  sanitizedPreload = `${runtime} ${join(CLIENT_BUILD, 'libnexthop-preload-asan.so')}`;
}

export interface ExecInOptions {
  readonly timeoutMs?: number;
  readonly input?: string;
  /** Preload the ASan/UBSan build of the shim (any finding fails the program with exit 86/87). */
  readonly sanitize?: boolean;
}

function execArgs(
  vr: RunningVr,
  flags: readonly string[],
  cmd: readonly string[],
  sanitize: boolean,
): string[] {
  const env = sanitize
    ? [
        `NEXTHOP_PRELOAD=${sanitizedPreload}`,
        // Leaks are the programs' business (nc, python); every other finding ends the program.
        'ASAN_OPTIONS=detect_leaks=0:exitcode=86',
        'UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=87',
      ]
    : [];
  return [
    ...env,
    process.execPath,
    CLI_MAIN,
    'exec',
    vr.name,
    '--run-dir',
    vr.runDir,
    ...flags,
    '--',
    ...cmd,
  ];
}

/** `nexthop exec <vr> [flags] -- cmd args` inside ns. */
export function execIn(
  ns: Netns,
  vr: RunningVr,
  flags: readonly string[],
  cmd: readonly string[],
  options: ExecInOptions = {},
): Promise<ExecResult> {
  return ns.exec('env', execArgs(vr, flags, cmd, options.sanitize === true), options);
}

/** The same, in the background (servers), ready when `ready` says so. */
export function execInBackground(
  ns: Netns,
  vr: RunningVr,
  flags: readonly string[],
  cmd: readonly string[],
  ready: (p: BackgroundProcess) => boolean | Promise<boolean>,
  options: { sanitize?: boolean } = {},
): Promise<BackgroundProcess> {
  return startInBackground(ns, 'env', execArgs(vr, flags, cmd, options.sanitize === true), ready, {
    timeoutMs: 15_000,
  });
}

export interface Nginx {
  readonly dir: string;
  readonly accessLog: string;
  readonly conf: string;
  readonly page: string;
}

/** A one-process nginx configuration with everything under a temporary prefix. */
/** `listen` lines (nginx syntax); the default is `port` on IPv4 alone, as nginx's `listen PORT`. */
export function nginxConfig(port: number, listen: readonly string[] = [String(port)]): Nginx {
  const dir = mkdtempSync(join(tmpdir(), 'nexthop-nginx-'));
  for (const d of ['www', 'tmp', 'logs']) mkdirSync(join(dir, d));
  const page = `hello from nginx ${process.pid}\n`;
  writeFileSync(join(dir, 'www/index.html'), page);
  const accessLog = join(dir, 'logs/access.log');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((k) => `  ${k}_temp_path ${dir}/tmp/${k};`)
    .join('\n');
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log info;
events { worker_connections 64; }
http {
  access_log ${accessLog};
${temp}
  server {
${listen.map((l) => `    listen ${l};`).join('\n')}
    root ${dir}/www;
  }
}
`,
  );
  return { dir, accessLog, conf, page };
}
