export type { FrameBatchHandler, Link, LinkKind, LinkStats } from './link.ts';
export type { FrameNode } from './node.ts';
export type { FrameOutput } from './output.ts';
