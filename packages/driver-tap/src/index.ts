export type { TapOptions } from './tap.ts';
export { openTap } from './tap.ts';
