import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import type { RouterConfig } from '@nexthop/config';
import { ControlClient, controlSocketPath } from '@nexthop/control';
import type { Logger } from 'pino';
import type { VrExit, VrState, VrStatus } from './api-types.ts';
import { writeFileAtomic } from './config-store.ts';
import { ApiFailure, fromControlError } from './errors.ts';

export interface SupervisorTiming {
  /** A VR that has not signalled readiness by then is killed (and restarted as a crash). */
  readyTimeoutMs: number;
  /** How often the control socket is tried while a VR starts (for VRs without the IPC signal). */
  readyPollMs: number;
  healthIntervalMs: number;
  healthTimeoutMs: number;
  /** Health checks missed in a row before the VR counts as hung and is killed. */
  healthMisses: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** A VR that ran this long before it died is restarted after the initial back-off again. */
  backoffResetMs: number;
  /** SIGTERM to SIGKILL. */
  stopGraceMs: number;
  /** Default time limit of a request to a VR (show.*, capture.*). */
  callTimeoutMs: number;
  /** Time limit of `config.apply` (10,000 routes take a while). */
  applyTimeoutMs: number;
}

export const DEFAULT_TIMING: SupervisorTiming = {
  readyTimeoutMs: 15_000,
  readyPollMs: 50,
  healthIntervalMs: 2_000,
  healthTimeoutMs: 1_500,
  healthMisses: 3,
  backoffInitialMs: 100,
  backoffMaxMs: 30_000,
  backoffResetMs: 30_000,
  stopGraceMs: 3_000,
  callTimeoutMs: 5_000,
  applyTimeoutMs: 60_000,
};

/** The program a VR runs as: `execPath ...args --config F --name N --run-dir D`. */
export interface VrCommand {
  execPath: string;
  args: string[];
}

export interface VrSupervisorOptions {
  router: RouterConfig;
  runDir: string;
  command: VrCommand;
  logger: Logger;
  timing: SupervisorTiming;
  /**
   * Where the VR's stdout lines (its own pino JSON) go. 'inherit' (the daemon's default) hands the
   * VR nexthopd's own stdout: the lines land in the same place, and a VR whose manager died can
   * still log on its way out (into a pipe whose reader is gone, pino retries EPIPE forever).
   */
  stdout: Writable | 'inherit';
}

/** What a VR's `status` answered last (fields beyond name and pid come with newer VRs). */
export interface VrRuntimeStatus {
  name?: string;
  pid?: number;
  uptimeMs?: number;
  startedAt?: number;
  rssBytes?: number;
  fibRoutes?: number;
  sockets?: number;
  rsockClients?: number;
}

/**
 * `<run-dir>/<name>.yaml`, the file the VR process reads, and the text of `config.apply`: one
 * router, written as JSON (which is YAML) because the VR reads JSON some thirty times faster — the
 * operator's YAML has been parsed and checked here already.
 */
export function routerYaml(router: RouterConfig): string {
  return `${JSON.stringify({ routers: { [router.name]: router.raw } }, null, 1)}\n`;
}

/** How often an adopted VR (not our child: no exit event) is looked at. */
const ADOPTED_POLL_MS = 100;

interface AdoptedVr {
  readonly pid: number;
  readonly watch: NodeJS.Timeout;
  /** Resolves once the process is gone. */
  readonly exited: Promise<void>;
}

/**
 * A process's start time (field 22 of proc(5) stat), or null when it is gone or a zombie: with the
 * pid, it tells the process we adopted from a later one that reuses its pid.
 */
function processStartTime(pid: number): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[0] === 'Z' || fields[0] === 'X' ? null : (fields[19] ?? null);
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Keeps one VR process alive: spawns it, waits for it to be ready, checks its health, restarts it
 * with back-off when it dies or hangs. Every request to the VR has its own time limit, so a slow VR
 * never holds up anything about another.
 */
