#!/usr/bin/env bash
# Runs every benchmark under bench/ (bench/*.ts; libraries live in bench/lib/ and are not run) and
# prints their Markdown. Needs root (namespaces, AF_PACKET); called by `npm run bench` after setup.
# bench/bgp-feed.ts (a full BGP table into the VR, BIRD and FRR, ~5 min) takes BENCH_BGP_PREFIXES=N
# for a subset and BENCH_BGP_RUNS=N for medians (see its header).
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
