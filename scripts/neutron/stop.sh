#!/bin/bash
# Stop what scripts/neutron/start.sh started (by its recorded PIDs) and remove its database.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${NETVPP_NEUTRON_WORK:-$ROOT/.netvpp/neutron}

stop_group() {  # SIGTERM the process group led by the recorded pid, SIGKILL what is left after 15 s
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  kill -KILL -- "-$pid" 2>/dev/null || true   # workers that outlived the parent
  rm -f "$pidfile"
}
stop_group "$WORK/neutron-server.pid"
stop_group "$WORK/mariadb.pid"
if [ -f "$WORK/mariadb.datadir" ]; then
  rm -rf "$(cat "$WORK/mariadb.datadir")"
  rm -f "$WORK/mariadb.datadir"
fi
echo "neutron-server and MariaDB stopped (logs kept in $WORK/logs)"
