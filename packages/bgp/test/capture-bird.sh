#!/usr/bin/env bash
# Runs capture-bird.ts and BIRD in two network namespaces of their own (BIRD will not peer over
# 127.0.0.0/8, nor with an address of its own host), joined by a veth pair: 10.179.0.1 and 2001:db8::1
# for the Node listener, 10.179.0.2 and 2001:db8::2 for BIRD. Run as root; the namespaces go when it ends.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ns=nhbgp-$$
ip netns add "$ns-n"
trap 'ip netns del "$ns-n"; ip netns del "$ns-b" 2>/dev/null || true' EXIT
ip netns add "$ns-b"
ip -n "$ns-n" link add n0 type veth peer name b0 netns "$ns-b"
ip -n "$ns-n" addr add 10.179.0.1/24 dev n0
ip -n "$ns-b" addr add 10.179.0.2/24 dev b0
ip -n "$ns-n" addr add 2001:db8::1/64 dev n0 nodad
ip -n "$ns-b" addr add 2001:db8::2/64 dev b0 nodad
for x in n b; do ip -n "$ns-$x" link set lo up; ip -n "$ns-$x" link set "${x}0" up; done
ip netns exec "$ns-n" env BGP_NS="$ns-b" node "$here/capture-bird.ts"
