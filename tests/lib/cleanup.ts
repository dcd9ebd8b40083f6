import { after } from 'node:test';
import { cleanupOnExit, destroyAll } from '@nexthop/netns';

/** Registers namespace removal in the calling test file's after() hook. Call at module top level. */
export function useNetnsCleanup(): void {
  cleanupOnExit();
  after(() => destroyAll());
}
