#!/usr/bin/env bash
# Installs netvpp's test and demo dependencies on Debian 12: etcd, Neutron + MariaDB (for the
# end-to-end suite) and the npm packages. Idempotent and quick when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
pkgs=(etcd-server etcd-client openssl)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# etcd's Debian service is not wanted: tests and the demo start their own on loopback.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now etcd >/dev/null 2>&1 || true; fi
if [ -x scripts/neutron/install.sh ] && [ "${NETVPP_SKIP_NEUTRON:-0}" != 1 ]; then bash scripts/neutron/install.sh; fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
