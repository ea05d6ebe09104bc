"""Throughput of distributed intake: transfers per minute with 1, then 2, `archive worker` processes.

Usage: PYTHONPATH=. .venv/bin/python bench/workers.py [--transfers 12] [--workers 1,2] [--pages 1,1]
       [--postgres postgresql+psycopg://archive_test@127.0.0.1:5433/archive]

Each round gets a fresh PostgreSQL database (catalog and queue, ARCHIVE_QUEUE=postgresql), shared
local stores, an `archive serve` and N workers (one thread each, own ARCHIVE_HOME). The clock runs
from the first upload until every transfer is accepted. The PostgreSQL server is the one of
`scripts/services/postgres.sh start` (its role may create databases).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from tests.fixtures.numbered_sips import numbered_sip
from tests.fixtures.ports import free_port

ARCHIVE = Path(sys.executable).with_name("archive")
ORGANISATION = "000.00.00.G09"



def _wait_for(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"archive serve did not start (exit {proc.poll()})")
        time.sleep(0.3)


def _round(admin_url: str, folder: Path, workers: int, bodies: list[bytes]) -> float:
    """Seconds to take every body to `accepted` with `workers` worker processes."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    database = f"bench_workers_{uuid.uuid4().hex[:10]}"
    with admin.connect() as db:
        db.execute(text(f'CREATE DATABASE "{database}" TEMPLATE template0 ENCODING \'UTF8\''))
    env = {
        **os.environ,
        "ARCHIVE_DATABASE_URL": admin.url.set(database=database).render_as_string(hide_password=False),
        "ARCHIVE_STORAGE": (folder / "primary").as_uri(),
        "ARCHIVE_STORAGE_REPLICA": (folder / "replica").as_uri(),
        "ARCHIVE_QUEUE": "postgresql",
        "ARCHIVE_LOG_LEVEL": "WARNING",  # worker logs: <round folder>/<home>.log
    }
    procs: list[subprocess.Popen[bytes]] = []

    def start(home: str, *args: str) -> subprocess.Popen[bytes]:
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"{home}.log").open("wb") as log:
            proc = subprocess.Popen(
                [str(ARCHIVE), *args], env={**env, "ARCHIVE_HOME": str(folder / home)},
                stdout=log, stderr=subprocess.STDOUT,
            )
        procs.append(proc)
        return proc

    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}/api/v1"
        _wait_for(f"{base}/health", start("api", "serve", "--port", str(port)))
        made = subprocess.run(
            [str(ARCHIVE), "users", "key", "--organisation", ORGANISATION, "--role", "submitter"],
            env={**env, "ARCHIVE_HOME": str(folder / "api")}, capture_output=True, text=True, check=True,
        )
        headers = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}", "Content-Type": "application/zip"}
        for number in range(workers):
            start(f"worker-{number}", "worker", "--concurrency", "1")
        time.sleep(8)  # let the workers import and connect before the clock starts

        def submit(body: bytes) -> str:
            response = httpx.post(f"{base}/transfers", content=body, headers=headers, timeout=120)
            response.raise_for_status()
            return str(response.json()["transfer_id"])

        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            ids = list(pool.map(submit, bodies))
        pending = set(ids)
        while pending:
            for transfer_id in list(pending):
                state = httpx.get(f"{base}/transfers/{transfer_id}", headers=headers, timeout=30).json()
                if state["status"] == "accepted":
                    pending.discard(transfer_id)
                elif state["status"] in ("rejected", "failed"):
                    logs = "".join(p.read_text(errors="replace")[-3000:] for p in folder.glob("worker-*.log"))
                    raise SystemExit(f"transfer {transfer_id} ended {state['status']}: {state}\n{logs}")
            time.sleep(0.2)
        return time.perf_counter() - began
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            proc.wait(timeout=120)
        with admin.connect() as db:
            db.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transfers", type=int, default=12)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--pages", default="1,1", help="pages of each document of a dossier")
    parser.add_argument(
        "--postgres", default=os.environ.get("ARCHIVE_TEST_POSTGRES_URL",
                                             "postgresql+psycopg://archive_test@127.0.0.1:5433/archive"),
    )
    args = parser.parse_args()
    pages = tuple(int(p) for p in args.pages.split(","))
    print(f"cpus: {os.cpu_count()}, transfers per round: {args.transfers}, pages per dossier: {sum(pages)}")
    baseline = None
    with tempfile.TemporaryDirectory() as folder:
        bodies = [numbered_sip(n, pages).write_zip(Path(folder) / f"p{n}").read_bytes() for n in range(args.transfers)]
        for count in (int(w) for w in args.workers.split(",")):
            seconds = _round(args.postgres, Path(folder) / f"round-{count}", count, bodies)
            rate = args.transfers / seconds * 60
            baseline = baseline or rate
            print(f"{count} worker(s): {rate:6.1f} transfers/min ({seconds:.1f} s)  x{rate / baseline:.2f}")


if __name__ == "__main__":
    main()
