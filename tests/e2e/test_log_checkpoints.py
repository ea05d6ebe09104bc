"""Signed checkpoints let an auditor detect a cut-off or rewritten audit log, offline."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.fixtures.cli import CliRunner, run_archive
from tests.fixtures.sip_builder import valid_sip

pytestmark = pytest.mark.slow


@pytest.fixture
def bundle_after_checkpoint(cli: CliRunner, archive_home: Path, tmp_path: Path) -> Path:
    assert cli("ingest", str(valid_sip().write_dir(tmp_path)), "--json").code == 0
    assert cli("show", "000.00.00.G09.000.00.00.G09.2019.01.TCCB").code == 0
    checkpoint = cli("log", "checkpoint", "--json")
    assert checkpoint.code == 0 and checkpoint.json()["seq"] >= 2  # type: ignore[index]
    return archive_home


def _verify_offline(cli: CliRunner, tmp_path: Path, name: str) -> dict:  # type: ignore[type-arg]
    bundle = tmp_path / name
    assert cli("log", "export", "-o", str(bundle)).code == 0
    # verification needs no archive: an empty ARCHIVE_HOME elsewhere
    run = run_archive(tmp_path / "auditor-home", "log", "verify-offline", str(bundle), "--json")
    return {"code": run.code, **run.json()}  # type: ignore[dict-item]


def test_an_intact_log_verifies_offline(bundle_after_checkpoint: Path, cli: CliRunner, tmp_path: Path) -> None:
    verdict = _verify_offline(cli, tmp_path, "bundle")
    assert verdict["code"] == 0 and verdict["ok"] and verdict["checkpoints"] == 1


def test_a_cut_off_tail_is_caught_by_the_checkpoint(
    bundle_after_checkpoint: Path, cli: CliRunner, tmp_path: Path
) -> None:
    with sqlite3.connect(bundle_after_checkpoint / "catalog.sqlite3") as db:
        db.execute("delete from audit_entry where seq = (select max(seq) from audit_entry)")
    assert cli("log", "verify").code == 0  # the chain alone cannot see it
    verdict = _verify_offline(cli, tmp_path, "bundle")
    assert verdict["code"] == 7 and "cut off" in verdict["problem_en"]


def test_a_forged_checkpoint_is_refused(bundle_after_checkpoint: Path, cli: CliRunner, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    assert cli("log", "export", "-o", str(bundle)).code == 0
    checkpoints = json.loads((bundle / "checkpoints.json").read_text())
    checkpoints[0]["seq"] -= 1
    (bundle / "checkpoints.json").write_text(json.dumps(checkpoints))
    run = run_archive(tmp_path / "auditor-home", "log", "verify-offline", str(bundle), "--json")
    assert run.code == 7 and "signature" in run.json()["problem_en"]  # type: ignore[index]


def test_audit_leaves_a_checkpoint(cli: CliRunner, tmp_path: Path) -> None:
    assert cli("ingest", str(valid_sip().write_dir(tmp_path)), "--json").code == 0
    assert cli("audit").code == 0
    verdict = _verify_offline(cli, tmp_path, "bundle")
    assert verdict["ok"] and verdict["checkpoints"] == 1
