#!/bin/bash
# Install what the Neutron end-to-end tests and the demo need, from Debian only:
# neutron-server (Zed) with python3-neutron, the openstack CLI and MariaDB, Neutron's DHCP agent
# (with dnsmasq) and RabbitMQ for its RPC (tests start their own broker); then the
# netvpp ML2 driver from neutron/ as an editable package into Debian's python3.
# Idempotent: when everything is present it only re-checks (about a second).
# Needs root and apt. Usage: scripts/neutron/install.sh [--no-driver]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3   # Debian's python; a pyenv shim on PATH has no Neutron
PKGS="neutron-server python3-neutron python3-openstackclient mariadb-server neutron-dhcp-agent rabbitmq-server python3-neutron-taas"
T0=$(date +%s)
log() { echo "[neutron-install +$(($(date +%s) - T0))s] $*"; }

installed() {
  # dpkg -s alone is true for packages that are removed but not purged
  local p
  for p in $PKGS; do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || return 1
  done
}

if installed; then
  log "Debian packages already installed"
else
  [ "$(id -u)" = 0 ] || { echo "install.sh: must run as root (apt-get)" >&2; exit 1; }
  created_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    # keep maintainer scripts from starting MariaDB / neutron-api / the DHCP agent / RabbitMQ:
    # nothing would record their PIDs
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  trap '[ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT
  log "apt-get update"
  apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null
  log "apt-get install $PKGS"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 \
    --no-install-recommends $PKGS
  log "packages installed"
fi

if [ "${1:-}" != "--no-driver" ]; then
  # Editable install: the package in the tree is what neutron-server loads. Skip pip (about 3 s)
  # when the entry points already resolve to this tree's copy — every one pyproject.toml declares
  # (an install from before the gpe type driver lacks it, and neutron-server then refuses gpe).
  if $PY - "$ROOT/neutron" <<'PYEOF' 2>/dev/null; then
import os, sys, tomllib
from importlib.metadata import entry_points
import networking_netvpp
with open(os.path.join(sys.argv[1], 'pyproject.toml'), 'rb') as f:
    declared = tomllib.load(f)['project']['entry-points']
registered = {(g, e.name, e.value) for g in declared for e in entry_points(group=g)}
missing = [(g, n, v) for g, eps in declared.items() for n, v in eps.items() if (g, n, v) not in registered]
here = os.path.realpath(os.path.join(sys.argv[1], 'networking_netvpp'))
ok = not missing and os.path.realpath(os.path.dirname(networking_netvpp.__file__)) == here
sys.exit(0 if ok else 1)
PYEOF
    log "networking-netvpp already installed from $ROOT/neutron"
  else
    log "pip install -e $ROOT/neutron (offline)"
    $PY -m pip install -q --no-deps --no-build-isolation --no-index \
      --break-system-packages -e "$ROOT/neutron"
    log "networking-netvpp installed"
  fi
fi
log "done"
