#!/bin/bash
# Start a throw-away MariaDB + neutron-server (Zed, ML2, noauth) with the netvpp driver, in the
# background, for the demo and for trying things by hand. Tests use test/e2e/neutron-harness.ts,
# which renders the same configuration (scripts/neutron/etc/).
#
#   scripts/neutron/start.sh            # start; prints the endpoint and how to use the CLI
#   scripts/neutron/stop.sh             # stop both, remove the database
#
# Environment (all optional):
#   NETVPP_NEUTRON_WORK     work dir: configs, logs, pids (default .netvpp/neutron in the repo)
#   NETVPP_CONTROLLER_URL   controller the driver talks to (default http://127.0.0.1:9797)
#   NETVPP_CONTROLLER_TOKEN_FILE, NETVPP_CONTROLLER_CA_FILE   the driver's [ml2_netvpp]
#                           auth_token_file and ca_file (default: none)
#   NEUTRON_PORT            API port (default 9696)    NEUTRON_DB_PORT  MariaDB port (default 13306)
#   NETVPP_VHOST_DIR        vhost-user socket directory for binding:vif_details
#                           (default /var/run/netvpp/vhost)
#   NETVPP_TRANSPORT_URL    oslo.messaging transport (default fake://: no RPC between
#                           processes); a rabbit:// URL turns the DHCP agent notifications on
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ETC_SRC=$ROOT/scripts/neutron/etc
WORK=${NETVPP_NEUTRON_WORK:-$ROOT/.netvpp/neutron}
API_PORT=${NEUTRON_PORT:-9696}
DB_PORT=${NEUTRON_DB_PORT:-13306}
CONTROLLER_URL=${NETVPP_CONTROLLER_URL:-http://127.0.0.1:9797}
SOCKET_DIR=${NETVPP_VHOST_DIR:-/var/run/netvpp/vhost}
TRANSPORT_URL=${NETVPP_TRANSPORT_URL:-fake://}
DHCP_NOTIFY=true; [ "$TRANSPORT_URL" = fake:// ] && DHCP_NOTIFY=false
PY=/usr/bin/python3
SHM=/dev/shm; [ -d $SHM ] || SHM=${TMPDIR:-/tmp}
T0=$(date +%s%N)
log() { local ms=$((($(date +%s%N) - T0) / 1000000)); printf '[neutron %d.%01ds] %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$*"; }
die() { echo "start.sh: $*" >&2; exit 1; }

# Load the driver from this tree, whichever clone pip's editable install registered.
export PYTHONPATH=$ROOT/neutron${PYTHONPATH:+:$PYTHONPATH}
for bin in $PY /usr/sbin/mariadbd /usr/bin/mariadb-install-db /usr/bin/mariadb; do
  [ -x $bin ] || die "$bin missing: run scripts/neutron/install.sh first"
done
$PY -c 'import networking_netvpp, neutron' 2>/dev/null || die "neutron or networking-netvpp missing for $PY: run scripts/neutron/install.sh first"
if [ -f "$WORK/neutron-server.pid" ] && kill -0 "$(cat "$WORK/neutron-server.pid")" 2>/dev/null; then
  die "already running (pid $(cat "$WORK/neutron-server.pid")); scripts/neutron/stop.sh first"
fi

mkdir -p "$WORK"/{etc,logs,bin,state/lock}
DATADIR=$(mktemp -d "$SHM/netvpp-mariadb-XXXXXX")   # tmpfs: Neutron's migrations take ~3 s, not ~30 s
echo "$DATADIR" > "$WORK/mariadb.datadir"
render() {  # template → file, replacing @VARS@
  sed -e "s|@DATADIR@|$DATADIR|g" -e "s|@DB_PORT@|$DB_PORT|g" -e "s|@API_PORT@|$API_PORT|g" \
      -e "s|@ETC@|$WORK/etc|g" -e "s|@WORK@|$WORK|g" -e "s|@DEBUG@|${NEUTRON_DEBUG:-false}|g" \
      -e "s|@CONTROLLER_URL@|$CONTROLLER_URL|g" -e "s|@SOCKET_DIR@|$SOCKET_DIR|g" \
      -e "s|@TRANSPORT_URL@|$TRANSPORT_URL|g" -e "s|@DHCP_AGENT_NOTIFICATION@|$DHCP_NOTIFY|g" \
      -e "s|@TOKEN_FILE@|${NETVPP_CONTROLLER_TOKEN_FILE:-}|g" -e "s|@CA_FILE@|${NETVPP_CONTROLLER_CA_FILE:-}|g" "$ETC_SRC/$1" > "$2"
  ! grep -q '@[A-Z_]*@' "$2" || die "unfilled placeholder in $2"
}
render mariadb.cnf.in "$WORK/etc/mariadb.cnf"
render neutron.conf.in "$WORK/etc/neutron.conf"
render ml2_conf.ini.in "$WORK/etc/ml2_conf.ini"
cp "$ETC_SRC/api-paste.ini" "$WORK/etc/api-paste.ini"
printf '#!%s\nimport sys\nfrom neutron.cmd.eventlet.server import main\nsys.exit(main())\n' $PY > "$WORK/bin/neutron-server"
printf '#!%s\nimport sys\nfrom neutron.db.migration.cli import main\nsys.exit(main())\n' $PY > "$WORK/bin/neutron-db-manage"
chmod +x "$WORK/bin/"*

USER_ARG=; [ "$(id -u)" = 0 ] && USER_ARG=--user=mysql
mariadb-install-db $USER_ARG --datadir="$DATADIR" --skip-test-db > "$WORK/logs/mariadb-install-db.log" 2>&1
setsid /usr/sbin/mariadbd --defaults-file="$WORK/etc/mariadb.cnf" $USER_ARG >> "$WORK/logs/mariadb.log" 2>&1 < /dev/null &
echo $! > "$WORK/mariadb.pid"
SQL() { mariadb --socket="$DATADIR/mysqld.sock" "$@"; }
for _ in $(seq 1 150); do SQL -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
SQL -e "CREATE DATABASE neutron CHARACTER SET utf8mb4;
        CREATE USER 'neutron'@'127.0.0.1' IDENTIFIED BY 'neutronpw';
        GRANT ALL PRIVILEGES ON neutron.* TO 'neutron'@'127.0.0.1';"
log "MariaDB up on 127.0.0.1:$DB_PORT (pid $(cat "$WORK/mariadb.pid"), datadir $DATADIR)"

CONF="--config-file $WORK/etc/neutron.conf --config-file $WORK/etc/ml2_conf.ini"
"$WORK/bin/neutron-db-manage" $CONF upgrade heads > "$WORK/logs/db-manage.log" 2>&1 \
  || { tail -20 "$WORK/logs/db-manage.log"; die "neutron-db-manage failed"; }
log "schema migrated (neutron + networking-netvpp)"

# own session (process group), so stop.sh reaches the workers neutron-server forks
setsid "$WORK/bin/neutron-server" $CONF >> "$WORK/logs/neutron-server.stdout" 2>&1 < /dev/null &
echo $! > "$WORK/neutron-server.pid"
for _ in $(seq 1 600); do
  curl -sf -o /dev/null "http://127.0.0.1:$API_PORT/v2.0/networks" && break
  kill -0 "$(cat "$WORK/neutron-server.pid")" 2>/dev/null || { tail -30 "$WORK/logs/neutron-server.log"; die "neutron-server exited"; }
  sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:$API_PORT/v2.0/networks" || die "neutron-server does not answer"
log "neutron-server answering on http://127.0.0.1:$API_PORT (pid $(cat "$WORK/neutron-server.pid"), driver -> $CONTROLLER_URL)"
cat <<EOT
  CLI:   openstack --os-auth-type none --os-endpoint http://127.0.0.1:$API_PORT network list
  logs:  $WORK/logs/neutron-server.log
  stop:  NETVPP_NEUTRON_WORK=$WORK scripts/neutron/stop.sh
EOT