export class VrSupervisor {
  readonly name: string;
  readonly yamlPath: string;
  private router: RouterConfig;
  private readonly options: VrSupervisorOptions;
  private readonly timing: SupervisorTiming;
  private readonly log: Logger;
  private child: ChildProcess | null = null;
  private client: ControlClient | null = null;
  private stateValue: VrState = 'stopped';
  private wantRunning = false;
  private spawnedOnce = false;
  private restartCount = 0;
  private exit: VrExit | null = null;
  private reasonText: string | null = null;
  /** Why the supervisor itself killed the current process (hang, start timeout). */
  private killReason: string | null = null;
  private readyAt = 0;
  private backoffMs: number;
  private restartTimer: NodeJS.Timeout | null = null;
  private readyTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private healthInFlight = false;
  private connecting = false;
  private misses = 0;
  private pendingApply = false;
  /**
   * config.apply calls in flight. A big one keeps the VR busy (it parses and installs synchronously):
   * health checks it misses meanwhile do not count as a hang.
   */
  private applying = 0;
  private lastStatus: VrRuntimeStatus | null = null;
  /**
   * Each process's last line on stderr: a VR that cannot start says why there. Read when the reason
   * is shown, because the line may arrive after the exit event.
   */
  private readonly lastStderr = new WeakMap<ChildProcess, string>();
  private exitedChild: ChildProcess | null = null;
  /**
   * A VR this nexthopd did not start: one a previous nexthopd left running. It is watched by its
   * pid (no exit event reaches a non-parent) and, once it exits, replaced by a child of our own.
   */
  private adopted: AdoptedVr | null = null;
  private readonly waiters = new Set<() => void>();

  constructor(options: VrSupervisorOptions) {
    this.options = options;
    this.router = options.router;
    this.name = options.router.name;
    this.timing = options.timing;
    this.log = options.logger.child({ vr: this.name });
    this.backoffMs = options.timing.backoffInitialMs;
    this.yamlPath = join(options.runDir, `${this.name}.yaml`);
  }

  get state(): VrState {
    return this.stateValue;
  }

  get config(): RouterConfig {
    return this.router;
  }

  get restarts(): number {
    return this.restartCount;
  }

  get pid(): number | null {
    return this.child?.pid ?? this.adopted?.pid ?? null;
  }

  /** When the current process became ready (epoch ms), or null. */
  get readySince(): number | null {
    return this.stateValue === 'running' ? this.readyAt : null;
  }

  get runtimeStatus(): VrRuntimeStatus | null {
    return this.lastStatus;
  }

  status(): VrStatus {
    const running = this.stateValue === 'running';
    return {
      name: this.name,
      state: this.stateValue,
      pid: this.pid,
      uptimeMs: running ? Date.now() - this.readyAt : null,
      restarts: this.restartCount,
      lastExit: this.exit,
      interfaces: this.router.interfaces.length,
      reason: this.stateValue === 'running' || this.stateValue === 'stopped' ? null : this.reason(),
    };
  }

  private reason(): string | null {
    const said = this.exitedChild === null ? undefined : this.lastStderr.get(this.exitedChild);
    if (this.reasonText === null || said === undefined || !this.reasonText.startsWith('exited')) {
      return this.reasonText;
    }
    return `${this.reasonText}: ${said}`;
  }

  /** Starts the VR when it is not running; resolves once it is ready, or has failed to start. */
  async start(): Promise<VrStatus> {
    this.wantRunning = true;
    if (this.child === null && this.adopted === null) {
      this.clearRestartTimer();
      this.backoffMs = this.timing.backoffInitialMs;
      this.spawnVr();
    }
    await this.settled();
    return this.status();
  }

