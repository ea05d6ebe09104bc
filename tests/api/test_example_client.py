"""The vendor example (docs/examples/submit.py) against a live `archive serve`, with a key made by
`archive users key`: upload, poll, receipt; running it again gives the same transfer."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import OWN_ORG
from tests.fixtures.cli import CliRunner
from tests.fixtures.live_server import live_server
from tests.fixtures.sip_builder import valid_sip

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "submit.py"


@pytest.fixture
def server(archive_home: Path) -> Iterator[str]:
    with live_server(archive_home) as running:
        yield running.base_url


def test_users_key_prints_the_key_alone_on_the_last_line_and_stores_only_its_hash(
    cli: CliRunner, archive_home: Path
) -> None:
    run = cli("users", "key", "--organisation", OWN_ORG)
    assert run.code == 0, run.stderr
    key = run.stdout.strip().splitlines()[-1]
    assert key.startswith("ak_") and " " not in key and len(key) > 40
    with sqlite3.connect(archive_home / "catalog.sqlite3") as db:
        (stored,) = db.execute("select key_hash from api_key").fetchone()
        (role,) = db.execute("select role from user_account").fetchone()
        log = db.execute("select action, details from audit_entry").fetchall()
    assert stored != key and len(stored) == 64
    assert role == "submitter"
    assert "api_key_create" in {a for a, _ in log} and key not in str(log)
    assert key.encode() not in (archive_home / "catalog.sqlite3").read_bytes()
    refused = cli("users", "key", "--organisation", "")
    assert refused.code == 2


def test_the_example_client_submits_polls_and_prints_findings(
    cli: CliRunner, server: str, tmp_path: Path
) -> None:
    key = cli("users", "key", "--organisation", OWN_ORG).stdout.strip().splitlines()[-1]
    package = valid_sip((1, 1)).write_zip(tmp_path)
    receipt = tmp_path / "receipt.json"
    env = {**os.environ, "ARCHIVE_API_KEY": key}
    command = [sys.executable, str(EXAMPLE), str(package), "--url", server, "--receipt", str(receipt)]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "status: accepted" in first.stdout
    assert cli("receipt", "verify", str(receipt)).code == 0
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0
    assert again.stdout.splitlines()[0] == first.stdout.splitlines()[0]  # the same transfer id

    foreign = valid_sip((1,))
    foreign.creator_org = "000.00.00.H01"  # not the key's organisation: refused with a finding
    refused = subprocess.run(
        [sys.executable, str(EXAMPLE), str(foreign.write_zip(tmp_path / "foreign")), "--url", server],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "status: rejected" in refused.stdout and "pkg.mets.agent" in refused.stdout

    wrong = subprocess.run(
        command, env={**env, "ARCHIVE_API_KEY": "ak_wrong"}, capture_output=True, text=True, timeout=60, check=False
    )
    assert wrong.returncode != 0 and "401" in wrong.stdout + wrong.stderr
