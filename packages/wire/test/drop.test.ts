import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DROP_REASON_COUNT, Drop } from '@nexthop/wire';

const root = join(import.meta.dirname, '..', '..', '..');
const declaration = join(root, 'packages', 'wire', 'src', 'drop.ts');

/** The TypeScript sources of every package and app (tests, benches and scripts are not code that counts). */
function sourceFiles(): string[] {
  const files: string[] = [];
  for (const group of ['packages', 'apps']) {
    for (const entry of readdirSync(join(root, group), { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const src = join(root, group, entry.name, 'src');
      let names: string[];
      try {
        names = readdirSync(src, { recursive: true, encoding: 'utf8' });
      } catch {
        continue; // a package without src
      }
      for (const name of names) if (name.endsWith('.ts')) files.push(join(src, name));
    }
  }
  return files.filter((f) => f !== declaration);
}

describe('drop reasons', () => {
  it('are numbered 1 to DROP_REASON_COUNT - 1 without gaps', () => {
    const values = Object.values(Drop).sort((a, b) => a - b);
    assert.deepEqual(
      values,
      Array.from({ length: DROP_REASON_COUNT - 1 }, (_, i) => i + 1),
    );
  });

  it('are each used by the code outside drop.ts (a reason nothing counts is dead)', () => {
    const files = sourceFiles();
    assert.ok(files.length > 50, `only ${files.length} source files found under ${root}`);
    const used = new Set<string>();
    for (const file of files) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bDrop\.([A-Z0-9_]+)\b/g)) {
        if (m[1] !== undefined) used.add(m[1]);
      }
    }
    const unused = Object.keys(Drop).filter((name) => !used.has(name));
    assert.deepEqual(
      unused,
      [],
      `declared in packages/wire/src/drop.ts but no packages/*/src or apps/*/src file names Drop.<reason>: count them where the drop happens, or remove them`,
    );
  });
});
