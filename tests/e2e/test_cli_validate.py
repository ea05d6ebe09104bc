"""`archive validate` and `archive rules list` as a user runs them."""

from __future__ import annotations

import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.fixtures.cli import ARCHIVE, CliRunner
from tests.fixtures.sip_builder import valid_sip

GIB = 1024**3


def test_valid_package_exits_0_with_json(tmp_path: Path, cli: CliRunner) -> None:
    package = valid_sip().write_zip(tmp_path)
    run = cli("validate", str(package), "--json")
    assert run.code == 0, run.stdout + run.stderr
    data = run.json()
    assert data == {"profile": "tt02-2019", "status": "valid", "findings": data["findings"]}  # type: ignore[index]
    assert all(f["severity"] != "error" for f in data["findings"])  # type: ignore[index]


def test_invalid_package_exits_2_with_every_finding(tmp_path: Path, cli: CliRunner) -> None:
    builder = valid_sip()
    builder.objid = "uuid-wrong"
    builder.creator_org = "?"
    package = builder.write_dir(tmp_path)
    run = cli("validate", str(package), "--json")
    assert run.code == 2
    data = run.json()
    assert data["status"] == "invalid"  # type: ignore[index]
    rules = {f["rule"] for f in data["findings"]}  # type: ignore[index]
    assert {"pkg.mets.objid", "pkg.mets.agent"} <= rules
    finding = next(f for f in data["findings"] if f["rule"] == "pkg.mets.objid")  # type: ignore[index]
    assert set(finding) == {"rule", "severity", "object", "path", "field", "message_vi", "message_en", "clause"}
    assert "thư mục gốc" in finding["message_vi"]


def test_human_output_is_vietnamese_first(tmp_path: Path, cli: CliRunner) -> None:
    builder = valid_sip()
    builder.objid = "uuid-wrong"
    run = cli("validate", str(builder.write_dir(tmp_path)))
    assert run.code == 2
    assert run.stdout.index("KHÔNG hợp lệ") < run.stdout.index("INVALID")
    assert "pkg.mets.objid" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x05\x06" + bytes(18)])
def test_unreadable_input_is_a_finding_not_a_traceback(tmp_path: Path, cli: CliRunner, content: bytes) -> None:
    package = tmp_path / "p.zip"
    package.write_bytes(content)
    run = cli("validate", str(package), "--json")
    assert run.code == 2
    rules = {f["rule"] for f in run.json()["findings"]}  # type: ignore[index]
    assert rules <= {"pkg.archive.unreadable", "pkg.layout.missing"} and rules
    assert "Traceback" not in run.stderr


def test_missing_path_exits_2(tmp_path: Path, cli: CliRunner) -> None:
    run = cli("validate", str(tmp_path / "nope.zip"), "--json")
    assert run.code == 2
    assert run.json()["findings"][0]["rule"] == "pkg.archive.unreadable"  # type: ignore[index]


@pytest.fixture(scope="session")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 5 GiB-of-zeros ZIP (about 23 MB on disk), built once per test session."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    zero = bytes(64 * 1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("uuid-bomb/METS.xml", b"<mets/>")
        with archive.open("uuid-bomb/representations/rep1/data/zeros.pdf", "w", force_zip64=True) as entry:
            for _ in range(5 * GIB // len(zero)):
                entry.write(zero)
    return path


def _high_water_kib(pid: int) -> int:
    """VmHWM of a running process, 0 once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)


@pytest.mark.slow
def test_multi_gib_zip_bomb_is_refused_fast_with_little_memory(zip_bomb: Path, tmp_path: Path) -> None:
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    start = time.monotonic()
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            [str(ARCHIVE), "validate", str(zip_bomb), "--json"],
            stdout=stdout,
            stderr=stderr,
            env={"ARCHIVE_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
        )
        # The process's own high-water mark, read while it runs (VmHWM starts afresh at exec;
        # rusage would carry over this big test process's peak through fork).
        peak_kib = 0
        while proc.poll() is None and time.monotonic() - start < 120:
            peak_kib = max(peak_kib, _high_water_kib(proc.pid))
            time.sleep(0.02)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            pytest.fail("archive validate did not finish within 120 s")
    elapsed = time.monotonic() - start
    assert proc.returncode == 2, err.read_text()
    assert '"pkg.archive.too_large"' in out.read_text()
    assert elapsed < 60
    assert 0 < peak_kib < 512 * 1024  # read at least once while it ran
    assert not any((tmp_path / "home" / "work").iterdir())


def test_rules_list_prints_the_catalogue(cli: CliRunner) -> None:
    run = cli("rules", "list", "--json")
    assert run.code == 0
    ids = {r["id"] for r in run.json()}  # type: ignore[union-attr]
    assert {"pkg.archive.unsafe_path", "pkg.mets.checksum", "tt02.dossier.Title.required"} <= ids
    human = cli("rules", "list")
    assert "Căn cứ / Clause" in human.stdout


def test_python_entry_point_is_the_installed_script() -> None:
    assert ARCHIVE.exists(), f"{ARCHIVE} missing: run scripts/bootstrap.sh dev"
    assert Path(sys.executable).parent == ARCHIVE.parent
