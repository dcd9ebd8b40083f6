import {
  closeSync,
  existsSync,
  fchmodSync,
  fchownSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import {
  type ConfigError,
  type NexthopConfig,
  type ParseOptions,
  type ParseResult,
  parseConfig,
} from '@nexthop/config';
import { checkApiFiles } from './secrets.ts';

// The configuration's source of truth is the --config file; the state directory keeps the versions
// that were applied (history/<version>.yaml) so that a broken file at start and `rollback` have
// something to go back to.

/** Versions kept in the history (the running one included). */
export const HISTORY_LIMIT = 20;

export interface ConfigVersion {
  readonly version: number;
  readonly text: string;
  readonly config: NexthopConfig;
  /** Epoch milliseconds. */
  readonly appliedAt: number;
}

export interface ConfigStoreOptions {
  /** The --config file; applies and rollbacks are written through to it. */
  configPath: string;
  stateDir: string;
  /** Host check for afpacket devices; the default looks in /sys/class/net. */
  deviceExists?: (device: string) => boolean;
  /** Host check of the TCP listener's token and TLS files; the default reads them (secrets.ts). */
  checkApiFiles?: ParseOptions['checkApiFiles'];
}

export type LoadResult =
  /**
   * `missing` lists host problems (devices that do not exist) the file has: at start they do not
   * stop anything, the VRs that need those devices fail and are retried until the devices appear.
   */
  | { ok: true; current: ConfigVersion; fromHistory: false; missing: ConfigError[] }
  /** The file was invalid; the last applied version runs instead. `errors` are the file's. */
  | { ok: true; current: ConfigVersion; fromHistory: true; errors: ConfigError[] }
  | { ok: false; errors: ConfigError[] };

export function hostDeviceExists(device: string): boolean {
  return existsSync(`/sys/class/net/${device}`);
}

/**
 * Writes a file so that readers see either the old or the new text, never half of it, and a crash
 * leaves one of the two on disk. A symbolic link (a config kept elsewhere) is followed, so the link
 * stays; the file keeps its mode and owner.
 */
export function writeFileAtomic(path: string, text: string): void {
  let target = path;
  let previous: { mode: number; uid: number; gid: number } | null = null;
  try {
    target = realpathSync(path);
    const st = statSync(target);
    previous = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch {
    // A new file.
  }
  const dir = dirname(target);
  mkdirSync(dir, { recursive: true });
  const tmp = `${target}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', previous?.mode ?? 0o644);
  try {
    writeSync(fd, text);
    if (previous !== null) {
      fchmodSync(fd, previous.mode);
      if (previous.uid !== process.getuid?.() || previous.gid !== process.getgid?.()) {
        fchownSync(fd, previous.uid, previous.gid);
      }
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, target);
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

export class ConfigStore {
  readonly configPath: string;
  readonly stateDir: string;
  private readonly deviceExists: (device: string) => boolean;
  private readonly checkApiFiles: NonNullable<ParseOptions['checkApiFiles']>;
  private readonly historyDir: string;
  private running: ConfigVersion | null = null;

  constructor(options: ConfigStoreOptions) {
    this.configPath = options.configPath;
    this.stateDir = options.stateDir;
    this.deviceExists = options.deviceExists ?? hostDeviceExists;
    this.checkApiFiles = options.checkApiFiles ?? checkApiFiles;
    this.historyDir = join(options.stateDir, 'history');
  }

  /**
   * A new text, checked against this host too: a device that does not exist is an error, and so is
   * a TCP listener's token or TLS file that cannot serve (weak, open to others, missing).
   */
  parse(text: string): ParseResult {
    return parseConfig(text, {
      deviceExists: this.deviceExists,
      checkApiFiles: this.checkApiFiles,
      vrProcesses: true,
    });
  }

  /**
   * A text to start from: a device the host lacks is not an error here, so that one router whose
   * device is missing at boot does not keep every other router down. The strict parse's errors are
   * then exactly the missing devices (the only difference between the two parses); the listener's
   * files are checked by both.
   */
  private parseAtStart(text: string): { parsed: ParseResult; missing: ConfigError[] } {
    const strict = this.parse(text);
    if (strict.ok) return { parsed: strict, missing: [] };
    const lenient = parseConfig(text, { checkApiFiles: this.checkApiFiles, vrProcesses: true });
    return { parsed: lenient, missing: lenient.ok ? strict.errors : [] };
  }

  /** The running version; throws before `load`. */
  get current(): ConfigVersion {
    if (this.running === null) throw new Error('ConfigStore.load() has not succeeded');
    return this.running;
  }

  /** Versions older than the running one that rollback can return to. */
  get olderVersions(): number {
    return Math.max(0, this.versions().length - 1);
  }

  /**
   * Reads the --config file at start. Valid: it runs (and becomes a new version when it differs from
   * the last applied one). Invalid: the last applied version runs when there is one.
   */
  load(): LoadResult {
    let fileErrors: ConfigError[];
    let text: string | undefined;
    try {
      text = readFileSync(this.configPath, 'utf8');
    } catch (err) {
      fileErrors = [{ path: '', message: `cannot read ${this.configPath}: ${(err as Error).message}` }];
    }
    const newest = this.newest();
    if (text !== undefined) {
      const { parsed, missing } = this.parseAtStart(text);
      if (parsed.ok) {
        if (newest !== undefined && newest.text === text) {
          this.running = {
            version: newest.version,
            text,
            config: parsed.config,
            appliedAt: newest.appliedAt,
          };
        } else {
          this.running = this.append(text, parsed.config);
        }
        return { ok: true, current: this.running, fromHistory: false, missing };
      }
      fileErrors = parsed.errors;
    }
    if (newest !== undefined) {
      const { parsed } = this.parseAtStart(newest.text);
      if (parsed.ok) {
        this.running = { ...newest, config: parsed.config };
        return { ok: true, current: this.running, fromHistory: true, errors: fileErrors! };
      }
    }
    return { ok: false, errors: fileErrors! };
  }

  /** Records an applied configuration: written through to the --config file and to the history. */
  commit(text: string, config: NexthopConfig): ConfigVersion {
    writeFileAtomic(this.configPath, text);
    this.running = this.append(text, config);
    return this.running;
  }

  /** The version before the running one, or undefined when there is none. */
  previous(): { version: number; text: string } | undefined {
    const versions = this.versions();
    if (versions.length < 2) return undefined;
    const version = versions[versions.length - 2]!;
    return { version, text: readFileSync(this.historyFile(version), 'utf8') };
  }

  /**
   * After the previous version was applied: drops the newest version from the history, makes the
   * previous one the running one and writes it to the --config file.
   */
  commitRollback(config: NexthopConfig): ConfigVersion {
    const versions = this.versions();
    if (versions.length < 2) throw new Error('no previous version to roll back to');
    const prev = versions[versions.length - 2]!;
    const text = readFileSync(this.historyFile(prev), 'utf8');
    writeFileAtomic(this.configPath, text);
    unlinkSync(this.historyFile(versions[versions.length - 1]!));
    this.running = { version: prev, text, config, appliedAt: Date.now() };
    return this.running;
  }

  private historyFile(version: number): string {
    return join(this.historyDir, `${version}.yaml`);
  }

  /** Version numbers in the history, oldest first. */
  private versions(): number[] {
    let names: string[];
    try {
      names = readdirSync(this.historyDir);
    } catch {
      return [];
    }
    return names
      .map((n) => /^(\d+)\.yaml$/.exec(n))
      .filter((m) => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  private newest(): { version: number; text: string; appliedAt: number } | undefined {
    const versions = this.versions();
    const version = versions[versions.length - 1];
    if (version === undefined) return undefined;
    const file = this.historyFile(version);
    return { version, text: readFileSync(file, 'utf8'), appliedAt: statSync(file).mtimeMs };
  }

  /**
   * Version numbers never repeat, even after a rollback dropped the newest: the highest number
   * handed out is kept next to the history.
   */
  private nextVersion(): number {
    const counterFile = join(this.stateDir, 'last-version');
    let last = 0;
    try {
      last = Number(readFileSync(counterFile, 'utf8').trim()) || 0;
    } catch {
      // First version.
    }
    const versions = this.versions();
    const next = Math.max(last, versions[versions.length - 1] ?? 0) + 1;
    writeFileAtomic(counterFile, `${next}\n`);
    return next;
  }

  private append(text: string, config: NexthopConfig): ConfigVersion {
    mkdirSync(this.historyDir, { recursive: true });
    const version = this.nextVersion();
    writeFileAtomic(this.historyFile(version), text);
    const versions = this.versions();
    for (const old of versions.slice(0, Math.max(0, versions.length - HISTORY_LIMIT))) {
      unlinkSync(this.historyFile(old));
    }
    return { version, text, config, appliedAt: Date.now() };
  }
}
