export type { CapturedFrame } from './capture.ts';
export { CaptureRing } from './capture.ts';
export type { PcapsOnFailureOptions, TestContextLike } from './failure.ts';
export { withPcapsOnFailure } from './failure.ts';
export type {
  Impairments,
  LinkCounters,
  LinkDirection,
  LinkDirectionName,
  LinkEndpoint,
  LinkOptions,
  LinkSide,
} from './link.ts';
export { DEFAULT_IMPAIRMENTS, SimLink } from './link.ts';
export { deriveSeed, hashString, Prng } from './prng.ts';
export type { NodeStats, RunOptions, RunResult, SimOptions } from './sim.ts';
export { Sim } from './sim.ts';
