"""`archive serve` on the embedded defaults answers health and publishes its OpenAPI."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx

from tests.fixtures.cli import ARCHIVE
from tests.fixtures.ports import free_port


def test_serve_reports_every_backend_healthy(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "ARCHIVE_HOME": str(tmp_path / "home")}
    server = subprocess.Popen(
        [str(ARCHIVE), "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{base}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "archive serve did not start"
                assert server.poll() is None, server.stdout.read() if server.stdout else b""
                time.sleep(0.2)
        assert health.status_code == 200
        body = health.json()
        assert body["status"] == "ok"
        assert body["backends"] == {
            "catalog": "ok", "storage.primary": "ok", "storage.replica": "ok", "search": "ok"
        }
        openapi = httpx.get(f"{base}/openapi.json", timeout=5).json()
        assert "/api/v1/health" in openapi["paths"]
    finally:
        server.terminate()
        server.wait(timeout=10)
