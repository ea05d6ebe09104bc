#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the catalog tests, from Debian's `postgresql` package.
#
#   scripts/services/postgres.sh install              apt-get install postgresql if missing
#   scripts/services/postgres.sh start [DIR] [PORT]   install if missing, initdb once, start, wait
#   scripts/services/postgres.sh stop  [DIR]          stop the cluster (keeps its files)
#   scripts/services/postgres.sh status [DIR]         exit 0 if running
#   scripts/services/postgres.sh url   [DIR] [PORT]   print the URL the tests connect with
#
# Idempotent: `start` on a running cluster only prints its URL. DIR defaults to /tmp/archive-pg
# (ARCHIVE_PG_DIR), PORT to 5433 (ARCHIVE_PG_PORT). The server listens on 127.0.0.1 only.
# initdb refuses to run as root, so as root the cluster belongs to the system user `archive-svc`
# and every server command runs through `runuser`; as any other user it runs as that user.
# The role `archive_test` (LOGIN CREATEDB, no password: trust on 127.0.0.1 for that role only)
# owns the database `archive`; tests create one database per test from template0.
# The cluster is for tests only: fsync and synchronous_commit are off.
set -euo pipefail

SERVICE_USER="${ARCHIVE_SERVICE_USER:-archive-svc}"
TEST_ROLE="archive_test"
TEST_DB="archive"
action="${1:-start}"
DIR="${2:-${ARCHIVE_PG_DIR:-/tmp/archive-pg}}"
PORT="${3:-${ARCHIVE_PG_PORT:-5433}}"
DATA="$DIR/data"
LOG="$DIR/postgres.log"

now() { date +%s.%N; }
T0=$(now)
step_start=$T0
step() {  # step NAME: print how long the step that just finished took
  local t
  t=$(now)
  printf '[postgres] %-28s %6.2f s\n' "$1" "$(awk "BEGIN{print $t - $step_start}")"
  step_start=$t
}

pg_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$bin" ] && [ -x "$bin/initdb" ] && echo "$bin"
}

as_service() {  # run a command as the cluster's owner
  if [ "$(id -u)" = 0 ]; then runuser -u "$SERVICE_USER" -- "$@"; else "$@"; fi
}

install_postgres() {
  if BIN=$(pg_bin); then return; fi
  if [ "$(id -u)" != 0 ]; then
    echo "[postgres] PostgreSQL is not installed; run as root or: sudo apt-get install postgresql" >&2
    exit 3
  fi
  echo "[postgres] apt-get install postgresql"
  # Only refresh the package lists when apt does not know the package yet.
  apt-cache show postgresql >/dev/null 2>&1 || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  BIN=$(pg_bin) || { echo "[postgres] no initdb under /usr/lib/postgresql/*/bin" >&2; exit 3; }
  step "apt-get install"
}

# shellcheck source=service-user.sh
source "$(dirname "${BASH_SOURCE[0]}")/service-user.sh"

url() { echo "postgresql+psycopg://$TEST_ROLE@127.0.0.1:$PORT/$TEST_DB"; }

running() { [ -n "${BIN:-}" ] && [ -f "$DATA/PG_VERSION" ] && as_service "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1; }

psql_admin() {  # SQL as the cluster's superuser over the cluster's own socket
  as_service "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -d postgres "$@"
}

start() {
  install_postgres
  ensure_user
  if running; then
    echo "[postgres] already running in $DATA"
    url
    return
  fi
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown "$SERVICE_USER:" "$DIR"
  chmod 700 "$DIR"
  if ! as_service test -w "$DIR"; then
    echo "[postgres] $SERVICE_USER cannot write to $DIR (a parent folder is closed to it); choose a DIR under /tmp" >&2
    exit 1
  fi
  if [ ! -f "$DATA/PG_VERSION" ]; then
    rm -rf "$DATA"
    # The superuser is named after the OS user, so `peer` lets only that user in over the socket.
    as_service "$BIN/initdb" -D "$DATA" --username="$SERVICE_USER" --encoding=UTF8 --locale=C.UTF-8 \
      --auth-local=peer --auth-host=scram-sha-256 >"$DIR/initdb.log"
    {
      echo "# archive-service test cluster"
      echo "listen_addresses = '127.0.0.1'"
      echo "unix_socket_directories = '$DIR'"
      echo "max_connections = 100"
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
      echo "timezone = 'UTC'"
    } >>"$DATA/postgresql.conf"
    # Trust the test role from 127.0.0.1 only; everything else keeps initdb's rules.
    sed -i "1i host all $TEST_ROLE 127.0.0.1/32 trust" "$DATA/pg_hba.conf"
    step "initdb"
  fi
  if ! as_service "$BIN/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 -o "-p $PORT" >/dev/null; then
    echo "[postgres] the server did not start; last lines of $LOG:" >&2
    tail -n 20 "$LOG" >&2 || true
    exit 1
  fi
  step "pg_ctl start"
  for _ in $(seq 1 100); do
    "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
    sleep 0.1
  done
  "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" || { echo "[postgres] not ready on port $PORT" >&2; exit 1; }
  step "ready on 127.0.0.1:$PORT"
  if [ "$(psql_admin -tA -c "SELECT 1 FROM pg_roles WHERE rolname = '$TEST_ROLE'")" != 1 ]; then
    psql_admin -c "CREATE ROLE $TEST_ROLE LOGIN CREATEDB"
  fi
  if [ "$(psql_admin -tA -c "SELECT 1 FROM pg_database WHERE datname = '$TEST_DB'")" != 1 ]; then
    psql_admin -c "CREATE DATABASE $TEST_DB OWNER $TEST_ROLE TEMPLATE template0 ENCODING 'UTF8'"
  fi
  step "role and database"
  printf '[postgres] %-28s %6.2f s\n' "total" "$(awk "BEGIN{print $(now) - $T0}")"
  url
}

stop() {
  BIN=$(pg_bin) || { echo "[postgres] not installed"; return; }
  if running; then
    as_service "$BIN/pg_ctl" stop -D "$DATA" -m fast -w >/dev/null
    step "pg_ctl stop"
  else
    echo "[postgres] not running in $DATA"
  fi
}

case "$action" in
  install) install_postgres ;;
  start) start ;;
  stop) stop ;;
  status) BIN=$(pg_bin) || exit 3; running ;;
  url) url ;;
  *) echo "usage: $0 install|start|stop|status|url [DIR] [PORT]" >&2; exit 2 ;;
esac
