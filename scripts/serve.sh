#!/usr/bin/env bash
# Sets up and runs the archive on its embedded defaults (SQLite, local folders, embedded index).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/archive serve "$@"
