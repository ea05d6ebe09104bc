#!/usr/bin/env bash
# A single-node OpenSearch 2.19.x for the search contract tests and for operators (spec services.md).
#
#   scripts/services/opensearch.sh install                 fetch and unpack the integ-test zip once
#   scripts/services/opensearch.sh start  [DIR] [PORT]     install if missing, start, wait for yellow/green
#   scripts/services/opensearch.sh stop   [DIR]            stop the node started from DIR (keeps its data)
#   scripts/services/opensearch.sh status [DIR] [PORT]     exit 0 if the node of DIR answers on PORT
#   scripts/services/opensearch.sh url    [DIR] [PORT]     print the URL clients connect to
#
# The distribution is Maven Central's `org.opensearch.distribution.integ-test-zip:opensearch:<v>:zip`
# (the newest 2.19.x that resolves; OPENSEARCH_VERSION pins one): 2.x runs on Java 17, 3.x needs 21.
# It has no security plugin (plain HTTP, no auth), no analysis-common and no ICU, so Vietnamese
# folding is done in Python (docs/decisions/0011-opensearch.md). The zip and its unpacked copy live
# under ~/.cache/archive-service/opensearch (ARCHIVE_CACHE overrides ~/.cache/archive-service), never
# in the repository.
#
# OpenSearch refuses to run as root: as root the node runs as the system user `archive-svc`
# (created if missing) through `runuser`. /root is not readable by that user, so `start` copies the
# unpacked distribution to DIR/home once; config in DIR/config, data in DIR/data, logs in DIR/logs,
# pid in DIR/run/opensearch.pid. DIR defaults to /tmp/archive-opensearch (ARCHIVE_OPENSEARCH_DIR),
# PORT to 9201 (ARCHIVE_OPENSEARCH_PORT). HTTP binds to 127.0.0.1 only; discovery.type=single-node,
# 512 MB heap (OPENSEARCH_HEAP), disk watermarks off (a test node must not turn read-only).
# Idempotent: `install` with the version present does nothing; `start` on a running node only says so.
set -euo pipefail

SERVICE_USER="${ARCHIVE_SERVICE_USER:-archive-svc}"
CACHE="${ARCHIVE_CACHE:-$HOME/.cache/archive-service}/opensearch"
# 2.19.6 is the newest 2.19.x on Central (probed 2026-11: 2.19.7-2.19.9 do not resolve); older ones are fallbacks.
CANDIDATES="${OPENSEARCH_VERSION:-2.19.6 2.19.5 2.19.4 2.19.3 2.19.2 2.19.1 2.19.0}"
HEAP="${OPENSEARCH_HEAP:-512m}"

action="${1:-start}"
DIR="${2:-${ARCHIVE_OPENSEARCH_DIR:-/tmp/archive-opensearch}}"
PORT="${3:-${ARCHIVE_OPENSEARCH_PORT:-9201}}"
PIDFILE="$DIR/run/opensearch.pid"
URL="http://127.0.0.1:$PORT"

now() { date +%s.%N; }
step_start=$(now)
step() {  # step NAME: print how long the step that just finished took
  local t
  t=$(now)
  printf '[opensearch] %-30s %6.2f s\n' "$1" "$(awk "BEGIN{print $t - $step_start}")"
  step_start=$t
}
die() { echo "[opensearch] $*" >&2; exit 1; }

as_service() {  # run a command as the node's owner
  if [ "$(id -u)" = 0 ]; then runuser -u "$SERVICE_USER" -- "$@"; else "$@"; fi
}

installed_version() {  # the unpacked version in the cache, or nothing
  [ -f "$CACHE/VERSION" ] || return 1
  local v
  v=$(cat "$CACHE/VERSION")
  [ -x "$CACHE/opensearch-$v/bin/opensearch" ] && echo "$v"
}

install() {
  if V=$(installed_version); then
    echo "[opensearch] $V already unpacked in $CACHE/opensearch-$V"
    return
  fi
  command -v mvn >/dev/null || die "mvn (Maven) is required: apt-get install maven"
  command -v unzip >/dev/null || die "unzip is required: apt-get install unzip"
  mkdir -p "$CACHE"
  V=""
  for candidate in $CANDIDATES; do
    if [ -f "$CACHE/opensearch-$candidate.zip" ] \
       || mvn -B -q -Dstyle.color=never dependency:copy \
            -Dartifact="org.opensearch.distribution.integ-test-zip:opensearch:$candidate:zip" \
            -DoutputDirectory="$CACHE" >"$CACHE/mvn-$candidate.log" 2>&1; then
      V=$candidate
      break
    fi
    echo "[opensearch] $candidate does not resolve on Maven Central (log: $CACHE/mvn-$candidate.log)"
  done
  [ -n "$V" ] || die "no OpenSearch 2.19.x integ-test zip resolved (tried: $CANDIDATES)"
  rm -f "$CACHE"/mvn-*.log
  step "download $V"
  staging=$(mktemp -d "$CACHE/.unpack.XXXXXX")
  trap 'rm -rf "$staging"' EXIT
  unzip -q "$CACHE/opensearch-$V.zip" -d "$staging"
  rm -rf "$CACHE/opensearch-$V"
  mv "$staging/opensearch-$V" "$CACHE/opensearch-$V"
  rm -rf "$staging"
  trap - EXIT
  echo "$V" > "$CACHE/VERSION"
  step "unpack"
}

