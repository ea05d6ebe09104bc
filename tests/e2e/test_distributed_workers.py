"""Distributed mode (decision 0017): `archive serve` queues uploads on PostgreSQL, several
`archive worker` processes, each with its own ARCHIVE_HOME as if on its own host, share them.

One catalog (PostgreSQL), two MinIO buckets as the copies, a third bucket as the uploads area,
OpenSearch as the index. Every transfer is accepted exactly once, and the transfer of a worker
killed in the middle of storing is finished by another worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.catalog.conftest import PostgresServer, postgres_server  # noqa: F401 -- fixture
from tests.contract.conftest import MINIO_PASSWORD, MINIO_USER, MinioServer, minio_server  # noqa: F401 -- fixture
from tests.contract.test_search_index import opensearch_url  # noqa: F401 -- fixture
from tests.fixtures.cli import ARCHIVE, run_archive
from tests.fixtures.numbered_sips import numbered_sip
from tests.fixtures.ports import free_port

pytestmark = pytest.mark.slow

ORGANISATION = "000.00.00.G09"  # the creator agent of tests.fixtures.sip_builder packages
FINAL = {"accepted", "rejected", "failed", "tested"}



@dataclass
class Cluster:
    """An API server and the worker processes started for one test."""

    root: Path
    env: dict[str, str]
    base: str = ""
    key: str = ""
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, IO[bytes]] = field(default_factory=dict)

    def home(self, name: str) -> Path:
        return self.root / name

    def start(self, name: str, *args: str, **extra_env: str) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("wb")
        env = {**os.environ, **self.env, "ARCHIVE_HOME": str(self.home(name)), **extra_env}
        proc = subprocess.Popen([str(ARCHIVE), *args], env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs[name], self.logs[name] = proc, log
        return proc

    def log(self, name: str) -> str:
        self.logs[name].flush()
        return (self.root / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def start_worker(self, name: str, **extra_env: str) -> None:
        keys = self.root / "keys.json"
        if not keys.exists():
            self.archive("api", "keys", "export", "-o", str(keys))
        self.archive(name, "keys", "import", str(keys))  # one receipt-signing key on every host
        self.start(name, "worker", "--concurrency", "1", **extra_env)

    def archive(self, home: str, *args: str) -> str:
        run = run_archive(self.home(home), *args, env=self.env)
        assert run.code == 0, run.stdout + run.stderr
        return run.stdout

    def submit(self, body: bytes, key: str | None = None) -> str:
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/zip"}
        if key:
            headers["Idempotency-Key"] = key
        response = httpx.post(f"{self.base}/api/v1/transfers", content=body, headers=headers, timeout=60)
        assert response.status_code == 202, response.text
        return str(response.json()["transfer_id"])

    def state(self, transfer_id: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.base}/api/v1/transfers/{transfer_id}", headers={"Authorization": f"Bearer {self.key}"}, timeout=30
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_final(self, transfer_id: str, timeout: float = 480) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (state := self.state(transfer_id))["status"] not in FINAL:
            assert time.monotonic() < deadline, f"transfer {transfer_id} did not end: {state}"
            time.sleep(0.5)
        return state

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self.logs.values():
            log.close()


@pytest.fixture
def cluster(
    postgres_server: PostgresServer,  # noqa: F811 -- the imported fixture
    minio_server: MinioServer,  # noqa: F811 -- the imported fixture
    opensearch_url: str,  # noqa: F811 -- the imported fixture
    tmp_path: Path,
) -> Iterator[Cluster]:
    database = postgres_server.create_database()
    store = f"s3://{MINIO_USER}:{MINIO_PASSWORD}@{minio_server.endpoint}"
    env = {
        "ARCHIVE_DATABASE_URL": database,
        "ARCHIVE_STORAGE": f"{store}/{minio_server.new_bucket()}",
        "ARCHIVE_STORAGE_REPLICA": f"{store}/{minio_server.new_bucket()}",
        "ARCHIVE_UPLOADS": f"{store}/{minio_server.new_bucket(lock=False)}?lock=off",
        "ARCHIVE_SEARCH": opensearch_url,
        "ARCHIVE_QUEUE": "postgresql",
        "ARCHIVE_QUEUE_SWEEP_SECONDS": "1",
    }
    cluster = Cluster(tmp_path, env)
    port = free_port()
    cluster.base = f"http://127.0.0.1:{port}"
    server = cluster.start("api", "serve", "--port", str(port))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{cluster.base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, cluster.log("api")
            time.sleep(0.3)
        lines = cluster.archive("api", "users", "key", "--organisation", ORGANISATION, "--role", "submitter")
        cluster.key = lines.strip().splitlines()[-1]
        yield cluster
    finally:
        cluster.stop_all()
        postgres_server.drop_database(database)


def test_workers_share_the_transfers_and_finish_a_killed_workers_transfer(
    cluster: Cluster, tmp_path: Path, minio_server: MinioServer  # noqa: F811 -- the imported fixture
) -> None:
    packages = [numbered_sip(n).write_zip(tmp_path / f"p{n}").read_bytes() for n in range(6)]

    # A worker that dies (SIGKILL) after storing the first object of its first transfer.
    cluster.start_worker("doomed", ARCHIVE_FAULT_KILL_AT="store:after-first-object")
    first = cluster.submit(packages[0])
    assert cluster.procs["doomed"].wait(timeout=300) == -signal.SIGKILL, cluster.log("doomed")
    assert cluster.state(first)["status"] == "processing"

    cluster.start_worker("worker-1")
    cluster.start_worker("worker-2")
    with ThreadPoolExecutor(max_workers=4) as pool:
        others = list(pool.map(lambda n: cluster.submit(packages[n], key=f"package-{n}"), range(1, 6)))
    again = cluster.submit(packages[1], key="package-1")  # a retried upload: the same transfer
    resent = cluster.submit(packages[2])  # the same package without a key: resolves to the first
    assert again == others[0]

    ids = [first, *others, resent]
    states = {tid: cluster.wait_final(tid) for tid in ids}
    assert {s["status"] for s in states.values()} == {"accepted"}, states
    assert states[resent]["same_as"] == others[1]

    logs = {name: cluster.log(name) for name in ("doomed", "worker-1", "worker-2")}
    ended = {tid: sum(log.count(f"transfer {tid} ended accepted") for log in logs.values()) for tid in ids}
    assert ended == dict.fromkeys(ids, 1), ended  # each transfer run to its end exactly once
    assert f"transfer {first} ended" not in logs["doomed"]
    assert f"transfer {first} was abandoned" in logs["worker-1"] + logs["worker-2"]

    engine = create_engine(cluster.env["ARCHIVE_DATABASE_URL"])
    try:
        with engine.connect() as db:
            def one(sql: str) -> Any:
                return db.execute(text(sql)).one()

            assert one("select count(*), count(distinct aip_id) from dossier") == (6, 6)
            assert one("select count(*) from transfer") == (7,)
            assert one(
                "select count(*), count(distinct target) from audit_entry where action = 'intake'"
            ) == (6, 6)
            assert one(
                "select count(*) from (select 1 from event group by transfer_id, event_type, object_ref "
                "having count(*) > 1) duplicated"
            ) == (0,)
            assert one("select count(*) from transfer where lease_owner is not null") == (0,)
    finally:
        engine.dispose()

    uploads = cluster.env["ARCHIVE_UPLOADS"].split("/")[-1].split("?")[0]
    deadline = time.monotonic() + 30
    while list(minio_server.client().list_objects(uploads, recursive=True)):
        assert time.monotonic() < deadline, "uploads were left in the uploads area"
        time.sleep(0.5)
    audit = run_archive(cluster.home("api"), "audit", "--json", env=cluster.env)
    assert audit.code == 0, audit.stdout + audit.stderr
    cluster.archive("api", "log", "verify")
    for home in ("api", "worker-1", "worker-2"):  # no upload or work dir is left on any host
        assert not [p for p in (cluster.home(home) / "work").rglob("*") if p.is_file()], home
