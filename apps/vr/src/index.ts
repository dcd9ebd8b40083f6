export {
  loadRouterConfig,
  runVrProcess,
  type ShowArp,
  type ShowCounters,
  type ShowInterface,
  type ShowRoute,
  type ShowSocket,
  type VrProcessOptions,
} from './process.ts';
export { type LinkOpener, openConfiguredLink, VirtualRouter, type VirtualRouterOptions } from './router.ts';
