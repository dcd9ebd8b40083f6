// The stack's transport directories import downwards only: socket/ may use tcp/, and both use
// sockapi/ (the socket API's shared shapes, errno, ports, random and hash), while tcp/ sees neither
// the socket layer nor the Stack, and sockapi/ sees none of the three. Inside socket/, the parts
// (binding, stream, datagram, events, ...) see neither the façade (layer.ts) nor core.ts that
// wires them, and core.ts does not see layer.ts.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const SRC = join(import.meta.dirname, '../src');
const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/g;

function importsOf(dir: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const f of readdirSync(join(SRC, dir))) {
    if (!f.endsWith('.ts')) continue;
    const text = readFileSync(join(SRC, dir, f), 'utf8');
    for (const m of text.matchAll(IMPORT_RE)) out.push([`${dir}/${f}`, m[1]!]);
  }
  return out;
}

const FORBIDDEN: Record<string, RegExp> = {
  sockapi: /^\.\.\/(socket|tcp)\/|^\.\.\/stack\.ts$/,
  tcp: /^\.\.\/socket\/|^\.\.\/stack\.ts$/,
  socket: /^\.\.\/stack\.ts$/,
};

for (const [dir, bad] of Object.entries(FORBIDDEN)) {
  test(`${dir}/ imports only downwards`, () => {
    const wrong = importsOf(dir).filter(([, spec]) => bad.test(spec));
    assert.deepEqual(wrong, []);
  });
}

test('socket/ parts import neither the façade nor its core', () => {
  const wrong = importsOf('socket').filter(([file, spec]) => {
    if (file === 'socket/layer.ts') return false;
    if (file === 'socket/core.ts') return spec === './layer.ts';
    return spec === './layer.ts' || spec === './core.ts';
  });
  assert.deepEqual(wrong, []);
});
