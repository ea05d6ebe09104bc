"""`archive export-metadata` writes the whole catalog as XML; restoring it gives identical records."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.fixtures.cli import CliRunner
from tests.fixtures.sip_builder import valid_sip

pytestmark = pytest.mark.slow
TABLES = (
    "fonds",
    "dossier",
    "document",
    "file",
    "event",
    "transfer",
    "transfer_step",
    "stored_object",
    "user_account",
    "role_grant",
    "audit_entry",
)


def _dump(db_path: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(db_path) as db:
        return {t: db.execute(f"select * from {t} order by 1").fetchall() for t in TABLES}  # noqa: S608


def test_export_then_restore_into_an_empty_catalog(cli: CliRunner, archive_home: Path, tmp_path: Path) -> None:
    builder = valid_sip()
    builder.documents[0].values["Subject"] = "Về việc tuyển dụng — “đặc biệt” <&> ký tự"
    assert cli("ingest", str(builder.write_dir(tmp_path)), "--json").code == 0
    assert cli("users", "add", "lan", "--role", "archivist").code == 0
    assert cli("users", "grant", "lan", "--fonds", "000.00.00.G09", "--access", "Hạn chế").code == 0
    backup = tmp_path / "catalog.xml"
    before = _dump(archive_home / "catalog.sqlite3")
    assert cli("export-metadata", "-o", str(backup)).code == 0
    (archive_home / "catalog.sqlite3").unlink()
    for suffix in ("-wal", "-shm"):
        (archive_home / f"catalog.sqlite3{suffix}").unlink(missing_ok=True)
    restore = cli("import-metadata", str(backup))
    assert restore.code == 0, restore.stderr
    after = _dump(archive_home / "catalog.sqlite3")
    assert after == before
    assert cli("log", "verify").code == 0
    assert cli("audit").code == 0
    shown = cli("show", builder.documents[0].values["DocCode"], "--json")
    assert shown.json()["title"] == builder.documents[0].values["Subject"]  # type: ignore[index]


def test_restore_refuses_a_catalog_that_is_not_empty(cli: CliRunner, tmp_path: Path) -> None:
    assert cli("ingest", str(valid_sip().write_dir(tmp_path)), "--json").code == 0
    backup = tmp_path / "catalog.xml"
    assert cli("export-metadata", "-o", str(backup)).code == 0
    assert cli("import-metadata", str(backup)).code == 5
