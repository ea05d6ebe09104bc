"""Search being down never blocks intake: the index entry waits in the outbox."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.fixtures.cli import CliRunner
from tests.fixtures.sip_builder import valid_sip

pytestmark = pytest.mark.slow
NOTHING_LISTENS = "http://127.0.0.1:9"  # the discard port: connection refused


def test_intake_succeeds_while_search_is_down_and_indexing_catches_up(
    cli: CliRunner, archive_home: Path, tmp_path: Path
) -> None:
    down = {"ARCHIVE_SEARCH": NOTHING_LISTENS}
    run = cli("ingest", str(valid_sip().write_dir(tmp_path)), "--json", env=down)
    assert run.code == 0, run.stdout + run.stderr
    assert run.json()["status"] == "accepted"  # type: ignore[index]
    with sqlite3.connect(archive_home / "catalog.sqlite3") as db:
        assert db.execute("select count(*) from index_outbox").fetchone() == (1,)
    search = cli("search", "tuyen dung", "--json", env=down)
    assert search.code == 6  # backend unavailable, said clearly
    assert "Traceback" not in search.stderr
    assert cli("reindex").code == 0
    hits = cli("search", "tuyen dung", "--json").json()
    assert hits["total"] >= 1  # type: ignore[index]
