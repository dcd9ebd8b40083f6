#!/usr/bin/env bash
# Captures the IPv6 reference frames of golden-ipv6.ts from real Linux (run as root; not part of the
# test suite). Usage: bash capture-ipv6.sh OUTDIR
#
#   A (host) ──┐                      ┌── D (router for 2001:db8:77::/48)
#              ├── bridge br0 in S ───┤
#   B (router) ┘  (MLDv2 querier)     │
#   B ── 1280-byte link ── C (host)
#
# A  a0 02:00:00:00:00:0a  2001:db8:1::1/64        default via B's link-local
# S  br0 02:00:00:00:00:05                           the bridge's own link-local address is the querier
# B  b0 02:00:00:00:00:0b  2001:db8:1::2/64        forwarding; 2001:db8:77::/48 via D (redirect);
#    b1 02:00:00:00:01:0b  2001:db8:2::2/64        unreachable 2001:db8:88::/48; prohibit 2001:db8:89::/48
# C  c0 02:00:00:00:00:0c  2001:db8:2::3/64        default via 2001:db8:2::2
# D  d0 02:00:00:00:00:0d  2001:db8:1::4/64        2001:db8:77::1 on lo
#
# Everything is captured on S's port to A, so the file holds what A sent and what reached A.
# Frames that Linux cannot be made to send (an RA, packets with odd extension headers) are built by
# inject-ipv6.py and sent from B or A; what Linux answers to them, and that A's Linux accepted the
# RA (its SLAAC address, MTU and default route are printed), is the check on them.
# golden-ipv6.ts holds frames of one run; another run differs in flow labels, fragment ids, nonces
# and timestamps, so a new capture means new constants, not a diff to apply.
set -euo pipefail
out=${1:?usage: capture-ipv6.sh OUTDIR}
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
tag=nhw6-$$
A=$tag-a B=$tag-b C=$tag-c D=$tag-d S=$tag-s
tcpdump_pid=

cleanup() {
  if [[ -n $tcpdump_pid ]]; then kill "$tcpdump_pid" 2>/dev/null || true; fi
  for ns in $A $B $C $D $S; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT

for ns in $A $B $C $D $S; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done

ip -n $S link add br0 type bridge mcast_snooping 1 mcast_querier 1 mcast_mld_version 2 \
  mcast_query_interval 1000 mcast_startup_query_interval 300 mcast_startup_query_count 2 \
  mcast_query_response_interval 100
ip -n $S link set br0 address 02:00:00:00:00:05
for host in a b d; do
  ns_var=${host^^}
  ip -n $S link add s$host type veth peer name ${host}0 netns ${!ns_var}
  ip netns exec $S sysctl -qw net.ipv6.conf.s$host.disable_ipv6=1
  ip -n $S link set s$host master br0
done
ip -n $B link add b1 type veth peer name c0 netns $C

ip -n $A link set a0 address 02:00:00:00:00:0a
ip -n $B link set b0 address 02:00:00:00:00:0b
ip -n $B link set b1 address 02:00:00:00:01:0b mtu 1280
ip -n $C link set c0 address 02:00:00:00:00:0c mtu 1280
ip -n $D link set d0 address 02:00:00:00:00:0d
ip netns exec $B sysctl -qw net.ipv6.conf.all.forwarding=1
ip netns exec $D sysctl -qw net.ipv6.conf.all.forwarding=1

ip -n $S link set sa up
ip netns exec $S tcpdump -n -i sa -U -s 2048 -w "$out/ipv6.pcap" -Z root 2>"$out/tcpdump.log" &
tcpdump_pid=$!
sleep 1
for p in sb sd; do ip -n $S link set $p up; done
ip -n $S link set br0 up

ip -n $A link set a0 up
ip -n $B link set b0 up
ip -n $B link set b1 up
ip -n $C link set c0 up
ip -n $D link set d0 up
ip -n $A addr add 2001:db8:1::1/64 dev a0
ip -n $B addr add 2001:db8:1::2/64 dev b0
ip -n $B addr add 2001:db8:2::2/64 dev b1
ip -n $C addr add 2001:db8:2::3/64 dev c0
ip -n $D addr add 2001:db8:1::4/64 dev d0
ip -n $D addr add 2001:db8:77::1/48 dev lo

# Wait for duplicate address detection everywhere (RFC 4862 §5.4).
for i in $(seq 50); do
  busy=0
  for ns in $A $B $C $D; do
    if ip -n "$ns" -6 addr show | grep -q tentative; then busy=1; fi
  done
  [[ $busy == 0 ]] && break
  sleep 0.2
done

ip -n $A -6 route add default via fe80::ff:fe00:b dev a0
ip -n $C -6 route add default via 2001:db8:2::2
ip -n $D -6 route add default via 2001:db8:1::2
ip -n $B -6 route add 2001:db8:77::/48 via fe80::ff:fe00:d dev b0
ip -n $B -6 route add unreachable 2001:db8:88::/48
ip -n $B -6 route add prohibit 2001:db8:89::/48
sleep 2

step() { echo "== $*" >>"$out/steps.log"; }
# First, before the ICMP errors below spend the rate limit: B knows D's MAC, so its redirect carries
# a target link-layer address option.
ip netns exec $B ping -6 -c 1 -W 1 fe80::ff:fe00:d%b0 >/dev/null
step redirect; ip netns exec $A ping -6 -c 1 -W 1 2001:db8:77::1 >>"$out/steps.log" || true
sleep 1.5
step echo; ip netns exec $A ping -6 -c 1 -s 16 2001:db8:1::2 >>"$out/steps.log"
step no-route; ip netns exec $A ping -6 -c 1 -W 1 2001:db8:99::1 >>"$out/steps.log" || true
step unreachable-route; ip netns exec $A ping -6 -c 1 -W 1 2001:db8:88::1 >>"$out/steps.log" || true
step prohibit-route; ip netns exec $A ping -6 -c 1 -W 1 2001:db8:89::1 >>"$out/steps.log" || true
step hop-limit; ip netns exec $A ping -6 -c 1 -W 1 -t 1 2001:db8:2::3 >>"$out/steps.log" || true
step too-big; ip netns exec $A ping -6 -c 1 -W 1 -M do -s 1300 2001:db8:2::3 >>"$out/steps.log" || true
step fragmented; ip netns exec $A ping -6 -c 1 -W 1 -s 1600 2001:db8:1::2 >>"$out/steps.log" || true
step inject; ip netns exec $A $py "$here/inject-ipv6.py" a0 >>"$out/steps.log" 2>&1
# A's static default route would make Linux refuse the RA's (same gateway, same metric) and skip
# the rest of it; the RA installs its own.
ip -n $A -6 route del default
step ra; ip netns exec $B $py "$here/inject-ipv6.py" ra b0 >>"$out/steps.log" 2>&1
sleep 1
step ra-accepted
{
  ip -n $A -6 addr show dev a0
  ip -n $A -6 route show
  ip netns exec $A sysctl net.ipv6.conf.a0.mtu
} >>"$out/steps.log"
step mld-wait; sleep 4
kill "$tcpdump_pid"
wait "$tcpdump_pid" 2>/dev/null || true
tcpdump_pid=
tcpdump -n -v -r "$out/ipv6.pcap" >"$out/ipv6.txt" 2>/dev/null
echo "captured $(grep -c '^[0-9]' "$out/ipv6.txt") frames to $out/ipv6.pcap"
