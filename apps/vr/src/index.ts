export { loadRouterConfig, runVrProcess, type VrProcessOptions } from './process.ts';
export { type LinkOpener, openConfiguredLink, VirtualRouter, type VirtualRouterOptions } from './router.ts';
