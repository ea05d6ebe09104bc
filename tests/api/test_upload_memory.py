"""An upload larger than the server's memory limit is received and processed with flat memory
(issue 9; quality.md, Memory): `archive serve` runs with RLIMIT_DATA (heap and private writable
mappings) below the package's size, so buffering the body, or any file of it, in memory would
fail; its peak resident memory (VmHWM) is compared before and after."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import OWN_ORG
from tests.fixtures.live_server import api_key, limit_data, live_server
from tests.fixtures.sip_builder import valid_sip

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
PACKAGE_MIB = 448
DATA_LIMIT_MIB = 416  # all the server's heap and writable mappings together, below the package's size
FLAT_MIB = 48  # what the peak resident memory may grow by while the package goes through


def _big_package(folder: Path) -> Path:
    """A valid SIP plus one incompressible file, so the ZIP is about PACKAGE_MIB MiB."""
    package = valid_sip((1,)).write_zip(folder)
    with zipfile.ZipFile(package, "a") as archive, archive.open(
        "representations/rep1/data/scan-archive.bin", "w", force_zip64=True
    ) as entry:
        for _ in range(PACKAGE_MIB):
            entry.write(os.urandom(MIB))
    return package


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(MIB):
            yield chunk


def _wait_final(client: httpx.Client, transfer_id: str, timeout: float = 600) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state: dict[str, object] = client.get(f"/api/v1/transfers/{transfer_id}").json()
        if state["status"] in {"accepted", "rejected", "failed", "tested"}:
            return state
        time.sleep(0.5)
    raise AssertionError(f"transfer {transfer_id} did not end")


def test_the_limit_is_real_a_process_under_it_cannot_hold_the_package() -> None:
    hold = f"bytearray({PACKAGE_MIB} * {MIB})"
    run = subprocess.run(
        [sys.executable, "-c", hold], preexec_fn=limit_data(DATA_LIMIT_MIB * MIB),
        capture_output=True, text=True, check=False,
    )
    assert run.returncode != 0 and "MemoryError" in run.stderr


def test_a_package_larger_than_the_servers_memory_limit_is_received_with_flat_memory(tmp_path: Path) -> None:
    package = _big_package(tmp_path)
    size = package.stat().st_size
    assert size > DATA_LIMIT_MIB * MIB
    home = tmp_path / "home"
    key = api_key(home, OWN_ORG)
    small = valid_sip((1,)).write_zip(tmp_path / "warm-up").read_bytes()
    with live_server(home, data_limit=DATA_LIMIT_MIB * MIB) as server, httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=600
    ) as client:
        warm = client.post("/api/v1/transfers", content=small, headers={"Content-Type": "application/zip"})
        assert warm.status_code == 202, warm.text
        assert _wait_final(client, warm.json()["transfer_id"])["status"] == "accepted"
        before = server.memory_kib("VmHWM")

        response = client.post(
            "/api/v1/transfers",
            content=_chunks(package),
            headers={"Content-Type": "application/zip", "Content-Length": str(size), "Idempotency-Key": "big-1"},
        )
        assert response.status_code == 202, response.text
        after_upload = server.memory_kib("VmHWM")
        state = _wait_final(client, response.json()["transfer_id"])
        after_processing = server.memory_kib("VmHWM")
        log = server.log.read_text(errors="replace")
    package.unlink()  # half a gigabyte: not kept among pytest's retained temporary folders
    print(f"VmHWM KiB: before {before}, after upload {after_upload}, after processing {after_processing}")
    # The package is not a valid transfer (a file its METS does not list), but it was received whole
    # and judged: the outcome is a verdict with findings, not an out-of-memory failure.
    assert state["status"] == "rejected", (state, log[-3000:])
    assert state["findings"]
    assert "MemoryError" not in log
    assert (after_upload - before) / 1024 < FLAT_MIB, (before, after_upload)
    assert (after_processing - before) / 1024 < FLAT_MIB, (before, after_processing)
