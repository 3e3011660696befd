#!/usr/bin/env bash
# Installs what netvpp's tests and demo need on Debian 12: etcd (tests and the demo start their
# own), openssl (TLS tests), ethtool (veth-backed tap ports), chromium (the dashboard test), systemd
# (systemd-analyze checks the units; present on any Debian 12 machine, absent in container images),
# Neutron + MariaDB (the end-to-end suite), the real-guest kit's packages (qemu-system-x86,
# linux-image-amd64, busybox-static, cpio, kmod, socat: test/dataplane/guest.ts; not for the demo),
# iperf3 and tcpdump (test/dataplane/qos.test.ts; not for the demo) and the npm packages.
# Idempotent, and quick when everything is present.
#   --demo   skip Neutron unless it is installed already (the demo runs without it)
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
demo=0
[ "${1:-}" = "--demo" ] && demo=1
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
# chromium: the dashboard test's headless browser (driven by playwright-core; not for the demo).
browser=chromium
[ "$demo" = 1 ] && browser=""
# the guest kit (test/dataplane/guest.ts): a QEMU guest booting Debian's kernel from a busybox initramfs
guest="qemu-system-x86 linux-image-amd64 busybox-static cpio kmod socat"
[ "$demo" = 1 ] && guest=""
# the real-VPP QoS test (test/dataplane/qos.test.ts): iperf3 measures a bandwidth limit, tcpdump
# shows the DSCP bits on the wire (not for the demo)
measure="iperf3 tcpdump"
[ "$demo" = 1 ] && measure=""
# iputils-ping: the real-VPP dataplane tests count pings between namespaces.
for p in etcd-server openssl ethtool systemd iputils-ping $browser $guest $measure; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  # policy-rc.d keeps the package from starting a system-wide etcd we would not use.
  created=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    created=1
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -n "$created" ] && $SUDO rm -f /usr/sbin/policy-rc.d
fi

if [ "$demo" = 0 ] || command -v neutron-server >/dev/null 2>&1; then
  if [ "${NETVPP_SKIP_NEUTRON:-0}" != 1 ]; then $SUDO bash scripts/neutron/install.sh; fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "install-deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
