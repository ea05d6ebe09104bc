#!/usr/bin/env bash
# Installs the real engines the tests run against (cached under ~/.cache/archive-service),
# in parallel, printing the time of each. The tests start and stop their own servers.
set -uo pipefail
cd "$(dirname "$0")/../.."
start=$SECONDS
declare -A jobs=()
run() { local name=$1; shift; ( "$@" > "/tmp/archive-install-$name.log" 2>&1 ) & jobs[$name]=$!; }
run minio bash scripts/services/minio.sh install
run siegfried bash scripts/services/siegfried.sh install
run verapdf bash scripts/services/verapdf.sh
run commons-ip2 bash scripts/services/commons-ip2.sh
run postgres bash scripts/services/postgres.sh install
run opensearch bash scripts/services/opensearch.sh install
failed=0
for name in "${!jobs[@]}"; do
  if wait "${jobs[$name]}"; then
    echo "[install] $name ready"
  else
    echo "[install] $name FAILED (log: /tmp/archive-install-$name.log)"; tail -20 "/tmp/archive-install-$name.log"; failed=1
  fi
done
echo "[install] engines ready in $((SECONDS - start)) s"
exit $failed
