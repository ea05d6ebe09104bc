"""`kill -9` during `archive ingest`, at several points, then ingest again: exactly one accepted
dossier, a clean audit, and no object in storage that the catalog does not know."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import pytest

from tests.fixtures.cli import CliRunner
from tests.fixtures.sip_builder import valid_sip

pytestmark = pytest.mark.slow


def _stored_keys(home: Path, copy: str) -> set[str]:
    root = home / "store" / copy
    if not root.exists():
        return set()
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


@pytest.mark.parametrize(
    "point", ["after:validate", "after:preserve", "store:after-first-object", "after:store", "after:catalog"]
)
def test_kill_then_resume_gives_one_dossier_and_a_clean_audit(
    cli: CliRunner, archive_home: Path, tmp_path: Path, point: str
) -> None:
    package = valid_sip().write_zip(tmp_path)
    killed = cli("ingest", str(package), "--json", env={"ARCHIVE_FAULT_KILL_AT": point})
    assert killed.code == -signal.SIGKILL, killed.stdout + killed.stderr
    resumed = cli("ingest", str(package), "--json")
    assert resumed.code == 0, resumed.stdout + resumed.stderr
    assert resumed.json()["status"] == "accepted"  # type: ignore[index]
    again = cli("ingest", str(package), "--json")
    assert again.json() == resumed.json()
    with sqlite3.connect(archive_home / "catalog.sqlite3") as db:
        assert db.execute("select count(*) from transfer").fetchone() == (1,)
        assert db.execute("select count(*), count(distinct aip_id) from dossier").fetchone() == (1, 1)
        known = {row[0] for row in db.execute("select key from stored_object")}
        assert db.execute("select count(*) from index_outbox").fetchone() == (0,) or point == "after:catalog"
    assert _stored_keys(archive_home, "primary") == known
    assert _stored_keys(archive_home, "replica") == known
    audit = cli("audit", "--json")
    assert audit.code == 0, audit.stdout
    hits = cli("search", "tuyen dung", "--json").json()
    assert hits["total"] >= 1  # type: ignore[index]
    assert not any((archive_home / "work").iterdir())
