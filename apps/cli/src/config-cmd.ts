import { existsSync, readFileSync } from 'node:fs';
import { bgpNotes, formatConfigErrors, parseConfig, type RouterConfig } from '@nexthop/config';
import type { ApplyResult, ConfigChange, ConfigCurrent, DiffResult, ValidateResult } from '@nexthop/nexthopd';
import { type ApiClient, ApiRequestError, apiSocketPath, connectApi, notRunning } from './api-client.ts';
import { apiFailure, CliError } from './errors.ts';

/** What a config command prints: `out` on stdout, `err` on stderr (either may be empty). */
export interface ConfigOutput {
  out: string;
  err: string;
}

const ACTION_SIGN: Record<ConfigChange['action'], string> = { add: '+', remove: '-', change: '~' };

/** One line a change: `+ blue: route 10.99.0.0/16 via 10.2.0.2`. */
export function formatChanges(changes: readonly ConfigChange[]): string {
  return changes.map((c) => `${ACTION_SIGN[c.action]} ${c.vr}: ${c.detail}`).join('\n');
}

function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

async function requireApi(runDir: string): Promise<ApiClient> {
  const api = await connectApi(runDir);
  if (api === null) throw new CliError(notRunning(apiSocketPath(runDir)));
  return api;
}

/** An invalid config becomes its errors as `file:line: path: message` lines; other failures one line. */
function configFailure(err: unknown, file: string): Error {
  if (err instanceof ApiRequestError && err.errors.length > 0)
    return new CliError(formatConfigErrors(err.errors, file), 1, true);
  return apiFailure(err);
}

/** Validates with nexthopd when it runs (it knows the host), else locally with the same parser. */
export async function configCheck(file: string, runDir: string): Promise<ConfigOutput> {
  const text = readConfigFile(file);
  const api = await connectApi(runDir);
  if (api === null) {
    const parsed = parseConfig(text, {
      deviceExists: (name) => existsSync(`/sys/class/net/${name}`),
      vrProcesses: true,
    });
    if (!parsed.ok) throw new CliError(formatConfigErrors(parsed.errors, file), 1, true);
    const names = parsed.config.routers.map((r) => r.name);
    return {
      out: `${file}: valid (${names.length} router${names.length === 1 ? '' : 's'}: ${names.join(', ')})`,
      err: ['nexthop: checked locally: nexthopd is not running', ...notes(parsed.config.routers)].join('\n'),
    };
  }
  try {
    const result = await api.post<ValidateResult>('/config/validate', { text });
    if (!result.ok) throw new CliError(formatConfigErrors(result.errors, file), 1, true);
  } catch (err) {
    throw configFailure(err, file);
  }
  const parsed = parseConfig(text);
  return { out: `${file}: valid`, err: parsed.ok ? notes(parsed.config.routers).join('\n') : '' };
}

/** What a valid configuration may not mean as its author expects (eBGP without policies: RFC 8212). */
function notes(routers: readonly RouterConfig[]): string[] {
  return routers.flatMap(bgpNotes).map((n) => `note: ${n}`);
}

export async function configDiff(file: string, runDir: string, json = false): Promise<ConfigOutput> {
  const text = readConfigFile(file);
  const api = await requireApi(runDir);
  let result: DiffResult;
  try {
    result = await api.post<DiffResult>('/config/diff', { text });
  } catch (err) {
    throw configFailure(err, file);
  }
  if (json) return { out: JSON.stringify(result, null, 2), err: '' };
  return result.changes.length === 0
    ? { out: '', err: 'no changes' }
    : { out: formatChanges(result.changes), err: '' };
}

export async function configApply(file: string, runDir: string, json = false): Promise<ConfigOutput> {
  const text = readConfigFile(file);
  const api = await requireApi(runDir);
  let result: ApplyResult;
  try {
    result = await api.post<ApplyResult>('/config/apply', { text });
  } catch (err) {
    throw configFailure(err, file);
  }
  if (json) return { out: JSON.stringify(result, null, 2), err: '' };
  return { out: formatChanges(result.changes), err: summary('applied', result) };
}

export async function configRollback(runDir: string, json = false): Promise<ConfigOutput> {
  const api = await requireApi(runDir);
  let result: ApplyResult;
  try {
    result = await api.post<ApplyResult>('/config/rollback', {});
  } catch (err) {
    throw apiFailure(err);
  }
  if (json) return { out: JSON.stringify(result, null, 2), err: '' };
  return { out: formatChanges(result.changes), err: summary('rolled back to', result) };
}

export async function configShow(runDir: string, json = false): Promise<ConfigOutput> {
  const api = await requireApi(runDir);
  let current: ConfigCurrent;
  try {
    current = await api.get<ConfigCurrent>('/config');
  } catch (err) {
    throw apiFailure(err);
  }
  if (json) return { out: JSON.stringify(current, null, 2), err: '' };
  return { out: current.text.replace(/\n$/, ''), err: '' };
}

function summary(verb: string, result: ApplyResult): string {
  const n = result.changes.length;
  return `${verb} configuration version ${result.version} (${n === 0 ? 'no' : n} change${n === 1 ? '' : 's'})`;
}
