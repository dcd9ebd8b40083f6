// Fails when a package imports upward in the layering of DESIGN.md §3, imports a workspace package
// it does not declare, or (below layer 4) reaches for node:* or Buffer.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');

interface Pkg {
  name: string;
  dir: string;
  layer: number;
  deps: Set<string>;
}

const MAY_IMPORT: Record<number, (layer: number) => boolean> = {
  0: (l) => l === 0,
  1: (l) => l === 0,
  2: (l) => l <= 1,
  3: (l) => l <= 2,
  // Layer 4 packages share the native addon loader and the namespace kit: sideways, never upward.
  4: (l) => l <= 4,
  5: () => true,
};

function readPackages(): Map<string, Pkg> {
  const pkgs = new Map<string, Pkg>();
  for (const group of ['packages', 'apps']) {
    const groupDir = join(root, group);
    for (const entry of readdirSync(groupDir)) {
      const dir = join(groupDir, entry);
      let meta: { name: string; nexthop?: { layer?: number }; dependencies?: Record<string, string> };
      try {
        meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      } catch {
        continue;
      }
      const layer = meta.nexthop?.layer;
      if (typeof layer !== 'number' || !(layer in MAY_IMPORT)) {
        throw new Error(
          `${relative(root, dir)}/package.json: "nexthop": { "layer": N } is missing or not 0..5`,
        );
      }
      if (group === 'apps' && layer !== 5) throw new Error(`${meta.name}: apps are layer 5`);
      pkgs.set(meta.name, {
        name: meta.name,
        dir,
        layer,
        deps: new Set(Object.keys(meta.dependencies ?? {})),
      });
    }
  }
  return pkgs;
}

function* tsFiles(dir: string): Generator<string> {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (entry === 'node_modules' || entry === 'build') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* tsFiles(path);
    else if (path.endsWith('.ts')) yield path;
  }
}

const IMPORT_RE =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

const rootMeta = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const rootDeps = new Set([
  ...Object.keys(rootMeta.dependencies ?? {}),
  ...Object.keys(rootMeta.devDependencies ?? {}),
]);

const pkgs = readPackages();
const problems: string[] = [];
for (const pkg of pkgs.values()) {
  for (const file of tsFiles(pkg.dir)) {
    const rel = relative(root, file);
    const isTest = rel.includes('/test/') || rel.includes('/bench/');
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2]!;
      if (spec.startsWith('.')) {
        if (spec.includes('/src/') && spec.startsWith('../..'))
          problems.push(`${rel}: reaches into another package: '${spec}'`);
        continue;
      }
      if (spec.startsWith('node:')) {
        if (pkg.layer < 4 && !isTest)
          problems.push(`${rel}: layer ${pkg.layer} imports '${spec}' (node:* is layer 4+)`);
        continue;
      }
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      const target = pkgs.get(name);
      if (target === undefined) {
        if (!pkg.deps.has(name) && !(isTest && rootDeps.has(name))) {
          problems.push(`${rel}: imports '${name}', which ${pkg.name}/package.json does not declare`);
        }
        continue;
      }
      if (target.name === pkg.name) continue;
      if (!pkg.deps.has(name) && !isTest) problems.push(`${rel}: imports '${name}' without declaring it`);
      const allowed = MAY_IMPORT[pkg.layer]!(target.layer) || (isTest && target.layer <= pkg.layer);
      if (!allowed)
        problems.push(`${rel}: layer ${pkg.layer} (${pkg.name}) imports layer ${target.layer} (${name})`);
    }
    if (pkg.layer < 4 && !isTest && /\bBuffer\b/.test(text.replace(/\/\/.*$/gm, ''))) {
      problems.push(`${rel}: layer ${pkg.layer} uses Buffer (use Uint8Array)`);
    }
  }
}
if (problems.length > 0) {
  console.error(`layering: ${problems.length} problem(s)`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`layering: ${pkgs.size} packages checked, no upward or undeclared imports`);
