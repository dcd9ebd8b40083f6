import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Server as TlsServer } from 'node:tls';
import {
  type ConfigError,
  configJsonSchema,
  formatConfigErrors,
  isLoopbackHost,
  type ManagerConfig,
  type NexthopConfig,
} from '@nexthop/config';
import { controlSocketPath, ensureRunDir, listenSocketFile, request } from '@nexthop/control';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { type ApiBackend, buildApi } from './api.ts';
import {
  API_SOCKET_NAME,
  type ApplyResult,
  type ConfigChange,
  type ConfigCurrent,
  type DiffResult,
  type ValidateResult,
  type VrStatus,
} from './api-types.ts';
import { AuthLimiter, type AuthLimits } from './auth-limiter.ts';
import { ConfigStore } from './config-store.ts';
import { changedRouters, diffConfigs } from './diff.ts';
import { ApiFailure } from './errors.ts';
import { Metrics } from './metrics.ts';
import { ApiFileError, readTlsFiles, readTokenFile, type TlsFiles } from './secrets.ts';
import { DEFAULT_TIMING, type SupervisorTiming, type VrCommand, VrSupervisor } from './supervisor.ts';

export interface DaemonOptions {
  /** The --config file (source of truth; applies are written back to it). */
  configPath: string;
  runDir: string;
  stateDir: string;
  /** Defaults to pino JSON on stdout with `component: 'nexthopd'`. */
  logger?: Logger;
  logLevel?: string;
  /** The VR program; defaults to apps/vr/src/main.ts on this Node. */
  vrCommand?: VrCommand;
  timing?: Partial<SupervisorTiming>;
  /** Host check for afpacket devices (default: /sys/class/net/<name> exists). */
  deviceExists?: (device: string) => boolean;
  /** Where VR stdout lines go (default: the VRs write to nexthopd's own stdout). */
  vrStdout?: Writable | 'inherit';
  /** Failed authentications on the TCP listener (default DEFAULT_AUTH_LIMITS). */
  authLimits?: Partial<AuthLimits>;
}

export interface Daemon {
  readonly apiSocketPath: string;
  /** The TCP listener, when the configuration asks for one. */
  readonly tcpAddress: { host: string; port: number } | null;
  /** Failed authentications on the TCP listener, per client address. */
  readonly authLimiter: AuthLimiter;
  readonly store: ConfigStore;
  readonly logger: Logger;
  /** The backend behind the API routes (same calls without HTTP). */
  readonly backend: ApiBackend;
  vr(name: string): VrSupervisor | undefined;
  /** Settles when every VR's first start has (become ready, or failed and is being restarted). */
  readonly ready: Promise<void>;
  /** SIGHUP: re-reads the config file and applies it; invalid → logged, nothing changes. */
  reload(): Promise<ApplyResult | null>;
  /** Stops every VR and the API. */
  close(): Promise<void>;
  /**
   * Stops the API and lets go of the VRs without stopping them (SIGUSR2): they keep forwarding, and
   * the next nexthopd on this run directory adopts them.
   */
  detach(): Promise<void>;
}

/**
 * VRs in the run directory that the configuration no longer has (it changed while no nexthopd
 * ran): each is asked by its control socket for its pid and stopped.
 */
function stopStrayVrs(runDir: string, wanted: ReadonlySet<string>, logger: Logger): void {
  let names: string[];
  try {
    names = readdirSync(runDir)
      .filter((f) => f.endsWith('.ctl'))
      .map((f) => f.slice(0, -4));
  } catch {
    return;
  }
  for (const name of names) {
    if (wanted.has(name)) continue;
    void request(controlSocketPath(runDir, name), 'status').then(
      (status) => {
        const pid = (status as { pid?: unknown })?.pid;
        if (typeof pid !== 'number') return;
        logger.warn({ vr: name, pid }, 'stopping a VR the configuration no longer has');
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // Gone already.
        }
      },
      () => {},
    );
  }
}

interface TcpListener {
  readonly instance: FastifyInstance;
  readonly address: { host: string; port: number };
  /** The bearer token, swapped when its file is read again. */
  token: string;
  readonly tls: boolean;
}

/** What the TCP listener reads from its files. */
interface TcpSecrets {
  readonly token: string;
  readonly tls: TlsFiles | undefined;
}

/** The configuration cannot run: the file is invalid and no applied version is stored. */
export class DaemonStartError extends Error {
  readonly errors: readonly ConfigError[];
  constructor(message: string, errors: readonly ConfigError[]) {
    super(message);
    this.errors = errors;
  }
}

