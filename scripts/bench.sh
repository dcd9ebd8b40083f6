#!/usr/bin/env bash
# Runs every benchmark under bench/ (bench/*.ts; libraries live in bench/lib/ and are not run) and
# prints their Markdown. Needs root (namespaces, AF_PACKET); called by `npm run bench` after setup.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

status=0
for bench in bench/*.ts; do
  echo "## $(basename "$bench" .ts)"
  echo
  # Each benchmark bounds its own runs; the timeout is a last resort against a hang.
  if ! timeout --kill-after=10 1800 node "$bench"; then
    echo "bench: $bench failed" >&2
    status=1
  fi
  echo
done
exit "$status"
