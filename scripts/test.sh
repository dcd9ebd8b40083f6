#!/usr/bin/env bash
# The whole test suite, as CI runs it: static checks, C sanitizer and fuzz runs, unit, property
# and simulation tests, then the network-namespace integration tests (root).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

echo "== static checks (node $(node --version))"
tsc -p .
biome check .
node scripts/check-layers.ts

if [ -f native/Makefile.check ]; then
  echo "== C: sanitizer build and bounded fuzzing"
  make -s -C native -f Makefile.check check
fi

echo "== unit, property and simulation tests"
node --test --test-reporter=spec 'packages/*/test/**/*.test.ts' 'apps/*/test/**/*.test.ts'

if compgen -G 'tests/integration/*.test.ts' >/dev/null; then
  echo "== network-namespace integration tests"
  node --test --test-reporter=spec --test-concurrency=1 'tests/integration/*.test.ts'
fi
