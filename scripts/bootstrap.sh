#!/usr/bin/env bash
# Creates .venv at the repository root with the project installed (editable) and the system tools.
# Idempotent: re-running only reinstalls when pyproject.toml changed. Usage: scripts/bootstrap.sh [dev]
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
  echo "Cần Python ≥ 3.11 / Python ≥ 3.11 is required (set PYTHON=...)" >&2; exit 3; }

start=$SECONDS
bash scripts/install-system-deps.sh

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)${extras:+-$extras}"
if [ ! -f "$stamp" ]; then
  echo "[bootstrap] installing the project into .venv"
  .venv/bin/pip install -q --upgrade pip
  if [ -n "$extras" ]; then .venv/bin/pip install -q -e ".[$extras]"; else .venv/bin/pip install -q -e .; fi
  rm -f .venv/.installed-*
  touch "$stamp"
fi
echo "[bootstrap] ready in $((SECONDS - start)) s"