# shellcheck source=service-user.sh
source "$(dirname "${BASH_SOURCE[0]}")/service-user.sh"

java17_home() {
  local home
  for home in "${OPENSEARCH_JAVA_HOME:-}" /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk-arm64; do
    if [ -n "$home" ] && [ -x "$home/bin/java" ]; then echo "$home"; return; fi
  done
  command -v java >/dev/null || die "Java 17 is required: apt-get install openjdk-17-jre-headless"
  dirname "$(dirname "$(readlink -f "$(command -v java)")")"
}

health() {  # print the cluster status if the node answers
  curl -fsS --max-time 5 "$URL/_cluster/health" 2>/dev/null | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p'
}

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

prepare_dir() {  # DIR/home (a readable copy of the distribution) and DIR/config, once per version
  local owner=()
  [ "$(id -u)" = 0 ] && owner=(chown -R "$SERVICE_USER:$SERVICE_USER")
  mkdir -p "$DIR"
  chmod 755 "$DIR"
  if [ "$(cat "$DIR/home/VERSION" 2>/dev/null || true)" != "$V" ]; then
    rm -rf "$DIR/home" "$DIR/config"
    cp -a "$CACHE/opensearch-$V" "$DIR/home"
    echo "$V" > "$DIR/home/VERSION"
    chmod -R a+rX "$DIR/home"
    cp -a "$DIR/home/config" "$DIR/config"
    # jvm.options writes GC logs and heap dumps relative to the working directory.
    sed -i -e "s#logs/gc.log#$DIR/logs/gc.log#" -e "s#HeapDumpPath=data#HeapDumpPath=$DIR/data#" \
      -e "s#ErrorFile=logs/#ErrorFile=$DIR/logs/#" "$DIR/config/jvm.options"
    step "copy distribution to $DIR"
  fi
  printf -- '-Xms%s\n-Xmx%s\n' "$HEAP" "$HEAP" > "$DIR/config/jvm.options.d/heap.options"
  mkdir -p "$DIR/data" "$DIR/logs" "$DIR/run"
  if [ ${#owner[@]} -gt 0 ]; then "${owner[@]}" "$DIR/config" "$DIR/data" "$DIR/logs" "$DIR/run"; fi
}

start() {
  if [ "$(health)" = green ] || [ "$(health)" = yellow ]; then
    echo "[opensearch] already running at $URL"
    return
  fi
  if running; then die "pid $(cat "$PIDFILE") of $DIR runs but $URL does not answer; see $DIR/logs"; fi
  if curl -sS --max-time 2 -o /dev/null "$URL" 2>/dev/null; then die "port $PORT is taken by something else"; fi
  install
  ensure_user
  prepare_dir
  local java_home
  java_home=$(java17_home)
  rm -f "$PIDFILE"
  (cd "$DIR" && as_service setsid env OPENSEARCH_JAVA_HOME="$java_home" OPENSEARCH_PATH_CONF="$DIR/config" \
    OPENSEARCH_TMPDIR="$DIR/data" \
    "$DIR/home/bin/opensearch" -d -p "$PIDFILE" \
    -E cluster.name=archive-test -E node.name=archive-test-1 \
    -E discovery.type=single-node -E network.host=127.0.0.1 -E http.port="$PORT" \
    -E path.data="$DIR/data" -E path.logs="$DIR/logs" \
    -E cluster.routing.allocation.disk.threshold_enabled=false >"$DIR/logs/launch.log" 2>&1) \
    || { tail -n 20 "$DIR/logs/launch.log" >&2; die "the node did not start; see $DIR/logs/launch.log"; }
  step "launch"
  # `-d` returns before the node writes its pid file: wait for the file, then for the health.
  local status="" tries
  for tries in $(seq 1 240); do
    status=$(health || true)
    if [ "$status" = green ] || [ "$status" = yellow ]; then break; fi
    if [ -s "$PIDFILE" ]; then
      running || { tail -n 20 "$DIR/logs/launch.log" >&2; die "the node exited; see $DIR/logs"; }
    elif [ "$tries" -gt 60 ]; then
      die "no pid file after 30 s; see $DIR/logs/archive-test.log"
    fi
    sleep 0.5
  done
  [ "$status" = green ] || [ "$status" = yellow ] || die "no green/yellow health after 120 s; see $DIR/logs"
  step "health $status"
  echo "[opensearch] $V running at $URL (data $DIR/data)"
}

stop() {
  if ! running; then
    echo "[opensearch] not running (no live pid in $PIDFILE)"
    return
  fi
  local pid
  pid=$(cat "$PIDFILE")
  kill "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
  rm -f "$PIDFILE"
  step "stop (pid $pid)"
}

case "$action" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) running && [ -n "$(health)" ] ;;
  url) echo "$URL" ;;
  *) die "usage: $0 install|start|stop|status|url [DIR] [PORT]" ;;
esac
