export {
  CAPTURE_DEFAULT_COUNT,
  CAPTURE_IDLE_MS,
  CAPTURE_MAX_BUFFERED,
  CAPTURE_MAX_RUNNING,
  type CaptureReadResult,
  Captures,
  type CaptureTotals,
} from './capture.ts';
export {
  answer,
  type ControlContext,
  hostDeviceExists,
  loadRouterConfig,
  routerConfigText,
  runVrProcess,
  type ShowArp,
  type ShowCounters,
  type ShowInterface,
  type ShowNeighbor,
  type ShowRoute,
  type ShowSocket,
  type VrProcessOptions,
  type VrStatusReply,
} from './process.ts';
export {
  ConfigApplyError,
  type LinkOpener,
  openConfiguredLink,
  VirtualRouter,
  type VirtualRouterOptions,
} from './router.ts';
