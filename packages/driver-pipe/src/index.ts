export type { PipeOptions } from './pipe.ts';
export { createPipePair } from './pipe.ts';
