"""Concurrent submitters against a live `archive serve` on loopback (quality.md, Reliability: Load).

    .venv/bin/python bench/api_load.py [--clients 20] [--per-client 20] [--full-every 5]

Starts a server on a fresh ARCHIVE_HOME, has `--clients` threads upload `clients × per-client`
distinct packages (every `--full-every`-th ingested in full, the others RECORDSTATUS=TEST, which
are validated and not stored), half of them sent twice with the same Idempotency-Key, polls every
transfer to its end, and prints uploads/s, transfers/s, the error, duplicate and loss counts, and
the server's resident memory. Exit status 1 when anything was lost, duplicated or answered with an
error. The CI test (tests/api/test_load.py) runs the same driver scaled down.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.api_load import build_packages, run_load
from tests.fixtures.live_server import api_key, live_server

ORGANISATION = "000.00.00.G09"  # the creator agent of tests.fixtures.sip_builder packages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--per-client", type=int, default=20)
    parser.add_argument("--full-every", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="api-load-") as scratch:
        folder = Path(scratch)
        count = args.clients * args.per_client
        print(f"building {count} packages…", flush=True)
        packages = build_packages(folder / "packages", count, args.full_every)
        key = api_key(folder / "home", ORGANISATION)
        with live_server(folder / "home") as server:
            idle = server.memory_kib("VmRSS")
            report = run_load(server.base_url, key, packages, args.clients)
            peak = server.memory_kib("VmHWM")
        print(report.summary())
        print(f"server resident memory: {idle / 1024:.0f} MiB idle, {peak / 1024:.0f} MiB peak")
        for line in (report.errors + report.duplicates + report.unexpected)[:20]:
            print(f"  {line}")
        lost = count - sum(report.statuses.values()) + report.statuses.get("lost", 0)
        print(f"lost: {lost}")
        return 1 if report.errors or report.duplicates or report.unexpected or lost else 0


if __name__ == "__main__":
    sys.exit(main())