/** The VR process: apps/vr/src/main.ts on the Node that runs nexthopd. */
export function defaultVrCommand(): VrCommand {
  return {
    execPath: process.execPath,
    args: [join(import.meta.dirname, '..', '..', 'vr', 'src', 'main.ts')],
  };
}

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const logger =
    options.logger ?? pino({ base: { component: 'nexthopd' }, level: options.logLevel ?? 'info' });
  const timing: SupervisorTiming = { ...DEFAULT_TIMING, ...options.timing };
  const vrCommand = options.vrCommand ?? defaultVrCommand();
  const vrStdout = options.vrStdout ?? 'inherit';
  // Sockets are created with their final mode in a directory only root or we can write to (§9).
  ensureRunDir(options.runDir);
  mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });

  const store = new ConfigStore({
    configPath: options.configPath,
    stateDir: options.stateDir,
    ...(options.deviceExists !== undefined ? { deviceExists: options.deviceExists } : {}),
  });
  const loaded = store.load();
  if (!loaded.ok) {
    throw new DaemonStartError(
      `invalid configuration and no applied version to fall back on:\n${formatConfigErrors(loaded.errors, options.configPath)}`,
      loaded.errors,
    );
  }
  if (!loaded.fromHistory && loaded.missing.length > 0) {
    logger.warn(
      { errors: loaded.missing },
      `${options.configPath} names devices this host does not have; the VRs that need them are retried until they appear`,
    );
  }
  if (loaded.fromHistory) {
    logger.error(
      { errors: loaded.errors, version: loaded.current.version },
      `${options.configPath} is invalid; running the last applied version instead`,
    );
  }

  let vrs = new Map<string, VrSupervisor>();
  let tcp: TcpListener | null = null;
  // One for the daemon's life: moving the listener does not give an address its tries back.
  const authLimiter = new AuthLimiter(options.authLimits);
  const metrics = new Metrics();
  const newSupervisor = (router: NexthopConfig['routers'][number]) =>
    new VrSupervisor({
      router,
      runDir: options.runDir,
      command: vrCommand,
      logger,
      timing,
      stdout: vrStdout,
    });

  const find = (name: string): VrSupervisor => {
    const vr = vrs.get(name);
    if (vr === undefined) throw new ApiFailure(404, 'not_found', `no VR named '${name}'`);
    return vr;
  };

  // Applies, rollbacks and reloads run one at a time.
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task, task);
    queue = run.catch(() => {});
    return run;
  };

  const parseOrFail = (text: string): NexthopConfig => {
    const parsed = store.parse(text);
    if (!parsed.ok) {
      throw new ApiFailure(
        422,
        'invalid_config',
        `invalid configuration:\n${formatConfigErrors(parsed.errors, 'config')}`,
        parsed.errors,
      );
    }
    return parsed.config;
  };

  /** Moves the running VRs from `before` to `after`; untouched VRs are not contacted. */
  const applyConfig = async (before: NexthopConfig, after: NexthopConfig): Promise<ConfigChange[]> => {
    const changes = diffConfigs(before, after);
    // The listener first: if the new one cannot open, nothing else has changed yet. An unchanged
    // one reads its token and certificate again (a renewed certificate, a rotated token).
    if (changes.some((c) => c.kind === 'manager')) await switchTcp(before.manager.api, after.manager.api);
    else refreshTcp(after.manager.api);
    const keep = new Set(after.routers.map((r) => r.name));
    const changed: string[] = [];
    const failures: string[] = [];
    await Promise.all(
      [...vrs.values()]
        .filter((vr) => !keep.has(vr.name))
        .map(async (vr) => {
          await vr.remove();
          vr.dispose();
          changed.push(`${vr.name} (stopped)`);
        }),
    );
    const next = new Map<string, VrSupervisor>();
    const added: VrSupervisor[] = [];
    for (const router of after.routers) {
      const existing = vrs.get(router.name);
      if (existing !== undefined) next.set(router.name, existing);
      else {
        const vr = newSupervisor(router);
        next.set(router.name, vr);
        added.push(vr);
      }
    }
    vrs = next;
    await Promise.all(
      changedRouters(before, after).map(async (router) => {
        try {
          const lines = await find(router.name).reconfigure(router);
          changed.push(router.name);
          logger.info({ vr: router.name, changes: lines }, 'VR reconfigured in place');
        } catch (err) {
          const code = (err as ApiFailure).code;
          failures.push(
            code === 'vr_timeout' || code === 'vr_unavailable'
              ? `VR ${router.name} did not confirm its change (${(err as Error).message}); it runs the new section once it has taken it or restarts`
              : `VR ${router.name} rejected its change: ${(err as Error).message}`,
          );
        }
      }),
    );
    await Promise.all(
      added.map(async (vr) => {
        await vr.start();
        changed.push(`${vr.name} (started)`);
      }),
    );
    if (failures.length > 0) {
      const kept =
        changed.length > 0
          ? ` VRs already changed keep the change: ${changed.join(', ')}.`
          : ' No VR was changed.';
      throw new ApiFailure(
        409,
        'apply_failed',
        `${failures.join('; ')}.${kept} The configuration file and version were not updated.`,
      );
    }
    return changes;
  };

  /**
   * What runs: each VR's own section, which differs from the stored version after an apply that
   * failed part-way (the VRs that took their change keep it). Changes are computed from this, so
   * applying the stored version again puts those VRs back.
   */
  const running = (): NexthopConfig => {
    const stored = store.current.config;
    const order = new Map(stored.routers.map((r, i) => [r.name, i]));
    const rank = (name: string) => order.get(name) ?? Number.POSITIVE_INFINITY;
    const routers = [...vrs.values()].map((vr) => vr.config).sort((a, b) => rank(a.name) - rank(b.name));
    return { ...stored, routers };
  };

  const apply = (text: string): Promise<ApplyResult> =>
    serialized(async () => {
      const config = parseOrFail(text);
      const changes = await applyConfig(running(), config);
      const version = store.commit(text, config);
      logger.info({ version: version.version, changes: changes.length }, 'configuration applied');
      return { version: version.version, changes };
    });

  const rollback = (): Promise<ApplyResult> =>
    serialized(async () => {
      const previous = store.previous();
      if (previous === undefined)
        throw new ApiFailure(
          409,
          'no_previous_version',
          'there is no previous configuration version to roll back to',
        );
      const config = parseOrFail(previous.text);
      const changes = await applyConfig(running(), config);
      const version = store.commitRollback(config);
      logger.info({ version: version.version, changes: changes.length }, 'configuration rolled back');
      return { version: version.version, changes };
    });

  const backend: ApiBackend = {
    listVrs: (): VrStatus[] => [...vrs.values()].map((vr) => vr.status()),
    vrStatus: (name) => find(name).status(),
    startVr: (name) => find(name).start(),
    stopVr: (name) => find(name).stop(),
    restartVr: (name) => find(name).restart(),
    callVr: (name, method, params, timeoutMs) => find(name).call(method, params, timeoutMs),
    configCurrent: (): ConfigCurrent => {
      const c = store.current;
      return { text: c.text, version: c.version, appliedAt: c.appliedAt, history: store.olderVersions };
    },
    configSchema: () => configJsonSchema(),
    validate: (text): ValidateResult => {
      const parsed = store.parse(text);
      return parsed.ok ? { ok: true, errors: [] } : { ok: false, errors: parsed.errors };
    },
    diff: (text): DiffResult => ({ changes: diffConfigs(running(), parseOrFail(text)) }),
    apply,
    rollback,
    metrics: async () => ({
      contentType: metrics.contentType,
      text: await metrics.scrape([...vrs.values()]),
    }),
  };

  /** The listener's token and TLS files, checked as the config check does; 409 when unusable. */
  function readSecrets(api: ManagerConfig['api']): TcpSecrets {
    try {
      if (api.tcp !== undefined && api.tls === undefined && !isLoopbackHost(api.tcp.host)) {
        throw new ApiFileError(`${api.tcp.host} is not a loopback address: a listener there needs TLS`);
      }
      return {
        token: readTokenFile(api.tokenFile!),
        tls: api.tls !== undefined ? readTlsFiles(api.tls) : undefined,
      };
    } catch (err) {
      if (!(err instanceof ApiFileError)) throw err;
      throw new ApiFailure(409, 'apply_failed', `${err.message}. Nothing was changed.`);
    }
  }

  /** The TCP listener of the management API, with its bearer token; null when not configured. */
  async function openTcp(api: ManagerConfig['api']): Promise<TcpListener | null> {
    if (api.tcp === undefined) return null;
    const secrets = readSecrets(api);
    const listener: { token: string } = { token: secrets.token };
    const instance = await buildApi(backend, {
      logger,
      auth: { token: () => listener.token, limiter: authLimiter },
      ...(secrets.tls !== undefined ? { tls: secrets.tls } : {}),
    });
    try {
      await instance.listen({ host: api.tcp.host, port: api.tcp.port });
    } catch (err) {
      await instance.close();
      throw err;
    }
    logger.info({ tcp: api.tcp, tls: secrets.tls !== undefined }, 'management API listening on TCP');
    return Object.assign(listener, { instance, address: api.tcp, tls: secrets.tls !== undefined });
  }

  /**
   * The running listener reads its token and TLS files again (same manager section): new requests
   * need the new token, new connections get the new certificate. 409 when a file cannot be used;
   * the listener then goes on with what it had.
   */
  function refreshTcp(api: ManagerConfig['api']): void {
    if (tcp === null || api.tcp === undefined) return;
    const secrets = readSecrets(api);
    if (secrets.tls !== undefined && tcp.tls) {
      (tcp.instance.server as unknown as TlsServer).setSecureContext(secrets.tls);
    }
    tcp.token = secrets.token;
  }

  /**
   * A changed manager section: the TCP listener moves; if the new one fails, the old one returns.
   * The old one stops accepting at once but is not waited for: its open requests (this very apply,
   * when it came over TCP; a capture stream) finish on their own.
   */
  async function switchTcp(before: ManagerConfig['api'], after: ManagerConfig['api']): Promise<void> {
    if (after.tcp !== undefined) readSecrets(after);
    if (tcp !== null) {
      const server = tcp.instance.server;
      await new Promise<void>((resolve) => {
        // close() gives the port back at once; its callback waits for the open requests. Whatever
        // still arrives on an old connection is answered once more, then the connection ends.
        server.on('request', (_req: unknown, res: { setHeader(name: string, value: string): void }) =>
          res.setHeader('connection', 'close'),
        );
        server.close();
        server.closeIdleConnections();
        setImmediate(resolve);
      });
    }
    tcp = null;
    try {
      tcp = await openTcp(after);
    } catch (err) {
      tcp = await openTcp(before).catch(() => null);
      throw new ApiFailure(
        409,
        'apply_failed',
        `the management API's TCP listener: ${(err as Error).message}. Nothing was changed.`,
      );
    }
  }

  // The API first, so that `nexthop show vrs` sees VRs while they start.
  const apiSocketPath = join(options.runDir, API_SOCKET_NAME);
  const apis: FastifyInstance[] = [];
  const unixApi = await buildApi(backend, { logger });
  // Mode 0600 from the start (bound in a private directory, then renamed into place).
  const apiFile = await listenSocketFile(
    apiSocketPath,
    0o600,
    async (tmp) => {
      await unixApi.listen({ path: tmp });
    },
    `${apiSocketPath}: another nexthopd is running`,
  );
  apis.push(unixApi);
  try {
    tcp = await openTcp(store.current.config.manager.api);
  } catch (err) {
    await Promise.all(apis.map((a) => a.close()));
    throw err;
  }
  logger.info(
    {
      api: apiSocketPath,
      tcp: tcp?.address ?? null,
      version: store.current.version,
      vrs: store.current.config.routers.length,
    },
    'management API listening',
  );

  for (const router of store.current.config.routers) vrs.set(router.name, newSupervisor(router));
  // Not awaited: the caller installs its signal handlers (and the API answers) while VRs start.
  // VRs a previous nexthopd left running are adopted, not restarted: their traffic goes on.
  stopStrayVrs(options.runDir, new Set(vrs.keys()), logger);
  const ready = Promise.all([...vrs.values()].map((vr) => vr.adoptOrStart())).then(() => {
    logger.info({ vrs: [...vrs.values()].map((vr) => `${vr.name}=${vr.state}`) }, 'VRs started');
  });

  let closed = false;
  return {
    apiSocketPath,
    get tcpAddress() {
      return tcp?.address ?? null;
    },
    authLimiter,
    store,
    logger,
    backend,
    ready,
    vr: (name) => vrs.get(name),
    reload: () => {
      let text: string;
      try {
        text = readFileSync(options.configPath, 'utf8');
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'reload: cannot read the config file');
        return Promise.resolve(null);
      }
      if (text === store.current.text) {
        return serialized(async () => {
          refreshTcp(store.current.config.manager.api);
          logger.info(
            "reload: the config file is unchanged; the TCP listener's token and TLS files were read again",
          );
          return null;
        }).catch((err: unknown) => {
          logger.error(
            { err: (err as Error).message },
            'reload: the TCP listener keeps its token and certificate',
          );
          return null;
        });
      }
      return apply(text).catch((err: unknown) => {
        const failure = err as ApiFailure;
        logger.error({ code: failure.code, errors: failure.errors }, `reload failed: ${failure.message}`);
        return null;
      });
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await Promise.all([...vrs.values()].map((vr) => vr.stop()));
      for (const vr of vrs.values()) vr.dispose();
      await Promise.all([...apis, ...(tcp === null ? [] : [tcp.instance])].map((a) => a.close()));
      apiFile.remove();
      logger.info('nexthopd stopped');
    },
    detach: async () => {
      if (closed) return;
      closed = true;
      for (const vr of vrs.values()) vr.dispose();
      await Promise.all([...apis, ...(tcp === null ? [] : [tcp.instance])].map((a) => a.close()));
      apiFile.remove();
      logger.info(
        { vrs: [...vrs.values()].map((vr) => `${vr.name}=${vr.pid}`) },
        'nexthopd left, its VRs run on',
      );
    },
  };
}
