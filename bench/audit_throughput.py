"""Fixity-audit throughput on the local store against `sha256sum` over the same files.

Usage: .venv/bin/python bench/audit_throughput.py [--objects 40] [--mib 8]
Prints bytes per second of `archive audit` (both copies) and of `sha256sum` run on the same
object files, and their ratio (goal in quality.md: >= 0.8). Nothing is timed in the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import tempfile
import time
from pathlib import Path

from archive_service.catalog.models import StoredObject
from archive_service.config import Settings
from archive_service.fixity_audit import run_audit
from archive_service.wiring import build_services


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=40)
    parser.add_argument("--mib", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        services = build_services(Settings(home=home))
        source = home / "source.bin"
        with services.sessions() as session:
            for index in range(args.objects):
                data = os.urandom(args.mib * 1024 * 1024)
                source.write_bytes(data)
                digest = hashlib.sha256(data).hexdigest()
                key = f"aip-bench/representations/rep1/data/{index:04d}.bin"
                services.store.put_file(key, source, digest)
                session.add(StoredObject(key=key, aip_id="aip-bench", sha256=digest, size=len(data)))
            session.commit()
        total = args.objects * args.mib * 1024 * 1024 * len(services.store.copies)
        files = [
            str(p)
            for copy in ("primary", "replica")
            for p in sorted((home / "store" / copy / "aip-bench").rglob("*.bin"))
        ]
        start = time.perf_counter()
        subprocess.run(["sha256sum", *files], check=True, stdout=subprocess.DEVNULL)
        baseline = time.perf_counter() - start
        start = time.perf_counter()
        report = run_audit(services, "bench")
        audited = time.perf_counter() - start
        assert report.clean and report.ok == args.objects * 2
        print(f"objects x copies: {report.checked}, bytes: {total}")
        print(f"sha256sum:     {total / baseline / 1e6:8.1f} MB/s ({baseline:.2f} s)")
        print(f"archive audit: {total / audited / 1e6:8.1f} MB/s ({audited:.2f} s)")
        print(f"ratio audit / sha256sum: {baseline / audited:.2f}")
        services.close()


if __name__ == "__main__":
    main()
