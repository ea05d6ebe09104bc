"""Fixity-audit throughput on MinIO against plain GETs of the same objects.

Usage: .venv/bin/python bench/audit_minio.py [--objects 20] [--mib 8] [--rounds 3]
Starts its own MinIO (scripts/services/minio.sh, a temp folder, a free port on 127.0.0.1), stores
the objects in two locked buckets (primary and replica), then times, in alternating rounds, a
plain read of every object of both copies with the minio SDK (`get_object` read loop, no
hashing), one at a time and as many at a time as the audit reads, and `archive audit` (the same
reads, each streamed through SHA-256 and compared with the catalog). Prints the best round of
each in bytes per second and the ratios (1.0 = the audit costs nothing beyond the GETs).
Nothing is timed in the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from minio import Minio

from archive_service.catalog.models import StoredObject
from archive_service.config import Settings
from archive_service.fixity_audit import HASH_WORKERS, run_audit
from archive_service.wiring import Services, build_services
from storage.fixity import CHUNK_SIZE
from tests.fixtures.ports import free_port_pair

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "services" / "minio.sh"
USER, PASSWORD = "archive-bench", "archive-bench-secret"


def minio(action: str, folder: Path, port: int) -> None:
    env = {**os.environ, "MINIO_ROOT_USER": USER, "MINIO_ROOT_PASSWORD": PASSWORD}
    subprocess.run(["bash", str(SCRIPT), action, str(folder), str(port)], env=env, check=True)


def fill(services: Services, objects: int, mib: int, work: Path) -> list[str]:
    source = work / "source.bin"
    keys = []
    with services.sessions() as session:
        for index in range(objects):
            data = os.urandom(mib * 1024 * 1024)
            source.write_bytes(data)
            digest = hashlib.sha256(data).hexdigest()
            key = f"aip-bench/representations/rep1/data/{index:04d}.bin"
            services.store.put_file(key, source, digest)
            session.add(StoredObject(key=key, aip_id="aip-bench", sha256=digest, size=len(data)))
            keys.append(key)
        session.commit()
    return keys


def read_one(client: Minio, bucket: str, key: str) -> int:
    """GET one object and read it to the end, discarding the bytes; return how many."""
    total = 0
    response = client.get_object(bucket, key)
    try:
        while chunk := response.read(CHUNK_SIZE):
            total += len(chunk)
    finally:
        response.close()
        response.release_conn()
    return total


def plain_gets(client: Minio, buckets: list[str], keys: list[str], workers: int) -> int:
    """Read every object of every bucket, `workers` at a time; return the bytes read."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(lambda pair: read_one(client, *pair), [(b, k) for b in buckets for k in keys]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--mib", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        port = free_port_pair()
        minio("start", work / "minio", port)
        try:
            buckets = ["bench-primary", "bench-replica"]
            endpoint = f"127.0.0.1:{port}"
            services = build_services(
                Settings(
                    home=work / "home",
                    storage=f"s3://{USER}:{PASSWORD}@{endpoint}/{buckets[0]}?retention_days=1",
                    storage_replica=f"s3://{USER}:{PASSWORD}@{endpoint}/{buckets[1]}?retention_days=1",
                )
            )
            keys = fill(services, args.objects, args.mib, work)
            client = Minio(endpoint, USER, PASSWORD, secure=False)
            times: dict[str, list[float]] = {"serial": [], "parallel": [], "audit": []}
            total = 0
            for _ in range(args.rounds):
                for name, workers in (("serial", 1), ("parallel", HASH_WORKERS)):
                    start = time.perf_counter()
                    total = plain_gets(client, buckets, keys, workers)
                    times[name].append(time.perf_counter() - start)
                start = time.perf_counter()
                report = run_audit(services, "bench")
                times["audit"].append(time.perf_counter() - start)
                assert report.clean and report.ok == len(keys) * 2
            services.close()
        finally:
            minio("stop", work / "minio", port)
    serial, parallel, audit = (min(times[name]) for name in ("serial", "parallel", "audit"))
    print(f"objects x copies: {len(keys) * 2}, bytes per round: {total}, rounds: {args.rounds} (best shown)")
    print(f"plain GETs, one at a time:      {total / serial / 1e6:8.1f} MB/s ({serial:.2f} s)")
    print(f"plain GETs, {HASH_WORKERS} at a time:        {total / parallel / 1e6:8.1f} MB/s ({parallel:.2f} s)")
    print(f"archive audit ({HASH_WORKERS} at a time):    {total / audit / 1e6:8.1f} MB/s ({audit:.2f} s)")
    print(f"ratio audit / plain GETs one at a time: {serial / audit:.2f}")
    print(f"ratio audit / plain GETs {HASH_WORKERS} at a time:  {parallel / audit:.2f}")

if __name__ == "__main__":
    main()
