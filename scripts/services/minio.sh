#!/usr/bin/env bash
# MinIO (S3 object store with object lock) for the tests and for operators, built from source.
#
#   scripts/services/minio.sh install                 go install the pinned MinIO once (5-15 min cold)
#   scripts/services/minio.sh start  [DIR] [PORT]     install if missing, start, wait until live
#   scripts/services/minio.sh stop   [DIR]            stop the server started from DIR (keeps its data)
#   scripts/services/minio.sh status [DIR]            exit 0 if the server of DIR is running
#   scripts/services/minio.sh path                    print the minio binary's path (exit 3 if absent)
#
# MinIO publishes no binaries any more (source-only since 2025-10) and its repository is archived,
# so the last release is built with `go install` (spec: services.md, reference/tech.md §1). The Go
# module cache, build cache and binary live under ~/.cache/archive-service/go, never in the repo
# (ARCHIVE_CACHE overrides ~/.cache/archive-service).
#
# Idempotent: `install` with the binary present does nothing; `start` on a running server only
# says so. DIR defaults to /tmp/archive-minio (ARCHIVE_MINIO_DIR): data in DIR/data, log in
# DIR/minio.log, pid in DIR/minio.pid. PORT defaults to 9010 (ARCHIVE_MINIO_PORT); the console
# address is PORT+1 (the browser is off). Both bind to 127.0.0.1 only. Credentials come from
# MINIO_ROOT_USER / MINIO_ROOT_PASSWORD, defaulting to test-only values; set real ones in production.
set -euo pipefail

MINIO_MODULE="github.com/minio/minio"
MINIO_TAG="RELEASE.2025-10-15T17-29-55Z"              # services.md pin (the proxy may refuse the tag name)
MINIO_PSEUDO="v0.0.0-20260212201848-7aac2a2c5b7c"      # frozen master HEAD (reference/tech.md §1.1)
CACHE="${ARCHIVE_CACHE:-$HOME/.cache/archive-service}"
export GOBIN="$CACHE/go/bin" GOPATH="$CACHE/go/path" GOCACHE="$CACHE/go/cache"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-trimpath
BINARY="$GOBIN/minio"

action="${1:-start}"
DIR="${2:-${ARCHIVE_MINIO_DIR:-/tmp/archive-minio}}"
PORT="${3:-${ARCHIVE_MINIO_PORT:-9010}}"
CONSOLE_PORT=$((PORT + 1))
PIDFILE="$DIR/minio.pid"
LOG="$DIR/minio.log"
export MINIO_ROOT_USER="${MINIO_ROOT_USER:-archive-test}"
export MINIO_ROOT_PASSWORD="${MINIO_ROOT_PASSWORD:-archive-test-secret}"

now() { date +%s.%N; }
T0=$(now)
step_start=$T0
step() {  # step NAME: print how long the step that just finished took
  local t
  t=$(now)
  printf '[minio] %-30s %7.2f s\n' "$1" "$(awk "BEGIN{print $t - $step_start}")"
  step_start=$t
}

installed() { [ -x "$BINARY" ] && "$BINARY" --version >/dev/null 2>&1; }

install_minio() {
  if installed; then
    echo "[minio] installed: $BINARY"
    return
  fi
  command -v go >/dev/null || { echo "[minio] Go is required to build MinIO (go install)" >&2; exit 3; }
  mkdir -p "$GOBIN" "$GOPATH" "$GOCACHE"
  echo "[minio] building $MINIO_MODULE (cold: 5-15 min on 2 cores; cached in $CACHE/go)"
  if go install "$MINIO_MODULE@$MINIO_TAG"; then
    step "go install @$MINIO_TAG"
  else
    echo "[minio] the module proxy refused @$MINIO_TAG; using the frozen pseudo-version $MINIO_PSEUDO"
    go install "$MINIO_MODULE@$MINIO_PSEUDO"
    step "go install @$MINIO_PSEUDO"
  fi
  installed || { echo "[minio] the build produced no working $BINARY" >&2; exit 1; }
}

live() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/minio/health/live" 2>/dev/null; }

running() {
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid=$(cat "$PIDFILE")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = minio ]
}

start() {
  install_minio
  if running; then
    echo "[minio] already running (pid $(cat "$PIDFILE")) with data in $DIR/data"
    return
  fi
  if live; then
    echo "[minio] port $PORT already answers, but not for the server of $DIR; choose another port" >&2
    exit 1
  fi
  mkdir -p "$DIR/data"
  chmod 700 "$DIR"
  MINIO_BROWSER=off MINIO_UPDATE=off nohup "$BINARY" server "$DIR/data" \
    --address "127.0.0.1:$PORT" --console-address "127.0.0.1:$CONSOLE_PORT" --quiet \
    >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 300); do
    live && break
    if ! running; then
      echo "[minio] the server exited; last lines of $LOG:" >&2
      tail -n 20 "$LOG" >&2 || true
      rm -f "$PIDFILE"
      exit 1
    fi
    sleep 0.1
  done
  live || { echo "[minio] not live on 127.0.0.1:$PORT after 30 s; see $LOG" >&2; exit 1; }
  step "live on 127.0.0.1:$PORT"
  echo "[minio] endpoint http://127.0.0.1:$PORT  pid $(cat "$PIDFILE")  data $DIR/data"
}

stop() {
  if ! running; then
    echo "[minio] not running for $DIR"
    rm -f "$PIDFILE"
    return
  fi
  local pid
  pid=$(cat "$PIDFILE")
  kill -TERM "$pid"
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    echo "[minio] did not stop within 10 s; killed pid $pid"
  fi
  rm -f "$PIDFILE"
  step "stopped pid $pid"
}

case "$action" in
  install) install_minio ;;
  start) start ;;
  stop) stop ;;
  status) running ;;
  path) installed && echo "$BINARY" || exit 3 ;;
  *) echo "usage: $0 install|start|stop|status|path [DIR] [PORT]" >&2; exit 2 ;;
esac
