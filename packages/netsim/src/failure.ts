import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sim } from './sim.ts';

/**
 * The part of node:test's TestContext this needs. `passed` exists at run time in Node 24 (set
 * before `after` hooks run) though @types/node does not declare it yet.
 */
export interface TestContextLike {
  readonly name: string;
  after(fn: () => void): void;
}

export interface PcapsOnFailureOptions {
  /** Parent of the per-test directory; the OS temp dir unless told. */
  baseDir?: string;
  /** Write the pcaps even when the test passes. */
  always?: boolean;
  /** Where the path is reported; console.error unless told. */
  log?: (line: string) => void;
}

/**
 * Registers an `after` hook on test `t` that, if the test failed, writes every capture of `sim`
 * to a fresh temp directory and prints where, with the seed and virtual time to reproduce it.
 */
export function withPcapsOnFailure(sim: Sim, t: TestContextLike, options: PcapsOnFailureOptions = {}): void {
  t.after(() => {
    const passed = (t as { passed?: boolean }).passed;
    if (passed === true && !options.always) return;
    const safeName = t.name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60);
    const dir = mkdtempSync(join(options.baseDir ?? tmpdir(), `netsim-${safeName}-`));
    const files = sim.writePcaps(dir);
    const log = options.log ?? ((line: string) => console.error(line));
    log(
      `netsim: ${passed === true ? 'test' : 'failed test'} '${t.name}' (seed ${sim.seed}, virtual time ` +
        `${sim.now} ms): ${files.length} pcaps in ${dir}`,
    );
  });
}
