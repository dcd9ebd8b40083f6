export { type ApiBackend, type ApiOptions, buildApi, type TcpAuth, TLS_HANDSHAKE_TIMEOUT_MS } from './api.ts';
export * from './api-types.ts';
export { AuthLimiter, type AuthLimits, DEFAULT_AUTH_LIMITS } from './auth-limiter.ts';
export { type CaptureStream, startCapture } from './capture.ts';
export {
  ConfigStore,
  type ConfigVersion,
  HISTORY_LIMIT,
  hostDeviceExists,
  type LoadResult,
} from './config-store.ts';
export {
  type Daemon,
  type DaemonOptions,
  DaemonStartError,
  defaultVrCommand,
  startDaemon,
} from './daemon.ts';
export {
  canonicalJson,
  changedRouters,
  diffConfigs,
  diffRouter,
  MANAGER_VR,
  sameRouter,
} from './diff.ts';
export { ApiFailure } from './errors.ts';
export { Metrics, SCRAPE_TIMEOUT_MS } from './metrics.ts';
export {
  ApiFileError,
  checkApiFiles,
  readTlsFiles,
  readTokenFile,
  type TlsFiles,
  TOKEN_MIN_BITS,
  tokenProblem,
} from './secrets.ts';
export {
  DEFAULT_TIMING,
  routerYaml,
  type SupervisorTiming,
  type VrCommand,
  type VrRuntimeStatus,
  VrSupervisor,
} from './supervisor.ts';
