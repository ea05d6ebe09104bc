#!/usr/bin/env bash
# Sets up everything the tests need and runs the whole suite: lint, types, import contracts, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh dev
bash scripts/services/install-all.sh
start=$SECONDS
echo "[test] ruff";          .venv/bin/ruff check .
echo "[test] mypy";          .venv/bin/mypy
echo "[test] import-linter"; .venv/bin/lint-imports
echo "[test] pytest"
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
echo "[test] finished in $((SECONDS - start)) s"
exit $rc