  /** Stops the VR (SIGTERM, SIGKILL after the grace time); it is not restarted. */
  async stop(): Promise<VrStatus> {
    this.wantRunning = false;
    this.clearRestartTimer();
    const adopted = this.adopted;
    if (adopted !== null) {
      signalPid(adopted.pid, 'SIGTERM');
      const kill = setTimeout(() => signalPid(adopted.pid, 'SIGKILL'), this.timing.stopGraceMs);
      await adopted.exited;
      clearTimeout(kill);
      return this.status();
    }
    const child = this.child;
    if (child === null) {
      this.stateValue = 'stopped';
      return this.status();
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), this.timing.stopGraceMs);
      await exited;
      clearTimeout(kill);
    }
    return this.status();
  }

  async restart(): Promise<VrStatus> {
    await this.stop();
    return this.start();
  }

  /** Stops the VR and removes its config file (the router left the configuration). */
  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.yamlPath, { force: true });
  }

  /** Writes the router's file; done before every start. */
  writeConfigFile(): void {
    writeFileAtomic(this.yamlPath, routerYaml(this.router));
  }

  /**
   * Hands a changed router section to the VR in place (`config.apply`, no restart). A VR that is not
   * running only gets its file rewritten. A rejection restores the previous file and throws.
   */
  async reconfigure(router: RouterConfig): Promise<string[]> {
    const previous = this.router;
    this.router = router;
    this.writeConfigFile();
    if (this.stateValue === 'starting') {
      // It may have read the file before the rewrite: apply once it is ready.
      this.pendingApply = true;
      return [];
    }
    if (this.stateValue !== 'running') return [];
    this.applying++;
    try {
      const result = (await this.call(
        'config.apply',
        { text: routerYaml(router) },
        this.timing.applyTimeoutMs,
      )) as {
        changes?: string[];
      };
      return Array.isArray(result?.changes) ? result.changes : [];
    } catch (err) {
      // Only a refusal means the VR kept its old section. A VR that timed out or went away may have
      // taken the new one, and a restarted VR reads the file: both keep the new section.
      const code = (err as ApiFailure).code;
      if (code !== 'vr_timeout' && code !== 'vr_unavailable') {
        this.router = previous;
        this.writeConfigFile();
      }
      throw err;
    } finally {
      this.applying--;
    }
  }

  /** One request to the running VR; 503 when it is not running. */
  async call(method: string, params: Record<string, unknown> = {}, timeoutMs?: number): Promise<unknown> {
    const client = this.client;
    if (this.stateValue !== 'running' || client === null) {
      throw new ApiFailure(503, 'vr_unavailable', `VR ${this.name} is ${this.stateValue}`);
    }
    try {
      return await client.call(method, params, timeoutMs ?? this.timing.callTimeoutMs);
    } catch (err) {
      throw fromControlError(this.name, err);
    }
  }

  /** Ends every timer; the process itself is left to stop(). */
  dispose(): void {
    this.wantRunning = false;
    if (this.adopted !== null) clearInterval(this.adopted.watch);
    this.clearRestartTimer();
    this.clearStartTimers();
    this.clearHealth();
    this.client?.close();
    this.client = null;
  }

  private spawnVr(): void {
    this.writeConfigFile();
    const { command, runDir } = this.options;
    const args = [...command.args, '--config', this.yamlPath, '--name', this.name, '--run-dir', runDir];
    if (this.spawnedOnce) this.restartCount++;
    this.spawnedOnce = true;
    this.killReason = null;
    this.misses = 0;
    this.lastStatus = null;
    this.stateValue = 'starting';
    const stdout = this.options.stdout;
    const child = spawn(command.execPath, args, {
      stdio: ['ignore', stdout === 'inherit' ? 'inherit' : 'pipe', 'pipe', 'ipc'],
      detached: false,
    });
    this.child = child;
    child.on('error', (err) => {
      // Spawning itself failed (no exit event follows when there never was a process).
      if (child.pid === undefined && this.child === child) {
        this.child = null;
        this.stateValue = 'failed';
        this.reasonText = `cannot start: ${err.message}`;
        this.log.error({ err: err.message }, 'cannot start VR');
        this.clearStartTimers();
        this.wake();
      }
    });
    child.on('message', (message: unknown) => {
      if ((message as { type?: unknown } | null)?.type === 'ready') this.tryReady(child);
    });
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    if (stdout !== 'inherit') {
      createInterface({ input: child.stdout! }).on('line', (line) => stdout.write(`${line}\n`));
    }
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (line.trim() !== '') this.lastStderr.set(child, line.trim());
      this.log.warn({ stream: 'stderr' }, line);
    });
    this.log.info({ pid: child.pid, restarts: this.restartCount }, 'VR starting');
    this.readyTimer = setTimeout(() => {
      if (this.child !== child || this.stateValue !== 'starting') return;
      this.killReason = `not ready within ${this.timing.readyTimeoutMs} ms`;
      child.kill('SIGKILL');
    }, this.timing.readyTimeoutMs);
    this.pollTimer = setInterval(() => this.tryReady(child), this.timing.readyPollMs);
  }

  /** Ready once its control socket answers `status` (the IPC message only makes us look sooner). */
  private tryReady(child: ChildProcess): void {
    if (this.child !== child || this.stateValue !== 'starting' || this.connecting) return;
    this.connecting = true;
    const path = controlSocketPath(this.options.runDir, this.name);
    void (async () => {
      let client: ControlClient | null = null;
      try {
        client = await ControlClient.connect(path, this.timing.healthTimeoutMs);
        const status = (await client.call('status', {}, this.timing.healthTimeoutMs)) as VrRuntimeStatus;
        // A socket left by an older process answers with its pid; only ours counts.
        if (typeof status?.pid === 'number' && status.pid !== child.pid)
          throw new Error('stale control socket');
        if (this.child !== child || this.stateValue !== 'starting') {
          client.close();
          return;
        }
        this.lastStatus = status;
        this.onReady(client);
      } catch {
        client?.close();
      } finally {
        this.connecting = false;
      }
    })();
  }

  private onReady(client: ControlClient): void {
    this.clearStartTimers();
    this.client = client;
    this.stateValue = 'running';
    this.readyAt = Date.now();
    this.reasonText = null;
    this.log.info({ pid: this.child?.pid, restarts: this.restartCount }, 'VR ready');
    this.healthTimer = setInterval(() => this.checkHealth(), this.timing.healthIntervalMs);
    this.wake();
    if (this.pendingApply) {
      this.pendingApply = false;
      this.call('config.apply', { text: routerYaml(this.router) }, this.timing.applyTimeoutMs).catch((err) =>
        this.log.error({ err: (err as Error).message }, 'config.apply after start failed'),
      );
    }
  }

  private checkHealth(): void {
    const child = this.child ?? this.adopted;
    if (this.stateValue !== 'running' || this.healthInFlight || child === null) return;
    this.healthInFlight = true;
    void (async () => {
      try {
        if (this.client === null) {
          this.client = await ControlClient.connect(
            controlSocketPath(this.options.runDir, this.name),
            this.timing.healthTimeoutMs,
          );
        }
        this.lastStatus = (await this.client.call(
          'status',
          {},
          this.timing.healthTimeoutMs,
        )) as VrRuntimeStatus;
        this.misses = 0;
      } catch (err) {
        if ((this.child ?? this.adopted) !== child) return;
        if (this.applying > 0) return;
        this.misses++;
        const code = (err as { code?: string }).code;
        if (code === 'closed' || code === 'io') {
          this.client?.close();
          this.client = null;
        }
        this.log.warn({ misses: this.misses, err: (err as Error).message }, 'VR health check failed');
        if (this.misses >= this.timing.healthMisses) {
          this.killReason = `hung: ${this.misses} health checks unanswered`;
          if (child === this.adopted) signalPid(child.pid, 'SIGKILL');
          else (child as ChildProcess).kill('SIGKILL');
        }
      } finally {
        this.healthInFlight = false;
      }
    })();
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = null;
    this.exitedChild = child;
    this.afterExit(code, signal);
  }

  private afterExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.clearStartTimers();
    this.clearHealth();
    this.client?.close();
    this.client = null;
    const wasReady = this.stateValue === 'running';
    const uptimeMs = wasReady ? Date.now() - this.readyAt : 0;
    this.exit = { code, signal, at: Date.now() };
    if (!this.wantRunning) {
      this.stateValue = 'stopped';
      this.reasonText = null;
      this.log.info({ code, signal }, 'VR stopped');
      this.wake();
      return;
    }
    if (uptimeMs >= this.timing.backoffResetMs) this.backoffMs = this.timing.backoffInitialMs;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.timing.backoffMaxMs);
    this.reasonText =
      this.killReason ?? (signal !== null ? `killed by ${signal}` : `exited with code ${code}`);
    this.stateValue = 'restarting';
    this.log.warn(
      { code, signal, restarts: this.restartCount, reason: this.reasonText, delayMs: delay },
      'VR exited; restarting',
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.wantRunning && this.child === null && this.adopted === null) this.spawnVr();
    }, delay);
    this.wake();
  }

  /**
   * Takes over a VR that a previous nexthopd left running, when one answers on the control socket:
   * it keeps forwarding, gets this configuration's section in place, and is supervised from here
   * on. Otherwise starts one. Resolves with the status either way.
   */
  async adoptOrStart(): Promise<VrStatus> {
    if (await this.tryAdopt()) return this.status();
    return this.start();
  }

  private async tryAdopt(): Promise<boolean> {
    const path = controlSocketPath(this.options.runDir, this.name);
    if (!existsSync(path)) return false;
    let client: ControlClient | null = null;
    try {
      client = await ControlClient.connect(path, this.timing.healthTimeoutMs);
      const status = (await client.call('status', {}, this.timing.healthTimeoutMs)) as VrRuntimeStatus;
      const pid = status?.pid;
      const started = typeof pid === 'number' ? processStartTime(pid) : null;
      if (typeof pid !== 'number' || started === null) {
        client.close();
        return false;
      }
      this.wantRunning = true;
      this.spawnedOnce = true;
      this.writeConfigFile();
      let exitedResolve: () => void = () => {};
      const exited = new Promise<void>((resolve) => {
        exitedResolve = resolve;
      });
      const adopted: AdoptedVr = {
        pid,
        exited,
        watch: setInterval(() => {
          if (processStartTime(pid) === started) return;
          clearInterval(adopted.watch);
          if (this.adopted !== adopted) return;
          this.adopted = null;
          this.exitedChild = null;
          exitedResolve();
          this.afterExit(null, null);
        }, ADOPTED_POLL_MS),
      };
      this.adopted = adopted;
      this.client = client;
      this.lastStatus = status;
      this.stateValue = 'running';
      this.readyAt = Date.now() - (typeof status.uptimeMs === 'number' ? status.uptimeMs : 0);
      this.healthTimer = setInterval(() => this.checkHealth(), this.timing.healthIntervalMs);
      this.log.info({ pid }, 'VR adopted: it was running already');
      // It may run an older section than this configuration's.
      try {
        const result = (await client.call(
          'config.apply',
          { text: routerYaml(this.router) },
          this.timing.applyTimeoutMs,
        )) as { changes?: string[] };
        if ((result?.changes?.length ?? 0) > 0)
          this.log.info({ changes: result.changes }, 'adopted VR brought up to date');
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'the adopted VR refused this configuration');
      }
      return true;
    } catch {
      client?.close();
      return false;
    }
  }

  /** Resolves when the VR is running, stopped or failed, or its start failed (it then restarts). */
  private settled(): Promise<void> {
    if (this.stateValue !== 'starting') return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.stateValue !== 'starting') {
          this.waiters.delete(check);
          resolve();
        }
      };
      this.waiters.add(check);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private clearStartTimers(): void {
    if (this.readyTimer !== null) clearTimeout(this.readyTimer);
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    this.readyTimer = null;
    this.pollTimer = null;
  }

  private clearHealth(): void {
    if (this.healthTimer !== null) clearInterval(this.healthTimer);
    this.healthTimer = null;
  }

  private clearRestartTimer(): void {
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }
}
