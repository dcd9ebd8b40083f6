// Golden sequences for the session engine (DESIGN §7, as holo does): each fixtures/fsm/*.jsonl
// file is a script of steps (decoded messages in, time, connections) and the actions the engine
// must take (messages out, decoded; connects, closes; routes to the sink; state changes).
// `GOLDEN_UPDATE=1 node --test packages/bgp/test/fsm-golden.test.ts` rewrites the expectations.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runScript, type Step } from './script.ts';

const dir = join(import.meta.dirname, 'fixtures', 'fsm');

for (const file of readdirSync(dir).filter((f) => f.endsWith('.jsonl'))) {
  test(`golden: ${file}`, () => {
    const path = join(dir, file);
    const lines = readFileSync(path, 'utf8').split('\n');
    const steps: Step[] = [];
    const comments: Map<number, string[]> = new Map();
    let pending: string[] = [];
    for (const line of lines) {
      if (line.trim() === '') continue;
      if (line.startsWith('#')) {
        pending.push(line);
        continue;
      }
      if (pending.length > 0) comments.set(steps.length, pending);
      pending = [];
      steps.push(JSON.parse(line) as Step);
    }
    const { actual, mismatches } = runScript(steps);
    if (process.env.GOLDEN_UPDATE === '1') {
      const out: string[] = [];
      actual.forEach((s, i) => {
        out.push(...(comments.get(i) ?? []));
        out.push(JSON.stringify(s));
      });
      out.push(...pending);
      writeFileSync(path, `${out.join('\n')}\n`);
      return;
    }
    assert.deepEqual(mismatches, []);
  });
}
